//! `plugin.toml`: parsed, validated against `schemas/plugin-manifest.schema.json` (errors name
//! the field), and turned into the typed [`Manifest`] the host enforces.

use deskbridge_core::{EventKind, OutputLimits, VerdictLimits};
use deskbridge_schema::{CompiledSchema, Schema, SchemaError};
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// Contract versions this host can load.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0", "0.2.0"];

/// Why a manifest or a plugin config was refused.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// Not TOML.
    #[error("plugin.toml is not valid TOML: {0}")]
    Toml(String),
    /// TOML that does not match the manifest schema.
    #[error("plugin.toml: {0}")]
    Schema(SchemaError),
    /// The manifest's `config_schema` is not a usable JSON Schema.
    #[error("plugin.toml: field `config_schema`: {0}")]
    ConfigSchema(SchemaError),
    /// The operator's config for the plugin does not match its `config_schema`.
    #[error("config for plugin `{plugin}`: {error}")]
    Config {
        /// Plugin id.
        plugin: String,
        /// What is wrong.
        error: SchemaError,
    },
}

/// What a plugin subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    /// A ticket event.
    Event(EventKind),
    /// `draft.review`: the plugin is a policy plugin.
    DraftReview,
}

/// The AI a plugin may use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AiCapability {
    /// Providers by config name the plugin may be routed to; `*` allows any. Without a
    /// route, the first name (or `local`) answers.
    pub providers: Vec<String>,
    /// Models the plugin may name (empty: the providers' defaults); a non-empty list also
    /// bounds the models routes may name.
    #[serde(default)]
    pub models: Vec<String>,
    /// Upper bound on one completion's length.
    #[serde(default = "default_max_output_tokens")]
    pub max_output_tokens: u32,
}

fn default_max_output_tokens() -> u32 {
    1024
}

/// What the plugin may use beyond computing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// AI through the host.
    #[serde(default)]
    pub ai: Option<AiCapability>,
    /// Plugin-scoped key-value store.
    #[serde(default)]
    pub kv: bool,
    /// Always `none`.
    #[serde(default)]
    pub network: Option<String>,
    /// The plugin sees agents' internal notes in the thread. Without it the host removes
    /// every internal message from the ticket before the call: a reply drafted from the
    /// thread cannot quote what the customer must not read.
    #[serde(default)]
    pub internal_messages: bool,
    /// The plugin may return draft replies (default). `false` declares a plugin that only
    /// annotates (notes, tags, hand-overs): the host refuses its drafts.
    #[serde(default = "drafts_by_default")]
    pub draft_replies: bool,
    /// The plugin may search the ticket's helpdesk knowledge base (`knowledge` import,
    /// contract 0.2.0).
    #[serde(default)]
    pub knowledge: bool,
}

fn drafts_by_default() -> bool {
    true
}

impl Capabilities {
    /// What the capabilities grant, in words, for `deskbridge plugin check`.
    pub fn describe(&self) -> Vec<String> {
        let mut grants = Vec::new();
        match &self.ai {
            Some(ai) if ai.providers.iter().any(|p| p == "*") => grants.push(format!(
                "AI through the host from any provider the operator routes it to (at most {} output tokens per completion); personal data is redacted first",
                ai.max_output_tokens
            )),
            Some(ai) => grants.push(format!(
                "AI through the host from {} only (at most {} output tokens per completion)",
                ai.providers.join(", "),
                ai.max_output_tokens
            )),
            None => grants.push("no AI".to_owned()),
        }
        grants.push(if self.kv {
            "a plugin-scoped key-value store".to_owned()
        } else {
            "no key-value store".to_owned()
        });
        grants.push(if self.internal_messages {
            "sees agents' internal notes in the thread (capabilities.internal_messages)".to_owned()
        } else {
            "sees public messages only; internal notes are removed before each call".to_owned()
        });
        grants.push(if self.draft_replies {
            "may propose draft replies (they wait for a human's approval)".to_owned()
        } else {
            "proposes no draft replies (capabilities.draft_replies = false)".to_owned()
        });
        grants.push(if self.knowledge {
            "searches the helpdesk's knowledge base (macros, articles); queries stay in the gateway"
                .to_owned()
        } else {
            "no knowledge base".to_owned()
        });
        grants
    }

    /// No AI, no kv, no internal notes, may draft: what a manifest without
    /// `[capabilities]` grants.
    pub fn none() -> Capabilities {
        Capabilities {
            ai: None,
            kv: false,
            network: None,
            internal_messages: false,
            draft_replies: true,
            knowledge: false,
        }
    }
}

/// Per-call resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) per call.
    pub fuel: u64,
    /// Wall-clock time per call, AI calls included.
    pub wall_clock_ms: u64,
    /// Linear memory per call.
    pub memory_mib: u64,
    /// Text across all actions of one call.
    pub max_output_bytes: usize,
    /// Actions per call.
    pub max_actions: usize,
    /// Lines the `log` import takes per call; one more fails the call.
    pub max_log_lines: usize,
    /// Bytes (messages and fields) the `log` import takes per call; more fail the call.
    pub max_log_bytes: usize,
    /// Messages in one `ai.complete` request.
    pub max_ai_messages: usize,
    /// Bytes of all messages of one `ai.complete` request.
    pub max_prompt_bytes: usize,
    /// Flags in one policy verdict.
    pub max_verdict_flags: usize,
    /// Bytes of one flag message or block reason.
    pub max_flag_bytes: usize,
    /// Bytes of one `kv` key.
    pub max_kv_key_bytes: usize,
    /// Bytes of one `kv` value.
    pub max_kv_value_bytes: usize,
    /// Keys the plugin may hold in `kv`.
    pub max_kv_keys: usize,
    /// Bytes (keys and values) the plugin may hold in `kv` in all.
    pub max_kv_total_bytes: u64,
    /// `knowledge.search` calls per plugin call.
    pub max_knowledge_searches: usize,
    /// Most articles one `knowledge.search` returns.
    pub max_knowledge_results: usize,
    /// Bytes of one `knowledge.search` query.
    pub max_knowledge_query_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let kv = crate::kv::KvLimits::default();
        Limits {
            fuel: 50_000_000,
            wall_clock_ms: 10_000,
            memory_mib: 64,
            max_output_bytes: OutputLimits::default().max_output_bytes,
            max_actions: OutputLimits::default().max_actions,
            max_log_lines: 64,
            max_log_bytes: 64 * 1024,
            max_ai_messages: 32,
            max_prompt_bytes: 256 * 1024,
            max_verdict_flags: VerdictLimits::default().max_flags,
            max_flag_bytes: VerdictLimits::default().max_text_bytes,
            max_kv_key_bytes: kv.max_key_bytes,
            max_kv_value_bytes: kv.max_value_bytes,
            max_kv_keys: kv.max_keys,
            max_kv_total_bytes: kv.max_total_bytes,
            max_knowledge_searches: 8,
            max_knowledge_results: 10,
            max_knowledge_query_bytes: 4096,
        }
    }
}

impl Limits {
    /// The output part of these limits, for a plugin that may or may not draft.
    pub fn output(&self, allows_drafts: bool) -> OutputLimits {
        OutputLimits {
            max_output_bytes: self.max_output_bytes,
            max_actions: self.max_actions,
            allows_drafts,
            ..OutputLimits::default()
        }
    }

    /// The verdict part of these limits.
    pub fn verdict(&self) -> VerdictLimits {
        VerdictLimits {
            max_flags: self.max_verdict_flags,
            max_text_bytes: self.max_flag_bytes,
        }
    }

    /// The kv part of these limits.
    pub fn kv(&self) -> crate::kv::KvLimits {
        crate::kv::KvLimits {
            max_key_bytes: self.max_kv_key_bytes,
            max_value_bytes: self.max_kv_value_bytes,
            max_keys: self.max_kv_keys,
            max_total_bytes: self.max_kv_total_bytes,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    id: String,
    version: String,
    contract: String,
    #[serde(default)]
    description: Option<String>,
    events: Vec<String>,
    #[serde(default = "Capabilities::none")]
    capabilities: Capabilities,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    config_schema: Option<Value>,
}

/// A validated plugin manifest.
#[derive(Debug)]
pub struct Manifest {
    /// Plugin id.
    pub id: String,
    /// The plugin's version.
    pub version: String,
    /// The WIT contract version it targets.
    pub contract: String,
    /// What it does, for operators.
    pub description: Option<String>,
    /// What it handles.
    pub subscriptions: Vec<Subscription>,
    /// What it may use.
    pub capabilities: Capabilities,
    /// Per-call limits.
    pub limits: Limits,
    config_schema: Option<CompiledSchema>,
}

impl Manifest {
    /// Parses and validates `plugin.toml` text.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
        let toml_value: toml::Value =
            toml::from_str(text).map_err(|e| ManifestError::Toml(e.to_string()))?;
        let json =
            serde_json::to_value(&toml_value).map_err(|e| ManifestError::Toml(e.to_string()))?;
        Manifest::from_json(json)
    }

    /// Validates a manifest given as a JSON value (the TOML's equivalent).
    pub fn from_json(json: Value) -> Result<Manifest, ManifestError> {
        Schema::PluginManifest
            .validate(&json)
            .map_err(ManifestError::Schema)?;
        let raw: RawManifest =
            serde_json::from_value(json).map_err(|e| ManifestError::Toml(e.to_string()))?;
        let subscriptions = raw
            .events
            .iter()
            .map(|name| match name.as_str() {
                "draft.review" => Some(Subscription::DraftReview),
                other => EventKind::parse(other).map(Subscription::Event),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ManifestError::Toml(
                    "field `events`: unknown event (the schema should have caught this)".into(),
                )
            })?;
        if raw.capabilities.knowledge && raw.contract == "0.1.0" {
            return Err(ManifestError::Toml(
                "field `capabilities.knowledge`: the knowledge import needs contract 0.2.0 (the manifest says 0.1.0)".into(),
            ));
        }
        let config_schema = raw
            .config_schema
            .as_ref()
            .map(CompiledSchema::compile)
            .transpose()
            .map_err(ManifestError::ConfigSchema)?;
        Ok(Manifest {
            id: raw.id,
            version: raw.version,
            contract: raw.contract,
            description: raw.description,
            subscriptions,
            capabilities: raw.capabilities,
            limits: raw.limits,
            config_schema,
        })
    }

    /// True when the plugin handles `kind`.
    pub fn handles(&self, kind: EventKind) -> bool {
        self.subscriptions.contains(&Subscription::Event(kind))
    }

    /// True when the plugin reviews drafts.
    pub fn reviews_drafts(&self) -> bool {
        self.subscriptions.contains(&Subscription::DraftReview)
    }

    /// Checks an operator's config for this plugin against its `config_schema` and returns
    /// the JSON text handed to the plugin. No config (`None`) is checked as `{}`.
    pub fn check_config(&self, config: Option<&Value>) -> Result<String, ManifestError> {
        let empty = Value::Object(serde_json::Map::new());
        let config = config.unwrap_or(&empty);
        if let Some(schema) = &self.config_schema {
            schema
                .validate(config)
                .map_err(|error| ManifestError::Config {
                    plugin: self.id.clone(),
                    error,
                })?;
        }
        Ok(config.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        id = "demo"
        version = "1.2.3"
        contract = "0.1.0"
        events = ["ticket.created", "draft.review"]
    "#;

    #[test]
    fn minimal_manifest_gets_default_limits() {
        let m = Manifest::from_toml(MINIMAL).expect("valid");
        assert_eq!(m.limits, Limits::default());
        assert!(m.handles(EventKind::TicketCreated));
        assert!(!m.handles(EventKind::AgentMessageAdded));
        assert!(m.reviews_drafts());
        assert!(!m.capabilities.kv);
        assert_eq!(m.check_config(None).expect("no schema"), "{}");
    }

    #[test]
    fn capabilities_default_to_no_internal_notes_and_drafts_allowed() {
        let m = Manifest::from_toml(MINIMAL).expect("valid");
        assert_eq!(m.capabilities, Capabilities::none());
        let text =
            format!("{MINIMAL}\n[capabilities]\ninternal_messages = true\ndraft_replies = false\n");
        let m = Manifest::from_toml(&text).expect("valid");
        assert!(m.capabilities.internal_messages);
        assert!(!m.capabilities.draft_replies);
        let text = format!("{MINIMAL}\n[limits]\nmax_log_lines = 3\nmax_kv_total_bytes = 4096\n");
        let m = Manifest::from_toml(&text).expect("valid");
        assert_eq!(m.limits.max_log_lines, 3);
        assert_eq!(m.limits.kv().max_total_bytes, 4096);
        assert_eq!(
            m.limits.max_prompt_bytes,
            Limits::default().max_prompt_bytes
        );
        let text = format!("{MINIMAL}\n[limits]\nmax_log_lines = 0\n");
        let err = Manifest::from_toml(&text).expect_err("zero lines");
        assert!(err.to_string().contains("limits.max_log_lines"), "{err}");
    }

    #[test]
    fn errors_name_the_field() {
        let text = format!("{MINIMAL}\n[limits]\nmemory_mib = 4096\n");
        let err = Manifest::from_toml(&text).expect_err("too much memory");
        assert!(
            err.to_string().contains("field `limits.memory_mib`"),
            "{err}"
        );

        let text = MINIMAL.replace("0.1.0", "9.0.0");
        let err = Manifest::from_toml(&text).expect_err("unknown contract");
        assert!(err.to_string().contains("field `contract`"), "{err}");

        let text = format!("{MINIMAL}\n[capabilities]\nnetwork = \"all\"\n");
        let err = Manifest::from_toml(&text).expect_err("network");
        assert!(err.to_string().contains("capabilities.network"), "{err}");

        let err = Manifest::from_toml("id = ").expect_err("not toml");
        assert!(matches!(err, ManifestError::Toml(_)));
    }

    #[test]
    fn plugin_config_is_checked_against_its_schema() {
        let text = format!(
            "{MINIMAL}\n[config_schema]\ntype = \"object\"\nadditionalProperties = false\nproperties.threshold = {{ type = \"number\", maximum = 1 }}\n"
        );
        let m = Manifest::from_toml(&text).expect("valid");
        let ok = serde_json::json!({"threshold": 0.4});
        assert_eq!(
            m.check_config(Some(&ok)).expect("valid"),
            r#"{"threshold":0.4}"#
        );
        let bad = serde_json::json!({"threshold": 3});
        let err = m.check_config(Some(&bad)).expect_err("too big");
        assert!(err.to_string().contains("field `threshold`"), "{err}");
        let unknown = serde_json::json!({"treshold": 0.4});
        assert!(m.check_config(Some(&unknown)).is_err());
    }

    #[test]
    fn a_broken_config_schema_is_refused() {
        let text = format!("{MINIMAL}\n[config_schema]\ntype = 12\n");
        let err = Manifest::from_toml(&text).expect_err("bad schema");
        assert!(matches!(err, ManifestError::ConfigSchema(_)), "{err}");
    }
}
