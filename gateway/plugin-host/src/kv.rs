//! The plugin-scoped key-value store behind the `kv` import. Keys are namespaced by plugin id
//! by the host, so one plugin can never see another's data.

use std::collections::HashMap;
use std::sync::Mutex;

use thiserror::Error;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most keys one plugin may hold.
pub const MAX_KEYS_PER_PLUGIN: usize = 10_000;

/// Why a kv operation failed; the message is handed to the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KvError {
    /// Key too long or empty.
    #[error("key must be 1 to {MAX_KEY_BYTES} bytes")]
    BadKey,
    /// Value too large.
    #[error("value is {0} bytes, the limit is {MAX_VALUE_BYTES}")]
    ValueTooLarge(usize),
    /// Too many keys.
    #[error("the plugin already holds {MAX_KEYS_PER_PLUGIN} keys")]
    Full,
    /// The backing store failed.
    #[error("store error: {0}")]
    Store(String),
}

/// Storage for plugin key-value data. The sled and PostgreSQL stores implement it too.
pub trait KvStore: Send + Sync {
    /// The value under `key` for `plugin`.
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Stores `value` under `key` for `plugin`.
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Removes `key` for `plugin`.
    fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError>;
}

/// Checks a key and value against the limits every store enforces.
pub fn check_entry(key: &str, value: Option<&[u8]>) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(KvError::BadKey);
    }
    match value {
        Some(v) if v.len() > MAX_VALUE_BYTES => Err(KvError::ValueTooLarge(v.len())),
        _ => Ok(()),
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
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_entry(key, None)?;
        self.with(|d| d.get(plugin).and_then(|p| p.get(key)).cloned())
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        check_entry(key, Some(value))?;
        self.with(|d| {
            let entries = d.entry(plugin.to_owned()).or_default();
            if !entries.contains_key(key) && entries.len() >= MAX_KEYS_PER_PLUGIN {
                return Err(KvError::Full);
            }
            entries.insert(key.to_owned(), value.to_vec());
            Ok(())
        })?
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        check_entry(key, None)?;
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

    #[test]
    fn plugins_do_not_see_each_others_keys() {
        let kv = MemoryKv::new();
        kv.set("a", "k", b"1").expect("set");
        assert_eq!(kv.get("a", "k").expect("get"), Some(b"1".to_vec()));
        assert_eq!(kv.get("b", "k").expect("get"), None);
        kv.delete("a", "k").expect("delete");
        assert_eq!(kv.get("a", "k").expect("get"), None);
    }

    #[test]
    fn limits_are_enforced() {
        let kv = MemoryKv::new();
        assert_eq!(kv.set("a", "", b"1"), Err(KvError::BadKey));
        let big = vec![0u8; MAX_VALUE_BYTES + 1];
        assert_eq!(
            kv.set("a", "k", &big),
            Err(KvError::ValueTooLarge(big.len()))
        );
    }
}
