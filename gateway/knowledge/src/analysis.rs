//! Language-aware text analysis: which language a document is in, and how each language's
//! text becomes index terms.
//!
//! Every analyzer starts with [`MixedTokenizer`], which cuts Latin-script text into words and
//! Chinese, Japanese and Korean text (written without spaces) into overlapping character
//! bigrams — the approach of Lucene's CJK analyzer, which needs no dictionary and finds
//! `退款` in `我想申请退款` — so a document mixing scripts is indexed correctly whatever its
//! language. Then terms are lower-cased, and for English, German, French and Spanish stop words
//! are dropped and words stemmed (`refunds` and `refunded` both become `refund`).

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};

/// Longest term indexed, in bytes (a base64 blob or URL in an article is not a word).
const MAX_TERM_BYTES: usize = 40;

/// A language the index has its own analyzer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lang {
    English,
    German,
    French,
    Spanish,
    /// Chinese, Japanese, Korean: bigrams, no stemming.
    Cjk,
    /// Anything else: words, no stemming, no stop words.
    Other,
}

impl Lang {
    /// Every language, in field order.
    pub(crate) const ALL: [Lang; 6] = [
        Lang::English,
        Lang::German,
        Lang::French,
        Lang::Spanish,
        Lang::Cjk,
        Lang::Other,
    ];

    /// Short code used in field and analyzer names.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::English => "en",
            Lang::German => "de",
            Lang::French => "fr",
            Lang::Spanish => "es",
            Lang::Cjk => "cjk",
            Lang::Other => "other",
        }
    }

    /// The analyzer's registered name.
    pub(crate) fn analyzer_name(self) -> String {
        format!("deskbridge_{}", self.code())
    }

    fn stemmer_language(self) -> Option<Language> {
        match self {
            Lang::English => Some(Language::English),
            Lang::German => Some(Language::German),
            Lang::French => Some(Language::French),
            Lang::Spanish => Some(Language::Spanish),
            Lang::Cjk | Lang::Other => None,
        }
    }

    /// The analyzer for this language.
    pub(crate) fn analyzer(self) -> TextAnalyzer {
        let base = TextAnalyzer::builder(MixedTokenizer)
            .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
            .filter(LowerCaser);
        match self.stemmer_language() {
            Some(language) => match StopWordFilter::new(language) {
                Some(stop_words) => base
                    .filter(stop_words)
                    .filter(Stemmer::new(language))
                    .build(),
                None => base.filter(Stemmer::new(language)).build(),
            },
            None => base.build(),
        }
    }
}

/// The language of a document: from its locale when it states one (`de-ch` → German), else
/// guessed from its text (mostly CJK characters → CJK; otherwise the language whose common
/// words occur most; with none of them, English for plain Latin script, else no stemming).
pub(crate) fn detect(locale: Option<&str>, text: &str) -> Lang {
    if let Some(locale) = locale {
        let primary = locale
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => return Lang::English,
            "de" => return Lang::German,
            "fr" => return Lang::French,
            "es" => return Lang::Spanish,
            "zh" | "ja" | "ko" => return Lang::Cjk,
            "" => {}
            _ => return Lang::Other,
        }
    }
    guess(text)
}

/// Common function words per language, for [`guess`].
const MARKERS: [(Lang, &[&str]); 4] = [
    (
        Lang::English,
        &[
            "the", "and", "you", "your", "is", "are", "to", "of", "for", "with", "we", "this",
        ],
    ),
    (
        Lang::German,
        &[
            "der", "die", "das", "und", "ist", "nicht", "sie", "ihr", "wir", "mit", "für", "ein",
        ],
    ),
    (
        Lang::French,
        &[
            "le", "la", "les", "et", "est", "vous", "votre", "nous", "pour", "une", "des", "avec",
        ],
    ),
    (
        Lang::Spanish,
        &[
            "el", "los", "las", "y", "es", "usted", "su", "para", "una", "con", "por", "que",
        ],
    ),
];

/// Guesses the language of `text` from its first 2,000 characters.
fn guess(text: &str) -> Lang {
    let sample: String = text.chars().take(2_000).collect();
    let letters = sample.chars().filter(|c| c.is_alphabetic()).count();
    let cjk = sample.chars().filter(|&c| is_cjk(c)).count();
    if letters > 0 && cjk * 5 >= letters {
        return Lang::Cjk;
    }
    let words: Vec<String> = sample
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    // No common word to go by (a short macro: "Refunds within 30 days"): Latin-script text is
    // taken for English, the most common helpdesk language, so its words are still stemmed.
    let latin = letters > 0
        && sample.chars().filter(|c| c.is_ascii_alphabetic()).count() * 10 >= letters * 9;
    let mut best = (if latin { Lang::English } else { Lang::Other }, 0usize);
    for (lang, markers) in MARKERS {
        let hits = words
            .iter()
            .filter(|w| markers.contains(&w.as_str()))
            .count();
        if hits > best.1 {
            best = (lang, hits);
        }
    }
    best.0
}

/// Whether `c` belongs to a script written without spaces between words.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F  // CJK Extensions B–F, compatibility supplement
    )
}

/// Words for alphabetic scripts, overlapping bigrams for CJK runs (a lone CJK character is a
/// term of its own).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MixedTokenizer;

/// The tokens of one text, computed up front.
pub(crate) struct MixedTokenStream {
    tokens: Vec<Token>,
    /// Index of the current token plus one (0: before the first).
    next: usize,
    /// Returned if a caller asks for a token before advancing (never a panic).
    placeholder: Token,
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream {
        MixedTokenStream {
            tokens: tokenize(text),
            next: 0,
            placeholder: Token::default(),
        }
    }
}

impl TokenStream for MixedTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.next
            .checked_sub(1)
            .and_then(|at| self.tokens.get(at))
            .unwrap_or(&self.placeholder)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(at) if at < self.tokens.len() => &mut self.tokens[at],
            _ => &mut self.placeholder,
        }
    }
}

/// Splits `text` into tokens (see [`MixedTokenizer`]).
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word_start: Option<usize> = None;
    // Byte offsets of the current CJK run's characters.
    let mut cjk_run: Vec<(usize, usize)> = Vec::new();
    let push = |tokens: &mut Vec<Token>, from: usize, to: usize| {
        let position = tokens.len();
        tokens.push(Token {
            offset_from: from,
            offset_to: to,
            position,
            text: text[from..to].to_owned(),
            position_length: 1,
        });
    };
    let flush_cjk = |tokens: &mut Vec<Token>, run: &mut Vec<(usize, usize)>| {
        match run.len() {
            0 => {}
            1 => push(tokens, run[0].0, run[0].1),
            _ => {
                for pair in run.windows(2) {
                    push(tokens, pair[0].0, pair[1].1);
                }
            }
        }
        run.clear();
    };
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        if is_cjk(c) {
            if let Some(start) = word_start.take() {
                push(&mut tokens, start, at);
            }
            cjk_run.push((at, end));
        } else if c.is_alphanumeric() {
            flush_cjk(&mut tokens, &mut cjk_run);
            word_start.get_or_insert(at);
        } else {
            flush_cjk(&mut tokens, &mut cjk_run);
            if let Some(start) = word_start.take() {
                push(&mut tokens, start, at);
            }
        }
    }
    flush_cjk(&mut tokens, &mut cjk_run);
    if let Some(start) = word_start {
        push(&mut tokens, start, text.len());
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(lang: Lang, text: &str) -> Vec<String> {
        let mut analyzer = lang.analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn cjk_runs_become_bigrams_and_latin_words_stay_words() {
        assert_eq!(
            terms(Lang::Cjk, "我想申请退款 order 42"),
            ["我想", "想申", "申请", "请退", "退款", "order", "42"]
        );
        assert_eq!(terms(Lang::Cjk, "好"), ["好"]);
        assert_eq!(terms(Lang::Other, "ticket退款"), ["ticket", "退款"]);
    }

    #[test]
    fn english_german_french_spanish_are_stemmed_and_stop_words_dropped() {
        assert_eq!(
            terms(Lang::English, "The refunds of the refunded"),
            ["refund", "refund"]
        );
        for (lang, one, many) in [
            (Lang::German, "die Rückerstattung", "Rückerstattungen"),
            (Lang::French, "le remboursement", "remboursements"),
            (Lang::Spanish, "el reembolso", "reembolsos"),
        ] {
            let singular = terms(lang, one);
            assert_eq!(singular.len(), 1, "{lang:?}: the article is a stop word");
            assert_eq!(singular, terms(lang, many), "{lang:?}");
        }
        assert!(terms(Lang::Other, "The refunds").contains(&"refunds".to_owned()));
    }

    #[test]
    fn an_empty_text_has_no_tokens() {
        assert!(terms(Lang::English, "  ... ").is_empty());
        assert!(terms(Lang::Cjk, "").is_empty());
    }

    #[test]
    fn language_comes_from_the_locale_or_the_text() {
        assert_eq!(detect(Some("de-ch"), "anything"), Lang::German);
        assert_eq!(detect(Some("zh-cn"), "anything"), Lang::Cjk);
        assert_eq!(detect(Some("pt-br"), "the and you"), Lang::Other);
        assert_eq!(detect(None, "如何申请退款？请联系我们。"), Lang::Cjk);
        assert_eq!(
            detect(None, "Sie können die Bestellung und das Paket zurückgeben"),
            Lang::German
        );
        assert_eq!(
            detect(None, "Vous pouvez retourner votre colis pour un avoir"),
            Lang::French
        );
        assert_eq!(
            detect(None, "You can return the parcel for a refund"),
            Lang::English
        );
        assert_eq!(detect(None, "Refunds within 30 days"), Lang::English);
        assert_eq!(detect(None, "Ремонт за 30 дней"), Lang::Other);
    }
}
