//! `[helpdesks.NAME.knowledge]`: a helpdesk's knowledge base — whether its own macros and
//! articles are synced, an optional folder of Markdown files, and how often.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ConfigError;

/// Seconds between syncs when the config names none.
const DEFAULT_INTERVAL_S: u64 = 900;

/// One helpdesk's knowledge base.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeConfig {
    /// Index the helpdesk's own macros/canned responses and articles (default: yes, where the
    /// helpdesk has an API).
    pub sync: Option<bool>,
    /// A folder of Markdown files indexed too (made absolute against the config file).
    pub folder: Option<PathBuf>,
    /// Base URL of the published Markdown files.
    pub url_base: Option<String>,
    /// Seconds between syncs.
    pub interval_s: Option<u64>,
}

impl KnowledgeConfig {
    /// Whether the helpdesk's own knowledge is synced (`has_api`: the helpdesk kind has one).
    pub fn syncs_helpdesk(&self, has_api: bool) -> bool {
        self.sync.unwrap_or(has_api)
    }

    /// Time between syncs.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_s.unwrap_or(DEFAULT_INTERVAL_S))
    }

    /// Makes `folder` absolute against `base` (the config file's directory).
    pub(crate) fn anchor(&mut self, base: &Path) {
        if let Some(folder) = &self.folder
            && folder.is_relative()
        {
            self.folder = Some(base.join(folder));
        }
    }

    /// Checks what the schema cannot: a generic helpdesk cannot sync (it has no API), and a
    /// knowledge base needs at least one source.
    pub(crate) fn check(&self, helpdesk: &str, has_api: bool) -> Result<(), ConfigError> {
        let key = format!("helpdesks.{helpdesk}.knowledge");
        if self.sync == Some(true) && !has_api {
            return Err(crate::key_error(
                &format!("{key}.sync"),
                "a generic helpdesk has no API to sync knowledge from; use `folder`",
            ));
        }
        if !self.syncs_helpdesk(has_api) && self.folder.is_none() {
            return Err(crate::key_error(
                &key,
                "a knowledge base needs a source: `sync = true` (Zendesk, Freshdesk) or `folder`",
            ));
        }
        if self.url_base.is_some() && self.folder.is_none() {
            return Err(crate::key_error(
                &format!("{key}.url_base"),
                "`url_base` names where the `folder` files are published; there is no `folder`",
            ));
        }
        Ok(())
    }
}
