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
//! The unwrapped form `{"ticket_id": …, "triggered_event": …}` is accepted too. Freshdesk
//! sends no delivery id and the body says nothing about which message is new, so each
//! delivery is its own event (keyed by the gateway's delivery id); a redelivery, or a second
//! rule firing for the same change, is recognised later by the pipeline, which skips a
//! ticket whose newest message it has already processed. (A body hash would wrongly merge two
//! customer replies that arrive close together.)

use serde_json::Value;

use crate::{Notice, Parsed, WebhookError, field_error, ticket_id_field};

const KEYS: [&str; 2] = ["ticket_id", "triggered_event"];

/// Parses a Freshdesk webhook body; `delivery_id` is unique per request (the gateway's own).
pub fn parse(body: &[u8], delivery_id: &str) -> Result<Parsed, WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let (inner, prefix) = match value.get("freshdesk_webhook") {
        Some(inner) => (inner, "freshdesk_webhook."),
        None => (&value, ""),
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
    if prefix.is_empty() {
        if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(field_error(
                unknown,
                format!("unknown key (expected {})", KEYS.join(", ")),
            ));
        }
    } else if let Some(unknown) = value
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "freshdesk_webhook"))
    {
        return Err(field_error(
            unknown,
            "unknown key next to `freshdesk_webhook`",
        ));
    } else if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(field_error(
            &format!("{prefix}{unknown}"),
            format!("unknown key (expected {})", KEYS.join(", ")),
        ));
    }
    let ticket_id = ticket_id_field(&inner["ticket_id"], &format!("{prefix}ticket_id"))?;
    let origin = match &inner["triggered_event"] {
        Value::Null => "freshdesk automation".to_owned(),
        Value::String(s) => format!("freshdesk automation {s}"),
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
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_every_delivery_is_its_own_event() {
        let body = br#"{"freshdesk_webhook":{"ticket_id":"12","triggered_event":"{ticket_action:created}"}}"#;
        let Parsed::Notice(a) = parse(body, "d1").expect("parses") else {
            panic!("notice");
        };
        assert_eq!(a.ticket_id, "12");
        let Parsed::Notice(b) = parse(body, "d2").expect("parses") else {
            panic!("notice");
        };
        assert_ne!(a.dedupe_key, b.dedupe_key, "two replies must not merge");
        assert!(matches!(
            parse(br#"{"ticket_id":12}"#, "d3"),
            Ok(Parsed::Notice(_))
        ));
    }

    #[test]
    fn mistakes_name_the_field() {
        let err = parse(br#"{"freshdesk_webhook":{"ticket":"12"}}"#, "d").expect_err("typo");
        assert!(
            err.to_string().contains("freshdesk_webhook.ticket"),
            "{err}"
        );
        let err = parse(br#"{"freshdesk_webhook":{"ticket_id":"abc"}}"#, "d").expect_err("nan");
        assert!(
            err.to_string().contains("freshdesk_webhook.ticket_id"),
            "{err}"
        );
        let err = parse(br#"{"ticket_id":"1","x":1}"#, "d").expect_err("unknown");
        assert!(err.to_string().contains("`x`"), "{err}");
    }
}
