//! A Bloom filter over the dedupe keys in sled, so that ingest can tell a new delivery from a
//! redelivery without reading sled for every webhook.
//!
//! Almost every delivery is new, and for a new key sled's `Tree::get` walks the tree only to
//! find nothing (about 1.5 µs per webhook, under the ingest order lock; BENCHMARKS.md). The
//! filter answers "certainly not there" from memory; only a "maybe" reads sled. It never
//! says "not there" for a key it was given (no false negatives); a false "maybe" costs one
//! sled read, as before.
//!
//! Layout: split-block Bloom filter. A key's 64-bit hash picks one 512-bit block (one cache
//! line) and sets one bit in each of its eight words, so a lookup touches one cache line.
//! The filter never fills up: when the newest stage holds as many keys as it was sized for, a
//! new stage of four times the size takes further keys, and a lookup asks every stage (a handful
//! at most). Keys cannot be removed from a Bloom filter; the store builds a fresh one from
//! the keys it keeps when it prunes old dedupe keys (`SledStore::prune_dedupe_keys`).

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// Bits per key a stage is sized for: about 1–2 % false "maybe" answers when full.
const BITS_PER_KEY: usize = 10;

/// Words per block: 8 × 64 bits, one cache line.
const BLOCK_WORDS: usize = 8;

/// The smallest first stage, in keys (1.25 MiB): a lookup asks every stage, so a filter
/// that starts this large rarely needs a second.
const MIN_CAPACITY: usize = 1 << 20;

/// Each new stage holds this many times the keys of the one before, which keeps the number
/// of stages (cache lines per lookup) to a handful even for tens of millions of keys.
const GROWTH: usize = 4;

/// A set of byte strings that answers "certainly not a member" or "maybe a member".
#[derive(Debug)]
pub(crate) struct KeyFilter {
    stages: Vec<Stage>,
}

impl Default for KeyFilter {
    fn default() -> KeyFilter {
        KeyFilter::with_capacity(0)
    }
}

#[derive(Debug)]
struct Stage {
    blocks: Vec<[u64; BLOCK_WORDS]>,
    capacity: usize,
    keys: usize,
}

impl Stage {
    fn with_capacity(capacity: usize) -> Stage {
        let capacity = capacity.max(1);
        let blocks = (capacity * BITS_PER_KEY).div_ceil(BLOCK_WORDS * 64);
        Stage {
            blocks: vec![[0; BLOCK_WORDS]; blocks],
            capacity,
            keys: 0,
        }
    }

    /// The block for `hash` and the bit to set in each of its words.
    fn probe(&self, hash: u64) -> (usize, [u64; BLOCK_WORDS]) {
        // The high half picks the block (multiply-shift: no modulo bias, no division); the
        // low half, stretched by an odd multiplier per word, picks the bits.
        let block = ((hash >> 32) * self.blocks.len() as u64) >> 32;
        let low = hash as u32;
        let mut bits = [0u64; BLOCK_WORDS];
        for (word, bit) in bits.iter_mut().enumerate() {
            let mixed = low.wrapping_mul(SALTS[word]);
            *bit = 1 << (mixed >> 26);
        }
        (block as usize, bits)
    }

    fn insert(&mut self, hash: u64) {
        let (block, bits) = self.probe(hash);
        if let Some(words) = self.blocks.get_mut(block) {
            for (word, bit) in words.iter_mut().zip(bits) {
                *word |= bit;
            }
        }
        self.keys += 1;
    }

    fn may_contain(&self, hash: u64) -> bool {
        let (block, bits) = self.probe(hash);
        self.blocks
            .get(block)
            .is_some_and(|words| words.iter().zip(bits).all(|(word, bit)| word & bit != 0))
    }
}

/// Odd multipliers, one per word (from the split-block Bloom filter of Parquet and Impala).
const SALTS: [u32; BLOCK_WORDS] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

impl KeyFilter {
    /// An empty filter sized for about `expected` keys, and at least [`MIN_CAPACITY`] (it
    /// grows past that).
    pub(crate) fn with_capacity(expected: usize) -> KeyFilter {
        KeyFilter::with_first_stage(expected.max(MIN_CAPACITY))
    }

    fn with_first_stage(capacity: usize) -> KeyFilter {
        KeyFilter {
            stages: vec![Stage::with_capacity(capacity)],
        }
    }

    /// Adds `key`.
    pub(crate) fn insert(&mut self, key: &[u8]) {
        let hash = hash(key);
        let full = self
            .stages
            .last()
            .is_none_or(|stage| stage.keys >= stage.capacity);
        if full {
            let capacity = self
                .stages
                .last()
                .map_or(MIN_CAPACITY, |stage| stage.capacity.saturating_mul(GROWTH));
            self.stages.push(Stage::with_capacity(capacity));
        }
        if let Some(stage) = self.stages.last_mut() {
            stage.insert(hash);
        }
    }

    /// `false` if `key` was certainly never inserted; `true` if it may have been.
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        let hash = hash(key);
        self.stages.iter().any(|stage| stage.may_contain(hash))
    }

    /// How many keys were inserted (a key inserted twice counts twice).
    pub(crate) fn len(&self) -> usize {
        self.stages.iter().map(|stage| stage.keys).sum()
    }
}

/// SipHash-1-3 with fixed keys: the same key hashes the same way for the life of the process,
/// which is all an in-memory filter needs.
fn hash(key: &[u8]) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> Vec<u8> {
        format!("zendesk\0invocation:{n:016x}").into_bytes()
    }

    #[test]
    fn every_inserted_key_is_reported_even_after_growing_past_the_first_size() {
        let mut filter = KeyFilter::with_first_stage(1_000);
        for n in 0..100_000 {
            filter.insert(&key(n));
        }
        assert!(filter.stages.len() > 1, "the filter grew new stages");
        assert_eq!(filter.len(), 100_000);
        let missed = (0..100_000)
            .filter(|&n| !filter.may_contain(&key(n)))
            .count();
        assert_eq!(missed, 0, "a Bloom filter has no false negatives");
    }

    #[test]
    fn keys_never_inserted_are_mostly_ruled_out() {
        let mut filter = KeyFilter::with_first_stage(50_000);
        for n in 0..50_000 {
            filter.insert(&key(n));
        }
        let strangers: usize = 100_000;
        let maybe = (1_000_000..1_000_000 + strangers as u64)
            .filter(|&n| filter.may_contain(&key(n)))
            .count();
        // Sized at 10 bits per key: a split-block filter gives about 1–2 % false positives.
        assert!(
            maybe * 100 < strangers * 3,
            "{maybe} of {strangers} keys never inserted were reported as maybe present"
        );
    }

    #[test]
    fn the_smallest_stage_still_holds_its_keys() {
        let mut filter = KeyFilter::with_first_stage(0);
        filter.insert(b"only");
        assert!(filter.may_contain(b"only"));
    }

    #[test]
    fn an_empty_filter_rules_out_everything() {
        let filter = KeyFilter::with_capacity(10);
        assert!(!filter.may_contain(b"anything"));
        assert_eq!(filter.len(), 0);
    }
}
