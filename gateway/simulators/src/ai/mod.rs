//! Simulators of the AI providers' HTTP APIs that Deskbridge calls: OpenAI Chat Completions
//! (also in Azure OpenAI's deployment form, [`openai`]) and Anthropic Messages
//! ([`anthropic`]).
//!
//! Each checks the vendor's authentication and version headers, validates the request body as
//! the vendor's reference describes it, answers in the vendor's success and error shapes with
//! its rate-limit headers, and refuses with `429` + `retry-after` when a per-minute request or
//! token limit ([`limits`]) is spent. The model's answer is deterministic ([`text`]): a fixed
//! reply in the shape Deskbridge's suggest-reply plugin parses, or a scripted one, cut to the
//! request's `max_tokens`.
//!
//! Every answer of a vendor route waits [`AiSimOptions::latency`] first, with an async sleep,
//! so one simulator holds thousands of slow requests at once (2 workers, a raised listen
//! backlog and connection cap). The `/_sim/` control API ([`control`]) injects faults, queues
//! scripted answers and reads back every request received.
//!
//! The order of checks on a completion request: route (Azure's `api-version`), authentication,
//! version header (Anthropic), injected fault, JSON body, body validation, model, rate limits.
//! Rejections before the rate limits are not counted against them.

mod anthropic;
mod control;
mod limits;
mod openai;
mod text;

use std::collections::VecDeque;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::now_rfc3339;
use limits::{Limits, Refusal, Snapshot};
use text::Completion;

/// Which AI provider to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiVendor {
    /// OpenAI Chat Completions (`/v1/chat/completions`), also in Azure OpenAI's deployment
    /// form (`/openai/deployments/{deployment}/chat/completions?api-version=…`).
    OpenAi,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
}

impl AiVendor {
    /// The vendor's name in lower case, as the CLI and the answers write it.
    pub fn name(self) -> &'static str {
        match self {
            AiVendor::OpenAi => "openai",
            AiVendor::Anthropic => "anthropic",
        }
    }
}

/// How an AI simulator is set up.
#[derive(Debug, Clone)]
pub struct AiSimOptions {
    /// Which vendor.
    pub vendor: AiVendor,
    /// The one accepted API key (`Authorization: Bearer`, Azure's `api-key`, Anthropic's
    /// `x-api-key`).
    pub api_key: String,
    /// The models served (Azure: the deployments); empty = any model name is accepted.
    pub models: Vec<String>,
    /// Requests per minute before `429`; 0 = unlimited.
    pub requests_per_minute: u32,
    /// Tokens (prompt + completion) per minute before `429`; 0 = unlimited.
    pub tokens_per_minute: u32,
    /// Added before every answer of a vendor route (not the `/_sim/` control API).
    pub latency: Duration,
}

/// Requests kept in the log (the oldest are dropped).
const MAX_LOGGED: usize = 10_000;
/// Largest request body read (both vendors document 32 MB for their chat endpoints).
const MAX_BODY: usize = 32 * 1024 * 1024;
/// Listen backlog (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: u32 = 16_384;
/// Open connections per worker; two workers hold well over 10,000 waiting requests.
const MAX_CONNECTIONS: usize = 25_000;

/// Runs an AI simulator on `listener` until the process is stopped.
pub(crate) fn run(listener: TcpListener, options: AiSimOptions) -> std::io::Result<()> {
    // A listener bound by std listens with a backlog of 128: a burst of thousands of
    // connections would wait on SYN retries. Listening again raises it.
    socket2::SockRef::from(&listener).listen(i32::try_from(BACKLOG).unwrap_or(i32::MAX))?;
    actix_web::rt::System::new().block_on(async move {
        let vendor = options.vendor;
        let state = web::Data::new(AiSim::new(options));
        let server = actix_web::HttpServer::new(move || {
            let app = actix_web::App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY))
                .configure(control::routes);
            match vendor {
                AiVendor::OpenAi => app
                    .configure(openai::routes)
                    .default_service(web::to(openai::unknown_route)),
                AiVendor::Anthropic => app
                    .configure(anthropic::routes)
                    .default_service(web::to(anthropic::unknown_route)),
            }
        })
        .workers(2)
        .backlog(BACKLOG)
        .max_connections(MAX_CONNECTIONS)
        .listen(listener)?
        .run();
        server.await
    })
}

/// Which API a request came in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Api {
    /// OpenAI's `/v1/…`.
    OpenAi,
    /// Azure OpenAI's deployment path.
    Azure {
        deployment: String,
        /// The `api-version` query parameter.
        api_version: Option<String>,
    },
    /// Anthropic's `/v1/…`.
    Anthropic,
}

/// What a request asks for.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// A chat completion / message.
    Complete,
    /// The model list.
    ListModels,
    /// One model.
    GetModel(String),
}

/// A refusal: status and vendor-shaped body, with `retry-after` seconds when useful.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, body: Value) -> ApiError {
        ApiError {
            status,
            body,
            retry_after: None,
        }
    }

    pub(crate) fn with_retry_after(mut self, seconds: Option<u64>) -> ApiError {
        self.retry_after = seconds;
        self
    }
}

/// What a valid completion request asks of the model.
#[derive(Debug, Clone)]
pub(crate) struct Prompt {
    /// The model (Azure: the deployment).
    pub(crate) model: String,
    /// The estimate of all the prompt's text.
    pub(crate) prompt_tokens: u64,
    /// The cap on the answer, if any.
    pub(crate) max_tokens: Option<u64>,
    /// Stop sequences.
    pub(crate) stop: Vec<String>,
}

/// What a request is answered with, besides the shared headers.
pub(crate) struct Answer {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) completion: Completion,
}

/// A fault to inject into the next matching vendor request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AiFault {
    /// Path prefix to match (any vendor route when absent).
    #[serde(default)]
    pub(crate) path_prefix: Option<String>,
    /// What to do.
    #[serde(flatten)]
    pub(crate) kind: AiFaultKind,
    /// How many matching requests it applies to.
    #[serde(default = "one")]
    pub(crate) times: u32,
}

pub(crate) fn one() -> u32 {
    1
}

/// The kinds of fault.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum AiFaultKind {
    /// Answer with this status and the vendor's error body for it (`429` always carries
    /// `retry-after`, 1 s unless given).
    Status {
        /// HTTP status, 400–599.
        status: u16,
        /// Seconds for `retry-after`.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait this long (on top of the latency), then handle the request normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without writing any answer (after the latency).
    Drop,
}

/// A scripted answer text, used (first in, first out) before the default one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScriptedAnswer {
    /// The text the model answers (still cut to `max_tokens` and stop sequences).
    pub(crate) text: String,
    /// For how many requests.
    #[serde(default = "one")]
    pub(crate) times: u32,
}

/// A vendor request as received and answered.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LoggedRequest {
    /// When it was answered (RFC 3339).
    pub(crate) at: String,
    pub(crate) method: String,
    pub(crate) path: String,
    /// The raw query string (`""` when none).
    pub(crate) query: String,
    /// The status answered; `null` when the connection was dropped.
    pub(crate) status: Option<u16>,
    /// Whether an `authorization`, `api-key` or `x-api-key` header was present (never its
    /// value).
    pub(crate) auth: bool,
    /// The id the answer carries (`x-request-id` / `request-id`).
    pub(crate) request_id: String,
    /// The injected fault applied, if any.
    pub(crate) fault: Option<String>,
    /// The JSON body as received; a body that is not JSON is kept as a string, none is `null`.
    pub(crate) body: Value,
}

/// The mutable part of a simulator.
pub(crate) struct Inner {
    pub(crate) faults: VecDeque<AiFault>,
    pub(crate) answers: VecDeque<ScriptedAnswer>,
    pub(crate) requests: VecDeque<LoggedRequest>,
    pub(crate) limits: Limits,
}

/// An AI simulator's state.
pub(crate) struct AiSim {
    pub(crate) options: AiSimOptions,
    inner: Mutex<Inner>,
    ids: AtomicU64,
    seed: u64,
    /// When the simulator started, seconds since the epoch (the `created` of its models).
    started: u64,
}

/// How a request is answered.
enum Reply {
    Answer {
        status: StatusCode,
        body: Value,
        headers: Vec<(String, String)>,
    },
    Drop,
}

/// What [`AiSim::decide`] settled.
struct Decision {
    reply: Reply,
    delay: Duration,
    fault: Option<String>,
}

impl AiSim {
    pub(crate) fn new(options: AiSimOptions) -> AiSim {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let seed = splitmix(now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32));
        AiSim {
            inner: Mutex::new(Inner {
                faults: VecDeque::new(),
                answers: VecDeque::new(),
                requests: VecDeque::new(),
                limits: Limits::new(options.requests_per_minute, options.tokens_per_minute),
            }),
            options,
            ids: AtomicU64::new(0),
            seed,
            started: now.as_secs(),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh id of `len` base-62 characters after `prefix`.
    pub(crate) fn id(&self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8; 62] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let mut state = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut id = String::with_capacity(prefix.len() + len);
        id.push_str(prefix);
        let mut bits = 0u64;
        for i in 0..len {
            if i % 10 == 0 {
                state = splitmix(state);
                bits = state;
            }
            id.push(char::from(ALPHABET[(bits % 62) as usize]));
            bits /= 62;
        }
        id
    }

    /// Whether `model` is served.
    pub(crate) fn serves(&self, model: &str) -> bool {
        self.options.models.is_empty() || self.options.models.iter().any(|m| m == model)
    }

    fn take_fault(inner: &mut Inner, path: &str) -> Option<AiFaultKind> {
        let index = inner
            .faults
            .iter()
            .position(|f| f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p)))?;
        let fault = &mut inner.faults[index];
        let kind = fault.kind.clone();
        fault.times = fault.times.saturating_sub(1);
        if fault.times == 0 {
            inner.faults.remove(index);
        }
        Some(kind)
    }

    fn take_answer(inner: &mut Inner) -> Option<String> {
        let front = inner.answers.front_mut()?;
        let text = front.text.clone();
        front.times = front.times.saturating_sub(1);
        if front.times == 0 {
            inner.answers.pop_front();
        }
        Some(text)
    }

    pub(crate) fn log(&self, entry: LoggedRequest) {
        let mut inner = self.lock();
        while inner.requests.len() >= MAX_LOGGED {
            inner.requests.pop_front();
        }
        inner.requests.push_back(entry);
    }

    fn snapshot(&self) -> Snapshot {
        self.lock().limits.snapshot(Instant::now())
    }

    /// Settles how to answer: everything but the waiting.
    fn decide(
        &self,
        request: &HttpRequest,
        body: Option<&Value>,
        api: &Api,
        op: &Op,
        request_id: &str,
    ) -> Decision {
        let refuse = |error: ApiError, fault: Option<String>| Decision {
            reply: self.refusal(api, error, request_id, &self.snapshot()),
            delay: Duration::ZERO,
            fault,
        };
        let admitted = api
            .check_route()
            .and_then(|()| api.authenticate(request, &self.options.api_key, request_id))
            .and_then(|()| api.check_headers(request, request_id));
        if let Err(error) = admitted {
            return refuse(error, None);
        }
        let fault = Self::take_fault(&mut self.lock(), request.path());
        let fault_name = fault.as_ref().map(|f| format!("{f:?}"));
        let mut delay = Duration::ZERO;
        match fault {
            Some(AiFaultKind::Status {
                status,
                retry_after,
            }) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let retry_after = match (status, retry_after) {
                    (StatusCode::TOO_MANY_REQUESTS, None) => Some(1),
                    (_, given) => given,
                };
                let error = api
                    .fault_error(status, request_id)
                    .with_retry_after(retry_after);
                return refuse(error, fault_name);
            }
            Some(AiFaultKind::Drop) => {
                return Decision {
                    reply: Reply::Drop,
                    delay,
                    fault: fault_name,
                };
            }
            Some(AiFaultKind::Delay { ms }) => delay = Duration::from_millis(ms),
            None => {}
        }
        let result = match op {
            Op::ListModels => Ok((
                api.models(&self.options.models, self.created()),
                self.snapshot(),
            )),
            Op::GetModel(id) if self.serves(id) => {
                Ok((api.model(id, self.created()), self.snapshot()))
            }
            Op::GetModel(id) => Err(api.unknown_model(id, request_id)),
            Op::Complete => self.complete(body, api, request_id),
        };
        match result {
            Ok((body, snapshot)) => Decision {
                reply: Reply::Answer {
                    status: StatusCode::OK,
                    body,
                    headers: api.headers(&snapshot, request_id),
                },
                delay,
                fault: fault_name,
            },
            Err(error) => Decision {
                reply: self.refusal(api, error, request_id, &self.snapshot()),
                delay,
                fault: fault_name,
            },
        }
    }

    /// The `created` of the models: the simulator's start.
    fn created(&self) -> u64 {
        self.started
    }

    /// Validates a completion request, applies the limits and generates the answer.
    fn complete(
        &self,
        body: Option<&Value>,
        api: &Api,
        request_id: &str,
    ) -> Result<(Value, Snapshot), ApiError> {
        let Some(body) = body else {
            return Err(api.invalid_json(request_id));
        };
        let prompt = api.parse(body, request_id)?;
        if !self.serves(&prompt.model) {
            return Err(api.unknown_model(&prompt.model, request_id));
        }
        let now = Instant::now();
        let mut inner = self.lock();
        let reserved = prompt
            .prompt_tokens
            .saturating_add(prompt.max_tokens.unwrap_or(0));
        if let Err(refusal) = inner.limits.admit(now, reserved) {
            let snapshot = inner.limits.snapshot(now);
            drop(inner);
            return Err(api
                .rate_limited(&refusal, &snapshot, &prompt.model, request_id)
                .with_retry_after(refusal.retry_after_secs()));
        }
        let answer = Self::take_answer(&mut inner)
            .unwrap_or_else(|| text::default_answer(api.simulator_name(), &prompt.model));
        let completion = text::complete(&answer, prompt.max_tokens, &prompt.stop);
        inner
            .limits
            .charge(now, prompt.prompt_tokens.saturating_add(completion.tokens));
        let snapshot = inner.limits.snapshot(now);
        drop(inner);
        let answer = Answer {
            id: api.completion_id(self),
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
            completion,
        };
        Ok((api.success(&prompt, &answer), snapshot))
    }

    /// The answer for a refusal: its status, body, the shared headers and `retry-after`.
    fn refusal(&self, api: &Api, error: ApiError, request_id: &str, snapshot: &Snapshot) -> Reply {
        let mut headers = api.headers(snapshot, request_id);
        if let Some(seconds) = error.retry_after {
            headers.push(("retry-after".into(), seconds.to_string()));
            if matches!(api, Api::Azure { .. }) {
                headers.push(("retry-after-ms".into(), (seconds * 1000).to_string()));
            }
        }
        Reply::Answer {
            status: error.status,
            body: error.body,
            headers,
        }
    }
}

impl Api {
    /// What the default answer calls the simulator.
    fn simulator_name(&self) -> &'static str {
        match self {
            Api::OpenAi => "openai",
            Api::Azure { .. } => "azure openai",
            Api::Anthropic => "anthropic",
        }
    }

    fn check_route(&self) -> Result<(), ApiError> {
        match self {
            Api::Azure { api_version, .. } => openai::check_api_version(api_version.as_deref()),
            _ => Ok(()),
        }
    }

    fn authenticate(&self, request: &HttpRequest, key: &str, id: &str) -> Result<(), ApiError> {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::authenticate(self, request, key),
            Api::Anthropic => anthropic::authenticate(request, key, id),
        }
    }

    fn check_headers(&self, request: &HttpRequest, id: &str) -> Result<(), ApiError> {
        match self {
            Api::Anthropic => anthropic::check_version(request, id),
            _ => Ok(()),
        }
    }

    fn fault_error(&self, status: StatusCode, id: &str) -> ApiError {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::status_error(self, status),
            Api::Anthropic => anthropic::status_error(status, id),
        }
    }

    fn invalid_json(&self, id: &str) -> ApiError {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::invalid_json(),
            Api::Anthropic => anthropic::invalid_json(id),
        }
    }

    fn parse(&self, body: &Value, id: &str) -> Result<Prompt, ApiError> {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::parse(self, body),
            Api::Anthropic => anthropic::parse(body, id),
        }
    }

    fn unknown_model(&self, model: &str, id: &str) -> ApiError {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::unknown_model(self, model),
            Api::Anthropic => anthropic::unknown_model(model, id),
        }
    }

    fn rate_limited(
        &self,
        refusal: &Refusal,
        snapshot: &Snapshot,
        model: &str,
        id: &str,
    ) -> ApiError {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::rate_limited(self, refusal, snapshot, model),
            Api::Anthropic => anthropic::rate_limited(refusal, snapshot, id),
        }
    }

    fn completion_id(&self, sim: &AiSim) -> String {
        match self {
            Api::OpenAi | Api::Azure { .. } => sim.id("chatcmpl-", 29),
            Api::Anthropic => sim.id("msg_01", 22),
        }
    }

    fn success(&self, prompt: &Prompt, answer: &Answer) -> Value {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::success(self, prompt, answer),
            Api::Anthropic => anthropic::success(prompt, answer),
        }
    }

    fn models(&self, models: &[String], created: u64) -> Value {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::models(models, created),
            Api::Anthropic => anthropic::models(models),
        }
    }

    fn model(&self, id: &str, created: u64) -> Value {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::model(id, created),
            Api::Anthropic => anthropic::model(id),
        }
    }

    /// The headers of every answer: the request id and the rate-limit state.
    fn headers(&self, snapshot: &Snapshot, id: &str) -> Vec<(String, String)> {
        match self {
            Api::OpenAi | Api::Azure { .. } => openai::headers(self, snapshot, id),
            Api::Anthropic => anthropic::headers(snapshot, id),
        }
    }

    /// The request id of an answer.
    fn request_id(&self, sim: &AiSim) -> String {
        match self {
            Api::OpenAi | Api::Azure { .. } => sim.id("req_", 32).to_ascii_lowercase(),
            Api::Anthropic => sim.id("req_011C", 20),
        }
    }
}

/// Whether the request carries any of the vendors' auth headers.
fn has_auth(request: &HttpRequest) -> bool {
    ["authorization", "api-key", "x-api-key"]
        .iter()
        .any(|name| request.headers().contains_key(*name))
}

/// The body as the log keeps it.
fn logged_body(raw: &[u8], parsed: Option<&Value>) -> Value {
    match parsed {
        Some(value) => value.clone(),
        None if raw.is_empty() => Value::Null,
        None => Value::String(String::from_utf8_lossy(raw).into_owned()),
    }
}

/// Answers one vendor request: decide, wait the latency (and any delay fault), log, answer.
pub(crate) async fn serve(
    sim: web::Data<AiSim>,
    request: HttpRequest,
    body: Bytes,
    api: Api,
    op: Op,
) -> HttpResponse {
    let request_id = api.request_id(&sim);
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let decision = sim.decide(&request, parsed.as_ref(), &api, &op, &request_id);
    let wait = sim.options.latency.saturating_add(decision.delay);
    if !wait.is_zero() {
        actix_web::rt::time::sleep(wait).await;
    }
    let status = match &decision.reply {
        Reply::Answer { status, .. } => Some(status.as_u16()),
        Reply::Drop => None,
    };
    sim.log(LoggedRequest {
        at: now_rfc3339(),
        method: request.method().as_str().to_owned(),
        path: request.path().to_owned(),
        query: request.query_string().to_owned(),
        status,
        auth: has_auth(&request),
        request_id,
        fault: decision.fault,
        body: logged_body(&body, parsed.as_ref()),
    });
    match decision.reply {
        Reply::Drop => HttpResponse::Ok().body(Abort),
        Reply::Answer {
            status,
            body,
            headers,
        } => {
            let mut response = HttpResponse::build(status);
            for (name, value) in headers {
                response.insert_header((name, value));
            }
            if !matches!(api, Api::Anthropic) {
                response.insert_header(("openai-processing-ms", wait.as_millis().to_string()));
            }
            response.json(body)
        }
    }
}

/// Answers a path the vendor does not have (logged, no latency).
pub(crate) fn unknown(
    sim: &AiSim,
    request: &HttpRequest,
    body: &Bytes,
    api: &Api,
    error: ApiError,
) -> HttpResponse {
    let request_id = api.request_id(sim);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    sim.log(LoggedRequest {
        at: now_rfc3339(),
        method: request.method().as_str().to_owned(),
        path: request.path().to_owned(),
        query: request.query_string().to_owned(),
        status: Some(error.status.as_u16()),
        auth: has_auth(request),
        request_id: request_id.clone(),
        fault: None,
        body: logged_body(body, parsed.as_ref()),
    });
    let mut response = HttpResponse::build(error.status);
    for (name, value) in api.headers(&sim.snapshot(), &request_id) {
        response.insert_header((name, value));
    }
    response.json(error.body)
}

/// A response body that fails before its first byte. actix-web encodes the response head,
/// polls the body at once, and on its error closes the connection without flushing anything:
/// the client sees the connection close with no answer (actix-web logs the error).
struct Abort;

impl MessageBody for Abort {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected drop fault: closing without an answer",
        ))))
    }
}

/// SplitMix64: a well-mixed 64-bit step for ids.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How a JSON value's type is named in error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The text of a `{type: "text", text}` block list or a string, for token estimates.
pub(crate) fn chars_of(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(|s| s.chars().count())
            .sum(),
        _ => 0,
    }
}
