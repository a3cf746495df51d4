//! End-to-end tests of the pipeline through the real `deskbridge` binary, against the real
//! `deskbridge sim` Zendesk and Freshdesk simulators: webhooks in, notes and drafts out, and
//! the fault paths (bad signatures, replays, oversized bodies, 429/500, timeouts after the
//! write was applied, SIGKILL right after an acknowledgement), approved replies, the stop
//! switch, disclosure, expiry, the approval log, and the hardening around the approval gate.

mod audit;
mod email;
mod faults;
mod freshdesk;
mod generic;
mod hardening;
// Shared with the console's browser tests (`tests/console`), which use a few helpers more.
#[allow(dead_code)]
mod harness;
mod ingest_errors;
// The real IMAP and SMTP servers of the email crate's tests.
mod insights;
mod knowledge;
#[path = "../../../email/tests/support/mod.rs"]
mod mail_servers;
mod operability;
mod oversight;
mod providers;
mod replies;
mod zendesk;
