//! The real `deskbridge` binary: `plugin run` on first-party and hostile plugins, `serve`
//! answering `/healthz`, and `config check`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use deskbridge_tests::{fixtures_dir, guests};
use serde_json::Value;

fn deskbridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deskbridge"))
}

fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

/// Writes a first-party plugin's component and manifest into `dir`.
fn bundled_plugin(dir: &Path, id: &str) -> (PathBuf, PathBuf) {
    let plugin = deskbridge_bundled_plugins::get(id).expect("bundled plugin");
    let wasm = dir.join(format!("{id}.wasm"));
    let manifest = dir.join("plugin.toml");
    std::fs::write(&wasm, plugin.wasm).expect("write wasm");
    std::fs::write(&manifest, plugin.manifest).expect("write manifest");
    (wasm, manifest)
}

fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("deskbridge runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

#[test]
fn plugin_run_prints_actions_fuel_and_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, _manifest) = bundled_plugin(dir.path(), "summarize");
    let (output, stdout, stderr) = run(deskbridge()
        .args(["plugin", "run"])
        .arg(&wasm)
        .arg("--event")
        .arg(fixture("ticket-created.json"))
        .args(["--repeat", "5"]));
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["plugin"], "summarize");
    assert_eq!(report["actions"][0]["type"], "internal_note");
    assert!(report["fuel_consumed"].as_u64().expect("fuel") > 0);
    assert!(report["elapsed_us"].as_u64().is_some());
    assert!(report["per_call_us"].as_u64().expect("median") > 0);
    assert_eq!(report["repeat"], 5);
    assert_eq!(report["wasm_sha256"].as_str().expect("hash").len(), 64);
}

#[test]
fn plugin_run_searches_a_knowledge_folder_and_shows_the_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, _manifest) = bundled_plugin(dir.path(), "suggest-reply");
    let kb = dir.path().join("kb");
    std::fs::create_dir_all(&kb).expect("mkdir");
    std::fs::write(
        kb.join("broken-items.md"),
        "# Broken kettles\nIf a kettle arrives broken we send a replacement kettle free of charge.",
    )
    .expect("write");
    let (output, stdout, stderr) = run(deskbridge()
        .args(["plugin", "run"])
        .arg(&wasm)
        .arg("--event")
        .arg(fixture("ticket-created.json"))
        .arg("--knowledge")
        .arg(&kb));
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let draft = &report["actions"][0];
    assert_eq!(draft["sources"][0]["id"], "md:broken-items.md", "{report}");
    assert_eq!(draft["sources"][0]["title"], "Broken kettles");
    assert_eq!(
        report["knowledge"][0]["results"][0], "md:broken-items.md",
        "{report}"
    );
    // Without the folder there is no knowledge base: the draft says it found nothing.
    let (output, stdout, stderr) = run(deskbridge()
        .args(["plugin", "run"])
        .arg(&wasm)
        .arg("--event")
        .arg(fixture("ticket-created.json")));
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let rationale = report["actions"][0]["rationale"]
        .as_str()
        .unwrap_or_default();
    assert!(rationale.starts_with("No matching article"), "{report}");
}

#[test]
fn plugin_run_reviews_drafts_for_policy_plugins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, manifest) = bundled_plugin(dir.path(), "approval-policy");
    let (output, stdout, stderr) = run(deskbridge()
        .args(["plugin", "run"])
        .arg(&wasm)
        .arg("--manifest")
        .arg(&manifest)
        .arg("--event")
        .arg(fixture("refund-with-injection.json"))
        .arg("--draft")
        .arg(fixture("draft.json")));
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["verdict"]["decision"]["role"], "supervisor");
    assert_eq!(report["verdict"]["flags"][1]["code"], "prompt-injection");
}

#[test]
fn plugin_run_checks_and_applies_the_plugin_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, manifest) = bundled_plugin(dir.path(), "approval-policy");
    let config = dir.path().join("config.json");
    let review = |config_text: &str| {
        std::fs::write(&config, config_text).expect("write config");
        run(deskbridge()
            .args(["plugin", "run"])
            .arg(&wasm)
            .arg("--manifest")
            .arg(&manifest)
            .arg("--config")
            .arg(&config)
            .arg("--event")
            .arg(fixture("ticket-created.json"))
            .arg("--draft")
            .arg(fixture("draft.json")))
    };
    let (output, stdout, stderr) =
        review(r#"{"approvers": 3, "sensitive_topics": {"x": ["zzz"]}}"#);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["verdict"]["decision"]["approvers"], 3);
    assert_eq!(report["verdict"]["decision"]["role"], "agent");

    let (output, _, stderr) = review(r#"{"approvers": "three"}"#);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("field `approvers`"), "{stderr}");
}

#[test]
fn plugin_run_names_the_limit_that_stopped_a_plugin() {
    let (output, stdout, stderr) = run(deskbridge()
        .args([
            "plugin",
            "run",
            guests::INFINITE_LOOP.wasm,
            "--manifest",
            guests::INFINITE_LOOP.manifest,
        ])
        .arg("--event")
        .arg(fixture("ticket-created.json")));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("exceeded its deadline of 200 ms (limits.wall_clock_ms)"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).expect("JSON error report");
    assert!(
        report["error"]
            .as_str()
            .expect("error")
            .contains("deadline")
    );
    assert!(report["fuel_consumed"].as_u64().expect("fuel") > 0);
}

#[test]
fn plugin_run_refuses_undeclared_capabilities_and_bad_events() {
    let (output, _, stderr) = run(deskbridge()
        .args([
            "plugin",
            "run",
            guests::UNDECLARED_KV.wasm,
            "--manifest",
            guests::UNDECLARED_KV.manifest,
        ])
        .arg("--event")
        .arg(fixture("ticket-created.json")));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("does not declare `capabilities.kv`"),
        "{stderr}"
    );

    let (output, _, stderr) = run(deskbridge()
        .args([
            "plugin",
            "run",
            guests::NOOP.wasm,
            "--manifest",
            guests::NOOP.manifest,
        ])
        .arg("--event")
        .arg(fixture("invalid-event.json")));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("field `ticket.messages[0].author_role`"),
        "{stderr}"
    );
}

#[test]
fn plugin_check_reports_how_imports_are_treated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wasm, manifest) = bundled_plugin(dir.path(), "summarize");
    let (output, stdout, stderr) = run(deskbridge()
        .args(["plugin", "check"])
        .arg(&manifest)
        .arg("--wasm")
        .arg(&wasm));
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let imports = report["imports"].as_array().expect("imports");
    assert!(
        imports
            .iter()
            .any(|i| i["name"] == "deskbridge:plugin/ai@0.2.0" && i["treatment"] == "granted")
    );
    // The summary reads agents' internal notes and never drafts: both visible to operators.
    assert_eq!(report["capabilities"]["internal_messages"], true);
    assert_eq!(report["capabilities"]["draft_replies"], false);
    let grants = report["grants"].to_string();
    assert!(grants.contains("sees agents' internal notes"), "{grants}");
    let (_, reply_manifest) = bundled_plugin(dir.path(), "suggest-reply");
    let (output, stdout, stderr) = run(deskbridge().args(["plugin", "check"]).arg(&reply_manifest));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("sees public messages only; internal notes are removed before each call"),
        "{stdout}"
    );
}

#[test]
fn config_check_names_bad_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:9000\"\n[plugins]\nbundled = [\"summarize\"]\n",
    )
    .expect("write");
    let (output, stdout, stderr) = run(deskbridge().args(["config", "check"]).arg(&good));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("ok"), "{stdout}");

    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deskbridge.example.toml");
    let (output, _, stderr) = run(deskbridge().args(["config", "check"]).arg(&example));
    assert!(
        output.status.success(),
        "the shipped example must stay valid: {stderr}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[plugins]\nbundeld = []\n").expect("write");
    let (output, _, stderr) = run(deskbridge().args(["config", "check"]).arg(&bad));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("plugins") && stderr.contains("bundeld"),
        "{stderr}"
    );
}

/// A running gateway and the temporary directory holding its store.
struct Gateway(
    Child,
    #[expect(dead_code, reason = "held so the store outlives the process")] tempfile::TempDir,
);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(address: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// Starts `deskbridge serve` with `args` and returns it with the address it announced.
fn start_gateway(args: &[&str]) -> (Gateway, String) {
    let data = tempfile::tempdir().expect("tempdir");
    let child = deskbridge()
        .arg("serve")
        .args(args)
        .arg("--data-dir")
        .arg(data.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut gateway = Gateway(child, data);
    let stdout = gateway.0.stdout.take().expect("stdout");
    let mut address = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            address = Some(
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
            break;
        }
    }
    let address = address.expect("the gateway announces its address");
    (gateway, address)
}

fn plugin_ids(health: &Value) -> Vec<String> {
    health["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn serve_answers_healthz_with_embedded_defaults() {
    let (_gateway, address) = start_gateway(&["--listen", "127.0.0.1:0"]);
    let (status, body) = http_get(&address, "/healthz");
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(body.trim()).expect("JSON body");
    assert_eq!(health["status"], "ok");
    let ids: Vec<&str> = health["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "summarize",
            "suggest-reply",
            "human-handover",
            "approval-policy"
        ]
    );

    let (status, body) = http_get(&address, "/nope");
    assert_eq!(status, 404);
    assert!(body.contains("no route for GET /nope"), "{body}");
}

/// Writes a `deskbridge.toml` into `dir` whose `plugins.dir` holds `guest`, with `bundled`
/// first-party plugins, and returns its path.
fn config_with_plugin_dir(
    dir: &Path,
    guest: deskbridge_tests::TestGuest,
    bundled: &str,
) -> PathBuf {
    let plugin_dir = dir.join("plugins.d").join(guest.name);
    std::fs::create_dir_all(&plugin_dir).expect("mkdir");
    std::fs::copy(guest.wasm, plugin_dir.join(format!("{}.wasm", guest.name))).expect("copy");
    std::fs::copy(guest.manifest, plugin_dir.join("plugin.toml")).expect("copy");
    let config = dir.join("deskbridge.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[plugins]\nbundled = [{bundled}]\ndir = \"plugins.d\"\n"
        ),
    )
    .expect("write config");
    config
}

#[test]
fn serve_loads_third_party_plugins_from_the_plugin_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_plugin_dir(dir.path(), guests::WELL_BEHAVED, "\"human-handover\"");
    let (_gateway, address) = start_gateway(&["--config", config.to_str().expect("utf-8 path")]);
    let (status, body) = http_get(&address, "/healthz");
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(body.trim()).expect("JSON body");
    assert_eq!(plugin_ids(&health), ["human-handover", "well-behaved"]);
}

#[test]
fn serve_refuses_to_start_with_a_plugin_that_imports_undeclared_capabilities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_plugin_dir(dir.path(), guests::UNDECLARED_KV, "");
    let (output, _, stderr) = run(deskbridge().arg("serve").arg("--config").arg(&config));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("does not declare `capabilities.kv`"),
        "{stderr}"
    );
}
