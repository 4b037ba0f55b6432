//! `redact`: erasing an event's payload from the log, the one removal it allows.
//!
//! A redaction appends an `event_redacted` event (who, when, why) and, in the same
//! transaction, erases the redacted event's payload text and salt; the event keeps its
//! place, its id and its hash. Then the bytes the payload left behind are purged
//! ([`crate::store::Store::purge_erased`]): from the SQLite file and its journal, or on
//! PostgreSQL from the tables' files by `VACUUM FULL`.
//!
//! - A format-2 event still verifies: its hash covers a commitment to the payload, which is
//!   kept. Old checkpoints and the Merkle root are unchanged.
//! - A format-1 event's hash covers its text: once erased, its own hash can no longer be
//!   recomputed, only taken as stored (the chain after it still links to it, and `verify`
//!   says which events it takes on trust). [`EventLog::redact`] refuses one unless the
//!   caller accepts that (`allow_format_1`).

use crate::domain::event::{NewEvent, Payload, Redaction};
use crate::error::{Error, Invalid, Result};
use crate::log::{AppendContext, EventLog};
use crate::record::{Appended, Seal};
use crate::store::Purge;

/// What a redaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The redaction event: its sequence number and id.
    pub seq: u64,
    /// Its id.
    pub id: String,
    /// The redacted event's sequence number.
    pub target_seq: u64,
    /// The redacted event's format (1: its own hash is taken as stored from now on).
    pub target_format: u8,
    /// The payload was already erased (by the redaction `id`): nothing was appended, the
    /// file was purged again.
    pub already: bool,
    /// How the erased bytes were purged (the file and its journal, or the server's tables).
    pub purge: Purge,
}

impl EventLog {
    /// Redacts event `target`: appends a redaction (with `id` if given, so that a retry is a
    /// no-op) giving `reason`, erases the event's payload in the same transaction, then
    /// purges the file of the erased bytes. See the module documentation.
    pub fn redact(
        &mut self,
        ctx: &AppendContext,
        target: &str,
        reason: &str,
        id: Option<String>,
        allow_format_1: bool,
    ) -> Result<Redacted> {
        let Some(event) = self.event_by_id(target)? else {
            return Err(Invalid::new(
                "event",
                target,
                "no event with this id is in the log (find ids with `chronicle log`)",
            )
            .into());
        };
        if let Some(by) = &event.redacted_by {
            if id.as_ref().is_some_and(|id| id != by) {
                return Err(Invalid::new(
                    "event",
                    target,
                    format!("this event's payload was already erased by redaction {by}"),
                )
                .into());
            }
            let redaction = self.event_by_id(by)?.map_or(0, |r| r.seq);
            self.purge(by, redaction, target)?;
            return Ok(Redacted {
                seq: redaction,
                id: by.clone(),
                target_seq: event.seq,
                target_format: event.seal.format(),
                already: true,
                purge: self.store.purge_kind(),
            });
        }
        if event.seal == Seal::V1 && !allow_format_1 {
            return Err(Invalid::new(
                "event",
                target,
                "this event was written in the log format 1, whose hash covers the payload's text: once the text is erased, `verify` can no longer recompute this event's own hash and takes it as stored (the chain after it, old checkpoints and the Merkle root still hold). Add --allow-format-1 to redact it all the same",
            )
            .into());
        }
        let redaction = NewEvent {
            id,
            incident: event.incident.clone(),
            payload: Payload::EventRedacted(Redaction {
                event: target.to_string(),
                reason: reason.to_string(),
            }),
            expected_version: None,
        };
        let appended = self.transaction(ctx, |tx| {
            let appended = tx.append_any(redaction)?;
            if let Appended::New { id, .. } = &appended {
                tx.erase(&event.incident, target, id)?;
            }
            Ok(appended)
        })?;
        let (seq, id) = match appended {
            Appended::New { seq, id, .. } => (seq, id),
            // The same redaction id already in the log, yet the event not erased: only a
            // log altered by hand can hold that.
            Appended::Duplicate { seq, .. } | Appended::Erased { seq, .. } => {
                return Err(Error::Corrupt {
                    seq,
                    problem: format!(
                    "redaction event at seq {seq} is in the log but event {target} is not erased"
                ),
                })
            }
        };
        self.purge(&id, seq, target)?;
        Ok(Redacted {
            seq,
            id,
            target_seq: event.seq,
            target_format: event.seal.format(),
            already: false,
            purge: self.store.purge_kind(),
        })
    }

    /// Purges the erased text's old copies from the storage, after redaction `redaction`
    /// (seq `seq`) of event `target` was committed: a failure says that the erasure itself
    /// is done, what is left, and how to finish it.
    fn purge(&mut self, redaction: &str, seq: u64, target: &str) -> Result<()> {
        self.store.purge_erased().map_err(|cause| Error::NotPurged {
            redaction: redaction.to_string(),
            seq,
            target: target.to_string(),
            cause: Box::new(cause),
        })
    }
}
