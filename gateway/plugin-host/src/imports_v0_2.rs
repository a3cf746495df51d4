//! The host side of contract 0.2.0's imports. `log`, `config`, `kv` and `ai` are the same
//! interfaces as in 0.1.0 under a new package version: each converts its records (identical in
//! shape) and calls the 0.1.0 implementation, so both versions obey the same checks and
//! limits. `knowledge` is new: see `knowledge_import.rs`.

use crate::contract::v0_1::deskbridge::plugin as v1;
use crate::contract::v0_2::deskbridge::plugin as v2;
use crate::state::CallState;

impl v2::log::Host for CallState {
    fn log(
        &mut self,
        level: v2::log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let level = match level {
            v2::log::Level::Trace => v1::log::Level::Trace,
            v2::log::Level::Debug => v1::log::Level::Debug,
            v2::log::Level::Info => v1::log::Level::Info,
            v2::log::Level::Warn => v1::log::Level::Warn,
            v2::log::Level::Error => v1::log::Level::Error,
        };
        v1::log::Host::log(self, level, message, fields)
    }
}

impl v2::config::Host for CallState {
    fn get(&mut self) -> String {
        v1::config::Host::get(self)
    }
}

impl v2::kv::Host for CallState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        v1::kv::Host::get(self, key)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        v1::kv::Host::set(self, key, value)
    }

    fn delete(&mut self, key: String) -> Result<(), String> {
        v1::kv::Host::delete(self, key)
    }
}

impl v2::ai::Host for CallState {
    async fn complete(
        &mut self,
        request: v2::ai::CompletionRequest,
    ) -> Result<v2::ai::Completion, v2::ai::AiError> {
        let request = v1::ai::CompletionRequest {
            provider: request.provider,
            model: request.model,
            messages: request
                .messages
                .into_iter()
                .map(|m| v1::ai::ChatMessage {
                    role: match m.role {
                        v2::ai::ChatRole::System => v1::ai::ChatRole::System,
                        v2::ai::ChatRole::User => v1::ai::ChatRole::User,
                        v2::ai::ChatRole::Assistant => v1::ai::ChatRole::Assistant,
                    },
                    content: m.content,
                })
                .collect(),
            max_tokens: request.max_tokens,
        };
        match v1::ai::Host::complete(self, request).await {
            Ok(c) => Ok(v2::ai::Completion {
                text: c.text,
                provider: c.provider,
                model: c.model,
                usage: v2::ai::Usage {
                    input_tokens: c.usage.input_tokens,
                    output_tokens: c.usage.output_tokens,
                },
            }),
            Err(v1::ai::AiError::Denied(m)) => Err(v2::ai::AiError::Denied(m)),
            Err(v1::ai::AiError::Unavailable(m)) => Err(v2::ai::AiError::Unavailable(m)),
            Err(v1::ai::AiError::BudgetExceeded(m)) => Err(v2::ai::AiError::BudgetExceeded(m)),
        }
    }
}

impl v2::types::Host for CallState {}
