//! Anthropic Messages as the API reference describes it.
//!
//! - `POST /v1/messages` with `x-api-key: KEY` and `anthropic-version` (required: `2023-06-01`
//!   or `2023-01-01`); `GET /v1/models` and `GET /v1/models/{model}`.
//! - Body: `model`, `max_tokens` (required, integer ≥ 1), `messages` (non-empty; roles `user`
//!   and `assistant` — a `system` role is the reference's 400, the system prompt is the
//!   top-level `system`; content a string or an array of `{type: "text", text}` blocks, the
//!   simulator serves text only; no empty content but in a final assistant message),
//!   `system` (a string or an array of text blocks), `stop_sequences` (strings), `stream`
//!   (only `false`: the simulator does not stream). Other keys are tolerated, where the real
//!   API rejects them.
//! - Success: `{"id": "msg_…", "type": "message", "role": "assistant", "model", "content":
//!   [{"type": "text", "text"}], "stop_reason": "end_turn" | "max_tokens" | "stop_sequence",
//!   "stop_sequence", "usage": {"input_tokens", "output_tokens", …}}`.
//! - Errors: `{"type": "error", "error": {"type", "message"}, "request_id"}` with the
//!   reference's types per status (400 `invalid_request_error`, 401 `authentication_error`,
//!   403 `permission_error`, 404 `not_found_error`, 413 `request_too_large`, 429
//!   `rate_limit_error`, 500 `api_error`, 529 `overloaded_error`); messages in the API's
//!   `field: problem` style.
//!
//! Every answer carries `request-id` and, per configured limit,
//! `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (reset as RFC 3339: when the
//! bucket is full again).

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::limits::{Refusal, Snapshot};
use super::text::{Stop, estimate_tokens};
use super::{AiSim, Answer, Api, ApiError, Op, Prompt, chars_of, serve};

/// The `anthropic-version` values the API knows.
const VERSIONS: [&str; 2] = ["2023-06-01", "2023-01-01"];
const RATE_LIMIT_DOCS: &str = "For details, refer to: https://docs.claude.com/en/api/rate-limits. \
     You can see the response headers for current usage. Please reduce the prompt length or the \
     maximum tokens requested, or try again later.";

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/messages").route(web::post().to(create_message)))
        .service(web::resource("/v1/models").route(web::get().to(list_models)))
        .service(web::resource("/v1/models/{model}").route(web::get().to(get_model)));
}

async fn create_message(sim: web::Data<AiSim>, request: HttpRequest, body: Bytes) -> HttpResponse {
    serve(sim, request, body, Api::Anthropic, Op::Complete).await
}

async fn list_models(sim: web::Data<AiSim>, request: HttpRequest, body: Bytes) -> HttpResponse {
    serve(sim, request, body, Api::Anthropic, Op::ListModels).await
}

async fn get_model(
    sim: web::Data<AiSim>,
    request: HttpRequest,
    model: web::Path<String>,
    body: Bytes,
) -> HttpResponse {
    let op = Op::GetModel(model.into_inner());
    serve(sim, request, body, Api::Anthropic, op).await
}

/// Any other path: `404 not_found_error`.
pub(crate) async fn unknown_route(
    sim: web::Data<AiSim>,
    request: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    let id = super::Api::Anthropic.request_id(&sim);
    let error = error(StatusCode::NOT_FOUND, "not_found_error", "Not Found", &id);
    super::unknown(&sim, &request, &body, &Api::Anthropic, error)
}

/// Anthropic's error body.
fn error(status: StatusCode, kind: &str, message: impl Into<String>, id: &str) -> ApiError {
    ApiError::new(
        status,
        json!({
            "type": "error",
            "error": {"type": kind, "message": message.into()},
            "request_id": id,
        }),
    )
}

/// A 400 `invalid_request_error`.
fn invalid(message: impl Into<String>, id: &str) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
        id,
    )
}

pub(crate) fn authenticate(request: &HttpRequest, key: &str, id: &str) -> Result<(), ApiError> {
    match request.headers().get("x-api-key") {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
            id,
        )),
        Some(given) if given.as_bytes() == key.as_bytes() => Ok(()),
        Some(_) => Err(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
            id,
        )),
    }
}

pub(crate) fn check_version(request: &HttpRequest, id: &str) -> Result<(), ApiError> {
    match request.headers().get("anthropic-version") {
        None => Err(invalid("anthropic-version: header is required", id)),
        Some(version) => {
            let version = version.to_str().unwrap_or_default();
            if VERSIONS.contains(&version) {
                Ok(())
            } else {
                Err(invalid(
                    format!("anthropic-version: \"{version}\" is not a valid version"),
                    id,
                ))
            }
        }
    }
}

/// The body an injected `status` fault answers with.
pub(crate) fn status_error(status: StatusCode, id: &str) -> ApiError {
    let (kind, message) = match status.as_u16() {
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => ("not_found_error", "Not found"),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of requests has exceeded your rate limit. Please try again later.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        400..=499 => ("invalid_request_error", "Invalid request"),
        _ => ("api_error", "Internal server error"),
    };
    error(status, kind, message, id)
}

pub(crate) fn invalid_json(id: &str) -> ApiError {
    invalid(
        "There was an issue with the format or content of your request: the body is not valid \
         JSON.",
        id,
    )
}

pub(crate) fn unknown_model(model: &str, id: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "not_found_error",
        format!("model: {model}"),
        id,
    )
}

fn field_required(field: &str, id: &str) -> ApiError {
    invalid(format!("{field}: Field required"), id)
}

/// Validates a Messages body as the reference describes it.
pub(crate) fn parse(body: &Value, id: &str) -> Result<Prompt, ApiError> {
    let Value::Object(body) = body else {
        return Err(invalid("Input should be a valid dictionary", id));
    };
    let model = match body.get("model") {
        None | Some(Value::Null) => return Err(field_required("model", id)),
        Some(Value::String(model)) => model.clone(),
        Some(_) => return Err(invalid("model: Input should be a valid string", id)),
    };
    let max_tokens = match body.get("max_tokens") {
        None | Some(Value::Null) => return Err(field_required("max_tokens", id)),
        Some(Value::Number(n)) if !n.is_f64() => match n.as_u64() {
            Some(tokens) if tokens >= 1 => tokens,
            _ => {
                return Err(invalid(
                    "max_tokens: Input should be greater than or equal to 1",
                    id,
                ));
            }
        },
        Some(_) => return Err(invalid("max_tokens: Input should be a valid integer", id)),
    };
    let mut chars = messages(body, id)?;
    match body.get("system") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                text_block(block, &format!("system.{i}"), id)?;
            }
        }
        Some(_) => {
            return Err(invalid(
                "system: Input should be a valid string or a valid list of text blocks",
                id,
            ));
        }
    }
    chars += body.get("system").map_or(0, chars_of);
    let stop = match body.get("stop_sequences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(invalid(
                    format!("stop_sequences.{i}: Input should be a valid string"),
                    id,
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("stop_sequences: Input should be a valid list", id)),
    };
    match body.get("stream") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            return Err(invalid(
                "stream: the Deskbridge simulator does not stream; leave it out or set it to \
                 false",
                id,
            ));
        }
        Some(_) => return Err(invalid("stream: Input should be a valid boolean", id)),
    }
    Ok(Prompt {
        model,
        prompt_tokens: estimate_tokens(chars).max(1),
        max_tokens: Some(max_tokens),
        stop,
    })
}

/// Validates `messages`; returns the characters of their text.
fn messages(body: &Map<String, Value>, id: &str) -> Result<usize, ApiError> {
    let messages = match body.get("messages") {
        None | Some(Value::Null) => return Err(field_required("messages", id)),
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err(invalid("messages: Input should be a valid list", id)),
    };
    if messages.is_empty() {
        return Err(invalid("messages: at least one message is required", id));
    }
    let mut chars = 0;
    for (i, message) in messages.iter().enumerate() {
        let at = format!("messages.{i}");
        let Value::Object(message) = message else {
            return Err(invalid(
                format!("{at}: Input should be a valid dictionary"),
                id,
            ));
        };
        let role = match message.get("role") {
            None | Some(Value::Null) => return Err(field_required(&format!("{at}.role"), id)),
            Some(Value::String(role)) => role.as_str(),
            Some(_) => {
                return Err(invalid(
                    format!("{at}.role: Input should be 'user' or 'assistant'"),
                    id,
                ));
            }
        };
        match role {
            "user" | "assistant" => {}
            "system" => {
                return Err(invalid(
                    "messages: Unexpected role \"system\". The Messages API accepts a top-level \
                     `system` parameter, not \"system\" as an input message role.",
                    id,
                ));
            }
            _ => {
                return Err(invalid(
                    format!("{at}.role: Input should be 'user' or 'assistant'"),
                    id,
                ));
            }
        }
        let empty = match message.get("content") {
            None | Some(Value::Null) => {
                return Err(field_required(&format!("{at}.content"), id));
            }
            Some(Value::String(text)) => text.is_empty(),
            Some(Value::Array(blocks)) => {
                for (j, block) in blocks.iter().enumerate() {
                    text_block(block, &format!("{at}.content.{j}"), id)?;
                }
                blocks.is_empty()
            }
            Some(_) => {
                return Err(invalid(
                    format!("{at}.content: Input should be a valid string or a valid list"),
                    id,
                ));
            }
        };
        let final_assistant = role == "assistant" && i + 1 == messages.len();
        if empty && !final_assistant {
            return Err(invalid(
                format!(
                    "{at}: all messages must have non-empty content except for the optional \
                     final assistant message"
                ),
                id,
            ));
        }
        chars += message.get("content").map_or(0, chars_of);
    }
    Ok(chars)
}

fn text_block(block: &Value, at: &str, id: &str) -> Result<(), ApiError> {
    let Value::Object(block) = block else {
        return Err(invalid(
            format!("{at}: Input should be a valid dictionary"),
            id,
        ));
    };
    match block.get("type") {
        None | Some(Value::Null) => return Err(field_required(&format!("{at}.type"), id)),
        Some(Value::String(kind)) if kind == "text" => {}
        Some(Value::String(kind)) => {
            return Err(invalid(
                format!(
                    "{at}: Input tag '{kind}' found using 'type' does not match any of the \
                     expected tags: 'text' (the simulator serves text blocks only)"
                ),
                id,
            ));
        }
        Some(_) => {
            return Err(invalid(
                format!("{at}.type: Input should be a valid string"),
                id,
            ));
        }
    }
    match block.get("text") {
        None | Some(Value::Null) => Err(field_required(&format!("{at}.text"), id)),
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(invalid(
            format!("{at}.text: Input should be a valid string"),
            id,
        )),
    }
}

pub(crate) fn rate_limited(refusal: &Refusal, snapshot: &Snapshot, id: &str) -> ApiError {
    let message = match refusal {
        Refusal::Requests { .. } => format!(
            "This request would exceed the rate limit for your organization of {} requests per \
             minute. {RATE_LIMIT_DOCS}",
            snapshot.requests.map_or(0, |d| d.limit)
        ),
        Refusal::Tokens { .. } | Refusal::TooLarge { .. } => format!(
            "This request would exceed the rate limit for your organization of {} tokens per \
             minute. {RATE_LIMIT_DOCS}",
            snapshot.tokens.map_or(0, |d| d.limit)
        ),
    };
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        message,
        id,
    )
}

pub(crate) fn success(prompt: &Prompt, answer: &Answer) -> Value {
    let completion = &answer.completion;
    let (stop_reason, stop_sequence) = match &completion.stop {
        Stop::End => ("end_turn", Value::Null),
        Stop::MaxTokens => ("max_tokens", Value::Null),
        Stop::Sequence(s) => ("stop_sequence", Value::String(s.clone())),
    };
    json!({
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": prompt.model,
        "content": [{"type": "text", "text": completion.text}],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": prompt.prompt_tokens,
            "output_tokens": completion.tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    })
}

pub(crate) fn models(models: &[String]) -> Value {
    json!({
        "data": models.iter().map(|m| model(m)).collect::<Vec<_>>(),
        "has_more": false,
        "first_id": models.first(),
        "last_id": models.last(),
    })
}

pub(crate) fn model(id: &str) -> Value {
    json!({
        "type": "model",
        "id": id,
        "display_name": id,
        "created_at": "2025-01-01T00:00:00Z",
    })
}

pub(crate) fn headers(snapshot: &Snapshot, id: &str) -> Vec<(String, String)> {
    let mut headers = vec![("request-id".to_owned(), id.to_owned())];
    let now = time::OffsetDateTime::now_utc();
    for (name, dimension) in [("requests", snapshot.requests), ("tokens", snapshot.tokens)] {
        if let Some(d) = dimension {
            // Rounded up to the second: the bucket is full by then.
            let reset = std::time::Duration::from_secs(d.reset.as_secs_f64().ceil() as u64);
            let at = (now + reset).replace_nanosecond(0).unwrap_or(now + reset);
            let at = at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            headers.push((
                format!("anthropic-ratelimit-{name}-limit"),
                d.limit.to_string(),
            ));
            headers.push((
                format!("anthropic-ratelimit-{name}-remaining"),
                d.remaining.to_string(),
            ));
            headers.push((format!("anthropic-ratelimit-{name}-reset"), at));
        }
    }
    headers
}
