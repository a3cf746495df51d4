//! The stop switch over HTTP:
//!
//! - `GET /api/v1/pauses` — the pauses in force (anyone authenticated);
//! - `PUT /api/v1/pauses/{scope}` — an admin pauses AI drafting for `all`, `helpdesk:NAME` or
//!   `plugin:ID` (body optional: `{"reason": "…"}`);
//! - `DELETE /api/v1/pauses/{scope}` — an admin resumes it.
//!
//! Each change is recorded in the approval log (`drafting.paused` / `drafting.resumed`, the
//! person as a commitment) before it is stored and takes effect; it survives restarts.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use deskbridge_audit::NewEntry;
use deskbridge_core::{Pause, PauseScope, Role};
use deskbridge_pipeline::{journal, now_ms};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{AuthError, Caller};
use crate::problem::Problem;

/// Everyone may see whether AI drafting is paused.
const READERS: &[Role] = &[Role::Agent, Role::Supervisor, Role::Reviewer, Role::Admin];

fn problem(status: StatusCode, detail: impl Into<String>) -> HttpResponse {
    Problem::response(status, status.canonical_reason().unwrap_or("Error"), detail)
}

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

/// Parses the scope and checks that what it names exists here; the refusal's status and
/// detail otherwise.
fn scope(state: &AppState, text: &str) -> Result<PauseScope, (StatusCode, String)> {
    let scope: PauseScope = text
        .parse()
        .map_err(|e: deskbridge_core::oversight::BadScope| {
            (StatusCode::BAD_REQUEST, e.to_string())
        })?;
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
        Err((
            StatusCode::NOT_FOUND,
            format!("{scope}: no such helpdesk or plugin is configured"),
        ))
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

/// Records `entry` durably; a 503 when the log cannot take it (the change is then not made).
async fn on_record(state: &AppState, entry: NewEntry) -> Result<(), HttpResponse> {
    let Some(audit) = &state.audit else {
        return Ok(());
    };
    journal::record(audit, vec![entry]).await.map_err(|e| {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the change could not be recorded in the approval log: {e}"),
        )
    })
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
) -> Result<HttpResponse, AuthError> {
    caller.require(&[Role::Admin])?;
    let scope = match scope(&state, &path) {
        Ok(scope) => scope,
        Err((status, detail)) => return Ok(problem(status, detail)),
    };
    let reason = body.and_then(|b| b.into_inner().reason);
    if reason.as_ref().is_some_and(|r| r.len() > 1000) {
        return Ok(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason: at most 1000 bytes",
        ));
    }
    let Some(store) = &state.store else {
        return Ok(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "no store is configured",
        ));
    };
    let pause = Pause {
        scope: scope.clone(),
        by: caller.person.clone(),
        reason: reason.clone(),
        at_ms: now_ms(),
    };
    let logged = entry("drafting.paused", &scope, &caller.person, reason.as_deref());
    if let Err(response) = on_record(&state, logged).await {
        return Ok(response);
    }
    if let Err(e) = store.set_pause(&pause) {
        return Ok(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store failed: {e}"),
        ));
    }
    state.switch.set(pause.clone());
    tracing::warn!(%scope, by = %caller.person, "AI drafting paused");
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
) -> Result<HttpResponse, AuthError> {
    caller.require(&[Role::Admin])?;
    let scope = match scope(&state, &path) {
        Ok(scope) => scope,
        Err((status, detail)) => return Ok(problem(status, detail)),
    };
    if !state.switch.pauses().iter().any(|p| p.scope == scope) {
        return Ok(problem(
            StatusCode::NOT_FOUND,
            format!("{scope} is not paused"),
        ));
    }
    let Some(store) = &state.store else {
        return Ok(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "no store is configured",
        ));
    };
    if let Err(response) = on_record(
        &state,
        entry("drafting.resumed", &scope, &caller.person, None),
    )
    .await
    {
        return Ok(response);
    }
    if let Err(e) = store.lift_pause(&scope) {
        return Ok(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store failed: {e}"),
        ));
    }
    state.switch.lift(&scope);
    tracing::warn!(%scope, by = %caller.person, "AI drafting resumed");
    Ok(HttpResponse::NoContent().finish())
}
