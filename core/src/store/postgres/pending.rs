//! A write transaction's inserts not yet sent to the server: the events, their batch
//! record, the Merkle tree's hashes and the views' rows, kept in memory ([`bulk::Table`])
//! and sent a few statements at a time instead of one round trip per row.
//!
//! They are sent ([`Db::send`]) before anything of the transaction is read (so a read sees
//! every write before it, as with single statements), before a write that is not buffered,
//! when the buffers hold [`ROWS`] rows (then by a thread of their own, while the core goes
//! on: see `PgTx`), and before the commit. Nothing is visible to other
//! clients before the commit either way, and a transaction that fails or is dropped rolls
//! back what was sent and forgets what was not: all or nothing, as before.

use std::collections::HashSet;

use super::bulk::{Table, Ty};
use super::{big, get, Db};
use crate::error::Result;
use crate::record::merkle::Hash;
use crate::record::{Batch, RecordedEvent};
use crate::store::{FigureColumns, IncidentRows};

/// Rows buffered in one table before they are sent.
pub(super) const ROWS: usize = 1024;

/// The buffered writes of one transaction.
#[derive(Debug)]
pub(super) struct Pending {
    batches: Table,
    events: Table,
    tree: Table,
    /// The touches of the incidents whose views are written (`view_incident_ids`).
    touches: Table,
    /// Those incidents (one write of each per send).
    touched: HashSet<String>,
    incidents: Table,
    sources: Table,
    responsibility: Table,
    /// The views' checkpoint to move to.
    checkpoint: Option<(u64, String)>,
}

use Ty::{Bool as B, Bytes as Y, Int as I, Text as T};

impl Pending {
    pub(super) fn new() -> Pending {
        Pending {
            batches: Table::new(
                "INSERT INTO batches (id, command, chronicle_version, input_sha256, correlation)",
                &[T, T, T, T, T],
                "",
            ),
            events: Table::new(
                super::events::INSERT,
                &[I, T, T, I, T, T, I, T, T, T, I, Y, Y, T, T],
                "",
            ),
            tree: Table::new("INSERT INTO tree_hashes (idx, hash)", &[I, Y], ""),
            // Sent by `Db::touch`, not as a plain insert.
            touches: Table::new("", &[T, I, I], ""),
            touched: HashSet::new(),
            incidents: Table::new(
                "INSERT INTO view_incidents",
                &[
                    T, T, T, T, T, T, T, T, T, T, T, T, T, I, I, I, B, B, I, I, I, B, B, I, I, I,
                    B, B, B, I, T, I, T, B,
                ],
                "",
            ),
            sources: Table::new(
                "INSERT INTO view_source_figures",
                &[
                    T, T, T, T, I, I, I, T, I, I, I, T, I, I, I, T, T, I, T, B, I, I, B, B,
                ],
                "",
            ),
            responsibility: Table::new("INSERT INTO view_responsibility", &[T, I, T, T, T, T], ""),
            checkpoint: None,
        }
    }

    /// Whether nothing is buffered.
    pub(super) fn is_empty(&self) -> bool {
        self.tables().iter().all(|t| t.len() == 0) && self.checkpoint.is_none()
    }

    /// Whether a buffer holds [`ROWS`] rows: time to send them.
    pub(super) fn is_full(&self) -> bool {
        self.tables().iter().any(|t| t.len() >= ROWS)
    }

    fn tables(&self) -> [&Table; 7] {
        [
            &self.batches,
            &self.events,
            &self.tree,
            &self.touches,
            &self.incidents,
            &self.sources,
            &self.responsibility,
        ]
    }

    pub(super) fn batch(&mut self, b: &Batch) {
        self.batches
            .row()
            .text(Some(&b.id))
            .text(Some(&b.command))
            .text(Some(&b.chronicle_version))
            .text(b.input_sha256.as_deref())
            .text(b.correlation.as_deref())
            .end();
    }

    /// An event, with the columns of `events.rs`'s `INSERT`, in its order.
    pub(super) fn event(&mut self, e: &RecordedEvent) {
        let (commitment, salt, batch) = e.seal.columns();
        self.events
            .row()
            .int(Some(big(e.seq)))
            .text(Some(&e.id))
            .text(Some(&e.incident))
            .int(Some(big(e.version)))
            .text(Some(&e.kind))
            .text(Some(&e.payload))
            .int(Some(i64::from(e.schema_version)))
            .text(Some(&e.recorded_at))
            .text(Some(&e.recorded_by))
            .text(Some(&e.hash))
            .int(Some(i64::from(e.seal.format())))
            .bytes(salt)
            .bytes(commitment)
            .text(e.redacted_by.as_deref())
            .text(batch)
            .end();
    }

    pub(super) fn tree_hashes(&mut self, first: u64, hashes: &[Hash]) {
        for (idx, h) in (first..).zip(hashes) {
            self.tree
                .row()
                .int(Some(big(idx)))
                .bytes(Some(&h[..]))
                .end();
        }
    }

    pub(super) fn checkpoint(&mut self, seq: u64, hash: &str) {
        self.checkpoint = Some((seq, hash.to_string()));
    }

    /// Buffers `incident`'s view rows and touches; `false` (nothing buffered) when the
    /// buffer already holds rows of it: send it first.
    pub(super) fn view(
        &mut self,
        incident: &str,
        first: u64,
        last: u64,
        rows: Option<&IncidentRows<'_>>,
    ) -> bool {
        if !self.touched.insert(incident.to_string()) {
            return false;
        }
        self.touches
            .row()
            .text(Some(incident))
            .int(Some(big(first)))
            .int(Some(big(last)))
            .end();
        if let Some(rows) = rows {
            self.rows(incident, rows);
        }
        true
    }

    fn rows(&mut self, incident: &str, rows: &IncidentRows<'_>) {
        let v = &rows.incident;
        let mut row = self
            .incidents
            .row()
            .text(Some(v.incident))
            .text(Some(&v.date))
            .text(Some(&v.date_start))
            .text(Some(&v.date_end))
            .text(Some(v.date_precision))
            .text(v.country)
            .text(Some(v.province))
            .text(v.district)
            .text(v.locality)
            .text(Some(v.category))
            .text(v.target)
            .text(v.perpetrator)
            .text(v.summary);
        for r in [&v.killed, &v.wounded, &v.attackers_killed] {
            row = row
                .int(r.low.map(big))
                .int(r.best.map(big))
                .int(r.high.map(big))
                .bool(r.open_high)
                .bool(r.coded);
        }
        row.bool(v.disputed)
            .int(Some(big(v.sources)))
            .text(Some(&v.merged_from))
            .int(Some(big(v.last_seq)))
            .text(Some(&v.state))
            .bool(v.adjudicated)
            .end();
        for s in &rows.sources {
            let mut row = self
                .sources
                .row()
                .text(Some(incident))
                .text(Some(s.source))
                .text(s.published.as_deref());
            let figures: [&FigureColumns; 3] = [&s.killed, &s.wounded, &s.attackers_killed];
            for f in figures {
                row = row
                    .text(f.prose.as_deref())
                    .int(f.low.map(big))
                    .int(f.high.map(big))
                    .int(f.point.map(big));
            }
            row.text(s.note)
                .text(s.citation)
                .int(Some(big(s.event_seq)))
                .text(Some(s.event_id))
                .bool(s.corrected)
                .int(Some(big(s.reports)))
                .int(Some(big(s.corrections)))
                .bool(s.alone)
                .bool(s.disagrees)
                .end();
        }
        for r in &rows.responsibility {
            self.responsibility
                .row()
                .text(Some(incident))
                .int(Some(big(r.event_seq)))
                .text(Some(r.actor))
                .text(Some(r.stance))
                .text(Some(r.source))
                .text(r.published.as_deref())
                .end();
        }
    }

    fn clear(&mut self) {
        for t in [
            &mut self.batches,
            &mut self.events,
            &mut self.tree,
            &mut self.touches,
            &mut self.incidents,
            &mut self.sources,
            &mut self.responsibility,
        ] {
            t.clear();
        }
        self.touched.clear();
        self.checkpoint = None;
    }
}

impl Db<'_> {
    /// Sends the buffered writes, a statement per table (the batch records before the
    /// events that name them; the old view rows of the incidents touched before are
    /// deleted before the new ones are inserted), and empties the buffers.
    pub(super) fn send(&self, p: &mut Pending) -> Result<()> {
        if p.is_empty() {
            return Ok(());
        }
        for t in [&p.batches, &p.events, &p.tree] {
            self.insert(t)?;
        }
        let had_rows = self.touch(&p.touches)?;
        if !had_rows.is_empty() {
            for sql in [
                "DELETE FROM view_incidents WHERE incident = ANY($1)",
                "DELETE FROM view_source_figures WHERE incident = ANY($1)",
                "DELETE FROM view_responsibility WHERE incident = ANY($1)",
            ] {
                self.execute(sql, &[&had_rows])?;
            }
        }
        for t in [&p.incidents, &p.sources, &p.responsibility] {
            self.insert(t)?;
        }
        if let Some((seq, hash)) = &p.checkpoint {
            self.set_views_checkpoint(*seq, hash)?;
        }
        p.clear();
        Ok(())
    }

    /// Records the touches of the incidents in `touches` (their first touch kept when
    /// they have one) and returns those touched before: only they may have rows to
    /// delete (in one statement, whose parts all see the table as it was before it).
    fn touch(&self, touches: &Table) -> Result<Vec<String>> {
        if touches.len() == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "WITH input AS (SELECT * FROM {} AS t(incident, first_seq, last_seq)),
             old AS (SELECT v.incident FROM view_incident_ids v JOIN input USING (incident)),
             up AS (INSERT INTO view_incident_ids (incident, first_seq, last_seq)
                    SELECT * FROM input
                    ON CONFLICT (incident) DO UPDATE SET last_seq = EXCLUDED.last_seq)
             SELECT incident FROM old",
            touches.unnest()
        );
        self.rows(&sql, &touches.params())?
            .iter()
            .map(|r| get(r, 0, 0))
            .collect()
    }

    fn insert(&self, t: &Table) -> Result<()> {
        if t.len() > 0 {
            self.execute(t.sql(), &t.params())?;
        }
        Ok(())
    }
}
