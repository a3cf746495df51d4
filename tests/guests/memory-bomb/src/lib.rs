//! Test guest: allocates 1 MiB blocks until something stops it; the memory cap must.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct MemoryBomb;

impl Plugin for MemoryBomb {
    fn on_event(_event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            blocks.push(std::hint::black_box(vec![7u8; 1 << 20]));
            if blocks.len() == usize::MAX {
                break;
            }
        }
        Ok(vec![Action::note(format!(
            "allocated {} MiB",
            blocks.len()
        ))])
    }
}

deskbridge_sdk::export_plugin!(MemoryBomb);
