//! `diff`: which incidents and which figures changed between two points of the log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Invalid, Result};
use crate::views::described::SourceBook;
use crate::views::history::{changes, Change};
use crate::views::read::{refuse_types_not_described, restriction_flags, Restriction};
use crate::views::{BestPolicy, Filter, Point, Query, Snapshot};

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
    /// How many incidents were compared: those in view (passing the filters) at either
    /// point. 0 says that nothing was compared, which is not "nothing changed".
    #[serde(default)]
    pub compared: usize,
    /// The incidents that differ, by id.
    pub incidents: Vec<IncidentDiff>,
    /// What `--source-type` / `--exclude-parties` left out at either point (empty without
    /// them): said beside the answer (on standard error with `--json`), not in the JSON.
    #[serde(skip)]
    pub left_out: Restriction,
}

impl crate::views::Reader<'_> {
    /// The incidents (passing `filter` at either point) that differ between `from` and `to`.
    /// `from` after `to` is refused, and so is a filter or a `--best source:NAME` that
    /// names nothing in view at either point, and a `--source-type` naming a type no source
    /// is described as at either point. Each point is read with the sources' descriptions
    /// in force there (grades, parties, `--source-type`, `--exclude-parties`).
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
        let books = [
            SourceBook::at(self.db, from_seq)?,
            SourceBook::at(self.db, to_seq)?,
        ];
        refuse_types_not_described(&filter, &[&books[0], &books[1]], "at either point")?;
        // Each point with the sources' descriptions in force there.
        let [qa, qb] = [(from, &books[0]), (to, &books[1])].map(|(point, book)| Query {
            point,
            known_by: None,
            best: best.clone(),
            filter: filter.clone(),
            described: book.clone(),
        });
        let (a, b) = (self.states_in_view(&qa)?, self.states_in_view(&qb)?);
        if a.states.is_empty() && b.states.is_empty() {
            self.refuse_names_not_in_log(&filter)?;
        }
        self.best_sources_reported(best, &[&a.states, &b.states])?;
        let restrictions = [self.restriction(&qa)?, self.restriction(&qb)?];
        let mut both: BTreeMap<&str, (Option<_>, Option<_>)> = BTreeMap::new();
        for s in &a.states {
            both.entry(&s.incident).or_default().0 = Some(s);
        }
        for s in &b.states {
            both.entry(&s.incident).or_default().1 = Some(s);
        }
        let compared = both.len();
        let mut incidents = Vec::new();
        for (id, (old, new)) in both {
            let status = match (old, new) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                _ => "changed",
            };
            let mut changes = changes(old, new, best);
            say_left_out(&mut changes, &restrictions, [a.seq, b.seq], &filter);
            if !changes.is_empty() {
                incidents.push(IncidentDiff {
                    incident: id.to_string(),
                    status: status.to_string(),
                    changes,
                });
            }
        }
        let left_out = left_out_of_both(restrictions, [&a, &b]);
        Ok(Diff {
            from_seq: a.seq,
            to_seq: b.seq,
            compared,
            incidents,
            left_out,
        })
    }
}

/// Notes each change of a source's figure that is absent at one point only because
/// `--source-type` / `--exclude-parties` left the source out there (`restrictions` of the
/// two points, at `seqs`): without the note, `8 -> -` would read as a figure withdrawn.
fn say_left_out(
    changes: &mut [Change],
    restrictions: &[Restriction; 2],
    seqs: [u64; 2],
    filter: &Filter,
) {
    let [before, after] = restrictions;
    for c in changes {
        // `NAME killed`, `NAME wounded civilians`, `NAME attackers killed`: the source's own
        // figures (a longer name that starts with NAME is another source).
        let left_out_at = |r: &Restriction| {
            r.sources.iter().any(|s| {
                c.field
                    .strip_prefix(s.as_str())
                    .and_then(|rest| rest.strip_prefix(' '))
                    .is_some_and(|rest| {
                        ["killed", "wounded", "attackers killed"]
                            .iter()
                            .any(|m| rest == *m || rest.starts_with(&format!("{m} ")))
                    })
            })
        };
        let seq = match (&c.old, &c.new) {
            (Some(_), None) if left_out_at(after) && !left_out_at(before) => seqs[1],
            (None, Some(_)) if left_out_at(before) && !left_out_at(after) => seqs[0],
            _ => continue,
        };
        c.note = Some(format!(
            "the source is left out at seq {seq} by {}",
            restriction_flags(filter)
        ));
    }
}

/// What `--source-type` / `--exclude-parties` left out of a diff, from what they left out at
/// each point (`restrictions`) and the views there: the sources left out at either point,
/// and the incidents not in the diff because no source of theirs is left at any point where
/// they are in scope (one with no source left at one point only is in view at the other,
/// so in the diff).
fn left_out_of_both(restrictions: [Restriction; 2], views: [&Snapshot; 2]) -> Restriction {
    let [mut out, b] = restrictions;
    out.sources.extend(b.sources);
    out.undescribed.extend(b.undescribed);
    out.incidents.extend(b.incidents);
    let in_view: std::collections::BTreeSet<&str> = views
        .iter()
        .flat_map(|v| v.states.iter().map(|s| s.incident.as_str()))
        .collect();
    out.incidents.retain(|id| !in_view.contains(id.as_str()));
    out.incidents.sort();
    out.incidents.dedup();
    out
}
