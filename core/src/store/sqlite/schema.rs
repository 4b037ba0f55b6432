//! Opening, making and migrating a log file: the header checks that refuse what is not a
//! chronicle log, the connection settings, and the schema migrations with the append-only
//! triggers.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{sqlite_err, Db, SqliteStore};
use crate::error::{Error, Result};
use crate::record::APPEND_ONLY_MESSAGE;

/// `PRAGMA application_id` of chronicle logs: "CHRN".
pub(crate) const APPLICATION_ID: i32 = 0x4348_524E;

/// How long a writer waits for another process's transaction before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The schema migrations, in order. `PRAGMA user_version` counts how many have run.
/// Migrations only ever append: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the events table, its indexes and the append-only triggers.
    r#"
    CREATE TABLE events (
        seq            INTEGER PRIMARY KEY,
        id             TEXT    NOT NULL UNIQUE,
        incident       TEXT    NOT NULL,
        version        INTEGER NOT NULL,
        kind           TEXT    NOT NULL,
        payload        TEXT    NOT NULL,
        schema_version INTEGER NOT NULL,
        recorded_at    TEXT    NOT NULL,
        recorded_by    TEXT    NOT NULL,
        hash           TEXT    NOT NULL,
        UNIQUE (incident, version)
    );
    CREATE INDEX events_retraction_target ON events (json_extract(payload, '$.event'))
        WHERE kind = 'event_retracted';
    CREATE INDEX events_merge_target ON events (json_extract(payload, '$.into'))
        WHERE kind = 'incident_merged';
    CREATE INDEX events_recorded_at ON events (recorded_at);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN
        SELECT RAISE(ABORT, 'chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event');
    END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN
        SELECT RAISE(ABORT, 'chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event');
    END;
    CREATE TRIGGER events_contiguous BEFORE INSERT ON events
    WHEN NEW.seq IS NOT (SELECT IFNULL(MAX(seq), 0) + 1 FROM events)
    BEGIN
        SELECT RAISE(ABORT, 'chronicle: events.seq must continue the sequence without gaps; append with `chronicle append`');
    END;
    "#,
    // 2: the stored hashes of the Merkle tree over the events (`record::merkle`), by stored
    // hash index. Derived data: `tree::catch_up` fills it for the events written before.
    r#"
    CREATE TABLE tree_hashes (
        idx  INTEGER PRIMARY KEY,
        hash BLOB    NOT NULL
    );
    "#,
    // 3: the log format 2 (`record::hash`). Events written from now on commit to their
    // payload (`salt`, `commitment`) and name their batch record; a redaction erases a
    // payload (`redacted_by`), the one change the triggers let through. Older events keep
    // format 1 and are not rewritten (ADD COLUMN rewrites no row).
    r#"
    ALTER TABLE events ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE events ADD COLUMN salt BLOB;
    ALTER TABLE events ADD COLUMN commitment BLOB;
    ALTER TABLE events ADD COLUMN batch TEXT;
    ALTER TABLE events ADD COLUMN redacted_by TEXT;
    CREATE TABLE batches (
        id                TEXT PRIMARY KEY,
        command           TEXT NOT NULL,
        chronicle_version TEXT NOT NULL,
        input_sha256      TEXT,
        correlation       TEXT
    );
    CREATE INDEX events_redaction_target ON events (json_extract(payload, '$.event'))
        WHERE kind = 'event_redacted';
    DROP TRIGGER events_no_update;
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    WHEN NOT (
        OLD.redacted_by IS NULL AND NEW.redacted_by IS NOT NULL
        AND NEW.payload = 'null' AND NEW.salt IS NULL
        AND NEW.seq IS OLD.seq AND NEW.id IS OLD.id AND NEW.incident IS OLD.incident
        AND NEW.version IS OLD.version AND NEW.kind IS OLD.kind
        AND NEW.schema_version IS OLD.schema_version AND NEW.recorded_at IS OLD.recorded_at
        AND NEW.recorded_by IS OLD.recorded_by AND NEW.hash IS OLD.hash
        AND NEW.format IS OLD.format AND NEW.commitment IS OLD.commitment
        AND NEW.batch IS OLD.batch
        AND EXISTS (SELECT 1 FROM events r WHERE r.id = NEW.redacted_by
                    AND r.kind = 'event_redacted' AND r.seq > OLD.seq
                    AND json_extract(r.payload, '$.event') = OLD.id)
    )
    BEGIN
        SELECT RAISE(ABORT, 'chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event');
    END;
    CREATE TRIGGER batches_no_update BEFORE UPDATE ON batches
    BEGIN
        SELECT RAISE(ABORT, 'chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event');
    END;
    CREATE TRIGGER batches_no_delete BEFORE DELETE ON batches
    BEGIN
        SELECT RAISE(ABORT, 'chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event');
    END;
    "#,
];

/// The first schema version with the log format 2's columns: a read-only log below it is
/// read with format-1 defaults in their place.
pub(crate) const FORMAT_2_SCHEMA: i64 = 3;

/// The triggers `verify` expects, by name and table (from schema [`FORMAT_2_SCHEMA`] on;
/// the first three before it).
pub(crate) const TRIGGERS: [(&str, &str); 5] = [
    ("events_no_update", "events"),
    ("events_no_delete", "events"),
    ("events_contiguous", "events"),
    ("batches_no_update", "batches"),
    ("batches_no_delete", "batches"),
];

/// The newest schema version this build knows.
pub(crate) fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// What the first bytes of a file say it is.
fn sniff(path: &Path) -> Result<Option<[u8; 100]>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        cause: source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut header = [0u8; 100];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    if read == 0 {
        return Err(Error::NotALog {
            path: path.to_path_buf(),
            reason:
                "the file is empty (make a log with `chronicle init`, which accepts an empty file)"
                    .into(),
        });
    }
    if read < header.len() || &header[..16] != b"SQLite format 3\0" {
        return Err(Error::NotALog {
            path: path.to_path_buf(),
            reason: "it is not an SQLite database (wrong header); check the path".into(),
        });
    }
    Ok(Some(header))
}

impl SqliteStore {
    /// Opens an existing log, bringing its schema up to date.
    ///
    /// Refuses a missing file, an empty file, a file that is not SQLite, an SQLite database of
    /// another program, and a log written by a newer chronicle; none of them is modified.
    pub(crate) fn open(path: &Path) -> Result<SqliteStore> {
        let Some(header) = sniff(path)? else {
            return Err(Error::NoLog {
                path: path.to_path_buf(),
            });
        };
        let app_id = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
        let user_version = i32::from_be_bytes([header[60], header[61], header[62], header[63]]);
        // A log on a read-only medium cannot get its WAL index (`-shm`) created: read it as
        // immutable instead. Reads work; any write fails with a "read-only" error.
        let conn = match Self::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE) {
            Err(cause) if cause.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) => {
                let escaped = path
                    .display()
                    .to_string()
                    .replace('%', "%25")
                    .replace('?', "%3f")
                    .replace('#', "%23");
                let uri = format!("file:{escaped}?immutable=1");
                Self::connect(
                    Path::new(&uri),
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(|_| sqlite_err(path)(cause))?
            }
            other => other.map_err(sqlite_err(path))?,
        };
        if app_id != APPLICATION_ID {
            let tables = Self::table_names(&conn, path)?;
            let reason = if tables.is_empty() {
                "an SQLite database with no chronicle schema (make it a log with `chronicle init`)"
                    .to_string()
            } else {
                format!(
                    "an SQLite database of another program (application_id {app_id:#x}; tables: {})",
                    tables.join(", ")
                )
            };
            return Err(Error::NotALog {
                path: path.to_path_buf(),
                reason,
            });
        }
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            legacy: false,
            write_settings: std::cell::Cell::new(false),
        };
        if i64::from(user_version) > schema_version() {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                holder: "file",
                found: user_version.into(),
                known: schema_version(),
            });
        }
        store.migrate()?;
        Ok(store)
    }

    /// Makes a new log at `path` (or an empty file there into one). Returns the log and
    /// whether it was created; an existing chronicle log is opened and left as it is.
    /// Anything else that exists is refused, never overwritten.
    pub(crate) fn init(path: &Path) -> Result<(SqliteStore, bool)> {
        match sniff(path) {
            Ok(Some(_)) => return Self::open(path).map(|store| (store, false)),
            Ok(None) => {}
            Err(Error::NotALog { reason, .. }) if reason.starts_with("the file is empty") => {}
            Err(Error::NotALog { reason, .. }) => {
                return Err(Error::NotALog {
                    path: path.to_path_buf(),
                    reason: format!("{reason}; refusing to overwrite it"),
                })
            }
            Err(e) => return Err(e),
        }
        let conn = Self::connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(sqlite_err(path))?;
        let err = sqlite_err(path);
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(&err)?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            legacy: false,
            write_settings: std::cell::Cell::new(false),
        };
        store.migrate()?;
        Ok((store, true))
    }

    /// Opens a connection with the settings every log is used with.
    fn connect(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Up to 64 MiB of page cache (allocated as used): a large batch keeps its pages in
        // memory instead of spilling them to the WAL before it commits.
        conn.pragma_update(None, "cache_size", -65536)?;
        Ok(conn)
    }

    fn table_names(conn: &Connection, path: &Path) -> Result<Vec<String>> {
        let err = sqlite_err(path);
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 8")
            .map_err(&err)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)?;
        Ok(names)
    }

    /// Runs the migrations this file has not had yet, in one transaction.
    fn migrate(&mut self) -> Result<()> {
        let err = sqlite_err(&self.path);
        let current: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        if current >= schema_version() {
            return Ok(());
        }
        // A log on a read-only medium is read as it is: what later migrations add is derived
        // data (the Merkle tree), computed in memory where it is missing.
        if current >= 1 && self.conn.is_readonly(rusqlite::MAIN_DB).map_err(&err)? {
            self.legacy = current < FORMAT_2_SCHEMA;
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        // Re-read under the write lock: another process may have migrated meanwhile.
        let current: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
            tx.execute_batch(sql).map_err(&err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }
}

impl Db<'_> {
    /// The append-only triggers that are missing or altered.
    pub(super) fn broken_guards(&self) -> Result<Vec<&'static str>> {
        use rusqlite::OptionalExtension;
        let mut broken = Vec::new();
        let expected = if self.legacy {
            &TRIGGERS[..3]
        } else {
            &TRIGGERS[..]
        };
        for &(name, table) in expected {
            let sql: Option<String> = self
                .conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1 AND tbl_name = ?2",
                    [name, table],
                    |r| r.get(0),
                )
                .optional()
                .map_err(self.err())?;
            let intact = match (name, sql) {
                (_, None) => false,
                ("events_contiguous", Some(sql)) => sql.contains("RAISE(ABORT"),
                // The one update let through is the erasure of a payload by a redaction.
                ("events_no_update", Some(sql)) if !self.legacy => {
                    sql.contains(APPEND_ONLY_MESSAGE) && sql == update_guard()
                }
                (_, Some(sql)) => sql.contains(APPEND_ONLY_MESSAGE),
            };
            if !intact {
                broken.push(name);
            }
        }
        Ok(broken)
    }
}

/// The `events_no_update` trigger exactly as migration 3 makes it (as SQLite keeps it).
fn update_guard() -> &'static str {
    let sql = MIGRATIONS[2];
    let start = sql.find("CREATE TRIGGER events_no_update").unwrap_or(0);
    let end = sql[start..]
        .find("END;")
        .map_or(sql.len(), |i| start + i + 3);
    &sql[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triggers_raise_the_documented_message() {
        assert!(MIGRATIONS[0].contains(APPEND_ONLY_MESSAGE));
        assert!(update_guard().starts_with("CREATE TRIGGER events_no_update"));
        assert!(update_guard().ends_with("END"));
    }
}
