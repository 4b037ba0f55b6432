//! One write transaction on the log: each event validated against the rules and the log,
//! given its sequence number, version, recorded time, id and chain hash, inserted, and
//! applied to the views, all before the transaction commits.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand_core::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::event::written_version;
use crate::domain::event::{NewEvent, Payload, MAX_PAYLOAD_BYTES};
use crate::domain::rules;
use crate::domain::time::{format_recorded, parse_recorded};
use crate::error::{Error, Invalid, Result};
use crate::log::validate;
use crate::record::hash::{self, SealedFields, GENESIS};
use crate::record::{Appended, Batch, RecordedEvent, Seal};
use crate::store::{Reads, Writes};
use crate::tree::Growth;
use crate::views::maintain::{self, Batch as ViewBatch};

/// Where recorded times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed time (tests and reproducible fixtures): event ids are then derived from the
    /// time and the sequence number, so the whole log is reproducible.
    Fixed(DateTime<Utc>),
}

/// Who appends, and when.
#[derive(Debug, Clone)]
pub struct AppendContext {
    /// Recorded as `recorded_by`.
    pub recorded_by: String,
    /// Source of recorded times.
    pub clock: Clock,
    /// Accept province names the gazetteer does not know (kept as written).
    pub allow_unknown_place: bool,
    /// Accept what looks like a slip: an incident id that is not a slug, an incident date
    /// before 1900 or in the future, a publication after the recorded time (the rules:
    /// `domain::rules::plausible`).
    pub allow_implausible: bool,
    /// Accept a breakdown by status whose parts add up to more than the exact total of the
    /// same report (`domain::rules::consistent`), recorded as the source gave it.
    pub allow_inconsistent: bool,
    /// What the transaction's batch record says of where its events came from.
    pub origin: Origin,
}

/// Where a write transaction's events came from, as its batch record keeps it (see
/// [`crate::record::Batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The command: `append`, `report`, `import acled`, ...
    pub command: String,
    /// SHA-256 of the file the command read, hex (`append` and `import`).
    pub input_sha256: Option<String>,
    /// The user's correlation id (a story or ticket id); never empty.
    pub correlation: Option<String>,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            command: "append".into(),
            input_sha256: None,
            correlation: None,
        }
    }
}

impl AppendContext {
    /// Appends by `recorded_by` at the system clock's times.
    pub fn new(recorded_by: impl Into<String>) -> Self {
        AppendContext {
            recorded_by: recorded_by.into(),
            clock: Clock::System,
            allow_unknown_place: false,
            allow_implausible: false,
            allow_inconsistent: false,
            origin: Origin::default(),
        }
    }
}

/// An open write transaction on the log; see [`crate::EventLog::transaction`].
pub struct Appender<'a> {
    tx: Box<dyn Writes + 'a>,
    ctx: &'a AppendContext,
    seq: u64,
    prev_hash: [u8; 32],
    recorded_at: String,
    /// The same time, for the plausibility rules.
    recorded: DateTime<Utc>,
    /// The streams read and the view rows not yet written, for this transaction only.
    batch: ViewBatch,
    /// The Merkle tree, grown by one leaf per event.
    growth: Growth,
    /// This transaction's batch record (and its hash), written before its first event.
    record: Option<(Arc<Batch>, [u8; 32])>,
    /// The secret this transaction's salts are derived from (see [`Appender::new_salt`]).
    salt_key: Option<[u8; 32]>,
    /// Client ids that [`Appender::prefetch`] found free in the log and no event of this
    /// transaction has taken since: their events need no lookup.
    free_ids: HashSet<String>,
}

impl std::fmt::Debug for Appender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("location", &self.tx.location())
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl<'a> Appender<'a> {
    /// Starts appending in the write transaction `tx`, continuing the log after `head`.
    pub(crate) fn begin(tx: Box<dyn Writes + 'a>, ctx: &'a AppendContext) -> Result<Self> {
        // Views left behind (by an older chronicle, or a plain INSERT) catch up first.
        maintain::catch_up(&*tx)?;
        let growth = Growth::begin(&*tx)?;
        let (seq, prev_hash, last_recorded) = match tx.head()? {
            Some(head) => {
                let h = hash::parse_hex(&head.hash).ok_or_else(|| Error::Corrupt {
                    seq: head.seq,
                    problem: "stored hash is not 64 hex digits".into(),
                })?;
                (head.seq, h, Some(head.recorded_at))
            }
            None => (0, GENESIS, None),
        };
        let now = match ctx.clock {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
        };
        let mut recorded_at = format_recorded(now);
        // Recorded times never go backwards along the sequence, whatever the clock says.
        if let Some(last) = last_recorded {
            if last > recorded_at {
                recorded_at = last;
            }
        }
        let recorded = parse_recorded(&recorded_at).unwrap_or(now);
        Ok(Appender {
            tx,
            ctx,
            seq,
            prev_hash,
            recorded_at,
            recorded,
            batch: ViewBatch::new(seq),
            growth,
            record: None,
            salt_key: None,
            free_ids: HashSet::new(),
        })
    }

    /// Writes the views of what this transaction appended and commits it.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.batch.flush(&*self.tx)?;
        self.tx.commit()
    }

    /// The log as this transaction sees it (with the events it appended so far; the view
    /// tables lag behind until it commits).
    pub(crate) fn reads(&self) -> &dyn Reads {
        &*self.tx
    }

    /// Reads ahead what appending `events` next will ask of the log, a read for all of
    /// them instead of one or two per event (on a database server, each read is a round
    /// trip): whether their client ids are taken, and the streams of their incidents (kept
    /// cached until the next prefetch). First writes the views of the events appended
    /// before, while their streams are still cached. Changes nothing of what is appended.
    pub fn prefetch<'e>(&mut self, events: impl IntoIterator<Item = &'e NewEvent>) -> Result<()> {
        let mut ids: Vec<&str> = Vec::new();
        let mut incidents: Vec<&str> = Vec::new();
        for e in events {
            ids.extend(e.id.as_deref());
            incidents.push(&e.incident);
        }
        self.prefetch_ids(ids, incidents)
    }

    /// [`Appender::prefetch`] for a caller that knows the client ids and incidents of what
    /// it will append before it makes the events (the importer, whose events depend on what
    /// it reads): whether `ids` are taken, and the streams of `incidents`.
    pub(crate) fn prefetch_ids(&mut self, ids: Vec<&str>, incidents: Vec<&str>) -> Result<()> {
        self.free_ids = self.batch.read_ahead(&*self.tx, ids, incidents)?;
        Ok(())
    }

    /// The incident's current version (0 when it has no events).
    pub fn stream_version(&mut self, incident: &str) -> Result<u64> {
        Ok(self.batch.streams.stream(&*self.tx, incident)?.version)
    }

    /// The stream of `incident` as this transaction sees it (with the events it appended).
    pub(crate) fn stream(&mut self, incident: &str) -> Result<&crate::streams::Stream> {
        self.batch.streams.stream(&*self.tx, incident)
    }

    /// Validates and appends one event. A redaction is refused: only
    /// [`crate::EventLog::redact`] records one, with the erasure it stands for.
    pub fn append(&mut self, event: NewEvent) -> Result<Appended> {
        if let Payload::EventRedacted(_) = event.payload {
            return Err(Invalid::new(
                "kind",
                "event_redacted",
                "a redaction is recorded by `chronicle redact`, which erases the payload in the same transaction; it cannot be appended as an event",
            )
            .into());
        }
        self.append_any(event)
    }

    /// Erases the payload of event `target` (in `incident`'s stream), which the redaction
    /// `redaction`, just appended in this transaction, redacts; the views of the incident
    /// are then recomputed without it when the transaction commits.
    pub(crate) fn erase(&mut self, incident: &str, target: &str, redaction: &str) -> Result<()> {
        self.tx.erase_payload(target, redaction)?;
        self.batch.streams.forget(incident);
        Ok(())
    }

    /// What an event with a client id that is already in the log is: the same event
    /// (`Duplicate`), an erased one taken as the same (`Erased`: a retry must never bring an
    /// erased text back), or another (refused); `None` when the id is free.
    fn already_present(
        &mut self,
        id: &str,
        event: &NewEvent,
        payload_json: &str,
    ) -> Result<Option<Appended>> {
        if self.free_ids.contains(id) {
            return Ok(None);
        }
        let Some(existing) = self.tx.event_by_id(id)? else {
            return Ok(None);
        };
        let same_stream =
            existing.incident == event.incident && existing.kind == event.payload.kind();
        if let (Some(redaction), true) = (&existing.redacted_by, same_stream) {
            return Ok(Some(Appended::Erased {
                seq: existing.seq,
                id: existing.id,
                redaction: redaction.clone(),
            }));
        }
        let same_content = same_stream
            && (existing.payload == payload_json
                || existing.payload
                    == validate::as_stored(
                        &*self.tx,
                        &mut self.batch.streams,
                        event,
                        self.ctx.allow_unknown_place,
                    )?
                    .canonical_json());
        if same_content {
            return Ok(Some(Appended::Duplicate {
                seq: existing.seq,
                id: existing.id,
            }));
        }
        Err(Error::IdConflict {
            location: Default::default(),
            id: id.to_string(),
            seq: existing.seq,
        })
    }

    /// [`Appender::append`] for every kind, redactions included.
    pub(crate) fn append_any(&mut self, mut event: NewEvent) -> Result<Appended> {
        let payload_json = event.payload.canonical_json();
        if payload_json.len() > MAX_PAYLOAD_BYTES {
            return Err(Invalid::new(
                "payload",
                "",
                format!(
                    "the payload is {} bytes, more than the limit of {MAX_PAYLOAD_BYTES} bytes for one event; shorten its text or attributes",
                    payload_json.len()
                ),
            )
            .into());
        }
        if let Some(id) = &event.id {
            rules::event_id(id)?;
            if let Some(outcome) = self.already_present(id, &event, &payload_json)? {
                return Ok(outcome);
            }
        }
        let current = self.stream_version(&event.incident)?;
        if let Some(expected) = event.expected_version {
            if expected != current {
                return Err(Error::VersionConflict {
                    location: Default::default(),
                    incident: event.incident.clone(),
                    expected,
                    actual: current,
                });
            }
        }
        // Validation may normalise place names in these two kinds; keep what was given to
        // see whether the canonical text must be made again.
        let given = matches!(
            event.payload,
            Payload::IncidentReported(_) | Payload::IncidentAmended(_)
        )
        .then(|| event.payload.clone());
        self.validate(&mut event)?;
        let payload_json = match given {
            Some(given) if given != event.payload => event.payload.canonical_json(),
            _ => payload_json,
        };
        let seq = self.seq + 1;
        let id = match event.id.take() {
            Some(id) => id,
            None => self.new_id(seq),
        };
        let (recorded, hash) = self.seal(RecordedEvent {
            seq,
            id,
            incident: event.incident,
            version: current + 1,
            kind: event.payload.kind().to_string(),
            payload: payload_json,
            schema_version: written_version(&event.payload),
            recorded_at: self.recorded_at.clone(),
            recorded_by: self.ctx.recorded_by.clone(),
            hash: String::new(),
            seal: Seal::V1,
            redacted_by: None,
        })?;
        // Its id is taken from now on: a later event with the same one is looked up.
        self.free_ids.remove(&recorded.id);
        self.tx.insert_event(&recorded)?;
        self.growth.push(&*self.tx, &hash)?;
        // The views change in the same transaction as the log.
        let kind = event.payload.kind();
        self.batch
            .apply(&*self.tx, &recorded, Some(event.payload))?;
        self.seq = seq;
        self.prev_hash = hash;
        Ok(Appended::New {
            seq,
            id: recorded.id,
            incident: recorded.incident,
            version: recorded.version,
            kind,
        })
    }

    /// Checks `event` against the rules and the log (normalising its place names), then,
    /// unless the append is forced, against the plausibility rules at the recorded time.
    fn validate(&mut self, event: &mut NewEvent) -> Result<()> {
        validate::event(
            &*self.tx,
            &mut self.batch.streams,
            event,
            self.ctx.allow_unknown_place,
        )?;
        if !self.ctx.allow_implausible {
            rules::plausible(event, self.recorded)?;
        }
        if !self.ctx.allow_inconsistent {
            rules::consistent(event)?;
        }
        Ok(())
    }

    /// Seals `event` into the chain in the log format 2: a fresh salt, the payload's
    /// commitment, this transaction's batch record (written before its first event), and
    /// the hash.
    fn seal(&mut self, mut event: RecordedEvent) -> Result<(RecordedEvent, [u8; 32])> {
        let (batch, batch_hash) = match &self.record {
            Some(record) => record.clone(),
            None => {
                let origin = &self.ctx.origin;
                let batch = Arc::new(Batch {
                    id: self.new_batch_id(event.seq),
                    command: origin.command.clone(),
                    chronicle_version: env!("CARGO_PKG_VERSION").to_string(),
                    input_sha256: origin.input_sha256.clone(),
                    correlation: origin.correlation.clone(),
                });
                self.tx.insert_batch(&batch)?;
                let batch_hash = batch.hash();
                let record = (batch, batch_hash);
                self.record = Some(record.clone());
                record
            }
        };
        let salt = self.new_salt(event.seq);
        let commitment = hash::payload_commitment(&salt, &event.payload);
        let computed = hash::sealed_event_hash(
            &self.prev_hash,
            &SealedFields {
                fields: event.hashed_fields(),
                commitment: &commitment,
                batch: &batch_hash,
            },
        );
        event.seal = Seal::V2 {
            commitment,
            salt: Some(salt),
            batch,
        };
        event.hash = hex::encode(computed);
        Ok((event, computed))
    }

    /// The salt of event `seq`: 32 bytes no one can guess (derived from a per-transaction
    /// secret from the system's randomness); with a fixed clock (reproducible fixtures),
    /// derived from the sequence number alone, so that the whole log is reproducible (and its
    /// salts predictable: never keep real reports under a fixed clock).
    fn new_salt(&mut self, seq: u64) -> [u8; 32] {
        let key = match self.ctx.clock {
            // One secret of 32 random bytes per transaction, never stored: each salt is
            // SHA-256 of it and the seq (a keyed pseudo-random function), so a large batch
            // costs one read of the system's randomness, not one per event.
            Clock::System => *self.salt_key.get_or_insert_with(|| {
                let mut key = [0u8; 32];
                rand_core::OsRng.fill_bytes(&mut key);
                key
            }),
            Clock::Fixed(_) => *b"chronicle-fixed-clock-salt-key!!",
        };
        Sha256::new()
            .chain_update(key)
            .chain_update(seq.to_be_bytes())
            .finalize()
            .into()
    }

    /// A batch id: a UUIDv7, as event ids; with a fixed clock, derived from the batch's
    /// first sequence number and marked so that it never reads as an event's id.
    fn new_batch_id(&self, first_seq: u64) -> String {
        match self.ctx.clock {
            Clock::System => uuid::Uuid::now_v7().to_string(),
            Clock::Fixed(t) => {
                let mut random = [0u8; 10];
                random[0] = 0xba;
                random[2..].copy_from_slice(&first_seq.to_be_bytes());
                let millis = u64::try_from(t.timestamp_millis()).unwrap_or(0);
                uuid::Builder::from_unix_timestamp_millis(millis, &random)
                    .into_uuid()
                    .to_string()
            }
        }
    }

    fn new_id(&self, seq: u64) -> String {
        match self.ctx.clock {
            Clock::System => uuid::Uuid::now_v7().to_string(),
            Clock::Fixed(t) => {
                let mut random = [0u8; 10];
                random[2..].copy_from_slice(&seq.to_be_bytes());
                let millis = u64::try_from(t.timestamp_millis()).unwrap_or(0);
                uuid::Builder::from_unix_timestamp_millis(millis, &random)
                    .into_uuid()
                    .to_string()
            }
        }
    }
}
