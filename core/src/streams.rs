//! The stream cache of one transaction: the incidents' streams read from the store once and
//! kept up to date as events are appended, the merges into each incident, and the answers
//! built on them (the merge in force, the root an incident is shown under, the members of
//! a root, the events that touched it).
//!
//! Validation asks it about the streams an event refers to; the views' maintenance and
//! time travel fold incidents from it. It is only valid inside one transaction (or one read
//! of a log no one appends to): another process may append between two transactions.

use foldhash::{HashMap, HashSet};

use crate::domain::event::Payload;
use crate::error::Result;
use crate::record::RecordedEvent;

use crate::store::{MergeRef, Reads, StreamRow};

/// Cached events kept before the stream cache is emptied (it reloads what it needs).
const CACHE_EVENTS: usize = 50_000;

/// The size of the filter of dropped incidents (1 MiB), tuned for a million of them: past
/// that, more new incidents are needlessly read from the store, as they were before it.
const DROPPED_BITS: usize = 1 << 23;

/// An event as the streams and the fold need it: its payload parsed.
#[derive(Debug, Clone)]
pub(crate) struct Ev {
    pub seq: u64,
    pub id: String,
    pub incident: String,
    pub recorded_at: String,
    pub payload: Payload,
}

/// A stored payload, parsed; `None` when it does not parse (only a tampered log has one:
/// `chronicle verify` reports it, and the views leave the event out).
pub(crate) fn parse_payload(kind: &str, version: u32, text: &str) -> Option<Payload> {
    if let Some(payload) = crate::domain::event::read_direct(kind, version, text) {
        return Some(payload);
    }
    if version != crate::domain::upcast::current_version(kind) {
        let value = serde_json::from_str(text).ok()?;
        let value = crate::domain::upcast::upcast(kind, version, value).ok()?;
        return Payload::from_json(kind, value).ok();
    }
    Payload::from_json_text(kind, text).or_else(|| {
        serde_json::from_str(text)
            .ok()
            .and_then(|v| Payload::from_json(kind, v).ok())
    })
}

/// Whether an event with this payload can move a stream from one root to another (a merge,
/// or a retraction, which may undo a merge): it then touches its root before and after.
pub(crate) fn rewires(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::IncidentMerged(_) | Payload::EventRetracted(_)
    )
}

/// An event whose payload a redaction erased: it keeps its place in the stream, so that
/// the views can say it was there (see [`crate::views::fold::Redacted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Erased {
    pub seq: u64,
    pub id: String,
    pub incident: String,
    pub kind: String,
    /// The id of the redaction that erased it (an `event_redacted` of the same stream).
    pub redaction: String,
}

/// One stream as of the cache's horizon.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// The stream's version (its number of events).
    pub version: u64,
    /// Its first event.
    pub first_seq: Option<u64>,
    /// Its events whose payloads parse, in sequence order.
    pub events: Vec<Ev>,
    /// Its events whose payloads were erased, in sequence order.
    pub erased: Vec<Erased>,
}

impl Stream {
    /// Reads `incident`'s stream up to event `upto` from the store.
    fn load(db: &(impl Reads + ?Sized), incident: &str, upto: u64) -> Result<Stream> {
        let mut stream = Stream::default();
        db.stream(incident, upto, &mut |row| {
            stream.push_row(incident, &row);
            Ok(())
        })?;
        Ok(stream)
    }

    /// Adds a stored event (the next in sequence order) to the stream.
    fn push_row(&mut self, incident: &str, row: &StreamRow<'_>) {
        self.version = self.version.max(row.version);
        self.first_seq.get_or_insert(row.seq);
        if let Some(redaction) = row.redacted_by {
            self.erased.push(Erased {
                seq: row.seq,
                id: row.id.to_string(),
                incident: incident.to_string(),
                kind: row.kind.to_string(),
                redaction: redaction.to_string(),
            });
        } else if let Some(payload) = parse_payload(row.kind, row.schema_version, row.payload) {
            self.events.push(Ev {
                seq: row.seq,
                id: row.id.to_string(),
                incident: incident.to_string(),
                recorded_at: row.recorded_at.to_string(),
                payload,
            });
        }
    }

    /// How many events the cache holds for it.
    fn cached(&self) -> usize {
        self.events.len() + self.erased.len()
    }

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

    /// Its events up to `seq`.
    pub fn upto(&self, seq: u64) -> &[Ev] {
        &self.events[..self.events.partition_point(|e| e.seq <= seq)]
    }

    /// Its erased events up to `seq`.
    pub fn erased_upto(&self, seq: u64) -> &[Erased] {
        &self.erased[..self.erased.partition_point(|e| e.seq <= seq)]
    }

    /// The event with this id among those whose payload parses, whatever its seq (a
    /// redaction is looked up here even when it is later than the point of a view).
    pub fn event(&self, id: &str) -> Option<&Ev> {
        self.events.iter().find(|e| e.id == id)
    }
}

/// The streams one transaction has read (as of `horizon`, the last event it has seen; every
/// later event is added as it is appended) and the merges into each incident.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    horizon: u64,
    streams: HashMap<String, Stream>,
    merges_into: HashMap<String, Vec<MergeRef>>,
    cached_events: usize,
    /// The incidents read ahead by the last [`Streams::prefetch`]: [`Streams::trim`] keeps
    /// them, so that the events they were read for find them cached.
    pinned: HashSet<String>,
    /// The number of cached events past which [`Streams::trim`] empties the cache (what it
    /// keeps, the pinned streams, plus [`CACHE_EVENTS`]).
    trim_above: usize,
    /// Set when the cache was made for an empty log (`horizon` 0): every event up to its
    /// horizon then came through [`Streams::record`], so an incident whose stream and merges
    /// it neither holds nor [`dropped`](Self::dropped) has none, and is not read from the
    /// store. A rebuild, and an import or copy into a new log, skip a read per incident
    /// (1-2% of their time).
    complete: bool,
    /// The incidents whose stream or merges a complete cache dropped (trimmed or
    /// forgotten), read from the store again when needed: a Bloom filter of
    /// [`DROPPED_BITS`], made at the first drop, so that memory stays flat however many
    /// incidents a replay passes. An incident it wrongly says was dropped is only read.
    dropped: Option<fastbloom::BloomFilter>,
    /// [`CACHE_EVENTS`] (smaller in the tests of trimming).
    cache_events: usize,
}

impl Streams {
    /// An empty cache for a transaction whose log ends at `horizon`.
    pub fn new(horizon: u64) -> Self {
        Streams {
            horizon,
            trim_above: CACHE_EVENTS,
            complete: horizon == 0,
            cache_events: CACHE_EVENTS,
            ..Streams::default()
        }
    }

    /// Whether `incident` is known to have no events and no merges up to the horizon
    /// without reading the store (see [`Streams::complete`]).
    fn known_empty(&self, incident: &str) -> bool {
        self.complete && !self.dropped.as_ref().is_some_and(|d| d.contains(incident))
    }

    /// Notes that a complete cache dropped what it held of `incident`.
    fn drop_note(complete: bool, dropped: &mut Option<fastbloom::BloomFilter>, incident: &str) {
        if complete {
            dropped
                .get_or_insert_with(|| {
                    fastbloom::BloomFilter::with_num_bits(DROPPED_BITS).expected_items(1_000_000)
                })
                .insert(incident);
        }
    }

    /// The stream of `incident`, read from the store the first time.
    pub fn stream(&mut self, db: &(impl Reads + ?Sized), incident: &str) -> Result<&Stream> {
        if !self.streams.contains_key(incident) {
            let stream = if self.known_empty(incident) {
                Stream::default()
            } else {
                Stream::load(db, incident, self.horizon)?
            };
            self.cached_events += stream.cached();
            self.streams.insert(incident.to_string(), stream);
        }
        // Present: inserted above if it was not.
        Ok(&self.streams[incident])
    }

    /// Drops `incident`'s cached stream (a payload of it was erased): it is read again
    /// from the store when next needed.
    pub fn forget(&mut self, incident: &str) {
        if let Some(stream) = self.streams.remove(incident) {
            self.cached_events = self.cached_events.saturating_sub(stream.cached());
        }
        Self::drop_note(self.complete, &mut self.dropped, incident);
    }

    /// The merges into `incident`, in sequence order.
    pub fn merges_into(
        &mut self,
        db: &(impl Reads + ?Sized),
        incident: &str,
    ) -> Result<&[MergeRef]> {
        if !self.merges_into.contains_key(incident) {
            let merges = if self.known_empty(incident) {
                Vec::new()
            } else {
                db.merges_into(incident, self.horizon)?
            };
            self.merges_into.insert(incident.to_string(), merges);
        }
        Ok(self
            .merges_into
            .get(incident)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    /// Empties the cache, but for the pinned streams, once it holds more than
    /// [`CACHE_EVENTS`] events besides them (what is needed again is reloaded), so memory
    /// stays bounded whatever the size of the log.
    pub fn trim(&mut self) {
        if self.cached_events > self.trim_above.max(self.cache_events) {
            let (pinned, complete, dropped) = (&self.pinned, self.complete, &mut self.dropped);
            let mut keep = |incident: &String| {
                let pinned = pinned.contains(incident);
                if !pinned {
                    Self::drop_note(complete, dropped, incident);
                }
                pinned
            };
            self.streams.retain(|k, _| keep(k));
            self.merges_into.retain(|k, _| keep(k));
            self.cached_events = self.streams.values().map(Stream::cached).sum();
            self.trim_above = self.cached_events + self.cache_events;
        }
    }

    /// Reads ahead, in one read of the store each, the streams of `incidents` and the
    /// merges into them that the cache lacks, and pins them until the next prefetch (a
    /// write transaction about to append events to them; see [`crate::Appender`]).
    pub fn prefetch(&mut self, db: &(impl Reads + ?Sized), incidents: &[&str]) -> Result<()> {
        self.pinned = incidents.iter().map(|i| (*i).to_string()).collect();
        self.trim_above = self.cache_events;
        self.trim();
        let (mut wanted, empty): (Vec<&str>, Vec<&str>) = self
            .pinned
            .iter()
            .filter(|i| !self.streams.contains_key(i.as_str()))
            .map(String::as_str)
            .partition(|i| !self.known_empty(i));
        wanted.sort_unstable();
        let mut loaded: HashMap<String, Stream> = wanted
            .iter()
            .chain(&empty)
            .map(|i| ((*i).to_string(), Stream::default()))
            .collect();
        if !wanted.is_empty() {
            db.streams(&wanted, self.horizon, &mut |incident, row| {
                if let Some(stream) = loaded.get_mut(incident) {
                    stream.push_row(incident, &row);
                }
                Ok(())
            })?;
        }
        for (incident, stream) in loaded {
            self.cached_events += stream.cached();
            self.streams.insert(incident, stream);
        }
        let (mut wanted, empty): (Vec<&str>, Vec<&str>) = self
            .pinned
            .iter()
            .filter(|i| !self.merges_into.contains_key(i.as_str()))
            .map(String::as_str)
            .partition(|i| !self.known_empty(i));
        wanted.sort_unstable();
        let mut merges: HashMap<String, Vec<MergeRef>> = wanted
            .iter()
            .chain(&empty)
            .map(|i| ((*i).to_string(), Vec::new()))
            .collect();
        let found = if wanted.is_empty() {
            Vec::new()
        } else {
            db.merges_into_each(&wanted, self.horizon)?
        };
        for (into, merge) in found {
            if let Some(list) = merges.get_mut(&into) {
                list.push(merge);
            }
        }
        self.merges_into.extend(merges);
        Ok(())
    }

    /// Adds an appended event to the streams and merges already cached.
    pub fn record(
        &mut self,
        db: &(impl Reads + ?Sized),
        event: &RecordedEvent,
        payload: Option<Payload>,
    ) -> Result<()> {
        self.trim();
        // Read the stream as it was before this event (a replay reads a log that goes further).
        self.horizon = event.seq - 1;
        self.stream(db, &event.incident)?;
        if let Some(Payload::IncidentMerged(m)) = &payload {
            self.merges_into(db, &m.into)?;
            if let Some(list) = self.merges_into.get_mut(&m.into) {
                list.push((event.incident.clone(), event.id.clone(), event.seq));
            }
        }
        self.horizon = event.seq;
        if let Some(stream) = self.streams.get_mut(&event.incident) {
            stream.version = event.version;
            stream.first_seq.get_or_insert(event.seq);
            if let Some(redaction) = &event.redacted_by {
                stream.erased.push(Erased {
                    seq: event.seq,
                    id: event.id.clone(),
                    incident: event.incident.clone(),
                    kind: event.kind.clone(),
                    redaction: redaction.clone(),
                });
                self.cached_events += 1;
            } else if let Some(payload) = payload {
                stream.events.push(Ev {
                    seq: event.seq,
                    id: event.id.clone(),
                    incident: event.incident.clone(),
                    recorded_at: event.recorded_at.clone(),
                    payload,
                });
                self.cached_events += 1;
            }
        }
        Ok(())
    }

    /// The merge in force of stream `incident` after event `seq`.
    fn merge_in_force(
        &mut self,
        db: &(impl Reads + ?Sized),
        incident: &str,
        seq: u64,
    ) -> Result<Option<String>> {
        Ok(self
            .stream(db, incident)?
            .merge_in_force(seq)
            .map(str::to_string))
    }

    /// The incident stream `incident` is shown under after event `seq`: follows the merges
    /// in force.
    pub fn root_at(
        &mut self,
        db: &(impl Reads + ?Sized),
        incident: &str,
        seq: u64,
    ) -> Result<String> {
        let mut seen = vec![incident.to_string()];
        while let Some(cur) = seen.last() {
            match self.merge_in_force(db, cur, seq)? {
                Some(into) if !seen.contains(&into) => seen.push(into),
                _ => break,
            }
        }
        Ok(seen.pop().unwrap_or_else(|| incident.to_string()))
    }

    /// `root` and every stream whose merges in force lead to it, after event `seq`.
    pub fn members(
        &mut self,
        db: &(impl Reads + ?Sized),
        root: &str,
        seq: u64,
    ) -> Result<Vec<String>> {
        self.merged_into(db, root, seq, true)
    }

    /// `root` and the streams merged into it, directly or through others, by merges up to
    /// `seq`: only the merges still in force after `seq` when `in_force`, every merge
    /// otherwise.
    fn merged_into(
        &mut self,
        db: &(impl Reads + ?Sized),
        root: &str,
        seq: u64,
        in_force: bool,
    ) -> Result<Vec<String>> {
        let mut all = vec![root.to_string()];
        let mut i = 0;
        while i < all.len() {
            let candidates: Vec<String> = self
                .merges_into(db, &all[i])?
                .iter()
                .filter(|(_, _, s)| *s <= seq)
                .map(|(c, _, _)| c.clone())
                .collect();
            for c in candidates {
                if !all.contains(&c)
                    && (!in_force
                        || self.merge_in_force(db, &c, seq)?.as_deref() == Some(all[i].as_str()))
                {
                    all.push(c);
                }
            }
            i += 1;
        }
        Ok(all)
    }

    /// The events of `members` up to `seq`, in sequence order.
    pub fn events_of(
        &mut self,
        db: &(impl Reads + ?Sized),
        members: &[String],
        seq: u64,
    ) -> Result<Vec<Ev>> {
        let mut events = Vec::new();
        for m in members {
            events.extend(self.stream(db, m)?.upto(seq).iter().cloned());
        }
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }

    /// The erased events of `members` up to `seq`, in sequence order, each with its
    /// redaction when the cache holds it (it may be later than `seq`; the cache holds every
    /// event up to its horizon).
    pub fn erased_of(
        &mut self,
        db: &(impl Reads + ?Sized),
        members: &[String],
        seq: u64,
    ) -> Result<Vec<(Erased, Option<Ev>)>> {
        let mut out = Vec::new();
        for m in members {
            let stream = self.stream(db, m)?;
            out.extend(
                stream
                    .erased_upto(seq)
                    .iter()
                    .map(|e| (e.clone(), stream.event(&e.redaction).cloned())),
            );
        }
        out.sort_by_key(|(e, _)| e.seq);
        Ok(out)
    }

    /// The roots an event touches: the root of its stream after it and, when it `rewires`
    /// (a merge or a retraction, which can move a stream from one root to another: see
    /// [`rewires`]), before it. An erased event (never rewiring) touches the root of its
    /// stream: the views list it there.
    pub fn touched_by(
        &mut self,
        db: &(impl Reads + ?Sized),
        incident: &str,
        seq: u64,
        rewires: bool,
    ) -> Result<Vec<String>> {
        let mut roots = vec![self.root_at(db, incident, seq)?];
        if rewires {
            let before = self.root_at(db, incident, seq - 1)?;
            if !roots.contains(&before) {
                roots.push(before);
            }
        }
        Ok(roots)
    }

    /// The events up to `seq` that touched `root`, in order (erased ones included). They can only be in `root`'s
    /// stream or in a stream that was ever merged, directly or not, into it.
    pub fn touches(
        &mut self,
        db: &(impl Reads + ?Sized),
        root: &str,
        seq: u64,
    ) -> Result<Vec<u64>> {
        let streams = self.merged_into(db, root, seq, false)?;
        let mut candidates: Vec<(u64, String, bool)> = Vec::new();
        for stream in &streams {
            let stream = self.stream(db, stream)?;
            candidates.extend(
                stream
                    .upto(seq)
                    .iter()
                    .map(|e| (e.seq, e.incident.clone(), rewires(&e.payload))),
            );
            candidates.extend(
                stream
                    .erased_upto(seq)
                    .iter()
                    .map(|e| (e.seq, e.incident.clone(), false)),
            );
        }
        candidates.sort_by_key(|c| c.0);
        let mut out = Vec::new();
        for (seq, incident, rewires) in candidates {
            if self
                .touched_by(db, &incident, seq, rewires)?
                .iter()
                .any(|r| r == root)
            {
                out.push(seq);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::event::EventLine;
    use crate::error::Location;
    use crate::log::{AppendContext, Clock, EventLog};
    use crate::record::EventFilter;
    use crate::store::SqliteStore;

    /// What a cache holds of `incident`: its version, first event, events and erased events
    /// (by seq), and the merges into it.
    fn held(
        streams: &mut Streams,
        db: &(impl Reads + ?Sized),
        incident: &str,
    ) -> (u64, Option<u64>, Vec<u64>, Vec<u64>, Vec<MergeRef>) {
        let s = streams.stream(db, incident).unwrap();
        let held = (
            s.version,
            s.first_seq,
            s.events.iter().map(|e| e.seq).collect(),
            s.erased.iter().map(|e| e.seq).collect(),
        );
        let merges = streams.merges_into(db, incident).unwrap().to_vec();
        (held.0, held.1, held.2, held.3, merges)
    }

    /// A cache made for an empty log skips the store for incidents it has not seen; trimmed
    /// every few events, with merges and an erased payload, it must still hold at every
    /// point what the store holds.
    #[test]
    fn a_cache_from_an_empty_log_trimmed_often_agrees_with_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (mut log, _) = EventLog::init(&path).unwrap();
        let ctx = AppendContext {
            clock: Clock::Fixed("2020-07-30T12:00:00Z".parse().unwrap()),
            ..AppendContext::new("me")
        };
        let opened = r#"{"date":"2020-07-30","province":"Logar","category":"bombing"}"#;
        let mut lines = Vec::new();
        for i in ["a", "b", "c", "d"] {
            lines.push(format!(
                r#"{{"incident":"{i}","kind":"incident_reported","payload":{opened}}}"#
            ));
        }
        for (i, n) in [("a", 1), ("b", 2), ("c", 3), ("a", 4), ("d", 5), ("b", 6)] {
            lines.push(format!(
                r#"{{"incident":"{i}","kind":"casualties_reported","payload":{{"source":"S{n}","killed":{n}}}}}"#
            ));
        }
        lines.push(r#"{"incident":"b","kind":"incident_merged","payload":{"into":"a","reason":"duplicate"}}"#.into());
        lines.push(r#"{"incident":"d","kind":"incident_merged","payload":{"into":"c","reason":"duplicate"}}"#.into());
        lines.push(
            r#"{"incident":"c","kind":"casualties_reported","payload":{"source":"S7","killed":7}}"#
                .into(),
        );
        let events = lines
            .iter()
            .map(|l| Ok((Location::default(), EventLine::parse(l).unwrap())));
        log.append(&ctx, events).unwrap();
        let third = log.events(&EventFilter::default()).unwrap()[6].id.clone();
        log.redact(&ctx, &third, "a test", None, false).unwrap();
        let all = log.events(&EventFilter::default()).unwrap();
        drop(log);

        let store = SqliteStore::open(&path).unwrap();
        for cache_events in [1, 2, 3, 50] {
            let mut streams = Streams::new(0);
            streams.cache_events = cache_events;
            for (k, e) in all.iter().enumerate() {
                if k % 3 == 0 {
                    let ahead: Vec<&str> = all[k..(k + 3).min(all.len())]
                        .iter()
                        .map(|e| e.incident.as_str())
                        .collect();
                    streams.prefetch(&store, &ahead).unwrap();
                }
                let payload = parse_payload(&e.kind, e.schema_version, &e.payload);
                streams.record(&store, e, payload).unwrap();
                for incident in ["a", "b", "c", "d", "never"] {
                    let mut fresh = Streams::new(e.seq);
                    assert_eq!(
                        held(&mut streams, &store, incident),
                        held(&mut fresh, &store, incident),
                        "{incident} after seq {} (cache of {cache_events})",
                        e.seq
                    );
                }
            }
            assert!(
                cache_events > 10 || streams.dropped.is_some(),
                "never trimmed"
            );
        }
    }
}
