//! The Puli Alam tallies and the July 2020 Kunduz attacks, through every view, pinned with
//! insta snapshots (fixed clocks, so the snapshots are stable).
#![allow(clippy::unwrap_used)]

mod common;

use chronicle_core::time::parse_time_point;
use chronicle_core::views::audit::Claim;
use chronicle_core::views::render::{self, DEFAULT_WIDTH};
use chronicle_core::views::{BestPolicy, Filter, GroupBy, Measure, Point, Query};
use chronicle_core::EventLog;
use common::{append_at, dump_views};

const PULI: &str = "2020-07-30-puli-alam";
const DUP: &str = "2020-07-30-logar-car-bomb";

fn line(incident: &str, kind: &str, payload: serde_json::Value) -> String {
    serde_json::json!({"incident": incident, "kind": kind, "payload": payload}).to_string()
}

/// The first reports of the scenario: the Kunduz checkpoints of 12 and 20 July and AFP's
/// first report on Puli Alam.
fn first_reports(log: &mut EventLog) {
    use serde_json::json;
    append_at(
        log,
        "2020-07-12T18:00:00Z",
        "editor-a",
        &[
            line(
                "2020-07-12-kunduz-checkpoints",
                "incident_reported",
                json!({
            "date": "2020-07-12", "country": "Afghanistan", "province": "Kunduz",
            "category": "checkpoint attack", "target": "Afghan security forces",
            "perpetrator": "Taliban", "summary": "Taliban insurgents attacked multiple checkpoints."}),
            ),
            line(
                "2020-07-12-kunduz-checkpoints",
                "casualties_reported",
                json!({
            "source": "Wikipedia (July 2020 Afghanistan attacks)", "published": "2020-07-12",
            "killed": "at-least:14"}),
            ),
        ],
    );
    append_at(
        log,
        "2020-07-20T18:00:00Z",
        "editor-a",
        &[
            line(
                "2020-07-20-kunduz-checkpoint",
                "incident_reported",
                json!({
            "date": "2020-07-20", "country": "Afghanistan", "province": "Kunduz",
            "category": "checkpoint attack", "target": "Afghan security forces", "perpetrator": "Taliban"}),
            ),
            line(
                "2020-07-20-kunduz-checkpoint",
                "casualties_reported",
                json!({
            "source": "Wikipedia (July 2020 Afghanistan attacks)", "published": "2020-07-20",
            "killed": 13, "wounded": 10}),
            ),
        ],
    );
    append_at(
        log,
        "2020-07-30T13:00:00Z",
        "editor-a",
        &[
            line(
                PULI,
                "incident_reported",
                json!({
            "date": "2020-07-30", "country": "Afghanistan", "province": "Logar",
            "district": "Puli Alam", "locality": "Puli Alam", "category": "suicide car bombing",
            "target": "Afghan security forces", "source": "AFP"}),
            ),
            line(
                PULI,
                "casualties_reported",
                json!({
            "source": "AFP", "published": "2020-07-30T12:30:00Z", "killed": 17, "wounded": 21,
            "citation": "https://www.afp.com/"}),
            ),
        ],
    );
}

/// Builds the scenario log; returns it with the id of the mistaken correction.
fn scenario(dir: &tempfile::TempDir) -> EventLog {
    use serde_json::json;
    let (mut log, _) = EventLog::init(dir.path().join("events.db")).unwrap();
    first_reports(&mut log);
    append_at(
        &mut log,
        "2020-07-30T16:00:00Z",
        "editor-b",
        &[
            line(
                PULI,
                "casualties_reported",
                json!({
            "source": "Ministry of Defense", "published": "2020-07-30T15:00:00Z",
            "killed": 8, "wounded": 30}),
            ),
            line(
                PULI,
                "responsibility_denied",
                json!({
            "actor": "Taliban", "source": "Taliban spokesman", "published": "2020-07-30",
            "note": "said they were not responsible"}),
            ),
            line(
                DUP,
                "incident_reported",
                json!({
            "date": "2020-07-30", "country": "Afghanistan", "province": "Logar",
            "category": "car bombing", "source": "Local partner"}),
            ),
            line(
                DUP,
                "casualties_reported",
                json!({
            "source": "Local partner", "published": "2020-07-30T20:00:00Z",
            "killed": "at-least:15", "wounded": "22-35"}),
            ),
        ],
    );
    append_at(
        &mut log,
        "2020-07-31T09:00:00Z",
        "editor-a",
        &[line(
            PULI,
            "casualties_corrected",
            json!({
            "source": "Ministry of Defense", "published": "2020-07-31", "wounded": 3,
            "reason": "Ministry update"}),
        )],
    );
    let mistaken = log
        .events(&Default::default())
        .unwrap()
        .last()
        .unwrap()
        .id
        .clone();
    append_at(
        &mut log,
        "2020-08-01T10:00:00Z",
        "editor-b",
        &[
            line(
                PULI,
                "event_retracted",
                json!({
            "event": mistaken, "reason": "typo: the ministry said 30 wounded, not 3"}),
            ),
            line(
                DUP,
                "incident_merged",
                json!({
            "into": PULI, "reason": "same attack: same city, same day, same target"}),
            ),
            line(
                PULI,
                "casualties_corrected",
                json!({
            "source": "AFP", "published": "2020-07-31T08:00:00Z", "killed": 19,
            "reason": "AFP raised its toll as hospitals reported"}),
            ),
            line(
                PULI,
                "incident_amended",
                json!({
            "summary": "A suicide car bomb exploded near a market in Puli Alam while many shoppers were nearby.",
            "reason": "summary from the Wikipedia article"}),
            ),
        ],
    );
    log
}

fn q() -> Query {
    Query::default()
}

#[test]
fn every_view_of_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let log = scenario(&dir);
    let w = DEFAULT_WIDTH;

    let show = log.show(PULI, &q()).unwrap();
    insta::assert_snapshot!("show", render::incident(&show, "median", w));
    insta::assert_json_snapshot!("show_json", show);
    // A merged duplicate's id shows the incident it was merged into.
    assert_eq!(log.show(DUP, &q()).unwrap().incident, PULI);

    insta::assert_snapshot!(
        "timeline",
        render::timeline(&log.timeline(&q()).unwrap(), w)
    );
    for by in [GroupBy::Province, GroupBy::Month, GroupBy::Source] {
        insta::assert_snapshot!(
            format!("summary_by_{}", by.as_str()),
            render::summary(&log.summary(&q(), by).unwrap(), by, w)
        );
    }
    insta::assert_json_snapshot!(
        "summary_json",
        log.summary(&q(), GroupBy::Province).unwrap()
    );
    insta::assert_snapshot!("sources", render::sources(&log.sources(&q()).unwrap(), w));
    insta::assert_json_snapshot!("export", log.export(&q()).unwrap());

    insta::assert_snapshot!("history", render::history(&log.history(PULI).unwrap(), w));
    insta::assert_snapshot!(
        "history_duplicate",
        render::history(&log.history(DUP).unwrap(), w)
    );
}

#[test]
fn best_policies_switch_per_query() {
    let dir = tempfile::tempdir().unwrap();
    let log = scenario(&dir);
    let best = |p: &str| {
        let q = Query {
            best: p.parse::<BestPolicy>().unwrap(),
            ..q()
        };
        log.show(PULI, &q).unwrap().killed.best
    };
    // Current killed: AFP 19 (corrected), MoD 8, Local partner at least 15.
    assert_eq!(best("median"), Some(15));
    assert_eq!(best("min"), Some(8));
    assert_eq!(best("max"), Some(19));
    assert_eq!(
        best("latest"),
        Some(19),
        "AFP's correction was published last"
    );
    assert_eq!(best("source:Ministry of Defense"), Some(8));
}

#[test]
fn time_travel_as_of_at_seq_and_known_by() {
    let dir = tempfile::tempdir().unwrap();
    let log = scenario(&dir);
    // As recorded on the evening of 30 July: before the correction, the retraction, the merge.
    let as_of = Query {
        point: "2020-07-30T18:00:00Z".parse().unwrap(),
        ..q()
    };
    let at = log.show(PULI, &as_of).unwrap();
    assert_eq!((at.killed.low, at.killed.high), (Some(8), Some(17)));
    assert!(at.merged_from.is_empty());
    assert_eq!(log.resolve_point(as_of.point).unwrap(), 10);
    let at_seq = log
        .show(
            PULI,
            &Query {
                point: Point::AtSeq(10),
                ..q()
            },
        )
        .unwrap();
    assert_eq!(at, at_seq);
    // The mistaken correction (seq 11) is in force at seq 11, gone after its retraction.
    let wounded_at = |n| {
        log.show(
            PULI,
            &Query {
                point: Point::AtSeq(n),
                ..q()
            },
        )
        .unwrap()
        .wounded
    };
    assert_eq!(wounded_at(11).low, Some(3));
    assert_eq!(wounded_at(12).low, Some(21));
    // Before the incident was recorded it is not there.
    assert!(log
        .show(
            PULI,
            &Query {
                point: Point::AtSeq(4),
                ..q()
            }
        )
        .is_err());

    // What sources had published by 13:00 on 30 July: only AFP (12:30); the ministry
    // published at 15:00 and the Taliban denial is dated by day only, so it counts from the
    // end of the 30th.
    let known = Query {
        known_by: Some(parse_time_point("2020-07-30T13:00:00Z").unwrap()),
        ..q()
    };
    insta::assert_snapshot!(
        "show_known_by",
        render::incident(&log.show(PULI, &known).unwrap(), "median", 80)
    );
    let end_of_day = Query {
        known_by: Some(parse_time_point("2020-07-30").unwrap()),
        ..q()
    };
    let eod = log.show(PULI, &end_of_day).unwrap();
    assert_eq!(eod.responsibility.len(), 1);
    assert_eq!(
        eod.sources
            .iter()
            .map(|s| s.source.as_str())
            .collect::<Vec<_>>(),
        ["AFP", "Ministry of Defense", "Local partner"],
        "the merge applies whenever it was recorded; the duplicate's report was published at 20:00"
    );
    assert_eq!(
        eod.killed.high,
        Some(17),
        "AFP's correction of the 31st is not known yet"
    );

    let diff = log
        .diff(
            as_of.point,
            Point::Head,
            &Filter::default(),
            &BestPolicy::Median,
        )
        .unwrap();
    insta::assert_snapshot!("diff", render::diff(&diff, 80));
}

#[test]
fn audit_of_the_kunduz_infobox_claim() {
    let dir = tempfile::tempdir().unwrap();
    let log = scenario(&dir);
    let scope = Query {
        filter: Filter {
            province: Some("kunduz".into()),
            from: Some("2020-07-01".parse().unwrap()),
            to: Some("2020-07-31".parse().unwrap()),
            ..Filter::default()
        },
        ..q()
    };
    let a = log
        .audit(
            Claim {
                measure: Measure::Killed,
                value: 14,
            },
            &scope,
        )
        .unwrap();
    assert_eq!(a.verdict.as_str(), "below");
    assert_eq!(
        a.leave_out,
        vec![vec!["2020-07-20-kunduz-checkpoint".to_string()]]
    );
    insta::assert_snapshot!("audit", render::audit(&a, 80));
    insta::assert_json_snapshot!("audit_json", a);
    let within = log
        .audit(
            Claim {
                measure: Measure::Killed,
                value: 30,
            },
            &scope,
        )
        .unwrap();
    assert_eq!(within.verdict.as_str(), "within", "27+ is open above");
}

#[test]
fn rebuild_equals_the_incremental_views() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = scenario(&dir);
    let incremental = dump_views(&log);
    assert_eq!(log.rebuild_views().unwrap(), 15);
    assert_eq!(dump_views(&log), incremental);
}

#[test]
fn views_catch_up_after_plain_inserts_and_rebuild_on_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let log = scenario(&dir);
    let full = dump_views(&log);
    let path = log.path().to_path_buf();
    // Copy the first 10 events into a fresh log with plain INSERTs, then the rest.
    let fresh_path = dir.path().join("fresh.db");
    let (fresh, _) = EventLog::init(&fresh_path).unwrap();
    let copy = |from: u64, to: u64| {
        let conn = rusqlite::Connection::open(&fresh_path).unwrap();
        conn.execute("ATTACH DATABASE ?1 AS src", [path.to_str().unwrap()])
            .unwrap();
        conn.execute(
            "INSERT OR IGNORE INTO batches SELECT * FROM src.batches",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO events SELECT * FROM src.events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
            [from, to],
        )
        .unwrap();
    };
    drop(fresh);
    copy(0, 10);
    let fresh = EventLog::open(&fresh_path).unwrap();
    assert_eq!(fresh.views_checkpoint().unwrap(), 10);
    drop(fresh);
    copy(10, 15);
    let fresh = EventLog::open(&fresh_path).unwrap();
    assert_eq!(dump_views(&fresh), full);
    // A views version this build does not know triggers a rebuild on open.
    drop(fresh);
    let conn = rusqlite::Connection::open(&fresh_path).unwrap();
    conn.execute(
        "UPDATE views_meta SET value = '0' WHERE key = 'views_version'",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM view_incidents", []).unwrap();
    drop(conn);
    let fresh = EventLog::open(&fresh_path).unwrap();
    assert_eq!(dump_views(&fresh), full);
}

/// The export in its lines form (what a streamed plugin is given): each incident of the
/// document on a line, in order, then the head with the totals and the number of incidents.
#[test]
fn the_lines_form_is_the_document_incident_by_incident_then_its_head() {
    use chronicle_core::views::doc::{DocumentHead, Incident};
    let dir = tempfile::tempdir().unwrap();
    let log = scenario(&dir);
    let origin = "chronicle.example/test";
    let whole = log.export_checkpointed(&q(), origin, None).unwrap();
    let stream = log.export_stream(&q(), origin, None).unwrap();
    let mut bytes = Vec::new();
    stream.write_lines(&mut bytes).unwrap();
    assert!(stream.take_error().is_none());
    let text = String::from_utf8(bytes).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let head: DocumentHead = serde_json::from_str(lines.pop().unwrap()).unwrap();
    let incidents: Vec<Incident> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(whole.incidents.len() > 1);
    assert_eq!(incidents, whole.incidents);
    assert_eq!(head, DocumentHead::of(&whole));
    assert_eq!(head.incident_count, whole.totals.incidents);
}
