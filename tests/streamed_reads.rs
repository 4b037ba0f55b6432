//! Reads written as they are computed (issue 15): `export` and `timeline --json` stream their
//! incidents (a first pass keeps only each incident's sort key; the second reads, converts
//! and writes one incident at a time), `summary` folds the states one at a time. These tests
//! check that what they print is what the whole document in memory gives, for every kind of
//! point and filter, and that every refusal still comes before anything is written.
#![allow(clippy::unwrap_used)]

mod common;

use common::Scratch;
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The queries compared: the head, a point in the past (incidents touched after it are
/// recomputed), `--known-by` (every incident recomputed), filters, another policy.
const QUERIES: &[&[&str]] = &[
    &[],
    &["--at-seq", "9"],
    &["--as-of", "2020-07-21T00:00:00Z"],
    &["--known-by", "2020-07-15"],
    &["--province", "Logar"],
    &["--source", "AFP"],
    &["--best", "max"],
    &["--best", "source:AFP"],
    &[
        "--from",
        "2020-07-18",
        "--to",
        "2020-07-25",
        "--category",
        "ied",
    ],
];

/// The streamed `timeline --json` is the incidents of the streamed `export`, whose totals
/// are the sums of those incidents, for every query; and `summary --json` grouped by
/// province gives the same totals as the document.
#[test]
fn streamed_documents_agree_with_their_totals_and_the_timeline() {
    let s = Scratch::demo();
    for q in QUERIES {
        let mut args = vec!["export"];
        args.extend_from_slice(q);
        let (code, out, err) = s.run(&args);
        if code != 0 {
            // A filter that matches nothing in the demo log is refused: skip it, the
            // refusal tests are below.
            assert_eq!(code, 2, "{args:?}: {err}");
            continue;
        }
        let doc = json(&out);
        let incidents = doc["incidents"].as_array().unwrap();
        let mut timeline = vec!["timeline", "--json"];
        timeline.extend_from_slice(q);
        assert_eq!(
            json(&s.ok(&timeline)),
            doc["incidents"],
            "timeline --json {q:?} is the export's incidents"
        );
        assert_eq!(
            doc["totals"]["incidents"].as_u64().unwrap(),
            incidents.len() as u64,
            "{q:?}"
        );
        let low: u64 = incidents
            .iter()
            .filter_map(|i| i["killed"]["low"].as_u64())
            .sum();
        assert_eq!(
            doc["totals"]["killed"]["low"].as_u64().unwrap_or(0),
            low,
            "{q:?}"
        );
        let dates: Vec<(String, String)> = incidents
            .iter()
            .map(|i| {
                (
                    i["date_start"].as_str().unwrap_or("").to_owned(),
                    i["incident"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let mut sorted = dates.clone();
        sorted.sort();
        assert_eq!(dates, sorted, "{q:?}: in date, then id order");
        let mut summary = vec!["summary", "--json", "--by", "province"];
        summary.extend_from_slice(q);
        assert_eq!(
            json(&s.ok(&summary)),
            doc["totals"]["by_province"],
            "summary {q:?} is the document's totals by province"
        );
    }
}

/// The same export written to a file and to standard output are the same bytes, and the
/// message after `--out` counts the incidents streamed.
#[test]
fn streamed_export_to_a_file_is_the_same_document() {
    let s = Scratch::demo();
    let out = s.ok(&["export", "--known-by", "2020-07-15"]);
    let path = s.path("known.json");
    let (code, _, err) = s.run(&[
        "export",
        "--known-by",
        "2020-07-15",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), out);
    let n = json(&out)["incidents"].as_array().unwrap().len();
    assert!(err.contains(&format!(": {n} incidents,")), "{err}");
}

/// Every refusal of a query is made in the first pass: nothing is written, no file is made.
#[test]
fn refusals_come_before_anything_is_written() {
    let s = Scratch::demo();
    for q in [
        &["--category", "airstrikes"][..],
        &["--source", "Reuter"],
        &["--best", "source:Nobody"],
        &["--province", "Atlantis"],
    ] {
        let path = s.path("refused.json");
        let mut args = vec!["export", "--out", path.to_str().unwrap()];
        args.extend_from_slice(q);
        let (code, out, err) = s.run(&args);
        assert_eq!(code, 2, "{q:?}: {err}");
        assert!(out.is_empty(), "{q:?}");
        assert!(!path.exists(), "{q:?}: no file");
        let mut args = vec!["timeline", "--json"];
        args.extend_from_slice(q);
        let (code, out, _) = s.run(&args);
        assert_eq!(code, 2, "{q:?}");
        assert!(out.is_empty(), "{q:?}: nothing on standard output");
    }
}

/// More incidents than one page of the PostgreSQL backend's keyset reads (2,000): every
/// incident is in the streamed export, the timeline and the summary, once, in order (run
/// with `CHRONICLE_TEST_BACKEND=postgres` for the pages; on SQLite the same answer).
#[test]
fn more_incidents_than_a_page_are_all_read_once() {
    let s = Scratch::new();
    let n = 2_345;
    let provinces = ["Kabul", "Logar", "Kunduz"];
    let mut lines = String::new();
    for i in 0..n {
        let day = i % 28 + 1;
        let province = provinces[i % provinces.len()];
        let line = serde_json::json!({
            "incident": format!("2020-02-{day:02}-{}-{i}", province.to_lowercase()),
            "kind": "incident_reported",
            "payload": {
                "date": format!("2020-02-{day:02}"),
                "country": "Afghanistan",
                "province": province,
                "category": "ied",
            },
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let file = s.write("many.jsonl", &lines);
    let (code, _, err) = s.run(&["append", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // `--best max` takes the summary through the states (not the columns), like the export.
    let doc = json(&s.ok(&["export", "--best", "max"]));
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), n);
    assert_eq!(doc["totals"]["incidents"].as_u64(), Some(n as u64));
    let mut ids: Vec<&str> = incidents
        .iter()
        .map(|i| i["incident"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "each incident once");
    assert_eq!(
        json(&s.ok(&["timeline", "--json", "--best", "max"])),
        doc["incidents"]
    );
    let by_province = json(&s.ok(&["summary", "--json", "--by", "province", "--best", "max"]));
    let counted: u64 = by_province
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["incidents"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, n as u64);
    assert_eq!(by_province, doc["totals"]["by_province"]);
}
