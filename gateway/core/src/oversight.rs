//! The stop switch: an admin pauses AI drafting for everything, one helpdesk or one plugin.
//!
//! While a scope is paused the pipeline runs no plugin in it (tickets reach humans exactly as
//! the helpdesk delivered them: no notes, tags or drafts), and drafts from it cannot be
//! approved. Pauses are stored and logged by the layers above; this module holds the rules:
//! what a scope is, how it is written (`all`, `helpdesk:NAME`, `plugin:ID`), and whether a
//! given helpdesk and plugin are covered.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// What a pause covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PauseScope {
    /// Every helpdesk and plugin.
    All,
    /// One helpdesk instance, by its name in the config.
    Helpdesk(String),
    /// One plugin, by id, on every helpdesk.
    Plugin(String),
}

/// A scope written wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a pause scope: write `all`, `helpdesk:NAME` or `plugin:ID`")]
pub struct BadScope(pub String);

impl FromStr for PauseScope {
    type Err = BadScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid_name = |name: &str| {
            !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        };
        match text.split_once(':') {
            None if text == "all" => Ok(PauseScope::All),
            Some(("helpdesk", name)) if valid_name(name) => Ok(PauseScope::Helpdesk(name.into())),
            Some(("plugin", id)) if valid_name(id) => Ok(PauseScope::Plugin(id.into())),
            _ => Err(BadScope(text.to_owned())),
        }
    }
}

impl fmt::Display for PauseScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PauseScope::All => f.write_str("all"),
            PauseScope::Helpdesk(name) => write!(f, "helpdesk:{name}"),
            PauseScope::Plugin(id) => write!(f, "plugin:{id}"),
        }
    }
}

impl Serialize for PauseScope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PauseScope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for PauseScope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(
                r"^(all|helpdesk:[A-Za-z0-9._-]{1,64}|plugin:[A-Za-z0-9._-]{1,64})$",
            ))
            .description(Some(
                "What a pause covers: `all`, `helpdesk:NAME` or `plugin:ID`.",
            ))
            .examples(["plugin:suggest-reply"])
            .into()
    }
}

impl utoipa::ToSchema for PauseScope {}

impl PauseScope {
    /// Whether this scope covers `plugin` running for `helpdesk`.
    pub fn covers(&self, helpdesk: &str, plugin: &str) -> bool {
        match self {
            PauseScope::All => true,
            PauseScope::Helpdesk(name) => name == helpdesk,
            PauseScope::Plugin(id) => id == plugin,
        }
    }

    /// Whether this scope covers every plugin of `helpdesk`.
    pub fn covers_helpdesk(&self, helpdesk: &str) -> bool {
        match self {
            PauseScope::All => true,
            PauseScope::Helpdesk(name) => name == helpdesk,
            PauseScope::Plugin(_) => false,
        }
    }
}

/// One pause in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// What it covers.
    pub scope: PauseScope,
    /// The person who paused.
    pub by: String,
    /// Why, if they said.
    pub reason: Option<String>,
    /// Since when, Unix milliseconds.
    pub at_ms: i64,
}

/// The pauses in force, shared by the pipeline (which asks before running a plugin) and the
/// API (which sets and lifts them). Cloning shares the same switch.
#[derive(Debug, Clone, Default)]
pub struct DraftingSwitch {
    pauses: Arc<RwLock<BTreeMap<PauseScope, Pause>>>,
}

impl DraftingSwitch {
    /// A switch with `pauses` in force (as loaded from the store at start).
    pub fn new(pauses: impl IntoIterator<Item = Pause>) -> DraftingSwitch {
        let switch = DraftingSwitch::default();
        for pause in pauses {
            switch.set(pause);
        }
        switch
    }

    /// Puts a pause in force (replacing one of the same scope).
    pub fn set(&self, pause: Pause) {
        self.write().insert(pause.scope.clone(), pause);
    }

    /// Lifts the pause of `scope`; returns it if there was one.
    pub fn lift(&self, scope: &PauseScope) -> Option<Pause> {
        self.write().remove(scope)
    }

    /// Every pause in force.
    pub fn pauses(&self) -> Vec<Pause> {
        self.read().values().cloned().collect()
    }

    /// The pause that stops `plugin` on `helpdesk`, if any.
    pub fn paused(&self, helpdesk: &str, plugin: &str) -> Option<PauseScope> {
        self.read()
            .keys()
            .find(|scope| scope.covers(helpdesk, plugin))
            .cloned()
    }

    /// The pause that stops every plugin of `helpdesk`, if any.
    pub fn helpdesk_paused(&self, helpdesk: &str) -> Option<PauseScope> {
        self.read()
            .keys()
            .find(|scope| scope.covers_helpdesk(helpdesk))
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<PauseScope, Pause>> {
        // A panic while holding the lock cannot leave the map half-written (single inserts
        // and removals), so a poisoned lock is still safe to use.
        self.pauses.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<PauseScope, Pause>> {
        self.pauses.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(scope: &str) -> Pause {
        Pause {
            scope: scope.parse().expect("scope"),
            by: "ada".into(),
            reason: None,
            at_ms: 1,
        }
    }

    #[test]
    fn scopes_are_written_and_read_back() {
        for text in ["all", "helpdesk:acme-eu", "plugin:suggest-reply"] {
            let scope: PauseScope = text.parse().expect(text);
            assert_eq!(scope.to_string(), text);
        }
        for bad in [
            "",
            "everything",
            "helpdesk:",
            "plugin:a b",
            "team:x",
            "all:x",
        ] {
            assert_eq!(
                bad.parse::<PauseScope>(),
                Err(BadScope(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_pause_covers_what_its_scope_names_and_lifting_restores() {
        let switch = DraftingSwitch::default();
        assert_eq!(switch.paused("acme", "summarize"), None);
        switch.set(pause("plugin:suggest-reply"));
        assert_eq!(
            switch.paused("acme", "suggest-reply"),
            Some(PauseScope::Plugin("suggest-reply".into()))
        );
        assert_eq!(switch.paused("acme", "summarize"), None);
        assert_eq!(switch.helpdesk_paused("acme"), None);
        switch.set(pause("helpdesk:acme"));
        assert!(switch.paused("acme", "summarize").is_some());
        assert_eq!(switch.paused("other", "summarize"), None);
        assert!(switch.helpdesk_paused("acme").is_some());
        let shared = switch.clone();
        shared.set(pause("all"));
        assert!(
            switch.paused("other", "summarize").is_some(),
            "clones share"
        );
        assert!(switch.lift(&PauseScope::All).is_some());
        assert!(switch.lift(&PauseScope::All).is_none());
        assert_eq!(switch.paused("other", "summarize"), None);
        assert_eq!(switch.pauses().len(), 2);
    }
}
