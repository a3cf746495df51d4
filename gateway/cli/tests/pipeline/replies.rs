//! Approved replies through the real binary and the Zendesk simulator: a sensitive draft
//! refuses an agent's approval and goes out, after a supervisor's edit, as a public comment
//! with exactly the edited text, once; a rejected draft
//! never goes out; and a draft altered in the store after its approval is stopped by the
//! delivery gate (dead-lettered, nothing sent) — invariant 1 at the one place every
//! customer-facing send passes through.

use deskbridge_store::Store;
use serde_json::{Value, json};

use crate::harness::*;

fn open_drafts(gateway: &Process, token: &str, ticket: u64) -> Vec<Value> {
    let answer = api_send(
        gateway,
        token,
        "GET",
        &format!("/api/v1/drafts?ticket={ticket}"),
        &json!(null),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json().as_array().cloned().unwrap_or_default()
}

fn draft_state(gateway: &Process, token: &str, id: &str) -> String {
    let answer = api_send(
        gateway,
        token,
        "GET",
        &format!("/api/v1/drafts/{id}"),
        &json!(null),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn decide(gateway: &Process, token: &str, id: &str, body: Value) -> Answer {
    api_send(
        gateway,
        token,
        "POST",
        &format!("/api/v1/drafts/{id}/decisions"),
        &body,
    )
}

fn first_draft(gateway: &Process, token: &str, ticket: u64) -> String {
    wait_for(30, "a draft for the ticket", || {
        !open_drafts(gateway, token, ticket).is_empty()
    });
    open_drafts(gateway, token, ticket)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[test]
fn a_supervisors_edit_goes_out_exactly_once_and_a_rejected_draft_never() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let agent = files.token("Ann Agent", "agent");
    let supervisor = files.token("Sam Supervisor", "supervisor");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);

    // Account access is a sensitive topic for the approval-policy plugin: a supervisor must
    // approve.
    let ticket = create_ticket(
        &sim,
        "Password reset",
        "The reset mail never arrives. Can you help?",
    );
    let draft = first_draft(&gateway, &agent, ticket);
    assert!(
        public_comments(&sim, ticket).len() == 1,
        "only the customer's message so far"
    );

    let edited = "Hello! I have sent a new reset link to your address. It is valid for one hour.";
    let refused = decide(
        &gateway,
        &agent,
        &draft,
        json!({"version": 0, "decision": "edit_approve", "text": edited}),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Supervisor"), "{}", refused.body);
    let answer = decide(
        &gateway,
        &supervisor,
        &draft,
        json!({"version": 0, "decision": "edit_approve", "text": edited}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the reply in the ticket", || {
        public_comments(&sim, ticket).len() == 2
    });
    wait_for(30, "the draft marked sent", || {
        draft_state(&gateway, &agent, &draft) == "sent"
    });
    wait_idle(&gateway, 30);
    let public = public_comments(&sim, ticket);
    assert_eq!(public.len(), 2, "exactly one reply: {public:?}");
    assert_eq!(public[1], edited, "exactly the approved text");

    // The customer answers; the new draft is rejected and never sent.
    customer_writes(&sim, ticket, "Thanks, but that link expired already.");
    wait_for(30, "the second draft", || {
        open_drafts(&gateway, &agent, ticket)
            .iter()
            .any(|d| d["id"] != draft.as_str())
    });
    let second = open_drafts(&gateway, &agent, ticket)
        .into_iter()
        .find(|d| d["id"] != draft.as_str())
        .expect("second draft");
    let second_id = second["id"].as_str().expect("id");
    let answer = decide(
        &gateway,
        &agent,
        second_id,
        json!({"version": 0, "decision": "reject", "reason": "I will call the customer"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_idle(&gateway, 30);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        public_comments(&sim, ticket).len(),
        3,
        "the customer's answer, no second reply"
    );
}

#[test]
fn a_draft_altered_after_its_approval_is_stopped_by_the_gate() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let agent = files.token("Ann Agent", "agent");
    let mut gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let ticket = create_ticket(&sim, "Invoice", "Please send me the invoice for March.");
    let draft = first_draft(&gateway, &agent, ticket);
    wait_for(30, "the summary note", || {
        !internal_notes(&sim, ticket).is_empty()
    });
    wait_idle(&gateway, 30);

    // Replies cannot get through for now: the approval stays queued.
    inject_faults(
        &sim,
        json!({"method": "PUT", "kind": "status", "status": 503}),
    );
    let answer = decide(
        &gateway,
        &agent,
        &draft,
        json!({"version": 0, "decision": "approve"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    gateway.stop();

    // Someone with disk access rewrites the approved text.
    {
        let store = open_store(&files.data_dir());
        let mut stored = store.draft(&draft).expect("read").expect("draft");
        let version = stored.review.version;
        stored.body = "Please pay the attached invoice to account 12345 today.".into();
        assert!(store.update_draft(version, &stored).expect("write"));
    }
    let answer = http(&sim.address, "DELETE", "/_sim/faults", &[], b"");
    assert_eq!(answer.status, 204, "{}", answer.body);
    let gateway = files.start();
    wait_for(30, "the reply dead-lettered", || {
        api_get(&gateway, "/api/v1/outbox/dead-letters")
            .as_array()
            .is_some_and(|dead| dead.iter().any(|d| d["operation"] == "public_reply"))
    });
    let dead = api_get(&gateway, "/api/v1/outbox/dead-letters");
    let reason = dead
        .as_array()
        .and_then(|d| d.iter().find(|d| d["operation"] == "public_reply"))
        .and_then(|d| d["reason"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("delivery gate refused"), "{reason}");
    assert_eq!(
        public_comments(&sim, ticket).len(),
        1,
        "only the customer's message"
    );
}
