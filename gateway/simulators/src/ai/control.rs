//! The AI simulators' `/_sim/` control API (no auth), for tests and demos:
//!
//! - `POST /_sim/faults`: one fault or an array, applied to the next matching vendor requests
//!   (after authentication): `{"kind": "status", "status": 529, "retry_after": 3, "times": 2}`
//!   answers with the vendor's error body for that status; `{"kind": "delay", "ms": 500}`
//!   answers late; `{"kind": "drop"}` closes the connection without an answer. Optional
//!   `path_prefix` narrows the match, `times` defaults to 1. `DELETE /_sim/faults` clears them.
//! - `POST /_sim/answers`: `{"text": "…", "times": n}` or an array, scripted answer texts used
//!   first in, first out before the default answer. `DELETE /_sim/answers` clears them.
//! - `GET /_sim/requests`: every vendor request received (the last 10,000): method, path,
//!   query, status answered, whether an auth header was present, the request id, the fault
//!   applied and the JSON body. `DELETE /_sim/requests` clears the log.
//! - `DELETE /_sim/limits`: fills the rate-limit buckets again.
//! - `GET /_sim/health`: `{"status": "ok", "vendor": …}`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{AiFault, AiFaultKind, AiSim, ScriptedAnswer};

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/_sim/faults", web::post().to(add_faults))
        .route("/_sim/faults", web::delete().to(clear_faults))
        .route("/_sim/answers", web::post().to(add_answers))
        .route("/_sim/answers", web::delete().to(clear_answers))
        .route("/_sim/requests", web::get().to(requests))
        .route("/_sim/requests", web::delete().to(clear_requests))
        .route("/_sim/limits", web::delete().to(reset_limits))
        .route("/_sim/health", web::get().to(health));
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

async fn add_faults(sim: web::Data<AiSim>, faults: web::Json<OneOrMany<AiFault>>) -> HttpResponse {
    let faults = faults.into_inner().into_vec();
    for (i, fault) in faults.iter().enumerate() {
        if fault.times == 0 {
            return bad_request(format!("fault {i}: times must be at least 1"));
        }
        if let AiFaultKind::Status { status, .. } = fault.kind
            && !(400..=599).contains(&status)
        {
            return bad_request(format!(
                "fault {i}: status must be an error status (400-599), not {status}"
            ));
        }
    }
    sim.lock().faults.extend(faults);
    HttpResponse::NoContent().finish()
}

async fn clear_faults(sim: web::Data<AiSim>) -> HttpResponse {
    sim.lock().faults.clear();
    HttpResponse::NoContent().finish()
}

async fn add_answers(
    sim: web::Data<AiSim>,
    answers: web::Json<OneOrMany<ScriptedAnswer>>,
) -> HttpResponse {
    let answers = answers.into_inner().into_vec();
    if let Some(i) = answers.iter().position(|a| a.times == 0) {
        return bad_request(format!("answer {i}: times must be at least 1"));
    }
    sim.lock().answers.extend(answers);
    HttpResponse::NoContent().finish()
}

async fn clear_answers(sim: web::Data<AiSim>) -> HttpResponse {
    sim.lock().answers.clear();
    HttpResponse::NoContent().finish()
}

async fn requests(sim: web::Data<AiSim>) -> HttpResponse {
    HttpResponse::Ok().json(&sim.lock().requests)
}

async fn clear_requests(sim: web::Data<AiSim>) -> HttpResponse {
    sim.lock().requests.clear();
    HttpResponse::NoContent().finish()
}

async fn reset_limits(sim: web::Data<AiSim>) -> HttpResponse {
    sim.lock().limits.reset();
    HttpResponse::NoContent().finish()
}

async fn health(sim: web::Data<AiSim>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "vendor": sim.options.vendor.name()}))
}
