//! The fold: an incident's view state from the events of its streams.
//!
//! An incident's view depends only on the events of its own stream and of the streams merged
//! into it (its *members*): retractions live in the stream of the event they retract, and a
//! merge lives in the duplicate's stream. [`fold_group`] computes the state from those events;
//! it is pure, so the materialized views, a rebuild, a time-travel query and the tests all
//! compute an incident the same way.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::event::{IncidentDetails, Payload};
use crate::domain::figure::Figure;
use crate::domain::status::{self, ByStatus, Status};
use crate::domain::time::{parse_recorded, Published};
use crate::streams::Ev;
use crate::views::described::Described;

/// A claim or denial: the view document's type, so the two cannot drift apart.
pub use chronicle_plugin_sdk::view::Stance;

/// A recorded assessment (`incident_assessed`) in force: the view document's type.
pub use chronicle_plugin_sdk::view::Assessment;

/// A source's current figures on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    /// The source.
    pub source: String,
    /// When the figures shown were published: the published time of the event that last
    /// changed them (`event_seq`), `None` when that event gave none. A correction without a
    /// published time does not inherit the earlier report's: that would date its new figures
    /// to the old publication.
    pub published: Option<Published>,
    /// Killed.
    pub killed: Option<Figure>,
    /// Wounded.
    pub wounded: Option<Figure>,
    /// Attackers killed.
    pub attackers_killed: Option<Figure>,
    /// Killed (victims and attackers) by status, as the source gave it: a report sets it, a
    /// correction sets the statuses it gives. Left out of the stored state when empty.
    #[serde(default, skip_serializing_if = "ByStatus::is_empty")]
    pub killed_by_status: ByStatus,
    /// Wounded by status, the same way.
    #[serde(default, skip_serializing_if = "ByStatus::is_empty")]
    pub wounded_by_status: ByStatus,
    /// A dataset's deaths by side (`killed_breakdown`'s `side_a`, `side_b`), read as
    /// statuses by the sides' names in [`SourceState::by_status`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sides: BTreeMap<String, Figure>,
    /// Latest note given.
    pub note: Option<String>,
    /// Latest citation given.
    pub citation: Option<String>,
    /// The reason given by the event that last changed the figures (a correction's is
    /// required; a report's is optional).
    #[serde(default)]
    pub reason: Option<String>,
    /// The event that last changed the figures.
    pub event_seq: u64,
    /// Its id.
    pub event_id: String,
    /// Its recorded time.
    pub recorded_at: String,
    /// A correction applies since the last report.
    pub corrected: bool,
    /// Reports in force.
    pub reports: u64,
    /// Corrections in force.
    pub corrections: u64,
    /// The first event of this source on the incident (orders the sources).
    pub first_seq: u64,
    /// How the source's figures changed before reaching the current ones, oldest first: one
    /// entry per count a later event of the source (in force, up to the point) changed. Left
    /// out of the stored state when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<Revised>,
    /// The source that carried the figures shown (`via` of the event that last changed
    /// them, as their published time); left out of the stored state when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The source's description in force at the view's point (`chronicle source set`):
    /// never stored (a description is not an event of the incident), filled in by the
    /// queries from the point's [`crate::views::described::SourceBook`].
    #[serde(skip)]
    pub described: Option<Described>,
}

/// One count of a source changed by one of its events (a correction, or a later report,
/// which replaces all its figures): the figure before and after, when and why. A count is a
/// total (killed, wounded, attackers killed) or the figure of one casualty status the
/// source gave (`killed_by_status` with its `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revised {
    /// `killed`, `wounded` or `attackers_killed` ([`Measure::name`]); `killed_by_status` or
    /// `wounded_by_status` for the figure of one status.
    pub measure: String,
    /// The status whose figure changed (with a `*_by_status` measure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Before (`None`: the source had given none).
    pub old: Option<Figure>,
    /// After (`None`: a later report left it out).
    pub new: Option<Figure>,
    /// The event's kind: `casualties_corrected` or `casualties_reported`.
    pub kind: String,
    /// Its published time.
    pub published: Option<Published>,
    /// Its recorded time.
    pub recorded_at: String,
    /// Its reason.
    pub reason: Option<String>,
    /// Its sequence number.
    pub event_seq: u64,
    /// Its id.
    pub event_id: String,
}

impl SourceState {
    /// This source's figures by status, killed (`wounded` false) or wounded, as the views
    /// count them (`docs/views.md`, "Casualty status"):
    /// - the statuses the source gave;
    /// - killed: a dataset's deaths by side, each read by the side's name
    ///   ([`status::side_status`]: side A is the incident's `perpetrator`, side B its
    ///   attribute `side_b`, as the UCDP import records them), added to the status given
    ///   directly; a side whose name the incident does not hold stays unattributed;
    /// - killed: the attackers killed are militants when the source gives no militants.
    pub fn by_status(&self, details: &IncidentDetails, wounded: bool) -> ByStatus {
        if wounded {
            return self.wounded_by_status.clone();
        }
        let mut out = self.killed_by_status.clone();
        let mut from_sides: BTreeMap<Status, Vec<Figure>> = BTreeMap::new();
        for (side, figure) in &self.sides {
            let name = match side.as_str() {
                "side_a" => details.perpetrator.clone(),
                "side_b" => details
                    .attributes
                    .get("side_b")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                _ => None,
            };
            if let Some(name) = name {
                from_sides
                    .entry(status::side_status(&name))
                    .or_default()
                    .push(*figure);
            }
        }
        for (st, mut figures) in from_sides {
            figures.extend(out.get(&st).copied());
            if let Some(total) = status::sum(&figures) {
                out.insert(st, total);
            }
        }
        if let (None, Some(a)) = (out.get(&Status::Militants), self.attackers_killed) {
            out.insert(Status::Militants, a);
        }
        out
    }

    /// The figure for a measure.
    pub fn figure(&self, m: Measure) -> Option<&Figure> {
        match m {
            Measure::Killed => self.killed.as_ref(),
            Measure::Wounded => self.wounded.as_ref(),
            Measure::AttackersKilled => self.attackers_killed.as_ref(),
        }
    }

    /// When this source's current figures were published, for the `latest` policy: the
    /// published time (a bare day counts from its start), else the recorded time.
    pub fn latest_key(&self) -> (Option<DateTime<Utc>>, u64) {
        let t = self
            .published
            .map(|p| p.earliest())
            .or_else(|| parse_recorded(&self.recorded_at));
        (t, self.event_seq)
    }
}

/// The three counts the views reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Killed, not counting attackers.
    Killed,
    /// Wounded.
    Wounded,
    /// Attackers killed.
    AttackersKilled,
}

impl Measure {
    /// All three.
    pub const ALL: [Measure; 3] = [Measure::Killed, Measure::Wounded, Measure::AttackersKilled];

    /// `killed`, `wounded`, `attackers_killed`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Killed => "killed",
            Measure::Wounded => "wounded",
            Measure::AttackersKilled => "attackers_killed",
        }
    }
}

/// A claim or denial in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RespState {
    /// The group.
    pub actor: String,
    /// Claimed or denied.
    pub stance: Stance,
    /// Who reported it.
    pub source: String,
    /// When published.
    pub published: Option<Published>,
    /// Its event.
    pub event_seq: u64,
}

/// An event of the incident whose payload a redaction erased: what is left of it (its id,
/// place and kind) and the redaction that erased it (who removed what, when and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redacted {
    /// The erased event's id.
    pub event_id: String,
    /// Its sequence number.
    pub event_seq: u64,
    /// Its kind (`casualties_reported`, ...).
    pub kind: String,
    /// The stream it is in (a merged duplicate's id for its own events).
    pub stream: String,
    /// The redaction event's id.
    pub redaction_id: String,
    /// Its sequence number (later than the point of a view taken between the two).
    pub redaction_seq: u64,
    /// When the redaction was recorded.
    pub redacted_at: String,
    /// The reason it gives.
    pub reason: String,
}

impl Redacted {
    /// `e` with its redaction `r` (an `event_redacted` of the same stream).
    pub(crate) fn new(e: &crate::streams::Erased, r: &Ev) -> Redacted {
        let reason = match &r.payload {
            Payload::EventRedacted(p) => p.reason.clone(),
            _ => String::new(),
        };
        Redacted {
            event_id: e.id.clone(),
            event_seq: e.seq,
            kind: e.kind.clone(),
            stream: e.incident.clone(),
            redaction_id: r.id.clone(),
            redaction_seq: r.seq,
            redacted_at: r.recorded_at.clone(),
            reason,
        }
    }
}

/// The adjudication in force on an incident: the latest `incident_adjudicated` of its own
/// stream that is not retracted (a later one replaces it whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjudicationState {
    /// The recorder's best estimate of killed, if it decided one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed: Option<u64>,
    /// Of wounded, if it decided one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wounded: Option<u64>,
    /// Why.
    pub reason: String,
    /// Recorded with `--outside-range`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_range: bool,
    /// Its event.
    pub event_seq: u64,
    /// Its id.
    pub event_id: String,
    /// When it was recorded.
    pub recorded_at: String,
}

impl AdjudicationState {
    /// The decided count for a measure (attackers killed are never adjudicated).
    pub fn count(&self, m: Measure) -> Option<u64> {
        match m {
            Measure::Killed => self.killed,
            Measure::Wounded => self.wounded,
            Measure::AttackersKilled => None,
        }
    }
}

/// An incident's view, independent of the reconciliation policy. Stored as JSON in
/// `view_states.state` (SQLite) or `view_incidents.state` (PostgreSQL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentState {
    /// The incident id.
    pub incident: String,
    /// Current details: the first report with the amendments in force applied.
    pub details: IncidentDetails,
    /// Sources in order of their first report.
    pub sources: Vec<SourceState>,
    /// Claims and denials in force, in log order.
    pub responsibility: Vec<RespState>,
    /// Members merged into it, sorted.
    pub merged_from: Vec<String>,
    /// Its events (of every member) whose payload was erased, up to the point of the view,
    /// in log order. Left out of the stored state when empty, so that the states of a log
    /// with no redaction are what they were before redactions existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Redacted>,
    /// The assessments of the incident in force (its own stream's `incident_assessed`
    /// events not retracted), in log order: the last is its grade. Left out of the stored
    /// state when empty, so that the states of a log with no assessment are unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assessments: Vec<Assessment>,
    /// The recorder's adjudication in force, if any (`chronicle adjudicate`). Left out of
    /// the stored state when there is none, so that the states of a log without one are
    /// what they were before adjudications existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjudication: Option<AdjudicationState>,
    /// The event that produced this state.
    pub last_seq: u64,
    /// When the incident's first event in force was recorded (of its own stream or of a
    /// stream merged into it): the incident's first appearance in the log.
    #[serde(default)]
    pub first_recorded: String,
}

impl IncidentState {
    /// Whether `source` is described as a party to the conflict at the view's point (its
    /// [`SourceState::described`], filled in by the queries; a source without one is not).
    pub fn is_party(&self, source: &str) -> bool {
        self.sources
            .iter()
            .any(|s| s.source == source && s.described.as_ref().is_some_and(|d| d.party))
    }

    /// Do two sources give different point figures for killed, wounded or attackers
    /// killed? (`reconcile::disputed`, the document's `disputed`.)
    pub fn sources_disagree(&self) -> bool {
        Measure::ALL.iter().any(|m| {
            let mut points = self
                .sources
                .iter()
                .filter_map(|s| s.figure(*m).filter(|f| !f.is_coded()).map(Figure::point));
            points
                .next()
                .is_some_and(|first| points.any(|p| p != first))
        })
    }
}

/// The moment from which a claim counts as published, for `--known-by`: its published time;
/// a bare day counts from the **end** of that day (UTC), when it is certainly public; a claim
/// with no published time counts from its recorded time (we had it then).
pub(crate) fn published_by(published: Option<Published>, recorded_at: &str) -> DateTime<Utc> {
    match published {
        Some(Published::At(t)) => t,
        Some(Published::Day(d)) => {
            let end = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or(NaiveTime::MIN);
            d.and_time(end).and_utc()
        }
        None => parse_recorded(recorded_at).unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

/// The state of `source` among `sources`, added (from event `e`, its first on the incident)
/// when it has none yet.
fn source_state<'a>(
    sources: &'a mut Vec<SourceState>,
    e: &Ev,
    source: &str,
) -> &'a mut SourceState {
    let i = match sources.iter().position(|s| s.source == source) {
        Some(i) => i,
        None => {
            sources.push(SourceState {
                source: source.to_string(),
                published: None,
                killed: None,
                wounded: None,
                attackers_killed: None,
                killed_by_status: ByStatus::new(),
                wounded_by_status: ByStatus::new(),
                sides: BTreeMap::new(),
                note: None,
                citation: None,
                reason: None,
                event_seq: e.seq,
                event_id: e.id.clone(),
                recorded_at: e.recorded_at.clone(),
                corrected: false,
                reports: 0,
                corrections: 0,
                first_seq: e.seq,
                revisions: Vec::new(),
                via: None,
                described: None,
            });
            sources.len() - 1
        }
    };
    &mut sources[i]
}

impl SourceState {
    /// Applies a report (which sets all three figures: those it leaves out become unknown)
    /// or a correction (which sets only the figures it gives) made by event `e`. Either sets
    /// the published time and the reason to its own (none when it gives none). A count it
    /// changes, when the source had given figures before, becomes a revision.
    fn apply(&mut self, r: &crate::domain::event::CasualtyReport, e: &Ev, correction: bool) {
        let revises = self.reports + self.corrections > 0;
        let before = Measure::ALL.map(|m| self.figure(m).copied());
        let before_by_status = [
            self.killed_by_status.clone(),
            self.wounded_by_status.clone(),
        ];
        self.set(r, e, correction);
        if !revises {
            return;
        }
        let revised = |measure: &str, status, old, new| Revised {
            measure: measure.to_string(),
            status,
            old,
            new,
            kind: e.payload.kind().to_string(),
            published: r.published,
            recorded_at: e.recorded_at.clone(),
            reason: r.reason.clone(),
            event_seq: e.seq,
            event_id: e.id.clone(),
        };
        for (m, old) in Measure::ALL.into_iter().zip(before) {
            let new = self.figure(m).copied();
            if old != new {
                self.revisions.push(revised(m.name(), None, old, new));
            }
        }
        let after_by_status = [&self.killed_by_status, &self.wounded_by_status];
        let mut by_status = Vec::new();
        for ((measure, old), new) in ["killed_by_status", "wounded_by_status"]
            .into_iter()
            .zip(&before_by_status)
            .zip(after_by_status)
        {
            for st in Status::ALL {
                let (old, new) = (old.get(&st).copied(), new.get(&st).copied());
                if old != new {
                    by_status.push(revised(measure, Some(st), old, new));
                }
            }
        }
        self.revisions.extend(by_status);
    }

    /// [`SourceState::apply`] without the revisions.
    fn set(&mut self, r: &crate::domain::event::CasualtyReport, e: &Ev, correction: bool) {
        if correction {
            self.killed = r.killed.or(self.killed);
            self.wounded = r.wounded.or(self.wounded);
            self.attackers_killed = r.attackers_killed.or(self.attackers_killed);
            for (st, f) in &r.killed_by_status {
                self.killed_by_status.insert(*st, *f);
            }
            for (st, f) in &r.wounded_by_status {
                self.wounded_by_status.insert(*st, *f);
            }
            let sides = sides_of(r);
            if !sides.is_empty() {
                self.sides = sides;
            }
            self.published = r.published;
            self.note = r.note.clone().or(self.note.take());
            self.citation = r.citation.clone().or(self.citation.take());
            self.corrected = true;
            self.corrections += 1;
        } else {
            self.killed = r.killed;
            self.wounded = r.wounded;
            self.attackers_killed = r.attackers_killed;
            self.killed_by_status = r.killed_by_status.clone();
            self.wounded_by_status = r.wounded_by_status.clone();
            self.sides = sides_of(r);
            self.published = r.published;
            self.note = r.note.clone();
            self.citation = r.citation.clone();
            self.corrected = false;
            self.reports += 1;
        }
        self.reason = r.reason.clone();
        self.via = r.via.clone();
        self.event_seq = e.seq;
        self.event_id = e.id.clone();
        self.recorded_at = e.recorded_at.clone();
    }
}

/// The deaths by side of a report whose `killed_breakdown` has a dataset's shape (only
/// the keys `side_a`, `side_b`, `civilians`, `unknown`: UCDP's); none for any other
/// breakdown, which stays in the log as given.
fn sides_of(r: &crate::domain::event::CasualtyReport) -> BTreeMap<String, Figure> {
    const SHAPE: [&str; 4] = ["side_a", "side_b", "civilians", "unknown"];
    if !r
        .killed_breakdown
        .keys()
        .all(|k| SHAPE.contains(&k.as_str()))
    {
        return BTreeMap::new();
    }
    r.killed_breakdown
        .iter()
        .filter(|(k, _)| k.starts_with("side_"))
        .map(|(k, f)| (k.clone(), *f))
        .collect()
}

/// The state of incident `root` from `events`: every event of `root`'s stream and of the
/// streams merged into it, up to the point of the view, in sequence order. `None` when the
/// incident is not shown (no first report in force; or, with `known_by`, no claim about it
/// was published by then).
///
/// Rules:
/// - an event is *in force* unless a retraction of it is among `events`;
/// - a stream counts only while its first report (`incident_reported`) is in force;
/// - details: the root's first report, then the root's amendments in force, in order (a
///   merged duplicate's own details are superseded by the root's);
/// - a source's figures: a report sets all three figures (those it leaves out become
///   unknown); a correction sets only the figures it gives; both in log order, across all
///   member streams;
/// - assessments: the root's own, in force, in order (a duplicate's are not the merged
///   incident's: its grade is the root's);
/// - with `known_by`, sourced claims (reports, corrections, claims and denials) count only
///   from [`published_by`]; editorial events (first reports, amendments, assessments,
///   merges, retractions) always apply;
/// - the adjudication in force: the latest `incident_adjudicated` in force of the root's
///   own stream (a merged duplicate's decisions were about its own sources); with
///   `known_by`, from its recorded time;
/// - `redactions`, the members' erased events up to the point, are listed as they are; an
///   erased event is absent from `events` (its payload is gone at every point). A member
///   whose first report is erased still counts (it was opened, only the text is gone);
///   the root itself needs its details, so a root whose first report is erased is not
///   shown, unless a later `incident_reported` of its stream opened it again.
pub(crate) fn fold_group(
    root: &str,
    members: &[String],
    events: &[Ev],
    redactions: Vec<Redacted>,
    known_by: Option<DateTime<Utc>>,
    last_seq: u64,
) -> Option<IncidentState> {
    let retracted: HashSet<&str> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::EventRetracted(r) => Some(r.event.as_str()),
            _ => None,
        })
        .collect();
    let mut opened: HashMap<&str, &IncidentDetails> = HashMap::new();
    for e in events {
        if let Payload::IncidentReported(d) = &e.payload {
            if !retracted.contains(e.id.as_str()) {
                opened.entry(e.incident.as_str()).or_insert(d);
            }
        }
    }
    let mut details = (*opened.get(root)?).clone();
    // A member whose first report was erased (not retracted) was opened all the same.
    let erased_opening: HashSet<&str> = redactions
        .iter()
        .filter(|r| r.kind == "incident_reported" && r.stream != root)
        .map(|r| r.stream.as_str())
        .collect();
    let mut sources: Vec<SourceState> = Vec::new();
    let mut responsibility = Vec::new();
    let mut assessments = Vec::new();
    let mut adjudication = None;
    let mut first_recorded: Option<&str> = None;
    for e in events {
        if retracted.contains(e.id.as_str())
            || !(opened.contains_key(e.incident.as_str())
                || erased_opening.contains(e.incident.as_str()))
        {
            continue;
        }
        first_recorded.get_or_insert(&e.recorded_at);
        let known =
            |p: Option<Published>| known_by.is_none_or(|t| published_by(p, &e.recorded_at) <= t);
        match &e.payload {
            Payload::IncidentAmended(a) if e.incident == root => details.amend(a),
            Payload::IncidentAssessed(a) if e.incident == root => assessments.push(Assessment {
                grade: a.grade,
                reason: a.reason.clone(),
                event_seq: e.seq,
                event_id: e.id.clone(),
                recorded_at: e.recorded_at.clone(),
            }),
            // The recorder's own decision counts from when it was recorded (`--known-by`).
            Payload::IncidentAdjudicated(a) if e.incident == root && known(None) => {
                adjudication = Some(AdjudicationState {
                    killed: a.killed,
                    wounded: a.wounded,
                    reason: a.reason.clone(),
                    outside_range: a.outside_range,
                    event_seq: e.seq,
                    event_id: e.id.clone(),
                    recorded_at: e.recorded_at.clone(),
                });
            }
            Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r)
                if known(r.published) =>
            {
                let correction = matches!(e.payload, Payload::CasualtiesCorrected(_));
                source_state(&mut sources, e, &r.source).apply(r, e, correction);
            }
            Payload::ResponsibilityClaimed(r) | Payload::ResponsibilityDenied(r)
                if known(r.published) =>
            {
                responsibility.push(RespState {
                    actor: r.actor.clone(),
                    stance: if matches!(e.payload, Payload::ResponsibilityClaimed(_)) {
                        Stance::Claimed
                    } else {
                        Stance::Denied
                    },
                    source: r.source.clone(),
                    published: r.published,
                    event_seq: e.seq,
                });
            }
            _ => {}
        }
    }
    if known_by.is_some() && sources.is_empty() && responsibility.is_empty() {
        return None;
    }
    let mut merged_from: Vec<String> = members.iter().filter(|m| *m != root).cloned().collect();
    merged_from.sort();
    merged_from.dedup();
    Some(IncidentState {
        incident: root.to_string(),
        details,
        sources,
        responsibility,
        merged_from,
        redactions,
        assessments,
        adjudication,
        last_seq,
        first_recorded: first_recorded.unwrap_or_default().to_string(),
    })
}
