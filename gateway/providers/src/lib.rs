//! AI providers behind one object-safe trait, [`AiProvider`], and the [`AiRouter`] the plugin
//! host asks for every completion.
//!
//! - [`LocalEngine`] (`local/`): the built-in deterministic engine — no network, no weights —
//!   so a fresh install works end to end.
//! - [`OpenAiProvider`] (`openai.rs`): the Chat Completions API, which also serves Azure OpenAI
//!   (deployment path, `api-version`, `api-key`), vLLM, Ollama, llama.cpp and LM Studio.
//! - [`AnthropicProvider`] (`anthropic.rs`): the Messages API.
//! - [`Guarded`] (`guard.rs`): what stands between the gateway and one provider — a bulkhead
//!   (concurrent requests), request and token pacing, retries with backoff that honour the
//!   provider's `Retry-After`, and a circuit breaker.
//! - [`AiRouter`] (`router.rs`): the operator's routes — per plugin, optionally per helpdesk,
//!   an ordered chain of providers where the next takes over when one is unavailable — and
//!   which providers may see each helpdesk's tickets.
//!
//! Plugins never see this crate: they call the host's `ai` import, which checks the manifest,
//! redacts the prompt and asks the router. Secrets (API keys) live in the provider values and
//! never appear in their `Debug` output or in an error.

mod anthropic;
pub mod budget;
#[cfg(test)]
mod fake;
mod guard;
mod http;
mod local;
mod openai;
mod router;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

pub use anthropic::{ANTHROPIC_VERSION, AnthropicProvider, AnthropicSettings};
pub use guard::{GuardSettings, Guarded, ProviderHealth};
pub use local::LocalEngine;
pub use openai::{OpenAiFlavor, OpenAiProvider, OpenAiSettings};
pub use router::{
    AiRouter, Attempt, HelpdeskRoutes, LOCAL, RouteError, RouteFailure, RouteScope, Routed, Routes,
    Target,
};

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
    /// The model, already checked against the plugin's manifest and the route; `None` for the
    /// provider's default.
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Upper bound on the answer's length in tokens.
    pub max_tokens: u32,
}

impl CompletionRequest {
    /// What the request may cost in tokens at most: its estimated prompt plus `max_tokens`.
    pub fn token_ceiling(&self) -> u32 {
        let prompt: u32 = self
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .fold(0, u32::saturating_add);
        prompt.saturating_add(self.max_tokens)
    }
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
    /// Tokens used, when the provider reported them (`None`: the gateway counts the request's
    /// ceiling, never less).
    pub usage: Option<Usage>,
    /// Why the answer ended (`stop`, `length`, `end_turn`, `max_tokens`, …), as the provider
    /// said it.
    pub finish_reason: Option<String>,
}

/// What went wrong with a provider, in the terms the router acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// `429`: the provider's rate limit.
    RateLimited,
    /// Anthropic's `529` or a `503`: the provider is overloaded.
    Overloaded,
    /// Any other `5xx`.
    ServerError,
    /// No answer in time.
    Timeout,
    /// The connection failed.
    Unreachable,
    /// `401`/`403`: the key is wrong or lacks permission.
    Unauthorized,
    /// The provider does not serve the model.
    UnknownModel,
    /// The provider refused the request itself (`400`, `413`, `422`…).
    BadRequest,
    /// The answer could not be understood.
    BadAnswer,
    /// The gateway's circuit breaker holds the provider off after repeated failures.
    CircuitOpen,
    /// Every concurrent request the operator allows to this provider is in use.
    Busy,
    /// The route or the helpdesk does not allow this provider.
    NotAllowed,
    /// A budget is spent (the route's next provider — the free built-in engine, say — may
    /// still answer).
    BudgetExhausted,
}

impl FailureKind {
    /// A short snake_case name (metrics labels).
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::RateLimited => "rate_limited",
            FailureKind::Overloaded => "overloaded",
            FailureKind::ServerError => "server_error",
            FailureKind::Timeout => "timeout",
            FailureKind::Unreachable => "unreachable",
            FailureKind::Unauthorized => "unauthorized",
            FailureKind::UnknownModel => "unknown_model",
            FailureKind::BadRequest => "bad_request",
            FailureKind::BadAnswer => "bad_answer",
            FailureKind::CircuitOpen => "circuit_open",
            FailureKind::Busy => "busy",
            FailureKind::NotAllowed => "not_allowed",
            FailureKind::BudgetExhausted => "budget_exhausted",
        }
    }

    /// A failure that may pass if the same request is sent again later.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            FailureKind::RateLimited
                | FailureKind::Overloaded
                | FailureKind::ServerError
                | FailureKind::Timeout
                | FailureKind::Unreachable
        )
    }

    /// A failure after which the route's next provider is tried: the provider is unavailable,
    /// or a budget stops this one (a wrong key, an unknown model or a refused request are the operator's to fix and stop
    /// the chain, so a misconfiguration is seen rather than hidden behind a fallback).
    pub fn falls_back(self) -> bool {
        self.is_transient()
            || matches!(
                self,
                FailureKind::CircuitOpen | FailureKind::Busy | FailureKind::BudgetExhausted
            )
    }

    /// Short name for logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::RateLimited => "rate-limited",
            FailureKind::Overloaded => "overloaded",
            FailureKind::ServerError => "server-error",
            FailureKind::Timeout => "timeout",
            FailureKind::Unreachable => "unreachable",
            FailureKind::Unauthorized => "unauthorized",
            FailureKind::UnknownModel => "unknown-model",
            FailureKind::BadRequest => "bad-request",
            FailureKind::BadAnswer => "bad-answer",
            FailureKind::CircuitOpen => "circuit-open",
            FailureKind::Busy => "busy",
            FailureKind::NotAllowed => "not-allowed",
            FailureKind::BudgetExhausted => "budget-exhausted",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a completion failed. The message never carries the prompt or a key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("provider `{provider}`: {kind}: {message}")]
pub struct ProviderError {
    /// The provider's name.
    pub provider: String,
    /// What kind of failure.
    pub kind: FailureKind,
    /// What happened, in words (the provider's own error message where it gave one).
    pub message: String,
    /// How long the provider asked the gateway to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    /// A failure of `kind` at `provider`.
    pub fn new(provider: &str, kind: FailureKind, message: impl Into<String>) -> ProviderError {
        ProviderError {
            provider: provider.to_owned(),
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same failure with the wait the provider asked for.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> ProviderError {
        self.retry_after = wait;
        self
    }
}

/// A boxed future, so the trait stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a provider says about its remaining quota after an answer (rate-limit headers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// Requests left in the current window.
    pub requests_remaining: Option<u32>,
    /// Tokens left in the current window.
    pub tokens_remaining: Option<u32>,
    /// When the exhausted one of them resets, from now.
    pub reset_after: Option<Duration>,
}

/// A provider's answer with what it said about its quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The completion.
    pub completion: Completion,
    /// The rate-limit headers, read.
    pub quota: Quota,
}

/// An AI provider. Implementations hold their own credentials; the per-request `timeout` is
/// the smaller of the provider's setting and what is left of the plugin's deadline.
pub trait AiProvider: Send + Sync {
    /// The name the config and plugin manifests use, e.g. `local`.
    fn name(&self) -> &str;
    /// The model used when a request names none.
    fn default_model(&self) -> &str;
    /// The models the provider offers, the default first.
    fn models(&self) -> Vec<String> {
        vec![self.default_model().to_owned()]
    }
    /// Whether the provider offers `model`.
    fn serves(&self, model: &str) -> bool {
        self.models().iter().any(|m| m == model)
    }
    /// Whether prompts leave this machine (the built-in engine's do not).
    fn is_remote(&self) -> bool {
        true
    }
    /// Produces one completion.
    fn complete(
        &self,
        request: CompletionRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Answered, ProviderError>>;
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

    /// Every provider, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn AiProvider>)> {
        self.providers.iter().map(|(name, p)| (name.as_str(), p))
    }
}

/// A rough token count (about four characters per token), used where a provider reports none.
pub fn estimate_tokens(text: &str) -> u32 {
    let chars = text.chars().count();
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}
