//! The approval log through the real binary: every start records its configuration and
//! plugins, every stop their unloading and a final checkpoint; `deskbridge audit export`
//! and `deskbridge audit verify` work offline on the result and name a tampered line.

use std::process::Command;

use crate::harness::GatewayFiles;

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

#[test]
fn each_start_is_logged_and_the_export_verifies_until_a_byte_changes() {
    let files = GatewayFiles::new("");
    for _ in 0..2 {
        let mut gateway = files.start();
        gateway.stop();
    }
    let out = files.dir.path().join("export");
    let (ok, stdout, stderr) = deskbridge(&[
        "audit".as_ref(),
        "export".as_ref(),
        "--config".as_ref(),
        files.config().as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{stdout}{stderr}");
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
