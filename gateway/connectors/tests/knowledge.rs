//! The knowledge listings against the Zendesk and Freshdesk simulators: every page followed,
//! drafts and unpublished items left out, HTML turned into text, changes and deletions seen
//! by the next listing, wrong credentials reported as such.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_connectors::{
    ApiError, FreshdeskClient, FreshdeskSettings, HelpdeskClient, RateGate, ZendeskAuth,
    ZendeskClient, ZendeskSettings,
};
use deskbridge_core::{KnowledgeDoc, KnowledgeKind};
use deskbridge_simulators::{SimOptions, Vendor};
use serde_json::{Value, json};

const TOKEN: &str = "sim-token-0123456789";

fn start(vendor: Vendor) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let options = SimOptions {
        vendor,
        email: "agent@example.com".into(),
        token: TOKEN.into(),
        rate_limit_per_minute: 100_000,
    };
    std::thread::spawn(move || deskbridge_simulators::run(vendor, listener, options));
    url
}

async fn control(url: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    deskbridge_connectors::install_tls_provider();
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{url}/_sim/{path}"));
    if !body.is_null() {
        request = request.json(&body);
    }
    for _ in 0..100 {
        let Ok(response) = request.try_clone().expect("clonable").send().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        return response.json().await.unwrap_or(Value::Null);
    }
    panic!("simulator at {url} did not answer")
}

async fn add(url: &str, item: Value) -> u64 {
    control(url, reqwest::Method::POST, "knowledge", item).await["id"]
        .as_u64()
        .expect("id")
}

async fn requests_to(url: &str, path: &str) -> usize {
    control(url, reqwest::Method::GET, "requests", Value::Null)
        .await
        .as_array()
        .expect("list")
        .iter()
        .filter(|r| r["path"] == path)
        .count()
}

fn zendesk(url: &str, token: &str) -> ZendeskClient {
    ZendeskClient::new(
        ZendeskSettings {
            helpdesk: "acme".into(),
            base_url: url.into(),
            auth: ZendeskAuth::ApiToken {
                email: "agent@example.com".into(),
                token: token.into(),
            },
            timeout: Duration::from_secs(10),
        },
        Arc::new(RateGate::new(100_000)),
    )
    .expect("client")
}

fn freshdesk(url: &str) -> FreshdeskClient {
    FreshdeskClient::new(
        FreshdeskSettings {
            helpdesk: "globex".into(),
            base_url: url.into(),
            api_key: TOKEN.into(),
            timeout: Duration::from_secs(10),
        },
        Arc::new(RateGate::new(100_000)),
    )
    .expect("client")
}

fn by_id<'a>(docs: &'a [KnowledgeDoc], id: &str) -> &'a KnowledgeDoc {
    docs.iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

#[tokio::test]
async fn zendesk_macros_and_published_articles_over_every_page() {
    let url = start(Vendor::Zendesk);
    let refund = add(
        &url,
        json!({"kind": "macro", "title": "Refund approved", "body": "Hi {{ticket.requester.first_name}}, your refund is on its way."}),
    )
    .await;
    let mut first_article = 0;
    for i in 0..120 {
        let id = add(
            &url,
            json!({"kind": "article", "title": format!("Article {i}"), "body": format!("<p>Body {i}</p><script>steal()</script>"), "locale": "en-us"}),
        )
        .await;
        if i == 0 {
            first_article = id;
        }
    }
    let draft = add(
        &url,
        json!({"kind": "article", "title": "Unreleased", "body": "<p>secret</p>", "draft": true}),
    )
    .await;
    let internal = add(
        &url,
        json!({"kind": "article", "title": "Agents only: fraud checks", "body": "<p>internal</p>", "restricted": true}),
    )
    .await;
    let client = zendesk(&url, TOKEN);
    let docs = HelpdeskClient::knowledge(&client).await.expect("listing");
    assert_eq!(docs.len(), 121, "one macro and 120 published articles");
    assert_eq!(
        requests_to(&url, "/api/v2/help_center/articles").await,
        2,
        "both pages read"
    );
    let m = by_id(&docs, &format!("zendesk:macro:{refund}"));
    assert_eq!(m.kind, KnowledgeKind::Macro);
    assert_eq!(
        m.body,
        "Hi {{ticket.requester.first_name}}, your refund is on its way."
    );
    let a = by_id(&docs, &format!("zendesk:article:{first_article}"));
    assert_eq!(a.body, "Body 0", "HTML made text, script dropped");
    assert_eq!(
        a.url.as_deref(),
        Some(format!("https://example.zendesk.com/hc/en-us/articles/{first_article}").as_str())
    );
    assert_eq!(a.locale.as_deref(), Some("en-us"));
    assert!(!docs.iter().any(|d| d.id.ends_with(&format!(":{draft}"))));
    assert!(
        !docs.iter().any(|d| d.id.ends_with(&format!(":{internal}"))),
        "an agents-only article never reaches a customer's draft"
    );

    // A changed article comes back changed, a deleted macro is gone.
    control(
        &url,
        reqwest::Method::PUT,
        &format!("knowledge/{first_article}"),
        json!({"body": "<p>Body zero, revised</p>"}),
    )
    .await;
    control(
        &url,
        reqwest::Method::DELETE,
        &format!("knowledge/{refund}"),
        Value::Null,
    )
    .await;
    let docs = client.knowledge().await.expect("listing");
    assert_eq!(docs.len(), 120);
    assert_eq!(
        by_id(&docs, &format!("zendesk:article:{first_article}")).body,
        "Body zero, revised"
    );

    // Without Help Center (Guide not enabled: 404) the macros are still listed; any other
    // failure fails the listing (the index then keeps what it has).
    control(
        &url,
        reqwest::Method::POST,
        "faults",
        json!({"path_prefix": "/api/v2/help_center", "kind": "status", "status": 404}),
    )
    .await;
    add(
        &url,
        json!({"kind": "macro", "title": "Thanks", "body": "Thank you for your patience."}),
    )
    .await;
    let macros_only = client.knowledge().await.expect("listing without Guide");
    assert_eq!(macros_only.len(), 1, "{macros_only:?}");
    assert_eq!(macros_only[0].kind, KnowledgeKind::Macro);
    control(
        &url,
        reqwest::Method::POST,
        "faults",
        json!({"path_prefix": "/api/v2/help_center", "kind": "status", "status": 500}),
    )
    .await;
    assert!(client.knowledge().await.is_err(), "a 500 fails the listing");

    let refused = zendesk(&url, "wrong-token")
        .knowledge()
        .await
        .expect_err("401");
    assert!(
        matches!(
            refused,
            ApiError::Permanent {
                status: Some(401),
                ..
            }
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn freshdesk_canned_responses_and_published_solution_articles_over_every_page() {
    let url = start(Vendor::Freshdesk);
    for (folder, title) in [
        ("Billing", "Invoice copy"),
        ("Shipping", "Where is my parcel"),
    ] {
        add(
            &url,
            json!({"kind": "canned_response", "title": title, "body": format!("{title}: we will help."), "folder": folder}),
        )
        .await;
    }
    for i in 0..135 {
        add(
            &url,
            json!({"kind": "article", "title": format!("Returns {i}"), "body": format!("<div>Return rule {i}</div>"), "folder": "Policies/Returns"}),
        )
        .await;
    }
    let other = add(
        &url,
        json!({"kind": "article", "title": "Warranty", "body": "<p>Two years.</p>", "folder": "Products/Warranty"}),
    )
    .await;
    add(
        &url,
        json!({"kind": "article", "title": "Draft", "body": "<p>no</p>", "folder": "Products/Warranty", "draft": true}),
    )
    .await;
    add(
        &url,
        json!({"kind": "article", "title": "Chargeback handling", "body": "<p>internal</p>", "folder": "Products/Agents", "restricted": true}),
    )
    .await;
    let client = freshdesk(&url);
    let docs = HelpdeskClient::knowledge(&client).await.expect("listing");
    let canned = docs
        .iter()
        .filter(|d| d.kind == KnowledgeKind::CannedResponse)
        .count();
    let articles = docs
        .iter()
        .filter(|d| d.kind == KnowledgeKind::Article)
        .count();
    assert_eq!((canned, articles), (2, 136), "{docs:?}");
    let returns_folder = "/api/v2/solutions/folders/300/articles";
    assert_eq!(
        requests_to(&url, returns_folder).await,
        2,
        "both pages of a folder read"
    );
    let warranty = by_id(&docs, &format!("freshdesk:article:{other}"));
    assert_eq!(warranty.body, "Two years.");
    assert_eq!(
        warranty.url.as_deref(),
        Some(format!("{url}/support/solutions/articles/{other}").as_str())
    );
    assert!(!docs.iter().any(|d| d.title == "Draft"));
    assert!(
        !docs.iter().any(|d| d.title == "Chargeback handling"),
        "an agents-only folder is left out"
    );
}
