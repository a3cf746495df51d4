//! The Chat Completions API: OpenAI, Azure OpenAI, and the servers that speak its `/v1` shape
//! (vLLM, Ollama, llama.cpp's server, LM Studio).
//!
//! `POST {base}/v1/chat/completions` with `Authorization: Bearer KEY` (no header when no key is
//! configured: local servers need none), body `model`, `messages`, and `max_tokens` — or
//! `max_completion_tokens`, which newer OpenAI models require (`max_tokens_field`). The Azure
//! form is `POST {base}/openai/deployments/{deployment}/chat/completions?api-version=…` with an
//! `api-key` header; the deployment is the model name. The answer's
//! `choices[0].message.content`, `finish_reason` and `usage` are read; a refusal (`content`
//! null, `refusal` set) is a bad answer, never an empty draft. The `x-ratelimit-remaining-*`
//! and `x-ratelimit-reset-*` headers (durations like `6m0s`) become a [`Quota`].

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::http::{self, Reply};
use crate::{
    AiProvider, Answered, BoxFuture, ChatRole, Completion, CompletionRequest, FailureKind,
    ProviderError, Quota, Usage,
};

/// Which URL and auth shape the endpoint uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenAiFlavor {
    /// `{base}/v1/chat/completions`, bearer auth.
    Standard,
    /// Azure OpenAI: deployment path, `api-version` query, `api-key` header.
    Azure {
        /// The `api-version` query value, e.g. `2024-10-21`.
        api_version: String,
    },
}

/// How to reach one OpenAI-compatible endpoint.
#[derive(Clone)]
pub struct OpenAiSettings {
    /// The provider's name in the config.
    pub name: String,
    /// The base URL, e.g. `https://api.openai.com` or `http://localhost:11434`.
    pub base_url: String,
    /// The API key (`None`: no auth header).
    pub api_key: Option<String>,
    /// URL and auth shape.
    pub flavor: OpenAiFlavor,
    /// Models offered; the first is the default. On Azure these are deployment names.
    pub models: Vec<String>,
    /// Send the token cap as `max_completion_tokens` instead of `max_tokens`.
    pub max_completion_tokens: bool,
}

impl std::fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiSettings")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("flavor", &self.flavor)
            .field("models", &self.models)
            .finish()
    }
}

/// An OpenAI-compatible provider.
#[derive(Debug)]
pub struct OpenAiProvider {
    settings: OpenAiSettings,
    client: reqwest::Client,
}

impl OpenAiProvider {
    /// A provider for `settings`; refuses an empty model list.
    pub fn new(settings: OpenAiSettings) -> Result<OpenAiProvider, ProviderError> {
        if settings.models.is_empty() {
            return Err(ProviderError::new(
                &settings.name,
                FailureKind::BadRequest,
                "no model configured (models = [...])",
            ));
        }
        let client = http::client(&settings.name)?;
        Ok(OpenAiProvider { settings, client })
    }

    fn url(&self, model: &str) -> String {
        let base = self.settings.base_url.trim_end_matches('/');
        match &self.settings.flavor {
            OpenAiFlavor::Standard => http::v1_url(base, "chat/completions"),
            OpenAiFlavor::Azure { api_version } => format!(
                "{base}/openai/deployments/{}/chat/completions?api-version={}",
                encode(model),
                encode(api_version)
            ),
        }
    }

    fn body(&self, model: &str, request: &CompletionRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                json!({
                    "role": match m.role {
                        ChatRole::System => "system",
                        ChatRole::User => "user",
                        ChatRole::Assistant => "assistant",
                    },
                    "content": m.content,
                })
            })
            .collect();
        let mut body = json!({ "messages": messages });
        if self.settings.flavor == OpenAiFlavor::Standard {
            body["model"] = json!(model);
        }
        let cap = if self.settings.max_completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body[cap] = json!(request.max_tokens);
        body
    }

    async fn call(
        &self,
        request: CompletionRequest,
        timeout: Duration,
    ) -> Result<Answered, ProviderError> {
        let name = &self.settings.name;
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| self.default_model().to_owned());
        let mut builder = self
            .client
            .post(self.url(&model))
            .header("content-type", "application/json")
            .body(http::json_body(&self.body(&model, &request)));
        if let Some(key) = &self.settings.api_key {
            builder = match self.settings.flavor {
                OpenAiFlavor::Standard => builder.bearer_auth(key),
                OpenAiFlavor::Azure { .. } => builder.header("api-key", key),
            };
        }
        let reply = http::send(name, builder, timeout).await?;
        let quota = quota(&reply.headers);
        if !reply.status.is_success() {
            let mut error = http::failure(name, &reply);
            if reply.status.as_u16() == 429 && error.retry_after.is_none() {
                error.retry_after = quota.reset_after;
            }
            // OpenAI answers an unknown model with 404 `model_not_found`; any other 404 is
            // a wrong base URL, which is the operator's to fix too.
            return Err(error);
        }
        let completion = parse_answer(name, &model, &reply)?;
        Ok(Answered { completion, quota })
    }
}

impl AiProvider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn default_model(&self) -> &str {
        // `new` refuses an empty list.
        self.settings.models.first().map_or("", String::as_str)
    }

    fn models(&self) -> Vec<String> {
        self.settings.models.clone()
    }

    fn complete(
        &self,
        request: CompletionRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Answered, ProviderError>> {
        Box::pin(self.call(request, timeout))
    }
}

fn parse_answer(provider: &str, asked: &str, reply: &Reply) -> Result<Completion, ProviderError> {
    let bad = |what: &str| ProviderError::new(provider, FailureKind::BadAnswer, what.to_owned());
    let choice = &reply.body["choices"][0];
    let message = &choice["message"];
    let text = match (&message["content"], &message["refusal"]) {
        (Value::String(text), _) => text.clone(),
        // Newer servers may answer with content parts.
        (Value::Array(parts), _) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        (_, Value::String(refusal)) => {
            return Err(bad(&format!(
                "the model refused: {}",
                refusal.chars().take(200).collect::<String>()
            )));
        }
        _ => return Err(bad("the answer has no choices[0].message.content")),
    };
    let usage = &reply.body["usage"];
    let usage = match (
        usage["prompt_tokens"].as_u64(),
        usage["completion_tokens"].as_u64(),
    ) {
        (Some(input), Some(output)) => Some(Usage {
            input_tokens: u32::try_from(input).unwrap_or(u32::MAX),
            output_tokens: u32::try_from(output).unwrap_or(u32::MAX),
        }),
        _ => None,
    };
    Ok(Completion {
        text,
        model: reply.body["model"].as_str().unwrap_or(asked).to_owned(),
        usage,
        finish_reason: choice["finish_reason"].as_str().map(str::to_owned),
    })
}

/// The `x-ratelimit-*` headers.
fn quota(headers: &HeaderMap) -> Quota {
    let requests_remaining = http::number(headers, "x-ratelimit-remaining-requests");
    let tokens_remaining = http::number(headers, "x-ratelimit-remaining-tokens");
    let reset = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_reset)
    };
    let reset_after = match (requests_remaining, tokens_remaining) {
        (Some(0), _) => reset("x-ratelimit-reset-requests"),
        (_, Some(0)) => reset("x-ratelimit-reset-tokens"),
        _ => None,
    };
    Quota {
        requests_remaining,
        tokens_remaining,
        reset_after,
    }
}

/// OpenAI's reset durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`.
fn parse_reset(text: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return None;
        };
        total += value * unit;
        rest = &rest[len..];
    }
    (total.is_finite() && total < 1e7).then(|| Duration::from_secs_f64(total))
}

/// Percent-encodes a path or query component (deployment names and API versions are plain,
/// but a config value must not be able to add a path segment or a parameter).
fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for byte in component.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(flavor: OpenAiFlavor) -> OpenAiProvider {
        OpenAiProvider::new(OpenAiSettings {
            name: "main".into(),
            base_url: "https://example.openai.azure.com/".into(),
            api_key: Some("secret-key".into()),
            flavor,
            models: vec!["gpt-4o-mini".into()],
            max_completion_tokens: false,
        })
        .expect("provider")
    }

    #[test]
    fn urls_follow_each_flavor() {
        assert_eq!(
            provider(OpenAiFlavor::Standard).url("gpt-4o-mini"),
            "https://example.openai.azure.com/v1/chat/completions"
        );
        let azure = provider(OpenAiFlavor::Azure {
            api_version: "2024-10-21".into(),
        });
        assert_eq!(
            azure.url("my deployment/../x"),
            "https://example.openai.azure.com/openai/deployments/my%20deployment%2F..%2Fx/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn reset_durations_parse_as_openai_writes_them() {
        assert_eq!(parse_reset("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_reset("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_reset("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(
            parse_reset("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_reset("soon"), None);
        assert_eq!(parse_reset(""), None);
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let shown = format!("{:?}", provider(OpenAiFlavor::Standard));
        assert!(!shown.contains("secret-key"), "{shown}");
    }
}
