//! Test guest: never returns; the host's deadline (or fuel) must stop it.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct InfiniteLoop;

impl Plugin for InfiniteLoop {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let mut counter: u64 = 0;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(event.id.len() as u64));
            if counter == u64::MAX {
                break;
            }
        }
        Ok(Vec::new())
    }
}

deskbridge_sdk::export_plugin!(InfiniteLoop);
