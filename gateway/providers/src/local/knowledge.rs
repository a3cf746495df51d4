//! Retrieved knowledge in the system prompt: the `<knowledge>` block.
//!
//! ```text
//! <knowledge>
//! <article id="zendesk:macro:42" title="Refund policy" url="https://help.example.com/a/42">
//! Hello {{ticket.requester.first_name}}, we refund orders within 30 days …
//! </article>
//! </knowledge>
//! ```
//!
//! Only the first block counts. It is read strictly: between the articles only whitespace;
//! each `<article` has double-quoted attributes (`id` required, `title` and `url` optional)
//! with `&quot; &lt; &gt; &amp;` escaped, and its text runs to `</article>` with `<` escaped.
//! Anything else — an unterminated block or article, a raw `<` in an attribute or a text, an
//! article without `id` — means the block is ignored as a whole.

use std::collections::BTreeMap;

const OPEN: &str = "<knowledge>";
const CLOSE: &str = "</knowledge>";
const ARTICLE_OPEN: &str = "<article";
const ARTICLE_CLOSE: &str = "</article>";

/// Most articles read from a block; the rest (ranked lowest) are ignored.
const MAX_ARTICLES: usize = 32;

/// One retrieved article, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Article {
    /// Its id (`zendesk:macro:42`).
    pub(super) id: String,
    /// Its title.
    pub(super) title: String,
    /// Where it can be read; empty when it has no URL.
    pub(super) url: String,
    /// Its text.
    pub(super) body: String,
}

/// The articles of the first `<knowledge>` block of `system`, best first; `None` when there is
/// no block or it is malformed, `Some(empty)` for a well-formed block without articles.
pub(super) fn articles(system: &str) -> Option<Vec<Article>> {
    let start = find_open(system)? + OPEN.len();
    let end = start + system[start..].find(CLOSE)?;
    let mut rest = &system[start..end];
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let tag = rest.strip_prefix(ARTICLE_OPEN)?;
        let tag_end = tag.find('>')?;
        let attributes = attributes(&tag[..tag_end])?;
        let text = &tag[tag_end + 1..];
        let text_end = text.find(ARTICLE_CLOSE)?;
        let body = &text[..text_end];
        if body.contains('<') {
            // Unescaped markup: an unterminated article swallowed the next one, or the text
            // was not escaped. Either way the block cannot be trusted to mean what it says.
            return None;
        }
        rest = &text[text_end + ARTICLE_CLOSE.len()..];
        let mut attributes = attributes;
        let id = attributes.remove("id")?;
        out.push(Article {
            id,
            title: attributes.remove("title").unwrap_or_default(),
            url: attributes.remove("url").unwrap_or_default(),
            body: unescape(trim_one_newline(body)),
        });
    }
    out.truncate(MAX_ARTICLES);
    Some(out)
}

/// `system` with every `<knowledge>` block removed (an unterminated one to the end): the
/// instructions, read for the task, so that an article cannot change what is asked.
pub(super) fn without_knowledge(system: &str) -> String {
    let mut out = String::new();
    let mut rest = system;
    while let Some(start) = find_open(rest) {
        out.push_str(&rest[..start]);
        rest = match rest[start..].find(CLOSE) {
            Some(end) => &rest[start + end + CLOSE.len()..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Where the first `<knowledge>` at the start of a line (spaces and tabs before it allowed)
/// is.
fn find_open(text: &str) -> Option<usize> {
    text.match_indices(OPEN).map(|(at, _)| at).find(|&at| {
        text[..at]
            .rsplit('\n')
            .next()
            .is_none_or(|line| line.chars().all(|c| c == ' ' || c == '\t'))
    })
}

/// ` id="a" title="b &amp; c"` → `{id: "a", title: "b & c"}` (the first of a repeated name
/// wins); `None` unless every attribute is `name="value"` and each is preceded by whitespace.
fn attributes(tag: &str) -> Option<BTreeMap<&str, String>> {
    let mut out = BTreeMap::new();
    let mut rest = tag;
    loop {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            return Some(out);
        }
        if trimmed.len() == rest.len() {
            return None;
        }
        let (name, after) = trimmed.split_once('=')?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return None;
        }
        let value = after.strip_prefix('"')?;
        let value_end = value.find('"')?;
        let raw = &value[..value_end];
        if raw.contains('<') {
            return None;
        }
        out.entry(name).or_insert_with(|| unescape(raw));
        rest = &value[value_end + 1..];
    }
}

/// The text without the line break after `<article …>` and the one before `</article>`.
fn trim_one_newline(body: &str) -> &str {
    let body = body
        .strip_prefix("\r\n")
        .or_else(|| body.strip_prefix('\n'))
        .unwrap_or(body);
    body.strip_suffix("\r\n")
        .or_else(|| body.strip_suffix('\n'))
        .unwrap_or(body)
}

/// `&lt;` → `<`, `&gt;` → `>`, `&quot;` → `"`, `&amp;` → `&` (also `&#39;`, `&apos;`), in one
/// pass (`&amp;lt;` is `&lt;`); any other `&` stays as it is.
fn unescape(text: &str) -> String {
    const ENTITIES: &[(&str, char)] = &[
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&amp;", '&'),
        ("&#39;", '\''),
        ("&apos;", '\''),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match ENTITIES.iter().find(|(entity, _)| rest.starts_with(entity)) {
            Some((entity, c)) => {
                out.push(*c);
                rest = &rest[entity.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "Draft a reply.\n<knowledge>\n\
        <article id=\"zendesk:macro:42\" title=\"Refunds &amp; returns\" url=\"https://help.example.com/a/42\">\n\
        Hello {{ticket.requester.first_name}}, orders &lt;30 days&gt; old &amp;amp; unused are refunded.\n\
        </article>\n\
        <article id=\"md:faq.md\" title=\"Say &quot;hi&quot;\" url=\"\">\n\
        Second.\n\
        </article>\n\
        </knowledge>\nEnd with CONFIDENCE:";

    #[test]
    fn reads_articles_in_rank_order_and_unescapes_them() {
        let articles = articles(BLOCK).expect("well-formed");
        assert_eq!(
            articles,
            [
                Article {
                    id: "zendesk:macro:42".into(),
                    title: "Refunds & returns".into(),
                    url: "https://help.example.com/a/42".into(),
                    body: "Hello {{ticket.requester.first_name}}, orders <30 days> old &amp; unused are refunded.".into(),
                },
                Article {
                    id: "md:faq.md".into(),
                    title: "Say \"hi\"".into(),
                    url: String::new(),
                    body: "Second.".into(),
                },
            ]
        );
        assert_eq!(
            without_knowledge(BLOCK),
            "Draft a reply.\n\nEnd with CONFIDENCE:"
        );
    }

    #[test]
    fn only_the_first_block_counts_and_empty_blocks_have_no_articles() {
        let two =
            "<knowledge></knowledge><knowledge><article id=\"x\">Forged</article></knowledge>";
        assert_eq!(articles(two), Some(Vec::new()));
        assert_eq!(without_knowledge(two), "");
        assert_eq!(articles("<knowledge>\n</knowledge>"), Some(Vec::new()));
        assert_eq!(articles("no knowledge here"), None);
    }

    #[test]
    fn malformed_blocks_are_no_knowledge() {
        for malformed in [
            // Unterminated block.
            "<knowledge><article id=\"a\">Text</article>",
            // Unterminated article swallowing the next one.
            "<knowledge><article id=\"a\">Text\n<article id=\"b\">More</article></knowledge>",
            // Unterminated tag.
            "<knowledge><article id=\"a\" title=\"x</knowledge>",
            "<knowledge><article id=\"a\"</knowledge>",
            // Unquoted or unterminated attribute, no whitespace, no id.
            "<knowledge><article id=a>Text</article></knowledge>",
            "<knowledge><article id=\"a>Text</article></knowledge>",
            "<knowledge><article id=\"a\"title=\"b\">Text</article></knowledge>",
            "<knowledge><articles id=\"a\">Text</article></knowledge>",
            "<knowledge><article title=\"b\">Text</article></knowledge>",
            // Stray text or markup.
            "<knowledge>junk<article id=\"a\">Text</article></knowledge>",
            "<knowledge><article id=\"a\">Text <b>bold</b></article></knowledge>",
        ] {
            assert_eq!(articles(malformed), None, "{malformed}");
        }
        assert_eq!(
            without_knowledge("Reply.\n<knowledge>summarize"),
            "Reply.\n"
        );
    }

    #[test]
    fn a_tag_inside_a_sentence_is_no_block() {
        let system = "Answer from the <knowledge> block below. End with CONFIDENCE:\n\n\
            <knowledge>\n<article id=\"a\">Text</article>\n</knowledge>";
        assert_eq!(articles(system).map(|a| a.len()), Some(1));
        assert_eq!(
            without_knowledge(system),
            "Answer from the <knowledge> block below. End with CONFIDENCE:\n\n"
        );
        assert_eq!(
            articles("See <knowledge><article id=\"a\">Text</article></knowledge>"),
            None
        );
        assert_eq!(articles("  <knowledge>\n</knowledge>"), Some(Vec::new()));
    }

    #[test]
    fn empty_bodies_and_missing_optional_attributes_are_read() {
        let articles =
            articles("<knowledge><article id=\"a\"></article></knowledge>").expect("well-formed");
        assert_eq!(articles[0].body, "");
        assert_eq!(articles[0].title, "");
        assert_eq!(articles[0].url, "");
    }

    #[test]
    fn unescaping_is_single_pass() {
        assert_eq!(unescape("a &amp;lt; b &copy; &"), "a &lt; b &copy; &");
    }
}
