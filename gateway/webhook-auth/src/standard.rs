//! Standard Webhooks (standardwebhooks.com), used by `POST /webhooks/generic`: the secret is
//! `whsec_` + base64 key; `webhook-signature` holds space-separated `v1,<base64>` entries over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`; `webhook-timestamp` is Unix seconds. Any one
//! matching entry verifies (senders list several while rotating secrets).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{SignatureError, check_freshness, verify_mac};

/// The message id header (also the deduplication key).
pub const ID_HEADER: &str = "webhook-id";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// The header values of one delivery (`None` when absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// Decodes a `whsec_…` secret into its key.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| SignatureError::BadSecret("not base64 after the `whsec_` prefix"))?;
    if key.is_empty() {
        return Err(SignatureError::BadSecret("empty key"));
    }
    Ok(key)
}

/// The `webhook-signature` value a sender puts on a delivery (`v1,<base64>`).
pub fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    format!("v1,{}", crate::sign_mac(key, &parts))
}

/// Verifies one delivery against `key` (see [`decode_secret`]) at `now_s` Unix seconds.
pub fn verify(
    key: &[u8],
    headers: Headers<'_>,
    body: &[u8],
    now_s: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let id = headers.id.ok_or(SignatureError::MissingHeader(ID_HEADER))?;
    let timestamp = headers
        .timestamp
        .ok_or(SignatureError::MissingHeader(TIMESTAMP_HEADER))?;
    let signatures = headers
        .signature
        .ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
    let timestamp_s: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp {
            header: TIMESTAMP_HEADER,
            value: timestamp.to_owned(),
        })?;
    check_freshness(timestamp_s, now_s, tolerance)?;
    let mut saw_v1 = false;
    for entry in signatures.split_whitespace() {
        let Some(encoded) = entry.strip_prefix("v1,") else {
            continue; // other schemes (e.g. v1a asymmetric) are not ours to check
        };
        saw_v1 = true;
        let Ok(expected) = STANDARD.decode(encoded) else {
            continue;
        };
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.trim().as_bytes(), b".", body];
        if verify_mac(key, &parts, &expected) {
            return Ok(());
        }
    }
    if saw_v1 {
        Err(SignatureError::Mismatch)
    } else {
        Err(SignatureError::MalformedSignature(SIGNATURE_HEADER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TOLERANCE;

    // The example published with the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const NOW: i64 = 1_614_265_330;

    fn headers<'a>(signature: &'a str) -> Headers<'a> {
        Headers {
            id: Some(ID),
            timestamp: Some(TIMESTAMP),
            signature: Some(signature),
        }
    }

    fn check(h: Headers<'_>, body: &[u8], now: i64) -> Result<(), SignatureError> {
        let key = decode_secret(SECRET).expect("valid secret");
        verify(&key, h, body, now, DEFAULT_TOLERANCE)
    }

    #[test]
    fn the_specification_example_verifies() {
        assert_eq!(check(headers(SIGNATURE), BODY, NOW), Ok(()));
    }

    #[test]
    fn signing_reproduces_the_specification_example() {
        let key = decode_secret(SECRET).expect("valid secret");
        assert_eq!(sign(&key, ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn any_listed_signature_may_match() {
        let rotated = format!("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {SIGNATURE}");
        assert_eq!(check(headers(&rotated), BODY, NOW), Ok(()));
    }

    #[test]
    fn tampering_and_replays_are_refused() {
        assert_eq!(
            check(headers(SIGNATURE), br#"{"test": 1}"#, NOW),
            Err(SignatureError::Mismatch)
        );
        let other_id = Headers {
            id: Some("msg_other"),
            ..headers(SIGNATURE)
        };
        assert_eq!(check(other_id, BODY, NOW), Err(SignatureError::Mismatch));
        assert!(matches!(
            check(headers(SIGNATURE), BODY, NOW + 301),
            Err(SignatureError::StaleTimestamp { .. })
        ));
    }

    #[test]
    fn bad_headers_and_secrets_are_named() {
        let no_id = Headers {
            id: None,
            ..headers(SIGNATURE)
        };
        assert_eq!(
            check(no_id, BODY, NOW),
            Err(SignatureError::MissingHeader(ID_HEADER))
        );
        assert_eq!(
            check(headers("v2,abc"), BODY, NOW),
            Err(SignatureError::MalformedSignature(SIGNATURE_HEADER))
        );
        let bad_time = Headers {
            timestamp: Some("soon"),
            ..headers(SIGNATURE)
        };
        assert!(matches!(
            check(bad_time, BODY, NOW),
            Err(SignatureError::BadTimestamp { .. })
        ));
        assert!(decode_secret("whsec_!!!").is_err());
        assert!(decode_secret("whsec_").is_err());
    }
}
