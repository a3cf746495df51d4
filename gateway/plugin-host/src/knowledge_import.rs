//! The host side of the `knowledge` import (contract 0.2.0): a search of the knowledge base of
//! the helpdesk whose ticket the call handles.
//!
//! The manifest must grant `capabilities.knowledge`; searches per call, query bytes and
//! results per search are bounded by its `limits`. A call outside any helpdesk (`plugin run`
//! without a knowledge folder) has no knowledge base to search. Every search is recorded
//! ([`KnowledgeLookup`]: query size and the ids returned, never the query text), and a draft
//! may cite only ids one of its call's searches returned, under the title and URL that search
//! returned — a plugin can neither invent a source nor relabel a real one.

use crate::contract::v0_2::deskbridge::plugin::knowledge;
use crate::state::{CallState, KnowledgeLookup};

impl knowledge::Host for CallState {
    fn search(&mut self, query: String, k: u32) -> Result<Vec<knowledge::Article>, String> {
        let Some(library) = self.grants.knowledge.clone() else {
            return Err("the manifest grants no knowledge base (capabilities.knowledge)".into());
        };
        let limits = &self.grants.limits;
        if self.knowledge.len() >= limits.max_knowledge_searches {
            return Err(format!(
                "at most {} searches per call (limits.max_knowledge_searches)",
                limits.max_knowledge_searches
            ));
        }
        if query.len() > limits.max_knowledge_query_bytes {
            return Err(format!(
                "the query is {} bytes; limits.max_knowledge_query_bytes is {}",
                query.len(),
                limits.max_knowledge_query_bytes
            ));
        }
        let k = usize::try_from(k)
            .unwrap_or(usize::MAX)
            .clamp(1, limits.max_knowledge_results);
        let result = match self.helpdesk.as_deref() {
            Some(helpdesk) => library
                .search(helpdesk, &query, k)
                .map_err(|e| e.to_string()),
            None => {
                Err("this call handles no helpdesk's ticket: there is no knowledge base".into())
            }
        };
        let lookup = KnowledgeLookup {
            query_bytes: query.len(),
            results: result
                .as_ref()
                .map(|hits| hits.iter().map(|h| h.id.clone()).collect())
                .unwrap_or_default(),
            error: result.as_ref().err().cloned(),
        };
        self.knowledge.push(lookup);
        if let Ok(hits) = &result {
            for hit in hits {
                self.found
                    .insert(hit.id.clone(), (hit.title.clone(), hit.url.clone()));
            }
        }
        result.map(|hits| {
            hits.into_iter()
                .map(|hit| knowledge::Article {
                    id: hit.id,
                    title: hit.title,
                    snippet: hit.snippet,
                    url: hit.url,
                    relevance: hit.relevance,
                })
                .collect()
        })
    }
}

impl CallState {
    /// Checks and settles the sources every draft of `actions` cites: an id no search of this
    /// call returned is refused — `(action index, id)` of the first — and every known one gets
    /// the title and URL its search returned, whatever the plugin wrote (an approver must not
    /// see "Refunds for everyone" or a phishing link under a real article's id).
    pub(crate) fn settle_sources(
        &self,
        actions: &mut [deskbridge_core::Action],
    ) -> Option<(usize, String)> {
        for (index, action) in actions.iter_mut().enumerate() {
            let deskbridge_core::Action::DraftReply(draft) = action else {
                continue;
            };
            for source in &mut draft.sources {
                match self.found.get(&source.id) {
                    Some((title, url)) => {
                        source.title.clone_from(title);
                        source.url.clone_from(url);
                    }
                    None => return Some((index, source.id.clone())),
                }
            }
        }
        None
    }
}
