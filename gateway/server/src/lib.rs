//! Deskbridge's HTTP edge, built on actix-web. Only this crate knows HTTP.
//!
//! Routes: `GET /healthz` (liveness plus every plugin's circuit breaker), `GET /readyz`
//! ([`ready`]: store, plugins, each helpdesk's API), `GET /metrics` (Prometheus), the webhook ingest
//! `POST /webhooks/{zendesk|freshdesk|generic}[/{helpdesk}]` ([`webhooks`]), and the
//! token-authenticated `/api/v1/` ([`auth`]): the approval queue (`drafts`), the stop switch
//! (`pauses`), [`insights`], the approval log's checkpoints, proofs and erasures
//! (`audit_api`), [`tokens`] and operator views (`ops`). [`openapi`] describes them all.
//! The web [`console`] is served under `/console/`. Unknown routes and every API error answer
//! with an RFC 9457 `application/problem+json` body; handlers share one error type,
//! [`ApiError`], whose server-side failures are logged and answered without their cause.

mod api_error;
mod audit_api;
pub mod auth;
pub mod console;
mod draft_list;
mod drafts;
pub mod findings;
pub mod insights;
pub mod openapi;
mod ops;
mod pauses;
mod problem;
mod prometheus;
pub mod ready;
pub mod request_id;
pub mod tokens;
pub mod webhooks;
pub mod zip;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use deskbridge_audit::AuditLog;
use deskbridge_core::DraftingSwitch;
use deskbridge_plugin_host::LoadedPlugin;
use deskbridge_store::Store;
use serde::Serialize;

pub use api_error::ApiError;
pub use console::Console;
pub use problem::Problem;
pub use webhooks::{Endpoint, FreshdeskAuth, UnknownKeys, Webhooks};

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The loaded plugins, in pipeline order.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// When the gateway started.
    pub started: Instant,
    /// Webhook ingest; `None` serves health only.
    pub webhooks: Option<Webhooks>,
    /// The store (API tokens and everything else); `None` refuses every `/api/v1/` request.
    pub store: Option<Arc<dyn Store>>,
    /// The approval log; decisions, token and pause changes are recorded in it.
    pub audit: Option<Arc<AuditLog>>,
    /// The stop switch, shared with the pipeline.
    pub switch: DraftingSwitch,
    /// How long a draft's review stays open (`[review] draft_expiry_s`): decisions after it
    /// are refused even before the expiry sweep has run.
    pub draft_expiry: std::time::Duration,
    /// What operators should know about the configuration (a helpdesk with drafting plugins
    /// and no policy plugin), shown by `/healthz` and `/api/v1/status`.
    pub warnings: Vec<String>,
    /// The AI providers and budgets, shown by `/api/v1/status`.
    pub ai: Option<Arc<deskbridge_providers::AiRouter>>,
    /// The helpdesks' knowledge bases, shown by `/api/v1/status`.
    pub knowledge: Option<Arc<deskbridge_knowledge::KnowledgeLibrary>>,
    /// Where decisions on drafts are taken (the pipeline's service; `None` without a store).
    pub decisions: Option<Arc<deskbridge_pipeline::DecisionService>>,
    /// The web console's sessions and settings; `None` serves no console.
    pub console: Option<Arc<Console>>,
    /// The helpdesk probes of `/readyz`; `None` probes none.
    pub readiness: Option<Arc<ready::Readiness>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PluginHealth<'a> {
    id: &'a str,
    version: &'a str,
    enabled: bool,
    consecutive_failures: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Health<'a> {
    status: &'static str,
    version: &'static str,
    uptime_s: u64,
    plugins: Vec<PluginHealth<'a>>,
    /// Configuration an operator should look at (see `/api/v1/status`).
    warnings: &'a [String],
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness and every plugin's circuit breaker (no token needed)",
    responses((status = 200, description = "`ok`, or `degraded` when a plugin is disabled or the configuration has warnings (a helpdesk whose drafts no policy plugin reviews)", body = Health))
)]
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let statuses: Vec<_> = state.plugins.iter().map(|p| (p, p.status())).collect();
    let plugins: Vec<PluginHealth<'_>> = statuses
        .iter()
        .map(|(plugin, status)| PluginHealth {
            id: plugin.id(),
            version: &plugin.manifest().version,
            enabled: status.enabled,
            consecutive_failures: status.consecutive_failures,
        })
        .collect();
    // A disabled plugin does not make the gateway unhealthy: tickets still flow to humans.
    let status = if plugins.iter().all(|p| p.enabled) && state.warnings.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    HttpResponse::Ok().json(Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: state.started.elapsed().as_secs(),
        plugins,
        warnings: &state.warnings,
    })
}

async fn not_found(request: actix_web::HttpRequest) -> HttpResponse {
    Problem::response(
        StatusCode::NOT_FOUND,
        "Not Found",
        format!("no route for {} {}", request.method(), request.path()),
    )
}

/// Registers every route on an actix `App` (shared by the server and tests).
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        // Bodies are read by the handlers themselves, with the configured limit.
        // Webhooks come first: they are the hot path, and every `{param}` route tried before
        // the match costs a regex search in actix-router (visible in ingest profiles); for the
        // same reason their own paths are split by hand under a static scope.
        cfg.app_data(state)
            .app_data(web::QueryConfig::default().error_handler(problem::query_refused))
            .app_data(web::JsonConfig::default().error_handler(problem::json_refused))
            .app_data(
                web::FormConfig::default()
                    .limit(console::MAX_FORM_BYTES)
                    .error_handler(problem::form_refused),
            )
            .service(web::scope("/webhooks").default_service(web::to(webhooks::dispatch)))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(ready::readyz))
            .route("/metrics", web::get().to(prometheus::metrics))
            .route("/api/v1/me", web::get().to(tokens::me))
            .route("/api/v1/drafts", web::get().to(draft_list::list))
            .route("/api/v1/drafts/{id}", web::get().to(drafts::get))
            .route(
                "/api/v1/drafts/{id}/decisions",
                web::post().to(drafts::decide_draft),
            )
            .route(
                "/api/v1/drafts/{id}/cancel",
                web::post().to(drafts::cancel_reply),
            )
            .route("/api/v1/pauses", web::get().to(pauses::list))
            .route("/api/v1/pauses/{scope}", web::put().to(pauses::pause))
            .route("/api/v1/pauses/{scope}", web::delete().to(pauses::resume))
            .route("/api/v1/insights", web::get().to(insights::insights))
            .route(
                "/api/v1/audit/checkpoint",
                web::get().to(audit_api::checkpoint),
            )
            .route(
                "/api/v1/audit/proofs/inclusion",
                web::get().to(audit_api::inclusion),
            )
            .route(
                "/api/v1/audit/proofs/consistency",
                web::get().to(audit_api::consistency),
            )
            .route("/api/v1/audit/erasures", web::post().to(audit_api::erase))
            .route("/api/v1/tokens", web::post().to(tokens::create))
            .route("/api/v1/tokens", web::get().to(tokens::list))
            .route("/api/v1/tokens/{id}", web::delete().to(tokens::revoke))
            .route("/api/v1/status", web::get().to(ops::status))
            .route("/api/v1/metrics", web::get().to(ops::metrics))
            .route("/api/v1/metrics", web::delete().to(ops::reset_metrics))
            .route(
                "/api/v1/outbox/dead-letters",
                web::get().to(ops::dead_letters),
            )
            .route(
                "/api/v1/outbox/dead-letters/{id}/retry",
                web::post().to(ops::retry_dead_letter),
            )
            .route(
                "/api/v1/outbox/dead-letters/{id}/cancel",
                web::post().to(ops::cancel_dead_letter),
            )
            .route("/api/v1/events/failed", web::get().to(ops::failed_events))
            .configure(console::routes);
    }
}

/// Starts the HTTP server on an already-bound listener. The server does not watch for
/// signals itself: [`run_until_stopped`] does, from before the gateway says it is ready.
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(request_id::middleware))
            .configure(configure(state.clone()))
            .default_service(web::to(not_found))
    })
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

/// Runs the server on the current thread until Ctrl-C or SIGTERM, then stops it gracefully
/// (requests in flight finish). `on_ready` runs once the signal handlers are installed, so
/// a supervisor that reacts to the "ready" line can always stop the gateway cleanly: a
/// SIGTERM that arrived before them would kill the process without its shutdown work.
pub fn run_until_stopped(
    listener: TcpListener,
    state: AppState,
    on_ready: impl FnOnce(),
) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let stop_requested = stop_signal()?;
        let server = serve(listener, state)?;
        let handle = server.handle();
        on_ready();
        let server = actix_web::rt::spawn(server);
        stop_requested.await;
        tracing::info!("stop requested; finishing requests in flight");
        handle.stop(true).await;
        server.await.map_err(std::io::Error::other)?
    })
}

/// Installs the Ctrl-C and SIGTERM handlers now and resolves when either arrives.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test;

    #[actix_web::test]
    async fn healthz_reports_ok_with_no_plugins() {
        let state = web::Data::new(AppState {
            plugins: Vec::new(),
            started: Instant::now(),
            webhooks: None,
            store: None,
            audit: None,
            switch: DraftingSwitch::default(),
            draft_expiry: std::time::Duration::from_secs(3600),
            warnings: Vec::new(),
            ai: None,
            knowledge: None,
            decisions: None,
            console: None,
            readiness: None,
        });
        let app = test::init_service(
            App::new()
                .configure(configure(state))
                .default_service(web::to(not_found)),
        )
        .await;
        let response: serde_json::Value = test::call_and_read_body_json(
            &app,
            test::TestRequest::get().uri("/healthz").to_request(),
        )
        .await;
        assert_eq!(response["status"], "ok");

        let missing =
            test::call_service(&app, test::TestRequest::get().uri("/nope").to_request()).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            missing
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
    }
}
