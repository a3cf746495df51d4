//! The approval log over HTTP, for reviewers and admins:
//!
//! - `GET /api/v1/audit/checkpoint` — the newest signed checkpoint (C2SP signed note) with its
//!   size, root and the key that verifies it;
//! - `GET /api/v1/audit/proofs/inclusion?index=I[&size=N]` — the audit path of entry `I` in
//!   the tree of the first `N` entries (default: the newest checkpoint's size);
//! - `GET /api/v1/audit/proofs/consistency?from=M[&to=N]` — the proof that the tree of `M`
//!   entries is a prefix of the tree of `N`.
//!
//! - `POST /api/v1/audit/erasures` — an admin erases readable personal data, of a person
//!   (`{"person": "…"}`) or of one entry (`{"index": N}`); commitments stay, so the log still
//!   verifies; the erasure itself is logged (how many values, never whose).
//!
//! Hashes are lowercase hex (entries.jsonl names leaves the same way); proofs verify with
//! RFC 9162 section 2.1.3.2 / 2.1.4.2 against a checkpoint's root.

use actix_web::{HttpResponse, web};
use deskbridge_audit::AuditLog;
use deskbridge_core::Role;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api_error::ApiError;
use crate::auth::Caller;
use crate::problem::Problem;
use deskbridge_pipeline::journal;

/// Who may read the log.
const READERS: &[Role] = &[Role::Reviewer, Role::Admin];

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// The log and the size of its newest checkpoint (`None`: no log is configured).
fn log_and_size(state: &AppState) -> Option<(&AuditLog, u64)> {
    let audit = state.audit.as_deref()?;
    let size = audit.latest_checkpoint().map_or(0, |(c, _)| c.size);
    Some((audit, size))
}

fn no_log() -> ApiError {
    ApiError::not_found("no approval log is configured")
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
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn checkpoint(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    let (audit, _) = log_and_size(&state).ok_or_else(no_log)?;
    match audit.latest_checkpoint() {
        Some((checkpoint, note)) => Ok(HttpResponse::Ok().json(CheckpointView {
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            root_hash: hex::encode(checkpoint.root),
            checkpoint: note,
            public_key: audit.verifier().to_key_string(),
        })),
        None => Err(ApiError::not_found("no checkpoint has been signed yet")),
    }
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
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn inclusion(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    let (audit, checkpointed) = log_and_size(&state).ok_or_else(no_log)?;
    let size = query.size.unwrap_or(checkpointed);
    let proof = audit
        .inclusion_proof(query.index, size)
        .and_then(|proof| Ok((proof, audit.root_at(size)?)));
    match (proof, audit.leaf(query.index)) {
        (Ok((proof, root)), Some(leaf)) => Ok(HttpResponse::Ok().json(InclusionView {
            index: query.index,
            size,
            leaf_hash: hex::encode(leaf),
            root_hash: hex::encode(root),
            proof: hexes(&proof),
        })),
        (Err(e), _) => Err(ApiError::unprocessable(e.to_string())),
        (Ok(_), None) => Err(ApiError::unprocessable(format!("no entry {}", query.index))),
    }
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
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn consistency(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    let (audit, checkpointed) = log_and_size(&state).ok_or_else(no_log)?;
    let to = query.to.unwrap_or(checkpointed);
    let proof = audit
        .consistency_proof(query.from, to)
        .and_then(|proof| Ok((proof, audit.root_at(query.from)?, audit.root_at(to)?)));
    match proof {
        Ok((proof, from_root, to_root)) => Ok(HttpResponse::Ok().json(ConsistencyView {
            from: query.from,
            to,
            from_root_hash: hex::encode(from_root),
            to_root_hash: hex::encode(to_root),
            proof: hexes(&proof),
        })),
        Err(e) => Err(ApiError::unprocessable(e.to_string())),
    }
}

/// `POST /api/v1/audit/erasures` body: exactly one of the two.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErasureRequest {
    /// Erase every value naming this person (also inside a list of approvers).
    person: Option<String>,
    /// Erase every personal value of the entry at this index.
    index: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ErasureView {
    /// Personal values erased.
    erased: usize,
}

/// `POST /api/v1/audit/erasures`.
#[utoipa::path(
    post,
    path = "/api/v1/audit/erasures",
    tag = "audit",
    summary = "Erase readable personal data on request (admin); the log still verifies",
    request_body = ErasureRequest,
    responses(
        (status = 200, description = "How many values were erased", body = ErasureView),
        (status = 422, description = "Neither or both of person and index", body = Problem, content_type = "application/problem+json"),
        crate::auth::AuthRefusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn erase(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<ErasureRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let audit = state.audit.clone().ok_or_else(no_log)?;
    let ErasureRequest { person, index } = body.into_inner();
    let target = match (person, index) {
        (Some(person), None) if !person.trim().is_empty() => Ok(person),
        (None, Some(index)) => Err(index),
        _ => {
            return Err(ApiError::unprocessable(
                "give exactly one of person (a non-empty name) and index",
            ));
        }
    };
    let by = caller.person.clone();
    let erased = web::block(move || {
        let erased = match &target {
            Ok(person) => audit.erase_person(person)?,
            Err(index) => audit.erase_personal(*index)?,
        };
        let index = target.err();
        audit.append_durable(journal::erasure_entry(erased, index, &by))?;
        Ok::<_, deskbridge_audit::AuditError>(erased)
    })
    .await;
    match erased {
        Ok(Ok(erased)) => {
            tracing::info!(erased, "personal data erased from the approval log");
            Ok(HttpResponse::Ok().json(ErasureView { erased }))
        }
        Ok(Err(e)) => Err(ApiError::internal("erasing from the approval log", e)),
        Err(e) => Err(ApiError::internal("erasing from the approval log", e)),
    }
}
