//! Contract versions side by side, and the `knowledge` import of 0.2.0: a plugin built from
//! the 0.1.0 WIT still loads and runs next to 0.2.0 plugins; a 0.2.0 plugin searches its
//! helpdesk's knowledge base within its manifest's limits and may cite only what it found.

use std::collections::BTreeMap;
use std::sync::Arc;

use deskbridge_core::{Action, KnowledgeDoc, KnowledgeKind};
use deskbridge_knowledge::{KnowledgeIndex, KnowledgeLibrary};
use deskbridge_plugin_host::{CallError, CallScope, HostServices, LoadError, MemoryKv};
use deskbridge_providers::AiRouter;
use deskbridge_tests::guests;

use crate::support::{event, event_with_subject, load_bundled, load_guest, try_load_guest};

const HELPDESK: &str = "acme-zendesk";

fn article(id: &str, title: &str, body: &str) -> KnowledgeDoc {
    KnowledgeDoc {
        id: id.into(),
        kind: KnowledgeKind::Article,
        title: title.into(),
        body: body.into(),
        url: Some(format!(
            "https://acme.zendesk.com/hc/articles/{}",
            id.rsplit(':').next().unwrap_or(id)
        )),
        locale: Some("en-us".into()),
        updated_at: None,
    }
}

/// Services whose knowledge base for [`HELPDESK`] holds a kettle-replacement article, a
/// shipping article and a password article.
fn services_with_knowledge() -> HostServices {
    let index = KnowledgeIndex::in_memory().expect("index");
    index
        .reconcile(
            "zendesk:",
            vec![
                article(
                    "zendesk:article:1",
                    "Broken or damaged items",
                    "If an item arrives broken or damaged, we send a replacement free of charge within 3 business days. Keep the original packaging.",
                ),
                article(
                    "zendesk:article:2",
                    "Shipping times",
                    "Orders ship within two business days; express delivery takes one day.",
                ),
                article(
                    "zendesk:article:3",
                    "Reset your password",
                    "Open the sign-in page and choose 'Forgot password'.",
                ),
            ],
        )
        .expect("reconcile");
    let library =
        KnowledgeLibrary::from_indexes(BTreeMap::from([(HELPDESK.to_owned(), Arc::new(index))]));
    HostServices {
        ai: Arc::new(AiRouter::local()),
        kv: Arc::new(MemoryKv::new()),
        redaction: Arc::default(),
        knowledge: Arc::new(library),
    }
}

fn scope() -> CallScope<'static> {
    CallScope {
        helpdesk: Some(HELPDESK),
    }
}

fn only_draft(actions: &[Action]) -> &deskbridge_core::DraftReply {
    match actions {
        [Action::DraftReply(draft)] => draft,
        other => panic!("expected one draft, got {other:?}"),
    }
}

#[tokio::test]
async fn a_0_1_0_plugin_from_the_old_wit_runs_unchanged_next_to_0_2_0_plugins() {
    let legacy = load_guest(guests::LEGACY_V0_1);
    let current = load_guest(guests::WELL_BEHAVED);
    assert_eq!(legacy.manifest().contract, "0.1.0");
    assert_eq!(current.manifest().contract, "0.2.0");
    assert!(
        legacy
            .imports()
            .iter()
            .filter(|i| i.name.starts_with("deskbridge:"))
            .all(|i| i.name.ends_with("@0.1.0")),
        "{:?}",
        legacy.imports()
    );
    for _ in 0..2 {
        let report = legacy
            .handle_event_for(&event("ticket-created.json"), scope())
            .await
            .expect("the 0.1.0 plugin runs");
        let draft = only_draft(&report.output);
        assert!(!draft.body.is_empty());
        assert!(draft.sources.is_empty(), "0.1.0 drafts cite nothing");
        assert_eq!(report.ai_calls.len(), 1, "its ai import works");
        current
            .handle_event(&event("ticket-created.json"))
            .await
            .expect("the 0.2.0 plugin runs on the same engine");
    }
    let ticket = event("ticket-created.json").into_inner().ticket;
    let draft = deskbridge_core::DraftReply {
        body: "Hello".into(),
        rationale: "r".into(),
        confidence: 0.5,
        sources: vec![deskbridge_core::Source {
            id: "zendesk:article:1".into(),
            title: "t".into(),
            url: None,
        }],
    };
    let verdict = legacy
        .review_draft(&ticket, &draft, "suggest-reply")
        .await
        .expect("the 0.1.0 policy runs");
    assert_eq!(verdict.output.flags[0].code, "legacy-reviewed");
}

#[test]
fn a_component_must_be_of_the_contract_its_manifest_names() {
    let as_newer = try_load_guest(guests::LEGACY_V0_1, &HostServices::local(), |m| {
        m.contract = "0.2.0".into();
    })
    .expect_err("a 0.1.0 component declared 0.2.0");
    assert!(matches!(as_newer, LoadError::Contract { .. }), "{as_newer}");
    let as_older = try_load_guest(guests::WELL_BEHAVED, &HostServices::local(), |m| {
        m.contract = "0.1.0".into();
    })
    .expect_err("a 0.2.0 component declared 0.1.0");
    assert!(matches!(as_older, LoadError::Contract { .. }), "{as_older}");
}

#[test]
fn the_knowledge_import_needs_its_capability() {
    let refused = try_load_guest(guests::KNOWLEDGE_CITER, &services_with_knowledge(), |m| {
        m.capabilities.knowledge = false;
    })
    .expect_err("knowledge without the grant");
    assert!(
        matches!(
            &refused,
            LoadError::UndeclaredCapability {
                capability: "capabilities.knowledge",
                ..
            }
        ),
        "{refused}"
    );
}

#[tokio::test]
async fn a_plugin_cites_what_its_search_found_and_nothing_else() {
    let services = services_with_knowledge();
    let plugin = try_load_guest(guests::KNOWLEDGE_CITER, &services, |_| {}).expect("loads");
    let report = plugin
        .handle_event_for(
            &event_with_subject("kettle arrived broken, replacement"),
            scope(),
        )
        .await
        .expect("cites a found article");
    let draft = only_draft(&report.output);
    assert_eq!(draft.sources.len(), 1);
    assert_eq!(draft.sources[0].id, "zendesk:article:1");
    assert_eq!(draft.sources[0].title, "Broken or damaged items");
    assert!(
        draft.body.contains("replacement free of charge"),
        "{}",
        draft.body
    );
    assert_eq!(report.knowledge.len(), 1);
    assert_eq!(report.knowledge[0].results[0], "zendesk:article:1");

    // A real id under a made-up title and link: the approver sees the article's own.
    let relabelled = plugin
        .handle_event_for(
            &event_with_subject("relabel kettle arrived broken, replacement"),
            scope(),
        )
        .await
        .expect("a real id is accepted");
    let source = &only_draft(&relabelled.output).sources[0];
    assert_eq!(source.title, "Broken or damaged items");
    assert_eq!(
        source.url.as_deref(),
        Some("https://acme.zendesk.com/hc/articles/1")
    );

    let forged = plugin
        .handle_event_for(&event_with_subject("forge kettle arrived broken"), scope())
        .await
        .expect_err("a source no search returned");
    assert!(
        matches!(&forged.error, CallError::Output { .. })
            && forged.error.to_string().contains("zendesk:article:forged"),
        "{}",
        forged.error
    );
}

#[tokio::test]
async fn searches_are_bounded_by_the_manifest() {
    let services = services_with_knowledge();
    let plugin = try_load_guest(guests::KNOWLEDGE_CITER, &services, |_| {}).expect("loads");
    // max_knowledge_searches = 2 in the guest's manifest.
    let flood = plugin
        .handle_event_for(&event_with_subject("flood shipping"), scope())
        .await
        .expect("runs");
    let Action::InternalNote { body } = &flood.output[0] else {
        panic!("{:?}", flood.output)
    };
    let outcomes: Vec<&str> = body.split(" | ").collect();
    assert_eq!(&outcomes[..2], ["ok:1", "ok:1"]);
    assert!(
        outcomes[2].contains("limits.max_knowledge_searches"),
        "{body}"
    );
    // k = 1,000 is cut to max_knowledge_results = 3.
    let many = plugin
        .handle_event_for(
            &event_with_subject("many shipping password broken"),
            scope(),
        )
        .await
        .expect("runs");
    assert_eq!(many.knowledge[0].results.len(), 3);
    // A query over max_knowledge_query_bytes is refused, and so is a search outside any
    // helpdesk: the plugin's `?` turns either into its own error.
    let long = plugin
        .handle_event_for(&event_with_subject(&"x".repeat(600)), scope())
        .await
        .expect_err("query too long");
    assert!(
        long.error.to_string().contains("max_knowledge_query_bytes"),
        "{}",
        long.error
    );
    let nowhere = plugin
        .handle_event(&event_with_subject("kettle"))
        .await
        .expect_err("no helpdesk, no knowledge base");
    assert!(
        nowhere.error.to_string().contains("no knowledge base"),
        "{}",
        nowhere.error
    );
}

#[tokio::test]
async fn suggest_reply_cites_the_matching_article_or_says_it_found_none() {
    let services = services_with_knowledge();
    let plugin = load_bundled("suggest-reply", None, &services, |_| {});
    let report = plugin
        .handle_event_for(&event("ticket-created.json"), scope())
        .await
        .expect("drafts");
    let draft = only_draft(&report.output);
    assert_eq!(
        draft
            .sources
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["zendesk:article:1"],
        "{draft:?}"
    );
    assert!(
        draft
            .rationale
            .starts_with("Based on \"Broken or damaged items\""),
        "{}",
        draft.rationale
    );
    assert!(draft.body.contains("replacement"), "{}", draft.body);

    let mut unrelated = event("ticket-created.json").into_inner();
    unrelated.ticket.subject = "Gift cards".into();
    unrelated.ticket.messages[0].body = "Do you sell gift cards for birthdays?".into();
    let unrelated = deskbridge_plugin_host::ValidatedEvent::validate(unrelated).expect("valid");
    let report = plugin
        .handle_event_for(&unrelated, scope())
        .await
        .expect("drafts");
    let draft = only_draft(&report.output);
    assert!(draft.sources.is_empty(), "{draft:?}");
    assert!(
        draft.rationale.starts_with("No matching article"),
        "{}",
        draft.rationale
    );
    assert!(draft.confidence <= 0.3, "{}", draft.confidence);
}
