//! `diff`: which incidents and which figures changed between two points of the log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Invalid, Result};
use crate::views::history::{changes, Change};
use crate::views::{BestPolicy, Filter, Point, Query};

/// How an incident changed between the two points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentDiff {
    /// The incident.
    pub incident: String,
    /// `added` (not in view at the first point), `removed` (not at the second) or `changed`.
    pub status: String,
    /// What changed.
    pub changes: Vec<Change>,
}

/// The differences between two points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The first point's sequence number.
    pub from_seq: u64,
    /// The second point's sequence number.
    pub to_seq: u64,
    /// The incidents that differ, by id.
    pub incidents: Vec<IncidentDiff>,
}

impl crate::views::Reader<'_> {
    /// The incidents (passing `filter` at either point) that differ between `from` and `to`.
    /// `from` after `to` is refused, and so is a filter or a `--best source:NAME` that
    /// names nothing in view at either point.
    pub fn diff(&self, from: Point, to: Point, filter: &Filter, best: &BestPolicy) -> Result<Diff> {
        let (from_seq, to_seq) = (self.resolve_point(from)?, self.resolve_point(to)?);
        if from_seq > to_seq {
            return Err(Invalid::new(
                "--from",
                from,
                format!(
                    "is after --to {to} (seq {from_seq} > seq {to_seq}); a diff goes from the earlier point to the later one"
                ),
            )
            .into());
        }
        let filter = self.checked_filter(filter, &[from_seq, to_seq])?;
        // Each point with the sources' descriptions in force there (grades, parties).
        let at = |point| -> Result<crate::views::Snapshot> {
            let seq = self.resolve_point(point)?;
            self.states_in_view(&Query {
                point,
                known_by: None,
                best: best.clone(),
                filter: filter.clone(),
                described: crate::views::described::SourceBook::at(self.db, seq)?,
            })
        };
        let (a, b) = (at(from)?, at(to)?);
        if a.states.is_empty() && b.states.is_empty() {
            self.refuse_names_not_in_log(&filter)?;
        }
        self.best_sources_reported(best, &[&a.states, &b.states])?;
        let mut both: BTreeMap<&str, (Option<_>, Option<_>)> = BTreeMap::new();
        for s in &a.states {
            both.entry(&s.incident).or_default().0 = Some(s);
        }
        for s in &b.states {
            both.entry(&s.incident).or_default().1 = Some(s);
        }
        let mut incidents = Vec::new();
        for (id, (old, new)) in both {
            let status = match (old, new) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                _ => "changed",
            };
            let changes = changes(old, new, best);
            if !changes.is_empty() {
                incidents.push(IncidentDiff {
                    incident: id.to_string(),
                    status: status.to_string(),
                    changes,
                });
            }
        }
        Ok(Diff {
            from_seq: a.seq,
            to_seq: b.seq,
            incidents,
        })
    }
}
