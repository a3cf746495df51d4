//! The delivery gate of invariant 1: no customer-facing message without a human approval
//! bound to its exact text.
//!
//! [`ApprovedReply`] is the only value a connector's public-reply call accepts, and
//! [`approve_for_delivery`] is the only way to make one: its fields are private and it has no
//! `Deserialize`, so neither a plugin action, nor an API body, nor a stored record can express
//! "send this". The check is pure: the draft's requirement, the text to send and the approval
//! records in, an approved reply or a refusal out. The delivery code calls it again right
//! before every send, from what the store holds, so a record altered after the decision is
//! refused there too.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::approval::{ApprovalRequirement, ApproverRole};
use crate::identity::person_key;

/// The SHA-256 of a reply text (its UTF-8 bytes), hex: what an approval binds to.
pub fn text_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One person's approval of one exact text of a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRecord {
    /// The draft approved.
    pub draft_id: String,
    /// The person who approved (a person id, not a token).
    pub approver: String,
    /// The role they held when approving.
    pub role: ApproverRole,
    /// [`text_sha256`] of the text they approved.
    pub text_sha256: String,
    /// The public id of the API token the approval was given with (records written before
    /// token ids were kept have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

/// What the gate needs to know about a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateDraft<'a> {
    /// The draft's id.
    pub draft_id: &'a str,
    /// The helpdesk it belongs to.
    pub helpdesk: &'a str,
    /// The ticket it answers.
    pub ticket_id: &'a str,
    /// What approval it needs (never looser than [`ApprovalRequirement::BASELINE`]).
    pub requirement: ApprovalRequirement,
    /// Why a policy blocked it, if one did: a blocked draft is never sent.
    pub blocked: Option<&'a str>,
    /// The person who wrote the text to send, when an agent edited the AI's draft.
    pub edited_by: Option<&'a str>,
    /// The token the edit was made with, when known.
    pub edited_by_token: Option<&'a str>,
    /// When the draft's review closes (Unix ms): approvals completed at or after it do not
    /// count. `None`: drafts never expire.
    pub expires_at_ms: Option<i64>,
    /// When the approvals were completed (Unix ms); `None` when unknown.
    pub approved_at_ms: Option<i64>,
}

/// A reply that passed the gate: the exact text, bound to approvals that meet the draft's
/// requirement. Only [`approve_for_delivery`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedReply {
    draft_id: String,
    helpdesk: String,
    ticket_id: String,
    body: String,
    sha256: String,
    approvers: Vec<String>,
}

impl ApprovedReply {
    /// The draft it comes from.
    pub fn draft_id(&self) -> &str {
        &self.draft_id
    }

    /// The helpdesk to send it to.
    pub fn helpdesk(&self) -> &str {
        &self.helpdesk
    }

    /// The ticket to answer.
    pub fn ticket_id(&self) -> &str {
        &self.ticket_id
    }

    /// The text, exactly as approved.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Its SHA-256, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The people whose approvals counted, sorted.
    pub fn approvers(&self) -> &[String] {
        &self.approvers
    }
}

/// Why the gate refused to let a reply out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    /// The draft's review had expired (or the time of its approval is unknown) before its
    /// approvals were complete.
    #[error("the draft's review expired before it was approved; it is never sent")]
    Expired,
    /// A policy blocked the draft.
    #[error("the draft was blocked by a policy: {reason}")]
    Blocked {
        /// The policy's reason.
        reason: String,
    },
    /// Too few qualifying approvals of this exact text.
    #[error(
        "{counted} of the {required} approvals this text needs (role {role:?} or higher, distinct people{self_edit})",
        self_edit = if *.editor_excluded { ", not the person who edited it" } else { "" }
    )]
    NotEnoughApprovals {
        /// Distinct approvers required.
        required: u8,
        /// The least role that counts.
        role: ApproverRole,
        /// Qualifying approvals found.
        counted: usize,
        /// Whether the editor's own approval was left out (two-person rule).
        editor_excluded: bool,
    },
}

/// Checks that `body` may be sent as the public reply of `draft`, given every approval record
/// of the draft. An approval counts when it is for this draft, binds this exact text, comes
/// from a role at least the required one, and — when two or more approvers are required —
/// not from the person who edited the text. Each person counts once: two approvals are the
/// same person's when their names compare equal ([`person_key`]: case, width and spacing do
/// not tell people apart) or when they were given with the same token. A draft whose review
/// expired before its approvals were complete never passes.
pub fn approve_for_delivery(
    draft: &GateDraft<'_>,
    body: &str,
    approvals: &[ApprovalRecord],
) -> Result<ApprovedReply, GateRefusal> {
    if let Some(reason) = draft.blocked {
        return Err(GateRefusal::Blocked {
            reason: reason.to_owned(),
        });
    }
    if let Some(deadline) = draft.expires_at_ms
        && draft.approved_at_ms.is_none_or(|at| at >= deadline)
    {
        return Err(GateRefusal::Expired);
    }
    let requirement = draft.requirement.stricter(ApprovalRequirement::BASELINE);
    let sha256 = text_sha256(body);
    let two_person = requirement.approvers >= 2;
    let editor_excluded = two_person && draft.edited_by.is_some();
    let editor_key = draft.edited_by.map(person_key);
    let by_editor = |a: &ApprovalRecord| {
        editor_key.as_deref() == Some(person_key(&a.approver).as_str())
            || (draft.edited_by_token.is_some() && a.token_id.as_deref() == draft.edited_by_token)
    };
    let mut counted: Vec<(String, Option<&str>, &str)> = Vec::new();
    for approval in approvals
        .iter()
        .filter(|a| a.draft_id == draft.draft_id)
        .filter(|a| a.text_sha256 == sha256)
        .filter(|a| a.role >= requirement.role)
        .filter(|a| !(editor_excluded && by_editor(a)))
    {
        let key = person_key(&approval.approver);
        let token = approval.token_id.as_deref();
        let seen = counted
            .iter()
            .any(|(k, t, _)| *k == key || (token.is_some() && *t == token));
        if !seen {
            counted.push((key, token, approval.approver.as_str()));
        }
    }
    if counted.len() < usize::from(requirement.approvers) {
        return Err(GateRefusal::NotEnoughApprovals {
            required: requirement.approvers,
            role: requirement.role,
            counted: counted.len(),
            editor_excluded,
        });
    }
    let mut approvers: Vec<String> = counted
        .into_iter()
        .map(|(_, _, name)| name.to_owned())
        .collect();
    approvers.sort();
    Ok(ApprovedReply {
        draft_id: draft.draft_id.to_owned(),
        helpdesk: draft.helpdesk.to_owned(),
        ticket_id: draft.ticket_id.to_owned(),
        body: body.to_owned(),
        sha256,
        approvers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Hello Ann, we have reset your password.";

    fn draft(requirement: ApprovalRequirement) -> GateDraft<'static> {
        GateDraft {
            draft_id: "d1",
            helpdesk: "acme",
            ticket_id: "42",
            requirement,
            blocked: None,
            edited_by: None,
            edited_by_token: None,
            expires_at_ms: Some(1_000),
            approved_at_ms: Some(500),
        }
    }

    fn approval(approver: &str, role: ApproverRole, text: &str) -> ApprovalRecord {
        ApprovalRecord {
            draft_id: "d1".into(),
            approver: approver.into(),
            role,
            text_sha256: text_sha256(text),
            token_id: Some(format!("tok_{approver}")),
        }
    }

    const TWO_AGENTS: ApprovalRequirement = ApprovalRequirement {
        role: ApproverRole::Agent,
        approvers: 2,
    };

    #[test]
    fn one_agent_approval_of_the_exact_text_lets_it_out() {
        let reply = approve_for_delivery(
            &draft(ApprovalRequirement::BASELINE),
            TEXT,
            &[approval("ann", ApproverRole::Agent, TEXT)],
        )
        .expect("approved");
        assert_eq!(reply.body(), TEXT);
        assert_eq!(reply.sha256(), text_sha256(TEXT));
        assert_eq!(reply.approvers(), ["ann"]);
        assert_eq!(
            (reply.helpdesk(), reply.ticket_id(), reply.draft_id()),
            ("acme", "42", "d1")
        );
    }

    #[test]
    fn any_change_to_the_text_voids_the_approval() {
        let approvals = [approval("ann", ApproverRole::Agent, TEXT)];
        for altered in [
            "Hello Ann, we have reset your password!",
            "Hello Ann, we have reset your password. ",
            "",
        ] {
            let refusal =
                approve_for_delivery(&draft(ApprovalRequirement::BASELINE), altered, &approvals)
                    .expect_err("altered text");
            assert!(
                matches!(refusal, GateRefusal::NotEnoughApprovals { counted: 0, .. }),
                "{refusal}"
            );
        }
    }

    #[test]
    fn no_approval_no_reply_even_with_a_loose_requirement() {
        let loose = ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 0,
        };
        let refusal = approve_for_delivery(&draft(loose), TEXT, &[]).expect_err("no approval");
        assert!(
            matches!(refusal, GateRefusal::NotEnoughApprovals { required: 1, .. }),
            "{refusal}"
        );
    }

    #[test]
    fn the_role_must_be_high_enough() {
        let supervisor = ApprovalRequirement {
            role: ApproverRole::Supervisor,
            approvers: 1,
        };
        assert!(
            approve_for_delivery(
                &draft(supervisor),
                TEXT,
                &[approval("ann", ApproverRole::Agent, TEXT)]
            )
            .is_err()
        );
        assert!(
            approve_for_delivery(
                &draft(supervisor),
                TEXT,
                &[approval("sam", ApproverRole::Supervisor, TEXT)]
            )
            .is_ok()
        );
    }

    #[test]
    fn two_person_rule_counts_distinct_people_other_than_the_editor() {
        let twice = [
            approval("ann", ApproverRole::Agent, TEXT),
            approval("ann", ApproverRole::Agent, TEXT),
        ];
        let refusal =
            approve_for_delivery(&draft(TWO_AGENTS), TEXT, &twice).expect_err("one person");
        assert!(
            matches!(refusal, GateRefusal::NotEnoughApprovals { counted: 1, .. }),
            "{refusal}"
        );

        let mut edited = draft(TWO_AGENTS);
        edited.edited_by = Some("ann");
        let ann_and_bob = [
            approval("ann", ApproverRole::Agent, TEXT),
            approval("bob", ApproverRole::Agent, TEXT),
        ];
        let refusal = approve_for_delivery(&edited, TEXT, &ann_and_bob).expect_err("self-approval");
        assert!(
            refusal.to_string().contains("not the person who edited it"),
            "{refusal}"
        );
        let mut three = ann_and_bob.to_vec();
        three.push(approval("cat", ApproverRole::Supervisor, TEXT));
        let reply = approve_for_delivery(&edited, TEXT, &three).expect("two others approved");
        assert_eq!(reply.approvers(), ["bob", "cat"]);

        // With one approver required, approving one's own edit is allowed.
        let mut single = draft(ApprovalRequirement::BASELINE);
        single.edited_by = Some("ann");
        assert!(approve_for_delivery(&single, TEXT, &ann_and_bob[..1]).is_ok());
    }

    #[test]
    fn the_same_person_counts_once_however_the_name_is_written_or_whatever_token() {
        // One person, two tokens: names that differ in case, width or spacing.
        let mut shouting = approval("ANN  AGENT", ApproverRole::Agent, TEXT);
        shouting.token_id = Some("tok_2".into());
        let same_person = [approval("Ann Agent", ApproverRole::Agent, TEXT), shouting];
        let refusal =
            approve_for_delivery(&draft(TWO_AGENTS), TEXT, &same_person).expect_err("one person");
        assert!(
            matches!(refusal, GateRefusal::NotEnoughApprovals { counted: 1, .. }),
            "{refusal}"
        );
        // One token, two names (a record altered after the fact): still one approver.
        let mut renamed = approval("Bob Other", ApproverRole::Agent, TEXT);
        renamed.token_id = Some("tok_Ann Agent".into());
        let one_token = [approval("Ann Agent", ApproverRole::Agent, TEXT), renamed];
        assert!(approve_for_delivery(&draft(TWO_AGENTS), TEXT, &one_token).is_err());
        // The editor is recognised by a differently written name, and by token.
        let mut edited = draft(TWO_AGENTS);
        edited.edited_by = Some("ann agent");
        let ann_and_bob = [
            approval("Ann Agent", ApproverRole::Agent, TEXT),
            approval("Bob", ApproverRole::Agent, TEXT),
        ];
        assert!(approve_for_delivery(&edited, TEXT, &ann_and_bob).is_err());
        edited.edited_by = Some("Someone Else");
        edited.edited_by_token = Some("tok_Ann Agent");
        assert!(approve_for_delivery(&edited, TEXT, &ann_and_bob).is_err());
        let mut records_without_tokens = ann_and_bob.clone();
        for record in &mut records_without_tokens {
            record.token_id = None;
        }
        assert!(approve_for_delivery(&draft(TWO_AGENTS), TEXT, &records_without_tokens).is_ok());
    }

    #[test]
    fn a_draft_approved_after_its_review_expired_never_passes() {
        let approvals = [approval("ann", ApproverRole::Agent, TEXT)];
        let mut late = draft(ApprovalRequirement::BASELINE);
        late.approved_at_ms = Some(1_000);
        assert_eq!(
            approve_for_delivery(&late, TEXT, &approvals),
            Err(GateRefusal::Expired)
        );
        late.approved_at_ms = None;
        assert_eq!(
            approve_for_delivery(&late, TEXT, &approvals),
            Err(GateRefusal::Expired),
            "an unknown approval time fails closed"
        );
        late.expires_at_ms = None;
        assert!(approve_for_delivery(&late, TEXT, &approvals).is_ok());
        assert!(
            approve_for_delivery(&draft(ApprovalRequirement::BASELINE), TEXT, &approvals).is_ok()
        );
    }

    #[test]
    fn approvals_of_another_draft_do_not_count() {
        let mut other = approval("ann", ApproverRole::Agent, TEXT);
        other.draft_id = "d2".into();
        assert!(
            approve_for_delivery(&draft(ApprovalRequirement::BASELINE), TEXT, &[other]).is_err()
        );
    }

    #[test]
    fn a_blocked_draft_never_passes() {
        let mut blocked = draft(ApprovalRequirement::BASELINE);
        blocked.blocked = Some("mentions a lawsuit");
        let refusal = approve_for_delivery(
            &blocked,
            TEXT,
            &[approval("sam", ApproverRole::Supervisor, TEXT)],
        )
        .expect_err("blocked");
        assert_eq!(
            refusal,
            GateRefusal::Blocked {
                reason: "mentions a lawsuit".into()
            }
        );
    }
}
