//! What plugins may change on a ticket without a human, per helpdesk.
//!
//! Tags and priority look internal, but helpdesks act on them: a Zendesk trigger can email
//! the requester when a tag appears, an SLA policy can page someone on `urgent`. So a
//! plugin's tags and priority are written only when the operator allows it for that
//! helpdesk: tags that match one of the helpdesk's patterns (by default only tags that start
//! with `deskbridge`), and priority changes only when switched on (off by default). Anything
//! else becomes a [`Suggestion`] that a human sees on the draft or in a private note, and
//! decides on; it is never written.

use serde::{Deserialize, Serialize};

use crate::ticket::Priority;

/// The tag pattern a helpdesk gets when its config names none.
pub const DEFAULT_TAG_PATTERN: &str = "deskbridge*";

/// Longest tag pattern, in bytes.
pub const MAX_TAG_PATTERN_BYTES: usize = 255;

/// A tag pattern: literal text in which `*` stands for any run of characters (also none).
/// Compared without regard to ASCII case, as helpdesks store tags lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPattern {
    pattern: String,
}

/// A tag pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a tag pattern: 1 to {MAX_TAG_PATTERN_BYTES} bytes of tag characters (no spaces or commas), `*` for any run"
)]
pub struct BadTagPattern(pub String);

impl TagPattern {
    /// Parses a pattern such as `deskbridge*`, `triage-*` or `vip`.
    pub fn parse(pattern: &str) -> Result<TagPattern, BadTagPattern> {
        let valid = !pattern.is_empty()
            && pattern.len() <= MAX_TAG_PATTERN_BYTES
            && !pattern
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',');
        if !valid {
            return Err(BadTagPattern(pattern.to_owned()));
        }
        Ok(TagPattern {
            pattern: pattern.to_ascii_lowercase(),
        })
    }

    /// The pattern as written (lower-cased).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `tag` matches.
    pub fn matches(&self, tag: &str) -> bool {
        glob_matches(self.pattern.as_bytes(), tag.to_ascii_lowercase().as_bytes())
    }
}

/// `*`-only glob matching, linear in practice (the classic backtrack-to-last-star walk).
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// What plugins may write to one helpdesk's tickets without a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritePolicy {
    /// Tags matching one of these are written; others become suggestions.
    pub tags: Vec<TagPattern>,
    /// Whether a plugin's priority change is written (otherwise it is a suggestion).
    pub priority: bool,
}

impl Default for WritePolicy {
    /// Only tags that start with `deskbridge`; no priority changes.
    fn default() -> WritePolicy {
        WritePolicy {
            tags: vec![TagPattern {
                pattern: DEFAULT_TAG_PATTERN.to_owned(),
            }],
            priority: false,
        }
    }
}

/// Something a plugin wanted to change that the helpdesk's policy leaves to a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Suggestion {
    /// Tags the plugin wanted to add.
    Tags {
        /// The plugin.
        plugin: String,
        /// The tags not written.
        tags: Vec<String>,
    },
    /// A priority the plugin wanted to set.
    Priority {
        /// The plugin.
        plugin: String,
        /// The priority not set.
        priority: Priority,
    },
}

impl Suggestion {
    /// One line for a person: what was suggested, by whom.
    pub fn describe(&self) -> String {
        match self {
            Suggestion::Tags { plugin, tags } => {
                format!("add the tags {} (from {plugin})", tags.join(", "))
            }
            Suggestion::Priority { plugin, priority } => {
                let name = match priority {
                    Priority::Low => "low",
                    Priority::Normal => "normal",
                    Priority::High => "high",
                    Priority::Urgent => "urgent",
                };
                format!("set the priority to {name} (from {plugin})")
            }
        }
    }
}

impl WritePolicy {
    /// Whether `tag` may be written.
    pub fn allows_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|pattern| pattern.matches(tag))
    }

    /// Splits a plugin's tags into those to write and, if any are left, a suggestion.
    pub fn split_tags(&self, plugin: &str, tags: Vec<String>) -> (Vec<String>, Option<Suggestion>) {
        let (allowed, refused): (Vec<String>, Vec<String>) =
            tags.into_iter().partition(|tag| self.allows_tag(tag));
        let suggestion = (!refused.is_empty()).then(|| Suggestion::Tags {
            plugin: plugin.to_owned(),
            tags: refused,
        });
        (allowed, suggestion)
    }

    /// A plugin's priority: `Ok` to write it, `Err` with the suggestion otherwise.
    pub fn check_priority(&self, plugin: &str, priority: Priority) -> Result<Priority, Suggestion> {
        if self.priority {
            Ok(priority)
        } else {
            Err(Suggestion::Priority {
                plugin: plugin.to_owned(),
                priority,
            })
        }
    }

    /// What the policy allows, in words (for notes and logs).
    pub fn describe(&self) -> String {
        let patterns: Vec<&str> = self.tags.iter().map(TagPattern::as_str).collect();
        let tags = if patterns.is_empty() {
            "no tags".to_owned()
        } else {
            format!("only tags matching {}", patterns.join(", "))
        };
        let priority = if self.priority {
            "priority changes"
        } else {
            "no priority changes"
        };
        format!("{tags}, {priority}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> TagPattern {
        TagPattern::parse(text).expect("valid pattern")
    }

    #[test]
    fn patterns_match_whole_tags_with_stars_for_any_run() {
        let cases: [(&str, &str, bool); 12] = [
            ("deskbridge*", "deskbridge", true),
            ("deskbridge*", "deskbridge-handover", true),
            ("deskbridge*", "Deskbridge-Handover", true),
            ("deskbridge*", "x-deskbridge", false),
            ("deskbridge*", "deskbridg", false),
            ("vip", "vip", true),
            ("vip", "vip2", false),
            ("*-triage", "billing-triage", true),
            ("*-triage", "billing-triage-x", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXcYYb", false),
            ("*", "anything", true),
        ];
        for (p, tag, expected) in cases {
            assert_eq!(pattern(p).matches(tag), expected, "{p} vs {tag}");
        }
        for bad in ["", "two words", "a,b", &"x".repeat(256)] {
            assert!(TagPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn by_default_only_deskbridge_tags_and_no_priority() {
        let policy = WritePolicy::default();
        let (written, suggestion) = policy.split_tags(
            "triage",
            vec!["deskbridge-handover".into(), "refund-approved".into()],
        );
        assert_eq!(written, ["deskbridge-handover"]);
        assert_eq!(
            suggestion,
            Some(Suggestion::Tags {
                plugin: "triage".into(),
                tags: vec!["refund-approved".into()],
            })
        );
        let refused = policy
            .check_priority("human-handover", Priority::High)
            .expect_err("no priority by default");
        assert_eq!(
            refused.describe(),
            "set the priority to high (from human-handover)"
        );
        assert_eq!(
            policy.describe(),
            "only tags matching deskbridge*, no priority changes"
        );
    }

    #[test]
    fn an_operator_can_widen_or_close_the_policy() {
        let open = WritePolicy {
            tags: vec![pattern("deskbridge*"), pattern("vip")],
            priority: true,
        };
        assert_eq!(
            open.check_priority("p", Priority::Urgent),
            Ok(Priority::Urgent)
        );
        assert_eq!(open.split_tags("p", vec!["vip".into()]).1, None);
        let closed = WritePolicy {
            tags: Vec::new(),
            priority: false,
        };
        let (written, suggestion) = closed.split_tags("p", vec!["deskbridge-x".into()]);
        assert!(written.is_empty());
        assert!(suggestion.is_some());
        assert_eq!(closed.describe(), "no tags, no priority changes");
    }
}
