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
//!   a marker read back after any attempt whose outcome is unknown. It also delivers the
//!   replies of approved drafts — only as the delivery gate's `ApprovedReply`, made from the
//!   store right before each send (`replies.rs`), held while the stop switch pauses their
//!   scope, each send announced in the approval log before it happens.
//!
//! Failure is closed (invariant 2): a plugin that fails produces nothing and flags the
//! ticket; a policy plugin that fails drops the draft it was reviewing. Plugins' drafts are
//! stored for the approval queue only; the one way out to a customer is the outbox's reply
//! item, which names a draft (never a text) and passes the gate at send time.

mod backoff;
mod decisions;
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
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::DraftingSwitch;
use deskbridge_store::{Store, StoreError};
use tokio::sync::Notify;

pub use decisions::{DecisionError, DecisionService};
pub use helpdesk::{HelpdeskRuntime, Helpdesks};
pub use ingest::{Accepted, Ingest, IngestError};
pub use metrics::{MetricsSnapshot, Percentiles, PipelineMetrics};
pub use replies::claims;

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
    decisions: Arc<DecisionService>,
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
        let decisions = Arc::new(DecisionService::new(
            store.clone(),
            settings.audit.clone(),
            settings.switch.clone(),
            settings.draft_expiry,
            outbox_wake.clone(),
        ));
        outbox::start(store.clone(), helpdesks, settings.clone(), outbox_wake);
        expiry::start(decisions.clone(), settings.expiry_sweep_interval);
        housekeeping::start(store.clone(), &settings);
        Ok(Pipeline {
            ingest: Ingest::new(store, lanes, metrics, settings.max_pending_events),
            decisions,
        })
    }

    /// The decision service: the one place drafts are decided, cancelled and expired.
    pub fn decisions(&self) -> &Arc<DecisionService> {
        &self.decisions
    }

    /// The ingest handle.
    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }
}

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
        DraftProvenance, EventOutcome, Inserted, OutboxItem, PendingDraft, ProcessedEvent,
        SledStore,
    };

    use crate::journal::DeliveredReply;

    use super::*;

    pub(crate) fn draft(id: &str, state: DraftState) -> PendingDraft {
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
                sources: Vec::new(),
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

    /// A store holding `drafts`, as a crash left it.
    pub(crate) fn store_with(dir: &std::path::Path, drafts: Vec<PendingDraft>) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir).expect("open"));
        let event = fixtures::unconfigured_delivery();
        let Inserted::New(seq) = store.insert_event(&event).expect("insert") else {
            panic!("a new event");
        };
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
                ai_flags: Vec::new(),
            },
            outbox: Vec::new(),
            drafts,
            last_message_id: None,
        };
        store.complete_event(seq, &outcome).expect("complete");
        store
    }

    fn audit_log(dir: &std::path::Path) -> Arc<deskbridge_audit::AuditLog> {
        Arc::new(
            deskbridge_audit::AuditLog::open(dir, deskbridge_audit::AuditConfig::default())
                .expect("log"),
        )
    }

    fn with_audit(audit: &Arc<deskbridge_audit::AuditLog>) -> PipelineSettings {
        PipelineSettings {
            audit: Some(audit.clone()),
            ..PipelineSettings::default()
        }
    }

    fn sent(delivery_logged: bool) -> DraftState {
        DraftState::Sent {
            at_ms: 3,
            receipt: Some("c-1".into()),
            ai_disclosure: false,
            delivery_logged,
        }
    }

    fn approved_by_ann(mut draft: PendingDraft) -> PendingDraft {
        draft
            .review
            .approvals
            .push(deskbridge_core::ApprovalRecord {
                draft_id: draft.id.clone(),
                approver: "Ann Agent".into(),
                role: deskbridge_core::ApproverRole::Agent,
                text_sha256: deskbridge_core::text_sha256(&draft.body),
                token_id: Some("tok_1".into()),
            });
        draft
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_approved_draft_whose_reply_a_crash_kept_from_the_outbox_gets_it_at_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(
            dir.path(),
            vec![
                draft("approved", DraftState::Approved { at_ms: 2 }),
                draft("open", DraftState::Pending),
            ],
        );
        Pipeline::start(store.clone(), Helpdesks::new(), PipelineSettings::default())
            .expect("start");
        assert!(
            store.outbox_item("approved.reply").expect("read").is_some(),
            "the approved draft's reply is queued (whatever became of it since)"
        );
        assert!(store.outbox_item("open.reply").expect("read").is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reply_delivered_before_a_crash_is_marked_sent_and_logged_once_at_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let approved = approved_by_ann(draft("approved", DraftState::Approved { at_ms: 2 }));
        let store = store_with(&dir.path().join("store"), vec![approved.clone()]);
        // The crash fell after the outbox recorded the delivery, before the draft and the
        // log heard of it.
        let mut item = OutboxItem::public_reply(&approved, 2);
        store.enqueue_outbox(&item).expect("queue");
        item.state = deskbridge_store::OutboxState::Delivered {
            receipt: Some("c-1".into()),
            at_ms: 3,
            reconciled: false,
        };
        store.outbox_update(&item).expect("deliver");
        let audit = audit_log(&dir.path().join("audit"));
        Pipeline::start(store.clone(), Helpdesks::new(), with_audit(&audit)).expect("start");
        let entries = audit.entries_of_kind("reply.delivered").expect("read");
        assert_eq!(entries.len(), 1);
        let data = &entries[0].data;
        assert_eq!(data["draft_id"], "approved");
        assert_eq!(data["reconciled"], true);
        assert_eq!(data["receipt"], "c-1");
        assert_eq!(data["approvers"], 1);
        assert_eq!(
            data["sent_sha256"],
            deskbridge_core::text_sha256(&approved.body).as_str()
        );
        let state = store
            .draft("approved")
            .expect("read")
            .expect("draft")
            .review
            .state;
        assert!(
            matches!(
                state,
                DraftState::Sent {
                    delivery_logged: true,
                    ..
                }
            ),
            "{state:?}"
        );
        // A second start finds nothing to do.
        Pipeline::start(store.clone(), Helpdesks::new(), with_audit(&audit)).expect("again");
        assert_eq!(
            audit
                .entries_of_kind("reply.delivered")
                .expect("read")
                .len(),
            1
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sent_draft_whose_delivery_the_log_missed_gets_its_entry_and_never_two() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(
            &dir.path().join("store"),
            vec![
                approved_by_ann(draft("unlogged", sent(false))),
                approved_by_ann(draft("logged-then-crash", sent(false))),
                approved_by_ann(draft("done", sent(true))),
            ],
        );
        let audit = audit_log(&dir.path().join("audit"));
        // The crash fell between this delivery's entry and the note that it was written.
        let logged = DeliveredReply::of_draft(
            &store
                .draft("logged-then-crash")
                .expect("read")
                .expect("draft"),
        );
        audit
            .append_durable(journal::reply_delivered(&logged, None, false, false, 3))
            .expect("append");
        Pipeline::start(store.clone(), Helpdesks::new(), with_audit(&audit)).expect("start");
        let ids: Vec<String> = audit
            .entries_of_kind("reply.delivered")
            .expect("read")
            .iter()
            .map(|e| e.data["draft_id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, ["logged-then-crash", "unlogged"]);
        for id in ["unlogged", "logged-then-crash", "done"] {
            let state = store.draft(id).expect("read").expect("draft").review.state;
            assert_eq!(state, sent(true), "{id}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_running_gateway_logs_a_delivery_its_log_missed_without_waiting_for_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(
            &dir.path().join("store"),
            vec![approved_by_ann(draft("sent-later", DraftState::Pending))],
        );
        let audit = audit_log(&dir.path().join("audit"));
        let settings = PipelineSettings {
            housekeeping_interval: Duration::from_millis(50),
            ..with_audit(&audit)
        };
        let _pipeline = Pipeline::start(store.clone(), Helpdesks::new(), settings).expect("start");
        // While it runs, a reply goes out and the log refuses its entry (say, a full disk for
        // a moment): the draft is sent, its delivery not yet logged.
        let mut delivered = store.draft("sent-later").expect("read").expect("draft");
        let version = delivered.review.version;
        delivered.review.state = sent(false);
        delivered.review.version += 1;
        assert!(store.update_draft(version, &delivered).expect("update"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store
            .draft("sent-later")
            .expect("read")
            .is_some_and(|d| d.review.state != sent(true))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "housekeeping never logged the delivery"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let entries = audit.entries_of_kind("reply.delivered").expect("read");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].data["reconciled"], true);
    }
}
