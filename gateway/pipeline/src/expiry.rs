//! Expiry of drafts nobody decided in time: every sweep interval, each open draft older than
//! the configured expiry is moved to `expired`, which no decision can leave and the delivery
//! gate never passes. An expired draft is never sent; its expiry is logged first.

use std::sync::Arc;

use deskbridge_core::review::expire;
use deskbridge_store::Store;

use crate::{DRAFT_DECISIONS, PipelineSettings, journal, now_ms};

/// Starts the sweeper on the current runtime.
pub(crate) fn start(store: Arc<dyn Store>, settings: Arc<PipelineSettings>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(settings.expiry_sweep_interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match sweep(&store, &settings, now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(drafts = n, "expired drafts nobody decided in time"),
                Err(e) => tracing::warn!(error = %e, "expiring drafts failed; trying again later"),
            }
        }
    });
}

/// Expires every open draft created at or before `now_ms - expiry`; returns how many.
pub(crate) async fn sweep(
    store: &Arc<dyn Store>,
    settings: &PipelineSettings,
    now_ms: i64,
) -> Result<usize, String> {
    let expiry = i64::try_from(settings.draft_expiry.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_ms.saturating_sub(expiry).saturating_add(1);
    // The listing reads every draft: on a blocking thread, not one of the pipeline's workers
    // (with ~75,000 drafts it held a worker for a third of a second, and events queued
    // behind it: a 331 ms pipeline p99 in the load driver's run; BENCHMARKS.md).
    let listing = store.clone();
    let due = tokio::task::spawn_blocking(move || listing.open_drafts_created_before(cutoff))
        .await
        .map_err(|e| format!("the draft listing stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    let mut expired = 0;
    for id in due {
        let _one_at_a_time = DRAFT_DECISIONS.lock().await;
        // Read again under the lock: a decision may have come in since the listing.
        let Some(mut draft) = store.draft(&id).map_err(|e| e.to_string())? else {
            continue;
        };
        let Some(review) = expire(&draft.review, now_ms) else {
            continue;
        };
        if let Some(audit) = &settings.audit {
            let entry = journal::draft_expired(&draft, review.version, now_ms);
            journal::record(audit, vec![entry])
                .await
                .map_err(|e| format!("cannot log the expiry of {id}: {e}"))?;
        }
        let version = draft.review.version;
        draft.review = review;
        if store
            .update_draft(version, &draft)
            .map_err(|e| e.to_string())?
        {
            expired += 1;
        }
    }
    Ok(expired)
}
