//! Compiles the test guests of `tests/guests/` for wasm32-wasip2 and writes `guests.rs`.

use std::fmt::Write as _;

use deskbridge_wasm_build::Guest;

const GUESTS: [&str; 15] = [
    "noop",
    "well-behaved",
    "infinite-loop",
    "memory-bomb",
    "file-reader",
    "env-reader",
    "socket-opener",
    "undeclared-kv",
    "panicker",
    "oversized-draft",
    "kv-counter",
    "import-abuser",
    "thread-echo",
    "legacy-v0-1",
    "knowledge-citer",
];

fn main() {
    let packages: Vec<String> = GUESTS.iter().map(|g| format!("guest-{g}")).collect();
    let dirs: Vec<String> = GUESTS.iter().map(|g| format!("tests/guests/{g}")).collect();
    let guests: Vec<Guest<'_>> = packages
        .iter()
        .zip(&dirs)
        .map(|(package, dir)| Guest { package, dir })
        .collect();
    let (wasm, root) = match deskbridge_wasm_build::build(&guests)
        .and_then(|w| Ok((w, deskbridge_wasm_build::workspace_root()?)))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let mut code = String::new();
    for (name, wasm) in GUESTS.iter().zip(&wasm) {
        let manifest = root.join("tests/guests").join(name).join("plugin.toml");
        let _ = writeln!(
            code,
            "/// The `{name}` test guest.\npub const {}: TestGuest = TestGuest {{ name: {name:?}, wasm: {:?}, manifest: {:?} }};",
            name.to_uppercase().replace('-', "_"),
            wasm.display().to_string(),
            manifest.display().to_string(),
        );
    }
    let out =
        std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("guests.rs");
    if let Err(e) = std::fs::write(&out, code) {
        eprintln!("error: writing {}: {e}", out.display());
        std::process::exit(1);
    }
}
