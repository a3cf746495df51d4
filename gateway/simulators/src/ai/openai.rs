//! OpenAI Chat Completions as the API reference describes it, and its Azure OpenAI form.
//!
//! - `POST /v1/chat/completions` with `Authorization: Bearer KEY`; `GET /v1/models` and
//!   `GET /v1/models/{model}`.
//! - `POST /openai/deployments/{deployment}/chat/completions?api-version=…` with an
//!   `api-key: KEY` header. The deployment is the model (a `model` in the body is ignored);
//!   without `api-version` Azure answers `404 {"error": {"code": "404", "message": "Resource
//!   not found"}}`, any non-empty version is accepted. Azure's own gateway errors (401, 404
//!   deployment, 429) have its `{"error": {"code", "message"}}` shape; validation errors and
//!   5xx keep OpenAI's. Successes add Azure's `prompt_filter_results` and
//!   `content_filter_results` (nothing filtered).
//!
//! Bodies: `model` (required except on Azure), `messages` (non-empty; roles `system`,
//! `developer`, `user`, `assistant`, `tool`; content a string or an array of `{type: "text",
//! text}` parts — the simulator serves text only; `assistant` content may be null, `tool`
//! needs `tool_call_id`), `max_tokens` / `max_completion_tokens` (integer ≥ 1, optional; the
//! smaller applies when both are set), `stop` (string or up to 4 strings), `stream` (only
//! `false`: the simulator does not stream). Other keys are tolerated. Errors are
//! `{"error": {"message", "type", "param", "code"}}` with the reference's codes
//! (`invalid_api_key`, `model_not_found`, `missing_required_parameter`, `invalid_type`,
//! `invalid_value`, `empty_array`, `integer_below_min_value`, `rate_limit_exceeded`).
//!
//! Every answer carries `x-request-id`, `openai-processing-ms` and, per configured limit,
//! `x-ratelimit-limit-*`, `x-ratelimit-remaining-*` and `x-ratelimit-reset-*` (Go-style
//! durations such as `6m0s`) for `requests` and `tokens`.

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::limits::{Refusal, Snapshot, go_duration};
use super::text::{Stop, estimate_tokens};
use super::{AiSim, Answer, Api, ApiError, Op, Prompt, chars_of, serve, type_name};

const ROLES: [&str; 5] = ["system", "developer", "user", "assistant", "tool"];
const ORGANIZATION: &str = "org-deskbridge-simulator";

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/chat/completions").route(web::post().to(chat)))
        .service(
            web::resource("/openai/deployments/{deployment}/chat/completions")
                .route(web::post().to(azure_chat)),
        )
        .service(web::resource("/v1/models").route(web::get().to(list_models)))
        .service(web::resource("/v1/models/{model}").route(web::get().to(get_model)));
}

async fn chat(sim: web::Data<AiSim>, request: HttpRequest, body: Bytes) -> HttpResponse {
    serve(sim, request, body, Api::OpenAi, Op::Complete).await
}

async fn azure_chat(
    sim: web::Data<AiSim>,
    request: HttpRequest,
    deployment: web::Path<String>,
    body: Bytes,
) -> HttpResponse {
    let api_version =
        web::Query::<std::collections::HashMap<String, String>>::from_query(request.query_string())
            .ok()
            .and_then(|q| q.get("api-version").cloned());
    let api = Api::Azure {
        deployment: deployment.into_inner(),
        api_version,
    };
    serve(sim, request, body, api, Op::Complete).await
}

async fn list_models(sim: web::Data<AiSim>, request: HttpRequest, body: Bytes) -> HttpResponse {
    serve(sim, request, body, Api::OpenAi, Op::ListModels).await
}

async fn get_model(
    sim: web::Data<AiSim>,
    request: HttpRequest,
    model: web::Path<String>,
    body: Bytes,
) -> HttpResponse {
    let op = Op::GetModel(model.into_inner());
    serve(sim, request, body, Api::OpenAi, op).await
}

/// Any other path: OpenAI's `Invalid URL` 404.
pub(crate) async fn unknown_route(
    sim: web::Data<AiSim>,
    request: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    let message = format!("Invalid URL ({} {})", request.method(), request.path());
    let error = error(
        StatusCode::NOT_FOUND,
        message,
        "invalid_request_error",
        None,
        None,
    );
    super::unknown(&sim, &request, &body, &Api::OpenAi, error)
}

/// OpenAI's error body.
fn error(
    status: StatusCode,
    message: impl Into<String>,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> ApiError {
    ApiError::new(
        status,
        json!({"error": {"message": message.into(), "type": kind, "param": param, "code": code}}),
    )
}

/// A 400 `invalid_request_error` naming `param`.
fn invalid(message: impl Into<String>, param: &str, code: &str) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        message,
        "invalid_request_error",
        Some(param),
        Some(code),
    )
}

/// Azure's gateway error body.
fn azure_error(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError::new(status, json!({"error": {"code": code, "message": message}}))
}

pub(crate) fn check_api_version(api_version: Option<&str>) -> Result<(), ApiError> {
    match api_version {
        Some(version) if !version.trim().is_empty() => Ok(()),
        _ => Err(azure_error(
            StatusCode::NOT_FOUND,
            "404",
            "Resource not found",
        )),
    }
}

pub(crate) fn authenticate(api: &Api, request: &HttpRequest, key: &str) -> Result<(), ApiError> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    };
    if matches!(api, Api::Azure { .. }) {
        return match header("api-key") {
            None => Err(azure_error(
                StatusCode::UNAUTHORIZED,
                "401",
                "Access denied due to missing subscription key. Make sure to include \
                 subscription key when making requests to an API.",
            )),
            Some(given) if given == key => Ok(()),
            Some(_) => Err(azure_error(
                StatusCode::UNAUTHORIZED,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make \
                 sure to provide a valid key for an active subscription and use a correct \
                 regional API endpoint for your resource.",
            )),
        };
    }
    let Some(header) = header(AUTHORIZATION.as_str()) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an \
             Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
            None,
        ));
    };
    let given = header.strip_prefix("Bearer ").unwrap_or("").trim();
    if given == key {
        return Ok(());
    }
    Err(error(
        StatusCode::UNAUTHORIZED,
        format!(
            "Incorrect API key provided: {}. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            mask(given)
        ),
        "invalid_request_error",
        None,
        Some("invalid_api_key"),
    ))
}

/// A wrong key as the error names it: stars but for the last four characters of a long one.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len());
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{}{tail}", "*".repeat(chars.len() - 4))
}

/// The body an injected `status` fault answers with.
pub(crate) fn status_error(api: &Api, status: StatusCode) -> ApiError {
    let azure = matches!(api, Api::Azure { .. });
    match status.as_u16() {
        401 if azure => azure_error(
            status,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to \
             provide a valid key for an active subscription and use a correct regional API \
             endpoint for your resource.",
        ),
        401 => error(
            status,
            "Incorrect API key provided. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        ),
        403 => error(
            status,
            "You are not allowed to sample from this model",
            "invalid_request_error",
            None,
            None,
        ),
        404 if azure => deployment_not_found(),
        404 => error(
            status,
            "The model does not exist or you do not have access to it.",
            "invalid_request_error",
            None,
            Some("model_not_found"),
        ),
        429 if azure => azure_error(
            status,
            "429",
            "Requests to the ChatCompletions_Create Operation have exceeded call rate limit of \
             your current OpenAI S0 pricing tier. Please retry after the time in the \
             retry-after header.",
        ),
        429 => error(
            status,
            format!(
                "Rate limit reached in organization {ORGANIZATION} on requests per min (RPM). \
                 Please try again later. Visit https://platform.openai.com/account/rate-limits \
                 to learn more."
            ),
            "requests",
            None,
            Some("rate_limit_exceeded"),
        ),
        500 => error(
            status,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
        502..=504 => error(
            status,
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
            None,
        ),
        400..=499 => error(
            status,
            "The request was rejected (injected fault).",
            "invalid_request_error",
            None,
            None,
        ),
        _ => error(
            status,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
    }
}

pub(crate) fn invalid_json() -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't \
         using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was \
         sent was not valid JSON.)",
        "invalid_request_error",
        None,
        None,
    )
}

fn deployment_not_found() -> ApiError {
    azure_error(
        StatusCode::NOT_FOUND,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment \
         within the last 5 minutes, please wait a moment and try again.",
    )
}

pub(crate) fn unknown_model(api: &Api, model: &str) -> ApiError {
    if matches!(api, Api::Azure { .. }) {
        return deployment_not_found();
    }
    error(
        StatusCode::NOT_FOUND,
        format!("The model `{model}` does not exist or you do not have access to it."),
        "invalid_request_error",
        None,
        Some("model_not_found"),
    )
}

fn invalid_type(param: &str, expected: &str, got: &Value) -> ApiError {
    invalid(
        format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            type_name(got)
        ),
        param,
        "invalid_type",
    )
}

fn missing(param: &str) -> ApiError {
    invalid(
        format!("Missing required parameter: '{param}'."),
        param,
        "missing_required_parameter",
    )
}

/// Validates a chat completion body as the reference describes it.
pub(crate) fn parse(api: &Api, body: &Value) -> Result<Prompt, ApiError> {
    let Value::Object(body) = body else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!(
                "Invalid body: expected a JSON object, but got {} instead.",
                type_name(body)
            ),
            "invalid_request_error",
            None,
            Some("invalid_type"),
        ));
    };
    let model = match (api, body.get("model")) {
        (Api::Azure { deployment, .. }, _) => deployment.clone(),
        (_, None | Some(Value::Null)) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "you must provide a model parameter",
                "invalid_request_error",
                Some("model"),
                None,
            ));
        }
        (_, Some(Value::String(model))) => model.clone(),
        (_, Some(other)) => return Err(invalid_type("model", "a string", other)),
    };
    let chars = messages(body)?;
    let max_tokens = match (
        max_tokens(body, "max_tokens")?,
        max_tokens(body, "max_completion_tokens")?,
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let stop = stop(body)?;
    match body.get("stream") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            return Err(invalid(
                "The Deskbridge simulator does not stream: leave 'stream' out or set it to \
                 false.",
                "stream",
                "unsupported_value",
            ));
        }
        Some(other) => return Err(invalid_type("stream", "a boolean", other)),
    }
    Ok(Prompt {
        model,
        prompt_tokens: estimate_tokens(chars).max(1),
        max_tokens,
        stop,
    })
}

/// Validates `messages`; returns the characters of their text.
fn messages(body: &Map<String, Value>) -> Result<usize, ApiError> {
    let messages = match body.get("messages") {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(messages)) => messages,
        Some(other) => return Err(invalid_type("messages", "an array", other)),
    };
    if messages.is_empty() {
        return Err(invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got \
             an empty array instead.",
            "messages",
            "empty_array",
        ));
    }
    let mut chars = 0;
    for (i, message) in messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        let Value::Object(message) = message else {
            return Err(invalid_type(&at, "an object", message));
        };
        let role = match message.get("role") {
            None | Some(Value::Null) => return Err(missing(&format!("{at}.role"))),
            Some(Value::String(role)) => role.as_str(),
            Some(other) => return Err(invalid_type(&format!("{at}.role"), "a string", other)),
        };
        if !ROLES.contains(&role) {
            return Err(invalid(
                format!(
                    "Invalid value: '{role}'. Supported values are: 'system', 'developer', \
                     'user', 'assistant', and 'tool'."
                ),
                &format!("{at}.role"),
                "invalid_value",
            ));
        }
        let content_at = format!("{at}.content");
        match message.get("content") {
            None | Some(Value::Null) if role == "assistant" => {}
            None | Some(Value::Null) => return Err(missing(&content_at)),
            Some(Value::String(_)) => {}
            Some(Value::Array(parts)) => {
                for (j, part) in parts.iter().enumerate() {
                    text_part(part, &format!("{content_at}[{j}]"))?;
                }
            }
            Some(other) => {
                return Err(invalid_type(
                    &content_at,
                    "one of a string or array of objects",
                    other,
                ));
            }
        }
        if role == "tool" && !matches!(message.get("tool_call_id"), Some(Value::String(_))) {
            return Err(missing(&format!("{at}.tool_call_id")));
        }
        chars += message.get("content").map_or(0, chars_of);
    }
    Ok(chars)
}

fn text_part(part: &Value, at: &str) -> Result<(), ApiError> {
    let Value::Object(part) = part else {
        return Err(invalid_type(at, "an object", part));
    };
    match part.get("type") {
        None | Some(Value::Null) => return Err(missing(&format!("{at}.type"))),
        Some(Value::String(kind)) if kind == "text" => {}
        Some(Value::String(kind)) => {
            return Err(invalid(
                format!(
                    "Invalid value: '{kind}'. Supported values are: 'text' (the simulator \
                     serves text parts only)."
                ),
                &format!("{at}.type"),
                "invalid_value",
            ));
        }
        Some(other) => return Err(invalid_type(&format!("{at}.type"), "a string", other)),
    }
    match part.get("text") {
        None | Some(Value::Null) => Err(missing(&format!("{at}.text"))),
        Some(Value::String(_)) => Ok(()),
        Some(other) => Err(invalid_type(&format!("{at}.text"), "a string", other)),
    }
}

fn max_tokens(body: &Map<String, Value>, name: &str) -> Result<Option<u64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Number(n)) if !n.is_f64() => match n.as_u64() {
            Some(tokens) if tokens >= 1 => Ok(Some(tokens)),
            _ => Err(invalid(
                format!(
                    "Invalid '{name}': integer below minimum value. Expected a value >= 1, but \
                     got {value} instead."
                ),
                name,
                "integer_below_min_value",
            )),
        },
        Some(other) => Err(invalid_type(name, "an integer", other)),
    }
}

fn stop(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    match body.get("stop") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => {
            if items.len() > 4 {
                return Err(invalid(
                    format!(
                        "Invalid 'stop': array too long. Expected an array with maximum length \
                         4, but got an array with length {} instead.",
                        items.len()
                    ),
                    "stop",
                    "array_above_max_length",
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(invalid_type(&format!("stop[{i}]"), "a string", other)),
                })
                .collect()
        }
        Some(other) => Err(invalid_type(
            "stop",
            "one of a string or array of strings",
            other,
        )),
    }
}

pub(crate) fn rate_limited(
    api: &Api,
    refusal: &Refusal,
    snapshot: &Snapshot,
    model: &str,
) -> ApiError {
    let retry = refusal
        .retry_after_secs()
        .map_or_else(String::new, |s| format!("{s} seconds"));
    if let Api::Azure { api_version, .. } = api {
        let what = match refusal {
            Refusal::Requests { .. } => "call rate limit",
            Refusal::Tokens { .. } | Refusal::TooLarge { .. } => "token rate limit",
        };
        let message = format!(
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version {} \
             have exceeded {what} of your current OpenAI S0 pricing tier. Please retry after \
             {}. Please go here: https://aka.ms/oai/quotaincrease if you would like to further \
             increase the default rate limit.",
            api_version.as_deref().unwrap_or(""),
            if retry.is_empty() {
                "reducing the request"
            } else {
                retry.as_str()
            }
        );
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"code": "429", "message": message}}),
        );
    }
    let learn = "Visit https://platform.openai.com/account/rate-limits to learn more.";
    let (kind, message) = match refusal {
        Refusal::Requests { retry_after } => {
            let limit = snapshot.requests.map_or(0, |d| d.limit);
            (
                "requests",
                format!(
                    "Rate limit reached for {model} in organization {ORGANIZATION} on requests \
                     per min (RPM): Limit {limit}, Used {limit}, Requested 1. Please try again \
                     in {}. {learn}",
                    go_duration(*retry_after)
                ),
            )
        }
        Refusal::Tokens {
            requested,
            retry_after,
        } => {
            let (limit, used) = snapshot.tokens.map_or((0, 0), |d| (d.limit, d.used));
            (
                "tokens",
                format!(
                    "Rate limit reached for {model} in organization {ORGANIZATION} on tokens per \
                     min (TPM): Limit {limit}, Used {used}, Requested {requested}. Please try \
                     again in {}. {learn}",
                    go_duration(*retry_after)
                ),
            )
        }
        Refusal::TooLarge { requested } => {
            let limit = snapshot.tokens.map_or(0, |d| d.limit);
            (
                "tokens",
                format!(
                    "Request too large for {model} in organization {ORGANIZATION} on tokens per \
                     min (TPM): Limit {limit}, Requested {requested}. The input or output tokens \
                     must be reduced in order to run successfully. {learn}"
                ),
            )
        }
    };
    error(
        StatusCode::TOO_MANY_REQUESTS,
        message,
        kind,
        None,
        Some("rate_limit_exceeded"),
    )
}

pub(crate) fn success(api: &Api, prompt: &Prompt, answer: &Answer) -> Value {
    let completion = &answer.completion;
    let finish_reason = match completion.stop {
        Stop::MaxTokens => "length",
        Stop::End | Stop::Sequence(_) => "stop",
    };
    let mut choice = json!({
        "index": 0,
        "message": {
            "role": "assistant",
            "content": completion.text,
            "refusal": null,
            "annotations": [],
        },
        "logprobs": null,
        "finish_reason": finish_reason,
    });
    let mut body = json!({
        "id": answer.id,
        "object": "chat.completion",
        "created": answer.created,
        "model": prompt.model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt.prompt_tokens,
            "completion_tokens": completion.tokens,
            "total_tokens": prompt.prompt_tokens + completion.tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": null,
    });
    if matches!(api, Api::Azure { .. }) {
        let safe = json!({"filtered": false, "severity": "safe"});
        let filters = json!({
            "hate": safe, "self_harm": safe, "sexual": safe, "violence": safe,
        });
        choice["content_filter_results"] = filters.clone();
        body["prompt_filter_results"] =
            json!([{"prompt_index": 0, "content_filter_results": filters}]);
    }
    body["choices"] = json!([choice]);
    body
}

pub(crate) fn models(models: &[String], created: u64) -> Value {
    json!({
        "object": "list",
        "data": models.iter().map(|m| model(m, created)).collect::<Vec<_>>(),
    })
}

pub(crate) fn model(id: &str, created: u64) -> Value {
    json!({"id": id, "object": "model", "created": created, "owned_by": "system"})
}

pub(crate) fn headers(api: &Api, snapshot: &Snapshot, id: &str) -> Vec<(String, String)> {
    let mut headers = vec![("x-request-id".to_owned(), id.to_owned())];
    if matches!(api, Api::Azure { .. }) {
        headers.push(("apim-request-id".into(), id.to_owned()));
    }
    for (name, dimension) in [("requests", snapshot.requests), ("tokens", snapshot.tokens)] {
        if let Some(d) = dimension {
            headers.push((format!("x-ratelimit-limit-{name}"), d.limit.to_string()));
            headers.push((
                format!("x-ratelimit-remaining-{name}"),
                d.remaining.to_string(),
            ));
            headers.push((format!("x-ratelimit-reset-{name}"), go_duration(d.reset)));
        }
    }
    headers
}
