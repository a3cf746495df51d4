//! Write [Deskbridge](https://github.com/deskbridge/deskbridge) plugins in Rust.
//!
//! A plugin is a WebAssembly component that reacts to helpdesk ticket events with
//! [`Action`]s — internal notes, draft replies, tags, priority, hand-over to a human — and,
//! if it is a policy plugin, reviews drafts with a [`Verdict`]. Nothing a plugin returns
//! reaches a customer: drafts wait for a human agent's approval.
//!
//! Implement [`Plugin`] and call [`export_plugin!`] once; the SDK writes the WIT glue. The SDK
//! targets contract `deskbridge:plugin@0.2.0` (`contract = "0.2.0"` in `plugin.toml`), which
//! adds [`knowledge::search`] over the helpdesk's macros and articles and lets a draft cite
//! its [`Source`]s.
//!
//! ```no_run
//! use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent, ai, log};
//!
//! struct Echo;
//!
//! impl Plugin for Echo {
//!     fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
//!         let Some(last) = event.ticket.last_customer_message() else {
//!             return Ok(vec![]);
//!         };
//!         log::info(&format!("ticket {} has a new customer message", event.ticket.id));
//!         let summary = ai::ask("Summarize this in one sentence.", &last.body, 100)?;
//!         Ok(vec![Action::note(format!("Customer said: {summary}"))])
//!     }
//! }
//!
//! deskbridge_sdk::export_plugin!(Echo);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`, write a `plugin.toml` next
//! to the `.wasm` (see `schemas/plugin-manifest.schema.json`) and try it with
//! `deskbridge plugin run plugin.wasm --manifest plugin.toml --event event.json`.

// The generated bindings refer to this crate by name, also from inside it.
extern crate self as deskbridge_sdk;

mod helpers;

#[doc(hidden)]
pub mod __private {
    //! Re-exports used by [`export_plugin!`](crate::export_plugin); not a public API.
    pub use wit_bindgen;

    #[allow(missing_docs, unreachable_pub, unsafe_code, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../wit/v0.2.0",
            world: "plugin",
            pub_export_macro: true,
            export_macro_name: "__deskbridge_export_world",
            default_bindings_module: "::deskbridge_sdk::__private::bindings",
            runtime_path: "::deskbridge_sdk::__private::wit_bindgen::rt",
        });
    }

    pub use bindings::exports::deskbridge::plugin::handler::Guest as HandlerGuest;
    pub use bindings::exports::deskbridge::plugin::policy::Guest as PolicyGuest;
}

use __private::bindings::deskbridge::plugin as wit;

pub use helpers::{ai, config, knowledge, kv, log};
pub use wit::types::{
    Action, ApprovalRequirement, ApproverRole, AuthorRole, Channel, Customer, Decision, Draft,
    DraftReply, EventKind, Flag, Handover, HelpdeskKind, Message, PluginError, Priority, Source,
    Ticket, TicketEvent, TicketStatus, Verdict, Visibility,
};

/// What a plugin implements. Both methods have defaults, so a plugin implements only what it
/// subscribes to in its manifest (`events`).
pub trait Plugin {
    /// Handles a ticket event (`ticket.created`, `ticket.customer_message_added`,
    /// `ticket.agent_message_added`) and returns the actions to take. Return an error to fail
    /// closed: the gateway then leaves the ticket to a human and flags it.
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let _ = event;
        Ok(Vec::new())
    }

    /// Reviews a draft reply (`draft.review`). The gateway combines every policy plugin's
    /// verdict and never goes below one agent's approval.
    fn review_draft(ticket: Ticket, draft: Draft) -> Result<Verdict, PluginError> {
        let _ = (ticket, draft);
        Err(PluginError::new(
            "not-a-policy-plugin",
            "this plugin does not review drafts",
        ))
    }
}

/// Exports a [`Plugin`] implementation as the component's `handler` and `policy` interfaces.
/// Call it exactly once, at the crate root of a `cdylib` crate.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __DeskbridgeExports;

        impl $crate::__private::HandlerGuest for __DeskbridgeExports {
            fn on_event(
                event: $crate::TicketEvent,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::Action>, $crate::PluginError> {
                <$plugin as $crate::Plugin>::on_event(event)
            }
        }

        impl $crate::__private::PolicyGuest for __DeskbridgeExports {
            fn review_draft(
                ticket: $crate::Ticket,
                draft: $crate::Draft,
            ) -> ::core::result::Result<$crate::Verdict, $crate::PluginError> {
                <$plugin as $crate::Plugin>::review_draft(ticket, draft)
            }
        }

        // Only a wasm build exports the contract's functions; a native build of the same crate
        // (unit tests, `cargo test --workspace`) links without them.
        #[cfg(target_arch = "wasm32")]
        $crate::__private::bindings::__deskbridge_export_world!(__DeskbridgeExports);
    };
}

/// The examples in `README.md` compile as doctests, so the guide cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
