//! The web console, served under `/console/` by the gateway itself: server-rendered HTML
//! (maud, escaped by construction) with a little JavaScript of our own for what must happen
//! in the browser (the edit diff, keyboard shortcuts, checking approval-log proofs). Every
//! asset is embedded in the binary; nothing is loaded from elsewhere.
//!
//! - [`session`]: sign-in with an API token, cookies, CSRF tokens, expiry.
//! - `sign_in`: the sign-in and sign-out pages.
//! - `queue`: the agents' approval queue; `draft`: one draft and the decision on it.
//! - `ticket`: the per-ticket view the helpdesk sidebar apps embed.
//! - `audit`: the reviewers' approval log with in-browser proof checks.
//! - `admin`: status, the stop switch, dead letters, failed events and tokens.
//! - `insights`: findings with one action each, figures, and server-rendered SVG charts.
//! - `layout`: the page frame, the security headers and the error page.
//! - `assets`: the embedded stylesheet and scripts.
//!
//! Every response carries a Content-Security-Policy without `unsafe-inline` (scripts and
//! styles only from our own files), `frame-ancestors 'none'` except on the per-ticket view,
//! `no-store` caching and `nosniff`. Roles are the API's: what a role may not do, its pages
//! do not offer and its requests are refused.

// Handlers return early with the page to show instead (sign-in, 403, error): an
// `HttpResponse` in `Err` is the point, not an accident of size.
#![allow(clippy::result_large_err)]

mod admin;
mod assets;
mod audit;
mod draft;
mod insights;
mod layout;
mod mail_thread;
mod queue;
pub(crate) mod session;
mod sign_in;
mod ticket;

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbridge_core::Role;

use crate::AppState;
use crate::api_error::ApiError;
use session::{NoSession, Session, Sessions};

pub(crate) use layout::page_error;

/// The largest form the console accepts (a decision carries the edited reply).
pub(crate) const MAX_FORM_BYTES: usize = 256 * 1024;

/// What the console needs beyond the API's state.
#[derive(Debug)]
pub struct Console {
    sessions: Sessions,
    /// Origins allowed to embed the per-ticket view (`frame-ancestors`).
    frame_ancestors: Vec<String>,
    /// The origin of `[console] public_url`: behind a proxy, the origin browsers post from.
    public_origin: Option<String>,
}

impl Console {
    /// The console's settings: sessions ending after `idle` without use or `max` after
    /// sign-in, `Secure` cookies when `secure`, and the origins that may embed the
    /// per-ticket view.
    pub fn new(
        idle: std::time::Duration,
        max: std::time::Duration,
        secure: bool,
        frame_ancestors: Vec<String>,
    ) -> Self {
        Console {
            sessions: Sessions::new(idle, max, secure),
            frame_ancestors,
            public_origin: None,
        }
    }

    /// The origin people reach the console at (`[console] public_url`), when a proxy in
    /// front of the gateway changes the `Host` header.
    pub fn with_public_origin(mut self, origin: Option<String>) -> Self {
        self.public_origin = origin;
        self
    }
}

/// Registers the console's routes under `/console`.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(home))
        .route("/console/", web::get().to(home))
        .route("/console/assets/{name}", web::get().to(assets::serve))
        .route("/console/sign-in", web::get().to(sign_in::form))
        .route("/console/sign-in", web::post().to(sign_in::submit))
        .route("/console/sign-out", web::post().to(sign_in::sign_out))
        .route(
            "/console/tickets/sign-out",
            web::post().to(sign_in::sign_out),
        )
        .route("/console/queue", web::get().to(queue::page))
        .route("/console/drafts/{id}", web::get().to(draft::page))
        .route("/console/drafts/{id}", web::post().to(draft::decide))
        .route("/console/insights", web::get().to(insights::page))
        .route("/console/admin", web::get().to(admin::page))
        .route("/console/admin/pause", web::post().to(admin::switch))
        .route("/console/admin/resume", web::post().to(admin::switch))
        .route(
            "/console/admin/dead-letters/{id}",
            web::post().to(admin::dead_letter),
        )
        .route("/console/admin/tokens", web::post().to(admin::create_token))
        .route(
            "/console/admin/tokens/{id}/revoke",
            web::post().to(admin::revoke_token),
        )
        .route("/console/audit", web::get().to(audit::page))
        .route(
            "/console/audit/entries/{index}",
            web::get().to(audit::entry),
        )
        .route("/console/audit/export", web::get().to(audit::export))
        .route(
            "/console/tickets/{helpdesk}/{ticket}",
            web::get().to(ticket::page),
        )
        .route(
            "/console/tickets/{helpdesk}/{ticket}/drafts/{id}",
            web::post().to(ticket::decide),
        );
}

/// `GET /console`: the signed-in person's first page.
async fn home(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let session = match signed_in(&request, &state, false) {
        Ok((session, _)) => session,
        Err(response) => return response,
    };
    let roles = &session.caller.roles;
    let first = if roles.iter().any(|r| crate::drafts::DECIDERS.contains(r)) {
        "/console/queue"
    } else {
        "/console/audit"
    };
    see_other(first)
}

/// The console's settings, or a 404 page when the console is off.
fn console(state: &AppState) -> Result<&Console, HttpResponse> {
    state.console.as_deref().ok_or_else(|| {
        page_error(
            None,
            &ApiError::not_found("the console is not enabled in this gateway's configuration"),
        )
    })
}

/// The session behind a request, or the response to give instead: the sign-in page for a
/// browser without one, an error page when the store cannot be read.
fn signed_in<'a>(
    request: &HttpRequest,
    state: &'a AppState,
    embedded: bool,
) -> Result<(Session, &'a Console), HttpResponse> {
    let console = console(state)?;
    let store = state
        .store
        .as_ref()
        .ok_or_else(|| page_error(None, &ApiError::NoStore))?;
    match console.sessions.current(request, store.as_ref(), embedded) {
        Ok(session) => Ok((session, console)),
        Err(NoSession::Unavailable(cause)) => Err(page_error(
            None,
            &ApiError::internal("reading the session's token", cause),
        )),
        Err(NoSession::Missing | NoSession::Ended) if embedded => {
            Err(sign_in::embedded_form(request, console, None))
        }
        Err(NoSession::Missing | NoSession::Ended) => {
            let next = request
                .uri()
                .path_and_query()
                .map_or("/console", |p| p.as_str());
            Err(see_other(&format!(
                "/console/sign-in?next={}",
                serde_urlencoded::to_string([("", next)])
                    .map(|q| q.trim_start_matches('=').to_owned())
                    .unwrap_or_default()
            )))
        }
    }
}

/// The session behind a request if it holds one of `allowed`; the sign-in, 403 or error page
/// otherwise.
fn signed_in_as<'a>(
    request: &HttpRequest,
    state: &'a AppState,
    allowed: &[Role],
) -> Result<(Session, &'a Console), HttpResponse> {
    let (session, console) = signed_in(request, state, false)?;
    require(&session, allowed)?;
    Ok((session, console))
}

/// The session, if it holds one of `allowed`; the 403 page otherwise.
fn require(session: &Session, allowed: &[Role]) -> Result<(), HttpResponse> {
    session
        .caller
        .require(allowed)
        .map_err(|e| page_error(Some(session), &ApiError::from(e)))
}

/// Refuses a state-changing request whose form lacks the session's CSRF token.
fn check_csrf(session: &Session, offered: &str) -> Result<(), HttpResponse> {
    if session::csrf_matches(session, offered) {
        Ok(())
    } else {
        Err(page_error(
            Some(session),
            &ApiError::refused(
                actix_web::http::StatusCode::FORBIDDEN,
                "this form did not come from a console page of your session (its CSRF token is missing or stale); reload the page and try again",
            ),
        ))
    }
}

/// Whether a POST came from a page of this gateway: a browser's `Origin` header, when it
/// sends one, must name the host the request was sent to. It guards the sign-in form (which
/// has no session, so no CSRF token, yet) against login CSRF; the other forms also carry
/// the session's CSRF token.
fn same_origin(request: &HttpRequest, public_origin: Option<&str>) -> bool {
    let Some(origin) = request.headers().get(actix_web::http::header::ORIGIN) else {
        return true;
    };
    if public_origin.is_some_and(|public| {
        origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(public))
    }) {
        return true;
    }
    let host = request
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// A `303 See Other` to a path of the console.
fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther()
        .insert_header((LOCATION, location.to_owned()))
        .finish();
    layout::secure_headers(&mut response, layout::NO_FRAMES);
    response
}

/// `next` if it is a path of the console (no scheme, no host, no `//`), else `/console`:
/// the sign-in form cannot be used to send someone elsewhere.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with("/console")
                && !path.contains("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/console",
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn a_post_from_another_site_is_told_apart() {
        use actix_web::test::TestRequest;
        let ours = TestRequest::post()
            .insert_header(("Host", "127.0.0.1:8080"))
            .insert_header(("Origin", "http://127.0.0.1:8080"))
            .to_http_request();
        assert!(super::same_origin(&ours, None));
        let theirs = TestRequest::post()
            .insert_header(("Host", "127.0.0.1:8080"))
            .insert_header(("Origin", "https://evil.example"))
            .to_http_request();
        assert!(!super::same_origin(&theirs, None));
        let proxied = TestRequest::post()
            .insert_header(("Host", "127.0.0.1:8080"))
            .insert_header(("Origin", "https://db.example.com"))
            .to_http_request();
        assert!(super::same_origin(&proxied, Some("https://db.example.com")));
        let opaque = TestRequest::post()
            .insert_header(("Host", "127.0.0.1:8080"))
            .insert_header(("Origin", "null"))
            .to_http_request();
        assert!(!super::same_origin(&opaque, None));
        let no_origin = TestRequest::post()
            .insert_header(("Host", "x"))
            .to_http_request();
        assert!(
            super::same_origin(&no_origin, None),
            "non-browser clients send none"
        );
    }

    #[test]
    fn sign_in_redirects_only_inside_the_console() {
        assert_eq!(local_path(Some("/console/drafts/d1")), "/console/drafts/d1");
        for bad in [
            "https://evil.example",
            "//evil.example/console",
            "/console//evil",
            "/console\\..\\x",
            "/api/v1/tokens",
            "/console\r\nSet-Cookie: x",
        ] {
            assert_eq!(local_path(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(local_path(None), "/console");
    }
}
