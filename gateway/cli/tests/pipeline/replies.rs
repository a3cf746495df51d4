//! Approved replies through the real binary and the Zendesk simulator: a sensitive draft
//! refuses an agent's approval and goes out, after a supervisor's edit, as a public comment
//! with exactly the edited text, once; a rejected draft
//! never goes out; and a draft altered in the store after its approval is stopped by the
//! delivery gate (dead-lettered, nothing sent) — invariant 1 at the one place every
//! customer-facing send passes through. A gateway killed between an approval and its delivery
//! (before the send, and after the helpdesk applied it) delivers exactly once after restart.

use deskbridge_store::Store;
use serde_json::json;

use crate::harness::*;

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
    let answer = approve(&gateway, &agent, &draft, 0);
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

#[test]
fn a_crash_between_approval_and_delivery_delivers_exactly_once() {
    let sim = start_sim("zendesk");
    // A long request timeout: the gateway is killed while it still waits for the helpdesk.
    let helpdesk = zendesk_helpdesk("acme", &sim, "")
        .replace("request_timeout_ms = 1000", "request_timeout_ms = 20000");
    let files = GatewayFiles::new(&helpdesk);
    let agent = files.token("Ann Agent", "agent");
    let mut gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);

    // 1. Killed before any send could succeed: the helpdesk refuses writes for now.
    let first = create_ticket(&sim, "Invoice", "Please send me the invoice for March.");
    let draft = first_draft(&gateway, &agent, first);
    wait_for(30, "the summary note", || {
        !internal_notes(&sim, first).is_empty()
    });
    wait_idle(&gateway, 30);
    inject_faults(
        &sim,
        json!({"method": "PUT", "kind": "status", "status": 503, "times": 1000}),
    );
    let answer = approve(&gateway, &agent, &draft, 0);
    assert_eq!(answer.status, 200, "{}", answer.body);
    gateway.kill();
    assert_eq!(public_comments(&sim, first).len(), 1, "nothing sent yet");
    let answer = http(&sim.address, "DELETE", "/_sim/faults", &[], b"");
    assert_eq!(answer.status, 204, "{}", answer.body);
    let mut gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    wait_for(30, "the reply after restart", || {
        public_comments(&sim, first).len() == 2
    });
    wait_for(30, "the draft marked sent", || {
        draft_state(&gateway, &agent, &draft) == "sent"
    });

    // 2. Killed after the helpdesk applied the reply but before it answered.
    customer_writes(&sim, first, "Thanks! And the one for April?");
    // The first draft is no longer open: the next open one is the new one.
    let second = first_draft(&gateway, &agent, first);
    wait_idle(&gateway, 30);
    inject_faults(
        &sim,
        json!({"method": "PUT", "kind": "apply_then_delay", "ms": 15000}),
    );
    let answer = approve(&gateway, &agent, &second, 0);
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(10, "the helpdesk applying the reply", || {
        public_comments(&sim, first).len() == 4
    });
    gateway.kill();
    let answer = http(&sim.address, "DELETE", "/_sim/faults", &[], b"");
    assert_eq!(answer.status, 204, "{}", answer.body);
    let gateway = files.start();
    wait_for(30, "the second draft marked sent", || {
        draft_state(&gateway, &agent, &second) == "sent"
    });
    wait_idle(&gateway, 30);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let public = public_comments(&sim, first);
    assert_eq!(public.len(), 4, "each reply exactly once: {public:?}");
    assert_eq!(
        audit_entries_of(&files, "reply.delivered").len(),
        2,
        "each delivery logged once"
    );
}

#[test]
fn a_two_person_draft_waits_for_a_second_person_and_replayed_decisions_send_nothing() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&format!(
        "[plugins.config.approval-policy]\napprovers = 2\n\n{}",
        zendesk_helpdesk("acme", &sim, "")
    ));
    let ann = files.token("Ann Agent", "agent");
    let bob = files.token("Bob Agent", "agent");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);

    let ticket = create_ticket(&sim, "Invoice", "Please send me the invoice for March.");
    let draft = first_draft(&gateway, &ann, ticket);
    let approve = |token: &str, version: u64| {
        decide(
            &gateway,
            token,
            &draft,
            json!({"version": version, "decision": "approve"}),
        )
    };
    let first = approve(&ann, 0);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["state"], "pending", "one of two approvals");
    // Ann again (a replay, or a second click) does not count twice.
    assert_eq!(approve(&ann, 0).status, 409, "a replayed request is stale");
    assert_eq!(approve(&ann, 1).status, 409, "the same person twice");
    wait_idle(&gateway, 30);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(public_comments(&sim, ticket).len(), 1, "not sent after one");

    let second = approve(&bob, 1);
    assert_eq!(second.status, 200, "{}", second.body);
    wait_for(30, "the reply", || public_comments(&sim, ticket).len() == 2);
    wait_for(30, "the draft marked sent", || {
        draft_state(&gateway, &ann, &draft) == "sent"
    });
    // Replaying the completing request changes nothing and sends nothing.
    assert_eq!(approve(&bob, 1).status, 409);
    wait_idle(&gateway, 30);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(public_comments(&sim, ticket).len(), 2, "exactly once");
}
