//! Coded counts marked wherever a count is printed (docs/views.md, "coded figures"): a count
//! that rests on coded figures only (ACLED's "Unknown fatalities coded as 3": no source
//! stated a number) reads `3 (coded)` in the timeline, summary, audit, history and diff, has
//! `"coded": true` in the JSON document, and is marked by the four export formats; a stated
//! figure beside a coded one makes the range alone, which is then not marked.
//!
//! The scratch log: the ACLED sample imported (8 coded tolls), then NRF's stated 11 killed on
//! acled-AFG64281 (coded 3 by ACLED). Kapisa holds a stated 1, a stated 3 (acled-AFG64183)
//! and a coded 3 (acled-AFG64342): the stated and the coded 3 must not read alike.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{plugin_dir, repo_root, Scratch};
use serde_json::Value;

const CODED: &str = "acled-AFG64342";
const STATED_THREE: &str = "acled-AFG64183";
/// Coded 3 by ACLED, then 11 stated by NRF (seq 211).
const BESIDE: &str = "acled-AFG64281";
/// The last event of the import: NRF's report is the next one.
const BEFORE_NRF: &str = "210";

fn scratch() -> Scratch {
    let s = Scratch::new();
    let sample = repo_root().join("tests/data/acled-afghanistan-2022-h1-acledR-dummy.csv");
    s.ok(&["import", "--from", "acled", sample.to_str().unwrap()]);
    let out = s.ok_at(
        "2022-06-21T00:00:00Z",
        &[
            "report",
            "--incident",
            BESIDE,
            "--source",
            "NRF",
            "--killed",
            "11",
            "--published",
            "2022-06-20",
        ],
    );
    assert!(out.starts_with("appended seq 211:"), "{out}");
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
            "chronicle-plugin-geojson",
        ],
    )
}

/// The human views mark the coded count, and only it: the stated 3 of Kapisa reads `3`, the
/// coded one `3 (coded)`, with a note saying what that means; sums say that they count it.
#[test]
fn the_human_views_mark_a_coded_count() {
    let s = scratch();
    let timeline = s.ok(&["timeline", "--province", "Kapisa"]);
    insta::assert_snapshot!("coded_timeline", timeline);
    // The same from the whole documents (a policy other than the default) as from the
    // columns of the views.
    assert_eq!(
        s.ok(&["timeline", "--province", "Kapisa", "--best", "max"]),
        timeline
    );
    insta::assert_snapshot!("coded_summary", s.ok(&["summary", "--province", "Kapisa"]));
    insta::assert_snapshot!(
        "coded_summary_by_source",
        s.ok(&["summary", "--by", "source", "--province", "Kapisa"])
    );
    insta::assert_snapshot!(
        "coded_audit",
        s.ok(&["audit", "--province", "Kapisa", "--killed", "5"])
    );
    // Every group of the whole log that counts a coded toll is named.
    let summary = s.ok(&["summary"]);
    let note: String = summary
        .lines()
        .skip_while(|l| !l.starts_with("Coded:"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        note.contains("Badakhshan (1), Kabul (1), Kapisa (1), Khost (1), Nangarhar (1), Panjshir (1), Zabul (1)."),
        "{summary}"
    );
    // A sum of coded counts only is marked itself.
    let one = s.ok(&["summary", "--province", "Kapisa", "--from", "2022-06-13"]);
    assert!(one.contains("Kapisa            1  3 (coded)"), "{one}");
    // `show` as before.
    assert!(s
        .ok(&["show", CODED])
        .contains("3 killed (coded; unknown), wounded: no figures"));
}

/// A stated figure beside a coded one makes the range alone: nothing is marked, no note. At
/// a point before the stated figure, the coded count is marked (from the views' columns for
/// the incidents not touched since, recomputed for this one), and history and diff show the
/// change.
#[test]
fn a_stated_figure_beside_a_coded_one_is_not_marked() {
    let s = scratch();
    let args = [
        "timeline",
        "--province",
        "Panjshir",
        "--from",
        "2022-06-09",
        "--to",
        "2022-06-10",
    ];
    let now = s.ok(&args);
    assert!(!now.contains("coded"), "{now}");
    assert!(
        now.contains("Armed clash      11        -    2  acled-AFG64281"),
        "{now}"
    );
    let mut before = args.to_vec();
    before.extend(["--at-seq", BEFORE_NRF]);
    let then = s.ok(&before);
    assert!(
        then.contains("Armed clash  3 (coded)        -    1  acled-AFG64281"),
        "{then}"
    );
    let shown = json(&s, &["show", BESIDE, "--json"]);
    assert!(shown["killed"].get("coded").is_none(), "{shown}");
    let history = s.ok(&["history", BESIDE]);
    assert!(
        history.contains("killed (reconciled): 3 (best 3) (coded) -> 11 (best 11)"),
        "{history}"
    );
    let diff = s.ok(&[
        "diff",
        "--from",
        &format!("seq:{BEFORE_NRF}"),
        "--to",
        "head",
    ]);
    assert!(
        diff.contains("killed (reconciled): 3 (best 3) (coded) -> 11 (best 11)"),
        "{diff}"
    );
    // No export marks it either.
    let dir = plugins(&s);
    let dir = dir.to_str().unwrap();
    let scope = [
        "--province",
        "Panjshir",
        "--from",
        "2022-06-09",
        "--to",
        "2022-06-10",
        "--plugin-dir",
        dir,
    ];
    for format in ["json", "markdown", "html", "csv", "geojson"] {
        let mut args = vec!["export", "--format", format];
        args.extend(scope);
        let out = s.ok(&args);
        let marked = [
            "(coded)",
            "\"coded\": true",
            "badge coded",
            "_coded",
            "# coded",
        ];
        for mark in marked {
            assert!(!out.contains(mark), "{format} has {mark}:\n{out}");
        }
    }
}

/// The JSON document: the coded range has `"coded": true`, the stated ones nothing; the
/// totals count the incidents with a coded count, by province too.
#[test]
fn the_json_document_says_which_ranges_are_coded() {
    let s = scratch();
    let doc = json(&s, &["export", "--format", "json"]);
    let incident = |id: &str| {
        doc["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["incident"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(incident(CODED)["killed"]["coded"], true);
    assert_eq!(incident(CODED)["killed"]["best"], 3);
    assert!(incident(CODED)["wounded"].get("coded").is_none());
    assert!(incident(STATED_THREE)["killed"].get("coded").is_none());
    assert!(incident(BESIDE)["killed"].get("coded").is_none());
    let coded = doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["killed"]["coded"] == true)
        .count();
    assert_eq!(coded, 7, "8 coded tolls, one of them now beside NRF's 11");
    assert_eq!(doc["totals"]["coded"], 7);
    assert!(doc["totals"]["killed"].get("coded").is_none(), "mixed");
    let kapisa = doc["totals"]["by_province"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "Kapisa")
        .unwrap();
    assert_eq!(kapisa["coded"], 1);
    // `show --json`, `timeline --json` and `summary --json` say the same.
    assert_eq!(
        json(&s, &["show", CODED, "--json"])["killed"],
        incident(CODED)["killed"]
    );
    let summary = json(
        &s,
        &[
            "summary",
            "--province",
            "Kapisa",
            "--from",
            "2022-06-13",
            "--json",
        ],
    );
    assert_eq!(summary[0]["killed"]["coded"], true);
    assert_eq!(summary[0]["coded"], 1);
}

/// Each export format marks the coded count, and says what the mark means.
#[test]
fn every_export_format_marks_a_coded_count() {
    let s = scratch();
    let dir = plugins(&s);
    let dir = dir.to_str().unwrap();
    let export = |format: &str, extra: &[&str]| {
        let mut args = vec![
            "export",
            "--format",
            format,
            "--province",
            "Kapisa",
            "--plugin-dir",
            dir,
        ];
        args.extend(extra);
        s.ok(&args)
    };

    // Markdown: the summary box, its note, and each incident's ranges.
    let md = export("markdown", &[]);
    let summary: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| Summary"))
        .take_while(|l| !l.starts_with("## Incidents"))
        .collect();
    let ranges: Vec<&str> = md.lines().filter(|l| l.contains("**Killed:**")).collect();
    insta::assert_snapshot!(
        "coded_markdown",
        format!("{}\n{}", summary.join("\n"), ranges.join("\n"))
    );

    // HTML: a badge in the coded incident's cell, and the note under the table.
    let html = export("html", &[]);
    let row = |id: &str| {
        let start = format!("<tr id=\"{id}\">");
        html.lines().find(|l| l.starts_with(&start)).unwrap()
    };
    let coded_row = row(CODED);
    let killed_cell = coded_row
        .split("<td")
        .find(|c| c.contains("data-label=\"Killed\""))
        .unwrap();
    let note = html
        .lines()
        .find(|l| l.contains("<p class=\"meta coded\">"))
        .unwrap();
    insta::assert_snapshot!("coded_html", format!("<td{killed_cell}\n{note}"));
    let stated = row(STATED_THREE);
    assert!(!stated.contains("badge coded"), "{stated}");

    // CSV: the numbers stay numbers (a sum counts the coded value, as the totals do); the
    // flags say which are coded, and a comment names the incidents.
    insta::assert_snapshot!(
        "coded_csv",
        export("csv", &["--option", "provenance=false"])
    );
    let csv = export("csv", &[]);
    let comment = csv.lines().find(|l| l.starts_with("# coded:")).unwrap();
    assert!(comment.ends_with(": acled-AFG64342"), "{comment}");
    // The ACLED layout says it in ACLED's words, once.
    let acled = export("csv", &["--option", "layout=acled"]);
    let row = acled.lines().find(|l| l.starts_with(CODED)).unwrap();
    assert_eq!(row.matches("fatalities coded as 3").count(), 1, "{row}");

    // GeoJSON: the range's flag and the feature's property.
    let geo: Value = serde_json::from_str(&export("geojson", &[])).unwrap();
    let features: Vec<Value> = geo["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            serde_json::json!({
                "incident": f["properties"]["incident"],
                "killed": f["properties"]["killed"],
                "coded": f["properties"].get("coded"),
            })
        })
        .collect();
    insta::assert_json_snapshot!("coded_geojson", features);
}
