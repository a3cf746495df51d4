//! The knowledge index through its public API: language-aware search, relevance, snippets,
//! reconciliation (add, change, remove, scope), persistence and limits.

use deskbridge_core::{KnowledgeDoc, KnowledgeKind, KnowledgeSearch};
use deskbridge_knowledge::{KnowledgeIndex, KnowledgeLibrary, MAX_DOCS};

fn doc(id: &str, title: &str, body: &str, locale: Option<&str>) -> KnowledgeDoc {
    KnowledgeDoc {
        id: id.into(),
        kind: KnowledgeKind::Article,
        title: title.into(),
        body: body.into(),
        url: Some(format!("https://help.example.com/{}", id.replace(':', "/"))),
        locale: locale.map(str::to_owned),
        updated_at: None,
    }
}

fn corpus() -> Vec<KnowledgeDoc> {
    vec![
        doc(
            "zendesk:article:1",
            "Refund policy",
            "We refund every order within 30 days of delivery. Damaged items are refunded in full, including shipping.",
            Some("en-us"),
        ),
        doc(
            "zendesk:article:2",
            "Shipping times",
            "Orders ship within two business days. Express delivery takes one day.",
            Some("en-us"),
        ),
        doc(
            "zendesk:article:3",
            "Reset your password",
            "Open the sign-in page, choose 'Forgot password' and follow the link we e-mail you.",
            None,
        ),
        doc(
            "zendesk:article:4",
            "Rückerstattungen",
            "Wir erstatten jede Bestellung innerhalb von 30 Tagen. Beschädigte Artikel werden vollständig erstattet.",
            Some("de"),
        ),
        doc(
            "zendesk:article:5",
            "Remboursements",
            "Nous remboursons chaque commande sous 30 jours. Les articles endommagés sont remboursés intégralement.",
            None,
        ),
        doc(
            "zendesk:article:6",
            "退款政策",
            "收到商品后三十天内可以申请退款。商品损坏的，我们全额退款。",
            None,
        ),
    ]
}

fn index() -> KnowledgeIndex {
    let index = KnowledgeIndex::in_memory().expect("index");
    let report = index.reconcile("zendesk:", corpus()).expect("reconcile");
    assert_eq!(report.added, 6);
    index
}

fn top(index: &KnowledgeIndex, query: &str) -> String {
    index
        .search(query, 3)
        .expect("search")
        .first()
        .map(|hit| hit.id.clone())
        .unwrap_or_default()
}

#[test]
fn each_language_finds_its_article_through_its_own_word_forms() {
    let index = index();
    // English: "refunded" and "orders" meet "refund" and "order" through the stemmer.
    assert_eq!(
        top(&index, "Can my orders be refunded?"),
        "zendesk:article:1"
    );
    assert_eq!(top(&index, "I forgot my password"), "zendesk:article:3");
    // German and French plural forms meet the singular of the article.
    assert_eq!(
        top(&index, "Rückerstattung für beschädigten Artikel"),
        "zendesk:article:4"
    );
    assert_eq!(
        top(&index, "remboursement de ma commande"),
        "zendesk:article:5"
    );
    // Chinese without spaces, by bigrams.
    assert_eq!(top(&index, "我的商品坏了，怎么退款？"), "zendesk:article:6");
}

#[test]
fn relevance_tells_a_matching_article_from_a_word_in_common() {
    let index = index();
    let hits = index
        .search("Damaged order: I want a refund", 3)
        .expect("search");
    assert_eq!(hits[0].id, "zendesk:article:1");
    assert!(hits[0].relevance >= 0.5, "{hits:?}");
    let unrelated = index
        .search("Do you sell gift cards for birthdays?", 3)
        .expect("search");
    assert!(
        unrelated.iter().all(|hit| hit.relevance < 0.3),
        "{unrelated:?}"
    );
    assert!(index.search("", 3).expect("search").is_empty());
    assert!(index.search("  ?! ", 3).expect("search").is_empty());
}

#[test]
fn short_bodies_come_whole_and_long_ones_as_their_best_passage() {
    let index = KnowledgeIndex::in_memory().expect("index");
    let filler = "Our company was founded long ago and has many stores. ".repeat(40);
    let long = format!(
        "{filler} Warranty claims need the original receipt and the serial number. {filler}"
    );
    index
        .reconcile(
            "md:",
            vec![
                doc(
                    "md:short.md",
                    "Gift wrapping",
                    "We wrap gifts for free.",
                    None,
                ),
                doc("md:long.md", "Company handbook", &long, None),
            ],
        )
        .expect("reconcile");
    let short = index.search("gift wrapping", 1).expect("search");
    assert_eq!(short[0].snippet, "We wrap gifts for free.");
    let hit = &index.search("warranty receipt serial", 1).expect("search")[0];
    assert_eq!(hit.id, "md:long.md");
    assert!(hit.snippet.contains("Warranty claims"), "{}", hit.snippet);
    assert!(hit.snippet.chars().count() <= 450, "{}", hit.snippet.len());
    assert_eq!(
        hit.url.as_deref(),
        Some("https://help.example.com/md/long.md")
    );
}

#[test]
fn reconciling_adds_changes_and_removes_only_within_its_scope() {
    let index = index();
    index
        .reconcile(
            "md:",
            vec![doc("md:a.md", "Opening hours", "Open 9 to 5.", None)],
        )
        .expect("folder");
    let mut listing = corpus();
    listing.retain(|d| d.id != "zendesk:article:2");
    listing[0].body = "Refunds are no longer possible after 14 days.".into();
    // A document outside the scope is not the source's to write.
    listing.push(doc("md:b.md", "Intruder", "x", None));
    let report = index.reconcile("zendesk:", listing).expect("reconcile");
    assert_eq!(
        (
            report.added,
            report.updated,
            report.removed,
            report.unchanged,
            report.skipped
        ),
        (0, 1, 1, 4, 1)
    );
    assert_eq!(index.len(), 6);
    assert!(
        index
            .search("express delivery", 5)
            .expect("search")
            .iter()
            .all(|h| h.id != "zendesk:article:2")
    );
    let refund = &index.search("refund 14 days", 1).expect("search")[0];
    assert!(refund.snippet.contains("14 days"), "{refund:?}");
    assert_eq!(top(&index, "opening hours"), "md:a.md");
    // Nothing changed: nothing rewritten.
    let again = index
        .reconcile(
            "md:",
            vec![doc("md:a.md", "Opening hours", "Open 9 to 5.", None)],
        )
        .expect("again");
    assert!(!again.changed());
    assert_eq!(again.unchanged, 1);
}

#[test]
fn an_oversized_listing_is_refused_whole() {
    let index = index();
    let listing: Vec<KnowledgeDoc> = (0..=MAX_DOCS)
        .map(|i| doc(&format!("md:{i}.md"), "t", "b", None))
        .collect();
    assert!(index.reconcile("md:", listing).is_err());
    assert_eq!(index.len(), 6, "nothing half-written");
}

#[test]
fn the_index_survives_a_restart_and_a_library_answers_per_helpdesk() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let library = KnowledgeLibrary::open(dir.path(), ["acme"]).expect("open");
        library
            .index("acme")
            .expect("acme")
            .reconcile("zendesk:", corpus())
            .expect("reconcile");
    }
    let library = KnowledgeLibrary::open(dir.path(), ["acme", "globex"]).expect("reopen");
    assert_eq!(library.index("acme").expect("acme").len(), 6);
    let hits = library.search("acme", "refund", 2).expect("search");
    assert_eq!(hits[0].id, "zendesk:article:1");
    assert!(
        library
            .search("globex", "refund", 2)
            .expect("search")
            .is_empty()
    );
    assert!(library.search("initech", "refund", 2).is_err());
    // Unchanged documents are recognised after the restart: nothing is re-indexed.
    let report = library
        .index("acme")
        .expect("acme")
        .reconcile("zendesk:", corpus())
        .expect("reconcile");
    assert_eq!(report.unchanged, 6);
    assert!(KnowledgeLibrary::open(dir.path(), ["../escape"]).is_err());
}

#[test]
fn an_index_from_another_schema_version_is_rebuilt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("acme");
    KnowledgeIndex::open(&path)
        .expect("open")
        .reconcile("zendesk:", corpus())
        .expect("reconcile");
    std::fs::write(path.join("deskbridge-knowledge.json"), r#"{"schema":0}"#).expect("write");
    let reopened = KnowledgeIndex::open(&path).expect("reopen");
    assert_eq!(
        reopened.len(),
        0,
        "rebuilt empty, refilled by the next sync"
    );
}

#[tokio::test]
async fn a_failed_sync_keeps_the_documents_and_reports_why() {
    use deskbridge_knowledge::{KnowledgeSource, sync_once};
    let root = tempfile::tempdir().expect("index dir");
    let folder = tempfile::tempdir().expect("folder");
    std::fs::write(
        folder.path().join("hours.md"),
        "# Opening hours\nOpen 9 to 5.",
    )
    .expect("md");
    let library = KnowledgeLibrary::open(root.path(), ["acme"]).expect("open");
    let source = KnowledgeSource::Folder {
        path: folder.path().to_owned(),
        url_base: None,
    };
    let report = sync_once(&library, "acme", &source).await.expect("sync");
    assert_eq!(report.added, 1);
    // The folder disappears (an unmounted share): the sync fails, the index keeps its document.
    let gone = KnowledgeSource::Folder {
        path: folder.path().join("unmounted"),
        url_base: None,
    };
    let error = sync_once(&library, "acme", &gone)
        .await
        .expect_err("unreadable");
    assert!(error.contains("cannot read knowledge folder"), "{error}");
    assert_eq!(library.index("acme").expect("acme").len(), 1);
    let (_, source_name, status) = library.statuses().pop().expect("a status");
    assert_eq!(source_name, "folder");
    assert!(status.error.is_some());
    assert_eq!(status.listed, 1, "the last success is kept");
    assert_eq!(
        library.search("acme", "opening hours", 1).expect("search")[0].id,
        "md:hours.md"
    );
}

#[test]
fn a_match_late_in_a_long_article_counts_for_its_relevance() {
    let index = KnowledgeIndex::in_memory().expect("index");
    // 300 distinct words before the answer: coverage must read the whole body.
    let filler: Vec<String> = (0..300).map(|i| format!("word{i}")).collect();
    let body = format!(
        "{} Warranty claims need the receipt and the serial number.",
        filler.join(" ")
    );
    index
        .reconcile(
            "md:",
            vec![
                doc("md:handbook.md", "Handbook", &body, Some("en")),
                doc("md:other.md", "Opening hours", "Open 9 to 5.", Some("en")),
            ],
        )
        .expect("reconcile");
    let hit = &index.search("warranty receipt serial", 1).expect("search")[0];
    assert_eq!(hit.id, "md:handbook.md");
    assert!(hit.relevance > 0.9, "{hit:?}");
}
