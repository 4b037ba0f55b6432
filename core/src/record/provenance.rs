//! The exact JSON Lines form of recorded events: `chronicle log --json --provenance` writes
//! it and `chronicle append --restore` reads it back (see `log/copy.rs`).
//!
//! A line holds every field the hash covers, as stored: the payload is written as its stored
//! JSON text byte for byte (not re-serialized), so that the hash recomputes from the line
//! alone; and `prev_hash`, the hash of the event before it (64 zeros before event 1), so
//! that the line says which log it continues. The encoding of the hash is the one of
//! [`super::hash`], independent of the storage backend: a line written from one backend
//! restores into another.
//!
//! ```text
//! {"id","incident","kind","payload","seq","version","schema_version","recorded_at",
//!  "recorded_by","prev_hash","hash"[,"format","payload_commitment","payload_salt","batch",
//!  "redacted_by"]}
//! ```
//!
//! The bracketed fields are those of the log format 2 (`format` is then `2`), absent for a
//! format-1 event, so that lines written before the format 2 read as they always did. An
//! erased payload is written as `null`, with its `redacted_by` and without its salt.
//!
//! The field names and the order are those of `log --json`, plus `prev_hash`; a plain
//! `chronicle append` reads a provenance line too (it ignores the recorded fields and records
//! the event anew).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Invalid, Result};
use crate::record::hash::{self, GENESIS};
use crate::record::{Batch, RecordedEvent, Seal, ERASED_PAYLOAD};

/// A recorded event as read from a provenance line, with the hash it says comes before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLine {
    /// The event, every field as the line gives it.
    pub event: RecordedEvent,
    /// The hash of the event before it (64 zeros before event 1), as the line gives it.
    pub prev_hash: String,
}

/// The hash "before" the first event, as a provenance line writes it.
pub fn genesis_hex() -> String {
    hex::encode(GENESIS)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    incident: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    payload: &'a RawValue,
    seq: u64,
    version: u64,
    schema_version: u32,
    #[serde(borrow)]
    recorded_at: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    recorded_by: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    prev_hash: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    hash: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_commitment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<Batch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redacted_by: Option<String>,
}

/// `event` as one provenance line (without the newline), after the event whose hash is
/// `prev_hash`.
///
/// Refuses (as [`Error::Corrupt`]) a stored payload that is not JSON text on one line
/// exactly as stored: chronicle never stores one, and such an event could not be restored
/// from the line. `chronicle copy` copies it byte for byte all the same.
pub fn provenance_line(event: &RecordedEvent, prev_hash: &str) -> Result<String> {
    let corrupt = |problem: String| Error::Corrupt {
        seq: event.seq,
        problem,
    };
    let payload: &RawValue = serde_json::from_str(&event.payload).map_err(|e| {
        corrupt(format!(
            "the stored payload is not JSON ({e}), so it cannot be written as a line to restore; `chronicle copy` copies the log as it is"
        ))
    })?;
    if payload.get() != event.payload || event.payload.contains(['\n', '\r']) {
        return Err(corrupt(
            "the stored payload has blanks or line breaks around its JSON, so it cannot be written as one line that restores byte for byte; `chronicle copy` copies the log as it is".into(),
        ));
    }
    let line = Line {
        id: event.id.as_str().into(),
        incident: event.incident.as_str().into(),
        kind: event.kind.as_str().into(),
        payload,
        seq: event.seq,
        version: event.version,
        schema_version: event.schema_version,
        recorded_at: event.recorded_at.as_str().into(),
        recorded_by: event.recorded_by.as_str().into(),
        prev_hash: prev_hash.into(),
        hash: event.hash.as_str().into(),
        format: (event.seal.format() > 1).then_some(event.seal.format()),
        payload_commitment: match &event.seal {
            Seal::V2 { commitment, .. } => Some(hex::encode(commitment)),
            Seal::V1 => None,
        },
        payload_salt: match &event.seal {
            Seal::V2 { salt, .. } => salt.map(hex::encode),
            Seal::V1 => None,
        },
        batch: event.seal.batch().map(|b| (**b).clone()),
        redacted_by: event.redacted_by.clone(),
    };
    serde_json::to_string(&line).map_err(|e| corrupt(format!("cannot be written as JSON: {e}")))
}

impl RecordedLine {
    /// Reads one provenance line. Every field is required; unknown fields are refused; the
    /// payload is kept as the exact text of the line, and `prev_hash` must be 64 lowercase
    /// hex digits. Whether the event belongs where it is restored is decided by the log.
    pub fn parse(line: &str) -> Result<RecordedLine, Invalid> {
        let parsed: Line<'_> = serde_json::from_str(line).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let field = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.contains("field"))
                .unwrap_or("line")
                .to_string();
            Invalid::new(
                field,
                "",
                format!("{msg}; a line to restore is one that `chronicle log --json --provenance` wrote, with every recorded field and `prev_hash`"),
            )
        })?;
        if !is_hash(&parsed.prev_hash) {
            return Err(Invalid::new(
                "prev_hash",
                &parsed.prev_hash,
                "the hash of the event before, 64 lowercase hex digits (64 zeros before event 1)",
            ));
        }
        let seal = seal_of(
            parsed.format,
            parsed.payload_commitment,
            parsed.payload_salt,
            parsed.batch,
        )?;
        let erased = parsed.redacted_by.is_some();
        if erased != (parsed.payload.get() == ERASED_PAYLOAD) {
            return Err(Invalid::new(
                "redacted_by",
                parsed.redacted_by.unwrap_or_default(),
                "an erased payload is `null` and names the redaction that erased it in `redacted_by`; a line has both or neither",
            ));
        }
        if let Seal::V2 { salt: Some(_), .. } = &seal {
            if erased {
                return Err(Invalid::new(
                    "payload_salt",
                    "",
                    "an erased payload's salt is erased with it",
                ));
            }
        }
        Ok(RecordedLine {
            prev_hash: parsed.prev_hash.into_owned(),
            event: RecordedEvent {
                seq: parsed.seq,
                id: parsed.id.into_owned(),
                incident: parsed.incident.into_owned(),
                version: parsed.version,
                kind: parsed.kind.into_owned(),
                payload: parsed.payload.get().to_string(),
                schema_version: parsed.schema_version,
                recorded_at: parsed.recorded_at.into_owned(),
                recorded_by: parsed.recorded_by.into_owned(),
                hash: parsed.hash.into_owned(),
                seal,
                redacted_by: parsed.redacted_by,
            },
        })
    }
}

/// The seal a line's format fields describe: format 1 without them; format 2 with a
/// commitment and a batch record (and a salt unless the payload was erased).
pub(crate) fn seal_of(
    format: Option<u8>,
    commitment: Option<String>,
    salt: Option<String>,
    batch: Option<Batch>,
) -> Result<Seal, Invalid> {
    match format.unwrap_or(1) {
        1 => {
            if commitment.is_some() || salt.is_some() || batch.is_some() {
                return Err(Invalid::new(
                    "format",
                    1,
                    "a format-1 line has no `payload_commitment`, `payload_salt` or `batch` (a format-2 line says `\"format\":2`)",
                ));
            }
            Ok(Seal::V1)
        }
        2 => {
            let commitment = commitment
                .filter(|c| is_hash(c))
                .and_then(|c| hash::parse_hex(&c))
                .ok_or_else(|| {
                    Invalid::new(
                        "payload_commitment",
                        "",
                        "a format-2 line has the payload's commitment, 64 lowercase hex digits",
                    )
                })?;
            let salt = match salt {
                None => None,
                Some(s) => Some(hash::parse_hex(&s).filter(|_| is_hash(&s)).ok_or_else(|| {
                    Invalid::new(
                        "payload_salt",
                        &s,
                        "the payload's salt is 64 lowercase hex digits",
                    )
                })?),
            };
            let batch = batch.ok_or_else(|| {
                Invalid::new(
                    "batch",
                    "",
                    "a format-2 line has the batch record it was written in",
                )
            })?;
            Ok(Seal::V2 {
                commitment,
                salt,
                batch: std::sync::Arc::new(batch),
            })
        }
        other => Err(Invalid::new(
            "format",
            other,
            "the log formats this chronicle knows are 1 and 2; a newer chronicle wrote this line",
        )),
    }
}

/// Whether `s` is a hash as the log stores it: 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl RecordedEvent {
    /// Checks that this event's stored hash is the one its fields give after the event whose
    /// hash is `prev`, and returns it (raw) to chain the next event. The refusal says what
    /// the fields give instead.
    pub fn check_hash(&self, prev: &[u8; 32]) -> Result<[u8; 32], String> {
        let Some(computed) = self.recompute_hash(prev)? else {
            // A format-1 event whose payload was erased: its hash is taken as stored.
            return hash::parse_hex(&self.hash)
                .filter(|_| is_hash(&self.hash))
                .ok_or_else(|| format!("the hash {:?} is not 64 lowercase hex digits", self.hash));
        };
        if self.hash == hex::encode(computed) {
            Ok(computed)
        } else {
            Err(format!(
                "the hash does not recompute: the event's fields and the hash before it give {}; the event (or its hash) was altered after it was recorded",
                hex::encode(computed)
            ))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event() -> RecordedEvent {
        let mut e = RecordedEvent {
            seq: 1,
            id: "e1".into(),
            incident: "i".into(),
            version: 1,
            kind: "responsibility_denied".into(),
            payload: r#"{"actor":"A","source":"S \"q\" é"}"#.into(),
            schema_version: 1,
            recorded_at: "2020-07-30T00:00:00.000000Z".into(),
            recorded_by: "me".into(),
            hash: String::new(),
            seal: Seal::V1,
            redacted_by: None,
        };
        e.hash = hex::encode(hash::event_hash(&GENESIS, &e.hashed_fields()));
        e
    }

    #[test]
    fn a_line_reads_back_to_the_same_event() {
        let e = event();
        let line = provenance_line(&e, &genesis_hex()).unwrap();
        assert!(
            line.contains(r#""payload":{"actor":"A","source":"S \"q\" é"}"#),
            "{line}"
        );
        let back = RecordedLine::parse(&line).unwrap();
        assert_eq!(back.event, e);
        assert_eq!(back.prev_hash, genesis_hex());
        assert_eq!(
            back.event.check_hash(&GENESIS),
            Ok(hash::event_hash(&GENESIS, &e.hashed_fields()))
        );
    }

    #[test]
    fn the_payload_text_is_kept_as_written() {
        // Not canonical (a blank after the colon): kept byte for byte, so the hash says so.
        let line = provenance_line(&event(), &genesis_hex())
            .unwrap()
            .replace(r#"{"actor":"A""#, r#"{"actor": "A""#);
        let back = RecordedLine::parse(&line).unwrap();
        assert_eq!(back.event.payload, r#"{"actor": "A","source":"S \"q\" é"}"#);
        assert!(back.event.check_hash(&GENESIS).is_err());
    }

    #[test]
    fn missing_and_unknown_fields_and_bad_hashes_are_named() {
        let line = provenance_line(&event(), &genesis_hex()).unwrap();
        let err =
            RecordedLine::parse(&line.replace(r#","prev_hash":"#, r#","prev":"#)).unwrap_err();
        assert_eq!(err.field, "prev", "{err}");
        let no_hash = line.replace(&format!(r#","hash":"{}""#, event().hash), "");
        assert_eq!(RecordedLine::parse(&no_hash).unwrap_err().field, "hash");
        let upper = line.replace(&genesis_hex(), &"A".repeat(64));
        assert_eq!(RecordedLine::parse(&upper).unwrap_err().field, "prev_hash");
    }

    #[test]
    fn a_payload_that_is_not_one_line_of_json_is_not_written() {
        let mut e = event();
        e.payload = "{\n}".into();
        assert!(provenance_line(&e, &genesis_hex()).is_err());
        e.payload = "not json".into();
        assert!(provenance_line(&e, &genesis_hex()).is_err());
    }
}
