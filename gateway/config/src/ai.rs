//! `[providers.NAME]`, `[ai]` and `[helpdesks.NAME.ai]`: the AI providers the operator
//! configures, the routes that send each plugin to them, and which providers may see each
//! helpdesk's tickets.
//!
//! ```toml
//! [providers.azure-eu]
//! kind = "openai"
//! base_url = "https://acme-eu.openai.azure.com"
//! azure_api_version = "2024-10-21"
//! api_key = { env = "AZURE_OPENAI_KEY" }
//! models = ["gpt-4o-mini"]
//!
//! [ai.routes]
//! suggest-reply = ["azure-eu:gpt-4o-mini", "local"]
//!
//! [helpdesks.acme.ai]
//! providers = ["azure-eu", "local"]
//! ```
//!
//! Checked here: secrets resolve, each kind has what it needs and nothing of another kind,
//! route steps parse and name configured providers, a helpdesk's allowed providers exist.
//! Whether a route stays within each plugin's manifest is checked when plugins are loaded.

use std::collections::BTreeMap;

use deskbridge_providers::{LOCAL, Target};
use serde::Deserialize;

use crate::{ConfigError, Secret, key_error};

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The Chat Completions API (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp, LM Studio).
    OpenAi,
    /// The Anthropic Messages API.
    Anthropic,
}

/// `[providers.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The API.
    pub kind: ProviderKind,
    /// Where it is.
    pub base_url: String,
    /// The key (optional for OpenAI-compatible servers that need none).
    pub api_key: Option<Secret>,
    /// Models offered; the first is the default.
    pub models: Vec<String>,
    /// `kind = "openai"`: the Azure form, with this `api-version`.
    pub azure_api_version: Option<String>,
    /// `kind = "openai"`: send `max_completion_tokens` instead of `max_tokens`.
    #[serde(default)]
    pub max_completion_tokens: bool,
    /// `kind = "anthropic"`: the `anthropic-version` header.
    pub anthropic_version: Option<String>,
    /// Longest one request may take, seconds.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
    /// Requests in flight at most.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// Requests per minute (pacing of our own).
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute (pacing of our own).
    pub tokens_per_minute: Option<u32>,
    /// Retries of a transient failure.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// The longest `Retry-After` honoured, seconds.
    #[serde(default = "default_max_retry_wait_s")]
    pub max_retry_wait_s: u64,
    /// Failed calls in a row that hold the provider off.
    #[serde(default = "default_circuit_failures")]
    pub circuit_failures: u32,
    /// How long it is held off, seconds.
    #[serde(default = "default_circuit_cooldown_s")]
    pub circuit_cooldown_s: u64,
    /// Price of a million prompt tokens.
    #[serde(default)]
    pub price_per_million_input: f64,
    /// Price of a million answer tokens.
    #[serde(default)]
    pub price_per_million_output: f64,
    /// `[providers.NAME.budget]`: every call to this provider counts.
    pub budget: Option<BudgetConfig>,
}

/// Limits per UTC day and calendar month (`None`: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Tokens per day.
    pub daily_tokens: Option<u64>,
    /// Tokens per month.
    pub monthly_tokens: Option<u64>,
    /// Money per day, in the providers' prices' currency.
    pub daily_cost: Option<f64>,
    /// Money per month.
    pub monthly_cost: Option<f64>,
}

fn default_timeout_s() -> u64 {
    60
}
fn default_max_concurrent() -> usize {
    32
}
fn default_max_retries() -> u32 {
    2
}
fn default_max_retry_wait_s() -> u64 {
    20
}
fn default_circuit_failures() -> u32 {
    5
}
fn default_circuit_cooldown_s() -> u64 {
    30
}

/// `[ai]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiConfig {
    /// Routes by plugin id (`default` for the rest), as written: `name` or `name:model`.
    pub routes: BTreeMap<String, Vec<String>>,
    /// Budgets by plugin id.
    pub budgets: BTreeMap<String, BudgetConfig>,
}

/// `[helpdesks.NAME.ai]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelpdeskAiConfig {
    /// Providers allowed to see this helpdesk's tickets (`None`: all).
    pub providers: Option<Vec<String>>,
    /// Routes by plugin id, before the gateway's.
    pub routes: BTreeMap<String, Vec<String>>,
    /// Every call for this helpdesk's tickets counts.
    pub budget: Option<BudgetConfig>,
}

/// Parses a route as configured; errors name the key.
pub fn parse_route(key: &str, steps: &[String]) -> Result<Vec<Target>, ConfigError> {
    steps
        .iter()
        .map(|step| Target::parse(step).map_err(|e| key_error(key, e)))
        .collect()
}

impl ProviderConfig {
    /// Resolves the key and checks what the schema cannot.
    pub(crate) fn resolve(
        &mut self,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let key = |field: &str| format!("providers.{name}.{field}");
        if name == LOCAL {
            return Err(key_error(
                &format!("providers.{name}"),
                "`local` is the built-in engine's name; choose another",
            ));
        }
        if let Some(secret) = &mut self.api_key {
            secret.resolve(&key("api_key"), env)?;
        }
        match self.kind {
            ProviderKind::OpenAi => {
                if self.anthropic_version.is_some() {
                    return Err(key_error(
                        &key("anthropic_version"),
                        "only for kind = \"anthropic\"",
                    ));
                }
            }
            ProviderKind::Anthropic => {
                if self.api_key.is_none() {
                    return Err(key_error(&key("api_key"), "Anthropic needs an API key"));
                }
                for (field, set) in [
                    ("azure_api_version", self.azure_api_version.is_some()),
                    ("max_completion_tokens", self.max_completion_tokens),
                ] {
                    if set {
                        return Err(key_error(&key(field), "only for kind = \"openai\""));
                    }
                }
            }
        }
        if !base_url_ok(&self.base_url) {
            return Err(key_error(
                &key("base_url"),
                format!("{:?} is not an http(s) URL with a host", self.base_url),
            ));
        }
        Ok(())
    }
}

/// Whether `url` is `http(s)://host[:port][/path]` with no query, fragment or credentials
/// (a key in the URL would end up in logs).
fn base_url_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    !host.is_empty() && !host.contains('@') && !url.contains(['?', '#', ' '])
}

/// Checks routes and allowed providers against the configured providers.
pub(crate) fn check(
    providers: &BTreeMap<String, ProviderConfig>,
    ai: &AiConfig,
    helpdesks: &[(&str, &HelpdeskAiConfig)],
) -> Result<(), ConfigError> {
    let known = |name: &str| name == LOCAL || providers.contains_key(name);
    let configured = || {
        std::iter::once(LOCAL)
            .chain(providers.keys().map(String::as_str))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let check_routes = |prefix: &str, routes: &BTreeMap<String, Vec<String>>| {
        for (plugin, steps) in routes {
            let key = format!("{prefix}.{plugin}");
            for target in parse_route(&key, steps)? {
                if !known(&target.provider) {
                    return Err(key_error(
                        &key,
                        format!(
                            "no provider `{}` is configured (configured: {})",
                            target.provider,
                            configured()
                        ),
                    ));
                }
                if let (Some(model), Some(provider)) =
                    (&target.model, providers.get(&target.provider))
                    && !provider.models.contains(model)
                {
                    return Err(key_error(
                        &key,
                        format!(
                            "provider `{}` offers no model `{model}` (its models: {})",
                            target.provider,
                            provider.models.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    };
    check_routes("ai.routes", &ai.routes)?;
    for (name, helpdesk) in helpdesks {
        check_routes(&format!("helpdesks.{name}.ai.routes"), &helpdesk.routes)?;
        for provider in helpdesk.providers.iter().flatten() {
            if !known(provider) {
                return Err(key_error(
                    &format!("helpdesks.{name}.ai.providers"),
                    format!(
                        "no provider `{provider}` is configured (configured: {})",
                        configured()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn parse(text: &str) -> Result<Config, crate::ConfigError> {
        Config::parse(text, &|name| {
            (name == "OPENAI_KEY").then(|| "sk-test".to_owned())
        })
    }

    const PROVIDERS: &str = r#"
[providers.azure-eu]
kind = "openai"
base_url = "https://acme-eu.openai.azure.com"
azure_api_version = "2024-10-21"
api_key = { env = "OPENAI_KEY" }
models = ["gpt-4o-mini", "gpt-4o"]
max_concurrent = 8
requests_per_minute = 600
price_per_million_input = 0.15

[providers.claude]
kind = "anthropic"
base_url = "https://api.anthropic.com"
api_key = "sk-ant-test"
models = ["claude-sonnet-4-5"]

[providers.ollama]
kind = "openai"
base_url = "http://127.0.0.1:11434"
models = ["llama3.1"]
"#;

    #[test]
    fn providers_routes_and_residency_parse() {
        let text = format!(
            "{PROVIDERS}\n[ai.routes]\ndefault = [\"local\"]\nsuggest-reply = [\"azure-eu:gpt-4o\", \"claude\", \"local\"]\n"
        );
        let config = parse(&text).expect("valid");
        let azure = &config.providers["azure-eu"];
        assert_eq!(azure.api_key.as_ref().map(|k| k.reveal()), Some("sk-test"));
        assert_eq!(azure.max_concurrent, 8);
        assert_eq!(azure.timeout_s, 60, "default");
        assert_eq!(config.ai.routes["suggest-reply"].len(), 3);
        assert!(config.providers["ollama"].api_key.is_none());
    }

    #[test]
    fn mistakes_are_named_by_key() {
        let cases = [
            (
                format!("{PROVIDERS}\n[ai.routes]\nsuggest-reply = [\"azure\"]\n"),
                "ai.routes.suggest-reply",
                "no provider `azure`",
            ),
            (
                format!("{PROVIDERS}\n[ai.routes]\nsuggest-reply = [\"claude:gpt-4o\"]\n"),
                "ai.routes.suggest-reply",
                "offers no model `gpt-4o`",
            ),
            (
                "[providers.local]\nkind = \"openai\"\nbase_url = \"http://x\"\nmodels = [\"m\"]\n"
                    .to_owned(),
                "providers",
                "",
            ),
            (
                "[providers.c]\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\nmodels = [\"m\"]\n"
                    .to_owned(),
                "providers.c.api_key",
                "needs an API key",
            ),
            (
                "[providers.o]\nkind = \"openai\"\nbase_url = \"https://user:pw@x.com\"\nmodels = [\"m\"]\n"
                    .to_owned(),
                "providers.o.base_url",
                "not an http(s) URL",
            ),
            (
                "[providers.o]\nkind = \"openai\"\nbase_url = \"https://x.com\"\nmodels = [\"m\"]\nanthropic_version = \"1\"\n"
                    .to_owned(),
                "providers.o.anthropic_version",
                "only for kind",
            ),
            (
                "[providers.o]\nkind = \"openai\"\nbase_url = \"https://x.com\"\nmodels = [\"m\"]\napi_key = { env = \"NOPE\" }\n"
                    .to_owned(),
                "providers.o.api_key",
                "NOPE",
            ),
            (
                "[providers.o]\nkind = \"openai\"\nbase_url = \"https://x.com\"\nmodels = [\"m\"]\nmodel = \"typo\"\n"
                    .to_owned(),
                "model",
                "",
            ),
            (
                format!(
                    "{PROVIDERS}\n[helpdesks.acme]\nkind = \"generic\"\nwebhook_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n[helpdesks.acme.ai]\nproviders = [\"azure\"]\n"
                ),
                "helpdesks.acme.ai.providers",
                "no provider `azure`",
            ),
            (
                format!(
                    "{PROVIDERS}\n[helpdesks.acme]\nkind = \"generic\"\nwebhook_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n[helpdesks.acme.ai.routes]\nsummarize = [\"Local\"]\n"
                ),
                "helpdesks.acme.ai.routes",
                "",
            ),
        ];
        for (text, key, words) in cases {
            let error = parse(&text).expect_err(key).to_string();
            assert!(error.contains(key), "{key}: {error}");
            assert!(error.contains(words), "{key}: {error}");
        }
    }

    #[test]
    fn redaction_patterns_that_cannot_work_stop_the_start_naming_the_pattern() {
        let config =
            parse("[redaction]\npatterns = [{ name = \"order\", regex = \"AB-[0-9]{6}\" }]")
                .expect("valid");
        assert_eq!(config.redaction.patterns.len(), 1);
        let error = parse(
            "[redaction]\npatterns = [{ name = \"ok\", regex = \"X\" }, { name = \"order\", regex = \"[0-9]*\" }]",
        )
        .expect_err("matches nothing");
        let text = error.to_string();
        assert!(text.contains("redaction.patterns[1]"), "{text}");
        assert!(
            text.contains("`order`") && text.contains("empty string"),
            "{text}"
        );
        let error = parse("[redaction]\npatterns = [{ name = \"Order\", regex = \"X\" }]")
            .expect_err("name");
        assert!(error.to_string().contains("redaction.patterns"), "{error}");
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let config = parse(PROVIDERS).expect("valid");
        let shown = format!("{:?}", config.providers);
        assert!(
            !shown.contains("sk-test") && !shown.contains("sk-ant-test"),
            "{shown}"
        );
    }
}
