//! Zendesk webhook bodies. Two families reach `POST /webhooks/zendesk`:
//!
//! - **Event subscriptions** (a webhook subscribed to Zendesk events): `{"type":
//!   "zen:event-type:ticket.created", "id": "<event id>", "detail": {"id": "<ticket id>", …},
//!   "event": {…}, …}`. `ticket.created` and `ticket.comment_added` are processed; other ticket
//!   events are acknowledged and ignored. Deduplicated on the event `id`.
//! - **Trigger webhooks** (a trigger action "Notify webhook" with a body the admin writes).
//!   The body to paste, every value a string as Zendesk renders placeholders:
//!
//!   ```json
//!   {"ticket_id": "{{ticket.id}}", "event": "ticket.comment_added", "updated_at": "{{ticket.updated_at_with_timestamp}}"}
//!   ```
//!
//!   `event` is optional (`ticket.created` or `ticket.comment_added`); unknown keys are
//!   refused so a typo does not pass silently. Deduplicated on the
//!   `X-Zendesk-Webhook-Invocation-Id` header, which Zendesk sends on every delivery; without
//!   it each delivery is its own event, and the pipeline skips a thread state it has already
//!   processed.

use deskbridge_core::EventKind;
use serde_json::Value;

use crate::{Notice, Parsed, WebhookError, field_error, ticket_id_field};

/// The invocation id header.
pub const INVOCATION_ID_HEADER: &str = "X-Zendesk-Webhook-Invocation-Id";

const EVENT_PREFIX: &str = "zen:event-type:";
const TRIGGER_KEYS: [&str; 3] = ["ticket_id", "event", "updated_at"];

/// Parses a Zendesk webhook body; `invocation_id` is the header's value, if sent, and
/// `delivery_id` is unique per request (the gateway's own).
pub fn parse(
    body: &[u8],
    invocation_id: Option<&str>,
    delivery_id: &str,
) -> Result<Parsed, WebhookError> {
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
        None => trigger(&value, invocation_id, delivery_id),
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
    }))
}

fn trigger(
    value: &Value,
    invocation_id: Option<&str>,
    delivery_id: &str,
) -> Result<Parsed, WebhookError> {
    if let Some(unknown) = value
        .as_object()
        .and_then(|o| o.keys().find(|k| !TRIGGER_KEYS.contains(&k.as_str())))
    {
        return Err(field_error(
            unknown,
            format!(
                "unknown key in a trigger body (expected {})",
                TRIGGER_KEYS.join(", ")
            ),
        ));
    }
    let ticket_id = ticket_id_field(&value["ticket_id"], "ticket_id")?;
    let kind_hint = match &value["event"] {
        Value::Null => None,
        Value::String(s) if s == "ticket.created" => Some(EventKind::TicketCreated),
        Value::String(s) if s == "ticket.comment_added" => None,
        other => {
            return Err(field_error(
                "event",
                format!("{other} is not `ticket.created` or `ticket.comment_added`"),
            ));
        }
    };
    if !matches!(value["updated_at"], Value::Null | Value::String(_)) {
        return Err(field_error("updated_at", "must be a string"));
    }
    let dedupe_key = match invocation_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(invocation) => format!("zendesk-invocation:{invocation}"),
        None => format!("zendesk-delivery:{delivery_id}"),
    };
    Ok(Parsed::Notice(Notice {
        ticket_id,
        kind_hint,
        origin: "zendesk trigger".into(),
        dedupe_key,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(body: &str, invocation: Option<&str>) -> Notice {
        match parse(body.as_bytes(), invocation, "d1").expect("parses") {
            Parsed::Notice(n) => n,
            Parsed::Ignored { reason } => panic!("ignored: {reason}"),
        }
    }

    #[test]
    fn event_subscriptions_name_ticket_and_event() {
        let n = notice(
            r#"{"type":"zen:event-type:ticket.created","id":"e-1","subject":"zen:ticket:42","detail":{"id":"42"},"event":{}}"#,
            Some("inv-9"),
        );
        assert_eq!(n.ticket_id, "42");
        assert_eq!(n.kind_hint, Some(EventKind::TicketCreated));
        assert_eq!(n.dedupe_key, "zendesk-event:e-1");
        let n = notice(
            r#"{"type":"zen:event-type:ticket.comment_added","id":"e-2","detail":{"id":42}}"#,
            None,
        );
        assert_eq!(n.kind_hint, None);
        assert!(matches!(
            parse(
                br#"{"type":"zen:event-type:ticket.status_changed","id":"e","detail":{"id":"1"}}"#,
                None,
                "d"
            ),
            Ok(Parsed::Ignored { .. })
        ));
    }

    #[test]
    fn trigger_bodies_are_strict() {
        let n = notice(r#"{"ticket_id":"7","updated_at":"2026-11-26 10:00"}"#, None);
        assert_eq!(n.dedupe_key, "zendesk-delivery:d1");
        let n = notice(r#"{"ticket_id":"7"}"#, Some("inv-1"));
        assert_eq!(n.dedupe_key, "zendesk-invocation:inv-1");

        let err = parse(br#"{"ticket_id":"7","ticketid":"8"}"#, None, "d").expect_err("typo");
        assert!(err.to_string().contains("`ticketid`"), "{err}");
        let err = parse(br#"{"ticket_id":"{{ticket.id}}"}"#, None, "d").expect_err("unrendered");
        assert!(err.to_string().contains("ticket_id"), "{err}");
        let err = parse(
            br#"{"type":"zen:event-type:ticket.created","detail":{"id":"1"}}"#,
            None,
            "d",
        )
        .expect_err("no id");
        assert!(err.to_string().contains("`id`"), "{err}");
        assert!(matches!(
            parse(b"{", None, "d"),
            Err(WebhookError::NotJson(_))
        ));
        assert!(parse(b"[]", None, "d").is_err());
    }
}
