//! `GET /metrics`: the gateway's metrics in the Prometheus text exposition format — the
//! counters and histograms every crate records (`deskbridge_core::telemetry`) and gauges read
//! from the store at scrape time: events waiting, outbox depth, dead letters, open drafts by
//! age, plugins switched off by their breaker. Counts and names only: no ticket text, no
//! secrets; like `/healthz` it needs no token (expose it to your monitoring only).

use std::fmt::Write as _;

use actix_web::{HttpResponse, web};
use deskbridge_pipeline::now_ms;

use crate::AppState;

/// The age buckets of open drafts: label and upper bound in seconds.
const AGES: [(&str, i64); 4] = [
    ("lt_1h", 3600),
    ("1h_to_4h", 4 * 3600),
    ("4h_to_24h", 24 * 3600),
    ("ge_24h", i64::MAX),
];

fn gauge(out: &mut String, name: &str, help: &str, series: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in series {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Metrics in the Prometheus text format (no token needed; counts only)",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"))
)]
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::with_capacity(16 * 1024);
    deskbridge_core::telemetry::telemetry().render(&mut out);
    let plugins: Vec<(String, f64)> = state
        .plugins
        .iter()
        .map(|p| {
            (
                format!("{{plugin=\"{}\"}}", p.id()),
                if p.status().enabled { 1.0 } else { 0.0 },
            )
        })
        .collect();
    gauge(
        &mut out,
        "deskbridge_plugin_enabled",
        "1 while the plugin runs, 0 once its circuit breaker switched it off.",
        &plugins,
    );
    out.push_str(&store_gauges(&state).await);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

/// How long the gauges read from the store are reused: a scrape reads every draft head, so
/// scrapes (which need no token) are served from this cache and read the store one at a time.
const STORE_GAUGES_TTL: std::time::Duration = std::time::Duration::from_secs(15);

/// The gauges read from the store, rendered, at most [`STORE_GAUGES_TTL`] old.
async fn store_gauges(state: &AppState) -> String {
    static CACHE: std::sync::OnceLock<tokio::sync::Mutex<Option<(std::time::Instant, String)>>> =
        std::sync::OnceLock::new();
    let mut cached = CACHE
        .get_or_init(|| tokio::sync::Mutex::new(None))
        .lock()
        .await;
    if let Some((at, text)) = cached.as_ref()
        && at.elapsed() < STORE_GAUGES_TTL
    {
        return text.clone();
    }
    let mut out = String::new();
    if let Some(store) = state.store.clone() {
        let now = now_ms();
        let read = web::block(move || {
            let stats = store.stats()?;
            let heads = store.draft_heads()?;
            Ok::<_, deskbridge_store::StoreError>((stats, heads))
        })
        .await;
        match read {
            Ok(Ok((stats, heads))) => {
                let one = |v: usize| vec![(String::new(), v as f64)];
                gauge(
                    &mut out,
                    "deskbridge_events_pending",
                    "Events acknowledged and not yet processed.",
                    &one(stats.pending_events),
                );
                gauge(
                    &mut out,
                    "deskbridge_outbox_pending",
                    "Outbox items waiting for delivery (the outbox depth).",
                    &one(stats.outbox_pending),
                );
                gauge(
                    &mut out,
                    "deskbridge_outbox_dead_letters",
                    "Outbox items given up on, waiting for an operator.",
                    &one(stats.outbox_dead_lettered),
                );
                let mut open = [0usize; AGES.len()];
                for head in heads.iter().filter(|h| h.state.is_open()) {
                    let age = now.saturating_sub(head.created_at_ms) / 1000;
                    if let Some(i) = AGES.iter().position(|(_, bound)| age < *bound) {
                        open[i] += 1;
                    }
                }
                let series: Vec<(String, f64)> = AGES
                    .iter()
                    .zip(open)
                    .map(|((label, _), n)| (format!("{{age=\"{label}\"}}"), n as f64))
                    .collect();
                gauge(
                    &mut out,
                    "deskbridge_drafts_open",
                    "Drafts waiting for a decision, by age.",
                    &series,
                );
            }
            Ok(Err(e)) => tracing::error!(error = %e, "metrics: the store failed"),
            Err(e) => tracing::error!(error = %e, "metrics: the store read did not run"),
        }
    }
    *cached = Some((std::time::Instant::now(), out.clone()));
    out
}
