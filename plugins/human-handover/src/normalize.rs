//! The normalisation that ticket text and every phrase go through before they are compared, and
//! the normalised text's units.
//!
//! In order:
//!
//! 1. Unicode NFKC: full-width and half-width forms fold (`ＨＵＭＡＮ` → `HUMAN`, `ｵﾍﾟﾚｰﾀｰ` →
//!    `オペレーター`), ligatures and compatibility characters decompose (`ﬁ` → `fi`).
//! 2. Latin diacritics are removed: the text is decomposed and the combining marks of the
//!    "Combining Diacritical Marks" block (U+0300–U+036F) are dropped (`Mitarbeiterin über` →
//!    `mitarbeiterin uber`, `être` → `etre`). Other marks stay, so the Japanese voiced marks
//!    (U+3099/U+309A) recompose and `が` stays `が`; Hangul stays Hangul.
//! 3. Lower case, plus a few letters without a decomposition folded by hand: `ß` → `ss`,
//!    `æ` → `ae`, `œ` → `oe`, `ø` → `o`, `đ` → `d`, `ł` → `l`, `ı` → `i`.
//! 4. Invisible characters that only hide words from a matcher (zero-width spaces and joiners,
//!    soft hyphens, bidi controls, variation selectors) are removed: `hu\u{200B}man` → `human`.
//! 5. Everything that is not a letter, digit or mark — spaces, punctuation, symbols, emoji, every
//!    kind of apostrophe and quote (`'`, `’`, `‘`, `ʼ`, `＂`, …) — separates words, so
//!    `l’opérateur` → `l operateur`, `don't` → `don t`, `e-mail` → `e mail`.
//!
//! The result is a sequence of units: a word of a space-delimited script, or one character of
//! Chinese, Japanese or Korean (Han, kana, Hangul), which are matched character by character
//! because those scripts have no reliable word spaces. Whitespace between two CJK characters is
//! dropped (`人工 客服` reads like `人工客服`, `상담원 연결` like `상담원연결`); punctuation
//! between them is kept as a break that a phrase cannot run across.
//!
//! Work is linear in the input: ASCII, Han, kana and Hangul take a fast path; other characters
//! are normalised once and then served from a small cache; a character followed by combining
//! characters is composed in a cluster of at most [`MAX_CLUSTER`] characters (the common pairs
//! — half-width kana with a voiced mark — cached too). The same pass counts the shouting and
//! `!!!` signals of the raw text ([`Shout`]), so the text is read once. Only the start and the
//! end of a long message are read ([`MAX_SCAN_BYTES`], [`MAX_SCAN_OLDER_BYTES`]).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{
    canonical_combining_class, compose, decompose_compatible, is_combining_mark,
};

/// Longest piece of the last customer message that is read, in bytes. Longer messages are read
/// on their first and last half of this (a request for a person is at the start or the end of
/// a long mail); this keeps a call's work bounded whatever customers paste.
pub(crate) const MAX_SCAN_BYTES: usize = 16 * 1024;

/// The same for the older customer messages, which are only read for frustration.
pub(crate) const MAX_SCAN_OLDER_BYTES: usize = 4 * 1024;

/// Longest run of combining characters normalised as one cluster; longer runs are cut (their
/// order matters to no phrase, and an unbounded run would be sorted as a whole).
const MAX_CLUSTER: usize = 32;

/// The longest NFKD expansion of one character (U+FDFA) is 18 characters.
const MAX_DECOMPOSITION: usize = 18;

/// Normalised text: see the [module docs](self). Words are separated by single spaces; CJK
/// characters that were only separated by whitespace are joined.
pub fn normalize(text: &str) -> String {
    Text::new(text).joined()
}

/// What separated the previous unit from the next one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sep {
    #[default]
    None,
    Space,
    Punct,
}

/// One unit of normalised text: `buf[start..end]` of its [`Text`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Its first character.
    pub(crate) first: char,
    /// A Chinese, Japanese or Korean character.
    pub(crate) cjk: bool,
    /// A CJK character that punctuation separates from the CJK character before it.
    pub(crate) split: bool,
}

/// What a normalised character does to the text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Part of a word.
    Word,
    /// A CJK unit.
    Cjk,
    Space,
    Punct,
    /// Removed.
    #[default]
    Drop,
}

/// What an input character counts as for the shouting and `!!!` signals.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Case {
    Upper,
    Lower,
    /// A letter without case outside CJK.
    Caseless,
    /// A CJK character: the word it is in does not count for shouting.
    Cjk,
    /// A digit: the word does not count either (order numbers, codes).
    Digit,
    Space,
    Bang,
    #[default]
    Other,
}

/// Outputs cached per character.
const CACHED_OUTPUTS: usize = 3;
const CACHE_SIZE: usize = 256;

/// The cached normalisation of one character that nothing combines with.
#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    key: Option<char>,
    /// `may_combine(key)`.
    combines: bool,
    case: Case,
    len: u8,
    out: [(char, Kind); CACHED_OUTPUTS],
}

/// The cached normalisation of a character followed by one combining character.
#[derive(Debug, Default, Clone, Copy)]
struct PairEntry {
    key: Option<(char, char)>,
    len: u8,
    out: [(char, Kind); CACHED_OUTPUTS],
}

/// The shouting and `!!!` signals of the raw text, counted while it is normalised (raw words
/// are split at whitespace only).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Shout {
    /// Three exclamation marks in a row (full-width ones count).
    pub(crate) bangs: bool,
    bang_run: u8,
    /// Cased letters and upper-case letters, in words without digits or CJK characters.
    letters: usize,
    upper: usize,
    /// Words of at least two letters, all upper case.
    caps_words: usize,
    /// Every letter, CJK included.
    all_letters: usize,
    word_letters: usize,
    word_upper: usize,
    /// The current word has a digit or a CJK character: left out.
    word_skip: bool,
}

impl Shout {
    #[inline]
    fn count(&mut self, case: Case) {
        if case == Case::Bang {
            self.bang_run = self.bang_run.saturating_add(1);
            self.bangs |= self.bang_run >= 3;
            return;
        }
        self.bang_run = 0;
        match case {
            Case::Upper => {
                self.word_letters += 1;
                self.word_upper += 1;
            }
            Case::Lower => self.word_letters += 1,
            Case::Caseless => self.all_letters += 1,
            Case::Cjk => {
                self.all_letters += 1;
                self.word_skip = true;
            }
            Case::Digit => self.word_skip = true,
            Case::Space => self.end_word(),
            Case::Bang | Case::Other => {}
        }
    }

    fn end_word(&mut self) {
        self.all_letters += self.word_letters;
        if !self.word_skip {
            if self.word_letters >= 2 && self.word_upper == self.word_letters {
                self.caps_words += 1;
            }
            self.letters += self.word_letters;
            self.upper += self.word_upper;
        }
        self.word_letters = 0;
        self.word_upper = 0;
        self.word_skip = false;
    }

    /// Shouting: at least 12 cased letters, 70 % of them upper case, in at least two all-caps
    /// words, and cased letters making up at least half of all letters. Words with a digit
    /// (order numbers, codes) or a CJK character are left out; Chinese, Japanese and Korean
    /// have no case, so text mostly in those scripts never counts as shouting, even with a
    /// code like "ABCDEFGH" in it.
    pub(crate) fn is_shouting(&self) -> bool {
        self.letters >= 12
            && self.upper * 10 >= self.letters * 7
            && self.caps_words >= 2
            && self.letters * 2 >= self.all_letters
    }
}

/// Normalised text as units (words, or single CJK characters), built in one pass.
#[derive(Debug, Default)]
pub(crate) struct Text {
    buf: String,
    units: Vec<Unit>,
    word_open: bool,
    sep: Sep,
    shout: Shout,
    /// Direct-mapped cache of per-character work (allocated on first use).
    cache: Vec<Entry>,
    /// The same for two-character clusters (half-width kana with a voiced mark, jamo).
    pairs: Vec<PairEntry>,
}

impl Text {
    /// Normalises `raw` (at most [`MAX_SCAN_BYTES`] of it).
    pub(crate) fn new(raw: &str) -> Text {
        let mut text = Text::default();
        text.fill(raw);
        text
    }

    /// Replaces the content with `raw`, normalised (at most [`MAX_SCAN_BYTES`] of it),
    /// reusing the buffers.
    pub(crate) fn fill(&mut self, raw: &str) {
        self.fill_up_to(raw, MAX_SCAN_BYTES);
    }

    /// Like [`Text::fill`], reading at most `limit` bytes (the start and the end).
    pub(crate) fn fill_up_to(&mut self, raw: &str, limit: usize) {
        self.buf.clear();
        self.units.clear();
        self.word_open = false;
        self.sep = Sep::None;
        self.shout = Shout::default();
        let (head, tail) = scan_slices(raw, limit);
        let size = head.len() + tail.map_or(0, str::len);
        self.buf.reserve(size);
        self.units.reserve(size / 4);
        self.feed(head);
        if let Some(tail) = tail {
            self.separator(Sep::Punct);
            self.shout.count(Case::Space);
            self.feed(tail);
        }
        self.close_word();
        self.shout.end_word();
    }

    /// The shouting and `!!!` signals of what was read.
    pub(crate) fn shout(&self) -> &Shout {
        &self.shout
    }

    /// Number of units.
    pub(crate) fn len(&self) -> usize {
        self.units.len()
    }

    /// The text of unit `i`.
    pub(crate) fn unit(&self, i: usize) -> &str {
        self.units
            .get(i)
            .and_then(|u| self.buf.get(u.start..u.end))
            .unwrap_or("")
    }

    /// All units.
    pub(crate) fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The buffer the units point into.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.as_bytes()
    }

    /// The first character of unit `i`.
    pub(crate) fn first_char(&self, i: usize) -> char {
        self.units.get(i).map_or('\0', |u| u.first)
    }

    /// True when unit `i` is a CJK character.
    pub(crate) fn is_cjk(&self, i: usize) -> bool {
        self.units.get(i).is_some_and(|u| u.cjk)
    }

    /// The units as a string: words separated by single spaces, joined CJK characters together.
    pub(crate) fn joined(&self) -> String {
        let mut out = String::with_capacity(self.buf.len() + self.units.len());
        for (i, u) in self.units.iter().enumerate() {
            let glued = u.cjk && i > 0 && self.units[i - 1].cjk && !u.split;
            if i > 0 && !glued {
                out.push(' ');
            }
            out.push_str(&self.buf[u.start..u.end]);
        }
        out
    }

    fn feed(&mut self, raw: &str) {
        let mut rest = raw;
        while !rest.is_empty() {
            let bytes = rest.as_bytes();
            let ascii = bytes
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(bytes.len());
            if ascii > 0 {
                self.feed_ascii(&bytes[..ascii]);
                rest = &rest[ascii..];
                continue;
            }
            let Some(c) = rest.chars().next() else { break };
            let after = &rest[c.len_utf8()..];
            if is_fast_cjk(c) && !after.chars().next().is_some_and(|n| self.combines(n)) {
                // No compatibility decomposition, no case; kana with a canonical one
                // recompose to themselves.
                self.shout.count(Case::Cjk);
                self.cjk_char(c);
                rest = after;
                continue;
            }
            let slot = self.lookup(c);
            let case = self.cache[slot].case;
            // Latin marks after `c` are dropped on their own: composing them first and then
            // removing them gives the same (canonical equivalence).
            if after
                .chars()
                .next()
                .is_some_and(|n| !is_latin_mark(n) && self.combines(n))
            {
                // `c` and the combining characters after it: the full NFKC.
                self.shout.count(case);
                let mut end = c.len_utf8();
                for (count, n) in after.chars().enumerate() {
                    if count + 1 >= MAX_CLUSTER || !self.combines(n) {
                        break;
                    }
                    let slot = self.lookup(n);
                    let case = self.cache[slot].case;
                    self.shout.count(case);
                    end += n.len_utf8();
                }
                self.cluster(&rest[..end]);
                rest = &rest[end..];
                continue;
            }
            self.shout.count(case);
            let len = usize::from(self.cache[slot].len);
            if len <= CACHED_OUTPUTS {
                for k in 0..len {
                    let (d, kind) = self.cache[slot].out[k];
                    self.push(d, kind);
                }
            } else {
                self.single(c);
            }
            rest = after;
        }
    }

    /// A run of ASCII: letters and digits are lower-cased into words, the rest separates.
    fn feed_ascii(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b.is_ascii_alphanumeric() {
                self.shout.count(if b.is_ascii_uppercase() {
                    Case::Upper
                } else if b.is_ascii_lowercase() {
                    Case::Lower
                } else {
                    Case::Digit
                });
                let b = b.to_ascii_lowercase();
                self.open_word(char::from(b));
                self.buf.push(char::from(b));
            } else if b.is_ascii_whitespace() {
                self.shout.count(Case::Space);
                self.separator(Sep::Space);
            } else {
                self.shout
                    .count(if b == b'!' { Case::Bang } else { Case::Other });
                self.separator(Sep::Punct);
            }
        }
    }

    /// True when `c` may combine with the character before it (cached for non-ASCII).
    #[inline]
    fn combines(&mut self, c: char) -> bool {
        if c.is_ascii() || is_fast_cjk(c) {
            return false;
        }
        let slot = self.lookup(c);
        self.cache[slot].combines
    }

    /// The cache slot holding the work for `c`, computed on a miss.
    fn lookup(&mut self, c: char) -> usize {
        if self.cache.len() != CACHE_SIZE {
            self.cache = vec![Entry::default(); CACHE_SIZE];
        }
        let slot = (u32::from(c) as usize) % CACHE_SIZE;
        if self.cache[slot].key == Some(c) {
            return slot;
        }
        let mut entry = Entry {
            key: Some(c),
            combines: may_combine(c),
            case: case_of(c),
            ..Entry::default()
        };
        let mut outputs = [('\0', Kind::Drop); MAX_DECOMPOSITION * 3];
        let n = single_outputs(c, &mut outputs);
        if n <= CACHED_OUTPUTS {
            entry.out[..n].copy_from_slice(&outputs[..n]);
            entry.len = u8::try_from(n).unwrap_or(u8::MAX);
        } else {
            entry.len = u8::MAX;
        }
        self.cache[slot] = entry;
        slot
    }

    /// One character that nothing after it combines with and whose normalisation is too long
    /// to cache.
    fn single(&mut self, c: char) {
        let mut outputs = [('\0', Kind::Drop); MAX_DECOMPOSITION * 3];
        let n = single_outputs(c, &mut outputs);
        for &(d, kind) in &outputs[..n] {
            self.push(d, kind);
        }
    }

    /// A character and the combining characters after it.
    fn cluster(&mut self, run: &str) {
        let mut chars = run.chars();
        if let (Some(a), Some(b), None) = (chars.next(), chars.next(), chars.next()) {
            if self.pairs.is_empty() {
                self.pairs = vec![PairEntry::default(); CACHE_SIZE];
            }
            let slot = ((u32::from(a) ^ u32::from(b).rotate_left(5)) as usize) % CACHE_SIZE;
            let entry = match self.pairs.get(slot) {
                Some(entry) if entry.key == Some((a, b)) => *entry,
                _ => {
                    let mut out = [('\0', Kind::Drop); MAX_CLUSTER * 3];
                    let Some(n) = compose_simple(run, &mut out) else {
                        self.cluster_general(run);
                        return;
                    };
                    let mut entry = PairEntry {
                        key: Some((a, b)),
                        len: u8::MAX,
                        ..PairEntry::default()
                    };
                    if n <= CACHED_OUTPUTS {
                        entry.out[..n].copy_from_slice(&out[..n]);
                        entry.len = u8::try_from(n).unwrap_or(u8::MAX);
                        if let Some(cached) = self.pairs.get_mut(slot) {
                            *cached = entry;
                        }
                    } else {
                        for &(d, kind) in &out[..n] {
                            self.push(d, kind);
                        }
                        return;
                    }
                    entry
                }
            };
            for &(d, kind) in &entry.out[..usize::from(entry.len).min(CACHED_OUTPUTS)] {
                self.push(d, kind);
            }
            return;
        }
        let mut out = [('\0', Kind::Drop); MAX_CLUSTER * 3];
        if let Some(n) = compose_simple(run, &mut out) {
            for &(d, kind) in &out[..n] {
                self.push(d, kind);
            }
            return;
        }
        self.cluster_general(run);
    }

    /// The full NFKC of a cluster.
    fn cluster_general(&mut self, run: &str) {
        for d in run.chars().nfkd().filter(|&d| !is_latin_mark(d)).nfc() {
            self.emit_folded(d);
        }
    }

    fn emit_folded(&mut self, c: char) {
        fold(c, |f| {
            let kind = kind_of(f);
            self.push(f, kind);
        });
    }

    /// Appends one normalised character: to the open word, as a CJK unit, or as a separator.
    #[inline]
    fn push(&mut self, c: char, kind: Kind) {
        match kind {
            Kind::Word => self.word_char(c),
            Kind::Cjk => self.cjk_char(c),
            Kind::Space => self.separator(Sep::Space),
            Kind::Punct => self.separator(Sep::Punct),
            Kind::Drop => {}
        }
    }

    fn cjk_char(&mut self, c: char) {
        self.close_word();
        let split = self.sep == Sep::Punct && self.units.last().is_some_and(|u| u.cjk);
        let start = self.buf.len();
        self.buf.push(c);
        self.units.push(Unit {
            start,
            end: self.buf.len(),
            first: c,
            cjk: true,
            split,
        });
        self.sep = Sep::None;
    }

    fn word_char(&mut self, c: char) {
        self.open_word(c);
        self.buf.push(c);
    }

    /// Starts a word with `first` unless one is open. Its end is set when it closes.
    #[inline]
    fn open_word(&mut self, first: char) {
        if !self.word_open {
            let start = self.buf.len();
            self.units.push(Unit {
                start,
                end: start,
                first,
                cjk: false,
                split: false,
            });
            self.word_open = true;
        }
        self.sep = Sep::None;
    }

    fn close_word(&mut self) {
        if self.word_open {
            self.word_open = false;
            if let Some(unit) = self.units.last_mut() {
                unit.end = self.buf.len();
            }
        }
    }

    #[inline]
    fn separator(&mut self, kind: Sep) {
        self.close_word();
        self.sep = self.sep.max(kind);
    }
}

/// The normalised characters of `c` (followed by nothing that combines with it) and what each
/// does, written to `out`; returns how many.
fn single_outputs(c: char, out: &mut [(char, Kind)]) -> usize {
    let mut n = 0;
    let mut put = |d: char| {
        if let Some(slot) = out.get_mut(n) {
            *slot = (d, kind_of(d));
            n += 1;
        }
    };
    if is_fast_cjk(c) {
        put(c);
        return n;
    }
    if let Some(ascii) = full_width_ascii(c) {
        put(ascii.to_ascii_lowercase());
        return n;
    }
    let mut parts = ['\0'; MAX_DECOMPOSITION];
    let mut len = 0;
    decompose_compatible(c, |d| {
        if !is_latin_mark(d) && len < MAX_DECOMPOSITION {
            parts[len] = d;
            len += 1;
        }
    });
    let parts = &parts[..len];
    if parts.len() > 1 && parts[1..].iter().any(|&d| may_combine(d)) {
        for d in parts.iter().copied().nfc() {
            fold(d, &mut put);
        }
    } else {
        for &d in parts {
            fold(d, &mut put);
        }
    }
    n
}

/// The common clusters without the general algorithm: every character decomposes to one
/// character and at most one of them is a non-starter, so composing left to right is exactly
/// NFC (half-width kana with voiced marks, compatibility jamo, a letter with one mark). Writes
/// the normalised characters to `out` and returns how many; `None`, with nothing written that
/// counts, for any other cluster.
fn compose_simple(run: &str, out: &mut [(char, Kind)]) -> Option<usize> {
    let mut parts = ['\0'; MAX_CLUSTER];
    let mut len = 0;
    let mut non_starters = 0;
    for c in run.chars() {
        let mut one = None;
        let mut count = 0;
        decompose_compatible(c, |d| {
            count += 1;
            one = Some(d);
        });
        let (Some(d), 1) = (one, count) else {
            return None;
        };
        if is_latin_mark(d) {
            continue;
        }
        if canonical_combining_class(d) != 0 {
            non_starters += 1;
        }
        if non_starters > 1 || len >= MAX_CLUSTER {
            return None;
        }
        parts[len] = d;
        len += 1;
    }
    let mut n = 0;
    let mut put = |d: char| {
        if let Some(slot) = out.get_mut(n) {
            *slot = (d, kind_of(d));
            n += 1;
        }
    };
    let mut acc: Option<char> = None;
    for &d in &parts[..len] {
        acc = match acc {
            None => Some(d),
            Some(a) => match compose(a, d) {
                Some(composed) => Some(composed),
                None => {
                    fold(a, &mut put);
                    Some(d)
                }
            },
        };
    }
    if let Some(a) = acc {
        fold(a, &mut put);
    }
    Some(n)
}

/// Lower-cases and folds a decomposed character.
fn fold(c: char, mut put: impl FnMut(char)) {
    match c {
        'ß' | 'ẞ' => {
            put('s');
            put('s');
        }
        'æ' | 'Æ' => {
            put('a');
            put('e');
        }
        'œ' | 'Œ' => {
            put('o');
            put('e');
        }
        'ø' | 'Ø' => put('o'),
        'đ' | 'Đ' => put('d'),
        'ł' | 'Ł' => put('l'),
        'ı' => put('i'),
        c if c.is_ascii() => put(c.to_ascii_lowercase()),
        c => c.to_lowercase().for_each(put),
    }
}

/// What a normalised character does.
fn kind_of(c: char) -> Kind {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            Kind::Word
        } else if c.is_ascii_whitespace() {
            Kind::Space
        } else {
            Kind::Punct
        }
    } else if is_ignorable(c) || is_latin_mark(c) {
        Kind::Drop
    } else if is_cjk(c) {
        Kind::Cjk
    } else if c.is_alphanumeric() || is_combining_mark(c) {
        Kind::Word
    } else if c.is_whitespace() {
        Kind::Space
    } else {
        Kind::Punct
    }
}

/// What an input character counts as for shouting.
fn case_of(c: char) -> Case {
    if c == '！' {
        Case::Bang
    } else if is_cjk(c) {
        Case::Cjk
    } else if c.is_uppercase() {
        Case::Upper
    } else if c.is_lowercase() {
        Case::Lower
    } else if c.is_whitespace() {
        Case::Space
    } else if c.is_alphabetic() {
        Case::Caseless
    } else if c.is_numeric() {
        Case::Digit
    } else {
        Case::Other
    }
}

/// The part of `raw` that is read: all of it, or its first and last half of `limit` bytes.
fn scan_slices(raw: &str, limit: usize) -> (&str, Option<&str>) {
    if raw.len() <= limit {
        return (raw, None);
    }
    let mut head = limit / 2;
    while !raw.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = raw.len() - limit / 2;
    while !raw.is_char_boundary(tail) {
        tail += 1;
    }
    (&raw[..head], Some(&raw[tail..]))
}

/// A combining mark of the "Combining Diacritical Marks" block: accents on Latin (and Greek,
/// Cyrillic) letters, dropped.
fn is_latin_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// Characters removed outright: they are invisible and only split or disguise words.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// True when `c` may combine with the character before it under NFKC: combining marks, Hangul
/// vowel and final jamo (and the compatibility jamo that decompose to them), the half-width
/// voiced-sound marks.
fn may_combine(c: char) -> bool {
    if c.is_ascii() || is_fast_cjk(c) {
        return false;
    }
    matches!(
        c,
        '\u{1160}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{D7B0}'..='\u{D7FF}' | '\u{FF9E}' | '\u{FF9F}'
    ) || is_combining_mark(c)
}

/// Han ideographs, kana and Hangul syllables that NFKC leaves as they are (when nothing
/// combining follows) and that have no case.
fn is_fast_cjk(c: char) -> bool {
    matches!(
        c,
        '\u{3041}'..='\u{3096}'
            | '\u{30A1}'..='\u{30FA}'
            | '\u{30FC}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{AC00}'..='\u{D7A3}'
    )
}

/// A Han ideograph, kana or Hangul syllable that normalisation leaves alone when no combining
/// character follows it (phrase parsing uses this to skip the normaliser).
pub(crate) fn is_plain_cjk(c: char) -> bool {
    is_fast_cjk(c) && !may_combine(c)
}

/// Full-width ASCII (U+FF01–U+FF5E), which NFKC maps to ASCII.
fn full_width_ascii(c: char) -> Option<char> {
    if matches!(c, '\u{FF01}'..='\u{FF5E}') {
        char::from_u32(u32::from(c) - 0xFEE0)
    } else {
        None
    }
}

/// Chinese, Japanese and Korean characters (after NFKC): Han, kana, Hangul.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(
        c,
        '\u{1100}'..='\u{11FF}'
            | '\u{2E80}'..='\u{2FDF}'
            | '\u{3005}'..='\u{3007}'
            | '\u{3021}'..='\u{3029}'
            | '\u{3031}'..='\u{3035}'
            | '\u{3038}'..='\u{303C}'
            | '\u{3041}'..='\u{309F}'
            | '\u{30A1}'..='\u{30FA}'
            | '\u{30FC}'..='\u{30FF}'
            | '\u{3131}'..='\u{318E}'
            | '\u{31F0}'..='\u{31FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{A960}'..='\u{A97F}'
            | '\u{AC00}'..='\u{D7FF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{323AF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_width_and_latin_diacritics() {
        assert_eq!(
            normalize("Ｃａｎ I talk to a ＨＵＭＡＮ?"),
            "can i talk to a human"
        );
        assert_eq!(
            normalize("Mitarbeiterin ÜBER Straße"),
            "mitarbeiterin uber strasse"
        );
        assert_eq!(
            normalize("parler à un être humain"),
            "parler a un etre humain"
        );
        assert_eq!(
            normalize("AÇÃO Señor naïve Ærø œuvre"),
            "acao senor naive aero oeuvre"
        );
        // Combining marks typed separately fold the same way as precomposed letters.
        assert_eq!(normalize("e\u{0301}tre hu\u{0308}mano"), "etre humano");
        assert_eq!(normalize("ﬁnally ①"), "finally 1");
    }

    #[test]
    fn keeps_japanese_voiced_marks_and_folds_half_width_kana() {
        assert_eq!(normalize("が"), "が");
        // か + combining dakuten composes; half-width katakana becomes full width.
        assert_eq!(normalize("か\u{3099}"), "が");
        assert_eq!(normalize("ｵﾍﾟﾚｰﾀｰ"), "オペレーター");
        assert_eq!(normalize("ｶﾞｲﾄﾞ"), "ガイド");
        assert_eq!(normalize("パパ"), "パパ");
        assert_eq!(normalize("상담원 연결"), "상담원연결");
        // Compatibility jamo compose like NFKC does.
        assert_eq!(normalize("ㄱㅏ"), "가");
    }

    #[test]
    fn apostrophes_quotes_whitespace_and_punctuation_separate_words() {
        assert_eq!(normalize("l’opérateur"), "l operateur");
        assert_eq!(normalize("l'opérateur"), "l operateur");
        assert_eq!(
            normalize("don\u{2019}t  \t STOP\n“the” «bot»!!!"),
            "don t stop the bot"
        );
        assert_eq!(normalize("  e-mail\u{3000}(agent) "), "e mail agent");
        assert_eq!(normalize("hu\u{200B}man a\u{00AD}gent"), "human agent");
        assert_eq!(normalize("人工 客服，谢谢"), "人工客服 谢谢");
        assert_eq!(normalize("请转人工please"), "请转人工 please");
        assert_eq!(normalize("AIですか"), "ai ですか");
    }

    #[test]
    fn cjk_units_are_characters_and_punctuation_splits_them() {
        let t = Text::new("转人工，谢谢 ok");
        let units: Vec<&str> = (0..t.len()).map(|i| t.unit(i)).collect();
        assert_eq!(units, ["转", "人", "工", "谢", "谢", "ok"]);
        assert!(t.is_cjk(0) && !t.is_cjk(5));
        assert!(t.units()[3].split, "the comma separates 工 and 谢");
        assert!(!t.units()[1].split && !t.units()[4].split);
    }

    /// The plain algorithm (NFKD, Latin marks dropped, NFC, folded) over the whole text, with
    /// none of the fast paths.
    fn reference(raw: &str) -> String {
        let mut t = Text::default();
        for d in raw.chars().nfkd().filter(|&d| !is_latin_mark(d)).nfc() {
            t.emit_folded(d);
        }
        t.close_word();
        t.joined()
    }

    #[test]
    fn fast_paths_agree_with_the_plain_algorithm() {
        for raw in [
            "Ünïcödé ÀÉÎÕÜ àéîõü ÇÑ çñ Straße ÆØÅ æøå Œuvre",
            "U\u{0308}nic\u{0327}o\u{0301}de e\u{0301}\u{0301} a\u{0328}",
            "Vi\u{1EC7}t Nam, vie\u{0323}\u{0302}t, Ελληνικά ΆΈΉ, Русский ЁЙ ёй е\u{0308}и\u{0306}",
            "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟﾌﾟ ｵﾍﾟﾚｰﾀｰ ｶ\u{3099} か\u{3099} ガ が",
            "ㄱㅏㄴ ㅎㅏㄴ 가\u{11A8} 한국어 ㅋㅋㅋ",
            "ＦＵＬＬ ｗｉｄｔｈ！ ① ﬁ ﬀ ㈱ ™ ½",
            "কো ক\u{09C7}\u{09BE} क़ क\u{093C}",
            "人工客服 轉人工 オペレーター 상담원",
            "mixed: 转人工please Ｈｕｍａｎ\u{3000}agent",
        ] {
            assert_eq!(normalize(raw), reference(raw), "{raw}");
        }
    }

    #[test]
    fn long_text_is_read_at_its_start_and_end() {
        let filler = "lorem ipsum ".repeat(MAX_SCAN_BYTES / 6);
        let text = format!("start {filler} middle {filler} ende");
        let t = Text::new(&text);
        assert_eq!(t.unit(0), "start");
        assert_eq!(t.unit(t.len() - 1), "ende");
        assert!(!t.joined().contains("middle"));
        // Cuts fall on character boundaries.
        let wide = "漢".repeat(MAX_SCAN_BYTES);
        assert!(Text::new(&wide).len() <= MAX_SCAN_BYTES / 3 + 1);
    }
}
