//! `deskbridge.toml`: the gateway's configuration. Every key has a default, so no file is
//! needed to start; unknown keys are errors that name the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Address to listen on.
    pub(crate) listen: String,
    /// Plugins to load.
    pub(crate) plugins: PluginsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            plugins: PluginsConfig::default(),
        }
    }
}

/// `[plugins]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PluginsConfig {
    /// First-party plugins to load, by id; all of them by default.
    pub(crate) bundled: Vec<String>,
    /// A folder of third-party plugins: one sub-folder each, holding `plugin.toml` and one
    /// `.wasm` file.
    pub(crate) dir: Option<PathBuf>,
    /// Per-plugin configuration, checked against each plugin's `config_schema`.
    pub(crate) config: BTreeMap<String, serde_json::Value>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            bundled: deskbridge_bundled_plugins::ALL
                .iter()
                .map(|p| p.id.to_owned())
                .collect(),
            dir: None,
            config: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Reads and validates a file.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Config> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut config: Config = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid config", path.display()))?;
        if let Some(dir) = &config.plugins.dir
            && dir.is_relative()
        {
            let base = path.parent().unwrap_or(Path::new("."));
            config.plugins.dir = Some(base.join(dir));
        }
        config
            .validate()
            .with_context(|| format!("{}", path.display()))?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            bail!(
                "key `listen`: {:?} is not an address such as 127.0.0.1:8080",
                self.listen
            );
        }
        for id in &self.plugins.bundled {
            if deskbridge_bundled_plugins::get(id).is_none() {
                let known: Vec<&str> = deskbridge_bundled_plugins::ALL
                    .iter()
                    .map(|p| p.id)
                    .collect();
                bail!(
                    "key `plugins.bundled`: no first-party plugin `{id}` (known: {})",
                    known.join(", ")
                );
            }
        }
        for (id, value) in &self.plugins.config {
            match deskbridge_bundled_plugins::get(id) {
                Some(bundled) => {
                    let manifest = deskbridge_plugin_host::Manifest::from_toml(bundled.manifest)?;
                    manifest
                        .check_config(Some(value))
                        .with_context(|| format!("key `plugins.config.{id}`"))?;
                }
                // Plugins from `plugins.dir` are checked when they are loaded.
                None if self.plugins.dir.is_some() => {}
                None => bail!("key `plugins.config.{id}`: no plugin `{id}` is configured"),
            }
        }
        Ok(())
    }

    /// Plugins named in the config (bundled ones; a plugin dir counts as one entry).
    pub(crate) fn plugin_count(&self) -> usize {
        self.plugins.bundled.len() + usize::from(self.plugins.dir.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn empty_config_means_defaults() {
        let c = parse("").expect("valid");
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(
            c.plugins.bundled.len(),
            deskbridge_bundled_plugins::ALL.len()
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = parse("lisen = \"x\"").expect_err("typo");
        assert!(
            format!("{err:#}").contains("unknown field `lisen`"),
            "{err:#}"
        );
        let err = parse("listen = \"nowhere\"").expect_err("bad address");
        assert!(format!("{err:#}").contains("key `listen`"), "{err:#}");
        let err = parse("[plugins]\nbundled = [\"nope\"]").expect_err("unknown plugin");
        assert!(
            format!("{err:#}").contains("no first-party plugin `nope`"),
            "{err:#}"
        );
    }
}
