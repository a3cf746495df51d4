//! `GET /console/queue`: the agents' approval queue — the API's listing (`draft_list`) with
//! its filters (helpdesk, plugin, flag, age) as a form, oldest first, one page at a time.
//! `j`/`k` move through the rows, `Enter` opens one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbridge_core::ApproverRole;
use deskbridge_core::review::effective_requirement;
use deskbridge_pipeline::now_ms;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{NO_FRAMES, Section, age, html_response, page as frame, page_error};
use super::signed_in_as;
use crate::AppState;
use crate::api_error::ApiError;
use crate::draft_list::{DraftFilter, page as draft_page};
use crate::drafts::DECIDERS;

/// Drafts per page of the queue.
const PAGE: usize = 50;

/// The filter form's fields (empty fields mean "any").
#[derive(Debug, Default, Deserialize)]
pub(crate) struct QueueQuery {
    helpdesk: Option<String>,
    plugin: Option<String>,
    flag: Option<String>,
    older_than_s: Option<String>,
    after: Option<String>,
    /// What the previous action did, for the banner (`approved`, `rejected`, …).
    done: Option<String>,
}

fn some(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl QueueQuery {
    fn filter(&self) -> Result<DraftFilter, ApiError> {
        let older_than_s = match some(&self.older_than_s) {
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("older_than_s: {text:?} is not a number of seconds"))
            })?),
            None => None,
        };
        Ok(DraftFilter {
            state: None,
            helpdesk: some(&self.helpdesk),
            ticket: None,
            plugin: some(&self.plugin),
            flag: some(&self.flag),
            older_than_s,
            limit: Some(PAGE),
            after: some(&self.after),
        })
    }
}

/// What a banner says about the decision just taken.
fn done_banner(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "approved" => Some("Approved. The reply is on its way once every approval it needs is in."),
        "rejected" => Some("Rejected. The draft will never be sent."),
        "escalated" => Some("Escalated to a supervisor."),
        _ => None,
    }
}

/// `GET /console/queue`.
pub(crate) async fn page(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<QueueQuery>,
) -> HttpResponse {
    let (session, _) = match signed_in_as(&request, &state, DECIDERS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(store) = state.store.clone() else {
        return page_error(Some(&session), &ApiError::NoStore);
    };
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(error) => return page_error(Some(&session), &error),
    };
    let now = now_ms();
    let listed = match web::block(move || draft_page(store.as_ref(), filter, now)).await {
        Ok(Ok(listed)) => listed,
        Ok(Err(error)) => return page_error(Some(&session), &error),
        Err(error) => {
            return page_error(Some(&session), &ApiError::internal("listing drafts", error));
        }
    };
    // Every configured helpdesk: those fed by webhooks and those without (a mailbox).
    let mut helpdesks: Vec<&str> = state
        .webhooks
        .iter()
        .flat_map(|w| w.endpoints.keys().map(String::as_str))
        .chain(state.readiness.iter().flat_map(|r| r.helpdesk_names()))
        .collect();
    helpdesks.sort_unstable();
    helpdesks.dedup();
    let plugins: Vec<&str> = state.plugins.iter().map(|p| p.id()).collect();
    let next = listed.next.as_ref().and_then(|next| {
        let mut query = vec![];
        for (key, value) in [
            ("helpdesk", &next.helpdesk),
            ("plugin", &next.plugin),
            ("flag", &next.flag),
            ("after", &next.after),
        ] {
            if let Some(value) = value {
                query.push((key, value.clone()));
            }
        }
        if let Some(s) = next.older_than_s {
            query.push(("older_than_s", s.to_string()));
        }
        serde_urlencoded::to_string(query).ok()
    });
    let body = html! {
        h1 { "Approval queue" }
        @if let Some(banner) = done_banner(query.done.as_deref()) {
            p.notice role="status" { (banner) }
        }
        (filters(&query, &helpdesks, &plugins))
        @if listed.drafts.is_empty() {
            p id="empty" { "No draft waits for a decision with these filters." }
        } @else {
            table.queue aria-describedby="queue-help" {
                caption { "Drafts waiting for a decision, oldest first" }
                thead { tr {
                    th scope="col" { "Waiting" }
                    th scope="col" { "Helpdesk" }
                    th scope="col" { "Ticket" }
                    th scope="col" { "Subject" }
                    th scope="col" { "Plugin" }
                    th scope="col" { "Needs" }
                    th scope="col" { "Flags" }
                } }
                tbody {
                    @for draft in &listed.drafts {
                        @let requirement = effective_requirement(&draft.facts(None), &draft.review);
                        tr data-href=(format!("/console/drafts/{}", draft.id)) {
                            td { (age((now - draft.created_at_ms) / 1000)) }
                            td { (draft.helpdesk) }
                            td { (draft.ticket_id) }
                            td { a href=(format!("/console/drafts/{}", draft.id)) {
                                (draft.context.as_ref().map_or("(no subject)", |t| t.subject.as_str()))
                            } }
                            td { (draft.provenance.plugin_id) " " (draft.provenance.plugin_version) }
                            td {
                                (requirement.approvers) " × "
                                (match requirement.role { ApproverRole::Agent => "agent", ApproverRole::Supervisor => "supervisor" })
                                @if draft.review.state.name() == "escalated" { " (escalated)" }
                            }
                            td { @for flag in &draft.flags { span.flag { (flag.code) } " " } }
                        }
                    }
                }
            }
            p.hint id="queue-help" { "Keys: j / k move, Enter opens." }
        }
        @if let Some(next) = next {
            p { a rel="next" href=(format!("/console/queue?{next}")) { "Next page" } }
        }
    };
    html_response(
        StatusCode::OK,
        frame("Queue", Some(&session), Section::Queue, body),
        NO_FRAMES,
    )
}

fn filters(query: &QueueQuery, helpdesks: &[&str], plugins: &[&str]) -> Markup {
    let chosen = |value: &Option<String>, option: &str| value.as_deref() == Some(option);
    html! {
        form.filters method="get" action="/console/queue" role="search" aria-label="Filter the queue" {
            label { "Helpdesk "
                select name="helpdesk" {
                    option value="" { "any" }
                    @for h in helpdesks { option value=(h) selected[chosen(&query.helpdesk, h)] { (h) } }
                }
            }
            label { "Plugin "
                select name="plugin" {
                    option value="" { "any" }
                    @for p in plugins { option value=(p) selected[chosen(&query.plugin, p)] { (p) } }
                }
            }
            label { "Flag "
                input type="text" name="flag" size="16" placeholder="e.g. prompt-injection"
                    value=(query.flag.as_deref().unwrap_or(""));
            }
            label { "Waiting at least "
                select name="older_than_s" {
                    @for (seconds, label) in [("", "any time"), ("3600", "1 hour"), ("14400", "4 hours"), ("86400", "1 day")] {
                        option value=(seconds) selected[chosen(&query.older_than_s, seconds)] { (label) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}
