//! Test guest: counts its calls in the plugin-scoped kv store and reports the count.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent, kv};

struct KvCounter;

impl Plugin for KvCounter {
    fn on_event(_event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let count = kv::get("count")
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        kv::set("count", count.to_string().as_bytes())?;
        Ok(vec![Action::note(format!("call {count}"))])
    }
}

deskbridge_sdk::export_plugin!(KvCounter);
