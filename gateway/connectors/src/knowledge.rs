//! A helpdesk's knowledge, as complete listings for the knowledge base to reconcile against:
//! Zendesk's active macros (their reply text) and published Help Center articles, both with
//! cursor pagination; Freshdesk's canned responses (folder by folder) and published solution
//! articles (category → folder → articles), with page-number pagination and the `link`
//! header. Only what customers may read is listed: published articles visible to everyone
//! (Zendesk: no user segment; Freshdesk: folders for all or logged-in users). HTML becomes
//! plain text; every document is bounded by [`KnowledgeDoc::bounded`]; a listing stops with
//! an error past [`MAX_KNOWLEDGE_DOCS`] documents or [`MAX_REQUESTS`] requests in all, so a
//! looping cursor or a nest of folders cannot spin for ever. An account without the
//! articles product (Zendesk without Guide: `404`) still has its macros listed.

use deskbridge_core::{KnowledgeDoc, KnowledgeKind};
use reqwest::Method;
use serde_json::Value;

use crate::http::{Api, id_string, malformed};
use crate::{ApiError, FreshdeskClient, ZendeskClient};

/// Most documents one helpdesk's listing may hold (the index's own limit).
pub const MAX_KNOWLEDGE_DOCS: usize = 50_000;
/// Most requests one listing makes, all lists and pages together (a nest of folders cannot
/// multiply them; the listing shares the helpdesk's rate limit with ticket work).
const MAX_REQUESTS: usize = 2_000;
/// Items asked for per page (both vendors' maximum).
const PAGE_SIZE: &str = "100";

fn too_many(what: &str) -> ApiError {
    ApiError::Permanent {
        status: None,
        reason: format!(
            "{what}: more than {MAX_KNOWLEDGE_DOCS} documents or {MAX_REQUESTS} requests"
        ),
    }
}

/// The requests one listing has left.
struct Budget(usize);

impl Budget {
    fn spend(&mut self, what: &str) -> Result<(), ApiError> {
        self.0 = self.0.checked_sub(1).ok_or_else(|| too_many(what))?;
        Ok(())
    }
}

/// A numeric id from a list item, to put in the next request's path (anything else is
/// skipped: a helpdesk's answer never writes our URLs).
fn numeric_id(value: &Value) -> Option<String> {
    id_string(value).filter(|id| crate::http::is_numeric_id(id))
}

/// Adds `doc` (bounded) to `docs`, refusing past [`MAX_KNOWLEDGE_DOCS`].
fn push(docs: &mut Vec<KnowledgeDoc>, doc: KnowledgeDoc) -> Result<(), ApiError> {
    if docs.len() >= MAX_KNOWLEDGE_DOCS {
        return Err(too_many("knowledge listing"));
    }
    if let Some(doc) = doc.bounded() {
        docs.push(doc);
    }
    Ok(())
}

/// Items of an optional product's list: a `404` or `403` means the account does not have it
/// (Zendesk without Guide, a Freshdesk plan without solutions), so it has no items — the rest
/// of the listing still counts. Any other failure fails the listing.
fn none_if_absent(listing: Result<Vec<Value>, ApiError>) -> Result<Vec<Value>, ApiError> {
    match listing {
        Err(ApiError::Permanent {
            status: Some(403 | 404),
            ..
        }) => Ok(Vec::new()),
        other => other,
    }
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::to_owned)
        .filter(|s| !s.trim().is_empty())
}

/// Every item of a Zendesk cursor-paginated list (`page[size]`, `meta.has_more`,
/// `meta.after_cursor`), under `key`.
async fn zendesk_pages(
    api: &Api,
    path: &str,
    key: &str,
    budget: &mut Budget,
) -> Result<Vec<Value>, ApiError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        budget.spend(path)?;
        let mut query = vec![("page[size]", PAGE_SIZE)];
        if let Some(cursor) = &after {
            query.push(("page[after]", cursor.as_str()));
        }
        let page = api.send(Method::GET, path, &query, None, false).await?.body;
        let list = page[key]
            .as_array()
            .ok_or_else(|| malformed(&format!("`{key}`")))?;
        items.extend(list.iter().cloned());
        if items.len() > MAX_KNOWLEDGE_DOCS {
            return Err(too_many(path));
        }
        if page["meta"]["has_more"].as_bool() != Some(true) {
            return Ok(items);
        }
        after = Some(
            page["meta"]["after_cursor"]
                .as_str()
                .ok_or_else(|| malformed("`meta.after_cursor` while `has_more` is true"))?
                .to_owned(),
        );
    }
}

/// Every item of a Freshdesk list (`per_page`/`page`, a `link: <…>; rel="next"` header while
/// more pages follow).
async fn freshdesk_pages(
    api: &Api,
    path: &str,
    budget: &mut Budget,
) -> Result<Vec<Value>, ApiError> {
    let mut items = Vec::new();
    for page in 1.. {
        budget.spend(path)?;
        let page_number = page.to_string();
        let answer = api
            .send(
                Method::GET,
                path,
                &[("per_page", PAGE_SIZE), ("page", &page_number)],
                None,
                false,
            )
            .await?;
        let list = answer
            .body
            .as_array()
            .ok_or_else(|| malformed(&format!("a list from {path}")))?;
        items.extend(list.iter().cloned());
        if items.len() > MAX_KNOWLEDGE_DOCS {
            return Err(too_many(path));
        }
        if !answer.has_next_page() {
            return Ok(items);
        }
    }
    Err(too_many(path))
}

/// The reply text a Zendesk macro sets: its `comment_value` action (a string, or
/// `[channel, text]`), else its `comment_value_html` as text.
fn macro_comment(actions: &Value) -> Option<String> {
    let actions = actions.as_array()?;
    let value_of = |field: &str| {
        actions
            .iter()
            .find(|a| a["field"].as_str() == Some(field))
            .map(|a| &a["value"])
    };
    let plain = value_of("comment_value").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => parts.last().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    });
    plain
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            value_of("comment_value_html")
                .and_then(Value::as_str)
                .map(crate::html::to_text)
        })
        .filter(|s| !s.trim().is_empty())
}

impl ZendeskClient {
    /// Every active macro with reply text and every published Help Center article visible to
    /// everyone (an article restricted to a user segment — agents only, say — is left out: a
    /// draft to a customer must not quote it).
    pub async fn knowledge(&self) -> Result<Vec<KnowledgeDoc>, ApiError> {
        let mut docs = Vec::new();
        let mut budget = Budget(MAX_REQUESTS);
        for m in zendesk_pages(&self.api, "/api/v2/macros/active", "macros", &mut budget).await? {
            let (Some(id), Some(body)) = (id_string(&m["id"]), macro_comment(&m["actions"])) else {
                continue;
            };
            push(
                &mut docs,
                KnowledgeDoc {
                    id: format!("zendesk:macro:{id}"),
                    kind: KnowledgeKind::Macro,
                    title: text(&m["title"]).unwrap_or_else(|| format!("Macro {id}")),
                    body,
                    url: None,
                    locale: None,
                    updated_at: text(&m["updated_at"]),
                },
            )?;
        }
        let path = "/api/v2/help_center/articles";
        for a in none_if_absent(zendesk_pages(&self.api, path, "articles", &mut budget).await)? {
            let restricted = !a["user_segment_id"].is_null()
                || a["user_segment_ids"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty());
            if a["draft"].as_bool() == Some(true) || restricted {
                continue;
            }
            let Some(id) = id_string(&a["id"]) else {
                continue;
            };
            push(
                &mut docs,
                KnowledgeDoc {
                    id: format!("zendesk:article:{id}"),
                    kind: KnowledgeKind::Article,
                    title: text(&a["title"]).unwrap_or_else(|| format!("Article {id}")),
                    body: a["body"]
                        .as_str()
                        .map(crate::html::to_text)
                        .unwrap_or_default(),
                    url: text(&a["html_url"]),
                    locale: text(&a["locale"]),
                    updated_at: text(&a["updated_at"]),
                },
            )?;
        }
        Ok(docs)
    }
}

/// Freshdesk's solution article status for "published".
const PUBLISHED: u64 = 2;
/// Freshdesk solution folder visibilities customers can read: all users, logged-in users.
const CUSTOMER_VISIBLE: [u64; 2] = [1, 2];

impl FreshdeskClient {
    /// Every canned response and every published solution article of a folder customers can
    /// read (folders for agents or selected companies only are left out).
    pub async fn knowledge(&self) -> Result<Vec<KnowledgeDoc>, ApiError> {
        let mut docs = Vec::new();
        let mut budget = Budget(MAX_REQUESTS);
        let folders = "/api/v2/canned_response_folders";
        for folder in freshdesk_pages(&self.api, folders, &mut budget).await? {
            let Some(folder_id) = numeric_id(&folder["id"]) else {
                continue;
            };
            let path = format!("/api/v2/canned_response_folders/{folder_id}/responses");
            for r in freshdesk_pages(&self.api, &path, &mut budget).await? {
                let Some(id) = id_string(&r["id"]) else {
                    continue;
                };
                let body = text(&r["content"])
                    .or_else(|| r["content_html"].as_str().map(crate::html::to_text))
                    .unwrap_or_default();
                if body.trim().is_empty() {
                    continue;
                }
                push(
                    &mut docs,
                    KnowledgeDoc {
                        id: format!("freshdesk:canned:{id}"),
                        kind: KnowledgeKind::CannedResponse,
                        title: text(&r["title"]).unwrap_or_else(|| format!("Canned response {id}")),
                        body,
                        url: None,
                        locale: None,
                        updated_at: text(&r["updated_at"]),
                    },
                )?;
            }
        }
        let categories = "/api/v2/solutions/categories";
        for category in none_if_absent(freshdesk_pages(&self.api, categories, &mut budget).await)? {
            let Some(category_id) = numeric_id(&category["id"]) else {
                continue;
            };
            let path = format!("/api/v2/solutions/categories/{category_id}/folders");
            for folder in freshdesk_pages(&self.api, &path, &mut budget).await? {
                let visible = folder["visibility"]
                    .as_u64()
                    .is_some_and(|v| CUSTOMER_VISIBLE.contains(&v));
                let Some(folder_id) = numeric_id(&folder["id"]).filter(|_| visible) else {
                    continue;
                };
                let path = format!("/api/v2/solutions/folders/{folder_id}/articles");
                for a in freshdesk_pages(&self.api, &path, &mut budget).await? {
                    if a["status"].as_u64() != Some(PUBLISHED) {
                        continue;
                    }
                    let Some(id) = id_string(&a["id"]) else {
                        continue;
                    };
                    let body = text(&a["description_text"])
                        .or_else(|| a["description"].as_str().map(crate::html::to_text))
                        .unwrap_or_default();
                    push(
                        &mut docs,
                        KnowledgeDoc {
                            id: format!("freshdesk:article:{id}"),
                            kind: KnowledgeKind::Article,
                            title: text(&a["title"]).unwrap_or_else(|| format!("Article {id}")),
                            body,
                            url: Some(format!(
                                "{}/support/solutions/articles/{id}",
                                self.api.base_url()
                            )),
                            locale: None,
                            updated_at: text(&a["updated_at"]),
                        },
                    )?;
                }
            }
        }
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_macro_replies_with_its_comment_in_any_documented_form() {
        let plain = json!([{ "field": "status", "value": "solved" }, { "field": "comment_value", "value": "We refund in 30 days." }]);
        assert_eq!(
            macro_comment(&plain).as_deref(),
            Some("We refund in 30 days.")
        );
        let channel = json!([{ "field": "comment_value", "value": ["channel:all", "Hi {{ticket.requester.first_name}}"] }]);
        assert_eq!(
            macro_comment(&channel).as_deref(),
            Some("Hi {{ticket.requester.first_name}}")
        );
        let html =
            json!([{ "field": "comment_value_html", "value": "<p>Hello</p><script>x</script>" }]);
        assert_eq!(macro_comment(&html).as_deref(), Some("Hello"));
        let none = json!([{ "field": "priority", "value": "high" }]);
        assert_eq!(macro_comment(&none), None);
        assert_eq!(macro_comment(&json!("not a list")), None);
    }
}
