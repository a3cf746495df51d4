//! `deskbridge insights`: asks a running gateway for `GET /api/v1/insights` and prints it as a
//! table (or as the JSON the API returned). The token needs the reviewer, supervisor or admin
//! role; it comes from `--token` or `DESKBRIDGE_TOKEN`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use deskbridge_server::insights::{Insights, InsightsRow};

/// Arguments of `deskbridge insights`.
#[derive(Debug, clap::Args)]
pub(crate) struct InsightsArgs {
    /// The gateway's base URL (default: from `--config`'s `listen`, else http://127.0.0.1:8080).
    #[arg(long)]
    gateway: Option<String>,
    /// A deskbridge.toml to take the gateway's address from.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// An API token with the reviewer, supervisor or admin role.
    #[arg(long, env = "DESKBRIDGE_TOKEN", hide_env_values = true)]
    token: String,
    /// Only this helpdesk.
    #[arg(long)]
    helpdesk: Option<String>,
    /// Only the last this many days.
    #[arg(long)]
    since_days: Option<u64>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn base_url(args: &InsightsArgs) -> anyhow::Result<String> {
    if let Some(url) = &args.gateway {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let listen = match &args.config {
        Some(path) => deskbridge_config::Config::load(path)?.listen,
        None => deskbridge_config::Config::default().listen,
    };
    Ok(format!("http://{listen}"))
}

pub(crate) fn run(args: InsightsArgs) -> anyhow::Result<ExitCode> {
    let url = format!("{}/api/v1/insights", base_url(&args)?);
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(helpdesk) = &args.helpdesk {
        query.push(("helpdesk", helpdesk.clone()));
    }
    if let Some(days) = args.since_days {
        query.push(("since_s", days.saturating_mul(86_400).to_string()));
    }
    deskbridge_connectors::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, body) = runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(&url)
            .query(&query)
            .bearer_auth(&args.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let body = response.text().await?;
        anyhow::Ok((status, body))
    })?;
    if !status.is_success() {
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or(body);
        bail!("{url} answered {status}: {detail}");
    }
    if args.json {
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    let insights: Insights =
        serde_json::from_str(&body).with_context(|| format!("{url} sent unexpected JSON"))?;
    print!("{}", table(&insights));
    Ok(ExitCode::SUCCESS)
}

fn percent(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{:.0} %", v * 100.0))
}

fn number(value: Option<f64>, unit: &str) -> String {
    value.map_or("–".into(), |v| format!("{v:.1}{unit}"))
}

fn model(row: &InsightsRow) -> String {
    match (row.provider.as_str(), row.model.as_str()) {
        ("", "") => "(no AI call)".into(),
        (provider, model) => format!("{provider}/{model}"),
    }
}

/// The insights as a plain-text table, one row per plugin version and model, with rejection
/// reasons below each row that has any.
pub(crate) fn table(insights: &Insights) -> String {
    let mut out = String::new();
    if insights.budget_exhausted_events > 0 {
        let _ = writeln!(
            out,
            "A spent AI budget stopped calls on {} event(s): see the budgets in /api/v1/status.\n",
            insights.budget_exhausted_events
        );
    }
    if insights.rows.is_empty() {
        out.push_str("No drafts or handovers recorded yet.\n");
        return out;
    }
    let header = [
        "plugin",
        "version",
        "model",
        "drafts",
        "open",
        "approved",
        "sent",
        "rejected",
        "expired",
        "approval",
        "edited",
        "edit dist",
        "escalated",
        "handovers",
        "decision",
    ];
    let rows: Vec<[String; 15]> = insights
        .rows
        .iter()
        .map(|r| {
            [
                r.plugin_id.clone(),
                r.plugin_version.clone(),
                model(r),
                r.drafts.to_string(),
                r.open.to_string(),
                r.approved.to_string(),
                r.sent.to_string(),
                r.rejected.to_string(),
                r.expired.to_string(),
                percent(r.approval_rate),
                percent(r.edit_rate),
                number(r.mean_edit_distance, ""),
                r.escalated.to_string(),
                r.handovers.to_string(),
                number(r.median_time_to_decision_s, " s"),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            // Names left-aligned, figures right-aligned.
            if i < 3 {
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(text, "{}{cell}  ", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied(), &mut out);
    for (row, cells) in insights.rows.iter().zip(&rows) {
        line(&mut cells.iter().map(String::as_str), &mut out);
        if !row.rejection_reasons.is_empty() {
            let reasons: Vec<String> = row
                .rejection_reasons
                .iter()
                .map(|(reason, n)| format!("{reason:?} ×{n}"))
                .collect();
            let _ = writeln!(out, "    rejected because: {}", reasons.join(", "));
        }
    }
    out.push_str(
        "\napproval = approved ÷ (approved + rejected + expired); edited = share of approved \
         drafts a person changed; edit dist = mean characters changed; decision = median time \
         from draft to approval or rejection.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_figures_and_lists_reasons() {
        let insights = Insights {
            generated_at_ms: 0,
            query: Default::default(),
            rows: vec![InsightsRow {
                plugin_id: "suggest-reply".into(),
                plugin_version: "0.1.0".into(),
                provider: "local".into(),
                model: "local-echo".into(),
                drafts: 12,
                approved: 8,
                rejected: 2,
                approval_rate: Some(0.8),
                edit_rate: Some(0.25),
                mean_edit_distance: Some(14.25),
                median_time_to_decision_s: Some(42.0),
                rejection_reasons: vec![("wrong tone".into(), 2)],
                ..InsightsRow::default()
            }],
            budget_exhausted_events: 0,
        };
        let text = table(&insights);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("plugin"), "{text}");
        assert!(lines[1].starts_with("suggest-reply"), "{text}");
        assert!(lines[1].contains("local/local-echo"), "{text}");
        assert!(
            lines[1].contains("80 %") && lines[1].contains("25 %"),
            "{text}"
        );
        assert!(
            lines[1].contains("14.2") && lines[1].ends_with("42.0 s"),
            "{text}"
        );
        assert_eq!(lines[2], "    rejected because: \"wrong tone\" ×2");
        assert_eq!(
            table(&Insights::default()),
            "No drafts or handovers recorded yet.\n"
        );
        let stopped = Insights {
            budget_exhausted_events: 3,
            ..Insights::default()
        };
        assert!(table(&stopped).starts_with("A spent AI budget stopped calls on 3 event(s)"));
    }
}
