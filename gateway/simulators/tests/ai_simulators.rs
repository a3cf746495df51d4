//! The OpenAI (and Azure OpenAI) and Anthropic simulators over HTTP: success shapes, each
//! documented error, rate limits and their headers, injected faults, scripted answers, the
//! request log, and that the latency is waited asynchronously.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use deskbridge_simulators::{AiSimOptions, AiVendor, run_ai};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const KEY: &str = "sim-key-0123456789";

fn options(vendor: AiVendor) -> AiSimOptions {
    AiSimOptions {
        vendor,
        api_key: KEY.into(),
        models: Vec::new(),
        requests_per_minute: 0,
        tokens_per_minute: 0,
        latency: Duration::ZERO,
    }
}

/// Starts a simulator on a free port; returns its base URL.
fn start(options: AiSimOptions) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || run_ai(listener, options));
    url
}

fn client() -> reqwest::Client {
    deskbridge_connectors::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    fn number_header(&self, name: &str) -> u64 {
        self.header(name).parse().expect("a number")
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("answered");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

async fn openai(url: &str, body: &Value) -> Reply {
    send(
        client()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(KEY)
            .json(body),
    )
    .await
}

async fn anthropic(url: &str, body: &Value) -> Reply {
    send(
        client()
            .post(format!("{url}/v1/messages"))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .json(body),
    )
    .await
}

async fn control(url: &str, path: &str, body: &Value) {
    let response = client()
        .post(format!("{url}/_sim/{path}"))
        .json(body)
        .send()
        .await
        .expect("control API");
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}: {body}");
}

async fn logged(url: &str) -> Vec<Value> {
    let log: Value = client()
        .get(format!("{url}/_sim/requests"))
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    log.as_array().expect("an array").clone()
}

fn chat(model: &str) -> Value {
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You draft replies."},
            {"role": "user", "content": "My parcel ZX-PROMPT-MARKER never arrived."},
        ],
    })
}

fn message(model: &str) -> Value {
    json!({
        "model": model,
        "max_tokens": 500,
        "system": "You draft replies.",
        "messages": [{"role": "user", "content": "My parcel ZX-PROMPT-MARKER never arrived."}],
    })
}

fn openai_error(reply: &Reply) -> (&str, Option<&str>, Option<&str>) {
    let error = &reply.body["error"];
    assert!(error["message"].is_string(), "{}", reply.body);
    (
        error["type"].as_str().expect("type"),
        error["param"].as_str(),
        error["code"].as_str(),
    )
}

fn anthropic_error(reply: &Reply) -> (&str, &str) {
    assert_eq!(reply.body["type"], "error", "{}", reply.body);
    assert!(reply.body["request_id"].is_string());
    (
        reply.body["error"]["type"].as_str().expect("type"),
        reply.body["error"]["message"].as_str().expect("message"),
    )
}

#[tokio::test]
async fn openai_answers_in_the_documented_shape() {
    let url = start(options(AiVendor::OpenAi));
    let reply = openai(&url, &chat("gpt-test")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    assert!(body["id"].as_str().expect("id").starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().expect("created") > 1_600_000_000);
    assert_eq!(body["model"], "gpt-test");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["refusal"], Value::Null);
    assert_eq!(choice["finish_reason"], "stop");
    let content = choice["message"]["content"].as_str().expect("content");
    assert!(content.starts_with("Hello,\n\n"), "{content}");
    assert!(
        content.contains("\nCONFIDENCE: 0.8\nRATIONALE: "),
        "{content}"
    );
    assert!(content.contains("openai simulator (gpt-test)"), "{content}");
    assert!(
        !content.contains("ZX-PROMPT-MARKER"),
        "the prompt is not echoed"
    );
    let usage = &body["usage"];
    let prompt = "You draft replies.My parcel ZX-PROMPT-MARKER never arrived.";
    assert_eq!(usage["prompt_tokens"], prompt.chars().count().div_ceil(4));
    assert_eq!(
        usage["completion_tokens"],
        content.chars().count().div_ceil(4)
    );
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().expect("n")
                + usage["completion_tokens"].as_u64().expect("n")
        )
    );
    assert!(reply.header("x-request-id").starts_with("req_"));

    // Text parts, both token caps and unknown keys are accepted.
    let parts = json!({
        "model": "gpt-test",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "max_completion_tokens": 1000,
        "temperature": 0.2,
        "some_future_option": {"x": 1},
    });
    let reply = openai(&url, &parts).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let models = send(client().get(format!("{url}/v1/models")).bearer_auth(KEY)).await;
    assert_eq!(models.status, StatusCode::OK);
    assert_eq!(models.body["object"], "list");
}

#[tokio::test]
async fn openai_cuts_the_answer_to_max_tokens() {
    let url = start(options(AiVendor::OpenAi));
    for field in ["max_tokens", "max_completion_tokens"] {
        let mut body = chat("gpt-test");
        body[field] = json!(3);
        let reply = openai(&url, &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["choices"][0]["finish_reason"], "length");
        assert_eq!(
            reply.body["choices"][0]["message"]["content"],
            "Hello,\n\nThan"
        );
        assert_eq!(reply.body["usage"]["completion_tokens"], 3);
    }
}

#[tokio::test]
async fn openai_refuses_as_the_reference_does() {
    let mut opts = options(AiVendor::OpenAi);
    opts.models = vec!["gpt-test".into()];
    let url = start(opts);

    let none = send(
        client()
            .post(format!("{url}/v1/chat/completions"))
            .json(&chat("gpt-test")),
    )
    .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(openai_error(&none), ("invalid_request_error", None, None));

    let wrong = send(
        client()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth("sk-wrong-key-abcdefgh")
            .json(&chat("gpt-test")),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(openai_error(&wrong).2, Some("invalid_api_key"));

    let unknown = openai(&url, &chat("gpt-nope")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        openai_error(&unknown),
        ("invalid_request_error", None, Some("model_not_found"))
    );
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("gpt-nope")
    );

    let cases: [(Value, &str, &str); 9] = [
        (
            json!({"model": "gpt-test"}),
            "messages",
            "missing_required_parameter",
        ),
        (
            json!({"model": "gpt-test", "messages": []}),
            "messages",
            "empty_array",
        ),
        (
            json!({"model": "gpt-test", "messages": "hi"}),
            "messages",
            "invalid_type",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "robot", "content": "hi"}]}),
            "messages[0].role",
            "invalid_value",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user"}]}),
            "messages[0].content",
            "missing_required_parameter",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            "messages[0].content[0].type",
            "invalid_value",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}),
            "max_tokens",
            "integer_below_min_value",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": "9"}),
            "max_completion_tokens",
            "invalid_type",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "model",
            "",
        ),
    ];
    for (body, param, code) in cases {
        let reply = openai(&url, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.body
        );
        let (kind, got_param, got_code) = openai_error(&reply);
        assert_eq!(kind, "invalid_request_error");
        assert_eq!(got_param, Some(param), "{body}: {}", reply.body);
        assert_eq!(got_code.unwrap_or(""), code, "{body}: {}", reply.body);
    }

    let not_json = send(
        client()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert!(
        not_json.body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("parse the JSON")
    );

    let wrong_path = send(client().post(format!("{url}/v1/chats")).bearer_auth(KEY)).await;
    assert_eq!(wrong_path.status, StatusCode::NOT_FOUND);
    assert!(
        wrong_path.body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("Invalid URL")
    );

    // The log has every request, with whether auth was present, and never the key.
    let log = logged(&url).await;
    assert_eq!(log.len(), 14);
    assert_eq!(log[0]["auth"], false);
    assert_eq!(log[0]["status"], 401);
    assert_eq!(log[1]["auth"], true);
    assert!(!serde_json::to_string(&log).expect("json").contains(KEY));
}

#[tokio::test]
async fn azure_deployments_answer_with_the_api_key_header() {
    let mut opts = options(AiVendor::OpenAi);
    opts.models = vec!["support-gpt".into()];
    let url = start(opts);
    let path = format!("{url}/openai/deployments/support-gpt/chat/completions");
    let body = json!({"messages": [{"role": "user", "content": "Hi"}]});

    let reply = send(
        client()
            .post(format!("{path}?api-version=2024-10-21"))
            .header("api-key", KEY)
            .json(&body),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["object"], "chat.completion");
    assert_eq!(
        reply.body["model"], "support-gpt",
        "the deployment is the model"
    );
    assert!(reply.body["prompt_filter_results"].is_array());
    let content = reply.body["choices"][0]["message"]["content"]
        .as_str()
        .expect("content");
    assert!(content.contains("RATIONALE: answered by the azure openai simulator (support-gpt)."));

    let no_version = send(client().post(&path).header("api-key", KEY).json(&body)).await;
    assert_eq!(no_version.status, StatusCode::NOT_FOUND);
    assert_eq!(
        no_version.body,
        json!({"error": {"code": "404", "message": "Resource not found"}})
    );

    let bearer = send(
        client()
            .post(format!("{path}?api-version=2024-10-21"))
            .bearer_auth(KEY)
            .json(&body),
    )
    .await;
    assert_eq!(bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bearer.body["error"]["code"], "401");

    let wrong_key = send(
        client()
            .post(format!("{path}?api-version=2024-10-21"))
            .header("api-key", "nope")
            .json(&body),
    )
    .await;
    assert_eq!(wrong_key.status, StatusCode::UNAUTHORIZED);

    let other = send(
        client()
            .post(format!(
                "{url}/openai/deployments/other/chat/completions?api-version=2024-10-21"
            ))
            .header("api-key", KEY)
            .json(&body),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(other.body["error"]["code"], "DeploymentNotFound");

    let log = logged(&url).await;
    assert_eq!(log[0]["query"], "api-version=2024-10-21");
    assert_eq!(
        log[0]["path"],
        "/openai/deployments/support-gpt/chat/completions"
    );
    assert_eq!(log[0]["body"], body);
}

#[tokio::test]
async fn openai_rate_limits_requests_with_headers_and_retry_after() {
    let mut opts = options(AiVendor::OpenAi);
    opts.requests_per_minute = 3;
    // 10 tokens a second: refill cannot make up for a request's ~55 between two requests.
    opts.tokens_per_minute = 600;
    let url = start(opts);
    let mut remaining_requests = Vec::new();
    let mut remaining_tokens = Vec::new();
    for _ in 0..3 {
        let reply = openai(&url, &chat("gpt-test")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.number_header("x-ratelimit-limit-requests"), 3);
        assert_eq!(reply.number_header("x-ratelimit-limit-tokens"), 600);
        remaining_requests.push(reply.number_header("x-ratelimit-remaining-requests"));
        remaining_tokens.push(reply.number_header("x-ratelimit-remaining-tokens"));
        let reset = reply.header("x-ratelimit-reset-requests");
        assert!(reset.ends_with('s'), "a Go-style duration: {reset}");
        assert!(reply.header("x-ratelimit-reset-tokens").ends_with('s'));
    }
    assert_eq!(remaining_requests, [2, 1, 0]);
    assert!(
        remaining_tokens.windows(2).all(|w| w[1] < w[0]),
        "{remaining_tokens:?}"
    );

    let refused = openai(&url, &chat("gpt-test")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        openai_error(&refused),
        ("requests", None, Some("rate_limit_exceeded"))
    );
    let retry_after = refused.number_header("retry-after");
    assert!(
        (1..=20).contains(&retry_after),
        "one request is back in 20 s: {retry_after}"
    );
    assert_eq!(refused.number_header("x-ratelimit-remaining-requests"), 0);
    assert_eq!(logged(&url).await.len(), 4);
}

#[tokio::test]
async fn openai_rate_limits_tokens() {
    let mut opts = options(AiVendor::OpenAi);
    opts.tokens_per_minute = 100;
    let url = start(opts);
    let mut body = chat("gpt-test");
    body["max_tokens"] = json!(50);
    let first = openai(&url, &body).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = openai(&url, &body).await;
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.body
    );
    assert_eq!(
        openai_error(&second),
        ("tokens", None, Some("rate_limit_exceeded"))
    );
    assert!(second.number_header("retry-after") >= 1);

    body["max_tokens"] = json!(500);
    let too_large = openai(&url, &body).await;
    assert_eq!(too_large.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        too_large.body["error"]["message"]
            .as_str()
            .expect("m")
            .starts_with("Request too large")
    );
    assert!(
        too_large.headers.get("retry-after").is_none(),
        "waiting cannot help"
    );
}

#[tokio::test]
async fn openai_faults_are_injected() {
    let url = start(options(AiVendor::OpenAi));
    control(
        &url,
        "faults",
        &json!({"kind": "status", "status": 500, "times": 2}),
    )
    .await;
    for _ in 0..2 {
        let reply = openai(&url, &chat("gpt-test")).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(openai_error(&reply).0, "server_error");
    }
    control(
        &url,
        "faults",
        &json!({"kind": "status", "status": 429, "retry_after": 7}),
    )
    .await;
    let limited = openai(&url, &chat("gpt-test")).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), "7");
    assert_eq!(openai_error(&limited).2, Some("rate_limit_exceeded"));

    control(&url, "faults", &json!({"kind": "delay", "ms": 150})).await;
    let started = Instant::now();
    let slow = openai(&url, &chat("gpt-test")).await;
    assert_eq!(slow.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));

    control(&url, "faults", &json!({"kind": "drop"})).await;
    let dropped = client()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&chat("gpt-test"))
        .send()
        .await;
    assert!(dropped.is_err(), "no answer at all: {dropped:?}");

    let after = openai(&url, &chat("gpt-test")).await;
    assert_eq!(after.status, StatusCode::OK, "faults are used up");
    let log = logged(&url).await;
    let statuses: Vec<Value> = log.iter().map(|r| r["status"].clone()).collect();
    assert_eq!(
        statuses,
        [
            json!(500),
            json!(500),
            json!(429),
            json!(200),
            Value::Null,
            json!(200)
        ]
    );
    assert!(log[4]["fault"].as_str().expect("fault").contains("Drop"));

    let bad = client()
        .post(format!("{url}/_sim/faults"))
        .json(&json!({"kind": "status", "status": 200}))
        .send()
        .await
        .expect("control");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn scripted_answers_come_first_in_first_out() {
    let url = start(options(AiVendor::OpenAi));
    control(
        &url,
        "answers",
        &json!([{"text": "First.\nCONFIDENCE: 0.3\nRATIONALE: one", "times": 2}, {"text": "Second."}]),
    )
    .await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        let reply = openai(&url, &chat("gpt-test")).await;
        answers.push(
            reply.body["choices"][0]["message"]["content"]
                .as_str()
                .expect("c")
                .to_owned(),
        );
    }
    assert_eq!(answers[0], "First.\nCONFIDENCE: 0.3\nRATIONALE: one");
    assert_eq!(answers[1], answers[0]);
    assert_eq!(answers[2], "Second.");
    assert!(answers[3].starts_with("Hello,"), "then the default");

    let log = logged(&url).await;
    assert_eq!(log[0]["body"], chat("gpt-test"), "the body as received");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/v1/chat/completions");
    let cleared = client()
        .delete(format!("{url}/_sim/requests"))
        .send()
        .await
        .expect("delete");
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(logged(&url).await.is_empty());
}

#[tokio::test]
async fn latency_is_waited_concurrently() {
    let mut opts = options(AiVendor::OpenAi);
    opts.latency = Duration::from_millis(300);
    let url = start(opts);
    let client = client();
    let started = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let request = client
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(KEY)
                .json(&chat("gpt-test"));
            tokio::spawn(async move { request.send().await.map(|r| r.status()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("answered"), StatusCode::OK);
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300));
    // Waited one after another on 2 workers this would take 15 s.
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let health: Value = client
        .get(format!("{url}/_sim/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health, json!({"status": "ok", "vendor": "openai"}));
}

#[tokio::test]
async fn anthropic_answers_in_the_documented_shape() {
    let url = start(options(AiVendor::Anthropic));
    let reply = anthropic(&url, &message("claude-test")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    assert!(body["id"].as_str().expect("id").starts_with("msg_"));
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["content"][0]["type"], "text");
    let text = body["content"][0]["text"].as_str().expect("text");
    assert!(text.contains(
        "\nCONFIDENCE: 0.8\nRATIONALE: answered by the anthropic simulator (claude-test)."
    ));
    assert!(!text.contains("ZX-PROMPT-MARKER"));
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    let prompt = "My parcel ZX-PROMPT-MARKER never arrived.You draft replies.";
    assert_eq!(
        body["usage"]["input_tokens"],
        prompt.chars().count().div_ceil(4)
    );
    assert_eq!(
        body["usage"]["output_tokens"],
        text.chars().count().div_ceil(4)
    );
    assert!(reply.header("request-id").starts_with("req_"));

    // A system prompt as blocks, content as blocks, unknown keys.
    let blocks = json!({
        "model": "claude-test",
        "max_tokens": 2,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Help"},
        ],
        "metadata": {"user_id": "x"},
    });
    let cut = anthropic(&url, &blocks).await;
    assert_eq!(cut.status, StatusCode::OK, "{}", cut.body);
    assert_eq!(cut.body["stop_reason"], "max_tokens");
    assert_eq!(cut.body["content"][0]["text"], "Hello,\n\n");
    assert_eq!(cut.body["usage"]["output_tokens"], 2);

    let mut stop = message("claude-test");
    stop["stop_sequences"] = json!(["CONFIDENCE:"]);
    let stopped = anthropic(&url, &stop).await;
    assert_eq!(stopped.body["stop_reason"], "stop_sequence");
    assert_eq!(stopped.body["stop_sequence"], "CONFIDENCE:");
    assert!(
        !stopped.body["content"][0]["text"]
            .as_str()
            .expect("t")
            .contains("CONFIDENCE")
    );
}

#[tokio::test]
async fn anthropic_refuses_as_the_reference_does() {
    let mut opts = options(AiVendor::Anthropic);
    opts.models = vec!["claude-test".into()];
    let url = start(opts);
    let endpoint = format!("{url}/v1/messages");

    let no_key = send(
        client()
            .post(&endpoint)
            .header("anthropic-version", "2023-06-01")
            .json(&message("claude-test")),
    )
    .await;
    assert_eq!(no_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anthropic_error(&no_key).0, "authentication_error");

    let wrong_key = send(
        client()
            .post(&endpoint)
            .header("x-api-key", "nope")
            .header("anthropic-version", "2023-06-01")
            .json(&message("claude-test")),
    )
    .await;
    assert_eq!(wrong_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anthropic_error(&wrong_key),
        ("authentication_error", "invalid x-api-key")
    );

    let no_version = send(
        client()
            .post(&endpoint)
            .header("x-api-key", KEY)
            .json(&message("claude-test")),
    )
    .await;
    assert_eq!(no_version.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        anthropic_error(&no_version),
        (
            "invalid_request_error",
            "anthropic-version: header is required"
        )
    );

    let bad_version = send(
        client()
            .post(&endpoint)
            .header("x-api-key", KEY)
            .header("anthropic-version", "2099-01-01")
            .json(&message("claude-test")),
    )
    .await;
    assert_eq!(bad_version.status, StatusCode::BAD_REQUEST);

    let mut no_max = message("claude-test");
    no_max.as_object_mut().expect("object").remove("max_tokens");
    let reply = anthropic(&url, &no_max).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        anthropic_error(&reply),
        ("invalid_request_error", "max_tokens: Field required")
    );

    let system_role = json!({
        "model": "claude-test",
        "max_tokens": 10,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
    });
    let reply = anthropic(&url, &system_role).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let (kind, text) = anthropic_error(&reply);
    assert_eq!(kind, "invalid_request_error");
    assert!(text.contains("Unexpected role \"system\""), "{text}");

    let empty = json!({"model": "claude-test", "max_tokens": 10, "messages": []});
    let reply = anthropic(&url, &empty).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        anthropic_error(&reply).1,
        "messages: at least one message is required"
    );

    let unknown = anthropic(&url, &message("claude-nope")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        anthropic_error(&unknown),
        ("not_found_error", "model: claude-nope")
    );

    for (status, kind) in [(500, "api_error"), (529, "overloaded_error")] {
        control(&url, "faults", &json!({"kind": "status", "status": status})).await;
        let reply = anthropic(&url, &message("claude-test")).await;
        assert_eq!(reply.status.as_u16(), status);
        assert_eq!(anthropic_error(&reply).0, kind);
        assert_eq!(
            reply.body["request_id"].as_str(),
            Some(reply.header("request-id"))
        );
    }

    let log = logged(&url).await;
    assert_eq!(log.len(), 10);
    assert_eq!(log[0]["auth"], false);
    assert_eq!(log[1]["auth"], true);
    assert_eq!(log[2]["status"], 400);
}

#[tokio::test]
async fn anthropic_rate_limits_with_headers_and_retry_after() {
    let mut opts = options(AiVendor::Anthropic);
    opts.requests_per_minute = 2;
    // 20 tokens a second, room for max_tokens 500 twice.
    opts.tokens_per_minute = 1_200;
    let url = start(opts);
    let mut remaining = Vec::new();
    for _ in 0..2 {
        let reply = anthropic(&url, &message("claude-test")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.number_header("anthropic-ratelimit-requests-limit"), 2);
        assert_eq!(
            reply.number_header("anthropic-ratelimit-tokens-limit"),
            1_200
        );
        remaining.push((
            reply.number_header("anthropic-ratelimit-requests-remaining"),
            reply.number_header("anthropic-ratelimit-tokens-remaining"),
        ));
        for name in [
            "anthropic-ratelimit-requests-reset",
            "anthropic-ratelimit-tokens-reset",
        ] {
            let reset = reply.header(name);
            // RFC 3339 in UTC, e.g. 2026-12-04T10:00:30Z.
            assert_eq!(reset.len(), 20, "{reset}");
            assert!(
                reset.ends_with('Z') && reset.as_bytes()[10] == b'T',
                "{reset}"
            );
        }
    }
    assert_eq!(remaining[0].0, 1);
    assert_eq!(remaining[1].0, 0);
    assert!(remaining[1].1 < remaining[0].1, "{remaining:?}");

    let refused = anthropic(&url, &message("claude-test")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(anthropic_error(&refused).0, "rate_limit_error");
    assert!(refused.number_header("retry-after") >= 1);

    let reset = client()
        .delete(format!("{url}/_sim/limits"))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let again = anthropic(&url, &message("claude-test")).await;
    assert_eq!(again.status, StatusCode::OK);
}

#[tokio::test]
async fn anthropic_scripted_answers_and_log() {
    let url = start(options(AiVendor::Anthropic));
    control(&url, "answers", &json!({"text": "Scripted [EMAIL_1]."})).await;
    let reply = anthropic(&url, &message("claude-test")).await;
    assert_eq!(reply.body["content"][0]["text"], "Scripted [EMAIL_1].");
    let log = logged(&url).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["body"], message("claude-test"));
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["auth"], true);
    assert_eq!(
        log[0]["request_id"].as_str(),
        Some(reply.header("request-id"))
    );
}
