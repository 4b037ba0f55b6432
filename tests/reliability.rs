//! Reliability trials with real processes: SIGKILL during a large append, many concurrent
//! writers with and without expected versions while readers verify, a read-only file and a
//! full disk. The quick versions run in CI; `CHRONICLE_SOAK=N` multiplies the trials
//! (see RELIABILITY.md).
//!
//! With `CHRONICLE_TEST_BACKEND=postgres` the SIGKILL and concurrency trials run on
//! PostgreSQL (each log a database of the tests' cluster); the full-disk and read-only
//! trials are about the file and its medium, and keep an SQLite file on either backend.
//! The server's own crash (`pg_ctl stop -m immediate`, a killed postmaster) is tried in
//! `tests/postgres_trials.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::Scratch;

/// A new, uninitialised log of the backend under test: the file `name` in the scratch
/// directory, or a new database on PostgreSQL.
fn fresh_log(s: &Scratch, name: &str) -> PathBuf {
    if s.pg.is_some() {
        PathBuf::from(common::pg::database())
    } else {
        s.path(name)
    }
}

fn chronicle(db: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("chronicle"));
    c.arg("--db")
        .arg(db)
        .env("CHRONICLE_USER", "trial")
        .env_remove("CHRONICLE_FAKE_NOW");
    c
}

/// A large batch with client ids, so that re-running it is idempotent.
fn big_batch(incidents: usize) -> String {
    let mut out = String::new();
    for i in 0..incidents {
        out.push_str(&format!(
            "{{\"id\":\"big-{i}-1\",\"incident\":\"big-{i}\",\"kind\":\"incident_reported\",\"payload\":{{\"date\":\"2021-03-{:02}\",\"province\":\"Kunduz\",\"category\":\"armed clash\",\"summary\":\"synthetic incident {i} for the crash trial, with a summary of realistic length to make the payload about three hundred bytes long\"}}}}\n",
            1 + i % 28
        ));
        out.push_str(&format!(
            "{{\"id\":\"big-{i}-2\",\"incident\":\"big-{i}\",\"kind\":\"casualties_reported\",\"payload\":{{\"source\":\"AFP\",\"published\":\"2021-03-29\",\"killed\":{},\"wounded\":\"{}-{}\"}}}}\n",
            i % 17,
            i % 5,
            i % 5 + 3
        ));
    }
    out
}

/// The current views, then the views after `rebuild`: they must be equal.
fn assert_views_equal_rebuild(db: &Path) {
    let views = |args: &[&str]| {
        let out = chronicle(db).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let before = (
        views(&["timeline", "--json"]),
        views(&["sources", "--json"]),
    );
    views(&["rebuild"]);
    let after = (
        views(&["timeline", "--json"]),
        views(&["sources", "--json"]),
    );
    assert!(
        before == after,
        "the incrementally maintained views differ from a rebuild"
    );
}

fn event_count(db: &Path) -> u64 {
    let out = chronicle(db).arg("verify").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "verify failed after a crash:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .split(" events,")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            if stdout.contains("is empty") {
                0
            } else {
                panic!("{stdout}")
            }
        })
}

#[test]
fn sigkill_during_append_lands_whole_or_not_at_all() {
    let s = Scratch::new();
    let batch = s.write("big.jsonl", &big_batch(2_000));
    let total = 4_000u64;
    // How long a whole append takes here, to spread the kills over it.
    let probe = fresh_log(&s, "probe.db");
    chronicle(&probe).arg("init").output().unwrap();
    let start = Instant::now();
    assert!(chronicle(&probe)
        .arg("append")
        .arg(&batch)
        .output()
        .unwrap()
        .status
        .success());
    let full = start.elapsed();

    let trials = 6 * common::soak();
    let mut landed = 0;
    let mut rolled_back = 0;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for trial in 0..trials {
        let db = fresh_log(&s, &format!("crash-{trial}.db"));
        chronicle(&db).arg("init").output().unwrap();
        let mut child = chronicle(&db)
            .arg("append")
            .arg(&batch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // xorshift: a deterministic spread of kill moments between 0 and 1.2x the full time.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = full.mul_f64((seed % 1000) as f64 / 1000.0 * 1.2);
        std::thread::sleep(delay);
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        let n = event_count(&db);
        assert!(
            n == 0 || n == total,
            "trial {trial}: {n} events after SIGKILL: the batch half-landed"
        );
        assert_views_equal_rebuild(&db);
        if n == total {
            landed += 1;
        } else {
            rolled_back += 1;
        }
        // Re-running the import completes it, and re-running again adds nothing.
        assert!(chronicle(&db)
            .arg("append")
            .arg(&batch)
            .output()
            .unwrap()
            .status
            .success());
        assert_eq!(event_count(&db), total);
        assert!(chronicle(&db)
            .arg("append")
            .arg(&batch)
            .output()
            .unwrap()
            .status
            .success());
        assert_eq!(event_count(&db), total);
    }
    eprintln!("{trials} SIGKILLs during append: {landed} landed whole, {rolled_back} rolled back, 0 inconsistent (full append {full:?})");
}

/// Writers append reports, some stating the version they expect; readers verify all along.
#[test]
fn concurrent_writers_and_readers() {
    let s = Scratch::new();
    let db = s.db();
    seed_incidents(&db);
    let writers = 4;
    let per_writer = 25 * common::soak();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = verify_until(&db, stop.clone());
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || write_reports(&db, w, per_writer))
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for h in handles {
        let (o, r) = h.join().unwrap();
        ok += o;
        refused += r;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert_eq!(ok + refused, (writers * per_writer) as u64);
    // Every acknowledged append is there, exactly once, and nothing else.
    assert_eq!(event_count(&db), 8 + ok);
    let dump = String::from_utf8(
        chronicle(&db)
            .args(["log", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let reports = dump
        .lines()
        .filter(|l| l.contains("\"source\":\"w"))
        .count() as u64;
    assert_eq!(reports, ok);
    assert_views_equal_rebuild(&db);
    eprintln!("{writers} writers x {per_writer} appends: {ok} appended, {refused} refused as stale, 0 lost; {reads} verifies during the writes, all consistent");
}

/// Four incidents (`inc-0` to `inc-3`) for the writers to report on: eight events.
fn seed_incidents(db: &Path) {
    for i in 0..4 {
        let out = chronicle(db)
            .args([
                "report",
                "--incident",
                &format!("inc-{i}"),
                "--date",
                "2021-01-01",
                "--province",
                "Kabul",
                "--category",
                "x",
                "--source",
                "seed",
                "--killed",
                "1",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
}

/// A thread that verifies the log until `stop`, asserting it is consistent each time;
/// returns how many times it verified.
fn verify_until(
    db: &Path,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    let db = db.to_path_buf();
    std::thread::spawn(move || {
        let mut reads = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let out = chronicle(&db).arg("verify").output().unwrap();
            assert!(
                out.status.success(),
                "a reader saw an inconsistent log: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            reads += 1;
        }
        reads
    })
}

/// Writer `w`'s `per_writer` reports, every other one stating the version it expects; returns
/// how many were appended and how many refused as stale.
fn write_reports(db: &Path, w: usize, per_writer: usize) -> (u64, u64) {
    let (mut ok, mut refused) = (0u64, 0u64);
    for i in 0..per_writer {
        let incident = format!("inc-{}", i % 4);
        let mut c = chronicle(db);
        c.args([
            "report",
            "--incident",
            &incident,
            "--source",
            &format!("w{w}-{i}"),
            "--killed",
            "2",
        ]);
        if i % 2 == 1 {
            // A version read a moment ago: often stale under contention.
            let v = chronicle(db)
                .args(["log", "--incident", &incident, "--json"])
                .output()
                .unwrap();
            let version = String::from_utf8_lossy(&v.stdout).lines().count();
            c.args(["--expect-version", &version.to_string()]);
        }
        let out = c.output().unwrap();
        match out.status.code() {
            Some(0) => ok += 1,
            Some(2) => {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("but the append expected version"), "{err}");
                refused += 1;
            }
            other => panic!(
                "writer {w}: exit {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    (ok, refused)
}

/// Runs `f` with a scratch directory on a tmpfs of `size` (root only: elsewhere the trial is
/// reported as not run, and passes, since it cannot be tried).
fn with_tmpfs(size: &str, f: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir.path())
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("NOT RUN: cannot mount a tmpfs here (needs root)");
        return;
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(dir.path())));
    Command::new("umount").arg(dir.path()).output().ok();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn full_disk_is_a_clear_error_and_the_log_stays_intact() {
    // SQLite only: the log is a file on the full tmpfs, whatever the backend under test.
    with_tmpfs("600k", |dir| {
        let db = dir.join("events.db");
        assert!(chronicle(&db)
            .arg("init")
            .output()
            .unwrap()
            .status
            .success());
        let small = big_batch(3);
        let mut c = chronicle(&db)
            .args(["append", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(small.as_bytes()).unwrap();
        assert!(c.wait().unwrap().success());
        // Fill the disk with another file, then try a large append.
        let filler = dir.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        drop(f);
        let more = big_batch(2_000).replace("big-", "more-");
        let mut c = chronicle(&db)
            .args(["append", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(more.as_bytes()).ok();
        let out = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("disk may be full") || err.contains("disk is full"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        std::fs::remove_file(&filler).unwrap();
        assert_eq!(
            event_count(&db),
            6,
            "the log changed or broke after a full disk"
        );
    });
}

#[test]
fn read_only_log_refuses_writes_and_still_reads() {
    // SQLite only: a read-only medium is a file's (a PostgreSQL reader is tried in
    // tests/postgres.rs).
    let s = Scratch::new_sqlite();
    common::puli_alam(&s);
    with_tmpfs("10m", |dir| {
        let rw = dir.join("rw");
        std::fs::create_dir(&rw).unwrap();
        std::fs::copy(s.db(), rw.join("events.db")).unwrap();
        let ro = dir.join("ro");
        std::fs::create_dir(&ro).unwrap();
        let bind = Command::new("mount")
            .args(["--bind", "-o", "ro"])
            .arg(&rw)
            .arg(&ro)
            .output()
            .unwrap();
        assert!(
            bind.status.success(),
            "{}",
            String::from_utf8_lossy(&bind.stderr)
        );
        let db = ro.join("events.db");
        let before = std::fs::read(&db).unwrap();
        let out = chronicle(&db)
            .args([
                "report",
                "--incident",
                "2020-07-30-puli-alam",
                "--source",
                "X",
                "--killed",
                "1",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        Command::new("umount").arg(&ro).output().ok();
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("read-only") || err.contains("readonly"),
            "{err}"
        );
        assert!(!err.contains("panicked"));
        assert_eq!(std::fs::read(rw.join("events.db")).unwrap(), before);
    });
}
