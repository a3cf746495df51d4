//! The email channel: a support mailbox as the third kind of helpdesk (`kind = "email"`).
//!
//! A mailbox has no ticket API, so the gateway reads its mail, keeps the threads itself and
//! sends approved replies over SMTP. This crate holds the mail-facing rules, each a pure
//! function tested on real-world shapes of mail:
//!
//! - [`parse`] — one raw message (RFC 5322 / MIME, via `mail-parser`) into a bounded
//!   [`ParsedMail`]: addresses, threading headers, the visible text (text preferred; HTML
//!   turned into text without hidden elements), attachments as metadata with SHA-256, and
//!   what is malformed. It never fails: a message it cannot read is kept raw and flagged.
//! - [`noise`] — loop and noise protection (RFC 3834): auto-replies, bulk and list mail,
//!   bounces and delivery reports, and mail from our own addresses are recorded and never
//!   drafted to.
//! - [`quote`] — the part of a message the AI should see: quoted history and signatures cut.
//! - [`imap`] — reading the mailbox: fetch after the last durable UID, settle (flag or move)
//!   once durable, IDLE or poll.
//! - [`filing`] — one fetched message into the store: parsed, noise told apart, threaded,
//!   recorded with the mailbox cursor.
//! - [`helpdesk`] — `EmailHelpdesk`, the mailbox behind the gateway's `HelpdeskClient`: tickets
//!   from the store's threads, notes kept (never mailed), replies over SMTP to the requester.
//! - [`reader`] — the mailbox loop: read, file, make the event durable, then settle.
//! - [`smtp`] — sending an approved reply: our fixed `Message-ID`, the threading headers, text
//!   and HTML, TLS or STARTTLS with AUTH; a failure says whether the mail may have gone out.
//! - [`thread`] — the keys that thread a message into a ticket: message ids, the ticket key
//!   in plus-addressing, the subject without its `Re:`/`Fwd:` prefixes.

pub mod filing;
pub mod helpdesk;
pub mod imap;
pub mod noise;
pub mod parse;
pub mod quote;
pub mod reader;
pub mod smtp;
pub mod thread;
pub mod tls;

pub use noise::{Noise, noise};
pub use parse::{Attachment, Limits, MailAddress, ParsedMail, parse};
