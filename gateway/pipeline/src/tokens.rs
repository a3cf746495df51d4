//! API tokens outside the HTTP layer: minting (`dbt_` + 32 random bytes, URL-safe base64,
//! shown once), the SHA-256 the store keeps instead of the token, the check of a token request
//! (a normalised person's name, at least one role) and the approval-log entry of a token
//! created or revoked. The API (`deskbridge-server`) and the offline CLI
//! (`deskbridge token …`) both use these, so neither depends on the other for them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deskbridge_audit::NewEntry;
use deskbridge_core::{Role, normalize_person, person_key};
use deskbridge_store::TokenRecord;
use sha2::{Digest, Sha256};

/// The prefix of every Deskbridge API token (so secret scanners can find leaked ones).
pub const TOKEN_PREFIX: &str = "dbt_";

/// The SHA-256 (hex) of a token: what the store keeps.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new token: `(secret, its SHA-256, a public id)`.
pub fn new_token() -> Result<(String, String, String), getrandom::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let mut id = [0u8; 6];
    getrandom::fill(&mut id)?;
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = token_sha256(&token);
    Ok((token, hash, format!("tok_{}", hex::encode(id))))
}

/// Checks a token request — a person's name and at least one role — and returns the name as
/// the token will record it (normalised: NFC, trimmed, single spaces).
pub fn check_token_request(person: &str, roles: &[Role]) -> Result<String, String> {
    let person = normalize_person(person).map_err(|e| e.to_string())?;
    if roles.is_empty() {
        return Err("roles: give at least one of agent, supervisor, reviewer, admin".into());
    }
    Ok(person)
}

/// The approval-log entry for a token created or revoked: the token id and roles in the
/// clear, the person and the minting admin as commitments, and `same_person` when an admin
/// mints a token for their own name (a second identity is the way around the two-person rule).
pub fn token_entry(kind: &str, record: &TokenRecord, by: &str, at_ms: i64) -> NewEntry {
    let mut entry = NewEntry {
        kind: kind.into(),
        at_ms,
        ..NewEntry::default()
    };
    entry
        .data
        .insert("token_id".into(), record.id.clone().into());
    entry.data.insert(
        "roles".into(),
        record
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .into(),
    );
    if kind == "token.created" {
        entry.data.insert(
            "same_person".into(),
            (person_key(by) == person_key(&record.person)).into(),
        );
    }
    entry
        .personal
        .insert("person".into(), record.person.clone());
    entry.personal.insert("by".into(), by.to_owned());
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_stored_only_as_their_hash() {
        let (a, hash_a, id_a) = new_token().expect("randomness");
        let (b, _, id_b) = new_token().expect("randomness");
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_ne!(id_a, id_b);
        assert_eq!(hash_a, token_sha256(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn a_token_request_needs_a_name_and_a_role() {
        assert_eq!(
            check_token_request("  Ann   Agent ", &[Role::Agent]).as_deref(),
            Ok("Ann Agent")
        );
        assert!(check_token_request("Ann", &[]).is_err());
        assert!(check_token_request("   ", &[Role::Agent]).is_err());
    }
}
