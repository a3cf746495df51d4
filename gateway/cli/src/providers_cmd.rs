//! `deskbridge providers check [--config FILE]`: one tiny request to each configured provider
//! (and the built-in engine), with the model that answered, the latency, and what failed in
//! plain words — a refused key, an unknown model, an exhausted quota, an unreachable host.
//! Nothing is retried, so the answer is quick and says what is wrong now. Exits 1 when any
//! provider failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use deskbridge_config::Config;
use deskbridge_providers::{
    AiProvider, ChatMessage, ChatRole, CompletionRequest, FailureKind, LocalEngine, ProviderError,
};

/// `deskbridge providers …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ProvidersCommand {
    /// Send one tiny request to each configured AI provider and say what works.
    Check {
        /// A deskbridge.toml (without one only the built-in engine is checked).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// How long to wait for each provider, seconds.
        #[arg(long, default_value_t = 20)]
        timeout: u64,
    },
}

/// What one provider said.
#[derive(Debug, serde::Serialize)]
struct Probe {
    provider: String,
    ok: bool,
    model: Option<String>,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

pub(crate) fn run(command: ProvidersCommand) -> anyhow::Result<ExitCode> {
    let ProvidersCommand::Check {
        config,
        json,
        timeout,
    } = command;
    let config = match &config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let mut providers: Vec<Arc<dyn AiProvider>> = vec![Arc::new(LocalEngine::new())];
    for (name, provider) in &config.providers {
        providers.push(
            crate::ai_setup::provider(name, provider)
                .with_context(|| format!("key `providers.{name}`"))?,
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?;
    let timeout = Duration::from_secs(timeout.max(1));
    let probes: Vec<Probe> = runtime.block_on(async {
        let checks = providers.iter().map(|p| probe(p.as_ref(), timeout));
        futures_util::future::join_all(checks).await
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&probes)?);
    } else {
        for p in &probes {
            match &p.problem {
                None => println!(
                    "ok      {:<20} {} answered in {} ms",
                    p.provider,
                    p.model.as_deref().unwrap_or("?"),
                    p.latency_ms
                ),
                Some(problem) => println!("FAILED  {:<20} {problem}", p.provider),
            }
        }
    }
    Ok(if probes.iter().all(|p| p.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn probe(provider: &dyn AiProvider, timeout: Duration) -> Probe {
    let request = CompletionRequest {
        model: None,
        messages: vec![
            ChatMessage {
                role: ChatRole::System,
                content: "This is a connectivity check. Answer with the single word OK.".into(),
            },
            ChatMessage {
                role: ChatRole::User,
                content: "Are you there?".into(),
            },
        ],
        max_tokens: 5,
    };
    let started = Instant::now();
    let result = provider.complete(request, timeout).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(answered) => Probe {
            provider: provider.name().to_owned(),
            ok: true,
            model: Some(answered.completion.model),
            latency_ms,
            problem: None,
        },
        Err(error) => Probe {
            provider: provider.name().to_owned(),
            ok: false,
            model: None,
            latency_ms,
            problem: Some(explain(provider, &error)),
        },
    }
}

/// A failure in the operator's words, with what to do about it.
fn explain(provider: &dyn AiProvider, error: &ProviderError) -> String {
    let what = match error.kind {
        FailureKind::Unauthorized => "the API key was refused: check api_key".to_owned(),
        FailureKind::UnknownModel => format!(
            "the provider does not know model `{}` (or the base URL is wrong): check models and base_url",
            provider.default_model()
        ),
        FailureKind::RateLimited => {
            "rate limited or out of quota: check the account's limits and billing".to_owned()
        }
        FailureKind::Overloaded | FailureKind::ServerError => {
            "the provider is failing right now: try again later".to_owned()
        }
        FailureKind::Timeout => "no answer in time".to_owned(),
        FailureKind::Unreachable => {
            "cannot reach the provider: check base_url and the network".to_owned()
        }
        FailureKind::BadRequest => {
            "the provider refused the request: check kind, the API version and max_completion_tokens"
                .to_owned()
        }
        FailureKind::BadAnswer => "the answer was not understood: is this the right kind?".to_owned(),
        FailureKind::CircuitOpen
        | FailureKind::Busy
        | FailureKind::NotAllowed
        | FailureKind::BudgetExhausted => error.kind.to_string(),
    };
    format!("{what} ({})", error.message)
}
