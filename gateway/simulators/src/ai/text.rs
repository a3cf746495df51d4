//! What the simulated model answers, and how many tokens things cost.
//!
//! Tokens are estimated deterministically as ⌈characters / 4⌉ (Unicode scalar values), the
//! rule of thumb both vendors give for English text; a prompt costs the estimate of all its
//! text (system prompt and every message's text, summed before rounding). An answer is cut to
//! `max_tokens` by keeping its first `4 × max_tokens` characters, and at the earliest stop
//! sequence that falls within that reach.
//!
//! The default answer is fixed but for the vendor and model it names, and never repeats the
//! prompt: it has the shape Deskbridge's suggest-reply plugin parses (a reply, then
//! `CONFIDENCE:` and `RATIONALE:` lines).

/// ⌈chars / 4⌉.
pub(crate) fn estimate_tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// The answer when no scripted one is queued.
pub(crate) fn default_answer(simulator: &str, model: &str) -> String {
    format!(
        "Hello,\n\nThank you for your message. We are looking into it and will get back to you \
         shortly.\n\nCONFIDENCE: 0.8\nRATIONALE: answered by the {simulator} simulator ({model})."
    )
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The answer ended.
    End,
    /// `max_tokens` was reached.
    MaxTokens,
    /// This stop sequence was met (and left out).
    Sequence(String),
}

/// The generated text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    pub(crate) text: String,
    pub(crate) tokens: u64,
    pub(crate) stop: Stop,
}

/// `answer` as the model would give it under `max_tokens` and `stop` sequences.
pub(crate) fn complete(answer: &str, max_tokens: Option<u64>, stop: &[String]) -> Completion {
    let total_chars = answer.chars().count();
    let reach = max_tokens.map_or(usize::MAX, |m| {
        usize::try_from(m.saturating_mul(4)).unwrap_or(usize::MAX)
    });
    // The earliest stop sequence, as (char position, byte position, sequence).
    let sequence = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| answer.find(s.as_str()).map(|byte| (byte, s)))
        .min_by_key(|(byte, _)| *byte)
        .map(|(byte, s)| (answer[..byte].chars().count(), byte, s));
    if let Some((chars, byte, s)) = sequence
        && chars <= reach
    {
        return Completion {
            text: answer[..byte].to_owned(),
            tokens: estimate_tokens(chars),
            stop: Stop::Sequence(s.clone()),
        };
    }
    if total_chars > reach {
        let text: String = answer.chars().take(reach).collect();
        return Completion {
            tokens: estimate_tokens(reach),
            text,
            stop: Stop::MaxTokens,
        };
    }
    Completion {
        text: answer.to_owned(),
        tokens: estimate_tokens(total_chars),
        stop: Stop::End,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_round_up() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(1), 1);
        assert_eq!(estimate_tokens(8), 2);
        assert_eq!(estimate_tokens(9), 3);
    }

    #[test]
    fn answers_are_cut_to_max_tokens_and_stop_sequences() {
        let whole = complete("abcdefghij", None, &[]);
        assert_eq!((whole.text.as_str(), whole.tokens), ("abcdefghij", 3));
        assert_eq!(whole.stop, Stop::End);

        let cut = complete("abcdefghij", Some(2), &[]);
        assert_eq!((cut.text.as_str(), cut.tokens), ("abcdefgh", 2));
        assert_eq!(cut.stop, Stop::MaxTokens);

        let stopped = complete("abcdefghij", Some(2), &["ef".into(), "cd".into()]);
        assert_eq!(stopped.text, "ab");
        assert_eq!(stopped.stop, Stop::Sequence("cd".into()));

        let beyond = complete("abcdefghij", Some(1), &["gh".into()]);
        assert_eq!(beyond.stop, Stop::MaxTokens, "the limit comes first");

        let wide = complete("äöüßäöüß", Some(1), &[]);
        assert_eq!(wide.text, "äöüß", "cut on characters, not bytes");
    }

    #[test]
    fn the_default_answer_has_the_plugin_shape() {
        let answer = default_answer("openai", "gpt-x");
        assert!(answer.contains("\nCONFIDENCE: 0.8\nRATIONALE: "));
        assert!(answer.ends_with("(gpt-x)."));
    }
}
