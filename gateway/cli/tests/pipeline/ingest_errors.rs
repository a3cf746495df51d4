//! Every way a webhook can be wrong gets its own 4xx with a problem body, and stores nothing.

use serde_json::json;

use crate::harness::*;

fn event_body(ticket: u64, event_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "zen:event-type:ticket.created",
        "id": event_id,
        "subject": format!("zen:ticket:{ticket}"),
        "detail": { "id": ticket.to_string() },
        "event": {},
    }))
    .expect("json")
}

fn assert_problem(answer: &Answer, status: u16, detail: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(
        answer.content_type, "application/problem+json",
        "{}",
        answer.body
    );
    let problem = answer.json();
    assert_eq!(problem["status"], status);
    let text = problem["detail"].as_str().unwrap_or_default();
    assert!(text.contains(detail), "expected {detail:?} in {text:?}");
}

#[test]
fn bad_webhooks_get_specific_errors_and_store_nothing() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let gateway = files.start();
    let ticket = create_ticket(&sim, "Hello", "Where is my parcel? It was due on Monday.");
    let gw = gateway.address.as_str();
    let path = "/webhooks/zendesk/acme";
    let now = now_s().to_string();
    let body = event_body(ticket, "01EVT-A");

    // Wrong secret, stale timestamp, missing headers.
    let answer = post_zendesk(gw, path, &body, "not-the-secret", &now, None);
    assert_problem(&answer, 401, "signature does not match");
    let stale = (now_s() - 3600).to_string();
    let answer = post_zendesk(gw, path, &body, ZENDESK_SECRET, &stale, None);
    assert_problem(&answer, 401, "tolerance");
    let answer = http(
        gw,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_problem(&answer, 401, "missing header");
    // A body changed after signing.
    let signature = deskbridge_webhook_auth::zendesk::sign(ZENDESK_SECRET, &now, &body);
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let answer = http(
        gw,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("X-Zendesk-Webhook-Signature", &signature),
            ("X-Zendesk-Webhook-Signature-Timestamp", &now),
        ],
        &tampered,
    );
    assert_problem(&answer, 401, "signature does not match");

    // Signed but malformed: broken JSON, a missing field, a wrong value.
    let answer = post_zendesk(gw, path, b"{\"type\": ", ZENDESK_SECRET, &now, None);
    assert_problem(&answer, 400, "not valid JSON");
    let answer = post_zendesk(
        gw,
        path,
        br#"{"type":"zen:event-type:ticket.created","detail":{"id":"1"}}"#,
        ZENDESK_SECRET,
        &now,
        None,
    );
    assert_problem(&answer, 422, "field `id`");
    let answer = post_zendesk(
        gw,
        path,
        br#"{"ticket_id":"{{ticket.id}}"}"#,
        ZENDESK_SECRET,
        &now,
        None,
    );
    assert_problem(&answer, 422, "ticket_id");

    // Too large, wrong media type, unknown helpdesk.
    let big = format!(
        "{{\"ticket_id\":\"1\",\"updated_at\":\"{}\"}}",
        "x".repeat(10_000)
    );
    let answer = post_zendesk(gw, path, big.as_bytes(), ZENDESK_SECRET, &now, None);
    assert_problem(&answer, 413, "8192 bytes");
    let answer = http(gw, "POST", path, &[("Content-Type", "text/plain")], &body);
    assert_problem(&answer, 415, "application/json");
    let answer = post_zendesk(
        gw,
        "/webhooks/zendesk/nobody",
        &body,
        ZENDESK_SECRET,
        &now,
        None,
    );
    assert_problem(&answer, 404, "no helpdesk named `nobody`");
    let answer = post_zendesk(
        gw,
        "/webhooks/freshdesk/acme",
        &body,
        ZENDESK_SECRET,
        &now,
        None,
    );
    assert_problem(&answer, 404, "is a zendesk helpdesk");
    // The webhook paths are split by hand (webhooks.rs `dispatch`): other methods and shapes.
    let answer = http(gw, "GET", path, &[], b"");
    assert_problem(&answer, 405, "with POST, not GET");
    let answer = http(gw, "POST", &format!("{path}/extra"), &[], &body);
    assert_problem(&answer, 404, "no route for POST");

    assert_eq!(
        stored_events(&gateway),
        0,
        "nothing may be stored for a rejected request"
    );

    // A genuine event, then its replay: one event, the replay acknowledged as a duplicate.
    let first = post_zendesk(gw, path, &body, ZENDESK_SECRET, &now, Some("inv-1"));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["status"], "accepted");
    let replay = post_zendesk(
        gw,
        "/webhooks/zendesk",
        &body,
        ZENDESK_SECRET,
        &now_s().to_string(),
        Some("inv-2"),
    );
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.json()["status"], "duplicate");
    assert_eq!(replay.json()["event_id"], first.json()["event_id"]);
    wait_idle(&gateway, 30);
    assert_eq!(stored_events(&gateway), 1);
    assert_eq!(
        internal_notes(&sim, ticket).len(),
        1,
        "one note for one event"
    );
}

#[test]
fn past_the_backlog_limit_a_webhook_gets_503_with_retry_after_and_nothing_is_stored() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    // At most one acknowledged event may wait for processing.
    let config = std::fs::read_to_string(files.config()).expect("read config");
    let limited = config.replace(
        "max_body_bytes = 8192",
        "max_body_bytes = 8192\nmax_pending_events = 1",
    );
    assert_ne!(config, limited, "the [ingest] table moved");
    std::fs::write(files.config(), limited).expect("write config");
    let gateway = files.start();
    let first = create_ticket(&sim, "Hello", "Where is my parcel? It was due on Monday.");
    let second = create_ticket(&sim, "Refund", "I returned the shoes two weeks ago.");
    // Fetching the first ticket takes 3 s, so its event stays pending meanwhile.
    inject_faults(
        &sim,
        json!({"method": "GET", "path_prefix": "/api/v2/tickets/", "kind": "delay", "ms": 3000}),
    );
    let (gw, path) = (gateway.address.as_str(), "/webhooks/zendesk/acme");
    let now = now_s().to_string();
    let answer = post_zendesk(
        gw,
        path,
        &event_body(first, "01EVT-1"),
        ZENDESK_SECRET,
        &now,
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);

    let refused = event_body(second, "01EVT-2");
    let answer = post_zendesk(gw, path, &refused, ZENDESK_SECRET, &now, None);
    assert_problem(&answer, 503, "1 acknowledged events wait for processing");
    assert_eq!(
        answer.header("retry-after").as_deref(),
        Some("30"),
        "{}",
        answer.head
    );
    assert_eq!(
        stored_events(&gateway),
        1,
        "nothing of the refused event is stored"
    );

    // Once the backlog is processed, the helpdesk's next delivery is taken.
    wait_idle(&gateway, 30);
    let answer = post_zendesk(gw, path, &refused, ZENDESK_SECRET, &now, None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "accepted", "{}", answer.body);
    wait_idle(&gateway, 30);
    assert_eq!(stored_events(&gateway), 2);
    // Operators see when refusing started and when it ended.
    let log = gateway.log();
    assert!(log.contains("refusing webhooks (503)"), "{log}");
    assert!(log.contains("taking webhooks again"), "{log}");
}
