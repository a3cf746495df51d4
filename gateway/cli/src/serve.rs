//! `deskbridge serve`: loads the configured plugins and runs the HTTP server until Ctrl-C or
//! SIGTERM.

use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use deskbridge_plugin_host::{
    EngineSettings, HostServices, LoadedPlugin, Manifest, PluginEngine, PluginSource,
};
use deskbridge_server::AppState;
use tracing_subscriber::EnvFilter;

use crate::config::Config;

pub(crate) fn run(config_path: Option<&Path>, listen: Option<&str>) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let listen = listen.unwrap_or(&config.listen);

    let engine = PluginEngine::new(EngineSettings::default())?;
    let services = HostServices::local();
    let plugins = load_plugins(&engine, &services, &config)?;

    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, plugins = plugins.len(), "deskbridge listening on http://{address}");
    let state = AppState {
        plugins,
        started: Instant::now(),
    };
    deskbridge_server::run_until_stopped(listener, state)?;
    Ok(ExitCode::SUCCESS)
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
