//! Retention: deleting records whose story ended long ago (`[retention] records_days`), so a
//! store that runs for years stays the size of its retention window.
//!
//! What goes: processed and failed event summaries, delivered and dead-lettered outbox items,
//! and drafts that were sent, rejected or expired — each by the time it ended. What never
//! goes: open drafts, approved drafts waiting for delivery, pending outbox items, ticket
//! cursors, tokens and pauses. (The approval log is a separate, append-only file.)
//!
//! An event's summary (or failure record) is also what says the event is settled — to the
//! recovery that replays the inbound log at open, and to a redelivery whose dedupe key is
//! still kept. Before any goes, the store writes a watermark instead (every event below the
//! lowest one pending is settled, made durable by a flush first; `SledStore::prune_records`),
//! and only summaries below it are deleted. Commit records below it are not applied again at
//! open: they could bring back outputs deleted here.
//!
//! Event summaries are keyed by sequence number, which follows arrival, so their pass reads
//! from the oldest and stops at the first summary that ended more than [`ORDER_SLACK_MS`]
//! after the cutoff: its cost follows what it deletes, not the size of the tree. Events end
//! a little out of arrival order (lanes, retries); a summary that ended before the cutoff but
//! sits behind a newer one goes in a later pass. Outbox items and drafts are keyed by id, so
//! their passes read every record's head; those trees hold one record per note or draft.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use sled::Tree;

use crate::StoreError;
use crate::counts::{Counted, RecordCounts};
use crate::records::OutboxState;
use crate::sled_store::backend;
use deskbridge_core::review::DraftState;

/// How far past the cutoff a sequence-ordered pass keeps reading (a day): events that ended
/// out of arrival order by less than this are still found.
pub(crate) const ORDER_SLACK_MS: i64 = 24 * 3600 * 1000;

/// When a record's story ended (`None`: it has not).
trait Ended: DeserializeOwned {
    fn ended_at_ms(&self) -> Option<i64>;
}

#[derive(Deserialize)]
struct ProcessedHead {
    completed_at_ms: i64,
}

impl Ended for ProcessedHead {
    fn ended_at_ms(&self) -> Option<i64> {
        Some(self.completed_at_ms)
    }
}

#[derive(Deserialize)]
struct FailedHead {
    failed_at_ms: i64,
}

impl Ended for FailedHead {
    fn ended_at_ms(&self) -> Option<i64> {
        Some(self.failed_at_ms)
    }
}

#[derive(Deserialize)]
struct OutboxHead {
    state: OutboxState,
}

impl Ended for OutboxHead {
    fn ended_at_ms(&self) -> Option<i64> {
        match self.state {
            OutboxState::Pending => None,
            OutboxState::Delivered { at_ms, .. } | OutboxState::DeadLettered { at_ms, .. } => {
                Some(at_ms)
            }
        }
    }
}

#[derive(Deserialize)]
struct DraftHead {
    review: Option<ReviewHead>,
}

#[derive(Deserialize)]
struct ReviewHead {
    state: DraftState,
}

impl Ended for DraftHead {
    fn ended_at_ms(&self) -> Option<i64> {
        // Approved drafts wait for delivery; open ones for a human.
        match self.review.as_ref()?.state {
            DraftState::Sent { at_ms, .. }
            | DraftState::Rejected { at_ms, .. }
            | DraftState::Expired { at_ms } => Some(at_ms),
            DraftState::Pending | DraftState::Escalated | DraftState::Approved { .. } => None,
        }
    }
}

/// What a retention pass deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunedRecords {
    /// Processed event summaries.
    pub processed_events: usize,
    /// Failed event records.
    pub failed_events: usize,
    /// Delivered outbox items.
    pub outbox_delivered: usize,
    /// Dead-lettered outbox items.
    pub outbox_dead_lettered: usize,
    /// Sent, rejected and expired drafts.
    pub closed_drafts: usize,
}

impl PrunedRecords {
    /// Records deleted in all.
    pub fn total(&self) -> usize {
        self.processed_events
            + self.failed_events
            + self.outbox_delivered
            + self.outbox_dead_lettered
            + self.closed_drafts
    }
}

/// The trees a retention pass reads.
pub(crate) struct RetainedTrees<'a> {
    pub(crate) processed: &'a Tree,
    pub(crate) failed: &'a Tree,
    pub(crate) delivered: &'a Tree,
    pub(crate) dead_letters: &'a Tree,
    pub(crate) drafts: &'a Tree,
    pub(crate) counts: &'a RecordCounts,
}

/// Deletes every record that ended before `before_ms`; event summaries only below
/// `settled_below`, under which every event is settled on disk (see the store's
/// `prune_records`).
pub(crate) fn prune(
    trees: &RetainedTrees<'_>,
    before_ms: i64,
    settled_below: u64,
) -> Result<PrunedRecords, StoreError> {
    let in_order = Some(InOrder {
        stop_after_ms: before_ms.saturating_add(ORDER_SLACK_MS),
        end_key: settled_below.to_be_bytes(),
    });
    let pruned = PrunedRecords {
        processed_events: prune_tree::<ProcessedHead>(trees.processed, before_ms, &in_order)?,
        failed_events: prune_tree::<FailedHead>(trees.failed, before_ms, &in_order)?,
        outbox_delivered: prune_tree::<OutboxHead>(trees.delivered, before_ms, &None)?,
        outbox_dead_lettered: prune_tree::<OutboxHead>(trees.dead_letters, before_ms, &None)?,
        closed_drafts: prune_tree::<DraftHead>(trees.drafts, before_ms, &None)?,
    };
    // (Closed drafts are not among the counted, open, ones.)
    let counts = trees.counts;
    counts.remove_many(Counted::Processed, pruned.processed_events);
    counts.remove_many(Counted::Failed, pruned.failed_events);
    counts.remove_many(Counted::OutboxDelivered, pruned.outbox_delivered);
    counts.remove_many(Counted::OutboxDead, pruned.outbox_dead_lettered);
    Ok(pruned)
}

/// How a pass over a tree keyed by sequence number ends early.
struct InOrder {
    /// At the first record that ended after this.
    stop_after_ms: i64,
    /// At this key (exclusive): the events from here on may not be settled yet.
    end_key: [u8; 8],
}

/// Deletes the records of `tree` that ended before `before_ms`; with `in_order`, the tree is
/// keyed by sequence number and the pass ends early. A record whose head does not decode is
/// left for an operator (listings report it as damaged). Each record is deleted only if it
/// still holds the bytes read, so a concurrent write wins.
fn prune_tree<T: Ended>(
    tree: &Tree,
    before_ms: i64,
    in_order: &Option<InOrder>,
) -> Result<usize, StoreError> {
    let entries = match in_order {
        Some(order) => tree.range(..order.end_key),
        None => tree.iter(),
    };
    let mut deleted = 0;
    for entry in entries {
        let (key, value) = entry.map_err(backend)?;
        let Ok(head) = serde_json::from_slice::<T>(&value) else {
            continue;
        };
        let Some(ended) = head.ended_at_ms() else {
            continue;
        };
        if ended < before_ms {
            let swapped = tree
                .compare_and_swap(&key, Some(&value), None as Option<&[u8]>)
                .map_err(backend)?;
            deleted += usize::from(swapped.is_ok());
        } else if in_order
            .as_ref()
            .is_some_and(|order| ended > order.stop_after_ms)
        {
            break;
        }
    }
    Ok(deleted)
}
