//! The HTTP plumbing shared by the API clients: the rate gate before every request, auth,
//! quota headers after every response, and the classification of failures into [`ApiError`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{ApiError, RateGate};

/// What a helpdesk says when it is out of quota but gives no reset time.
const DEFAULT_QUOTA_PAUSE: Duration = Duration::from_secs(60);
/// Longest pause the gateway honours from a `Retry-After` (a bad header must not stall a
/// helpdesk for a day).
const MAX_PAUSE: Duration = Duration::from_secs(15 * 60);

/// How requests authenticate.
#[derive(Clone)]
pub(crate) enum Auth {
    /// HTTP basic.
    Basic { user: String, password: String },
    /// OAuth bearer token.
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Bearer(_) => write!(f, "Bearer(***)"),
        }
    }
}

/// A response's parsed body and headers.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) body: Value,
    pub(crate) headers: HeaderMap,
}

impl Answer {
    /// Whether a `link: <…>; rel="next"` header announces another page (Freshdesk's lists).
    pub(crate) fn has_next_page(&self) -> bool {
        self.headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|link| link.contains("rel=\"next\""))
    }
}

/// One helpdesk instance's HTTP endpoint.
#[derive(Debug)]
pub(crate) struct Api {
    client: reqwest::Client,
    base_url: String,
    auth: Auth,
    gate: Arc<RateGate>,
}

impl Api {
    pub(crate) fn new(
        base_url: &str,
        auth: Auth,
        gate: Arc<RateGate>,
        timeout: Duration,
    ) -> Result<Api, ApiError> {
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
            // A redirect would turn a PUT or POST into a GET that "succeeds": never follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Permanent {
                status: None,
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Api {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            gate,
        })
    }

    /// The instance's base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends one request. `write` says whether it changes the helpdesk (which decides whether
    /// an unanswered request may have been applied).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        write: bool,
    ) -> Result<Answer, ApiError> {
        self.gate.acquire().await;
        let what = format!("{method} {path}");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .header(ACCEPT, "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        request = match &self.auth {
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&what, &e, write))?;
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // `Retry-After` is the authority on a 429; quota headers only matter otherwise.
            let retry_after = header_seconds(&headers, "retry-after").map(|d| d.min(MAX_PAUSE));
            self.gate
                .pause_for(retry_after.unwrap_or(DEFAULT_QUOTA_PAUSE));
            return Err(ApiError::RateLimited { retry_after });
        }
        self.observe_quota(&headers);
        let text = response
            .text()
            .await
            .map_err(|e| transport_error(&what, &e, write))?;
        if matches!(status.as_u16(), 408 | 409 | 423) {
            // Timeout before the body was read, an edit conflict, a locked record: nothing
            // was applied, and trying again later is the documented remedy.
            return Err(ApiError::Transient {
                reason: format!("{what}: {status} {}", snippet(&text)),
                maybe_applied: false,
            });
        }
        if status.is_server_error() {
            return Err(ApiError::Transient {
                reason: format!("{what}: {status} {}", snippet(&text)),
                maybe_applied: write,
            });
        }
        if !status.is_success() {
            return Err(ApiError::Permanent {
                status: Some(status.as_u16()),
                reason: format!("{what}: {status} {}", snippet(&text)),
            });
        }
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(value) => value,
                // A write that got 2xx was applied, whatever its body says.
                Err(_) if write => Value::Null,
                Err(e) => {
                    return Err(ApiError::Permanent {
                        status: Some(status.as_u16()),
                        reason: format!("{what}: the answer is not JSON ({e})"),
                    });
                }
            }
        };
        Ok(Answer { body, headers })
    }

    /// Pauses the gate when the helpdesk reports an exhausted quota.
    fn observe_quota(&self, headers: &HeaderMap) {
        let remaining = [
            "x-ratelimit-remaining",
            "ratelimit-remaining",
            "x-rate-limit-remaining",
        ]
        .iter()
        .find_map(|name| header_u64(headers, name));
        if remaining == Some(0) {
            let reset = header_seconds(headers, "ratelimit-reset")
                .or_else(|| header_seconds(headers, "retry-after"))
                .unwrap_or(DEFAULT_QUOTA_PAUSE);
            self.gate.pause_for(reset.min(MAX_PAUSE));
        }
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn header_seconds(headers: &HeaderMap, name: &str) -> Option<Duration> {
    header_u64(headers, name).map(Duration::from_secs)
}

fn transport_error(what: &str, error: &reqwest::Error, write: bool) -> ApiError {
    // A refused connection never reached the helpdesk; anything later might have.
    let maybe_applied = write && !error.is_connect();
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    ApiError::Transient {
        reason: format!("{what}: {kind} ({error})"),
        maybe_applied,
    }
}

fn snippet(text: &str) -> String {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].replace(['\n', '\r'], " ")
}

/// Reads a JSON value that helpdesks send as a number or a string (ids) as a string.
pub(crate) fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether an id is a plain positive integer, as both helpdesks' ticket ids are. Anything
/// else is refused before it reaches a URL path.
pub(crate) fn is_numeric_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn bad_id(id: &str) -> ApiError {
    ApiError::Permanent {
        status: None,
        reason: format!("ticket id {id:?} is not a number"),
    }
}

pub(crate) fn malformed(what: &str) -> ApiError {
    ApiError::Permanent {
        status: None,
        reason: format!("the helpdesk's answer lacks {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Serves one canned HTTP response per connection, in order, on a loopback port.
    fn canned(responses: Vec<&'static str>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        std::thread::spawn(move || {
            for response in responses {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        format!("http://{address}")
    }

    fn api(base: &str) -> (Api, Arc<RateGate>) {
        let gate = Arc::new(RateGate::new(6000));
        let auth = Auth::Basic {
            user: "u".into(),
            password: "p".into(),
        };
        let api = Api::new(base, auth, gate.clone(), Duration::from_secs(5)).expect("client");
        (api, gate)
    }

    #[tokio::test]
    async fn an_exhausted_quota_pauses_the_gate_and_429_reports_retry_after() {
        let base = canned(vec![
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-RateLimit-Remaining: 0\r\nRetry-After: 7\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let (api, gate) = self::api(&base);
        api.send(Method::GET, "/a", &[], None, false)
            .await
            .expect("200");
        let paused = gate.paused_for().expect("quota exhausted pauses the gate");
        assert!(paused > Duration::from_secs(5), "{paused:?}");

        let (api, gate) = self::api(&base);
        let err = api
            .send(Method::GET, "/b", &[], None, false)
            .await
            .expect_err("429");
        assert_eq!(
            err,
            ApiError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert!(gate.paused_for().is_some());
    }

    #[tokio::test]
    async fn failures_are_classified_for_the_retry_logic() {
        let base = canned(vec![
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndown",
            "HTTP/1.1 422 Unprocessable Entity\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad",
        ]);
        let (api, _) = api(&base);
        let err = api
            .send(Method::PUT, "/w", &[], None, true)
            .await
            .expect_err("503");
        assert!(
            matches!(
                err,
                ApiError::Transient {
                    maybe_applied: true,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = api
            .send(Method::PUT, "/w", &[], None, true)
            .await
            .expect_err("422");
        assert!(
            matches!(
                err,
                ApiError::Permanent {
                    status: Some(422),
                    ..
                }
            ),
            "{err:?}"
        );
        // Nobody listening: the write cannot have been applied.
        let (api, _) = self::api("http://127.0.0.1:9");
        let err = api
            .send(Method::PUT, "/w", &[], None, true)
            .await
            .expect_err("refused");
        assert!(
            matches!(
                err,
                ApiError::Transient {
                    maybe_applied: false,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
