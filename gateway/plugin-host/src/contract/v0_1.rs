//! Contract `deskbridge:plugin@0.1.0`: generated bindings and conversions to and from
//! `deskbridge-core` types.

use deskbridge_core as core;

wasmtime::component::bindgen!({
    path: "../../sdk/wit/v0.1.0",
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
pub(crate) const LOG: &str = "deskbridge:plugin/log@0.1.0";
pub(crate) const CONFIG: &str = "deskbridge:plugin/config@0.1.0";
pub(crate) const KV: &str = "deskbridge:plugin/kv@0.1.0";
pub(crate) const AI: &str = "deskbridge:plugin/ai@0.1.0";
pub(crate) const TYPES: &str = "deskbridge:plugin/types@0.1.0";

super::shared_conversions!();

fn draft_from_wit(d: wit::DraftReply) -> core::DraftReply {
    core::DraftReply {
        body: d.body,
        rationale: d.rationale,
        confidence: d.confidence,
        sources: Vec::new(),
    }
}

pub(crate) fn draft_to_wit(draft: &core::DraftReply, author_plugin: &str) -> wit::Draft {
    wit::Draft {
        body: draft.body.clone(),
        rationale: draft.rationale.clone(),
        confidence: draft.confidence,
        author_plugin: author_plugin.to_owned(),
    }
}
