//! A scripted provider for the guard's and the router's tests: answers (or failures) in the
//! order given, then the default answer, each after an optional delay; counts its calls.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::{
    AiProvider, Answered, BoxFuture, ChatMessage, ChatRole, Completion, CompletionRequest,
    FailureKind, ProviderError, Quota, Usage,
};

/// A scripted failure: its kind and `Retry-After`.
type Failure = (FailureKind, Option<Duration>);

pub(crate) struct Scripted {
    name: String,
    script: Mutex<VecDeque<Failure>>,
    pub(crate) delay: Duration,
    calls: AtomicUsize,
    pub(crate) models: Vec<String>,
}

impl Scripted {
    pub(crate) fn new(name: &str) -> Scripted {
        Scripted {
            name: name.into(),
            script: Mutex::default(),
            delay: Duration::ZERO,
            calls: AtomicUsize::new(0),
            models: vec![format!("{name}-model")],
        }
    }

    /// The next calls fail with `kind` (and `Retry-After`), in order.
    pub(crate) fn failing(self, failures: &[Failure]) -> Scripted {
        self.script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(failures.iter().copied());
        self
    }

    pub(crate) fn slow(mut self, delay: Duration) -> Scripted {
        self.delay = delay;
        self
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl AiProvider for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    fn default_model(&self) -> &str {
        &self.models[0]
    }

    fn models(&self) -> Vec<String> {
        self.models.clone()
    }

    fn complete(
        &self,
        request: CompletionRequest,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Answered, ProviderError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let next = self
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            match next {
                Some((kind, retry_after)) => {
                    Err(ProviderError::new(&self.name, kind, "scripted failure")
                        .with_retry_after(retry_after))
                }
                None => Ok(Answered {
                    completion: Completion {
                        text: format!("answer from {}", self.name),
                        model: request.model.unwrap_or_default(),
                        usage: Some(Usage {
                            input_tokens: 3,
                            output_tokens: 4,
                        }),
                        finish_reason: Some("stop".into()),
                    },
                    quota: Quota::default(),
                }),
            }
        })
    }
}

pub(crate) fn request() -> CompletionRequest {
    CompletionRequest {
        model: None,
        messages: vec![ChatMessage {
            role: ChatRole::User,
            content: "Where is my order?".into(),
        }],
        max_tokens: 50,
    }
}
