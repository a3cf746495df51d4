//! Instantiate + call of a trivial plugin: Deskbridge's runtime (pooling allocator,
//! `InstancePre`, lazy WASI) against wasmtime used naively (default allocator, plain
//! instantiate, eager WASI context). Both give every call a fresh instance.
//!
//! Run: `cargo bench -p deskbridge-plugin-host --bench instantiate`

use criterion::{Criterion, criterion_group, criterion_main};
use deskbridge_plugin_host::naive::NaivePlugin;
use deskbridge_plugin_host::{
    EngineSettings, HostServices, Manifest, PluginEngine, PluginSource, ValidatedEvent,
};
use deskbridge_tests::guests;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let event =
        ValidatedEvent::parse(&deskbridge_tests::fixture("ticket-created.json")).expect("fixture");
    let wasm = guests::NOOP.wasm_bytes();
    let manifest_text = guests::NOOP.manifest_text();
    let services = HostServices::local();

    let engine = PluginEngine::new(EngineSettings::default()).expect("engine");
    let plugin = engine
        .load(
            PluginSource {
                wasm: &wasm,
                manifest: Manifest::from_toml(&manifest_text).expect("manifest"),
                config: None,
            },
            &services,
        )
        .expect("loads");
    let naive = NaivePlugin::load(
        &wasm,
        &Manifest::from_toml(&manifest_text).expect("manifest"),
        &services,
    )
    .expect("naive load");

    let mut group = c.benchmark_group("instantiate_and_call_noop");
    group.bench_function("deskbridge", |b| {
        b.to_async(&runtime)
            .iter(|| async { plugin.handle_event(&event).await.expect("call") })
    });
    group.bench_function("naive_wasmtime", |b| {
        b.to_async(&runtime)
            .iter(|| async { naive.handle_event(&event).await.expect("call") })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
