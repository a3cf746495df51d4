//! Housekeeping, once per [`PipelineSettings::housekeeping_interval`] (an hour by default)
//! and once at start: dedupe keys older than their retention are dropped, and — when
//! `[retention] records_days` is set — records whose story ended longer ago than that are
//! deleted ([`Store::prune_records`]); then deliveries the approval log missed while running
//! (an append that failed) are recorded (`replies::reconcile`, as at start). All are scans,
//! so they run on a blocking thread, never on the runtime's workers, which run the lanes.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_store::Store;

use crate::{PipelineSettings, now_ms};

/// Starts the housekeeping task on the current runtime.
pub(crate) fn start(store: Arc<dyn Store>, settings: &PipelineSettings) {
    let dedupe_retention = settings.dedupe_retention;
    let record_retention = settings.record_retention;
    let interval = settings.housekeeping_interval;
    let audit = settings.audit.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let store = store.clone();
            let audit = audit.clone();
            let pass = tokio::task::spawn_blocking(move || {
                run_once(store.as_ref(), dedupe_retention, record_retention, now_ms());
                match crate::replies::reconcile(&store, audit.as_deref()) {
                    Ok(done) if done == crate::replies::Reconciled::default() => {}
                    Ok(done) => tracing::info!(
                        queued = done.queued,
                        finished = done.finished,
                        logged = done.logged,
                        "reconciled approved replies and their log entries"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "reconciling replies failed; trying again later")
                    }
                }
            });
            if let Err(e) = pass.await {
                tracing::warn!(error = %e, "housekeeping stopped unexpectedly; trying again later");
            }
        }
    });
}

/// One pass: the dedupe keys, then the records.
fn run_once(
    store: &dyn Store,
    dedupe_retention: Duration,
    record_retention: Option<Duration>,
    now_ms: i64,
) {
    let before = |retention: Duration| {
        now_ms.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX))
    };
    match store.prune_dedupe_keys(before(dedupe_retention)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(keys = n, "pruned old dedupe keys"),
        Err(e) => tracing::warn!(error = %e, "pruning dedupe keys failed; trying again later"),
    }
    let Some(retention) = record_retention else {
        return;
    };
    match store.prune_records(before(retention)) {
        Ok(pruned) if pruned.total() == 0 => {}
        Ok(pruned) => tracing::info!(
            processed_events = pruned.processed_events,
            failed_events = pruned.failed_events,
            outbox_delivered = pruned.outbox_delivered,
            outbox_dead_lettered = pruned.outbox_dead_lettered,
            closed_drafts = pruned.closed_drafts,
            email_tickets = pruned.email_tickets,
            unthreaded_mail = pruned.unthreaded_mail,
            "deleted records past their retention"
        ),
        Err(e) => tracing::warn!(error = %e, "deleting old records failed; trying again later"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use deskbridge_store::{InboundEvent, SledStore};

    use crate::fixtures::unconfigured_delivery;
    use crate::{Helpdesks, Pipeline, PipelineSettings};

    use super::*;

    async fn wait_until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_past_their_retention_are_deleted_by_the_running_pipeline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
        let settings = PipelineSettings {
            record_retention: Some(Duration::from_millis(300)),
            housekeeping_interval: Duration::from_millis(50),
            ..PipelineSettings::default()
        };
        let pipeline = Pipeline::start(store.clone(), Helpdesks::new(), settings).expect("start");
        // No helpdesk of that name is configured: the event is recorded as failed.
        let event = InboundEvent {
            received_at_ms: now_ms(),
            ..unconfigured_delivery()
        };
        pipeline
            .ingest()
            .accept(event.clone())
            .await
            .expect("accepted");
        let failed = || store.stats().expect("stats").failed_events;
        wait_until("the failure record", || failed() == 1).await;
        // Kept for its retention (300 ms), then deleted by a later pass.
        wait_until("the record to be deleted", || failed() == 0).await;
        assert!(store.failed_events().expect("list").is_empty());
        // The dedupe key (seven days) outlives the record, and still refuses a redelivery.
        let again = pipeline.ingest().accept(event).await.expect("answered");
        assert!(
            matches!(again, crate::Accepted::Duplicate { .. }),
            "{again:?}"
        );
    }
}
