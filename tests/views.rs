//! End-to-end tests of the view commands on the July 2020 fixture, with a correction, a
//! retraction and a merge of a duplicate added through the CLI at fixed times.
#![allow(clippy::unwrap_used)]

mod common;

use common::Scratch;

fn scenario() -> Scratch {
    scenario_in(Scratch::new())
}

fn scenario_in(s: Scratch) -> Scratch {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/july-2020.jsonl");
    s.ok_at(
        "2020-08-01T10:00:00Z",
        &["append", fixture.to_str().unwrap()],
    );
    s.ok_at(
        "2020-08-02T10:00:00Z",
        &[
            "report",
            "--incident",
            "2020-07-30-logar-car-bomb",
            "--date",
            "2020-07-30",
            "--province",
            "Logar",
            "--category",
            "car bombing",
            "--source",
            "Local partner",
            "--published",
            "2020-07-30T20:00:00Z",
            "--killed",
            "at-least:15",
            "--wounded",
            "22-35",
        ],
    );
    s.ok_at(
        "2020-08-03T10:00:00Z",
        &[
            "merge",
            "2020-07-30-logar-car-bomb",
            "--into",
            "2020-07-30-puli-alam",
            "--reason",
            "same attack",
        ],
    );
    s.ok_at(
        "2020-08-04T10:00:00Z",
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "19",
            "--published",
            "2020-07-31",
            "--reason",
            "AFP raised its toll",
        ],
    );
    s
}

#[test]
fn view_commands_transcript() {
    let s = scenario();
    let mut transcript = String::new();
    for args in [
        &["timeline"][..],
        &["timeline", "--province", "Logar", "--as-of", "2020-08-01"],
        &["show", "2020-07-30-puli-alam"],
        &[
            "show",
            "2020-07-30-puli-alam",
            "--known-by",
            "2020-07-30",
            "--best",
            "max",
        ],
        &["summary", "--by", "province"],
        &["summary", "--by", "month", "--at-seq", "10"],
        &["sources"],
        &[
            "audit",
            "--province",
            "Kunduz",
            "--from",
            "2020-07-01",
            "--to",
            "2020-07-31",
            "--killed",
            "14",
        ],
        &["history", "2020-07-30-puli-alam"],
        &[
            "diff",
            "--from",
            "2020-08-01",
            "--to",
            "head",
            "--province",
            "Logar",
        ],
        &["rebuild"],
        &["show", "nowhere"],
        &["summary", "--by", "district"],
        &["show", "2020-07-30-puli-alam", "--best", "mean"],
        &["timeline", "--at-seq", "999"],
    ] {
        let (code, out, err) = s.run(args);
        transcript.push_str(&format!(
            "$ chronicle {}\n{out}{err}[exit {code}]\n\n",
            args.join(" ")
        ));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn json_outputs_have_the_documented_shape() {
    let s = scenario();
    let show: serde_json::Value =
        serde_json::from_str(&s.ok(&["show", "2020-07-30-puli-alam", "--json"])).unwrap();
    for key in [
        "incident",
        "date",
        "province",
        "district",
        "category",
        "killed",
        "wounded",
        "disputed",
        "sources",
        "responsibility",
    ] {
        assert!(show.get(key).is_some(), "show --json lacks {key}");
    }
    assert_eq!(
        show["killed"],
        serde_json::json!({"low": 8, "best": 15, "high": 19, "open_high": false})
    );
    assert_eq!(show["sources"][0]["source"], "AFP");
    assert!(show["sources"][0]["event_seq"].is_u64());
    let timeline: Vec<serde_json::Value> =
        serde_json::from_str(&s.ok(&["timeline", "--json"])).unwrap();
    assert_eq!(
        timeline
            .iter()
            .find(|i| i["incident"] == "2020-07-30-puli-alam")
            .unwrap(),
        &show
    );
    let summary: Vec<serde_json::Value> =
        serde_json::from_str(&s.ok(&["summary", "--json", "--province", "Kunduz"])).unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["key"], "Kunduz");
    assert_eq!(summary[0]["incidents"], 2);
    assert_eq!(
        summary[0]["killed"],
        serde_json::json!({"low": 27, "best": 27, "high": 27, "open_high": true})
    );
    let audit: serde_json::Value = serde_json::from_str(&s.ok(&[
        "audit",
        "--json",
        "--province",
        "Kunduz",
        "--from",
        "2020-07-01",
        "--to",
        "2020-07-31",
        "--killed",
        "14",
    ]))
    .unwrap();
    assert_eq!(audit["verdict"], "below");
    assert_eq!(audit["supported"]["low"], 27);
    assert_eq!(audit["incidents"].as_array().unwrap().len(), 2);
    let export: serde_json::Value =
        serde_json::from_str(&s.ok(&["export", "--province", "Logar"])).unwrap();
    assert_eq!(export["schema"], "chronicle.views/1");
    assert_eq!(
        export["provenance"]["point"],
        serde_json::json!({"kind": "head", "value": null})
    );
    assert_eq!(
        export["provenance"]["filters"],
        serde_json::json!({"province": "Logar"})
    );
    assert_eq!(export["incidents"][0], show);
}

#[test]
fn views_in_sqlite_match_the_command_output() {
    // Read with rusqlite: an SQLite log on any backend.
    let s = scenario_in(Scratch::new_sqlite());
    let conn = rusqlite::Connection::open(s.db()).unwrap();
    let (low, best, high): (i64, i64, i64) = conn
        .query_row(
            "SELECT killed_low, killed_best, killed_high FROM view_incidents WHERE incident = '2020-07-30-puli-alam'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((low, best, high), (8, 15, 19));
    let checkpoint: String = conn
        .query_row(
            "SELECT value FROM views_meta WHERE key = 'checkpoint_seq'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let head: i64 = conn
        .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(checkpoint, head.to_string());
}
