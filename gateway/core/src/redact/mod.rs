//! Personal data out of AI prompts (invariant 4: the host redacts before any provider sees a
//! prompt).
//!
//! [`Redactor::redact`] replaces email addresses, phone numbers, payment-card numbers (Luhn
//! checked), IBANs (ISO 13616 mod-97 checked), IP addresses and whatever the operator's
//! patterns match ([`RedactionRules`], `[redaction] patterns`) with numbered placeholders —
//! `[EMAIL_1]`, `[PHONE_1]`, `[CARD_1]`, `[IBAN_1]`, `[IP_1]`, `[ORDER_1]` — the same value
//! getting the same placeholder across one plugin call's prompts. [`Redactor::restore`] puts
//! the values back into the provider's answer, except card numbers, which come back masked
//! (`•••• 4242`): a reply never needs one. What was redacted is counted in a
//! [`RedactionSummary`], which ends up in each draft's provenance.
//!
//! The built-in kinds are scanned by hand (`scan.rs`, linear in the text). The operator's
//! patterns are regular expressions compiled once at start-up (`rules.rs`); the `regex` crate
//! matches in linear time and the compiled size is bounded, so no pattern can stall a call.
//! Operator patterns are applied first, on the original text; the built-in scan then runs on
//! what lies between their matches, so no scanner ever looks inside a placeholder.

mod rules;
mod scan;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use rules::{
    MAX_COMPILED_BYTES, MAX_PATTERN_CHARS, MAX_PATTERNS, PatternError, RedactionRules,
};

/// How many values of each kind were taken out of the prompts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RedactionSummary {
    /// Email addresses.
    pub emails: u32,
    /// Phone numbers.
    pub phones: u32,
    /// Payment-card numbers.
    pub cards: u32,
    /// IBANs.
    pub ibans: u32,
    /// IP addresses.
    #[serde(default)]
    pub ips: u32,
    /// Values the operator's patterns matched.
    #[serde(default)]
    pub custom: u32,
}

impl RedactionSummary {
    /// Distinct values redacted, all kinds together.
    pub fn total(&self) -> u32 {
        self.emails + self.phones + self.cards + self.ibans + self.ips + self.custom
    }

    /// The counts that grew since `earlier` (a summary of the same redactor).
    pub fn since(&self, earlier: &RedactionSummary) -> RedactionSummary {
        RedactionSummary {
            emails: self.emails.saturating_sub(earlier.emails),
            phones: self.phones.saturating_sub(earlier.phones),
            cards: self.cards.saturating_sub(earlier.cards),
            ibans: self.ibans.saturating_sub(earlier.ibans),
            ips: self.ips.saturating_sub(earlier.ips),
            custom: self.custom.saturating_sub(earlier.custom),
        }
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &RedactionSummary) {
        self.emails += other.emails;
        self.phones += other.phones;
        self.cards += other.cards;
        self.ibans += other.ibans;
        self.ips += other.ips;
        self.custom += other.custom;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Email,
    Phone,
    Card,
    Iban,
    Ip,
    /// The operator's pattern number `n`.
    Custom(usize),
}

/// The placeholders of one plugin call: which value each stands for.
#[derive(Debug, Default)]
pub struct Redactor {
    rules: Arc<RedactionRules>,
    found: Vec<(Kind, String, String)>,
}

impl Redactor {
    /// A redactor with the built-in kinds only and no placeholders yet.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// A redactor that also applies the operator's `rules`.
    pub fn with_rules(rules: Arc<RedactionRules>) -> Redactor {
        Redactor {
            rules,
            found: Vec::new(),
        }
    }

    /// `text` with every personal value replaced by its placeholder.
    pub fn redact(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, pattern) in self.rules.matches(text) {
            self.redact_builtin(&text[at..start], &mut out);
            let placeholder = self.placeholder(Kind::Custom(pattern), &text[start..end]);
            out.push_str(&placeholder);
            at = end;
        }
        self.redact_builtin(&text[at..], &mut out);
        out
    }

    /// The built-in scan of `text`, appended to `out`.
    fn redact_builtin(&mut self, text: &str, out: &mut String) {
        let mut rest = text;
        while let Some((start, end, kind)) = scan::next_match(rest) {
            out.push_str(&rest[..start]);
            let placeholder = self.placeholder(kind, &rest[start..end]);
            out.push_str(&placeholder);
            rest = &rest[end..];
        }
        out.push_str(rest);
    }

    /// `text` with placeholders put back (cards masked to their last four digits).
    pub fn restore(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest placeholders first, so `[EMAIL_1]` never eats into `[EMAIL_10]`.
        let mut found: Vec<&(Kind, String, String)> = self.found.iter().collect();
        found.sort_by_key(|(_, placeholder, _)| std::cmp::Reverse(placeholder.len()));
        for (kind, placeholder, value) in found {
            let shown = match kind {
                Kind::Card => {
                    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                    format!("•••• {}", &digits[digits.len().saturating_sub(4)..])
                }
                _ => value.clone(),
            };
            out = out.replace(placeholder.as_str(), &shown);
        }
        out
    }

    /// Distinct values redacted so far, by kind.
    pub fn summary(&self) -> RedactionSummary {
        let mut summary = RedactionSummary::default();
        for (kind, _, _) in &self.found {
            match kind {
                Kind::Email => summary.emails += 1,
                Kind::Phone => summary.phones += 1,
                Kind::Card => summary.cards += 1,
                Kind::Iban => summary.ibans += 1,
                Kind::Ip => summary.ips += 1,
                Kind::Custom(_) => summary.custom += 1,
            }
        }
        summary
    }

    fn label(&self, kind: Kind) -> &str {
        match kind {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Card => "CARD",
            Kind::Iban => "IBAN",
            Kind::Ip => "IP",
            Kind::Custom(n) => self.rules.label(n),
        }
    }

    fn placeholder(&mut self, kind: Kind, value: &str) -> String {
        if let Some((_, placeholder, _)) =
            self.found.iter().find(|(k, _, v)| *k == kind && v == value)
        {
            return placeholder.clone();
        }
        let label = self.label(kind);
        let n = self
            .found
            .iter()
            .filter(|(k, _, _)| self.label(*k) == label)
            .count()
            + 1;
        let placeholder = format!("[{label}_{n}]");
        self.found
            .push((kind, placeholder.clone(), value.to_owned()));
        placeholder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_values_become_placeholders_and_come_back_except_cards() {
        let mut redactor = Redactor::new();
        let text = "Hi, I'm ann.lee+shop@example.co.uk, call +49 30 1234567 or (030) 123-4567. \
                    Card 4242 4242 4242 4242, IBAN DE89 3704 0044 0532 0130 00. Mail ann.lee+shop@example.co.uk.";
        let redacted = redactor.redact(text);
        assert_eq!(
            redacted,
            "Hi, I'm [EMAIL_1], call [PHONE_1] or [PHONE_2]. \
             Card [CARD_1], IBAN [IBAN_1]. Mail [EMAIL_1]."
        );
        assert_eq!(
            redactor.summary(),
            RedactionSummary {
                emails: 1,
                phones: 2,
                cards: 1,
                ibans: 1,
                ips: 0,
                custom: 0,
            }
        );
        let answer = "We wrote to [EMAIL_1] about the card [CARD_1] and will call [PHONE_2].";
        assert_eq!(
            redactor.restore(answer),
            "We wrote to ann.lee+shop@example.co.uk about the card •••• 4242 and will call (030) 123-4567."
        );
    }

    #[test]
    fn ordinary_numbers_and_words_stay() {
        let mut redactor = Redactor::new();
        for text in [
            "Order 12345678 arrived on 2026-11-25 at 10.30, invoice INV-2026-0042.",
            "Size 42, 3 items, version 1.2.3, ticket #100234, total 1299.00 EUR.",
            "The card ending 4242 was charged twice: 4242 4242 4242 4241 is not valid.",
            "Email me at ann@localhost or @team on chat.",
            "GB00 is not an IBAN, and DE89 3704 0044 0532 0130 02 fails its check.",
        ] {
            assert_eq!(redactor.redact(text), text, "{text}");
        }
        assert_eq!(redactor.summary().total(), 0);
    }

    #[test]
    fn ip_addresses_are_redacted_and_lookalikes_stay() {
        let mut redactor = Redactor::new();
        let text = "Logins from 203.0.113.7 and 2001:db8::8a2e:370:7334, then ::1 and \
                    192.168.1.20.";
        let redacted = redactor.redact(text);
        assert_eq!(
            redacted,
            "Logins from [IP_1] and [IP_2], then [IP_3] and [IP_4]."
        );
        assert_eq!(redactor.summary().ips, 4);
        assert_eq!(redactor.restore(&redacted), text);
        for text in [
            "Version 1.2.3, build 10.4.2.1.7, meeting at 12:30:45, 256.1.1.1 is no address.",
            "Rust paths like Vec::new and add::more, ratio 3:2, dead:beef.",
            "Order 12345678 on 2026-11-25.",
        ] {
            let mut redactor = Redactor::new();
            assert_eq!(redactor.redact(text), text, "{text}");
        }
    }

    #[test]
    fn the_operators_patterns_apply_first_and_never_inside_a_placeholder() {
        let rules = RedactionRules::new(&[
            ("order".to_owned(), r"AB-[0-9]{6}".to_owned()),
            // Would match the digits inside `[ORDER_1]` were it applied to placeholders.
            ("digits".to_owned(), r"[0-9]{1,2}\]?".to_owned()),
        ])
        .expect("valid");
        let mut redactor = Redactor::with_rules(Arc::new(rules));
        let text = "Order AB-123456 for ann@example.org, again AB-123456.";
        let redacted = redactor.redact(text);
        assert_eq!(redacted, "Order [ORDER_1] for [EMAIL_1], again [ORDER_1].");
        assert_eq!(redactor.summary().custom, 1);
        assert_eq!(redactor.restore(&redacted), text);
    }

    #[test]
    fn placeholders_do_not_collide_past_nine() {
        let mut redactor = Redactor::new();
        let text: Vec<String> = (0..11).map(|i| format!("u{i}@example.com")).collect();
        let redacted = redactor.redact(&text.join(" "));
        assert!(redacted.ends_with("[EMAIL_10] [EMAIL_11]"), "{redacted}");
        assert_eq!(
            redactor.restore("[EMAIL_1] [EMAIL_10]"),
            "u0@example.com u9@example.com"
        );
    }
}
