//! The generic webhook: a normalized event signed in the Standard Webhooks style.

use deskbridge_store::Store;
use serde_json::json;

use crate::harness::*;

fn event(helpdesk: &str, id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id,
        "kind": "ticket.created",
        "occurred_at": "2026-11-26T09:00:00Z",
        "ticket": {
            "id": "T-1",
            "helpdesk": helpdesk,
            "helpdesk_kind": "generic",
            "subject": "Password reset",
            "status": "new",
            "priority": "normal",
            "tags": [],
            "requester": {"id": "c-1", "name": "Ann", "email": "ann@example.com"},
            "channel": "web",
            "messages": [{
                "id": "m-1",
                "author_role": "customer",
                "visibility": "public",
                "body": "The password reset mail never arrives. Can you help?",
                "created_at": "2026-11-26T09:00:00Z"
            }]
        }
    }))
    .expect("json")
}

fn post(gateway: &Process, id: &str, body: &[u8], secret: &str) -> Answer {
    let key = deskbridge_webhook_auth::standard::decode_secret(secret).expect("secret");
    let timestamp = now_s().to_string();
    let signature = deskbridge_webhook_auth::standard::sign(&key, id, &timestamp, body);
    http(
        &gateway.address,
        "POST",
        "/webhooks/generic/forms",
        &[
            ("Content-Type", "application/json"),
            ("webhook-id", id),
            ("webhook-timestamp", &timestamp),
            ("webhook-signature", &signature),
        ],
        body,
    )
}

#[test]
fn a_signed_normalized_event_is_processed_and_mistakes_are_refused() {
    let files = GatewayFiles::new(&format!(
        "[helpdesks.forms]\nkind = \"generic\"\nwebhook_secret = \"{GENERIC_SECRET}\"\n"
    ));
    let mut gateway = files.start();

    let wrong_key = "whsec_c2VjcmV0LW9mLXNvbWVib2R5LWVsc2U=";
    let answer = post(&gateway, "msg_1", &event("forms", "e-1"), wrong_key);
    assert_eq!(answer.status, 401, "{}", answer.body);
    let answer = post(
        &gateway,
        "msg_1",
        &event("elsewhere", "e-1"),
        GENERIC_SECRET,
    );
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body.contains("ticket.helpdesk"), "{}", answer.body);
    let answer = post(
        &gateway,
        "msg_1",
        br#"{"id":"e-1","kind":"ticket.closed"}"#,
        GENERIC_SECRET,
    );
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(stored_events(&gateway), 0);

    let answer = post(&gateway, "msg_1", &event("forms", "e-1"), GENERIC_SECRET);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "accepted");
    let again = post(&gateway, "msg_1", &event("forms", "e-1"), GENERIC_SECRET);
    assert_eq!(again.json()["status"], "duplicate");
    wait_for(30, "the draft", || status(&gateway)["pending_drafts"] == 1);
    wait_idle(&gateway, 30);

    // A generic helpdesk has no write API: its notes are dead-lettered with a clear reason,
    // visible to operators without the note's text.
    let dead = api_get(&gateway, "/api/v1/outbox/dead-letters");
    assert_eq!(dead[0]["operation"], "internal_note", "{dead}");
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no API"),
        "{dead}"
    );
    assert!(dead[0].get("body").is_none(), "{dead}");
    let counts = status(&gateway);
    gateway.stop();
    let store = open_store(&files.data_dir());
    let dead = store.dead_letters().expect("dead letters");
    assert!(!dead.is_empty(), "{counts} {:?}", store.processed_events());
    let reason = format!("{:?}", dead[0].item.state);
    assert!(reason.contains("no API to deliver to"), "{reason}");
    assert_eq!(store.pending_drafts().expect("drafts")[0].ticket_id, "T-1");
}

/// A generic event's body is validated at ingest and not again while the same process
/// processes it; one read back from disk after a restart is validated again, so a record that
/// does not (or no longer) match the schema fails instead of reaching the plugins.
#[test]
fn an_event_replayed_from_disk_is_validated_again() {
    let files = GatewayFiles::new(&format!(
        "[helpdesks.forms]\nkind = \"generic\"\nwebhook_secret = \"{GENERIC_SECRET}\"\n"
    ));
    let mut body: serde_json::Value = serde_json::from_slice(&event("forms", "e-1")).expect("json");
    body["ticket"]["id"] = json!(""); // `$defs/id` needs at least one character
    body["type"] = json!("normalized");
    let stored: deskbridge_store::InboundEvent = serde_json::from_value(json!({
        "id": "evt_replayed",
        "dedupe_key": "msg_replayed",
        "helpdesk": "forms",
        "helpdesk_kind": "generic",
        "ticket_id": "",
        "received_at_ms": 1_764_000_000_000_i64,
        "source": body,
    }))
    .expect("an inbound event");
    {
        let store = open_store(&files.data_dir());
        store.insert_event(&stored).expect("insert");
    } // dropping the store writes its log to disk

    let mut gateway = files.start();
    wait_for(30, "the replayed event to fail", || {
        status(&gateway)["failed_events"] == 1
    });
    let failed = api_get(&gateway, "/api/v1/events/failed");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("does not form a valid event"), "{failed}");
    assert_eq!(status(&gateway)["pending_drafts"], 0);
    gateway.stop();
}
