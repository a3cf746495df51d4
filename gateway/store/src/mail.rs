//! The email channel's threads (`kind = "email"`): a mailbox has no ticket API, so the store
//! keeps each ticket's messages, the raw mail they came from, the indexes that thread a new
//! message, and how far the mailbox has been read.
//!
//! [`crate::Store::record_mail`] files one inbound message in one atomic write: its raw bytes,
//! the message in its thread (an existing one found by the caller's [`ThreadHint`], else a new
//! ticket), the indexes, and the mailbox cursor. Recording the same message again (a crash
//! before the server was told) changes nothing and answers with the same ticket.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most messages one thread keeps; older ones beyond it are dropped from the thread (their
/// raw mail stays until retention).
pub const MAX_THREAD_MESSAGES: usize = 500;

/// Most bytes of text one thread keeps; past it the oldest messages are dropped the same way.
/// A thread is rewritten whole with each message, so this bounds what one message costs.
pub const MAX_THREAD_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// Who wrote a message of an email ticket, and who saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// Mail from the customer (or anyone else) into the support mailbox.
    Inbound,
    /// A reply the gateway sent after a person approved it.
    Reply,
    /// An internal note: kept here, shown in the console, never mailed.
    Note,
}

/// One message of an email ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailMessage {
    /// `Message-ID` (without brackets); for a note, the gateway's own id.
    pub message_id: String,
    /// What it is.
    pub kind: MailKind,
    /// Sender's display name.
    pub from_name: Option<String>,
    /// Sender's address (lower-case), if any.
    pub from_address: Option<String>,
    /// Subject.
    pub subject: String,
    /// When it was written (the `Date` header) or recorded, Unix milliseconds.
    pub at_ms: i64,
    /// The visible text.
    pub text: String,
    /// Attachments as `name (type, bytes, sha256)` lines — described, never kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// Why it is not drafted to (an auto-reply, a bounce, …), when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<String>,
    /// What was wrong with it as MIME (kept raw, flagged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// A reply recorded before it was sent whose sending is not confirmed yet: the SMTP
    /// server's answer, or the mailbox's own copy arriving, confirms it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

/// What became of a reply recorded pending before its send ([`crate::Store::update_pending_mail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingChange {
    /// It went out: the SMTP server took it, or its copy is in the mailbox.
    Sent,
    /// Another try starts now (Unix milliseconds): the wait for its copy counts from here.
    Attempted {
        /// When.
        at_ms: i64,
    },
    /// The server refused it for good: nothing went out, it leaves the thread.
    Withdrawn,
}

/// An email ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailThread {
    /// Helpdesk instance.
    pub helpdesk: String,
    /// The ticket id (also its key in the plus-address of our replies).
    pub ticket_id: String,
    /// The subject of the message that opened it.
    pub subject: String,
    /// The customer: the sender of the message that opened it.
    pub requester_name: Option<String>,
    /// Their address.
    pub requester_address: Option<String>,
    /// Tags (plugins' and agents').
    #[serde(default)]
    pub tags: Vec<String>,
    /// When it was opened, Unix milliseconds.
    pub created_at_ms: i64,
    /// When the gateway last wrote to it (a message, a tag), Unix milliseconds by its own
    /// clock — never a sender's `Date` —: retention goes by this.
    #[serde(default)]
    pub updated_at_ms: i64,
    /// Its messages, oldest first, at most [`MAX_THREAD_MESSAGES`].
    pub messages: Vec<MailMessage>,
}

/// How to find the thread a message belongs to, in the order the store tries (the rules are
/// `deskbridge_email::thread`'s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadHint {
    /// Message ids it refers to, newest first.
    pub referenced_ids: Vec<String>,
    /// The ticket key in the plus-address it was sent to.
    pub ticket_key: Option<String>,
    /// Its sender and subject without reply prefixes: the fallback.
    pub sender_subject: Option<(String, String)>,
}

/// How far a mailbox has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailCursor {
    /// The mailbox's `UIDVALIDITY`.
    pub uid_validity: u32,
    /// The highest UID recorded.
    pub last_uid: u32,
    /// Messages at or below this UID were in the mailbox before the gateway first read it and
    /// are never read (0: every message is).
    #[serde(default)]
    pub start_uid: u32,
    /// When the gateway first read the mailbox without its history (Unix milliseconds; 0: the
    /// history was read): mail from before that day is never read, also after the server
    /// renumbered the mailbox and `start_uid` lost its meaning.
    #[serde(default)]
    pub history_before_ms: i64,
}

/// What [`crate::Store::record_mail`] did. Recording a message whose id a pending reply of
/// ours carries (the mailbox's copy of it) confirms that reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecorded {
    /// The ticket it went to; `None` when it matched no thread and was not allowed to open one
    /// (noise).
    pub ticket_id: Option<String>,
    /// Whether it opened that ticket.
    pub new_ticket: bool,
    /// Whether it was recorded before (nothing changed).
    pub duplicate: bool,
    /// For a duplicate: whether its event was made ([`crate::Store::mark_mail_event`]). A
    /// message read again whose event was made — a lost flag, a renumbered mailbox — makes no
    /// second one, however long after.
    pub event_made: bool,
}

/// The ticket id for a thread opened by `message_id` on `helpdesk`: stable, so recording the
/// opening message again finds the same ticket; short and lower-case ASCII, so it can stand in
/// a plus-address.
pub fn ticket_id_for(helpdesk: &str, message_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(helpdesk.as_bytes());
    hasher.update([0]);
    hasher.update(message_id.as_bytes());
    let digest = hasher.finalize();
    format!("m{}", hex::encode(&digest[..6]))
}

impl MailThread {
    /// The message with this id.
    pub fn message(&self, message_id: &str) -> Option<&MailMessage> {
        self.messages.iter().find(|m| m.message_id == message_id)
    }

    /// Applies `change` to the pending reply with this id; whether there was one.
    pub fn change_pending(&mut self, message_id: &str, change: PendingChange) -> bool {
        let Some(index) = self
            .messages
            .iter()
            .position(|m| m.message_id == message_id && m.pending)
        else {
            return false;
        };
        match change {
            PendingChange::Sent => self.messages[index].pending = false,
            PendingChange::Attempted { at_ms } => self.messages[index].at_ms = at_ms,
            PendingChange::Withdrawn => {
                self.messages.remove(index);
            }
        }
        true
    }

    /// Whether `address` (lower-case) wrote into this ticket as a customer: its requester, or
    /// the sender of one of its inbound messages. Only they thread into it by a reference or
    /// the ticket key; anyone else's mail opens a ticket of its own, so an outsider who learns
    /// a Message-ID cannot put words in the customer's ticket.
    pub fn is_participant(&self, address: &str) -> bool {
        self.requester_address.as_deref() == Some(address)
            || self.messages.iter().any(|m| {
                m.kind == MailKind::Inbound
                    && m.noise.is_none()
                    && m.from_address.as_deref() == Some(address)
            })
    }

    /// Whether the thread holds a message with this id.
    pub fn has_message(&self, message_id: &str) -> bool {
        self.messages.iter().any(|m| m.message_id == message_id)
    }

    /// Adds `message`; the oldest are dropped past [`MAX_THREAD_MESSAGES`] or
    /// [`MAX_THREAD_TEXT_BYTES`] — never the newest, and never a reply still pending (whether
    /// it went out is looked up by its presence here).
    pub fn push(&mut self, message: MailMessage) {
        self.messages.push(message);
        let newest = self.messages.len() - 1;
        let mut count = self.messages.len();
        let mut text_bytes: usize = self.messages.iter().map(|m| m.text.len()).sum();
        let mut keep = vec![true; self.messages.len()];
        for (index, message) in self.messages[..newest].iter().enumerate() {
            if count <= MAX_THREAD_MESSAGES && text_bytes <= MAX_THREAD_TEXT_BYTES {
                break;
            }
            if message.pending {
                continue;
            }
            keep[index] = false;
            count -= 1;
            text_bytes -= message.text.len();
        }
        let mut index = 0;
        self.messages.retain(|_| {
            index += 1;
            keep[index - 1]
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_newest_messages_within_both_bounds() {
        let message = |n: usize, bytes: usize| MailMessage {
            message_id: format!("m{n}"),
            kind: MailKind::Inbound,
            from_name: None,
            from_address: None,
            subject: String::new(),
            at_ms: 0,
            text: "x".repeat(bytes),
            attachments: Vec::new(),
            noise: None,
            problems: Vec::new(),
            pending: false,
        };
        let mut thread = MailThread {
            helpdesk: "h".into(),
            ticket_id: "t".into(),
            subject: String::new(),
            requester_name: None,
            requester_address: None,
            tags: Vec::new(),
            created_at_ms: 0,
            updated_at_ms: 0,
            messages: Vec::new(),
        };
        for n in 0..MAX_THREAD_MESSAGES + 3 {
            thread.push(message(n, 1));
        }
        assert_eq!(thread.messages.len(), MAX_THREAD_MESSAGES);
        assert_eq!(thread.messages[0].message_id, "m3");
        for n in 0..5 {
            thread.push(message(1000 + n, MAX_THREAD_TEXT_BYTES / 2));
        }
        let bytes: usize = thread.messages.iter().map(|m| m.text.len()).sum();
        assert!(bytes <= MAX_THREAD_TEXT_BYTES, "{bytes}");
        assert_eq!(
            thread.messages.last().map(|m| m.message_id.as_str()),
            Some("m1004")
        );
        // One message over the bound on its own still stays; so does a pending reply.
        thread.messages[0].pending = true;
        thread.push(message(2000, MAX_THREAD_TEXT_BYTES + 1));
        let ids: Vec<&str> = thread
            .messages
            .iter()
            .map(|m| m.message_id.as_str())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1], "m2000");
        assert!(thread.messages[0].pending);
    }

    #[test]
    fn ticket_ids_are_stable_short_and_plus_address_safe() {
        let id = ticket_id_for("mail", "abc@example.com");
        assert_eq!(id, ticket_id_for("mail", "abc@example.com"));
        assert_ne!(id, ticket_id_for("other", "abc@example.com"));
        assert_eq!(id.len(), 13);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
