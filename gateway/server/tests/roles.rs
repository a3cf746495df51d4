//! Every role against every authenticated endpoint: allowed ones get past authorization,
//! the others get `403` naming the roles that would do; no token, a bad token and a revoked
//! token get `401` with a `Bearer` challenge.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use deskbridge_core::Role;
use deskbridge_pipeline::tokens::new_token;
use deskbridge_server::{AppState, configure};
use deskbridge_store::{SledStore, Store, TokenRecord};
use serde_json::{Value, json};

struct Endpoint {
    method: &'static str,
    path: &'static str,
    allowed: &'static [Role],
    body: Option<Value>,
}

fn endpoints() -> Vec<Endpoint> {
    use Role::*;
    const EVERYONE: &[Role] = &[Agent, Supervisor, Reviewer, Admin];
    const READERS: &[Role] = &[Reviewer, Admin];
    const DECIDERS: &[Role] = &[Agent, Supervisor];
    vec![
        Endpoint {
            method: "GET",
            path: "/api/v1/me",
            allowed: EVERYONE,
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/tokens",
            allowed: &[Admin],
            body: None,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/tokens",
            allowed: &[Admin],
            body: Some(json!({"person": "Nia New", "roles": ["agent"]})),
        },
        Endpoint {
            method: "DELETE",
            path: "/api/v1/tokens/tok_000000000000",
            allowed: &[Admin],
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/drafts",
            allowed: DECIDERS,
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/drafts/no-such-draft",
            allowed: DECIDERS,
            body: None,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/drafts/no-such-draft/decisions",
            allowed: DECIDERS,
            body: Some(json!({"version": 0, "decision": "approve"})),
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/drafts/no-such-draft/cancel",
            allowed: &[Admin],
            body: Some(json!({"reason": "wrong customer"})),
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/status",
            allowed: READERS,
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/metrics",
            allowed: READERS,
            body: None,
        },
        Endpoint {
            method: "DELETE",
            path: "/api/v1/metrics",
            allowed: &[Admin],
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/outbox/dead-letters",
            allowed: READERS,
            body: None,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/outbox/dead-letters/nope/retry",
            allowed: &[Admin],
            body: None,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/outbox/dead-letters/nope/cancel",
            allowed: &[Admin],
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/events/failed",
            allowed: READERS,
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/pauses",
            allowed: EVERYONE,
            body: None,
        },
        Endpoint {
            method: "PUT",
            path: "/api/v1/pauses/all",
            allowed: &[Admin],
            body: Some(json!({"reason": "model misbehaves"})),
        },
        Endpoint {
            method: "DELETE",
            path: "/api/v1/pauses/all",
            allowed: &[Admin],
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/insights",
            allowed: &[Reviewer, Supervisor, Admin],
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/audit/checkpoint",
            allowed: READERS,
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/audit/proofs/inclusion?index=0",
            allowed: READERS,
            body: None,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/audit/proofs/consistency?from=0",
            allowed: READERS,
            body: None,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/audit/erasures",
            allowed: &[Admin],
            body: Some(json!({"person": "Nobody Known"})),
        },
    ]
}

fn state_with(store: Arc<SledStore>) -> web::Data<AppState> {
    let decisions = deskbridge_pipeline::DecisionService::standalone(
        store.clone(),
        None,
        Default::default(),
        std::time::Duration::from_secs(3 * 24 * 3600),
    );
    web::Data::new(AppState {
        plugins: Vec::new(),
        started: Instant::now(),
        webhooks: None,
        store: Some(store),
        audit: None,
        switch: Default::default(),
        draft_expiry: std::time::Duration::from_secs(3 * 24 * 3600),
        warnings: Vec::new(),
        ai: None,
        knowledge: None,
        decisions: Some(Arc::new(decisions)),
        console: None,
        readiness: None,
    })
}

fn token_for(store: &SledStore, person: &str, roles: Vec<Role>) -> (String, String) {
    let (token, hash, id) = new_token().expect("randomness");
    store
        .insert_token(
            &hash,
            &TokenRecord {
                id: id.clone(),
                person: person.into(),
                roles,
                created_at_ms: 1,
                revoked_at_ms: None,
            },
        )
        .expect("insert");
    (token, id)
}

fn request(endpoint: &Endpoint, token: Option<&str>) -> test::TestRequest {
    let mut request = match endpoint.method {
        "GET" => test::TestRequest::get(),
        "POST" => test::TestRequest::post(),
        "PUT" => test::TestRequest::put(),
        "DELETE" => test::TestRequest::delete(),
        other => panic!("method {other}"),
    }
    .uri(endpoint.path);
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    if let Some(body) = &endpoint.body {
        request = request.set_json(body);
    }
    request
}

#[actix_web::test]
async fn every_role_against_every_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let tokens: Vec<(Role, String)> = Role::ALL
        .into_iter()
        .map(|role| {
            (
                role,
                token_for(&store, &format!("{role} person"), vec![role]).0,
            )
        })
        .collect();
    let (revoked, revoked_id) = token_for(&store, "Rex Revoked", vec![Role::Admin]);
    assert!(store.revoke_token(&revoked_id, 2).expect("revoke"));
    let state = state_with(store.clone());
    let app = test::init_service(App::new().configure(configure(state))).await;

    for endpoint in endpoints() {
        for (role, token) in &tokens {
            let response =
                test::call_service(&app, request(&endpoint, Some(token)).to_request()).await;
            let status = response.status();
            let bytes = test::read_body(response).await;
            // `204 No Content` has no body to show.
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let label = format!("{} {} as {role}", endpoint.method, endpoint.path);
            if endpoint.allowed.contains(role) {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{label}: {status} {body}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{label}: {body}");
                let detail = body["detail"].as_str().unwrap_or_default();
                assert!(
                    detail.contains(&format!("{role} person holds the {role} role")),
                    "{label}: {detail}"
                );
                for allowed in endpoint.allowed {
                    assert!(detail.contains(allowed.as_str()), "{label}: {detail}");
                }
            }
        }
        for (token, why) in [
            (None, "needs an API token"),
            (Some("dbt_not-a-token"), "not valid"),
            (Some(revoked.as_str()), "was revoked"),
        ] {
            let response = test::call_service(&app, request(&endpoint, token).to_request()).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{} {}",
                endpoint.method,
                endpoint.path
            );
            assert!(response.headers().contains_key("www-authenticate"));
            let body: Value = test::read_body_json(response).await;
            assert!(
                body["detail"].as_str().unwrap_or_default().contains(why),
                "{body}"
            );
        }
    }
}

#[actix_web::test]
async fn an_admin_creates_a_token_that_works_once_and_stops_working_when_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let (admin, _) = token_for(&store, "Ada Admin", vec![Role::Admin]);
    let state = state_with(store.clone());
    let app = test::init_service(App::new().configure(configure(state))).await;
    let bearer = |token: &str| ("Authorization", format!("Bearer {token}"));

    let refused = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/tokens")
            .insert_header(bearer(&admin))
            .set_json(json!({"person": "", "roles": []}))
            .to_request(),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let created: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/tokens")
            .insert_header(bearer(&admin))
            .set_json(json!({"person": "Ann Agent", "roles": ["agent"]}))
            .to_request(),
    )
    .await;
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("dbt_"));
    let listed: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/tokens")
            .insert_header(bearer(&admin))
            .to_request(),
    )
    .await;
    assert!(
        !listed.to_string().contains(&token),
        "the secret is never listed"
    );

    let me: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(bearer(&token))
            .to_request(),
    )
    .await;
    assert_eq!(me["person"], "Ann Agent");
    assert_eq!(me["roles"], json!(["agent"]));

    let id = created["id"].as_str().expect("id");
    let revoked = test::call_service(
        &app,
        test::TestRequest::delete()
            .uri(&format!("/api/v1/tokens/{id}"))
            .insert_header(bearer(&admin))
            .to_request(),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(bearer(&token))
            .to_request(),
    )
    .await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// Whether a concrete path (query stripped) fits an OpenAPI path template.
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

#[actix_web::test]
async fn the_role_table_covers_every_authenticated_operation_in_the_openapi_description() {
    let spec: Value =
        serde_json::from_str(&deskbridge_server::openapi::openapi_json()).expect("json");
    let table = endpoints();
    for (template, operations) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            if operation.get("security").is_none() {
                continue; // health and webhooks: not token-authenticated
            }
            assert!(
                table
                    .iter()
                    .any(|e| e.method.eq_ignore_ascii_case(method) && fits(template, e.path)),
                "{method} {template} is missing from the role table"
            );
        }
    }
}
