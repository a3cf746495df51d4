//! The part of a customer's message the AI should see: what they wrote this time, without the
//! history their mail program quoted below it or their signature.
//!
//! A message is cut at the first line that starts quoted history or a signature, when some
//! text stands before it (a message that is nothing but a quote is kept whole):
//!
//! - the signature delimiter `-- ` (RFC 3676 §4.3) — also without its trailing space;
//! - an attribution line (`On Mon, 3 Jun 2026, Ana <ana@…> wrote:`): it ends in a colon,
//!   says `wrote` or its German, French, Spanish, Dutch or Chinese form (`schrieb`,
//!   `a écrit`, `escribió`, `schreef`, `写道`), and names an address or opens like one
//!   (`On`, `Am`, `Le`, `El`, `Op`, `在`) — also when the mail program wrapped it over two
//!   lines;
//! - Outlook's `-----Original Message-----` and a `From:` header block (`From:` followed by
//!   `Sent:`/`Date:` within two lines);
//! - a run of `>` lines.

/// Longest attribution a wrapped line pair may make, characters.
const MAX_ATTRIBUTION_CHARS: usize = 300;

/// `text` without quoted history and signature. One pass over the lines (a crafted mail of
/// many `>` lines costs no more than its length).
pub fn strip_quotes(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // Whether the customer wrote something of their own before the line looked at.
    let mut own_text_before = false;
    let mut cut = None;
    for at in 0..lines.len() {
        if own_text_before && starts_history(&lines, at) {
            cut = Some(at);
            break;
        }
        let line = lines[at].trim();
        own_text_before |= !line.is_empty() && !line.starts_with('>');
    }
    let kept = match cut {
        Some(at) => &lines[..at],
        None => &lines[..],
    };
    kept.join("\n").trim().to_owned()
}

fn starts_history(lines: &[&str], at: usize) -> bool {
    let line = lines[at];
    let trimmed = line.trim();
    if line == "-- " || trimmed == "--" {
        return true;
    }
    if trimmed.starts_with('>') {
        return true;
    }
    let lower = trimmed.to_lowercase();
    if lower.contains("original message") && lower.starts_with("-----") {
        return true;
    }
    if attribution(&lower) {
        return true;
    }
    // An attribution wrapped over two lines.
    if let Some(next) = lines.get(at + 1) {
        let joined = format!("{lower} {}", next.trim().to_lowercase());
        if joined.chars().count() <= MAX_ATTRIBUTION_CHARS && attribution(&joined) {
            return true;
        }
    }
    if lower.starts_with("from:") {
        return lines.iter().skip(at + 1).take(2).any(|l| {
            let l = l.trim().to_lowercase();
            l.starts_with("sent:") || l.starts_with("date:")
        });
    }
    false
}

fn attribution(lower: &str) -> bool {
    const VERBS: &[&str] = &[
        " wrote",
        " schrieb",
        " a écrit",
        " escribió",
        " schreef",
        "写道",
    ];
    const OPENINGS: &[&str] = &["on ", "am ", "le ", "el ", "op ", "在"];
    lower.chars().count() <= MAX_ATTRIBUTION_CHARS
        && (lower.ends_with(':') || lower.ends_with('：'))
        && VERBS.iter().any(|verb| lower.contains(verb))
        && (lower.contains('@') || OPENINGS.iter().any(|o| lower.starts_with(o)))
}

#[cfg(test)]
mod tests {
    use super::strip_quotes;

    #[test]
    fn history_and_signatures_are_cut() {
        let reply = "Thanks, that worked!\n\nOn Tue, 1 Dec 2026 at 10:02, Support <support@acme.test> wrote:\n> Please try again.\n> Best, Ana";
        assert_eq!(strip_quotes(reply), "Thanks, that worked!");
        let wrapped = "Still broken.\n\nOn Tue, 1 Dec 2026 at 10:02, Acme Support\n<support@acme.test> wrote:\n> Please try again.";
        assert_eq!(strip_quotes(wrapped), "Still broken.");
        let signed = "Where is my parcel?\n-- \nAna Lima\nCEO, Lima Ltd";
        assert_eq!(strip_quotes(signed), "Where is my parcel?");
        let outlook = "See below.\r\n\r\nFrom: Support <support@acme.test>\r\nSent: Tuesday\r\nSubject: Re: order";
        assert_eq!(strip_quotes(outlook), "See below.");
        let german = "Danke!\nAm 01.12.2026 um 10:02 schrieb Support <support@acme.test>:\n> Hallo";
        assert_eq!(strip_quotes(german), "Danke!");
        let chinese = "还是没有收到。\n\n在 2026年12月1日 10:02，Support <support@acme.test> 写道：\n> 请再试一次";
        assert_eq!(strip_quotes(chinese), "还是没有收到。");
        let original = "Ok\n-----Original Message-----\nFrom: x";
        assert_eq!(strip_quotes(original), "Ok");
    }

    #[test]
    fn a_message_that_is_only_a_quote_or_has_none_stays_whole() {
        assert_eq!(
            strip_quotes("> only a quote\n> here"),
            "> only a quote\n> here"
        );
        let plain = "I paid twice.\nFrom: the bank statement it looks like both went through.";
        assert_eq!(strip_quotes(plain), plain);
        assert_eq!(strip_quotes(""), "");
    }
}
