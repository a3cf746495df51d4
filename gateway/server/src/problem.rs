//! RFC 9457 problem documents: every error the server returns is `application/problem+json`
//! with a `detail` that says exactly what was wrong.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type (`about:blank` for plain HTTP errors).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly was wrong.
    pub detail: String,
}

impl Problem {
    /// A response carrying this problem.
    pub fn response(status: StatusCode, title: &str, detail: impl Into<String>) -> HttpResponse {
        HttpResponse::build(status)
            .content_type("application/problem+json")
            .json(Problem {
                kind: "about:blank".into(),
                title: title.into(),
                status: status.as_u16(),
                detail: detail.into(),
            })
    }
}
