//! Zendesk webhook bodies. Two families reach `POST /webhooks/zendesk`:
//!
//! - **Event subscriptions** (a webhook subscribed to Zendesk events): `{"type":
//!   "zen:event-type:ticket.created", "id": "<event id>", "detail": {"id": "<ticket id>", …},
//!   "event": {…}, …}`. `ticket.created` and `ticket.comment_added` are processed; other ticket
//!   events are acknowledged and ignored. Deduplicated on the event `id` (inside the signed
//!   body).
//! - **Trigger webhooks** (a trigger action "Notify webhook" with a body the admin writes).
//!   The body to paste, every value a string as Zendesk renders placeholders:
//!
//!   ```json
//!   {"ticket_id": "{{ticket.id}}", "event": "ticket.comment_added", "updated_at": "{{ticket.updated_at_with_timestamp}}"}
//!   ```
//!
//!   `event` is optional (`ticket.created` or `ticket.comment_added`). Admins often add more
//!   placeholders (`ticket_subject`, `requester_email`, `ticket_url`, …): keys the gateway
//!   does not use are accepted and reported ([`crate::Notice::unknown_keys`]) so the server
//!   can log them, while what it uses must be present and well-formed (an unrendered
//!   `{{ticket.id}}` is refused). Deduplicated on the SHA-256 of the signed timestamp and the
//!   body — the exact bytes the signature covers. The `X-Zendesk-Webhook-Invocation-Id` header
//!   is not signed, so it decides nothing: whoever replays a captured delivery with a fresh
//!   invocation id gets `duplicate`. A redelivery Zendesk signs anew (a new timestamp) is a new
//!   event here, and the pipeline skips a thread state it has already processed.

use deskbridge_core::EventKind;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Notice, Parsed, WebhookError, field_error, ticket_id_field, unknown_keys};

const EVENT_PREFIX: &str = "zen:event-type:";
/// What the gateway reads of a trigger body.
const TRIGGER_KEYS: [&str; 3] = ["ticket_id", "event", "updated_at"];

/// Parses a Zendesk webhook body whose signature over `signed_timestamp` + `body` was
/// verified.
pub fn parse(body: &[u8], signed_timestamp: &str) -> Result<Parsed, WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| field_error("(root)", "must be a JSON object"))?;
    match object.get("type") {
        Some(Value::String(kind)) if kind.starts_with(EVENT_PREFIX) => {
            event_subscription(&value, kind)
        }
        Some(_) => Err(field_error(
            "type",
            format!("must be a Zendesk event type starting with `{EVENT_PREFIX}`"),
        )),
        None => trigger(&value, object, body, signed_timestamp),
    }
}

fn event_subscription(value: &Value, kind: &str) -> Result<Parsed, WebhookError> {
    let name = &kind[EVENT_PREFIX.len()..];
    let kind_hint = match name {
        "ticket.created" => Some(EventKind::TicketCreated),
        "ticket.comment_added" => None,
        other => {
            return Ok(Parsed::Ignored {
                reason: format!("event type `{other}` is not processed"),
            });
        }
    };
    let id = value["id"]
        .as_str()
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| field_error("id", "the event id is missing"))?;
    let ticket_id = ticket_id_field(&value["detail"]["id"], "detail.id")?;
    Ok(Parsed::Notice(Notice {
        ticket_id,
        kind_hint,
        origin: kind.to_owned(),
        dedupe_key: format!("zendesk-event:{id}"),
        // Zendesk's own envelope: its other keys are the vendor's, not an admin's typo.
        unknown_keys: Vec::new(),
    }))
}

fn trigger(
    value: &Value,
    object: &serde_json::Map<String, Value>,
    body: &[u8],
    signed_timestamp: &str,
) -> Result<Parsed, WebhookError> {
    let ticket_id = ticket_id_field(&value["ticket_id"], "ticket_id")?;
    let kind_hint = match &value["event"] {
        Value::Null => None,
        Value::String(s) if s == "ticket.created" => Some(EventKind::TicketCreated),
        Value::String(s) if s == "ticket.comment_added" => None,
        _ => {
            return Err(field_error(
                "event",
                "must be `ticket.created` or `ticket.comment_added`",
            ));
        }
    };
    if !matches!(value["updated_at"], Value::Null | Value::String(_)) {
        return Err(field_error("updated_at", "must be a string"));
    }
    let mut signed = Sha256::new();
    signed.update(signed_timestamp.as_bytes());
    signed.update(body);
    Ok(Parsed::Notice(Notice {
        ticket_id,
        kind_hint,
        origin: "zendesk trigger".into(),
        dedupe_key: format!("zendesk-trigger:{}", hex::encode(signed.finalize())),
        unknown_keys: unknown_keys(object, &TRIGGER_KEYS, ""),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "2026-12-04T10:00:00Z";

    fn notice(body: &str, timestamp: &str) -> Notice {
        match parse(body.as_bytes(), timestamp).expect("parses") {
            Parsed::Notice(n) => n,
            Parsed::Ignored { reason } => panic!("ignored: {reason}"),
        }
    }

    #[test]
    fn event_subscriptions_name_ticket_and_event() {
        let n = notice(
            r#"{"type":"zen:event-type:ticket.created","id":"e-1","subject":"zen:ticket:42","detail":{"id":"42"},"event":{}}"#,
            AT,
        );
        assert_eq!(n.ticket_id, "42");
        assert_eq!(n.kind_hint, Some(EventKind::TicketCreated));
        assert_eq!(n.dedupe_key, "zendesk-event:e-1");
        assert!(n.unknown_keys.is_empty());
        let n = notice(
            r#"{"type":"zen:event-type:ticket.comment_added","id":"e-2","detail":{"id":42}}"#,
            AT,
        );
        assert_eq!(n.kind_hint, None);
        assert!(matches!(
            parse(
                br#"{"type":"zen:event-type:ticket.status_changed","id":"e","detail":{"id":"1"}}"#,
                AT
            ),
            Ok(Parsed::Ignored { .. })
        ));
    }

    #[test]
    fn a_trigger_delivery_is_identified_by_what_its_signature_covers() {
        let body = r#"{"ticket_id":"7","updated_at":"2026-11-26 10:00"}"#;
        let first = notice(body, AT);
        assert!(first.dedupe_key.starts_with("zendesk-trigger:"));
        assert_eq!(notice(body, AT).dedupe_key, first.dedupe_key, "a replay");
        assert_ne!(
            notice(body, "2026-12-04T10:00:01Z").dedupe_key,
            first.dedupe_key,
            "signed again"
        );
        assert_ne!(
            notice(r#"{"ticket_id":"8","updated_at":"2026-11-26 10:00"}"#, AT).dedupe_key,
            first.dedupe_key
        );
    }

    #[test]
    fn trigger_bodies_take_extra_placeholders_and_still_check_what_is_used() {
        // What admins really paste: the suggested body plus placeholders of their own.
        let body = r#"{
            "ticket_id": "4711",
            "event": "ticket.comment_added",
            "updated_at": "December 4, 2026 10:00",
            "ticket_subject": "Kettle arrived broken",
            "requester_email": "ada@example.com",
            "ticket_url": "acme.zendesk.com/agent/tickets/4711",
            "current_user": "Ada Lovelace",
            "ticket_status": "Open"
        }"#;
        let n = notice(body, AT);
        assert_eq!(n.ticket_id, "4711");
        assert_eq!(
            n.unknown_keys,
            [
                "current_user",
                "requester_email",
                "ticket_status",
                "ticket_subject",
                "ticket_url"
            ]
        );
        let err = parse(br#"{"ticket_id":"{{ticket.id}}","x":"1"}"#, AT).expect_err("unrendered");
        assert!(err.to_string().contains("ticket_id"), "{err}");
        assert!(err.to_string().contains("unrendered placeholder"), "{err}");
        // A placeholder mapped to the wrong field can carry a customer's words: never echoed.
        let err = parse(br#"{"ticket_id":"My kettle arrived broken"}"#, AT).expect_err("text");
        assert!(!err.to_string().contains("kettle"), "{err}");
        let err = parse(br#"{"ticketid":"8"}"#, AT).expect_err("no ticket id");
        assert!(err.to_string().contains("`ticket_id`: is missing"), "{err}");
        let err = parse(br#"{"ticket_id":"7","event":"ticket.deleted"}"#, AT).expect_err("event");
        assert!(err.to_string().contains("`event`"), "{err}");
        let err = parse(
            br#"{"type":"zen:event-type:ticket.created","detail":{"id":"1"}}"#,
            AT,
        )
        .expect_err("no id");
        assert!(err.to_string().contains("`id`"), "{err}");
        assert!(matches!(parse(b"{", AT), Err(WebhookError::NotJson(_))));
        assert!(parse(b"[]", AT).is_err());
    }
}
