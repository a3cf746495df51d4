//! Record counts kept in memory for [`crate::Store::stats`] (`GET /api/v1/status`): counted
//! once when the store opens, then moved by every write that adds, moves or settles a record.
//! sled's `Tree::len` walks the whole tree, so counting on each request cost a status call
//! time in proportion to everything ever processed; now it costs the same on any store.
//!
//! Each count changes only after the write it reflects succeeded, and only by what that write
//! changed (a record that was already there is not counted again). The store's tests compare
//! the counts after a run of writes with a fresh count of the same store reopened.

use std::sync::atomic::{AtomicUsize, Ordering};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// Processed events: summaries in the processed tree and in settled dedupe records.
    Processed,
    /// Events given up on.
    Failed,
    /// Outbox items waiting for delivery.
    OutboxPending,
    /// Outbox items delivered.
    OutboxDelivered,
    /// Outbox items dead-lettered.
    OutboxDead,
    /// Drafts a human can still decide (pending or escalated).
    OpenDrafts,
    /// Outbox items cancelled by an admin.
    OutboxCancelled,
}

const KINDS: usize = 7;

impl Counted {
    fn index(self) -> usize {
        match self {
            Counted::Processed => 0,
            Counted::Failed => 1,
            Counted::OutboxPending => 2,
            Counted::OutboxDelivered => 3,
            Counted::OutboxDead => 4,
            Counted::OpenDrafts => 5,
            Counted::OutboxCancelled => 6,
        }
    }
}

/// The counts.
#[derive(Debug, Default)]
pub(crate) struct RecordCounts([AtomicUsize; KINDS]);

impl RecordCounts {
    /// Sets a count (when the store opens).
    pub(crate) fn set(&self, what: Counted, count: usize) {
        self.0[what.index()].store(count, Ordering::Relaxed);
    }

    /// One more record of this kind.
    pub(crate) fn add(&self, what: Counted) {
        self.0[what.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// One record of this kind fewer (never below zero).
    pub(crate) fn remove(&self, what: Counted) {
        self.remove_many(what, 1);
    }

    /// `count` records of this kind fewer (never below zero).
    pub(crate) fn remove_many(&self, what: Counted, count: usize) {
        let _ = self.0[what.index()].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            Some(n.saturating_sub(count))
        });
    }

    /// A record moved from one kind to another.
    pub(crate) fn moved(&self, from: Counted, to: Counted) {
        self.remove(from);
        self.add(to);
    }

    pub(crate) fn get(&self, what: Counted) -> usize {
        self.0[what.index()].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_move_and_never_go_below_zero() {
        let counts = RecordCounts::default();
        counts.set(Counted::OutboxPending, 2);
        counts.moved(Counted::OutboxPending, Counted::OutboxDelivered);
        counts.add(Counted::OpenDrafts);
        counts.remove(Counted::Failed);
        assert_eq!(counts.get(Counted::OutboxPending), 1);
        assert_eq!(counts.get(Counted::OutboxDelivered), 1);
        assert_eq!(counts.get(Counted::OpenDrafts), 1);
        assert_eq!(counts.get(Counted::Failed), 0);
    }
}
