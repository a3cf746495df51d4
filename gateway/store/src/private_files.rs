//! The data directory holds customers' text, approvals and (in `audit/`) the log's signing
//! key: it is made private to the gateway's user. Opening the store creates the directory
//! with mode `0700` and brings every directory below it to `0700` and every file to `0600`
//! (stores written by earlier versions had the umask's modes); files the store creates later
//! are created `0600` (the binary also sets its umask to `077`, for the files sled creates).

use std::path::Path;

use crate::StoreError;

/// Mode of the files the store creates.
#[cfg(unix)]
pub(crate) const FILE_MODE: u32 = 0o600;
/// Mode of its directories.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;

/// Creates `dir` if missing and makes it and everything in it private (unix; elsewhere only
/// creates it).
pub(crate) fn make_private(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    #[cfg(unix)]
    restrict(dir)?;
    Ok(())
}

fn io(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {error}", path.display()))
}

#[cfg(unix)]
fn restrict(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(path, e))
    };
    set(dir, DIR_MODE)?;
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        // Not followed: a link in the data directory is the operator's business.
        let kind = entry.file_type().map_err(|e| io(&path, e))?;
        if kind.is_dir() {
            restrict(&path)?;
        } else if kind.is_file() {
            set(&path, FILE_MODE)?;
        }
    }
    Ok(())
}

/// Opens options that create a file with [`FILE_MODE`] on unix.
pub(crate) fn create_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_store_opened_on_an_open_directory_makes_it_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("data");
        std::fs::create_dir_all(dir.join("audit")).expect("dirs");
        std::fs::write(dir.join("audit/entries.jsonl"), "{}\n").expect("file");
        for (path, m) in [(&dir, 0o755), (&dir.join("audit"), 0o755)] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).expect("chmod");
        }
        std::fs::set_permissions(
            dir.join("audit/entries.jsonl"),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        let store = crate::SledStore::open(&dir).expect("open");
        drop(store);
        let mut seen = 0;
        let mut stack = vec![dir.clone()];
        while let Some(next) = stack.pop() {
            assert_eq!(mode(&next), 0o700, "{}", next.display());
            for entry in std::fs::read_dir(&next).expect("read") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    assert_eq!(mode(&path), 0o600, "{}", path.display());
                    seen += 1;
                }
            }
        }
        assert!(
            seen >= 3,
            "sled's files, the inbound segment and the old log file"
        );
    }

    #[test]
    fn new_files_are_created_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        create_options()
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("create");
        assert_eq!(mode(&path), 0o600);
    }
}
