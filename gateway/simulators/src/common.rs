//! What both simulators share: the ticket store, authentication and rate-limit plumbing, fault
//! injection, request and webhook logs, and the `/_sim/` control API.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Vendor, freshdesk, zendesk};

/// How a simulator is set up.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Which vendor.
    pub vendor: Vendor,
    /// Zendesk: the agent email for API-token auth.
    pub email: String,
    /// Zendesk: API token (also accepted as an OAuth bearer token). Freshdesk: the API key.
    pub token: String,
    /// Requests per minute before `429`.
    pub rate_limit_per_minute: u32,
}

/// A fault to inject into the next matching API request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// HTTP method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Path prefix to match (any when absent).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// What to do.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// The kinds of fault.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status without applying anything (`429` carries `Retry-After`).
    Status {
        /// HTTP status.
        status: u16,
        /// Seconds for `Retry-After`.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait, then handle the request normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Apply the request, then wait this long before answering (longer than the client's
    /// timeout makes "the write happened but the caller saw a timeout").
    ApplyThenDelay {
        /// Milliseconds.
        ms: u64,
    },
    /// Apply the request, then answer with this status anyway.
    ApplyThenStatus {
        /// HTTP status.
        status: u16,
    },
}

/// A user (requester or agent).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) agent: bool,
}

/// A comment (Zendesk) or conversation (Freshdesk); the ticket's first message is one too.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comment {
    pub(crate) id: u64,
    pub(crate) author_id: u64,
    pub(crate) body: String,
    pub(crate) public: bool,
    pub(crate) created_at: String,
}

/// A ticket.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ticket {
    pub(crate) id: u64,
    pub(crate) subject: String,
    /// Zendesk status name (`new`, `open`, …); Freshdesk keeps its number in `status_code`.
    pub(crate) status: String,
    pub(crate) status_code: u8,
    /// Zendesk priority name or null; Freshdesk keeps its number in `priority_code`.
    pub(crate) priority: Option<String>,
    pub(crate) priority_code: u8,
    pub(crate) tags: Vec<String>,
    pub(crate) requester_id: u64,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) comments: Vec<Comment>,
}

/// A logged API request.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LoggedRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) fault: Option<String>,
}

/// A webhook the simulator fired.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FiredWebhook {
    pub(crate) url: String,
    pub(crate) body: Value,
    pub(crate) status: Option<u16>,
    pub(crate) response: String,
}

/// Where webhooks go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookTarget {
    pub(crate) url: String,
    /// Zendesk: the signing secret.
    #[serde(default)]
    pub(crate) secret: Option<String>,
    /// Zendesk: `event` (event subscription, fires on every comment) or `trigger`
    /// (trigger-style body, fires on creation and customer comments).
    #[serde(default)]
    pub(crate) style: Option<String>,
    /// Freshdesk: basic auth user and password.
    #[serde(default)]
    pub(crate) basic: Option<(String, String)>,
    /// Freshdesk: a header name and value.
    #[serde(default)]
    pub(crate) header: Option<(String, String)>,
}

/// A webhook to send: URL, body, headers.
type Delivery = (String, Value, Vec<(String, String)>);

/// A change that may fire a webhook.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    Created { ticket: u64 },
    CommentAdded { ticket: u64, comment: u64 },
}

pub(crate) struct Inner {
    pub(crate) tickets: BTreeMap<u64, Ticket>,
    /// Macros, canned responses and articles (`knowledge.rs`).
    pub(crate) knowledge: BTreeMap<u64, crate::knowledge::Item>,
    pub(crate) users: BTreeMap<u64, User>,
    next_id: u64,
    faults: VecDeque<Fault>,
    requests: Vec<LoggedRequest>,
    webhooks: Vec<FiredWebhook>,
    pub(crate) target: Option<WebhookTarget>,
    window_start: Instant,
    window_count: u32,
}

/// The agent the API credentials belong to.
pub(crate) const API_AGENT_ID: u64 = 1000;

impl Inner {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The requester with this email, created if new.
    pub(crate) fn requester(&mut self, name: &str, email: &str) -> u64 {
        if let Some(user) = self.users.values().find(|u| u.email == email) {
            return user.id;
        }
        let id = self.next_id();
        self.users.insert(
            id,
            User {
                id,
                name: name.to_owned(),
                email: email.to_owned(),
                agent: false,
            },
        );
        id
    }

    /// Creates a ticket with its first message from the requester.
    pub(crate) fn create_ticket(
        &mut self,
        subject: &str,
        body: &str,
        requester_id: u64,
        priority: Option<&str>,
    ) -> u64 {
        let id = self.next_id();
        let comment = self.next_id();
        let now = now_rfc3339();
        let (priority_name, priority_code) = match priority {
            Some("low") => (Some("low"), 1),
            Some("high") => (Some("high"), 3),
            Some("urgent") => (Some("urgent"), 4),
            Some("normal") => (Some("normal"), 2),
            _ => (None, 2),
        };
        self.tickets.insert(
            id,
            Ticket {
                id,
                subject: subject.to_owned(),
                status: "new".into(),
                status_code: 2,
                priority: priority_name.map(str::to_owned),
                priority_code,
                tags: Vec::new(),
                requester_id,
                created_at: now.clone(),
                updated_at: now.clone(),
                comments: vec![Comment {
                    id: comment,
                    author_id: requester_id,
                    body: body.to_owned(),
                    public: true,
                    created_at: now,
                }],
            },
        );
        id
    }

    /// Adds a message to a ticket; returns its id.
    pub(crate) fn add_comment(
        &mut self,
        ticket: u64,
        author_id: u64,
        body: &str,
        public: bool,
    ) -> Option<u64> {
        let id = self.next_id();
        let ticket = self.tickets.get_mut(&ticket)?;
        let now = now_rfc3339();
        ticket.updated_at = now.clone();
        ticket.comments.push(Comment {
            id,
            author_id,
            body: body.to_owned(),
            public,
            created_at: now,
        });
        Some(id)
    }
}

/// A simulator's state.
pub(crate) struct Sim {
    pub(crate) options: SimOptions,
    pub(crate) inner: Mutex<Inner>,
    http: reqwest::Client,
}

/// What an API operation produced.
pub(crate) struct Applied {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) changes: Vec<Change>,
}

impl Applied {
    pub(crate) fn ok(body: Value) -> Applied {
        Applied {
            status: StatusCode::OK,
            body,
            headers: Vec::new(),
            changes: Vec::new(),
        }
    }
}

/// An API error: status and vendor-shaped body.
pub(crate) type ApiError = (StatusCode, Value);

impl Sim {
    pub(crate) fn new(options: SimOptions) -> Sim {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Sim {
            options,
            inner: Mutex::new(Inner {
                tickets: BTreeMap::new(),
                knowledge: BTreeMap::new(),
                users: BTreeMap::from([(
                    API_AGENT_ID,
                    User {
                        id: API_AGENT_ID,
                        name: "API Agent".into(),
                        email: "agent@example.com".into(),
                        agent: true,
                    },
                )]),
                next_id: API_AGENT_ID,
                faults: VecDeque::new(),
                requests: Vec::new(),
                webhooks: Vec::new(),
                target: None,
                window_start: Instant::now(),
                window_count: 0,
            }),
            http,
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_fault(inner: &mut Inner, method: &str, path: &str) -> Option<FaultKind> {
        let index = inner.faults.iter().position(|f| {
            f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        })?;
        let fault = &mut inner.faults[index];
        let kind = fault.kind.clone();
        fault.times = fault.times.saturating_sub(1);
        if fault.times == 0 {
            inner.faults.remove(index);
        }
        Some(kind)
    }

    /// Counts a request against the rate limit; `Err(seconds)` when over it.
    fn rate(inner: &mut Inner, limit: u32) -> Result<u32, u64> {
        if inner.window_start.elapsed() >= Duration::from_secs(60) {
            inner.window_start = Instant::now();
            inner.window_count = 0;
        }
        if inner.window_count >= limit {
            let left = Duration::from_secs(60).saturating_sub(inner.window_start.elapsed());
            return Err(left.as_secs().max(1));
        }
        inner.window_count += 1;
        Ok(limit - inner.window_count)
    }

    /// Runs one API request through auth, rate limit and faults, then `op`.
    pub(crate) async fn api(
        self: &std::sync::Arc<Self>,
        request: &HttpRequest,
        op: impl FnOnce(&mut Inner) -> Result<Applied, ApiError>,
    ) -> HttpResponse {
        let method = request.method().as_str().to_owned();
        let path = request.path().to_owned();
        let limit = self.options.rate_limit_per_minute;
        let authorized = match self.options.vendor {
            Vendor::Zendesk => zendesk::authorized(request, &self.options),
            Vendor::Freshdesk => freshdesk::authorized(request, &self.options),
        };
        let (fault, remaining) = {
            let mut inner = self.lock();
            if !authorized {
                inner.requests.push(logged(&method, &path, 401, None));
                drop(inner);
                let body = match self.options.vendor {
                    Vendor::Zendesk => json!({"error": "Couldn't authenticate you"}),
                    Vendor::Freshdesk => {
                        json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."})
                    }
                };
                return HttpResponse::Unauthorized().json(body);
            }
            let remaining = match Self::rate(&mut inner, limit) {
                Ok(remaining) => remaining,
                Err(retry_after) => {
                    inner
                        .requests
                        .push(logged(&method, &path, 429, Some("rate limit".into())));
                    drop(inner);
                    return self.too_many(retry_after, limit);
                }
            };
            (Self::take_fault(&mut inner, &method, &path), remaining)
        };
        let fault_name = fault.as_ref().map(|f| format!("{f:?}"));
        match &fault {
            Some(FaultKind::Status {
                status,
                retry_after,
            }) => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                self.lock()
                    .requests
                    .push(logged(&method, &path, status.as_u16(), fault_name));
                if status == StatusCode::TOO_MANY_REQUESTS {
                    return self.too_many(retry_after.unwrap_or(1), limit);
                }
                return HttpResponse::build(status)
                    .json(json!({"error": "injected fault", "status": status.as_u16()}));
            }
            Some(FaultKind::Delay { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
            _ => {}
        }
        let result = {
            let mut inner = self.lock();
            op(&mut inner)
        };
        let mut response = match result {
            Ok(applied) => {
                self.fire(&applied.changes);
                match &fault {
                    Some(FaultKind::ApplyThenDelay { ms }) => {
                        // Logged when applied: the caller may give up before the answer.
                        self.lock().requests.push(logged(
                            &method,
                            &path,
                            applied.status.as_u16(),
                            fault_name,
                        ));
                        tokio::time::sleep(Duration::from_millis(*ms)).await;
                        let mut response = HttpResponse::build(applied.status);
                        for (name, value) in &applied.headers {
                            response.insert_header((name.as_str(), value.as_str()));
                        }
                        return response.json(applied.body);
                    }
                    Some(FaultKind::ApplyThenStatus { status }) => {
                        let status = StatusCode::from_u16(*status)
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        self.lock().requests.push(logged(
                            &method,
                            &path,
                            status.as_u16(),
                            fault_name,
                        ));
                        return HttpResponse::build(status)
                            .json(json!({"error": "injected fault after applying"}));
                    }
                    _ => {}
                }
                self.lock().requests.push(logged(
                    &method,
                    &path,
                    applied.status.as_u16(),
                    fault_name,
                ));
                let mut response = HttpResponse::build(applied.status);
                for (name, value) in &applied.headers {
                    response.insert_header((name.as_str(), value.as_str()));
                }
                response.json(applied.body)
            }
            Err((status, body)) => {
                self.lock()
                    .requests
                    .push(logged(&method, &path, status.as_u16(), fault_name));
                HttpResponse::build(status).json(body)
            }
        };
        for (name, value) in self.quota_headers(limit, remaining) {
            if let (Ok(name), Ok(value)) = (
                actix_web::http::header::HeaderName::from_bytes(name.as_bytes()),
                actix_web::http::header::HeaderValue::from_str(&value),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }

    fn quota_headers(&self, limit: u32, remaining: u32) -> Vec<(String, String)> {
        let reset = {
            let inner = self.lock();
            Duration::from_secs(60)
                .saturating_sub(inner.window_start.elapsed())
                .as_secs()
                .max(1)
        };
        match self.options.vendor {
            Vendor::Zendesk => vec![
                ("x-rate-limit".into(), limit.to_string()),
                ("x-rate-limit-remaining".into(), remaining.to_string()),
                ("ratelimit-limit".into(), limit.to_string()),
                ("ratelimit-remaining".into(), remaining.to_string()),
                ("ratelimit-reset".into(), reset.to_string()),
            ],
            Vendor::Freshdesk => vec![
                ("x-ratelimit-total".into(), limit.to_string()),
                ("x-ratelimit-remaining".into(), remaining.to_string()),
                ("x-ratelimit-used-currentrequest".into(), "1".into()),
            ],
        }
    }

    fn too_many(&self, retry_after: u64, limit: u32) -> HttpResponse {
        let mut response = HttpResponse::TooManyRequests();
        for (name, value) in self.quota_headers(limit, 0) {
            if name != "ratelimit-reset" {
                response.insert_header((name, value));
            }
        }
        response.insert_header(("retry-after", retry_after.to_string()));
        if self.options.vendor == Vendor::Zendesk {
            response.insert_header(("ratelimit-reset", retry_after.to_string()));
        }
        match self.options.vendor {
            Vendor::Zendesk => response.json(json!({"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"})),
            Vendor::Freshdesk => response.json(json!({"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"})),
        }
    }

    /// Fires the webhooks for `changes` in the background.
    pub(crate) fn fire(self: &std::sync::Arc<Self>, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let deliveries: Vec<Delivery> = {
            let inner = self.lock();
            let Some(target) = inner.target.clone() else {
                return;
            };
            changes
                .iter()
                .filter_map(|change| {
                    let built = match self.options.vendor {
                        Vendor::Zendesk => zendesk::webhook(&inner, &target, *change),
                        Vendor::Freshdesk => freshdesk::webhook(&inner, &target, *change),
                    };
                    built.map(|(body, headers)| (target.url.clone(), body, headers))
                })
                .collect()
        };
        for (url, body, headers) in deliveries {
            let sim = self.clone();
            actix_web::rt::spawn(async move {
                let bytes = serde_json::to_vec(&body).unwrap_or_default();
                let mut request = sim
                    .http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(bytes);
                for (name, value) in &headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                let (status, response) = match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        (Some(status), response.text().await.unwrap_or_default())
                    }
                    Err(e) => (None, e.to_string()),
                };
                tracing::info!(%url, ?status, "webhook fired");
                sim.lock().webhooks.push(FiredWebhook {
                    url,
                    body,
                    status,
                    response,
                });
            });
        }
    }
}

fn logged(method: &str, path: &str, status: u16, fault: Option<String>) -> LoggedRequest {
    LoggedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        status,
        fault,
    }
}

/// Now as RFC 3339 with seconds, as both vendors write timestamps.
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The `/_sim/` control API.
pub(crate) fn control_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/_sim/faults", web::post().to(add_faults))
        .route("/_sim/faults", web::delete().to(clear_faults))
        .route("/_sim/requests", web::get().to(requests))
        .route("/_sim/webhooks", web::get().to(webhooks))
        .route("/_sim/webhook", web::put().to(set_target))
        .route("/_sim/tickets", web::post().to(create_ticket))
        .route("/_sim/tickets", web::get().to(all_tickets))
        .route("/_sim/tickets/{id}", web::get().to(one_ticket))
        .route("/_sim/tickets/{id}/messages", web::post().to(add_message))
        .configure(crate::knowledge::control_routes);
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Fault),
    Many(Vec<Fault>),
}

async fn add_faults(sim: web::Data<Sim>, faults: web::Json<OneOrMany>) -> HttpResponse {
    let faults = match faults.into_inner() {
        OneOrMany::One(f) => vec![f],
        OneOrMany::Many(f) => f,
    };
    sim.lock().faults.extend(faults);
    HttpResponse::NoContent().finish()
}

async fn clear_faults(sim: web::Data<Sim>) -> HttpResponse {
    sim.lock().faults.clear();
    HttpResponse::NoContent().finish()
}

async fn requests(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(&sim.lock().requests)
}

async fn webhooks(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(&sim.lock().webhooks)
}

async fn set_target(sim: web::Data<Sim>, target: web::Json<WebhookTarget>) -> HttpResponse {
    sim.lock().target = Some(target.into_inner());
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTicket {
    subject: String,
    body: String,
    requester_name: String,
    requester_email: String,
    #[serde(default)]
    priority: Option<String>,
}

async fn create_ticket(sim: web::Data<Sim>, new: web::Json<NewTicket>) -> HttpResponse {
    let id = {
        let mut inner = sim.lock();
        let requester = inner.requester(&new.requester_name, &new.requester_email);
        inner.create_ticket(&new.subject, &new.body, requester, new.priority.as_deref())
    };
    sim.fire(&[Change::Created { ticket: id }]);
    HttpResponse::Created().json(json!({ "ticket_id": id }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    body: String,
    /// `customer` (the requester), `agent`, or `cc`: another end user copied on the ticket
    /// (named by `author_email`, created if new).
    author: String,
    /// The copied end user's email (`cc` only).
    #[serde(default)]
    author_email: Option<String>,
    #[serde(default = "yes")]
    public: bool,
}

fn yes() -> bool {
    true
}

async fn add_message(
    sim: web::Data<Sim>,
    id: web::Path<u64>,
    new: web::Json<NewMessage>,
) -> HttpResponse {
    let id = id.into_inner();
    let comment = {
        let mut inner = sim.lock();
        let Some(ticket) = inner.tickets.get(&id) else {
            return HttpResponse::NotFound().json(json!({"error": "no such ticket"}));
        };
        let requester = ticket.requester_id;
        let author = match (new.author.as_str(), &new.author_email) {
            ("customer", None) => requester,
            ("agent", None) => API_AGENT_ID,
            ("cc", Some(email)) => inner.requester("Copied Colleague", email),
            (other, _) => {
                return HttpResponse::BadRequest().json(json!({"error": format!(
                    "author must be customer or agent, or cc with author_email; not {other}"
                )}));
            }
        };
        inner.add_comment(id, author, &new.body, new.public)
    };
    match comment {
        Some(comment) => {
            sim.fire(&[Change::CommentAdded {
                ticket: id,
                comment,
            }]);
            HttpResponse::Created().json(json!({ "comment_id": comment }))
        }
        None => HttpResponse::NotFound().json(json!({"error": "no such ticket"})),
    }
}

async fn all_tickets(sim: web::Data<Sim>) -> HttpResponse {
    let inner = sim.lock();
    HttpResponse::Ok().json(inner.tickets.values().collect::<Vec<_>>())
}

async fn one_ticket(sim: web::Data<Sim>, id: web::Path<u64>) -> HttpResponse {
    match sim.lock().tickets.get(&id.into_inner()) {
        Some(ticket) => HttpResponse::Ok().json(ticket),
        None => HttpResponse::NotFound().json(json!({"error": "no such ticket"})),
    }
}

/// Reads a path segment as a ticket id (Zendesk also accepts a `.json` suffix).
pub(crate) fn ticket_id(segment: &str) -> Option<u64> {
    segment
        .strip_suffix(".json")
        .unwrap_or(segment)
        .parse()
        .ok()
}
