//! Applying an event's outcome after its commit record is written (`sled_store.rs`).
//!
//! Every step is idempotent and never moves a record backwards, so the same outcome can be
//! applied again after a crash at any point: an outbox item or draft is written only if no
//! record with its (deterministic) id exists in any state; a ticket's cursor only moves to a
//! newer event; the processed summary, written last, is overwritten with the same content.
//! A draft, and a processed summary that counts in insights, are written in one sled
//! transaction with their running tallies (`tally_tree.rs`), so re-applying counts nothing
//! twice.
//! (An outcome with nothing for the outbox or the approval queue has no commit record: the
//! store moves its cursor, then settles it with one dedupe record; see `dedupe.rs`.)

use sled::Tree;
use sled::transaction::Transactional;

use crate::StoreError;
use crate::counts::{Counted, RecordCounts};
use crate::records::{DraftReview, EventOutcome, OutboxState};
use crate::sled_store::{backend, encode, flatten, pair_key};
use crate::tally::{changes, draft_tallies, event_tally};
use crate::tally_tree;

/// The trees an outcome touches.
pub(crate) struct CompletionTrees<'a> {
    pub(crate) processed: &'a Tree,
    pub(crate) outbox: &'a Tree,
    pub(crate) delivered: &'a Tree,
    pub(crate) dead_letters: &'a Tree,
    pub(crate) drafts: &'a Tree,
    pub(crate) cursors: &'a Tree,
    /// Running tallies for insights, moved with each draft and counted summary.
    pub(crate) tallies: &'a Tree,
    /// Moved by each record the outcome adds (`counts.rs`).
    pub(crate) counts: &'a RecordCounts,
}

/// Writes `value` under `key` unless a value is there already; whether it wrote.
fn insert_if_absent(tree: &Tree, key: &[u8], value: Vec<u8>) -> Result<bool, StoreError> {
    // `Err(CompareAndSwapError)` means a record exists: exactly the case to leave alone.
    let swapped = tree
        .compare_and_swap(key, None as Option<&[u8]>, Some(value))
        .map_err(backend)?;
    Ok(swapped.is_ok())
}

/// Applies the outcome of event `seq`.
pub(crate) fn apply(
    trees: &CompletionTrees<'_>,
    seq: u64,
    outcome: &EventOutcome,
) -> Result<(), StoreError> {
    for item in &outcome.outbox {
        let id = item.id.as_bytes();
        let known = trees.delivered.contains_key(id).map_err(backend)?
            || trees.dead_letters.contains_key(id).map_err(backend)?;
        if known {
            continue;
        }
        let (tree, counted) = match item.state {
            OutboxState::Pending => (trees.outbox, Counted::OutboxPending),
            // Born final (undeliverable): straight to the dead letters.
            _ => (trees.dead_letters, Counted::OutboxDead),
        };
        if insert_if_absent(tree, id, encode(item)?)? {
            trees.counts.add(counted);
        }
    }
    for draft in &outcome.drafts {
        let (id, bytes) = (draft.id.as_bytes(), encode(draft)?);
        let counted = changes(&[], &draft_tallies(&DraftReview::of(draft)));
        let inserted = (trees.drafts, trees.tallies)
            .transaction(|(drafts, tallies)| {
                if drafts.get(id)?.is_some() {
                    return Ok(false);
                }
                drafts.insert(id, bytes.as_slice())?;
                tally_tree::shift(tallies, &counted)?;
                Ok(true)
            })
            .map_err(flatten)?;
        if inserted && draft.review.state.is_open() {
            trees.counts.add(Counted::OpenDrafts);
        }
    }
    move_cursor(trees.cursors, seq, outcome)?;
    // Last: a processed summary marks the event settled (see `sled_store.rs`).
    let (key, summary) = (seq.to_be_bytes(), encode(&outcome.processed)?);
    let first = match event_tally(&outcome.processed) {
        None => trees
            .processed
            .insert(key, summary)
            .map_err(backend)?
            .is_none(),
        Some(row) => {
            let counted = changes(&[], &[row]);
            (trees.processed, trees.tallies)
                .transaction(|(processed, tallies)| {
                    let first = processed.insert(&key, summary.as_slice())?.is_none();
                    if first {
                        tally_tree::shift(tallies, &counted)?;
                    }
                    Ok(first)
                })
                .map_err(flatten)?
        }
    };
    if first {
        trees.counts.add(Counted::Processed);
    }
    Ok(())
}

/// Moves the ticket's cursor to the outcome's newest message, unless a newer event moved it.
pub(crate) fn move_cursor(
    cursors: &Tree,
    seq: u64,
    outcome: &EventOutcome,
) -> Result<(), StoreError> {
    let Some(message_id) = &outcome.last_message_id else {
        return Ok(());
    };
    let cursor_key = pair_key(&outcome.processed.helpdesk, &outcome.processed.ticket_id);
    let newer = match cursors.get(&cursor_key).map_err(backend)? {
        Some(existing) => cursor_seq(&existing).is_none_or(|at| at <= seq),
        None => true,
    };
    if newer {
        cursors
            .insert(cursor_key, cursor_value(seq, message_id))
            .map_err(backend)?;
    }
    Ok(())
}

/// A cursor record: the event's sequence number (8 bytes, big-endian), then the message id.
fn cursor_value(seq: u64, message_id: &str) -> Vec<u8> {
    let mut value = seq.to_be_bytes().to_vec();
    value.extend_from_slice(message_id.as_bytes());
    value
}

fn cursor_seq(value: &[u8]) -> Option<u64> {
    value
        .get(..8)
        .and_then(|head| <[u8; 8]>::try_from(head).ok())
        .map(u64::from_be_bytes)
}

/// The message id in a cursor record.
pub(crate) fn cursor_message_id(value: &[u8]) -> String {
    String::from_utf8_lossy(value.get(8..).unwrap_or_default()).into_owned()
}
