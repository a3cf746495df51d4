//! The approval queue for agents and supervisors:
//!
//! - `GET /api/v1/drafts` — drafts, filtered and paged (`draft_list.rs`);
//! - `GET /api/v1/drafts/{id}` — one draft with its text, summary note, flags, requirement and
//!   provenance;
//! - `POST /api/v1/drafts/{id}/decisions` — approve, edit then approve, reject (with a reason)
//!   or escalate, naming the version decided on;
//! - `POST /api/v1/drafts/{id}/cancel` — an admin withdraws an approved reply that has not
//!   been delivered (typically one the stop switch holds).
//!
//! Decisions and cancellations are taken by the pipeline's `DecisionService` (one at a time in
//! the process, stored with a version check so two agents cannot both win, each recorded in
//! the approval log durably before it takes effect); this module checks the caller's roles
//! and maps the service's typed refusals to problem responses. The decision that completes
//! the approvals queues an outbox item that names the draft, not a text: the deliverer asks
//! the gate in `deskbridge-core` again, from what the store holds, right before sending.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use deskbridge_core::review::{
    Decider, DecisionKind, DecisionRefusal, DraftState, effective_requirement,
};
use deskbridge_core::{
    ApprovalRequirement, Role, Suggestion, strongest_approver_role, text_sha256,
};
use deskbridge_pipeline::{DecisionError, now_ms};
use deskbridge_store::{DraftProvenance, OutboxItem, OutboxOp, OutboxState, PendingDraft, Store};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::{AuthError, Caller};
use crate::problem::Problem;

/// Who works the queue.
pub(crate) const DECIDERS: &[Role] = &[Role::Agent, Role::Supervisor];

/// A draft in a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DraftSummary<'a> {
    pub(crate) id: &'a str,
    pub(crate) helpdesk: &'a str,
    pub(crate) ticket_id: &'a str,
    pub(crate) state: &'static str,
    pub(crate) version: u64,
    pub(crate) plugin_id: &'a str,
    pub(crate) requirement: ApprovalRequirement,
    pub(crate) blocked: Option<&'a str>,
    pub(crate) flags: Vec<&'a str>,
    pub(crate) created_at_ms: i64,
    pub(crate) age_s: i64,
}

pub(crate) fn summary(draft: &PendingDraft, now_ms: i64) -> DraftSummary<'_> {
    DraftSummary {
        id: &draft.id,
        helpdesk: &draft.helpdesk,
        ticket_id: &draft.ticket_id,
        state: draft.review.state.name(),
        version: draft.review.version,
        plugin_id: &draft.provenance.plugin_id,
        requirement: effective_requirement(&draft.facts(None), &draft.review),
        blocked: draft.blocked.as_deref(),
        flags: draft.flags.iter().map(|f| f.code.as_str()).collect(),
        created_at_ms: draft.created_at_ms,
        age_s: now_ms.saturating_sub(draft.created_at_ms) / 1000,
    }
}

/// One draft in full.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DraftDetail<'a> {
    #[serde(flatten)]
    pub(crate) summary: DraftSummary<'a>,
    /// The AI's text.
    pub(crate) body: &'a str,
    /// The text under review (edited or the AI's).
    pub(crate) text: &'a str,
    text_sha256: String,
    pub(crate) edited_by: Option<&'a str>,
    pub(crate) rationale: &'a str,
    pub(crate) confidence: f32,
    pub(crate) flags_detail: &'a [deskbridge_core::Flag],
    pub(crate) approvals: &'a [deskbridge_core::ApprovalRecord],
    pub(crate) review_state: &'a DraftState,
    pub(crate) provenance: &'a DraftProvenance,
    /// The internal notes (summaries) plugins wrote for the same event, joined; none when no
    /// plugin wrote one.
    pub(crate) ticket_summary: Option<String>,
    /// What plugins wanted to change on the ticket (tags, priority) that the helpdesk leaves
    /// to the person deciding.
    pub(crate) suggestions: &'a [Suggestion],
    /// The ticket as the plugin saw it: subject, status, requester and newest messages.
    pub(crate) ticket: Option<&'a deskbridge_core::Ticket>,
    /// The approved reply on its way out, once queued.
    pub(crate) reply: Option<ReplyStatus>,
}

/// Where an approved draft's reply stands in the outbox.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReplyStatus {
    /// `pending`, `delivered`, `dead_lettered` or `cancelled`.
    pub(crate) state: &'static str,
    /// Since when the stop switch holds it, if it does.
    pub(crate) held_since_ms: Option<i64>,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// The last failure.
    pub(crate) last_error: Option<String>,
}

fn reply_status(item: OutboxItem) -> ReplyStatus {
    ReplyStatus {
        state: match item.state {
            OutboxState::Pending => "pending",
            OutboxState::Delivered { .. } => "delivered",
            OutboxState::DeadLettered { .. } => "dead_lettered",
            OutboxState::Cancelled { .. } => "cancelled",
        },
        held_since_ms: item.held_since_ms,
        attempts: item.attempts,
        last_error: item.last_error,
    }
}

pub(crate) fn detail<'a>(
    draft: &'a PendingDraft,
    store: &dyn Store,
    now_ms: i64,
) -> DraftDetail<'a> {
    let text = draft.text();
    // The summary is whatever internal notes plugins wrote for the event: found by the kind
    // of action (recorded with the draft), not by any plugin's id.
    let notes: Vec<String> = draft
        .notes
        .iter()
        .filter_map(|id| store.outbox_item(id).ok().flatten())
        .filter_map(|item| match item.op {
            OutboxOp::InternalNote { body } => Some(body),
            _ => None,
        })
        .collect();
    let reply = store
        .outbox_item(&format!("{}.reply", draft.id))
        .ok()
        .flatten()
        .map(reply_status);
    DraftDetail {
        summary: summary(draft, now_ms),
        body: &draft.body,
        text,
        text_sha256: text_sha256(text),
        edited_by: draft.review.edited_by.as_deref(),
        rationale: &draft.rationale,
        confidence: draft.confidence,
        flags_detail: &draft.flags,
        approvals: &draft.review.approvals,
        review_state: &draft.review.state,
        provenance: &draft.provenance,
        ticket_summary: (!notes.is_empty()).then(|| notes.join("\n\n")),
        suggestions: &draft.suggestions,
        ticket: draft.context.as_ref(),
        reply,
    }
}

/// `GET /api/v1/drafts/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/drafts/{id}",
    tag = "drafts",
    summary = "Read one draft with its text, context, flags, requirement and provenance",
    params(("id" = String, Path, description = "The draft id")),
    responses(
        (status = 200, description = "The draft", body = DraftDetail),
        (status = 404, description = "No such draft", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(DECIDERS)?;
    let store = state.store.as_ref().ok_or(ApiError::NoStore)?;
    match store.draft(&id) {
        Ok(Some(draft)) => Ok(HttpResponse::Ok().json(detail(&draft, store.as_ref(), now_ms()))),
        Ok(None) => Err(ApiError::not_found(format!("no draft {id}"))),
        Err(e) => Err(ApiError::internal("reading the draft", e)),
    }
}

/// `POST /api/v1/drafts/{id}/decisions` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionRequest {
    /// The draft version the decision was made on.
    pub(crate) version: u64,
    /// `approve`, `edit_approve`, `reject` or `escalate`.
    pub(crate) decision: String,
    /// The new text (`edit_approve` only).
    pub(crate) text: Option<String>,
    /// Why (`reject`: required; `escalate`: optional).
    pub(crate) reason: Option<String>,
}

impl DecisionRequest {
    pub(crate) fn kind(&self) -> Result<DecisionKind, String> {
        let only = |field: &str, allowed: bool, present: bool| {
            if present && !allowed {
                Err(format!(
                    "{field}: not allowed with decision {:?}",
                    self.decision
                ))
            } else {
                Ok(())
            }
        };
        match self.decision.as_str() {
            "approve" => {
                only("text", false, self.text.is_some())?;
                only("reason", false, self.reason.is_some())?;
                Ok(DecisionKind::Approve)
            }
            "edit_approve" => {
                only("reason", false, self.reason.is_some())?;
                let text = self
                    .text
                    .clone()
                    .ok_or("text: required with edit_approve")?;
                Ok(DecisionKind::EditApprove { text })
            }
            "reject" => {
                only("text", false, self.text.is_some())?;
                let reason = self.reason.clone().ok_or("reason: required with reject")?;
                Ok(DecisionKind::Reject { reason })
            }
            "escalate" => {
                only("text", false, self.text.is_some())?;
                Ok(DecisionKind::Escalate {
                    reason: self.reason.clone(),
                })
            }
            other => Err(format!(
                "decision: {other:?} is not one of approve, edit_approve, reject, escalate"
            )),
        }
    }
}

fn refusal_error(refusal: &DecisionRefusal) -> ApiError {
    let status = match refusal {
        DecisionRefusal::Stale { .. }
        | DecisionRefusal::Closed(_)
        | DecisionRefusal::Expired
        | DecisionRefusal::AlreadyApproved => StatusCode::CONFLICT,
        DecisionRefusal::RoleTooLow { .. } => StatusCode::FORBIDDEN,
        DecisionRefusal::Blocked(_) | DecisionRefusal::Invalid(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    ApiError::refused(status, refusal.to_string())
}

/// `POST /api/v1/drafts/{id}/decisions`.
#[utoipa::path(
    post,
    path = "/api/v1/drafts/{id}/decisions",
    tag = "drafts",
    summary = "Approve, edit then approve, reject or escalate a draft",
    params(("id" = String, Path, description = "The draft id")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The decision took effect; the draft as it stands now", body = DraftDetail),
        (status = 404, description = "No such draft", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A stale version, a closed or expired draft, an approval already given, or a paused plugin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed decision or a blocked draft", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The decision could not be logged or stored; it did not take effect", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn decide_draft(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(DECIDERS)?;
    let Some(role) = strongest_approver_role(&caller.roles) else {
        return Err(AuthError::Forbidden {
            person: caller.person.clone(),
            allowed: DECIDERS.to_vec(),
            held: caller.roles.clone(),
        }
        .into());
    };
    let kind = body.kind().map_err(ApiError::unprocessable)?;
    let decisions = state.decisions.clone().ok_or(ApiError::NoStore)?;
    let decider = Decider {
        person: &caller.person,
        token_id: Some(&caller.token_id),
        role,
    };
    match decisions.decide(&id, body.version, decider, &kind).await {
        Ok(next) => {
            Ok(HttpResponse::Ok().json(detail(&next, decisions.store().as_ref(), now_ms())))
        }
        Err(e) => Err(decision_refused(&e)),
    }
}

/// The error of a decision that did not take effect (a store or log failure is logged by the
/// service; the caller learns only that nothing happened).
pub(crate) fn decision_refused(error: &DecisionError) -> ApiError {
    match error {
        DecisionError::NotFound(_) => ApiError::not_found(error.to_string()),
        DecisionError::Refused(refusal) => refusal_error(refusal),
        DecisionError::Conflict(_) => ApiError::conflict(error.to_string()),
        DecisionError::Invalid(_) => ApiError::unprocessable(error.to_string()),
        DecisionError::Unavailable => {
            ApiError::refused(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
    }
}

/// `POST /api/v1/drafts/{id}/cancel` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelRequest {
    /// Why (required; recorded in the approval log as a commitment).
    reason: String,
}

/// `POST /api/v1/drafts/{id}/cancel` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/drafts/{id}/cancel",
    tag = "drafts",
    summary = "Cancel an approved reply that has not been delivered (admin), e.g. one the stop switch holds",
    params(("id" = String, Path, description = "The draft id")),
    request_body = CancelRequest,
    responses(
        (status = 200, description = "Cancelled: the reply will never be sent; the draft as it stands now", body = DraftDetail),
        (status = 404, description = "No such draft", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The draft is not an approved reply waiting for delivery (open, sent, already cancelled), its reply is being sent this moment, or an earlier attempt may have reached the helpdesk", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason given", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The cancellation could not be logged or stored; it did not take effect", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn cancel_reply(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let decisions = state.decisions.clone().ok_or(ApiError::NoStore)?;
    match decisions.cancel(&id, &caller.person, &body.reason).await {
        Ok(next) => {
            Ok(HttpResponse::Ok().json(detail(&next, decisions.store().as_ref(), now_ms())))
        }
        Err(e) => Err(decision_refused(&e)),
    }
}
