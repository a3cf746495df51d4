//! "Track, test, adjust": how the AI's drafts fare with the people who review them, per plugin
//! version and model — drafts created, approval rate, edit rate and mean edit distance,
//! rejection reasons, time to decision, escalations and handovers.
//!
//! `GET /api/v1/insights[?helpdesk=NAME][&since_s=SECONDS]` for reviewers, supervisors and
//! admins; `deskbridge insights` prints the same. Read from the store's running tallies
//! (`deskbridge_store::tally`: counts per UTC day, kept as drafts are written and decided), so
//! a request costs the same on a store with a hundred drafts or a million; the period
//! (`since_s`) therefore starts at the beginning of the UTC day it reaches into, and the
//! median time to decision comes from a histogram (within about 5 %).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use deskbridge_core::Role;
use deskbridge_pipeline::now_ms;
use deskbridge_store::tally::{DAY_MS, Tally, TallyBasis, TallyKey};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::Caller;

/// Who may read insights.
const READERS: &[Role] = &[Role::Reviewer, Role::Supervisor, Role::Admin];

/// How many distinct rejection reasons a row lists.
const TOP_REASONS: usize = 10;

/// What the insights cover.
#[derive(
    Debug,
    Clone,
    Default,
    Serialize,
    Deserialize,
    PartialEq,
    Eq,
    utoipa::IntoParams,
    utoipa::ToSchema,
)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InsightsQuery {
    /// Only this helpdesk.
    pub helpdesk: Option<String>,
    /// Only drafts created and events completed in the last this many seconds (from the start
    /// of the UTC day this reaches into).
    pub since_s: Option<u64>,
}

/// The figures of one plugin version and model.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct InsightsRow {
    /// Plugin id.
    pub plugin_id: String,
    /// Plugin version.
    pub plugin_version: String,
    /// AI provider (`""`: the plugin called none).
    pub provider: String,
    /// Model.
    pub model: String,
    /// Drafts the plugin wrote.
    pub drafts: u64,
    /// Still waiting for a decision (pending or escalated).
    pub open: u64,
    /// Approved (sent or on its way).
    pub approved: u64,
    /// Delivered to the helpdesk.
    pub sent: u64,
    /// Rejected.
    pub rejected: u64,
    /// Expired undecided.
    pub expired: u64,
    /// Approved, then cancelled by an admin before delivery (counted as approved too).
    #[serde(default)]
    pub cancelled: u64,
    /// Approved ÷ (approved + rejected + expired); `None` before any draft was closed.
    pub approval_rate: Option<f64>,
    /// Approved drafts whose text a person changed.
    pub edited: u64,
    /// Edited ÷ approved.
    pub edit_rate: Option<f64>,
    /// Mean characters changed in edited drafts.
    pub mean_edit_distance: Option<f64>,
    /// Drafts handed to a supervisor at least once.
    pub escalated: u64,
    /// Tickets the plugin handed to a human instead of drafting.
    pub handovers: u64,
    /// From creation to approval or rejection, seconds: mean.
    pub mean_time_to_decision_s: Option<f64>,
    /// … median (from a histogram: within about 5 %).
    pub median_time_to_decision_s: Option<f64>,
    /// Most frequent rejection reasons (trimmed, lower-cased, cut to 120 characters) with
    /// counts, most frequent first; beyond 32 distinct reasons a day, the rest count as
    /// `(other reasons)`.
    pub rejection_reasons: Vec<(String, u64)>,
}

/// Insights over every plugin version and model seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Insights {
    /// When they were computed, Unix milliseconds.
    pub generated_at_ms: i64,
    /// What they cover.
    pub query: InsightsQuery,
    /// One row per plugin id, version, provider and model, ordered by those.
    pub rows: Vec<InsightsRow>,
    /// Events on which a spent AI budget stopped a call (`[providers.NAME.budget]`,
    /// `[ai.budgets]`, `[helpdesks.NAME.ai.budget]`).
    #[serde(default)]
    pub budget_exhausted_events: u64,
}

type RowKey = (String, String, String, String);

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The first UTC day a window of `since_s` seconds before `now_ms` touches: windows are
/// whole days, since the tallies count per day.
pub fn first_day(since_s: Option<u64>, now_ms: i64) -> Option<i64> {
    since_s.map(|s| {
        let since_ms =
            now_ms.saturating_sub(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX));
        since_ms.div_euclid(DAY_MS)
    })
}

/// Computes insights from the store's running tallies (`deskbridge_store::tally`).
pub fn compute(tallies: &[(TallyKey, Tally)], query: &InsightsQuery, now_ms: i64) -> Insights {
    let first_day = first_day(query.since_s, now_ms);
    let mut sums: BTreeMap<RowKey, Tally> = BTreeMap::new();
    let mut budget_exhausted_events = 0;
    for (key, tally) in tallies.iter().filter(|(key, _)| {
        key.basis == TallyBasis::Created
            && query.helpdesk.as_deref().is_none_or(|h| h == key.helpdesk)
            && first_day.is_none_or(|first| key.day >= first)
    }) {
        budget_exhausted_events += tally.budget_exhausted;
        if key.plugin_id.is_empty() {
            continue; // a budget stop with no plugin to name
        }
        sums.entry((
            key.plugin_id.clone(),
            key.plugin_version.clone(),
            key.provider.clone(),
            key.model.clone(),
        ))
        .or_default()
        .add(tally);
    }
    let rows = sums
        .into_iter()
        .map(|((plugin_id, plugin_version, provider, model), t)| {
            let mut reasons: Vec<(String, u64)> = t.reasons.clone().into_iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            reasons.truncate(TOP_REASONS);
            InsightsRow {
                plugin_id,
                plugin_version,
                provider,
                model,
                drafts: t.drafts,
                open: t.open,
                approved: t.approved,
                sent: t.sent,
                rejected: t.rejected,
                expired: t.expired,
                cancelled: t.cancelled,
                approval_rate: ratio(t.approved, t.approved + t.rejected + t.expired),
                edited: t.edited,
                edit_rate: ratio(t.edited, t.approved),
                mean_edit_distance: (t.edited > 0).then(|| t.edit_chars as f64 / t.edited as f64),
                escalated: t.escalated,
                handovers: t.handovers,
                mean_time_to_decision_s: (t.decided > 0)
                    .then(|| t.decision_ms as f64 / 1000.0 / t.decided as f64),
                median_time_to_decision_s: t.median_decision_s(),
                rejection_reasons: reasons,
            }
        })
        .collect();
    Insights {
        generated_at_ms: now_ms,
        query: query.clone(),
        rows,
        budget_exhausted_events,
    }
}

/// `GET /api/v1/insights`.
#[utoipa::path(
    get,
    path = "/api/v1/insights",
    tag = "insights",
    summary = "How AI drafts fare with reviewers, per plugin version and model",
    params(InsightsQuery),
    responses(
        (status = 200, description = "Insights", body = Insights),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn insights(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<InsightsQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    let store = state.store.clone().ok_or(ApiError::NoStore)?;
    let query = query.into_inner();
    let computed = web::block(move || {
        let tallies = store.tallies()?;
        Ok::<_, deskbridge_store::StoreError>(compute(&tallies, &query, now_ms()))
    })
    .await;
    match computed {
        Ok(Ok(insights)) => Ok(HttpResponse::Ok().json(insights)),
        Ok(Err(e)) => Err(ApiError::internal("reading drafts for insights", e)),
        Err(e) => Err(ApiError::internal("computing insights", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbridge_core::review::{DraftState, Review};
    use deskbridge_store::tally::tallies_of;
    use deskbridge_store::{DraftProvenance, DraftReview, ProcessedEvent};

    fn draft(id: &str, model: &str, created_at_ms: i64, review: Review) -> DraftReview {
        DraftReview {
            id: id.into(),
            helpdesk: "acme".into(),
            provenance: DraftProvenance {
                plugin_id: "suggest-reply".into(),
                plugin_version: "1.0.0".into(),
                wasm_sha256: "00".into(),
                provider: Some("local".into()),
                model: Some(model.into()),
                event_id: format!("evt_{id}"),
                redaction: Default::default(),
                sources: Vec::new(),
            },
            created_at_ms,
            review,
        }
    }

    fn closed(state: DraftState, decided_at_ms: i64, edit_distance: Option<u64>) -> Review {
        Review {
            state,
            decided_at_ms: Some(decided_at_ms),
            edited_text: edit_distance.map(|_| "edited".into()),
            edit_distance,
            ..Review::default()
        }
    }

    fn rejected(reason: &str) -> DraftState {
        DraftState::Rejected {
            by: "ann".into(),
            reason: reason.into(),
            at_ms: 0,
        }
    }

    #[test]
    fn rates_distances_times_and_reasons_per_model() {
        let sent = DraftState::Sent {
            at_ms: 0,
            receipt: None,
            ai_disclosure: false,
            delivery_logged: true,
        };
        let drafts = vec![
            draft("a", "m1", 0, closed(sent.clone(), 10_000, None)),
            draft("b", "m1", 0, closed(sent, 20_000, Some(12))),
            draft(
                "c",
                "m1",
                0,
                closed(DraftState::Approved { at_ms: 0 }, 60_000, Some(4)),
            ),
            draft("d", "m1", 0, closed(rejected("Wrong tone "), 30_000, None)),
            draft("e", "m1", 0, closed(rejected("wrong tone"), 40_000, None)),
            draft(
                "f",
                "m1",
                0,
                Review {
                    state: DraftState::Escalated,
                    escalations: 1,
                    ..Review::default()
                },
            ),
            draft(
                "g",
                "m1",
                0,
                Review {
                    state: DraftState::Expired { at_ms: 9 },
                    ..Review::default()
                },
            ),
            draft("h", "m2", 0, Review::default()),
        ];
        let mut handover = ProcessedEvent {
            event_id: "evt".into(),
            helpdesk: "acme".into(),
            ticket_id: "1".into(),
            kind: None,
            completed_at_ms: 0,
            plugin_runs: Vec::new(),
            handover: Some("asked for a human".into()),
            handover_by: Some(drafts[0].provenance.clone()),
            skipped: None,
            flagged: false,
            ai_us: 0,
            truncated: Vec::new(),
            suggestions: Vec::new(),
            ai_flags: vec!["budget-exhausted".into()],
        };
        let insights = compute(
            &tallies_of(&drafts, std::slice::from_ref(&handover)),
            &InsightsQuery::default(),
            1,
        );
        assert_eq!(insights.rows.len(), 2);
        let m1 = &insights.rows[0];
        assert_eq!((m1.model.as_str(), m1.drafts), ("m1", 7));
        assert_eq!((m1.approved, m1.sent, m1.rejected), (3, 2, 2));
        assert_eq!((m1.open, m1.expired, m1.escalated), (1, 1, 1));
        assert_eq!(m1.approval_rate, Some(3.0 / 6.0));
        assert_eq!(m1.edited, 2);
        assert_eq!(m1.edit_rate, Some(2.0 / 3.0));
        assert_eq!(m1.mean_edit_distance, Some(8.0));
        assert_eq!(m1.mean_time_to_decision_s, Some(32.0));
        let median = m1.median_time_to_decision_s.expect("median");
        assert!((median - 30.0).abs() < 1.5, "{median} is 30 s within 5 %");
        assert_eq!(m1.rejection_reasons, vec![("wrong tone".to_owned(), 2)]);
        assert_eq!(m1.handovers, 1);
        assert_eq!(insights.budget_exhausted_events, 1);
        let m2 = &insights.rows[1];
        assert_eq!((m2.drafts, m2.open, m2.approval_rate), (1, 1, None));

        // Filters: another helpdesk sees nothing; a window excludes older records.
        let other = InsightsQuery {
            helpdesk: Some("other".into()),
            since_s: None,
        };
        assert!(
            compute(&tallies_of(&drafts, &[]), &other, 1)
                .rows
                .is_empty()
        );
        // Windows are whole UTC days: ten days later, two seconds reach back to midnight.
        handover.completed_at_ms = 10 * DAY_MS + 5_000;
        let recent = InsightsQuery {
            helpdesk: None,
            since_s: Some(2),
        };
        let windowed = compute(
            &tallies_of(&drafts, &[handover]),
            &recent,
            10 * DAY_MS + 6_000,
        );
        assert_eq!(windowed.rows.len(), 1);
        assert_eq!(
            (windowed.rows[0].drafts, windowed.rows[0].handovers),
            (0, 1)
        );
    }
}
