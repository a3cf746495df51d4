//! `GET /readyz`: whether this gateway can do its work now — the store answers, the plugins
//! are loaded, and every helpdesk with an API answers an authenticated request — for load
//! balancers and orchestrators (`/healthz` says whether the process lives).
//!
//! Helpdesk probes cost an API call each, so their results are kept for
//! [`PROBE_TTL`]; each is bounded by [`PROBE_TIMEOUT`], and they run side by side. The body
//! names what failed but never why (it needs no token): the reasons go to the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use deskbridge_connectors::HelpdeskClient;
use serde::Serialize;

use crate::AppState;

/// How long a helpdesk probe's result is reused.
pub const PROBE_TTL: Duration = Duration::from_secs(15);

/// The longest a probe may take before the helpdesk counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The helpdesks to probe, and the last results.
pub struct Readiness {
    probes: Vec<(String, Arc<dyn HelpdeskClient>)>,
    last: tokio::sync::Mutex<Option<(Instant, Vec<HelpdeskCheck>)>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("helpdesks", &self.probes.len())
            .finish()
    }
}

/// One helpdesk's check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HelpdeskCheck {
    name: String,
    /// `ok` or `unreachable` (the reason is in the gateway's log).
    status: &'static str,
}

impl Readiness {
    /// Probes the helpdesks with these clients (helpdesks without an API are not probed).
    pub fn new(probes: Vec<(String, Arc<dyn HelpdeskClient>)>) -> Self {
        Readiness {
            probes,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The helpdesks it checks: every configured one, webhook-fed or mailbox.
    pub fn helpdesk_names(&self) -> impl Iterator<Item = &str> {
        self.probes.iter().map(|(name, _)| name.as_str())
    }

    async fn helpdesks(&self) -> Vec<HelpdeskCheck> {
        let mut last = self.last.lock().await;
        if let Some((at, checks)) = last.as_ref()
            && at.elapsed() < PROBE_TTL
        {
            return checks.clone();
        }
        let probes = self.probes.iter().map(|(name, client)| async move {
            let outcome = tokio::time::timeout(PROBE_TIMEOUT, client.probe()).await;
            let status = match outcome {
                Ok(Ok(())) => "ok",
                Ok(Err(e)) => {
                    tracing::warn!(helpdesk = %name, error = %e, "readiness: the helpdesk refused its probe");
                    "unreachable"
                }
                Err(_) => {
                    tracing::warn!(helpdesk = %name, "readiness: the helpdesk did not answer its probe in time");
                    "unreachable"
                }
            };
            HelpdeskCheck {
                name: name.clone(),
                status,
            }
        });
        let checks = futures_util::future::join_all(probes).await;
        *last = Some((Instant::now(), checks.clone()));
        checks
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Ready {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// `ok`, `failed` or `none` (no store configured).
    store: &'static str,
    /// Plugins loaded.
    plugins: usize,
    /// Each helpdesk with an API.
    helpdesks: Vec<HelpdeskCheck>,
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness: the store, the plugins and every helpdesk's API (no token needed)",
    responses(
        (status = 200, description = "Ready to take traffic", body = Ready),
        (status = 503, description = "Not ready: what failed is named (why is in the log)", body = Ready),
    )
)]
pub(crate) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = match state.store.clone() {
        None => "none",
        Some(store) => match web::block(move || store.stats()).await {
            Ok(Ok(_)) => "ok",
            Ok(Err(e)) => {
                tracing::error!(error = %e, "readiness: the store failed");
                "failed"
            }
            Err(e) => {
                tracing::error!(error = %e, "readiness: the store check did not run");
                "failed"
            }
        },
    };
    let helpdesks = match &state.readiness {
        Some(readiness) => readiness.helpdesks().await,
        None => Vec::new(),
    };
    let ready = store != "failed" && helpdesks.iter().all(|h| h.status == "ok");
    let body = Ready {
        status: if ready { "ready" } else { "not_ready" },
        store,
        plugins: state.plugins.len(),
        helpdesks,
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
