//! The queries of the `events` table.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};

use super::Db;
use crate::error::Result;
use crate::record::{Batch, EventFilter, RecordedEvent, Seal, ERASED_PAYLOAD};
use crate::store::{Head, MergeRef, StreamRow};

/// The columns of an event, in the order [`Decoder::decode`] reads them: those of `events`
/// (aliased `e`) and of its batch record (`b`, joined).
const COLUMNS: &str = "e.seq, e.id, e.incident, e.version, e.kind, e.payload, e.schema_version, e.recorded_at, e.recorded_by, e.hash, e.format, e.salt, e.commitment, e.redacted_by, e.batch, b.command, b.chronicle_version, b.input_sha256, b.correlation";

/// [`COLUMNS`] for a file whose schema predates the log format 2 (read-only, so left as it
/// is): every event is format 1.
const LEGACY_COLUMNS: &str = "e.seq, e.id, e.incident, e.version, e.kind, e.payload, e.schema_version, e.recorded_at, e.recorded_by, e.hash, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL";

/// The events and their batch records, for [`COLUMNS`].
const FROM: &str = "FROM events e LEFT JOIN batches b ON b.id = e.batch";

/// The events, for [`LEGACY_COLUMNS`].
const LEGACY_FROM: &str = "FROM events e";

/// The insert of one event, with the columns in the order of [`COLUMNS`] (its own).
const INSERT: &str = "INSERT INTO events (seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash, format, salt, commitment, redacted_by, batch)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// The decoder of event rows (selected with [`COLUMNS`]): one batch record shared by the
/// consecutive events of a batch.
#[derive(Default)]
struct Decoder {
    batch: Option<Arc<Batch>>,
}

impl Decoder {
    fn decode(&mut self, row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordedEvent> {
        let format: u8 = row.get(10)?;
        let seal = if format == 1 {
            Seal::V1
        } else {
            let batch_id = row.get_ref(14)?.as_str_or_null()?.unwrap_or_default();
            let batch = match &self.batch {
                Some(b) if b.id == batch_id => b.clone(),
                _ => {
                    // A batch id with no record reads as an empty record: `verify` reports
                    // the hash that does not recompute.
                    let text = |i: usize| -> rusqlite::Result<String> {
                        Ok(row.get::<_, Option<String>>(i)?.unwrap_or_default())
                    };
                    let b = Arc::new(Batch {
                        id: batch_id.to_string(),
                        command: text(15)?,
                        chronicle_version: text(16)?,
                        input_sha256: row.get(17)?,
                        correlation: row.get(18)?,
                    });
                    self.batch = Some(b.clone());
                    b
                }
            };
            // A value of the wrong size reads as zeros: `verify` reports the hash that does
            // not recompute.
            let bytes32 = |i: usize| -> rusqlite::Result<Option<[u8; 32]>> {
                Ok(row
                    .get_ref(i)?
                    .as_blob_or_null()?
                    .map(|b| <[u8; 32]>::try_from(b).unwrap_or_default()))
            };
            let salt = bytes32(11)?;
            let commitment = bytes32(12)?;
            Seal::V2 {
                commitment: commitment.unwrap_or_default(),
                salt,
                batch,
            }
        };
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
            seal,
            redacted_by: row.get(13)?,
        })
    }
}

impl Db<'_> {
    /// `SELECT` of the event columns and the table they come from, for this file's schema.
    fn select(&self) -> (&'static str, &'static str) {
        if self.legacy {
            (LEGACY_COLUMNS, LEGACY_FROM)
        } else {
            (COLUMNS, FROM)
        }
    }

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
        let (columns, from) = self.select();
        let mut sql = format!("SELECT {columns} {from} WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(i) = &filter.incident {
            sql.push_str(" AND e.incident = ?");
            args.push(i.clone().into());
        }
        if let Some(k) = &filter.kind {
            sql.push_str(" AND e.kind = ?");
            args.push(k.clone().into());
        }
        if let Some(s) = filter.since_seq {
            sql.push_str(" AND e.seq > ?");
            args.push((s as i64).into());
        }
        if let Some(s) = filter.until_seq {
            sql.push_str(" AND e.seq <= ?");
            args.push((s as i64).into());
        }
        if let Some(b) = &filter.batch {
            if self.legacy {
                return Ok(());
            }
            sql.push_str(" AND e.batch = ?");
            args.push(b.clone().into());
        }
        sql.push_str(" ORDER BY e.seq");
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args)).map_err(&err)?;
        let mut decoder = Decoder::default();
        while let Some(row) = rows.next().map_err(&err)? {
            each(decoder.decode(row).map_err(&err)?)?;
        }
        Ok(())
    }

    pub(super) fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>> {
        let (columns, from) = self.select();
        self.conn
            .prepare_cached(&format!("SELECT {columns} {from} WHERE e.id = ?1"))
            .and_then(|mut s| {
                s.query_row([id], |r| Decoder::default().decode(r))
                    .optional()
            })
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
                if self.legacy {
                    "SELECT seq, version, id, recorded_at, kind, payload, schema_version, NULL FROM events
                     WHERE incident = ?1 AND seq <= ?2 ORDER BY seq"
                } else {
                    "SELECT seq, version, id, recorded_at, kind, payload, schema_version, redacted_by FROM events
                     WHERE incident = ?1 AND seq <= ?2 ORDER BY seq"
                },
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
                schema_version: r.get(6).map_err(&err)?,
                redacted_by: r
                    .get_ref(7)
                    .and_then(|v| v.as_str_or_null().map_err(rusqlite::Error::from))
                    .map_err(&err)?,
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
        let (commitment, salt, batch) = e.seal.columns();
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
                    e.seal.format(),
                    salt,
                    commitment,
                    e.redacted_by,
                    batch,
                ])
            })
            .map(|_| ())
            .map_err(self.err())
    }

    pub(super) fn insert_batch(&self, b: &Batch) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO batches (id, command, chronicle_version, input_sha256, correlation)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    b.id,
                    b.command,
                    b.chronicle_version,
                    b.input_sha256,
                    b.correlation
                ])
            })
            .map(|_| ())
            .map_err(self.err())
    }

    pub(super) fn batch(&self, id: &str) -> Result<Option<Batch>> {
        if self.legacy {
            return Ok(None);
        }
        self.conn
            .prepare_cached(
                "SELECT id, command, chronicle_version, input_sha256, correlation FROM batches WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([id], |r| {
                    Ok(Batch {
                        id: r.get(0)?,
                        command: r.get(1)?,
                        chronicle_version: r.get(2)?,
                        input_sha256: r.get(3)?,
                        correlation: r.get(4)?,
                    })
                })
                .optional()
            })
            .map_err(self.err())
    }

    pub(super) fn erase_payload(&self, id: &str, redaction: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE events SET payload = ?3, salt = NULL, redacted_by = ?2 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, redaction, ERASED_PAYLOAD]))
            .map(|_| ())
            .map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insert_names_the_columns_in_the_order_they_are_read() {
        let own: Vec<&str> = COLUMNS
            .split(", ")
            .filter_map(|c| c.strip_prefix("e."))
            .collect();
        assert!(INSERT.contains(&format!("({})", own.join(", "))), "{own:?}");
        assert_eq!(
            COLUMNS.split(", ").count(),
            LEGACY_COLUMNS.split(", ").count()
        );
    }
}
