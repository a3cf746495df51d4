//! Test guest: a plugin written against contract `deskbridge:plugin@0.1.0` the way a plugin
//! author did before 0.2.0 existed — `wit-bindgen` straight on `sdk/wit/v0.1.0`, no SDK. It
//! uses every 0.1.0 import (log, config, kv, ai), drafts a reply and reviews drafts, so a test
//! can prove the host still loads and runs it unchanged next to 0.2.0 plugins.

#[allow(missing_docs, unreachable_pub, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../sdk/wit/v0.1.0",
        world: "plugin",
    });
}

use bindings::deskbridge::plugin::types::{
    Action, ApprovalRequirement, ApproverRole, Decision, Draft, DraftReply, Flag, PluginError,
    Ticket, TicketEvent, Verdict,
};
use bindings::deskbridge::plugin::{ai, config, kv, log};

struct Legacy;

impl bindings::exports::deskbridge::plugin::handler::Guest for Legacy {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        log::log(log::Level::Info, "legacy plugin handling an event", &[]);
        let _config = config::get();
        let seen = kv::get("events").map_or(0, |v| v.len());
        kv::set("events", &vec![1; seen + 1]).map_err(|message| PluginError {
            code: "kv".into(),
            message,
        })?;
        let last = event
            .ticket
            .messages
            .last()
            .map(|m| m.body.clone())
            .unwrap_or_default();
        let answer = ai::complete(&ai::CompletionRequest {
            provider: None,
            model: None,
            messages: vec![
                ai::ChatMessage {
                    role: ai::ChatRole::System,
                    content: "Draft a reply to the customer.".into(),
                },
                ai::ChatMessage {
                    role: ai::ChatRole::User,
                    content: format!("Customer: {last}"),
                },
            ],
            max_tokens: 200,
        })
        .map_err(|e| PluginError {
            code: "ai".into(),
            message: format!("{e:?}"),
        })?;
        Ok(vec![Action::DraftReply(DraftReply {
            body: answer.text,
            rationale: format!("legacy 0.1.0 plugin, event {} of this plugin", seen + 1),
            confidence: 0.5,
        })])
    }
}

impl bindings::exports::deskbridge::plugin::policy::Guest for Legacy {
    fn review_draft(_ticket: Ticket, draft: Draft) -> Result<Verdict, PluginError> {
        Ok(Verdict {
            decision: Decision::RequireApproval(ApprovalRequirement {
                role: ApproverRole::Agent,
                approvers: 1,
            }),
            flags: vec![Flag {
                code: "legacy-reviewed".into(),
                message: format!("reviewed a draft by {}", draft.author_plugin),
            }],
        })
    }
}

// Only a wasm build exports the contract's functions (a native `cargo test --workspace` build of
// this crate links without them), as the SDK does.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod export {
    use crate::Legacy;
    crate::bindings::export!(Legacy with_types_in crate::bindings);
}
