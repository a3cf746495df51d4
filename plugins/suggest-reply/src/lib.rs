//! `suggest-reply`: drafts a reply to the customer's newest message. The draft carries a
//! rationale and a confidence, and enters the approval queue: a human agent approves, edits or
//! rejects it. The model is asked to end its answer with `CONFIDENCE:` and `RATIONALE:` lines,
//! which [`parse_answer`] splits off the reply text.

use deskbridge_sdk::{Action, AuthorRole, Plugin, PluginError, TicketEvent, ai, config};
use serde::Deserialize;

/// The plugin's configuration (`config_schema` in `plugin.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Newest part of the thread sent to the AI, in characters.
    pub max_transcript_chars: usize,
    /// Confidence used when the model states none.
    pub default_confidence: f32,
    /// Style instruction.
    pub tone: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_transcript_chars: 12_000,
            default_confidence: 0.5,
            tone: "friendly and concise".into(),
        }
    }
}

/// A model answer split into its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The reply text.
    pub body: String,
    /// The stated confidence, 0.0–1.0, if any.
    pub confidence: Option<f32>,
    /// The stated rationale, if any.
    pub rationale: Option<String>,
}

/// Splits trailing `CONFIDENCE:` / `RATIONALE:` lines off a model answer.
pub fn parse_answer(text: &str) -> Answer {
    let mut confidence = None;
    let mut rationale = None;
    let mut body_lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(value) = trimmed.strip_prefix("CONFIDENCE:") {
            confidence = value
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|c| (0.0..=1.0).contains(c));
        } else if let Some(value) = trimmed.strip_prefix("RATIONALE:") {
            rationale = Some(value.trim().to_owned()).filter(|r| !r.is_empty());
        } else {
            body_lines.push(line);
        }
    }
    Answer {
        body: body_lines.join("\n").trim().to_owned(),
        confidence,
        rationale,
    }
}

fn instruction(tone: &str) -> String {
    format!(
        "You draft a reply to a customer-support ticket for a human agent to review before \
         anything is sent. Reply to the customer's newest message; be {tone}; never promise \
         refunds, dates or exceptions that the thread does not already confirm. After the reply, \
         add a line `CONFIDENCE: <0.0-1.0>` and a line `RATIONALE: <one sentence for the agent>`."
    )
}

struct SuggestReply;

impl Plugin for SuggestReply {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let config: Config = config::get()?;
        let ticket = &event.ticket;
        // Only answer when the customer spoke last: never draft over an agent's reply.
        match ticket.messages.last() {
            Some(m) if m.author_role == AuthorRole::Customer => {}
            _ => return Ok(Vec::new()),
        }
        let name = ticket.requester.name.clone().unwrap_or_default();
        let input = format!(
            "Subject: {}\nCustomer name: {}\n{}",
            ticket.subject,
            name,
            ticket.transcript(config.max_transcript_chars)
        );
        let text = ai::ask(&instruction(&config.tone), &input, 800)?;
        let answer = parse_answer(&text);
        if answer.body.is_empty() {
            return Err(PluginError::new(
                "empty-draft",
                "the AI returned no reply text",
            ));
        }
        let rationale = answer
            .rationale
            .unwrap_or_else(|| "Drafted from the customer's newest message.".into());
        Ok(vec![Action::draft(
            answer.body,
            rationale,
            answer.confidence.unwrap_or(config.default_confidence),
        )])
    }
}

deskbridge_sdk::export_plugin!(SuggestReply);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_confidence_and_rationale_off_the_reply() {
        let a =
            parse_answer("Hello Ada,\n\nWe are on it.\n\nCONFIDENCE: 0.8\nRATIONALE: Clear ask.");
        assert_eq!(a.body, "Hello Ada,\n\nWe are on it.");
        assert_eq!(a.confidence, Some(0.8));
        assert_eq!(a.rationale.as_deref(), Some("Clear ask."));
    }

    #[test]
    fn out_of_range_or_missing_confidence_is_none() {
        assert_eq!(parse_answer("Hi\nCONFIDENCE: 7").confidence, None);
        assert_eq!(parse_answer("Hi").confidence, None);
        assert_eq!(parse_answer("Hi").rationale, None);
    }

    #[test]
    fn config_defaults_apply() {
        let c: Config = serde_json::from_str(r#"{"tone":"formal"}"#).expect("valid");
        assert_eq!(c.tone, "formal");
        assert_eq!(c.default_confidence, 0.5);
    }
}
