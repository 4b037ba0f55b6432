//! Keeping the materialized views: their incremental maintenance inside each append
//! transaction, catch-up from their checkpoint, and rebuild. The rows are written through
//! the store ([`Writes::write_view`]); what they hold is decided here ([`rows_of`]).
//!
//! Every event *touches* the incidents it can change: the *root* of its stream (the incident it
//! is shown under, following merges in force) before and after the event. A write transaction
//! collects the roots its events touch and, in batches, recomputes each one once with
//! [`fold_group`] from the events of its member streams (cached, never the whole log) and
//! writes it to the current-view tables, with the first and the last event that touched it.
//!
//! No past state is stored. A view at an earlier point `n` takes the current state of every
//! incident no event after `n` touched (an incident's state changes only at its touches), and
//! recomputes the few that were touched after `n` from their events up to `n` (see
//! [`super::point`]).

use std::collections::HashSet;

use foldhash::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::event::Payload;
use crate::domain::figure::Figure;
use crate::error::{Error, Invalid, Result};
use crate::record::{EventFilter, RecordedEvent};
use crate::store::{
    FigureColumns, IncidentRow, IncidentRows, Reads, ResponsibilityRow, SourceRow, Store, Writes,
};
use crate::streams::{parse_payload, rewires, Streams};
use crate::views::fold::{fold_group, IncidentState, Measure, Redacted};
use crate::views::reconcile::{self, BestPolicy};

/// The version of the view tables. Changing the tables or what the fold computes bumps it:
/// a log whose views carry another version is rebuilt when opened.
pub const VIEWS_VERSION: i64 = 10;

/// How often (in events) long operations report progress.
pub const PROGRESS_EVERY: u64 = 4096;

/// Events applied between two writes of the touched incidents.
const FLUSH_EVERY: usize = 4096;

/// Events a replay reads ahead, to read their streams in one read of the store.
const READ_AHEAD: usize = 4096;

/// How the views stand against the log.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    /// Up to date.
    Current,
    /// Correct up to this sequence number; the log goes further.
    Behind(u64),
    /// Missing, of another version, or not matching the log: rebuild.
    Rebuild,
}

fn status(db: &(impl Reads + ?Sized)) -> Result<Status> {
    let Some(meta) = db.views_meta()? else {
        return Ok(Status::Rebuild);
    };
    match meta.version {
        Some(found) if found > VIEWS_VERSION => {
            return Err(Error::NewerViews {
                location: db.location().display().to_string(),
                found,
                known: VIEWS_VERSION,
            })
        }
        Some(VIEWS_VERSION) => {}
        _ => return Ok(Status::Rebuild),
    }
    let seq = meta.checkpoint_seq;
    if seq > 0 && db.hash_at(seq)?.as_deref() != Some(meta.checkpoint_hash.as_str()) {
        return Ok(Status::Rebuild);
    }
    let head = db.head()?.map_or(0, |h| h.seq);
    Ok(if head > seq {
        Status::Behind(seq)
    } else {
        Status::Current
    })
}

/// An event of a kind this build does not know, or of a payload schema version newer than
/// it reads, is a newer chronicle's: [`Error::NewerEvent`].
fn refuse_newer(e: &RecordedEvent) -> Result<()> {
    let known = crate::domain::upcast::current_version(&e.kind);
    let known = if !crate::domain::event::KINDS.contains(&e.kind.as_str()) {
        "a kind this chronicle does not know".to_string()
    } else if e.schema_version > known {
        format!("newer than this chronicle reads (up to version {known})")
    } else {
        return Ok(());
    };
    Err(Error::NewerEvent {
        seq: e.seq,
        kind: e.kind.clone(),
        version: e.schema_version,
        known,
    })
}

/// The views' checkpoint: the last sequence number applied (0: none).
pub(crate) fn checkpoint(db: &(impl Reads + ?Sized)) -> Result<u64> {
    Ok(db.views_meta()?.map_or(0, |m| m.checkpoint_seq))
}

/// Brings the views up to date when they are not, in their own write transaction. Called when
/// a log is opened; a log whose views are current is not written to.
pub(crate) fn ensure(store: &mut dyn Store) -> Result<()> {
    if status(store)? == Status::Current {
        return Ok(());
    }
    if store.is_read_only()? {
        // A read-only log still opens for `log` and `verify`; view queries refuse
        // (see `require_current`).
        return Ok(());
    }
    let tx = store.write()?;
    catch_up(&*tx)?;
    tx.commit()
}

/// Refuses to answer from views that are not up to date (only a read-only log whose views
/// are behind can be open with such views).
pub(crate) fn require_current(db: &(impl Reads + ?Sized)) -> Result<()> {
    if status(db)? == Status::Current {
        return Ok(());
    }
    Err(Invalid::new(
        "--db",
        db.location().display(),
        "the views of this read-only log are behind the log (an older chronicle wrote it); copy the log somewhere writable and run the command there, which brings them up to date",
    )
    .into())
}

/// Inside a write transaction: catches the views up from their checkpoint, or rebuilds them
/// when they are missing, of another version or do not match the log.
pub(crate) fn catch_up(tx: &dyn Writes) -> Result<()> {
    match status(tx)? {
        Status::Current => Ok(()),
        Status::Behind(seq) => replay(tx, seq, None, &mut |_| Ok(())).map(|_| ()),
        Status::Rebuild => rebuild(tx, None, &mut |_| Ok(())).map(|_| ()),
    }
}

/// Inside a write transaction: drops the view tables and replays the whole log, calling
/// `progress` (if any) with the number of events replayed so far every [`PROGRESS_EVERY`]
/// events and at the end, and `also` with every event as it is scanned (the tree's repair
/// shares the scan). Returns the number of events replayed.
pub(crate) fn rebuild(
    tx: &dyn Writes,
    progress: Option<&dyn Fn(u64)>,
    also: &mut dyn FnMut(&RecordedEvent) -> Result<()>,
) -> Result<u64> {
    tx.reset_views(VIEWS_VERSION)?;
    let n = replay(tx, 0, progress, also)?;
    tx.index_views()?;
    Ok(n)
}

/// Applies every event after `after`, streaming them in sequence order.
fn replay(
    tx: &dyn Writes,
    after: u64,
    progress: Option<&dyn Fn(u64)>,
    also: &mut dyn FnMut(&RecordedEvent) -> Result<()>,
) -> Result<u64> {
    let mut batch = Batch::new(after);
    let mut n = 0;
    let filter = EventFilter {
        since_seq: Some(after),
        ..EventFilter::default()
    };
    // Applied READ_AHEAD events at a time, their streams read ahead in one read (on a
    // server, one round trip instead of one per incident).
    let mut ahead: Vec<RecordedEvent> = Vec::with_capacity(READ_AHEAD);
    let mut apply = |batch: &mut Batch, ahead: &mut Vec<RecordedEvent>| -> Result<()> {
        let incidents: Vec<&str> = ahead.iter().map(|e| e.incident.as_str()).collect();
        batch.streams.prefetch(tx, &incidents)?;
        for event in ahead.drain(..) {
            // An event whose payload does not parse (only a tampered log has one) is left
            // out of the views; `chronicle verify` reports it. One a newer chronicle wrote
            // is refused: views without it would answer as if it were not there.
            let payload = parse_payload(&event.kind, event.schema_version, &event.payload);
            if payload.is_none() {
                refuse_newer(&event)?;
            }
            batch.apply(tx, &event, payload)?;
            n += 1;
            if let Some(progress) = progress {
                if n % PROGRESS_EVERY == 0 {
                    progress(n);
                }
            }
        }
        Ok(())
    };
    tx.scan(&filter, &mut |event| {
        also(&event)?;
        ahead.push(event);
        if ahead.len() == READ_AHEAD {
            apply(&mut batch, &mut ahead)?;
        }
        Ok(())
    })?;
    apply(&mut batch, &mut ahead)?;
    batch.flush(tx)?;
    if let Some(progress) = progress {
        progress(n);
    }
    Ok(n)
}

/// The events of a batch that touched one root: the first and the last.
#[derive(Debug, Clone, Copy)]
struct Touch {
    first: u64,
    last: u64,
}

/// What one write transaction keeps between appends: its stream cache, the roots touched
/// since the last flush, and the views' checkpoint to write.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The streams this transaction has read (validation uses them too).
    pub streams: Streams,
    touched: HashMap<String, Touch>,
    pending: usize,
    checkpoint: Option<(u64, String)>,
}

impl Batch {
    /// An empty batch for a transaction whose log ends at `horizon`.
    pub fn new(horizon: u64) -> Self {
        Batch {
            streams: Streams::new(horizon),
            ..Batch::default()
        }
    }

    /// Updates the views for one appended event (inside the append's transaction): the
    /// event is added to its cached stream and the roots it touches are marked; they are
    /// recomputed and written when the batch is flushed (every [`FLUSH_EVERY`] events and
    /// before the transaction commits). The payload is moved into the stream cache (not
    /// copied: a copy and its drop were 5-9% of a large append or rebuild).
    pub fn apply(
        &mut self,
        tx: &dyn Writes,
        event: &RecordedEvent,
        payload: Option<Payload>,
    ) -> Result<()> {
        let present = payload.is_some();
        let rewires = payload.as_ref().is_some_and(rewires);
        self.streams.record(tx, event, payload)?;
        // An erased event (replayed after its redaction) touches its root too: the views
        // list it there as erased.
        if present || event.redacted_by.is_some() {
            for root in self
                .streams
                .touched_by(tx, &event.incident, event.seq, rewires)?
            {
                self.touched
                    .entry(root)
                    .and_modify(|t| t.last = event.seq)
                    .or_insert(Touch {
                        first: event.seq,
                        last: event.seq,
                    });
            }
        }
        self.checkpoint = Some((event.seq, event.hash.clone()));
        self.pending += 1;
        if self.pending >= FLUSH_EVERY {
            self.flush(tx)?;
        }
        Ok(())
    }

    /// Reads ahead what appending (or restoring) events with these client `ids` to these
    /// `incidents` will ask of the log, one read each instead of one or two per event (on a
    /// database server, each read is a round trip): first writes the views of the events
    /// before, while their streams are still cached; then pins the incidents' streams in the
    /// cache. Returns the ids not in the log.
    pub fn read_ahead(
        &mut self,
        tx: &dyn Writes,
        mut ids: Vec<&str>,
        mut incidents: Vec<&str>,
    ) -> Result<HashSet<String>> {
        self.flush(tx)?;
        ids.sort_unstable();
        ids.dedup();
        incidents.sort_unstable();
        incidents.dedup();
        let taken: HashSet<String> = tx.present_ids(&ids)?.into_iter().collect();
        let free = ids
            .into_iter()
            .filter(|id| !taken.contains(*id))
            .map(str::to_string)
            .collect();
        self.streams.prefetch(tx, &incidents)?;
        Ok(free)
    }

    /// Recomputes every root touched since the last flush, once each, writes its rows, and
    /// moves the views' checkpoint.
    pub fn flush(&mut self, tx: &dyn Writes) -> Result<()> {
        let mut roots: Vec<(String, Touch)> = self.touched.drain().collect();
        // In id order: each view table is keyed by the incident, so its index pages are
        // filled in order instead of at random (a rebuild 0.96x wall at 100k events).
        roots.sort_by(|a, b| a.0.cmp(&b.0));
        for (root, touch) in roots {
            // An incident's state changes only at its touches: as of its last touch it is
            // its state as of the end of the batch.
            let state = compute(&mut self.streams, tx, &root, touch.last, None, touch.last)?;
            let rows = state.as_ref().map(rows_of).transpose()?;
            tx.write_view(&root, touch.first, touch.last, rows.as_ref())?;
        }
        self.pending = 0;
        if let Some((seq, hash)) = self.checkpoint.take() {
            tx.set_views_checkpoint(seq, &hash)?;
        }
        Ok(())
    }
}

/// The state of `root` after event `seq` from the cached streams (`None`: not in view then),
/// keeping only what was published by `known_by` when given (see [`fold_group`]), labelled
/// as made by event `label` (see [`IncidentState::last_seq`]).
pub(crate) fn compute(
    streams: &mut Streams,
    db: &(impl Reads + ?Sized),
    root: &str,
    seq: u64,
    known_by: Option<DateTime<Utc>>,
    label: u64,
) -> Result<Option<IncidentState>> {
    streams.trim();
    // A stream merged into another is shown only as part of it.
    if streams.root_at(db, root, seq)? != root {
        return Ok(None);
    }
    let members = streams.members(db, root, seq)?;
    // An erased event whose redaction the cache does not hold yet (a replay between the
    // two) is listed once the redaction is replayed: it touches this root again.
    let redactions = streams
        .erased_of(db, &members, seq)?
        .iter()
        .filter_map(|(e, r)| r.as_ref().map(|r| Redacted::new(e, r)))
        .collect();
    if let [only] = members.as_slice() {
        let events = streams.stream(db, only)?.upto(seq);
        return Ok(fold_group(
            root, &members, events, redactions, known_by, label,
        ));
    }
    let events = streams.events_of(db, &members, seq)?;
    Ok(fold_group(
        root, &members, &events, redactions, known_by, label,
    ))
}

fn figure_columns(f: Option<&Figure>) -> FigureColumns {
    match f {
        None => FigureColumns::default(),
        Some(f) => FigureColumns {
            prose: Some(f.prose()),
            low: Some(f.lower()),
            high: f.upper(),
            point: Some(f.point()),
        },
    }
}

/// The view rows of an incident in view.
fn rows_of(state: &IncidentState) -> Result<IncidentRows<'_>> {
    let json = serde_json::to_string(state).map_err(|e| Error::Corrupt {
        seq: state.last_seq,
        problem: format!(
            "the view state of `{}` does not serialize: {e}",
            state.incident
        ),
    })?;
    let d = &state.details;
    let [killed, wounded, attackers_killed] =
        Measure::ALL.map(|m| reconcile::measure_range(state, m, &BestPolicy::Median));
    let incident = IncidentRow {
        incident: &state.incident,
        date: d.date.to_string(),
        date_start: d.date.start.to_string(),
        date_end: d.date.end.to_string(),
        date_precision: d.date.precision.as_str(),
        country: d.country.as_deref(),
        province: &d.province,
        district: d.district.as_deref(),
        locality: d.locality.as_deref(),
        category: &d.category,
        target: d.target.as_deref(),
        perpetrator: d.perpetrator.as_deref(),
        summary: d.summary.as_deref(),
        killed,
        wounded,
        attackers_killed,
        disputed: reconcile::disputed(state),
        sources: state.sources.len() as u64,
        merged_from: serde_json::to_string(&state.merged_from).unwrap_or_else(|_| "[]".into()),
        last_seq: state.last_seq,
        state: json,
        adjudicated: state.adjudication.is_some(),
    };
    let sources = state
        .sources
        .iter()
        .map(|s| SourceRow {
            source: &s.source,
            published: s.published.map(|p| p.to_string()),
            killed: figure_columns(s.figure(Measure::Killed)),
            wounded: figure_columns(s.figure(Measure::Wounded)),
            attackers_killed: figure_columns(s.figure(Measure::AttackersKilled)),
            note: s.note.as_deref(),
            citation: s.citation.as_deref(),
            event_seq: s.event_seq,
            event_id: &s.event_id,
            corrected: s.corrected,
            reports: s.reports,
            corrections: s.corrections,
            alone: reconcile::stands_alone(state, &s.source),
            disagrees: reconcile::disagrees(state, &s.source),
        })
        .collect();
    let responsibility = state
        .responsibility
        .iter()
        .map(|r| ResponsibilityRow {
            event_seq: r.event_seq,
            actor: &r.actor,
            stance: r.stance.as_str(),
            source: &r.source,
            published: r.published.map(|p| p.to_string()),
        })
        .collect();
    Ok(IncidentRows {
        incident,
        sources,
        responsibility,
    })
}
