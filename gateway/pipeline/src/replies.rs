//! Replies to customers on their way out: the gate's verdict on a stored draft right before
//! sending, and what is recorded once a reply was delivered (the draft marked sent, a
//! `reply.delivered` entry in the approval log).

use std::sync::Arc;

use deskbridge_audit::AuditLog;
use deskbridge_core::review::{DraftState, gate_draft};
use deskbridge_core::{ApprovedReply, approve_for_delivery};
use deskbridge_store::{PendingDraft, Store};

use crate::{journal, now_ms};

/// Asks the gate about draft `draft_id` as the store holds it now: only an approved draft
/// whose approvals bind its current text and meet its requirement yields a reply.
pub(crate) fn approved_reply(store: &dyn Store, draft_id: &str) -> Result<ApprovedReply, String> {
    let draft = store
        .draft(draft_id)
        .map_err(|e| format!("cannot read draft {draft_id}: {e}"))?
        .ok_or_else(|| format!("draft {draft_id} does not exist"))?;
    if !matches!(draft.review.state, DraftState::Approved { .. }) {
        return Err(format!(
            "the delivery gate refused: draft {draft_id} is {}, not approved",
            draft.review.state.name()
        ));
    }
    let facts = draft.facts();
    let text = draft.review.edited_text.as_deref().unwrap_or(&draft.body);
    approve_for_delivery(
        &gate_draft(&facts, &draft.review),
        text,
        &draft.review.approvals,
    )
    .map_err(|refusal| format!("the delivery gate refused: {refusal}"))
}

/// Marks the draft sent and records the delivery in the approval log. Failures are logged:
/// the reply is out and its outbox item delivered, so nothing is sent again either way.
pub(crate) async fn record_sent(
    store: &Arc<dyn Store>,
    audit: Option<Arc<AuditLog>>,
    reply: &ApprovedReply,
    receipt: Option<String>,
) {
    let at = now_ms();
    let mut ai_disclosure = false;
    for _ in 0..5 {
        let Ok(Some(mut draft)) = store.draft(reply.draft_id()) else {
            break;
        };
        if !matches!(draft.review.state, DraftState::Approved { .. }) {
            break;
        }
        ai_disclosure = carries_disclosure(&draft, reply.body());
        let version = draft.review.version;
        draft.review.state = DraftState::Sent {
            at_ms: at,
            receipt: receipt.clone(),
            ai_disclosure,
        };
        draft.review.version += 1;
        match store.update_draft(version, &draft) {
            Ok(true) => break,
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(draft = reply.draft_id(), error = %e, "cannot mark the draft sent");
                break;
            }
        }
    }
    let Some(audit) = audit else {
        return;
    };
    let entry = journal::reply_delivered(reply, receipt, ai_disclosure, at);
    if let Err(e) = journal::record(&audit, vec![entry]).await {
        tracing::error!(
            draft = reply.draft_id(),
            error = %e,
            "cannot record the delivery in the approval log"
        );
    }
}

/// Whether `sent` still carries the AI-disclosure line the draft was made with.
fn carries_disclosure(draft: &PendingDraft, sent: &str) -> bool {
    draft
        .ai_disclosure
        .as_deref()
        .is_some_and(|line| sent.contains(line))
}
