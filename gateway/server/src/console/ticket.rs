//! `GET /console/tickets/{helpdesk}/{ticket}`: the open drafts of one ticket with the same
//! approve / edit / reject / escalate actions, made to sit in a helpdesk's ticket sidebar
//! (the Zendesk and Freshdesk apps under `apps/` frame it).
//!
//! For an email helpdesk it also shows the ticket's whole thread and notes
//! (`mail_thread.rs`): a mailbox has no screen of its own.
//!
//! Only this view may be framed, and only by the configured helpdesks' origins
//! (`frame-ancestors`: each helpdesk's `base_url` origin plus `[console] frame_ancestors`); a
//! page elsewhere that frames it gets nothing. Without a session it shows the sign-in form in
//! place, which opens a session with the partitioned cookie a third-party frame can keep.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use deskbridge_pipeline::now_ms;
use maud::html;

use super::draft::{DecideForm, banner, draft_view, take_decision};
use super::layout::{Section, html_response, page as frame, page_error};
use super::session::Session;
use super::{Console, check_csrf, see_other, signed_in};
use crate::AppState;
use crate::api_error::ApiError;
use crate::draft_list::{DraftFilter, page as draft_page};
use crate::drafts::DECIDERS;

/// The `frame-ancestors` source list of the per-ticket view.
pub(crate) fn frame_ancestors(console: &Console) -> String {
    if console.frame_ancestors.is_empty() {
        super::layout::NO_FRAMES.to_owned()
    } else {
        console.frame_ancestors.join(" ")
    }
}

/// Whether a helpdesk name or ticket id from the path is one the gateway could hold (they
/// go into links and a `Location` header).
pub(super) fn plain(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= 128
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// One ticket's view, for one session.
struct TicketPage<'a> {
    state: &'a AppState,
    session: &'a Session,
    console: &'a Console,
    helpdesk: &'a str,
    ticket: &'a str,
}

impl TicketPage<'_> {
    fn here(&self) -> String {
        format!("/console/tickets/{}/{}", self.helpdesk, self.ticket)
    }

    /// The page; `problem` is the refusal of the last decision, `done` what it did.
    fn render(
        &self,
        status: StatusCode,
        problem: Option<&ApiError>,
        done: Option<&str>,
    ) -> HttpResponse {
        let ancestors = frame_ancestors(self.console);
        let listed = self
            .session
            .caller
            .require(DECIDERS)
            .map_err(ApiError::from)
            .and_then(|()| {
                let store = self.state.store.as_ref().ok_or(ApiError::NoStore)?;
                let filter = DraftFilter {
                    state: None,
                    helpdesk: Some(self.helpdesk.to_owned()),
                    ticket: Some(self.ticket.to_owned()),
                    plugin: None,
                    flag: None,
                    older_than_s: None,
                    limit: Some(20),
                    after: None,
                };
                let listed = draft_page(store.as_ref(), filter, now_ms())?;
                let thread = store
                    .mail_thread(self.helpdesk, self.ticket)
                    .map_err(|e| ApiError::internal("reading an email ticket", e))?;
                Ok((listed, thread))
            });
        let (listed, thread) = match listed {
            Ok(found) => found,
            Err(error) => {
                let mut response = page_error(Some(self.session), &error);
                super::layout::secure_headers(&mut response, &ancestors);
                return response;
            }
        };
        let here = self.here();
        let body = html! {
            h1.small { "Deskbridge drafts for ticket " (self.ticket) }
            @match done {
                Some("approved") => p.notice role="status" { "Approved." },
                Some("rejected") => p.notice role="status" { "Rejected." },
                Some("escalated") => p.notice role="status" { "Escalated to a supervisor." },
                _ => {},
            }
            (banner(problem, &here))
            @if listed.drafts.is_empty() {
                p id="empty" { "No draft waits for a decision on this ticket." }
            }
            @for draft in &listed.drafts {
                (draft_view(self.state, self.session, draft, &format!("{here}/drafts/{}", draft.id), true))
            }
            @if let Some(thread) = &thread {
                (super::mail_thread::view(thread))
            }
        };
        html_response(
            status,
            frame("Ticket drafts", Some(self.session), Section::Ticket, body),
            &ancestors,
        )
    }
}

/// `GET /console/tickets/{helpdesk}/{ticket}`.
pub(crate) async fn page(
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (session, console) = match signed_in(&request, &state, true) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (helpdesk, ticket) = path.into_inner();
    if !plain(&helpdesk) || !plain(&ticket) {
        return page_error(Some(&session), &ApiError::not_found("no such ticket"));
    }
    let done = request
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("done="))
        .map(str::to_owned);
    let view = TicketPage {
        state: &state,
        session: &session,
        console,
        helpdesk: &helpdesk,
        ticket: &ticket,
    };
    view.render(StatusCode::OK, None, done.as_deref())
}

/// `POST /console/tickets/{helpdesk}/{ticket}/drafts/{id}`.
pub(crate) async fn decide(
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    let (session, console) = match signed_in(&request, &state, true) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (helpdesk, ticket, id) = path.into_inner();
    if !plain(&helpdesk) || !plain(&ticket) {
        return page_error(Some(&session), &ApiError::not_found("no such ticket"));
    }
    if let Err(mut response) = check_csrf(&session, form.csrf()) {
        super::layout::secure_headers(&mut response, &frame_ancestors(console));
        return response;
    }
    let view = TicketPage {
        state: &state,
        session: &session,
        console,
        helpdesk: &helpdesk,
        ticket: &ticket,
    };
    let belongs = state
        .store
        .as_ref()
        .and_then(|store| store.draft(&id).ok().flatten())
        .is_some_and(|d| d.helpdesk == helpdesk && d.ticket_id == ticket);
    let outcome = if belongs {
        take_decision(&state, &session, &id, &form).await
    } else {
        Err(ApiError::not_found(format!(
            "no draft {id} on ticket {ticket}"
        )))
    };
    match outcome {
        Ok(done) => {
            let mut response = see_other(&format!("{}?done={done}", view.here()));
            super::layout::secure_headers(&mut response, &frame_ancestors(console));
            response
        }
        Err(error) => {
            error.log_if_internal();
            view.render(error.status_code(), Some(&error), None)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_names_reach_links() {
        assert!(super::plain("acme"));
        assert!(super::plain("12345"));
        for bad in [
            "",
            "a/b",
            "a b",
            "x\r\nSet-Cookie:1",
            "../x",
            &"a".repeat(129),
        ] {
            assert!(!super::plain(bad), "{bad:?}");
        }
    }
}
