//! The Freshdesk API v2 as Deskbridge uses it: `GET /api/v2/tickets/{id}` with
//! `include=conversations,requester` (at most ten conversations embedded), `GET
//! /api/v2/tickets/{id}/conversations` (`page`/`per_page`, `Link: <…>; rel="next"`), `POST
//! /api/v2/tickets/{id}/notes`, `POST /api/v2/tickets/{id}/reply`, `PUT /api/v2/tickets/{id}`
//! and `POST /api/v2/tickets`. Basic auth with the API key as user and `X` as password;
//! statuses 2–5 and priorities 1–4 as numbers. Automation webhooks carry no signature: the
//! simulator authenticates them with basic auth or a header, as a Freshdesk admin would.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::SimOptions;
use crate::common::{
    API_AGENT_ID, ApiError, Applied, Change, Comment, Inner, Sim, Ticket, WebhookTarget,
    now_rfc3339, ticket_id,
};

/// Conversations `include=conversations` embeds.
const EMBEDDED: usize = 10;
const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v2/tickets", web::post().to(create))
        .route("/api/v2/tickets/{id}", web::get().to(show))
        .route("/api/v2/tickets/{id}", web::put().to(update))
        .route(
            "/api/v2/tickets/{id}/conversations",
            web::get().to(conversations),
        )
        .route("/api/v2/tickets/{id}/notes", web::post().to(note))
        .route("/api/v2/tickets/{id}/reply", web::post().to(reply))
        .route("/api/v2/agents/me", web::get().to(me));
}

/// `GET /api/v2/agents/me`: the agent whose API key authenticates the request.
async fn me(sim: web::Data<Sim>, request: HttpRequest) -> HttpResponse {
    sim.api(&request, |_| {
        Ok(Applied::ok(json!({
            "id": 1, "available": true, "occasional": false,
            "contact": { "name": "Simulated Agent", "email": "agent@example.com", "active": true }
        })))
    })
    .await
}

pub(crate) fn authorized(request: &HttpRequest, options: &SimOptions) -> bool {
    let decoded = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|d| String::from_utf8(d).ok());
    // Freshdesk ignores the password when the user is an API key.
    decoded.is_some_and(|d| {
        d.split_once(':')
            .is_some_and(|(user, _)| user == options.token)
    })
}

pub(crate) fn not_found() -> ApiError {
    (
        StatusCode::NOT_FOUND,
        json!({"code": "access_denied", "message": "The requested resource could not be found"}),
    )
}

fn validation(field: &str, message: &str, code: &str) -> ApiError {
    (
        StatusCode::BAD_REQUEST,
        json!({"description": "Validation failed", "errors": [{"field": field, "message": message, "code": code}]}),
    )
}

fn html(text: &str) -> String {
    format!("<div>{}</div>", text.replace('\n', "<br>"))
}

fn conversation_json(ticket: &Ticket, comment: &Comment) -> Value {
    // Notes are stored as sent (HTML); the text form drops the tags roughly as Freshdesk does.
    let text = strip_tags(&comment.body);
    json!({
        "id": comment.id,
        "body": if comment.body.starts_with('<') { comment.body.clone() } else { html(&comment.body) },
        "body_text": text,
        // Freshdesk marks what contacts (the requester, or anyone copied) wrote as incoming;
        // the simulator's one agent is the API user, every other user is a contact.
        "incoming": comment.author_id != API_AGENT_ID,
        "private": !comment.public,
        "user_id": comment.author_id,
        "support_email": null,
        "source": if comment.public { 0 } else { 2 },
        "ticket_id": ticket.id,
        "created_at": comment.created_at,
        "updated_at": comment.created_at,
    })
}

fn strip_tags(body: &str) -> String {
    let with_breaks = body
        .replace("<br>", "\n")
        .replace("</p><p>", "\n")
        .replace("</div><p>", "\n");
    let mut out = String::with_capacity(with_breaks.len());
    let mut in_tag = false;
    for c in with_breaks.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn ticket_json(inner: &Inner, ticket: &Ticket, include: &[&str]) -> Value {
    let first = ticket.comments.first();
    let mut value = json!({
        "id": ticket.id,
        "subject": ticket.subject,
        "description": first.map(|c| html(&c.body)).unwrap_or_default(),
        "description_text": first.map(|c| c.body.clone()).unwrap_or_default(),
        "status": ticket.status_code,
        "priority": ticket.priority_code,
        "source": 2,
        "tags": ticket.tags,
        "requester_id": ticket.requester_id,
        "responder_id": null,
        "type": null,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    });
    if include.contains(&"conversations") {
        value["conversations"] = ticket
            .comments
            .iter()
            .skip(1)
            .take(EMBEDDED)
            .map(|c| conversation_json(ticket, c))
            .collect();
    }
    if include.contains(&"requester")
        && let Some(user) = inner.users.get(&ticket.requester_id)
    {
        value["requester"] = json!({"id": user.id, "name": user.name, "email": user.email, "mobile": null, "phone": null});
    }
    value
}

async fn show(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let id = ticket_id(&id);
    sim.api(&request, |inner| {
        let include: Vec<&str> = query.get("include").map(|s| s.split(',').map(str::trim).collect()).unwrap_or_default();
        if let Some(bad) = include.iter().find(|i| !["conversations", "requester", "company", "stats"].contains(i)) {
            return Err(validation("include", &format!("It should be one/many of: 'conversations','requester','company','stats' ({bad})"), "invalid_value"));
        }
        let ticket = id.and_then(|id| inner.tickets.get(&id)).ok_or_else(not_found)?;
        Ok(Applied::ok(ticket_json(inner, ticket, &include)))
    })
    .await
}

async fn conversations(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let id = ticket_id(&id);
    let path = request.path().to_owned();
    let host = request.connection_info().host().to_owned();
    sim.api(&request, |inner| {
        let ticket = id
            .and_then(|id| inner.tickets.get(&id))
            .ok_or_else(not_found)?;
        let items = ticket
            .comments
            .iter()
            .skip(1)
            .map(|c| conversation_json(ticket, c))
            .collect();
        numbered_page(items, &query, &host, &path)
    })
    .await
}

/// One page of `items` the Freshdesk way: `page` and `per_page` (30 by default, 100 at most,
/// refused with Freshdesk's validation error otherwise) and a `link: <…>; rel="next"` header
/// while more pages follow.
pub(crate) fn numbered_page(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    host: &str,
    path: &str,
) -> Result<Applied, ApiError> {
    let per_page = match query.get("per_page").map(|s| s.parse::<usize>()) {
        None => DEFAULT_PER_PAGE,
        Some(Ok(n)) if (1..=MAX_PER_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(validation(
                "per_page",
                "It should be a Positive Integer less than or equal to 100",
                "invalid_value",
            ));
        }
    };
    let page = match query.get("page").map(|s| s.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            return Err(validation(
                "page",
                "It should be a Positive Integer",
                "invalid_value",
            ));
        }
    };
    let start = (page - 1) * per_page;
    let total = items.len();
    let mut applied = Applied::ok(Value::Array(
        items.into_iter().skip(start).take(per_page).collect(),
    ));
    if start + per_page < total {
        applied.headers.push((
            "link".into(),
            format!(
                "<http://{host}{path}?page={}&per_page={per_page}>; rel=\"next\"",
                page + 1
            ),
        ));
    }
    Ok(applied)
}

async fn note(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    add(sim, request, id, body, false).await
}

async fn reply(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    add(sim, request, id, body, true).await
}

async fn add(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
    public_reply: bool,
) -> HttpResponse {
    let id = ticket_id(&id);
    sim.api(&request, move |inner| {
        let body: Value = serde_json::from_slice(&body).map_err(|_| {
            validation(
                "body",
                "Request body has invalid json format",
                "invalid_json",
            )
        })?;
        let text = body["body"]
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| validation("body", "Mandatory attribute missing", "missing_field"))?;
        let public = public_reply || body["private"].as_bool() == Some(false);
        let id = id
            .filter(|id| inner.tickets.contains_key(id))
            .ok_or_else(not_found)?;
        let comment_id = inner
            .add_comment(id, API_AGENT_ID, text, public)
            .ok_or_else(not_found)?;
        let ticket = inner.tickets.get(&id).ok_or_else(not_found)?;
        let comment = ticket
            .comments
            .iter()
            .find(|c| c.id == comment_id)
            .ok_or_else(not_found)?;
        Ok(Applied {
            status: StatusCode::CREATED,
            changes: vec![Change::CommentAdded {
                ticket: id,
                comment: comment_id,
            }],
            ..Applied::ok(conversation_json(ticket, comment))
        })
    })
    .await
}

async fn update(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let id = ticket_id(&id);
    sim.api(&request, move |inner| {
        let body: Value = serde_json::from_slice(&body).map_err(|_| {
            validation(
                "body",
                "Request body has invalid json format",
                "invalid_json",
            )
        })?;
        let id = id
            .filter(|id| inner.tickets.contains_key(id))
            .ok_or_else(not_found)?;
        if let Some(p) = body.get("priority") {
            match p.as_u64() {
                Some(n @ 1..=4) => {
                    if let Some(t) = inner.tickets.get_mut(&id) {
                        t.priority_code = u8::try_from(n).unwrap_or(2);
                    }
                }
                _ => {
                    return Err(validation(
                        "priority",
                        "It should be one of these values: '1,2,3,4'",
                        "invalid_value",
                    ));
                }
            }
        }
        if let Some(s) = body.get("status") {
            match s.as_u64() {
                Some(n @ 2..=7) => {
                    if let Some(t) = inner.tickets.get_mut(&id) {
                        t.status_code = u8::try_from(n).unwrap_or(2);
                    }
                }
                _ => {
                    return Err(validation(
                        "status",
                        "It should be one of these values: '2,3,4,5,6,7'",
                        "invalid_value",
                    ));
                }
            }
        }
        if let Some(tags) = body.get("tags") {
            let Some(tags) = tags.as_array() else {
                return Err(validation(
                    "tags",
                    "It should be an Array",
                    "datatype_mismatch",
                ));
            };
            if let Some(t) = inner.tickets.get_mut(&id) {
                t.tags = tags
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect();
            }
        }
        let ticket = inner.tickets.get_mut(&id).ok_or_else(not_found)?;
        ticket.updated_at = now_rfc3339();
        let ticket = ticket.clone();
        Ok(Applied::ok(ticket_json(inner, &ticket, &[])))
    })
    .await
}

async fn create(sim: web::Data<Sim>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    sim.api(&request, move |inner| {
        let body: Value = serde_json::from_slice(&body)
            .map_err(|_| validation("body", "Request body has invalid json format", "invalid_json"))?;
        let email = body["email"].as_str().ok_or_else(|| validation("requester_id", "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields", "missing_field"))?;
        let description = body["description"].as_str().ok_or_else(|| validation("description", "Mandatory attribute missing", "missing_field"))?;
        let requester = inner.requester(body["name"].as_str().unwrap_or("Customer"), email);
        let priority = match body["priority"].as_u64() {
            Some(1) => Some("low"),
            Some(3) => Some("high"),
            Some(4) => Some("urgent"),
            _ => None,
        };
        let id = inner.create_ticket(body["subject"].as_str().unwrap_or_default(), description, requester, priority);
        let ticket = inner.tickets.get(&id).ok_or_else(not_found)?.clone();
        Ok(Applied {
            status: StatusCode::CREATED,
            changes: vec![Change::Created { ticket: id }],
            ..Applied::ok(ticket_json(inner, &ticket, &[]))
        })
    })
    .await
}

/// The automation webhook a Freshdesk rule would send for `change`: on creation and on the
/// requester's replies (the usual rule conditions), with the documented body.
pub(crate) fn webhook(
    inner: &Inner,
    target: &WebhookTarget,
    change: Change,
) -> Option<(Value, Vec<(String, String)>)> {
    let (ticket_id, triggered) = match change {
        Change::Created { ticket } => (ticket, "{ticket_action:created}"),
        Change::CommentAdded { ticket, comment } => {
            let t = inner.tickets.get(&ticket)?;
            let c = t.comments.iter().find(|c| c.id == comment)?;
            if c.author_id != t.requester_id {
                return None;
            }
            (ticket, "{reply_sent:customer}")
        }
    };
    let body = json!({"freshdesk_webhook": {"ticket_id": ticket_id.to_string(), "triggered_event": triggered}});
    let mut headers = Vec::new();
    if let Some((user, password)) = &target.basic {
        headers.push((
            "Authorization".to_owned(),
            format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))),
        ));
    }
    if let Some((name, value)) = &target.header {
        headers.push((name.clone(), value.clone()));
    }
    Some((body, headers))
}
