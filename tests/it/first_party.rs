//! The first-party plugins on fixtures, through the real runtime, and how AI faults fail
//! closed without tripping a plugin's breaker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::{
    Action, ApprovalRequirement, ApproverRole, Decision, DraftReply, apply_handover_rule,
    combine_verdicts,
};
use deskbridge_plugin_host::{CallError, HostServices, MemoryKv, ValidatedEvent};
use deskbridge_providers::{
    AiProvider, AiRouter, Answered, BoxFuture, CompletionRequest, FailureKind, GuardSettings,
    LocalEngine, ProviderError, ProviderRegistry, Routes, Target,
};

use crate::support::{answered, event, load_bundled};

/// A provider named `local` that waits before answering like the local engine (or failing).
struct SlowProvider {
    delay: Duration,
    fail: bool,
}

impl AiProvider for SlowProvider {
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
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            if self.fail {
                return Err(ProviderError::new(
                    "local",
                    FailureKind::ServerError,
                    "HTTP 503 from upstream",
                ));
            }
            LocalEngine::new().answer(&request).map(answered)
        })
    }
}

fn services_with(provider: SlowProvider) -> HostServices {
    let mut providers = ProviderRegistry::new();
    providers.insert(Arc::new(provider));
    HostServices::with_providers(&providers, Arc::new(MemoryKv::new()))
}

#[tokio::test]
async fn summarize_writes_an_internal_note() {
    let plugin = load_bundled("summarize", None, &HostServices::local(), |_| {});
    let report = plugin
        .handle_event(&event("ticket-created.json"))
        .await
        .expect("summarizes");
    let [Action::InternalNote { body }] = report.output.as_slice() else {
        panic!("expected one note, got {:?}", report.output);
    };
    assert!(body.starts_with("AI summary"), "{body}");
    assert!(body.contains("kettle"), "{body}");
    assert_eq!(report.ai_calls.len(), 1);
    assert_eq!(report.ai_calls[0].provider, "local");
    assert!(report.fuel_consumed > 0);
}

#[tokio::test]
async fn suggest_reply_drafts_with_rationale_and_confidence() {
    let plugin = load_bundled("suggest-reply", None, &HostServices::local(), |_| {});
    let report = plugin
        .handle_event(&event("ticket-created.json"))
        .await
        .expect("drafts");
    let [Action::DraftReply(draft)] = report.output.as_slice() else {
        panic!("expected one draft, got {:?}", report.output);
    };
    assert!(
        draft.body.starts_with("Hello Ada Lovelace,"),
        "{}",
        draft.body
    );
    assert!(
        !draft.body.contains("CONFIDENCE"),
        "trailer must be split off"
    );
    // No knowledge base here: the engine's 0.4 is capped at `unsourced_confidence` (0.3) and
    // the rationale says that no article backs the draft.
    assert!(
        (draft.confidence - 0.3).abs() < 1e-6,
        "{}",
        draft.confidence
    );
    assert!(
        draft.rationale.starts_with("No matching article"),
        "{}",
        draft.rationale
    );
    assert!(draft.rationale.contains("local extractive engine"));
}

#[tokio::test]
async fn suggest_reply_never_drafts_over_an_agent() {
    let plugin = load_bundled("suggest-reply", None, &HostServices::local(), |_| {});
    let mut answered = event("ticket-created.json").into_inner();
    let mut reply = answered.ticket.messages[0].clone();
    reply.id = "m-2".into();
    reply.author_role = deskbridge_core::AuthorRole::Agent;
    reply.body = "On its way!".into();
    answered.ticket.messages.push(reply);
    let report = plugin
        .handle_event(&ValidatedEvent::validate(answered).expect("valid"))
        .await
        .expect("runs");
    assert!(report.output.is_empty());
    assert!(
        report.ai_calls.is_empty(),
        "no AI spent on a ticket with nothing to answer"
    );
}

#[tokio::test]
async fn human_handover_fires_on_request_and_suppresses_drafts() {
    let services = HostServices::local();
    let handover = load_bundled("human-handover", None, &services, |_| {});
    let suggest = load_bundled("suggest-reply", None, &services, |_| {});
    let wants_human = event("asks-for-human.json");

    let mut actions = handover
        .handle_event(&wants_human)
        .await
        .expect("runs")
        .output;
    assert!(
        matches!(actions.first(), Some(Action::HandOver(_))),
        "{actions:?}"
    );
    actions.extend(
        suggest
            .handle_event(&wants_human)
            .await
            .expect("runs")
            .output,
    );
    assert!(actions.iter().any(|a| matches!(a, Action::DraftReply(_))));
    let (kept, suppressed) = apply_handover_rule(actions);
    assert_eq!(suppressed, 1);
    assert!(!kept.iter().any(|a| matches!(a, Action::DraftReply(_))));

    let calm = handover
        .handle_event(&event("ticket-created.json"))
        .await
        .expect("runs");
    assert!(calm.output.is_empty(), "{:?}", calm.output);
}

fn refund_draft() -> DraftReply {
    DraftReply {
        body: "We have issued a full refund for your last three orders.".into(),
        rationale: "Customer asked".into(),
        confidence: 0.9,
        sources: Vec::new(),
    }
}

#[tokio::test]
async fn approval_policy_escalates_sensitive_drafts_and_flags_injection() {
    let plugin = load_bundled("approval-policy", None, &HostServices::local(), |_| {});
    let ticket = event("refund-with-injection.json").into_inner().ticket;
    let verdict = plugin
        .review_draft(&ticket, &refund_draft(), "suggest-reply")
        .await
        .expect("reviews")
        .output;
    assert_eq!(
        verdict.decision,
        Decision::RequireApproval(ApprovalRequirement {
            role: ApproverRole::Supervisor,
            approvers: 1
        })
    );
    let codes: Vec<&str> = verdict.flags.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["sensitive-refund", "prompt-injection"]);
    // The host's combination never goes below the baseline and keeps the flags.
    assert_eq!(combine_verdicts([&verdict]).flags.len(), 2);
}

#[tokio::test]
async fn approval_policy_is_configurable_and_its_config_is_checked() {
    let config = serde_json::json!({ "approvers": 2 });
    let plugin = load_bundled(
        "approval-policy",
        Some(config),
        &HostServices::local(),
        |_| {},
    );
    let ticket = event("ticket-created.json").into_inner().ticket;
    let draft = DraftReply {
        body: "A new kettle ships today.".into(),
        rationale: "r".into(),
        confidence: 0.8,
        sources: Vec::new(),
    };
    let verdict = plugin
        .review_draft(&ticket, &draft, "suggest-reply")
        .await
        .expect("reviews")
        .output;
    assert_eq!(
        verdict.decision,
        Decision::RequireApproval(ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 2
        })
    );

    let bundled = deskbridge_bundled_plugins::get("approval-policy").expect("bundled");
    let manifest = deskbridge_plugin_host::Manifest::from_toml(bundled.manifest).expect("valid");
    let err = crate::support::engine()
        .load(
            deskbridge_plugin_host::PluginSource {
                wasm: bundled.wasm,
                manifest,
                config: Some(serde_json::json!({ "approvers": 0 })),
            },
            &HostServices::local(),
        )
        .expect_err("approvers must be at least 1");
    assert!(err.to_string().contains("field `approvers`"), "{err}");
}

#[tokio::test]
async fn an_unreachable_provider_fails_closed_without_tripping_the_breaker() {
    let services = services_with(SlowProvider {
        delay: Duration::ZERO,
        fail: true,
    });
    let plugin = load_bundled("summarize", None, &services, |_| {});
    for _ in 0..5 {
        let failure = plugin
            .handle_event(&event("ticket-created.json"))
            .await
            .expect_err("no summary without AI");
        assert!(
            matches!(&failure.error, CallError::Reported { code, .. } if code == "ai-unavailable"),
            "{}",
            failure.error
        );
        assert_eq!(failure.ai_calls.len(), 1);
        assert!(failure.ai_calls[0].error.is_some());
    }
    let status = plugin.status();
    assert!(
        status.enabled,
        "a provider outage must not switch plugins off"
    );
    assert_eq!((status.calls, status.failures), (5, 0));
}

#[tokio::test]
async fn the_deadline_includes_ai_time_and_slow_providers_are_not_the_plugins_fault() {
    let services = services_with(SlowProvider {
        delay: Duration::from_secs(5),
        fail: false,
    });
    let plugin = load_bundled("summarize", None, &services, |m| {
        m.limits.wall_clock_ms = 300
    });
    let failure = plugin
        .handle_event(&event("ticket-created.json"))
        .await
        .expect_err("provider too slow");
    // The AI call is cut off before the plugin's own limit, and the plugin gives up cleanly.
    assert!(
        matches!(&failure.error, CallError::Reported { code, message, .. }
            if code == "ai-unavailable" && message.contains("timeout")),
        "{}",
        failure.error
    );
    assert!(
        failure.elapsed < Duration::from_secs(2),
        "{:?}",
        failure.elapsed
    );
    assert_eq!(plugin.status().failures, 0);
}

#[tokio::test]
async fn time_spent_in_an_ai_call_does_not_trap_the_plugin() {
    // Twenty epoch ticks pass inside the import; a per-call epoch *trap* would fire here.
    let services = services_with(SlowProvider {
        delay: Duration::from_millis(100),
        fail: false,
    });
    let plugin = load_bundled("summarize", None, &services, |_| {});
    let report = plugin
        .handle_event(&event("ticket-created.json"))
        .await
        .expect("completes after a slow AI call");
    assert_eq!(report.output.len(), 1);
    assert!(report.ai_calls[0].elapsed_us >= 100_000);
}

#[tokio::test]
async fn a_full_instance_pool_is_reported_and_not_held_against_the_plugin() {
    // One instance slot: while the first call waits for the AI, the second finds no slot.
    let engine =
        deskbridge_plugin_host::PluginEngine::new(deskbridge_plugin_host::EngineSettings {
            max_instances: 1,
            ..Default::default()
        })
        .expect("engine");
    let services = services_with(SlowProvider {
        delay: Duration::from_millis(300),
        fail: false,
    });
    let bundled = deskbridge_bundled_plugins::get("summarize").expect("bundled");
    let plugin = engine
        .load(
            deskbridge_plugin_host::PluginSource {
                wasm: bundled.wasm,
                manifest: deskbridge_plugin_host::Manifest::from_toml(bundled.manifest)
                    .expect("valid"),
                config: None,
            },
            &services,
        )
        .expect("loads");
    let event = event("ticket-created.json");
    let (first, second) = tokio::join!(plugin.handle_event(&event), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        plugin.handle_event(&event).await
    });
    assert_eq!(first.expect("the first call completes").output.len(), 1);
    let failure = second.expect_err("no free slot");
    assert!(
        matches!(&failure.error, CallError::Instantiation { reason, .. } if reason.contains("maximum concurrent")),
        "{}",
        failure.error
    );
    assert_eq!(plugin.status().failures, 0);
}

#[tokio::test]
async fn ai_is_limited_to_the_manifest_providers_even_when_a_route_says_otherwise() {
    // The manifest lists `local` only; the operator's route puts another provider first.
    struct Other;
    impl AiProvider for Other {
        fn name(&self) -> &str {
            "openai"
        }
        fn default_model(&self) -> &str {
            "gpt"
        }
        fn complete(
            &self,
            _: CompletionRequest,
            _timeout: Duration,
        ) -> BoxFuture<'_, Result<Answered, ProviderError>> {
            Box::pin(async { panic!("a provider the manifest does not list was called") })
        }
    }
    let routes = Routes {
        plugins: BTreeMap::from([(
            "summarize".to_owned(),
            vec![
                Target::parse("openai").expect("step"),
                Target::parse("local").expect("step"),
            ],
        )]),
        ..Routes::default()
    };
    let router =
        AiRouter::new(vec![(Arc::new(Other), GuardSettings::default())], routes).expect("router");
    // Start-up refuses the route, naming both.
    let refused = router
        .check_plugin("summarize", &["local".into()], &[], &[])
        .expect_err("outside the manifest");
    assert!(refused.to_string().contains("`openai`"), "{refused}");
    // And a host that was never checked still keeps to the manifest at call time.
    let services = HostServices {
        ai: Arc::new(router),
        kv: Arc::new(MemoryKv::new()),
        redaction: Arc::default(),
        knowledge: Arc::new(deskbridge_core::NoKnowledge),
    };
    let plugin = load_bundled("summarize", None, &services, |m| {
        if let Some(ai) = &mut m.capabilities.ai {
            ai.providers = vec!["local".into()];
        }
    });
    let report = plugin
        .handle_event(&event("ticket-created.json"))
        .await
        .expect("summarizes with local");
    let providers: Vec<&str> = report
        .ai_calls
        .iter()
        .map(|c| c.provider.as_str())
        .collect();
    assert_eq!(providers, ["local"]);
}

#[test]
fn fixtures_validate_and_bad_events_name_the_field() {
    for name in [
        "ticket-created.json",
        "asks-for-human.json",
        "refund-with-injection.json",
    ] {
        ValidatedEvent::parse(&deskbridge_tests::fixture(name)).expect(name);
    }
    let err = ValidatedEvent::parse(&deskbridge_tests::fixture("invalid-event.json"))
        .expect_err("robot is no role");
    assert!(
        err.to_string()
            .contains("field `ticket.messages[0].author_role`"),
        "{err}"
    );
}

/// A provider named `local` that keeps every prompt it is sent and answers with the last one.
#[derive(Default)]
struct RecordingProvider {
    prompts: std::sync::Mutex<Vec<String>>,
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
        Box::pin(async move {
            let prompt: Vec<String> = request.messages.iter().map(|m| m.content.clone()).collect();
            let prompt = prompt.join("\n");
            self.prompts.lock().expect("lock").push(prompt.clone());
            let mut answer = LocalEngine::new().answer(&request)?;
            answer.text = format!("Summary: {prompt}");
            Ok(answered(answer))
        })
    }
}

#[tokio::test]
async fn providers_never_see_personal_data_and_plugins_get_it_back() {
    let recorder = Arc::new(RecordingProvider::default());
    let mut providers = ProviderRegistry::new();
    providers.insert(recorder.clone());
    let services = HostServices::with_providers(&providers, Arc::new(MemoryKv::new()));
    let plugin = load_bundled("summarize", None, &services, |_| {});
    let mut event = event("ticket-created.json").into_inner();
    let body = "Please call me on +44 20 7946 0958 or write to ada@example.org. \
                I paid with 4242 4242 4242 4242.";
    event.ticket.messages[0].body = body.to_owned();
    let event = ValidatedEvent::validate(event).expect("valid");
    let report = plugin.handle_event(&event).await.expect("summarizes");

    let prompts = recorder.prompts.lock().expect("lock").clone();
    assert!(!prompts.is_empty());
    for prompt in &prompts {
        for secret in ["+44 20 7946 0958", "ada@example.org", "4242 4242 4242 4242"] {
            assert!(
                !prompt.contains(secret),
                "the provider saw {secret}: {prompt}"
            );
        }
        assert!(
            prompt.contains("[PHONE_1]") && prompt.contains("[EMAIL_1]"),
            "{prompt}"
        );
    }
    let redacted = report.ai_calls[0].redacted;
    assert_eq!(
        (redacted.emails, redacted.phones, redacted.cards),
        (1, 1, 1)
    );
    // The answer reaches the plugin with the values back, the card masked.
    let [Action::InternalNote { body }] = report.output.as_slice() else {
        panic!("expected one note, got {:?}", report.output);
    };
    assert!(
        body.contains("ada@example.org") && body.contains("+44 20 7946 0958"),
        "{body}"
    );
    assert!(
        body.contains("•••• 4242") && !body.contains("4242 4242 4242 4242"),
        "{body}"
    );
}
