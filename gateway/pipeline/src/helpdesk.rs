//! The configured helpdesk instances as the pipeline sees them: a name, a kind, an API client
//! (none for generic helpdesks, which post complete events), and the plugins that run for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use deskbridge_connectors::HelpdeskClient;
use deskbridge_core::{HelpdeskKind, WritePolicy};
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
    /// Which tags and priority changes plugins may write; the rest become suggestions.
    pub write_policy: WritePolicy,
}

impl HelpdeskRuntime {
    /// Whether some plugin of this helpdesk may draft replies (subscribes to ticket events
    /// and does not declare `capabilities.draft_replies = false`).
    pub fn has_drafting_plugins(&self) -> bool {
        self.plugins.iter().any(|p| {
            let manifest = p.manifest();
            manifest.capabilities.draft_replies
                && deskbridge_core::EventKind::ALL
                    .into_iter()
                    .any(|kind| manifest.handles(kind))
        })
    }

    /// Why this helpdesk's drafts get only the baseline requirement (one agent), if they do:
    /// plugins that draft and no policy plugin to review what they write.
    pub fn policy_warning(&self) -> Option<String> {
        (self.has_drafting_plugins() && self.policies.is_empty()).then(|| {
            format!(
                "helpdesk `{}` has plugins that draft replies but no policy plugin: every draft needs only the baseline of one agent's approval (no supervisor for refunds or legal threats, no prompt-injection flags); add `approval-policy` (or your own) to its plugins",
                self.name
            )
        })
    }
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
