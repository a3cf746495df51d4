//! The load-time check of a component's real imports against its manifest.
//!
//! `log`, `config` and the type-only `types` interface are always allowed; `kv`, `ai` and
//! `knowledge` need their manifest grant. Only the interfaces of the contract version the
//! manifest names count as the contract's: a 0.1.0 plugin importing a 0.2.0 interface is
//! refused. WASI 0.2 interfaces are allowed because the linker satisfies them with
//! a context that grants nothing (other toolchains import all of `wasi:cli`); everything else
//! is refused.

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::contract::{v0_1, v0_2};
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
    let v0_2 = manifest.contract == "0.2.0";
    for (name, _item) in component.component_type().imports(engine) {
        let undeclared = |capability| LoadError::UndeclaredCapability {
            plugin: manifest.id.clone(),
            import: name.to_owned(),
            capability,
        };
        let treatment = match name {
            v0_1::LOG | v0_1::CONFIG | v0_1::TYPES if !v0_2 => "granted",
            v0_2::LOG | v0_2::CONFIG | v0_2::TYPES if v0_2 => "granted",
            v0_1::KV if !v0_2 && manifest.capabilities.kv => "granted",
            v0_2::KV if v0_2 && manifest.capabilities.kv => "granted",
            v0_1::KV | v0_2::KV if manifest.capabilities.kv => {
                return Err(wrong_version(manifest, name));
            }
            v0_1::KV | v0_2::KV => return Err(undeclared("capabilities.kv")),
            v0_1::AI if !v0_2 && manifest.capabilities.ai.is_some() => "granted",
            v0_2::AI if v0_2 && manifest.capabilities.ai.is_some() => "granted",
            v0_1::AI | v0_2::AI if manifest.capabilities.ai.is_some() => {
                return Err(wrong_version(manifest, name));
            }
            v0_1::AI | v0_2::AI => return Err(undeclared("capabilities.ai")),
            v0_2::KNOWLEDGE if v0_2 && manifest.capabilities.knowledge => "granted",
            v0_2::KNOWLEDGE if v0_2 => return Err(undeclared("capabilities.knowledge")),
            v0_1::LOG
            | v0_1::CONFIG
            | v0_1::TYPES
            | v0_2::LOG
            | v0_2::CONFIG
            | v0_2::TYPES
            | v0_2::KNOWLEDGE => return Err(wrong_version(manifest, name)),
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

/// A contract import of another version than the manifest's `contract`.
fn wrong_version(manifest: &Manifest, import: &str) -> LoadError {
    LoadError::Contract {
        plugin: manifest.id.clone(),
        contract: manifest.contract.clone(),
        reason: format!(
            "the component imports `{import}`, which is not part of contract {}",
            manifest.contract
        ),
    }
}
