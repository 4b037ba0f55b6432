//! The sources' descriptions at a point (`chronicle source set`, `source_described` events):
//! a small projection of the reserved stream `@sources`, computed when a query needs it
//! rather than stored (the descriptions are few: one stream, read through the store's
//! `Reads::stream`, on either backend).
//!
//! Rules (`docs/views.md`, "Sources described"): a description is whole; the latest one
//! of a name in force at the point (not retracted, not erased) is the source's
//! description; retracting it brings back the one before. A name is matched exactly, as
//! reports spell it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::event::Payload;
use crate::domain::source::{SourceType, SOURCES_STREAM};
use crate::error::Result;
use crate::store::Reads;
use crate::streams::Streams;

/// A source's description as the views carry it: what it is, and the event that said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Described {
    /// The source's type.
    #[serde(rename = "type")]
    pub kind: SourceType,
    /// A party to the conflict.
    pub party: bool,
    /// The description's remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The `source_described` event.
    pub event_seq: u64,
    /// Its id.
    pub event_id: String,
    /// When it was recorded.
    pub recorded_at: String,
}

/// One description of a source's history (`chronicle source history NAME`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptionEntry {
    /// The description.
    #[serde(flatten)]
    pub described: Described,
    /// `in force`, `superseded` (a later description of the name replaced it) or
    /// `retracted` at the point.
    pub status: String,
    /// The retraction's sequence number, when retracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted_seq: Option<u64>,
}

/// The descriptions in force at a point, by source name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceBook {
    by_name: BTreeMap<String, Described>,
}

/// Every description of the `@sources` stream up to `seq`, in log order, with the seq of
/// its retraction when one up to `seq` retracts it (erased descriptions are gone).
fn descriptions(
    db: &(impl Reads + ?Sized),
    seq: u64,
    each: &mut dyn FnMut(&str, Described, Option<u64>),
) -> Result<()> {
    let mut streams = Streams::new(seq);
    let stream = streams.stream(db, SOURCES_STREAM)?;
    for e in stream.upto(seq) {
        if let Payload::SourceDescribed(d) = &e.payload {
            let described = Described {
                kind: d.kind,
                party: d.party,
                note: d.note.clone(),
                event_seq: e.seq,
                event_id: e.id.clone(),
                recorded_at: e.recorded_at.clone(),
            };
            each(&d.name, described, stream.retraction_of(&e.id, seq));
        }
    }
    Ok(())
}

impl SourceBook {
    /// The descriptions in force after event `seq`.
    pub(crate) fn at(db: &(impl Reads + ?Sized), seq: u64) -> Result<SourceBook> {
        let mut by_name = BTreeMap::new();
        descriptions(db, seq, &mut |name, d, retracted| {
            if retracted.is_none() {
                by_name.insert(name.to_string(), d);
            }
        })?;
        Ok(SourceBook { by_name })
    }

    /// A book of the given descriptions (tests, callers that hold them).
    pub fn of(entries: impl IntoIterator<Item = (String, Described)>) -> SourceBook {
        SourceBook {
            by_name: entries.into_iter().collect(),
        }
    }

    /// The description of `name` in force, if any.
    pub fn get(&self, name: &str) -> Option<&Described> {
        self.by_name.get(name)
    }

    /// Whether `name` is described as a party to the conflict (an undescribed source is
    /// not: nothing says it is).
    pub fn is_party(&self, name: &str) -> bool {
        self.get(name).is_some_and(|d| d.party)
    }

    /// Every description in force, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Described)> {
        self.by_name.iter()
    }

    /// No description in force.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every description of `name` up to `seq`, oldest first, each with what became of it.
    pub(crate) fn history(
        db: &(impl Reads + ?Sized),
        seq: u64,
        name: &str,
    ) -> Result<Vec<DescriptionEntry>> {
        let mut out: Vec<DescriptionEntry> = Vec::new();
        descriptions(db, seq, &mut |n, d, retracted| {
            if n != name {
                return;
            }
            if retracted.is_none() {
                for earlier in out.iter_mut().filter(|e| e.status == "in force") {
                    earlier.status = "superseded".into();
                }
            }
            out.push(DescriptionEntry {
                described: d,
                status: if retracted.is_some() {
                    "retracted"
                } else {
                    "in force"
                }
                .into(),
                retracted_seq: retracted,
            });
        })?;
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn described(kind: SourceType, party: bool, seq: u64) -> Described {
        Described {
            kind,
            party,
            note: None,
            event_seq: seq,
            event_id: format!("e{seq}"),
            recorded_at: "2020-08-01T00:00:00.000000Z".into(),
        }
    }

    #[test]
    fn a_book_answers_by_exact_name_and_an_undescribed_source_is_no_party() {
        let book = SourceBook::of([
            (
                "MoD".to_string(),
                described(SourceType::Government, true, 3),
            ),
            (
                "AFP".to_string(),
                described(SourceType::NewsAgency, false, 4),
            ),
        ]);
        assert!(book.is_party("MoD"));
        assert!(!book.is_party("AFP"));
        assert!(!book.is_party("mod"), "names are matched exactly");
        assert!(!book.is_party("Pajhwok"));
        assert_eq!(
            book.get("AFP").map(|d| d.kind),
            Some(SourceType::NewsAgency)
        );
        assert_eq!(book.iter().count(), 2);
    }
}
