//! `verify`: recomputes the whole hash chain and the Merkle tree over it, and checks
//! everything the log promises.

use std::collections::HashMap;

use crate::domain::upcast::current_version;
use crate::error::Result;
use crate::log::EventLog;
use crate::record::hash::{self, GENESIS};
use crate::record::{BatchHashes, Checkpoint, EventFilter};
use crate::views::maintain::PROGRESS_EVERY;

/// The hash `event` chains with after `prev`, and whether it is taken as stored (a format-1
/// event whose payload was erased); or what is wrong with it.
fn chain_link(
    event: &crate::record::RecordedEvent,
    prev: &[u8; 32],
    batches: &mut BatchHashes,
) -> Result<([u8; 32], bool), String> {
    let stored = hash::parse_hex(&event.hash);
    let (computed, as_stored) = match event.recompute_hash_cached(prev, batches)? {
        Some(computed) => (computed, false),
        None => (
            stored.ok_or_else(|| format!("stored hash {:?} is not 64 hex digits", event.hash))?,
            true,
        ),
    };
    if stored != Some(computed) {
        let what = match event.seal.format() {
            1 => "the event",
            _ => "the event, its batch record",
        };
        return Err(format!(
            "hash mismatch: stored {}, computed {} ({what} or one before it was altered, or events were reordered)",
            event.hash,
            hex::encode(computed)
        ));
    }
    Ok((computed, as_stored))
}

/// The first thing found wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The sequence number of the first bad event (or where one is missing); `None` for
    /// problems of the log as a whole (missing triggers).
    pub seq: Option<u64>,
    /// What is wrong.
    pub problem: String,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many events were checked.
    pub events: u64,
    /// The last event checked: the checkpoint a reader can keep.
    pub head: Option<Checkpoint>,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// The checkpoint that was checked, if one was given, and whether it still holds.
    pub checkpoint: Option<(Checkpoint, bool)>,
    /// The format-1 events whose payload a redaction erased: their own hashes covered the
    /// erased text, so they are taken as stored (the chain after them still links to them).
    pub taken_as_stored: Vec<u64>,
    /// How many events of each format were checked: `[format 1, format 2]`.
    pub formats: [u64; 2],
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.failure.is_none() && self.checkpoint.as_ref().is_none_or(|(_, ok)| *ok)
    }
}

impl EventLog {
    /// Recomputes the hash chain over every event and checks sequence contiguity, stream
    /// versions, recorded times that never go backwards, payloads that fit their kind, the
    /// Merkle tree's stored hashes (recomputed from the chain), the append-only triggers
    /// and, if given, that the log still extends `checkpoint`.
    ///
    /// Problems found in the log are reported in the [`VerifyReport`], not as errors; an
    /// error means the file could not be read at all.
    pub fn verify(&self, checkpoint: Option<&Checkpoint>) -> Result<VerifyReport> {
        self.verify_with_progress(checkpoint, None)
    }

    /// [`EventLog::verify`], calling `progress` with the number of events checked so far
    /// few thousand events.
    pub fn verify_with_progress(
        &self,
        checkpoint: Option<&Checkpoint>,
        progress: Option<&dyn Fn(u64)>,
    ) -> Result<VerifyReport> {
        let mut report = VerifyReport {
            events: 0,
            head: None,
            failure: None,
            checkpoint: None,
            taken_as_stored: Vec::new(),
            formats: [0, 0],
        };
        let mut checkpoint_ok = None;
        let mut prev = GENESIS;
        let mut prev_recorded = String::new();
        let mut versions: HashMap<String, u64> = HashMap::new();
        let mut expected_seq = 1u64;
        let mut scanned = 0u64;
        let (db, mut tree_problem): (&dyn crate::store::Reads, _) = (&*self.store, None);
        let mut tree = crate::tree::Check::new(db)?;
        let mut batches = BatchHashes::default();
        self.scan(&EventFilter::default(), |event| {
            scanned += 1;
            if let Some(progress) = progress {
                if scanned % PROGRESS_EVERY == 0 {
                    progress(scanned);
                }
            }
            if report.failure.is_some() {
                return Ok(());
            }
            let fail = |problem: String| Some(Failure {
                seq: Some(event.seq.min(expected_seq)),
                problem,
            });
            if event.seq != expected_seq {
                report.failure = fail(format!(
                    "the sequence has a gap: expected seq {expected_seq}, found seq {} (an event was deleted or the rows were rewritten)",
                    event.seq
                ));
                return Ok(());
            }
            let computed = match chain_link(&event, &prev, &mut batches) {
                Ok((computed, as_stored)) => {
                    if as_stored {
                        report.taken_as_stored.push(event.seq);
                    }
                    computed
                }
                Err(problem) => {
                    report.failure = fail(problem);
                    return Ok(());
                }
            };
            if let Some(problem) = self.content_problem(&event, &prev_recorded, &mut versions)? {
                report.failure = fail(problem);
                return Ok(());
            }
            report.formats[usize::from(event.seal.format() > 1)] += 1;
            if let Some(cp) = checkpoint {
                if cp.seq == event.seq {
                    checkpoint_ok = Some(cp.hash == event.hash);
                }
            }
            if tree_problem.is_none() {
                tree_problem = tree.push(db, &computed)?;
            }
            prev = computed;
            prev_recorded = event.recorded_at.clone();
            report.events += 1;
            report.head = Some(Checkpoint {
                seq: event.seq,
                hash: event.hash,
            });
            expected_seq += 1;
            Ok(())
        })?;
        if report.failure.is_none() {
            report.failure = self.log_problem(tree, tree_problem)?;
        }
        if let Some(cp) = checkpoint {
            report.checkpoint = Some((cp.clone(), checkpoint_ok.unwrap_or(false)));
        }
        Ok(report)
    }

    /// What is wrong with one event once its hash chains: its recorded time, its stream
    /// version (counted in `versions`), its schema version, its payload or its erasure.
    fn content_problem(
        &self,
        event: &crate::record::RecordedEvent,
        prev_recorded: &str,
        versions: &mut HashMap<String, u64>,
    ) -> Result<Option<String>> {
        if event.recorded_time().is_none() {
            return Ok(Some(format!(
                "recorded time {:?} is not a UTC time",
                event.recorded_at
            )));
        }
        if event.recorded_at.as_str() < prev_recorded {
            return Ok(Some(format!(
                "recorded time goes backwards: {} after {}",
                event.recorded_at, prev_recorded
            )));
        }
        let version = versions.entry(event.incident.clone()).or_insert(0);
        if event.version != *version + 1 {
            return Ok(Some(format!(
                "incident `{}` jumps from version {} to {}",
                event.incident, version, event.version
            )));
        }
        *version += 1;
        if event.schema_version > current_version(&event.kind) {
            return Ok(Some(format!(
                "payload schema version {} is newer than this chronicle knows for `{}` ({})",
                event.schema_version,
                event.kind,
                current_version(&event.kind)
            )));
        }
        match &event.redacted_by {
            Some(by) => self.erasure_problem(&event.id, event.seq, by),
            None => Ok(event.payload().err().map(|e| e.to_string())),
        }
    }

    /// Whether `by`, which erased event `id` (at `seq`), is a redaction of it after it.
    fn erasure_problem(&self, id: &str, seq: u64, by: &str) -> Result<Option<String>> {
        let redaction = self.store.event_by_id(by)?;
        let is_its_redaction = redaction.is_some_and(|r| {
            r.seq > seq
                && matches!(r.payload(), Ok(crate::domain::event::Payload::EventRedacted(p)) if p.event == id)
        });
        Ok((!is_its_redaction).then(|| {
            format!("the payload was erased, naming `{by}`, which is no redaction of this event later in the log: only a redaction may erase a payload")
        }))
    }

    /// What is wrong with the log as a whole, once its events passed: the Merkle tree's
    /// stored hashes (`tree_problem`: the first found while scanning), then the guards.
    fn log_problem(
        &self,
        tree: crate::tree::Check,
        tree_problem: Option<String>,
    ) -> Result<Option<Failure>> {
        let at_end = tree.finish(&*self.store)?;
        let problem = match tree_problem.or(at_end) {
            Some(problem) => Some(problem),
            None => self.trigger_problem()?,
        };
        Ok(problem.map(|problem| Failure { seq: None, problem }))
    }

    /// Are the append-only guards in place, unaltered?
    fn trigger_problem(&self) -> Result<Option<String>> {
        let broken = self.store.broken_guards()?;
        Ok((!broken.is_empty()).then(|| {
            format!(
                "the append-only triggers are missing or altered: {} (someone changed the schema; events can then be rewritten without the log refusing it)",
                broken.join(", ")
            )
        }))
    }
}
