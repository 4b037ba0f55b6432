//! Reading the views at a point: every incident's state (or its reconciled columns) after
//! event `seq`, one incident's state, and every state an incident went through.
//!
//! Before the views' checkpoint, an incident not touched after `seq` is read as stored (its
//! state changes only at its touches); the others, usually few, are recomputed from their
//! events up to `seq` through one stream cache.

use crate::error::{Error, Result};
use crate::store::{Reads, StoredView, ViewColumns, ViewContent, ViewRow};
use crate::streams::Streams;
use crate::views::fold::{IncidentState, Measure, Redacted};
use crate::views::maintain::{checkpoint, compute};
use crate::views::reconcile::{self, BestPolicy};

fn parse_state(json: &str, seq: u64) -> Result<IncidentState> {
    serde_json::from_str(json).map_err(|e| Error::Corrupt {
        seq,
        problem: format!("a stored view state does not parse ({e}); run `chronicle rebuild`"),
    })
}

/// Incidents whose streams are read ahead at a time.
const READ_AHEAD: usize = 1024;

/// The state of `root` after event `seq`, for a point before the views' checkpoint:
/// recomputed from its events, labelled with the last event up to `seq` that touched it.
fn state_before(
    streams: &mut Streams,
    db: &(impl Reads + ?Sized),
    root: &str,
    seq: u64,
) -> Result<Option<IncidentState>> {
    streams.trim();
    match streams.touches(db, root, seq)?.last() {
        Some(&label) => compute(streams, db, root, seq, None, label),
        None => Ok(None),
    }
}

/// What the incidents in view after event `seq` are, as `T`, one at a time (in no particular
/// order): `stored` makes one from the stored content of an incident not touched after
/// `seq`; `of_state` from the state recomputed for the others. Only the ids of the
/// incidents touched after `seq` (usually few) are held.
fn each_at_point<T>(
    db: &(impl Reads + ?Sized),
    seq: u64,
    columns: ViewColumns,
    stored: impl Fn(ViewContent, u64) -> Result<T>,
    of_state: impl Fn(IncidentState) -> T,
    each: &mut dyn FnMut(T) -> Result<()>,
) -> Result<()> {
    let current = checkpoint(db)?;
    let mut later = Vec::new();
    db.views_at(
        seq,
        seq >= current,
        columns,
        &mut |StoredView {
                  incident,
                  last_seq,
                  content,
              }| {
            if last_seq > seq {
                later.push(incident);
            } else if let Some(content) = content {
                each(stored(content, last_seq)?)?;
            }
            Ok(())
        },
    )?;
    let mut streams = Streams::new(current);
    // Their streams read ahead, a chunk at a time (on a server, a round trip per chunk
    // instead of one per incident).
    for chunk in later.chunks(READ_AHEAD) {
        let incidents: Vec<&str> = chunk.iter().map(String::as_str).collect();
        streams.prefetch(db, &incidents)?;
        for incident in chunk {
            if let Some(state) = state_before(&mut streams, db, incident, seq)? {
                each(of_state(state))?;
            }
        }
    }
    Ok(())
}

/// Every incident's state after event `seq` (the current states when `seq` is the views'
/// checkpoint), one at a time, in no particular order: one state in memory at a time (the
/// store's own buffering aside).
pub(crate) fn each_state_at(
    db: &(impl Reads + ?Sized),
    seq: u64,
    each: &mut dyn FnMut(IncidentState) -> Result<()>,
) -> Result<()> {
    each_at_point(
        db,
        seq,
        ViewColumns::State,
        |content, last| match content {
            ViewContent::State(json) => parse_state(&json, last),
            ViewContent::Row(_) => unreachable_content(last),
        },
        |state| state,
        each,
    )
}

/// Every incident's [`ViewRow`] after event `seq`: the columns of the incidents not touched
/// after `seq`, without parsing their states, and the incidents touched after it recomputed.
pub(crate) fn rows_at(db: &(impl Reads + ?Sized), seq: u64) -> Result<Vec<ViewRow>> {
    let mut out = Vec::new();
    each_at_point(
        db,
        seq,
        ViewColumns::Row,
        |content, last| match content {
            ViewContent::Row(row) => Ok(row),
            ViewContent::State(_) => unreachable_content(last),
        },
        |state| view_row(&state),
        &mut |row| {
            out.push(row);
            Ok(())
        },
    )?;
    Ok(out)
}

/// A store that answered with other columns than asked: a backend bug, reported as such.
fn unreachable_content<T>(seq: u64) -> Result<T> {
    Err(Error::Corrupt {
        seq,
        problem: "the store returned other view columns than were asked for".into(),
    })
}

/// An incident's [`ViewRow`] computed from its state.
fn view_row(state: &IncidentState) -> ViewRow {
    ViewRow {
        incident: state.incident.clone(),
        date: state.details.date.to_string(),
        date_start: state.details.date.start,
        province: state.details.province.clone(),
        category: state.details.category.clone(),
        killed: reconcile::measure_range(state, Measure::Killed, &BestPolicy::Median),
        wounded: reconcile::measure_range(state, Measure::Wounded, &BestPolicy::Median),
        sources: state.sources.len() as u64,
        disputed: reconcile::disputed(state),
        adjudicated: state.adjudication.is_some(),
    }
}

/// One incident's state after event `seq`, if it was in view then.
pub(crate) fn state_of(
    db: &(impl Reads + ?Sized),
    incident: &str,
    seq: u64,
) -> Result<Option<IncidentState>> {
    match db.view_entry(incident)? {
        Some(e) if e.first_seq > seq => Ok(None),
        Some(e) if e.last_seq <= seq => e
            .state
            .map(|json| parse_state(&json, e.last_seq))
            .transpose(),
        Some(_) => state_before(&mut Streams::new(checkpoint(db)?), db, incident, seq),
        None => Ok(None),
    }
}

/// Every state of one incident, in order: `(seq, state)` for each event that touched it,
/// `None` while it was not in view (from its first appearance; consecutive absences
/// collapsed).
pub(crate) fn versions(
    db: &(impl Reads + ?Sized),
    incident: &str,
) -> Result<Vec<(u64, Option<IncidentState>)>> {
    let head = checkpoint(db)?;
    let mut streams = Streams::new(head);
    let mut out: Vec<(u64, Option<IncidentState>)> = Vec::new();
    for seq in streams.touches(db, incident, head)? {
        let state = compute(&mut streams, db, incident, seq, None, seq)?;
        let shown_before = out.last().is_some_and(|(_, s)| s.is_some());
        if state.is_some() || shown_before {
            out.push((seq, state));
        }
    }
    Ok(out)
}

/// The redaction that erased `incident`'s first report, when one did (up to `seq`): the
/// incident is then shown in no view, since its date, place and category are gone.
pub(crate) fn erased_opening(
    db: &(impl Reads + ?Sized),
    incident: &str,
    seq: u64,
) -> Result<Option<Redacted>> {
    let mut streams = Streams::new(checkpoint(db)?);
    let stream = streams.stream(db, incident)?;
    Ok(stream
        .erased_upto(seq)
        .iter()
        .find(|e| e.kind == "incident_reported")
        .and_then(|e| stream.event(&e.redaction).map(|r| Redacted::new(e, r))))
}

/// The error for an incident not in view because its first report was erased by `r`.
pub(crate) fn erased_opening_error(incident: &str, r: &Redacted) -> Error {
    Error::Invalid(crate::error::Invalid::new(
        "incident",
        incident,
        format!(
            "this incident's first report (seq {}) was erased by redaction seq {} ({}, recorded {}): {}; without its date, place and category the incident is shown in no view (its events are still listed by `chronicle log --incident {incident}`)",
            r.event_seq, r.redaction_seq, r.redaction_id, r.redacted_at, r.reason
        ),
    ))
}
