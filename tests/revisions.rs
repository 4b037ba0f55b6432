//! Revisions in every export and ACLED's coded figures (issue 19, "The recorder's craft"):
//! each source's earlier figures with their dates and the correction's reason, each
//! incident's first-recorded and last-changed dates, in the JSON document, Markdown, HTML and
//! CSV; "Unknown fatalities coded as 3" read as a coded figure. Rules: docs/views.md
//! ("Revisions", "Coded figures"), docs/json-document.md, IMPORT.md.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{plugin_dir, repo_root, Scratch};
use serde_json::{json, Value};

const PULI_ALAM: &str = "2020-07-30-puli-alam";

/// The demo log (56 events) with AFP's correction of Puli Alam from 17 to 19 killed,
/// published 31 July 2020 (seq 57), recorded on 2 December 2026 (the demo log's reports were
/// recorded on 25 November 2026, its status corrections on 1 December).
fn corrected(reason: &str) -> Scratch {
    let s = Scratch::demo();
    s.ok_at(
        "2026-12-02T09:00:00Z",
        &[
            "correct",
            "--incident",
            PULI_ALAM,
            "--source",
            "AFP",
            "--killed",
            "19",
            "--published",
            "2020-07-31",
            "--reason",
            reason,
        ],
    );
    s
}

fn json(s: &Scratch, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

/// A plugin directory in `s` with the plugins these tests export through.
fn plugins(s: &Scratch) -> PathBuf {
    plugin_dir(
        s,
        &[
            "chronicle-plugin-markdown",
            "chronicle-plugin-html",
            "chronicle-plugin-csv",
        ],
    )
}

/// The JSON document: AFP's revision (old, new, kind, dates, reason) beside its current
/// figure; the Ministry, which never revised, has no `revisions`; the incident's first and
/// last dates.
#[test]
fn the_json_document_carries_each_sources_revisions_and_the_incidents_dates() {
    let s = corrected("raised its toll");
    let doc = json(&s, &["show", PULI_ALAM, "--json"]);
    let afp = &doc["sources"][0];
    assert_eq!(afp["source"], "AFP");
    assert_eq!(afp["killed"]["text"], "19");
    insta::assert_json_snapshot!("afp_revisions", afp["revisions"]);
    assert!(doc["sources"][1].get("revisions").is_none(), "{doc}");
    assert_eq!(doc["first_recorded"], "2026-11-25T16:24:50.482651Z");
    assert_eq!(doc["last_recorded"], "2026-12-02T09:00:00.000000Z");
    // The export document says the same.
    let export = json(&s, &["export", "--format", "json"]);
    let puli = export["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["incident"] == PULI_ALAM)
        .unwrap();
    assert_eq!(puli["sources"][0]["revisions"], afp["revisions"]);
    assert_eq!(puli["first_recorded"], doc["first_recorded"]);
}

/// What the log said at a point holds only the revisions up to it: before the correction,
/// none; with `--known-by` before its publication, none; after a retraction, none.
#[test]
fn revisions_follow_the_point_and_a_retraction() {
    let s = corrected("raised its toll");
    let before = json(&s, &["show", PULI_ALAM, "--json", "--at-seq", "56"]);
    assert!(before["sources"][0].get("revisions").is_none());
    assert_eq!(before["sources"][0]["killed"]["text"], "17");
    let known = json(
        &s,
        &[
            "show",
            PULI_ALAM,
            "--json",
            "--known-by",
            "2020-07-31T00:00:00Z",
        ],
    );
    assert!(known["sources"][0].get("revisions").is_none());
    let now = json(&s, &["show", PULI_ALAM, "--json"]);
    let id = now["sources"][0]["event_id"].as_str().unwrap().to_string();
    s.ok_at(
        "2026-12-02T09:00:00Z",
        &[
            "retract",
            &id,
            "--reason",
            "the correction was another bombing's",
        ],
    );
    let after = json(&s, &["show", PULI_ALAM, "--json"]);
    assert!(after["sources"][0].get("revisions").is_none(), "{after}");
    assert_eq!(after["sources"][0]["killed"]["text"], "17");
    // The views rebuilt from the log say the same (views == replay).
    s.ok(&["rebuild"]);
    assert_eq!(json(&s, &["show", PULI_ALAM, "--json"]), after);
}

/// The HTML export of the corrected incident shows the old value, the new value and the
/// reason, escaped (the reason comes from outside); Markdown and CSV say the same.
#[test]
fn html_markdown_and_csv_show_old_value_new_value_and_reason() {
    let s = corrected("raised its toll <script>alert(1)</script>");
    let dir = plugins(&s);
    let dir = dir.to_str().unwrap();
    let html = s.ok(&["export", "--format", "html", "--plugin-dir", dir]);
    let line = html
        .lines()
        .find(|l| l.contains("Revised: killed 17"))
        .expect("AFP's revision in the html");
    let start = line.find("<ul class=\"revisions\">").unwrap();
    let end = start + line[start..].find("</ul>").unwrap() + "</ul>".len();
    insta::assert_snapshot!("html_revision", &line[start..end]);
    assert!(!html.contains("<script>alert"), "the reason is escaped");
    assert!(line.contains("First recorded 25 November 2026, last changed 2 December 2026"));

    let md = s.ok(&["export", "--format", "markdown", "--plugin-dir", dir]);
    let at = md.find("- AFP").unwrap();
    let section: Vec<&str> = md[at..].lines().take(2).collect();
    insta::assert_snapshot!("markdown_revision", section.join("\n"));
    assert!(md.contains(&format!(
        "- Incident `{PULI_ALAM}`, first recorded on 25 November 2026, last changed at log seq 57 on 2 December 2026."
    )));

    let csv = s.ok(&[
        "export",
        "--format",
        "csv",
        "--plugin-dir",
        dir,
        "--option",
        "provenance=false",
    ]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = reader
        .records()
        .map(Result::unwrap)
        .find(|r| &r[0] == PULI_ALAM)
        .unwrap();
    assert_eq!(
        &row[col("revisions")],
        "AFP: killed 17 -> 19, 31 July 2020, raised its toll <script>alert(1)</script>"
    );
    assert_eq!(&row[col("last_changed")], "2026-12-02T09:00:00.000000Z");
    assert_eq!(&row[col("first_recorded")], "2026-11-25T16:24:50.482651Z");
}

/// A correction that gives who was killed, its totals unchanged, revises the figures by
/// status: the demo's Nangarhar correction (seq 39) shows "none -> 4" for the security
/// forces killed, and "none -> 11" wounded, so the source marked corrected says what changed.
/// On the log as first shipped (no statuses) there is no revision.
#[test]
fn a_status_correction_revises_the_figures_by_status() {
    const NANGARHAR: &str = "2020-07-08-nangarhar-suicide-bombing";
    let s = Scratch::demo();
    let doc = json(&s, &["show", NANGARHAR, "--json"]);
    let source = &doc["sources"][0];
    assert_eq!(source["corrected"], true);
    let revisions = source["revisions"].as_array().unwrap();
    let summary: Vec<(&str, &str, &Value, &str, u64)> = revisions
        .iter()
        .map(|r| {
            (
                r["measure"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                &r["old"],
                r["new"]["text"].as_str().unwrap(),
                r["event_seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("killed_by_status", "security_forces", &Value::Null, "4", 39),
            (
                "wounded_by_status",
                "security_forces",
                &Value::Null,
                "11",
                39
            ),
        ]
    );
    assert!(revisions[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("Casualty status as the article gives it"));
    let before = Scratch::demo_before_statuses();
    let doc = json(&before, &["show", NANGARHAR, "--json"]);
    assert!(doc["sources"][0].get("revisions").is_none(), "{doc}");
    // The Markdown export says it in words.
    let dir = plugins(&s);
    let md = s.ok(&[
        "export",
        "--format",
        "markdown",
        "--plugin-dir",
        dir.to_str().unwrap(),
    ]);
    let revised: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("Revised: killed (security forces) none -\\> 4, 8 July 2020"))
        .collect();
    assert_eq!(revised.len(), 1, "{md}");
}

fn acled_sample() -> String {
    repo_root()
        .join("tests/data/acled-afghanistan-2022-h1-acledR-dummy.csv")
        .display()
        .to_string()
}

/// ACLED's "Unknown fatalities coded as 3": the 8 rows whose notes code the toll become
/// coded figures (the 6 other "coded as" notes are about the place); shown as
/// "3 (coded; unknown)", counted as their value in totals.
#[test]
fn acled_coded_tolls_are_coded_figures() {
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", &acled_sample()]);
    let log = s.ok(&["log", "--json"]);
    let coded: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["payload"]["killed"] == json!("coded:3"))
        .collect();
    assert_eq!(coded.len(), 8, "the rows that say \"fatalities coded as\"");
    assert!(coded.iter().all(|e| e["schema_version"] == 3));
    let shown = json(&s, &["show", "acled-AFG64342", "--json"]);
    assert_eq!(shown["sources"][0]["killed"]["text"], "3 (coded; unknown)");
    assert_eq!(shown["sources"][0]["killed"]["qualifier"], "coded");
    assert_eq!(shown["killed"]["best"], 3);
    insta::assert_snapshot!("acled_coded_show", s.ok(&["show", "acled-AFG64342"]));
    // A place coded in the notes leaves the toll exact.
    let place = json(&s, &["show", "acled-AFG63876", "--json"]);
    assert_eq!(place["sources"][0]["killed"]["qualifier"], "exact");
}

/// Beside a source that states a figure, a coded one neither widens the range nor makes a
/// dispute.
#[test]
fn a_coded_figure_gives_way_to_a_stated_one() {
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", &acled_sample()]);
    s.ok_at(
        "2022-06-21T00:00:00Z",
        &[
            "report",
            "--incident",
            "acled-AFG64281",
            "--source",
            "NRF",
            "--killed",
            "11",
            "--published",
            "2022-06-20",
        ],
    );
    let shown = json(&s, &["show", "acled-AFG64281", "--json"]);
    assert_eq!(
        shown["killed"],
        json!({"low": 11, "best": 11, "high": 11, "open_high": false})
    );
    assert_eq!(shown["disputed"], false);
}

/// An ACLED import written before coded figures (casualty payloads of schema version 2,
/// `killed: 3`, in the log format 1 with their hash chain) reads its coded tolls as coded
/// through the upcaster: the stored text is untouched, the log verifies, the same 8 rows are
/// coded, and a re-import of the same file finds nothing changed.
#[test]
fn an_older_acled_import_reads_its_coded_toll_as_coded() {
    let current = Scratch::new_sqlite();
    current.ok(&["import", "--from", "acled", &acled_sample()]);
    let lines = common::as_older_log(&current.dump(), |kind, payload, schema_version| {
        if kind.starts_with("casualties_") {
            assert_eq!(*schema_version, 3);
            *schema_version = 2;
            if let Some(n) = payload["killed"]
                .as_str()
                .and_then(|k| k.strip_prefix("coded:"))
                .map(|n| n.parse::<u64>().unwrap())
            {
                payload["killed"] = json!(n);
            }
        }
    });
    assert!(!lines.contains("coded:"));
    let s = Scratch::new();
    let file = s.write("old.jsonl", &lines);
    s.ok(&["append", "--restore", file.to_str().unwrap()]);
    s.ok(&["verify"]);
    let before = s.dump();
    assert!(!before.contains("coded:"), "the stored text is untouched");
    let stored: Value = serde_json::from_str(
        before
            .lines()
            .find(|l| l.contains("AFG64342") && l.contains("casualties_reported"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (&stored["schema_version"], &stored["payload"]["killed"]),
        (&json!(2), &json!(3))
    );
    let shown = json(&s, &["show", "acled-AFG64342", "--json"]);
    assert_eq!(shown["sources"][0]["killed"]["text"], "3 (coded; unknown)");
    let coded = json(&s, &["export", "--format", "json"])["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["sources"][0]["killed"]["qualifier"] == "coded")
        .count();
    assert_eq!(coded, 8);
    s.ok(&["import", "--from", "acled", &acled_sample()]);
    assert_eq!(
        s.dump(),
        before,
        "a re-import of the same file appends nothing"
    );
}
