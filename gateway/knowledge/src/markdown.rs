//! A local folder of Markdown files as a knowledge source, for any helpdesk.
//!
//! Every `*.md` file under the folder (sub-folders included, symbolic links not followed, hidden
//! entries skipped) is one document: id `md:` + its path relative to the folder, title from a
//! `title:` line of a leading `---` front matter block, else its first `# ` heading, else its
//! file name; body the Markdown text with the front matter and that heading removed. An
//! optional `url_base` gives each file a URL (`{url_base}/{relative path without .md}`).

use std::path::{Path, PathBuf};

use deskbridge_core::{KnowledgeDoc, KnowledgeKind};

use crate::index::MAX_DOCS;

/// Largest Markdown file read, in bytes; a bigger one is skipped with a warning.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Deepest sub-folder level read.
const MAX_DEPTH: usize = 8;

/// Why a folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The folder itself cannot be read.
    #[error("cannot read knowledge folder {path}: {source}")]
    Unreadable {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// More files than one index holds.
    #[error("knowledge folder {0} has more than {MAX_DOCS} Markdown files")]
    TooMany(PathBuf),
}

/// Every Markdown document in `folder`. Unreadable or oversized single files are skipped with
/// a warning (one bad file must not empty the knowledge base); an unreadable folder is an
/// error (so a sync does not take it for an empty one and delete every document).
pub fn read_folder(
    folder: &Path,
    url_base: Option<&str>,
) -> Result<Vec<KnowledgeDoc>, FolderError> {
    let mut docs = Vec::new();
    walk(folder, folder, url_base, 0, &mut docs)?;
    docs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(docs)
}

fn walk(
    root: &Path,
    dir: &Path,
    url_base: Option<&str>,
    depth: usize,
    docs: &mut Vec<KnowledgeDoc>,
) -> Result<(), FolderError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FolderError::Unreadable {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if file_type.is_dir() && depth < MAX_DEPTH {
            walk(root, &path, url_base, depth + 1, docs)?;
        } else if file_type.is_file() && name.ends_with(".md") {
            if docs.len() >= MAX_DOCS {
                return Err(FolderError::TooMany(root.to_owned()));
            }
            if let Some(doc) = read_file(root, &path, url_base) {
                docs.push(doc);
            }
        }
    }
    Ok(())
}

fn read_file(root: &Path, path: &Path, url_base: Option<&str>) -> Option<KnowledgeDoc> {
    let relative = path.strip_prefix(root).ok()?;
    let relative: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let relative = relative.join("/");
    // Read at most one byte past the limit (a file growing between a size check and the read
    // cannot get past it).
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|file| {
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_FILE_BYTES + 1),
            &mut bytes,
        )
    });
    if let Err(e) = read {
        tracing::warn!(file = %relative, "knowledge file unreadable: {e}");
        return None;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        tracing::warn!(file = %relative, "knowledge file over {MAX_FILE_BYTES} bytes skipped");
        return None;
    }
    let Ok(text) = String::from_utf8(bytes) else {
        tracing::warn!(file = %relative, "knowledge file skipped: not UTF-8 text");
        return None;
    };
    let stem = relative.strip_suffix(".md").unwrap_or(&relative);
    let (title, body, locale) = parse(&text, stem.rsplit('/').next().unwrap_or(stem));
    let updated_at = None;
    KnowledgeDoc {
        id: format!("md:{relative}"),
        kind: KnowledgeKind::Markdown,
        title,
        body,
        url: url_base.map(|base| format!("{}/{stem}", base.trim_end_matches('/'))),
        locale,
        updated_at,
    }
    .bounded()
}

/// Splits what follows an opening `---` line into the front matter and the text after the
/// closing `---` line (a line of exactly three dashes); `None` when there is no closing line.
fn front_matter(after: &str) -> Option<(&str, &str)> {
    let mut at = 0;
    for line in after.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "---" {
            return Some((&after[..at], &after[at + line.len()..]));
        }
        at += line.len();
    }
    None
}

/// Title, body and locale of a Markdown text; `fallback_title` when it names none.
fn parse(text: &str, fallback_title: &str) -> (String, String, Option<String>) {
    let mut title = None;
    let mut locale = None;
    let mut rest = text.trim_start_matches('\u{feff}');
    if let Some(after) = rest
        .strip_prefix("---\n")
        .or_else(|| rest.strip_prefix("---\r\n"))
        && let Some((block, body)) = front_matter(after)
    {
        for line in block.lines() {
            if let Some((key, value)) = line.split_once(':') {
                let value = value.trim().trim_matches(['"', '\'']).trim();
                match key.trim() {
                    "title" if !value.is_empty() => title = Some(value.to_owned()),
                    "locale" | "lang" | "language" if !value.is_empty() => {
                        locale = Some(value.to_owned())
                    }
                    _ => {}
                }
            }
        }
        rest = body;
    }
    let mut body_lines = Vec::new();
    for line in rest.lines() {
        if title.is_none()
            && body_lines.iter().all(|l: &&str| l.trim().is_empty())
            && let Some(heading) = line.strip_prefix("# ")
        {
            title = Some(heading.trim().to_owned());
            continue;
        }
        body_lines.push(line);
    }
    let title = title.unwrap_or_else(|| fallback_title.replace(['-', '_'], " "));
    (title, body_lines.join("\n").trim().to_owned(), locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_comes_from_front_matter_then_heading_then_file_name() {
        let (title, body, locale) = parse(
            "---\ntitle: \"Refund policy\"\nlocale: de\n---\n# Ignored heading\nText.",
            "x",
        );
        assert_eq!(title, "Refund policy");
        assert_eq!(body, "# Ignored heading\nText.");
        assert_eq!(locale.as_deref(), Some("de"));
        let (title, body, _) = parse("\n# Shipping times\n\nWe ship in 2 days.", "x");
        assert_eq!(
            (title.as_str(), body.as_str()),
            ("Shipping times", "We ship in 2 days.")
        );
        let (title, _, _) = parse("Just text.", "password-reset");
        assert_eq!(title, "password reset");
        // Only a line of exactly three dashes closes the front matter.
        let (title, body, _) = parse("---\ntitle: A\n----\nstill matter\n---\nBody.", "x");
        assert_eq!((title.as_str(), body.as_str()), ("A", "Body."));
        let (title, body, _) = parse("---\n---\n# Empty matter\nBody.", "x");
        assert_eq!((title.as_str(), body.as_str()), ("Empty matter", "Body."));
    }

    #[test]
    fn a_folder_becomes_documents_with_relative_ids_and_urls() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("billing")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join(".git")).expect("mkdir");
        std::fs::write(
            dir.path().join("billing/refunds.md"),
            "# Refunds\nWithin 30 days.",
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not markdown").expect("write");
        std::fs::write(dir.path().join(".git/x.md"), "# hidden").expect("write");
        std::fs::write(
            dir.path().join("big.md"),
            "x".repeat(usize::try_from(MAX_FILE_BYTES).expect("fits") + 1),
        )
        .expect("write");
        let docs = read_folder(dir.path(), Some("https://help.example.com/kb/")).expect("read");
        assert_eq!(docs.len(), 1, "{docs:?}");
        assert_eq!(docs[0].id, "md:billing/refunds.md");
        assert_eq!(docs[0].title, "Refunds");
        assert_eq!(docs[0].body, "Within 30 days.");
        assert_eq!(
            docs[0].url.as_deref(),
            Some("https://help.example.com/kb/billing/refunds")
        );
    }

    #[test]
    fn a_missing_folder_is_an_error_not_an_empty_listing() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(
            read_folder(&dir.path().join("absent"), None),
            Err(FolderError::Unreadable { .. })
        ));
    }
}
