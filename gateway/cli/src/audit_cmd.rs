//! The approval log from the command line (`deskbridge audit export|checkpoint|verify|erase`)
//! and its setup in
//! `deskbridge serve`: opening it in `DATA_DIR/audit`, recording plugin loads and the
//! configuration, and signing checkpoints on a timer.

use deskbridge_pipeline::now_ms;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use deskbridge_audit::{AuditConfig, AuditLog, NewEntry};
use deskbridge_config::Config;
use deskbridge_plugin_host::LoadedPlugin;
use sha2::{Digest, Sha256};

/// `deskbridge audit …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Export the approval log (up to its newest signed checkpoint) as JSON Lines, with the
    /// checkpoints and the public key. Safe while the gateway runs.
    Export {
        /// Where to write the export (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        place: crate::token_cmd::DataPlace,
    },
    /// Write the log's newest signed checkpoint (a C2SP signed note) to a file, to keep it
    /// outside the gateway (another system, another person): `verify --checkpoint` then
    /// catches a log cut short or rewritten since, even one re-signed with the log's own key.
    /// Safe while the gateway runs.
    Checkpoint {
        /// Where to write the checkpoint.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        place: crate::token_cmd::DataPlace,
    },
    /// Verify an export offline: signatures, roots, consistency of every checkpoint, and
    /// personal values against their commitments. Names the first bad line.
    Verify {
        /// The export directory.
        dir: PathBuf,
        /// The log's public key (`name+id+key`), or a file holding it. Without it the export's
        /// own `log.pub` is used, which proves integrity but not who signed.
        #[arg(long)]
        pubkey: Option<String>,
        /// A checkpoint kept outside the gateway (from `audit checkpoint --out`); the export
        /// must agree with it. Repeat for several.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
    },
    /// Erase readable personal data (a person's name wherever it appears, or every personal
    /// value of one entry) while keeping the log verifiable. With the gateway stopped; while
    /// it runs, use `POST /api/v1/audit/erasures` as an admin.
    Erase {
        /// Erase every value naming this person.
        #[arg(long, conflicts_with = "index", required_unless_present = "index")]
        person: Option<String>,
        /// Erase every personal value of the entry at this index.
        #[arg(long)]
        index: Option<u64>,
        #[command(flatten)]
        place: crate::token_cmd::DataPlace,
    },
}

/// The log's directory inside a data directory.
pub(crate) fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("audit")
}

pub(crate) fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Export { out, place } => {
            let data_dir = place.config()?.data_dir;
            let summary = deskbridge_audit::export_dir(&log_dir(&data_dir), &out)
                .with_context(|| format!("exporting the approval log of {}", data_dir.display()))?;
            println!(
                "exported {} entries and {} checkpoints to {} (root {}){}",
                summary.entries,
                summary.checkpoints,
                out.display(),
                hex::encode(summary.root),
                if summary.uncovered > 0 {
                    format!(
                        "; {} newer entries wait for the next checkpoint",
                        summary.uncovered
                    )
                } else {
                    String::new()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Erase {
            person,
            index,
            place,
        } => {
            let config = place.config()?;
            // The store's lock says whether a gateway runs on this data directory: erasing
            // under a running gateway would cut its open file from under it.
            let _store = crate::token_cmd::open_store(&config)?;
            let log = open_log(&config)?;
            let erased = match (&person, index) {
                (Some(person), _) => log.erase_person(person)?,
                (None, Some(index)) => log.erase_personal(index)?,
                (None, None) => bail!("give --person NAME or --index N"),
            };
            log.append_durable(deskbridge_pipeline::journal::erasure_entry(
                erased,
                index,
                "deskbridge audit erase",
            ))?;
            log.checkpoint()?;
            println!("erased {erased} personal values; the log still verifies");
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint { out, place } => {
            let data_dir = place.config()?.data_dir;
            let Some((checkpoint, note)) = deskbridge_audit::newest_checkpoint(&log_dir(&data_dir))
                .with_context(|| format!("reading the approval log of {}", data_dir.display()))?
            else {
                bail!(
                    "the approval log in {} has no signed checkpoint yet",
                    data_dir.display()
                );
            };
            std::fs::write(&out, &note).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "checkpoint of {} at size {} (root {}) written to {}",
                checkpoint.origin,
                checkpoint.size,
                hex::encode(checkpoint.root),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            dir,
            pubkey,
            checkpoints,
        } => {
            let key = match pubkey {
                Some(value) if Path::new(&value).is_file() => Some(
                    std::fs::read_to_string(&value)
                        .with_context(|| format!("reading the public key {value}"))?,
                ),
                other => other,
            };
            let witnessed = checkpoints
                .iter()
                .map(|path| {
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading the checkpoint {}", path.display()))
                })
                .collect::<anyhow::Result<Vec<String>>>()?;
            match deskbridge_audit::verify_export_against(&dir, key.as_deref(), &witnessed) {
                Ok(verified) => {
                    println!(
                        "ok: {} entries, {} checkpoints of {} verified; root {}; {} personal values match their commitments, {} erased",
                        verified.entries,
                        verified.checkpoints,
                        verified.origin,
                        hex::encode(verified.root),
                        verified.personal_values,
                        verified.erased_values
                    );
                    if !witnessed.is_empty() {
                        println!(
                            "agrees with {} checkpoint(s) kept elsewhere",
                            witnessed.len()
                        );
                    }
                    if key.is_none() {
                        println!(
                            "note: checked against the export's own log.pub; pass --pubkey with a copy obtained independently to prove who signed"
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("FAILED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// The log for `deskbridge serve`, with this start's configuration and plugins recorded.
pub(crate) struct ServeAuditLog {
    log: Arc<AuditLog>,
    stop: Arc<AtomicBool>,
    timer: Option<std::thread::JoinHandle<()>>,
    plugins: Vec<Arc<LoadedPlugin>>,
}

fn plugin_entry(kind: &str, plugin: &LoadedPlugin) -> NewEntry {
    let mut entry = NewEntry {
        kind: kind.into(),
        at_ms: now_ms(),
        ..NewEntry::default()
    };
    entry.data.insert("plugin_id".into(), plugin.id().into());
    entry
        .data
        .insert("version".into(), plugin.manifest().version.clone().into());
    entry
        .data
        .insert("wasm_sha256".into(), plugin.wasm_sha256().into());
    entry
}

/// Opens the approval log of `config`'s data directory with its `[audit]` settings.
pub(crate) fn open_log(config: &Config) -> anyhow::Result<AuditLog> {
    let dir = log_dir(&config.data_dir);
    let settings = AuditConfig {
        origin: config.audit.origin.clone(),
        checkpoint_every: config.audit.checkpoint_every,
        checkpoint_interval: Duration::from_secs(config.audit.checkpoint_interval_s),
    };
    AuditLog::open(&dir, settings)
        .with_context(|| format!("opening the approval log in {}", dir.display()))
}

impl ServeAuditLog {
    /// The log.
    pub(crate) fn log(&self) -> Arc<AuditLog> {
        self.log.clone()
    }

    /// Opens the log, records the configuration and the loaded plugins, and starts the
    /// checkpoint timer.
    pub(crate) fn start(
        config: &Config,
        config_path: Option<&Path>,
        plugins: &[Arc<LoadedPlugin>],
    ) -> anyhow::Result<ServeAuditLog> {
        let log = Arc::new(open_log(config)?);
        let mut loaded = NewEntry {
            kind: "config.loaded".into(),
            at_ms: now_ms(),
            ..NewEntry::default()
        };
        let (source, digest) = match config_path {
            Some(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                ("file", hex::encode(Sha256::digest(&bytes)))
            }
            None => ("embedded defaults", String::new()),
        };
        loaded.data.insert("source".into(), source.into());
        loaded.data.insert("sha256".into(), digest.into());
        log.append(loaded)?;
        for plugin in plugins {
            log.append(plugin_entry("plugin.loaded", plugin))?;
        }
        log.sync()?;
        let stop = Arc::new(AtomicBool::new(false));
        let timer = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::Builder::new()
                .name("deskbridge-checkpoints".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(250));
                        if let Err(e) = log.checkpoint_if_due() {
                            tracing::error!(error = %e, "cannot sign an approval-log checkpoint");
                        }
                        // Entries appended without waiting (draft.created) reach the disk
                        // within one tick; a no-op when nothing is new.
                        if let Err(e) = log.sync() {
                            tracing::error!(error = %e, "cannot sync the approval log");
                        }
                    }
                })?
        };
        tracing::info!(
            origin = %config.audit.origin,
            entries = log.size(),
            public_key = %log.verifier().to_key_string(),
            "approval log open"
        );
        Ok(ServeAuditLog {
            log,
            stop,
            timer: Some(timer),
            plugins: plugins.to_vec(),
        })
    }

    /// Records the plugins' unloading and signs a final checkpoint.
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(timer) = self.timer.take() {
            let _ = timer.join();
        }
        for plugin in &self.plugins {
            if let Err(e) = self.log.append(plugin_entry("plugin.unloaded", plugin)) {
                tracing::error!(error = %e, "cannot record a plugin unload");
            }
        }
        if let Err(e) = self.log.checkpoint().and_then(|_| self.log.sync()) {
            tracing::error!(error = %e, "cannot sign the final approval-log checkpoint");
        }
    }
}
