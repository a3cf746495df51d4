//! One draft and the decision on it: `GET /console/drafts/{id}` shows the ticket thread, the
//! summary note, flags, provenance (plugin, model, provider, knowledge sources, what was
//! redacted) and the draft in an editor; `POST /console/drafts/{id}` takes the decision
//! through the gateway's `DecisionService`, exactly as the API does.
//!
//! "Approve" sends the editor's text: unchanged it is an approval, changed an edit-and-approve
//! (the browser shows the diff between the AI's draft and the text that will be sent while
//! the agent types). A decision that lost the race to another person's (`409`) shows the page
//! again with "someone decided this meanwhile" and a reload link.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use deskbridge_core::review::{Decider, DecisionKind, effective_requirement};
use deskbridge_core::{ApproverRole, AuthorRole, Visibility, strongest_approver_role};
use deskbridge_pipeline::now_ms;
use deskbridge_store::PendingDraft;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{NO_FRAMES, Section, age, html_response, page as frame, page_error};
use super::session::Session;
use super::{check_csrf, see_other, signed_in_as};
use crate::AppState;
use crate::api_error::ApiError;
use crate::drafts::{DECIDERS, decision_refused, detail};

/// The decision form.
#[derive(Debug, Deserialize)]
pub(crate) struct DecideForm {
    /// Missing reads as empty: refused as a CSRF failure, not as a malformed form.
    #[serde(default)]
    csrf: String,
    version: u64,
    /// `approve`, `reject` or `escalate`.
    decision: String,
    /// The editor's text (`approve`).
    text: Option<String>,
    /// Why (`reject`: required; `escalate`: optional).
    reason: Option<String>,
}

impl DecideForm {
    /// The CSRF token the form carries.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The decision the form asks for, given the text under review now.
    fn kind(&self, current_text: &str) -> Result<DecisionKind, ApiError> {
        let reason = self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        match self.decision.as_str() {
            "approve" => match self.text.as_deref().map(from_browser) {
                Some(text) if text != current_text => Ok(DecisionKind::EditApprove { text }),
                _ => Ok(DecisionKind::Approve),
            },
            "reject" => reason
                .map(|reason| DecisionKind::Reject { reason })
                .ok_or_else(|| ApiError::unprocessable("a rejection needs a reason")),
            "escalate" => Ok(DecisionKind::Escalate { reason }),
            other => Err(ApiError::unprocessable(format!(
                "decision: {other:?} is not one of approve, reject, escalate"
            ))),
        }
    }
}

/// A textarea's value as the browser submits it (CRLF line ends) in the gateway's form.
fn from_browser(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// What the decision did, for the banner of the page shown next.
fn done(kind: &DecisionKind) -> &'static str {
    match kind {
        DecisionKind::Approve | DecisionKind::EditApprove { .. } => "approved",
        DecisionKind::Reject { .. } => "rejected",
        DecisionKind::Escalate { .. } => "escalated",
    }
}

/// Takes the decision the form asks for on draft `id` (the full page and the per-ticket view).
pub(crate) async fn take_decision(
    state: &AppState,
    session: &Session,
    id: &str,
    form: &DecideForm,
) -> Result<&'static str, ApiError> {
    let caller = &session.caller;
    caller.require(DECIDERS)?;
    let role = strongest_approver_role(&caller.roles).unwrap_or(ApproverRole::Agent);
    let decisions = state.decisions.clone().ok_or(ApiError::NoStore)?;
    let current = decisions
        .store()
        .draft(id)
        .map_err(|e| ApiError::internal("reading the draft", e))?
        .ok_or_else(|| ApiError::not_found(format!("no draft {id}")))?;
    let kind = form.kind(current.text())?;
    let decider = Decider {
        person: &caller.person,
        token_id: Some(&caller.token_id),
        role,
    };
    decisions
        .decide(id, form.version, decider, &kind)
        .await
        .map_err(|e| decision_refused(&e))?;
    Ok(done(&kind))
}

fn load(state: &AppState, id: &str) -> Result<PendingDraft, ApiError> {
    state
        .store
        .as_ref()
        .ok_or(ApiError::NoStore)?
        .draft(id)
        .map_err(|e| ApiError::internal("reading the draft", e))?
        .ok_or_else(|| ApiError::not_found(format!("no draft {id}")))
}

/// `GET /console/drafts/{id}`.
pub(crate) async fn page(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let (session, _) = match signed_in_as(&request, &state, DECIDERS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    render(&state, &session, &id, StatusCode::OK, None)
}

/// The draft page with an optional banner (`problem`: the refusal of the last decision).
fn render(
    state: &AppState,
    session: &Session,
    id: &str,
    status: StatusCode,
    problem: Option<&ApiError>,
) -> HttpResponse {
    let draft = match load(state, id) {
        Ok(draft) => draft,
        Err(error) => return page_error(Some(session), &error),
    };
    let action = format!("/console/drafts/{}", draft.id);
    let body = html! {
        p { a href="/console/queue" { "← Queue" } }
        (banner(problem, &action))
        (draft_view(state, session, &draft, &action, false))
    };
    let title = draft
        .context
        .as_ref()
        .map_or("Draft".to_owned(), |t| t.subject.clone());
    html_response(
        status,
        frame(&title, Some(session), Section::Queue, body),
        NO_FRAMES,
    )
}

/// The banner after a refused decision: a lost race reads as what it is.
pub(crate) fn banner(problem: Option<&ApiError>, reload: &str) -> Markup {
    html! {
        @if let Some(problem) = problem {
            @if problem.status_code() == StatusCode::CONFLICT {
                div.error.conflict role="alert" id="conflict" {
                    p { strong { "Someone decided this draft meanwhile." } " " (problem.to_string()) }
                    p { a href=(reload) { "Reload the draft" } " to see where it stands now." }
                }
            } @else {
                p.error role="alert" { (problem.to_string()) }
            }
        }
    }
}

/// The draft: its ticket, flags, provenance and, while it is open and `session` may decide,
/// the decision form posting to `action`. `compact` leaves out the ticket thread (the
/// per-ticket view sits beside the ticket).
pub(crate) fn draft_view(
    state: &AppState,
    session: &Session,
    draft: &PendingDraft,
    action: &str,
    compact: bool,
) -> Markup {
    let now = now_ms();
    let Some(store) = state.store.as_ref() else {
        return html! {};
    };
    let detail = detail(draft, store.as_ref(), now);
    let requirement = effective_requirement(&draft.facts(None), &draft.review);
    let ticket = draft.context.as_ref();
    let open = draft.review.state.is_open() && draft.blocked.is_none();
    let p = &draft.provenance;
    html! {
        article.draft data-draft=(draft.id) {
            @if !compact {
                h1 { (ticket.map_or("Draft", |t| t.subject.as_str())) }
            } @else {
                h2 { "Draft from " (p.plugin_id) }
            }
            p.meta {
                (draft.helpdesk) " · ticket "
                @if !compact && super::ticket::plain(&draft.helpdesk) && super::ticket::plain(&draft.ticket_id) {
                    a href=(format!("/console/tickets/{}/{}", draft.helpdesk, draft.ticket_id)) { (draft.ticket_id) }
                } @else {
                    (draft.ticket_id)
                }
                " · "
                span.state { (draft.review.state.name()) } " · version " (draft.review.version)
                " · waiting " (age((now - draft.created_at_ms) / 1000))
                " · needs " (requirement.approvers) " × "
                (match requirement.role { ApproverRole::Agent => "agent", ApproverRole::Supervisor => "supervisor" })
                " approval"
            }
            @if let Some(blocked) = &draft.blocked {
                p.error role="alert" { "A policy blocked this draft: " (blocked) }
            }
            @if !draft.flags.is_empty() {
                section aria-labelledby=(format!("flags-{}", draft.id)) {
                    h2 id=(format!("flags-{}", draft.id)) { "Flags" }
                    ul.flags { @for flag in &draft.flags {
                        li { span.flag { (flag.code) } " " (flag.message) }
                    } }
                }
            }
            @if let Some(summary) = &detail.ticket_summary {
                section { h2 { "Summary note" } div.note { (summary) } }
            }
            @if !compact {
                @if let Some(ticket) = ticket {
                    section.thread aria-label="Ticket thread" {
                        h2 { "Ticket thread" }
                        @for message in &ticket.messages {
                            div.message.customer[message.author_role == AuthorRole::Customer]
                                .internal[message.visibility == Visibility::Internal] {
                                p.from {
                                    (message.author_name.as_deref().unwrap_or(match message.author_role {
                                        AuthorRole::Customer => "Customer",
                                        _ => "Agent",
                                    }))
                                    @if message.visibility == Visibility::Internal { " (internal note)" }
                                    " · " (message.created_at)
                                }
                                div.body { (message.body) }
                            }
                        }
                    }
                }
            }
            section.provenance {
                h2 { "Where the draft comes from" }
                dl {
                    dt { "Plugin" } dd { (p.plugin_id) " " (p.plugin_version) }
                    dt { "Model" } dd { (p.model.as_deref().unwrap_or("none")) }
                    dt { "Provider" } dd { (p.provider.as_deref().unwrap_or("none")) }
                    dt { "Confidence" } dd { (format!("{:.0} %", draft.confidence * 100.0)) }
                    dt { "Rationale" } dd { (draft.rationale) }
                    dt { "Redacted from the prompt" } dd { (redactions(&p.redaction)) }
                    dt { "Knowledge sources" }
                    dd {
                        @if p.sources.is_empty() { "none cited" }
                        ul.sources { @for source in &p.sources {
                            li { @match source.url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
                                Some(url) => a href=(url) target="_blank" rel="noopener noreferrer" { (source.title) },
                                None => (source.title),
                            } }
                        } }
                    }
                }
            }
            section.texts {
                h2 { "AI draft" }
                pre.ai-text id=(format!("ai-text-{}", draft.id)) { (draft.body) }
                @if draft.review.edited_text.is_some() {
                    p { "Edited by " (draft.review.edited_by.as_deref().unwrap_or("an agent")) ":" }
                }
                @if !draft.review.approvals.is_empty() {
                    p.approvals { "Approved so far by: "
                        (draft.review.approvals.iter().map(|a| a.approver.as_str()).collect::<Vec<_>>().join(", ")) }
                }
                @if let Some(reply) = &detail.reply {
                    p.reply { "Reply: " (reply.state)
                        @if reply.held_since_ms.is_some() { " (held by the stop switch)" } }
                }
            }
            @if open {
                (decision_form(session, draft, action))
            }
        }
    }
}

fn redactions(summary: &deskbridge_core::RedactionSummary) -> String {
    let counts = [
        (summary.emails, "email address", "email addresses"),
        (summary.phones, "phone number", "phone numbers"),
        (summary.cards, "card number", "card numbers"),
        (summary.ibans, "IBAN", "IBANs"),
        (summary.ips, "IP address", "IP addresses"),
        (summary.custom, "pattern match", "pattern matches"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// The editor, the live diff and the three decisions.
fn decision_form(session: &Session, draft: &PendingDraft, action: &str) -> Markup {
    let editor = format!("editor-{}", draft.id);
    html! {
        form.decide method="post" action=(action) data-ai-text=(format!("ai-text-{}", draft.id)) {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="version" value=(draft.review.version);
            label for=(editor) { "Reply that will be sent (edit before approving if needed)" }
            // A textarea drops one leading newline; the extra one keeps the text exact.
            textarea id=(editor) name="text" rows="12" data-editor { "\n" (draft.text()) }
            div.diff role="region" aria-live="polite" aria-label="Changes to the AI draft" hidden data-diff {}
            div.buttons {
                button.approve type="submit" name="decision" value="approve" data-key="a" {
                    "Approve and send" span.key { " (A)" }
                }
                label { "Reason "
                    input type="text" name="reason" maxlength="1000" data-reason
                        placeholder="required to reject";
                }
                button.reject type="submit" name="decision" value="reject" data-key="r" {
                    "Reject" span.key { " (R)" }
                }
                button.escalate type="submit" name="decision" value="escalate" {
                    "Escalate to a supervisor"
                }
            }
        }
    }
}

/// `POST /console/drafts/{id}`.
pub(crate) async fn decide(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    let (session, _) = match signed_in_as(&request, &state, DECIDERS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = check_csrf(&session, &form.csrf) {
        return response;
    }
    match take_decision(&state, &session, &id, &form).await {
        Ok(done) => see_other(&format!("/console/queue?done={done}")),
        Err(error @ ApiError::Auth(_)) => page_error(Some(&session), &error),
        Err(error) => {
            let status = error.status_code();
            error.log_if_internal();
            render(&state, &session, &id, status, Some(&error))
        }
    }
}
