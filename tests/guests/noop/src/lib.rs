//! Test guest: does nothing, as fast as possible (the benchmark's trivial plugin).

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct Noop;

impl Plugin for Noop {
    fn on_event(_event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        Ok(Vec::new())
    }
}

deskbridge_sdk::export_plugin!(Noop);
