//! The PostgreSQL backend against a real server (see `tests/common/pg.rs`): the demo log
//! copied onto PostgreSQL answers every read with the same bytes as the file, errors name
//! the server and never the password, roles get what `grant` gives and no more, concurrent
//! writers keep the sequence gapless.
#![allow(clippy::unwrap_used)]

mod common;

use common::{pg, Scratch};

/// The demo log as a file, and copied onto a PostgreSQL database.
fn demo_on_both() -> (Scratch, Scratch) {
    let file = Scratch::sqlite();
    std::fs::copy(common::repo_root().join("events.db"), file.db()).unwrap();
    let server = Scratch::postgres();
    let out = file.ok(&["copy", "--to", server.db().to_str().unwrap()]);
    let head = file.ok(&["verify"]);
    // The copy's head checkpoint is the file's: the last line of both.
    assert_eq!(
        out.lines().last(),
        head.lines().last(),
        "copy:\n{out}\nverify:\n{head}"
    );
    (file, server)
}

/// The reads whose `--json` output must be the same bytes on both backends.
const READS: &[&[&str]] = &[
    &["log", "--json"],
    &["log", "--json", "--provenance"],
    &["log", "--json", "--incident", "2020-07-30-puli-alam"],
    &["show", "2020-07-30-puli-alam", "--json"],
    &["show", "2020-07-30-puli-alam", "--json", "--at-seq", "36"],
    &["show", "2020-07-30-puli-alam", "--json", "--at-seq", "20"],
    &[
        "show",
        "2020-07-12-kunduz-checkpoints",
        "--json",
        "--known-by",
        "2020-07-13",
    ],
    &["timeline", "--json"],
    &["timeline", "--json", "--at-seq", "25"],
    &[
        "timeline",
        "--json",
        "--as-of",
        "2026-11-25T16:24:50.482651Z",
    ],
    &["timeline", "--json", "--as-of", "2026-11-25T16:24:50Z"],
    &[
        "timeline",
        "--json",
        "--known-by",
        "2020-07-20",
        "--province",
        "Kunduz",
    ],
    &["summary", "--json"],
    &["summary", "--json", "--by", "month"],
    &["summary", "--json", "--by", "source", "--at-seq", "30"],
    &["sources", "--json"],
    &["history", "2020-07-30-puli-alam", "--json"],
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
        "--json",
    ],
    &["diff", "--from", "seq:10", "--to", "seq:38", "--json"],
    &["export"],
    &["export", "--at-seq", "20"],
    &["checkpoint"],
    &["prove", "--seq", "12"],
    &["prove", "--consistency", "20", "--size", "38"],
];

#[test]
fn every_read_of_the_demo_log_is_byte_identical_on_postgres() {
    let (file, server) = demo_on_both();
    let mut compared = 0;
    for args in READS {
        let (code_f, out_f, err_f) = file.run(args);
        let (code_p, out_p, err_p) = server.run(args);
        // A refusal must be the same refusal (the demo has no incident at seq 20).
        let expected = if args.contains(&"20") && args[0] == "show" {
            2
        } else {
            0
        };
        assert_eq!(code_f, expected, "{args:?} on the file: {err_f}");
        assert_eq!(
            (code_p, out_p.as_str(), err_p.as_str()),
            (code_f, out_f.as_str(), err_f.as_str()),
            "{args:?} differs on PostgreSQL"
        );
        compared += 1;
    }
    assert_eq!(compared, READS.len());
    // And the views on the server equal a rebuild there.
    let before = server.ok(&["export"]);
    server.ok(&["rebuild"]);
    assert_eq!(server.ok(&["export"]), before);
    let verify = server.ok(&["verify"]);
    assert!(verify.contains("hash chain intact"), "{verify}");
}

/// Runs `chronicle --db URL ARGS` outside any scratch log; returns (code, stderr) with the
/// server's port as `[PORT]`.
fn run_on(url: &str, args: &[&str]) -> (i32, String, String) {
    let s = Scratch::sqlite();
    let mut full = vec!["--db", url];
    full.extend_from_slice(args);
    let (code, out, err) = s.run(&full);
    let port = pg::server().port.to_string();
    (
        code,
        out.replace(&port, "[PORT]"),
        err.replace(&port, "[PORT]"),
    )
}

#[test]
fn connection_failures_are_one_line_naming_the_server_never_the_password() {
    let server = pg::server();
    let db = pg::database();
    let name = pg::db_name(&db).to_string();
    // Nothing listens on a port we just freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            "unreachable",
            format!(
                "postgres://chronicle:{}@127.0.0.1:{closed}/{name}",
                pg::ADMIN_PASSWORD
            ),
        ),
        (
            "wrong_password",
            format!(
                "postgres://chronicle:not-the-{}@127.0.0.1:{}/{name}",
                pg::ADMIN_PASSWORD,
                server.port
            ),
        ),
        ("missing_database", format!("{}/no_such_db", server.base)),
        (
            "malformed",
            format!(
                "postgres://chronicle:{}@127.0.0.1:70000/{name}",
                pg::ADMIN_PASSWORD
            ),
        ),
    ];
    for (what, url) in cases {
        let (code, out, err) = run_on(&url, &["timeline"]);
        let err = err
            .replace(&closed.to_string(), "[CLOSED]")
            .replace(&name, "[DB]");
        assert!(!err.contains(pg::ADMIN_PASSWORD), "{what}: {err}");
        assert!(!out.contains(pg::ADMIN_PASSWORD), "{what}: {out}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert_eq!(
            code,
            if what == "malformed" { 2 } else { 1 },
            "{what}: {err}"
        );
        insta::assert_snapshot!(format!("connect_{what}"), err);
    }
}

#[test]
fn a_foreign_database_and_a_newer_schema_are_refused_untouched() {
    let foreign = pg::database();
    pg::admin(pg::db_name(&foreign))
        .batch_execute("CREATE TABLE customers (id int); CREATE TABLE orders (id int)")
        .unwrap();
    let name = pg::db_name(&foreign).to_string();
    for args in [&["timeline"][..], &["init"][..]] {
        let (code, _, err) = run_on(&foreign, args);
        assert_eq!(code, 1, "{err}");
        assert!(!err.contains(pg::ADMIN_PASSWORD));
        insta::assert_snapshot!(format!("foreign_{}", args[0]), err.replace(&name, "[DB]"));
    }
    let mut check = pg::admin(&name);
    let tables: i64 = check
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 2, "the foreign database was changed");

    let newer = pg::database();
    let name = pg::db_name(&newer).to_string();
    let (code, _, err) = run_on(&newer, &["init"]);
    assert_eq!(code, 0, "{err}");
    pg::admin(&name)
        .batch_execute("UPDATE chronicle_meta SET value = '99' WHERE key = 'schema_version'")
        .unwrap();
    let (code, _, err) = run_on(&newer, &["timeline"]);
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!("newer_schema", err.replace(&name, "[DB]"));
    // An empty database is not a log until `init`: as a missing file, exit 2.
    let empty = pg::database();
    let name = pg::db_name(&empty).to_string();
    let (code, _, err) = run_on(&empty, &["timeline"]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("empty_database", err.replace(&name, "[DB]"));
}

#[test]
fn the_server_refuses_update_delete_and_truncate_of_events() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    common::puli_alam(&s);
    let mut admin = pg::admin(pg::db_name(s.pg.as_ref().unwrap()));
    for sql in [
        "UPDATE events SET payload = '{}' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 4",
        "TRUNCATE events",
        "INSERT INTO events SELECT seq + 10, id || 'x', incident, version + 10, kind, payload, schema_version, recorded_at, recorded_by, hash FROM events WHERE seq = 4",
    ] {
        let e = admin.batch_execute(sql).unwrap_err();
        let text = e.as_db_error().unwrap().message().to_string();
        assert!(text.starts_with("chronicle: "), "{sql}: {text}");
    }
    let v = s.ok(&["verify"]);
    assert!(v.contains("4 events, hash chain intact"), "{v}");
    // The owner can still disable a trigger; verify then says so.
    admin
        .batch_execute("ALTER TABLE events DISABLE TRIGGER events_no_update")
        .unwrap();
    let (code, out, _) = s.run(&["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("events_no_update"), "{out}");
}

/// What a role's statement did: `ok`, or the server's message.
fn try_sql(client: &mut postgres::Client, sql: &str) -> String {
    match client.batch_execute(sql) {
        Ok(()) => "ok".into(),
        Err(e) => e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string()),
    }
}

#[test]
fn grant_gives_a_writer_appends_and_a_reader_reads_and_nothing_more() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    common::puli_alam(&s);
    let url = s.pg.clone().unwrap();
    let name = pg::db_name(&url).to_string();
    let (writer, reader) = (format!("{name}_writer"), format!("{name}_reader"));
    let mut admin = pg::admin(&name);
    admin
        .batch_execute(&format!(
            "CREATE ROLE {writer} LOGIN PASSWORD 'w-pw'; CREATE ROLE {reader} LOGIN PASSWORD 'r-pw'"
        ))
        .unwrap();
    let out = s.ok(&["grant", "--writer", &writer]);
    assert!(
        out.starts_with(&format!("{writer} is now a writer of ")),
        "{out}"
    );
    s.ok(&["grant", "--reader", &reader]);

    // The writer appends through chronicle, and the views follow in the same transaction.
    let as_writer = pg::as_user(&url, &writer, "w-pw");
    let (code, _, err) = run_on(
        &as_writer,
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "19",
            "--reason",
            "raised",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, shown, _) = run_on(&as_writer, &["show", "2020-07-30-puli-alam", "--json"]);
    assert!(
        shown.contains("\"killed\": 19") || shown.contains("19"),
        "{shown}"
    );
    // ... but cannot change what is recorded, nor the guards.
    let mut w = postgres::Client::connect(&as_writer, postgres::NoTls).unwrap();
    let mut refused = Vec::new();
    for sql in [
        "UPDATE events SET payload = '{}' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 5",
        "TRUNCATE events",
        "DROP TRIGGER events_no_update ON events",
        "ALTER TABLE events DISABLE TRIGGER events_no_delete",
        "DROP TABLE events",
        "CREATE OR REPLACE FUNCTION chronicle_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    ] {
        let said = try_sql(&mut w, sql);
        assert_ne!(said, "ok", "the writer could: {sql}");
        refused.push(format!("{sql}\n  -> {said}"));
    }
    insta::assert_snapshot!("writer_refused", refused.join("\n").replace(&name, "[DB]"));

    // The reader reads, and cannot append, through chronicle or SQL.
    let as_reader = pg::as_user(&url, &reader, "r-pw");
    reader_only_reads(&as_reader, &name);
    let v = s.ok(&["verify"]);
    assert!(v.contains("5 events, hash chain intact"), "{v}");
    // A rebuild by the owner makes the view tables anew: the roles keep their rights.
    s.ok(&["rebuild"]);
    let (code, _, err) = run_on(&as_reader, &["timeline", "--json"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_on(
        &as_writer,
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "21",
            "--reason",
            "again",
        ],
    );
    assert_eq!(code, 0, "{err}");
}

/// A reader (logged in with `as_reader`) reads, and cannot append, through chronicle or SQL.
fn reader_only_reads(as_reader: &str, name: &str) {
    let (code, timeline, err) = run_on(as_reader, &["timeline", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(timeline.contains("2020-07-30-puli-alam"));
    let (code, _, err) = run_on(
        as_reader,
        &[
            "correct",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "AFP",
            "--killed",
            "20",
            "--reason",
            "x",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("r-pw"), "{err}");
    insta::assert_snapshot!("reader_append_refused", err.replace(name, "[DB]"));
    let mut r = postgres::Client::connect(as_reader, postgres::NoTls).unwrap();
    for sql in [
        "INSERT INTO events SELECT * FROM events WHERE seq = 1",
        "UPDATE events SET payload = '{}' WHERE seq = 1",
        "DELETE FROM view_incidents",
        "TRUNCATE events",
    ] {
        assert_ne!(try_sql(&mut r, sql), "ok", "the reader could: {sql}");
    }
}

#[test]
fn grant_refuses_an_unknown_role_and_a_file() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    let (code, _, err) = s.run(&["grant", "--writer", "nobody_here"]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!(
        "grant_unknown_role",
        err.replace(pg::db_name(s.pg.as_ref().unwrap()), "[DB]")
            .replace(&pg::server().port.to_string(), "[PORT]")
    );
    let f = Scratch::sqlite();
    f.ok(&["init"]);
    let (code, _, err) = f.run(&["grant", "--reader", "someone"]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("grant_on_a_file", err);
}

/// `chronicle --db URL append -` with `lines` on standard input, at the real clock (as
/// clients on several machines would), as user `editor`.
fn append_now(url: &str, lines: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chronicle"))
        .args(["--db", url, "append", "-"])
        .env("CHRONICLE_USER", "editor")
        .env_remove("CHRONICLE_FAKE_NOW")
        .env_remove("CHRONICLE_DB")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// An incident and `reports` sources' figures for it, as JSON Lines.
fn incident_lines(incident: &str, reports: usize) -> String {
    let mut s = format!(
        r#"{{"incident": "{incident}", "kind": "incident_reported", "payload": {{"date": "2020-07-20", "province": "Kabul", "category": "shooting", "source": "S0"}}}}"#
    );
    s.push('\n');
    for r in 0..reports {
        s.push_str(&format!(
            r#"{{"incident": "{incident}", "kind": "casualties_reported", "payload": {{"source": "S{r}", "published": "2020-07-21", "killed": {}}}}}"#,
            r + 1
        ));
        s.push('\n');
    }
    s
}

#[test]
fn concurrent_writers_keep_one_gapless_sequence_and_a_valid_chain() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    let url = s.pg.clone().unwrap();
    // 4 clients, each 10 appends of 5 events, all at once.
    let (clients, appends, per) = (4, 10, 5);
    std::thread::scope(|scope| {
        for c in 0..clients {
            let url = url.clone();
            scope.spawn(move || {
                for a in 0..appends {
                    let out = append_now(&url, &incident_lines(&format!("c{c}-a{a}"), per - 1));
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    let total = clients * appends * per;
    let v = s.ok(&["verify"]);
    assert!(
        v.contains(&format!(
            "{total} events, hash chain intact, sequence contiguous"
        )),
        "{v}"
    );
    // The views maintained by the interleaved transactions equal a rebuild.
    let before = s.ok(&["export"]);
    s.ok(&["rebuild"]);
    assert_eq!(s.ok(&["export"]), before);
    // Each append's events are contiguous: a transaction is never interleaved with another.
    let log = s.ok(&["log", "--json"]);
    let incidents: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["incident"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for chunk in incidents.chunks(per) {
        assert!(chunk.iter().all(|i| *i == chunk[0]), "{chunk:?}");
    }
}

#[test]
fn expected_versions_and_event_ids_hold_across_concurrent_clients() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    let url = s.pg.clone().unwrap();
    assert!(append_now(&url, &incident_lines("contested", 1))
        .status
        .success());
    // 6 clients state that the incident is at version 2: one wins, the others are refused.
    let line = |c: usize| {
        format!(
            r#"{{"incident": "contested", "kind": "casualties_reported", "expected_version": 2, "payload": {{"source": "Client {c}", "published": "2020-07-21", "killed": 3}}}}"#
        ) + "\n"
    };
    let codes: Vec<i32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|c| {
                let (url, line) = (url.clone(), line(c));
                scope.spawn(move || append_now(&url, &line).status.code().unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 2).count(), 5, "{codes:?}");
    // 6 clients append the same event (same id) at once: it is recorded once.
    let same = r#"{"id": "0190f5c2-0000-7000-8000-000000000001", "incident": "contested", "kind": "casualties_reported", "payload": {"source": "Wire", "published": "2020-07-22", "killed": 4}}"#.to_string() + "\n";
    let codes: Vec<i32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (url, same) = (url.clone(), same.clone());
                scope.spawn(move || append_now(&url, &same).status.code().unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes, vec![0; 6]);
    let v = s.ok(&["verify"]);
    assert!(v.contains("4 events, hash chain intact"), "{v}");
}

#[test]
fn sslmode_require_encrypts_and_verify_full_checks_the_certificate() {
    let server = pg::server();
    assert!(server.tls || std::env::var("CHRONICLE_TEST_POSTGRES").is_ok());
    if !server.tls {
        // An external server may not offer TLS: nothing to try there.
        return;
    }
    let url = pg::database();
    let name = pg::db_name(&url).to_string();
    let mut admin = pg::admin("postgres");
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tls_only') THEN
               CREATE ROLE tls_only LOGIN PASSWORD 'tls-pw'; END IF; END $$;
             ALTER DATABASE {name} OWNER TO tls_only"
        ))
        .unwrap();
    pg::admin(&name)
        .batch_execute("ALTER SCHEMA public OWNER TO tls_only")
        .unwrap();
    let url = pg::as_user(&url, "tls_only", "tls-pw");
    // The server refuses this role without TLS ...
    let (code, _, err) = run_on(&format!("{url}?sslmode=disable"), &["init"]);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("tls-pw"), "{err}");
    // ... and accepts it with sslmode=require (and with the default, prefer).
    let (code, _, err) = run_on(&format!("{url}?sslmode=require"), &["init"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_on(&url, &["verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 events"), "{out}");
    // A self-signed certificate does not pass verify-full.
    let (code, _, err) = run_on(&format!("{url}?sslmode=verify-full"), &["verify"]);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains(pg::ADMIN_PASSWORD), "{err}");
    assert!(
        err.contains("cannot connect to the PostgreSQL server at host 127.0.0.1"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[test]
fn a_connection_lost_mid_append_writes_nothing_and_the_rerun_completes_it() {
    let s = Scratch::postgres();
    s.ok(&["init"]);
    let url = s.pg.clone().unwrap();
    // 1000 incidents of 3 events, each event with its own id: a re-run is idempotent.
    let mut lines = String::new();
    for i in 0..1000 {
        for (k, line) in incident_lines(&format!("i{i}"), 2).lines().enumerate() {
            let id = format!("0190f5c2-0000-7000-8000-{:012x}", i * 3 + k);
            lines.push_str(&line.replacen('{', &format!("{{\"id\": \"{id}\", "), 1));
            lines.push('\n');
        }
    }
    let file = s.write("big.jsonl", &lines);
    let file = file.to_str().unwrap().to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_chronicle"))
        .args(["--db", &url, "append", &file])
        .env("CHRONICLE_USER", "editor")
        .env_remove("CHRONICLE_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its connection is cut by the server once its transaction has inserted events.
    let terminated = pg::cut_once_inserting(&url, std::time::Duration::from_secs(60));
    let out = child.wait_with_output().unwrap();
    assert!(terminated, "the append was never seen in progress");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("run it again"), "{err}");
    assert!(!err.contains(pg::ADMIN_PASSWORD), "{err}");
    // All or nothing: nothing.
    let v = s.ok(&["verify"]);
    assert!(v.contains(": 0 events"), "{v}");
    // The same command again completes it; a third run adds nothing.
    for _ in 0..2 {
        let (code, _, err) = s.run(&["append", &file]);
        assert_eq!(code, 0, "{err}");
        let v = s.ok(&["verify"]);
        assert!(v.contains(": 3000 events, hash chain intact"), "{v}");
    }
}

/// The log format 2 on both backends: the same writes (same fixed clock) give the same
/// events, batch records and hashes; a redaction erases the text from the server's table
/// and the chain, the old checkpoint and a copy back into a file all still hold.
#[test]
fn format_2_events_and_a_redaction_are_the_same_on_postgres() {
    let (file, server) = demo_on_both();
    let name = "Ahmad Zaheer Sultani";
    let note = format!("one of the dead, {name}");
    for s in [&file, &server] {
        s.ok(&[
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
            "--correlation",
            "story-1",
        ]);
    }
    let before = file.ok(&["log", "--json", "--since", "56"]);
    assert!(
        before.contains("\"format\":2") && before.contains("story-1"),
        "{before}"
    );
    assert_eq!(server.ok(&["log", "--json", "--since", "56"]), before);
    let checkpoint = "57:".to_string()
        + serde_json::from_str::<serde_json::Value>(&before).unwrap()["hash"]
            .as_str()
            .unwrap();
    for s in [&file, &server] {
        s.ok(&[
            "redact",
            "pajhwok-1",
            "--reason",
            "a name",
            "--id",
            "redaction-1",
        ]);
    }
    for args in [
        &["log", "--json", "--provenance"][..],
        &["show", "2020-07-30-puli-alam", "--json"],
        &["history", "2020-07-30-puli-alam", "--json"],
        &["checkpoint"],
    ] {
        assert_eq!(
            server.run(args),
            file.run(args),
            "{args:?} differs on PostgreSQL"
        );
    }
    let verified = server.ok(&["verify", "--checkpoint", &checkpoint]);
    assert!(verified.contains("the log still extends it"), "{verified}");
    // Not in the server's table any more (the live rows; VACUUM FULL rewrote the files).
    let mut admin = pg::admin(pg::db_name(server.pg.as_ref().unwrap()));
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM events WHERE payload LIKE '%' || $1 || '%'",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // Copied back into a file, the same head.
    let back = Scratch::sqlite();
    let to = back.db();
    server.ok(&["copy", "--to", to.to_str().unwrap()]);
    assert_eq!(
        back.ok(&["verify"]).lines().last(),
        file.ok(&["verify"]).lines().last()
    );
}

/// Reads fetched in pages (a scan, an incident's stream, the views at a point) give every
/// row, in order, past one page (2,000 rows): 2,050 incidents and one more of 21 events, on
/// both backends, read the same. With `CHRONICLE_SOAK` set, that incident has 2,101 events
/// (its stream past one page too; its appends fold it again and again: minutes in debug).
#[test]
fn reads_past_one_page_are_whole_and_the_same_as_the_file() {
    let reports = if std::env::var_os("CHRONICLE_SOAK").is_some() {
        2_100
    } else {
        20
    };
    let mut lines = incident_lines("big", reports);
    for i in 0..2_050 {
        lines.push_str(&incident_lines(&format!("small-{i:04}"), 0));
    }
    let file = Scratch::new_sqlite();
    let server = Scratch::postgres();
    server.ok(&["init"]);
    for s in [&file, &server] {
        let path = s.write("many.jsonl", &lines);
        s.ok(&["append", path.to_str().unwrap()]);
    }
    for args in [
        &["timeline", "--json"][..],
        &["timeline", "--json", "--at-seq", "2060"],
        &["show", "big", "--json"],
        &["show", "big", "--json", "--at-seq", "21"],
        &["history", "big", "--json"],
        &["summary", "--by", "province"],
    ] {
        let (code, out, err) = server.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(out, file.ok(args), "{args:?} differs on PostgreSQL");
    }
    let timeline = server.ok(&["timeline", "--json"]);
    assert!(
        timeline.contains("small-0000") && timeline.contains("small-2049"),
        "incidents lost"
    );
}
