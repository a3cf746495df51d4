//! The OpenAI-compatible (standard and Azure) and Anthropic adapters against the
//! protocol-faithful simulators: answers, usage and models read; each documented error
//! classified as the router needs it; `Retry-After` and the rate-limit headers read; a route
//! falling back from one vendor to the other; a budget stopping a call before it leaves.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_providers::budget::{Budget, BudgetScope, Budgets, MemorySpend, Prices};
use deskbridge_providers::{
    AiProvider, AiRouter, AnthropicProvider, AnthropicSettings, ChatMessage, ChatRole,
    CompletionRequest, FailureKind, GuardSettings, OpenAiFlavor, OpenAiProvider, OpenAiSettings,
    RouteScope, Routes, Target,
};
use deskbridge_simulators::{AiSimOptions, AiVendor, run_ai};
use serde_json::{Value, json};

const KEY: &str = "sim-key-0123456789";
const TIMEOUT: Duration = Duration::from_secs(10);

/// Starts a simulator on a free port; returns its base URL.
fn start(vendor: AiVendor, models: &[&str], requests_per_minute: u32) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let options = AiSimOptions {
        vendor,
        api_key: KEY.into(),
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        requests_per_minute,
        tokens_per_minute: 0,
        latency: Duration::ZERO,
    };
    std::thread::spawn(move || run_ai(listener, options));
    url
}

async fn control(url: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    deskbridge_connectors::install_tls_provider();
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{url}/_sim/{path}"));
    if !body.is_null() {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    for _ in 0..100 {
        if let Ok(response) = request.try_clone().expect("clonable").send().await {
            let text = response.text().await.unwrap_or_default();
            return serde_json::from_str(&text).unwrap_or(Value::Null);
        }
        // The simulator's thread may still be starting.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the simulator at {url} never answered");
}

async fn fault(url: &str, fault: Value) {
    control(url, reqwest::Method::POST, "faults", fault).await;
}

async fn received(url: &str) -> Vec<Value> {
    match control(url, reqwest::Method::GET, "requests", Value::Null).await {
        Value::Array(requests) => requests,
        other => other["requests"].as_array().cloned().unwrap_or_default(),
    }
}

fn openai(url: &str, key: &str, flavor: OpenAiFlavor) -> OpenAiProvider {
    OpenAiProvider::new(OpenAiSettings {
        name: "oai".into(),
        base_url: url.into(),
        api_key: Some(key.into()),
        flavor,
        models: vec!["gpt-4o-mini".into(), "gpt-4o".into()],
        max_completion_tokens: false,
    })
    .expect("provider")
}

fn anthropic(url: &str, key: &str) -> AnthropicProvider {
    AnthropicProvider::new(AnthropicSettings {
        name: "claude".into(),
        base_url: url.into(),
        api_key: key.into(),
        version: deskbridge_providers::ANTHROPIC_VERSION.into(),
        models: vec!["claude-sonnet-4-5".into()],
    })
    .expect("provider")
}

fn request(max_tokens: u32) -> CompletionRequest {
    CompletionRequest {
        model: None,
        messages: vec![
            ChatMessage {
                role: ChatRole::System,
                content: "Draft a reply for the agent to approve.".into(),
            },
            ChatMessage {
                role: ChatRole::User,
                content: "Customer: my kettle arrived broken, order [ORDER_1].".into(),
            },
        ],
        max_tokens,
    }
}

async fn wait_until_up(url: &str) {
    control(url, reqwest::Method::GET, "health", Value::Null).await;
}

#[tokio::test]
async fn openai_answers_with_text_usage_model_and_quota() {
    let url = start(AiVendor::OpenAi, &["gpt-4o-mini", "gpt-4o"], 1_000);
    wait_until_up(&url).await;
    let provider = openai(&url, KEY, OpenAiFlavor::Standard);
    let answered = provider
        .complete(request(200), TIMEOUT)
        .await
        .expect("answer");
    let completion = &answered.completion;
    assert!(
        completion.text.contains("CONFIDENCE:"),
        "{}",
        completion.text
    );
    assert_eq!(completion.model, "gpt-4o-mini", "the default model");
    assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
    let usage = completion.usage.expect("usage");
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
    assert_eq!(answered.quota.requests_remaining, Some(999));
    // What went over the wire: the documented body.
    let sent = received(&url).await;
    let body = &sent.last().expect("logged")["body"];
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["max_tokens"], 200);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    // A short cap ends the answer with `length`.
    let cut = provider
        .complete(request(3), TIMEOUT)
        .await
        .expect("answer");
    assert_eq!(cut.completion.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn azure_uses_the_deployment_path_and_the_api_key_header() {
    let url = start(AiVendor::OpenAi, &["gpt-4o-mini"], 0);
    wait_until_up(&url).await;
    let provider = openai(
        &url,
        KEY,
        OpenAiFlavor::Azure {
            api_version: "2024-10-21".into(),
        },
    );
    let answered = provider
        .complete(request(100), TIMEOUT)
        .await
        .expect("answer");
    assert!(!answered.completion.text.is_empty());
    let sent = received(&url).await;
    let last = sent.last().expect("logged");
    assert_eq!(
        last["path"],
        "/openai/deployments/gpt-4o-mini/chat/completions"
    );
    assert!(
        last["query"]
            .as_str()
            .is_some_and(|q| q.contains("api-version=2024-10-21")),
        "{last}"
    );
    assert!(
        last["body"].get("model").is_none(),
        "the deployment names it"
    );
}

#[tokio::test]
async fn openai_errors_are_classified_for_the_router() {
    let url = start(AiVendor::OpenAi, &["gpt-4o-mini", "gpt-4o"], 0);
    wait_until_up(&url).await;
    let wrong_key = openai(&url, "sk-wrong", OpenAiFlavor::Standard);
    let error = wrong_key
        .complete(request(50), TIMEOUT)
        .await
        .expect_err("401");
    assert_eq!(error.kind, FailureKind::Unauthorized);
    assert!(!error.to_string().contains("sk-wrong"), "{error}");

    let provider = openai(&url, KEY, OpenAiFlavor::Standard);
    let mut unknown = request(50);
    unknown.model = Some("gpt-9".into());
    let sim_unknown = start(AiVendor::OpenAi, &["gpt-4o-mini"], 0);
    wait_until_up(&sim_unknown).await;
    let error = openai(&sim_unknown, KEY, OpenAiFlavor::Standard)
        .complete(unknown, TIMEOUT)
        .await
        .expect_err("404");
    assert_eq!(error.kind, FailureKind::UnknownModel);

    fault(
        &url,
        json!({"kind": "status", "status": 429, "retry_after": 7}),
    )
    .await;
    let error = provider
        .complete(request(50), TIMEOUT)
        .await
        .expect_err("429");
    assert_eq!(error.kind, FailureKind::RateLimited);
    assert_eq!(error.retry_after, Some(Duration::from_secs(7)));

    fault(&url, json!({"kind": "status", "status": 500})).await;
    let error = provider
        .complete(request(50), TIMEOUT)
        .await
        .expect_err("500");
    assert_eq!(error.kind, FailureKind::ServerError);

    fault(&url, json!({"kind": "delay", "ms": 2_000})).await;
    let started = Instant::now();
    let error = provider
        .complete(request(50), Duration::from_millis(300))
        .await
        .expect_err("slow");
    assert_eq!(error.kind, FailureKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));

    fault(&url, json!({"kind": "drop"})).await;
    let error = provider
        .complete(request(50), TIMEOUT)
        .await
        .expect_err("dropped");
    assert_eq!(error.kind, FailureKind::Unreachable, "{error}");
}

#[tokio::test]
async fn anthropic_answers_and_its_errors_are_classified() {
    let url = start(AiVendor::Anthropic, &["claude-sonnet-4-5"], 1_000);
    wait_until_up(&url).await;
    let provider = anthropic(&url, KEY);
    let answered = provider
        .complete(request(200), TIMEOUT)
        .await
        .expect("answer");
    assert!(answered.completion.text.contains("CONFIDENCE:"));
    assert_eq!(
        answered.completion.finish_reason.as_deref(),
        Some("end_turn")
    );
    assert!(answered.completion.usage.is_some());
    assert_eq!(answered.quota.requests_remaining, Some(999));
    let sent = received(&url).await;
    let body = &sent.last().expect("logged")["body"];
    assert_eq!(body["system"], "Draft a reply for the agent to approve.");
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["max_tokens"], 200);

    fault(&url, json!({"kind": "status", "status": 529})).await;
    let error = provider
        .complete(request(50), TIMEOUT)
        .await
        .expect_err("529");
    assert_eq!(error.kind, FailureKind::Overloaded);
    assert!(error.kind.falls_back());

    let error = anthropic(&url, "wrong")
        .complete(request(50), TIMEOUT)
        .await
        .expect_err("401");
    assert_eq!(error.kind, FailureKind::Unauthorized);
    assert!(!error.kind.falls_back());
}

#[tokio::test]
async fn the_sims_rate_limit_is_read_and_honoured_by_the_guard() {
    // Two requests a minute: the third gets a 429 with Retry-After.
    let url = start(AiVendor::OpenAi, &["gpt-4o-mini"], 2);
    wait_until_up(&url).await;
    let provider = openai(&url, KEY, OpenAiFlavor::Standard);
    for _ in 0..2 {
        provider
            .complete(request(20), TIMEOUT)
            .await
            .expect("within the limit");
    }
    let error = provider
        .complete(request(20), TIMEOUT)
        .await
        .expect_err("limited");
    assert_eq!(error.kind, FailureKind::RateLimited);
    let wait = error.retry_after.expect("retry-after");
    assert!(wait >= Duration::from_secs(1), "{wait:?}");
}

fn steps(text: &[&str]) -> Vec<Target> {
    text.iter()
        .map(|t| Target::parse(t).expect("step"))
        .collect()
}

#[tokio::test]
async fn a_route_falls_back_from_an_overloaded_vendor_to_the_other() {
    let oai = start(AiVendor::OpenAi, &["gpt-4o-mini", "gpt-4o"], 0);
    let claude = start(AiVendor::Anthropic, &["claude-sonnet-4-5"], 0);
    wait_until_up(&oai).await;
    wait_until_up(&claude).await;
    // Three 503s: the first attempt and both retries.
    fault(
        &oai,
        json!({"kind": "status", "status": 503, "times": 3, "retry_after": 0}),
    )
    .await;
    let quick = GuardSettings {
        backoff_base: Duration::from_millis(10),
        ..GuardSettings::default()
    };
    let router = AiRouter::new(
        vec![
            (
                Arc::new(openai(&oai, KEY, OpenAiFlavor::Standard)),
                quick.clone(),
            ),
            (Arc::new(anthropic(&claude, KEY)), quick),
        ],
        Routes::default(),
    )
    .expect("router");
    let scope = RouteScope {
        plugin: "suggest-reply",
        helpdesk: Some("acme"),
    };
    let routed = router
        .complete(
            scope,
            &steps(&["oai:gpt-4o", "claude"]),
            request(100),
            Instant::now() + TIMEOUT,
        )
        .await
        .expect("the second vendor answers");
    assert_eq!(routed.provider, "claude");
    assert_eq!(routed.failed.len(), 1);
    assert_eq!(routed.failed[0].provider, "oai");
    assert_eq!(routed.failed[0].model, "gpt-4o");
    assert_eq!(routed.failed[0].error.kind, FailureKind::Overloaded);
    assert_eq!(received(&oai).await.len(), 3, "tried and retried twice");
}

#[tokio::test]
async fn a_budget_stops_the_call_before_anything_reaches_the_provider() {
    let url = start(AiVendor::OpenAi, &["gpt-4o-mini"], 0);
    wait_until_up(&url).await;
    let budgets = Arc::new(Budgets::new(
        BTreeMap::from([(
            BudgetScope::Provider("oai".into()),
            Budget {
                daily_cost: Some(0.001),
                ..Budget::default()
            },
        )]),
        BTreeMap::from([(
            "oai".to_owned(),
            Prices {
                input_per_million: 5.0,
                output_per_million: 15.0,
            },
        )]),
        Arc::new(MemorySpend::default()),
    ));
    let router = AiRouter::new(
        vec![(
            Arc::new(openai(&url, KEY, OpenAiFlavor::Standard)),
            GuardSettings::default(),
        )],
        Routes::default(),
    )
    .expect("router")
    .with_budgets(budgets);
    let scope = RouteScope {
        plugin: "suggest-reply",
        helpdesk: None,
    };
    // 15 per million output tokens: a 100-token cap may cost 0.0015, more than 0.001.
    let failure = router
        .complete(
            scope,
            &steps(&["oai"]),
            request(100),
            Instant::now() + TIMEOUT,
        )
        .await
        .expect_err("over budget");
    assert_eq!(failure.kind(), FailureKind::BudgetExhausted);
    assert!(received(&url).await.is_empty(), "nothing left the gateway");
    // A small call fits.
    router
        .complete(
            scope,
            &steps(&["oai"]),
            request(20),
            Instant::now() + TIMEOUT,
        )
        .await
        .expect("fits");
    assert_eq!(received(&url).await.len(), 1);
}
