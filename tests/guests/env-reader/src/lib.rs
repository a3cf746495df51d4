//! Test guest: tries to read the environment and arguments and reports what it saw.

use deskbridge_sdk::{Action, Plugin, PluginError, TicketEvent};

struct EnvReader;

impl Plugin for EnvReader {
    fn on_event(_event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        let args: Vec<String> = std::env::args().collect();
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| format!("none ({e})"));
        Ok(vec![Action::note(format!(
            "vars={} args={} cwd={cwd} [{}]",
            vars.len(),
            args.len(),
            vars.join(";")
        ))])
    }
}

deskbridge_sdk::export_plugin!(EnvReader);
