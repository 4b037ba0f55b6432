//! The view tables: their schema, and the reads and writes of their rows. The same tables
//! and columns as the SQLite backend's (`docs/views.md`), with PostgreSQL's types: `BIGINT`
//! for integers, `BOOLEAN` for flags, `TEXT COLLATE "C"` so that text orders by bytes as in
//! SQLite.

use postgres::Row;

use super::{big, get, get_u64, quote_ident, Db};
use crate::error::{Error, Result};
use crate::store::{StoredView, ViewColumns, ViewContent, ViewEntry, ViewRow, ViewsMeta};
use chronicle_plugin_sdk::view::Range;

/// Rows per page of [`Db::views_at`]'s keyset pages.
const PAGE: i64 = 2000;

/// The view tables, created together; see `docs/views.md`.
pub(super) const CREATE: &str = r#"
CREATE TABLE views_meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
CREATE TABLE view_incident_ids (
    incident  TEXT COLLATE "C" PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL
);
CREATE TABLE view_incidents (
    incident TEXT COLLATE "C" PRIMARY KEY,
    date TEXT COLLATE "C" NOT NULL, date_start TEXT COLLATE "C" NOT NULL,
    date_end TEXT COLLATE "C" NOT NULL, date_precision TEXT COLLATE "C" NOT NULL,
    country TEXT COLLATE "C", province TEXT COLLATE "C" NOT NULL, district TEXT COLLATE "C",
    locality TEXT COLLATE "C", category TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C", perpetrator TEXT COLLATE "C", summary TEXT COLLATE "C",
    killed_low BIGINT, killed_best BIGINT, killed_high BIGINT, killed_open_high BOOLEAN NOT NULL,
    killed_coded BOOLEAN NOT NULL,
    wounded_low BIGINT, wounded_best BIGINT, wounded_high BIGINT, wounded_open_high BOOLEAN NOT NULL,
    wounded_coded BOOLEAN NOT NULL,
    attackers_killed_low BIGINT, attackers_killed_best BIGINT, attackers_killed_high BIGINT,
    attackers_killed_open_high BOOLEAN NOT NULL, attackers_killed_coded BOOLEAN NOT NULL,
    disputed BOOLEAN NOT NULL,
    sources BIGINT NOT NULL,
    merged_from TEXT COLLATE "C" NOT NULL,
    last_seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    adjudicated BOOLEAN NOT NULL
);
CREATE TABLE view_source_figures (
    incident TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    published TEXT COLLATE "C",
    killed TEXT, killed_low BIGINT, killed_high BIGINT, killed_point BIGINT,
    wounded TEXT, wounded_low BIGINT, wounded_high BIGINT, wounded_point BIGINT,
    attackers_killed TEXT, attackers_killed_low BIGINT, attackers_killed_high BIGINT,
    attackers_killed_point BIGINT,
    note TEXT, citation TEXT,
    event_seq BIGINT NOT NULL, event_id TEXT COLLATE "C" NOT NULL,
    corrected BOOLEAN NOT NULL, reports BIGINT NOT NULL, corrections BIGINT NOT NULL,
    alone BOOLEAN NOT NULL, disagrees BOOLEAN NOT NULL,
    PRIMARY KEY (incident, source)
);
CREATE TABLE view_responsibility (
    incident TEXT COLLATE "C" NOT NULL,
    event_seq BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    stance TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    published TEXT COLLATE "C",
    PRIMARY KEY (incident, event_seq)
);
CREATE VIEW view_sources AS
    SELECT source, SUM(reports) AS reports, SUM(corrections) AS corrections,
           COUNT(*) AS incidents, SUM(alone::int) AS alone, SUM(disagrees::int) AS disagrees
    FROM view_source_figures GROUP BY source;
"#;

/// The view tables' secondary indexes: made after a rebuild has filled the tables.
const CREATE_INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS view_incidents_date ON view_incidents (date_start, incident);
CREATE INDEX IF NOT EXISTS view_source_figures_source ON view_source_figures (source);
"#;

/// Everything [`CREATE`] makes, for rebuild.
const DROP: &str = r#"
DROP VIEW IF EXISTS view_sources;
DROP TABLE IF EXISTS view_responsibility;
DROP TABLE IF EXISTS view_source_figures;
DROP TABLE IF EXISTS view_incidents;
DROP TABLE IF EXISTS view_incident_ids;
DROP TABLE IF EXISTS views_meta;
"#;

/// The view tables, for `chronicle grant`.
pub(super) const TABLES: [&str; 5] = [
    "views_meta",
    "view_incident_ids",
    "view_incidents",
    "view_source_figures",
    "view_responsibility",
];

/// The columns [`Db::views_at`] reads for [`ViewColumns::Row`], after the incident and its
/// last touch.
const ROW_COLUMNS: &str = "v.date, v.date_start, v.province, v.category,
    v.killed_low, v.killed_best, v.killed_high, v.killed_open_high, v.killed_coded,
    v.wounded_low, v.wounded_best, v.wounded_high, v.wounded_open_high, v.wounded_coded,
    v.sources, v.disputed, v.adjudicated";

/// An optional count column.
fn opt_u64(r: &Row, at: usize, seq: u64) -> Result<Option<u64>> {
    let v: Option<i64> = get(r, at, seq)?;
    Ok(v.and_then(|v| u64::try_from(v).ok()))
}

/// The range of the five columns from `at`: low, best, high, open_high, coded.
fn range(r: &Row, at: usize, seq: u64) -> Result<Range> {
    Ok(Range {
        low: opt_u64(r, at, seq)?,
        best: opt_u64(r, at + 1, seq)?,
        high: opt_u64(r, at + 2, seq)?,
        open_high: get(r, at + 3, seq)?,
        coded: get(r, at + 4, seq)?,
    })
}

/// The [`ViewRow`] of a row selected with [`ROW_COLUMNS`] after two columns.
fn view_row(r: &Row, last_seq: u64) -> Result<ViewRow> {
    let start: String = get(r, 3, last_seq)?;
    let date_start = start.parse().map_err(|e| Error::Corrupt {
        seq: last_seq,
        problem: format!(
            "view_incidents.date_start `{start}` is not a date ({e}); run `chronicle rebuild`"
        ),
    })?;
    Ok(ViewRow {
        incident: get(r, 0, last_seq)?,
        date: get(r, 2, last_seq)?,
        date_start,
        province: get(r, 4, last_seq)?,
        category: get(r, 5, last_seq)?,
        killed: range(r, 6, last_seq)?,
        wounded: range(r, 11, last_seq)?,
        sources: get_u64(r, 16, last_seq)?,
        disputed: get(r, 17, last_seq)?,
        adjudicated: get(r, 18, last_seq)?,
    })
}

impl Db<'_> {
    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.row("SELECT value FROM views_meta WHERE key = $1", &[&key])?
            .map(|r| get(&r, 0, 0))
            .transpose()
    }

    /// Whether a table (or view) of this name is visible on the search path.
    pub(super) fn has_table(&self, name: &str) -> Result<bool> {
        let r = self.row("SELECT to_regclass($1) IS NOT NULL", &[&name])?;
        r.map_or(Ok(false), |r| get(&r, 0, 0))
    }

    pub(super) fn views_meta(&self) -> Result<Option<ViewsMeta>> {
        if !self.has_table("views_meta")? {
            return Ok(None);
        }
        Ok(Some(ViewsMeta {
            version: self.meta("views_version")?.and_then(|v| v.parse().ok()),
            checkpoint_seq: self
                .meta("checkpoint_seq")?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            checkpoint_hash: self.meta("checkpoint_hash")?.unwrap_or_default(),
        }))
    }

    pub(super) fn views_at(
        &self,
        seq: u64,
        at_head: bool,
        columns: ViewColumns,
        each: &mut dyn FnMut(StoredView) -> Result<()>,
    ) -> Result<()> {
        let wanted = match columns {
            ViewColumns::State => "v.state",
            ViewColumns::Row => ROW_COLUMNS,
        };
        // Keyset pages by incident (`incident > $1 ORDER BY incident LIMIT PAGE`): the rows
        // are never all in memory, and `each` may query between pages.
        let sql = if at_head {
            // At the head every incident in view is current: no need for the touches.
            format!(
                "SELECT v.incident, v.last_seq, {wanted} FROM view_incidents v
                 WHERE v.incident > $1 ORDER BY v.incident LIMIT {PAGE}"
            )
        } else {
            format!(
                "SELECT i.incident, i.last_seq, {wanted}
                 FROM view_incident_ids i LEFT JOIN view_incidents v ON v.incident = i.incident
                 WHERE i.incident > $1 AND i.first_seq <= $2 ORDER BY i.incident LIMIT {PAGE}"
            )
        };
        let mut after = String::new();
        loop {
            let rows = if at_head {
                self.rows(&sql, &[&after])?
            } else {
                self.rows(&sql, &[&after, &big(seq)])?
            };
            let full = rows.len() as i64 == PAGE;
            for r in &rows {
                after = get(r, 0, 0)?;
                self.stored_view(r, columns, each)?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// One row of [`Db::views_at`]'s query, given to `each`.
    fn stored_view(
        &self,
        r: &Row,
        columns: ViewColumns,
        each: &mut dyn FnMut(StoredView) -> Result<()>,
    ) -> Result<()> {
        let last_seq = get_u64(r, 1, 0)?;
        // (NULL: not in view, or no longer.)
        let date: Option<String> = get(r, 2, last_seq)?;
        let content = match (date, columns) {
            (None, _) => None,
            (Some(state), ViewColumns::State) => Some(ViewContent::State(state)),
            (Some(_), ViewColumns::Row) => Some(ViewContent::Row(view_row(r, last_seq)?)),
        };
        each(StoredView {
            incident: get(r, 0, last_seq)?,
            last_seq,
            content,
        })
    }

    pub(super) fn view_entry(&self, incident: &str) -> Result<Option<ViewEntry>> {
        let Some(r) = self.row(
            "SELECT i.first_seq, i.last_seq, v.state FROM view_incident_ids i
             LEFT JOIN view_incidents v ON v.incident = i.incident
             WHERE i.incident = $1",
            &[&incident],
        )?
        else {
            return Ok(None);
        };
        let last_seq = get_u64(&r, 1, 0)?;
        Ok(Some(ViewEntry {
            first_seq: get_u64(&r, 0, last_seq)?,
            last_seq,
            state: get(&r, 2, last_seq)?,
        }))
    }

    pub(super) fn reset_views(&self, version: i64) -> Result<()> {
        self.owner_only(
            "the views are made anew (`chronicle rebuild`, or the first write after an upgrade of the views) by dropping and creating their tables",
            "run `chronicle rebuild` as the owner, then this command again (nothing was changed)",
        )?;
        self.batch(DROP)?;
        self.batch(CREATE)?;
        self.forget_statements();
        self.execute(
            "INSERT INTO views_meta (key, value) VALUES ('views_version', $1), ('checkpoint_seq', '0'), ('checkpoint_hash', '')",
            &[&version.to_string()],
        )?;
        // A rebuild by the owner makes the tables anew: the writers and readers granted
        // before keep their rights on them.
        regrant_views(self)
    }

    pub(super) fn index_views(&self) -> Result<()> {
        self.batch(CREATE_INDEXES)
    }

    pub(super) fn set_views_checkpoint(&self, seq: u64, hash: &str) -> Result<()> {
        self.execute(
            "UPDATE views_meta SET value = CASE key WHEN 'checkpoint_seq' THEN $1 ELSE $2 END
             WHERE key IN ('checkpoint_seq', 'checkpoint_hash')",
            &[&seq.to_string(), &hash],
        )
        .map(|_| ())
    }
}

/// After the view tables are made anew (a rebuild, by the owner): the rights on them of
/// every role granted on `events` before, given again (writers: those that may insert).
fn regrant_views(db: &Db<'_>) -> Result<()> {
    let rows = db.rows(
        "SELECT r.rolname, bool_or(a.privilege_type = 'INSERT')
         FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
         JOIN pg_roles r ON r.oid = a.grantee
         WHERE c.oid = 'events'::regclass AND a.grantee <> c.relowner
         GROUP BY r.rolname ORDER BY r.rolname",
        &[],
    )?;
    for r in &rows {
        let role: String = get(r, 0, 0)?;
        let writer: bool = get(r, 1, 0)?;
        let role = quote_ident(&role);
        let views = TABLES.join(", ");
        db.batch(&format!("GRANT SELECT ON {views}, view_sources TO {role}"))?;
        if writer {
            db.batch(&format!(
                "GRANT INSERT, UPDATE, DELETE ON {views} TO {role}"
            ))?;
        }
    }
    Ok(())
}
