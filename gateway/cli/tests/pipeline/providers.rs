//! Real AI providers end to end, through the real binary and the simulators: a signed
//! webhook becomes a draft written by the simulated OpenAI provider — which never saw the
//! customer's e-mail, phone number, IP address or the values the operator's pattern names —
//! approved and delivered with the originals back; a route falling back to
//! Anthropic when OpenAI is overloaded, the draft naming who answered; a spent budget leaving
//! the ticket to a person, its counter surviving a restart; a route outside a plugin's
//! manifest refused before the gateway starts.

use serde_json::{Value, json};

use crate::harness::*;

fn provider_table(name: &str, kind: &str, sim: &Process, models: &[&str], extra: &str) -> String {
    let models: Vec<String> = models.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "[providers.{name}]\nkind = \"{kind}\"\nbase_url = \"http://{}\"\napi_key = \"{AI_KEY}\"\nmodels = [{}]\n{extra}\n",
        sim.address,
        models.join(", ")
    )
}

fn bodies(sim: &Process) -> String {
    ai_requests(sim)
        .iter()
        .map(|r| r["body"].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

const CUSTOMER: &str = "Hi, I'm Ada (ada@example.org, +44 20 7946 0958). Where is my order \
     AB-123456? I last logged in from 203.0.113.7.";

#[test]
fn a_signed_webhook_becomes_a_draft_by_the_openai_provider_approved_and_delivered() {
    let sim = start_sim("zendesk");
    let openai = start_ai_sim("openai", &["gpt-4o-mini"]);
    // The model's answer refers to the customer by placeholder: the agent sees the address.
    let answer = post_json(
        &openai.address,
        "POST",
        "/_sim/answers",
        &json!({"text": "Hello Ada,\n\nYour order [ORDER_1] left our warehouse today; we will write to [EMAIL_1] when it is delivered.\n\nCONFIDENCE: 0.9\nRATIONALE: order status question"}),
    );
    assert!(answer.status < 300, "{}", answer.body);
    let files = GatewayFiles::new(&format!(
        "{}\n{}\n[ai.routes]\nsuggest-reply = [\"openai-main\", \"local\"]\n\n[redaction]\npatterns = [{{ name = \"order\", regex = \"AB-[0-9]{{6}}\" }}]\n",
        zendesk_helpdesk("acme", &sim, ""),
        provider_table("openai-main", "openai", &openai, &["gpt-4o-mini"], "")
    ));
    let agent = files.token("Ann Agent", "agent");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let ticket = create_ticket(&sim, "Order", CUSTOMER);
    let draft = first_draft(&gateway, &agent, ticket);
    let view = draft_detail(&gateway, &agent, &draft);
    assert_eq!(view["provenance"]["provider"], "openai-main", "{view}");
    assert_eq!(view["provenance"]["model"], "gpt-4o-mini", "{view}");
    let text = view["text"].as_str().expect("text");
    assert!(text.contains("we will write to ada@example.org"), "{text}");
    assert!(text.contains("Your order AB-123456 left"), "{text}");

    // What left the gateway: placeholders, never the e-mail or the phone number.
    let sent = bodies(&openai);
    assert!(!sent.is_empty(), "the provider was asked");
    for secret in ["ada@example.org", "7946 0958", "7946"] {
        assert!(
            !sent.contains(secret),
            "{secret} reached the provider: {sent}"
        );
    }
    assert!(
        sent.contains("[EMAIL_1]") && sent.contains("[PHONE_1]"),
        "{sent}"
    );

    let decided = approve(&gateway, &agent, &draft, 0);
    assert_eq!(decided.status, 200, "{}", decided.body);
    wait_for(30, "the approved reply on the ticket", || {
        public_comments(&sim, ticket).len() == 2
    });
    assert!(public_comments(&sim, ticket)[1].contains("ada@example.org"));
    let created = audit_entries_of(&files, "draft.created");
    assert!(
        created
            .iter()
            .any(|e| e["data"]["provider"] == "openai-main"),
        "{created:?}"
    );
}

#[test]
fn when_openai_is_overloaded_anthropic_answers_and_the_draft_says_so() {
    let sim = start_sim("zendesk");
    let openai = start_ai_sim("openai", &["gpt-4o-mini"]);
    let claude = start_ai_sim("anthropic", &["claude-sonnet-4-5"]);
    let overloaded = post_json(
        &openai.address,
        "POST",
        "/_sim/faults",
        &json!({"kind": "status", "status": 503, "times": 100}),
    );
    assert!(overloaded.status < 300, "{}", overloaded.body);
    let files = GatewayFiles::new(&format!(
        "{}\n{}\n{}\n[ai.routes]\nsuggest-reply = [\"openai-main\", \"claude\"]\n",
        zendesk_helpdesk("acme", &sim, ""),
        provider_table(
            "openai-main",
            "openai",
            &openai,
            &["gpt-4o-mini"],
            "max_retries = 0"
        ),
        provider_table("claude", "anthropic", &claude, &["claude-sonnet-4-5"], "")
    ));
    let agent = files.token("Ann Agent", "agent");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let ticket = create_ticket(&sim, "Order", "Where is my order 12345?");
    let draft = first_draft(&gateway, &agent, ticket);
    let view = draft_detail(&gateway, &agent, &draft);
    assert_eq!(view["provenance"]["provider"], "claude", "{view}");
    assert_eq!(view["provenance"]["model"], "claude-sonnet-4-5", "{view}");
    assert!(!ai_requests(&openai).is_empty(), "OpenAI was tried first");
    let status = status(&gateway);
    let providers = status["providers"].as_array().expect("providers");
    let main = providers
        .iter()
        .find(|p| p["name"] == "openai-main")
        .expect("listed");
    assert!(main["failures"].as_u64() >= Some(1), "{main}");
    assert!(
        main["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("overloaded")),
        "{main}"
    );
}

fn budget_config(sim: &Process, openai: &Process, daily_tokens: u64) -> String {
    format!(
        "{}\n{}\n[ai.routes]\nsuggest-reply = [\"openai-main\"]\n\n[ai.budgets]\nsuggest-reply = {{ daily_tokens = {daily_tokens} }}\n",
        zendesk_helpdesk("acme", sim, ""),
        provider_table("openai-main", "openai", openai, &["gpt-4o-mini"], "")
    )
}

fn suggest_reply_budget(gateway: &Process) -> Value {
    status(gateway)["budgets"]
        .as_array()
        .expect("budgets")
        .iter()
        .find(|b| {
            b["scope"] == "plugin:suggest-reply"
                && b["period"].as_str().is_some_and(|p| p.starts_with("day:"))
        })
        .cloned()
        .expect("the plugin's daily budget")
}

#[test]
fn a_spent_budget_leaves_the_ticket_to_a_person_and_survives_a_restart() {
    let sim = start_sim("zendesk");
    let openai = start_ai_sim("openai", &["gpt-4o-mini"]);
    let files = GatewayFiles::new(&budget_config(&sim, &openai, 100_000));
    let agent = files.token("Ann Agent", "agent");
    let mut gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let first = create_ticket(&sim, "Order", "Where is my order 12345?");
    first_draft(&gateway, &agent, first);
    wait_idle(&gateway, 30);
    let used = suggest_reply_budget(&gateway)["tokens"]
        .as_u64()
        .expect("tokens");
    assert!(used > 0, "the call was counted");
    assert_eq!(ai_requests(&openai).len(), 1);
    gateway.stop();

    // Today's limit is what is already used: no further call fits.
    let config = std::fs::read_to_string(files.config()).expect("config");
    std::fs::write(
        files.config(),
        config.replace("daily_tokens = 100000", &format!("daily_tokens = {used}")),
    )
    .expect("config");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let budget = suggest_reply_budget(&gateway);
    assert_eq!(
        budget["tokens"].as_u64(),
        Some(used),
        "the counter survived"
    );
    assert_eq!(budget["exhausted"], true, "{budget}");
    let second = create_ticket(&sim, "Refund", "I want a refund for order 777.");
    wait_for(30, "the second event processed", || {
        internal_notes(&sim, second)
            .iter()
            .any(|n| n.contains("AI summary"))
    });
    wait_idle(&gateway, 30);
    assert!(
        open_drafts(&gateway, &agent, second).is_empty(),
        "no draft past the budget"
    );
    assert_eq!(
        ai_requests(&openai).len(),
        1,
        "no call is made that the budget did not let through"
    );
    let insights = api_get(&gateway, "/api/v1/insights");
    assert_eq!(insights["budget_exhausted_events"], 1, "{insights}");
}

#[test]
fn a_route_outside_a_plugins_manifest_is_refused_before_the_gateway_starts() {
    let openai = start_ai_sim("openai", &["gpt-4o-mini"]);
    let files = GatewayFiles::new(&format!(
        "[plugins]\nbundled = []\ndir = \"plugins\"\n\n{}\n[ai.routes]\nimport-abuser = [\"openai-main\", \"local\"]\n",
        provider_table("openai-main", "openai", &openai, &["gpt-4o-mini"], "")
    ));
    // A plugin whose manifest keeps its prompts on the machine: providers = ["local"].
    let folder = files.dir.path().join("plugins").join("import-abuser");
    std::fs::create_dir_all(&folder).expect("dir");
    let guest = deskbridge_tests::guests::IMPORT_ABUSER;
    std::fs::write(folder.join("plugin.wasm"), guest.wasm_bytes()).expect("wasm");
    let manifest = guest.manifest_text();
    assert!(manifest.contains("providers = [\"local\"]"), "{manifest}");
    std::fs::write(folder.join("plugin.toml"), manifest).expect("manifest");

    let check = deskbridge()
        .args(["config", "check"])
        .arg(files.config())
        .output()
        .expect("config check");
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success(), "{stderr}");
    for words in [
        "ai.routes.import-abuser",
        "`openai-main`",
        "allows only [local]",
    ] {
        assert!(stderr.contains(words), "{words}: {stderr}");
    }
    let serve = deskbridge()
        .arg("serve")
        .arg("--config")
        .arg(files.config())
        .output()
        .expect("serve");
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(!serve.status.success(), "{stderr}");
    assert!(stderr.contains("allows only [local]"), "{stderr}");
    assert!(ai_requests(&openai).is_empty());
}
