//! The inbound log: events acknowledged but not yet processed, kept in plain append-only files
//! beside sled rather than in a sled tree.
//!
//! Keeping every pending event in sled (an insert at ingest, a remove at completion, a sled
//! flush per batch of acknowledgements) was the largest share of the gateway's ingest cost
//! (BENCHMARKS.md). Here [`InboundLog::append`] only encodes the event into a memory buffer;
//! the group-commit flusher writes the whole buffer with one `write` and one `fdatasync`
//! ([`InboundLog::sync`]), and acknowledgements wait for that.
//!
//! Files: `DIR/SEGMENT.log`, `SEGMENT` a 20-digit generation number. A record is
//! `length (u32 LE) | CRC-32 of the payload (u32 LE) | payload (JSON of a StoredEvent)`.
//! The newest segment takes the appends; past a size limit it is sealed and a new one begun.
//! A sealed segment is deleted once every event in it has its outcome on disk elsewhere
//! ([`InboundLog::retire`], called by the store after its own flushes).
//!
//! Segments are written full of zeros before they take records, and records then overwrite
//! the zeros: an `fdatasync` that does not change the file's size writes the data alone,
//! without a second, dependent write of the inode, which halved its time and CPU on this
//! project's machine (BENCHMARKS.md). Reading stops at a zero length: the unused rest of a
//! segment. Filling 8 MiB takes tens of milliseconds, so the next segment (the spare) is
//! prepared ahead, once the newest is half full, by the store's checkpointer thread
//! ([`InboundLog::prepare_spare`]); the segment begun at open, and one begun when no spare is
//! ready, are small (256 KiB).
//!
//! A crash can leave a torn record at the end of a segment. It was never acknowledged
//! (acknowledgements follow the `fdatasync`), so reading stops there with a warning. A failed
//! write puts its bytes back in front of the buffer and seals the segment, so the retry lands
//! in a fresh file and never behind a torn record.

use std::fs::{self, File};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::records::StoredEvent;
use crate::{StoreError, sled_store::backend};

/// Size past which the newest segment is sealed and a new one begun.
pub(crate) const SEGMENT_BYTES: u64 = 8 << 20;

/// Size of a segment begun without a spare ready (at open, or when the spare is late): small,
/// so filling it with zeros does not hold up acknowledgements for long.
const SMALL_SEGMENT_BYTES: u64 = 256 << 10;

/// Zeros written at a time when filling a segment.
const FILL_CHUNK: usize = 256 << 10;

/// `length` and `CRC-32` in front of every record.
const HEADER: usize = 8;

/// The appendable log of pending events.
pub(crate) struct InboundLog {
    dir: PathBuf,
    segment_bytes: u64,
    state: Mutex<State>,
    /// Held while a segment file is created and filled, so the flusher (sealing) and the
    /// checkpointer (preparing the spare) never create the same generation.
    creating: Mutex<()>,
}

struct State {
    /// Encoded records not yet written.
    buffer: Vec<u8>,
    /// The highest sequence number in `buffer`.
    buffered_last: Option<u64>,
    /// The segment taking writes.
    current: Segment,
    /// Segments no longer written, oldest first.
    sealed: Vec<Sealed>,
    /// Seal `current` before the next write (the last write to it failed).
    seal_next: bool,
    /// The next segment, created and filled ahead (generation `current.generation + 1`).
    spare: Option<Segment>,
}

struct Segment {
    generation: u64,
    file: Arc<File>,
    /// Bytes of records written.
    bytes: u64,
    /// Bytes filled with zeros at creation: sealed once `bytes` reaches it.
    capacity: u64,
    last_seq: Option<u64>,
}

struct Sealed {
    generation: u64,
    /// The highest sequence number in the segment; `None` if it holds no record.
    last_seq: Option<u64>,
}

impl std::fmt::Debug for InboundLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundLog")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> StoreError {
    backend(format!("{what} {}: {error}", path.display()))
}

fn segment_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation:020}.log"))
}

/// Makes a created or deleted file name durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Segment {
    /// Creates segment `generation` filled with `capacity` zero bytes, durable, its write
    /// position at the start.
    fn create(dir: &Path, generation: u64, capacity: u64) -> Result<Segment, StoreError> {
        let path = segment_path(dir, generation);
        let mut file = crate::private_files::create_options()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_error("cannot create", &path, e))?;
        let filled = Segment::fill(&mut file, capacity).and_then(|()| sync_dir(dir));
        if let Err(e) = filled {
            // Gone again, so that a later attempt (a full disk freed) can create it afresh.
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(io_error("cannot fill", &path, e));
        }
        Ok(Segment {
            generation,
            file: Arc::new(file),
            bytes: 0,
            capacity,
            last_seq: None,
        })
    }

    /// Writes `capacity` zero bytes, makes them durable and rewinds to the start.
    fn fill(file: &mut File, capacity: u64) -> std::io::Result<()> {
        let zeros = vec![0u8; FILL_CHUNK];
        let mut filled = 0u64;
        while filled < capacity {
            let chunk =
                usize::try_from(capacity - filled).map_or(FILL_CHUNK, |n| n.min(FILL_CHUNK));
            file.write_all(&zeros[..chunk])?;
            filled += chunk as u64;
        }
        file.sync_data()?;
        file.seek(SeekFrom::Start(0)).map(drop)
    }
}

/// Frames one record.
fn encode_record(stored: &StoredEvent, into: &mut Vec<u8>) -> Result<(), StoreError> {
    let payload = serde_json::to_vec(stored).map_err(backend)?;
    let length = u32::try_from(payload.len())
        .map_err(|_| backend(format!("event {} is too large to log", stored.event.id)))?;
    into.extend_from_slice(&length.to_le_bytes());
    into.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    into.extend_from_slice(&payload);
    Ok(())
}

/// What reading one segment found.
#[derive(Debug)]
pub(crate) struct SegmentContents {
    /// The intact records, in file order.
    pub(crate) records: Vec<StoredEvent>,
    /// Where an incomplete or damaged record starts, if the segment ends in one.
    pub(crate) torn_at: Option<usize>,
}

/// Reads the records of one segment, stopping at the first torn or damaged one or at the
/// zero-filled rest. A record whose checksum matches but which does not decode is a bug,
/// reported as corruption.
pub(crate) fn decode_segment(bytes: &[u8], name: &str) -> Result<SegmentContents, StoreError> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + HEADER) else {
            return Ok(SegmentContents {
                records,
                torn_at: Some(at),
            });
        };
        let word = |range: std::ops::Range<usize>| {
            header
                .get(range)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_le_bytes)
                .unwrap_or_default()
        };
        let (length, checksum) = (word(0..4) as usize, word(4..8));
        if length == 0 {
            // The unused, zero-filled rest of the segment; anything else after the last record
            // is a write a crash interrupted.
            let clean = bytes[at..].iter().all(|&b| b == 0);
            return Ok(SegmentContents {
                records,
                torn_at: (!clean).then_some(at),
            });
        }
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + length) else {
            return Ok(SegmentContents {
                records,
                torn_at: Some(at),
            });
        };
        if crc32fast::hash(payload) != checksum {
            return Ok(SegmentContents {
                records,
                torn_at: Some(at),
            });
        }
        let record = serde_json::from_slice(payload).map_err(|e| StoreError::Corrupt {
            key: format!("{name} at byte {at}"),
            reason: e.to_string(),
        })?;
        records.push(record);
        at += HEADER + length;
    }
    Ok(SegmentContents {
        records,
        torn_at: None,
    })
}

impl InboundLog {
    /// Opens the log in `dir` (created if missing): reads every record of every segment,
    /// seals them all and begins a new segment. Returns the records, oldest segment first;
    /// the caller decides which are still pending and calls [`InboundLog::retire`] once the
    /// others are safely elsewhere.
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
    ) -> Result<(InboundLog, Vec<StoredEvent>), StoreError> {
        fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))?;
        let mut generations = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| io_error("cannot list", dir, e))? {
            let entry = entry.map_err(|e| io_error("cannot list", dir, e))?;
            let name = entry.file_name();
            let generation = name
                .to_str()
                .and_then(|n| n.strip_suffix(".log"))
                .filter(|stem| stem.len() == 20)
                .and_then(|stem| stem.parse::<u64>().ok());
            if let Some(generation) = generation {
                generations.push(generation);
            }
        }
        generations.sort_unstable();
        let mut events = Vec::new();
        let mut sealed = Vec::new();
        for &generation in &generations {
            let path = segment_path(dir, generation);
            let bytes = fs::read(&path).map_err(|e| io_error("cannot read", &path, e))?;
            let contents = decode_segment(&bytes, &path.display().to_string())?;
            if let Some(at) = contents.torn_at {
                tracing::warn!(
                    segment = %path.display(),
                    at,
                    dropped_bytes = bytes.len() - at,
                    "the inbound log ends in an incomplete record (a write interrupted by a crash; it was never acknowledged)"
                );
            }
            sealed.push(Sealed {
                generation,
                last_seq: contents.records.iter().map(|r| r.seq).max(),
            });
            events.extend(contents.records);
        }
        let next = generations.last().map_or(0, |g| g + 1);
        let log = InboundLog {
            dir: dir.to_owned(),
            segment_bytes: segment_bytes.max(1),
            state: Mutex::new(State {
                buffer: Vec::new(),
                buffered_last: None,
                current: Segment::create(dir, next, segment_bytes.clamp(1, SMALL_SEGMENT_BYTES))?,
                sealed,
                seal_next: false,
                spare: None,
            }),
            creating: Mutex::new(()),
        };
        Ok((log, events))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an event to the buffer; durable after the next [`InboundLog::sync`]. Callers
    /// append in sequence-number order.
    pub(crate) fn append(&self, stored: &StoredEvent) -> Result<(), StoreError> {
        let mut state = self.lock();
        encode_record(stored, &mut state.buffer)?;
        state.buffered_last = Some(stored.seq);
        Ok(())
    }

    /// Writes the buffer to the newest segment and waits for the disk. Called by one thread
    /// at a time (the group-commit flusher); everything appended before the call is durable
    /// when it returns `Ok`.
    pub(crate) fn sync(&self) -> Result<(), String> {
        if self.lock().seal_next {
            self.seal().map_err(|e| e.to_string())?;
        }
        let (buffer, last, file) = {
            let mut state = self.lock();
            if state.buffer.is_empty() {
                return Ok(()); // an earlier sync of this thread covered it
            }
            (
                std::mem::take(&mut state.buffer),
                state.buffered_last.take(),
                state.current.file.clone(),
            )
        };
        let written = (&*file).write_all(&buffer).and_then(|()| file.sync_data());
        let mut state = self.lock();
        if let Err(e) = written {
            // Retried in front of whatever came since, in a fresh segment: the failed one may
            // end in a torn record, and reading stops there.
            let newer = std::mem::replace(&mut state.buffer, buffer);
            state.buffer.extend_from_slice(&newer);
            state.buffered_last = state.buffered_last.max(last);
            state.seal_next = true;
            return Err(format!("writing the inbound log: {e}"));
        }
        state.current.bytes += buffer.len() as u64;
        state.current.last_seq = last.or(state.current.last_seq);
        let full = state.current.bytes >= state.current.capacity;
        drop(state);
        if full {
            self.seal().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Creates and fills the next segment ahead of need, once the newest one is half full and
    /// if the spare is not there yet (an idle gateway never makes one). Called periodically
    /// from a thread other than the flusher.
    pub(crate) fn prepare_spare(&self) -> Result<(), StoreError> {
        let _creating = self.creating.lock().unwrap_or_else(|e| e.into_inner());
        let generation = {
            let state = self.lock();
            if state.spare.is_some() || state.current.bytes < state.current.capacity / 2 {
                return Ok(());
            }
            state.current.generation + 1
        };
        // Filled outside the state lock: appends and acknowledgements go on meanwhile.
        let spare = Segment::create(&self.dir, generation, self.segment_bytes)?;
        self.lock().spare = Some(spare);
        Ok(())
    }

    /// Seals the newest segment and begins the next: the spare if one is ready, else a small
    /// new one. Only the flusher thread seals.
    fn seal(&self) -> Result<(), StoreError> {
        let next = {
            let _creating = self.creating.lock().unwrap_or_else(|e| e.into_inner());
            let (spare, generation) = {
                let mut state = self.lock();
                (state.spare.take(), state.current.generation + 1)
            };
            match spare {
                Some(spare) => spare,
                None => Segment::create(
                    &self.dir,
                    generation,
                    self.segment_bytes.clamp(1, SMALL_SEGMENT_BYTES),
                )?,
            }
        };
        let mut state = self.lock();
        let old = std::mem::replace(&mut state.current, next);
        state.sealed.push(Sealed {
            generation: old.generation,
            last_seq: old.last_seq,
        });
        state.seal_next = false;
        Ok(())
    }

    /// Deletes the sealed segments whose events all have sequence numbers below
    /// `settled_below`: the caller guarantees those events' outcomes are on disk.
    pub(crate) fn retire(&self, settled_below: u64) {
        let retired: Vec<u64> = {
            let mut state = self.lock();
            let (done, keep) = std::mem::take(&mut state.sealed)
                .into_iter()
                .partition(|s| s.last_seq.is_none_or(|last| last < settled_below));
            state.sealed = keep;
            done.into_iter().map(|s: Sealed| s.generation).collect()
        };
        if retired.is_empty() {
            return;
        }
        for generation in retired {
            let path = segment_path(&self.dir, generation);
            if let Err(e) = fs::remove_file(&path) {
                // Harmless: read again at the next open, where every event in it is settled.
                tracing::warn!(segment = %path.display(), error = %e, "cannot delete a settled inbound log segment");
            }
        }
        if let Err(e) = sync_dir(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot sync the inbound log directory");
        }
    }

    /// The generation of the segment taking writes.
    #[cfg(test)]
    pub(crate) fn current_generation(&self) -> u64 {
        self.lock().current.generation
    }

    /// Sealed segments waiting to be retired.
    pub(crate) fn sealed_segments(&self) -> usize {
        self.lock().sealed.len()
    }
}

impl Drop for InboundLog {
    fn drop(&mut self) {
        // Best effort at shutdown: events whose requests were still waiting for the disk.
        if let Err(e) = self.sync() {
            tracing::warn!(error = %e, "could not write the inbound log at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{EventSource, InboundEvent};
    use deskbridge_core::HelpdeskKind;

    fn stored(seq: u64) -> StoredEvent {
        StoredEvent {
            seq,
            event: InboundEvent {
                id: format!("evt-{seq}"),
                dedupe_key: format!("k{seq}"),
                helpdesk: "acme".into(),
                helpdesk_kind: HelpdeskKind::Zendesk,
                ticket_id: "42".into(),
                received_at_ms: 1,
                source: EventSource::Fetch {
                    kind_hint: None,
                    origin: "test".into(),
                },
                request_id: None,
            },
        }
    }

    fn segments(dir: &Path) -> usize {
        fs::read_dir(dir).expect("list").count()
    }

    #[test]
    fn records_survive_reopen_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (log, old) = InboundLog::open(dir.path(), SEGMENT_BYTES).expect("open");
            assert!(old.is_empty());
            log.append(&stored(1)).expect("append");
            log.append(&stored(2)).expect("append");
            log.sync().expect("sync");
        }
        // A crash in the middle of the next write: half a record right after the two.
        let path = segment_path(dir.path(), 0);
        let mut written = Vec::new();
        encode_record(&stored(1), &mut written).expect("encode");
        encode_record(&stored(2), &mut written).expect("encode");
        let mut torn = Vec::new();
        encode_record(&stored(3), &mut torn).expect("encode");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        file.seek(SeekFrom::Start(written.len() as u64))
            .expect("seek");
        file.write_all(&torn[..torn.len() / 2]).expect("write");
        drop(file);
        let contents = decode_segment(&fs::read(&path).expect("read"), "seg").expect("decode");
        assert_eq!(contents.torn_at, Some(written.len()));

        let (log, events) = InboundLog::open(dir.path(), SEGMENT_BYTES).expect("reopen");
        assert_eq!(events, vec![stored(1), stored(2)]);
        // New appends go to a new segment, never behind the torn record.
        log.append(&stored(4)).expect("append");
        log.sync().expect("sync");
        drop(log);
        let (_log, events) = InboundLog::open(dir.path(), SEGMENT_BYTES).expect("reopen");
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 4]);
    }

    #[test]
    fn a_damaged_record_ends_the_segment_and_a_mismatched_payload_is_corruption() {
        let mut bytes = Vec::new();
        encode_record(&stored(1), &mut bytes).expect("encode");
        let first = bytes.len();
        encode_record(&stored(2), &mut bytes).expect("encode");
        let mut flipped = bytes.clone();
        flipped[first + HEADER + 3] ^= 0x20; // inside the second payload
        let contents = decode_segment(&flipped, "seg").expect("decode");
        assert_eq!(contents.records, vec![stored(1)]);
        assert_eq!(contents.torn_at, Some(first));

        // A checksum that matches a payload that is not an event: a bug, not a torn write.
        let mut bogus = Vec::new();
        bogus.extend_from_slice(&4u32.to_le_bytes());
        bogus.extend_from_slice(&crc32fast::hash(b"null").to_le_bytes());
        bogus.extend_from_slice(b"null");
        let err = decode_segment(&bogus, "seg").expect_err("corrupt");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn the_zero_filled_rest_of_a_segment_ends_it_cleanly() {
        let mut bytes = Vec::new();
        encode_record(&stored(1), &mut bytes).expect("encode");
        bytes.extend_from_slice(&[0; 64]);
        let contents = decode_segment(&bytes, "seg").expect("decode");
        assert_eq!(contents.records, vec![stored(1)]);
        assert_eq!(contents.torn_at, None, "unused space is not a torn write");
        // Bytes after a zero length: something was written there and never completed.
        let at = bytes.len() - 64;
        bytes[at + 20] = 7;
        let contents = decode_segment(&bytes, "seg").expect("decode");
        assert_eq!(contents.records, vec![stored(1)]);
        assert_eq!(contents.torn_at, Some(at));
    }

    #[test]
    fn records_overwrite_the_zeros_so_syncing_never_grows_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, _) = InboundLog::open(dir.path(), SEGMENT_BYTES).expect("open");
        let path = segment_path(dir.path(), 0);
        let size = || fs::metadata(&path).expect("metadata").len();
        assert_eq!(size(), SMALL_SEGMENT_BYTES, "filled at creation");
        for seq in 1..=3 {
            log.append(&stored(seq)).expect("append");
            log.sync().expect("sync");
            // An unchanged size is what lets `fdatasync` skip writing the inode.
            assert_eq!(size(), SMALL_SEGMENT_BYTES);
        }
        drop(log);
        let (_log, events) = InboundLog::open(dir.path(), SEGMENT_BYTES).expect("reopen");
        assert_eq!(events, vec![stored(1), stored(2), stored(3)]);
    }

    #[test]
    fn the_spare_is_prepared_once_half_full_and_taken_at_the_seal() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Segments of 2 KiB: the first (small) one is as large, and a record is ~250 bytes.
        let (log, _) = InboundLog::open(dir.path(), 2048).expect("open");
        log.prepare_spare().expect("prepare");
        assert_eq!(
            segments(dir.path()),
            1,
            "no spare while the segment is nearly empty"
        );
        let mut seq = 0;
        while log.lock().current.bytes < 1024 {
            seq += 1;
            log.append(&stored(seq)).expect("append");
            log.sync().expect("sync");
        }
        log.prepare_spare().expect("prepare");
        assert_eq!(segments(dir.path()), 2, "the spare, filled ahead");
        assert_eq!(
            fs::metadata(segment_path(dir.path(), 1))
                .expect("spare")
                .len(),
            2048
        );
        while log.current_generation() == 0 {
            seq += 1;
            log.append(&stored(seq)).expect("append");
            log.sync().expect("sync");
        }
        assert!(log.lock().spare.is_none(), "the seal took the spare");
        assert_eq!(segments(dir.path()), 2);
        drop(log);
        let (_log, events) = InboundLog::open(dir.path(), 2048).expect("reopen");
        assert_eq!(
            events.len() as u64,
            seq,
            "every record, across both segments"
        );
    }

    #[test]
    fn full_segments_are_sealed_and_retired_only_once_settled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, _) = InboundLog::open(dir.path(), 1).expect("open");
        for seq in 1..=3 {
            log.append(&stored(seq)).expect("append");
            log.sync().expect("sync"); // each write fills its one-byte segment
        }
        assert_eq!(log.sealed_segments(), 3);
        assert_eq!(segments(dir.path()), 4, "three sealed and the newest");
        log.retire(3); // events 1 and 2 are settled, 3 is not
        assert_eq!(log.sealed_segments(), 1);
        assert_eq!(segments(dir.path()), 2);
        drop(log);
        let (log, events) = InboundLog::open(dir.path(), 1).expect("reopen");
        assert_eq!(events, vec![stored(3)]);
        log.retire(u64::MAX);
        assert_eq!(segments(dir.path()), 1, "only the new empty segment");
    }
}
