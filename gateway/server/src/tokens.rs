//! Token management for admins: `POST|GET /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`, and
//! `GET /api/v1/me` for anyone authenticated. Creating and revoking a token is recorded in the
//! approval log (the person's name as a commitment, the roles in the clear).
//!
//! Names are normalised when a token is made (Unicode NFC, trimmed, inner whitespace
//! collapsed) and compared case- and width-blind wherever one person must not count twice
//! (`deskbridge_core::person_key`). The admin who mints tokens is trusted to give each person
//! one name; what the log shows to catch abuse: every `token.created` names (as commitments)
//! the person and the minting admin, and carries `same_person: true` when an admin minted a
//! token for their own name — a second identity for oneself is the way around the two-person
//! rule.

use actix_web::{HttpResponse, web};
use deskbridge_audit::NewEntry;
use deskbridge_core::{Role, person_key};
use deskbridge_pipeline::now_ms;
use deskbridge_store::TokenRecord;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::{Caller, new_token};
use crate::problem::Problem;

/// `POST /api/v1/tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    /// The person the token is for.
    person: String,
    /// Its roles (at least one).
    roles: Vec<Role>,
}

/// A new token, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CreatedToken<'a> {
    id: &'a str,
    token: &'a str,
    person: &'a str,
    roles: &'a [Role],
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Me<'a> {
    person: &'a str,
    roles: &'a [Role],
    token_id: &'a str,
}

pub use deskbridge_pipeline::tokens::{check_token_request, token_entry};

async fn log(state: &AppState, entry: NewEntry) -> Result<(), ApiError> {
    let Some(audit) = state.audit.clone() else {
        return Ok(());
    };
    web::block(move || audit.append_durable(entry))
        .await
        .map_err(|e| ApiError::internal("recording the token change in the approval log", e))?
        .map(|_| ())
        .map_err(|e| ApiError::internal("recording the token change in the approval log", e))
}

/// Mints a token for `person` with `roles` on behalf of `creator` (the API and the console):
/// logged first, then stored. The secret is returned once and kept nowhere.
pub(crate) async fn create_token(
    state: &AppState,
    creator: &Caller,
    person: &str,
    roles: Vec<Role>,
) -> Result<(String, TokenRecord), ApiError> {
    let store = state.store.clone().ok_or(ApiError::NoStore)?;
    let person = check_token_request(person, &roles).map_err(ApiError::unprocessable)?;
    if person_key(&person) == person_key(&creator.person) {
        tracing::warn!(token_creator = %creator.token_id, "an admin created a token for their own name; recorded as same_person in the approval log");
    }
    let (token, hash, id) =
        new_token().map_err(|e| ApiError::internal("drawing randomness for a token", e))?;
    let record = TokenRecord {
        id,
        person,
        roles,
        created_at_ms: now_ms(),
        revoked_at_ms: None,
    };
    // Logged first: a token never works without its creation on record.
    log(
        state,
        token_entry(
            "token.created",
            &record,
            &creator.person,
            record.created_at_ms,
        ),
    )
    .await?;
    store
        .insert_token(&hash, &record)
        .map_err(|e| ApiError::internal("storing the token", e))?;
    Ok((token, record))
}

/// Revokes the active token `id` on behalf of `person`: logged first, then stored.
pub(crate) async fn revoke_token(state: &AppState, person: &str, id: &str) -> Result<(), ApiError> {
    let store = state.store.clone().ok_or(ApiError::NoStore)?;
    let tokens = store
        .tokens()
        .map_err(|e| ApiError::internal("listing tokens", e))?;
    let record = tokens
        .into_iter()
        .find(|t| t.id == id && t.revoked_at_ms.is_none())
        .ok_or_else(|| ApiError::not_found(format!("no active token {id}")))?;
    let at = now_ms();
    log(state, token_entry("token.revoked", &record, person, at)).await?;
    store
        .revoke_token(&record.id, at)
        .map_err(|e| ApiError::internal("revoking the token", e))?;
    Ok(())
}

/// Every token, oldest first (never secrets or hashes).
pub(crate) fn all_tokens(state: &AppState) -> Result<Vec<TokenRecord>, ApiError> {
    state
        .store
        .as_ref()
        .ok_or(ApiError::NoStore)?
        .tokens()
        .map_err(|e| ApiError::internal("listing tokens", e))
}

/// `POST /api/v1/tokens` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    summary = "Create an API token (admin); the secret is shown once",
    request_body = CreateToken,
    responses(
        (status = 201, description = "The new token", body = CreatedToken),
        (status = 422, description = "No person or no role", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<CreateToken>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let CreateToken { person, roles } = body.into_inner();
    let (token, record) = create_token(&state, &caller, &person, roles).await?;
    Ok(HttpResponse::Created().json(CreatedToken {
        id: &record.id,
        token: &token,
        person: &record.person,
        roles: &record.roles,
    }))
}

/// `GET /api/v1/tokens` (admin): ids, people, roles, dates; never secrets or hashes.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    summary = "List API tokens (admin); never secrets",
    responses(
        (status = 200, description = "Every token, oldest first", body = Vec<TokenRecord>),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    Ok(HttpResponse::Ok().json(all_tokens(&state)?))
}

/// `DELETE /api/v1/tokens/{id}` (admin).
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    summary = "Revoke an API token (admin)",
    params(("id" = String, Path, description = "The token's public id, `tok_…`")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No active token with this id", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn revoke(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    revoke_token(&state, &caller.person, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/me` (any token).
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "tokens",
    summary = "Who the token belongs to",
    responses(
        (status = 200, description = "The token's person, roles and id", body = Me),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn me(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        person: &caller.person,
        roles: &caller.roles,
        token_id: &caller.token_id,
    })
}
