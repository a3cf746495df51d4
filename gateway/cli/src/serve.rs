//! `deskbridge serve`: opens the store, loads the plugins, connects the configured helpdesks,
//! starts the pipeline, and runs the HTTP server until Ctrl-C or SIGTERM.
//!
//! Two runtimes: actix-web runs its own worker threads for HTTP; the pipeline (plugins,
//! helpdesk API calls, the outbox) runs on a separate multi-threaded tokio runtime, so a slow
//! plugin never holds up webhook acknowledgements.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use deskbridge_config::{Config, FreshdeskWebhookAuth, HelpdeskConfig};
use deskbridge_connectors::{
    FreshdeskClient, FreshdeskSettings, HelpdeskClient, RateGate, ZendeskAuth, ZendeskClient,
    ZendeskSettings,
};
use deskbridge_core::{DraftingSwitch, HelpdeskKind};
use deskbridge_pipeline::{HelpdeskRuntime, Helpdesks, Pipeline, PipelineSettings};
use deskbridge_plugin_host::{
    EngineSettings, HostServices, LoadedPlugin, Manifest, PluginEngine, PluginSource,
};
use deskbridge_server::{AppState, Endpoint, FreshdeskAuth, UnknownKeys, Webhooks};
use deskbridge_store::{SledStore, Store};
use tracing_subscriber::EnvFilter;

pub(crate) struct ServeArgs<'a> {
    pub(crate) config: Option<&'a Path>,
    pub(crate) listen: Option<&'a str>,
    pub(crate) data_dir: Option<PathBuf>,
    /// The log filter when `RUST_LOG` does not set one (`info` when `None`).
    pub(crate) log_filter: Option<&'a str>,
    /// Called with the address once the gateway listens and handles signals.
    pub(crate) on_ready: Option<Box<dyn FnOnce(std::net::SocketAddr) + Send>>,
}

pub(crate) fn run(args: ServeArgs<'_>) -> anyhow::Result<ExitCode> {
    let mut config = match args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    init_logging(config.log.format, args.log_filter.unwrap_or("info"));
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    let listen = args.listen.unwrap_or(&config.listen).to_owned();

    let store: Arc<dyn Store> = Arc::new(
        SledStore::open(&config.data_dir)
            .with_context(|| format!("opening the store in {}", config.data_dir.display()))?,
    );
    let engine = PluginEngine::new(EngineSettings::default())?;
    let router = Arc::new(crate::ai_setup::router(&config, store.ai_spend())?);
    let knowledge = Arc::new(crate::knowledge_setup::library(&config)?);
    let services = HostServices {
        ai: Arc::clone(&router),
        kv: store.plugin_kv(),
        redaction: Arc::new(config.redaction.rules()?),
        knowledge: Arc::clone(&knowledge) as Arc<dyn deskbridge_core::KnowledgeSearch>,
    };
    let plugins = load_plugins(&engine, &services, &config)?;
    let manifests: Vec<&Manifest> = plugins.iter().map(|p| p.manifest()).collect();
    crate::ai_setup::check_plugins(&router, &config, &manifests)?;
    for route in crate::ai_setup::describe(&router, &config, &plugins) {
        tracing::info!(%route, "AI route");
    }
    let audit = crate::audit_cmd::ServeAuditLog::start(&config, args.config, &plugins)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("deskbridge-pipeline")
        .enable_all()
        .build()
        .context("starting the pipeline runtime")?;
    let helpdesks = build_helpdesks(&config, &plugins, &store)?;
    let warnings: Vec<String> = helpdesks
        .iter()
        .filter_map(|h| h.policy_warning())
        .collect();
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    if config.ingest.allow_short_webhook_secrets {
        tracing::warn!(
            "[ingest] allow_short_webhook_secrets is set: webhook secrets shorter than 16 bytes are accepted; use this in test configs only"
        );
    }
    let endpoints = build_endpoints(&config)?;
    let mut settings = pipeline_settings(&config);
    settings.audit = Some(audit.log());
    let switch = DraftingSwitch::new(store.pauses().context("reading the stop-switch pauses")?);
    for pause in switch.pauses() {
        tracing::warn!(scope = %pause.scope, by = %pause.by, "AI drafting is paused");
    }
    settings.switch = switch.clone();
    let sync_plans = crate::knowledge_setup::plans(&config, &helpdesks);
    if !sync_plans.is_empty() {
        runtime.spawn(deskbridge_knowledge::run_sync(
            Arc::clone(&knowledge),
            sync_plans,
        ));
    }
    let probes: Vec<(String, Arc<dyn HelpdeskClient>)> = helpdesks
        .iter()
        .filter_map(|h| h.client.clone().map(|client| (h.name.clone(), client)))
        .collect();
    let pipeline = {
        let _entered = runtime.enter();
        Pipeline::start(store.clone(), helpdesks, settings)?
    };
    for (name, helpdesk) in &config.helpdesks {
        if let HelpdeskConfig::Email(email) = helpdesk {
            runtime.spawn(deskbridge_email::reader::run(
                crate::email_setup::reader(name, email),
                store.clone(),
                pipeline.ingest().clone(),
            ));
        }
    }

    let listener =
        TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    let (plugin_count, helpdesk_count) = (plugins.len(), config.helpdesks.len());
    let state = AppState {
        plugins,
        started: Instant::now(),
        webhooks: Some(Webhooks {
            ingest: pipeline.ingest().clone(),
            endpoints,
            max_body_bytes: config.ingest.max_body_bytes,
            tolerance: Duration::from_secs(config.ingest.timestamp_tolerance_s),
            unknown_keys: UnknownKeys::default(),
        }),
        store: Some(store.clone()),
        audit: Some(audit.log()),
        switch,
        draft_expiry: Duration::from_secs(config.review.draft_expiry_s),
        warnings,
        ai: Some(router),
        knowledge: Some(knowledge),
        decisions: Some(pipeline.decisions().clone()),
        console: console(&config),
        readiness: Some(Arc::new(deskbridge_server::ready::Readiness::new(probes))),
    };
    let on_ready = args.on_ready;
    deskbridge_server::run_until_stopped(listener, state, move || {
        tracing::info!(
            %address,
            plugins = plugin_count,
            helpdesks = helpdesk_count,
            data_dir = %config.data_dir.display(),
            "deskbridge listening on http://{address}"
        );
        if config.console.enabled {
            tracing::info!("console at http://{address}/console/ (sign in with an API token)");
        }
        if let Some(on_ready) = on_ready {
            on_ready(address);
        }
    })?;
    // Make whatever the pipeline recorded since the last flush durable before exiting (events
    // not yet completed stay pending and resume at the next start).
    if let Err(e) = runtime.block_on(store.durable()) {
        tracing::error!(error = %e, "final flush failed");
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    audit.finish();
    tracing::info!("deskbridge stopped");
    Ok(ExitCode::SUCCESS)
}

fn pipeline_settings(config: &Config) -> PipelineSettings {
    let p = &config.pipeline;
    PipelineSettings {
        workers: p.workers,
        base_backoff: Duration::from_millis(p.base_backoff_ms),
        max_backoff: Duration::from_millis(p.max_backoff_ms),
        outbox_give_up_after: Duration::from_secs(p.outbox_give_up_after_s),
        event_give_up_after: Duration::from_secs(p.event_give_up_after_s),
        draft_expiry: Duration::from_secs(config.review.draft_expiry_s),
        expiry_sweep_interval: Duration::from_secs(config.review.expiry_sweep_interval_s),
        max_pending_events: config.ingest.max_pending_events,
        dedupe_retention: config.retention.dedupe(),
        record_retention: config.retention.records(),
        ..PipelineSettings::default()
    }
}

fn build_helpdesks(
    config: &Config,
    plugins: &[Arc<LoadedPlugin>],
    store: &Arc<dyn Store>,
) -> anyhow::Result<Helpdesks> {
    let mut helpdesks = Helpdesks::new();
    for (name, helpdesk) in &config.helpdesks {
        let chosen: Vec<Arc<LoadedPlugin>> = if helpdesk.names_plugins() {
            let mut chosen = Vec::new();
            for id in helpdesk.plugin_ids() {
                let plugin = plugins.iter().find(|p| p.id() == id).with_context(|| {
                    format!("key `helpdesks.{name}.plugins`: plugin `{id}` is not loaded")
                })?;
                chosen.push(plugin.clone());
            }
            chosen
        } else {
            plugins.to_vec()
        };
        let policies = chosen
            .iter()
            .filter(|p| p.manifest().reviews_drafts())
            .cloned()
            .collect();
        let gate = Arc::new(RateGate::new(helpdesk.rate_limit_per_minute()));
        let timeout = helpdesk.request_timeout();
        let (kind, client): (HelpdeskKind, Option<Arc<dyn HelpdeskClient>>) = match helpdesk {
            HelpdeskConfig::Zendesk(z) => {
                let auth = match (&z.email, &z.api_token, &z.oauth_token) {
                    (Some(email), Some(token), _) => ZendeskAuth::ApiToken {
                        email: email.clone(),
                        token: token.reveal().to_owned(),
                    },
                    (_, _, Some(token)) => ZendeskAuth::OAuth {
                        token: token.reveal().to_owned(),
                    },
                    _ => bail!("key `helpdesks.{name}`: no Zendesk credentials"),
                };
                let client = ZendeskClient::new(
                    ZendeskSettings {
                        helpdesk: name.clone(),
                        base_url: z.base_url.clone(),
                        auth,
                        timeout,
                    },
                    gate,
                )?;
                (HelpdeskKind::Zendesk, Some(Arc::new(client)))
            }
            HelpdeskConfig::Freshdesk(f) => {
                let client = FreshdeskClient::new(
                    FreshdeskSettings {
                        helpdesk: name.clone(),
                        base_url: f.base_url.clone(),
                        api_key: f.api_key.reveal().to_owned(),
                        timeout,
                    },
                    gate,
                )?;
                (HelpdeskKind::Freshdesk, Some(Arc::new(client)))
            }
            HelpdeskConfig::Generic(_) => (HelpdeskKind::Generic, None),
            HelpdeskConfig::Email(email) => (
                HelpdeskKind::Email,
                Some(Arc::new(crate::email_setup::client(name, email, store)?)),
            ),
        };
        helpdesks.insert(HelpdeskRuntime {
            name: name.clone(),
            kind,
            client,
            plugins: chosen,
            policies,
            ai_disclosure: helpdesk.ai_disclosure().map(str::to_owned),
            write_policy: helpdesk.write_policy(),
        });
    }
    Ok(helpdesks)
}

fn build_endpoints(config: &Config) -> anyhow::Result<BTreeMap<String, Endpoint>> {
    let mut endpoints = BTreeMap::new();
    for (name, helpdesk) in &config.helpdesks {
        let endpoint = match helpdesk {
            // A mailbox is read, not called back.
            HelpdeskConfig::Email(_) => continue,
            HelpdeskConfig::Zendesk(z) => Endpoint::Zendesk {
                secret: z.webhook_secret.reveal().to_owned(),
            },
            HelpdeskConfig::Freshdesk(f) => Endpoint::Freshdesk(match &f.webhook_auth {
                FreshdeskWebhookAuth::Basic { username, password } => FreshdeskAuth::Basic {
                    username: username.clone(),
                    password: password.reveal().to_owned(),
                },
                FreshdeskWebhookAuth::Header { name, value } => FreshdeskAuth::Header {
                    name: name.clone(),
                    value: value.reveal().to_owned(),
                },
                FreshdeskWebhookAuth::Anonymous(_) => {
                    tracing::warn!(helpdesk = %name, "Freshdesk webhooks are accepted without authentication");
                    FreshdeskAuth::Anonymous
                }
            }),
            HelpdeskConfig::Generic(g) => Endpoint::Generic {
                key: deskbridge_webhook_auth::standard::decode_secret(g.webhook_secret.reveal())
                    .with_context(|| format!("key `helpdesks.{name}.webhook_secret`"))?,
            },
        };
        endpoints.insert(name.clone(), endpoint);
    }
    Ok(endpoints)
}

/// Every plugin's id names it alone: drafts, outbox items, pauses, kv data and the approval
/// log all go by it, so a second plugin claiming one (a third-party plugin taking a bundled
/// id, or two in `plugins.dir`) stops the start.
fn refuse_duplicate_ids(plugins: &[Arc<LoadedPlugin>]) -> anyhow::Result<()> {
    let mut seen: BTreeMap<&str, &LoadedPlugin> = BTreeMap::new();
    for plugin in plugins {
        if let Some(first) = seen.insert(plugin.id(), plugin) {
            bail!(
                "two plugins claim the id `{}` (versions {} and {}, components sha256 {} and {}): each plugin needs its own id; remove one from plugins.bundled or plugins.dir, or rename the third-party plugin",
                plugin.id(),
                first.manifest().version,
                plugin.manifest().version,
                first.wasm_sha256(),
                plugin.wasm_sha256()
            );
        }
    }
    Ok(())
}

fn load_plugins(
    engine: &PluginEngine,
    services: &HostServices,
    config: &Config,
) -> anyhow::Result<Vec<Arc<LoadedPlugin>>> {
    let mut plugins = Vec::new();
    for id in &config.plugins.bundled {
        let Some(bundled) = deskbridge_bundled_plugins::get(id) else {
            bail!("no first-party plugin `{id}`");
        };
        let manifest = Manifest::from_toml(bundled.manifest)
            .with_context(|| format!("bundled plugin `{id}`"))?;
        let source = PluginSource {
            wasm: bundled.wasm,
            manifest,
            config: config.plugins.config.get(id).cloned(),
        };
        plugins.push(Arc::new(engine.load(source, services)?));
    }
    if let Some(dir) = &config.plugins.dir {
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("reading plugins.dir {}", dir.display()))?
        {
            let folder = entry?.path();
            if !folder.join("plugin.toml").is_file() {
                continue;
            }
            let manifest_text = std::fs::read_to_string(folder.join("plugin.toml"))?;
            let manifest = Manifest::from_toml(&manifest_text)
                .with_context(|| format!("{}", folder.join("plugin.toml").display()))?;
            let wasm_path = std::fs::read_dir(&folder)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "wasm"))
                .with_context(|| format!("no .wasm file in {}", folder.display()))?;
            let wasm = std::fs::read(&wasm_path)?;
            let config = config.plugins.config.get(&manifest.id).cloned();
            let source = PluginSource {
                wasm: &wasm,
                manifest,
                config,
            };
            plugins.push(Arc::new(engine.load(source, services)?));
        }
    }
    refuse_duplicate_ids(&plugins)?;
    for plugin in &plugins {
        tracing::info!(
            plugin = plugin.id(),
            version = %plugin.manifest().version,
            wasm_sha256 = plugin.wasm_sha256(),
            "plugin loaded"
        );
    }
    Ok(plugins)
}

/// The console's settings from `[console]`; the per-ticket view may be framed by each
/// helpdesk's own origin and the configured extra origins.
fn console(config: &Config) -> Option<Arc<deskbridge_server::Console>> {
    let console = &config.console;
    if !console.enabled {
        return None;
    }
    let mut ancestors: Vec<String> = config
        .helpdesks
        .values()
        .filter_map(|helpdesk| helpdesk.web_origin())
        .chain(
            console
                .frame_ancestors
                .iter()
                .filter_map(|origin| deskbridge_config::origin_of(origin)),
        )
        .collect();
    ancestors.sort();
    ancestors.dedup();
    Some(Arc::new(
        deskbridge_server::Console::new(
            console.session_idle(),
            console.session_max(),
            console.secure_cookies(),
            ancestors,
        )
        .with_public_origin(
            console
                .public_url
                .as_deref()
                .and_then(deskbridge_config::origin_of),
        ),
    ))
}

/// Logs to stdout as `[log] format` says, at the levels `RUST_LOG` names (else `default`).
fn init_logging(format: deskbridge_config::LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        deskbridge_config::LogFormat::Pretty => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
        deskbridge_config::LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
