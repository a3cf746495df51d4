//! Processes and HTTP for the end-to-end tests: a simulator, a gateway, a tiny HTTP/1.1
//! client, and polling helpers. Every process's output is kept and printed when a test fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

pub(crate) const ZENDESK_SECRET: &str = "zendesk-signing-secret";
pub(crate) const GENERIC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub(crate) const FRESHDESK_USER: &str = "deskbridge";
pub(crate) const FRESHDESK_PASSWORD: &str = "hook-password-for-the-tests";

/// A child process whose output is collected; killed (SIGKILL) on drop.
pub(crate) struct Process {
    child: Child,
    pub(crate) address: String,
    output: Arc<Mutex<Vec<String>>>,
    name: &'static str,
    /// A gateway's admin API token.
    pub(crate) token: Option<String>,
}

impl Process {
    fn spawn(name: &'static str, command: &mut Command, announce: &str) -> Process {
        let mut child = command
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    output.lock().expect("lock").push(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = loop {
            let found = output.lock().expect("lock").iter().find_map(|line| {
                line.split(announce)
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    // A JSON log line: the address ends where the message's string does.
                    .and_then(|word| word.split('"').next())
                    .map(str::to_owned)
            });
            if let Some(address) = found {
                break address;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{name} exited with {status} before listening:\n{}",
                    output.lock().expect("lock").join("\n")
                );
            }
            assert!(Instant::now() < deadline, "{name} did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Process {
            child,
            address,
            output,
            name,
            token: None,
        }
    }

    /// SIGTERM, and wait for the process to finish its shutdown.
    pub(crate) fn stop(&mut self) {
        // The shell's built-in `kill`: no procps needed on the test machine.
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -TERM {}", self.child.id()))
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(
                Instant::now() < deadline,
                "{} did not stop on SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash would.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn log(&self) -> String {
        self.output.lock().expect("lock").join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("----- {} output -----\n{}", self.name, self.log());
        }
    }
}

pub(crate) fn deskbridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deskbridge"))
}

/// Starts `deskbridge sim VENDOR`.
pub(crate) fn start_sim(vendor: &str) -> Process {
    Process::spawn(
        "simulator",
        deskbridge().args([
            "sim",
            vendor,
            "--listen",
            "127.0.0.1:0",
            "--token",
            "sim-token",
        ]),
        "listening on http://",
    )
}

/// The key the AI simulators accept in the end-to-end tests.
pub(crate) const AI_KEY: &str = "sim-key-0123456789";

/// Starts `deskbridge sim openai|anthropic` serving `models`.
pub(crate) fn start_ai_sim(vendor: &str, models: &[&str]) -> Process {
    let mut command = deskbridge();
    command.args([
        "sim",
        vendor,
        "--listen",
        "127.0.0.1:0",
        "--api-key",
        AI_KEY,
    ]);
    for model in models {
        command.args(["--model", model]);
    }
    Process::spawn("AI simulator", &mut command, "listening on http://")
}

/// What an AI simulator received, oldest first.
pub(crate) fn ai_requests(sim: &Process) -> Vec<Value> {
    let log = get_json(&sim.address, "/_sim/requests");
    log.as_array()
        .cloned()
        .or_else(|| log["requests"].as_array().cloned())
        .unwrap_or_default()
}

/// A gateway's config and data directory, and an admin token for its API.
pub(crate) struct GatewayFiles {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) admin_token: String,
}

impl GatewayFiles {
    /// Writes a config with `helpdesks` (TOML tables) and test-friendly retry settings.
    pub(crate) fn new(helpdesks: &str) -> GatewayFiles {
        GatewayFiles::with_retries("base_backoff_ms = 100\nmax_backoff_ms = 1000", helpdesks)
    }

    /// Like [`GatewayFiles::new`], with `retries` (lines of the `[pipeline]` table) instead of
    /// the test-friendly retry settings.
    pub(crate) fn with_retries(retries: &str, helpdesks: &str) -> GatewayFiles {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = format!(
            r#"listen = "127.0.0.1:0"
data_dir = "data"

[ingest]
max_body_bytes = 8192

[pipeline]
workers = 2
{retries}

{helpdesks}
"#
        );
        std::fs::write(dir.path().join("deskbridge.toml"), config).expect("write config");
        let config = dir.path().join("deskbridge.toml");
        let admin_token = create_token(&config, "e2e admin", "admin,reviewer");
        GatewayFiles { dir, admin_token }
    }

    /// A token for `name` with `roles` (comma-separated); call before `start`.
    pub(crate) fn token(&self, name: &str, roles: &str) -> String {
        create_token(&self.config(), name, roles)
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join("deskbridge.toml")
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn start(&self) -> Process {
        self.start_with_log_filter("info,actix_server=warn")
    }

    /// Starts the gateway with `RUST_LOG=filter`.
    pub(crate) fn start_with_log_filter(&self, filter: &str) -> Process {
        let mut gateway = Process::spawn(
            "gateway",
            deskbridge()
                .arg("serve")
                .arg("--config")
                .arg(self.config())
                .env("RUST_LOG", filter),
            "listening on http://",
        );
        gateway.token = Some(self.admin_token.clone());
        gateway
    }
}

/// `deskbridge demo` on a free port; its address is the console's host and port.
pub(crate) fn start_demo() -> Process {
    let mut demo = Process::spawn(
        "demo",
        deskbridge()
            .args(["demo", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info,actix_server=warn"),
        "Console:",
    );
    demo.address = demo
        .address
        .trim_start_matches("http://")
        .trim_end_matches("/console/")
        .to_owned();
    wait_for(10, "the demo token", || demo.log().contains("Demo token:"));
    demo.token = demo.log().lines().find_map(|line| {
        line.split("Demo token:")
            .nth(1)
            .map(|rest| rest.trim().to_owned())
    });
    demo
}

/// The child's process id.
impl Process {
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }
}

/// A Zendesk helpdesk table pointing at `sim`.
pub(crate) fn zendesk_helpdesk(name: &str, sim: &Process, extra: &str) -> String {
    format!(
        r#"[helpdesks.{name}]
kind = "zendesk"
base_url = "http://{}"
email = "agent@example.com"
api_token = "sim-token"
webhook_secret = "{ZENDESK_SECRET}"
request_timeout_ms = 1000
{extra}
"#,
        sim.address
    )
}

/// An HTTP answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: String,
    /// The status line and headers.
    pub(crate) head: String,
}

impl Answer {
    /// The value of header `name`, if the answer has it.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        header_value(&self.head, name)
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub(crate) fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may answer (413) and close before reading a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    Answer {
        status,
        content_type: header_value(head, "content-type").unwrap_or_default(),
        body: body.to_owned(),
        head: head.to_owned(),
    }
}

fn header_value(head: &str, wanted: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case(wanted)
            .then(|| value.trim().to_owned())
    })
}

/// `deskbridge token create` on the gateway of `config`; returns the token.
pub(crate) fn create_token(config: &Path, name: &str, roles: &str) -> String {
    let output = deskbridge()
        .args([
            "token", "create", "--name", name, "--role", roles, "--config",
        ])
        .arg(config)
        .output()
        .expect("deskbridge token create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `GET path` on the gateway's API with its admin token; asserts `200`.
pub(crate) fn api_get(gateway: &Process, path: &str) -> Value {
    let token = gateway
        .token
        .as_deref()
        .expect("a gateway started from GatewayFiles");
    let bearer = format!("Bearer {token}");
    let answer = http(
        &gateway.address,
        "GET",
        path,
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    answer.json()
}

pub(crate) fn get_json(address: &str, path: &str) -> Value {
    let answer = http(address, "GET", path, &[], b"");
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    answer.json()
}

pub(crate) fn post_json(address: &str, method: &str, path: &str, body: &Value) -> Answer {
    let bytes = serde_json::to_vec(body).expect("json");
    http(
        address,
        method,
        path,
        &[("Content-Type", "application/json")],
        &bytes,
    )
}

/// `method path` with a JSON body on the gateway's API as the holder of `token`.
pub(crate) fn api_send(
    gateway: &Process,
    token: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> Answer {
    let bytes = serde_json::to_vec(body).expect("json");
    let bearer = format!("Bearer {token}");
    http(
        &gateway.address,
        method,
        path,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &bearer),
        ],
        &bytes,
    )
}

/// Points the Zendesk simulator's webhooks (event subscriptions) at helpdesk `acme`.
pub(crate) fn point_zendesk_webhooks(sim: &Process, gateway: &Process) {
    let answer = post_json(
        &sim.address,
        "PUT",
        "/_sim/webhook",
        &serde_json::json!({"url": format!("http://{}/webhooks/zendesk/acme", gateway.address), "secret": ZENDESK_SECRET}),
    );
    assert_eq!(answer.status, 204, "{}", answer.body);
}

/// The event id the gateway acknowledged for the simulator's first fired webhook.
pub(crate) fn first_acked_event_id(sim: &Process) -> String {
    let fired = get_json(&sim.address, "/_sim/webhooks");
    let ack: Value =
        serde_json::from_str(fired[0]["response"].as_str().expect("response")).expect("ack json");
    ack["event_id"].as_str().expect("event id").to_owned()
}

/// Adds simulator faults (`POST /_sim/faults`).
pub(crate) fn inject_faults(sim: &Process, faults: Value) {
    let answer = post_json(&sim.address, "POST", "/_sim/faults", &faults);
    assert_eq!(answer.status, 204, "{}", answer.body);
}

/// The public comments on a simulated Zendesk ticket, oldest first.
pub(crate) fn public_comments(sim: &Process, ticket: u64) -> Vec<String> {
    get_json(&sim.address, &format!("/_sim/tickets/{ticket}"))["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter(|c| c["public"] == true)
        .map(|c| c["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub(crate) fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Posts a Zendesk webhook signed with `secret` at `timestamp`.
pub(crate) fn post_zendesk(
    gateway: &str,
    path: &str,
    body: &[u8],
    secret: &str,
    timestamp: &str,
    invocation: Option<&str>,
) -> Answer {
    let signature = deskbridge_webhook_auth::zendesk::sign(secret, timestamp, body);
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("X-Zendesk-Webhook-Signature", signature.as_str()),
        ("X-Zendesk-Webhook-Signature-Timestamp", timestamp),
    ];
    if let Some(invocation) = invocation {
        headers.push(("X-Zendesk-Webhook-Invocation-Id", invocation));
    }
    http(gateway, "POST", path, &headers, body)
}

/// Polls until `check` holds, or fails after `seconds`.
pub(crate) fn wait_for(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Creates a ticket in a simulator (fires its webhook if one is set); returns its id.
pub(crate) fn create_ticket(sim: &Process, subject: &str, body: &str) -> u64 {
    let answer = post_json(
        &sim.address,
        "POST",
        "/_sim/tickets",
        &serde_json::json!({
            "subject": subject,
            "body": body,
            "requester_name": "Ann Example",
            "requester_email": "ann@example.com",
        }),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["ticket_id"].as_u64().expect("ticket id")
}

/// The requester adds a message to a simulator's ticket (fires its webhook if one is set).
pub(crate) fn customer_writes(sim: &Process, ticket: u64, body: &str) {
    let answer = post_json(
        &sim.address,
        "POST",
        &format!("/_sim/tickets/{ticket}/messages"),
        &serde_json::json!({"author": "customer", "body": body}),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
}

/// The ticket's internal notes, as the simulator holds them.
pub(crate) fn internal_notes(sim: &Process, ticket: u64) -> Vec<String> {
    get_json(&sim.address, &format!("/_sim/tickets/{ticket}"))["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter(|c| c["public"] == false)
        .map(|c| c["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The gateway's record counts.
pub(crate) fn status(gateway: &Process) -> Value {
    api_get(gateway, "/api/v1/status")
}

/// Events the gateway has stored in any state.
pub(crate) fn stored_events(gateway: &Process) -> u64 {
    let s = status(gateway);
    ["pending_events", "processed_events", "failed_events"]
        .iter()
        .map(|k| s[k].as_u64().unwrap_or(0))
        .sum()
}

/// Waits until every stored event is processed and the outbox is empty.
pub(crate) fn wait_idle(gateway: &Process, seconds: u64) {
    wait_for(seconds, "the pipeline and outbox to drain", || {
        let s = status(gateway);
        s["pending_events"] == 0 && s["outbox_pending"] == 0
    });
}

/// Opens the store of a stopped gateway.
pub(crate) fn open_store(data_dir: &Path) -> deskbridge_store::SledStore {
    deskbridge_store::SledStore::open(data_dir).expect("open the stopped gateway's store")
}

/// The open drafts of `ticket`.
pub(crate) fn open_drafts(
    gateway: &Process,
    token: &str,
    ticket: impl std::fmt::Display,
) -> Vec<Value> {
    let answer = api_send(
        gateway,
        token,
        "GET",
        &format!("/api/v1/drafts?ticket={ticket}"),
        &json!(null),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json().as_array().cloned().unwrap_or_default()
}

/// Draft `id` as the API shows it.
pub(crate) fn draft_detail(gateway: &Process, token: &str, id: &str) -> Value {
    let answer = api_send(
        gateway,
        token,
        "GET",
        &format!("/api/v1/drafts/{id}"),
        &json!(null),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// The state of draft `id`.
pub(crate) fn draft_state(gateway: &Process, token: &str, id: &str) -> String {
    draft_detail(gateway, token, id)["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A decision on draft `id`.
pub(crate) fn decide(gateway: &Process, token: &str, id: &str, body: Value) -> Answer {
    api_send(
        gateway,
        token,
        "POST",
        &format!("/api/v1/drafts/{id}/decisions"),
        &body,
    )
}

/// Approves draft `id` as is, on `version`.
pub(crate) fn approve(gateway: &Process, token: &str, id: &str, version: u64) -> Answer {
    decide(
        gateway,
        token,
        id,
        json!({"version": version, "decision": "approve"}),
    )
}

/// Waits for the first open draft of `ticket`; its id.
pub(crate) fn first_draft(gateway: &Process, token: &str, ticket: u64) -> String {
    wait_for(30, "a draft for the ticket", || {
        !open_drafts(gateway, token, ticket).is_empty()
    });
    open_drafts(gateway, token, ticket)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// The approval log's entries as the gateway wrote them (`DATA_DIR/audit/entries.jsonl`),
/// each the `entry` object of its line.
pub(crate) fn audit_entries(files: &GatewayFiles) -> Vec<Value> {
    let path = files.data_dir().join("audit").join("entries.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("json line")["entry"].clone())
        .collect()
}

/// The entries of `kind`.
pub(crate) fn audit_entries_of(files: &GatewayFiles, kind: &str) -> Vec<Value> {
    audit_entries(files)
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}
