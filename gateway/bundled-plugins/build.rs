//! Compiles the first-party plugins for wasm32-wasip2 and writes `bundled.rs` into OUT_DIR.

use std::fmt::Write as _;
use std::path::PathBuf;

use deskbridge_wasm_build::Guest;

const PLUGINS: [(&str, &str); 4] = [
    ("summarize", "deskbridge-plugin-summarize"),
    ("suggest-reply", "deskbridge-plugin-suggest-reply"),
    ("human-handover", "deskbridge-plugin-human-handover"),
    ("approval-policy", "deskbridge-plugin-approval-policy"),
];

fn main() {
    let dirs: Vec<String> = PLUGINS
        .iter()
        .map(|(id, _)| format!("plugins/{id}"))
        .collect();
    let guests: Vec<Guest<'_>> = PLUGINS
        .iter()
        .zip(&dirs)
        .map(|((_, package), dir)| Guest { package, dir })
        .collect();
    let wasm = match deskbridge_wasm_build::build(&guests) {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let root = deskbridge_wasm_build::workspace_root().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let mut code = String::from(
        "/// Every first-party plugin, in pipeline order.\npub const ALL: &[BundledPlugin] = &[\n",
    );
    for ((id, _), wasm) in PLUGINS.iter().zip(&wasm) {
        let manifest: PathBuf = root.join("plugins").join(id).join("plugin.toml");
        let _ = writeln!(
            code,
            "    BundledPlugin {{ id: {id:?}, wasm: include_bytes!({wasm:?}), manifest: include_str!({manifest:?}) }},",
            wasm = wasm.display().to_string(),
            manifest = manifest.display().to_string(),
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("bundled.rs");
    if let Err(e) = std::fs::write(&out, code) {
        eprintln!("error: writing {}: {e}", out.display());
        std::process::exit(1);
    }
}
