//! The approval queue through the HTTP API: listing, reading, deciding with optimistic
//! concurrency, edits, rejections, the two-person rule, and the approval-log entry of every
//! decision (verified offline afterwards).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use deskbridge_audit::{AuditConfig, AuditLog, verify_export};
use deskbridge_core::review::gate_draft;
use deskbridge_core::{
    ApprovalRequirement, ApproverRole, HelpdeskKind, Role, approve_for_delivery,
};
use deskbridge_pipeline::tokens::new_token;
use deskbridge_server::{AppState, configure};
use deskbridge_store::{
    DraftProvenance, EventOutcome, EventSource, InboundEvent, Inserted, OutboxItem, OutboxOp,
    OutboxState, PendingDraft, ProcessedEvent, SledStore, Store, TokenRecord,
};
use serde_json::{Value, json};

const BODY: &str = "Hello Ann, we have reset your password.";

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<SledStore>,
    audit: Arc<AuditLog>,
    state: web::Data<AppState>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(&dir.path().join("store")).expect("store"));
    let audit = Arc::new(
        AuditLog::open(
            &dir.path().join("audit"),
            AuditConfig {
                origin: "deskbridge.test/log".into(),
                checkpoint_every: 1000,
                checkpoint_interval: Duration::from_secs(3600),
            },
        )
        .expect("audit"),
    );
    let switch = deskbridge_core::DraftingSwitch::default();
    let decisions = deskbridge_pipeline::DecisionService::standalone(
        store.clone(),
        Some(audit.clone()),
        switch.clone(),
        std::time::Duration::from_secs(3 * 24 * 3600),
    );
    let state = web::Data::new(AppState {
        plugins: Vec::new(),
        started: Instant::now(),
        webhooks: None,
        store: Some(store.clone()),
        audit: Some(audit.clone()),
        switch,
        draft_expiry: std::time::Duration::from_secs(3 * 24 * 3600),
        warnings: Vec::new(),
        ai: None,
        knowledge: None,
        decisions: Some(Arc::new(decisions)),
        console: None,
        readiness: None,
    });
    Setup {
        _dir: dir,
        store,
        audit,
        state,
    }
}

/// When this test binary's drafts were made: now (a draft of long ago is past its review time),
/// the same for all so that listings order them by id.
static CREATED: std::sync::LazyLock<i64> = std::sync::LazyLock::new(deskbridge_pipeline::now_ms);

fn add_draft(store: &SledStore, key: &str, requirement: ApprovalRequirement) -> String {
    add_draft_with_note(store, key, requirement, None)
}

/// A draft whose event also produced a private note by `note.0` reading `note.1`.
fn add_draft_with_note(
    store: &SledStore,
    key: &str,
    requirement: ApprovalRequirement,
    note: Option<(&str, &str)>,
) -> String {
    let event = InboundEvent {
        id: format!("evt-{key}"),
        dedupe_key: key.into(),
        helpdesk: "acme".into(),
        helpdesk_kind: HelpdeskKind::Zendesk,
        ticket_id: "42".into(),
        received_at_ms: 1,
        source: EventSource::Fetch {
            kind_hint: None,
            origin: "test".into(),
        },
        request_id: None,
    };
    let Inserted::New(seq) = store.insert_event(&event).expect("insert") else {
        panic!("new event");
    };
    let id = format!("evt-{key}.suggest-reply.0");
    let draft = PendingDraft {
        id: id.clone(),
        helpdesk: "acme".into(),
        ticket_id: "42".into(),
        body: BODY.into(),
        rationale: "password reset request".into(),
        confidence: 0.8,
        provenance: DraftProvenance {
            plugin_id: "suggest-reply".into(),
            plugin_version: "0.1.0".into(),
            wasm_sha256: "ab".repeat(32),
            provider: Some("local".into()),
            model: Some("local-echo".into()),
            event_id: event.id.clone(),
            redaction: Default::default(),
            sources: Vec::new(),
        },
        requirement,
        blocked: None,
        flags: vec![],
        created_at_ms: *CREATED,
        ai_disclosure: None,
        context: None,
        notes: Vec::new(),
        suggestions: Vec::new(),
        review: Default::default(),
    };
    let mut draft = draft;
    let outbox: Vec<OutboxItem> = note
        .map(|(plugin, body)| OutboxItem {
            id: format!("{}.{plugin}.0", event.id),
            helpdesk: "acme".into(),
            ticket_id: "42".into(),
            op: OutboxOp::InternalNote { body: body.into() },
            plugin: plugin.into(),
            event_seq: seq,
            position: 1,
            created_at_ms: *CREATED,
            attempts: 0,
            next_attempt_at_ms: 0,
            maybe_applied: false,
            last_error: None,
            state: OutboxState::Pending,
            held_since_ms: None,
            held_ms: 0,
            request_id: None,
        })
        .into_iter()
        .collect();
    draft.notes = outbox.iter().map(|item| item.id.clone()).collect();
    store
        .complete_event(
            seq,
            &EventOutcome {
                processed: ProcessedEvent {
                    event_id: event.id.clone(),
                    helpdesk: "acme".into(),
                    ticket_id: "42".into(),
                    kind: None,
                    completed_at_ms: 2,
                    plugin_runs: vec![],
                    handover: None,
                    handover_by: None,
                    skipped: None,
                    flagged: false,
                    ai_us: 0,
                    truncated: Vec::new(),
                    suggestions: Vec::new(),
                    ai_flags: Vec::new(),
                },
                outbox,
                drafts: vec![draft],
                last_message_id: None,
            },
        )
        .expect("complete");
    id
}

fn token(store: &SledStore, person: &str, role: Role) -> String {
    let (token, hash, id) = new_token().expect("randomness");
    store
        .insert_token(
            &hash,
            &TokenRecord {
                id,
                person: person.into(),
                roles: vec![role],
                created_at_ms: 1,
                revoked_at_ms: None,
            },
        )
        .expect("token");
    token
}

fn decision(id: &str, token: &str, body: Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri(&format!("/api/v1/drafts/{id}/decisions"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(body)
}

fn gate_accepts(store: &SledStore, id: &str, text: &str) -> bool {
    let draft = store.draft(id).expect("read").expect("draft");
    let facts = draft.facts(Some(std::time::Duration::from_secs(3 * 24 * 3600)));
    approve_for_delivery(
        &gate_draft(&facts, &draft.review),
        text,
        &draft.review.approvals,
    )
    .is_ok()
}

#[actix_web::test]
async fn agents_list_read_and_approve_and_only_one_of_two_concurrent_decisions_wins() {
    let s = setup();
    let id = add_draft(&s.store, "a", ApprovalRequirement::BASELINE);
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    let bob = token(&s.store, "Bob Agent", Role::Agent);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;

    let listed: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/drafts?helpdesk=acme&plugin=suggest-reply")
            .insert_header(("Authorization", format!("Bearer {ann}")))
            .to_request(),
    )
    .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["state"], "pending");
    let read: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get()
            .uri(&format!("/api/v1/drafts/{id}"))
            .insert_header(("Authorization", format!("Bearer {ann}")))
            .to_request(),
    )
    .await;
    assert_eq!(read["text"], BODY);
    assert_eq!(read["provenance"]["model"], "local-echo");
    assert_eq!(read["version"], 0);

    // Both decide on version 0 at the same time.
    let (first, second) = futures_util::future::join(
        test::call_service(
            &app,
            decision(&id, &ann, json!({"version": 0, "decision": "approve"})).to_request(),
        ),
        test::call_service(
            &app,
            decision(&id, &bob, json!({"version": 0, "decision": "approve"})).to_request(),
        ),
    )
    .await;
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let draft = s.store.draft(&id).expect("read").expect("draft");
    assert_eq!(draft.review.state.name(), "approved");
    assert_eq!(
        draft.review.approvals.len(),
        1,
        "exactly one approval recorded"
    );
    assert!(gate_accepts(&s.store, &id, BODY));
    assert!(!gate_accepts(
        &s.store,
        &id,
        "Hello Ann, we have reset your password!"
    ));

    // Closed now: nothing more.
    let late = test::call_service(
        &app,
        decision(
            &id,
            &bob,
            json!({"version": 1, "decision": "reject", "reason": "late"}),
        )
        .to_request(),
    )
    .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn an_edited_reply_binds_exactly_the_edited_text() {
    let s = setup();
    let id = add_draft(&s.store, "b", ApprovalRequirement::BASELINE);
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;
    let edited = "Hello Ann, your password is reset. Write back if the mail does not arrive.";
    let response: Value = test::call_and_read_body_json(
        &app,
        decision(
            &id,
            &ann,
            json!({"version": 0, "decision": "edit_approve", "text": edited}),
        )
        .to_request(),
    )
    .await;
    assert_eq!(response["state"], "approved");
    assert_eq!(response["text"], edited);
    assert_eq!(response["edited_by"], "Ann Agent");
    assert!(gate_accepts(&s.store, &id, edited));
    assert!(
        !gate_accepts(&s.store, &id, BODY),
        "the AI's text was not approved"
    );
}

#[actix_web::test]
async fn rejections_need_a_reason_and_two_person_drafts_wait_for_two_people() {
    let s = setup();
    let two = add_draft(
        &s.store,
        "c",
        ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 2,
        },
    );
    let other = add_draft(&s.store, "d", ApprovalRequirement::BASELINE);
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    let sam = token(&s.store, "Sam Supervisor", Role::Supervisor);
    let rita = token(&s.store, "Rita Reviewer", Role::Reviewer);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;

    let one: Value = test::call_and_read_body_json(
        &app,
        decision(&two, &ann, json!({"version": 0, "decision": "approve"})).to_request(),
    )
    .await;
    assert_eq!(
        one["state"], "pending",
        "one of two approvals: not sendable"
    );
    assert!(!gate_accepts(&s.store, &two, BODY));
    let reply_item = format!("{two}.reply");
    assert!(
        s.store.outbox_item(&reply_item).expect("read").is_none(),
        "nothing queued for delivery"
    );
    let again = test::call_service(
        &app,
        decision(&two, &ann, json!({"version": 1, "decision": "approve"})).to_request(),
    )
    .await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "the same person twice"
    );
    let both: Value = test::call_and_read_body_json(
        &app,
        decision(&two, &sam, json!({"version": 1, "decision": "approve"})).to_request(),
    )
    .await;
    assert_eq!(both["state"], "approved");
    assert!(s.store.outbox_item(&reply_item).expect("read").is_some());

    let no_reason = test::call_service(
        &app,
        decision(&other, &ann, json!({"version": 0, "decision": "reject"})).to_request(),
    )
    .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reviewer = test::call_service(
        &app,
        decision(&other, &rita, json!({"version": 0, "decision": "approve"})).to_request(),
    )
    .await;
    assert_eq!(
        reviewer.status(),
        StatusCode::FORBIDDEN,
        "reviewers cannot decide"
    );
    let rejected: Value = test::call_and_read_body_json(
        &app,
        decision(&other, &ann, json!({"version": 0, "decision": "reject", "reason": "promises a refund we do not give"})).to_request(),
    )
    .await;
    assert_eq!(rejected["state"], "rejected");
    assert!(!gate_accepts(&s.store, &other, BODY));

    // Every decision is on record; names and reasons only as commitments.
    let out = s._dir.path().join("export");
    s.audit.export(&out).expect("export");
    let entries = std::fs::read_to_string(out.join("entries.jsonl")).expect("entries");
    let decided: Vec<Value> = entries
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["entry"].clone())
        .filter(|e| e["kind"] == "draft.decided")
        .collect();
    assert_eq!(decided.len(), 3, "{entries}");
    assert_eq!(decided[2]["data"]["decision"], "reject");
    assert!(decided[2]["commitments"]["reason"].is_string());
    assert!(!entries.contains("refund") && !entries.contains("Ann Agent"));
    verify_export(&out, None).expect("the log verifies");
}

/// The `next` URL of a response's `Link` header.
fn next_link(response: &actix_web::dev::ServiceResponse) -> Option<String> {
    let link = response.headers().get("Link")?.to_str().ok()?;
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    Some(link[link.find('<')? + 1..link.find('>')?].to_owned())
}

#[actix_web::test]
async fn the_queue_is_served_a_page_at_a_time_following_the_link_header() {
    let s = setup();
    let ids: Vec<String> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|key| add_draft(&s.store, key, ApprovalRequirement::BASELINE))
        .collect();
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;
    let get = |uri: String| {
        test::TestRequest::get()
            .uri(&uri)
            .insert_header(("Authorization", format!("Bearer {ann}")))
            .to_request()
    };

    // Rejecting one takes it out of the (default, open) listing while it is paged.
    let mut seen = Vec::new();
    let mut next = Some("/api/v1/drafts?helpdesk=acme&limit=2".to_owned());
    let mut pages = 0;
    while let Some(uri) = next {
        let response = test::call_service(&app, get(uri)).await;
        assert_eq!(response.status(), StatusCode::OK);
        next = next_link(&response);
        if let Some(link) = &next {
            assert!(
                link.contains("helpdesk=acme") && link.contains("limit=2"),
                "{link}"
            );
        }
        let page: Value = test::read_body_json(response).await;
        let page: Vec<String> = page
            .as_array()
            .expect("an array")
            .iter()
            .map(|d| d["id"].as_str().expect("id").to_owned())
            .collect();
        assert!(page.len() <= 2, "{page:?}");
        seen.extend(page);
        pages += 1;
        if pages == 1 {
            let rejected = test::call_service(
                &app,
                decision(
                    &ids[3],
                    &ann,
                    json!({"version": 0, "decision": "reject", "reason": "wrong"}),
                )
                .to_request(),
            )
            .await;
            assert_eq!(rejected.status(), StatusCode::OK);
        }
    }
    assert_eq!(pages, 3);
    let expected = [&ids[0], &ids[1], &ids[2], &ids[4], &ids[5]].map(String::as_str);
    assert_eq!(seen, expected, "oldest first, once each");

    // All states, one page: every draft.
    let all: Value =
        test::call_and_read_body_json(&app, get("/api/v1/drafts?state=all&limit=1000".into()))
            .await;
    assert_eq!(all.as_array().map(Vec::len), Some(6));

    for (query, named) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("after=somewhere", "after"),
        ("state=lost", "state"),
        ("page=2", "page"),
    ] {
        let refused = test::call_service(&app, get(format!("/api/v1/drafts?{query}"))).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = test::read_body_json(refused).await;
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(named)),
            "{query}: {body}"
        );
    }
}

#[actix_web::test]
async fn a_body_that_is_not_the_expected_json_is_a_problem_document() {
    let s = setup();
    let id = add_draft(&s.store, "a", ApprovalRequirement::BASELINE);
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;
    for (body, content_type, status) in [
        (
            "{\"version\": 0",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"version\": 0, \"decision\": \"approve\", \"extra\": 1}",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "version=0",
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let refused = test::call_service(
            &app,
            test::TestRequest::post()
                .uri(&format!("/api/v1/drafts/{id}/decisions"))
                .insert_header(("Authorization", format!("Bearer {ann}")))
                .insert_header(("Content-Type", content_type))
                .set_payload(body)
                .to_request(),
        )
        .await;
        assert_eq!(refused.status(), status, "{body}");
        assert_eq!(
            refused
                .headers()
                .get("Content-Type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{body}"
        );
        let problem: Value = test::read_body_json(refused).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("the request body")),
            "{problem}"
        );
    }
    assert_eq!(
        s.store
            .draft(&id)
            .expect("read")
            .expect("draft")
            .review
            .version,
        0
    );
}

#[actix_web::test]
async fn one_person_with_a_second_token_under_another_spelling_still_counts_once() {
    let s = setup();
    let two = add_draft(
        &s.store,
        "e",
        ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 2,
        },
    );
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    // A second token for the same person, her name written differently (spacing, case and
    // full-width letters).
    let ann_again = token(&s.store, "  ANN   \u{ff21}gent ", Role::Agent);
    let bob = token(&s.store, "Bob Agent", Role::Agent);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;
    let first = test::call_service(
        &app,
        decision(&two, &ann, json!({"version": 0, "decision": "approve"})).to_request(),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = test::call_service(
        &app,
        decision(
            &two,
            &ann_again,
            json!({"version": 1, "decision": "approve"}),
        )
        .to_request(),
    )
    .await;
    assert_eq!(
        second.status(),
        StatusCode::CONFLICT,
        "the same person under another spelling"
    );
    let body: Value = test::read_body_json(second).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already approved"),
        "{body}"
    );
    assert!(!gate_accepts(&s.store, &two, BODY));
    let done: Value = test::call_and_read_body_json(
        &app,
        decision(&two, &bob, json!({"version": 1, "decision": "approve"})).to_request(),
    )
    .await;
    assert_eq!(done["state"], "approved");
    let approvals = done["approvals"].as_array().expect("approvals");
    assert!(
        approvals.iter().all(|a| a["token_id"].is_string()),
        "each approval names its token: {approvals:?}"
    );
}

#[actix_web::test]
async fn names_are_normalised_at_creation_and_a_token_for_oneself_is_on_record() {
    let s = setup();
    let ada = {
        let (token, hash, id) = new_token().expect("randomness");
        s.store
            .insert_token(
                &hash,
                &TokenRecord {
                    id,
                    person: "Ada Admin".into(),
                    roles: vec![Role::Admin],
                    created_at_ms: 1,
                    revoked_at_ms: None,
                },
            )
            .expect("token");
        token
    };
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;
    let create = |person: &str| {
        test::TestRequest::post()
            .uri("/api/v1/tokens")
            .insert_header(("Authorization", format!("Bearer {ada}")))
            .set_json(json!({"person": person, "roles": ["agent"]}))
            .to_request()
    };
    let created: Value =
        test::call_and_read_body_json(&app, create("  Rene\u{301}e   Agent ")).await;
    assert_eq!(
        created["person"], "Ren\u{e9}e Agent",
        "NFC, trimmed, one space"
    );
    let own: Value = test::call_and_read_body_json(&app, create("ADA admin")).await;
    assert_eq!(own["person"], "ADA admin");
    let bad = test::call_service(&app, create("   ")).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    s.audit.sync().expect("sync");
    let created_entries: Vec<bool> = s
        .audit
        .entries_of_kind("token.created")
        .expect("read")
        .iter()
        .map(|e| e.data["same_person"] == true)
        .collect();
    assert_eq!(
        created_entries,
        [false, true],
        "the admin's token for her own name is marked"
    );
}

#[actix_web::test]
async fn a_drafts_summary_is_found_by_the_kind_of_action_whatever_the_plugin_is_called() {
    let s = setup();
    let id = add_draft_with_note(
        &s.store,
        "f",
        ApprovalRequirement::BASELINE,
        Some((
            "team-digest",
            "Digest: the customer wants a replacement kettle.",
        )),
    );
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;
    let detail: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get()
            .uri(&format!("/api/v1/drafts/{id}"))
            .insert_header(("Authorization", format!("Bearer {ann}")))
            .to_request(),
    )
    .await;
    assert_eq!(
        detail["ticket_summary"],
        "Digest: the customer wants a replacement kettle."
    );
}

#[actix_web::test]
async fn a_reply_an_earlier_attempt_may_have_delivered_cannot_be_cancelled() {
    let s = setup();
    let id = add_draft(&s.store, "g", ApprovalRequirement::BASELINE);
    let ann = token(&s.store, "Ann Agent", Role::Agent);
    let root = token(&s.store, "Ada Admin", Role::Admin);
    let app = test::init_service(App::new().configure(configure(s.state.clone()))).await;
    let approved = test::call_service(
        &app,
        decision(&id, &ann, json!({"version": 0, "decision": "approve"})).to_request(),
    )
    .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let item_id = format!("{id}.reply");
    let mut item = s
        .store
        .outbox_item(&item_id)
        .expect("read")
        .expect("the approval queued the reply");
    // An attempt went out and the helpdesk never answered.
    item.maybe_applied = true;
    s.store.outbox_update(&item).expect("update");
    let cancel = || {
        test::TestRequest::post()
            .uri(&format!("/api/v1/drafts/{id}/cancel"))
            .insert_header(("Authorization", format!("Bearer {root}")))
            .set_json(json!({"reason": "wrong customer"}))
            .to_request()
    };
    let refused = test::call_service(&app, cancel()).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = test::read_body_json(refused).await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("may have reached the helpdesk")),
        "{body}"
    );
    s.audit.sync().expect("sync");
    assert!(
        s.audit
            .entries_of_kind("reply.cancelled")
            .expect("read")
            .is_empty(),
        "a refused cancellation is not in the log"
    );
    let draft = s.store.draft(&id).expect("read").expect("draft");
    assert_eq!(draft.review.state.name(), "approved");
    assert!(matches!(
        s.store
            .outbox_item(&item_id)
            .expect("read")
            .map(|i| i.state),
        Some(OutboxState::Pending)
    ));

    // Once the outbox has read the ticket back and found nothing, it can be.
    item.maybe_applied = false;
    s.store.outbox_update(&item).expect("update");
    let accepted = test::call_service(&app, cancel()).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    s.audit.sync().expect("sync");
    assert_eq!(
        s.audit
            .entries_of_kind("reply.cancelled")
            .expect("read")
            .len(),
        1
    );
    assert!(matches!(
        s.store
            .outbox_item(&item_id)
            .expect("read")
            .map(|i| i.state),
        Some(OutboxState::Cancelled { .. })
    ));
}
