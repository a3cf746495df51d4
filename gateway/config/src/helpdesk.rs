//! `[helpdesks.NAME]`: one table per helpdesk instance, tagged by `kind`.

use deskbridge_core::{TagPattern, WritePolicy};
use serde::Deserialize;

use crate::email::EmailConfig;
use crate::{ConfigError, HelpdeskAiConfig, KnowledgeConfig, Secret, key_error};

/// Shortest webhook secret accepted unless `[ingest] allow_short_webhook_secrets` is set.
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 16;

/// One helpdesk instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum HelpdeskConfig {
    /// Zendesk Support.
    Zendesk(ZendeskConfig),
    /// Freshdesk.
    Freshdesk(FreshdeskConfig),
    /// Any other helpdesk posting normalized events.
    Generic(GenericConfig),
    /// A support mailbox over IMAP and SMTP.
    Email(Box<EmailConfig>),
}

/// A Zendesk instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// `https://{subdomain}.zendesk.com`.
    pub base_url: String,
    /// Agent email for API-token auth.
    pub email: Option<String>,
    /// API token (with `email`).
    pub api_token: Option<Secret>,
    /// OAuth access token (instead of `email` + `api_token`).
    pub oauth_token: Option<Secret>,
    /// The webhook's signing secret.
    pub webhook_secret: Secret,
    /// Plugins for this instance; all loaded plugins when absent.
    pub plugins: Option<Vec<String>>,
    /// A line appended to every AI-drafted reply (part of the text agents approve).
    pub ai_disclosure: Option<String>,
    /// Tags plugins may write on their own (patterns); `None`: only `deskbridge*`.
    pub allowed_tags: Option<Vec<String>>,
    /// Whether plugins may change priority on their own.
    #[serde(default)]
    pub allow_priority: bool,
    /// Requests per minute to this instance.
    #[serde(default = "zendesk_rate")]
    pub rate_limit_per_minute: u32,
    /// Timeout of one API request, milliseconds.
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    /// `[helpdesks.NAME.ai]`.
    #[serde(default)]
    pub ai: HelpdeskAiConfig,
    /// `[helpdesks.NAME.knowledge]`; none when absent.
    pub knowledge: Option<KnowledgeConfig>,
}

/// A Freshdesk instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshdeskConfig {
    /// `https://{domain}.freshdesk.com`.
    pub base_url: String,
    /// The API key.
    pub api_key: Secret,
    /// How webhooks authenticate.
    pub webhook_auth: FreshdeskWebhookAuth,
    /// Plugins for this instance; all loaded plugins when absent.
    pub plugins: Option<Vec<String>>,
    /// A line appended to every AI-drafted reply (part of the text agents approve).
    pub ai_disclosure: Option<String>,
    /// Tags plugins may write on their own (patterns); `None`: only `deskbridge*`.
    pub allowed_tags: Option<Vec<String>>,
    /// Whether plugins may change priority on their own.
    #[serde(default)]
    pub allow_priority: bool,
    /// Requests per minute to this instance.
    #[serde(default = "freshdesk_rate")]
    pub rate_limit_per_minute: u32,
    /// Timeout of one API request, milliseconds.
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    /// `[helpdesks.NAME.ai]`.
    #[serde(default)]
    pub ai: HelpdeskAiConfig,
    /// `[helpdesks.NAME.knowledge]`; none when absent.
    pub knowledge: Option<KnowledgeConfig>,
}

/// How Freshdesk's unsigned webhooks authenticate.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum FreshdeskWebhookAuth {
    /// HTTP basic auth (set in the automation's webhook "Requires authentication").
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// A custom header carrying a shared secret.
    Header {
        /// Header name.
        name: String,
        /// Expected value.
        value: Secret,
    },
    /// No authentication (must be written `anonymous = true`).
    Anonymous(bool),
}

/// A generic helpdesk posting normalized events signed in the Standard Webhooks style.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericConfig {
    /// The signing secret, `whsec_` + base64.
    pub webhook_secret: Secret,
    /// Plugins for this instance; all loaded plugins when absent.
    pub plugins: Option<Vec<String>>,
    /// A line appended to every AI-drafted reply (part of the text agents approve).
    pub ai_disclosure: Option<String>,
    /// Tags plugins may write on their own (patterns); `None`: only `deskbridge*`.
    pub allowed_tags: Option<Vec<String>>,
    /// Whether plugins may change priority on their own.
    #[serde(default)]
    pub allow_priority: bool,
    /// Unused for now (generic helpdesks get no API calls); accepted for symmetry.
    #[serde(default = "zendesk_rate")]
    pub rate_limit_per_minute: u32,
    /// Unused for now.
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    /// `[helpdesks.NAME.ai]`.
    #[serde(default)]
    pub ai: HelpdeskAiConfig,
    /// `[helpdesks.NAME.knowledge]`; none when absent.
    pub knowledge: Option<KnowledgeConfig>,
}

/// Zendesk's smallest plan allows 200 requests a minute.
fn zendesk_rate() -> u32 {
    200
}

/// Freshdesk's smallest paid plan allows 200 a minute too.
fn freshdesk_rate() -> u32 {
    200
}

fn default_timeout() -> u64 {
    10_000
}

impl HelpdeskConfig {
    /// The plugin ids configured for the instance (empty when it takes all).
    pub fn plugin_ids(&self) -> &[String] {
        let plugins = match self {
            HelpdeskConfig::Zendesk(c) => &c.plugins,
            HelpdeskConfig::Freshdesk(c) => &c.plugins,
            HelpdeskConfig::Generic(c) => &c.plugins,
            HelpdeskConfig::Email(c) => &c.plugins,
        };
        plugins.as_deref().unwrap_or(&[])
    }

    /// What plugins may write to this helpdesk's tickets on their own (checked at load).
    pub fn write_policy(&self) -> WritePolicy {
        let (tags, priority) = match self {
            HelpdeskConfig::Zendesk(c) => (&c.allowed_tags, c.allow_priority),
            HelpdeskConfig::Freshdesk(c) => (&c.allowed_tags, c.allow_priority),
            HelpdeskConfig::Generic(c) => (&c.allowed_tags, c.allow_priority),
            // An email ticket has no priority.
            HelpdeskConfig::Email(c) => (&c.allowed_tags, false),
        };
        match tags {
            None => WritePolicy {
                priority,
                ..WritePolicy::default()
            },
            Some(patterns) => WritePolicy {
                tags: patterns
                    .iter()
                    .filter_map(|p| TagPattern::parse(p).ok())
                    .collect(),
                priority,
            },
        }
    }

    /// The origin of the helpdesk's own web pages (`None` for a generic helpdesk): the agent
    /// interface that may embed the console's per-ticket view.
    pub fn web_origin(&self) -> Option<String> {
        match self {
            HelpdeskConfig::Zendesk(c) => crate::origin_of(&c.base_url),
            HelpdeskConfig::Freshdesk(c) => crate::origin_of(&c.base_url),
            HelpdeskConfig::Generic(_) | HelpdeskConfig::Email(_) => None,
        }
    }

    /// `[helpdesks.NAME.ai]`: allowed providers and routes.
    pub fn ai(&self) -> &HelpdeskAiConfig {
        match self {
            HelpdeskConfig::Zendesk(c) => &c.ai,
            HelpdeskConfig::Freshdesk(c) => &c.ai,
            HelpdeskConfig::Generic(c) => &c.ai,
            HelpdeskConfig::Email(c) => &c.ai,
        }
    }

    /// `[helpdesks.NAME.knowledge]`, if the helpdesk has a knowledge base.
    pub fn knowledge(&self) -> Option<&KnowledgeConfig> {
        match self {
            HelpdeskConfig::Zendesk(c) => c.knowledge.as_ref(),
            HelpdeskConfig::Freshdesk(c) => c.knowledge.as_ref(),
            HelpdeskConfig::Generic(c) => c.knowledge.as_ref(),
            HelpdeskConfig::Email(c) => c.knowledge.as_ref(),
        }
    }

    /// The knowledge config to change (anchoring its folder to the config file).
    pub(crate) fn knowledge_mut(&mut self) -> Option<&mut KnowledgeConfig> {
        match self {
            HelpdeskConfig::Zendesk(c) => c.knowledge.as_mut(),
            HelpdeskConfig::Freshdesk(c) => c.knowledge.as_mut(),
            HelpdeskConfig::Generic(c) => c.knowledge.as_mut(),
            HelpdeskConfig::Email(c) => c.knowledge.as_mut(),
        }
    }

    /// Whether the helpdesk has an API the gateway can sync knowledge from (Zendesk and
    /// Freshdesk; not a generic helpdesk or a mailbox).
    pub fn has_api(&self) -> bool {
        matches!(
            self,
            HelpdeskConfig::Zendesk(_) | HelpdeskConfig::Freshdesk(_)
        )
    }

    /// The line appended to AI-drafted replies, if any.
    pub fn ai_disclosure(&self) -> Option<&str> {
        match self {
            HelpdeskConfig::Zendesk(c) => c.ai_disclosure.as_deref(),
            HelpdeskConfig::Freshdesk(c) => c.ai_disclosure.as_deref(),
            HelpdeskConfig::Generic(c) => c.ai_disclosure.as_deref(),
            HelpdeskConfig::Email(c) => c.ai_disclosure.as_deref(),
        }
    }

    /// Whether the instance names its plugins (otherwise it takes all loaded ones).
    pub fn names_plugins(&self) -> bool {
        match self {
            HelpdeskConfig::Zendesk(c) => c.plugins.is_some(),
            HelpdeskConfig::Freshdesk(c) => c.plugins.is_some(),
            HelpdeskConfig::Generic(c) => c.plugins.is_some(),
            HelpdeskConfig::Email(c) => c.plugins.is_some(),
        }
    }

    /// Requests per minute.
    pub fn rate_limit_per_minute(&self) -> u32 {
        match self {
            HelpdeskConfig::Zendesk(c) => c.rate_limit_per_minute,
            HelpdeskConfig::Freshdesk(c) => c.rate_limit_per_minute,
            HelpdeskConfig::Generic(c) => c.rate_limit_per_minute,
            // Writes to a mailbox are local (notes, tags) or one SMTP send per reply.
            HelpdeskConfig::Email(_) => 600,
        }
    }

    /// Request timeout.
    pub fn request_timeout(&self) -> std::time::Duration {
        let ms = match self {
            HelpdeskConfig::Zendesk(c) => c.request_timeout_ms,
            HelpdeskConfig::Freshdesk(c) => c.request_timeout_ms,
            HelpdeskConfig::Generic(c) => c.request_timeout_ms,
            HelpdeskConfig::Email(c) => c.smtp.timeout_s.saturating_mul(1000),
        };
        std::time::Duration::from_millis(ms)
    }

    /// Resolves secrets and checks what the schema cannot: tag patterns, and (unless
    /// `allow_short_secrets`) that every webhook secret has at least
    /// [`MIN_WEBHOOK_SECRET_BYTES`].
    pub(crate) fn resolve(
        &mut self,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
        allow_short_secrets: bool,
    ) -> Result<(), ConfigError> {
        let key = |field: &str| format!("helpdesks.{name}.{field}");
        if let Some(knowledge) = self.knowledge() {
            knowledge.check(name, self.has_api())?;
        }
        let tags = match self {
            HelpdeskConfig::Zendesk(c) => &c.allowed_tags,
            HelpdeskConfig::Freshdesk(c) => &c.allowed_tags,
            HelpdeskConfig::Generic(c) => &c.allowed_tags,
            HelpdeskConfig::Email(c) => &c.allowed_tags,
        };
        for pattern in tags.iter().flatten() {
            TagPattern::parse(pattern)
                .map_err(|e| key_error(&key("allowed_tags"), e.to_string()))?;
        }
        let strong = |field: &str, bytes: usize| -> Result<(), ConfigError> {
            if allow_short_secrets || bytes >= MIN_WEBHOOK_SECRET_BYTES {
                Ok(())
            } else {
                Err(key_error(
                    &key(field),
                    format!(
                        "a webhook secret of {bytes} bytes can be guessed: use at least {MIN_WEBHOOK_SECRET_BYTES} random bytes (or set [ingest] allow_short_webhook_secrets = true in a test config)"
                    ),
                ))
            }
        };
        match self {
            HelpdeskConfig::Zendesk(c) => {
                for (field, secret) in [
                    ("api_token", &mut c.api_token),
                    ("oauth_token", &mut c.oauth_token),
                ] {
                    if let Some(secret) = secret {
                        secret.resolve(&key(field), env)?;
                    }
                }
                c.webhook_secret.resolve(&key("webhook_secret"), env)?;
                strong("webhook_secret", c.webhook_secret.reveal().len())?;
                if c.email.is_some() != c.api_token.is_some() {
                    return Err(key_error(
                        &key("api_token"),
                        "`email` and `api_token` go together",
                    ));
                }
            }
            HelpdeskConfig::Freshdesk(c) => {
                c.api_key.resolve(&key("api_key"), env)?;
                match &mut c.webhook_auth {
                    FreshdeskWebhookAuth::Basic { password, .. } => {
                        password.resolve(&key("webhook_auth.basic.password"), env)?;
                        strong("webhook_auth.basic.password", password.reveal().len())?;
                    }
                    FreshdeskWebhookAuth::Header { value, .. } => {
                        value.resolve(&key("webhook_auth.header.value"), env)?;
                        strong("webhook_auth.header.value", value.reveal().len())?;
                    }
                    FreshdeskWebhookAuth::Anonymous(true) => {}
                    FreshdeskWebhookAuth::Anonymous(false) => {
                        return Err(key_error(
                            &key("webhook_auth.anonymous"),
                            "must be `true` when present; choose basic or header auth otherwise",
                        ));
                    }
                }
            }
            HelpdeskConfig::Generic(c) => {
                c.webhook_secret.resolve(&key("webhook_secret"), env)?;
                let decoded =
                    deskbridge_webhook_auth::standard::decode_secret(c.webhook_secret.reveal())
                        .map_err(|e| key_error(&key("webhook_secret"), e.to_string()))?;
                strong("webhook_secret", decoded.len())?;
            }
            HelpdeskConfig::Email(c) => c.resolve(name, env)?,
        }
        Ok(())
    }
}
