//! Durable ingest: store, wait for the disk, then hand over to the workers. The HTTP layer
//! answers `2xx` only after [`Ingest::accept`] returns `Ok` (invariant 3).

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
        }
    }

    /// The pipeline's latency recorder.
    pub fn metrics(&self) -> &PipelineMetrics {
        &self.metrics
    }

    /// Stores `event` durably (unless it is a redelivery) and queues it for processing.
    pub async fn accept(&self, event: InboundEvent) -> Result<Accepted, StoreError> {
        let inserted = self.store.insert_event(&event)?;
        // A duplicate waits too: its first delivery may still be on its way to the disk.
        self.store.durable().await?;
        match inserted {
            Inserted::New(seq) => {
                let event_id = event.id.clone();
                self.lanes
                    .submit_acknowledged(StoredEvent { seq, event }, Instant::now());
                Ok(Accepted::New { event_id })
            }
            Inserted::Duplicate { first_event_id } => Ok(Accepted::Duplicate {
                event_id: first_event_id,
            }),
        }
    }

    /// The store behind the pipeline.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
