//! The PostgreSQL benchmarks (`chronicle-bench --postgres ADMIN_URL`): chronicle on a
//! PostgreSQL server against bare baselines on the same server in the same run.
//!
//! - import: `chronicle append FILE` (a whole process) against a bare `COPY` of the same
//!   rows (read back from our log) into the same `events` table (same indexes and
//!   triggers, made by `chronicle init`) in one transaction, and against its floor: the
//!   same `COPY` of every row our import wrote (events, batch record, view rows, Merkle
//!   tree hashes). Only the baseline's transaction is timed.
//! - copy: `chronicle --db LOG.db copy --to URL` of an SQLite log of the same chronology
//!   into a new log on the server (a whole process: reading the file, checking and writing
//!   every event and the views), against the import's floor.
//! - rebuild, and a view at a point (`summary --at-seq N/2`) against the rebuild.
//! - 1, 2 and 4 concurrent writers (processes): single-event appends and 50-event batches,
//!   their total throughput.
//! - one CLI append (`chronicle report`, process start to commit) against `psql -c
//!   "INSERT ..."` of one row into the same table, as whole processes, alternating, medians.
//!
//! Each database is made for the measurement (`bench_pg_*`) and dropped after it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use postgres::{Client, NoTls};

/// One row of the PostgreSQL table.
pub(crate) struct PgRow {
    pub size: u64,
    pub op: String,
    pub ours: Duration,
    pub baseline: Option<(String, Duration)>,
    pub note: String,
}

/// The measurements' settings.
pub(crate) struct PgBench<'a> {
    /// The chronicle binary.
    pub chronicle: &'a Path,
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]` of a role that may create databases.
    pub base: String,
    /// Timed repetitions of the single CLI append.
    pub appends: usize,
    /// Appends per writer in the concurrency runs.
    pub per_writer: usize,
    pub rows: Vec<PgRow>,
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

impl PgBench<'_> {
    fn say(&self, msg: &str) {
        eprintln!("[bench pg] {msg}");
    }

    fn url(&self, db: &str) -> String {
        format!("{}/{db}", self.base)
    }

    fn admin(&self, db: &str) -> Result<Client> {
        Client::connect(&self.url(db), NoTls).with_context(|| format!("connecting to {db}"))
    }

    /// A new, empty database (dropped first if a past run left it).
    fn fresh(&self, db: &str) -> Result<String> {
        let mut a = self.admin("postgres")?;
        a.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))?;
        a.batch_execute(&format!("CREATE DATABASE {db}"))?;
        Ok(self.url(db))
    }

    fn drop_db(&self, db: &str) -> Result<()> {
        self.admin("postgres")?
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))?;
        Ok(())
    }

    fn chronicle(&self, url: &str) -> Command {
        let mut c = Command::new(self.chronicle);
        c.args(["--quiet", "--db", url])
            .env_remove("CHRONICLE_DB")
            .env("CHRONICLE_USER", "bench");
        c
    }

    /// Runs chronicle to completion; its wall time.
    fn time(&self, c: &mut Command, what: &str) -> Result<Duration> {
        let start = Instant::now();
        let out = c.stdout(Stdio::null()).output()?;
        let t = start.elapsed();
        if !out.status.success() {
            bail!("{what}: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(t)
    }

    fn push(
        &mut self,
        size: u64,
        op: &str,
        ours: Duration,
        baseline: Option<(&str, Duration)>,
        note: &str,
    ) {
        self.say(&format!(
            "{op}: {} (baseline {})",
            secs(ours),
            baseline.map_or("-".to_string(), |(_, d)| secs(d))
        ));
        self.rows.push(PgRow {
            size,
            op: op.to_string(),
            ours,
            baseline: baseline.map(|(n, d)| (n.to_string(), d)),
            note: note.to_string(),
        });
    }

    /// Every PostgreSQL measurement at one size (`jsonl`: the chronology of `size` events;
    /// `sqlite`: where an SQLite log of it may be made, for the copy).
    pub(crate) fn size(&mut self, size: u64, jsonl: &Path, sqlite: &Path) -> Result<()> {
        let url = self.fresh("bench_pg_import")?;
        self.time(self.chronicle(&url).arg("init"), "init")?;
        let import = self.time(self.chronicle(&url).arg("append").arg(jsonl), "append")?;
        let bare = self.copy_baseline(&url, &["events", "batches"], "bench_pg_bare")?;
        let floor = self.copy_baseline(&url, &[], "bench_pg_floor")?;
        self.push(
            size,
            "import (chronicle append FILE)",
            import,
            Some(("bare COPY of the events", bare)),
            "",
        );
        self.push(
            size,
            "import",
            import,
            Some(("floor: COPY of every row it wrote", floor)),
            "events, batch, view rows, tree hashes",
        );
        // The same chronology as an SQLite log, copied into a new log on the server.
        for file in [sqlite.to_path_buf(), sqlite.with_extension("db-wal")] {
            let _ = std::fs::remove_file(file);
        }
        let mut local = Command::new(self.chronicle);
        local.arg("--db").arg(sqlite);
        self.time(local.arg("init"), "init (SQLite)")?;
        let mut local = Command::new(self.chronicle);
        local.arg("--db").arg(sqlite);
        self.time(local.arg("append").arg(jsonl), "append (SQLite)")?;
        let copy_url = self.fresh("bench_pg_copy")?;
        let mut copy = Command::new(self.chronicle);
        copy.arg("--db")
            .arg(sqlite)
            .args(["copy", "--to", &copy_url]);
        let copied = self.time(&mut copy, "copy")?;
        self.drop_db("bench_pg_copy")?;
        self.push(
            size,
            "copy (SQLite log -> server)",
            copied,
            Some(("floor: COPY of every row it wrote", floor)),
            "each event checked as verify does",
        );
        let rebuild = self.time(self.chronicle(&url).arg("rebuild"), "rebuild")?;
        self.push(size, "rebuild", rebuild, None, "");
        let mid = (size / 2).to_string();
        let at = self.time(
            self.chronicle(&url).args(["summary", "--at-seq", &mid]),
            "summary --at-seq",
        )?;
        self.push(
            size,
            "view at --at-seq N/2 (summary)",
            at,
            Some(("the rebuild", rebuild)),
            "target: 5% of it",
        );
        self.single_appends(size, &url)?;
        self.drop_db("bench_pg_import")?;
        for writers in [1, 2, 4] {
            self.writers(size, writers, 1)?;
        }
        for writers in [1, 2, 4] {
            self.writers(size, writers, 50)?;
        }
        Ok(())
    }

    /// The rows our import wrote, `COPY`ed into a new log's tables (made by `chronicle
    /// init`: the same indexes and triggers) in one timed transaction: only the `tables`
    /// given, or every table holding rows (`tables` empty). Returns the transaction's time.
    fn copy_baseline(&self, from: &str, tables: &[&str], db: &str) -> Result<Duration> {
        let mut src = Client::connect(from, NoTls)?;
        let all: Vec<String> = if tables.is_empty() {
            src.query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()
                 AND tablename NOT IN ('chronicle_meta', 'chronicle_write_lock', 'views_meta')",
                &[],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect()
        } else {
            tables.iter().map(|t| (*t).to_string()).collect()
        };
        let mut data = Vec::new();
        for t in &all {
            let mut bytes = Vec::new();
            src.copy_out(&format!("COPY (SELECT * FROM {t} ORDER BY 1) TO STDOUT"))?
                .read_to_end(&mut bytes)?;
            data.push((t.clone(), bytes));
        }
        let url = self.fresh(db)?;
        self.time(self.chronicle(&url).arg("init"), "init")?;
        let mut dst = Client::connect(&url, NoTls)?;
        let start = Instant::now();
        let mut tx = dst.transaction()?;
        for (t, bytes) in &data {
            let mut w = tx.copy_in(&format!("COPY {t} FROM STDIN"))?;
            w.write_all(bytes)?;
            w.finish()?;
        }
        tx.commit()?;
        let t = start.elapsed();
        drop(dst);
        self.drop_db(db)?;
        Ok(t)
    }

    /// One `chronicle report` against one `psql -c "INSERT ..."` of a row into the same
    /// table of another log, alternating, `appends` times each; the medians.
    fn single_appends(&mut self, size: u64, url: &str) -> Result<()> {
        let psql_url = self.fresh("bench_pg_psql")?;
        self.time(self.chronicle(&psql_url).arg("init"), "init")?;
        let (mut ours, mut psql) = (Vec::new(), Vec::new());
        for i in 0..self.appends {
            ours.push(self.time(
                self.chronicle(url).args([
                    "report",
                    "--incident",
                    &format!("single-{i}"),
                    "--date",
                    "2024-01-01",
                    "--province",
                    "Kabul",
                    "--category",
                    "x",
                    "--source",
                    "S",
                    "--killed",
                    "1",
                ]),
                "report",
            )?);
            let sql = format!(
                "INSERT INTO events (seq, id, incident, version, kind, payload, schema_version, recorded_at, recorded_by, hash) \
                 SELECT COALESCE(max(seq), 0) + 1, 'psql-{i}', 'single-{i}', 1, 'incident_reported', '{{\"date\":\"2024-01-01\"}}', 1, '2024-01-01T00:00:00Z', 'bench', 'h' FROM events"
            );
            let start = Instant::now();
            let out = Command::new("psql")
                .args([psql_url.as_str(), "-qX", "-c", &sql])
                .stdout(Stdio::null())
                .output()
                .context("running psql")?;
            psql.push(start.elapsed());
            if !out.status.success() {
                bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
            }
        }
        self.drop_db("bench_pg_psql")?;
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (o, p) = (median(&mut ours), median(&mut psql));
        self.push(
            size,
            "single CLI append (chronicle report)",
            o,
            Some(("psql -c \"INSERT ...\"", p)),
            &format!("median of {}", self.appends),
        );
        Ok(())
    }

    /// `writers` processes at once, each making `per_writer` appends of `batch` events (new
    /// incidents: no writer waits for a version); the total events per second, in the note.
    fn writers(&mut self, size: u64, writers: usize, batch: usize) -> Result<()> {
        let url = self.fresh("bench_pg_writers")?;
        self.time(self.chronicle(&url).arg("init"), "init")?;
        let appends = if batch == 1 {
            self.per_writer
        } else {
            (self.per_writer / 5).max(1)
        };
        let me = &*self;
        let start = Instant::now();
        std::thread::scope(|scope| -> Result<()> {
            let handles: Vec<_> = (0..writers)
                .map(|w| {
                    let url = url.clone();
                    scope.spawn(move || -> Result<()> {
                        for a in 0..appends {
                            let mut lines = String::new();
                            for e in 0..batch {
                                lines.push_str(&format!(
                                    "{{\"incident\":\"w{w}-a{a}-e{e}\",\"kind\":\"incident_reported\",\"payload\":{{\"date\":\"2024-01-01\",\"province\":\"Kabul\",\"category\":\"x\"}}}}\n"
                                ));
                            }
                            let mut child = me
                                .chronicle(&url)
                                .args(["append", "-"])
                                .stdin(Stdio::piped())
                                .stdout(Stdio::null())
                                .stderr(Stdio::piped())
                                .spawn()?;
                            child.stdin.take().context("stdin")?.write_all(lines.as_bytes())?;
                            let out = child.wait_with_output()?;
                            if !out.status.success() {
                                bail!("append: {}", String::from_utf8_lossy(&out.stderr).trim());
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a writer panicked"))??;
            }
            Ok(())
        })?;
        let t = start.elapsed();
        let events = writers * appends * batch;
        let check = Command::new(self.chronicle)
            .args(["--db", &url, "verify"])
            .output()?;
        if !check.status.success()
            || !String::from_utf8_lossy(&check.stdout).contains(&format!("{events} events"))
        {
            bail!(
                "after {writers} writers: {}",
                String::from_utf8_lossy(&check.stdout)
            );
        }
        self.drop_db("bench_pg_writers")?;
        let what = if batch == 1 {
            "single-event appends".to_string()
        } else {
            format!("{batch}-event batches")
        };
        self.push(
            size,
            &format!("{writers} writer(s) x {appends} {what}"),
            t,
            None,
            &format!(
                "{:.0} events/s in all; verify clean",
                events as f64 / t.as_secs_f64()
            ),
        );
        Ok(())
    }

    /// The table, as Markdown.
    pub(crate) fn print(&self) {
        println!("| size | operation | chronicle | baseline | baseline time | ratio | note |");
        println!("|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let (name, base, ratio) = match &r.baseline {
                Some((n, d)) => (
                    n.as_str(),
                    secs(*d),
                    format!("{:.2}", r.ours.as_secs_f64() / d.as_secs_f64().max(1e-9)),
                ),
                None => ("-", "-".to_string(), "-".to_string()),
            };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.size,
                r.op,
                secs(r.ours),
                name,
                base,
                ratio,
                r.note
            );
        }
    }
}
