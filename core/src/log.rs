//! The event log: one SQLite file, an append-only `events` table guarded by triggers, a
//! SHA-256 hash chain over every event, and appends in `BEGIN IMMEDIATE` transactions so that
//! several processes can write at once without gaps in the sequence.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};

use crate::error::{Error, Invalid, Result};
use crate::event::{EventLine, NewEvent, Payload, MAX_PAYLOAD_BYTES, PAYLOAD_SCHEMA_VERSION};
use crate::hash::{self, HashedFields, GENESIS};
use crate::time::{format_recorded, parse_recorded};
use crate::validate;

/// `PRAGMA application_id` of chronicle logs: "CHRN".
pub const APPLICATION_ID: i32 = 0x4348_524E;

/// How long a writer waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The message of the triggers that refuse UPDATE and DELETE.
pub const APPEND_ONLY_MESSAGE: &str = "chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event";

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
];

/// The triggers `verify` expects, by name.
pub const TRIGGERS: [&str; 3] = ["events_no_update", "events_no_delete", "events_contiguous"];

/// The newest schema version this build knows.
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// A point in the log that a reader can keep: a sequence number and the hash of that event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Sequence number.
    pub seq: u64,
    /// The event's hash, 64 hex digits.
    pub hash: String,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for Checkpoint {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = || {
            Invalid::new(
                "checkpoint",
                s,
                "a checkpoint is SEQ:HASH as `chronicle verify` prints it, e.g. 42:9f2c...(64 hex digits)",
            )
        };
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        if seq == 0 || hash::parse_hex(hash).is_none() {
            return Err(bad());
        }
        Ok(Checkpoint {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// Where recorded times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed time (tests and reproducible fixtures): event ids are then derived from the
    /// time and the sequence number, so the whole log is reproducible.
    Fixed(DateTime<Utc>),
}

/// Who appends, and when.
#[derive(Debug, Clone)]
pub struct AppendContext {
    /// Recorded as `recorded_by`.
    pub recorded_by: String,
    /// Source of recorded times.
    pub clock: Clock,
    /// Accept province names the gazetteer does not know (kept as written).
    pub allow_unknown_place: bool,
}

impl AppendContext {
    /// Appends by `recorded_by` at the system clock's times.
    pub fn new(recorded_by: impl Into<String>) -> Self {
        AppendContext {
            recorded_by: recorded_by.into(),
            clock: Clock::System,
            allow_unknown_place: false,
        }
    }
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Global sequence number, contiguous from 1.
    pub seq: u64,
    /// Event id.
    pub id: String,
    /// The incident (stream).
    pub incident: String,
    /// Version within the incident's stream, from 1.
    pub version: u64,
    /// Event kind.
    pub kind: String,
    /// Payload, canonical JSON text.
    pub payload: String,
    /// Payload schema version.
    pub schema_version: u32,
    /// When it was recorded (UTC, fixed width).
    pub recorded_at: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// SHA-256 chain hash, hex.
    pub hash: String,
}

impl RecordedEvent {
    const COLUMNS: &'static str =
        "seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(RecordedEvent {
            seq: row.get(0)?,
            id: row.get(1)?,
            incident: row.get(2)?,
            version: row.get(3)?,
            kind: row.get(4)?,
            payload: row.get(5)?,
            schema_version: row.get(6)?,
            recorded_at: row.get(7)?,
            recorded_by: row.get(8)?,
            hash: row.get(9)?,
        })
    }

    /// The typed payload. Fails only on a tampered or corrupt log.
    pub fn payload(&self) -> Result<Payload> {
        if let Some(payload) = Payload::from_json_text(&self.kind, &self.payload) {
            return Ok(payload);
        }
        let value: serde_json::Value =
            serde_json::from_str(&self.payload).map_err(|e| Error::Corrupt {
                seq: self.seq,
                problem: format!("payload is not JSON: {e}"),
            })?;
        Payload::from_json(&self.kind, value).map_err(|e| Error::Corrupt {
            seq: self.seq,
            problem: format!("payload does not fit its kind `{}`: {e}", self.kind),
        })
    }

    /// The fields the hash covers.
    pub fn hashed_fields(&self) -> HashedFields<'_> {
        HashedFields {
            seq: self.seq,
            id: &self.id,
            incident: &self.incident,
            version: self.version,
            kind: &self.kind,
            schema_version: self.schema_version,
            recorded_at: &self.recorded_at,
            recorded_by: &self.recorded_by,
            payload: &self.payload,
        }
    }

    /// The event as a line of `chronicle log --json`, which `chronicle append` reads back.
    pub fn to_line(&self) -> EventLine {
        EventLine {
            id: Some(self.id.clone()),
            incident: self.incident.clone(),
            kind: self.kind.clone(),
            payload: serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null),
            expected_version: None,
            seq: Some(self.seq),
            version: Some(self.version),
            schema_version: Some(self.schema_version),
            recorded_at: Some(self.recorded_at.clone()),
            recorded_by: Some(self.recorded_by.clone()),
            hash: Some(self.hash.clone()),
        }
    }

    /// The recorded time.
    pub fn recorded_time(&self) -> Option<DateTime<Utc>> {
        parse_recorded(&self.recorded_at)
    }
}

/// The outcome of appending one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Written at this sequence number.
    New {
        /// Sequence number.
        seq: u64,
        /// Event id.
        id: String,
        /// Incident.
        incident: String,
        /// Version in the incident's stream.
        version: u64,
        /// Kind.
        kind: &'static str,
    },
    /// The same event (same id, same content) was already in the log; nothing written.
    Duplicate {
        /// Where it already is.
        seq: u64,
        /// Its id.
        id: String,
    },
}

/// Selects events for [`EventLog::events`].
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this incident's stream.
    pub incident: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only events after this sequence number.
    pub since_seq: Option<u64>,
    /// Only events up to and including this sequence number.
    pub until_seq: Option<u64>,
}

/// An open event log.
#[derive(Debug)]
pub struct EventLog {
    conn: Connection,
    path: PathBuf,
}

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
        Error::Sqlite {
            path: path.to_path_buf(),
            cause: source,
            hint,
        }
    }
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

impl EventLog {
    /// Opens an existing log, bringing its schema up to date.
    ///
    /// Refuses a missing file, an empty file, a file that is not SQLite, an SQLite database of
    /// another program, and a log written by a newer chronicle; none of them is modified.
    pub fn open(path: impl AsRef<Path>) -> Result<EventLog> {
        let path = path.as_ref();
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
            Err(Error::Sqlite { cause, .. })
                if cause.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) =>
            {
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
            other => other?,
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
        let mut log = EventLog {
            conn,
            path: path.to_path_buf(),
        };
        if i64::from(user_version) > schema_version() {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                found: user_version.into(),
                known: schema_version(),
            });
        }
        log.migrate()?;
        crate::project::store::ensure(&log.conn, &log.path)?;
        Ok(log)
    }

    /// Makes a new log at `path` (or an empty file there into one). Returns the log and
    /// whether it was created; an existing chronicle log is opened and left as it is.
    /// Anything else that exists is refused, never overwritten.
    pub fn init(path: impl AsRef<Path>) -> Result<(EventLog, bool)> {
        let path = path.as_ref();
        match sniff(path) {
            Ok(Some(_)) => return Self::open(path).map(|log| (log, false)),
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
        )?;
        let err = sqlite_err(path);
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(&err)?;
        let mut log = EventLog {
            conn,
            path: path.to_path_buf(),
        };
        log.migrate()?;
        crate::project::store::ensure(&log.conn, &log.path)?;
        Ok((log, true))
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<Connection> {
        let err = sqlite_err(path);
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(&err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(&err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(&err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(&err)?;
        // Up to 64 MiB of page cache (allocated as used): a large batch keeps its pages in
        // memory instead of spilling them to the WAL before it commits.
        conn.pragma_update(None, "cache_size", -65536)
            .map_err(&err)?;
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

    /// The file this log lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for read-only queries by other modules.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn sqlite_err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        sqlite_err(&self.path)
    }

    /// The last event's checkpoint, or `None` for an empty log.
    pub fn head(&self) -> Result<Option<Checkpoint>> {
        self.conn
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok(Checkpoint {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(self.sqlite_err())
    }

    /// Appends a batch of events in one transaction: all land, or none does.
    ///
    /// `events` yields each event with the location it came from (for error messages). The
    /// first refused event aborts the batch and its error names that location.
    pub fn append<I>(&mut self, ctx: &AppendContext, events: I) -> Result<Vec<Appended>>
    where
        I: IntoIterator<Item = Result<(crate::Location, NewEvent)>>,
    {
        let mut out = Vec::new();
        self.append_each(ctx, events, |outcome| out.push(outcome))?;
        Ok(out)
    }

    /// [`EventLog::append`] for batches of any size: each outcome is handed to `each` instead
    /// of collected, so memory does not grow with the batch. The outcomes are final only once
    /// this returns `Ok` (the transaction commits at the end).
    pub fn append_each<I>(
        &mut self,
        ctx: &AppendContext,
        events: I,
        mut each: impl FnMut(Appended),
    ) -> Result<()>
    where
        I: IntoIterator<Item = Result<(crate::Location, NewEvent)>>,
    {
        self.transaction(ctx, |tx| {
            for item in events {
                let (loc, event) = item?;
                each(tx.append(event).map_err(|e| e.at(loc))?);
            }
            Ok(())
        })
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`), committing if it returns `Ok`.
    /// Importers use this to read the log and append in the same transaction.
    pub fn transaction<T>(
        &mut self,
        ctx: &AppendContext,
        body: impl FnOnce(&mut Appender<'_>) -> Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        // Views left behind (by an older chronicle, or a plain INSERT) catch up first.
        crate::project::store::catch_up(&tx, &path)?;
        let head = tx
            .query_row(
                "SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, u64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(&err)?;
        let (seq, prev_hash, last_recorded) = match head {
            Some((seq, hash, recorded)) => {
                let h = hash::parse_hex(&hash).ok_or_else(|| Error::Corrupt {
                    seq,
                    problem: "stored hash is not 64 hex digits".into(),
                })?;
                (seq, h, Some(recorded))
            }
            None => (0, GENESIS, None),
        };
        let now = match ctx.clock {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
        };
        let mut recorded_at = format_recorded(now);
        // Recorded times never go backwards along the sequence, whatever the clock says.
        if let Some(last) = last_recorded {
            if last > recorded_at {
                recorded_at = last;
            }
        }
        let mut appender = Appender {
            tx,
            path: &path,
            ctx,
            seq,
            prev_hash,
            recorded_at,
            cache: crate::project::store::Cache::new(seq),
        };
        let value = body(&mut appender)?;
        appender.cache.flush(&appender.tx, &path)?;
        appender.tx.commit().map_err(&err)?;
        Ok(value)
    }

    /// The events matching `filter`, in sequence order, handed to `each` one at a time
    /// (the log is streamed, never loaded whole). Stops at the first error `each` returns.
    pub fn scan(
        &self,
        filter: &EventFilter,
        mut each: impl FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()> {
        let err = self.sqlite_err();
        let mut sql = format!("SELECT {} FROM events WHERE 1", RecordedEvent::COLUMNS);
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(i) = &filter.incident {
            sql.push_str(" AND incident = ?");
            args.push(i.clone().into());
        }
        if let Some(k) = &filter.kind {
            sql.push_str(" AND kind = ?");
            args.push(k.clone().into());
        }
        if let Some(s) = filter.since_seq {
            sql.push_str(" AND seq > ?");
            args.push((s as i64).into());
        }
        if let Some(s) = filter.until_seq {
            sql.push_str(" AND seq <= ?");
            args.push((s as i64).into());
        }
        sql.push_str(" ORDER BY seq");
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args)).map_err(&err)?;
        while let Some(row) = rows.next().map_err(&err)? {
            each(RecordedEvent::from_row(row).map_err(&err)?)?;
        }
        Ok(())
    }

    /// The events matching `filter`, collected.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<RecordedEvent>> {
        let mut out = Vec::new();
        self.scan(filter, |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    /// The event with this id, if any.
    pub fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>> {
        event_by_id(&self.conn, id).map_err(self.sqlite_err())
    }
}

pub(crate) fn event_by_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<RecordedEvent>> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM events WHERE id = ?1",
        RecordedEvent::COLUMNS
    ))?
    .query_row([id], RecordedEvent::from_row)
    .optional()
}

/// An open write transaction on the log; see [`EventLog::transaction`].
#[derive(Debug)]
pub struct Appender<'a> {
    tx: Transaction<'a>,
    path: &'a Path,
    ctx: &'a AppendContext,
    seq: u64,
    prev_hash: [u8; 32],
    recorded_at: String,
    /// The streams read and the view versions not yet written, for this transaction only.
    cache: crate::project::store::Cache,
}

impl Appender<'_> {
    /// The transaction, for reads of the events table that must see what this batch has
    /// appended so far. The view tables lag behind the batch until it commits.
    pub fn connection(&self) -> &Connection {
        &self.tx
    }

    /// The incident's current version (0 when it has no events).
    pub fn stream_version(&self, incident: &str) -> Result<u64> {
        validate::stream_version(&self.tx, incident).map_err(sqlite_err(self.path))
    }

    /// Validates and appends one event.
    pub fn append(&mut self, mut event: NewEvent) -> Result<Appended> {
        let err = sqlite_err(self.path);
        let payload_json = event.payload.canonical_json();
        if payload_json.len() > MAX_PAYLOAD_BYTES {
            return Err(Invalid::new(
                "payload",
                "",
                format!(
                    "the payload is {} bytes, more than the limit of {MAX_PAYLOAD_BYTES} bytes for one event; shorten its text or attributes",
                    payload_json.len()
                ),
            )
            .into());
        }
        if let Some(id) = &event.id {
            validate::event_id(id)?;
            if let Some(existing) = event_by_id(&self.tx, id).map_err(&err)? {
                let same_content = existing.incident == event.incident
                    && existing.kind == event.payload.kind()
                    && (existing.payload == payload_json
                        || existing.payload
                            == validate::as_stored(
                                &self.tx,
                                &mut self.cache,
                                &event,
                                self.ctx.allow_unknown_place,
                            )
                            .map_err(&err)?
                            .canonical_json());
                if same_content {
                    return Ok(Appended::Duplicate {
                        seq: existing.seq,
                        id: existing.id,
                    });
                }
                return Err(Error::IdConflict {
                    location: Default::default(),
                    id: id.clone(),
                    seq: existing.seq,
                });
            }
        }
        let current = self
            .cache
            .stream(&self.tx, &event.incident)
            .map_err(&err)?
            .version;
        debug_assert_eq!(
            Ok(current),
            validate::stream_version(&self.tx, &event.incident),
            "version of `{}`",
            event.incident
        );
        if let Some(expected) = event.expected_version {
            if expected != current {
                return Err(Error::VersionConflict {
                    location: Default::default(),
                    incident: event.incident.clone(),
                    expected,
                    actual: current,
                });
            }
        }
        // Validation may normalise place names in these two kinds; keep what was given to
        // see whether the canonical text must be made again.
        let given = matches!(
            event.payload,
            Payload::IncidentReported(_) | Payload::IncidentAmended(_)
        )
        .then(|| event.payload.clone());
        validate::event(
            &self.tx,
            &mut self.cache,
            &mut event,
            self.ctx.allow_unknown_place,
        )
        .map_err(|e| match e {
            validate::Refusal::Invalid(inv) => Error::Invalid(inv),
            validate::Refusal::Sqlite(e) => err(e),
        })?;
        let payload_json = match given {
            Some(given) if given != event.payload => event.payload.canonical_json(),
            _ => payload_json,
        };
        let seq = self.seq + 1;
        let id = match event.id.take() {
            Some(id) => id,
            None => self.new_id(seq),
        };
        let recorded = RecordedEvent {
            seq,
            id,
            incident: event.incident,
            version: current + 1,
            kind: event.payload.kind().to_string(),
            payload: payload_json,
            schema_version: PAYLOAD_SCHEMA_VERSION,
            recorded_at: self.recorded_at.clone(),
            recorded_by: self.ctx.recorded_by.clone(),
            hash: String::new(),
        };
        let hash = hash::event_hash(&self.prev_hash, &recorded.hashed_fields());
        let recorded = RecordedEvent {
            hash: hex::encode(hash),
            ..recorded
        };
        self.tx
            .prepare_cached(
                "INSERT INTO events (seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    recorded.seq,
                    recorded.id,
                    recorded.incident,
                    recorded.version,
                    recorded.kind,
                    recorded.payload,
                    recorded.schema_version,
                    recorded.recorded_at,
                    recorded.recorded_by,
                    recorded.hash,
                ])
            })
            .map_err(&err)?;
        // The views change in the same transaction as the log.
        crate::project::store::apply(
            &self.tx,
            self.path,
            &mut self.cache,
            &recorded,
            Some(&event.payload),
        )?;
        self.seq = seq;
        self.prev_hash = hash;
        Ok(Appended::New {
            seq,
            id: recorded.id,
            incident: recorded.incident,
            version: recorded.version,
            kind: event.payload.kind(),
        })
    }

    fn new_id(&self, seq: u64) -> String {
        match self.ctx.clock {
            Clock::System => uuid::Uuid::now_v7().to_string(),
            Clock::Fixed(t) => {
                let mut random = [0u8; 10];
                random[2..].copy_from_slice(&seq.to_be_bytes());
                let millis = u64::try_from(t.timestamp_millis()).unwrap_or(0);
                uuid::Builder::from_unix_timestamp_millis(millis, &random)
                    .into_uuid()
                    .to_string()
            }
        }
    }
}
