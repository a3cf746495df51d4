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
//! the providers (behind the operator's routes, [`deskbridge_providers::AiRouter`]); plugins
//! get text and usage back through the `ai` import, and only from providers and models their
//! manifest allows.

mod ai_import;
mod breaker;
mod capabilities;
mod contract;
mod engine;
mod error;
mod imports;
mod imports_v0_2;
mod knowledge_import;
pub mod kv;
pub mod manifest;
#[doc(hidden)]
pub mod naive;
mod plugin;
mod state;

use std::sync::Arc;

use deskbridge_providers::{AiRouter, ProviderRegistry};

pub use breaker::BreakerStatus;
pub use capabilities::ImportReport;
pub use deskbridge_schema::{EventError, ValidatedEvent};
pub use engine::{EngineSettings, PluginEngine};
pub use error::{CallError, EngineError, LoadError};
pub use kv::{KvStore, MemoryKv};
pub use manifest::{Manifest, ManifestError};
pub use plugin::{CallFailure, CallReport, LoadedPlugin, PluginStatus};
pub use state::{AiCall, KnowledgeLookup, LogLine};

/// What the host lends plugins: AI providers behind their routes, and the kv store.
#[derive(Clone)]
pub struct HostServices {
    /// The providers and the operator's routes.
    pub ai: Arc<AiRouter>,
    /// Backing store of the `kv` import.
    pub kv: Arc<dyn KvStore>,
    /// The operator's redaction patterns, applied to every prompt with the built-in kinds.
    pub redaction: Arc<deskbridge_core::redact::RedactionRules>,
    /// The helpdesks' knowledge bases, searched by the `knowledge` import.
    pub knowledge: Arc<dyn deskbridge_core::KnowledgeSearch>,
}

impl std::fmt::Debug for HostServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostServices")
            .field("ai", &self.ai)
            .finish_non_exhaustive()
    }
}

impl HostServices {
    /// The built-in local engine and an in-memory kv store: what a fresh install runs with.
    pub fn local() -> HostServices {
        HostServices {
            ai: Arc::new(AiRouter::local()),
            kv: Arc::new(MemoryKv::new()),
            redaction: Arc::default(),
            knowledge: Arc::new(deskbridge_core::NoKnowledge),
        }
    }

    /// `providers` (default guards, no routes) and `kv`: for tests and tools.
    pub fn with_providers(providers: &ProviderRegistry, kv: Arc<dyn KvStore>) -> HostServices {
        HostServices {
            ai: Arc::new(AiRouter::with_providers(providers)),
            kv,
            redaction: Arc::default(),
            knowledge: Arc::new(deskbridge_core::NoKnowledge),
        }
    }
}

/// Whose work a plugin call is: the helpdesk whose ticket it handles (its routes and allowed
/// providers apply). `None` outside the pipeline (`plugin run`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallScope<'a> {
    /// The helpdesk's name in the config.
    pub helpdesk: Option<&'a str>,
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
