//! Worker lanes. Each lane is one task with its own queue; an event goes to the lane chosen by
//! hashing its helpdesk and ticket id, so one ticket's events are processed one after the
//! other, in arrival order, while other lanes work on other tickets.

use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use deskbridge_store::{Store, StoredEvent};
use futures_util::FutureExt as _;
use tokio::sync::{Notify, mpsc};

use crate::helpdesk::Helpdesks;
use crate::{PipelineSettings, process};

/// An event queued for a lane, with when it was acknowledged (for latency accounting).
pub(crate) struct Queued {
    pub(crate) event: StoredEvent,
    pub(crate) acknowledged: Option<Instant>,
}

/// The lanes' queues.
#[derive(Clone)]
pub(crate) struct Lanes {
    queues: Arc<Vec<mpsc::UnboundedSender<Queued>>>,
}

impl Lanes {
    pub(crate) fn start(
        store: Arc<dyn Store>,
        helpdesks: Arc<Helpdesks>,
        settings: Arc<PipelineSettings>,
        outbox_wake: Arc<Notify>,
        metrics: Arc<crate::metrics::PipelineMetrics>,
    ) -> Lanes {
        let count = settings.workers.max(1);
        let mut queues = Vec::with_capacity(count);
        for lane in 0..count {
            let (tx, mut rx) = mpsc::unbounded_channel::<Queued>();
            queues.push(tx);
            let worker = process::Worker {
                store: store.clone(),
                helpdesks: helpdesks.clone(),
                settings: settings.clone(),
                outbox_wake: outbox_wake.clone(),
                metrics: metrics.clone(),
            };
            let worker = Arc::new(worker);
            tokio::spawn(async move {
                while let Some(queued) = rx.recv().await {
                    // A panic ends the event's processing, not the lane. The event stays
                    // pending in the store and resumes after a restart. (Caught in place: a
                    // task per event measured as a visible share of the pipeline's CPU.)
                    let event_id = queued.event.event.id.clone();
                    let processing = AssertUnwindSafe(worker.process(queued)).catch_unwind();
                    if let Err(panic) = processing.await {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".to_owned());
                        tracing::error!(lane, event = %event_id, error = %message, "processing an event panicked; it resumes after a restart");
                    }
                }
                tracing::debug!(lane, "worker lane stopped");
            });
        }
        Lanes {
            queues: Arc::new(queues),
        }
    }

    /// Queues an event found in the store at start-up.
    pub(crate) fn submit(&self, event: StoredEvent) {
        self.enqueue(Queued {
            event,
            acknowledged: None,
        });
    }

    /// Queues an event just acknowledged.
    pub(crate) fn submit_acknowledged(&self, event: StoredEvent, at: Instant) {
        self.enqueue(Queued {
            event,
            acknowledged: Some(at),
        });
    }

    fn enqueue(&self, queued: Queued) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        queued.event.event.helpdesk.hash(&mut hasher);
        queued.event.event.ticket_id.hash(&mut hasher);
        let lane = usize::try_from(hasher.finish() % self.queues.len() as u64).unwrap_or(0);
        if self.queues[lane].send(queued).is_err() {
            // Only when the runtime is shutting down; the event stays pending in the store
            // and is resumed at the next start.
            tracing::warn!(
                lane,
                "worker lane is gone; the event will resume after restart"
            );
        }
    }
}
