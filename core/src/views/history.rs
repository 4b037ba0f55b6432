//! `history`: every change to an incident's view, with the event behind each change.
//!
//! The incident's state is recomputed after each event that touched it (see the views'
//! `store`): the difference between consecutive states is what that event changed.

use serde::{Deserialize, Serialize};

use crate::domain::event::Payload;
use crate::domain::status::Status;
use crate::error::{Invalid, Result};
use crate::record::EventFilter;
use crate::streams::Streams;
use crate::views::fold::{IncidentState, Measure, SourceState};
use crate::views::point;
use crate::views::reconcile::{self, BestPolicy};

/// One thing that changed: a field, its old and its new value (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What changed: `district`, `AFP killed`, `killed (reconciled)`, `responsibility`...
    pub field: String,
    /// Before.
    pub old: Option<String>,
    /// After.
    pub new: Option<String>,
    /// Why a value is absent when the log did not remove it: `diff` with `--source-type` or
    /// `--exclude-parties` says so of a source's figure left out at one of its points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Change {
    /// A change with no note.
    fn new(field: impl Into<String>, old: Option<String>, new: Option<String>) -> Change {
        Change {
            field: field.into(),
            old,
            new,
            note: None,
        }
    }
}

/// One event in an incident's history and what it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Sequence number.
    pub seq: u64,
    /// The event's hash.
    pub hash: String,
    /// The event's id.
    pub event_id: String,
    /// Its kind.
    pub kind: String,
    /// The stream it was appended to (a merged duplicate's id for its own events).
    pub stream: String,
    /// When it was recorded.
    pub recorded_at: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// The source it speaks for.
    pub source: Option<String>,
    /// When the source published it.
    pub published: Option<String>,
    /// The reason or remark given (amendments, corrections, retractions, merges).
    pub note: Option<String>,
    /// What changed in the view.
    pub changes: Vec<Change>,
}

/// The history of one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The incident.
    pub incident: String,
    /// The incident it is now shown under, when it was merged into another.
    pub now_part_of: Option<String>,
    /// The changes, in log order.
    pub entries: Vec<HistoryEntry>,
}

fn opt_eq(field: String, old: Option<String>, new: Option<String>, out: &mut Vec<Change>) {
    if old != new {
        out.push(Change::new(field, old, new));
    }
}

/// A reconciled range in a change line: `8-17 (best 12)`, `3 (best 3) (coded)`.
fn range_text(r: &crate::views::Range) -> Option<String> {
    let (low, high) = (r.low?, r.high?);
    let plus = if r.open_high { "+" } else { "" };
    Some(
        if low == high {
            format!("{low}{plus}")
        } else {
            format!("{low}-{high}{plus}")
        } + &r.best.map(|b| format!(" (best {b})")).unwrap_or_default()
            + r.coded_mark(),
    )
}

/// The claims and denials in force that appear or disappear between two states.
fn responsibility_changes(
    old: Option<&IncidentState>,
    new: Option<&IncidentState>,
    out: &mut Vec<Change>,
) {
    let resp = |s: Option<&IncidentState>| -> Vec<String> {
        s.map(|s| {
            s.responsibility
                .iter()
                .map(|r| {
                    format!(
                        "{} {} (per {}, seq {})",
                        r.actor,
                        r.stance.as_str(),
                        r.source,
                        r.event_seq
                    )
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let (ra, rb) = (resp(old), resp(new));
    for gone in ra.iter().filter(|r| !rb.contains(r)) {
        out.push(Change::new("responsibility", Some(gone.clone()), None));
    }
    for added in rb.iter().filter(|r| !ra.contains(r)) {
        out.push(Change::new("responsibility", None, Some(added.clone())));
    }
}

/// What changed between two states of an incident (either may be absent).
pub fn changes(
    old: Option<&IncidentState>,
    new: Option<&IncidentState>,
    policy: &BestPolicy,
) -> Vec<Change> {
    let mut out = Vec::new();
    if old.is_some() && new.is_none() {
        // Gone from view: its last state is in the previous entry; listing every field as
        // removed would only repeat it.
        return vec![Change::new("shown", Some("yes".into()), Some("no".into()))];
    }
    let detail =
        |s: Option<&IncidentState>, f: &dyn Fn(&IncidentState) -> Option<String>| s.and_then(f);
    type Get = fn(&IncidentState) -> Option<String>;
    let fields: [(&str, Get); 10] = [
        ("date", |s| Some(s.details.date.to_string())),
        ("country", |s| s.details.country.clone()),
        ("province", |s| Some(s.details.province.clone())),
        ("district", |s| s.details.district.clone()),
        ("locality", |s| s.details.locality.clone()),
        ("coordinates", |s| {
            s.details
                .coordinates
                .as_ref()
                .map(|c| format!("{}, {}", c.lat, c.lon))
        }),
        ("category", |s| Some(s.details.category.clone())),
        ("target", |s| s.details.target.clone()),
        ("perpetrator", |s| s.details.perpetrator.clone()),
        ("summary", |s| s.details.summary.clone()),
    ];
    for (name, get) in fields {
        opt_eq(
            name.to_string(),
            detail(old, &get),
            detail(new, &get),
            &mut out,
        );
    }
    let mut names: Vec<&str> = Vec::new();
    for s in old.iter().chain(new.iter()) {
        for src in &s.sources {
            if !names.contains(&src.source.as_str()) {
                names.push(&src.source);
            }
        }
    }
    for name in names {
        let find = |s: Option<&IncidentState>| {
            s.and_then(|s| s.sources.iter().find(|x| x.source == name).cloned())
        };
        let (a, b) = (find(old), find(new));
        for m in Measure::ALL {
            opt_eq(
                format!("{name} {}", m.name().replace('_', " ")),
                a.as_ref().and_then(|x| x.figure(m).map(|f| f.prose())),
                b.as_ref().and_then(|x| x.figure(m).map(|f| f.prose())),
                &mut out,
            );
        }
        // The source's figures by status, as the views count them (docs/views.md).
        for (wounded, noun) in [(false, "killed"), (true, "wounded")] {
            let by = |state: Option<&IncidentState>, src: &Option<SourceState>| {
                state
                    .zip(src.as_ref())
                    .map(|(st, x)| x.by_status(&st.details, wounded))
                    .unwrap_or_default()
            };
            let (before, after) = (by(old, &a), by(new, &b));
            for status in Status::ALL {
                opt_eq(
                    format!("{name} {noun} {}", status.prose()),
                    before.get(&status).map(|f| f.prose()),
                    after.get(&status).map(|f| f.prose()),
                    &mut out,
                );
            }
        }
    }
    for m in [Measure::Killed, Measure::Wounded, Measure::AttackersKilled] {
        let r = |s: Option<&IncidentState>| {
            s.and_then(|s| range_text(&reconcile::measure_range(s, m, policy)))
        };
        opt_eq(
            format!("{} (reconciled)", m.name().replace('_', " ")),
            r(old),
            r(new),
            &mut out,
        );
    }
    // The recorded grade only: a suggested grade follows the figures, whose changes are
    // listed above.
    let graded = |s: Option<&IncidentState>| {
        s.and_then(|s| s.assessments.last())
            .map(|a| a.grade.to_string())
    };
    opt_eq("grade".into(), graded(old), graded(new), &mut out);
    adjudication_changes(old, new, &mut out);
    responsibility_changes(old, new, &mut out);
    let merged = |s: Option<&IncidentState>| {
        s.filter(|s| !s.merged_from.is_empty())
            .map(|s| s.merged_from.join(", "))
    };
    opt_eq("merged from".into(), merged(old), merged(new), &mut out);
    redaction_changes(old, new, &mut out);
    out
}

/// The adjudication in force before and after (the reconciled bests follow it under the
/// default policy): its counts and event.
fn adjudication_changes(
    old: Option<&IncidentState>,
    new: Option<&IncidentState>,
    out: &mut Vec<Change>,
) {
    let adjudication = |s: Option<&IncidentState>| {
        let a = s?.adjudication.as_ref()?;
        let counts: Vec<String> = [(a.killed, "killed"), (a.wounded, "wounded")]
            .into_iter()
            .filter_map(|(n, noun)| n.map(|n| format!("{n} {noun}")))
            .collect();
        let outside = if a.outside_range {
            ", outside the sources' range"
        } else {
            ""
        };
        Some(format!(
            "{} (seq {}{outside})",
            counts.join(", "),
            a.event_seq
        ))
    };
    opt_eq(
        "adjudicated".into(),
        adjudication(old),
        adjudication(new),
        out,
    );
}

/// The erased events that appear in the view between two states: an erased event is listed
/// from its own seq on (its payload is gone at every point), so its own entry shows it.
fn redaction_changes(
    old: Option<&IncidentState>,
    new: Option<&IncidentState>,
    out: &mut Vec<Change>,
) {
    let listed = |s: Option<&IncidentState>| s.map(|s| s.redactions.clone()).unwrap_or_default();
    let before = listed(old);
    for r in listed(new) {
        if !before.iter().any(|b| b.event_id == r.event_id) {
            out.push(Change {
                field: "erased".into(),
                old: None,
                new: Some(format!(
                    "seq {} ({}), by redaction seq {}",
                    r.event_seq, r.kind, r.redaction_seq
                )),
                note: None,
            });
        }
    }
}

/// The note of `event`'s history entry: the reason or remark it gives, or, when its payload
/// was erased, by which redaction, when and why.
fn note_of(
    event: &crate::record::RecordedEvent,
    payload: Option<&Payload>,
    erased: Option<&crate::views::fold::Redacted>,
) -> Option<String> {
    let note = payload.and_then(|p| match p {
        Payload::IncidentAmended(a) => Some(a.reason.clone()),
        Payload::IncidentAdjudicated(a) => Some(format!("adjudicated: {}", a.reason)),
        Payload::CasualtiesCorrected(r) | Payload::CasualtiesReported(r) => {
            r.reason.clone().or_else(|| r.note.clone())
        }
        Payload::EventRetracted(r) => Some(format!("retracts event {}: {}", r.event, r.reason)),
        Payload::EventRedacted(r) => Some(format!(
            "redacts event {} (its payload is erased): {}",
            r.event, r.reason
        )),
        Payload::IncidentMerged(m) => Some(format!(
            "{} merged into {}: {}",
            event.incident, m.into, m.reason
        )),
        Payload::ResponsibilityClaimed(r) | Payload::ResponsibilityDenied(r) => r.note.clone(),
        Payload::IncidentAssessed(a) => Some(a.reason.clone()),
        Payload::SourceDescribed(d) => d.note.clone(),
        Payload::IncidentReported(_) => None,
    });
    note.or_else(|| {
        erased.map(|r| {
            format!(
                "its payload was erased by redaction seq {} ({}) recorded {}: {}",
                r.redaction_seq, r.redaction_id, r.redacted_at, r.reason
            )
        })
    })
}

impl crate::views::Reader<'_> {
    /// Every change to an incident's view, in log order (`history`).
    pub fn history(&self, incident: &str) -> Result<History> {
        let versions = point::versions(self.db, incident)?;
        if versions.is_empty() {
            if let Some(r) = point::erased_opening(self.db, incident, u64::MAX)? {
                return Err(point::erased_opening_error(incident, &r));
            }
            return Err(Invalid::new(
                "incident",
                incident,
                "no such incident in the views (list the incidents with `chronicle timeline`)",
            )
            .into());
        }
        let head = self.resolve_point(crate::views::Point::Head)?;
        let root = Streams::new(head).root_at(self.db, incident, head)?;
        let mut entries = Vec::new();
        let mut prev: Option<&IncidentState> = None;
        let policy = BestPolicy::default();
        let steps = versions.iter().map(|(seq, state)| (*seq, state.as_ref()));
        for (seq, state) in steps {
            let old = prev;
            let mut event = None;
            let filter = EventFilter {
                since_seq: Some(seq - 1),
                until_seq: Some(seq),
                ..EventFilter::default()
            };
            self.db.scan(&filter, &mut |e| {
                event = Some(e);
                Ok(())
            })?;
            let Some(event) = event else { continue };
            let payload = event.payload().ok();
            let erased = state
                .into_iter()
                .chain(old)
                .flat_map(|s| &s.redactions)
                .find(|r| r.event_seq == seq);
            let note = note_of(&event, payload.as_ref(), erased);
            let mut changes = changes(old, state, &policy);
            if state.is_none() {
                changes.clear();
                changes.push(Change {
                    field: "shown".into(),
                    old: Some("yes".into()),
                    new: Some(match &payload {
                        Some(Payload::IncidentMerged(m)) => format!("no: merged into {}", m.into),
                        _ => "no: its first report was retracted".into(),
                    }),
                    note: None,
                });
            }
            entries.push(HistoryEntry {
                seq,
                hash: event.hash.clone(),
                event_id: event.id.clone(),
                kind: event.kind.clone(),
                stream: event.incident.clone(),
                recorded_at: event.recorded_at.clone(),
                recorded_by: event.recorded_by.clone(),
                source: payload
                    .as_ref()
                    .and_then(|p| p.source().map(str::to_string)),
                published: payload
                    .as_ref()
                    .and_then(|p| p.published().map(|t| t.to_string())),
                note,
                changes,
            });
            prev = state;
        }
        Ok(History {
            incident: incident.to_string(),
            now_part_of: (root != incident).then_some(root),
            entries,
        })
    }
}
