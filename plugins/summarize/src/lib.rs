//! `summarize`: an internal note that sums up the thread, so the agent who picks the ticket up
//! does not have to read it all. The summary comes from the host's AI import; if that fails,
//! the plugin fails closed (no note, the gateway flags the ticket).

use deskbridge_sdk::{Action, Plugin, PluginError, Ticket, TicketEvent, ai, config};
use serde::Deserialize;

/// The plugin's configuration (`config_schema` in `plugin.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Newest part of the thread sent to the AI, in characters.
    pub max_transcript_chars: usize,
    /// Skip threads shorter than this.
    pub min_messages: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_transcript_chars: 12_000,
            min_messages: 1,
        }
    }
}

const INSTRUCTION: &str = "You summarize customer-support tickets for the agent who will \
    handle them. Write at most three short bullet points: what the customer wants, the \
    relevant facts, and what has been tried. Do not address the customer.";

/// The text sent to the AI: subject line and the newest part of the thread, agents' internal
/// notes included (the summary is an internal note itself; the manifest asks for them with
/// `capabilities.internal_messages`).
pub fn prompt(ticket: &Ticket, max_chars: usize) -> String {
    format!(
        "Subject: {}\n{}",
        ticket.subject,
        ticket.transcript_with_internal_notes(max_chars)
    )
}

/// The note posted for agents.
pub fn note(summary: &str) -> String {
    format!(
        "AI summary (deskbridge/summarize, for agents only):\n{}",
        summary.trim()
    )
}

struct Summarize;

impl Plugin for Summarize {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let config: Config = config::get()?;
        if event.ticket.messages.len() < config.min_messages {
            return Ok(Vec::new());
        }
        let summary = ai::ask(
            INSTRUCTION,
            &prompt(&event.ticket, config.max_transcript_chars),
            400,
        )?;
        if summary.trim().is_empty() {
            return Err(PluginError::new("empty-summary", "the AI returned no text"));
        }
        Ok(vec![Action::note(note(&summary))])
    }
}

deskbridge_sdk::export_plugin!(Summarize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_says_it_is_ai_written_and_internal() {
        let n = note("  - wants a refund\n");
        assert!(n.starts_with("AI summary"));
        assert!(n.ends_with("- wants a refund"));
    }

    #[test]
    fn config_defaults_apply() {
        let c: Config = serde_json::from_str("{}").expect("valid config");
        assert_eq!(c.max_transcript_chars, 12_000);
        assert_eq!(c.min_messages, 1);
    }
}
