//! Operator endpoints under `/api/v1/`: record counts, pipeline latency, and what went wrong
//! (dead-lettered outbox items, events given up on) with reasons but without ticket text.
//! They carry no customer content; the authenticated approval API arrives with roles.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use deskbridge_pipeline::Ingest;
use deskbridge_store::{OutboxState, StoreError};
use serde::Serialize;

use crate::AppState;
use crate::problem::Problem;

fn ingest(state: &AppState) -> Option<&Ingest> {
    state.webhooks.as_ref().map(|w| &w.ingest)
}

fn no_store() -> HttpResponse {
    Problem::response(StatusCode::NOT_FOUND, "Not Found", "no store is configured")
}

fn store_failed(error: StoreError) -> HttpResponse {
    Problem::response(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        format!("the store failed: {error}"),
    )
}

/// `GET /api/v1/status`.
pub(crate) async fn status(state: web::Data<AppState>) -> HttpResponse {
    match ingest(&state) {
        Some(ingest) => match ingest.store().stats() {
            Ok(stats) => HttpResponse::Ok().json(stats),
            Err(e) => store_failed(e),
        },
        None => no_store(),
    }
}

/// `GET /api/v1/metrics`.
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match ingest(&state) {
        Some(ingest) => HttpResponse::Ok().json(ingest.metrics().snapshot()),
        None => no_store(),
    }
}

/// `DELETE /api/v1/metrics`: starts a new measurement window.
pub(crate) async fn reset_metrics(state: web::Data<AppState>) -> HttpResponse {
    match ingest(&state) {
        Some(ingest) => {
            ingest.metrics().reset();
            HttpResponse::NoContent().finish()
        }
        None => no_store(),
    }
}

#[derive(Serialize)]
struct DeadLetterView<'a> {
    id: &'a str,
    helpdesk: &'a str,
    ticket_id: &'a str,
    operation: &'static str,
    plugin: &'a str,
    attempts: u32,
    reason: &'a str,
    dead_lettered_at_ms: i64,
    last_error: Option<&'a str>,
}

/// `GET /api/v1/outbox/dead-letters`.
pub(crate) async fn dead_letters(state: web::Data<AppState>) -> HttpResponse {
    let ingest = match ingest(&state) {
        Some(ingest) => ingest,
        None => return no_store(),
    };
    let dead = match ingest.store().dead_letters() {
        Ok(dead) => dead,
        Err(e) => return store_failed(e),
    };
    let views: Vec<DeadLetterView<'_>> = dead
        .iter()
        .map(|d| {
            let (reason, at) = match &d.item.state {
                OutboxState::DeadLettered { reason, at_ms } => (reason.as_str(), *at_ms),
                _ => ("", 0),
            };
            DeadLetterView {
                id: &d.item.id,
                helpdesk: &d.item.helpdesk,
                ticket_id: &d.item.ticket_id,
                operation: d.item.op.name(),
                plugin: &d.item.plugin,
                attempts: d.item.attempts,
                reason,
                dead_lettered_at_ms: at,
                last_error: d.item.last_error.as_deref(),
            }
        })
        .collect();
    HttpResponse::Ok().json(views)
}

#[derive(Serialize)]
struct FailedEventView<'a> {
    event_id: &'a str,
    helpdesk: &'a str,
    ticket_id: &'a str,
    reason: &'a str,
    failed_at_ms: i64,
}

/// `GET /api/v1/events/failed`.
pub(crate) async fn failed_events(state: web::Data<AppState>) -> HttpResponse {
    let ingest = match ingest(&state) {
        Some(ingest) => ingest,
        None => return no_store(),
    };
    let failed = match ingest.store().failed_events() {
        Ok(failed) => failed,
        Err(e) => return store_failed(e),
    };
    let views: Vec<FailedEventView<'_>> = failed
        .iter()
        .map(|f| FailedEventView {
            event_id: &f.event.id,
            helpdesk: &f.event.helpdesk,
            ticket_id: &f.event.ticket_id,
            reason: &f.reason,
            failed_at_ms: f.failed_at_ms,
        })
        .collect();
    HttpResponse::Ok().json(views)
}
