//! The approval log through the real binary: every start records its configuration and
//! plugins, every stop their unloading and a final checkpoint; `deskbridge audit export`
//! and `deskbridge audit verify` work offline on the result and name a tampered line; and
//! the inclusion and consistency proofs the API serves verify against signed checkpoints.

use std::process::Command;

use deskbridge_audit::merkle::{verify_consistency, verify_inclusion};
use deskbridge_audit::note::{Checkpoint, NoteVerifier};

use crate::harness::{GatewayFiles, api_get, api_send};

fn deskbridge(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .args(args)
        .output()
        .expect("run deskbridge");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `deskbridge audit export --config … --out OUT`; its stdout.
fn export(files: &GatewayFiles, out: &std::path::Path) -> String {
    let (ok, stdout, stderr) = deskbridge(&[
        "audit".as_ref(),
        "export".as_ref(),
        "--config".as_ref(),
        files.config().as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    stdout
}

#[test]
fn each_start_is_logged_and_the_export_verifies_until_a_byte_changes() {
    let files = GatewayFiles::new("");
    for _ in 0..2 {
        let mut gateway = files.start();
        gateway.stop();
    }
    let out = files.dir.path().join("export");
    let stdout = export(&files, &out);
    // The test's admin token, then per run: config.loaded and four plugin.loaded, then four
    // plugin.unloaded.
    assert!(stdout.contains("exported 19 entries"), "{stdout}");

    let entries = std::fs::read_to_string(out.join("entries.jsonl")).expect("entries");
    let kinds: Vec<String> = entries
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json");
            deskbridge_schema::Schema::AuditEntry
                .validate(&value)
                .expect("the line matches schemas/audit-entry.schema.json");
            value["entry"]["kind"].as_str().expect("kind").to_owned()
        })
        .collect();
    assert_eq!(kinds[0], "token.created");
    assert_eq!(kinds[1], "config.loaded");
    assert_eq!(kinds[2..6], ["plugin.loaded"; 4]);
    assert_eq!(kinds[6..10], ["plugin.unloaded"; 4]);
    assert!(!entries.contains("e2e admin"), "names stay out of the tree");
    assert!(entries.contains("\"wasm_sha256\":\""), "{entries}");

    let key = files.data_dir().join("audit").join("log.pub");
    let verify = || {
        deskbridge(&[
            "audit".as_ref(),
            "verify".as_ref(),
            out.as_os_str(),
            "--pubkey".as_ref(),
            key.as_os_str(),
        ])
    };
    let (ok, stdout, stderr) = verify();
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("ok: 19 entries"), "{stdout}");

    // One changed character in the fifth entry's plugin hash.
    let line = entries.lines().nth(4).expect("fifth line");
    let at = line.find("wasm_sha256\":\"").expect("hash") + 14;
    let mut changed = line.to_owned();
    changed.replace_range(at..at + 1, if &line[at..at + 1] == "0" { "1" } else { "0" });
    std::fs::write(
        out.join("entries.jsonl"),
        entries.replacen(line, &changed, 1),
    )
    .expect("write");
    let (ok, _, stderr) = verify();
    assert!(!ok);
    assert!(stderr.contains("entries.jsonl line 5"), "{stderr}");
    std::fs::write(out.join("entries.jsonl"), &entries).expect("restore");

    // The first checkpoint claims one entry more than it signed.
    let checkpoints = std::fs::read_to_string(out.join("checkpoints.jsonl")).expect("read");
    let (first, rest) = checkpoints.split_once('\n').expect("a checkpoint");
    let mut line: serde_json::Value = serde_json::from_str(first).expect("json");
    let note = line["note"].as_str().expect("note").to_owned();
    let mut parts: Vec<String> = note.split('\n').map(str::to_owned).collect();
    let size: u64 = parts[1].parse().expect("size");
    parts[1] = (size + 1).to_string();
    line["note"] = parts.join("\n").into();
    std::fs::write(out.join("checkpoints.jsonl"), format!("{line}\n{rest}")).expect("write");
    let (ok, _, stderr) = verify();
    assert!(!ok);
    assert!(stderr.contains("checkpoints.jsonl line 1"), "{stderr}");
}

fn hash(hex_text: &serde_json::Value) -> [u8; 32] {
    let bytes = hex::decode(hex_text.as_str().expect("hex string")).expect("hex");
    bytes.try_into().expect("32 bytes")
}

fn hashes(list: &serde_json::Value) -> Vec<[u8; 32]> {
    list.as_array().expect("array").iter().map(hash).collect()
}

/// The newest checkpoint over the API, its signature checked with the key on disk.
fn signed_checkpoint(gateway: &crate::harness::Process, key: &str) -> Checkpoint {
    let view = api_get(gateway, "/api/v1/audit/checkpoint");
    assert_eq!(view["public_key"], key.trim(), "{view}");
    let verifier = NoteVerifier::parse(key.trim()).expect("key");
    let checkpoint =
        Checkpoint::open(view["checkpoint"].as_str().expect("note"), &verifier).expect("signed");
    assert_eq!(view["size"], checkpoint.size);
    assert_eq!(hash(&view["root_hash"]), checkpoint.root);
    checkpoint
}

#[test]
fn api_proofs_verify_against_signed_checkpoints_across_restarts() {
    let files = GatewayFiles::new("[audit]\ncheckpoint_every = 2\n");
    let mut gateway = files.start();
    let key = std::fs::read_to_string(files.data_dir().join("audit").join("log.pub"))
        .expect("public key");
    let first = signed_checkpoint(&gateway, &key);
    assert!(first.size >= 2, "{}", first.size);

    // Every entry is included, with the leaf the log file names.
    let leaves: Vec<String> = std::fs::read_to_string(files.data_dir().join("audit/entries.jsonl"))
        .expect("entries")
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json");
            value["leaf"].as_str().expect("leaf").to_owned()
        })
        .collect();
    for index in 0..first.size {
        let proof = api_get(
            &gateway,
            &format!("/api/v1/audit/proofs/inclusion?index={index}"),
        );
        assert_eq!(proof["leaf_hash"], leaves[index as usize].as_str());
        assert!(verify_inclusion(
            index,
            first.size,
            &hash(&proof["leaf_hash"]),
            &hashes(&proof["proof"]),
            &first.root
        ));
        // A proof for another leaf does not pass as this one's.
        assert!(
            first.size < 2
                || !verify_inclusion(
                    (index + 1) % first.size,
                    first.size,
                    &hash(&proof["leaf_hash"]),
                    &hashes(&proof["proof"]),
                    &first.root
                )
        );
    }
    let beyond = api_send(
        &gateway,
        &files.admin_token,
        "GET",
        &format!("/api/v1/audit/proofs/inclusion?index={}&size=1", first.size),
        &serde_json::json!(null),
    );
    assert_eq!(beyond.status, 422, "{}", beyond.body);

    // The log survives a restart and keeps growing consistently.
    gateway.stop();
    let gateway = files.start();
    let second = signed_checkpoint(&gateway, &key);
    assert!(second.size > first.size, "{} > {}", second.size, first.size);
    let proof = api_get(
        &gateway,
        &format!("/api/v1/audit/proofs/consistency?from={}", first.size),
    );
    assert_eq!(proof["to"], second.size);
    assert!(verify_consistency(
        first.size,
        second.size,
        &first.root,
        &second.root,
        &hashes(&proof["proof"])
    ));
    let mut altered = first.root;
    altered[0] ^= 1;
    assert!(!verify_consistency(
        first.size,
        second.size,
        &altered,
        &second.root,
        &hashes(&proof["proof"])
    ));
}

#[test]
fn a_persons_data_is_erased_on_request_and_the_log_still_verifies() {
    let files = GatewayFiles::new("");
    let agent = files.token("Ann Agent", "agent");
    let mut gateway = files.start();
    let body = serde_json::json!({"person": "Ann Agent"});
    let refused = api_send(&gateway, &agent, "POST", "/api/v1/audit/erasures", &body);
    assert_eq!(refused.status, 403, "only admins erase");
    let both = api_send(
        &gateway,
        &files.admin_token,
        "POST",
        "/api/v1/audit/erasures",
        &serde_json::json!({"person": "Ann Agent", "index": 0}),
    );
    assert_eq!(both.status, 422, "{}", both.body);
    let answer = api_send(
        &gateway,
        &files.admin_token,
        "POST",
        "/api/v1/audit/erasures",
        &body,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["erased"],
        1,
        "the token.created entry's person"
    );

    // Offline, the CLI refuses while the gateway holds the data directory.
    let erase = |person: &str| {
        deskbridge(&[
            "audit".as_ref(),
            "erase".as_ref(),
            "--person".as_ref(),
            person.as_ref(),
            "--config".as_ref(),
            files.config().as_os_str(),
        ])
    };
    let (ok, _, stderr) = erase("e2e admin");
    assert!(!ok, "refused while the gateway runs");
    assert!(stderr.contains("stop it"), "{stderr}");
    gateway.stop();
    let (ok, stdout, stderr) = erase("e2e admin");
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("erased"), "{stdout}");

    let out = files.dir.path().join("export");
    export(&files, &out);
    let personal = std::fs::read_to_string(out.join("personal.jsonl")).expect("personal");
    assert!(!personal.contains("Ann Agent"), "{personal}");
    assert!(!personal.contains("\"e2e admin\""), "{personal}");
    let entries = std::fs::read_to_string(out.join("entries.jsonl")).expect("entries");
    assert_eq!(entries.matches("\"personal.erased\"").count(), 2);
    let (ok, stdout, stderr) = deskbridge(&["audit".as_ref(), "verify".as_ref(), out.as_os_str()]);
    assert!(ok, "{stdout}{stderr}");
    assert!(!stdout.contains(" 0 erased"), "{stdout}");
}

/// `deskbridge audit checkpoint --config … --out OUT`; its stdout.
fn keep_checkpoint(files: &GatewayFiles, out: &std::path::Path) -> String {
    let (ok, stdout, stderr) = deskbridge(&[
        "audit".as_ref(),
        "checkpoint".as_ref(),
        "--config".as_ref(),
        files.config().as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    stdout
}

#[test]
fn a_checkpoint_kept_elsewhere_exposes_a_log_cut_short_and_re_signed() {
    let files = GatewayFiles::new("");
    // Two starts and stops: each adds entries and a final checkpoint.
    for _ in 0..2 {
        let mut gateway = files.start();
        gateway.stop();
    }
    let kept = files.dir.path().join("witness-checkpoint.txt");
    let printed = keep_checkpoint(&files, &kept);
    assert!(
        printed.contains("checkpoint of deskbridge.local/approval-log at size"),
        "{printed}"
    );
    let out = files.dir.path().join("export");
    export(&files, &out);
    let key = files.data_dir().join("audit").join("log.pub");
    let verify = |dir: &std::path::Path| {
        deskbridge(&[
            "audit".as_ref(),
            "verify".as_ref(),
            dir.as_os_str(),
            "--pubkey".as_ref(),
            key.as_os_str(),
            "--checkpoint".as_ref(),
            kept.as_os_str(),
        ])
    };
    let (ok, stdout, stderr) = verify(&out);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("agrees with 1 checkpoint(s) kept elsewhere"),
        "{stdout}"
    );

    // Someone with the log's key cuts the log back to its first start and re-signs it: the
    // export verifies on its own, but not against the checkpoint kept elsewhere.
    let audit_dir = files.data_dir().join("audit");
    let entries = std::fs::read_to_string(audit_dir.join("entries.jsonl")).expect("entries");
    let first_start: Vec<&str> = entries.lines().take(3).collect();
    std::fs::write(
        audit_dir.join("entries.jsonl"),
        format!("{}\n", first_start.join("\n")),
    )
    .expect("cut");
    std::fs::write(audit_dir.join("checkpoints.jsonl"), "").expect("drop checkpoints");
    std::fs::write(audit_dir.join("personal.jsonl"), "").expect("drop personal data");
    {
        // Reopening under the same key and signing anew.
        let log =
            deskbridge_audit::AuditLog::open(&audit_dir, deskbridge_audit::AuditConfig::default())
                .expect("reopen the cut log");
        log.checkpoint().expect("re-sign");
    }
    let forged = files.dir.path().join("forged-export");
    export(&files, &forged);
    let (ok, stdout, stderr) = deskbridge(&[
        "audit".as_ref(),
        "verify".as_ref(),
        forged.as_os_str(),
        "--pubkey".as_ref(),
        key.as_os_str(),
    ]);
    assert!(ok, "the forgery is self-consistent: {stdout}{stderr}");
    let (ok, stdout, stderr) = verify(&forged);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("cut short"), "{stderr}");
}
