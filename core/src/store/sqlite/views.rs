//! The view tables: their schema, and the reads and writes of their rows.

use rusqlite::{params, OptionalExtension};

use super::Db;
use crate::error::{Error, Result};
use crate::store::{
    FigureColumns, IncidentRows, StoredView, ViewColumns, ViewContent, ViewEntry, ViewRow,
    ViewsMeta,
};
use chronicle_plugin_sdk::view::Range;

/// The view tables, created together; see `docs/views.md`.
const CREATE: &str = r#"
CREATE TABLE views_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE view_incident_ids (
    incident  TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL
);
CREATE TABLE view_incidents (
    incident TEXT PRIMARY KEY,
    date TEXT NOT NULL, date_start TEXT NOT NULL, date_end TEXT NOT NULL, date_precision TEXT NOT NULL,
    country TEXT, province TEXT NOT NULL, district TEXT, locality TEXT, category TEXT NOT NULL,
    target TEXT, perpetrator TEXT, summary TEXT,
    killed_low INTEGER, killed_best INTEGER, killed_high INTEGER, killed_open_high INTEGER NOT NULL,
    killed_coded INTEGER NOT NULL,
    wounded_low INTEGER, wounded_best INTEGER, wounded_high INTEGER, wounded_open_high INTEGER NOT NULL,
    wounded_coded INTEGER NOT NULL,
    attackers_killed_low INTEGER, attackers_killed_best INTEGER, attackers_killed_high INTEGER,
    attackers_killed_open_high INTEGER NOT NULL, attackers_killed_coded INTEGER NOT NULL,
    disputed INTEGER NOT NULL,
    sources INTEGER NOT NULL,
    merged_from TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    adjudicated INTEGER NOT NULL
);
-- The JSON state of each incident in view, apart from its columns: a state is 2-3 KB, the
-- columns ~200 bytes, and the reads that need only the columns (summary, timeline, a view
-- at a point) then scan a table of the columns alone.
CREATE TABLE view_states (
    incident TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE view_source_figures (
    incident TEXT NOT NULL,
    source TEXT NOT NULL,
    published TEXT,
    killed TEXT, killed_low INTEGER, killed_high INTEGER, killed_point INTEGER,
    wounded TEXT, wounded_low INTEGER, wounded_high INTEGER, wounded_point INTEGER,
    attackers_killed TEXT, attackers_killed_low INTEGER, attackers_killed_high INTEGER,
    attackers_killed_point INTEGER,
    note TEXT, citation TEXT,
    event_seq INTEGER NOT NULL, event_id TEXT NOT NULL,
    corrected INTEGER NOT NULL, reports INTEGER NOT NULL, corrections INTEGER NOT NULL,
    alone INTEGER NOT NULL, disagrees INTEGER NOT NULL,
    PRIMARY KEY (incident, source)
);
CREATE TABLE view_responsibility (
    incident TEXT NOT NULL,
    event_seq INTEGER NOT NULL,
    actor TEXT NOT NULL,
    stance TEXT NOT NULL,
    source TEXT NOT NULL,
    published TEXT,
    PRIMARY KEY (incident, event_seq)
);
CREATE VIEW view_sources AS
    SELECT source, SUM(reports) AS reports, SUM(corrections) AS corrections,
           COUNT(*) AS incidents, SUM(alone) AS alone, SUM(disagrees) AS disagrees
    FROM view_source_figures GROUP BY source;
"#;

/// The view tables' secondary indexes: made after a rebuild has filled the tables (one sort
/// instead of an index update per row).
const CREATE_INDEXES: &str = r#"
CREATE INDEX view_incidents_date ON view_incidents (date_start, incident);
CREATE INDEX view_source_figures_source ON view_source_figures (source);
"#;

/// Everything [`CREATE`] makes, for rebuild.
const DROP: &str = r#"
DROP VIEW IF EXISTS view_sources;
DROP TABLE IF EXISTS view_responsibility;
DROP TABLE IF EXISTS view_states;
DROP TABLE IF EXISTS view_source_figures;
DROP TABLE IF EXISTS view_incidents;
DROP TABLE IF EXISTS view_incident_ids;
DROP TABLE IF EXISTS incident_states; -- views version 1 kept a state per version here
DROP TABLE IF EXISTS views_meta;
"#;

/// The columns [`Db::views_at`] reads for [`ViewColumns::Row`], after the incident and its
/// last touch.
const ROW_COLUMNS: &str = "v.date, v.date_start, v.province, v.category,
    v.killed_low, v.killed_best, v.killed_high, v.killed_open_high, v.killed_coded,
    v.wounded_low, v.wounded_best, v.wounded_high, v.wounded_open_high, v.wounded_coded,
    v.sources, v.disputed, v.adjudicated";

/// The range of the five columns from `at`: low, best, high, open_high, coded.
fn range(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Range> {
    Ok(Range {
        low: r.get(at)?,
        best: r.get(at + 1)?,
        high: r.get(at + 2)?,
        open_high: r.get(at + 3)?,
        coded: r.get(at + 4)?,
    })
}

/// The [`ViewRow`] of a row selected with [`ROW_COLUMNS`] after two columns.
fn view_row(r: &rusqlite::Row<'_>, last_seq: u64) -> rusqlite::Result<Result<ViewRow>> {
    let start: String = r.get(3)?;
    let date_start = match start.parse() {
        Ok(d) => d,
        Err(e) => {
            return Ok(Err(Error::Corrupt {
                seq: last_seq,
                problem: format!(
                "view_incidents.date_start `{start}` is not a date ({e}); run `chronicle rebuild`"
            ),
            }))
        }
    };
    Ok(Ok(ViewRow {
        incident: r.get(0)?,
        date: r.get(2)?,
        date_start,
        province: r.get(4)?,
        category: r.get(5)?,
        killed: range(r, 6)?,
        wounded: range(r, 11)?,
        sources: r.get(16)?,
        disputed: r.get(17)?,
        adjudicated: r.get(18)?,
    }))
}

impl Db<'_> {
    fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM views_meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()
    }

    pub(super) fn views_meta(&self) -> Result<Option<ViewsMeta>> {
        let err = self.err();
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'views_meta')",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        if !exists {
            return Ok(None);
        }
        Ok(Some(ViewsMeta {
            version: self
                .meta("views_version")
                .map_err(&err)?
                .and_then(|v| v.parse().ok()),
            checkpoint_seq: self
                .meta("checkpoint_seq")
                .map_err(&err)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            checkpoint_hash: self
                .meta("checkpoint_hash")
                .map_err(&err)?
                .unwrap_or_default(),
        }))
    }

    pub(super) fn views_at(
        &self,
        seq: u64,
        at_head: bool,
        columns: ViewColumns,
        each: &mut dyn FnMut(StoredView) -> Result<()>,
    ) -> Result<()> {
        let err = self.err();
        // The states are in `view_states`, the columns in `view_incidents` (both `v` here).
        let (wanted, table) = match columns {
            ViewColumns::State => ("v.state", "view_states"),
            ViewColumns::Row => (ROW_COLUMNS, "view_incidents"),
        };
        let sql = if at_head {
            // At the head every incident in view is current: no need for the touches.
            format!("SELECT v.incident, v.last_seq, {wanted} FROM {table} v")
        } else {
            format!(
                "SELECT i.incident, i.last_seq, {wanted}
                 FROM view_incident_ids i LEFT JOIN {table} v ON v.incident = i.incident
                 WHERE i.first_seq <= ?1"
            )
        };
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let mut rows = if at_head {
            stmt.query([])
        } else {
            stmt.query([seq])
        }
        .map_err(&err)?;
        while let Some(r) = rows.next().map_err(&err)? {
            let last_seq: u64 = r.get(1).map_err(&err)?;
            // (NULL: not in view, or no longer.)
            let in_view = r.get_ref(2).map_err(&err)? != rusqlite::types::ValueRef::Null;
            let content = match (in_view, columns) {
                (false, _) => None,
                (true, ViewColumns::State) => Some(ViewContent::State(self.unpacked(
                    r.get_ref(0).map_err(&err)?.as_str().unwrap_or("?"),
                    r.get_ref(2).map_err(&err)?,
                )?)),
                (true, ViewColumns::Row) => {
                    Some(ViewContent::Row(view_row(r, last_seq).map_err(&err)??))
                }
            };
            each(StoredView {
                incident: r.get(0).map_err(&err)?,
                last_seq,
                content,
            })?;
        }
        Ok(())
    }

    pub(super) fn view_entry(&self, incident: &str) -> Result<Option<ViewEntry>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT i.first_seq, i.last_seq, v.state FROM view_incident_ids i
                 LEFT JOIN view_states v ON v.incident = i.incident
                 WHERE i.incident = ?1",
            )
            .and_then(|mut s| {
                s.query_row([incident], |r| {
                    let packed = match r.get::<_, rusqlite::types::Value>(2)? {
                        rusqlite::types::Value::Null => None,
                        value => Some(value),
                    };
                    Ok((r.get(0)?, r.get(1)?, packed))
                })
                .optional()
            })
            .map_err(self.err())?;
        let Some((first_seq, last_seq, packed)) = row else {
            return Ok(None);
        };
        Ok(Some(ViewEntry {
            first_seq,
            last_seq,
            state: packed
                .map(|p| self.unpacked(incident, (&p).into()))
                .transpose()?,
        }))
    }

    pub(super) fn reset_views(&self, version: i64) -> Result<()> {
        let err = self.err();
        self.conn.execute_batch(DROP).map_err(&err)?;
        self.conn.execute_batch(CREATE).map_err(&err)?;
        self.conn
            .execute(
                "INSERT INTO views_meta (key, value) VALUES ('views_version', ?1), ('checkpoint_seq', '0'), ('checkpoint_hash', '')",
                [version.to_string()],
            )
            .map_err(&err)?;
        Ok(())
    }

    pub(super) fn index_views(&self) -> Result<()> {
        self.conn.execute_batch(CREATE_INDEXES).map_err(self.err())
    }

    pub(super) fn set_views_checkpoint(&self, seq: u64, hash: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE views_meta SET value = CASE key WHEN 'checkpoint_seq' THEN ?1 ELSE ?2 END
                 WHERE key IN ('checkpoint_seq', 'checkpoint_hash')",
            )
            .and_then(|mut s| s.execute(params![seq.to_string(), hash]))
            .map(|_| ())
            .map_err(self.err())
    }

    /// Records the touches of `incident` and removes the rows it had.
    fn touch_view(&self, incident: &str, first: u64, last: u64) -> rusqlite::Result<()> {
        let known: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM view_incident_ids WHERE incident = ?1)")?
            .query_row([incident], |r| r.get(0))?;
        if !known {
            self.conn
                .prepare_cached(
                    "INSERT INTO view_incident_ids (incident, first_seq, last_seq) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![incident, first, last])?;
            return Ok(());
        }
        // Touched in an earlier batch: it may have rows to replace.
        self.conn
            .prepare_cached("UPDATE view_incident_ids SET last_seq = ?2 WHERE incident = ?1")?
            .execute(params![incident, last])?;
        for table in [
            "view_incidents",
            "view_states",
            "view_source_figures",
            "view_responsibility",
        ] {
            self.conn
                .prepare_cached(&format!("DELETE FROM {table} WHERE incident = ?1"))?
                .execute([incident])?;
        }
        Ok(())
    }

    pub(super) fn write_view(
        &self,
        incident: &str,
        first: u64,
        last: u64,
        rows: Option<&IncidentRows<'_>>,
    ) -> Result<()> {
        let err = self.err();
        self.touch_view(incident, first, last).map_err(&err)?;
        if let Some(rows) = rows {
            self.insert_rows(incident, rows).map_err(&err)?;
        }
        Ok(())
    }

    fn insert_rows(&self, incident: &str, rows: &IncidentRows<'_>) -> rusqlite::Result<()> {
        let v = &rows.incident;
        self.conn
            .prepare_cached(
                "INSERT INTO view_incidents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                 ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30,
                 ?31, ?32, ?33)",
            )?
            .execute(params![
                v.incident,
                v.date,
                v.date_start,
                v.date_end,
                v.date_precision,
                v.country,
                v.province,
                v.district,
                v.locality,
                v.category,
                v.target,
                v.perpetrator,
                v.summary,
                v.killed.low,
                v.killed.best,
                v.killed.high,
                v.killed.open_high,
                v.killed.coded,
                v.wounded.low,
                v.wounded.best,
                v.wounded.high,
                v.wounded.open_high,
                v.wounded.coded,
                v.attackers_killed.low,
                v.attackers_killed.best,
                v.attackers_killed.high,
                v.attackers_killed.open_high,
                v.attackers_killed.coded,
                v.disputed,
                v.sources,
                v.merged_from,
                v.last_seq,
                v.adjudicated,
            ])?;
        self.conn
            .prepare_cached("INSERT INTO view_states VALUES (?1, ?2, ?3)")?
            .execute(params![v.incident, v.last_seq, pack_state(&v.state)])?;
        let mut insert_source = self.conn.prepare_cached(
            "INSERT INTO view_source_figures VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
             ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        )?;
        for s in &rows.sources {
            let [k, w, a]: [&FigureColumns; 3] = [&s.killed, &s.wounded, &s.attackers_killed];
            insert_source.execute(params![
                incident,
                s.source,
                s.published,
                k.prose,
                k.low,
                k.high,
                k.point,
                w.prose,
                w.low,
                w.high,
                w.point,
                a.prose,
                a.low,
                a.high,
                a.point,
                s.note,
                s.citation,
                s.event_seq,
                s.event_id,
                s.corrected,
                s.reports,
                s.corrections,
                s.alone,
                s.disagrees,
            ])?;
        }
        if !rows.responsibility.is_empty() {
            let mut insert_claim = self.conn.prepare_cached(
                "INSERT INTO view_responsibility VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in &rows.responsibility {
                insert_claim.execute(params![
                    incident,
                    r.event_seq,
                    r.actor,
                    r.stance,
                    r.source,
                    r.published,
                ])?;
            }
        }
        Ok(())
    }
}

/// A state as `view_states` keeps it: its JSON text compressed with LZ4 (block format, the
/// length first). A state is 2-3 KB of JSON whose keys repeat for every source; packed it is
/// a third to a half of that, so the views write and read that much fewer pages.
fn pack_state(json: &str) -> Vec<u8> {
    lz4_flex::compress_prepend_size(json.as_bytes())
}

/// The JSON text of a packed state ([`pack_state`]), or what is wrong with it (only a
/// damaged file has a state that does not unpack).
fn unpack_state(packed: rusqlite::types::ValueRef<'_>) -> std::result::Result<String, String> {
    let bytes = packed.as_blob().map_err(|_| {
        let found = packed.data_type().to_string().to_lowercase();
        format!("its type is {found}, not a packed state's (blob)")
    })?;
    // The length comes first; LZ4 expands at most 255-fold, so a larger one is damage (and
    // would otherwise be allocated before the data is looked at).
    let claimed = bytes
        .first_chunk::<4>()
        .map(|b| u32::from_le_bytes(*b) as usize)
        .ok_or("it is shorter than its length")?;
    if claimed > bytes.len().saturating_mul(255) {
        return Err(format!(
            "it claims {claimed} bytes from {} packed",
            bytes.len()
        ));
    }
    let json = lz4_flex::decompress_size_prepended(bytes).map_err(|e| e.to_string())?;
    String::from_utf8(json).map_err(|e| e.to_string())
}

impl Db<'_> {
    /// [`unpack_state`] for the state of `incident`, its failure as the library's error.
    fn unpacked(&self, incident: &str, packed: rusqlite::types::ValueRef<'_>) -> Result<String> {
        unpack_state(packed).map_err(|problem| Error::Storage {
            path: self.path.to_path_buf(),
            cause: format!("the stored state of incident `{incident}` (view_states) does not unpack: {problem}").into(),
            hint: " (the view tables are damaged, not the log: `chronicle rebuild` makes them anew from the events)",
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{pack_state, unpack_state};
    use rusqlite::types::ValueRef;

    #[test]
    fn a_packed_state_unpacks_to_its_text_and_is_smaller() {
        let source = r#"{"source":"UNAMA","published":"2020-07-13","killed":8,"wounded":null,"note":"UNAMA said"}"#;
        let json = format!(r#"{{"incident":"x","sources":[{source},{source},{source}]}}"#);
        let packed = pack_state(&json);
        assert!(
            packed.len() < json.len() / 2,
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack_state(ValueRef::Blob(&packed)).unwrap(), json);
        assert_eq!(unpack_state(ValueRef::Blob(&pack_state(""))).unwrap(), "");
    }

    #[test]
    fn a_damaged_state_is_an_error_never_a_panic_or_a_huge_allocation() {
        let message = |v: ValueRef<'_>| unpack_state(v).unwrap_err();
        let packed = pack_state(r#"{"incident":"x","sources":[]}"#);
        // A length that claims far more than LZ4 can expand to is refused before anything
        // is allocated.
        let mut huge = packed.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(message(ValueRef::Blob(&huge)).contains("claims 4294967295 bytes from"));
        assert!(message(ValueRef::Blob(&[1, 0])).contains("it is shorter than its length"));
        // Cut short, and garbage after a plausible length.
        assert!(!message(ValueRef::Blob(&packed[..packed.len() - 3])).is_empty());
        assert!(!message(ValueRef::Blob(&[8, 0, 0, 0, 0xff, 0xff])).is_empty());
        // Bytes that unpack but are not UTF-8.
        let latin1 = lz4_flex::compress_prepend_size(b"caf\xe9");
        let m = message(ValueRef::Blob(&latin1));
        assert!(m.contains("utf-8"), "{m}");
        // A state written as text (by hand, or by a chronicle before views version 10).
        assert_eq!(
            message(ValueRef::Text(b"{}")),
            "its type is text, not a packed state's (blob)"
        );
    }
}
