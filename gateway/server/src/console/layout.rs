//! The page frame every console page shares (header, navigation by role, sign-out), the
//! security headers of every console response, and the error page.

use actix_web::HttpResponse;
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use deskbridge_core::Role;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::Session;
use crate::api_error::ApiError;

/// `frame-ancestors` of every page but the per-ticket view.
pub(crate) const NO_FRAMES: &str = "'none'";

/// Which section a page belongs to (highlighted in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Queue,
    Audit,
    Insights,
    Admin,
    /// The per-ticket view inside a helpdesk's frame.
    Ticket,
    None,
}

/// Adds the console's security headers; `frame_ancestors` is the CSP source list of who may
/// embed the response (`'none'` for every page but the per-ticket view).
pub(crate) fn secure_headers(response: &mut HttpResponse, frame_ancestors: &str) {
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    if frame_ancestors == NO_FRAMES {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An HTML response with the security headers.
pub(crate) fn html_response(
    status: StatusCode,
    markup: Markup,
    frame_ancestors: &str,
) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(markup.into_string());
    secure_headers(&mut response, frame_ancestors);
    response
}

/// A whole page: head, header with navigation for `session`'s roles, and `body`.
pub(crate) fn page(
    title: &str,
    session: Option<&Session>,
    section: Section,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Deskbridge" }
                link rel="stylesheet" href=(assets::path("console.css"));
                script src=(assets::path("console.js")) defer {}
            }
            body data-embedded=[(section == Section::Ticket).then_some("1")] {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Deskbridge" }
                    @if let Some(session) = session {
                        nav aria-label="Sections" {
                            @let roles = &session.caller.roles;
                            @if roles.iter().any(|r| crate::drafts::DECIDERS.contains(r)) {
                                a href="/console/queue" aria-current=[(section == Section::Queue).then_some("page")] { "Queue" }
                            }
                            @if roles.iter().any(|r| matches!(r, Role::Reviewer | Role::Admin)) {
                                a href="/console/audit" aria-current=[(section == Section::Audit).then_some("page")] { "Approval log" }
                            }
                            @if roles.iter().any(|r| matches!(r, Role::Reviewer | Role::Supervisor | Role::Admin)) {
                                a href="/console/insights" aria-current=[(section == Section::Insights).then_some("page")] { "Insights" }
                            }
                            @if roles.contains(&Role::Admin) {
                                a href="/console/admin" aria-current=[(section == Section::Admin).then_some("page")] { "Admin" }
                            }
                        }
                        form.signout method="post" action=(if section == Section::Ticket { "/console/tickets/sign-out" } else { "/console/sign-out" }) {
                            input type="hidden" name="csrf" value=(session.csrf);
                            span.who {
                                (session.caller.person) " · "
                                (session.caller.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))
                            }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

/// The page for an error: its status, and what went wrong as the API would say it (a
/// failure of the gateway is logged and described without its cause).
pub(crate) fn page_error(session: Option<&Session>, error: &ApiError) -> HttpResponse {
    // The API's own rendering logs an internal failure once; the page says the same words.
    let status = error.status_code();
    error.log_if_internal();
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        h1 { (title) }
        p.error role="alert" { (error.to_string()) }
        p { a href="/console" { "Back to the console" } }
    };
    html_response(status, page(title, session, Section::None, body), NO_FRAMES)
}

/// "3 min", "5 h", "2 d": how long ago, for people.
pub(crate) fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 90 => format!("{s} s"),
        s if s < 90 * 60 => format!("{} min", s / 60),
        s if s < 36 * 3600 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// `YYYY-MM-DD HH:MM:SS` UTC of Unix milliseconds.
pub(crate) fn utc(ms: i64) -> String {
    deskbridge_core::civil_time::UtcDateTime::from_unix_ms(ms).readable()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_forbids_inline_scripts_and_framing() {
        let response = html_response(StatusCode::OK, html! { p { "x" } }, NO_FRAMES);
        let csp = response
            .headers()
            .get(CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
        assert_eq!(
            response
                .headers()
                .get(X_FRAME_OPTIONS)
                .map(|v| v.as_bytes()),
            Some(&b"DENY"[..])
        );
    }

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(age(5), "5 s");
        assert_eq!(age(600), "10 min");
        assert_eq!(age(7200), "2 h");
        assert_eq!(age(3 * 86_400), "3 d");
        assert_eq!(age(-4), "0 s");
    }
}
