//! The approval log's cryptography (invariant 5 of DESIGN.md): what makes the log
//! tamper-evident and checkable offline, on another machine, by someone who trusts only a
//! public key.
//!
//! - [`merkle`]: the RFC 9162 (RFC 6962) Merkle tree over entry encodings — roots, inclusion
//!   and consistency proofs, and their verification.
//! - [`note`]: Ed25519-signed checkpoints in the C2SP `tlog-checkpoint` / `signed-note`
//!   formats, and the verifier key format that names the key.
//! - [`canonical`] and [`entry`]: the bytes a leaf commits to; personal data as salted
//!   commitments, readable beside the tree and erasable.
//! - [`log`]: the log on disk with group-commit durability and periodic checkpoints.
//! - [`export`]: a read-only export up to the newest checkpoint, safe beside a running gateway.
//! - [`verify`]: offline verification of an export, naming the first bad line.

pub mod canonical;
pub mod entry;
pub mod export;
pub mod log;
pub mod merkle;
pub mod note;
pub mod verify;

pub use entry::{Entry, NewEntry};
pub use export::{ExportSummary, export_dir, newest_checkpoint};
pub use log::{AuditConfig, AuditError, AuditLog};
pub use verify::{Verified, VerifyError, verify_export, verify_export_against};
