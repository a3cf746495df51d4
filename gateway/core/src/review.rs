//! A draft's review: the decisions agents and supervisors make on it, as pure rules.
//!
//! [`decide`] takes the review as stored, the draft's facts and one decision, and returns the
//! next review or a refusal. The server stores the result with an optimistic version check, so
//! two agents deciding at once cannot both win; the delivery code asks the gate
//! ([`crate::gate`]) again before anything is sent.

use serde::{Deserialize, Serialize};

use crate::approval::{ApprovalRequirement, ApproverRole};
use crate::gate::{ApprovalRecord, GateDraft, approve_for_delivery, text_sha256};
use crate::identity::person_key;

/// Longest reply text an agent may write, bytes.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Where a draft stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DraftState {
    /// Waiting for approvals.
    #[default]
    Pending,
    /// Handed to a supervisor: from now on only supervisors' approvals count.
    Escalated,
    /// Enough approvals of its current text: queued for delivery.
    Approved {
        /// When the last needed approval came.
        at_ms: i64,
    },
    /// Rejected: never sent.
    Rejected {
        /// Who rejected it.
        by: String,
        /// Why.
        reason: String,
        /// When.
        at_ms: i64,
    },
    /// Not decided in time: never sent.
    Expired {
        /// When it expired.
        at_ms: i64,
    },
    /// Approved, then cancelled by an admin before it was delivered: never sent.
    Cancelled {
        /// Who cancelled it.
        by: String,
        /// Why.
        reason: String,
        /// When.
        at_ms: i64,
    },
    /// Delivered to the helpdesk.
    Sent {
        /// When.
        at_ms: i64,
        /// The helpdesk's id of the reply, if it gave one.
        receipt: Option<String>,
        /// Whether the sent text carried the helpdesk's AI-disclosure line.
        #[serde(default)]
        ai_disclosure: bool,
        /// Whether the delivery's `reply.delivered` entry is in the approval log. The draft
        /// is marked sent before the entry is written and again after; a crash in between
        /// leaves `false`, and the next start writes the entry (records from before this
        /// field read as logged).
        #[serde(default = "logged_before")]
        delivery_logged: bool,
    },
}

fn logged_before() -> bool {
    true
}

impl DraftState {
    /// Whether decisions can still be made.
    pub fn is_open(&self) -> bool {
        matches!(self, DraftState::Pending | DraftState::Escalated)
    }

    /// When the draft reached a state that no decision or delivery leaves (sent — with its
    /// delivery in the approval log —, rejected, expired, cancelled); `None` while it is open,
    /// approved and waiting for delivery, or sent without its log entry yet.
    pub fn final_at_ms(&self) -> Option<i64> {
        match self {
            // A delivery the approval log has not heard of yet is not over: it is kept until
            // its entry is written.
            DraftState::Sent {
                delivery_logged: false,
                ..
            } => None,
            DraftState::Sent { at_ms, .. }
            | DraftState::Rejected { at_ms, .. }
            | DraftState::Cancelled { at_ms, .. }
            | DraftState::Expired { at_ms } => Some(*at_ms),
            DraftState::Pending | DraftState::Escalated | DraftState::Approved { .. } => None,
        }
    }

    /// The state's name (`pending`, `approved`, …).
    pub fn name(&self) -> &'static str {
        match self {
            DraftState::Pending => "pending",
            DraftState::Escalated => "escalated",
            DraftState::Approved { .. } => "approved",
            DraftState::Rejected { .. } => "rejected",
            DraftState::Expired { .. } => "expired",
            DraftState::Cancelled { .. } => "cancelled",
            DraftState::Sent { .. } => "sent",
        }
    }
}

/// The review of one draft, stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Bumped by every decision; a decision names the version it was made on.
    pub version: u64,
    /// Where the draft stands.
    pub state: DraftState,
    /// The text as an agent edited it (`None`: the AI's text).
    pub edited_text: Option<String>,
    /// Who wrote `edited_text`.
    pub edited_by: Option<String>,
    /// The token `edited_text` was written with.
    #[serde(default)]
    pub edited_by_token: Option<String>,
    /// Every approval given, of whichever text was current then.
    pub approvals: Vec<ApprovalRecord>,
    /// How often the draft was handed to a supervisor.
    #[serde(default)]
    pub escalations: u32,
    /// Characters changed between the AI's text and the edited one (`None`: not edited).
    #[serde(default)]
    pub edit_distance: Option<u64>,
    /// When the draft was approved or rejected (the decision that closed it).
    #[serde(default)]
    pub decided_at_ms: Option<i64>,
}

/// What an agent or supervisor decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum DecisionKind {
    /// Approve the current text as is.
    Approve,
    /// Replace the text, then approve the new text.
    EditApprove {
        /// The text to send.
        text: String,
    },
    /// Reject, with a reason.
    Reject {
        /// Why (required).
        reason: String,
    },
    /// Hand to a supervisor.
    Escalate {
        /// Why (optional).
        #[serde(default)]
        reason: Option<String>,
    },
}

impl DecisionKind {
    /// The decision's name.
    pub fn name(&self) -> &'static str {
        match self {
            DecisionKind::Approve => "approve",
            DecisionKind::EditApprove { .. } => "edit_approve",
            DecisionKind::Reject { .. } => "reject",
            DecisionKind::Escalate { .. } => "escalate",
        }
    }
}

/// The facts of a draft a decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftFacts<'a> {
    /// The draft's id.
    pub id: &'a str,
    /// Its helpdesk.
    pub helpdesk: &'a str,
    /// Its ticket.
    pub ticket_id: &'a str,
    /// The AI's text.
    pub body: &'a str,
    /// The policy requirement.
    pub requirement: ApprovalRequirement,
    /// Why a policy blocked it, if one did.
    pub blocked: Option<&'a str>,
    /// When its review closes (Unix ms): no decision is taken at or after it, and the gate
    /// refuses approvals completed after it. `None`: drafts do not expire.
    pub expires_at_ms: Option<i64>,
}

/// Who decides: the person, the token they decide with, and the approver role it grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decider<'a> {
    /// The person's name, as their token records it.
    pub person: &'a str,
    /// The token's public id.
    pub token_id: Option<&'a str>,
    /// The role they decide as.
    pub role: ApproverRole,
}

/// Why a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefusal {
    /// The decision was made on an older version.
    #[error(
        "the draft changed since version {expected} (now {current}): reload it and decide again"
    )]
    Stale {
        /// The version the decision named.
        expected: u64,
        /// The draft's version.
        current: u64,
    },
    /// The draft is no longer open.
    #[error("the draft is {0}: no more decisions")]
    Closed(&'static str),
    /// The draft's review time is over, whether or not the expiry sweep has run yet.
    #[error("the draft expired: its review time ended, no more decisions")]
    Expired,
    /// The decider's role is too low for this draft.
    #[error("this draft needs a {needed:?} to approve it; you decide as {held:?}")]
    RoleTooLow {
        /// The role needed.
        needed: ApproverRole,
        /// The role held.
        held: ApproverRole,
    },
    /// A policy blocked the draft: it can only be rejected.
    #[error("a policy blocked this draft ({0}); it can only be rejected")]
    Blocked(String),
    /// The same person approved the same text already.
    #[error("you already approved this text")]
    AlreadyApproved,
    /// The decision is malformed (empty reason, empty or oversized text).
    #[error("{0}")]
    Invalid(&'static str),
}

/// What [`decide`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The review to store.
    pub review: Review,
    /// The text now under review (after an edit, the edited one).
    pub text: String,
    /// Whether this decision completed the approvals: the reply may go out.
    pub ready_to_send: bool,
}

/// The requirement in force: the policy's, and a supervisor from the moment the draft was
/// first escalated — for good, also after the supervisor's approval, so the gate asks for the
/// same at send time as the decision did.
pub fn effective_requirement(facts: &DraftFacts<'_>, review: &Review) -> ApprovalRequirement {
    let requirement = facts.requirement.stricter(ApprovalRequirement::BASELINE);
    if review.escalations > 0 || review.state == DraftState::Escalated {
        requirement.stricter(ApprovalRequirement {
            role: ApproverRole::Supervisor,
            approvers: 1,
        })
    } else {
        requirement
    }
}

/// Applies `decision`, made by `decider` on `version` of the draft at `at_ms`.
pub fn decide(
    facts: &DraftFacts<'_>,
    review: &Review,
    version: u64,
    decider: &Decider<'_>,
    decision: &DecisionKind,
    at_ms: i64,
) -> Result<Decided, DecisionRefusal> {
    let Decider {
        person,
        token_id,
        role,
    } = *decider;
    if !review.state.is_open() {
        return Err(DecisionRefusal::Closed(review.state.name()));
    }
    if facts
        .expires_at_ms
        .is_some_and(|deadline| at_ms >= deadline)
    {
        return Err(DecisionRefusal::Expired);
    }
    if version != review.version {
        return Err(DecisionRefusal::Stale {
            expected: version,
            current: review.version,
        });
    }
    let mut next = review.clone();
    next.version += 1;
    let requirement = effective_requirement(facts, review);
    match decision {
        DecisionKind::Reject { reason } => {
            if reason.trim().is_empty() {
                return Err(DecisionRefusal::Invalid("a rejection needs a reason"));
            }
            next.state = DraftState::Rejected {
                by: person.to_owned(),
                reason: reason.clone(),
                at_ms,
            };
            next.decided_at_ms = Some(at_ms);
        }
        DecisionKind::Escalate { .. } => {
            next.state = DraftState::Escalated;
            next.escalations += 1;
        }
        DecisionKind::Approve | DecisionKind::EditApprove { .. } => {
            if let Some(reason) = facts.blocked {
                return Err(DecisionRefusal::Blocked(reason.to_owned()));
            }
            if role < requirement.role {
                return Err(DecisionRefusal::RoleTooLow {
                    needed: requirement.role,
                    held: role,
                });
            }
            if let DecisionKind::EditApprove { text } = decision {
                if text.trim().is_empty() {
                    return Err(DecisionRefusal::Invalid("an edited reply cannot be empty"));
                }
                if text.len() > MAX_REPLY_BYTES {
                    return Err(DecisionRefusal::Invalid(
                        "the edited reply is longer than 64 KiB",
                    ));
                }
                next.edited_text = Some(text.clone());
                next.edited_by = Some(person.to_owned());
                next.edited_by_token = token_id.map(str::to_owned);
                next.edit_distance =
                    Some(u64::try_from(edit_distance(facts.body, text)).unwrap_or(u64::MAX));
            }
            let text = next.edited_text.as_deref().unwrap_or(facts.body);
            let sha256 = text_sha256(text);
            let key = person_key(person);
            if next.approvals.iter().any(|a| {
                a.text_sha256 == sha256
                    && (person_key(&a.approver) == key
                        || (token_id.is_some() && a.token_id.as_deref() == token_id))
            }) {
                return Err(DecisionRefusal::AlreadyApproved);
            }
            next.approvals.push(ApprovalRecord {
                draft_id: facts.id.to_owned(),
                approver: person.to_owned(),
                role,
                text_sha256: sha256,
                token_id: token_id.map(str::to_owned),
            });
        }
    }
    let text = next
        .edited_text
        .clone()
        .unwrap_or_else(|| facts.body.to_owned());
    let ready_to_send = next.state.is_open() && {
        let mut gate = gate_draft(facts, &next);
        gate.approved_at_ms = Some(at_ms);
        approve_for_delivery(&gate, &text, &next.approvals).is_ok()
    };
    if ready_to_send {
        next.state = DraftState::Approved { at_ms };
        next.decided_at_ms = Some(at_ms);
    }
    Ok(Decided {
        review: next,
        text,
        ready_to_send,
    })
}

/// The gate's view of a draft under `review`: the full requirement in force (escalation
/// included), the editor, the review deadline and when the approvals were completed.
pub fn gate_draft<'a>(facts: &DraftFacts<'a>, review: &'a Review) -> GateDraft<'a> {
    GateDraft {
        draft_id: facts.id,
        helpdesk: facts.helpdesk,
        ticket_id: facts.ticket_id,
        requirement: effective_requirement(facts, review),
        blocked: facts.blocked,
        edited_by: review.edited_by.as_deref(),
        edited_by_token: review.edited_by_token.as_deref(),
        expires_at_ms: facts.expires_at_ms,
        approved_at_ms: review.decided_at_ms,
    }
}

/// Expires an open draft at `at_ms`: the state it ends in, never sent. `None` when the draft
/// is no longer open (decided, sent or already expired).
pub fn expire(review: &Review, at_ms: i64) -> Option<Review> {
    if !review.state.is_open() {
        return None;
    }
    let mut next = review.clone();
    next.version += 1;
    next.state = DraftState::Expired { at_ms };
    Some(next)
}

/// Cancels an approved draft that has not been delivered: the state it ends in, never sent.
/// `None` unless the draft is approved (an open draft is rejected instead; a sent one is out).
pub fn cancel(review: &Review, by: &str, reason: &str, at_ms: i64) -> Option<Review> {
    if !matches!(review.state, DraftState::Approved { .. }) {
        return None;
    }
    let mut next = review.clone();
    next.version += 1;
    next.state = DraftState::Cancelled {
        by: by.to_owned(),
        reason: reason.to_owned(),
        at_ms,
    };
    Some(next)
}

/// Beyond this many steps [`edit_distance`] stops computing and reports an upper bound.
pub const EDIT_DISTANCE_MAX_CELLS: usize = 16_000_000;

/// The Levenshtein distance between two texts, in characters (how much an agent changed).
///
/// A common beginning and end are set aside, then the distance is searched for within a band
/// that doubles until it holds the answer (Ukkonen), so the work grows with the length times
/// the distance, not with the product of the lengths. Should it pass
/// [`EDIT_DISTANCE_MAX_CELLS`] steps — two long, wholly rewritten texts — the longer
/// remainder's length is returned: an upper bound, so no decision can stall the server.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let upper_bound = a.len().max(b.len());
    if a.is_empty() || b.is_empty() {
        return upper_bound;
    }
    let mut band = a.len().abs_diff(b.len()).max(1);
    loop {
        if band >= upper_bound {
            return banded_distance(a, b, upper_bound).unwrap_or(upper_bound);
        }
        if (2 * band + 1).saturating_mul(a.len()) > EDIT_DISTANCE_MAX_CELLS {
            return upper_bound;
        }
        if let Some(distance) = banded_distance(a, b, band) {
            return distance;
        }
        band = band.saturating_mul(2);
    }
}

/// The distance between `a` and `b` if it is at most `band`, computing only the cells within
/// `band` of the diagonal.
fn banded_distance(a: &[char], b: &[char], band: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > band {
        return None;
    }
    let over = band + 1;
    let mut previous: Vec<usize> = (0..=b.len()).map(|j| j.min(over)).collect();
    let mut current = vec![over; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let row = i + 1;
        let from = row.saturating_sub(band);
        let to = (row + band).min(b.len());
        // Only the band is written; its neighbours, which the next row reads, are reset.
        if from == 0 {
            current[0] = row.min(over);
        } else {
            current[from - 1] = over;
        }
        if let Some(next) = current.get_mut(to + 1) {
            *next = over;
        }
        for j in from.max(1)..=to {
            let substitution = previous[j - 1] + usize::from(*ca != b[j - 1]);
            current[j] = substitution
                .min(previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(over);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= band).then_some(distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "We reset your password.";

    fn facts(requirement: ApprovalRequirement) -> DraftFacts<'static> {
        DraftFacts {
            id: "d1",
            helpdesk: "acme",
            ticket_id: "42",
            body: BODY,
            requirement,
            blocked: None,
            expires_at_ms: Some(100),
        }
    }

    fn decider(person: &str, role: ApproverRole) -> Decider<'_> {
        Decider {
            person,
            token_id: None,
            role,
        }
    }

    fn run(
        facts: &DraftFacts<'_>,
        review: &Review,
        person: &str,
        role: ApproverRole,
        decision: DecisionKind,
    ) -> Result<Decided, DecisionRefusal> {
        decide(
            facts,
            review,
            review.version,
            &decider(person, role),
            &decision,
            7,
        )
    }

    #[test]
    fn only_sent_rejected_and_expired_drafts_are_final() {
        let rejected = DraftState::Rejected {
            by: "ann".into(),
            reason: "no".into(),
            at_ms: 3,
        };
        let sent = DraftState::Sent {
            at_ms: 4,
            receipt: None,
            ai_disclosure: false,
            delivery_logged: true,
        };
        let unlogged = DraftState::Sent {
            at_ms: 4,
            receipt: None,
            ai_disclosure: false,
            delivery_logged: false,
        };
        for (state, at) in [
            (unlogged, None),
            (DraftState::Pending, None),
            (DraftState::Escalated, None),
            (DraftState::Approved { at_ms: 2 }, None),
            (rejected, Some(3)),
            (sent, Some(4)),
            (DraftState::Expired { at_ms: 5 }, Some(5)),
            (
                DraftState::Cancelled {
                    by: "ada".into(),
                    reason: "r".into(),
                    at_ms: 6,
                },
                Some(6),
            ),
        ] {
            assert_eq!(state.final_at_ms(), at, "{state:?}");
        }
    }

    #[test]
    fn one_approval_completes_a_baseline_draft() {
        let done = run(
            &facts(ApprovalRequirement::BASELINE),
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("approved");
        assert!(done.ready_to_send);
        assert_eq!(done.review.state, DraftState::Approved { at_ms: 7 });
        assert_eq!(done.review.decided_at_ms, Some(7));
        assert_eq!(done.review.version, 1);
        assert_eq!(done.text, BODY);
    }

    #[test]
    fn a_stale_version_or_a_closed_draft_is_refused() {
        let f = facts(ApprovalRequirement::BASELINE);
        let first = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("first");
        // Bob decided on version 0 too: he is told to reload.
        let stale = decide(
            &f,
            &Review {
                state: DraftState::Pending,
                ..first.review.clone()
            },
            0,
            &decider("bob", ApproverRole::Agent),
            &DecisionKind::Approve,
            8,
        );
        assert!(matches!(
            stale,
            Err(DecisionRefusal::Stale {
                expected: 0,
                current: 1
            })
        ));
        let closed = run(
            &f,
            &first.review,
            "bob",
            ApproverRole::Agent,
            DecisionKind::Reject {
                reason: "no".into(),
            },
        );
        assert_eq!(closed, Err(DecisionRefusal::Closed("approved")));
    }

    #[test]
    fn two_person_drafts_wait_for_a_second_distinct_approver() {
        let f = facts(ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 2,
        });
        let one = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("one");
        assert!(!one.ready_to_send);
        assert_eq!(one.review.state, DraftState::Pending);
        assert_eq!(
            run(
                &f,
                &one.review,
                "ann",
                ApproverRole::Agent,
                DecisionKind::Approve
            ),
            Err(DecisionRefusal::AlreadyApproved)
        );
        let two = run(
            &f,
            &one.review,
            "bob",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("two");
        assert!(two.ready_to_send);
    }

    #[test]
    fn an_edit_voids_earlier_approvals_and_the_editor_cannot_be_the_second_approver() {
        let f = facts(ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 2,
        });
        let approved_old = run(
            &f,
            &Review::default(),
            "bob",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("bob");
        let edited = run(
            &f,
            &approved_old.review,
            "ann",
            ApproverRole::Agent,
            DecisionKind::EditApprove {
                text: "We have reset your password, Ann.".into(),
            },
        )
        .expect("edit");
        assert_eq!(edited.text, "We have reset your password, Ann.");
        assert!(
            !edited.ready_to_send,
            "bob approved the old text; ann edited"
        );
        let carl = run(
            &f,
            &edited.review,
            "carl",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("carl");
        assert!(!carl.ready_to_send, "one approver besides the editor");
        let bob = run(
            &f,
            &carl.review,
            "bob",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("bob again");
        assert!(bob.ready_to_send);
    }

    #[test]
    fn escalation_hands_the_draft_to_supervisors() {
        let f = facts(ApprovalRequirement::BASELINE);
        let escalated = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Escalate { reason: None },
        )
        .expect("escalate");
        assert_eq!(escalated.review.state, DraftState::Escalated);
        assert!(matches!(
            run(
                &f,
                &escalated.review,
                "bob",
                ApproverRole::Agent,
                DecisionKind::Approve
            ),
            Err(DecisionRefusal::RoleTooLow {
                needed: ApproverRole::Supervisor,
                ..
            })
        ));
        assert!(
            run(
                &f,
                &escalated.review,
                "sam",
                ApproverRole::Supervisor,
                DecisionKind::Approve
            )
            .expect("sam")
            .ready_to_send
        );
    }

    #[test]
    fn no_decision_is_taken_once_the_review_time_is_over_swept_or_not() {
        let f = facts(ApprovalRequirement::BASELINE);
        for at in [100, 101, i64::MAX] {
            for decision in [
                DecisionKind::Approve,
                DecisionKind::Reject {
                    reason: "late".into(),
                },
                DecisionKind::Escalate { reason: None },
            ] {
                assert_eq!(
                    decide(
                        &f,
                        &Review::default(),
                        0,
                        &decider("ann", ApproverRole::Agent),
                        &decision,
                        at
                    ),
                    Err(DecisionRefusal::Expired),
                    "{decision:?} at {at}"
                );
            }
        }
        let in_time = decide(
            &f,
            &Review::default(),
            0,
            &decider("ann", ApproverRole::Agent),
            &DecisionKind::Approve,
            99,
        )
        .expect("in time");
        assert!(in_time.ready_to_send);
        // The gate agrees: the approval time is inside the review window.
        assert!(
            approve_for_delivery(
                &gate_draft(&f, &in_time.review),
                &in_time.text,
                &in_time.review.approvals
            )
            .is_ok()
        );
    }

    #[test]
    fn an_escalated_draft_needs_a_supervisor_at_send_time_too() {
        let f = facts(ApprovalRequirement::BASELINE);
        let escalated = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Escalate { reason: None },
        )
        .expect("escalate");
        let approved = run(
            &f,
            &escalated.review,
            "sam",
            ApproverRole::Supervisor,
            DecisionKind::Approve,
        )
        .expect("supervisor");
        assert!(approved.ready_to_send);
        let gate = gate_draft(&f, &approved.review);
        assert_eq!(gate.requirement.role, ApproverRole::Supervisor);
        // A stored approval whose role was lowered after the fact does not pass the gate.
        let mut tampered = approved.review.approvals.clone();
        tampered[0].role = ApproverRole::Agent;
        assert!(approve_for_delivery(&gate, &approved.text, &tampered).is_err());
        assert!(approve_for_delivery(&gate, &approved.text, &approved.review.approvals).is_ok());
    }

    #[test]
    fn one_person_cannot_approve_twice_under_another_spelling_or_token() {
        let f = facts(ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 2,
        });
        let first = run(
            &f,
            &Review::default(),
            "Ann Agent",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("first");
        assert_eq!(
            run(
                &f,
                &first.review,
                " ANN agent ",
                ApproverRole::Agent,
                DecisionKind::Approve
            ),
            Err(DecisionRefusal::AlreadyApproved)
        );
        let with_token = |person, token| Decider {
            person,
            token_id: Some(token),
            role: ApproverRole::Agent,
        };
        let one = decide(
            &f,
            &Review::default(),
            0,
            &with_token("Ann", "tok_1"),
            &DecisionKind::Approve,
            7,
        )
        .expect("one");
        assert_eq!(one.review.approvals[0].token_id.as_deref(), Some("tok_1"));
        assert_eq!(
            decide(
                &f,
                &one.review,
                1,
                &with_token("Someone Else", "tok_1"),
                &DecisionKind::Approve,
                8
            ),
            Err(DecisionRefusal::AlreadyApproved)
        );
    }

    #[test]
    fn only_an_approved_draft_can_be_cancelled() {
        let f = facts(ApprovalRequirement::BASELINE);
        let approved = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .expect("approved");
        let cancelled = cancel(&approved.review, "ada", "wrong customer", 9).expect("approved");
        assert_eq!(cancelled.state.name(), "cancelled");
        assert_eq!(cancelled.state.final_at_ms(), Some(9));
        assert_eq!(cancelled.version, approved.review.version + 1);
        assert_eq!(cancel(&cancelled, "ada", "again", 10), None);
        assert_eq!(cancel(&Review::default(), "ada", "open", 10), None);
    }

    #[test]
    fn rejections_need_a_reason_and_blocked_drafts_can_only_be_rejected() {
        let mut f = facts(ApprovalRequirement::BASELINE);
        assert_eq!(
            run(
                &f,
                &Review::default(),
                "ann",
                ApproverRole::Agent,
                DecisionKind::Reject { reason: " ".into() }
            ),
            Err(DecisionRefusal::Invalid("a rejection needs a reason"))
        );
        f.blocked = Some("legal threat");
        assert!(matches!(
            run(
                &f,
                &Review::default(),
                "sam",
                ApproverRole::Supervisor,
                DecisionKind::Approve
            ),
            Err(DecisionRefusal::Blocked(_))
        ));
        let rejected = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Reject {
                reason: "wrong tone".into(),
            },
        )
        .expect("reject");
        assert!(matches!(rejected.review.state, DraftState::Rejected { .. }));
        assert!(!rejected.ready_to_send);
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("héllo", "hello"), 1);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn edit_distance_skips_common_ends_and_bounds_huge_rewrites() {
        let long = "x".repeat(50_000);
        let edited = format!("Hello, {long}. Kind regards");
        assert_eq!(edit_distance(&format!("Hi, {long}. Regards"), &edited), 10);
        // Two long, wholly different texts: the bound, without quadratic work.
        let a = "a".repeat(60_000);
        let b = "b".repeat(50_000);
        assert_eq!(edit_distance(&a, &b), 60_000);
        // The banded search agrees with the full table on small texts of every shape.
        let words = [
            "", "a", "ab", "ba", "abc", "kitten", "sitting", "flaw", "lawn", "héllo",
        ];
        for x in words {
            for y in words {
                assert_eq!(edit_distance(x, y), full_table(x, y), "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn edits_and_escalations_are_counted_and_only_open_drafts_expire() {
        let f = facts(ApprovalRequirement {
            role: ApproverRole::Agent,
            approvers: 2,
        });
        let escalated = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Escalate { reason: None },
        )
        .expect("escalate");
        assert_eq!(escalated.review.escalations, 1);
        let edited = run(
            &f,
            &escalated.review,
            "sue",
            ApproverRole::Supervisor,
            DecisionKind::EditApprove {
                text: "We reset your password today.".into(),
            },
        )
        .expect("edit");
        assert_eq!(edited.review.edit_distance, Some(6));
        let expired = expire(&edited.review, 99).expect("still open");
        assert_eq!(expired.state, DraftState::Expired { at_ms: 99 });
        assert_eq!(expired.version, edited.review.version + 1);
        assert_eq!(expire(&expired, 100), None, "expires once");
        let approved = run(
            &f,
            &Review::default(),
            "ann",
            ApproverRole::Agent,
            DecisionKind::Approve,
        )
        .and_then(|one| {
            run(
                &f,
                &one.review,
                "bob",
                ApproverRole::Agent,
                DecisionKind::Approve,
            )
        })
        .expect("two approvals");
        assert!(approved.ready_to_send);
        assert_eq!(
            expire(&approved.review, 100),
            None,
            "approved drafts do not expire"
        );
    }

    fn full_table(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut previous: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut current = vec![i + 1; b.len() + 1];
            for (j, cb) in b.iter().enumerate() {
                current[j + 1] = (previous[j] + usize::from(ca != *cb))
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1);
            }
            previous = current;
        }
        previous[b.len()]
    }
}
