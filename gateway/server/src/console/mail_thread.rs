//! An email ticket's whole thread in the per-ticket view: a mailbox has no helpdesk screen of
//! its own, so the console is where agents read it — every message with its sender's name and
//! address (an outsider writing in is visible as such), the replies sent and those still
//! unconfirmed, the internal notes that are never mailed, the mail recorded but not drafted
//! to (with why), the attachments as described, and the ticket's tags.
//!
//! Everything shown comes from mail a stranger may have written: maud escapes it all.

use deskbridge_store::mail::{MailKind, MailMessage, MailThread};
use maud::{Markup, html};

use super::layout::utc;

/// `Name <address>`, or whichever of them there is.
fn sender(name: Option<&str>, address: Option<&str>) -> String {
    match (name, address) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (Some(name), None) => name.to_owned(),
        (None, Some(address)) => address.to_owned(),
        (None, None) => "unknown sender".to_owned(),
    }
}

/// What a message is, in the agent's words.
fn kind_label(message: &MailMessage, thread: &MailThread) -> &'static str {
    match message.kind {
        MailKind::Note => "internal note, never mailed",
        MailKind::Reply if message.pending => "reply, sending not confirmed yet",
        MailKind::Reply => "reply sent",
        MailKind::Inbound if message.noise.is_some() => "recorded, not drafted to",
        MailKind::Inbound
            if message.from_address.is_some()
                && message.from_address != thread.requester_address =>
        {
            "another participant"
        }
        MailKind::Inbound => "customer",
    }
}

/// The thread section.
pub(super) fn view(thread: &MailThread) -> Markup {
    html! {
        section.thread aria-labelledby="email-thread" {
            h2 id="email-thread" { "Email thread" }
            p.meta {
                "Subject: " (thread.subject) " · requester "
                (sender(thread.requester_name.as_deref(), thread.requester_address.as_deref()))
                " · opened " (utc(thread.created_at_ms)) " UTC"
            }
            @if !thread.tags.is_empty() {
                p.meta { "Tags: " (thread.tags.join(", ")) }
            }
            @for message in &thread.messages {
                div.message
                    .customer[message.kind == MailKind::Inbound]
                    .internal[message.kind == MailKind::Note]
                    data-kind=(kind_label(message, thread)) {
                    p.from {
                        (sender(message.from_name.as_deref(), message.from_address.as_deref()))
                        " · " (kind_label(message, thread))
                        " · " (utc(message.at_ms)) " UTC"
                    }
                    @if let Some(reason) = &message.noise {
                        p.meta { "Not drafted to: " (reason) }
                    }
                    @if !message.problems.is_empty() {
                        p.error { "Malformed mail, kept as received: " (message.problems.join("; ")) }
                    }
                    div.body { (message.text) }
                    @if !message.attachments.is_empty() {
                        ul.attachments {
                            @for attachment in &message.attachments { li { (attachment) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: MailKind, from: Option<&str>, text: &str) -> MailMessage {
        MailMessage {
            message_id: format!("{text}@x.test"),
            kind,
            from_name: None,
            from_address: from.map(str::to_owned),
            subject: "Order".into(),
            at_ms: 0,
            text: text.into(),
            attachments: Vec::new(),
            noise: None,
            problems: Vec::new(),
            pending: false,
        }
    }

    #[test]
    fn every_message_shows_who_wrote_it_and_what_it_is_escaped() {
        let thread = MailThread {
            helpdesk: "support".into(),
            ticket_id: "m1".into(),
            subject: "Order <b>".into(),
            requester_name: Some("Ana".into()),
            requester_address: Some("ana@example.com".into()),
            tags: vec!["vip".into()],
            created_at_ms: 0,
            updated_at_ms: 0,
            messages: vec![
                message(
                    MailKind::Inbound,
                    Some("ana@example.com"),
                    "<script>x</script>",
                ),
                message(MailKind::Note, None, "check stock"),
                MailMessage {
                    pending: true,
                    ..message(MailKind::Reply, Some("support@acme.test"), "on its way")
                },
                message(MailKind::Inbound, Some("bob@example.net"), "me too"),
            ],
        };
        let html = view(&thread).into_string();
        assert!(html.contains("Order &lt;b&gt;"), "{html}");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("Ana &lt;ana@example.com&gt;"), "{html}");
        assert!(html.contains("internal note, never mailed"));
        assert!(html.contains("reply, sending not confirmed yet"));
        assert!(
            html.contains("bob@example.net · another participant"),
            "{html}"
        );
        assert!(html.contains("Tags: vip"));
    }
}
