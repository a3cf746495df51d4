//! The approval log on disk: append-only JSON Lines files in one directory, the Merkle
//! frontier in memory, signed checkpoints every N entries or T seconds.
//!
//! ```text
//! <dir>/entries.jsonl      one canonical EntryLine per entry, in index order
//! <dir>/checkpoints.jsonl  one signed checkpoint note per line
//! <dir>/personal.jsonl     readable personal values and salts (erasable)
//! <dir>/log.pub            the verifier key (public)
//! <dir>/signing.key        the signer key (secret, mode 0600, never exported)
//! ```
//!
//! Appends write their lines at once (not yet durable); [`AuditLog::sync`] makes everything
//! written so far durable, one `fdatasync` per file shared by every concurrent caller (group
//! commit). Opening the log re-reads every line, drops a torn last line (an append that never
//! reached [`AuditLog::sync`]), and refuses to start on a line that does not match its leaf
//! hash or a checkpoint that does not match the entries.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::entry::{CheckpointLine, Entry, EntryLine, NewEntry, PersonalRecord, commit};
use crate::export::ExportSummary;
use crate::merkle::{self, Frontier, Hash};
use crate::note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};

/// File names inside the log directory (and an export).
pub mod files {
    /// Entries.
    pub const ENTRIES: &str = "entries.jsonl";
    /// Signed checkpoints.
    pub const CHECKPOINTS: &str = "checkpoints.jsonl";
    /// Personal data.
    pub const PERSONAL: &str = "personal.jsonl";
    /// The verifier key.
    pub const PUBLIC_KEY: &str = "log.pub";
    /// The signer key (never exported).
    pub const SIGNING_KEY: &str = "signing.key";
}

/// Why the log refused an operation.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The log's files do not match their hashes or checkpoints.
    #[error("{file} line {line}: {reason}")]
    Tampered {
        /// The file.
        file: &'static str,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A key or checkpoint problem.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// An entry that cannot be encoded canonically (a float in `data`).
    #[error(transparent)]
    NotCanonical(#[from] crate::canonical::NotCanonical),
    /// A proof was asked for outside the log.
    #[error("out of range: {0}")]
    OutOfRange(String),
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

/// When checkpoints are signed.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// The log's origin (first checkpoint line) and key name, e.g. `deskbridge.example/log`.
    pub origin: String,
    /// A checkpoint after this many new entries.
    pub checkpoint_every: u64,
    /// A checkpoint when this much time passed since the last and entries were added
    /// ([`AuditLog::checkpoint_if_due`], called by a timer).
    pub checkpoint_interval: Duration,
}

impl Default for AuditConfig {
    fn default() -> AuditConfig {
        AuditConfig {
            origin: "deskbridge.local/approval-log".into(),
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(10),
        }
    }
}

struct Files {
    entries: File,
    checkpoints: File,
    personal: File,
}

struct State {
    files: Files,
    leaves: Vec<Hash>,
    frontier: Frontier,
    latest: Option<(Checkpoint, String)>,
    latest_at: Instant,
    /// Appends made (lines written), for group commit.
    written: u64,
    /// Files written since their last sync: personal, entries, checkpoints.
    dirty: [bool; 3],
}

struct SyncState {
    synced: u64,
    syncing: bool,
    failed: Option<String>,
}

/// The approval log.
pub struct AuditLog {
    dir: PathBuf,
    config: AuditConfig,
    signer: NoteSigner,
    state: Mutex<State>,
    sync_state: Mutex<SyncState>,
    synced: Condvar,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens a log file for appending, creating it readable by this user only.
fn open_append(path: &Path) -> Result<File, AuditError> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io(path))
}

/// Creates the log's directory (readable by this user only) if it is missing.
fn create_private_dir(dir: &Path) -> Result<(), AuditError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))
}

/// Reads the lines of `path`, dropping (and truncating away) a torn last line.
fn read_lines(path: &Path) -> Result<Vec<String>, AuditError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let mut reader = BufReader::new(file);
    let mut lines = Vec::new();
    let mut good_len = 0u64;
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).map_err(io(path))?;
        if read == 0 {
            break;
        }
        if !line.ends_with('\n') {
            // An append that was cut short: never synced, so never acknowledged.
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io(path))?;
            file.set_len(good_len).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
            break;
        }
        good_len += read as u64;
        line.pop();
        lines.push(line);
    }
    Ok(lines)
}

fn load_signer(dir: &Path, origin: &str) -> Result<NoteSigner, AuditError> {
    let key_path = dir.join(files::SIGNING_KEY);
    let signer = match std::fs::read_to_string(&key_path) {
        Ok(text) => NoteSigner::parse(&text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let signer = NoteSigner::generate(origin)?;
            write_secret(&key_path, &signer.to_secret_string())?;
            signer
        }
        Err(e) => return Err(io(&key_path)(e)),
    };
    if signer.name() != origin {
        return Err(AuditError::Note(NoteError::BadKey(
            "the signing key's name differs from the configured origin",
        )));
    }
    let public = dir.join(files::PUBLIC_KEY);
    let mut file = open_append(&public)?;
    file.set_len(0).map_err(io(&public))?;
    file.write_all(format!("{}\n", signer.verifier().to_key_string()).as_bytes())
        .map_err(io(&public))?;
    Ok(signer)
}

fn write_secret(path: &Path, text: &str) -> Result<(), AuditError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(format!("{text}\n").as_bytes())
        .map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Parses one `checkpoints.jsonl` line (number `line`) and checks its signature.
pub(crate) fn open_checkpoint_line(
    text: &str,
    line: u64,
    verifier: &NoteVerifier,
) -> Result<(Checkpoint, String), AuditError> {
    let tampered = |reason: String| AuditError::Tampered {
        file: files::CHECKPOINTS,
        line,
        reason,
    };
    let parsed: CheckpointLine = serde_json::from_str(text).map_err(|e| tampered(e.to_string()))?;
    let checkpoint =
        Checkpoint::open(&parsed.note, verifier).map_err(|e| tampered(e.to_string()))?;
    Ok((checkpoint, parsed.note))
}

/// Parses and checks one `entries.jsonl` line: canonical bytes, the expected index, and a
/// leaf hash that matches the entry.
pub(crate) fn check_entry_line(text: &str, expected_index: u64) -> Result<(Entry, Hash), String> {
    const HEAD: &str = "{\"entry\":";
    const TAIL: usize = ",\"leaf\":\"".len() + 64 + "\"}".len();
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let canonical = crate::canonical::to_vec(&value).map_err(|e| e.to_string())?;
    if canonical != text.as_bytes() {
        return Err("not in canonical form (bytes were changed)".into());
    }
    let line: EntryLine =
        serde_json::from_value(value).map_err(|e| format!("not an entry line: {e}"))?;
    if line.entry.index != expected_index {
        return Err(format!(
            "index {} where {expected_index} was expected (an entry was removed, added or moved)",
            line.entry.index
        ));
    }
    // A canonical line is `{"entry":<canonical entry>,"leaf":"<64 hex>"}`: the entry's
    // canonical bytes are the text between, with no second encoding.
    let entry_bytes = text
        .get(HEAD.len()..text.len().saturating_sub(TAIL))
        .filter(|_| text.starts_with(HEAD) && line.leaf.len() == 64)
        .ok_or("the leaf is not a SHA-256 hash")?;
    let leaf = merkle::leaf_hash(entry_bytes.as_bytes());
    if hex::encode(leaf) != line.leaf {
        return Err("the entry does not match its leaf hash (the entry was changed)".into());
    }
    Ok((line.entry, leaf))
}

impl AuditLog {
    /// Opens (or creates) the log in `dir`.
    pub fn open(dir: &Path, config: AuditConfig) -> Result<AuditLog, AuditError> {
        create_private_dir(dir)?;
        let signer = load_signer(dir, &config.origin)?;
        // Checkpoints first, then the entries, checking each checkpoint's root as the
        // entries reach its size (one pass, however many checkpoints).
        let checkpoints_path = dir.join(files::CHECKPOINTS);
        let verifier = signer.verifier();
        let mut expected: std::collections::BTreeMap<u64, Vec<(u64, Hash)>> = Default::default();
        let mut latest: Option<(Checkpoint, String)> = None;
        for (i, text) in read_lines(&checkpoints_path)?.iter().enumerate() {
            let (checkpoint, note) = open_checkpoint_line(text, i as u64 + 1, &verifier)?;
            expected
                .entry(checkpoint.size)
                .or_default()
                .push((i as u64 + 1, checkpoint.root));
            if latest
                .as_ref()
                .is_none_or(|(l, _)| checkpoint.size >= l.size)
            {
                latest = Some((checkpoint, note));
            }
        }
        let entries_path = dir.join(files::ENTRIES);
        let mut leaves = Vec::new();
        let mut frontier = Frontier::new();
        let check_roots = |frontier: &Frontier| -> Result<(), AuditError> {
            for (line, root) in expected.get(&frontier.size()).into_iter().flatten() {
                if *root != frontier.root() {
                    return Err(AuditError::Tampered {
                        file: files::CHECKPOINTS,
                        line: *line,
                        reason: format!(
                            "checkpoint of size {} does not match the entries",
                            frontier.size()
                        ),
                    });
                }
            }
            Ok(())
        };
        check_roots(&frontier)?;
        for (i, text) in read_lines(&entries_path)?.iter().enumerate() {
            let (_, leaf) =
                check_entry_line(text, i as u64).map_err(|reason| AuditError::Tampered {
                    file: files::ENTRIES,
                    line: i as u64 + 1,
                    reason,
                })?;
            leaves.push(leaf);
            frontier.push(leaf);
            check_roots(&frontier)?;
        }
        if let Some((checkpoint, _)) = &latest
            && checkpoint.size > frontier.size()
        {
            return Err(AuditError::Tampered {
                file: files::ENTRIES,
                line: frontier.size() + 1,
                reason: format!(
                    "a checkpoint covers {} entries but the log holds {}",
                    checkpoint.size,
                    frontier.size()
                ),
            });
        }
        let files = Files {
            entries: open_append(&entries_path)?,
            checkpoints: open_append(&checkpoints_path)?,
            personal: open_append(&dir.join(files::PERSONAL))?,
        };
        Ok(AuditLog {
            dir: dir.to_owned(),
            config,
            signer,
            state: Mutex::new(State {
                files,
                leaves,
                frontier,
                latest,
                latest_at: Instant::now(),
                written: 0,
                dirty: [false; 3],
            }),
            sync_state: Mutex::new(SyncState {
                synced: 0,
                syncing: false,
                failed: None,
            }),
            synced: Condvar::new(),
        })
    }

    /// The verifier of this log's checkpoints.
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        lock(&self.state).frontier.size()
    }

    /// Appends an entry (not yet durable: see [`AuditLog::sync`]) and returns its index.
    pub fn append(&self, new: NewEntry) -> Result<u64, AuditError> {
        let mut state = lock(&self.state);
        let index = state.frontier.size();
        let mut commitments = std::collections::BTreeMap::new();
        let mut personal_lines = Vec::new();
        for (field, value) in new.personal {
            let mut salt = [0u8; 16];
            getrandom::fill(&mut salt)
                .map_err(|e| AuditError::Note(NoteError::Randomness(e.to_string())))?;
            commitments.insert(field.clone(), commit(&salt, &value));
            let record = PersonalRecord {
                index,
                field,
                salt: hex::encode(salt),
                value,
            };
            let mut line = serde_json::to_vec(&record)
                .map_err(|_| crate::canonical::NotCanonical("personal record not representable"))?;
            line.push(b'\n');
            personal_lines.extend_from_slice(&line);
        }
        let entry = Entry {
            index,
            at_ms: new.at_ms,
            kind: new.kind,
            data: new.data,
            commitments,
        };
        let (line, leaf) = EntryLine::new(entry)?;
        let mut bytes = line.to_canonical()?;
        bytes.push(b'\n');
        // Personal data first: an entry on disk never points at a value that is not.
        if !personal_lines.is_empty() {
            let path = self.dir.join(files::PERSONAL);
            state
                .files
                .personal
                .write_all(&personal_lines)
                .map_err(io(&path))?;
            state.dirty[0] = true;
        }
        let path = self.dir.join(files::ENTRIES);
        state.files.entries.write_all(&bytes).map_err(io(&path))?;
        state.dirty[1] = true;
        state.leaves.push(leaf);
        state.frontier.push(leaf);
        state.written += 1;
        let since = state
            .latest
            .as_ref()
            .map_or(state.frontier.size(), |(c, _)| {
                state.frontier.size() - c.size
            });
        if since >= self.config.checkpoint_every {
            self.write_checkpoint(&mut state)?;
        }
        Ok(index)
    }

    /// Appends an entry and waits until it is durable.
    pub fn append_durable(&self, new: NewEntry) -> Result<u64, AuditError> {
        let index = self.append(new)?;
        self.sync()?;
        Ok(index)
    }

    /// Makes every append made before this call durable. Concurrent callers share one
    /// `fdatasync` per file.
    pub fn sync(&self) -> Result<(), AuditError> {
        let target = lock(&self.state).written;
        let mut sync = lock(&self.sync_state);
        loop {
            if sync.synced >= target {
                return Ok(());
            }
            if let Some(reason) = &sync.failed {
                return Err(AuditError::Io {
                    path: self.dir.clone(),
                    source: std::io::Error::other(reason.clone()),
                });
            }
            if sync.syncing {
                sync = self.synced.wait(sync).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            sync.syncing = true;
            drop(sync);
            let result = self.sync_files();
            sync = lock(&self.sync_state);
            sync.syncing = false;
            match result {
                Ok(upto) => sync.synced = sync.synced.max(upto),
                // A failed fsync leaves the page cache in an unknown state: refuse from now on.
                Err(e) => sync.failed = Some(e.to_string()),
            }
            self.synced.notify_all();
        }
    }

    /// Syncs the files written since their last sync; returns the append count covered.
    fn sync_files(&self) -> Result<u64, AuditError> {
        let (upto, files) = {
            let mut state = lock(&self.state);
            let dirty = std::mem::take(&mut state.dirty);
            let mut files = Vec::with_capacity(3);
            let handles = [
                (&state.files.personal, files::PERSONAL),
                (&state.files.entries, files::ENTRIES),
                (&state.files.checkpoints, files::CHECKPOINTS),
            ];
            for ((file, name), dirty) in handles.into_iter().zip(dirty) {
                if dirty {
                    let path = self.dir.join(name);
                    files.push((file.try_clone().map_err(io(&path))?, path));
                }
            }
            (state.written, files)
        };
        for (file, path) in files {
            file.sync_data().map_err(io(&path))?;
        }
        Ok(upto)
    }

    fn write_checkpoint(&self, state: &mut State) -> Result<(Checkpoint, String), AuditError> {
        let checkpoint = Checkpoint {
            origin: self.config.origin.clone(),
            size: state.frontier.size(),
            root: state.frontier.root(),
        };
        let note = checkpoint.sign(&self.signer)?;
        let line = CheckpointLine { note: note.clone() };
        let mut bytes = serde_json::to_vec(&line)
            .map_err(|_| crate::canonical::NotCanonical("checkpoint not representable"))?;
        bytes.push(b'\n');
        let path = self.dir.join(files::CHECKPOINTS);
        state
            .files
            .checkpoints
            .write_all(&bytes)
            .map_err(io(&path))?;
        state.written += 1;
        state.latest = Some((checkpoint.clone(), note.clone()));
        state.latest_at = Instant::now();
        Ok((checkpoint, note))
    }

    /// Signs a checkpoint now if entries were added since the last one (durable on return).
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        let written = {
            let mut state = lock(&self.state);
            let grown = state
                .latest
                .as_ref()
                .is_none_or(|(c, _)| c.size < state.frontier.size());
            if !grown {
                return Ok(None);
            }
            self.write_checkpoint(&mut state)?.0
        };
        self.sync()?;
        Ok(Some(written))
    }

    /// Signs a checkpoint if the configured interval has passed and entries were added.
    pub fn checkpoint_if_due(&self) -> Result<Option<Checkpoint>, AuditError> {
        let due = lock(&self.state).latest_at.elapsed() >= self.config.checkpoint_interval;
        if due { self.checkpoint() } else { Ok(None) }
    }

    /// Every entry of kind `kind`, oldest first, read back from the entries file (appends not
    /// yet synced included). A scan of the whole file: for rare work such as the reconciling
    /// at start-up, never on a request path.
    pub fn entries_of_kind(&self, kind: &str) -> Result<Vec<Entry>, AuditError> {
        let needle = format!("\"kind\":{}", serde_json::Value::from(kind));
        let (mut found, _) = self.scan(Some(&needle), |entry| entry.kind == kind, 0, usize::MAX)?;
        found.reverse();
        Ok(found)
    }

    /// One page of the entries `keep` accepts, newest first: the `skip` newest matches are
    /// passed over and at most `limit` returned, with the number of matches in all. A scan of
    /// the entries file holding at most `skip + limit` entries in memory (the reviewers'
    /// search; its cost grows with the log, not with the page).
    pub fn search(
        &self,
        keep: impl Fn(&Entry) -> bool,
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<Entry>, usize), AuditError> {
        self.scan(None, keep, skip, limit)
    }

    /// [`AuditLog::search`], reading only the lines that contain `needle` (when given).
    fn scan(
        &self,
        needle: Option<&str>,
        keep: impl Fn(&Entry) -> bool,
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<Entry>, usize), AuditError> {
        let size = {
            let mut state = lock(&self.state);
            let path = self.dir.join(files::ENTRIES);
            state.files.entries.flush().map_err(io(&path))?;
            state.frontier.size()
        };
        let path = self.dir.join(files::ENTRIES);
        let file = File::open(&path).map_err(io(&path))?;
        let window = skip.saturating_add(limit);
        let mut newest = std::collections::VecDeque::with_capacity(window.min(4096));
        let mut matched = 0usize;
        for (index, line) in BufReader::new(file).lines().enumerate() {
            if index as u64 >= size {
                break;
            }
            let line = line.map_err(io(&path))?;
            if needle.is_some_and(|needle| !line.contains(needle)) {
                continue;
            }
            let (entry, _) =
                check_entry_line(&line, index as u64).map_err(|reason| AuditError::Tampered {
                    file: files::ENTRIES,
                    line: index as u64 + 1,
                    reason,
                })?;
            if keep(&entry) {
                matched += 1;
                if window > 0 {
                    if newest.len() == window {
                        newest.pop_front();
                    }
                    newest.push_back(entry);
                }
            }
        }
        let page = newest.into_iter().rev().skip(skip).take(limit).collect();
        Ok((page, matched))
    }

    /// Entry `index` as the tree commits to it.
    pub fn entry(&self, index: u64) -> Result<Option<Entry>, AuditError> {
        let (found, _) = self.search(|entry| entry.index == index, 0, 1)?;
        Ok(found.into_iter().next())
    }

    /// The newest checkpoint and its signed note.
    pub fn latest_checkpoint(&self) -> Option<(Checkpoint, String)> {
        lock(&self.state).latest.clone()
    }

    /// The audit path of entry `index` in the tree of the first `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        let state = lock(&self.state);
        let size = self.bounded(size, state.leaves.len())?;
        usize::try_from(index)
            .ok()
            .and_then(|index| merkle::inclusion_proof(&state.leaves[..size], index))
            .ok_or_else(|| AuditError::OutOfRange(format!("entry {index} in a tree of {size}")))
    }

    /// The proof that the tree of `old_size` entries is a prefix of the tree of `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, AuditError> {
        let state = lock(&self.state);
        let new = self.bounded(new_size, state.leaves.len())?;
        usize::try_from(old_size)
            .ok()
            .and_then(|old| merkle::consistency_proof(&state.leaves[..new], old))
            .ok_or_else(|| AuditError::OutOfRange(format!("size {old_size} above {new_size}")))
    }

    /// The leaf hash of entry `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let state = lock(&self.state);
        usize::try_from(index)
            .ok()
            .and_then(|i| state.leaves.get(i).copied())
    }

    /// The root of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        let state = lock(&self.state);
        let size = self.bounded(size, state.leaves.len())?;
        Ok(merkle::root(&state.leaves[..size]))
    }

    fn bounded(&self, size: u64, len: usize) -> Result<usize, AuditError> {
        usize::try_from(size)
            .ok()
            .filter(|&size| size <= len)
            .ok_or_else(|| AuditError::OutOfRange(format!("size {size} above the log's {len}")))
    }

    /// Erases the readable personal data of entry `index` (the commitments stay, so the tree
    /// still verifies). Returns how many fields were erased.
    pub fn erase_personal(&self, index: u64) -> Result<usize, AuditError> {
        self.erase_personal_where(|record| record.index == index)
    }

    /// Erases every readable personal value that names `person` — the whole value, or one
    /// name of a comma-separated list (`approved_by`). Returns how many values were erased.
    pub fn erase_person(&self, person: &str) -> Result<usize, AuditError> {
        let person = person.trim();
        self.erase_personal_where(|record| {
            record.value.trim() == person || record.value.split(", ").any(|name| name == person)
        })
    }

    /// Erases every readable personal value `erase` picks; the file is rewritten beside the
    /// old one and renamed over it, so a crash leaves one or the other, never half of each.
    pub fn erase_personal_where(
        &self,
        erase: impl Fn(&PersonalRecord) -> bool,
    ) -> Result<usize, AuditError> {
        let mut state = lock(&self.state);
        let path = self.dir.join(files::PERSONAL);
        let mut kept = Vec::new();
        let mut erased = 0;
        for text in read_lines(&path)? {
            let record: Option<PersonalRecord> = serde_json::from_str(&text).ok();
            if record.is_some_and(|r| erase(&r)) {
                erased += 1;
            } else {
                kept.extend_from_slice(text.as_bytes());
                kept.push(b'\n');
            }
        }
        let temporary = self.dir.join("personal.jsonl.tmp");
        std::fs::write(&temporary, &kept).map_err(io(&temporary))?;
        File::open(&temporary)
            .and_then(|f| f.sync_all())
            .map_err(io(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(io(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        state.files.personal = open_append(&path)?;
        Ok(erased)
    }

    /// Writes an export to `out` after signing a checkpoint that covers every entry: entries,
    /// checkpoints, personal data not erased, and the verifier key (the signing key stays
    /// behind).
    pub fn export(&self, out: &Path) -> Result<ExportSummary, AuditError> {
        self.checkpoint()?;
        self.sync()?;
        crate::export::export_dir(&self.dir, out)
    }
}
