//! Filing one fetched message: parse it, tell noise from a person's mail, find its thread and
//! record it in the store ([`deskbridge_store::Store::record_mail`]) with the mailbox cursor.
//! What the IMAP loop does with each message before it makes an event of it; a message that
//! is noise or opens nothing is recorded and reported, never made an event.

use deskbridge_store::mail::{MailCursor, MailKind, MailMessage, MailRecorded, ThreadHint};
use deskbridge_store::{Store, StoreError};

use crate::noise::noise;
use crate::parse::{Limits, ParsedMail, parse};
use crate::thread::{referenced_ids, thread_subject, ticket_key};

/// Where one mailbox's mail goes.
#[derive(Debug, Clone)]
pub struct Mailbox {
    /// The helpdesk instance.
    pub helpdesk: String,
    /// The support address (lower-case), whose plus-addresses carry ticket keys.
    pub address: String,
    /// Our own addresses (lower-case): mail from them is never drafted to.
    pub own_addresses: Vec<String>,
    /// Parsing bounds.
    pub limits: Limits,
}

/// What filing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The message as recorded.
    pub message: MailMessage,
    /// Where it went.
    pub recorded: MailRecorded,
}

impl Filed {
    /// The ticket to make an event for: a person's new mail in a ticket.
    pub fn event_ticket(&self) -> Option<&str> {
        if self.recorded.duplicate || self.message.noise.is_some() {
            return None;
        }
        self.recorded.ticket_id.as_deref()
    }
}

/// The message id a message is recorded under: its own, or one made from its UID for mail
/// without one.
pub fn message_key(mail: &ParsedMail, helpdesk: &str, cursor: MailCursor) -> String {
    mail.message_id.clone().unwrap_or_else(|| {
        format!(
            "uid{}.{}@{helpdesk}.invalid",
            cursor.uid_validity, cursor.last_uid
        )
    })
}

/// Parses and records the raw message read at `cursor` (its UID and the mailbox's
/// `UIDVALIDITY`); `now_ms` dates mail without a valid `Date`.
pub fn file_mail(
    store: &dyn Store,
    mailbox: &Mailbox,
    raw: &[u8],
    cursor: MailCursor,
    now_ms: i64,
) -> Result<Filed, StoreError> {
    let mail = parse(raw, &mailbox.limits);
    let noise = noise(&mail, &mailbox.own_addresses).map(|n| n.to_string());
    let hint = ThreadHint {
        referenced_ids: referenced_ids(&mail)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        ticket_key: ticket_key(&mail, &mailbox.address),
        sender_subject: mail.from.as_ref().and_then(|from| {
            let subject = thread_subject(&mail.subject);
            (!subject.is_empty()).then(|| (from.address.clone(), subject))
        }),
    };
    let message = MailMessage {
        message_id: message_key(&mail, &mailbox.helpdesk, cursor),
        kind: MailKind::Inbound,
        from_name: mail.from.as_ref().and_then(|f| f.name.clone()),
        from_address: mail.from.as_ref().map(|f| f.address.clone()),
        subject: mail.subject.clone(),
        at_ms: mail.date_ms.unwrap_or(now_ms),
        text: mail.text.clone(),
        attachments: mail
            .attachments
            .iter()
            .map(|a| {
                format!(
                    "{} ({}, {} bytes{}, sha256 {})",
                    a.name.as_deref().unwrap_or("unnamed"),
                    a.content_type,
                    a.size,
                    if a.oversized {
                        ", over the size limit"
                    } else {
                        ""
                    },
                    a.sha256
                )
            })
            .collect(),
        noise: noise.clone(),
        problems: mail.problems.clone(),
    };
    let recorded = store.record_mail(
        &mailbox.helpdesk,
        &message,
        raw,
        &hint,
        noise.is_none(),
        cursor,
    )?;
    Ok(Filed { message, recorded })
}
