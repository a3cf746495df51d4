//! The Anthropic Messages API.
//!
//! `POST {base}/v1/messages` with `x-api-key` and `anthropic-version` (default `2023-06-01`);
//! body `model`, `max_tokens` (required by the API), `system` (the request's system messages,
//! joined: Anthropic takes instructions as a top-level field, never as a message) and
//! `messages` with the roles `user` and `assistant`, consecutive turns of one role merged. The
//! answer's `content` text blocks are joined; `stop_reason` and `usage.input_tokens` /
//! `output_tokens` are read. `529 overloaded_error` is an overload, not a server error, and
//! the `anthropic-ratelimit-*-remaining` and `-reset` (RFC 3339) headers become a [`Quota`].

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::http::{self, Reply};
use crate::{
    AiProvider, Answered, BoxFuture, ChatRole, Completion, CompletionRequest, FailureKind,
    ProviderError, Quota, Usage,
};

/// The API version the adapter speaks unless configured otherwise.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How to reach Anthropic (or a compatible endpoint).
#[derive(Clone)]
pub struct AnthropicSettings {
    /// The provider's name in the config.
    pub name: String,
    /// The base URL, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    /// The API key.
    pub api_key: String,
    /// The `anthropic-version` header.
    pub version: String,
    /// Models offered; the first is the default.
    pub models: Vec<String>,
}

impl std::fmt::Debug for AnthropicSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicSettings")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &"***")
            .field("version", &self.version)
            .field("models", &self.models)
            .finish()
    }
}

/// An Anthropic provider.
#[derive(Debug)]
pub struct AnthropicProvider {
    settings: AnthropicSettings,
    client: reqwest::Client,
}

impl AnthropicProvider {
    /// A provider for `settings`; refuses an empty model list.
    pub fn new(settings: AnthropicSettings) -> Result<AnthropicProvider, ProviderError> {
        if settings.models.is_empty() {
            return Err(ProviderError::new(
                &settings.name,
                FailureKind::BadRequest,
                "no model configured (models = [...])",
            ));
        }
        let client = http::client(&settings.name)?;
        Ok(AnthropicProvider { settings, client })
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
        let body = body(name, &model, &request)?;
        let builder = self
            .client
            .post(http::v1_url(&self.settings.base_url, "messages"))
            .header("content-type", "application/json")
            .header("x-api-key", &self.settings.api_key)
            .header("anthropic-version", &self.settings.version)
            .body(http::json_body(&body));
        let reply = http::send(name, builder, timeout).await?;
        let quota = quota(&reply.headers);
        if !reply.status.is_success() {
            return Err(http::failure(name, &reply));
        }
        let completion = parse_answer(name, &model, &reply)?;
        Ok(Answered { completion, quota })
    }
}

impl AiProvider for AnthropicProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn default_model(&self) -> &str {
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

/// The Messages API body: system text apart, turns merged by role.
fn body(provider: &str, model: &str, request: &CompletionRequest) -> Result<Value, ProviderError> {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == ChatRole::System)
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(&str, String)> = Vec::new();
    for message in request
        .messages
        .iter()
        .filter(|m| m.role != ChatRole::System)
    {
        let role = if message.role == ChatRole::User {
            "user"
        } else {
            "assistant"
        };
        match turns.last_mut() {
            Some((last, text)) if *last == role => {
                text.push_str("\n\n");
                text.push_str(&message.content);
            }
            _ => turns.push((role, message.content.clone())),
        }
    }
    if turns.first().is_none_or(|(role, _)| *role != "user") {
        return Err(ProviderError::new(
            provider,
            FailureKind::BadRequest,
            "the conversation must start with a user message",
        ));
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect();
    let mut body = json!({
        "model": model,
        "max_tokens": request.max_tokens.max(1),
        "messages": messages,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    Ok(body)
}

fn parse_answer(provider: &str, asked: &str, reply: &Reply) -> Result<Completion, ProviderError> {
    let Some(blocks) = reply.body["content"].as_array() else {
        return Err(ProviderError::new(
            provider,
            FailureKind::BadAnswer,
            "the answer has no content blocks",
        ));
    };
    let text: String = blocks
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join("");
    let usage = &reply.body["usage"];
    let usage = match (
        usage["input_tokens"].as_u64(),
        usage["output_tokens"].as_u64(),
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
        finish_reason: reply.body["stop_reason"].as_str().map(str::to_owned),
    })
}

/// The `anthropic-ratelimit-*` headers.
fn quota(headers: &HeaderMap) -> Quota {
    let requests_remaining = http::number(headers, "anthropic-ratelimit-requests-remaining");
    let tokens_remaining = http::number(headers, "anthropic-ratelimit-tokens-remaining")
        .or_else(|| http::number(headers, "anthropic-ratelimit-input-tokens-remaining"));
    let reset = |name: &str| {
        let at = headers.get(name)?.to_str().ok()?;
        let at =
            time::OffsetDateTime::parse(at.trim(), &time::format_description::well_known::Rfc3339)
                .ok()?;
        let wait = at - time::OffsetDateTime::now_utc();
        Duration::try_from(wait).ok()
    };
    let reset_after = match (requests_remaining, tokens_remaining) {
        (Some(0), _) => reset("anthropic-ratelimit-requests-reset"),
        (_, Some(0)) => reset("anthropic-ratelimit-tokens-reset")
            .or_else(|| reset("anthropic-ratelimit-input-tokens-reset")),
        _ => None,
    };
    Quota {
        requests_remaining,
        tokens_remaining,
        reset_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    fn message(role: ChatRole, content: &str) -> ChatMessage {
        ChatMessage {
            role,
            content: content.into(),
        }
    }

    #[test]
    fn system_text_is_a_field_and_turns_of_one_role_are_merged() {
        let request = CompletionRequest {
            model: None,
            messages: vec![
                message(ChatRole::System, "Be brief."),
                message(ChatRole::User, "Ticket:"),
                message(ChatRole::User, "Where is my order?"),
                message(ChatRole::System, "Sign as the team."),
            ],
            max_tokens: 0,
        };
        let body = body("a", "claude-x", &request).expect("body");
        assert_eq!(body["system"], "Be brief.\n\nSign as the team.");
        assert_eq!(body["max_tokens"], 1, "the API requires at least one");
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": "Ticket:\n\nWhere is my order?"}])
        );
    }

    #[test]
    fn a_conversation_without_a_user_turn_first_is_refused_before_sending() {
        let request = CompletionRequest {
            model: None,
            messages: vec![message(ChatRole::Assistant, "Hello")],
            max_tokens: 10,
        };
        let err = body("a", "claude-x", &request).expect_err("refused");
        assert_eq!(err.kind, FailureKind::BadRequest);
    }
}
