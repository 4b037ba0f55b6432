//! The views (projections) of the log: incidents as they stand, a timeline, summaries,
//! sources, an incident's history, audits of aggregate claims and diffs between two points.
//!
//! The views are materialized in tables beside the log (written through the store by
//! `maintain`), updated in the transaction of every append and rebuildable from the log; a view at an earlier point
//! recomputes only the incidents touched after it. Queries read them at a [`Point`] (the
//! head, after event N, as recorded at a time) and optionally keep only what sources had
//! published by a time (`known_by`). The document types are in [`doc`]; human output in
//! [`render`]. The rules: `docs/views.md`.

pub mod audit;
pub mod described;
pub mod diff;
pub mod doc;
mod fold;
pub mod grade;
pub mod history;
pub(crate) mod maintain;
mod point;
mod read;
pub mod reconcile;
pub mod render;
mod stream;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::gazetteer::{Gazetteer, UnknownPlace};
use crate::domain::source::SourceType;
use crate::domain::status::Status;
use crate::domain::time::{format_recorded, parse_time_point};
use crate::error::{Invalid, Result};
use crate::views::described::SourceBook;
use crate::views::doc::Grade;

pub use doc::{Document, Group, Incident, Range, StatusRanges};
pub use fold::{IncidentState, Measure, RespState, SourceState, Stance};
pub use maintain::VIEWS_VERSION;
pub(crate) use read::Reader;
pub use read::Restriction;
pub use reconcile::BestPolicy;
pub use stream::{DocumentStream, Incidents};

/// One line of the human `timeline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// The incident's date as stored (`2020-07-13`, `2020-07`, ...).
    pub date: String,
    /// Province.
    pub province: String,
    /// Category.
    pub category: String,
    /// Killed, reconciled.
    pub killed: Range,
    /// Wounded, reconciled.
    pub wounded: Range,
    /// Sources with figures.
    pub sources: u64,
    /// Their point figures differ.
    pub disputed: bool,
    /// An adjudication in force sets the best figures (under the default policy).
    pub adjudicated: bool,
    /// The incident id.
    pub incident: String,
}

impl From<&Incident> for TimelineRow {
    fn from(i: &Incident) -> Self {
        TimelineRow::counted(i, &[])
    }
}

impl TimelineRow {
    /// The row of an incident, its killed and wounded as [`counted`] with `statuses`.
    pub fn counted(i: &Incident, statuses: &[Status]) -> Self {
        let (killed, wounded) = counted(i, statuses);
        TimelineRow {
            date: i.date.clone(),
            province: i.province.clone(),
            category: i.category.clone(),
            killed,
            wounded,
            sources: i.sources.len() as u64,
            disputed: i.disputed,
            adjudicated: i.adjudication.as_ref().is_some_and(|a| a.applied),
            incident: i.incident.clone(),
        }
    }
}

/// A point in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Point {
    /// The latest event.
    #[default]
    Head,
    /// After event N (`seq:N`).
    AtSeq(u64),
    /// What the log held at this recorded time: after the last event recorded at or before it.
    AsOf(DateTime<Utc>),
}

impl FromStr for Point {
    type Err = Invalid;
    /// `head`, `seq:N`, or a time (a bare date meaning the end of that day, UTC).
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s == "head" {
            return Ok(Point::Head);
        }
        if let Some(n) = s.strip_prefix("seq:") {
            return n.parse().map(Point::AtSeq).map_err(|_| {
                Invalid::new("point", s, "`seq:N` takes a sequence number, e.g. seq:42")
            });
        }
        parse_time_point(s).map(Point::AsOf).map_err(|e| {
            Invalid::new(
                "point",
                s,
                format!("{e}; or `seq:N` for the state after event N, or `head`"),
            )
        })
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::Head => f.write_str("head"),
            Point::AtSeq(n) => write!(f, "seq:{n}"),
            Point::AsOf(t) => f.write_str(&format_recorded(*t)),
        }
    }
}

/// Which incidents a view covers. Text filters compare without regard to case.
///
/// The views check a filter before applying it, as writes check what they record (see
/// `Reader::checked`): `from` may not be after `to`, and the province goes through the
/// gazetteers like a written one (`Kunduz Province`, `kunduz`, `AF-KDZ` all mean `Kunduz`);
/// a name no gazetteer knows is refused with the closest names, unless some incident in the
/// log is recorded in it (a place recorded as written) or `allow_unknown_place` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Incidents whose date starts on or after this day.
    pub from: Option<NaiveDate>,
    /// Incidents whose date starts on or before this day.
    pub to: Option<NaiveDate>,
    /// Only this province.
    pub province: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only incidents with figures, a claim or a denial from this source.
    pub source: Option<String>,
    /// `--status` (repeatable): only incidents on which some source gave a figure of one of
    /// these statuses, killed or wounded; and the counts the view totals are the sums of
    /// these statuses ([`counted`]). Empty: no status filter, the totals as they are.
    pub statuses: Vec<Status>,
    /// `--grade` (repeatable): only incidents of one of these grades, recorded or (where
    /// none is recorded) suggested. Empty: every grade.
    pub grades: Vec<Grade>,
    /// `--source-type` (repeatable): only the figures of sources described as one of these
    /// types at the view's point are reconciled; an incident left with no source is not in
    /// view (see [`Filter::admits_source`]). Empty: every source.
    pub source_types: Vec<SourceType>,
    /// `--exclude-parties`: the figures of sources described as parties at the view's
    /// point are not reconciled; an incident left with no source is not in view.
    pub exclude_parties: bool,
    /// Match a province no gazetteer knows as written (`--allow-unknown-place`), instead of
    /// refusing it.
    pub allow_unknown_place: bool,
}

/// A day flag's value (`--from`, `--to`): `YYYY-MM-DD`, a real calendar date.
pub fn filter_day(flag: &str, value: &str) -> Result<NaiveDate, Invalid> {
    crate::domain::time::parse_day(value.trim())
        .map_err(|e| Invalid::new(flag, value, format!("{e}, e.g. 2020-07-01")))
}

impl Filter {
    /// The filter's own checks, which need no log: `from` not after `to`, and the province
    /// resolved through the built-in gazetteers to its canonical name. A province no
    /// gazetteer knows is kept as written, and returned with the gazetteer's answer (the
    /// closest names) for the caller to check against the places the log holds.
    pub(crate) fn normalised(&self) -> Result<(Filter, Option<UnknownPlace>), Invalid> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(Invalid::new(
                    "--from",
                    from.format("%Y-%m-%d"),
                    format!(
                        "is after --to {}: no incident could be in that span (give the earlier day to --from)",
                        to.format("%Y-%m-%d")
                    ),
                ));
            }
        }
        let mut filter = self.clone();
        let Some(given) = self.province.as_deref() else {
            return Ok((filter, None));
        };
        let given = given.trim();
        if given.is_empty() {
            return Err(Invalid::new(
                "--province",
                given,
                "a province name, alias or ISO 3166-2 code (e.g. Kunduz, AF-KDZ)",
            ));
        }
        let mut unknown = None;
        for gazetteer in Gazetteer::builtins() {
            match gazetteer.resolve(given) {
                Ok(p) => {
                    filter.province = Some(p.name.clone());
                    return Ok((filter, None));
                }
                Err(e) => {
                    unknown.get_or_insert(e);
                }
            }
        }
        filter.province = Some(given.to_owned());
        Ok((filter, unknown))
    }

    /// Does the filter restrict which sources' figures count (`--source-type`,
    /// `--exclude-parties`)?
    pub fn restricts_sources(&self) -> bool {
        !self.source_types.is_empty() || self.exclude_parties
    }

    /// Do this source's figures count under `--source-type` and `--exclude-parties`? Read
    /// from its description in force ([`SourceState::described`]): a source without one has
    /// no type (left out by `--source-type`) and is not a party (kept by
    /// `--exclude-parties`).
    pub fn admits_source(&self, src: &SourceState) -> bool {
        let d = src.described.as_ref();
        (!self.exclude_parties || !d.is_some_and(|d| d.party))
            && (self.source_types.is_empty()
                || d.is_some_and(|d| self.source_types.contains(&d.kind)))
    }

    /// Does the incident pass?
    pub fn admits(&self, s: &IncidentState) -> bool {
        self.admits_status(s)
            && (self.grades.is_empty()
                || self
                    .grades
                    .contains(&grade::grade_of(s, &|n| s.is_party(n)).grade))
            && self.admits_place(
                s.details.date.start,
                &s.details.province,
                &s.details.category,
            )
            && self.source.as_ref().is_none_or(|src| {
                s.sources.iter().any(|x| x.source.eq_ignore_ascii_case(src))
                    || s.responsibility
                        .iter()
                        .any(|x| x.source.eq_ignore_ascii_case(src))
            })
    }

    /// Does the incident have a figure of a status of `--status` (always, without one)?
    fn admits_status(&self, s: &IncidentState) -> bool {
        self.statuses.is_empty()
            || s.sources.iter().any(|src| {
                [false, true].into_iter().any(|wounded| {
                    let by = src.by_status(&s.details, wounded);
                    self.statuses.iter().any(|st| by.contains_key(st))
                })
            })
    }

    /// Does an incident of this date, province and category pass the filters other than
    /// `source` and `statuses`?
    pub(crate) fn admits_place(&self, start: NaiveDate, province: &str, category: &str) -> bool {
        let eq = |a: &str, b: &Option<String>| b.as_ref().is_none_or(|b| a.eq_ignore_ascii_case(b));
        self.from.is_none_or(|d| start >= d)
            && self.to.is_none_or(|d| start <= d)
            && eq(province, &self.province)
            && eq(category, &self.category)
    }

    fn doc(&self) -> doc::Filters {
        doc::Filters {
            date_from: self.from.map(|d| d.format("%Y-%m-%d").to_string()),
            date_to: self.to.map(|d| d.format("%Y-%m-%d").to_string()),
            province: self.province.clone(),
            category: self.category.clone(),
            source: self.source.clone(),
            status: self.statuses.iter().map(|s| s.name().to_string()).collect(),
            grade: self.grades.iter().map(|g| g.as_str().to_string()).collect(),
            source_type: self
                .source_types
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
            exclude_parties: self.exclude_parties,
        }
    }
}

/// The killed and wounded a view counts for an incident: its reconciled totals, or with
/// `--status` the sums of the selected statuses' ranges (killed: victims and attackers, see
/// [`reconcile::status_ranges`]); a status the incident has no figure for adds nothing.
pub fn counted(i: &Incident, statuses: &[Status]) -> (Range, Range) {
    if statuses.is_empty() {
        return (i.killed, i.wounded);
    }
    let sum = |by: &doc::StatusRanges| {
        statuses
            .iter()
            .filter_map(|st| by.get(st.name()))
            .fold(Range::default(), |acc, r| acc.add(r))
    };
    (sum(&i.killed_by_status), sum(&i.wounded_by_status))
}

/// A view request: where in the log, what sources had published by when, which policy, which
/// incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The point in the log (recorded time or sequence).
    pub point: Point,
    /// Keep only what sources had published by this time (see "Time travel" in `docs/views.md`).
    pub known_by: Option<DateTime<Utc>>,
    /// How `best` is chosen.
    pub best: BestPolicy,
    /// Which incidents.
    pub filter: Filter,
    /// The sources' descriptions in force at the point: filled in when the query is
    /// checked (`Reader::checked`), empty before.
    pub described: SourceBook,
}

/// What [`Query::prepare`] did to one incident's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// In view; `left_out` of its sources' figures were not reconciled.
    Kept {
        /// Sources left out by `--source-type` / `--exclude-parties`.
        left_out: usize,
    },
    /// No source is left once the restriction applies: not in view.
    NoSourceLeft,
}

impl Query {
    /// Prepares a state for this query: each source's description in force at the point
    /// filled in (what the grade, `show` and the document read), then the sources whose
    /// figures do not count under `--source-type` / `--exclude-parties` removed, so that
    /// every range, total and grade is computed over the others (`docs/views.md`,
    /// "Sources described").
    pub fn prepare(&self, s: &mut IncidentState) -> Prepared {
        for src in &mut s.sources {
            src.described = self.described.get(&src.source).cloned();
        }
        if !self.filter.restricts_sources() {
            return Prepared::Kept { left_out: 0 };
        }
        let before = s.sources.len();
        s.sources.retain(|src| self.filter.admits_source(src));
        if s.sources.is_empty() {
            return Prepared::NoSourceLeft;
        }
        Prepared::Kept {
            left_out: before - s.sources.len(),
        }
    }
}

/// How a summary groups incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// By province.
    #[default]
    Province,
    /// By the month the incident's date starts in (`2020-07`).
    Month,
    /// By category.
    Category,
    /// By source, summing each source's own figures (an incident counts once per source
    /// that gave figures on it, so the groups overlap).
    Source,
    /// By casualty status: each status's reconciled ranges summed over the incidents that
    /// have it, and `unattributed`, the part of the incidents' totals no status covers (an
    /// incident with no status at all counts there whole). The groups never double count:
    /// their bests add up to the totals (killed: victims and attackers).
    Status,
    /// By grade: recorded, or suggested where none is recorded (`docs/views.md`,
    /// "Grades"), in the order of the scale.
    Grade,
}

impl FromStr for GroupBy {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "province" => Ok(GroupBy::Province),
            "month" => Ok(GroupBy::Month),
            "category" => Ok(GroupBy::Category),
            "source" => Ok(GroupBy::Source),
            "status" => Ok(GroupBy::Status),
            "grade" => Ok(GroupBy::Grade),
            _ => Err(Invalid::new(
                "--by",
                s,
                "a summary groups by province, month, category, source, status or grade",
            )),
        }
    }
}

impl GroupBy {
    /// `province`, `month`, `category`, `source`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Province => "province",
            GroupBy::Month => "month",
            GroupBy::Category => "category",
            GroupBy::Source => "source",
            GroupBy::Status => "status",
            GroupBy::Grade => "grade",
        }
    }
}

/// One row of the sources view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSummary {
    /// The source.
    pub source: String,
    /// Incidents it gave figures on.
    pub incidents: u64,
    /// Its reports in force.
    pub reports: u64,
    /// Its corrections in force.
    pub corrections: u64,
    /// Incidents where it is the only source with figures.
    pub alone: u64,
    /// Incidents where its point figure differs from another source's.
    pub disagrees: u64,
    /// Claims and denials of responsibility it reported.
    pub responsibility: u64,
    /// Its type as described at the view's point (`chronicle source set`); left out when
    /// it has no description.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Described as a party to the conflict at the view's point (left out when not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub party: bool,
    /// Its description's remark, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Figures in view that reached the log through another source (`--via`), per
    /// carrier, e.g. `{"Pajhwok": 2}`; left out when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub via: std::collections::BTreeMap<String, u64>,
}

/// The incidents of a view at a point, with where that point is.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The last event included (0 for an empty log).
    pub seq: u64,
    /// Its hash.
    pub hash: Option<String>,
    /// The incidents in view, sorted by date start then id.
    pub states: Vec<IncidentState>,
}

pub(crate) fn state_order(a: &IncidentState, b: &IncidentState) -> std::cmp::Ordering {
    a.details
        .date
        .start
        .cmp(&b.details.date.start)
        .then_with(|| a.incident.cmp(&b.incident))
}

/// Groups states into summary groups; with `statuses` (`--status`), the counts are those
/// of the selected statuses ([`counted`]).
pub fn summarize(
    states: &[IncidentState],
    best: &BestPolicy,
    by: GroupBy,
    statuses: &[Status],
) -> Vec<Group> {
    let mut keyed = Vec::new();
    let mut marks = Marks::new();
    for s in states {
        summary_keys(s, best, by, statuses, &mut keyed, &mut marks);
    }
    summary_groups(keyed, by, statuses, &marks)
}

/// Per summary key, how many incidents whose best figures an adjudication sets count in it.
pub(crate) type Marks = std::collections::BTreeMap<String, u64>;

/// What one state adds to a summary grouped `by`: `(key, killed, wounded)`, one per source
/// for [`GroupBy::Source`], one per status it has figures for with [`GroupBy::Status`],
/// else one. [`summary_groups`] turns them into groups.
pub(crate) fn summary_keys(
    s: &IncidentState,
    best: &BestPolicy,
    by: GroupBy,
    statuses: &[Status],
    out: &mut Vec<(String, Range, Range)>,
    marks: &mut Marks,
) {
    let from = out.len();
    summary_keys_of(s, best, by, statuses, out);
    // A source's own figures (by source) are never adjudicated.
    if by != GroupBy::Source && reconcile::adjudication_applies(s, best) {
        for (key, _, _) in &out[from..] {
            *marks.entry(key.clone()).or_default() += 1;
        }
    }
}

/// [`summary_keys`] without the marks.
fn summary_keys_of(
    s: &IncidentState,
    best: &BestPolicy,
    by: GroupBy,
    statuses: &[Status],
    out: &mut Vec<(String, Range, Range)>,
) {
    match by {
        GroupBy::Source => out.extend(s.sources.iter().map(|src| {
            (
                src.source.clone(),
                reconcile::figure_range(src.killed.as_ref()),
                reconcile::figure_range(src.wounded.as_ref()),
            )
        })),
        GroupBy::Status => status_keys(s, best, out),
        _ => {
            let key = match by {
                GroupBy::Province => s.details.province.clone(),
                GroupBy::Month => s.details.date.start.format("%Y-%m").to_string(),
                GroupBy::Grade => grade::grade_of(s, &|n| s.is_party(n)).grade.to_string(),
                _ => s.details.category.clone(),
            };
            let (killed, wounded) = if statuses.is_empty() {
                (
                    reconcile::measure_range(s, Measure::Killed, best),
                    reconcile::measure_range(s, Measure::Wounded, best),
                )
            } else {
                counted(&reconcile::incident_doc(s, best), statuses)
            };
            out.push((key, killed, wounded));
        }
    }
}

/// The groups of a summary from what [`summary_keys`] gave: by key, except by status, which
/// keeps the order of [`Status::ALL`] then `unattributed`, and only the selected statuses
/// when `statuses` is given.
pub(crate) fn summary_groups(
    keyed: Vec<(String, Range, Range)>,
    by: GroupBy,
    statuses: &[Status],
    marks: &Marks,
) -> Vec<Group> {
    let mut groups = reconcile::group(keyed);
    for g in &mut groups {
        g.adjudicated = marks.get(&g.key).copied().unwrap_or(0);
    }
    if by == GroupBy::Status {
        let rank = |key: &str| {
            StatusRanges::NAMES
                .iter()
                .position(|n| *n == key)
                .unwrap_or(StatusRanges::NAMES.len())
        };
        groups.sort_by_key(|g| rank(&g.key));
        if !statuses.is_empty() {
            groups.retain(|g| statuses.iter().any(|st| st.name() == g.key));
        }
    }
    if by == GroupBy::Grade {
        groups.sort_by_key(|g| Grade::parse(&g.key));
    }
    groups
}

/// Does a range of what no status covers hold anyone: a best or a high end above 0 (a
/// range that is only open, `0+`, does not)?
pub(crate) fn leftover(r: &Range) -> bool {
    r.best.is_some_and(|b| b > 0) || r.high.is_some_and(|h| h > 0)
}

/// Is `r` only open, `0+`: none known, possibly more ([`doc::Leftover::PossiblyMore`])?
fn only_open(r: &Range) -> bool {
    r.open_high && r.low == Some(0) && r.high == Some(0)
}

/// What one incident adds to `summary --by status`: one `(status, killed, wounded)` per
/// status it has people for, and `unattributed` for what no status covers (see
/// [`GroupBy::Status`]).
fn status_keys(s: &IncidentState, best: &BestPolicy, out: &mut Vec<(String, Range, Range)>) {
    let i = reconcile::incident_doc(s, best);
    // An incident with no status: its whole totals are unattributed.
    let whole = |by: &StatusRanges, total: Range| {
        if by.is_empty() && total.low.is_some() {
            let mut r = *by;
            r.unattributed = Some(total);
            r
        } else {
            *by
        }
    };
    let killed = whole(&i.killed_by_status, i.killed.add(&i.attackers_killed));
    let wounded = whole(&i.wounded_by_status, i.wounded);
    // A fully attributed incident (nothing left over) does not count as unattributed. A
    // leftover that is only open ("at least 14 killed", "at least 14 security forces": 0+)
    // does, as 0+: none known, which is not none, so the group's sum is open too (a closed
    // sum would say no more people can be unaccounted for).
    let counted = |key: &str, r: Option<&Range>| {
        r.filter(|r| leftover(r) || (key == "unattributed" && only_open(r)))
            .copied()
    };
    for key in StatusRanges::NAMES.iter().copied().chain(["unattributed"]) {
        let (k, w) = (
            counted(key, killed.get(key)),
            counted(key, wounded.get(key)),
        );
        if k.is_none() && w.is_none() {
            continue;
        }
        out.push((
            key.to_string(),
            k.unwrap_or_default(),
            w.unwrap_or_default(),
        ));
    }
}

fn source_row<'a>(
    by: &'a mut std::collections::BTreeMap<String, SourceSummary>,
    name: &str,
) -> &'a mut SourceSummary {
    by.entry(name.to_string()).or_insert_with(|| SourceSummary {
        source: name.to_string(),
        incidents: 0,
        reports: 0,
        corrections: 0,
        alone: 0,
        disagrees: 0,
        responsibility: 0,
        source_type: None,
        party: false,
        note: None,
        via: Default::default(),
    })
}

/// The sources view of a set of states.
pub fn sources_of(states: &[IncidentState]) -> Vec<SourceSummary> {
    let mut by: std::collections::BTreeMap<String, SourceSummary> = Default::default();
    for s in states {
        for src in &s.sources {
            let row = source_row(&mut by, &src.source);
            row.incidents += 1;
            row.reports += src.reports;
            row.corrections += src.corrections;
            row.alone += u64::from(reconcile::stands_alone(s, &src.source));
            row.disagrees += u64::from(reconcile::disagrees(s, &src.source));
            if let Some(d) = &src.described {
                row.source_type = Some(d.kind.to_string());
                row.party = d.party;
                row.note = d.note.clone();
            }
            if let Some(via) = &src.via {
                *row.via.entry(via.clone()).or_default() += 1;
            }
        }
        for r in &s.responsibility {
            source_row(&mut by, &r.source).responsibility += 1;
        }
    }
    by.into_values().collect()
}

/// The export document of a snapshot (without the incidents' `last_recorded`, which needs the
/// log: see `EventLog::export`).
pub fn document(snap: &Snapshot, q: &Query) -> Document {
    let incidents: Vec<Incident> = snap
        .states
        .iter()
        .map(|s| reconcile::incident_doc(s, &q.best))
        .collect();
    document_of_incidents(snap.seq, snap.hash.clone(), incidents, q)
}

/// [`document`], consuming the snapshot: each state is dropped once converted, so the states
/// and the documents are not all in memory at once.
pub(crate) fn document_owned(snap: Snapshot, q: &Query) -> Document {
    let incidents: Vec<Incident> = snap
        .states
        .into_iter()
        .map(|s| reconcile::incident_doc(&s, &q.best))
        .collect();
    document_of_incidents(snap.seq, snap.hash, incidents, q)
}

pub(crate) fn document_of_incidents(
    seq: u64,
    hash: Option<String>,
    incidents: Vec<Incident>,
    q: &Query,
) -> Document {
    let statuses = &q.filter.statuses;
    let mut killed = Range::default();
    let mut wounded = Range::default();
    let mut coded = 0;
    for i in &incidents {
        let (k, w) = counted(i, statuses);
        killed = killed.add(&k);
        wounded = wounded.add(&w);
        coded += u64::from(k.coded || w.coded);
    }
    let (kind, value) = match (q.known_by, q.point) {
        (Some(t), _) => (doc::PointKind::KnownBy, Some(format_recorded(t))),
        (None, Point::Head) => (doc::PointKind::Head, None),
        (None, Point::AtSeq(n)) => (doc::PointKind::AtSeq, Some(format!("seq:{n}"))),
        (None, Point::AsOf(t)) => (doc::PointKind::AsOf, Some(format_recorded(t))),
    };
    Document {
        schema: doc::SCHEMA.to_string(),
        provenance: doc::Provenance {
            log_seq: seq,
            log_hash: hash,
            point: doc::Point { kind, value },
            policy: doc::Policy {
                best: q.best.to_string(),
            },
            generator: format!("chronicle {}", env!("CARGO_PKG_VERSION")),
            filters: q.filter.doc(),
            exporter: None,
            checkpoint: None,
        },
        totals: doc::Totals {
            incidents: incidents.len() as u64,
            killed,
            wounded,
            // The incidents' ranges are those of their states under the same policy.
            by_province: reconcile::group(incidents.iter().map(|i| {
                let (k, w) = counted(i, statuses);
                (i.province.clone(), k, w)
            })),
            coded,
        },
        incidents,
    }
}
