//! Shared helpers: one engine per test binary, loading guests, sample events.

use std::sync::{Arc, OnceLock};

use deskbridge_core::Action;
use deskbridge_plugin_host::{
    CallFailure, CallReport, EngineSettings, HostServices, LoadError, LoadedPlugin, Manifest,
    PluginEngine, PluginSource, ValidatedEvent,
};
use deskbridge_tests::TestGuest;

/// The engine shared by every test in this binary (compiling engines is not what we test).
pub(crate) fn engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        PluginEngine::new(EngineSettings {
            max_instances: 32,
            breaker_threshold: 3,
            ..EngineSettings::default()
        })
        .expect("engine")
    })
}

/// Loads a test guest with its own manifest, after `adjust` may change the manifest.
pub(crate) fn try_load_guest(
    guest: TestGuest,
    services: &HostServices,
    adjust: impl FnOnce(&mut Manifest),
) -> Result<LoadedPlugin, LoadError> {
    let mut manifest = Manifest::from_toml(&guest.manifest_text()).expect("test manifest is valid");
    adjust(&mut manifest);
    engine().load(
        PluginSource {
            wasm: &guest.wasm_bytes(),
            manifest,
            config: None,
        },
        services,
    )
}

/// Loads arbitrary component bytes under a test guest's manifest.
pub(crate) fn load_bytes(wasm: &[u8], manifest_of: TestGuest) -> Result<LoadedPlugin, LoadError> {
    let manifest =
        Manifest::from_toml(&manifest_of.manifest_text()).expect("test manifest is valid");
    engine().load(
        PluginSource {
            wasm,
            manifest,
            config: None,
        },
        &HostServices::local(),
    )
}

/// Runs `plugin` on the `ticket-created.json` fixture.
pub(crate) async fn call(
    plugin: &LoadedPlugin,
) -> Result<CallReport<Vec<Action>>, Box<CallFailure>> {
    plugin.handle_event(&event("ticket-created.json")).await
}

/// Loads a test guest that must load.
pub(crate) fn load_guest(guest: TestGuest) -> LoadedPlugin {
    try_load_guest(guest, &HostServices::local(), |_| {}).expect("guest loads")
}

/// Loads a first-party plugin with an optional config and the given services.
pub(crate) fn load_bundled(
    id: &str,
    config: Option<serde_json::Value>,
    services: &HostServices,
    adjust: impl FnOnce(&mut Manifest),
) -> Arc<LoadedPlugin> {
    let bundled = deskbridge_bundled_plugins::get(id).expect("bundled plugin");
    let mut manifest = Manifest::from_toml(bundled.manifest).expect("bundled manifest is valid");
    adjust(&mut manifest);
    Arc::new(
        engine()
            .load(
                PluginSource {
                    wasm: bundled.wasm,
                    manifest,
                    config,
                },
                services,
            )
            .expect("bundled plugin loads"),
    )
}

/// A fixture event from `tests/fixtures/`.
pub(crate) fn event(name: &str) -> ValidatedEvent {
    ValidatedEvent::parse(&deskbridge_tests::fixture(name)).expect("fixture event is valid")
}

/// The `ticket-created.json` fixture with its subject replaced.
pub(crate) fn event_with_subject(subject: &str) -> ValidatedEvent {
    let mut event = event("ticket-created.json").into_inner();
    event.ticket.subject = subject.to_owned();
    ValidatedEvent::validate(event).expect("still valid")
}

/// A local answer as a provider returns it (no quota headers).
pub(crate) fn answered(
    completion: deskbridge_providers::Completion,
) -> deskbridge_providers::Answered {
    deskbridge_providers::Answered {
        completion,
        quota: deskbridge_providers::Quota::default(),
    }
}
