//! Records the store's unit tests build on: an inbound event, an internal note for the
//! outbox and a pending draft, all on ticket 42 of helpdesk `acme`.

use deskbridge_core::HelpdeskKind;

use crate::records::{
    DraftProvenance, EventSource, InboundEvent, OutboxItem, OutboxOp, OutboxState, PendingDraft,
};

/// Event `evt-KEY` with dedupe key `key`, received at 1 s.
pub(crate) fn event(key: &str) -> InboundEvent {
    InboundEvent {
        id: format!("evt-{key}"),
        dedupe_key: key.into(),
        helpdesk: "acme".into(),
        helpdesk_kind: HelpdeskKind::Zendesk,
        ticket_id: "42".into(),
        received_at_ms: 1_000,
        source: EventSource::Fetch {
            kind_hint: None,
            origin: "test".into(),
        },
        request_id: None,
    }
}

/// A pending internal note `id` by the summarize plugin.
pub(crate) fn note(id: &str) -> OutboxItem {
    OutboxItem {
        id: id.into(),
        helpdesk: "acme".into(),
        ticket_id: "42".into(),
        op: OutboxOp::InternalNote { body: "hi".into() },
        plugin: "summarize".into(),
        event_seq: 1,
        position: 0,
        created_at_ms: 1,
        attempts: 0,
        next_attempt_at_ms: 0,
        maybe_applied: false,
        last_error: None,
        state: OutboxState::Pending,
        held_since_ms: None,
        held_ms: 0,
        request_id: None,
    }
}

/// A pending draft `id` by suggest-reply 0.1.0 (no AI provider), created at `created_at_ms`.
pub(crate) fn draft(id: &str, created_at_ms: i64) -> PendingDraft {
    PendingDraft {
        id: id.into(),
        helpdesk: "acme".into(),
        ticket_id: "42".into(),
        body: "Hello".into(),
        rationale: String::new(),
        confidence: 0.5,
        provenance: DraftProvenance {
            plugin_id: "suggest-reply".into(),
            plugin_version: "0.1.0".into(),
            wasm_sha256: "00".into(),
            provider: None,
            model: None,
            event_id: "evt-a".into(),
            redaction: Default::default(),
            sources: Vec::new(),
        },
        requirement: deskbridge_core::ApprovalRequirement::BASELINE,
        blocked: None,
        flags: Vec::new(),
        created_at_ms,
        ai_disclosure: None,
        context: None,
        notes: Vec::new(),
        suggestions: Vec::new(),
        review: Default::default(),
    }
}
