//! Grades (issue 19): `chronicle assess` records a grade with its reason and history; where
//! none is recorded the views suggest one from the sources, marked as suggested; `--grade`
//! filters every view command; `summary --by grade`; the grade in every export. Rules:
//! docs/views.md, "Grades"; docs/event-log.md (`incident_assessed`).
#![allow(clippy::unwrap_used)]

mod common;

use common::Scratch;
use serde_json::Value;

const PULI_ALAM: &str = "2020-07-30-puli-alam";
const KUNDUZ: &str = "2020-07-12-kunduz-checkpoints";

/// The demo log (every incident from one source but Puli Alam, where AFP and the Ministry
/// of Defense disagree) with a second source agreeing on the Kunduz checkpoints.
fn july() -> Scratch {
    let s = Scratch::demo();
    let killed = s.ok(&["show", KUNDUZ, "--json"]);
    let killed: Value = serde_json::from_str(&killed).unwrap();
    let figure = killed["sources"][0]["killed"]["text"].as_str().unwrap();
    let figure = if figure.starts_with("at least") {
        format!("at-least:{}", killed["sources"][0]["killed"]["low"])
    } else {
        figure.to_string()
    };
    s.ok_at(
        "2020-08-01T09:00:00Z",
        &[
            "report",
            "--incident",
            KUNDUZ,
            "--source",
            "Reuters",
            "--killed",
            &figure,
        ],
    );
    s
}

fn json_of(s: &Scratch, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

fn assess(s: &Scratch, at: &str, incident: &str, grade: &str, reason: &str) -> String {
    s.ok_at(
        at,
        &[
            "assess",
            "--incident",
            incident,
            "--grade",
            grade,
            "--reason",
            reason,
        ],
    )
}

/// Incident id -> (grade, suggested) of `timeline --json` with `extra`.
fn grades(s: &Scratch, extra: &[&str]) -> Vec<(String, String, bool)> {
    let mut args = vec!["timeline", "--json"];
    args.extend_from_slice(extra);
    json_of(s, &args)
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["incident"].as_str().unwrap().to_string(),
                i["grade"]["grade"].as_str().unwrap().to_string(),
                i["grade"]["suggested"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn suggested_grades_follow_the_sources() {
    let s = july();
    let all = grades(&s, &[]);
    assert!(all.iter().all(|(_, _, suggested)| *suggested));
    let grade = |id: &str| all.iter().find(|g| g.0 == id).unwrap().1.clone();
    assert_eq!(grade(PULI_ALAM), "contested");
    assert_eq!(grade(KUNDUZ), "fair");
    assert_eq!(grade("2020-07-14-faryab-mosque"), "weak");
    insta::assert_snapshot!(
        "summary_by_grade_suggested",
        s.ok(&["summary", "--by", "grade"])
    );
    let show = s.ok(&["show", KUNDUZ]);
    assert!(
        show.contains(
            "grade: fair (suggested: 2 sources agree, 2 of them not parties to the conflict)"
        ),
        "{show}"
    );
}

#[test]
fn an_assessment_is_the_grade_with_its_history_until_retracted() {
    let s = july();
    let out = assess(
        &s,
        "2020-08-02T09:00:00Z",
        PULI_ALAM,
        "fair",
        "AFP and the ministry agree on the place and time",
    );
    assert!(out.contains("incident_assessed"), "{out}");
    assess(
        &s,
        "2020-08-03T09:00:00Z",
        PULI_ALAM,
        "confirmed",
        "the provincial governor's office confirmed the attack",
    );
    insta::assert_snapshot!("show_assessed", s.ok(&["show", PULI_ALAM]));
    let doc = json_of(&s, &["show", PULI_ALAM, "--json"]);
    insta::assert_json_snapshot!("show_assessed_json", doc["grade"]);
    // The history of the incident lists each recorded grade.
    let history = s.ok(&["history", PULI_ALAM]);
    assert!(
        history.contains("grade: (none) -> fair") || history.contains("grade: fair"),
        "{history}"
    );
    insta::assert_snapshot!("history_assessed", history);
    // Retracting the latest assessment brings back the one before.
    let lines = s.ok(&["log", "--json", "--incident", PULI_ALAM]);
    let last: Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "incident_assessed");
    s.ok_at(
        "2020-08-04T09:00:00Z",
        &[
            "retract",
            last["id"].as_str().unwrap(),
            "--reason",
            "assessed the wrong incident",
        ],
    );
    let g = json_of(&s, &["show", PULI_ALAM, "--json"]);
    assert_eq!(g["grade"]["grade"], "fair");
    assert_eq!(g["grade"]["suggested"], false);
    assert!(g["grade"].get("history").is_none());
}

#[test]
fn time_travel_sees_an_assessment_from_its_point_on() {
    let s = july();
    let head: Vec<Value> = s
        .ok(&["log", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seq = head.last().unwrap()["seq"].as_u64().unwrap();
    assess(
        &s,
        "2020-08-02T09:00:00Z",
        PULI_ALAM,
        "confirmed",
        "verified on site",
    );
    let at = format!("{seq}");
    let then = json_of(&s, &["show", PULI_ALAM, "--json", "--at-seq", &at]);
    assert_eq!(then["grade"]["grade"], "contested");
    assert_eq!(then["grade"]["suggested"], true);
    let now = json_of(&s, &["show", PULI_ALAM, "--json"]);
    assert_eq!(now["grade"]["grade"], "confirmed");
    // --known-by keeps sourced claims by publication; an assessment is editorial and stays.
    let known = json_of(
        &s,
        &["show", PULI_ALAM, "--json", "--known-by", "2020-07-31"],
    );
    assert_eq!(known["grade"]["grade"], "confirmed");
    // A grade filter at an earlier point judges the incidents as they were then.
    let then: Vec<String> = grades(&s, &["--grade", "confirmed", "--at-seq", &at])
        .into_iter()
        .map(|g| g.0)
        .collect();
    assert!(then.is_empty(), "{then:?}");
}

#[test]
fn the_grade_filter_works_on_every_view_command() {
    let s = july();
    assess(
        &s,
        "2020-08-02T09:00:00Z",
        PULI_ALAM,
        "discounted",
        "the ministry retracted its account",
    );
    let ids =
        |extra: &[&str]| -> Vec<String> { grades(&s, extra).into_iter().map(|g| g.0).collect() };
    assert_eq!(ids(&["--grade", "discounted"]), vec![PULI_ALAM.to_string()]);
    assert_eq!(
        ids(&["--grade", "fair,discounted"]),
        vec![KUNDUZ.to_string(), PULI_ALAM.to_string()]
    );
    assert_eq!(ids(&["--grade", "fair", "--grade", "Discounted"]).len(), 2);
    let weak = ids(&["--grade", "weak"]);
    assert!(!weak.contains(&PULI_ALAM.to_string()) && !weak.contains(&KUNDUZ.to_string()));
    // Human timeline (not the columns' fast path) and summary.
    let timeline = s.ok(&["timeline", "--grade", "discounted"]);
    assert!(
        timeline.contains(PULI_ALAM) && !timeline.contains(KUNDUZ),
        "{timeline}"
    );
    insta::assert_snapshot!(
        "summary_by_grade_assessed",
        s.ok(&["summary", "--by", "grade"])
    );
    // Discounted incidents count in the totals unless --grade leaves them out.
    let total = |extra: &[&str]| {
        let mut args = vec!["summary", "--by", "month", "--json"];
        args.extend_from_slice(extra);
        json_of(&s, &args)[0]["incidents"].as_u64().unwrap()
    };
    let n = total(&[]);
    assert_eq!(total(&["--grade", "confirmed,fair,weak,contested"]), n - 1);
    let sources = s.ok(&["sources", "--grade", "discounted"]);
    assert!(
        sources.contains("AFP") && !sources.contains("Reuters"),
        "{sources}"
    );
    let audit = json_of(
        &s,
        &["audit", "--grade", "fair", "--killed", "14", "--json"],
    );
    assert_eq!(audit["incidents"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["verdict"], "within", "{audit}");
    let doc = json_of(&s, &["export", "--grade", "discounted"]);
    assert_eq!(
        doc["provenance"]["filters"]["grade"],
        serde_json::json!(["discounted"])
    );
    assert_eq!(doc["incidents"].as_array().unwrap().len(), 1);
    let diff = json_of(
        &s,
        &[
            "diff",
            "--from",
            "2020-07-31",
            "--grade",
            "discounted",
            "--json",
        ],
    );
    assert!(diff.to_string().contains(PULI_ALAM), "{diff}");
}

/// The JSON document carries the grade; the plugin formats render it from there (their
/// snapshots in `tests/export.rs` and in each plugin's crate, on the SDK's sample, which has
/// a recorded grade with history and suggested ones).
#[test]
fn the_grade_is_in_the_exported_document() {
    let s = july();
    assess(
        &s,
        "2020-08-02T09:00:00Z",
        PULI_ALAM,
        "confirmed",
        "the governor's office confirmed it",
    );
    let doc = json_of(&s, &["export", "--grade", "confirmed,fair"]);
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2);
    let puli = incidents
        .iter()
        .find(|i| i["incident"] == PULI_ALAM)
        .unwrap();
    assert_eq!(puli["grade"]["grade"], "confirmed");
    assert_eq!(puli["grade"]["suggested"], false);
    assert_eq!(
        puli["grade"]["assessment"]["reason"],
        "the governor's office confirmed it"
    );
    let kunduz = incidents.iter().find(|i| i["incident"] == KUNDUZ).unwrap();
    assert_eq!(kunduz["grade"]["suggested"], true);
    assert!(kunduz["grade"].get("assessment").is_none());
    assert_eq!(
        doc["provenance"]["filters"]["grade"],
        serde_json::json!(["confirmed", "fair"])
    );
}

#[test]
fn bad_assessments_are_refused_and_write_nothing() {
    let s = july();
    let before = s.dump();
    let mut out = String::new();
    for args in [
        vec![
            "assess",
            "--incident",
            PULI_ALAM,
            "--grade",
            "probable",
            "--reason",
            "x",
        ],
        vec![
            "assess",
            "--incident",
            PULI_ALAM,
            "--grade",
            "fair",
            "--reason",
            " ",
        ],
        vec![
            "assess",
            "--incident",
            "2020-07-30-nowhere",
            "--grade",
            "fair",
            "--reason",
            "x",
        ],
        vec!["timeline", "--grade", "fair,probable"],
        vec!["summary", "--by", "grades"],
    ] {
        let (code, stdout, stderr) = s.run(&args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        out.push_str(&format!("$ chronicle {}\n{stderr}\n", args.join(" ")));
    }
    // An appended line is checked the same way, naming the line and field.
    let file = s.write(
        "bad.jsonl",
        &format!("{{\"incident\":\"{PULI_ALAM}\",\"kind\":\"incident_assessed\",\"payload\":{{\"grade\":\"great\",\"reason\":\"x\"}}}}\n"),
    );
    let (code, _, stderr) = s.run(&["append", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    out.push_str(&format!("$ chronicle append bad.jsonl\n{stderr}\n"));
    insta::assert_snapshot!("refusals", out);
    assert_eq!(s.dump(), before);
}

#[test]
fn assess_with_an_id_is_idempotent() {
    let s = july();
    let args = [
        "assess",
        "--id",
        "grade-1",
        "--incident",
        PULI_ALAM,
        "--grade",
        "contested",
        "--reason",
        "two sources disagree",
    ];
    let first = s.ok_at("2020-08-02T09:00:00Z", &args);
    assert!(first.contains("appended"), "{first}");
    let dump = s.dump();
    let again = s.ok_at("2020-08-02T10:00:00Z", &args);
    assert!(again.contains("already"), "{again}");
    assert_eq!(s.dump(), dump);
    let mut other = args;
    other[6] = "fair";
    let (code, _, stderr) = s.run(&other);
    assert_ne!(code, 0, "{stderr}");
}
