//! Log entries, their on-disk (and export) lines, and personal data kept beside the tree.
//!
//! An entry holds public facts (`data`: ids, hashes, decisions, roles) and, for each personal
//! field (a person's name, a free-text reason), only a salted commitment
//! `hex(SHA-256(salt || value))`. The readable value and its salt live in a separate
//! [`PersonalRecord`]; erasing that record leaves the commitment, and so every leaf hash and
//! root, unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical::{self, NotCanonical};
use crate::merkle::{Hash, leaf_hash};

/// What a caller appends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewEntry {
    /// What happened, e.g. `draft.decided`.
    pub kind: String,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
    /// Public fields (no personal data: ids, hashes, roles, decisions, counts).
    pub data: Map<String, Value>,
    /// Personal fields: committed to in the tree, readable beside it until erased.
    pub personal: BTreeMap<String, String>,
}

/// An entry as committed to by the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the log, from 0.
    pub index: u64,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
    /// What happened.
    pub kind: String,
    /// Public fields.
    pub data: Map<String, Value>,
    /// Personal field name → `hex(SHA-256(salt || value))`.
    pub commitments: BTreeMap<String, String>,
}

impl Entry {
    /// The canonical bytes the leaf hash covers.
    pub fn canonical(&self) -> Result<Vec<u8>, NotCanonical> {
        let value = serde_json::to_value(self).map_err(|_| NotCanonical("not representable"))?;
        canonical::to_vec(&value)
    }
}

/// One line of `entries.jsonl`: the entry and its leaf hash (so that a changed entry is
/// named by its own line, not only by the next checkpoint that no longer matches).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryLine {
    /// The entry.
    pub entry: Entry,
    /// `hex(SHA-256(0x00 || canonical(entry)))`.
    pub leaf: String,
}

impl EntryLine {
    /// The line for `entry`, with its leaf hash.
    pub fn new(entry: Entry) -> Result<(EntryLine, Hash), NotCanonical> {
        let leaf = leaf_hash(&entry.canonical()?);
        Ok((
            EntryLine {
                entry,
                leaf: hex::encode(leaf),
            },
            leaf,
        ))
    }

    /// The line's canonical bytes, without the newline.
    pub fn to_canonical(&self) -> Result<Vec<u8>, NotCanonical> {
        let value = serde_json::to_value(self).map_err(|_| NotCanonical("not representable"))?;
        canonical::to_vec(&value)
    }
}

/// One line of `personal.jsonl`: a readable personal value and the salt of its commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalRecord {
    /// The entry it belongs to.
    pub index: u64,
    /// The field name.
    pub field: String,
    /// 16 random bytes, hex.
    pub salt: String,
    /// The readable value.
    pub value: String,
}

impl PersonalRecord {
    /// The commitment this record opens.
    pub fn commitment(&self) -> Option<String> {
        let salt = hex::decode(&self.salt).ok()?;
        Some(commit(&salt, &self.value))
    }
}

/// `hex(SHA-256(salt || value))`.
pub fn commit(salt: &[u8], value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(value.as_bytes());
    hex::encode(hasher.finalize())
}

/// One line of `checkpoints.jsonl`: a signed checkpoint note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointLine {
    /// The signed note (`c2sp.org/tlog-checkpoint` text and its signature lines).
    pub note: String,
}
