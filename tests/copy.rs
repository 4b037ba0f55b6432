//! Faithful copies and backups: `copy --to DEST` (with `--since SEQ`), and the JSON Lines
//! route `log --json --provenance` / `append --restore`. A copy keeps every event as it was
//! recorded, so its head checkpoint is the source's and `verify --checkpoint` holds on it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{puli_alam, Scratch};

/// The demo head: the checkpoint the README quotes.
const DEMO_HEAD: &str = "56:44d2d20efad334a77b89eba45161edc4b981e027423ac5dfc73e093c44a09deb";

/// Runs against the log at `db` (a file of the scratch dir, or on PostgreSQL a database
/// standing for it: see `Scratch::log`; so are the `*.db` names in `args`).
fn on(s: &Scratch, db: &str, args: &[&str]) -> (i32, String, String) {
    let path = s.log(db);
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if s.pg.is_some() && a.ends_with(".db") && !a.contains('/') {
                s.log(a).to_str().unwrap().to_string()
            } else {
                (*a).to_string()
            }
        })
        .collect();
    let mut all = vec!["--db", path.to_str().unwrap()];
    all.extend(args.iter().map(String::as_str));
    let (code, out, err) = s.run(&all);
    (code, s.name_logs(&out, db), s.name_logs(&err, db))
}

fn ok_on(s: &Scratch, db: &str, args: &[&str]) -> String {
    let (code, out, err) = on(s, db, args);
    assert_eq!(
        code, 0,
        "chronicle --db {db} {args:?} failed:\n{out}\n{err}"
    );
    out
}

fn head_of(s: &Scratch, db: &str) -> String {
    ok_on(s, db, &["verify"])
        .lines()
        .find_map(|l| l.strip_prefix("head checkpoint "))
        .unwrap()
        .to_string()
}

/// What a reader sees of a log: its events, its views at the head and in the past.
fn seen(s: &Scratch, db: &str) -> Vec<String> {
    [
        &["log", "--json"][..],
        &["timeline", "--json"],
        &["timeline", "--as-of", "2020-07-31", "--json"],
        &["timeline", "--as-of", "2026-11-26", "--json"],
        &["summary", "--by", "province"],
        &["export"],
    ]
    .iter()
    .map(|args| ok_on(s, db, args))
    .collect()
}

/// A log holds exactly the source's history when its chain verifies against the source's
/// head checkpoint and every read of it is the same.
fn assert_same_log(s: &Scratch, copy: &str, source: &str) {
    let head = head_of(s, source);
    let verified = ok_on(s, copy, &["verify", "--checkpoint", &head]);
    assert!(verified.contains("the log still extends it"), "{verified}");
    assert_eq!(head_of(s, copy), head);
    assert_eq!(seen(s, copy), seen(s, source));
}

#[test]
fn a_copy_of_a_copy_of_the_demo_log_is_the_demo_log() {
    let s = Scratch::demo();
    let first = ok_on(&s, "events.db", &["copy", "--to", "a.db"]);
    let second = ok_on(&s, "a.db", &["copy", "--to", "b.db"]);
    insta::assert_snapshot!(format!("{first}{second}"), @r"
    copied 56 events (seq 1..56) from [DIR]/events.db to a.db
    head checkpoint 56:44d2d20efad334a77b89eba45161edc4b981e027423ac5dfc73e093c44a09deb
    copied 56 events (seq 1..56) from [DIR]/a.db to b.db
    head checkpoint 56:44d2d20efad334a77b89eba45161edc4b981e027423ac5dfc73e093c44a09deb
    ");
    assert_eq!(head_of(&s, "b.db"), DEMO_HEAD);
    assert_same_log(&s, "b.db", "events.db");
    // Not an empty answer that happens to match: the past of the copy has incidents in it.
    let past = ok_on(&s, "b.db", &["timeline", "--as-of", "2026-11-26", "--json"]);
    assert!(past.contains("2020-07-30-puli-alam"), "{past}");
}

#[test]
fn a_copy_into_an_empty_file_keeps_its_views_equal_to_a_rebuild() {
    let s = Scratch::demo();
    std::fs::write(s.path("empty.db"), b"").unwrap();
    ok_on(&s, "events.db", &["copy", "--to", "empty.db"]);
    let before = seen(&s, "empty.db");
    ok_on(&s, "empty.db", &["rebuild"]);
    assert_eq!(seen(&s, "empty.db"), before);
    assert_same_log(&s, "empty.db", "events.db");
}

#[test]
fn since_copies_the_tail_onto_a_backup_that_holds_the_head() {
    let s = Scratch::demo();
    ok_on(&s, "events.db", &["copy", "--to", "backup.db"]);
    // The source grows, at another time and by another recorder.
    s.ok_at(
        "2026-12-01T09:00:00Z",
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "19",
            "--reason",
            "a later toll",
            "--by",
            "night editor",
        ],
    );
    s.ok_at(
        "2026-12-02T09:00:00Z",
        &[
            "amend",
            "--incident",
            "2020-07-30-puli-alam",
            "--locality",
            "city centre",
            "--reason",
            "place confirmed",
        ],
    );
    let incremental = ok_on(
        &s,
        "events.db",
        &["copy", "--to", "backup.db", "--since", "56"],
    );
    let head = head_of(&s, "events.db");
    assert_eq!(
        incremental,
        format!("copied 2 events (seq 57..58) from [DIR]/events.db to backup.db, continuing {DEMO_HEAD}\nhead checkpoint {head}\n")
    );
    assert_same_log(&s, "backup.db", "events.db");
    // Run again, nothing is left to copy.
    let again = ok_on(
        &s,
        "events.db",
        &["copy", "--to", "backup.db", "--since", "58"],
    );
    assert_eq!(
        again,
        format!("copied 0 events from [DIR]/events.db to backup.db\nhead checkpoint {head}\n")
    );
    // And the whole copied at once equals the head copied, then the tail.
    ok_on(&s, "events.db", &["copy", "--to", "whole.db"]);
    assert_eq!(seen(&s, "whole.db"), seen(&s, "backup.db"));
}

#[test]
fn the_json_lines_route_restores_the_same_log() {
    let s = Scratch::demo();
    let lines = ok_on(&s, "events.db", &["log", "--json", "--provenance"]);
    s.write("backup.jsonl", &lines);
    ok_on(&s, "restored.db", &["init"]);
    let restored = ok_on(&s, "restored.db", &["append", "--restore", "backup.jsonl"]);
    insta::assert_snapshot!(restored, @r"
    restored 56 events (seq 1..56) from backup.jsonl into [DIR]/restored.db
    head checkpoint 56:44d2d20efad334a77b89eba45161edc4b981e027423ac5dfc73e093c44a09deb
    ");
    assert_same_log(&s, "restored.db", "events.db");
    // The restored log writes the same lines back.
    assert_eq!(
        ok_on(&s, "restored.db", &["log", "--json", "--provenance"]),
        lines
    );

    // An incremental backup through JSON Lines: the tail after the head kept.
    s.ok_at(
        "2026-12-01T09:00:00Z",
        &[
            "retract",
            "01a21386-2e35-7081-9c2f-f4bb689841c0",
            "--reason",
            "entered in error",
        ],
    );
    let tail = ok_on(
        &s,
        "events.db",
        &["log", "--json", "--provenance", "--since", "56"],
    );
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(
        tail.contains(&format!("\"prev_hash\":\"{}\"", &DEMO_HEAD[3..])),
        "{tail}"
    );
    s.write("tail.jsonl", &tail);
    ok_on(&s, "restored.db", &["append", "--restore", "tail.jsonl"]);
    assert_same_log(&s, "restored.db", "events.db");
}

#[test]
fn a_provenance_line_is_a_log_line_with_the_hash_before_it() {
    let s = Scratch::demo();
    let plain = ok_on(&s, "events.db", &["log", "--json"]);
    let provenance = ok_on(&s, "events.db", &["log", "--json", "--provenance"]);
    let mut prev = "0".repeat(64);
    for (p, q) in plain.lines().zip(provenance.lines()) {
        let line: serde_json::Value = serde_json::from_str(p).unwrap();
        let hash = line["hash"].as_str().unwrap().to_string();
        // The hash is followed by the seal's fields in an event of the log format 2.
        let (before, after) = p.split_once(&format!(",\"hash\":\"{hash}\"")).unwrap();
        let expected = format!("{before},\"prev_hash\":\"{prev}\",\"hash\":\"{hash}\"{after}");
        assert_eq!(q, expected);
        prev = hash;
    }
    assert_eq!(plain.lines().count(), provenance.lines().count());
    // `append` (without --restore) still reads such a line as a new event to record.
    let s2 = Scratch::new();
    s2.write("first.jsonl", provenance.lines().next().unwrap());
    let out = s2.ok(&["append", "first.jsonl"]);
    assert!(
        out.starts_with("appended seq 1: incident_reported"),
        "{out}"
    );
    assert_ne!(s2.dump(), plain.lines().next().unwrap().to_string() + "\n");
}

/// The demo log, a copy of it, another log, a text file, an empty log, and the files the
/// refused restores read.
fn refusal_fixtures() -> Scratch {
    let s = Scratch::demo();
    ok_on(&s, "events.db", &["copy", "--to", "backup.db"]);
    let other = Scratch::new();
    puli_alam(&other);
    if s.pg.is_some() {
        // Another log on the server: the same events, copied.
        let to = s.log("other.db");
        other.ok(&["copy", "--to", to.to_str().unwrap()]);
    } else {
        std::fs::copy(other.db(), s.path("other.db")).unwrap();
    }
    s.write("notes.txt", "not a log\n");
    let lines = ok_on(&s, "events.db", &["log", "--json", "--provenance"]);
    s.write("backup.jsonl", &lines);
    let all: Vec<&str> = lines.lines().collect();
    s.write("gap.jsonl", &format!("{}\n{}\n", all[0], all[2]));
    let tampered = all[4].replace("chronicle-maintainers", "someone else");
    assert_ne!(tampered, all[4]);
    s.write(
        "tampered.jsonl",
        &format!(
            "{}\n{}\n{}\n{}\n{tampered}\n",
            all[0], all[1], all[2], all[3]
        ),
    );
    s.write("tail.jsonl", &format!("{}\n", all[37]));
    let plain = ok_on(&s, "events.db", &["log", "--json"]);
    s.write("plain.jsonl", &plain);
    ok_on(&s, "fresh.db", &["init"]);
    s
}

/// The refused commands: what, the log, the command, the exit code (2 bad input, 1 a
/// file that is not a log).
const REFUSALS: &[(&str, &str, &[&str], i32)] = &[
    (
        "a copy into a copy that holds the head",
        "events.db",
        &["copy", "--to", "backup.db"],
        2,
    ),
    (
        "a copy into another log",
        "events.db",
        &["copy", "--to", "other.db"],
        2,
    ),
    (
        "a copy into a file that is not a log",
        "events.db",
        &["copy", "--to", "notes.txt"],
        1,
    ),
    (
        "--since onto a copy that ends elsewhere",
        "events.db",
        &["copy", "--to", "backup.db", "--since", "30"],
        2,
    ),
    (
        "--since onto another log",
        "events.db",
        &["copy", "--to", "other.db", "--since", "3"],
        2,
    ),
    (
        "--since beyond the source",
        "events.db",
        &["copy", "--to", "backup.db", "--since", "99"],
        2,
    ),
    (
        "--since 0 onto a log that is not empty",
        "events.db",
        &["copy", "--to", "backup.db", "--since", "0"],
        2,
    ),
    (
        "a restore onto a log that holds it already",
        "backup.db",
        &["append", "--restore", "backup.jsonl"],
        2,
    ),
    (
        "a restore onto another log",
        "other.db",
        &["append", "--restore", "backup.jsonl"],
        2,
    ),
    (
        "a tail restored onto an empty log",
        "fresh.db",
        &["append", "--restore", "tail.jsonl"],
        2,
    ),
    (
        "a restore with a gap",
        "fresh.db",
        &["append", "--restore", "gap.jsonl"],
        2,
    ),
    (
        "a restore of a tampered line",
        "fresh.db",
        &["append", "--restore", "tampered.jsonl"],
        2,
    ),
    (
        "a restore of lines without provenance",
        "fresh.db",
        &["append", "--restore", "plain.jsonl"],
        2,
    ),
    (
        "--restore with --by",
        "fresh.db",
        &["append", "--restore", "--by", "me", "backup.jsonl"],
        2,
    ),
    (
        "--provenance for one incident",
        "events.db",
        &[
            "log",
            "--json",
            "--provenance",
            "--incident",
            "2020-07-30-puli-alam",
        ],
        2,
    ),
];

/// Every refusal: exit 2 for a wrong destination or a bad file (exit 1 for a file that is
/// not a log, as everywhere), a message naming what is wrong, and every log as it was.
#[test]
fn refusals_name_the_problem_and_write_nothing() {
    let s = refusal_fixtures();

    let dbs = ["events.db", "backup.db", "other.db", "fresh.db"];
    let before: Vec<String> = dbs
        .iter()
        .map(|db| ok_on(&s, db, &["log", "--json"]))
        .collect();
    let mut transcript = String::new();
    for (what, db, args, expected) in REFUSALS {
        let (code, out, err) = on(&s, db, args);
        assert_eq!(code, *expected, "{what}: {out}{err}");
        let err = err
            .lines()
            .take_while(|l| !l.starts_with("Usage"))
            .collect::<Vec<_>>()
            .join("\n");
        transcript.push_str(&format!(
            "## {what}\n$ chronicle --db {db} {}\n{out}{err}\n\n",
            args.join(" ")
        ));
    }
    let after: Vec<String> = dbs
        .iter()
        .map(|db| ok_on(&s, db, &["log", "--json"]))
        .collect();
    assert_eq!(after, before, "a refusal wrote something");
    assert_eq!(
        std::fs::read_to_string(s.path("notes.txt")).unwrap(),
        "not a log\n"
    );
    insta::assert_snapshot!(transcript);
}

#[test]
fn a_corrupt_source_is_not_copied() {
    let s = Scratch::demo();
    match &s.pg {
        // On PostgreSQL, the trigger dropped by the database's administrator.
        Some(url) => common::pg::admin(common::pg::db_name(url))
            .batch_execute(
                "DROP TRIGGER events_no_update ON events;
                 UPDATE events SET recorded_by = 'someone else' WHERE seq = 7;",
            )
            .unwrap(),
        None => rusqlite::Connection::open(s.db())
            .unwrap()
            .execute_batch(
                "DROP TRIGGER events_no_update;
                 UPDATE events SET recorded_by = 'someone else' WHERE seq = 7;",
            )
            .unwrap(),
    }
    let (code, out, err) = on(&s, "events.db", &["copy", "--to", "copy.db"]);
    assert_eq!(code, 1, "{out}{err}");
    insta::assert_snapshot!(err, @r#"error: event seq 7: in the source [DIR]/events.db, field `hash`, value "8bf1df4f4a516af606d7c47550c2b4e51917c8d0568df74bd22ae582c61adc7c": the hash does not recompute: the event's fields and the hash before it give 32181d5fb8f5df9d53625b3114c127c31101b87c4b1aec664f5f0380bda110ec; the event (or its hash) was altered after it was recorded; nothing was copied (run `chronicle verify`)"#);
    // The destination was made (as `init` makes it) and holds nothing.
    assert_eq!(ok_on(&s, "copy.db", &["log"]), "no events\n");
}

#[test]
fn the_help_shows_the_backup_commands() {
    let s = Scratch::empty();
    let copy = s.ok(&["copy", "--help"]);
    assert!(
        copy.contains("Examples:\n  chronicle copy --to backup.db\n"),
        "{copy}"
    );
    let append = s.ok(&["append", "--help"]);
    assert!(append.contains("append --restore backup.jsonl"), "{append}");
    let log = s.ok(&["log", "--help"]);
    assert!(
        log.contains("log --json --provenance > backup.jsonl"),
        "{log}"
    );
}

/// A log of `incidents` incidents with three reports each (4 events an incident), appended
/// from JSON Lines: more events than a copy reads ahead at a time (1024).
fn larger_log(s: &Scratch, db: &str, incidents: usize) {
    let mut lines = String::new();
    for i in 0..incidents {
        let incident = format!("2020-07-{:02}-kabul-{i}", 1 + i % 28);
        lines.push_str(&format!(
            r#"{{"incident":"{incident}","kind":"incident_reported","payload":{{"date":"2020-07-{:02}","province":"Kabul","category":"roadside bombing","source":"Pajhwok"}}}}"#,
            1 + i % 28
        ));
        lines.push('\n');
        for (k, source) in ["Pajhwok", "TOLOnews", "UNAMA"].iter().enumerate() {
            lines.push_str(&format!(
                r#"{{"incident":"{incident}","kind":"casualties_reported","payload":{{"source":"{source}","killed":{},"published":"2020-07-{:02}"}}}}"#,
                i % 9 + k,
                1 + i % 28
            ));
            lines.push('\n');
        }
    }
    s.write("larger.jsonl", &lines);
    ok_on(s, db, &["init"]);
    ok_on(s, db, &["append", "larger.jsonl"]);
}

/// A copy and a restore read the destination ahead, a chunk of events at a time (one read
/// for a chunk's ids and streams, which on a server saves round trips per event): across
/// the chunks' edges the copy is the same log, and a forged id is still refused at its
/// line, whether the event it repeats is in an earlier chunk or in the same one.
#[test]
fn copies_larger_than_the_read_ahead_are_the_same_log_and_still_refuse_forgeries() {
    let s = Scratch::new();
    larger_log(&s, "big.db", 650);
    assert_eq!(head_of(&s, "big.db").split(':').next(), Some("2600"));
    ok_on(&s, "big.db", &["copy", "--to", "copy.db"]);
    assert_same_log(&s, "copy.db", "big.db");
    let lines = ok_on(&s, "big.db", &["log", "--json", "--provenance"]);
    s.write("big.jsonl", &lines);
    ok_on(&s, "restored.db", &["init"]);
    ok_on(&s, "restored.db", &["append", "--restore", "big.jsonl"]);
    assert_same_log(&s, "restored.db", "big.db");
    // Line 1500 (second chunk) takes the id of line 10 (first chunk), then line 1100 that
    // of line 1050 (both in the second chunk).
    let id_of = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["id"].as_str().unwrap().to_string()
    };
    let all: Vec<&str> = lines.lines().collect();
    for (line, repeats) in [(1500, 10), (1100, 1050)] {
        let mut forged: Vec<String> = all.iter().map(|l| (*l).to_string()).collect();
        let (old, new) = (id_of(all[line - 1]), id_of(all[repeats - 1]));
        forged[line - 1] = forged[line - 1].replacen(&old, &new, 1);
        s.write("forged.jsonl", &(forged.join("\n") + "\n"));
        ok_on(&s, &format!("forged-{line}.db"), &["init"]);
        let (code, _, err) = on(
            &s,
            &format!("forged-{line}.db"),
            &["append", "--restore", "forged.jsonl"],
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&format!("forged.jsonl:{line}: field `id`"))
                && err.contains(&format!(
                    "an event with this id is already in the log (seq {repeats})"
                )),
            "{err}"
        );
        let written = ok_on(&s, &format!("forged-{line}.db"), &["log", "--json"]);
        assert_eq!(written, "", "nothing was restored");
    }
}
