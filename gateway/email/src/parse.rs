//! One raw message into a bounded [`ParsedMail`], with `mail-parser` 0.11 doing the MIME
//! work: RFC 2047 encoded words, every charset it knows, multipart nesting, transfer
//! encodings.
//!
//! The text is the first `text/plain` body when the message has one (a
//! `multipart/alternative` offers both); otherwise its HTML turned into text by
//! [`deskbridge_connectors::html::to_text`], which drops scripts, styles and every element a
//! reader would not see. Attachments become metadata — name, type, size, SHA-256 — never
//! content. Every field is bounded ([`Limits`], [`MAX_HEADER_CHARS`], …). Parsing never fails: a message `mail-parser` cannot read, or one
//! over the size limit, comes back with what its headers give and a problem saying why, so
//! the raw message can be kept and the event flagged rather than lost.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The bounds parsing keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message parsed whole, bytes; a larger one is read for its headers only.
    pub message_bytes: usize,
    /// Largest attachment taken as is, bytes; a larger one is listed as oversized.
    pub attachment_bytes: usize,
    /// Longest text kept, bytes (cut at a character boundary).
    pub text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: 32 * 1024 * 1024,
            attachment_bytes: 10 * 1024 * 1024,
            text_bytes: 128 * 1024,
        }
    }
}

/// Longest header value kept (a message id, a subject, an address), characters: RFC 5322's
/// line limit.
pub const MAX_HEADER_CHARS: usize = 998;

/// Most message ids kept from `References` (the newest ones) and `In-Reply-To`.
pub const MAX_REFERENCES: usize = 50;

/// Most attachments listed.
pub const MAX_ATTACHMENTS: usize = 100;

/// A mailbox: display name and address (lower-cased; `None` for a group or a URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAddress {
    /// The display name, decoded.
    pub name: Option<String>,
    /// The address, lower-cased.
    pub address: String,
}

/// An attachment, described, never kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Its file name, if it gave one.
    pub name: Option<String>,
    /// `type/subtype`.
    pub content_type: String,
    /// Decoded size, bytes.
    pub size: u64,
    /// SHA-256 of the decoded content, hex.
    pub sha256: String,
    /// Over [`Limits::attachment_bytes`].
    pub oversized: bool,
}

/// The `Return-Path` a message arrived with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnPath {
    /// No `Return-Path` header (the delivering server did not add one).
    Absent,
    /// `<>`: the null sender of bounces and auto-replies (RFC 3834 §3.1).
    Null,
    /// A sender address.
    Address(String),
}

/// The headers that tell automatic mail from a person's (`noise.rs`), as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationHeaders {
    /// `Auto-Submitted` (RFC 3834), lower-cased.
    pub auto_submitted: Option<String>,
    /// `Precedence`, lower-cased.
    pub precedence: Option<String>,
    /// `List-Id` (RFC 2919).
    pub list_id: Option<String>,
    /// `Return-Path`.
    pub return_path: ReturnPath,
    /// The top-level content type, `type/subtype`, lower-cased (`multipart/report` for a
    /// delivery status notification).
    pub content_type: String,
    /// `X-Autoreply`, `X-Autorespond` or `X-Auto-Response-Suppress` present (vendors' own
    /// auto-reply marks).
    pub vendor_autoreply: bool,
}

/// A message as the gateway uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedMail {
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// `References` ids, oldest first, at most the newest [`MAX_REFERENCES`].
    pub references: Vec<String>,
    /// The author (`From`, first mailbox).
    pub from: Option<MailAddress>,
    /// `Reply-To`, first mailbox.
    pub reply_to: Option<MailAddress>,
    /// `To` mailboxes.
    pub to: Vec<MailAddress>,
    /// `Cc` mailboxes.
    pub cc: Vec<MailAddress>,
    /// `Subject`, decoded (empty when none).
    pub subject: String,
    /// `Date`, Unix milliseconds, when it is a valid date.
    pub date_ms: Option<i64>,
    /// The visible text of the body.
    pub text: String,
    /// Whether `text` came from HTML (the message had no text part).
    pub text_from_html: bool,
    /// Whether `text` was cut to [`Limits::text_bytes`].
    pub text_truncated: bool,
    /// Attachments, described.
    pub attachments: Vec<Attachment>,
    /// What tells automatic mail apart.
    pub automation: AutomationHeaders,
    /// What was wrong with the message, in words; empty for a well-formed one.
    pub problems: Vec<String>,
    /// Size of the raw message, bytes.
    pub size: usize,
}

impl ParsedMail {
    /// Whether the message could not be read as MIME (kept raw, flagged).
    pub fn is_malformed(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// Parses `raw` within `limits`.
pub fn parse(raw: &[u8], limits: &Limits) -> ParsedMail {
    let parser = MessageParser::default();
    let mut problems = Vec::new();
    let too_large = raw.len() > limits.message_bytes;
    let parsed = if too_large {
        problems.push(format!(
            "the message has {} bytes, over the limit of {}: only its headers were read",
            raw.len(),
            limits.message_bytes
        ));
        parser.parse_headers(raw)
    } else {
        parser.parse(raw)
    };
    let Some(message) = parsed else {
        problems.push("no header could be read: not an RFC 5322 message".into());
        return ParsedMail {
            message_id: None,
            in_reply_to: Vec::new(),
            references: Vec::new(),
            from: None,
            reply_to: None,
            to: Vec::new(),
            cc: Vec::new(),
            subject: String::new(),
            date_ms: None,
            text: String::new(),
            text_from_html: false,
            text_truncated: false,
            attachments: Vec::new(),
            automation: AutomationHeaders {
                auto_submitted: None,
                precedence: None,
                list_id: None,
                return_path: ReturnPath::Absent,
                content_type: String::new(),
                vendor_autoreply: false,
            },
            problems,
            size: raw.len(),
        };
    };
    if message.parts.iter().any(|p| p.is_encoding_problem) {
        problems.push("a part could not be decoded (bad transfer encoding or charset)".into());
    }
    let (text, text_from_html, text_truncated) = if too_large {
        (String::new(), false, false)
    } else {
        body_text(&message, limits)
    };
    let automation = automation(&message);
    let (mut text, mut text_truncated) = (text, text_truncated);
    let root = message.root_part();
    let split = matches!(&root.body, PartType::Multipart(ids) if !ids.is_empty());
    let broken_multipart =
        !too_large && automation.content_type.starts_with("multipart/") && !split;
    if broken_multipart {
        // The parser found no part: keep the body's words as text rather than lose them.
        problems.push(
            "a multipart message whose boundary never appears: its body is kept as text".into(),
        );
        if text.is_empty() {
            let body = raw
                .get(root.raw_body_offset() as usize..root.raw_end_offset() as usize)
                .unwrap_or_default();
            (text, text_truncated) = cut(normalize_lines(&String::from_utf8_lossy(body)), limits);
        }
    }
    let attachments = if too_large || broken_multipart {
        Vec::new()
    } else {
        attachments(&message, limits, &mut problems)
    };
    let mut references = ids(message.references());
    if references.len() > MAX_REFERENCES {
        references.drain(..references.len() - MAX_REFERENCES);
    }
    let mut in_reply_to = ids(message.in_reply_to());
    in_reply_to.truncate(MAX_REFERENCES);
    let date_ms = message
        .date()
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp().saturating_mul(1000));
    ParsedMail {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        in_reply_to,
        references,
        from: message.from().and_then(first_mailbox),
        reply_to: message.reply_to().and_then(first_mailbox),
        to: message.to().map(mailboxes).unwrap_or_default(),
        cc: message.cc().map(mailboxes).unwrap_or_default(),
        subject: message.subject().map(bounded).unwrap_or_default(),
        date_ms,
        text,
        text_from_html,
        text_truncated,
        attachments,
        automation,
        problems,
        size: raw.len(),
    }
}

/// A header value cut to [`MAX_HEADER_CHARS`], with control characters (a folded header's
/// line breaks among them) turned into spaces.
fn bounded(value: &str) -> String {
    value
        .chars()
        .take(MAX_HEADER_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A message id without its angle brackets and spaces.
fn clean_id(id: &str) -> String {
    bounded(id.trim().trim_start_matches('<').trim_end_matches('>'))
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<&str> = match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    raw.into_iter()
        .map(clean_id)
        .filter(|id| !id.is_empty())
        .collect()
}

fn mailboxes(address: &Address<'_>) -> Vec<MailAddress> {
    address
        .iter()
        .filter_map(|addr| {
            let email = addr.address.as_deref()?.trim();
            // An address has an `@` and no spaces; anything else (a URL, a bare name) is not
            // a mailbox.
            if !email.contains('@') || email.contains(char::is_whitespace) {
                return None;
            }
            Some(MailAddress {
                name: addr
                    .name
                    .as_deref()
                    .map(bounded)
                    .filter(|name| !name.is_empty()),
                address: bounded(email).to_lowercase(),
            })
        })
        .take(MAX_REFERENCES)
        .collect()
}

fn first_mailbox(address: &Address<'_>) -> Option<MailAddress> {
    mailboxes(address).into_iter().next()
}

fn lower_text(value: Option<&HeaderValue<'_>>) -> Option<String> {
    let text = match value? {
        HeaderValue::Text(text) => text.as_ref().to_owned(),
        HeaderValue::TextList(list) => list.join(" "),
        HeaderValue::Address(address) => address
            .iter()
            .filter_map(|a| a.address.as_deref())
            .collect::<Vec<_>>()
            .join(" "),
        _ => return None,
    };
    Some(bounded(&text).to_lowercase())
}

fn automation(message: &mail_parser::Message<'_>) -> AutomationHeaders {
    let return_path = match message.header("Return-Path") {
        None => ReturnPath::Absent,
        Some(value) => match lower_text(Some(value)) {
            Some(path) => {
                let path = path.trim_start_matches('<').trim_end_matches('>').trim();
                if path.is_empty() {
                    ReturnPath::Null
                } else {
                    ReturnPath::Address(path.to_owned())
                }
            }
            // A `Return-Path: <>` the parser reads as an empty address list.
            None => ReturnPath::Null,
        },
    };
    let content_type = message
        .content_type()
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_lowercase())
        .unwrap_or_else(|| "text/plain".into());
    AutomationHeaders {
        auto_submitted: lower_text(message.header("Auto-Submitted")),
        precedence: lower_text(message.header("Precedence")),
        list_id: lower_text(Some(message.list_id())).filter(|id| !id.is_empty()),
        return_path,
        content_type,
        vendor_autoreply: ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"]
            .iter()
            .any(|name| message.header(*name).is_some()),
    }
}

/// The first text body, else the first HTML body as text; cut to the limit.
/// The text, whether it came from HTML, and whether it was cut.
fn body_text(message: &mail_parser::Message<'_>, limits: &Limits) -> (String, bool, bool) {
    let parts = || {
        message
            .text_body
            .iter()
            .chain(message.html_body.iter())
            .filter_map(|&id| message.parts.get(id as usize))
    };
    let plain = parts().find_map(|part| match &part.body {
        PartType::Text(text) if !text.trim().is_empty() => Some(text.as_ref()),
        _ => None,
    });
    let (text, from_html) = match plain {
        Some(text) => (normalize_lines(text), false),
        None => match parts().find_map(|part| match &part.body {
            PartType::Html(html) => Some(html.as_ref()),
            _ => None,
        }) {
            Some(html) => (deskbridge_connectors::html::to_text(html), true),
            None => (String::new(), false),
        },
    };
    let (text, truncated) = cut(text, limits);
    (text, from_html, truncated)
}

/// `text` cut to [`Limits::text_bytes`] at a character boundary, and whether it was.
fn cut(mut text: String, limits: &Limits) -> (String, bool) {
    if text.len() <= limits.text_bytes {
        return (text, false);
    }
    let mut end = limits.text_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

/// Line breaks as `\n`, trailing spaces gone.
fn normalize_lines(text: &str) -> String {
    text.replace("\r\n", "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

fn attachments(
    message: &mail_parser::Message<'_>,
    limits: &Limits,
    problems: &mut Vec<String>,
) -> Vec<Attachment> {
    let mut listed = Vec::new();
    for part in message.attachments() {
        if listed.len() == MAX_ATTACHMENTS {
            problems.push(format!(
                "more than {MAX_ATTACHMENTS} attachments: the rest are not listed"
            ));
            break;
        }
        let content = part.contents();
        let content_type = part
            .content_type()
            .map(|ct| {
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_lowercase()
            })
            .unwrap_or_else(|| match part.body {
                PartType::Message(_) => "message/rfc822".into(),
                _ => "application/octet-stream".into(),
            });
        listed.push(Attachment {
            name: part.attachment_name().map(bounded),
            content_type: bounded(&content_type),
            size: content.len() as u64,
            sha256: hex::encode(Sha256::digest(content)),
            oversized: content.len() > limits.attachment_bytes,
        });
    }
    listed
}
