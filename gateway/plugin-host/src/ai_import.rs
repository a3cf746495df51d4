//! The host side of the `ai` import: where a plugin's request for a completion meets the
//! manifest, the redactor and the operator's routes.
//!
//! In order: the manifest must grant AI; a provider the plugin names must be one its manifest
//! allows (otherwise the operator's route for the plugin and the call's helpdesk decides —
//! see [`deskbridge_providers::AiRouter::chain`]); a model the plugin names must be listed in
//! the manifest or be a default of the route's providers; completions per call, messages per
//! request and prompt bytes are bounded; output tokens are capped by the manifest. Every prompt
//! is redacted before any provider sees it, and the answer gets the values back. The router
//! then walks the chain within what is left of the call's wall-clock limit. Each provider
//! tried becomes an [`AiCall`] in the call's report — failed ones first — so the draft's
//! provenance names the provider that answered. The plugin never sees a key.

use std::sync::Arc;

use deskbridge_providers::{
    ChatMessage, ChatRole, CompletionRequest, FailureKind, RouteScope, Routed, Target, Usage,
};

use crate::contract::v0_1::deskbridge::plugin::ai;
use crate::state::{AiCall, CallState, MAX_AI_CALLS_PER_CALL};

impl ai::Host for CallState {
    async fn complete(
        &mut self,
        request: ai::CompletionRequest,
    ) -> Result<ai::Completion, ai::AiError> {
        let grant = self.grants.ai.clone().ok_or_else(|| {
            ai::AiError::Denied("the manifest grants no AI (capabilities.ai)".into())
        })?;
        let router = Arc::clone(&self.grants.ai_router);
        let plugin_id = self.grants.plugin_id.clone();
        let helpdesk = self.helpdesk.clone();
        let scope = RouteScope {
            plugin: &plugin_id,
            helpdesk: helpdesk.as_deref(),
        };
        let chain = match &request.provider {
            Some(name) => {
                if !grant.providers.iter().any(|p| p == "*" || p == name) {
                    return Err(ai::AiError::Denied(format!(
                        "provider `{name}` is not allowed by capabilities.ai.providers"
                    )));
                }
                vec![Target {
                    provider: name.clone(),
                    model: request.model.clone(),
                }]
            }
            // The start-up check keeps routes within the manifest; this keeps a host that
            // skipped it there too.
            None => {
                let chain: Vec<Target> = router
                    .chain(scope, &grant.providers)
                    .into_iter()
                    .filter(|t| grant.providers.iter().any(|p| p == "*" || *p == t.provider))
                    .collect();
                if chain.is_empty() {
                    return Err(ai::AiError::Denied(
                        "the route allows none of the providers in capabilities.ai.providers"
                            .into(),
                    ));
                }
                chain
            }
        };
        if let Some(model) = &request.model {
            let a_default = chain.iter().any(|t| {
                router
                    .provider(&t.provider)
                    .is_some_and(|g| g.provider().default_model() == model)
            });
            if !grant.models.contains(model) && !a_default {
                return Err(ai::AiError::Denied(format!(
                    "model `{model}` is not listed in capabilities.ai.models"
                )));
            }
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
            model: request.model,
            messages,
            max_tokens: request.max_tokens.min(grant.max_output_tokens).max(1),
        };
        let cap = provider_request.max_tokens;
        let prompt_estimate = provider_request.token_ceiling().saturating_sub(cap);
        // Until the answer arrives, a deadline that expires is the provider's doing.
        self.ai_trouble = true;
        let result = router
            .complete(scope, &chain, provider_request, self.deadline)
            .await;
        let attempts = match &result {
            Ok(routed) => &routed.failed,
            Err(failure) => &failure.failed,
        };
        for attempt in attempts {
            let mut call = AiCall::new(
                &attempt.provider,
                &attempt.model,
                Usage::default(),
                attempt.elapsed,
            );
            call.error = Some(attempt.error.to_string());
            call.error_kind = Some(attempt.error.kind.as_str());
            self.ai_calls.push(call);
        }
        match result {
            Ok(Routed {
                answered,
                provider,
                elapsed,
                ..
            }) => {
                self.ai_trouble = false;
                let completion = answered.completion;
                // A provider that reports no usage is counted at the request's ceiling: the
                // estimated prompt and the whole token cap.
                let usage = completion.usage.unwrap_or(Usage {
                    input_tokens: prompt_estimate,
                    output_tokens: cap,
                });
                let mut call = AiCall::new(&provider, &completion.model, usage, elapsed);
                call.redacted = redacted;
                self.ai_calls.push(call);
                Ok(ai::Completion {
                    text: self.redactor.restore(&completion.text),
                    provider,
                    model: completion.model,
                    usage: ai::Usage {
                        input_tokens: usage.input_tokens,
                        output_tokens: usage.output_tokens,
                    },
                })
            }
            Err(failure) => {
                if let Some(last) = self.ai_calls.last_mut() {
                    last.redacted = redacted;
                }
                Err(match failure.kind() {
                    FailureKind::BudgetExhausted => {
                        ai::AiError::BudgetExceeded(failure.to_string())
                    }
                    FailureKind::NotAllowed => ai::AiError::Denied(failure.to_string()),
                    _ => ai::AiError::Unavailable(failure.to_string()),
                })
            }
        }
    }
}
