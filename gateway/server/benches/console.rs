//! Server time of the console's heavy pages on a large store, through actix's test service
//! (no sockets): the queue with 10,000 open drafts (issue 14: under 100 ms), and insights over
//! 100,000 decided drafts, as JSON and as the console page with findings and charts (under
//! 200 ms).
//!
//! Run: `cargo bench -p deskbridge-server --bench console`

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, test, web};
use criterion::{Criterion, criterion_group, criterion_main};
use deskbridge_core::review::{DraftState, Review};
use deskbridge_core::{ApprovalRequirement, HelpdeskKind, Role};
use deskbridge_pipeline::tokens::new_token;
use deskbridge_server::{AppState, Console, configure};
use deskbridge_store::{
    DraftProvenance, EventOutcome, EventSource, InboundEvent, Inserted, PendingDraft,
    ProcessedEvent, SledStore, Store, TokenRecord,
};

const NOW: i64 = 1_800_000_000_000;

/// Stores `n` drafts over a year, on two helpdesks, by two plugin versions and two models:
/// all decided (a quarter rejected, a fifth edited) or all open.
fn fill(store: &SledStore, n: usize, decided: bool) {
    for i in 0..n {
        let event = InboundEvent {
            id: format!("evt-{i}"),
            dedupe_key: format!("k{i}"),
            helpdesk: if i % 3 == 0 { "beta" } else { "acme" }.into(),
            helpdesk_kind: HelpdeskKind::Zendesk,
            ticket_id: format!("{}", 1000 + i),
            received_at_ms: NOW,
            source: EventSource::Fetch {
                kind_hint: None,
                origin: "bench".into(),
            },
            request_id: None,
        };
        let Inserted::New(seq) = store.insert_event(&event).expect("insert") else {
            panic!("new event");
        };
        // A year of history: one day in 365, and a time of day.
        let created = NOW - (i as i64 % 365) * 86_400_000 - (i as i64 % 86_400) * 1000;
        let review = if decided {
            Review {
                version: 1,
                state: if i % 4 == 0 {
                    DraftState::Rejected {
                        by: "Ann".into(),
                        reason: format!("reason {}", i % 7),
                        at_ms: created + 60_000,
                    }
                } else {
                    DraftState::Sent {
                        at_ms: created + 60_000,
                        receipt: None,
                        ai_disclosure: true,
                        delivery_logged: true,
                    }
                },
                decided_at_ms: Some(created + 60_000),
                edited_text: (i % 5 == 0).then(|| "Edited reply.".into()),
                edit_distance: (i % 5 == 0).then_some(12),
                ..Review::default()
            }
        } else {
            Review::default()
        };
        let draft = PendingDraft {
            id: format!("evt-{i}.suggest-reply.0"),
            helpdesk: event.helpdesk.clone(),
            ticket_id: event.ticket_id.clone(),
            body: "Hello, thank you for your message. Refunds are issued within 5 business days."
                .into(),
            rationale: "refund question".into(),
            confidence: 0.8,
            provenance: DraftProvenance {
                plugin_id: "suggest-reply".into(),
                plugin_version: if i % 2 == 0 { "0.2.0" } else { "0.1.0" }.into(),
                wasm_sha256: "ab".repeat(32),
                provider: Some(if i % 5 < 2 { "openai" } else { "local" }.into()),
                model: Some(
                    if i % 5 < 2 {
                        "gpt-4o-mini"
                    } else {
                        "extractive-v1"
                    }
                    .into(),
                ),
                event_id: event.id.clone(),
                redaction: Default::default(),
                sources: Vec::new(),
            },
            requirement: ApprovalRequirement::BASELINE,
            blocked: None,
            flags: vec![],
            created_at_ms: created,
            ai_disclosure: None,
            context: None,
            notes: Vec::new(),
            suggestions: Vec::new(),
            review,
        };
        store
            .complete_event(
                seq,
                &EventOutcome {
                    processed: ProcessedEvent {
                        event_id: event.id.clone(),
                        helpdesk: event.helpdesk.clone(),
                        ticket_id: event.ticket_id.clone(),
                        kind: None,
                        completed_at_ms: created,
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
                    outbox: Vec::new(),
                    drafts: vec![draft],
                    last_message_id: None,
                },
            )
            .expect("complete");
    }
}

fn state(store: Arc<SledStore>) -> web::Data<AppState> {
    web::Data::new(AppState {
        plugins: Vec::new(),
        started: Instant::now(),
        webhooks: None,
        store: Some(store),
        audit: None,
        switch: deskbridge_core::DraftingSwitch::default(),
        draft_expiry: Duration::from_secs(3 * 24 * 3600),
        warnings: Vec::new(),
        ai: None,
        knowledge: None,
        decisions: None,
        console: Some(Arc::new(Console::new(
            Duration::from_secs(3600),
            Duration::from_secs(3600),
            false,
            Vec::new(),
        ))),
        readiness: None,
    })
}

fn token(store: &SledStore) -> String {
    let (token, hash, id) = new_token().expect("randomness");
    let roles = vec![Role::Agent, Role::Reviewer, Role::Admin];
    store
        .insert_token(
            &hash,
            &TokenRecord {
                id,
                person: "Bench".into(),
                roles,
                created_at_ms: 1,
                revoked_at_ms: None,
            },
        )
        .expect("token");
    token
}

fn bench(c: &mut Criterion) {
    let runtime = actix_web::rt::System::new();
    for (label, n, decided) in [
        ("10k open drafts", 10_000, false),
        ("100k decided drafts", 100_000, true),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SledStore::open(dir.path()).expect("store"));
        let filled = Instant::now();
        fill(&store, n, decided);
        eprintln!("{label}: stored in {:.1} s", filled.elapsed().as_secs_f64());
        if decided {
            // Where the time of insights goes: reading the tallies, then computing.
            let read = Instant::now();
            let tallies = store.tallies().expect("tallies");
            let read_ms = read.elapsed().as_secs_f64() * 1000.0;
            let computing = Instant::now();
            let insights = deskbridge_server::insights::compute(&tallies, &Default::default(), NOW);
            eprintln!(
                "{label}: tallies {read_ms:.1} ms ({} rows), compute {:.1} ms ({} insight rows)",
                tallies.len(),
                computing.elapsed().as_secs_f64() * 1000.0,
                insights.rows.len()
            );
            // What reading every record would cost (the insights of the first console).
            let read = Instant::now();
            let recount = deskbridge_store::tally::tallies_of(
                &store.draft_reviews().expect("reviews"),
                &store.processed_events().expect("events"),
            );
            eprintln!(
                "{label}: summing from every record instead {:.0} ms ({} rows)",
                read.elapsed().as_secs_f64() * 1000.0,
                recount.len()
            );
        }
        let token = token(&store);
        let app = runtime.block_on(test::init_service(
            App::new().configure(configure(state(store))),
        ));
        // Sign in once; the session cookie serves the console pages.
        let signed_in = runtime.block_on(test::call_service(
            &app,
            test::TestRequest::post()
                .uri("/console/sign-in")
                .set_form([("token", token.as_str()), ("next", "/console/queue")])
                .to_request(),
        ));
        let cookie = signed_in
            .headers()
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("deskbridge_session="))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let mut group = c.benchmark_group(label);
        group.sample_size(10);
        let pages: &[&str] = if decided {
            &["/api/v1/insights", "/console/insights"]
        } else {
            &["/console/queue", "/api/v1/drafts?limit=50"]
        };
        for page in pages {
            group.bench_function(*page, |b| {
                b.iter(|| {
                    let response = runtime.block_on(test::call_service(
                        &app,
                        test::TestRequest::get()
                            .uri(page)
                            .insert_header(("Cookie", cookie.as_str()))
                            .insert_header(("Authorization", format!("Bearer {token}")))
                            .to_request(),
                    ));
                    assert!(
                        response.status().is_success(),
                        "{page}: {}",
                        response.status()
                    );
                    runtime.block_on(test::read_body(response))
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
