//! What stands between the gateway and one provider.
//!
//! - A **bulkhead**: at most `max_concurrent` requests in flight, so one slow provider cannot
//!   hold every pipeline worker. A request that finds it full falls through to the route's
//!   next provider at once; the last provider of a route waits for a place (within the
//!   deadline).
//! - **Pacing**: requests and prompt tokens per minute as the operator configured, and the
//!   provider's own word — a `429`'s `Retry-After`, a remaining quota of zero until its reset —
//!   pauses every request to it.
//! - **Retries** of transient failures (`429`, overload, `5xx`, timeouts, lost connections)
//!   with exponential backoff and jitter, honouring `Retry-After` — but never past the
//!   caller's deadline and never for a wait longer than `max_retry_wait`: past those the route
//!   moves on to its next provider instead.
//! - A **circuit breaker**: after `circuit_failures` calls in a row that ended in a transient
//!   failure, the provider is not asked for `circuit_cooldown`; then one trial call decides.
//!   A trial that is abandoned (its caller's deadline passed) counts as a failure.
//!
//! Each call has its own timeout: the smaller of the provider's `timeout` and what is left of
//! the caller's deadline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deskbridge_core::{TokenBucket, backoff_delay};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{AiProvider, Answered, CompletionRequest, FailureKind, ProviderError, Quota};

/// How one provider is guarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardSettings {
    /// Requests in flight at most.
    pub max_concurrent: usize,
    /// Requests per minute (`None`: no pacing of our own).
    pub requests_per_minute: Option<u32>,
    /// Prompt-plus-answer tokens per minute (`None`: no pacing of our own).
    pub tokens_per_minute: Option<u32>,
    /// Longest a single request may take.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The longest wait before a retry (a longer `Retry-After` moves on instead).
    pub max_retry_wait: Duration,
    /// First backoff step.
    pub backoff_base: Duration,
    /// Failed calls in a row that open the circuit.
    pub circuit_failures: u32,
    /// How long an open circuit holds the provider off.
    pub circuit_cooldown: Duration,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            max_concurrent: 32,
            requests_per_minute: None,
            tokens_per_minute: None,
            timeout: Duration::from_secs(60),
            max_retries: 2,
            max_retry_wait: Duration::from_secs(20),
            backoff_base: Duration::from_millis(500),
            circuit_failures: 5,
            circuit_cooldown: Duration::from_secs(30),
        }
    }
}

/// A provider's state, for `/api/v1/status` and `providers check`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderHealth {
    /// The provider's name.
    pub name: String,
    /// Whether prompts leave the machine.
    pub remote: bool,
    /// `closed` (normal), `open` (held off) or `half-open` (one trial call).
    pub circuit: &'static str,
    /// Requests in flight now.
    pub in_flight: usize,
    /// Calls made (each may include retries).
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// The most recent failure.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Circuit {
    Closed { failures_in_a_row: u32 },
    Open { until: Instant },
    HalfOpen { trial_running: bool },
}

/// A provider behind its bulkhead, pacing, retries and breaker.
pub struct Guarded {
    provider: Arc<dyn AiProvider>,
    settings: GuardSettings,
    permits: Arc<Semaphore>,
    requests: Mutex<TokenBucket>,
    tokens: Option<Mutex<TokenBucket>>,
    circuit: Mutex<Circuit>,
    calls: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for Guarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("provider", &self.provider.name())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pacing bucket for `per_minute`, holding ten seconds' worth.
fn bucket(per_minute: u32) -> TokenBucket {
    TokenBucket::new(per_minute, (per_minute / 6).max(1), Instant::now())
}

impl Guarded {
    /// Guards `provider` with `settings`.
    pub fn new(provider: Arc<dyn AiProvider>, settings: GuardSettings) -> Guarded {
        let max_concurrent = settings.max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        Guarded {
            provider,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            requests: Mutex::new(match settings.requests_per_minute {
                Some(rpm) => bucket(rpm),
                None => TokenBucket::new(u32::MAX, u32::MAX, Instant::now()),
            }),
            tokens: settings
                .tokens_per_minute
                .map(|tpm| Mutex::new(bucket(tpm))),
            settings,
            circuit: Mutex::new(Circuit::Closed {
                failures_in_a_row: 0,
            }),
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// The provider itself.
    pub fn provider(&self) -> &Arc<dyn AiProvider> {
        &self.provider
    }

    /// The guard's settings.
    pub fn settings(&self) -> &GuardSettings {
        &self.settings
    }

    /// The provider's state now.
    pub fn health(&self) -> ProviderHealth {
        let circuit = match *locked(&self.circuit) {
            Circuit::Closed { .. } => "closed",
            Circuit::Open { until } if until > Instant::now() => "open",
            Circuit::Open { .. } | Circuit::HalfOpen { .. } => "half-open",
        };
        let capacity = self
            .settings
            .max_concurrent
            .clamp(1, Semaphore::MAX_PERMITS);
        ProviderHealth {
            name: self.provider.name().to_owned(),
            remote: self.provider.is_remote(),
            circuit,
            in_flight: capacity.saturating_sub(self.permits.available_permits()),
            calls: self.calls.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            last_error: locked(&self.last_error).clone(),
        }
    }

    fn error(&self, kind: FailureKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(self.provider.name(), kind, message)
    }

    /// One completion, retried as the settings allow, finished by `deadline`. `may_wait`: wait
    /// for a place in the bulkhead rather than answering [`FailureKind::Busy`] at once.
    pub async fn complete(
        &self,
        request: CompletionRequest,
        deadline: Instant,
        may_wait: bool,
    ) -> Result<Answered, ProviderError> {
        let admitted = self.admit(Instant::now())?;
        let _permit = self.permit(deadline, may_wait).await?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let result = self.attempts(request, deadline).await;
        match &result {
            Ok(_) => admitted.settle(true),
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                *locked(&self.last_error) = Some(e.to_string());
                // A provider that answered "no" to this request is up.
                admitted.settle(!e.kind.is_transient());
            }
        }
        result
    }

    /// Whether the circuit lets a call through now.
    fn admit(&self, now: Instant) -> Result<Admitted<'_>, ProviderError> {
        let mut circuit = locked(&self.circuit);
        match *circuit {
            Circuit::Closed { .. } => Ok(Admitted {
                guard: self,
                trial: false,
                settled: false,
            }),
            Circuit::Open { until } if now < until => Err(self.error(
                FailureKind::CircuitOpen,
                format!(
                    "held off for {:?} more after {} failed calls in a row",
                    until - now,
                    self.settings.circuit_failures
                ),
            )),
            Circuit::Open { .. }
            | Circuit::HalfOpen {
                trial_running: false,
            } => {
                *circuit = Circuit::HalfOpen {
                    trial_running: true,
                };
                Ok(Admitted {
                    guard: self,
                    trial: true,
                    settled: false,
                })
            }
            Circuit::HalfOpen {
                trial_running: true,
            } => Err(self.error(
                FailureKind::CircuitOpen,
                "a trial call is deciding whether the provider is back",
            )),
        }
    }

    fn record(&self, ok: bool, trial: bool) {
        let mut circuit = locked(&self.circuit);
        *circuit = match (*circuit, ok) {
            (_, true) => Circuit::Closed {
                failures_in_a_row: 0,
            },
            (Circuit::Closed { failures_in_a_row }, false) if !trial => {
                let failures_in_a_row = failures_in_a_row.saturating_add(1);
                if failures_in_a_row >= self.settings.circuit_failures.max(1) {
                    tracing::warn!(provider = self.provider.name(), failures = failures_in_a_row, cooldown = ?self.settings.circuit_cooldown, "provider circuit opened");
                    Circuit::Open {
                        until: Instant::now() + self.settings.circuit_cooldown,
                    }
                } else {
                    Circuit::Closed { failures_in_a_row }
                }
            }
            (_, false) => Circuit::Open {
                until: Instant::now() + self.settings.circuit_cooldown,
            },
        };
    }

    async fn permit(
        &self,
        deadline: Instant,
        may_wait: bool,
    ) -> Result<OwnedSemaphorePermit, ProviderError> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let busy = || {
            self.error(
                FailureKind::Busy,
                format!(
                    "all {} concurrent requests allowed are in use",
                    self.settings.max_concurrent
                ),
            )
        };
        if !may_wait {
            return Err(busy());
        }
        let acquire = Arc::clone(&self.permits).acquire_owned();
        match tokio::time::timeout_at(deadline.into(), acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(busy()),
        }
    }

    /// Waits for the pacing buckets to let `cost` tokens through, or says it would take too
    /// long.
    async fn paced(&self, cost: u32, deadline: Instant) -> Result<(), ProviderError> {
        loop {
            let now = Instant::now();
            let wait = locked(&self.requests).try_take(1, now).or_else(|| {
                self.tokens
                    .as_ref()
                    .and_then(|tokens| locked(tokens).try_take(cost, now))
            });
            let Some(wait) = wait else {
                return Ok(());
            };
            if now + wait >= deadline {
                return Err(self.error(
                    FailureKind::RateLimited,
                    format!("the provider's pace allows the next request in {wait:?}, after the deadline"),
                ));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// What the provider said about its quota.
    fn heed(&self, quota: &Quota, retry_after: Option<Duration>) {
        let now = Instant::now();
        let exhausted = quota.requests_remaining == Some(0) || quota.tokens_remaining == Some(0);
        let pause = retry_after.or(if exhausted { quota.reset_after } else { None });
        let mut requests = locked(&self.requests);
        if let Some(pause) = pause {
            requests.pause_until(now + pause.min(Duration::from_secs(15 * 60)));
        }
        if let Some(remaining) = quota.requests_remaining {
            requests.at_most(remaining);
        }
        if let (Some(tokens), Some(remaining)) = (&self.tokens, quota.tokens_remaining) {
            locked(tokens).at_most(remaining);
        }
    }

    async fn attempts(
        &self,
        request: CompletionRequest,
        deadline: Instant,
    ) -> Result<Answered, ProviderError> {
        let cost = request.token_ceiling();
        let mut attempt = 0u32;
        loop {
            self.paced(cost, deadline).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = self.settings.timeout.min(left);
            if timeout.is_zero() {
                return Err(self.error(FailureKind::Timeout, "the deadline has passed"));
            }
            // The adapter has the same timeout; this one also covers a provider that hangs
            // outside its HTTP call.
            let call = self.provider.complete(request.clone(), timeout);
            let result = match tokio::time::timeout(timeout, call).await {
                Ok(result) => result,
                Err(_) => Err(self.error(
                    FailureKind::Timeout,
                    format!("no answer within {timeout:?}"),
                )),
            };
            let error = match result {
                Ok(answered) => {
                    self.heed(&answered.quota, None);
                    return Ok(answered);
                }
                Err(error) => error,
            };
            if error.kind == FailureKind::RateLimited {
                self.heed(&Quota::default(), error.retry_after);
            }
            attempt += 1;
            if !error.kind.is_transient() || attempt > self.settings.max_retries {
                return Err(error);
            }
            let wait = error.retry_after.unwrap_or_else(|| {
                backoff_delay(
                    attempt,
                    self.settings.backoff_base,
                    self.settings.max_retry_wait,
                    fastrand::f64(),
                )
            });
            if wait > self.settings.max_retry_wait || Instant::now() + wait >= deadline {
                return Err(error);
            }
            tracing::debug!(provider = self.provider.name(), attempt, ?wait, error = %error, "retrying the provider");
            tokio::time::sleep(wait).await;
        }
    }
}

/// A call the breaker let through. It settles the circuit once; dropped unsettled (its caller
/// gave up, say at the plugin's deadline), a trial counts as failed — otherwise the circuit
/// would wait for ever for a trial that never reports — and an ordinary call says nothing.
struct Admitted<'a> {
    guard: &'a Guarded,
    trial: bool,
    settled: bool,
}

impl Admitted<'_> {
    fn settle(mut self, ok: bool) {
        self.settled = true;
        self.guard.record(ok, self.trial);
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.settled && self.trial {
            self.guard.record(false, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{Scripted, request};

    fn quick() -> GuardSettings {
        GuardSettings {
            backoff_base: Duration::from_millis(5),
            max_retry_wait: Duration::from_secs(2),
            circuit_cooldown: Duration::from_millis(200),
            circuit_failures: 2,
            ..GuardSettings::default()
        }
    }

    fn guarded(provider: &Arc<Scripted>, settings: GuardSettings) -> Guarded {
        Guarded::new(Arc::clone(provider) as Arc<dyn AiProvider>, settings)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn a_429_is_retried_after_the_wait_the_provider_asked_for() {
        let provider = Arc::new(
            Scripted::new("p")
                .failing(&[(FailureKind::RateLimited, Some(Duration::from_millis(50)))]),
        );
        let guard = guarded(&provider, quick());
        let started = Instant::now();
        let answered = guard
            .complete(request(), soon(), true)
            .await
            .expect("answer");
        assert_eq!(answered.completion.text, "answer from p");
        assert_eq!(provider.calls(), 2);
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "waited as asked"
        );
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_retry_budget_moves_on_at_once() {
        let provider = Arc::new(
            Scripted::new("p")
                .failing(&[(FailureKind::RateLimited, Some(Duration::from_secs(60)))]),
        );
        let guard = guarded(&provider, quick());
        let started = Instant::now();
        let error = guard
            .complete(request(), soon(), true)
            .await
            .expect_err("gives up");
        assert_eq!(error.kind, FailureKind::RateLimited);
        assert_eq!(provider.calls(), 1);
        assert!(started.elapsed() < Duration::from_secs(1));
        // The provider's pause holds for every request to it.
        let again = guard
            .complete(request(), soon(), true)
            .await
            .expect_err("paused");
        assert_eq!(again.kind, FailureKind::RateLimited);
        assert_eq!(provider.calls(), 1, "not asked during its pause");
    }

    #[tokio::test]
    async fn a_wrong_key_is_not_retried() {
        let provider = Arc::new(Scripted::new("p").failing(&[(FailureKind::Unauthorized, None)]));
        let guard = guarded(&provider, quick());
        let error = guard
            .complete(request(), soon(), true)
            .await
            .expect_err("fails");
        assert_eq!(error.kind, FailureKind::Unauthorized);
        assert_eq!(provider.calls(), 1);
    }

    #[tokio::test]
    async fn the_circuit_opens_after_failures_in_a_row_and_one_trial_closes_it() {
        let failure = (FailureKind::ServerError, None);
        let provider = Arc::new(Scripted::new("p").failing(&[failure; 3]));
        let guard = guarded(
            &provider,
            GuardSettings {
                max_retries: 0,
                ..quick()
            },
        );
        for _ in 0..2 {
            let error = guard
                .complete(request(), soon(), true)
                .await
                .expect_err("5xx");
            assert_eq!(error.kind, FailureKind::ServerError);
        }
        assert_eq!(guard.health().circuit, "open");
        let held = guard
            .complete(request(), soon(), true)
            .await
            .expect_err("open");
        assert_eq!(held.kind, FailureKind::CircuitOpen);
        assert_eq!(provider.calls(), 2, "an open circuit does not call");
        tokio::time::sleep(Duration::from_millis(250)).await;
        // The trial fails: open again at once.
        let trial = guard
            .complete(request(), soon(), true)
            .await
            .expect_err("trial");
        assert_eq!(trial.kind, FailureKind::ServerError);
        assert_eq!(guard.health().circuit, "open");
        tokio::time::sleep(Duration::from_millis(250)).await;
        // The next trial gets an answer: closed.
        assert!(guard.complete(request(), soon(), true).await.is_ok());
        assert_eq!(guard.health().circuit, "closed");
        assert_eq!(provider.calls(), 4);
    }

    #[tokio::test]
    async fn an_abandoned_trial_counts_as_failed_instead_of_blocking_for_ever() {
        let provider = Arc::new(
            Scripted::new("p")
                .failing(&[(FailureKind::ServerError, None); 2])
                .slow(Duration::from_millis(20)),
        );
        let guard = guarded(
            &provider,
            GuardSettings {
                max_retries: 0,
                ..quick()
            },
        );
        for _ in 0..2 {
            let _ = guard.complete(request(), soon(), true).await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        // The trial's caller gives up before the answer.
        let abandoned = tokio::time::timeout(
            Duration::from_millis(5),
            guard.complete(request(), soon(), true),
        )
        .await;
        assert!(abandoned.is_err(), "the caller gave up");
        assert_eq!(guard.health().circuit, "open", "not stuck half-open");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(guard.complete(request(), soon(), true).await.is_ok());
        assert_eq!(guard.health().circuit, "closed");
    }

    #[tokio::test]
    async fn a_full_bulkhead_answers_busy_or_waits_for_a_place() {
        let provider = Arc::new(Scripted::new("p").slow(Duration::from_millis(100)));
        let guard = Arc::new(guarded(
            &provider,
            GuardSettings {
                max_concurrent: 1,
                ..quick()
            },
        ));
        let first = tokio::spawn({
            let guard = Arc::clone(&guard);
            async move { guard.complete(request(), soon(), true).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(guard.health().in_flight, 1);
        let busy = guard
            .complete(request(), soon(), false)
            .await
            .expect_err("busy");
        assert_eq!(busy.kind, FailureKind::Busy);
        assert!(
            guard.complete(request(), soon(), true).await.is_ok(),
            "waited"
        );
        assert!(first.await.expect("joined").is_ok());
    }

    #[tokio::test]
    async fn pacing_that_would_pass_the_deadline_refuses_instead_of_waiting() {
        let provider = Arc::new(Scripted::new("p"));
        let guard = guarded(
            &provider,
            GuardSettings {
                requests_per_minute: Some(6), // one every ten seconds, burst one
                ..quick()
            },
        );
        assert!(guard.complete(request(), soon(), true).await.is_ok());
        let error = guard
            .complete(request(), soon(), true)
            .await
            .expect_err("paced");
        assert_eq!(error.kind, FailureKind::RateLimited);
        assert_eq!(provider.calls(), 1);
    }

    #[tokio::test]
    async fn a_provider_slower_than_the_deadline_times_out() {
        let provider = Arc::new(Scripted::new("p").slow(Duration::from_secs(5)));
        let guard = guarded(
            &provider,
            GuardSettings {
                max_retries: 0,
                ..quick()
            },
        );
        let deadline = Instant::now() + Duration::from_millis(50);
        let error = guard
            .complete(request(), deadline, true)
            .await
            .expect_err("late");
        assert_eq!(error.kind, FailureKind::Timeout);
        assert!(Instant::now() < deadline + Duration::from_millis(200));
    }
}
