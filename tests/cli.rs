//! End-to-end tests of the commands that write and inspect the log.
#![allow(clippy::unwrap_used)]

mod common;

use common::{puli_alam, Scratch};

/// The scenario of `scenario_output_and_log`: (recorded time, arguments) of each step.
const SCENARIO: &[(&str, &[&str])] = &[
    ("2020-07-30T14:00:00Z", &["init"]),
    ("2020-07-30T14:00:00Z", &["init"]),
    (
        "2020-07-30T14:00:00Z",
        &[
            "report",
            "--incident",
            "2020-07-30-puli-alam",
            "--date",
            "2020-07-30",
            "--province",
            "Logar",
            "--district",
            "Puli Alam",
            "--category",
            "suicide car bombing",
            "--source",
            "AFP",
            "--published",
            "2020-07-30T13:00:00Z",
            "--killed",
            "17",
            "--wounded",
            "21",
        ],
    ),
    (
        "2020-07-30T16:00:00Z",
        &[
            "report",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "Ministry of Defense",
            "--killed",
            "8",
            "--wounded",
            "30",
        ],
    ),
    (
        "2020-07-31T09:00:00Z",
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "at-least:19",
            "--reason",
            "hospital figures",
        ],
    ),
    (
        "2020-07-31T10:00:00Z",
        &[
            "responsibility",
            "--incident",
            "2020-07-30-puli-alam",
            "--actor",
            "Taliban",
            "--source",
            "Taliban spokesman",
            "--denied",
        ],
    ),
    (
        "2020-07-31T11:00:00Z",
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
            "Pajhwok",
            "--killed",
            "9-12",
        ],
    ),
    (
        "2020-07-31T12:00:00Z",
        &[
            "merge",
            "2020-07-30-logar-car-bomb",
            "--into",
            "2020-07-30-puli-alam",
            "--reason",
            "same attack reported under another name",
        ],
    ),
    (
        "2020-07-31T13:00:00Z",
        &[
            "amend",
            "--incident",
            "2020-07-30-puli-alam",
            "--locality",
            "city market",
            "--reason",
            "AFP located it",
        ],
    ),
    ("2020-08-01T00:00:00Z", &["log"]),
    (
        "2020-08-01T00:00:00Z",
        &["log", "--incident", "2020-07-30-logar-car-bomb", "--json"],
    ),
    (
        "2020-08-01T00:00:00Z",
        &["log", "--kind", "casualties_corrected"],
    ),
    ("2020-08-01T00:00:00Z", &["verify"]),
];

#[test]
fn scenario_output_and_log() {
    let s = Scratch::empty();
    let mut transcript = String::new();
    for (now, args) in SCENARIO {
        let (code, out, err) = s.run_at(now, args);
        transcript.push_str(&format!(
            "$ chronicle {}\n{out}{err}[exit {code}]\n\n",
            args.join(" ")
        ));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn log_json_round_trips_into_another_log() {
    let s = Scratch::new();
    puli_alam(&s);
    let dump = s.dump();
    let copy = s.path("copy.db");
    let copy = copy.to_str().unwrap();
    s.ok(&["--db", copy, "init"]);
    let (code, out, _) = s.run_stdin(&["--db", copy, "append", "-"], &dump);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 appended, 0 already present"), "{out}");
    // Same events (ids, kinds, payloads), the copy's own hashes and batch record.
    let strip = |d: &str| {
        d.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let o = v.as_object_mut().unwrap();
                o.remove("hash");
                o.remove("recorded_at");
                // The copy's own write transactions: one `append`, not the `report`s.
                o.remove("batch");
                v.to_string()
            })
            .collect::<Vec<_>>()
    };
    let copied = s.ok(&["--db", copy, "log", "--json"]);
    assert_eq!(strip(&dump), strip(&copied));
    // Appending the same lines again is a no-op that says so.
    let (code, out, _) = s.run_stdin(&["--db", copy, "append", "-"], &dump);
    assert_eq!(code, 0);
    assert!(out.contains("0 appended, 4 already present"), "{out}");
    assert_eq!(s.ok(&["--db", copy, "log", "--json"]), copied);
}

/// Each validation rule: the message (snapshot), exit code 2, and the log unchanged.
#[test]
fn every_validation_rule_refuses_and_writes_nothing() {
    let s = Scratch::new();
    puli_alam(&s);
    s.ok(&[
        "report",
        "--incident",
        "dup",
        "--date",
        "2020-07-30",
        "--province",
        "Logar",
        "--category",
        "car bombing",
        "--source",
        "Pajhwok",
        "--killed",
        "9",
    ]);
    s.ok(&[
        "merge",
        "dup",
        "--into",
        "2020-07-30-puli-alam",
        "--reason",
        "same attack",
    ]);
    s.ok(&[
        "report",
        "--incident",
        "other",
        "--date",
        "2020-07-29",
        "--province",
        "Uruzgan",
        "--category",
        "IED",
        "--source",
        "AFP",
        "--killed",
        "3",
    ]);
    let first_id = s.dump().lines().next().unwrap().to_string();
    let first_id: serde_json::Value = serde_json::from_str(&first_id).unwrap();
    let first_id = first_id["id"].as_str().unwrap().to_string();
    s.ok(&["retract", &first_id, "--reason", "test retraction target"]);
    let retraction_id = {
        let d = s.dump();
        let last: serde_json::Value = serde_json::from_str(d.lines().last().unwrap()).unwrap();
        last["id"].as_str().unwrap().to_string()
    };
    // The retraction above retracted Puli Alam's first report: use `other` from here on.
    let before = s.dump();
    let cases: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
        ("unknown incident", vec!["report", "--incident", "nope", "--source", "AFP", "--killed", "1"], None),
        ("new incident without a date", vec!["report", "--incident", "nope", "--province", "Logar", "--category", "x", "--source", "AFP", "--killed", "1"], None),
        ("not a calendar date", vec!["report", "--incident", "nope", "--date", "2020-02-30", "--province", "Logar", "--category", "x", "--source", "AFP", "--killed", "1"], None),
        ("backwards range", vec!["report", "--incident", "other", "--source", "AFP", "--killed", "35-22"], None),
        ("not a count", vec!["report", "--incident", "other", "--source", "AFP", "--wounded", "dozens"], None),
        ("no figure", vec!["report", "--incident", "other", "--source", "AFP"], None),
        ("details on an existing incident", vec!["report", "--incident", "other", "--date", "2020-07-28", "--source", "AFP", "--killed", "3"], None),
        ("correction by a source that never reported", vec!["correct", "--incident", "other", "--source", "Reuters", "--killed", "4", "--reason", "r"], None),
        ("empty reason", vec!["correct", "--incident", "other", "--source", "AFP", "--killed", "4", "--reason", " "], None),
        ("stale expected version", vec!["report", "--incident", "other", "--source", "AFP", "--killed", "4", "--expect-version", "1"], None),
        ("report on a merged incident", vec!["report", "--incident", "dup", "--source", "AFP", "--killed", "4"], None),
        ("report on a retracted incident", vec!["report", "--incident", "2020-07-30-puli-alam", "--source", "AFP", "--killed", "4"], None),
        ("merge into itself", vec!["merge", "other", "--into", "other", "--reason", "r"], None),
        ("merge into a merged incident", vec!["merge", "other", "--into", "dup", "--reason", "r"], None),
        ("retract an unknown event", vec!["retract", "0000", "--reason", "r"], None),
        ("retract twice", vec!["retract", &first_id, "--reason", "again"], None),
        ("retract a retraction", vec!["retract", &retraction_id, "--reason", "undo"], None),
        ("amend nothing", vec!["amend", "--incident", "other", "--reason", "r"], None),
        ("bad latitude", vec!["amend", "--incident", "other", "--lat", "95", "--lon", "60", "--reason", "r"], None),
        ("control characters in a source", vec!["report", "--incident", "other", "--source", "AF\u{7}P", "--killed", "4"], None),
        ("negative count in JSON", vec!["append", "-"], Some("{\"incident\":\"other\",\"kind\":\"casualties_reported\",\"payload\":{\"source\":\"AFP\",\"killed\":-3}}\n")),
        ("misspelt field in JSON", vec!["append", "-"], Some("{\"incident\":\"other\",\"kind\":\"casualties_reported\",\"payload\":{\"source\":\"AFP\",\"kiled\":3}}\n")),
        ("unknown kind in JSON", vec!["append", "-"], Some("{\"incident\":\"other\",\"kind\":\"casualties\",\"payload\":{}}\n")),
        ("not JSON, third line", vec!["append", "-"], Some("{\"incident\":\"other\",\"kind\":\"casualties_reported\",\"payload\":{\"source\":\"AFP\",\"killed\":5}}\n\n{oops\n")),
        ("existing incident reported again", vec!["append", "-"], Some("{\"incident\":\"other\",\"kind\":\"incident_reported\",\"payload\":{\"date\":\"2020-07-29\",\"province\":\"Uruzgan\",\"category\":\"IED\"}}\n")),
        ("same id, other content", vec!["append", "-"], Some(&*Box::leak(format!("{{\"id\":\"{first_id}\",\"incident\":\"other\",\"kind\":\"casualties_reported\",\"payload\":{{\"source\":\"AFP\",\"killed\":5}}}}\n").into_boxed_str()))),
    ];
    let mut transcript = String::new();
    for (what, args, stdin) in cases {
        let (code, out, err) = match stdin {
            Some(input) => s.run_stdin(&args, input),
            None => s.run(&args),
        };
        assert_eq!(code, 2, "{what}: expected exit 2\n{out}{err}");
        assert_eq!(s.dump(), before, "{what}: the log changed");
        let err = err
            .replace(&first_id, "[FIRST_ID]")
            .replace(&retraction_id, "[RETRACTION_ID]");
        transcript.push_str(&format!("## {what}\n{out}{err}\n"));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn usage_errors_exit_2_and_missing_log_is_named() {
    let s = Scratch::empty();
    let (code, _, err) = s.run(&["log"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(err, @"error: [DIR]/events.db: no event log here; create one with `chronicle init` (or point --db / CHRONICLE_DB at an existing log)");
    let (code, _, _) = s.run(&["report", "--killed", "3"]);
    assert_eq!(code, 2);
    let (code, _, _) = s.run(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let s = Scratch::empty();
    let top = s.ok(&["--help"]);
    assert!(top.contains("Exit codes: 0 success; 2 bad input"), "{top}");
    for cmd in [
        "init",
        "append",
        "report",
        "correct",
        "amend",
        "responsibility",
        "retract",
        "merge",
        "log",
        "verify",
        "completions",
    ] {
        let help = s.ok(&[cmd, "--help"]);
        assert!(
            help.contains("Example"),
            "`{cmd} --help` has no example:\n{help}"
        );
    }
    let bash = s.ok(&["completions", "bash"]);
    assert!(bash.contains("chronicle"));
}

#[test]
fn init_never_clobbers_other_files() {
    let s = Scratch::empty();
    s.write("notes.txt", "my notes\n");
    let (code, _, err) = s.run(&["--db", "notes.txt", "init"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("not an SQLite database") && err.contains("refusing to overwrite"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(s.path("notes.txt")).unwrap(),
        "my notes\n"
    );
    // An empty file becomes a log.
    s.write("empty.db", "");
    s.ok(&["--db", "empty.db", "init"]);
    s.ok(&["--db", "empty.db", "verify"]);
}

#[test]
fn foreign_and_broken_files_get_clear_errors() {
    let s = Scratch::empty();
    let mut transcript = String::new();
    s.write("empty.db", "");
    s.write("random.db", &"\u{1}garbage\u{2}".repeat(500));
    {
        let conn = rusqlite::Connection::open(s.path("other.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('bread');",
        )
        .unwrap();
    }
    s.ok(&["--db", "newer.db", "init"]);
    {
        let conn = rusqlite::Connection::open(s.path("newer.db")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    s.ok(&["--db", "truncated.db", "init"]);
    puli_alam_into(&s, "truncated.db");
    {
        // Fold the WAL into the main file, then cut the file in half.
        let conn = rusqlite::Connection::open(s.path("truncated.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        drop(conn);
        let bytes = std::fs::read(s.path("truncated.db")).unwrap();
        std::fs::write(s.path("truncated.db"), &bytes[..bytes.len() / 2]).unwrap();
    }
    for name in [
        "empty.db",
        "random.db",
        "other.db",
        "newer.db",
        "truncated.db",
    ] {
        let before = std::fs::read(s.path(name)).unwrap();
        let (code, out, err) = s.run(&["--db", name, "verify"]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            std::fs::read(s.path(name)).unwrap(),
            before,
            "{name} was modified"
        );
        transcript.push_str(&format!("## {name}\n{out}{err}\n"));
    }
    insta::assert_snapshot!(transcript);
}

fn puli_alam_into(s: &Scratch, db: &str) {
    for args in [
        vec![
            "report",
            "--incident",
            "a",
            "--date",
            "2020-07-30",
            "--province",
            "Logar",
            "--category",
            "x",
            "--source",
            "AFP",
            "--killed",
            "17",
        ],
        vec![
            "report",
            "--incident",
            "a",
            "--source",
            "MoD",
            "--killed",
            "8",
        ],
    ] {
        let mut full = vec!["--db", db];
        full.extend(args);
        s.ok(&full);
    }
}

#[test]
fn province_names_are_normalised_and_unknown_ones_refused() {
    let s = Scratch::new();
    s.ok(&[
        "report",
        "--incident",
        "h",
        "--date",
        "2020-07-01",
        "--province",
        "Hilmand province",
        "--category",
        "IED",
        "--source",
        "UCDP",
        "--killed",
        "2",
    ]);
    let dump = s.dump();
    assert!(
        dump.contains(r#""province":"Helmand","province_as_given":"Hilmand province""#),
        "{dump}"
    );
    let (code, _, err) = s.run(&[
        "report",
        "--incident",
        "x",
        "--date",
        "2020-07-01",
        "--province",
        "Hilmandd",
        "--category",
        "IED",
        "--source",
        "UCDP",
        "--killed",
        "2",
    ]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(err, @r#"error: field `payload.province`, value "Hilmandd": unknown province "Hilmandd" in the Afghanistan gazetteer: did you mean Helmand (Hilmand)? Use a province name, alias or ISO 3166-2 code from the gazetteer, or pass --allow-unknown-place to record it as written."#);
    assert_eq!(s.dump(), dump);
    s.ok(&[
        "--allow-unknown-place",
        "report",
        "--incident",
        "x",
        "--date",
        "2020-07-01",
        "--province",
        "Hilmandd",
        "--category",
        "IED",
        "--source",
        "UCDP",
        "--killed",
        "2",
    ]);
    s.ok(&[
        "amend",
        "--incident",
        "h",
        "--province",
        "Paktya",
        "--reason",
        "moved",
    ]);
    assert!(s
        .dump()
        .contains(r#""province":"Paktia","province_as_given":"Paktya""#));
}

#[test]
fn resubmitting_an_event_whose_place_was_normalised_is_a_no_op() {
    let s = Scratch::new();
    let line = "{\"id\":\"x1\",\"incident\":\"a\",\"kind\":\"incident_reported\",\"payload\":{\"date\":\"2020-07-01\",\"province\":\"Hilmand province\",\"category\":\"IED\"}}\n";
    let (code, _, err) = s.run_stdin(&["append", "-"], line);
    assert_eq!(code, 0, "{err}");
    let dump = s.dump();
    let (code, out, err) = s.run_stdin(&["append", "-"], line);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("already in the log: event x1 at seq 1"),
        "{out}"
    );
    assert_eq!(s.dump(), dump);
}

#[test]
fn a_large_batch_is_summarised_not_listed() {
    let s = Scratch::new();
    let lines: String = (0..50)
        .map(|i| format!("{{\"incident\":\"i{i}\",\"kind\":\"incident_reported\",\"payload\":{{\"date\":\"2020-07-01\",\"province\":\"Kabul\",\"category\":\"IED\"}}}}\n"))
        .collect();
    let (code, out, err) = s.run_stdin(&["append", "-"], &lines);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 22, "{out}");
    assert!(
        out.contains("... and 30 more (see `chronicle log --since SEQ`)"),
        "{out}"
    );
    assert!(
        out.ends_with("50 appended, 0 already present; the log now ends at seq 50\n"),
        "{out}"
    );
}

/// The commands whose output is worth piping into `head`.
const PIPED: &[&[&str]] = &[
    &["export"],
    &["timeline"],
    &["log"],
    &["log", "--json"],
    &["summary"],
    &["verify"],
    &["completions", "bash"],
];

/// Runs chronicle with its standard output on a pipe whose reader has already gone (so its
/// first write fails with a broken pipe, whatever the size of the output); returns the exit
/// code and standard error.
#[cfg(unix)]
fn into_closed_pipe(s: &Scratch, args: &[&str]) -> (i32, String) {
    use std::process::Stdio;
    // `true` exits without reading: once it has, the pipe has a writer and no reader.
    let mut reader = std::process::Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    let out = s
        .std_cmd_at("2020-07-31T08:00:00Z", args)
        .stdout(pipe)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let (code, _, err) = s.run_output(out);
    (code, err)
}

/// Runs chronicle as `chronicle ARGS | head -c 5` would: reads five bytes of its output, then
/// closes the pipe; returns the bytes read, the exit code and standard error.
fn into_head(s: &Scratch, args: &[&str]) -> (Vec<u8>, i32, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = s
        .std_cmd_at("2020-07-31T08:00:00Z", args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = vec![0u8; 5];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let (code, _, err) = s.run_output(child.wait_with_output().unwrap());
    (head, code, err)
}

#[test]
#[cfg(unix)]
fn a_reader_gone_before_the_output_is_not_an_error() {
    let s = Scratch::demo();
    for args in PIPED {
        let (code, err) = into_closed_pipe(&s, args);
        assert_eq!((code, err.as_str()), (0, ""), "chronicle {args:?}");
    }
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    let s = Scratch::demo();
    for args in PIPED {
        let full = s.std_cmd_at("2020-07-31T08:00:00Z", args).output().unwrap();
        let (head, code, err) = into_head(&s, args);
        assert_eq!(head, full.stdout[..5], "chronicle {args:?}");
        assert_eq!((code, err.as_str()), (0, ""), "chronicle {args:?}");
    }
}

#[test]
#[cfg(unix)]
fn other_write_errors_still_fail() {
    // A full device is an error (exit 1, with a message), unlike a reader that stopped.
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let s = Scratch::demo();
    for args in [&["export"][..], &["log"], &["timeline"]] {
        let out = s
            .std_cmd_at("2020-07-31T08:00:00Z", args)
            .stdout(std::fs::File::create(full).unwrap())
            .output()
            .unwrap();
        let (code, _, err) = s.run_output(out);
        assert_eq!(code, 1, "chronicle {args:?}: {err}");
        assert!(
            err.contains("No space left on device"),
            "chronicle {args:?}: {err}"
        );
    }
}

#[test]
#[cfg(unix)]
fn verify_fails_a_broken_log_even_when_its_reader_stops() {
    // The exit code is verify's verdict: `chronicle verify | head -1` must not hide it.
    // (The trigger is dropped in the file: an SQLite log on any backend.)
    let s = Scratch::demo_sqlite();
    rusqlite::Connection::open(s.db())
        .unwrap()
        .execute_batch("DROP TRIGGER events_no_update;")
        .unwrap();
    assert_eq!(s.run(&["verify"]).0, 1);
    assert_eq!(into_closed_pipe(&s, &["verify"]), (1, String::new()));
}
/// A citation is a link a reader will click: `javascript:`, `data:` and every scheme but
/// http, https and doi are refused at append (exit 2, naming the field and the schemes),
/// whichever command or JSON field carries it, and nothing is written. Links with those
/// schemes, and citations in words as the datasets give them, are accepted.
#[test]
fn citations_with_other_schemes_are_refused() {
    let s = Scratch::new();
    puli_alam(&s);
    let before = s.dump();
    let js = "javascript:alert(3)";
    let cases: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
        ("report", vec!["report", "--incident", "2020-07-30-puli-alam", "--source", "Reuters", "--killed", "9", "--citation", js], None),
        ("new incident", vec!["report", "--incident", "new", "--date", "2020-07-30", "--province", "Logar", "--category", "IED", "--source", "AFP", "--killed", "1", "--citation", "data:text/html,<script>alert(1)</script>"], None),
        ("correct", vec!["correct", "--incident", "2020-07-30-puli-alam", "--source", "AFP", "--killed", "18", "--reason", "r", "--citation", "JavaScript:alert(3)"], None),
        ("responsibility", vec!["responsibility", "--incident", "2020-07-30-puli-alam", "--actor", "Taliban", "--source", "AFP", "--claimed", "--citation", "vbscript:msgbox(1)"], None),
        ("malformed https", vec!["report", "--incident", "2020-07-30-puli-alam", "--source", "Reuters", "--killed", "9", "--citation", "https://"], None),
        ("details in JSON", vec!["append", "-"], Some("{\"incident\":\"json\",\"kind\":\"incident_reported\",\"payload\":{\"date\":\"2020-07-29\",\"province\":\"Uruzgan\",\"category\":\"IED\",\"citation\":\"file:///etc/passwd\"}}\n")),
        ("report in JSON, tab inside the scheme", vec!["append", "-"], Some("{\"incident\":\"2020-07-30-puli-alam\",\"kind\":\"casualties_reported\",\"payload\":{\"source\":\"AFP\",\"killed\":3,\"citation\":\"java\\tscript:alert(3)\"}}\n")),
    ];
    let mut transcript = String::new();
    for (what, args, stdin) in cases {
        let (code, out, err) = match stdin {
            Some(input) => s.run_stdin(&args, input),
            None => s.run(&args),
        };
        assert_eq!(code, 2, "{what}: expected exit 2\n{out}{err}");
        assert!(
            err.contains("payload.citation") && err.contains("http, https, doi"),
            "{what}: {err}"
        );
        assert_eq!(s.dump(), before, "{what}: the log changed");
        transcript.push_str(&format!("## {what}\n{out}{err}\n"));
    }
    insta::assert_snapshot!(transcript);

    for citation in [
        "https://www.afp.com/en/news/1",
        "http://example.org/report?id=3",
        "doi:10.1000/182",
        "Pajhwok, Kabul; TOLO News",
        "Wikipedia: July 2020 Afghanistan attacks",
    ] {
        s.ok(&[
            "report",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "Reuters",
            "--killed",
            "9",
            "--citation",
            citation,
        ]);
    }
}
