//! The queries of the `events` table.

use postgres::types::ToSql;
use postgres::Row;

use super::{big, get, get_u64, Db};
use crate::error::Result;
use std::sync::Arc;

use crate::record::{Batch, EventFilter, RecordedEvent, Seal, ERASED_PAYLOAD};
use crate::store::{Head, MergeRef, StreamRow};

/// The columns of an event, in the order [`from_row`] reads them: those of `events`
/// (aliased `e`) and of its batch record (`b`, joined).
const COLUMNS: &str = "e.seq, e.id, e.incident, e.version, e.kind, e.payload, e.schema_version, e.recorded_at, e.recorded_by, e.hash, e.format, e.salt, e.commitment, e.redacted_by, e.batch, b.command, b.chronicle_version, b.input_sha256, b.correlation";

/// The events and their batch records, for [`COLUMNS`].
const FROM: &str = "FROM events e LEFT JOIN batches b ON b.id = e.batch";

/// The insert of events, with the columns in the order of [`COLUMNS`] (its own); their
/// values are given by `pending.rs` (in bulk).
pub(super) const INSERT: &str = "INSERT INTO events (seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash, format, salt, commitment, redacted_by, batch)";

/// How many events a scan fetches at a time: memory stays bounded, and no result set is
/// open while the caller's callback runs (it may query the store).
const PAGE: i64 = 2000;

/// A stored 32-byte value; one of the wrong size reads as zeros (`verify` then reports the
/// hash that does not recompute).
fn bytes32(v: Option<Vec<u8>>) -> Option<[u8; 32]> {
    v.map(|b| <[u8; 32]>::try_from(b.as_slice()).unwrap_or_default())
}

/// The one decoder of an event row (selected with [`COLUMNS`]).
fn from_row(row: &Row) -> Result<RecordedEvent> {
    let seq = get_u64(row, 0, 0)?;
    let seal = if get::<i64>(row, 10, seq)? == 1 {
        Seal::V1
    } else {
        // A batch id with no record reads as an empty record: `verify` reports the hash
        // that does not recompute.
        let text = |i: usize| -> Result<String> {
            Ok(get::<Option<String>>(row, i, seq)?.unwrap_or_default())
        };
        Seal::V2 {
            commitment: bytes32(get(row, 12, seq)?).unwrap_or_default(),
            salt: bytes32(get(row, 11, seq)?),
            batch: Arc::new(Batch {
                id: text(14)?,
                command: text(15)?,
                chronicle_version: text(16)?,
                input_sha256: get(row, 17, seq)?,
                correlation: get(row, 18, seq)?,
            }),
        }
    };
    Ok(RecordedEvent {
        seq,
        id: get(row, 1, seq)?,
        incident: get(row, 2, seq)?,
        version: get_u64(row, 3, seq)?,
        kind: get(row, 4, seq)?,
        payload: get(row, 5, seq)?,
        schema_version: u32::try_from(get::<i64>(row, 6, seq)?).unwrap_or(u32::MAX),
        recorded_at: get(row, 7, seq)?,
        recorded_by: get(row, 8, seq)?,
        hash: get(row, 9, seq)?,
        seal,
        redacted_by: get(row, 13, seq)?,
    })
}

impl Db<'_> {
    pub(super) fn head(&self) -> Result<Option<Head>> {
        let Some(r) = self.row(
            "SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        else {
            return Ok(None);
        };
        let seq = get_u64(&r, 0, 0)?;
        Ok(Some(Head {
            seq,
            hash: get(&r, 1, seq)?,
            recorded_at: get(&r, 2, seq)?,
        }))
    }

    pub(super) fn last_seq_recorded_by(&self, recorded_at: &str) -> Result<u64> {
        match self.row(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE recorded_at <= $1",
            &[&recorded_at],
        )? {
            Some(r) => get_u64(&r, 0, 0),
            None => Ok(0),
        }
    }

    pub(super) fn recorded_at(&self, seq: u64) -> Result<Option<String>> {
        self.row(
            "SELECT recorded_at FROM events WHERE seq = $1",
            &[&big(seq)],
        )?
        .map(|r| get(&r, 0, seq))
        .transpose()
    }

    pub(super) fn hash_at(&self, seq: u64) -> Result<Option<String>> {
        self.row("SELECT hash FROM events WHERE seq = $1", &[&big(seq)])?
            .map(|r| get(&r, 0, seq))
            .transpose()
    }

    pub(super) fn scan(
        &self,
        filter: &EventFilter,
        each: &mut dyn FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()> {
        // Keyset pages: `seq > $1 ... ORDER BY seq LIMIT PAGE`, the filter's other terms after.
        let mut sql = format!("SELECT {COLUMNS} {FROM} WHERE e.seq > $1");
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(i) = &filter.incident {
            args.push(Box::new(i.clone()));
            sql.push_str(&format!(" AND e.incident = ${}", args.len() + 1));
        }
        if let Some(k) = &filter.kind {
            args.push(Box::new(k.clone()));
            sql.push_str(&format!(" AND e.kind = ${}", args.len() + 1));
        }
        if let Some(s) = filter.until_seq {
            args.push(Box::new(big(s)));
            sql.push_str(&format!(" AND e.seq <= ${}", args.len() + 1));
        }
        if let Some(b) = &filter.batch {
            args.push(Box::new(b.clone()));
            sql.push_str(&format!(" AND e.batch = ${}", args.len() + 1));
        }
        sql.push_str(&format!(" ORDER BY e.seq LIMIT {PAGE}"));
        let mut after = big(filter.since_seq.unwrap_or(0));
        loop {
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&after];
            params.extend(args.iter().map(|a| &**a as &(dyn ToSql + Sync)));
            let rows = self.rows(&sql, &params)?;
            let full = rows.len() as i64 == PAGE;
            for row in &rows {
                let event = from_row(row)?;
                after = big(event.seq);
                each(event)?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    pub(super) fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>> {
        self.row(&format!("SELECT {COLUMNS} {FROM} WHERE e.id = $1"), &[&id])?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// The events of one incident's stream up to `upto`, in seq order, fetched in pages of
    /// [`PAGE`] (keyset on seq, as [`Db::scan`]): memory stays bounded on a long stream, and no
    /// result set is open while `each` runs.
    pub(super) fn stream(
        &self,
        incident: &str,
        upto: u64,
        each: &mut dyn FnMut(StreamRow<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut after = 0_i64;
        loop {
            let rows = self.rows(
                &format!(
                    "SELECT seq, version, id, recorded_at, kind, payload, schema_version, redacted_by
                     FROM events WHERE incident = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT {PAGE}"
                ),
                &[&incident, &after, &big(upto)],
            )?;
            for r in &rows {
                let seq = get_u64(r, 0, 0)?;
                after = big(seq);
                each(StreamRow {
                    seq,
                    version: get_u64(r, 1, seq)?,
                    id: get(r, 2, seq)?,
                    recorded_at: get(r, 3, seq)?,
                    kind: get(r, 4, seq)?,
                    payload: get(r, 5, seq)?,
                    schema_version: u32::try_from(get::<i64>(r, 6, seq)?).unwrap_or(u32::MAX),
                    redacted_by: get(r, 7, seq)?,
                })?;
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }

    pub(super) fn merges_into(&self, into: &str, upto: u64) -> Result<Vec<MergeRef>> {
        let rows = self.rows(
            "SELECT incident, id, seq FROM events WHERE kind = 'incident_merged'
             AND (payload::jsonb ->> 'into') = $1 AND seq <= $2 ORDER BY seq",
            &[&into, &big(upto)],
        )?;
        rows.iter()
            .map(|r| {
                let seq = get_u64(r, 2, 0)?;
                Ok((get(r, 0, seq)?, get(r, 1, seq)?, seq))
            })
            .collect()
    }

    /// The streams of several incidents in one query (see [`Db::stream`]): grouped by
    /// incident, each in seq order. All rows are fetched before `each` runs.
    pub(super) fn streams(
        &self,
        incidents: &[&str],
        upto: u64,
        each: &mut dyn FnMut(&str, StreamRow<'_>) -> Result<()>,
    ) -> Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        let rows = self.rows(
            "SELECT incident, seq, version, id, recorded_at, kind, payload, schema_version, redacted_by
             FROM events WHERE incident = ANY($1) AND seq <= $2 ORDER BY incident, seq",
            &[&incidents, &big(upto)],
        )?;
        for r in &rows {
            let seq = get_u64(r, 1, 0)?;
            each(
                get(r, 0, seq)?,
                StreamRow {
                    seq,
                    version: get_u64(r, 2, seq)?,
                    id: get(r, 3, seq)?,
                    recorded_at: get(r, 4, seq)?,
                    kind: get(r, 5, seq)?,
                    payload: get(r, 6, seq)?,
                    schema_version: u32::try_from(get::<i64>(r, 7, seq)?).unwrap_or(u32::MAX),
                    redacted_by: get(r, 8, seq)?,
                },
            )?;
        }
        Ok(())
    }

    /// The merges into several incidents in one query (see [`Db::merges_into`]).
    pub(super) fn merges_into_each(
        &self,
        into: &[&str],
        upto: u64,
    ) -> Result<Vec<(String, MergeRef)>> {
        if into.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.rows(
            "SELECT payload::jsonb ->> 'into', incident, id, seq FROM events
             WHERE kind = 'incident_merged' AND (payload::jsonb ->> 'into') = ANY($1) AND seq <= $2
             ORDER BY seq",
            &[&into, &big(upto)],
        )?;
        rows.iter()
            .map(|r| {
                let seq = get_u64(r, 3, 0)?;
                Ok((get(r, 0, seq)?, (get(r, 1, seq)?, get(r, 2, seq)?, seq)))
            })
            .collect()
    }

    /// Which of `ids` are in the log, in one query.
    pub(super) fn present_ids(&self, ids: &[&str]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.rows("SELECT id FROM events WHERE id = ANY($1)", &[&ids])?;
        rows.iter().map(|r| get(r, 0, 0)).collect()
    }

    pub(super) fn opened_with_id_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let rows = self.rows(
            "SELECT incident FROM events WHERE kind = 'incident_reported'
             AND left(id, length($1)) = $1 ORDER BY seq",
            &[&prefix],
        )?;
        rows.iter().map(|r| get(r, 0, 0)).collect()
    }

    pub(super) fn batch_record(&self, id: &str) -> Result<Option<Batch>> {
        self.row(
            "SELECT id, command, chronicle_version, input_sha256, correlation FROM batches WHERE id = $1",
            &[&id],
        )?
        .map(|r| {
            Ok(Batch {
                id: get(&r, 0, 0)?,
                command: get(&r, 1, 0)?,
                chronicle_version: get(&r, 2, 0)?,
                input_sha256: get(&r, 3, 0)?,
                correlation: get(&r, 4, 0)?,
            })
        })
        .transpose()
    }

    pub(super) fn erase_payload(&self, id: &str, redaction: &str) -> Result<()> {
        self.execute(
            "UPDATE events SET payload = $3, salt = NULL, redacted_by = $2 WHERE id = $1",
            &[&id, &redaction, &ERASED_PAYLOAD],
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insert_names_the_columns_in_order() {
        let own: Vec<&str> = COLUMNS
            .split(", ")
            .filter_map(|c| c.strip_prefix("e."))
            .collect();
        assert!(INSERT.contains(&format!("({})", own.join(", "))), "{own:?}");
    }
}
