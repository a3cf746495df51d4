//! The approval log end to end: append, reopen, export, verify offline, tamper, erase.

use std::path::Path;
use std::time::Duration;

use deskbridge_audit::log::files;
use deskbridge_audit::merkle;
use deskbridge_audit::{
    AuditConfig, AuditLog, NewEntry, VerifyError, verify_export, verify_export_against,
};

fn config(every: u64) -> AuditConfig {
    AuditConfig {
        origin: "deskbridge.test/approval-log".into(),
        checkpoint_every: every,
        checkpoint_interval: Duration::from_secs(3600),
    }
}

fn decision(i: u64) -> NewEntry {
    let mut entry = NewEntry {
        kind: "draft.decided".into(),
        at_ms: 1_700_000_000_000 + i as i64,
        ..NewEntry::default()
    };
    entry
        .data
        .insert("draft_id".into(), format!("d-{i}").into());
    entry.data.insert("decision".into(), "approve".into());
    entry.data.insert("role".into(), "agent".into());
    entry
        .personal
        .insert("approver".into(), format!("Agent Number {i}"));
    entry
}

fn log_with(dir: &Path, n: u64, every: u64) -> AuditLog {
    let log = AuditLog::open(dir, config(every)).expect("open");
    for i in 0..n {
        log.append(decision(i)).expect("append");
    }
    log.sync().expect("sync");
    log
}

#[test]
fn an_export_verifies_offline_with_only_the_public_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(&dir.path().join("log"), 25, 10);
    let out = dir.path().join("export");
    let summary = log.export(&out).expect("export");
    assert_eq!(summary.entries, 25);
    assert!(
        !out.join(files::SIGNING_KEY).exists(),
        "the secret stays behind"
    );
    let key = log.verifier().to_key_string();
    let verified = verify_export(&out, Some(&key)).expect("verifies");
    assert_eq!(verified.entries, 25);
    assert_eq!(verified.checkpoints, 3, "at 10, 20 and the export's 25");
    assert_eq!(verified.root, summary.root);
    assert_eq!(verified.personal_values, 25);
    // Another log's key does not vouch for this export.
    let other = AuditLog::open(&dir.path().join("other"), config(10)).expect("open");
    let err = verify_export(&out, Some(&other.verifier().to_key_string())).expect_err("wrong key");
    assert!(err.to_string().contains(files::CHECKPOINTS), "{err}");
}

fn line_of(text: &[u8], at: usize) -> u64 {
    text[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

fn assert_every_flip_is_caught(out: &Path, key: &str, file: &'static str) {
    let path = out.join(file);
    let original = std::fs::read(&path).expect("read");
    for at in 0..original.len() {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).expect("write");
        match verify_export(out, Some(key)) {
            Ok(_) => panic!("{file}: flipping byte {at} went unnoticed"),
            Err(VerifyError::Bad {
                file: named, line, ..
            }) => {
                // A flip in the last newline of a line may be reported on that line or the
                // next one it now runs into; anything else names the byte's own line.
                let expected = line_of(&original, at);
                assert!(
                    named == file
                        && (line == expected || (original[at] == b'\n' && line == expected + 1)),
                    "{file}: byte {at} (line {expected}) reported as {named} line {line}"
                );
            }
            Err(VerifyError::Unreadable { path: named, .. }) => {
                // Invalid UTF-8 after the flip: the file itself is named.
                assert!(named.ends_with(file), "{named:?}");
            }
            Err(other) => panic!("{file}: byte {at}: {other}"),
        }
    }
    std::fs::write(&path, &original).expect("restore");
    verify_export(out, Some(key)).expect("restored export verifies");
}

#[test]
fn flipping_any_byte_of_an_entry_checkpoint_or_personal_value_is_caught_and_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(&dir.path().join("log"), 4, 2);
    let out = dir.path().join("export");
    log.export(&out).expect("export");
    let key = log.verifier().to_key_string();
    assert_every_flip_is_caught(&out, &key, files::ENTRIES);
    assert_every_flip_is_caught(&out, &key, files::CHECKPOINTS);
    assert_every_flip_is_caught(&out, &key, files::PERSONAL);
}

#[test]
fn removing_or_reordering_entries_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(&dir.path().join("log"), 6, 3);
    let out = dir.path().join("export");
    log.export(&out).expect("export");
    let key = log.verifier().to_key_string();
    let path = out.join(files::ENTRIES);
    let original = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = original.lines().collect();

    let truncated: String = lines[..5].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, truncated).expect("write");
    let err = verify_export(&out, Some(&key)).expect_err("last entry removed");
    assert!(err.to_string().contains("missing"), "{err}");

    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    std::fs::write(
        &path,
        swapped.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("write");
    let err = verify_export(&out, Some(&key)).expect_err("reordered");
    assert!(
        matches!(
            err,
            VerifyError::Bad {
                file: files::ENTRIES,
                line: 2,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn erasing_personal_data_keeps_the_log_verifiable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(&dir.path().join("log"), 5, 100);
    assert_eq!(log.erase_personal(2).expect("erase"), 1);
    log.append(decision(5)).expect("append after erasure");
    let out = dir.path().join("export");
    log.export(&out).expect("export");
    let personal = std::fs::read_to_string(out.join(files::PERSONAL)).expect("read");
    assert!(!personal.contains("Agent Number 2"), "{personal}");
    let verified = verify_export(&out, None).expect("verifies");
    assert_eq!((verified.personal_values, verified.erased_values), (5, 1));

    // A person's request: every value naming them goes, also inside a list of names.
    let mut delivered = decision(6);
    delivered.personal.insert(
        "approved_by".into(),
        "Agent Number 3, Agent Number 4".into(),
    );
    log.append(delivered).expect("append");
    assert_eq!(log.erase_person("Agent Number 3").expect("erase"), 2);
    assert_eq!(log.erase_person("Agent Number 3").expect("again"), 0);
    let out = dir.path().join("export-2");
    log.export(&out).expect("export");
    let personal = std::fs::read_to_string(out.join(files::PERSONAL)).expect("read");
    assert!(!personal.contains("Agent Number 3"), "{personal}");
    assert!(personal.contains("Agent Number 4\""), "{personal}");
    let verified = verify_export(&out, None).expect("verifies");
    assert_eq!((verified.personal_values, verified.erased_values), (5, 3));
}

#[test]
fn the_log_survives_reopening_and_grows_consistently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    let (old_size, old_root, key) = {
        let log = log_with(&path, 7, 100);
        let checkpoint = log.checkpoint().expect("checkpoint").expect("grown");
        (
            checkpoint.size,
            checkpoint.root,
            log.verifier().to_key_string(),
        )
    };
    // A torn append (never synced, never acknowledged) is dropped at open.
    let entries = path.join(files::ENTRIES);
    let mut bytes = std::fs::read(&entries).expect("read");
    bytes.extend_from_slice(b"{\"entry\":{\"at_ms\":1,\"comm");
    std::fs::write(&entries, bytes).expect("write");

    let log = AuditLog::open(&path, config(100)).expect("reopen");
    assert_eq!(log.size(), 7);
    assert_eq!(
        log.verifier().to_key_string(),
        key,
        "same key after restart"
    );
    for i in 7..12 {
        log.append(decision(i)).expect("append");
    }
    let checkpoint = log.checkpoint().expect("checkpoint").expect("grown");
    assert_eq!(checkpoint.size, 12);
    let proof = log.consistency_proof(old_size, 12).expect("proof");
    assert!(merkle::verify_consistency(
        old_size,
        12,
        &old_root,
        &checkpoint.root,
        &proof
    ));
    let inclusion = log.inclusion_proof(3, 12).expect("proof");
    let line = std::fs::read_to_string(&entries).expect("read");
    let fourth = line.lines().nth(3).expect("line");
    let leaf_hex = serde_json::from_str::<serde_json::Value>(fourth).expect("json")["leaf"]
        .as_str()
        .map(str::to_owned)
        .expect("leaf");
    let leaf: merkle::Hash = hex_to_hash(&leaf_hex);
    assert!(merkle::verify_inclusion(
        3,
        12,
        &leaf,
        &inclusion,
        &checkpoint.root
    ));
    assert!(log.inclusion_proof(12, 12).is_err());
    let out = dir.path().join("export");
    log.export(&out).expect("export");
    assert_eq!(
        verify_export(&out, Some(&key)).expect("verifies").entries,
        12
    );
}

fn hex_to_hash(text: &str) -> merkle::Hash {
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex");
    }
    hash
}

#[test]
fn a_tampered_log_refuses_to_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    drop(log_with(&path, 3, 100));
    let entries = path.join(files::ENTRIES);
    let text = std::fs::read_to_string(&entries).expect("read");
    std::fs::write(&entries, text.replacen("approve", "rejects", 1)).expect("write");
    let err = AuditLog::open(&path, config(100)).expect_err("tampered");
    assert!(err.to_string().contains("entries.jsonl line 1"), "{err}");
}

#[test]
fn concurrent_appenders_share_syncs_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    let log = std::sync::Arc::new(AuditLog::open(&path, config(50)).expect("open"));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    log.append_durable(decision(t * 1000 + i)).expect("append");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    drop(log);
    let log = AuditLog::open(&path, config(50)).expect("reopen");
    assert_eq!(log.size(), 200);
}

/// A log under the same signing key as the one in `original` (what an operator who holds the
/// key can build), with `n` entries starting at decision `from`.
fn forged_log(original: &Path, dir: &Path, from: u64, n: u64) -> AuditLog {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::copy(
        original.join(files::SIGNING_KEY),
        dir.join(files::SIGNING_KEY),
    )
    .expect("copy the key");
    let log = AuditLog::open(dir, config(1000)).expect("open");
    for i in from..from + n {
        log.append(decision(i)).expect("append");
    }
    log.checkpoint().expect("checkpoint");
    log
}

#[test]
fn a_checkpoint_kept_elsewhere_catches_a_log_cut_short_or_rewritten_under_its_own_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = dir.path().join("log");
    let log = log_with(&original, 20, 1000);
    log.checkpoint().expect("checkpoint");
    // What an operator ships to another system: the newest signed checkpoint.
    let (_, witnessed) = log.latest_checkpoint().expect("a checkpoint");
    let key = log.verifier().to_key_string();
    let out = dir.path().join("export");
    log.export(&out).expect("export");
    let verified =
        verify_export_against(&out, Some(&key), std::slice::from_ref(&witnessed)).expect("honest");
    assert_eq!(verified.entries, 20);
    // The log grows: an older witnessed checkpoint still agrees with the longer export.
    for i in 20..25 {
        log.append(decision(i)).expect("append");
    }
    log.checkpoint().expect("checkpoint");
    let longer = dir.path().join("longer");
    log.export(&longer).expect("export");
    verify_export_against(&longer, Some(&key), std::slice::from_ref(&witnessed))
        .expect("a prefix of the witnessed log");

    // Cut short: ten entries, re-signed with the log's own key. Its own checkpoints verify.
    let cut = forged_log(&original, &dir.path().join("cut"), 0, 10);
    let cut_out = dir.path().join("cut-export");
    cut.export(&cut_out).expect("export");
    verify_export(&cut_out, Some(&key)).expect("self-consistent");
    let err = verify_export_against(&cut_out, Some(&key), std::slice::from_ref(&witnessed))
        .expect_err("cut short");
    assert!(
        matches!(&err, VerifyError::Witness { reason, .. } if reason.contains("cut short")),
        "{err}"
    );

    // Rewritten: as many entries, one of them different, re-signed.
    let rewritten = forged_log(&original, &dir.path().join("rewritten"), 1, 20);
    let rewritten_out = dir.path().join("rewritten-export");
    rewritten.export(&rewritten_out).expect("export");
    verify_export(&rewritten_out, Some(&key)).expect("self-consistent");
    let err = verify_export_against(&rewritten_out, Some(&key), std::slice::from_ref(&witnessed))
        .expect_err("rewritten");
    assert!(
        matches!(&err, VerifyError::Witness { reason, .. } if reason.contains("rewritten")),
        "{err}"
    );

    // A checkpoint of another log, or not signed by this key, is refused as a witness.
    let other = AuditLog::open(&dir.path().join("other"), config(1000)).expect("open");
    other.append(decision(0)).expect("append");
    other.checkpoint().expect("checkpoint");
    let (_, foreign) = other.latest_checkpoint().expect("checkpoint");
    let err = verify_export_against(&out, Some(&key), &[foreign]).expect_err("foreign");
    assert!(matches!(err, VerifyError::Witness { .. }), "{err}");
}

#[test]
fn entries_of_a_kind_are_read_back_from_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(dir.path(), 3, 1000);
    let mut other = decision(9);
    other.kind = "reply.delivered".into();
    log.append(other).expect("append");
    let found = log.entries_of_kind("reply.delivered").expect("read");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].index, 3);
    assert_eq!(log.entries_of_kind("draft.decided").expect("read").len(), 3);
    assert!(log.entries_of_kind("nothing").expect("read").is_empty());
}

#[test]
fn a_search_pages_matches_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(dir.path(), 7, 1000);
    let odd = |e: &deskbridge_audit::Entry| e.index % 2 == 1;
    let (page, total) = log.search(odd, 0, 2).expect("search");
    assert_eq!(total, 3);
    assert_eq!(page.iter().map(|e| e.index).collect::<Vec<_>>(), [5, 3]);
    let (page, total) = log.search(odd, 2, 2).expect("search");
    assert_eq!(total, 3);
    assert_eq!(page.iter().map(|e| e.index).collect::<Vec<_>>(), [1]);
    let (page, _) = log.search(|_| true, 10, 5).expect("search");
    assert!(page.is_empty());
    assert_eq!(log.entry(4).expect("read").map(|e| e.index), Some(4));
    assert_eq!(log.entry(70).expect("read"), None);
}
