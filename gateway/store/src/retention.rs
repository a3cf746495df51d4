//! Retention: deleting records whose story ended long ago (`[retention] records_days`), so a
//! store that runs for years stays the size of its retention window.
//!
//! What goes: processed and failed event summaries, delivered and dead-lettered outbox items,
//! and drafts that were sent, rejected or expired — each by the time it ended —; and email
//! tickets the gateway last wrote to before the cutoff, with their raw mail, and mail recorded
//! in no ticket (`mail_trees.rs`). What never
//! goes: open drafts, approved drafts waiting for delivery, pending outbox items, ticket
//! cursors, tokens and pauses. (The approval log is a separate, append-only file.) Nor does
//! an ended record whose deletion a restart could undo: the reply of a draft still approved,
//! and what a commit record not yet retired names (see [`prune`]).
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

use std::collections::HashSet;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use sled::Tree;

use crate::StoreError;
use crate::counts::{Counted, RecordCounts};
use crate::records::{EventOutcome, OutboxOp, OutboxState};
use crate::sled_store::{DraftHeadRecord, backend, decode};

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
    op: OutboxOp,
}

impl Ended for OutboxHead {
    fn ended_at_ms(&self) -> Option<i64> {
        self.state.ended_at_ms()
    }
}

impl Ended for DraftHeadRecord {
    fn ended_at_ms(&self) -> Option<i64> {
        // Approved drafts wait for delivery; open ones for a human.
        self.state()?.final_at_ms()
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
    /// Cancelled outbox items.
    pub outbox_cancelled: usize,
    /// Sent, rejected, expired and cancelled drafts.
    pub closed_drafts: usize,
    /// Email tickets the gateway last wrote to before the cutoff, with their raw mail.
    pub email_tickets: usize,
    /// Mail recorded in no ticket (noise) before the cutoff, with its raw bytes.
    pub unthreaded_mail: usize,
}

impl PrunedRecords {
    /// Records deleted in all.
    pub fn total(&self) -> usize {
        self.processed_events
            + self.failed_events
            + self.outbox_delivered
            + self.outbox_dead_lettered
            + self.outbox_cancelled
            + self.closed_drafts
            + self.email_tickets
            + self.unthreaded_mail
    }
}

/// The trees a retention pass reads.
pub(crate) struct RetainedTrees<'a> {
    /// Commit records not yet retired: what they name is kept (see [`prune`]).
    pub(crate) completions: &'a Tree,
    pub(crate) processed: &'a Tree,
    pub(crate) failed: &'a Tree,
    pub(crate) delivered: &'a Tree,
    pub(crate) dead_letters: &'a Tree,
    pub(crate) cancelled: &'a Tree,
    pub(crate) drafts: &'a Tree,
    pub(crate) counts: &'a RecordCounts,
}

/// Deletes every record that ended before `before_ms`; event summaries only below
/// `settled_below`, under which every event is settled on disk (see the store's
/// `prune_records`).
///
/// Two kinds of ended record stay while something could bring back what they stand for:
/// an outbox item or draft named by a commit record not yet retired (applying that record
/// again at open would write it anew, as pending or open), and the reply of a draft that is
/// still approved (the gateway re-queues an approved draft's reply at start unless the reply's
/// delivered or dead-lettered record is there; a draft stays approved when its reply was
/// dead-lettered, or when marking it sent failed).
pub(crate) fn prune(
    trees: &RetainedTrees<'_>,
    before_ms: i64,
    settled_below: u64,
) -> Result<PrunedRecords, StoreError> {
    let in_order = Some(InOrder {
        stop_after_ms: before_ms.saturating_add(ORDER_SLACK_MS),
        end_key: settled_below.to_be_bytes(),
    });
    let named = named_by_commit_records(trees.completions)?;
    let outbox_kept = |id: &[u8], item: &OutboxHead| {
        Ok(named.contains(id)
            || match &item.op {
                OutboxOp::PublicReply { draft_id } => draft_not_ended(trees.drafts, draft_id)?,
                _ => false,
            })
    };
    let draft_kept = |id: &[u8], _: &DraftHeadRecord| Ok(named.contains(id));
    let pruned = PrunedRecords {
        processed_events: prune_tree(
            trees.processed,
            before_ms,
            &in_order,
            &never_kept::<ProcessedHead>,
        )?,
        failed_events: prune_tree(
            trees.failed,
            before_ms,
            &in_order,
            &never_kept::<FailedHead>,
        )?,
        outbox_delivered: prune_tree(trees.delivered, before_ms, &None, &outbox_kept)?,
        outbox_dead_lettered: prune_tree(trees.dead_letters, before_ms, &None, &outbox_kept)?,
        outbox_cancelled: prune_tree(trees.cancelled, before_ms, &None, &outbox_kept)?,
        closed_drafts: prune_tree(trees.drafts, before_ms, &None, &draft_kept)?,
        email_tickets: 0,
        unthreaded_mail: 0,
    };
    // (Closed drafts are not among the counted, open, ones.)
    let counts = trees.counts;
    counts.remove_many(Counted::Processed, pruned.processed_events);
    counts.remove_many(Counted::Failed, pruned.failed_events);
    counts.remove_many(Counted::OutboxDelivered, pruned.outbox_delivered);
    counts.remove_many(Counted::OutboxDead, pruned.outbox_dead_lettered);
    counts.remove_many(Counted::OutboxCancelled, pruned.outbox_cancelled);
    Ok(pruned)
}

/// How a pass over a tree keyed by sequence number ends early.
struct InOrder {
    /// At the first record that ended after this.
    stop_after_ms: i64,
    /// At this key (exclusive): the events from here on may not be settled yet.
    end_key: [u8; 8],
}

/// The ids of the outbox items and drafts named by the commit records still in `completions`
/// (normally none or a few: they are retired after each sled flush).
fn named_by_commit_records(completions: &Tree) -> Result<HashSet<Vec<u8>>, StoreError> {
    let mut named = HashSet::new();
    for entry in completions.iter() {
        let (key, value) = entry.map_err(backend)?;
        let outcome: EventOutcome = decode(&key, &value)?;
        named.extend(outcome.outbox.into_iter().map(|item| item.id.into_bytes()));
        named.extend(
            outcome
                .drafts
                .into_iter()
                .map(|draft| draft.id.into_bytes()),
        );
    }
    Ok(named)
}

/// Whether an ended record (by key and head) must stay all the same.
type KeptWhile<'a, T> = dyn Fn(&[u8], &T) -> Result<bool, StoreError> + 'a;

/// For records nothing can bring back once deleted.
fn never_kept<T>(_: &[u8], _: &T) -> Result<bool, StoreError> {
    Ok(false)
}

/// Whether the draft exists and its story has not ended (it is open, or approved and waiting
/// for its reply to be delivered).
fn draft_not_ended(drafts: &Tree, id: &str) -> Result<bool, StoreError> {
    let Some(bytes) = drafts.get(id.as_bytes()).map_err(backend)? else {
        return Ok(false);
    };
    // A draft that does not decode is kept, and so is its reply: an operator must look.
    Ok(serde_json::from_slice::<DraftHeadRecord>(&bytes)
        .map_or(true, |head| head.ended_at_ms().is_none()))
}

/// Deletes the records of `tree` that ended before `before_ms`, but not those `kept` says
/// are still needed; with `in_order`, the tree is keyed by sequence number and the pass ends
/// early. A record whose head does not decode is
/// left for an operator (listings report it as damaged). Each record is deleted only if it
/// still holds the bytes read, so a concurrent write wins.
fn prune_tree<T: Ended>(
    tree: &Tree,
    before_ms: i64,
    in_order: &Option<InOrder>,
    kept: &KeptWhile<'_, T>,
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
            if kept(&key, &head)? {
                continue;
            }
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
