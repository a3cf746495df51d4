//! Approval requirements on drafts and how policy verdicts combine.
//!
//! Invariant: policy plugins can only make approval *stricter*. Every draft needs at least one
//! agent's approval ([`ApprovalRequirement::BASELINE`]); [`combine_verdicts`] takes the
//! strictest role and the largest approver count any verdict asks for, and any block wins.

use serde::{Deserialize, Serialize};

/// A role that may approve drafts, ordered from least to most privileged.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ApproverRole {
    /// Any agent.
    Agent,
    /// A supervisor.
    Supervisor,
}

/// What approval a draft needs before it may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequirement {
    /// The least role an approver must hold.
    pub role: ApproverRole,
    /// Distinct approvers needed.
    pub approvers: u8,
}

impl ApprovalRequirement {
    /// The floor every draft starts from: one agent approval.
    pub const BASELINE: ApprovalRequirement = ApprovalRequirement {
        role: ApproverRole::Agent,
        approvers: 1,
    };

    /// The stricter of two requirements, field by field.
    pub fn stricter(self, other: ApprovalRequirement) -> ApprovalRequirement {
        ApprovalRequirement {
            role: self.role.max(other.role),
            approvers: self.approvers.max(other.approvers).max(1),
        }
    }
}

/// A note for the approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// Machine-readable code, e.g. `prompt-injection`.
    pub code: String,
    /// Text shown to the approver.
    pub message: String,
}

/// A policy plugin's decision on one draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Decision {
    /// The draft may be offered, with this requirement.
    RequireApproval(ApprovalRequirement),
    /// The draft must not be offered.
    Block {
        /// Why.
        reason: String,
    },
}

/// A policy plugin's verdict on one draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// Notes for the approver.
    pub flags: Vec<Flag>,
}

/// Combines the verdicts of every policy plugin into one, never looser than
/// [`ApprovalRequirement::BASELINE`]. Any block wins; flags are kept from all verdicts.
pub fn combine_verdicts<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Verdict {
    let mut requirement = ApprovalRequirement::BASELINE;
    let mut block: Option<String> = None;
    let mut flags = Vec::new();
    for verdict in verdicts {
        match &verdict.decision {
            Decision::RequireApproval(r) => requirement = requirement.stricter(*r),
            Decision::Block { reason } => {
                block.get_or_insert_with(|| reason.clone());
            }
        }
        flags.extend(verdict.flags.iter().cloned());
    }
    let decision = match block {
        Some(reason) => Decision::Block { reason },
        None => Decision::RequireApproval(requirement),
    };
    Verdict { decision, flags }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn require(role: ApproverRole, approvers: u8) -> Verdict {
        Verdict {
            decision: Decision::RequireApproval(ApprovalRequirement { role, approvers }),
            flags: vec![],
        }
    }

    #[test]
    fn no_policy_means_one_agent() {
        let combined = combine_verdicts([]);
        assert_eq!(
            combined.decision,
            Decision::RequireApproval(ApprovalRequirement::BASELINE)
        );
    }

    #[test]
    fn a_policy_cannot_loosen_the_baseline() {
        let combined = combine_verdicts([&require(ApproverRole::Agent, 0)]);
        assert_eq!(
            combined.decision,
            Decision::RequireApproval(ApprovalRequirement::BASELINE)
        );
    }

    #[test]
    fn the_strictest_requirement_wins_in_any_order() {
        let a = require(ApproverRole::Supervisor, 1);
        let b = require(ApproverRole::Agent, 2);
        let expected = Decision::RequireApproval(ApprovalRequirement {
            role: ApproverRole::Supervisor,
            approvers: 2,
        });
        assert_eq!(combine_verdicts([&a, &b]).decision, expected);
        assert_eq!(combine_verdicts([&b, &a]).decision, expected);
    }

    #[test]
    fn a_block_wins_and_flags_are_kept() {
        let mut a = require(ApproverRole::Agent, 1);
        a.flags.push(Flag {
            code: "prompt-injection".into(),
            message: "m".into(),
        });
        let b = Verdict {
            decision: Decision::Block {
                reason: "legal".into(),
            },
            flags: vec![],
        };
        let combined = combine_verdicts([&a, &b]);
        assert_eq!(
            combined.decision,
            Decision::Block {
                reason: "legal".into()
            }
        );
        assert_eq!(combined.flags.len(), 1);
    }
}
