//! Shared helpers for the CLI tests: a scratch directory with a log, a fixed clock and user.
//!
//! With `CHRONICLE_TEST_BACKEND=postgres`, a `Scratch`'s log is a fresh PostgreSQL database
//! instead of `events.db` (see [`pg`]): the same tests then run against the PostgreSQL
//! backend, and the connection string reads as `[DIR]/events.db` in their output, so that
//! their snapshots hold on both backends.
#![allow(dead_code, clippy::unwrap_used)]

pub mod pg;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A scratch directory holding `events.db` (or, on PostgreSQL, a database of its own).
pub struct Scratch {
    pub dir: tempfile::TempDir,
    /// The connection string of the log, when the tests run against PostgreSQL.
    pub pg: Option<String>,
    /// On PostgreSQL, the databases that stand for the other log files a test names
    /// (`backup.db`, `a.db`): (name, connection string); see [`Scratch::log`].
    others: RefCell<Vec<(String, String)>>,
}

impl Scratch {
    /// A scratch directory with an initialised log.
    pub fn new() -> Scratch {
        let s = Scratch::empty();
        s.ok(&["init"]);
        s
    }

    /// A scratch directory with a copy of the demo log (`events.db`): the committed file is
    /// never written by a test.
    pub fn demo() -> Scratch {
        Scratch::copy_of(&repo_root().join("events.db"))
    }

    /// A scratch directory with a copy of the demo log as first shipped, before the status
    /// corrections were appended: its 38 events, schema version 1 and format 1, no status
    /// (`tests/data/v1/events-schema1.db`).
    pub fn demo_before_statuses() -> Scratch {
        Scratch::copy_of(&repo_root().join("tests/data/v1/events-schema1.db"))
    }

    /// A scratch directory with a copy of the log file `source`, on the backend under test.
    fn copy_of(source: &Path) -> Scratch {
        let s = Scratch::empty();
        if s.pg.is_none() {
            std::fs::copy(source, s.db()).unwrap();
            return s;
        }
        // On PostgreSQL: the log copied into the scratch database, event for event.
        let file = s.path("demo-source.db");
        std::fs::copy(source, &file).unwrap();
        let to = s.db();
        let out = s
            .cmd(&[
                "--db",
                file.to_str().unwrap(),
                "copy",
                "--to",
                to.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        s
    }

    /// A scratch directory with no log (on PostgreSQL, an empty database).
    pub fn empty() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
            pg: pg::backend_is_postgres().then(pg::database),
            others: RefCell::default(),
        }
    }

    /// A scratch directory whose log is a new PostgreSQL database, whatever the backend.
    pub fn postgres() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
            pg: Some(pg::database()),
            others: RefCell::default(),
        }
    }

    /// [`Scratch::demo`] as an SQLite file, whatever the backend (for the tests that open
    /// the file itself).
    pub fn demo_sqlite() -> Scratch {
        let s = Scratch::sqlite();
        std::fs::copy(repo_root().join("events.db"), s.db()).unwrap();
        s
    }

    /// [`Scratch::new`] as an SQLite file, whatever the backend.
    pub fn new_sqlite() -> Scratch {
        let s = Scratch::sqlite();
        s.ok(&["init"]);
        s
    }

    /// A scratch directory whose log is an SQLite file, whatever the backend.
    pub fn sqlite() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
            pg: None,
            others: RefCell::default(),
        }
    }

    /// The log: `events.db` in the directory, or the database's connection string.
    pub fn db(&self) -> PathBuf {
        match &self.pg {
            Some(url) => PathBuf::from(url),
            None => self.dir.path().join("events.db"),
        }
    }

    /// The log a test names by a file name of the scratch directory (`events.db`,
    /// `backup.db`): that file, or on PostgreSQL a database of its own (made on first use;
    /// `events.db` is [`Scratch::db`]).
    pub fn log(&self, name: &str) -> PathBuf {
        let Some(main) = &self.pg else {
            return self.path(name);
        };
        if name == "events.db" {
            return PathBuf::from(main);
        }
        let mut others = self.others.borrow_mut();
        if let Some((_, url)) = others.iter().find(|(n, _)| n == name) {
            return PathBuf::from(url);
        }
        let url = pg::database();
        others.push((name.to_string(), url.clone()));
        PathBuf::from(url)
    }

    /// `text` with the connection strings of the other logs ([`Scratch::log`]) as their
    /// file names would read: `[DIR]/NAME` for `opened` (the log given to `--db`, as an
    /// absolute path), `NAME` for the others (given as relative paths, e.g. to `--to`).
    pub fn name_logs(&self, text: &str, opened: &str) -> String {
        let mut others = self.others.borrow().clone();
        // Longest first: `.../t_1_1` is a prefix of `.../t_1_12`.
        others.sort_by_key(|(_, url)| std::cmp::Reverse(url.len()));
        let mut text = text.to_string();
        for (name, url) in others {
            let shown = if name == opened {
                format!("[DIR]/{name}")
            } else {
                name.clone()
            };
            text = text.replace(&pg::shown(&url), &shown).replace(&url, &shown);
        }
        text
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The command, run in the scratch dir against its log, at a fixed time.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_at("2020-07-31T08:00:00Z", args)
    }

    pub fn cmd_at(&self, now: &str, args: &[&str]) -> Command {
        Command::from_std(self.std_cmd_at(now, args))
    }

    /// [`Scratch::cmd_at`] as a `std::process::Command`, for tests that wire its pipes.
    pub fn std_cmd_at(&self, now: &str, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_chronicle"));
        // On PostgreSQL, `--db events.db` (the scratch log by its file name) is the database.
        let args: Vec<String> = args
            .iter()
            .enumerate()
            .map(|(i, a)| match &self.pg {
                Some(url) if *a == "events.db" && i > 0 && args[i - 1] == "--db" => url.clone(),
                _ => (*a).to_string(),
            })
            .collect();
        c.current_dir(self.dir.path())
            .env("CHRONICLE_DB", self.db())
            .env("CHRONICLE_FAKE_NOW", now)
            .env("CHRONICLE_USER", "editor")
            .env_remove("CHRONICLE_PLUGIN_PATH")
            .args(args);
        c
    }

    /// Runs and returns (exit code, stdout, stderr) with the scratch path replaced by `[DIR]`.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_output(self.cmd(args).output().unwrap())
    }

    pub fn run_at(&self, now: &str, args: &[&str]) -> (i32, String, String) {
        self.run_output(self.cmd_at(now, args).output().unwrap())
    }

    pub fn run_output(&self, out: Output) -> (i32, String, String) {
        let dir = self.dir.path().display().to_string();
        let clean = |b: &[u8]| {
            let mut s = String::from_utf8_lossy(b).into_owned();
            if let Some(url) = &self.pg {
                // The log's name as chronicle prints it (no password), then as given.
                s = s.replace(&pg::shown(url), &format!("{dir}/events.db"));
                s = s.replace(url.as_str(), &format!("{dir}/events.db"));
            }
            s.replace(&dir, "[DIR]")
        };
        (
            out.status.code().unwrap_or(-1),
            clean(&out.stdout),
            clean(&out.stderr),
        )
    }

    /// Runs, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "chronicle {args:?} failed:\n{out}\n{err}");
        out
    }

    pub fn ok_at(&self, now: &str, args: &[&str]) -> String {
        let (code, out, err) = self.run_at(now, args);
        assert_eq!(code, 0, "chronicle {args:?} failed:\n{out}\n{err}");
        out
    }

    /// Runs with standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        self.run_output(self.cmd(args).write_stdin(stdin).output().unwrap())
    }

    /// The whole log as JSON Lines (for "nothing changed" checks).
    pub fn dump(&self) -> String {
        self.ok(&["log", "--json"])
    }

    /// Writes a file into the scratch dir.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

/// The Puli Alam scenario: first report by AFP, the Ministry of Defense, a denial.
pub fn puli_alam(s: &Scratch) {
    s.ok_at(
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
            "--target",
            "Afghan security forces",
            "--source",
            "AFP",
            "--published",
            "2020-07-30T13:00:00Z",
            "--killed",
            "17",
            "--wounded",
            "21",
        ],
    );
    s.ok_at(
        "2020-07-30T16:00:00Z",
        &[
            "report",
            "--incident",
            "2020-07-30-puli-alam",
            "--source",
            "Ministry of Defense",
            "--published",
            "2020-07-30",
            "--killed",
            "8",
            "--wounded",
            "30",
        ],
    );
    s.ok_at(
        "2020-07-30T18:00:00Z",
        &[
            "responsibility",
            "--incident",
            "2020-07-30-puli-alam",
            "--actor",
            "Taliban",
            "--source",
            "Taliban spokesman",
            "--denied",
            "--published",
            "2020-07-30",
        ],
    );
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A plugin directory `plugins` in `s` holding the shipped plugins of `packages` (package
/// names, `chronicle-plugin-markdown`...), built for the test with
/// `chronicle_plugin_host::testing::build_cdylibs`, with the modes the host accepts.
pub fn plugin_dir(s: &Scratch, packages: &[&str]) -> PathBuf {
    let libs =
        chronicle_plugin_host::testing::build_cdylibs(&repo_root().join("Cargo.toml"), packages)
            .unwrap_or_else(|e| panic!("building the plugins failed: {e}"));
    let dir = s.path("plugins");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o755);
    for package in packages {
        let target = package.replace('-', "_");
        std::fs::copy(
            &libs[&target],
            dir.join(chronicle_plugin_host::plugin_file_name(&target)),
        )
        .unwrap();
    }
    dir
}

/// Sets a file's mode (the plugin host refuses libraries and directories others can write).
#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets a file's mode (nothing to do where there are no modes).
#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) {}

/// The lines of `log --json` (`dump`) rewritten as an older chronicle wrote them, for
/// `append --restore`: `rewrite` changes each event's payload and payload schema version
/// (given its kind), and every event is sealed in the log format 1 with its hash chain
/// recomputed, so that the upcasters are what read the result.
pub fn as_older_log(
    dump: &str,
    rewrite: impl Fn(&str, &mut serde_json::Value, &mut u32),
) -> String {
    let hex = |bytes: &[u8; 32]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
    let mut prev = chronicle_core::hash::GENESIS;
    let mut lines = String::new();
    for line in dump.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let kind = e["kind"].as_str().unwrap();
        let mut payload = e["payload"].clone();
        let mut schema_version = u32::try_from(e["schema_version"].as_u64().unwrap()).unwrap();
        rewrite(kind, &mut payload, &mut schema_version);
        let payload = payload.to_string();
        let (seq, version) = (e["seq"].as_u64().unwrap(), e["version"].as_u64().unwrap());
        let hash = chronicle_core::hash::event_hash(
            &prev,
            &chronicle_core::hash::HashedFields {
                seq,
                id: e["id"].as_str().unwrap(),
                incident: e["incident"].as_str().unwrap(),
                version,
                kind,
                schema_version,
                recorded_at: e["recorded_at"].as_str().unwrap(),
                recorded_by: e["recorded_by"].as_str().unwrap(),
                payload: &payload,
            },
        );
        let old = serde_json::json!({
            "id": e["id"], "incident": e["incident"], "kind": kind,
            "payload": serde_json::from_str::<serde_json::Value>(&payload).unwrap(),
            "seq": seq, "version": version, "schema_version": schema_version,
            "recorded_at": e["recorded_at"], "recorded_by": e["recorded_by"],
            "prev_hash": hex(&prev), "hash": hex(&hash),
        });
        lines.push_str(&old.to_string());
        lines.push('\n');
        prev = hash;
    }
    lines
}

/// How many times the reliability trials repeat (`CHRONICLE_SOAK=N`; 1 in CI: see
/// RELIABILITY.md).
pub fn soak() -> usize {
    std::env::var("CHRONICLE_SOAK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}
