//! The decision service: every change of a draft's review — an agent's approval, edit,
//! rejection or escalation, an admin's cancellation of an approved reply, the expiry of a
//! draft nobody decided — goes through one [`DecisionService`] owned by the gateway, which the
//! HTTP API (and later the console) and the expiry sweep all call.
//!
//! Each decision is taken one at a time in the process (the service's own lock, not a
//! static), recorded in the approval log before the store's compare-and-swap makes it take
//! effect, and an approval that completes a draft queues its reply and wakes the outbox at
//! once. Failures are typed ([`DecisionError`]); a store or log failure is logged here in full
//! and reaches the caller without its details.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_audit::{AuditLog, NewEntry};
use deskbridge_core::review::{
    Decider, DecisionKind, DecisionRefusal, cancel, decide, effective_requirement, expire,
};
use deskbridge_core::{DraftingSwitch, text_sha256};
use deskbridge_store::{OutboxItem, OutboxState, PendingDraft, Store};
use thiserror::Error;
use tokio::sync::Notify;

use crate::{claims, journal, now_ms};

/// Why a decision did not take effect.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecisionError {
    /// No draft with this id.
    #[error("no draft {0}")]
    NotFound(String),
    /// The review rules refused it (stale version, closed, expired, role too low, blocked…).
    #[error(transparent)]
    Refused(#[from] DecisionRefusal),
    /// The draft's plugin or helpdesk is paused, the draft changed meanwhile, or the reply is
    /// not cancellable now.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is unusable (an empty reason).
    #[error("{0}")]
    Invalid(String),
    /// The store or the approval log failed: nothing took effect. The details are in the
    /// gateway's log, not here.
    #[error("the decision could not be recorded or stored; it did not take effect")]
    Unavailable,
}

/// The one place draft decisions are taken.
pub struct DecisionService {
    store: Arc<dyn Store>,
    audit: Option<Arc<AuditLog>>,
    switch: DraftingSwitch,
    draft_expiry: Duration,
    /// One decision at a time in this process: a logged decision never loses the store's
    /// swap to another writer of the same process.
    one_at_a_time: tokio::sync::Mutex<()>,
    /// Wakes the outbox's deliverers (an approved reply goes out without waiting for a poll).
    outbox_wake: Arc<Notify>,
}

impl std::fmt::Debug for DecisionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionService").finish_non_exhaustive()
    }
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> DecisionError {
    tracing::error!(error = %error, "{what}");
    DecisionError::Unavailable
}

impl DecisionService {
    /// A service deciding on `store`'s drafts, logging to `audit`, refusing approvals while
    /// `switch` pauses a draft's plugin or helpdesk, and waking `outbox_wake` when a reply is
    /// queued.
    pub fn new(
        store: Arc<dyn Store>,
        audit: Option<Arc<AuditLog>>,
        switch: DraftingSwitch,
        draft_expiry: Duration,
        outbox_wake: Arc<Notify>,
    ) -> DecisionService {
        DecisionService {
            store,
            audit,
            switch,
            draft_expiry,
            one_at_a_time: tokio::sync::Mutex::new(()),
            outbox_wake,
        }
    }

    /// A service with no outbox to wake (tests, tools: an approved reply waits for the next
    /// outbox scan of whichever gateway runs).
    pub fn standalone(
        store: Arc<dyn Store>,
        audit: Option<Arc<AuditLog>>,
        switch: DraftingSwitch,
        draft_expiry: Duration,
    ) -> DecisionService {
        DecisionService::new(store, audit, switch, draft_expiry, Arc::new(Notify::new()))
    }

    /// The store the service decides on.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn record(&self, entry: NewEntry, what: &str) -> Result<(), DecisionError> {
        if let Some(audit) = &self.audit {
            journal::record(audit, vec![entry])
                .await
                .map_err(|e| unavailable(what, e))?;
        }
        Ok(())
    }

    /// Decides draft `id` at `version` as `by`; the draft as it stands afterwards.
    pub async fn decide(
        &self,
        id: &str,
        version: u64,
        by: Decider<'_>,
        kind: &DecisionKind,
    ) -> Result<PendingDraft, DecisionError> {
        let approving = matches!(
            kind,
            DecisionKind::Approve | DecisionKind::EditApprove { .. }
        );
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let draft = self
            .store
            .draft(id)
            .map_err(|e| unavailable("reading a draft to decide failed", e))?
            .ok_or_else(|| DecisionError::NotFound(id.to_owned()))?;
        if approving
            && let Some(scope) = self
                .switch
                .paused(&draft.helpdesk, &draft.provenance.plugin_id)
        {
            return Err(DecisionError::Conflict(format!(
                "AI drafting is paused ({scope}): its drafts cannot be approved until an admin resumes it; reject or escalate them, or answer the ticket in the helpdesk"
            )));
        }
        let at = now_ms();
        let decided = decide(
            &draft.facts(Some(self.draft_expiry)),
            &draft.review,
            version,
            &by,
            kind,
            at,
        )?;
        let ready_to_send = decided.ready_to_send;
        let mut next = draft.clone();
        next.review = decided.review;
        // On record first: a decision never takes effect without its log entry.
        self.record(
            decision_entry(&draft, &next, kind, &by, at),
            "recording a decision in the approval log failed",
        )
        .await?;
        match self.store.update_draft(draft.review.version, &next) {
            Ok(true) => {}
            Ok(false) => {
                return Err(DecisionError::Conflict(
                    "the draft changed while this decision was made: reload it and decide again"
                        .into(),
                ));
            }
            Err(e) => return Err(unavailable("storing a decision failed", e)),
        }
        if ready_to_send {
            match self
                .store
                .enqueue_outbox(&OutboxItem::public_reply(&next, now_ms()))
            {
                Ok(()) => self.outbox_wake.notify_one(),
                // The approval stands; the pipeline queues the reply of every approved draft
                // at its next start.
                Err(e) => {
                    tracing::error!(draft = %next.id, error = %e, "cannot queue the approved reply")
                }
            }
        }
        tracing::info!(draft = %next.id, decision = kind.name(), state = next.review.state.name(), version = next.review.version, "draft decided");
        count_decision(kind.name());
        Ok(next)
    }

    /// Cancels the approved, undelivered reply of draft `id` for `reason` (an admin's
    /// decision); the draft as it stands afterwards.
    pub async fn cancel(
        &self,
        id: &str,
        person: &str,
        reason: &str,
    ) -> Result<PendingDraft, DecisionError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 2_000 {
            return Err(DecisionError::Invalid(
                "reason: say why the reply is cancelled (1 to 2,000 bytes)".into(),
            ));
        }
        let _one_at_a_time = self.one_at_a_time.lock().await;
        // Claimed before anything is read: while this cancellation holds the draft, the
        // deliverer sends nothing for it, so what is read below stays true until it is done.
        let _claim =
            claims::for_cancelling(id).map_err(|busy| DecisionError::Conflict(busy.to_string()))?;
        let draft = self
            .store
            .draft(id)
            .map_err(|e| unavailable("reading a draft to cancel failed", e))?
            .ok_or_else(|| DecisionError::NotFound(id.to_owned()))?;
        let at = now_ms();
        let Some(review) = cancel(&draft.review, person, reason, at) else {
            return Err(DecisionError::Conflict(format!(
                "the draft is {}: only an approved reply that has not been delivered can be cancelled (reject an open draft instead)",
                draft.review.state.name()
            )));
        };
        let item_id = format!("{}.reply", draft.id);
        let item = self
            .store
            .outbox_item(&item_id)
            .map_err(|e| unavailable("reading a reply's outbox item failed", e))?;
        if let Some(item) = &item {
            if !matches!(item.state, OutboxState::Pending) {
                let state = match item.state {
                    OutboxState::Pending => "pending",
                    OutboxState::Delivered { .. } => "delivered",
                    OutboxState::DeadLettered { .. } => "dead_lettered",
                    OutboxState::Cancelled { .. } => "cancelled",
                };
                return Err(DecisionError::Conflict(format!(
                    "the reply is already {state}; it cannot be cancelled"
                )));
            }
            if item.maybe_applied {
                return Err(DecisionError::Conflict(
                    "an earlier attempt to send this reply may have reached the helpdesk (its outcome is unknown); it cannot be cancelled, check the ticket".into(),
                ));
            }
        }
        // On record first: a cancellation never takes effect without its log entry.
        self.record(
            journal::reply_cancelled(&draft, person, reason, at),
            "recording a cancellation in the approval log failed",
        )
        .await?;
        let mut next = draft.clone();
        next.review = review;
        let stored = self.store.update_draft(draft.review.version, &next);
        if !matches!(stored, Ok(true)) {
            // Logged but not in effect: the log says so too, so it never reads as cancelled.
            if let Some(audit) = &self.audit
                && let Err(e) =
                    journal::record(audit, vec![journal::reply_cancel_undone(&draft, now_ms())])
                        .await
            {
                tracing::error!(draft = %draft.id, error = %e, "cannot record that a cancellation did not take effect");
            }
            return Err(match stored {
                Ok(_) => DecisionError::Conflict(
                    "the draft changed meanwhile: reload it and try again".into(),
                ),
                Err(e) => unavailable("storing a cancellation failed", e),
            });
        }
        if let Some(mut item) = item {
            item.state = OutboxState::Cancelled { at_ms: at };
            item.held_since_ms = None;
            if let Err(e) = self.store.outbox_update(&item) {
                // The draft is cancelled: the deliverer's gate refuses the item and
                // dead-letters it.
                tracing::error!(draft = %next.id, error = %e, "cannot mark the cancelled reply's outbox item");
            }
        }
        tracing::info!(draft = %next.id, "approved reply cancelled by an admin");
        count_decision("cancel");
        Ok(next)
    }

    /// Expires every open draft created at or before `now_ms - draft_expiry`; how many.
    pub async fn expire_due(&self, now_ms: i64) -> Result<usize, String> {
        let expiry = i64::try_from(self.draft_expiry.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms.saturating_sub(expiry).saturating_add(1);
        // The listing reads every draft: on a blocking thread, not one of the pipeline's
        // workers (with ~75,000 drafts it held a worker for a third of a second; BENCHMARKS.md).
        let listing = self.store.clone();
        let due = tokio::task::spawn_blocking(move || listing.open_drafts_created_before(cutoff))
            .await
            .map_err(|e| format!("the draft listing stopped: {e}"))?
            .map_err(|e| e.to_string())?;
        let mut expired = 0;
        for id in due {
            let _one_at_a_time = self.one_at_a_time.lock().await;
            // Read again under the lock: a decision may have come in since the listing.
            let Some(mut draft) = self.store.draft(&id).map_err(|e| e.to_string())? else {
                continue;
            };
            let Some(review) = expire(&draft.review, now_ms) else {
                continue;
            };
            if let Some(audit) = &self.audit {
                let entry = journal::draft_expired(&draft, review.version, now_ms);
                journal::record(audit, vec![entry])
                    .await
                    .map_err(|e| format!("cannot log the expiry of {id}: {e}"))?;
            }
            let version = draft.review.version;
            draft.review = review;
            if self
                .store
                .update_draft(version, &draft)
                .map_err(|e| e.to_string())?
            {
                expired += 1;
                count_decision("expire");
            }
        }
        Ok(expired)
    }
}

/// Counts a decision of `kind` for `GET /metrics`.
fn count_decision(kind: &str) {
    deskbridge_core::telemetry::telemetry().inc("deskbridge_decisions_total", &[("kind", kind)]);
}

/// The approval-log entry of a decision.
fn decision_entry(
    draft: &PendingDraft,
    decided: &PendingDraft,
    kind: &DecisionKind,
    by: &Decider<'_>,
    at_ms: i64,
) -> NewEntry {
    let text = decided
        .review
        .edited_text
        .as_deref()
        .unwrap_or(&decided.body);
    let requirement = effective_requirement(&decided.facts(None), &decided.review);
    let text_hash = text_sha256(text);
    let counted = decided
        .review
        .approvals
        .iter()
        .filter(|a| a.text_sha256 == text_hash)
        .count();
    let mut entry = NewEntry {
        kind: "draft.decided".into(),
        at_ms,
        data: journal::draft_fields(draft),
        ..NewEntry::default()
    };
    let data = &mut entry.data;
    data.insert("decision".into(), kind.name().into());
    data.insert("role".into(), journal::role_name(by.role).into());
    data.insert("version".into(), decided.review.version.into());
    data.insert("state".into(), decided.review.state.name().into());
    data.insert("draft_sha256".into(), text_sha256(&draft.body).into());
    data.insert("text_sha256".into(), text_hash.into());
    data.insert(
        "edit_distance".into(),
        decided.review.edit_distance.unwrap_or(0).into(),
    );
    data.insert("approvals".into(), counted.into());
    data.insert("approvals_needed".into(), requirement.approvers.into());
    entry.personal.insert("person".into(), by.person.to_owned());
    if let DecisionKind::Reject { reason }
    | DecisionKind::Escalate {
        reason: Some(reason),
    } = kind
    {
        entry.personal.insert("reason".into(), reason.clone());
    }
    entry
}

#[cfg(test)]
mod tests {
    use deskbridge_core::ApproverRole;
    use deskbridge_core::review::DraftState;

    use super::*;
    use crate::tests::{draft, store_with};

    fn agent(person: &str) -> Decider<'_> {
        Decider {
            person,
            token_id: None,
            role: ApproverRole::Agent,
        }
    }

    fn service(dir: &std::path::Path, switch: DraftingSwitch) -> (DecisionService, Arc<Notify>) {
        let mut open = draft("d1", DraftState::Pending);
        open.created_at_ms = now_ms();
        let store = store_with(dir, vec![open]);
        let wake = Arc::new(Notify::new());
        let service = DecisionService::new(
            store,
            None,
            switch,
            Duration::from_secs(3_600),
            wake.clone(),
        );
        (service, wake)
    }

    #[tokio::test]
    async fn an_approval_queues_the_reply_and_wakes_the_outbox_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (service, wake) = service(dir.path(), DraftingSwitch::default());
        let decided = service
            .decide("d1", 0, agent("Ann"), &DecisionKind::Approve)
            .await
            .expect("approved");
        assert_eq!(decided.review.state.name(), "approved");
        assert!(
            service
                .store()
                .outbox_item("d1.reply")
                .expect("read")
                .is_some(),
            "the reply is queued"
        );
        // The wake-up is already there: the deliverers do not wait for their next scan.
        tokio::time::timeout(Duration::from_secs(5), wake.notified())
            .await
            .expect("the outbox was woken");
    }

    #[tokio::test]
    async fn of_two_decisions_on_one_version_only_one_takes_effect() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (service, _) = service(dir.path(), DraftingSwitch::default());
        let service = Arc::new(service);
        let reject = DecisionKind::Reject {
            reason: "wrong policy".into(),
        };
        let (a, b) = tokio::join!(
            service.decide("d1", 0, agent("Ann"), &DecisionKind::Approve),
            service.decide("d1", 0, agent("Bob"), &reject),
        );
        assert!(a.is_ok() != b.is_ok(), "{a:?} / {b:?}");
        let lost = a.err().or(b.err()).expect("one lost");
        assert!(matches!(lost, DecisionError::Refused(_)), "{lost:?}");
        assert_eq!(
            service
                .decide("nope", 0, agent("Ann"), &DecisionKind::Approve)
                .await,
            Err(DecisionError::NotFound("nope".into()))
        );
    }

    #[tokio::test]
    async fn a_paused_plugin_cannot_have_its_drafts_approved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let switch = DraftingSwitch::default();
        switch.set(deskbridge_core::Pause {
            scope: deskbridge_core::PauseScope::All,
            by: "admin".into(),
            reason: Some("incident".into()),
            at_ms: 0,
        });
        let (service, _) = service(dir.path(), switch);
        let refused = service
            .decide("d1", 0, agent("Ann"), &DecisionKind::Approve)
            .await
            .expect_err("paused");
        assert!(matches!(refused, DecisionError::Conflict(_)), "{refused:?}");
        assert!(
            service.cancel("d1", "admin", " ").await.is_err(),
            "a reason is required"
        );
    }
}
