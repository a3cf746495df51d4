//! The operator's redaction patterns (`[redaction] patterns = [{ name, regex }]`): compiled
//! once, at start-up, so a mistake stops the start with the pattern's name instead of letting
//! data through. A pattern's name, upper-cased, is its placeholder's label (`order` →
//! `[ORDER_1]`).
//!
//! Bounded by construction: the `regex` crate matches in time linear in the text (no
//! backtracking), the compiled program is limited to [`MAX_COMPILED_BYTES`], a pattern to
//! [`MAX_PATTERN_CHARS`], and a pattern that matches the empty string — which would match
//! between every two characters — is refused.

use regex::{Regex, RegexBuilder};
use thiserror::Error;

/// Longest pattern accepted, in characters.
pub const MAX_PATTERN_CHARS: usize = 1_000;
/// Most patterns accepted.
pub const MAX_PATTERNS: usize = 64;
/// Largest compiled program accepted, in bytes.
pub const MAX_COMPILED_BYTES: usize = 1 << 20;

/// Names of the built-in kinds, which no pattern may take.
const BUILT_IN: &[&str] = &["email", "phone", "card", "iban", "ip"];

/// A pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("redaction pattern `{name}`: {reason}")]
pub struct PatternError {
    /// The pattern's name as configured.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug)]
struct Pattern {
    label: String,
    regex: Regex,
}

/// The operator's patterns, compiled.
#[derive(Debug, Default)]
pub struct RedactionRules {
    patterns: Vec<Pattern>,
}

impl RedactionRules {
    /// Compiles `(name, regex)` pairs, in order (an earlier pattern wins a tie).
    pub fn new(patterns: &[(String, String)]) -> Result<RedactionRules, PatternError> {
        if patterns.len() > MAX_PATTERNS {
            return Err(PatternError {
                name: patterns[MAX_PATTERNS].0.clone(),
                reason: format!("at most {MAX_PATTERNS} patterns"),
            });
        }
        let mut compiled: Vec<Pattern> = Vec::with_capacity(patterns.len());
        for (name, text) in patterns {
            let refuse = |reason: String| PatternError {
                name: name.clone(),
                reason,
            };
            let valid_name = name.len() <= 31
                && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid_name {
                return Err(refuse(
                    "a name is 1–31 lower-case letters, digits or `_`, starting with a letter"
                        .into(),
                ));
            }
            if BUILT_IN.contains(&name.as_str()) {
                return Err(refuse(format!("`{name}` is redacted already (built in)")));
            }
            let label = name.to_ascii_uppercase();
            if compiled.iter().any(|p| p.label == label) {
                return Err(refuse("two patterns have this name".into()));
            }
            if text.chars().count() > MAX_PATTERN_CHARS {
                return Err(refuse(format!(
                    "longer than {MAX_PATTERN_CHARS} characters"
                )));
            }
            let regex = RegexBuilder::new(text)
                .size_limit(MAX_COMPILED_BYTES)
                .dfa_size_limit(MAX_COMPILED_BYTES)
                .build()
                .map_err(|e| refuse(format!("not a valid regular expression: {e}")))?;
            if regex.is_match("") {
                return Err(refuse(
                    "it matches the empty string, so it would match everywhere".into(),
                ));
            }
            compiled.push(Pattern { label, regex });
        }
        Ok(RedactionRules { patterns: compiled })
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The placeholder label of pattern `n`.
    pub(super) fn label(&self, n: usize) -> &str {
        self.patterns
            .get(n)
            .map_or("REDACTED", |p| p.label.as_str())
    }

    /// Every pattern's matches in `text` that do not overlap an earlier-starting (or, from the
    /// same place, longer) one: `(start, end, pattern)`, in order.
    pub(super) fn matches(&self, text: &str) -> Vec<(usize, usize, usize)> {
        if self.patterns.is_empty() {
            return Vec::new();
        }
        let mut all: Vec<(usize, usize, usize)> = self
            .patterns
            .iter()
            .enumerate()
            .flat_map(|(n, p)| {
                p.regex
                    .find_iter(text)
                    .map(move |m| (m.start(), m.end(), n))
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut kept: Vec<(usize, usize, usize)> = Vec::with_capacity(all.len());
        for m in all {
            if kept.last().is_none_or(|last| m.0 >= last.1) {
                kept.push(m);
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(patterns: &[(&str, &str)]) -> Result<RedactionRules, PatternError> {
        let owned: Vec<(String, String)> = patterns
            .iter()
            .map(|(n, r)| ((*n).to_owned(), (*r).to_owned()))
            .collect();
        RedactionRules::new(&owned)
    }

    #[test]
    fn mistakes_name_the_pattern() {
        let cases = [
            (("Order", "X"), "a name is"),
            (("email", "x@y"), "built in"),
            (("order", "([A-Z]"), "not a valid regular expression"),
            (("order", "[0-9]*"), "matches the empty string"),
            (("order", "a{1000}{1000}"), "not a valid regular expression"),
        ];
        for ((name, regex), words) in cases {
            let error = rules(&[(name, regex)]).expect_err(regex);
            assert_eq!(error.name, name);
            assert!(error.to_string().contains(words), "{error}");
        }
        let error = rules(&[("order", "A"), ("order", "B")]).expect_err("twice");
        assert!(error.reason.contains("two patterns"), "{error}");
    }

    #[test]
    fn overlapping_matches_keep_the_leftmost_then_the_longest() {
        let rules = rules(&[("short", "AB-[0-9]{3}"), ("long", "AB-[0-9]{6}")]).expect("valid");
        let text = "AB-123456 and AB-789";
        let found: Vec<(usize, usize, usize)> = rules.matches(text);
        assert_eq!(found, [(0, 9, 1), (14, 20, 0)]);
    }
}
