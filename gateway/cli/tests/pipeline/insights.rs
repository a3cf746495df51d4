//! Insights through the real binary: two drafts of the same plugin and model, one edited and
//! approved, one rejected, show up in `GET /api/v1/insights` and in `deskbridge insights`.

use std::process::Command;

use serde_json::json;

use crate::harness::*;

#[test]
fn decisions_show_up_in_insights_over_the_api_and_the_cli() {
    let sim = start_sim("zendesk");
    let files = GatewayFiles::new(&zendesk_helpdesk("acme", &sim, ""));
    let agent = files.token("Ann Agent", "agent");
    let reviewer = files.token("Rui Reviewer", "reviewer");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);

    let approved = create_ticket(&sim, "Invoice", "Please send me the invoice for March.");
    let rejected = create_ticket(&sim, "Invoice", "Please send me the invoice for April.");
    let first = first_draft(&gateway, &agent, approved);
    let second = first_draft(&gateway, &agent, rejected);
    let answer = decide(
        &gateway,
        &agent,
        &first,
        json!({"version": 0, "decision": "edit_approve", "text": "Attached, kind regards."}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = decide(
        &gateway,
        &agent,
        &second,
        json!({"version": 0, "decision": "reject", "reason": "Wrong invoice number"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_for(30, "the reply sent", || {
        draft_state(&gateway, &agent, &first) == "sent"
    });

    let refused = api_send(&gateway, &agent, "GET", "/api/v1/insights", &json!(null));
    assert_eq!(refused.status, 403, "agents do not read insights");
    let answer = api_send(
        &gateway,
        &reviewer,
        "GET",
        "/api/v1/insights?helpdesk=acme",
        &json!(null),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let insights = answer.json();
    let row = insights["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["plugin_id"] == "suggest-reply")
        .cloned()
        .expect("a suggest-reply row");
    assert_eq!(row["drafts"], 2, "{row}");
    assert_eq!(row["approved"], 1, "{row}");
    assert_eq!(row["sent"], 1, "{row}");
    assert_eq!(row["rejected"], 1, "{row}");
    assert_eq!(row["approval_rate"], 0.5, "{row}");
    assert_eq!(row["edit_rate"], 1.0, "{row}");
    assert!(row["mean_edit_distance"].as_f64() > Some(0.0), "{row}");
    assert!(row["median_time_to_decision_s"].is_number(), "{row}");
    assert_eq!(
        row["rejection_reasons"],
        json!([["wrong invoice number", 1]])
    );

    let cli = |token: &str| {
        Command::new(env!("CARGO_BIN_EXE_deskbridge"))
            .args(["insights", "--gateway"])
            .arg(format!("http://{}", gateway.address))
            .env("DESKBRIDGE_TOKEN", token)
            .output()
            .expect("deskbridge insights")
    };
    let output = cli(&reviewer);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("suggest-reply"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains("50 %") && row.contains("100 %"), "{stdout}");
    assert!(
        stdout.contains("rejected because: \"wrong invoice number\" ×1"),
        "{stdout}"
    );
    let output = cli(&agent);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("403"), "{stderr}");
}
