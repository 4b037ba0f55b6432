//! Plugin code runs in a child process (the runner): a plugin that crashes, loops or
//! allocates without bound gives an error naming it and the signal or the limit, and the
//! host lives on. A library that crashes while declaring itself is marked broken and the
//! others load.
#![allow(clippy::unwrap_used)]

mod support;

use chronicle_plugin_host::{
    check_library, HostError, HostOptions, Isolation, Limits, PluginHost, RunnerCommand, Stage,
};
use std::time::{Duration, Instant};
use support::*;

macro_rules! snap {
    ($name:expr, $value:expr) => {
        settings().bind(|| insta::assert_snapshot!($name, $value))
    };
}

fn misbehave_host(options: &HostOptions) -> (tempfile::TempDir, PluginHost) {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let host = PluginHost::discover(&search(&[dir.path()]), options).unwrap();
    (dir, host)
}

fn export_err(host: &PluginHost, mode: &str) -> HostError {
    host.export("misbehave", &sample(), &opts(&[("mode", mode)]))
        .unwrap_err()
}

/// The host still works after a plugin's process died.
fn still_works(host: &PluginHost) {
    let out = host.export("misbehave", &sample(), &opts(&[])).unwrap();
    assert_eq!(out.bytes, b"misbehave: 5 incidents");
}

#[test]
fn a_plugin_that_dereferences_null_is_a_clear_error() {
    let (_dir, host) = misbehave_host(&isolated());
    let err = export_err(&host, "segfault");
    assert!(
        matches!(
            err,
            HostError::PluginCrashed {
                signal: Some(11),
                during: Stage::Export,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_bad_input());
    snap!("crash_segfault", err.to_string());
    still_works(&host);
}

#[test]
fn a_plugin_that_loops_is_stopped_at_the_time_limit() {
    let limits = Limits {
        timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let (_dir, host) = misbehave_host(&with_limits(limits));
    let start = Instant::now();
    let err = export_err(&host, "loop");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(matches!(err, HostError::PluginTimedOut { .. }), "{err:?}");
    snap!("timeout_loop", err.to_string());
    still_works(&host);
}

#[test]
fn a_plugin_that_allocates_10_gib_is_stopped_at_the_memory_limit() {
    let (_dir, host) = misbehave_host(&isolated());
    let err = export_err(&host, "alloc");
    assert!(
        matches!(err, HostError::PluginOutOfMemory { limit, .. } if limit == 1 << 30),
        "{err:?}"
    );
    snap!("out_of_memory_alloc", err.to_string());
    // A smaller limit is named as given.
    let limits = Limits {
        memory: Some(256 << 20),
        ..Limits::default()
    };
    let (_dir, host) = misbehave_host(&with_limits(limits));
    let err = export_err(&host, "alloc").to_string();
    assert!(
        err.contains("the limit of 256 MiB (--plugin-memory)"),
        "{err}"
    );
    still_works(&host);
}

#[test]
fn a_broken_library_does_not_disable_the_others() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    install(dir.path(), "chronicle_plugin_markdown", "markdown");
    let broken = install(dir.path(), "chronicle_testplugin_declare_crash", "broken");
    let host = discover(&[dir.path()]).unwrap();
    let names: Vec<String> = host.formats().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["markdown", "misbehave"]);
    assert_eq!(host.broken().len(), 1);
    let b = &host.broken()[0];
    assert_eq!(b.path, broken);
    assert_eq!(b.format_by_file_name().as_deref(), Some("broken"));
    snap!("broken_declaration", &b.reason);
    let md = host.export("markdown", &sample(), &opts(&[])).unwrap();
    assert!(
        md.bytes.starts_with(b"<!-- chronicle export"),
        "{}",
        String::from_utf8_lossy(&md.bytes)
    );
    // Asking for the broken format says why it is not there.
    let err = host.export("broken", &sample(), &opts(&[])).unwrap_err();
    assert!(matches!(err, HostError::BrokenFormat { .. }), "{err:?}");
    snap!("broken_format", err.to_string());
    // plugins check: the declaration cannot be read, the error says how it ended.
    let err = check_library(&broken, &isolated()).unwrap_err();
    assert!(
        matches!(
            err,
            HostError::PluginCrashed {
                during: Stage::Declaration,
                ..
            }
        ),
        "{err:?}"
    );
}

/// `env CHRONICLE_TESTPLUGIN_MODE=MODE runner ...`: the misbehave plugin misbehaves without
/// options, as `plugins check` calls it.
fn misbehaving_by_default(mode: &str, limits: Limits) -> HostOptions {
    let mut runner: RunnerCommand = runner(limits);
    runner.args = vec![
        format!("CHRONICLE_TESTPLUGIN_MODE={mode}").into(),
        runner.program.into_os_string(),
    ];
    runner.program = "env".into();
    HostOptions {
        isolation: Isolation::Child(runner),
        ..HostOptions::default()
    }
}

#[test]
fn check_prints_the_declaration_and_the_failure_of_a_crashing_plugin() {
    let dir = plugin_dir();
    let path = install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let short = Limits {
        timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    for mode in ["segfault", "loop", "alloc"] {
        let report = check_library(&path, &misbehaving_by_default(mode, short)).unwrap();
        assert!(!report.passed(), "{report}");
        snap!(format!("check_{mode}"), report.to_string());
    }
}

#[test]
fn check_verbose_shows_what_the_plugin_returned() {
    let dir = plugin_dir();
    let path = install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let report = check_library(&path, &isolated()).unwrap();
    snap!("check_misbehave_verbose", report.verbose().to_string());
    let report = check_library(&lib("chronicle_plugin_markdown"), &isolated()).unwrap();
    snap!("check_markdown_verbose", report.verbose().to_string());
}

#[test]
fn the_runner_gives_the_bytes_of_an_in_process_call() {
    let dir = plugin_dir();
    for (target, stem) in [
        ("chronicle_plugin_markdown", "markdown"),
        ("chronicle_plugin_csv", "csv"),
        ("chronicle_plugin_html", "html"),
    ] {
        install(dir.path(), target, stem);
    }
    let child = PluginHost::discover(&search(&[dir.path()]), &isolated()).unwrap();
    let inproc = PluginHost::discover(&search(&[dir.path()]), &HostOptions::default()).unwrap();
    assert_eq!(child.formats(), inproc.formats());
    for format in ["markdown", "csv", "html"] {
        let a = child.export(format, &sample(), &opts(&[])).unwrap();
        let b = inproc.export(format, &sample(), &opts(&[])).unwrap();
        assert_eq!(a, b, "{format}");
    }
}

#[test]
fn a_runner_that_cannot_be_started_is_named() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let mut runner = runner(Limits::default());
    runner.program = dir.path().join("no-such-runner");
    let options = HostOptions {
        isolation: Isolation::Child(runner),
        ..HostOptions::default()
    };
    let err = PluginHost::discover(&search(&[dir.path()]), &options).unwrap_err();
    assert!(matches!(err, HostError::RunnerFailed { .. }), "{err:?}");
    snap!("runner_not_found", err.to_string());
}
