//! The helpdesk misbehaves or the gateway dies: nothing is lost, nothing is written twice.

use deskbridge_store::{OutboxState, Store};
use serde_json::json;

use crate::harness::*;

/// Statuses of the simulator's answers to note writes (`PUT /api/v2/tickets/{id}`).
fn note_writes(sim: &Process) -> Vec<u64> {
    get_json(&sim.address, "/_sim/requests")
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["method"] == "PUT")
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect()
}

/// Points the simulator at `gateway`, makes every note write land but answer only after 2.5 s
/// (past the test client's 1 s timeout), opens a ticket and waits for its note; the ticket.
fn note_that_lands_then_times_out(sim: &Process, gateway: &Process) -> u64 {
    point_zendesk_webhooks(sim, gateway);
    inject_faults(
        sim,
        json!({"method": "PUT", "path_prefix": "/api/v2/tickets/", "kind": "apply_then_delay", "ms": 2500}),
    );
    let ticket = create_ticket(
        sim,
        "Address change",
        "Please change my delivery address to 5 Long Road before you ship.",
    );
    wait_for(30, "the note", || !internal_notes(sim, ticket).is_empty());
    ticket
}

#[test]
fn rate_limited_then_failing_then_healthy_posts_exactly_one_note() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    inject_faults(
        &sim,
        json!([
            {"method": "PUT", "path_prefix": "/api/v2/tickets/", "kind": "status", "status": 429, "retry_after": 1},
            {"method": "PUT", "path_prefix": "/api/v2/tickets/", "kind": "status", "status": 500}
        ]),
    );
    let ticket = create_ticket(
        &sim,
        "Broken invoice",
        "The invoice PDF you sent me is empty. Can you send it again?",
    );
    wait_for(30, "the note", || !internal_notes(&sim, ticket).is_empty());
    wait_idle(&gateway, 30);
    assert_eq!(internal_notes(&sim, ticket).len(), 1);
    assert_eq!(note_writes(&sim), vec![429, 500, 200]);
}

#[test]
fn a_timeout_after_the_write_was_applied_posts_exactly_one_note() {
    let sim = start_sim("zendesk");
    // The client gives up after 1 s; the simulator applies the write and answers after 2.5 s.
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let mut gateway = files.start();
    let ticket = note_that_lands_then_times_out(&sim, &gateway);
    wait_idle(&gateway, 30);
    // Give a (wrong) resend every chance to show up.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(internal_notes(&sim, ticket).len(), 1, "{}", gateway.log());
    assert_eq!(
        note_writes(&sim).len(),
        1,
        "the read-back found the note; no second write"
    );

    let event_id = first_acked_event_id(&sim);
    gateway.stop();
    assert_delivered_by_read_back(&files, &format!("{event_id}.summarize.0"));
}

/// The stopped gateway's outbox holds item `id` as delivered, found by a read-back.
fn assert_delivered_by_read_back(files: &GatewayFiles, id: &str) {
    let item = open_store(&files.data_dir())
        .outbox_item(id)
        .expect("store")
        .expect("the note's outbox item");
    assert!(
        matches!(
            item.state,
            OutboxState::Delivered {
                reconciled: true,
                ..
            }
        ),
        "{item:?}"
    );
}

#[test]
fn a_note_that_landed_is_delivered_not_dead_lettered_when_its_retry_comes_past_the_horizon() {
    let sim = start_sim("zendesk");
    // The first attempt lands but times out (client 1 s, answer after 2.5 s); the retry comes
    // 3-6 s later, past the 2 s horizon: only a last read-back tells it landed.
    let files = GatewayFiles::with_retries(
        "base_backoff_ms = 6000\nmax_backoff_ms = 6000\noutbox_give_up_after_s = 2",
        &zendesk_helpdesk("acme", &sim, ""),
    );
    let mut gateway = files.start();
    let ticket = note_that_lands_then_times_out(&sim, &gateway);
    let id = format!("{}.summarize.0", first_acked_event_id(&sim));
    let dead = |gateway: &Process| {
        api_get(gateway, "/api/v1/outbox/dead-letters")
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    wait_for(30, "the note's retry", || {
        gateway
            .log()
            .contains("read-back found an earlier attempt delivered")
            || !dead(&gateway).is_empty()
    });
    assert!(dead(&gateway).is_empty(), "{:?}", dead(&gateway));
    assert_eq!(internal_notes(&sim, ticket).len(), 1);
    gateway.stop();
    assert_delivered_by_read_back(&files, &id);
}

#[test]
fn an_event_acknowledged_just_before_sigkill_is_processed_after_restart() {
    let sim = start_sim("zendesk");
    let ticket = create_ticket(
        &sim,
        "Cancel order",
        "Please cancel my order 778 before it ships, I ordered the wrong size.",
    );
    // The ticket fetch is slow, so the gateway is killed before it can finish the event.
    inject_faults(
        &sim,
        json!({"method": "GET", "path_prefix": "/api/v2/tickets/", "kind": "delay", "ms": 3000}),
    );
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let mut gateway = files.start();
    let body = serde_json::to_vec(&json!({
        "type": "zen:event-type:ticket.created",
        "id": "01EVT-KILL",
        "detail": {"id": ticket.to_string()},
        "event": {},
    }))
    .expect("json");
    let answer = post_zendesk(
        &gateway.address,
        "/webhooks/zendesk/acme",
        &body,
        ZENDESK_SECRET,
        &now_s().to_string(),
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    gateway.kill();
    assert!(
        internal_notes(&sim, ticket).is_empty(),
        "killed before processing"
    );

    let gateway = files.start();
    wait_for(30, "the note after restart", || {
        !internal_notes(&sim, ticket).is_empty()
    });
    wait_idle(&gateway, 30);
    assert_eq!(internal_notes(&sim, ticket).len(), 1);
    assert_eq!(status(&gateway)["processed_events"], 1);
}

#[test]
fn refusals_are_dead_lettered_and_missing_tickets_are_reported() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    inject_faults(
        &sim,
        json!({"method": "PUT", "path_prefix": "/api/v2/tickets/", "kind": "status", "status": 422}),
    );
    let ticket = create_ticket(
        &sim,
        "Refused",
        "This note will be refused by the helpdesk.",
    );
    wait_for(30, "the dead letter", || {
        status(&gateway)["outbox_dead_lettered"] == 1
    });
    let dead = api_get(&gateway, "/api/v1/outbox/dead-letters");
    assert_eq!(dead[0]["ticket_id"], ticket.to_string(), "{dead}");
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("422"),
        "{dead}"
    );
    assert_eq!(dead[0]["attempts"], 1, "a refusal is not retried: {dead}");
    assert!(internal_notes(&sim, ticket).is_empty());

    // A webhook for a ticket the helpdesk does not have: the event is given up, with the reason.
    let body = serde_json::to_vec(&json!({
        "type": "zen:event-type:ticket.created", "id": "01EVT-GONE", "detail": {"id": "999999"}, "event": {}
    }))
    .expect("json");
    let answer = post_zendesk(
        &gateway.address,
        "/webhooks/zendesk/acme",
        &body,
        ZENDESK_SECRET,
        &now_s().to_string(),
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the failed event", || {
        status(&gateway)["failed_events"] == 1
    });
    let failed = api_get(&gateway, "/api/v1/events/failed");
    assert_eq!(failed[0]["ticket_id"], "999999", "{failed}");
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("404"),
        "{failed}"
    );
}

/// One process per data directory: `deskbridge token list` on a running gateway's directory
/// waits for sled's lock, then says that another process holds it; once the gateway stopped,
/// the same command works.
#[test]
fn a_second_process_on_a_running_gateways_data_directory_is_told_who_holds_it() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let mut gateway = files.start();
    let token_list = || {
        deskbridge()
            .args(["token", "list", "--config"])
            .arg(files.config())
            .output()
            .expect("deskbridge token list")
    };
    let refused = token_list();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("is in use by another process"), "{stderr}");
    gateway.stop();
    let listed = token_list();
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(stdout.contains("e2e admin"), "{stdout}");
}
