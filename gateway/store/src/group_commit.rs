//! Group commit: callers that need durability queue a waiter; one flusher thread takes every
//! waiter queued so far, flushes once, and wakes them all. A waiter is queued after its own
//! writes, and the flush it is woken by starts after it was taken from the queue, so that
//! flush covers its writes. Under load one flush serves many requests.
//!
//! The flusher can linger for a short window after the first waiter arrives (PostgreSQL's
//! `commit_delay`) so that more writers join one flush. Measured here it cut the number of
//! flushes but not the throughput, and added latency, so the store uses no window by default
//! (BENCHMARKS.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::{BoxFuture, StoreError};

type Waiter = oneshot::Sender<Result<(), String>>;

/// The flusher thread and the queue in front of it.
pub(crate) struct GroupCommit {
    queue: Option<mpsc::Sender<Waiter>>,
    thread: Option<JoinHandle<()>>,
    flushes: Arc<AtomicU64>,
}

impl GroupCommit {
    /// Starts the flusher thread; `flush` writes everything buffered to disk, and `settled`
    /// runs after each successful flush, once its waiters have been woken (housekeeping that
    /// must not delay acknowledgements).
    pub(crate) fn start(
        thread_name: &str,
        flush: impl Fn() -> Result<(), String> + Send + 'static,
        settled: impl Fn() + Send + 'static,
        window: std::time::Duration,
    ) -> std::io::Result<GroupCommit> {
        let (queue, waiters) = mpsc::channel::<Waiter>();
        let flushes = Arc::new(AtomicU64::new(0));
        let counter = flushes.clone();
        let thread = std::thread::Builder::new()
            .name(thread_name.into())
            .spawn(move || {
                while let Ok(first) = waiters.recv() {
                    let mut batch = vec![first];
                    if !window.is_zero() {
                        std::thread::sleep(window);
                    }
                    batch.extend(waiters.try_iter());
                    let result = flush();
                    counter.fetch_add(1, Ordering::Relaxed);
                    let flushed = result.is_ok();
                    for waiter in batch {
                        // The caller may have gone away (request cancelled): nothing to do.
                        let _ = waiter.send(result.clone());
                    }
                    if flushed {
                        settled();
                    }
                }
            })?;
        Ok(GroupCommit {
            queue: Some(queue),
            thread: Some(thread),
            flushes,
        })
    }

    /// Resolves once a flush that started after this call has finished.
    pub(crate) fn wait(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        let (tx, rx) = oneshot::channel();
        let queued = self
            .queue
            .as_ref()
            .is_some_and(|queue| queue.send(tx).is_ok());
        Box::pin(async move {
            if !queued {
                return Err(StoreError::Closed);
            }
            match rx.await {
                Ok(result) => result.map_err(StoreError::Backend),
                Err(_) => Err(StoreError::Closed),
            }
        })
    }

    /// [`GroupCommit::wait`] for a plain thread (outside any async runtime).
    pub(crate) fn wait_blocking(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        let queued = self
            .queue
            .as_ref()
            .is_some_and(|queue| queue.send(tx).is_ok());
        if !queued {
            return Err(StoreError::Closed);
        }
        match rx.blocking_recv() {
            Ok(result) => result.map_err(StoreError::Backend),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Flushes made so far.
    pub(crate) fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_waiters_share_flushes() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let commit = Arc::new(
            GroupCommit::start(
                "test-flush",
                move || {
                    seen.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    Ok(())
                },
                || {},
                Duration::ZERO,
            )
            .expect("thread"),
        );
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let commit = commit.clone();
            tasks.push(tokio::spawn(async move { commit.wait().await }));
        }
        for task in tasks {
            task.await.expect("joined").expect("flushed");
        }
        let flushes = calls.load(Ordering::SeqCst);
        assert!(
            (1..50).contains(&flushes),
            "{flushes} flushes for 50 waiters"
        );
        assert_eq!(commit.flushes(), flushes as u64);
    }

    #[tokio::test]
    async fn a_failed_flush_reaches_every_waiter() {
        let commit = GroupCommit::start(
            "test-flush",
            || Err("disk full".into()),
            || panic!("nothing settles after a failed flush"),
            Duration::from_millis(1),
        )
        .expect("thread");
        let err = commit.wait().await.expect_err("flush failed");
        assert!(err.to_string().contains("disk full"), "{err}");
    }
}
