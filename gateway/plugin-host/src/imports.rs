//! The host side of the contract's imports `log`, `config` and `kv` (`ai` is in
//! `ai_import.rs`).
//!
//! Every import is bounded by the manifest's `limits`: `log` by lines and bytes per call (one
//! line too many fails the call, and nothing beyond the limit reaches the gateway's log),
//! `ai.complete` by `max_ai_messages` and `max_prompt_bytes` (refused as `denied`), `kv` by
//! key and value size, key count and total bytes (refused with a message naming the limit).

use crate::contract::v0_1::deskbridge::plugin::{config, kv, log};
use crate::state::{CallState, ImportViolation, LogLine, MAX_LOG_LINE_BYTES, MAX_LOG_LINES};

/// Most structured fields kept per log line.
const MAX_LOG_FIELDS: usize = 16;

/// `text` for the gateway's own log: at most `max` bytes, control characters (a forged line
/// break, a terminal escape) shown as spaces.
fn for_log(text: &str, max: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl CallState {
    /// Counts one `log` call against the manifest's limits; the violation, if any.
    fn count_log(&mut self, bytes: usize) -> Option<ImportViolation> {
        let limits = &self.grants.limits;
        self.logged_lines += 1;
        self.logged_bytes = self.logged_bytes.saturating_add(bytes);
        if self.logged_lines > limits.max_log_lines {
            Some(ImportViolation {
                import: "log",
                limit: "limits.max_log_lines",
                value: limits.max_log_lines as u64,
            })
        } else if self.logged_bytes > limits.max_log_bytes {
            Some(ImportViolation {
                import: "log",
                limit: "limits.max_log_bytes",
                value: limits.max_log_bytes as u64,
            })
        } else {
            None
        }
    }
}

impl log::Host for CallState {
    fn log(
        &mut self,
        level: log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let bytes = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if let Some(violation) = self.count_log(bytes) {
            let error = wasmtime::Error::msg(format!(
                "the plugin logged past {} ({})",
                violation.limit, violation.value
            ));
            self.violation = Some(violation);
            return Err(error);
        }
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .take(MAX_LOG_FIELDS)
            .map(|(k, v)| (for_log(&k, 64), for_log(&v, 256)))
            .collect();
        let message = for_log(&message, MAX_LOG_LINE_BYTES);
        let plugin = self.grants.plugin_id.as_str();
        let fields_text = fields
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(" ");
        let level_name = match level {
            log::Level::Trace => {
                tracing::trace!(plugin, fields = %fields_text, "{message}");
                "trace"
            }
            log::Level::Debug => {
                tracing::debug!(plugin, fields = %fields_text, "{message}");
                "debug"
            }
            log::Level::Info => {
                tracing::info!(plugin, fields = %fields_text, "{message}");
                "info"
            }
            log::Level::Warn => {
                tracing::warn!(plugin, fields = %fields_text, "{message}");
                "warn"
            }
            log::Level::Error => {
                tracing::error!(plugin, fields = %fields_text, "{message}");
                "error"
            }
        };
        if self.logs.len() < MAX_LOG_LINES {
            self.logs.push(LogLine {
                level: level_name,
                message,
                fields,
            });
        }
        Ok(())
    }
}

impl config::Host for CallState {
    fn get(&mut self) -> String {
        self.grants.config_json.clone()
    }
}

impl kv::Host for CallState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        let store = self.grants.kv.as_ref()?;
        match store.get(&self.grants.plugin_id, &key, &self.grants.limits.kv()) {
            Ok(value) => value,
            Err(e) => {
                tracing::warn!(plugin = %self.grants.plugin_id, "kv get failed: {e}");
                None
            }
        }
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        let store = self.grants.kv.as_ref().ok_or("kv is not granted")?;
        store
            .set(
                &self.grants.plugin_id,
                &key,
                &value,
                &self.grants.limits.kv(),
            )
            .map_err(|e| e.to_string())
    }

    fn delete(&mut self, key: String) -> Result<(), String> {
        let store = self.grants.kv.as_ref().ok_or("kv is not granted")?;
        store
            .delete(&self.grants.plugin_id, &key, &self.grants.limits.kv())
            .map_err(|e| e.to_string())
    }
}

impl crate::contract::v0_1::deskbridge::plugin::types::Host for CallState {}
