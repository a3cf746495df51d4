//! Dedupe records: what sled keeps under a delivery's key (`helpdesk \0 key`) so that a
//! redelivery is recognised after its event has left the inbound log.
//!
//! Two shapes share the `dedupe` tree:
//!
//! - a plain entry, JSON `{event_id, at_ms, seq}`: written when an event fails, and before an
//!   outcome's commit record;
//! - a settled entry, the tag byte [`SETTLED_TAG`] followed by the same JSON with the event's
//!   processed summary: the last step of an outcome with nothing for the outbox or the
//!   approval queue. One sled insert then both records the dedupe key and settles the event,
//!   where it took two (BENCHMARKS.md, seventh session). JSON never starts with the tag, so the
//!   shapes are told apart without parsing, and counting processed events stays a key scan.
//!
//! The pruner drops keys older than the dedupe retention; a settled entry's summary moves to
//! the processed tree first, so summaries are kept exactly as long as before.

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::records::ProcessedEvent;
use crate::sled_store::{backend, decode};

/// The first byte of a settled entry (JSON starts with `{`).
const SETTLED_TAG: u8 = b'P';

/// A plain dedupe entry; also how any record of the tree reads when only its event matters.
#[derive(Deserialize, Serialize)]
pub(crate) struct DedupeEntry {
    pub(crate) event_id: String,
    pub(crate) at_ms: i64,
    /// The first event's sequence number (absent in records written before 0.1.0 shipped).
    #[serde(default)]
    pub(crate) seq: Option<u64>,
}

/// A settled entry as written: the plain fields and the summary, borrowed.
#[derive(Serialize)]
struct SettledRef<'a> {
    event_id: &'a str,
    at_ms: i64,
    seq: Option<u64>,
    processed: &'a ProcessedEvent,
}

/// What a settled entry holds beyond a plain one.
#[derive(Deserialize)]
pub(crate) struct Settled {
    pub(crate) seq: Option<u64>,
    pub(crate) processed: ProcessedEvent,
}

/// Whether `bytes` is a settled entry: its event was processed, and the summary is here.
pub(crate) fn is_settled(bytes: &[u8]) -> bool {
    bytes.first() == Some(&SETTLED_TAG)
}

/// The JSON part of a record of either shape.
pub(crate) fn json(bytes: &[u8]) -> &[u8] {
    if is_settled(bytes) {
        &bytes[1..]
    } else {
        bytes
    }
}

/// Reads the plain fields of a record of either shape.
pub(crate) fn decode_entry(key: &[u8], bytes: &[u8]) -> Result<DedupeEntry, StoreError> {
    decode(key, json(bytes))
}

/// A settled entry for `entry`'s event, processed into `processed`.
pub(crate) fn encode_settled(
    entry: &DedupeEntry,
    processed: &ProcessedEvent,
) -> Result<Vec<u8>, StoreError> {
    let mut bytes = vec![SETTLED_TAG];
    serde_json::to_writer(
        &mut bytes,
        &SettledRef {
            event_id: &entry.event_id,
            at_ms: entry.at_ms,
            seq: entry.seq,
            processed,
        },
    )
    .map_err(backend)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> ProcessedEvent {
        ProcessedEvent {
            event_id: "evt-1".into(),
            helpdesk: "acme".into(),
            ticket_id: "7".into(),
            kind: None,
            completed_at_ms: 5,
            plugin_runs: Vec::new(),
            handover: None,
            handover_by: None,
            skipped: Some("nothing new".into()),
            flagged: false,
            ai_us: 0,
            truncated: Vec::new(),
            suggestions: Vec::new(),
            ai_flags: Vec::new(),
        }
    }

    #[test]
    fn both_shapes_read_as_entries_and_only_the_settled_one_is_tagged() {
        let entry = DedupeEntry {
            event_id: "evt-1".into(),
            at_ms: 3,
            seq: Some(9),
        };
        let plain = serde_json::to_vec(&entry).expect("encode");
        let settled = encode_settled(&entry, &summary()).expect("encode");
        assert!(!is_settled(&plain));
        assert!(is_settled(&settled));
        for bytes in [&plain, &settled] {
            let read = decode_entry(b"k", bytes).expect("decode");
            assert_eq!(
                (read.event_id.as_str(), read.at_ms, read.seq),
                ("evt-1", 3, Some(9))
            );
        }
        let read: Settled = decode(b"k", json(&settled)).expect("settled");
        assert_eq!((read.seq, read.processed), (Some(9), summary()));
    }
}
