//! Views and exports of a log with redactions (issue 18): an erased event is listed on its
//! incident, with the redaction that erased it, at every point of the log at or after its
//! own seq (also before the redaction: its text is gone from the file), and nothing counts
//! what it said. Rules: docs/views.md, "Redacted events".
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{plugin_dir, Scratch};
use serde_json::Value;

const PULI_ALAM: &str = "2020-07-30-puli-alam";

/// The id of the last event of the log.
fn last_id(s: &Scratch) -> String {
    let log = s.ok(&["log", "--json"]);
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    last["id"].as_str().unwrap().to_string()
}

/// The demo log with a Pajhwok report on Puli Alam (seq 57) that names a victim, and its
/// redaction (seq 58). Returns the log and the erased event's id.
fn demo_redacted() -> (Scratch, String) {
    let s = Scratch::demo();
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Pajhwok",
        "--killed",
        "9",
        "--note",
        "among them Ahmad, a shopkeeper",
    ]);
    let id = last_id(&s);
    s.ok(&["redact", &id, "--reason", "a victim's name"]);
    (s, id)
}

fn json(s: &Scratch, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

/// `show` before the report, with it, and after its redaction; and at the points between.
#[test]
fn show_before_and_after_a_redaction() {
    let s = Scratch::demo();
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Pajhwok",
        "--killed",
        "9",
        "--note",
        "among them Ahmad, a shopkeeper",
    ]);
    let before = s.ok(&["show", PULI_ALAM]);
    assert!(
        before.contains("Pajhwok") && before.contains("Ahmad"),
        "{before}"
    );
    assert!(!before.contains("Redacted"), "{before}");
    let id = last_id(&s);
    let out = s.ok(&["redact", &id, "--reason", "a victim's name"]);
    assert!(out.contains("seq 58"), "{out}");

    let after = s.ok(&["show", PULI_ALAM]);
    assert!(
        !after.contains("Pajhwok") && !after.contains("Ahmad"),
        "{after}"
    );
    // Between the erased event and its redaction: the report is erased there too.
    let between = s.ok(&["show", PULI_ALAM, "--at-seq", "57"]);
    assert!(!between.contains("Ahmad"), "{between}");
    // Before the erased event: nothing to list.
    let earlier = s.ok(&["show", PULI_ALAM, "--at-seq", "56"]);
    assert!(!earlier.contains("Redacted"), "{earlier}");
    insta::assert_snapshot!(
        "show",
        format!("$ show (head)\n{after}\n$ show --at-seq 57\n{between}")
    );
}

/// `show --json`, `timeline --json` and `export` carry the redaction; at a point before the
/// erased event they do not, and the document of an incident with none has no `redactions`.
#[test]
fn json_documents_carry_redactions_at_every_point_after_the_erased_event() {
    let (s, id) = demo_redacted();
    let shown = json(&s, &["show", PULI_ALAM, "--json"]);
    insta::assert_json_snapshot!("show_json_redactions", shown["redactions"]);
    assert_eq!(shown["redactions"][0]["event_id"], id.as_str());
    assert!(shown["sources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|src| src["source"] != "Pajhwok"));

    let at57 = json(&s, &["show", PULI_ALAM, "--json", "--at-seq", "57"]);
    assert_eq!(at57["redactions"], shown["redactions"], "at seq 57");
    assert_eq!(at57["last_seq"], 57);
    let at56 = json(&s, &["show", PULI_ALAM, "--json", "--at-seq", "56"]);
    assert!(at56.get("redactions").is_none(), "{at56}");

    let timeline = json(&s, &["timeline", "--json"]);
    let with: Vec<&Value> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i.get("redactions").is_some())
        .collect();
    assert_eq!(with.len(), 1);
    assert_eq!(with[0]["incident"], PULI_ALAM);

    for point in [&[][..], &["--at-seq", "57"][..]] {
        let doc = json(&s, &[&["export", "--format", "json"], point].concat());
        let incidents = doc["incidents"].as_array().unwrap();
        let puli = incidents
            .iter()
            .find(|i| i["incident"] == PULI_ALAM)
            .unwrap();
        assert_eq!(puli["redactions"], shown["redactions"], "{point:?}");
        assert_eq!(
            incidents
                .iter()
                .filter(|i| i.get("redactions").is_some())
                .count(),
            1
        );
    }
    let doc = json(&s, &["export", "--format", "json", "--at-seq", "56"]);
    assert!(doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i.get("redactions").is_none()));
}

/// A plugin directory in `s` with the plugins these tests export through.
fn plugins(s: &Scratch) -> PathBuf {
    plugin_dir(s, &["chronicle-plugin-markdown", "chronicle-plugin-html"])
}

/// The markdown and html exports show the redaction on its incident.
#[test]
fn markdown_and_html_exports_show_the_redaction() {
    let (s, _) = demo_redacted();
    let dir = plugins(&s);
    let dir = dir.to_str().unwrap();
    let md = s.ok(&["export", "--format", "markdown", "--plugin-dir", dir]);
    let line = md.lines().find(|l| l.contains("Redacted")).unwrap();
    insta::assert_snapshot!("markdown_line", line);
    let html = s.ok(&["export", "--format", "html", "--plugin-dir", dir]);
    assert!(
        html.contains("<span class=\"redacted\">Redacted: a report (log seq 57)"),
        "no redaction in the html"
    );
    assert!(html.contains("a victim&#39;s name"));
    assert!(!md.contains("Ahmad") && !html.contains("Ahmad"));
}

/// `history`: the erased event's entry says it was erased, the redaction's entry who
/// redacted what, when and why.
#[test]
fn history_shows_the_erased_event_and_the_redaction() {
    let (s, _) = demo_redacted();
    let out = s.ok(&["history", PULI_ALAM]);
    let tail = &out[out.find("seq 57").unwrap()..];
    insta::assert_snapshot!("history_tail", tail);
    let h = json(&s, &["history", PULI_ALAM, "--json"]);
    let entries = h["entries"].as_array().unwrap();
    let erased = entries.iter().find(|e| e["seq"] == 57).unwrap();
    assert!(erased["note"]
        .as_str()
        .unwrap()
        .contains("erased by redaction seq 58"));
    let redaction = entries.iter().find(|e| e["seq"] == 58).unwrap();
    assert_eq!(redaction["kind"], "event_redacted");
    assert_eq!(redaction["recorded_by"], "editor");
}

/// The views after a rebuild are the views kept incrementally (views == replay), at head and
/// at the points around the redaction.
#[test]
fn a_rebuild_gives_the_same_views() {
    let (s, _) = demo_redacted();
    let points: [&[&str]; 4] = [
        &[],
        &["--at-seq", "56"],
        &["--at-seq", "57"],
        &["--at-seq", "58"],
    ];
    let read = |s: &Scratch| -> Vec<String> {
        let mut out: Vec<String> = points
            .iter()
            .map(|p| s.ok(&[&["export", "--format", "json"], *p].concat()))
            .collect();
        out.push(s.ok(&["history", PULI_ALAM, "--json"]));
        out
    };
    let kept = read(&s);
    s.ok(&["rebuild"]);
    assert_eq!(read(&s), kept);
}

/// `sources`, `summary`, `diff` and `audit` count nothing of the erased report; `audit`
/// says an incident in scope has erased events.
#[test]
fn sources_summary_diff_and_audit_leave_the_erased_report_out() {
    let (s, _) = demo_redacted();
    let sources = s.ok(&["sources"]);
    assert!(!sources.contains("Pajhwok"), "{sources}");
    let audit = s.ok(&[
        "audit",
        "--province",
        "Logar",
        "--from",
        "2020-07-30",
        "--to",
        "2020-07-30",
        "--killed",
        "9",
    ]);
    insta::assert_snapshot!("audit", audit);
    let diff = s.ok(&["diff", "--from", "seq:56", "--to", "seq:58"]);
    insta::assert_snapshot!("diff", diff);
}

/// A log of two incidents, B merged into A, each with a report.
fn merged() -> Scratch {
    let s = Scratch::new();
    for (incident, source, killed, summary) in [
        ("2020-07-20-a", "AFP", "5", "A roadside bomb went off."),
        (
            "2020-07-20-b",
            "BBC",
            "7",
            "A bomb killed Ahmad, a shopkeeper.",
        ),
    ] {
        s.ok(&[
            "report",
            "--incident",
            incident,
            "--date",
            "2020-07-20",
            "--province",
            "Logar",
            "--category",
            "roadside bomb",
            "--summary",
            summary,
            "--source",
            source,
            "--killed",
            killed,
        ]);
    }
    s.ok(&[
        "merge",
        "2020-07-20-b",
        "--into",
        "2020-07-20-a",
        "--reason",
        "same bomb",
    ]);
    s
}

/// The id of the first event of `incident` of `kind`.
fn id_of(s: &Scratch, incident: &str, kind: &str) -> String {
    let log = s.ok(&["log", "--json", "--incident", incident]);
    log.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["kind"] == kind)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A redaction in a merged duplicate shows on the incident it was merged into; the
/// duplicate's erased first report does not take its other reports out of the root.
#[test]
fn a_redaction_in_a_merged_duplicate_shows_on_the_root() {
    let s = merged();
    let opening = id_of(&s, "2020-07-20-b", "incident_reported");
    s.ok(&[
        "redact",
        &opening,
        "--reason",
        "a victim's name in the summary",
    ]);
    let shown = s.ok(&["show", "2020-07-20-a"]);
    insta::assert_snapshot!("merged_root", shown);
    assert!(
        shown.contains("BBC"),
        "the duplicate's report still counts: {shown}"
    );
    let doc = json(&s, &["show", "2020-07-20-b", "--json"]);
    assert_eq!(doc["incident"], "2020-07-20-a");
    assert_eq!(doc["redactions"][0]["stream"], "2020-07-20-b");
}

/// A redacted first report: the incident has no date, place or category left, so no view
/// shows it; `show` and `history` say why instead of "no such incident".
#[test]
fn a_redacted_first_report_hides_the_incident_and_says_why() {
    let s = merged();
    let opening = id_of(&s, "2020-07-20-a", "incident_reported");
    s.ok(&[
        "redact",
        &opening,
        "--reason",
        "a victim's name in the summary",
    ]);
    let (code, _, err) = s.run(&["show", "2020-07-20-a"]);
    assert_eq!(code, 2, "{err}");
    let (hcode, _, herr) = s.run(&["history", "2020-07-20-a"]);
    assert_eq!(hcode, 2, "{herr}");
    insta::assert_snapshot!(
        "erased_first_report",
        format!("$ show\n{err}\n$ history\n{herr}")
    );
    let timeline = s.ok(&["timeline"]);
    assert!(!timeline.contains("2020-07-20-a"), "{timeline}");
    // It takes no more events, and says why.
    let (code, _, err) = s.run(&[
        "report",
        "--incident",
        "2020-07-20-a",
        "--source",
        "AFP",
        "--killed",
        "6",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("first report was erased by redaction"),
        "{err}"
    );
    // At a point before the redaction the incident is not shown either: the text was gone
    // from the file at every point.
    let (code, _, _) = s.run(&["show", "2020-07-20-a", "--at-seq", "5"]);
    assert_eq!(code, 2);
}
