//! The team's own knowledge — macros, canned responses, help-center articles, Markdown files —
//! as connectors deliver it ([`KnowledgeDoc`]), as a search returns it ([`KnowledgeHit`]) and
//! as a draft cites it ([`Source`]).
//!
//! The index itself lives in `deskbridge-knowledge`; the plugin host reaches it only through
//! [`KnowledgeSearch`], so neither the host nor the connectors depend on the search engine.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest document title kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_DOC_TITLE_BYTES: usize = 512;
/// Longest document body kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_DOC_BODY_BYTES: usize = 64 * 1024;
/// Longest document id, in bytes; a longer one is refused.
pub const MAX_DOC_ID_BYTES: usize = 256;
/// Longest URL kept, in bytes; a longer one is dropped.
pub const MAX_DOC_URL_BYTES: usize = 2048;

/// What kind of material a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeKind {
    /// A Zendesk macro's reply text.
    Macro,
    /// A Freshdesk canned response.
    CannedResponse,
    /// A help-center or solution article.
    Article,
    /// A Markdown file from the operator's folder.
    Markdown,
}

impl KnowledgeKind {
    /// The kind's name as stored and shown (`macro`, `canned_response`, `article`, `markdown`).
    pub fn as_str(self) -> &'static str {
        match self {
            KnowledgeKind::Macro => "macro",
            KnowledgeKind::CannedResponse => "canned_response",
            KnowledgeKind::Article => "article",
            KnowledgeKind::Markdown => "markdown",
        }
    }
}

/// One document of a helpdesk's knowledge base, in plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeDoc {
    /// Unique within the helpdesk and stable across syncs, namespaced by source:
    /// `zendesk:macro:360001`, `zendesk:article:115`, `freshdesk:canned:7`,
    /// `freshdesk:article:8`, `md:refunds/eu.md`.
    pub id: String,
    /// What it is.
    pub kind: KnowledgeKind,
    /// Its title.
    pub title: String,
    /// Its text, plain (HTML already turned into text).
    pub body: String,
    /// Where an agent can read it (an article's public URL), if it has one.
    pub url: Option<String>,
    /// Its language as the source states it (`en-us`, `de`), if it does.
    pub locale: Option<String>,
    /// When the source last changed it (RFC 3339 as the source wrote it), if it says.
    pub updated_at: Option<String>,
}

impl KnowledgeDoc {
    /// The document cut to the size limits: title and body cut at a character boundary, a URL
    /// over [`MAX_DOC_URL_BYTES`] or not `http(s)` dropped. `None` when the id is empty or over
    /// [`MAX_DOC_ID_BYTES`] (such a document cannot be addressed and is skipped).
    pub fn bounded(mut self) -> Option<KnowledgeDoc> {
        if self.id.is_empty() || self.id.len() > MAX_DOC_ID_BYTES {
            return None;
        }
        cut_at_char(&mut self.title, MAX_DOC_TITLE_BYTES);
        cut_at_char(&mut self.body, MAX_DOC_BODY_BYTES);
        self.url = self.url.filter(|url| {
            url.len() <= MAX_DOC_URL_BYTES
                && (url.starts_with("https://") || url.starts_with("http://"))
        });
        Some(self)
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary.
fn cut_at_char(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeHit {
    /// The document's id.
    pub id: String,
    /// What it is.
    pub kind: KnowledgeKind,
    /// Its title.
    pub title: String,
    /// The passage that matched (a short document whole).
    pub snippet: String,
    /// Where an agent can read it.
    pub url: Option<String>,
    /// Rank score (BM25); higher is better, comparable within one search only.
    pub score: f32,
    /// How much of the query the document covers, 0–1: the IDF-weighted share of the query's
    /// words found in it. Comparable across searches; what a plugin thresholds on to decide
    /// that nothing relevant was found.
    pub relevance: f32,
}

/// A piece of knowledge a draft cites, stored in its provenance and shown to the approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    /// The document's id in the knowledge base.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where the approver can read it.
    pub url: Option<String>,
}

/// Why a search failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KnowledgeError {
    /// The helpdesk has no knowledge base configured or synced yet.
    #[error("helpdesk `{0}` has no knowledge base")]
    NoKnowledgeBase(String),
    /// The query could not be used.
    #[error("bad query: {0}")]
    BadQuery(String),
    /// The index failed.
    #[error("knowledge index failed: {0}")]
    Index(String),
}

/// Searches a helpdesk's knowledge base; what the plugin host's `knowledge` import calls.
pub trait KnowledgeSearch: Send + Sync {
    /// The best `k` documents of `helpdesk`'s knowledge base for `query`, best first.
    fn search(
        &self,
        helpdesk: &str,
        query: &str,
        k: usize,
    ) -> Result<Vec<KnowledgeHit>, KnowledgeError>;
}

/// No knowledge base at all: every search answers [`KnowledgeError::NoKnowledgeBase`] (a host
/// without a knowledge library, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKnowledge;

impl KnowledgeSearch for NoKnowledge {
    fn search(
        &self,
        helpdesk: &str,
        _query: &str,
        _k: usize,
    ) -> Result<Vec<KnowledgeHit>, KnowledgeError> {
        Err(KnowledgeError::NoKnowledgeBase(helpdesk.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str) -> KnowledgeDoc {
        KnowledgeDoc {
            id: id.into(),
            kind: KnowledgeKind::Article,
            title: "é".repeat(400),
            body: "ü".repeat(40_000),
            url: Some("javascript:alert(1)".into()),
            locale: None,
            updated_at: None,
        }
    }

    #[test]
    fn bounded_cuts_at_characters_and_drops_bad_urls_and_ids() {
        let d = doc("zendesk:article:1").bounded().expect("valid id");
        assert_eq!(d.title.len(), MAX_DOC_TITLE_BYTES);
        assert_eq!(d.body.len(), MAX_DOC_BODY_BYTES);
        assert!(d.url.is_none());
        assert!(doc("").bounded().is_none());
        assert!(doc(&"x".repeat(MAX_DOC_ID_BYTES + 1)).bounded().is_none());
        let mut ok = doc("md:a.md");
        ok.url = Some("https://help.example.com/a".into());
        assert!(ok.bounded().expect("valid").url.is_some());
    }
}
