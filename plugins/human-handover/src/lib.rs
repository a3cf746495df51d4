//! `human-handover`: the "customers can always reach a human" rule. It emits a hand-over (and
//! the gateway then drops every AI draft for the event) when the customer
//!
//! - asks for a person ("speak to a human", "Mitarbeiter sprechen", "转人工", "オペレーター",
//!   "상담원 연결", …) in their last message,
//! - shows frustration in several of their last five messages (shouting, `!!!`, "ridiculous",
//!   "unverschämt", "太离谱", …), or
//! - is stuck in a bot loop (automated replies in a row with no human in between, or the same
//!   automated answer twice).
//!
//! Pure text rules, no AI: it must work when every provider is down.
//!
//! # Languages
//!
//! Default phrases cover English, German, French, Spanish, Portuguese, Italian, Dutch, Chinese
//! (simplified and traditional), Japanese and Korean ([`phrases`]). Every language's phrases
//! are checked on every message, whatever the ticket's locale: customers mix languages and
//! locales are often wrong. Operators add phrases per language (`extra_phrases`,
//! `extra_frustration_phrases`); the language key only groups them.
//!
//! # Matching
//!
//! Text and phrases are [normalised](normalize()) the same way: NFKC (full/half width), lower
//! case, Latin diacritics removed (Japanese voiced marks kept), apostrophes, quotes and other
//! punctuation turned into word breaks. Words match whole words ("human" does not match
//! "humane"); Chinese, Japanese and Korean match character by character, inside longer runs.
//!
//! # Phrase notation
//!
//! | notation | meaning | example |
//! |---|---|---|
//! | `word` | that whole word | `human` matches "Human!" but not "humane" |
//! | `a\|b\|c` | any one of the alternatives | `speak\|talk to` |
//! | `a_b` | words of one alternative, joined with `_` | `human\|real_person` |
//! | `word*` | any word starting with `word` | `mitarbeiter*` matches "Mitarbeiterin" |
//! | `..` | up to 3 words in between (up to 4 characters in CJK text) | `mit .. sprechen` |
//! | `^` first / `$` last | the phrase starts / ends the message | `^ agent $` |
//!
//! So `mit .. mitarbeiter* .. sprechen|reden` matches "mit einem Mitarbeiter sprechen" and
//! "mit der Mitarbeiterin reden"; `担当 .. と話したい` matches "担当者の方と話したい".
//!
//! # Cost
//!
//! The plugin runs under a fuel limit, in a fresh instance per event, so nothing is prepared
//! ahead: per call it reads at most 16 KiB of the last customer message and 4 KiB of each of
//! the four before (their start and end), normalises them in one linear pass, keeps only the
//! phrases whose every slot has an alternative whose words all occur in the text (a byte
//! scan of the tables, which are written in normalised form), parses those, and finds them
//! through an index on their first word, never by scanning the text once per phrase. The
//! matching steps left are capped per check (work beyond the cap is not done: a request
//! buried deep in a text built to be slow can be missed), so a call stays far inside the
//! fuel limit whatever customers paste. Measured natively (instructions, a proxy for fuel):
//! a short message costs under a million, a long mail a few million, hostile text at most
//! about eight million.

mod index;
mod normalize;
mod pattern;
pub mod phrases;

#[cfg(test)]
mod multilingual_tests;

use std::collections::BTreeMap;

use deskbridge_sdk::{
    Action, AuthorRole, Message, Plugin, PluginError, Priority, Ticket, TicketEvent, Visibility,
    config,
};
use serde::Deserialize;

pub use normalize::normalize;
use normalize::{MAX_SCAN_OLDER_BYTES, Text};
use pattern::{Budget, Heads, Matcher};

/// The plugin's configuration (`config_schema` in `plugin.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// More phrases that mean "I want a person", per language or as one list.
    pub extra_phrases: ExtraPhrases,
    /// More phrases that show frustration, per language or as one list.
    pub extra_frustration_phrases: ExtraPhrases,
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
            extra_phrases: ExtraPhrases::default(),
            extra_frustration_phrases: ExtraPhrases::default(),
            frustrated_messages: 2,
            bot_replies_in_a_row: 2,
            raise_priority: true,
        }
    }
}

/// Phrases an operator adds, in the [phrase notation](crate#phrase-notation). Configured
/// per language (`{ de = ["mit einem menschen"], ja = ["人と話したい"] }`) or, the original
/// form, as one list (`["mit einem menschen"]`). Every phrase applies to every message; the
/// language only groups them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "RawPhrases")]
pub struct ExtraPhrases {
    /// Phrases given as one list.
    pub any_language: Vec<String>,
    /// Phrases by language code (`de`, `pt-br`, `zh-hant`, …).
    pub by_language: BTreeMap<String, Vec<String>>,
}

impl ExtraPhrases {
    /// Every phrase, the list first, then by language.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.any_language
            .iter()
            .chain(self.by_language.values().flatten())
            .map(String::as_str)
    }
}

impl From<Vec<String>> for ExtraPhrases {
    fn from(any_language: Vec<String>) -> Self {
        ExtraPhrases {
            any_language,
            by_language: BTreeMap::new(),
        }
    }
}

/// The two accepted shapes of [`ExtraPhrases`].
#[derive(Deserialize)]
#[serde(untagged)]
enum RawPhrases {
    List(Vec<String>),
    PerLanguage(BTreeMap<String, Vec<String>>),
}

impl From<RawPhrases> for ExtraPhrases {
    fn from(raw: RawPhrases) -> Self {
        match raw {
            RawPhrases::List(list) => list.into(),
            RawPhrases::PerLanguage(by_language) => ExtraPhrases {
                any_language: Vec::new(),
                by_language,
            },
        }
    }
}

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
    /// The tag added to the ticket (besides `deskbridge-handover`). Every tag this plugin sets
    /// starts with `deskbridge`, the prefix the gateway lets plugins write by default.
    pub fn tag(self) -> &'static str {
        match self {
            Cause::AskedForHuman => "deskbridge-handover-asked-for-human",
            Cause::Frustration => "deskbridge-handover-frustration",
            Cause::BotLoop => "deskbridge-handover-bot-loop",
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

/// The phrases and thresholds of one configuration. The phrases are parsed per text, and
/// only those that can match it (each slot has an alternative whose words all occur in the
/// text): for a short message that is a handful.
#[derive(Debug)]
pub struct Rules {
    extra_human: Vec<String>,
    extra_frustration: Vec<String>,
    frustrated_messages: usize,
    bot_replies_in_a_row: usize,
}

impl Rules {
    /// The default phrases of every language plus the operator's.
    pub fn new(config: &Config) -> Rules {
        Rules {
            extra_human: config.extra_phrases.iter().map(str::to_owned).collect(),
            extra_frustration: config
                .extra_frustration_phrases
                .iter()
                .map(str::to_owned)
                .collect(),
            frustrated_messages: config.frustrated_messages,
            bot_replies_in_a_row: config.bot_replies_in_a_row,
        }
    }

    /// The request phrases `texts` may match: the default ones the index finds for their
    /// words, and every operator phrase.
    fn human_phrases<'a>(&'a self, texts: &[&Text]) -> impl Iterator<Item = &'a str> {
        index::HUMAN
            .candidates(texts)
            .into_iter()
            .chain(self.extra_human.iter().map(String::as_str))
    }

    /// The frustration phrases `texts` may match (as [`Rules::human_phrases`]).
    fn frustration_phrases<'a>(&'a self, texts: &[&Text]) -> impl Iterator<Item = &'a str> {
        index::FRUSTRATION
            .candidates(texts)
            .into_iter()
            .chain(self.extra_frustration.iter().map(String::as_str))
    }

    /// True when `text` asks for a person.
    pub fn asks_for_human(&self, text: &str) -> bool {
        let text = Text::new(text);
        let matcher = Matcher::for_heads(self.human_phrases(&[&text]), &Heads::of(&text));
        matcher
            .find(&text, &mut Budget::new(Budget::PER_CALL))
            .is_some()
    }

    /// True when `text` reads as frustrated: a marker phrase, `!!!`, or shouting.
    pub fn is_frustrated(&self, text: &str) -> bool {
        let text = Text::new(text);
        let shout = text.shout();
        if shout.bangs || shout.is_shouting() {
            return true;
        }
        let matcher = Matcher::for_heads(self.frustration_phrases(&[&text]), &Heads::of(&text));
        matcher
            .find(&text, &mut Budget::new(Budget::PER_CALL))
            .is_some()
    }

    /// The first cause that applies, checked in order of how directly the customer spoke.
    pub fn detect(&self, ticket: &Ticket) -> Option<Cause> {
        self.detect_within(
            ticket,
            &mut Budget::new(Budget::PER_CALL),
            &mut Budget::new(Budget::PER_CALL),
        )
    }

    /// [`Rules::detect`] with the budgets of the request check (the last message) and of the
    /// frustration check (the last five), kept apart so neither can starve the other.
    fn detect_within(
        &self,
        ticket: &Ticket,
        human: &mut Budget,
        frustration: &mut Budget,
    ) -> Option<Cause> {
        let last = ticket.last_customer_message()?;
        let text = Text::new(&last.body);
        let matcher = Matcher::for_heads(self.human_phrases(&[&text]), &Heads::of(&text));
        if matcher.find(&text, human).is_some() {
            return Some(Cause::AskedForHuman);
        }
        // The last five customer messages (older ones read less), counted by the cheap
        // signals first; the phrases are parsed once, for all of them, only when needed.
        let mut texts = vec![text];
        for message in ticket.customer_messages().rev().skip(1).take(4) {
            let mut older = Text::default();
            older.fill_up_to(&message.body, MAX_SCAN_OLDER_BYTES);
            texts.push(older);
        }
        let loud = |t: &Text| t.shout().bangs || t.shout().is_shouting();
        let mut frustrated = texts.iter().filter(|t| loud(t)).count();
        if frustrated < self.frustrated_messages {
            let mut heads = Heads::new();
            let quiet: Vec<&Text> = texts.iter().filter(|t| !loud(t)).collect();
            for t in &quiet {
                heads.add(t);
            }
            let matcher = Matcher::for_heads(self.frustration_phrases(&quiet), &heads);
            for t in texts.iter().filter(|t| !loud(t)) {
                if frustrated >= self.frustrated_messages {
                    break;
                }
                if matcher.find(t, frustration).is_some() {
                    frustrated += 1;
                }
            }
        }
        if frustrated >= self.frustrated_messages {
            return Some(Cause::Frustration);
        }
        if in_bot_loop(ticket, self.bot_replies_in_a_row) {
            return Some(Cause::BotLoop);
        }
        None
    }
}

/// True when `text` asks for a person (default phrases plus `extra`): the same as
/// [`Rules::asks_for_human`] with a default configuration plus `extra`.
pub fn asks_for_human(text: &str, extra: &ExtraPhrases) -> bool {
    let config = Config {
        extra_phrases: extra.clone(),
        ..Config::default()
    };
    Rules::new(&config).asks_for_human(text)
}

/// True when `text` reads as frustrated with the default markers, `!!!` or shouting: the same
/// as [`Rules::is_frustrated`] with the default configuration.
pub fn is_frustrated(text: &str) -> bool {
    Rules::new(&Config::default()).is_frustrated(text)
}

fn is_automated_public(m: &Message) -> bool {
    m.visibility == Visibility::Public && matches!(m.author_role, AuthorRole::Bot)
}

fn is_human_public_reply(m: &Message) -> bool {
    m.visibility == Visibility::Public && m.author_role == AuthorRole::Agent
}

/// Automated replies (the newest since the last human one) compared for repetition.
const LOOP_WINDOW: usize = 20;
/// Bytes of each automated reply compared for repetition.
const LOOP_COMPARE_BYTES: usize = 2048;

/// True when the thread shows a bot loop: `threshold` automated public replies since the last
/// human one while the customer kept writing, or one automated answer repeated word for word
/// (ASCII case, spacing and typographic apostrophes aside; the newest [`LOOP_WINDOW`] replies,
/// on their first [`LOOP_COMPARE_BYTES`] bytes).
pub fn in_bot_loop(ticket: &Ticket, threshold: usize) -> bool {
    let mut bot_replies = 0;
    let mut customer_kept_writing = false;
    let mut replies: Vec<(u64, &[u8])> = Vec::new();
    for m in ticket
        .messages
        .iter()
        .rev()
        .take_while(|m| !is_human_public_reply(m))
    {
        customer_kept_writing |= m.author_role == AuthorRole::Customer;
        if is_automated_public(m) {
            bot_replies += 1;
            if replies.len() < LOOP_WINDOW {
                let body = &m.body.as_bytes()[..m.body.len().min(LOOP_COMPARE_BYTES)];
                let hash = Squash::new(body).fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
                });
                replies.push((hash, body));
            }
        }
    }
    if customer_kept_writing && bot_replies >= threshold {
        return true;
    }
    // Equal answers have equal hashes and end up next to each other: O(n log n).
    replies.sort_unstable_by_key(|r| r.0);
    replies
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && Squash::new(w[0].1).eq(Squash::new(w[1].1)))
}

/// The bytes of a text with ASCII letters lower-cased, typographic apostrophes (`’`, `‘`) as
/// `'`, and whitespace collapsed to single spaces (none at the ends).
struct Squash<'a> {
    rest: &'a [u8],
    space: bool,
    started: bool,
}

impl<'a> Squash<'a> {
    fn new(text: &'a [u8]) -> Squash<'a> {
        Squash {
            rest: text,
            space: false,
            started: false,
        }
    }
}

impl Iterator for Squash<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        loop {
            let (&b, rest) = self.rest.split_first()?;
            if b.is_ascii_whitespace() {
                self.space = self.started;
                self.rest = rest;
                continue;
            }
            if self.space {
                self.space = false;
                return Some(b' ');
            }
            self.started = true;
            if let [0xE2, 0x80, 0x98 | 0x99, tail @ ..] = self.rest {
                self.rest = tail;
                return Some(b'\'');
            }
            self.rest = rest;
            return Some(b.to_ascii_lowercase());
        }
    }
}

/// The first cause that applies, checked in order of how directly the customer spoke.
pub fn detect(ticket: &Ticket, config: &Config) -> Option<Cause> {
    Rules::new(config).detect(ticket)
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

    pub(crate) fn message(role: AuthorRole, body: &str) -> Message {
        Message {
            id: body.len().to_string(),
            author_role: role,
            author_name: None,
            visibility: Visibility::Public,
            body: body.into(),
            created_at: "2026-11-25T10:00:00Z".into(),
        }
    }

    pub(crate) fn ticket(messages: Vec<Message>) -> Ticket {
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
        let t = ticket(vec![message(C, "Ich brauche einen Fachmann vor Ort")]);
        assert_eq!(detect(&t, &Config::default()), None);
        let config = Config {
            extra_phrases: vec!["fachmann* vor ort".to_owned()].into(),
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
    fn frustration_counts_only_the_last_five_customer_messages() {
        let mut messages = vec![
            message(C, "This is ridiculous."),
            message(C, "Unacceptable!"),
        ];
        for i in 0..5 {
            messages.push(message(C, &format!("Order {i} is fine, thanks")));
        }
        assert_eq!(detect(&ticket(messages), &Config::default()), None);
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
    fn the_same_automated_answer_twice_is_a_loop() {
        let t = ticket(vec![
            message(Bot, "Have you checked the tracking page?"),
            message(Bot, "Our FAQ may help."),
            message(Bot, "have you   checked the tracking page?"),
        ]);
        assert!(in_bot_loop(&t, 10));
        let t = ticket(vec![
            message(Bot, "  We\u{2019}re on it.\nThanks!"),
            message(Bot, "we're ON it. thanks!  "),
        ]);
        assert!(in_bot_loop(&t, 10));
        let t = ticket(vec![
            message(Bot, "Have you checked the tracking page?"),
            message(Bot, "Our FAQ may help."),
            message(Bot, "Have you checked the tracking page!"),
        ]);
        assert!(!in_bot_loop(&t, 10));
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

    #[test]
    fn every_tag_starts_with_deskbridge() {
        for cause in [Cause::AskedForHuman, Cause::Frustration, Cause::BotLoop] {
            let t = ticket(vec![message(C, "hi")]);
            let actions = actions(cause, &t, &Config::default());
            let Action::AddTags(tags) = &actions[1] else {
                panic!("expected tags, got {:?}", actions[1]);
            };
            assert_eq!(tags.len(), 2);
            for tag in tags {
                assert!(tag.starts_with("deskbridge-handover"), "{tag}");
            }
            assert!(tags.iter().any(|t| t == cause.tag()));
        }
        assert_eq!(
            Cause::AskedForHuman.tag(),
            "deskbridge-handover-asked-for-human"
        );
        assert_eq!(Cause::Frustration.tag(), "deskbridge-handover-frustration");
        assert_eq!(Cause::BotLoop.tag(), "deskbridge-handover-bot-loop");
    }
}
