//! Reply drafts: grounded in a retrieved article when the prompt carries one, a template
//! otherwise.

use std::collections::BTreeMap;

use super::knowledge::Article;
use super::text;
use super::transcript::{Facts, Transcript};

/// Articles up to this many characters are used whole, like a macro.
const SHORT_ARTICLE_CHARS: usize = 800;

/// Sentences of a long article quoted in a reply, at most.
const EXCERPT_SENTENCES: usize = 3;

/// The trailer of a template reply.
const TEMPLATE_TRAILER: &str = "CONFIDENCE: 0.40\nRATIONALE: Template reply from the local extractive engine; it acknowledges the request but answers nothing specific.";

/// Words that open a reply (compared with the text's first word, lower-cased).
const GREETINGS: &[&str] = &[
    "hello",
    "hi",
    "hey",
    "dear",
    "hallo",
    "bonjour",
    "bonsoir",
    "salut",
    "hola",
    "ciao",
    "buongiorno",
    "greetings",
    "liebe",
    "lieber",
    "moin",
    "servus",
    "hej",
    "hoi",
    "beste",
    "geachte",
    "olá",
];

/// Openings of more than one word, or in scripts without spaces.
const GREETING_PHRASES: &[&str] = &[
    "good morning",
    "good afternoon",
    "good evening",
    "guten tag",
    "guten morgen",
    "guten abend",
    "sehr geehrte",
    "buenos días",
    "buenas tardes",
    "您好",
    "你好",
    "尊敬的",
    "亲爱的",
    "こんにちは",
    "안녕하세요",
];

/// A reply body and the trailer to add when the prompt asks for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Draft {
    /// The reply.
    pub(super) body: String,
    /// `CONFIDENCE:` and `RATIONALE:` lines.
    pub(super) trailer: String,
    /// The id of the article it is based on, if any.
    pub(super) source: Option<String>,
}

/// Drafts a reply: from the best-matching article when `articles` has one with text, from
/// the template otherwise.
pub(super) fn draft(transcript: &Transcript<'_>, articles: Option<&[Article]>) -> Draft {
    articles
        .and_then(|articles| grounded(transcript, articles))
        .unwrap_or_else(|| template(transcript))
}

/// A template reply built around the customer's key sentence.
fn template(transcript: &Transcript<'_>) -> Draft {
    let facts = &transcript.facts;
    let customer = transcript.customer();
    let key_sentence = super::summarize(&customer, 1).unwrap_or_else(|| {
        customer
            .iter()
            .flat_map(|m| m.content())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let key_sentence = key_sentence
        .trim_start_matches("- ")
        .trim()
        .trim_end_matches(['.', '!', '?', '。', '！', '？']);
    let mut reply = greeting(facts);
    match &facts.subject {
        Some(subject) => reply.push_str(&format!(
            "Thank you for contacting us about \"{subject}\". "
        )),
        None => reply.push_str("Thank you for contacting us. "),
    }
    if !key_sentence.is_empty() {
        reply.push_str(&format!("We understand: \"{key_sentence}\". "));
    }
    reply.push_str(
        "We are looking into this and will get back to you with a concrete answer shortly.\n\nBest regards",
    );
    Draft {
        body: reply,
        trailer: TEMPLATE_TRAILER.to_owned(),
        source: None,
    }
}

/// A reply from the article that best matches the customer's words; `None` when no article
/// has text.
fn grounded(transcript: &Transcript<'_>, articles: &[Article]) -> Option<Draft> {
    let facts = &transcript.facts;
    let customer = text::frequencies(transcript.customer().iter().flat_map(|m| m.all()));
    let candidates = articles.iter().filter_map(|article| {
        let filled = fill_placeholders(&article.body, facts);
        (!filled.trim().is_empty()).then_some((article, filled))
    });
    // Best score first, ties to the better rank; with no shared word, the first article.
    let mut best: Option<(f64, &Article, String)> = None;
    for (article, filled) in candidates {
        let score = text::score(&format!("{}\n{filled}", article.title), &customer);
        if best.as_ref().is_none_or(|(top, _, _)| score > *top) {
            best = Some((score, article, filled));
        }
    }
    let (_, article, filled) = best?;
    let filled = filled.trim();
    let body = if greets(filled) || filled.chars().count() <= SHORT_ARTICLE_CHARS {
        if greets(filled) {
            filled.to_owned()
        } else {
            format!("{}{filled}", greeting(facts))
        }
    } else {
        let mut body = greeting(facts);
        body.push_str(&excerpt(filled, &customer));
        if is_link(&article.url) {
            body.push_str(&format!("\n\nYou can read more here: {}", article.url));
        }
        body.push_str("\n\nBest regards");
        body
    };
    Some(Draft {
        body,
        trailer: format!(
            "CONFIDENCE: 0.70\nRATIONALE: Based on \"{}\" ({}).",
            one_line(&article.title),
            one_line(&article.id)
        ),
        source: Some(one_line(&article.id)),
    })
}

/// The 2–3 sentences of `article` that best match the customer's words, in article order
/// (the opening sentences make up the two when fewer match).
fn excerpt(article: &str, customer: &BTreeMap<String, u32>) -> String {
    let mut sentences = Vec::new();
    for line in article.lines() {
        text::split_sentences(line, &mut sentences);
    }
    if sentences.is_empty() {
        return cut_at_word(article, SHORT_ARTICLE_CHARS);
    }
    let mut chosen: Vec<usize> = text::ranked(&sentences, customer)
        .into_iter()
        .filter(|(_, score)| *score > 0.0)
        .take(EXCERPT_SENTENCES)
        .map(|(i, _)| i)
        .collect();
    for i in 0..sentences.len() {
        if chosen.len() >= 2 {
            break;
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
        .iter()
        .map(|&i| sentences[i].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first `max_chars` characters of `text`, cut at a word, with an ellipsis when cut.
fn cut_at_word(text: &str, max_chars: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return text.to_owned();
    };
    let head = &text[..cut];
    let head = head
        .rfind(char::is_whitespace)
        .map_or(head, |at| &head[..at]);
    format!("{}…", head.trim_end())
}

/// `Hello Ada,` and a blank line, or `Hello,` without a name.
fn greeting(facts: &Facts) -> String {
    match &facts.name {
        Some(name) => format!("Hello {name},\n\n"),
        None => "Hello,\n\n".to_owned(),
    }
}

/// Whether `text` opens with a greeting (`Hello …`, `Dear …`, `Bonjour …`).
fn greets(text: &str) -> bool {
    let text = text.trim_start();
    let lower: String = text.chars().take(24).collect::<String>().to_lowercase();
    if GREETING_PHRASES.iter().any(|g| lower.starts_with(g)) {
        return true;
    }
    let first = lower
        .split(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or("");
    GREETINGS.contains(&first)
}

/// Only `http(s)` links without spaces are offered to a customer.
fn is_link(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `text` on one line (a title in the rationale must not start a new trailer line).
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fills the helpdesk placeholders the ticket's facts answer (`{{ticket.requester.first_name}}`,
/// `{{ticket.requester.name}}`, `{{ticket.requester.last_name}}`, `{{ticket.id}}`,
/// `{{ticket.title}}`/`{{ticket.subject}}`; spaces and `| filters` inside the braces allowed)
/// and removes every other `{{…}}` and every Liquid tag `{%…%}`, with the space before it when
/// punctuation or a space follows. An unclosed `{{` is left as text.
pub(super) fn fill_placeholders(text: &str, facts: &Facts) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = match (rest.find("{{"), rest.find("{%")) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(open) = next else { break };
        let close = if rest[open..].starts_with("{{") {
            "}}"
        } else {
            "%}"
        };
        let Some(len) = rest[open + 2..].find(close) else {
            break;
        };
        out.push_str(&rest[..open]);
        let inner = &rest[open + 2..open + 2 + len];
        rest = &rest[open + 2 + len + 2..];
        let value = if close == "}}" {
            placeholder(inner, facts)
        } else {
            None
        };
        match value {
            Some(value) => out.push_str(&value),
            None => {
                let followed_by_gap = rest
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace() || ",.;:!?)".contains(c));
                if followed_by_gap {
                    while out.ends_with([' ', '\t']) {
                        out.pop();
                    }
                }
                if out.is_empty() || out.ends_with('\n') {
                    rest = rest.trim_start_matches([' ', '\t']);
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of one placeholder, if the facts have it.
fn placeholder(inner: &str, facts: &Facts) -> Option<String> {
    let key = inner.split('|').next().unwrap_or("").trim().to_lowercase();
    let name = facts.name.as_deref();
    let words = || name.into_iter().flat_map(str::split_whitespace);
    match key.as_str() {
        "ticket.requester.name" | "ticket.requester.full_name" => name.map(str::to_owned),
        "ticket.requester.first_name" | "ticket.requester.firstname" => {
            words().next().map(str::to_owned)
        }
        "ticket.requester.last_name" | "ticket.requester.lastname" if words().count() > 1 => {
            words().last().map(str::to_owned)
        }
        "ticket.id" => facts.ticket_id.clone(),
        "ticket.title" | "ticket.subject" => facts.subject.clone(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: Option<&str>) -> Facts {
        Facts {
            name: name.map(str::to_owned),
            subject: Some("Broken kettle".into()),
            ticket_id: Some("1234".into()),
        }
    }

    #[test]
    fn known_placeholders_are_filled() {
        let ada = facts(Some("Ada King Lovelace"));
        assert_eq!(
            fill_placeholders(
                "Hi {{ticket.requester.first_name}} ({{ ticket.requester.name }}, {{ticket.requester.last_name | capitalize}}): ticket #{{ticket.id}} \"{{ticket.title}}\" / {{ticket.subject}}",
                &ada
            ),
            "Hi Ada (Ada King Lovelace, Lovelace): ticket #1234 \"Broken kettle\" / Broken kettle"
        );
    }

    #[test]
    fn unknown_placeholders_are_removed_cleanly() {
        let nobody = facts(None);
        for (template, expected) in [
            (
                "Hello {{ticket.requester.first_name}}, thanks.",
                "Hello, thanks.",
            ),
            (
                "Hi {{ticket.requester.first_name}} {{ticket.requester.last_name}},",
                "Hi,",
            ),
            (
                "Your agent {{current_user.name}} will call.",
                "Your agent will call.",
            ),
            ("{{current_user.signature}}\nBye", "\nBye"),
            ("Line\n{{x}} Next", "Line\nNext"),
            (
                "{% if ticket.via == 'mail' %}Mail{% endif %} text",
                "Mail text",
            ),
            ("Text {{current_user.name}}", "Text"),
            ("Price {{x}}{{y}}€", "Price €"),
            (
                "Unclosed {{ticket.id and more",
                "Unclosed {{ticket.id and more",
            ),
            ("{{}}{{ }}", ""),
        ] {
            let filled = fill_placeholders(template, &nobody);
            assert_eq!(filled, expected, "{template}");
        }
        // A single-word name has no last name.
        assert_eq!(
            fill_placeholders("Dear {{ticket.requester.last_name}}!", &facts(Some("Ada"))),
            "Dear!"
        );
    }

    #[test]
    fn greetings_are_recognised_by_their_first_word() {
        for text in [
            "Hello Ada,",
            "Hi!",
            "  Dear customer",
            "Hallo Ada",
            "Bonjour,",
            "Good morning Ada",
            "您好，",
        ] {
            assert!(greets(text), "{text}");
        }
        for text in [
            "High temperatures",
            "Good news: refunds",
            "Refunds take 5 days",
            "",
        ] {
            assert!(!greets(text), "{text}");
        }
    }

    #[test]
    fn excerpts_pick_relevant_sentences_in_article_order() {
        let article = "Our shop ships worldwide. Refunds are paid within 14 days of the return. \
            Gift cards cannot be refunded. Shipping is free above 50 euros. \
            A refund goes to the original payment method.";
        let customer = text::frequencies(["When will my refund be paid? It has been 14 days."]);
        assert_eq!(
            excerpt(article, &customer),
            "Refunds are paid within 14 days of the return. \
             A refund goes to the original payment method."
        );
        // Nothing matches: the opening two sentences.
        let customer = text::frequencies(["xylophone"]);
        assert_eq!(
            excerpt(article, &customer),
            "Our shop ships worldwide. Refunds are paid within 14 days of the return."
        );
    }

    #[test]
    fn rationales_stay_on_one_line_and_links_must_be_http() {
        assert_eq!(one_line("Refund\npolicy\t 2"), "Refund policy 2");
        assert!(is_link("https://help.example.com/a/42"));
        assert!(!is_link("javascript:alert(1)"));
        assert!(!is_link("https://x.example/a b"));
        assert!(!is_link(""));
    }
}
