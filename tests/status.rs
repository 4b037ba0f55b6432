//! Casualty status (issue 17): `killed_by_status` and `wounded_by_status` on reports and
//! corrections, their validation, their reconciliation (`show --json`), the `--status` filter
//! on `timeline`, `summary`, `audit` and `export`, `summary --by status`, and the UCDP
//! import's deaths by side, also read from an import written before statuses existed.
//! Rules: docs/event-log.md, "Casualty status"; docs/views.md, "Casualty status".
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{puli_alam, repo_root, Scratch};
use serde_json::{json, Value};

const PULI_ALAM: &str = "2020-07-30-puli-alam";

/// The demo log: its 38 events with the statuses the article gives appended on top, as 15
/// corrections (`tests/fixtures/july-2020-status.jsonl`, seq 39 to 53).
fn july_with_statuses() -> Scratch {
    Scratch::demo()
}

fn json_of(s: &Scratch, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

/// `summary --by status --json` as status -> (incidents, killed best, wounded best).
fn by_status(s: &Scratch, extra: &[&str]) -> Vec<(String, u64, Value, Value)> {
    let mut args = vec!["summary", "--by", "status", "--json"];
    args.extend_from_slice(extra);
    let groups = json_of(s, &args);
    groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                g["incidents"].as_u64().unwrap(),
                g["killed"].clone(),
                g["wounded"].clone(),
            )
        })
        .collect()
}

fn range(low: u64, best: u64, high: u64, open_high: bool) -> Value {
    json!({"low": low, "best": best, "high": high, "open_high": open_high})
}

#[test]
fn the_july_2020_statuses_give_the_articles_totals() {
    let s = july_with_statuses();
    let groups = by_status(&s, &[]);
    let get = |k: &str| groups.iter().find(|g| g.0 == k).unwrap().clone();
    // Civilians: Ghazni 6, Kabul 5, Badghis 3 killed; 8 and 11 wounded.
    let civilians = get("civilians");
    assert_eq!(civilians.1, 3);
    assert_eq!(civilians.2, range(14, 14, 14, false));
    assert_eq!(civilians.3, range(19, 19, 19, false));
    // Security forces: 4 + 14+ + 11+ + 7 + 2 + 4 + 13 + 8 + 8 + 7 + 3+ killed; 11 + 6 + 10 + 9 wounded.
    let security = get("security_forces");
    assert_eq!(security.1, 11);
    assert_eq!(security.2, range(81, 81, 81, true));
    assert_eq!(security.3, range(36, 36, 36, false));
    // Militants: Aybak's three attackers and the nine Taliban militants of the Ghazni clashes.
    let militants = get("militants");
    assert_eq!(militants.1, 2);
    assert_eq!(militants.2, range(12, 12, 12, false));
    // No source says "unknown": no such group.
    assert!(groups.iter().all(|g| g.0 != "unknown"), "{groups:?}");
    // What the article does not break down: Faryab's 4 people, Puli Alam's 8-17 people, the
    // 63 wounded of Aybak, Baghlan's 9 wounded; and, as 0+ (none known, possibly more), the
    // killed of Kunduz, Aybak and Tarinkot, "at least" totals fully broken down: the sum is
    // open, never a closed 12-21 that would say no one else can be unaccounted for.
    let rest = get("unattributed");
    assert_eq!(rest.1, 6);
    assert_eq!(rest.2, range(12, 12, 21, true));
    assert_eq!(rest.3, range(93, 93, 102, false));
    // Totals never double count: the statuses and the rest make the totals of the log
    // (killed: victims and attackers).
    let totals = json_of(&s, &["export", "--format", "json"])["totals"].clone();
    let attackers: u64 = json_of(&s, &["export", "--format", "json"])["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["attackers_killed"]["best"].as_u64())
        .sum();
    assert_eq!(
        (totals["killed"]["best"].clone(), attackers),
        (json!(107), 12)
    );
    let killed: u64 = groups
        .iter()
        .map(|g| g.2["best"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(killed, 107 + 12);
    assert_eq!(totals["wounded"]["best"], json!(19 + 36 + 93));
}

#[test]
fn an_old_log_without_breakdowns_reads_as_before() {
    // The demo log as first shipped: 38 events of schema version 1, format 1, no breakdown.
    let s = Scratch::demo_before_statuses();
    let log = s.ok(&["log", "--json"]);
    assert!(log
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).unwrap()["schema_version"] == json!(1)));
    s.ok(&["verify"]);
    // Its totals and every incident's ranges are what they were.
    let doc = json_of(&s, &["export", "--format", "json"]);
    assert_eq!(doc["totals"]["killed"], range(107, 107, 116, true));
    let puli = json_of(&s, &["show", PULI_ALAM, "--json"]);
    assert!(puli.get("killed_by_status").is_none(), "{puli}");
    assert_eq!(puli["killed"], range(8, 8, 17, false));
    // Its attackers read as militants killed: Aybak's three, the Ghazni clashes' nine.
    let ghazni = json_of(&s, &["show", "2020-07-30-ghazni-clashes", "--json"]);
    assert_eq!(
        ghazni["killed_by_status"]["militants"],
        range(9, 9, 9, false)
    );
    assert_eq!(
        ghazni["killed_by_status"]["unattributed"],
        range(0, 0, 0, false)
    );
    assert_eq!(ghazni["attackers_killed"], range(9, 9, 9, false));
    assert!(ghazni["killed"]["low"].is_null());
}

#[test]
fn show_reconciles_each_status_over_the_sources_that_gave_it() {
    let s = july_with_statuses();
    insta::assert_snapshot!(
        "show_ghazni_roadside_bomb",
        s.ok(&["show", "2020-07-11-ghazni-roadside-bomb"])
    );
    let aybak = s.ok(&["show", "2020-07-13-aybak"]);
    insta::assert_snapshot!("show_aybak", aybak);
    // At least 14 killed, at least 11 + 3 by status: none known left over, which is not
    // none (docs/views.md, "How the part not broken down is said").
    assert!(
        aybak.contains(
            "killed by status: security forces 11+ (11), militants 3, possibly more not broken down\n"
        ),
        "{aybak}"
    );
    let aybak = json_of(&s, &["show", "2020-07-13-aybak", "--json"]);
    assert_eq!(
        aybak["killed_by_status"]["security_forces"],
        range(11, 11, 11, true)
    );
    assert_eq!(
        aybak["killed_by_status"]["militants"],
        range(3, 3, 3, false)
    );
    // At least 11 + 3 killed in all, 11+ and 3 attributed: nothing certainly left over.
    assert_eq!(
        aybak["killed_by_status"]["unattributed"],
        range(0, 0, 0, true)
    );
    // Per source, as it gave them.
    let source = &aybak["sources"][0];
    assert_eq!(
        source["killed_by_status"]["security_forces"]["text"],
        "at least 11"
    );
    assert_eq!(source["killed_by_status"]["militants"]["text"], "3");
    assert!(source.get("wounded_by_status").is_none(), "{source}");
}

/// Puli Alam's tallies: AFP 17 killed, the Ministry of Defense 8, no status; Pajhwok (a
/// made-up third source) says 6 of the dead were civilians and gives no total, then an
/// Ahmadzai tally of 19 with 10 civilians and 9 security forces.
#[test]
fn a_source_with_only_a_total_is_never_unknown_and_totals_never_double_count() {
    let s = Scratch::new();
    puli_alam(&s);
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Pajhwok",
        "--published",
        "2020-07-31",
        "--killed-civilians",
        "6",
    ]);
    let puli = json_of(&s, &["show", PULI_ALAM, "--json"]);
    // The totals are AFP's and the Ministry's, as before: the breakdown adds nothing.
    assert_eq!(puli["killed"], range(8, 8, 17, false));
    // Civilians from the one source that gave them; no status is made up for the others.
    assert_eq!(puli["killed_by_status"]["civilians"], range(6, 6, 6, false));
    assert!(puli["killed_by_status"].get("unknown").is_none(), "{puli}");
    assert!(puli["killed_by_status"].get("security_forces").is_none());
    // Not broken down: the totals less the civilians (best 8 - 6; 8 - 6 to 17 - 6).
    assert_eq!(
        puli["killed_by_status"]["unattributed"],
        range(2, 2, 11, false)
    );
    assert!(puli["sources"][0].get("killed_by_status").is_none());
    // A source with a total and a full breakdown: the statuses reconcile across sources.
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Ahmadzai",
        "--killed",
        "19",
        "--killed-civilians",
        "10",
        "--killed-security-forces",
        "9",
    ]);
    let puli = json_of(&s, &["show", PULI_ALAM, "--json"]);
    assert_eq!(puli["killed"], range(8, 17, 19, false));
    assert_eq!(
        puli["killed_by_status"]["civilians"],
        range(6, 6, 10, false)
    );
    assert_eq!(
        puli["killed_by_status"]["security_forces"],
        range(9, 9, 9, false)
    );
    let groups = by_status(&s, &[]);
    let best: u64 = groups.iter().map(|g| g.2["best"].as_u64().unwrap()).sum();
    assert_eq!(best, 17, "the groups add up to the total: {groups:?}");
    insta::assert_snapshot!("show_puli_alam_by_status", s.ok(&["show", PULI_ALAM]));
}

#[test]
fn a_breakdown_above_the_reports_exact_total_is_refused() {
    let s = Scratch::new();
    puli_alam(&s);
    let before = s.dump();
    let (code, out, err) = s.run(&[
        "correct",
        "--incident",
        PULI_ALAM,
        "--source",
        "AFP",
        "--killed",
        "17",
        "--killed-civilians",
        "6",
        "--killed-security-forces",
        "13",
        "--reason",
        "AFP's breakdown",
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    insta::assert_snapshot!("inconsistent_breakdown", err);
    assert_eq!(s.dump(), before, "nothing written");
    // The same from JSON Lines, named by line.
    let line = json!({"incident": PULI_ALAM, "kind": "casualties_reported", "payload":
        {"source": "Tolo", "killed": 5, "wounded": 3, "wounded_by_status": {"civilians": "at-least:4"}}});
    let file = s.write("tolo.jsonl", &format!("{line}\n"));
    let (code, _, err) = s.run(&["append", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("tolo.jsonl:1"), "{err}");
    assert!(
        err.contains("payload.wounded_by_status") && err.contains("civilians at-least:4"),
        "{err}"
    );
    assert_eq!(s.dump(), before);
    // With --allow-inconsistent, recorded as the source gave it.
    s.ok(&[
        "--allow-inconsistent",
        "correct",
        "--incident",
        PULI_ALAM,
        "--source",
        "AFP",
        "--killed",
        "17",
        "--killed-civilians",
        "6",
        "--killed-security-forces",
        "13",
        "--reason",
        "AFP's breakdown, as AFP gave it",
    ]);
    // Without a total, any breakdown is accepted (the total is at least its sum); attackers
    // count in the total the breakdown is checked against.
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Tolo",
        "--killed-civilians",
        "20",
    ]);
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Shamshad",
        "--killed",
        "17",
        "--attackers-killed",
        "1",
        "--killed-civilians",
        "17",
        "--killed-militants",
        "1",
    ]);
    // A misspelt figure is named by its flag.
    let (code, _, err) = s.run(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Tolo",
        "--wounded-unknown",
        "some",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--wounded-unknown"), "{err}");
    s.ok(&["verify"]);
}

#[test]
fn payload_fields_are_checked_by_name() {
    let s = Scratch::new();
    puli_alam(&s);
    let line = json!({"incident": PULI_ALAM, "kind": "casualties_reported", "payload":
        {"source": "Tolo", "killed_by_status": {"civilian": 5}}});
    let file = s.write("bad.jsonl", &format!("{line}\n"));
    let (code, _, err) = s.run(&["append", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("civilian") && err.contains("security_forces"),
        "{err}"
    );
    // A payload of schema version 1 cannot carry a version-2 field.
    let line = json!({"incident": PULI_ALAM, "kind": "casualties_reported", "schema_version": 1,
        "payload": {"source": "Tolo", "killed_by_status": {"civilians": 5}}});
    let file = s.write("v1.jsonl", &format!("{line}\n"));
    let (code, _, err) = s.run(&["append", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("from schema version 2 on"), "{err}");
    // New casualty events are written at the current schema version (3 since coded figures).
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "Tolo",
        "--killed-civilians",
        "5",
    ]);
    let last: Value = serde_json::from_str(s.dump().lines().last().unwrap()).unwrap();
    assert_eq!(last["schema_version"], json!(3));
    assert_eq!(last["payload"]["killed_by_status"], json!({"civilians": 5}));
}

#[test]
fn the_ghazni_audit_by_status() {
    let s = july_with_statuses();
    let scope = [
        "--status",
        "civilians",
        "--province",
        "Ghazni",
        "--from",
        "2020-07-01",
        "--to",
        "2020-07-31",
    ];
    let mut args = vec!["audit"];
    args.extend_from_slice(&scope);
    args.extend_from_slice(&["--killed", "6"]);
    let out = s.ok(&args);
    insta::assert_snapshot!("audit_ghazni_civilians", out);
    args.push("--json");
    let report = json_of(&s, &args);
    assert_eq!(report["verdict"], "within");
    assert_eq!(report["statuses"], json!(["civilians"]));
    assert_eq!(report["supported"], range(6, 6, 6, false));
    // The clashes' militants are not civilians: one incident in scope.
    assert_eq!(report["incidents"].as_array().unwrap().len(), 1);
    assert!(report.get("not_broken_down").is_none(), "{report}");
    // Without --status, the 6 victims killed in Ghazni match too (the clashes' nine are
    // attackers, counted apart): the infobox's claim.
    let all = json_of(
        &s,
        &[
            "audit",
            "--province",
            "Ghazni",
            "--from",
            "2020-07-01",
            "--to",
            "2020-07-31",
            "--killed",
            "6",
            "--json",
        ],
    );
    assert_eq!(all["verdict"], "within");
    // Militants in Ghazni: 9; a claim of 6 is below.
    let militants = json_of(
        &s,
        &[
            "audit",
            "--status",
            "militants",
            "--province",
            "Ghazni",
            "--killed",
            "6",
            "--json",
        ],
    );
    assert_eq!(militants["verdict"], "below");
    // On the demo log without its statuses (none but the attackers), the audit says what it cannot
    // see: the roadside bomb's six are not broken down.
    let demo = Scratch::demo_before_statuses();
    let mut args = vec!["audit"];
    args.extend_from_slice(&scope);
    args.extend_from_slice(&["--killed", "6"]);
    let out = demo.ok(&args);
    insta::assert_snapshot!("audit_ghazni_civilians_not_broken_down", out);
}

/// Aybak: at least 14 killed, at least 11 security forces and 3 militants. Nothing is known
/// to be left over, but "at least" leaves room for more people, of a status no source gave:
/// an audit of civilians there must not read "no civilians" as a confident verdict.
#[test]
fn an_audit_by_status_names_the_counts_that_may_be_more() {
    let s = july_with_statuses();
    let args = [
        "audit",
        "--status",
        "civilians",
        "--province",
        "Samangan",
        "--killed",
        "1",
    ];
    let out = s.ok(&args);
    insta::assert_snapshot!("audit_samangan_civilians_possibly_more", out);
    let mut json = args.to_vec();
    json.push("--json");
    let report = json_of(&s, &json);
    assert_eq!(report["verdict"], "above");
    assert_eq!(report["possibly_more"], json!(["2020-07-13-aybak"]));
    assert!(report.get("not_broken_down").is_none(), "{report}");
    // Militants are given there, but the "at least" leaves room for more militants too: an
    // audit of them names Aybak all the same.
    let militants = json_of(
        &s,
        &[
            "audit",
            "--status",
            "militants",
            "--province",
            "Samangan",
            "--killed",
            "3",
            "--json",
        ],
    );
    assert_eq!(militants["verdict"], "within");
    assert_eq!(militants["possibly_more"], json!(["2020-07-13-aybak"]));
    // Without --status there is nothing to say.
    let all = json_of(
        &s,
        &[
            "audit",
            "--province",
            "Samangan",
            "--killed",
            "14",
            "--json",
        ],
    );
    assert!(all.get("possibly_more").is_none(), "{all}");
    // timeline --status says it under the table, and on standard error with --json.
    let timeline = s.ok(&[
        "timeline",
        "--status",
        "civilians",
        "--province",
        "Samangan",
    ]);
    assert!(
        timeline.contains("Possibly more: 1 incident in scope without --status has killed figures that are \"at least\""),
        "{timeline}"
    );
    let (code, out, err) = s.run(&[
        "timeline",
        "--status",
        "civilians",
        "--province",
        "Samangan",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(serde_json::from_str::<Value>(&out).is_ok(), "{out}");
    assert!(err.contains("Possibly more: 1 incident"), "{err}");
}

#[test]
fn status_filters_and_groups() {
    let s = july_with_statuses();
    insta::assert_snapshot!("summary_by_status", s.ok(&["summary", "--by", "status"]));
    // --status keeps the incidents with the status and counts only it.
    let out = s.ok(&["timeline", "--status", "civilians"]);
    insta::assert_snapshot!("timeline_civilians", out);
    let groups = json_of(
        &s,
        &[
            "summary",
            "--status",
            "security-forces",
            "--status",
            "militants",
            "--json",
        ],
    );
    let killed: u64 = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["killed"]["best"].as_u64().unwrap())
        .sum();
    assert_eq!(killed, 81 + 12);
    let doc = json_of(&s, &["export", "--format", "json", "--status", "civilians"]);
    assert_eq!(doc["provenance"]["filters"]["status"], json!(["civilians"]));
    assert_eq!(doc["incidents"].as_array().unwrap().len(), 3);
    assert_eq!(doc["totals"]["killed"], range(14, 14, 14, false));
    assert_eq!(doc["totals"]["wounded"], range(19, 19, 19, false));
    // On the demo log without its statuses, a table of civilians says what it cannot count.
    let demo = Scratch::demo_before_statuses();
    let out = demo.ok(&["summary", "--status", "civilians", "--province", "Kabul"]);
    assert!(
        out.starts_with("No incidents.\nNot counted: 2 incidents in scope without --status have killed figures not broken down by status (2020-07-14-kabul-roadside-bomb, 2020-07-19-kabul-shooting)"),
        "{out}"
    );
    // So does its `--json` answer, on standard error: the JSON alone on standard output.
    for cmd in ["summary", "timeline"] {
        let (code, out, err) = demo.run(&[
            cmd,
            "--status",
            "civilians",
            "--province",
            "Kabul",
            "--json",
        ]);
        assert_eq!((code, out.as_str()), (0, "[]\n"), "{cmd}: {err}");
        assert_eq!(
            err,
            "warning: Not counted: 2 incidents in scope without --status have killed figures not broken down by status (2020-07-14-kabul-roadside-bomb, 2020-07-19-kabul-shooting); the statuses given may be among them.\n",
            "{cmd}"
        );
    }
    // With every killed figure in scope broken down, no warning.
    let (_, out, err) = s.run(&[
        "summary",
        "--status",
        "civilians",
        "--province",
        "Kabul",
        "--json",
    ]);
    assert_eq!(err, "", "{out}");
    // A misspelt status is refused with the list.
    let (code, _, err) = s.run(&["timeline", "--status", "civilian"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--status")
            && err.contains("civilians, security_forces, militants and unknown"),
        "{err}"
    );
}

/// The export's totals and its totals by province count what `summary --status` counts
/// (the streamed export once summed every status's figures: 99 wounded for security forces,
/// not 36).
#[test]
fn an_export_by_status_totals_what_summary_counts() {
    let s = july_with_statuses();
    let doc = json_of(
        &s,
        &["export", "--format", "json", "--status", "security-forces"],
    );
    let groups = json_of(&s, &["summary", "--status", "security-forces", "--json"]);
    let summed = |key: &str| -> u64 {
        groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[key]["best"].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(doc["totals"]["killed"], range(81, 81, 81, true));
    assert_eq!(doc["totals"]["wounded"], range(36, 36, 36, false));
    assert_eq!(summed("wounded"), 36);
    let by_province: Vec<(String, Value, Value)> = doc["totals"]["by_province"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].to_string(),
                g["killed"].clone(),
                g["wounded"].clone(),
            )
        })
        .collect();
    let summary: Vec<(String, Value, Value)> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].to_string(),
                g["killed"].clone(),
                g["wounded"].clone(),
            )
        })
        .collect();
    assert_eq!(by_province, summary);
}

fn ucdp_sample() -> PathBuf {
    repo_root().join("tests/data/ucdp-ged-231-sample-afghanistan.csv")
}

/// The sample's deaths by status, computed from the CSV itself: civilians and unknown from
/// their columns, the sides by name (a government is security forces, any other militants).
fn ucdp_expected() -> (u64, u64, u64, u64) {
    let mut reader = csv::Reader::from_path(ucdp_sample()).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (mut civilians, mut unknown, mut security, mut militants) = (0, 0, 0, 0);
    for row in reader.records() {
        let row = row.unwrap();
        let n = |c: &str| row[col(c)].parse::<u64>().unwrap();
        civilians += n("deaths_civilians");
        unknown += n("deaths_unknown");
        for (side, deaths) in [("side_a", "deaths_a"), ("side_b", "deaths_b")] {
            let name = &row[col(side)];
            if name.starts_with("Government of") {
                security += n(deaths);
            } else if name == "Civilians" {
                civilians += n(deaths);
            } else {
                militants += n(deaths);
            }
        }
    }
    (civilians, unknown, security, militants)
}

fn ucdp_by_status(s: &Scratch) -> (u64, u64, u64, u64) {
    let groups = by_status(s, &[]);
    let best = |k: &str| {
        groups
            .iter()
            .find(|g| g.0 == k)
            .map_or(0, |g| g.2["best"].as_u64().unwrap())
    };
    (
        best("civilians"),
        best("unknown"),
        best("security_forces"),
        best("militants"),
    )
}

#[test]
fn the_ucdp_sample_reads_by_status() {
    let expected = ucdp_expected();
    assert_eq!((expected.0, expected.1), (78, 330));
    let s = Scratch::new();
    s.ok(&["import", "--from", "ucdp", ucdp_sample().to_str().unwrap()]);
    assert_eq!(ucdp_by_status(&s), expected);
    // UCDP's parts add up to its best: nothing is left over at the best estimates (only up
    // to the high estimates, which UCDP does not break down).
    let groups = by_status(&s, &[]);
    if let Some(rest) = groups.iter().find(|g| g.0 == "unattributed") {
        assert_eq!(
            (rest.2["low"].clone(), rest.2["best"].clone()),
            (json!(0), json!(0))
        );
    }
}

/// An import written before statuses existed (schema version 1: `killed_breakdown` only, in
/// the log format 1) gains its statuses without being re-imported, and a re-import of the
/// same file finds nothing changed.
#[test]
fn an_old_ucdp_import_gains_its_statuses_without_a_re_import() {
    // A current import, rewritten as an older chronicle wrote it: payloads of version 1
    // (no killed_by_status), events sealed in the format 1 with their hash chain.
    let current = Scratch::new_sqlite();
    current.ok(&["import", "--from", "ucdp", ucdp_sample().to_str().unwrap()]);
    let lines = common::as_older_log(&current.dump(), |_, payload, schema_version| {
        payload.as_object_mut().unwrap().remove("killed_by_status");
        *schema_version = 1;
    });
    let s = Scratch::new();
    let file = s.write("old.jsonl", &lines);
    s.ok(&["append", "--restore", file.to_str().unwrap()]);
    s.ok(&["verify"]);
    let stored: Value = serde_json::from_str(s.dump().lines().nth(1).unwrap()).unwrap();
    assert_eq!(stored["schema_version"], json!(1));
    assert!(stored["payload"].get("killed_by_status").is_none());
    // Read through the upcaster and the sides' names: the same statuses as a new import.
    assert_eq!(ucdp_by_status(&s), ucdp_expected());
    let before = s.dump();
    s.ok(&["import", "--from", "ucdp", ucdp_sample().to_str().unwrap()]);
    assert_eq!(
        s.dump(),
        before,
        "a re-import of the same file appends nothing"
    );
}
