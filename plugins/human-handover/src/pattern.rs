//! The phrase notation, and a matcher that finds any of many phrases in normalised text in one
//! pass (no regex engine).
//!
//! A phrase is a list of slots separated by spaces. Phrase and text go through the same
//! [normalisation](crate::normalize()), so case, width, accents and punctuation never matter.
//!
//! | notation | meaning | example |
//! |---|---|---|
//! | `word` | that whole word | `human` matches "Human!" but not "humane" |
//! | `a\|b\|c` | any one of the alternatives | `speak\|talk to` |
//! | `a_b` | words of one alternative, joined with `_` | `human\|real_person` |
//! | `word*` | any word starting with `word` | `mitarbeiter*` matches "Mitarbeiterin", "Mitarbeitern" |
//! | `..` | up to 3 words in between (up to 4 characters in CJK text) | `mit .. sprechen` |
//! | `^` first / `$` last | the phrase starts / ends the message | `^ agent $`: a message saying only "agent" |
//!
//! Chinese, Japanese and Korean are matched character by character, so a CJK phrase matches
//! anywhere, also inside a longer run of characters (`转人工` in `我要转人工服务`), and `*`
//! adds nothing to it. CJK characters of a phrase that are next to each other must be next to
//! each other in the text, with at most whitespace in between (`상담원 연결` matches
//! "상담원연결" and "상담원 연결", not "상담원, 연결"). Gaps and alternatives work the same in
//! every script: `担当 .. と話したい` matches "担当者の方と話したい".
//!
//! Punctuation inside a phrase separates words like in the text (`a.u.b.` is `a u b`,
//! `quelqu'un` is `quelqu un`, `real_person` is `real person`), so `|`, `*`, `..`, `^` and `$`
//! are the only characters with a meaning of their own; `_` is simply the clearest way to
//! write a space inside an alternative, since a space starts the next slot. Gaps at the start
//! or the end of a phrase are ignored. Matching keeps the set of positions each slot can
//! reach, so a phrase never backtracks and costs at most its alternatives times its gaps'
//! width at each start.
//!
//! Slots are separated by ASCII spaces; any other whitespace in a phrase acts like `_`.
//!
//! # Matching
//!
//! A phrase can only match a text in which, for every slot, all the words of some
//! alternative occur (by their first three bytes, the "heads"). [`Matcher::for_heads`] reads
//! the raw phrases against the heads of the text and parses only those that pass (the default
//! tables are written in normalised form so this screen is exact for them; an alternative not
//! in normalised form always passes). At matching time the same test is made on the parsed
//! phrases, once per phrase and text. The phrases kept are indexed by the first word (or
//! character) of each alternative of their first slot: the text is read once, most words are
//! turned away by one bit test, the others cost one hash look-up (plus one per prefix length
//! in use). The work left is capped by a [`Budget`].

use crate::normalize::Text;

/// Words a gap `..` may skip.
const GAP_WORDS: usize = 3;
/// CJK characters a gap `..` may skip.
const GAP_CJK: usize = 4;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const NONE: usize = usize::MAX;

/// The matching steps (phrase attempts, alternatives compared, gap positions) a check may
/// spend. Ordinary text uses a small fraction of it (a 16 KiB mail in English, Spanish or
/// mixed CJK: at most about 2,500 steps); text built to make matching slow (an anchor word
/// thousands of times, with the rest of a phrase somewhere) stops being read when it runs
/// out. A step costs about a hundred instructions, so a check stays under two million
/// whatever customers paste.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget(u32);

impl Budget {
    /// The budget of one check: the request check, or the frustration check of one event.
    pub(crate) const PER_CALL: u32 = 15_000;

    /// A fresh budget of `steps`.
    pub(crate) fn new(steps: u32) -> Budget {
        Budget(steps)
    }

    /// What is left.
    #[cfg(test)]
    pub(crate) fn remaining(self) -> u32 {
        self.0
    }

    /// Spends `steps`; false once the budget is used up.
    fn spend(&mut self, steps: u32) -> bool {
        self.0 = self.0.saturating_sub(steps);
        self.0 > 0
    }
}

/// One unit of a phrase: `arena[start..end]`.
#[derive(Debug, Clone, Copy)]
struct PhraseUnit {
    start: usize,
    end: usize,
    first: char,
    /// The filter bit of its head ([`NO_BIT`] for a prefix shorter than three bytes): a text
    /// without a unit with that head cannot match it.
    bit: usize,
    /// Matches any word starting with the text (`word*`).
    prefix: bool,
    cjk: bool,
}

/// An alternative: `units[first..first + len]`; `key` is the first character of its first
/// unit (a slot's alternatives are sorted by it).
#[derive(Debug, Clone, Copy)]
struct Alt {
    key: char,
    first: usize,
    len: usize,
}

/// [`PhraseUnit::bit`] of a unit that cannot be filtered.
const NO_BIT: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
enum Slot {
    Gap,
    /// `alts[first..first + len]`.
    Alts {
        first: usize,
        len: usize,
    },
}

/// A phrase: `slots[first..first + len]`.
#[derive(Debug, Clone, Copy)]
struct Phrase {
    first: usize,
    len: usize,
    /// The most units a match can cover.
    span: usize,
    at_start: bool,
    at_end: bool,
}

/// The first unit of an alternative of a phrase's first slot, in a hash chain.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    hash: u64,
    unit: usize,
    prefix: bool,
    phrase: usize,
    next: usize,
}

/// A set of phrases, parsed and indexed.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    arena: String,
    units: Vec<PhraseUnit>,
    alts: Vec<Alt>,
    slots: Vec<Slot>,
    phrases: Vec<Phrase>,
    anchors: Vec<Anchor>,
    /// Open addressing: `anchors` index + 1 of a chain's head, 0 for empty.
    table: Vec<usize>,
    /// `prefix_lens[n]`: some prefix anchor is `n` bytes long.
    prefix_lens: Vec<bool>,
    /// Bit set of the first (up to) three bytes of every anchor: most words are turned away
    /// by one bit test. Off when some prefix anchor is shorter than three bytes.
    filter: Vec<u64>,
    /// Bit set of (first three bytes, length) of every prefix anchor, tested before a
    /// prefix of a word is looked up.
    prefix_filter: Vec<u64>,
}

/// Whether a phrase can match the text at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viable {
    Unknown,
    Yes,
    No,
}

/// Reusable buffers for matching.
#[derive(Debug, Default)]
struct Scratch {
    candidates: Vec<usize>,
    states: Vec<(usize, bool)>,
    next: Vec<(usize, bool)>,
}

/// The heads (first three bytes) of the units of some texts, as filter bits: what phrases
/// can possibly match there; and the units themselves, whole, as a second filter, for the
/// screen's words that must match whole (all but a `word*` prefix).
#[derive(Debug, Clone)]
pub(crate) struct Heads(Vec<u64>, Vec<u64>);

impl Heads {
    /// No heads.
    pub(crate) fn new() -> Heads {
        Heads(vec![0; FILTER_WORDS], vec![0; FILTER_WORDS])
    }

    /// The heads of `text`.
    pub(crate) fn of(text: &Text) -> Heads {
        let mut heads = Heads::new();
        heads.add(text);
        heads
    }

    /// Adds the heads (and whole units) of `text`.
    pub(crate) fn add(&mut self, text: &Text) {
        for i in 0..text.len() {
            let unit = text.unit(i).as_bytes();
            let bit = filter_bit(head_hash(unit));
            self.0[bit / 64] |= 1 << (bit % 64);
            let bit = word_bit(unit);
            self.1[bit / 64] |= 1 << (bit % 64);
        }
    }

    /// Whether a unit equal to `word` may be present.
    fn has_word(&self, word: &[u8]) -> bool {
        let bit = word_bit(word);
        self.1[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn has(&self, bit: usize) -> bool {
        bit == NO_BIT || self.0[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// The filter bit of a phrase unit: [`NO_BIT`] for a prefix shorter than three bytes.
    fn bit_of(key: &[u8], prefix: bool) -> usize {
        if prefix && key.len() < 3 {
            NO_BIT
        } else {
            filter_bit(head_hash(key))
        }
    }
}

/// False only when `phrase`, read raw, cannot match a text with `heads`: some slot has no
/// alternative whose words all have their head there. Alternatives that are not already
/// normalised (upper case, accents, other scripts) are assumed to match, so this never
/// rejects a phrase that could match; it saves parsing most phrases for a short message.
fn raw_viable(phrase: &str, heads: &Heads) -> bool {
    let mut tokens = phrase.split_ascii_whitespace().peekable();
    let mut first = true;
    while let Some(mut token) = tokens.next() {
        if first {
            first = false;
            token = token.strip_prefix('^').unwrap_or(token);
        }
        if tokens.peek().is_none() {
            token = token.strip_suffix('$').unwrap_or(token);
        }
        if token.is_empty() || token == ".." {
            continue;
        }
        if !token.split('|').any(|alt| raw_alt_viable(alt, heads)) {
            return false;
        }
    }
    true
}

/// [`raw_viable`] for one alternative.
fn raw_alt_viable(alt: &str, heads: &Heads) -> bool {
    let (body, prefix) = match alt.strip_suffix('*') {
        Some(body) => (body, true),
        None => (alt, false),
    };
    let bytes = body.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii) {
        let separator = |b: &u8| matches!(b, b'_' | b'\'' | b'-' | b'.');
        if !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || separator(b))
        {
            return true;
        }
        let mut words = body
            .split(['_', '\'', '-', '.'])
            .filter(|w| !w.is_empty())
            .peekable();
        while let Some(word) = words.next() {
            let last = words.peek().is_none();
            let present = if prefix && last {
                heads.has(Heads::bit_of(word.as_bytes(), true))
            } else {
                heads.has_word(word.as_bytes())
            };
            if !present {
                return false;
            }
        }
        true
    } else if body
        .chars()
        .all(|c| c == '_' || crate::normalize::is_plain_cjk(c))
    {
        let mut buf = [0; 4];
        body.chars()
            .filter(|&c| c != '_')
            .all(|c| heads.has(Heads::bit_of(c.encode_utf8(&mut buf).as_bytes(), false)))
    } else {
        true
    }
}

/// The filter bits of the alternatives of one of a phrase's slots (of each alternative, its
/// first word, or first character in CJK): a text in which none of them is present cannot
/// match the phrase, since [`raw_viable`] would reject that slot. Every slot must be there
/// for a match, so any slot bounds the phrase; the one chosen is the rarest-looking — whose
/// alternatives' shortest first word is longest ("real_person" rather than "i"). `None` when
/// no slot has such a bound (alternatives not in normalised form, prefixes shorter than three
/// bytes, gaps only): the phrase is always a candidate. The build script indexes the default
/// tables by these bits, so a call reads only the entries of the text's own words instead of
/// every phrase (`crate::index`).
#[allow(dead_code)] // used by build.rs, which compiles this module too
pub(crate) fn anchor_bits(phrase: &str) -> Option<Vec<u16>> {
    let mut tokens = phrase.split_ascii_whitespace().peekable();
    let mut first = true;
    let mut best: Option<(usize, Vec<u16>)> = None;
    while let Some(mut token) = tokens.next() {
        if first {
            first = false;
            token = token.strip_prefix('^').unwrap_or(token);
        }
        if tokens.peek().is_none() {
            token = token.strip_suffix('$').unwrap_or(token);
        }
        if token.is_empty() || token == ".." {
            continue;
        }
        if let Some((score, bits)) = slot_anchor(token)
            && best
                .as_ref()
                .is_none_or(|(best_score, _)| score > *best_score)
        {
            best = Some((score, bits));
        }
    }
    best.map(|(_, bits)| bits)
}

/// The bits of one slot's alternatives and how rare the slot looks (the byte length of its
/// alternatives' shortest first word; a CJK character counts as two); `None` when some
/// alternative is unbounded.
fn slot_anchor(slot: &str) -> Option<(usize, Vec<u16>)> {
    let mut bits = Vec::new();
    let mut score = usize::MAX;
    for alt in slot.split('|') {
        let (body, prefix) = match alt.strip_suffix('*') {
            Some(body) => (body, true),
            None => (alt, false),
        };
        let bytes = body.as_bytes();
        let (bit, length) = if bytes.first().is_some_and(u8::is_ascii) {
            let separator = |b: &u8| matches!(b, b'_' | b'\'' | b'-' | b'.');
            if !bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || separator(b))
            {
                return None;
            }
            let mut words = body.split(['_', '\'', '-', '.']).filter(|w| !w.is_empty());
            let word = words.next()?;
            (
                Heads::bit_of(word.as_bytes(), prefix && words.next().is_none()),
                word.len(),
            )
        } else if body
            .chars()
            .all(|c| c == '_' || crate::normalize::is_plain_cjk(c))
        {
            let c = body.chars().find(|&c| c != '_')?;
            let mut buf = [0; 4];
            (Heads::bit_of(c.encode_utf8(&mut buf).as_bytes(), false), 2)
        } else {
            return None;
        };
        if bit == NO_BIT {
            return None;
        }
        bits.push(u16::try_from(bit).ok()?);
        score = score.min(length);
    }
    Some((score, bits))
}

impl Heads {
    /// The filter bits of the units of `text`, one per unit, in text order.
    pub(crate) fn unit_bits(text: &Text) -> impl Iterator<Item = u16> + '_ {
        (0..text.len()).map(|i| {
            let bit = filter_bit(head_hash(text.unit(i).as_bytes()));
            // FILTER_BITS is 2^14: every bit fits.
            u16::try_from(bit).unwrap_or(u16::MAX)
        })
    }
}

impl Matcher {
    /// Parses `phrases` (see the module docs); phrases that normalise to nothing are skipped.
    #[cfg(test)]
    pub(crate) fn new<'a>(phrases: impl IntoIterator<Item = &'a str>) -> Matcher {
        Matcher::build(phrases.into_iter().collect())
    }

    /// Parses those of `phrases` that can match a text with `heads`.
    pub(crate) fn for_heads<'a>(
        phrases: impl IntoIterator<Item = &'a str>,
        heads: &Heads,
    ) -> Matcher {
        Matcher::build(
            phrases
                .into_iter()
                .filter(|p| raw_viable(p, heads))
                .collect(),
        )
    }

    fn build(phrases: Vec<&str>) -> Matcher {
        let size: usize = phrases.iter().map(|p| p.len()).sum();
        let mut matcher = Matcher {
            arena: String::with_capacity(size),
            units: Vec::with_capacity(size / 3),
            alts: Vec::with_capacity(size / 4),
            slots: Vec::with_capacity(size / 8),
            phrases: Vec::with_capacity(phrases.len()),
            ..Matcher::default()
        };
        let mut scratch = Text::default();
        for phrase in phrases {
            matcher.add(phrase, &mut scratch);
        }
        matcher.build_index();
        matcher
    }

    /// Number of phrases kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.phrases.len()
    }

    fn add(&mut self, phrase: &str, scratch: &mut Text) {
        let first_slot = self.slots.len();
        let mut at_start = false;
        let mut at_end = false;
        // Slots are separated by ASCII whitespace; any other space inside a token separates
        // words of one alternative, like `_`.
        let mut tokens = phrase.split_ascii_whitespace().peekable();
        let mut first = true;
        while let Some(mut token) = tokens.next() {
            if first {
                first = false;
                if let Some(rest) = token.strip_prefix('^') {
                    at_start = true;
                    token = rest;
                }
            }
            if tokens.peek().is_none()
                && let Some(rest) = token.strip_suffix('$')
            {
                at_end = true;
                token = rest;
            }
            if token == ".." {
                if self.slots.len() > first_slot && !matches!(self.slots.last(), Some(Slot::Gap)) {
                    self.slots.push(Slot::Gap);
                }
                continue;
            }
            let first_alt = self.alts.len();
            for alt in token.split('|') {
                let (body, prefix) = match alt.strip_suffix('*') {
                    Some(body) => (body, true),
                    None => (alt, false),
                };
                if self.push_simple_alt(body, prefix) {
                    continue;
                }
                scratch.fill(body);
                if scratch.len() == 0 {
                    continue;
                }
                let first_unit = self.units.len();
                for i in 0..scratch.len() {
                    let start = self.arena.len();
                    self.arena.push_str(scratch.unit(i));
                    let cjk = scratch.is_cjk(i);
                    self.units.push(PhraseUnit {
                        start,
                        end: self.arena.len(),
                        first: scratch.first_char(i),
                        prefix: prefix && !cjk && i + 1 == scratch.len(),
                        cjk,
                        bit: NO_BIT,
                    });
                }
                self.alts.push(Alt {
                    key: scratch.first_char(0),
                    first: first_unit,
                    len: scratch.len(),
                });
            }
            if self.alts.len() > first_alt {
                self.alts[first_alt..].sort_unstable_by_key(|alt| alt.key);
                self.slots.push(Slot::Alts {
                    first: first_alt,
                    len: self.alts.len() - first_alt,
                });
            }
        }
        if self.slots.len() > first_slot && matches!(self.slots.last(), Some(Slot::Gap)) {
            self.slots.pop();
        }
        if self.slots.len() > first_slot {
            let span = self.slots[first_slot..]
                .iter()
                .map(|slot| match *slot {
                    Slot::Gap => GAP_WORDS + GAP_CJK,
                    Slot::Alts { first, len } => self.alts[first..first + len]
                        .iter()
                        .map(|a| a.len)
                        .max()
                        .unwrap_or(0),
                })
                .sum();
            self.phrases.push(Phrase {
                first: first_slot,
                len: self.slots.len() - first_slot,
                span,
                at_start,
                at_end,
            });
        }
    }

    /// Adds an alternative that is already normalised without the full normaliser: lower-case
    /// ASCII words joined by `_`, `'`, `-` or `.`, or a run of plain Han, kana or Hangul.
    /// False (nothing added) for anything else.
    fn push_simple_alt(&mut self, body: &str, prefix: bool) -> bool {
        let first_unit = self.units.len();
        let arena_len = self.arena.len();
        let bytes = body.as_bytes();
        let simple = if bytes.first().is_some_and(u8::is_ascii) {
            let mut word_start = None;
            let mut simple = true;
            for (i, &b) in bytes.iter().enumerate() {
                if b.is_ascii_lowercase() || b.is_ascii_digit() {
                    word_start.get_or_insert(i);
                } else if matches!(b, b'_' | b'\'' | b'-' | b'.') {
                    if let Some(start) = word_start.take() {
                        self.push_unit(&body[start..i], false);
                    }
                } else {
                    simple = false;
                    break;
                }
            }
            if simple && let Some(start) = word_start {
                self.push_unit(&body[start..], false);
            }
            simple
        } else {
            let mut simple = true;
            for (i, c) in body.char_indices() {
                if c == '_' {
                    // Between CJK characters a separator changes nothing.
                    continue;
                }
                if !crate::normalize::is_plain_cjk(c) {
                    simple = false;
                    break;
                }
                self.push_unit(&body[i..i + c.len_utf8()], true);
            }
            simple
        };
        if !simple {
            self.units.truncate(first_unit);
            self.arena.truncate(arena_len);
            return false;
        }
        if self.units.len() > first_unit {
            if let Some(last) = self.units.last_mut() {
                last.prefix = prefix && !last.cjk;
            }
            self.alts.push(Alt {
                key: self.units[first_unit].first,
                first: first_unit,
                len: self.units.len() - first_unit,
            });
        }
        true
    }

    /// Appends a (normalised, non-empty) unit to the arena.
    fn push_unit(&mut self, text: &str, cjk: bool) {
        let start = self.arena.len();
        // Character by character: cheaper than a copy call for these few bytes.
        for c in text.chars() {
            self.arena.push(c);
        }
        self.units.push(PhraseUnit {
            start,
            end: self.arena.len(),
            first: text.chars().next().unwrap_or('\0'),
            prefix: false,
            cjk,
            bit: NO_BIT,
        });
    }

    fn key(&self, unit: usize) -> &str {
        let u = self.units[unit];
        &self.arena[u.start..u.end]
    }

    fn build_index(&mut self) {
        for unit in &mut self.units {
            unit.bit = Heads::bit_of(&self.arena.as_bytes()[unit.start..unit.end], unit.prefix);
        }
        let mut filter = vec![0u64; FILTER_WORDS];
        let mut prefix_filter = vec![0u64; FILTER_WORDS];
        let mut filtering = true;
        for (index, phrase) in self.phrases.iter().enumerate() {
            let Some(&Slot::Alts { first, len }) = self.slots.get(phrase.first) else {
                continue;
            };
            for alt in &self.alts[first..first + len] {
                let unit = self.units[alt.first];
                let prefix = alt.len == 1 && unit.prefix;
                let key = &self.arena[unit.start..unit.end];
                if prefix {
                    if self.prefix_lens.len() <= key.len() {
                        self.prefix_lens.resize(key.len() + 1, false);
                    }
                    self.prefix_lens[key.len()] = true;
                    filtering &= key.len() >= 3;
                    let bit = prefix_bit(head_hash(key.as_bytes()), key.len());
                    prefix_filter[bit / 64] |= 1 << (bit % 64);
                }
                let bit = filter_bit(head_hash(key.as_bytes()));
                filter[bit / 64] |= 1 << (bit % 64);
                self.anchors.push(Anchor {
                    hash: hash(key.as_bytes()),
                    unit: alt.first,
                    prefix,
                    phrase: index,
                    next: NONE,
                });
            }
        }
        if filtering {
            self.filter = filter;
        }
        self.prefix_filter = prefix_filter;
        let size = (self.anchors.len() * 2).next_power_of_two().max(16);
        self.table = vec![0; size];
        for i in 0..self.anchors.len() {
            let hash = self.anchors[i].hash;
            let mut slot = slot_of(hash, size);
            loop {
                let head = self.table[slot];
                if head == 0 {
                    self.table[slot] = i + 1;
                    break;
                }
                let other = self.anchors[head - 1];
                if other.hash == hash && self.key(other.unit) == self.key(self.anchors[i].unit) {
                    self.anchors[i].next = head - 1;
                    self.table[slot] = i + 1;
                    break;
                }
                slot = (slot + 1) & (size - 1);
            }
        }
    }

    /// The chain of anchors whose key is `key`.
    fn chain(&self, hash: u64, key: &str) -> usize {
        let size = self.table.len();
        if size == 0 {
            return NONE;
        }
        let mut slot = slot_of(hash, size);
        loop {
            let head = self.table[slot];
            if head == 0 {
                return NONE;
            }
            let anchor = self.anchors[head - 1];
            if anchor.hash == hash && self.key(anchor.unit) == key {
                return head - 1;
            }
            slot = (slot + 1) & (size - 1);
        }
    }

    fn collect(&self, hash: u64, key: &str, only_prefix: bool, out: &mut Vec<usize>) {
        let mut at = self.chain(hash, key);
        while at != NONE {
            let anchor = self.anchors[at];
            // A phrase's anchors with the same key are next to each other in the chain.
            if (!only_prefix || anchor.prefix) && out.last() != Some(&anchor.phrase) {
                out.push(anchor.phrase);
            }
            at = anchor.next;
        }
    }

    /// Phrases whose first slot may match at a text unit reading `unit` (whose head hash is
    /// `head`).
    fn candidates(&self, unit: &str, head: u32, out: &mut Vec<usize>) {
        if !self.filter.is_empty() {
            let bit = filter_bit(head);
            if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
                return;
            }
        }
        let mut h = FNV_OFFSET;
        for (i, &byte) in unit.as_bytes().iter().enumerate() {
            if i > 0 && self.prefix_lens.get(i).copied().unwrap_or(false) {
                let bit = prefix_bit(head_hash(&unit.as_bytes()[..i]), i);
                if self.prefix_filter[bit / 64] & (1 << (bit % 64)) != 0 && unit.is_char_boundary(i)
                {
                    self.collect(h, &unit[..i], true, out);
                }
            }
            h = (h ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
        self.collect(h, unit, false, out);
    }

    /// The index of the first phrase found in `text` (by position, then phrase order), if any.
    pub(crate) fn find(&self, text: &Text, budget: &mut Budget) -> Option<usize> {
        if self.phrases.is_empty() {
            return None;
        }
        let mut scratch = Scratch::default();
        // The heads of the text's units, as hashes and as a bit set: a phrase with a slot
        // none of whose alternatives starts with a head of the text cannot match anywhere,
        // and is never tried (checked once per phrase, on its first candidacy).
        let heads: Vec<u32> = (0..text.len())
            .map(|i| head_hash(text.unit(i).as_bytes()))
            .collect();
        let mut present = Heads::new();
        for &head in &heads {
            let bit = filter_bit(head);
            present.0[bit / 64] |= 1 << (bit % 64);
        }
        let mut viable = vec![Viable::Unknown; self.phrases.len()];
        // Units are not charged: their number is bounded by the read limit, and most are
        // turned away by the filter; the budget bounds the matching work they lead to.
        for (i, &head) in heads.iter().enumerate() {
            scratch.candidates.clear();
            self.candidates(text.unit(i), head, &mut scratch.candidates);
            for c in 0..scratch.candidates.len() {
                let phrase = scratch.candidates[c];
                match viable[phrase] {
                    Viable::No => continue,
                    Viable::Yes => {}
                    Viable::Unknown => {
                        let yes = self.viable(phrase, &present);
                        viable[phrase] = if yes { Viable::Yes } else { Viable::No };
                        if !yes {
                            continue;
                        }
                    }
                }
                if !budget.spend(2) {
                    return None;
                }
                if self.matches_at(phrase, text, i, budget, &mut scratch) {
                    return Some(phrase);
                }
            }
        }
        None
    }

    /// False when some slot of phrase `index` has no alternative all of whose units have
    /// their head in `present`: the phrase cannot match this text.
    fn viable(&self, index: usize, present: &Heads) -> bool {
        let phrase = self.phrases[index];
        self.slots[phrase.first..phrase.first + phrase.len]
            .iter()
            .all(|slot| match *slot {
                Slot::Gap => true,
                Slot::Alts { first, len } => self.alts[first..first + len].iter().any(|a| {
                    self.units[a.first..a.first + a.len]
                        .iter()
                        .all(|u| present.has(u.bit))
                }),
            })
    }

    /// True when phrase `index` matches starting at unit `start`. The states are the positions
    /// reachable after each slot (with "a gap came last", which lifts adjacency), so gaps cost
    /// at most their width per state and nothing backtracks.
    fn matches_at(
        &self,
        index: usize,
        text: &Text,
        start: usize,
        budget: &mut Budget,
        scratch: &mut Scratch,
    ) -> bool {
        let phrase = self.phrases[index];
        if phrase.at_start && start != 0 {
            return false;
        }
        if phrase.span < 64 {
            self.matches_short(phrase, text, start, budget)
        } else {
            self.matches_long(phrase, text, start, budget, scratch)
        }
    }

    /// [`Matcher::matches_at`] for phrases spanning fewer than 64 units: the reachable
    /// positions are bits of a word (bit `k`: unit `start + k`), so no allocation, sorting or
    /// deduplication.
    fn matches_short(
        &self,
        phrase: Phrase,
        text: &Text,
        start: usize,
        budget: &mut Budget,
    ) -> bool {
        let n = text.len();
        let mut reach: u64 = 1;
        let mut free: u64 = 1;
        for slot in &self.slots[phrase.first..phrase.first + phrase.len] {
            let mut next: u64 = 0;
            let mut bits = reach;
            match *slot {
                Slot::Gap => {
                    while bits != 0 {
                        let k = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let (mut words, mut chars) = (0, 0);
                        let mut q = k;
                        while q < 64 {
                            next |= 1 << q;
                            let pos = start + q;
                            if pos >= n {
                                break;
                            }
                            if text.is_cjk(pos) {
                                chars += 1;
                            } else {
                                words += 1;
                            }
                            if words > GAP_WORDS || chars > GAP_CJK {
                                break;
                            }
                            q += 1;
                        }
                        if !budget.spend(1 + u32::try_from(q - k).unwrap_or(u32::MAX)) {
                            return false;
                        }
                    }
                    free = next;
                }
                Slot::Alts { first, len } => {
                    let alts = &self.alts[first..first + len];
                    while bits != 0 {
                        let k = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let p = start + k;
                        if p >= n {
                            continue;
                        }
                        let (from, to) = key_range(alts, text.first_char(p));
                        let cost = u32::try_from(to - from).unwrap_or(u32::MAX);
                        if !budget.spend(cost.saturating_add(1)) {
                            return false;
                        }
                        let is_free = free & (1 << k) != 0;
                        for alt in &alts[from..to] {
                            if let Some(end) = self.alt_at(*alt, text, p, is_free)
                                && end - start < 64
                            {
                                next |= 1 << (end - start);
                            }
                        }
                    }
                    free = 0;
                }
            }
            if next == 0 {
                return false;
            }
            reach = next;
        }
        !phrase.at_end || (n - start < 64 && reach & (1 << (n - start)) != 0)
    }

    /// [`Matcher::matches_at`] for long phrases, with the positions in a list.
    fn matches_long(
        &self,
        phrase: Phrase,
        text: &Text,
        start: usize,
        budget: &mut Budget,
        scratch: &mut Scratch,
    ) -> bool {
        let Scratch { states, next, .. } = scratch;
        states.clear();
        states.push((start, true));
        for slot in &self.slots[phrase.first..phrase.first + phrase.len] {
            next.clear();
            match *slot {
                Slot::Gap => {
                    for &(p, _) in states.iter() {
                        let (mut words, mut chars) = (0, 0);
                        let mut q = p;
                        loop {
                            if !budget.spend(1) {
                                return false;
                            }
                            next.push((q, true));
                            if q >= text.len() {
                                break;
                            }
                            if text.is_cjk(q) {
                                chars += 1;
                            } else {
                                words += 1;
                            }
                            if words > GAP_WORDS || chars > GAP_CJK {
                                break;
                            }
                            q += 1;
                        }
                    }
                }
                Slot::Alts { first, len } => {
                    let alts = &self.alts[first..first + len];
                    for &(p, free) in states.iter() {
                        if p >= text.len() {
                            continue;
                        }
                        // Only the alternatives starting with the unit's first character.
                        let (from, to) = key_range(alts, text.first_char(p));
                        let cost = u32::try_from(to - from).unwrap_or(u32::MAX);
                        if !budget.spend(cost.saturating_add(1)) {
                            return false;
                        }
                        for alt in &alts[from..to] {
                            if let Some(end) = self.alt_at(*alt, text, p, free) {
                                next.push((end, false));
                            }
                        }
                    }
                }
            }
            if next.is_empty() {
                return false;
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(states, next);
        }
        !phrase.at_end || states.iter().any(|&(p, _)| p == text.len())
    }

    /// Where alternative `alt` ends when it matches at unit `p`. `free`: no adjacency needed
    /// to the unit before (start of the phrase, or after a gap).
    fn alt_at(&self, alt: Alt, text: &Text, p: usize, free: bool) -> Option<usize> {
        let wanted = self.units.get(alt.first..alt.first + alt.len)?;
        let found = text.units().get(p..p + alt.len)?;
        let (arena, buf) = (self.arena.as_bytes(), text.bytes());
        for (k, (want, got)) in wanted.iter().zip(found).enumerate() {
            if want.first != got.first || want.cjk != got.cjk || ((k > 0 || !free) && got.split) {
                return None;
            }
            if want.cjk {
                // One character, already compared.
                continue;
            }
            let word = buf.get(got.start..got.end)?;
            let key = arena.get(want.start..want.end)?;
            let matched = if want.prefix {
                word.get(..key.len()).is_some_and(|head| same(head, key))
            } else {
                same(word, key)
            };
            if !matched {
                return None;
            }
        }
        Some(p + alt.len)
    }
}

/// The alternatives of a slot (sorted by `key`) that start with `key`.
#[inline]
fn key_range(alts: &[Alt], key: char) -> (usize, usize) {
    let from = if alts.len() <= 8 {
        // A short scan beats a binary search on the few alternatives most slots have.
        match alts.iter().position(|a| a.key >= key) {
            Some(i) => i,
            None => return (0, 0),
        }
    } else {
        alts.partition_point(|a| a.key < key)
    };
    let mut to = from;
    while to < alts.len() && alts[to].key == key {
        to += 1;
    }
    (from, to)
}

/// Byte-wise equality of short strings, without a library call.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Bits in the anchor filter.
const FILTER_BITS: usize = 1 << 14;
const FILTER_WORDS: usize = FILTER_BITS / 64;

/// A hash of the first (up to) three bytes of a word.
fn head_hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x9E37_79B9;
    for &b in &bytes[..bytes.len().min(3)] {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// The anchor filter bit of a word's head hash.
fn filter_bit(head: u32) -> usize {
    ((head ^ (head >> 15)) as usize) & (FILTER_BITS - 1)
}

/// The whole-word filter bit of a unit (FNV-1a of all its bytes).
fn word_bit(unit: &[u8]) -> usize {
    let h = hash(unit);
    ((h ^ (h >> 29)) as usize) & (FILTER_BITS - 1)
}

/// The prefix filter bit of a prefix's head hash and length.
fn prefix_bit(head: u32, len: usize) -> usize {
    let h = head ^ (len as u32).wrapping_mul(0x85EB_CA6B);
    ((h ^ (h >> 13)) as usize) & (FILTER_BITS - 1)
}

fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

fn slot_of(hash: u64, size: usize) -> usize {
    // Fold the high bits in: FNV's low bits are weak for short keys.
    ((hash ^ (hash >> 29)) as usize) & (size - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(phrases: &[&str], text: &str) -> bool {
        let matcher = Matcher::new(phrases.iter().copied());
        matcher
            .find(&Text::new(text), &mut Budget::new(Budget::PER_CALL))
            .is_some()
    }

    #[test]
    fn words_match_whole_words_only() {
        assert!(found(&["human"], "A HUMAN, please"));
        assert!(!found(&["human"], "that is not humane"));
        assert!(!found(&["person"], "my personal data, your personnel"));
        assert!(found(&["real person"], "a   real\tperson!"));
        assert!(
            !found(&["real person"], "a real, nice person"),
            "a word between"
        );
    }

    #[test]
    fn a_star_matches_any_word_with_that_prefix() {
        let p = ["mit einem mitarbeiter* sprechen"];
        assert!(found(&p, "mit einem Mitarbeiter sprechen"));
        assert!(found(&p, "mit einem MITARBEITERIN sprechen"));
        assert!(!found(&p, "mit einem Mit sprechen"));
        assert!(
            !found(&["mitarbeiter*"], "Kundenmitarbeiter"),
            "a prefix, not a suffix"
        );
        assert!(found(&["a*"], "zz Ab"), "short prefixes work too");
    }

    #[test]
    fn alternatives_may_have_several_words() {
        let p = [
            "speak|talk to|with .. human",
            "^ agent|live_agent|human please",
        ];
        assert!(found(&p, "can I talk with a human"));
        assert!(found(&p, "speak to a real human"));
        assert!(!found(&p, "walk to a human"));
        assert!(found(&p, "Live agent please."));
        assert!(found(&p, "agent please"));
        assert!(!found(&p, "the agent please"), "^ anchors to the start");
    }

    #[test]
    fn a_gap_skips_up_to_three_words() {
        let p = ["sprechen .. mitarbeiter*", "mitarbeiter* .. sprechen"];
        assert!(found(&p, "Mitarbeiter sprechen"));
        assert!(found(&p, "sprechen mit einem echten Mitarbeiter"));
        assert!(found(&p, "einen Mitarbeiter bitte jetzt sofort sprechen"));
        assert!(
            !found(&p, "Mitarbeiter haben heute leider nicht sprechen"),
            "four words"
        );
        // In CJK text a gap skips up to four characters.
        let ja = ["担当 .. と話したい"];
        assert!(found(&ja, "担当者の方と話したい"));
        assert!(found(&ja, "担当と話したい"));
        assert!(
            !found(&ja, "担当のとても親切な方と話したい"),
            "seven characters"
        );
    }

    #[test]
    fn anchors_start_and_end() {
        let p = ["^ human $"];
        assert!(found(&p, "Human!"));
        assert!(found(&p, "  ...human  "));
        assert!(!found(&p, "human please"));
        assert!(!found(&p, "a human"));
        assert!(found(&["please $"], "human please"));
        assert!(!found(&["please $"], "please help"));
    }

    #[test]
    fn cjk_phrases_match_inside_runs_but_not_across_punctuation() {
        let p = ["转人工", "상담원 연결"];
        assert!(found(&p, "我要转人工服务"));
        assert!(found(&p, "我要 转 人工"));
        assert!(!found(&p, "转，人工"));
        assert!(found(&p, "상담원연결 해주세요"));
        assert!(found(&p, "상담원 연결해 주세요"));
        assert!(!found(&p, "상담원, 연결"));
        // Mixed scripts: a Latin word next to CJK characters is its own unit.
        assert!(found(&["ai ですか"], "AIですか？"));
        assert!(!found(&["ai ですか"], "OpenAIですか"));
    }

    #[test]
    fn long_phrases_match_too() {
        // Phrases spanning 64 units or more take the general path.
        let long = "あ".repeat(70);
        assert!(found(&[&long], &format!("x{long}y")));
        assert!(!found(&[&long], &"あ".repeat(69)));
        let phrase = (0..40)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" .. ");
        let text = (0..40)
            .map(|i| format!("w{i} a b"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(found(&[&phrase], &text));
        assert!(!found(&[&phrase], &text.replace("w39", "v39")));
        assert!(!found(&[&phrase], &text.replace("w20 a b", "w20 a b c d")));
    }

    #[test]
    fn junk_phrases_are_ignored_and_never_match() {
        let m = Matcher::new(["", "  ", "..", "!!!", "^ $", "* | *", ".. .."]);
        assert_eq!(m.len(), 0);
        assert!(
            m.find(&Text::new("anything at all"), &mut Budget::new(100))
                .is_none()
        );
        // Gaps at the ends are dropped; doubled gaps are one gap.
        let m = Matcher::new([".. foo .. .. bar .."]);
        assert_eq!(m.len(), 1);
        assert!(
            m.find(&Text::new("foo x y bar"), &mut Budget::new(100))
                .is_some()
        );
    }

    #[test]
    fn a_spent_budget_stops_matching() {
        let m = Matcher::new(["human .. please"]);
        let text = Text::new(&format!("{} human please", "human ".repeat(100)));
        assert!(m.find(&text, &mut Budget::new(Budget::PER_CALL)).is_some());
        assert!(m.find(&text, &mut Budget::new(200)).is_none());
    }
}
