//! Replies to customers on their way out: the gate's verdict on a stored draft right before
//! sending, who may act on a reply at a given moment, and what the approval log records of a
//! delivery.
//!
//! The approval log must see every delivery (invariant 5):
//!
//! - before each send the deliverer appends `reply.sending` and waits until it is on disk; a
//!   log that refuses writes means no send (the item retries later);
//! - after the helpdesk accepted the reply, the outbox item is marked delivered, the draft is
//!   marked sent with `delivery_logged: false`, `reply.delivered` is appended durably, and the
//!   draft is marked `delivery_logged: true`;
//! - at start, [`reconcile`] finishes whatever a crash cut short: an approved draft whose reply
//!   was delivered is marked sent, and every sent draft whose delivery is not in the log gets
//!   its `reply.delivered` entry (marked `reconciled`), once.
//!
//! A reply and an admin's cancellation never act on the same draft at once ([`claims`]):
//! the deliverer claims a draft for the length of a send, a cancellation for the length of
//! its recording.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use deskbridge_audit::AuditLog;
use deskbridge_core::review::{DraftState, gate_draft};
use deskbridge_core::{ApprovedReply, approve_for_delivery};
use deskbridge_store::{OutboxItem, OutboxState, PendingDraft, Store, StoreError};

use crate::journal::{self, DeliveredReply};
use crate::now_ms;

/// Asks the gate about draft `draft_id` as the store holds it now: only an approved draft
/// whose approvals bind its current text, meet its full requirement (escalation included) and
/// were completed within its review time yields a reply.
pub(crate) fn approved_reply(
    store: &dyn Store,
    draft_id: &str,
    draft_expiry: Duration,
) -> Result<ApprovedReply, String> {
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
    let facts = draft.facts(Some(draft_expiry));
    approve_for_delivery(
        &gate_draft(&facts, &draft.review),
        draft.text(),
        &draft.review.approvals,
    )
    .map_err(|refusal| format!("the delivery gate refused: {refusal}"))
}

/// Who is acting on which draft's reply in this process.
pub mod claims {
    use super::*;

    /// What holds a draft.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Claim {
        /// The deliverer is sending its reply.
        Sending,
        /// An admin's cancellation is being recorded.
        Cancelling,
    }

    static CLAIMS: LazyLock<Mutex<HashMap<String, Claim>>> = LazyLock::new(Mutex::default);

    fn claims() -> std::sync::MutexGuard<'static, HashMap<String, Claim>> {
        CLAIMS.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A claim on a draft, released when dropped.
    #[derive(Debug)]
    pub struct Held(String);

    impl Drop for Held {
        fn drop(&mut self) {
            claims().remove(&self.0);
        }
    }

    /// Claims `draft_id` for a send; `None` while a cancellation holds it.
    pub(crate) fn for_sending(draft_id: &str) -> Option<Held> {
        let mut claims = claims();
        if claims.contains_key(draft_id) {
            return None;
        }
        claims.insert(draft_id.to_owned(), Claim::Sending);
        Some(Held(draft_id.to_owned()))
    }

    /// Why a cancellation cannot have the draft now.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
    pub enum Busy {
        /// The deliverer is sending the reply this moment.
        #[error("the reply is being sent right now; it can no longer be cancelled")]
        Sending,
        /// Another cancellation is being recorded.
        #[error("another cancellation of this reply is being recorded")]
        Cancelling,
    }

    /// Claims `draft_id` for a cancellation.
    pub fn for_cancelling(draft_id: &str) -> Result<Held, Busy> {
        let mut claims = claims();
        match claims.get(draft_id) {
            Some(Claim::Sending) => Err(Busy::Sending),
            Some(Claim::Cancelling) => Err(Busy::Cancelling),
            None => {
                claims.insert(draft_id.to_owned(), Claim::Cancelling);
                Ok(Held(draft_id.to_owned()))
            }
        }
    }
}

/// Marks the draft sent, records the delivery in the approval log, and marks the draft's
/// delivery logged, off the async threads. Failures are logged: the reply is out and its outbox
/// item delivered, so nothing is sent again either way, and a delivery left unlogged is logged
/// at the next start.
pub(crate) async fn record_sent(
    store: &Arc<dyn Store>,
    audit: Option<Arc<AuditLog>>,
    reply: DeliveredReply,
    receipt: Option<String>,
) {
    let store = store.clone();
    let draft_id = reply.draft_id.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        record_delivery(&store, audit.as_deref(), &reply, receipt, false)
    })
    .await;
    if let Err(e) = recorded {
        tracing::error!(draft = %draft_id, error = %e, "recording a delivery stopped");
    }
}

/// [`record_sent`] on the calling thread (it waits for the disk).
fn record_delivery(
    store: &Arc<dyn Store>,
    audit: Option<&AuditLog>,
    reply: &DeliveredReply,
    receipt: Option<String>,
    reconciled: bool,
) {
    let at = now_ms();
    let Some(draft) = mark_sent(store, reply, receipt.clone(), at) else {
        return;
    };
    let DraftState::Sent {
        ai_disclosure,
        delivery_logged: false,
        ..
    } = draft.review.state
    else {
        return;
    };
    if let Some(audit) = audit {
        let entry = journal::reply_delivered(reply, receipt, ai_disclosure, reconciled, at);
        if let Err(e) = audit.append_durable(entry) {
            tracing::error!(
                draft = %reply.draft_id,
                error = %e,
                "cannot record the delivery in the approval log; the next start records it"
            );
            return;
        }
    }
    mark_logged(store, &reply.draft_id);
}

/// Moves an approved draft to `sent` (delivery not yet logged); the draft as it stands after,
/// if it is sent.
fn mark_sent(
    store: &Arc<dyn Store>,
    reply: &DeliveredReply,
    receipt: Option<String>,
    at_ms: i64,
) -> Option<PendingDraft> {
    for _ in 0..5 {
        let mut draft = match store.draft(&reply.draft_id) {
            Ok(Some(draft)) => draft,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(draft = %reply.draft_id, error = %e, "cannot read the sent draft");
                return None;
            }
        };
        if !matches!(draft.review.state, DraftState::Approved { .. }) {
            return Some(draft);
        }
        let version = draft.review.version;
        draft.review.state = DraftState::Sent {
            at_ms,
            receipt: receipt.clone(),
            ai_disclosure: carries_disclosure(&draft, &reply.sent_text),
            delivery_logged: false,
        };
        draft.review.version += 1;
        match store.update_draft(version, &draft) {
            Ok(true) => return Some(draft),
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(draft = %reply.draft_id, error = %e, "cannot mark the draft sent");
                return None;
            }
        }
    }
    None
}

/// Notes on a sent draft that its delivery is in the approval log.
fn mark_logged(store: &Arc<dyn Store>, draft_id: &str) {
    for _ in 0..5 {
        let Ok(Some(mut draft)) = store.draft(draft_id) else {
            return;
        };
        let DraftState::Sent {
            delivery_logged, ..
        } = &mut draft.review.state
        else {
            return;
        };
        if *delivery_logged {
            return;
        }
        *delivery_logged = true;
        let version = draft.review.version;
        draft.review.version += 1;
        match store.update_draft(version, &draft) {
            Ok(false) => continue,
            Ok(true) => return,
            Err(e) => {
                tracing::error!(draft = draft_id, error = %e, "cannot note that the delivery is logged");
                return;
            }
        }
    }
}

/// Whether `sent` still carries the AI-disclosure line the draft was made with.
fn carries_disclosure(draft: &PendingDraft, sent: &str) -> bool {
    draft
        .ai_disclosure
        .as_deref()
        .is_some_and(|line| sent.contains(line))
}

/// What [`reconcile`] did at start.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Reconciled {
    /// Approved drafts whose reply item a crash kept from the outbox, queued now.
    pub(crate) queued: usize,
    /// Approved drafts whose reply was delivered, now marked sent and logged.
    pub(crate) finished: usize,
    /// Sent drafts whose delivery was missing from the approval log, now logged.
    pub(crate) logged: usize,
}

/// Finishes what a crash (or a failed append) cut short between an approval and the log's
/// record of its delivery (see the module docs). Runs at start, before the outbox starts, and
/// hourly with the housekeeping; a draft the deliverer holds at that moment is left to it.
pub(crate) fn reconcile(
    store: &Arc<dyn Store>,
    audit: Option<&AuditLog>,
) -> Result<Reconciled, StoreError> {
    let mut done = Reconciled::default();
    let mut unlogged = Vec::new();
    // Heads first: only approved and sent-but-unlogged drafts are read whole.
    for head in store.draft_heads()? {
        match head.state {
            DraftState::Approved { .. } => {}
            DraftState::Sent {
                delivery_logged: false,
                ..
            } => {
                unlogged.push(head.id);
                continue;
            }
            _ => continue,
        }
        // Claimed as the deliverer claims it: never both at once on one draft.
        let Some(_claim) = claims::for_sending(&head.id) else {
            continue;
        };
        let Some(draft) = store.draft(&head.id)? else {
            continue;
        };
        if !matches!(draft.review.state, DraftState::Approved { .. }) {
            continue;
        }
        let item = OutboxItem::public_reply(&draft, now_ms());
        match store.outbox_item(&item.id)?.map(|item| item.state) {
            None => {
                store.enqueue_outbox(&item)?;
                done.queued += 1;
            }
            Some(OutboxState::Delivered { receipt, .. }) => {
                let reply = DeliveredReply::of_draft(&draft);
                record_delivery(store, audit, &reply, receipt, true);
                done.finished += 1;
            }
            Some(_) => {}
        }
    }
    let Some(audit) = audit.filter(|_| !unlogged.is_empty()) else {
        return Ok(done);
    };
    // Claimed before the log is read: an entry the deliverer appends for one of these drafts
    // cannot fall between the reading and the writing below.
    let claimed: Vec<(String, claims::Held)> = unlogged
        .into_iter()
        .filter_map(|id| claims::for_sending(&id).map(|claim| (id, claim)))
        .collect();
    if claimed.is_empty() {
        return Ok(done);
    }
    // A crash can also fall between the log's entry and the note that it was written: the
    // log is read (once, only now) so that no delivery is recorded twice.
    let in_log: HashSet<String> = match audit.entries_of_kind("reply.delivered") {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|e| e.data.get("draft_id")?.as_str().map(str::to_owned))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the approval log to reconcile deliveries");
            return Ok(done);
        }
    };
    for (id, _claim) in &claimed {
        let id = id.clone();
        let Some(draft) = store.draft(&id)? else {
            continue;
        };
        let DraftState::Sent {
            receipt,
            ai_disclosure,
            delivery_logged: false,
            at_ms,
        } = &draft.review.state
        else {
            continue;
        };
        if !in_log.contains(&id) {
            let reply = DeliveredReply::of_draft(&draft);
            let entry =
                journal::reply_delivered(&reply, receipt.clone(), *ai_disclosure, true, *at_ms);
            if let Err(e) = audit.append_durable(entry) {
                tracing::error!(draft = %id, error = %e, "cannot record a delivery in the approval log");
                continue;
            }
            done.logged += 1;
        }
        mark_logged(store, &id);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::claims::{self, Busy};

    #[test]
    fn a_send_and_a_cancellation_never_hold_one_draft_at_once() {
        let sending = claims::for_sending("d-claims").expect("free");
        assert_eq!(
            claims::for_cancelling("d-claims").map(drop),
            Err(Busy::Sending)
        );
        drop(sending);
        let cancelling = claims::for_cancelling("d-claims").expect("free again");
        assert!(
            claims::for_sending("d-claims").is_none(),
            "no send while a cancellation is recorded"
        );
        assert_eq!(
            claims::for_cancelling("d-claims").map(drop),
            Err(Busy::Cancelling)
        );
        assert!(
            claims::for_sending("another-draft").is_some(),
            "other drafts are not held"
        );
        drop(cancelling);
        assert!(claims::for_sending("d-claims").is_some());
    }
}
