//! From the config's `[providers]`, `[ai]` and `[helpdesks.NAME.ai]` to the
//! [`AiRouter`] every plugin call asks, and the start-up check that each loaded plugin's
//! routes stay within its manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use deskbridge_config::{BudgetConfig, Config, ProviderConfig, ProviderKind, parse_route};
use deskbridge_plugin_host::{LoadedPlugin, Manifest};
use deskbridge_providers::budget::{Budget, BudgetScope, Budgets, Prices, SpendStore};
use deskbridge_providers::{
    ANTHROPIC_VERSION, AiProvider, AiRouter, AnthropicProvider, AnthropicSettings, GuardSettings,
    HelpdeskRoutes, OpenAiFlavor, OpenAiProvider, OpenAiSettings, Routes, Target,
};

/// One configured provider's adapter.
pub(crate) fn provider(name: &str, config: &ProviderConfig) -> anyhow::Result<Arc<dyn AiProvider>> {
    let key = config.api_key.as_ref().map(|k| k.reveal().to_owned());
    let provider: Arc<dyn AiProvider> = match config.kind {
        ProviderKind::OpenAi => Arc::new(OpenAiProvider::new(OpenAiSettings {
            name: name.to_owned(),
            base_url: config.base_url.clone(),
            api_key: key,
            flavor: match &config.azure_api_version {
                Some(version) => OpenAiFlavor::Azure {
                    api_version: version.clone(),
                },
                None => OpenAiFlavor::Standard,
            },
            models: config.models.clone(),
            max_completion_tokens: config.max_completion_tokens,
        })?),
        ProviderKind::Anthropic => Arc::new(AnthropicProvider::new(AnthropicSettings {
            name: name.to_owned(),
            base_url: config.base_url.clone(),
            api_key: key.unwrap_or_default(),
            version: config
                .anthropic_version
                .clone()
                .unwrap_or_else(|| ANTHROPIC_VERSION.to_owned()),
            models: config.models.clone(),
        })?),
    };
    Ok(provider)
}

/// A provider's guard as configured.
pub(crate) fn guard(config: &ProviderConfig) -> GuardSettings {
    GuardSettings {
        max_concurrent: config.max_concurrent,
        requests_per_minute: config.requests_per_minute,
        tokens_per_minute: config.tokens_per_minute,
        timeout: Duration::from_secs(config.timeout_s),
        max_retries: config.max_retries,
        max_retry_wait: Duration::from_secs(config.max_retry_wait_s),
        circuit_failures: config.circuit_failures,
        circuit_cooldown: Duration::from_secs(config.circuit_cooldown_s),
        ..GuardSettings::default()
    }
}

fn routes_of(
    key: &str,
    routes: &BTreeMap<String, Vec<String>>,
) -> anyhow::Result<BTreeMap<String, Vec<Target>>> {
    routes
        .iter()
        .map(|(plugin, steps)| {
            Ok((
                plugin.clone(),
                parse_route(&format!("{key}.{plugin}"), steps)?,
            ))
        })
        .collect()
}

fn budget(config: &BudgetConfig) -> Budget {
    Budget {
        daily_tokens: config.daily_tokens,
        monthly_tokens: config.monthly_tokens,
        daily_cost: config.daily_cost,
        monthly_cost: config.monthly_cost,
    }
}

/// The budgets the config describes, counted in `spend`.
fn budgets(config: &Config, spend: Arc<dyn SpendStore>) -> Budgets {
    let mut limits = BTreeMap::new();
    let mut prices = BTreeMap::new();
    for (name, provider) in &config.providers {
        prices.insert(
            name.clone(),
            Prices {
                input_per_million: provider.price_per_million_input,
                output_per_million: provider.price_per_million_output,
            },
        );
        if let Some(limit) = &provider.budget {
            limits.insert(BudgetScope::Provider(name.clone()), budget(limit));
        }
    }
    for (plugin, limit) in &config.ai.budgets {
        limits.insert(BudgetScope::Plugin(plugin.clone()), budget(limit));
    }
    for (name, helpdesk) in &config.helpdesks {
        if let Some(limit) = &helpdesk.ai().budget {
            limits.insert(BudgetScope::Helpdesk(name.clone()), budget(limit));
        }
    }
    Budgets::new(limits, prices, spend)
}

/// The router the config describes, its budgets counted in `spend`.
pub(crate) fn router(config: &Config, spend: Arc<dyn SpendStore>) -> anyhow::Result<AiRouter> {
    let mut providers = Vec::new();
    for (name, provider_config) in &config.providers {
        let adapter =
            provider(name, provider_config).with_context(|| format!("key `providers.{name}`"))?;
        providers.push((adapter, guard(provider_config)));
    }
    let mut plugins = routes_of("ai.routes", &config.ai.routes)?;
    let default = plugins.remove("default");
    let mut helpdesks = BTreeMap::new();
    for (name, helpdesk) in &config.helpdesks {
        let ai = helpdesk.ai();
        helpdesks.insert(
            name.clone(),
            HelpdeskRoutes {
                allowed: ai
                    .providers
                    .as_ref()
                    .map(|list| list.iter().cloned().collect::<BTreeSet<_>>()),
                plugins: routes_of(&format!("helpdesks.{name}.ai.routes"), &ai.routes)?,
            },
        );
    }
    let routes = Routes {
        default,
        plugins,
        helpdesks,
    };
    Ok(AiRouter::new(providers, routes)?.with_budgets(Arc::new(budgets(config, spend))))
}

/// Checks every loaded plugin that uses AI against the routes it can take: the gateway's, and
/// those of each helpdesk that runs it. Routes and budgets for plugins that are not loaded
/// are refused too (a misspelt id would route or limit nothing).
pub(crate) fn check_plugins(
    router: &AiRouter,
    config: &Config,
    plugins: &[&Manifest],
) -> anyhow::Result<()> {
    let loaded: BTreeSet<&str> = plugins.iter().map(|p| p.id.as_str()).collect();
    let route_keys = config
        .ai
        .routes
        .keys()
        .filter(|k| k.as_str() != "default")
        .map(|k| (format!("ai.routes.{k}"), k.as_str()))
        .chain(
            config
                .ai
                .budgets
                .keys()
                .map(|k| (format!("ai.budgets.{k}"), k.as_str())),
        )
        .chain(config.helpdesks.iter().flat_map(|(name, h)| {
            h.ai()
                .routes
                .keys()
                .map(move |k| (format!("helpdesks.{name}.ai.routes.{k}"), k.as_str()))
        }));
    for (key, plugin) in route_keys {
        if !loaded.contains(plugin) {
            bail!("key `{key}`: no plugin `{plugin}` is loaded");
        }
    }
    for manifest in plugins {
        let Some(ai) = &manifest.capabilities.ai else {
            continue;
        };
        let id = manifest.id.as_str();
        let helpdesks: Vec<&str> = config
            .helpdesks
            .iter()
            .filter(|(_, h)| !h.names_plugins() || h.plugin_ids().iter().any(|p| p == id))
            .map(|(name, _)| name.as_str())
            .collect();
        router.check_plugin(id, &ai.providers, &ai.models, &helpdesks)?;
    }
    Ok(())
}

/// The manifests of the plugins a config loads (bundled ones, and `plugins.dir`'s), without
/// compiling any: what `config check` checks routes against.
pub(crate) fn manifests(config: &Config) -> anyhow::Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for id in &config.plugins.bundled {
        if let Some(bundled) = deskbridge_bundled_plugins::get(id) {
            manifests.push(
                Manifest::from_toml(bundled.manifest)
                    .with_context(|| format!("bundled plugin `{id}`"))?,
            );
        }
    }
    if let Some(dir) = &config.plugins.dir {
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("reading plugins.dir {}", dir.display()))?
        {
            let file = entry?.path().join("plugin.toml");
            if file.is_file() {
                let text = std::fs::read_to_string(&file)?;
                manifests
                    .push(Manifest::from_toml(&text).with_context(|| file.display().to_string())?);
            }
        }
    }
    Ok(manifests)
}

/// One line per plugin and helpdesk saying where its AI requests go, for the start-up log.
pub(crate) fn describe(
    router: &AiRouter,
    config: &Config,
    plugins: &[Arc<LoadedPlugin>],
) -> Vec<String> {
    let mut lines = Vec::new();
    for plugin in plugins {
        let Some(ai) = &plugin.manifest().capabilities.ai else {
            continue;
        };
        let scopes = std::iter::once(None).chain(config.helpdesks.keys().map(|h| Some(h.as_str())));
        for helpdesk in scopes {
            let chain = router.chain(
                deskbridge_providers::RouteScope {
                    plugin: plugin.id(),
                    helpdesk,
                },
                &ai.providers,
            );
            let steps: Vec<String> = chain.iter().map(Target::to_string).collect();
            lines.push(format!(
                "{}{}: {}",
                plugin.id(),
                helpdesk.map(|h| format!(" for {h}")).unwrap_or_default(),
                steps.join(" → ")
            ));
        }
    }
    lines
}
