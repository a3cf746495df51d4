//! Freshdesk automation webhooks ("Trigger webhook" action). Freshdesk signs nothing, so the
//! gateway authenticates the request (basic auth or a shared-secret header) and trusts the
//! body for the ticket id only: the ticket itself is re-fetched through the API.
//!
//! The body to paste into the automation rule (content type JSON, "Advanced" mode):
//!
//! ```json
//! {"freshdesk_webhook": {"ticket_id": "{{ticket.id}}", "triggered_event": "{{triggered_event}}"}}
//! ```
//!
//! The unwrapped form `{"ticket_id": …, "triggered_event": …}` is accepted too, and so are
//! bodies with more placeholders — admins add `ticket_subject`, `requester_email`,
//! `ticket_url`, …, and Freshdesk's "Simple" content mode sends whichever fields are ticked.
//! Keys the gateway does not use are reported ([`crate::Notice::unknown_keys`]) for the
//! server to log, never refused; `ticket_id` must be there and be a number (an unrendered
//! `{{ticket.id}}` is refused). Freshdesk sends no delivery id and the body says nothing
//! about which message is new, so each delivery is its own event (keyed by the gateway's
//! delivery id); a redelivery, or a second rule firing for the same change, is recognised
//! later by the pipeline, which skips a ticket whose newest message it has already processed.
//! (A body hash would wrongly merge two customer replies that arrive close together.)

use serde_json::Value;

use crate::{Notice, Parsed, WebhookError, field_error, ticket_id_field, unknown_keys};

/// What the gateway reads of a body.
const KEYS: [&str; 2] = ["ticket_id", "triggered_event"];

/// Parses a Freshdesk webhook body; `delivery_id` is unique per request (the gateway's own).
pub fn parse(body: &[u8], delivery_id: &str) -> Result<Parsed, WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let root = value
        .as_object()
        .ok_or_else(|| field_error("(root)", "must be a JSON object"))?;
    let (inner, prefix, mut extra) = match root.get("freshdesk_webhook") {
        Some(inner) => (
            inner,
            "freshdesk_webhook.",
            unknown_keys(root, &["freshdesk_webhook"], ""),
        ),
        None => (&value, "", Vec::new()),
    };
    let object = inner.as_object().ok_or_else(|| {
        field_error(
            if prefix.is_empty() {
                "(root)"
            } else {
                "freshdesk_webhook"
            },
            "must be a JSON object",
        )
    })?;
    extra.extend(unknown_keys(object, &KEYS, prefix));
    extra.truncate(crate::MAX_REPORTED_KEYS);
    let ticket_id = ticket_id_field(&inner["ticket_id"], &format!("{prefix}ticket_id"))?;
    let origin = match &inner["triggered_event"] {
        Value::Null => "freshdesk automation".to_owned(),
        Value::String(s) => format!("freshdesk automation {}", truncated(s, 200)),
        _ => {
            return Err(field_error(
                &format!("{prefix}triggered_event"),
                "must be a string",
            ));
        }
    };
    Ok(Parsed::Notice(Notice {
        ticket_id,
        kind_hint: None,
        origin,
        dedupe_key: format!("freshdesk-delivery:{delivery_id}"),
        unknown_keys: extra,
    }))
}

fn truncated(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(body: &[u8], delivery: &str) -> Notice {
        match parse(body, delivery).expect("parses") {
            Parsed::Notice(n) => n,
            Parsed::Ignored { reason } => panic!("ignored: {reason}"),
        }
    }

    #[test]
    fn both_forms_parse_and_every_delivery_is_its_own_event() {
        let body = br#"{"freshdesk_webhook":{"ticket_id":"12","triggered_event":"{ticket_action:created}"}}"#;
        let a = notice(body, "d1");
        assert_eq!(a.ticket_id, "12");
        let b = notice(body, "d2");
        assert_ne!(a.dedupe_key, b.dedupe_key, "two replies must not merge");
        assert_eq!(notice(br#"{"ticket_id":12}"#, "d3").ticket_id, "12");
    }

    #[test]
    fn real_bodies_with_more_placeholders_are_accepted_and_their_extra_keys_reported() {
        // Advanced mode with the placeholders admins commonly add.
        let advanced = br#"{"freshdesk_webhook": {
            "ticket_id": "4711",
            "triggered_event": "{ticket_action:created}",
            "ticket_subject": "Kettle arrived broken",
            "ticket_status": "Open",
            "ticket_priority": "Medium",
            "requester_email": "ada@example.com",
            "ticket_url": "https://acme.freshdesk.com/helpdesk/tickets/4711"
        }}"#;
        let n = notice(advanced, "d1");
        assert_eq!(n.ticket_id, "4711");
        assert_eq!(
            n.unknown_keys,
            [
                "freshdesk_webhook.requester_email",
                "freshdesk_webhook.ticket_priority",
                "freshdesk_webhook.ticket_status",
                "freshdesk_webhook.ticket_subject",
                "freshdesk_webhook.ticket_url"
            ]
        );
        // Simple mode: the ticked fields, numbers as numbers, and a key beside the wrapper.
        let simple = br#"{"freshdesk_webhook": {"ticket_id": 4711, "ticket_tags": "kitchen", "ticket_group_name": "Support"}, "time_stamp": "1701684000"}"#;
        let n = notice(simple, "d2");
        assert_eq!(n.ticket_id, "4711");
        assert_eq!(
            n.unknown_keys,
            [
                "time_stamp",
                "freshdesk_webhook.ticket_group_name",
                "freshdesk_webhook.ticket_tags"
            ]
        );
    }

    #[test]
    fn what_the_gateway_uses_must_still_be_there_and_well_formed() {
        let err = parse(br#"{"freshdesk_webhook":{"ticket":"12"}}"#, "d").expect_err("no id");
        assert!(
            err.to_string().contains("freshdesk_webhook.ticket_id"),
            "{err}"
        );
        let err = parse(
            br#"{"freshdesk_webhook":{"ticket_id":"{{ticket.id}}"}}"#,
            "d",
        )
        .expect_err("unrendered");
        assert!(
            err.to_string().contains("freshdesk_webhook.ticket_id"),
            "{err}"
        );
        let err = parse(br#"{"ticket_id":"1","triggered_event":3}"#, "d").expect_err("type");
        assert!(err.to_string().contains("triggered_event"), "{err}");
        assert!(parse(br#"{"freshdesk_webhook":"12"}"#, "d").is_err());
    }
}
