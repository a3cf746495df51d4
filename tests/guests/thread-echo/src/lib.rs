//! Test guest: drafts a reply that quotes every message of the thread it is shown, so a test
//! sees exactly which messages the host let it read.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct ThreadEcho;

impl Plugin for ThreadEcho {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let quoted: Vec<String> = event
            .ticket
            .messages
            .iter()
            .map(|m| format!("> {}", m.body))
            .collect();
        Ok(vec![Action::draft(
            quoted.join("\n"),
            "every message this plugin was shown",
            0.5,
        )])
    }
}

deskbridge_sdk::export_plugin!(ThreadEcho);
