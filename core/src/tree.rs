//! The log's Merkle tree as a store keeps it: its stored hashes (see [`crate::record::merkle`])
//! written in the append's transaction, caught up for events written before they were kept,
//! read for roots and proofs, and checked by `verify`.
//!
//! The tree has one leaf per event, in seq order: leaf `seq - 1` is the RFC 6962 leaf hash
//! of the event's chain hash. Like the views, the stored hashes are derived data: a log
//! whose tree is behind its events (written by an older chronicle) catches up in a write
//! transaction when it is opened or written; a read-only one has the missing hashes
//! computed in memory when a root or a proof needs them.

use crate::error::{Error, Result};
use crate::record::hash::parse_hex;
use crate::record::merkle::{self, Edge, Hash, HashReader};
use crate::record::EventFilter;
use crate::store::{Reads, Store, Writes};

/// How the stored tree stands against the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// One leaf per event, the last one matching the last event.
    Current,
    /// Correct for this many leaves; the log goes further.
    Behind(u64),
    /// Not matching the log (or cut in the middle of a leaf's hashes): made anew.
    Rebuild,
}

/// Reads stored hashes through a store.
struct Stored<'a>(&'a dyn Reads);

impl HashReader for Stored<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        self.0.tree_hashes(indexes)
    }
}

/// The leaf of an event whose stored chain hash is `hex`, or why there is none.
fn leaf_of(seq: u64, hex: &str) -> Result<Hash> {
    parse_hex(hex)
        .map(|h| merkle::leaf_hash(&h))
        .ok_or_else(|| Error::Corrupt {
            seq,
            problem: format!(
                "stored hash {hex:?} is not 64 hex digits, so it has no leaf in the Merkle tree"
            ),
        })
}

/// The number of leaves stored whole, and how they stand against the log.
fn status(db: &dyn Reads) -> Result<Status> {
    let count = db.tree_hash_count()?;
    let size = merkle::size_of_count(count);
    let head = db.head()?.map_or(0, |h| h.seq);
    if merkle::stored_hash_count(size) != count || size > head {
        return Ok(Status::Rebuild);
    }
    if size > 0 {
        let stored = db.tree_hashes(&[merkle::stored_hash_index(0, size - 1)])?;
        let event = db.hash_at(size)?.unwrap_or_default();
        if parse_hex(&event).map(|h| merkle::leaf_hash(&h)) != stored.first().copied() {
            return Ok(Status::Rebuild);
        }
    }
    Ok(if size < head {
        Status::Behind(size)
    } else {
        Status::Current
    })
}

/// Brings the stored tree up to date when it is not, in its own write transaction. Called
/// when a log is opened; a current tree, or a read-only log, is not written to.
pub(crate) fn ensure(store: &mut dyn Store) -> Result<()> {
    if status(store)? == Status::Current || store.is_read_only()? {
        return Ok(());
    }
    let tx = store.write()?;
    catch_up(&*tx)?;
    tx.commit()
}

/// Inside a write transaction: stores the tree's hashes for the events that have none yet
/// (all of them, when the stored tree does not match the log). Stops before an event whose
/// stored hash is not a hash (only a damaged log has one; `verify` names it).
pub(crate) fn catch_up(tx: &dyn Writes) -> Result<()> {
    let from = match status(tx)? {
        Status::Current => return Ok(()),
        Status::Behind(size) => size,
        Status::Rebuild => {
            tx.reset_tree()?;
            0
        }
    };
    let mut growth = Growth {
        edge: Edge::read(from, &Stored(tx))?,
    };
    let filter = EventFilter {
        since_seq: Some(from),
        ..EventFilter::default()
    };
    let mut damaged = false;
    tx.scan(&filter, &mut |event| match parse_hex(&event.hash) {
        Some(hash) if !damaged => growth.push(tx, &hash),
        _ => {
            damaged = true;
            Ok(())
        }
    })
}

/// Drops the stored tree and makes it anew from the events.
fn rebuild(tx: &dyn Writes) -> Result<()> {
    tx.reset_tree()?;
    catch_up(tx)
}

/// `chronicle rebuild`'s repair of the stored tree, fed by the scan that replays the views
/// (one scan of the log instead of two): the tree is recomputed from the events' chain
/// hashes and compared with the stored hashes a block at a time, as `verify` does
/// ([`Check`]). A stored tree that matches is not written to (it was deleted and inserted
/// anew before, 15% of a rebuild); one that differs anywhere, or stores more hashes than the
/// events make, is made anew; one that lags is caught up.
#[derive(Debug)]
pub(crate) struct Repair {
    /// `None` once something is found to differ (or an event's hash is not a hash): the
    /// rest of the scan need not be compared, the tree is made anew.
    check: Option<Check>,
}

impl Repair {
    /// Starts comparing the tree stored in `db` with the events about to be scanned (from
    /// the first).
    pub(crate) fn new(db: &dyn Reads) -> Result<Repair> {
        Ok(Repair {
            check: Some(Check::new(db)?),
        })
    }

    /// The next event, in seq order, whose stored chain hash is `hex`.
    pub(crate) fn push(&mut self, db: &dyn Reads, hex: &str) -> Result<()> {
        let Some(check) = self.check.as_mut() else {
            return Ok(());
        };
        let differs = match parse_hex(hex) {
            Some(hash) => check.push(db, &hash)?.is_some(),
            None => true,
        };
        if differs {
            self.check = None;
        }
        Ok(())
    }

    /// After the scan: writes what the stored tree needs, nothing when it matched.
    pub(crate) fn finish(self, tx: &dyn Writes) -> Result<()> {
        let matches = match self.check {
            Some(check) => check.finish(tx)?.is_none(),
            None => false,
        };
        if matches {
            catch_up(tx)
        } else {
            rebuild(tx)
        }
    }
}

/// The tree grown by a write transaction, one leaf per event it inserts.
#[derive(Debug)]
pub(crate) struct Growth {
    edge: Edge,
}

impl Growth {
    /// Starts growing the tree in `tx`, after catching it up with the log.
    pub(crate) fn begin(tx: &dyn Writes) -> Result<Growth> {
        catch_up(tx)?;
        let size = tx.head()?.map_or(0, |h| h.seq);
        Ok(Growth {
            edge: Edge::read(size, &Stored(tx))?,
        })
    }

    /// Adds the leaf of the next event (whose chain hash is `hash`) and stores the hashes it
    /// makes.
    pub(crate) fn push(&mut self, tx: &dyn Writes, hash: &Hash) -> Result<()> {
        let leaf = merkle::leaf_hash(hash);
        let first = merkle::stored_hash_index(0, self.edge.size());
        tx.insert_tree_hashes(first, &self.edge.push(leaf))
    }
}

/// The tree of a log as it is now, for roots and proofs: the stored hashes, and in memory
/// those a read-only log lacks.
pub(crate) struct Tree<'a> {
    db: &'a dyn Reads,
    /// How many stored hashes are used.
    stored: u64,
    /// The hashes from index `stored` on, computed.
    computed: Vec<Hash>,
    /// The number of leaves: the number of events.
    size: u64,
}

impl std::fmt::Debug for Tree<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("size", &self.size)
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

impl HashReader for Tree<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        if indexes.iter().all(|&i| i < self.stored) {
            return self.db.tree_hashes(indexes);
        }
        indexes
            .iter()
            .map(|&i| {
                if i < self.stored {
                    Ok(self.db.tree_hashes(&[i])?[0])
                } else {
                    usize::try_from(i - self.stored)
                        .ok()
                        .and_then(|at| self.computed.get(at))
                        .copied()
                        .ok_or_else(|| Error::Corrupt {
                            seq: merkle::size_of_count(i) + 1,
                            problem: format!("the Merkle tree has no hash {i}"),
                        })
                }
            })
            .collect()
    }
}

impl<'a> Tree<'a> {
    /// The tree of the log in `db`.
    pub(crate) fn read(db: &'a dyn Reads) -> Result<Tree<'a>> {
        let from = match status(db)? {
            Status::Current => {
                let size = db.head()?.map_or(0, |h| h.seq);
                return Ok(Tree {
                    db,
                    stored: merkle::stored_hash_count(size),
                    computed: Vec::new(),
                    size,
                });
            }
            Status::Behind(size) => size,
            Status::Rebuild => 0,
        };
        let mut tree = Tree {
            db,
            stored: merkle::stored_hash_count(from),
            computed: Vec::new(),
            size: from,
        };
        let mut edge = Edge::read(from, &tree)?;
        let filter = EventFilter {
            since_seq: Some(from),
            ..EventFilter::default()
        };
        let mut computed = Vec::new();
        db.scan(&filter, &mut |event| {
            computed.extend(edge.push(leaf_of(event.seq, &event.hash)?));
            Ok(())
        })?;
        tree.computed = computed;
        tree.size = edge.size();
        Ok(tree)
    }

    /// The number of leaves (events).
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree of the first `size` leaves.
    pub(crate) fn root(&self, size: u64) -> Result<Hash> {
        merkle::tree_hash(size, self)
    }
}

/// `verify`'s check of the stored tree: the tree recomputed from the events as they are
/// scanned, compared with every stored hash, a block at a time.
#[derive(Debug, Default)]
pub(crate) struct Check {
    edge: Edge,
    /// The recomputed hashes not yet compared, from index `pending_from`.
    pending: Vec<Hash>,
    pending_from: u64,
    /// How many hashes are stored (only these are compared: a read-only log's tree may lag).
    stored: u64,
}

/// Hashes recomputed between two comparisons.
const CHECK_EVERY: usize = 8192;

impl Check {
    /// Starts checking the tree of `db`.
    pub(crate) fn new(db: &dyn Reads) -> Result<Check> {
        Ok(Check {
            stored: db.tree_hash_count()?,
            ..Check::default()
        })
    }

    /// Adds the leaf of the next event (its chain hash `hash`, raw); returns what is wrong
    /// once a block has been compared.
    pub(crate) fn push(&mut self, db: &dyn Reads, hash: &Hash) -> Result<Option<String>> {
        self.pending.extend(self.edge.push(merkle::leaf_hash(hash)));
        if self.pending.len() >= CHECK_EVERY {
            return self.compare(db);
        }
        Ok(None)
    }

    /// Compares what is left; returns what is wrong, if anything.
    pub(crate) fn finish(mut self, db: &dyn Reads) -> Result<Option<String>> {
        if let Some(problem) = self.compare(db)? {
            return Ok(Some(problem));
        }
        let expected = merkle::stored_hash_count(self.edge.size());
        let problem = (self.stored > expected).then(|| {
            format!(
                "the Merkle tree stores {} hashes, but the {} events make {expected} (the tree table was altered; `chronicle rebuild` makes it anew)",
                self.stored,
                self.edge.size()
            )
        });
        Ok(problem)
    }

    fn compare(&mut self, db: &dyn Reads) -> Result<Option<String>> {
        let from = self.pending_from;
        let to = from + self.pending.len() as u64;
        let mut problem = None;
        let mut seen = from;
        let pending = std::mem::take(&mut self.pending);
        db.tree_hash_range(from, to.min(self.stored), &mut |idx, stored| {
            if problem.is_none() {
                let computed = &pending[(idx - from) as usize];
                if idx != seen || stored != computed {
                    let at = if idx != seen { seen } else { idx };
                    problem = Some(format!(
                        "the Merkle tree's stored hash {at} (made by the event at seq {}) is missing or differs from the one the events give, {} (the tree table was altered; `chronicle rebuild` makes it anew)",
                        merkle::size_of_count(at) + 1,
                        hex::encode(pending[(at - from) as usize]),
                    ));
                }
                seen = idx + 1;
            }
            Ok(())
        })?;
        if problem.is_none() && seen < to.min(self.stored) {
            problem = Some(format!(
                "the Merkle tree's stored hash {seen} (made by the event at seq {}) is missing (the tree table was altered; `chronicle rebuild` makes it anew)",
                merkle::size_of_count(seen) + 1
            ));
        }
        self.pending_from = to;
        Ok(problem)
    }
}
