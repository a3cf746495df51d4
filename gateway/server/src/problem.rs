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

/// Refusals of actix's extractors as problem documents: a query string that does not parse
/// (an unknown parameter, a number that is not one) is a `400` naming what was wrong.
pub(crate) fn query_refused(
    error: actix_web::error::QueryPayloadError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    let response = Problem::response(
        StatusCode::BAD_REQUEST,
        "Bad Request",
        format!("the query string: {error}"),
    );
    actix_web::error::InternalError::from_response(error, response).into()
}

/// A JSON body that is too large, not JSON, or not the expected shape.
pub(crate) fn json_refused(
    error: actix_web::error::JsonPayloadError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    let status = match &error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        JsonPayloadError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::BAD_REQUEST,
    };
    let response = Problem::response(
        status,
        status.canonical_reason().unwrap_or("Bad Request"),
        format!("the request body: {error}"),
    );
    actix_web::error::InternalError::from_response(error, response).into()
}

/// A form body that is too large or does not parse (the console's forms).
pub(crate) fn form_refused(
    error: actix_web::error::UrlencodedError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::UrlencodedError;
    let status = match &error {
        UrlencodedError::Overflow { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        UrlencodedError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::BAD_REQUEST,
    };
    let response = Problem::response(
        status,
        status.canonical_reason().unwrap_or("Bad Request"),
        format!("the form: {error}"),
    );
    actix_web::error::InternalError::from_response(error, response).into()
}
