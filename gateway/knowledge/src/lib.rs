//! Deskbridge's knowledge base: per helpdesk, a local full-text index of the team's own
//! macros, canned responses, help-center articles and Markdown files, which plugins search
//! through the contract's `knowledge` import to ground their drafts in real policy.
//!
//! - [`KnowledgeIndex`] (`index.rs`): one helpdesk's tantivy index, BM25-ranked, with
//!   language-aware analyzers (`analysis.rs`: English, German, French and Spanish stemming and
//!   stop words; CJK bigrams) and a coverage-based relevance plugins can threshold on.
//! - [`KnowledgeLibrary`]: every configured helpdesk's index, opened under one directory; it
//!   implements [`deskbridge_core::KnowledgeSearch`] for the plugin host.
//! - `markdown.rs`: a local folder of Markdown files as a source.
//! - `sync.rs`: the background sync that lists each source completely and reconciles the
//!   index (only changed documents are re-indexed, deleted ones removed).
//!
//! The index is a cache of knowledge that lives elsewhere (the helpdesk, the folder): it is
//! kept on local disk even when the store is PostgreSQL, and deleting it only costs a re-sync.

mod analysis;
mod index;
mod markdown;
mod sync;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use deskbridge_core::{KnowledgeError, KnowledgeHit, KnowledgeSearch};

pub use index::{KnowledgeIndex, MAX_DOCS, MAX_RESULTS, SyncReport};
pub use markdown::{FolderError, MAX_FILE_BYTES, read_folder};
pub use sync::{KnowledgeSource, SourceStatus, SyncPlan, drop_unconfigured, run_sync, sync_once};

/// The knowledge indexes of every helpdesk that has a knowledge base, by helpdesk name, with
/// the state of their sources' last syncs.
#[derive(Debug, Default)]
pub struct KnowledgeLibrary {
    indexes: BTreeMap<String, Arc<KnowledgeIndex>>,
    status: Mutex<BTreeMap<(String, String), SourceStatus>>,
}

impl KnowledgeLibrary {
    /// A library with no knowledge base (every search answers "no knowledge base").
    pub fn empty() -> KnowledgeLibrary {
        KnowledgeLibrary::default()
    }

    /// Opens (or creates) the index of each of `helpdesks` under `root/{helpdesk}`.
    pub fn open<'a>(
        root: &Path,
        helpdesks: impl IntoIterator<Item = &'a str>,
    ) -> Result<KnowledgeLibrary, KnowledgeError> {
        let mut indexes = BTreeMap::new();
        for helpdesk in helpdesks {
            if helpdesk.is_empty()
                || !helpdesk
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(KnowledgeError::Index(format!(
                    "helpdesk name `{helpdesk}` cannot name an index directory"
                )));
            }
            let index = KnowledgeIndex::open(&root.join(helpdesk))?;
            indexes.insert(helpdesk.to_owned(), Arc::new(index));
        }
        Ok(KnowledgeLibrary {
            indexes,
            status: Mutex::new(BTreeMap::new()),
        })
    }

    /// A library over indexes built elsewhere (tests, benchmarks).
    pub fn from_indexes(indexes: BTreeMap<String, Arc<KnowledgeIndex>>) -> KnowledgeLibrary {
        KnowledgeLibrary {
            indexes,
            status: Mutex::new(BTreeMap::new()),
        }
    }

    /// The index of `helpdesk`, if it has a knowledge base.
    pub fn index(&self, helpdesk: &str) -> Option<&Arc<KnowledgeIndex>> {
        self.indexes.get(helpdesk)
    }

    /// Helpdesks with a knowledge base and the documents each holds.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        self.indexes
            .iter()
            .map(|(name, index)| (name.clone(), index.len()))
            .collect()
    }

    /// Records how a source's sync went.
    pub fn record(&self, helpdesk: &str, source: &str, status: SourceStatus) {
        if let Ok(mut all) = self.status.lock() {
            all.insert((helpdesk.to_owned(), source.to_owned()), status);
        }
    }

    /// The last sync of every source: (helpdesk, source, status).
    pub fn statuses(&self) -> Vec<(String, String, SourceStatus)> {
        self.status
            .lock()
            .map(|all| {
                all.iter()
                    .map(|((h, s), status)| (h.clone(), s.clone(), status.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl KnowledgeSearch for KnowledgeLibrary {
    fn search(
        &self,
        helpdesk: &str,
        query: &str,
        k: usize,
    ) -> Result<Vec<KnowledgeHit>, KnowledgeError> {
        self.indexes
            .get(helpdesk)
            .ok_or_else(|| KnowledgeError::NoKnowledgeBase(helpdesk.to_owned()))?
            .search(query, k)
    }
}
