//! The operator's routes: which providers answer which plugin, in which order, and which
//! providers may see each helpdesk's tickets.
//!
//! A route is an ordered chain of [`Target`]s (`"azure-eu:gpt-4o-mini"`, `"local"`). For a
//! plugin running for a helpdesk the chain is, first found: the helpdesk's route for the
//! plugin, the gateway's route for the plugin, the gateway's `default` route, the first
//! provider the plugin's manifest names, `local`. A helpdesk that lists the providers allowed
//! to see its tickets (data residency) then keeps only those. [`AiRouter::check_plugin`] runs
//! at start-up for every loaded plugin: a route that sends a plugin to a provider or model its
//! manifest does not allow, or leaves a helpdesk with no provider, stops the start with an
//! error that names the route and the manifest.
//!
//! [`AiRouter::complete`] walks the chain: the first provider that answers wins; the next is
//! tried when one is unavailable ([`crate::FailureKind::falls_back`]: rate limited beyond its
//! retry budget, overloaded, `5xx`, timed out, unreachable, circuit open, bulkhead full). A
//! wrong key, an unknown model or a refused request stop the walk: those are the operator's to
//! fix, and a fallback would hide them. Every failed attempt is reported with the answer, so
//! the draft's provenance names who answered and who did not.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::Semaphore;

use crate::budget::{Budgets, Outcome, Period};
use crate::guard::{GuardSettings, Guarded, ProviderHealth};
use crate::{
    AiProvider, Answered, CompletionRequest, FailureKind, LocalEngine, ProviderError, Usage,
};

/// The built-in engine's name; no configured provider may take it.
pub const LOCAL: &str = "local";

/// One step of a route: a provider and, optionally, the model to ask it for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The provider's name.
    pub provider: String,
    /// The model (`None`: the provider's default, or the plugin's choice when the provider
    /// serves it).
    pub model: Option<String>,
}

impl Target {
    /// Reads `provider` or `provider:model`.
    pub fn parse(text: &str) -> Result<Target, String> {
        let (provider, model) = match text.split_once(':') {
            Some((provider, model)) => (provider, Some(model)),
            None => (text, None),
        };
        let valid_name = provider
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && provider
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid_name {
            return Err(format!(
                "{text:?}: a route step is `provider` or `provider:model`, the provider's name in lower case"
            ));
        }
        if model.is_some_and(|m| m.trim().is_empty() || m.len() > 200) {
            return Err(format!(
                "{text:?}: the model after `:` is empty or too long"
            ));
        }
        Ok(Target {
            provider: provider.to_owned(),
            model: model.map(str::to_owned),
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.model {
            Some(model) => write!(f, "{}:{model}", self.provider),
            None => f.write_str(&self.provider),
        }
    }
}

/// One helpdesk's AI settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpdeskRoutes {
    /// Providers allowed to see this helpdesk's tickets (`None`: all).
    pub allowed: Option<BTreeSet<String>>,
    /// Routes by plugin id, before the gateway's.
    pub plugins: BTreeMap<String, Vec<Target>>,
}

/// Every route the operator configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    /// For plugins with no route of their own.
    pub default: Option<Vec<Target>>,
    /// By plugin id.
    pub plugins: BTreeMap<String, Vec<Target>>,
    /// By helpdesk name.
    pub helpdesks: BTreeMap<String, HelpdeskRoutes>,
}

/// Who is asking: the plugin, and the helpdesk whose ticket it works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteScope<'a> {
    /// The plugin's id.
    pub plugin: &'a str,
    /// The helpdesk (`None` outside the pipeline, e.g. `plugin run`).
    pub helpdesk: Option<&'a str>,
}

/// A route the gateway cannot start with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    /// A route names a provider that is not configured.
    #[error("{route}: no provider `{provider}` is configured (configured: {known})")]
    UnknownProvider {
        /// Where the route is configured.
        route: String,
        /// The provider named.
        provider: String,
        /// The configured providers.
        known: String,
    },
    /// A route asks a provider for a model it does not offer.
    #[error("{route}: provider `{provider}` offers no model `{model}` (its models: {offered})")]
    UnknownModel {
        /// Where the route is configured.
        route: String,
        /// The provider.
        provider: String,
        /// The model asked for.
        model: String,
        /// What the provider offers.
        offered: String,
    },
    /// A route sends a plugin to a provider its manifest does not allow.
    #[error(
        "{route} sends plugin `{plugin}` to provider `{provider}`, but the plugin's manifest allows only {allowed} (capabilities.ai.providers)"
    )]
    ManifestProvider {
        /// The route.
        route: String,
        /// The plugin.
        plugin: String,
        /// The provider.
        provider: String,
        /// What the manifest allows.
        allowed: String,
    },
    /// A route asks for a model the plugin's manifest does not allow.
    #[error(
        "{route} asks model `{model}` for plugin `{plugin}`, but the plugin's manifest allows only {allowed} (capabilities.ai.models)"
    )]
    ManifestModel {
        /// The route.
        route: String,
        /// The plugin.
        plugin: String,
        /// The model.
        model: String,
        /// What the manifest allows.
        allowed: String,
    },
    /// A helpdesk's allowed providers leave a plugin no provider.
    #[error(
        "helpdesk `{helpdesk}` allows providers {allowed} (helpdesks.{helpdesk}.ai.providers), which leaves plugin `{plugin}` none of its route {route}"
    )]
    NothingAllowed {
        /// The helpdesk.
        helpdesk: String,
        /// The plugin.
        plugin: String,
        /// The route before filtering.
        route: String,
        /// The helpdesk's allowed providers.
        allowed: String,
    },
    /// A helpdesk allows a provider that is not configured (a typo would allow nothing).
    #[error(
        "helpdesks.{helpdesk}.ai.providers: no provider `{provider}` is configured (configured: {known})"
    )]
    UnknownAllowed {
        /// The helpdesk.
        helpdesk: String,
        /// The provider named.
        provider: String,
        /// The configured providers.
        known: String,
    },
    /// A route with no steps.
    #[error("{route}: a route needs at least one provider")]
    Empty {
        /// The route.
        route: String,
    },
}

/// A provider that failed on the way to an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The provider.
    pub provider: String,
    /// The model asked for.
    pub model: String,
    /// What went wrong.
    pub error: ProviderError,
    /// Time spent on it, retries included.
    pub elapsed: Duration,
}

/// An answer and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The answer.
    pub answered: Answered,
    /// The provider that answered.
    pub provider: String,
    /// Time the answering provider took.
    pub elapsed: Duration,
    /// Providers tried before it, in order.
    pub failed: Vec<Attempt>,
}

/// No provider of the chain answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("no provider answered: {}", describe(.failed))]
pub struct RouteFailure {
    /// Every provider tried, in order (at least one).
    pub failed: Vec<Attempt>,
}

fn describe(failed: &[Attempt]) -> String {
    failed
        .iter()
        .map(|a| a.error.to_string())
        .collect::<Vec<_>>()
        .join("; then ")
}

impl RouteFailure {
    /// The last failure's kind.
    pub fn kind(&self) -> FailureKind {
        self.failed
            .last()
            .map_or(FailureKind::NotAllowed, |a| a.error.kind)
    }
}

/// The configured providers, guarded, the routes between plugins and them, and the budgets
/// every call to a paid provider must fit.
#[derive(Debug)]
pub struct AiRouter {
    providers: BTreeMap<String, Arc<Guarded>>,
    routes: Routes,
    budgets: Option<Arc<Budgets>>,
}

impl AiRouter {
    /// A router over `providers` (the built-in `local` engine is added when absent) and
    /// `routes`, checked: every provider and model a route names exists.
    pub fn new(
        providers: Vec<(Arc<dyn AiProvider>, GuardSettings)>,
        routes: Routes,
    ) -> Result<AiRouter, RouteError> {
        let mut guarded: BTreeMap<String, Arc<Guarded>> = providers
            .into_iter()
            .map(|(provider, settings)| {
                (
                    provider.name().to_owned(),
                    Arc::new(Guarded::new(provider, settings)),
                )
            })
            .collect();
        guarded.entry(LOCAL.to_owned()).or_insert_with(|| {
            Arc::new(Guarded::new(
                Arc::new(LocalEngine::new()),
                GuardSettings {
                    max_concurrent: Semaphore::MAX_PERMITS,
                    ..GuardSettings::default()
                },
            ))
        });
        let router = AiRouter {
            providers: guarded,
            routes,
            budgets: None,
        };
        router.check_routes()?;
        Ok(router)
    }

    /// The built-in engine alone, no routes: a fresh install.
    pub fn local() -> AiRouter {
        AiRouter {
            providers: BTreeMap::from([(
                LOCAL.to_owned(),
                Arc::new(Guarded::new(
                    Arc::new(LocalEngine::new()),
                    GuardSettings {
                        max_concurrent: Semaphore::MAX_PERMITS,
                        ..GuardSettings::default()
                    },
                )),
            )]),
            routes: Routes::default(),
            budgets: None,
        }
    }

    /// The same router, with every call to a paid provider charged to `budgets` first.
    pub fn with_budgets(mut self, budgets: Arc<Budgets>) -> AiRouter {
        self.budgets = (!budgets.is_empty()).then_some(budgets);
        self
    }

    /// The budgets, if any is configured.
    pub fn budgets(&self) -> Option<&Arc<Budgets>> {
        self.budgets.as_ref()
    }

    /// `providers` with default guards and no routes (tests, `plugin run`).
    pub fn with_providers(providers: &crate::ProviderRegistry) -> AiRouter {
        let list = providers
            .iter()
            .map(|(_, p)| (Arc::clone(p), GuardSettings::default()))
            .collect();
        // No routes: nothing to refuse.
        AiRouter::new(list, Routes::default()).unwrap_or_else(|_| AiRouter::local())
    }

    /// The guarded provider called `name`.
    pub fn provider(&self, name: &str) -> Option<&Arc<Guarded>> {
        self.providers.get(name)
    }

    /// Every provider's state.
    pub fn health(&self) -> Vec<ProviderHealth> {
        self.providers.values().map(|g| g.health()).collect()
    }

    fn known(&self) -> String {
        self.providers
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn check_routes(&self) -> Result<(), RouteError> {
        let mut all: Vec<(String, &Vec<Target>)> = Vec::new();
        if let Some(default) = &self.routes.default {
            all.push(("ai.routes.default".into(), default));
        }
        for (plugin, chain) in &self.routes.plugins {
            all.push((format!("ai.routes.{plugin}"), chain));
        }
        for (helpdesk, routes) in &self.routes.helpdesks {
            for provider in routes.allowed.iter().flatten() {
                if !self.providers.contains_key(provider) {
                    return Err(RouteError::UnknownAllowed {
                        helpdesk: helpdesk.clone(),
                        provider: provider.clone(),
                        known: self.known(),
                    });
                }
            }
            for (plugin, chain) in &routes.plugins {
                all.push((format!("helpdesks.{helpdesk}.ai.routes.{plugin}"), chain));
            }
        }
        for (route, chain) in all {
            if chain.is_empty() {
                return Err(RouteError::Empty { route });
            }
            for target in chain {
                let Some(guarded) = self.providers.get(&target.provider) else {
                    return Err(RouteError::UnknownProvider {
                        route,
                        provider: target.provider.clone(),
                        known: self.known(),
                    });
                };
                if let Some(model) = &target.model
                    && !guarded.provider().serves(model)
                {
                    return Err(RouteError::UnknownModel {
                        route,
                        provider: target.provider.clone(),
                        model: model.clone(),
                        offered: guarded.provider().models().join(", "),
                    });
                }
            }
        }
        Ok(())
    }

    /// The chain for `scope` before the helpdesk's residency filter, and where it comes from.
    fn configured_chain(
        &self,
        scope: RouteScope<'_>,
        manifest: &[String],
    ) -> (String, Vec<Target>) {
        if let Some(helpdesk) = scope.helpdesk
            && let Some(chain) = self
                .routes
                .helpdesks
                .get(helpdesk)
                .and_then(|h| h.plugins.get(scope.plugin))
        {
            return (
                format!("helpdesks.{helpdesk}.ai.routes.{}", scope.plugin),
                chain.clone(),
            );
        }
        if let Some(chain) = self.routes.plugins.get(scope.plugin) {
            return (format!("ai.routes.{}", scope.plugin), chain.clone());
        }
        if let Some(chain) = &self.routes.default {
            return ("ai.routes.default".into(), chain.clone());
        }
        let first = manifest
            .iter()
            .find(|p| p.as_str() != "*")
            .map_or(LOCAL, String::as_str);
        (
            format!("the manifest of `{}` (its first provider)", scope.plugin),
            vec![Target {
                provider: first.to_owned(),
                model: None,
            }],
        )
    }

    fn allowed_for(&self, helpdesk: Option<&str>) -> Option<&BTreeSet<String>> {
        helpdesk
            .and_then(|h| self.routes.helpdesks.get(h))
            .and_then(|h| h.allowed.as_ref())
    }

    /// The chain a plugin's requests take for `scope`: its route, keeping only providers the
    /// helpdesk allows. `manifest` is the plugin's `capabilities.ai.providers`.
    pub fn chain(&self, scope: RouteScope<'_>, manifest: &[String]) -> Vec<Target> {
        let (_, chain) = self.configured_chain(scope, manifest);
        match self.allowed_for(scope.helpdesk) {
            Some(allowed) => chain
                .into_iter()
                .filter(|t| allowed.contains(&t.provider))
                .collect(),
            None => chain,
        }
    }

    /// Checks at start-up that every route `plugin` can take — everywhere, and for each of
    /// `helpdesks` — stays within its manifest (`providers`, where `*` allows any, and
    /// `models`, where empty allows any the route names) and leaves each helpdesk a provider.
    pub fn check_plugin(
        &self,
        plugin: &str,
        providers: &[String],
        models: &[String],
        helpdesks: &[&str],
    ) -> Result<(), RouteError> {
        let scopes = std::iter::once(None).chain(helpdesks.iter().map(|h| Some(*h)));
        for helpdesk in scopes {
            let scope = RouteScope { plugin, helpdesk };
            let (route, configured) = self.configured_chain(scope, providers);
            for target in &configured {
                if !providers.iter().any(|p| p == "*" || *p == target.provider) {
                    return Err(RouteError::ManifestProvider {
                        route,
                        plugin: plugin.to_owned(),
                        provider: target.provider.clone(),
                        allowed: list(providers),
                    });
                }
                if let Some(model) = &target.model
                    && !models.is_empty()
                    && !models.contains(model)
                {
                    return Err(RouteError::ManifestModel {
                        route,
                        plugin: plugin.to_owned(),
                        model: model.clone(),
                        allowed: list(models),
                    });
                }
                if !self.providers.contains_key(&target.provider) {
                    return Err(RouteError::UnknownProvider {
                        route,
                        provider: target.provider.clone(),
                        known: self.known(),
                    });
                }
            }
            if let (Some(helpdesk), Some(allowed)) = (helpdesk, self.allowed_for(helpdesk))
                && self.chain(scope, providers).is_empty()
            {
                return Err(RouteError::NothingAllowed {
                    helpdesk: helpdesk.to_owned(),
                    plugin: plugin.to_owned(),
                    route: format!(
                        "[{}] ({route})",
                        configured
                            .iter()
                            .map(Target::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    allowed: list(&allowed.iter().cloned().collect::<Vec<_>>()),
                });
            }
        }
        Ok(())
    }

    /// One completion along `chain` for `scope`, finished by `deadline`.
    pub async fn complete(
        &self,
        scope: RouteScope<'_>,
        chain: &[Target],
        request: CompletionRequest,
        deadline: Instant,
    ) -> Result<Routed, RouteFailure> {
        let allowed = self.allowed_for(scope.helpdesk);
        let mut failed = Vec::new();
        for (index, target) in chain.iter().enumerate() {
            let started = Instant::now();
            let Some(guarded) = self.providers.get(&target.provider) else {
                failed.push(Attempt {
                    provider: target.provider.clone(),
                    model: target.model.clone().unwrap_or_default(),
                    error: ProviderError::new(
                        &target.provider,
                        FailureKind::NotAllowed,
                        "the provider is not configured",
                    ),
                    elapsed: Duration::ZERO,
                });
                continue;
            };
            let provider = guarded.provider();
            let model = target
                .model
                .clone()
                .or_else(|| request.model.clone().filter(|m| provider.serves(m)))
                .unwrap_or_else(|| provider.default_model().to_owned());
            if allowed.is_some_and(|a| !a.contains(&target.provider)) {
                failed.push(Attempt {
                    provider: target.provider.clone(),
                    model,
                    error: ProviderError::new(
                        &target.provider,
                        FailureKind::NotAllowed,
                        format!(
                            "helpdesk `{}` does not allow this provider to see its tickets",
                            scope.helpdesk.unwrap_or_default()
                        ),
                    ),
                    elapsed: Duration::ZERO,
                });
                continue;
            }
            let last = index + 1 == chain.len();
            let attempt = CompletionRequest {
                model: Some(model.clone()),
                ..request.clone()
            };
            let reservation = match &self.budgets {
                Some(budgets) => {
                    let ceiling = Usage {
                        input_tokens: attempt.token_ceiling().saturating_sub(attempt.max_tokens),
                        output_tokens: attempt.max_tokens,
                    };
                    let reserved = budgets
                        .reserve(
                            &target.provider,
                            scope.plugin,
                            scope.helpdesk,
                            ceiling,
                            &Period::now(),
                        )
                        .await;
                    match reserved {
                        Ok(reservation) => reservation,
                        Err(error) => {
                            tracing::warn!(plugin = scope.plugin, helpdesk = scope.helpdesk, provider = %target.provider, error = %error, "a budget stopped an AI call");
                            failed.push(Attempt {
                                provider: target.provider.clone(),
                                model,
                                error,
                                elapsed: started.elapsed(),
                            });
                            continue;
                        }
                    }
                }
                None => None,
            };
            let result = guarded.complete(attempt, deadline, last).await;
            record_call(
                &target.provider,
                &result,
                started.elapsed(),
                self.budgets.as_deref(),
            );
            if let (Some(budgets), Some(reservation)) = (&self.budgets, reservation) {
                let outcome = match &result {
                    Ok(answered) => answered
                        .completion
                        .usage
                        .map_or(Outcome::Unknown, Outcome::Used),
                    // The request may have been worked on: keep the ceiling.
                    Err(e) if matches!(e.kind, FailureKind::Timeout | FailureKind::BadAnswer) => {
                        Outcome::Unknown
                    }
                    Err(_) => Outcome::Refused,
                };
                budgets.settle(reservation, outcome).await;
            }
            match result {
                Ok(answered) => {
                    return Ok(Routed {
                        answered,
                        provider: target.provider.clone(),
                        elapsed: started.elapsed(),
                        failed,
                    });
                }
                Err(error) => {
                    let stop = !error.kind.falls_back();
                    tracing::info!(plugin = scope.plugin, helpdesk = scope.helpdesk, provider = %target.provider, error = %error, "provider did not answer");
                    failed.push(Attempt {
                        provider: target.provider.clone(),
                        model,
                        error,
                        elapsed: started.elapsed(),
                    });
                    if stop {
                        break;
                    }
                }
            }
        }
        if failed.is_empty() {
            failed.push(Attempt {
                provider: String::new(),
                model: String::new(),
                error: ProviderError::new("", FailureKind::NotAllowed, "the route has no provider"),
                elapsed: Duration::ZERO,
            });
        }
        Err(RouteFailure { failed })
    }
}

/// Counts a provider call, its time, tokens and (with prices) cost for `GET /metrics`.
fn record_call(
    provider: &str,
    result: &Result<crate::Answered, ProviderError>,
    elapsed: Duration,
    budgets: Option<&crate::budget::Budgets>,
) {
    let telemetry = deskbridge_core::telemetry::telemetry();
    let outcome = match result {
        Ok(_) => "ok",
        Err(e) => e.kind.name(),
    };
    telemetry.inc(
        "deskbridge_provider_calls_total",
        &[("provider", provider), ("outcome", outcome)],
    );
    telemetry.observe(
        "deskbridge_provider_latency_seconds",
        &[("provider", provider)],
        elapsed.as_secs_f64(),
    );
    if let Some(usage) = result.as_ref().ok().and_then(|a| a.completion.usage) {
        for (direction, tokens) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
        ] {
            telemetry.add(
                "deskbridge_provider_tokens_total",
                &[("provider", provider), ("direction", direction)],
                f64::from(tokens),
            );
        }
        if let Some(cost) = budgets.and_then(|b| b.cost_micros(provider, usage)) {
            telemetry.add(
                "deskbridge_provider_cost_total",
                &[("provider", provider)],
                cost as f64 / 1_000_000.0,
            );
        }
    }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{Scripted, request};

    fn steps(text: &[&str]) -> Vec<Target> {
        text.iter()
            .map(|t| Target::parse(t).expect("target"))
            .collect()
    }

    fn no_retries() -> GuardSettings {
        GuardSettings {
            max_retries: 0,
            ..GuardSettings::default()
        }
    }

    fn router(providers: &[&Arc<Scripted>], routes: Routes) -> Result<AiRouter, RouteError> {
        AiRouter::new(
            providers
                .iter()
                .map(|p| (Arc::clone(*p) as Arc<dyn AiProvider>, no_retries()))
                .collect(),
            routes,
        )
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    const SCOPE: RouteScope<'static> = RouteScope {
        plugin: "suggest-reply",
        helpdesk: Some("acme"),
    };

    #[tokio::test]
    async fn the_next_provider_takes_over_when_the_first_is_down_and_the_answer_says_who() {
        let first = Arc::new(Scripted::new("first").failing(&[(FailureKind::ServerError, None)]));
        let second = Arc::new(Scripted::new("second"));
        let router = router(&[&first, &second], Routes::default()).expect("router");
        let chain = steps(&["first", "second:second-model"]);
        let routed = router
            .complete(SCOPE, &chain, request(), soon())
            .await
            .expect("answered");
        assert_eq!(routed.provider, "second");
        assert_eq!(routed.answered.completion.model, "second-model");
        assert_eq!(routed.failed.len(), 1);
        assert_eq!(routed.failed[0].provider, "first");
        assert_eq!(routed.failed[0].error.kind, FailureKind::ServerError);
    }

    #[tokio::test]
    async fn a_wrong_key_stops_the_walk_instead_of_hiding_behind_a_fallback() {
        let first = Arc::new(Scripted::new("first").failing(&[(FailureKind::Unauthorized, None)]));
        let second = Arc::new(Scripted::new("second"));
        let router = router(&[&first, &second], Routes::default()).expect("router");
        let failure = router
            .complete(SCOPE, &steps(&["first", "second"]), request(), soon())
            .await
            .expect_err("stopped");
        assert_eq!(failure.kind(), FailureKind::Unauthorized);
        assert_eq!(second.calls(), 0);
    }

    #[tokio::test]
    async fn a_provider_the_helpdesk_does_not_allow_never_sees_the_request() {
        let outside = Arc::new(Scripted::new("outside"));
        let inside = Arc::new(Scripted::new("inside"));
        let routes = Routes {
            helpdesks: BTreeMap::from([(
                "acme".to_owned(),
                HelpdeskRoutes {
                    allowed: Some(BTreeSet::from(["inside".to_owned()])),
                    plugins: BTreeMap::new(),
                },
            )]),
            ..Routes::default()
        };
        let router = router(&[&outside, &inside], routes).expect("router");
        // Even a chain handed in whole (a plugin naming its provider) is filtered.
        let routed = router
            .complete(SCOPE, &steps(&["outside", "inside"]), request(), soon())
            .await
            .expect("answered");
        assert_eq!(routed.provider, "inside");
        assert_eq!(routed.failed[0].error.kind, FailureKind::NotAllowed);
        assert_eq!(outside.calls(), 0);
        let manifest = vec!["*".to_owned()];
        let scope = RouteScope {
            plugin: "suggest-reply",
            helpdesk: Some("acme"),
        };
        let chain = router.chain(scope, &["outside".into(), "inside".into()]);
        assert!(
            chain.is_empty(),
            "the manifest's first (outside) is filtered: {chain:?}"
        );
        assert!(matches!(
            router.check_plugin("suggest-reply", &["outside".into()], &[], &["acme"]),
            Err(RouteError::NothingAllowed { .. })
        ));
        assert!(
            router
                .check_plugin("suggest-reply", &manifest, &[], &["acme"])
                .is_err(),
            "the default (manifest `*`: local) is not allowed either"
        );
    }

    #[tokio::test]
    async fn a_spent_budget_means_no_call_to_that_provider_and_the_free_engine_may_answer() {
        use crate::budget::{Budget, BudgetScope, MemorySpend, Prices};
        let cloud = Arc::new(Scripted::new("cloud"));
        let budgets = Arc::new(Budgets::new(
            BTreeMap::from([(
                BudgetScope::Helpdesk("acme".into()),
                Budget {
                    daily_tokens: Some(10),
                    ..Budget::default()
                },
            )]),
            BTreeMap::from([("cloud".to_owned(), Prices::default())]),
            Arc::new(MemorySpend::default()),
        ));
        let router = router(&[&cloud], Routes::default())
            .expect("router")
            .with_budgets(budgets);
        // The request's ceiling (prompt + 50 tokens) passes the helpdesk's 10 a day.
        let failure = router
            .complete(SCOPE, &steps(&["cloud"]), request(), soon())
            .await
            .expect_err("over budget");
        assert_eq!(failure.kind(), FailureKind::BudgetExhausted);
        assert_eq!(
            cloud.calls(),
            0,
            "no call is made that the budget did not let through"
        );
        let routed = router
            .complete(SCOPE, &steps(&["cloud", "local"]), request(), soon())
            .await
            .expect("the built-in engine is free");
        assert_eq!(routed.provider, "local");
        assert_eq!(routed.failed[0].error.kind, FailureKind::BudgetExhausted);
        // Another helpdesk has no budget.
        let other = RouteScope {
            plugin: "suggest-reply",
            helpdesk: Some("globex"),
        };
        assert!(
            router
                .complete(other, &steps(&["cloud"]), request(), soon())
                .await
                .is_ok()
        );
    }

    #[test]
    fn routes_are_found_helpdesk_first_then_plugin_then_default_then_manifest() {
        let a = Arc::new(Scripted::new("a"));
        let b = Arc::new(Scripted::new("b"));
        let c = Arc::new(Scripted::new("c"));
        let routes = Routes {
            default: Some(steps(&["c"])),
            plugins: BTreeMap::from([("suggest-reply".to_owned(), steps(&["b", "local"]))]),
            helpdesks: BTreeMap::from([(
                "acme".to_owned(),
                HelpdeskRoutes {
                    allowed: None,
                    plugins: BTreeMap::from([("suggest-reply".to_owned(), steps(&["a"]))]),
                },
            )]),
        };
        let router = router(&[&a, &b, &c], routes).expect("router");
        let chain = |plugin, helpdesk| router.chain(RouteScope { plugin, helpdesk }, &[]);
        assert_eq!(chain("suggest-reply", Some("acme")), steps(&["a"]));
        assert_eq!(
            chain("suggest-reply", Some("other")),
            steps(&["b", "local"])
        );
        assert_eq!(chain("summarize", Some("acme")), steps(&["c"]));
        let bare = AiRouter::local();
        assert_eq!(
            bare.chain(
                RouteScope {
                    plugin: "x",
                    helpdesk: None
                },
                &["*".into(), "mine".into()]
            ),
            steps(&["mine"])
        );
        assert_eq!(
            bare.chain(
                RouteScope {
                    plugin: "x",
                    helpdesk: None
                },
                &["*".into()]
            ),
            steps(&["local"])
        );
    }

    #[test]
    fn a_route_outside_the_manifest_is_refused_naming_both() {
        let cloud = Arc::new(Scripted::new("cloud"));
        let routes = Routes {
            plugins: BTreeMap::from([("summarize".to_owned(), steps(&["cloud", "local"]))]),
            ..Routes::default()
        };
        let router = router(&[&cloud], routes).expect("router");
        let error = router
            .check_plugin("summarize", &["local".into()], &[], &[])
            .expect_err("local only");
        let text = error.to_string();
        assert!(text.contains("ai.routes.summarize"), "{text}");
        assert!(text.contains("`cloud`"), "{text}");
        assert!(text.contains("[local]"), "{text}");
        assert!(
            router
                .check_plugin("summarize", &["*".into()], &[], &[])
                .is_ok()
        );
        let with_model = Routes {
            plugins: BTreeMap::from([("summarize".to_owned(), steps(&["cloud:cloud-model"]))]),
            ..Routes::default()
        };
        let router = self::router(&[&cloud], with_model).expect("router");
        assert!(matches!(
            router.check_plugin("summarize", &["*".into()], &["other-model".into()], &[]),
            Err(RouteError::ManifestModel { .. })
        ));
        assert!(
            router
                .check_plugin("summarize", &["*".into()], &["cloud-model".into()], &[])
                .is_ok()
        );
    }

    #[test]
    fn routes_naming_unknown_providers_or_models_are_refused_at_construction() {
        let cloud = Arc::new(Scripted::new("cloud"));
        let routes = |step: &str| Routes {
            default: Some(steps(&[step])),
            ..Routes::default()
        };
        assert!(matches!(
            router(&[&cloud], routes("clouds")),
            Err(RouteError::UnknownProvider { .. })
        ));
        assert!(matches!(
            router(&[&cloud], routes("cloud:gpt-9")),
            Err(RouteError::UnknownModel { .. })
        ));
        assert!(router(&[&cloud], routes("cloud:cloud-model")).is_ok());
        let empty = Routes {
            default: Some(Vec::new()),
            ..Routes::default()
        };
        assert!(matches!(
            router(&[&cloud], empty),
            Err(RouteError::Empty { .. })
        ));
    }

    #[test]
    fn targets_parse_with_and_without_a_model() {
        assert_eq!(
            Target::parse("azure-eu:gpt-4o-mini").expect("valid"),
            Target {
                provider: "azure-eu".into(),
                model: Some("gpt-4o-mini".into())
            }
        );
        assert_eq!(Target::parse("local").expect("valid").model, None);
        assert!(Target::parse("Azure").is_err());
        assert!(Target::parse("x:").is_err());
        assert!(Target::parse("").is_err());
    }
}
