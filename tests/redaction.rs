//! `chronicle redact`: a payload's text leaves the file and its journal, while the chain,
//! old checkpoints and the Merkle root still hold; and the batch records (provenance) of
//! the log format 2.
//!
//! Backend-neutral (with `CHRONICLE_TEST_BACKEND=postgres`, the log is a database, the
//! copies and restores named `*.db` are files: copies across backends); the schema-1 file
//! of `logs_and_backups_written_before_the_format_2_keep_working` is a file on both.
#![allow(clippy::unwrap_used)]

mod common;

use common::{pg, puli_alam, repo_root, Scratch};

const NAME: &str = "Ahmad Zaheer Sultani";

/// Every byte of the log's files (`events.db`, its WAL and shared memory), as text. On
/// PostgreSQL, every byte of the database's table and index files in the tests' own
/// cluster (`base/OID/`, after a `CHECKPOINT` has written the server's buffers out); the
/// server's write-ahead log keeps old pages until it recycles them, out of chronicle's
/// reach (docs/event-log.md, "On PostgreSQL"). With `$CHRONICLE_TEST_POSTGRES`, whose
/// files the tests cannot read, the log's rows as `log --json --provenance` reads them.
fn file_bytes(s: &Scratch) -> String {
    if let Some(url) = &s.pg {
        let Some(data) = pg::data_dir() else {
            return s.ok(&["log", "--json", "--provenance"]);
        };
        let mut admin = pg::admin(pg::db_name(url));
        admin.batch_execute("CHECKPOINT").unwrap();
        let oid: postgres::types::Oid = admin
            .query_one(
                "SELECT oid FROM pg_database WHERE datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0);
        let mut all = Vec::new();
        for entry in std::fs::read_dir(data.join("base").join(oid.to_string())).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let b = std::fs::read(&path).unwrap();
                all.extend(b);
            }
        }
        return String::from_utf8_lossy(&all).into_owned();
    }
    let dir = s.db().parent().unwrap().to_path_buf();
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("events.db")
        {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// What a refusal must leave as it was: the file's bytes, or on PostgreSQL the log's rows.
fn stored(s: &Scratch) -> Vec<u8> {
    match &s.pg {
        Some(_) => s.ok(&["log", "--json", "--provenance"]).into_bytes(),
        None => std::fs::read(s.db()).unwrap(),
    }
}

fn line(s: &Scratch, seq: usize) -> serde_json::Value {
    let log = s.ok(&["log", "--json"]);
    serde_json::from_str(log.lines().nth(seq - 1).unwrap()).unwrap()
}

fn verify_head(s: &Scratch) -> String {
    s.ok(&["verify"])
        .lines()
        .find_map(|l| l.strip_prefix("head checkpoint "))
        .unwrap()
        .to_string()
}

/// A log whose seq 5 carries a victim's name in its note.
fn with_a_name() -> Scratch {
    let s = Scratch::new();
    puli_alam(&s);
    s.ok(&[
        "report",
        "--incident",
        "2020-07-30-puli-alam",
        "--source",
        "Pajhwok",
        "--killed",
        "9",
        "--note",
        &format!("one of the dead, {NAME}, named by his family"),
    ]);
    s
}

#[test]
fn a_redaction_erases_the_text_from_the_file_and_keeps_the_chain() {
    let s = with_a_name();
    let id = line(&s, 5)["id"].as_str().unwrap().to_string();
    let before = verify_head(&s);
    let checkpoint_before = s.ok(&["checkpoint"]);
    let sources_before = s.ok(&["show", "2020-07-30-puli-alam", "--json"]);
    assert!(sources_before.contains("Pajhwok"), "{sources_before}");
    assert!(
        file_bytes(&s).contains(NAME),
        "the test must see the name first"
    );

    let out = s.ok(&["redact", &id, "--reason", "a victim's name in the note"]);
    assert!(out.contains("erased the payload of event"), "{out}");
    // Gone from the file and its journal, and from every output.
    assert!(
        !file_bytes(&s).contains(NAME),
        "the name is still in the file"
    );
    assert!(!file_bytes(&s).contains("named by his family"));
    for args in [
        vec!["log"],
        vec!["log", "--json"],
        vec!["log", "--json", "--provenance"],
        vec!["show", "2020-07-30-puli-alam", "--json"],
        vec!["history", "2020-07-30-puli-alam"],
        vec!["export"],
    ] {
        let out = s.ok(&args);
        assert!(!out.contains(NAME), "{args:?}: {out}");
    }
    // The event keeps its place, id and hash; its payload and salt are gone.
    let erased = line(&s, 5);
    assert_eq!(erased["id"], id.as_str());
    assert_eq!(erased["payload"], serde_json::Value::Null);
    assert!(erased.get("payload_salt").is_none(), "{erased}");
    assert!(erased["payload_commitment"].is_string(), "{erased}");
    assert_eq!(erased["redacted_by"], line(&s, 6)["id"]);
    // The chain verifies, the checkpoint taken before still holds, the tree's first five
    // leaves are unchanged (a consistency proof from the old size holds).
    let verified = s.ok(&["verify", "--checkpoint", &before]);
    assert!(verified.contains("the log still extends it"), "{verified}");
    let consistency: serde_json::Value =
        serde_json::from_str(&s.ok(&["prove", "--consistency", "5"])).unwrap();
    assert_eq!(
        consistency["old_root"].as_str().unwrap(),
        checkpoint_before.lines().nth(2).unwrap(),
        "the Merkle root at the old size changed"
    );
    // The views no longer count the report.
    let shown = s.ok(&["show", "2020-07-30-puli-alam", "--json"]);
    assert!(!shown.contains("Pajhwok"), "{shown}");
}

#[test]
fn redaction_refusals_and_retries() {
    let s = with_a_name();
    let id = line(&s, 5)["id"].as_str().unwrap().to_string();
    let retraction = {
        s.ok(&["retract", &id, "--reason", "entered twice"]);
        line(&s, 6)["id"].as_str().unwrap().to_string()
    };
    let db_before = stored(&s);
    let cases: Vec<Vec<&str>> = vec![
        vec!["redact", "no-such-event", "--reason", "x"],
        vec!["redact", &retraction, "--reason", "x"],
        vec!["redact", &id, "--reason", ""],
    ];
    let mut transcript = String::new();
    for args in &cases {
        let (code, out, err) = s.run(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        transcript.push_str(&format!("$ chronicle {}\n{err}\n", args.join(" ")));
    }
    assert_eq!(stored(&s), db_before, "a refusal wrote");
    // A redaction is not an event one can append as a line.
    let (code, _, err) = s.run_stdin(
        &["append", "-"],
        &format!(
            r#"{{"incident":"2020-07-30-puli-alam","kind":"event_redacted","payload":{{"event":"{id}","reason":"x"}}}}"#
        ),
    );
    assert_eq!(code, 2, "{err}");
    transcript.push_str(&format!(
        "$ chronicle append - (an event_redacted line)\n{err}\n"
    ));
    // With --id, a retry is a no-op that says so (and purges the file again).
    s.ok(&["redact", &id, "--reason", "name", "--id", "redaction-1"]);
    let again = s.ok(&["redact", &id, "--reason", "name", "--id", "redaction-1"]);
    assert!(again.starts_with("already redacted"), "{again}");
    let (code, _, err) = s.run(&["redact", &id, "--reason", "name", "--id", "redaction-2"]);
    assert_eq!(code, 2, "{err}");
    transcript.push_str(&format!(
        "$ chronicle redact (again, another --id)\n{err}\n"
    ));
    assert_eq!(
        s.ok(&["log", "--kind", "event_redacted"])
            .matches("#")
            .count(),
        1
    );
    insta::assert_snapshot!(transcript
        .replace(&id, "[EVENT]")
        .replace(&retraction, "[RETRACTION]"));
}

#[test]
fn a_format_1_event_is_redacted_only_when_asked_and_verify_says_what_it_takes_on_trust() {
    let s = Scratch::demo();
    let first = line(&s, 12);
    let id = first["id"].as_str().unwrap();
    assert!(first.get("format").is_none(), "the demo log is format 1");
    let (code, _, err) = s.run(&["redact", id, "--reason", "test"]);
    assert_eq!(code, 2);
    assert!(err.contains("--allow-format-1"), "{err}");
    let out = s.ok(&["redact", id, "--reason", "test", "--allow-format-1"]);
    assert!(out.contains("format 1"), "{out}");
    let verified = s.ok(&[
        "verify",
        "--checkpoint",
        "38:cf9fbf0084531cc252bbadd0b5b86fc96a65bf64305ceb9a3001d4401f701193",
    ]);
    assert!(verified.contains("the log still extends it"), "{verified}");
    assert!(
        verified.contains("whose own hashes are taken as stored (their text is erased): seq 12"),
        "{verified}"
    );
}

#[test]
fn copies_and_restores_carry_the_erasure_not_the_text() {
    let s = with_a_name();
    let id = line(&s, 5)["id"].as_str().unwrap().to_string();
    s.ok(&["redact", &id, "--reason", "a name"]);
    let head = verify_head(&s);
    // `copy` and a restore of `log --json --provenance` give the same log, without the text.
    s.ok(&["copy", "--to", "copy.db"]);
    let backup = s.ok(&["log", "--json", "--provenance"]);
    s.write("backup.jsonl", &backup);
    s.ok(&["--db", "restored.db", "init"]);
    s.ok(&["--db", "restored.db", "append", "--restore", "backup.jsonl"]);
    for db in ["copy.db", "restored.db"] {
        let out = s.ok(&["--db", db, "verify", "--checkpoint", &head]);
        assert!(
            out.contains(&format!("head checkpoint {head}")),
            "{db}: {out}"
        );
        let bytes = std::fs::read(s.path(db)).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(NAME), "{db}");
    }
    // A forged line that puts text back under the erased event does not restore.
    let forged = backup.replacen(
        r#""payload":null"#,
        &format!(r#""payload":{{"killed":9,"note":"{NAME}","source":"Pajhwok"}}"#),
        1,
    );
    s.write("forged.jsonl", &forged);
    s.ok(&["--db", "forged.db", "init"]);
    let (code, _, err) = s.run(&["--db", "forged.db", "append", "--restore", "forged.jsonl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("redacted_by"), "{err}");
}

#[test]
fn every_write_records_its_batch() {
    let s = Scratch::new();
    let fixture = repo_root().join("tests/fixtures/july-2020.jsonl");
    s.ok(&[
        "append",
        fixture.to_str().unwrap(),
        "--correlation",
        "story-42",
    ]);
    s.ok(&[
        "report",
        "--incident",
        "2020-07-30-puli-alam",
        "--source",
        "Pajhwok",
        "--killed",
        "9",
    ]);
    let first = line(&s, 1);
    let batch = &first["batch"];
    assert_eq!(batch["command"], "append");
    assert_eq!(batch["correlation"], "story-42");
    assert_eq!(batch["chronicle_version"], env!("CARGO_PKG_VERSION"));
    let sha = chronicle_core::hash::sha256_hex(std::fs::File::open(&fixture).unwrap()).unwrap();
    assert_eq!(batch["input_sha256"], sha.as_str());
    // One batch for the whole file; the report is a batch of its own.
    assert_eq!(line(&s, 38)["batch"], *batch);
    let last = line(&s, 39);
    assert_eq!(last["batch"]["command"], "report");
    assert_eq!(last["batch"]["input_sha256"], serde_json::Value::Null);
    assert_ne!(last["batch"]["id"], batch["id"]);
    // `log --batch` lists one batch, with its record first.
    let id = batch["id"].as_str().unwrap();
    let listed = s.ok(&["log", "--batch", id]);
    assert!(
        listed.starts_with(&format!("batch {id}: `append`")),
        "{listed}"
    );
    assert_eq!(listed.lines().filter(|l| l.starts_with('#')).count(), 38);
    assert_eq!(s.ok(&["log", "--batch", id, "--json"]).lines().count(), 38);
    let (code, _, err) = s.run(&["log", "--batch", "no-such-batch"]);
    assert_eq!(code, 2);
    assert!(err.contains("no batch with this id"), "{err}");
    let (code, _, err) = s.run(&["report", "--correlation", "", "--incident", "x"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn logs_and_backups_written_before_the_format_2_keep_working() {
    let data = repo_root().join("tests/data/v1");
    // The demo log as first shipped (schema 1): it opens (its schema is brought up to date,
    // no event rewritten), verifies against its old checkpoint and reads as before. (A file
    // on either backend: a PostgreSQL log was never of schema 1; its restore and append
    // below are of the backend under test.)
    let s = Scratch::sqlite();
    std::fs::copy(data.join("events-schema1.db"), s.db()).unwrap();
    let out = s.ok(&[
        "verify",
        "--checkpoint",
        "38:cf9fbf0084531cc252bbadd0b5b86fc96a65bf64305ceb9a3001d4401f701193",
    ]);
    assert!(out.contains("the log still extends it"), "{out}");
    assert_eq!(
        s.ok(&["log", "--json"]),
        std::fs::read_to_string(data.join("july-2020.log.jsonl")).unwrap()
    );
    // Its old backup restores into an empty log, to the same head.
    let r = Scratch::empty();
    r.ok(&["init"]);
    let backup = data.join("july-2020.provenance.jsonl");
    r.ok(&["append", "--restore", backup.to_str().unwrap()]);
    assert!(r
        .ok(&["verify"])
        .contains("38:cf9fbf0084531cc252bbadd0b5b86fc96a65bf64305ceb9a3001d4401f701193"));
    // And its old `log --json` appends as new events (format 2), the same content.
    let a = Scratch::new();
    a.ok(&["append", data.join("july-2020.log.jsonl").to_str().unwrap()]);
    assert_eq!(line(&a, 38)["format"], 2);
    assert_eq!(line(&a, 38)["payload"], line(&s, 38)["payload"]);
}

#[test]
fn a_retry_never_brings_an_erased_text_back() {
    let s = Scratch::new();
    puli_alam(&s);
    let note = format!("one of the dead, {NAME}");
    let report = [
        "report",
        "--incident",
        "2020-07-30-puli-alam",
        "--source",
        "Pajhwok",
        "--killed",
        "9",
        "--note",
        &note,
        "--id",
        "pajhwok-1",
    ];
    s.ok(&report);
    s.ok(&["redact", "pajhwok-1", "--reason", "a name"]);
    let events = s.ok(&["log", "--json"]).lines().count();
    let out = s.ok(&report);
    assert!(out.contains("its payload erased by redaction"), "{out}");
    let line = format!(
        r#"{{"id":"pajhwok-1","incident":"2020-07-30-puli-alam","kind":"casualties_reported","payload":{{"killed":9,"note":"{note}","source":"Pajhwok"}}}}"#
    );
    let (code, out, err) = s.run_stdin(&["append", "-"], &line);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 appended, 1 already present") || out.contains("erased"),
        "{out}"
    );
    assert_eq!(s.ok(&["log", "--json"]).lines().count(), events);
    assert!(!file_bytes(&s).contains(NAME));
}
