//! Webhook ingest: `POST /webhooks/{kind}/{helpdesk}` (and `POST /webhooks/{kind}` when exactly
//! one helpdesk of that kind is configured).
//!
//! Each request is checked in this order, and the first failure answers without storing
//! anything: the helpdesk exists and is of that kind (404); the body is JSON (415); Freshdesk's
//! credentials are right (401, before a byte of the body is read: it is unsigned); the body is
//! no larger than the limit (413); a signature verifies (401); the body parses (400 for broken
//! JSON, 422 naming the field). Only then is the event stored, and `200` is sent once it is on
//! disk. A redelivery answers `200` with `"status": "duplicate"`, which tells the helpdesk to
//! stop retrying.
//!
//! Vendor bodies are read tolerantly: keys the gateway does not use (an admin's extra
//! placeholders) are accepted and logged once per helpdesk and key, so a typo stays visible
//! without breaking the integration; what the gateway uses must be there and well-formed.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::http::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use deskbridge_connectors::{Notice, Parsed, WebhookError, freshdesk_webhook, zendesk_webhook};
use deskbridge_core::HelpdeskKind;
use deskbridge_pipeline::{Accepted, Ingest, IngestError, event_id, now_ms};
use deskbridge_schema::{EventError, ValidatedEvent};
use deskbridge_store::{EventSource, InboundEvent};
use deskbridge_webhook_auth::{secrets_equal, standard, zendesk};
use futures_util::StreamExt as _;
use serde::Serialize;

use crate::AppState;
use crate::problem::Problem;

/// How one helpdesk's webhooks authenticate.
pub enum Endpoint {
    /// Zendesk: HMAC signature with this signing secret.
    Zendesk {
        /// The signing secret.
        secret: String,
    },
    /// Freshdesk: no signature; basic auth, a shared-secret header, or nothing.
    Freshdesk(FreshdeskAuth),
    /// Standard Webhooks signature with this key.
    Generic {
        /// The decoded key.
        key: Vec<u8>,
    },
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Endpoint::Zendesk { .. } => "Zendesk(***)",
            Endpoint::Freshdesk(_) => "Freshdesk(***)",
            Endpoint::Generic { .. } => "Generic(***)",
        })
    }
}

/// Freshdesk webhook authentication.
pub enum FreshdeskAuth {
    /// HTTP basic auth.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A shared-secret header.
    Header {
        /// Header name.
        name: String,
        /// Expected value.
        value: String,
    },
    /// Explicitly unauthenticated.
    Anonymous,
}

impl Endpoint {
    fn kind(&self) -> HelpdeskKind {
        match self {
            Endpoint::Zendesk { .. } => HelpdeskKind::Zendesk,
            Endpoint::Freshdesk(_) => HelpdeskKind::Freshdesk,
            Endpoint::Generic { .. } => HelpdeskKind::Generic,
        }
    }
}

/// The ingest side of the server.
#[derive(Debug)]
pub struct Webhooks {
    /// Where accepted events go.
    pub ingest: Ingest,
    /// Helpdesks by name.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// Accepted timestamp skew for signed webhooks.
    pub tolerance: Duration,
    /// Unknown keys of vendor bodies already logged, per helpdesk.
    pub unknown_keys: UnknownKeys,
}

/// Which unknown vendor-body keys were logged already, so each is logged once per helpdesk
/// (bounded: a sender cannot grow it without limit).
#[derive(Debug, Default)]
pub struct UnknownKeys(std::sync::Mutex<UnknownKeysSeen>);

/// The keys logged, by helpdesk, and how many in all.
#[derive(Debug, Default)]
struct UnknownKeysSeen {
    by_helpdesk: std::collections::HashMap<String, std::collections::HashSet<String>>,
    count: usize,
}

/// Most (helpdesk, key) pairs remembered; past it, unknown keys are no longer logged.
const MAX_REMEMBERED_UNKNOWN_KEYS: usize = 1024;

impl UnknownKeys {
    /// Logs the keys of `keys` not logged before for `helpdesk`; returns those it logged. A
    /// key seen before costs one look-up, no allocation.
    pub fn log_new(&self, helpdesk: &str, keys: &[String]) -> Vec<String> {
        if keys.is_empty() {
            return Vec::new();
        }
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut new = Vec::new();
        for key in keys {
            let known = seen
                .by_helpdesk
                .get(helpdesk)
                .is_some_and(|logged| logged.contains(key));
            if known || seen.count >= MAX_REMEMBERED_UNKNOWN_KEYS {
                continue;
            }
            seen.count += 1;
            seen.by_helpdesk
                .entry(helpdesk.to_owned())
                .or_default()
                .insert(key.clone());
            new.push(key.clone());
        }
        if !new.is_empty() {
            tracing::warn!(
                helpdesk,
                keys = %new.join(", "),
                "the webhook body carries keys the gateway does not use; accepted and ignored (check for a typo in the trigger or automation body)"
            );
        }
        new
    }
}

/// Why a webhook was refused: becomes a problem response. Small, unlike `HttpResponse`.
#[derive(Debug)]
pub(crate) struct Rejection {
    status: StatusCode,
    title: &'static str,
    detail: String,
    /// Ask for basic credentials (`WWW-Authenticate`).
    basic_challenge: bool,
    /// Seconds to send in `Retry-After`.
    retry_after_s: Option<u64>,
}

/// How long a helpdesk is asked to wait before delivering again while the pipeline is behind.
const BACKLOG_RETRY_AFTER_S: u64 = 30;

impl Rejection {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Rejection {
        Rejection {
            status,
            title,
            detail: detail.into(),
            basic_challenge: false,
            retry_after_s: None,
        }
    }

    /// The `result` label of `deskbridge_ingest_total` for this refusal.
    fn result(&self) -> &'static str {
        match self.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "refused_auth",
            StatusCode::SERVICE_UNAVAILABLE if self.retry_after_s.is_some() => "refused_backlog",
            status if status.is_server_error() => "failed",
            _ => "refused_body",
        }
    }

    fn into_response(self) -> HttpResponse {
        let mut response = Problem::response(self.status, self.title, self.detail);
        if self.basic_challenge
            && let Ok(value) = "Basic realm=\"deskbridge\"".parse()
        {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What a verified, parsed webhook asks for.
enum Ingestible {
    /// Store and process this event.
    Event(InboundEvent),
    /// Acknowledge without storing.
    Ignored(String),
}

#[derive(Serialize, utoipa::ToSchema)]
struct Ack<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// A unique id for this request, for helpdesks that send none of their own.
fn delivery_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", now_ms())
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn kind_name(kind: HelpdeskKind) -> &'static str {
    match kind {
        HelpdeskKind::Zendesk => "zendesk",
        HelpdeskKind::Freshdesk => "freshdesk",
        HelpdeskKind::Email => "email",
        HelpdeskKind::Generic => "generic",
    }
}

/// `POST /webhooks/{kind}`.
#[utoipa::path(
    post,
    path = "/webhooks/{kind}",
    tag = "webhooks",
    summary = "Receive a webhook for the only helpdesk of this kind",
    params(("kind" = String, Path, description = "`zendesk`, `freshdesk` or `generic`")),
    request_body(content = Object, description = "The helpdesk's webhook body: a Zendesk event or trigger body, a Freshdesk automation body, or a normalized ticket event (schemas/ticket-event.schema.json)"),
    responses(
        (status = 200, description = "Durable on disk (`accepted`), seen before (`duplicate`) or not for Deskbridge (`ignored`)", body = Ack),
        (status = 400, description = "Malformed JSON or an event that does not match its schema", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A missing or bad signature or credentials, or a stale timestamp", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such helpdesk of this kind", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than ingest.max_body_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The event could not be stored, or too many acknowledged events wait for processing (`Retry-After` then says when to deliver again); nothing was stored and the helpdesk should retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn receive_default(
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let kind = path.into_inner();
    let Some(webhooks) = &state.webhooks else {
        return Problem::response(
            StatusCode::NOT_FOUND,
            "Not Found",
            "no helpdesks are configured",
        );
    };
    let candidates: Vec<&String> = webhooks
        .endpoints
        .iter()
        .filter(|(_, e)| kind_name(e.kind()) == kind)
        .map(|(name, _)| name)
        .collect();
    match candidates.as_slice() {
        [only] => {
            let name = (*only).clone();
            receive_named(request, web::Path::from((kind, name)), payload, state).await
        }
        [] => Problem::response(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no `{kind}` helpdesk is configured"),
        ),
        several => Problem::response(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!(
                "several `{kind}` helpdesks are configured; post to /webhooks/{kind}/NAME with NAME one of {}",
                several
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

/// The routes [`dispatch`] serves, as `(method, path pattern)` (the OpenAPI test checks that
/// the description covers them).
pub const ROUTES: [(&str, &str); 2] = [
    ("POST", "/webhooks/{kind}/{helpdesk}"),
    ("POST", "/webhooks/{kind}"),
];

/// Routes `/webhooks/...` by hand, under a static `/webhooks` scope: actix-router matches
/// `{param}` patterns with a regex search per request, which showed in ingest profiles.
/// `POST /webhooks/{kind}/{helpdesk}` and `POST /webhooks/{kind}` go to their handlers; other
/// methods get `405`, other shapes `404`. Segments are taken as sent (helpdesk names and kinds
/// are lowercase ASCII, never percent-encoded).
pub(crate) async fn dispatch(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let segments: Vec<&str> = request
        .path()
        .strip_prefix("/webhooks/")
        .unwrap_or_default()
        .split('/')
        .collect();
    let (kind, name) = match segments.as_slice() {
        [kind] if !kind.is_empty() => ((*kind).to_owned(), None),
        [kind, name] if !kind.is_empty() && !name.is_empty() => {
            ((*kind).to_owned(), Some((*name).to_owned()))
        }
        _ => {
            return Problem::response(
                StatusCode::NOT_FOUND,
                "Not Found",
                format!("no route for {} {}", request.method(), request.path()),
            );
        }
    };
    if request.method() != actix_web::http::Method::POST {
        let mut response = Problem::response(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            format!("webhooks are received with POST, not {}", request.method()),
        );
        response.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static("POST"),
        );
        return response;
    }
    match name {
        Some(name) => receive_named(request, web::Path::from((kind, name)), payload, state).await,
        None => receive_default(request, web::Path::from(kind), payload, state).await,
    }
}

/// `POST /webhooks/{kind}/{helpdesk}`.
#[utoipa::path(
    post,
    path = "/webhooks/{kind}/{helpdesk}",
    tag = "webhooks",
    summary = "Receive a webhook for a named helpdesk",
    params(("kind" = String, Path, description = "`zendesk`, `freshdesk` or `generic`"), ("helpdesk" = String, Path, description = "The helpdesk's name in the config")),
    request_body(content = Object, description = "The helpdesk's webhook body: a Zendesk event or trigger body, a Freshdesk automation body, or a normalized ticket event (schemas/ticket-event.schema.json)"),
    responses(
        (status = 200, description = "Durable on disk (`accepted`), seen before (`duplicate`) or not for Deskbridge (`ignored`)", body = Ack),
        (status = 400, description = "Malformed JSON or an event that does not match its schema", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A missing or bad signature or credentials, or a stale timestamp", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such helpdesk of this kind", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than ingest.max_body_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The event could not be stored, or too many acknowledged events wait for processing (`Retry-After` then says when to deliver again); nothing was stored and the helpdesk should retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn receive_named(
    request: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (kind, name) = path.into_inner();
    let Some(webhooks) = &state.webhooks else {
        return Problem::response(
            StatusCode::NOT_FOUND,
            "Not Found",
            "no helpdesks are configured",
        );
    };
    let Some(endpoint) = webhooks.endpoints.get(&name) else {
        return Problem::response(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no helpdesk named `{name}` is configured"),
        );
    };
    if kind_name(endpoint.kind()) != kind {
        return Problem::response(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!(
                "helpdesk `{name}` is a {} helpdesk, not {kind}",
                kind_name(endpoint.kind())
            ),
        );
    }
    let (response, result) = match handle(&request, payload, webhooks, &name, endpoint).await {
        Ok(answered) => answered,
        Err(rejection) => {
            let result = rejection.result();
            (rejection.into_response(), result)
        }
    };
    deskbridge_core::telemetry::telemetry().inc(
        "deskbridge_ingest_total",
        &[("helpdesk", &name), ("result", result)],
    );
    response
}

async fn handle(
    request: &HttpRequest,
    payload: web::Payload,
    webhooks: &Webhooks,
    name: &str,
    endpoint: &Endpoint,
) -> Result<(HttpResponse, &'static str), Rejection> {
    check_content_type(request)?;
    // Freshdesk's body is unsigned: its credentials are checked before it is read.
    if let Endpoint::Freshdesk(auth) = endpoint {
        check_freshdesk_auth(request, auth)?;
    }
    let body = read_body(request, payload, webhooks.max_body_bytes).await?;
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let now = now_s();
    let (event, source_kind) = match endpoint {
        Endpoint::Zendesk { secret } => {
            let timestamp = header(zendesk::TIMESTAMP_HEADER);
            zendesk::verify(
                secret,
                header(zendesk::SIGNATURE_HEADER),
                timestamp,
                &body,
                now,
                webhooks.tolerance,
            )
            .map_err(unauthorized)?;
            let parsed =
                zendesk_webhook::parse(&body, timestamp.unwrap_or_default()).map_err(bad_body)?;
            (
                notice_event(name, HelpdeskKind::Zendesk, parsed, &webhooks.unknown_keys),
                "zendesk",
            )
        }
        Endpoint::Freshdesk(_) => {
            let parsed = freshdesk_webhook::parse(&body, &delivery_id()).map_err(bad_body)?;
            (
                notice_event(
                    name,
                    HelpdeskKind::Freshdesk,
                    parsed,
                    &webhooks.unknown_keys,
                ),
                "freshdesk",
            )
        }
        Endpoint::Generic { key } => {
            let headers = standard::Headers {
                id: header(standard::ID_HEADER),
                timestamp: header(standard::TIMESTAMP_HEADER),
                signature: header(standard::SIGNATURE_HEADER),
            };
            standard::verify(key, headers, &body, now, webhooks.tolerance).map_err(unauthorized)?;
            let webhook_id = headers.id.unwrap_or_default().to_owned();
            (
                Ingestible::Event(generic_event(name, &webhook_id, &body)?),
                "generic",
            )
        }
    };
    let event = match event {
        Ingestible::Event(mut event) => {
            event.request_id = crate::request_id::of(request);
            event
        }
        Ingestible::Ignored(reason) => {
            let ack = HttpResponse::Ok().json(Ack {
                status: "ignored",
                event_id: None,
                reason: Some(reason),
            });
            return Ok((ack, "ignored"));
        }
    };
    let accepted = webhooks.ingest.accept(event).await.map_err(|e| match e {
        IngestError::Backlogged { pending, limit } => {
            // The pipeline logs when refusing starts and ends; one line per webhook is noise.
            tracing::debug!(helpdesk = name, pending, limit, "refused for the backlog");
            Rejection {
                retry_after_s: Some(BACKLOG_RETRY_AFTER_S),
                ..Rejection::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    format!(
                        "the gateway is behind: {pending} acknowledged events wait for processing (the limit is {limit}); nothing was stored, deliver again later"
                    ),
                )
            }
        }
        IngestError::Store(e) => {
            tracing::error!(helpdesk = name, error = %e, "could not store an event; answering 503 so the helpdesk retries");
            Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "the event could not be stored; retry later",
            )
        }
    })?;
    let (status, event_id) = match accepted {
        Accepted::New { event_id } => ("accepted", event_id),
        Accepted::Duplicate { event_id } => ("duplicate", event_id),
    };
    tracing::debug!(helpdesk = name, kind = source_kind, %event_id, status, "webhook acknowledged");
    let ack = HttpResponse::Ok().json(Ack {
        status,
        event_id: Some(event_id),
        reason: None,
    });
    Ok((ack, status))
}

fn check_content_type(request: &HttpRequest) -> Result<(), Rejection> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            format!("the body must be application/json, not {content_type:?}"),
        ))
    }
}

async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, Rejection> {
    let too_large = || {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload Too Large",
            format!("the body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            Rejection::new(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                format!("reading the body failed: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn unauthorized(error: deskbridge_webhook_auth::SignatureError) -> Rejection {
    Rejection::new(StatusCode::UNAUTHORIZED, "Unauthorized", error.to_string())
}

fn bad_body(error: WebhookError) -> Rejection {
    match error {
        WebhookError::NotJson(_) => {
            Rejection::new(StatusCode::BAD_REQUEST, "Bad Request", error.to_string())
        }
        WebhookError::Field { .. } => Rejection::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable Content",
            error.to_string(),
        ),
    }
}

fn check_freshdesk_auth(request: &HttpRequest, auth: &FreshdeskAuth) -> Result<(), Rejection> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let refuse = |detail: &str, basic: bool| Rejection {
        basic_challenge: basic,
        ..Rejection::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    };
    match auth {
        FreshdeskAuth::Anonymous => Ok(()),
        FreshdeskAuth::Header { name, value } => match header(name) {
            None => Err(refuse(&format!("missing header `{name}`"), false)),
            Some(given) if secrets_equal(given.as_bytes(), value.as_bytes()) => Ok(()),
            Some(_) => Err(refuse(&format!("header `{name}` does not match"), false)),
        },
        FreshdeskAuth::Basic { username, password } => {
            let Some(given) = header(AUTHORIZATION.as_str()) else {
                return Err(refuse("missing basic authentication", true));
            };
            let decoded = given
                .strip_prefix("Basic ")
                .and_then(|b64| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .ok()
                })
                .and_then(|raw| String::from_utf8(raw).ok());
            let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Err(refuse(
                    "the Authorization header is not valid basic authentication",
                    true,
                ));
            };
            // Both compared, always, so timing does not tell which one was wrong.
            let user_ok = secrets_equal(user.as_bytes(), username.as_bytes());
            let pass_ok = secrets_equal(pass.as_bytes(), password.as_bytes());
            if user_ok && pass_ok {
                Ok(())
            } else {
                Err(refuse("wrong user name or password", true))
            }
        }
    }
}

fn notice_event(
    helpdesk: &str,
    kind: HelpdeskKind,
    parsed: Parsed,
    logged: &UnknownKeys,
) -> Ingestible {
    let Notice {
        ticket_id,
        kind_hint,
        origin,
        dedupe_key,
        unknown_keys,
    } = match parsed {
        Parsed::Notice(notice) => notice,
        Parsed::Ignored { reason } => return Ingestible::Ignored(reason),
    };
    logged.log_new(helpdesk, &unknown_keys);
    Ingestible::Event(InboundEvent {
        id: event_id(helpdesk, &dedupe_key),
        dedupe_key,
        helpdesk: helpdesk.to_owned(),
        helpdesk_kind: kind,
        ticket_id,
        received_at_ms: now_ms(),
        source: EventSource::Fetch { kind_hint, origin },
        request_id: None,
    })
}

fn generic_event(helpdesk: &str, webhook_id: &str, body: &[u8]) -> Result<InboundEvent, Rejection> {
    let text = std::str::from_utf8(body).map_err(|_| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "the body is not UTF-8",
        )
    })?;
    let validated = ValidatedEvent::parse(text).map_err(|e| match e {
        EventError::Json(_) => {
            Rejection::new(StatusCode::BAD_REQUEST, "Bad Request", e.to_string())
        }
        _ => Rejection::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable Content",
            e.to_string(),
        ),
    })?;
    let event = validated.into_inner();
    if event.ticket.helpdesk != helpdesk {
        return Err(Rejection::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable Content",
            format!(
                "field `ticket.helpdesk`: {:?} does not match the helpdesk `{helpdesk}` this webhook is for",
                event.ticket.helpdesk
            ),
        ));
    }
    let dedupe_key = format!("webhook-id:{webhook_id}");
    Ok(InboundEvent {
        id: event_id(helpdesk, &dedupe_key),
        dedupe_key,
        helpdesk: helpdesk.to_owned(),
        helpdesk_kind: HelpdeskKind::Generic,
        ticket_id: event.ticket.id.clone(),
        received_at_ms: now_ms(),
        source: EventSource::Normalized(Box::new(event)),
        request_id: None,
    })
}
