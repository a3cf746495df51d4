//! Errors of loading and calling plugins. Every way a plugin can misbehave has its own
//! variant, so operators and tests can tell a deadline from a memory cap from a panic.

use deskbridge_core::OutputViolation;
use thiserror::Error;

use crate::manifest::ManifestError;

/// Why the engine could not be created.
#[derive(Debug, Error)]
#[error("cannot set up the wasm engine: {0}")]
pub struct EngineError(pub(crate) String);

/// Why a plugin was refused at load time.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The manifest or the plugin's config is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest names a contract version this host does not speak.
    #[error("plugin `{plugin}` targets contract {contract}; this host supports {supported}")]
    UnsupportedContract {
        /// Plugin id.
        plugin: String,
        /// The manifest's `contract`.
        contract: String,
        /// What the host supports.
        supported: String,
    },
    /// The bytes are not a valid wasm component.
    #[error("plugin `{plugin}`: not a valid wasm component: {reason}")]
    InvalidComponent {
        /// Plugin id.
        plugin: String,
        /// The compiler's message.
        reason: String,
    },
    /// The component imports something its manifest does not grant.
    #[error(
        "plugin `{plugin}` imports `{import}` but its manifest does not declare `{capability}`; \
         add it to plugin.toml or remove the import"
    )]
    UndeclaredCapability {
        /// Plugin id.
        plugin: String,
        /// The component's import.
        import: String,
        /// The manifest key that would grant it.
        capability: &'static str,
    },
    /// The component imports something this host never provides.
    #[error("plugin `{plugin}` imports `{import}`, which this host does not provide")]
    UnknownImport {
        /// Plugin id.
        plugin: String,
        /// The component's import.
        import: String,
    },
    /// The component does not match the contract (missing exports, wrong types).
    #[error("plugin `{plugin}` does not implement contract {contract}: {reason}")]
    Contract {
        /// Plugin id.
        plugin: String,
        /// The contract version.
        contract: String,
        /// What wasmtime reported.
        reason: String,
    },
}

/// Why one plugin call produced no output. None of these takes the gateway down; each one
/// means "no AI output for this event" (fail closed).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CallError {
    /// The circuit breaker switched the plugin off after repeated failures.
    #[error(
        "plugin `{plugin}` is disabled after {failures} consecutive failures (last: {last_error})"
    )]
    Disabled {
        /// Plugin id.
        plugin: String,
        /// Consecutive failures that tripped the breaker.
        failures: u32,
        /// The last failure.
        last_error: String,
    },
    /// The plugin did not subscribe to this event.
    #[error("plugin `{plugin}` does not subscribe to {event}")]
    NotSubscribed {
        /// Plugin id.
        plugin: String,
        /// The event.
        event: String,
    },
    /// The wall-clock limit (AI time included) ran out.
    #[error("plugin `{plugin}` exceeded its deadline of {limit_ms} ms (limits.wall_clock_ms)")]
    DeadlineExceeded {
        /// Plugin id.
        plugin: String,
        /// The limit.
        limit_ms: u64,
    },
    /// The fuel limit ran out.
    #[error("plugin `{plugin}` ran out of fuel after {limit} units (limits.fuel)")]
    FuelExhausted {
        /// Plugin id.
        plugin: String,
        /// The limit.
        limit: u64,
    },
    /// The plugin tried to grow its memory past the cap.
    #[error("plugin `{plugin}` exceeded its memory cap of {limit_mib} MiB (limits.memory_mib)")]
    MemoryLimitExceeded {
        /// Plugin id.
        plugin: String,
        /// The limit.
        limit_mib: u64,
    },
    /// The plugin used an import beyond its manifest's limits (logged too much).
    #[error("plugin `{plugin}` used `{import}` beyond {limit} ({value})")]
    ImportLimitExceeded {
        /// Plugin id.
        plugin: String,
        /// The import.
        import: &'static str,
        /// The manifest key.
        limit: &'static str,
        /// The limit's value.
        value: u64,
    },
    /// The plugin panicked.
    #[error("plugin `{plugin}` panicked: {message}")]
    Panicked {
        /// Plugin id.
        plugin: String,
        /// The panic message from the plugin's stderr.
        message: String,
    },
    /// Any other trap.
    #[error("plugin `{plugin}` trapped: {message}")]
    Trapped {
        /// Plugin id.
        plugin: String,
        /// Wasmtime's description.
        message: String,
    },
    /// The plugin returned an error on purpose.
    #[error("plugin `{plugin}` reported {code}: {message}")]
    Reported {
        /// Plugin id.
        plugin: String,
        /// The plugin's error code.
        code: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin's output broke a limit or was malformed.
    #[error("plugin `{plugin}` returned output that was refused: {violation}")]
    Output {
        /// Plugin id.
        plugin: String,
        /// What was wrong.
        violation: OutputViolation,
    },
    /// No instance slot was free (too many calls in flight); retry later.
    #[error("plugin `{plugin}` could not be instantiated: {reason}")]
    Instantiation {
        /// Plugin id.
        plugin: String,
        /// Wasmtime's description.
        reason: String,
    },
}

impl CallError {
    /// True when the failure is the plugin's own fault and counts towards its circuit
    /// breaker. A provider outage surfacing as a reported error does not.
    pub(crate) fn counts_against_plugin(&self, ai_failed: bool) -> bool {
        match self {
            CallError::Disabled { .. }
            | CallError::NotSubscribed { .. }
            | CallError::Instantiation { .. } => false,
            CallError::Reported { .. } | CallError::DeadlineExceeded { .. } => !ai_failed,
            _ => true,
        }
    }
}
