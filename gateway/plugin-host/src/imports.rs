//! The host side of the contract's imports: `log`, `config`, `kv` and `ai`.
//!
//! `ai.complete` is where the manifest's AI grant is enforced: provider and model must be
//! listed, output tokens are capped, and the number of completions per call is bounded. The
//! plugin never sees a key; it only gets text and usage back.

use std::time::Instant;

use deskbridge_providers::{ChatMessage, ChatRole, CompletionRequest};

use crate::contract::v0_1::deskbridge::plugin::{ai, config, kv, log};
use crate::state::{
    AiCall, CallState, LogLine, MAX_AI_CALLS_PER_CALL, MAX_LOG_LINE_BYTES, MAX_LOG_LINES,
};

/// Most structured fields kept per log line.
const MAX_LOG_FIELDS: usize = 16;

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
}

impl log::Host for CallState {
    fn log(&mut self, level: log::Level, message: String, fields: Vec<(String, String)>) {
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
            let mut message = message;
            truncate(&mut message, MAX_LOG_LINE_BYTES);
            let fields = fields
                .into_iter()
                .take(MAX_LOG_FIELDS)
                .map(|(mut k, mut v)| {
                    truncate(&mut k, 64);
                    truncate(&mut v, 256);
                    (k, v)
                })
                .collect();
            self.logs.push(LogLine {
                level: level_name,
                message,
                fields,
            });
        }
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
        match store.get(&self.grants.plugin_id, &key) {
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
            .set(&self.grants.plugin_id, &key, &value)
            .map_err(|e| e.to_string())
    }

    fn delete(&mut self, key: String) -> Result<(), String> {
        let store = self.grants.kv.as_ref().ok_or("kv is not granted")?;
        store
            .delete(&self.grants.plugin_id, &key)
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
