//! The API's OpenAPI 3.1 description, generated from the handlers' `#[utoipa::path]`
//! annotations and the types they take and return. `deskbridge openapi` prints it;
//! `schemas/openapi.json` is the committed copy, and a test fails when the two differ.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{audit_api, draft_list, drafts, insights, ops, pauses, tokens, webhooks};

/// The bearer-token scheme every `/api/v1/` operation requires.
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("dbt_…")
                    .description(Some(
                        "An API token from `deskbridge token create` or `POST /api/v1/tokens`, \
                         bound to one person and their roles.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Deskbridge API",
        description = "The approval queue, the stop switch, insights, the approval log's proofs, \
            token management, operator views and webhook ingest of the Deskbridge gateway. \
            Every error is an RFC 9457 `application/problem+json` document.",
        license(name = "Apache-2.0")
    ),
    paths(
        crate::healthz,
        crate::ready::readyz,
        crate::prometheus::metrics,
        tokens::me,
        draft_list::list,
        drafts::get,
        drafts::decide_draft,
        drafts::cancel_reply,
        pauses::list,
        pauses::pause,
        pauses::resume,
        insights::insights,
        audit_api::checkpoint,
        audit_api::inclusion,
        audit_api::consistency,
        audit_api::erase,
        tokens::create,
        tokens::list,
        tokens::revoke,
        ops::status,
        ops::metrics,
        ops::reset_metrics,
        ops::dead_letters,
        ops::retry_dead_letter,
        ops::cancel_dead_letter,
        ops::failed_events,
        webhooks::receive_default,
        webhooks::receive_named,
    ),
    modifiers(&BearerTokens),
    tags(
        (name = "drafts", description = "The approval queue: agents and supervisors decide AI drafts"),
        (name = "oversight", description = "The stop switch"),
        (name = "insights", description = "How AI drafts fare with reviewers"),
        (name = "audit", description = "The approval log's checkpoints and proofs"),
        (name = "tokens", description = "API tokens and who holds them"),
        (name = "operations", description = "Health, counts, latency and what went wrong"),
        (name = "webhooks", description = "Helpdesk events in"),
    )
)]
struct ApiDoc;

/// The OpenAPI document as pretty-printed JSON (with a final newline).
pub fn openapi_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
