//! Loop and noise protection: which inbound mail the gateway records but never drafts to.
//!
//! RFC 3834 asks automatic responders not to answer automatic mail; a gateway that drafted
//! replies to auto-replies, bounces or mailing lists would at best waste its agents' time and
//! at worst, with a careless approval, start a mail loop. The rules, first match wins:
//!
//! 1. `From` is one of our own addresses (the support mailbox and its aliases) — our own mail
//!    coming back.
//! 2. No `From` mailbox at all.
//! 3. `Content-Type: multipart/report` — a delivery status or disposition notification
//!    (RFC 3462 / RFC 6522).
//! 4. `Return-Path: <>` — the null sender of bounces and auto-replies (RFC 3834 §3.1.2,
//!    RFC 5321 §4.5.5).
//! 5. `Auto-Submitted` present and not `no` (RFC 3834 §5).
//! 6. `Precedence: bulk`, `list` or `junk` (widespread practice, RFC 3834 §3.1.8).
//! 7. `List-Id` present (RFC 2919): mailing-list traffic.
//! 8. A vendor's auto-reply mark (`X-Autoreply`, `X-Autorespond`,
//!    `X-Auto-Response-Suppress`).

use crate::parse::{ParsedMail, ReturnPath};

/// Why a message is noise, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Noise {
    /// From one of our own addresses.
    OwnAddress(String),
    /// No sender mailbox.
    NoSender,
    /// A delivery or disposition report.
    DeliveryReport,
    /// The null return path of bounces and auto-replies.
    NullReturnPath,
    /// `Auto-Submitted` with this value.
    AutoSubmitted(String),
    /// `Precedence` with this value.
    Precedence(String),
    /// Mailing-list mail with this `List-Id`.
    MailingList(String),
    /// A vendor's auto-reply header.
    VendorAutoReply,
}

impl Noise {
    /// The kind of noise, without the evidence: what logs carry (a header value or an
    /// address is the sender's text).
    pub fn code(&self) -> &'static str {
        match self {
            Noise::OwnAddress(_) => "own_address",
            Noise::NoSender => "no_sender",
            Noise::DeliveryReport => "delivery_report",
            Noise::NullReturnPath => "null_return_path",
            Noise::AutoSubmitted(_) => "auto_submitted",
            Noise::Precedence(_) => "precedence",
            Noise::MailingList(_) => "mailing_list",
            Noise::VendorAutoReply => "vendor_auto_reply",
        }
    }
}

impl std::fmt::Display for Noise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Noise::OwnAddress(address) => write!(f, "sent from our own address {address}"),
            Noise::NoSender => f.write_str("no sender address"),
            Noise::DeliveryReport => f.write_str("a delivery report (multipart/report)"),
            Noise::NullReturnPath => f.write_str("null return path (a bounce or auto-reply)"),
            Noise::AutoSubmitted(value) => write!(f, "Auto-Submitted: {value}"),
            Noise::Precedence(value) => write!(f, "Precedence: {value}"),
            Noise::MailingList(id) => write!(f, "mailing-list mail (List-Id {id})"),
            Noise::VendorAutoReply => f.write_str("marked as an auto-reply by its sender"),
        }
    }
}

/// Why `mail` must not be drafted to, if it must not; `own_addresses` lower-cased.
pub fn noise(mail: &ParsedMail, own_addresses: &[String]) -> Option<Noise> {
    let headers = &mail.automation;
    let Some(from) = &mail.from else {
        return Some(Noise::NoSender);
    };
    if own_addresses.iter().any(|own| own == &from.address) {
        return Some(Noise::OwnAddress(from.address.clone()));
    }
    if headers.content_type == "multipart/report" {
        return Some(Noise::DeliveryReport);
    }
    if headers.return_path == ReturnPath::Null {
        return Some(Noise::NullReturnPath);
    }
    if let Some(value) = &headers.auto_submitted {
        // The keyword before any `;` parameters.
        let keyword = value.split(';').next().unwrap_or_default().trim();
        if keyword != "no" {
            return Some(Noise::AutoSubmitted(value.clone()));
        }
    }
    if let Some(value) = &headers.precedence
        && ["bulk", "list", "junk"].contains(&value.trim())
    {
        return Some(Noise::Precedence(value.clone()));
    }
    if let Some(id) = &headers.list_id {
        return Some(Noise::MailingList(id.clone()));
    }
    if headers.vendor_autoreply {
        return Some(Noise::VendorAutoReply);
    }
    None
}
