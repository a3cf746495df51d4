//! `GET /api/v1/drafts`: the approval queue as agents page through it.
//!
//! Drafts are filtered by `state` (default: open ones), `helpdesk`, `ticket`, `plugin`,
//! `flag` and `older_than_s`, ordered oldest first (creation time, then id), and served
//! `limit` at a time (default 100, at most 1,000). When more follow, the response carries an
//! RFC 8288 `Link: <…>; rel="next"` header whose URL repeats the query with `after` set to
//! where the page ended; the body stays a plain array. Filtering, ordering and paging work on
//! draft heads (no text, no ticket), and only the drafts of the page are read whole, so a page
//! costs the same whether the store holds a hundred drafts or a hundred thousand.
//!
//! A draft's creation time is taken when its plugin runs, a moment before it is stored, and
//! lanes run in parallel: a draft stored while a client pages can sort before the page it
//! already has. It shows in the next listing from the start (the queue's own refresh).

use actix_web::{HttpResponse, web};
use deskbridge_pipeline::now_ms;
use deskbridge_store::{DraftHead, PendingDraft, Store};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::drafts::{DECIDERS, DraftSummary, summary};
use crate::problem::Problem;

/// Drafts per page unless `limit` says otherwise.
const DEFAULT_PAGE: usize = 100;

/// The largest `limit`.
const MAX_PAGE: usize = 1000;

const STATES: [&str; 7] = [
    "open",
    "pending",
    "escalated",
    "approved",
    "rejected",
    "expired",
    "sent",
];

/// `GET /api/v1/drafts` query.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DraftFilter {
    /// `open` (the default: pending or escalated), `all`, or one state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<String>,
    /// Only this helpdesk instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) helpdesk: Option<String>,
    /// Only this ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ticket: Option<String>,
    /// Only drafts of this plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) plugin: Option<String>,
    /// Only drafts carrying this flag code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) flag: Option<String>,
    /// Only drafts at least this old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) older_than_s: Option<u64>,
    /// Drafts per page: 1 to 1000, default 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<usize>,
    /// Where the previous page ended, as given in its `Link: rel="next"` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<String>,
}

impl DraftFilter {
    fn matches(&self, draft: &DraftHead, now_ms: i64) -> bool {
        let state_ok = match self.state.as_deref().unwrap_or("open") {
            "open" => draft.state.is_open(),
            "all" => true,
            wanted => wanted == draft.state.name(),
        };
        state_ok
            && self.helpdesk.as_ref().is_none_or(|h| *h == draft.helpdesk)
            && self.ticket.as_ref().is_none_or(|t| *t == draft.ticket_id)
            && self.plugin.as_ref().is_none_or(|p| *p == draft.plugin_id)
            && self
                .flag
                .as_ref()
                .is_none_or(|f| draft.flags.iter().any(|flag| flag == f))
            && self.older_than_s.is_none_or(|s| {
                now_ms.saturating_sub(draft.created_at_ms)
                    >= i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
            })
    }

    /// The page size, or what is wrong with the query.
    fn checked(&self) -> Result<(usize, Option<PageEnd>), String> {
        if let Some(wanted) = self.state.as_deref()
            && wanted != "all"
            && !STATES.contains(&wanted)
        {
            return Err(format!(
                "state: {wanted:?} is not one of all, {}",
                STATES.join(", ")
            ));
        }
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(format!("limit: {limit} is not between 1 and {MAX_PAGE}"));
        }
        let after = self.after.as_deref().map(PageEnd::parse).transpose()?;
        Ok((limit, after))
    }
}

/// Where a page ended: the last draft's creation time and id (`{created_at_ms}.{id}`).
#[derive(Debug, PartialEq)]
struct PageEnd {
    created_at_ms: i64,
    id: String,
}

impl PageEnd {
    fn of(draft: &DraftHead) -> PageEnd {
        PageEnd {
            created_at_ms: draft.created_at_ms,
            id: draft.id.clone(),
        }
    }

    fn parse(text: &str) -> Result<PageEnd, String> {
        let parsed = text.split_once('.').and_then(|(at, id)| {
            let created_at_ms = at.parse().ok()?;
            (!id.is_empty()).then(|| PageEnd {
                created_at_ms,
                id: id.to_owned(),
            })
        });
        parsed.ok_or_else(|| {
            format!("after: {text:?} is not a page end (copy it from the Link header)")
        })
    }

    fn render(&self) -> String {
        format!("{}.{}", self.created_at_ms, self.id)
    }

    /// Whether `draft` comes at or before this end in the listing's order.
    fn covers(&self, draft: &DraftHead) -> bool {
        (draft.created_at_ms, draft.id.as_str()) <= (self.created_at_ms, self.id.as_str())
    }
}

/// `GET /api/v1/drafts`.
#[utoipa::path(
    get,
    path = "/api/v1/drafts",
    tag = "drafts",
    summary = "List drafts awaiting review (agents, supervisors), a page at a time",
    params(DraftFilter),
    responses(
        (status = 200, description = "Matching drafts, oldest first", body = Vec<DraftSummary>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more drafts follow: the same query with `after` set"))),
        (status = 400, description = "An unknown state, a limit out of range or a malformed `after`", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    filter: web::Query<DraftFilter>,
) -> Result<HttpResponse, ApiError> {
    caller.require(DECIDERS)?;
    let store = state.store.as_ref().ok_or(ApiError::NoStore)?;
    let now = now_ms();
    let page = page(store.as_ref(), filter.into_inner(), now)?;
    let listed: Vec<DraftSummary<'_>> = page.drafts.iter().map(|d| summary(d, now)).collect();
    let mut response = HttpResponse::Ok();
    if let Some(next) = &page.next
        && let Ok(query) = serde_urlencoded::to_string(next)
    {
        response.insert_header(("Link", format!("</api/v1/drafts?{query}>; rel=\"next\"")));
    }
    Ok(response.json(listed))
}

/// One page of the queue.
pub(crate) struct DraftPage {
    /// The drafts, oldest first.
    pub drafts: Vec<PendingDraft>,
    /// The query of the next page, when more drafts follow.
    pub next: Option<DraftFilter>,
}

/// The drafts matching `filter`, oldest first, one page (the API and the console's queue).
pub(crate) fn page(
    store: &dyn Store,
    filter: DraftFilter,
    now: i64,
) -> Result<DraftPage, ApiError> {
    let (limit, after) = filter.checked().map_err(ApiError::bad_request)?;
    let mut heads = store
        .draft_heads()
        .map_err(|e| ApiError::internal("listing drafts", e))?;
    heads.retain(|head| filter.matches(head, now));
    heads.sort_unstable_by(|a, b| {
        (a.created_at_ms, a.id.as_str()).cmp(&(b.created_at_ms, b.id.as_str()))
    });
    let start = after.map_or(0, |end| heads.partition_point(|head| end.covers(head)));
    let page = &heads[start.min(heads.len())..heads.len().min(start.saturating_add(limit))];
    let mut drafts = Vec::with_capacity(page.len());
    for head in page {
        match store.draft(&head.id) {
            // Decided since the heads were read, it may no longer match: left out.
            Ok(Some(draft)) if filter.matches(&DraftHead::of(&draft), now) => drafts.push(draft),
            Ok(_) => {}
            Err(e) => return Err(ApiError::internal("reading a listed draft", e)),
        }
    }
    let next = match page.last() {
        Some(last) if start + page.len() < heads.len() => Some(DraftFilter {
            limit: Some(limit),
            after: Some(PageEnd::of(last).render()),
            ..filter
        }),
        _ => None,
    };
    Ok(DraftPage { drafts, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_end_round_trips_and_bad_ones_are_named() {
        let end = PageEnd {
            created_at_ms: 17,
            id: "evt-a.suggest-reply.0".into(),
        };
        assert_eq!(PageEnd::parse(&end.render()), Ok(end));
        for bad in ["", "17", "17.", "x.evt", ".evt"] {
            let err = PageEnd::parse(bad).expect_err(bad);
            assert!(err.starts_with("after:"), "{err}");
        }
    }
}
