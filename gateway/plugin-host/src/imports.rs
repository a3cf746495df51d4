//! The host side of the contract's imports: `log`, `config`, `kv` and `ai`.
//!
//! `ai.complete` is where the manifest's AI grant is enforced: provider and model must be
//! listed, output tokens are capped, and the number of completions per call, the messages of
//! one request and their size are bounded. The plugin never sees a key; it only gets text and
//! usage back.
//!
//! Every import is bounded by the manifest's `limits`: `log` by lines and bytes per call (one
//! line too many fails the call, and nothing beyond the limit reaches the gateway's log),
//! `ai.complete` by `max_ai_messages` and `max_prompt_bytes` (refused as `denied`), `kv` by
//! key and value size, key count and total bytes (refused with a message naming the limit).

use std::time::Instant;

use deskbridge_providers::{ChatMessage, ChatRole, CompletionRequest};

use crate::contract::v0_1::deskbridge::plugin::{ai, config, kv, log};
use crate::state::{
    AiCall, CallState, ImportViolation, LogLine, MAX_AI_CALLS_PER_CALL, MAX_LOG_LINE_BYTES,
    MAX_LOG_LINES,
};

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

impl ai::Host for CallState {
    async fn complete(
        &mut self,
        request: ai::CompletionRequest,
    ) -> Result<ai::Completion, ai::AiError> {
        let grant = self.grants.ai.clone().ok_or_else(|| {
            ai::AiError::Denied("the manifest grants no AI (capabilities.ai)".into())
        })?;
        let provider_name = request
            .provider
            .clone()
            .or_else(|| grant.providers.first().cloned())
            .ok_or_else(|| ai::AiError::Denied("no provider listed in capabilities.ai".into()))?;
        if !grant.providers.contains(&provider_name) {
            return Err(ai::AiError::Denied(format!(
                "provider `{provider_name}` is not listed in capabilities.ai.providers"
            )));
        }
        let provider = self
            .grants
            .providers
            .get(&provider_name)
            .cloned()
            .ok_or_else(|| {
                self.ai_trouble = true;
                ai::AiError::Unavailable(format!("provider `{provider_name}` is not configured"))
            })?;
        let model = request.model.clone();
        match &model {
            Some(m) if !grant.models.contains(m) && m != provider.default_model() => {
                return Err(ai::AiError::Denied(format!(
                    "model `{m}` is not listed in capabilities.ai.models"
                )));
            }
            _ => {}
        }
        if self.ai_calls.len() >= MAX_AI_CALLS_PER_CALL as usize {
            return Err(ai::AiError::BudgetExceeded(format!(
                "at most {MAX_AI_CALLS_PER_CALL} completions per call"
            )));
        }
        let limits = &self.grants.limits;
        if request.messages.len() > limits.max_ai_messages {
            return Err(ai::AiError::Denied(format!(
                "the request has {} messages; limits.max_ai_messages is {}",
                request.messages.len(),
                limits.max_ai_messages
            )));
        }
        let prompt_bytes: usize = request.messages.iter().map(|m| m.content.len()).sum();
        if prompt_bytes > limits.max_prompt_bytes {
            return Err(ai::AiError::Denied(format!(
                "the request's messages are {prompt_bytes} bytes; limits.max_prompt_bytes is {}",
                limits.max_prompt_bytes
            )));
        }
        // No provider sees personal data: every prompt is redacted here, and the answer gets
        // the values back (cards masked) before the plugin reads it.
        let known = self.redactor.summary();
        let messages = request
            .messages
            .into_iter()
            .map(|m| ChatMessage {
                role: match m.role {
                    ai::ChatRole::System => ChatRole::System,
                    ai::ChatRole::User => ChatRole::User,
                    ai::ChatRole::Assistant => ChatRole::Assistant,
                },
                content: self.redactor.redact(&m.content),
            })
            .collect();
        let redacted = self.redactor.summary().since(&known);
        let provider_request = CompletionRequest {
            model,
            messages,
            max_tokens: request.max_tokens.min(grant.max_output_tokens).max(1),
        };
        let started = Instant::now();
        // Until the answer arrives, a deadline that expires is the provider's doing.
        self.ai_trouble = true;
        let result = provider.complete(provider_request).await;
        let elapsed = started.elapsed();
        match result {
            Ok(completion) => {
                self.ai_trouble = false;
                let mut call =
                    AiCall::new(&provider_name, &completion.model, completion.usage, elapsed);
                call.redacted = redacted;
                self.ai_calls.push(call);
                Ok(ai::Completion {
                    text: self.redactor.restore(&completion.text),
                    provider: provider_name,
                    model: completion.model,
                    usage: ai::Usage {
                        input_tokens: completion.usage.input_tokens,
                        output_tokens: completion.usage.output_tokens,
                    },
                })
            }
            Err(e) => {
                let mut call = AiCall::new(
                    &provider_name,
                    provider.default_model(),
                    Default::default(),
                    elapsed,
                );
                call.error = Some(e.to_string());
                call.redacted = redacted;
                self.ai_calls.push(call);
                Err(ai::AiError::Unavailable(e.to_string()))
            }
        }
    }
}

impl crate::contract::v0_1::deskbridge::plugin::types::Host for CallState {}
