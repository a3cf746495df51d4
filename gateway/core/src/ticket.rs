//! The normalized ticket and the events that carry it.
//!
//! The JSON form of [`TicketEvent`] is the document described by
//! `schemas/ticket-event.schema.json`; the WIT records in `sdk/wit` mirror it field for field.

use serde::{Deserialize, Serialize};

/// The kind of helpdesk a ticket lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HelpdeskKind {
    /// Zendesk Support.
    Zendesk,
    /// Freshdesk.
    Freshdesk,
    /// A support mailbox read over IMAP.
    Email,
    /// Any other helpdesk posting normalized events.
    Generic,
}

/// Lifecycle state of a ticket, normalized across helpdesks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Not yet looked at.
    New,
    /// Being worked on.
    Open,
    /// Waiting for the customer.
    Pending,
    /// Waiting for a third party.
    OnHold,
    /// Answered.
    Solved,
    /// Closed for good.
    Closed,
}

/// Ticket priority, normalized across helpdesks.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// The tag of a ticket holding mail that was not valid MIME (the email channel keeps such mail
/// raw and reads what it can of it): drafts on it are flagged `malformed-mail`.
pub const MALFORMED_MAIL_TAG: &str = "deskbridge-malformed-mail";

/// The channel the customer reached the helpdesk through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Email,
    /// A web form.
    Web,
    /// Live chat.
    Chat,
    /// Phone.
    Phone,
    /// The helpdesk's API.
    Api,
    /// Social media.
    Social,
    /// Anything else.
    Other,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorRole {
    /// The customer.
    Customer,
    /// A human agent.
    Agent,
    /// An automated sender: the helpdesk's bots or Deskbridge itself.
    Bot,
    /// A system event rendered as a message.
    System,
}

/// Whether the customer can see a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Seen by the customer.
    Public,
    /// Seen by agents only.
    Internal,
}

/// The person who opened the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// The helpdesk's id for the person.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// BCP 47 locale, e.g. `de-AT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// One message of the thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The helpdesk's id for the message (comment, conversation or Message-ID).
    pub id: String,
    /// Who wrote it.
    pub author_role: AuthorRole,
    /// Display name of the author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// Public reply or internal note.
    pub visibility: Visibility,
    /// Plain-text body.
    pub body: String,
    /// RFC 3339 timestamp.
    pub created_at: String,
}

/// The normalized ticket with its whole thread, oldest message first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// The helpdesk's id for the ticket.
    pub id: String,
    /// Name of the helpdesk instance in the gateway config.
    pub helpdesk: String,
    /// The kind of that helpdesk.
    pub helpdesk_kind: HelpdeskKind,
    /// Subject line.
    pub subject: String,
    /// Status.
    pub status: TicketStatus,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The customer who opened it.
    pub requester: Customer,
    /// Where it came from.
    pub channel: Channel,
    /// The thread, oldest first.
    pub messages: Vec<Message>,
}

impl Ticket {
    /// The newest message written by the customer, if any.
    pub fn last_customer_message(&self) -> Option<&Message> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.author_role == AuthorRole::Customer)
    }
}

/// What happened to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A new ticket.
    #[serde(rename = "ticket.created")]
    TicketCreated,
    /// The customer wrote again.
    #[serde(rename = "ticket.customer_message_added")]
    CustomerMessageAdded,
    /// An agent wrote (publicly or internally).
    #[serde(rename = "ticket.agent_message_added")]
    AgentMessageAdded,
}

impl EventKind {
    /// Every event kind, in a stable order.
    pub const ALL: [EventKind; 3] = [
        EventKind::TicketCreated,
        EventKind::CustomerMessageAdded,
        EventKind::AgentMessageAdded,
    ];

    /// The name used in manifests and JSON, e.g. `ticket.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TicketCreated => "ticket.created",
            EventKind::CustomerMessageAdded => "ticket.customer_message_added",
            EventKind::AgentMessageAdded => "ticket.agent_message_added",
        }
    }

    /// Parses a manifest/JSON event name.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A normalized ticket event: what plugins receive and what the generic webhook accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketEvent {
    /// Unique per event; the gateway deduplicates on it.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// RFC 3339 timestamp.
    pub occurred_at: String,
    /// The ticket as it is after the event.
    pub ticket: Ticket,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kind_names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).expect("serializes");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventKind::parse("ticket.deleted"), None);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let json = r#"{"id":"c1","role":"vip"}"#;
        let err = serde_json::from_str::<Customer>(json).expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `role`"), "{err}");
    }
}
