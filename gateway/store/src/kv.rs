//! The plugins' key-value data in a sled tree, keyed `plugin \0 key`.

use deskbridge_plugin_host::KvStore;
use deskbridge_plugin_host::kv::{KvError, MAX_KEYS_PER_PLUGIN, check_entry};
use sled::Tree;

/// Plugin kv on sled. Writes become durable with the store's next flush.
pub(crate) struct SledKv {
    tree: Tree,
}

impl SledKv {
    pub(crate) fn new(tree: Tree) -> SledKv {
        SledKv { tree }
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
        if !self.tree.contains_key(&full).map_err(store_error)?
            && self.tree.scan_prefix(Self::prefix(plugin)).count() >= MAX_KEYS_PER_PLUGIN
        {
            return Err(KvError::Full);
        }
        self.tree.insert(full, value).map_err(store_error)?;
        Ok(())
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        check_entry(key, None)?;
        self.tree
            .remove(Self::key(plugin, key))
            .map_err(store_error)?;
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
}
