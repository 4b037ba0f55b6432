//! A PostgreSQL server for the tests: `$CHRONICLE_TEST_POSTGRES` (an administrator's
//! connection string, e.g. `postgres://postgres:pw@127.0.0.1:5432/postgres`) when set, else a
//! throwaway cluster of this test binary's own: `initdb` and `pg_ctl` on a temporary
//! directory, a free port on 127.0.0.1, its unix socket in that directory, run as `nobody`
//! when the tests run as root (PostgreSQL refuses root). One cluster per test binary, one
//! database per test ([`database`]).
//!
//! The cluster is stopped when the test binary ends, however it ends (a failed test, a
//! panic, a kill): a watchdog process started with it waits for the binary's pid to go
//! away, then runs `pg_ctl stop -m immediate` and removes the directory.
//!
//! No PostgreSQL installed is a failure, never a skip: `.ci/run` installs it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The password of the cluster's superuser `chronicle`: the tests check that no message
/// shows it.
pub const ADMIN_PASSWORD: &str = "adm1n-s3cret-pw";

/// A server the tests can make databases on.
#[derive(Debug)]
pub struct Server {
    /// `postgres://USER:PASSWORD@HOST:PORT` (no database).
    pub base: String,
    /// Its host and port.
    pub host: String,
    pub port: u16,
    /// The directory of a cluster of our own (its `bin` directory first).
    pub bin: Option<PathBuf>,
    /// Whether the server was started with TLS (our own cluster is).
    pub tls: bool,
    /// Our own cluster's data directory and `pg_ctl start -o` options (for the fault
    /// trials, which stop and start it again); `None` for `$CHRONICLE_TEST_POSTGRES`.
    pub cluster: Option<(PathBuf, String)>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The server of this test binary (started on first use).
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var("CHRONICLE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => external(&url),
        _ => start_cluster(),
    })
}

fn external(url: &str) -> Server {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .expect("CHRONICLE_TEST_POSTGRES: a postgres:// URL");
    let authority = rest.split('/').next().unwrap();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
    Server {
        base: format!("postgres://{authority}"),
        host: host.to_string(),
        port: port.parse().unwrap(),
        bin: bin_dir(),
        tls: false,
        cluster: None,
    }
}

/// The PostgreSQL programs: `$PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as the cluster's user: `nobody` under root, else ourselves.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(c: &mut Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// The watchdog is never waited for: it is meant to outlive this process.
#[allow(clippy::zombie_processes)]
fn start_cluster() -> Server {
    let bin = bin_dir().expect(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no $PG_BIN): \
         install it (`apt-get install postgresql`) or set CHRONICLE_TEST_POSTGRES",
    );
    // Kept past this function: the watchdog removes it.
    let dir = tempfile::Builder::new()
        .prefix("chronicle-pg-")
        .tempdir()
        .unwrap()
        .keep();
    let data = dir.join("data");
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, ADMIN_PASSWORD).unwrap();
    if is_root() {
        run(
            Command::new("chown").args(["-R", "nobody"]).arg(&dir),
            "chown",
        );
    }
    run(
        as_owner(&bin.join("initdb"))
            .current_dir(&dir)
            .arg("-D")
            .arg(&data)
            .args(["-U", "chronicle", "-E", "UTF8", "--locale=C"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("--no-sync"),
        "initdb",
    );
    // A self-signed certificate, so that `sslmode=require` can be tried (server.crt and
    // server.key in the data directory are PostgreSQL's defaults).
    run(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(data.join("server.key"))
            .arg("-out")
            .arg(data.join("server.crt")),
        "openssl req (the test cluster's certificate)",
    );
    if is_root() {
        run(
            Command::new("chown")
                .arg("nobody")
                .arg(data.join("server.key"))
                .arg(data.join("server.crt")),
            "chown",
        );
    }
    run(
        Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key")),
        "chmod",
    );
    // Role `tls_only` may only connect over TLS: what proves that `sslmode=require` encrypts.
    let hba = data.join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("hostnossl all tls_only 127.0.0.1/32 reject\n{rules}"),
    )
    .unwrap();
    let port = free_port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        dir.display()
    );
    run(
        as_owner(&bin.join("pg_ctl"))
            .current_dir(&dir)
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "start"]),
        "pg_ctl start",
    );
    // The watchdog: once this process is gone, stop the cluster and remove its directory.
    let stop = if is_root() {
        format!(
            "runuser -u nobody -- {} -D {} stop -m immediate",
            bin.join("pg_ctl").display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} stop -m immediate",
            bin.join("pg_ctl").display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Server {
        base: format!("postgres://chronicle:{ADMIN_PASSWORD}@127.0.0.1:{port}"),
        host: "127.0.0.1".into(),
        port,
        bin: Some(bin),
        tls: true,
        cluster: Some((data, options)),
    }
}

/// Our own cluster's data directory (`None` with `$CHRONICLE_TEST_POSTGRES`).
pub fn data_dir() -> Option<&'static Path> {
    server().cluster.as_ref().map(|(data, _)| data.as_path())
}

/// Our own cluster's data directory and options, or a panic naming why a trial needs it.
fn own_cluster() -> (&'static Path, &'static Path, &'static str) {
    let s = server();
    let (data, options) = s
        .cluster
        .as_ref()
        .expect("this trial stops and starts the server: it needs the tests' own cluster (unset CHRONICLE_TEST_POSTGRES)");
    (s.bin.as_deref().unwrap(), data, options)
}

/// Stops our own cluster as a crash would: `pg_ctl stop -m immediate` (no checkpoint; the
/// server recovers from its write-ahead log when started again).
pub fn stop_immediate() {
    let (bin, data, _) = own_cluster();
    run(
        as_owner(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(data)
            .args(["-m", "immediate", "-w", "stop"]),
        "pg_ctl stop -m immediate",
    );
}

/// Kills our own cluster's postmaster with SIGKILL (its backends exit when they notice).
pub fn kill_postmaster() {
    let (_, data, _) = own_cluster();
    let pid = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_string();
    run(
        Command::new("kill").args(["-KILL", &pid]),
        "kill -KILL postmaster",
    );
}

/// Starts our own cluster again after [`stop_immediate`] or [`kill_postmaster`] (retrying
/// while the killed server's backends still hold its shared memory).
pub fn start_again() {
    let (bin, data, options) = own_cluster();
    let dir = data.parent().unwrap();
    for attempt in 0.. {
        let out = as_owner(&bin.join("pg_ctl"))
            .current_dir(dir)
            .arg("-D")
            .arg(data)
            .args(["-o", options, "-l"])
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        if out.status.success() {
            return;
        }
        assert!(
            attempt < 30,
            "pg_ctl start failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// An administrator's connection to database `db`.
pub fn admin(db: &str) -> postgres::Client {
    postgres::Client::connect(&format!("{}/{db}", server().base), postgres::NoTls).unwrap()
}

/// A new, empty database; returns its connection string (as the administrator).
pub fn database() -> String {
    // Fixed width: no database's name is a prefix of another's (tests replace them in text).
    let name = format!(
        "t_{}_{:05}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    admin("postgres")
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    format!("{}/{name}", server().base)
}

/// `url` with its user and password replaced.
pub fn as_user(url: &str, user: &str, password: &str) -> String {
    let (_, rest) = url.split_once('@').unwrap();
    format!("postgres://{user}:{password}@{rest}")
}

/// Cuts, from the server, the connection of the `chronicle` process writing to `url`'s
/// database once its transaction has inserted events (it then holds a ROW EXCLUSIVE lock on
/// `events`; reads take only ACCESS SHARE), polling for up to `patience`. Whether it cut one.
pub fn cut_once_inserting(url: &str, patience: std::time::Duration) -> bool {
    let mut admin = admin(db_name(url));
    let deadline = std::time::Instant::now() + patience;
    loop {
        let cut: bool = admin
            .query_one(
                "SELECT COALESCE(bool_or(pg_terminate_backend(a.pid)), false)
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.relation = 'events'::regclass AND l.mode = 'RowExclusiveLock'
                 AND a.application_name = 'chronicle' AND a.datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0);
        if cut || std::time::Instant::now() > deadline {
            return cut;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The database name of a connection string.
pub fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

/// Whether the CLI tests run against PostgreSQL (`CHRONICLE_TEST_BACKEND=postgres`).
pub fn backend_is_postgres() -> bool {
    std::env::var("CHRONICLE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// `url` as chronicle names it in messages: without the password.
pub fn shown(url: &str) -> String {
    let (userinfo, rest) = url.split_once('@').unwrap();
    let user = userinfo.rsplit_once(':').map_or(userinfo, |(u, _)| u);
    let user = user.strip_prefix("postgres://").unwrap_or(user);
    format!("postgres://{user}@{rest}")
}
