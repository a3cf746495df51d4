//! The console's stylesheet and scripts, embedded in the binary and served from
//! `/console/assets/{name}`. Pages link them with a content hash in the query
//! (`?v=…`), so a new gateway version is never served an old cached file.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

/// Name, media type, contents.
const FILES: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../console/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/console.js"),
    ),
    (
        "verify.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/verify.js"),
    ),
];

fn versions() -> &'static Vec<(&'static str, String)> {
    static VERSIONS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, _, body)| (*name, hex::encode(&Sha256::digest(body.as_bytes())[..6])))
            .collect()
    })
}

/// The URL of asset `name`, versioned by its content.
pub(crate) fn path(name: &str) -> String {
    let version = versions()
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("0", |(_, v)| v.as_str());
    format!("/console/assets/{name}?v={version}")
}

/// `GET /console/assets/{name}`.
pub(crate) async fn serve(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, media_type, body)) => HttpResponse::Ok()
            .insert_header(("Content-Type", *media_type))
            .insert_header(("Cache-Control", "public, max-age=86400"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(*body),
        None => crate::problem::Problem::response(
            actix_web::http::StatusCode::NOT_FOUND,
            "Not Found",
            format!("no console asset {name}"),
        ),
    }
}
