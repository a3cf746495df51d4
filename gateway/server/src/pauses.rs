//! The stop switch over HTTP:
//!
//! - `GET /api/v1/pauses` — the pauses in force (anyone authenticated);
//! - `PUT /api/v1/pauses/{scope}` — an admin pauses AI drafting for `all`, `helpdesk:NAME` or
//!   `plugin:ID` (body optional: `{"reason": "…"}`);
//! - `DELETE /api/v1/pauses/{scope}` — an admin resumes it.
//!
//! Each change is recorded in the approval log (`drafting.paused` / `drafting.resumed`, the
//! person as a commitment) before it is stored and takes effect; it survives restarts.

use actix_web::{HttpResponse, web};
use deskbridge_audit::NewEntry;
use deskbridge_core::{Pause, PauseScope, Role};
use deskbridge_pipeline::{journal, now_ms};
use serde::Deserialize;

use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::{AuthError, Caller};
use crate::problem::Problem;

/// Everyone may see whether AI drafting is paused.
const READERS: &[Role] = &[Role::Agent, Role::Supervisor, Role::Reviewer, Role::Admin];

/// `PUT /api/v1/pauses/{scope}` body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PauseRequest {
    /// Why (optional, kept as personal data beside the log).
    reason: Option<String>,
}

/// `GET /api/v1/pauses`.
#[utoipa::path(
    get,
    path = "/api/v1/pauses",
    tag = "oversight",
    summary = "The stop-switch pauses in force",
    responses(
        (status = 200, description = "Pauses in force", body = Vec<Pause>),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AuthError> {
    caller.require(READERS)?;
    Ok(HttpResponse::Ok().json(state.switch.pauses()))
}

/// Parses the scope and checks that what it names exists here.
fn scope(state: &AppState, text: &str) -> Result<PauseScope, ApiError> {
    let scope: PauseScope = text
        .parse()
        .map_err(|e: deskbridge_core::oversight::BadScope| ApiError::bad_request(e.to_string()))?;
    let known = match &scope {
        PauseScope::All => true,
        PauseScope::Helpdesk(name) => state
            .webhooks
            .as_ref()
            .is_some_and(|w| w.endpoints.contains_key(name)),
        PauseScope::Plugin(id) => state.plugins.iter().any(|p| p.id() == id),
    };
    if known {
        Ok(scope)
    } else {
        Err(ApiError::not_found(format!(
            "{scope}: no such helpdesk or plugin is configured"
        )))
    }
}

fn entry(kind: &str, scope: &PauseScope, person: &str, reason: Option<&str>) -> NewEntry {
    let mut entry = NewEntry {
        kind: kind.into(),
        at_ms: now_ms(),
        ..NewEntry::default()
    };
    entry.data.insert("scope".into(), scope.to_string().into());
    entry.personal.insert("person".into(), person.to_owned());
    if let Some(reason) = reason {
        entry.personal.insert("reason".into(), reason.to_owned());
    }
    entry
}

/// Records `entry` durably; the change is not made when the log cannot take it.
async fn on_record(state: &AppState, entry: NewEntry) -> Result<(), ApiError> {
    let Some(audit) = &state.audit else {
        return Ok(());
    };
    journal::record(audit, vec![entry])
        .await
        .map_err(|e| ApiError::internal("recording the change in the approval log", e))
}

/// Pauses AI drafting for `scope_text` on behalf of `person` (the API and the console):
/// logged, stored, then in force.
pub(crate) async fn pause_drafting(
    state: &AppState,
    scope_text: &str,
    person: &str,
    reason: Option<String>,
) -> Result<Pause, ApiError> {
    let scope = scope(state, scope_text)?;
    let reason = reason.filter(|r| !r.trim().is_empty());
    if reason.as_ref().is_some_and(|r| r.len() > 1000) {
        return Err(ApiError::unprocessable("reason: at most 1000 bytes"));
    }
    let store = state.store.as_ref().ok_or(ApiError::NoStore)?;
    let pause = Pause {
        scope: scope.clone(),
        by: person.to_owned(),
        reason: reason.clone(),
        at_ms: now_ms(),
    };
    on_record(
        state,
        entry("drafting.paused", &scope, person, reason.as_deref()),
    )
    .await?;
    store
        .set_pause(&pause)
        .map_err(|e| ApiError::internal("storing the pause", e))?;
    state.switch.set(pause.clone());
    tracing::warn!(%scope, "AI drafting paused");
    Ok(pause)
}

/// Resumes AI drafting for `scope_text` on behalf of `person`: logged, stored, then lifted.
pub(crate) async fn resume_drafting(
    state: &AppState,
    scope_text: &str,
    person: &str,
) -> Result<(), ApiError> {
    let scope = scope(state, scope_text)?;
    if !state.switch.pauses().iter().any(|p| p.scope == scope) {
        return Err(ApiError::not_found(format!("{scope} is not paused")));
    }
    let store = state.store.as_ref().ok_or(ApiError::NoStore)?;
    on_record(state, entry("drafting.resumed", &scope, person, None)).await?;
    store
        .lift_pause(&scope)
        .map_err(|e| ApiError::internal("lifting the pause", e))?;
    state.switch.lift(&scope);
    tracing::warn!(%scope, "AI drafting resumed");
    Ok(())
}

/// `PUT /api/v1/pauses/{scope}`.
#[utoipa::path(
    put,
    path = "/api/v1/pauses/{scope}",
    tag = "oversight",
    summary = "Pause AI drafting (admin)",
    params(("scope" = String, Path, description = "`all`, `helpdesk:NAME` or `plugin:ID`")),
    request_body = Option<PauseRequest>,
    responses(
        (status = 200, description = "The pause now in force", body = Pause),
        (status = 400, description = "A malformed scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such helpdesk or plugin", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn pause(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Option<web::Json<PauseRequest>>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let reason = body.and_then(|b| b.into_inner().reason);
    let pause = pause_drafting(&state, &path, &caller.person, reason).await?;
    Ok(HttpResponse::Ok().json(pause))
}

/// `DELETE /api/v1/pauses/{scope}`.
#[utoipa::path(
    delete,
    path = "/api/v1/pauses/{scope}",
    tag = "oversight",
    summary = "Resume AI drafting (admin)",
    params(("scope" = String, Path, description = "`all`, `helpdesk:NAME` or `plugin:ID`")),
    responses(
        (status = 204, description = "Resumed"),
        (status = 404, description = "Not paused, or no such helpdesk or plugin", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn resume(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    resume_drafting(&state, &path, &caller.person).await?;
    Ok(HttpResponse::NoContent().finish())
}
