//! `deskbridge-load ai`: what the gateway adds to an AI call when thousands are in flight.
//!
//! It starts `deskbridge sim openai` (a separate process, answering every request after
//! `--latency-ms`) and sends completions at `--rate` a second, open loop, so `rate × latency`
//! are in flight at once (10,000 at the defaults). `--mode gateway` calls the way the gateway
//! does: a redactor takes personal data out of the prompt, the `AiRouter` walks a one-step
//! route, the provider's guard (bulkhead, pacing, breaker) admits it and the OpenAI adapter
//! sends it; the answer is restored. `--mode raw` sends the same request with a bare `reqwest`
//! client: the baseline. A warm-up of one latency period opens the connections first; then,
//! for `--seconds`, every call's time minus the simulator's latency is its overhead (p50, p99,
//! max), with the calls completed per second, the most in flight, this process's CPU time per
//! call and its peak resident memory (`VmHWM`). The gateway's own overhead is the difference
//! between the two modes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use deskbridge_core::redact::Redactor;
use deskbridge_providers::{
    AiRouter, ChatMessage, ChatRole, CompletionRequest, GuardSettings, OpenAiFlavor,
    OpenAiProvider, OpenAiSettings, RouteScope, Routes, Target,
};
use serde_json::json;

const KEY: &str = "bench-key-0123456789";
const MODEL: &str = "gpt-4o-mini";

/// `deskbridge-load ai`'s options.
#[derive(clap::Args)]
pub(crate) struct AiArgs {
    /// The binary with `sim openai` (`target/release/deskbridge`).
    #[arg(long)]
    sim_bin: String,
    /// `gateway` (redactor, router, guard, adapter) or `raw` (a bare HTTP client).
    #[arg(long, default_value = "gateway")]
    mode: String,
    /// Calls started per second.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// How long the simulator takes to answer.
    #[arg(long, default_value_t = 2_000)]
    latency_ms: u64,
    /// Seconds measured after the warm-up.
    #[arg(long, default_value_t = 6)]
    seconds: u64,
}

enum Caller {
    Raw {
        client: reqwest::Client,
        url: String,
        body: String,
    },
    Gateway {
        router: AiRouter,
        chain: Vec<Target>,
    },
}

/// A support thread of the size suggest-reply sends (about 1.2 KB), with personal data.
fn prompt() -> Vec<ChatMessage> {
    vec![
        ChatMessage {
            role: ChatRole::System,
            content: "You draft a reply to a customer-support ticket for a human agent to review \
                      before anything is sent. Reply to the customer's newest message; be friendly \
                      and concise. After the reply, add CONFIDENCE and RATIONALE lines."
                .into(),
        },
        ChatMessage {
            role: ChatRole::User,
            content: "Subject: Broken kettle\nCustomer name: Ada Lovelace\nCustomer: Hello, my \
                      kettle (order 48213) arrived with a cracked lid. I paid by card and would \
                      like a replacement rather than a refund. You can reach me at \
                      ada@example.org or +44 20 7946 0958 in the afternoons.\nAgent: Sorry to \
                      hear that, could you send a photo of the lid?\nCustomer: Done, I attached \
                      two photos. The box was fine, so it probably left the warehouse like this. \
                      When can I expect the new one?"
                .into(),
        },
    ]
}

impl Caller {
    async fn call(&self) -> Result<(), String> {
        match self {
            Caller::Raw { client, url, body } => {
                let response = client
                    .post(url)
                    .bearer_auth(KEY)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let bytes = response.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() || bytes.is_empty() {
                    return Err(format!("HTTP {status}"));
                }
                Ok(())
            }
            Caller::Gateway { router, chain } => {
                let mut redactor = Redactor::new();
                let messages = prompt()
                    .into_iter()
                    .map(|m| ChatMessage {
                        content: redactor.redact(&m.content),
                        ..m
                    })
                    .collect();
                let request = CompletionRequest {
                    model: None,
                    messages,
                    max_tokens: 200,
                };
                let scope = RouteScope {
                    plugin: "suggest-reply",
                    helpdesk: Some("bench"),
                };
                let deadline = Instant::now() + Duration::from_secs(30);
                let routed = router
                    .complete(scope, chain, request, deadline)
                    .await
                    .map_err(|e| e.to_string())?;
                let _answer = redactor.restore(&routed.answered.completion.text);
                Ok(())
            }
        }
    }
}

/// This process's peak resident memory (`VmHWM`), KiB.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts calls at `rate` a second for `length`; each call's time is kept when `keep`.
async fn open_loop(
    caller: Arc<Caller>,
    rate: u64,
    length: Duration,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
) -> (Vec<Duration>, usize) {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut n: u64 = 0;
    while started.elapsed() < length {
        let due = started + interval.mul_f64(n as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        n += 1;
        let (caller, in_flight, peak) = (caller.clone(), in_flight.clone(), peak.clone());
        tasks.push(tokio::spawn(async move {
            let now = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            peak.fetch_max(now, Ordering::Relaxed);
            let call_started = Instant::now();
            let result = caller.call().await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            result.map(|()| call_started.elapsed())
        }));
    }
    let mut times = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(time)) => times.push(time),
            _ => errors += 1,
        }
    }
    (times, errors)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn run(args: &AiArgs) -> anyhow::Result<()> {
    let latency = Duration::from_millis(args.latency_ms);
    let (_sim, address) = crate::spawn(std::process::Command::new(&args.sim_bin).args([
        "sim",
        "openai",
        "--listen",
        "127.0.0.1:0",
        "--api-key",
        KEY,
        "--model",
        MODEL,
        "--latency-ms",
        &args.latency_ms.to_string(),
    ]))?;
    deskbridge_connectors::install_tls_provider();
    let base = format!("http://{address}");
    let caller = match args.mode.as_str() {
        "raw" => Caller::Raw {
            client: reqwest::Client::builder()
                .build()
                .context("building the client")?,
            url: format!("{base}/v1/chat/completions"),
            body: json!({
                "model": MODEL,
                "messages": prompt().iter().map(|m| json!({
                    "role": if m.role == ChatRole::System { "system" } else { "user" },
                    "content": m.content,
                })).collect::<Vec<_>>(),
                "max_tokens": 200,
            })
            .to_string(),
        },
        "gateway" => {
            let provider = OpenAiProvider::new(OpenAiSettings {
                name: "sim".into(),
                base_url: base.clone(),
                api_key: Some(KEY.into()),
                flavor: OpenAiFlavor::Standard,
                models: vec![MODEL.into()],
                max_completion_tokens: false,
            })?;
            let guard = GuardSettings {
                max_concurrent: 50_000,
                ..GuardSettings::default()
            };
            Caller::Gateway {
                router: AiRouter::new(vec![(Arc::new(provider), guard)], Routes::default())?,
                chain: vec![Target::parse("sim").map_err(anyhow::Error::msg)?],
            }
        }
        other => bail!("--mode is gateway or raw, not {other:?}"),
    };
    let caller = Arc::new(caller);
    // Two threads, as the gateway's pipeline runtime has.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pid = std::process::id();
    runtime.block_on(async {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        // Warm-up: the connections are opened once.
        let (_, warm_errors) = open_loop(
            caller.clone(),
            args.rate,
            latency,
            in_flight.clone(),
            peak.clone(),
        )
        .await;
        peak.store(0, Ordering::Relaxed);
        let cpu_before = crate::cpu_seconds(pid).unwrap_or_default();
        let started = Instant::now();
        let (mut times, errors) = open_loop(
            caller.clone(),
            args.rate,
            Duration::from_secs(args.seconds),
            in_flight.clone(),
            peak.clone(),
        )
        .await;
        let wall = started.elapsed();
        let cpu = crate::cpu_seconds(pid).unwrap_or_default() - cpu_before;
        times.sort_unstable();
        let overhead: Vec<Duration> = times.iter().map(|t| t.saturating_sub(latency)).collect();
        let calls = times.len();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "mode": args.mode,
                "rate_per_s": args.rate,
                "latency_ms": args.latency_ms,
                "calls": calls,
                "errors": errors,
                "warm_up_errors": warm_errors,
                "peak_in_flight": peak.load(Ordering::Relaxed),
                "completed_per_s": (calls as f64 / wall.as_secs_f64()).round(),
                "overhead_p50_us": percentile(&overhead, 0.50).as_micros(),
                "overhead_p99_us": percentile(&overhead, 0.99).as_micros(),
                "overhead_max_us": overhead.last().copied().unwrap_or_default().as_micros(),
                "cpu_us_per_call": if calls > 0 { (cpu * 1e6 / calls as f64).round() } else { 0.0 },
                "peak_rss_mib": peak_rss_kib().map(|k| k / 1024),
            }))?
        );
        anyhow::Ok(())
    })
}
