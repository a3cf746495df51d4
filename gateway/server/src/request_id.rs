//! Request ids: every HTTP request gets one — the caller's `X-Request-Id` when it is a
//! plain token of at most 64 characters, else a new `req_…` — answered in the response's
//! `X-Request-Id`, carried by a `request` span around the handler (so every log line of the
//! request names it), and stored with a webhook's event, whose processing and outbox lines
//! name it too.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};
use tracing::Instrument as _;

/// The header that carries the id both ways.
pub const HEADER: &str = "x-request-id";

/// A request's id, kept in its extensions.
#[derive(Debug, Clone)]
struct RequestId(String);

/// The id of `request`, if the middleware gave it one.
pub(crate) fn of(request: &HttpRequest) -> Option<String> {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
}

/// The caller's id if it is a plain token, else a new one: a per-process random prefix and
/// a counter (unique without a system call per request).
fn accept_or_new(offered: Option<&HeaderValue>) -> String {
    let offered = offered.and_then(|v| v.to_str().ok()).filter(|v| {
        (1..=64).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if let Some(id) = offered {
        return id.to_owned();
    }
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 4];
        let _ = getrandom::fill(&mut bytes);
        hex::encode(bytes)
    });
    format!("req_{prefix}{:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The middleware (`App::wrap(from_fn(request_id::middleware))`).
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = accept_or_new(request.headers().get(HEADER));
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.call(request).instrument(span).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_anything_else_replaced() {
        let keep = HeaderValue::from_static("abc-123_x.y");
        assert_eq!(accept_or_new(Some(&keep)), "abc-123_x.y");
        for bad in ["a b", "x\u{7f}", ""] {
            let value = HeaderValue::from_str(bad).ok();
            assert!(accept_or_new(value.as_ref()).starts_with("req_"), "{bad:?}");
        }
        let long = HeaderValue::from_str(&"a".repeat(65)).expect("value");
        assert!(accept_or_new(Some(&long)).starts_with("req_"));
        assert_ne!(accept_or_new(None), accept_or_new(None));
    }
}
