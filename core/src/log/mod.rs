//! The event log as a program uses it: [`EventLog`] opens a log in a store, appends to it
//! in write transactions ([`append`]), reads its events, verifies it ([`verify`]), and
//! answers the view queries (delegated to [`crate::views`]).

pub mod append;
mod copy;
mod proof;
mod redact;
mod report;
mod validate;
pub mod verify;

use std::path::{Path, PathBuf};

use crate::domain::event::NewEvent;
use crate::error::{Location, Result};
use crate::record::{Appended, Checkpoint, EventFilter, RecordedEvent};
use crate::store::{is_postgres_url, Access, PgStore, PgUrl, SqliteStore, Store};
use crate::views::audit::{AuditReport, Claim};
use crate::views::diff::Diff;
use crate::views::history::History;
use crate::views::{
    maintain, BestPolicy, Document, Filter, Group, GroupBy, Incident, Point, Query, Reader,
    Snapshot, SourceSummary, TimelineRow,
};
pub use append::{AppendContext, Appender, Clock, Origin};

/// Events of a large append read ahead at a time ([`Appender::prefetch`]): their ids and
/// streams are read from the log in one query each, not one per event.
const PREFETCH: usize = 4096;
pub use copy::Copied;
pub use redact::Redacted;
pub use report::OpeningDetails;

/// An open event log.
#[derive(Debug)]
pub struct EventLog {
    store: Box<dyn Store>,
    path: PathBuf,
}

impl EventLog {
    /// Opens an existing log, bringing its schema and its views up to date. `path` is a
    /// file (SQLite), or a `postgres://` / `postgresql://` connection string (PostgreSQL).
    ///
    /// Refuses a missing file, an empty file, a file that is not SQLite, an SQLite database of
    /// another program, and a log written by a newer chronicle; none of them is modified. On
    /// PostgreSQL, likewise an unreachable server, a refused login, a missing database, a
    /// database holding something else; no message names the password.
    pub fn open(path: impl AsRef<Path>) -> Result<EventLog> {
        let path = path.as_ref();
        if let Some(url) = Self::postgres_url(path)? {
            let store = PgStore::open(&url)?;
            return Self::with_store(Box::new(store), Path::new(&url.redacted()));
        }
        Self::with_store(Box::new(SqliteStore::open(path)?), path)
    }

    /// The connection string `path` is, when it is one.
    fn postgres_url(path: &Path) -> Result<Option<PgUrl>> {
        match path.to_str() {
            Some(s) if is_postgres_url(s) => PgUrl::parse(s).map(Some),
            _ => Ok(None),
        }
    }

    /// Makes a new log at `path` (or an empty file there into one). Returns the log and
    /// whether it was created; an existing chronicle log is opened and left as it is.
    /// Anything else that exists is refused, never overwritten.
    ///
    /// On PostgreSQL the database must exist (made by its administrator, `createdb`); the
    /// log is made in it, in the role's current schema.
    pub fn init(path: impl AsRef<Path>) -> Result<(EventLog, bool)> {
        let path = path.as_ref();
        if let Some(url) = Self::postgres_url(path)? {
            let (store, created) = PgStore::init(&url)?;
            let log = Self::with_store(Box::new(store), Path::new(&url.redacted()))?;
            return Ok((log, created));
        }
        let (store, created) = SqliteStore::init(path)?;
        Ok((Self::with_store(Box::new(store), path)?, created))
    }

    fn with_store(mut store: Box<dyn Store>, path: &Path) -> Result<EventLog> {
        maintain::ensure(&mut *store)?;
        crate::tree::ensure(&mut *store)?;
        Ok(EventLog {
            store,
            path: path.to_path_buf(),
        })
    }

    /// Where this log lives: its file, or its connection string without the password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives a database role what a reader or a writer of this log needs, and no more
    /// (`chronicle grant`). Only a PostgreSQL log has roles; run it as the log's owner.
    pub fn grant(&mut self, role: &str, access: Access) -> Result<()> {
        self.store.grant(role, access)
    }

    /// The last event's checkpoint, or `None` for an empty log.
    pub fn head(&self) -> Result<Option<Checkpoint>> {
        Ok(self.store.head()?.map(|h| Checkpoint {
            seq: h.seq,
            hash: h.hash,
        }))
    }

    /// Appends a batch of events in one transaction: all land, or none does.
    ///
    /// `events` yields each event with the location it came from (for error messages). The
    /// first refused event aborts the batch and its error names that location.
    pub fn append<I>(&mut self, ctx: &AppendContext, events: I) -> Result<Vec<Appended>>
    where
        I: IntoIterator<Item = Result<(Location, NewEvent)>>,
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
        I: IntoIterator<Item = Result<(Location, NewEvent)>>,
    {
        self.transaction(ctx, |tx| {
            let mut events = events.into_iter();
            loop {
                // A chunk read ahead (up to the first input that does not read, whose error
                // comes after the events before it, as one at a time).
                let mut chunk = Vec::with_capacity(PREFETCH);
                let mut failed = None;
                for item in events.by_ref() {
                    match item {
                        Ok(ok) => chunk.push(ok),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                    if chunk.len() == PREFETCH {
                        break;
                    }
                }
                let last = failed.is_some() || chunk.len() < PREFETCH;
                tx.prefetch(chunk.iter().map(|(_, e)| e))?;
                for (loc, event) in chunk {
                    each(tx.append(event).map_err(|e| e.at(loc))?);
                }
                if let Some(e) = failed {
                    return Err(e);
                }
                if last {
                    return Ok(());
                }
            }
        })
    }

    /// Runs `body` in one write transaction, committing if it returns `Ok` (and rolling
    /// back otherwise). Importers and the commands that decide what to append from what the
    /// log holds read and append in the same transaction.
    pub fn transaction<T>(
        &mut self,
        ctx: &AppendContext,
        body: impl FnOnce(&mut Appender<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut appender = Appender::begin(self.store.write()?, ctx)?;
        let value = body(&mut appender)?;
        appender.commit()?;
        Ok(value)
    }

    /// The events matching `filter`, in sequence order, handed to `each` one at a time
    /// (the log is streamed, never loaded whole). Stops at the first error `each` returns.
    pub fn scan(
        &self,
        filter: &EventFilter,
        mut each: impl FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()> {
        self.store.scan(filter, &mut each)
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

    /// The batch record with this id, if any.
    pub fn batch(&self, id: &str) -> Result<Option<crate::record::Batch>> {
        self.store.batch(id)
    }

    /// The event with this id, if any.
    pub fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>> {
        self.store.event_by_id(id)
    }

    /// Drops the view tables and replays the whole log, in one transaction (the Merkle tree's
    /// stored hashes are checked in the same scan, and made anew if they differ from the
    /// events'). Returns how many events were replayed.
    pub fn rebuild_views(&mut self) -> Result<u64> {
        self.rebuild_views_with_progress(&|_| {})
    }

    /// [`EventLog::rebuild_views`], calling `progress` with the number of events replayed
    /// so far every few thousand events and at the end.
    pub fn rebuild_views_with_progress(&mut self, progress: &dyn Fn(u64)) -> Result<u64> {
        let tx = self.store.write()?;
        // The stored tree is checked in the views' scan and written only where it differs.
        let mut tree = crate::tree::Repair::new(&*tx)?;
        let n = maintain::rebuild(&*tx, Some(progress), &mut |event| {
            tree.push(&*tx, &event.hash)
        })?;
        tree.finish(&*tx)?;
        tx.commit()?;
        Ok(n)
    }

    fn views(&self) -> Reader<'_> {
        Reader {
            db: &*self.store as &dyn crate::store::Reads,
        }
    }

    /// The last sequence number the views have applied.
    pub fn views_checkpoint(&self) -> Result<u64> {
        self.views().views_checkpoint()
    }

    /// The sequence number a point names (where `--as-of` and `--at-seq` are resolved).
    /// `seq:N` beyond the log is refused.
    pub fn resolve_point(&self, point: Point) -> Result<u64> {
        self.views().resolve_point(point)
    }

    /// The incidents in view for a query: the states at its point, restricted to what was
    /// published by `known_by` if given, filtered and sorted.
    pub fn snapshot(&self, q: &Query) -> Result<Snapshot> {
        self.views().snapshot(q)
    }

    /// One incident (`show`). A merged duplicate's id shows the incident it was merged into.
    pub fn show(&self, incident: &str, q: &Query) -> Result<Incident> {
        self.views().show(incident, q)
    }

    /// The incidents in date order (`timeline`).
    pub fn timeline(&self, q: &Query) -> Result<Vec<Incident>> {
        self.views().timeline(q)
    }

    /// [`EventLog::timeline`] to be written as it is computed, in memory that does not grow
    /// with the log: serialize [`crate::views::DocumentStream::incidents`] (every check of the query is
    /// made here, before anything is written).
    pub fn timeline_stream(&self, q: &Query) -> Result<crate::views::DocumentStream<'_>> {
        self.views().export_stream(q)
    }

    /// The rows of the human `timeline`.
    pub fn timeline_rows(&self, q: &Query) -> Result<Vec<TimelineRow>> {
        self.views().timeline_rows(q)
    }

    /// Totals grouped by a key (`summary`).
    pub fn summary(&self, q: &Query, by: GroupBy) -> Result<Vec<Group>> {
        self.views().summary(q, by)
    }

    /// Per source: reports, corrections, incidents where it stands alone or disagrees.
    pub fn sources(&self, q: &Query) -> Result<Vec<SourceSummary>> {
        self.views().sources(q)
    }

    /// What `--source-type` and `--exclude-parties` leave out of `q`'s view: the sources
    /// whose figures are not reconciled, those of them with no recorded type, and the
    /// incidents left with no source (empty without those flags).
    pub fn restriction(&self, q: &Query) -> Result<crate::views::Restriction> {
        let reader = self.views();
        reader.restriction(&reader.checked(q)?)
    }

    /// Every description of source `name` (`chronicle source set`) up to `point`, oldest
    /// first, each with what became of it (in force, superseded, retracted).
    pub fn source_history(
        &self,
        name: &str,
        point: Point,
    ) -> Result<Vec<crate::views::described::DescriptionEntry>> {
        let seq = self.views().resolve_point(point)?;
        crate::views::described::SourceBook::history(&*self.store, seq, name)
    }

    /// The whole document (`export`), with the unsigned checkpoint of its point under the
    /// default origin (see [`EventLog::export_checkpointed`]). Its `provenance.exporter` is
    /// left `null`: the caller that renders it names the format.
    pub fn export(&self, q: &Query) -> Result<Document> {
        self.export_checkpointed(q, crate::record::note::DEFAULT_ORIGIN, None)
    }

    /// Every change to an incident's view, in log order (`history`).
    pub fn history(&self, incident: &str) -> Result<History> {
        self.views().history(incident)
    }

    /// Checks `claim` against the incidents in `q`'s scope (`audit`).
    pub fn audit(&self, claim: Claim, q: &Query) -> Result<AuditReport> {
        self.views().audit(claim, q)
    }

    /// Checks several claims (killed and wounded, as an infobox states them) against the same
    /// incidents in `q`'s scope: one report per claim, in the order given.
    pub fn audits(&self, claims: &[Claim], q: &Query) -> Result<Vec<AuditReport>> {
        self.views().audits(claims, q)
    }

    /// With `--status`, the incidents the other filters keep whose killed (or wounded) is not
    /// all broken down by status, or may be more than its statuses cover (see
    /// `views::audit::StatusGaps`); empty without `--status`.
    pub fn status_gaps(
        &self,
        q: &Query,
        m: crate::views::Measure,
    ) -> Result<crate::views::audit::StatusGaps> {
        self.views().status_gaps(q, m)
    }

    /// The incidents (passing `filter` at either point) that differ between `from` and `to`.
    pub fn diff(&self, from: Point, to: Point, filter: &Filter, best: &BestPolicy) -> Result<Diff> {
        self.views().diff(from, to, filter, best)
    }
}
