//! Tamper evidence, the append-only triggers, and concurrent writers.
//!
//! Backend-neutral: with `CHRONICLE_TEST_BACKEND=postgres` the log is a database and the
//! forger works through the database's administrator (who can drop the triggers, as the
//! owner of a file can). `triggers_refuse_update_and_delete` is SQLite-only: it tries the
//! file's triggers through rusqlite and their messages; the server's triggers are tried as
//! the administrator, a writer and a reader in `tests/postgres.rs`
//! (`the_server_refuses_update_delete_and_truncate_of_events`,
//! `grant_gives_a_writer_appends_and_a_reader_reads_and_nothing_more`).
#![allow(clippy::unwrap_used)]

mod common;

use common::{pg, puli_alam, Scratch};
use rusqlite::Connection;

/// A forger's raw access to the log: the SQLite file, or the PostgreSQL database as its
/// administrator.
enum Raw {
    File(Connection),
    Server(postgres::Client),
}

fn open_raw(s: &Scratch) -> Raw {
    match &s.pg {
        Some(url) => Raw::Server(pg::admin(pg::db_name(url))),
        None => Raw::File(Connection::open(s.db()).unwrap()),
    }
}

/// The PostgreSQL log's append-only triggers (`core/src/store/postgres/schema.rs`).
const PG_TRIGGERS: [(&str, &str); 7] = [
    ("events_no_update", "events"),
    ("events_no_delete", "events"),
    ("events_no_truncate", "events"),
    ("events_contiguous", "events"),
    ("batches_no_update", "batches"),
    ("batches_no_delete", "batches"),
    ("batches_no_truncate", "batches"),
];

impl Raw {
    /// Runs statements (no parameters).
    fn exec(&mut self, sql: &str) {
        match self {
            Raw::File(c) => c.execute_batch(sql).unwrap(),
            Raw::Server(c) => c.batch_execute(sql).unwrap(),
        }
    }

    /// Sets an event's stored hash and, when given, its commitment.
    fn set_hash(&mut self, seq: u64, hash: &str, commitment: Option<&[u8]>) {
        match self {
            Raw::File(c) => {
                if let Some(commitment) = commitment {
                    c.execute(
                        "UPDATE events SET commitment = ?1 WHERE seq = ?2",
                        rusqlite::params![commitment, seq],
                    )
                    .unwrap();
                }
                c.execute(
                    "UPDATE events SET hash = ?1 WHERE seq = ?2",
                    rusqlite::params![hash, seq],
                )
                .unwrap();
            }
            Raw::Server(c) => {
                let seq = i64::try_from(seq).unwrap();
                if let Some(commitment) = commitment {
                    c.execute(
                        "UPDATE events SET commitment = $1 WHERE seq = $2",
                        &[&commitment, &seq],
                    )
                    .unwrap();
                }
                c.execute("UPDATE events SET hash = $1 WHERE seq = $2", &[&hash, &seq])
                    .unwrap();
            }
        }
    }
}

/// Drops the append-only triggers and returns the SQL that makes them again, as the log
/// had them.
fn drop_triggers(raw: &mut Raw) -> String {
    match raw {
        Raw::File(conn) => {
            let saved: String = conn
                .query_row(
                    "SELECT group_concat(sql || ';', char(10)) FROM sqlite_master WHERE type = 'trigger'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            conn.execute_batch(
                "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; DROP TRIGGER events_contiguous;
                 DROP TRIGGER batches_no_update; DROP TRIGGER batches_no_delete;",
            )
            .unwrap();
            saved
        }
        Raw::Server(client) => {
            let saved: String = client
                .query_one(
                    "SELECT string_agg(pg_get_triggerdef(oid) || ';', E'\\n') FROM pg_trigger
                     WHERE NOT tgisinternal AND tgrelid IN ('events'::regclass, 'batches'::regclass)",
                    &[],
                )
                .unwrap()
                .get(0);
            for (name, table) in PG_TRIGGERS {
                client
                    .batch_execute(&format!("DROP TRIGGER {name} ON {table}"))
                    .unwrap();
            }
            saved
        }
    }
}

fn head(s: &Scratch) -> String {
    let out = s.ok(&["verify"]);
    out.lines()
        .find_map(|l| l.strip_prefix("head checkpoint "))
        .unwrap()
        .to_string()
}

/// A log holding what a newer chronicle wrote (an event of a kind or payload schema version
/// this build does not know, or views of a newer version) is refused with "upgrade", never
/// answered from views that leave it out (an older build once did exactly that), and nothing
/// is changed.
#[test]
fn what_a_newer_chronicle_wrote_is_refused_not_left_out() {
    for (change, expected) in [
        (
            "UPDATE events SET schema_version = 9 WHERE seq = 3",
            "event seq 3: a `casualties_reported` event of payload schema version 9, newer than this chronicle reads (up to version 4); a newer chronicle wrote it",
        ),
        (
            "UPDATE events SET kind = 'incident_photographed' WHERE seq = 3",
            "event seq 3: a `incident_photographed` event of payload schema version 3, a kind this chronicle does not know; a newer chronicle wrote it",
        ),
    ] {
        let s = Scratch::new();
        puli_alam(&s);
        let mut raw = open_raw(&s);
        let restore = drop_triggers(&mut raw);
        raw.exec(change);
        raw.exec(&restore);
        let before = s.dump();
        let (code, out, err) = s.run(&["rebuild"]);
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("upgrade chronicle"), "{err}");
        assert_eq!(s.dump(), before, "nothing changed");
    }
    // Views a newer chronicle built are not rebuilt at this build's version.
    let s = Scratch::new();
    puli_alam(&s);
    let mut raw = open_raw(&s);
    raw.exec("UPDATE views_meta SET value = '99' WHERE key = 'views_version'");
    let (code, out, err) = s.run(&["timeline"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains(
            "its views were built by a newer chronicle (views version 99; this one builds version"
        ) && err.contains("upgrade chronicle"),
        "{err}"
    );
}

/// A packed state that does not unpack (SQLite keeps the states packed with LZ4: a damaged
/// page, or a hand edit) is an error that names the incident and says what mends it, never a
/// panic or a wrong answer; `rebuild` makes the views anew from the events. SQLite-only:
/// PostgreSQL keeps its states as JSON text.
#[test]
fn a_damaged_stored_state_is_named_and_rebuild_mends_it() {
    let s = Scratch::new();
    if s.pg.is_some() {
        return;
    }
    puli_alam(&s);
    let (_, shown, _) = s.run(&["show", "2020-07-30-puli-alam"]);
    let raw = Connection::open(s.db()).unwrap();
    for damage in ["x'0800000000ffff'", "x'ffffffff0000'", "'{}'"] {
        raw.execute_batch(&format!(
            "UPDATE view_states SET state = {damage} WHERE incident = '2020-07-30-puli-alam'"
        ))
        .unwrap();
        for args in [
            &["show", "2020-07-30-puli-alam"][..],
            &["export", "--format", "json"],
        ] {
            let (code, out, err) = s.run(args);
            assert_eq!((code, out.as_str()), (1, ""), "{args:?} {damage}: {err}");
            assert!(
                err.contains("the stored state of incident `2020-07-30-puli-alam` (view_states) does not unpack: ")
                    && err.contains("(the view tables are damaged, not the log: `chronicle rebuild` makes them anew from the events)"),
                "{args:?} {damage}: {err}"
            );
        }
    }
    let (code, _, err) = s.run(&["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.run(&["show", "2020-07-30-puli-alam"]).1, shown);
}

#[test]
fn triggers_refuse_update_and_delete() {
    // SQLite only (see the top of this file).
    let s = Scratch::new_sqlite();
    puli_alam(&s);
    let conn = Connection::open(s.db()).unwrap();
    let update = conn
        .execute("UPDATE events SET payload = '{}' WHERE seq = 2", [])
        .unwrap_err()
        .to_string();
    assert!(update.contains("append-only"), "{update}");
    let delete = conn
        .execute("DELETE FROM events WHERE seq = 4", [])
        .unwrap_err()
        .to_string();
    assert!(delete.contains("append-only"), "{delete}");
    let gap = conn
        .execute(
            "INSERT INTO events (seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash)
             VALUES (9, 'x', 'y', 1, 'k', '{}', 1, '2020', 'me', 'h')",
            [],
        )
        .unwrap_err()
        .to_string();
    assert!(gap.contains("without gaps"), "{gap}");
    // The one update let through is a redaction's erasure: not without a redaction of that
    // event, not with anything else changed, and never of the batch records.
    let id2: String = conn
        .query_row("SELECT id FROM events WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    let id3: String = conn
        .query_row("SELECT id FROM events WHERE seq = 3", [], |r| r.get(0))
        .unwrap();
    for sql in [
        format!("UPDATE events SET payload = 'null', salt = NULL, redacted_by = '{id3}' WHERE seq = 2"),
        format!("UPDATE events SET payload = 'null', salt = NULL, redacted_by = 'nothing' WHERE id = '{id2}'"),
        "UPDATE batches SET correlation = 'forged'".to_string(),
        "DELETE FROM batches".to_string(),
    ] {
        let refused = conn.execute(&sql, []).unwrap_err().to_string();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    s.ok(&["verify"]);
}

/// Each tampering, done with the triggers dropped, is caught, naming the first bad event.
#[test]
fn verify_names_the_first_tampered_event() {
    let cases: Vec<(&str, &str)> = vec![
        ("changed payload", "UPDATE events SET payload = replace(payload, '\"killed\":8', '\"killed\":80') WHERE seq = 3"),
        ("changed recorded time", "UPDATE events SET recorded_at = '2020-07-30T17:00:00.000000Z' WHERE seq = 3"),
        ("changed recorder", "UPDATE events SET recorded_by = 'someone else' WHERE seq = 2"),
        ("deleted row", "DELETE FROM events WHERE seq = 2"),
        ("reordered pair", "UPDATE events SET seq = -2 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = -2"),
        ("forged event appended", "INSERT INTO events SELECT 5, 'forged', incident, 5, kind, payload, schema_version, recorded_at, recorded_by, hash, format, salt, commitment, batch, redacted_by FROM events WHERE seq = 4"),
        ("payload erased without a redaction", "UPDATE events SET payload = 'null', salt = NULL, redacted_by = 'nothing' WHERE seq = 3"),
        ("batch record altered", "UPDATE batches SET correlation = 'forged'"),
        ("time going backwards, hashes recomputed", "UPDATE events SET recorded_at = '2020-07-30T10:00:00.000000Z' WHERE seq = 4"),
    ];
    let mut transcript = String::new();
    for (what, sql) in cases {
        let s = Scratch::new();
        puli_alam(&s);
        let mut raw = open_raw(&s);
        drop_triggers(&mut raw);
        raw.exec(sql);
        if what.contains("hashes recomputed") {
            rechain(&s, &mut raw);
        }
        drop(raw);
        let (code, out, err) = s.run(&["verify"]);
        assert_eq!(code, 1, "{what}: {out}{err}");
        transcript.push_str(&format!("## {what}\n{out}{err}\n"));
    }
    insta::assert_snapshot!(transcript);
}

/// Recomputes every hash as a forger who knows the algorithm would.
fn rechain(s: &Scratch, raw: &mut Raw) {
    use chronicle_core::hash::GENESIS;
    let events = chronicle_core::EventLog::open(s.db())
        .unwrap()
        .events(&Default::default())
        .unwrap();
    let mut prev = GENESIS;
    for mut event in events {
        // The commitment too, for an event of the log format 2 whose payload changed.
        let mut commitment_now = None;
        if let chronicle_core::Seal::V2 {
            commitment,
            salt: Some(salt),
            ..
        } = &mut event.seal
        {
            *commitment = chronicle_core::hash::payload_commitment(salt, &event.payload);
            commitment_now = Some(*commitment);
        }
        let h = event.recompute_hash(&prev).unwrap().unwrap();
        raw.set_hash(
            event.seq,
            &hex::encode(h),
            commitment_now.as_ref().map(|c| &c[..]),
        );
        prev = h;
    }
}

#[test]
fn a_rewritten_chain_is_caught_by_an_earlier_checkpoint() {
    let s = Scratch::new();
    puli_alam(&s);
    let checkpoint = head(&s);
    s.ok(&["verify", "--checkpoint", &checkpoint]);
    // A forger changes a figure and recomputes every hash: the chain is self-consistent...
    let mut raw = open_raw(&s);
    let triggers = drop_triggers(&mut raw);
    raw.exec("UPDATE events SET payload = replace(payload, '\"killed\":17', '\"killed\":7') WHERE seq = 2");
    rechain(&s, &mut raw);
    raw.exec(&triggers);
    drop(raw);
    s.ok(&["verify"]);
    // ...but no longer extends the checkpoint a reader kept.
    let (code, out, _) = s.run(&["verify", "--checkpoint", &checkpoint]);
    assert_eq!(code, 1);
    assert!(out.contains("NOT matched"), "{out}");
    // Deleting the tail is caught by the checkpoint too.
    let s = Scratch::new();
    puli_alam(&s);
    let checkpoint = head(&s);
    let mut raw = open_raw(&s);
    drop_triggers(&mut raw);
    raw.exec("DELETE FROM events WHERE seq = 4");
    drop(raw);
    let (code, out, _) = s.run(&["verify", "--checkpoint", &checkpoint]);
    assert_eq!(code, 1, "{out}");
    // PostgreSQL has two guards more (TRUNCATE of events and batches, which SQLite has not):
    // the snapshot lists the file's five.
    let out = out
        .replace(", events_no_truncate", "")
        .replace(", batches_no_truncate", "");
    insta::assert_snapshot!(out.replace(&checkpoint, "[CHECKPOINT]"));
}

#[test]
fn dropped_triggers_fail_verification() {
    let s = Scratch::new();
    puli_alam(&s);
    drop_triggers(&mut open_raw(&s));
    let (code, out, _) = s.run(&["verify"]);
    assert_eq!(code, 1);
    assert!(out.contains("append-only triggers are missing"), "{out}");
}

#[test]
fn bad_checkpoint_text_is_bad_input() {
    let s = Scratch::new();
    let (code, _, err) = s.run(&["verify", "--checkpoint", "12:nothex"]);
    assert_eq!(code, 2);
    assert!(err.contains("SEQ:HASH"), "{err}");
}

/// Two real processes append at once, many times each: no gaps, nothing lost.
#[test]
fn concurrent_processes_lose_nothing() {
    let s = Scratch::new();
    s.ok(&[
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
        "S0",
        "--killed",
        "1",
    ]);
    const PER_WRITER: usize = 40;
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let input: String = (0..PER_WRITER)
                .map(|i| format!("{{\"incident\":\"a\",\"kind\":\"casualties_reported\",\"payload\":{{\"source\":\"writer{w}-{i}\",\"killed\":{i}}}}}\n"))
                .collect();
            let db = s.db();
            std::thread::spawn(move || {
                let mut ok = 0;
                for line in input.lines() {
                    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("chronicle"))
                        .args(["--db", db.to_str().unwrap(), "append", "--by", "writer", "-"])
                        .stdin(std::process::Stdio::piped())
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .and_then(|mut child| {
                            use std::io::Write;
                            child.stdin.take().unwrap().write_all(format!("{line}\n").as_bytes())?;
                            child.wait_with_output()
                        })
                        .unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let appended: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(appended, 2 * PER_WRITER);
    let out = s.ok(&["verify"]);
    assert!(
        out.contains(&format!("{} events", 2 + 2 * PER_WRITER)),
        "{out}"
    );
    let dump = s.dump();
    for w in 0..2 {
        for i in 0..PER_WRITER {
            assert!(
                dump.contains(&format!("\"writer{w}-{i}\"")),
                "writer{w}-{i} lost"
            );
        }
    }
}
