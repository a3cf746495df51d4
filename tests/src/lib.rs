//! Shared fixtures for Deskbridge's end-to-end tests: the hostile and helper guests of
//! `tests/guests/` (built for wasm32-wasip2 by this crate's build script) and sample events.

use std::path::Path;

/// A test guest: its component and manifest on disk.
#[derive(Debug, Clone, Copy)]
pub struct TestGuest {
    /// Folder name under `tests/guests/`.
    pub name: &'static str,
    /// Path of the built component.
    pub wasm: &'static str,
    /// Path of its `plugin.toml`.
    pub manifest: &'static str,
}

impl TestGuest {
    /// The component's bytes.
    pub fn wasm_bytes(&self) -> Vec<u8> {
        std::fs::read(self.wasm).unwrap_or_else(|e| panic!("reading {}: {e}", self.wasm))
    }

    /// The manifest's text.
    pub fn manifest_text(&self) -> String {
        std::fs::read_to_string(self.manifest)
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.manifest))
    }
}

/// The guests.
pub mod guests {
    use super::TestGuest;
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// `tests/fixtures/` in the source tree.
pub fn fixtures_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

/// The text of `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
