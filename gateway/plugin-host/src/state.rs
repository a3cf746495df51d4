//! The data of one plugin call's `Store`: the plugin's grants, the memory cap, what the call
//! logged and spent, and a WASI context that grants nothing.
//!
//! A store lives for exactly one call. The WASI context is built lazily, on the first WASI
//! call the guest makes, so plugins that never touch WASI (the common case) do not pay for
//! it on the hot path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_providers::{AiRouter, Usage};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::kv::KvStore;
use crate::manifest::{AiCapability, Limits};

/// Bytes of a plugin's stderr kept per call (panic messages land here). A plugin that writes
/// more traps.
pub(crate) const STDERR_CAPACITY: usize = 8 * 1024;
/// Log lines kept per call for the caller (the manifest's `limits.max_log_lines` bounds how
/// many the plugin may write).
pub(crate) const MAX_LOG_LINES: usize = 64;
/// Longest kept (and traced) log message.
pub(crate) const MAX_LOG_LINE_BYTES: usize = 2048;
/// AI completions one call may make.
pub(crate) const MAX_AI_CALLS_PER_CALL: u32 = 8;

/// Everything a plugin is granted, shared by all its calls.
pub(crate) struct Grants {
    pub(crate) plugin_id: String,
    pub(crate) ai: Option<AiCapability>,
    pub(crate) kv: Option<Arc<dyn KvStore>>,
    pub(crate) config_json: String,
    /// The providers and routes the `ai` import asks.
    pub(crate) ai_router: Arc<AiRouter>,
    /// The operator's redaction patterns.
    pub(crate) redaction: Arc<deskbridge_core::redact::RedactionRules>,
    /// The knowledge bases the `knowledge` import searches, if the manifest grants it.
    pub(crate) knowledge: Option<Arc<dyn deskbridge_core::KnowledgeSearch>>,
    /// The manifest's limits (imports check theirs on every call).
    pub(crate) limits: Limits,
}

/// One `knowledge.search` a plugin made.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KnowledgeLookup {
    /// Bytes of the query (the query itself is customer text and is not kept).
    pub query_bytes: usize,
    /// Ids of the articles returned, best first.
    pub results: Vec<String>,
    /// Why the search failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An import the plugin used beyond its manifest's limits; the call fails with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportViolation {
    /// The import, e.g. `log`.
    pub(crate) import: &'static str,
    /// The manifest key, e.g. `limits.max_log_lines`.
    pub(crate) limit: &'static str,
    /// The limit's value.
    pub(crate) value: u64,
}

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: &'static str,
    /// The text, truncated to 2 KiB.
    pub message: String,
    /// Structured fields, as the plugin gave them (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<(String, String)>,
}

/// One AI completion a plugin made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AiCall {
    /// Provider name.
    pub provider: String,
    /// Model that answered.
    pub model: String,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Answer tokens.
    pub output_tokens: u32,
    /// Time the provider took, in microseconds.
    pub elapsed_us: u64,
    /// The error, if the call failed.
    pub error: Option<String>,
    /// The kind of failure (`rate-limited`, `budget-exhausted`, …), if the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    /// Personal values the host took out of this call's prompts (new ones only: a value
    /// already redacted earlier in the same plugin call keeps its placeholder).
    pub redacted: deskbridge_core::redact::RedactionSummary,
}

impl AiCall {
    pub(crate) fn new(provider: &str, model: &str, usage: Usage, elapsed: Duration) -> AiCall {
        AiCall {
            provider: provider.to_owned(),
            model: model.to_owned(),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            elapsed_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            error: None,
            error_kind: None,
            redacted: Default::default(),
        }
    }
}

/// Caps linear memory (and table) growth for one call and remembers whether the cap was hit,
/// so the resulting trap can be reported as a memory overrun. The cap holds for the call as a
/// whole: every memory of the component (a component may define several) counts against the
/// same budget, from its creation (wasmtime reports a new memory as growing from zero).
pub(crate) struct MemoryCap {
    pub(crate) max_bytes: usize,
    /// Bytes of linear memory granted so far in this call, all memories together.
    pub(crate) used_bytes: usize,
    pub(crate) hit: bool,
}

impl MemoryCap {
    pub(crate) fn new(max_bytes: usize) -> MemoryCap {
        MemoryCap {
            max_bytes,
            used_bytes: 0,
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let total = self.used_bytes.saturating_add(growth);
        if total > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        self.used_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The store data of one call.
pub(crate) struct CallState {
    pub(crate) grants: Arc<Grants>,
    pub(crate) memory: MemoryCap,
    pub(crate) logs: Vec<LogLine>,
    /// Lines and bytes the `log` import took in this call.
    pub(crate) logged_lines: usize,
    pub(crate) logged_bytes: usize,
    /// The import limit the plugin broke, if it did (the call then fails with it).
    pub(crate) violation: Option<ImportViolation>,
    pub(crate) ai_calls: Vec<AiCall>,
    /// The `knowledge.search` calls made.
    pub(crate) knowledge: Vec<KnowledgeLookup>,
    /// Id → (title, URL) of every document those searches returned: what drafts may cite,
    /// and how the approver sees it (at most searches × results entries).
    pub(crate) found: std::collections::HashMap<String, (String, Option<String>)>,
    /// An AI call failed or is still in flight: a resulting failure is the provider's, not
    /// the plugin's.
    pub(crate) ai_trouble: bool,
    /// The placeholders of this call's prompts (see [`deskbridge_core::redact`]).
    pub(crate) redactor: deskbridge_core::redact::Redactor,
    /// The helpdesk whose ticket the call handles (routes and allowed providers).
    pub(crate) helpdesk: Option<String>,
    /// When AI calls must have finished: shortly before the call's wall-clock limit, so the
    /// plugin can still fail gracefully.
    pub(crate) deadline: Instant,
    table: ResourceTable,
    wasi: Option<WasiCtx>,
    stderr: Option<MemoryOutputPipe>,
}

impl CallState {
    pub(crate) fn new(
        grants: Arc<Grants>,
        memory_bytes: usize,
        helpdesk: Option<String>,
        deadline: Instant,
    ) -> CallState {
        let redactor = deskbridge_core::redact::Redactor::with_rules(Arc::clone(&grants.redaction));
        CallState {
            grants,
            memory: MemoryCap::new(memory_bytes),
            logs: Vec::new(),
            logged_lines: 0,
            logged_bytes: 0,
            violation: None,
            ai_calls: Vec::new(),
            knowledge: Vec::new(),
            found: std::collections::HashMap::new(),
            ai_trouble: false,
            redactor,
            helpdesk,
            deadline,
            table: ResourceTable::new(),
            wasi: None,
            stderr: None,
        }
    }

    /// What the guest wrote to stderr, if it touched WASI at all.
    pub(crate) fn stderr_text(&self) -> String {
        self.stderr
            .as_ref()
            .map(|p| String::from_utf8_lossy(&p.contents()).into_owned())
            .unwrap_or_default()
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let stderr = &mut self.stderr;
        let ctx = self.wasi.get_or_insert_with(|| {
            let pipe = MemoryOutputPipe::new(STDERR_CAPACITY);
            *stderr = Some(pipe.clone());
            deny_all_wasi(pipe)
        });
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

/// A WASI context that grants nothing: no files, no environment, no arguments, no network,
/// a clock frozen at the Unix epoch, stdout discarded and stderr captured for panics.
fn deny_all_wasi(stderr: MemoryOutputPipe) -> WasiCtx {
    WasiCtx::builder()
        .stdout(std::io::empty())
        .stderr(stderr)
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

/// A clock that always reads zero: plugins get no ambient time.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_cap_counts_every_memory_of_the_call() {
        const MIB: usize = 1 << 20;
        let mut cap = MemoryCap::new(4 * MIB);
        // Two memories created with 1 MiB each, then each grown by 1 MiB: 4 MiB in all.
        assert!(cap.memory_growing(0, MIB, None).expect("create a"));
        assert!(cap.memory_growing(0, MIB, None).expect("create b"));
        assert!(cap.memory_growing(MIB, 2 * MIB, None).expect("grow a"));
        assert!(cap.memory_growing(MIB, 2 * MIB, None).expect("grow b"));
        assert!(!cap.hit);
        // Either one growing further breaks the call's cap, though each is below it alone.
        assert!(
            !cap.memory_growing(2 * MIB, 3 * MIB, None)
                .expect("grow a again")
        );
        assert!(cap.hit);
        assert_eq!(cap.used_bytes, 4 * MIB);
    }
}
