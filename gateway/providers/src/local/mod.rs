//! The built-in local engine: deterministic, offline, no model weights.
//!
//! It is not a language model. It does extractive work well enough for a fresh install and for
//! tests to run end to end. The task is read from the system prompt's instructions (its
//! `<knowledge>` blocks left out, so an article cannot change the task): one that mentions
//! "summar" gets a summary, one that mentions "reply" gets a reply, anything else an extract.
//! Replace it with a real provider in production; plugins do not change.
//!
//! **Input.** The user message is read as the plugins write it (`transcript.rs`): `Key: value`
//! metadata (`Subject:`, `Customer name:`, optionally `Ticket ID:`), then `Customer: …` /
//! `Agent: …` / `Internal note (agent): …` lines, each starting a message that the following
//! lines continue. Every message is cleaned first: `>` quoted lines, reply attributions
//! (`On … wrote:`, `Am … schrieb …:`, `Le … a écrit :`), `-----Original Message-----` and
//! Outlook `From:`/`Sent:` headers with everything after them, `-- ` signatures and trailing
//! "Sent from my iPhone" lines are dropped.
//!
//! **Summaries** pick the most informative whole sentences (word-frequency scoring,
//! `text.rs`). Sentences end at `.!?` and at the CJK `。！？；`; Chinese, Japanese and Korean
//! text, written without spaces, is scored as overlapping character bigrams.
//!
//! **Replies** are grounded when the system prompt carries retrieved knowledge, after the
//! instructions, in this format (`knowledge.rs`; `<knowledge>` opens a line, and only the first
//! block of the system messages counts — knowledge in the user message, which carries customer
//! text, is never read):
//!
//! ```text
//! <knowledge>
//! <article id="zendesk:macro:42" title="Refund policy" url="https://help.example.com/a/42">
//! Hello {{ticket.requester.first_name}}, we refund orders within 30 days …
//! </article>
//! <article id="md:faq.md" title="…" url="">
//! …
//! </article>
//! </knowledge>
//! ```
//!
//! Articles come best first; attribute values escape `" < > &` and article text `< > &` as
//! `&quot; &lt; &gt; &amp;`. A malformed block (unterminated, stray markup) counts as none.
//! The engine re-scores the articles against the customer's words (the `Customer:` messages;
//! ties and no overlap at all go to the better rank), fills the helpdesk placeholders it can
//! (`{{ticket.requester.first_name}}`, `{{ticket.requester.name}}`, `{{ticket.id}}`, …) and
//! removes the others, then drafts (`reply.rs`): an article that opens with a greeting or has
//! at most 800 characters is the reply (with a greeting added if it has none); a longer one
//! gives a greeting, its 2–3 sentences most relevant to the customer's words, "You can read
//! more here: <url>" and "Best regards". A grounded reply never quotes the customer, and its
//! trailer says `CONFIDENCE: 0.70` and `RATIONALE: Based on "<title>" (<id>).` (and
//! `SOURCES: <id>` when the instructions ask for `SOURCES:`).
//!
//! Without knowledge (no block, no article with text) a reply is a fixed template around the
//! customer's key sentence — taken from `Customer:` messages only, so a reply never quotes an
//! agent's words or an internal note that reached the prompt — with `CONFIDENCE: 0.40` (and
//! `SOURCES: none`). The trailer is added when the instructions ask for one (`confidence:`,
//! `sources:`), and survives when the reply is cut to `max_tokens`.

mod knowledge;
mod reply;
mod text;
mod transcript;

use std::time::Duration;

use crate::{
    AiProvider, Answered, BoxFuture, ChatRole, Completion, CompletionRequest, FailureKind,
    ProviderError, Quota, Usage, estimate_tokens,
};

use transcript::{Message, Transcript};

const MODEL: &str = "extractive-v1";

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
        let system = joined(request, ChatRole::System);
        let instructions = knowledge::without_knowledge(&system).to_lowercase();
        let input = joined(request, ChatRole::User);
        if input.trim().is_empty() {
            return Err(ProviderError::new(
                "local",
                FailureKind::BadRequest,
                "no user message to work on",
            ));
        }
        let transcript = Transcript::parse(&input);
        let max_chars = max_chars(request.max_tokens);
        let mut text = if instructions.contains("summar") {
            summary(&transcript, &input, 3)
        } else if instructions.contains("reply") {
            let articles = knowledge::articles(&system);
            let draft = reply::draft(&transcript, articles.as_deref());
            let mut trailer = Vec::new();
            if instructions.contains("confidence:") {
                trailer.push(draft.trailer);
            }
            if instructions.contains("sources:") {
                let source = draft.source.as_deref().unwrap_or("none");
                trailer.push(format!("SOURCES: {source}"));
            }
            let trailer = trailer.join("\n");
            fit_reply(
                draft.body,
                (!trailer.is_empty()).then_some(trailer.as_str()),
                max_chars,
            )
        } else {
            summary(&transcript, &input, 1)
        };
        truncate_to_chars(&mut text, max_chars);
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

/// A summary of the whole (cleaned) transcript; when it has no sentence, its cleaned text, or
/// the input itself when cleaning left nothing.
fn summary(transcript: &Transcript<'_>, input: &str, count: usize) -> String {
    let messages: Vec<&Message<'_>> = transcript.messages.iter().collect();
    summarize(&messages, count).unwrap_or_else(|| {
        let cleaned = messages
            .iter()
            .flat_map(|m| m.all())
            .collect::<Vec<_>>()
            .join("\n");
        match cleaned.trim() {
            "" => input.trim().to_owned(),
            cleaned => cleaned.to_owned(),
        }
    })
}

/// The `count` most informative sentences of `messages`, in their original order, as a bullet
/// list; `None` when they have no sentence. Sentences come from content lines; the word
/// frequencies from every line (a subject's words make a sentence more relevant).
fn summarize(messages: &[&Message<'_>], count: usize) -> Option<String> {
    let mut sentences = Vec::new();
    for line in messages.iter().flat_map(|m| m.content()) {
        text::split_sentences(line, &mut sentences);
    }
    if sentences.is_empty() {
        return None;
    }
    let frequency = text::frequencies(messages.iter().flat_map(|m| m.all()));
    let summary = text::best(&sentences, &frequency, count)
        .into_iter()
        .map(|i| format!("- {}", sentences[i]))
        .collect::<Vec<_>>()
        .join("\n");
    Some(summary)
}

/// A reply and its trailer within `max_chars`: the reply is cut (at a sentence or a word when
/// one is near) so the trailer fits, unless the trailer alone would take half the room.
fn fit_reply(body: String, trailer: Option<&str>, max_chars: usize) -> String {
    let Some(trailer) = trailer else {
        return cut_gracefully(body, max_chars);
    };
    let reserve = trailer.chars().count() + 2;
    if reserve.saturating_mul(2) > max_chars {
        return format!("{body}\n\n{trailer}");
    }
    format!("{}\n\n{trailer}", cut_gracefully(body, max_chars - reserve))
}

/// `text` cut to `max_chars`, after the last sentence or line end in the second half of the
/// room, else after the last word there, else exactly.
fn cut_gracefully(mut text: String, max_chars: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return text;
    };
    let head = &text[..cut];
    let half = head
        .char_indices()
        .nth(max_chars / 2)
        .map_or(head.len(), |(at, _)| at);
    let sentence_end = head[half..]
        .char_indices()
        .rfind(|&(_, c)| matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？'))
        .map(|(at, c)| half + at + c.len_utf8());
    let word_end = head[half..].rfind(char::is_whitespace).map(|at| half + at);
    text.truncate(sentence_end.or(word_end).unwrap_or(cut));
    text.truncate(text.trim_end().len());
    text
}

/// About four characters to a token, as [`estimate_tokens`] counts.
fn max_chars(max_tokens: u32) -> usize {
    usize::try_from(max_tokens)
        .unwrap_or(usize::MAX)
        .saturating_mul(4)
}

fn truncate_to_chars(text: &mut String, max_chars: usize) {
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
    }
}

#[cfg(test)]
mod tests;
