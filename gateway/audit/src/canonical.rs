//! Canonical JSON: the one byte encoding of an entry that its leaf hash covers.
//!
//! Object keys sorted by their UTF-8 bytes, no whitespace, integers only, strings escaped as
//! serde_json escapes them (the RFC 8785 form for the values the log holds: ASCII keys, no
//! floats). Written by hand rather than trusting `serde_json::Map`'s order, which a Cargo
//! feature elsewhere in the build (`preserve_order`) would silently change.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no canonical form: {0}")]
pub struct NotCanonical(pub &'static str);

/// The canonical bytes of `value`.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, NotCanonical> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out)?;
    Ok(out)
}

fn write_str(text: &str, out: &mut Vec<u8>) {
    // Serializing a &str to JSON cannot fail; the fallback keeps this panic-free anyway.
    match serde_json::to_vec(text) {
        Ok(bytes) => out.extend_from_slice(&bytes),
        Err(_) => out.extend_from_slice(b"\"\""),
    }
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), NotCanonical> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            if let Some(n) = number.as_u64() {
                out.extend_from_slice(n.to_string().as_bytes());
            } else if let Some(n) = number.as_i64() {
                out.extend_from_slice(n.to_string().as_bytes());
            } else {
                return Err(NotCanonical("floating-point numbers are not allowed"));
            }
        }
        Value::String(text) => write_str(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(key, out);
                out.push(b':');
                write(&map[key.as_str()], out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_nothing_is_padded() {
        let value = json!({"b": 1, "a": {"z": [true, null, -3], "y": "é\n\"q\""}});
        assert_eq!(
            String::from_utf8(to_vec(&value).expect("canonical")).expect("utf-8"),
            r#"{"a":{"y":"é\n\"q\"","z":[true,null,-3]},"b":1}"#
        );
    }

    #[test]
    fn floats_have_no_canonical_form() {
        assert!(to_vec(&json!({"x": 1.5})).is_err());
    }

    #[test]
    fn equivalent_spellings_encode_alike() {
        let a: Value = serde_json::from_str(r#"{ "k" : "\u00e9" }"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"k":"é"}"#).expect("json");
        assert_eq!(to_vec(&a), to_vec(&b));
    }
}
