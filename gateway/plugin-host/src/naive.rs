//! The baseline the instantiate benchmark compares against: wasmtime used the obvious way —
//! default engine (no pooling allocator), a linker that resolves imports on every
//! instantiation, and a WASI context built eagerly for every call. Not used by the gateway.

use std::sync::Arc;

use deskbridge_schema::ValidatedEvent;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::WasiView;

use crate::contract::v0_2;
use crate::state::{CallState, Grants};
use crate::{HostServices, Manifest};

/// A plugin loaded the naive way.
pub struct NaivePlugin {
    engine: Engine,
    linker: Linker<CallState>,
    component: Component,
    grants: Arc<Grants>,
}

impl NaivePlugin {
    /// Compiles `wasm` with a default engine.
    pub fn load(
        wasm: &[u8],
        manifest: &Manifest,
        services: &HostServices,
    ) -> wasmtime::Result<NaivePlugin> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker: Linker<CallState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        v0_2::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)?;
        let component = Component::new(&engine, wasm)?;
        let grants = Arc::new(Grants {
            plugin_id: manifest.id.clone(),
            ai: manifest.capabilities.ai.clone(),
            kv: manifest.capabilities.kv.then(|| Arc::clone(&services.kv)),
            config_json: "{}".into(),
            ai_router: Arc::clone(&services.ai),
            redaction: Arc::clone(&services.redaction),
            knowledge: None,
            limits: manifest.limits,
        });
        Ok(NaivePlugin {
            engine,
            linker,
            component,
            grants,
        })
    }

    /// New store, eager WASI context, plain instantiate, call.
    pub async fn handle_event(&self, event: &ValidatedEvent) -> wasmtime::Result<usize> {
        let mut state = CallState::new(
            Arc::clone(&self.grants),
            64 << 20,
            None,
            std::time::Instant::now() + std::time::Duration::from_secs(30),
        );
        let _ = state.ctx();
        let mut store = Store::new(&self.engine, state);
        let plugin =
            v0_2::Plugin::instantiate_async(&mut store, &self.component, &self.linker).await?;
        let actions = plugin
            .deskbridge_plugin_handler()
            .call_on_event(&mut store, &v0_2::event_to_wit(event.event(), true))
            .await?;
        Ok(actions.map(|a| a.len()).unwrap_or(0))
    }
}
