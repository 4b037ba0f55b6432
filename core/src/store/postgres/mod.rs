//! The PostgreSQL backend: a log shared by a team on a database server, with the same
//! tables, the same guarantees and the same bytes as the SQLite file.
//!
//! - [`url`] parses the connection string (`postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME`)
//!   and connects (TLS through rustls); the password never reaches a message.
//! - [`schema`] opens, makes and migrates a database: the migrations, the append-only
//!   triggers (UPDATE, DELETE and TRUNCATE of `events` refused by the server), the roles
//!   that `chronicle grant` makes writers and readers.
//! - [`events`], [`views`] and [`tree`] hold the queries of the three parts, as methods
//!   of [`Db`], a connection borrowed with the log's name.
//!
//! **One writer at a time, so no gaps.** A write transaction begins by locking the one row
//! of `chronicle_write_lock` (`SELECT ... FOR UPDATE`): writers on any machine queue there,
//! as SQLite's `BEGIN IMMEDIATE` queues processes. The core then reads the head and numbers
//! the next event `head + 1` inside that transaction; no PostgreSQL sequence is used (a
//! rolled-back `nextval` leaves a gap). A trigger refuses an insert whose seq does not
//! continue the log, whoever runs it. Readers never wait: `READ COMMITTED` reads see the
//! last committed append.
//!
//! The connection is used through a `Mutex` because the store's reads take `&self` while
//! the client's calls take `&mut` (and a write transaction's thread that sends its buffered
//! rows shares it, one statement at a time). A lock never outlives one statement: rows are fetched
//! (a long scan in pages, by seq) before any callback runs, so a callback may query the
//! store again, as the views' maintenance does during a rebuild's scan.

mod bulk;
mod events;
mod pending;
mod schema;
mod tree;
pub(crate) mod url;
mod views;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use super::{
    Head, IncidentRows, MergeRef, Reads, Store, StoredView, StreamRow, ViewColumns, ViewEntry,
    ViewsMeta, Writes,
};
use crate::error::{Error, Result};
use crate::record::merkle::Hash;
use crate::record::{Batch, EventFilter, RecordedEvent};

use pending::Pending;
use schema::grant;
pub(crate) use url::{is_url, PgUrl};

/// A connection and its prepared statements, shared with the thread that sends a write
/// transaction's buffered rows (see [`PgTx`]); one statement at a time holds it.
#[derive(Clone)]
pub(crate) struct Conn {
    client: Arc<Mutex<Client>>,
    /// Statements prepared once per connection, by their text.
    prepared: Arc<Mutex<HashMap<String, Statement>>>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client: Arc::new(Mutex::new(client)),
            prepared: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// Locks a mutex; one poisoned by a panic elsewhere is taken as it is (a statement either
/// ran or did not: the server's transaction says which).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An open PostgreSQL log.
pub(crate) struct PgStore {
    conn: Conn,
    /// The connection string without its password: how messages name the log.
    location: PathBuf,
    /// What `Store::is_read_only` found (the role may not insert into `events`).
    read_only: bool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A write transaction on a [`PgStore`]: `BEGIN`, the write lock, and `COMMIT`, or
/// `ROLLBACK` when dropped uncommitted. Its inserts are buffered ([`pending`]) and sent
/// in bulk: when a buffer is full, by a thread of their own while the core computes the
/// next rows (the client and the server work at the same time); before any read, before a
/// write that is not buffered, before the commit and before the rollback, that thread is
/// waited for and the rest sent. So the statements reach the server in the order they were
/// made, one at a time, and a read sees every write before it.
pub(crate) struct PgTx<'a> {
    conn: &'a Conn,
    location: &'a Path,
    done: Cell<bool>,
    pending: RefCell<Pending>,
    /// The buffers being sent, if any: the thread hands them back emptied.
    in_flight: RefCell<Option<JoinHandle<Result<Pending>>>>,
}

/// A connection and the name of its log, for the queries and their error messages.
#[derive(Clone, Copy)]
pub(crate) struct Db<'a> {
    conn: &'a Conn,
    location: &'a Path,
}

/// Maps a PostgreSQL error on the log at `location` to the library's error, with a hint.
pub(crate) fn pg_err(location: &Path) -> impl Fn(postgres::Error) -> Error + '_ {
    move |source| {
        // Closed, or an I/O error on the socket ("connection reset by peer" when the server
        // is killed): the client library gives no kind for the latter but its source.
        let io = std::error::Error::source(&source).is_some_and(|e| e.is::<std::io::Error>());
        let lost = source.is_closed()
            || io
            || source.code().is_some_and(|c| {
                *c == postgres::error::SqlState::ADMIN_SHUTDOWN
                    || *c == postgres::error::SqlState::CRASH_SHUTDOWN
                    || *c == postgres::error::SqlState::CANNOT_CONNECT_NOW
            });
        let hint = if lost {
            " (the connection to the server was lost before the command finished: it landed whole or not at all; run it again: events with an `id` are never appended twice)"
        } else {
            match source.code() {
                Some(c) if *c == postgres::error::SqlState::INSUFFICIENT_PRIVILEGE => {
                    " (this role may not do that here: see `chronicle grant`)"
                }
                Some(c)
                    if *c == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                        || *c == postgres::error::SqlState::T_R_DEADLOCK_DETECTED =>
                {
                    " (another client wrote at the same time; nothing was written: retry)"
                }
                _ => "",
            }
        };
        Error::Storage {
            path: location.to_path_buf(),
            cause: Box::new(ServerSaid(describe(&source))),
            hint,
        }
    }
}

/// What the server (or the client library) said, in one line: the cause of an
/// [`Error::Storage`]. The client's own `Display` of a server error is only "db error".
#[derive(Debug)]
pub(crate) struct ServerSaid(pub(crate) String);

impl std::fmt::Display for ServerSaid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServerSaid {}

/// A PostgreSQL error in one line: the server's message (and detail) when it sent one, else
/// the client's error and its causes. No connection parameter is part of either.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s.replace('\n', " ")
}

impl<'a> Db<'a> {
    fn err(&self) -> impl Fn(postgres::Error) -> Error + 'a {
        pg_err(self.location)
    }

    /// The prepared statement of `sql` on this connection.
    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = lock(&self.conn.prepared).get(sql) {
            return Ok(s.clone());
        }
        let stmt = lock(&self.conn.client).prepare(sql).map_err(self.err())?;
        lock(&self.conn.prepared).insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    /// The rows of a (prepared, cached) query.
    fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        lock(&self.conn.client)
            .query(&stmt, params)
            .map_err(self.err())
    }

    /// The first row of a query, if any.
    fn row(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// Runs a (prepared, cached) statement; returns how many rows it changed.
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        lock(&self.conn.client)
            .execute(&stmt, params)
            .map_err(self.err())
    }

    /// Runs statements that take no parameters (DDL), unprepared.
    fn batch(&self, sql: &str) -> Result<()> {
        lock(&self.conn.client)
            .batch_execute(sql)
            .map_err(self.err())
    }

    /// Forgets the prepared statements (after DDL that drops what they name).
    fn forget_statements(&self) {
        lock(&self.conn.prepared).clear();
    }
}

/// Quotes an identifier (a role name) for SQL.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A column read as `T`, or the log is damaged (`seq` names where, when known).
fn get<'r, T: postgres::types::FromSql<'r>>(row: &'r Row, idx: usize, seq: u64) -> Result<T> {
    row.try_get(idx).map_err(|e| Error::Corrupt {
        seq,
        problem: format!("column {idx} cannot be read: {e}"),
    })
}

/// A non-negative integer column (seq, version, count) read as `u64`.
fn get_u64(row: &Row, idx: usize, seq: u64) -> Result<u64> {
    let v: i64 = get(row, idx, seq)?;
    u64::try_from(v).map_err(|_| Error::Corrupt {
        seq,
        problem: format!("column {idx} holds the negative number {v}"),
    })
}

/// A `u64` as PostgreSQL's `BIGINT`; values past `i64::MAX` (no log gets there) saturate.
fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl PgStore {
    fn db(&self) -> Db<'_> {
        Db {
            conn: &self.conn,
            location: &self.location,
        }
    }
}

impl PgStore {
    /// Nothing to do before a read: an open store writes nothing.
    #[allow(clippy::unnecessary_wraps)]
    fn before_read(&self) -> Result<()> {
        Ok(())
    }
}

impl PgTx<'_> {
    fn db(&self) -> Db<'_> {
        Db {
            conn: self.conn,
            location: self.location,
        }
    }

    /// Waits for the buffers being sent, if any; their error, if sending failed.
    fn settle(&self) -> Result<()> {
        let Some(handle) = self.in_flight.borrow_mut().take() else {
            return Ok(());
        };
        match handle.join() {
            Ok(sent) => sent.map(|_| ()),
            Err(_) => Err(Error::Storage {
                path: self.location.to_path_buf(),
                cause: Box::new(ServerSaid(
                    "the thread sending the rows stopped; nothing of this command was committed"
                        .into(),
                )),
                hint: "",
            }),
        }
    }

    /// Sends every buffered write (waiting for those being sent): a read of the transaction
    /// must see them, and a statement of its own must come after them.
    fn before_read(&self) -> Result<()> {
        self.settle()?;
        self.db().send(&mut self.pending.borrow_mut())
    }

    /// Hands the buffers to a thread that sends them, once the previous ones are sent; new
    /// writes go to new buffers meanwhile.
    fn send_later(&self) -> Result<()> {
        self.settle()?;
        let mut pending = std::mem::replace(&mut *self.pending.borrow_mut(), Pending::new());
        let conn = self.conn.clone();
        let location = self.location.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("chronicle-pg-send".into())
            .spawn(move || {
                let db = Db {
                    conn: &conn,
                    location: &location,
                };
                db.send(&mut pending).map(|()| pending)
            })
            .map_err(|e| Error::Storage {
                path: self.location.to_path_buf(),
                cause: Box::new(e),
                hint: " (no thread could be started to send the rows; nothing was committed)",
            })?;
        *self.in_flight.borrow_mut() = Some(handle);
        Ok(())
    }

    /// Buffers a write with `add`, sending the buffers when they are full.
    fn buffer(&self, add: impl FnOnce(&mut Pending)) -> Result<()> {
        let full = {
            let mut pending = self.pending.borrow_mut();
            add(&mut pending);
            pending.is_full()
        };
        if full {
            self.send_later()?;
        }
        Ok(())
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        // The rows being sent must reach the server before the rollback (which must come
        // last: after it, a statement would run outside any transaction). An error they
        // met is moot: everything is rolled back.
        let _ = self.settle();
        if !self.done.get() {
            // Nothing to report from a failed rollback: the server rolls back a transaction
            // whose connection is gone.
            let _ = lock(&self.conn.client).batch_execute("ROLLBACK");
        }
    }
}

/// Implements [`Reads`] for a type with a `db()` method by forwarding to its [`Db`].
macro_rules! reads_through_db {
    ($t:ty) => {
        impl Reads for $t {
            fn location(&self) -> &Path {
                self.db().location
            }
            fn head(&self) -> Result<Option<Head>> {
                self.before_read()?;
                self.db().head()
            }
            fn last_seq_recorded_by(&self, recorded_at: &str) -> Result<u64> {
                self.before_read()?;
                self.db().last_seq_recorded_by(recorded_at)
            }
            fn recorded_at(&self, seq: u64) -> Result<Option<String>> {
                self.before_read()?;
                self.db().recorded_at(seq)
            }
            fn batch(&self, id: &str) -> Result<Option<Batch>> {
                self.before_read()?;
                self.db().batch_record(id)
            }
            fn hash_at(&self, seq: u64) -> Result<Option<String>> {
                self.before_read()?;
                self.db().hash_at(seq)
            }
            fn scan(
                &self,
                filter: &EventFilter,
                each: &mut dyn FnMut(RecordedEvent) -> Result<()>,
            ) -> Result<()> {
                self.before_read()?;
                self.db().scan(filter, each)
            }
            fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>> {
                self.before_read()?;
                self.db().event_by_id(id)
            }
            fn stream(
                &self,
                incident: &str,
                upto: u64,
                each: &mut dyn FnMut(StreamRow<'_>) -> Result<()>,
            ) -> Result<()> {
                self.before_read()?;
                self.db().stream(incident, upto, each)
            }
            fn merges_into(&self, into: &str, upto: u64) -> Result<Vec<MergeRef>> {
                self.before_read()?;
                self.db().merges_into(into, upto)
            }
            fn streams(
                &self,
                incidents: &[&str],
                upto: u64,
                each: &mut dyn FnMut(&str, StreamRow<'_>) -> Result<()>,
            ) -> Result<()> {
                self.before_read()?;
                self.db().streams(incidents, upto, each)
            }
            fn merges_into_each(
                &self,
                into: &[&str],
                upto: u64,
            ) -> Result<Vec<(String, MergeRef)>> {
                self.before_read()?;
                self.db().merges_into_each(into, upto)
            }
            fn present_ids(&self, ids: &[&str]) -> Result<Vec<String>> {
                self.before_read()?;
                self.db().present_ids(ids)
            }
            fn opened_with_id_prefix(&self, prefix: &str) -> Result<Vec<String>> {
                self.before_read()?;
                self.db().opened_with_id_prefix(prefix)
            }
            fn views_meta(&self) -> Result<Option<ViewsMeta>> {
                self.before_read()?;
                self.db().views_meta()
            }
            fn views_at(
                &self,
                seq: u64,
                at_head: bool,
                columns: ViewColumns,
                each: &mut dyn FnMut(StoredView) -> Result<()>,
            ) -> Result<()> {
                self.before_read()?;
                self.db().views_at(seq, at_head, columns, each)
            }
            fn view_entry(&self, incident: &str) -> Result<Option<ViewEntry>> {
                self.before_read()?;
                self.db().view_entry(incident)
            }
            fn tree_hash_count(&self) -> Result<u64> {
                self.before_read()?;
                self.db().tree_hash_count()
            }
            fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
                self.before_read()?;
                self.db().tree_hashes(indexes)
            }
            fn tree_hash_range(
                &self,
                from: u64,
                to: u64,
                each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
            ) -> Result<()> {
                self.before_read()?;
                self.db().tree_hash_range(from, to, each)
            }
        }
    };
}

reads_through_db!(PgStore);
reads_through_db!(PgTx<'_>);

impl Store for PgStore {
    fn write(&mut self) -> Result<Box<dyn Writes + '_>> {
        let tx = PgTx {
            conn: &self.conn,
            location: &self.location,
            done: Cell::new(true),
            pending: RefCell::new(Pending::new()),
            in_flight: RefCell::new(None),
        };
        tx.db().batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        tx.done.set(false);
        // Every writer queues here, on any machine: the head read next is the head.
        tx.db()
            .rows("SELECT 1 FROM chronicle_write_lock FOR UPDATE", &[])?;
        Ok(Box::new(tx))
    }

    fn is_read_only(&self) -> Result<bool> {
        Ok(self.read_only)
    }

    fn broken_guards(&self) -> Result<Vec<&'static str>> {
        self.db().broken_guards()
    }

    fn purge_kind(&self) -> super::Purge {
        super::Purge::VacuumFull
    }

    fn grant(&mut self, role: &str, access: super::Access) -> Result<()> {
        grant(self, role, access)
    }

    /// Rewrites the tables that held the erased text (`VACUUM FULL`: the dead row versions
    /// are gone from the table files). Only the log's owner may; the server's write-ahead
    /// log and its backups keep the old pages until they are recycled, out of chronicle's
    /// reach (docs/event-log.md, "On PostgreSQL").
    fn purge_erased(&mut self) -> Result<()> {
        let db = self.db();
        // A role that is not the owner would not get an error from the server: VACUUM
        // skips a table it may not vacuum with a mere warning, and the text would stay.
        db.owner_only(
            "the old row versions that still hold the erased text are purged from the server's table files by `VACUUM FULL`",
            "the owner must finish it",
        )?;
        let tables = ["events"]
            .iter()
            .chain(views::TABLES.iter())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        // VACUUM FULL keeps the row versions a running transaction may still read: wait
        // (a while) for those that began before the erasure committed.
        // (Not VACUUM FULL then: it would wait for their locks, and keep the versions.)
        let pinned = db.wait_for_older_transactions(std::time::Duration::from_secs(10))?;
        if pinned.is_empty() {
            // Bounded: a reader that holds a table for long makes the purge fail, not hang.
            db.batch("SET lock_timeout = '30s'")?;
            let vacuum = db.batch(&format!("VACUUM FULL {tables}"));
            db.batch("RESET lock_timeout")?;
            return vacuum;
        }
        Err(Error::Storage {
            path: self.location.clone(),
            cause: Box::new(ServerSaid(format!(
                "transactions that began before the erasure still run (server process ids {}), and `VACUUM FULL` would keep the old row versions they may still read: wait for them to end",
                pinned.join(", ")
            ))),
            hint: "",
        })
    }
}

impl Writes for PgTx<'_> {
    fn insert_event(&self, event: &RecordedEvent) -> Result<()> {
        self.buffer(|p| p.event(event))
    }

    fn insert_batch(&self, batch: &Batch) -> Result<()> {
        self.buffer(|p| p.batch(batch))
    }

    fn erase_payload(&self, id: &str, redaction: &str) -> Result<()> {
        self.before_read()?;
        self.db().erase_payload(id, redaction)
    }

    fn reset_views(&self, version: i64) -> Result<()> {
        self.before_read()?;
        self.db().reset_views(version)
    }

    fn index_views(&self) -> Result<()> {
        self.before_read()?;
        self.db().index_views()
    }

    fn write_view(
        &self,
        incident: &str,
        first: u64,
        last: u64,
        rows: Option<&IncidentRows<'_>>,
    ) -> Result<()> {
        if !self.pending.borrow_mut().view(incident, first, last, rows) {
            // Rows of it are buffered already: send them first, then buffer the new ones.
            self.send_later()?;
            self.pending.borrow_mut().view(incident, first, last, rows);
        }
        if self.pending.borrow().is_full() {
            self.send_later()?;
        }
        Ok(())
    }

    fn set_views_checkpoint(&self, seq: u64, hash: &str) -> Result<()> {
        self.buffer(|p| p.checkpoint(seq, hash))
    }

    fn insert_tree_hashes(&self, first: u64, hashes: &[Hash]) -> Result<()> {
        self.buffer(|p| p.tree_hashes(first, hashes))
    }

    fn reset_tree(&self) -> Result<()> {
        self.before_read()?;
        self.db().reset_tree()
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.before_read()?;
        self.done.set(true);
        self.db().batch("COMMIT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_quoted() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }

    #[test]
    fn counts_saturate_rather_than_wrap() {
        assert_eq!(big(u64::MAX), i64::MAX);
        assert_eq!(big(7), 7);
    }
}
