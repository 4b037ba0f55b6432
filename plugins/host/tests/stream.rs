//! Plugin ABI version 2: streamed exports. The document reaches the plugin one incident at
//! a time (from the runner's spool), its output comes back in frames as it writes it, and
//! failing half-way is as clear an error as a version-1 failure.
#![allow(clippy::unwrap_used)]

mod support;

use chronicle_plugin_host::testing::{export_knowing_only, passes_run_on_this_thread};
use chronicle_plugin_host::{
    check_library, CheckOutcome, HostError, HostOptions, Isolation, Limits, PluginHost, Stage,
};
use std::time::Duration;
use support::*;

macro_rules! snap {
    ($name:expr, $value:expr) => {
        settings().bind(|| insta::assert_snapshot!($name, $value))
    };
}

fn host_of(target: &str, stem: &str, options: &HostOptions) -> (tempfile::TempDir, PluginHost) {
    let dir = plugin_dir();
    install(dir.path(), target, stem);
    let host = PluginHost::discover(&search(&[dir.path()]), options).unwrap();
    (dir, host)
}

fn misbehave(options: &HostOptions) -> (tempfile::TempDir, PluginHost) {
    host_of(
        "chronicle_testplugin_stream_misbehave",
        "stream_misbehave",
        options,
    )
}

fn export(host: &PluginHost, mode: &str) -> Result<String, HostError> {
    host.export("stream-misbehave", &sample(), &opts(&[("mode", mode)]))
        .map(|out| String::from_utf8(out.bytes).unwrap())
}

const OK: &str = "2020-07-08-nangarhar-police\n2020-07-12-kunduz-checkpoints\n\
                  2020-07-13-aybak-nds-compound\n2020-07-14-faryab-mosque\n\
                  2020-07-30-puli-alam\nstream-misbehave: 5 incidents";

/// The version-1 entry point of a library, called in this process: the whole sample
/// document in one buffer.
fn export_v1(path: &std::path::Path) -> Vec<u8> {
    use chronicle_plugin_sdk::abi::{Buffer, DeclareV1Fn};
    // SAFETY: a plugin of this workspace, with the documented symbols; never unloaded.
    unsafe {
        let lib = Box::leak(Box::new(libloading::Library::new(path).unwrap()));
        let declare: libloading::Symbol<'_, DeclareV1Fn> =
            lib.get(b"chronicle_plugin_declare_v1\0").unwrap();
        let decl = &*declare();
        let doc = sample();
        let mut out = Buffer::EMPTY;
        let status =
            (decl.export_fn.unwrap())(doc.as_ptr(), doc.len(), b"{}".as_ptr(), 2, &mut out);
        assert_eq!(status, 0);
        let bytes = std::slice::from_raw_parts(out.data, out.len).to_vec();
        (decl.free_fn.unwrap())(out.data, out.len);
        bytes
    }
}

#[test]
fn the_shipped_plugins_stream_the_bytes_of_their_version_1_entry_point() {
    for format in ["markdown", "csv", "geojson", "html"] {
        let target = format!("chronicle_plugin_{format}");
        let (_dir, host) = host_of(&target, format, &isolated());
        let info = host.get(format).unwrap();
        assert_eq!(info.abi_version, 2, "{format}");
        let streamed = host.export(format, &sample(), &opts(&[])).unwrap().bytes;
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(export_v1(&lib(&target))).unwrap(),
            "{format}"
        );
    }
}

#[test]
fn a_streamed_export_in_the_runner_and_in_process() {
    for options in [isolated(), HostOptions::default()] {
        let (_dir, host) = misbehave(&options);
        assert_eq!(host.get("stream-misbehave").unwrap().abi_version, 2);
        assert_eq!(export(&host, "ok").unwrap(), OK);
        // A character cut between two chunks of output is whole once both came.
        assert!(export(&host, "split-utf8").unwrap().starts_with("café\n"));
    }
}

#[test]
fn failing_half_way_is_the_plugin_failure_v1_reports() {
    for options in [isolated(), HostOptions::default()] {
        let (_dir, host) = misbehave(&options);
        // Status 1 with options given: as for version 1, the host asks whether the options
        // are the cause (without them the plugin exports): they are, here.
        let err = export(&host, "error").unwrap_err();
        assert!(matches!(err, HostError::BadOption { .. }), "{err:?}");
        snap!("stream_error", err.to_string());
        let err = export(&host, "panic").unwrap_err();
        assert!(matches!(err, HostError::PluginPanicked { .. }), "{err:?}");
        snap!("stream_panic", err.to_string());
        let err = host
            .export("stream-misbehave", &sample(), &opts(&[("colour", "red")]))
            .unwrap_err();
        assert!(matches!(err, HostError::Usage { .. }), "{err:?}");
        assert!(err.is_bad_input());
    }
}

#[test]
fn crashing_half_way_is_reported_with_its_signal() {
    let (_dir, host) = misbehave(&isolated());
    let err = export(&host, "segfault").unwrap_err();
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
    snap!("stream_segfault", err.to_string());
    let err = export(&host, "abort").unwrap_err();
    assert!(
        matches!(
            err,
            HostError::PluginCrashed {
                signal: Some(6),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(export(&host, "ok").unwrap(), OK, "the host lives on");
}

#[test]
fn text_that_is_not_utf8_is_refused_in_the_stream() {
    for options in [isolated(), HostOptions::default()] {
        let (_dir, host) = misbehave(&options);
        let err = export(&host, "non-utf8").unwrap_err();
        assert!(
            matches!(
                err,
                HostError::InvalidUtf8 {
                    valid_up_to: 38,
                    ..
                }
            ),
            "{err:?}"
        );
        snap!("stream_non_utf8", err.to_string());
        // A character left cut at the very end.
        let err = export(&host, "cut-utf8").unwrap_err();
        assert!(matches!(err, HostError::InvalidUtf8 { .. }), "{err:?}");
    }
}

#[test]
fn the_output_limit_stops_a_flood_and_the_memory_limit_an_allocation() {
    let limits = Limits {
        output: 2 << 20,
        ..Limits::default()
    };
    let (_dir, host) = misbehave(&with_limits(limits));
    let err = export(&host, "flood").unwrap_err();
    assert!(
        matches!(err, HostError::OutputLimit { limit, .. } if limit == 2 << 20),
        "{err:?}"
    );
    snap!("stream_output_limit", err.to_string());
    let (_dir, host) = misbehave(&isolated());
    let err = export(&host, "alloc").unwrap_err();
    assert!(
        matches!(err, HostError::PluginOutOfMemory { .. }),
        "{err:?}"
    );
}

#[test]
fn breaking_the_stream_protocol_is_refused() {
    for options in [isolated(), HostOptions::default()] {
        let (_dir, host) = host_of("chronicle_testplugin_stream_raw", "stream_raw", &options);
        let ok = host.export("stream-raw", &sample(), &opts(&[])).unwrap();
        assert_eq!(ok.bytes, b"raw: 5 incidents");
        let err = host
            .export(
                "stream-raw",
                &sample(),
                &opts(&[("mode", "write-after-finish")]),
            )
            .unwrap_err();
        assert!(
            matches!(err, HostError::WroteOutsideCall { ref when, .. }
                if when == "from `drop_state`, after `finish` had returned"),
            "{err:?}"
        );
        snap!("stream_write_after_finish", err.to_string());
        let err = host
            .export("stream-raw", &sample(), &opts(&[("mode", "status-7")]))
            .unwrap_err();
        assert!(
            matches!(err, HostError::UnknownStatus { status: 7, .. }),
            "{err:?}"
        );
        snap!("stream_unknown_status", err.to_string());
    }
}

#[test]
fn a_version_2_declaration_without_an_incident_function_is_broken() {
    let dir = plugin_dir();
    install(
        dir.path(),
        "chronicle_testplugin_stream_null_incident",
        "null_incident",
    );
    snap!("stream_null_incident", broken_reason(&[dir.path()]));
}

#[test]
fn check_runs_a_streamed_plugin_through_version_2() {
    let path = lib("chronicle_testplugin_stream_misbehave");
    let report = check_library(&path, &isolated()).unwrap();
    assert_eq!(report.plugin.abi_version, 2);
    assert!(report.passed(), "{report}");
    let invalid = report
        .checks
        .iter()
        .find(|c| c.name == "invalid input")
        .unwrap();
    assert!(
        matches!(invalid.outcome, CheckOutcome::Pass(_)),
        "{invalid:?}"
    );
    let shipped = check_library(&lib("chronicle_plugin_markdown"), &isolated()).unwrap();
    assert!(shipped.passed(), "{shipped}");
    assert!(matches!(isolated().isolation, Isolation::Child(_)));
}

/// The passes an export makes depend on its options (`passes_fn`, revision 2.1): csv's
/// default layout gathers its columns in a first pass (2 passes), its ACLED layout has fixed
/// columns (1 pass); the bytes are those of the version-1 entry point, which runs the same
/// passes over the whole document.
#[test]
fn the_passes_of_an_export_depend_on_its_options() {
    let (_dir, host) = host_of("chronicle_plugin_csv", "csv", &HostOptions::default());
    let (_dir2, isolated_host) = host_of("chronicle_plugin_csv", "csv", &isolated());
    for (options, passes) in [
        (&[][..], 2),
        (&[("layout", "default")][..], 2),
        (&[("layout", "acled")][..], 1),
        (&[("layout", "acled"), ("provenance", "no")][..], 1),
    ] {
        let before = passes_run_on_this_thread();
        let out = host.export("csv", &sample(), &opts(options)).unwrap();
        assert_eq!(passes_run_on_this_thread() - before, passes, "{options:?}");
        let through_runner = isolated_host
            .export("csv", &sample(), &opts(options))
            .unwrap();
        assert_eq!(out, through_runner, "{options:?}");
        let (_, v1) =
            export_knowing_only(1, &lib("chronicle_plugin_csv"), &sample(), &opts(options))
                .unwrap();
        assert_eq!(out.bytes, v1.bytes, "{options:?}");
    }
}

/// The host runs the passes `passes_fn` asks for, in the runner and in process, and
/// refuses a count outside the declared range.
#[test]
fn the_host_runs_the_passes_a_plugin_asks_for() {
    for options in [isolated(), HostOptions::default()] {
        let (_dir, host) = host_of("chronicle_testplugin_stream_raw", "stream_raw", &options);
        let export = |mode: &str| {
            host.export("stream-raw", &sample(), &opts(&[("mode", mode)]))
                .map(|out| String::from_utf8(out.bytes).unwrap())
        };
        // It declares 2 passes; each start_pass writes a line, each incident counts.
        assert_eq!(export("passes-1").unwrap(), "pass 0\nraw: 5 incidents");
        assert_eq!(
            export("passes-2").unwrap(),
            "pass 0\npass 1\nraw: 10 incidents"
        );
        let err = export("passes-3").unwrap_err();
        assert!(
            matches!(
                err,
                HostError::InvalidPasses {
                    asked: 3,
                    declared: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        snap!("stream_invalid_passes", err.to_string());
    }
}

/// A plugin built against the first release of version 2 (a 96-byte declaration, no
/// `passes_fn`) still loads, and every export runs its declared passes.
#[test]
fn a_declaration_of_the_first_revision_runs_its_declared_passes() {
    for options in [isolated(), HostOptions::default()] {
        let (_dir, host) = host_of("chronicle_testplugin_stream_hang", "stream_hang", &options);
        assert_eq!(host.get("stream-hang").unwrap().abi_version, 2);
        let before = passes_run_on_this_thread();
        let out = host.export("stream-hang", &sample(), &opts(&[])).unwrap();
        assert_eq!(out.bytes, b"pass 0\npass 1\nhang: 10 incidents");
        if options.isolation == Isolation::InProcess {
            assert_eq!(passes_run_on_this_thread() - before, 2);
        }
    }
}

/// A version-2 plugin that stops answering mid-stream, after some output reached the host,
/// is stopped at the time limit like a version-1 plugin.
#[test]
fn a_plugin_hanging_mid_stream_is_stopped_at_the_time_limit() {
    let limits = Limits {
        timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let (_dir, host) = host_of(
        "chronicle_testplugin_stream_hang",
        "stream_hang",
        &with_limits(limits),
    );
    let started = std::time::Instant::now();
    let err = host
        .export("stream-hang", &sample(), &opts(&[("mode", "hang")]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            HostError::PluginTimedOut {
                during: Stage::Export,
                limit,
                ..
            } if limit == Duration::from_secs(1)
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    snap!("stream_timeout", err.to_string());
}

/// A host that knows only version 1 (a chronicle from before version 2) loads the shipped
/// streamed plugins through `chronicle_plugin_declare_v1` (they return 1 from
/// `chronicle_plugin_abi_version`), hands them the whole document, and gets the bytes this
/// host streams; a plugin that exports only `declare_v2` tells it to upgrade.
#[test]
fn a_host_that_knows_only_version_1_gets_the_same_bytes_through_declare_v1() {
    for (format, options) in [
        ("markdown", &[][..]),
        ("csv", &[][..]),
        ("csv", &[("layout", "acled")][..]),
        ("geojson", &[][..]),
        ("html", &[][..]),
    ] {
        let target = format!("chronicle_plugin_{format}");
        let (info, v1) = export_knowing_only(1, &lib(&target), &sample(), &opts(options))
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!((info.name.as_str(), info.abi_version), (format, 1));
        let (_dir, host) = host_of(&target, format, &isolated());
        assert_eq!(host.get(format).unwrap().abi_version, 2);
        let streamed = host.export(format, &sample(), &opts(options)).unwrap();
        assert_eq!(v1, streamed, "{format} {options:?}");
        let (info, v2) = export_knowing_only(2, &lib(&target), &sample(), &opts(options)).unwrap();
        assert_eq!((info.abi_version, &v2), (2, &streamed));
    }
    let err = export_knowing_only(
        1,
        &lib("chronicle_testplugin_stream_raw"),
        &sample(),
        &opts(&[]),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            HostError::AbiTooNew {
                found: 2,
                max: 1,
                ..
            }
        ),
        "{err:?}"
    );
}
