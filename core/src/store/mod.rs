//! The storage boundary: every SQL string of the core lives below this module.
//!
//! The rest of the core reads and writes the log and the views through three traits:
//!
//! - [`Reads`]: events by range, stream and id, the merges into an incident, the views' meta
//!   data and rows. Both an open store and a write transaction read.
//! - [`Writes`]: one write transaction, holding the log's write lock from
//!   [`Store::write`] to [`Writes::commit`]: insert events, replace an incident's view rows,
//!   reset and index the view tables, move the views' checkpoint, store the Merkle tree's
//!   hashes. Dropped without a commit, it rolls back.
//! - [`Store`]: an open backend: it reads, opens write transactions, and reports what
//!   `verify` checks of its schema.
//!
//! The backend is chosen when a log is opened and then used as a trait object
//! (`Box<dyn Store>`): the backend-neutral code above (validation, the stream cache, the
//! views' maintenance and queries, import) is compiled once, and a second backend is one
//! more module here: [`sqlite`] (a file, the default) and [`postgres`] (a database server,
//! chosen by a `postgres://` connection string).
//!
//! Every type that crosses the boundary is plain data ([`RecordedEvent`], [`StreamRow`],
//! [`IncidentRows`], ...): no backend type leaves this module.

mod postgres;
mod sqlite;

use std::path::Path;

use chronicle_plugin_sdk::view::Range;

use crate::error::Result;
use crate::record::merkle::Hash;
use crate::record::{Batch, EventFilter, RecordedEvent};

pub(crate) use postgres::{is_url as is_postgres_url, PgStore, PgUrl};
pub(crate) use sqlite::SqliteStore;

/// What `chronicle grant` gives a role of a PostgreSQL log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only.
    Reader,
    /// Reads and appends (the views and the tree maintained); never an update, delete or
    /// truncate of `events`, nor a change to its triggers.
    Writer,
}

/// Where a backend purges the bytes that erased payloads left behind (what `chronicle
/// redact` says it did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purge {
    /// SQLite: the log file and its journal are rewritten.
    FileAndJournal,
    /// PostgreSQL: the tables that held the text are rewritten by `VACUUM FULL` (the
    /// server's write-ahead log and backups are out of chronicle's reach).
    VacuumFull,
}

/// The last event of the log, as an append needs it to continue the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// Its sequence number.
    pub seq: u64,
    /// Its chain hash, hex.
    pub hash: String,
    /// Its recorded time (fixed-width text, so it orders as text).
    pub recorded_at: String,
}

/// One event of a stream as the stream cache reads it: the text columns borrowed from the
/// backend's row, so that only what is kept is copied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamRow<'a> {
    pub seq: u64,
    pub version: u64,
    pub id: &'a str,
    pub recorded_at: &'a str,
    pub kind: &'a str,
    pub schema_version: u32,
    pub payload: &'a str,
    /// The redaction that erased the payload (then `null`), if one did.
    pub redacted_by: Option<&'a str>,
}

/// A merge of stream `child` into another: `(child, merge event id, merge seq)`.
pub(crate) type MergeRef = (String, String, u64);

/// The views' own record of how far they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViewsMeta {
    /// The version of the view tables (`None`: not recorded).
    pub version: Option<i64>,
    /// The last event applied (0: none).
    pub checkpoint_seq: u64,
    /// That event's hash, as the views saw it.
    pub checkpoint_hash: String,
}

/// An incident as the summary and the human timeline need it: the reconciled columns of
/// its view row under the default policy, read without parsing its state (each range with
/// its `coded` flag, `view_incidents.killed_coded` and `wounded_coded`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ViewRow {
    pub incident: String,
    pub date: String,
    pub date_start: chrono::NaiveDate,
    pub province: String,
    pub category: String,
    pub killed: Range,
    pub wounded: Range,
    pub sources: u64,
    pub disputed: bool,
    /// The best figures follow an adjudication in force (`view_incidents.adjudicated`).
    pub adjudicated: bool,
}

/// What a reader of the views at a point asks of each incident's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewColumns {
    /// The whole state, as JSON text.
    State,
    /// The reconciled columns ([`ViewRow`]).
    Row,
}

/// One incident's stored view, as read for a point: the last event that touched it and,
/// when it is in view, what was asked of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredView {
    pub incident: String,
    pub last_seq: u64,
    pub content: Option<ViewContent>,
}

/// The content of a stored view row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ViewContent {
    State(String),
    Row(ViewRow),
}

/// One incident's entry in the views: its first and last touching events and its stored
/// state (`None`: not in view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViewEntry {
    pub first_seq: u64,
    pub last_seq: u64,
    pub state: Option<String>,
}

/// A figure as the view tables keep it: its prose, lower and upper bounds (`None`: open)
/// and point value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FigureColumns {
    pub prose: Option<String>,
    pub low: Option<u64>,
    pub high: Option<u64>,
    pub point: Option<u64>,
}

/// The row of `view_incidents`. Rows borrow the text of the state they are made from, so
/// writing them copies nothing that is not computed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IncidentRow<'a> {
    pub incident: &'a str,
    pub date: String,
    pub date_start: String,
    pub date_end: String,
    pub date_precision: &'static str,
    pub country: Option<&'a str>,
    pub province: &'a str,
    pub district: Option<&'a str>,
    pub locality: Option<&'a str>,
    pub category: &'a str,
    pub target: Option<&'a str>,
    pub perpetrator: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub killed: Range,
    pub wounded: Range,
    pub attackers_killed: Range,
    pub disputed: bool,
    pub sources: u64,
    pub merged_from: String,
    pub last_seq: u64,
    pub state: String,
    /// An adjudication is in force: the reconciled bests follow it where it decides them.
    pub adjudicated: bool,
}

/// A row of `view_source_figures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceRow<'a> {
    pub source: &'a str,
    pub published: Option<String>,
    pub killed: FigureColumns,
    pub wounded: FigureColumns,
    pub attackers_killed: FigureColumns,
    pub note: Option<&'a str>,
    pub citation: Option<&'a str>,
    pub event_seq: u64,
    pub event_id: &'a str,
    pub corrected: bool,
    pub reports: u64,
    pub corrections: u64,
    pub alone: bool,
    pub disagrees: bool,
}

/// A row of `view_responsibility`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponsibilityRow<'a> {
    pub event_seq: u64,
    pub actor: &'a str,
    pub stance: &'static str,
    pub source: &'a str,
    pub published: Option<String>,
}

/// Every view row of one incident in view.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IncidentRows<'a> {
    pub incident: IncidentRow<'a>,
    pub sources: Vec<SourceRow<'a>>,
    pub responsibility: Vec<ResponsibilityRow<'a>>,
}

/// Reads of the log and the views.
pub(crate) trait Reads {
    /// Where the log is, for messages.
    fn location(&self) -> &Path;

    /// The last event, or `None` for an empty log.
    fn head(&self) -> Result<Option<Head>>;

    /// The last sequence number recorded at or before `recorded_at` (0: none).
    fn last_seq_recorded_by(&self, recorded_at: &str) -> Result<u64>;

    /// When event `seq` was recorded.
    fn recorded_at(&self, seq: u64) -> Result<Option<String>>;

    /// The hash of event `seq`.
    fn hash_at(&self, seq: u64) -> Result<Option<String>>;

    /// The events matching `filter`, in sequence order, one at a time.
    fn scan(
        &self,
        filter: &EventFilter,
        each: &mut dyn FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()>;

    /// The event with this id.
    fn event_by_id(&self, id: &str) -> Result<Option<RecordedEvent>>;

    /// The batch record with this id.
    fn batch(&self, id: &str) -> Result<Option<Batch>>;

    /// The events of `incident`'s stream up to `upto`, in sequence order.
    fn stream(
        &self,
        incident: &str,
        upto: u64,
        each: &mut dyn FnMut(StreamRow<'_>) -> Result<()>,
    ) -> Result<()>;

    /// The merges into `into` up to `upto`, in sequence order.
    fn merges_into(&self, into: &str, upto: u64) -> Result<Vec<MergeRef>>;

    /// [`Reads::stream`] for several incidents at once: the events of each of `incidents`'
    /// streams up to `upto`, with their incident, each stream in sequence order. A backend
    /// where a query is a round trip to a server reads them in one; the default reads them
    /// one stream at a time.
    fn streams(
        &self,
        incidents: &[&str],
        upto: u64,
        each: &mut dyn FnMut(&str, StreamRow<'_>) -> Result<()>,
    ) -> Result<()> {
        for incident in incidents {
            self.stream(incident, upto, &mut |row| each(incident, row))?;
        }
        Ok(())
    }

    /// [`Reads::merges_into`] for several incidents at once: `(into, merge)` pairs, in
    /// sequence order for each `into`.
    fn merges_into_each(&self, into: &[&str], upto: u64) -> Result<Vec<(String, MergeRef)>> {
        let mut out = Vec::new();
        for i in into {
            out.extend(
                self.merges_into(i, upto)?
                    .into_iter()
                    .map(|m| ((*i).to_string(), m)),
            );
        }
        Ok(out)
    }

    /// Which of `ids` are ids of events in the log (in no particular order).
    fn present_ids(&self, ids: &[&str]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for id in ids {
            if self.event_by_id(id)?.is_some() {
                out.push((*id).to_string());
            }
        }
        Ok(out)
    }

    /// The incidents opened by a first report whose event id starts with `prefix`, in
    /// sequence order (an importer's incidents).
    fn opened_with_id_prefix(&self, prefix: &str) -> Result<Vec<String>>;

    /// The views' meta data; `None` when the view tables do not exist.
    fn views_meta(&self) -> Result<Option<ViewsMeta>>;

    /// The stored views for a point after event `seq`: at the head (`at_head`), every
    /// incident in view; before it, every incident first touched by `seq`.
    fn views_at(
        &self,
        seq: u64,
        at_head: bool,
        columns: ViewColumns,
        each: &mut dyn FnMut(StoredView) -> Result<()>,
    ) -> Result<()>;

    /// One incident's entry in the views.
    fn view_entry(&self, incident: &str) -> Result<Option<ViewEntry>>;

    /// How many hashes of the Merkle tree are stored (they are indexes `0..count`; see
    /// [`crate::record::merkle`]); 0 when the log has none (a read-only log written before
    /// the tree was kept).
    fn tree_hash_count(&self) -> Result<u64>;

    /// The stored tree hashes at `indexes`, in that order; a missing one is an error.
    fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>>;

    /// The stored tree hashes with indexes in `from..to`, in index order, as stored (their
    /// length unchecked: `verify` reports a bad one).
    fn tree_hash_range(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()>;
}

/// One write transaction: holds the log's write lock until it commits or is dropped (which
/// rolls it back).
pub(crate) trait Writes: Reads {
    /// Inserts an event; the backend refuses one that does not continue the sequence.
    fn insert_event(&self, event: &RecordedEvent) -> Result<()>;

    /// Inserts a batch record (before its first event).
    fn insert_batch(&self, batch: &Batch) -> Result<()>;

    /// Erases the payload (and salt) of event `id`, which redaction event `redaction`
    /// (already inserted) redacts. The backend refuses any other change to an event.
    fn erase_payload(&self, id: &str, redaction: &str) -> Result<()>;

    /// Drops the view tables and makes them anew, empty, at views version `version`.
    fn reset_views(&self, version: i64) -> Result<()>;

    /// Makes the view tables' secondary indexes (after a rebuild has filled them).
    fn index_views(&self) -> Result<()>;

    /// Replaces `incident`'s view rows with `rows` (`None`: not in view) and records its
    /// touches: `first` if it has none yet, and `last`.
    fn write_view(
        &self,
        incident: &str,
        first: u64,
        last: u64,
        rows: Option<&IncidentRows<'_>>,
    ) -> Result<()>;

    /// Moves the views' checkpoint to event `seq` with hash `hash`.
    fn set_views_checkpoint(&self, seq: u64, hash: &str) -> Result<()>;

    /// Stores the tree hashes `hashes` at the indexes from `first` on.
    fn insert_tree_hashes(&self, first: u64, hashes: &[Hash]) -> Result<()>;

    /// Removes every stored tree hash (before the tree is made anew).
    fn reset_tree(&self) -> Result<()>;

    /// Commits everything written.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// An open backend.
pub(crate) trait Store: Reads + std::fmt::Debug {
    /// Starts a write transaction, waiting for other writers.
    fn write(&mut self) -> Result<Box<dyn Writes + '_>>;

    /// Whether this store can only be read (a log on a read-only medium).
    fn is_read_only(&self) -> Result<bool>;

    /// The append-only guards (triggers) that are missing or altered, by name: `verify`
    /// reports them.
    fn broken_guards(&self) -> Result<Vec<&'static str>>;

    /// Removes from the storage (SQLite: the file and its journal; PostgreSQL: the table
    /// files, by `VACUUM FULL`) the bytes that erased payloads left behind in freed space,
    /// after a redaction committed. Needs no other process to hold the log open.
    fn purge_erased(&mut self) -> Result<()>;

    /// How [`Store::purge_erased`] purges, for messages.
    fn purge_kind(&self) -> Purge;

    /// Gives a database role the rights `access` needs on this log (`chronicle grant`); a
    /// backend without roles refuses.
    fn grant(&mut self, role: &str, access: Access) -> Result<()>;
}
