//! What operators run the gateway with: `/readyz` (store, plugins, each helpdesk's API),
//! `/metrics` in the Prometheus format, JSON logs with the request id carried from the
//! webhook to the delivery, and logs that hold no secret and no ticket text even at debug.

use serde_json::{Value, json};

use crate::harness::*;

#[test]
fn readyz_names_an_unreachable_helpdesk_without_saying_why() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let gateway = files.start();
    let ready = http(&gateway.address, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(
        ready.json()["helpdesks"],
        json!([{"name": "acme", "status": "ok"}])
    );
    assert_eq!(ready.json()["store"], "ok");
    drop(gateway);

    // Credentials the helpdesk refuses: not ready, and the body does not say why.
    let wrong = zendesk_helpdesk("acme", &sim, "").replace("sim-token", "not-the-token");
    let files = GatewayFiles::new(&wrong);
    let gateway = files.start();
    let ready = http(&gateway.address, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(ready.json()["status"], "not_ready");
    assert_eq!(ready.json()["helpdesks"][0]["status"], "unreachable");
    assert!(!ready.body.contains("401"), "{}", ready.body);
    wait_for(5, "the reason in the log", || {
        gateway
            .log()
            .contains("readiness: the helpdesk refused its probe")
    });
}

#[test]
fn metrics_count_ingest_plugins_outbox_and_decisions() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let agent = files.token("Ann Agent", "agent");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let ticket = create_ticket(&sim, "Opening hours", "Are you open on Saturdays?");
    let draft = first_draft(&gateway, &agent, ticket);
    let answer = approve(&gateway, &agent, &draft, 0);
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the reply", || public_comments(&sim, ticket).len() == 2);
    // The outbox counts a delivery once the helpdesk's answer is back, which may be just
    // after the simulator shows it.
    let delivered = "deskbridge_outbox_attempts_total{helpdesk=\"acme\",result=\"delivered\"} 2";
    wait_for(10, "both deliveries counted", || {
        http(&gateway.address, "GET", "/metrics", &[], b"")
            .body
            .contains(delivered)
    });

    let metrics = http(&gateway.address, "GET", "/metrics", &[], b"");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .content_type
            .starts_with("text/plain; version=0.0.4"),
        "{}",
        metrics.content_type
    );
    let text = metrics.body;
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(series)
                    .and_then(|rest| rest.trim().parse().ok())
            })
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    assert!(value("deskbridge_ingest_total{helpdesk=\"acme\",result=\"accepted\"}") >= 1.0);
    assert!(value("deskbridge_plugin_calls_total{plugin=\"summarize\",outcome=\"ok\"}") >= 1.0);
    assert!(value("deskbridge_plugin_fuel_total{plugin=\"suggest-reply\"}") > 0.0);
    assert!(
        value("deskbridge_outbox_attempts_total{helpdesk=\"acme\",result=\"delivered\"}") >= 2.0
    );
    assert_eq!(value("deskbridge_decisions_total{kind=\"approve\"}"), 1.0);
    assert!(value("deskbridge_pipeline_latency_seconds_count") >= 1.0);
    assert!(value("deskbridge_provider_calls_total{provider=\"local\",outcome=\"ok\"}") >= 1.0);
    assert_eq!(
        value("deskbridge_plugin_enabled{plugin=\"summarize\"}"),
        1.0
    );
    assert_eq!(value("deskbridge_outbox_dead_letters"), 0.0);
    assert!(
        text.contains("# TYPE deskbridge_drafts_open gauge"),
        "{text}"
    );
}

#[test]
fn json_logs_carry_the_webhooks_request_id_to_the_delivery() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&format!(
        "{}\n[log]\nformat = \"json\"\n",
        zendesk_helpdesk("acme", &sim, "")
    ));
    let gateway = files.start();
    // The ticket exists; its webhook is delivered by hand, with a request id.
    let ticket = create_ticket(&sim, "Opening hours", "Are you open on Saturdays?");
    let body = serde_json::to_vec(&json!({
        "type": "zen:event-type:ticket.created", "id": "01EVT-REQ-ID",
        "detail": {"id": ticket.to_string()}, "event": {}
    }))
    .expect("json");
    let timestamp = chrono_free_now();
    let signature = deskbridge_webhook_auth::zendesk::sign(ZENDESK_SECRET, &timestamp, &body);
    let answer = http(
        &gateway.address,
        "POST",
        "/webhooks/zendesk/acme",
        &[
            ("Content-Type", "application/json"),
            ("X-Zendesk-Webhook-Signature", &signature),
            ("X-Zendesk-Webhook-Signature-Timestamp", &timestamp),
            ("X-Request-Id", "e2e-req-42"),
        ],
        &body,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-request-id").as_deref(), Some("e2e-req-42"));
    wait_for(30, "the summary note", || {
        !internal_notes(&sim, ticket).is_empty()
    });
    wait_for(10, "the delivery's log line", || {
        gateway.log().contains("outbox item delivered")
    });
    let lines: Vec<Value> = gateway
        .log()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "{}", gateway.log());
    let message = |line: &Value| {
        line["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let processed = lines
        .iter()
        .find(|l| message(l) == "event processed")
        .expect("an event processed line");
    assert_eq!(processed["span"]["request_id"], "e2e-req-42", "{processed}");
    let delivered = lines
        .iter()
        .find(|l| message(l) == "outbox item delivered")
        .expect("a delivery line");
    assert_eq!(
        delivered["fields"]["request_id"], "e2e-req-42",
        "{delivered}"
    );
    // Any other request gets an id of its own.
    let health = http(&gateway.address, "GET", "/healthz", &[], b"");
    assert!(
        health
            .header("x-request-id")
            .is_some_and(|id| id.starts_with("req_"))
    );
}

/// Unix seconds as text.
fn chrono_free_now() -> String {
    now_s().to_string()
}

#[test]
fn no_secret_and_no_ticket_text_reaches_the_log_even_at_debug() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let agent = files.token("Ann Agent", "agent");
    let mut gateway = {
        let _ = &files;
        files.start_with_log_filter(
            "debug,actix_server=info,actix_http=info,h2=info,hyper=info,hyper_util=info,reqwest=info,rustls=info,sled=info,tantivy=info,wasmtime=info,cranelift_codegen=info,cranelift_frontend=info,wasmtime_cranelift=info,mio=info",
        )
    };
    point_zendesk_webhooks(&sim, &gateway);
    let secret_words = "Zebra-Quartz-7781 my cat's name is Persimmon";
    let ticket = create_ticket(
        &sim,
        "Quartz question 7781",
        &format!("Hello, {secret_words}. Are you open on Saturdays?"),
    );
    let draft = first_draft(&gateway, &agent, ticket);
    let detail = draft_detail(&gateway, &agent, &draft);
    let edited = "Yes, we are open on Saturdays from 9 to 13. Vermilion-Otter-5521.";
    let answer = decide(
        &gateway,
        &agent,
        &draft,
        json!({"version": detail["version"], "decision": "edit_approve", "text": edited}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the reply", || public_comments(&sim, ticket).len() == 2);
    wait_idle(&gateway, 30);
    gateway.stop();
    let log = gateway.log();
    assert!(
        log.contains("webhook acknowledged"),
        "the log ran at debug: {log}"
    );
    for (what, needle) in [
        ("the customer's words", "Zebra-Quartz-7781"),
        ("the customer's words", "Persimmon"),
        ("the subject", "Quartz question"),
        ("the requester's email", "ann@example.com"),
        ("the approved reply", "Vermilion-Otter"),
        ("the Zendesk API token", "sim-token"),
        ("the webhook secret", ZENDESK_SECRET),
        ("the agent's API token", agent.as_str()),
        ("the admin's API token", files.admin_token.as_str()),
    ] {
        assert!(
            !log.contains(needle),
            "{what} ({needle}) is in the log:\n{log}"
        );
    }
}
