//! The built-in scanners: hand-written, linear in the text, no regular expressions. Email
//! addresses, IPv4 and IPv6 addresses, IBANs (mod-97 checked), payment cards (Luhn checked)
//! and phone numbers; ordinary numbers (orders, invoices, dates, versions of three parts) stay.

use super::Kind;

/// The first personal value in `text`: byte range and kind.
pub(super) fn next_match(text: &str) -> Option<(usize, usize, Kind)> {
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
        // Before numbers: `192.168.1.20` would otherwise read as a phone number.
        if starts_token
            && (b.is_ascii_hexdigit() || b == b':')
            && (i == 0 || bytes[i - 1] != b'.')
            && let Some(end) = ip_from(bytes, i)
        {
            return Some((i, end, Kind::Ip));
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

/// An IP address starting at `start`: IPv4 as four decimal parts of at most 255, or IPv6 as
/// the standard library reads it (with at least two colons and a digit, so `add::` or a
/// time such as `12:30` is no address). Not part of a longer dotted or colon-joined token.
fn ip_from(bytes: &[u8], start: usize) -> Option<usize> {
    let mut end = start;
    while end < bytes.len() && (bytes[end].is_ascii_hexdigit() || b".:".contains(&bytes[end])) {
        end += 1;
    }
    // A sentence's full stop or a trailing colon is not part of the address.
    while end > start && b".:".contains(&bytes[end - 1]) && !bytes[..end].ends_with(b"::") {
        end -= 1;
    }
    if end < bytes.len() && (is_word(bytes[end]) || bytes[end] == b'%') {
        return None;
    }
    let text = std::str::from_utf8(&bytes[start..end]).ok()?;
    if text.contains(':') {
        let colons = text.bytes().filter(|&b| b == b':').count();
        let digit = text.bytes().any(|b| b.is_ascii_digit());
        (colons >= 2 && digit && text.parse::<std::net::Ipv6Addr>().is_ok()).then_some(end)
    } else {
        let parts: Vec<&str> = text.split('.').collect();
        let octets = parts.len() == 4
            && parts.iter().all(|p| {
                (1..=3).contains(&p.len())
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && p.parse::<u16>().is_ok_and(|n| n <= 255)
            });
        octets.then_some(end)
    }
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
