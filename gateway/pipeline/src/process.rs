//! Processing one event: fetch the ticket, decide whether there is anything new, run the
//! plugins, review drafts, and record the outcome atomically.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_connectors::ApiError;
use deskbridge_core::{
    Action, AuthorRole, Decision, EventKind, Flag, RedactionSummary, Suggestion, Ticket,
    TicketEvent, Verdict, combine_verdicts, fit_to_limits, summarize_truncations,
};
use deskbridge_plugin_host::{CallScope, LoadedPlugin, ValidatedEvent};
use deskbridge_store::records::{CONTEXT_MESSAGES, EventSource, PluginRun};
use deskbridge_store::{
    DraftProvenance, EventOutcome, OutboxItem, OutboxOp, OutboxState, PendingDraft, ProcessedEvent,
    Store, StoredEvent,
};
use tokio::sync::Notify;

use crate::helpdesk::{HelpdeskRuntime, Helpdesks};
use crate::lanes::Queued;
use crate::{PipelineSettings, backoff, journal, now_ms};

/// The tag added to a ticket a plugin handed over to a human.
pub(crate) const HANDOVER_TAG: &str = "deskbridge-handover";

pub(crate) struct Worker {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) helpdesks: Arc<Helpdesks>,
    pub(crate) settings: Arc<PipelineSettings>,
    pub(crate) outbox_wake: Arc<Notify>,
    pub(crate) metrics: Arc<crate::metrics::PipelineMetrics>,
}

/// One action with the plugin that returned it, the provider/model it last used, and what
/// the host redacted from its prompts.
struct PluginAction {
    plugin: Arc<LoadedPlugin>,
    model: Option<(String, String)>,
    redaction: RedactionSummary,
    action: Action,
}

/// Why an event ends without plugin output.
enum Stop {
    /// Nothing to do; recorded as processed with this reason.
    Skip(String),
    /// Cannot be processed; recorded as failed with this reason.
    Fail(String),
}

impl Worker {
    pub(crate) async fn process(&self, queued: Queued) {
        use tracing::Instrument as _;
        // Every line logged while the event is processed carries the id of the webhook
        // request that delivered it.
        let span = tracing::info_span!(
            "event",
            request_id = queued.event.event.request_id.as_deref().unwrap_or("")
        );
        self.process_in_span(queued).instrument(span).await;
    }

    async fn process_in_span(&self, queued: Queued) {
        let StoredEvent { seq, event } = queued.event;
        let started = std::time::Instant::now();
        // Acknowledged by this process: a generic event's body was validated at ingest.
        let validated_at_ingest = queued.acknowledged.is_some();
        let outcome = match self.outcome(seq, &event, validated_at_ingest).await {
            Ok(outcome) => outcome,
            Err(Stop::Skip(reason)) => EventOutcome {
                processed: ProcessedEvent {
                    event_id: event.id.clone(),
                    helpdesk: event.helpdesk.clone(),
                    ticket_id: event.ticket_id.clone(),
                    kind: None,
                    completed_at_ms: now_ms(),
                    plugin_runs: Vec::new(),
                    handover: None,
                    handover_by: None,
                    skipped: Some(reason),
                    flagged: false,
                    ai_us: 0,
                    truncated: Vec::new(),
                    suggestions: Vec::new(),
                    ai_flags: Vec::new(),
                },
                outbox: Vec::new(),
                drafts: Vec::new(),
                last_message_id: None,
            },
            Err(Stop::Fail(reason)) => {
                tracing::warn!(event = %event.id, helpdesk = %event.helpdesk, ticket = %event.ticket_id, %reason, "event given up");
                if let Err(e) = self.store.fail_event(seq, &reason, now_ms()) {
                    tracing::error!(event = %event.id, error = %e, "cannot record the failed event; it stays pending");
                }
                return;
            }
        };
        let notes = outcome.outbox.len();
        let drafts = outcome.drafts.len();
        // On record before visible: each draft's `draft.created` entry is written to the log
        // file before the draft reaches the store, so a process crash cannot lose it. It is
        // not waited for on disk here (an fdatasync per event would cost the pipeline ~35 ms
        // p99 at 1,000 events/s); the log's timer syncs within 250 ms, and every decision is
        // appended durably, which syncs the earlier creation entry first.
        if let Some(audit) = &self.settings.audit
            && drafts > 0
        {
            let written = outcome
                .drafts
                .iter()
                .try_for_each(|draft| audit.append(journal::draft_created(draft)).map(drop));
            if let Err(e) = written {
                tracing::error!(event = %event.id, error = %e, "cannot log the event's drafts; it stays pending");
                return;
            }
        }
        if let Err(e) = self.store.complete_event(seq, &outcome) {
            // The event stays pending and is processed again after a restart; outbox ids are
            // deterministic, so nothing is written twice.
            tracing::error!(event = %event.id, error = %e, "cannot record the event's outcome");
            return;
        }
        // No flush here: should a crash undo this write, the event is still pending and is
        // processed again into the same deterministic outbox ids; and the outbox flushes
        // (write-ahead) before it sends anything, which makes this write durable first.
        if notes > 0 {
            self.outbox_wake.notify_one();
        }
        if let Some(at) = queued.acknowledged {
            let ai = Duration::from_micros(outcome.processed.ai_us);
            self.metrics.record(at.elapsed(), ai);
            deskbridge_core::telemetry::telemetry().observe(
                "deskbridge_pipeline_latency_seconds",
                &[],
                at.elapsed().as_secs_f64(),
            );
        }
        tracing::info!(
            event = %event.id,
            helpdesk = %event.helpdesk,
            ticket = %event.ticket_id,
            outbox = notes,
            drafts,
            skipped = outcome.processed.skipped.as_deref().unwrap_or(""),
            flagged = outcome.processed.flagged,
            elapsed_ms = started.elapsed().as_millis() as u64,
            since_ack_ms = queued.acknowledged.map(|at| at.elapsed().as_millis() as u64),
            "event processed"
        );
    }

    async fn outcome(
        &self,
        seq: u64,
        event: &deskbridge_store::InboundEvent,
        validated_at_ingest: bool,
    ) -> Result<EventOutcome, Stop> {
        let helpdesk = self.helpdesks.get(&event.helpdesk).ok_or_else(|| {
            Stop::Fail(format!(
                "helpdesk `{}` is no longer configured",
                event.helpdesk
            ))
        })?;
        // The stop switch: the ticket reaches humans exactly as the helpdesk delivered it.
        if let Some(scope) = self.settings.switch.helpdesk_paused(&helpdesk.name) {
            return Err(Stop::Skip(format!("AI drafting is paused ({scope})")));
        }
        // Whether the ticket is known valid: a fetched one never is (the helpdesk's API is
        // input), nor an event replayed from disk after a restart.
        let (mut ticket, kind_hint, ticket_validated) = match &event.source {
            EventSource::Normalized(normalized) => (
                normalized.ticket.clone(),
                Some(normalized.kind),
                validated_at_ingest,
            ),
            EventSource::Fetch { kind_hint, .. } => (
                self.fetch(helpdesk, &event.ticket_id, event.received_at_ms)
                    .await?,
                *kind_hint,
                false,
            ),
        };
        // A helpdesk may hold more than the schema takes (a 70 kB message, 1,001 messages):
        // such a ticket is cut to the limits and its drafts flagged, rather than left without
        // AI help. What was cut is described by field and limit, never by content.
        let truncated: Vec<String> = if ticket_validated {
            Vec::new()
        } else {
            summarize_truncations(&fit_to_limits(&mut ticket))
        };
        let newest = ticket
            .messages
            .last()
            .ok_or_else(|| Stop::Skip("the thread is empty".into()))?;
        if newest.author_role == AuthorRole::Bot {
            return Err(Stop::Skip("the newest message is Deskbridge's own".into()));
        }
        let cursor = self
            .store
            .last_message_id(&helpdesk.name, &ticket.id)
            .map_err(|e| Stop::Fail(format!("store: {e}")))?;
        if cursor.as_deref() == Some(newest.id.as_str()) {
            return Err(Stop::Skip(format!(
                "message {} was processed already",
                newest.id
            )));
        }
        let kind = kind_hint.unwrap_or_else(|| derive_kind(&ticket));
        let last_message_id = Some(newest.id.clone());
        let occurred_at = newest.created_at.clone();
        let envelope = TicketEvent {
            id: event.id.clone(),
            kind,
            occurred_at,
            ticket,
        };
        let validated = if ticket_validated {
            ValidatedEvent::with_envelope_of_validated_ticket(envelope)
        } else {
            ValidatedEvent::validate(envelope)
        }
        .map_err(|e| Stop::Fail(format!("the ticket does not form a valid event: {e}")))?;

        let mut runs = Vec::new();
        let mut actions: Vec<PluginAction> = Vec::new();
        let mut flagged = false;
        let mut ai_us = 0u64;
        let mut ai_flags: Vec<String> = Vec::new();
        let switch = &self.settings.switch;
        for plugin in helpdesk
            .plugins
            .iter()
            .filter(|p| p.manifest().handles(kind))
            .filter(|p| switch.paused(&helpdesk.name, p.id()).is_none())
        {
            let scope = CallScope {
                helpdesk: Some(&helpdesk.name),
            };
            match plugin.handle_event_for(&validated, scope).await {
                Ok(report) => {
                    ai_us += report.ai_calls.iter().map(|c| c.elapsed_us).sum::<u64>();
                    note_ai_flags(&mut ai_flags, &report.ai_calls);
                    let model = report
                        .ai_calls
                        .iter()
                        .rev()
                        .find(|c| c.error.is_none())
                        .map(|c| (c.provider.clone(), c.model.clone()));
                    runs.push(run(
                        plugin,
                        report.output.len(),
                        None,
                        report.fuel_consumed,
                        report.elapsed,
                    ));
                    let mut redaction = RedactionSummary::default();
                    for call in &report.ai_calls {
                        redaction.add(&call.redacted);
                    }
                    actions.extend(report.output.into_iter().map(|action| PluginAction {
                        plugin: plugin.clone(),
                        model: model.clone(),
                        redaction,
                        action,
                    }));
                }
                Err(failure) => {
                    ai_us += failure.ai_calls.iter().map(|c| c.elapsed_us).sum::<u64>();
                    note_ai_flags(&mut ai_flags, &failure.ai_calls);
                    flagged = true;
                    tracing::warn!(plugin = plugin.id(), event = %event.id, error = %failure.error, "plugin failed; its output is dropped");
                    runs.push(run(
                        plugin,
                        0,
                        Some(failure.error.to_string()),
                        failure.fuel_consumed,
                        failure.elapsed,
                    ));
                }
            }
        }

        let handover = actions.iter().find_map(|a| match &a.action {
            Action::HandOver(h) => Some(h.reason.clone()),
            _ => None,
        });
        let handover_by = actions.iter().find_map(|a| match &a.action {
            Action::HandOver(_) => Some(provenance(
                &a.plugin,
                a.model.clone(),
                a.redaction,
                &event.id,
                Vec::new(),
            )),
            _ => None,
        });
        // Drafts need every policy plugin's review; a paused one reviews nothing.
        let paused_policy = helpdesk
            .policies
            .iter()
            .find_map(|p| switch.paused(&helpdesk.name, p.id()));
        let ticket = validated.event().ticket.clone();
        let mut outbox = Vec::new();
        let mut drafts: Vec<PendingDraft> = Vec::new();
        let mut suggestions: Vec<Suggestion> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let policy = &helpdesk.write_policy;
        let mut counters: std::collections::HashMap<String, usize> = Default::default();
        let mut items = NewItems {
            helpdesk,
            ticket_id: &ticket.id,
            seq,
            created_at_ms: now_ms(),
            position: 0,
            request_id: event.request_id.as_deref(),
        };
        for PluginAction {
            plugin,
            model,
            redaction,
            action,
        } in actions
        {
            let n = counters.entry(plugin.id().to_owned()).or_default();
            let id = format!("{}.{}.{}", event.id, plugin.id(), n);
            *n += 1;
            let mut item = |op: OutboxOp, id: String| items.item(id, plugin.id(), op);
            match action {
                Action::InternalNote { body } => {
                    notes.push(id.clone());
                    outbox.push(item(OutboxOp::InternalNote { body }, id))
                }
                // Tags and priority are customer-visible through helpdesk triggers: written
                // only as the helpdesk's write policy allows, suggested to a human otherwise.
                Action::AddTags { tags } => {
                    let (allowed, suggestion) = policy.split_tags(plugin.id(), tags);
                    suggestions.extend(suggestion);
                    if !allowed.is_empty() {
                        outbox.push(item(OutboxOp::AddTags { tags: allowed }, id));
                    }
                }
                Action::SetPriority { priority } => {
                    match policy.check_priority(plugin.id(), priority) {
                        Ok(priority) => {
                            outbox.push(item(OutboxOp::SetPriority { priority }, id));
                        }
                        Err(suggestion) => suggestions.push(suggestion),
                    }
                }
                Action::HandOver(h) => {
                    outbox.push(item(
                        OutboxOp::InternalNote {
                            body: format!("Handed over to a human agent: {}", h.reason),
                        },
                        id.clone(),
                    ));
                    let (allowed, suggestion) =
                        policy.split_tags(plugin.id(), vec![HANDOVER_TAG.to_owned()]);
                    suggestions.extend(suggestion);
                    if !allowed.is_empty() {
                        outbox.push(item(
                            OutboxOp::AddTags { tags: allowed },
                            format!("{id}.tag"),
                        ));
                    }
                }
                // The customers-can-always-reach-a-human rule: a handover drops AI drafts.
                Action::DraftReply(_) if handover.is_some() => {}
                Action::DraftReply(_) if paused_policy.is_some() => {
                    tracing::info!(event = %event.id, plugin = plugin.id(), "draft dropped: a policy plugin is paused");
                }
                Action::DraftReply(draft) => {
                    match review(helpdesk, &ticket, &draft, plugin.id()).await {
                        Ok(verdict) => {
                            let (requirement, blocked) = match verdict.decision {
                                Decision::RequireApproval(r) => (r, None),
                                Decision::Block { reason } => {
                                    (deskbridge_core::ApprovalRequirement::BASELINE, Some(reason))
                                }
                            };
                            // The disclosure is part of the text agents read and approve.
                            let body = match &helpdesk.ai_disclosure {
                                Some(line) => format!("{}\n\n{line}", draft.body.trim_end()),
                                None => draft.body,
                            };
                            let mut flags = verdict.flags;
                            if plugin.manifest().capabilities.internal_messages {
                                flags.push(Flag {
                                    code: "reads-internal-notes".into(),
                                    message: "The plugin that wrote this draft may read agents' internal notes (capabilities.internal_messages): check that the reply reveals none of them.".into(),
                                });
                            }
                            if !truncated.is_empty() {
                                flags.push(Flag {
                                    code: "ticket-truncated".into(),
                                    message: format!(
                                        "The ticket was larger than Deskbridge reads, so the AI saw only part of it ({}). Read the whole ticket in the helpdesk before approving.",
                                        truncated.join("; ")
                                    ),
                                });
                            }
                            if ticket
                                .tags
                                .iter()
                                .any(|t| t == deskbridge_core::MALFORMED_MAIL_TAG)
                            {
                                flags.push(Flag {
                                    code: "malformed-mail".into(),
                                    message: "This ticket holds mail that was not valid MIME: the AI saw what could be read of it. Read the thread before approving.".into(),
                                });
                            }
                            drafts.push(PendingDraft {
                                id,
                                helpdesk: helpdesk.name.clone(),
                                ticket_id: ticket.id.clone(),
                                body,
                                rationale: draft.rationale,
                                confidence: draft.confidence,
                                provenance: provenance(
                                    &plugin,
                                    model,
                                    redaction,
                                    &event.id,
                                    draft.sources,
                                ),
                                requirement,
                                blocked,
                                flags,
                                created_at_ms: now_ms(),
                                ai_disclosure: helpdesk.ai_disclosure.clone(),
                                context: Some(context(&ticket)),
                                notes: Vec::new(),
                                suggestions: Vec::new(),
                                review: Default::default(),
                            });
                        }
                        Err(reason) => {
                            // Fail closed: no review, no draft.
                            flagged = true;
                            tracing::warn!(event = %event.id, plugin = plugin.id(), %reason, "draft dropped");
                            runs.push(PluginRun {
                                plugin: format!("{} (draft review)", plugin.id()),
                                version: plugin.manifest().version.clone(),
                                actions: 0,
                                error: Some(reason),
                                fuel_consumed: 0,
                                elapsed_us: 0,
                            });
                        }
                    }
                }
            }
        }
        // Every draft shows the event's summary notes and the suggestions left to a human;
        // without a draft, the suggestions reach agents as one private note.
        for draft in &mut drafts {
            draft.notes.clone_from(&notes);
            draft.suggestions.clone_from(&suggestions);
        }
        if drafts.is_empty() && !suggestions.is_empty() {
            let lines: Vec<String> = suggestions
                .iter()
                .map(|s| format!("- {}", s.describe()))
                .collect();
            outbox.push(items.item(
                format!("{}.suggestions", event.id),
                "deskbridge",
                OutboxOp::InternalNote {
                    body: format!(
                        "Deskbridge plugins suggest changes this helpdesk leaves to people (plugins may make {}):\n{}",
                        policy.describe(),
                        lines.join("\n")
                    ),
                },
            ));
        }
        Ok(EventOutcome {
            processed: ProcessedEvent {
                event_id: event.id.clone(),
                helpdesk: helpdesk.name.clone(),
                ticket_id: ticket.id.clone(),
                kind: Some(kind),
                completed_at_ms: now_ms(),
                plugin_runs: runs,
                handover,
                handover_by,
                skipped: None,
                flagged,
                ai_us,
                truncated,
                suggestions,
                ai_flags,
            },
            outbox,
            drafts,
            last_message_id,
        })
    }

    /// Fetches the ticket, retrying transient failures with backoff until the event's horizon.
    async fn fetch(
        &self,
        helpdesk: &HelpdeskRuntime,
        ticket_id: &str,
        received_at_ms: i64,
    ) -> Result<Ticket, Stop> {
        let client = helpdesk.client.as_ref().ok_or_else(|| {
            Stop::Fail(format!(
                "helpdesk `{}` has no API to fetch tickets from",
                helpdesk.name
            ))
        })?;
        let horizon =
            i64::try_from(self.settings.event_give_up_after.as_millis()).unwrap_or(i64::MAX);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let error = match client.fetch_ticket(ticket_id).await {
                Ok(fetched) => return Ok(fetched.ticket),
                Err(ApiError::Permanent { reason, .. }) => {
                    return Err(Stop::Fail(format!("fetching ticket {ticket_id}: {reason}")));
                }
                Err(e) => e,
            };
            if now_ms() - received_at_ms > horizon {
                return Err(Stop::Fail(format!(
                    "fetching ticket {ticket_id} kept failing for {}s: {error}",
                    horizon / 1000
                )));
            }
            let wait = match &error {
                ApiError::RateLimited {
                    retry_after: Some(after),
                } => *after,
                _ => backoff::delay(
                    attempt,
                    self.settings.base_backoff,
                    self.settings.max_backoff,
                ),
            };
            tracing::info!(helpdesk = %helpdesk.name, ticket = ticket_id, %error, retry_in_ms = wait.as_millis() as u64, "fetch failed; retrying");
            // Never sleep past the event's horizon, whatever a Retry-After said.
            let left = horizon.saturating_sub(now_ms() - received_at_ms).max(1);
            let wait = wait.min(Duration::from_millis(u64::try_from(left).unwrap_or(1)));
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }
}

/// Makes an event's outbox items: in its helpdesk, for its ticket, numbered in the order the
/// plugins produced them.
struct NewItems<'a> {
    helpdesk: &'a HelpdeskRuntime,
    ticket_id: &'a str,
    seq: u64,
    created_at_ms: i64,
    position: u32,
    request_id: Option<&'a str>,
}

impl NewItems<'_> {
    fn item(&mut self, id: String, plugin: &str, op: OutboxOp) -> OutboxItem {
        self.position += 1;
        OutboxItem {
            id,
            helpdesk: self.helpdesk.name.clone(),
            ticket_id: self.ticket_id.to_owned(),
            op,
            plugin: plugin.to_owned(),
            event_seq: self.seq,
            position: self.position,
            created_at_ms: self.created_at_ms,
            attempts: 0,
            next_attempt_at_ms: 0,
            maybe_applied: false,
            last_error: None,
            // A helpdesk without an API (generic) cannot take writes: the item is kept,
            // dead-lettered from the start, so operators see what was not delivered.
            state: if self.helpdesk.client.is_some() {
                OutboxState::Pending
            } else {
                OutboxState::DeadLettered {
                    reason: "this helpdesk has no API to deliver to (generic helpdesks receive no writes yet)".into(),
                    at_ms: now_ms(),
                }
            },
            held_since_ms: None,
            held_ms: 0,
            request_id: self.request_id.map(str::to_owned),
        }
    }
}

/// The ticket kept with a draft: everything but the older messages.
fn context(ticket: &Ticket) -> Ticket {
    let mut context = ticket.clone();
    let keep = context.messages.len().saturating_sub(CONTEXT_MESSAGES);
    context.messages.drain(..keep);
    context
}

fn provenance(
    plugin: &LoadedPlugin,
    model: Option<(String, String)>,
    redaction: RedactionSummary,
    event_id: &str,
    sources: Vec<deskbridge_core::Source>,
) -> DraftProvenance {
    let (provider, model) = model.unzip();
    DraftProvenance {
        plugin_id: plugin.id().to_owned(),
        plugin_version: plugin.manifest().version.clone(),
        wasm_sha256: plugin.wasm_sha256().to_owned(),
        provider,
        model,
        event_id: event_id.to_owned(),
        redaction,
        sources,
    }
}

fn run(
    plugin: &LoadedPlugin,
    actions: usize,
    error: Option<String>,
    fuel_consumed: u64,
    elapsed: Duration,
) -> PluginRun {
    PluginRun {
        plugin: plugin.id().to_owned(),
        version: plugin.manifest().version.clone(),
        actions,
        error,
        fuel_consumed,
        elapsed_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
    }
}

/// What happened, judged from the thread: one customer message is a new ticket; otherwise the
/// newest message's author decides.
fn derive_kind(ticket: &Ticket) -> EventKind {
    match ticket.messages.last().map(|m| m.author_role) {
        Some(AuthorRole::Customer) if ticket.messages.len() == 1 => EventKind::TicketCreated,
        Some(AuthorRole::Customer) => EventKind::CustomerMessageAdded,
        _ => EventKind::AgentMessageAdded,
    }
}

/// Notes on the event what stood in the AI's way that operators must see (a spent budget).
fn note_ai_flags(flags: &mut Vec<String>, calls: &[deskbridge_plugin_host::AiCall]) {
    for kind in calls.iter().filter_map(|c| c.error_kind) {
        if kind == "budget-exhausted" && !flags.iter().any(|f| f == kind) {
            flags.push(kind.to_owned());
        }
    }
}

/// Every policy plugin reviews the draft; any failure drops it (fail closed).
async fn review(
    helpdesk: &HelpdeskRuntime,
    ticket: &Ticket,
    draft: &deskbridge_core::DraftReply,
    author: &str,
) -> Result<Verdict, String> {
    let mut verdicts = Vec::with_capacity(helpdesk.policies.len());
    let scope = CallScope {
        helpdesk: Some(&helpdesk.name),
    };
    for policy in &helpdesk.policies {
        match policy.review_draft_for(ticket, draft, author, scope).await {
            Ok(report) => verdicts.push(report.output),
            Err(failure) => {
                return Err(format!(
                    "policy `{}` failed: {}",
                    policy.id(),
                    failure.error
                ));
            }
        }
    }
    Ok(combine_verdicts(&verdicts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbridge_core::{
        Channel, Customer, HelpdeskKind, Message, Priority, TicketStatus, Visibility,
    };

    fn ticket(roles: &[AuthorRole]) -> Ticket {
        Ticket {
            id: "1".into(),
            helpdesk: "h".into(),
            helpdesk_kind: HelpdeskKind::Zendesk,
            subject: "s".into(),
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
            messages: roles
                .iter()
                .enumerate()
                .map(|(i, role)| Message {
                    id: i.to_string(),
                    author_role: *role,
                    author_name: None,
                    visibility: Visibility::Public,
                    body: "b".into(),
                    created_at: "2026-11-26T00:00:00Z".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_thread_decides_the_event_kind() {
        use AuthorRole::*;
        assert_eq!(derive_kind(&ticket(&[Customer])), EventKind::TicketCreated);
        assert_eq!(
            derive_kind(&ticket(&[Customer, Agent, Customer])),
            EventKind::CustomerMessageAdded
        );
        assert_eq!(
            derive_kind(&ticket(&[Customer, Agent])),
            EventKind::AgentMessageAdded
        );
    }
}
