//! The approval log's cryptography (invariant 5 of DESIGN.md): what makes the log
//! tamper-evident and checkable offline, on another machine, by someone who trusts only a
//! public key.
//!
//! - [`merkle`]: the RFC 9162 (RFC 6962) Merkle tree over entry encodings — roots, inclusion
//!   and consistency proofs, and their verification.
//! - [`note`]: Ed25519-signed checkpoints in the C2SP `tlog-checkpoint` / `signed-note`
//!   formats, and the verifier key format that names the key.

pub mod merkle;
pub mod note;
