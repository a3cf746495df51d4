//! `[console]`: the web console served by `deskbridge serve` — sign-in sessions, the address
//! it is reached at, and which helpdesk pages may embed its per-ticket view.

use std::time::Duration;

use serde::Deserialize;

use crate::ConfigError;

/// `[console]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve the console under `/console/` (default: yes).
    pub enabled: bool,
    /// The URL people reach the gateway at, e.g. `https://deskbridge.example.com` (behind a
    /// TLS proxy). An `https` URL marks session cookies `Secure`; it is also the address the
    /// helpdesk sidebar apps are packaged with.
    pub public_url: Option<String>,
    /// A session ends after this many seconds without a request.
    pub session_idle_s: u64,
    /// A session ends this many seconds after sign-in, however active.
    pub session_max_s: u64,
    /// Origins, besides the helpdesks' own `base_url`s, whose pages may embed the per-ticket
    /// view in a frame (e.g. the host of a Freshworks app).
    pub frame_ancestors: Vec<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            public_url: None,
            session_idle_s: 30 * 60,
            session_max_s: 12 * 3600,
            frame_ancestors: Vec::new(),
        }
    }
}

impl ConsoleConfig {
    /// Idle time after which a session ends.
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_s)
    }

    /// Longest life of a session.
    pub fn session_max(&self) -> Duration {
        Duration::from_secs(self.session_max_s)
    }

    /// Whether cookies are marked `Secure` (the console is reached over TLS).
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    /// Checks what the schema cannot: URLs and origins that parse, sessions that make sense.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url
            && origin_of(url).is_none()
        {
            return Err(crate::key_error(
                "console.public_url",
                format!("{url:?} is not an http(s) URL such as https://deskbridge.example.com"),
            ));
        }
        if self.session_idle_s > self.session_max_s {
            return Err(crate::key_error(
                "console.session_idle_s",
                "is longer than session_max_s",
            ));
        }
        for origin in &self.frame_ancestors {
            if origin_of(origin).as_deref() != Some(origin.trim_end_matches('/')) {
                return Err(crate::key_error(
                    "console.frame_ancestors",
                    format!(
                        "{origin:?} is not an origin such as https://acme.freshdesk.com (scheme and host, no path)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The origin (`scheme://host[:port]`) of an http(s) URL, or `None` when it is not one.
/// Characters that could break out of a header value are refused.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let valid = !authority.is_empty()
        && !authority.contains('@')
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert_eq!(
            origin_of("https://Acme.zendesk.com/api/v2").as_deref(),
            Some("https://acme.zendesk.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        for bad in [
            "ftp://x",
            "acme.zendesk.com",
            "https://",
            "https://a b",
            "https://u@evil",
            "https://x;script-src *",
        ] {
            assert_eq!(origin_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn console_settings_are_checked_with_their_key_named() {
        let parse = |text: &str| crate::Config::parse(text, &|_| None);
        let config = parse("[console]\npublic_url = \"https://db.example.com\"\n").expect("valid");
        assert!(config.console.secure_cookies());
        assert!(!crate::Config::default().console.secure_cookies());
        for (text, key) in [
            (
                "[console]\npublic_url = \"ftp://x\"\n",
                "console.public_url",
            ),
            (
                "[console]\nsession_idle_s = 7200\nsession_max_s = 3600\n",
                "console.session_idle_s",
            ),
            (
                "[console]\nframe_ancestors = [\"https://a.example.com/path\"]\n",
                "console.frame_ancestors",
            ),
            (
                "[console]\nframe_ancestors = [\"https://a.example.com; script-src *\"]\n",
                "console.frame_ancestors",
            ),
        ] {
            let error = parse(text).expect_err(text).to_string();
            assert!(error.contains(key), "{text}: {error}");
        }
    }
}
