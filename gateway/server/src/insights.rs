//! "Track, test, adjust": how the AI's drafts fare with the people who review them, per plugin
//! version and model — drafts created, approval rate, edit rate and mean edit distance,
//! rejection reasons, time to decision, escalations and handovers.
//!
//! `GET /api/v1/insights[?helpdesk=NAME][&since_s=SECONDS]` for reviewers, supervisors and
//! admins; `deskbridge insights` prints the same. Computed from the stored drafts and processed
//! events on each request.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use deskbridge_core::Role;
use deskbridge_core::review::DraftState;
use deskbridge_pipeline::now_ms;
use deskbridge_store::{DraftProvenance, DraftReview, ProcessedEvent};
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
    /// Only drafts and events of the last this many seconds.
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
    /// … median.
    pub median_time_to_decision_s: Option<f64>,
    /// Most frequent rejection reasons (trimmed, lower-cased) with counts, most frequent first.
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

fn key(provenance: &DraftProvenance) -> RowKey {
    (
        provenance.plugin_id.clone(),
        provenance.plugin_version.clone(),
        provenance.provider.clone().unwrap_or_default(),
        provenance.model.clone().unwrap_or_default(),
    )
}

#[derive(Default)]
struct Tally {
    row: InsightsRow,
    edit_distances: Vec<u64>,
    decision_times_ms: Vec<i64>,
    reasons: BTreeMap<String, u64>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn mean(values: impl ExactSizeIterator<Item = f64>) -> Option<f64> {
    let n = values.len();
    (n > 0).then(|| values.sum::<f64>() / n as f64)
}

/// Computes insights from stored drafts and processed events.
pub fn compute(
    drafts: &[DraftReview],
    events: &[ProcessedEvent],
    query: &InsightsQuery,
    now_ms: i64,
) -> Insights {
    let since_ms = query
        .since_s
        .map(|s| now_ms.saturating_sub(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)));
    let in_scope = |helpdesk: &str, at_ms: i64| {
        query.helpdesk.as_deref().is_none_or(|h| h == helpdesk)
            && since_ms.is_none_or(|since| at_ms >= since)
    };
    let mut tallies: BTreeMap<RowKey, Tally> = BTreeMap::new();
    for draft in drafts
        .iter()
        .filter(|d| in_scope(&d.helpdesk, d.created_at_ms))
    {
        let tally = tallies.entry(key(&draft.provenance)).or_default();
        let row = &mut tally.row;
        row.drafts += 1;
        let review = &draft.review;
        match &review.state {
            DraftState::Pending | DraftState::Escalated => row.open += 1,
            DraftState::Approved { .. } => row.approved += 1,
            DraftState::Sent { .. } => {
                row.approved += 1;
                row.sent += 1;
            }
            DraftState::Rejected { reason, .. } => {
                row.rejected += 1;
                *tally
                    .reasons
                    .entry(reason.trim().to_lowercase())
                    .or_default() += 1;
            }
            DraftState::Expired { .. } => row.expired += 1,
            DraftState::Cancelled { .. } => {
                row.approved += 1;
                row.cancelled += 1;
            }
        }
        let approved = matches!(
            review.state,
            DraftState::Approved { .. } | DraftState::Sent { .. } | DraftState::Cancelled { .. }
        );
        if approved && review.edited_text.is_some() {
            row.edited += 1;
            tally
                .edit_distances
                .push(review.edit_distance.unwrap_or_default());
        }
        if review.escalations > 0 {
            row.escalated += 1;
        }
        if let Some(at) = review.decided_at_ms {
            tally
                .decision_times_ms
                .push(at.saturating_sub(draft.created_at_ms));
        }
    }
    let mut budget_exhausted_events = 0;
    for event in events
        .iter()
        .filter(|e| in_scope(&e.helpdesk, e.completed_at_ms))
    {
        if let Some(by) = &event.handover_by {
            tallies.entry(key(by)).or_default().row.handovers += 1;
        }
        if event.ai_flags.iter().any(|f| f == "budget-exhausted") {
            budget_exhausted_events += 1;
        }
    }
    let rows = tallies
        .into_iter()
        .map(|((plugin_id, plugin_version, provider, model), tally)| {
            let Tally {
                mut row,
                edit_distances,
                mut decision_times_ms,
                reasons,
            } = tally;
            row.plugin_id = plugin_id;
            row.plugin_version = plugin_version;
            row.provider = provider;
            row.model = model;
            row.approval_rate = ratio(row.approved, row.approved + row.rejected + row.expired);
            row.edit_rate = ratio(row.edited, row.approved);
            row.mean_edit_distance = mean(edit_distances.iter().map(|&d| d as f64));
            decision_times_ms.sort_unstable();
            row.mean_time_to_decision_s =
                mean(decision_times_ms.iter().map(|&ms| ms as f64 / 1000.0));
            row.median_time_to_decision_s = median_s(&decision_times_ms);
            let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            reasons.truncate(TOP_REASONS);
            row.rejection_reasons = reasons;
            row
        })
        .collect();
    Insights {
        generated_at_ms: now_ms,
        query: query.clone(),
        rows,
        budget_exhausted_events,
    }
}

fn median_s(sorted_ms: &[i64]) -> Option<f64> {
    let n = sorted_ms.len();
    if n == 0 {
        return None;
    }
    let middle = if n % 2 == 1 {
        sorted_ms[n / 2] as f64
    } else {
        (sorted_ms[n / 2 - 1] as f64 + sorted_ms[n / 2] as f64) / 2.0
    };
    Some(middle / 1000.0)
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
        let drafts = store.draft_reviews()?;
        let events = store.processed_events()?;
        Ok::<_, deskbridge_store::StoreError>(compute(&drafts, &events, &query, now_ms()))
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
    use deskbridge_core::review::Review;

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
            &drafts,
            std::slice::from_ref(&handover),
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
        assert_eq!(m1.median_time_to_decision_s, Some(30.0));
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
        assert!(compute(&drafts, &[], &other, 1).rows.is_empty());
        handover.completed_at_ms = 5_000;
        let recent = InsightsQuery {
            helpdesk: None,
            since_s: Some(2),
        };
        let windowed = compute(&drafts, &[handover], &recent, 6_000);
        assert_eq!(windowed.rows.len(), 1);
        assert_eq!(
            (windowed.rows[0].drafts, windowed.rows[0].handovers),
            (0, 1)
        );
    }
}
