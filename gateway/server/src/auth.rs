//! Authentication and roles for `/api/v1/`: every request carries `Authorization: Bearer
//! <token>`; the store keeps only the token's SHA-256 and the person and roles it speaks for.
//!
//! A handler takes a [`Caller`] argument (actix extracts it: `401` without a valid token) and
//! calls [`Caller::require`] with the roles allowed (`403` naming them otherwise). Tokens are
//! `dbt_` followed by 32 random bytes in URL-safe base64; they are shown once, at creation.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use deskbridge_core::{Role, normalize_person};

use crate::AppState;
use crate::problem::Problem;

pub use deskbridge_pipeline::tokens::{TOKEN_PREFIX, new_token, token_sha256};

/// The authenticated person behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The person's name, as the token records it (normalised).
    pub person: String,
    /// The roles the token grants.
    pub roles: Vec<Role>,
    /// The token's public id.
    pub token_id: String,
}

impl Caller {
    /// `Ok` if the caller holds one of `allowed`; a `403` naming them otherwise.
    pub fn require(&self, allowed: &[Role]) -> Result<(), AuthError> {
        if self.roles.iter().any(|role| allowed.contains(role)) {
            Ok(())
        } else {
            Err(AuthError::Forbidden {
                person: self.person.clone(),
                allowed: allowed.to_vec(),
                held: self.roles.clone(),
            })
        }
    }
}

/// The refusals every authenticated operation may answer with, for the OpenAPI description.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only its description is used
pub(crate) enum AuthRefusals {
    /// No, a malformed, an unknown or a revoked token.
    #[response(
        status = 401,
        description = "No, a malformed, an unknown or a revoked token",
        content_type = "application/problem+json"
    )]
    Unauthorized(crate::problem::Problem),
    /// The token's roles do not allow this.
    #[response(
        status = 403,
        description = "The token's roles do not allow this",
        content_type = "application/problem+json"
    )]
    Forbidden(crate::problem::Problem),
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error(
        "this endpoint needs an API token: send `Authorization: Bearer <token>` (create one with `deskbridge token create`)"
    )]
    Missing,
    /// The header is not a bearer token.
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    /// No such token.
    #[error("the API token is not valid")]
    Unknown,
    /// The token was revoked.
    #[error("the API token {0} was revoked")]
    Revoked(String),
    /// The caller lacks the role.
    #[error("{person} holds {held}; this needs {allowed}", held = names(held), allowed = names(allowed))]
    Forbidden {
        /// Who asked.
        person: String,
        /// The roles that would do.
        allowed: Vec<Role>,
        /// The roles they hold.
        held: Vec<Role>,
    },
    /// The token store cannot be read.
    #[error("the token store failed: {0}")]
    Store(String),
}

fn names(roles: &[Role]) -> String {
    match roles {
        [] => "no role".into(),
        [one] => format!("the {one} role"),
        many => {
            let listed: Vec<&str> = many.iter().map(|r| r.as_str()).collect();
            format!("one of the roles {}", listed.join(", "))
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::Missing
            | AuthError::Malformed
            | AuthError::Unknown
            | AuthError::Revoked(_) => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AuthError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error");
        let detail = match self {
            // The store's own words (paths, SQL) go to the log, not to the caller.
            AuthError::Store(cause) => {
                tracing::error!(cause = %cause, "authentication failed: the token store");
                "the token store could not be read; the cause is in the gateway's log".to_string()
            }
            other => other.to_string(),
        };
        let mut response = Problem::response(status, title, detail);
        if status == StatusCode::UNAUTHORIZED
            && let Ok(value) = "Bearer realm=\"deskbridge\"".parse()
        {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn authenticate(request: &HttpRequest) -> Result<Caller, AuthError> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .ok_or(AuthError::Missing)?;
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(AuthError::Malformed)?;
    let store = request
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.store.clone())
        .ok_or_else(|| AuthError::Store("no token store is configured".into()))?;
    caller_of(store.as_ref(), &token_sha256(token))
}

/// The caller a token speaks for, by the token's SHA-256 (the API's bearer tokens and the
/// console's sessions, which re-check their token on every request).
pub(crate) fn caller_of(
    store: &dyn deskbridge_store::Store,
    token_sha256: &str,
) -> Result<Caller, AuthError> {
    let record = store
        .token(token_sha256)
        .map_err(|e| AuthError::Store(e.to_string()))?
        .ok_or(AuthError::Unknown)?;
    if record.revoked_at_ms.is_some() {
        return Err(AuthError::Revoked(record.id));
    }
    Ok(Caller {
        // Tokens made before names were normalised are read the same way.
        person: normalize_person(&record.person).unwrap_or(record.person),
        roles: record.roles,
        token_id: record.id,
    })
}

impl FromRequest for Caller {
    type Error = AuthError;
    type Future = Ready<Result<Caller, AuthError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(request))
    }
}
