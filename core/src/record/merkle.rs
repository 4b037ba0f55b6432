//! The Merkle tree over the log (RFC 6962 / RFC 9162, the tree of Go's
//! `golang.org/x/mod/sumdb/tlog`): pure arithmetic, no storage.
//!
//! Leaf `i` (0-based) is `SHA-256(0x00 || h)` where `h` is the 32 raw bytes of the chain
//! hash of event `seq = i + 1`; an interior node is `SHA-256(0x01 || left || right)`; the
//! tree of `n` leaves is RFC 6962's `MTH`: the left subtree holds the largest power of two
//! smaller than `n` leaves. The root of the empty tree is `SHA-256("")`.
//!
//! **Stored hashes.** A log keeps the hash of every *complete* subtree (every leaf, every
//! node whose leaves are all present) at the *stored hash index* of Go's `tlog`
//! ([`stored_hash_index`]): the hashes made when leaf `n` is appended (the leaf and the
//! parents it completes) take the consecutive indexes from `stored_hash_index(0, n)`, so the
//! stored hashes of a tree of `n` leaves are exactly indexes `0..stored_hash_count(n)`, about
//! `2n`. Any subtree, root or proof then needs O(log n) stored hashes ([`HashReader`]).
//!
//! The proofs are RFC 6962's `PATH` (inclusion, leaf to root) and `PROOF` (consistency);
//! [`verify_inclusion`] and [`verify_consistency`] are the verification algorithms of
//! RFC 9162 sections 2.1.3.2 and 2.1.4.2.

use sha2::{Digest, Sha256};

use crate::error::Result;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The leaf hash of an event whose chain hash is `event_hash`.
pub fn leaf_hash(event_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(event_hash);
    h.finalize().into()
}

/// An interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where the hash of the complete subtree at `level` (0: a leaf) and position `n` (its
/// first leaf is `n << level`) is stored: Go's `tlog.StoredHashIndex`.
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    let mut n = n;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut i = 0u64;
    while n > 0 {
        i += n;
        n >>= 1;
    }
    i + u64::from(level)
}

/// How many hashes a tree of `n` leaves stores: Go's `tlog.StoredHashCount`.
pub fn stored_hash_count(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut count = stored_hash_index(0, n - 1) + 1;
    let mut i = n - 1;
    while i & 1 != 0 {
        count += 1;
        i >>= 1;
    }
    count
}

/// The number of leaves of the largest tree whose stored hashes fit in `count` hashes.
pub fn size_of_count(count: u64) -> u64 {
    let (mut lo, mut hi) = (0u64, count);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if stored_hash_count(mid) <= count {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Reads stored hashes by index.
pub trait HashReader {
    /// The stored hashes at `indexes`, in that order; a missing one is an error.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>>;
}

/// The complete subtrees `[lo, hi)` splits into, left to right, as (level, position): each
/// the largest aligned power of two that fits. For the ranges RFC 6962's recursion makes
/// (`lo` a multiple of a power of two at least `hi - lo`), they shrink left to right, and
/// folding them right to left gives the range's `MTH`.
fn pieces(lo: u64, hi: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut at = lo;
    while at < hi {
        let mut level = 63 - (hi - at).leading_zeros();
        while at & ((1u64 << level) - 1) != 0 {
            level -= 1;
        }
        out.push((level, at >> level));
        at += 1u64 << level;
    }
    out
}

/// Folds subtree hashes, left to right, into the hash of their range: right to left.
fn fold(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else {
        return empty_root();
    };
    rest.iter()
        .rev()
        .fold(*last, |acc, left| node_hash(left, &acc))
}

/// The hash of leaves `[lo, hi)` (an RFC 6962 range, see [`pieces`]).
fn range_hash(lo: u64, hi: u64, reader: &dyn HashReader) -> Result<Hash> {
    let indexes: Vec<u64> = pieces(lo, hi)
        .into_iter()
        .map(|(level, n)| stored_hash_index(level, n))
        .collect();
    Ok(fold(&reader.read_hashes(&indexes)?))
}

/// The root of the tree of the first `size` leaves.
pub fn tree_hash(size: u64, reader: &dyn HashReader) -> Result<Hash> {
    range_hash(0, size, reader)
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The ranges whose hashes make the inclusion proof of leaf `m` in `[lo, hi)`, leaf to root.
fn path_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    if hi - lo <= 1 {
        return;
    }
    let k = split(hi - lo);
    if m < lo + k {
        path_ranges(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        path_ranges(m, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The ranges of RFC 6962's `SUBPROOF(m, D[lo:hi], b)`.
fn subproof_ranges(m: u64, lo: u64, hi: u64, b: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !b {
            out.push((lo, hi));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof_ranges(m, lo, lo + k, b, out);
        out.push((lo + k, hi));
    } else {
        subproof_ranges(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

fn hashes_of(ranges: &[(u64, u64)], reader: &dyn HashReader) -> Result<Vec<Hash>> {
    ranges
        .iter()
        .map(|&(lo, hi)| range_hash(lo, hi, reader))
        .collect()
}

/// The inclusion proof (audit path, leaf to root) of leaf `index` in the tree of `size`
/// leaves. The caller checks `index < size`.
pub fn inclusion_proof(index: u64, size: u64, reader: &dyn HashReader) -> Result<Vec<Hash>> {
    let mut ranges = Vec::new();
    path_ranges(index, 0, size, &mut ranges);
    hashes_of(&ranges, reader)
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves (empty
/// when `old` is 0 or equals `new`). The caller checks `old <= new`.
pub fn consistency_proof(old: u64, new: u64, reader: &dyn HashReader) -> Result<Vec<Hash>> {
    let mut ranges = Vec::new();
    if old > 0 && old < new {
        subproof_ranges(old, 0, new, true, &mut ranges);
    }
    hashes_of(&ranges, reader)
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`,
/// by `path` (RFC 9162, 2.1.3.2). The refusal says what does not hold.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> std::result::Result<(), String> {
    if index >= size {
        return Err(format!(
            "leaf index {index} is not in a tree of {size} leaves"
        ));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return Err(format!(
                "the audit path is too long for leaf {index} of a tree of {size} leaves"
            ));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(format!(
            "the audit path is too short for leaf {index} of a tree of {size} leaves"
        ));
    }
    if &r != root {
        return Err(format!(
            "the audit path leads to root {}, not to the root {}",
            hex::encode(r),
            hex::encode(root)
        ));
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, by `proof` (RFC 9162, 2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> std::result::Result<(), String> {
    if old_size > new_size {
        return Err(format!(
            "the old size {old_size} is larger than the new size {new_size}"
        ));
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(format!(
                "a proof from size {old_size} to size {new_size} is empty, and this one has {} hashes",
                proof.len()
            ));
        }
        if old_size == new_size && old_root != new_root {
            return Err("the two roots of the same size differ".into());
        }
        if old_size == 0 && old_root != &empty_root() {
            return Err("the old root is not the root of the empty tree".into());
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err("the proof is empty".into());
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err("the proof is too long".into());
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err("the proof is too short".into());
    }
    if &fr != old_root {
        return Err(format!(
            "the proof leads to old root {}, not to {}",
            hex::encode(fr),
            hex::encode(old_root)
        ));
    }
    if &sr != new_root {
        return Err(format!(
            "the proof leads to new root {}, not to {}",
            hex::encode(sr),
            hex::encode(new_root)
        ));
    }
    Ok(())
}

/// The right edge of a tree being grown leaf by leaf: the hashes of its complete subtrees,
/// largest first (one per set bit of its size). Appending a leaf gives the hashes to store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    size: u64,
    subtrees: Vec<Hash>,
}

impl Edge {
    /// The edge of the tree of `size` leaves, read from its stored hashes (O(log size)).
    pub fn read(size: u64, reader: &dyn HashReader) -> Result<Edge> {
        let indexes: Vec<u64> = pieces(0, size)
            .into_iter()
            .map(|(level, n)| stored_hash_index(level, n))
            .collect();
        Ok(Edge {
            size,
            subtrees: reader.read_hashes(&indexes)?,
        })
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the hashes to store from `stored_hash_index(0, old size)` on:
    /// the leaf and the parents it completes, lowest first.
    pub fn push(&mut self, leaf: Hash) -> Vec<Hash> {
        let mut made = vec![leaf];
        let mut h = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            // A set bit has its subtree on the edge.
            let Some(left) = self.subtrees.pop() else {
                break;
            };
            h = node_hash(&left, &h);
            made.push(h);
            n >>= 1;
        }
        self.subtrees.push(h);
        self.size += 1;
        made
    }

    /// The root of the tree.
    pub fn root(&self) -> Hash {
        fold(&self.subtrees)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Stored hashes in memory, as a log keeps them.
    struct Mem(Vec<Hash>);

    impl HashReader for Mem {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
            Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&Sha256::digest(i.to_be_bytes()).into()))
            .collect()
    }

    fn grow(leaves: &[Hash]) -> (Mem, Edge) {
        let mut edge = Edge::default();
        let mut mem = Vec::new();
        for leaf in leaves {
            assert_eq!(mem.len() as u64, stored_hash_index(0, edge.size()));
            mem.extend(edge.push(*leaf));
            assert_eq!(mem.len() as u64, stored_hash_count(edge.size()));
        }
        (Mem(mem), edge)
    }

    /// RFC 6962's MTH, by its recursive definition.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    #[test]
    fn go_stored_hash_indexes() {
        // Values of Go's tlog.StoredHashIndex and StoredHashCount.
        assert_eq!(stored_hash_index(0, 0), 0);
        assert_eq!(stored_hash_index(0, 1), 1);
        assert_eq!(stored_hash_index(1, 0), 2);
        assert_eq!(stored_hash_index(0, 2), 3);
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(stored_hash_index(1, 1), 5);
        assert_eq!(stored_hash_index(2, 0), 6);
        assert_eq!(stored_hash_count(0), 0);
        assert_eq!(stored_hash_count(1), 1);
        assert_eq!(stored_hash_count(2), 3);
        assert_eq!(stored_hash_count(3), 4);
        assert_eq!(stored_hash_count(4), 7);
        for n in 0..300 {
            assert_eq!(size_of_count(stored_hash_count(n)), n);
        }
    }

    #[test]
    fn roots_are_rfc6962_mth_at_every_size() {
        let all = leaves(70);
        let (mem, _) = grow(&all);
        for n in 0..=70u64 {
            let (_, edge) = grow(&all[..n as usize]);
            assert_eq!(edge.root(), mth(&all[..n as usize]), "size {n}");
            assert_eq!(tree_hash(n, &mem).unwrap(), edge.root(), "size {n}");
            assert_eq!(Edge::read(n, &mem).unwrap(), edge);
        }
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_up_to_40() {
        let all = leaves(40);
        let (mem, _) = grow(&all);
        for size in 1..=40u64 {
            let root = tree_hash(size, &mem).unwrap();
            for i in 0..size {
                let path = inclusion_proof(i, size, &mem).unwrap();
                verify_inclusion(&all[i as usize], i, size, &path, &root).unwrap();
                let other = all[((i + 1) % 40) as usize];
                assert!(verify_inclusion(&other, i, size, &path, &root).is_err());
            }
            for old in 0..=size {
                let old_root = tree_hash(old, &mem).unwrap();
                let proof = consistency_proof(old, size, &mem).unwrap();
                verify_consistency(old, size, &old_root, &root, &proof).unwrap();
                if old > 0 && old < size {
                    let wrong = tree_hash(old - 1, &mem).unwrap();
                    assert!(verify_consistency(old, size, &wrong, &root, &proof).is_err());
                }
            }
        }
    }
}
