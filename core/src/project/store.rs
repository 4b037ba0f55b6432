//! The materialized views: their tables, their incremental maintenance inside each append
//! transaction, catch-up from the checkpoint, rebuild, and reading the states at a point.
//!
//! Every event *touches* the incidents it can change: the *root* of its stream (the incident it
//! is shown under, following merges in force) before and after the event. A write transaction
//! collects the roots its events touch and, in batches, recomputes each one once with
//! [`fold_group`] from the events of its member streams (cached, never the whole log) and
//! writes it to the current-view tables, with the first and the last event that touched it
//! (`view_incident_ids`).
//!
//! No past state is stored. A view at an earlier point `n` takes the current state of every
//! incident no event after `n` touched (an incident's state changes only at its touches), and
//! recomputes the few that were touched after `n` from their events up to `n`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::event::Payload;
use crate::log::{sqlite_err, RecordedEvent};
use crate::project::fold::{fold_group, Ev, IncidentState, Measure};
use crate::project::reconcile::{self, BestPolicy};

/// The version of the view tables. Changing the tables or what the fold computes bumps it:
/// a log whose views carry another version is rebuilt when opened.
pub const VIEWS_VERSION: i64 = 2;

/// The view tables, created together; see `PROJECTIONS.md`.
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
    wounded_low INTEGER, wounded_best INTEGER, wounded_high INTEGER, wounded_open_high INTEGER NOT NULL,
    attackers_killed_low INTEGER, attackers_killed_best INTEGER, attackers_killed_high INTEGER,
    attackers_killed_open_high INTEGER NOT NULL,
    disputed INTEGER NOT NULL,
    sources INTEGER NOT NULL,
    merged_from TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    state TEXT NOT NULL
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
DROP TABLE IF EXISTS view_source_figures;
DROP TABLE IF EXISTS view_incidents;
DROP TABLE IF EXISTS view_incident_ids;
DROP TABLE IF EXISTS incident_states; -- views version 1 kept a state per version here
DROP TABLE IF EXISTS views_meta;
"#;

/// How the views stand against the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// Up to date.
    Current,
    /// Correct up to this sequence number; the log goes further.
    Behind(u64),
    /// Missing, of another version, or not matching the log: rebuild.
    Rebuild,
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM views_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

pub(crate) fn status(conn: &Connection) -> rusqlite::Result<Status> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'views_meta')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Status::Rebuild);
    }
    if meta(conn, "views_version")?.and_then(|v| v.parse::<i64>().ok()) != Some(VIEWS_VERSION) {
        return Ok(Status::Rebuild);
    }
    let seq: u64 = meta(conn, "checkpoint_seq")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let hash = meta(conn, "checkpoint_hash")?.unwrap_or_default();
    if seq > 0 {
        let stored: Option<String> = conn
            .query_row("SELECT hash FROM events WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()?;
        if stored.as_deref() != Some(hash.as_str()) {
            return Ok(Status::Rebuild);
        }
    }
    let head: u64 = conn.query_row("SELECT IFNULL(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
    Ok(if head > seq {
        Status::Behind(seq)
    } else {
        Status::Current
    })
}

/// The views' checkpoint: the last sequence number applied (0: none).
pub(crate) fn checkpoint(conn: &Connection) -> rusqlite::Result<u64> {
    Ok(meta(conn, "checkpoint_seq")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Brings the views up to date when they are not, in their own write transaction. Called when
/// a log is opened; a log whose views are current is not written to.
pub(crate) fn ensure(conn: &Connection, path: &Path) -> Result<()> {
    let err = sqlite_err(path);
    if status(conn).map_err(&err)? == Status::Current {
        return Ok(());
    }
    if conn.is_readonly(rusqlite::MAIN_DB).map_err(&err)? {
        // A read-only log still opens for `log` and `verify`; view queries refuse
        // (see `require_current`).
        return Ok(());
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(&err)?;
    catch_up(&tx, path)?;
    tx.commit().map_err(&err)
}

/// Refuses to answer from views that are not up to date (only a read-only log whose views
/// are behind can be open with such views).
pub(crate) fn require_current(conn: &Connection, path: &Path) -> Result<()> {
    if status(conn).map_err(sqlite_err(path))? == Status::Current {
        return Ok(());
    }
    Err(crate::error::Invalid::new(
        "--db",
        path.display(),
        "the views of this read-only log are behind the log (an older chronicle wrote it); copy the log somewhere writable and run the command there, which brings them up to date",
    )
    .into())
}

/// Inside a write transaction: catches the views up from their checkpoint, or rebuilds them
/// when they are missing, of another version or do not match the log.
pub(crate) fn catch_up(conn: &Connection, path: &Path) -> Result<()> {
    match status(conn).map_err(sqlite_err(path))? {
        Status::Current => Ok(()),
        Status::Behind(seq) => replay(conn, path, seq).map(|_| ()),
        Status::Rebuild => rebuild(conn, path).map(|_| ()),
    }
}

/// Inside a write transaction: drops the view tables and replays the whole log. Returns the
/// number of events replayed.
pub(crate) fn rebuild(conn: &Connection, path: &Path) -> Result<u64> {
    rebuild_with(conn, path, None)
}

/// [`rebuild`], reporting progress (events replayed so far) every [`PROGRESS_EVERY`] events.
pub(crate) fn rebuild_with(
    conn: &Connection,
    path: &Path,
    progress: Option<&dyn Fn(u64)>,
) -> Result<u64> {
    let err = sqlite_err(path);
    conn.execute_batch(DROP).map_err(&err)?;
    conn.execute_batch(CREATE).map_err(&err)?;
    conn.execute(
        "INSERT INTO views_meta (key, value) VALUES ('views_version', ?1), ('checkpoint_seq', '0'), ('checkpoint_hash', '')",
        [VIEWS_VERSION.to_string()],
    )
    .map_err(&err)?;
    let n = replay_with(conn, path, 0, progress)?;
    conn.execute_batch(CREATE_INDEXES).map_err(&err)?;
    Ok(n)
}

impl crate::log::EventLog {
    /// Drops the view tables and replays the whole log in one transaction, like
    /// `rebuild_views`, calling `progress` with the number of events replayed so far every
    /// few thousand events and at the end. Returns how many events were replayed.
    pub fn rebuild_views_with_progress(&mut self, progress: &dyn Fn(u64)) -> Result<u64> {
        let err = self.sqlite_err();
        let tx = Transaction::new_unchecked(self.connection(), TransactionBehavior::Immediate)
            .map_err(&err)?;
        let n = rebuild_with(&tx, self.path(), Some(progress))?;
        tx.commit().map_err(&err)?;
        Ok(n)
    }
}

/// Applies every event after `after`, streaming them in sequence order.
fn replay(conn: &Connection, path: &Path, after: u64) -> Result<u64> {
    replay_with(conn, path, after, None)
}

/// [`replay`], calling `progress` with the number of events applied so far every
/// [`PROGRESS_EVERY`] events.
pub(crate) fn replay_with(
    conn: &Connection,
    path: &Path,
    after: u64,
    progress: Option<&dyn Fn(u64)>,
) -> Result<u64> {
    let err = sqlite_err(path);
    let mut stmt = conn
        .prepare(
            "SELECT seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash
             FROM events WHERE seq > ?1 ORDER BY seq",
        )
        .map_err(&err)?;
    let mut rows = stmt.query([after]).map_err(&err)?;
    let mut cache = Cache::new(after);
    let mut n = 0;
    while let Some(row) = rows.next().map_err(&err)? {
        let event = RecordedEvent {
            seq: row.get(0).map_err(&err)?,
            id: row.get(1).map_err(&err)?,
            incident: row.get(2).map_err(&err)?,
            version: row.get(3).map_err(&err)?,
            kind: row.get(4).map_err(&err)?,
            payload: row.get(5).map_err(&err)?,
            schema_version: row.get(6).map_err(&err)?,
            recorded_at: row.get(7).map_err(&err)?,
            recorded_by: row.get(8).map_err(&err)?,
            hash: row.get(9).map_err(&err)?,
        };
        // An event whose payload does not parse (only a tampered log has one) is left out
        // of the views; `chronicle verify` reports it.
        let payload = event.payload().ok();
        apply(conn, path, &mut cache, &event, payload.as_ref())?;
        n += 1;
        if let Some(progress) = progress {
            if n % PROGRESS_EVERY == 0 {
                progress(n);
            }
        }
    }
    cache.flush(conn, path)?;
    if let Some(progress) = progress {
        progress(n);
    }
    Ok(n)
}

/// How often (in events) long operations report progress.
pub const PROGRESS_EVERY: u64 = 4096;

/// Updates the views for one appended event (inside the append's transaction), through the
/// transaction's [`Cache`]: the event is added to its cached stream and the roots it touches
/// are marked; the cache recomputes and writes them when it is flushed (every
/// [`FLUSH_EVERY`] events and before the transaction commits).
pub(crate) fn apply(
    conn: &Connection,
    path: &Path,
    cache: &mut Cache,
    event: &RecordedEvent,
    payload: Option<&Payload>,
) -> Result<()> {
    let err = sqlite_err(path);
    cache.record(conn, event, payload).map_err(&err)?;
    if let Some(payload) = payload {
        for root in cache
            .touched_by(conn, &event.incident, event.seq, payload)
            .map_err(&err)?
        {
            cache.touch(root, event.seq);
        }
    }
    cache.checkpoint = Some((event.seq, event.hash.clone()));
    cache.pending += 1;
    if cache.pending >= FLUSH_EVERY {
        cache.flush(conn, path)?;
    }
    Ok(())
}

/// Events applied between two writes of the touched incidents.
const FLUSH_EVERY: usize = 4096;
/// Cached events kept before the stream cache is emptied (it reloads what it needs).
const CACHE_EVENTS: usize = 50_000;

/// One stream as of the cache's horizon.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// The stream's version (its number of events).
    pub version: u64,
    /// Its first event.
    pub first_seq: Option<u64>,
    /// Its events whose payloads parse, in sequence order.
    pub events: Vec<Ev>,
}

impl Stream {
    /// The retraction (its seq) of event `id` up to `seq`, if any. Retractions live in the
    /// stream of the event they retract.
    pub fn retraction_of(&self, id: &str, seq: u64) -> Option<u64> {
        self.events.iter().find_map(|e| match &e.payload {
            Payload::EventRetracted(r) if r.event == id && e.seq <= seq => Some(e.seq),
            _ => None,
        })
    }

    /// The merge in force after event `seq`: the latest merge in the stream that no
    /// retraction undoes.
    pub fn merge_in_force(&self, seq: u64) -> Option<&str> {
        self.events.iter().rev().find_map(|e| match &e.payload {
            Payload::IncidentMerged(m)
                if e.seq <= seq && self.retraction_of(&e.id, seq).is_none() =>
            {
                Some(m.into.as_str())
            }
            _ => None,
        })
    }

    fn upto(&self, seq: u64) -> &[Ev] {
        &self.events[..self.events.partition_point(|e| e.seq <= seq)]
    }
}

/// A merge of stream `child` into another: `(child, merge event id, merge seq)`.
pub(crate) type MergeRef = (String, String, u64);

/// The events of a batch that touched one root: the first and the last.
#[derive(Debug, Clone, Copy)]
struct Touch {
    first: u64,
    last: u64,
}

/// The state one transaction keeps between appends or reads: the streams it has read (as of
/// `horizon`, the last event it has seen; every later event is added as it is appended), the
/// merges into each incident, and the roots touched since the last flush. It is only valid
/// inside one transaction: another process may append between two transactions.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    horizon: u64,
    streams: HashMap<String, Stream>,
    merges_into: HashMap<String, Vec<MergeRef>>,
    cached_events: usize,
    touched: HashMap<String, Touch>,
    pending: usize,
    checkpoint: Option<(u64, String)>,
}

impl Cache {
    /// An empty cache for a transaction whose log ends at `horizon`.
    pub fn new(horizon: u64) -> Self {
        Cache {
            horizon,
            ..Cache::default()
        }
    }

    /// The stream of `incident`, read from the log the first time.
    pub fn stream(&mut self, conn: &Connection, incident: &str) -> rusqlite::Result<&Stream> {
        if !self.streams.contains_key(incident) {
            let stream = load_stream(conn, incident, self.horizon)?;
            self.cached_events += stream.events.len();
            self.streams.insert(incident.to_string(), stream);
        }
        self.streams
            .get(incident)
            .ok_or(rusqlite::Error::QueryReturnedNoRows)
    }

    /// The merges into `incident`, in sequence order.
    pub fn merges_into(
        &mut self,
        conn: &Connection,
        incident: &str,
    ) -> rusqlite::Result<&[MergeRef]> {
        if !self.merges_into.contains_key(incident) {
            let mut stmt = conn.prepare_cached(
                "SELECT incident, id, seq FROM events WHERE kind = 'incident_merged'
                 AND json_extract(payload, '$.into') = ?1 AND seq <= ?2 ORDER BY seq",
            )?;
            let merges = stmt
                .query_map(params![incident, self.horizon], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<Vec<MergeRef>>>()?;
            self.merges_into.insert(incident.to_string(), merges);
        }
        Ok(self
            .merges_into
            .get(incident)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    /// Empties the stream cache once it holds more than [`CACHE_EVENTS`] events (what is needed
    /// again is reloaded), so memory stays bounded whatever the size of the log.
    fn trim(&mut self) {
        if self.cached_events > CACHE_EVENTS {
            self.streams.clear();
            self.merges_into.clear();
            self.cached_events = 0;
        }
    }

    /// Adds an appended event to the streams and merges already cached.
    fn record(
        &mut self,
        conn: &Connection,
        event: &RecordedEvent,
        payload: Option<&Payload>,
    ) -> rusqlite::Result<()> {
        self.trim();
        // Read the stream as it was before this event (a replay reads a log that goes further).
        self.horizon = event.seq - 1;
        self.stream(conn, &event.incident)?;
        if let Some(Payload::IncidentMerged(m)) = payload {
            self.merges_into(conn, &m.into)?;
            if let Some(list) = self.merges_into.get_mut(&m.into) {
                list.push((event.incident.clone(), event.id.clone(), event.seq));
            }
        }
        self.horizon = event.seq;
        if let Some(stream) = self.streams.get_mut(&event.incident) {
            stream.version = event.version;
            stream.first_seq.get_or_insert(event.seq);
            if let Some(payload) = payload {
                stream.events.push(Ev {
                    seq: event.seq,
                    id: event.id.clone(),
                    incident: event.incident.clone(),
                    recorded_at: event.recorded_at.clone(),
                    payload: payload.clone(),
                });
                self.cached_events += 1;
            }
        }
        Ok(())
    }

    /// The merge in force of stream `incident` after event `seq`.
    fn merge_in_force(
        &mut self,
        conn: &Connection,
        incident: &str,
        seq: u64,
    ) -> rusqlite::Result<Option<String>> {
        Ok(self
            .stream(conn, incident)?
            .merge_in_force(seq)
            .map(str::to_string))
    }

    /// The incident stream `incident` is shown under after event `seq` (see [`root_at`]).
    pub fn root_at(
        &mut self,
        conn: &Connection,
        incident: &str,
        seq: u64,
    ) -> rusqlite::Result<String> {
        let mut seen = vec![incident.to_string()];
        while let Some(cur) = seen.last() {
            match self.merge_in_force(conn, cur, seq)? {
                Some(into) if !seen.contains(&into) => seen.push(into),
                _ => break,
            }
        }
        Ok(seen.pop().unwrap_or_else(|| incident.to_string()))
    }

    /// `root` and every stream whose merges in force lead to it, after event `seq`.
    fn members(
        &mut self,
        conn: &Connection,
        root: &str,
        seq: u64,
    ) -> rusqlite::Result<Vec<String>> {
        self.merged_into(conn, root, seq, true)
    }

    /// `root` and the streams merged into it, directly or through others, by merges up to
    /// `seq`: only the merges still in force after `seq` when `in_force`, every merge
    /// otherwise.
    fn merged_into(
        &mut self,
        conn: &Connection,
        root: &str,
        seq: u64,
        in_force: bool,
    ) -> rusqlite::Result<Vec<String>> {
        let mut all = vec![root.to_string()];
        let mut i = 0;
        while i < all.len() {
            let candidates: Vec<String> = self
                .merges_into(conn, &all[i])?
                .iter()
                .filter(|(_, _, s)| *s <= seq)
                .map(|(c, _, _)| c.clone())
                .collect();
            for c in candidates {
                if !all.contains(&c)
                    && (!in_force
                        || self.merge_in_force(conn, &c, seq)?.as_deref() == Some(all[i].as_str()))
                {
                    all.push(c);
                }
            }
            i += 1;
        }
        Ok(all)
    }

    /// The state of `root` after event `seq` (see [`compute`]), from the cached streams,
    /// labelled as made by event `label` (see [`IncidentState::last_seq`]).
    fn compute(
        &mut self,
        conn: &Connection,
        root: &str,
        seq: u64,
        label: u64,
    ) -> rusqlite::Result<Option<IncidentState>> {
        self.compute_known(conn, root, seq, None, label)
    }

    /// [`Cache::compute`] keeping only what was published by `known_by` (see [`fold_group`]).
    pub fn compute_known(
        &mut self,
        conn: &Connection,
        root: &str,
        seq: u64,
        known_by: Option<DateTime<Utc>>,
        label: u64,
    ) -> rusqlite::Result<Option<IncidentState>> {
        self.trim();
        if self.root_at(conn, root, seq)? != root {
            return Ok(None);
        }
        let members = self.members(conn, root, seq)?;
        if let [only] = members.as_slice() {
            let events = self.stream(conn, only)?.upto(seq);
            return Ok(fold_group(root, &members, events, known_by, label));
        }
        let mut events = Vec::new();
        for m in &members {
            events.extend(self.stream(conn, m)?.upto(seq).iter().cloned());
        }
        events.sort_by_key(|e| e.seq);
        Ok(fold_group(root, &members, &events, known_by, label))
    }

    /// The roots event `event` touches: the root of its stream after it and, for a merge or
    /// a retraction (which can move a stream from one root to another), before it.
    fn touched_by(
        &mut self,
        conn: &Connection,
        incident: &str,
        seq: u64,
        payload: &Payload,
    ) -> rusqlite::Result<Vec<String>> {
        let mut roots = vec![self.root_at(conn, incident, seq)?];
        if matches!(
            payload,
            Payload::IncidentMerged(_) | Payload::EventRetracted(_)
        ) {
            let before = self.root_at(conn, incident, seq - 1)?;
            if !roots.contains(&before) {
                roots.push(before);
            }
        }
        Ok(roots)
    }

    /// The events up to `seq` that touched `root`, in order. They can only be in `root`'s
    /// stream or in a stream that was ever merged, directly or not, into it.
    fn touches(&mut self, conn: &Connection, root: &str, seq: u64) -> rusqlite::Result<Vec<u64>> {
        let streams = self.merged_into(conn, root, seq, false)?;
        let mut candidates: Vec<(u64, String, Payload)> = Vec::new();
        for stream in &streams {
            candidates.extend(
                self.stream(conn, stream)?
                    .upto(seq)
                    .iter()
                    .map(|e| (e.seq, e.incident.clone(), e.payload.clone())),
            );
        }
        candidates.sort_by_key(|c| c.0);
        let mut out = Vec::new();
        for (seq, incident, payload) in candidates {
            if self
                .touched_by(conn, &incident, seq, &payload)?
                .iter()
                .any(|r| r == root)
            {
                out.push(seq);
            }
        }
        Ok(out)
    }

    /// The state of `root` after event `seq`, for a point before the views' checkpoint:
    /// recomputed from its events, labelled with the last event up to `seq` that touched it.
    fn state_before(
        &mut self,
        conn: &Connection,
        root: &str,
        seq: u64,
    ) -> rusqlite::Result<Option<IncidentState>> {
        self.trim();
        match self.touches(conn, root, seq)?.last() {
            Some(&label) => self.compute(conn, root, seq, label),
            None => Ok(None),
        }
    }

    /// Marks `root` as touched by event `seq`.
    fn touch(&mut self, root: String, seq: u64) {
        self.touched
            .entry(root)
            .and_modify(|t| t.last = seq)
            .or_insert(Touch {
                first: seq,
                last: seq,
            });
    }

    /// Recomputes every root touched since the last flush, once each, writes it to the
    /// current-view tables, and writes the checkpoint.
    pub fn flush(&mut self, conn: &Connection, path: &Path) -> Result<()> {
        let err = sqlite_err(path);
        let mut roots: Vec<(String, Touch)> = self.touched.drain().collect();
        roots.sort_by_key(|(_, t)| t.last);
        for (root, touch) in roots {
            // An incident's state changes only at its touches: as of its last touch it is
            // its state as of the end of the batch.
            let state = self
                .compute(conn, &root, touch.last, touch.last)
                .map_err(&err)?;
            #[cfg(debug_assertions)]
            {
                // Debug builds (the tests) check the cache against the indexed reads.
                let direct = compute(conn, path, &root, touch.last, None, touch.last)?;
                debug_assert_eq!(state, direct, "cached view of `{root}` at {}", touch.last);
            }
            write_current(conn, path, &root, touch, state.as_ref())?;
        }
        self.pending = 0;
        if let Some((seq, hash)) = self.checkpoint.take() {
            conn.prepare_cached(
                "UPDATE views_meta SET value = CASE key WHEN 'checkpoint_seq' THEN ?1 ELSE ?2 END
                 WHERE key IN ('checkpoint_seq', 'checkpoint_hash')",
            )
            .and_then(|mut s| s.execute(params![seq.to_string(), hash]))
            .map_err(&err)?;
        }
        Ok(())
    }
}

/// A stored payload, parsed; `None` when it does not parse (only a tampered log has one:
/// `chronicle verify` reports it).
fn parse_payload(kind: &str, text: &str) -> Option<Payload> {
    Payload::from_json_text(kind, text).or_else(|| {
        serde_json::from_str(text)
            .ok()
            .and_then(|v| Payload::from_json(kind, v).ok())
    })
}

/// The stream of `incident` up to event `upto`, from the log.
fn load_stream(conn: &Connection, incident: &str, upto: u64) -> rusqlite::Result<Stream> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, recorded_at, kind, payload, version FROM events
         WHERE incident = ?1 AND seq <= ?2 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![incident, upto])?;
    let mut stream = Stream::default();
    while let Some(r) = rows.next()? {
        let seq: u64 = r.get(0)?;
        let version: u64 = r.get(5)?;
        stream.version = stream.version.max(version);
        stream.first_seq.get_or_insert(seq);
        let kind = r.get_ref(3)?.as_str()?;
        let parsed = parse_payload(kind, r.get_ref(4)?.as_str()?);
        if let Some(payload) = parsed {
            stream.events.push(Ev {
                seq,
                id: r.get(1)?,
                incident: incident.to_string(),
                recorded_at: r.get(2)?,
                payload,
            });
        }
    }
    Ok(stream)
}

/// The merge in force of stream `incident` after event `seq`: the latest merge in its stream
/// that no retraction in its stream undoes.
fn merge_in_force(conn: &Connection, incident: &str, seq: u64) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, json_extract(payload, '$.into') FROM events
         WHERE incident = ?1 AND kind = 'incident_merged' AND seq <= ?2 ORDER BY seq DESC",
    )?;
    let merges = stmt
        .query_map(params![incident, seq], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut retracted = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM events WHERE kind = 'event_retracted'
         AND json_extract(payload, '$.event') = ?1 AND seq <= ?2 AND incident = ?3)",
    )?;
    for (id, into) in merges {
        let Some(into) = into else { continue };
        if !retracted.query_row(params![id, seq, incident], |r| r.get::<_, bool>(0))? {
            return Ok(Some(into));
        }
    }
    Ok(None)
}

/// The incident stream `incident` is shown under after event `seq`: follows merges in force.
pub(crate) fn root_at(conn: &Connection, incident: &str, seq: u64) -> rusqlite::Result<String> {
    let mut seen = vec![incident.to_string()];
    while let Some(cur) = seen.last() {
        match merge_in_force(conn, cur, seq)? {
            Some(into) if !seen.contains(&into) => seen.push(into),
            _ => break,
        }
    }
    Ok(seen.pop().unwrap_or_else(|| incident.to_string()))
}

/// `root` and every stream whose merges in force lead to it, after event `seq`.
fn members(conn: &Connection, root: &str, seq: u64) -> rusqlite::Result<Vec<String>> {
    let mut all = vec![root.to_string()];
    let mut seen: HashSet<String> = all.iter().cloned().collect();
    let mut i = 0;
    while i < all.len() {
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT incident FROM events WHERE kind = 'incident_merged'
             AND json_extract(payload, '$.into') = ?1 AND seq <= ?2",
        )?;
        let candidates = stmt
            .query_map(params![all[i], seq], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for c in candidates {
            if !seen.contains(&c) && merge_in_force(conn, &c, seq)?.as_deref() == Some(&all[i]) {
                seen.insert(c.clone());
                all.push(c);
            }
        }
        i += 1;
    }
    Ok(all)
}

/// The events of `members` up to `seq`, parsed, in sequence order.
fn member_events(conn: &Connection, members: &[String], seq: u64) -> rusqlite::Result<Vec<Ev>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, incident, recorded_at, kind, payload FROM events
         WHERE incident = ?1 AND seq <= ?2 ORDER BY seq",
    )?;
    for m in members {
        let rows = stmt.query_map(params![m, seq], |r| {
            Ok((
                r.get::<_, u64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (seq, id, incident, recorded_at, kind, payload) = row?;
            let parsed = parse_payload(&kind, &payload);
            if let Some(payload) = parsed {
                out.push(Ev {
                    seq,
                    id,
                    incident,
                    recorded_at,
                    payload,
                });
            }
        }
    }
    out.sort_by_key(|e| e.seq);
    Ok(out)
}

/// The state of `root` after event `seq`, recomputed from its member streams.
pub(crate) fn compute(
    conn: &Connection,
    path: &Path,
    root: &str,
    seq: u64,
    known_by: Option<DateTime<Utc>>,
    last_seq: u64,
) -> Result<Option<IncidentState>> {
    let err = sqlite_err(path);
    // A stream merged into another is shown only as part of it.
    if root_at(conn, root, seq).map_err(&err)? != root {
        return Ok(None);
    }
    let members = members(conn, root, seq).map_err(&err)?;
    let events = member_events(conn, &members, seq).map_err(&err)?;
    Ok(fold_group(root, &members, &events, known_by, last_seq))
}

fn figure_cols(
    f: Option<&crate::figure::Figure>,
) -> (Option<String>, Option<u64>, Option<u64>, Option<u64>) {
    match f {
        None => (None, None, None, None),
        Some(f) => (Some(f.prose()), Some(f.lower()), f.upper(), Some(f.point())),
    }
}

/// Writes `root`'s touches of a batch and replaces its current-view rows with `state`
/// (`None`: not in view).
fn write_current(
    conn: &Connection,
    path: &Path,
    root: &str,
    touch: Touch,
    state: Option<&IncidentState>,
) -> Result<()> {
    let err = sqlite_err(path);
    let known: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM view_incident_ids WHERE incident = ?1)")
        .and_then(|mut s| s.query_row([root], |r| r.get(0)))
        .map_err(&err)?;
    if known {
        // Touched in an earlier batch: it may have rows to replace.
        conn.prepare_cached("UPDATE view_incident_ids SET last_seq = ?2 WHERE incident = ?1")
            .and_then(|mut s| s.execute(params![root, touch.last]))
            .map_err(&err)?;
        for table in [
            "view_incidents",
            "view_source_figures",
            "view_responsibility",
        ] {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE incident = ?1"))
                .and_then(|mut s| s.execute([root]))
                .map_err(&err)?;
        }
    } else {
        conn.prepare_cached(
            "INSERT INTO view_incident_ids (incident, first_seq, last_seq) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![root, touch.first, touch.last]))
        .map_err(&err)?;
    }
    let Some(state) = state else {
        return Ok(());
    };
    let json = serde_json::to_string(state).map_err(|e| Error::Corrupt {
        seq: touch.last,
        problem: format!("the view state of `{root}` does not serialize: {e}"),
    })?;
    let d = &state.details;
    let policy = BestPolicy::Median;
    let [killed, wounded, attackers_killed] =
        Measure::ALL.map(|m| reconcile::range(&state.sources, m, &policy));
    let merged = serde_json::to_string(&state.merged_from).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT INTO view_incidents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
         ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)",
    )
    .and_then(|mut s| {
        s.execute(params![
            state.incident,
            d.date.to_string(),
            d.date.start.format("%Y-%m-%d").to_string(),
            d.date.end.format("%Y-%m-%d").to_string(),
            d.date.precision.as_str(),
            d.country,
            d.province,
            d.district,
            d.locality,
            d.category,
            d.target,
            d.perpetrator,
            d.summary,
            killed.low,
            killed.best,
            killed.high,
            killed.open_high,
            wounded.low,
            wounded.best,
            wounded.high,
            wounded.open_high,
            attackers_killed.low,
            attackers_killed.best,
            attackers_killed.high,
            attackers_killed.open_high,
            reconcile::disputed(state),
            state.sources.len() as u64,
            merged,
            state.last_seq,
            json,
        ])
    })
    .map_err(&err)?;
    let mut insert_source = conn
        .prepare_cached(
            "INSERT INTO view_source_figures VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
             ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        )
        .map_err(&err)?;
    for s in &state.sources {
        let k = figure_cols(s.figure(Measure::Killed));
        let w = figure_cols(s.figure(Measure::Wounded));
        let a = figure_cols(s.figure(Measure::AttackersKilled));
        insert_source
            .execute(params![
                root,
                s.source,
                s.published.map(|p| p.to_string()),
                k.0,
                k.1,
                k.2,
                k.3,
                w.0,
                w.1,
                w.2,
                w.3,
                a.0,
                a.1,
                a.2,
                a.3,
                s.note,
                s.citation,
                s.event_seq,
                s.event_id,
                s.corrected,
                s.reports,
                s.corrections,
                reconcile::stands_alone(state, &s.source),
                reconcile::disagrees(state, &s.source),
            ])
            .map_err(&err)?;
    }
    if !state.responsibility.is_empty() {
        let mut insert_claim = conn
            .prepare_cached("INSERT INTO view_responsibility VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(&err)?;
        for r in &state.responsibility {
            insert_claim
                .execute(params![
                    root,
                    r.event_seq,
                    r.actor,
                    r.stance.as_str(),
                    r.source,
                    r.published.map(|p| p.to_string()),
                ])
                .map_err(&err)?;
        }
    }
    Ok(())
}

fn parse_state(json: &str, seq: u64) -> Result<IncidentState> {
    serde_json::from_str(json).map_err(|e| Error::Corrupt {
        seq,
        problem: format!("a stored view state does not parse ({e}); run `chronicle rebuild`"),
    })
}

/// Every incident's state after event `seq` (the current states when `seq` is the views'
/// checkpoint). Before the checkpoint: the current state of every incident touched by then
/// and not since, and the others (touched after `seq`, usually few) recomputed from their
/// events up to `seq`.
pub(crate) fn states_at(conn: &Connection, path: &Path, seq: u64) -> Result<Vec<IncidentState>> {
    at_point(
        conn,
        path,
        seq,
        "v.state",
        |r, last| {
            let json = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
            Ok(parse_state(json, last))
        },
        |state| state,
    )
}

/// What the incidents in view after event `seq` are, as `T`: `read` makes one from a row of
/// `view_incidents` whose first two columns are the incident and its last touch, then
/// `columns`, for the incidents not touched after `seq`; `of_state` makes one from the state
/// recomputed for the others.
fn at_point<T>(
    conn: &Connection,
    path: &Path,
    seq: u64,
    columns: &str,
    read: impl Fn(&rusqlite::Row<'_>, u64) -> rusqlite::Result<Result<T>>,
    of_state: impl Fn(IncidentState) -> T,
) -> Result<Vec<T>> {
    let err = sqlite_err(path);
    let current = checkpoint(conn).map_err(&err)?;
    let at_head = seq >= current;
    let sql = if at_head {
        // At the head every incident in view is current: no need for the touches.
        format!("SELECT v.incident, v.last_seq, {columns} FROM view_incidents v")
    } else {
        format!(
            "SELECT i.incident, i.last_seq, {columns}
             FROM view_incident_ids i LEFT JOIN view_incidents v ON v.incident = i.incident
             WHERE i.first_seq <= ?1"
        )
    };
    let mut stmt = conn.prepare(&sql).map_err(&err)?;
    let mut rows = if at_head {
        stmt.query([])
    } else {
        stmt.query([seq])
    }
    .map_err(&err)?;
    let mut out = Vec::new();
    let mut later = Vec::new();
    while let Some(r) = rows.next().map_err(&err)? {
        let last: u64 = r.get(1).map_err(&err)?;
        if last > seq {
            later.push(r.get::<_, String>(0).map_err(&err)?);
        } else if r.get_ref(2).map_err(&err)? != rusqlite::types::ValueRef::Null {
            // (NULL: not in view, or no longer.)
            out.push(read(r, last).map_err(&err)??);
        }
    }
    let mut cache = Cache::new(current);
    for incident in later {
        if let Some(state) = cache.state_before(conn, &incident, seq).map_err(&err)? {
            out.push(of_state(state));
        }
    }
    Ok(out)
}

/// One incident's state after event `seq`, if it was in view then.
pub(crate) fn state_of(
    conn: &Connection,
    path: &Path,
    incident: &str,
    seq: u64,
) -> Result<Option<IncidentState>> {
    let err = sqlite_err(path);
    let row: Option<(u64, u64, Option<String>)> = conn
        .query_row(
            "SELECT i.first_seq, i.last_seq, v.state FROM view_incident_ids i
             LEFT JOIN view_incidents v ON v.incident = i.incident
             WHERE i.incident = ?1",
            [incident],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(&err)?;
    match row {
        Some((first, _, _)) if first > seq => Ok(None),
        Some((_, last, json)) if last <= seq => {
            json.map(|json| parse_state(&json, last)).transpose()
        }
        Some(_) => {
            let current = checkpoint(conn).map_err(&err)?;
            Cache::new(current)
                .state_before(conn, incident, seq)
                .map_err(&err)
        }
        None => Ok(None),
    }
}

/// Every state of one incident, in order: `(seq, state)` for each event that touched it,
/// `None` while it was not in view (from its first appearance; consecutive absences
/// collapsed).
pub(crate) fn versions(
    conn: &Connection,
    path: &Path,
    incident: &str,
) -> Result<Vec<(u64, Option<IncidentState>)>> {
    let err = sqlite_err(path);
    let head = checkpoint(conn).map_err(&err)?;
    let mut cache = Cache::new(head);
    let mut out: Vec<(u64, Option<IncidentState>)> = Vec::new();
    for seq in cache.touches(conn, incident, head).map_err(&err)? {
        let state = cache.compute(conn, incident, seq, seq).map_err(&err)?;
        let shown_before = out.last().is_some_and(|(_, s)| s.is_some());
        if state.is_some() || shown_before {
            out.push((seq, state));
        }
    }
    Ok(out)
}

/// An incident as the summary and the human timeline need it: its date, place, category,
/// ranges under the default policy, number of sources and whether they disagree (the
/// columns of `view_incidents`, read without parsing the state).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ViewRow {
    pub incident: String,
    pub date: String,
    pub date_start: chrono::NaiveDate,
    pub province: String,
    pub category: String,
    pub killed: crate::project::Range,
    pub wounded: crate::project::Range,
    pub sources: u64,
    pub disputed: bool,
}

impl ViewRow {
    fn of(state: &IncidentState) -> Self {
        ViewRow {
            incident: state.incident.clone(),
            date: state.details.date.to_string(),
            date_start: state.details.date.start,
            province: state.details.province.clone(),
            category: state.details.category.clone(),
            killed: reconcile::range(&state.sources, Measure::Killed, &BestPolicy::Median),
            wounded: reconcile::range(&state.sources, Measure::Wounded, &BestPolicy::Median),
            sources: state.sources.len() as u64,
            disputed: reconcile::disputed(state),
        }
    }
}

/// [`states_at`] as [`ViewRow`]s: the columns of the incidents not touched after `seq`,
/// without parsing their states, and the incidents touched after it recomputed.
pub(crate) fn rows_at(conn: &Connection, path: &Path, seq: u64) -> Result<Vec<ViewRow>> {
    let range = |r: &rusqlite::Row<'_>, at: usize| -> rusqlite::Result<crate::project::Range> {
        Ok(crate::project::Range {
            low: r.get(at)?,
            best: r.get(at + 1)?,
            high: r.get(at + 2)?,
            open_high: r.get(at + 3)?,
        })
    };
    at_point(
        conn,
        path,
        seq,
        "v.date, v.date_start, v.province, v.category,
         v.killed_low, v.killed_best, v.killed_high, v.killed_open_high,
         v.wounded_low, v.wounded_best, v.wounded_high, v.wounded_open_high,
         v.sources, v.disputed",
        |r, last| {
            let start: String = r.get(3)?;
            let date_start = match start.parse() {
                Ok(d) => d,
                Err(e) => {
                    return Ok(Err(Error::Corrupt {
                        seq: last,
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
                wounded: range(r, 10)?,
                sources: r.get(14)?,
                disputed: r.get(15)?,
            }))
        },
        |state| ViewRow::of(&state),
    )
}
