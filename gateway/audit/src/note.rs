//! Checkpoints as C2SP signed notes.
//!
//! A checkpoint (`c2sp.org/tlog-checkpoint`) is the text
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//! ```
//!
//! signed as a note (`c2sp.org/signed-note`): the text, a blank line, then one line per
//! signature, `— <key name> base64(key ID || Ed25519 signature)`, where the key ID is the first
//! four bytes of `SHA-256(key name || 0x0A || 0x01 || public key)`.
//!
//! Keys travel in the strings of Go's `golang.org/x/mod/sumdb/note` package, so standard
//! tooling reads them: a verifier key is `<name>+<key ID, 8 hex digits>+base64(0x01 || public
//! key)`; a signer key is `PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The signature type byte of Ed25519 in signed notes.
const ED25519: u8 = 0x01;

/// Why a key, note or checkpoint was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    /// A key string is malformed.
    #[error("bad key: {0}")]
    BadKey(&'static str),
    /// A key name is empty or contains a space, `+` or a control character.
    #[error("bad key name {0:?}: it must be non-empty, without spaces, `+` or control characters")]
    BadKeyName(String),
    /// The note text is not a signed note.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// The note carries no signature by the expected key.
    #[error("the note has no signature by {0}")]
    NotSignedBy(String),
    /// A signature by the expected key does not verify.
    #[error("the signature by {0} does not verify: the text or the signature was altered")]
    BadSignature(String),
    /// The checkpoint text is malformed.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
    /// No randomness for a new key.
    #[error("no randomness for a new key: {0}")]
    Randomness(String),
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
    {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ED25519]);
    hasher.update(public.as_bytes());
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn hex4(id: [u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// `0x01 || key` in base64, checked on the way back.
fn decode_typed_key(text: &str) -> Result<[u8; 32], NoteError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| NoteError::BadKey("the key is not base64"))?;
    match bytes.split_first() {
        Some((&ED25519, key)) => {
            <[u8; 32]>::try_from(key).map_err(|_| NoteError::BadKey("an Ed25519 key has 32 bytes"))
        }
        Some(_) => Err(NoteError::BadKey(
            "not an Ed25519 key (type byte is not 0x01)",
        )),
        None => Err(NoteError::BadKey("empty key")),
    }
}

fn typed_key(key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(ED25519);
    bytes.extend_from_slice(key);
    STANDARD.encode(bytes)
}

/// A named Ed25519 key that signs notes.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A new random key named `name` (e.g. `deskbridge.example/approval-log`).
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError::Randomness(e.to_string()))?;
        Ok(NoteSigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<id>+<base64>`.
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadKey("a signer key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey("expected PRIVATE+KEY+<name>+<id>+<key>"));
        };
        check_name(name)?;
        let signer = NoteSigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&decode_typed_key(key)?),
        };
        if hex4(key_id(name, &signer.key.verifying_key())) != id {
            return Err(NoteError::BadKey(
                "the key id does not match the name and key",
            ));
        }
        Ok(signer)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signer key string (secret: keep it out of logs and exports).
    pub fn to_secret_string(&self) -> String {
        let id = key_id(&self.name, &self.key.verifying_key());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex4(id),
            typed_key(&self.key.to_bytes())
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (which must end in a newline) into a signed note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = key_id(&self.name, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n\u{2014} {} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text must end with a newline"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed(
            "control characters other than newline",
        ));
    }
    Ok(())
}

/// A named Ed25519 public key that verifies notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<id>+<base64>`.
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey("expected <name>+<id>+<key>"));
        };
        check_name(name)?;
        let key = VerifyingKey::from_bytes(&decode_typed_key(key)?)
            .map_err(|_| NoteError::BadKey("not a valid Ed25519 public key"))?;
        if hex4(key_id(name, &key)) != id {
            return Err(NoteError::BadKey(
                "the key id does not match the name and key",
            ));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key string (public).
    pub fn to_key_string(&self) -> String {
        format!(
            "{}+{}+{}",
            self.name,
            hex4(key_id(&self.name, &self.key)),
            typed_key(self.key.as_bytes())
        )
    }

    /// Checks a signed note and returns its text. Signatures by other keys are ignored; the
    /// note must carry a valid signature by this key, and none by this key that fails.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        check_text(text)?;
        if !signatures.ends_with('\n') {
            return Err(NoteError::Malformed(
                "the last signature line must end in a newline",
            ));
        }
        let own_id = key_id(&self.name, &self.key);
        let mut verified = false;
        for line in signatures.lines() {
            let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed(
                "a signature line starts with an em dash and a space",
            ))?;
            let (name, blob) = rest.split_once(' ').ok_or(NoteError::Malformed(
                "a signature line is `— <name> <signature>`",
            ))?;
            let blob = STANDARD
                .decode(blob)
                .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
            if name != self.name || blob.len() < 4 || blob[..4] != own_id {
                continue; // someone else's signature
            }
            let signature = Signature::from_slice(&blob[4..])
                .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
            self.key
                .verify_strict(text.as_bytes(), &signature)
                .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(NoteError::NotSignedBy(self.name.clone()))
        }
    }
}

/// A checkpoint: the log's identity, size and root at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, e.g. `deskbridge.example/approval-log`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// The Merkle root over them.
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint's note text.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Parses a checkpoint's note text (extension lines after the root are kept out).
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(NoteError::BadCheckpoint(
                "expected origin, size and root lines",
            ));
        };
        if origin.is_empty() {
            return Err(NoteError::BadCheckpoint("empty origin"));
        }
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(NoteError::BadCheckpoint("the size is not a decimal number"));
        }
        let size = size
            .parse()
            .map_err(|_| NoteError::BadCheckpoint("the size is out of range"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or(NoteError::BadCheckpoint(
                "the root is not a base64 SHA-256 hash",
            ))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs the checkpoint into a signed note.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, NoteError> {
        signer.sign(&self.to_text())
    }

    /// Verifies a signed checkpoint and parses it.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, NoteError> {
        Checkpoint::parse(verifier.open(note)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_go_note_package_key_format() {
        // The example key and note of the documentation of golang.org/x/mod/sumdb/note.
        let signer = NoteSigner::parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .expect("signer key");
        assert_eq!(
            signer.verifier().to_key_string(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        let note = signer
            .sign("If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n")
            .expect("sign");
        assert_eq!(
            note.lines().last(),
            Some(
                "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            )
        );
    }

    #[test]
    fn a_signed_checkpoint_round_trips_and_any_flipped_byte_is_caught() {
        let signer = NoteSigner::generate("deskbridge.test/log").expect("key");
        let verifier = NoteVerifier::parse(&signer.verifier().to_key_string()).expect("verifier");
        let checkpoint = Checkpoint {
            origin: "deskbridge.test/log".into(),
            size: 1234,
            root: crate::merkle::leaf_hash(b"x"),
        };
        let note = checkpoint.sign(&signer).expect("sign");
        assert_eq!(Checkpoint::open(&note, &verifier), Ok(checkpoint));
        for i in 0..note.len() {
            let mut bytes = note.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(altered) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(
                Checkpoint::open(&altered, &verifier).is_err(),
                "byte {i} flipped"
            );
        }
    }

    #[test]
    fn signatures_by_other_keys_are_ignored_but_one_is_needed() {
        let ours = NoteSigner::generate("ours").expect("key");
        let theirs = NoteSigner::generate("theirs").expect("key");
        let text = "hello\n";
        let note = theirs.sign(text).expect("sign");
        assert_eq!(
            ours.verifier().open(&note),
            Err(NoteError::NotSignedBy("ours".into()))
        );
        let both = format!(
            "{}{}",
            ours.sign(text).expect("sign"),
            note.rsplit("\n\n").next().unwrap_or_default()
        );
        assert_eq!(ours.verifier().open(&both), Ok(text));
        assert!(NoteSigner::parse(&ours.to_secret_string()).is_ok());
    }

    #[test]
    fn bad_keys_names_and_texts_are_refused() {
        assert!(matches!(
            NoteSigner::generate("has space"),
            Err(NoteError::BadKeyName(_))
        ));
        assert!(matches!(
            NoteSigner::generate("a+b"),
            Err(NoteError::BadKeyName(_))
        ));
        let signer = NoteSigner::generate("k").expect("key");
        assert!(signer.sign("no newline").is_err());
        assert!(signer.sign("bell\u{7}\n").is_err());
        let key = signer.verifier().to_key_string();
        let wrong_id = key.replacen('+', "+0", 1);
        assert!(NoteVerifier::parse(&wrong_id).is_err());
        assert!(Checkpoint::parse("origin\n01\nAAAA\n").is_err());
        assert!(Checkpoint::parse("origin\n1\nnot base64\n").is_err());
    }
}
