//! Reconciliation markers. Helpdesk note APIs have no idempotency key, so every note the
//! gateway writes ends with a short reference line naming its outbox item; after an ambiguous
//! failure the outbox reads the thread back and looks for it before writing again.

/// The reference line's prefix. Messages containing it are Deskbridge's own.
pub const MARKER_PREFIX: &str = "Deskbridge ref ";

/// The marker for an outbox item id.
pub fn marker_for(outbox_id: &str) -> String {
    format!("{MARKER_PREFIX}{outbox_id}")
}

/// Whether `text` carries `marker` (exactly, not as a prefix of a longer marker).
pub fn text_has_marker(text: &str, marker: &str) -> bool {
    text.match_indices(marker).any(|(at, _)| {
        let next = text[at + marker.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    })
}

/// Whether `text` was written by Deskbridge.
pub(crate) fn is_ours(text: &str) -> bool {
    text.contains(MARKER_PREFIX)
}

/// Who wrote a message: our notes are private and carry the marker (a customer quoting it
/// stays a customer); otherwise the requester is the customer and anyone else an agent.
pub(crate) fn author_role(
    visibility: deskbridge_core::Visibility,
    body: &str,
    by_requester: bool,
) -> deskbridge_core::AuthorRole {
    use deskbridge_core::{AuthorRole, Visibility};
    if visibility == Visibility::Internal && is_ours(body) {
        AuthorRole::Bot
    } else if by_requester {
        AuthorRole::Customer
    } else {
        AuthorRole::Agent
    }
}

/// The id of the first message (helpdesk JSON) whose `fields` contain `marker`.
pub(crate) fn find_marked(
    messages: &[serde_json::Value],
    fields: [&str; 2],
    marker: &str,
) -> Option<String> {
    messages.iter().find_map(|m| {
        fields
            .iter()
            .any(|field| text_has_marker(m[*field].as_str().unwrap_or_default(), marker))
            .then(|| crate::http::id_string(&m["id"]).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_match_exactly() {
        let marker = marker_for("evt_1.summarize.0");
        assert!(text_has_marker(&format!("note\n\n— {marker}"), &marker));
        assert!(text_has_marker(&format!("<p>{marker}</p>"), &marker));
        assert!(!text_has_marker(
            &format!("note {}", marker_for("evt_1.summarize.01")),
            &marker
        ));
        assert!(is_ours(&marker));
    }
}
