//! Filing one fetched message: parse it, tell noise from a person's mail, find its thread and
//! record it in the store ([`deskbridge_store::Store::record_mail`]) with the mailbox cursor.
//! What the IMAP loop does with each message before it makes an event of it; a message that
//! is noise or opens nothing is recorded and reported, never made an event.

use std::collections::{HashMap, VecDeque};

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
    /// Whether its sender was over the new-ticket limit (it then opened none).
    pub over_limit: bool,
    /// When it is noise, which kind (`Noise::code`, for logs).
    pub noise_code: Option<&'static str>,
}

impl Filed {
    /// The ticket to make an event for: a person's mail in a ticket whose event was not made
    /// yet. Also when it was recorded before without its event — a crash came between the
    /// record and the event; should the event have been made after all, its dedupe key turns
    /// the second one away.
    pub fn event_ticket(&self) -> Option<&str> {
        if self.message.noise.is_some() || self.recorded.event_made {
            return None;
        }
        self.recorded.ticket_id.as_deref()
    }
}

/// The message id a message is recorded under: its own, or for mail without one a digest of
/// its bytes — the same however often and under whatever UID it is read (a renumbered
/// mailbox), so reading it again finds its record.
pub fn message_key(mail: &ParsedMail, raw: &[u8], helpdesk: &str) -> String {
    use sha2::{Digest, Sha256};
    mail.message_id.clone().unwrap_or_else(|| {
        let digest = Sha256::digest(raw);
        format!("sha256.{}@{helpdesk}.invalid", hex::encode(&digest[..16]))
    })
}

/// How many tickets one sender may open per hour: past it, their mail that starts a thread is
/// recorded in no ticket (a flood, a loop with a mail program the noise rules miss); mail in
/// their existing tickets still goes through. Kept in memory: a restart forgets it.
#[derive(Debug)]
pub struct SenderLimit {
    per_hour: usize,
    opened: HashMap<String, VecDeque<i64>>,
}

/// Most senders the limit remembers; past it, those with nothing in the last hour go first.
const MAX_SENDERS: usize = 10_000;
const HOUR_MS: i64 = 3_600_000;

impl SenderLimit {
    /// At most `per_hour` new tickets per sender and hour.
    pub fn new(per_hour: u32) -> SenderLimit {
        SenderLimit {
            per_hour: per_hour as usize,
            opened: HashMap::new(),
        }
    }

    /// Whether `sender` may open a ticket at `now_ms`.
    pub fn allows(&mut self, sender: &str, now_ms: i64) -> bool {
        let Some(times) = self.opened.get_mut(sender) else {
            return true;
        };
        while times.front().is_some_and(|&at| at <= now_ms - HOUR_MS) {
            times.pop_front();
        }
        times.len() < self.per_hour
    }

    /// `sender` opened a ticket at `now_ms`.
    pub fn note(&mut self, sender: &str, now_ms: i64) {
        if self.opened.len() >= MAX_SENDERS && !self.opened.contains_key(sender) {
            self.opened
                .retain(|_, times| times.back().is_some_and(|&at| at > now_ms - HOUR_MS));
            if self.opened.len() >= MAX_SENDERS {
                return; // a flood of distinct senders: each is new, let them through
            }
        }
        self.opened
            .entry(sender.to_owned())
            .or_default()
            .push_back(now_ms);
    }
}

/// Parses and records the raw message read at `cursor` (its UID and the mailbox's
/// `UIDVALIDITY`); `now_ms` dates mail without a valid `Date`. `limit`, when given, may keep
/// the message from opening a ticket.
pub fn file_mail(
    store: &dyn Store,
    mailbox: &Mailbox,
    raw: &[u8],
    cursor: MailCursor,
    now_ms: i64,
    limit: Option<&mut SenderLimit>,
) -> Result<Filed, StoreError> {
    let mail = parse(raw, &mailbox.limits);
    let found_noise = noise(&mail, &mailbox.own_addresses);
    let noise_code = found_noise.as_ref().map(|n| n.code());
    let noise = found_noise.map(|n| n.to_string());
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
        message_id: message_key(&mail, raw, &mailbox.helpdesk),
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
        pending: false,
    };
    let sender = message.from_address.clone().unwrap_or_default();
    let (limit, over_limit) = match limit {
        Some(limit) => {
            let over = !limit.allows(&sender, now_ms);
            (Some(limit), over)
        }
        None => (None, false),
    };
    let recorded = store.record_mail(
        &mailbox.helpdesk,
        &message,
        raw,
        &hint,
        noise.is_none() && !over_limit,
        cursor,
    )?;
    if recorded.new_ticket
        && let Some(limit) = limit
    {
        limit.note(&sender, now_ms);
    }
    Ok(Filed {
        message,
        recorded,
        over_limit,
        noise_code,
    })
}

#[cfg(test)]
mod tests {
    use super::SenderLimit;

    #[test]
    fn a_sender_opens_at_most_the_limit_per_hour() {
        let mut limit = SenderLimit::new(2);
        for at in [0, 10] {
            assert!(limit.allows("a@x.test", at));
            limit.note("a@x.test", at);
        }
        assert!(!limit.allows("a@x.test", 20), "a third within the hour");
        assert!(limit.allows("b@x.test", 20), "another sender");
        assert!(
            limit.allows("a@x.test", 3_600_001),
            "an hour after the first"
        );
    }
}
