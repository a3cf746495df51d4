//! Exporting a log directory, read-only: safe while a gateway appends to it.
//!
//! The export ends at the newest signed checkpoint, so everything in it is covered by a
//! signature: entries appended after that checkpoint wait for the next one (at most
//! `checkpoint_every` entries or `checkpoint_interval_s` seconds away). Lines are copied
//! byte for byte; only complete lines are read, so an append in progress is never cut.

use std::io::Write;
use std::path::Path;

use crate::entry::PersonalRecord;
use crate::log::{AuditError, files, io, open_checkpoint_line};
use crate::merkle::Hash;
use crate::note::{Checkpoint, NoteVerifier};

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Entries exported (the newest checkpoint's size).
    pub entries: u64,
    /// Their root, as signed.
    pub root: Hash,
    /// Checkpoints exported.
    pub checkpoints: u64,
    /// Entries in the log not yet covered by a checkpoint, left out.
    pub uncovered: u64,
}

/// The complete lines of `path` (an empty list if it does not exist).
fn complete_lines(path: &Path) -> Result<Vec<String>, AuditError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let complete = text
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&text[..0], |end| &text[..=end]);
    let text = String::from_utf8_lossy(complete);
    Ok(text.split_terminator('\n').map(str::to_owned).collect())
}

fn write_lines<'a>(path: &Path, lines: impl Iterator<Item = &'a String>) -> Result<(), AuditError> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io(path))?);
    for line in lines {
        out.write_all(line.as_bytes()).map_err(io(path))?;
        out.write_all(b"\n").map_err(io(path))?;
    }
    out.flush().map_err(io(path))
}

/// The newest signed checkpoint of the log in `log_dir` (checked against the log's key) and
/// its note text, read-only: safe while a gateway appends. This is what an operator ships
/// to another system after each checkpoint, for `audit verify --checkpoint`.
pub fn newest_checkpoint(log_dir: &Path) -> Result<Option<(Checkpoint, String)>, AuditError> {
    let key_path = log_dir.join(files::PUBLIC_KEY);
    let key = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
    let verifier = NoteVerifier::parse(&key)?;
    let mut newest: Option<(Checkpoint, String)> = None;
    for (i, text) in complete_lines(&log_dir.join(files::CHECKPOINTS))?
        .iter()
        .enumerate()
    {
        let (checkpoint, note) = open_checkpoint_line(text, i as u64 + 1, &verifier)?;
        if newest
            .as_ref()
            .is_none_or(|(n, _)| checkpoint.size >= n.size)
        {
            newest = Some((checkpoint, note));
        }
    }
    Ok(newest)
}

/// Copies the log in `log_dir` to `out`, up to its newest checkpoint.
pub fn export_dir(log_dir: &Path, out: &Path) -> Result<ExportSummary, AuditError> {
    let key_path = log_dir.join(files::PUBLIC_KEY);
    let key = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
    let verifier = NoteVerifier::parse(&key)?;
    let checkpoint_lines = complete_lines(&log_dir.join(files::CHECKPOINTS))?;
    let mut newest: Option<Checkpoint> = None;
    for (i, text) in checkpoint_lines.iter().enumerate() {
        let (checkpoint, _) = open_checkpoint_line(text, i as u64 + 1, &verifier)?;
        if newest.as_ref().is_none_or(|n| checkpoint.size >= n.size) {
            newest = Some(checkpoint);
        }
    }
    let Some(newest) = newest else {
        return Err(AuditError::OutOfRange(
            "the log has no signed checkpoint yet: nothing to export".into(),
        ));
    };
    let entry_lines = complete_lines(&log_dir.join(files::ENTRIES))?;
    let size = usize::try_from(newest.size).unwrap_or(usize::MAX);
    if entry_lines.len() < size {
        return Err(AuditError::Tampered {
            file: files::ENTRIES,
            line: entry_lines.len() as u64 + 1,
            reason: format!(
                "the newest checkpoint covers {} entries but the log holds {}",
                newest.size,
                entry_lines.len()
            ),
        });
    }
    let personal: Vec<String> = complete_lines(&log_dir.join(files::PERSONAL))?
        .into_iter()
        .filter(|text| {
            serde_json::from_str::<PersonalRecord>(text).is_ok_and(|r| r.index < newest.size)
        })
        .collect();
    std::fs::create_dir_all(out).map_err(io(out))?;
    write_lines(&out.join(files::ENTRIES), entry_lines[..size].iter())?;
    write_lines(&out.join(files::CHECKPOINTS), checkpoint_lines.iter())?;
    write_lines(&out.join(files::PERSONAL), personal.iter())?;
    let public = out.join(files::PUBLIC_KEY);
    std::fs::write(&public, format!("{}\n", verifier.to_key_string())).map_err(io(&public))?;
    Ok(ExportSummary {
        entries: newest.size,
        root: newest.root,
        checkpoints: checkpoint_lines.len() as u64,
        uncovered: (entry_lines.len() - size) as u64,
    })
}
