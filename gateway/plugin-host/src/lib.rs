//! Deskbridge's sandboxed plugin runtime.
//!
//! Plugins are WebAssembly components built against the `deskbridge:plugin` WIT contract
//! (`sdk/wit`). This crate loads them ([`PluginEngine::load`]): it validates the manifest,
//! compiles the component, refuses imports the manifest does not declare, and
//! pre-instantiates it. Each call ([`LoadedPlugin::handle_event`],
//! [`LoadedPlugin::review_draft`]) gets a fresh store and instance from a pooling allocator,
//! a fuel budget, a memory cap, a wall-clock deadline that includes AI time, and a WASI
//! context that grants nothing. Any misbehaviour comes back as a typed [`CallError`]; a plugin
//! that keeps failing is switched off by its circuit breaker.
//!
//! Invariant 4 lives here: plugins hold no secrets and no ambient authority. The host holds
//! the providers; plugins get text and usage back through the `ai` import, and only from the
//! providers and models their manifest lists.

mod breaker;
mod capabilities;
mod contract;
mod engine;
mod error;
mod imports;
pub mod kv;
pub mod manifest;
#[doc(hidden)]
pub mod naive;
mod plugin;
mod state;

use std::sync::Arc;

use deskbridge_providers::ProviderRegistry;

pub use breaker::BreakerStatus;
pub use capabilities::ImportReport;
pub use deskbridge_schema::{EventError, ValidatedEvent};
pub use engine::{EngineSettings, PluginEngine};
pub use error::{CallError, EngineError, LoadError};
pub use kv::{KvStore, MemoryKv};
pub use manifest::{Manifest, ManifestError};
pub use plugin::{CallFailure, CallReport, LoadedPlugin, PluginStatus};
pub use state::{AiCall, LogLine};

/// What the host lends plugins: AI providers and the kv store.
#[derive(Clone)]
pub struct HostServices {
    /// Providers by name.
    pub providers: ProviderRegistry,
    /// Backing store of the `kv` import.
    pub kv: Arc<dyn KvStore>,
}

impl std::fmt::Debug for HostServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostServices")
            .field("providers", &self.providers)
            .finish_non_exhaustive()
    }
}

impl HostServices {
    /// The built-in local engine and an in-memory kv store: what a fresh install runs with.
    pub fn local() -> HostServices {
        HostServices {
            providers: ProviderRegistry::with_local_engine(),
            kv: Arc::new(MemoryKv::new()),
        }
    }
}

/// A plugin to load.
#[derive(Debug)]
pub struct PluginSource<'a> {
    /// The component's bytes.
    pub wasm: &'a [u8],
    /// Its validated manifest.
    pub manifest: Manifest,
    /// The operator's config for it (checked against the manifest's `config_schema`).
    pub config: Option<serde_json::Value>,
}
