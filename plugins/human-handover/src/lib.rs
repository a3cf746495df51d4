//! `human-handover`: the "customers can always reach a human" rule. It emits a hand-over (and
//! the gateway then drops every AI draft for the event) when the customer
//!
//! - asks for a person ("speak to a human", "real person", "agent please", …),
//! - shows frustration in several recent messages (shouting, "ridiculous", "still not", …), or
//! - is stuck in a bot loop (automated replies in a row with no human in between, or the same
//!   automated answer twice).
//!
//! Pure text rules, no AI: it must work when every provider is down.

use deskbridge_sdk::{
    Action, AuthorRole, Message, Plugin, PluginError, Priority, Ticket, TicketEvent, Visibility,
    config,
};
use serde::Deserialize;

/// The plugin's configuration (`config_schema` in `plugin.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// More phrases that mean "I want a person".
    pub extra_phrases: Vec<String>,
    /// Frustrated customer messages (of the last five) that trigger a hand-over.
    pub frustrated_messages: usize,
    /// Automated public replies in a row that count as a loop.
    pub bot_replies_in_a_row: usize,
    /// Raise priority to high on hand-over.
    pub raise_priority: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            extra_phrases: Vec::new(),
            frustrated_messages: 2,
            bot_replies_in_a_row: 2,
            raise_priority: true,
        }
    }
}

const HUMAN_PHRASES: &[&str] = &[
    "speak to a human",
    "talk to a human",
    "speak to a person",
    "talk to a person",
    "speak with a human",
    "speak with a person",
    "talk with a person",
    "real person",
    "real human",
    "human being",
    "actual person",
    "live agent",
    "human agent",
    "speak to an agent",
    "talk to an agent",
    "speak to someone",
    "talk to someone",
    "representative",
    "not a bot",
    "stop the bot",
    "are you a bot",
    "are you a robot",
    "call me back",
    "speak to a manager",
    "speak to your manager",
];

const FRUSTRATION_MARKERS: &[&str] = &[
    "ridiculous",
    "unacceptable",
    "useless",
    "still not",
    "still waiting",
    "still broken",
    "third time",
    "again and again",
    "fed up",
    "waste of time",
    "worst",
    "not helpful",
    "doesn't help",
    "does not help",
    "you keep",
    "angry",
    "furious",
    "!!!",
];

/// Why a hand-over is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The customer asked for a person.
    AskedForHuman,
    /// Repeated frustration.
    Frustration,
    /// Automated replies are going round in circles.
    BotLoop,
}

impl Cause {
    /// The tag added to the ticket.
    pub fn tag(self) -> &'static str {
        match self {
            Cause::AskedForHuman => "handover-asked-for-human",
            Cause::Frustration => "handover-frustration",
            Cause::BotLoop => "handover-bot-loop",
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Cause::AskedForHuman => "The customer asked to speak to a person.",
            Cause::Frustration => "The customer has been frustrated in several recent messages.",
            Cause::BotLoop => "Automated replies are looping without a human answer.",
        }
    }
}

/// True when `text` asks for a human.
pub fn asks_for_human(text: &str, extra_phrases: &[String]) -> bool {
    let text = normalize(text);
    HUMAN_PHRASES.iter().any(|p| text.contains(p))
        || extra_phrases.iter().any(|p| text.contains(&normalize(p)))
}

/// True when `text` reads as frustrated: a marker phrase, or mostly upper-case shouting.
pub fn is_frustrated(text: &str) -> bool {
    let lower = normalize(text);
    if FRUSTRATION_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    letters.len() >= 12 && upper * 10 >= letters.len() * 7
}

fn normalize(text: &str) -> String {
    text.to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_automated_public(m: &Message) -> bool {
    m.visibility == Visibility::Public && matches!(m.author_role, AuthorRole::Bot)
}

fn is_human_public_reply(m: &Message) -> bool {
    m.visibility == Visibility::Public && m.author_role == AuthorRole::Agent
}

/// True when the thread shows a bot loop: `threshold` automated public replies since the last
/// human one while the customer kept writing, or one automated answer repeated word for word.
pub fn in_bot_loop(ticket: &Ticket, threshold: usize) -> bool {
    let since_human: Vec<&Message> = ticket
        .messages
        .iter()
        .rev()
        .take_while(|m| !is_human_public_reply(m))
        .collect();
    let bot_replies: Vec<&Message> = since_human
        .iter()
        .copied()
        .filter(|m| is_automated_public(m))
        .collect();
    let customer_kept_writing = since_human
        .iter()
        .any(|m| m.author_role == AuthorRole::Customer);
    if customer_kept_writing && bot_replies.len() >= threshold {
        return true;
    }
    bot_replies.iter().enumerate().any(|(i, a)| {
        bot_replies[i + 1..]
            .iter()
            .any(|b| normalize(&a.body) == normalize(&b.body))
    })
}

/// The first cause that applies, checked in order of how directly the customer spoke.
pub fn detect(ticket: &Ticket, config: &Config) -> Option<Cause> {
    let last = ticket.last_customer_message()?;
    if asks_for_human(&last.body, &config.extra_phrases) {
        return Some(Cause::AskedForHuman);
    }
    let frustrated = ticket
        .customer_messages()
        .rev()
        .take(5)
        .filter(|m| is_frustrated(&m.body))
        .count();
    if frustrated >= config.frustrated_messages {
        return Some(Cause::Frustration);
    }
    if in_bot_loop(ticket, config.bot_replies_in_a_row) {
        return Some(Cause::BotLoop);
    }
    None
}

/// The actions for a detected cause.
pub fn actions(cause: Cause, ticket: &Ticket, config: &Config) -> Vec<Action> {
    let mut actions = vec![
        Action::hand_over(cause.reason()),
        Action::tags(["deskbridge-handover", cause.tag()]),
    ];
    if config.raise_priority && matches!(ticket.priority, Priority::Low | Priority::Normal) {
        actions.push(Action::SetPriority(Priority::High));
    }
    actions
}

struct HumanHandover;

impl Plugin for HumanHandover {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let config: Config = config::get()?;
        Ok(match detect(&event.ticket, &config) {
            Some(cause) => actions(cause, &event.ticket, &config),
            None => Vec::new(),
        })
    }
}

deskbridge_sdk::export_plugin!(HumanHandover);

#[cfg(test)]
mod tests {
    use super::*;
    use deskbridge_sdk::{Channel, Customer, HelpdeskKind, TicketStatus};

    fn message(role: AuthorRole, body: &str) -> Message {
        Message {
            id: body.len().to_string(),
            author_role: role,
            author_name: None,
            visibility: Visibility::Public,
            body: body.into(),
            created_at: "2026-11-25T10:00:00Z".into(),
        }
    }

    fn ticket(messages: Vec<Message>) -> Ticket {
        Ticket {
            id: "1".into(),
            helpdesk: "test".into(),
            helpdesk_kind: HelpdeskKind::Generic,
            subject: "Help".into(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            tags: vec![],
            requester: Customer {
                id: "c".into(),
                name: None,
                email: None,
                locale: None,
            },
            channel: Channel::Chat,
            messages,
        }
    }

    use AuthorRole::{Agent, Bot, Customer as C};

    #[test]
    fn asking_for_a_person_hands_over() {
        let t = ticket(vec![message(C, "Can I please talk to a   REAL person?")]);
        assert_eq!(detect(&t, &Config::default()), Some(Cause::AskedForHuman));
    }

    #[test]
    fn extra_phrases_extend_the_list() {
        let t = ticket(vec![message(C, "Ich möchte mit einem Menschen sprechen")]);
        assert_eq!(detect(&t, &Config::default()), None);
        let config = Config {
            extra_phrases: vec!["mit einem menschen".into()],
            ..Config::default()
        };
        assert_eq!(detect(&t, &config), Some(Cause::AskedForHuman));
    }

    #[test]
    fn one_frustrated_message_is_not_enough_two_are() {
        let one = ticket(vec![message(C, "This is ridiculous.")]);
        assert_eq!(detect(&one, &Config::default()), None);
        let two = ticket(vec![
            message(C, "This is ridiculous."),
            message(Agent, "Sorry, checking."),
            message(C, "IT STILL DOES NOT WORK AT ALL"),
        ]);
        assert_eq!(detect(&two, &Config::default()), Some(Cause::Frustration));
    }

    #[test]
    fn bot_replies_in_a_row_are_a_loop() {
        let t = ticket(vec![
            message(C, "My order is late"),
            message(Bot, "Have you checked the tracking page?"),
            message(C, "Yes, it says nothing"),
            message(Bot, "Please check our FAQ"),
            message(C, "That does not answer it"),
        ]);
        assert_eq!(detect(&t, &Config::default()), Some(Cause::BotLoop));
    }

    #[test]
    fn a_human_reply_breaks_the_loop() {
        let t = ticket(vec![
            message(C, "My order is late"),
            message(Bot, "Have you checked the tracking page?"),
            message(Agent, "I am looking into it personally."),
            message(Bot, "Your ticket was updated"),
            message(C, "Thanks, waiting"),
        ]);
        assert_eq!(detect(&t, &Config::default()), None);
    }

    #[test]
    fn calm_threads_stay_with_the_ai() {
        let t = ticket(vec![message(C, "How do I change my billing address?")]);
        assert_eq!(detect(&t, &Config::default()), None);
    }

    #[test]
    fn actions_hand_over_tag_and_raise_priority() {
        let t = ticket(vec![message(C, "representative please")]);
        let actions = actions(Cause::AskedForHuman, &t, &Config::default());
        assert!(matches!(actions[0], Action::HandOver(_)));
        assert!(matches!(actions[2], Action::SetPriority(Priority::High)));
        assert_eq!(actions.len(), 3);
    }
}
