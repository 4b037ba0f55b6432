//! The PostgreSQL server's own crash during a large append, on the tests' own cluster
//! (tests/common/pg.rs): `pg_ctl stop -m immediate` (no checkpoint, recovery from the
//! write-ahead log at the next start) or a SIGKILL of the postmaster, at deterministic
//! moments spread over the append. After each, once the server is up again: the append
//! landed whole or not at all, `verify` passes, the views equal a rebuild, the same command
//! run again completes it (the event ids make it idempotent) and a third run adds nothing.
//!
//! CI runs 2 crashes (one of each); `CHRONICLE_SOAK=N` runs 2N (see RELIABILITY.md). The
//! concurrency and client-SIGKILL trials on PostgreSQL are those of `tests/reliability.rs`,
//! run with `CHRONICLE_TEST_BACKEND=postgres`. This file holds one test: it stops the
//! cluster of its test binary, which no other test then shares.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::pg;

fn chronicle(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chronicle"));
    c.args(["--db", url])
        .env("CHRONICLE_USER", "trial")
        .env_remove("CHRONICLE_DB")
        .env_remove("CHRONICLE_FAKE_NOW");
    c
}

/// Runs chronicle, asserts success, returns its standard output.
fn ok(url: &str, args: &[&str]) -> String {
    let out = chronicle(url).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "chronicle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `incidents` incidents of two events each, every event with an id.
fn batch(incidents: usize) -> String {
    let mut out = String::new();
    for i in 0..incidents {
        out.push_str(&format!(
            "{{\"id\":\"pg-{i}-1\",\"incident\":\"pg-{i}\",\"kind\":\"incident_reported\",\"payload\":{{\"date\":\"2021-03-{:02}\",\"province\":\"Kunduz\",\"category\":\"armed clash\",\"summary\":\"synthetic incident {i} for the server crash trial, with a summary of realistic length\"}}}}\n",
            1 + i % 28
        ));
        out.push_str(&format!(
            "{{\"id\":\"pg-{i}-2\",\"incident\":\"pg-{i}\",\"kind\":\"casualties_reported\",\"payload\":{{\"source\":\"AFP\",\"published\":\"2021-03-29\",\"killed\":{}}}}}\n",
            i % 17
        ));
    }
    out
}

/// The number of events `verify` finds (it must pass).
fn verified_count(url: &str) -> u64 {
    let v = ok(url, &["verify"]);
    if v.contains(": 0 events") || v.contains("is empty") {
        return 0;
    }
    v.split(" events,")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{v}"))
}

fn assert_views_equal_rebuild(url: &str) {
    let before = (ok(url, &["timeline", "--json"]), ok(url, &["export"]));
    ok(url, &["rebuild"]);
    let after = (ok(url, &["timeline", "--json"]), ok(url, &["export"]));
    assert!(before == after, "the views differ from a rebuild");
}

fn append(url: &str, file: &Path) -> std::process::Child {
    chronicle(url)
        .arg("append")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_server_crash_during_a_10000_event_append_lands_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.jsonl");
    std::fs::write(&file, batch(5_000)).unwrap();
    let total = 10_000;
    // How long a whole append takes here, to spread the crashes over it.
    let probe = pg::database();
    ok(&probe, &["init"]);
    let start = Instant::now();
    assert!(append(&probe, &file).wait().unwrap().success());
    let full = start.elapsed();

    let trials = 2 * common::soak();
    let (mut landed, mut rolled_back, mut lost_but_landed) = (0, 0, 0);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for trial in 0..trials {
        let url = pg::database();
        ok(&url, &["init"]);
        // The test cluster runs with `synchronous_commit=off` for speed, under which a commit
        // the client was told of may be lost in a crash; a server that promises durability
        // (the default, `on`) is what this trial is about.
        pg::admin("postgres")
            .batch_execute(&format!(
                "ALTER DATABASE {} SET synchronous_commit = on",
                pg::db_name(&url)
            ))
            .unwrap();
        let child = append(&url, &file);
        // xorshift: deterministic moments between 0.1 and 1.1 times the full append.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(full.mul_f64(0.1 + (seed % 1000) as f64 / 1000.0));
        let how = if trial % 2 == 0 {
            pg::stop_immediate();
            "pg_ctl stop -m immediate"
        } else {
            pg::kill_postmaster();
            "SIGKILL of the postmaster"
        };
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{how}: {err}");
        assert!(!err.contains(pg::ADMIN_PASSWORD), "{how}: {err}");
        pg::start_again();
        let n = verified_count(&url);
        assert!(
            n == 0 || n == total,
            "trial {trial} ({how}): {n} events after the crash: the append half-landed"
        );
        if n == total && !out.status.success() {
            // The commit reached the server, its answer did not reach the client.
            lost_but_landed += 1;
        }
        if n == total {
            landed += 1;
        } else {
            assert_eq!(out.status.code(), Some(1), "{how}: {err}");
            assert!(err.contains("run it again"), "{how}: {err}");
            rolled_back += 1;
        }
        assert_views_equal_rebuild(&url);
        // The same command again completes it; a third run adds nothing.
        for _ in 0..2 {
            assert!(append(&url, &file).wait().unwrap().success());
            assert_eq!(verified_count(&url), total);
        }
        assert_views_equal_rebuild(&url);
        // Each trial's database is dropped: the server's disk stays small.
        pg::admin("postgres")
            .batch_execute(&format!("DROP DATABASE {}", pg::db_name(&url)))
            .unwrap();
    }
    eprintln!(
        "{trials} server crashes during a {total}-event append (full append {full:?}): {landed} landed whole ({lost_but_landed} of them with the client told the connection was lost), {rolled_back} rolled back, 0 inconsistent"
    );
}
