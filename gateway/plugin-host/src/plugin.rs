//! A loaded plugin and its calls: a fresh store and instance per call (per-ticket isolation),
//! fuel and a memory cap per store, cooperative yielding on every epoch tick, and one async
//! timeout around the whole call (AI time included). Every failure comes back as a typed
//! [`CallError`] and feeds the plugin's circuit breaker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_core::{Action, DraftReply, EventKind, OutputViolation, Ticket, Verdict};
use deskbridge_schema::ValidatedEvent;
use sha2::{Digest, Sha256};
use wasmtime::{Store, Trap};

use crate::CallScope;
use crate::breaker::{Breaker, BreakerStatus};
use crate::capabilities::ImportReport;
use crate::contract::{v0_1, v0_2};
use crate::engine::EngineHandle;
use crate::error::CallError;
use crate::manifest::Manifest;
use crate::state::{AiCall, CallState, Grants, KnowledgeLookup, LogLine};

/// A pre-instantiated component, per contract version.
pub(crate) enum ContractPre {
    V0_1(v0_1::PluginPre<CallState>),
    V0_2(v0_2::PluginPre<CallState>),
}

/// What one successful call produced and cost.
#[derive(Debug, Clone)]
pub struct CallReport<T> {
    /// The plugin's output, checked against its limits.
    pub output: T,
    /// Fuel used.
    pub fuel_consumed: u64,
    /// Wall-clock time of instantiate + call.
    pub elapsed: Duration,
    /// What the plugin logged.
    pub logs: Vec<LogLine>,
    /// AI completions it made.
    pub ai_calls: Vec<AiCall>,
    /// Knowledge searches it made.
    pub knowledge: Vec<KnowledgeLookup>,
}

/// A failed call with what it had spent when it failed.
#[derive(Debug, Clone)]
pub struct CallFailure {
    /// What went wrong.
    pub error: CallError,
    /// Fuel used before the failure.
    pub fuel_consumed: u64,
    /// Wall-clock time until the failure.
    pub elapsed: Duration,
    /// What the plugin logged.
    pub logs: Vec<LogLine>,
    /// AI completions it made.
    pub ai_calls: Vec<AiCall>,
    /// Knowledge searches it made.
    pub knowledge: Vec<KnowledgeLookup>,
    /// The plugin's stderr (panic messages), if any.
    pub stderr: String,
}

/// Operator-facing state of a plugin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginStatus {
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// SHA-256 of the component, hex.
    pub wasm_sha256: String,
    /// Whether the circuit breaker lets calls through.
    pub enabled: bool,
    /// Calls made.
    pub calls: u64,
    /// Failures that counted against the plugin.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The most recent failure.
    pub last_error: Option<String>,
}

/// A plugin ready to be called. Cheap to share behind an `Arc`.
pub struct LoadedPlugin {
    engine: EngineHandle,
    pre: ContractPre,
    manifest: Manifest,
    grants: Arc<Grants>,
    wasm_sha256: String,
    imports: Vec<ImportReport>,
    breaker: Breaker,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .field("wasm_sha256", &self.wasm_sha256)
            .finish()
    }
}

enum Outcome<T> {
    Done(Result<T, v0_1::wit::PluginError>),
    Trap(wasmtime::Error),
    Timeout,
}

impl LoadedPlugin {
    pub(crate) fn new(
        engine: EngineHandle,
        pre: ContractPre,
        manifest: Manifest,
        grants: Grants,
        wasm: &[u8],
        imports: Vec<ImportReport>,
        breaker_threshold: u32,
    ) -> LoadedPlugin {
        LoadedPlugin {
            engine,
            pre,
            manifest,
            grants: Arc::new(grants),
            wasm_sha256: hex::encode(Sha256::digest(wasm)),
            imports,
            breaker: Breaker::new(breaker_threshold),
        }
    }

    /// The plugin id.
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// SHA-256 of the component, hex: part of every draft's provenance.
    pub fn wasm_sha256(&self) -> &str {
        &self.wasm_sha256
    }

    /// How each of the component's imports is treated.
    pub fn imports(&self) -> &[ImportReport] {
        &self.imports
    }

    /// The plugin's state for operators.
    pub fn status(&self) -> PluginStatus {
        let BreakerStatus {
            calls,
            failures,
            consecutive_failures,
            disabled,
            last_error,
        } = self.breaker.status();
        PluginStatus {
            id: self.manifest.id.clone(),
            version: self.manifest.version.clone(),
            wasm_sha256: self.wasm_sha256.clone(),
            enabled: !disabled,
            calls,
            failures,
            consecutive_failures,
            last_error,
        }
    }

    /// Switches a plugin that the breaker disabled back on (an operator's decision).
    pub fn reset_breaker(&self) {
        self.breaker.reset();
    }

    /// Runs the plugin's event handler on one event, outside any helpdesk (`plugin run`, tests).
    pub async fn handle_event(
        &self,
        event: &ValidatedEvent,
    ) -> Result<CallReport<Vec<Action>>, Box<CallFailure>> {
        self.handle_event_for(event, CallScope::default()).await
    }

    /// Runs the plugin's event handler on one event of `scope`'s helpdesk: its routes and the
    /// providers it allows apply to the plugin's AI calls.
    pub async fn handle_event_for(
        &self,
        event: &ValidatedEvent,
        scope: CallScope<'_>,
    ) -> Result<CallReport<Vec<Action>>, Box<CallFailure>> {
        let kind: EventKind = event.event().kind;
        if !self.manifest.handles(kind) {
            return Err(self.refuse(CallError::NotSubscribed {
                plugin: self.manifest.id.clone(),
                event: kind.as_str().to_owned(),
            }));
        }
        let capabilities = &self.manifest.capabilities;
        let limits = self.manifest.limits.output(capabilities.draft_replies);
        let check = |mut actions: Vec<Action>, state: &CallState| {
            limits.check(&actions)?;
            // Sources are the host's word, not the plugin's: each cited id must come from a
            // search of this call, and its title and URL are taken from that search.
            if let Some((index, id)) = state.settle_sources(&mut actions) {
                return Err(OutputViolation::Malformed {
                    index,
                    kind: "draft_reply",
                    problem: format!(
                        "source `{id}` was not returned by a knowledge search of this call"
                    ),
                });
            }
            Ok(actions)
        };
        match &self.pre {
            ContractPre::V0_1(pre) => {
                let wit_event = v0_1::event_to_wit(event.event(), capabilities.internal_messages);
                self.run(scope, |mut store| async move {
                    let outcome = async {
                        let instance = pre.instantiate_async(&mut store).await?;
                        instance
                            .deskbridge_plugin_handler()
                            .call_on_event(&mut store, &wit_event)
                            .await
                    };
                    (self.bounded(outcome).await, store)
                })
                .await
                .and_then_output(
                    self,
                    |actions: Vec<v0_1::wit::Action>, state| {
                        check(
                            actions.into_iter().map(v0_1::action_from_wit).collect(),
                            state,
                        )
                    },
                )
            }
            ContractPre::V0_2(pre) => {
                let wit_event = v0_2::event_to_wit(event.event(), capabilities.internal_messages);
                self.run(scope, |mut store| async move {
                    let outcome = async {
                        let instance = pre.instantiate_async(&mut store).await?;
                        let result = instance
                            .deskbridge_plugin_handler()
                            .call_on_event(&mut store, &wit_event)
                            .await?;
                        Ok(result.map_err(v0_2::plugin_error_to_v0_1))
                    };
                    (self.bounded(outcome).await, store)
                })
                .await
                .and_then_output(
                    self,
                    |actions: Vec<v0_2::wit::Action>, state| {
                        check(
                            actions.into_iter().map(v0_2::action_from_wit).collect(),
                            state,
                        )
                    },
                )
            }
        }
    }

    /// Runs the plugin's draft review on one draft, outside any helpdesk.
    pub async fn review_draft(
        &self,
        ticket: &Ticket,
        draft: &DraftReply,
        author_plugin: &str,
    ) -> Result<CallReport<Verdict>, Box<CallFailure>> {
        self.review_draft_for(ticket, draft, author_plugin, CallScope::default())
            .await
    }

    /// Runs the plugin's draft review on one draft of `scope`'s helpdesk.
    pub async fn review_draft_for(
        &self,
        ticket: &Ticket,
        draft: &DraftReply,
        author_plugin: &str,
        scope: CallScope<'_>,
    ) -> Result<CallReport<Verdict>, Box<CallFailure>> {
        if !self.manifest.reviews_drafts() {
            return Err(self.refuse(CallError::NotSubscribed {
                plugin: self.manifest.id.clone(),
                event: "draft.review".into(),
            }));
        }
        let internal = self.manifest.capabilities.internal_messages;
        let limits = self.manifest.limits.verdict();
        let check = |verdict: Verdict| {
            limits.check(&verdict)?;
            Ok(verdict)
        };
        match &self.pre {
            ContractPre::V0_1(pre) => {
                let wit_ticket = v0_1::ticket_to_wit(ticket, internal);
                let wit_draft = v0_1::draft_to_wit(draft, author_plugin);
                self.run(scope, |mut store| async move {
                    let outcome = async {
                        let instance = pre.instantiate_async(&mut store).await?;
                        instance
                            .deskbridge_plugin_policy()
                            .call_review_draft(&mut store, &wit_ticket, &wit_draft)
                            .await
                    };
                    (self.bounded(outcome).await, store)
                })
                .await
                .and_then_output(self, |verdict, _| check(v0_1::verdict_from_wit(verdict)))
            }
            ContractPre::V0_2(pre) => {
                let wit_ticket = v0_2::ticket_to_wit(ticket, internal);
                let wit_draft = v0_2::draft_to_wit(draft, author_plugin);
                self.run(scope, |mut store| async move {
                    let outcome = async {
                        let instance = pre.instantiate_async(&mut store).await?;
                        let result = instance
                            .deskbridge_plugin_policy()
                            .call_review_draft(&mut store, &wit_ticket, &wit_draft)
                            .await?;
                        Ok(result.map_err(v0_2::plugin_error_to_v0_1))
                    };
                    (self.bounded(outcome).await, store)
                })
                .await
                .and_then_output(self, |verdict, _| check(v0_2::verdict_from_wit(verdict)))
            }
        }
    }

    fn refuse(&self, error: CallError) -> Box<CallFailure> {
        Box::new(CallFailure {
            error,
            fuel_consumed: 0,
            elapsed: Duration::ZERO,
            logs: Vec::new(),
            ai_calls: Vec::new(),
            knowledge: Vec::new(),
            stderr: String::new(),
        })
    }

    fn new_store(&self, scope: CallScope<'_>) -> Store<CallState> {
        call_store(
            &self.engine.engine,
            Arc::clone(&self.grants),
            &self.manifest.limits,
            scope,
        )
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = wasmtime::Result<Result<T, v0_1::wit::PluginError>>>,
    ) -> Outcome<T> {
        let limit = Duration::from_millis(self.manifest.limits.wall_clock_ms);
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(result)) => Outcome::Done(result),
            Ok(Err(trap)) => Outcome::Trap(trap),
            Err(_) => Outcome::Timeout,
        }
    }

    async fn run<T, F, Fut>(&self, scope: CallScope<'_>, call: F) -> RawCall<T>
    where
        F: FnOnce(Store<CallState>) -> Fut,
        Fut: std::future::Future<Output = (Outcome<T>, Store<CallState>)>,
    {
        if let Err(status) = self.breaker.check() {
            return RawCall::Refused(CallError::Disabled {
                plugin: self.manifest.id.clone(),
                failures: status.consecutive_failures,
                last_error: status.last_error.unwrap_or_default(),
            });
        }
        let started = Instant::now();
        let (outcome, store) = call(self.new_store(scope)).await;
        let elapsed = started.elapsed();
        let fuel_consumed = self
            .manifest
            .limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.into_data();
        RawCall::Ran {
            outcome,
            fuel_consumed,
            elapsed,
            state: Box::new(state),
        }
    }

    fn classify(&self, trap: &wasmtime::Error, state: &CallState) -> CallError {
        let plugin = self.manifest.id.clone();
        let limits = &self.manifest.limits;
        if let Some(violation) = &state.violation {
            return CallError::ImportLimitExceeded {
                plugin,
                import: violation.import,
                limit: violation.limit,
                value: violation.value,
            };
        }
        if state.memory.hit {
            return CallError::MemoryLimitExceeded {
                plugin,
                limit_mib: limits.memory_mib,
            };
        }
        match trap.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => {
                return CallError::FuelExhausted {
                    plugin,
                    limit: limits.fuel,
                };
            }
            Some(Trap::AllocationTooLarge) => {
                return CallError::MemoryLimitExceeded {
                    plugin,
                    limit_mib: limits.memory_mib,
                };
            }
            _ => {}
        }
        let stderr = state.stderr_text();
        if let Some(pos) = stderr.find("panicked at") {
            return CallError::Panicked {
                plugin,
                message: stderr[pos..].trim().to_owned(),
            };
        }
        let message = format!("{trap:#}");
        if trap
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            return CallError::Instantiation {
                plugin,
                reason: message,
            };
        }
        CallError::Trapped { plugin, message }
    }
}

/// The store of one call: the plugin's grants, its memory cap (all memories of the call
/// together), its fuel, and a yield to the async runtime on every epoch tick (the wall-clock
/// timeout in `bounded` can then fire even in a tight loop, and AI time inside imports never
/// traps).
fn call_store(
    engine: &wasmtime::Engine,
    grants: Arc<Grants>,
    limits: &crate::manifest::Limits,
    scope: CallScope<'_>,
) -> Store<CallState> {
    let memory_bytes = usize::try_from(limits.memory_mib << 20).unwrap_or(usize::MAX);
    // AI calls end a tenth of the wall-clock limit (at most a second) before the limit
    // `bounded` enforces around the whole call, so a plugin whose provider is too slow still
    // has time to fail gracefully rather than be cut off.
    let wall_clock = Duration::from_millis(limits.wall_clock_ms);
    let deadline = Instant::now() + wall_clock - (wall_clock / 10).min(Duration::from_secs(1));
    let state = CallState::new(
        grants,
        memory_bytes,
        scope.helpdesk.map(str::to_owned),
        deadline,
    );
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.memory);
    // Fuel is the deterministic CPU budget. `set_fuel` only fails when fuel is disabled,
    // which the engine never does.
    let _ = store.set_fuel(limits.fuel);
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    store
}

/// A call before its output is checked.
enum RawCall<T> {
    Refused(CallError),
    Ran {
        outcome: Outcome<T>,
        fuel_consumed: u64,
        elapsed: Duration,
        state: Box<CallState>,
    },
}

impl<T> RawCall<T> {
    /// Converts the raw outcome into a report or a failure, checks the output with `check`,
    /// and feeds the breaker.
    fn and_then_output<U>(
        self,
        plugin: &LoadedPlugin,
        check: impl FnOnce(T, &CallState) -> Result<U, deskbridge_core::OutputViolation>,
    ) -> Result<CallReport<U>, Box<CallFailure>> {
        let (outcome, fuel_consumed, elapsed, state) = match self {
            RawCall::Refused(error) => return Err(plugin.refuse(error)),
            RawCall::Ran {
                outcome,
                fuel_consumed,
                elapsed,
                state,
            } => (outcome, fuel_consumed, elapsed, state),
        };
        let id = || plugin.manifest.id.clone();
        let result = match outcome {
            Outcome::Timeout => Err(CallError::DeadlineExceeded {
                plugin: id(),
                limit_ms: plugin.manifest.limits.wall_clock_ms,
            }),
            Outcome::Trap(trap) => Err(plugin.classify(&trap, &state)),
            Outcome::Done(Err(e)) => Err(CallError::Reported {
                plugin: id(),
                code: e.code,
                message: e.message,
            }),
            Outcome::Done(Ok(output)) => {
                check(output, &state).map_err(|violation| CallError::Output {
                    plugin: id(),
                    violation,
                })
            }
        };
        let telemetry = deskbridge_core::telemetry::telemetry();
        let labels: [(&str, &str); 1] = [("plugin", &plugin.manifest.id)];
        telemetry.add(
            "deskbridge_plugin_fuel_total",
            &labels,
            fuel_consumed as f64,
        );
        telemetry.observe(
            "deskbridge_plugin_call_seconds",
            &labels,
            elapsed.as_secs_f64(),
        );
        telemetry.inc(
            "deskbridge_plugin_calls_total",
            &[
                ("plugin", &plugin.manifest.id),
                ("outcome", if result.is_ok() { "ok" } else { "error" }),
            ],
        );
        let stderr = state.stderr_text();
        let CallState {
            logs,
            ai_calls,
            knowledge,
            ai_trouble,
            ..
        } = *state;
        match result {
            Ok(output) => {
                plugin.breaker.record_success();
                Ok(CallReport {
                    output,
                    fuel_consumed,
                    elapsed,
                    logs,
                    ai_calls,
                    knowledge,
                })
            }
            Err(error) => {
                let message = error.to_string();
                tracing::warn!(plugin = %plugin.manifest.id, "plugin call failed: {message}");
                if plugin
                    .breaker
                    .record_failure(&message, error.counts_against_plugin(ai_trouble))
                {
                    tracing::error!(
                        plugin = %plugin.manifest.id,
                        "plugin switched off by its circuit breaker after repeated failures"
                    );
                }
                Err(Box::new(CallFailure {
                    error,
                    fuel_consumed,
                    elapsed,
                    logs,
                    ai_calls,
                    knowledge,
                    stderr,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineSettings, PluginEngine};
    use crate::manifest::Limits;
    use wasmtime::component::{Component, Linker};

    /// Two core instances, each with its own linear memory of one page and a way to grow it.
    const TWO_MEMORIES: &str = r#"
        (component
          (core module $m
            (memory (export "mem") 1)
            (func (export "grow") (param i32) (result i32)
              local.get 0
              memory.grow))
          (core instance $a (instantiate $m))
          (core instance $b (instantiate $m))
          (func (export "grow-a") (param "pages" u32) (result s32)
            (canon lift (core func $a "grow")))
          (func (export "grow-b") (param "pages" u32) (result s32)
            (canon lift (core func $b "grow"))))
    "#;

    #[tokio::test]
    async fn the_memory_cap_holds_for_the_call_not_for_each_memory() {
        let engine = PluginEngine::new(EngineSettings {
            max_instances: 4,
            ..EngineSettings::default()
        })
        .expect("engine");
        let limits = Limits {
            memory_mib: 2,
            ..Limits::default()
        };
        let grants = Arc::new(Grants {
            plugin_id: "two-memories".into(),
            ai: None,
            kv: None,
            config_json: "{}".into(),
            ai_router: Arc::new(deskbridge_providers::AiRouter::local()),
            redaction: Arc::default(),
            knowledge: None,
            limits,
        });
        let wasm = wat::parse_str(TWO_MEMORIES).expect("valid component text");
        let component = Component::new(engine.wasmtime(), &wasm).expect("compiles");
        let mut store = call_store(engine.wasmtime(), grants, &limits, CallScope::default());
        let linker: Linker<CallState> = Linker::new(engine.wasmtime());
        let instance = linker
            .instantiate_async(&mut store, &component)
            .await
            .expect("two pages fit in 2 MiB");
        let mut grow = |name: &str| {
            instance
                .get_typed_func::<(u32,), (i32,)>(&mut store, name)
                .expect("exported")
        };
        let (grow_a, grow_b) = (grow("grow-a"), grow("grow-b"));
        // 1 page + 16 pages (1 MiB) in memory a: 1.0625 MiB of the 2 MiB.
        let (before,) = grow_a.call_async(&mut store, (16,)).await.expect("runs");
        assert_eq!(before, 1, "memory a grew from one page");
        // Memory b alone would fit (1.0625 MiB) but not on top of memory a.
        let (refused,) = grow_b.call_async(&mut store, (16,)).await.expect("runs");
        assert_eq!(
            refused, -1,
            "the second memory may not take the budget again"
        );
        assert!(store.data().memory.hit);
        // What is left of the budget is still there for either memory.
        let (grew,) = grow_b.call_async(&mut store, (8,)).await.expect("runs");
        assert_eq!(grew, 1);
    }
}
