//! The queries of `tree_hashes`: the stored hashes of the log's Merkle tree
//! (`record::merkle`), one row per stored hash index. Derived data, like the views: kept in
//! the append's transaction, recomputable from the events.

use rusqlite::params;

use super::Db;
use crate::error::{Error, Result};
use crate::record::merkle::Hash;

impl Db<'_> {
    /// Whether the table exists: a read-only log written before it was added has none.
    fn has_tree_table(&self) -> Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tree_hashes')",
            )
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(self.err())
    }

    pub(super) fn tree_hash_count(&self) -> Result<u64> {
        if !self.has_tree_table()? {
            return Ok(0);
        }
        self.conn
            .prepare_cached("SELECT IFNULL(MAX(idx) + 1, 0) FROM tree_hashes")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(self.err())
    }

    pub(super) fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        if indexes.is_empty() {
            // Nothing to read (a tree of no leaves, or a log without the table).
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash FROM tree_hashes WHERE idx = ?1")
            .map_err(self.err())?;
        let mut out = Vec::with_capacity(indexes.len());
        for &idx in indexes {
            let bytes: Option<Vec<u8>> = stmt
                .query_row([idx], |r| r.get(0))
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
                .map_err(self.err())?;
            out.push(as_hash(idx, bytes)?);
        }
        Ok(out)
    }

    pub(super) fn tree_hash_range(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        if !self.has_tree_table()? {
            return Ok(());
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT idx, hash FROM tree_hashes WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )
            .map_err(self.err())?;
        let mut rows = stmt.query(params![from, to]).map_err(self.err())?;
        while let Some(row) = rows.next().map_err(self.err())? {
            let idx: u64 = row.get(0).map_err(self.err())?;
            let hash = row.get_ref(1).map_err(self.err())?;
            let bytes = hash.as_blob().unwrap_or_default();
            each(idx, bytes)?;
        }
        Ok(())
    }

    pub(super) fn insert_tree_hashes(&self, first: u64, hashes: &[Hash]) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO tree_hashes (idx, hash) VALUES (?1, ?2)")
            .map_err(self.err())?;
        for (idx, hash) in (first..).zip(hashes) {
            stmt.execute(params![idx, &hash[..]]).map_err(self.err())?;
        }
        Ok(())
    }

    pub(super) fn reset_tree(&self) -> Result<()> {
        self.conn
            .execute("DELETE FROM tree_hashes", [])
            .map(|_| ())
            .map_err(self.err())
    }
}

/// A stored hash read back: 32 bytes, or the log is damaged.
fn as_hash(idx: u64, bytes: Option<Vec<u8>>) -> Result<Hash> {
    // The hash was stored when the leaf of this seq was appended.
    let seq = crate::record::merkle::size_of_count(idx) + 1;
    let corrupt = |problem: String| Error::Corrupt { seq, problem };
    let bytes =
        bytes.ok_or_else(|| corrupt(format!("the Merkle tree's stored hash {idx} is missing")))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        corrupt(format!(
            "the Merkle tree's stored hash {idx} is {} bytes, not 32",
            b.len()
        ))
    })
}
