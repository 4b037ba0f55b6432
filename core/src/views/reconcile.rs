//! Reconciliation: from the sources' current figures to one range per count.
//!
//! - `low` is the smallest number any source's figure allows ([`Figure::lower`]);
//! - `high` is the largest number any source's figure gives ([`Figure::upper`], or N for
//!   "at least N"); `open_high` is true when that largest number is an "at least N" (the
//!   count may be higher: written `N+`);
//! - `best` follows a [`BestPolicy`]; the default is the median of the sources' point
//!   figures ([`Figure::point`]), the lower median when their number is even.
//!
//! A source's own low, best and high are never assumed to be in order: `lower`, `upper` and
//! `point` handle figures whose best lies outside their range.
//!
//! A coded figure (`coded:3`, ACLED's "Unknown fatalities coded as 3") is a convention, not a
//! count: where any source states a figure of its own for the count, the coded ones are left
//! out of low, best and high; only where every figure is coded do they make the range (so
//! that the count is not lost from totals). A coded figure never makes a dispute.

use std::fmt;
use std::str::FromStr;

use crate::domain::figure::Figure;
use crate::domain::gazetteer::{Gazetteer, Province};
use crate::domain::status::{ByStatus, Status};
use crate::error::Invalid;
use crate::views::doc::{
    self, Adjudication, Coordinates, Group, Incident, LatLon, Range, Redaction, Responsibility,
    Revision, SourceFigures, StatusFigures, StatusRanges,
};
use crate::views::fold::{IncidentState, Measure, Revised, SourceState};

/// How `best` is chosen among the sources' current point figures.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BestPolicy {
    /// The median (the lower median for an even number of sources). The default: one
    /// outlying source cannot move it far, and it is always a figure some source gave.
    #[default]
    Median,
    /// The smallest point figure (the most conservative).
    Min,
    /// The largest point figure.
    Max,
    /// The point figure of the source that published most recently (by published time, a
    /// bare day counting from its start; else recorded time; ties by sequence number).
    Latest,
    /// This source's point figure; where it gave none, the median.
    Source(String),
    /// A ranked list of sources (`source:A>B>C`, two names or more): per count, the point
    /// figure of the first source in the list that gave one; where none of them did, the
    /// median.
    Ranked(Vec<String>),
    /// The point figure most sources gave (figures compared by their point value, as
    /// `disputed` compares them); a tie between values given by equally many sources goes
    /// to the lower median of the tied values, so that with no majority at all it is the
    /// median.
    Majority,
}

impl BestPolicy {
    /// The source names the policy ranks (`source:NAME`: one; a ranked list: its names in
    /// order); empty for the other policies.
    pub fn named_sources(&self) -> &[String] {
        match self {
            BestPolicy::Source(name) => std::slice::from_ref(name),
            BestPolicy::Ranked(names) => names,
            _ => &[],
        }
    }
}

impl fmt::Display for BestPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BestPolicy::Median => f.write_str("median"),
            BestPolicy::Min => f.write_str("min"),
            BestPolicy::Max => f.write_str("max"),
            BestPolicy::Latest => f.write_str("latest"),
            BestPolicy::Source(s) => write!(f, "source:{s}"),
            BestPolicy::Ranked(names) => write!(f, "source:{}", names.join(">")),
            BestPolicy::Majority => f.write_str("majority"),
        }
    }
}

impl FromStr for BestPolicy {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        Ok(match s.trim() {
            "median" => BestPolicy::Median,
            "min" => BestPolicy::Min,
            "max" => BestPolicy::Max,
            "latest" => BestPolicy::Latest,
            "majority" => BestPolicy::Majority,
            other => match other.strip_prefix("source:") {
                Some(names) if names.contains('>') => ranked(s, names)?,
                Some(name) if !name.trim().is_empty() => {
                    BestPolicy::Source(name.trim().to_string())
                }
                _ => return Err(Invalid::new(
                    "--best",
                    s,
                    "the policies are median, min, max, latest, majority, source:NAME (e.g. source:AFP) and a ranked list source:A>B>C (e.g. \"source:AFP>Ministry of Defense\")",
                )),
            },
        })
    }
}

/// The ranked list of `source:A>B>C` (`names`: the text after `source:`): every name
/// non-empty, none twice.
fn ranked(given: &str, names: &str) -> Result<BestPolicy, Invalid> {
    let mut list: Vec<String> = Vec::new();
    for name in names.split('>').map(str::trim) {
        if name.is_empty() {
            return Err(Invalid::new(
                "--best",
                given,
                "a ranked list names a source on each side of every `>` (e.g. \"source:AFP>Ministry of Defense\")",
            ));
        }
        if list.iter().any(|n| n == name) {
            return Err(Invalid::new(
                "--best",
                given,
                format!("{name:?} is named twice in the ranked list; name each source once, in order of preference"),
            ));
        }
        list.push(name.to_string());
    }
    Ok(BestPolicy::Ranked(list))
}

fn median(mut points: Vec<u64>) -> Option<u64> {
    points.sort_unstable();
    if points.is_empty() {
        None
    } else {
        Some(points[(points.len() - 1) / 2])
    }
}

/// The point value most of `points` are (the `majority` policy); among values given
/// equally often, the lower median of those values. `None` when `points` is empty.
fn majority(points: &[u64]) -> Option<u64> {
    let mut counts: std::collections::BTreeMap<u64, usize> = Default::default();
    for p in points {
        *counts.entry(*p).or_default() += 1;
    }
    let most = counts.values().copied().max()?;
    median(
        counts
            .into_iter()
            .filter(|(_, n)| *n == most)
            .map(|(p, _)| p)
            .collect(),
    )
}

/// The reconciled range of one count over the sources' current figures.
pub fn range(sources: &[SourceState], m: Measure, policy: &BestPolicy) -> Range {
    let given: Vec<(&SourceState, &Figure)> = sources
        .iter()
        .filter_map(|s| s.figure(m).map(|f| (s, f)))
        .collect();
    range_of(&given, policy)
}

/// The reconciled range of one count of an incident: [`range`] over its sources, and under
/// the default policy (`median`) the best is the adjudication in force where it decides this
/// count (low and high stay the sources'). Other policies ignore adjudications: they are
/// asked for a rule over the sources' figures.
pub fn measure_range(state: &IncidentState, m: Measure, policy: &BestPolicy) -> Range {
    let mut r = range(&state.sources, m, policy);
    if let Some(n) = adjudicated(state, m, policy) {
        r.best = Some(n);
    }
    r
}

/// Does an adjudication in force set some of the incident's bests under `policy`?
pub fn adjudication_applies(state: &IncidentState, policy: &BestPolicy) -> bool {
    *policy == BestPolicy::Median && state.adjudication.is_some()
}

/// The adjudicated count that replaces the best of measure `m` under `policy`, if any.
fn adjudicated(state: &IncidentState, m: Measure, policy: &BestPolicy) -> Option<u64> {
    match policy {
        BestPolicy::Median => state.adjudication.as_ref()?.count(m),
        _ => None,
    }
}

/// Killed (victims and attackers: `wounded` false) or wounded by casualty status, each
/// status reconciled over the sources that gave it (the same rules as [`range`]), and the
/// part of the total no status covers (`docs/views.md`, "Casualty status"). Empty when no
/// source gave a status.
pub fn status_ranges(state: &IncidentState, wounded: bool, policy: &BestPolicy) -> StatusRanges {
    let per_source: Vec<(&SourceState, ByStatus)> = state
        .sources
        .iter()
        .map(|s| (s, s.by_status(&state.details, wounded)))
        .collect();
    let mut out = StatusRanges::default();
    for st in Status::ALL {
        let given: Vec<(&SourceState, &Figure)> = per_source
            .iter()
            .filter_map(|(s, m)| m.get(&st).map(|f| (*s, f)))
            .collect();
        if let (false, Some(slot)) = (given.is_empty(), out.slot(st.name())) {
            *slot = Some(range_of(&given, policy));
        }
    }
    if out.is_empty() {
        return out;
    }
    let total = if wounded {
        measure_range(state, Measure::Wounded, policy)
    } else {
        measure_range(state, Measure::Killed, policy).add(&measure_range(
            state,
            Measure::AttackersKilled,
            policy,
        ))
    };
    out.unattributed = unattributed(&total, &out);
    out
}

/// The part of `total` that the statuses of `parts` do not cover: best = total's best less
/// the statuses' bests, low = total's low less the statuses' highs (0 when one is open),
/// high = total's high less the statuses' lows (open when the total is); none below 0.
/// `None` when the incident has no total.
fn unattributed(total: &Range, parts: &StatusRanges) -> Option<Range> {
    let (low, best, high) = (total.low?, total.best?, total.high?);
    let ranges: Vec<&Range> = StatusRanges::NAMES
        .iter()
        .filter_map(|n| parts.get(n))
        .collect();
    let sum = |f: fn(&Range) -> Option<u64>| ranges.iter().filter_map(|r| f(r)).sum::<u64>();
    let open = ranges.iter().any(|r| r.open_high);
    Some(Range {
        low: Some(if open {
            0
        } else {
            low.saturating_sub(sum(|r| r.high))
        }),
        best: Some(best.saturating_sub(sum(|r| r.best))),
        high: Some(high.saturating_sub(sum(|r| r.low))),
        open_high: total.open_high,
        // What no status covers of a coded total is coded too, unless a status is stated.
        coded: total.coded && ranges.iter().all(|r| r.coded),
    })
}

/// A source's figures by status in the document's form.
fn status_figures(s: &SourceState, state: &IncidentState, wounded: bool) -> StatusFigures {
    let by = s.by_status(&state.details, wounded);
    let get = |st: Status| by.get(&st).map(doc::figure);
    StatusFigures {
        civilians: get(Status::Civilians),
        security_forces: get(Status::SecurityForces),
        militants: get(Status::Militants),
        unknown: get(Status::Unknown),
    }
}

/// The figures that make a range: the stated ones, or when every figure is coded, those.
fn stated<'a, T>(given: &'a [(T, &'a Figure)]) -> impl Iterator<Item = &'a (T, &'a Figure)> {
    let all_coded = given.iter().all(|(_, f)| f.is_coded());
    given
        .iter()
        .filter(move |(_, f)| all_coded || !f.is_coded())
}

/// The reconciled range of figures given by sources (see [`range`]; coded figures only
/// where no source states one).
fn range_of(given: &[(&SourceState, &Figure)], policy: &BestPolicy) -> Range {
    let given: Vec<(&SourceState, &Figure)> = stated(given).copied().collect();
    if given.is_empty() {
        return Range::default();
    }
    // `stated` keeps coded figures only when every figure is coded.
    let coded = given.iter().all(|(_, f)| f.is_coded());
    let low = given.iter().map(|(_, f)| f.lower()).min();
    let high = given
        .iter()
        .map(|(_, f)| f.upper().unwrap_or_else(|| f.lower()))
        .max();
    let open_high = given
        .iter()
        .any(|(_, f)| f.upper().is_none() && Some(f.lower()) == high);
    let points: Vec<u64> = given.iter().map(|(_, f)| f.point()).collect();
    let best = match policy {
        BestPolicy::Median => median(points),
        BestPolicy::Min => points.iter().copied().min(),
        BestPolicy::Max => points.iter().copied().max(),
        BestPolicy::Latest => given
            .iter()
            .max_by_key(|(s, _)| s.latest_key())
            .map(|(_, f)| f.point()),
        BestPolicy::Source(name) => given
            .iter()
            .find(|(s, _)| &s.source == name)
            .map(|(_, f)| f.point())
            .or_else(|| median(points)),
        BestPolicy::Ranked(names) => names
            .iter()
            .find_map(|name| given.iter().find(|(s, _)| &s.source == name))
            .map(|(_, f)| f.point())
            .or_else(|| median(points)),
        BestPolicy::Majority => majority(&points),
    };
    Range {
        low,
        best,
        high,
        open_high,
        coded,
    }
}

/// True when sources disagree: two of them give different point figures for killed,
/// wounded or attackers killed.
pub fn disputed(state: &IncidentState) -> bool {
    state.sources_disagree()
}

/// Does `source` stand alone on the incident (the only source with figures)?
pub fn stands_alone(state: &IncidentState, source: &str) -> bool {
    state.sources.len() == 1 && state.sources[0].source == source
}

/// Does `source`'s point figure differ from another source's for some count? A coded
/// figure, its own or another's, never differs.
pub fn disagrees(state: &IncidentState, source: &str) -> bool {
    let Some(me) = state.sources.iter().find(|s| s.source == source) else {
        return false;
    };
    Measure::ALL.iter().any(|m| {
        me.figure(*m).filter(|f| !f.is_coded()).is_some_and(|mine| {
            state
                .sources
                .iter()
                .filter(|o| o.source != source)
                .filter_map(|o| o.figure(*m).filter(|f| !f.is_coded()))
                .any(|theirs| theirs.point() != mine.point())
        })
    })
}

/// A source's own figure as a range (for summaries by source).
pub fn figure_range(f: Option<&Figure>) -> Range {
    match f {
        None => Range::default(),
        Some(f) => Range {
            low: Some(f.lower()),
            best: Some(f.point()),
            high: Some(f.upper().unwrap_or_else(|| f.lower())),
            open_high: f.upper().is_none(),
            coded: f.is_coded(),
        },
    }
}

/// The gazetteer's ISO 3166-2 code and centroid for a province of a country (given by name or
/// ISO 3166-1 code; Afghanistan when none is recorded, as when the incident was validated).
/// Unknown for a country without a built-in gazetteer and for a province the gazetteer does not
/// know (recorded with `--allow-unknown-place`).
pub fn place_of(country: Option<&str>, province: &str) -> (Option<String>, Option<LatLon>) {
    match resolve_place(country, province) {
        Some((_, p)) => (
            Some(p.code.clone()),
            Some(LatLon {
                lat: p.centroid.lat,
                lon: p.centroid.lon,
            }),
        ),
        None => (None, None),
    }
}

/// The name of the country whose gazetteer gives [`place_of`] its answer (`Afghanistan`
/// for an incident recorded without a country); `None` when `place_of` has none.
pub fn province_country_of(country: Option<&str>, province: &str) -> Option<String> {
    resolve_place(country, province).map(|(g, _)| g.country().to_string())
}

/// The gazetteer [`place_of`] uses and the province it resolves.
fn resolve_place(
    country: Option<&str>,
    province: &str,
) -> Option<(&'static Gazetteer, &'static Province)> {
    let gazetteer = match country {
        None => Gazetteer::afghanistan(),
        Some(c) => Gazetteer::builtin_for_country(c)?,
    };
    gazetteer.resolve(province).ok().map(|p| (gazetteer, p))
}

/// The document form of an incident's state under a policy. `last_recorded` is left unknown:
/// the state does not hold the recorded time of its last event (the queries in
/// [`crate::views`] fill it in).
pub fn incident_doc(state: &IncidentState, policy: &BestPolicy) -> Incident {
    let d = &state.details;
    let (province_code, province_centroid) = place_of(d.country.as_deref(), &d.province);
    let published = |p: Option<crate::domain::time::Published>| p.map(|p| p.to_string());
    Incident {
        incident: state.incident.clone(),
        date: d.date.to_string(),
        date_start: d.date.start.to_string(),
        date_end: d.date.end.to_string(),
        date_precision: d.date.precision,
        country: d.country.clone(),
        province: d.province.clone(),
        province_code,
        province_centroid,
        province_country: province_country_of(d.country.as_deref(), &d.province),
        district: d.district.clone(),
        locality: d.locality.clone(),
        coordinates: d.coordinates.as_ref().map(|c| Coordinates {
            lat: c.lat,
            lon: c.lon,
            precision: c.precision.clone(),
        }),
        category: d.category.clone(),
        target: d.target.clone(),
        perpetrator: d.perpetrator.clone(),
        summary: d.summary.clone(),
        killed: measure_range(state, Measure::Killed, policy),
        wounded: measure_range(state, Measure::Wounded, policy),
        attackers_killed: measure_range(state, Measure::AttackersKilled, policy),
        killed_by_status: status_ranges(state, false, policy),
        wounded_by_status: status_ranges(state, true, policy),
        disputed: disputed(state),
        sources: state
            .sources
            .iter()
            .map(|s| SourceFigures {
                source: s.source.clone(),
                published: published(s.published),
                killed: s.killed.as_ref().map(doc::figure),
                wounded: s.wounded.as_ref().map(doc::figure),
                attackers_killed: s.attackers_killed.as_ref().map(doc::figure),
                killed_by_status: status_figures(s, state, false),
                wounded_by_status: status_figures(s, state, true),
                note: s.note.clone(),
                citation: s.citation.clone(),
                reason: s.reason.clone(),
                event_seq: s.event_seq,
                event_id: s.event_id.clone(),
                corrected: s.corrected,
                revisions: s.revisions.iter().map(revision).collect(),
                via: s.via.clone(),
                source_type: s.described.as_ref().map(|d| d.kind.to_string()),
                party: s.described.as_ref().is_some_and(|d| d.party),
            })
            .collect(),
        responsibility: state
            .responsibility
            .iter()
            .map(|r| Responsibility {
                actor: r.actor.clone(),
                stance: r.stance,
                source: r.source.clone(),
                published: published(r.published),
                event_seq: r.event_seq,
            })
            .collect(),
        merged_from: state.merged_from.clone(),
        grade: Some(crate::views::grade::grade_of(state, &|n| state.is_party(n))),
        redactions: state
            .redactions
            .iter()
            .map(|r| Redaction {
                event_id: r.event_id.clone(),
                event_seq: r.event_seq,
                kind: r.kind.clone(),
                stream: r.stream.clone(),
                redaction_id: r.redaction_id.clone(),
                redaction_seq: r.redaction_seq,
                redacted_at: r.redacted_at.clone(),
                reason: r.reason.clone(),
            })
            .collect(),
        adjudication: state.adjudication.as_ref().map(|a| Adjudication {
            killed: a.killed,
            wounded: a.wounded,
            reason: a.reason.clone(),
            outside_range: a.outside_range,
            applied: *policy == BestPolicy::Median,
            event_seq: a.event_seq,
            event_id: a.event_id.clone(),
            recorded_at: a.recorded_at.clone(),
        }),
        last_seq: state.last_seq,
        last_recorded: None,
        first_recorded: (!state.first_recorded.is_empty()).then(|| state.first_recorded.clone()),
    }
}

/// A source's revision in the document's form.
fn revision(r: &Revised) -> Revision {
    Revision {
        measure: r.measure.clone(),
        status: r.status.map(|s| s.name().to_string()),
        old: r.old.as_ref().map(doc::figure),
        new: r.new.as_ref().map(doc::figure),
        kind: r.kind.clone(),
        published: r.published.map(|p| p.to_string()),
        recorded_at: r.recorded_at.clone(),
        reason: r.reason.clone(),
        event_seq: r.event_seq,
        event_id: r.event_id.clone(),
    }
}

/// Groups incidents by a key, summing their killed and wounded and counting the incidents
/// with a coded count ([`Group::coded`]).
pub fn group(items: impl IntoIterator<Item = (String, Range, Range)>) -> Vec<Group> {
    let mut groups: std::collections::BTreeMap<String, Group> = Default::default();
    for (key, killed, wounded) in items {
        let g = groups.entry(key.clone()).or_insert_with(|| Group {
            key,
            incidents: 0,
            killed: Range::default(),
            wounded: Range::default(),
            adjudicated: 0,
            coded: 0,
        });
        g.incidents += 1;
        g.coded += u64::from(killed.coded || wounded.coded);
        g.killed = g.killed.add(&killed);
        g.wounded = g.wounded.add(&wounded);
    }
    groups.into_values().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn src(name: &str, killed: &str, seq: u64) -> SourceState {
        SourceState {
            source: name.into(),
            published: None,
            killed: Some(killed.parse().unwrap()),
            wounded: None,
            attackers_killed: None,
            killed_by_status: Default::default(),
            wounded_by_status: Default::default(),
            sides: Default::default(),
            note: None,
            citation: None,
            reason: None,
            event_seq: seq,
            event_id: format!("e{seq}"),
            recorded_at: "2026-01-01T00:00:00.000000Z".into(),
            corrected: false,
            reports: 1,
            corrections: 0,
            first_seq: seq,
            revisions: Vec::new(),
            via: None,
            described: None,
        }
    }

    fn r(low: u64, best: u64, high: u64, open_high: bool) -> Range {
        Range {
            low: Some(low),
            best: Some(best),
            high: Some(high),
            open_high,
            coded: false,
        }
    }

    #[test]
    fn puli_alam_median_is_the_lower_one() {
        let s = [src("AFP", "17", 1), src("MoD", "8", 2)];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(8, 8, 17, false)
        );
        assert_eq!(range(&s, Measure::Killed, &BestPolicy::Max).best, Some(17));
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Latest).best,
            Some(8)
        );
        assert_eq!(
            range(&s, Measure::Killed, &"source:AFP".parse().unwrap()).best,
            Some(17)
        );
        assert_eq!(
            range(&s, Measure::Killed, &"source:UN".parse().unwrap()).best,
            Some(8),
            "an absent source falls back to the median"
        );
    }

    #[test]
    fn at_least_bounds_from_below_and_opens_the_top() {
        let s = [src("a", "at-least:14", 1)];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(14, 14, 14, true)
        );
        let s = [src("a", "at-least:14", 1), src("b", "20", 2)];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(14, 14, 20, false)
        );
        let s = [
            src("a", "at-least:30", 1),
            src("b", "20", 2),
            src("c", "25", 3),
        ];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(20, 25, 30, true)
        );
    }

    #[test]
    fn ranges_contribute_both_ends_even_out_of_order() {
        let s = [src("a", "22-35", 1), src("b", "30", 2)];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(22, 22, 35, false)
        );
        // UCDP-style: best 18 outside 12-17.
        let s = [src("ucdp", "12-17~18", 1)];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(12, 18, 18, false)
        );
    }

    #[test]
    fn coded_figures_give_way_to_stated_ones_and_never_dispute() {
        let s = [src("ACLED", "coded:3", 1), src("NRF", "11", 2)];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(11, 11, 11, false)
        );
        assert_eq!(range(&s, Measure::Killed, &BestPolicy::Min).best, Some(11));
        let state = |sources: Vec<SourceState>| IncidentState {
            incident: "i".into(),
            details: serde_json::from_value(serde_json::json!({
                "date": "2022-01-01", "province": "Kabul", "category": "clash"
            }))
            .unwrap(),
            sources,
            responsibility: vec![],
            merged_from: vec![],
            redactions: vec![],
            assessments: vec![],
            adjudication: None,
            last_seq: 2,
            first_recorded: String::new(),
        };
        let st = state(s.to_vec());
        assert!(!disputed(&st));
        assert!(!disagrees(&st, "ACLED") && !disagrees(&st, "NRF"));
        // Alone, a coded figure counts as its value (totals keep it), and the range says
        // that it rests on coded figures only; beside a stated one (above) it does not.
        let s = [src("ACLED", "coded:3", 1)];
        let coded = range(&s, Measure::Killed, &BestPolicy::Median);
        assert_eq!(
            coded,
            Range {
                coded: true,
                ..r(3, 3, 3, false)
            }
        );
        assert!(!range(&s, Measure::Wounded, &BestPolicy::Median).coded);
        let two = [src("ACLED", "coded:3", 1), src("X", "coded:10", 2)];
        assert!(range(&two, Measure::Killed, &BestPolicy::Max).coded);
        // A source's own coded figure (summary by source) is coded too.
        assert!(figure_range(s[0].killed.as_ref()).coded);
        // A sum is coded when every part with a figure is.
        let stated = r(11, 11, 11, false);
        assert!(coded.add(&coded).add(&Range::default()).coded);
        assert!(Range::default().add(&coded).coded);
        assert!(!coded.add(&stated).coded && !stated.add(&coded).coded);
        // Grouped: the incidents with a coded count are counted.
        let groups = group([
            ("Kapisa".to_string(), coded, Range::default()),
            ("Kapisa".to_string(), stated, Range::default()),
            ("Kabul".to_string(), coded, Range::default()),
        ]);
        let counts: Vec<(&str, u64, bool)> = groups
            .iter()
            .map(|g| (g.key.as_str(), g.coded, g.killed.coded))
            .collect();
        assert_eq!(counts, [("Kabul", 1, true), ("Kapisa", 1, false)]);
        // Two stated figures that differ still dispute beside a coded one.
        let st = state(vec![
            src("ACLED", "coded:3", 1),
            src("a", "4", 2),
            src("b", "5", 3),
        ]);
        assert!(disputed(&st) && !disagrees(&st, "ACLED") && disagrees(&st, "a"));
    }

    #[test]
    fn no_figures_no_range() {
        let s = [src("a", "3", 1)];
        assert_eq!(
            range(&s, Measure::Wounded, &BestPolicy::Median),
            Range::default()
        );
    }

    #[test]
    fn policy_text_round_trips_and_refuses_junk() {
        for p in [
            "median",
            "min",
            "max",
            "latest",
            "majority",
            "source:Ministry of Defense",
            "source:AFP>Ministry of Defense>UN",
        ] {
            assert_eq!(p.parse::<BestPolicy>().unwrap().to_string(), p);
        }
        assert!("mean".parse::<BestPolicy>().is_err());
        assert!("source:".parse::<BestPolicy>().is_err());
    }

    #[test]
    fn majority_takes_the_value_most_sources_gave() {
        let s = [
            src("a", "12", 1),
            src("b", "at-least:12", 2),
            src("c", "30", 3),
        ];
        // "at least 12" puts 12 forward, as `disputed` compares them: two sources say 12.
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Majority),
            r(12, 12, 30, false)
        );
        let s = [
            src("a", "8", 1),
            src("b", "30", 2),
            src("c", "8", 3),
            src("d", "17", 4),
            src("e", "30", 5),
        ];
        // 8 and 30 tie (two sources each): the lower median of the tied values.
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Majority).best,
            Some(8)
        );
        let s = [src("a", "17", 1), src("b", "8", 2), src("c", "11", 3)];
        // No majority at all: every value ties, so it is the median.
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Majority).best,
            range(&s, Measure::Killed, &BestPolicy::Median).best
        );
    }

    #[test]
    fn a_ranked_list_takes_the_first_source_that_gave_the_count() {
        let mut mod_ = src("Ministry of Defense", "8", 2);
        mod_.wounded = Some("30".parse().unwrap());
        let s = [src("AFP", "17", 1), mod_, src("UN", "12", 3)];
        let p: BestPolicy = "source:UN>AFP>Ministry of Defense".parse().unwrap();
        assert_eq!(range(&s, Measure::Killed, &p).best, Some(12));
        // Only the ministry gave wounded: the first in the list that did.
        assert_eq!(range(&s, Measure::Wounded, &p).best, Some(30));
        let p: BestPolicy = "source:Taliban spokesman>AFP".parse().unwrap();
        assert_eq!(range(&s, Measure::Killed, &p).best, Some(17));
        let p: BestPolicy = "source:Taliban spokesman>Local elder".parse().unwrap();
        assert_eq!(
            range(&s, Measure::Killed, &p).best,
            Some(12),
            "none of the list gave figures: the median"
        );
    }

    #[test]
    fn ranked_lists_parse_and_refuse_empty_or_repeated_names() {
        assert_eq!(
            "source: AFP > Ministry of Defense "
                .parse::<BestPolicy>()
                .unwrap(),
            BestPolicy::Ranked(vec!["AFP".into(), "Ministry of Defense".into()])
        );
        for bad in [
            "source:AFP>",
            "source:>AFP",
            "source:AFP>>UN",
            "source:AFP>UN>AFP",
        ] {
            let e = bad.parse::<BestPolicy>().unwrap_err();
            assert_eq!(e.field, "--best", "{bad}");
        }
    }

    proptest::proptest! {
        /// Majority and ranked lists always give one of the sources' point figures, inside
        /// the reconciled low..high.
        #[test]
        fn majority_and_ranked_stay_among_the_sources_figures(
            given in proptest::collection::vec((0usize..5, 0u8..4, 0u64..40, 0u64..15, 0u64..60), 1..8),
            ranked in proptest::sample::subsequence(vec![0usize, 1, 2, 3, 4], 1..5),
            shuffle in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            const NAMES: [&str; 5] = ["AFP", "Ministry of Defense", "UN", "Taliban spokesman", "Pajhwok"];
            let mut sources: Vec<SourceState> = Vec::new();
            for (seq, (who, kind, low, span, best)) in given.iter().enumerate() {
                let text = match kind {
                    0 => low.to_string(),
                    1 => format!("at-least:{low}"),
                    2 => format!("{low}-{}", low + span),
                    _ => format!("{low}-{}~{best}", low + span),
                };
                // One figure per source: a later one of the same name is its correction.
                sources.retain(|s| s.source != NAMES[*who]);
                sources.push(src(NAMES[*who], &text, seq as u64 + 1));
            }
            let mut names: Vec<String> = ranked.iter().map(|i| NAMES[*i].to_string()).collect();
            let k = shuffle.index(names.len());
            names.rotate_left(k);
            let points: Vec<u64> = sources.iter().filter_map(|s| s.killed.map(|f| f.point())).collect();
            let policy = if names.len() == 1 { BestPolicy::Source(names[0].clone()) } else { BestPolicy::Ranked(names) };
            for policy in [BestPolicy::Majority, policy] {
                let r = range(&sources, Measure::Killed, &policy);
                let (low, best, high) = (r.low.unwrap(), r.best.unwrap(), r.high.unwrap());
                proptest::prop_assert!(points.contains(&best), "{policy}: {best} not among {points:?}");
                proptest::prop_assert!(low <= best && best <= high, "{policy}: {low} <= {best} <= {high}");
            }
        }
    }

    #[test]
    fn sums_keep_nulls_apart() {
        let t = Range::default()
            .add(&r(1, 2, 3, false))
            .add(&Range::default())
            .add(&r(10, 10, 10, true));
        assert_eq!(t, r(11, 12, 13, true));
    }

    #[test]
    fn places_come_from_the_gazetteer() {
        let (code, centroid) = place_of(None, "Logar");
        assert_eq!(code.as_deref(), Some("AF-LOG"));
        let af = Gazetteer::afghanistan().resolve("Logar").unwrap();
        assert_eq!(
            centroid,
            Some(LatLon {
                lat: af.centroid.lat,
                lon: af.centroid.lon
            })
        );
        assert_eq!(
            place_of(Some("Afghanistan"), "Kunduz").0.as_deref(),
            Some("AF-KDZ")
        );
        assert_eq!(place_of(Some("af"), "Helmand").0.as_deref(), Some("AF-HEL"));
        assert_eq!(place_of(Some("Pakistan"), "Punjab"), (None, None));
        assert_eq!(place_of(None, "Atlantis"), (None, None));
        assert_eq!(
            province_country_of(None, "Logar").as_deref(),
            Some("Afghanistan")
        );
        assert_eq!(
            province_country_of(Some("af"), "Helmand").as_deref(),
            Some("Afghanistan")
        );
        assert_eq!(province_country_of(None, "Atlantis"), None);
        assert_eq!(province_country_of(Some("Pakistan"), "Punjab"), None);
    }
}
