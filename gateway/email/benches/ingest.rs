//! Ingest of a full mailbox: 10,000 messages in a real Dovecot (`tests/support/dovecot.rs`)
//! read by the gateway's mailbox reader — fetch over IMAP, parse, thread and record in a sled
//! store, the event made durable through the pipeline's ingest, the message flagged on the
//! server — timed until the last one is flagged; peak memory is this process's VmHWM.
//!
//! Run (as root, with dovecot-imapd installed): `cargo bench -p deskbridge-email --bench ingest`

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_email::Limits;
use deskbridge_email::filing::Mailbox;
use deskbridge_email::imap::Settle;
use deskbridge_email::reader::{ReaderSettings, run};
use deskbridge_pipeline::{Helpdesks, Pipeline, PipelineSettings};
use deskbridge_store::{SledStore, Store};
use support::dovecot::Dovecot;

const MESSAGES: u32 = 10_000;

fn message(n: u32) -> String {
    format!(
        "From: Customer {n} <customer{n}@example.com>\r\nTo: support@acme.test\r\nSubject: Order {n} has not arrived\r\nMessage-ID: <bench{n}@example.com>\r\nDate: Fri, 04 Dec 2026 10:15:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nmy order {n} was due on Monday and has not arrived. Could you check where it is?\r\n\r\nThanks,\r\nCustomer {n}\r\n-- \r\nSent from my phone\r\n"
    )
}

fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let dovecot = Dovecot::start();
    // Mail written straight into the Maildir: what 10,000 deliveries leave behind.
    let maildir = dovecot.maildir();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    for n in 0..MESSAGES {
        std::fs::write(
            maildir.join("new").join(format!("{n}.bench:2,")),
            message(n),
        )
        .expect("message");
    }
    dovecot.chown_mail();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let pipeline = {
        let _entered = runtime.enter();
        Pipeline::start(store.clone(), Helpdesks::new(), PipelineSettings::default())
            .expect("pipeline")
    };
    let settings = ReaderSettings {
        imap: dovecot.imap_settings(Settle::Flag("$Deskbridge".into())),
        mailbox: Mailbox {
            helpdesk: "mail".into(),
            address: "support@acme.test".into(),
            own_addresses: vec!["support@acme.test".into()],
            limits: Limits::default(),
        },
        poll: Duration::from_secs(5),
        new_tickets_per_sender_per_hour: 20,
        // The messages are in the mailbox before the reader starts.
        read_existing: true,
    };
    let before_kib = peak_memory_kib();
    let started = Instant::now();
    runtime.spawn(run(settings, store.clone(), pipeline.ingest().clone()));
    // The last message is filed, then flagged once durable.
    loop {
        let filed = store
            .mail_cursor("mail")
            .expect("cursor")
            .map_or(0, |c| c.last_uid);
        if filed >= MESSAGES {
            let flagged = dovecot.flagged("$Deskbridge");
            if flagged as u32 >= MESSAGES {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "ingest stalled at {filed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = store.stats().expect("stats");
    println!(
        "ingested {MESSAGES} messages in {elapsed:.1} s: {:.0} messages/s; peak memory {} MiB (before reading {} MiB); events stored {}",
        f64::from(MESSAGES) / elapsed,
        peak_memory_kib() / 1024,
        before_kib / 1024,
        stats.pending_events + stats.processed_events + stats.failed_events,
    );
}
