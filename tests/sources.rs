//! Sources described (issue 19): `chronicle source set NAME --type TYPE [--party]` records a
//! source's type and whether it is a party (a `source_described` event in the reserved
//! stream `@sources`), `source history` what was said when; reports take `--via`; `sources`
//! and `show` print type, party and via; the suggested grade counts parties; filters
//! `--source-type` and `--exclude-parties` restrict which sources' figures are reconciled.
//! Rules: docs/views.md, "Sources described"; docs/event-log.md (`source_described`).
#![allow(clippy::unwrap_used)]

mod common;

use common::{puli_alam, Scratch};
use serde_json::Value;

const PULI_ALAM: &str = "2020-07-30-puli-alam";
const KABUL: &str = "2020-07-31-kabul";

fn json_of(s: &Scratch, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

/// Puli Alam (AFP 17, the Ministry of Defense 8: contested) and a Kabul incident on which
/// AFP and the Ministry agree (3 killed), the Ministry's figure carried by Pajhwok.
fn scenario() -> Scratch {
    let s = Scratch::new();
    puli_alam(&s);
    s.ok_at(
        "2020-07-31T10:00:00Z",
        &[
            "report",
            "--incident",
            KABUL,
            "--date",
            "2020-07-31",
            "--province",
            "Kabul",
            "--category",
            "roadside bomb",
            "--source",
            "AFP",
            "--killed",
            "3",
        ],
    );
    s.ok_at(
        "2020-07-31T11:00:00Z",
        &[
            "report",
            "--incident",
            KABUL,
            "--source",
            "Ministry of Defense",
            "--via",
            "Pajhwok",
            "--killed",
            "3",
            "--wounded",
            "2",
        ],
    );
    s
}

fn describe(s: &Scratch, at: &str, args: &[&str]) -> String {
    let mut all = vec!["source", "set"];
    all.extend_from_slice(args);
    s.ok_at(at, &all)
}

#[test]
fn a_description_is_recorded_replaced_whole_and_kept_as_history() {
    let s = scenario();
    describe(
        &s,
        "2020-08-01T09:00:00Z",
        &["AFP", "--type", "News-Agency"],
    );
    describe(
        &s,
        "2020-08-01T09:01:00Z",
        &[
            "Ministry of Defense",
            "--type",
            "government",
            "--party",
            "--note",
            "Afghan MoD",
        ],
    );
    // Described again without --party: the description is whole, so no longer a party.
    describe(
        &s,
        "2020-08-01T09:02:00Z",
        &["Ministry of Defense", "--type", "armed_forces"],
    );
    let log = s.ok(&["log", "--incident", "@sources", "--json"]);
    assert!(
        log.contains(r#""type":"news agency""#),
        "canonical spelling: {log}"
    );
    assert!(log.contains(r#""type":"armed forces""#), "{log}");
    insta::assert_snapshot!(
        "history_of_a_source",
        s.ok(&["source", "history", "Ministry of Defense"])
    );
    let h = json_of(&s, &["source", "history", "Ministry of Defense", "--json"]);
    assert_eq!(h.as_array().unwrap().len(), 2);
    assert_eq!(h[0]["status"], "superseded");
    assert_eq!(h[0]["party"], true);
    assert_eq!(h[1]["status"], "in force");
    assert_eq!(h[1]["party"], false);
    insta::assert_snapshot!("sources_described", s.ok(&["sources"]));
    let rows = json_of(&s, &["sources", "--json"]);
    let mod_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "Ministry of Defense")
        .unwrap();
    assert_eq!(mod_row["type"], "armed forces");
    assert!(mod_row.get("party").is_none(), "not a party: left out");
    assert_eq!(mod_row["via"]["Pajhwok"], 1);
    // An undescribed source has no type in JSON either.
    let pajhwok_less = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "AFP")
        .unwrap();
    assert_eq!(pajhwok_less["type"], "news agency");
}

#[test]
fn an_unknown_type_is_refused_with_the_list_and_the_log_untouched() {
    let s = scenario();
    let before = s.dump();
    let (code, out, err) = s.run(&["source", "set", "AFP", "--type", "newspaper"]);
    assert_eq!(code, 2, "{out}{err}");
    insta::assert_snapshot!("unknown_type", err);
    assert_eq!(s.dump(), before);
    // The reserved stream: no incident there, no description elsewhere.
    let line = r#"{"incident":"@sources","kind":"incident_reported","payload":{"date":"2020-07-30","province":"Logar","category":"x"}}"#;
    let (code, _, err) = s.run_stdin(&["append", "-"], line);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("reserved"), "{err}");
    let line = r#"{"incident":"2020-07-30-puli-alam","kind":"source_described","payload":{"name":"AFP","type":"UN"}}"#;
    let (code, _, err) = s.run_stdin(&["append", "-"], line);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("@sources"), "{err}");
    let (code, _, err) = s.run(&[
        "--allow-implausible",
        "report",
        "--incident",
        "@x",
        "--date",
        "2020-07-30",
        "--province",
        "Logar",
        "--category",
        "x",
        "--source",
        "AFP",
        "--killed",
        "1",
    ]);
    assert_eq!(code, 2, "an incident id never begins with @: {err}");
    assert_eq!(s.dump(), before);
    // A description also goes in as a JSON line.
    let line = r#"{"incident":"@sources","kind":"source_described","payload":{"name":"UNAMA","type":"un"}}"#;
    let (code, _, err) = s.run_stdin(&["append", "-"], line);
    assert_eq!(code, 2, "the stored spelling only, in JSON: {err}");
    let line = r#"{"incident":"@sources","kind":"source_described","payload":{"name":"UNAMA","type":"UN"}}"#;
    let (code, _, err) = s.run_stdin(&["append", "-"], line);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn via_is_recorded_shown_and_exported_and_only_then_at_schema_version_4() {
    let s = scenario();
    describe(
        &s,
        "2020-08-01T09:00:00Z",
        &["Ministry of Defense", "--type", "government", "--party"],
    );
    insta::assert_snapshot!("show_via_and_types", s.ok(&["show", KABUL]));
    let i = json_of(&s, &["show", KABUL, "--json"]);
    let mod_src = &i["sources"][1];
    assert_eq!(mod_src["via"], "Pajhwok");
    assert_eq!(mod_src["type"], "government");
    assert_eq!(mod_src["party"], true);
    assert!(i["sources"][0].get("via").is_none());
    assert!(
        i["sources"][0].get("type").is_none(),
        "AFP is not described"
    );
    let doc = json_of(&s, &["export"]);
    let kabul = doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["incident"] == KABUL)
        .unwrap();
    assert_eq!(kabul["sources"][1]["via"], "Pajhwok");
    // Only a payload that carries `via` is written at version 4.
    let lines: Vec<Value> = s
        .dump()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let versions: Vec<(String, u64)> = lines
        .iter()
        .filter(|l| l["kind"] == "casualties_reported")
        .map(|l| {
            (
                l["payload"]["source"].as_str().unwrap().to_string(),
                l["schema_version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions.iter().filter(|(_, v)| *v == 4).count(),
        1,
        "{versions:?}"
    );
    assert_eq!(
        versions.iter().filter(|(_, v)| *v == 3).count(),
        3,
        "{versions:?}"
    );
    // `via` naming the source itself is refused.
    let (code, _, err) = s.run(&[
        "report",
        "--incident",
        KABUL,
        "--source",
        "AFP",
        "--via",
        "AFP",
        "--killed",
        "3",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("payload.via"), "{err}");
}

#[test]
fn two_agreeing_sources_one_of_them_a_party_suggest_weak_not_fair() {
    let s = scenario();
    let grade = |s: &Scratch, args: &[&str]| {
        let mut all = vec!["show", KABUL, "--json"];
        all.extend_from_slice(args);
        json_of(s, &all)["grade"].clone()
    };
    assert_eq!(grade(&s, &[])["grade"], "fair");
    describe(
        &s,
        "2020-08-01T09:00:00Z",
        &["Ministry of Defense", "--type", "government", "--party"],
    );
    let g = grade(&s, &[]);
    assert_eq!(g["grade"], "weak");
    assert_eq!(g["suggested"], true);
    insta::assert_snapshot!("grade_with_a_party", g["reason"].as_str().unwrap());
    // As of before the description, it was not in force: fair.
    assert_eq!(
        grade(&s, &["--as-of", "2020-07-31T23:00:00Z"])["grade"],
        "fair"
    );
    // The grade filter and summary --by grade see the party too.
    let weak = s.ok(&["timeline", "--grade", "weak"]);
    assert!(weak.contains(KABUL), "{weak}");
    // A later description without --party makes it fair again.
    describe(
        &s,
        "2020-08-02T09:00:00Z",
        &["Ministry of Defense", "--type", "government"],
    );
    assert_eq!(grade(&s, &[])["grade"], "fair");
    assert_eq!(
        grade(&s, &["--as-of", "2020-08-01T12:00:00Z"])["grade"],
        "weak"
    );
}

#[test]
fn exclude_parties_and_source_type_reconcile_only_the_sources_kept_and_say_what_was_left_out() {
    let s = scenario();
    describe(
        &s,
        "2020-08-01T09:00:00Z",
        &["AFP", "--type", "news agency"],
    );
    describe(
        &s,
        "2020-08-01T09:01:00Z",
        &["Ministry of Defense", "--type", "government", "--party"],
    );
    let all = s.ok(&["summary"]);
    let parties_out = s.ok(&["summary", "--exclude-parties"]);
    assert_ne!(all, parties_out);
    insta::assert_snapshot!("summary_exclude_parties", parties_out);
    let puli = json_of(&s, &["show", PULI_ALAM, "--json", "--exclude-parties"]);
    assert_eq!(puli["killed"]["low"], 17);
    assert_eq!(puli["killed"]["high"], 17);
    assert_eq!(puli["sources"].as_array().unwrap().len(), 1);
    insta::assert_snapshot!(
        "show_exclude_parties",
        s.ok(&["show", PULI_ALAM, "--exclude-parties"])
    );
    // Only government sources: AFP's figures left out; both incidents keep the Ministry.
    insta::assert_snapshot!(
        "timeline_source_type",
        s.ok(&["timeline", "--source-type", "Government"])
    );
    let doc = json_of(&s, &["export", "--source-type", "government"]);
    assert_eq!(doc["provenance"]["filters"]["source_type"][0], "government");
    assert_eq!(
        doc["totals"]["killed"]["low"], 11,
        "8 + 3: the Ministry's figures only"
    );
    // An undescribed source has no type: left out by --source-type, and said so.
    s.ok_at(
        "2020-08-01T10:00:00Z",
        &[
            "report",
            "--incident",
            "2020-08-01-herat",
            "--date",
            "2020-08-01",
            "--province",
            "Herat",
            "--category",
            "shelling",
            "--source",
            "TOLOnews",
            "--killed",
            "4",
        ],
    );
    insta::assert_snapshot!(
        "timeline_undescribed_left_out",
        s.ok(&["timeline", "--source-type", "news agency,government"])
    );
    let (code, out, err) = s.run(&["timeline", "--json", "--exclude-parties"]);
    assert_eq!(code, 0);
    assert!(!out.contains("Ministry of Defense"), "{out}");
    assert!(
        err.contains("Left out: the figures of 1 source (Ministry of Defense)"),
        "{err}"
    );
    // An audit's verdict and an export over some sources' figures say which were left out:
    // the audit under its table (on standard error with --json), the export on standard error.
    let audit = [
        "audit",
        "--province",
        "Logar",
        "--from",
        "2020-07-01",
        "--to",
        "2020-07-31",
        "--killed",
        "8",
        "--exclude-parties",
    ];
    let out = s.ok(&audit);
    assert!(out.contains("below the range"), "{out}");
    assert!(
        out.ends_with("Left out: the figures of 1 source (Ministry of Defense).\n"),
        "{out}"
    );
    let mut as_json = audit.to_vec();
    as_json.push("--json");
    let (code, out, err) = s.run(&as_json);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_start().chars().next(), Some('{'), "{out}");
    assert_eq!(
        err,
        "warning: Left out: the figures of 1 source (Ministry of Defense).\n"
    );
    for args in [
        vec!["export", "--exclude-parties"],
        vec!["export", "--exclude-parties", "--out", "parties-out.json"],
    ] {
        let (code, _, err) = s.run(&args);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.ends_with("warning: Left out: the figures of 1 source (Ministry of Defense).\n"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_misspelt_type_or_one_no_source_has_is_refused() {
    let s = scenario();
    describe(
        &s,
        "2020-08-01T09:00:00Z",
        &["AFP", "--type", "news agency"],
    );
    let (code, out, err) = s.run(&["timeline", "--source-type", "news agnecy"]);
    assert_eq!(code, 2, "{out}{err}");
    insta::assert_snapshot!("misspelt_type_in_a_filter", err);
    let (code, out, err) = s.run(&["summary", "--source-type", "UN"]);
    assert_eq!(code, 2, "{out}{err}");
    insta::assert_snapshot!("type_no_source_has", err);
    // At a point before any description, no type is in force.
    let (code, _, err) = s.run(&[
        "timeline",
        "--source-type",
        "news agency",
        "--as-of",
        "2020-07-31T23:00:00Z",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no source is described at this point"),
        "{err}"
    );
}

#[test]
fn a_description_after_the_point_is_not_in_force_there() {
    let s = scenario();
    describe(
        &s,
        "2020-08-01T09:00:00Z",
        &["AFP", "--type", "news agency"],
    );
    describe(&s, "2020-08-03T09:00:00Z", &["AFP", "--type", "dataset"]);
    let at = |t: &str| {
        let rows = json_of(&s, &["sources", "--json", "--as-of", t]);
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == "AFP")
            .unwrap()
            .get("type")
            .cloned()
    };
    assert_eq!(at("2020-07-31T23:00:00Z"), None);
    assert_eq!(at("2020-08-02T00:00:00Z"), Some(Value::from("news agency")));
    assert_eq!(at("2020-08-04T00:00:00Z"), Some(Value::from("dataset")));
    let h = s.ok(&[
        "source",
        "history",
        "AFP",
        "--as-of",
        "2020-08-02T00:00:00Z",
    ]);
    assert!(h.contains("news agency") && !h.contains("dataset"), "{h}");
    // Retracting the later description brings back the earlier one.
    let id = json_of(&s, &["source", "history", "AFP", "--json"])[1]["event_id"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok_at(
        "2020-08-04T09:00:00Z",
        &["retract", &id, "--reason", "entered in error"],
    );
    let h = json_of(&s, &["source", "history", "AFP", "--json"]);
    assert_eq!(h[0]["status"], "in force");
    assert_eq!(h[1]["status"], "retracted");
}
