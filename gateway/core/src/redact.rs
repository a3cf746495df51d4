//! Personal data out of AI prompts (invariant 4: the host redacts before any provider sees a
//! prompt).
//!
//! [`Redactor::redact`] replaces email addresses, phone numbers, payment-card numbers (Luhn
//! checked) and IBANs (ISO 13616 mod-97 checked) with numbered placeholders — `[EMAIL_1]`,
//! `[PHONE_1]`, `[CARD_1]`, `[IBAN_1]` — the same value getting the same placeholder across
//! one plugin call's prompts. [`Redactor::restore`] puts the values back into the provider's
//! answer, except card numbers, which come back masked (`•••• 4242`): a reply never needs one.
//! What was redacted is counted in a [`RedactionSummary`], which ends up in each draft's
//! provenance.
//!
//! Scanning is by hand (no regular expressions) and linear in the text.

use serde::{Deserialize, Serialize};

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
}

impl RedactionSummary {
    /// Distinct values redacted, all kinds together.
    pub fn total(&self) -> u32 {
        self.emails + self.phones + self.cards + self.ibans
    }

    /// The counts that grew since `earlier` (a summary of the same redactor).
    pub fn since(&self, earlier: &RedactionSummary) -> RedactionSummary {
        RedactionSummary {
            emails: self.emails.saturating_sub(earlier.emails),
            phones: self.phones.saturating_sub(earlier.phones),
            cards: self.cards.saturating_sub(earlier.cards),
            ibans: self.ibans.saturating_sub(earlier.ibans),
        }
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &RedactionSummary) {
        self.emails += other.emails;
        self.phones += other.phones;
        self.cards += other.cards;
        self.ibans += other.ibans;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Email,
    Phone,
    Card,
    Iban,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Card => "CARD",
            Kind::Iban => "IBAN",
        }
    }
}

/// The placeholders of one plugin call: which value each stands for.
#[derive(Debug, Default)]
pub struct Redactor {
    found: Vec<(Kind, String, String)>,
}

impl Redactor {
    /// A redactor with no placeholders yet.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// `text` with every personal value replaced by its placeholder.
    pub fn redact(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((start, end, kind)) = next_match(rest) {
            out.push_str(&rest[..start]);
            let placeholder = self.placeholder(kind, &rest[start..end]);
            out.push_str(&placeholder);
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
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
            }
        }
        summary
    }

    fn placeholder(&mut self, kind: Kind, value: &str) -> String {
        if let Some((_, placeholder, _)) =
            self.found.iter().find(|(k, _, v)| *k == kind && v == value)
        {
            return placeholder.clone();
        }
        let n = self.found.iter().filter(|(k, _, _)| *k == kind).count() + 1;
        let placeholder = format!("[{}_{n}]", kind.label());
        self.found
            .push((kind, placeholder.clone(), value.to_owned()));
        placeholder
    }
}

/// The first personal value in `text`: byte range and kind.
fn next_match(text: &str) -> Option<(usize, usize, Kind)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let starts_token = i == 0 || !is_word(bytes[i - 1]);
        if b == b'@'
            && let Some((start, end)) = email_at(bytes, i)
        {
            return Some((start, end, Kind::Email));
        }
        if starts_token
            && b.is_ascii_uppercase()
            && let Some(end) = iban_from(bytes, i)
        {
            return Some((i, end, Kind::Iban));
        }
        if starts_token && (b.is_ascii_digit() || b == b'+' || b == b'(') {
            match number_from(bytes, i) {
                (end, Some(kind)) => return Some((i, end, kind)),
                // A number that is neither (an order number, an invalid card): none of its
                // groups is looked at again on its own.
                (end, None) => {
                    i = end.max(i + 1);
                    continue;
                }
            }
        }
        i += 1;
    }
    None
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// An email address around the `@` at `at`.
fn email_at(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let mut start = at;
    while start > 0 && local(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = at + 1;
    while end < bytes.len()
        && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'-' || bytes[end] == b'.')
    {
        end += 1;
    }
    // A sentence's full stop is not part of the domain.
    while end > at + 1 && bytes[end - 1] == b'.' {
        end -= 1;
    }
    let domain = std::str::from_utf8(&bytes[at + 1..end]).ok()?;
    let tld = domain.rsplit('.').next()?;
    let valid = start < at
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.contains("..")
        && tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic());
    valid.then_some((start, end))
}

/// An IBAN starting at `start`: two letters, two check digits, 11–30 letters and digits,
/// optionally grouped by single spaces, passing the mod-97 check.
fn iban_from(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.len() < start + 15
        || !bytes[start + 1].is_ascii_uppercase()
        || !bytes[start + 2].is_ascii_digit()
        || !bytes[start + 3].is_ascii_digit()
    {
        return None;
    }
    let mut compact = Vec::new();
    let mut end = start;
    let mut i = start;
    while i < bytes.len() && compact.len() < 34 {
        let b = bytes[i];
        if b.is_ascii_uppercase() || b.is_ascii_digit() {
            compact.push(b);
            i += 1;
            end = i;
        } else if b == b' ' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_alphanumeric() {
            i += 1;
        } else {
            break;
        }
    }
    if compact.len() < 15 || (end < bytes.len() && is_word(bytes[end])) {
        return None;
    }
    // Move the first four characters to the end, letters to numbers, remainder 1 mod 97.
    let mut remainder = 0u32;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    (remainder == 1).then_some(end)
}

/// A phone or card number starting at `start`: digits with single spaces, dashes, dots or
/// parentheses between them; 13–19 digits passing Luhn is a card.
fn number_from(bytes: &[u8], start: usize) -> (usize, Option<Kind>) {
    let mut digits = Vec::new();
    let mut end = start;
    let mut i = start;
    if bytes[i] == b'+' {
        i += 1;
    }
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            digits.push(b - b'0');
            i += 1;
            end = i;
        } else if b" -.()".contains(&b) && i + 1 < bytes.len() {
            let next = bytes[i + 1];
            if next.is_ascii_digit() || (b == b' ' && next == b'(') || (b == b')' && next == b' ') {
                i += 1;
            } else if b == b')' {
                i += 1;
                end = i;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    if end < bytes.len() && is_word(bytes[end]) {
        return (end, None);
    }
    let text = std::str::from_utf8(&bytes[start..end]).unwrap_or_default();
    if (13..=19).contains(&digits.len()) && luhn(&digits) {
        return (end, Some(Kind::Card));
    }
    // A phone number: 7–15 digits after a leading `+`, or 9–15 digits written with
    // separators. Shorter runs (order, invoice and ticket numbers, dates, sizes) stay.
    let international = text.starts_with('+') && (7..=15).contains(&digits.len());
    let separated = text.contains([' ', '-', '.', '(']) && (9..=15).contains(&digits.len());
    (end, (international || separated).then_some(Kind::Phone))
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
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
                ibans: 1
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
