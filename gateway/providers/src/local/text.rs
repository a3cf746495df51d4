//! Words and sentences: all the language the local engine knows.
//!
//! Latin-script text splits into words at anything that is not a letter, a digit or an
//! apostrophe; stopwords and one-character words are dropped. Chinese, Japanese and Korean are
//! written without spaces, so a run of CJK characters counts as its overlapping character
//! bigrams (`退款申请` → `退款 款申 申请`), and a CJK character standing alone as itself; a
//! bigram of two grammatical characters (`我的`, `です`) is dropped like a stopword. Sentences end
//! at `.!?` and at the CJK `。！？；` (closing quotes and brackets stay with their sentence).

use std::collections::{BTreeMap, BTreeSet};

/// Words that say nothing about what a ticket is about.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has",
    "have", "hello", "hi", "how", "i", "if", "in", "is", "it", "its", "just", "me", "my", "no",
    "not", "of", "on", "or", "our", "please", "so", "thank", "thanks", "that", "the", "their",
    "them", "then", "there", "this", "to", "up", "was", "we", "were", "what", "when", "which",
    "will", "with", "would", "you", "your",
];

/// CJK characters that carry grammar rather than topic: alone, or paired with each other,
/// they are stopwords.
const CJK_FUNCTION_CHARS: &[char] = &[
    '的', '了', '是', '我', '你', '他', '她', '它', '们', '在', '和', '也', '就', '都', '吗', '呢',
    '吧', '啊', '呀', '这', '那', '个', '请', '您', '很', 'の', 'は', 'が', 'を', 'に', 'で', 'と',
    'も', 'た', 'て', 'す', 'ま', 'し', 'い', 'か', 'ね', 'よ', 'な',
];

/// Whether `c` is written without spaces between words: CJK ideographs, kana, hangul.
pub(super) fn is_cjk(c: char) -> bool {
    matches!(
        u32::from(c),
        0x1100..=0x11FF        // Hangul Jamo
            | 0x3040..=0x30FF  // Hiragana, Katakana
            | 0x3130..=0x318F  // Hangul compatibility Jamo
            | 0x31F0..=0x31FF  // Katakana phonetic extensions
            | 0x3400..=0x4DBF  // CJK extension A
            | 0x4E00..=0x9FFF  // CJK unified ideographs
            | 0xA960..=0xA97F  // Hangul Jamo extended A
            | 0xAC00..=0xD7FF  // Hangul syllables, Jamo extended B
            | 0xF900..=0xFAFF  // CJK compatibility ideographs
            | 0xFF66..=0xFF9F  // Half-width Katakana
            | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

/// The words of `text`, lower-cased, stopwords dropped; CJK runs as bigrams.
pub(super) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split(|c: char| !c.is_alphanumeric() && c != '\'') {
        if !token.chars().any(is_cjk) {
            push_word(token, &mut out);
            continue;
        }
        let mut run: Vec<char> = Vec::new();
        let mut latin = String::new();
        for c in token.chars() {
            if is_cjk(c) {
                push_word(&latin, &mut out);
                latin.clear();
                run.push(c);
            } else {
                push_cjk(&run, &mut out);
                run.clear();
                latin.push(c);
            }
        }
        push_word(&latin, &mut out);
        push_cjk(&run, &mut out);
    }
    out
}

fn push_word(word: &str, out: &mut Vec<String>) {
    if word.chars().nth(1).is_none() {
        return;
    }
    let word = word.to_lowercase();
    if !STOPWORDS.contains(&word.as_str()) {
        out.push(word);
    }
}

fn push_cjk(run: &[char], out: &mut Vec<String>) {
    match run {
        [] => {}
        [single] => {
            if !CJK_FUNCTION_CHARS.contains(single) {
                out.push(single.to_string());
            }
        }
        _ => {
            for pair in run.windows(2) {
                if !pair.iter().all(|c| CJK_FUNCTION_CHARS.contains(c)) {
                    out.push(pair.iter().collect());
                }
            }
        }
    }
}

/// Ends a sentence.
fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '；' | '｡' | '…')
}

/// Closes a quotation or a bracket: stays with the sentence it follows.
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | ')' | ']' | '」' | '』' | '）' | '】' | '”' | '’' | '》'
    )
}

/// Appends the sentences of one line of text to `out`; fragments too short to say anything
/// (fewer than three words, or four CJK characters) are dropped.
pub(super) fn split_sentences(line: &str, out: &mut Vec<String>) {
    let mut current = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        if is_terminator(c) {
            while let Some(&next) = chars.peek() {
                if !(is_terminator(next) || is_closer(next)) {
                    break;
                }
                current.push(next);
                chars.next();
            }
            push_sentence(out, &current);
            current.clear();
        }
    }
    push_sentence(out, &current);
}

fn push_sentence(out: &mut Vec<String>, current: &str) {
    let sentence = current.trim().trim_start_matches(['-', '*', '>']).trim();
    if substantial(sentence) {
        out.push(sentence.to_owned());
    }
}

/// Whether a fragment is worth a sentence: a word with letters weighs 4, a number 2, a CJK
/// character 3; it takes 12 (three words, or four CJK characters). A phone number alone is
/// not a sentence.
fn substantial(sentence: &str) -> bool {
    let mut weight = 0usize;
    for token in sentence.split_whitespace() {
        weight += 3 * token.chars().filter(|&c| is_cjk(c)).count();
        if token.chars().any(|c| c.is_alphabetic() && !is_cjk(c)) {
            weight += 4;
        } else if token.chars().any(|c| c.is_numeric()) {
            weight += 2;
        }
        if weight >= 12 {
            return true;
        }
    }
    false
}

/// How often each word occurs in `texts`.
pub(super) fn frequencies<'a>(texts: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, u32> {
    let mut frequency = BTreeMap::new();
    for text in texts {
        for word in words(text) {
            *frequency.entry(word).or_default() += 1;
        }
    }
    frequency
}

/// The word score of `text`: the frequencies of its distinct words summed, divided by the
/// square root of their number, so that a long text does not win by length alone. Zero when
/// it shares no word with `frequency`.
pub(super) fn score(text: &str, frequency: &BTreeMap<String, u32>) -> f64 {
    let unique: BTreeSet<String> = words(text).into_iter().collect();
    let total: u32 = unique
        .iter()
        .map(|w| frequency.get(w).copied().unwrap_or(0))
        .fold(0, u32::saturating_add);
    f64::from(total) / (unique.len().max(1) as f64).sqrt()
}

/// The indices of the `count` best-scoring sentences (ties go to the earlier one), in their
/// original order.
pub(super) fn best(
    sentences: &[String],
    frequency: &BTreeMap<String, u32>,
    count: usize,
) -> Vec<usize> {
    let mut chosen: Vec<usize> = ranked(sentences, frequency)
        .into_iter()
        .take(count)
        .map(|(i, _)| i)
        .collect();
    chosen.sort_unstable();
    chosen
}

/// Every sentence's index and score, best first (ties go to the earlier one).
pub(super) fn ranked(sentences: &[String], frequency: &BTreeMap<String, u32>) -> Vec<(usize, f64)> {
    let mut scored: Vec<(usize, f64)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (i, score(s, frequency)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in text.lines() {
            split_sentences(line, &mut out);
        }
        out
    }

    #[test]
    fn latin_words_work_as_before() {
        assert_eq!(
            words("Hello, I'd like a REFUND for order 1234 — it's broken!"),
            ["i'd", "like", "refund", "order", "1234", "it's", "broken"]
        );
    }

    #[test]
    fn cjk_text_counts_as_overlapping_bigrams() {
        assert_eq!(words("退款申请"), ["退款", "款申", "申请"]);
        // A lone character is a unigram; grammatical pairs and characters are stopwords.
        assert_eq!(words("钱"), ["钱"]);
        assert_eq!(words("的"), Vec::<String>::new());
        assert_eq!(words("我的订单"), ["的订", "订单"]);
    }

    #[test]
    fn mixed_scripts_split_into_both_kinds_of_words() {
        assert_eq!(
            words("Refund 退款 please, order#1234号"),
            ["refund", "退款", "order", "1234", "号"]
        );
        assert_eq!(words("iPhone坏了"), ["iphone", "坏了"]);
    }

    #[test]
    fn sentences_end_at_cjk_punctuation_too() {
        assert_eq!(
            sentences("我的咖啡机坏了。我要求全额退款！你们什么时候能处理？另外，包装也破损了；"),
            [
                "我的咖啡机坏了。",
                "我要求全额退款！",
                "你们什么时候能处理？",
                "另外，包装也破损了；"
            ]
        );
        assert_eq!(
            sentences("他说：「东西已经寄出了。」但是我到现在都没收到。"),
            ["他说：「东西已经寄出了。」", "但是我到现在都没收到。"]
        );
    }

    #[test]
    fn short_fragments_and_bare_numbers_are_not_sentences() {
        assert_eq!(
            sentences("Thanks! +44 20 7946 0958. 谢谢。 好的。 我要退款。 The kettle is broken."),
            ["我要退款。", "The kettle is broken."]
        );
        assert_eq!(
            sentences("My order 1234 is late. Really?!"),
            ["My order 1234 is late."]
        );
    }

    #[test]
    fn scores_are_zero_without_shared_words_and_bounded_by_length() {
        let frequency = frequencies(["kettle broken kettle"]);
        assert_eq!(score("The weather is nice today.", &frequency), 0.0);
        assert!(score("The kettle is broken.", &frequency) > 0.0);
        assert_eq!(score("", &frequency), 0.0);
    }
}
