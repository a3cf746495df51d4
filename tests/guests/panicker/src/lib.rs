//! Test guest: panics on every event.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct Panicker;

impl Plugin for Panicker {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        panic!("boom on ticket {}", event.ticket.id)
    }
}

deskbridge_sdk::export_plugin!(Panicker);
