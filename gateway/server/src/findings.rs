//! Findings: the few things in the review data a person should act on, each with its
//! evidence and one action — not a dashboard. The rules are plain and fixed, computed from the
//! store's running tallies (`deskbridge_store::tally`) of the drafts decided in the last
//! [`WEEK_DAYS`] UTC days, today included (and the seven days before, for a change):
//!
//! 1. **Rejections jumped** — a plugin version on a helpdesk had at least
//!    [`MIN_DECIDED`] drafts decided this week, rejected at least [`REJECTION_ALARM`] of
//!    them, and that rate is at least double last week's (or last week had too few to
//!    compare). Evidence: the counts and the most frequent reason. Action: pause the plugin.
//! 2. **Drafts wait** — a helpdesk's drafts decided this week waited at least
//!    [`SLOW_DECISION_S`] on average (at least [`MIN_DECIDED`] decisions). Action: the
//!    helpdesk's queue, oldest first.
//! 3. **Agents rewrite** — a plugin version on a helpdesk had at least [`MIN_DECIDED`]
//!    drafts approved this week and agents edited at least [`EDIT_ALARM`] of them. Evidence:
//!    the share and the mean characters changed. Action: its drafts in the queue.

use std::collections::BTreeMap;

use deskbridge_store::tally::{DAY_MS, Tally, TallyBasis, TallyKey};
use serde::Serialize;

/// The window findings look at, and the one before it, in UTC days (today included).
pub const WEEK_DAYS: i64 = 7;
/// Decisions needed before a rate says anything.
pub const MIN_DECIDED: u64 = 20;
/// Share of rejections that raises a finding (with the doubling).
pub const REJECTION_ALARM: f64 = 0.4;
/// Mean wait for a decision that raises a finding, seconds.
pub const SLOW_DECISION_S: f64 = 4.0 * 3600.0;
/// Share of approved drafts edited that raises a finding.
pub const EDIT_ALARM: f64 = 0.5;

/// What a finding invites the reader to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Pause AI drafting for this stop-switch scope (`plugin:ID`).
    Pause {
        /// The scope.
        scope: String,
    },
    /// Open the queue with this query string.
    Queue {
        /// The query, e.g. `helpdesk=acme&older_than_s=14400`.
        query: String,
    },
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The sentence a person reads.
    pub headline: String,
    /// The figures behind it.
    pub evidence: String,
    /// What to do about it.
    pub action: Action,
    /// The action's label.
    pub action_label: String,
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The findings in the decision rows of `tallies` as of `now_ms`, most pressing first.
pub fn findings(tallies: &[(TallyKey, Tally)], now_ms: i64) -> Vec<Finding> {
    let today = now_ms.div_euclid(DAY_MS);
    let this_week = today - WEEK_DAYS + 1;
    let last_week = this_week - WEEK_DAYS;
    // (helpdesk, plugin, version) → [last week, this week]
    let mut weeks: BTreeMap<(&str, &str, &str), [Tally; 2]> = BTreeMap::new();
    // helpdesk → decisions this week, with their waits
    let mut waits: BTreeMap<&str, Tally> = BTreeMap::new();
    for (key, tally) in tallies {
        if key.basis != TallyBasis::Decided || key.day > today || key.day < last_week {
            continue;
        }
        let slot = usize::from(key.day >= this_week);
        weeks
            .entry((&key.helpdesk, &key.plugin_id, &key.plugin_version))
            .or_default()[slot]
            .add(tally);
        if slot == 1 {
            waits.entry(&key.helpdesk).or_default().add(tally);
        }
    }
    let mut found: Vec<(f64, Finding)> = Vec::new();
    for ((helpdesk, plugin, version), [before, now]) in &weeks {
        let rate = percent(now.rejected, now.decided);
        let was = percent(before.rejected, before.decided);
        let comparable = before.decided >= MIN_DECIDED;
        if now.decided >= MIN_DECIDED
            && rate >= REJECTION_ALARM
            && (!comparable || rate >= 2.0 * was)
        {
            let top = now
                .reasons
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(reason, n)| format!(", most often as \u{201c}{reason}\u{201d} ({n})"))
                .unwrap_or_default();
            let change = if comparable {
                format!(
                    " (was {:.0} % of {} the week before)",
                    was * 100.0,
                    before.decided
                )
            } else {
                String::new()
            };
            found.push((
                3.0 + rate,
                Finding {
                    headline: format!(
                        "{plugin} {version} on {helpdesk}: {:.0} % of {} drafts decided this week were rejected{change}",
                        rate * 100.0,
                        now.decided
                    ),
                    evidence: format!("{} of {} rejected{top}.", now.rejected, now.decided),
                    action: Action::Pause {
                        scope: format!("plugin:{plugin}"),
                    },
                    action_label: format!("Pause {plugin}"),
                },
            ));
        }
        let edit_rate = percent(now.edited, now.approved);
        if now.approved >= MIN_DECIDED && edit_rate >= EDIT_ALARM {
            found.push((
                1.0 + edit_rate,
                Finding {
                    headline: format!(
                        "Agents rewrite {:.0} % of the {plugin} {version} drafts they approve on {helpdesk}",
                        edit_rate * 100.0
                    ),
                    evidence: format!(
                        "{} of {} approved drafts edited this week, {:.0} characters changed on average.",
                        now.edited,
                        now.approved,
                        now.edit_chars as f64 / now.edited.max(1) as f64
                    ),
                    action: Action::Queue {
                        query: format!("helpdesk={helpdesk}&plugin={plugin}"),
                    },
                    action_label: format!("Look at {plugin}'s drafts on {helpdesk}"),
                },
            ));
        }
    }
    for (helpdesk, week) in waits {
        let decisions = week.decided;
        let mean_s = week.decision_ms as f64 / 1000.0 / decisions.max(1) as f64;
        if decisions >= MIN_DECIDED && mean_s >= SLOW_DECISION_S {
            found.push((
                2.0 + mean_s / 86_400.0,
                Finding {
                    headline: format!(
                        "Drafts wait {:.1} h on average for a decision in {helpdesk}",
                        mean_s / 3600.0
                    ),
                    evidence: format!("Mean over the {decisions} drafts decided this week."),
                    action: Action::Queue {
                        query: format!("helpdesk={helpdesk}&older_than_s=14400"),
                    },
                    action_label: format!("Open {helpdesk}'s waiting drafts"),
                },
            ));
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    found.into_iter().map(|(_, finding)| finding).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbridge_core::review::{DraftState, Review};
    use deskbridge_store::tally::tallies_of;
    use deskbridge_store::{DraftProvenance, DraftReview};

    const NOW: i64 = 1_800_000_000_000;
    const HOUR: i64 = 3600 * 1000;

    fn decided(
        helpdesk: &str,
        version: &str,
        age_h: i64,
        wait_h: i64,
        state: DraftState,
        edited: bool,
    ) -> DraftReview {
        let decided_at = NOW - age_h * HOUR;
        DraftReview {
            id: format!("d{age_h}{version}{wait_h}"),
            helpdesk: helpdesk.into(),
            provenance: DraftProvenance {
                plugin_id: "suggest-reply".into(),
                plugin_version: version.into(),
                wasm_sha256: String::new(),
                provider: None,
                model: None,
                event_id: String::new(),
                redaction: Default::default(),
                sources: Vec::new(),
            },
            created_at_ms: decided_at - wait_h * HOUR,
            review: Review {
                state,
                decided_at_ms: Some(decided_at),
                edited_text: edited.then(|| "changed".into()),
                edit_distance: edited.then_some(40),
                ..Review::default()
            },
        }
    }

    fn rejected(reason: &str) -> DraftState {
        DraftState::Rejected {
            by: "a".into(),
            reason: reason.into(),
            at_ms: 0,
        }
    }

    fn approved() -> DraftState {
        DraftState::Approved { at_ms: 0 }
    }

    #[test]
    fn a_jump_in_rejections_asks_to_pause_the_plugin() {
        let mut drafts = Vec::new();
        // Last week: 3 of 25 rejected (12 %).
        for i in 0..25 {
            let state = if i < 3 { rejected("tone") } else { approved() };
            drafts.push(decided("acme", "0.2.0", 24 * 8 + i, 1, state, false));
        }
        // This week: 14 of 24 rejected (58 %), 9 of them for the refund policy.
        for i in 0..24 {
            let state = match i {
                0..9 => rejected("Wrong refund policy "),
                9..14 => rejected("tone"),
                _ => approved(),
            };
            drafts.push(decided("acme", "0.2.0", 1 + i, 1, state, false));
        }
        let found = findings(&tallies_of(&drafts, &[]), NOW);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].headline,
            "suggest-reply 0.2.0 on acme: 58 % of 24 drafts decided this week were rejected (was 12 % of 25 the week before)"
        );
        assert!(
            found[0]
                .evidence
                .contains("\u{201c}wrong refund policy\u{201d} (9)"),
            "{}",
            found[0].evidence
        );
        assert_eq!(
            found[0].action,
            Action::Pause {
                scope: "plugin:suggest-reply".into()
            }
        );
    }

    #[test]
    fn steady_or_sparse_rejections_are_no_finding() {
        let mut drafts = Vec::new();
        // 50 % both weeks: no jump.
        for i in 0..80 {
            let state = if i % 2 == 0 {
                rejected("tone")
            } else {
                approved()
            };
            drafts.push(decided("acme", "0.2.0", 2 + i * 4, 1, state, false));
        }
        // Too few decisions to say anything.
        for i in 0..5 {
            drafts.push(decided("beta", "0.2.0", 2 + i, 1, rejected("x"), false));
        }
        assert_eq!(findings(&tallies_of(&drafts, &[]), NOW), Vec::new());
    }

    #[test]
    fn long_waits_and_heavy_editing_are_found() {
        let mut drafts = Vec::new();
        for i in 0..20 {
            drafts.push(decided("slowdesk", "0.2.0", 1 + i, 6, approved(), i < 12));
        }
        let found = findings(&tallies_of(&drafts, &[]), NOW);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            found[0].headline,
            "Drafts wait 6.0 h on average for a decision in slowdesk"
        );
        assert_eq!(
            found[0].action,
            Action::Queue {
                query: "helpdesk=slowdesk&older_than_s=14400".into()
            }
        );
        assert_eq!(
            found[1].headline,
            "Agents rewrite 60 % of the suggest-reply 0.2.0 drafts they approve on slowdesk"
        );
        assert!(
            found[1].evidence.contains("40 characters"),
            "{}",
            found[1].evidence
        );
    }
}
