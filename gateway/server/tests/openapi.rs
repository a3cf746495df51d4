//! The committed OpenAPI description (`schemas/openapi.json`) is what the code generates, and
//! it describes every route the server registers — no more, no fewer.

use std::collections::BTreeSet;
use std::path::Path;

use deskbridge_server::openapi::openapi_json;
use serde_json::Value;

fn committed_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/openapi.json")
}

#[test]
fn the_committed_description_matches_the_code() {
    let generated = openapi_json();
    if std::env::var_os("DESKBRIDGE_UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &generated).expect("write schemas/openapi.json");
    }
    let committed = std::fs::read_to_string(committed_path()).expect("schemas/openapi.json");
    assert!(
        committed == generated,
        "schemas/openapi.json is out of date: run `cargo run -p deskbridge -- openapi > schemas/openapi.json` \
         (or this test with DESKBRIDGE_UPDATE_OPENAPI=1) and commit the result"
    );
}

/// `(method, path)` of every operation in the description.
fn described_operations() -> BTreeSet<(String, String)> {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .expect("operations")
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

/// `(method, path)` of every `.route("path", web::method()…)` in `configure`, and of the
/// webhook routes split by hand under the `/webhooks` scope.
fn registered_routes() -> BTreeSet<(String, String)> {
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    let mut routes = BTreeSet::new();
    for piece in source.split(".route(").skip(1) {
        let mut quoted = piece.split('"');
        let (Some(_), Some(path)) = (quoted.next(), quoted.next()) else {
            continue;
        };
        let rest = quoted.next().unwrap_or_default();
        let Some(method) = rest
            .split("web::")
            .nth(1)
            .and_then(|m| m.split("()").next())
        else {
            continue;
        };
        routes.insert((method.to_uppercase(), path.to_owned()));
    }
    for (method, path) in deskbridge_server::webhooks::ROUTES {
        routes.insert((method.to_owned(), path.to_owned()));
    }
    routes
}

#[test]
fn every_registered_route_is_described_and_nothing_else() {
    let registered = registered_routes();
    assert!(registered.len() > 15, "{registered:?}");
    assert_eq!(registered, described_operations());
}
