//! Durable ingest: store, queue for the workers, wait for the disk. The HTTP layer answers
//! `2xx` only after [`Ingest::accept`] returns `Ok` (invariant 3).
//!
//! Acknowledged events wait in memory until processed, so their number is bounded: past
//! `max_pending_events` new deliveries are refused ([`IngestError::Backlogged`], a `503` with
//! `Retry-After` at the HTTP layer) and the helpdesk delivers them again later.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use deskbridge_store::{InboundEvent, Inserted, Store, StoreError, StoredEvent};

use crate::lanes::Lanes;
use crate::metrics::PipelineMetrics;

/// What [`Ingest::accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A new event, durable and queued.
    New {
        /// Its id.
        event_id: String,
    },
    /// A redelivery of an event already accepted.
    Duplicate {
        /// The id of the first delivery.
        event_id: String,
    },
}

/// Why [`Ingest::accept`] did not take an event.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Too many acknowledged events wait for processing; nothing was stored.
    #[error("{pending} acknowledged events wait for processing (the limit is {limit})")]
    Backlogged {
        /// Events waiting.
        pending: usize,
        /// `max_pending_events`.
        limit: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The ingest handle, cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    store: Arc<dyn Store>,
    lanes: Lanes,
    metrics: Arc<PipelineMetrics>,
    order: Arc<std::sync::Mutex<()>>,
    max_pending: usize,
    /// Whether the last delivery was refused for the backlog: the log says so once when
    /// refusing starts and once when it ends, not for every refused webhook.
    refusing: Arc<AtomicBool>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").finish_non_exhaustive()
    }
}

impl Ingest {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        lanes: Lanes,
        metrics: Arc<PipelineMetrics>,
        max_pending: usize,
    ) -> Ingest {
        Ingest {
            store,
            lanes,
            metrics,
            order: Arc::default(),
            max_pending,
            refusing: Arc::default(),
        }
    }

    /// The pipeline's latency recorder.
    pub fn metrics(&self) -> &PipelineMetrics {
        &self.metrics
    }

    /// Stores `event` durably (unless it is a redelivery) and queues it for processing.
    ///
    /// The event is queued as soon as it is stored, before the flush: in insert order (one
    /// lock around insert and enqueue, so two deliveries for one ticket cannot swap), and even
    /// if the caller goes away or the flush fails, so a stored event is never left behind
    /// until a restart. Processing it early is safe: nothing reaches a helpdesk before the
    /// outbox's own flush, which makes this insert durable first. (Waking the lane only once
    /// the flush returned, once per group commit instead of once per event, saved pipeline
    /// CPU without plugins but put the flush's latency into every event's: BENCHMARKS.md.)
    ///
    /// With `max_pending_events` or more events waiting, nothing is stored and the answer is
    /// [`IngestError::Backlogged`] — for a redelivery too, which is answered once the backlog
    /// is below the limit.
    pub async fn accept(&self, event: InboundEvent) -> Result<Accepted, IngestError> {
        let event_id = event.id.clone();
        let inserted = {
            let _in_order = self.order.lock().unwrap_or_else(|e| e.into_inner());
            let pending = self.store.pending_count()?;
            if pending >= self.max_pending {
                if !self.refusing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        pending,
                        limit = self.max_pending,
                        "the pipeline is behind: refusing webhooks (503) until fewer events wait"
                    );
                }
                return Err(IngestError::Backlogged {
                    pending,
                    limit: self.max_pending,
                });
            }
            if self.refusing.swap(false, Ordering::Relaxed) {
                tracing::info!(
                    pending,
                    "the backlog is below the limit: taking webhooks again"
                );
            }
            let inserted = self.store.insert_event(&event)?;
            if let Inserted::New(seq) = inserted {
                // The lane takes this copy; the store keeps its own.
                self.lanes
                    .submit_acknowledged(StoredEvent { seq, event }, Instant::now());
            }
            inserted
        };
        // A duplicate waits too: its first delivery may still be on its way to the disk.
        self.store.events_durable().await?;
        Ok(match inserted {
            Inserted::New(_) => Accepted::New { event_id },
            Inserted::Duplicate { first_event_id } => Accepted::Duplicate {
                event_id: first_event_id,
            },
        })
    }

    /// The store behind the pipeline.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use deskbridge_store::SledStore;
    use futures_util::FutureExt as _;

    use super::*;
    use crate::fixtures::unconfigured_delivery;
    use crate::{Helpdesks, Pipeline, PipelineSettings};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_event_whose_request_goes_away_while_it_waits_for_the_disk_is_still_processed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
        let pipeline =
            Pipeline::start(store.clone(), Helpdesks::new(), PipelineSettings::default())
                .expect("start");
        // One poll stores and queues the event; the request is then dropped while it waits for
        // the flush. On a loaded machine the flusher may finish before that one poll looks:
        // then the case was not exercised, and another event tries again.
        let mut dropped_waiting = 0;
        for attempt in 0..20 {
            let mut delivery = unconfigured_delivery();
            delivery.id = format!("evt-{attempt}");
            delivery.dedupe_key = format!("delivery-{attempt}");
            let polled_once = pipeline.ingest().accept(delivery).now_or_never();
            if polled_once.is_none() {
                dropped_waiting = attempt + 1;
                break;
            }
        }
        assert!(
            dropped_waiting > 0,
            "no request was ever dropped before the flush returned"
        );
        // Its helpdesk is not configured, so processing records it as failed.
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.pending_count().expect("count") > 0 {
            assert!(
                Instant::now() < deadline,
                "the event was left waiting in its lane"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Every event, the one whose request went away included, was processed.
        assert_eq!(
            store.failed_events().expect("failed").len(),
            dropped_waiting
        );
    }
}
