//! Hostile guests: each is contained with its own specific error, nothing leaks out of the
//! sandbox, and a well-behaved plugin keeps working right after.

use std::net::TcpListener;

use deskbridge_core::{Action, OutputViolation};
use deskbridge_plugin_host::{CallError, HostServices, LoadError};
use deskbridge_tests::guests;

use crate::support::{
    call, engine, event, event_with_subject, load_bytes, load_guest, try_load_guest,
};

/// The well-behaved guest still answers, proving the gateway survived what came before.
async fn well_behaved_still_works() {
    let plugin = load_guest(guests::WELL_BEHAVED);
    let report = call(&plugin).await.expect("well-behaved plugin works");
    assert_eq!(
        report.output,
        vec![Action::InternalNote {
            body: "seen ticket 4711".into()
        }]
    );
    assert_eq!(report.logs.len(), 1);
    assert_eq!(report.logs[0].message, "handling event");
    assert_eq!(
        report.logs[0].fields,
        [("ticket".to_owned(), "4711".to_owned())]
    );
}

fn note_of(actions: &[Action]) -> &str {
    match actions {
        [Action::InternalNote { body }] => body,
        other => panic!("expected one note, got {other:?}"),
    }
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_by_the_deadline() {
    let plugin = load_guest(guests::INFINITE_LOOP);
    let failure = call(&plugin).await.expect_err("never returns");
    assert_eq!(
        failure.error,
        CallError::DeadlineExceeded {
            plugin: "infinite-loop".into(),
            limit_ms: 200
        }
    );
    assert!(
        failure.elapsed.as_millis() < 2_000,
        "took {:?}",
        failure.elapsed
    );
    well_behaved_still_works().await;
}

#[tokio::test]
async fn an_infinite_loop_with_little_fuel_runs_out_of_fuel() {
    let plugin = try_load_guest(guests::INFINITE_LOOP, &HostServices::local(), |m| {
        m.limits.fuel = 1_000_000;
        m.limits.wall_clock_ms = 60_000;
    })
    .expect("loads");
    let failure = call(&plugin).await.expect_err("runs out of fuel");
    assert_eq!(
        failure.error,
        CallError::FuelExhausted {
            plugin: "infinite-loop".into(),
            limit: 1_000_000
        }
    );
    assert_eq!(failure.fuel_consumed, 1_000_000);
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_by_the_cap() {
    let plugin = load_guest(guests::MEMORY_BOMB);
    let failure = call(&plugin).await.expect_err("hits the cap");
    assert_eq!(
        failure.error,
        CallError::MemoryLimitExceeded {
            plugin: "memory-bomb".into(),
            limit_mib: 8
        }
    );
    well_behaved_still_works().await;
}

#[tokio::test]
async fn reading_a_file_finds_nothing() {
    let plugin = load_guest(guests::FILE_READER);
    let report = call(&plugin)
        .await
        .expect("the plugin handles the denial itself");
    let note = note_of(&report.output);
    assert!(note.starts_with("denied:"), "{note}");
    assert!(!note.contains("root:"), "{note}");
}

#[tokio::test]
async fn the_environment_arguments_and_cwd_are_empty() {
    // The test process has an environment, so an empty one inside is the sandbox at work.
    assert!(std::env::vars().next().is_some());
    let plugin = load_guest(guests::ENV_READER);
    let report = call(&plugin).await.expect("runs");
    let note = note_of(&report.output);
    assert!(note.starts_with("vars=0 args=0 "), "{note}");
    let host_cwd = std::env::current_dir().expect("cwd").display().to_string();
    assert!(
        !note.contains(&host_cwd),
        "the host's working directory leaked: {note}"
    );
}

#[tokio::test]
async fn opening_a_socket_is_denied() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let address = listener.local_addr().expect("address").to_string();
    let plugin = load_guest(guests::SOCKET_OPENER);
    let report = plugin
        .handle_event(&event_with_subject(&address))
        .await
        .expect("runs");
    let note = note_of(&report.output);
    assert!(note.starts_with("denied:"), "{note}");
    assert!(
        listener.accept().is_err(),
        "the plugin reached the listener at {address}"
    );
}

#[tokio::test]
async fn an_undeclared_capability_is_refused_at_load() {
    let err = try_load_guest(guests::UNDECLARED_KV, &HostServices::local(), |_| {})
        .expect_err("kv is not declared");
    match &err {
        LoadError::UndeclaredCapability {
            plugin,
            import,
            capability,
        } => {
            assert_eq!(plugin, "undeclared-kv");
            assert_eq!(import, "deskbridge:plugin/kv@0.2.0");
            assert_eq!(*capability, "capabilities.kv");
        }
        other => panic!("wrong error: {other}"),
    }
    assert!(
        err.to_string()
            .contains("does not declare `capabilities.kv`")
    );
    // Declaring it makes the same component load.
    try_load_guest(guests::UNDECLARED_KV, &HostServices::local(), |m| {
        m.capabilities.kv = true;
    })
    .expect("loads once declared");
}

#[tokio::test]
async fn ai_without_the_capability_is_refused_at_load() {
    let bundled = deskbridge_bundled_plugins::get("summarize").expect("bundled");
    let mut manifest =
        deskbridge_plugin_host::Manifest::from_toml(bundled.manifest).expect("valid");
    manifest.capabilities.ai = None;
    let err = engine()
        .load(
            deskbridge_plugin_host::PluginSource {
                wasm: bundled.wasm,
                manifest,
                config: None,
            },
            &HostServices::local(),
        )
        .expect_err("ai not declared");
    assert!(
        matches!(
            err,
            LoadError::UndeclaredCapability {
                capability: "capabilities.ai",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_panic_is_reported_with_its_message() {
    let plugin = load_guest(guests::PANICKER);
    let failure = call(&plugin).await.expect_err("panics");
    match &failure.error {
        CallError::Panicked { plugin, message } => {
            assert_eq!(plugin, "panicker");
            assert!(message.contains("boom on ticket 4711"), "{message}");
        }
        other => panic!("wrong error: {other}"),
    }
    well_behaved_still_works().await;
}

#[tokio::test]
async fn an_oversized_draft_is_refused() {
    let plugin = load_guest(guests::OVERSIZED_DRAFT);
    let failure = call(&plugin).await.expect_err("too large");
    assert_eq!(
        failure.error,
        CallError::Output {
            plugin: "oversized-draft".into(),
            violation: OutputViolation::OutputTooLarge {
                actual: (1 << 20) + "too long".len(),
                limit: 64 * 1024
            }
        }
    );
    well_behaved_still_works().await;
}

#[tokio::test]
async fn repeated_failures_trip_the_breaker_and_a_reset_restores_it() {
    let plugin = load_guest(guests::PANICKER);
    for _ in 0..3 {
        let failure = call(&plugin).await.expect_err("panics");
        assert!(matches!(failure.error, CallError::Panicked { .. }));
    }
    let status = plugin.status();
    assert!(!status.enabled);
    assert_eq!(status.consecutive_failures, 3);
    let failure = call(&plugin).await.expect_err("switched off");
    assert!(
        matches!(failure.error, CallError::Disabled { failures: 3, .. }),
        "{}",
        failure.error
    );
    assert_eq!(plugin.status().calls, 3, "a disabled plugin is not run");
    plugin.reset_breaker();
    assert!(plugin.status().enabled);
    assert!(matches!(
        call(&plugin).await.expect_err("still panics").error,
        CallError::Panicked { .. }
    ));
}

#[tokio::test]
async fn every_call_gets_a_fresh_instance_but_kv_persists() {
    let services = HostServices::local();
    let plugin = try_load_guest(guests::KV_COUNTER, &services, |_| {}).expect("loads");
    for expected in ["call 1", "call 2", "call 3"] {
        let report = call(&plugin).await.expect("runs");
        assert_eq!(note_of(&report.output), expected);
    }
    // Another plugin id sees none of it.
    let other = try_load_guest(guests::KV_COUNTER, &services, |m| {
        m.id = "kv-counter-2".into()
    })
    .expect("loads");
    let report = call(&other).await.expect("runs");
    assert_eq!(note_of(&report.output), "call 1");
}

#[tokio::test]
async fn garbage_bytes_are_not_a_component() {
    let err = load_bytes(b"definitely not wasm", guests::NOOP).expect_err("garbage");
    assert!(matches!(err, LoadError::InvalidComponent { .. }), "{err}");
}

#[tokio::test]
async fn unsubscribed_events_are_not_delivered() {
    let plugin = load_guest(guests::WELL_BEHAVED);
    let mut agent_event = event("ticket-created.json").into_inner();
    agent_event.kind = deskbridge_core::EventKind::AgentMessageAdded;
    let agent_event = deskbridge_plugin_host::ValidatedEvent::validate(agent_event).expect("valid");
    let failure = plugin
        .handle_event(&agent_event)
        .await
        .expect_err("not subscribed");
    assert!(matches!(failure.error, CallError::NotSubscribed { .. }));
    assert_eq!(plugin.status().calls, 0);
}

#[tokio::test]
async fn an_import_the_host_does_not_provide_is_refused_at_load() {
    // A hand-written component that asks for a network interface no plugin can have.
    let wasm = wat::parse_str(
        r#"(component
            (import "evil:net/socket@1.0.0" (instance (export "open" (func))))
        )"#,
    )
    .expect("valid component text");
    let err = load_bytes(&wasm, guests::NOOP).expect_err("unknown import");
    match err {
        LoadError::UnknownImport { plugin, import } => {
            assert_eq!(plugin, "noop");
            assert_eq!(import, "evil:net/socket@1.0.0");
        }
        other => panic!("wrong error: {other}"),
    }
}

#[tokio::test]
async fn a_component_without_the_contract_exports_is_refused_at_load() {
    let wasm = wat::parse_str("(component)").expect("valid component text");
    let err = load_bytes(&wasm, guests::NOOP).expect_err("no exports");
    assert!(matches!(err, LoadError::Contract { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("does not implement contract 0.2.0"),
        "{err}"
    );
}

#[tokio::test]
async fn a_memory_limit_above_the_gateway_maximum_is_refused_at_load() {
    let err = try_load_guest(guests::NOOP, &HostServices::local(), |m| {
        m.limits.memory_mib = engine().settings().max_memory_mib + 1;
    })
    .expect_err("too much memory");
    assert!(err.to_string().contains("limits.memory_mib"), "{err}");
}
