//! `deskbridge-load`: the load driver behind BENCHMARKS.md's ingest figures.
//!
//! `deskbridge-load run --gateway-bin target/release/deskbridge` starts an actix-web
//! hello-world server (this binary's `hello` subcommand: the ceiling of the HTTP stack on the
//! machine) and a gateway with one generic helpdesk and every first-party plugin, then
//! measures, in one run:
//!
//! 1. closed loop, for each of the `--concurrency` connection counts (default 32 and 64), for
//!    `--seconds`: acknowledged requests/s and p50/p99 latency against the hello-world
//!    endpoint, then against `POST /webhooks/generic/bench` with Standard Webhooks signatures
//!    (every `2xx` means the event is flushed to disk). The ratio it reports compares the best
//!    rate of each server over the counts (the ceiling is the hello world at its best), and
//!    it prints the ratio at each count too;
//! 2. open loop at `--rate` events/s: ack latency, and the gateway's own per-event pipeline
//!    time from ack to recorded outcome, minus AI time (`GET /api/v1/metrics`).
//!
//! In each closed-loop phase it also reads CPU time from `/proc`: per request for each server
//! and for itself, and for the gateway per thread group (HTTP workers, pipeline, inbound log,
//! sled), which shows where an event's cost goes.

mod ai;
mod knowledge;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

/// The same allocator as the gateway, for the driver and the hello-world ceiling alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// [`SECRET`] decoded, once: base64 work per request would be driver cost that the hello-world
/// phase does not pay.
fn signing_key() -> anyhow::Result<&'static [u8]> {
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    if let Some(key) = KEY.get() {
        return Ok(key);
    }
    let key = deskbridge_webhook_auth::standard::decode_secret(SECRET)?;
    Ok(KEY.get_or_init(|| key))
}

#[derive(Parser)]
#[command(
    name = "deskbridge-load",
    about = "Load driver for Deskbridge's webhook ingest"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve an actix-web hello world on POST /hello (2 workers, as the gateway).
    Hello {
        /// Address.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
    /// Run the whole benchmark.
    Run(RunArgs),
    /// What the gateway adds to AI calls with thousands in flight (see `ai.rs`).
    Ai(ai::AiArgs),
    /// Knowledge base build time and search latency (see `knowledge.rs`).
    Knowledge(knowledge::KnowledgeArgs),
}

/// `deskbridge-load run`'s options.
#[derive(clap::Args)]
struct RunArgs {
    /// The gateway binary (build it with --release).
    #[arg(long)]
    gateway_bin: String,
    /// Concurrent connections in the closed-loop phases: a comma-separated list runs both
    /// phases at each, and the ratio compares the best rate of each server.
    #[arg(long, value_delimiter = ',', default_value = "32,64")]
    concurrency: Vec<usize>,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Alternating slices a closed-loop phase is cut into (hello world, gateway, hello
    /// world, …), so the two servers meet the same host conditions.
    #[arg(long, default_value_t = 10)]
    slices: u32,
    /// Events per second in the open-loop phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Run the helpdesk without plugins (measures ingest and pipeline bookkeeping alone).
    #[arg(long)]
    no_plugins: bool,
    /// Pin the hello world and the gateway to these CPUs (`taskset -c` list, e.g. `1`);
    /// start the driver itself under `taskset -c 0` to keep it off them.
    #[arg(long)]
    server_cpus: Option<String>,
    /// The gateway's `pipeline.workers` (lanes); its default when not given.
    #[arg(long)]
    pipeline_workers: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Hello { listen } => hello(&listen),
        Cmd::Run(args) => run(&args),
        Cmd::Ai(args) => ai::run(&args),
        Cmd::Knowledge(args) => knowledge::run(&args),
    }
}

fn hello(listen: &str) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(listen)?;
    println!("hello listening on http://{}", listener.local_addr()?);
    actix_web::rt::System::new().block_on(async move {
        actix_web::HttpServer::new(|| {
            actix_web::App::new().route(
                "/hello",
                actix_web::web::post().to(|body: actix_web::web::Bytes| async move {
                    actix_web::HttpResponse::Ok()
                        .json(json!({"status": "accepted", "bytes": body.len()}))
                }),
            )
        })
        .workers(2)
        .listen(listener)?
        .run()
        .await
    })?;
    Ok(())
}

/// `program`, under `taskset -c CPUS` when the servers are pinned.
fn server_command(program: &std::ffi::OsStr, cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// A child process killed on drop.
struct Proc(Child);

/// CPU time (user + system) used so far by process `pid`, from `/proc/PID/stat`; `None` where
/// there is no procfs.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ: 100 on every Linux configuration that matters here.
    Some(ticks as f64 / 100.0)
}

/// CPU seconds used so far by each group of a process's threads, grouped by thread name (the
/// gateway names its threads: `actix-rt|…` HTTP workers, `deskbridge-pipeline`,
/// `deskbridge-log`, …). Threads that ended before the call are not counted.
fn thread_cpu_seconds(pid: u32) -> BTreeMap<String, f64> {
    let mut by_group = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_group;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("", |(_, name)| name);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        *by_group.entry(thread_group(name).to_owned()).or_default() +=
            (ticks(11) + ticks(12)) as f64 / 100.0;
    }
    by_group
}

/// The group a gateway thread is reported under.
fn thread_group(name: &str) -> &'static str {
    if name.starts_with("actix-rt") {
        "http"
    } else if name.starts_with("deskbridge-pipe") {
        "pipeline"
    } else if name.starts_with("deskbridge-log") {
        "inbound log"
    } else if name.starts_with("deskbridge-flus") || name.starts_with("sled") {
        "sled"
    } else {
        "other"
    }
}

/// CPU used by a server (in total and by thread group) and by this driver over one phase.
#[derive(Default)]
struct CpuUse {
    server_s: Option<f64>,
    driver_s: Option<f64>,
    threads_s: BTreeMap<String, f64>,
    /// Slices summed in (see [`CpuUse::add`]).
    slices: u32,
}

/// Where a measurement of [`CpuUse`] starts.
struct CpuStart {
    server_s: Option<f64>,
    driver_s: Option<f64>,
    threads_s: BTreeMap<String, f64>,
}

impl CpuUse {
    fn start(server: u32) -> CpuStart {
        CpuStart {
            server_s: cpu_seconds(server),
            driver_s: cpu_seconds(std::process::id()),
            threads_s: thread_cpu_seconds(server),
        }
    }

    fn since(start: CpuStart, server: u32) -> CpuUse {
        let delta = |before: Option<f64>, now: Option<f64>| Some(now? - before?);
        let threads_s = thread_cpu_seconds(server)
            .into_iter()
            .map(|(group, now)| {
                let before = start.threads_s.get(&group).copied().unwrap_or(0.0);
                (group, now - before)
            })
            .collect();
        CpuUse {
            server_s: delta(start.server_s, cpu_seconds(server)),
            driver_s: delta(start.driver_s, cpu_seconds(std::process::id())),
            threads_s,
            slices: 1,
        }
    }

    /// Adds the CPU of another slice of the same phase (unknown stays unknown).
    fn add(&mut self, slice: CpuUse) {
        let first = self.slices == 0;
        let sum = |total: Option<f64>, more: Option<f64>| {
            if first { more } else { Some(total? + more?) }
        };
        self.server_s = sum(self.server_s, slice.server_s);
        self.driver_s = sum(self.driver_s, slice.driver_s);
        self.slices += 1;
        for (group, seconds) in slice.threads_s {
            *self.threads_s.entry(group).or_default() += seconds;
        }
    }

    /// `http X µs, pipeline Y µs, …` per request, largest first.
    fn per_request_by_thread(&self, requests: usize) -> String {
        let mut groups: Vec<(&String, &f64)> = self.threads_s.iter().collect();
        groups.sort_by(|a, b| b.1.total_cmp(a.1));
        groups
            .iter()
            .map(|(group, s)| format!("{group} {:.0} µs", *s * 1e6 / requests.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `server X µs + driver Y µs` per request.
    fn per_request(&self, requests: usize) -> String {
        let us = |s: Option<f64>| {
            s.map_or("?".to_owned(), |s| {
                format!("{:.0} µs", s * 1e6 / requests.max(1) as f64)
            })
        };
        format!("server {}, driver {}", us(self.server_s), us(self.driver_s))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(command: &mut Command) -> anyhow::Result<(Proc, String)> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let Some(line) = lines.next() else {
            bail!("the process exited before listening");
        };
        if let Some(rest) = line?.split("listening on http://").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ok((Proc(child), address))
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let gateway_bin = args.gateway_bin.as_str();
    let concurrencies = args.concurrency.as_slice();
    let (rate, no_plugins, slices) = (args.rate, args.no_plugins, args.slices);
    let (server_cpus, pipeline_workers) = (args.server_cpus.as_deref(), args.pipeline_workers);
    let phase = Duration::from_secs(args.seconds);
    let widest = concurrencies.iter().copied().max().unwrap_or(0);
    if widest == 0 || concurrencies.contains(&0) {
        bail!("--concurrency takes one or more connection counts above zero, e.g. 32,64");
    }
    if slices == 0 {
        bail!("--slices must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let plugins = if no_plugins { "plugins = []\n" } else { "" };
    let pipeline = pipeline_workers
        .map(|n| format!("[pipeline]\nworkers = {n}\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.path().join("deskbridge.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n{pipeline}[helpdesks.bench]\nkind = \"generic\"\nwebhook_secret = \"{SECRET}\"\n{plugins}"
        ),
    )?;
    // An admin token for the gateway's operator API (status, metrics).
    let token = Command::new(gateway_bin)
        .args([
            "token",
            "create",
            "--name",
            "load driver",
            "--role",
            "admin",
            "--config",
        ])
        .arg(dir.path().join("deskbridge.toml"))
        .output()
        .context("deskbridge token create")?;
    if !token.status.success() {
        bail!(
            "deskbridge token create: {}",
            String::from_utf8_lossy(&token.stderr)
        );
    }
    let token = String::from_utf8(token.stdout)?.trim().to_owned();
    let me = std::env::current_exe()?;
    let (hello_proc, hello_addr) = spawn(server_command(me.as_os_str(), server_cpus).arg("hello"))?;
    let (gateway_proc, gateway_addr) = spawn(
        server_command(gateway_bin.as_ref(), server_cpus)
            .arg("serve")
            .arg("--config")
            .arg(dir.path().join("deskbridge.toml"))
            .env("RUST_LOG", "warn,deskbridge::serve=info")
            .env("NO_COLOR", "1"),
    )?;
    let (hello_pid, gateway_pid) = (hello_proc.0.id(), gateway_proc.0.id());
    deskbridge_connectors::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(widest)
            .timeout(Duration::from_secs(30))
            .build()?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse()?,
        );
        let api = reqwest::Client::builder().default_headers(headers).build()?;
        let hello_url = format!("http://{hello_addr}/hello");
        let gateway_url = format!("http://{gateway_addr}/webhooks/generic/bench");
        let counter = Arc::new(AtomicU64::new(0));

        println!("warming up…");
        closed_loop(&client, &hello_url, widest, Duration::from_secs(2), &counter).await?;
        closed_loop(&client, &gateway_url, widest, Duration::from_secs(2), &counter).await?;
        drain(&api, &gateway_addr).await?;

        // Each concurrency in turn, in `slices` alternating slices (hello world, gateway, then
        // wait for the gateway's pipeline to drain): a slowdown of the shared host lasting
        // seconds then hits both servers alike instead of one whole phase. Each slice counts
        // the CPU its server and the driver used.
        let slice = phase / slices;
        let mut sweep = Vec::new();
        for &concurrency in concurrencies {
            let mut point = SweepPoint::new(concurrency);
            for _ in 0..slices {
                let cpu = CpuUse::start(hello_pid);
                let hello = closed_loop(&client, &hello_url, concurrency, slice, &counter).await?;
                point.hello_cpu.add(CpuUse::since(cpu, hello_pid));
                point.hello.absorb(hello);
                let cpu = CpuUse::start(gateway_pid);
                let ingest = closed_loop(&client, &gateway_url, concurrency, slice, &counter).await?;
                point.ingest_cpu.add(CpuUse::since(cpu, gateway_pid));
                point.ingest.absorb(ingest);
                let backlog = status(&api, &gateway_addr).await?["pending_events"].as_u64().unwrap_or(0);
                point.most_pending = point.most_pending.max(backlog);
                drain(&api, &gateway_addr).await?;
            }
            sweep.push(point);
        }

        api.delete(format!("http://{gateway_addr}/api/v1/metrics")).send().await?;
        let open = open_loop(&client, &gateway_url, rate, phase, &counter).await?;
        drain(&api, &gateway_addr).await?;
        let metrics: Value = api
            .get(format!("http://{gateway_addr}/api/v1/metrics"))
            .send()
            .await?
            .json()
            .await?;
        let flushes = status(&api, &gateway_addr).await?["flushes"].as_u64().unwrap_or(0);

        println!();
        println!("| phase | connections | requests | acked/s | p50 ack | p99 ack |");
        println!("|---|---|---|---|---|---|");
        for point in &sweep {
            let c = point.concurrency;
            println!("{}", point.hello.row(&format!("actix-web hello world (closed loop) | {c}")));
            println!("{}", point.ingest.row(&format!("signed webhook, durable ack (closed loop) | {c}")));
        }
        println!("{}", open.row(&format!("signed webhook at {rate}/s (open loop) | as needed")));
        println!();
        let best = |rate: fn(&SweepPoint) -> f64| {
            sweep
                .iter()
                .map(|point| (rate(point), point.concurrency))
                .fold((0.0, 0), |best, next| if next.0 > best.0 { next } else { best })
        };
        let (hello_best, hello_at) = best(|point| point.hello.per_second());
        let (ingest_best, ingest_at) = best(|point| point.ingest.per_second());
        println!(
            "ingest / hello-world ceiling: {:.0}% (best of each: {ingest_best:.0}/s with {ingest_at} connections, hello world {hello_best:.0}/s with {hello_at})",
            100.0 * ingest_best / hello_best
        );
        for point in &sweep {
            println!(
                "with {} connections: {:.0}% of the hello world; at most {} acknowledged events waited for the pipeline at the end of a slice",
                point.concurrency,
                100.0 * point.ingest.per_second() / point.hello.per_second(),
                point.most_pending,
            );
            println!(
                "  CPU per request: hello world {}; gateway {} (its pipeline included)",
                point.hello_cpu.per_request(point.hello.latencies_us.len()),
                point.ingest_cpu.per_request(point.ingest.latencies_us.len())
            );
            println!(
                "  gateway CPU per request by thread: {}",
                point.ingest_cpu.per_request_by_thread(point.ingest.latencies_us.len())
            );
        }
        println!("flushes so far: {flushes} for {} events", counter.load(Ordering::Relaxed));
        let overhead = &metrics["overhead_excluding_ai"];
        let since_ack = &metrics["since_ack"];
        println!(
            "pipeline at {rate}/s, ack → outcome recorded: p50 {} µs, p99 {} µs; excluding AI time: p50 {} µs, p99 {} µs (n = {})",
            since_ack["p50_us"], since_ack["p99_us"], overhead["p50_us"], overhead["p99_us"], overhead["count"]
        );
        anyhow::Ok(())
    })
}

/// The closed-loop phases at one concurrency, summed over their slices.
struct SweepPoint {
    concurrency: usize,
    hello: Phase,
    hello_cpu: CpuUse,
    ingest: Phase,
    ingest_cpu: CpuUse,
    /// The most acknowledged events still waiting for the pipeline at the end of a slice.
    most_pending: u64,
}

impl SweepPoint {
    fn new(concurrency: usize) -> SweepPoint {
        SweepPoint {
            concurrency,
            hello: Phase::default(),
            hello_cpu: CpuUse::default(),
            ingest: Phase::default(),
            ingest_cpu: CpuUse::default(),
            most_pending: 0,
        }
    }
}

#[derive(Default)]
struct Phase {
    latencies_us: Vec<u64>,
    elapsed: Duration,
    errors: u64,
}

impl Phase {
    /// Adds a slice of the same phase.
    fn absorb(&mut self, slice: Phase) {
        self.latencies_us.extend(slice.latencies_us);
        self.elapsed += slice.elapsed;
        self.errors += slice.errors;
    }

    fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn row(&self, name: &str) -> String {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        let at = |q: f64| {
            if sorted.is_empty() {
                return 0;
            }
            let rank = ((sorted.len() as f64) * q).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        };
        format!(
            "| {name} | {}{} | {:.0} | {:.2} ms | {:.2} ms |",
            sorted.len(),
            if self.errors > 0 {
                format!(" ({} errors)", self.errors)
            } else {
                String::new()
            },
            self.per_second(),
            at(0.5) as f64 / 1000.0,
            at(0.99) as f64 / 1000.0
        )
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One request: a normalized event with Standard Webhooks signature headers. The hello world
/// gets the very same requests (and ignores the headers), so both phases put the same bytes
/// on the wire and cost the driver the same work: only the server's side differs.
async fn post(client: &reqwest::Client, url: &str, n: u64) -> anyhow::Result<Duration> {
    let body = serde_json::to_vec(&json!({
        "id": format!("load-{n}"),
        "kind": "ticket.created",
        "occurred_at": "2026-11-26T09:00:00Z",
        "ticket": {
            "id": format!("T-{}", n % 5000),
            "helpdesk": "bench",
            "helpdesk_kind": "generic",
            "subject": "Password reset",
            "status": "new",
            "priority": "normal",
            "tags": [],
            "requester": {"id": "c-1", "name": "Ann", "email": "ann@example.com"},
            "channel": "web",
            "messages": [{
                "id": format!("m-{n}"),
                "author_role": "customer",
                "visibility": "public",
                "body": "The password reset mail never arrives. I tried three times today. Can you help?",
                "created_at": "2026-11-26T09:00:00Z"
            }]
        }
    }))?;
    let key = signing_key()?;
    let id = format!("msg_{n}_{}", std::process::id());
    let timestamp = now_s().to_string();
    let signature = deskbridge_webhook_auth::standard::sign(key, &id, &timestamp, &body);
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp)
        .header("webhook-signature", signature);
    let started = Instant::now();
    let response = request.body(body).send().await?;
    let status = response.status();
    let _ = response.bytes().await?;
    if !status.is_success() {
        bail!("{url}: {status}");
    }
    Ok(started.elapsed())
}

async fn closed_loop(
    client: &reqwest::Client,
    url: &str,
    concurrency: usize,
    length: Duration,
    counter: &Arc<AtomicU64>,
) -> anyhow::Result<Phase> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, counter) = (client.clone(), url.to_owned(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while started.elapsed() < length {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                match post(&client, &url, n).await {
                    Ok(latency) => latencies.push(latency.as_micros() as u64),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut phase = Phase {
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
    };
    for task in tasks {
        let (latencies, errors) = task.await?;
        phase.latencies_us.extend(latencies);
        phase.errors += errors;
    }
    phase.elapsed = started.elapsed();
    Ok(phase)
}

async fn open_loop(
    client: &reqwest::Client,
    url: &str,
    rate: u64,
    length: Duration,
    counter: &Arc<AtomicU64>,
) -> anyhow::Result<Phase> {
    let started = Instant::now();
    let total = rate * length.as_secs();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, url) = (client.clone(), url.to_owned());
        let n = counter.fetch_add(1, Ordering::Relaxed);
        tasks.push(tokio::spawn(async move { post(&client, &url, n).await }));
    }
    let mut phase = Phase {
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
    };
    for task in tasks {
        match task.await? {
            Ok(latency) => phase.latencies_us.push(latency.as_micros() as u64),
            Err(_) => phase.errors += 1,
        }
    }
    phase.elapsed = started.elapsed();
    Ok(phase)
}

async fn status(client: &reqwest::Client, gateway: &str) -> anyhow::Result<Value> {
    Ok(client
        .get(format!("http://{gateway}/api/v1/status"))
        .send()
        .await?
        .json()
        .await?)
}

/// Waits until the gateway has processed everything it acknowledged.
async fn drain(client: &reqwest::Client, gateway: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let s = status(client, gateway).await?;
        if s["pending_events"] == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the gateway did not drain: {s}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
