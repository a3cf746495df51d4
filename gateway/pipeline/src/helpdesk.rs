//! The configured helpdesk instances as the pipeline sees them: a name, a kind, an API client
//! (none for generic helpdesks, which post complete events), and the plugins that run for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use deskbridge_connectors::HelpdeskClient;
use deskbridge_core::HelpdeskKind;
use deskbridge_plugin_host::LoadedPlugin;

/// One helpdesk instance.
pub struct HelpdeskRuntime {
    /// Its name in the config.
    pub name: String,
    /// Its kind.
    pub kind: HelpdeskKind,
    /// Its API; `None` for a generic helpdesk, whose notes cannot be delivered.
    pub client: Option<Arc<dyn HelpdeskClient>>,
    /// Plugins handling its events, in order.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// Plugins reviewing its drafts.
    pub policies: Vec<Arc<LoadedPlugin>>,
    /// The line appended to every AI-drafted reply, if the helpdesk wants one.
    pub ai_disclosure: Option<String>,
}

impl std::fmt::Debug for HelpdeskRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelpdeskRuntime")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field(
                "plugins",
                &self.plugins.iter().map(|p| p.id()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// All helpdesk instances by name.
#[derive(Debug, Default)]
pub struct Helpdesks {
    by_name: BTreeMap<String, HelpdeskRuntime>,
}

impl Helpdesks {
    /// An empty set.
    pub fn new() -> Helpdesks {
        Helpdesks::default()
    }

    /// Adds an instance (replacing one of the same name).
    pub fn insert(&mut self, helpdesk: HelpdeskRuntime) {
        self.by_name.insert(helpdesk.name.clone(), helpdesk);
    }

    /// An instance by name.
    pub fn get(&self, name: &str) -> Option<&HelpdeskRuntime> {
        self.by_name.get(name)
    }

    /// Every instance.
    pub fn iter(&self) -> impl Iterator<Item = &HelpdeskRuntime> {
        self.by_name.values()
    }
}
