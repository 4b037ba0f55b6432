//! Large appends on PostgreSQL take the bulk path: the events, the Merkle tree's hashes and
//! the view rows are sent a few statements at a time, the ids and streams of the next
//! events read ahead in one query each (`core/src/store/postgres/pending.rs`,
//! `Appender::prefetch`). The log, its hashes and its views must be exactly those of the
//! same append into a file; the ids still make a re-run idempotent, within one batch and
//! across batches; a transaction cut after it sent events leaves nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{pg, Scratch};

/// A fixed clock after every date of the generated chronologies (2015-2022).
const NOW: &str = "2030-01-02T03:04:05Z";

/// The bench's synthetic chronology (every kind of event, ids on every line).
fn chronology(seed: u64, events: u64) -> Vec<String> {
    chronicle_bench::lines(seed, events)
}

fn jsonl(lines: &[String]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// A new log as a file and one on the server.
fn both() -> (Scratch, Scratch) {
    let file = Scratch::new_sqlite();
    let server = Scratch::postgres();
    server.ok(&["init"]);
    (file, server)
}

/// Appends `text` (as `name` in the scratch directory) at the fixed clock.
fn append(s: &Scratch, name: &str, text: &str) -> (i32, String, String) {
    let path = s.write(name, text);
    s.run_at(NOW, &["append", path.to_str().unwrap()])
}

/// The reads whose output must be the same bytes on both backends.
const READS: &[&[&str]] = &[
    &["log", "--json", "--provenance"],
    &["timeline", "--json"],
    &["timeline", "--json", "--at-seq", "3000"],
    &["summary", "--json"],
    &["summary", "--json", "--by", "province"],
    &["sources", "--json"],
    &["export"],
    &["checkpoint"],
];

/// The rows of the view tables that say which events touched which incident and who
/// claimed what: the same on both backends (compared as text).
fn view_keys_sqlite(s: &Scratch) -> Vec<String> {
    let db = rusqlite::Connection::open(s.db()).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT incident || ' ' || first_seq || ' ' || last_seq FROM view_incident_ids ORDER BY incident",
        "SELECT incident || ' ' || source || ' ' || event_seq FROM view_source_figures ORDER BY incident, source",
        "SELECT incident || ' ' || event_seq || ' ' || actor || ' ' || stance FROM view_responsibility ORDER BY incident, event_seq",
        "SELECT incident || ' ' || last_seq || ' ' || sources FROM view_incidents ORDER BY incident",
    ] {
        let mut stmt = db.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

fn view_keys_pg(s: &Scratch) -> Vec<String> {
    let mut db = pg::admin(pg::db_name(s.pg.as_deref().unwrap()));
    let mut out = Vec::new();
    for sql in [
        "SELECT incident || ' ' || first_seq || ' ' || last_seq FROM view_incident_ids ORDER BY incident",
        "SELECT incident || ' ' || source || ' ' || event_seq FROM view_source_figures ORDER BY incident, source",
        "SELECT incident || ' ' || event_seq || ' ' || actor || ' ' || stance FROM view_responsibility ORDER BY incident, event_seq",
        "SELECT incident || ' ' || last_seq || ' ' || sources FROM view_incidents ORDER BY incident",
    ] {
        out.extend(
            db.query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0)),
        );
    }
    out
}

#[test]
fn a_large_append_on_postgres_writes_the_same_log_hashes_and_views_as_the_file() {
    // Past two read-ahead chunks (4096 events) and many buffer sends.
    let text = jsonl(&chronology(7, 9_000));
    let (file, server) = both();
    let [a, b] = [&file, &server].map(|s| append(s, "big.jsonl", &text));
    assert_eq!(a.0, 0, "{}", a.2);
    assert_eq!(b, a, "the append's output differs on PostgreSQL");
    assert!(a.1.contains("9000 appended, 0 already present"), "{}", a.1);
    // The same head checkpoint: the last line of `verify`.
    let verified = file.ok(&["verify"]);
    assert!(
        verified.contains(": 9000 events, hash chain intact"),
        "{verified}"
    );
    assert_eq!(server.ok(&["verify"]), verified);
    for args in READS {
        assert_eq!(
            server.ok(args),
            file.ok(args),
            "{args:?} differs on PostgreSQL"
        );
    }
    let keys = view_keys_sqlite(&file);
    assert!(keys.len() > 9_000 / 5, "{}", keys.len());
    assert_eq!(view_keys_pg(&server), keys, "the view tables differ");
    // The views written in bulk are those a rebuild makes.
    let timeline = server.ok(&["timeline", "--json"]);
    server.ok(&["rebuild"]);
    assert_eq!(server.ok(&["timeline", "--json"]), timeline);
    assert_eq!(view_keys_pg(&server), keys);
}

#[test]
fn ids_are_recognised_within_one_batch_and_across_batches_on_both_backends() {
    let lines = chronology(11, 5_000);
    // Within one batch: line 21 again right after itself (the same read-ahead chunk), and
    // line 11 again at the end (another chunk).
    let mut input = lines.clone();
    input.insert(21, lines[20].clone());
    input.push(lines[10].clone());
    let (file, server) = both();
    let outs = [&file, &server].map(|s| append(s, "twice.jsonl", &jsonl(&input)));
    assert_eq!(outs[0].0, 0, "{}", outs[0].2);
    assert!(
        outs[0].1.contains("5000 appended, 2 already present"),
        "{}",
        outs[0].1
    );
    assert_eq!(outs[1], outs[0]);
    // Across batches: the whole file again adds nothing.
    let again = [&file, &server].map(|s| append(s, "twice.jsonl", &jsonl(&input)));
    assert!(
        again[0].1.contains("0 appended, 5002 already present"),
        "{}",
        again[0].1
    );
    assert_eq!(again[1], again[0]);

    // A half first, then the whole: the other half is appended.
    let (file, server) = both();
    for s in [&file, &server] {
        let (code, _, err) = append(s, "half.jsonl", &jsonl(&lines[..2_500]));
        assert_eq!(code, 0, "{err}");
    }
    let rest = [&file, &server].map(|s| append(s, "all.jsonl", &jsonl(&lines)));
    assert!(
        rest[0].1.contains("2500 appended, 2500 already present"),
        "{}",
        rest[0].1
    );
    assert_eq!(rest[1], rest[0]);
    assert_eq!(server.ok(&["verify"]), file.ok(&["verify"]));

    // An id taken by another event, late in a batch: refused, naming its line; nothing
    // of the batch is written.
    let before = [file.dump(), server.dump()];
    let mut conflict = chronology(12, 4_500);
    let taken: serde_json::Value = serde_json::from_str(&lines[4]).unwrap();
    let mut other: serde_json::Value = serde_json::from_str(&conflict[4_400]).unwrap();
    other["id"] = taken["id"].clone();
    conflict[4_400] = other.to_string();
    let refused = [&file, &server].map(|s| append(s, "conflict.jsonl", &jsonl(&conflict)));
    assert_eq!(refused[0].0, 2, "{}", refused[0].2);
    assert!(
        refused[0].2.contains("conflict.jsonl:4401"),
        "{}",
        refused[0].2
    );
    assert_eq!(refused[1], refused[0]);
    assert_eq!([file.dump(), server.dump()], before);
}

#[test]
fn an_append_cut_after_it_sent_events_leaves_nothing_and_the_rerun_completes_it() {
    let text = jsonl(&chronology(13, 12_000));
    let s = Scratch::postgres();
    s.ok(&["init"]);
    let url = s.pg.clone().unwrap();
    let path = s.write("big.jsonl", &text);
    let child = s
        .std_cmd_at(NOW, &["append", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its connection is cut by the server once its transaction has inserted events.
    let terminated = pg::cut_once_inserting(&url, std::time::Duration::from_secs(120));
    let out = child.wait_with_output().unwrap();
    assert!(terminated, "the append was never seen inserting events");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("run it again"), "{err}");
    // All or nothing: nothing, not even a batch record or a view row.
    let v = s.ok(&["verify"]);
    assert!(v.contains(": 0 events"), "{v}");
    let mut admin = pg::admin(pg::db_name(&url));
    for table in ["events", "batches", "tree_hashes", "view_incident_ids"] {
        let n: i64 = admin
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{table}");
    }
    // The same command again completes it, with the hashes of the same append into a file.
    let (code, _, err) = s.run_at(NOW, &["append", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let file = Scratch::new_sqlite();
    let (code, _, err) = append(&file, "big.jsonl", &text);
    assert_eq!(code, 0, "{err}");
    let verified = file.ok(&["verify"]);
    assert!(
        verified.contains(": 12000 events, hash chain intact"),
        "{verified}"
    );
    assert_eq!(s.ok(&["verify"]), verified);
}

#[test]
fn redact_on_postgres_says_its_tables_were_vacuumed_not_a_file_and_its_journal() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    let (code, _, err) = append(&s, "small.jsonl", &jsonl(&chronology(3, 20)));
    assert_eq!(code, 0, "{err}");
    let log = s.ok(&["log", "--json", "--kind", "casualties_reported"]);
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let id = first["id"].as_str().unwrap();
    let args = ["redact", id, "--reason", "a name", "--id", "redaction-1"];
    let (code, out, err) = s.run_at(NOW, &args);
    assert_eq!(code, 0, "{err}");
    let out = out.replace(id, "[EVENT]");
    let (code, again, err) = s.run_at(NOW, &args);
    assert_eq!(code, 0, "{err}");
    let again = again.replace(id, "[EVENT]");
    insta::assert_snapshot!(format!("{out}{again}"));
}
