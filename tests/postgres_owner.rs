//! What only the log's owner may do on PostgreSQL, tried as a writer: bring an older schema
//! up to date, rebuild the views, purge a redaction's erased text (`VACUUM FULL`). Each is
//! refused before anything is changed, with a message that says what needed the owner, who
//! the owner is and what to run; a redaction by a writer is committed and says what is left.
//! And a purge that a transaction older than the erasure holds back says so.
#![allow(clippy::unwrap_used)]

mod common;

use common::{pg, Scratch};

/// A log on PostgreSQL (owned by the test cluster's superuser `chronicle`) with the Puli
/// Alam scenario, and a writer role granted on it: (scratch, the writer's connection
/// string, the database's name, the writer's name).
fn with_a_writer() -> (Scratch, String, String, String) {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    common::puli_alam(&s);
    let url = s.pg.clone().unwrap();
    let name = pg::db_name(&url).to_string();
    let writer = format!("{name}_w");
    pg::admin(&name)
        .batch_execute(&format!("CREATE ROLE {writer} LOGIN PASSWORD 'w-pw'"))
        .unwrap();
    s.ok(&["grant", "--writer", &writer]);
    let as_writer = pg::as_user(&url, &writer, "w-pw");
    (s, as_writer, name, writer)
}

/// Runs chronicle on `url` in the scratch directory (its output cleaned of the port, the
/// database's and the writer's names).
fn run_as(
    s: &Scratch,
    url: &str,
    name: &str,
    writer: &str,
    args: &[&str],
) -> (i32, String, String) {
    let mut full = vec!["--db", url];
    full.extend_from_slice(args);
    let (code, out, err) = s.run(&full);
    let port = pg::server().port.to_string();
    let clean = |t: String| {
        t.replace(writer, "[WRITER]")
            .replace(name, "[DB]")
            .replace(&port, "[PORT]")
    };
    (code, clean(out), clean(err))
}

#[test]
fn a_rebuild_by_a_writer_says_that_the_owner_must_run_it() {
    let (s, as_writer, name, writer) = with_a_writer();
    let before = s.ok(&["timeline", "--json"]);
    let (code, out, err) = run_as(&s, &as_writer, &name, &writer, &["rebuild"]);
    assert_eq!(code, 1, "{out}{err}");
    insta::assert_snapshot!(err, @"error: postgres://[WRITER]@127.0.0.1:[PORT]/[DB]: the views are made anew (`chronicle rebuild`, or the first write after an upgrade of the views) by dropping and creating their tables, which only the owner of the log's tables may do, and role `[WRITER]` is not their owner `chronicle` (nor a member of it): run `chronicle rebuild` as the owner, then this command again (nothing was changed)");
    // Nothing changed: the views answer as before, and the owner's rebuild works.
    assert_eq!(s.ok(&["timeline", "--json"]), before);
    s.ok(&["rebuild"]);
    assert_eq!(s.ok(&["timeline", "--json"]), before);
}

#[test]
fn a_migration_by_a_writer_says_that_the_owner_must_run_it() {
    let (s, as_writer, name, writer) = with_a_writer();
    // A log that says it is of schema 2 (migration 3, the log format 2, not yet run).
    let mut admin = pg::admin(&name);
    admin
        .batch_execute("UPDATE chronicle_meta SET value = '2' WHERE key = 'schema_version'")
        .unwrap();
    let (code, out, err) = run_as(&s, &as_writer, &name, &writer, &["timeline"]);
    assert_eq!(code, 1, "{out}{err}");
    insta::assert_snapshot!(err, @"error: postgres://[WRITER]@127.0.0.1:[PORT]/[DB]: this log's schema is version 2, older than this chronicle's 3: bringing it up to date changes its tables, which only the owner of the log's tables may do, and role `[WRITER]` is not their owner `chronicle` (nor a member of it): run any chronicle command once as the owner (`chronicle verify` will do), then this one again (nothing was changed)");
    let version: String = admin
        .query_one(
            "SELECT value FROM chronicle_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, "2", "the writer's attempt changed the schema");
}

#[test]
fn a_redaction_by_a_writer_is_committed_and_says_the_owner_must_purge() {
    let (s, as_writer, name, writer) = with_a_writer();
    let secret = "Ahmad Zaheer Sultani";
    s.ok(&[
        "report",
        "--incident",
        "2020-07-30-puli-alam",
        "--source",
        "Pajhwok",
        "--killed",
        "9",
        "--note",
        &format!("one of the dead, {secret}"),
        "--id",
        "pajhwok-1",
    ]);
    let (code, out, err) = run_as(
        &s,
        &as_writer,
        &name,
        &writer,
        &[
            "redact",
            "pajhwok-1",
            "--reason",
            "a name",
            "--id",
            "redaction-1",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(out, "");
    insta::assert_snapshot!(err, @"error: redaction redaction-1 (seq 6) is committed: the payload of event pajhwok-1 is erased from the log and no command shows it any more; but its old copies are still in the storage: postgres://[WRITER]@127.0.0.1:[PORT]/[DB]: the old row versions that still hold the erased text are purged from the server's table files by `VACUUM FULL`, which only the owner of the log's tables may do, and role `[WRITER]` is not their owner `chronicle` (nor a member of it): the owner must finish it (a `chronicle redact pajhwok-1 --reason ...` run again adds nothing to the log and only purges them)");
    // What the message says is done is done: the redaction is in the log, the text is not.
    let log = s.ok(&["log", "--json"]);
    assert!(log.contains("\"event_redacted\""), "{log}");
    assert!(!log.contains(secret), "{log}");
    assert!(s.ok(&["verify"]).contains("6 events, hash chain intact"));
    // The owner finishes it: nothing appended, the tables rewritten.
    let done = s.ok(&["redact", "pajhwok-1", "--reason", "a name"]);
    assert!(
        done.starts_with(
            "already redacted: event pajhwok-1 (seq 5) was erased by redaction redaction-1 (seq 6)"
        ),
        "{done}"
    );
    assert_eq!(s.ok(&["log", "--json"]), log);
}

#[test]
fn a_purge_held_back_by_an_older_transaction_says_so() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    common::puli_alam(&s);
    let url = s.pg.clone().unwrap();
    let name = pg::db_name(&url).to_string();
    s.ok(&[
        "report",
        "--incident",
        "2020-07-30-puli-alam",
        "--source",
        "Pajhwok",
        "--killed",
        "9",
        "--note",
        "one of the dead, Ahmad Zaheer Sultani",
        "--id",
        "pajhwok-1",
    ]);
    // A reader's transaction that began before the redaction, and stays open: VACUUM FULL
    // must keep the row versions it may still read.
    let mut reader = pg::admin(&name);
    reader
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM events;")
        .unwrap();
    let pid: i32 = reader
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let (code, out, err) = run_as(
        &s,
        &url,
        &name,
        "no such role",
        &[
            "redact",
            "pajhwok-1",
            "--reason",
            "a name",
            "--id",
            "redaction-1",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let err = err.replace(&pid.to_string(), "[PID]");
    insta::assert_snapshot!(err, @"error: redaction redaction-1 (seq 6) is committed: the payload of event pajhwok-1 is erased from the log and no command shows it any more; but its old copies are still in the storage: [DIR]/events.db: transactions that began before the erasure still run (server process ids [PID]), and `VACUUM FULL` would keep the old row versions they may still read: wait for them to end (a `chronicle redact pajhwok-1 --reason ...` run again adds nothing to the log and only purges them)");
    // Once it ends, the same command purges.
    reader.batch_execute("COMMIT").unwrap();
    let done = s.ok(&["redact", "pajhwok-1", "--reason", "a name"]);
    assert!(done.starts_with("already redacted"), "{done}");
}
