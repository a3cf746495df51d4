//! The records the store keeps. They are serialized as JSON, so a store written by one
//! version can be read by the next as long as fields are only added with defaults.

use deskbridge_core::review::Review;
use deskbridge_core::{
    ApprovalRequirement, EventKind, Flag, HelpdeskKind, Priority, Role, Suggestion, TicketEvent,
};
use serde::{Deserialize, Serialize};

/// An event acknowledged to a helpdesk, waiting to be processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    /// The gateway's id for the event, derived from the helpdesk and the dedupe key so that a
    /// redelivery maps to the same id.
    pub id: String,
    /// What identifies a redelivery of the same event (invocation id, event id, body hash).
    pub dedupe_key: String,
    /// Name of the helpdesk instance in the config.
    pub helpdesk: String,
    /// Its kind.
    pub helpdesk_kind: HelpdeskKind,
    /// The helpdesk's ticket id.
    pub ticket_id: String,
    /// When the gateway received it, Unix milliseconds.
    pub received_at_ms: i64,
    /// What the webhook said.
    pub source: EventSource,
    /// The id of the HTTP request that delivered it (`X-Request-Id`), carried into the
    /// pipeline's and the outbox's log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// What an inbound event carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventSource {
    /// A Zendesk or Freshdesk notification: the ticket is fetched from the helpdesk's API
    /// rather than trusted from the body.
    Fetch {
        /// The event kind the payload names, if it names one; otherwise it is derived from the
        /// fetched thread.
        kind_hint: Option<EventKind>,
        /// The helpdesk's own name for the event (`zen:event-type:ticket.created`, a trigger
        /// name), for operators.
        origin: String,
    },
    /// A complete normalized event from the generic webhook.
    Normalized(Box<TicketEvent>),
}

/// An inbound event with the sequence number the store gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Position in arrival order.
    pub seq: u64,
    /// The event.
    pub event: InboundEvent,
}

/// Everything processing one event produced, recorded atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOutcome {
    /// The summary kept for operators.
    pub processed: ProcessedEvent,
    /// Writes to the helpdesk.
    pub outbox: Vec<OutboxItem>,
    /// Drafts for the approval queue.
    pub drafts: Vec<PendingDraft>,
    /// The newest message of the thread as processed: a later notification for the same
    /// thread state (a second trigger, our own note echoing back) is skipped.
    pub last_message_id: Option<String>,
}

/// One plugin's run on an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRun {
    /// Plugin id.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// Number of actions it returned (0 on failure).
    pub actions: usize,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Fuel it used.
    pub fuel_consumed: u64,
    /// Wall-clock time of the call, microseconds.
    pub elapsed_us: u64,
}

/// The record of a processed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessedEvent {
    /// Event id.
    pub event_id: String,
    /// Helpdesk instance.
    pub helpdesk: String,
    /// Ticket id.
    pub ticket_id: String,
    /// The event kind, once known.
    pub kind: Option<EventKind>,
    /// When processing finished, Unix milliseconds.
    pub completed_at_ms: i64,
    /// The plugins that ran.
    pub plugin_runs: Vec<PluginRun>,
    /// A handover a plugin asked for (drafts were then suppressed).
    pub handover: Option<String>,
    /// The plugin (and the model it used) that asked for the handover.
    #[serde(default)]
    pub handover_by: Option<DraftProvenance>,
    /// Why no plugin ran, when none did (nothing new in the thread, AI paused, …).
    pub skipped: Option<String>,
    /// Set when a plugin failed: the ticket is left for a human (fail closed).
    pub flagged: bool,
    /// Time AI providers took for this event, microseconds.
    #[serde(default)]
    pub ai_us: u64,
    /// What was cut to fit the ticket into the size limits (field and limit, never
    /// content); its drafts carry the `ticket-truncated` flag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// What plugins wanted to change that the helpdesk's write policy left to a human.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    /// What stood in the AI's way, by kind: `budget-exhausted` when a budget stopped a call
    /// (a plugin whose route had no free provider left then drafted nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ai_flags: Vec<String>,
}

/// An event the gateway gave up on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedEvent {
    /// The event.
    pub event: InboundEvent,
    /// Why.
    pub reason: String,
    /// When, Unix milliseconds.
    pub failed_at_ms: i64,
}

/// A write to a helpdesk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboxOp {
    /// A private note on the ticket.
    InternalNote {
        /// Its text (the reconciliation marker is added by the connector).
        body: String,
    },
    /// Tags to add.
    AddTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// A new priority.
    SetPriority {
        /// The priority.
        priority: Priority,
    },
    /// The customer-facing reply of an approved draft. It carries no text: the deliverer
    /// reads the draft and its approvals from the store and asks the gate, right before
    /// sending, for the one value a connector will send.
    PublicReply {
        /// The draft.
        draft_id: String,
    },
}

impl OutboxOp {
    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            OutboxOp::InternalNote { .. } => "internal_note",
            OutboxOp::AddTags { .. } => "add_tags",
            OutboxOp::SetPriority { .. } => "set_priority",
            OutboxOp::PublicReply { .. } => "public_reply",
        }
    }
}

/// Where an outbox item stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for (another) attempt.
    Pending,
    /// The helpdesk has it.
    Delivered {
        /// The helpdesk's id for what was written (comment or conversation id), if it gave one.
        receipt: Option<String>,
        /// When, Unix milliseconds.
        at_ms: i64,
        /// True when a read-back found an earlier attempt had already succeeded.
        reconciled: bool,
    },
    /// Given up; an operator must look.
    DeadLettered {
        /// Why.
        reason: String,
        /// When, Unix milliseconds.
        at_ms: i64,
    },
    /// Withdrawn by an admin before delivery (an approved reply held by the stop switch);
    /// never sent. Who and why are in the approval log and on the draft.
    Cancelled {
        /// When, Unix milliseconds.
        at_ms: i64,
    },
}

impl OutboxState {
    /// When the item reached a state it never leaves; `None` while pending.
    pub fn ended_at_ms(&self) -> Option<i64> {
        match self {
            OutboxState::Pending => None,
            OutboxState::Delivered { at_ms, .. }
            | OutboxState::DeadLettered { at_ms, .. }
            | OutboxState::Cancelled { at_ms } => Some(*at_ms),
        }
    }
}

/// One write to a helpdesk and its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Deterministic id (`{event id}.{plugin}.{n}`): reprocessing an event after a crash
    /// produces the same ids, so the marker-based read-back still recognises earlier writes.
    pub id: String,
    /// Helpdesk instance.
    pub helpdesk: String,
    /// Ticket id.
    pub ticket_id: String,
    /// The write.
    pub op: OutboxOp,
    /// Which plugin asked for it.
    pub plugin: String,
    /// The store sequence number of the event that produced it: items are delivered in event
    /// order, then by `position`.
    #[serde(default)]
    pub event_seq: u64,
    /// Its place among the event's items, in the order the plugins ran.
    #[serde(default)]
    pub position: u32,
    /// When the item was created, Unix milliseconds.
    pub created_at_ms: i64,
    /// Attempts made.
    pub attempts: u32,
    /// Earliest time of the next attempt, Unix milliseconds.
    pub next_attempt_at_ms: i64,
    /// True once an attempt may have reached the helpdesk without a clear answer (timeout,
    /// 5xx, dropped connection): the next attempt reads back first.
    pub maybe_applied: bool,
    /// The last failure, for operators.
    pub last_error: Option<String>,
    /// Where it stands.
    pub state: OutboxState,
    /// Since when the stop switch holds it (an approved reply of a paused scope), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_since_ms: Option<i64>,
    /// Time not counted against the retry horizon, milliseconds: spent held by the stop
    /// switch, or before an admin retried the item as a dead letter (the horizon restarts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held_ms: i64,
    /// The request id of the webhook whose event produced it (none for approved replies,
    /// which a decision produces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

impl OutboxItem {
    /// How long the item has been trying, held time excluded, at `now_ms`.
    pub fn trying_for_ms(&self, now_ms: i64) -> i64 {
        let held_now = self
            .held_since_ms
            .map_or(0, |since| now_ms.saturating_sub(since));
        now_ms
            .saturating_sub(self.created_at_ms)
            .saturating_sub(self.held_ms)
            .saturating_sub(held_now)
    }
}

/// A dead-lettered outbox item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The item, in its final state.
    pub item: OutboxItem,
}

/// Where a draft came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DraftProvenance {
    /// Plugin id.
    pub plugin_id: String,
    /// Plugin version.
    pub plugin_version: String,
    /// SHA-256 of the plugin's component, hex.
    pub wasm_sha256: String,
    /// Provider that wrote the text, if the plugin called one.
    pub provider: Option<String>,
    /// Model that wrote the text.
    pub model: Option<String>,
    /// The inbound event it answers.
    pub event_id: String,
    /// Personal values the host took out of the plugin's AI prompts for this event.
    #[serde(default)]
    pub redaction: deskbridge_core::RedactionSummary,
    /// The knowledge the draft cites (articles, macros, Markdown files), shown to the
    /// approver; each one a search of the plugin's call returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<deskbridge_core::Source>,
}

/// Messages of the thread kept with a draft as its context.
pub const CONTEXT_MESSAGES: usize = 10;

/// A draft's provenance and review without its text and ticket: what insights are computed
/// from, read without decoding the parts of a draft that make up most of its size.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DraftReview {
    /// The draft's id.
    pub id: String,
    /// Its helpdesk instance.
    pub helpdesk: String,
    /// Which plugin, version and model wrote it.
    pub provenance: DraftProvenance,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: i64,
    /// Its review (a record written before reviews existed reads as pending).
    #[serde(default)]
    pub review: Review,
}

impl DraftReview {
    /// The review part of a whole draft.
    pub fn of(draft: &PendingDraft) -> DraftReview {
        DraftReview {
            id: draft.id.clone(),
            helpdesk: draft.helpdesk.clone(),
            provenance: draft.provenance.clone(),
            created_at_ms: draft.created_at_ms,
            review: draft.review.clone(),
        }
    }
}

/// What listings filter, sort and page drafts by: a draft without its text and ticket, so a
/// listing reads whole drafts only for the page it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftHead {
    /// The draft's id.
    pub id: String,
    /// Its helpdesk instance.
    pub helpdesk: String,
    /// Its ticket.
    pub ticket_id: String,
    /// The plugin that wrote it.
    pub plugin_id: String,
    /// The codes of its flags.
    pub flags: Vec<String>,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: i64,
    /// Where its review stands.
    pub state: deskbridge_core::review::DraftState,
}

impl DraftHead {
    /// The head of a whole draft.
    pub fn of(draft: &PendingDraft) -> DraftHead {
        DraftHead {
            id: draft.id.clone(),
            helpdesk: draft.helpdesk.clone(),
            ticket_id: draft.ticket_id.clone(),
            plugin_id: draft.provenance.plugin_id.clone(),
            flags: draft.flags.iter().map(|f| f.code.clone()).collect(),
            created_at_ms: draft.created_at_ms,
            state: draft.review.state.clone(),
        }
    }
}

/// A draft reply waiting for a human. Nothing here is ever sent without an approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingDraft {
    /// Deterministic id (`{event id}.{plugin}.{n}`).
    pub id: String,
    /// Helpdesk instance.
    pub helpdesk: String,
    /// Ticket id.
    pub ticket_id: String,
    /// The proposed text.
    pub body: String,
    /// The plugin's rationale.
    pub rationale: String,
    /// The plugin's confidence, 0 to 1.
    pub confidence: f32,
    /// Where it came from.
    pub provenance: DraftProvenance,
    /// What approval it needs (never looser than one agent).
    pub requirement: ApprovalRequirement,
    /// Set when a policy blocked it: it is kept for the record but cannot be approved.
    pub blocked: Option<String>,
    /// Notes for the approver.
    pub flags: Vec<Flag>,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: i64,
    /// The helpdesk's AI-disclosure line appended to `body` when the draft was made.
    #[serde(default)]
    pub ai_disclosure: Option<String>,
    /// The ticket as the plugin saw it (its newest [`CONTEXT_MESSAGES`] messages), for the
    /// person who reviews the draft.
    #[serde(default)]
    pub context: Option<deskbridge_core::Ticket>,
    /// Decisions so far (version, state, edits, approvals).
    #[serde(default)]
    pub review: Review,
    /// Outbox ids of the internal notes (summaries) plugins wrote for the same event, shown
    /// with the draft.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What plugins wanted to change on the ticket that the helpdesk's write policy left to
    /// the person who reviews this draft.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
}

/// An API token as stored: never the token itself, only who it speaks for. Keyed in the store
/// by the SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// A short public id (to list and revoke it), not secret.
    pub id: String,
    /// The person the token belongs to: every decision records this name.
    pub person: String,
    /// What the token may do.
    pub roles: Vec<Role>,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

impl PendingDraft {
    /// The facts review decisions and the delivery gate need, with the review closing
    /// `draft_expiry` after the draft was made (`None`: it never closes).
    pub fn facts(
        &self,
        draft_expiry: Option<std::time::Duration>,
    ) -> deskbridge_core::review::DraftFacts<'_> {
        deskbridge_core::review::DraftFacts {
            id: &self.id,
            helpdesk: &self.helpdesk,
            ticket_id: &self.ticket_id,
            body: &self.body,
            requirement: self.requirement,
            blocked: self.blocked.as_deref(),
            expires_at_ms: draft_expiry.map(|expiry| {
                self.created_at_ms
                    .saturating_add(i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX))
            }),
        }
    }

    /// The text under review: the agent's edit, or the AI's.
    pub fn text(&self) -> &str {
        self.review.edited_text.as_deref().unwrap_or(&self.body)
    }
}

impl OutboxItem {
    /// The outbox item that delivers an approved draft's reply. Its id is derived from the
    /// draft's, so queuing it twice (after a crash, at start-up) queues it once.
    pub fn public_reply(draft: &PendingDraft, now_ms: i64) -> OutboxItem {
        OutboxItem {
            id: format!("{}.reply", draft.id),
            helpdesk: draft.helpdesk.clone(),
            ticket_id: draft.ticket_id.clone(),
            op: OutboxOp::PublicReply {
                draft_id: draft.id.clone(),
            },
            plugin: draft.provenance.plugin_id.clone(),
            // After every event's own items: a reply is approved later than they were made.
            event_seq: u64::MAX,
            position: 0,
            created_at_ms: now_ms,
            attempts: 0,
            next_attempt_at_ms: 0,
            maybe_applied: false,
            last_error: None,
            state: OutboxState::Pending,
            held_since_ms: None,
            held_ms: 0,
            request_id: None,
        }
    }
}
