//! The user message as the plugins write it, taken apart.
//!
//! It opens with `Key: value` metadata (`Subject:`, `Customer name:`, optionally `Ticket ID:`),
//! then the transcript: every `Customer: …`, `Agent: …`, `Bot: …`, `System: …` or
//! `Internal note (agent): …` line starts a message, and the lines after it continue that
//! message. A prompt without speaker lines is one message.
//!
//! Each message is cleaned before anything reads it, conservatively:
//! - lines starting with `>` (quoted history) are dropped;
//! - the message is cut at a reply attribution that carries a date or an address
//!   (`On Mon, 3 Jun 2024 at 10:00, Bob <bob@example.com> wrote:`, also wrapped over two lines;
//!   German `Am … schrieb …:`, French `Le … a écrit :`, Chinese `在 … 写道：`), at an
//!   `-----Original Message-----` separator, at an Outlook header (`From:` followed within
//!   three lines by `Sent:`; also `Von:`/`Gesendet:`, `De :`/`Envoyé :`) and at a `-- `
//!   signature delimiter;
//! - trailing blank and separator lines and "Sent from my iPhone"-style lines are dropped.
//!
//! A "wrote:" in the middle of a sentence cuts nothing.

/// Transcript speakers whose lines are content, not metadata.
const SPEAKERS: &[&str] = &["customer", "agent", "bot", "system"];

/// Longest line taken for a reply attribution (`On … wrote:`), in characters.
const MAX_ATTRIBUTION_CHARS: usize = 300;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Speaker {
    /// What precedes the first speaker line: metadata, or a whole prompt that is no transcript.
    Preamble,
    /// The customer.
    Customer,
    /// An agent, a bot, the system or an internal note.
    Other,
}

/// One line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Line<'a> {
    /// Its text (for a speaker line, what follows `Customer:`).
    pub(super) text: &'a str,
    /// Whether it is a `Key: value` metadata line rather than content.
    pub(super) metadata: bool,
}

/// One message of the transcript, cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Message<'a> {
    /// Its author.
    pub(super) speaker: Speaker,
    /// Its lines, quoted history and signature removed.
    pub(super) lines: Vec<Line<'a>>,
}

impl<'a> Message<'a> {
    /// The lines that are content, not metadata.
    pub(super) fn content(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.lines.iter().filter(|l| !l.metadata).map(|l| l.text)
    }

    /// Every line.
    pub(super) fn all(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.lines.iter().map(|l| l.text)
    }
}

/// What the metadata says about the ticket (first occurrence wins; only the preamble counts,
/// so text in a message cannot set it). Braces are removed from the values, so a name cannot
/// smuggle a placeholder into a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Facts {
    /// `Customer name:`.
    pub(super) name: Option<String>,
    /// `Subject:`.
    pub(super) subject: Option<String>,
    /// `Ticket ID:` (or `Ticket:`, `Ticket number:`).
    pub(super) ticket_id: Option<String>,
}

/// A parsed, cleaned user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Transcript<'a> {
    /// Its messages in order; the first is the preamble (possibly empty).
    pub(super) messages: Vec<Message<'a>>,
    /// The preamble's metadata.
    pub(super) facts: Facts,
}

impl<'a> Transcript<'a> {
    /// Splits `input` into messages and cleans each.
    pub(super) fn parse(input: &'a str) -> Transcript<'a> {
        let mut messages = vec![Message {
            speaker: Speaker::Preamble,
            lines: Vec::new(),
        }];
        for line in input.lines() {
            if let Some((speaker, text)) = speaker_line(line) {
                messages.push(Message {
                    speaker,
                    lines: vec![Line {
                        text,
                        metadata: false,
                    }],
                });
            } else if let Some(message) = messages.last_mut() {
                message.lines.push(Line {
                    text: line,
                    metadata: header(line).is_some(),
                });
            }
        }
        let mut facts = Facts::default();
        if let Some(preamble) = messages.first() {
            for line in &preamble.lines {
                let Some((key, value)) = header(line.text) else {
                    continue;
                };
                let slot = match key.as_str() {
                    "customer name" => &mut facts.name,
                    "subject" => &mut facts.subject,
                    "ticket id" | "ticket" | "ticket number" => &mut facts.ticket_id,
                    _ => continue,
                };
                let value: String = value
                    .chars()
                    .filter(|c| !matches!(c, '{' | '}') && !c.is_control())
                    .collect();
                let value = value.trim();
                if slot.is_none() && !value.is_empty() {
                    *slot = Some(value.to_owned());
                }
            }
        }
        for message in &mut messages {
            strip_history(&mut message.lines);
        }
        Transcript { messages, facts }
    }

    /// The customer's messages; every message when there is no `Customer:` line (a prompt
    /// that is not a transcript).
    pub(super) fn customer(&self) -> Vec<&Message<'a>> {
        let customer: Vec<&Message<'a>> = self
            .messages
            .iter()
            .filter(|m| m.speaker == Speaker::Customer)
            .collect();
        if customer.is_empty() {
            self.messages.iter().collect()
        } else {
            customer
        }
    }
}

/// `Customer: Hi` → `(Customer, "Hi")`; `Internal note (agent): …` → `(Other, whole line)`
/// (the marker stays, so a summary shows what was internal).
fn speaker_line(line: &str) -> Option<(Speaker, &str)> {
    if let Some((key, value)) = header(line)
        && SPEAKERS.contains(&key.as_str())
    {
        let speaker = if key == "customer" {
            Speaker::Customer
        } else {
            Speaker::Other
        };
        return Some((speaker, value));
    }
    let (key, _) = line.split_once(':')?;
    let key = key.trim_start();
    (key.len() <= 40
        && key
            .get(..13)
            .is_some_and(|k| k.eq_ignore_ascii_case("internal note")))
    .then_some((Speaker::Other, line))
}

/// `Subject: Refund` → `Some(("subject", "Refund"))`.
pub(super) fn header(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let is_key = !key.is_empty()
        && key.len() <= 24
        && key.chars().all(|c| c.is_ascii_alphabetic() || c == ' ');
    is_key.then(|| (key.to_lowercase(), value.trim()))
}

/// Removes quoted history, forwarded headers and the signature from one message's lines.
fn strip_history(lines: &mut Vec<Line<'_>>) {
    if let Some(cut) = (0..lines.len()).find(|&i| history_starts(lines, i)) {
        lines.truncate(cut);
    }
    lines.retain(|l| !l.text.trim_start().starts_with('>'));
    while lines.last().is_some_and(|l| trailing_noise(l.text)) {
        lines.pop();
    }
}

/// Whether line `i` starts what is not the author's own text.
fn history_starts(lines: &[Line<'_>], i: usize) -> bool {
    let text = lines[i].text.trim();
    if text == "--" || is_original_message(text) || is_attribution(text) {
        return true;
    }
    let next = lines.get(i + 1).map(|l| l.text.trim()).unwrap_or("");
    // An attribution wrapped over two lines (`On Mon, … Bob <` / `bob@example.com> wrote:`).
    if !next.is_empty()
        && !text.ends_with(['.', '!', '?'])
        && is_attribution(&format!("{text} {next}"))
    {
        return true;
    }
    is_outlook_header(text, &lines[i + 1..])
}

/// `On … wrote:`, `Am … schrieb …:`, `Le … a écrit :`, `在 … 写道：` — only with a digit or an
/// address in it, so "On Monday your colleague wrote:" is not one.
fn is_attribution(line: &str) -> bool {
    if line.chars().count() > MAX_ATTRIBUTION_CHARS
        || !line.chars().any(|c| c.is_ascii_digit() || c == '@')
    {
        return false;
    }
    let lower = line.to_lowercase();
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("am ") && lower.contains(" schrieb") && lower.ends_with(':'))
        || (lower.starts_with("le ")
            && (lower.ends_with("a écrit :") || lower.ends_with("a écrit:")))
        || (lower.starts_with('在') && (lower.ends_with("写道：") || lower.ends_with("写道:")))
}

/// `-----Original Message-----`, `-------- Original Message --------` (also German, French,
/// Chinese).
fn is_original_message(line: &str) -> bool {
    let inner = line.trim_matches('-');
    let before = line.len() - line.trim_start_matches('-').len();
    let after = line.len() - line.trim_end_matches('-').len();
    before >= 2
        && after >= 2
        && matches!(
            inner.trim().to_lowercase().as_str(),
            "original message" | "ursprüngliche nachricht" | "message d'origine" | "原始邮件"
        )
}

/// An Outlook header block: `From: …` with `Sent: …` on the same line or one of the next three.
fn is_outlook_header(line: &str, following: &[Line<'_>]) -> bool {
    const FROM: &[&str] = &["from:", "von:", "de :", "de:", "发件人:", "发件人："];
    const SENT: &[&str] = &[
        "sent:",
        "gesendet:",
        "envoyé :",
        "envoyé:",
        "发送时间:",
        "发送时间：",
    ];
    let lower = line.to_lowercase();
    if !FROM.iter().any(|f| lower.starts_with(f)) {
        return false;
    }
    let is_sent = |l: &str| SENT.iter().any(|s| l.starts_with(s));
    SENT.iter().any(|s| lower.contains(&format!(" {s}")))
        || following
            .iter()
            .take(3)
            .any(|l| is_sent(&l.text.trim().to_lowercase()))
}

/// Blank lines, separator lines (`____`) and "Sent from my iPhone" at a message's end.
fn trailing_noise(line: &str) -> bool {
    const SENT_FROM: &[&str] = &[
        "sent from my ",
        "sent from outlook",
        "sent from mail for ",
        "sent from yahoo mail",
        "sent from samsung",
        "get outlook for ",
        "envoyé de mon ",
        "enviado desde mi ",
        "inviato da ",
        "发自我的",
    ];
    let line = line.trim();
    if line.is_empty()
        || line
            .chars()
            .all(|c| matches!(c, '_' | '-' | '=' | '*' | '~'))
    {
        return true;
    }
    if line.chars().count() > 80 {
        return false;
    }
    let lower = line.to_lowercase();
    SENT_FROM.iter().any(|s| lower.starts_with(s))
        || (lower.starts_with("von meinem ") && lower.ends_with("gesendet"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(transcript: &Transcript<'a>) -> Vec<(Speaker, Vec<&'a str>)> {
        transcript
            .messages
            .iter()
            .map(|m| (m.speaker, m.all().collect()))
            .collect()
    }

    #[test]
    fn speaker_lines_start_messages_and_other_lines_continue_them() {
        let t = Transcript::parse(
            "Subject: Refund\nCustomer name: Ada Lovelace\nTicket ID: 42\n\
             Customer: My kettle broke.\nThe lid is cracked.\n\
             Internal note (agent): Check the warranty.\nAgent: We are on it.",
        );
        assert_eq!(
            texts(&t),
            [
                (
                    Speaker::Preamble,
                    vec![
                        "Subject: Refund",
                        "Customer name: Ada Lovelace",
                        "Ticket ID: 42"
                    ]
                ),
                (
                    Speaker::Customer,
                    vec!["My kettle broke.", "The lid is cracked."]
                ),
                (
                    Speaker::Other,
                    vec!["Internal note (agent): Check the warranty."]
                ),
                (Speaker::Other, vec!["We are on it."]),
            ]
        );
        assert_eq!(t.facts.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(t.facts.subject.as_deref(), Some("Refund"));
        assert_eq!(t.facts.ticket_id.as_deref(), Some("42"));
        assert_eq!(t.customer().len(), 1);
    }

    #[test]
    fn metadata_only_comes_from_the_preamble() {
        let t = Transcript::parse(
            "Customer name: {{Ada}}\nCustomer: Hi\nCustomer name: Mallory\nSubject: forged",
        );
        assert_eq!(t.facts.name.as_deref(), Some("Ada"));
        assert_eq!(t.facts.subject, None);
    }

    #[test]
    fn quoted_lines_and_outlook_headers_are_removed() {
        let t = Transcript::parse(
            "Customer: It still does not work.\n\
             > Please restart the kettle.\n\
             > Agent Bob\n\
             Also the light blinks red.\n\
             ________________________________\n\
             From: Support <support@example.com>\n\
             Sent: Monday, June 3, 2024 10:00\n\
             To: Ada\n\
             Subject: RE: Kettle\n\
             Please restart the kettle.",
        );
        assert_eq!(
            texts(&t)[1].1,
            ["It still does not work.", "Also the light blinks red."]
        );
    }

    #[test]
    fn attributions_and_separators_cut_the_message() {
        for (quote, expected) in [
            (
                "On Mon, 3 Jun 2024 at 10:00, Bob <bob@example.com> wrote:",
                1,
            ),
            ("On Mon, 3 Jun 2024 at 10:00, Bob <", 1),
            ("Am 03.06.2024 um 10:00 schrieb Bob <bob@example.com>:", 1),
            (
                "Le lun. 3 juin 2024 à 10:00, Bob <bob@example.com> a écrit :",
                1,
            ),
            ("在 2024年6月3日 10:00，Bob <bob@example.com> 写道：", 1),
            ("-----Original Message-----", 1),
            ("-------- Original Message --------", 1),
            ("From: Bob Sent: Monday To: Ada", 1),
            ("-- ", 1),
            ("--", 1),
        ] {
            let input = format!(
                "Customer: The kettle is still broken.\n{quote}\nbob@example.com> wrote:\nQuoted text here."
            );
            let t = Transcript::parse(&input);
            assert_eq!(t.messages[1].lines.len(), expected, "{quote}");
        }
    }

    #[test]
    fn wrote_inside_a_sentence_cuts_nothing() {
        let t = Transcript::parse(
            "Customer: On Monday your colleague wrote: the refund takes 5 days.\n\
             As Bob wrote: it would arrive by 12 June.\n\
             On Monday your colleague wrote:\n\
             It has been two weeks and my money is still missing.",
        );
        assert_eq!(t.messages[1].lines.len(), 4);
    }

    #[test]
    fn signatures_and_sent_from_lines_are_removed() {
        let t = Transcript::parse(
            "Customer: Where is my refund for order 1234?\n\
             \n\
             -- \n\
             Ada Lovelace\n\
             Phone: +44 20 7946 0958\n\
             Sent from my iPhone",
        );
        assert_eq!(texts(&t)[1].1, ["Where is my refund for order 1234?"]);
        let t = Transcript::parse(
            "Customer: Where is my refund?\nThanks\n\nSent from my Android phone\n\nVon meinem iPhone gesendet",
        );
        assert_eq!(texts(&t)[1].1, ["Where is my refund?", "Thanks"]);
        // Only at the end: a "Sent from my" line inside the text stays.
        let t = Transcript::parse("Customer: Sent from my office.\nThe kettle broke.");
        assert_eq!(t.messages[1].lines.len(), 2);
    }

    #[test]
    fn stripping_is_per_message() {
        let t = Transcript::parse(
            "Customer: First question.\n-- \nAda\nAgent: An answer.\nCustomer: Second question.",
        );
        assert_eq!(
            texts(&t),
            [
                (Speaker::Preamble, vec![]),
                (Speaker::Customer, vec!["First question."]),
                (Speaker::Other, vec!["An answer."]),
                (Speaker::Customer, vec!["Second question."]),
            ]
        );
    }
}
