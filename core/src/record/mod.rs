//! The recorded event and the chain: what an event is once it is in the log, the hash
//! that links it to the one before, checkpoints, and the JSON Lines form of events.

pub mod hash;
pub mod jsonl;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod provenance;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::event::{EventLine, Payload};
use crate::domain::time::parse_recorded;
use crate::error::{Error, Invalid, Result};
use hash::{BatchFields, HashedFields, SealedFields};

/// The message with which every backend refuses an UPDATE or DELETE of an event.
pub const APPEND_ONLY_MESSAGE: &str = "chronicle: the events table is append-only; record a correction, amendment or retraction instead of changing an event";

/// A point in the log that a reader can keep: a sequence number and the hash of that event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Sequence number.
    pub seq: u64,
    /// The event's hash, 64 hex digits.
    pub hash: String,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for Checkpoint {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = || {
            Invalid::new(
                "checkpoint",
                s,
                "a checkpoint is SEQ:HASH as `chronicle verify` prints it, e.g. 42:9f2c...(64 hex digits)",
            )
        };
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        if seq == 0 || hash::parse_hex(hash).is_none() {
            return Err(bad());
        }
        Ok(Checkpoint {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// The record of one write transaction (its provenance): every event of the log format 2
/// names the batch it was written in, and its hash covers the batch's hash.
///
/// The fields are in alphabetical order: `log --json` writes the batch through a
/// `serde_json::Value` (keys sorted) and `log --json --provenance` writes this struct, and both
/// must print the same object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The chronicle version that wrote it.
    pub chronicle_version: String,
    /// The command that wrote it: `append`, `report`, `import acled`, ...
    pub command: String,
    /// The user's correlation id (`--correlation`: a story or ticket id).
    pub correlation: Option<String>,
    /// Batch id (a UUID).
    pub id: String,
    /// SHA-256 of the file the command read (`append` and `import`), hex.
    pub input_sha256: Option<String>,
}

impl Batch {
    /// The batch's hash ([`hash::batch_hash`]).
    pub fn hash(&self) -> [u8; 32] {
        hash::batch_hash(&BatchFields {
            id: &self.id,
            command: &self.command,
            chronicle_version: &self.chronicle_version,
            input_sha256: self.input_sha256.as_deref(),
            correlation: self.correlation.as_deref(),
        })
    }
}

/// How an event is sealed into the chain: the two formats of [`hash`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seal {
    /// Format 1: the hash covers the payload's text.
    V1,
    /// Format 2: the hash covers a salted commitment to the payload, and the batch record.
    V2 {
        /// The payload's commitment.
        commitment: [u8; 32],
        /// The salt; `None` once a redaction erased it with the payload.
        salt: Option<[u8; 32]>,
        /// The batch the event was written in.
        batch: Arc<Batch>,
    },
}

impl Seal {
    /// The seal as the stores' `events` columns hold it: the commitment, the salt and the
    /// batch id (all `None` for format 1; the salt `None` once erased).
    pub fn columns(&self) -> (Option<&[u8]>, Option<&[u8]>, Option<&str>) {
        match self {
            Seal::V1 => (None, None, None),
            Seal::V2 {
                commitment,
                salt,
                batch,
            } => (
                Some(&commitment[..]),
                salt.as_ref().map(|s| &s[..]),
                Some(batch.id.as_str()),
            ),
        }
    }

    /// The format number: 1 or 2.
    pub fn format(&self) -> u8 {
        match self {
            Seal::V1 => 1,
            Seal::V2 { .. } => 2,
        }
    }

    /// The batch, for a format-2 event.
    pub fn batch(&self) -> Option<&Arc<Batch>> {
        match self {
            Seal::V1 => None,
            Seal::V2 { batch, .. } => Some(batch),
        }
    }
}

/// The hash of the last batch record seen, kept while a scan goes through its events (see
/// [`RecordedEvent::recompute_hash_cached`]).
#[derive(Debug, Default)]
pub struct BatchHashes {
    last: Option<(Arc<Batch>, [u8; 32])>,
}

impl BatchHashes {
    /// The hash of `batch`, computed unless it is the record seen last.
    pub fn of(&mut self, batch: &Arc<Batch>) -> [u8; 32] {
        match &self.last {
            Some((b, h)) if Arc::ptr_eq(b, batch) || **b == **batch => *h,
            _ => {
                let h = batch.hash();
                self.last = Some((batch.clone(), h));
                h
            }
        }
    }
}

/// The payload text an erased event keeps in place of its own (JSON `null`, which no kind
/// accepts, so that no reader can mistake it for content).
pub const ERASED_PAYLOAD: &str = "null";

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Global sequence number, contiguous from 1.
    pub seq: u64,
    /// Event id.
    pub id: String,
    /// The incident (stream).
    pub incident: String,
    /// Version within the incident's stream, from 1.
    pub version: u64,
    /// Event kind.
    pub kind: String,
    /// Payload, canonical JSON text.
    pub payload: String,
    /// Payload schema version.
    pub schema_version: u32,
    /// When it was recorded (UTC, fixed width).
    pub recorded_at: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// SHA-256 chain hash, hex.
    pub hash: String,
    /// How it is sealed into the chain (its format).
    pub seal: Seal,
    /// The redaction that erased its payload (`payload` is then [`ERASED_PAYLOAD`]).
    pub redacted_by: Option<String>,
}

impl RecordedEvent {
    /// Whether a redaction erased its payload.
    pub fn is_erased(&self) -> bool {
        self.redacted_by.is_some()
    }

    /// Its hash recomputed from its fields after the event whose hash is `prev`: `Ok(None)`
    /// for a format-1 event whose payload was erased (its hash covered the text, which is
    /// gone: it can only be taken as stored). Refuses a format-2 payload that does not
    /// match its commitment, and seal fields that are not hex.
    pub fn recompute_hash(&self, prev: &[u8; 32]) -> Result<Option<[u8; 32]>, String> {
        self.recompute_hash_cached(prev, &mut BatchHashes::default())
    }

    /// [`RecordedEvent::recompute_hash`] for a scan of many events: the hash of a batch
    /// record (shared by the consecutive events of a batch) is computed once, in `cache`.
    pub fn recompute_hash_cached(
        &self,
        prev: &[u8; 32],
        cache: &mut BatchHashes,
    ) -> Result<Option<[u8; 32]>, String> {
        let (commitment, salt, batch) = match &self.seal {
            Seal::V1 if self.is_erased() => return Ok(None),
            Seal::V1 => return Ok(Some(hash::event_hash(prev, &self.hashed_fields()))),
            Seal::V2 {
                commitment,
                salt,
                batch,
            } => (commitment, salt, batch),
        };
        if !self.is_erased() {
            let salt = salt
                .as_ref()
                .ok_or("the payload's salt is missing, yet the payload is not erased")?;
            if hash::payload_commitment(salt, &self.payload) != *commitment {
                return Err("the payload does not match its commitment: the payload or its salt was altered after it was recorded".into());
            }
        }
        Ok(Some(hash::sealed_event_hash(
            prev,
            &SealedFields {
                fields: self.hashed_fields(),
                commitment,
                batch: &cache.of(batch),
            },
        )))
    }

    /// The typed payload. Fails only on a tampered or corrupt log.
    pub fn payload(&self) -> Result<Payload> {
        if let Some(redaction) = &self.redacted_by {
            return Err(Error::Corrupt {
                seq: self.seq,
                problem: format!("its payload was erased by redaction {redaction}"),
            });
        }
        let current = self.schema_version == crate::domain::upcast::current_version(&self.kind);
        if let Some(payload) =
            crate::domain::event::read_direct(&self.kind, self.schema_version, &self.payload)
        {
            return Ok(payload);
        }
        let value: serde_json::Value =
            serde_json::from_str(&self.payload).map_err(|e| Error::Corrupt {
                seq: self.seq,
                problem: format!("payload is not JSON: {e}"),
            })?;
        let value = if current {
            value
        } else {
            crate::domain::upcast::upcast(&self.kind, self.schema_version, value).map_err(|e| {
                Error::Corrupt {
                    seq: self.seq,
                    problem: e.to_string(),
                }
            })?
        };
        Payload::from_json(&self.kind, value).map_err(|e| Error::Corrupt {
            seq: self.seq,
            problem: format!("payload does not fit its kind `{}`: {e}", self.kind),
        })
    }

    /// The fields the hash covers.
    pub fn hashed_fields(&self) -> HashedFields<'_> {
        HashedFields {
            seq: self.seq,
            id: &self.id,
            incident: &self.incident,
            version: self.version,
            kind: &self.kind,
            schema_version: self.schema_version,
            recorded_at: &self.recorded_at,
            recorded_by: &self.recorded_by,
            payload: &self.payload,
        }
    }

    /// The event as a line of `chronicle log --json`, which `chronicle append` reads back.
    pub fn to_line(&self) -> EventLine {
        EventLine {
            id: Some(self.id.clone()),
            incident: self.incident.clone(),
            kind: self.kind.clone(),
            payload: serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null),
            expected_version: None,
            seq: Some(self.seq),
            version: Some(self.version),
            schema_version: Some(self.schema_version),
            recorded_at: Some(self.recorded_at.clone()),
            recorded_by: Some(self.recorded_by.clone()),
            prev_hash: None,
            hash: Some(self.hash.clone()),
            format: (self.seal.format() > 1).then_some(self.seal.format()),
            payload_commitment: match &self.seal {
                Seal::V2 { commitment, .. } => Some(hex::encode(commitment)),
                Seal::V1 => None,
            },
            payload_salt: match &self.seal {
                Seal::V2 { salt, .. } => salt.map(hex::encode),
                Seal::V1 => None,
            },
            batch: self
                .seal
                .batch()
                .and_then(|b| serde_json::to_value(&**b).ok()),
            redacted_by: self.redacted_by.clone(),
        }
    }

    /// The recorded time.
    pub fn recorded_time(&self) -> Option<DateTime<Utc>> {
        parse_recorded(&self.recorded_at)
    }
}

/// The outcome of appending one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Written at this sequence number.
    New {
        /// Sequence number.
        seq: u64,
        /// Event id.
        id: String,
        /// Incident.
        incident: String,
        /// Version in the incident's stream.
        version: u64,
        /// Kind.
        kind: &'static str,
    },
    /// An event with this id (the same incident and kind) is in the log but its payload was
    /// erased by a redaction, so its content cannot be compared: taken as the same event,
    /// nothing written (a retry must never bring an erased text back).
    Erased {
        /// Where it is.
        seq: u64,
        /// Its id.
        id: String,
        /// The redaction that erased it.
        redaction: String,
    },
    /// The same event (same id, same content) was already in the log; nothing written.
    Duplicate {
        /// Where it already is.
        seq: u64,
        /// Its id.
        id: String,
    },
}

/// Selects events for `EventLog::events` and `EventLog::scan`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this incident's stream.
    pub incident: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only events after this sequence number.
    pub since_seq: Option<u64>,
    /// Only events up to and including this sequence number.
    pub until_seq: Option<u64>,
    /// Only the events of this batch.
    pub batch: Option<String>,
}
