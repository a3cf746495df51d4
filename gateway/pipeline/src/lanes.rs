//! Worker lanes. Each lane is one task with its own queue; an event goes to the lane chosen by
//! hashing its helpdesk and ticket id, so one ticket's events are processed one after the
//! other, in arrival order, while other lanes work on other tickets.
//!
//! Queuing and waking are separate. An acknowledged event is queued at once (in insert order,
//! under the ingest lock), but its lane is woken by [`Lanes::wake`], which ingest calls once
//! the event is on disk (or the request is gone): every request of one group commit resumes
//! at about the same moment, so the first wake starts the lane and the others find it awake.
//! The pipeline's threads then wake once per flush for a batch of events instead of once per
//! event; waking per event was a quarter of the pipeline's CPU without plugins
//! (BENCHMARKS.md).

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use deskbridge_store::{Store, StoredEvent};
use futures_util::FutureExt as _;
use tokio::sync::Notify;

use crate::helpdesk::Helpdesks;
use crate::{PipelineSettings, process};

/// An event queued for a lane, with when it was acknowledged (for latency accounting).
pub(crate) struct Queued {
    pub(crate) event: StoredEvent,
    pub(crate) acknowledged: Option<Instant>,
}

/// One lane's queue.
#[derive(Default)]
struct LaneQueue {
    events: Mutex<VecDeque<Queued>>,
    /// Events were queued since the last wake.
    unwoken: AtomicBool,
    /// Wakes the lane's task (a permit is kept if the task is busy, so no wake is lost).
    ready: Notify,
    /// Every [`Lanes`] handle is gone: the task stops once its queue is empty.
    closed: AtomicBool,
}

impl LaneQueue {
    fn take_all(&self) -> VecDeque<Queued> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn wake(&self) {
        if self.unwoken.swap(false, Ordering::AcqRel) {
            self.ready.notify_one();
        }
    }
}

/// The lanes' queues; closes them when the last [`Lanes`] handle is dropped.
struct Queues(Vec<Arc<LaneQueue>>);

impl Drop for Queues {
    fn drop(&mut self) {
        for queue in &self.0 {
            queue.closed.store(true, Ordering::Release);
            queue.ready.notify_one();
        }
    }
}

/// The lanes' queues.
#[derive(Clone)]
pub(crate) struct Lanes {
    queues: Arc<Queues>,
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
            let queue = Arc::new(LaneQueue::default());
            queues.push(queue.clone());
            let worker = process::Worker {
                store: store.clone(),
                helpdesks: helpdesks.clone(),
                settings: settings.clone(),
                outbox_wake: outbox_wake.clone(),
                metrics: metrics.clone(),
            };
            let worker = Arc::new(worker);
            tokio::spawn(async move {
                loop {
                    let batch = queue.take_all();
                    if batch.is_empty() {
                        if queue.closed.load(Ordering::Acquire) {
                            break;
                        }
                        queue.ready.notified().await;
                        continue;
                    }
                    for queued in batch {
                        process_caught(&worker, lane, queued).await;
                    }
                }
                tracing::debug!(lane, "worker lane stopped");
            });
        }
        Lanes {
            queues: Arc::new(Queues(queues)),
        }
    }

    /// Queues an event found in the store at start-up, and wakes its lane.
    pub(crate) fn submit(&self, event: StoredEvent) {
        self.enqueue(Queued {
            event,
            acknowledged: None,
        });
        self.wake();
    }

    /// Queues an event just stored; it is processed after the next [`Lanes::wake`].
    pub(crate) fn submit_acknowledged(&self, event: StoredEvent, at: Instant) {
        self.enqueue(Queued {
            event,
            acknowledged: Some(at),
        });
    }

    /// Wakes every lane with events queued since its last wake.
    pub(crate) fn wake(&self) {
        for queue in &self.queues.0 {
            queue.wake();
        }
    }

    fn enqueue(&self, queued: Queued) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        queued.event.event.helpdesk.hash(&mut hasher);
        queued.event.event.ticket_id.hash(&mut hasher);
        let lanes = &self.queues.0;
        let lane = usize::try_from(hasher.finish() % lanes.len() as u64).unwrap_or(0);
        if let Some(queue) = lanes.get(lane) {
            queue
                .events
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(queued);
            queue.unwoken.store(true, Ordering::Release);
        }
    }
}

/// Processes one event. A panic ends the event's processing, not the lane: the event stays
/// pending in the store and resumes after a restart. (Caught in place: a task per event
/// measured as a visible share of the pipeline's CPU.)
async fn process_caught(worker: &process::Worker, lane: usize, queued: Queued) {
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
