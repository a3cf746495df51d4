//! The load-time check of a component's real imports against its manifest.
//!
//! `log`, `config` and the type-only `types` interface are always allowed. `kv` and `ai` need
//! their manifest grant. WASI 0.2 interfaces are allowed because the linker satisfies them with
//! a context that grants nothing (other toolchains import all of `wasi:cli`); everything else
//! is refused.

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::contract::v0_1;
use crate::error::LoadError;
use crate::manifest::Manifest;

/// How the host treats one import of a component.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// The import's name, e.g. `deskbridge:plugin/ai@0.1.0`.
    pub name: String,
    /// `granted` (a contract interface the manifest allows) or `inert` (WASI, linked to a
    /// context that grants nothing).
    pub treatment: &'static str,
}

/// Checks every import; returns how each is treated, or the first refused one.
pub(crate) fn check_imports(
    engine: &Engine,
    component: &Component,
    manifest: &Manifest,
) -> Result<Vec<ImportReport>, LoadError> {
    let mut reports = Vec::new();
    for (name, _item) in component.component_type().imports(engine) {
        let treatment = match name {
            v0_1::LOG | v0_1::CONFIG | v0_1::TYPES => "granted",
            v0_1::KV if manifest.capabilities.kv => "granted",
            v0_1::KV => {
                return Err(LoadError::UndeclaredCapability {
                    plugin: manifest.id.clone(),
                    import: name.to_owned(),
                    capability: "capabilities.kv",
                });
            }
            v0_1::AI if manifest.capabilities.ai.is_some() => "granted",
            v0_1::AI => {
                return Err(LoadError::UndeclaredCapability {
                    plugin: manifest.id.clone(),
                    import: name.to_owned(),
                    capability: "capabilities.ai",
                });
            }
            wasi if wasi.starts_with("wasi:") && wasi.contains("@0.2.") => "inert",
            other => {
                return Err(LoadError::UnknownImport {
                    plugin: manifest.id.clone(),
                    import: other.to_owned(),
                });
            }
        };
        reports.push(ImportReport {
            name: name.to_owned(),
            treatment,
        });
    }
    Ok(reports)
}
