//! Deskbridge's helpdesk connectors.
//!
//! Each connector does two things: it reads a helpdesk's webhook payloads (pure parsing, in
//! `*_webhook` modules) and it talks to the helpdesk's REST API through [`HelpdeskClient`]:
//! fetch a ticket with its whole thread, normalized to [`deskbridge_core::Ticket`], apply a
//! [`Write`], read back whether a write carrying a given marker already landed, and list the
//! helpdesk's knowledge (macros, canned responses, articles; `knowledge.rs`, HTML made text
//! by `html.rs`) for the knowledge base. Clients
//! share one [`RateGate`] per helpdesk instance, so fetches and writes together respect the
//! configured rate and the helpdesk's own `429`/`Retry-After`/remaining-quota signals.
//!
//! Connectors depend on the core alone; they never see the approval queue, and no [`Write`]
//! can express a public reply: customer-facing delivery is added behind the approval gate.

/// Implements [`HelpdeskClient`] for a client with inherent `fetch`, `write` and `find`
/// async methods (the trait is object-safe, so it boxes their futures).
macro_rules! helpdesk_client {
    ($client:ty) => {
        impl $crate::HelpdeskClient for $client {
            fn fetch_ticket<'a>(
                &'a self,
                ticket_id: &'a str,
            ) -> $crate::BoxFuture<'a, Result<$crate::FetchedTicket, $crate::ApiError>> {
                Box::pin(self.fetch(ticket_id))
            }

            fn apply<'a>(
                &'a self,
                ticket_id: &'a str,
                write: $crate::Write<'a>,
                marker: &'a str,
            ) -> $crate::BoxFuture<'a, Result<$crate::WriteReceipt, $crate::ApiError>> {
                Box::pin(self.write(ticket_id, write, marker))
            }

            fn find_marker<'a>(
                &'a self,
                ticket_id: &'a str,
                marker: &'a str,
            ) -> $crate::BoxFuture<'a, Result<Option<String>, $crate::ApiError>> {
                Box::pin(self.find(ticket_id, marker))
            }

            fn public_reply<'a>(
                &'a self,
                reply: &'a deskbridge_core::ApprovedReply,
            ) -> $crate::BoxFuture<'a, Result<$crate::WriteReceipt, $crate::ApiError>> {
                Box::pin(self.reply(reply))
            }

            fn find_public_reply<'a>(
                &'a self,
                reply: &'a deskbridge_core::ApprovedReply,
            ) -> $crate::BoxFuture<'a, Result<Option<String>, $crate::ApiError>> {
                Box::pin(self.find_reply(reply.ticket_id(), reply.body()))
            }

            fn knowledge<'a>(
                &'a self,
            ) -> $crate::BoxFuture<'a, Result<Vec<deskbridge_core::KnowledgeDoc>, $crate::ApiError>>
            {
                Box::pin(self.knowledge())
            }

            fn probe<'a>(&'a self) -> $crate::BoxFuture<'a, Result<(), $crate::ApiError>> {
                Box::pin(self.probe())
            }
        }
    };
}
pub(crate) use helpdesk_client;

mod freshdesk;
pub mod freshdesk_webhook;
pub mod html;
mod http;
mod knowledge;
mod marker;
mod rate;
mod zendesk;
pub mod zendesk_webhook;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use deskbridge_core::{Priority, Ticket};
use thiserror::Error;

pub use freshdesk::{FreshdeskClient, FreshdeskSettings};
pub use knowledge::MAX_KNOWLEDGE_DOCS;
pub use marker::{MARKER_PREFIX, marker_for, text_has_marker};
pub use rate::RateGate;
pub use zendesk::{ZendeskAuth, ZendeskClient, ZendeskSettings};

/// A boxed future, as returned by [`HelpdeskClient`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a helpdesk API call failed, classified for the retry logic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiError {
    /// `429 Too Many Requests`: wait, then try again.
    #[error("rate limited by the helpdesk (retry after {retry_after:?})")]
    RateLimited {
        /// What `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// A failure that may pass: 5xx, timeout, dropped connection.
    #[error("{reason}")]
    Transient {
        /// What happened.
        reason: String,
        /// True when the request may have been applied although no success came back (the
        /// request was sent: a timeout waiting for the answer, a 5xx from a write).
        maybe_applied: bool,
    },
    /// A failure that retrying will not fix (400, 401, 403, 404, 422, an unreadable answer).
    #[error("{reason}")]
    Permanent {
        /// HTTP status, if there was one.
        status: Option<u16>,
        /// What happened.
        reason: String,
    },
}

/// A write to a ticket. There is deliberately no public-reply variant here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<'a> {
    /// A private note.
    InternalNote {
        /// The note's text, plain.
        body: &'a str,
    },
    /// Tags to add.
    AddTags {
        /// The tags.
        tags: &'a [String],
    },
    /// A new priority.
    SetPriority {
        /// The priority.
        priority: Priority,
    },
}

/// What a successful write returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReceipt {
    /// The helpdesk's id for what was created (comment or conversation id), if any.
    pub id: Option<String>,
}

/// A ticket as fetched, normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedTicket {
    /// The normalized ticket; messages that carry a Deskbridge marker have the `bot` role.
    pub ticket: Ticket,
}

/// One helpdesk instance's API.
pub trait HelpdeskClient: Send + Sync {
    /// Fetches a ticket with its whole thread.
    fn fetch_ticket<'a>(
        &'a self,
        ticket_id: &'a str,
    ) -> BoxFuture<'a, Result<FetchedTicket, ApiError>>;

    /// Applies a write. Notes carry `marker` so that [`HelpdeskClient::find_marker`] can tell
    /// later whether this write landed.
    fn apply<'a>(
        &'a self,
        ticket_id: &'a str,
        write: Write<'a>,
        marker: &'a str,
    ) -> BoxFuture<'a, Result<WriteReceipt, ApiError>>;

    /// Looks through the ticket's thread for a message carrying `marker`; returns its id.
    fn find_marker<'a>(
        &'a self,
        ticket_id: &'a str,
        marker: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ApiError>>;

    /// Sends a customer-facing reply. Only an [`deskbridge_core::ApprovedReply`] — made by
    /// the delivery gate alone — can be sent: nothing else expresses "send this".
    fn public_reply<'a>(
        &'a self,
        reply: &'a deskbridge_core::ApprovedReply,
    ) -> BoxFuture<'a, Result<WriteReceipt, ApiError>>;

    /// Looks for `reply` among the ticket's public agent replies (the read-back after a
    /// timeout) — by its text in a helpdesk's thread, or by the id it was sent under where
    /// the gateway chose one; returns its id.
    fn find_public_reply<'a>(
        &'a self,
        reply: &'a deskbridge_core::ApprovedReply,
    ) -> BoxFuture<'a, Result<Option<String>, ApiError>>;

    /// The helpdesk's knowledge — macros or canned responses and published articles — as a
    /// complete listing, in plain text (the knowledge base reconciles against it).
    fn knowledge<'a>(
        &'a self,
    ) -> BoxFuture<'a, Result<Vec<deskbridge_core::KnowledgeDoc>, ApiError>>;

    /// One cheap authenticated request that says whether the helpdesk answers and accepts
    /// the gateway's credentials (the readiness check).
    fn probe<'a>(&'a self) -> BoxFuture<'a, Result<(), ApiError>>;
}

/// Installs the process-wide TLS crypto provider (ring) once. Clients call it; it is public
/// for binaries that build their own `reqwest` clients.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// What a helpdesk notification says, once parsed: which ticket to look at, and how to
/// recognise a redelivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The helpdesk's ticket id.
    pub ticket_id: String,
    /// The event kind, when the payload names one reliably.
    pub kind_hint: Option<deskbridge_core::EventKind>,
    /// The helpdesk's own name for the event, for operators.
    pub origin: String,
    /// Identifies redeliveries of the same notification; derived from signed or
    /// authenticated content only, never from an unsigned header.
    pub dedupe_key: String,
    /// Keys of the body the gateway does not use (an admin's extra placeholders), dotted, for
    /// the server to log once per helpdesk: a typo stays visible without refusing the event.
    pub unknown_keys: Vec<String>,
}

/// Most unknown keys a parser reports for one body (a body is bounded anyway; so is the log).
pub(crate) const MAX_REPORTED_KEYS: usize = 32;

/// Longest unknown key reported, in bytes (longer ones are cut).
const MAX_REPORTED_KEY_BYTES: usize = 64;

/// The keys of `object` not in `known`, prefixed, bounded in number and length.
pub(crate) fn unknown_keys(
    object: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
    prefix: &str,
) -> Vec<String> {
    object
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .take(MAX_REPORTED_KEYS)
        .map(|k| {
            let mut end = k.len().min(MAX_REPORTED_KEY_BYTES);
            while !k.is_char_boundary(end) {
                end -= 1;
            }
            format!("{prefix}{}", &k[..end])
        })
        .collect()
}

/// What parsing a webhook body gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A notification to process.
    Notice(Notice),
    /// A well-formed notification the gateway has no use for (say, a status change).
    Ignored {
        /// Why.
        reason: String,
    },
}

/// Why a webhook body was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WebhookError {
    /// Not JSON at all.
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    /// A field is missing or wrong.
    #[error("field `{field}`: {problem}")]
    Field {
        /// Dotted path of the field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

pub(crate) fn field_error(field: &str, problem: impl Into<String>) -> WebhookError {
    WebhookError::Field {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Reads a ticket id that helpdesks render as a string or a number; it must be a number.
pub(crate) fn ticket_id_field(
    value: &serde_json::Value,
    field: &str,
) -> Result<String, WebhookError> {
    let id = match value {
        serde_json::Value::Null => return Err(field_error(field, "is missing")),
        other => http::id_string(other)
            .ok_or_else(|| field_error(field, "must be a string or a number"))?,
    };
    let id = id.trim().to_owned();
    if !http::is_numeric_id(&id) {
        // The value is not quoted: a mis-mapped placeholder may carry a customer's text.
        let shown = if id.contains("{{") {
            "an unrendered placeholder".to_owned()
        } else {
            format!(
                "{} characters that are not a ticket number",
                id.chars().count()
            )
        };
        return Err(field_error(
            field,
            format!("{shown} (is the placeholder spelled right?)"),
        ));
    }
    Ok(id)
}
