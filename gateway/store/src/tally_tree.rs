//! The sled tree of running tallies (`tally.rs`): one record per [`TallyKey`] (its JSON as the
//! key), changed only inside the sled transaction that writes the draft or processed event the
//! change comes from, so a crash cannot leave a record counted twice or not at all.
//!
//! A store written before tallies existed has none: at open, when the tree's format marker is
//! missing or older than [`FORMAT`], the tallies are summed once from every draft and
//! processed event and written with the marker in one atomic batch.

use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::StoreError;
use crate::records::{DraftReview, ProcessedEvent};
use crate::sled_store::{backend, decode, encode};
use crate::tally::{Tally, TallyKey, tallies_of};

/// Key of the format marker; no JSON key starts with a zero byte.
const FORMAT_KEY: &[u8] = b"\0format";

/// The tallies' format: bump it when what a record contributes changes, and every store sums
/// its tallies again at the next open.
const FORMAT: &[u8] = b"1";

/// Applies net changes (`tally::changes`: subtract, then add) to the rows they name, inside a
/// transaction. Rows left empty are removed.
pub(crate) fn shift(
    tallies: &TransactionalTree,
    changes: &[(TallyKey, Tally, Tally)],
) -> Result<(), ConflictableTransactionError<StoreError>> {
    for (key, minus, plus) in changes {
        let key = encode(key).map_err(ConflictableTransactionError::Abort)?;
        let mut row: Tally = match tallies.get(&key)? {
            Some(bytes) => decode(&key, &bytes).map_err(ConflictableTransactionError::Abort)?,
            None => Tally::default(),
        };
        row.subtract(minus);
        row.add(plus);
        if row.is_empty() {
            tallies.remove(key)?;
        } else {
            let bytes = encode(&row).map_err(ConflictableTransactionError::Abort)?;
            tallies.insert(key, bytes)?;
        }
    }
    Ok(())
}

/// Every row.
pub(crate) fn read_all(tallies: &Tree) -> Result<Vec<(TallyKey, Tally)>, StoreError> {
    let mut rows = Vec::new();
    for entry in tallies.iter() {
        let (key, value) = entry.map_err(backend)?;
        if key.as_ref() == FORMAT_KEY {
            continue;
        }
        rows.push((decode(&key, &key)?, decode(&key, &value)?));
    }
    Ok(rows)
}

/// Whether the tallies are in the current format (else [`fill`] must run).
pub(crate) fn filled(tallies: &Tree) -> Result<bool, StoreError> {
    Ok(tallies
        .get(FORMAT_KEY)
        .map_err(backend)?
        .is_some_and(|v| v.as_ref() == FORMAT))
}

/// Replaces every row with the sums of `drafts` and `events`, and marks the format, in one
/// atomic batch. Returns how many rows it wrote.
pub(crate) fn fill(
    tallies: &Tree,
    drafts: &[DraftReview],
    events: &[ProcessedEvent],
) -> Result<usize, StoreError> {
    let mut batch = sled::Batch::default();
    for key in tallies.iter().keys() {
        batch.remove(key.map_err(backend)?);
    }
    let rows = tallies_of(drafts, events);
    for (key, tally) in &rows {
        batch.insert(encode(key)?, encode(tally)?);
    }
    batch.insert(FORMAT_KEY, FORMAT);
    tallies.apply_batch(batch).map_err(backend)?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use deskbridge_core::review::{DraftState, Review};

    use crate::completion;
    use crate::fixtures::note;
    use crate::records::{DraftProvenance, EventOutcome, InboundEvent, PendingDraft};
    use crate::tally::{Tally, TallyKey, tallies_of};
    use crate::{Inserted, SledStore, Store};

    fn provenance(version: &str) -> DraftProvenance {
        DraftProvenance {
            plugin_version: version.into(),
            provider: Some("local".into()),
            model: Some("extractive-v1".into()),
            ..crate::fixtures::draft("", 0).provenance
        }
    }

    fn draft(id: &str, version: &str, created_at_ms: i64) -> PendingDraft {
        PendingDraft {
            provenance: provenance(version),
            ..crate::fixtures::draft(id, created_at_ms)
        }
    }

    /// Stores event `key` and completes it with `drafts` and `notes`; a handover by version
    /// `handover` and a budget stop when asked. Returns the seq and the outcome.
    fn complete(
        store: &SledStore,
        key: &str,
        at_ms: i64,
        drafts: Vec<PendingDraft>,
        notes: &[&str],
        handover: Option<&str>,
        budget: bool,
    ) -> (u64, EventOutcome) {
        let event = InboundEvent {
            received_at_ms: at_ms,
            ..crate::fixtures::event(key)
        };
        let Inserted::New(seq) = store.insert_event(&event).expect("insert") else {
            panic!("new event");
        };
        let outcome = EventOutcome {
            processed: crate::ProcessedEvent {
                event_id: event.id.clone(),
                helpdesk: "acme".into(),
                ticket_id: "42".into(),
                kind: None,
                completed_at_ms: at_ms,
                plugin_runs: Vec::new(),
                handover: handover.map(|_| "asked for a person".into()),
                handover_by: handover.map(provenance),
                skipped: None,
                flagged: false,
                ai_us: 0,
                truncated: Vec::new(),
                suggestions: Vec::new(),
                ai_flags: if budget {
                    vec!["budget-exhausted".into()]
                } else {
                    Vec::new()
                },
            },
            outbox: notes.iter().map(|id| note(id)).collect(),
            drafts,
            last_message_id: None,
        };
        store.complete_event(seq, &outcome).expect("complete");
        (seq, outcome)
    }

    fn sorted(mut rows: Vec<(TallyKey, Tally)>) -> Vec<(TallyKey, Tally)> {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }

    /// What the records say, summed from scratch.
    fn recount(store: &SledStore) -> Vec<(TallyKey, Tally)> {
        let drafts = store.draft_reviews().expect("reviews");
        let events = store.processed_events().expect("events");
        sorted(tallies_of(&drafts, &events))
    }

    fn decide(store: &SledStore, id: &str, change: impl FnOnce(&mut Review)) -> bool {
        let mut draft = store.draft(id).expect("read").expect("draft");
        let version = draft.review.version;
        change(&mut draft.review);
        draft.review.version += 1;
        store.update_draft(version, &draft).expect("update")
    }

    const DAY: i64 = crate::tally::DAY_MS;

    /// A store with every kind of change a draft and an event go through.
    fn busy_store(dir: &Path) -> (SledStore, u64, EventOutcome) {
        let store = SledStore::open(dir).expect("open");
        let (seq, with_drafts) = complete(
            &store,
            "a",
            DAY,
            vec![
                draft("d1", "0.1.0", DAY),
                draft("d2", "0.1.0", DAY + 5),
                draft("d3", "0.2.0", DAY + 9),
                draft("d4", "0.2.0", DAY + 9),
            ],
            &["n1"],
            None,
            false,
        );
        // Handovers and budget stops through both ways of settling an event.
        complete(&store, "b", 2 * DAY, vec![], &[], Some("0.1.0"), true);
        complete(&store, "c", 2 * DAY, vec![], &["n2"], Some("0.2.0"), false);
        complete(&store, "d", 2 * DAY, vec![], &[], None, true);
        complete(&store, "e", 2 * DAY, vec![], &[], None, false);
        assert!(decide(&store, "d1", |r| {
            r.state = DraftState::Approved { at_ms: 3 * DAY };
            r.decided_at_ms = Some(3 * DAY);
            r.edited_text = Some("Hello there".into());
            r.edit_distance = Some(6);
        }));
        assert!(decide(&store, "d1", |r| {
            r.state = DraftState::Sent {
                at_ms: 3 * DAY + 1,
                receipt: None,
                ai_disclosure: false,
                delivery_logged: true,
            };
        }));
        assert!(decide(&store, "d2", |r| {
            r.state = DraftState::Escalated;
            r.escalations = 1;
        }));
        assert!(decide(&store, "d2", |r| {
            r.state = DraftState::Rejected {
                by: "Sam".into(),
                reason: "Wrong refund policy".into(),
                at_ms: 4 * DAY,
            };
            r.decided_at_ms = Some(4 * DAY);
        }));
        assert!(decide(&store, "d3", |r| {
            r.state = DraftState::Expired { at_ms: 5 * DAY };
        }));
        // A decision made on an old version changes nothing, tallies included.
        let mut stale = store.draft("d4").expect("read").expect("draft");
        stale.review.state = DraftState::Approved { at_ms: 6 * DAY };
        stale.review.decided_at_ms = Some(6 * DAY);
        assert!(!store.update_draft(7, &stale).expect("update"));
        (store, seq, with_drafts)
    }

    #[test]
    fn running_tallies_equal_a_recount_through_every_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq, with_drafts) = busy_store(dir.path());
        let running = sorted(store.tallies().expect("tallies"));
        assert_eq!(running, recount(&store));
        let by_version = |version: &str| -> Tally {
            let mut sum = Tally::default();
            running
                .iter()
                .filter(|(k, _)| {
                    k.basis == crate::tally::TallyBasis::Created && k.plugin_version == version
                })
                .for_each(|(_, t)| sum.add(t));
            sum
        };
        let old = by_version("0.1.0");
        assert_eq!(
            (old.drafts, old.sent, old.rejected, old.edited),
            (2, 1, 1, 1)
        );
        assert_eq!(
            (old.escalated, old.handovers, old.budget_exhausted),
            (1, 1, 1)
        );
        assert_eq!(old.reasons.get("wrong refund policy"), Some(&1));
        let new = by_version("0.2.0");
        assert_eq!(
            (new.drafts, new.open, new.expired, new.handovers),
            (2, 1, 1, 1)
        );

        // A crash before the commit record was retired: the outcome is applied again, and
        // the drafts (decided since) and summaries it holds are not counted twice.
        completion::apply(&store.completion_trees(), seq, &with_drafts).expect("re-apply");
        assert_eq!(sorted(store.tallies().expect("tallies")), running);

        // Reopened: the same rows, not summed again (the format marker is there).
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(sorted(store.tallies().expect("tallies")), running);
    }

    #[test]
    fn a_store_from_before_tallies_gets_them_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, _, _) = busy_store(dir.path());
        let expected = recount(&store);
        // No tallies and no marker, as a store written by an older gateway.
        store.tally_tree().clear().expect("clear");
        assert!(store.tallies().expect("tallies").is_empty());
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(sorted(store.tallies().expect("tallies")), expected);
    }

    #[test]
    fn retention_deletes_records_but_not_their_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, _, _) = busy_store(dir.path());
        let before = sorted(store.tallies().expect("tallies"));
        let pruned = store.prune_records(10 * DAY).expect("prune");
        assert!(pruned.processed_events >= 2, "{pruned:?}");
        assert_ne!(recount(&store), before, "records were deleted");
        assert_eq!(sorted(store.tallies().expect("tallies")), before);
    }
}
