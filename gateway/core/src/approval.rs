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

/// Limits on what one policy verdict may carry: flags and texts reach the approver's screen,
/// the approval log and insights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerdictLimits {
    /// Flags per verdict.
    pub max_flags: usize,
    /// Bytes of one flag message or block reason.
    pub max_text_bytes: usize,
}

impl Default for VerdictLimits {
    fn default() -> Self {
        VerdictLimits {
            max_flags: 16,
            max_text_bytes: 1024,
        }
    }
}

/// Longest flag code, in bytes.
pub const MAX_FLAG_CODE_BYTES: usize = 64;

/// Why a verdict was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictViolation {
    /// Too many flags.
    #[error("the verdict carries {actual} flags, the limit (limits.max_verdict_flags) is {limit}")]
    TooManyFlags {
        /// Flags returned.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// A flag code outside `[a-z0-9-]`, 1 to 64 bytes, starting with a letter or digit.
    #[error(
        "flag {index}: the code must be 1-{MAX_FLAG_CODE_BYTES} characters of [a-z0-9-], starting with a letter or digit"
    )]
    BadCode {
        /// The flag's position.
        index: usize,
    },
    /// A message or reason that is empty, too long or carries control characters.
    #[error(
        "{what}: {problem} (limits.max_flag_bytes is {limit} bytes; line breaks and tabs are the only control characters allowed)"
    )]
    BadText {
        /// Which text (`flag 2 message`, `block reason`).
        what: String,
        /// What is wrong.
        problem: &'static str,
        /// The limit.
        limit: usize,
    },
}

fn check_text(
    text: &str,
    what: impl FnOnce() -> String,
    limit: usize,
) -> Result<(), VerdictViolation> {
    let problem = if text.trim().is_empty() {
        Some("empty")
    } else if text.len() > limit {
        Some("too long")
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        Some("control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(VerdictViolation::BadText {
            what: what(),
            problem,
            limit,
        }),
        None => Ok(()),
    }
}

impl VerdictLimits {
    /// Checks a verdict: flag count, flag codes' charset, messages' and reason's length.
    pub fn check(&self, verdict: &Verdict) -> Result<(), VerdictViolation> {
        if verdict.flags.len() > self.max_flags {
            return Err(VerdictViolation::TooManyFlags {
                actual: verdict.flags.len(),
                limit: self.max_flags,
            });
        }
        for (index, flag) in verdict.flags.iter().enumerate() {
            let code = flag.code.as_bytes();
            let code_ok = !code.is_empty()
                && code.len() <= MAX_FLAG_CODE_BYTES
                && code[0] != b'-'
                && code
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
            if !code_ok {
                return Err(VerdictViolation::BadCode { index });
            }
            check_text(
                &flag.message,
                || format!("flag {index} message"),
                self.max_text_bytes,
            )?;
        }
        if let Decision::Block { reason } = &verdict.decision {
            check_text(reason, || "block reason".to_owned(), self.max_text_bytes)?;
        }
        Ok(())
    }
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
    fn verdicts_are_bounded_in_flags_codes_and_texts() {
        let limits = VerdictLimits::default();
        let flag = |code: &str, message: &str| Flag {
            code: code.into(),
            message: message.into(),
        };
        let mut verdict = require(ApproverRole::Agent, 1);
        verdict.flags = vec![flag("prompt-injection", "Check the draft.\nLine two.")];
        assert_eq!(limits.check(&verdict), Ok(()));
        verdict.flags = vec![flag("x", "m"); 17];
        assert!(matches!(
            limits.check(&verdict),
            Err(VerdictViolation::TooManyFlags { actual: 17, .. })
        ));
        for code in [
            "",
            "-x",
            "Upper",
            "with space",
            "emoji-\u{1f600}",
            &"a".repeat(65),
        ] {
            verdict.flags = vec![flag(code, "m")];
            assert_eq!(
                limits.check(&verdict),
                Err(VerdictViolation::BadCode { index: 0 }),
                "{code:?}"
            );
        }
        for message in ["", "  ", &"m".repeat(1025), "bell\u{7}", "\u{1b}[31mred"] {
            verdict.flags = vec![flag("ok", message)];
            assert!(
                matches!(
                    limits.check(&verdict),
                    Err(VerdictViolation::BadText { .. })
                ),
                "{message:?}"
            );
        }
        let block = Verdict {
            decision: Decision::Block {
                reason: "r".repeat(2000),
            },
            flags: vec![],
        };
        assert!(limits.check(&block).is_err());
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
