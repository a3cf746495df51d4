//! Test guest: returns a 1 MiB draft, far over any output limit.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct OversizedDraft;

impl Plugin for OversizedDraft {
    fn on_event(_event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        Ok(vec![Action::draft("a".repeat(1 << 20), "too long", 0.9)])
    }
}

deskbridge_sdk::export_plugin!(OversizedDraft);
