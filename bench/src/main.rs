//! `chronicle-bench`: measures the `chronicle` command on synthetic chronologies, each figure
//! next to a bare baseline measured in the same run (see `BENCHMARKS.md`).
//!
//! Every measurement runs in its own child process (the `chronicle` binary, or this binary
//! re-run with `__child TASK ...` for the baselines), so that its peak RSS can be read with
//! `wait4`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod pg;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rusqlite::Connection;

mod peer;

/// The baselines run with the allocator `chronicle` runs with, so that a ratio compares the
/// work done, not two allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmarks of chronicle against bare SQLite baselines.
#[derive(Debug, Parser)]
#[command(name = "chronicle-bench")]
struct Args {
    /// Sizes of the chronologies, in events (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    size: Vec<u64>,
    /// The seed of the generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Quick run that only checks that every benchmark still works (few repetitions).
    #[arg(long)]
    smoke: bool,
    /// Where the logs and chronologies go (default: a directory under the system temp dir,
    /// removed afterwards unless --keep).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the generated files.
    #[arg(long)]
    keep: bool,
    /// The chronicle binary (default: next to this one, built with cargo if missing).
    #[arg(long)]
    chronicle: Option<PathBuf>,
    /// Directory of export plugin libraries, for `export --format X --plugin-dir DIR`.
    #[arg(long)]
    plugin_dir: Option<PathBuf>,
    /// Timed repetitions of the single CLI append (median reported).
    #[arg(long, default_value_t = 15)]
    appends: usize,
    /// Also print the table as Markdown.
    #[arg(long)]
    markdown: bool,
    /// Only write the chronology of the first --size to standard output, as JSON Lines.
    #[arg(long)]
    generate: bool,
    /// Skip the peer (Python `eventsourcing`) even when it is available.
    #[arg(long)]
    no_python: bool,
    /// The Python interpreter of the peer, which must import `eventsourcing` (default: the
    /// virtualenv `bench-venv` beside the target directory of this binary, made with
    /// `pip install eventsourcing==9.5.*` when missing).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Run the PostgreSQL benchmarks instead, on this server: `postgres://USER[:PASSWORD]@HOST[:PORT]`
    /// of a role that may create databases (no database name; see BENCHMARKS.md).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Appends per writer in the PostgreSQL concurrency runs (single events; a fifth as many
    /// 50-event batches).
    #[arg(long, default_value_t = 50)]
    per_writer: usize,
}

/// What a child process did: wall time, the time it measured itself (baselines time only
/// their work, not their set-up), peak RSS, bytes it wrote to stdout.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    timed: Option<Duration>,
    max_rss_kb: u64,
    out_bytes: u64,
}

impl Run {
    fn time(&self) -> Duration {
        self.timed.unwrap_or(self.wall)
    }
}

/// Runs `cmd` to completion, counting its stdout, and reads its peak RSS with `wait4`.
/// A child that prints `TIMED <seconds>` lines reports its own timing (their sum).
fn run(cmd: &mut Command, what: &str) -> Result<Run> {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let mut stdout = child.stdout.take().context("child stdout")?;
    let mut stderr = child.stderr.take().context("child stderr")?;
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut out_bytes = 0u64;
    let mut tail = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = stdout.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out_bytes += n as u64;
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 4096);
        }
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std only reaps in `wait`, never called
    // here); `status` and `usage` are valid for writes.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if r != pid {
        bail!(
            "wait4 failed for {what}: {}",
            std::io::Error::last_os_error()
        );
    }
    let stderr = err_reader.join().unwrap_or_default();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{what} failed (status {status}): {}", stderr.trim());
    }
    let text = String::from_utf8_lossy(&tail);
    // A child that times several parts prints one line for each: they add up.
    let parts: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("TIMED "))
        .filter_map(|s| s.trim().parse::<f64>().ok())
        .collect();
    let timed = (!parts.is_empty()).then(|| Duration::from_secs_f64(parts.iter().sum()));
    Ok(Run {
        wall,
        timed,
        // Linux reports ru_maxrss in kilobytes.
        max_rss_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        out_bytes,
    })
}

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    size: u64,
    op: String,
    events: u64,
    ours: Duration,
    baseline: Option<(String, Duration)>,
    /// The target, as the largest acceptable ratio ours/baseline (time).
    target: Option<f64>,
    bytes: u64,
    rss_kb: u64,
    note: String,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        self.baseline
            .as_ref()
            .map(|(_, b)| self.ours.as_secs_f64() / b.as_secs_f64().max(1e-9))
    }
}

struct Bench {
    args: Args,
    chronicle: PathBuf,
    me: PathBuf,
    dir: PathBuf,
    rows: Vec<Row>,
    /// Operations that were refused (with why), printed after the table.
    notes: Vec<String>,
    /// The peer's interpreter, found (or made) at its first use; the error says why not.
    python: Option<std::result::Result<PathBuf, String>>,
    /// The peer's projection time at the current size (for the rebuild row).
    peer_projection: Option<Duration>,
}

/// One synthetic chronology under measurement: its JSON Lines and the log built from them.
#[derive(Debug)]
struct Chronology {
    size: u64,
    /// Its own directory (removed afterwards unless --keep).
    dir: PathBuf,
    jsonl: PathBuf,
    db: PathBuf,
    stats: chronicle_bench::Stats,
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 0.01 {
        format!("{:.2} ms", s * 1000.0)
    } else {
        format!("{s:.3} s")
    }
}

impl Bench {
    fn chronicle(&self, db: &Path) -> Command {
        let mut c = Command::new(&self.chronicle);
        c.arg("--quiet").arg("--db").arg(db);
        c.env_remove("CHRONICLE_DB").env("CHRONICLE_USER", "bench");
        c
    }

    fn child(&self, task: &str) -> Command {
        let mut c = Command::new(&self.me);
        c.arg("__child").arg(task);
        c
    }

    fn say(&self, msg: &str) {
        eprintln!("[bench] {msg}");
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        size: u64,
        op: &str,
        events: u64,
        ours: &Run,
        baseline: Option<(&str, Duration)>,
        target: Option<f64>,
        bytes: u64,
        note: &str,
    ) {
        let row = Row {
            size,
            op: op.to_string(),
            events,
            ours: ours.time(),
            baseline: baseline.map(|(n, d)| (n.to_string(), d)),
            target,
            bytes,
            rss_kb: ours.max_rss_kb,
            note: note.to_string(),
        };
        self.say(&format!(
            "{op}: {} (baseline {}), peak RSS {} MB",
            secs(row.ours),
            row.baseline
                .as_ref()
                .map(|(_, d)| secs(*d))
                .unwrap_or_else(|| "-".into()),
            row.rss_kb / 1024
        ));
        self.rows.push(row);
    }

    /// Every measurement at one size, in the order of the table: each step below adds its
    /// rows (and says what it measured on standard error).
    fn size(&mut self, size: u64) -> Result<()> {
        let c = self.generate(size)?;
        let import = self.bench_import(&c)?;
        self.bench_verify(&c)?;
        let rebuild = self.bench_rebuild(&c, &import)?;
        self.bench_views(&c, rebuild)?;
        let states = self.bench_exports(&c)?;
        let incident = self.bench_audit_and_history(&c, states)?;
        self.bench_proofs(&c)?;
        self.bench_single_appends(&c, &incident)?;
        if !self.args.keep {
            let _ = std::fs::remove_dir_all(&c.dir);
        }
        Ok(())
    }

    /// Writes the synthetic chronology of `size` events, in a directory of its own.
    fn generate(&self, size: u64) -> Result<Chronology> {
        let dir = self.dir.join(format!("n{size}"));
        std::fs::create_dir_all(&dir)?;
        let jsonl = dir.join("events.jsonl");
        self.say(&format!(
            "generating {size} events (seed {})",
            self.args.seed
        ));
        let stats = {
            let mut out = BufWriter::new(File::create(&jsonl)?);
            let s = chronicle_bench::write_jsonl(self.args.seed, size, &mut out)?;
            out.flush()?;
            s
        };
        let db = dir.join("log.db");
        let _ = std::fs::remove_file(&db);
        Ok(Chronology {
            size,
            dir,
            jsonl,
            db,
            stats,
        })
    }

    /// Benchmark 1: bulk import, against a bare insert of the same rows (same table, indexes and
    /// triggers, same pragmas, one transaction); then, when installed, against Python's
    /// `eventsourcing`. Returns the import's run.
    fn bench_import(&mut self, c: &Chronology) -> Result<Run> {
        let (size, db, bytes) = (c.size, &c.db, c.stats.bytes);
        run(self.chronicle(db).arg("init"), "chronicle init")?;
        let ours = run(
            self.chronicle(db).arg("append").arg(&c.jsonl),
            "chronicle append",
        )?;
        let base_db = c.dir.join("baseline.db");
        let base = run(
            self.child("insert").arg(db).arg(&base_db),
            "bare insert baseline",
        )?;
        self.push(
            size,
            "import (append JSONL)",
            size,
            &ours,
            Some(("bare INSERT, same rows and indexes", base.time())),
            // The first performance issue's target (<= 1.67) compared a log that keeps views
            // with bare inserts; issue 15 replaced it with the peer and the floor below. A
            // figure only.
            None,
            bytes,
            &format!("{} incidents", c.stats.incidents),
        );
        self.bench_peer(c, &ours)?;
        Ok(ours)
    }

    /// The peer's interpreter, found or made once (a smoke run never makes the virtualenv:
    /// without one the peer is reported unavailable).
    fn peer_python(&mut self) -> std::result::Result<PathBuf, String> {
        if self.python.is_none() {
            let venv = self
                .me
                .parent()
                .and_then(Path::parent)
                .map_or_else(|| self.dir.join("bench-venv"), |t| t.join("bench-venv"));
            let found = if self.args.smoke
                && self.args.python.is_none()
                && !venv.join("bin").join("python").exists()
            {
                Err(format!(
                    "no virtualenv at {} (a smoke run does not make one)",
                    venv.display()
                ))
            } else {
                peer::python(self.args.python.as_deref(), &venv).map_err(|e| format!("{e:#}"))
            };
            self.python = Some(found);
        }
        self.python
            .clone()
            .unwrap_or_else(|| Err("not looked for".into()))
    }

    /// The peer doing the same job (Python `eventsourcing`, `peer.py`): its Application
    /// saves the chronology's events as Incident aggregates in batches of 1,000, then its
    /// projection folds the notification log into the incident and per-source tables.
    /// Row: our import against its save + projection; the projection's time is kept for the
    /// rebuild's row.
    fn bench_peer(&mut self, c: &Chronology, ours: &Run) -> Result<()> {
        self.peer_projection = None;
        if self.args.no_python {
            return Ok(());
        }
        let python = match self.peer_python() {
            Ok(p) => p,
            Err(e) => {
                self.notes
                    .push(format!("{} events: the peer is unavailable: {e}", c.size));
                return Ok(());
            }
        };
        let script = c.dir.join("peer.py");
        std::fs::write(&script, peer::SCRIPT)?;
        let store = c.dir.join("peer-events.db");
        let views = c.dir.join("peer-views.db");
        for f in [&store, &views] {
            let _ = std::fs::remove_file(f);
        }
        let save = run(
            Command::new(&python)
                .arg(&script)
                .arg("save")
                .arg(&c.jsonl)
                .arg(&store),
            "peer save",
        )?;
        let project = run(
            Command::new(&python)
                .arg(&script)
                .arg("project")
                .arg(&store)
                .arg(&views),
            "peer projection",
        )?;
        let both = save.time() + project.time();
        self.push(
            c.size,
            "import with views vs the peer (save + projection)",
            c.size,
            ours,
            Some(("eventsourcing 9.5 Application save + projection", both)),
            Some(1.0 / 3.0),
            c.stats.bytes,
            &format!(
                "peer: save {:.0} events/s ({} MB), projection {:.0} events/s ({} MB), both {:.0} events/s",
                c.size as f64 / save.time().as_secs_f64().max(1e-9),
                save.max_rss_kb / 1024,
                c.size as f64 / project.time().as_secs_f64().max(1e-9),
                project.max_rss_kb / 1024,
                c.size as f64 / both.as_secs_f64().max(1e-9),
            ),
        );
        self.peer_projection = Some(project.time());
        Ok(())
    }

    /// Benchmark 4: verify, against a bare scan with the same JSON parsing and hashing.
    fn bench_verify(&mut self, c: &Chronology) -> Result<()> {
        let ours = run(self.chronicle(&c.db).arg("verify"), "chronicle verify")?;
        let base = run(self.child("scan-hash").arg(&c.db), "scan+hash baseline")?;
        self.push(
            c.size,
            "verify",
            c.size,
            &ours,
            Some(("bare scan + parse + SHA-256 chain", base.time())),
            Some(1.0 / 0.6),
            c.stats.bytes,
            "",
        );
        Ok(())
    }

    /// Benchmark 3: rebuild, against a bare scan with the same JSON parsing; then rebuild and
    /// `import` against their floors. Returns the rebuild's time.
    fn bench_rebuild(&mut self, c: &Chronology, import: &Run) -> Result<Duration> {
        let (size, db, bytes) = (c.size, &c.db, c.stats.bytes);
        let ours = run(self.chronicle(db).arg("rebuild"), "chronicle rebuild")?;
        let rebuild = ours.time();
        let base = run(self.child("scan-parse").arg(db), "scan+parse baseline")?;
        self.push(
            size,
            "rebuild views",
            size,
            &ours,
            Some(("bare scan + parse", base.time())),
            // As for the import: the first issue's target (<= 2) compared writing the views
            // with a bare scan; issue 15's are the peer's projection and the floor. A figure.
            None,
            bytes,
            "",
        );
        if let Some(peer) = self.peer_projection {
            self.push(
                size,
                "rebuild vs the peer's projection",
                size,
                &ours,
                Some(("eventsourcing 9.5 projection of the notification log", peer)),
                Some(1.0 / 3.0),
                bytes,
                "",
            );
        }
        // The floor of this design: scanning and parsing the events, then writing the rows
        // the views hold (taken from the log just rebuilt) into empty tables.
        let floor = run(
            self.child("scan-parse-write-views")
                .arg(db)
                .arg(c.dir.join("floor-views.db")),
            "scan+parse+write views baseline",
        )?;
        self.push(
            size,
            "rebuild vs its floor",
            size,
            &ours,
            Some(("bare scan + parse + INSERT of the view rows", floor.time())),
            Some(1.2),
            bytes,
            "",
        );
        let floor = run(
            self.child("insert-with-views")
                .arg(db)
                .arg(c.dir.join("floor-import.db")),
            "insert with views baseline",
        )?;
        self.push(
            size,
            "import vs its floor",
            size,
            import,
            Some(("bare INSERT of the events + the view rows", floor.time())),
            Some(1.3),
            bytes,
            "",
        );
        Ok(rebuild)
    }

    /// Benchmark 5: a view at a point in the middle of the log, and the current view, against the
    /// full `rebuild`.
    fn bench_views(&mut self, c: &Chronology, rebuild: Duration) -> Result<()> {
        let (size, db) = (c.size, &c.db);
        let mid = (size / 2).max(1).to_string();
        // The target is for a log of a million events; below that the process's
        // start-up (a few ms) is a large part of a 10k view, and the row is only a figure.
        let target = (size >= 1_000_000).then_some(0.05);
        let ours = run(
            self.chronicle(db).args(["summary", "--at-seq", &mid]),
            "summary --at-seq",
        )?;
        self.push(
            size,
            "view at --at-seq N/2 (summary)",
            size,
            &ours,
            Some(("full rebuild", rebuild)),
            target,
            0,
            "",
        );
        let ours = run(self.chronicle(db).arg("summary"), "summary")?;
        self.push(
            size,
            "current view (summary)",
            size,
            &ours,
            Some(("full rebuild", rebuild)),
            target,
            0,
            "",
        );
        let ours = run(
            self.chronicle(db).args(["timeline", "--at-seq", &mid]),
            "timeline --at-seq",
        )?;
        self.push(
            size,
            "view at --at-seq N/2 (timeline)",
            size,
            &ours,
            Some(("full rebuild", rebuild)),
            target,
            ours.out_bytes,
            "",
        );
        // The reads that used to hold every state (issue 15): their peak RSS is the point.
        let ours = run(
            self.chronicle(db)
                .args(["summary", "--known-by", "2019-01-01"]),
            "summary --known-by",
        )?;
        self.push(
            size,
            "summary --known-by 2019-01-01",
            size,
            &ours,
            Some(("full rebuild", rebuild)),
            None,
            0,
            "",
        );
        let ours = run(
            self.chronicle(db).args(["timeline", "--json"]),
            "timeline --json",
        )?;
        self.push(
            size,
            "timeline --json",
            size,
            &ours,
            Some(("full rebuild", rebuild)),
            None,
            ours.out_bytes,
            "",
        );
        Ok(())
    }

    /// Benchmark 6: export, built in and by each plugin, against reading the same states and
    /// writing them as JSON. Returns that baseline's time.
    fn bench_exports(&mut self, c: &Chronology) -> Result<Duration> {
        let (size, db) = (c.size, &c.db);
        let base = run(self.child("read-states").arg(db), "read states baseline")?;
        let ours = run(self.chronicle(db).arg("export"), "chronicle export")?;
        self.push(
            size,
            "export --format json",
            size,
            &ours,
            Some(("bare read + parse + write of the states", base.time())),
            None,
            ours.out_bytes,
            "",
        );
        let plugins = self.plugin_formats()?;
        if plugins.is_empty() {
            self.say("export plugins: not measured (no --plugin-dir support or no plugins built)");
        }
        for (format, dir_) in plugins {
            let ours = match run(
                self.chronicle(db)
                    .args(["export", "--format", &format, "--plugin-dir"])
                    .arg(&dir_),
                "chronicle export plugin",
            ) {
                Ok(ours) => ours,
                Err(e) => {
                    // A refusal is a result too (at 1M events the whole chronology as
                    // markdown is larger than the plugin output limit): record it, go on.
                    // chronicle's own `error:` line says why (warnings about the other
                    // libraries in the directory come before it).
                    let message = e.to_string();
                    let first = message
                        .lines()
                        .find(|l| l.starts_with("error:"))
                        .or_else(|| message.lines().next())
                        .unwrap_or_default()
                        .to_string();
                    self.say(&format!(
                        "export --format {format} at {size}: refused: {first}"
                    ));
                    self.notes.push(format!(
                        "{size} events, export --format {format}: refused: {first}"
                    ));
                    continue;
                }
            };
            self.push(
                size,
                &format!("export --format {format} (plugin)"),
                size,
                &ours,
                Some(("bare read + parse + write of the states", base.time())),
                None,
                ours.out_bytes,
                "",
            );
            // The cost of isolation: the same export with the plugin called inside chronicle
            // (the hidden --plugins-in-process, kept for this measurement only).
            let in_process = run(
                self.chronicle(db)
                    .args(["export", "--format", &format, "--plugins-in-process"])
                    .arg("--plugin-dir")
                    .arg(&dir_),
                "chronicle export plugin in process",
            );
            if let Ok(in_process) = in_process {
                self.push(
                    size,
                    &format!("export --format {format}: runner vs in process"),
                    size,
                    &ours,
                    Some(("the same export, plugin in process", in_process.time())),
                    Some(1.2),
                    ours.out_bytes,
                    "",
                );
            }
        }
        Ok(base.time())
    }

    /// Benchmark 7: audit, against the export's baseline (`states`), and the history of an incident
    /// from the middle of the chronology, which it returns.
    fn bench_audit_and_history(&mut self, c: &Chronology, states: Duration) -> Result<String> {
        let (size, db) = (c.size, &c.db);
        let ours = run(
            self.chronicle(db)
                .args(["audit", "--province", "Kunduz", "--killed", "100"]),
            "chronicle audit",
        )?;
        self.push(
            size,
            "audit (one province)",
            size,
            &ours,
            Some(("bare read + parse + write of the states", states)),
            None,
            0,
            "",
        );
        let incident = middle_incident(&c.jsonl, size)?;
        let ours = run(
            self.chronicle(db).args(["history", &incident]),
            "chronicle history",
        )?;
        let base = run(
            self.child("history").arg(db).arg(&incident),
            "history baseline",
        )?;
        self.push(
            size,
            "history (one incident)",
            size,
            &ours,
            Some((
                "bare read + parse of its events, whole process",
                base.time(),
            )),
            None,
            ours.out_bytes,
            "",
        );
        Ok(incident)
    }

    /// The output of `chronicle ARGS` on `db`, untimed (what a benchmark then measures).
    fn output(&self, db: &Path, args: &[&str]) -> Result<Vec<u8>> {
        let out = self.chronicle(db).args(args).output()?;
        if !out.status.success() {
            bail!(
                "chronicle {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    /// Benchmark 8: Merkle proofs, each a whole process. `prove --seq` of the first, the
    /// middle and the last event, `prove --consistency` from three older sizes, and
    /// `check-proof` of one of each against a signed checkpoint; each row names the proof's
    /// size (the JSON printed, bytes) and its number of hashes. No baseline.
    fn bench_proofs(&mut self, c: &Chronology) -> Result<()> {
        let (size, db) = (c.size, &c.db);
        let key = c.dir.join("bench-signer.key");
        let _ = std::fs::remove_file(&key);
        let key_arg = key.to_string_lossy().into_owned();
        let verifier = self.output(db, &["key", "generate", "bench", "--out", &key_arg])?;
        let verifier = String::from_utf8(verifier)?.trim().to_string();
        let note = c.dir.join("checkpoint.txt");
        std::fs::write(&note, self.output(db, &["checkpoint", "--sign", &key_arg])?)?;
        let mut proofs = Vec::new();
        for (flag, at) in [
            ("--seq", 1),
            ("--seq", size.div_ceil(2)),
            ("--seq", size),
            ("--consistency", 1),
            ("--consistency", size / 3),
            ("--consistency", size - 1),
        ] {
            let at = at.to_string();
            let ours = run(
                self.chronicle(db).args(["prove", flag, &at]),
                "chronicle prove",
            )?;
            let text = self.output(db, &["prove", flag, &at])?;
            let json: serde_json::Value = serde_json::from_slice(&text)?;
            let field = if flag == "--seq" {
                "audit_path"
            } else {
                "proof"
            };
            let hashes = json[field].as_array().map_or(0, Vec::len);
            let op = format!("prove {flag} {at} ({hashes} hashes, {} bytes)", text.len());
            self.push(size, &op, 1, &ours, None, None, 0, "");
            proofs.push((flag, at, text));
        }
        // One proof of each kind checked: the middle event, the consistency from size/3.
        for (flag, at, text) in [&proofs[1], &proofs[4]] {
            let file = c.dir.join("proof.json");
            std::fs::write(&file, text)?;
            let ours = run(
                Command::new(&self.chronicle)
                    .arg("check-proof")
                    .arg(&file)
                    .arg("--checkpoint")
                    .arg(&note)
                    .arg("--key")
                    .arg(&verifier),
                "chronicle check-proof",
            )?;
            let op = format!("check-proof (prove {flag} {at})");
            self.push(size, &op, 1, &ours, None, None, 0, "");
        }
        Ok(())
    }

    /// Benchmark 2: single appends from the CLI (reports on `incident`), process start to durable
    /// commit, against the sqlite3 shell inserting one row into a copy of the same file, as a whole
    /// process.
    fn bench_single_appends(&mut self, c: &Chronology, incident: &str) -> Result<()> {
        let n = if self.args.smoke {
            3
        } else {
            self.args.appends
        };
        let copy = c.dir.join("sqlite3-copy.db");
        let sqlite3 = self.sqlite3_copy(&c.db, &copy)?;
        let columns: Vec<String> = Connection::open(&c.db)?
            .prepare("SELECT name FROM pragma_table_info('events') ORDER BY cid")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // Ours and the baseline alternate, so that both see the same disk (fsync times on a
        // shared machine drift by several times over a minute).
        let mut ours_t = Vec::new();
        let mut base_t = Vec::new();
        let mut ours_rss = 0;
        for i in 0..n {
            let r = run(
                self.chronicle(&c.db).args([
                    "report",
                    "--incident",
                    incident,
                    "--source",
                    &format!("Bench source {i}"),
                    "--killed",
                    "3",
                ]),
                "chronicle report",
            )?;
            ours_rss = ours_rss.max(r.max_rss_kb);
            ours_t.push(r.wall);
            if sqlite3 {
                // Every column of the events table (whatever the log format), the id and
                // version made unique.
                let select = columns
                    .iter()
                    .map(|c| match c.as_str() {
                        "id" => format!("id || '-{i}'"),
                        "version" => format!("version + {i} + 1000000"),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "PRAGMA synchronous=FULL; INSERT INTO bench_events SELECT {select} FROM events WHERE seq = 1;"
                );
                base_t.push(run(Command::new("sqlite3").arg(&copy).arg(sql), "sqlite3")?.wall);
            }
        }
        let base = sqlite3.then(|| median(&mut base_t));
        let ours = Run {
            wall: median(&mut ours_t),
            timed: None,
            max_rss_kb: ours_rss,
            out_bytes: 0,
        };
        self.push(
            c.size,
            &format!("single CLI append (report), median of {n}"),
            1,
            &ours,
            base.map(|b| ("sqlite3 shell, one INSERT, whole process", b)),
            Some(2.0),
            0,
            if base.is_none() {
                "sqlite3 unavailable"
            } else {
                ""
            },
        );
        Ok(())
    }

    /// Copies the log `db` to `copy` with a table for the sqlite3 shell's single inserts;
    /// whether the shell is installed (without it, the copy gets no table).
    fn sqlite3_copy(&self, db: &Path, copy: &Path) -> Result<bool> {
        let conn = Connection::open(db)?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        drop(conn);
        std::fs::copy(db, copy)?;
        let sqlite3 = Command::new("sqlite3")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
        if sqlite3 {
            run(
                Command::new("sqlite3").arg(copy).arg(
                    "CREATE TABLE IF NOT EXISTS bench_events AS SELECT * FROM events WHERE 0;
                     CREATE UNIQUE INDEX IF NOT EXISTS bench_id ON bench_events (id);
                     CREATE UNIQUE INDEX IF NOT EXISTS bench_iv ON bench_events (incident, version);",
                ),
                "sqlite3 setup",
            )?;
        } else {
            self.say("sqlite3 shell not found: single-append baseline unavailable");
        }
        Ok(sqlite3)
    }

    /// `(format, dir)` for each export plugin, when the CLI has `--plugin-dir`.
    fn plugin_formats(&self) -> Result<Vec<(String, PathBuf)>> {
        let help = Command::new(&self.chronicle)
            .args(["export", "--help"])
            .output()?;
        if !String::from_utf8_lossy(&help.stdout).contains("--plugin-dir") {
            return Ok(Vec::new());
        }
        let dir = match &self.args.plugin_dir {
            Some(d) => d.clone(),
            None => match self.chronicle.parent() {
                Some(p) => p.to_path_buf(),
                None => return Ok(Vec::new()),
            },
        };
        let mut out = Vec::new();
        for format in ["markdown", "csv", "geojson", "html"] {
            let lib = dir.join(format!("libchronicle_plugin_{format}.so"));
            if lib.exists() {
                out.push((format.to_string(), dir.clone()));
            }
        }
        Ok(out)
    }

    fn print(&self) {
        let header = [
            "size",
            "operation",
            "events",
            "ours",
            "baseline",
            "ratio",
            "target",
            "events/s",
            "MB/s",
            "peak RSS",
        ];
        let rows: Vec<[String; 10]> = self
            .rows
            .iter()
            .map(|r| {
                let t = r.ours.as_secs_f64().max(1e-9);
                [
                    r.size.to_string(),
                    r.op.clone(),
                    r.events.to_string(),
                    secs(r.ours),
                    r.baseline
                        .as_ref()
                        .map(|(n, d)| format!("{} ({n})", secs(*d)))
                        .unwrap_or_else(|| "-".into()),
                    r.ratio()
                        .map(|x| format!("{x:.2}"))
                        .unwrap_or_else(|| "-".into()),
                    match (r.target, r.ratio()) {
                        (Some(t), Some(x)) => {
                            format!("<= {t:.2} {}", if x <= t { "ok" } else { "MISSED" })
                        }
                        _ => "-".into(),
                    },
                    format!("{:.0}", r.events as f64 / t),
                    if r.bytes > 0 {
                        format!("{:.1}", r.bytes as f64 / 1e6 / t)
                    } else {
                        "-".into()
                    },
                    format!("{} MB", r.rss_kb / 1024),
                ]
            })
            .collect();
        let mut width = header.map(str::len);
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.len());
            }
        }
        let line = |cells: Vec<&str>| {
            cells
                .iter()
                .zip(width)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        println!("{}", line(header.to_vec()));
        for r in &rows {
            println!("{}", line(r.iter().map(String::as_str).collect()));
        }
        for r in self.rows.iter().filter(|r| !r.note.is_empty()) {
            println!("note ({} events, {}): {}", r.size, r.op, r.note);
        }
        for n in &self.notes {
            println!("note ({n})");
        }
        // Growth: time per event of the operations that touch every event.
        println!();
        println!("time per event (µs) by size:");
        for op in [
            "import (append JSONL)",
            "rebuild views",
            "verify",
            "export --format json",
        ] {
            let per: Vec<String> = self
                .rows
                .iter()
                .filter(|r| r.op == op)
                .map(|r| {
                    format!(
                        "{}: {:.1}",
                        r.size,
                        r.ours.as_secs_f64() * 1e6 / r.events as f64
                    )
                })
                .collect();
            println!("  {op}: {}", per.join(", "));
        }
        if self.args.markdown {
            println!();
            println!("| {} |", header.join(" | "));
            println!("|{}", "---|".repeat(header.len()));
            for r in &rows {
                println!("| {} |", r.join(" | "));
            }
        }
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// An incident from the middle of the chronology.
fn middle_incident(jsonl: &Path, size: u64) -> Result<String> {
    let reader = BufReader::new(File::open(jsonl)?);
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        if i as u64 >= size / 2 && line.contains("\"incident_reported\"") {
            let v: serde_json::Value = serde_json::from_str(&line)?;
            if let Some(s) = v["incident"].as_str() {
                return Ok(s.to_string());
            }
        }
    }
    bail!("no incident in the second half of {}", jsonl.display())
}

/// The baselines, run as `chronicle-bench __child TASK ARGS...`. Each prints
/// `TIMED <seconds>` for the part it measures.
fn child(args: &[String]) -> Result<()> {
    let task = args.first().map(String::as_str).unwrap_or("");
    match (task, &args[1..]) {
        ("insert", [from, to]) => baseline_insert(Path::new(from), Path::new(to)),
        ("insert-with-views", [from, to]) => {
            baseline_with_views(Path::new(from), Path::new(to), true)
        }
        ("scan-parse-write-views", [from, to]) => {
            baseline_with_views(Path::new(from), Path::new(to), false)
        }
        ("scan-parse", [db]) => baseline_scan(Path::new(db), false),
        ("scan-hash", [db]) => baseline_scan(Path::new(db), true),
        ("read-states", [db]) => baseline_states(Path::new(db)),
        ("history", [db, incident]) => baseline_history(Path::new(db), incident),
        _ => bail!("unknown child task {args:?}"),
    }
}

fn open(db: &Path) -> Result<Connection> {
    let conn = Connection::open(db)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Inserts the rows of `from`'s events table into a new `to` with the same table, indexes
/// and triggers, in one transaction.
fn baseline_insert(from: &Path, to: &Path) -> Result<()> {
    let src = open(from)?;
    let schema: Vec<String> = src
        .prepare(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL ORDER BY rowid",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    type EventRow = (
        i64,
        String,
        String,
        i64,
        String,
        String,
        i64,
        String,
        String,
        String,
    );
    let rows: Vec<EventRow> = src
        .prepare("SELECT seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash FROM events ORDER BY seq")?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(src);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
    }
    let mut conn = open(to)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "cache_size", CACHE_SIZE)?;
    for sql in &schema {
        conn.execute_batch(sql)?;
    }
    let start = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare("INSERT INTO events (seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?;
        for r in &rows {
            stmt.execute(rusqlite::params![
                r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9
            ])?;
        }
    }
    tx.commit()?;
    println!("TIMED {}", start.elapsed().as_secs_f64());
    Ok(())
}

/// The view tables of a log, each with its `CREATE` statements (table, then indexes) and
/// every row.
type ViewTables = Vec<(String, Vec<String>, Vec<Vec<rusqlite::types::Value>>)>;

fn read_view_tables(conn: &Connection) -> Result<ViewTables> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'view%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for name in names {
        let schema: Vec<String> = conn
            .prepare(
                "SELECT sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL
                 ORDER BY type = 'index', rowid",
            )?
            .query_map([&name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare(&format!("SELECT * FROM {name}"))?;
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                (0..columns)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })?
            .collect::<rusqlite::Result<_>>()?;
        out.push((name, schema, rows));
    }
    Ok(out)
}

/// The floor of this design: the rows chronicle's views hold, written into empty tables of
/// the same schema in one transaction, after either inserting the events (`events`, the
/// floor of an import) or scanning and parsing them (the floor of a rebuild). Only the
/// transaction (and the scan) is timed.
fn baseline_with_views(from: &Path, to: &Path, events: bool) -> Result<()> {
    if events {
        baseline_insert(from, to)?; // prints its own TIMED line: the two parts add up
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
        }
    }
    let src = open(from)?;
    let tables = read_view_tables(&src)?;
    drop(src);
    let mut conn = open(to)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "cache_size", CACHE_SIZE)?;
    for (_, schema, _) in &tables {
        for sql in schema {
            conn.execute_batch(sql)?;
        }
    }
    let start = Instant::now();
    if !events {
        scan(from, false)?;
    }
    let tx = conn.transaction()?;
    for (name, _, rows) in &tables {
        let Some(first) = rows.first() else { continue };
        let marks = vec!["?"; first.len()].join(", ");
        let mut stmt = tx.prepare(&format!("INSERT INTO {name} VALUES ({marks})"))?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row))?;
        }
    }
    tx.commit()?;
    println!("TIMED {}", start.elapsed().as_secs_f64());
    Ok(())
}

/// The page cache chronicle gives its connections (KiB, negative as SQLite wants it); the
/// baseline gets the same.
const CACHE_SIZE: i64 = -65536;

/// Scans the events table, parsing every payload like the views do, and hashing the chain
/// like `verify` does when `hash` is set.
fn baseline_scan(db: &Path, hash: bool) -> Result<()> {
    let start = Instant::now();
    scan(db, hash)?;
    println!("TIMED {}", start.elapsed().as_secs_f64());
    Ok(())
}

/// The scan of [`baseline_scan`].
fn scan(db: &Path, hash: bool) -> Result<()> {
    let conn = open(db)?;
    let mut stmt = conn.prepare(
        "SELECT e.seq, e.id, e.incident, e.version, e.kind, e.payload, e.schema_version, e.recorded_at, e.recorded_by, e.hash,
                e.format, e.salt, e.commitment, e.batch, b.command, b.chronicle_version, b.input_sha256, b.correlation
         FROM events e LEFT JOIN batches b ON b.id = e.batch ORDER BY e.seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = chronicle_core::hash::GENESIS;
    let mut ok = 0u64;
    let mut batch: Option<std::sync::Arc<chronicle_core::Batch>> = None;
    while let Some(r) = rows.next()? {
        let seal = if r.get::<_, u8>(10)? == 1 {
            chronicle_core::Seal::V1
        } else {
            let id: String = r.get(13)?;
            let current = match &batch {
                Some(b) if b.id == id => b.clone(),
                _ => {
                    let b = std::sync::Arc::new(chronicle_core::Batch {
                        id,
                        command: r.get(14)?,
                        chronicle_version: r.get(15)?,
                        input_sha256: r.get(16)?,
                        correlation: r.get(17)?,
                    });
                    batch = Some(b.clone());
                    b
                }
            };
            chronicle_core::Seal::V2 {
                commitment: <[u8; 32]>::try_from(r.get::<_, Vec<u8>>(12)?.as_slice())?,
                salt: r
                    .get::<_, Option<Vec<u8>>>(11)?
                    .map(|s| <[u8; 32]>::try_from(s.as_slice()))
                    .transpose()?,
                batch: current,
            }
        };
        let e = chronicle_core::RecordedEvent {
            seq: r.get(0)?,
            id: r.get(1)?,
            incident: r.get(2)?,
            version: r.get(3)?,
            kind: r.get(4)?,
            payload: r.get(5)?,
            schema_version: r.get(6)?,
            recorded_at: r.get(7)?,
            recorded_by: r.get(8)?,
            hash: r.get(9)?,
            seal,
            redacted_by: None,
        };
        if e.payload().is_ok() {
            ok += 1;
        }
        if hash {
            prev = e
                .recompute_hash(&prev)
                .map_err(|p| anyhow::anyhow!("seq {}: {p}", e.seq))?
                .unwrap_or_default();
            if chronicle_core::hash::parse_hex(&e.hash) != Some(prev) {
                bail!("hash mismatch at {}", e.seq);
            }
        }
    }
    std::hint::black_box(ok);
    Ok(())
}

/// Reads the current states, unpacks and parses them and writes them out as one JSON array.
fn baseline_states(db: &Path) -> Result<()> {
    let conn = open(db)?;
    let start = Instant::now();
    let mut stmt =
        conn.prepare("SELECT s.state FROM view_incidents v JOIN view_states s ON s.incident = v.incident ORDER BY v.date_start, v.incident")?;
    // (The states are packed: LZ4, their length first, as chronicle writes them.)
    let states: Vec<serde_json::Value> = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))?
        .map(|s| {
            Ok(serde_json::from_slice(
                &lz4_flex::decompress_size_prepended(&s?)?,
            )?)
        })
        .collect::<Result<_>>()?;
    let out = serde_json::to_vec_pretty(&states)?;
    std::hint::black_box(out.len());
    println!("TIMED {}", start.elapsed().as_secs_f64());
    Ok(())
}

/// Reads and parses the events of one incident's stream (what its history is computed from).
/// `history` is a whole process, so is this baseline: no `TIMED` line, the wall time counts.
fn baseline_history(db: &Path, incident: &str) -> Result<()> {
    let conn = open(db)?;
    let mut stmt = conn.prepare("SELECT payload FROM events WHERE incident = ?1 ORDER BY seq")?;
    let events: Vec<serde_json::Value> = stmt
        .query_map([incident], |r| r.get::<_, String>(0))?
        .map(|s| Ok(serde_json::from_str(&s?)?))
        .collect::<Result<_>>()?;
    std::hint::black_box(events.len());
    Ok(())
}

/// The chronicle binary: next to this one, else built with cargo (same profile).
fn find_chronicle(me: &Path) -> Result<PathBuf> {
    let sibling = me.with_file_name(format!("chronicle{}", std::env::consts::EXE_SUFFIX));
    if sibling.exists() {
        return Ok(sibling);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "chronicle", "--bin", "chronicle"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    eprintln!("[bench] building the chronicle binary: {cmd:?}");
    if !cmd.status()?.success() {
        bail!("building chronicle failed");
    }
    if sibling.exists() {
        Ok(sibling)
    } else {
        bail!(
            "no chronicle binary at {}; pass --chronicle PATH",
            sibling.display()
        )
    }
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("__child") {
        return child(&argv[2..]);
    }
    let args = Args::parse();
    if args.generate {
        let size = args.size.first().copied().unwrap_or(10_000);
        let mut out = BufWriter::new(std::io::stdout().lock());
        chronicle_bench::write_jsonl(args.seed, size, &mut out)?;
        out.flush()?;
        return Ok(());
    }
    let me = std::env::current_exe()?;
    let chronicle = match &args.chronicle {
        Some(p) => p.clone(),
        None => find_chronicle(&me)?,
    };
    let (dir, temp) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("chronicle-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir)?;
    let sizes = if args.smoke && args.size == [10_000] {
        vec![2000]
    } else {
        args.size.clone()
    };
    let mut bench = Bench {
        args,
        chronicle,
        me,
        dir: dir.clone(),
        rows: Vec::new(),
        notes: Vec::new(),
        python: None,
        peer_projection: None,
    };
    bench.say(&format!(
        "chronicle {}; {} cores; profile {}",
        bench.chronicle.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "debug (figures not meaningful)"
        } else {
            "release"
        }
    ));
    if let Some(base) = bench.args.postgres.clone() {
        let mut pg = pg::PgBench {
            chronicle: &bench.chronicle,
            base: base.trim_end_matches('/').to_string(),
            appends: bench.args.appends,
            per_writer: if bench.args.smoke {
                5
            } else {
                bench.args.per_writer
            },
            rows: Vec::new(),
        };
        for size in sizes {
            let c = bench.generate(size)?;
            pg.size(size, &c.jsonl, &c.db)?;
            let _ = std::fs::remove_dir_all(&c.dir);
        }
        pg.print();
    } else {
        for size in sizes {
            bench.size(size)?;
        }
        bench.print();
    }
    if temp && !bench.args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
