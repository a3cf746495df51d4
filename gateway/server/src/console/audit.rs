//! The reviewers' approval log: `GET /console/audit` searches entries (by ticket, draft, kind
//! and UTC date range, newest first) and shows the newest signed checkpoint;
//! `GET /console/audit/entries/{index}` gives one entry's canonical bytes, its inclusion proof
//! and the checkpoint it is proven against, for `verify.js` to check **in the browser**: the
//! leaf hash is computed from the entry bytes shown, the audit path is folded to a root
//! (RFC 9162), the root and size must be the checkpoint's, and the checkpoint's Ed25519
//! signature must verify under the log's key — the one the reviewer pinned, if they did, so a
//! server that lies about the entry, the proof, the checkpoint or the key is caught.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbridge_audit::Entry;
use deskbridge_core::Role;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::layout::{
    NO_FRAMES, Section, html_response, page as frame, page_error, secure_headers, utc,
};
use super::{assets, signed_in_as};
use crate::AppState;
use crate::api_error::ApiError;

/// Who reads the log.
const READERS: &[Role] = &[Role::Reviewer, Role::Admin];

/// Entries per page.
const PAGE: usize = 50;

/// The kinds of entry the gateway writes, offered in the search form.
const KINDS: &[&str] = &[
    "config.loaded",
    "draft.created",
    "draft.decided",
    "draft.expired",
    "reply.sending",
    "reply.delivered",
    "reply.cancelled",
    "reply.cancel_undone",
    "drafting.paused",
    "drafting.resumed",
    "token.created",
    "token.revoked",
    "personal.erased",
    "outbox.retried",
    "outbox.cancelled",
];

/// The search form (empty fields mean "any").
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    ticket: Option<String>,
    draft: Option<String>,
    kind: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC).
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC).
    to: Option<String>,
    page: Option<usize>,
}

fn some(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// What an entry must match.
struct Search<'a> {
    ticket: Option<&'a str>,
    draft: Option<&'a str>,
    kind: Option<&'a str>,
    from_ms: Option<i64>,
    until_ms: Option<i64>,
}

impl<'a> Search<'a> {
    fn of(query: &'a AuditQuery) -> Result<Self, ApiError> {
        let day = |field: &str, value: &Option<String>| -> Result<Option<i64>, ApiError> {
            some(value)
                .map(|text| {
                    day_start_ms(text).ok_or_else(|| {
                        ApiError::bad_request(format!("{field}: {text:?} is not a date YYYY-MM-DD"))
                    })
                })
                .transpose()
        };
        Ok(Search {
            ticket: some(&query.ticket),
            draft: some(&query.draft),
            kind: some(&query.kind),
            from_ms: day("from", &query.from)?,
            until_ms: day("to", &query.to)?.map(|start| start + 86_400_000),
        })
    }

    fn matches(&self, entry: &Entry) -> bool {
        let field = |name: &str, wanted: Option<&str>| {
            wanted
                .is_none_or(|wanted| entry.data.get(name).and_then(|v| v.as_str()) == Some(wanted))
        };
        field("ticket_id", self.ticket)
            && field("draft_id", self.draft)
            && self.kind.is_none_or(|kind| entry.kind == kind)
            && self.from_ms.is_none_or(|from| entry.at_ms >= from)
            && self.until_ms.is_none_or(|until| entry.at_ms < until)
    }
}

/// Unix milliseconds of 00:00 UTC on `YYYY-MM-DD`.
fn day_start_ms(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(deskbridge_core::civil_time::day_start_ms(year, month, day))
}

/// `GET /console/audit`.
pub(crate) async fn page(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> HttpResponse {
    let (session, _) = match signed_in_as(&request, &state, READERS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(audit) = state.audit.clone() else {
        return page_error(
            Some(&session),
            &ApiError::not_found("no approval log is configured"),
        );
    };
    let query = query.into_inner();
    if let Err(error) = Search::of(&query) {
        return page_error(Some(&session), &error);
    }
    let page_no = query.page.unwrap_or(0).min(100_000);
    let (entries, total, query) = match web::block(move || {
        let found = Search::of(&query)
            .map(|search| audit.search(|e| search.matches(e), page_no * PAGE, PAGE));
        (found, query)
    })
    .await
    {
        Ok((Ok(Ok((entries, total))), query)) => (entries, total, query),
        Ok((Ok(Err(error)), _)) => {
            return page_error(
                Some(&session),
                &ApiError::internal("searching the approval log", error),
            );
        }
        Ok((Err(error), _)) => return page_error(Some(&session), &error),
        Err(error) => {
            return page_error(
                Some(&session),
                &ApiError::internal("searching the approval log", error),
            );
        }
    };
    let checkpoint = state.audit.as_ref().and_then(|a| a.latest_checkpoint());
    let key = state.audit.as_ref().map(|a| a.verifier().to_key_string());
    let body = html! {
        h1 { "Approval log" }
        section.checkpoint aria-labelledby="checkpoint-h" {
            h2 id="checkpoint-h" { "Newest signed checkpoint" }
            @match &checkpoint {
                Some((checkpoint, note)) => {
                    dl {
                        dt { "Log" } dd { (checkpoint.origin) }
                        dt { "Entries covered" } dd id="checkpoint-size" { (checkpoint.size) }
                        dt { "Signed note" } dd { pre.note { (note) } }
                        dt { "Key the server names" } dd { code id="server-key" { (key.as_deref().unwrap_or("")) } }
                    }
                }
                None => p { "No checkpoint has been signed yet; entries are proven once one is." },
            }
            form.pin data-pin-form {
                label for="pinned-key" { "Key you trust (pin it once, from your own records; proofs are checked against it)" }
                input id="pinned-key" type="text" size="60" autocomplete="off" spellcheck="false";
                button type="submit" { "Pin key" }
                span data-pin-status role="status" {}
            }
        }
        p { a href="/console/audit/export" download { "Download the log up to this checkpoint (zip)" }
            " — unpack it and run " code { "deskbridge audit verify approval-log --pubkey log.pub" } "." }
        (search_form(&query))
        p { (total) @if total == 1 { " matching entry." } @else if total > 1 { " matching entries, newest first." } @else { " matching entries." } }
        @if !entries.is_empty() {
            table.audit {
                caption { "Entries" }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Time (UTC)" } th scope="col" { "Kind" }
                    th scope="col" { "Draft" } th scope="col" { "Ticket" } th scope="col" { "Details" }
                    th scope="col" { "Proof" }
                } }
                tbody {
                    @for entry in &entries {
                        tr {
                            td { (entry.index) }
                            td { (utc(entry.at_ms)) }
                            td { (entry.kind) }
                            td { (entry.data.get("draft_id").and_then(|v| v.as_str()).unwrap_or("")) }
                            td { (entry.data.get("ticket_id").and_then(|v| v.as_str()).unwrap_or("")) }
                            td.details { (details(entry)) }
                            td {
                                button type="button" data-verify=(entry.index) aria-describedby=(format!("proof-{}", entry.index)) { "Verify" }
                                " " span.proof id=(format!("proof-{}", entry.index)) role="status" data-proof-for=(entry.index) {}
                            }
                        }
                    }
                }
            }
        }
        nav.pages aria-label="Pages" {
            @if page_no > 0 {
                a rel="prev" href=(page_link(&query, page_no - 1)) { "Newer" } " "
            }
            @if (page_no + 1) * PAGE < total {
                a rel="next" href=(page_link(&query, page_no + 1)) { "Older" }
            }
        }
        script src=(assets::path("verify.js")) defer {}
    };
    html_response(
        StatusCode::OK,
        frame("Approval log", Some(&session), Section::Audit, body),
        NO_FRAMES,
    )
}

/// The public facts of an entry worth a glance (personal values are commitments only).
fn details(entry: &Entry) -> String {
    entry
        .data
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "draft_id" | "ticket_id"))
        .take(6)
        .map(|(key, value)| match value.as_str() {
            Some(text) => format!("{key}: {}", text.chars().take(24).collect::<String>()),
            None => format!("{key}: {value}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn page_link(query: &AuditQuery, page: usize) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (key, value) in [
        ("ticket", &query.ticket),
        ("draft", &query.draft),
        ("kind", &query.kind),
        ("from", &query.from),
        ("to", &query.to),
    ] {
        if let Some(value) = some(value) {
            pairs.push((key, value.to_owned()));
        }
    }
    pairs.push(("page", page.to_string()));
    format!(
        "/console/audit?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

fn search_form(query: &AuditQuery) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    html! {
        form.filters method="get" action="/console/audit" role="search" aria-label="Search the approval log" {
            label { "Ticket " input type="text" name="ticket" size="10" value=(value(&query.ticket)); }
            label { "Draft " input type="text" name="draft" size="24" value=(value(&query.draft)); }
            label { "Kind "
                select name="kind" {
                    option value="" { "any" }
                    @for kind in KINDS { option value=(kind) selected[query.kind.as_deref() == Some(*kind)] { (kind) } }
                }
            }
            label { "From " input type="date" name="from" value=(value(&query.from)); }
            label { "To " input type="date" name="to" value=(value(&query.to)); }
            button type="submit" { "Search" }
        }
    }
}

/// The largest export the console hands out; beyond it, `deskbridge audit export`.
const MAX_EXPORT_BYTES: usize = 256 * 1024 * 1024;

/// `GET /console/audit/export`: the log up to its newest checkpoint as a zip of the export
/// directory (`deskbridge audit verify` checks it offline once unpacked).
pub(crate) async fn export(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (session, _) = match signed_in_as(&request, &state, READERS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(audit) = state.audit.clone() else {
        return page_error(
            Some(&session),
            &ApiError::not_found("no approval log is configured"),
        );
    };
    let zipped = web::block(move || -> Result<(Vec<u8>, u64), ApiError> {
        // A fresh private directory (0700, unpredictable name), removed when done.
        let scratch = tempfile::Builder::new()
            .prefix("deskbridge-export-")
            .tempdir()
            .map_err(|e| ApiError::internal("making a directory for the export", e))?;
        let dir = scratch.path().join("approval-log");
        let summary = audit
            .export(&dir)
            .map_err(|e| ApiError::internal("exporting the approval log", e));
        let files = summary.and_then(|summary| {
            let mut files: Vec<(String, Vec<u8>)> = Vec::new();
            let mut total = 0usize;
            let listing = std::fs::read_dir(&dir)
                .map_err(|e| ApiError::internal("reading the export", e))?;
            for entry in listing {
                let entry = entry.map_err(|e| ApiError::internal("reading the export", e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let size = entry
                    .metadata()
                    .map_err(|e| ApiError::internal("reading the export", e))?
                    .len();
                total = total.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
                if total > MAX_EXPORT_BYTES {
                    return Err(ApiError::refused(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "the log is too large to download here; use `deskbridge audit export` on the gateway's host",
                    ));
                }
                let bytes = std::fs::read(entry.path())
                    .map_err(|e| ApiError::internal("reading the export", e))?;
                files.push((format!("approval-log/{name}"), bytes));
            }
            files.sort();
            Ok((files, summary.entries))
        });
        drop(scratch);
        let (files, entries) = files?;
        Ok((crate::zip::stored(&files), entries))
    })
    .await;
    match zipped {
        Ok(Ok((zip, entries))) => {
            let mut response = HttpResponse::Ok()
                .content_type("application/zip")
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"approval-log-{entries}.zip\""),
                ))
                .body(zip);
            secure_headers(&mut response, NO_FRAMES);
            response
        }
        Ok(Err(error)) => page_error(Some(&session), &error),
        Err(e) => page_error(
            Some(&session),
            &ApiError::internal("exporting the approval log", e),
        ),
    }
}

/// What `verify.js` checks one entry with.
#[derive(Debug, Serialize)]
struct EntryProof {
    index: u64,
    /// The entry's canonical JSON, exactly the bytes its leaf hash covers.
    canonical: String,
    /// The audit path, hex, leaf to root.
    proof: Vec<String>,
    /// The size of the tree the proof is for (the checkpoint's).
    size: u64,
    /// The signed checkpoint note.
    checkpoint: String,
    /// The log's verifier key as the server names it.
    public_key: String,
}

/// `GET /console/audit/entries/{index}`: JSON for the in-browser check.
pub(crate) async fn entry(
    request: HttpRequest,
    state: web::Data<AppState>,
    index: web::Path<u64>,
) -> HttpResponse {
    let (_session, _) = match signed_in_as(&request, &state, READERS) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let index = index.into_inner();
    let result = match state.audit.clone() {
        None => Err(ApiError::not_found("no approval log is configured")),
        Some(audit) => web::block(move || proof_of(&audit, index))
            .await
            .unwrap_or_else(|e| Err(ApiError::internal("proving an entry", e))),
    };
    let mut response = match result {
        Ok(proof) => HttpResponse::Ok().json(proof),
        Err(error) => actix_web::ResponseError::error_response(&error),
    };
    secure_headers(&mut response, NO_FRAMES);
    response
}

fn proof_of(audit: &deskbridge_audit::AuditLog, index: u64) -> Result<EntryProof, ApiError> {
    let (checkpoint, note) = audit
        .latest_checkpoint()
        .ok_or_else(|| ApiError::conflict("no checkpoint has been signed yet"))?;
    if index >= checkpoint.size {
        return Err(ApiError::conflict(format!(
            "entry {index} is not covered by the newest checkpoint (size {}) yet; it will be by the next",
            checkpoint.size
        )));
    }
    let entry = audit
        .entry(index)
        .map_err(|e| ApiError::internal("reading the entry", e))?
        .ok_or_else(|| ApiError::not_found(format!("no entry {index}")))?;
    let canonical = entry
        .canonical()
        .map_err(|e| ApiError::internal("encoding the entry", e))?;
    let proof = audit
        .inclusion_proof(index, checkpoint.size)
        .map_err(|e| ApiError::internal("proving the entry", e))?;
    Ok(EntryProof {
        index,
        canonical: String::from_utf8_lossy(&canonical).into_owned(),
        proof: proof.iter().map(hex::encode).collect(),
        size: checkpoint.size,
        checkpoint: note,
        public_key: audit.verifier().to_key_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_unix_milliseconds() {
        assert_eq!(day_start_ms("1970-01-01"), Some(0));
        assert_eq!(day_start_ms("2026-12-04"), Some(1_796_342_400_000));
        assert_eq!(utc(1_796_342_400_000 + 3_723_000), "2026-12-04 01:02:03");
        assert_eq!(
            utc(day_start_ms("2024-02-29").unwrap_or_default()),
            "2024-02-29 00:00:00"
        );
        for bad in ["2026-13-01", "26-1-1", "x", "2026-12", "2026-12-04-1"] {
            assert_eq!(day_start_ms(bad), None, "{bad}");
        }
    }
}
