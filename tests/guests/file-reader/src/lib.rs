//! Test guest: tries to read `/etc/passwd` and reports what happened in a note.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct FileReader;

impl Plugin for FileReader {
    fn on_event(_event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let note = match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => format!("read {} bytes: {}", text.len(), text),
            Err(e) => format!("denied: {e}"),
        };
        Ok(vec![Action::note(note)])
    }
}

deskbridge_sdk::export_plugin!(FileReader);
