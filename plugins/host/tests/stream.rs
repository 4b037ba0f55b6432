//! Plugin ABI version 2: streamed exports. The document reaches the plugin one incident at
//! a time (from the runner's spool), its output comes back in frames as it writes it, and
//! failing half-way is as clear an error as a version-1 failure.
#![allow(clippy::unwrap_used)]

mod support;

use chronicle_plugin_host::{
    check_library, CheckOutcome, HostError, HostOptions, Isolation, Limits, PluginHost, Stage,
};
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
        assert!(matches!(err, HostError::InvalidOutput { .. }), "{err:?}");
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
