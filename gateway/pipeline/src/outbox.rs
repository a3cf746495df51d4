//! The outbox deliverer: one task per helpdesk instance delivers that instance's pending
//! items in event order (and, within an event, in the order the plugins produced them),
//! keeping each ticket's items in order.
//!
//! Exactly-once on top of at-least-once: before a note is sent, the item is durably marked
//! `maybe_applied`; any later attempt (a retry after a timeout or 5xx, or the first attempt
//! after a crash mid-send) first reads the ticket back and looks for the note's marker. A
//! `429` pauses the helpdesk's rate gate for `Retry-After`; an exhausted quota does the same.
//! Client errors other than 429 are dead-lettered at once; everything else is retried with
//! backoff and jitter until the configured horizon, then dead-lettered with its last error (an
//! item that may have landed is read back one last time first).
//!
//! An approved reply is held while the stop switch pauses its helpdesk or plugin: it stays
//! queued (in order, so the ticket's later items wait behind it), the time held does not count
//! against the horizon, and it goes out once the scope is resumed — unless an admin cancels it.
//! Before each send of a reply, `reply.sending` is durable in the approval log.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_connectors::{ApiError, HelpdeskClient, Write, marker_for};
use deskbridge_core::ApprovedReply;
use deskbridge_store::{OutboxItem, OutboxOp, OutboxState, Store};

use crate::journal::{self, DeliveredReply};
use crate::replies::claims;
use tokio::sync::Notify;

use crate::helpdesk::Helpdesks;
use crate::{PipelineSettings, backoff, now_ms};

/// Longest sleep between scans when nothing is due (new items also wake the deliverer).
const IDLE_POLL: Duration = Duration::from_secs(1);

pub(crate) fn start(
    store: Arc<dyn Store>,
    helpdesks: Arc<Helpdesks>,
    settings: Arc<PipelineSettings>,
    wake: Arc<Notify>,
) {
    let names: Vec<String> = helpdesks.iter().map(|h| h.name.clone()).collect();
    // One shared wake-up fans out to every deliverer.
    let mut wakes = Vec::new();
    for name in names {
        let own_wake = Arc::new(Notify::new());
        wakes.push(own_wake.clone());
        let deliverer = Deliverer {
            helpdesk: name,
            store: store.clone(),
            helpdesks: helpdesks.clone(),
            settings: settings.clone(),
        };
        tokio::spawn(async move { deliverer.run(own_wake).await });
    }
    tokio::spawn(async move {
        loop {
            wake.notified().await;
            for own in &wakes {
                own.notify_one();
            }
        }
    });
}

struct Deliverer {
    helpdesk: String,
    store: Arc<dyn Store>,
    helpdesks: Arc<Helpdesks>,
    settings: Arc<PipelineSettings>,
}

impl Deliverer {
    async fn run(self, wake: Arc<Notify>) {
        loop {
            let next_due = match self.pass().await {
                Ok(next_due) => next_due,
                Err(e) => {
                    tracing::error!(helpdesk = %self.helpdesk, error = %e, "outbox pass failed");
                    Some(IDLE_POLL)
                }
            };
            let sleep = next_due.unwrap_or(IDLE_POLL).min(IDLE_POLL);
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Delivers every due item once; returns how long until the next one is due.
    async fn pass(&self) -> Result<Option<Duration>, deskbridge_store::StoreError> {
        let mut items: Vec<OutboxItem> = self
            .store
            .outbox_pending()?
            .into_iter()
            .filter(|item| item.helpdesk == self.helpdesk)
            .collect();
        items.sort_by(|a, b| {
            (a.event_seq, a.position, &a.id).cmp(&(b.event_seq, b.position, &b.id))
        });
        let mut waiting_tickets = HashSet::new();
        let mut next_due: Option<i64> = None;
        for item in items {
            if waiting_tickets.contains(&item.ticket_id) {
                continue; // an earlier item of this ticket must land first
            }
            let now = now_ms();
            if item.next_attempt_at_ms > now {
                waiting_tickets.insert(item.ticket_id.clone());
                next_due = Some(
                    next_due.map_or(item.next_attempt_at_ms, |d| d.min(item.next_attempt_at_ms)),
                );
                continue;
            }
            let ticket = item.ticket_id.clone();
            let id = item.id.clone();
            let updated = match self.deliver(item).await {
                Ok(updated) => updated,
                // Ended elsewhere meanwhile (an admin cancelled it): nothing left to do.
                Err(deskbridge_store::StoreError::NotFound { .. }) => {
                    tracing::info!(helpdesk = %self.helpdesk, item = %id, "outbox item ended elsewhere; skipped");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let OutboxState::Pending = updated.state {
                waiting_tickets.insert(ticket);
                next_due = Some(next_due.map_or(updated.next_attempt_at_ms, |d| {
                    d.min(updated.next_attempt_at_ms)
                }));
            }
        }
        Ok(next_due.map(|due| Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0))))
    }

    /// One attempt at one item; the item's new state is saved before returning.
    async fn deliver(
        &self,
        mut item: OutboxItem,
    ) -> Result<OutboxItem, deskbridge_store::StoreError> {
        let Some(client) = self
            .helpdesks
            .get(&self.helpdesk)
            .and_then(|h| h.client.clone())
        else {
            return self.dead_letter(
                item,
                "this helpdesk has no API to deliver to (generic helpdesks receive no writes yet)"
                    .into(),
            )
            .await;
        };
        // The stop switch holds an approved reply of a paused scope where it is.
        let _sending = match &item.op {
            OutboxOp::PublicReply { draft_id } => {
                if let Some(scope) = self.settings.switch.paused(&item.helpdesk, &item.plugin) {
                    return self.hold(item, &scope.to_string()).await;
                }
                let Some(claim) = claims::for_sending(draft_id) else {
                    // An admin's cancellation is being recorded: look again shortly.
                    item.next_attempt_at_ms = now_ms() + 200;
                    return Ok(item);
                };
                if let Some(since) = item.held_since_ms.take() {
                    item.held_ms = item.held_ms.saturating_add(now_ms() - since);
                    tracing::info!(helpdesk = %self.helpdesk, item = %item.id, "the stop switch released a held reply");
                }
                Some(claim)
            }
            _ => None,
        };
        let horizon =
            i64::try_from(self.settings.outbox_give_up_after.as_millis()).unwrap_or(i64::MAX);
        let past_horizon = item.trying_for_ms(now_ms()) > horizon;
        let give_up = |item: &OutboxItem, read_back: &str| {
            format!(
                "gave up after {} attempts over {}s{read_back}; last error: {}",
                item.attempts,
                horizon / 1000,
                item.last_error.as_deref().unwrap_or("none")
            )
        };
        // An item that may have reached the helpdesk is read back first, even past the
        // horizon: a write that did land is delivered, not a dead letter.
        let is_note = matches!(
            item.op,
            OutboxOp::InternalNote { .. } | OutboxOp::PublicReply { .. }
        );
        if past_horizon && !(is_note && item.maybe_applied) {
            let reason = give_up(&item, "");
            return self.dead_letter(item, reason).await;
        }
        // A reply goes out only as the gate's ApprovedReply, made here from what the store
        // holds right now: a draft or approval altered after the decision is refused.
        let approved = match &item.op {
            OutboxOp::PublicReply { draft_id } => match self.approved_reply(draft_id) {
                Ok(reply) => Some(reply),
                Err(reason) => return self.dead_letter(item, reason).await,
            },
            _ => None,
        };
        let marker = marker_for(&item.id);
        if is_note && item.maybe_applied {
            let found = match &approved {
                Some(reply) => client.find_public_reply(reply).await,
                None => client.find_marker(&item.ticket_id, &marker).await,
            };
            match found {
                Ok(Some(receipt)) => {
                    tracing::info!(item = %item.id, "read-back found an earlier attempt delivered; not sending again");
                    return self
                        .delivered(item, Some(receipt), true, approved.as_ref())
                        .await;
                }
                Ok(None) if past_horizon => {
                    let reason = give_up(&item, "; a read-back found no earlier attempt delivered");
                    return self.dead_letter(item, reason).await;
                }
                Ok(None) => {}
                Err(error) if past_horizon => {
                    let reason = give_up(&item, &format!("; the last read-back failed: {error}"));
                    return self.dead_letter(item, reason).await;
                }
                Err(error) => return self.retry_or_dead_letter(item, error, true).await,
            }
        }
        // On record before it is sent: no reply leaves while the approval log refuses writes.
        if let (Some(reply), Some(audit)) = (&approved, &self.settings.audit) {
            let entry = journal::reply_sending(reply, &item.id, item.attempts + 1, now_ms());
            if let Err(e) = journal::record(audit, vec![entry]).await {
                let error = ApiError::Transient {
                    reason: format!(
                        "the approval log refused the reply's intent, so it was not sent: {e}"
                    ),
                    maybe_applied: false,
                };
                return self.retry_or_dead_letter(item, error, false).await;
            }
            // A pause that came while the intent was being written still holds the reply.
            if let Some(scope) = self.settings.switch.paused(&item.helpdesk, &item.plugin) {
                return self.hold(item, &scope.to_string()).await;
            }
        }
        // Write-ahead: from here the note may reach the helpdesk, so a crash before the answer
        // is recorded must lead to a read-back, not a blind resend.
        let doubt_before = item.maybe_applied;
        item.attempts += 1;
        if is_note && !item.maybe_applied {
            item.maybe_applied = true;
            self.store.outbox_update(&item)?;
        }
        // Nothing reaches a helpdesk before the event it answers, and this item's state, are
        // on disk (events are processed before their ingest flush completes).
        self.store.durable().await?;
        let result = match &approved {
            Some(reply) => client.public_reply(reply).await,
            None => send(client.as_ref(), &item, &marker).await,
        };
        match result {
            Ok(receipt) => {
                self.delivered(item, receipt.id, false, approved.as_ref())
                    .await
            }
            Err(error) => {
                let applied_maybe = matches!(
                    error,
                    ApiError::Transient {
                        maybe_applied: true,
                        ..
                    }
                );
                item.maybe_applied = is_note && (doubt_before || applied_maybe);
                self.retry_or_dead_letter(item, error, false).await
            }
        }
    }

    /// Final states are flushed at once: a dead letter must not vanish in a crash, and a
    /// delivered item coming back as pending would cost a read-back.
    async fn delivered(
        &self,
        mut item: OutboxItem,
        receipt: Option<String>,
        reconciled: bool,
        reply: Option<&ApprovedReply>,
    ) -> Result<OutboxItem, deskbridge_store::StoreError> {
        item.state = OutboxState::Delivered {
            receipt: receipt.clone(),
            at_ms: now_ms(),
            reconciled,
        };
        self.store.outbox_update(&item)?;
        self.store.durable().await?;
        if let Some(reply) = reply {
            crate::replies::record_sent(
                &self.store,
                self.settings.audit.clone(),
                DeliveredReply::of_reply(reply),
                receipt,
            )
            .await;
        }
        tracing::info!(helpdesk = %self.helpdesk, item = %item.id, op = item.op.name(), attempts = item.attempts, request_id = item.request_id.as_deref().unwrap_or(""), "outbox item delivered");
        deskbridge_core::telemetry::telemetry().inc(
            "deskbridge_outbox_attempts_total",
            &[("helpdesk", &self.helpdesk), ("result", "delivered")],
        );
        Ok(item)
    }

    /// The gate's verdict on draft `draft_id` as stored now.
    fn approved_reply(&self, draft_id: &str) -> Result<ApprovedReply, String> {
        crate::replies::approved_reply(self.store.as_ref(), draft_id, self.settings.draft_expiry)
    }

    /// Leaves a reply queued while the stop switch pauses its scope, noting since when.
    async fn hold(
        &self,
        mut item: OutboxItem,
        scope: &str,
    ) -> Result<OutboxItem, deskbridge_store::StoreError> {
        if item.held_since_ms.is_none() {
            item.held_since_ms = Some(now_ms());
            tracing::info!(helpdesk = %self.helpdesk, item = %item.id, %scope, "an approved reply is held by the stop switch");
            self.store.outbox_update(&item)?;
        }
        // Looked at again within a second: resuming releases it.
        item.next_attempt_at_ms =
            now_ms().saturating_add(i64::try_from(IDLE_POLL.as_millis()).unwrap_or(i64::MAX));
        Ok(item)
    }

    async fn dead_letter(
        &self,
        mut item: OutboxItem,
        reason: String,
    ) -> Result<OutboxItem, deskbridge_store::StoreError> {
        // The reason quotes the helpdesk's answer, which may echo ticket text: it is kept on
        // the item for the admin page, not logged.
        tracing::warn!(helpdesk = %self.helpdesk, item = %item.id, request_id = item.request_id.as_deref().unwrap_or(""), "outbox item dead-lettered (the reason is on the admin page)");
        deskbridge_core::telemetry::telemetry().inc(
            "deskbridge_outbox_attempts_total",
            &[("helpdesk", &self.helpdesk), ("result", "dead_lettered")],
        );
        item.state = OutboxState::DeadLettered {
            reason,
            at_ms: now_ms(),
        };
        self.store.outbox_update(&item)?;
        self.store.durable().await?;
        Ok(item)
    }

    async fn retry_or_dead_letter(
        &self,
        mut item: OutboxItem,
        error: ApiError,
        reading_back: bool,
    ) -> Result<OutboxItem, deskbridge_store::StoreError> {
        let what = if reading_back { "read-back" } else { "attempt" };
        if !matches!(error, ApiError::Permanent { .. }) {
            deskbridge_core::telemetry::telemetry().inc(
                "deskbridge_outbox_attempts_total",
                &[("helpdesk", &self.helpdesk), ("result", "retry")],
            );
        }
        item.last_error = Some(format!("{what} {}: {error}", item.attempts));
        let wait = match &error {
            ApiError::Permanent { .. } => {
                let reason = format!("the helpdesk refused it: {error}");
                return self.dead_letter(item, reason).await;
            }
            ApiError::RateLimited { retry_after } => retry_after.unwrap_or_else(|| {
                backoff::delay(
                    item.attempts.max(1),
                    self.settings.base_backoff,
                    self.settings.max_backoff,
                )
            }),
            ApiError::Transient { .. } => backoff::delay(
                item.attempts.max(1),
                self.settings.base_backoff,
                self.settings.max_backoff,
            ),
        };
        item.next_attempt_at_ms =
            now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        tracing::info!(helpdesk = %self.helpdesk, item = %item.id, %error, retry_in_ms = wait.as_millis() as u64, "outbox {what} failed; will retry");
        self.store.outbox_update(&item)?;
        Ok(item)
    }
}

async fn send(
    client: &dyn HelpdeskClient,
    item: &OutboxItem,
    marker: &str,
) -> Result<deskbridge_connectors::WriteReceipt, ApiError> {
    let write = match &item.op {
        OutboxOp::InternalNote { body } => Write::InternalNote { body },
        OutboxOp::AddTags { tags } => Write::AddTags { tags },
        OutboxOp::SetPriority { priority } => Write::SetPriority {
            priority: *priority,
        },
        OutboxOp::PublicReply { .. } => {
            return Err(ApiError::Permanent {
                status: None,
                reason: "a public reply is only sent as an ApprovedReply".into(),
            });
        }
    };
    client.apply(&item.ticket_id, write, marker).await
}
