//! The SQLite backend: one file holding the `events` table (guarded by triggers) and the
//! view tables, written in `BEGIN IMMEDIATE` transactions so that several processes can
//! append at once without gaps in the sequence.
//!
//! [`schema`] opens, makes and migrates the file; [`events`] and [`views`] hold the queries
//! of the two halves, as methods of [`Db`], a connection borrowed with the path it came
//! from. [`SqliteStore`] (an open file) and [`SqliteTx`] (a write transaction) both read
//! through a [`Db`].

mod events;
mod schema;
mod tree;
mod views;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{
    Head, IncidentRows, MergeRef, Reads, Store, StoredView, StreamRow, ViewColumns, ViewEntry,
    ViewsMeta, Writes,
};
use crate::error::{Error, Result};
use crate::record::merkle::Hash;
use crate::record::{Batch, EventFilter, RecordedEvent};

/// An open SQLite log.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// The file's schema is older than the log format 2 (a read-only log left as it is).
    legacy: bool,
    /// The connection has the settings of a write transaction ([`WRITE_SETTINGS`]); the
    /// next read through the store puts back those of reads ([`READ_SETTINGS`]).
    write_settings: std::cell::Cell<bool>,
}

/// What a write transaction changes in the connection's settings, before it begins (SQLite
/// refuses to change `temp_store` inside a transaction). Statement journals in memory: every
/// insert into `events` keeps one (its UNIQUE constraints and the `events_contiguous`
/// trigger may abort the statement, which must then be undone alone), and in a file each
/// cost a `write` system call per page (9% of a large append's time); in memory it is a
/// copy of a few pages per statement, freed when the statement ends.
const WRITE_SETTINGS: &str = "PRAGMA temp_store = MEMORY";

/// The settings of reads, put back after a write transaction: temporary storage (the
/// sorter of a `GROUP BY` over every view row) in files, so that memory stays flat.
const READ_SETTINGS: &str = "PRAGMA temp_store = DEFAULT";

/// A write transaction on a [`SqliteStore`].
#[derive(Debug)]
pub(crate) struct SqliteTx<'a> {
    tx: Transaction<'a>,
    path: &'a Path,
}

/// A connection and the path of its file, for the queries and their error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Db<'a> {
    conn: &'a Connection,
    path: &'a Path,
    /// The schema predates the log format 2: its columns are read as format-1 defaults.
    legacy: bool,
}

impl Db<'_> {
    /// Maps an SQLite error to the library's, naming the file and what to do.
    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        sqlite_err(self.path)
    }
}

/// Maps an SQLite error on the log at `path` to the library's error, with a hint that says
/// what to do.
pub(crate) fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |source| {
        let hint = match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ReadOnly) => {
                " (the file or its directory is read-only: check permissions, or copy the log somewhere writable)"
            }
            Some(rusqlite::ErrorCode::SystemIoFailure) => {
                " (a read or write failed: the disk may be full or failing; nothing was committed)"
            }
            Some(rusqlite::ErrorCode::DiskFull) => {
                " (the disk is full: free some space and retry; nothing was written)"
            }
            Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase) => {
                " (the file is damaged or truncated; it was not changed: restore it from a backup)"
            }
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                " (another process held the log for too long; retry)"
            }
            Some(rusqlite::ErrorCode::CannotOpen) => {
                " (the file cannot be opened: check that the path and its directory exist and are readable)"
            }
            _ => "",
        };
        Error::Storage {
            path: path.to_path_buf(),
            cause: Box::new(source),
            hint,
        }
    }
}

impl SqliteStore {
    fn db(&self) -> Db<'_> {
        Db {
            conn: &self.conn,
            path: &self.path,
            legacy: self.legacy,
        }
    }

    /// The connection for a read, with the settings of reads put back after a write
    /// transaction (see [`WRITE_SETTINGS`]).
    fn ready(&self) -> Result<Db<'_>> {
        if self.write_settings.get() {
            self.conn
                .execute_batch(READ_SETTINGS)
                .map_err(sqlite_err(&self.path))?;
            self.write_settings.set(false);
        }
        Ok(self.db())
    }
}

impl SqliteTx<'_> {
    fn db(&self) -> Db<'_> {
        Db {
            conn: &self.tx,
            path: self.path,
            legacy: false,
        }
    }

    /// The connection for a read (inside the transaction: as it is).
    #[allow(clippy::unnecessary_wraps)]
    fn ready(&self) -> Result<Db<'_>> {
        Ok(self.db())
    }
}

/// Implements [`Reads`] for a type with a `db()` method by forwarding to its [`Db`].
macro_rules! reads_through_db {
    ($t:ty) => {
        impl Reads for $t {
            fn location(&self) -> &Path {
                self.db().path
            }
            fn head(&self) -> Result<Option<Head>> {
                self.ready()?.head()
            }
            fn last_seq_recorded_by(&self, recorded_at: &str) -> Result<u64> {
                self.ready()?.last_seq_recorded_by(recorded_at)
            }
            fn recorded_at(&self, seq: u64) -> Result<Option<String>> {
                self.ready()?.recorded_at(seq)
            }
            fn hash_at(&self, seq: u64) -> Result<Option<String>> {
                self.ready()?.hash_at(seq)
            }
            fn scan(
                &self,
                filter: &EventFilter,
                each: &mut dyn FnMut(RecordedEvent) -> Result<()>,
            ) -> Result<()> {
                self.ready()?.scan(filter, each)
            }
            fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>> {
                self.ready()?.event_by_id(id)
            }
            fn batch(&self, id: &str) -> Result<Option<Batch>> {
                self.ready()?.batch(id)
            }
            fn stream(
                &self,
                incident: &str,
                upto: u64,
                each: &mut dyn FnMut(StreamRow<'_>) -> Result<()>,
            ) -> Result<()> {
                self.ready()?.stream(incident, upto, each)
            }
            fn merges_into(&self, into: &str, upto: u64) -> Result<Vec<MergeRef>> {
                self.ready()?.merges_into(into, upto)
            }
            fn opened_with_id_prefix(&self, prefix: &str) -> Result<Vec<String>> {
                self.ready()?.opened_with_id_prefix(prefix)
            }
            fn views_meta(&self) -> Result<Option<ViewsMeta>> {
                self.ready()?.views_meta()
            }
            fn views_at(
                &self,
                seq: u64,
                at_head: bool,
                columns: ViewColumns,
                each: &mut dyn FnMut(StoredView) -> Result<()>,
            ) -> Result<()> {
                self.ready()?.views_at(seq, at_head, columns, each)
            }
            fn view_entry(&self, incident: &str) -> Result<Option<ViewEntry>> {
                self.ready()?.view_entry(incident)
            }
            fn tree_hash_count(&self) -> Result<u64> {
                self.ready()?.tree_hash_count()
            }
            fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
                self.ready()?.tree_hashes(indexes)
            }
            fn tree_hash_range(
                &self,
                from: u64,
                to: u64,
                each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
            ) -> Result<()> {
                self.ready()?.tree_hash_range(from, to, each)
            }
        }
    };
}

reads_through_db!(SqliteStore);
reads_through_db!(SqliteTx<'_>);

impl Store for SqliteStore {
    fn write(&mut self) -> Result<Box<dyn Writes + '_>> {
        if !self.write_settings.get() {
            self.conn
                .execute_batch(WRITE_SETTINGS)
                .map_err(sqlite_err(&self.path))?;
            self.write_settings.set(true);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite_err(&self.path))?;
        Ok(Box::new(SqliteTx {
            tx,
            path: &self.path,
        }))
    }

    fn is_read_only(&self) -> Result<bool> {
        self.conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(sqlite_err(&self.path))
    }

    fn broken_guards(&self) -> Result<Vec<&'static str>> {
        self.db().broken_guards()
    }

    /// Copies the WAL into the file and empties it, rewrites the file without its free
    /// pages (`VACUUM`), and empties the WAL again: no byte of an erased payload is left in
    /// `events.db` or `events.db-wal`.
    fn purge_kind(&self) -> super::Purge {
        super::Purge::FileAndJournal
    }

    fn purge_erased(&mut self) -> Result<()> {
        let err = sqlite_err(&self.path);
        let truncate = |conn: &Connection| -> Result<()> {
            let (busy, _, _): (i64, i64, i64) = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(&err)?;
            if busy != 0 {
                return Err(Error::Storage {
                    path: self.path.clone(),
                    cause: "another process is reading the log, so its journal could not be emptied".into(),
                    hint: " (the payload is erased from the log, but its old bytes may remain in the file until this finishes: run the same `chronicle redact` again when no other chronicle has the log open)",
                });
            }
            Ok(())
        };
        truncate(&self.conn)?;
        self.conn.execute_batch("VACUUM").map_err(&err)?;
        truncate(&self.conn)
    }

    fn grant(&mut self, role: &str, _access: super::Access) -> Result<()> {
        Err(crate::error::Invalid::new(
            "--db",
            self.path.display(),
            format!("an SQLite file has no roles to grant `{role}` rights on: `grant` is for a log on PostgreSQL (--db postgres://...); a file's rights are its permissions"),
        )
        .into())
    }
}

impl Writes for SqliteTx<'_> {
    fn insert_event(&self, event: &RecordedEvent) -> Result<()> {
        self.db().insert_event(event)
    }

    fn insert_batch(&self, batch: &Batch) -> Result<()> {
        self.db().insert_batch(batch)
    }

    fn erase_payload(&self, id: &str, redaction: &str) -> Result<()> {
        self.db().erase_payload(id, redaction)
    }

    fn reset_views(&self, version: i64) -> Result<()> {
        self.db().reset_views(version)
    }

    fn index_views(&self) -> Result<()> {
        self.db().index_views()
    }

    fn write_view(
        &self,
        incident: &str,
        first: u64,
        last: u64,
        rows: Option<&IncidentRows<'_>>,
    ) -> Result<()> {
        self.db().write_view(incident, first, last, rows)
    }

    fn set_views_checkpoint(&self, seq: u64, hash: &str) -> Result<()> {
        self.db().set_views_checkpoint(seq, hash)
    }

    fn insert_tree_hashes(&self, first: u64, hashes: &[Hash]) -> Result<()> {
        self.db().insert_tree_hashes(first, hashes)
    }

    fn reset_tree(&self) -> Result<()> {
        self.db().reset_tree()
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let path = self.path;
        self.tx.commit().map_err(sqlite_err(path))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn temp_store(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "temp_store", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_write_keeps_its_statement_journals_in_memory_and_reads_put_files_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = SqliteStore::init(&dir.path().join("events.db")).unwrap();
        assert_eq!(temp_store(&store.conn), 0, "the default: files");
        let tx = store.write().unwrap();
        tx.head().unwrap();
        tx.commit().unwrap();
        assert_eq!(
            temp_store(&store.conn),
            2,
            "MEMORY during and after the write"
        );
        store.head().unwrap();
        assert_eq!(temp_store(&store.conn), 0, "a read puts the default back");
    }
}
