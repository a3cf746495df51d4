//! The plugins' key-value data in a sled tree, keyed `plugin \0 key`.

use std::collections::HashMap;
use std::sync::Mutex;

use deskbridge_plugin_host::KvStore;
use deskbridge_plugin_host::kv::{KvError, MAX_KEYS_PER_PLUGIN, check_entry};
use sled::Tree;

/// Plugin kv on sled. Writes become durable with the store's next flush.
pub(crate) struct SledKv {
    tree: Tree,
    /// Keys per plugin, counted once (a prefix scan) at the plugin's first write and kept up
    /// to date after: the limit check then costs nothing per write (counting on every new key
    /// scanned up to 10,000 entries). Writes and deletes hold the lock, so two concurrent
    /// writes of one new key cannot both count it.
    key_counts: Mutex<HashMap<String, usize>>,
}

impl SledKv {
    pub(crate) fn new(tree: Tree) -> SledKv {
        SledKv {
            tree,
            key_counts: Mutex::default(),
        }
    }

    fn prefix(plugin: &str) -> Vec<u8> {
        let mut prefix = plugin.as_bytes().to_vec();
        prefix.push(0);
        prefix
    }

    fn key(plugin: &str, key: &str) -> Vec<u8> {
        let mut full = Self::prefix(plugin);
        full.extend_from_slice(key.as_bytes());
        full
    }
}

fn store_error(error: sled::Error) -> KvError {
    KvError::Store(error.to_string())
}

impl KvStore for SledKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_entry(key, None)?;
        let value = self.tree.get(Self::key(plugin, key)).map_err(store_error)?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        check_entry(key, Some(value))?;
        let full = Self::key(plugin, key);
        let mut counts = self.key_counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = match counts.get_mut(plugin) {
            Some(count) => count,
            None => {
                let existing = self.tree.scan_prefix(Self::prefix(plugin)).count();
                counts.entry(plugin.to_owned()).or_insert(existing)
            }
        };
        if *count >= MAX_KEYS_PER_PLUGIN && !self.tree.contains_key(&full).map_err(store_error)? {
            return Err(KvError::Full);
        }
        if self
            .tree
            .insert(full, value)
            .map_err(store_error)?
            .is_none()
        {
            *count += 1;
        }
        Ok(())
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        check_entry(key, None)?;
        let mut counts = self.key_counts.lock().unwrap_or_else(|e| e.into_inner());
        let removed = self
            .tree
            .remove(Self::key(plugin, key))
            .map_err(store_error)?;
        if removed.is_some()
            && let Some(count) = counts.get_mut(plugin)
        {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_are_isolated_and_limits_hold() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let kv = SledKv::new(db.open_tree("kv").expect("tree"));
        kv.set("a", "k", b"1").expect("set");
        assert_eq!(kv.get("a", "k").expect("get"), Some(b"1".to_vec()));
        assert_eq!(kv.get("ab", "k").expect("get"), None);
        assert_eq!(kv.set("a", "", b"x"), Err(KvError::BadKey));
        kv.delete("a", "k").expect("delete");
        assert_eq!(kv.get("a", "k").expect("get"), None);
    }

    #[test]
    fn the_key_limit_counts_keys_already_stored_and_frees_a_place_on_delete() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree("kv").expect("tree");
        // Keys written by an earlier process: the count starts from what is stored.
        for i in 0..MAX_KEYS_PER_PLUGIN - 1 {
            tree.insert(SledKv::key("a", &format!("k{i}")), b"v".as_slice())
                .expect("insert");
        }
        let kv = SledKv::new(tree);
        kv.set("a", "last", b"v").expect("the last free place");
        assert_eq!(kv.set("a", "one-more", b"v"), Err(KvError::Full));
        kv.set("a", "k0", b"overwritten")
            .expect("overwriting needs no place");
        kv.set("b", "k0", b"v")
            .expect("another plugin has its own places");
        kv.delete("a", "never-written").expect("deleting nothing");
        assert_eq!(kv.set("a", "one-more", b"v"), Err(KvError::Full));
        kv.delete("a", "k1").expect("delete");
        kv.set("a", "one-more", b"v").expect("the freed place");
        assert_eq!(kv.set("a", "two-more", b"v"), Err(KvError::Full));
    }
}
