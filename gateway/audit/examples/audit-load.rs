//! Load driver for the approval log's benchmarks (BENCHMARKS.md):
//!
//! ```sh
//! # durable appends from T threads for S seconds: entries/s and fsyncs shared
//! cargo run --release -p deskbridge-audit --example audit-load -- append DIR THREADS SECONDS
//! # a log of N entries, exported to OUT (time `deskbridge audit verify OUT` on it)
//! cargo run --release -p deskbridge-audit --example audit-load -- export DIR N OUT
//! ```
//!
//! Entries look like approval decisions: six public fields and one personal field.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deskbridge_audit::{AuditConfig, AuditLog, NewEntry};

fn decision(i: u64) -> NewEntry {
    let mut entry = NewEntry {
        kind: "draft.decided".into(),
        at_ms: 1_764_000_000_000 + i as i64,
        ..NewEntry::default()
    };
    entry
        .data
        .insert("draft_id".into(), format!("evt-{i}.suggest-reply.0").into());
    entry
        .data
        .insert("decision".into(), "approve_edited".into());
    entry.data.insert("role".into(), "agent".into());
    entry.data.insert(
        "draft_sha256".into(),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
    );
    entry.data.insert(
        "sent_sha256".into(),
        "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752".into(),
    );
    entry.data.insert("edit_distance".into(), 12.into());
    entry.personal.insert("approver".into(), "Ann Agent".into());
    entry
}

fn config() -> AuditConfig {
    AuditConfig {
        origin: "deskbridge.bench/approval-log".into(),
        checkpoint_every: 1000,
        checkpoint_interval: Duration::from_secs(10),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["append", dir, threads, seconds] => {
            let log = Arc::new(AuditLog::open(&PathBuf::from(dir), config())?);
            let threads: u64 = threads.parse()?;
            let length = Duration::from_secs(seconds.parse()?);
            let done = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let started = Instant::now();
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (log, done, stop) = (log.clone(), done.clone(), stop.clone());
                    std::thread::spawn(move || {
                        let mut i = t << 40;
                        while !stop.load(Ordering::Relaxed) {
                            if let Err(e) = log.append_durable(decision(i)) {
                                eprintln!("append failed: {e}");
                                return;
                            }
                            done.fetch_add(1, Ordering::Relaxed);
                            i += 1;
                        }
                    })
                })
                .collect();
            std::thread::sleep(length);
            stop.store(true, Ordering::Relaxed);
            for worker in workers {
                let _ = worker.join();
            }
            let elapsed = started.elapsed().as_secs_f64();
            let n = done.load(Ordering::Relaxed);
            println!(
                "{n} durable appends from {threads} threads in {elapsed:.1} s: {:.0} entries/s",
                n as f64 / elapsed
            );
        }
        ["export", dir, n, out] => {
            let log = AuditLog::open(&PathBuf::from(dir), config())?;
            let n: u64 = n.parse()?;
            let started = Instant::now();
            for i in 0..n {
                log.append(decision(i))?;
            }
            log.sync()?;
            let summary = log.export(&PathBuf::from(out))?;
            println!(
                "{} entries written and exported in {:.1} s",
                summary.entries,
                started.elapsed().as_secs_f64()
            );
        }
        _ => {
            eprintln!("usage: audit-load append DIR THREADS SECONDS | export DIR N OUT");
            std::process::exit(2);
        }
    }
    Ok(())
}
