//! The default phrase tables indexed by the filter bits of their first slot (built by
//! `build.rs` with `pattern::anchor_bits`): the phrases a text may match are found by looking
//! up its words' bits, so a call touches only their entries, never every phrase. Phrases without
//! such a bound are always candidates; every candidate still passes the exact screen
//! (`Matcher::for_heads`) before it is parsed.

use crate::normalize::Text;
use crate::pattern::Heads;
use crate::phrases::{LANGUAGES, Language};

include!(concat!(env!("OUT_DIR"), "/anchors.rs"));

/// One indexed table: the requests for a person, or the frustration markers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    phrases: fn(&Language) -> &'static [&'static str],
    /// Where each indexed phrase is: its language in [`LANGUAGES`] and its position there.
    at: &'static [(u8, u16)],
    always: &'static [u16],
    anchors: &'static [(u16, u16)],
}

/// Requests for a person.
pub(crate) const HUMAN: Table = Table {
    phrases: |l| l.human,
    at: HUMAN_AT,
    always: HUMAN_ALWAYS,
    anchors: HUMAN_ANCHORS,
};

/// Frustration markers.
pub(crate) const FRUSTRATION: Table = Table {
    phrases: |l| l.frustration,
    at: FRUSTRATION_AT,
    always: FRUSTRATION_ALWAYS,
    anchors: FRUSTRATION_ANCHORS,
};

impl Table {
    /// The default phrases `texts` may match, in table order.
    pub(crate) fn candidates(&self, texts: &[&Text]) -> Vec<&'static str> {
        let mut chosen: Vec<u16> = self.always.to_vec();
        for text in texts {
            for bit in Heads::unit_bits(text) {
                let from = self.anchors.partition_point(|&(b, _)| b < bit);
                chosen.extend(
                    self.anchors[from..]
                        .iter()
                        .take_while(|&&(b, _)| b == bit)
                        .map(|&(_, i)| i),
                );
            }
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
            .into_iter()
            .filter_map(|i| {
                let &(language, position) = self.at.get(usize::from(i))?;
                let table = (self.phrases)(LANGUAGES.get(usize::from(language))?);
                table.get(usize::from(position)).copied()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Matcher;

    /// Every default phrase that matches a text is among the index's candidates for it: the
    /// index only saves work, it never loses a match.
    #[test]
    fn the_index_never_drops_a_phrase_that_matches() {
        let texts = [
            "Hi",
            "I want to talk to a real person right now",
            "Ich möchte bitte mit einem Mitarbeiter sprechen",
            "我要转人工服务",
            "オペレーターと話したいです",
            "상담원 연결해 주세요",
            "This is ridiculous, still not working!!",
            "c'est inadmissible, toujours pas de réponse",
        ];
        let mut matched = 0;
        for raw in texts {
            let text = Text::new(raw);
            for table in [HUMAN, FRUSTRATION] {
                let candidates = table.candidates(&[&text]);
                let mut all = 0;
                for language in LANGUAGES {
                    for phrase in (table.phrases)(language) {
                        let matches = Matcher::new([*phrase])
                            .find(&text, &mut crate::pattern::Budget::new(u32::MAX))
                            .is_some();
                        if matches {
                            matched += 1;
                            assert!(
                                candidates.contains(phrase),
                                "{phrase:?} matches {raw:?} but is not a candidate"
                            );
                        }
                        all += 1;
                    }
                }
                assert!(candidates.len() < all, "the index narrows {raw:?}");
            }
        }
        assert!(matched >= 7, "the texts match phrases: {matched}");
    }
}
