//! Freshdesk end to end: an authenticated automation webhook → the ticket re-fetched through
//! the API → a private note and a pending draft → an agent's approved edit as a public reply
//! through `POST /reply`, once.

use deskbridge_store::Store;
use serde_json::{Value, json};

use crate::harness::*;

fn freshdesk_helpdesk(sim: &Process) -> String {
    format!(
        r#"[helpdesks.support]
kind = "freshdesk"
base_url = "http://{}"
api_key = "sim-token"
webhook_auth = {{ basic = {{ username = "{FRESHDESK_USER}", password = "{FRESHDESK_PASSWORD}" }} }}
request_timeout_ms = 1000
"#,
        sim.address
    )
}

#[test]
fn an_authenticated_freshdesk_webhook_becomes_a_note_and_a_pending_draft() {
    let sim = start_sim("freshdesk");
    let files = GatewayFiles::new(&freshdesk_helpdesk(&sim));
    let agent = files.token("Ann Agent", "agent");
    let mut gateway = files.start();
    let answer = post_json(
        &sim.address,
        "PUT",
        "/_sim/webhook",
        &json!({
            "url": format!("http://{}/webhooks/freshdesk/support", gateway.address),
            "basic": [FRESHDESK_USER, FRESHDESK_PASSWORD],
        }),
    );
    assert_eq!(answer.status, 204, "{}", answer.body);

    let ticket = create_ticket(
        &sim,
        "Wrong size",
        "I received size M but ordered L. How do I exchange it?",
    );
    wait_for(30, "the private note", || {
        !internal_notes(&sim, ticket).is_empty()
    });
    wait_idle(&gateway, 30);
    let notes = internal_notes(&sim, ticket);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("Deskbridge ref evt_"), "{}", notes[0]);
    // The note went through POST /notes with private: true.
    let requests = get_json(&sim.address, "/_sim/requests");
    assert!(
        requests
            .as_array()
            .expect("requests")
            .iter()
            .any(|r| r["method"] == "POST"
                && r["path"] == format!("/api/v2/tickets/{ticket}/notes")
                && r["status"] == 201),
        "{requests}"
    );
    // The body was not trusted: the ticket was fetched with its conversations and requester.
    assert!(
        requests
            .as_array()
            .expect("requests")
            .iter()
            .any(|r| r["method"] == "GET" && r["path"] == format!("/api/v2/tickets/{ticket}")),
        "{requests}"
    );

    // The customer replies at once: Freshdesk sends the same body again (it names only the
    // ticket), and it must still be processed.
    customer_writes(&sim, ticket, "Also, the L should be in blue, not red.");
    wait_for(30, "the second note", || {
        internal_notes(&sim, ticket).len() == 2
    });
    wait_idle(&gateway, 30);

    // An agent edits and approves the first draft: it goes out through POST /reply, once.
    let draft = first_draft(&gateway, &agent, ticket);
    let text = "Please send the M back with the prepaid label; the L leaves our warehouse today.";
    let answer = decide(
        &gateway,
        &agent,
        &draft,
        json!({"version": 0, "decision": "edit_approve", "text": text}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the draft marked sent", || {
        draft_state(&gateway, &agent, &draft) == "sent"
    });
    wait_idle(&gateway, 30);
    let replies: Vec<Value> = get_json(&sim.address, "/_sim/requests")
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == format!("/api/v2/tickets/{ticket}/reply"))
        .cloned()
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["status"], 201);
    let public = public_comments(&sim, ticket);
    assert_eq!(
        public.len(),
        3,
        "two customer messages and the reply: {public:?}"
    );
    assert!(public[2].contains(text), "{}", public[2]);

    gateway.stop();
    let store = open_store(&files.data_dir());
    let drafts = store.pending_drafts().expect("drafts");
    assert_eq!(drafts.len(), 2, "{drafts:?}");
    assert_eq!(drafts[0].helpdesk, "support");
    assert_eq!(drafts[0].provenance.plugin_id, "suggest-reply");
}

#[test]
fn freshdesk_webhooks_without_the_right_credentials_are_refused() {
    let sim = start_sim("freshdesk");
    let files = GatewayFiles::new(&freshdesk_helpdesk(&sim));
    let gateway = files.start();
    let body =
        br#"{"freshdesk_webhook":{"ticket_id":"1","triggered_event":"{ticket_action:created}"}}"#;
    let path = "/webhooks/freshdesk/support";
    let none = http(
        &gateway.address,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body,
    );
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(
        none.body.contains("missing basic authentication"),
        "{}",
        none.body
    );
    let wrong = format!(
        "Basic {}",
        base64_encode(&format!("{FRESHDESK_USER}:guess"))
    );
    let answer = http(
        &gateway.address,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &wrong),
        ],
        body,
    );
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(
        answer.body.contains("wrong user name or password"),
        "{}",
        answer.body
    );
    let right = format!(
        "Basic {}",
        base64_encode(&format!("{FRESHDESK_USER}:{FRESHDESK_PASSWORD}"))
    );
    let answer = http(
        &gateway.address,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &right),
        ],
        br#"{"freshdesk_webhook":{"ticket":"1"}}"#,
    );
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.body.contains("freshdesk_webhook.ticket"),
        "{}",
        answer.body
    );
    // Credentials come before the body: a stranger's oversized body is refused for who sent
    // it (401), not read to find out it is too large (413).
    let oversized = vec![b' '; 64 * 1024];
    let answer = http(
        &gateway.address,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &wrong),
        ],
        &oversized,
    );
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(stored_events(&gateway), 0);
}

#[test]
fn a_real_automation_body_with_more_placeholders_is_accepted_and_its_extra_keys_logged_once() {
    let sim = start_sim("freshdesk");
    let files = GatewayFiles::new(&freshdesk_helpdesk(&sim));
    let gateway = files.start();
    let ticket = create_ticket(&sim, "Wrong size", "I received size M but ordered L.");
    let right = format!(
        "Basic {}",
        base64_encode(&format!("{FRESHDESK_USER}:{FRESHDESK_PASSWORD}"))
    );
    // What admins paste once they add the placeholders they find useful.
    let body = format!(
        r#"{{"freshdesk_webhook": {{"ticket_id": "{ticket}", "triggered_event": "{{ticket_action:created}}", "ticket_subject": "Wrong size", "ticket_status": "Open", "requester_email": "ann@example.com", "ticket_url": "https://acme.freshdesk.com/helpdesk/tickets/{ticket}"}}}}"#
    );
    for _ in 0..2 {
        let answer = http(
            &gateway.address,
            "POST",
            "/webhooks/freshdesk/support",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &right),
            ],
            body.as_bytes(),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["status"], "accepted", "{}", answer.body);
    }
    wait_for(30, "the note", || !internal_notes(&sim, ticket).is_empty());
    let log = gateway.log();
    assert_eq!(
        log.matches("keys the gateway does not use").count(),
        1,
        "once per helpdesk and key: {log}"
    );
    assert!(log.contains("freshdesk_webhook.ticket_subject"), "{log}");
}

fn base64_encode(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
