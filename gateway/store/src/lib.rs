//! Deskbridge's durable store.
//!
//! Everything the gateway must not lose lives behind the [`Store`] trait: inbound events from
//! the moment they are acknowledged until their outputs are recorded, the outbox of writes to
//! helpdesks, pending drafts, and the plugins' key-value data. [`SledStore`] is the embedded
//! default; a PostgreSQL backend (planned, not written yet) will implement the same trait.
//!
//! Durability is explicit: writes return once they are in the store's memory, and
//! [`Store::durable`] resolves once everything written before the call is on disk
//! ([`Store::events_durable`]: every event inserted before the call). Concurrent callers share
//! one flush (group commit), so waiting for durability does not serialize the webhooks that
//! wait for it.

mod completion;
mod counts;
mod dedupe;
#[cfg(test)]
mod fixtures;
mod group_commit;
mod inbound_log;
mod key_filter;
mod kv;
pub mod mail;
mod mail_trees;
mod private_files;
pub mod records;
mod retention;
mod sled_store;
mod spend;
pub mod tally;
mod tally_tree;

use std::future::Future;
use std::pin::Pin;

use thiserror::Error;

pub use records::{
    DeadLetter, DraftHead, DraftProvenance, DraftReview, EventOutcome, EventSource, FailedEvent,
    InboundEvent, OutboxItem, OutboxOp, OutboxState, PendingDraft, PluginRun, ProcessedEvent,
    StoredEvent, TokenRecord,
};
pub use retention::PrunedRecords;
pub use sled_store::SledStore;

/// A boxed future, as returned by [`Store::durable`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The backing database failed.
    #[error("store backend error: {0}")]
    Backend(String),
    /// A stored record could not be decoded (a bug or a damaged store).
    #[error("stored record {key} is damaged: {reason}")]
    Corrupt {
        /// Which record.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The record to update does not exist.
    #[error("no {what} with id {id}")]
    NotFound {
        /// The kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Another process holds the data directory's lock.
    #[error(
        "the data directory {0} is in use by another process (is another deskbridge running on it?)"
    )]
    InUse(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
}

/// Record counts, for `/api/v1/status` and operators.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StoreStats {
    /// Events acknowledged and not yet processed.
    pub pending_events: usize,
    /// Events processed.
    pub processed_events: usize,
    /// Events given up on.
    pub failed_events: usize,
    /// Outbox items waiting for delivery.
    pub outbox_pending: usize,
    /// Outbox items delivered.
    pub outbox_delivered: usize,
    /// Outbox items dead-lettered.
    pub outbox_dead_lettered: usize,
    /// Outbox items (approved replies) an admin cancelled before delivery.
    pub outbox_cancelled: usize,
    /// Drafts waiting for a human (pending or escalated).
    pub pending_drafts: usize,
    /// Flushes to disk so far.
    pub flushes: u64,
    /// Records found damaged (not decodable) since the store opened. Listings leave them out
    /// and log each once with its key; anything above zero needs an operator.
    pub damaged_records: usize,
}

/// What [`Store::insert_event`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new event, stored under this sequence number.
    New(u64),
    /// The dedupe key was seen before, for the event with this id.
    Duplicate {
        /// The id of the first event with the same key.
        first_event_id: String,
    },
}

/// The gateway's durable state. Implementations must make every method atomic: after a crash
/// and reopening, either all or none of one call's writes are visible (a backend may get there
/// by recovery at open rather than by a transaction).
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Stores an inbound event unless its dedupe key is known. Not yet durable.
    fn insert_event(&self, event: &InboundEvent) -> Result<Inserted, StoreError>;

    /// Resolves once every event inserted before this call is on disk: what an
    /// acknowledgement waits for. A backend may make this cheaper than [`Store::durable`].
    fn events_durable(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.durable()
    }

    /// Resolves once everything written before this call is on disk.
    fn durable(&self) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Events acknowledged but not yet completed, oldest first.
    fn pending_events(&self) -> Result<Vec<StoredEvent>, StoreError>;

    /// How many events are acknowledged but not yet completed; asked on every webhook, so a
    /// backend should answer without reading the events.
    fn pending_count(&self) -> Result<usize, StoreError> {
        Ok(self.pending_events()?.len())
    }

    /// Atomically records what processing an event produced (outbox items, drafts) and removes
    /// it from the pending events. Completing an event twice is a no-op the second time.
    fn complete_event(&self, seq: u64, outcome: &EventOutcome) -> Result<(), StoreError>;

    /// The newest message id recorded by [`Store::complete_event`] for a ticket.
    fn last_message_id(
        &self,
        helpdesk: &str,
        ticket_id: &str,
    ) -> Result<Option<String>, StoreError>;

    /// Gives up on an event (for example the helpdesk kept refusing to show the ticket):
    /// removes it from the pending events and keeps it, with the reason, for operators.
    fn fail_event(&self, seq: u64, reason: &str, at_ms: i64) -> Result<(), StoreError>;

    /// Outbox items not yet delivered or dead-lettered.
    fn outbox_pending(&self) -> Result<Vec<OutboxItem>, StoreError>;

    /// Saves an outbox item's new state. A delivered, dead-lettered or cancelled item leaves
    /// the pending outbox in the same write.
    fn outbox_update(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// An outbox item by id, in whatever state it is.
    fn outbox_item(&self, id: &str) -> Result<Option<OutboxItem>, StoreError>;

    /// Dead-lettered outbox items, oldest first.
    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>;

    /// An operator's answer to dead letter `id`: `retry` puts it back in the pending outbox
    /// (attempts from zero, due at `now_ms`; `maybe_applied` kept, so a write that may have
    /// reached the helpdesk is read back before it is tried again); otherwise it is cancelled
    /// and never tried again. Returns the item as stored; `NotFound` when `id` is not a dead
    /// letter (any more). Durable on return.
    fn settle_dead_letter(
        &self,
        id: &str,
        retry: bool,
        now_ms: i64,
    ) -> Result<OutboxItem, StoreError>;

    /// Events processed so far, oldest first.
    fn processed_events(&self) -> Result<Vec<ProcessedEvent>, StoreError>;

    /// Events given up on, oldest first.
    fn failed_events(&self) -> Result<Vec<FailedEvent>, StoreError>;

    /// Every draft (whatever its review state), oldest first.
    fn pending_drafts(&self) -> Result<Vec<PendingDraft>, StoreError>;

    /// Every draft's head, in no particular order: what listings filter and page by. Backends
    /// should answer without decoding whole drafts (each holds its ticket); this default does
    /// not.
    fn draft_heads(&self) -> Result<Vec<DraftHead>, StoreError> {
        Ok(self.pending_drafts()?.iter().map(DraftHead::of).collect())
    }

    /// Every draft's provenance and review, in no particular order: what insights are
    /// computed from. Backends should answer without decoding the drafts' texts and tickets;
    /// this default does not.
    fn draft_reviews(&self) -> Result<Vec<DraftReview>, StoreError> {
        Ok(self.pending_drafts()?.iter().map(DraftReview::of).collect())
    }

    /// The running tallies insights read (`tally.rs`): one row per UTC day, helpdesk, plugin
    /// version, provider and model, by creation and by decision day, in no particular order.
    /// Backends keep them as they write drafts and processed events; this default sums them
    /// from every record on each call.
    fn tallies(&self) -> Result<Vec<(tally::TallyKey, tally::Tally)>, StoreError> {
        Ok(tally::tallies_of(
            &self.draft_reviews()?,
            &self.processed_events()?,
        ))
    }

    /// Ids of the drafts still open for decisions (pending or escalated) that were created
    /// before `cutoff_ms`: what an expiry sweep must look at.
    fn open_drafts_created_before(&self, cutoff_ms: i64) -> Result<Vec<String>, StoreError> {
        Ok(self
            .draft_heads()?
            .into_iter()
            .filter(|d| d.state.is_open() && d.created_at_ms < cutoff_ms)
            .map(|d| d.id)
            .collect())
    }

    /// One draft by id.
    fn draft(&self, id: &str) -> Result<Option<PendingDraft>, StoreError>;

    /// Queues an outbox item unless one with its id exists in any state. Not yet durable (the
    /// outbox flushes before it sends).
    fn enqueue_outbox(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// Replaces a draft if its stored review version is still `expected_version`; `false`
    /// (and no write) if someone else changed it first. Durable on return.
    fn update_draft(&self, expected_version: u64, draft: &PendingDraft)
    -> Result<bool, StoreError>;

    /// Forgets dedupe keys first seen before `before_ms` (Unix milliseconds); returns how
    /// many. Helpdesks redeliver within hours, so keys older than the retention are dead weight.
    /// The key of an event still pending stays until the event is completed or failed; an
    /// event's processed summary stays whether or not its key does.
    fn prune_dedupe_keys(&self, before_ms: i64) -> Result<usize, StoreError>;

    /// Deletes records whose story ended before `ended_before_ms` (`[retention]
    /// records_days`): processed and failed event summaries, delivered and dead-lettered
    /// outbox items, and sent, rejected or expired drafts. Never open or approved drafts,
    /// pending outbox items, cursors, tokens or pauses. A scan: run it off the request path.
    fn prune_records(&self, ended_before_ms: i64) -> Result<PrunedRecords, StoreError>;

    /// How many records of each kind the store holds. Every `GET /api/v1/status` calls it:
    /// keep counts as records are written rather than counting on each call.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// How many flushes to disk the store has made (group commit shares one between many
    /// writers; benchmarks report the ratio).
    fn flush_count(&self) -> u64;

    /// Stores a new API token under the SHA-256 (hex) of its secret. Durable on return.
    fn insert_token(&self, token_sha256: &str, record: &TokenRecord) -> Result<(), StoreError>;

    /// The token whose secret hashes to `token_sha256`, revoked or not.
    fn token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Revokes the token with public id `id`; `false` if there is none. Durable on return.
    fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool, StoreError>;

    /// The stop-switch pauses in force.
    fn pauses(&self) -> Result<Vec<deskbridge_core::Pause>, StoreError>;

    /// Stores a pause (replacing one of the same scope). Durable on return.
    fn set_pause(&self, pause: &deskbridge_core::Pause) -> Result<(), StoreError>;

    /// Removes the pause of `scope`; `false` if there was none. Durable on return.
    fn lift_pause(&self, scope: &deskbridge_core::PauseScope) -> Result<bool, StoreError>;

    /// Files one inbound mail of email helpdesk `helpdesk` (`mail.rs`) in one atomic write:
    /// the raw message, `message` in the thread `hint` finds — else, when `may_open`, in a new
    /// ticket (else in none) —, the indexes, and the mailbox cursor. Recording a message id
    /// again changes nothing but the cursor and answers `duplicate` with its ticket. Not yet
    /// durable (call [`Store::durable`] before telling the mail server).
    fn record_mail(
        &self,
        helpdesk: &str,
        message: &mail::MailMessage,
        raw: &[u8],
        hint: &mail::ThreadHint,
        may_open: bool,
        cursor: mail::MailCursor,
    ) -> Result<mail::MailRecorded, StoreError>;

    /// Adds a message the gateway wrote (a sent reply, a note) to an email ticket; `false`
    /// when its id is recorded already. `NotFound` without the ticket. Durable on return.
    fn add_mail_message(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        message: &mail::MailMessage,
    ) -> Result<bool, StoreError>;

    /// Records what became of the pending reply `message_id` of an email ticket (`mail.rs`):
    /// sent, tried again, or withdrawn (it leaves the thread and its index); whether one was
    /// pending. Durable on return.
    fn update_pending_mail(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        message_id: &str,
        change: mail::PendingChange,
    ) -> Result<bool, StoreError>;

    /// Adds tags to an email ticket; whether any was new. `NotFound` without the ticket.
    /// Durable on return.
    fn add_mail_tags(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        tags: &[String],
    ) -> Result<bool, StoreError>;

    /// An email ticket with its messages.
    fn mail_thread(
        &self,
        helpdesk: &str,
        ticket_id: &str,
    ) -> Result<Option<mail::MailThread>, StoreError>;

    /// The ticket a message id is filed under; `Some("")` for one recorded in no ticket.
    fn mail_ticket_of(
        &self,
        helpdesk: &str,
        message_id: &str,
    ) -> Result<Option<String>, StoreError>;

    /// A recorded message's raw bytes.
    fn raw_mail(&self, helpdesk: &str, message_id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// The secret key email helpdesk `helpdesk` makes its replies' `Message-ID`s with (32
    /// random bytes, made on first use and kept): an id nobody can guess before the reply is
    /// sent, so nobody can file mail under it first. Durable on return.
    fn mail_reply_key(&self, helpdesk: &str) -> Result<[u8; 32], StoreError>;

    /// Notes that the event of recorded message `message_id` was made (durable in the
    /// pipeline): a later reading of the same message makes none. Not yet durable (call
    /// [`Store::durable`] before telling the mail server).
    fn mark_mail_event(&self, helpdesk: &str, message_id: &str) -> Result<(), StoreError>;

    /// How far helpdesk `helpdesk`'s mailbox has been read.
    fn mail_cursor(&self, helpdesk: &str) -> Result<Option<mail::MailCursor>, StoreError>;

    /// Moves the mailbox cursor on without a message (one skipped unread, e.g. too large).
    fn set_mail_cursor(&self, helpdesk: &str, cursor: mail::MailCursor) -> Result<(), StoreError>;

    /// The plugin key-value store backed by this store.
    fn plugin_kv(&self) -> std::sync::Arc<dyn deskbridge_plugin_host::KvStore>;

    /// The AI budget counters backed by this store.
    fn ai_spend(&self) -> std::sync::Arc<dyn deskbridge_providers::budget::SpendStore>;
}
