//! Running tallies for insights: how drafts fare with their reviewers, counted per UTC day,
//! helpdesk, plugin version, provider and model, so that insights over a long history read a
//! few hundred rows instead of decoding every draft and processed event.
//!
//! A draft counts in two rows: by the day it was **created** ([`TallyBasis::Created`], what
//! the insights table's period filters on) and, once a person approved or rejected it, by the
//! day of that **decision** ([`TallyBasis::Decided`], what findings and the daily chart look
//! at). A processed event counts, by the day it completed, in the creation row of the plugin
//! that asked for a handover (and budget stops, with or without one).
//!
//! What a record contributes is a pure function of it ([`draft_tallies`], [`event_tally`]); a
//! store keeps the sums by adding a new record's contribution and, when a draft's review
//! changes, subtracting its old contribution and adding the new one — in the same atomic write
//! as the record. Sums are never recomputed on read. Tallies outlive the records that
//! retention deletes: they are counts, and the one text they hold (rejection reasons, bounded
//! in length and number) is also in the approval log.

use std::collections::BTreeMap;

use deskbridge_core::review::DraftState;
use serde::{Deserialize, Serialize};

use crate::records::{DraftProvenance, DraftReview, ProcessedEvent};

/// A UTC day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// Distinct rejection reasons one row keeps; later ones count under [`OTHER_REASONS`].
pub const MAX_REASONS: usize = 32;

/// Where reasons beyond [`MAX_REASONS`] in one row are counted.
pub const OTHER_REASONS: &str = "(other reasons)";

/// Longest rejection reason kept, characters (longer ones are cut).
pub const MAX_REASON_CHARS: usize = 120;

/// The ratio between the bounds of consecutive decision-time buckets: a median read from the
/// histogram is within about 5 % of the exact one.
const BUCKET_RATIO: f64 = 1.1;

/// By which day a row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TallyBasis {
    /// Drafts by the day they were created; events by the day they completed.
    Created,
    /// Drafts a person approved or rejected, by the day of that decision.
    Decided,
}

/// What one row counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TallyKey {
    /// By which day.
    pub basis: TallyBasis,
    /// The UTC day: Unix milliseconds divided by [`DAY_MS`], rounded down.
    pub day: i64,
    /// Helpdesk instance.
    pub helpdesk: String,
    /// Plugin id (`""`: an event with a budget stop and no handover).
    pub plugin_id: String,
    /// Plugin version.
    pub plugin_version: String,
    /// AI provider (`""`: the plugin called none).
    pub provider: String,
    /// Model (`""`: none).
    pub model: String,
}

impl TallyKey {
    fn new(basis: TallyBasis, at_ms: i64, helpdesk: &str, by: Option<&DraftProvenance>) -> Self {
        TallyKey {
            basis,
            day: at_ms.div_euclid(DAY_MS),
            helpdesk: helpdesk.to_owned(),
            plugin_id: by.map(|p| p.plugin_id.clone()).unwrap_or_default(),
            plugin_version: by.map(|p| p.plugin_version.clone()).unwrap_or_default(),
            provider: by.and_then(|p| p.provider.clone()).unwrap_or_default(),
            model: by.and_then(|p| p.model.clone()).unwrap_or_default(),
        }
    }
}

/// The counts of one row. Adding and subtracting never overflow or go below zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    /// Drafts.
    pub drafts: u64,
    /// Still waiting for a decision (pending or escalated).
    pub open: u64,
    /// Approved (sent, on its way, or cancelled after approval).
    pub approved: u64,
    /// Delivered to the helpdesk.
    pub sent: u64,
    /// Rejected.
    pub rejected: u64,
    /// Expired undecided.
    pub expired: u64,
    /// Approved, then cancelled before delivery.
    pub cancelled: u64,
    /// Approved drafts whose text a person changed.
    pub edited: u64,
    /// Characters changed in the edited ones, summed.
    pub edit_chars: u64,
    /// Drafts handed to a supervisor at least once.
    pub escalated: u64,
    /// Drafts with a decision time (approved or rejected).
    pub decided: u64,
    /// Their times from creation to decision, milliseconds, summed.
    pub decision_ms: u64,
    /// The same times as a histogram: bucket ([`bucket_of`]) → drafts.
    pub decision_buckets: BTreeMap<u16, u64>,
    /// Rejection reasons (trimmed, lower-cased, cut to [`MAX_REASON_CHARS`]) → drafts.
    pub reasons: BTreeMap<String, u64>,
    /// Events where the plugin handed the ticket to a human instead of drafting.
    pub handovers: u64,
    /// Events on which a spent AI budget stopped a call.
    pub budget_exhausted: u64,
}

/// The decision-time bucket of `ms`: 0 below one second, then buckets whose bounds grow by
/// [`BUCKET_RATIO`].
pub fn bucket_of(ms: u64) -> u16 {
    let seconds = ms as f64 / 1000.0;
    if seconds < 1.0 {
        return 0;
    }
    let index = (seconds.ln() / BUCKET_RATIO.ln()).floor();
    // Below 2^16 buckets for any u64 of milliseconds (≈ 470 at u64::MAX).
    1 + index as u16
}

/// A representative time of bucket `bucket`, seconds: the geometric middle of its bounds.
pub fn bucket_seconds(bucket: u16) -> f64 {
    if bucket == 0 {
        return 0.5;
    }
    BUCKET_RATIO.powf(f64::from(bucket - 1) + 0.5)
}

/// A rejection reason as tallies keep it.
pub fn normalize_reason(reason: &str) -> String {
    reason
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_REASON_CHARS)
        .collect()
}

impl Tally {
    /// Adds `other` to this row.
    pub fn add(&mut self, other: &Tally) {
        self.shift(other, true);
    }

    /// Takes `other` (counted before) away from this row.
    pub fn subtract(&mut self, other: &Tally) {
        self.shift(other, false);
    }

    /// Whether the row counts nothing.
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    /// The median of the decision times, seconds (within about 5 %); `None` before any.
    pub fn median_decision_s(&self) -> Option<f64> {
        let total: u64 = self.decision_buckets.values().sum();
        if total == 0 {
            return None;
        }
        // The lower middle for an even count, like a median of the exact values rounded down.
        let middle = total.div_ceil(2);
        let mut seen = 0;
        for (&bucket, &count) in &self.decision_buckets {
            seen += count;
            if seen >= middle {
                return Some(bucket_seconds(bucket));
            }
        }
        None
    }

    fn shift(&mut self, other: &Tally, adding: bool) {
        let apply = |mine: &mut u64, theirs: u64| {
            *mine = if adding {
                mine.saturating_add(theirs)
            } else {
                mine.saturating_sub(theirs)
            };
        };
        apply(&mut self.drafts, other.drafts);
        apply(&mut self.open, other.open);
        apply(&mut self.approved, other.approved);
        apply(&mut self.sent, other.sent);
        apply(&mut self.rejected, other.rejected);
        apply(&mut self.expired, other.expired);
        apply(&mut self.cancelled, other.cancelled);
        apply(&mut self.edited, other.edited);
        apply(&mut self.edit_chars, other.edit_chars);
        apply(&mut self.escalated, other.escalated);
        apply(&mut self.decided, other.decided);
        apply(&mut self.decision_ms, other.decision_ms);
        apply(&mut self.handovers, other.handovers);
        apply(&mut self.budget_exhausted, other.budget_exhausted);
        for (&bucket, &count) in &other.decision_buckets {
            let mine = self.decision_buckets.entry(bucket).or_default();
            apply(mine, count);
            if *mine == 0 {
                self.decision_buckets.remove(&bucket);
            }
        }
        for (reason, &count) in &other.reasons {
            // A reason the row has no room for counts (and is taken back) under "other".
            let known = self.reasons.contains_key(reason);
            let room = self.reasons.len() < MAX_REASONS;
            let slot = if known || (adding && room) {
                reason.as_str()
            } else {
                OTHER_REASONS
            };
            let mine = self.reasons.entry(slot.to_owned()).or_default();
            apply(mine, count);
            if *mine == 0 {
                self.reasons.remove(slot);
            }
        }
    }
}

/// What a draft contributes: its creation row, and its decision row once decided.
pub fn draft_tallies(draft: &DraftReview) -> Vec<(TallyKey, Tally)> {
    let review = &draft.review;
    let mut tally = Tally {
        drafts: 1,
        ..Tally::default()
    };
    match &review.state {
        DraftState::Pending | DraftState::Escalated => tally.open = 1,
        DraftState::Approved { .. } => tally.approved = 1,
        DraftState::Sent { .. } => {
            tally.approved = 1;
            tally.sent = 1;
        }
        DraftState::Rejected { reason, .. } => {
            tally.rejected = 1;
            tally.reasons.insert(normalize_reason(reason), 1);
        }
        DraftState::Expired { .. } => tally.expired = 1,
        DraftState::Cancelled { .. } => {
            tally.approved = 1;
            tally.cancelled = 1;
        }
    }
    if tally.approved == 1 && review.edited_text.is_some() {
        tally.edited = 1;
        tally.edit_chars = review.edit_distance.unwrap_or_default();
    }
    tally.escalated = u64::from(review.escalations > 0);
    let decided_at = review.decided_at_ms;
    if let Some(at) = decided_at {
        let waited = u64::try_from(at.saturating_sub(draft.created_at_ms)).unwrap_or(0);
        tally.decided = 1;
        tally.decision_ms = waited;
        tally.decision_buckets.insert(bucket_of(waited), 1);
    }
    let by = Some(&draft.provenance);
    let created = TallyKey::new(
        TallyBasis::Created,
        draft.created_at_ms,
        &draft.helpdesk,
        by,
    );
    let mut rows = vec![(created, tally.clone())];
    if let Some(at) = decided_at {
        rows.push((
            TallyKey::new(TallyBasis::Decided, at, &draft.helpdesk, by),
            tally,
        ));
    }
    rows
}

/// What a processed event contributes, if anything (a handover or a budget stop).
pub fn event_tally(event: &ProcessedEvent) -> Option<(TallyKey, Tally)> {
    let budget = event.ai_flags.iter().any(|f| f == "budget-exhausted");
    let by = event.handover_by.as_ref();
    if by.is_none() && !budget {
        return None;
    }
    let key = TallyKey::new(
        TallyBasis::Created,
        event.completed_at_ms,
        &event.helpdesk,
        by,
    );
    let tally = Tally {
        handovers: u64::from(by.is_some()),
        budget_exhausted: u64::from(budget),
        ..Tally::default()
    };
    Some((key, tally))
}

/// The tallies of a set of records, summed from scratch: what a store without running tallies
/// answers, and how a store fills its tallies once.
pub fn tallies_of(drafts: &[DraftReview], events: &[ProcessedEvent]) -> Vec<(TallyKey, Tally)> {
    let mut sums: BTreeMap<TallyKey, Tally> = BTreeMap::new();
    let contributions = drafts
        .iter()
        .flat_map(draft_tallies)
        .chain(events.iter().filter_map(event_tally));
    for (key, tally) in contributions {
        sums.entry(key).or_default().add(&tally);
    }
    sums.into_iter().collect()
}

/// The net change of a record's contribution from `before` to `after`, per row: subtract
/// the first tally, add the second. Rows the change does not touch are left out.
pub fn changes(
    before: &[(TallyKey, Tally)],
    after: &[(TallyKey, Tally)],
) -> Vec<(TallyKey, Tally, Tally)> {
    let mut rows: BTreeMap<&TallyKey, (Tally, Tally)> = BTreeMap::new();
    for (key, tally) in before {
        rows.entry(key).or_default().0.add(tally);
    }
    for (key, tally) in after {
        rows.entry(key).or_default().1.add(tally);
    }
    rows.into_iter()
        .filter(|(_, (minus, plus))| minus != plus)
        .map(|(key, (minus, plus))| (key.clone(), minus, plus))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbridge_core::review::Review;

    fn draft(created_at_ms: i64, review: Review) -> DraftReview {
        DraftReview {
            id: "d".into(),
            helpdesk: "acme".into(),
            provenance: DraftProvenance {
                plugin_id: "suggest-reply".into(),
                plugin_version: "1.0.0".into(),
                wasm_sha256: "00".into(),
                provider: Some("local".into()),
                model: Some("m".into()),
                event_id: "evt".into(),
                redaction: Default::default(),
                sources: Vec::new(),
            },
            created_at_ms,
            review,
        }
    }

    #[test]
    fn a_decided_draft_counts_on_its_creation_and_its_decision_day() {
        let rejected = draft(
            DAY_MS - 1,
            Review {
                state: DraftState::Rejected {
                    by: "ann".into(),
                    reason: "  Wrong Tone ".into(),
                    at_ms: 0,
                },
                decided_at_ms: Some(DAY_MS + 59_999),
                ..Review::default()
            },
        );
        let rows = draft_tallies(&rejected);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].0.basis, rows[0].0.day), (TallyBasis::Created, 0));
        assert_eq!((rows[1].0.basis, rows[1].0.day), (TallyBasis::Decided, 1));
        let tally = &rows[0].1;
        assert_eq!((tally.drafts, tally.rejected, tally.decided), (1, 1, 1));
        assert_eq!(tally.decision_ms, 60_000);
        assert_eq!(tally.reasons.get("wrong tone"), Some(&1));
        let open = draft_tallies(&draft(5, Review::default()));
        assert_eq!(open.len(), 1, "an open draft has no decision row");
        assert_eq!(open[0].1.open, 1);
    }

    #[test]
    fn a_change_of_review_moves_counts_and_returns_to_zero() {
        let before = draft(0, Review::default());
        let after = draft(
            0,
            Review {
                state: DraftState::Approved { at_ms: 10_000 },
                decided_at_ms: Some(10_000),
                edited_text: Some("x".into()),
                edit_distance: Some(7),
                ..Review::default()
            },
        );
        let mut sums: BTreeMap<TallyKey, Tally> = BTreeMap::new();
        let apply = |sums: &mut BTreeMap<TallyKey, Tally>, from: &DraftReview, to: &DraftReview| {
            for (key, minus, plus) in changes(&draft_tallies(from), &draft_tallies(to)) {
                let row = sums.entry(key).or_default();
                row.subtract(&minus);
                row.add(&plus);
            }
        };
        for (key, tally) in draft_tallies(&before) {
            sums.entry(key).or_default().add(&tally);
        }
        apply(&mut sums, &before, &after);
        let created = sums.values().next().expect("creation row");
        assert_eq!((created.open, created.approved, created.edited), (0, 1, 1));
        assert_eq!(created.edit_chars, 7);
        assert_eq!(sums.len(), 2, "and a decision row");
        // Back again (not a real transition, but the arithmetic must be exact).
        apply(&mut sums, &after, &before);
        sums.retain(|_, t| !t.is_empty());
        assert_eq!(sums.len(), 1);
        assert_eq!(sums.values().next(), Some(&draft_tallies(&before)[0].1));
    }

    #[test]
    fn reasons_beyond_the_cap_count_as_other_and_come_back_out() {
        let mut row = Tally::default();
        let one = |reason: &str| Tally {
            reasons: BTreeMap::from([(reason.to_owned(), 1)]),
            ..Tally::default()
        };
        for i in 0..MAX_REASONS + 3 {
            row.add(&one(&format!("reason {i}")));
        }
        assert_eq!(row.reasons.len(), MAX_REASONS + 1);
        assert_eq!(row.reasons.get(OTHER_REASONS), Some(&3));
        row.subtract(&one(&format!("reason {}", MAX_REASONS + 1)));
        assert_eq!(row.reasons.get(OTHER_REASONS), Some(&2));
        assert_eq!(normalize_reason(&"x".repeat(500)).len(), MAX_REASON_CHARS);
    }

    #[test]
    fn the_median_from_buckets_is_within_five_percent() {
        let mut row = Tally::default();
        for seconds in [10u64, 20, 30, 40, 60, 3600, 86_400] {
            let mut one = Tally::default();
            one.decision_buckets.insert(bucket_of(seconds * 1000), 1);
            row.add(&one);
        }
        let median = row.median_decision_s().expect("median");
        assert!((median - 40.0).abs() / 40.0 < 0.05, "{median}");
        assert_eq!(Tally::default().median_decision_s(), None);
        assert_eq!(bucket_of(999), 0);
        assert!(bucket_of(u64::MAX) < 1000);
        for seconds in [1.0f64, 7.0, 95.0, 4000.0, 900_000.0] {
            let back = bucket_seconds(bucket_of((seconds * 1000.0) as u64));
            assert!(
                (back - seconds).abs() / seconds < 0.05,
                "{seconds} → {back}"
            );
        }
    }
}
