//! The knowledge base end to end, through the real binary: the gateway syncs the simulated
//! Zendesk's macros and Help Center articles (more than one page) and a Markdown folder into
//! its index, `suggest-reply` drafts a reply to a refund question from the matching macro
//! and cites it in the draft's provenance, says "no matching article" for an unrelated
//! question, and the next sync picks up a changed and a deleted document.

use serde_json::{Value, json};

use crate::harness::*;

fn add_knowledge(sim: &Process, item: Value) -> u64 {
    let answer = post_json(&sim.address, "POST", "/_sim/knowledge", &item);
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_u64().expect("id")
}

fn knowledge_status(gateway: &Process) -> Value {
    status(gateway)["knowledge"][0].clone()
}

fn source_status(gateway: &Process, source: &str) -> Value {
    knowledge_status(gateway)["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["source"] == source)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn drafts_cite_the_synced_knowledge_and_say_when_none_matches() {
    let sim = start_sim("zendesk");
    let refund = add_knowledge(
        &sim,
        json!({"kind": "macro", "title": "Refund for a broken item", "body": "Hi {{ticket.requester.first_name}}, we are sorry your item arrived broken. We refund the full price within 5 business days; you do not need to send it back."}),
    );
    for i in 0..105 {
        add_knowledge(
            &sim,
            json!({"kind": "article", "title": format!("Store opening hours {i}"), "body": format!("<p>Store {i} opens at 9 and closes at 18.</p>")}),
        );
    }
    let shipping = add_knowledge(
        &sim,
        json!({"kind": "article", "title": "Shipping times", "body": "<p>Orders ship within two business days.</p>"}),
    );
    let folder = tempfile::tempdir().expect("folder");
    std::fs::write(
        folder.path().join("privacy.md"),
        "# Deleting your data\nWrite to privacy@example.com and we erase your account within 30 days.",
    )
    .expect("markdown");
    let files = GatewayFiles::new(&zendesk_helpdesk(
        "acme",
        &sim,
        &format!(
            "\n[helpdesks.acme.knowledge]\ninterval_s = 1\nfolder = {:?}\nurl_base = \"https://help.example.com/kb\"\n",
            folder.path().display().to_string()
        ),
    ));
    let agent = files.token("Ann Agent", "agent");
    let gateway = files.start();
    wait_for(30, "the first sync", || {
        knowledge_status(&gateway)["documents"] == 1 + 105 + 1 + 1
    });
    assert_eq!(source_status(&gateway, "zendesk")["listed"], 107);
    assert_eq!(source_status(&gateway, "folder")["listed"], 1);

    point_zendesk_webhooks(&sim, &gateway);
    let question = create_ticket(
        &sim,
        "Refund for my broken kettle",
        "Hello, my new kettle arrived broken. I would like a refund, please.",
    );
    let draft = first_draft(&gateway, &agent, question);
    let view = draft_detail(&gateway, &agent, &draft);
    let sources = view["provenance"]["sources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(sources.len(), 1, "{view}");
    assert_eq!(
        sources[0]["id"],
        format!("zendesk:macro:{refund}"),
        "{view}"
    );
    assert_eq!(sources[0]["title"], "Refund for a broken item");
    let text = view["text"].as_str().expect("text");
    assert!(
        text.contains("We refund the full price"),
        "the macro, filled in: {text}"
    );
    assert!(text.starts_with("Hi Ann,"), "{text}");
    assert!(!text.contains("{{"), "no placeholder left: {text}");

    let unrelated = create_ticket(&sim, "Gift cards", "Do you sell gift cards for birthdays?");
    let draft = first_draft(&gateway, &agent, unrelated);
    let view = draft_detail(&gateway, &agent, &draft);
    assert!(view["provenance"]["sources"].is_null(), "{view}");
    let rationale = view["rationale"].as_str().unwrap_or_default();
    assert!(rationale.starts_with("No matching article"), "{view}");

    // The next syncs see a changed macro and a deleted article; nothing else is re-indexed.
    let changed = post_json(
        &sim.address,
        "PUT",
        &format!("/_sim/knowledge/{refund}"),
        &json!({"body": "Hi {{ticket.requester.first_name}}, your refund is on its way today."}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    let deleted = post_json(
        &sim.address,
        "DELETE",
        &format!("/_sim/knowledge/{shipping}"),
        &Value::Null,
    );
    assert!(deleted.status < 300, "{}", deleted.body);
    wait_for(30, "the re-sync", || {
        let zendesk = source_status(&gateway, "zendesk");
        zendesk["listed"] == 106 && zendesk["updated"] == 1 && zendesk["removed"] == 1
    });
    assert_eq!(knowledge_status(&gateway)["documents"], 1 + 105 + 1);
}
