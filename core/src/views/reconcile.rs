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
    self, Coordinates, Group, Incident, LatLon, Range, Redaction, Responsibility, Revision,
    SourceFigures, StatusFigures, StatusRanges,
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
}

impl fmt::Display for BestPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BestPolicy::Median => f.write_str("median"),
            BestPolicy::Min => f.write_str("min"),
            BestPolicy::Max => f.write_str("max"),
            BestPolicy::Latest => f.write_str("latest"),
            BestPolicy::Source(s) => write!(f, "source:{s}"),
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
            other => match other.strip_prefix("source:") {
                Some(name) if !name.trim().is_empty() => {
                    BestPolicy::Source(name.trim().to_string())
                }
                _ => return Err(Invalid::new(
                    "--best",
                    s,
                    "the policies are median, min, max, latest and source:NAME (e.g. source:AFP)",
                )),
            },
        })
    }
}

fn median(mut points: Vec<u64>) -> Option<u64> {
    points.sort_unstable();
    if points.is_empty() {
        None
    } else {
        Some(points[(points.len() - 1) / 2])
    }
}

/// The reconciled range of one count over the sources' current figures.
pub fn range(sources: &[SourceState], m: Measure, policy: &BestPolicy) -> Range {
    let given: Vec<(&SourceState, &Figure)> = sources
        .iter()
        .filter_map(|s| s.figure(m).map(|f| (s, f)))
        .collect();
    range_of(&given, policy)
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
        range(&state.sources, Measure::Wounded, policy)
    } else {
        range(&state.sources, Measure::Killed, policy).add(&range(
            &state.sources,
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
    };
    Range {
        low,
        best,
        high,
        open_high,
    }
}

/// True when two sources' point figures differ for this count (coded figures left out).
fn differs(sources: &[SourceState], m: Measure) -> bool {
    let mut points = sources
        .iter()
        .filter_map(|s| s.figure(m).filter(|f| !f.is_coded()).map(Figure::point));
    match points.next() {
        Some(first) => points.any(|p| p != first),
        None => false,
    }
}

/// True when sources disagree: two of them give different point figures for killed,
/// wounded or attackers killed.
pub fn disputed(state: &IncidentState) -> bool {
    Measure::ALL.iter().any(|m| differs(&state.sources, *m))
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
        date_start: d.date.start.format("%Y-%m-%d").to_string(),
        date_end: d.date.end.format("%Y-%m-%d").to_string(),
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
        killed: range(&state.sources, Measure::Killed, policy),
        wounded: range(&state.sources, Measure::Wounded, policy),
        attackers_killed: range(&state.sources, Measure::AttackersKilled, policy),
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
        last_seq: state.last_seq,
        last_recorded: None,
        first_recorded: (!state.first_recorded.is_empty()).then(|| state.first_recorded.clone()),
    }
}

/// A source's revision in the document's form.
fn revision(r: &Revised) -> Revision {
    Revision {
        measure: r.measure.clone(),
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

/// Groups incidents by a key, summing their killed and wounded.
pub fn group(items: impl IntoIterator<Item = (String, Range, Range)>) -> Vec<Group> {
    let mut groups: std::collections::BTreeMap<String, Group> = Default::default();
    for (key, killed, wounded) in items {
        let g = groups.entry(key.clone()).or_insert_with(|| Group {
            key,
            incidents: 0,
            killed: Range::default(),
            wounded: Range::default(),
        });
        g.incidents += 1;
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
        }
    }

    fn r(low: u64, best: u64, high: u64, open_high: bool) -> Range {
        Range {
            low: Some(low),
            best: Some(best),
            high: Some(high),
            open_high,
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
            last_seq: 2,
            first_recorded: String::new(),
        };
        let st = state(s.to_vec());
        assert!(!disputed(&st));
        assert!(!disagrees(&st, "ACLED") && !disagrees(&st, "NRF"));
        // Alone, a coded figure counts as its value (totals keep it).
        let s = [src("ACLED", "coded:3", 1)];
        assert_eq!(
            range(&s, Measure::Killed, &BestPolicy::Median),
            r(3, 3, 3, false)
        );
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
            "source:Ministry of Defense",
        ] {
            assert_eq!(p.parse::<BestPolicy>().unwrap().to_string(), p);
        }
        assert!("mean".parse::<BestPolicy>().is_err());
        assert!("source:".parse::<BestPolicy>().is_err());
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
