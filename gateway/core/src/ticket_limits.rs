//! The size limits of a normalized ticket (`schemas/ticket-event.schema.json`) and how a
//! fetched ticket that exceeds them is cut down to fit.
//!
//! A helpdesk can hold a 70 kB message or a thread of 1,001 messages. Refusing such a ticket
//! would switch the AI off for exactly the tickets that take people longest to read, and the
//! schema's error would quote the customer's text into failure records and logs. Instead,
//! [`fit_to_limits`] keeps the newest messages, cuts over-long texts at a character boundary
//! and reports what it did as [`Truncation`]s, which name fields and limits, never content;
//! the pipeline flags the drafts of such a ticket (`ticket-truncated`).

use crate::ticket::Ticket;

/// `ticket.subject` `maxLength`, characters.
pub const MAX_SUBJECT_CHARS: usize = 1000;
/// `ticket.tags` `maxItems`.
pub const MAX_TAGS: usize = 200;
/// A tag's `maxLength`, characters.
pub const MAX_TAG_CHARS: usize = 255;
/// `ticket.messages` `maxItems`.
pub const MAX_MESSAGES: usize = 1000;
/// A message body's `maxLength`, characters.
pub const MAX_BODY_CHARS: usize = 65_536;
/// A person's name (`requester.name`, `author_name`) `maxLength`, characters.
pub const MAX_NAME_CHARS: usize = 512;
/// `requester.email` `maxLength`, characters.
pub const MAX_EMAIL_CHARS: usize = 320;
/// `requester.locale` `maxLength`, characters.
pub const MAX_LOCALE_CHARS: usize = 35;

/// One cut made to fit a ticket into the limits: which field, its size and the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The field, e.g. `ticket.messages` or `ticket.messages[3].body`.
    pub field: String,
    /// Its size before the cut (characters or items).
    pub was: usize,
    /// The limit it was cut to.
    pub limit: usize,
}

impl std::fmt::Display for Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cut from {} to {} (the limit)",
            self.field, self.was, self.limit
        )
    }
}

/// What was cut, one line per field kind, bounded however many fields were cut: fields of
/// the same kind (`ticket.messages[3].body`, `ticket.messages[9].body`) are counted together,
/// e.g. `ticket.messages[*].body: 2 cut to 65536`. For flags and records.
pub fn summarize(cuts: &[Truncation]) -> Vec<String> {
    let mut kinds: Vec<(String, usize, usize, Option<usize>)> = Vec::new();
    for cut in cuts {
        let kind = generalize(&cut.field);
        match kinds.iter_mut().find(|(k, ..)| *k == kind) {
            Some((_, count, _, _)) => *count += 1,
            None => kinds.push((kind, 1, cut.limit, Some(cut.was))),
        }
    }
    kinds
        .into_iter()
        .map(|(kind, count, limit, was)| match (count, was) {
            (1, Some(was)) => format!("{kind} cut from {was} to {limit}"),
            (n, _) => format!("{kind}: {n} cut to {limit}"),
        })
        .collect()
}

/// `ticket.messages[3].body` → `ticket.messages[*].body`.
fn generalize(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut in_index = false;
    for c in field.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[*");
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// Cuts `text` to at most `limit` characters; returns its length before, if it was cut.
fn cut(text: &mut String, limit: usize) -> Option<usize> {
    let (cut_at, _) = text.char_indices().nth(limit)?;
    let was = text.chars().count();
    text.truncate(cut_at);
    Some(was)
}

fn cut_field(
    text: &mut String,
    limit: usize,
    field: impl FnOnce() -> String,
    cuts: &mut Vec<Truncation>,
) {
    if let Some(was) = cut(text, limit) {
        cuts.push(Truncation {
            field: field(),
            was,
            limit,
        });
    }
}

/// Makes `ticket` fit the schema's size limits: the newest [`MAX_MESSAGES`] messages are
/// kept (the oldest go), and texts longer than their limit are cut. Returns what was cut, in
/// field order; an empty list means the ticket was within the limits. Values the schema
/// refuses for other reasons (a malformed timestamp, an empty id) are left alone: those
/// tickets are still refused, with a reason that names the field.
pub fn fit_to_limits(ticket: &mut Ticket) -> Vec<Truncation> {
    let mut cuts = Vec::new();
    cut_field(
        &mut ticket.subject,
        MAX_SUBJECT_CHARS,
        || "ticket.subject".into(),
        &mut cuts,
    );
    if ticket.tags.len() > MAX_TAGS {
        cuts.push(Truncation {
            field: "ticket.tags".into(),
            was: ticket.tags.len(),
            limit: MAX_TAGS,
        });
        ticket.tags.truncate(MAX_TAGS);
    }
    for (i, tag) in ticket.tags.iter_mut().enumerate() {
        cut_field(
            tag,
            MAX_TAG_CHARS,
            || format!("ticket.tags[{i}]"),
            &mut cuts,
        );
    }
    let requester = &mut ticket.requester;
    for (name, value, limit) in [
        ("name", &mut requester.name, MAX_NAME_CHARS),
        ("email", &mut requester.email, MAX_EMAIL_CHARS),
        ("locale", &mut requester.locale, MAX_LOCALE_CHARS),
    ] {
        if let Some(value) = value {
            cut_field(
                value,
                limit,
                || format!("ticket.requester.{name}"),
                &mut cuts,
            );
        }
    }
    if ticket.messages.len() > MAX_MESSAGES {
        cuts.push(Truncation {
            field: "ticket.messages".into(),
            was: ticket.messages.len(),
            limit: MAX_MESSAGES,
        });
        let oldest = ticket.messages.len() - MAX_MESSAGES;
        ticket.messages.drain(..oldest);
    }
    for (i, message) in ticket.messages.iter_mut().enumerate() {
        cut_field(
            &mut message.body,
            MAX_BODY_CHARS,
            || format!("ticket.messages[{i}].body"),
            &mut cuts,
        );
        if let Some(name) = &mut message.author_name {
            cut_field(
                name,
                MAX_NAME_CHARS,
                || format!("ticket.messages[{i}].author_name"),
                &mut cuts,
            );
        }
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::{
        AuthorRole, Channel, Customer, HelpdeskKind, Message, Priority, TicketStatus, Visibility,
    };

    fn ticket(messages: usize, body: &str) -> Ticket {
        Ticket {
            id: "1".into(),
            helpdesk: "acme".into(),
            helpdesk_kind: HelpdeskKind::Zendesk,
            subject: "Help".into(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            tags: vec![],
            requester: Customer {
                id: "c".into(),
                name: Some("Ann".into()),
                email: None,
                locale: None,
            },
            channel: Channel::Email,
            messages: (0..messages)
                .map(|i| Message {
                    id: format!("m{i}"),
                    author_role: AuthorRole::Customer,
                    author_name: None,
                    visibility: Visibility::Public,
                    body: body.to_owned(),
                    created_at: "2026-12-04T10:00:00Z".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_ticket_within_the_limits_is_left_alone() {
        let mut t = ticket(MAX_MESSAGES, &"é".repeat(MAX_BODY_CHARS));
        let before = t.clone();
        assert!(fit_to_limits(&mut t).is_empty());
        assert_eq!(t, before);
    }

    #[test]
    fn the_newest_messages_are_kept_and_long_texts_cut_at_a_character() {
        let mut t = ticket(MAX_MESSAGES + 1, "hi");
        t.messages[3].body = "ü".repeat(70_000);
        t.subject = "s".repeat(1200);
        let cuts = fit_to_limits(&mut t);
        assert_eq!(t.messages.len(), MAX_MESSAGES);
        assert_eq!(t.messages[0].id, "m1", "the oldest message went");
        assert_eq!(t.messages[2].body.chars().count(), MAX_BODY_CHARS);
        assert_eq!(t.subject.chars().count(), MAX_SUBJECT_CHARS);
        let fields: Vec<String> = cuts.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            fields,
            [
                "ticket.subject cut from 1200 to 1000 (the limit)",
                "ticket.messages cut from 1001 to 1000 (the limit)",
                "ticket.messages[2].body cut from 70000 to 65536 (the limit)",
            ]
        );
        assert!(
            fields.iter().all(|f| !f.contains('ü')),
            "no content in the description"
        );
    }

    #[test]
    fn a_summary_counts_fields_of_one_kind_together() {
        let mut t = ticket(3, &"x".repeat(MAX_BODY_CHARS + 5));
        t.tags = vec!["t".repeat(MAX_TAG_CHARS + 1); MAX_TAGS + 1];
        let cuts = fit_to_limits(&mut t);
        assert_eq!(cuts.len(), 1 + MAX_TAGS + 3);
        assert_eq!(
            summarize(&cuts),
            [
                "ticket.tags cut from 201 to 200",
                "ticket.tags[*]: 200 cut to 255",
                "ticket.messages[*].body: 3 cut to 65536",
            ]
        );
    }
}
