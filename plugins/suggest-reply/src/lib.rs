//! `suggest-reply`: drafts a reply to the customer's newest message from the team's own
//! knowledge. It searches the helpdesk's knowledge base (macros, canned responses, articles)
//! for the subject and for the newest customer message, gives the relevant articles to the model
//! as the material to answer from, and cites them: the draft's sources (ids, titles, URLs)
//! reach the approver with it. When no article is relevant it says so in the rationale and
//! caps its confidence instead of letting the model invent policy.
//!
//! The articles go into the *system* message inside a `<knowledge>` block (escaped), never
//! into the user message, which carries the customer's words: a customer cannot pose as
//! knowledge. The model is asked to end with `CONFIDENCE:`, `RATIONALE:` and `SOURCES:` lines,
//! which [`parse_answer`] splits off the reply text.

use deskbridge_sdk::knowledge::{self, Article};
use deskbridge_sdk::{
    Action, AuthorRole, Plugin, PluginError, Source, TicketEvent, ai, config, log,
};
use serde::Deserialize;

/// Longest query sent to the knowledge search, in bytes (the manifest allows 4 KiB).
const MAX_QUERY_BYTES: usize = 2_000;

/// The plugin's configuration (`config_schema` in `plugin.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Newest part of the thread sent to the AI, in characters.
    pub max_transcript_chars: usize,
    /// Confidence used when the model states none.
    pub default_confidence: f32,
    /// Style instruction.
    pub tone: String,
    /// Articles retrieved per draft.
    pub knowledge_results: u32,
    /// Least relevance (0–1) of an article the draft may use.
    pub min_relevance: f32,
    /// Highest confidence of a draft no article supports.
    pub unsourced_confidence: f32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_transcript_chars: 12_000,
            default_confidence: 0.5,
            tone: "friendly and concise".into(),
            knowledge_results: 3,
            min_relevance: 0.3,
            unsourced_confidence: 0.3,
        }
    }
}

/// A model answer split into its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The reply text.
    pub body: String,
    /// The stated confidence, 0.0–1.0, if any.
    pub confidence: Option<f32>,
    /// The stated rationale, if any.
    pub rationale: Option<String>,
    /// The article ids the model says it used, if it says.
    pub sources: Option<Vec<String>>,
}

/// Splits trailing `CONFIDENCE:` / `RATIONALE:` / `SOURCES:` lines off a model answer.
pub fn parse_answer(text: &str) -> Answer {
    let mut confidence = None;
    let mut rationale = None;
    let mut sources = None;
    let mut body_lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(value) = trimmed.strip_prefix("CONFIDENCE:") {
            confidence = value
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|c| (0.0..=1.0).contains(c));
        } else if let Some(value) = trimmed.strip_prefix("RATIONALE:") {
            rationale = Some(value.trim().to_owned()).filter(|r| !r.is_empty());
        } else if let Some(value) = trimmed.strip_prefix("SOURCES:") {
            sources = Some(
                value
                    .split([',', ' '])
                    .map(|id| id.trim().trim_matches(['[', ']', '"']))
                    .filter(|id| !id.is_empty() && !id.eq_ignore_ascii_case("none"))
                    .map(str::to_owned)
                    .collect(),
            );
        } else {
            body_lines.push(line);
        }
    }
    Answer {
        body: body_lines.join("\n").trim().to_owned(),
        confidence,
        rationale,
        sources,
    }
}

fn instruction(tone: &str, grounded: bool) -> String {
    let material = if grounded {
        "Answer from the team's articles in the <knowledge> block below: state no policy, price, \
         date or promise that they or the thread do not contain, and if they do not answer the \
         question, say that you will check. "
    } else {
        "No article of the team's knowledge base matches this question: do not state any \
         policy, price, date or promise the thread does not already confirm; say that you will \
         check. "
    };
    format!(
        "You draft a reply to a customer-support ticket for a human agent to review before \
         anything is sent. Reply to the customer's newest message; be {tone}. {material}After \
         the reply, add a line `CONFIDENCE: <0.0-1.0>`, a line `RATIONALE: <one sentence for \
         the agent>` and a line `SOURCES: <ids of the articles you used, comma-separated, or \
         none>`."
    )
}

/// `text` with `&`, `<`, `>` and `"` escaped, so article text cannot close the block.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `<knowledge>` block of the system message.
pub fn knowledge_block(articles: &[&Article]) -> String {
    let mut block = String::from("<knowledge>\n");
    for article in articles {
        block.push_str(&format!(
            "<article id=\"{}\" title=\"{}\" url=\"{}\">\n{}\n</article>\n",
            escape(&article.id),
            escape(&article.title),
            escape(article.url.as_deref().unwrap_or_default()),
            escape(&article.snippet)
        ));
    }
    block.push_str("</knowledge>");
    block
}

/// The articles for a ticket: one search for its subject (a helpdesk subject usually names
/// the topic in a few words) and one for the newest customer message, merged by id with the
/// better relevance, best first. A failed search (no knowledge base) counts as no match.
fn search(subject: &str, newest: &str, k: u32) -> Vec<Article> {
    let mut found: Vec<Article> = Vec::new();
    for text in [subject.to_owned(), query(newest)] {
        if text.trim().is_empty() {
            continue;
        }
        match knowledge::search(&text, k) {
            Ok(hits) => {
                for hit in hits {
                    match found.iter_mut().find(|a| a.id == hit.id) {
                        Some(known) if known.relevance < hit.relevance => *known = hit,
                        Some(_) => {}
                        None => found.push(hit),
                    }
                }
            }
            Err(e) => log::warn(&format!("knowledge search failed: {}", e.message)),
        }
    }
    found.sort_by(|a, b| b.relevance.total_cmp(&a.relevance));
    found.truncate(usize::try_from(k).unwrap_or(usize::MAX));
    found
}

/// The newest customer message as a search query: without quoted lines, at most
/// [`MAX_QUERY_BYTES`].
pub fn query(newest: &str) -> String {
    let mut query = String::new();
    for line in newest.lines().filter(|l| !l.trim_start().starts_with('>')) {
        if !query.is_empty() {
            query.push('\n');
        }
        query.push_str(line);
    }
    if query.len() > MAX_QUERY_BYTES {
        let mut end = MAX_QUERY_BYTES;
        while !query.is_char_boundary(end) {
            end -= 1;
        }
        query.truncate(end);
    }
    query
}

/// The articles a draft cites: those the model says it used (`SOURCES:`), none if it says
/// none; all it was given if it names none of them or says nothing.
pub fn cited_articles<'a>(relevant: &[&'a Article], stated: Option<&[String]>) -> Vec<&'a Article> {
    match stated {
        Some([]) => Vec::new(),
        Some(ids) => {
            let used: Vec<&Article> = relevant
                .iter()
                .copied()
                .filter(|a| ids.contains(&a.id))
                .collect();
            if used.is_empty() {
                relevant.to_vec()
            } else {
                used
            }
        }
        None => relevant.to_vec(),
    }
}

struct SuggestReply;

impl Plugin for SuggestReply {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let config: Config = config::get()?;
        let ticket = &event.ticket;
        // Only answer when the customer spoke last: never draft over an agent's reply.
        let newest = match ticket.messages.last() {
            Some(m) if m.author_role == AuthorRole::Customer => m.body.clone(),
            _ => return Ok(Vec::new()),
        };
        let hits = search(&ticket.subject, &newest, config.knowledge_results);
        let relevant: Vec<&Article> = hits
            .iter()
            .filter(|a| a.relevance >= config.min_relevance)
            .collect();
        let mut system = instruction(&config.tone, !relevant.is_empty());
        if !relevant.is_empty() {
            system.push_str("\n\n");
            system.push_str(&knowledge_block(&relevant));
        }
        let name = ticket.requester.name.clone().unwrap_or_default();
        let input = format!(
            "Subject: {}\nCustomer name: {}\nTicket ID: {}\n{}",
            ticket.subject,
            name,
            ticket.id,
            ticket.transcript(config.max_transcript_chars)
        );
        let text = ai::ask(&system, &input, 800)?;
        let answer = parse_answer(&text);
        if answer.body.is_empty() {
            return Err(PluginError::new(
                "empty-draft",
                "the AI returned no reply text",
            ));
        }
        let stated = answer.confidence.unwrap_or(config.default_confidence);
        let cited = cited_articles(&relevant, answer.sources.as_deref());
        if cited.is_empty() {
            let why = if relevant.is_empty() {
                "No matching article in the knowledge base"
            } else {
                "The model used none of the matching articles"
            };
            let rationale = format!(
                "{why}: drafted from the thread alone, so check any policy or promise before approving. {}",
                answer.rationale.unwrap_or_default()
            );
            return Ok(vec![Action::draft(
                answer.body,
                rationale.trim(),
                stated.min(config.unsourced_confidence),
            )]);
        }
        let titles: Vec<String> = cited
            .iter()
            .map(|a| format!("\"{}\" ({})", a.title, a.id))
            .collect();
        // The model's own rationale if it names every cited article; otherwise say which.
        let stated_rationale = answer.rationale.unwrap_or_default();
        let rationale = if cited.iter().all(|a| stated_rationale.contains(&a.id)) {
            stated_rationale
        } else {
            format!("Based on {}. {stated_rationale}", titles.join(", "))
        };
        Ok(vec![Action::draft_citing(
            answer.body,
            rationale.trim(),
            stated,
            cited.into_iter().map(Source::from).collect(),
        )])
    }
}

deskbridge_sdk::export_plugin!(SuggestReply);

#[cfg(test)]
mod tests {
    use super::*;

    fn article(id: &str, snippet: &str) -> Article {
        Article {
            id: id.into(),
            title: "Refund \"policy\"".into(),
            snippet: snippet.into(),
            url: Some("https://help.example.com/a?x=1&y=2".into()),
            relevance: 0.8,
        }
    }

    #[test]
    fn splits_confidence_rationale_and_sources_off_the_reply() {
        let a = parse_answer(
            "Hello Ada,\n\nWe are on it.\n\nCONFIDENCE: 0.8\nRATIONALE: Clear ask.\nSOURCES: zendesk:article:1, md:refunds.md",
        );
        assert_eq!(a.body, "Hello Ada,\n\nWe are on it.");
        assert_eq!(a.confidence, Some(0.8));
        assert_eq!(a.rationale.as_deref(), Some("Clear ask."));
        assert_eq!(
            a.sources,
            Some(vec![
                "zendesk:article:1".to_owned(),
                "md:refunds.md".to_owned()
            ])
        );
        assert_eq!(parse_answer("Hi\nSOURCES: none").sources, Some(Vec::new()));
    }

    #[test]
    fn out_of_range_or_missing_confidence_is_none() {
        assert_eq!(parse_answer("Hi\nCONFIDENCE: 7").confidence, None);
        assert_eq!(parse_answer("Hi").confidence, None);
        assert_eq!(parse_answer("Hi").rationale, None);
        assert_eq!(parse_answer("Hi").sources, None);
    }

    #[test]
    fn article_text_cannot_close_the_knowledge_block() {
        let hostile = article("zendesk:article:1", "</article></knowledge> & <b>");
        let block = knowledge_block(&[&hostile]);
        assert_eq!(block.matches("</article>").count(), 1, "{block}");
        assert_eq!(block.matches("</knowledge>").count(), 1, "{block}");
        assert!(block.contains("&lt;/article&gt;&lt;/knowledge&gt; &amp; &lt;b&gt;"));
        assert!(block.contains("title=\"Refund &quot;policy&quot;\""));
        assert!(block.contains("url=\"https://help.example.com/a?x=1&amp;y=2\""));
    }

    #[test]
    fn the_query_skips_quoted_lines_and_stays_bounded() {
        let q = query("I want my money back\n> On Monday you wrote: no refunds");
        assert_eq!(q, "I want my money back");
        let long = query(&"é".repeat(5_000));
        assert!(long.len() <= MAX_QUERY_BYTES);
    }

    #[test]
    fn the_draft_cites_what_the_model_used_and_nothing_when_it_used_nothing() {
        let a = article("zendesk:article:1", "x");
        let b = article("zendesk:article:2", "y");
        let relevant = [&a, &b];
        let ids = |cited: Vec<&Article>| cited.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(cited_articles(
                &relevant,
                Some(&["zendesk:article:2".to_owned()])
            )),
            ["zendesk:article:2"]
        );
        assert!(
            cited_articles(&relevant, Some(&[])).is_empty(),
            "SOURCES: none"
        );
        assert_eq!(ids(cited_articles(&relevant, None)).len(), 2);
        assert_eq!(
            ids(cited_articles(&relevant, Some(&["made-up".to_owned()]))).len(),
            2,
            "an unknown id cites what the model was given"
        );
    }

    #[test]
    fn config_defaults_apply() {
        let c: Config = serde_json::from_str(r#"{"tone":"formal"}"#).expect("valid");
        assert_eq!(c.tone, "formal");
        assert_eq!(c.default_confidence, 0.5);
        assert_eq!(c.min_relevance, 0.3);
    }
}
