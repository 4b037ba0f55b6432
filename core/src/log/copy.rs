//! Faithful copies: recorded events written into another log as they were recorded (same
//! sequence numbers, ids, recorded times, recorders, payload text and hashes), from a log
//! ([`EventLog::copy_to`], `chronicle copy`) or from the lines `log --json --provenance`
//! wrote ([`EventLog::restore`], `chronicle append --restore`).
//!
//! A restore is one write transaction of the destination: every event is checked, inserted
//! through the store and applied to the views (as an append does), and the transaction
//! commits only when all of them passed; a refusal leaves the destination as it was.
//!
//! Each event must continue the destination: the first one its head (same seq, same hash),
//! each next one the event before it. An event is checked for what `verify` checks: seq
//! contiguous, stream version continuing, recorded time a UTC time not before the one
//! before, schema version known, payload that parses for its kind, an id not already in the
//! log, and a hash that recomputes from the hash before it and the event's fields.
//!
//! A restored event is **not** validated again against the log's rules (incidents exist,
//! merges, place names): it was validated when it was first appended, under the rules and
//! the flags of that append (`--allow-unknown-place` is not recorded), and the hash covers
//! it as it was. A copy that refused what the source holds would not be a copy; what
//! `verify` accepts, a restore accepts, and the views fold it as a rebuild does.

use std::collections::HashSet;
use std::sync::Arc;

use crate::domain::event::Payload;
use crate::domain::upcast::current_version;
use crate::error::{Error, Invalid, Location, Result};
use crate::log::EventLog;
use crate::record::hash::{self, GENESIS};
use crate::record::provenance::{genesis_hex, RecordedLine};
use crate::record::{Checkpoint, EventFilter, RecordedEvent};
use crate::store::Writes;
use crate::tree::Growth;
use crate::views::maintain::{self, Batch};

/// What a copy or a restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// How many events were written.
    pub events: u64,
    /// The destination's head before: the copy continued from it (`None`: it was empty).
    pub after: Option<Checkpoint>,
    /// The destination's head after (`None`: both empty).
    pub head: Option<Checkpoint>,
}

/// Why an event cannot be restored: the field, its value, what is wrong.
#[derive(Debug)]
struct Refusal {
    field: &'static str,
    value: String,
    problem: String,
}

impl Refusal {
    fn new(field: &'static str, value: impl ToString, problem: impl Into<String>) -> Self {
        Refusal {
            field,
            value: value.to_string(),
            problem: problem.into(),
        }
    }

    /// As bad input at a line of a file (`append --restore`).
    fn at(self, loc: Location) -> Error {
        Invalid::new(self.field, self.value, self.problem)
            .at(loc)
            .into()
    }
}

/// The head a restore continues, in words: `38:cf9f...` or "empty".
fn describe(head: Option<&Checkpoint>) -> String {
    head.map_or_else(|| "empty (no events)".to_string(), Checkpoint::to_string)
}

/// One restore: the destination's write transaction, where its chain stands, and the views
/// not yet written.
struct Restorer<'a> {
    tx: Box<dyn Writes + 'a>,
    batch: Batch,
    /// The destination's Merkle tree, grown by one leaf per event.
    growth: Growth,
    /// The destination's head when the restore began.
    start: Option<Checkpoint>,
    /// The last event written (or the head when none was).
    head: Option<Checkpoint>,
    prev: [u8; 32],
    prev_recorded: String,
    events: u64,
    /// Ids that [`Restorer::prefetch`] found absent from the destination and no restored
    /// event has taken since: their events need no lookup.
    free_ids: HashSet<String>,
    /// The batch record last found in the destination or written to it: the events of one
    /// batch follow each other, and need it looked up once.
    last_batch: Option<Arc<crate::record::Batch>>,
}

/// Events of a restore or a copy read ahead at a time ([`Restorer::prefetch`]): whether
/// their ids are taken and their streams are read from the destination in one query each,
/// not one per event (on a database server, each is a round trip).
const READ_AHEAD: usize = 1024;

impl<'a> Restorer<'a> {
    fn begin(tx: Box<dyn Writes + 'a>) -> Result<Self> {
        maintain::catch_up(&*tx)?;
        let growth = Growth::begin(&*tx)?;
        let (head, prev, prev_recorded) = match tx.head()? {
            Some(h) => {
                let prev = hash::parse_hex(&h.hash).ok_or_else(|| Error::Corrupt {
                    seq: h.seq,
                    problem: "stored hash is not 64 hex digits".into(),
                })?;
                let cp = Checkpoint {
                    seq: h.seq,
                    hash: h.hash,
                };
                (Some(cp), prev, h.recorded_at)
            }
            None => (None, GENESIS, String::new()),
        };
        Ok(Restorer {
            batch: Batch::new(head.as_ref().map_or(0, |h| h.seq)),
            tx,
            growth,
            start: head.clone(),
            head,
            prev,
            prev_recorded,
            events: 0,
            free_ids: HashSet::new(),
            last_batch: None,
        })
    }

    /// Reads ahead what restoring `events` next will ask of the destination, in one read
    /// each: whether their ids are taken, and their incidents' streams. First writes the
    /// views of the events restored before, while their streams are still cached. Changes
    /// nothing of what is restored or refused.
    fn prefetch<'e>(&mut self, events: impl IntoIterator<Item = &'e RecordedEvent>) -> Result<()> {
        let (ids, incidents) = events
            .into_iter()
            .map(|e| (e.id.as_str(), e.incident.as_str()))
            .unzip();
        self.free_ids = self.batch.read_ahead(&*self.tx, ids, incidents)?;
        Ok(())
    }

    /// The seq the next event must have.
    fn next_seq(&self) -> u64 {
        self.head.as_ref().map_or(0, |h| h.seq) + 1
    }

    /// The hash the next event must follow, hex.
    fn prev_hex(&self) -> String {
        self.head
            .as_ref()
            .map_or_else(genesis_hex, |h| h.hash.clone())
    }

    /// Checks one event against the chain and the log, then inserts it and applies it to
    /// the views. Its seq must already be known to continue the chain.
    fn restore(&mut self, event: RecordedEvent) -> Result<Result<(), Refusal>> {
        let payload = match self.check(&event)? {
            Ok(payload) => payload,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let computed = match event.check_hash(&self.prev) {
            Ok(h) => h,
            Err(problem) => return Ok(Err(Refusal::new("hash", &event.hash, problem))),
        };
        if let Some(batch) = event
            .seal
            .batch()
            .filter(|b| self.last_batch.as_ref() != Some(*b))
        {
            match self.tx.batch(&batch.id)? {
                None => self.tx.insert_batch(batch)?,
                Some(existing) if existing == **batch => {}
                Some(_) => {
                    return Ok(Err(Refusal::new(
                        "batch",
                        &batch.id,
                        "a batch record with this id and other fields is already in the log; a batch id names one batch",
                    )))
                }
            }
        }
        if let Some(batch) = event.seal.batch() {
            self.last_batch = Some(batch.clone());
        }
        self.tx.insert_event(&event)?;
        self.growth.push(&*self.tx, &computed)?;
        self.batch.apply(&*self.tx, &event, payload)?;
        self.prev = computed;
        self.prev_recorded.clone_from(&event.recorded_at);
        self.head = Some(Checkpoint {
            seq: event.seq,
            hash: event.hash,
        });
        self.events += 1;
        Ok(Ok(()))
    }

    /// What `verify` checks of one event, but the hash; returns its typed payload (`None`
    /// for an erased one).
    fn check(&mut self, event: &RecordedEvent) -> Result<Result<Option<Payload>, Refusal>> {
        let free = self.free_ids.remove(&event.id);
        if let Some(existing) = (!free)
            .then(|| self.tx.event_by_id(&event.id))
            .transpose()?
            .flatten()
        {
            return Ok(Err(Refusal::new(
                "id",
                &event.id,
                format!(
                    "an event with this id is already in the log (seq {}); an id names one event",
                    existing.seq
                ),
            )));
        }
        let version = self
            .batch
            .streams
            .stream(&*self.tx, &event.incident)?
            .version;
        if event.version != version + 1 {
            return Ok(Err(Refusal::new(
                "version",
                event.version,
                format!(
                    "incident `{}` is at version {version} here, so its next event is version {}; a restore keeps every stream contiguous",
                    event.incident,
                    version + 1
                ),
            )));
        }
        if event.recorded_time().is_none() {
            return Ok(Err(Refusal::new(
                "recorded_at",
                &event.recorded_at,
                "a recorded time is a UTC time as the log writes it, e.g. 2020-07-30T14:00:00.000000Z",
            )));
        }
        if event.recorded_at < self.prev_recorded {
            return Ok(Err(Refusal::new(
                "recorded_at",
                &event.recorded_at,
                format!(
                    "recorded times never go backwards, and the event before was recorded at {}",
                    self.prev_recorded
                ),
            )));
        }
        let known = current_version(&event.kind);
        if event.schema_version > known {
            return Ok(Err(Refusal::new(
                "schema_version",
                event.schema_version,
                format!("this chronicle knows `{}` payload schema versions up to {known}; restore with a newer chronicle", event.kind),
            )));
        }
        if event.is_erased() {
            return Ok(Ok(None));
        }
        let payload = match event.payload() {
            Ok(payload) => payload,
            Err(e) => {
                let problem = match e {
                    Error::Corrupt { problem, .. } => problem,
                    other => other.to_string(),
                };
                return Ok(Err(Refusal::new("payload", &event.payload, problem)));
            }
        };
        if let Payload::EventRedacted(r) = &payload {
            // A redaction erased its event before the lines were written.
            let erased = self.tx.event_by_id(&r.event)?;
            if erased.as_ref().and_then(|e| e.redacted_by.as_deref()) != Some(event.id.as_str()) {
                return Ok(Err(Refusal::new(
                    "payload.event",
                    &r.event,
                    "a redaction's event comes before it, erased by it (`redacted_by` naming this redaction)",
                )));
            }
        }
        Ok(Ok(Some(payload)))
    }

    /// Checks that a restored line continues the chain (the first, this log's head; each
    /// next, the line before), then restores its event.
    fn restore_line(&mut self, loc: Location, line: RecordedLine) -> Result<()> {
        let (seq, prev) = (self.next_seq(), self.prev_hex());
        if self.events == 0 && (line.event.seq != seq || line.prev_hash != prev) {
            let continues = if line.event.seq == 1 && line.prev_hash == genesis_hex() {
                "the start of a log (it is seq 1)".to_string()
            } else {
                format!("{}:{}", line.event.seq.saturating_sub(1), line.prev_hash)
            };
            return Err(Refusal::new(
                "seq",
                line.event.seq,
                format!(
                    "this log's head is {}, but the line continues {continues}; a restore goes into the log it continues (an empty one for a file that starts at seq 1), and nothing was written",
                    describe(self.head.as_ref())
                ),
            )
            .at(loc));
        }
        if line.event.seq != seq {
            return Err(Refusal::new(
                "seq",
                line.event.seq,
                format!("the line before is seq {}, so this one must be seq {seq}: the lines have a gap or are out of order", seq - 1),
            )
            .at(loc));
        }
        if line.prev_hash != prev {
            return Err(Refusal::new(
                "prev_hash",
                &line.prev_hash,
                format!("the line before has hash {prev}: the lines do not chain (one was altered, or they come from different logs)"),
            )
            .at(loc));
        }
        self.restore(line.event)?.map_err(|refusal| refusal.at(loc))
    }

    /// Restores an event of the source log `source` scanned by a copy; a gap or a refusal is
    /// the source's corruption.
    fn restore_scanned(&mut self, event: RecordedEvent, source: &str) -> Result<()> {
        let seq = event.seq;
        let expected = self.next_seq();
        let refused = if seq == expected {
            self.restore(event)?.err()
        } else {
            Some(Refusal::new(
                "seq",
                seq,
                format!("the sequence has a gap: expected seq {expected}"),
            ))
        };
        match refused {
            None => Ok(()),
            Some(f) => Err(Error::Corrupt {
                seq,
                problem: format!(
                    "in the source {source}, field `{}`, value {:?}: {}; nothing was copied",
                    f.field, f.value, f.problem
                ),
            }),
        }
    }

    /// Writes the views and commits.
    fn commit(mut self) -> Result<Copied> {
        self.batch.flush(&*self.tx)?;
        self.tx.commit()?;
        Ok(Copied {
            events: self.events,
            after: self.start,
            head: self.head,
        })
    }
}

impl EventLog {
    /// Restores recorded events (the lines `log --json --provenance` wrote, read by
    /// [`crate::jsonl::read_recorded`]) into this log, verbatim, in one transaction: all of
    /// them, or none.
    ///
    /// The first event must continue this log's head: its seq the next one and its
    /// `prev_hash` the head's hash (64 zeros on an empty log); a refusal names both. Each
    /// next event must follow the one before it. Every event is checked as the module says;
    /// the first refused one aborts the restore, its error naming its `file:line`.
    pub fn restore<I>(&mut self, lines: I) -> Result<Copied>
    where
        I: IntoIterator<Item = Result<(Location, RecordedLine)>>,
    {
        let mut r = Restorer::begin(self.store.write()?)?;
        let mut lines = lines.into_iter();
        loop {
            // READ_AHEAD lines at a time; an unreadable line ends the chunk, and is reported
            // after the lines before it (the first error in the file is the one reported).
            let mut chunk = Vec::with_capacity(READ_AHEAD);
            let mut failed = None;
            for item in lines.by_ref() {
                match item {
                    Ok(ok) => chunk.push(ok),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                if chunk.len() == READ_AHEAD {
                    break;
                }
            }
            let last = failed.is_some() || chunk.len() < READ_AHEAD;
            r.prefetch(chunk.iter().map(|(_, line)| &line.event))?;
            for (loc, line) in chunk {
                r.restore_line(loc, line)?;
            }
            if let Some(e) = failed {
                return Err(e);
            }
            if last {
                return r.commit();
            }
        }
    }

    /// Copies this log's events into `dest`, verbatim, with its views, in one transaction of
    /// `dest`: all of them, or none.
    ///
    /// Without `since`, `dest` must be empty (a refusal says how many events it holds). With
    /// `since = Some(n)`, the events after `n` are copied onto a `dest` whose head is
    /// exactly this log's checkpoint at `n` (an incremental backup); `Some(0)` is an empty
    /// `dest`. Every copied event is checked as in [`EventLog::restore`]: a source whose
    /// chain does not hold is refused as corrupt, and nothing is written.
    pub fn copy_to(&self, dest: &mut EventLog, since: Option<u64>) -> Result<Copied> {
        let dest_path = dest.path.clone();
        let mut r = Restorer::begin(dest.store.write()?)?;
        self.check_continues(&dest_path, r.head.as_ref(), since)?;
        let after = r.head.as_ref().map_or(0, |h| h.seq);
        let filter = EventFilter {
            since_seq: Some(after),
            ..EventFilter::default()
        };
        let source = self.path().display().to_string();
        // READ_AHEAD events at a time, their ids and streams read from `dest` in one go.
        let mut ahead: Vec<RecordedEvent> = Vec::with_capacity(READ_AHEAD);
        let restore_ahead = |r: &mut Restorer<'_>, ahead: &mut Vec<RecordedEvent>| {
            r.prefetch(ahead.iter())?;
            ahead
                .drain(..)
                .try_for_each(|event| r.restore_scanned(event, &source))
        };
        self.store.scan(&filter, &mut |event| {
            ahead.push(event);
            if ahead.len() == READ_AHEAD {
                restore_ahead(&mut r, &mut ahead)?;
            }
            Ok(())
        })?;
        restore_ahead(&mut r, &mut ahead)?;
        r.commit()
    }

    /// Refuses a copy into `dest` (whose head is `head`) that would not continue it.
    fn check_continues(
        &self,
        dest: &std::path::Path,
        head: Option<&Checkpoint>,
        since: Option<u64>,
    ) -> Result<()> {
        let dest = dest.display();
        let source_at = |seq: u64| -> Result<Option<Checkpoint>> {
            Ok(self
                .store
                .hash_at(seq)?
                .map(|hash| Checkpoint { seq, hash }))
        };
        match (since, head) {
            (None | Some(0), None) => Ok(()),
            (None, Some(head)) => {
                let hint = if source_at(head.seq)?.as_ref() == Some(head) {
                    format!(
                        "it is a copy of this log up to seq {0}: continue it with --since {0}",
                        head.seq
                    )
                } else {
                    "it is not a copy of this log: copy into a new path or an empty log".to_string()
                };
                Err(Invalid::new(
                    "--to",
                    dest,
                    format!("the destination already holds {} events (head {head}); a copy goes into an empty log, and {hint}", head.seq),
                )
                .into())
            }
            (Some(n), head) => {
                let Some(ours) = source_at(n)?.filter(|_| n > 0) else {
                    let ours = self.head()?.map_or(0, |h| h.seq);
                    let problem = if n == 0 {
                        format!(
                            "--since 0 copies onto an empty log, and the destination's head is {}",
                            describe(head)
                        )
                    } else {
                        format!(
                            "this log has {ours} events, so it has no event {n} to continue from"
                        )
                    };
                    return Err(Invalid::new("--since", n, problem).into());
                };
                if head != Some(&ours) {
                    return Err(Invalid::new(
                        "--since",
                        n,
                        format!(
                            "the destination's head is {}, but this log's checkpoint at seq {n} is {ours}; an incremental copy goes onto the copy that ends exactly there (nothing was written)",
                            describe(head)
                        ),
                    )
                    .into());
                }
                Ok(())
            }
        }
    }

    /// The events after `since` (all of them without it), each with the hash of the event
    /// before it (64 zeros before event 1), in sequence order: what `log --json
    /// --provenance` writes. Stops at the first error `each` returns.
    pub fn scan_linked(
        &self,
        since: Option<u64>,
        mut each: impl FnMut(&RecordedEvent, &str) -> Result<()>,
    ) -> Result<()> {
        let since = since.unwrap_or(0);
        let mut prev = if since == 0 {
            genesis_hex()
        } else {
            match self.store.hash_at(since)? {
                Some(h) => h,
                // Beyond the head: there is nothing after it.
                None => return Ok(()),
            }
        };
        let filter = EventFilter {
            since_seq: Some(since),
            ..EventFilter::default()
        };
        self.store.scan(&filter, &mut |event| {
            each(&event, &prev)?;
            prev = event.hash;
            Ok(())
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::event::EventLine;
    use crate::log::{AppendContext, Clock};
    use crate::record::provenance::provenance_line;

    fn log_with(dir: &std::path::Path, name: &str, lines: &[&str]) -> EventLog {
        let (mut log, _) = EventLog::init(dir.join(name)).unwrap();
        let ctx = AppendContext {
            clock: Clock::Fixed("2020-07-30T12:00:00Z".parse().unwrap()),
            ..AppendContext::new("me")
        };
        let events = lines
            .iter()
            .map(|l| Ok((Location::default(), EventLine::parse(l).unwrap())));
        log.append(&ctx, events).unwrap();
        log
    }

    const LINES: [&str; 3] = [
        r#"{"incident":"a","kind":"incident_reported","payload":{"date":"2020-07-30","province":"Logar","category":"bombing"}}"#,
        r#"{"incident":"a","kind":"casualties_reported","payload":{"source":"AFP","killed":3}}"#,
        r#"{"incident":"a","kind":"responsibility_denied","payload":{"actor":"T","source":"S"}}"#,
    ];

    type Edit = dyn Fn(&mut Vec<RecordedEvent>);

    /// The source's events as restore lines, after `edit` changed them and their hashes
    /// were recomputed (what a forger who knows the encoding can do).
    fn forged(src: &EventLog, edit: impl Fn(&mut Vec<RecordedEvent>)) -> Vec<RecordedLine> {
        let mut events = src.events(&EventFilter::default()).unwrap();
        edit(&mut events);
        let mut prev = GENESIS;
        events
            .into_iter()
            .map(|mut e| {
                let prev_hash = hex::encode(prev);
                if let crate::record::Seal::V2 {
                    commitment,
                    salt: Some(salt),
                    ..
                } = &mut e.seal
                {
                    *commitment = hash::payload_commitment(salt, &e.payload);
                }
                prev = e.recompute_hash(&prev).unwrap().unwrap();
                e.hash = hex::encode(prev);
                let line = provenance_line(&e, &prev_hash).unwrap();
                RecordedLine::parse(&line).unwrap()
            })
            .collect()
    }

    fn restore_err(dest: &mut EventLog, lines: Vec<RecordedLine>) -> String {
        let items = lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| Ok((Location::line("f", i as u64 + 1), l)));
        let err = dest.restore(items).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert_eq!(dest.head().unwrap(), None, "a refused restore wrote");
        err.to_string()
    }

    #[test]
    fn a_consistent_forgery_is_still_checked_as_verify_checks() {
        let dir = tempfile::tempdir().unwrap();
        let src = log_with(dir.path(), "src.db", &LINES);
        let mut dest = EventLog::init(dir.path().join("dest.db")).unwrap().0;
        let cases: Vec<(&str, Box<Edit>)> = vec![
            ("f:2: field `version`", Box::new(|e| e[1].version = 3)),
            ("f:3: field `id`", Box::new(|e| e[2].id = e[0].id.clone())),
            (
                "f:2: field `recorded_at`, value \"2020-07-29",
                Box::new(|e| e[1].recorded_at = "2020-07-29T00:00:00.000000Z".into()),
            ),
            (
                "f:1: field `recorded_at`, value \"yesterday\"",
                Box::new(|e| e[0].recorded_at = "yesterday".into()),
            ),
            (
                "f:3: field `schema_version`",
                Box::new(|e| e[2].schema_version = 2),
            ),
            (
                "f:2: field `payload`",
                Box::new(|e| e[1].payload = r#"{"source":"AFP","killed":"many"}"#.into()),
            ),
            (
                "f:3: field `payload`",
                Box::new(|e| e[2].kind = "incident_merged".into()),
            ),
        ];
        for (expected, edit) in cases {
            let err = restore_err(&mut dest, forged(&src, edit));
            assert!(err.starts_with(expected), "{expected}: {err}");
        }
        // Untouched, the same lines restore, and the views equal a rebuild.
        let copied = dest
            .restore(
                forged(&src, |_| {})
                    .into_iter()
                    .map(|l| Ok((Location::default(), l))),
            )
            .unwrap();
        assert_eq!(copied.head, src.head().unwrap());
        let q = crate::views::Query::default();
        let restored = serde_json::to_string(&dest.timeline(&q).unwrap()).unwrap();
        dest.rebuild_views().unwrap();
        assert_eq!(
            serde_json::to_string(&dest.timeline(&q).unwrap()).unwrap(),
            restored
        );
        assert_eq!(
            restored,
            serde_json::to_string(&src.timeline(&q).unwrap()).unwrap()
        );
    }

    #[test]
    fn a_restored_event_is_not_validated_again_against_the_log() {
        // A report on an incident that does not exist: `append` refuses it, but a log that
        // holds one (written under other rules) verifies, and so it is copied as it is.
        let dir = tempfile::tempdir().unwrap();
        let src = log_with(dir.path(), "src.db", &LINES[..1]);
        let lines = forged(&src, |e| {
            e[0].incident = "nowhere".into();
            e[0].kind = "casualties_reported".into();
            e[0].payload = r#"{"killed":3,"source":"AFP"}"#.into();
        });
        let mut dest = EventLog::init(dir.path().join("dest.db")).unwrap().0;
        let items = lines.into_iter().map(|l| Ok((Location::default(), l)));
        assert_eq!(dest.restore(items).unwrap().events, 1);
        assert!(dest.verify(None).unwrap().is_intact());
    }

    #[test]
    fn copy_to_continues_only_the_copy_it_extends() {
        let dir = tempfile::tempdir().unwrap();
        let mut src = log_with(dir.path(), "src.db", &LINES[..2]);
        let mut backup = EventLog::init(dir.path().join("backup.db")).unwrap().0;
        assert_eq!(src.copy_to(&mut backup, None).unwrap().events, 2);
        let ctx = AppendContext::new("other");
        src.append(
            &ctx,
            [Ok((
                Location::default(),
                EventLine::parse(LINES[2]).unwrap(),
            ))],
        )
        .unwrap();
        // Without --since: not empty. With the wrong seq: both checkpoints named.
        assert!(src
            .copy_to(&mut backup, None)
            .unwrap_err()
            .to_string()
            .contains("already holds 2 events"));
        let err = src.copy_to(&mut backup, Some(1)).unwrap_err().to_string();
        let (h1, h2) = (
            src.store.hash_at(1).unwrap().unwrap(),
            src.store.hash_at(2).unwrap().unwrap(),
        );
        assert!(
            err.contains(&format!("2:{h2}")) && err.contains(&format!("1:{h1}")),
            "{err}"
        );
        let copied = src.copy_to(&mut backup, Some(2)).unwrap();
        assert_eq!((copied.events, copied.head), (1, src.head().unwrap()));
        assert_eq!(
            backup.events(&EventFilter::default()).unwrap(),
            src.events(&EventFilter::default()).unwrap()
        );
    }
}
