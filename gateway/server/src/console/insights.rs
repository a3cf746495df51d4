//! `GET /console/insights` for reviewers, supervisors and admins: first the findings (the
//! rules of `crate::findings`, each with its evidence and one action — pause the plugin, for
//! admins, or open the drafts in the queue), then per plugin version × model the figures of
//! `GET /api/v1/insights`, and two charts drawn on the server as SVG (no script): the rates
//! per plugin version and model, and decisions, escalations and handovers per day over the
//! last two weeks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbridge_core::Role;
use deskbridge_pipeline::now_ms;
use deskbridge_store::tally::{DAY_MS, Tally, TallyBasis, TallyKey};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::layout::{NO_FRAMES, Section, html_response, page as frame, page_error};
use super::session::Session;
use super::signed_in_as;
use crate::AppState;
use crate::api_error::ApiError;
use crate::findings::{Action, Finding, findings};
use crate::insights::{Insights, InsightsQuery, compute};

const READERS: &[Role] = &[Role::Reviewer, Role::Supervisor, Role::Admin];

/// Days the daily chart covers.
const DAYS: i64 = 14;

/// The page's filter.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InsightsForm {
    helpdesk: Option<String>,
    since_s: Option<String>,
}

/// `GET /console/insights`.
pub(crate) async fn page(
    request: HttpRequest,
    state: web::Data<AppState>,
    form: web::Query<InsightsForm>,
) -> HttpResponse {
    let (session, _) = match signed_in_as(&request, &state, READERS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(store) = state.store.clone() else {
        return page_error(Some(&session), &ApiError::NoStore);
    };
    let since_s = match form.since_s.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(s) => Some(s),
            Err(_) => {
                let error =
                    ApiError::bad_request(format!("since_s: {text:?} is not a number of seconds"));
                return page_error(Some(&session), &error);
            }
        },
    };
    let query = InsightsQuery {
        helpdesk: form.helpdesk.clone().filter(|h| !h.is_empty()),
        since_s,
    };
    let now = now_ms();
    let loaded = web::block(move || {
        let tallies = store.tallies()?;
        let insights = compute(&tallies, &query, now);
        let scoped: Vec<(TallyKey, Tally)> = tallies
            .into_iter()
            .filter(|(key, _)| query.helpdesk.as_deref().is_none_or(|h| h == key.helpdesk))
            .collect();
        let found = findings(&scoped, now);
        let daily = daily(&scoped, now);
        Ok::<_, deskbridge_store::StoreError>((insights, found, daily))
    })
    .await;
    let (insights, found, daily) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => {
            return page_error(
                Some(&session),
                &ApiError::internal("reading drafts for insights", e),
            );
        }
        Err(e) => return page_error(Some(&session), &ApiError::internal("computing insights", e)),
    };
    let helpdesks: Vec<&String> = state
        .webhooks
        .as_ref()
        .map(|w| w.endpoints.keys().collect())
        .unwrap_or_default();
    let body = html! {
        h1 { "Insights" }
        form.filters method="get" action="/console/insights" aria-label="Scope" {
            label { "Helpdesk "
                select name="helpdesk" {
                    option value="" { "all" }
                    @for h in &helpdesks { option value=(h) selected[form.helpdesk.as_deref() == Some(h.as_str())] { (h) } }
                }
            }
            label { "Period "
                select name="since_s" {
                    @for (value, label) in [("", "everything"), ("86400", "last day"), ("604800", "last 7 days"), ("2592000", "last 30 days")] {
                        option value=(value) selected[form.since_s.as_deref().unwrap_or("") == value] { (label) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
        (findings_section(&session, &found))
        (rows_section(&insights))
        section aria-labelledby="daily-h" {
            h2 id="daily-h" { "Decisions, escalations and handovers per day (last 14 days, UTC)" }
            (daily_chart(&daily))
        }
    };
    html_response(
        StatusCode::OK,
        frame("Insights", Some(&session), Section::Insights, body),
        NO_FRAMES,
    )
}

fn findings_section(session: &Session, found: &[Finding]) -> Markup {
    let admin = session.caller.roles.contains(&Role::Admin);
    let decider = session
        .caller
        .roles
        .iter()
        .any(|r| crate::drafts::DECIDERS.contains(r));
    html! {
        section.findings aria-labelledby="findings-h" {
            h2 id="findings-h" { "Findings" }
            @if found.is_empty() {
                p { "Nothing needs attention: no jump in rejections, no long waits, no heavy rewriting this week." }
            }
            ul { @for finding in found {
                li.finding {
                    p.headline { strong { (finding.headline) } }
                    p.evidence { (finding.evidence) }
                    @match &finding.action {
                        Action::Pause { scope } => {
                            @if admin {
                                form.inline method="post" action="/console/admin/pause" {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    input type="hidden" name="scope" value=(scope);
                                    input type="hidden" name="reason" value=(format!("Insights: {}", finding.headline));
                                    button.reject type="submit" { (finding.action_label) }
                                }
                            } @else {
                                p.hint { (finding.action_label) " — an admin can do this from the stop switch." }
                            }
                        }
                        Action::Queue { query } => {
                            @if decider {
                                a href=(format!("/console/queue?{query}")) { (finding.action_label) }
                            } @else {
                                p.hint { (finding.action_label) " — in the agents' queue." }
                            }
                        }
                    }
                }
            } }
            p.hint { "Rules: rejections at least 40 % and double the week before, mean wait of 4 hours or more, at least half of approved drafts edited; each needs 20 decisions in the last 7 days." }
        }
    }
}

fn rate(value: Option<f64>) -> String {
    value.map_or("—".into(), |v| format!("{:.0} %", v * 100.0))
}

fn rows_section(insights: &Insights) -> Markup {
    html! {
        section aria-labelledby="rows-h" {
            h2 id="rows-h" { "Per plugin version and model" }
            @if insights.rows.is_empty() { p { "No drafts yet." } } @else {
                (rates_chart(insights))
                table.insights {
                    thead { tr {
                        th scope="col" { "Plugin" } th scope="col" { "Model" } th scope="col" { "Drafts" }
                        th scope="col" { "Open" } th scope="col" { "Approved" } th scope="col" { "Edited" }
                        th scope="col" { "Mean edit" } th scope="col" { "Rejected" } th scope="col" { "Escalated" }
                        th scope="col" { "Handovers" } th scope="col" { "Median time to decision" } th scope="col" { "Top rejection reasons" }
                    } }
                    tbody { @for row in &insights.rows {
                        tr {
                            td { (row.plugin_id) " " (row.plugin_version) }
                            td { (if row.model.is_empty() { "—" } else { &row.model }) @if !row.provider.is_empty() { " (" (row.provider) ")" } }
                            td { (row.drafts) }
                            td { (row.open) }
                            td { (row.approved) " (" (rate(row.approval_rate)) ")" }
                            td { (row.edited) " (" (rate(row.edit_rate)) ")" }
                            td { (row.mean_edit_distance.map_or("—".into(), |d| format!("{d:.0} chars"))) }
                            td { (row.rejected) }
                            td { (row.escalated) }
                            td { (row.handovers) }
                            td { (row.median_time_to_decision_s.map_or("—".into(), |s| super::layout::age(s as i64))) }
                            td { (row.rejection_reasons.iter().take(3).map(|(r, n)| format!("{r} ({n})")).collect::<Vec<_>>().join("; ")) }
                        }
                    } }
                }
            }
        }
    }
}

/// Escapes text for an SVG text node or attribute.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars: approval, edit and rejection rate per plugin version and model.
fn rates_chart(insights: &Insights) -> Markup {
    const ROW_H: usize = 56;
    const LEFT: usize = 260;
    const WIDTH: usize = 760;
    let bar_w = (WIDTH - LEFT - 20) as f64;
    let height = insights.rows.len() * ROW_H + 30;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>Approval, edit and rejection rate per plugin version and model</title>"##
    );
    for (i, row) in insights.rows.iter().enumerate() {
        let y = i * ROW_H + 10;
        let closed = (row.approved + row.rejected + row.expired).max(1) as f64;
        let label = format!(
            "{} {} · {}",
            row.plugin_id,
            row.plugin_version,
            if row.model.is_empty() {
                "no model"
            } else {
                &row.model
            }
        );
        let _ = write!(
            svg,
            r##"<text x="0" y="{}" font-size="13" fill="#1b1f24">{}</text>"##,
            y + 14,
            esc(&label)
        );
        for (j, (name, value, color)) in [
            ("approved", row.approval_rate.unwrap_or(0.0), "#116329"),
            ("edited", row.edit_rate.unwrap_or(0.0), "#0b5cad"),
            ("rejected", row.rejected as f64 / closed, "#a40e26"),
        ]
        .into_iter()
        .enumerate()
        {
            let by = y + j * 14;
            let w = (value.clamp(0.0, 1.0) * bar_w).round();
            let _ = write!(
                svg,
                r##"<rect x="{LEFT}" y="{by}" width="{w}" height="11" fill="{color}"><title>{name}: {:.0} %</title></rect><text x="{}" y="{}" font-size="11" fill="#57606a">{name} {:.0} %</text>"##,
                value * 100.0,
                LEFT as f64 + w + 6.0,
                by + 10,
                value * 100.0
            );
        }
    }
    svg.push_str("</svg>");
    html! { figure { (PreEscaped(svg)) } }
}

/// One day's counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Day {
    approved: u64,
    rejected: u64,
    escalated: u64,
    handovers: u64,
}

/// Counts per UTC day for the last [`DAYS`] days, oldest first: decisions and escalations by
/// the day of the decision, handovers by the day of their event.
fn daily(tallies: &[(TallyKey, Tally)], now: i64) -> Vec<(i64, Day)> {
    let today = now.div_euclid(DAY_MS);
    let first = today - DAYS + 1;
    let mut days: BTreeMap<i64, Day> = (first..=today).map(|d| (d, Day::default())).collect();
    for (key, tally) in tallies {
        let Some(day) = days.get_mut(&key.day) else {
            continue;
        };
        match key.basis {
            TallyBasis::Decided => {
                day.approved += tally.approved;
                day.rejected += tally.rejected;
                day.escalated += tally.escalated;
            }
            TallyBasis::Created => day.handovers += tally.handovers,
        }
    }
    days.into_iter().collect()
}

/// Grouped columns per day: approved, rejected, escalated, handovers.
fn daily_chart(days: &[(i64, Day)]) -> Markup {
    const WIDTH: usize = 760;
    const HEIGHT: usize = 220;
    const BASE: usize = 180;
    let max = days
        .iter()
        .map(|(_, d)| d.approved.max(d.rejected).max(d.escalated).max(d.handovers))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (WIDTH - 40) as f64 / days.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>Decisions, escalations and handovers per day</title><line x1="30" y1="{BASE}" x2="{WIDTH}" y2="{BASE}" stroke="#d0d7de"/><text x="0" y="20" font-size="11" fill="#57606a">{max}</text>"##
    );
    for (i, (day, counts)) in days.iter().enumerate() {
        let x0 = 34.0 + i as f64 * slot;
        for (j, (name, value, color)) in [
            ("approved", counts.approved, "#116329"),
            ("rejected", counts.rejected, "#a40e26"),
            ("escalated", counts.escalated, "#bf8700"),
            ("handovers", counts.handovers, "#0b5cad"),
        ]
        .into_iter()
        .enumerate()
        {
            let h = (value as f64 / max * (BASE as f64 - 30.0)).round();
            let w = (slot / 5.0).floor();
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="{w}" height="{h}" fill="{color}"><title>{}: {value} {name}</title></rect>"##,
                x0 + j as f64 * w,
                BASE as f64 - h,
                super::layout::utc(day * DAY_MS)
                    .get(..10)
                    .unwrap_or_default(),
            );
        }
        if i % 2 == 0 {
            let date = super::layout::utc(day * DAY_MS);
            let _ = write!(
                svg,
                r##"<text x="{x0:.1}" y="{}" font-size="10" fill="#57606a">{}</text>"##,
                BASE + 16,
                date.get(5..10).unwrap_or_default()
            );
        }
    }
    for (k, (name, color)) in [
        ("approved", "#116329"),
        ("rejected", "#a40e26"),
        ("escalated", "#bf8700"),
        ("handovers", "#0b5cad"),
    ]
    .into_iter()
    .enumerate()
    {
        let x = 40 + k * 120;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11" fill="#1b1f24">{name}</text>"##,
            HEIGHT - 12,
            x + 14,
            HEIGHT - 3
        );
    }
    svg.push_str("</svg>");
    html! { figure { (PreEscaped(svg)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_labels_are_escaped_and_days_counted() {
        assert_eq!(esc("<script>&\""), "&lt;script&gt;&amp;&quot;");
        let now: i64 = 1_800_000_000_000;
        let today = now.div_euclid(DAY_MS);
        let row = |basis, day, tally| {
            let key = TallyKey {
                basis,
                day,
                helpdesk: "acme".into(),
                plugin_id: "p".into(),
                plugin_version: "1".into(),
                provider: String::new(),
                model: String::new(),
            };
            (key, tally)
        };
        let decided = Tally {
            approved: 3,
            rejected: 1,
            escalated: 2,
            handovers: 9, // not on a decision row
            ..Tally::default()
        };
        let created = Tally {
            approved: 5, // counted on its decision row instead
            handovers: 4,
            ..Tally::default()
        };
        let days = daily(
            &[
                row(TallyBasis::Decided, today, decided.clone()),
                row(TallyBasis::Created, today - 1, created),
                row(TallyBasis::Decided, today - 14, decided),
            ],
            now,
        );
        assert_eq!(days.len(), 14);
        assert_eq!(days.last().map(|(d, _)| *d), Some(today));
        let count = |day: i64| days.iter().find(|(d, _)| *d == day).map(|(_, c)| *c);
        let expected = |approved, rejected, escalated, handovers| Day {
            approved,
            rejected,
            escalated,
            handovers,
        };
        assert_eq!(count(today), Some(expected(3, 1, 2, 0)));
        assert_eq!(count(today - 1), Some(expected(0, 0, 0, 4)));
        assert_eq!(count(today - 14), None, "outside the chart");
        let chart = daily_chart(&days).into_string();
        assert!(chart.starts_with("<figure><svg"), "{chart}");
        assert!(!chart.contains("<script"), "{chart}");
    }
}
