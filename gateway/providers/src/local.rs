//! The built-in local engine: deterministic, offline, no model weights.
//!
//! It is not a language model. It does extractive work well enough for a fresh install and for
//! tests to run end to end: it summarizes by picking the most informative sentences of the
//! input (word-frequency scoring), and drafts replies from a fixed template around the
//! customer's key sentence — taken from `Customer:` lines only, so a reply never quotes an
//! agent's words or an internal note that reached the prompt. The task is read from the system prompt: one that mentions
//! "summar" gets a summary, one that mentions "reply" gets a reply, anything else an extract.
//! Replace it with a real provider in production; plugins do not change.

use std::collections::{BTreeMap, BTreeSet};

use std::time::Duration;

use crate::{
    AiProvider, Answered, BoxFuture, ChatRole, Completion, CompletionRequest, FailureKind,
    ProviderError, Quota, Usage, estimate_tokens,
};

const MODEL: &str = "extractive-v1";

/// Words that say nothing about what a ticket is about.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has",
    "have", "hello", "hi", "how", "i", "if", "in", "is", "it", "its", "just", "me", "my", "no",
    "not", "of", "on", "or", "our", "please", "so", "thank", "thanks", "that", "the", "their",
    "them", "then", "there", "this", "to", "up", "was", "we", "were", "what", "when", "which",
    "will", "with", "would", "you", "your",
];

/// The deterministic built-in engine, registered as provider `local`.
#[derive(Debug, Clone, Default)]
pub struct LocalEngine;

impl LocalEngine {
    /// A new engine.
    pub fn new() -> LocalEngine {
        LocalEngine
    }

    /// Answers a request synchronously.
    pub fn answer(&self, request: &CompletionRequest) -> Result<Completion, ProviderError> {
        if let Some(model) = &request.model
            && model != MODEL
        {
            return Err(ProviderError::new(
                "local",
                FailureKind::UnknownModel,
                format!("the local engine has no model `{model}` (it serves {MODEL})"),
            ));
        }
        let system: String = joined(request, ChatRole::System).to_lowercase();
        let input = joined(request, ChatRole::User);
        if input.trim().is_empty() {
            return Err(ProviderError::new(
                "local",
                FailureKind::BadRequest,
                "no user message to work on",
            ));
        }
        let mut text = if system.contains("summar") {
            summarize(&input, 3)
        } else if system.contains("reply") {
            draft_reply(&input, system.contains("confidence:"))
        } else {
            summarize(&input, 1)
        };
        truncate_to_tokens(&mut text, request.max_tokens);
        let input_tokens = request
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum();
        Ok(Completion {
            usage: Some(Usage {
                input_tokens,
                output_tokens: estimate_tokens(&text),
            }),
            text,
            model: MODEL.into(),
            finish_reason: Some("stop".into()),
        })
    }
}

impl AiProvider for LocalEngine {
    fn name(&self) -> &str {
        "local"
    }

    fn default_model(&self) -> &str {
        MODEL
    }

    fn is_remote(&self) -> bool {
        false
    }

    fn complete(
        &self,
        request: CompletionRequest,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Answered, ProviderError>> {
        Box::pin(async move {
            self.answer(&request).map(|completion| Answered {
                completion,
                quota: Quota::default(),
            })
        })
    }
}

fn joined(request: &CompletionRequest, role: ChatRole) -> String {
    request
        .messages
        .iter()
        .filter(|m| m.role == role)
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Transcript speakers whose lines are content, not metadata.
const SPEAKERS: &[&str] = &["customer", "agent", "bot", "system"];

/// Splits text into sentences. `Customer: …` style transcript lines count as content;
/// other `Key: value` lines (subject, names) are metadata and are dropped.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let content = match header(line) {
            Some((key, value)) if SPEAKERS.contains(&key.as_str()) => value,
            Some(_) => continue,
            None => line,
        };
        let mut current = String::new();
        for c in content.chars() {
            current.push(c);
            if matches!(c, '.' | '!' | '?') {
                push_sentence(&mut out, &mut current);
            }
        }
        push_sentence(&mut out, &mut current);
    }
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let sentence = current.trim().trim_start_matches(['-', '*', '>']).trim();
    if sentence.split_whitespace().count() >= 3 {
        out.push(sentence.to_owned());
    }
    current.clear();
}

/// `Subject: Refund` → `Some(("subject", "Refund"))`.
fn header(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let is_key = !key.is_empty()
        && key.len() <= 24
        && key.chars().all(|c| c.is_ascii_alphabetic() || c == ' ');
    is_key.then(|| (key.to_lowercase(), value.trim()))
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| w.len() > 1)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
}

/// The `count` most informative sentences, in their original order, as a bullet list.
fn summarize(text: &str, count: usize) -> String {
    let sentences = sentences(text);
    if sentences.is_empty() {
        return text.trim().to_owned();
    }
    let mut frequency: BTreeMap<String, u32> = BTreeMap::new();
    for word in words(text) {
        *frequency.entry(word).or_default() += 1;
    }
    let mut scored: Vec<(usize, f64)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let unique: BTreeSet<String> = words(s).collect();
            let score: u32 = unique
                .iter()
                .map(|w| frequency.get(w).copied().unwrap_or(0))
                .sum();
            (i, f64::from(score) / (unique.len().max(1) as f64).sqrt())
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = scored.iter().take(count).map(|(i, _)| *i).collect();
    chosen.sort_unstable();
    chosen
        .iter()
        .map(|&i| format!("- {}", sentences[i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A template reply built around the customer's key sentence.
fn draft_reply(input: &str, with_trailer: bool) -> String {
    let mut name = None;
    let mut subject = None;
    for line in input.lines() {
        match header(line) {
            Some((key, value)) if key == "customer name" && !value.is_empty() => name = Some(value),
            Some((key, value)) if key == "subject" && !value.is_empty() => subject = Some(value),
            _ => {}
        }
    }
    let key_sentence = summarize(&customer_lines(input), 1);
    let key_sentence = key_sentence
        .trim_start_matches("- ")
        .trim_end_matches(['.', '!', '?']);
    let mut reply = match name {
        Some(name) => format!("Hello {name},\n\n"),
        None => "Hello,\n\n".to_owned(),
    };
    match subject {
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
    if with_trailer {
        reply.push_str(
            "\n\nCONFIDENCE: 0.40\nRATIONALE: Template reply from the local extractive engine; it acknowledges the request but answers nothing specific.",
        );
    }
    reply
}

/// The `Customer: …` lines of a transcript, or the whole input when it has none (a prompt
/// that is not a transcript).
fn customer_lines(input: &str) -> String {
    let customer: Vec<&str> = input
        .lines()
        .filter(|line| matches!(header(line), Some((key, _)) if key == "customer"))
        .collect();
    if customer.is_empty() {
        input.to_owned()
    } else {
        customer.join("\n")
    }
}

fn truncate_to_tokens(text: &mut String, max_tokens: u32) {
    let max_chars = usize::try_from(max_tokens)
        .unwrap_or(usize::MAX)
        .saturating_mul(4);
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    fn request(system: &str, user: &str) -> CompletionRequest {
        CompletionRequest {
            model: None,
            messages: vec![
                ChatMessage {
                    role: ChatRole::System,
                    content: system.into(),
                },
                ChatMessage {
                    role: ChatRole::User,
                    content: user.into(),
                },
            ],
            max_tokens: 400,
        }
    }

    const THREAD: &str = "Subject: Refund for order 1234\nCustomer name: Ada\n\
        Customer: I ordered a blue kettle last week. The kettle arrived broken and the lid is cracked. \
        I would like a refund for the broken kettle. The weather is nice today.";

    #[test]
    fn summaries_pick_informative_sentences_deterministically() {
        let engine = LocalEngine::new();
        let a = engine
            .answer(&request("Summarize the ticket.", THREAD))
            .expect("answers");
        let b = engine
            .answer(&request("Summarize the ticket.", THREAD))
            .expect("answers");
        assert_eq!(a, b);
        assert!(a.text.contains("kettle"), "{}", a.text);
        assert!(!a.text.contains("weather"), "{}", a.text);
        assert_eq!(a.text.lines().count(), 3);
        let usage = a.usage.expect("the local engine reports usage");
        assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
    }

    #[test]
    fn replies_greet_by_name_and_carry_the_trailer_when_asked() {
        let engine = LocalEngine::new();
        let reply = engine
            .answer(&request(
                "Draft a reply. End with CONFIDENCE: and RATIONALE:",
                THREAD,
            ))
            .expect("answers");
        assert!(reply.text.starts_with("Hello Ada,"), "{}", reply.text);
        assert!(reply.text.contains("Refund for order 1234"));
        assert!(reply.text.contains("CONFIDENCE: 0.40"));
    }

    #[test]
    fn a_reply_quotes_the_customer_only_never_an_agent_or_a_note() {
        let thread = "Subject: Refund\nCustomer name: Ada\n\
            Customer: My kettle arrived broken.\n\
            Internal note (agent): Customer is on the fraud watchlist, do not refund the kettle, kettle kettle.\n\
            Agent: We are checking the kettle order, kettle kettle kettle.";
        let reply = LocalEngine::new()
            .answer(&request("Draft a reply.", thread))
            .expect("answers");
        assert!(
            reply.text.contains("My kettle arrived broken"),
            "{}",
            reply.text
        );
        assert!(!reply.text.contains("watchlist"), "{}", reply.text);
        assert!(!reply.text.contains("checking"), "{}", reply.text);
    }

    #[test]
    fn output_is_bounded_by_max_tokens() {
        let mut req = request("Summarize.", THREAD);
        req.max_tokens = 5;
        let answer = LocalEngine::new().answer(&req).expect("answers");
        assert!(answer.text.chars().count() <= 20);
    }

    #[test]
    fn unknown_models_and_empty_input_are_refused() {
        let mut req = request("Summarize.", THREAD);
        req.model = Some("gpt-9".into());
        assert!(matches!(
            LocalEngine::new().answer(&req),
            Err(ProviderError {
                kind: FailureKind::UnknownModel,
                ..
            })
        ));
        assert!(matches!(
            LocalEngine::new().answer(&request("Summarize.", "  ")),
            Err(ProviderError {
                kind: FailureKind::BadRequest,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn works_through_the_trait_object() {
        let registry = crate::ProviderRegistry::with_local_engine();
        let provider = registry.get("local").expect("registered");
        let answer = provider
            .complete(request("Summarize.", THREAD), Duration::from_secs(1))
            .await
            .expect("answers");
        assert_eq!(answer.completion.model, "extractive-v1");
    }
}
