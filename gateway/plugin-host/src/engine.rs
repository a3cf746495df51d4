//! The one wasmtime [`Engine`] of a gateway, narrowed to what Deskbridge uses (the way Spin's
//! core crate wraps wasmtime): component model, pooling allocator, fuel, epoch interruption and
//! a linker that provides the contract's imports plus a WASI that grants nothing. Nothing
//! else in the gateway touches raw wasmtime configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::capabilities;
use crate::contract::{v0_1, v0_2};
use crate::error::{EngineError, LoadError};
use crate::manifest::{Manifest, SUPPORTED_CONTRACTS};
use crate::plugin::{ContractPre, LoadedPlugin};
use crate::state::{CallState, Grants};
use crate::{HostServices, PluginSource};

/// Engine-wide settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    /// How often the epoch advances; plugins yield to the async runtime at each tick.
    pub epoch_tick: Duration,
    /// Plugin instances that may exist at once (pooling allocator slots).
    pub max_instances: u32,
    /// The largest memory any plugin may be granted.
    pub max_memory_mib: u64,
    /// Consecutive failures after which a plugin is switched off.
    pub breaker_threshold: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            epoch_tick: Duration::from_millis(5),
            max_instances: 256,
            max_memory_mib: 512,
            breaker_threshold: 5,
        }
    }
}

/// Advances the engine's epoch on a background thread until dropped. The engine and every
/// plugin it loaded hold it: without ticks, the wall-clock deadline could not interrupt a
/// plugin that never yields.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> Result<EpochTicker, EngineError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("deskbridge-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| EngineError(format!("cannot start the epoch thread: {e}")))?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a loaded plugin keeps of its engine: the engine itself and the epoch ticker, which
/// must outlive every plugin that relies on it for deadlines.
#[derive(Clone)]
pub(crate) struct EngineHandle {
    pub(crate) engine: Engine,
    _ticker: Arc<EpochTicker>,
}

/// Compiles, checks and instantiates plugins. Create one per process and share it.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<CallState>,
    settings: EngineSettings,
    ticker: Arc<EpochTicker>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine")
            .field("settings", &self.settings)
            .finish()
    }
}

impl PluginEngine {
    /// Creates the engine, its linker and its epoch ticker.
    pub fn new(settings: EngineSettings) -> Result<PluginEngine, EngineError> {
        let max_memory = usize::try_from(settings.max_memory_mib << 20)
            .map_err(|_| EngineError("max_memory_mib is too large".into()))?;
        // Resetting a used slot is most of the cost of a fresh instance per call (see
        // BENCHMARKS.md). With Linux's PAGEMAP_SCAN (6.7+) wasmtime resets only the pages a
        // call dirtied, so a large resident window is cheap and memory images stay CoW-mapped.
        // Without it, a small window that fits what a typical guest touches is memset, and
        // images are copied so that no reset needs `madvise` and fresh page faults.
        let pagemap = PoolingAllocationConfig::is_pagemap_scan_available();
        let (keep_resident, memory_init_cow) = if pagemap {
            (2 << 20, true)
        } else {
            (384 << 10, false)
        };
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(settings.max_instances)
            .total_core_instances(settings.max_instances * 4)
            .total_memories(settings.max_instances * 2)
            .total_tables(settings.max_instances * 4)
            .total_stacks(settings.max_instances)
            .max_memory_size(max_memory)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_core_instances_per_component(16)
            .max_component_instance_size(1 << 20)
            .max_core_instance_size(1 << 20)
            .linear_memory_keep_resident(keep_resident)
            .table_keep_resident(64 << 10)
            .pagemap_scan(if pagemap {
                wasmtime::Enabled::Yes
            } else {
                wasmtime::Enabled::No
            });

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .max_wasm_stack(1 << 20)
            .async_stack_size(2 << 20)
            .memory_reservation(max_memory as u64)
            .memory_guard_size(64 << 10)
            .memory_init_cow(memory_init_cow)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| EngineError(format!("{e:#}")))?;

        let mut linker: Linker<CallState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| EngineError(format!("linking WASI: {e:#}")))?;
        // Every contract version this host speaks, side by side: their interfaces have
        // different names (`…/log@0.1.0`, `…/log@0.2.0`), so a component links to its own.
        v0_1::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(|e| EngineError(format!("linking contract 0.1.0: {e:#}")))?;
        v0_2::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(|e| EngineError(format!("linking contract 0.2.0: {e:#}")))?;

        let ticker = Arc::new(EpochTicker::start(engine.clone(), settings.epoch_tick)?);
        Ok(PluginEngine {
            engine,
            linker,
            settings,
            ticker,
        })
    }

    /// The engine settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The wasmtime engine itself, for this crate's tests.
    #[cfg(test)]
    pub(crate) fn wasmtime(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a plugin, checks its imports against its manifest, checks the operator's
    /// config against the plugin's config schema, and pre-instantiates it.
    pub fn load(
        &self,
        source: PluginSource<'_>,
        services: &HostServices,
    ) -> Result<LoadedPlugin, LoadError> {
        let manifest: Manifest = source.manifest;
        let plugin = manifest.id.clone();
        if !SUPPORTED_CONTRACTS.contains(&manifest.contract.as_str()) {
            return Err(LoadError::UnsupportedContract {
                plugin,
                contract: manifest.contract.clone(),
                supported: SUPPORTED_CONTRACTS.join(", "),
            });
        }
        if manifest.limits.memory_mib > self.settings.max_memory_mib {
            return Err(LoadError::InvalidComponent {
                plugin,
                reason: format!(
                    "limits.memory_mib = {} exceeds this gateway's maximum of {}",
                    manifest.limits.memory_mib, self.settings.max_memory_mib
                ),
            });
        }
        let config_json = manifest.check_config(source.config.as_ref())?;
        let component =
            Component::new(&self.engine, source.wasm).map_err(|e| LoadError::InvalidComponent {
                plugin: plugin.clone(),
                reason: format!("{e:#}"),
            })?;
        let imports = capabilities::check_imports(&self.engine, &component, &manifest)?;
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::Contract {
                    plugin: plugin.clone(),
                    contract: manifest.contract.clone(),
                    reason: format!("{e:#}"),
                })?;
        let contract_error = |e: wasmtime::Error| LoadError::Contract {
            plugin: plugin.clone(),
            contract: manifest.contract.clone(),
            reason: format!("{e:#}"),
        };
        let pre = match manifest.contract.as_str() {
            "0.1.0" => {
                ContractPre::V0_1(v0_1::PluginPre::new(instance_pre).map_err(contract_error)?)
            }
            "0.2.0" => {
                ContractPre::V0_2(v0_2::PluginPre::new(instance_pre).map_err(contract_error)?)
            }
            other => {
                return Err(LoadError::UnsupportedContract {
                    plugin: manifest.id.clone(),
                    contract: other.to_owned(),
                    supported: SUPPORTED_CONTRACTS.join(", "),
                });
            }
        };
        let grants = Grants {
            plugin_id: plugin,
            ai: manifest.capabilities.ai.clone(),
            kv: manifest.capabilities.kv.then(|| Arc::clone(&services.kv)),
            config_json,
            ai_router: Arc::clone(&services.ai),
            redaction: Arc::clone(&services.redaction),
            knowledge: manifest
                .capabilities
                .knowledge
                .then(|| Arc::clone(&services.knowledge)),
            limits: manifest.limits,
        };
        Ok(LoadedPlugin::new(
            EngineHandle {
                engine: self.engine.clone(),
                _ticker: Arc::clone(&self.ticker),
            },
            pre,
            manifest,
            grants,
            source.wasm,
            imports,
            self.settings.breaker_threshold,
        ))
    }
}
