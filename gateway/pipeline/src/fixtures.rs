//! Test fixtures shared by the pipeline's unit tests.

use deskbridge_core::HelpdeskKind;
use deskbridge_store::{EventSource, InboundEvent};

/// A delivery for helpdesk `gone`, which no test configures: processing records it as failed.
pub(crate) fn unconfigured_delivery() -> InboundEvent {
    InboundEvent {
        id: "evt-1".into(),
        dedupe_key: "delivery-1".into(),
        helpdesk: "gone".into(),
        helpdesk_kind: HelpdeskKind::Zendesk,
        ticket_id: "42".into(),
        received_at_ms: 1,
        source: EventSource::Fetch {
            kind_hint: None,
            origin: "test".into(),
        },
        request_id: None,
    }
}
