//! The I/O-free core of Deskbridge: the normalized ticket model every connector produces and
//! every plugin receives, the actions plugins ask for, the approval requirements policy
//! plugins set on drafts, and the delivery gate ([`gate`]) that alone turns an approved text
//! into something a connector will send.
//!
//! Nothing here touches the network, the disk or the clock, so every rule in it is tested with
//! plain unit tests. Connectors, the plugin host and the server depend on this crate, never the
//! other way round.

pub mod action;
pub mod approval;
pub mod civil_time;
pub mod gate;
pub mod identity;
pub mod knowledge;
pub mod oversight;
pub mod redact;
pub mod review;
pub mod telemetry;
pub mod throttle;
pub mod ticket;
pub mod ticket_limits;
pub mod write_policy;

pub use action::{
    Action, DraftReply, Handover, OutputLimits, OutputViolation, apply_handover_rule,
};
pub use approval::{
    ApprovalRequirement, ApproverRole, Decision, Flag, Verdict, VerdictLimits, VerdictViolation,
    combine_verdicts,
};
pub use gate::{
    ApprovalRecord, ApprovedReply, GateDraft, GateRefusal, approve_for_delivery, text_sha256,
};
pub use identity::{
    BadPersonName, Role, UnknownRole, normalize_person, person_key, strongest_approver_role,
};
pub use knowledge::{
    KnowledgeDoc, KnowledgeError, KnowledgeHit, KnowledgeKind, KnowledgeSearch, NoKnowledge, Source,
};
pub use oversight::{DraftingSwitch, Pause, PauseScope};
pub use redact::{RedactionSummary, Redactor};
pub use throttle::{TokenBucket, backoff_delay};
pub use ticket::{
    AuthorRole, Channel, Customer, EventKind, HelpdeskKind, MALFORMED_MAIL_TAG, Message, Priority,
    Ticket, TicketEvent, TicketStatus, Visibility,
};
pub use ticket_limits::{Truncation, fit_to_limits, summarize as summarize_truncations};
pub use write_policy::{Suggestion, TagPattern, WritePolicy};
