//! Offline verification of an export (`deskbridge audit verify DIR`): needs the export and the
//! log's public key, nothing else.
//!
//! Checks, in order, and stops at the first failure with its file and line:
//! every entry line is canonical, in index order and matches its own leaf hash; every
//! checkpoint is signed by the key, names the log's origin and matches the root of the entries
//! up to its size (which makes all checkpoints consistent with one another: they are roots of
//! prefixes of one sequence); the newest checkpoint covers every entry; every readable personal
//! value opens the commitment of its entry.
//!
//! A log's own checkpoints cannot catch an operator who rewrites the log *and* its
//! checkpoints with the log's key: [`verify_export_against`] also takes checkpoints kept
//! elsewhere (`deskbridge audit checkpoint --out FILE`, shipped to another system as they are
//! made), and refuses an export that is shorter than one of them (cut short) or whose entries
//! do not produce its root (rewritten).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::entry::Entry;
use crate::entry::{CheckpointLine, PersonalRecord};
use crate::log::{check_entry_line, files};
use crate::merkle::{Frontier, Hash};
use crate::note::{Checkpoint, NoteVerifier};

/// Where and why verification failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// A file is missing or unreadable.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A line is wrong.
    #[error("{file} line {line}: {reason}")]
    Bad {
        /// The file.
        file: &'static str,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The key given or found is not a verifier key.
    #[error("public key: {0}")]
    Key(String),
    /// The export contradicts a checkpoint kept outside the gateway.
    #[error("checkpoint kept elsewhere ({which}): {reason}")]
    Witness {
        /// Which one (its size and origin).
        which: String,
        /// What is wrong.
        reason: String,
    },
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The log's origin.
    pub origin: String,
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The root of all entries (equal to the newest checkpoint's).
    pub root: Hash,
    /// Personal values checked against their commitments.
    pub personal_values: u64,
    /// Committed personal fields whose value was erased (or not exported).
    pub erased_values: u64,
}

fn read(path: &Path) -> Result<String, VerifyError> {
    std::fs::read_to_string(path).map_err(|e| VerifyError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.split_terminator('\n')
        .enumerate()
        .map(|(i, line)| (i as u64 + 1, line))
}

/// Lines read and checked per round.
const CHUNK_LINES: usize = 16_384;

fn open_lines(path: &Path) -> Result<BufReader<File>, VerifyError> {
    File::open(path)
        .map(|file| BufReader::with_capacity(1 << 20, file))
        .map_err(|e| VerifyError::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Up to [`CHUNK_LINES`] lines, without their newlines; empty at the end of the file.
fn read_chunk(reader: &mut BufReader<File>, path: &Path) -> Result<Vec<Vec<u8>>, VerifyError> {
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    while chunk.len() < CHUNK_LINES {
        let mut line = Vec::with_capacity(600);
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| VerifyError::Unreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        if read == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        chunk.push(line);
    }
    Ok(chunk)
}

/// Checks the entry lines of `chunk` (the first being line `first_line`) on `workers` threads.
fn check_chunk(
    chunk: &[Vec<u8>],
    first_line: u64,
    workers: usize,
) -> Vec<Result<(Entry, Hash), String>> {
    let check = |offset: usize, bytes: &Vec<u8>| {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
        check_entry_line(text, first_line - 1 + offset as u64)
    };
    let part = chunk.len().div_ceil(workers.max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk
            .chunks(part.max(1))
            .enumerate()
            .map(|(n, lines)| {
                scope.spawn(move || {
                    lines
                        .iter()
                        .enumerate()
                        .map(|(i, bytes)| check(n * part + i, bytes))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| vec![Err("the checking thread failed".to_owned())])
            })
            .collect()
    })
}

/// Verifies the export in `dir` against `public_key` (a verifier key string); without one,
/// the export's own `log.pub` is used, which proves integrity but not authorship: compare it
/// with a copy obtained independently.
pub fn verify_export(dir: &Path, public_key: Option<&str>) -> Result<Verified, VerifyError> {
    verify_export_against(dir, public_key, &[])
}

/// [`verify_export`], and the export must agree with every checkpoint of `witnessed` (signed
/// note texts kept outside the gateway): it holds at least as many entries, and its first
/// `size` entries produce the checkpoint's root.
pub fn verify_export_against(
    dir: &Path,
    public_key: Option<&str>,
    witnessed: &[String],
) -> Result<Verified, VerifyError> {
    let key_text = match public_key {
        Some(key) => key.to_owned(),
        None => read(&dir.join(files::PUBLIC_KEY))?,
    };
    let verifier = NoteVerifier::parse(&key_text).map_err(|e| VerifyError::Key(e.to_string()))?;
    let mut witness_roots: BTreeMap<u64, Vec<(String, Hash)>> = BTreeMap::new();
    for (i, note) in witnessed.iter().enumerate() {
        let checkpoint = Checkpoint::open(note, &verifier).map_err(|e| VerifyError::Witness {
            which: format!("number {}", i + 1),
            reason: format!("not a checkpoint signed by this key: {e}"),
        })?;
        let which = format!("size {} of {}", checkpoint.size, checkpoint.origin);
        if checkpoint.origin != verifier.name() {
            return Err(VerifyError::Witness {
                which,
                reason: format!(
                    "it is not a checkpoint of the key's log {:?}",
                    verifier.name()
                ),
            });
        }
        witness_roots
            .entry(checkpoint.size)
            .or_default()
            .push((which, checkpoint.root));
    }

    // Checkpoints first: they say which roots the entries must produce.
    let checkpoints_text = read(&dir.join(files::CHECKPOINTS))?;
    let mut expected: BTreeMap<u64, Vec<(u64, Hash)>> = BTreeMap::new();
    let mut origin = None;
    let mut largest = 0;
    let mut checkpoint_count = 0;
    for (line, text) in lines(&checkpoints_text) {
        let bad = |reason: String| VerifyError::Bad {
            file: files::CHECKPOINTS,
            line,
            reason,
        };
        let parsed: CheckpointLine =
            serde_json::from_str(text).map_err(|e| bad(format!("not a checkpoint line: {e}")))?;
        let checkpoint =
            Checkpoint::open(&parsed.note, &verifier).map_err(|e| bad(e.to_string()))?;
        if checkpoint.origin != verifier.name() {
            return Err(bad(format!(
                "origin {:?} is not the key's log {:?}",
                checkpoint.origin,
                verifier.name()
            )));
        }
        origin.get_or_insert(checkpoint.origin.clone());
        largest = largest.max(checkpoint.size);
        expected
            .entry(checkpoint.size)
            .or_default()
            .push((line, checkpoint.root));
        checkpoint_count += 1;
    }

    // Entries: each line on its own (in parallel, chunk by chunk), then, in order, the roots
    // at every checkpoint size.
    let entries_path = dir.join(files::ENTRIES);
    let mut reader = open_lines(&entries_path)?;
    let mut frontier = Frontier::new();
    let mut commitments: HashMap<(u64, String), String> = HashMap::new();
    let check_roots = |frontier: &Frontier| -> Result<(), VerifyError> {
        if let Some(roots) = expected.get(&frontier.size()) {
            let root = frontier.root();
            for (line, expected_root) in roots {
                if *expected_root != root {
                    return Err(VerifyError::Bad {
                        file: files::CHECKPOINTS,
                        line: *line,
                        reason: format!(
                            "the signed root for size {} differs from the root of the exported entries: an entry before line {} of {} was changed, removed or reordered",
                            frontier.size(),
                            frontier.size() + 1,
                            files::ENTRIES
                        ),
                    });
                }
            }
        }
        for (which, expected_root) in witness_roots.get(&frontier.size()).into_iter().flatten() {
            if *expected_root != frontier.root() {
                return Err(VerifyError::Witness {
                    which: which.clone(),
                    reason: format!(
                        "the export's first {} entries do not produce its root: the log was rewritten since (the log's own checkpoints were re-signed to match)",
                        frontier.size()
                    ),
                });
            }
        }
        Ok(())
    };
    check_roots(&frontier)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    loop {
        let chunk = read_chunk(&mut reader, &entries_path)?;
        if chunk.is_empty() {
            break;
        }
        let first_line = frontier.size() + 1;
        for (offset, checked) in check_chunk(&chunk, first_line, workers)
            .into_iter()
            .enumerate()
        {
            let line = first_line + offset as u64;
            let (entry, leaf) = checked.map_err(|reason| VerifyError::Bad {
                file: files::ENTRIES,
                line,
                reason,
            })?;
            for (field, commitment) in entry.commitments {
                commitments.insert((entry.index, field), commitment);
            }
            frontier.push(leaf);
            check_roots(&frontier)?;
        }
    }
    if let Some((size, found)) = witness_roots.iter().next_back()
        && *size > frontier.size()
    {
        return Err(VerifyError::Witness {
            which: found[0].0.clone(),
            reason: format!(
                "it covers {size} entries but the export holds {}: the log was cut short",
                frontier.size()
            ),
        });
    }
    if largest > frontier.size() {
        return Err(VerifyError::Bad {
            file: files::ENTRIES,
            line: frontier.size() + 1,
            reason: format!(
                "a checkpoint covers {largest} entries but the export holds {}: entries are missing",
                frontier.size()
            ),
        });
    }
    if checkpoint_count == 0 || largest < frontier.size() {
        return Err(VerifyError::Bad {
            file: files::ENTRIES,
            line: largest + 1,
            reason: format!(
                "no signed checkpoint covers the entries from here on ({} entries, newest checkpoint {largest})",
                frontier.size()
            ),
        });
    }

    // Personal values open their commitments.
    let personal_path = dir.join(files::PERSONAL);
    let mut opened = 0;
    if personal_path.exists() {
        let mut reader = open_lines(&personal_path)?;
        let mut line = 0;
        loop {
            let chunk = read_chunk(&mut reader, &personal_path)?;
            if chunk.is_empty() {
                break;
            }
            for bytes in &chunk {
                line += 1;
                let bad = |reason: String| VerifyError::Bad {
                    file: files::PERSONAL,
                    line,
                    reason,
                };
                let record: PersonalRecord = serde_json::from_slice(bytes)
                    .map_err(|e| bad(format!("not a personal record: {e}")))?;
                let Some(commitment) = commitments.get(&(record.index, record.field.clone()))
                else {
                    return Err(bad(format!(
                        "entry {} commits to no field {:?}",
                        record.index, record.field
                    )));
                };
                if record.commitment().as_ref() != Some(commitment) {
                    return Err(bad(format!(
                        "the value of {:?} does not match the commitment in entry {}",
                        record.field, record.index
                    )));
                }
                opened += 1;
            }
        }
    }
    Ok(Verified {
        origin: origin.unwrap_or_default(),
        entries: frontier.size(),
        checkpoints: checkpoint_count,
        root: frontier.root(),
        personal_values: opened,
        erased_values: commitments.len() as u64 - opened.min(commitments.len() as u64),
    })
}
