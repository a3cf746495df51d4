//! Deskbridge's HTTP edge, built on actix-web. Only this crate knows HTTP.
//!
//! Today it serves `GET /healthz` (liveness plus the state of every plugin's circuit breaker)
//! and answers unknown routes with an RFC 9457 `application/problem+json` body. The webhook
//! ingest and the approval API mount here as they land.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use deskbridge_plugin_host::LoadedPlugin;
use serde::Serialize;

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The loaded plugins, in pipeline order.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// When the gateway started.
    pub started: Instant,
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// A URI reference naming the problem type (`about:blank` for plain HTTP errors).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly was wrong.
    pub detail: String,
}

impl Problem {
    /// A response carrying this problem.
    pub fn response(status: StatusCode, title: &str, detail: impl Into<String>) -> HttpResponse {
        HttpResponse::build(status)
            .content_type("application/problem+json")
            .json(Problem {
                kind: "about:blank".into(),
                title: title.into(),
                status: status.as_u16(),
                detail: detail.into(),
            })
    }
}

#[derive(Debug, Serialize)]
struct PluginHealth<'a> {
    id: &'a str,
    version: &'a str,
    enabled: bool,
    consecutive_failures: u32,
}

#[derive(Debug, Serialize)]
struct Health<'a> {
    status: &'static str,
    version: &'static str,
    uptime_s: u64,
    plugins: Vec<PluginHealth<'a>>,
}

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
    let status = if plugins.iter().all(|p| p.enabled) {
        "ok"
    } else {
        "degraded"
    };
    HttpResponse::Ok().json(Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: state.started.elapsed().as_secs(),
        plugins,
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
        cfg.app_data(state)
            .route("/healthz", web::get().to(healthz));
    }
}

/// Starts the HTTP server on an already-bound listener.
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .configure(configure(state.clone()))
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// Runs the server on the current thread until it is stopped (Ctrl-C or SIGTERM).
pub fn run_until_stopped(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move { serve(listener, state)?.await })
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
