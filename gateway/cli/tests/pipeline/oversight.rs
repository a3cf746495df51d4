//! Human oversight through the real binary and the Zendesk simulator: the stop switch (a paused
//! plugin drafts nothing, a global pause leaves tickets untouched, approvals of paused drafts
//! wait, pauses survive restarts and are logged), the AI-disclosure line (part of the approved
//! text, its presence recorded per reply), and expiry (an undecided draft expires, is logged,
//! and is never sent).

use serde_json::{Value, json};

use crate::harness::*;

const DISCLOSURE: &str = "Drafted with AI assistance, reviewed by our team.";

fn pause(gateway: &Process, token: &str, scope: &str, reason: Value) -> Answer {
    api_send(
        gateway,
        token,
        "PUT",
        &format!("/api/v1/pauses/{scope}"),
        &reason,
    )
}

fn resume(gateway: &Process, token: &str, scope: &str) -> Answer {
    api_send(
        gateway,
        token,
        "DELETE",
        &format!("/api/v1/pauses/{scope}"),
        &json!(null),
    )
}

#[test]
fn the_stop_switch_pauses_drafting_until_an_admin_resumes_it() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let agent = files.token("Ann Agent", "agent");
    let admin = files.admin_token.clone();
    let mut gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);

    // A draft from before the pause.
    let before = create_ticket(&sim, "Invoice", "Please send me the invoice for March.");
    let waiting = first_draft(&gateway, &agent, before);
    wait_idle(&gateway, 30);

    // Only admins hold the switch; scopes must name something configured.
    assert_eq!(
        pause(&gateway, &agent, "all", json!(null)).status,
        403,
        "agents cannot pause"
    );
    let unknown = pause(&gateway, &admin, "helpdesk:nope", json!(null));
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let bad = pause(&gateway, &admin, "everything", json!(null));
    assert_eq!(bad.status, 400, "{}", bad.body);

    let answer = pause(
        &gateway,
        &admin,
        "plugin:suggest-reply",
        json!({"reason": "drafts sound off since the model update"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["scope"], "plugin:suggest-reply");

    // Approving a draft of the paused plugin waits for the resume.
    let refused = approve(&gateway, &agent, &waiting, 0);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("paused"), "{}", refused.body);

    // The summary still runs; no draft is written.
    let plugin_paused = create_ticket(&sim, "Invoice", "Where is my invoice for April?");
    wait_for(30, "the summary note", || {
        !internal_notes(&sim, plugin_paused).is_empty()
    });
    wait_idle(&gateway, 30);
    assert!(open_drafts(&gateway, &agent, plugin_paused).is_empty());

    // Everything paused: the ticket reaches humans untouched.
    assert_eq!(pause(&gateway, &admin, "all", json!(null)).status, 200);
    let untouched = create_ticket(&sim, "Invoice", "And the one for May, please.");
    wait_for(30, "the event processed", || {
        status(&gateway)["processed_events"].as_u64() >= Some(3)
    });
    wait_idle(&gateway, 30);
    assert!(internal_notes(&sim, untouched).is_empty(), "no note");
    assert!(
        open_drafts(&gateway, &agent, untouched).is_empty(),
        "no draft"
    );

    // Pauses survive a restart.
    gateway.stop();
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let pauses = api_get(&gateway, "/api/v1/pauses");
    let scopes: Vec<&str> = pauses
        .as_array()
        .expect("pauses")
        .iter()
        .filter_map(|p| p["scope"].as_str())
        .collect();
    assert_eq!(scopes, ["all", "plugin:suggest-reply"], "{pauses}");
    assert_eq!(pauses[0]["by"], "e2e admin");

    for scope in ["all", "plugin:suggest-reply"] {
        let answer = resume(&gateway, &admin, scope);
        assert_eq!(answer.status, 204, "{}", answer.body);
    }
    assert_eq!(resume(&gateway, &admin, "all").status, 404, "not paused");
    customer_writes(&sim, untouched, "Hello? The invoice for May, please.");
    first_draft(&gateway, &agent, untouched);
    let answer = approve(&gateway, &agent, &waiting, 0);
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the reply", || public_comments(&sim, before).len() == 2);

    let paused = audit_entries_of(&files, "drafting.paused");
    let resumed = audit_entries_of(&files, "drafting.resumed");
    assert_eq!(paused.len(), 2, "{paused:?}");
    assert_eq!(resumed.len(), 2, "{resumed:?}");
    assert_eq!(paused[0]["data"]["scope"], "plugin:suggest-reply");
    assert!(
        paused[0]["commitments"]["reason"].is_string(),
        "the reason is committed to, not written in the tree"
    );
}

#[test]
fn replies_carry_the_disclosure_line_and_its_presence_is_recorded() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk(
        "acme",
        &sim,
        &format!("ai_disclosure = \"{DISCLOSURE}\""),
    ));
    let agent = files.token("Ann Agent", "agent");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);

    let ticket = create_ticket(&sim, "Invoice", "Please send me the invoice for March.");
    let draft = first_draft(&gateway, &agent, ticket);
    let read = api_send(
        &gateway,
        &agent,
        "GET",
        &format!("/api/v1/drafts/{draft}"),
        &json!(null),
    )
    .json();
    let text = read["text"].as_str().expect("text").to_owned();
    // The reviewer sees the ticket the plugin saw, and what was redacted from its prompts.
    assert_eq!(read["ticket"]["subject"], "Invoice", "{read}");
    assert_eq!(
        read["ticket"]["messages"][0]["body"],
        "Please send me the invoice for March."
    );
    assert!(
        read["provenance"]["redaction"]["emails"].is_number(),
        "{read}"
    );
    assert!(text.ends_with(&format!("\n\n{DISCLOSURE}")), "{text}");
    let answer = approve(&gateway, &agent, &draft, 0);
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the reply", || public_comments(&sim, ticket).len() == 2);
    assert_eq!(public_comments(&sim, ticket)[1], text, "the approved text");

    // An agent who edits the line away sends without it; that is recorded too.
    customer_writes(&sim, ticket, "Thanks! And the one for April?");
    // The first draft is no longer open: the next open one is the new one.
    let second = first_draft(&gateway, &agent, ticket);
    let answer = decide(
        &gateway,
        &agent,
        &second,
        json!({"version": 0, "decision": "edit_approve", "text": "Attached, kind regards."}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the second reply", || {
        public_comments(&sim, ticket).len() == 4
    });
    wait_for(30, "both deliveries logged", || {
        audit_entries_of(&files, "reply.delivered").len() == 2
    });
    let delivered: Vec<(Value, Value)> = audit_entries_of(&files, "reply.delivered")
        .into_iter()
        .map(|e| {
            (
                e["data"]["draft_id"].clone(),
                e["data"]["ai_disclosure"].clone(),
            )
        })
        .collect();
    assert!(
        delivered.contains(&(json!(draft), json!(true))),
        "{delivered:?}"
    );
    assert!(
        delivered.contains(&(json!(second), json!(false))),
        "{delivered:?}"
    );
    let created = audit_entries_of(&files, "draft.created");
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(created[0]["data"]["ai_disclosure"], true);
}

#[test]
fn an_undecided_draft_expires_is_logged_and_is_never_sent() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&format!(
        "[review]\ndraft_expiry_s = 2\nexpiry_sweep_interval_s = 1\n\n{}",
        zendesk_helpdesk("acme", &sim, "")
    ));
    let agent = files.token("Ann Agent", "agent");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);

    let ticket = create_ticket(&sim, "Invoice", "Please send me the invoice for March.");
    let draft = first_draft(&gateway, &agent, ticket);
    wait_for(30, "the draft expired", || {
        draft_state(&gateway, &agent, &draft) == "expired"
    });
    let late = approve(&gateway, &agent, &draft, 0);
    assert_eq!(late.status, 409, "{}", late.body);
    let current = api_send(
        &gateway,
        &agent,
        "GET",
        &format!("/api/v1/drafts/{draft}"),
        &json!(null),
    )
    .json();
    let version = current["version"].as_u64().expect("version");
    let late = approve(&gateway, &agent, &draft, version);
    assert_eq!(late.status, 409, "expired is final: {}", late.body);
    assert!(late.body.contains("expired"), "{}", late.body);
    wait_idle(&gateway, 30);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(public_comments(&sim, ticket).len(), 1, "never sent");
    let expired = audit_entries_of(&files, "draft.expired");
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0]["data"]["draft_id"], draft.as_str());
    let kinds: Vec<Value> = audit_entries(&files)
        .into_iter()
        .filter(|e| e["data"]["draft_id"] == draft.as_str())
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("draft.created"), json!("draft.expired")]);
}
