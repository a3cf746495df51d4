//! `GET /console/admin` for admins: the gateway's status and warnings, the stop switch (pause
//! with a reason, resume), dead letters (retry, cancel), failed events, and API tokens
//! (create — the secret shown once — and revoke). Every action is a form with the session's
//! CSRF token, and goes through the same functions as the API (`pauses`, `ops`, `tokens`), so
//! each is in the approval log before it takes effect.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbridge_core::Role;
use deskbridge_store::OutboxState;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{NO_FRAMES, Section, html_response, page as frame, page_error, utc};
use super::session::Session;
use super::{check_csrf, see_other, signed_in_as};
use crate::AppState;
use crate::api_error::ApiError;

const ADMINS: &[Role] = &[Role::Admin];

/// What the page says about the last action, if anything.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AdminQuery {
    done: Option<String>,
}

fn done_banner(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "paused" => "AI drafting paused for that scope.",
        "resumed" => "AI drafting resumed for that scope.",
        "retried" => "The item is back in the outbox.",
        "cancelled" => "The item was cancelled; it is never tried again.",
        "revoked" => "The token was revoked; its sessions have ended.",
        _ => return None,
    })
}

/// `GET /console/admin`.
pub(crate) async fn page(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AdminQuery>,
) -> HttpResponse {
    let (session, _) = match signed_in_as(&request, &state, ADMINS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    render(
        &state,
        &session,
        StatusCode::OK,
        done_banner(query.done.as_deref()),
        None,
    )
}

fn render(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    notice: Option<&str>,
    extra: Option<Markup>,
) -> HttpResponse {
    let Some(store) = state.store.as_ref() else {
        return page_error(Some(session), &ApiError::NoStore);
    };
    let loaded = store.stats().and_then(|stats| {
        Ok((
            stats,
            store.dead_letters()?,
            store.failed_events()?,
            store.tokens()?,
        ))
    });
    let (stats, dead, failed, tokens) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            return page_error(
                Some(session),
                &ApiError::internal("reading the admin views", e),
            );
        }
    };
    let helpdesks: Vec<&String> = state
        .webhooks
        .as_ref()
        .map(|w| w.endpoints.keys().collect())
        .unwrap_or_default();
    let csrf = &session.csrf;
    let body = html! {
        h1 { "Administration" }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        @if let Some(extra) = extra { (extra) }
        section aria-labelledby="status-h" {
            h2 id="status-h" { "Status" }
            @for warning in &state.warnings { p.error role="alert" { (warning) } }
            dl.counts {
                dt { "Events waiting" } dd { (stats.pending_events) }
                dt { "Events processed" } dd { (stats.processed_events) }
                dt { "Events failed" } dd { (stats.failed_events) }
                dt { "Outbox pending" } dd { (stats.outbox_pending) }
                dt { "Outbox delivered" } dd { (stats.outbox_delivered) }
                dt { "Dead letters" } dd { (stats.outbox_dead_lettered) }
                dt { "Drafts stored" } dd { (stats.pending_drafts) }
            }
            @for plugin in &state.plugins {
                @let health = plugin.status();
                p { (plugin.id()) " " (plugin.manifest().version) ": "
                    @if health.enabled { "enabled" } @else { strong { "disabled by its circuit breaker" } } }
            }
        }
        section aria-labelledby="pauses-h" {
            h2 id="pauses-h" { "Stop switch" }
            @let pauses = state.switch.pauses();
            @if pauses.is_empty() { p { "AI drafting runs everywhere." } }
            @for pause in &pauses {
                form.inline method="post" action="/console/admin/resume" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="scope" value=(pause.scope.to_string());
                    span { strong { "Paused: " (pause.scope.to_string()) } " by " (pause.by) " since " (utc(pause.at_ms)) " UTC"
                        @if let Some(reason) = &pause.reason { " — " (reason) } }
                    " " button type="submit" { "Resume" }
                }
            }
            form.filters method="post" action="/console/admin/pause" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Scope "
                    select name="scope" {
                        option value="all" { "everything" }
                        @for h in &helpdesks { option value=(format!("helpdesk:{h}")) { "helpdesk " (h) } }
                        @for p in &state.plugins { option value=(format!("plugin:{}", p.id())) { "plugin " (p.id()) } }
                    }
                }
                label { "Reason " input type="text" name="reason" maxlength="1000" size="40"; }
                button.reject type="submit" { "Pause AI drafting" }
            }
        }
        section aria-labelledby="dead-h" {
            h2 id="dead-h" { "Dead letters" }
            @if dead.is_empty() { p { "None." } } @else {
                table { thead { tr {
                    th scope="col" { "Item" } th scope="col" { "Ticket" } th scope="col" { "Operation" }
                    th scope="col" { "Attempts" } th scope="col" { "Why" } th scope="col" { "Action" }
                } } tbody {
                    @for d in &dead {
                        @let reason = match &d.item.state { OutboxState::DeadLettered { reason, .. } => reason.as_str(), _ => "" };
                        tr {
                            td { code { (d.item.id) } }
                            td { (d.item.helpdesk) " " (d.item.ticket_id) }
                            td { (d.item.op.name()) }
                            td { (d.item.attempts) }
                            td { (reason) @if let Some(e) = &d.item.last_error { br; small { (e) } } }
                            td {
                                form.inline method="post" action=(format!("/console/admin/dead-letters/{}", d.item.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" name="action" value="retry" { "Retry" }
                                    " "
                                    button.reject type="submit" name="action" value="cancel" { "Cancel" }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="failed-h" {
            h2 id="failed-h" { "Failed events" }
            @if failed.is_empty() { p { "None." } } @else {
                table { thead { tr { th scope="col" { "Event" } th scope="col" { "Ticket" } th scope="col" { "When (UTC)" } th scope="col" { "Why" } } }
                tbody { @for f in failed.iter().rev().take(100) {
                    tr { td { code { (f.event.id) } } td { (f.event.helpdesk) " " (f.event.ticket_id) } td { (utc(f.failed_at_ms)) } td { (f.reason) } }
                } } }
            }
        }
        section aria-labelledby="tokens-h" {
            h2 id="tokens-h" { "API tokens" }
            table { thead { tr { th scope="col" { "Id" } th scope="col" { "Person" } th scope="col" { "Roles" } th scope="col" { "Created (UTC)" } th scope="col" { "" } } }
            tbody { @for t in &tokens {
                tr {
                    td { code { (t.id) } }
                    td { (t.person) }
                    td { (t.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")) }
                    td { (utc(t.created_at_ms)) }
                    td { @if let Some(at) = t.revoked_at_ms { "revoked " (utc(at)) } @else {
                        form.inline method="post" action=(format!("/console/admin/tokens/{}/revoke", t.id)) {
                            input type="hidden" name="csrf" value=(csrf);
                            button.reject type="submit" { "Revoke" }
                        }
                    } }
                }
            } } }
            form.filters method="post" action="/console/admin/tokens" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Person " input type="text" name="person" required maxlength="200"; }
                fieldset { legend { "Roles" }
                    @for role in Role::ALL {
                        label { input type="checkbox" name=(format!("role_{}", role.as_str())) value="1"; " " (role.as_str()) } " "
                    }
                }
                button type="submit" { "Create token" }
            }
        }
    };
    html_response(
        status,
        frame("Administration", Some(session), Section::Admin, body),
        NO_FRAMES,
    )
}

/// The admin's session behind a form carrying `csrf`, or the page to show instead.
fn admin_form(
    request: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<Session, HttpResponse> {
    let (session, _) = signed_in_as(request, state, ADMINS)?;
    check_csrf(&session, csrf)?;
    Ok(session)
}

/// The result of an action: back to the page with a notice, or the page with the refusal.
fn after(state: &AppState, session: &Session, outcome: Result<&str, ApiError>) -> HttpResponse {
    match outcome {
        Ok(done) => see_other(&format!("/console/admin?done={done}")),
        Err(error @ ApiError::Auth(_)) => page_error(Some(session), &error),
        Err(error) => {
            error.log_if_internal();
            let refusal = html! { p.error role="alert" { (error.to_string()) } };
            render(
                state,
                session,
                actix_web::ResponseError::status_code(&error),
                None,
                Some(refusal),
            )
        }
    }
}

/// The pause and resume forms.
#[derive(Debug, Deserialize)]
pub(crate) struct ScopeForm {
    #[serde(default)]
    csrf: String,
    scope: String,
    reason: Option<String>,
}

/// `POST /console/admin/pause` and `POST /console/admin/resume`.
pub(crate) async fn switch(
    request: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ScopeForm>,
) -> HttpResponse {
    let session = match admin_form(&request, &state, &form.csrf) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let form = form.into_inner();
    let person = session.caller.person.clone();
    let outcome = if request.path().ends_with("/pause") {
        crate::pauses::pause_drafting(&state, &form.scope, &person, form.reason)
            .await
            .map(|_| "paused")
    } else {
        crate::pauses::resume_drafting(&state, &form.scope, &person)
            .await
            .map(|()| "resumed")
    };
    after(&state, &session, outcome)
}

/// The dead-letter form.
#[derive(Debug, Deserialize)]
pub(crate) struct DeadLetterForm {
    #[serde(default)]
    csrf: String,
    /// `retry` or `cancel`.
    action: String,
}

/// `POST /console/admin/dead-letters/{id}`.
pub(crate) async fn dead_letter(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<DeadLetterForm>,
) -> HttpResponse {
    let session = match admin_form(&request, &state, &form.csrf) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let outcome = match form.action.as_str() {
        "retry" => crate::ops::settle_dead_letter(&state, &session.caller.person, &id, true)
            .await
            .map(|_| "retried"),
        "cancel" => crate::ops::settle_dead_letter(&state, &session.caller.person, &id, false)
            .await
            .map(|_| "cancelled"),
        other => Err(ApiError::unprocessable(format!(
            "action: {other:?} is not retry or cancel"
        ))),
    };
    after(&state, &session, outcome)
}

/// The token form: a person and one checkbox per role.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
    person: String,
    role_agent: Option<String>,
    role_supervisor: Option<String>,
    role_reviewer: Option<String>,
    role_admin: Option<String>,
}

/// `POST /console/admin/tokens`: the new token is shown once, on the page that answers.
pub(crate) async fn create_token(
    request: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let session = match admin_form(&request, &state, &form.csrf) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let roles: Vec<Role> = [
        (&form.role_agent, Role::Agent),
        (&form.role_supervisor, Role::Supervisor),
        (&form.role_reviewer, Role::Reviewer),
        (&form.role_admin, Role::Admin),
    ]
    .into_iter()
    .filter(|(checked, _)| checked.is_some())
    .map(|(_, role)| role)
    .collect();
    match crate::tokens::create_token(&state, &session.caller, &form.person, roles).await {
        Ok((token, record)) => {
            let shown = html! {
                div.notice role="status" {
                    p { "Token " code { (record.id) } " for " (record.person) " created. Copy it now: it is not shown again." }
                    p { input.secret type="text" readonly value=(token) size="60" aria-label="The new API token"; }
                }
            };
            render(&state, &session, StatusCode::CREATED, None, Some(shown))
        }
        Err(error) => after(&state, &session, Err(error)),
    }
}

/// The revoke form.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/admin/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let session = match admin_form(&request, &state, &form.csrf) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let outcome = crate::tokens::revoke_token(&state, &session.caller.person, &id)
        .await
        .map(|()| "revoked");
    after(&state, &session, outcome)
}
