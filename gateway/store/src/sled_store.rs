//! The embedded store on sled 0.34. One tree per record kind; every [`Store`] method is one
//! sled transaction, so a crash leaves all or none of its writes.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::{Db, Tree};

use crate::group_commit::GroupCommit;
use crate::kv::SledKv;
use crate::records::{
    DeadLetter, EventOutcome, FailedEvent, InboundEvent, OutboxItem, OutboxState, PendingDraft,
    ProcessedEvent, StoredEvent,
};
use crate::{BoxFuture, Inserted, Store, StoreError, StoreStats};

/// How long the flusher waits for more writers to join a flush (see `group_commit.rs`): none
/// by default. `DESKBRIDGE_COMMIT_WINDOW_US` sets it, for benchmark experiments.
const COMMIT_WINDOW: std::time::Duration = std::time::Duration::ZERO;

/// The sled-backed store.
pub struct SledStore {
    db: Db,
    pending: Tree,
    dedupe: Tree,
    processed: Tree,
    failed: Tree,
    outbox: Tree,
    outbox_done: Tree,
    dead_letters: Tree,
    drafts: Tree,
    cursors: Tree,
    kv: Arc<SledKv>,
    commit: GroupCommit,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize, Serialize)]
struct DedupeEntry {
    event_id: String,
    at_ms: i64,
}

fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(backend)
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn all<T: DeserializeOwned>(tree: &Tree) -> Result<Vec<T>, StoreError> {
    tree.iter()
        .map(|entry| {
            let (key, value) = entry.map_err(backend)?;
            decode(&key, &value)
        })
        .collect()
}

/// `a \0 b`: helpdesk names never contain NUL (the config forbids it).
fn pair_key(a: &str, b: &str) -> Vec<u8> {
    let mut key = a.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(b.as_bytes());
    key
}

fn abort(error: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(error)
}

fn flatten(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => backend(e),
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            // Acknowledgements wait for an explicit group-commit flush; the periodic flush
            // only bounds how much bookkeeping (delivery states, plugin kv) a crash can undo.
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", dir.display())))?;
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        let flusher = db.clone();
        let window = std::env::var("DESKBRIDGE_COMMIT_WINDOW_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(COMMIT_WINDOW, std::time::Duration::from_micros);
        let commit = GroupCommit::start(
            move || flusher.flush().map(|_| ()).map_err(|e| e.to_string()),
            window,
        )
        .map_err(backend)?;
        Ok(SledStore {
            pending: tree("events_pending")?,
            dedupe: tree("dedupe")?,
            processed: tree("events_processed")?,
            failed: tree("events_failed")?,
            outbox: tree("outbox")?,
            outbox_done: tree("outbox_delivered")?,
            dead_letters: tree("outbox_dead")?,
            drafts: tree("drafts_pending")?,
            cursors: tree("ticket_cursors")?,
            kv: Arc::new(SledKv::new(tree("plugin_kv")?)),
            commit,
            db,
        })
    }

    fn dedupe_key(event: &InboundEvent) -> Vec<u8> {
        pair_key(&event.helpdesk, &event.dedupe_key)
    }
}

impl Store for SledStore {
    fn insert_event(&self, event: &InboundEvent) -> Result<Inserted, StoreError> {
        let key = Self::dedupe_key(event);
        let seq = self.db.generate_id().map_err(backend)?;
        let stored = encode(&StoredEvent {
            seq,
            event: event.clone(),
        })?;
        let entry = encode(&DedupeEntry {
            event_id: event.id.clone(),
            at_ms: event.received_at_ms,
        })?;
        (&self.dedupe, &self.pending)
            .transaction(|(dedupe, pending)| {
                if let Some(existing) = dedupe.get(&key)? {
                    let first: DedupeEntry = decode(&key, &existing).map_err(abort)?;
                    return Ok(Inserted::Duplicate {
                        first_event_id: first.event_id,
                    });
                }
                dedupe.insert(key.as_slice(), entry.as_slice())?;
                pending.insert(&seq.to_be_bytes(), stored.as_slice())?;
                Ok(Inserted::New(seq))
            })
            .map_err(flatten)
    }

    fn durable(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.commit.wait()
    }

    fn pending_events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        all(&self.pending)
    }

    fn complete_event(&self, seq: u64, outcome: &EventOutcome) -> Result<(), StoreError> {
        let key = seq.to_be_bytes();
        let processed = encode(&outcome.processed)?;
        let outbox = outcome
            .outbox
            .iter()
            .map(|item| {
                let pending = matches!(item.state, OutboxState::Pending);
                Ok((item.id.clone(), pending, encode(item)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let drafts = outcome
            .drafts
            .iter()
            .map(|draft| Ok((draft.id.clone(), encode(draft)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let cursor_key = pair_key(&outcome.processed.helpdesk, &outcome.processed.ticket_id);
        (
            &self.pending,
            &self.processed,
            &self.outbox,
            &self.outbox_done,
            &self.drafts,
            &self.cursors,
            &self.dead_letters,
        )
            .transaction(
                |(pending, done, outbox_tree, delivered, pending_drafts, cursors, dead)| {
                    if pending.remove(&key)?.is_none() {
                        return Ok(()); // completed before
                    }
                    done.insert(&key, processed.as_slice())?;
                    for (id, pending, item) in &outbox {
                        if !pending {
                            // Born final (undeliverable): straight to the dead letters.
                            dead.insert(id.as_bytes(), item.as_slice())?;
                        } else if delivered.get(id.as_bytes())?.is_none() {
                            // Ids are deterministic: never resurrect an item already delivered.
                            outbox_tree.insert(id.as_bytes(), item.as_slice())?;
                        }
                    }
                    for (id, draft) in &drafts {
                        pending_drafts.insert(id.as_bytes(), draft.as_slice())?;
                    }
                    if let Some(message_id) = &outcome.last_message_id {
                        cursors.insert(cursor_key.as_slice(), message_id.as_bytes())?;
                    }
                    Ok(())
                },
            )
            .map_err(flatten)
    }

    fn last_message_id(
        &self,
        helpdesk: &str,
        ticket_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let value = self
            .cursors
            .get(pair_key(helpdesk, ticket_id))
            .map_err(backend)?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn fail_event(&self, seq: u64, reason: &str, at_ms: i64) -> Result<(), StoreError> {
        let key = seq.to_be_bytes();
        (&self.pending, &self.failed)
            .transaction(|(pending, failed)| {
                let Some(bytes) = pending.remove(&key)? else {
                    return Ok(());
                };
                let stored: StoredEvent = decode(&key, &bytes).map_err(abort)?;
                let record = encode(&FailedEvent {
                    event: stored.event,
                    reason: reason.to_owned(),
                    failed_at_ms: at_ms,
                })
                .map_err(abort)?;
                failed.insert(&key, record)?;
                Ok(())
            })
            .map_err(flatten)
    }

    fn outbox_pending(&self) -> Result<Vec<OutboxItem>, StoreError> {
        all(&self.outbox)
    }

    fn outbox_update(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let id = item.id.as_bytes();
        let bytes = encode(item)?;
        (&self.outbox, &self.outbox_done, &self.dead_letters)
            .transaction(|(outbox, delivered, dead)| {
                if outbox.get(id)?.is_none() {
                    return Err(abort(StoreError::NotFound {
                        what: "pending outbox item",
                        id: item.id.clone(),
                    }));
                }
                match item.state {
                    OutboxState::Pending => {
                        outbox.insert(id, bytes.as_slice())?;
                    }
                    OutboxState::Delivered { .. } => {
                        outbox.remove(id)?;
                        delivered.insert(id, bytes.as_slice())?;
                    }
                    OutboxState::DeadLettered { .. } => {
                        outbox.remove(id)?;
                        dead.insert(id, bytes.as_slice())?;
                    }
                }
                Ok(())
            })
            .map_err(flatten)
    }

    fn outbox_item(&self, id: &str) -> Result<Option<OutboxItem>, StoreError> {
        for tree in [&self.outbox, &self.outbox_done, &self.dead_letters] {
            if let Some(bytes) = tree.get(id.as_bytes()).map_err(backend)? {
                return decode(id.as_bytes(), &bytes).map(Some);
            }
        }
        Ok(None)
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let mut items: Vec<OutboxItem> = all(&self.dead_letters)?;
        items.sort_by_key(|item| item.created_at_ms);
        Ok(items.into_iter().map(|item| DeadLetter { item }).collect())
    }

    fn processed_events(&self) -> Result<Vec<ProcessedEvent>, StoreError> {
        all(&self.processed)
    }

    fn failed_events(&self) -> Result<Vec<FailedEvent>, StoreError> {
        all(&self.failed)
    }

    fn pending_drafts(&self) -> Result<Vec<PendingDraft>, StoreError> {
        let mut drafts: Vec<PendingDraft> = all(&self.drafts)?;
        drafts.sort_by_key(|draft| draft.created_at_ms);
        Ok(drafts)
    }

    fn prune_dedupe_keys(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.dedupe.iter() {
            let (key, value) = entry.map_err(backend)?;
            let record: DedupeEntry = decode(&key, &value)?;
            if record.at_ms < before_ms {
                self.dedupe.remove(&key).map_err(backend)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Ok(StoreStats {
            pending_events: self.pending.len(),
            processed_events: self.processed.len(),
            failed_events: self.failed.len(),
            outbox_pending: self.outbox.len(),
            outbox_delivered: self.outbox_done.len(),
            outbox_dead_lettered: self.dead_letters.len(),
            pending_drafts: self.drafts.len(),
            flushes: self.commit.flushes(),
        })
    }

    fn flush_count(&self) -> u64 {
        self.commit.flushes()
    }

    fn plugin_kv(&self) -> Arc<dyn deskbridge_plugin_host::KvStore> {
        self.kv.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{EventSource, OutboxOp, PluginRun};
    use deskbridge_core::HelpdeskKind;

    fn event(key: &str) -> InboundEvent {
        InboundEvent {
            id: format!("evt-{key}"),
            dedupe_key: key.into(),
            helpdesk: "acme".into(),
            helpdesk_kind: HelpdeskKind::Zendesk,
            ticket_id: "42".into(),
            received_at_ms: 1_000,
            source: EventSource::Fetch {
                kind_hint: None,
                origin: "test".into(),
            },
        }
    }

    fn note(id: &str) -> OutboxItem {
        OutboxItem {
            id: id.into(),
            helpdesk: "acme".into(),
            ticket_id: "42".into(),
            op: OutboxOp::InternalNote { body: "hi".into() },
            plugin: "summarize".into(),
            event_seq: 1,
            position: 0,
            created_at_ms: 1,
            attempts: 0,
            next_attempt_at_ms: 0,
            maybe_applied: false,
            last_error: None,
            state: OutboxState::Pending,
        }
    }

    fn outcome(event_id: &str, notes: &[&str]) -> EventOutcome {
        EventOutcome {
            processed: ProcessedEvent {
                event_id: event_id.into(),
                helpdesk: "acme".into(),
                ticket_id: "42".into(),
                kind: None,
                completed_at_ms: 2,
                plugin_runs: vec![PluginRun {
                    plugin: "summarize".into(),
                    version: "0.1.0".into(),
                    actions: notes.len(),
                    error: None,
                    fuel_consumed: 1,
                    elapsed_us: 1,
                }],
                handover: None,
                skipped: None,
                flagged: false,
                ai_us: 0,
            },
            outbox: notes.iter().map(|id| note(id)).collect(),
            drafts: vec![],
            last_message_id: Some("m7".into()),
        }
    }

    #[tokio::test]
    async fn events_survive_reopen_and_duplicates_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seq = {
            let store = SledStore::open(dir.path()).expect("open");
            let Inserted::New(seq) = store.insert_event(&event("a")).expect("insert") else {
                panic!("first insert is new");
            };
            assert_eq!(
                store.insert_event(&event("a")).expect("insert"),
                Inserted::Duplicate {
                    first_event_id: "evt-a".into()
                }
            );
            store.durable().await.expect("durable");
            seq
        };
        let store = SledStore::open(dir.path()).expect("reopen");
        let pending = store.pending_events().expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].seq, seq);
        assert_eq!(pending[0].event, event("a"));
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
        assert_eq!(store.prune_dedupe_keys(2_000).expect("prune"), 1);
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::New(_)
        ));
    }

    #[test]
    fn completing_is_atomic_and_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let Inserted::New(seq) = store.insert_event(&event("a")).expect("insert") else {
            panic!("new");
        };
        store
            .complete_event(seq, &outcome("evt-a", &["n1", "n2"]))
            .expect("complete");
        assert!(store.pending_events().expect("pending").is_empty());
        assert_eq!(store.outbox_pending().expect("outbox").len(), 2);
        assert_eq!(
            store.last_message_id("acme", "42").expect("cursor"),
            Some("m7".into())
        );
        assert_eq!(store.processed_events().expect("processed").len(), 1);

        // Deliver one, then complete the same event again (a replay after a crash).
        let mut delivered = note("n1");
        delivered.state = OutboxState::Delivered {
            receipt: Some("c1".into()),
            at_ms: 3,
            reconciled: false,
        };
        store.outbox_update(&delivered).expect("deliver");
        store
            .complete_event(seq, &outcome("evt-a", &["n1", "n2"]))
            .expect("second completion is a no-op");
        let pending: Vec<String> = store
            .outbox_pending()
            .expect("outbox")
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(pending, vec!["n2".to_owned()]);
        assert_eq!(
            store.outbox_item("n1").expect("get").map(|i| i.state),
            Some(delivered.state)
        );
    }

    #[test]
    fn dead_letters_leave_the_pending_outbox_and_updates_need_a_pending_item() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let Inserted::New(seq) = store.insert_event(&event("a")).expect("insert") else {
            panic!("new");
        };
        store
            .complete_event(seq, &outcome("evt-a", &["n1"]))
            .expect("complete");
        let mut dead = note("n1");
        dead.state = OutboxState::DeadLettered {
            reason: "404 ticket deleted".into(),
            at_ms: 5,
        };
        store.outbox_update(&dead).expect("dead-letter");
        assert!(store.outbox_pending().expect("outbox").is_empty());
        assert_eq!(store.dead_letters().expect("dead").len(), 1);
        let err = store.outbox_update(&dead).expect_err("no longer pending");
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    }

    #[test]
    fn failed_events_are_kept_with_their_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let Inserted::New(seq) = store.insert_event(&event("a")).expect("insert") else {
            panic!("new");
        };
        store
            .fail_event(seq, "ticket 42 not found", 9)
            .expect("fail");
        assert!(store.pending_events().expect("pending").is_empty());
        let failed = store.failed_events().expect("failed");
        assert_eq!(failed[0].reason, "ticket 42 not found");
    }
}
