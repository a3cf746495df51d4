//! The knowledge bases from the config: one index per helpdesk with
//! `[helpdesks.NAME.knowledge]` under `{data_dir}/knowledge/`, and the sync plans that keep
//! them current (the helpdesk's own macros and articles through its API client, a Markdown
//! folder, or both).

use anyhow::Context;
use deskbridge_config::Config;
use deskbridge_knowledge::{KnowledgeLibrary, KnowledgeSource, SyncPlan};
use deskbridge_pipeline::Helpdesks;

/// Opens the index of every helpdesk that has a knowledge base.
pub(crate) fn library(config: &Config) -> anyhow::Result<KnowledgeLibrary> {
    let names = config
        .helpdesks
        .iter()
        .filter(|(_, h)| h.knowledge().is_some())
        .map(|(name, _)| name.as_str());
    let root = config.data_dir.join("knowledge");
    KnowledgeLibrary::open(&root, names)
        .with_context(|| format!("opening the knowledge indexes in {}", root.display()))
}

/// What to sync, per helpdesk with a knowledge base.
pub(crate) fn plans(config: &Config, helpdesks: &Helpdesks) -> Vec<SyncPlan> {
    let mut plans = Vec::new();
    for (name, helpdesk) in &config.helpdesks {
        let Some(knowledge) = helpdesk.knowledge() else {
            continue;
        };
        let mut sources = Vec::new();
        if knowledge.syncs_helpdesk(helpdesk.has_api())
            && let Some(runtime) = helpdesks.get(name)
            && let Some(client) = &runtime.client
        {
            sources.push(KnowledgeSource::Helpdesk {
                kind: runtime.kind,
                client: client.clone(),
            });
        }
        if let Some(folder) = &knowledge.folder {
            sources.push(KnowledgeSource::Folder {
                path: folder.clone(),
                url_base: knowledge.url_base.clone(),
            });
        }
        plans.push(SyncPlan {
            helpdesk: name.clone(),
            sources,
            interval: knowledge.interval(),
        });
    }
    plans
}
