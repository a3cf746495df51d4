//! AI providers behind one object-safe trait, [`AiProvider`], and the [`ProviderRegistry`]
//! the plugin host asks by name.
//!
//! Plugins never see this crate: they call the host's `ai.complete` import, and the host checks
//! the plugin's manifest, picks the provider here and records usage. The built-in
//! [`LocalEngine`] needs no network and no model weights, so a fresh install works end to end.

mod local;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use thiserror::Error;

pub use local::LocalEngine;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    /// Instructions.
    System,
    /// The input.
    User,
    /// An earlier model answer.
    Assistant,
}

/// One message of a completion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// The author.
    pub role: ChatRole,
    /// The text.
    pub content: String,
}

/// A request for one completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    /// The model, already checked against the plugin's manifest; `None` for the default.
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Upper bound on the answer's length in tokens.
    pub max_tokens: u32,
}

/// Tokens used by one completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Answer tokens.
    pub output_tokens: u32,
}

/// A provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The answer text.
    pub text: String,
    /// The model that produced it.
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
}

/// Why a completion failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProviderError {
    /// The provider could not be reached or answered with an error.
    #[error("provider `{provider}` is unavailable: {reason}")]
    Unavailable {
        /// Provider name.
        provider: String,
        /// What happened.
        reason: String,
    },
    /// The provider does not serve that model.
    #[error("provider `{provider}` has no model `{model}`")]
    UnknownModel {
        /// Provider name.
        provider: String,
        /// Requested model.
        model: String,
    },
    /// The request itself is unusable (e.g. no messages).
    #[error("invalid completion request: {0}")]
    InvalidRequest(String),
}

/// A boxed future, so the trait stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An AI provider. Implementations hold their own credentials and timeouts.
pub trait AiProvider: Send + Sync {
    /// The name the config and plugin manifests use, e.g. `local`.
    fn name(&self) -> &str;
    /// The model used when a request names none.
    fn default_model(&self) -> &str;
    /// Produces one completion.
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<Completion, ProviderError>>;
}

/// The configured providers, by name.
#[derive(Clone, Default)]
pub struct ProviderRegistry {
    providers: BTreeMap<String, Arc<dyn AiProvider>>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.providers.keys()).finish()
    }
}

impl ProviderRegistry {
    /// An empty registry.
    pub fn new() -> ProviderRegistry {
        ProviderRegistry::default()
    }

    /// The registry a fresh install starts with: only the built-in local engine.
    pub fn with_local_engine() -> ProviderRegistry {
        let mut registry = ProviderRegistry::new();
        registry.insert(Arc::new(LocalEngine::new()));
        registry
    }

    /// Adds (or replaces) a provider under its own name.
    pub fn insert(&mut self, provider: Arc<dyn AiProvider>) {
        self.providers.insert(provider.name().to_owned(), provider);
    }

    /// The provider with that name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn AiProvider>> {
        self.providers.get(name)
    }

    /// Names of all providers, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }
}

/// A rough token count (about four characters per token), used where a provider reports none.
pub fn estimate_tokens(text: &str) -> u32 {
    let chars = text.chars().count();
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}
