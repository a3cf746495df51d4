//! `deskbridge plugin run|check`: run a plugin against a fixture and see its actions, fuel
//! and time (modelled on Shopify's `function-runner`) — with `--knowledge DIR`, against a
//! knowledge base of Markdown files too — or validate a manifest.
//!
//! Exit codes: 0 success, 1 the plugin call failed (the message names the limit or check),
//! 2 bad input or a plugin refused at load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use deskbridge_core::DraftReply;
use deskbridge_knowledge::{KnowledgeIndex, KnowledgeLibrary};
use deskbridge_plugin_host::{
    CallFailure, CallReport, CallScope, EngineSettings, HostServices, LoadedPlugin, Manifest,
    PluginEngine, PluginSource, ValidatedEvent,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub(crate) enum PluginCommand {
    /// Run a plugin on one event and print its actions (or verdict), fuel and time as JSON.
    Run {
        /// The plugin component (.wasm).
        wasm: PathBuf,
        /// A normalized ticket event (schemas/ticket-event.schema.json).
        #[arg(long)]
        event: PathBuf,
        /// The manifest; defaults to plugin.toml beside the .wasm.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The plugin's config as JSON, checked against its config_schema.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A draft (JSON: body, rationale, confidence, author_plugin) to review instead of
        /// handling the event; for policy plugins (`draft.review`).
        #[arg(long)]
        draft: Option<PathBuf>,
        /// Run N times and report the median time per call (instantiate + call).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        repeat: u32,
        /// A folder of Markdown files the plugin's `knowledge.search` searches, as the knowledge
        /// base of the event's helpdesk (needs `capabilities.knowledge`).
        #[arg(long)]
        knowledge: Option<PathBuf>,
    },
    /// Validate a manifest, and with --wasm check the component against it.
    Check {
        /// The plugin.toml.
        manifest: PathBuf,
        /// The component to check against the manifest.
        #[arg(long)]
        wasm: Option<PathBuf>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftInput {
    body: String,
    rationale: String,
    confidence: f32,
    #[serde(default = "unknown_author")]
    author_plugin: String,
}

fn unknown_author() -> String {
    "unknown".into()
}

pub(crate) fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Run {
            wasm,
            event,
            manifest,
            config,
            draft,
            repeat,
            knowledge,
        } => {
            let manifest_path = manifest.unwrap_or_else(|| wasm.with_file_name("plugin.toml"));
            let event_text = std::fs::read_to_string(&event)
                .with_context(|| format!("reading {}", event.display()))?;
            let event = ValidatedEvent::parse(&event_text)
                .with_context(|| format!("{}", event.display()))?;
            let mut services = HostServices::local();
            let helpdesk = event.event().ticket.helpdesk.clone();
            if let Some(folder) = &knowledge {
                services.knowledge = Arc::new(folder_knowledge(folder, &helpdesk)?);
            }
            let plugin = load(&wasm, &manifest_path, config.as_deref(), &services)?;
            let scope = CallScope {
                helpdesk: knowledge.is_some().then_some(helpdesk.as_str()),
            };
            let draft = draft
                .map(|path| -> anyhow::Result<DraftInput> {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    serde_json::from_str(&text).with_context(|| format!("{}", path.display()))
                })
                .transpose()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()?;
            runtime.block_on(run_plugin(&plugin, &event, draft.as_ref(), repeat, scope))
        }
        PluginCommand::Check { manifest, wasm } => {
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            let parsed =
                Manifest::from_toml(&text).with_context(|| format!("{}", manifest.display()))?;
            match wasm {
                None => {
                    println!(
                        "{}: ok (plugin `{}` {})",
                        manifest.display(),
                        parsed.id,
                        parsed.version
                    );
                    for grant in parsed.capabilities.describe() {
                        println!("  - {grant}");
                    }
                }
                Some(wasm) => {
                    let plugin = load(&wasm, &manifest, None, &HostServices::local())?;
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&json!({
                            "plugin": plugin.id(),
                            "version": plugin.manifest().version,
                            "wasm_sha256": plugin.wasm_sha256(),
                            "capabilities": plugin.manifest().capabilities,
                            "grants": plugin.manifest().capabilities.describe(),
                            "imports": plugin.imports(),
                        }))?
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A knowledge base of one helpdesk made of the Markdown files in `folder`, in memory.
fn folder_knowledge(folder: &Path, helpdesk: &str) -> anyhow::Result<KnowledgeLibrary> {
    let docs = deskbridge_knowledge::read_folder(folder, None)?;
    let index = KnowledgeIndex::in_memory()?;
    index.reconcile("md:", docs)?;
    Ok(KnowledgeLibrary::from_indexes(BTreeMap::from([(
        helpdesk.to_owned(),
        Arc::new(index),
    )])))
}

fn load(
    wasm: &Path,
    manifest: &Path,
    config: Option<&Path>,
    services: &HostServices,
) -> anyhow::Result<LoadedPlugin> {
    let manifest_text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading manifest {}", manifest.display()))?;
    let manifest_parsed =
        Manifest::from_toml(&manifest_text).with_context(|| format!("{}", manifest.display()))?;
    let config: Option<Value> = config
        .map(|path| -> anyhow::Result<Value> {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
        })
        .transpose()?;
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let engine = PluginEngine::new(EngineSettings::default())?;
    let plugin = engine.load(
        PluginSource {
            wasm: &bytes,
            manifest: manifest_parsed,
            config,
        },
        services,
    )?;
    Ok(plugin)
}

async fn run_plugin(
    plugin: &LoadedPlugin,
    event: &ValidatedEvent,
    draft: Option<&DraftInput>,
    repeat: u32,
    scope: CallScope<'_>,
) -> anyhow::Result<ExitCode> {
    let mut times = Vec::with_capacity(repeat as usize);
    let mut first: Option<Result<(Value, CallReportSummary), Box<CallFailure>>> = None;
    for _ in 0..repeat {
        let result = match draft {
            Some(d) => {
                let reply = DraftReply {
                    body: d.body.clone(),
                    rationale: d.rationale.clone(),
                    confidence: d.confidence,
                    sources: Vec::new(),
                };
                plugin
                    .review_draft_for(&event.event().ticket, &reply, &d.author_plugin, scope)
                    .await
                    .map(|r| summarize("verdict", r))
            }
            None => plugin
                .handle_event_for(event, scope)
                .await
                .map(|r| summarize("actions", r)),
        };
        let elapsed = match &result {
            Ok((_, summary)) => summary.elapsed,
            Err(failure) => failure.elapsed,
        };
        times.push(elapsed);
        let failed = result.is_err();
        if first.is_none() {
            first = Some(result);
        }
        if failed {
            break;
        }
    }
    let Some(first) = first else {
        bail!("no call was made");
    };
    let median = median(&mut times);
    match first {
        Ok((mut output, summary)) => {
            output["plugin"] = json!(plugin.id());
            output["version"] = json!(plugin.manifest().version);
            output["wasm_sha256"] = json!(plugin.wasm_sha256());
            output["fuel_consumed"] = json!(summary.fuel_consumed);
            output["elapsed_us"] = json!(micros(summary.elapsed));
            if repeat > 1 {
                output["repeat"] = json!(repeat);
                output["per_call_us"] = json!(micros(median));
            }
            println!("{}", serde_json::to_string_pretty(&output)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            let output = json!({
                "plugin": plugin.id(),
                "error": failure.error.to_string(),
                "fuel_consumed": failure.fuel_consumed,
                "elapsed_us": micros(failure.elapsed),
                "logs": failure.logs,
                "ai_calls": failure.ai_calls,
                "knowledge": failure.knowledge,
                "stderr": failure.stderr,
            });
            println!("{}", serde_json::to_string_pretty(&output)?);
            eprintln!("error: {}", failure.error);
            Ok(ExitCode::FAILURE)
        }
    }
}

struct CallReportSummary {
    fuel_consumed: u64,
    elapsed: Duration,
}

fn summarize<T: serde::Serialize>(key: &str, report: CallReport<T>) -> (Value, CallReportSummary) {
    let output = json!({
        key: report.output,
        "logs": report.logs,
        "ai_calls": report.ai_calls,
        "knowledge": report.knowledge,
    });
    (
        output,
        CallReportSummary {
            fuel_consumed: report.fuel_consumed,
            elapsed: report.elapsed,
        },
    )
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}
