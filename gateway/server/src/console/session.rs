//! Console sessions: what signing in with an API token gives a browser.
//!
//! A session is a random 256-bit id in an `HttpOnly` cookie scoped to `/console`, `Secure`
//! when the console is reached over TLS (`[console] public_url` is `https`). The gateway
//! keeps, per session, the SHA-256 of the token it was opened with (never the token), the
//! person and roles, and a separate random CSRF token that every state-changing form carries.
//! Each request re-reads the token from the store, so revoking a token ends its sessions at
//! once. A session ends after `session_idle_s` without a request, `session_max_s` after
//! sign-in, or at sign-out.
//!
//! Two cookies: the console's own is `SameSite=Strict`; the per-ticket view embedded in a
//! helpdesk's page lives in a third-party frame, where a `Strict` cookie is never sent, so
//! signing in *there* sets a second cookie, `SameSite=None; Secure; Partitioned` (CHIPS: kept
//! per top-level site, so it works only inside the helpdesk that embedded it), scoped to
//! `/console/tickets`. Both need the CSRF token for every POST; `frame-ancestors` limits who
//! may embed the view.
//!
//! Sessions live in the gateway's memory: a restart signs everyone out, and with several
//! gateways behind one address the balancer must keep a browser on one gateway.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::http::header::COOKIE;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::{AuthError, Caller, caller_of};

/// The console's cookie (`SameSite=Strict`).
pub(crate) const COOKIE_NAME: &str = "deskbridge_session";
/// The embedded per-ticket view's cookie (`SameSite=None; Partitioned`).
pub(crate) const EMBED_COOKIE_NAME: &str = "deskbridge_embed";
/// Where the embedded cookie is sent.
pub(crate) const EMBED_PATH: &str = "/console/tickets";

/// Sessions held at once; beyond it the oldest expired are dropped, then sign-in is refused.
const MAX_SESSIONS: usize = 10_000;

/// Sessions one token may hold; a new sign-in beyond it ends that token's oldest session, so
/// one token cannot fill the table for everyone.
const MAX_SESSIONS_PER_TOKEN: usize = 20;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The SHA-256 of the token it was opened with.
    token_sha256: String,
    /// Who, as of the last request.
    pub caller: Caller,
    /// The token every state-changing request must carry.
    pub csrf: String,
    opened: Instant,
    last_seen: Instant,
}

/// Why there is no session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoSession {
    /// No cookie, or one naming no session.
    Missing,
    /// It ended (idle, too old, or its token was revoked).
    Ended,
    /// The token store failed.
    Unavailable(String),
}

/// The sessions of this gateway.
#[derive(Debug)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Session>>,
    idle: Duration,
    max: Duration,
    secure: bool,
}

impl Sessions {
    /// Sessions ending after `idle` without use or `max` after sign-in; `secure` marks the
    /// console cookie `Secure`.
    pub(crate) fn new(idle: Duration, max: Duration, secure: bool) -> Self {
        Sessions {
            open: Mutex::new(HashMap::new()),
            idle,
            max,
            secure,
        }
    }

    /// Opens a session for the token with this hash; returns the session id and the session.
    pub(crate) fn open(
        &self,
        token_sha256: String,
        caller: Caller,
    ) -> Result<(String, Session), String> {
        let id = random_token().ok_or("no randomness for a session id")?;
        let csrf = random_token().ok_or("no randomness for a CSRF token")?;
        let now = Instant::now();
        let session = Session {
            token_sha256,
            caller,
            csrf,
            opened: now,
            last_seen: now,
        };
        let mut open = self
            .open
            .lock()
            .map_err(|_| "the session table is poisoned")?;
        let mine: Vec<(String, Instant)> = open
            .iter()
            .filter(|(_, s)| s.token_sha256 == session.token_sha256)
            .map(|(id, s)| (id.clone(), s.opened))
            .collect();
        if mine.len() >= MAX_SESSIONS_PER_TOKEN
            && let Some((oldest, _)) = mine.iter().min_by_key(|(_, opened)| *opened)
        {
            open.remove(oldest);
        }
        if open.len() >= MAX_SESSIONS {
            open.retain(|_, s| self.alive(s, now));
        }
        if open.len() >= MAX_SESSIONS {
            return Err(format!(
                "{MAX_SESSIONS} console sessions are open; try again later"
            ));
        }
        open.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    fn alive(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_seen) < self.idle
            && now.duration_since(session.opened) < self.max
    }

    /// The session a request's cookies name, refreshed: its token re-read from `store`, its
    /// idle clock reset. `embedded` also accepts the embedded view's cookie.
    pub(crate) fn current(
        &self,
        request: &HttpRequest,
        store: &dyn deskbridge_store::Store,
        embedded: bool,
    ) -> Result<Session, NoSession> {
        let mut names = vec![COOKIE_NAME];
        if embedded {
            names.push(EMBED_COOKIE_NAME);
        }
        let ids: Vec<String> = names
            .iter()
            .filter_map(|name| cookie(request, name))
            .collect();
        if ids.is_empty() {
            return Err(NoSession::Missing);
        }
        let now = Instant::now();
        let found = {
            let open = self.open.lock().map_err(|_| NoSession::Missing)?;
            ids.iter()
                .find_map(|id| open.get(id).map(|s| (id.clone(), s.clone())))
        };
        let Some((id, session)) = found else {
            return Err(NoSession::Missing);
        };
        if !self.alive(&session, now) {
            self.close(&id);
            return Err(NoSession::Ended);
        }
        let caller = match caller_of(store, &session.token_sha256) {
            Ok(caller) => caller,
            Err(AuthError::Store(cause)) => return Err(NoSession::Unavailable(cause)),
            Err(_) => {
                self.close(&id);
                return Err(NoSession::Ended);
            }
        };
        let mut open = self.open.lock().map_err(|_| NoSession::Missing)?;
        let Some(live) = open.get_mut(&id) else {
            return Err(NoSession::Ended);
        };
        live.last_seen = now;
        live.caller = caller;
        Ok(live.clone())
    }

    /// Ends the session a request's cookies name (sign-out).
    pub(crate) fn close_for(&self, request: &HttpRequest) {
        for name in [COOKIE_NAME, EMBED_COOKIE_NAME] {
            if let Some(id) = cookie(request, name) {
                self.close(&id);
            }
        }
    }

    fn close(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    /// The `Set-Cookie` value that hands `id` to the browser.
    pub(crate) fn set_cookie(&self, id: &str, embedded: bool) -> String {
        if embedded {
            format!(
                "{EMBED_COOKIE_NAME}={id}; Path={EMBED_PATH}; HttpOnly; Secure; SameSite=None; Partitioned; Max-Age={}",
                self.max.as_secs()
            )
        } else {
            format!(
                "{COOKIE_NAME}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
                self.max.as_secs(),
                if self.secure { "; Secure" } else { "" }
            )
        }
    }

    /// The `Set-Cookie` values that make the browser forget both cookies.
    pub(crate) fn clear_cookies(&self) -> [String; 2] {
        [
            format!(
                "{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
                if self.secure { "; Secure" } else { "" }
            ),
            format!(
                "{EMBED_COOKIE_NAME}=; Path={EMBED_PATH}; HttpOnly; Secure; SameSite=None; Partitioned; Max-Age=0"
            ),
        ]
    }
}

/// Whether `offered` is the session's CSRF token (compared in constant time).
pub(crate) fn csrf_matches(session: &Session, offered: &str) -> bool {
    let expected = session.csrf.as_bytes();
    let offered = offered.as_bytes();
    expected.len() == offered.len()
        && expected
            .iter()
            .zip(offered)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one).
fn cookie(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| value.len() == 43)
}

fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use deskbridge_core::Role;
    use deskbridge_store::{SledStore, Store, TokenRecord};

    fn store_with_token() -> (tempfile::TempDir, SledStore, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SledStore::open(dir.path()).expect("store");
        let hash = "ab".repeat(32);
        store
            .insert_token(
                &hash,
                &TokenRecord {
                    id: "tok_1".into(),
                    person: "Ana".into(),
                    roles: vec![Role::Agent],
                    created_at_ms: 0,
                    revoked_at_ms: None,
                },
            )
            .expect("token");
        (dir, store, hash)
    }

    fn caller() -> Caller {
        Caller {
            person: "Ana".into(),
            roles: vec![Role::Agent],
            token_id: "tok_1".into(),
        }
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends_when_its_token_is_revoked() {
        let (_dir, store, hash) = store_with_token();
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600), false);
        let (id, opened) = sessions.open(hash, caller()).expect("open");
        let request = TestRequest::default()
            .insert_header((COOKIE, format!("other=1; {COOKIE_NAME}={id}")))
            .to_http_request();
        let found = sessions.current(&request, &store, false).expect("found");
        assert_eq!(found.csrf, opened.csrf);
        assert!(csrf_matches(&found, &opened.csrf));
        assert!(!csrf_matches(&found, &"x".repeat(43)));
        assert!(!csrf_matches(&found, ""));

        store.revoke_token("tok_1", 1).expect("revoke");
        assert_eq!(
            sessions.current(&request, &store, false).err(),
            Some(NoSession::Ended)
        );
        // Ended for good, even if the token came back.
        assert_eq!(
            sessions.current(&request, &store, false).err(),
            Some(NoSession::Missing)
        );
    }

    #[test]
    fn an_idle_session_ends_and_the_embedded_cookie_counts_only_where_asked() {
        let (_dir, store, hash) = store_with_token();
        let sessions = Sessions::new(Duration::ZERO, Duration::from_secs(600), true);
        let (id, _) = sessions.open(hash.clone(), caller()).expect("open");
        let embedded = TestRequest::default()
            .insert_header((COOKIE, format!("{EMBED_COOKIE_NAME}={id}")))
            .to_http_request();
        assert_eq!(
            sessions.current(&embedded, &store, true).err(),
            Some(NoSession::Ended)
        );

        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600), true);
        let (id, _) = sessions.open(hash, caller()).expect("open");
        let embedded = TestRequest::default()
            .insert_header((COOKIE, format!("{EMBED_COOKIE_NAME}={id}")))
            .to_http_request();
        assert!(sessions.current(&embedded, &store, true).is_ok());
        assert_eq!(
            sessions.current(&embedded, &store, false).err(),
            Some(NoSession::Missing)
        );
        assert!(sessions.set_cookie(&id, false).contains("SameSite=Strict"));
        assert!(sessions.set_cookie(&id, false).ends_with("; Secure"));
        assert!(sessions.set_cookie(&id, true).contains("Partitioned"));
    }

    #[test]
    fn one_token_cannot_fill_the_session_table() {
        let (_dir, _store, hash) = store_with_token();
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600), false);
        for _ in 0..(MAX_SESSIONS_PER_TOKEN * 3) {
            sessions.open(hash.clone(), caller()).expect("open");
        }
        let held = sessions.open.lock().map(|o| o.len()).unwrap_or(0);
        assert_eq!(held, MAX_SESSIONS_PER_TOKEN);
    }
}
