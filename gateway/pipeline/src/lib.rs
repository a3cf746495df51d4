//! Deskbridge's pipeline: what happens between a webhook's `2xx` and a note on the ticket.
//!
//! - [`Ingest`] stores an inbound event, waits until it is durable (group commit), and only
//!   then hands it to the workers and lets the HTTP layer answer `2xx`.
//! - Workers ([`lanes`]) run in lanes: every ticket hashes to one lane, so events of one
//!   ticket are processed in order while different tickets proceed in parallel. A worker
//!   fetches the ticket from the helpdesk, runs the subscribed plugins, has policy plugins
//!   review each draft, and records everything the event produced in one atomic write
//!   ([`process`]).
//! - [`expiry`] expires drafts nobody decided in time (never sending them), and the stop
//!   switch ([`PipelineSettings::switch`]) keeps paused plugins from running at all.
//! - [`housekeeping`] drops old dedupe keys and deletes records past their retention.
//! - The [`outbox`] delivers notes, tags and priorities to each helpdesk: rate-limited,
//!   retried with backoff and jitter, dead-lettered after a horizon, and idempotent through
//!   a marker read back after any attempt whose outcome is unknown.
//!
//! Failure is closed (invariant 2): a plugin that fails produces nothing and flags the
//! ticket; a policy plugin that fails drops the draft it was reviewing. Nothing here can send
//! a public reply: drafts are stored for the approval queue only.

mod backoff;
mod expiry;
#[cfg(test)]
mod fixtures;
mod helpdesk;
mod housekeeping;
mod ingest;
pub mod journal;
mod lanes;
mod metrics;
mod outbox;
mod process;
mod replies;

use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::DraftingSwitch;
use deskbridge_store::{Store, StoreError};
use tokio::sync::Notify;

pub use helpdesk::{HelpdeskRuntime, Helpdesks};
pub use replies::claims;
pub use ingest::{Accepted, Ingest, IngestError};
pub use metrics::{MetricsSnapshot, Percentiles, PipelineMetrics};

/// Tunables of the pipeline and the outbox.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Worker lanes (parallel tickets).
    pub workers: usize,
    /// First retry delay after a failed helpdesk call.
    pub base_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// How long an outbox item is retried before it is dead-lettered.
    pub outbox_give_up_after: Duration,
    /// How long an event whose ticket cannot be fetched is retried before it is given up.
    pub event_give_up_after: Duration,
    /// How long dedupe keys are kept.
    pub dedupe_retention: Duration,
    /// How long records whose story ended are kept (`None`: for ever); see
    /// [`Store::prune_records`].
    pub record_retention: Option<Duration>,
    /// How often old dedupe keys and records are looked for.
    pub housekeeping_interval: Duration,
    /// The approval log: drafts created, expired and delivered are recorded in it.
    pub audit: Option<Arc<deskbridge_audit::AuditLog>>,
    /// The stop switch: paused scopes run no plugins.
    pub switch: DraftingSwitch,
    /// An open draft older than this expires (never sent).
    pub draft_expiry: Duration,
    /// How often expired drafts are looked for.
    pub expiry_sweep_interval: Duration,
    /// Acknowledged events waiting for processing beyond which ingest refuses new ones
    /// ([`IngestError::Backlogged`]): they are held in memory until processed.
    pub max_pending_events: usize,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            workers: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            outbox_give_up_after: Duration::from_secs(24 * 3600),
            event_give_up_after: Duration::from_secs(3600),
            dedupe_retention: Duration::from_secs(7 * 24 * 3600),
            record_retention: Some(Duration::from_secs(90 * 24 * 3600)),
            housekeeping_interval: Duration::from_secs(3600),
            audit: None,
            switch: DraftingSwitch::default(),
            draft_expiry: Duration::from_secs(3 * 24 * 3600),
            expiry_sweep_interval: Duration::from_secs(60),
            max_pending_events: 100_000,
        }
    }
}

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The running pipeline. Dropping it does not stop the tasks; they end with the runtime.
#[derive(Clone)]
pub struct Pipeline {
    ingest: Ingest,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Starts workers and outbox deliverers on the current tokio runtime, resubmits every
    /// event acknowledged before a restart, and returns the handle the HTTP layer ingests
    /// through.
    pub fn start(
        store: Arc<dyn Store>,
        helpdesks: Helpdesks,
        settings: PipelineSettings,
    ) -> Result<Pipeline, PipelineError> {
        let helpdesks = Arc::new(helpdesks);
        let settings = Arc::new(settings);
        let outbox_wake = Arc::new(Notify::new());
        let metrics = Arc::new(PipelineMetrics::default());
        let lanes = lanes::Lanes::start(
            store.clone(),
            helpdesks.clone(),
            settings.clone(),
            outbox_wake.clone(),
            metrics.clone(),
        );
        let backlog = store.pending_events()?;
        if !backlog.is_empty() {
            tracing::info!(
                events = backlog.len(),
                "resuming events acknowledged before the restart"
            );
        }
        for event in backlog {
            lanes.submit(event);
        }
        // What a crash cut short between an approval and the log's record of its delivery:
        // a reply item kept from the outbox is queued (same id), a delivered reply's draft is
        // marked sent, and a delivery missing from the approval log is recorded.
        let reconciled = replies::reconcile(&store, settings.audit.as_deref())?;
        if reconciled != replies::Reconciled::default() {
            tracing::info!(
                queued = reconciled.queued,
                finished = reconciled.finished,
                logged = reconciled.logged,
                "reconciled approved replies after a restart"
            );
        }
        outbox::start(store.clone(), helpdesks, settings.clone(), outbox_wake);
        expiry::start(store.clone(), settings.clone());
        housekeeping::start(store.clone(), &settings);
        Ok(Pipeline {
            ingest: Ingest::new(store, lanes, metrics, settings.max_pending_events),
        })
    }

    /// The ingest handle.
    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }
}

/// Decisions about drafts are taken one at a time in a process (API decisions, expiry), each
/// recorded in the approval log before the store's compare-and-swap makes it take effect; this
/// lock keeps a logged decision from losing that swap to another writer in the same process.
pub static DRAFT_DECISIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The gateway's id for an inbound event: a hash of the helpdesk and the dedupe key, so a
/// redelivery maps to the same id.
pub fn event_id(helpdesk: &str, dedupe_key: &str) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(helpdesk.as_bytes());
    hasher.update([0]);
    hasher.update(dedupe_key.as_bytes());
    let digest = hasher.finalize();
    format!("evt_{}", hex::encode(&digest[..10]))
}

#[cfg(test)]
mod tests {
    use deskbridge_core::review::{DraftState, Review};
    use deskbridge_store::{
        DraftProvenance, EventOutcome, Inserted, PendingDraft, ProcessedEvent, SledStore,
    };

    use super::*;

    fn draft(id: &str, state: DraftState) -> PendingDraft {
        PendingDraft {
            id: id.into(),
            helpdesk: "gone".into(),
            ticket_id: "42".into(),
            body: "Hello".into(),
            rationale: String::new(),
            confidence: 0.5,
            provenance: DraftProvenance {
                plugin_id: "suggest-reply".into(),
                plugin_version: "0.1.0".into(),
                wasm_sha256: "00".into(),
                provider: None,
                model: None,
                event_id: "evt-1".into(),
                redaction: Default::default(),
            },
            requirement: deskbridge_core::ApprovalRequirement::BASELINE,
            blocked: None,
            flags: Vec::new(),
            created_at_ms: 1,
            ai_disclosure: None,
            context: None,
            notes: Vec::new(),
            suggestions: Vec::new(),
            review: Review {
                state,
                ..Review::default()
            },
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_approved_draft_whose_reply_a_crash_kept_from_the_outbox_gets_it_at_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
        let event = fixtures::unconfigured_delivery();
        let Inserted::New(seq) = store.insert_event(&event).expect("insert") else {
            panic!("a new event");
        };
        // The store as a crash after the approval and before its outbox item leaves it.
        let outcome = EventOutcome {
            processed: ProcessedEvent {
                event_id: event.id.clone(),
                helpdesk: event.helpdesk.clone(),
                ticket_id: event.ticket_id.clone(),
                kind: None,
                completed_at_ms: 2,
                plugin_runs: Vec::new(),
                handover: None,
                handover_by: None,
                skipped: None,
                flagged: false,
                ai_us: 0,
                truncated: Vec::new(),
                suggestions: Vec::new(),
            },
            outbox: Vec::new(),
            drafts: vec![
                draft("approved", DraftState::Approved { at_ms: 2 }),
                draft("open", DraftState::Pending),
            ],
            last_message_id: None,
        };
        store.complete_event(seq, &outcome).expect("complete");
        Pipeline::start(store.clone(), Helpdesks::new(), PipelineSettings::default())
            .expect("start");
        assert!(
            store.outbox_item("approved.reply").expect("read").is_some(),
            "the approved draft's reply is queued (whatever became of it since)"
        );
        assert!(store.outbox_item("open.reply").expect("read").is_none());
    }
}
