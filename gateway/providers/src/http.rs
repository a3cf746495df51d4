//! What the HTTP adapters share: one client per provider, a bounded read of the answer, the
//! classification of a status into a [`FailureKind`], the provider's error message out of its
//! error body, and the `Retry-After` header.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::{FailureKind, ProviderError};

/// The largest answer body read from a provider; a larger one is a bad answer.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// The longest provider error message kept (in logs and reports).
const MAX_MESSAGE_CHARS: usize = 300;

/// An HTTP client for one provider: no redirects (a redirect would resend the prompt somewhere
/// the operator did not configure), the gateway's user agent, TLS with the ring provider.
pub(crate) fn client(provider: &str) -> Result<reqwest::Client, ProviderError> {
    static TLS: std::sync::Once = std::sync::Once::new();
    TLS.call_once(|| {
        // Err: a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        // Idle connections are kept (reqwest's default: no cap per host), so a provider with
        // thousands of requests in flight does not pay a new connection for each.
        .build()
        .map_err(|e| {
            ProviderError::new(
                provider,
                FailureKind::Unreachable,
                format!("cannot build the HTTP client: {e}"),
            )
        })
}

/// An answer's status, headers and JSON body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

/// Sends `request` and reads its answer (at most [`MAX_ANSWER_BYTES`]).
pub(crate) async fn send(
    provider: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Reply, ProviderError> {
    let failed = |kind, message: String| ProviderError::new(provider, kind, message);
    let mut response = request.timeout(timeout).send().await.map_err(|e| {
        if e.is_timeout() {
            failed(
                FailureKind::Timeout,
                format!("no answer within {timeout:?}"),
            )
        } else {
            // The error's own text can carry the URL; the kind is what matters.
            failed(
                FailureKind::Unreachable,
                format!("the request failed: {}", without_url(&e)),
            )
        }
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(failed(
                        FailureKind::BadAnswer,
                        format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return Err(failed(
                    FailureKind::Timeout,
                    format!("the answer did not arrive within {timeout:?}"),
                ));
            }
            Err(e) => {
                return Err(failed(
                    FailureKind::Unreachable,
                    format!("reading the answer failed: {}", without_url(&e)),
                ));
            }
        }
    }
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(body) => body,
            // An error page that is not JSON still has a status worth classifying.
            Err(_) if !status.is_success() => Value::Null,
            Err(e) => {
                return Err(failed(
                    FailureKind::BadAnswer,
                    format!("the answer is not JSON: {e}"),
                ));
            }
        }
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn without_url(error: &reqwest::Error) -> String {
    let mut shown = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    // The innermost cause says what happened (connection refused, DNS, TLS).
    while let Some(e) = source {
        shown = e.to_string();
        source = e.source();
    }
    if error.is_connect() {
        format!("cannot connect ({shown})")
    } else {
        shown
    }
}

/// What kind of failure a non-success status is.
pub(crate) fn classify(status: StatusCode) -> FailureKind {
    match status.as_u16() {
        401 | 403 => FailureKind::Unauthorized,
        404 => FailureKind::UnknownModel,
        408 => FailureKind::Timeout,
        429 => FailureKind::RateLimited,
        503 | 529 => FailureKind::Overloaded,
        500..=599 => FailureKind::ServerError,
        _ => FailureKind::BadRequest,
    }
}

/// The failure a non-success answer stands for, with the vendor's own message
/// (`error.message` in both vendors' error bodies) and its `Retry-After`.
pub(crate) fn failure(provider: &str, reply: &Reply) -> ProviderError {
    let message = reply.body["error"]["message"]
        .as_str()
        .map(|m| shorten(m, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| format!("HTTP {}", reply.status));
    ProviderError::new(
        provider,
        classify(reply.status),
        format!("{} ({message})", reply.status.as_u16()),
    )
    .with_retry_after(retry_after(&reply.headers))
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// `retry-after-ms` (OpenAI, Azure) or `retry-after` in seconds. The HTTP-date form is not
/// read (none of the supported vendors sends it); the guard's backoff applies then.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
}

/// A header's value as a number.
pub(crate) fn number(headers: &HeaderMap, name: &str) -> Option<u32> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The JSON body of a request, for `reqwest`.
pub(crate) fn json_body(body: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

/// `{base}/v1/{path}`, whether or not the operator wrote the `/v1` into the base URL.
pub(crate) fn v1_url(base_url: &str, path: &str) -> String {
    let base = base_url.trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/{path}")
    } else {
        format!("{base}/v1/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_are_classified_as_the_router_needs() {
        let kind = |s: u16| classify(StatusCode::from_u16(s).expect("status"));
        assert_eq!(kind(429), FailureKind::RateLimited);
        assert_eq!(kind(529), FailureKind::Overloaded);
        assert_eq!(kind(503), FailureKind::Overloaded);
        assert_eq!(kind(500), FailureKind::ServerError);
        assert_eq!(kind(401), FailureKind::Unauthorized);
        assert_eq!(kind(404), FailureKind::UnknownModel);
        assert_eq!(kind(400), FailureKind::BadRequest);
    }

    #[test]
    fn retry_after_reads_milliseconds_first_then_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        let mut dated = HeaderMap::new();
        dated.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&dated), None);
    }

    #[test]
    fn the_v1_prefix_is_added_once() {
        assert_eq!(
            v1_url("http://localhost:11434", "chat/completions"),
            "http://localhost:11434/v1/chat/completions"
        );
        assert_eq!(
            v1_url("https://api.openai.com/v1/", "chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
    }

    #[test]
    fn long_provider_messages_are_shortened() {
        let long = "x".repeat(1000);
        assert_eq!(shorten(&long, 300).chars().count(), 301);
        assert_eq!(shorten("short", 300), "short");
    }
}
