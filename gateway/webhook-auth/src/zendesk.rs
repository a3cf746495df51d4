//! Zendesk webhooks: `X-Zendesk-Webhook-Signature` is
//! `base64(HMAC-SHA256(secret, timestamp + body))`, where the key is the signing secret's
//! literal bytes and `timestamp` is the `X-Zendesk-Webhook-Signature-Timestamp` value exactly
//! as sent (an RFC 3339 time; Unix seconds are accepted too).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{SignatureError, check_freshness, verify_mac};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Zendesk-Webhook-Signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Zendesk-Webhook-Signature-Timestamp";

/// Verifies one Zendesk webhook. `signature` and `timestamp` are the header values (`None`
/// when absent), `now_s` the gateway's clock in Unix seconds.
pub fn verify(
    secret: &str,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now_s: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
    let timestamp = timestamp.ok_or(SignatureError::MissingHeader(TIMESTAMP_HEADER))?;
    let timestamp_s = parse_timestamp(timestamp).ok_or_else(|| SignatureError::BadTimestamp {
        header: TIMESTAMP_HEADER,
        value: timestamp.to_owned(),
    })?;
    check_freshness(timestamp_s, now_s, tolerance)?;
    let expected = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::MalformedSignature(SIGNATURE_HEADER))?;
    if verify_mac(secret.as_bytes(), &[timestamp.as_bytes(), body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The signature Zendesk would send for `body` at `timestamp` (for simulators and tests).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    crate::sign_mac(secret.as_bytes(), &[timestamp.as_bytes(), body])
}

fn parse_timestamp(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds);
    }
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TOLERANCE;

    const SECRET: &str = "dGhpc19pc19hX3NlY3JldA";
    const TIMESTAMP: &str = "2026-11-25T10:00:00Z";
    const NOW: i64 = 1_795_600_800; // 2026-11-25T10:00:00Z
    const BODY: &[u8] = br#"{"type":"zen:event-type:ticket.created","id":"01J"}"#;
    /// Computed independently (Python's `hmac` module) for the values above.
    const SIGNATURE: &str = "FbHtUBPC8ghlMAquXtZDsbHjoIFX9yprrdXeB+diDQA=";

    fn check(
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        verify(SECRET, signature, timestamp, body, now, DEFAULT_TOLERANCE)
    }

    #[test]
    fn the_clock_constant_is_the_timestamp() {
        assert_eq!(parse_timestamp(TIMESTAMP), Some(NOW));
    }

    #[test]
    fn signing_reproduces_the_independent_signature() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn a_genuine_webhook_verifies() {
        assert_eq!(check(Some(SIGNATURE), Some(TIMESTAMP), BODY, NOW), Ok(()));
        assert_eq!(
            check(Some(SIGNATURE), Some(TIMESTAMP), BODY, NOW + 299),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_secret_or_timestamp_is_refused() {
        assert_eq!(
            check(
                Some(SIGNATURE),
                Some(TIMESTAMP),
                br#"{"type":"zen:event-type:ticket.created","id":"01K"}"#,
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                "other",
                Some(SIGNATURE),
                Some(TIMESTAMP),
                BODY,
                NOW,
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Some(SIGNATURE), Some("2026-11-25T10:00:01Z"), BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        assert_eq!(
            check(Some(SIGNATURE), Some(TIMESTAMP), BODY, NOW + 301),
            Err(SignatureError::StaleTimestamp {
                skew_s: 301,
                tolerance_s: 300
            })
        );
        assert!(matches!(
            check(Some(SIGNATURE), Some(TIMESTAMP), BODY, NOW - 3600),
            Err(SignatureError::StaleTimestamp { .. })
        ));
    }

    #[test]
    fn missing_or_malformed_headers_are_named() {
        assert_eq!(
            check(None, Some(TIMESTAMP), BODY, NOW),
            Err(SignatureError::MissingHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            check(Some(SIGNATURE), None, BODY, NOW),
            Err(SignatureError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert!(matches!(
            check(Some(SIGNATURE), Some("yesterday"), BODY, NOW),
            Err(SignatureError::BadTimestamp { .. })
        ));
        assert_eq!(
            check(Some("not base64!"), Some(TIMESTAMP), BODY, NOW),
            Err(SignatureError::MalformedSignature(SIGNATURE_HEADER))
        );
    }
}
