//! The AI budget counters in a sled tree, `scope|period` → tokens and cost (JSON), for
//! [`deskbridge_providers::budget::Budgets`]. A durable write flushes the database before it
//! returns: a charge made before an AI call is on disk before the call goes out.

use deskbridge_providers::budget::{Spend, SpendStore};
use sled::{Db, Tree};

/// Budget counters on sled.
pub(crate) struct SledSpend {
    db: Db,
    tree: Tree,
}

impl SledSpend {
    pub(crate) fn new(db: Db, tree: Tree) -> SledSpend {
        SledSpend { db, tree }
    }
}

impl SpendStore for SledSpend {
    fn load(&self, counter: &str) -> Result<Spend, String> {
        match self
            .tree
            .get(counter.as_bytes())
            .map_err(|e| e.to_string())?
        {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("budget counter {counter} is unreadable: {e}")),
            None => Ok(Spend::default()),
        }
    }

    fn store(&self, values: &[(String, Spend)], durable: bool) -> Result<(), String> {
        let mut batch = sled::Batch::default();
        for (counter, spend) in values {
            let bytes = serde_json::to_vec(spend).map_err(|e| e.to_string())?;
            batch.insert(counter.as_bytes(), bytes);
        }
        self.tree.apply_batch(batch).map_err(|e| e.to_string())?;
        if durable {
            self.db.flush().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_back_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let db = sled::open(dir.path()).expect("open");
            let spend = SledSpend::new(db.clone(), db.open_tree("ai_spend").expect("tree"));
            assert_eq!(spend.load("plugin:x|day:2026-12-04"), Ok(Spend::default()));
            let value = Spend {
                tokens: 1_234,
                cost_micros: 56,
            };
            spend
                .store(&[("plugin:x|day:2026-12-04".into(), value)], true)
                .expect("store");
        }
        let db = sled::open(dir.path()).expect("reopen");
        let spend = SledSpend::new(db.clone(), db.open_tree("ai_spend").expect("tree"));
        assert_eq!(
            spend.load("plugin:x|day:2026-12-04").expect("load").tokens,
            1_234
        );
    }
}
