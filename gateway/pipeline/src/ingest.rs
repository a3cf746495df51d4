//! Durable ingest: store, queue for the workers, wait for the disk. The HTTP layer answers
//! `2xx` only after [`Ingest::accept`] returns `Ok` (invariant 3).

use std::sync::Arc;
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

/// The ingest handle, cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    store: Arc<dyn Store>,
    lanes: Lanes,
    metrics: Arc<PipelineMetrics>,
    order: Arc<std::sync::Mutex<()>>,
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
    ) -> Ingest {
        Ingest {
            store,
            lanes,
            metrics,
            order: Arc::default(),
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
    /// outbox's own flush, which makes this insert durable first.
    pub async fn accept(&self, event: InboundEvent) -> Result<Accepted, StoreError> {
        let inserted = {
            let _in_order = self.order.lock().unwrap_or_else(|e| e.into_inner());
            let inserted = self.store.insert_event(&event)?;
            if let Inserted::New(seq) = inserted {
                self.lanes.submit_acknowledged(
                    StoredEvent {
                        seq,
                        event: event.clone(),
                    },
                    Instant::now(),
                );
            }
            inserted
        };
        // A duplicate waits too: its first delivery may still be on its way to the disk.
        self.store.events_durable().await?;
        Ok(match inserted {
            Inserted::New(_) => Accepted::New { event_id: event.id },
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
