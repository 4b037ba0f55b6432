//! The four real plugins, loaded from their shared libraries through the
//! host, give the same bytes as their crates' own snapshots.
#![allow(clippy::unwrap_used)]

mod support;

use chronicle_plugin_host::{check_library, PluginHost};
use std::path::Path;
use support::*;

const FORMATS: [&str; 4] = ["csv", "geojson", "html", "markdown"];

fn host_with_all() -> (tempfile::TempDir, PluginHost) {
    let dir = plugin_dir();
    for f in FORMATS {
        install(dir.path(), &format!("chronicle_plugin_{f}"), f);
    }
    let host = discover(&[dir.path()]).unwrap();
    (dir, host)
}

/// The body of a snapshot file written by a plugin crate's unit tests.
fn plugin_snapshot(format: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(format)
        .join("src/snapshots")
        .join(format!("chronicle_plugin_{format}__tests__{name}.snap"));
    let text = std::fs::read_to_string(&path).unwrap();
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    body.to_owned()
}

fn export(host: &PluginHost, format: &str, options: &[(&str, &str)]) -> String {
    let out = host.export(format, &sample(), &opts(options)).unwrap();
    assert!(out.text);
    String::from_utf8(out.bytes).unwrap()
}

#[test]
fn lists_the_four_formats() {
    let (_dir, host) = host_with_all();
    let listing: Vec<String> = host
        .formats()
        .iter()
        .map(|p| {
            format!(
                "{} {} (ABI {}) .{} text={} {}: {}",
                p.name,
                p.version,
                p.abi_version,
                p.extension,
                p.text,
                p.path.file_name().unwrap().to_string_lossy(),
                p.description
            )
        })
        .collect();
    settings().bind(|| insta::assert_snapshot!("formats_listing", listing.join("\n")));
    assert!(host.warnings().is_empty(), "{:?}", host.warnings());
}

#[test]
fn each_format_through_its_shared_library() {
    let (_dir, host) = host_with_all();
    for (format, options, crate_snapshot) in [
        ("markdown", &[][..], "sample"),
        ("csv", &[][..], "default"),
        ("csv", &[("layout", "acled")][..], "acled"),
        ("geojson", &[][..], "sample"),
        ("html", &[][..], "sample"),
    ] {
        let out = export(&host, format, options);
        // Byte-identical to the direct call of the Exporter impl.
        let direct = plugin_snapshot(format, crate_snapshot);
        if out.trim_end() != direct.trim_end() {
            let line = out
                .lines()
                .zip(direct.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(out.lines().count().min(direct.lines().count()));
            panic!(
                "{format} {options:?}: the shared library's output differs from the crate's \
                 snapshot from line {} on",
                line + 1
            );
        }
        // And deterministic across calls.
        assert_eq!(out, export(&host, format, options));
        let name = format!("via_host_{format}_{crate_snapshot}");
        settings().bind(|| insta::assert_snapshot!(name, out));
    }
}

#[test]
fn options_reach_the_plugin() {
    let (_dir, host) = host_with_all();
    let plain = export(&host, "csv", &[("provenance", "false")]);
    assert!(plain.starts_with("incident,date,"));
    let err = host
        .export("csv", &sample(), &opts(&[("layout", "ucdp")]))
        .unwrap_err()
        .to_string();
    settings().bind(|| insta::assert_snapshot!("csv_bad_option", err));
}

#[test]
fn an_invalid_document_is_an_error_from_the_plugin() {
    let (_dir, host) = host_with_all();
    let err = host
        .export(
            "markdown",
            b"{\"schema\": \"chronicle.views/2\"}",
            &opts(&[]),
        )
        .unwrap_err()
        .to_string();
    settings().bind(|| insta::assert_snapshot!("wrong_schema", err));
}

#[test]
fn every_real_plugin_passes_check() {
    for f in FORMATS {
        let report = check_library(&lib(&format!("chronicle_plugin_{f}")), &isolated()).unwrap();
        assert!(report.passed(), "{report}");
        assert!(
            !report.to_string().contains("[warn]"),
            "{f} should pass without warnings:\n{report}"
        );
        if f == "markdown" {
            settings().bind(|| insta::assert_snapshot!("check_markdown", report.to_string()));
        }
    }
}
