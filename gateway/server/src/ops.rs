//! Operator endpoints under `/api/v1/`: record counts, pipeline latency, and what went wrong
//! (dead-lettered outbox items, events given up on) with reasons but without ticket text.
//! They carry no customer content; reviewers and admins may read them; admins reset metrics
//! and retry or cancel dead letters (each recorded in the approval log first).

use actix_web::{HttpResponse, web};
use deskbridge_pipeline::Ingest;
use deskbridge_store::OutboxState;
use serde::Serialize;

use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::Caller;
use deskbridge_core::Role;

fn ingest(state: &AppState) -> Option<&Ingest> {
    state.webhooks.as_ref().map(|w| &w.ingest)
}

fn no_store() -> ApiError {
    ApiError::not_found("no store is configured")
}

/// What `GET /api/v1/status` answers: the store's counts, the configuration's warnings, the
/// AI providers' state and the budgets of today and this month.
#[derive(Serialize, utoipa::ToSchema)]
struct Status<'a> {
    #[serde(flatten)]
    stats: deskbridge_store::StoreStats,
    /// Configuration an operator should look at, e.g. a helpdesk whose drafts no policy
    /// plugin reviews (they then need only one agent's approval).
    warnings: &'a [String],
    /// Each AI provider (the built-in `local` included).
    providers: Vec<ProviderView>,
    /// Each configured budget, for the current UTC day and month.
    budgets: Vec<BudgetView>,
    /// Each helpdesk's knowledge base: documents indexed and how each source's last sync went.
    knowledge: Vec<KnowledgeView>,
}

/// One helpdesk's knowledge base.
#[derive(Serialize, utoipa::ToSchema)]
struct KnowledgeView {
    helpdesk: String,
    /// Documents in the index.
    documents: usize,
    /// Each source's last sync.
    sources: Vec<KnowledgeSourceView>,
}

/// How a knowledge source's last sync went.
#[derive(Serialize, utoipa::ToSchema)]
struct KnowledgeSourceView {
    /// `zendesk`, `freshdesk` or `folder`.
    source: String,
    /// When the last attempt ended (ms since the epoch).
    last_attempt_ms: u64,
    /// When the last successful sync ended.
    last_success_ms: Option<u64>,
    /// Documents the source listed at its last success.
    listed: usize,
    /// Documents that sync added.
    added: usize,
    /// Documents it re-indexed because they changed.
    updated: usize,
    /// Documents it removed because the source no longer has them.
    removed: usize,
    /// Why the last attempt failed (the index keeps its documents).
    error: Option<String>,
}

fn knowledge_views(state: &AppState) -> Vec<KnowledgeView> {
    let Some(library) = &state.knowledge else {
        return Vec::new();
    };
    let statuses = library.statuses();
    library
        .sizes()
        .into_iter()
        .map(|(helpdesk, documents)| KnowledgeView {
            sources: statuses
                .iter()
                .filter(|(h, _, _)| *h == helpdesk)
                .map(|(_, source, s)| KnowledgeSourceView {
                    source: source.clone(),
                    last_attempt_ms: s.last_attempt_ms,
                    last_success_ms: s.last_success_ms,
                    listed: s.listed,
                    added: s.added,
                    updated: s.updated,
                    removed: s.removed,
                    error: s.error.clone(),
                })
                .collect(),
            helpdesk,
            documents,
        })
        .collect()
}

/// An AI provider's state.
#[derive(Serialize, utoipa::ToSchema)]
struct ProviderView {
    name: String,
    /// Whether prompts leave the machine.
    remote: bool,
    /// `closed` (normal), `open` (held off after failures) or `half-open` (one trial call).
    circuit: &'static str,
    in_flight: usize,
    calls: u64,
    failures: u64,
    last_error: Option<String>,
}

/// A budget counter.
#[derive(Serialize, utoipa::ToSchema)]
struct BudgetView {
    /// `provider:NAME`, `plugin:ID` or `helpdesk:NAME`.
    scope: String,
    /// `day:YYYY-MM-DD` or `month:YYYY-MM` (UTC).
    period: String,
    /// Tokens counted, calls in flight at their ceiling.
    tokens: u64,
    token_limit: Option<u64>,
    cost: f64,
    cost_limit: Option<f64>,
    /// A limit is reached: calls in this scope are refused.
    exhausted: bool,
}

fn ai_views(state: &AppState) -> (Vec<ProviderView>, Vec<BudgetView>) {
    let Some(ai) = &state.ai else {
        return (Vec::new(), Vec::new());
    };
    let providers = ai
        .health()
        .into_iter()
        .map(|h| ProviderView {
            name: h.name,
            remote: h.remote,
            circuit: h.circuit,
            in_flight: h.in_flight,
            calls: h.calls,
            failures: h.failures,
            last_error: h.last_error,
        })
        .collect();
    let budgets = ai
        .budgets()
        .map(|b| b.status(&deskbridge_providers::budget::Period::now()))
        .unwrap_or_default()
        .into_iter()
        .map(|b| BudgetView {
            scope: b.scope,
            period: b.period,
            tokens: b.tokens,
            token_limit: b.token_limit,
            cost: b.cost,
            cost_limit: b.cost_limit,
            exhausted: b.exhausted,
        })
        .collect();
    (providers, budgets)
}

/// `GET /api/v1/status`.
fn status_view(state: &AppState) -> Result<HttpResponse, ApiError> {
    let store = state.store.as_ref().ok_or_else(no_store)?;
    let stats = store
        .stats()
        .map_err(|e| ApiError::internal("counting the store's records", e))?;
    let (providers, budgets) = ai_views(state);
    Ok(HttpResponse::Ok().json(Status {
        stats,
        warnings: &state.warnings,
        providers,
        budgets,
        knowledge: knowledge_views(state),
    }))
}

/// `GET /api/v1/metrics`.
fn metrics_view(state: &AppState) -> Result<HttpResponse, ApiError> {
    let ingest = ingest(state).ok_or_else(no_store)?;
    Ok(HttpResponse::Ok().json(ingest.metrics().snapshot()))
}

/// `DELETE /api/v1/metrics`: starts a new measurement window.
fn reset_metrics_view(state: &AppState) -> Result<HttpResponse, ApiError> {
    ingest(state).ok_or_else(no_store)?.metrics().reset();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, utoipa::ToSchema)]
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
fn dead_letters_view(state: &AppState) -> Result<HttpResponse, ApiError> {
    let store = state.store.as_ref().ok_or_else(no_store)?;
    let dead = store
        .dead_letters()
        .map_err(|e| ApiError::internal("listing dead letters", e))?;
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
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Serialize, utoipa::ToSchema)]
struct FailedEventView<'a> {
    event_id: &'a str,
    helpdesk: &'a str,
    ticket_id: &'a str,
    reason: &'a str,
    failed_at_ms: i64,
}

/// `GET /api/v1/events/failed`.
fn failed_events_view(state: &AppState) -> Result<HttpResponse, ApiError> {
    let store = state.store.as_ref().ok_or_else(no_store)?;
    let failed = store
        .failed_events()
        .map_err(|e| ApiError::internal("listing failed events", e))?;
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
    Ok(HttpResponse::Ok().json(views))
}

/// Who may read the operator views.
const READERS: &[Role] = &[Role::Reviewer, Role::Admin];

#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "operations",
    summary = "Record counts, warnings, AI providers and budgets",
    responses(
        (status = 200, description = "Counts, configuration warnings, the AI providers' state and today's and this month's budgets", body = Status),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn status(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    status_view(&state)
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics",
    tag = "operations",
    summary = "Pipeline latency since the last reset",
    responses(
        (status = 200, description = "Percentiles", body = deskbridge_pipeline::MetricsSnapshot),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn metrics(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    metrics_view(&state)
}

#[utoipa::path(
    delete,
    path = "/api/v1/metrics",
    tag = "operations",
    summary = "Start a new measurement window (admin)",
    responses(
        (status = 204, description = "Reset"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn reset_metrics(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    reset_metrics_view(&state)
}

#[utoipa::path(
    get,
    path = "/api/v1/outbox/dead-letters",
    tag = "operations",
    summary = "Outbox items given up on, with reasons",
    responses(
        (status = 200, description = "Dead letters", body = Vec<DeadLetterView>),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn dead_letters(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    dead_letters_view(&state)
}

#[utoipa::path(
    get,
    path = "/api/v1/events/failed",
    tag = "operations",
    summary = "Events given up on, with reasons",
    responses(
        (status = 200, description = "Failed events", body = Vec<FailedEventView>),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn failed_events(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    failed_events_view(&state)
}

/// An admin's answer to a dead letter (the API and the console): recorded in the approval
/// log first (`outbox.retried` / `outbox.cancelled`, the person as a commitment), then
/// stored. A retried reply passes the delivery gate again before it is sent.
pub(crate) async fn settle_dead_letter(
    state: &AppState,
    person: &str,
    id: &str,
    retry: bool,
) -> Result<deskbridge_store::OutboxItem, ApiError> {
    let store = state.store.clone().ok_or_else(no_store)?;
    let item = store
        .outbox_item(id)
        .map_err(|e| ApiError::internal("reading the outbox item", e))?
        .filter(|item| matches!(item.state, OutboxState::DeadLettered { .. }))
        .ok_or_else(|| ApiError::not_found(format!("no dead letter {id}")))?;
    if let Some(audit) = &state.audit {
        let mut entry = deskbridge_audit::NewEntry {
            kind: if retry {
                "outbox.retried"
            } else {
                "outbox.cancelled"
            }
            .into(),
            at_ms: deskbridge_pipeline::now_ms(),
            ..Default::default()
        };
        entry
            .data
            .insert("outbox_id".into(), item.id.clone().into());
        entry
            .data
            .insert("helpdesk".into(), item.helpdesk.clone().into());
        entry
            .data
            .insert("ticket_id".into(), item.ticket_id.clone().into());
        entry.data.insert("operation".into(), item.op.name().into());
        entry.personal.insert("person".into(), person.to_owned());
        deskbridge_pipeline::journal::record(audit, vec![entry])
            .await
            .map_err(|e| ApiError::internal("recording the change in the approval log", e))?;
    }
    let id = id.to_owned();
    let settled =
        web::block(move || store.settle_dead_letter(&id, retry, deskbridge_pipeline::now_ms()))
            .await
            .map_err(|e| ApiError::internal("settling the dead letter", e))?;
    match settled {
        Ok(item) => {
            tracing::warn!(item = %item.id, retry, "dead letter settled by an admin");
            Ok(item)
        }
        Err(deskbridge_store::StoreError::NotFound { .. }) => Err(ApiError::conflict(
            "the item is no longer a dead letter (settled meanwhile)",
        )),
        Err(e) => Err(ApiError::internal("settling the dead letter", e)),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/outbox/dead-letters/{id}/retry",
    tag = "operations",
    summary = "Try a dead-lettered outbox item again (admin)",
    params(("id" = String, Path, description = "The outbox item's id")),
    responses(
        (status = 204, description = "Back in the outbox: attempts from zero; a write that may have reached the helpdesk is read back first, and a reply passes the delivery gate again"),
        (status = 404, description = "No such dead letter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Settled meanwhile", body = crate::Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn retry_dead_letter(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    settle_dead_letter(&state, &caller.person, &id, true).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/outbox/dead-letters/{id}/cancel",
    tag = "operations",
    summary = "Give up on a dead-lettered outbox item for good (admin)",
    params(("id" = String, Path, description = "The outbox item's id")),
    responses(
        (status = 204, description = "Cancelled: it is never tried again"),
        (status = 404, description = "No such dead letter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Settled meanwhile", body = crate::Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn cancel_dead_letter(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    settle_dead_letter(&state, &caller.person, &id, false).await?;
    Ok(HttpResponse::NoContent().finish())
}
