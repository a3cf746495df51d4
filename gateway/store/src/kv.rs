//! The plugins' key-value data in a sled tree, keyed `plugin \0 key`.

use std::collections::HashMap;
use std::sync::Mutex;

use deskbridge_plugin_host::KvStore;
use deskbridge_plugin_host::kv::{Holdings, KvError, KvLimits, check_entry};
use sled::Tree;

/// Plugin kv on sled. Writes become durable with the store's next flush.
pub(crate) struct SledKv {
    tree: Tree,
    /// Keys and bytes per plugin, counted once (a prefix scan) at the plugin's first write
    /// and kept up to date after: the limit checks then cost one read of the old value per
    /// write. Writes and deletes hold the lock, so two concurrent writes of one new key
    /// cannot both count it.
    holdings: Mutex<HashMap<String, Holdings>>,
}

impl SledKv {
    pub(crate) fn new(tree: Tree) -> SledKv {
        SledKv {
            tree,
            holdings: Mutex::default(),
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

    /// What `plugin` holds, counted from the tree the first time.
    fn holdings_of<'a>(
        &self,
        all: &'a mut HashMap<String, Holdings>,
        plugin: &str,
    ) -> Result<&'a mut Holdings, KvError> {
        if !all.contains_key(plugin) {
            let prefix_len = Self::prefix(plugin).len();
            let mut held = Holdings::default();
            for entry in self.tree.scan_prefix(Self::prefix(plugin)) {
                let (key, value) = entry.map_err(store_error)?;
                held.keys += 1;
                held.bytes += (key.len().saturating_sub(prefix_len) + value.len()) as u64;
            }
            all.insert(plugin.to_owned(), held);
        }
        all.get_mut(plugin)
            .ok_or_else(|| KvError::Store("kv holdings vanished".into()))
    }
}

fn store_error(error: sled::Error) -> KvError {
    KvError::Store(error.to_string())
}

impl KvStore for SledKv {
    fn get(&self, plugin: &str, key: &str, limits: &KvLimits) -> Result<Option<Vec<u8>>, KvError> {
        check_entry(key, None, limits)?;
        let value = self.tree.get(Self::key(plugin, key)).map_err(store_error)?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8], limits: &KvLimits) -> Result<(), KvError> {
        check_entry(key, Some(value), limits)?;
        let full = Self::key(plugin, key);
        let mut all = self.holdings.lock().unwrap_or_else(|e| e.into_inner());
        let held = self.holdings_of(&mut all, plugin)?;
        let old = self.tree.get(&full).map_err(store_error)?.map(|v| v.len());
        let next = held.after_set(key, old, value.len(), limits)?;
        self.tree.insert(full, value).map_err(store_error)?;
        *held = next;
        Ok(())
    }

    fn delete(&self, plugin: &str, key: &str, limits: &KvLimits) -> Result<(), KvError> {
        check_entry(key, None, limits)?;
        let mut all = self.holdings.lock().unwrap_or_else(|e| e.into_inner());
        let removed = self
            .tree
            .remove(Self::key(plugin, key))
            .map_err(store_error)?;
        if let (Some(old), Some(held)) = (removed, all.get_mut(plugin)) {
            *held = held.after_delete(key, old.len());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: KvLimits = KvLimits {
        max_key_bytes: 16,
        max_value_bytes: 64,
        max_keys: 100,
        max_total_bytes: 800,
    };

    #[test]
    fn plugins_are_isolated_and_limits_hold() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let kv = SledKv::new(db.open_tree("kv").expect("tree"));
        kv.set("a", "k", b"1", &LIMITS).expect("set");
        assert_eq!(kv.get("a", "k", &LIMITS).expect("get"), Some(b"1".to_vec()));
        assert_eq!(kv.get("ab", "k", &LIMITS).expect("get"), None);
        assert_eq!(
            kv.set("a", "", b"x", &LIMITS),
            Err(KvError::BadKey { limit: 16 })
        );
        kv.delete("a", "k", &LIMITS).expect("delete");
        assert_eq!(kv.get("a", "k", &LIMITS).expect("get"), None);
    }

    #[test]
    fn the_limits_count_what_is_already_stored_and_free_up_on_delete() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree("kv").expect("tree");
        // Keys written by an earlier process: 99 keys of 2-3 + 5 bytes (the count starts
        // from what is stored).
        for i in 0..LIMITS.max_keys - 1 {
            tree.insert(SledKv::key("a", &format!("k{i}")), b"vvvvv".as_slice())
                .expect("insert");
        }
        let kv = SledKv::new(tree);
        kv.set("a", "last", b"v", &LIMITS)
            .expect("the last free place");
        assert_eq!(
            kv.set("a", "one-more", b"v", &LIMITS),
            Err(KvError::Full { limit: 100 })
        );
        kv.set("a", "k0", b"overwritten", &LIMITS)
            .expect("overwriting needs no place");
        kv.set("b", "k0", b"v", &LIMITS)
            .expect("another plugin has its own places");
        kv.delete("a", "never-written", &LIMITS)
            .expect("deleting nothing");
        kv.delete("a", "k1", &LIMITS).expect("delete");
        kv.set("a", "one-more", b"v", &LIMITS)
            .expect("the freed place");
        // 10 keys of 2 bytes and 89 of 3, with 5-byte values (782 bytes), and the writes
        // above (+13): 795 of 800 bytes. Growing k2 by 59 bytes does not fit.
        let total = kv
            .set("a", "k2", &[0; 64], &LIMITS)
            .expect_err("over the total");
        assert!(
            matches!(
                total,
                KvError::TotalTooLarge {
                    total: 854,
                    limit: 800
                }
            ),
            "{total}"
        );
        kv.set("a", "k2", b"", &LIMITS).expect("shrinking");
    }
}
