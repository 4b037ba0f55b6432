//! Issue 12, the write side of "reads that never mislead": a correction shows its own
//! publication time and its reason, implausible writes are refused unless forced, negative
//! counts are refused by name, the help can be copied and pasted, the global options are
//! global, and bad input exits with 2 everywhere.
#![allow(clippy::unwrap_used)]

mod common;

use common::{puli_alam, Scratch};

/// Runs each command and writes `$ chronicle ARGS`, its exit code and its output.
fn transcript(s: &Scratch, now: &str, commands: &[&[&str]]) -> String {
    let mut out = String::new();
    for args in commands {
        let (code, stdout, stderr) = s.run_at(now, args);
        out.push_str(&format!(
            "$ chronicle {}\n[exit {code}]\n{stdout}{stderr}\n",
            args.join(" ")
        ));
    }
    out
}

/// The Puli Alam scenario, then AFP's correction to 19 killed recorded on 2 August, with no
/// published time.
fn corrected() -> Scratch {
    let s = Scratch::new();
    puli_alam(&s);
    s.ok_at(
        "2020-08-02T09:00:00Z",
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "19",
            "--reason",
            "AFP raised its toll as hospitals reported",
        ],
    );
    s
}

#[test]
fn a_correction_shows_its_own_publication_time_and_its_reason() {
    let s = corrected();
    let show = s.ok(&["show", "2020-07-30-puli-alam", "--width", "100"]);
    // Not "30 July 2020 13:00", the publication of the report it corrects.
    let afp = show.lines().find(|l| l.starts_with("AFP")).unwrap();
    assert!(afp.contains("unknown") && afp.contains("19"), "{show}");
    assert!(show.contains("AFP corrected (seq 5): AFP raised its toll as hospitals reported"));
    insta::assert_snapshot!("correction_show", show);
    // Known by 31 July: the correction, with no published time, counts from its recorded
    // time (2 August), so AFP's figure then is still the report's.
    let known = |t: &str| {
        let out = s.ok(&["show", "2020-07-30-puli-alam", "--known-by", t]);
        out.lines()
            .find(|l| l.starts_with("AFP"))
            .unwrap()
            .to_owned()
    };
    assert!(known("2020-07-31").contains("30 July 2020 13:00"));
    assert!(known("2020-07-31").contains("17"));
    assert!(known("2020-08-02").contains("unknown"));
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["show", "2020-07-30-puli-alam", "--json"])).unwrap();
    let afp = &json["sources"][0];
    assert_eq!(afp["published"], serde_json::Value::Null);
    assert_eq!(afp["reason"], "AFP raised its toll as hospitals reported");
    assert_eq!(afp["corrected"], true);
}

#[test]
fn a_correction_with_a_published_time_shows_that_time() {
    let s = corrected();
    s.ok_at(
        "2020-08-03T09:00:00Z",
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "20",
            "--published",
            "2020-08-03T08:00:00Z",
            "--reason",
            "one more death in hospital",
        ],
    );
    let show = s.ok(&["show", "2020-07-30-puli-alam", "--width", "100"]);
    let afp = show.lines().find(|l| l.starts_with("AFP")).unwrap();
    assert!(afp.contains("3 August 2020 08:00"), "{show}");
    assert!(show.contains("AFP corrected (seq 6): one more death in hospital"));
}

#[test]
fn implausible_writes_are_refused_unless_forced() {
    let s = Scratch::new();
    puli_alam(&s);
    let before = s.dump();
    let now = "2020-07-31T08:00:00Z";
    let opening = |id: &'static str, date: &'static str| -> Vec<&'static str> {
        vec![
            "report",
            "--incident",
            id,
            "--date",
            date,
            "--province",
            "Logar",
            "--category",
            "roadside bombing",
            "--source",
            "AFP",
            "--killed",
            "3",
        ]
    };
    let future_id = opening("2020-07-31-logar", "2020-08-15");
    let ancient = opening("1820-07-31-logar", "1820-07-31");
    let capitals = opening("2020-07-31 Logar Bomb", "2020-07-31");
    let published = [
        "correct",
        "--incident",
        "2020-07-30-puli-alam",
        "--source",
        "AFP",
        "--killed",
        "19",
        "--published",
        "2020-08-30",
        "--reason",
        "r",
    ];
    let amend = [
        "amend",
        "--incident",
        "2020-07-30-puli-alam",
        "--date",
        "2021-07-30",
        "--reason",
        "r",
    ];
    let t = transcript(
        &s,
        now,
        &[&future_id, &ancient, &capitals, &published, &amend],
    );
    insta::assert_snapshot!("implausible_refusals", t);
    assert_eq!(t.matches("[exit 2]").count(), 5, "{t}");
    s.write(
        "lines.jsonl",
        r#"{"incident": "Logar/2020", "kind": "incident_reported", "payload": {"date": "2020-07-30", "province": "Logar", "category": "x"}}
"#,
    );
    let (code, _, err) = s.run_at(now, &["append", "lines.jsonl"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("lines.jsonl:1: field `incident`, value \"Logar/2020\": is not a slug"),
        "{err}"
    );
    assert_eq!(s.dump(), before, "a refused write changed the log");
    // Forced, before or after the subcommand.
    let mut forced = vec!["--allow-implausible"];
    forced.extend(&ancient);
    s.ok_at(now, &forced);
    let mut forced = published.to_vec();
    forced.push("--allow-implausible");
    s.ok_at(now, &forced);
    // Ids the importers make (`acled-` and the dataset's key) stay valid, so that an
    // imported log can be copied with `append`.
    s.write(
        "acled.jsonl",
        r#"{"incident": "acled-AFG123", "kind": "incident_reported", "payload": {"date": "2020-07-30", "province": "Logar", "category": "x"}}
"#,
    );
    s.ok_at(now, &["append", "acled.jsonl"]);
}

#[test]
fn negative_counts_are_refused_by_name() {
    let s = Scratch::new();
    puli_alam(&s);
    let before = s.dump();
    let correct = |figure: &'static str| -> Vec<&'static str> {
        vec![
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            figure,
            "--reason",
            "r",
        ]
    };
    let mut spaced = correct("--killed");
    spaced.insert(6, "-3");
    let mut wounded = correct("--wounded");
    wounded.insert(6, "-1");
    let t = transcript(
        &s,
        "2020-07-31T08:00:00Z",
        &[&spaced, &correct("--killed=-3"), &wounded],
    );
    insta::assert_snapshot!("negative_counts", t);
    assert_eq!(t.matches("[exit 2]").count(), 3, "{t}");
    let (code, _, err) = s.run_stdin(
        &["append", "-"],
        r#"{"incident": "2020-07-30-puli-alam", "kind": "casualties_corrected", "payload": {"source": "AFP", "killed": -3, "reason": "r"}}"#,
    );
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: -:1: field `payload.killed`: -3 is negative, and a count cannot be negative; a figure is a count (`17`), a lower bound (`at-least:14`), a range (`22-35`, or `22-35~30` with a best estimate) or a coded value (`coded:3`: the toll is unknown and coded as 3)\n"
    );
    assert_eq!(s.dump(), before);
}

/// `chronicle ARGS --help` without `CHRONICLE_DB` in the environment.
fn help(s: &Scratch, args: &[&str]) -> String {
    let out = s
        .cmd(args)
        .arg("--help")
        .env_remove("CHRONICLE_DB")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_examples_can_be_pasted_and_options_are_listed_where_they_act() {
    let s = Scratch::new();
    for cmd in [
        "append",
        "report",
        "correct",
        "amend",
        "responsibility",
        "retract",
        "merge",
        "import",
        "log",
        "verify",
        "show",
        "timeline",
        "summary",
        "export",
        "audit",
        "diff",
    ] {
        let text = help(&s, &[cmd]);
        let examples = text
            .split_once("Example")
            .map_or("", |(_, e)| e)
            .lines()
            .skip(1)
            .collect::<Vec<_>>();
        for pair in examples.windows(2) {
            // An indented line that is not a command continues the one before it.
            if pair[1].starts_with("  ") && !pair[1].starts_with("  chronicle ") {
                assert!(
                    pair[0].ends_with('\\'),
                    "`{cmd} --help`: an example goes on without a backslash:\n{text}"
                );
            }
        }
        assert!(!text.contains("[env: CHRONICLE_DB=]"), "{text}");
    }
    let report = help(&s, &["report"]);
    assert!(report.contains("[env: CHRONICLE_DB]"));
    assert!(report.contains("--allow-implausible"));
    assert!(!report.contains("--plugin-dir"));
    let show = help(&s, &["show"]);
    assert!(!show.contains("--allow-implausible") && !show.contains("--plugin-dir"));
    assert!(help(&s, &["export"]).contains("--plugin-dir"));
    assert!(help(&s, &["plugins", "list"]).contains("--plugin-dir"));
    let completions = help(&s, &["completions"]);
    insta::assert_snapshot!("completions_help", completions);
    // With the variable set, its value is shown; a connection string's is not (it may hold
    // a password).
    let set = s.cmd(&["report", "--help"]).output().unwrap();
    let set = String::from_utf8(set.stdout).unwrap();
    let shown = if s.pg.is_some() {
        "[env: CHRONICLE_DB]"
    } else {
        "[env: CHRONICLE_DB="
    };
    assert!(set.contains(shown), "{set}");
}

#[test]
fn global_options_are_accepted_before_the_subcommand() {
    let s = Scratch::new();
    puli_alam(&s);
    let dir = s.path("plugins");
    std::fs::create_dir(&dir).unwrap();
    let dir = dir.to_str().unwrap();
    for args in [
        vec!["--plugin-dir", dir, "plugins", "list"],
        vec!["--trust-plugin-dir", "--plugin-dir", dir, "plugins", "list"],
        vec!["--plugin-dir", dir, "export", "--format", "json"],
        vec!["plugins", "list", "--plugin-dir", dir],
        vec!["export", "--plugin-dir", dir],
        vec![
            "--quiet",
            "--db",
            "events.db",
            "show",
            "2020-07-30-puli-alam",
        ],
    ] {
        s.ok(&args);
    }
}

#[test]
fn missing_input_files_are_bad_input() {
    let s = Scratch::new();
    let t = transcript(
        &s,
        "2020-07-31T08:00:00Z",
        &[
            &["append", "no-such.jsonl"],
            &["append", "."],
            &["import", "--from", "acled", "no-such.csv"],
            &[
                "import",
                "--from",
                "acled",
                "--deleted",
                "no-such-deleted.csv",
            ],
            &["plugins", "check", "no-such.so"],
            &["--plugin-dir", "no-such-dir", "plugins", "list"],
        ],
    );
    insta::assert_snapshot!("missing_inputs", t);
    assert_eq!(t.matches("[exit 2]").count(), 6, "{t}");
}
