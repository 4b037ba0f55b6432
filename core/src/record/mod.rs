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

use chrono::{DateTime, Utc};

use crate::domain::event::{EventLine, Payload};
use crate::domain::time::parse_recorded;
use crate::error::{Error, Invalid, Result};
use hash::HashedFields;

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
}

impl RecordedEvent {
    /// The typed payload. Fails only on a tampered or corrupt log.
    pub fn payload(&self) -> Result<Payload> {
        if let Some(payload) = Payload::from_json_text(&self.kind, &self.payload) {
            return Ok(payload);
        }
        let value: serde_json::Value =
            serde_json::from_str(&self.payload).map_err(|e| Error::Corrupt {
                seq: self.seq,
                problem: format!("payload is not JSON: {e}"),
            })?;
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
}
