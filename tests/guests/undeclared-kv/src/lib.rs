//! Test guest: uses the kv import, which its manifest does not declare; the host must refuse
//! to load it.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent, kv};

struct UndeclaredKv;

impl Plugin for UndeclaredKv {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        kv::set("last-ticket", event.ticket.id.as_bytes())?;
        Ok(Vec::new())
    }
}

deskbridge_sdk::export_plugin!(UndeclaredKv);
