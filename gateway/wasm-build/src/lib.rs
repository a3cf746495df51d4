//! Build-script helper that compiles wasm guest crates of this workspace for `wasm32-wasip2`,
//! so first-party plugins and test guests are built by the ordinary `cargo build`/`cargo test`.
//!
//! It runs a nested `cargo build` into its own target directory (`<target>/wasm-guests`,
//! beside the host build, so the two never wait on each other's lock), with the
//! `wasm-guest` profile of the workspace. If the target is not installed it installs it with
//! rustup (the toolchain file lists it); where that is impossible the build stops with the
//! exact command to run.

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target.
pub const TARGET: &str = "wasm32-wasip2";
/// The cargo profile guests are built with (defined in the workspace `Cargo.toml`).
pub const PROFILE: &str = "wasm-guest";

/// A failed guest build, with what to do about it.
#[derive(Debug)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// One guest crate: its package name and its path from the workspace root.
#[derive(Debug, Clone, Copy)]
pub struct Guest<'a> {
    /// Cargo package name, e.g. `deskbridge-plugin-summarize`.
    pub package: &'a str,
    /// Folder relative to the workspace root, e.g. `plugins/summarize`.
    pub dir: &'a str,
}

impl Guest<'_> {
    /// File name of the built component: the package name with `-` as `_`.
    pub fn wasm_file_name(&self) -> String {
        format!("{}.wasm", self.package.replace('-', "_"))
    }
}

/// The workspace root, two levels above a build script's crate (`gateway/x`, `tests/`…).
pub fn workspace_root() -> Result<PathBuf, BuildError> {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| BuildError("CARGO_MANIFEST_DIR is not set: run from a build script".into()))?;
    Path::new(&manifest_dir)
        .ancestors()
        .find(|dir| dir.join("rust-toolchain.toml").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| BuildError(format!("no workspace root above {manifest_dir}")))
}

/// Builds `guests` and returns the path of each component, in the same order.
///
/// Prints the `cargo:rerun-if-changed` lines for the guests, the SDK and the contract.
pub fn build(guests: &[Guest<'_>]) -> Result<Vec<PathBuf>, BuildError> {
    let root = workspace_root()?;
    for path in [
        "sdk/rust/src",
        "sdk/rust/Cargo.toml",
        "sdk/wit",
        "Cargo.lock",
        "Cargo.toml",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    for guest in guests {
        for part in ["src", "Cargo.toml"] {
            println!(
                "cargo:rerun-if-changed={}",
                root.join(guest.dir).join(part).display()
            );
        }
    }
    println!("cargo:rerun-if-env-changed=DESKBRIDGE_NO_AUTO_TARGET");

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_target_installed()?;
    let target_dir = host_target_dir(&root).join("wasm-guests");

    let mut command = Command::new(&cargo);
    command
        .current_dir(&root)
        .args([
            "build",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            "--target-dir",
        ])
        .arg(&target_dir);
    for guest in guests {
        command.args(["-p", guest.package]);
    }
    // The outer build's flags and wrappers are for the host target (clippy's wrapper, a
    // `target-cpu=native`); none of them belongs in the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .map_err(|e| BuildError(format!("could not run {cargo}: {e}")))?;
    if !status.success() {
        return Err(BuildError(format!(
            "building the wasm guests ({}) for {TARGET} failed; the compiler's errors are above",
            guests
                .iter()
                .map(|g| g.package)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let out = target_dir.join(TARGET).join(PROFILE);
    guests
        .iter()
        .map(|guest| {
            let path = out.join(guest.wasm_file_name());
            if path.is_file() {
                Ok(path)
            } else {
                Err(BuildError(format!("{} was not produced", path.display())))
            }
        })
        .collect()
}

/// The host build's target directory: the nearest ancestor of `OUT_DIR` that cargo marked
/// with `CACHEDIR.TAG`, else `<root>/target`.
fn host_target_dir(root: &Path) -> PathBuf {
    env::var_os("OUT_DIR")
        .and_then(|out| {
            Path::new(&out)
                .ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| root.join("target"))
}

fn sysroot_has_target() -> Result<bool, BuildError> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| BuildError(format!("could not run {rustc}: {e}")))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok(Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir())
}

fn ensure_target_installed() -> Result<(), BuildError> {
    if sysroot_has_target()? {
        return Ok(());
    }
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok();
    let add_command = match &toolchain {
        Some(t) => format!("rustup target add {TARGET} --toolchain {t}"),
        None => format!("rustup target add {TARGET}"),
    };
    let how = format!(
        "the {TARGET} target is not installed for this toolchain; run `rustup toolchain install` \
         in the repository root (it installs the pinned toolchain with its targets), or \
         `{add_command}`"
    );
    if env::var_os("DESKBRIDGE_NO_AUTO_TARGET").is_some() {
        return Err(BuildError(how));
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Some(toolchain) = &toolchain {
        rustup.args(["--toolchain", toolchain]);
    }
    println!(
        "cargo:warning=installing the {TARGET} target with rustup (set DESKBRIDGE_NO_AUTO_TARGET=1 to refuse)"
    );
    match rustup.status() {
        Ok(status) if status.success() && sysroot_has_target()? => Ok(()),
        _ => Err(BuildError(how)),
    }
}
