//! The WIT contract versions this host speaks, one module per released version (like Zed's
//! extension host): bindings generated from `sdk/wit/vX.Y.Z` plus conversions between the
//! contract's records and the core model. A new version gets a new module; plugins built
//! against an older one keep loading, through their own bindings.
//!
//! The records both versions share are converted by the same code: [`shared_conversions`]
//! expands in each version's module against its own generated `wit` types.

pub(crate) mod v0_1;
pub(crate) mod v0_2;

/// The conversions of the records every contract version has in the same shape: events,
/// tickets, messages, priorities, actions (drafts through the module's own `draft_from_wit`)
/// and verdicts. Expanded inside a version module, where `wit` names its generated types and
/// `core` the core model.
macro_rules! shared_conversions {
    () => {
        /// The event as the plugin sees it; `internal_messages` says whether its manifest grants
        /// agents' internal notes (otherwise they are left out of the thread).
        pub(crate) fn event_to_wit(
            event: &core::TicketEvent,
            internal_messages: bool,
        ) -> wit::TicketEvent {
            wit::TicketEvent {
                id: event.id.clone(),
                kind: match event.kind {
                    core::EventKind::TicketCreated => wit::EventKind::TicketCreated,
                    core::EventKind::CustomerMessageAdded => wit::EventKind::CustomerMessageAdded,
                    core::EventKind::AgentMessageAdded => wit::EventKind::AgentMessageAdded,
                },
                occurred_at: event.occurred_at.clone(),
                ticket: ticket_to_wit(&event.ticket, internal_messages),
            }
        }

        /// The ticket as the plugin sees it: without internal messages unless `internal_messages`.
        pub(crate) fn ticket_to_wit(t: &core::Ticket, internal_messages: bool) -> wit::Ticket {
            wit::Ticket {
                id: t.id.clone(),
                helpdesk: t.helpdesk.clone(),
                helpdesk_kind: match t.helpdesk_kind {
                    core::HelpdeskKind::Zendesk => wit::HelpdeskKind::Zendesk,
                    core::HelpdeskKind::Freshdesk => wit::HelpdeskKind::Freshdesk,
                    core::HelpdeskKind::Email => wit::HelpdeskKind::Email,
                    core::HelpdeskKind::Generic => wit::HelpdeskKind::Generic,
                },
                subject: t.subject.clone(),
                status: match t.status {
                    core::TicketStatus::New => wit::TicketStatus::New,
                    core::TicketStatus::Open => wit::TicketStatus::Open,
                    core::TicketStatus::Pending => wit::TicketStatus::Pending,
                    core::TicketStatus::OnHold => wit::TicketStatus::OnHold,
                    core::TicketStatus::Solved => wit::TicketStatus::Solved,
                    core::TicketStatus::Closed => wit::TicketStatus::Closed,
                },
                priority: priority_to_wit(t.priority),
                tags: t.tags.clone(),
                requester: wit::Customer {
                    id: t.requester.id.clone(),
                    name: t.requester.name.clone(),
                    email: t.requester.email.clone(),
                    locale: t.requester.locale.clone(),
                },
                channel: match t.channel {
                    core::Channel::Email => wit::Channel::Email,
                    core::Channel::Web => wit::Channel::Web,
                    core::Channel::Chat => wit::Channel::Chat,
                    core::Channel::Phone => wit::Channel::Phone,
                    core::Channel::Api => wit::Channel::Api,
                    core::Channel::Social => wit::Channel::Social,
                    core::Channel::Other => wit::Channel::Other,
                },
                messages: t
                    .messages
                    .iter()
                    .filter(|m| internal_messages || m.visibility == core::Visibility::Public)
                    .map(message_to_wit)
                    .collect(),
            }
        }

        fn message_to_wit(m: &core::Message) -> wit::Message {
            wit::Message {
                id: m.id.clone(),
                author_role: match m.author_role {
                    core::AuthorRole::Customer => wit::AuthorRole::Customer,
                    core::AuthorRole::Agent => wit::AuthorRole::Agent,
                    core::AuthorRole::Bot => wit::AuthorRole::Bot,
                    core::AuthorRole::System => wit::AuthorRole::System,
                },
                author_name: m.author_name.clone(),
                visibility: match m.visibility {
                    core::Visibility::Public => wit::Visibility::Public,
                    core::Visibility::Internal => wit::Visibility::Internal,
                },
                body: m.body.clone(),
                created_at: m.created_at.clone(),
            }
        }

        fn priority_to_wit(p: core::Priority) -> wit::Priority {
            match p {
                core::Priority::Low => wit::Priority::Low,
                core::Priority::Normal => wit::Priority::Normal,
                core::Priority::High => wit::Priority::High,
                core::Priority::Urgent => wit::Priority::Urgent,
            }
        }

        fn priority_from_wit(p: wit::Priority) -> core::Priority {
            match p {
                wit::Priority::Low => core::Priority::Low,
                wit::Priority::Normal => core::Priority::Normal,
                wit::Priority::High => core::Priority::High,
                wit::Priority::Urgent => core::Priority::Urgent,
            }
        }

        pub(crate) fn action_from_wit(a: wit::Action) -> core::Action {
            match a {
                wit::Action::InternalNote(body) => core::Action::InternalNote { body },
                wit::Action::DraftReply(d) => core::Action::DraftReply(draft_from_wit(d)),
                wit::Action::AddTags(tags) => core::Action::AddTags { tags },
                wit::Action::SetPriority(p) => core::Action::SetPriority {
                    priority: priority_from_wit(p),
                },
                wit::Action::HandOver(h) => {
                    core::Action::HandOver(core::Handover { reason: h.reason })
                }
            }
        }

        pub(crate) fn verdict_from_wit(v: wit::Verdict) -> core::Verdict {
            let decision = match v.decision {
                wit::Decision::RequireApproval(r) => {
                    core::Decision::RequireApproval(core::ApprovalRequirement {
                        role: match r.role {
                            wit::ApproverRole::Agent => core::ApproverRole::Agent,
                            wit::ApproverRole::Supervisor => core::ApproverRole::Supervisor,
                        },
                        approvers: r.approvers,
                    })
                }
                wit::Decision::Block(reason) => core::Decision::Block { reason },
            };
            core::Verdict {
                decision,
                flags: v
                    .flags
                    .into_iter()
                    .map(|f| core::Flag {
                        code: f.code,
                        message: f.message,
                    })
                    .collect(),
            }
        }
    };
}
pub(crate) use shared_conversions;
