//! The plugin-scoped key-value store behind the `kv` import. Keys are namespaced by plugin id
//! by the host, so one plugin can never see another's data. Each plugin's manifest bounds its
//! keys, values, key count and total bytes ([`KvLimits`]); every store enforces them.

use std::collections::HashMap;
use std::sync::Mutex;

use thiserror::Error;

/// What one plugin may keep in the store (`limits.max_kv_*` in its manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvLimits {
    /// Longest key, bytes.
    pub max_key_bytes: usize,
    /// Largest value, bytes.
    pub max_value_bytes: usize,
    /// Most keys.
    pub max_keys: usize,
    /// Most bytes of keys and values together.
    pub max_total_bytes: u64,
}

impl Default for KvLimits {
    fn default() -> Self {
        KvLimits {
            max_key_bytes: 256,
            max_value_bytes: 64 * 1024,
            max_keys: 10_000,
            max_total_bytes: 16 << 20,
        }
    }
}

/// Why a kv operation failed; the message is handed to the plugin and names the limit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KvError {
    /// Key too long or empty.
    #[error("a key must be 1 to {limit} bytes (limits.max_kv_key_bytes)")]
    BadKey {
        /// The limit.
        limit: usize,
    },
    /// Value too large.
    #[error("the value is {size} bytes; limits.max_kv_value_bytes is {limit}")]
    ValueTooLarge {
        /// The value's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many keys.
    #[error("the plugin already holds {limit} keys (limits.max_kv_keys)")]
    Full {
        /// The limit.
        limit: usize,
    },
    /// Too many bytes in all.
    #[error(
        "this write would bring the plugin's data to {total} bytes; limits.max_kv_total_bytes is {limit}"
    )]
    TotalTooLarge {
        /// What the total would be.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// The backing store failed.
    #[error("store error: {0}")]
    Store(String),
}

/// Storage for plugin key-value data. The sled store implements it (and a PostgreSQL store
/// will).
pub trait KvStore: Send + Sync {
    /// The value under `key` for `plugin`.
    fn get(&self, plugin: &str, key: &str, limits: &KvLimits) -> Result<Option<Vec<u8>>, KvError>;
    /// Stores `value` under `key` for `plugin`, within `limits`.
    fn set(&self, plugin: &str, key: &str, value: &[u8], limits: &KvLimits) -> Result<(), KvError>;
    /// Removes `key` for `plugin`.
    fn delete(&self, plugin: &str, key: &str, limits: &KvLimits) -> Result<(), KvError>;
}

/// Checks a key and value against one plugin's limits.
pub fn check_entry(key: &str, value: Option<&[u8]>, limits: &KvLimits) -> Result<(), KvError> {
    if key.is_empty() || key.len() > limits.max_key_bytes {
        return Err(KvError::BadKey {
            limit: limits.max_key_bytes,
        });
    }
    match value {
        Some(v) if v.len() > limits.max_value_bytes => Err(KvError::ValueTooLarge {
            size: v.len(),
            limit: limits.max_value_bytes,
        }),
        _ => Ok(()),
    }
}

/// A plugin's holdings: keys and bytes of keys and values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Keys held.
    pub keys: usize,
    /// Bytes of keys and values held.
    pub bytes: u64,
}

impl Holdings {
    /// The holdings after `key` goes from `old` (its value's length, if it exists) to a value
    /// of `new_len` bytes, or the limit that write would break.
    pub fn after_set(
        self,
        key: &str,
        old: Option<usize>,
        new_len: usize,
        limits: &KvLimits,
    ) -> Result<Holdings, KvError> {
        let entry = |len: usize| (key.len() + len) as u64;
        let keys = if old.is_some() {
            self.keys
        } else {
            if self.keys >= limits.max_keys {
                return Err(KvError::Full {
                    limit: limits.max_keys,
                });
            }
            self.keys + 1
        };
        let bytes = self
            .bytes
            .saturating_sub(old.map_or(0, entry))
            .saturating_add(entry(new_len));
        if bytes > limits.max_total_bytes && bytes > self.bytes {
            return Err(KvError::TotalTooLarge {
                total: bytes,
                limit: limits.max_total_bytes,
            });
        }
        Ok(Holdings { keys, bytes })
    }

    /// The holdings after `key`, whose value was `old` bytes, is removed.
    pub fn after_delete(self, key: &str, old: usize) -> Holdings {
        Holdings {
            keys: self.keys.saturating_sub(1),
            bytes: self.bytes.saturating_sub((key.len() + old) as u64),
        }
    }
}

/// An in-memory store: for `plugin run`, tests, and gateways without persistence.
#[derive(Debug, Default)]
pub struct MemoryKv {
    data: Mutex<HashMap<String, HashMap<String, Vec<u8>>>>,
}

impl MemoryKv {
    /// An empty store.
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut HashMap<String, HashMap<String, Vec<u8>>>) -> R,
    ) -> Result<R, KvError> {
        let mut guard = self
            .data
            .lock()
            .map_err(|_| KvError::Store("poisoned lock".into()))?;
        Ok(f(&mut guard))
    }
}

impl KvStore for MemoryKv {
    fn get(&self, plugin: &str, key: &str, limits: &KvLimits) -> Result<Option<Vec<u8>>, KvError> {
        check_entry(key, None, limits)?;
        self.with(|d| d.get(plugin).and_then(|p| p.get(key)).cloned())
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8], limits: &KvLimits) -> Result<(), KvError> {
        check_entry(key, Some(value), limits)?;
        self.with(|d| {
            let entries = d.entry(plugin.to_owned()).or_default();
            let held = Holdings {
                keys: entries.len(),
                bytes: entries
                    .iter()
                    .map(|(k, v)| (k.len() + v.len()) as u64)
                    .sum(),
            };
            held.after_set(key, entries.get(key).map(Vec::len), value.len(), limits)?;
            entries.insert(key.to_owned(), value.to_vec());
            Ok(())
        })?
    }

    fn delete(&self, plugin: &str, key: &str, limits: &KvLimits) -> Result<(), KvError> {
        check_entry(key, None, limits)?;
        self.with(|d| {
            if let Some(entries) = d.get_mut(plugin) {
                entries.remove(key);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: KvLimits = KvLimits {
        max_key_bytes: 8,
        max_value_bytes: 16,
        max_keys: 3,
        max_total_bytes: 40,
    };

    #[test]
    fn plugins_do_not_see_each_others_keys() {
        let kv = MemoryKv::new();
        kv.set("a", "k", b"1", &LIMITS).expect("set");
        assert_eq!(kv.get("a", "k", &LIMITS).expect("get"), Some(b"1".to_vec()));
        assert_eq!(kv.get("b", "k", &LIMITS).expect("get"), None);
        kv.delete("a", "k", &LIMITS).expect("delete");
        assert_eq!(kv.get("a", "k", &LIMITS).expect("get"), None);
    }

    #[test]
    fn every_limit_is_enforced_and_named() {
        let kv = MemoryKv::new();
        assert_eq!(
            kv.set("a", "", b"1", &LIMITS),
            Err(KvError::BadKey { limit: 8 })
        );
        assert_eq!(
            kv.get("a", "ninebytes", &LIMITS),
            Err(KvError::BadKey { limit: 8 })
        );
        let big = vec![0u8; 17];
        let refused = kv.set("a", "k", &big, &LIMITS).expect_err("too big");
        assert_eq!(
            refused,
            KvError::ValueTooLarge {
                size: 17,
                limit: 16
            }
        );
        assert!(refused.to_string().contains("limits.max_kv_value_bytes"));
        // 3 keys of 1 + 12 bytes = 39 bytes: under both limits.
        for key in ["a", "b", "c"] {
            kv.set("p", key, &[0; 12], &LIMITS).expect("within limits");
        }
        assert_eq!(
            kv.set("p", "d", b"x", &LIMITS),
            Err(KvError::Full { limit: 3 })
        );
        let total = kv.set("p", "a", &[0; 14], &LIMITS).expect_err("41 bytes");
        assert_eq!(
            total,
            KvError::TotalTooLarge {
                total: 41,
                limit: 40
            }
        );
        kv.set("p", "a", &[0; 2], &LIMITS)
            .expect("shrinking is always allowed");
        kv.delete("p", "b", &LIMITS).expect("delete");
        kv.set("p", "d", &[0; 12], &LIMITS)
            .expect("the freed place");
    }
}
