//! The background sync: every `interval`, each source of each helpdesk is listed completely
//! and the helpdesk's index reconciled against the listing (re-indexing only what changed,
//! removing what is gone). A failed listing changes nothing — an outage never empties the
//! knowledge base — and is retried sooner, with backoff, than the regular interval.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deskbridge_connectors::HelpdeskClient;
use deskbridge_core::{HelpdeskKind, KnowledgeDoc};
use serde::Serialize;

use crate::{KnowledgeLibrary, SyncReport, read_folder};

/// First retry delay after a failed sync (doubling up to the regular interval).
const FIRST_RETRY: Duration = Duration::from_secs(30);

/// Where a helpdesk's knowledge comes from.
#[derive(Clone)]
pub enum KnowledgeSource {
    /// The helpdesk's own macros, canned responses and articles, through its API.
    Helpdesk {
        /// The helpdesk's kind (names the source and scopes its document ids).
        kind: HelpdeskKind,
        /// Its API client.
        client: Arc<dyn HelpdeskClient>,
    },
    /// A folder of Markdown files.
    Folder {
        /// The folder.
        path: PathBuf,
        /// Base of the documents' URLs, if they are published.
        url_base: Option<String>,
    },
}

impl std::fmt::Debug for KnowledgeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KnowledgeSource::Helpdesk { kind, .. } => write!(f, "Helpdesk({kind:?})"),
            KnowledgeSource::Folder { path, .. } => write!(f, "Folder({})", path.display()),
        }
    }
}

impl KnowledgeSource {
    /// The source's name in status and logs: `zendesk`, `freshdesk`, `folder`.
    pub fn name(&self) -> &'static str {
        match self {
            KnowledgeSource::Helpdesk { kind, .. } => match kind {
                HelpdeskKind::Zendesk => "zendesk",
                HelpdeskKind::Freshdesk => "freshdesk",
                HelpdeskKind::Email => "email",
                HelpdeskKind::Generic => "generic",
            },
            KnowledgeSource::Folder { .. } => "folder",
        }
    }

    /// The id prefix of this source's documents.
    fn scope(&self) -> String {
        match self {
            KnowledgeSource::Helpdesk { .. } => format!("{}:", self.name()),
            KnowledgeSource::Folder { .. } => "md:".to_owned(),
        }
    }

    /// The source's complete listing.
    async fn list(&self) -> Result<Vec<KnowledgeDoc>, String> {
        match self {
            KnowledgeSource::Helpdesk { client, .. } => {
                client.knowledge().await.map_err(|e| e.to_string())
            }
            KnowledgeSource::Folder { path, url_base } => {
                let (path, url_base) = (path.clone(), url_base.clone());
                tokio::task::spawn_blocking(move || read_folder(&path, url_base.as_deref()))
                    .await
                    .map_err(|e| format!("folder read failed: {e}"))?
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// One helpdesk's sources and how often they are synced.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    /// The helpdesk's name.
    pub helpdesk: String,
    /// Its sources.
    pub sources: Vec<KnowledgeSource>,
    /// Time between syncs.
    pub interval: Duration,
}

/// The last sync of one source, for status pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// When the last attempt ended (ms since the epoch).
    pub last_attempt_ms: u64,
    /// When the last successful sync ended.
    pub last_success_ms: Option<u64>,
    /// What the last successful sync changed.
    pub added: usize,
    /// Documents re-indexed because they changed.
    pub updated: usize,
    /// Documents removed because the source no longer has them.
    pub removed: usize,
    /// Documents the source listed, as indexed.
    pub listed: usize,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Syncs one source of `helpdesk` now and records the outcome in the library.
pub async fn sync_once(
    library: &KnowledgeLibrary,
    helpdesk: &str,
    source: &KnowledgeSource,
) -> Result<SyncReport, String> {
    let outcome = sync_source(library, helpdesk, source).await;
    let previous = library
        .statuses()
        .into_iter()
        .find(|(h, s, _)| h == helpdesk && s == source.name())
        .map(|(_, _, status)| status)
        .unwrap_or_default();
    let status = match &outcome {
        Ok(report) => SourceStatus {
            last_attempt_ms: now_ms(),
            last_success_ms: Some(now_ms()),
            added: report.added,
            updated: report.updated,
            removed: report.removed,
            listed: report.added + report.updated + report.unchanged,
            error: None,
        },
        Err(error) => SourceStatus {
            last_attempt_ms: now_ms(),
            error: Some(error.clone()),
            ..previous
        },
    };
    library.record(helpdesk, source.name(), status);
    outcome
}

async fn sync_source(
    library: &KnowledgeLibrary,
    helpdesk: &str,
    source: &KnowledgeSource,
) -> Result<SyncReport, String> {
    let index = library
        .index(helpdesk)
        .cloned()
        .ok_or_else(|| format!("helpdesk `{helpdesk}` has no knowledge index"))?;
    let listing = source.list().await?;
    let scope = source.scope();
    tokio::task::spawn_blocking(move || index.reconcile(&scope, listing))
        .await
        .map_err(|e| format!("indexing failed: {e}"))?
        .map_err(|e| e.to_string())
}

/// Every id prefix a source can write; a prefix no configured source writes is emptied.
const ALL_SCOPES: [&str; 4] = ["zendesk:", "freshdesk:", "email:", "md:"];

/// Runs every plan's syncs for ever: each helpdesk on its own task, all sources at start-up
/// and then every `interval`; a failed source is retried after 30 s, doubling, never later
/// than the interval. A task that dies (a panic in a listing) is logged, shown in the
/// status and started again after 30 s: a helpdesk's sync never stops silently.
pub async fn run_sync(library: Arc<KnowledgeLibrary>, plans: Vec<SyncPlan>) {
    let supervisors: Vec<_> = plans
        .into_iter()
        .map(|plan| {
            let library = Arc::clone(&library);
            tokio::spawn(async move {
                loop {
                    let task = tokio::spawn(run_plan(Arc::clone(&library), plan.clone()));
                    if let Err(e) = task.await {
                        tracing::error!(helpdesk = %plan.helpdesk, "knowledge sync crashed: {e}; restarting in 30 s");
                        for source in &plan.sources {
                            library.record(
                                &plan.helpdesk,
                                source.name(),
                                SourceStatus {
                                    last_attempt_ms: now_ms(),
                                    error: Some(format!("the sync task crashed: {e}")),
                                    ..SourceStatus::default()
                                },
                            );
                        }
                        tokio::time::sleep(FIRST_RETRY).await;
                    }
                }
            })
        })
        .collect();
    for supervisor in supervisors {
        let _ = supervisor.await;
    }
}

/// Empties the scopes of `plan.helpdesk`'s index that no source of the plan writes (a source
/// removed from the config: its documents must not stay searchable and citable).
pub async fn drop_unconfigured(library: &KnowledgeLibrary, plan: &SyncPlan) -> Result<(), String> {
    let Some(index) = library.index(&plan.helpdesk).cloned() else {
        return Ok(());
    };
    let configured: Vec<String> = plan.sources.iter().map(KnowledgeSource::scope).collect();
    for scope in ALL_SCOPES {
        if configured.iter().any(|c| c == scope) {
            continue;
        }
        let index = Arc::clone(&index);
        let report = tokio::task::spawn_blocking(move || index.reconcile(scope, Vec::new()))
            .await
            .map_err(|e| format!("indexing failed: {e}"))?
            .map_err(|e| e.to_string())?;
        if report.removed > 0 {
            tracing::info!(
                helpdesk = %plan.helpdesk,
                scope,
                removed = report.removed,
                "knowledge of a source no longer configured removed"
            );
        }
    }
    Ok(())
}

async fn run_plan(library: Arc<KnowledgeLibrary>, plan: SyncPlan) {
    let library = library.as_ref();
    if let Err(error) = drop_unconfigured(library, &plan).await {
        tracing::warn!(helpdesk = %plan.helpdesk, %error, "could not drop unconfigured knowledge");
    }
    let mut retry = FIRST_RETRY.min(plan.interval);
    loop {
        let mut failed = false;
        for source in &plan.sources {
            match sync_once(library, &plan.helpdesk, source).await {
                Ok(report) if report.changed() => tracing::info!(
                    helpdesk = %plan.helpdesk,
                    source = source.name(),
                    added = report.added,
                    updated = report.updated,
                    removed = report.removed,
                    "knowledge synced"
                ),
                Ok(_) => {}
                Err(error) => {
                    failed = true;
                    tracing::warn!(
                        helpdesk = %plan.helpdesk,
                        source = source.name(),
                        %error,
                        "knowledge sync failed; the index keeps its documents"
                    );
                }
            }
        }
        let wait = if failed {
            let wait = retry;
            retry = (retry * 2).min(plan.interval);
            wait
        } else {
            retry = FIRST_RETRY.min(plan.interval);
            plan.interval
        };
        tokio::time::sleep(wait).await;
    }
}
