//! The Zendesk Support API v2 as Deskbridge uses it: `GET /api/v2/tickets/{id}`, `GET
//! /api/v2/tickets/{id}/comments` (cursor pagination: `page[size]`, `page[after]`,
//! `meta.has_more`, `meta.after_cursor`, `links.next`; `include=users` side-loads the
//! authors with their `role`), `GET /api/v2/users/{id}`, `PUT
//! /api/v2/tickets/{id}` (comment, `additional_tags`, priority) and `POST /api/v2/tickets`.
//! Auth is basic `{email}/token:{token}` or an OAuth bearer token. Webhooks are signed with
//! `X-Zendesk-Webhook-Signature` over timestamp + body.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::SimOptions;
use crate::common::{
    API_AGENT_ID, ApiError, Applied, Change, Comment, Inner, Sim, Ticket, User, WebhookTarget,
    now_rfc3339, ticket_id,
};

const MAX_PAGE_SIZE: usize = 100;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v2/tickets", web::post().to(create))
        .route("/api/v2/tickets.json", web::post().to(create))
        .route("/api/v2/tickets/{id}", web::get().to(show))
        .route("/api/v2/tickets/{id}", web::put().to(update))
        .route("/api/v2/tickets/{id}/comments", web::get().to(comments))
        .route(
            "/api/v2/tickets/{id}/comments.json",
            web::get().to(comments),
        )
        .route("/api/v2/users/me", web::get().to(me))
        .route("/api/v2/users/me.json", web::get().to(me))
        .route("/api/v2/users/{id}", web::get().to(user));
}

/// `GET /api/v2/users/me`: the authenticated agent (the API-token user).
async fn me(sim: web::Data<Sim>, request: HttpRequest) -> HttpResponse {
    let email = sim.options.email.clone();
    sim.api(&request, move |_| {
        Ok(Applied::ok(json!({ "user": {
            "id": 1, "name": "Simulated Agent", "email": email, "role": "admin", "active": true
        } })))
    })
    .await
}

fn bad_page(description: &str) -> ApiError {
    (
        StatusCode::BAD_REQUEST,
        json!({"error": "InvalidPaginationParameter", "description": description}),
    )
}

/// One page of `items` the Zendesk cursor way (`page[size]` up to 100, `page[after]`), under
/// `key`, with `meta` and `links`; `path` is the list's path without `.json`.
pub(crate) fn cursor_page(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    key: &str,
    path: &str,
) -> Result<Value, ApiError> {
    let size = match query.get("page[size]") {
        None => MAX_PAGE_SIZE,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| bad_page("page[size] must be 1 to 100"))?,
    };
    let start = match query.get("page[after]") {
        None => 0,
        Some(cursor) => STANDARD
            .decode(cursor)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| bad_page("page[after] is not a valid cursor"))?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let end = start + page.len();
    let has_more = end < total;
    let after = STANDARD.encode(end.to_string());
    let before = STANDARD.encode(start.to_string());
    let base = format!("{path}.json?page[size]={size}");
    Ok(json!({
        key: page,
        "meta": { "has_more": has_more, "after_cursor": after, "before_cursor": before },
        "links": {
            "next": if has_more { Value::String(format!("{base}&page[after]={after}")) } else { Value::Null },
            "prev": if start > 0 { Value::String(format!("{base}&page[before]={before}")) } else { Value::Null },
        },
    }))
}

pub(crate) fn authorized(request: &HttpRequest, options: &SimOptions) -> bool {
    let Some(header) = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(token) = header.strip_prefix("Bearer ") {
        return token == options.token;
    }
    let Some(encoded) = header.strip_prefix("Basic ") else {
        return false;
    };
    let Some(decoded) = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
    else {
        return false;
    };
    decoded == format!("{}/token:{}", options.email, options.token)
}

fn not_found() -> ApiError {
    (
        StatusCode::NOT_FOUND,
        json!({"error": "RecordNotFound", "description": "Not found"}),
    )
}

fn invalid(field: &str, problem: &str) -> ApiError {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": { field: [{ "description": problem }] }
        }),
    )
}

fn ticket_json(ticket: &Ticket) -> Value {
    json!({
        "id": ticket.id,
        "url": format!("/api/v2/tickets/{}.json", ticket.id),
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.comments.first().map(|c| c.body.as_str()).unwrap_or_default(),
        "status": ticket.status,
        "priority": ticket.priority,
        "tags": ticket.tags,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.requester_id,
        "assignee_id": null,
        "via": { "channel": "web" },
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    })
}

fn comment_json(comment: &Comment) -> Value {
    json!({
        "id": comment.id,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": format!("<p>{}</p>", comment.body),
        "plain_body": comment.body,
        "public": comment.public,
        "created_at": comment.created_at,
        "via": { "channel": "api" },
    })
}

async fn show(sim: web::Data<Sim>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let id = ticket_id(&id);
    sim.api(&request, |inner| {
        let ticket = id
            .and_then(|id| inner.tickets.get(&id))
            .ok_or_else(not_found)?;
        Ok(Applied::ok(json!({ "ticket": ticket_json(ticket) })))
    })
    .await
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": if user.agent { "agent" } else { "end-user" },
        "locale": "en-US",
    })
}

async fn user(sim: web::Data<Sim>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let id = ticket_id(&id);
    sim.api(&request, |inner| {
        let user = id
            .and_then(|id| inner.users.get(&id))
            .ok_or_else(not_found)?;
        Ok(Applied::ok(json!({ "user": user_json(user) })))
    })
    .await
}

async fn comments(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let id = ticket_id(&id);
    sim.api(&request, |inner| {
        let ticket = id
            .and_then(|id| inner.tickets.get(&id))
            .ok_or_else(not_found)?;
        let all: Vec<Value> = ticket.comments.iter().map(comment_json).collect();
        let path = format!("/api/v2/tickets/{}/comments", ticket.id);
        let mut body = cursor_page(all, &query, "comments", &path)?;
        // `include=users` side-loads the authors of the page's comments, with their role.
        let mut ids: Vec<u64> = body["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["author_id"].as_u64())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let users: Vec<Value> = if query
            .get("include")
            .is_some_and(|i| i.split(',').any(|x| x == "users"))
        {
            ids.iter()
                .filter_map(|id| inner.users.get(id))
                .map(user_json)
                .collect()
        } else {
            Vec::new()
        };
        if query.contains_key("include") {
            body["users"] = Value::Array(users);
        }
        Ok(Applied::ok(body))
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
        let body: Value = serde_json::from_slice(&body)
            .map_err(|e| (StatusCode::BAD_REQUEST, json!({"error": "Unprocessable JSON", "description": e.to_string()})))?;
        let update = body.get("ticket").filter(|t| t.is_object()).ok_or_else(|| {
            (StatusCode::BAD_REQUEST, json!({"error": "InvalidParameter", "description": "ticket parameter is required"}))
        })?;
        let id = id.filter(|id| inner.tickets.contains_key(id)).ok_or_else(not_found)?;
        let priority = match &update["priority"] {
            Value::Null => None,
            Value::String(p) if ["low", "normal", "high", "urgent"].contains(&p.as_str()) => Some(p.clone()),
            _ => return Err(invalid("priority", "Priority: is invalid")),
        };
        let comment = &update["comment"];
        let mut events = Vec::new();
        let mut changes = Vec::new();
        if comment.is_object() {
            let text = comment["body"].as_str().or_else(|| comment["html_body"].as_str()).unwrap_or_default();
            if text.trim().is_empty() {
                return Err(invalid("comment", "Comment: cannot be blank"));
            }
            let public = comment["public"].as_bool().unwrap_or(true);
            let author = comment["author_id"].as_u64().unwrap_or(API_AGENT_ID);
            let comment_id = inner.add_comment(id, author, text, public).ok_or_else(not_found)?;
            events.push(json!({"id": comment_id, "type": "Comment", "body": text, "public": public, "author_id": author}));
            changes.push(Change::CommentAdded { ticket: id, comment: comment_id });
        }
        let ticket = inner.tickets.get_mut(&id).ok_or_else(not_found)?;
        if let Some(tags) = update["additional_tags"].as_array() {
            for tag in tags.iter().filter_map(Value::as_str) {
                if !ticket.tags.iter().any(|t| t == tag) {
                    ticket.tags.push(tag.to_owned());
                }
            }
        }
        if let Some(tags) = update["tags"].as_array() {
            ticket.tags = tags.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect();
        }
        if let Some(priority) = priority {
            ticket.priority = Some(priority);
        }
        if let Some(status) = update["status"].as_str() {
            ticket.status = status.to_owned();
        }
        ticket.updated_at = now_rfc3339();
        let ticket = ticket.clone();
        let audit_id = inner.next_id();
        Ok(Applied {
            changes,
            ..Applied::ok(json!({
                "ticket": ticket_json(&ticket),
                "audit": {
                    "id": audit_id,
                    "ticket_id": ticket.id,
                    "created_at": ticket.updated_at,
                    "author_id": API_AGENT_ID,
                    "events": events,
                },
            }))
        })
    })
    .await
}

async fn create(sim: web::Data<Sim>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    sim.api(&request, move |inner| {
        let body: Value = serde_json::from_slice(&body).map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                json!({"error": "Unprocessable JSON", "description": e.to_string()}),
            )
        })?;
        let ticket = &body["ticket"];
        let text = ticket["comment"]["body"]
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| invalid("description", "Description: cannot be blank"))?;
        let email = ticket["requester"]["email"]
            .as_str()
            .unwrap_or("customer@example.com");
        let name = ticket["requester"]["name"].as_str().unwrap_or("Customer");
        let requester = inner.requester(name, email);
        let id = inner.create_ticket(
            ticket["subject"].as_str().unwrap_or_default(),
            text,
            requester,
            ticket["priority"].as_str(),
        );
        let ticket = inner.tickets.get(&id).ok_or_else(not_found)?;
        Ok(Applied {
            status: StatusCode::CREATED,
            changes: vec![Change::Created { ticket: id }],
            ..Applied::ok(json!({ "ticket": ticket_json(ticket) }))
        })
    })
    .await
}

/// The webhook Zendesk would send for `change`, signed.
pub(crate) fn webhook(
    inner: &Inner,
    target: &WebhookTarget,
    change: Change,
) -> Option<(Value, Vec<(String, String)>)> {
    let (ticket_id, comment_id) = match change {
        Change::Created { ticket } => (ticket, None),
        Change::CommentAdded { ticket, comment } => (ticket, Some(comment)),
    };
    let ticket = inner.tickets.get(&ticket_id)?;
    let comment = comment_id.and_then(|id| ticket.comments.iter().find(|c| c.id == id));
    let invocation = format!(
        "{}",
        9_000_000 + ticket.comments.len() as u64 * 1_000 + ticket_id
    );
    let by_staff = |c: &Comment| inner.users.get(&c.author_id).is_some_and(|u| u.agent);
    let body = if target.style.as_deref() == Some("trigger") {
        // A trigger fires on creation and on end users' comments only.
        if comment.is_some_and(by_staff) {
            return None;
        }
        json!({
            "ticket_id": ticket_id.to_string(),
            "event": if comment.is_some() { "ticket.comment_added" } else { "ticket.created" },
            "updated_at": ticket.updated_at,
        })
    } else {
        let detail = json!({
            "id": ticket_id.to_string(),
            "subject": ticket.subject,
            "status": ticket.status.to_uppercase(),
            "requester_id": ticket.requester_id.to_string(),
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
        });
        let (kind, event) = match comment {
            None => ("zen:event-type:ticket.created", json!({})),
            Some(c) => (
                "zen:event-type:ticket.comment_added",
                json!({"comment": {
                    "id": c.id.to_string(),
                    "body": c.body,
                    "is_public": c.public,
                    "author": { "id": c.author_id.to_string(), "is_staff": by_staff(c) },
                }}),
            ),
        };
        json!({
            "type": kind,
            "id": format!("01SIMEVT{:012}", comment.map_or(ticket_id, |c| c.id)),
            "time": ticket.updated_at,
            "zendesk_event_version": "2022-11-06",
            "subject": format!("zen:ticket:{ticket_id}"),
            "account_id": 1,
            "detail": detail,
            "event": event,
        })
    };
    let bytes = serde_json::to_vec(&body).ok()?;
    let timestamp = now_rfc3339();
    let mut headers = vec![
        ("X-Zendesk-Webhook-Id".to_owned(), "01SIMWEBHOOK".to_owned()),
        ("X-Zendesk-Webhook-Invocation-Id".to_owned(), invocation),
        (
            "X-Zendesk-Webhook-Signature-Timestamp".to_owned(),
            timestamp.clone(),
        ),
    ];
    if let Some(secret) = &target.secret {
        headers.push((
            "X-Zendesk-Webhook-Signature".to_owned(),
            deskbridge_webhook_auth::zendesk::sign(secret, &timestamp, &bytes),
        ));
    }
    Some((body, headers))
}
