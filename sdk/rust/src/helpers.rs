//! Typed helpers over the host imports and constructors for the contract's records, so plugin
//! code reads as intent (`Action::note(..)`, `ai::ask(..)`) rather than WIT plumbing.

use crate::__private::bindings::deskbridge::plugin as wit;
use crate::{
    Action, ApprovalRequirement, ApproverRole, AuthorRole, Decision, DraftReply, Flag, Handover,
    Message, PluginError, Source, Ticket, Verdict, Visibility,
};

impl PluginError {
    /// A plugin error with a machine-readable code and a message for operators.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> PluginError {
        PluginError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl Action {
    /// A private note for agents.
    pub fn note(body: impl Into<String>) -> Action {
        Action::InternalNote(body.into())
    }

    /// A draft reply for the approval queue; `confidence` is clamped to 0.0–1.0.
    pub fn draft(body: impl Into<String>, rationale: impl Into<String>, confidence: f32) -> Action {
        let confidence = if confidence.is_nan() {
            0.0
        } else {
            confidence.clamp(0.0, 1.0)
        };
        Action::DraftReply(DraftReply {
            body: body.into(),
            rationale: rationale.into(),
            confidence,
            sources: Vec::new(),
        })
    }

    /// A draft reply that cites the knowledge it is drawn from (ids from
    /// [`knowledge::search`](crate::knowledge::search); the host refuses an id no search of
    /// this call returned). The approver sees the sources next to the draft.
    pub fn draft_citing(
        body: impl Into<String>,
        rationale: impl Into<String>,
        confidence: f32,
        sources: Vec<Source>,
    ) -> Action {
        match Action::draft(body, rationale, confidence) {
            Action::DraftReply(draft) => Action::DraftReply(DraftReply { sources, ..draft }),
            other => other,
        }
    }

    /// Tags to add to the ticket.
    pub fn tags<I, S>(tags: I) -> Action
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Action::AddTags(tags.into_iter().map(Into::into).collect())
    }

    /// Hand the ticket to a human agent (no draft is offered for this event).
    pub fn hand_over(reason: impl Into<String>) -> Action {
        Action::HandOver(Handover {
            reason: reason.into(),
        })
    }
}

impl Verdict {
    /// The draft needs `approvers` distinct approvers holding at least `role`.
    pub fn require(role: ApproverRole, approvers: u8) -> Verdict {
        Verdict {
            decision: Decision::RequireApproval(ApprovalRequirement { role, approvers }),
            flags: Vec::new(),
        }
    }

    /// The draft must not be offered at all.
    pub fn block(reason: impl Into<String>) -> Verdict {
        Verdict {
            decision: Decision::Block(reason.into()),
            flags: Vec::new(),
        }
    }

    /// Adds a note for the approver.
    pub fn with_flag(mut self, code: impl Into<String>, message: impl Into<String>) -> Verdict {
        self.flags.push(Flag {
            code: code.into(),
            message: message.into(),
        });
        self
    }
}

impl Ticket {
    /// The newest public message written on the customer's side (the requester, or another
    /// end user copied on the ticket).
    pub fn last_customer_message(&self) -> Option<&Message> {
        self.customer_messages().next_back()
    }

    /// Public messages written on the customer's side, oldest first.
    pub fn customer_messages(&self) -> impl DoubleEndedIterator<Item = &Message> {
        self.messages
            .iter()
            .filter(|m| m.author_role == AuthorRole::Customer && m.visibility == Visibility::Public)
    }

    /// The public thread as plain text (`Customer: …` / `Agent: …` lines), keeping the newest
    /// messages when it would exceed `max_chars`. Internal notes are left out, so this is the
    /// input to use for anything a customer may read (a draft reply). (The host also removes
    /// internal notes before the call unless the manifest asks for them with
    /// `capabilities.internal_messages`.)
    pub fn transcript(&self, max_chars: usize) -> String {
        render_transcript(
            self.messages
                .iter()
                .filter(|m| m.visibility == Visibility::Public),
            max_chars,
        )
    }

    /// The whole thread, internal notes included (`Internal note (agent): …` lines), for
    /// output only agents read, such as a summary note. Needs
    /// `capabilities.internal_messages = true` in the manifest: without it the host has
    /// already removed the internal notes, and this equals [`Ticket::transcript`].
    pub fn transcript_with_internal_notes(&self, max_chars: usize) -> String {
        render_transcript(self.messages.iter(), max_chars)
    }
}

fn render_transcript<'a>(
    messages: impl DoubleEndedIterator<Item = &'a Message>,
    max_chars: usize,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut used = 0;
    for message in messages.rev() {
        let who = match message.author_role {
            AuthorRole::Customer => "Customer",
            AuthorRole::Agent => "Agent",
            AuthorRole::Bot => "Bot",
            AuthorRole::System => "System",
        };
        let line = match message.visibility {
            Visibility::Public => format!("{who}: {}", message.body.trim()),
            Visibility::Internal => format!(
                "Internal note ({}): {}",
                who.to_lowercase(),
                message.body.trim()
            ),
        };
        if used + line.len() > max_chars {
            break;
        }
        used += line.len() + 1;
        parts.push(line);
    }
    parts.reverse();
    parts.join("\n")
}

/// Structured logging into the gateway's log, tagged with the plugin's id.
pub mod log {
    pub use super::wit::log::Level;

    /// Logs `message` with structured `fields`, e.g.
    /// `log::with_fields(Level::Info, "drafted", &[("ticket", &id)])`.
    pub fn with_fields(level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        super::wit::log::log(level, message, &fields);
    }

    /// Logs at debug level.
    pub fn debug(message: &str) {
        with_fields(Level::Debug, message, &[]);
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        with_fields(Level::Info, message, &[]);
    }
    /// Logs at warn level.
    pub fn warn(message: &str) {
        with_fields(Level::Warn, message, &[]);
    }
    /// Logs at error level.
    pub fn error(message: &str) {
        with_fields(Level::Error, message, &[]);
    }
}

/// The plugin's configuration, already validated by the host against the manifest's
/// `config_schema`.
pub mod config {
    use super::PluginError;

    /// The configuration as JSON text (`{}` when none is set).
    pub fn raw() -> String {
        super::wit::config::get()
    }

    /// The configuration deserialized into `T`; fields the operator left out take `T`'s
    /// serde defaults.
    pub fn get<T: serde::de::DeserializeOwned>() -> Result<T, PluginError> {
        serde_json::from_str(&raw())
            .map_err(|e| PluginError::new("bad-config", format!("plugin config: {e}")))
    }
}

/// A key-value store scoped to this plugin (manifest: `capabilities.kv = true`).
pub mod kv {
    use super::PluginError;

    /// The value stored under `key`.
    pub fn get(key: &str) -> Option<Vec<u8>> {
        super::wit::kv::get(key)
    }

    /// Stores `value` under `key`.
    pub fn set(key: &str, value: &[u8]) -> Result<(), PluginError> {
        super::wit::kv::set(key, value).map_err(|e| PluginError::new("kv", e))
    }

    /// Removes `key`.
    pub fn delete(key: &str) -> Result<(), PluginError> {
        super::wit::kv::delete(key).map_err(|e| PluginError::new("kv", e))
    }
}

/// The helpdesk's knowledge base (manifest: `capabilities.knowledge`): its macros, canned
/// responses, articles and the operator's Markdown files, searched inside the gateway.
pub mod knowledge {
    pub use super::wit::knowledge::Article;
    use super::{PluginError, Source};

    /// The best `k` articles for `query`, best first. Errors (no knowledge base, a limit
    /// reached) become a [`PluginError`] with code `knowledge`; a plugin that can draft
    /// without knowledge may treat them as "nothing found".
    pub fn search(query: &str, k: u32) -> Result<Vec<Article>, PluginError> {
        super::wit::knowledge::search(query, k).map_err(|e| PluginError::new("knowledge", e))
    }

    impl From<&Article> for Source {
        fn from(article: &Article) -> Source {
            Source {
                id: article.id.clone(),
                title: article.title.clone(),
                url: article.url.clone(),
            }
        }
    }
}

/// AI completions through the host (manifest: `capabilities.ai`). The host holds the keys,
/// redacts personal data and enforces the manifest's providers, models and budgets.
pub mod ai {
    use super::PluginError;
    pub use super::wit::ai::{
        AiError, ChatMessage, ChatRole, Completion, CompletionRequest, Usage,
    };

    /// Sends a completion request.
    pub fn complete(request: &CompletionRequest) -> Result<Completion, AiError> {
        super::wit::ai::complete(request)
    }

    /// One system instruction and one user input, the default provider and model; returns the
    /// answer text. Errors become a [`PluginError`] with code `ai-denied`, `ai-unavailable` or
    /// `ai-budget`, so `?` fails the call closed.
    pub fn ask(instruction: &str, input: &str, max_tokens: u32) -> Result<String, PluginError> {
        let request = CompletionRequest {
            provider: None,
            model: None,
            messages: vec![
                ChatMessage {
                    role: ChatRole::System,
                    content: instruction.to_owned(),
                },
                ChatMessage {
                    role: ChatRole::User,
                    content: input.to_owned(),
                },
            ],
            max_tokens,
        };
        complete(&request).map(|c| c.text).map_err(|e| match e {
            AiError::Denied(m) => PluginError::new("ai-denied", m),
            AiError::Unavailable(m) => PluginError::new("ai-unavailable", m),
            AiError::BudgetExceeded(m) => PluginError::new("ai-budget", m),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, Customer, HelpdeskKind, Priority, TicketStatus};

    fn message(role: AuthorRole, visibility: Visibility, body: &str) -> Message {
        Message {
            id: body.len().to_string(),
            author_role: role,
            author_name: None,
            visibility,
            body: body.into(),
            created_at: "2026-12-04T10:00:00Z".into(),
        }
    }

    fn ticket(messages: Vec<Message>) -> Ticket {
        Ticket {
            id: "1".into(),
            helpdesk: "acme".into(),
            helpdesk_kind: HelpdeskKind::Zendesk,
            subject: "Refund".into(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            tags: vec![],
            requester: Customer {
                id: "c".into(),
                name: None,
                email: None,
                locale: None,
            },
            channel: Channel::Email,
            messages,
        }
    }

    #[test]
    fn the_transcript_leaves_internal_notes_out_unless_asked() {
        let t = ticket(vec![
            message(
                AuthorRole::Customer,
                Visibility::Public,
                "Where is my refund?",
            ),
            message(
                AuthorRole::Agent,
                Visibility::Internal,
                "Fraud watchlist: no refund.",
            ),
            message(AuthorRole::Agent, Visibility::Public, "We are checking."),
        ]);
        assert_eq!(
            t.transcript(1_000),
            "Customer: Where is my refund?\nAgent: We are checking."
        );
        assert_eq!(
            t.transcript_with_internal_notes(1_000),
            "Customer: Where is my refund?\nInternal note (agent): Fraud watchlist: no refund.\nAgent: We are checking."
        );
        // The newest lines are kept when the transcript is cut.
        assert_eq!(t.transcript(30), "Agent: We are checking.");
    }

    #[test]
    fn customer_messages_are_public_ones_from_the_customer_side() {
        let t = ticket(vec![
            message(AuthorRole::Customer, Visibility::Public, "first"),
            message(
                AuthorRole::Customer,
                Visibility::Internal,
                "a side conversation",
            ),
            message(AuthorRole::Agent, Visibility::Public, "reply"),
        ]);
        let bodies: Vec<&str> = t.customer_messages().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["first"]);
        assert_eq!(
            t.last_customer_message().map(|m| m.body.as_str()),
            Some("first")
        );
    }
}
