//! The export document (`chronicle.views/1`) written as it is computed, in memory that does
//! not grow with the log.
//!
//! A first pass over the states in view (one parsed at a time) keeps only each admitted
//! incident's sort key: its date's start and its id (about 40 bytes, against ~5 KB for a
//! state and its document). The second pass, while the document is serialized, reads each
//! incident's state again in that order (one primary-key lookup and one parse; recomputed
//! when touched after the point or for `--known-by`), converts it and writes it; the totals,
//! which the document puts after the incidents, are summed on the way. Peak memory is the
//! keys plus one incident, whatever the number of incidents.

use std::cell::RefCell;

use chrono::NaiveDate;
use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::streams::Streams;
use crate::views::doc::{self, Range, Totals};
use crate::views::maintain::compute;
use crate::views::{point, reconcile, Document, Incident, Query, Reader};

/// The export document of a query, produced as it is serialized (see the module's note).
/// Serialize it once (its incidents are read as they are written); then
/// [`DocumentStream::take_error`] gives the error of the log that stopped it, if any.
pub struct DocumentStream<'a> {
    reader: Reader<'a>,
    q: Query,
    /// The document with no incidents and zero totals: its schema and provenance.
    head: Document,
    /// The incidents in view, in document order.
    keys: Vec<(NaiveDate, String)>,
    /// What the serialization found: the totals, or why it stopped.
    outcome: RefCell<Option<Result<Totals>>>,
}

impl std::fmt::Debug for DocumentStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentStream")
            .field("provenance", &self.head.provenance)
            .field("incidents", &self.keys.len())
            .finish()
    }
}

impl DocumentStream<'_> {
    /// The document's provenance, to complete before it is written (exporter, checkpoint).
    pub fn provenance_mut(&mut self) -> &mut doc::Provenance {
        &mut self.head.provenance
    }

    /// The document's provenance.
    pub fn provenance(&self) -> &doc::Provenance {
        &self.head.provenance
    }

    /// The incidents alone, to serialize as a JSON array (`timeline --json`).
    pub fn incidents(&self) -> Incidents<'_, '_> {
        Incidents(self)
    }

    /// How many incidents the document holds.
    pub fn incident_count(&self) -> u64 {
        self.keys.len() as u64
    }

    /// Each incident of the document, in its order, with the totals over them.
    pub fn for_each_incident(
        &self,
        each: &mut dyn FnMut(Incident) -> Result<()>,
    ) -> Result<Totals> {
        let seq = self.head.provenance.log_seq;
        let mut streams = Streams::new(self.reader.views_checkpoint()?);
        let mut killed = Range::default();
        let mut wounded = Range::default();
        let mut by_province = Vec::new();
        let mut coded = 0;
        for (_, incident) in &self.keys {
            let state = point::state_of(self.reader.db, incident, seq)?;
            let state = match (state, self.q.known_by) {
                (Some(s), Some(t)) => compute(
                    &mut streams,
                    self.reader.db,
                    incident,
                    seq,
                    Some(t),
                    s.last_seq,
                )?,
                (s, _) => s,
            };
            let Some(mut state) = state else {
                return Err(Error::Corrupt {
                    seq,
                    problem: format!(
                        "incident {incident} was in view at this point and no longer is: the log changed under the export; export again"
                    ),
                });
            };
            // Kept when the keys were found: the same query keeps it again.
            self.q.prepare(&mut state);
            let mut i = reconcile::incident_doc(&state, &self.q.best);
            i.last_recorded = self.reader.db.recorded_at(i.last_seq)?;
            // With `--status`, the totals count what the rows count (as `document_owned`).
            let (k, w) = crate::views::counted(&i, &self.q.filter.statuses);
            killed = killed.add(&k);
            wounded = wounded.add(&w);
            coded += u64::from(k.coded || w.coded);
            by_province.push((i.province.clone(), k, w));
            each(i)?;
        }
        Ok(Totals {
            incidents: self.keys.len() as u64,
            killed,
            wounded,
            by_province: reconcile::group(by_province),
            coded,
        })
    }

    /// The document in its "lines" form, what a streamed (ABI version 2) plugin is given:
    /// each incident as compact JSON on a line of its own, in document order, then the head
    /// (schema, provenance, totals, `incident_count`: the SDK's `DocumentHead`) on the last
    /// line, since the totals are known only after the incidents. Memory as for the whole
    /// document: one incident at a time. An error of the log stops it and is returned
    /// (also by [`DocumentStream::take_error`]), as is an error of `w`.
    pub fn write_lines(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut failed = None;
        let totals = self.for_each_incident(&mut |i| {
            let written = serde_json::to_writer(&mut *w, &i)
                .map_err(std::io::Error::from)
                .and_then(|()| w.write_all(b"\n"));
            written.map_err(|e| {
                let problem = e.to_string();
                failed = Some(e);
                Error::Corrupt { seq: 0, problem }
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let totals = match totals {
            Ok(t) => t,
            Err(e) => {
                let msg = e.to_string();
                *self.outcome.borrow_mut() = Some(Err(e));
                return Err(std::io::Error::other(msg));
            }
        };
        let head = doc::DocumentHead {
            schema: self.head.schema.clone(),
            provenance: self.head.provenance.clone(),
            incident_count: totals.incidents,
            totals,
        };
        serde_json::to_writer(&mut *w, &head).map_err(std::io::Error::from)?;
        w.write_all(b"\n")
    }

    /// The whole document in memory (for callers that need it as a value).
    pub fn collect(self) -> Result<Document> {
        let mut incidents = Vec::with_capacity(self.keys.len());
        let totals = self.for_each_incident(&mut |i| {
            incidents.push(i);
            Ok(())
        })?;
        Ok(Document {
            incidents,
            totals,
            ..self.head
        })
    }

    /// After the document was serialized, or failed to be: the error of the log that
    /// stopped it, if one did (the serializer's own error then only says that it stopped).
    pub fn take_error(&self) -> Option<Error> {
        match self.outcome.borrow_mut().take() {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// The incidents of a [`DocumentStream`], as a JSON array written one at a time (what
/// `timeline --json` prints).
#[derive(Debug)]
pub struct Incidents<'s, 'a>(&'s DocumentStream<'a>);

impl Serialize for Incidents<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.keys.len()))?;
        let mut failed = None;
        let totals = self.0.for_each_incident(&mut |i| {
            seq.serialize_element(&i).map_err(|e| {
                let msg = e.to_string();
                failed = Some(e);
                Error::Corrupt {
                    seq: 0,
                    problem: msg,
                }
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        match totals {
            Ok(t) => {
                *self.0.outcome.borrow_mut() = Some(Ok(t));
                seq.end()
            }
            Err(e) => {
                let msg = e.to_string();
                *self.0.outcome.borrow_mut() = Some(Err(e));
                Err(S::Error::custom(msg))
            }
        }
    }
}

impl Serialize for DocumentStream<'_> {
    /// The same bytes as the [`Document`] it stands for: the fields in its order
    /// (schema, provenance, incidents, totals).
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut doc = serializer.serialize_struct("ViewDocument", 4)?;
        doc.serialize_field("schema", &self.head.schema)?;
        doc.serialize_field("provenance", &self.head.provenance)?;
        doc.serialize_field("incidents", &Incidents(self))?;
        let totals = match &*self.outcome.borrow() {
            Some(Ok(t)) => t.clone(),
            _ => return Err(S::Error::custom("the incidents were not written")),
        };
        doc.serialize_field("totals", &totals)?;
        doc.end()
    }
}

impl<'a> Reader<'a> {
    /// The export document of `q`, to be written as it is computed (see the module's note).
    /// Every check of the query (its names, its policy) is made here, before anything is
    /// written.
    pub fn export_stream(&self, q: &Query) -> Result<DocumentStream<'a>> {
        let q = self.checked(q)?;
        let mut keys = Vec::new();
        let seq = self.each_in_scope(&q, &mut |s| {
            keys.push((s.details.date.start, s.incident));
            Ok(())
        })?;
        keys.sort();
        let head = crate::views::document_of_incidents(seq, self.db.hash_at(seq)?, Vec::new(), &q);
        Ok(DocumentStream {
            reader: *self,
            q,
            head,
            keys,
            outcome: RefCell::new(None),
        })
    }
}
