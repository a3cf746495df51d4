//! Zendesk end to end: simulator webhook → gateway → internal note + pending draft.

use deskbridge_core::ApproverRole;
use deskbridge_store::Store;
use serde_json::json;

use crate::harness::*;

fn point_webhooks(sim: &Process, gateway: &Process, style: &str) {
    let answer = post_json(
        &sim.address,
        "PUT",
        "/_sim/webhook",
        &json!({
            "url": format!("http://{}/webhooks/zendesk/acme", gateway.address),
            "secret": ZENDESK_SECRET,
            "style": style,
        }),
    );
    assert_eq!(answer.status, 204, "{}", answer.body);
}

#[test]
fn a_signed_zendesk_event_becomes_a_note_and_a_pending_draft() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let mut gateway = files.start();
    point_webhooks(&sim, &gateway, "event");

    let ticket = create_ticket(
        &sim,
        "Charged twice",
        "Hi, I was charged twice for order 1234. Please refund the duplicate charge.",
    );
    wait_for(30, "the summary note", || {
        !internal_notes(&sim, ticket).is_empty()
    });
    wait_idle(&gateway, 30);
    let notes = internal_notes(&sim, ticket);
    // Zendesk echoes our own note back as `ticket.comment_added`; it must not cause another.
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("summary"), "{}", notes[0]);
    assert!(notes[0].contains("Deskbridge ref evt_"), "{}", notes[0]);
    let counts = status(&gateway);
    assert_eq!(counts["pending_drafts"], 1, "{counts}");
    assert_eq!(counts["outbox_dead_lettered"], 0, "{counts}");

    // The customer writes again: a new event, a second summary, a second draft.
    customer_writes(
        &sim,
        ticket,
        "Any news? It is the second time I write about this.",
    );
    wait_for(30, "the second note", || {
        internal_notes(&sim, ticket).len() == 2
    });
    wait_idle(&gateway, 30);

    // Nothing customer-facing was written: every comment by the API agent is private.
    let comments = get_json(&sim.address, &format!("/_sim/tickets/{ticket}"))["comments"].clone();
    for comment in comments.as_array().expect("comments") {
        if comment["author_id"] == 1000 {
            assert_eq!(comment["public"], false, "{comment}");
        }
    }

    gateway.stop();
    let store = open_store(&files.data_dir());
    let drafts = store.pending_drafts().expect("drafts");
    assert_eq!(drafts.len(), 2, "{drafts:?}");
    let draft = &drafts[0];
    assert_eq!(draft.ticket_id, ticket.to_string());
    assert_eq!(draft.helpdesk, "acme");
    assert_eq!(draft.provenance.plugin_id, "suggest-reply");
    assert_eq!(draft.provenance.plugin_version, "0.2.0");
    assert_eq!(draft.provenance.wasm_sha256.len(), 64);
    assert!(draft.provenance.event_id.starts_with("evt_"));
    assert_eq!(draft.provenance.provider.as_deref(), Some("local"));
    assert!(draft.provenance.model.is_some());
    // approval-policy: a refund needs a supervisor.
    assert_eq!(
        draft.requirement.role,
        ApproverRole::Supervisor,
        "{draft:?}"
    );
    assert!(draft.blocked.is_none());
}

#[test]
fn trigger_webhooks_and_per_helpdesk_plugin_lists_work() {
    let sim = start_sim("zendesk");
    // Only the summarizer for this instance: a note, no draft.
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, "plugins = [\"summarize\"]"));
    let gateway = files.start();
    point_webhooks(&sim, &gateway, "trigger");
    let ticket = create_ticket(
        &sim,
        "Login",
        "I cannot log in since yesterday, the page says my password expired.",
    );
    wait_for(30, "the summary note", || {
        !internal_notes(&sim, ticket).is_empty()
    });
    wait_idle(&gateway, 30);
    assert_eq!(internal_notes(&sim, ticket).len(), 1);
    let counts = status(&gateway);
    assert_eq!(counts["pending_drafts"], 0, "{counts}");
    let fired = get_json(&sim.address, "/_sim/webhooks");
    assert_eq!(fired[0]["body"]["event"], "ticket.created", "{fired}");
    assert_eq!(fired[0]["status"], 200, "{fired}");
}
