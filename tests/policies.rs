//! The recorder's rules and decisions (issue 19, part B): `--best majority`, ranked lists
//! `--best "source:A>B>C"`, and `chronicle adjudicate` (the recorder's own best estimate,
//! used by the default policy and shown by every view). Rules: docs/views.md,
//! "Reconciliation" and "Adjudications"; the event: docs/event-log.md.
#![allow(clippy::unwrap_used)]

mod common;

use common::Scratch;
use serde_json::Value;

const PULI_ALAM: &str = "2020-07-30-puli-alam";

fn json(s: &Scratch, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

/// The id of the last event of the log.
fn last_id(s: &Scratch) -> String {
    let log = s.ok(&["log", "--json"]);
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    last["id"].as_str().unwrap().to_string()
}

/// The demo log with a third source on Puli Alam: UNAMA, 17 killed and 25 wounded.
fn three_sources() -> Scratch {
    let s = Scratch::demo();
    s.ok(&[
        "report",
        "--incident",
        PULI_ALAM,
        "--source",
        "UNAMA",
        "--killed",
        "17",
        "--wounded",
        "25",
    ]);
    s
}

fn best(s: &Scratch, policy: &str) -> (Value, Value) {
    let i = json(s, &["show", PULI_ALAM, "--json", "--best", policy]);
    (i["killed"]["best"].clone(), i["wounded"]["best"].clone())
}

/// Majority: the value most sources gave; with no majority (AFP 17, the ministry 8), the
/// tie goes to the lower median of the tied values, i.e. the median.
#[test]
fn majority_takes_what_most_sources_said() {
    let s = Scratch::demo();
    assert_eq!(best(&s, "majority"), (8.into(), 21.into()));
    let s = three_sources();
    // Killed: AFP and UNAMA say 17. Wounded: 21, 30, 25, no majority: the median, 25.
    assert_eq!(best(&s, "majority"), (17.into(), 25.into()));
    assert_eq!(best(&s, "median"), (17.into(), 25.into()));
    let out = s.ok(&["show", PULI_ALAM, "--best", "majority"]);
    insta::assert_snapshot!(out.lines().nth(4).unwrap(), @"  best estimate (majority): 17 killed, 25 wounded");
}

/// A ranked list: per count, the first source of the list that gave it.
#[test]
fn a_ranked_list_takes_the_first_source_that_reported() {
    let s = three_sources();
    assert_eq!(
        best(&s, "source:Ministry of Defense>AFP"),
        (8.into(), 30.into())
    );
    assert_eq!(best(&s, "source:UNAMA>AFP"), (17.into(), 25.into()));
    // AFP has no figure on the other incidents; the list falls through to the next name.
    let t = json(
        &s,
        &[
            "timeline",
            "--json",
            "--best",
            "source:AFP>Wikipedia: July 2020 Afghanistan attacks",
        ],
    );
    let kunduz = t
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["incident"] == "2020-07-20-kunduz-checkpoint")
        .unwrap();
    assert_eq!(kunduz["killed"]["best"], 13);
    let out = s.ok(&[
        "show",
        PULI_ALAM,
        "--best",
        "source:Ministry of Defense>AFP",
    ]);
    insta::assert_snapshot!(out.lines().nth(4).unwrap(), @"  best estimate (source:Ministry of Defense>AFP): 8 killed, 30 wounded");
}

/// A misspelt name in a ranked list is refused with the sources the log has; so is a list
/// none of whose sources gave figures in view; the policy's text is checked too.
#[test]
fn unknown_names_in_a_ranked_list_are_refused() {
    let s = three_sources();
    let before = s.dump();
    let (code, out, err) = s.run(&["timeline", "--best", "source:AFP>Ministry of Defence"]);
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!(err, @r#"error: field `--best`, value "source:AFP>Ministry of Defence": "Ministry of Defence" gave figures on no incident in the log, so it would never rank; the sources with figures in the log are AFP, Ministry of Defense, UNAMA, Wikipedia: July 2020 Afghanistan attacks (a source's name is matched exactly)"#);
    let (code, _, err) = s.run(&[
        "show",
        "2020-07-08-nangarhar-suicide-bombing",
        "--best",
        "source:AFP>UNAMA",
    ]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(err, @r#"error: field `--best`, value "source:AFP>UNAMA": none of "AFP", "UNAMA" gave figures on the incidents in view, so the best figures would silently be the median; the sources with figures here are Wikipedia: July 2020 Afghanistan attacks (a source's name is matched exactly)"#);
    // A name the log knows that gave nothing on this incident is a genuine fallback.
    s.ok(&[
        "show",
        "2020-07-08-nangarhar-suicide-bombing",
        "--best",
        "source:AFP>Wikipedia: July 2020 Afghanistan attacks",
    ]);
    let (code, _, err) = s.run(&["summary", "--best", "source:AFP>>UNAMA"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(err, @r#"error: field `--best`, value "source:AFP>>UNAMA": a ranked list names a source on each side of every `>` (e.g. "source:AFP>Ministry of Defense")"#);
    let (code, _, err) = s.run(&["summary", "--best", "mean"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(err, @r#"error: field `--best`, value "mean": the policies are median, min, max, latest, majority, source:NAME (e.g. source:AFP) and a ranked list source:A>B>C (e.g. "source:AFP>Ministry of Defense")"#);
    assert_eq!(s.dump(), before, "reads never write");
}

/// An adjudication outside the sources' range is refused (exit 2, nothing written), as is
/// one with no count, one on a count no source gave, and one on an unknown incident.
#[test]
fn an_adjudication_outside_the_range_is_refused() {
    let s = Scratch::demo();
    let before = s.dump();
    let refused = |args: &[&str]| {
        let mut all = vec!["adjudicate"];
        all.extend_from_slice(args);
        let (code, out, err) = s.run(&all);
        assert_eq!((code, out.as_str()), (2, ""), "{err}");
        err
    };
    let err = refused(&[
        "--incident",
        PULI_ALAM,
        "--killed",
        "20",
        "--reason",
        "a guess",
    ]);
    insta::assert_snapshot!(err, @r#"error: field `payload.killed`, value "20": lies outside the sources' range 8-17 (AFP 17, Ministry of Defense 8); give a number from 8 to 17, or pass --outside-range and say in the reason why the estimate lies outside"#);
    let err = refused(&["--incident", PULI_ALAM, "--reason", "nothing"]);
    insta::assert_snapshot!(err, @r#"error: field `payload`: an adjudication decides at least one count: give killed, wounded or both (`--killed N`, `--wounded N`)"#);
    let err = refused(&[
        "--incident",
        "2020-07-30-ghazni-clashes",
        "--killed",
        "3",
        "--reason",
        "local reports",
    ]);
    insta::assert_snapshot!(err, @r#"error: field `payload.killed`, value "3": no source has given a killed figure on `2020-07-30-ghazni-clashes`, so there is no range to decide within; record the sources' figures first, or pass --outside-range and say in the reason where the estimate comes from"#);
    let err = refused(&["--incident", PULI_ALAM, "--killed", "12", "--reason", " "]);
    insta::assert_snapshot!(err, @r#"error: field `payload.reason`, value " ": a reason is required: say why (it is kept in the log for auditors)"#);
    let err = refused(&[
        "--incident",
        "2020-07-30-no-such",
        "--killed",
        "12",
        "--reason",
        "x",
    ]);
    assert!(err.contains("no such incident"), "{err}");
    // At least N: anything from N up is inside.
    s.ok(&[
        "adjudicate",
        "--incident",
        "2020-07-12-kunduz-checkpoints",
        "--killed",
        "20",
        "--reason",
        "the provincial council's list",
    ]);
    assert_ne!(s.dump(), before);
    // --outside-range records it all the same.
    s.ok(&[
        "adjudicate",
        "--incident",
        PULI_ALAM,
        "--killed",
        "20",
        "--outside-range",
        "--reason",
        "the hospital's list of the dead, published after both sources",
    ]);
    let i = json(&s, &["show", PULI_ALAM, "--json"]);
    assert_eq!(i["killed"]["best"], 20);
    assert_eq!(i["killed"]["high"], 17, "low and high stay the sources'");
    assert_eq!(i["adjudication"]["outside_range"], true);
}

/// The demo log with an adjudication on Puli Alam (seq 57): 12 killed, wounded left to the
/// policy.
fn adjudicated() -> Scratch {
    let s = Scratch::demo();
    let out = s.ok(&[
        "adjudicate",
        "--incident",
        PULI_ALAM,
        "--killed",
        "12",
        "--reason",
        "AFP counts the attacker and the ministry only soldiers",
        "--id",
        "adj-1",
    ]);
    assert_eq!(
        out,
        "appended seq 57: incident_adjudicated on 2020-07-30-puli-alam (v5), event adj-1\n"
    );
    s
}

/// The default policy shows the adjudication as the best; every view says so.
#[test]
fn every_view_says_the_best_is_adjudicated() {
    let s = adjudicated();
    insta::assert_snapshot!("adjudicated_show", s.ok(&["show", PULI_ALAM]));
    let timeline = s.ok(&["timeline", "--from", "2020-07-29"]);
    insta::assert_snapshot!("adjudicated_timeline", timeline);
    // The same from the stored columns and from the states (a filter that needs them).
    let by_states = s.ok(&[
        "timeline",
        "--from",
        "2020-07-29",
        "--source",
        "Wikipedia: July 2020 Afghanistan attacks",
    ]);
    assert_eq!(by_states, timeline);
    let summary = s.ok(&["summary", "--by", "province"]);
    insta::assert_snapshot!(summary.lines().last().unwrap(), @"Adjudicated: the bests of some incidents are the recorder's decisions (`chronicle timeline` names them): Logar (1).");
    let by_status = s.ok(&["summary", "--by", "status"]);
    assert!(by_status.contains("Adjudicated:"), "{by_status}");
    let audit = s.ok(&["audit", "--province", "Logar", "--killed", "12"]);
    insta::assert_snapshot!("adjudicated_audit", audit);
    let summary: Value = json(&s, &["summary", "--by", "province", "--json"]);
    let logar = summary
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "Logar")
        .unwrap();
    assert_eq!(logar["killed"]["best"], 12);
    assert_eq!(logar["adjudicated"], 1);
    assert!(summary[0].get("adjudicated").is_none(), "left out when 0");
    let doc = json(&s, &["export"]);
    let i = doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["incident"] == PULI_ALAM)
        .unwrap();
    assert_eq!(i["killed"]["best"], 12);
    assert_eq!(
        i["wounded"]["best"], 21,
        "wounded is not decided: the median"
    );
    insta::assert_json_snapshot!("adjudicated_json", i["adjudication"]);
    // Only the incident with a decision carries the field.
    let others = doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i.get("adjudication").is_some())
        .count();
    assert_eq!(others, 1);
}

/// An explicit policy is a rule over the sources' figures: it sets the adjudication aside,
/// and says so.
#[test]
fn other_policies_ignore_the_adjudication() {
    let s = adjudicated();
    let i = json(&s, &["show", PULI_ALAM, "--json", "--best", "min"]);
    assert_eq!(i["killed"]["best"], 8);
    assert_eq!(i["adjudication"]["applied"], false);
    let out = s.ok(&["show", PULI_ALAM, "--best", "source:AFP"]);
    insta::assert_snapshot!(out.lines().skip(4).take(2).collect::<Vec<_>>().join("\n"), @r"
      best estimate (source:AFP): 17 killed, 21 wounded
      not used by the source:AFP policy: best 12 killed, adjudicated: AFP counts the attacker and the ministry only soldiers (seq 57, recorded 1 December 2026; the default policy, median, shows it)
    ");
    let timeline = s.ok(&["timeline", "--from", "2020-07-29", "--best", "max"]);
    assert!(!timeline.contains("Adjudicated"), "{timeline}");
}

/// A later adjudication replaces the earlier one whole; retracting it brings the earlier
/// one back; retracting that one too, the median. `history` shows each step, and a view at
/// an earlier point shows what the log said then.
#[test]
fn a_later_adjudication_or_a_retraction_replaces_it() {
    let s = adjudicated();
    s.ok_at(
        "2020-08-02T08:00:00Z",
        &[
            "adjudicate",
            "--incident",
            PULI_ALAM,
            "--killed",
            "17",
            "--wounded",
            "30",
            "--reason",
            "the hospital confirmed AFP's count",
        ],
    );
    let second = last_id(&s);
    let now = |s: &Scratch| best(s, "median");
    assert_eq!(now(&s), (17.into(), 30.into()));
    // Earlier points: before any decision, after the first.
    let at = |p: &str| {
        let i = json(&s, &["show", PULI_ALAM, "--json", "--at-seq", p]);
        (
            i["killed"]["best"].clone(),
            i["adjudication"]["reason"].clone(),
        )
    };
    assert_eq!(at("56"), (8.into(), Value::Null));
    assert_eq!(
        at("57"),
        (
            12.into(),
            "AFP counts the attacker and the ministry only soldiers".into()
        )
    );
    // --known-by: a decision counts from when it was recorded (the demo log's events, and
    // so these, were recorded in November 2026), as a claim without a published time does.
    let k = json(
        &s,
        &[
            "show",
            PULI_ALAM,
            "--json",
            "--known-by",
            "2020-08-01T00:00:00Z",
        ],
    );
    assert_eq!(k["killed"]["best"], 8);
    assert!(k.get("adjudication").is_none());
    let k = json(
        &s,
        &["show", PULI_ALAM, "--json", "--known-by", "2030-01-01"],
    );
    assert_eq!(k["killed"]["best"], 17);
    s.ok_at(
        "2020-08-03T08:00:00Z",
        &[
            "retract",
            &second,
            "--reason",
            "the hospital's list was not final",
        ],
    );
    assert_eq!(now(&s), (12.into(), 21.into()));
    s.ok_at(
        "2020-08-04T08:00:00Z",
        &[
            "retract",
            "adj-1",
            "--reason",
            "entered on the wrong incident",
        ],
    );
    assert_eq!(now(&s), (8.into(), 21.into()));
    assert!(json(&s, &["show", PULI_ALAM, "--json"])
        .get("adjudication")
        .is_none());
    let history = s.ok(&["history", PULI_ALAM]);
    let tail: Vec<&str> = history
        .split("\n\n")
        .filter(|entry| entry.contains("adjudicat") || entry.contains("retracts"))
        .collect();
    insta::assert_snapshot!("adjudication_history", tail.join("\n\n"));
    // The rebuilt views are what the appends maintained.
    let before = s.ok(&["timeline", "--json"]);
    s.ok(&["rebuild"]);
    assert_eq!(s.ok(&["timeline", "--json"]), before);
}

/// `--id` makes a retried adjudication a no-op; other content under the id is refused.
#[test]
fn a_retried_adjudication_appends_nothing() {
    let s = adjudicated();
    let args = [
        "adjudicate",
        "--incident",
        PULI_ALAM,
        "--killed",
        "12",
        "--reason",
        "AFP counts the attacker and the ministry only soldiers",
        "--id",
        "adj-1",
    ];
    let before = s.dump();
    let out = s.ok(&args);
    insta::assert_snapshot!(out, @"already in the log: event adj-1 at seq 57 (same content; nothing appended)");
    let mut other = args.to_vec();
    other[4] = "13";
    let (code, _, _) = s.run(&other);
    assert_eq!(code, 2);
    assert_eq!(s.dump(), before);
}

/// The event goes in through `append` like any kind, checked the same way.
#[test]
fn append_checks_an_adjudication_like_the_command() {
    let s = Scratch::demo();
    s.write(
        "decide.jsonl",
        &format!(
            "{}\n",
            serde_json::json!({"incident": PULI_ALAM, "kind": "incident_adjudicated", "payload": {"killed": 30, "reason": "x"}})
        ),
    );
    let (code, _, err) = s.run(&["append", "decide.jsonl"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "error: decide.jsonl:1: field `payload.killed`, value \"30\": lies outside"
        ),
        "{err}"
    );
    s.write(
        "decide.jsonl",
        &format!(
            "{}\n",
            serde_json::json!({"incident": PULI_ALAM, "kind": "incident_adjudicated", "payload": {"killed": 9, "reason": "x", "wounded_best": 3}})
        ),
    );
    let (code, _, err) = s.run(&["append", "decide.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown field `wounded_best`"), "{err}");
    s.write(
        "decide.jsonl",
        &format!(
            "{}\n",
            serde_json::json!({"incident": PULI_ALAM, "kind": "incident_adjudicated", "payload": {"killed": 9, "reason": "x"}})
        ),
    );
    s.ok(&["append", "decide.jsonl"]);
    let log = s.ok(&["log", "--json"]);
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["schema_version"], 1);
    assert_eq!(best(&s, "median").0, 9);
    s.ok(&["verify"]);
}
