//! The queries of the `events` table.

use rusqlite::{params, OptionalExtension};

use super::Db;
use crate::error::Result;
use crate::record::{EventFilter, RecordedEvent};
use crate::store::{Head, MergeRef, StreamRow};

/// The columns of an event, in the order [`from_row`] reads them.
const COLUMNS: &str =
    "seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash";

/// The event with an id.
const BY_ID: &str = "SELECT seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash
     FROM events WHERE id = ?1";

/// The insert of one event, with the columns in the order of [`COLUMNS`].
const INSERT: &str = "INSERT INTO events (seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// The one decoder of an event row (selected with [`COLUMNS`]).
fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordedEvent> {
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

impl Db<'_> {
    pub(super) fn head(&self) -> Result<Option<Head>> {
        self.conn
            .prepare_cached("SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1")
            .and_then(|mut s| {
                s.query_row([], |r| {
                    Ok(Head {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                        recorded_at: r.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(self.err())
    }

    pub(super) fn last_seq_recorded_by(&self, recorded_at: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT IFNULL(MAX(seq), 0) FROM events WHERE recorded_at <= ?1",
                [recorded_at],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    pub(super) fn recorded_at(&self, seq: u64) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT recorded_at FROM events WHERE seq = ?1")
            .and_then(|mut s| s.query_row([seq], |r| r.get(0)).optional())
            .map_err(self.err())
    }

    pub(super) fn hash_at(&self, seq: u64) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT hash FROM events WHERE seq = ?1")
            .and_then(|mut s| s.query_row([seq], |r| r.get(0)).optional())
            .map_err(self.err())
    }

    pub(super) fn scan(
        &self,
        filter: &EventFilter,
        each: &mut dyn FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()> {
        let err = self.err();
        let mut sql = format!("SELECT {COLUMNS} FROM events WHERE 1");
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
            each(from_row(row).map_err(&err)?)?;
        }
        Ok(())
    }

    pub(super) fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>> {
        self.conn
            .prepare_cached(BY_ID)
            .and_then(|mut s| s.query_row([id], from_row).optional())
            .map_err(self.err())
    }

    pub(super) fn stream(
        &self,
        incident: &str,
        upto: u64,
        each: &mut dyn FnMut(StreamRow<'_>) -> Result<()>,
    ) -> Result<()> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, version, id, recorded_at, kind, payload FROM events
                 WHERE incident = ?1 AND seq <= ?2 ORDER BY seq",
            )
            .map_err(&err)?;
        let mut rows = stmt.query(params![incident, upto]).map_err(&err)?;
        while let Some(r) = rows.next().map_err(&err)? {
            let text = |i: usize| -> rusqlite::Result<&str> {
                r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)
            };
            let row = StreamRow {
                seq: r.get(0).map_err(&err)?,
                version: r.get(1).map_err(&err)?,
                id: text(2).map_err(&err)?,
                recorded_at: text(3).map_err(&err)?,
                kind: text(4).map_err(&err)?,
                payload: text(5).map_err(&err)?,
            };
            each(row)?;
        }
        Ok(())
    }

    pub(super) fn merges_into(&self, into: &str, upto: u64) -> Result<Vec<MergeRef>> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT incident, id, seq FROM events WHERE kind = 'incident_merged'
                 AND json_extract(payload, '$.into') = ?1 AND seq <= ?2 ORDER BY seq",
            )
            .map_err(&err)?;
        let merges = stmt
            .query_map(params![into, upto], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<MergeRef>>>()
            .map_err(&err)?;
        Ok(merges)
    }

    pub(super) fn opened_with_id_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT incident FROM events WHERE kind = 'incident_reported'
                 AND substr(id, 1, length(?1)) = ?1 ORDER BY seq",
            )
            .map_err(&err)?;
        let incidents = stmt
            .query_map([prefix], |r| r.get::<_, String>(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)?;
        Ok(incidents)
    }

    pub(super) fn insert_event(&self, e: &RecordedEvent) -> Result<()> {
        self.conn
            .prepare_cached(INSERT)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    e.seq,
                    e.id,
                    e.incident,
                    e.version,
                    e.kind,
                    e.payload,
                    e.schema_version,
                    e.recorded_at,
                    e.recorded_by,
                    e.hash,
                ])
            })
            .map(|_| ())
            .map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_statements_name_the_columns_in_order() {
        assert!(INSERT.contains(&format!("({COLUMNS})")));
        assert!(BY_ID.starts_with(&format!("SELECT {COLUMNS}\n")));
    }
}
