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
