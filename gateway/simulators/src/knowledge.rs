//! The helpdesks' knowledge endpoints, as the knowledge sync reads them.
//!
//! Zendesk: `GET /api/v2/macros/active` (each macro's reply in a `comment_value` action) and
//! `GET /api/v2/help_center/articles` (HTML `body`, `html_url`, `locale`, `draft`), both with
//! cursor pagination (`page[size]` up to 100, `page[after]`, `meta.has_more`,
//! `meta.after_cursor`, `links.next`). Freshdesk: `GET /api/v2/canned_response_folders`,
//! `GET /api/v2/canned_response_folders/{id}/responses`, `GET /api/v2/solutions/categories`,
//! `GET /api/v2/solutions/categories/{id}/folders` and `GET
//! /api/v2/solutions/folders/{id}/articles` (`status` 1 draft, 2 published), with
//! `page`/`per_page` (30 by default, 100 at most) and a `link: <…>; rel="next"` header. Auth,
//! rate limit, faults and the request log are those of every API call (`Sim::api`).
//!
//! Control: `POST /_sim/knowledge` `{"kind": "macro"|"article"|"canned_response", "title",
//! "body", "locale"?, "draft"?, "restricted"? (Zendesk: in an agents-only user segment;
//! Freshdesk: its folder is for agents), "folder"? ("Category/Folder" for Freshdesk)}` answers
//! `{"id": N}`; `PUT /_sim/knowledge/{id}` `{"title"?, "body"?, "draft"?}` changes one (and
//! its `updated_at`); `DELETE /_sim/knowledge/{id}` removes one.

use std::collections::{BTreeSet, HashMap};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{ApiError, Applied, Inner, Sim, now_rfc3339};
use crate::freshdesk::{not_found, numbered_page};
use crate::zendesk::cursor_page;

/// What a knowledge item is in its helpdesk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ItemKind {
    /// A Zendesk macro.
    Macro,
    /// A Zendesk Help Center article or a Freshdesk solution article.
    Article,
    /// A Freshdesk canned response.
    CannedResponse,
}

/// One macro, canned response or article.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    id: u64,
    kind: ItemKind,
    title: String,
    body: String,
    locale: String,
    draft: bool,
    /// Not for everyone: a Zendesk article in a user segment (agents only), or a Freshdesk
    /// solution article in a folder for agents (a folder with one such article is).
    restricted: bool,
    /// `Category/Folder` (Freshdesk); a bare name is a folder of category `General`.
    folder: String,
    updated_at: String,
}

impl Item {
    fn category(&self) -> &str {
        self.folder.split_once('/').map_or("General", |(c, _)| c)
    }

    fn folder_name(&self) -> &str {
        self.folder.split_once('/').map_or(&self.folder, |(_, f)| f)
    }
}

pub(crate) fn zendesk_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v2/macros/active", web::get().to(zendesk_macros))
        .route("/api/v2/macros/active.json", web::get().to(zendesk_macros))
        .route(
            "/api/v2/help_center/articles",
            web::get().to(zendesk_articles),
        )
        .route(
            "/api/v2/help_center/articles.json",
            web::get().to(zendesk_articles),
        );
}

pub(crate) fn freshdesk_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/v2/canned_response_folders",
        web::get().to(canned_folders),
    )
    .route(
        "/api/v2/canned_response_folders/{id}/responses",
        web::get().to(canned_responses),
    )
    .route("/api/v2/solutions/categories", web::get().to(categories))
    .route(
        "/api/v2/solutions/categories/{id}/folders",
        web::get().to(solution_folders),
    )
    .route(
        "/api/v2/solutions/folders/{id}/articles",
        web::get().to(solution_articles),
    );
}

pub(crate) fn control_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/_sim/knowledge", web::post().to(add))
        .route("/_sim/knowledge/{id}", web::put().to(change))
        .route("/_sim/knowledge/{id}", web::delete().to(remove));
}

fn of_kind(inner: &Inner, kind: ItemKind) -> impl Iterator<Item = &Item> {
    inner.knowledge.values().filter(move |i| i.kind == kind)
}

async fn zendesk_macros(
    sim: web::Data<Sim>,
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    sim.api(&request, |inner| {
        let items = of_kind(inner, ItemKind::Macro)
            .filter(|m| !m.draft)
            .map(|m| {
                json!({
                    "id": m.id,
                    "title": m.title,
                    "active": true,
                    "url": format!("https://example.zendesk.com/api/v2/macros/{}.json", m.id),
                    "updated_at": m.updated_at,
                    "actions": [
                        { "field": "status", "value": "pending" },
                        { "field": "comment_value", "value": m.body },
                    ],
                })
            })
            .collect();
        cursor_page(items, &query, "macros", "/api/v2/macros/active").map(Applied::ok)
    })
    .await
}

async fn zendesk_articles(
    sim: web::Data<Sim>,
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    sim.api(&request, |inner| {
        let items = of_kind(inner, ItemKind::Article)
            .map(|a| {
                json!({
                    "id": a.id,
                    "url": format!("https://example.zendesk.com/api/v2/help_center/{}/articles/{}.json", a.locale, a.id),
                    "html_url": format!("https://example.zendesk.com/hc/{}/articles/{}", a.locale, a.id),
                    "title": a.title,
                    "body": a.body,
                    "locale": a.locale,
                    "draft": a.draft,
                    "user_segment_id": if a.restricted { json!(360_000_001_u64) } else { Value::Null },
                    "section_id": 1,
                    "updated_at": a.updated_at,
                })
            })
            .collect();
        cursor_page(items, &query, "articles", "/api/v2/help_center/articles").map(Applied::ok)
    })
    .await
}

/// Distinct names, numbered from `base` in name order (stable ids for folders/categories).
fn numbered<'a>(names: impl Iterator<Item = &'a str>, base: u64) -> Vec<(u64, String)> {
    names
        .collect::<BTreeSet<_>>()
        .into_iter()
        .zip(base..)
        .map(|(name, id)| (id, name.to_owned()))
        .collect()
}

fn canned_folder_ids(inner: &Inner) -> Vec<(u64, String)> {
    numbered(
        of_kind(inner, ItemKind::CannedResponse).map(Item::folder_name),
        100,
    )
}

fn category_ids(inner: &Inner) -> Vec<(u64, String)> {
    numbered(of_kind(inner, ItemKind::Article).map(Item::category), 200)
}

fn solution_folder_ids(inner: &Inner) -> Vec<(u64, String, String)> {
    numbered(
        of_kind(inner, ItemKind::Article).map(|a| a.folder.as_str()),
        300,
    )
    .into_iter()
    .map(|(id, path)| {
        let (category, folder) = path.split_once('/').unwrap_or(("General", &path));
        (id, category.to_owned(), folder.to_owned())
    })
    .collect()
}

/// Answers a Freshdesk list request: `items` from the simulator's state, paged the Freshdesk
/// way, through auth, rate limit and faults.
async fn freshdesk_list(
    sim: web::Data<Sim>,
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    items: impl FnOnce(&Inner) -> Result<Vec<Value>, ApiError>,
) -> HttpResponse {
    let (host, path) = (
        request.connection_info().host().to_owned(),
        request.path().to_owned(),
    );
    sim.api(&request, |inner| {
        numbered_page(items(inner)?, &query, &host, &path)
    })
    .await
}

async fn canned_folders(
    sim: web::Data<Sim>,
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    freshdesk_list(sim, request, query, |inner| {
        let folders = canned_folder_ids(inner)
            .into_iter()
            .map(|(id, name)| {
                let count = of_kind(inner, ItemKind::CannedResponse)
                    .filter(|r| r.folder_name() == name)
                    .count();
                json!({ "id": id, "name": name, "personal": false, "responses_count": count })
            })
            .collect();
        Ok(folders)
    })
    .await
}

async fn canned_responses(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<u64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    freshdesk_list(sim, request, query, |inner| {
        let (folder_id, name) = canned_folder_ids(inner)
            .into_iter()
            .find(|(folder_id, _)| *folder_id == *id)
            .ok_or_else(not_found)?;
        let responses = of_kind(inner, ItemKind::CannedResponse)
            .filter(|r| r.folder_name() == name)
            .map(|r| {
                json!({
                    "id": r.id,
                    "title": r.title,
                    "folder_id": folder_id,
                    "content": r.body,
                    "content_html": format!("<div>{}</div>", r.body.replace('\n', "<br>")),
                    "attachments": [],
                    "created_at": r.updated_at,
                    "updated_at": r.updated_at,
                })
            })
            .collect();
        Ok(responses)
    })
    .await
}

async fn categories(
    sim: web::Data<Sim>,
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    freshdesk_list(sim, request, query, |inner| {
        let categories = category_ids(inner)
            .into_iter()
            .map(|(id, name)| json!({ "id": id, "name": name, "description": null }))
            .collect();
        Ok(categories)
    })
    .await
}

async fn solution_folders(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<u64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    freshdesk_list(sim, request, query, |inner| {
        let (_, category) = category_ids(inner)
            .into_iter()
            .find(|(category_id, _)| *category_id == *id)
            .ok_or_else(not_found)?;
        let folders = solution_folder_ids(inner)
            .into_iter()
            .filter(|(_, c, _)| *c == category)
            .map(|(id, _, name)| {
                let agents_only = of_kind(inner, ItemKind::Article)
                    .any(|a| a.restricted && a.category() == category && a.folder_name() == name);
                json!({ "id": id, "name": name, "visibility": if agents_only { 3 } else { 1 } })
            })
            .collect();
        Ok(folders)
    })
    .await
}

async fn solution_articles(
    sim: web::Data<Sim>,
    request: HttpRequest,
    id: web::Path<u64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    freshdesk_list(sim, request, query, |inner| {
        let (folder_id, category, folder) = solution_folder_ids(inner)
            .into_iter()
            .find(|(folder_id, _, _)| *folder_id == *id)
            .ok_or_else(not_found)?;
        let articles = of_kind(inner, ItemKind::Article)
            .filter(|a| a.category() == category && a.folder_name() == folder)
            .map(|a| {
                json!({
                    "id": a.id,
                    "title": a.title,
                    "description": a.body,
                    "description_text": crate::knowledge::visible_text(&a.body),
                    "status": if a.draft { 1 } else { 2 },
                    "folder_id": folder_id,
                    "updated_at": a.updated_at,
                })
            })
            .collect();
        Ok(articles)
    })
    .await
}

/// The text of an HTML body, roughly as Freshdesk derives `description_text`.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    kind: ItemKind,
    title: String,
    body: String,
    #[serde(default = "english")]
    locale: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    restricted: bool,
    #[serde(default = "general")]
    folder: String,
}

fn english() -> String {
    "en-us".into()
}

fn general() -> String {
    "General".into()
}

async fn add(sim: web::Data<Sim>, item: web::Json<NewItem>) -> HttpResponse {
    let item = item.into_inner();
    let mut inner = sim.lock();
    let id = inner.next_id();
    inner.knowledge.insert(
        id,
        Item {
            id,
            kind: item.kind,
            title: item.title,
            body: item.body,
            locale: item.locale,
            draft: item.draft,
            restricted: item.restricted,
            folder: item.folder,
            updated_at: now_rfc3339(),
        },
    );
    HttpResponse::Created().json(json!({ "id": id }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemChange {
    title: Option<String>,
    body: Option<String>,
    draft: Option<bool>,
}

async fn change(
    sim: web::Data<Sim>,
    id: web::Path<u64>,
    update: web::Json<ItemChange>,
) -> HttpResponse {
    let update = update.into_inner();
    let mut inner = sim.lock();
    let Some(item) = inner.knowledge.get_mut(&id) else {
        return HttpResponse::NotFound().json(json!({ "error": "no such knowledge item" }));
    };
    if let Some(title) = update.title {
        item.title = title;
    }
    if let Some(body) = update.body {
        item.body = body;
    }
    if let Some(draft) = update.draft {
        item.draft = draft;
    }
    item.updated_at = now_rfc3339();
    HttpResponse::Ok().json(json!({ "id": item.id, "updated_at": item.updated_at }))
}

async fn remove(sim: web::Data<Sim>, id: web::Path<u64>) -> HttpResponse {
    match sim.lock().knowledge.remove(&id) {
        Some(_) => HttpResponse::NoContent().finish(),
        None => HttpResponse::NotFound().json(json!({ "error": "no such knowledge item" })),
    }
}
