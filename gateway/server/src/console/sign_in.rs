//! Signing in with an API token, and out.
//!
//! `GET /console/sign-in` shows the form; `POST /console/sign-in` checks the token as the API
//! would (unknown or revoked: the form again, `401`), opens a session and sends the browser to
//! `next` (a console path only). The per-ticket view shows the same form inside the helpdesk's
//! frame (`embedded`), whose session cookie is the partitioned one. `POST /console/sign-out`
//! ends the session and clears both cookies.

use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{NO_FRAMES, Section, html_response, page, secure_headers};
use super::{Console, console, local_path};
use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::{AuthError, caller_of, token_sha256};

/// The longest token accepted (ours are 47 bytes).
const MAX_TOKEN_BYTES: usize = 256;

/// `GET /console/sign-in` query.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    next: Option<String>,
}

/// `POST /console/sign-in` form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    token: String,
    next: Option<String>,
    /// Set by the form inside the per-ticket view.
    embedded: Option<String>,
}

fn form_markup(next: &str, embedded: bool, error: Option<&str>) -> Markup {
    html! {
        h1 { "Sign in" }
        p { "Paste your Deskbridge API token. An admin creates one with "
            code { "deskbridge token create" } "." }
        @if let Some(error) = error {
            p.error role="alert" id="sign-in-error" { (error) }
        }
        form.signin method="post" action="/console/sign-in" {
            input type="hidden" name="next" value=(next);
            @if embedded { input type="hidden" name="embedded" value="1"; }
            label for="token" { "API token" }
            input id="token" name="token" type="password" autocomplete="off" required
                maxlength=(MAX_TOKEN_BYTES) aria-describedby=[error.map(|_| "sign-in-error")];
            button type="submit" { "Sign in" }
        }
    }
}

/// `GET /console/sign-in`.
pub(crate) async fn form(
    state: web::Data<AppState>,
    query: web::Query<SignInQuery>,
) -> HttpResponse {
    if let Err(response) = console(&state) {
        return response;
    }
    let next = local_path(query.next.as_deref());
    html_response(
        StatusCode::OK,
        page(
            "Sign in",
            None,
            Section::None,
            form_markup(next, false, None),
        ),
        NO_FRAMES,
    )
}

/// The sign-in form inside the per-ticket view (no session there yet).
pub(crate) fn embedded_form(
    request: &HttpRequest,
    console: &Console,
    error: Option<&str>,
) -> HttpResponse {
    let next = local_path(Some(request.path()));
    html_response(
        if error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        },
        page(
            "Sign in",
            None,
            Section::None,
            form_markup(next, true, error),
        ),
        &super::ticket::frame_ancestors(console),
    )
}

/// `POST /console/sign-in`.
pub(crate) async fn submit(
    request: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> HttpResponse {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    if !super::same_origin(&request, console.public_origin.as_deref()) {
        return super::page_error(
            None,
            &ApiError::refused(
                StatusCode::FORBIDDEN,
                "this sign-in form was sent from another site",
            ),
        );
    }
    let Some(store) = state.store.as_ref() else {
        return super::page_error(None, &ApiError::NoStore);
    };
    let form = form.into_inner();
    let embedded = form.embedded.is_some();
    let next = local_path(form.next.as_deref()).to_owned();
    let token = form.token.trim();
    let again = |detail: &str| {
        let ancestors = if embedded {
            super::ticket::frame_ancestors(console)
        } else {
            NO_FRAMES.to_owned()
        };
        html_response(
            StatusCode::UNAUTHORIZED,
            page(
                "Sign in",
                None,
                Section::None,
                form_markup(&next, embedded, Some(detail)),
            ),
            &ancestors,
        )
    };
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return again("That is not an API token.");
    }
    let hash = token_sha256(token);
    let caller = match caller_of(store.as_ref(), &hash) {
        Ok(caller) => caller,
        Err(AuthError::Store(cause)) => {
            return super::page_error(None, &ApiError::internal("checking a sign-in token", cause));
        }
        Err(AuthError::Revoked(_)) => return again("This token was revoked."),
        Err(_) => return again("This token is not known to this gateway."),
    };
    let (id, _) = match console.sessions.open(hash, caller) {
        Ok(opened) => opened,
        Err(detail) => {
            return super::page_error(
                None,
                &ApiError::refused(StatusCode::SERVICE_UNAVAILABLE, detail),
            );
        }
    };
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, next));
    // Inside a helpdesk's frame the strict cookie is not sent across sites; the partitioned
    // one is. Both name the same session.
    response.append_header((SET_COOKIE, console.sessions.set_cookie(&id, false)));
    if embedded {
        response.append_header((SET_COOKIE, console.sessions.set_cookie(&id, true)));
    }
    let mut response = response.finish();
    if embedded {
        secure_headers(&mut response, &super::ticket::frame_ancestors(console));
    } else {
        secure_headers(&mut response, NO_FRAMES);
    }
    response
}

/// `POST /console/sign-out` form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignOutForm {
    /// Missing reads as empty: refused as a CSRF failure, not as a malformed form.
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sign-out`.
pub(crate) async fn sign_out(
    request: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignOutForm>,
) -> HttpResponse {
    // Inside a helpdesk's frame only the partitioned cookie is sent, under /console/tickets.
    let embedded = request.path().starts_with(super::session::EMBED_PATH);
    let (session, console) = match super::signed_in(&request, &state, embedded) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = super::check_csrf(&session, &form.csrf) {
        return response;
    }
    console.sessions.close_for(&request);
    if embedded {
        // The sign-in form in place of the drafts, still inside the frame.
        let mut response = html_response(
            StatusCode::OK,
            page(
                "Sign in",
                None,
                Section::None,
                form_markup("/console", true, None),
            ),
            &super::ticket::frame_ancestors(console),
        );
        for cookie in console.sessions.clear_cookies() {
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        return response;
    }
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, "/console/sign-in"));
    for cookie in console.sessions.clear_cookies() {
        response.append_header((SET_COOKIE, cookie));
    }
    let mut response = response.finish();
    secure_headers(&mut response, NO_FRAMES);
    response
}
