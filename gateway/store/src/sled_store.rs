//! The embedded store: sled 0.34 for everything that outlives an event's processing (one
//! tree per record kind), and the inbound log (`inbound_log.rs`) for events between their
//! acknowledgement and their outcome.
//!
//! The calls on the hot path of every event avoid sled transactions and sled flushes, which
//! measured at most of the ingest cost (BENCHMARKS.md), and stay all-or-nothing by recovery:
//!
//! - [`Store::insert_event`] appends the event to the inbound log's buffer and keeps it, with
//!   its dedupe key, in memory; [`Store::events_durable`] waits for the log's group-commit
//!   `fdatasync`. Opening the store replays the log: every event without an outcome in sled is
//!   pending again, with its dedupe key.
//! - [`Store::complete_event`] writes the dedupe key to sled, then the whole outcome as one
//!   commit record, then applies it (see `completion.rs`). Opening the store re-applies any
//!   commit record; each step is idempotent and never moves a record backwards. An outcome
//!   with nothing for the outbox or the approval queue needs no commit record: its cursor, then
//!   one dedupe record carrying its summary (`dedupe.rs`). An event with a commit record, a
//!   processed summary (in the processed tree or its dedupe record) or a failure record is
//!   settled: the log's copy is no longer needed, and its segment is deleted after a sled
//!   flush covers the outcome.
//!
//! Rarer calls (outbox state changes, tokens, pauses) are one sled write or transaction each.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::{Db, Tree};

use crate::completion::{self, CompletionTrees};
use crate::counts::{Counted, RecordCounts};
use crate::dedupe::{self, DedupeEntry};
use crate::group_commit::GroupCommit;
use crate::inbound_log::{InboundLog, SEGMENT_BYTES};
use crate::key_filter::KeyFilter;
use crate::kv::SledKv;
use crate::mail_trees::MailTrees;
use crate::records::{
    DeadLetter, DraftHead, DraftReview, EventOutcome, FailedEvent, InboundEvent, OutboxItem,
    OutboxState, PendingDraft, ProcessedEvent, StoredEvent, TokenRecord,
};
use crate::retention::{self, PrunedRecords, RetainedTrees};
use crate::tally::{self, Tally, TallyKey, draft_tallies, event_tally};
use crate::tally_tree;
use crate::{BoxFuture, Inserted, Store, StoreError, StoreStats};
use deskbridge_core::review::{DraftState, Review};

/// How long a flusher waits for more writers to join a flush (see `group_commit.rs`): none
/// by default. `DESKBRIDGE_COMMIT_WINDOW_US` sets it, for benchmark experiments.
const COMMIT_WINDOW: Duration = Duration::ZERO;

/// At most this many commit records are retired after one flush (see [`SledStore::open`]).
const SETTLE_PER_FLUSH: usize = 512;

/// Keys a dedupe prune adds to the rebuilt filter per hold of the inbox lock.
const KEPT_PER_LOCK: usize = 1024;

/// How often the checkpointer looks for completions or settled log segments waiting for a
/// sled flush to be retired. Short, so each flush stays small: under load sled flushes at most
/// 50 times a second (the acknowledgements' group commit used to flush it ~700 times).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(20);

/// Where the retention watermark is kept (sled's default tree).
const PRUNED_BELOW_KEY: &[u8] = b"retention.settled_below";

/// The retention watermark on disk (0: nothing was ever pruned).
fn pruned_below(db: &Db) -> Result<u64, StoreError> {
    match db.get(PRUNED_BELOW_KEY).map_err(backend)? {
        None => Ok(0),
        Some(bytes) => seq_of(&bytes),
    }
}

/// How long opening waits for sled's directory lock. sled 0.34 releases it only when the
/// background tasks of a dropped database have finished (spacejam/sled#1289), which can take
/// a moment after a restart in the same process; a lock another process holds stays held far
/// longer, and opening then fails with [`StoreError::InUse`].
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Opens sled in `dir`, waiting up to `lock_wait` for its directory lock.
fn open_sled(dir: &Path, lock_wait: Duration) -> Result<Db, StoreError> {
    let config = sled::Config::new()
        .path(dir)
        // The checkpointer flushes when something waits for it; the periodic flush only
        // bounds how much bookkeeping (delivery states, plugin kv) a crash can undo.
        .flush_every_ms(Some(1000));
    let deadline = std::time::Instant::now() + lock_wait;
    let mut pause = Duration::from_millis(5);
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            // sled reports the lock as an `Other` I/O error; its message is all there is.
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(StoreError::InUse(dir.display().to_string()));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => {
                return Err(StoreError::Backend(format!(
                    "cannot open {}: {e}",
                    dir.display()
                )));
            }
        }
    }
}

/// Events between acknowledgement and outcome, in memory; their durable copy is the log.
#[derive(Default)]
struct Inbox {
    /// Pending events by sequence number.
    pending: BTreeMap<u64, StoredEvent>,
    /// The dedupe keys of the pending events (sled's dedupe tree gets them at completion).
    keys: HashMap<Vec<u8>, DedupeEntry>,
    /// Every key in sled's dedupe tree is here or in `keys`: a key in neither is new, and
    /// ingest need not read sled for it (`key_filter.rs`).
    settled_keys: KeyFilter,
    /// The filter a prune is building from the keys it keeps; keys settled meanwhile go into
    /// both, and it replaces `settled_keys` when the prune ends.
    rebuilding: Option<KeyFilter>,
    /// Events settled (completed or failed) since the store opened.
    settled: u64,
    /// One more than the highest sequence number seen.
    next_seq: u64,
}

impl Inbox {
    /// Every event below this sequence number has its outcome written to sled: the lowest one
    /// still pending, or, with none pending, the next one to come (an event inserted while a
    /// flush runs may already sit in a sealed segment, which must not be retired).
    fn settled_below(&self) -> u64 {
        self.pending.keys().next().copied().unwrap_or(self.next_seq)
    }

    /// Notes that `key` is now in sled's dedupe tree.
    fn note_settled_key(&mut self, key: &[u8]) {
        self.settled_keys.insert(key);
        if let Some(next) = &mut self.rebuilding {
            next.insert(key);
        }
    }

    fn add(&mut self, stored: StoredEvent) {
        self.next_seq = self.next_seq.max(stored.seq.saturating_add(1));
        self.keys.insert(
            SledStore::dedupe_key(&stored.event),
            SledStore::dedupe_entry(&stored),
        );
        self.pending.insert(stored.seq, stored);
    }
}

/// A settled event's dedupe key, and the event when asked for (`SledStore::settle_key`).
type SettledKey = (Vec<u8>, Option<InboundEvent>);

/// A pending event's dedupe key and entry, and the event when asked for.
type PendingKey = (Vec<u8>, DedupeEntry, Option<InboundEvent>);

/// The sled-backed store.
pub struct SledStore {
    db: Db,
    dedupe: Tree,
    processed: Tree,
    failed: Tree,
    outbox: Tree,
    outbox_done: Tree,
    dead_letters: Tree,
    /// Outbox items an admin cancelled (approved replies withdrawn before delivery).
    outbox_cancelled: Tree,
    drafts: Tree,
    cursors: Tree,
    /// Running tallies for insights (`tally.rs`, `tally_tree.rs`).
    tallies: Tree,
    /// The email channel's threads (`mail.rs`, `mail_trees.rs`).
    mail: MailTrees,
    /// Commit records of completions (`completion.rs`), kept until a flush covers them.
    completions: Tree,
    /// Completions applied since the last flush started: their commit records go after it.
    applied: Arc<Mutex<Vec<u64>>>,
    /// API tokens by the SHA-256 of their secret.
    tokens: Tree,
    /// Stop-switch pauses by scope (`all`, `helpdesk:NAME`, `plugin:ID`).
    pauses: Tree,
    /// Records listings found damaged and left out.
    damaged: DamagedRecords,
    /// Pending events and their dedupe keys; also serializes `insert_event`'s
    /// check-then-write.
    inbox: Arc<Mutex<Inbox>>,
    log: Arc<InboundLog>,
    kv: Arc<SledKv>,
    spend: Arc<crate::spend::SledSpend>,
    /// Group commit of the inbound log: what acknowledgements wait for.
    log_commit: GroupCommit,
    /// Group commit of sled.
    commit: Arc<GroupCommit>,
    /// The checkpointer thread (started once recovery is done); the store stops and joins it
    /// when dropped.
    checkpointer: Option<Checkpointer>,
    /// Held by a dedupe prune (`Store::prune_dedupe_keys`): one pass at a time.
    pruning: Mutex<()>,
    /// What [`Store::stats`] reports, counted at open and kept up by each write (`counts.rs`).
    counts: Arc<RecordCounts>,
    /// Every event with a lower sequence number is settled, and retention may have deleted
    /// the record that said so (`Store::prune_records`); kept in sled under
    /// [`PRUNED_BELOW_KEY`].
    pruned_below: AtomicU64,
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // First: mid-flush the checkpointer holds the sled group commit (and with it the
        // database and its directory lock); joining it means that once the store is gone, the
        // directory can be opened again.
        drop(self.checkpointer.take());
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

pub(crate) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(backend)
}

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

/// Every record of `tree`, failing on the first damaged one. Only for the stop switch's
/// pauses, which must fail closed: a pause left out would let drafting resume.
fn all<T: DeserializeOwned>(tree: &Tree) -> Result<Vec<T>, StoreError> {
    tree.iter()
        .map(|entry| {
            let (key, value) = entry.map_err(backend)?;
            decode(&key, &value)
        })
        .collect()
}

/// The records found damaged since the store opened, as `tree/key`.
#[derive(Default)]
struct DamagedRecords(Mutex<BTreeSet<String>>);

impl DamagedRecords {
    /// Decodes a record of `tree`; a damaged one is recorded (and logged the first time it is
    /// seen) and comes back as `None`.
    fn decode<T: DeserializeOwned>(&self, tree: &Tree, key: &[u8], bytes: &[u8]) -> Option<T> {
        match decode(key, bytes) {
            Ok(record) => Some(record),
            Err(error) => {
                let name = format!(
                    "{}/{}",
                    String::from_utf8_lossy(&tree.name()),
                    String::from_utf8_lossy(key)
                );
                let first = lock(&self.0).insert(name.clone());
                if first {
                    tracing::error!(record = %name, %error, "a stored record is damaged; listings leave it out");
                }
                None
            }
        }
    }

    /// Every readable record of `tree`: one damaged record must not hide every draft from the
    /// reviewers or stop every delivery. Read errors still fail the listing.
    fn readable<T: DeserializeOwned>(&self, tree: &Tree) -> Result<Vec<T>, StoreError> {
        let mut records = Vec::new();
        for entry in tree.iter() {
            let (key, value) = entry.map_err(backend)?;
            records.extend(self.decode(tree, &key, &value));
        }
        Ok(records)
    }

    fn count(&self) -> usize {
        lock(&self.0).len()
    }
}

/// The fields of a draft record that listings, sweeps and counts need ([`DraftHead`]):
/// skipping the rest (the draft's text and its whole ticket) makes a pass over tens of
/// thousands of drafts several times cheaper.
#[derive(serde::Deserialize)]
pub(crate) struct DraftHeadRecord {
    id: String,
    helpdesk: String,
    ticket_id: String,
    provenance: ProvenanceHead,
    #[serde(default)]
    flags: Vec<FlagHead>,
    created_at_ms: i64,
    /// Absent in records written before reviews existed: pending.
    review: Option<ReviewHead>,
}

#[derive(serde::Deserialize)]
struct ProvenanceHead {
    plugin_id: String,
}

#[derive(serde::Deserialize)]
struct FlagHead {
    code: String,
}

#[derive(serde::Deserialize)]
struct ReviewHead {
    state: DraftState,
}

impl DraftHeadRecord {
    /// The review state (`None`: a record written before reviews existed, pending).
    pub(crate) fn state(&self) -> Option<&DraftState> {
        self.review.as_ref().map(|r| &r.state)
    }

    fn into_head(self) -> DraftHead {
        DraftHead {
            id: self.id,
            helpdesk: self.helpdesk,
            ticket_id: self.ticket_id,
            plugin_id: self.provenance.plugin_id,
            flags: self.flags.into_iter().map(|f| f.code).collect(),
            created_at_ms: self.created_at_ms,
            state: self
                .review
                .map_or_else(|| Review::default().state, |r| r.state),
        }
    }
}

/// `a \0 b`: helpdesk names never contain NUL (the config forbids it).
pub(crate) fn pair_key(a: &str, b: &str) -> Vec<u8> {
    let mut key = a.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(b.as_bytes());
    key
}

/// Locks `mutex`; a panic elsewhere while holding it leaves plain data, still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The sequence number in a big-endian key.
fn seq_of(key: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "not an 8-byte sequence number".into(),
        })
}

fn abort(error: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(error)
}

pub(crate) fn flatten(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => backend(e),
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with_segment_bytes(dir, SEGMENT_BYTES)
    }

    fn open_with_segment_bytes(dir: &Path, segment_bytes: u64) -> Result<SledStore, StoreError> {
        let db = open_sled(dir, LOCK_WAIT)?;
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        let window = std::env::var("DESKBRIDGE_COMMIT_WINDOW_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(COMMIT_WINDOW, Duration::from_micros);
        let (log, logged) = InboundLog::open(&dir.join("inbound"), segment_bytes)?;
        // Under sled's lock, once the inbound log is there: the directory and what it holds
        // are made private to this user.
        crate::private_files::make_private(dir)?;
        let log = Arc::new(log);
        let inbox: Arc<Mutex<Inbox>> = Arc::default();
        let completions = tree("event_completions")?;
        let applied: Arc<Mutex<Vec<u64>>> = Arc::default();
        // Completions taken by a flush, retired after it (a bounded share per flush).
        let in_flush: Arc<Mutex<Vec<u64>>> = Arc::default();
        let commit = {
            let flusher = db.clone();
            // Completions applied before a flush starts are covered by it; once it returned,
            // their commit records are no longer needed, and neither are the log segments
            // holding only events settled before it started.
            let settled_before: Arc<Mutex<u64>> = Arc::new(Mutex::new(0));
            let (taken, settling) = (in_flush.clone(), in_flush.clone());
            let (noted, retiring) = (settled_before.clone(), settled_before);
            let (applied, completions) = (applied.clone(), completions.clone());
            let (inbox, log) = (inbox.clone(), log.clone());
            GroupCommit::start(
                "deskbridge-flush",
                move || {
                    *lock(&noted) = lock(&inbox).settled_below();
                    let mut batch = lock(&applied);
                    lock(&taken).append(&mut batch);
                    drop(batch);
                    flusher.flush().map(|_| ()).map_err(|e| e.to_string())
                },
                move || {
                    log.retire(*lock(&retiring));
                    // A bounded share per flush: after a drained backlog tens of thousands
                    // may be waiting, and the next flush must not wait for all of them.
                    let share: Vec<u64> = {
                        let mut settling = lock(&settling);
                        let keep = settling.len().saturating_sub(SETTLE_PER_FLUSH);
                        settling.split_off(keep)
                    };
                    for seq in share {
                        if let Err(e) = completions.remove(seq.to_be_bytes()) {
                            // Harmless: the record is applied again, idempotently, at open.
                            tracing::warn!(seq, error = %e, "cannot retire a completion record");
                        }
                    }
                },
                window,
            )
            .map_err(backend)?
        };
        let commit = Arc::new(commit);
        let log_commit = {
            let log = log.clone();
            GroupCommit::start("deskbridge-log", move || log.sync(), || {}, window)
                .map_err(backend)?
        };
        let mut store = SledStore {
            dedupe: tree("dedupe")?,
            processed: tree("events_processed")?,
            failed: tree("events_failed")?,
            outbox: tree("outbox")?,
            outbox_done: tree("outbox_delivered")?,
            dead_letters: tree("outbox_dead")?,
            outbox_cancelled: tree("outbox_cancelled")?,
            drafts: tree("drafts_pending")?,
            cursors: tree("ticket_cursors")?,
            tallies: tree("insight_tallies")?,
            mail: MailTrees {
                threads: tree("mail_threads")?,
                ids: tree("mail_ids")?,
                subjects: tree("mail_subjects")?,
                raw: tree("mail_raw")?,
                cursors: tree("mail_cursors")?,
                events: tree("mail_events")?,
                keys: tree("mail_keys")?,
            },
            completions,
            applied: applied.clone(),
            tokens: tree("api_tokens")?,
            pauses: tree("drafting_pauses")?,
            damaged: DamagedRecords::default(),
            inbox: inbox.clone(),
            log: log.clone(),
            kv: Arc::new(SledKv::new(tree("plugin_kv")?)),
            spend: Arc::new(crate::spend::SledSpend::new(db.clone(), tree("ai_spend")?)),
            log_commit,
            commit: commit.clone(),
            checkpointer: None,
            pruning: Mutex::default(),
            counts: Arc::default(),
            pruned_below: AtomicU64::new(pruned_below(&db)?),
            db,
        };
        store.recover(logged)?;
        let settled_in_dedupe = store.load_settled_keys()?;
        store.count_records(settled_in_dedupe)?;
        store.fill_tallies()?;
        // Only now: a flush during recovery would see pending events not yet back in memory
        // and retire the log segments that hold them.
        store.checkpointer = Some({
            let (applied, in_flush) = (Arc::downgrade(&applied), Arc::downgrade(&in_flush));
            let (inbox, log) = (Arc::downgrade(&inbox), Arc::downgrade(&log));
            let mut settled_at_last_flush = None;
            start_checkpointer(&commit, move || {
                let (Some(applied), Some(in_flush), Some(inbox), Some(log)) = (
                    applied.upgrade(),
                    in_flush.upgrade(),
                    inbox.upgrade(),
                    log.upgrade(),
                ) else {
                    return false;
                };
                // The log's next segment, filled with zeros ahead of the flusher's need.
                if let Err(e) = log.prepare_spare() {
                    tracing::warn!(error = %e, "cannot prepare the next inbound log segment; retrying");
                }
                let settled = lock(&inbox).settled;
                // Sealed segments wait for events to settle: no flush helps until one has.
                let retirable = log.sealed_segments() > 0 && settled_at_last_flush != Some(settled);
                let waiting =
                    !lock(&applied).is_empty() || !lock(&in_flush).is_empty() || retirable;
                if waiting {
                    settled_at_last_flush = Some(settled);
                }
                waiting
            })?
        });
        Ok(store)
    }

    /// Finishes what a crash interrupted: re-applies every commit record left (oldest first),
    /// then makes every logged event without an outcome pending again. Events pending in
    /// sled's `events_pending` tree (stores written before the inbound log) move to the log.
    fn recover(&self, logged: Vec<StoredEvent>) -> Result<(), StoreError> {
        for entry in self.completions.iter() {
            let (key, bytes) = entry.map_err(backend)?;
            let seq = seq_of(&key)?;
            if seq < self.pruned_below.load(Ordering::Acquire) {
                // Applied and flushed before the retention watermark passed it; applying it
                // again could bring back outputs retention has deleted since.
                self.completions.remove(&key).map_err(backend)?;
                continue;
            }
            let outcome: EventOutcome = decode(&key, &bytes)?;
            completion::apply(&self.completion_trees(), seq, &outcome)?;
            lock(&self.applied).push(seq);
        }
        let legacy = self.db.open_tree("events_pending").map_err(backend)?;
        let mut moved = 0;
        for entry in legacy.iter() {
            let (key, bytes) = entry.map_err(backend)?;
            let stored: StoredEvent = decode(&key, &bytes)?;
            if !self.settled(stored.seq)? {
                self.log.append(&stored)?;
                lock(&self.inbox).add(stored);
                moved += 1;
            }
        }
        if !legacy.is_empty() {
            self.log.sync().map_err(StoreError::Backend)?;
            legacy.clear().map_err(backend)?;
            self.db.flush().map_err(backend)?;
            tracing::info!(moved, "moved pending events from sled to the inbound log");
        }
        for stored in logged {
            if self.settled(stored.seq)? || self.settled_by_dedupe(&stored)? {
                // Settled: its segment can go once nothing older is pending.
                let mut inbox = lock(&self.inbox);
                inbox.next_seq = inbox.next_seq.max(stored.seq.saturating_add(1));
            } else {
                lock(&self.inbox).add(stored);
            }
        }
        Ok(())
    }

    /// Fills the inbox's filter with every key in sled's dedupe tree, at open, streaming them
    /// (the filter grows by stages as needed; the pipeline's first dedupe prune, right after
    /// start, rebuilds it as one stage sized for the keys it keeps). Returns how many of the
    /// records carry a processed summary, counted on the way.
    fn load_settled_keys(&self) -> Result<usize, StoreError> {
        let mut filter = KeyFilter::default();
        let mut settled = 0;
        for entry in self.dedupe.iter() {
            let (key, value) = entry.map_err(backend)?;
            filter.insert(&key);
            settled += usize::from(dedupe::is_settled(&value));
        }
        lock(&self.inbox).settled_keys = filter;
        Ok(settled)
    }

    /// Counts the records [`Store::stats`] reports, once, at open (after recovery); writes
    /// keep the counts up from here (`counts.rs`).
    fn count_records(&self, settled_in_dedupe: usize) -> Result<(), StoreError> {
        let counts = &self.counts;
        counts.set(Counted::Processed, self.processed.len() + settled_in_dedupe);
        counts.set(Counted::Failed, self.failed.len());
        counts.set(Counted::OutboxPending, self.outbox.len());
        counts.set(Counted::OutboxDelivered, self.outbox_done.len());
        counts.set(Counted::OutboxDead, self.dead_letters.len());
        counts.set(Counted::OutboxCancelled, self.outbox_cancelled.len());
        let open_drafts = self.draft_heads()?;
        let open_drafts = open_drafts.iter().filter(|d| d.state.is_open()).count();
        counts.set(Counted::OpenDrafts, open_drafts);
        Ok(())
    }

    /// Removes the dedupe keys of deliveries received before `before_ms` (moving the summaries
    /// they carry to the processed tree) and adds the keys it keeps to the filter being
    /// rebuilt, a thousand at a time.
    fn prune_dedupe_pass(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut kept = Vec::with_capacity(KEPT_PER_LOCK);
        for entry in self.dedupe.iter() {
            let (key, value) = entry.map_err(backend)?;
            let record = dedupe::decode_entry(&key, &value)?;
            if record.at_ms >= before_ms {
                kept.push(key);
                if kept.len() == KEPT_PER_LOCK {
                    self.note_kept_keys(&mut kept);
                }
                continue;
            }
            if dedupe::is_settled(&value) {
                // The summary outlives the key: into the processed tree first (a crash between
                // the two writes leaves it in both, which the listing merges).
                let settled: dedupe::Settled = decode(&key, dedupe::json(&value))?;
                let seq = settled.seq.ok_or_else(|| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason: "a settled dedupe record without its sequence number".into(),
                })?;
                let earlier = self
                    .processed
                    .insert(seq.to_be_bytes(), encode(&settled.processed)?)
                    .map_err(backend)?;
                if earlier.is_some() {
                    // A pass interrupted by a crash left it in both trees: counted twice.
                    self.counts.remove(Counted::Processed);
                }
            }
            self.dedupe.remove(&key).map_err(backend)?;
            removed += 1;
        }
        self.note_kept_keys(&mut kept);
        Ok(removed)
    }

    /// From now on keys settled go into a new filter too (see `prune_dedupe_keys`).
    fn start_rebuilding_filter(&self) {
        let mut inbox = lock(&self.inbox);
        let expected = inbox.settled_keys.len();
        inbox.rebuilding = Some(KeyFilter::with_capacity(expected));
    }

    /// The new filter replaces the old one if the pass that filled it `completed`.
    fn finish_rebuilding_filter(&self, completed: bool) {
        let mut inbox = lock(&self.inbox);
        if let Some(rebuilt) = inbox.rebuilding.take()
            && completed
        {
            inbox.settled_keys = rebuilt;
        }
    }

    fn note_kept_keys(&self, kept: &mut Vec<sled::IVec>) {
        let mut inbox = lock(&self.inbox);
        if let Some(next) = &mut inbox.rebuilding {
            for key in kept.iter() {
                next.insert(key);
            }
        }
        kept.clear();
    }

    /// Whether event `seq` has its outcome (or failure) in sled, or is below the retention
    /// watermark (`Store::prune_records`).
    fn settled(&self, seq: u64) -> Result<bool, StoreError> {
        if seq < self.pruned_below.load(Ordering::Acquire) {
            return Ok(true);
        }
        let key = seq.to_be_bytes();
        for tree in [&self.completions, &self.processed, &self.failed] {
            if tree.contains_key(key).map_err(backend)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) fn completion_trees(&self) -> CompletionTrees<'_> {
        CompletionTrees {
            processed: &self.processed,
            outbox: &self.outbox,
            delivered: &self.outbox_done,
            dead_letters: &self.dead_letters,
            drafts: &self.drafts,
            cursors: &self.cursors,
            tallies: &self.tallies,
            counts: &self.counts,
        }
    }

    /// The tallies' tree, for tests that take a store back to before tallies.
    #[cfg(test)]
    pub(crate) fn tally_tree(&self) -> &Tree {
        &self.tallies
    }

    /// Sums the running tallies from every record, once per tally format (`tally_tree.rs`):
    /// a store from before tallies, or from an older format, gets them at its first open.
    fn fill_tallies(&self) -> Result<(), StoreError> {
        if tally_tree::filled(&self.tallies)? {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let rows = tally_tree::fill(
            &self.tallies,
            &self.draft_reviews()?,
            &self.processed_events()?,
        )?;
        tracing::info!(
            rows,
            ms = started.elapsed().as_millis() as u64,
            "summed the insights tallies from the stored drafts and events"
        );
        Ok(())
    }

    fn dedupe_entry(stored: &StoredEvent) -> DedupeEntry {
        DedupeEntry {
            event_id: stored.event.id.clone(),
            at_ms: stored.event.received_at_ms,
            seq: Some(stored.seq),
        }
    }

    /// Whether the event a dedupe entry points at is still known in some state. An entry
    /// without its event (a damaged store, or one restored from a partial backup) must not
    /// turn a redelivery away.
    fn event_known(&self, entry: &DedupeEntry, inbox: &Inbox) -> Result<bool, StoreError> {
        match entry.seq {
            None => Ok(true),
            Some(seq) => Ok(inbox.pending.contains_key(&seq) || self.settled(seq)?),
        }
    }

    fn dedupe_key(event: &InboundEvent) -> Vec<u8> {
        pair_key(&event.helpdesk, &event.dedupe_key)
    }

    /// The dedupe key and entry of pending event `seq`, with the event if asked for (`None`
    /// if the event is not pending: completed or failed before).
    fn pending_key(&self, seq: u64, with_event: bool) -> Option<PendingKey> {
        let inbox = lock(&self.inbox);
        let stored = inbox.pending.get(&seq)?;
        Some((
            Self::dedupe_key(&stored.event),
            Self::dedupe_entry(stored),
            with_event.then(|| stored.event.clone()),
        ))
    }

    /// Writes the dedupe key of pending event `seq` to sled and returns it, with the event if
    /// asked for (`None` if the event is not pending: completed or failed before).
    fn settle_key(&self, seq: u64, with_event: bool) -> Result<Option<SettledKey>, StoreError> {
        let Some((key, entry, event)) = self.pending_key(seq, with_event) else {
            return Ok(None);
        };
        self.dedupe
            .insert(key.as_slice(), encode(&entry)?)
            .map_err(backend)?;
        Ok(Some((key, event)))
    }

    /// Whether a logged event was settled by a dedupe record carrying its summary.
    fn settled_by_dedupe(&self, stored: &StoredEvent) -> Result<bool, StoreError> {
        let key = Self::dedupe_key(&stored.event);
        let Some(bytes) = self.dedupe.get(&key).map_err(backend)? else {
            return Ok(false);
        };
        Ok(dedupe::is_settled(&bytes)
            && dedupe::decode_entry(&key, &bytes)?.seq == Some(stored.seq))
    }

    /// Forgets a pending event whose outcome is written to sled.
    fn forget(&self, seq: u64, key: &[u8]) {
        let mut inbox = lock(&self.inbox);
        inbox.pending.remove(&seq);
        // Into the filter before out of `keys`, under one lock: ingest always finds it in one.
        inbox.note_settled_key(key);
        inbox.keys.remove(key);
        inbox.settled += 1;
    }
}

/// The thread that flushes sled every [`CHECKPOINT_INTERVAL`] while something waits for a
/// flush; dropping it stops the thread and waits for it.
struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `needs_flush` every [`CHECKPOINT_INTERVAL`] (the store's closure also prepares the
/// inbound log's spare segment) and flushes sled while it says applied completions or settled
/// events' log segments wait for one, so they are retired even when nothing else asks for
/// durability.
fn start_checkpointer(
    commit: &Arc<GroupCommit>,
    mut needs_flush: impl FnMut() -> bool + Send + 'static,
) -> Result<Checkpointer, StoreError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let commit = Arc::downgrade(commit);
    let thread = std::thread::Builder::new()
        .name("deskbridge-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_INTERVAL)
            {
                let Some(commit) = commit.upgrade() else {
                    return;
                };
                if needs_flush()
                    && let Err(e) = commit.wait_blocking()
                {
                    tracing::warn!(error = %e, "checkpoint flush failed; retrying");
                }
            }
        })
        .map_err(backend)?;
    Ok(Checkpointer {
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl Store for SledStore {
    fn insert_event(&self, event: &InboundEvent) -> Result<Inserted, StoreError> {
        let key = Self::dedupe_key(event);
        let mut inbox = lock(&self.inbox);
        if let Some(first) = inbox.keys.get(&key) {
            return Ok(Inserted::Duplicate {
                first_event_id: first.event_id.clone(),
            });
        }
        // Read sled only for a key the filter cannot rule out: almost every delivery is new.
        let existing = if inbox.settled_keys.may_contain(&key) {
            self.dedupe.get(&key).map_err(backend)?
        } else {
            None
        };
        if let Some(existing) = existing {
            let first = dedupe::decode_entry(&key, &existing)?;
            if dedupe::is_settled(&existing) || self.event_known(&first, &inbox)? {
                return Ok(Inserted::Duplicate {
                    first_event_id: first.event_id,
                });
            }
        }
        let stored = StoredEvent {
            seq: self.db.generate_id().map_err(backend)?,
            event: event.clone(),
        };
        self.log.append(&stored)?;
        let seq = stored.seq;
        inbox.add(stored);
        Ok(Inserted::New(seq))
    }

    fn events_durable(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.log_commit.wait()
    }

    fn durable(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        // Both queued now, so both cover everything written before this call.
        let (log, sled) = (self.log_commit.wait(), self.commit.wait());
        Box::pin(async move {
            log.await?;
            sled.await
        })
    }

    fn pending_events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(lock(&self.inbox).pending.values().cloned().collect())
    }

    fn pending_count(&self) -> Result<usize, StoreError> {
        Ok(lock(&self.inbox).pending.len())
    }

    fn complete_event(&self, seq: u64, outcome: &EventOutcome) -> Result<(), StoreError> {
        if outcome.outbox.is_empty() && outcome.drafts.is_empty() {
            // Nothing that must appear all at once: the cursor, then one dedupe record that
            // carries the processed summary and settles the event (`dedupe.rs`). A crash
            // before that leaves it pending in the log, to be processed again; until then the
            // inbox's copy of the key refuses redeliveries. (A commit record and its removal
            // were two of the five sled writes of such an event; BENCHMARKS.md.)
            let Some((key, entry, _)) = self.pending_key(seq, false) else {
                return Ok(()); // completed (or failed) before
            };
            completion::move_cursor(&self.cursors, seq, outcome)?;
            let settled = dedupe::encode_settled(&entry, &outcome.processed)?;
            let first = match event_tally(&outcome.processed) {
                None => !self
                    .dedupe
                    .insert(key.as_slice(), settled)
                    .map_err(backend)?
                    .is_some_and(|bytes| dedupe::is_settled(&bytes)),
                // Counted in insights: the summary and its tally in one write.
                Some(row) => {
                    let counted = tally::changes(&[], &[row]);
                    (&self.dedupe, &self.tallies)
                        .transaction(|(dedupe, tallies)| {
                            let earlier = dedupe.insert(key.as_slice(), settled.as_slice())?;
                            let first = !earlier.is_some_and(|bytes| dedupe::is_settled(&bytes));
                            if first {
                                tally_tree::shift(tallies, &counted)?;
                            }
                            Ok(first)
                        })
                        .map_err(flatten)?
                }
            };
            if first {
                self.counts.add(Counted::Processed);
            }
            self.forget(seq, &key);
            return Ok(());
        }
        // The dedupe key first: from here on a redelivery is refused by sled's record.
        let Some((key, _)) = self.settle_key(seq, false)? else {
            return Ok(()); // completed (or failed) before
        };
        // The commit point: one atomic write holding the whole outcome.
        self.completions
            .insert(seq.to_be_bytes(), encode(outcome)?)
            .map_err(backend)?;
        completion::apply(&self.completion_trees(), seq, outcome)?;
        lock(&self.applied).push(seq);
        self.forget(seq, &key);
        Ok(())
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
        Ok(value.map(|v| completion::cursor_message_id(&v)))
    }

    fn fail_event(&self, seq: u64, reason: &str, at_ms: i64) -> Result<(), StoreError> {
        let Some((key, Some(event))) = self.settle_key(seq, true)? else {
            return Ok(());
        };
        let record = encode(&FailedEvent {
            event,
            reason: reason.to_owned(),
            failed_at_ms: at_ms,
        })?;
        let earlier = self
            .failed
            .insert(seq.to_be_bytes(), record)
            .map_err(backend)?;
        if earlier.is_none() {
            self.counts.add(Counted::Failed);
        }
        self.forget(seq, &key);
        Ok(())
    }

    fn outbox_pending(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.damaged.readable(&self.outbox)
    }

    fn outbox_update(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let id = item.id.as_bytes();
        let bytes = encode(item)?;
        (
            &self.outbox,
            &self.outbox_done,
            &self.dead_letters,
            &self.outbox_cancelled,
        )
            .transaction(|(outbox, delivered, dead, cancelled)| {
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
                    OutboxState::Cancelled { .. } => {
                        outbox.remove(id)?;
                        cancelled.insert(id, bytes.as_slice())?;
                    }
                }
                Ok(())
            })
            .map_err(flatten)?;
        match item.state {
            OutboxState::Pending => {}
            OutboxState::Delivered { .. } => self
                .counts
                .moved(Counted::OutboxPending, Counted::OutboxDelivered),
            OutboxState::DeadLettered { .. } => {
                self.counts
                    .moved(Counted::OutboxPending, Counted::OutboxDead);
            }
            OutboxState::Cancelled { .. } => {
                self.counts
                    .moved(Counted::OutboxPending, Counted::OutboxCancelled);
            }
        }
        Ok(())
    }

    fn outbox_item(&self, id: &str) -> Result<Option<OutboxItem>, StoreError> {
        for tree in [
            &self.outbox,
            &self.outbox_done,
            &self.dead_letters,
            &self.outbox_cancelled,
        ] {
            if let Some(bytes) = tree.get(id.as_bytes()).map_err(backend)? {
                return decode(id.as_bytes(), &bytes).map(Some);
            }
        }
        Ok(None)
    }

    fn settle_dead_letter(
        &self,
        id: &str,
        retry: bool,
        now_ms: i64,
    ) -> Result<OutboxItem, StoreError> {
        let key = id.as_bytes();
        let settled = (&self.outbox, &self.dead_letters, &self.outbox_cancelled)
            .transaction(|(outbox, dead, cancelled)| {
                let Some(bytes) = dead.get(key)? else {
                    return Err(abort(StoreError::NotFound {
                        what: "dead letter",
                        id: id.to_owned(),
                    }));
                };
                let mut item: OutboxItem = decode(key, &bytes).map_err(abort)?;
                if retry {
                    item.state = OutboxState::Pending;
                    item.attempts = 0;
                    item.next_attempt_at_ms = now_ms;
                    item.held_since_ms = None;
                    // The retry horizon starts again now.
                    item.held_ms = now_ms.saturating_sub(item.created_at_ms);
                } else {
                    item.state = OutboxState::Cancelled { at_ms: now_ms };
                }
                let encoded = encode(&item).map_err(abort)?;
                dead.remove(key)?;
                if retry {
                    outbox.insert(key, encoded.as_slice())?;
                } else {
                    cancelled.insert(key, encoded.as_slice())?;
                }
                Ok(item)
            })
            .map_err(flatten)?;
        self.db.flush().map_err(backend)?;
        self.counts.moved(
            Counted::OutboxDead,
            if retry {
                Counted::OutboxPending
            } else {
                Counted::OutboxCancelled
            },
        );
        Ok(settled)
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let mut items: Vec<OutboxItem> = self.damaged.readable(&self.dead_letters)?;
        items.sort_by_key(|item| item.created_at_ms);
        Ok(items.into_iter().map(|item| DeadLetter { item }).collect())
    }

    fn processed_events(&self) -> Result<Vec<ProcessedEvent>, StoreError> {
        // Oldest first: the processed tree by sequence number, and the summaries still in
        // dedupe records (`dedupe.rs`) merged in by theirs.
        let mut by_seq = BTreeMap::new();
        for entry in self.processed.iter() {
            let (key, value) = entry.map_err(backend)?;
            if let (Ok(seq), Some(summary)) = (
                seq_of(&key),
                self.damaged
                    .decode::<ProcessedEvent>(&self.processed, &key, &value),
            ) {
                by_seq.insert(seq, summary);
            }
        }
        for entry in self.dedupe.iter() {
            let (key, value) = entry.map_err(backend)?;
            if !dedupe::is_settled(&value) {
                continue;
            }
            if let Some(dedupe::Settled {
                seq: Some(seq),
                processed,
            }) = self
                .damaged
                .decode(&self.dedupe, &key, dedupe::json(&value))
            {
                by_seq.insert(seq, processed);
            }
        }
        Ok(by_seq.into_values().collect())
    }

    fn failed_events(&self) -> Result<Vec<FailedEvent>, StoreError> {
        self.damaged.readable(&self.failed)
    }

    fn pending_drafts(&self) -> Result<Vec<PendingDraft>, StoreError> {
        let mut drafts: Vec<PendingDraft> = self.damaged.readable(&self.drafts)?;
        drafts.sort_by_key(|draft| draft.created_at_ms);
        Ok(drafts)
    }

    fn draft_reviews(&self) -> Result<Vec<DraftReview>, StoreError> {
        // serde skips the fields `DraftReview` does not name (the text, the ticket).
        self.damaged.readable(&self.drafts)
    }

    fn draft_heads(&self) -> Result<Vec<DraftHead>, StoreError> {
        let mut heads = Vec::new();
        for entry in self.drafts.iter() {
            let (key, value) = entry.map_err(backend)?;
            heads.extend(
                self.damaged
                    .decode::<DraftHeadRecord>(&self.drafts, &key, &value)
                    .map(DraftHeadRecord::into_head),
            );
        }
        Ok(heads)
    }

    fn enqueue_outbox(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let id = item.id.as_bytes();
        if self.outbox_done.contains_key(id).map_err(backend)?
            || self.dead_letters.contains_key(id).map_err(backend)?
            || self.outbox_cancelled.contains_key(id).map_err(backend)?
        {
            return Ok(());
        }
        // Err(CompareAndSwapError): already queued, which is what was wanted.
        let queued = self
            .outbox
            .compare_and_swap(id, None as Option<&[u8]>, Some(encode(item)?))
            .map_err(backend)?;
        if queued.is_ok() {
            self.counts.add(Counted::OutboxPending);
        }
        Ok(())
    }

    fn draft(&self, id: &str) -> Result<Option<PendingDraft>, StoreError> {
        self.drafts
            .get(id.as_bytes())
            .map_err(backend)?
            .map(|bytes| decode(id.as_bytes(), &bytes))
            .transpose()
    }

    fn update_draft(
        &self,
        expected_version: u64,
        draft: &PendingDraft,
    ) -> Result<bool, StoreError> {
        let key = draft.id.as_bytes();
        let bytes = encode(draft)?;
        let after = draft_tallies(&DraftReview::of(draft));
        // The draft and its tallies in one transaction: a concurrent decision on the same
        // draft conflicts with it, and the loser reads the winner's version.
        let was_open = (&self.drafts, &self.tallies)
            .transaction(|(drafts, tallies)| {
                let Some(current) = drafts.get(key)? else {
                    return Err(abort(StoreError::NotFound {
                        what: "draft",
                        id: draft.id.clone(),
                    }));
                };
                let stored: PendingDraft = decode(key, &current).map_err(abort)?;
                if stored.review.version != expected_version {
                    return Ok(None);
                }
                drafts.insert(key, bytes.as_slice())?;
                let before = draft_tallies(&DraftReview::of(&stored));
                tally_tree::shift(tallies, &tally::changes(&before, &after))?;
                Ok(Some(stored.review.state.is_open()))
            })
            .map_err(flatten)?;
        let Some(was_open) = was_open else {
            return Ok(false);
        };
        match (was_open, draft.review.state.is_open()) {
            (true, false) => self.counts.remove(Counted::OpenDrafts),
            (false, true) => self.counts.add(Counted::OpenDrafts),
            _ => {}
        }
        self.db.flush().map_err(backend)?;
        Ok(true)
    }

    fn tallies(&self) -> Result<Vec<(TallyKey, Tally)>, StoreError> {
        tally_tree::read_all(&self.tallies)
    }

    fn prune_dedupe_keys(&self, before_ms: i64) -> Result<usize, StoreError> {
        // The filter cannot forget keys: a fresh one is built from the keys kept (and those
        // settled meanwhile, `Inbox::note_settled_key`), and replaces it if the pass ends. One
        // pass at a time, or one could install the other's half-built filter.
        let _one_pass = lock(&self.pruning);
        self.start_rebuilding_filter();
        let pruned = self.prune_dedupe_pass(before_ms);
        self.finish_rebuilding_filter(pruned.is_ok());
        pruned
    }

    fn prune_records(&self, ended_before_ms: i64) -> Result<PrunedRecords, StoreError> {
        let trees = RetainedTrees {
            completions: &self.completions,
            processed: &self.processed,
            failed: &self.failed,
            delivered: &self.outbox_done,
            dead_letters: &self.dead_letters,
            cancelled: &self.outbox_cancelled,
            drafts: &self.drafts,
            counts: &self.counts,
        };
        let _one_pass = lock(&self.pruning);
        // A summary says its event is settled: opening the store reads that for events still
        // in the inbound log, and a redelivery for keys still in the dedupe tree. Before any
        // goes, a watermark on disk says it instead: every event below the lowest one pending
        // now is settled, and the flush first makes those outcomes durable.
        let settled_below = lock(&self.inbox).settled_below();
        self.db.flush().map_err(backend)?;
        let watermark = settled_below.max(self.pruned_below.load(Ordering::Acquire));
        self.db
            .insert(PRUNED_BELOW_KEY, &watermark.to_be_bytes())
            .map_err(backend)?;
        self.db.flush().map_err(backend)?;
        self.pruned_below.store(watermark, Ordering::Release);
        let mut pruned = retention::prune(&trees, ended_before_ms, watermark)?;
        let mail = self.mail.prune(ended_before_ms)?;
        pruned.email_tickets = mail.tickets;
        pruned.unthreaded_mail = mail.unthreaded;
        Ok(pruned)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Ok(StoreStats {
            pending_events: lock(&self.inbox).pending.len(),
            processed_events: self.counts.get(Counted::Processed),
            failed_events: self.counts.get(Counted::Failed),
            outbox_pending: self.counts.get(Counted::OutboxPending),
            outbox_delivered: self.counts.get(Counted::OutboxDelivered),
            outbox_dead_lettered: self.counts.get(Counted::OutboxDead),
            outbox_cancelled: self.counts.get(Counted::OutboxCancelled),
            pending_drafts: self.counts.get(Counted::OpenDrafts),
            flushes: self.flush_count(),
            damaged_records: self.damaged.count(),
        })
    }

    fn flush_count(&self) -> u64 {
        self.log_commit.flushes() + self.commit.flushes()
    }

    fn insert_token(&self, token_sha256: &str, record: &TokenRecord) -> Result<(), StoreError> {
        self.tokens
            .insert(token_sha256.as_bytes(), encode(record)?)
            .map_err(backend)?;
        self.db.flush().map_err(backend)?;
        Ok(())
    }

    fn token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.tokens
            .get(token_sha256.as_bytes())
            .map_err(backend)?
            .map(|bytes| decode(token_sha256.as_bytes(), &bytes))
            .transpose()
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut tokens: Vec<TokenRecord> = self.damaged.readable(&self.tokens)?;
        tokens.sort_by_key(|t| t.created_at_ms);
        Ok(tokens)
    }

    fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        for entry in self.tokens.iter() {
            let (key, bytes) = entry.map_err(backend)?;
            let Some(mut record) = self
                .damaged
                .decode::<TokenRecord>(&self.tokens, &key, &bytes)
            else {
                continue;
            };
            if record.id == id {
                record.revoked_at_ms.get_or_insert(at_ms);
                self.tokens.insert(key, encode(&record)?).map_err(backend)?;
                self.db.flush().map_err(backend)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn pauses(&self) -> Result<Vec<deskbridge_core::Pause>, StoreError> {
        all(&self.pauses)
    }

    fn set_pause(&self, pause: &deskbridge_core::Pause) -> Result<(), StoreError> {
        self.pauses
            .insert(pause.scope.to_string().as_bytes(), encode(pause)?)
            .map_err(backend)?;
        self.db.flush().map_err(backend)?;
        Ok(())
    }

    fn lift_pause(&self, scope: &deskbridge_core::PauseScope) -> Result<bool, StoreError> {
        let removed = self
            .pauses
            .remove(scope.to_string().as_bytes())
            .map_err(backend)?;
        self.db.flush().map_err(backend)?;
        Ok(removed.is_some())
    }

    fn record_mail(
        &self,
        helpdesk: &str,
        message: &crate::mail::MailMessage,
        raw: &[u8],
        hint: &crate::mail::ThreadHint,
        may_open: bool,
        cursor: crate::mail::MailCursor,
    ) -> Result<crate::mail::MailRecorded, StoreError> {
        self.mail
            .record(helpdesk, message, raw, hint, may_open, cursor)
    }

    fn add_mail_message(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        message: &crate::mail::MailMessage,
    ) -> Result<bool, StoreError> {
        let added = self.mail.add(helpdesk, ticket_id, message)?;
        self.db.flush().map_err(backend)?;
        Ok(added)
    }

    fn update_pending_mail(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        message_id: &str,
        change: crate::mail::PendingChange,
    ) -> Result<bool, StoreError> {
        let changed = self
            .mail
            .update_pending(helpdesk, ticket_id, message_id, change)?;
        self.db.flush().map_err(backend)?;
        Ok(changed)
    }

    fn add_mail_tags(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        tags: &[String],
    ) -> Result<bool, StoreError> {
        let added = self.mail.add_tags(helpdesk, ticket_id, tags)?;
        self.db.flush().map_err(backend)?;
        Ok(added)
    }

    fn mail_thread(
        &self,
        helpdesk: &str,
        ticket_id: &str,
    ) -> Result<Option<crate::mail::MailThread>, StoreError> {
        self.mail.thread(helpdesk, ticket_id)
    }

    fn mail_ticket_of(
        &self,
        helpdesk: &str,
        message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.mail.ticket_of(helpdesk, message_id)
    }

    fn raw_mail(&self, helpdesk: &str, message_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.mail.raw(helpdesk, message_id)
    }

    fn mail_reply_key(&self, helpdesk: &str) -> Result<[u8; 32], StoreError> {
        let key = self.mail.reply_key(helpdesk)?;
        self.db.flush().map_err(backend)?;
        Ok(key)
    }

    fn mark_mail_event(&self, helpdesk: &str, message_id: &str) -> Result<(), StoreError> {
        self.mail.mark_event(helpdesk, message_id)
    }

    fn mail_cursor(&self, helpdesk: &str) -> Result<Option<crate::mail::MailCursor>, StoreError> {
        self.mail.cursor(helpdesk)
    }

    fn set_mail_cursor(
        &self,
        helpdesk: &str,
        cursor: crate::mail::MailCursor,
    ) -> Result<(), StoreError> {
        self.mail.set_cursor(helpdesk, cursor)
    }

    fn plugin_kv(&self) -> Arc<dyn deskbridge_plugin_host::KvStore> {
        self.kv.clone()
    }

    fn ai_spend(&self) -> Arc<dyn deskbridge_providers::budget::SpendStore> {
        self.spend.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::PluginRun;

    use crate::fixtures::{event, note};

    /// Opens the store in `dir` and inserts `event(key)`, which must be new; returns its seq.
    fn open_with_event(dir: &Path, key: &str) -> (SledStore, u64) {
        let store = SledStore::open(dir).expect("open");
        let Inserted::New(seq) = store.insert_event(&event(key)).expect("insert") else {
            panic!("new");
        };
        (store, seq)
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
                handover_by: None,
                skipped: None,
                flagged: false,
                ai_us: 0,
                truncated: Vec::new(),
                suggestions: Vec::new(),
                ai_flags: Vec::new(),
            },
            outbox: notes.iter().map(|id| note(id)).collect(),
            drafts: vec![],
            last_message_id: Some("m7".into()),
        }
    }

    fn draft(
        id: &str,
        created_at_ms: i64,
        state: deskbridge_core::review::DraftState,
    ) -> PendingDraft {
        let mut draft = crate::fixtures::draft(id, created_at_ms);
        draft.review.state = state;
        draft
    }

    #[test]
    fn the_expiry_listing_reads_only_draft_heads_and_agrees_with_full_drafts() {
        use deskbridge_core::review::DraftState;
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq) = open_with_event(dir.path(), "a");
        let mut done = outcome("evt-a", &[]);
        done.drafts = vec![
            draft("old-pending", 10, DraftState::Pending),
            draft("old-escalated", 20, DraftState::Escalated),
            draft("old-expired", 30, DraftState::Expired { at_ms: 99 }),
            draft("new-pending", 100, DraftState::Pending),
        ];
        store.complete_event(seq, &done).expect("complete");
        let full = |cutoff: i64| -> Vec<String> {
            let mut ids: Vec<String> = store
                .pending_drafts()
                .expect("drafts")
                .into_iter()
                .filter(|d| d.review.state.is_open() && d.created_at_ms < cutoff)
                .map(|d| d.id)
                .collect();
            ids.sort();
            ids
        };
        for cutoff in [0, 10, 11, 21, 100, 101] {
            let mut heads = store.open_drafts_created_before(cutoff).expect("listing");
            heads.sort();
            assert_eq!(heads, full(cutoff), "cutoff {cutoff}");
        }
        assert_eq!(
            store.open_drafts_created_before(50).expect("listing").len(),
            2,
            "the two open drafts created before 50"
        );
        // The heads and the reviews read from the same records agree with whole drafts.
        let whole = store.pending_drafts().expect("drafts");
        let mut heads = store.draft_heads().expect("heads");
        heads.sort_by_key(|h| h.id.clone());
        let mut expected: Vec<DraftHead> = whole.iter().map(DraftHead::of).collect();
        expected.sort_by_key(|h| h.id.clone());
        assert_eq!(heads, expected);
        let mut reviews = store.draft_reviews().expect("reviews");
        reviews.sort_by_key(|r| r.id.clone());
        let mut expected: Vec<DraftReview> = whole.iter().map(DraftReview::of).collect();
        expected.sort_by_key(|r| r.id.clone());
        assert_eq!(reviews, expected);
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
        // A pending event's key lives with it; once settled it is sled's, and prunable.
        assert_eq!(store.prune_dedupe_keys(2_000).expect("prune"), 0);
        store
            .complete_event(seq, &outcome("evt-a", &[]))
            .expect("complete");
        assert_eq!(store.prune_dedupe_keys(2_000).expect("prune"), 1);
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::New(_)
        ));
    }

    #[test]
    fn completing_is_atomic_and_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq) = open_with_event(dir.path(), "a");
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
        let (store, seq) = open_with_event(dir.path(), "a");
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
    fn a_dead_letter_is_retried_or_cancelled_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq) = open_with_event(dir.path(), "a");
        store
            .complete_event(seq, &outcome("evt-a", &["n1", "n2"]))
            .expect("complete");
        for id in ["n1", "n2"] {
            let mut dead = note(id);
            dead.attempts = 9;
            dead.maybe_applied = true;
            dead.state = OutboxState::DeadLettered {
                reason: "500s for a day".into(),
                at_ms: 5,
            };
            store.outbox_update(&dead).expect("dead-letter");
        }
        let retried = store.settle_dead_letter("n1", true, 77).expect("retry");
        assert_eq!(retried.state, OutboxState::Pending);
        assert_eq!((retried.attempts, retried.next_attempt_at_ms), (0, 77));
        assert_eq!(retried.trying_for_ms(77), 0, "the horizon starts again");
        assert!(retried.maybe_applied, "read back before trying again");
        assert_eq!(store.outbox_pending().expect("pending").len(), 1);
        let cancelled = store.settle_dead_letter("n2", false, 78).expect("cancel");
        assert_eq!(cancelled.state, OutboxState::Cancelled { at_ms: 78 });
        assert!(store.dead_letters().expect("dead").is_empty());
        for (id, retry) in [("n1", true), ("n2", false), ("nope", true)] {
            let err = store.settle_dead_letter(id, retry, 79).expect_err(id);
            assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
        }
        let stats = store.stats().expect("stats");
        assert_eq!(stats.outbox_dead_lettered, 0);
    }

    #[test]
    fn failed_events_are_kept_with_their_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq) = open_with_event(dir.path(), "a");
        store
            .fail_event(seq, "ticket 42 not found", 9)
            .expect("fail");
        assert!(store.pending_events().expect("pending").is_empty());
        let failed = store.failed_events().expect("failed");
        assert_eq!(failed[0].reason, "ticket 42 not found");
    }

    #[tokio::test]
    async fn a_commit_record_left_by_a_crash_is_applied_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seq = {
            let (store, seq) = open_with_event(dir.path(), "a");
            // A crash right after the commit point: the record is there, nothing applied.
            store
                .completions
                .insert(
                    seq.to_be_bytes(),
                    encode(&outcome("evt-a", &["n1"])).expect("encode"),
                )
                .expect("commit record");
            store.db.flush().expect("flush");
            seq
        };
        let store = SledStore::open(dir.path()).expect("reopen");
        assert!(store.pending_events().expect("pending").is_empty());
        assert_eq!(store.outbox_pending().expect("outbox").len(), 1);
        assert_eq!(store.processed_events().expect("processed").len(), 1);
        assert_eq!(
            store.last_message_id("acme", "42").expect("cursor"),
            Some("m7".into())
        );
        assert!(
            store
                .completions
                .contains_key(seq.to_be_bytes())
                .expect("get")
        );
        // The next flush retires the record: the applied state is durable from then on. The
        // retiring runs on the flusher thread after the waiters are woken, so a second flush
        // (taken by the same thread) is what guarantees it has happened.
        store.durable().await.expect("flush");
        store.durable().await.expect("flush");
        assert!(
            !store
                .completions
                .contains_key(seq.to_be_bytes())
                .expect("get")
        );
    }

    #[test]
    fn reapplying_never_moves_records_backwards() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq) = open_with_event(dir.path(), "a");
        let first = outcome("evt-a", &["n1", "n2"]);
        store.complete_event(seq, &first).expect("complete");
        // n1 is on its way (write-ahead flag set), n2 was delivered.
        let mut in_flight = note("n1");
        in_flight.maybe_applied = true;
        in_flight.attempts = 1;
        store.outbox_update(&in_flight).expect("update");
        let mut delivered = note("n2");
        delivered.state = OutboxState::Delivered {
            receipt: None,
            at_ms: 3,
            reconciled: false,
        };
        store.outbox_update(&delivered).expect("deliver");
        // A later event of the ticket moved the cursor on.
        let Inserted::New(later) = store.insert_event(&event("b")).expect("insert") else {
            panic!("new");
        };
        let mut newer = outcome("evt-b", &[]);
        newer.last_message_id = Some("m9".into());
        store.complete_event(later, &newer).expect("complete");

        completion::apply(&store.completion_trees(), seq, &first).expect("re-apply");

        let pending = store.outbox_pending().expect("outbox");
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert!(pending[0].maybe_applied, "the write-ahead flag survives");
        assert_eq!(
            store.outbox_item("n2").expect("get").map(|i| i.state),
            Some(delivered.state)
        );
        assert_eq!(
            store.last_message_id("acme", "42").expect("cursor"),
            Some("m9".into())
        );
    }

    #[test]
    fn an_acknowledged_event_is_replayed_from_the_log_with_its_dedupe_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seq = {
            let (store, seq) = open_with_event(dir.path(), "a");
            store.log.sync().expect("the acknowledgement's sync");
            // The process dies here: sled never saw the event.
            drop(store);
            seq
        };
        let store = SledStore::open(dir.path()).expect("reopen");
        let pending = store.pending_events().expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].seq, &pending[0].event), (seq, &event("a")));
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
        // Completed, it is not replayed again, and sled's dedupe record refuses redeliveries.
        store
            .complete_event(seq, &outcome("evt-a", &[]))
            .expect("complete");
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert!(store.pending_events().expect("pending").is_empty());
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
    }

    #[test]
    fn a_dedupe_key_without_its_event_does_not_turn_a_redelivery_away() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        // A record pointing at an event the store does not know (a damaged store).
        let lost = StoredEvent {
            seq: 999_999,
            event: event("a"),
        };
        store
            .dedupe
            .insert(
                SledStore::dedupe_key(&lost.event),
                encode(&SledStore::dedupe_entry(&lost)).expect("encode"),
            )
            .expect("insert");
        let Inserted::New(seq) = store.insert_event(&event("a")).expect("insert") else {
            panic!("the key alone does not make a duplicate");
        };
        assert_eq!(store.pending_events().expect("pending").len(), 1);
        // Once processed, the key does count.
        store
            .complete_event(seq, &outcome("evt-a", &[]))
            .expect("complete");
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
    }

    #[test]
    fn a_failed_event_is_settled_and_not_replayed() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (store, seq) = open_with_event(dir.path(), "a");
            store.log.sync().expect("sync");
            store.fail_event(seq, "gone", 9).expect("fail");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        assert!(store.pending_events().expect("pending").is_empty());
        assert_eq!(store.failed_events().expect("failed").len(), 1);
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
    }

    #[test]
    fn a_dropped_store_can_be_opened_again_at_once_even_mid_checkpoint() {
        let dir = tempfile::tempdir().expect("tempdir");
        for round in 0..40 {
            let store = SledStore::open(dir.path()).expect("open");
            let key = format!("round-{round}");
            let Inserted::New(seq) = store.insert_event(&event(&key)).expect("insert") else {
                panic!("new");
            };
            store
                .complete_event(seq, &outcome(&key, &["note"]))
                .expect("complete");
            // The checkpointer wakes every CHECKPOINT_INTERVAL to flush the completion; drop
            // the store at varying points of that cycle, some of them mid-flush.
            std::thread::sleep(CHECKPOINT_INTERVAL + Duration::from_millis(round % 7));
        }
        SledStore::open(dir.path()).expect("open after the last drop");
    }

    #[test]
    fn an_outcome_with_nothing_to_send_settles_with_one_dedupe_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let summary = outcome("evt-a", &[]).processed;
        {
            let (store, seq) = open_with_event(dir.path(), "a");
            store.log.sync().expect("sync");
            store
                .complete_event(seq, &outcome("evt-a", &[]))
                .expect("complete");
            assert_eq!(store.processed.len(), 0, "no processed-tree write");
            assert_eq!(
                store.processed_events().expect("list"),
                vec![summary.clone()]
            );
            assert_eq!(store.stats().expect("stats").processed_events, 1);
            assert_eq!(
                store
                    .last_message_id("acme", "42")
                    .expect("cursor")
                    .as_deref(),
                Some("m7")
            );
        }
        // The log still holds the event: the dedupe record is what says it is settled.
        let store = SledStore::open(dir.path()).expect("reopen");
        assert!(store.pending_events().expect("pending").is_empty());
        assert_eq!(store.processed_events().expect("list"), vec![summary]);
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::Duplicate { first_event_id } if first_event_id == "evt-a"
        ));
    }

    #[test]
    fn a_crash_after_the_cursor_and_before_the_dedupe_record_leaves_the_event_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (store, seq) = open_with_event(dir.path(), "a");
            store.log.sync().expect("sync");
            completion::move_cursor(&store.cursors, seq, &outcome("evt-a", &[])).expect("cursor");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        let pending = store.pending_events().expect("pending");
        assert_eq!(pending.len(), 1);
        store
            .complete_event(pending[0].seq, &outcome("evt-a", &[]))
            .expect("complete again");
        assert_eq!(store.processed_events().expect("list").len(), 1);
    }

    #[test]
    fn pruning_a_settled_dedupe_record_keeps_its_summary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq) = open_with_event(dir.path(), "a");
        store
            .complete_event(seq, &outcome("evt-a", &[]))
            .expect("complete");
        // Not old enough: nothing moves.
        assert_eq!(store.prune_dedupe_keys(1_000).expect("prune"), 0);
        assert_eq!(store.processed.len(), 0);
        assert_eq!(store.prune_dedupe_keys(2_000).expect("prune"), 1);
        assert_eq!(store.processed.len(), 1);
        assert_eq!(
            store.processed_events().expect("list"),
            vec![outcome("evt-a", &[]).processed]
        );
        assert_eq!(store.stats().expect("stats").processed_events, 1);
        // (That the freed key lets a very late redelivery in again is
        // `events_survive_reopen_and_duplicates_are_refused`.)
    }

    #[test]
    fn a_settled_key_refuses_redeliveries_in_the_same_process_and_through_a_prune() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let insert = |key: &str, at_ms: i64| {
            let mut delivery = event(key);
            delivery.received_at_ms = at_ms;
            store.insert_event(&delivery).expect("insert")
        };
        let new_seq = |inserted: Inserted| match inserted {
            Inserted::New(seq) => seq,
            other => panic!("expected a new event, got {other:?}"),
        };
        let is_duplicate = |inserted: Inserted| matches!(inserted, Inserted::Duplicate { .. });
        // Each way an event settles: nothing to send, notes to send, failure.
        let quiet = new_seq(insert("quiet", 1_000));
        let noisy = new_seq(insert("noisy", 5_000));
        let failed = new_seq(insert("failed", 5_000));
        store
            .complete_event(quiet, &outcome("evt-quiet", &[]))
            .expect("complete");
        store
            .complete_event(noisy, &outcome("evt-noisy", &["n1"]))
            .expect("complete");
        store.fail_event(failed, "broken", 3).expect("fail");
        for key in ["quiet", "noisy", "failed"] {
            assert!(is_duplicate(insert(key, 6_000)), "{key} is refused at once");
        }
        // The prune drops the old key and rebuilds the filter from the ones it keeps.
        assert_eq!(store.prune_dedupe_keys(2_000).expect("prune"), 1);
        assert!(is_duplicate(insert("noisy", 6_000)));
        assert!(is_duplicate(insert("failed", 6_000)));
        assert!(!is_duplicate(insert("quiet", 6_000)), "its key was pruned");

        // A key settled while a prune's scan runs (after the scan passed it) goes into the
        // filter being built as well as the old one.
        let late = new_seq(insert("late", 7_000));
        store.start_rebuilding_filter();
        store
            .complete_event(late, &outcome("evt-late", &[]))
            .expect("complete");
        store.finish_rebuilding_filter(true);
        assert!(is_duplicate(insert("late", 8_000)));
    }

    /// Flushes sled, after which the commit records applied before it are retired (as the
    /// checkpointer does within milliseconds of each completion in a running gateway).
    fn retire_commit_records(store: &SledStore) {
        // Retired right after the flush that covers them, once its waiters are woken.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !store.completions.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "commit records retired"
            );
            store.commit.wait_blocking().expect("flush");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Inserts `event(key)`, which must be new; returns its sequence number.
    fn new_event(store: &SledStore, key: &str) -> u64 {
        match store.insert_event(&event(key)).expect("insert") {
            Inserted::New(seq) => seq,
            other => panic!("expected a new event, got {other:?}"),
        }
    }

    /// The counts `stats` reports, without the flush counter.
    fn counted(store: &SledStore) -> [usize; 8] {
        let stats = store.stats().expect("stats");
        [
            stats.pending_events,
            stats.processed_events,
            stats.failed_events,
            stats.outbox_pending,
            stats.outbox_delivered,
            stats.outbox_dead_lettered,
            stats.pending_drafts,
            stats.outbox_cancelled,
        ]
    }

    #[test]
    fn counts_follow_every_write_and_agree_with_a_fresh_count_at_open() {
        use deskbridge_core::review::DraftState;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let new_seq = |key: &str| new_event(&store, key);
        let [quiet, busy, broken, late] = ["quiet", "busy", "broken", "late"].map(new_seq);
        //        [pending, processed, failed, outbox, delivered, dead, open drafts, cancelled]
        assert_eq!(counted(&store), [4, 0, 0, 0, 0, 0, 0, 0]);

        // Settled with nothing to send (one dedupe record), then with notes and drafts.
        store
            .complete_event(quiet, &outcome("evt-quiet", &[]))
            .expect("complete");
        let mut busy_outcome = outcome("evt-busy", &["n1", "n2"]);
        busy_outcome.drafts = vec![
            draft("d-open", 10, DraftState::Pending),
            draft("d-closed", 10, DraftState::Expired { at_ms: 11 }),
        ];
        store.complete_event(busy, &busy_outcome).expect("complete");
        store.complete_event(busy, &busy_outcome).expect("again");
        assert_eq!(counted(&store), [2, 2, 0, 2, 0, 0, 1, 0]);
        store.fail_event(broken, "broken", 3).expect("fail");
        store.fail_event(broken, "broken", 4).expect("again");
        assert_eq!(counted(&store), [1, 2, 1, 2, 0, 0, 1, 0]);

        // The outbox: one delivered, one dead-lettered, one queued later (twice), and a
        // delivered one queued again, which must not come back.
        let mut delivered = note("n1");
        delivered.state = OutboxState::Delivered {
            receipt: None,
            reconciled: false,
            at_ms: 5,
        };
        store.outbox_update(&delivered).expect("deliver");
        let mut dead = note("n2");
        dead.state = OutboxState::DeadLettered {
            reason: "gone".into(),
            at_ms: 5,
        };
        store.outbox_update(&dead).expect("dead-letter");
        store.enqueue_outbox(&note("n3")).expect("enqueue");
        store.enqueue_outbox(&note("n3")).expect("enqueue again");
        store.enqueue_outbox(&note("n1")).expect("delivered before");
        assert_eq!(counted(&store), [1, 2, 1, 1, 1, 1, 1, 0]);
        // One cancelled by an admin, which queuing again must not bring back either.
        store.enqueue_outbox(&note("n4")).expect("enqueue");
        let mut cancelled = note("n4");
        cancelled.state = OutboxState::Cancelled { at_ms: 5 };
        store.outbox_update(&cancelled).expect("cancel");
        store.enqueue_outbox(&note("n4")).expect("cancelled before");
        assert_eq!(counted(&store), [1, 2, 1, 1, 1, 1, 1, 1]);
        assert_eq!(
            store
                .outbox_item("n4")
                .expect("read")
                .map(|item| item.state),
            Some(OutboxState::Cancelled { at_ms: 5 })
        );

        // Decisions: escalating keeps the draft open, approving closes it.
        let decide = |state: DraftState| {
            let mut next = store.draft("d-open").expect("read").expect("there");
            let version = next.review.version;
            next.review.version += 1;
            next.review.state = state;
            assert!(store.update_draft(version, &next).expect("update"));
        };
        decide(DraftState::Escalated);
        assert_eq!(counted(&store)[6], 1);
        decide(DraftState::Approved { at_ms: 6 });
        assert_eq!(counted(&store)[6], 0);

        // A prune moves summaries from dedupe records to the processed tree: still counted
        // once each.
        store
            .complete_event(late, &outcome("evt-late", &[]))
            .expect("complete");
        assert_eq!(store.prune_dedupe_keys(2_000).expect("prune"), 4);
        let expected = [0, 3, 1, 1, 1, 1, 0, 1];
        assert_eq!(counted(&store), expected);
        drop(store);
        let reopened = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(counted(&reopened), expected, "a fresh count at open agrees");
    }

    #[test]
    fn a_summary_left_in_both_trees_by_a_crash_mid_prune_is_counted_once_after_the_prune() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, seq) = open_with_event(dir.path(), "a");
        store
            .complete_event(seq, &outcome("evt-a", &[]))
            .expect("complete");
        // What a crash between the prune's two writes leaves: the summary in both trees.
        store
            .processed
            .insert(
                seq.to_be_bytes(),
                encode(&outcome("evt-a", &[]).processed).expect("encode"),
            )
            .expect("insert");
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.processed_events().expect("list").len(), 1);
        assert_eq!(store.stats().expect("stats").processed_events, 2);
        store.prune_dedupe_keys(2_000).expect("prune");
        assert_eq!(store.stats().expect("stats").processed_events, 1);
    }

    #[test]
    fn retention_deletes_what_ended_before_the_cutoff_and_never_what_is_still_open() {
        use deskbridge_core::review::DraftState;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let new_seq = |key: &str| new_event(&store, key);
        let [old, busy, broken, recent] = ["old", "busy", "broken", "recent"].map(new_seq);
        const CUTOFF: i64 = 5_000;
        const LATER: i64 = 9_000;
        store
            .complete_event(old, &outcome("evt-old", &[]))
            .expect("complete");
        let mut busy_outcome = outcome("evt-busy", &["n1", "n2", "n3"]);
        let sent = DraftState::Sent {
            at_ms: 2_000,
            receipt: None,
            ai_disclosure: false,
            delivery_logged: true,
        };
        busy_outcome.drafts = vec![
            draft("sent-old", 1, sent),
            draft(
                "rejected-old",
                1,
                DraftState::Rejected {
                    by: "ana".into(),
                    reason: "wrong".into(),
                    at_ms: 2_000,
                },
            ),
            draft("expired-old", 1, DraftState::Expired { at_ms: 2_000 }),
            draft(
                "sent-recent",
                1,
                DraftState::Sent {
                    at_ms: LATER,
                    receipt: None,
                    ai_disclosure: false,
                    delivery_logged: true,
                },
            ),
            draft("approved-old", 1, DraftState::Approved { at_ms: 2_000 }),
            draft("pending-old", 1, DraftState::Pending),
            draft("escalated-old", 1, DraftState::Escalated),
        ];
        store.complete_event(busy, &busy_outcome).expect("complete");
        store.fail_event(broken, "broken", 3_000).expect("fail");
        let mut recent_outcome = outcome("evt-recent", &[]);
        recent_outcome.processed.completed_at_ms = LATER;
        store
            .complete_event(recent, &recent_outcome)
            .expect("complete");
        // Summaries leave the dedupe records for the processed tree with their keys.
        assert_eq!(store.prune_dedupe_keys(i64::MAX).expect("prune keys"), 4);
        let ended = |id: &str, state: OutboxState| {
            let mut item = note(id);
            item.state = state;
            store.outbox_update(&item).expect("update");
        };
        ended(
            "n1",
            OutboxState::Delivered {
                receipt: None,
                reconciled: false,
                at_ms: 2_500,
            },
        );
        ended(
            "n2",
            OutboxState::DeadLettered {
                reason: "gone".into(),
                at_ms: LATER,
            },
        );
        //        [pending, processed, failed, outbox, delivered, dead, open drafts]
        assert_eq!(counted(&store), [0, 3, 1, 1, 1, 1, 2, 0]);

        retire_commit_records(&store);
        let pruned = store.prune_records(CUTOFF).expect("prune");
        assert_eq!(
            pruned,
            PrunedRecords {
                processed_events: 2,
                failed_events: 1,
                outbox_delivered: 1,
                outbox_dead_lettered: 0,
                outbox_cancelled: 0,
                closed_drafts: 3,
                email_tickets: 0,
                unthreaded_mail: 0,
            }
        );
        let expected = [0, 1, 0, 1, 0, 1, 2, 0];
        assert_eq!(counted(&store), expected);
        let processed: Vec<String> = store
            .processed_events()
            .expect("list")
            .into_iter()
            .map(|p| p.event_id)
            .collect();
        assert_eq!(processed, ["evt-recent"]);
        assert!(store.failed_events().expect("failed").is_empty());
        let mut drafts: Vec<String> = store
            .pending_drafts()
            .expect("drafts")
            .into_iter()
            .map(|d| d.id)
            .collect();
        drafts.sort();
        assert_eq!(
            drafts,
            [
                "approved-old",
                "escalated-old",
                "pending-old",
                "sent-recent"
            ]
        );
        for (id, kept) in [("n1", false), ("n2", true), ("n3", true)] {
            assert_eq!(store.outbox_item(id).expect("read").is_some(), kept, "{id}");
        }
        assert_eq!(
            store.prune_records(CUTOFF).expect("again"),
            PrunedRecords::default(),
            "nothing left to delete"
        );
        drop(store);
        let reopened = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(counted(&reopened), expected, "a fresh count at open agrees");
    }

    #[test]
    fn retention_stops_below_the_oldest_pending_event_and_its_watermark_keeps_settled_events_settled()
     {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let waiting = new_event(&store, "waiting");
        let [done, broken] = ["done", "broken"].map(|key| new_event(&store, key));
        store
            .complete_event(done, &outcome("evt-done", &["n1"]))
            .expect("complete");
        store.fail_event(broken, "broken", 3).expect("fail");
        // Both ended long ago, but an older event is still pending: nothing above it goes.
        assert_eq!(store.prune_records(5_000).expect("prune").total(), 0);
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.pending_count().expect("pending"), 1);

        store
            .complete_event(waiting, &outcome("evt-waiting", &[]))
            .expect("complete");
        store.prune_dedupe_keys(0).expect("no key is old enough");
        let pruned = store.prune_records(5_000).expect("prune");
        assert_eq!((pruned.processed_events, pruned.failed_events), (1, 1));
        // The failed event's record is gone, its dedupe key is not: still refused, because
        // the watermark says every event below it is settled.
        assert!(matches!(
            store.insert_event(&event("broken")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(
            store.pending_count().expect("pending"),
            0,
            "nothing replayed"
        );
        assert!(matches!(
            store.insert_event(&event("broken")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
    }

    #[test]
    fn retention_keeps_what_a_restart_could_bring_back() {
        use deskbridge_core::review::DraftState;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let seq = new_event(&store, "a");
        let mut done = outcome("evt-a", &[]);
        let sent = DraftState::Sent {
            at_ms: 2_000,
            receipt: None,
            ai_disclosure: false,
            delivery_logged: true,
        };
        done.drafts = vec![
            draft("approved", 1, DraftState::Approved { at_ms: 2_000 }),
            draft("sent", 1, sent),
        ];
        store.complete_event(seq, &done).expect("complete");
        retire_commit_records(&store);
        // The approved draft's reply was dead-lettered; the sent one's was delivered.
        for (id, state) in [
            (
                "approved",
                OutboxState::DeadLettered {
                    reason: "422 from the helpdesk".into(),
                    at_ms: 2_000,
                },
            ),
            (
                "sent",
                OutboxState::Delivered {
                    receipt: None,
                    reconciled: false,
                    at_ms: 2_000,
                },
            ),
        ] {
            let draft = store.draft(id).expect("read").expect("there");
            let reply = OutboxItem::public_reply(&draft, 1_500);
            store.enqueue_outbox(&reply).expect("enqueue");
            let mut ended = reply;
            ended.state = state;
            store.outbox_update(&ended).expect("update");
        }
        // A commit record a failed apply left behind, naming a note and a draft that have
        // ended since (delivered, rejected).
        let mut stuck = outcome("evt-stuck", &["stuck-note"]);
        stuck.drafts = vec![draft(
            "stuck-draft",
            1,
            DraftState::Rejected {
                by: "ana".into(),
                reason: "no".into(),
                at_ms: 2_000,
            },
        )];
        let mut note_delivered = note("stuck-note");
        note_delivered.state = OutboxState::Delivered {
            receipt: None,
            reconciled: false,
            at_ms: 2_000,
        };
        store
            .outbox_done
            .insert("stuck-note", encode(&note_delivered).expect("encode"))
            .expect("insert");
        store
            .drafts
            .insert("stuck-draft", encode(&stuck.drafts[0]).expect("encode"))
            .expect("insert");
        store
            .completions
            .insert(u64::MAX.to_be_bytes(), encode(&stuck).expect("encode"))
            .expect("insert");

        let pruned = store.prune_records(5_000).expect("prune");
        assert_eq!(
            (
                pruned.outbox_delivered,
                pruned.outbox_dead_lettered,
                pruned.closed_drafts
            ),
            (1, 0, 1),
            "only the sent draft and its delivered reply"
        );
        assert!(store.outbox_item("approved.reply").expect("read").is_some());
        assert!(store.outbox_item("sent.reply").expect("read").is_none());
        assert!(store.outbox_item("stuck-note").expect("read").is_some());
        assert!(store.draft("stuck-draft").expect("read").is_some());
        // What the start-up re-queue of approved replies does: refused, nothing to send.
        let approved = store.draft("approved").expect("read").expect("there");
        store
            .enqueue_outbox(&OutboxItem::public_reply(&approved, 6_000))
            .expect("enqueue");
        assert_eq!(store.stats().expect("stats").outbox_pending, 0);

        // Once the commit record is retired, what it named goes too.
        store
            .completions
            .remove(u64::MAX.to_be_bytes())
            .expect("remove");
        let pruned = store.prune_records(5_000).expect("prune");
        assert_eq!((pruned.outbox_delivered, pruned.closed_drafts), (1, 1));
    }

    #[test]
    fn the_summaries_pass_reads_in_arrival_order_and_stops_a_day_past_the_cutoff() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        const CUTOFF: i64 = 10_000;
        let slack = crate::retention::ORDER_SLACK_MS;
        lock(&store.inbox).next_seq = 100; // as if events 0..100 had come and settled
        let summary = |seq: u64, completed_at_ms: i64| {
            let mut processed = outcome(&format!("evt-{seq}"), &[]).processed;
            processed.completed_at_ms = completed_at_ms;
            store
                .processed
                .insert(seq.to_be_bytes(), encode(&processed).expect("encode"))
                .expect("insert");
        };
        // Ended out of order by less than the slack: still found behind a newer one.
        summary(1, 1_000);
        summary(2, CUTOFF + slack);
        summary(3, 2_000);
        // Past the slack the pass stops; what lies behind waits for a later pass.
        summary(4, CUTOFF + slack + 1);
        summary(5, 3_000);
        assert_eq!(
            store.prune_records(CUTOFF).expect("prune").processed_events,
            2
        );
        let left: Vec<String> = store
            .processed_events()
            .expect("list")
            .into_iter()
            .map(|p| p.event_id)
            .collect();
        assert_eq!(left, ["evt-2", "evt-4", "evt-5"]);
        assert_eq!(
            store
                .prune_records(CUTOFF + 2 * slack)
                .expect("later")
                .processed_events,
            3
        );
    }

    #[test]
    fn opening_waits_for_a_lock_released_soon_and_names_a_lock_that_stays_held() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = open_sled(dir.path(), Duration::ZERO).expect("first open");
        let refused = open_sled(dir.path(), Duration::from_millis(50));
        assert!(
            matches!(&refused, Err(StoreError::InUse(d)) if d == &dir.path().display().to_string()),
            "{refused:?}"
        );
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
        });
        open_sled(dir.path(), LOCK_WAIT).expect("opened once the first one let go");
        release.join().expect("joined");
    }

    /// Log segments on disk up to the one taking writes (the spare the checkpointer prepares
    /// ahead is not counted: it comes and goes on its own schedule).
    fn log_segments(store: &SledStore, dir: &Path) -> usize {
        let current = store.log.current_generation();
        std::fs::read_dir(dir.join("inbound"))
            .expect("list")
            .filter(|entry| {
                let name = entry.as_ref().expect("entry").file_name();
                let generation: u64 = name
                    .to_str()
                    .and_then(|n| n.strip_suffix(".log"))
                    .and_then(|n| n.parse().ok())
                    .expect("a segment name");
                generation <= current
            })
            .count()
    }

    #[tokio::test]
    async fn log_segments_are_deleted_once_their_events_are_settled_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open_with_segment_bytes(dir.path(), 1).expect("open");
        let mut seqs = Vec::new();
        for key in ["a", "b", "c"] {
            let Inserted::New(seq) = store.insert_event(&event(key)).expect("insert") else {
                panic!("new");
            };
            store.events_durable().await.expect("durable"); // one full segment each
            seqs.push(seq);
        }
        assert_eq!(log_segments(&store, dir.path()), 4);
        store
            .complete_event(seqs[0], &outcome("evt-a", &[]))
            .expect("complete");
        store
            .complete_event(seqs[2], &outcome("evt-c", &[]))
            .expect("complete");
        // The retiring runs after the flush's waiters are woken: a second flush of the same
        // thread is what guarantees it ran.
        store.durable().await.expect("flush");
        store.durable().await.expect("flush");
        // `a` is settled; `b` is not, so its segment and every later one stay.
        assert_eq!(log_segments(&store, dir.path()), 3);
        drop(store);
        let store = SledStore::open_with_segment_bytes(dir.path(), 1).expect("reopen");
        let pending: Vec<u64> = store
            .pending_events()
            .expect("pending")
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(pending, vec![seqs[1]]);
    }

    #[tokio::test]
    async fn the_checkpointer_retires_settled_segments_and_then_stays_idle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open_with_segment_bytes(dir.path(), 1).expect("open");
        let mut seqs = Vec::new();
        for key in ["a", "b"] {
            let Inserted::New(seq) = store.insert_event(&event(key)).expect("insert") else {
                panic!("new");
            };
            store.events_durable().await.expect("durable");
            seqs.push(seq);
        }
        store
            .complete_event(seqs[1], &outcome("evt-b", &[]))
            .expect("complete");
        store
            .complete_event(seqs[0], &outcome("evt-a", &[]))
            .expect("complete");
        // Nobody asks for durability: the checkpointer flushes and the segments go.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while log_segments(&store, dir.path()) > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "settled segments were never retired"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A segment whose event stays pending: one flush finds nothing to retire, and no
        // further flushes follow until something settles.
        let Inserted::New(_) = store.insert_event(&event("c")).expect("insert") else {
            panic!("new");
        };
        store.events_durable().await.expect("durable");
        tokio::time::sleep(CHECKPOINT_INTERVAL * 5).await;
        let flushes = store.flush_count();
        tokio::time::sleep(CHECKPOINT_INTERVAL * 10).await;
        assert_eq!(
            store.flush_count(),
            flushes,
            "the checkpointer keeps flushing"
        );
        assert_eq!(log_segments(&store, dir.path()), 2);
    }

    #[test]
    fn with_nothing_pending_only_events_seen_so_far_count_as_settled() {
        let mut inbox = Inbox::default();
        inbox.add(StoredEvent {
            seq: 41,
            event: event("a"),
        });
        assert_eq!(inbox.settled_below(), 41);
        inbox.pending.remove(&41);
        // Not "everything": event 42 may be inserted, and its segment sealed, while the flush
        // that took this mark runs.
        assert_eq!(inbox.settled_below(), 42);
    }

    #[test]
    fn events_pending_in_sled_move_to_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stored = StoredEvent {
            seq: 7,
            event: event("a"),
        };
        {
            // A store written before the inbound log kept pending events in this tree.
            let db = sled::open(dir.path()).expect("sled");
            db.open_tree("events_pending")
                .expect("tree")
                .insert(7u64.to_be_bytes(), encode(&stored).expect("encode"))
                .expect("insert");
            db.flush().expect("flush");
        }
        {
            let store = SledStore::open(dir.path()).expect("open");
            assert_eq!(
                store.pending_events().expect("pending"),
                vec![stored.clone()]
            );
            let legacy = store.db.open_tree("events_pending").expect("tree");
            assert!(legacy.is_empty());
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.pending_events().expect("pending"), vec![stored]);
        assert!(matches!(
            store.insert_event(&event("a")).expect("insert"),
            Inserted::Duplicate { .. }
        ));
    }

    #[test]
    fn a_damaged_record_is_left_out_of_listings_and_counted_once() {
        use deskbridge_core::review::DraftState;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let garbage: &[u8] = b"{\"id\": \"half a rec";
        let good = draft("good", 10, DraftState::Pending);
        store
            .drafts
            .insert("good", encode(&good).expect("encode"))
            .expect("insert");
        store.drafts.insert("broken", garbage).expect("insert");
        store
            .outbox
            .insert("n-good", encode(&note("n-good")).expect("encode"))
            .expect("insert");
        store.outbox.insert("n-broken", garbage).expect("insert");
        let token = |id: &str| TokenRecord {
            id: id.into(),
            person: "Ann".into(),
            roles: Vec::new(),
            created_at_ms: 1,
            revoked_at_ms: None,
        };
        // Keys sort the damaged token first, so revoking walks past it.
        store.tokens.insert("a-broken", garbage).expect("insert");
        store
            .tokens
            .insert("b-good", encode(&token("tok-good")).expect("encode"))
            .expect("insert");

        assert_eq!(store.pending_drafts().expect("drafts"), vec![good]);
        assert_eq!(
            store.open_drafts_created_before(100).expect("due"),
            vec!["good".to_owned()]
        );
        let pending: Vec<String> = store
            .outbox_pending()
            .expect("outbox")
            .into_iter()
            .map(|item| item.id)
            .collect();
        assert_eq!(pending, vec!["n-good".to_owned()]);
        assert_eq!(store.tokens().expect("tokens").len(), 1);
        assert!(store.revoke_token("tok-good", 5).expect("revoke"));
        // Three damaged records, each counted once however often listings meet them.
        assert_eq!(store.stats().expect("stats").damaged_records, 3);
        store.pending_drafts().expect("drafts again");
        assert_eq!(store.stats().expect("stats").damaged_records, 3);
    }

    #[test]
    fn a_damaged_pause_fails_the_listing_so_the_stop_switch_fails_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        store
            .pauses
            .insert("all", b"{\"scope\": ".as_slice())
            .expect("insert");
        let err = store.pauses().expect_err("a damaged pause is an error");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }
}
