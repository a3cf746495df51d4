//! The keys that thread a message into a ticket (the store keeps the threads; the rules are
//! here):
//!
//! 1. Any id in `In-Reply-To` or `References` that names a message of a known ticket — ours
//!    (a reply the gateway sent) or the customer's. The newest reference first.
//! 2. The ticket key in plus-addressing: mail to `support+KEY@example.com`, where KEY is the
//!    ticket's key the gateway put in the `Reply-To` of its replies.
//! 3. The subject without its reply and forward prefixes, for the same sender — a fallback
//!    for mail programs that drop the threading headers.
//!
//! Otherwise the message opens a new ticket.

use crate::parse::{MailAddress, ParsedMail};

/// Longest ticket key read from an address, characters.
pub const MAX_KEY_CHARS: usize = 64;

/// Message ids a message refers to, newest first: `In-Reply-To`, then `References` from the
/// end, without repeats.
pub fn referenced_ids(mail: &ParsedMail) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for id in mail.in_reply_to.iter().chain(mail.references.iter().rev()) {
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    ids
}

/// The ticket key in a recipient's plus-address of the support mailbox `mailbox`
/// (lower-case `local@domain`): `support+KEY@domain` → `KEY`, lower-cased as addresses are
/// (mail servers may change the case of the local part). Keys are ASCII letters, digits,
/// `-` and `_`.
pub fn ticket_key(mail: &ParsedMail, mailbox: &str) -> Option<String> {
    let (local, domain) = mailbox.split_once('@')?;
    mail.to
        .iter()
        .chain(mail.cc.iter())
        .find_map(|MailAddress { address, .. }| {
            let (their_local, their_domain) = address.split_once('@')?;
            if their_domain != domain {
                return None;
            }
            let key = their_local.strip_prefix(local)?.strip_prefix('+')?;
            let valid = !key.is_empty()
                && key.len() <= MAX_KEY_CHARS
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            valid.then(|| key.to_owned())
        })
}

/// The subject without reply and forward prefixes (`Re:`, `Fwd:`, `Fw:`, `AW:`, `WG:`,
/// `SV:`, `RE[2]:`, `回复：`, `答复：`, `转发：`), lower-cased, spaces collapsed: what a
/// thread's messages share.
pub fn thread_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let stripped = strip_prefix(rest);
        if stripped.len() == rest.len() {
            break;
        }
        rest = stripped.trim_start();
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn strip_prefix(subject: &str) -> &str {
    for cjk in ["回复：", "回复:", "答复：", "答复:", "转发：", "转发:"] {
        if let Some(rest) = subject.strip_prefix(cjk) {
            return rest;
        }
    }
    // A short ASCII word, an optional `[n]` or `(n)` counter, then a colon.
    let word_end = subject
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(subject.len());
    let word = subject[..word_end].to_ascii_lowercase();
    if ![
        "re", "fwd", "fw", "aw", "wg", "sv", "vs", "tr", "rv", "antw",
    ]
    .contains(&word.as_str())
    {
        return subject;
    }
    let mut rest = &subject[word_end..];
    if let Some(counter) = rest.strip_prefix(['[', '(']) {
        let digits = counter
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(counter.len());
        match counter[digits..].strip_prefix([']', ')']) {
            Some(after) if digits > 0 => rest = after,
            _ => return subject,
        }
    }
    rest.trim_start().strip_prefix(':').unwrap_or(subject)
}

/// Our message id for the reply of draft `draft_id`: `deskbridge.{MAC}@{domain}`, where MAC is
/// the first 128 bits of HMAC-SHA256 under the mailbox's secret `key`
/// (`Store::mail_reply_key`), in hex. Fixed before the first try, so a retry sends the same id
/// and the mailbox's blind copy of it can be recognised; unguessable before the reply is
/// sent, so nobody can file mail under it first to pass it off as sent or block it.
pub fn reply_message_id(key: &[u8; 32], draft_id: &str, domain: &str) -> String {
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(b"deskbridge reply ");
    mac.update(draft_id.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("deskbridge.{}@{domain}", hex::encode(&tag[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_lose_their_prefixes() {
        assert_eq!(
            thread_subject("Re: RE: Fwd:  Where is  my order?"),
            "where is my order?"
        );
        assert_eq!(thread_subject("AW: WG: Rechnung"), "rechnung");
        assert_eq!(thread_subject("Re[3]: Refund"), "refund");
        assert_eq!(thread_subject("回复：订单还没有到"), "订单还没有到");
        assert_eq!(thread_subject("Report: monthly"), "report: monthly");
        assert_eq!(thread_subject("Re"), "re");
        assert_eq!(thread_subject("Re[x]: odd"), "re[x]: odd");
    }

    #[test]
    fn our_reply_ids_are_stable_per_draft_and_key_and_safe() {
        let key = [7u8; 32];
        let id = reply_message_id(&key, "evt_1.suggest-reply.0", "acme.test");
        assert_eq!(
            id,
            reply_message_id(&key, "evt_1.suggest-reply.0", "acme.test")
        );
        assert_ne!(
            id,
            reply_message_id(&key, "evt_2.suggest-reply.0", "acme.test")
        );
        assert_ne!(
            id,
            reply_message_id(&[8u8; 32], "evt_1.suggest-reply.0", "acme.test")
        );
        let local = id
            .strip_prefix("deskbridge.")
            .and_then(|rest| rest.strip_suffix("@acme.test"))
            .expect("shape");
        assert_eq!(local.len(), 32);
        assert!(local.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
