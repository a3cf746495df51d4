//! What plugins ask the gateway to do, and the limits every plugin's output must respect.
//!
//! No action sends anything to a customer: a [`DraftReply`] only enters the approval queue.
//! There is deliberately no variant that could express "send this text".

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ticket::Priority;

/// A reply proposed to a human agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftReply {
    /// The proposed text.
    pub body: String,
    /// Why the plugin proposes it, shown to the approver.
    pub rationale: String,
    /// 0.0 to 1.0.
    #[serde(serialize_with = "serialize_rounded")]
    pub confidence: f32,
    /// The knowledge the reply is drawn from, as the plugin cites it (contract 0.2.0); the
    /// pipeline moves it into the draft's provenance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::knowledge::Source>,
}

/// Writes an `f32` as the shortest decimal with at most four places (`0.4`, not
/// `0.4000000059604645`).
fn serialize_rounded<S: serde::Serializer>(value: &f32, serializer: S) -> Result<S::Ok, S::Error> {
    let rounded = (f64::from(*value) * 10_000.0).round() / 10_000.0;
    serializer.serialize_f64(rounded)
}

/// A request that a human takes the ticket over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// Why, shown to agents.
    pub reason: String,
}

/// One action returned by a plugin's event handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// A private note for agents.
    InternalNote {
        /// The note's text.
        body: String,
    },
    /// A draft reply for the approval queue.
    DraftReply(DraftReply),
    /// Tags to add to the ticket.
    AddTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// A new priority.
    SetPriority {
        /// The priority.
        priority: Priority,
    },
    /// Hand the ticket to a human; suppresses AI drafts for the event.
    HandOver(Handover),
}

impl Action {
    /// Bytes of text this action carries, as counted against `max_output_bytes`.
    pub fn text_len(&self) -> usize {
        match self {
            Action::InternalNote { body } => body.len(),
            Action::DraftReply(d) => {
                d.body.len()
                    + d.rationale.len()
                    + d.sources
                        .iter()
                        .map(|s| s.id.len() + s.title.len() + s.url.as_deref().map_or(0, str::len))
                        .sum::<usize>()
            }
            Action::AddTags { tags } => tags.iter().map(String::len).sum(),
            Action::SetPriority { .. } => 0,
            Action::HandOver(h) => h.reason.len(),
        }
    }
}

/// Most sources one draft may cite.
pub const MAX_SOURCES: usize = 16;

/// Why a draft's cited sources are refused, if they are: too many, an empty or oversized id,
/// an oversized title, a URL that is not `http(s)` or too long.
fn sources_problem(sources: &[crate::knowledge::Source]) -> Option<String> {
    use crate::knowledge::{MAX_DOC_ID_BYTES, MAX_DOC_TITLE_BYTES, MAX_DOC_URL_BYTES};
    if sources.len() > MAX_SOURCES {
        return Some(format!(
            "{} sources; at most {MAX_SOURCES} may be cited",
            sources.len()
        ));
    }
    for source in sources {
        if source.id.is_empty() || source.id.len() > MAX_DOC_ID_BYTES {
            return Some(format!(
                "a source id must have 1 to {MAX_DOC_ID_BYTES} bytes"
            ));
        }
        if source.title.len() > MAX_DOC_TITLE_BYTES {
            return Some(format!(
                "source `{}`: title over {MAX_DOC_TITLE_BYTES} bytes",
                source.id
            ));
        }
        if let Some(url) = &source.url
            && (url.len() > MAX_DOC_URL_BYTES
                || !(url.starts_with("https://") || url.starts_with("http://")))
        {
            return Some(format!(
                "source `{}`: the URL must be http(s) and at most {MAX_DOC_URL_BYTES} bytes",
                source.id
            ));
        }
    }
    None
}

/// Limits on what one plugin call may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Total bytes of text across all actions of one call.
    pub max_output_bytes: usize,
    /// Number of actions in one call.
    pub max_actions: usize,
    /// Number of tags in one `add_tags` action.
    pub max_tags: usize,
    /// Whether the plugin may return draft replies (`capabilities.draft_replies`).
    pub allows_drafts: bool,
}

impl Default for OutputLimits {
    fn default() -> Self {
        // Shopify Functions cap output at 20 kB; a helpdesk note or draft is text, so we allow
        // more, but keep one call's output well below a webhook body limit.
        OutputLimits {
            max_output_bytes: 64 * 1024,
            max_actions: 16,
            max_tags: 20,
            allows_drafts: true,
        }
    }
}

/// Why a plugin's output was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OutputViolation {
    /// Too many actions.
    #[error("plugin returned {actual} actions, the limit is {limit}")]
    TooManyActions {
        /// Actions returned.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// Too much text.
    #[error("plugin output is {actual} bytes, the limit (limits.max_output_bytes) is {limit}")]
    OutputTooLarge {
        /// Bytes returned.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many tags in one action.
    #[error("add_tags carries {actual} tags, the limit is {limit}")]
    TooManyTags {
        /// Tags returned.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// A policy verdict broke its limits.
    #[error(transparent)]
    Verdict(#[from] crate::approval::VerdictViolation),
    /// A field that must carry text is empty or malformed.
    #[error("action {index} ({kind}): {problem}")]
    Malformed {
        /// Position of the action in the returned list.
        index: usize,
        /// The action's type.
        kind: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl OutputLimits {
    /// Checks a plugin's actions against these limits and their own well-formedness.
    pub fn check(&self, actions: &[Action]) -> Result<(), OutputViolation> {
        if actions.len() > self.max_actions {
            return Err(OutputViolation::TooManyActions {
                actual: actions.len(),
                limit: self.max_actions,
            });
        }
        let total: usize = actions.iter().map(Action::text_len).sum();
        if total > self.max_output_bytes {
            return Err(OutputViolation::OutputTooLarge {
                actual: total,
                limit: self.max_output_bytes,
            });
        }
        for (index, action) in actions.iter().enumerate() {
            let malformed = |kind, problem: &str| OutputViolation::Malformed {
                index,
                kind,
                problem: problem.to_owned(),
            };
            match action {
                Action::InternalNote { body } if body.trim().is_empty() => {
                    return Err(malformed("internal_note", "empty body"));
                }
                Action::DraftReply(_) if !self.allows_drafts => {
                    return Err(malformed(
                        "draft_reply",
                        "the manifest declares capabilities.draft_replies = false",
                    ));
                }
                Action::DraftReply(d) => {
                    if d.body.trim().is_empty() {
                        return Err(malformed("draft_reply", "empty body"));
                    }
                    if !(0.0..=1.0).contains(&d.confidence) {
                        return Err(malformed(
                            "draft_reply",
                            "confidence must be between 0.0 and 1.0",
                        ));
                    }
                    if let Some(problem) = sources_problem(&d.sources) {
                        return Err(malformed("draft_reply", &problem));
                    }
                }
                Action::AddTags { tags } => {
                    if tags.len() > self.max_tags {
                        return Err(OutputViolation::TooManyTags {
                            actual: tags.len(),
                            limit: self.max_tags,
                        });
                    }
                    if let Some(bad) = tags.iter().find(|t| !is_valid_tag(t)) {
                        return Err(malformed(
                            "add_tags",
                            &format!("tag {bad:?} must be 1-64 characters of [A-Za-z0-9_-]"),
                        ));
                    }
                }
                Action::HandOver(h) if h.reason.trim().is_empty() => {
                    return Err(malformed("hand_over", "empty reason"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn is_valid_tag(tag: &str) -> bool {
    (1..=64).contains(&tag.len())
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Applies the "customers can always reach a human" rule to the actions gathered for one
/// event: when any plugin hands the ticket over, every AI draft for that event is dropped.
///
/// Returns the actions to persist and the number of drafts suppressed.
pub fn apply_handover_rule(actions: Vec<Action>) -> (Vec<Action>, usize) {
    if !actions.iter().any(|a| matches!(a, Action::HandOver(_))) {
        return (actions, 0);
    }
    let before = actions.len();
    let kept: Vec<Action> = actions
        .into_iter()
        .filter(|a| !matches!(a, Action::DraftReply(_)))
        .collect();
    let suppressed = before - kept.len();
    (kept, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(body: &str) -> Action {
        Action::InternalNote { body: body.into() }
    }

    fn draft(body: &str, confidence: f32) -> Action {
        Action::DraftReply(DraftReply {
            body: body.into(),
            rationale: "r".into(),
            confidence,
            sources: Vec::new(),
        })
    }

    #[test]
    fn accepts_output_within_limits() {
        let limits = OutputLimits::default();
        assert_eq!(limits.check(&[note("hi"), draft("hello", 0.5)]), Ok(()));
    }

    #[test]
    fn refuses_oversized_output() {
        let limits = OutputLimits {
            max_output_bytes: 10,
            ..OutputLimits::default()
        };
        let err = limits.check(&[note("0123456789A")]).expect_err("too large");
        assert_eq!(
            err,
            OutputViolation::OutputTooLarge {
                actual: 11,
                limit: 10
            }
        );
    }

    #[test]
    fn refuses_too_many_actions() {
        let limits = OutputLimits {
            max_actions: 1,
            ..OutputLimits::default()
        };
        let err = limits.check(&[note("a"), note("b")]).expect_err("too many");
        assert!(matches!(
            err,
            OutputViolation::TooManyActions {
                actual: 2,
                limit: 1
            }
        ));
    }

    #[test]
    fn refuses_malformed_actions() {
        let limits = OutputLimits::default();
        assert!(limits.check(&[note("  ")]).is_err());
        assert!(limits.check(&[draft("x", 1.5)]).is_err());
        assert!(limits.check(&[draft("x", f32::NAN)]).is_err());
        let bad_tag = Action::AddTags {
            tags: vec!["has space".into()],
        };
        assert!(limits.check(&[bad_tag]).is_err());
    }

    #[test]
    fn a_plugin_that_declares_it_does_not_draft_cannot() {
        let limits = OutputLimits {
            allows_drafts: false,
            ..OutputLimits::default()
        };
        assert!(limits.check(&[note("summary")]).is_ok());
        let refused = limits
            .check(&[note("summary"), draft("Hello", 0.5)])
            .expect_err("no drafts");
        assert!(
            refused.to_string().contains("capabilities.draft_replies"),
            "{refused}"
        );
    }

    #[test]
    fn handover_suppresses_drafts() {
        let handover = Action::HandOver(Handover {
            reason: "asked for a person".into(),
        });
        let (kept, suppressed) = apply_handover_rule(vec![draft("x", 0.9), note("n"), handover]);
        assert_eq!(suppressed, 1);
        assert!(!kept.iter().any(|a| matches!(a, Action::DraftReply(_))));
        assert_eq!(kept.len(), 2);

        let (kept, suppressed) = apply_handover_rule(vec![draft("x", 0.9)]);
        assert_eq!((kept.len(), suppressed), (1, 0));
    }

    #[test]
    fn confidence_is_written_without_float_noise() {
        let json = serde_json::to_string(&draft("x", 0.4)).expect("serializes");
        assert!(json.contains(r#""confidence":0.4"#), "{json}");
    }

    #[test]
    fn actions_serialize_with_a_type_tag() {
        let json = serde_json::to_value(note("n")).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"type": "internal_note", "body": "n"})
        );
    }
}
