//! Property tests of the views: incremental maintenance equals a rebuild, and a time-travel
//! query equals a fresh replay of the matching prefix of the log, over random valid event
//! sequences (reports, corrections, retractions of every kind, amendments, merges, claims and
//! denials, assessments), appended in random batches (some of which are refused whole).
#![allow(clippy::unwrap_used)]

mod common;

use chronicle_core::views::render::TimelineRow;
use chronicle_core::views::{summarize, BestPolicy, Filter, GroupBy, Point, Query};
use chronicle_core::{AppendContext, Clock, EventFilter, EventLine, EventLog, Location, NewEvent};
use chrono::{DateTime, Duration, Utc};
use common::dump_views;
use proptest::prelude::*;
use serde_json::json;

const INCIDENTS: [&str; 4] = ["inc-a", "inc-b", "inc-c", "inc-d"];
const SOURCES: [&str; 3] = ["AFP", "Ministry of Defense", "Local partner"];
const PROVINCES: [&str; 3] = ["Logar", "Kunduz", "Ghazni"];

#[derive(Debug, Clone)]
enum Op {
    Report(usize, usize),
    Figures(usize, usize, String, Option<String>, Option<String>),
    Correct(usize, usize, Option<String>, Option<String>),
    Responsibility(usize, usize, bool, Option<String>),
    Amend(usize, usize),
    Retract(usize),
    Merge(usize, usize),
    Assess(usize, usize),
    /// An adjudication of killed (and maybe wounded); outside the range when the flag is set.
    Adjudicate(usize, u64, Option<u64>, bool),
}

fn figure() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..40).prop_map(|n| n.to_string()),
        (0u64..40).prop_map(|n| format!("at-least:{n}")),
        (0u64..30, 0u64..15).prop_map(|(l, s)| format!("{l}-{}", l + s)),
        (0u64..30, 0u64..15, 0u64..50).prop_map(|(l, s, b)| format!("{l}-{}~{b}", l + s)),
        // ACLED's "Unknown fatalities coded as 3": a range of coded figures only is marked.
        (0u64..6).prop_map(|n| format!("coded:{n}")),
    ]
}

/// Is a reconciled count coded exactly when every source's figure for it is coded (and
/// some source gave one)?
fn coded_as_its_figures(
    r: &chronicle_core::views::Range,
    figures: &[Option<&chronicle_core::views::doc::Figure>],
) -> bool {
    let given: Vec<_> = figures.iter().flatten().collect();
    let all_coded = !given.is_empty()
        && given
            .iter()
            .all(|f| f.qualifier == chronicle_core::views::doc::Qualifier::Coded);
    r.coded == all_coded
}

fn published() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        (0u32..4).prop_map(|d| Some(format!("2020-07-2{d}"))),
        (0u32..4, 0u32..24).prop_map(|(d, h)| Some(format!("2020-07-2{d}T{h:02}:00:00Z"))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..INCIDENTS.len();
    let s = 0..SOURCES.len();
    prop_oneof![
        2 => (i.clone(), 0..PROVINCES.len()).prop_map(|(i, p)| Op::Report(i, p)),
        4 => (i.clone(), s.clone(), figure(), proptest::option::of(figure()), published())
            .prop_map(|(i, s, k, w, p)| Op::Figures(i, s, k, w, p)),
        2 => (i.clone(), s.clone(), proptest::option::of(figure()), proptest::option::of(figure()))
            .prop_map(|(i, s, k, w)| Op::Correct(i, s, k, w)),
        1 => (i.clone(), s.clone(), any::<bool>(), published())
            .prop_map(|(i, s, d, p)| Op::Responsibility(i, s, d, p)),
        1 => (i.clone(), 0..PROVINCES.len()).prop_map(|(i, p)| Op::Amend(i, p)),
        2 => any::<usize>().prop_map(Op::Retract),
        1 => (i.clone(), i.clone()).prop_map(|(a, b)| Op::Merge(a, b)),
        1 => (i.clone(), 0..5usize).prop_map(|(i, g)| Op::Assess(i, g)),
        1 => (i, 0u64..40, proptest::option::of(0u64..40), any::<bool>())
            .prop_map(|(i, k, w, out)| Op::Adjudicate(i, k, w, out)),
    ]
}

fn to_event(log: &EventLog, op: &Op) -> Option<NewEvent> {
    let (incident, kind, payload) = match op {
        Op::Report(i, p) => (
            INCIDENTS[*i].to_string(),
            "incident_reported",
            json!({"date": format!("2020-07-1{i}"), "province": PROVINCES[*p], "category": "bombing"}),
        ),
        Op::Figures(i, s, k, w, p) => {
            let mut v = json!({"source": SOURCES[*s], "killed": k});
            if let Some(w) = w {
                v["wounded"] = json!(w);
            }
            if let Some(p) = p {
                v["published"] = json!(p);
            }
            (INCIDENTS[*i].to_string(), "casualties_reported", v)
        }
        Op::Correct(i, s, k, w) => {
            let mut v = json!({"source": SOURCES[*s], "reason": "update"});
            if let Some(k) = k {
                v["killed"] = json!(k);
            }
            if let Some(w) = w {
                v["wounded"] = json!(w);
            }
            (INCIDENTS[*i].to_string(), "casualties_corrected", v)
        }
        Op::Responsibility(i, s, denied, p) => {
            let mut v = json!({"actor": "Taliban", "source": SOURCES[*s]});
            if let Some(p) = p {
                v["published"] = json!(p);
            }
            let kind = if *denied {
                "responsibility_denied"
            } else {
                "responsibility_claimed"
            };
            (INCIDENTS[*i].to_string(), kind, v)
        }
        Op::Amend(i, p) => (
            INCIDENTS[*i].to_string(),
            "incident_amended",
            json!({"province": PROVINCES[*p], "district": format!("district {p}"), "reason": "fix"}),
        ),
        Op::Retract(pick) => {
            let candidates: Vec<_> = log
                .events(&EventFilter::default())
                .unwrap()
                .into_iter()
                .filter(|e| e.kind != "event_retracted")
                .collect();
            if candidates.is_empty() {
                return None;
            }
            let target = &candidates[pick % candidates.len()];
            (
                target.incident.clone(),
                "event_retracted",
                json!({"event": target.id, "reason": "error"}),
            )
        }
        Op::Merge(a, b) => (
            INCIDENTS[*a].to_string(),
            "incident_merged",
            json!({"into": INCIDENTS[*b], "reason": "same"}),
        ),
        Op::Assess(i, g) => {
            let grade = ["confirmed", "fair", "weak", "contested", "discounted"][*g];
            (
                INCIDENTS[*i].to_string(),
                "incident_assessed",
                json!({"grade": grade, "reason": "judged"}),
            )
        }
        Op::Adjudicate(i, k, w, outside) => {
            let mut v = json!({"killed": k, "reason": "decided"});
            if let Some(w) = w {
                v["wounded"] = json!(w);
            }
            if *outside {
                v["outside_range"] = json!(true);
            }
            (INCIDENTS[*i].to_string(), "incident_adjudicated", v)
        }
    };
    let line = json!({"incident": incident, "kind": kind, "payload": payload}).to_string();
    Some(EventLine::parse(&line).unwrap())
}

fn base() -> DateTime<Utc> {
    "2020-07-25T00:00:00Z".parse().unwrap()
}

/// Appends the ops in batches; a refused batch is retried one event at a time, keeping those
/// the log accepts. Returns the last seq of each batch with its recorded time.
fn run(log: &mut EventLog, batches: &[Vec<Op>]) -> Vec<(u64, DateTime<Utc>)> {
    let mut marks = Vec::new();
    for (b, ops) in batches.iter().enumerate() {
        let at = base() + Duration::hours(b as i64);
        // Published times are drawn apart from recorded times: plausibility is not the
        // property under test.
        let ctx = AppendContext {
            clock: Clock::Fixed(at),
            allow_implausible: true,
            ..AppendContext::new("prop")
        };
        let events: Vec<NewEvent> = ops.iter().filter_map(|op| to_event(log, op)).collect();
        let batch = events.iter().cloned().map(|e| Ok((Location::default(), e)));
        if log.append(&ctx, batch).is_err() {
            for e in events {
                let _ = log.append(&ctx, [Ok((Location::default(), e))]);
            }
        }
        marks.push((log.head().unwrap().map_or(0, |h| h.seq), at));
    }
    marks
}

/// The document of a view without its provenance point (which names how it was asked).
fn body(log: &EventLog, q: &Query) -> serde_json::Value {
    let doc = log.export(q).unwrap();
    json!({"incidents": doc.incidents, "totals": doc.totals, "log_seq": doc.provenance.log_seq, "log_hash": doc.provenance.log_hash})
}

/// A fresh log holding the first `n` events of `src`, copied with plain INSERTs; its views
/// are built when it is opened (replay of the prefix).
fn prefix(src: &EventLog, dir: &std::path::Path, n: u64, k: usize) -> EventLog {
    let path = dir.join(format!("prefix-{k}-{n}.db"));
    drop(EventLog::init(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS src", [src.path().to_str().unwrap()])
        .unwrap();
    conn.execute(
        "INSERT INTO batches SELECT * FROM src.batches
         WHERE id IN (SELECT batch FROM src.events WHERE seq <= ?1)",
        [n],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO events SELECT * FROM src.events WHERE seq <= ?1 ORDER BY seq",
        [n],
    )
    .unwrap();
    drop(conn);
    EventLog::open(&path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn incremental_views_equal_a_rebuild(batches in proptest::collection::vec(proptest::collection::vec(op(), 1..5), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = EventLog::init(dir.path().join("log.db")).unwrap();
        let mut all = batches.clone();
        all.insert(0, (0..INCIDENTS.len()).map(|i| Op::Report(i, i % PROVINCES.len())).collect());
        run(&mut log, &all);
        let incremental = dump_views(&log);
        log.rebuild_views().unwrap();
        prop_assert_eq!(dump_views(&log), incremental);
    }

    #[test]
    fn time_travel_equals_a_fresh_replay_of_the_prefix(
        batches in proptest::collection::vec(proptest::collection::vec(op(), 1..5), 1..10),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 3),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = EventLog::init(dir.path().join("log.db")).unwrap();
        let mut all = batches.clone();
        all.insert(0, (0..INCIDENTS.len()).map(|i| Op::Report(i, i % PROVINCES.len())).collect());
        let marks = run(&mut log, &all);
        let head = log.head().unwrap().map_or(0, |h| h.seq);
        for (k, pick) in picks.iter().enumerate() {
            let n = pick.index(head as usize + 1) as u64;
            let fresh = prefix(&log, dir.path(), n, k);
            let travelled = body(&log, &Query { point: Point::AtSeq(n), ..Query::default() });
            prop_assert_eq!(&travelled, &body(&fresh, &Query::default()), "at seq {}", n);
            // The summary read from the reconciled columns equals the one computed from
            // the states, grouped every way and filtered.
            for by in [GroupBy::Province, GroupBy::Month, GroupBy::Category] {
                for filter in [Filter::default(), Filter { province: Some(PROVINCES[0].to_lowercase()), ..Filter::default() }] {
                    let q = Query { point: Point::AtSeq(n), filter, ..Query::default() };
                    let states = log.snapshot(&q).unwrap().states;
                    prop_assert_eq!(log.summary(&q, by).unwrap(), summarize(&states, &BestPolicy::Median, by, &[]));
                }
            }
            // The human timeline read from the columns equals the one made from the
            // documents (a category no incident of the log has is refused by both alike).
            for filter in [Filter::default(), Filter { category: Some("BOMBING".into()), ..Filter::default() }] {
                let q = Query { point: Point::AtSeq(n), filter, ..Query::default() };
                let docs = log.timeline(&q);
                // The coded flag of a range follows its sources' figures: coded only when
                // every one is.
                for i in docs.iter().flatten() {
                    let killed: Vec<_> = i.sources.iter().map(|s| s.killed.as_ref()).collect();
                    let wounded: Vec<_> = i.sources.iter().map(|s| s.wounded.as_ref()).collect();
                    prop_assert!(coded_as_its_figures(&i.killed, &killed), "{:?}", i);
                    prop_assert!(coded_as_its_figures(&i.wounded, &wounded), "{:?}", i);
                }
                let full = docs
                    .map(|docs| docs.iter().map(TimelineRow::from).collect::<Vec<_>>())
                    .map_err(|e| e.to_string());
                prop_assert_eq!(log.timeline_rows(&q).map_err(|e| e.to_string()), full);
            }
            // `show` of each incident agrees too.
            for inc in INCIDENTS {
                let q = Query { point: Point::AtSeq(n), ..Query::default() };
                prop_assert_eq!(log.show(inc, &q).ok(), fresh.show(inc, &Query::default()).ok());
            }
        }
        // An incident's history has an entry exactly where its own view at a point changes
        // (each state carries the event that made it, so every touch is a change; while it
        // is merged into another, `show` shows that one, which is not its own view).
        for inc in INCIDENTS {
            let at = |n: u64| {
                log.show(inc, &Query { point: Point::AtSeq(n), ..Query::default() })
                    .ok()
                    .filter(|i| i.incident == inc)
            };
            let changes: Vec<u64> = (1..=head).filter(|&n| at(n) != at(n - 1)).collect();
            let entries: Vec<u64> = log
                .history(inc)
                .map(|h| h.entries.iter().map(|e| e.seq).collect())
                .unwrap_or_default();
            prop_assert_eq!(&entries, &changes, "history of {}", inc);
        }
        // As-of a batch's recorded time is the state after that batch.
        let (seq, at) = marks[picks[0].index(marks.len())];
        let q = Query { point: Point::AsOf(at), ..Query::default() };
        prop_assert_eq!(log.resolve_point(q.point).unwrap(), seq);
        prop_assert_eq!(body(&log, &q), body(&log, &Query { point: Point::AtSeq(seq), ..Query::default() }));
        // Known by earlier and later times: what was known earlier is still known later
        // (every incident, source and claim shown at t1 is shown at t2 >= t1), and the
        // timeline (one cache over all incidents) agrees with `show` of each incident
        // (direct indexed reads).
        let times = ["2020-07-19T00:00:00Z", "2020-07-20T23:59:59Z", "2020-07-21T12:00:00Z", "2020-07-22T00:00:00Z", "2020-07-23T18:00:00Z", "2020-07-25T01:00:00Z", "2020-07-25T05:30:00Z", "2030-01-01T00:00:00Z"];
        let (i1, i2) = (picks[1].index(times.len()), picks[2].index(times.len()));
        let (t1, t2) = (times[i1.min(i2)], times[i1.max(i2)]);
        let at = Point::AtSeq(picks[0].index(head as usize + 1) as u64);
        let known = |t: &str| {
            let q = Query { point: at, known_by: Some(t.parse().unwrap()), ..Query::default() };
            let timeline = log.timeline(&q).unwrap();
            for i in &timeline {
                assert_eq!(log.show(&i.incident, &q).unwrap(), *i, "show vs timeline known by {t}");
            }
            timeline
        };
        let (early, late) = (known(t1), known(t2));
        for e in &early {
            let l = late.iter().find(|l| l.incident == e.incident);
            prop_assert!(l.is_some(), "{} shown known by {} but not by {}", e.incident, t1, t2);
            let l = l.unwrap();
            for s in &e.sources {
                prop_assert!(l.sources.iter().any(|x| x.source == s.source), "{} of {} known by {} but not {}", s.source, e.incident, t1, t2);
            }
            for r in &e.responsibility {
                prop_assert!(l.responsibility.iter().any(|x| x.event_seq == r.event_seq), "claim {} of {} known by {} but not {}", r.event_seq, e.incident, t1, t2);
            }
        }
        prop_assert!(known(times[0]).is_empty(), "nothing is known before anything was published");
        // Known by a time after every publication and recording: every incident with a
        // sourced claim, as at the head.
        let late = Query { known_by: Some("2030-01-01T00:00:00Z".parse().unwrap()), ..Query::default() };
        let mut head_view = log.timeline(&Query::default()).unwrap();
        head_view.retain(|i| !i.sources.is_empty() || !i.responsibility.is_empty());
        prop_assert_eq!(log.timeline(&late).unwrap(), head_view);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A faithful copy, however it is made, is the log: copying any prefix and then the
    /// rest with `since` gives the events and the view rows of copying it whole, which are
    /// the source's and a rebuild's; and the JSON Lines route gives the same events.
    #[test]
    fn a_prefix_copied_then_the_rest_is_the_whole_log(
        batches in proptest::collection::vec(proptest::collection::vec(op(), 1..5), 1..10),
        pick in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = EventLog::init(dir.path().join("log.db")).unwrap();
        let mut all = batches.clone();
        all.insert(0, (0..INCIDENTS.len()).map(|i| Op::Report(i, i % PROVINCES.len())).collect());
        run(&mut log, &all);
        let head = log.head().unwrap();
        let n = pick.index(head.as_ref().map_or(0, |h| h.seq) as usize + 1) as u64;
        let events = log.events(&EventFilter::default()).unwrap();

        let (mut whole, _) = EventLog::init(dir.path().join("whole.db")).unwrap();
        prop_assert_eq!(log.copy_to(&mut whole, None).unwrap().head, head.clone());
        let (mut parts, _) = EventLog::init(dir.path().join("parts.db")).unwrap();
        prefix(&log, dir.path(), n, 0).copy_to(&mut parts, None).unwrap();
        prop_assert_eq!(log.copy_to(&mut parts, Some(n)).unwrap().head, head.clone());

        prop_assert_eq!(&whole.events(&EventFilter::default()).unwrap(), &events);
        prop_assert_eq!(&parts.events(&EventFilter::default()).unwrap(), &events);
        let views = dump_views(&log);
        prop_assert_eq!(&dump_views(&whole), &views);
        prop_assert_eq!(&dump_views(&parts), &views);
        parts.rebuild_views().unwrap();
        prop_assert_eq!(&dump_views(&parts), &views);

        let mut lines = Vec::new();
        log.scan_linked(None, |e, prev| {
            lines.push(chronicle_core::provenance::provenance_line(e, prev)?);
            Ok(())
        }).unwrap();
        let (mut restored, _) = EventLog::init(dir.path().join("restored.db")).unwrap();
        let read = chronicle_core::read_recorded(lines.join("\n").as_bytes(), "f").collect::<Vec<_>>();
        restored.restore(read).unwrap();
        prop_assert_eq!(&restored.events(&EventFilter::default()).unwrap(), &events);
        prop_assert_eq!(&dump_views(&restored), &views);
    }
}
