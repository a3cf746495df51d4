//! Test guest: answers every event with one note naming the ticket.

use deskbridge_sdk::log::{self, Level};
use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct WellBehaved;

impl Plugin for WellBehaved {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        log::with_fields(
            Level::Info,
            "handling event",
            &[("ticket", &event.ticket.id)],
        );
        Ok(vec![Action::note(format!(
            "seen ticket {}",
            event.ticket.id
        ))])
    }
}

deskbridge_sdk::export_plugin!(WellBehaved);
