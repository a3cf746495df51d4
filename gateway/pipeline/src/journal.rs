//! What the pipeline writes to the approval log about drafts: `draft.created` (before a draft
//! becomes visible to anyone), `draft.expired`, `reply.sending` (before each send),
//! `reply.delivered` and `reply.cancelled` — and `personal.erased`, which the API and the CLI
//! share. Public facts go in `data`; names go in `personal`, where only salted commitments
//! reach the tree.

use std::sync::Arc;

use deskbridge_audit::{AuditError, AuditLog, NewEntry};
use deskbridge_core::{ApprovedReply, ApproverRole, person_key, text_sha256};
use deskbridge_store::PendingDraft;
use serde_json::{Map, Value};

/// The approval-log name of an approver role.
pub fn role_name(role: ApproverRole) -> &'static str {
    match role {
        ApproverRole::Agent => "agent",
        ApproverRole::Supervisor => "supervisor",
    }
}

/// The fields every entry about a draft carries: which draft, where, and where it came from.
pub fn draft_fields(draft: &PendingDraft) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("draft_id".into(), draft.id.clone().into());
    data.insert("helpdesk".into(), draft.helpdesk.clone().into());
    data.insert("ticket_id".into(), draft.ticket_id.clone().into());
    data.insert(
        "plugin_id".into(),
        draft.provenance.plugin_id.clone().into(),
    );
    data.insert(
        "plugin_version".into(),
        draft.provenance.plugin_version.clone().into(),
    );
    data
}

/// `draft.created`: a plugin's draft, as stored for review.
pub fn draft_created(draft: &PendingDraft) -> NewEntry {
    let mut data = draft_fields(draft);
    let provenance = &draft.provenance;
    data.insert("event_id".into(), provenance.event_id.clone().into());
    data.insert("wasm_sha256".into(), provenance.wasm_sha256.clone().into());
    data.insert(
        "provider".into(),
        provenance.provider.clone().unwrap_or_default().into(),
    );
    data.insert(
        "model".into(),
        provenance.model.clone().unwrap_or_default().into(),
    );
    data.insert("draft_sha256".into(), text_sha256(&draft.body).into());
    let redaction = &provenance.redaction;
    data.insert(
        "redacted".into(),
        serde_json::json!({
            "emails": redaction.emails,
            "phones": redaction.phones,
            "cards": redaction.cards,
            "ibans": redaction.ibans,
        }),
    );
    data.insert(
        "required_role".into(),
        role_name(draft.requirement.role).into(),
    );
    data.insert(
        "approvals_needed".into(),
        draft.requirement.approvers.into(),
    );
    data.insert("blocked".into(), draft.blocked.is_some().into());
    data.insert(
        "flags".into(),
        draft
            .flags
            .iter()
            .map(|f| Value::from(f.code.clone()))
            .collect::<Vec<_>>()
            .into(),
    );
    data.insert("ai_disclosure".into(), draft.ai_disclosure.is_some().into());
    NewEntry {
        kind: "draft.created".into(),
        at_ms: draft.created_at_ms,
        data,
        personal: Default::default(),
    }
}

/// `draft.expired`: nobody decided in time; the draft will never be sent.
pub fn draft_expired(draft: &PendingDraft, version: u64, at_ms: i64) -> NewEntry {
    let mut data = draft_fields(draft);
    data.insert("version".into(), version.into());
    data.insert(
        "age_s".into(),
        (at_ms.saturating_sub(draft.created_at_ms) / 1000).into(),
    );
    NewEntry {
        kind: "draft.expired".into(),
        at_ms,
        data,
        personal: Default::default(),
    }
}

/// A reply the helpdesk accepted, as the approval log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredReply {
    /// The draft.
    pub draft_id: String,
    /// Its helpdesk.
    pub helpdesk: String,
    /// Its ticket.
    pub ticket_id: String,
    /// The text sent.
    pub sent_text: String,
    /// Its SHA-256.
    pub sent_sha256: String,
    /// The people whose approvals of that text counted.
    pub approvers: Vec<String>,
}

impl DeliveredReply {
    /// The reply the gate let out.
    pub fn of_reply(reply: &ApprovedReply) -> DeliveredReply {
        DeliveredReply {
            draft_id: reply.draft_id().to_owned(),
            helpdesk: reply.helpdesk().to_owned(),
            ticket_id: reply.ticket_id().to_owned(),
            sent_text: reply.body().to_owned(),
            sent_sha256: reply.sha256().to_owned(),
            approvers: reply.approvers().to_vec(),
        }
    }

    /// The reply of a draft delivered before a crash (reconciled later): its current text and
    /// the approvers the gate counts for it (the editor left out under the two-person rule,
    /// each person once), read without a deadline: the reply is out already.
    pub fn of_draft(draft: &PendingDraft) -> DeliveredReply {
        let text = draft.text();
        let facts = draft.facts(None);
        let approvers = match deskbridge_core::approve_for_delivery(
            &deskbridge_core::review::gate_draft(&facts, &draft.review),
            text,
            &draft.review.approvals,
        ) {
            Ok(reply) => reply.approvers().to_vec(),
            // A delivered reply the gate would refuse now (a record altered since): everyone
            // who approved this text, each person once, for the reviewer to judge.
            Err(_) => {
                let sha256 = text_sha256(text);
                let mut seen = std::collections::HashSet::new();
                let mut names: Vec<String> = draft
                    .review
                    .approvals
                    .iter()
                    .filter(|a| a.text_sha256 == sha256)
                    .filter(|a| seen.insert(person_key(&a.approver)))
                    .map(|a| a.approver.clone())
                    .collect();
                names.sort();
                names
            }
        };
        DeliveredReply {
            draft_id: draft.id.clone(),
            helpdesk: draft.helpdesk.clone(),
            ticket_id: draft.ticket_id.clone(),
            sent_text: text.to_owned(),
            sent_sha256: text_sha256(text),
            approvers,
        }
    }
}

/// `reply.sending`: the deliverer is about to send this approved text (durable before the
/// send; a log that refuses it means no send).
pub fn reply_sending(reply: &ApprovedReply, outbox_id: &str, attempt: u32, at_ms: i64) -> NewEntry {
    let mut entry = NewEntry {
        kind: "reply.sending".into(),
        at_ms,
        ..NewEntry::default()
    };
    let data = &mut entry.data;
    data.insert("draft_id".into(), reply.draft_id().into());
    data.insert("helpdesk".into(), reply.helpdesk().into());
    data.insert("ticket_id".into(), reply.ticket_id().into());
    data.insert("outbox_id".into(), outbox_id.into());
    data.insert("attempt".into(), attempt.into());
    data.insert("sent_sha256".into(), reply.sha256().into());
    data.insert("approvers".into(), reply.approvers().len().into());
    entry
}

/// `reply.delivered`: the helpdesk accepted the public reply. `reconciled` marks an entry
/// written at start for a delivery a crash kept out of the log.
pub fn reply_delivered(
    reply: &DeliveredReply,
    receipt: Option<String>,
    ai_disclosure: bool,
    reconciled: bool,
    at_ms: i64,
) -> NewEntry {
    let mut entry = NewEntry {
        kind: "reply.delivered".into(),
        at_ms,
        ..NewEntry::default()
    };
    let data = &mut entry.data;
    data.insert("draft_id".into(), reply.draft_id.clone().into());
    data.insert("helpdesk".into(), reply.helpdesk.clone().into());
    data.insert("ticket_id".into(), reply.ticket_id.clone().into());
    data.insert("sent_sha256".into(), reply.sent_sha256.clone().into());
    data.insert("approvers".into(), reply.approvers.len().into());
    data.insert("ai_disclosure".into(), ai_disclosure.into());
    data.insert("receipt".into(), receipt.unwrap_or_default().into());
    if reconciled {
        data.insert("reconciled".into(), true.into());
    }
    entry
        .personal
        .insert("approved_by".into(), reply.approvers.join(", "));
    entry
}

/// `reply.cancelled`: an admin withdrew an approved reply before it was delivered.
pub fn reply_cancelled(draft: &PendingDraft, by: &str, reason: &str, at_ms: i64) -> NewEntry {
    let mut entry = NewEntry {
        kind: "reply.cancelled".into(),
        at_ms,
        data: draft_fields(draft),
        ..NewEntry::default()
    };
    entry
        .data
        .insert("text_sha256".into(), text_sha256(draft.text()).into());
    entry
        .data
        .insert("version".into(), (draft.review.version + 1).into());
    entry.personal.insert("by".into(), by.to_owned());
    entry.personal.insert("reason".into(), reason.to_owned());
    entry
}

/// `reply.cancel_undone`: a cancellation was logged but the store refused it (the draft
/// changed meanwhile, or the store failed): the reply stays approved.
pub fn reply_cancel_undone(draft: &PendingDraft, at_ms: i64) -> NewEntry {
    NewEntry {
        kind: "reply.cancel_undone".into(),
        at_ms,
        data: draft_fields(draft),
        ..NewEntry::default()
    }
}

/// The approval-log entry recording an erasure: how many values, never whose.
pub fn erasure_entry(erased: usize, index: Option<u64>, by: &str) -> NewEntry {
    let mut entry = NewEntry {
        kind: "personal.erased".into(),
        at_ms: crate::now_ms(),
        ..NewEntry::default()
    };
    entry.data.insert("values".into(), erased.into());
    entry.data.insert(
        "scope".into(),
        match index {
            Some(index) => format!("entry {index}"),
            None => "a person".into(),
        }
        .into(),
    );
    entry.personal.insert("by".into(), by.to_owned());
    entry
}

/// Appends `entries` and waits until they are durable, off the async threads.
pub async fn record(audit: &Arc<AuditLog>, entries: Vec<NewEntry>) -> Result<(), AuditError> {
    let audit = audit.clone();
    let written = tokio::task::spawn_blocking(move || {
        for entry in entries {
            audit.append(entry)?;
        }
        audit.sync()
    })
    .await;
    match written {
        Ok(result) => result,
        Err(join) => Err(AuditError::Io {
            path: std::path::PathBuf::from("approval log"),
            source: std::io::Error::other(join.to_string()),
        }),
    }
}
