//! `deskbridge.toml`: the gateway's configuration.
//!
//! Every key has a default, so no file is needed to start. A file is parsed as TOML, checked
//! against `schemas/config.schema.json` (errors name the key, e.g.
//! `helpdesks.acme.base_url`), deserialized into typed structs that refuse unknown keys, and
//! then checked for what a schema cannot say (plugin ids exist, secrets resolve, addresses
//! parse). Secrets are given literally or as `{ env = "VARIABLE" }`.

mod ai;
mod console;
mod email;
mod helpdesk;
mod knowledge;
mod secret;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use deskbridge_schema::Schema;
use serde::Deserialize;
use thiserror::Error;

pub use ai::{AiConfig, BudgetConfig, HelpdeskAiConfig, ProviderConfig, ProviderKind, parse_route};
pub use console::{ConsoleConfig, origin_of};
pub use email::{AfterFetch, EmailConfig, ImapConfig, MailSecurity, SmtpConfig};
pub use helpdesk::{
    FreshdeskConfig, FreshdeskWebhookAuth, GenericConfig, HelpdeskConfig, MIN_WEBHOOK_SECRET_BYTES,
    ZendeskConfig,
};
pub use knowledge::KnowledgeConfig;
pub use secret::Secret;

/// Why a configuration was refused. The message names the file and the key.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, or a value of the wrong shape.
    #[error("{path} is not a valid config: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A key has a bad value.
    #[error("{path}: key `{key}`: {message}")]
    Key {
        /// The file.
        path: String,
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory of the embedded store.
    pub data_dir: PathBuf,
    /// `[ingest]`.
    pub ingest: IngestConfig,
    /// `[pipeline]`.
    pub pipeline: PipelineConfig,
    /// `[plugins]`.
    pub plugins: PluginsConfig,
    /// `[audit]`.
    pub audit: AuditLogConfig,
    /// `[review]`.
    pub review: ReviewConfig,
    /// `[retention]`.
    pub retention: RetentionConfig,
    /// `[helpdesks.NAME]`.
    pub helpdesks: BTreeMap<String, HelpdeskConfig>,
    /// `[providers.NAME]`: AI providers besides the built-in `local`.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `[ai]`: routes.
    pub ai: AiConfig,
    /// `[redaction]`: what else is taken out of AI prompts.
    pub redaction: RedactionConfig,
    /// `[console]`: the web console.
    pub console: ConsoleConfig,
    /// `[log]`: how the gateway logs.
    pub log: LogConfig,
}

/// `[log]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` (for people, the default) or `json` (one object per line, for collectors).
    pub format: LogFormat,
}

/// The log's line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, with the request span's fields.
    Json,
}

/// `[redaction]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionConfig {
    /// The operator's patterns, applied before the built-in kinds.
    pub patterns: Vec<RedactionPattern>,
}

/// One `[redaction] patterns` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionPattern {
    /// Lower-case name; upper-cased it labels the placeholder (`order` → `[ORDER_1]`).
    pub name: String,
    /// A regular expression (the `regex` crate's syntax).
    pub regex: String,
}

impl RedactionConfig {
    /// The patterns, compiled (config loading has checked they compile).
    pub fn rules(&self) -> Result<deskbridge_core::redact::RedactionRules, ConfigError> {
        let pairs: Vec<(String, String)> = self
            .patterns
            .iter()
            .map(|p| (p.name.clone(), p.regex.clone()))
            .collect();
        deskbridge_core::redact::RedactionRules::new(&pairs).map_err(|e| {
            let index = self
                .patterns
                .iter()
                .position(|p| p.name == e.name)
                .unwrap_or_default();
            key_error(&format!("redaction.patterns[{index}]"), e.to_string())
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("deskbridge-data"),
            ingest: IngestConfig::default(),
            pipeline: PipelineConfig::default(),
            plugins: PluginsConfig::default(),
            audit: AuditLogConfig::default(),
            review: ReviewConfig::default(),
            retention: RetentionConfig::default(),
            helpdesks: BTreeMap::new(),
            providers: BTreeMap::new(),
            ai: AiConfig::default(),
            redaction: RedactionConfig::default(),
            console: ConsoleConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// `[ingest]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest webhook body accepted, bytes.
    pub max_body_bytes: usize,
    /// Accepted distance between a signed webhook's timestamp and the clock, seconds.
    pub timestamp_tolerance_s: u64,
    /// Acknowledged events waiting for the pipeline beyond which webhooks get `503`.
    pub max_pending_events: usize,
    /// Accept webhook secrets shorter than [`MIN_WEBHOOK_SECRET_BYTES`] (tests and demos).
    pub allow_short_webhook_secrets: bool,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_body_bytes: 256 * 1024,
            timestamp_tolerance_s: 300,
            max_pending_events: 100_000,
            allow_short_webhook_secrets: false,
        }
    }
}

/// `[audit]`: the approval log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditLogConfig {
    /// The log's origin: first line of every checkpoint and name of its signing key. Make it
    /// unique to the deployment (a domain you own and a path), e.g. `example.com/deskbridge`.
    pub origin: String,
    /// Sign a checkpoint after this many new entries.
    pub checkpoint_every: u64,
    /// Sign a checkpoint this often (seconds) while entries keep arriving.
    pub checkpoint_interval_s: u64,
}

impl Default for AuditLogConfig {
    fn default() -> Self {
        AuditLogConfig {
            origin: "deskbridge.local/approval-log".into(),
            checkpoint_every: 1000,
            checkpoint_interval_s: 10,
        }
    }
}

/// `[review]`: the approval queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// A draft not decided within this many seconds expires (it is never sent).
    pub draft_expiry_s: u64,
    /// How often expired drafts are looked for, seconds.
    pub expiry_sweep_interval_s: u64,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            draft_expiry_s: 3 * 24 * 3600,
            expiry_sweep_interval_s: 60,
        }
    }
}

/// `[retention]`: how long the store keeps what it no longer needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days a delivery's dedupe key is kept.
    pub dedupe_days: u64,
    /// Days ended records are kept after they ended; 0 keeps them for ever.
    pub records_days: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            dedupe_days: 7,
            records_days: 90,
        }
    }
}

impl RetentionConfig {
    /// How long dedupe keys are kept.
    pub fn dedupe(&self) -> std::time::Duration {
        days(self.dedupe_days)
    }

    /// How long ended records are kept (`None`: for ever).
    pub fn records(&self) -> Option<std::time::Duration> {
        (self.records_days > 0).then(|| days(self.records_days))
    }
}

fn days(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n.saturating_mul(24 * 3600))
}

/// `[pipeline]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Worker lanes.
    pub workers: usize,
    /// First retry delay, milliseconds.
    pub base_backoff_ms: u64,
    /// Longest retry delay, milliseconds.
    pub max_backoff_ms: u64,
    /// Outbox retry horizon, seconds.
    pub outbox_give_up_after_s: u64,
    /// Event fetch retry horizon, seconds.
    pub event_give_up_after_s: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: 4,
            base_backoff_ms: 500,
            max_backoff_ms: 300_000,
            outbox_give_up_after_s: 86_400,
            event_give_up_after_s: 3_600,
        }
    }
}

/// `[plugins]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// First-party plugins to load, by id; all of them by default.
    pub bundled: Vec<String>,
    /// A folder of third-party plugins: one sub-folder each, holding `plugin.toml` and one
    /// `.wasm` file.
    pub dir: Option<PathBuf>,
    /// Per-plugin configuration, checked against each plugin's `config_schema`.
    pub config: BTreeMap<String, serde_json::Value>,
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
    /// Reads and validates a file; relative paths in it are taken relative to the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config =
            Config::parse(&text, &|name| std::env::var(name).ok()).map_err(|e| e.in_file(path))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(dir) = &config.plugins.dir
            && dir.is_relative()
        {
            config.plugins.dir = Some(base.join(dir));
        }
        if config.data_dir.is_relative() {
            config.data_dir = base.join(&config.data_dir);
        }
        for helpdesk in config.helpdesks.values_mut() {
            if let Some(knowledge) = helpdesk.knowledge_mut() {
                knowledge.anchor(base);
            }
            if let HelpdeskConfig::Email(email) = helpdesk {
                email.anchor(base);
            }
        }
        Ok(config)
    }

    /// Parses and validates config text; `env` looks up environment variables for secrets.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        let json = serde_json::to_value(&table).map_err(|e| parse_error(e.to_string()))?;
        if let Err(error) = Schema::Config.validate(&json) {
            let first = error.problems.first();
            return Err(ConfigError::Key {
                path: String::new(),
                key: first
                    .map(|p| p.path.clone())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "(root)".into()),
                message: first
                    .map(|p| p.message.clone())
                    .unwrap_or_else(|| error.to_string()),
            });
        }
        let mut config: Config = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        config.validate(env)?;
        Ok(config)
    }

    fn validate(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(key_error(
                "listen",
                format!("{:?} is not an address such as 127.0.0.1:8080", self.listen),
            ));
        }
        let known: Vec<&str> = deskbridge_bundled_plugins::ALL
            .iter()
            .map(|p| p.id)
            .collect();
        for id in &self.plugins.bundled {
            if !known.contains(&id.as_str()) {
                return Err(key_error(
                    "plugins.bundled",
                    format!("no first-party plugin `{id}` (known: {})", known.join(", ")),
                ));
            }
        }
        for (id, value) in &self.plugins.config {
            match deskbridge_bundled_plugins::get(id) {
                Some(bundled) => {
                    let manifest = deskbridge_plugin_host::Manifest::from_toml(bundled.manifest)
                        .map_err(|e| key_error(&format!("plugins.config.{id}"), e.to_string()))?;
                    manifest
                        .check_config(Some(value))
                        .map_err(|e| key_error(&format!("plugins.config.{id}"), e.to_string()))?;
                }
                // Plugins from `plugins.dir` are checked when they are loaded.
                None if self.plugins.dir.is_some() => {}
                None => {
                    return Err(key_error(
                        &format!("plugins.config.{id}"),
                        format!("no plugin `{id}` is configured"),
                    ));
                }
            }
        }
        self.console.check()?;
        // An email ticket untouched for `records_days` is deleted: one whose draft may still
        // be decided must outlive the draft.
        if let Some(records) = self.retention.records()
            && records.as_secs() < self.review.draft_expiry_s
        {
            return Err(key_error(
                "retention.records_days",
                format!(
                    "{} days is shorter than review.draft_expiry_s ({} s): a ticket could go while its draft waits for a decision",
                    self.retention.records_days, self.review.draft_expiry_s
                ),
            ));
        }
        // A pattern that does not compile stops the start: nothing unredacted goes out.
        self.redaction.rules()?;
        for (name, provider) in &mut self.providers {
            provider.resolve(name, env)?;
        }
        let helpdesk_ai: Vec<(&str, &HelpdeskAiConfig)> = self
            .helpdesks
            .iter()
            .map(|(name, h)| (name.as_str(), h.ai()))
            .collect();
        ai::check(&self.providers, &self.ai, &helpdesk_ai)?;
        for (name, helpdesk) in &mut self.helpdesks {
            helpdesk.resolve(name, env, self.ingest.allow_short_webhook_secrets)?;
            for id in helpdesk.plugin_ids() {
                let loaded_here = self.plugins.bundled.contains(id);
                if !loaded_here && self.plugins.dir.is_none() {
                    return Err(key_error(
                        &format!("helpdesks.{name}.plugins"),
                        format!(
                            "plugin `{id}` is not loaded (add it to plugins.bundled or plugins.dir)"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Plugins named in the config (bundled ones; a plugin dir counts as one entry).
    pub fn plugin_count(&self) -> usize {
        self.plugins.bundled.len() + usize::from(self.plugins.dir.is_some())
    }
}

impl ConfigError {
    fn in_file(self, file: &Path) -> ConfigError {
        let path = file.display().to_string();
        match self {
            ConfigError::Parse { message, .. } => ConfigError::Parse { path, message },
            ConfigError::Key { key, message, .. } => ConfigError::Key { path, key, message },
            other => other,
        }
    }
}

fn parse_error(message: String) -> ConfigError {
    ConfigError::Parse {
        path: "config".into(),
        message,
    }
}

pub(crate) fn key_error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        path: "config".into(),
        key: key.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, &|name| {
            (name == "ZD_TOKEN").then(|| "tok-from-env".to_owned())
        })
    }

    #[test]
    fn empty_config_means_defaults() {
        let c = parse("").expect("valid");
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(
            c.plugins.bundled.len(),
            deskbridge_bundled_plugins::ALL.len()
        );
        assert!(c.helpdesks.is_empty());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = parse("lisen = \"x\"").expect_err("typo");
        assert!(err.to_string().contains("lisen"), "{err}");
        let err = parse("listen = \"nowhere\"").expect_err("bad address");
        assert!(err.to_string().contains("key `listen`"), "{err}");
        let err = parse("[plugins]\nbundled = [\"nope\"]").expect_err("unknown plugin");
        assert!(
            err.to_string().contains("no first-party plugin `nope`"),
            "{err}"
        );
        let err = parse("[pipeline]\nworkers = 0").expect_err("zero workers");
        assert!(err.to_string().contains("pipeline.workers"), "{err}");
    }

    #[test]
    fn retention_defaults_and_zero_keeps_records_for_ever() {
        let defaults = parse("").expect("defaults").retention;
        assert_eq!(defaults.dedupe(), Duration::from_secs(7 * 86_400));
        assert_eq!(defaults.records(), Some(Duration::from_secs(90 * 86_400)));
        let short = parse("[retention]\nrecords_days = 1\n[review]\ndraft_expiry_s = 172800")
            .expect_err("retention shorter than a draft's life");
        assert!(
            short.to_string().contains("retention.records_days"),
            "{short}"
        );
        let kept = parse("[retention]\nrecords_days = 0\ndedupe_days = 2").expect("valid");
        assert_eq!(kept.retention.records(), None);
        assert_eq!(kept.retention.dedupe(), Duration::from_secs(2 * 86_400));
        let err = parse("[retention]\ndedupe_days = 0").expect_err("no dedupe at all");
        assert!(err.to_string().contains("retention.dedupe_days"), "{err}");
        let err = parse("[retention]\nrecords = 3").expect_err("unknown key");
        assert!(err.to_string().contains("records"), "{err}");
    }

    #[test]
    fn several_helpdesks_with_env_secrets() {
        let text = r#"
[helpdesks.acme]
kind = "zendesk"
base_url = "https://acme.zendesk.com"
email = "bot@acme.com"
api_token = { env = "ZD_TOKEN" }
webhook_secret = "s3cret-s3cret-s3cret"
plugins = ["summarize"]
rate_limit_per_minute = 100

[helpdesks.acme-eu]
kind = "zendesk"
base_url = "https://acme-eu.zendesk.com"
oauth_token = "oauth"
webhook_secret = "other-signing-secret"

[helpdesks.support]
kind = "freshdesk"
base_url = "https://support.freshdesk.com"
api_key = "key"
webhook_auth = { basic = { username = "deskbridge", password = "correct-horse-battery" } }

[helpdesks.forms]
kind = "generic"
webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"#;
        let c = parse(text).expect("valid");
        assert_eq!(c.helpdesks.len(), 4);
        let HelpdeskConfig::Zendesk(acme) = &c.helpdesks["acme"] else {
            panic!("zendesk");
        };
        assert_eq!(
            acme.api_token.as_ref().map(Secret::reveal),
            Some("tok-from-env")
        );
        assert!(
            !format!("{acme:?}").contains("tok-from-env"),
            "secrets stay out of Debug"
        );
    }

    #[test]
    fn the_commented_helpdesks_of_the_example_are_valid() {
        let example = include_str!("../../../deskbridge.example.toml");
        let start = example
            .find("# [helpdesks.acme]")
            .expect("helpdesk examples");
        let uncommented: String = example[start..]
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .filter(|l| !l.starts_with("# or") && !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let env = |_: &str| Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
        let config =
            Config::parse(&uncommented, &env).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert_eq!(config.helpdesks.len(), 5);
    }

    #[test]
    fn a_knowledge_base_needs_a_source_and_a_folder_is_anchored_to_the_file() {
        let zendesk = |knowledge: &str| {
            format!(
                "[helpdesks.z]\nkind = \"zendesk\"\nbase_url = \"https://z.zendesk.com\"\noauth_token = \"t\"\nwebhook_secret = \"sixteen-bytes-ok\"\n[helpdesks.z.knowledge]\n{knowledge}"
            )
        };
        let synced = parse(&zendesk("")).expect("defaults");
        let knowledge = synced.helpdesks["z"].knowledge().expect("configured");
        assert!(knowledge.syncs_helpdesk(true));
        assert_eq!(knowledge.interval(), Duration::from_secs(900));
        let err = parse(&zendesk("sync = false")).expect_err("no source");
        assert!(err.to_string().contains("helpdesks.z.knowledge"), "{err}");
        let err = parse(&zendesk("url_base = \"https://kb.example.com\"")).expect_err("no folder");
        assert!(
            err.to_string().contains("helpdesks.z.knowledge.url_base"),
            "{err}"
        );
        let err = parse(&zendesk("interval_s = 0")).expect_err("schema");
        assert!(err.to_string().contains("interval_s"), "{err}");
        let generic = "[helpdesks.g]\nkind = \"generic\"\nwebhook_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n[helpdesks.g.knowledge]\n";
        let err = parse(&format!("{generic}sync = true")).expect_err("generic has no API");
        assert!(
            err.to_string().contains("helpdesks.g.knowledge.sync"),
            "{err}"
        );
        let err = parse(generic).expect_err("generic without folder");
        assert!(err.to_string().contains("needs a source"), "{err}");
        parse(&format!("{generic}folder = \"kb\"")).expect("a folder will do");

        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("deskbridge.toml");
        std::fs::write(&file, zendesk("folder = \"kb/z\"")).expect("write");
        let loaded = Config::load(&file).expect("loads");
        assert_eq!(
            loaded.helpdesks["z"]
                .knowledge()
                .and_then(|k| k.folder.clone()),
            Some(dir.path().join("kb/z"))
        );
    }

    #[test]
    fn short_webhook_secrets_are_refused_unless_a_test_config_allows_them() {
        let zendesk = |secret: &str| {
            format!(
                "[helpdesks.z]\nkind = \"zendesk\"\nbase_url = \"https://z.zendesk.com\"\noauth_token = \"t\"\nwebhook_secret = \"{secret}\"\n"
            )
        };
        let err = parse(&zendesk("short-secret")).expect_err("12 bytes");
        assert!(
            err.to_string().contains("helpdesks.z.webhook_secret"),
            "{err}"
        );
        assert!(err.to_string().contains("at least 16"), "{err}");
        parse(&zendesk("sixteen-bytes-ok")).expect("16 bytes");
        let freshdesk = |auth: &str| {
            format!(
                "[helpdesks.f]\nkind = \"freshdesk\"\nbase_url = \"https://f.freshdesk.com\"\napi_key = \"k\"\nwebhook_auth = {auth}\n"
            )
        };
        let err = parse(&freshdesk(
            "{ basic = { username = \"u\", password = \"hunter2\" } }",
        ))
        .expect_err("7 bytes");
        assert!(
            err.to_string()
                .contains("helpdesks.f.webhook_auth.basic.password"),
            "{err}"
        );
        let err = parse(&freshdesk(
            "{ header = { name = \"X-Secret\", value = \"abc\" } }",
        ))
        .expect_err("3 bytes");
        assert!(
            err.to_string()
                .contains("helpdesks.f.webhook_auth.header.value"),
            "{err}"
        );
        // A Standard Webhooks key is measured decoded: `whsec_` + base64 of 8 bytes.
        let err =
            parse("[helpdesks.g]\nkind = \"generic\"\nwebhook_secret = \"whsec_MTIzNDU2Nzg=\"\n")
                .expect_err("8 bytes");
        assert!(
            err.to_string().contains("helpdesks.g.webhook_secret"),
            "{err}"
        );
        let allowed = format!(
            "[ingest]\nallow_short_webhook_secrets = true\n{}",
            zendesk("short")
        );
        assert!(
            parse(&allowed)
                .expect("a test config")
                .ingest
                .allow_short_webhook_secrets
        );
    }

    #[test]
    fn tag_patterns_and_priority_make_each_helpdesks_write_policy() {
        let base = "[helpdesks.z]\nkind = \"zendesk\"\nbase_url = \"https://z.zendesk.com\"\noauth_token = \"t\"\nwebhook_secret = \"sixteen-bytes-ok\"\n";
        let c = parse(base).expect("defaults");
        let policy = c.helpdesks["z"].write_policy();
        assert!(policy.allows_tag("deskbridge-handover"));
        assert!(!policy.allows_tag("vip"));
        assert!(!policy.priority);
        let c = parse(&format!(
            "{base}allowed_tags = [\"vip\", \"triage-*\"]\nallow_priority = true\n"
        ))
        .expect("valid");
        let policy = c.helpdesks["z"].write_policy();
        assert!(policy.allows_tag("triage-billing") && policy.allows_tag("VIP"));
        assert!(
            !policy.allows_tag("deskbridge-handover"),
            "the list replaces the default"
        );
        assert!(policy.priority);
        let err = parse(&format!("{base}allowed_tags = [\"two words\"]\n")).expect_err("space");
        assert!(
            err.to_string().contains("helpdesks.z.allowed_tags"),
            "{err}"
        );
    }

    #[test]
    fn helpdesk_mistakes_name_the_key() {
        let missing_env = "[helpdesks.a]\nkind = \"zendesk\"\nbase_url = \"https://a.zendesk.com\"\nemail = \"a@b.c\"\napi_token = { env = \"NOPE\" }\nwebhook_secret = \"x\"\n";
        let err = parse(missing_env).expect_err("unset variable");
        assert!(err.to_string().contains("helpdesks.a.api_token"), "{err}");
        assert!(err.to_string().contains("NOPE"), "{err}");

        let no_auth = "[helpdesks.fd]\nkind = \"freshdesk\"\nbase_url = \"https://x.freshdesk.com\"\napi_key = \"k\"\n";
        let err = parse(no_auth).expect_err("no webhook auth");
        assert!(err.to_string().contains("webhook_auth"), "{err}");

        let typo = "[helpdesks.g]\nkind = \"generic\"\nwebhook_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nwebhok = 1\n";
        let err = parse(typo).expect_err("unknown key");
        assert!(err.to_string().contains("helpdesks.g"), "{err}");

        let bad_secret = "[helpdesks.g]\nkind = \"generic\"\nwebhook_secret = \"whsec_***\"\n";
        let err = parse(bad_secret).expect_err("not base64");
        assert!(
            err.to_string().contains("helpdesks.g.webhook_secret"),
            "{err}"
        );

        let bad_name = "[helpdesks.\"Bad Name\"]\nkind = \"generic\"\nwebhook_secret = \"x\"\n";
        assert!(parse(bad_name).is_err());

        let unknown_plugin = "[helpdesks.g]\nkind = \"generic\"\nwebhook_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nplugins = [\"nope\"]\n";
        let err = parse(unknown_plugin).expect_err("unknown plugin");
        assert!(err.to_string().contains("helpdesks.g.plugins"), "{err}");
    }
}
