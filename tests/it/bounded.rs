//! What a plugin may read and how much it may use: internal notes reach only plugins whose
//! manifest asks for them, and every host import is bounded by the manifest's `limits` —
//! each limit held by a hostile guest just past it, and let through just inside it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskbridge_core::{
    Action, AuthorRole, DraftReply, Message, OutputViolation, VerdictViolation, Visibility,
};
use deskbridge_plugin_host::{CallError, HostServices, LoadedPlugin, MemoryKv, ValidatedEvent};
use deskbridge_providers::{
    AiProvider, Answered, BoxFuture, CompletionRequest, LocalEngine, ProviderError,
    ProviderRegistry,
};
use deskbridge_tests::guests;

use crate::support::{
    answered, event, event_with_subject, load_bundled, load_guest, try_load_guest,
};

/// The words of an internal note no customer may read.
const WATCHLIST: &str = "Customer is on the fraud watchlist, do not refund.";

/// The fixture ticket with an agent's internal note after the customer's message, and the
/// customer writing again after it.
fn ticket_with_internal_note() -> ValidatedEvent {
    let mut event = event("ticket-created.json").into_inner();
    let customer = event.ticket.messages[0].clone();
    event.ticket.messages.push(Message {
        id: "m-note".into(),
        author_role: AuthorRole::Agent,
        author_name: Some("Ann Agent".into()),
        visibility: Visibility::Internal,
        body: WATCHLIST.into(),
        created_at: "2026-11-25T09:59:40Z".into(),
    });
    event.ticket.messages.push(Message {
        id: "m-2".into(),
        body: "Any news about my kettle order?".into(),
        created_at: "2026-11-25T09:59:50Z".into(),
        ..customer
    });
    event.kind = deskbridge_core::EventKind::CustomerMessageAdded;
    ValidatedEvent::validate(event).expect("valid")
}

fn only_draft(actions: &[Action]) -> &DraftReply {
    match actions {
        [Action::DraftReply(draft)] => draft,
        other => panic!("expected one draft, got {other:?}"),
    }
}

fn only_note(actions: &[Action]) -> &str {
    match actions {
        [Action::InternalNote { body }] => body,
        other => panic!("expected one note, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plugin_sees_internal_notes_only_when_its_manifest_asks() {
    let event = ticket_with_internal_note();
    let public_only = load_guest(guests::THREAD_ECHO);
    let report = public_only.handle_event(&event).await.expect("drafts");
    let draft = only_draft(&report.output);
    assert!(!draft.body.contains("watchlist"), "{}", draft.body);
    assert!(draft.body.contains("Any news about my kettle order?"));

    let granted = try_load_guest(guests::THREAD_ECHO, &HostServices::local(), |m| {
        m.capabilities.internal_messages = true;
    })
    .expect("loads");
    let report = granted.handle_event(&event).await.expect("drafts");
    assert!(only_draft(&report.output).body.contains("watchlist"));
}

/// The local engine, recording every prompt it is sent.
struct RecordingProvider {
    prompts: Arc<Mutex<Vec<String>>>,
}

impl AiProvider for RecordingProvider {
    fn name(&self) -> &str {
        "local"
    }
    fn default_model(&self) -> &str {
        "extractive-v1"
    }
    fn complete(
        &self,
        request: CompletionRequest,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Answered, ProviderError>> {
        let prompt: Vec<&str> = request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        self.prompts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(prompt.join("\n"));
        Box::pin(async move { LocalEngine::new().answer(&request).map(answered) })
    }
}

#[tokio::test]
async fn the_reply_prompt_never_carries_an_internal_note_and_the_summary_prompt_does() {
    let event = ticket_with_internal_note();
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let mut providers = ProviderRegistry::new();
    providers.insert(Arc::new(RecordingProvider {
        prompts: prompts.clone(),
    }));
    let services = HostServices::with_providers(&providers, Arc::new(MemoryKv::new()));
    let taken = || std::mem::take(&mut *prompts.lock().unwrap_or_else(|e| e.into_inner()));

    let suggest = load_bundled("suggest-reply", None, &services, |_| {});
    let report = suggest.handle_event(&event).await.expect("drafts");
    let draft = only_draft(&report.output);
    assert!(!draft.body.contains("watchlist"), "{}", draft.body);
    let sent = taken();
    assert_eq!(sent.len(), 1);
    assert!(
        !sent[0].contains("watchlist"),
        "the reply prompt: {}",
        sent[0]
    );
    assert!(sent[0].contains("Any news about my kettle order?"));

    let summarize = load_bundled("summarize", None, &services, |_| {});
    assert!(summarize.manifest().capabilities.internal_messages);
    summarize.handle_event(&event).await.expect("summarizes");
    let sent = taken();
    assert!(
        sent[0].contains(&format!("Internal note (agent): {WATCHLIST}")),
        "a summary for agents may read their notes: {}",
        sent[0]
    );
}

#[tokio::test]
async fn a_plugin_that_declares_no_drafts_has_its_drafts_refused() {
    let refused = try_load_guest(guests::THREAD_ECHO, &HostServices::local(), |m| {
        m.capabilities.draft_replies = false;
    })
    .expect("loads");
    let failure = refused
        .handle_event(&event("ticket-created.json"))
        .await
        .expect_err("a draft from a plugin that declared none");
    let CallError::Output { violation, .. } = &failure.error else {
        panic!("{:?}", failure.error);
    };
    assert!(
        violation.to_string().contains("capabilities.draft_replies"),
        "{violation}"
    );
}

async fn run(plugin: &LoadedPlugin, subject: &str) -> Result<String, CallError> {
    plugin
        .handle_event(&event_with_subject(subject))
        .await
        .map(|report| only_note(&report.output).to_owned())
        .map_err(|failure| failure.error)
}

#[tokio::test]
async fn logging_past_the_line_or_byte_limit_fails_the_call() {
    let plugin = load_guest(guests::IMPORT_ABUSER);
    assert_eq!(
        run(&plugin, "log-lines-within").await.as_deref(),
        Ok("logged 8 lines")
    );
    let limit = |limit: &'static str, value: u64| CallError::ImportLimitExceeded {
        plugin: "import-abuser".into(),
        import: "log",
        limit,
        value,
    };
    assert_eq!(
        run(&plugin, "log-lines").await,
        Err(limit("limits.max_log_lines", 8))
    );
    assert_eq!(
        run(&plugin, "log-bytes").await,
        Err(limit("limits.max_log_bytes", 4096))
    );
}

#[tokio::test]
async fn a_log_line_cannot_forge_lines_or_escapes_in_the_gateway_log() {
    let plugin = load_guest(guests::IMPORT_ABUSER);
    let report = plugin
        .handle_event(&event_with_subject("log-forged"))
        .await
        .expect("runs");
    let message = &report.logs[0].message;
    assert!(message.starts_with("fine 2026-12-04"), "{message:?}");
    assert!(!message.contains(['\n', '\u{1b}']), "{message:?}");
}

#[tokio::test]
async fn ai_requests_are_bounded_in_messages_and_bytes() {
    let plugin = load_guest(guests::IMPORT_ABUSER);
    for within in ["ai-messages-within", "ai-prompt-within"] {
        assert_eq!(
            run(&plugin, within).await.as_deref(),
            Ok("ai answered"),
            "{within}"
        );
    }
    let refused = run(&plugin, "ai-messages").await.expect("reports");
    assert!(
        refused.starts_with("ai refused: AiError::Denied"),
        "{refused}"
    );
    assert!(refused.contains("limits.max_ai_messages is 4"), "{refused}");
    let refused = run(&plugin, "ai-prompt").await.expect("reports");
    assert!(
        refused.contains("4098 bytes; limits.max_prompt_bytes is 4096"),
        "{refused}"
    );
}

#[tokio::test]
async fn kv_keys_values_key_count_and_total_bytes_are_bounded() {
    let services = HostServices::local();
    let plugin = try_load_guest(guests::IMPORT_ABUSER, &services, |_| {}).expect("loads");
    let cases = [
        ("kv-key", "limits.max_kv_key_bytes"),
        (
            "kv-value",
            "kv refused key 0: the value is 1025 bytes; limits.max_kv_value_bytes is 1024",
        ),
        (
            "kv-keys",
            "kv refused key 16: the plugin already holds 16 keys",
        ),
    ];
    for (subject, expected) in cases {
        let outcome = run(&plugin, subject).await.expect("reports");
        assert!(outcome.contains(expected), "{subject}: {outcome}");
    }
    // A fresh store: 4 keys of about 1,005 bytes fit in 4,096, a fifth does not.
    let fresh =
        try_load_guest(guests::IMPORT_ABUSER, &HostServices::local(), |_| {}).expect("loads");
    let outcome = run(&fresh, "kv-total").await.expect("reports");
    assert!(
        outcome.starts_with("kv refused key 4:") && outcome.contains("limits.max_kv_total_bytes"),
        "{outcome}"
    );
}

#[tokio::test]
async fn verdicts_are_bounded_in_flags_codes_and_texts() {
    let ticket = event("ticket-created.json").into_inner().ticket;
    // A fresh plugin each time: three refusals in a row would trip one plugin's breaker.
    let review = |body: &str| {
        let draft = DraftReply {
            body: body.into(),
            rationale: "r".into(),
            confidence: 0.5,
            sources: Vec::new(),
        };
        let ticket = &ticket;
        async move {
            load_guest(guests::IMPORT_ABUSER)
                .review_draft(ticket, &draft, "suggest-reply")
                .await
                .map(|report| report.output.flags.len())
                .map_err(|failure| failure.error)
        }
    };
    assert_eq!(review("flags-within").await, Ok(4));
    let violation = |error: CallError| match error {
        CallError::Output {
            violation: OutputViolation::Verdict(violation),
            ..
        } => violation,
        other => panic!("expected a verdict violation, got {other:?}"),
    };
    assert_eq!(
        violation(review("flags").await.expect_err("five flags")),
        VerdictViolation::TooManyFlags {
            actual: 5,
            limit: 4
        }
    );
    assert_eq!(
        violation(review("flag-code").await.expect_err("bad code")),
        VerdictViolation::BadCode { index: 0 }
    );
    for body in ["flag-long", "flag-control", "block-long"] {
        let refused = violation(review(body).await.expect_err(body));
        assert!(
            matches!(refused, VerdictViolation::BadText { limit: 64, .. }),
            "{body}: {refused:?}"
        );
    }
}
