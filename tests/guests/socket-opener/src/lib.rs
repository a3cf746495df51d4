//! Test guest: tries to connect to the TCP address in the ticket's subject and reports what
//! happened in a note.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct SocketOpener;

impl Plugin for SocketOpener {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let note = match std::net::TcpStream::connect(event.ticket.subject.as_str()) {
            Ok(_) => "connected".to_owned(),
            Err(e) => format!("denied: {e}"),
        };
        Ok(vec![Action::note(note)])
    }
}

deskbridge_sdk::export_plugin!(SocketOpener);
