//! Verifies the signatures helpdesks put on webhooks, before anything of the request is
//! trusted or stored: Zendesk's `X-Zendesk-Webhook-Signature` and the Standard Webhooks
//! scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`) that the generic ingest
//! accepts. Pure functions over the raw body and header values: the caller passes the clock,
//! so every path is testable. MACs are compared in constant time; timestamps outside the
//! tolerance are refused to stop replays.

pub mod standard;
pub mod zendesk;

use std::time::Duration;

use thiserror::Error;

/// The default tolerance between a webhook's timestamp and our clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Why a webhook's signature was refused. Each maps to a 401 with this text as the detail.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// A required header is absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// The timestamp header is not a timestamp.
    #[error("header `{header}` is not a valid timestamp: {value:?}")]
    BadTimestamp {
        /// The header.
        header: &'static str,
        /// Its value.
        value: String,
    },
    /// The timestamp is too far from our clock.
    #[error(
        "timestamp is {skew_s} s away from the gateway's clock; the tolerance is {tolerance_s} s"
    )]
    StaleTimestamp {
        /// Distance in seconds.
        skew_s: u64,
        /// The tolerance in seconds.
        tolerance_s: u64,
    },
    /// The signature header is not in the expected form.
    #[error("header `{0}` is malformed")]
    MalformedSignature(&'static str),
    /// The configured secret is unusable.
    #[error("the configured webhook secret is invalid: {0}")]
    BadSecret(&'static str),
    /// No signature matched.
    #[error("signature does not match")]
    Mismatch,
}

/// Checks that `timestamp_s` (Unix seconds) is within `tolerance` of `now_s`.
fn check_freshness(
    timestamp_s: i64,
    now_s: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let skew = now_s.abs_diff(timestamp_s);
    if skew > tolerance.as_secs() {
        return Err(SignatureError::StaleTimestamp {
            skew_s: skew,
            tolerance_s: tolerance.as_secs(),
        });
    }
    Ok(())
}

/// Compares two secrets (a shared-secret header, a basic-auth password) in time that does not
/// depend on where they differ.
pub fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    // MAC both under one key and compare the MACs in constant time: equal-length work
    // whatever the inputs, and no early exit.
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"deskbridge-secret-compare")
    else {
        return false;
    };
    mac.update(expected);
    let expected_tag = mac.finalize().into_bytes();
    verify_mac(b"deskbridge-secret-compare", &[given], &expected_tag)
}

/// Base64 HMAC-SHA256 of the concatenated `parts` under `key`.
fn sign_mac(key: &[u8], parts: &[&[u8]]) -> String {
    use base64::Engine as _;
    use hmac::Mac;
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => return String::new(),
    };
    for part in parts {
        mac.update(part);
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// HMAC-SHA256 of the concatenated `parts` under `key`, checked against `expected` in
/// constant time.
fn verify_mac(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content() {
        assert!(secrets_equal(b"hunter2", b"hunter2"));
        assert!(!secrets_equal(b"hunter3", b"hunter2"));
        assert!(!secrets_equal(b"hunter2x", b"hunter2"));
        assert!(!secrets_equal(b"", b"hunter2"));
    }
}
