//! Opening, making and migrating a PostgreSQL log: the connection and its refusals (each
//! one line naming host, port and database, never the password), the checks that refuse a
//! database holding something else or a newer schema, the migrations with the append-only
//! triggers, and the grants of `chronicle grant`.
//!
//! A log is the tables of one schema (the role's current schema, `public` by default) of
//! one database. `chronicle_meta` marks it as chronicle's and counts the migrations run, as
//! `application_id` and `user_version` do in a file.

use std::path::{Path, PathBuf};

use postgres::error::SqlState;

use super::url::PgUrl;
use super::views::TABLES as VIEW_TABLES;
use super::{get, quote_ident, Conn, Db, PgStore};
use crate::error::{Error, Invalid, Result};
use crate::record::APPEND_ONLY_MESSAGE;
use crate::store::Access;

/// What `chronicle_meta.application` holds in a chronicle log.
const APPLICATION: &str = "chronicle";

/// The advisory lock key under which the schema is made and migrated ("CHRN").
const SCHEMA_LOCK: i64 = 0x4348_524E;

/// The table that marks a database as a chronicle log, made before the migrations.
const META: &str = r#"
CREATE TABLE chronicle_meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
INSERT INTO chronicle_meta (key, value) VALUES ('application', 'chronicle'), ('schema_version', '0');
"#;

/// The schema migrations, in order; `chronicle_meta.schema_version` counts how many have
/// run. The numbering is the SQLite file's: version 2 has the Merkle tree on both backends.
/// Migrations only ever append: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the events table, its indexes, the append-only triggers and the write lock.
    r#"
    CREATE TABLE events (
        seq            BIGINT PRIMARY KEY,
        id             TEXT COLLATE "C" NOT NULL UNIQUE,
        incident       TEXT COLLATE "C" NOT NULL,
        version        BIGINT NOT NULL,
        kind           TEXT COLLATE "C" NOT NULL,
        payload        TEXT NOT NULL,
        schema_version BIGINT NOT NULL,
        recorded_at    TEXT COLLATE "C" NOT NULL,
        recorded_by    TEXT NOT NULL,
        hash           TEXT COLLATE "C" NOT NULL,
        UNIQUE (incident, version)
    );
    CREATE INDEX events_merge_target ON events (((payload::jsonb) ->> 'into'))
        WHERE kind = 'incident_merged';
    CREATE INDEX events_recorded_at ON events (recorded_at);
    CREATE FUNCTION chronicle_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        RAISE EXCEPTION 'chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event';
    END
    $fn$;
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        FOR EACH ROW EXECUTE FUNCTION chronicle_append_only();
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION chronicle_append_only();
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION chronicle_append_only();
    CREATE FUNCTION chronicle_contiguous() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF NEW.seq IS DISTINCT FROM (SELECT COALESCE(MAX(seq), 0) + 1 FROM events) THEN
            RAISE EXCEPTION 'chronicle: events.seq must continue the sequence without gaps; append with `chronicle append`';
        END IF;
        RETURN NEW;
    END
    $fn$;
    CREATE TRIGGER events_contiguous BEFORE INSERT ON events
        FOR EACH ROW EXECUTE FUNCTION chronicle_contiguous();
    CREATE TABLE chronicle_write_lock (id INTEGER PRIMARY KEY CHECK (id = 1));
    INSERT INTO chronicle_write_lock VALUES (1);
    "#,
    // 2: the stored hashes of the Merkle tree over the events (`record::merkle`), by stored
    // hash index. Derived data: `tree::catch_up` fills it for the events written before.
    r#"
    CREATE TABLE tree_hashes (
        idx  BIGINT PRIMARY KEY,
        hash BYTEA  NOT NULL
    );
    "#,
    // 3: the log format 2 (`record::hash`), as in the file: each event's payload salt and
    // commitment and its batch record; a redaction's erasure (`redacted_by`), the one
    // update the trigger lets through. Older events keep format 1 and are not rewritten.
    r#"
    ALTER TABLE events ADD COLUMN format BIGINT NOT NULL DEFAULT 1;
    ALTER TABLE events ADD COLUMN salt BYTEA;
    ALTER TABLE events ADD COLUMN commitment BYTEA;
    ALTER TABLE events ADD COLUMN batch TEXT COLLATE "C";
    ALTER TABLE events ADD COLUMN redacted_by TEXT COLLATE "C";
    CREATE TABLE batches (
        id                TEXT COLLATE "C" PRIMARY KEY,
        command           TEXT NOT NULL,
        chronicle_version TEXT NOT NULL,
        input_sha256      TEXT,
        correlation       TEXT
    );
    CREATE FUNCTION chronicle_erase_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF OLD.redacted_by IS NULL AND NEW.redacted_by IS NOT NULL
           AND NEW.payload = 'null' AND NEW.salt IS NULL
           AND NEW.seq = OLD.seq AND NEW.id = OLD.id AND NEW.incident = OLD.incident
           AND NEW.version = OLD.version AND NEW.kind = OLD.kind
           AND NEW.schema_version = OLD.schema_version AND NEW.recorded_at = OLD.recorded_at
           AND NEW.recorded_by = OLD.recorded_by AND NEW.hash = OLD.hash
           AND NEW.format = OLD.format
           AND NEW.commitment IS NOT DISTINCT FROM OLD.commitment
           AND NEW.batch IS NOT DISTINCT FROM OLD.batch
           AND EXISTS (SELECT 1 FROM events r WHERE r.id = NEW.redacted_by
                       AND r.kind = 'event_redacted' AND r.seq > OLD.seq
                       AND (r.payload::jsonb ->> 'event') = OLD.id)
        THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event';
    END
    $fn$;
    DROP TRIGGER events_no_update ON events;
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        FOR EACH ROW EXECUTE FUNCTION chronicle_erase_only();
    CREATE TRIGGER batches_no_update BEFORE UPDATE ON batches
        FOR EACH ROW EXECUTE FUNCTION chronicle_append_only();
    CREATE TRIGGER batches_no_delete BEFORE DELETE ON batches
        FOR EACH ROW EXECUTE FUNCTION chronicle_append_only();
    CREATE TRIGGER batches_no_truncate BEFORE TRUNCATE ON batches
        FOR EACH STATEMENT EXECUTE FUNCTION chronicle_append_only();
    "#,
];

/// The triggers `verify` expects, by name and table.
const TRIGGERS: [(&str, &str); 7] = [
    ("events_no_update", "events"),
    ("events_no_delete", "events"),
    ("events_no_truncate", "events"),
    ("events_contiguous", "events"),
    ("batches_no_update", "batches"),
    ("batches_no_delete", "batches"),
    ("batches_no_truncate", "batches"),
];

/// The newest schema version this build knows.
fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Connects to the server of `url`, or says in one line why not: the server, its port and
/// database named, the password never.
fn connect(url: &PgUrl, location: &Path) -> Result<Conn> {
    let client = url.connect().map_err(|e| {
        let server = url.server();
        let why = match e.code() {
            Some(c) if *c == SqlState::INVALID_PASSWORD => format!(
                "the server at {server} refused the password of user `{}` (check the password in the connection string)",
                url.user
            ),
            Some(c) if *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => format!(
                "the server at {server} refused user `{}`: {}",
                url.user,
                e.as_db_error().map_or("", |d| d.message())
            ),
            Some(c) if *c == SqlState::INVALID_CATALOG_NAME => format!(
                "there is no database `{}` on the server at {server} (make it with `createdb {}`, then `chronicle init`)",
                url.dbname, url.dbname
            ),
            _ => match e.as_db_error() {
                Some(db) => format!("the server at {server} refused the connection: {}", db.message()),
                None => format!(
                    "cannot connect to the PostgreSQL server at {server}: {} (check that it runs and accepts connections there)",
                    super::describe(&e)
                ),
            },
        };
        Error::Storage {
            path: location.to_path_buf(),
            cause: Box::new(super::ServerSaid(why)),
            hint: "",
        }
    })?;
    Ok(Conn::new(client))
}

/// What a database holds, as far as chronicle cares.
enum Found {
    /// No tables in the schema: a log can be made here.
    Empty,
    /// A chronicle log at this schema version.
    Log(i64),
    /// Something else; its first few tables.
    Foreign(Vec<String>),
}

impl PgStore {
    fn new(conn: Conn, location: PathBuf) -> PgStore {
        PgStore {
            conn,
            location,
            read_only: false,
        }
    }

    /// Opens an existing log, bringing its schema up to date.
    ///
    /// Refuses an unreachable server, a wrong password, a missing database, a database with
    /// no log (as a missing file: bad input, make it with `init`) or with something else,
    /// and a log of a newer chronicle; none is modified.
    pub(crate) fn open(url: &PgUrl) -> Result<PgStore> {
        let location = PathBuf::from(url.redacted());
        let mut store = PgStore::new(connect(url, &location)?, location);
        match store.db().found()? {
            // An empty database is where a log will be, as a missing file is.
            Found::Empty => {
                return Err(Error::NoLog {
                    path: store.location.clone(),
                })
            }
            Found::Foreign(tables) => return Err(store.foreign(&tables, "")),
            Found::Log(version) if version > schema_version() => {
                return Err(Error::NewerSchema {
                    path: store.location.clone(),
                    holder: "database",
                    found: version,
                    known: schema_version(),
                })
            }
            Found::Log(_) => {}
        }
        store.read_only = store.db().may_not_insert()?;
        store.migrate()?;
        Ok(store)
    }

    /// Makes a new log in the database of `url` (which must exist). Returns the log and
    /// whether it was made; an existing chronicle log is opened and left as it is. A
    /// database holding anything else is refused, never changed.
    pub(crate) fn init(url: &PgUrl) -> Result<(PgStore, bool)> {
        let location = PathBuf::from(url.redacted());
        let mut store = PgStore::new(connect(url, &location)?, location);
        match store.db().found()? {
            Found::Log(_) => return Self::open(url).map(|s| (s, false)),
            Found::Foreign(tables) => {
                return Err(store.foreign(&tables, "; refusing to make a log there"))
            }
            Found::Empty => {}
        }
        let db = store.db();
        db.batch("BEGIN")?;
        let made = (|| {
            db.rows("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            // Another client may have made it meanwhile.
            if !db.has_table("chronicle_meta")? {
                db.batch(META)?;
            }
            db.batch("COMMIT")
        })();
        if made.is_err() {
            let _ = db.batch("ROLLBACK");
        }
        made?;
        store.migrate()?;
        Ok((store, true))
    }

    fn foreign(&self, tables: &[String], tail: &str) -> Error {
        Error::NotALog {
            path: self.location.clone(),
            reason: format!(
                "a PostgreSQL database of another program (tables: {}){tail}",
                tables.join(", ")
            ),
        }
    }

    /// Runs the migrations this log has not had yet, in one transaction.
    fn migrate(&mut self) -> Result<()> {
        let db = self.db();
        let found = db.schema_version()?;
        if found >= schema_version() {
            return Ok(());
        }
        db.owner_only(
            &format!(
                "this log's schema is version {found}, older than this chronicle's {}: bringing it up to date changes its tables",
                schema_version()
            ),
            "run any chronicle command once as the owner (`chronicle verify` will do), then this one again (nothing was changed)",
        )?;
        db.batch("BEGIN")?;
        let run = (|| {
            db.rows("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            // Re-read under the lock: another client may have migrated meanwhile.
            let current = db.schema_version()?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
                db.batch(sql)?;
                db.execute(
                    "UPDATE chronicle_meta SET value = $1 WHERE key = 'schema_version'",
                    &[&(i + 1).to_string()],
                )?;
            }
            db.batch("COMMIT")
        })();
        if run.is_err() {
            let _ = db.batch("ROLLBACK");
        }
        run?;
        self.read_only = self.db().may_not_insert()?;
        Ok(())
    }
}

/// What `grant --reader` gives: reads of every table.
fn reader_grants(role: &str, schema: &str) -> String {
    let mut sql = format!("GRANT USAGE ON SCHEMA {schema} TO {role};\n");
    let tables = ["chronicle_meta", "events", "batches", "tree_hashes"]
        .iter()
        .chain(VIEW_TABLES.iter())
        .chain(["view_sources"].iter())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    sql.push_str(&format!("GRANT SELECT ON {tables} TO {role};\n"));
    sql
}

/// What `grant --writer` adds to a reader's rights: appends (INSERT into `events` and
/// `batches`, never DELETE or TRUNCATE; UPDATE only of the three columns a redaction's
/// erasure sets, which the trigger refuses for anything but that erasure), the write lock,
/// the views' and the tree's rows it maintains.
fn writer_grants(role: &str) -> String {
    let views = VIEW_TABLES.join(", ");
    format!(
        "GRANT INSERT ON events, batches TO {role};
         GRANT UPDATE (payload, salt, redacted_by) ON events TO {role};
         GRANT SELECT, UPDATE ON chronicle_write_lock TO {role};
         GRANT INSERT, DELETE ON tree_hashes TO {role};
         GRANT INSERT, UPDATE, DELETE ON {views} TO {role};\n"
    )
}

/// `chronicle grant`: gives `role` what a reader or a writer of the log needs, and no more.
/// Run by the log's owner; `role` must exist.
pub(crate) fn grant(store: &PgStore, role: &str, access: Access) -> Result<()> {
    let db = store.db();
    let exists = db
        .row("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])?
        .is_some();
    if !exists {
        return Err(Invalid::new(
            "ROLE",
            role,
            format!(
                "there is no such role on the server of {}: make it first (CREATE ROLE {} LOGIN PASSWORD '...'), then grant it",
                store.location.display(),
                quote_ident(role)
            ),
        )
        .into());
    }
    let schema: String = match db.row("SELECT current_schema()", &[])? {
        Some(r) => get(&r, 0, 0)?,
        None => "public".into(),
    };
    let quoted = quote_ident(role);
    let mut sql = reader_grants(&quoted, &quote_ident(&schema));
    if access == Access::Writer {
        sql.push_str(&writer_grants(&quoted));
    }
    db.batch(&format!("BEGIN; {sql} COMMIT;")).inspect_err(|_| {
        let _ = db.batch("ROLLBACK");
    })
}

impl Db<'_> {
    /// What the database's current schema holds.
    fn found(&self) -> Result<Found> {
        if self.has_table("chronicle_meta")? {
            let app: Option<String> = self
                .row(
                    "SELECT value FROM chronicle_meta WHERE key = 'application'",
                    &[],
                )?
                .map(|r| get(&r, 0, 0))
                .transpose()?;
            if app.as_deref() == Some(APPLICATION) {
                return Ok(Found::Log(self.schema_version()?));
            }
        }
        let rows = self.rows(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()
             ORDER BY tablename LIMIT 8",
            &[],
        )?;
        let tables = rows
            .iter()
            .map(|r| get(r, 0, 0))
            .collect::<Result<Vec<String>>>()?;
        Ok(if tables.is_empty() {
            Found::Empty
        } else {
            Found::Foreign(tables)
        })
    }

    fn schema_version(&self) -> Result<i64> {
        let v: Option<String> = self
            .row(
                "SELECT value FROM chronicle_meta WHERE key = 'schema_version'",
                &[],
            )?
            .map(|r| get(&r, 0, 0))
            .transpose()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Refuses, before anything is changed, a change of the log's tables (`ALTER`, `DROP`,
    /// `VACUUM FULL`) by a role that may not act as their owner: the server would refuse it
    /// with a bare "must be owner of table" (or, for VACUUM, skip the table with a mere
    /// warning). `what` says what needed the owner, `then` what to do (both end the message).
    pub(super) fn owner_only(&self, what: &str, then: &str) -> Result<()> {
        let Some(r) = self.row(
            "SELECT current_user::text, pg_get_userbyid(c.relowner)::text,
                    pg_has_role(current_user, c.relowner, 'USAGE')
             FROM pg_class c WHERE c.oid = to_regclass('events')",
            &[],
        )?
        else {
            return Ok(());
        };
        let (me, owner, may): (String, String, bool) =
            (get(&r, 0, 0)?, get(&r, 1, 0)?, get(&r, 2, 0)?);
        if may {
            return Ok(());
        }
        Err(Error::Storage {
            path: self.location.to_path_buf(),
            cause: Box::new(super::ServerSaid(format!(
                "{what}, which only the owner of the log's tables may do, and role `{me}` is not their owner `{owner}` (nor a member of it): {then}"
            ))),
            hint: "",
        })
    }

    /// Waits, up to `patience`, until no other session (that this role can see) runs a
    /// transaction whose snapshot is older than now; returns the process ids of those still
    /// running then (empty: none). What a redaction's purge waits for: `VACUUM FULL`
    /// copies the row versions such a transaction may still read, the erased text with them.
    pub(super) fn wait_for_older_transactions(
        &self,
        patience: std::time::Duration,
    ) -> Result<Vec<String>> {
        let now: String = match self.row("SELECT (txid_current() % 4294967296)::text", &[])? {
            Some(r) => get(&r, 0, 0)?,
            None => return Ok(Vec::new()),
        };
        let start = std::time::Instant::now();
        loop {
            let older: Vec<String> = self
                .rows(
                    "SELECT pid::text FROM pg_stat_activity
                     WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL
                     AND age(backend_xmin) >= age($1::text::xid) ORDER BY pid",
                    &[&now],
                )?
                .iter()
                .map(|r| get(r, 0, 0))
                .collect::<Result<_>>()?;
            if older.is_empty() || start.elapsed() >= patience {
                return Ok(older);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Whether this role may not append (a reader): the log is then opened read-only.
    fn may_not_insert(&self) -> Result<bool> {
        if !self.has_table("events")? {
            return Ok(false);
        }
        let r = self.row("SELECT NOT has_table_privilege('events', 'INSERT')", &[])?;
        r.map_or(Ok(false), |r| get(&r, 0, 0))
    }

    /// The append-only triggers that are missing, disabled or altered.
    pub(super) fn broken_guards(&self) -> Result<Vec<&'static str>> {
        let mut broken = Vec::new();
        for (name, table) in TRIGGERS {
            let row = self.row(
                "SELECT t.tgenabled::text, p.prosrc FROM pg_trigger t
                 JOIN pg_proc p ON p.oid = t.tgfoid
                 WHERE t.tgrelid = $2::text::regclass AND t.tgname = $1",
                &[&name, &table],
            )?;
            let intact = match row {
                None => false,
                Some(r) => {
                    let enabled: String = get(&r, 0, 0)?;
                    let source: String = get(&r, 1, 0)?;
                    let raises = match name {
                        "events_contiguous" => source.contains("RAISE EXCEPTION"),
                        // The one update let through is a redaction's erasure.
                        "events_no_update" => {
                            source.contains(APPEND_ONLY_MESSAGE)
                                && MIGRATIONS[2].contains(source.trim())
                        }
                        _ => source.contains(APPEND_ONLY_MESSAGE),
                    };
                    // 'O' and 'A' fire in ordinary sessions; 'D' is disabled, 'R' replica only.
                    raises && (enabled == "O" || enabled == "A")
                }
            };
            if !intact {
                broken.push(name);
            }
        }
        Ok(broken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triggers_raise_the_documented_message() {
        assert!(MIGRATIONS[0].contains(APPEND_ONLY_MESSAGE));
    }
}
