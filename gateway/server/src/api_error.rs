//! One error type for every handler of the API and the console.
//!
//! A refusal of the request (bad input, not found, conflict, missing role) names exactly what
//! was wrong. A failure of the gateway itself (the store, the approval log, a worker thread)
//! is logged here, once, with what the handler was doing and the request id, and the caller
//! gets an opaque `503`: store paths, SQL errors and file names stay out of response bodies.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::auth::AuthError;
use crate::problem::Problem;

/// Why a request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The caller could not be authenticated or lacks the role.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The request was refused: the status says how, the detail what exactly.
    #[error("{detail}")]
    Refused {
        /// A 4xx status.
        status: StatusCode,
        /// What was wrong, for the caller.
        detail: String,
    },
    /// The gateway runs without a store, so this endpoint has nothing to serve.
    #[error("no store is configured")]
    NoStore,
    /// The gateway failed; the cause is logged, never returned.
    #[error("the gateway could not complete this request while {doing}; the cause is in its log")]
    Internal {
        /// What the handler was doing (`"reading the draft"`), part of the response.
        doing: &'static str,
        /// The cause, for the log only.
        cause: String,
    },
}

impl ApiError {
    /// A refusal with this status and detail.
    pub fn refused(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Refused {
            status,
            detail: detail.into(),
        }
    }

    /// `400 Bad Request`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::BAD_REQUEST, detail)
    }

    /// `404 Not Found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::NOT_FOUND, detail)
    }

    /// `409 Conflict`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::CONFLICT, detail)
    }

    /// `422 Unprocessable Content`.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// A failure of the gateway while `doing` something; `cause` goes to the log only.
    pub fn internal(doing: &'static str, cause: impl std::fmt::Display) -> Self {
        Self::Internal {
            doing,
            cause: cause.to_string(),
        }
    }
}

impl ApiError {
    /// Logs the cause of a failure of the gateway; refusals are not logged (whoever shows the
    /// error calls this once).
    pub(crate) fn log_if_internal(&self) {
        if let ApiError::Internal { doing, cause } = self {
            tracing::error!(doing, cause = %cause, "request failed");
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Auth(auth) => auth.status_code(),
            ApiError::Refused { status, .. } => *status,
            ApiError::NoStore | ApiError::Internal { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Auth(auth) => auth.error_response(),
            ApiError::Internal { .. } | ApiError::Refused { .. } | ApiError::NoStore => {
                self.log_if_internal();
                problem(self.status_code(), self.to_string())
            }
        }
    }
}

/// A problem response whose title is the status's reason phrase.
pub(crate) fn problem(status: StatusCode, detail: impl Into<String>) -> HttpResponse {
    Problem::response(status, status.canonical_reason().unwrap_or("Error"), detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn an_internal_failure_keeps_its_cause_out_of_the_body() {
        let error = ApiError::internal(
            "reading the draft",
            "IO error: /var/lib/deskbridge/db/blobs/7: permission denied",
        );
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .expect("a buffered body");
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("reading the draft"), "{body}");
        assert!(!body.contains("/var/lib"), "{body}");
        assert!(!body.contains("permission"), "{body}");
    }

    #[actix_web::test]
    async fn a_refusal_says_what_was_wrong() {
        let response = ApiError::conflict("draft d1 is at version 3, not 2").error_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .expect("a buffered body");
        assert!(String::from_utf8_lossy(&body).contains("version 3, not 2"));
    }
}
