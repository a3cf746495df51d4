//! The approval log over HTTP, for reviewers and admins:
//!
//! - `GET /api/v1/audit/checkpoint` — the newest signed checkpoint (C2SP signed note) with its
//!   size, root and the key that verifies it;
//! - `GET /api/v1/audit/proofs/inclusion?index=I[&size=N]` — the audit path of entry `I` in
//!   the tree of the first `N` entries (default: the newest checkpoint's size);
//! - `GET /api/v1/audit/proofs/consistency?from=M[&to=N]` — the proof that the tree of `M`
//!   entries is a prefix of the tree of `N`.
//!
//! Hashes are lowercase hex (entries.jsonl names leaves the same way); proofs verify with
//! RFC 9162 section 2.1.3.2 / 2.1.4.2 against a checkpoint's root.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use deskbridge_audit::AuditLog;
use deskbridge_core::Role;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{AuthError, Caller};
use crate::problem::Problem;

/// Who may read the log.
const READERS: &[Role] = &[Role::Reviewer, Role::Admin];

fn problem(status: StatusCode, detail: impl Into<String>) -> HttpResponse {
    Problem::response(status, status.canonical_reason().unwrap_or("Error"), detail)
}

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// The log and the size of its newest checkpoint (`None`: no log is configured).
fn log_and_size(state: &AppState) -> Option<(&AuditLog, u64)> {
    let audit = state.audit.as_deref()?;
    let size = audit.latest_checkpoint().map_or(0, |(c, _)| c.size);
    Some((audit, size))
}

fn no_log() -> HttpResponse {
    problem(StatusCode::NOT_FOUND, "no approval log is configured")
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CheckpointView {
    origin: String,
    size: u64,
    root_hash: String,
    /// The signed note, verbatim.
    checkpoint: String,
    /// The verifier key (`name+hash+base64`).
    public_key: String,
}

/// `GET /api/v1/audit/checkpoint`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoint",
    tag = "audit",
    summary = "The newest signed checkpoint of the approval log",
    responses(
        (status = 200, description = "The checkpoint", body = CheckpointView),
        (status = 404, description = "No checkpoint yet", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, a malformed, an unknown or a revoked token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token's roles do not allow this", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn checkpoint(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AuthError> {
    caller.require(READERS)?;
    let Some((audit, _)) = log_and_size(&state) else {
        return Ok(no_log());
    };
    Ok(match audit.latest_checkpoint() {
        Some((checkpoint, note)) => HttpResponse::Ok().json(CheckpointView {
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            root_hash: hex::encode(checkpoint.root),
            checkpoint: note,
            public_key: audit.verifier().to_key_string(),
        }),
        None => problem(StatusCode::NOT_FOUND, "no checkpoint has been signed yet"),
    })
}

/// `GET /api/v1/audit/proofs/inclusion` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InclusionView {
    index: u64,
    size: u64,
    leaf_hash: String,
    root_hash: String,
    proof: Vec<String>,
}

/// `GET /api/v1/audit/proofs/inclusion`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/proofs/inclusion",
    tag = "audit",
    summary = "An inclusion proof (RFC 9162 audit path)",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof", body = InclusionView),
        (status = 422, description = "Index or size out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, a malformed, an unknown or a revoked token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token's roles do not allow this", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn inclusion(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, AuthError> {
    caller.require(READERS)?;
    let Some((audit, checkpointed)) = log_and_size(&state) else {
        return Ok(no_log());
    };
    let size = query.size.unwrap_or(checkpointed);
    let proof = audit
        .inclusion_proof(query.index, size)
        .and_then(|proof| Ok((proof, audit.root_at(size)?)));
    Ok(match (proof, audit.leaf(query.index)) {
        (Ok((proof, root)), Some(leaf)) => HttpResponse::Ok().json(InclusionView {
            index: query.index,
            size,
            leaf_hash: hex::encode(leaf),
            root_hash: hex::encode(root),
            proof: hexes(&proof),
        }),
        (Err(e), _) => problem(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        (Ok(_), None) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("no entry {}", query.index),
        ),
    })
}

/// `GET /api/v1/audit/proofs/consistency` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ConsistencyView {
    from: u64,
    to: u64,
    from_root_hash: String,
    to_root_hash: String,
    proof: Vec<String>,
}

/// `GET /api/v1/audit/proofs/consistency`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/proofs/consistency",
    tag = "audit",
    summary = "A consistency proof between two tree sizes",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ConsistencyView),
        (status = 422, description = "Sizes out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, a malformed, an unknown or a revoked token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token's roles do not allow this", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn consistency(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, AuthError> {
    caller.require(READERS)?;
    let Some((audit, checkpointed)) = log_and_size(&state) else {
        return Ok(no_log());
    };
    let to = query.to.unwrap_or(checkpointed);
    let proof = audit
        .consistency_proof(query.from, to)
        .and_then(|proof| Ok((proof, audit.root_at(query.from)?, audit.root_at(to)?)));
    Ok(match proof {
        Ok((proof, from_root, to_root)) => HttpResponse::Ok().json(ConsistencyView {
            from: query.from,
            to,
            from_root_hash: hex::encode(from_root),
            to_root_hash: hex::encode(to_root),
            proof: hexes(&proof),
        }),
        Err(e) => problem(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    })
}
