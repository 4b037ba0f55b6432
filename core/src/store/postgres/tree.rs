//! The queries of `tree_hashes`: the stored hashes of the log's Merkle tree
//! (`record::merkle`), one row per stored hash index, as in the SQLite backend.

use super::{big, get, get_u64, Db};
use crate::error::{Error, Result};
use crate::record::merkle::Hash;

/// How many hashes a range read fetches at a time.
const PAGE: i64 = 10_000;

impl Db<'_> {
    pub(super) fn tree_hash_count(&self) -> Result<u64> {
        match self.row("SELECT COALESCE(MAX(idx) + 1, 0) FROM tree_hashes", &[])? {
            Some(r) => get_u64(&r, 0, 0),
            None => Ok(0),
        }
    }

    pub(super) fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<i64> = indexes.iter().map(|&i| big(i)).collect();
        let rows = self.rows(
            "SELECT idx, hash FROM tree_hashes WHERE idx = ANY($1)",
            &[&wanted],
        )?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let idx = get_u64(r, 0, 0)?;
            let bytes: Vec<u8> = get(r, 1, 0)?;
            found.insert(idx, bytes);
        }
        indexes
            .iter()
            .map(|&idx| as_hash(idx, found.get(&idx).cloned()))
            .collect()
    }

    pub(super) fn tree_hash_range(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut next = big(from);
        loop {
            let rows = self.rows(
                "SELECT idx, hash FROM tree_hashes WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3",
                &[&next, &big(to), &PAGE],
            )?;
            for r in &rows {
                let idx = get_u64(r, 0, 0)?;
                let bytes: &[u8] = get(r, 1, 0)?;
                each(idx, bytes)?;
                next = big(idx) + 1;
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }

    pub(super) fn reset_tree(&self) -> Result<()> {
        // DELETE, not TRUNCATE: a writer may reset the tree it maintains.
        self.execute("DELETE FROM tree_hashes", &[]).map(|_| ())
    }
}

/// A stored hash read back: 32 bytes, or the log is damaged.
fn as_hash(idx: u64, bytes: Option<Vec<u8>>) -> Result<Hash> {
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
