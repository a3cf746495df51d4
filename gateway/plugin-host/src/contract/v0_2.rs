//! Contract `deskbridge:plugin@0.2.0`: 0.1.0 plus the `knowledge` import and the sources a
//! draft cites. Generated bindings and conversions to and from `deskbridge-core` types.

use deskbridge_core as core;

wasmtime::component::bindgen!({
    path: "../../sdk/wit/v0.2.0",
    world: "plugin",
    imports: {
        "deskbridge:plugin/ai.complete": async,
        "deskbridge:plugin/log.log": trappable,
    },
    exports: {
        default: async,
    },
});

pub(crate) use deskbridge::plugin::types as wit;

/// The import names of this contract's host interfaces.
pub(crate) const LOG: &str = "deskbridge:plugin/log@0.2.0";
pub(crate) const CONFIG: &str = "deskbridge:plugin/config@0.2.0";
pub(crate) const KV: &str = "deskbridge:plugin/kv@0.2.0";
pub(crate) const AI: &str = "deskbridge:plugin/ai@0.2.0";
pub(crate) const KNOWLEDGE: &str = "deskbridge:plugin/knowledge@0.2.0";
pub(crate) const TYPES: &str = "deskbridge:plugin/types@0.2.0";

super::shared_conversions!();

fn draft_from_wit(d: wit::DraftReply) -> core::DraftReply {
    core::DraftReply {
        body: d.body,
        rationale: d.rationale,
        confidence: d.confidence,
        sources: d
            .sources
            .into_iter()
            .map(|s| core::Source {
                id: s.id,
                title: s.title,
                url: s.url,
            })
            .collect(),
    }
}

pub(crate) fn draft_to_wit(draft: &core::DraftReply, author_plugin: &str) -> wit::Draft {
    wit::Draft {
        body: draft.body.clone(),
        rationale: draft.rationale.clone(),
        confidence: draft.confidence,
        author_plugin: author_plugin.to_owned(),
        sources: draft
            .sources
            .iter()
            .map(|s| wit::Source {
                id: s.id.clone(),
                title: s.title.clone(),
                url: s.url.clone(),
            })
            .collect(),
    }
}

/// A 0.2.0 plugin error as the call machinery (written for 0.1.0) carries it; same fields.
pub(crate) fn plugin_error_to_v0_1(e: wit::PluginError) -> super::v0_1::wit::PluginError {
    super::v0_1::wit::PluginError {
        code: e.code,
        message: e.message,
    }
}
