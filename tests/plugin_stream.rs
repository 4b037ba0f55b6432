//! `chronicle export` through a streamed (ABI 2) plugin: the output reaches `--out` or
//! standard output only once the plugin succeeded, and the plugin's memory does not grow
//! with the chronology.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use chronicle_plugin_host::plugin_file_name;
use common::{repo_root, set_mode, Scratch};

const PACKAGES: &[&str] = &[
    "chronicle-plugin-csv",
    "chronicle-testplugin-misbehave",
    "chronicle-testplugin-stream-misbehave",
    "chronicle-testplugin-stream-hang",
];

fn libs() -> &'static BTreeMap<String, PathBuf> {
    static LIBS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    LIBS.get_or_init(|| {
        chronicle_plugin_host::testing::build_cdylibs(&repo_root().join("Cargo.toml"), PACKAGES)
            .unwrap_or_else(|e| panic!("building the plugins failed: {e}"))
    })
}

/// A plugin directory in `s` with csv, misbehave (ABI 1), stream-misbehave and stream-hang
/// (ABI 2).
fn plugins(s: &Scratch) -> String {
    let dir = s.path("plugins");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o755);
    for (target, stem) in [
        ("chronicle_plugin_csv", "chronicle_plugin_csv"),
        (
            "chronicle_testplugin_misbehave",
            "chronicle_plugin_misbehave",
        ),
        (
            "chronicle_testplugin_stream_misbehave",
            "chronicle_plugin_stream_misbehave",
        ),
        (
            "chronicle_testplugin_stream_hang",
            "chronicle_plugin_stream_hang",
        ),
    ] {
        let to = dir.join(plugin_file_name(stem));
        std::fs::copy(&libs()[target], &to).unwrap();
        set_mode(&to, 0o755);
    }
    dir.display().to_string()
}

/// `stderr` without the warnings about the build directory's libraries (the executable's
/// directory holds the shipped plugins too).
fn without_skipped(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("warning: skipped"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Asserts that no temporary file of an export to `out.txt` is left in the scratch directory.
fn assert_no_temporary_beside_out(s: &Scratch) {
    let left: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("out.txt") && n != "out.txt")
        .collect();
    assert!(
        left.is_empty(),
        "temporary files left beside --out: {left:?}"
    );
}

fn run(s: &Scratch, plugins: &str, args: &[&str], mode: Option<&str>) -> (i32, String, String) {
    let mut c = s.cmd(args);
    c.args(["--plugin-dir", plugins])
        .env_remove("CHRONICLE_TESTPLUGIN_MODE")
        .env_remove("RUST_BACKTRACE");
    if let Some(mode) = mode {
        c.env("CHRONICLE_TESTPLUGIN_MODE", mode);
    }
    s.run_output(c.output().unwrap())
}

/// A plugin that fails half-way, after writing part of its output, leaves `--out` as it
/// was and prints nothing on standard output; the messages are version 1's.
#[test]
fn a_plugin_failing_half_way_leaves_no_output_anywhere() {
    let s = Scratch::demo();
    let plugins = plugins(&s);
    let out = s.path("out.txt");
    let mut t = String::new();
    for (mode, code) in [
        ("error", 1),
        ("panic", 1),
        ("segfault", 1),
        ("abort", 1),
        ("non-utf8", 1),
    ] {
        std::fs::write(&out, "the previous export\n").unwrap();
        for to_file in [true, false] {
            let mut args = vec!["export", "--format", "stream-misbehave"];
            if to_file {
                args.extend(["--out", "out.txt"]);
            }
            let (got, stdout, stderr) = run(&s, &plugins, &args, Some(mode));
            assert_eq!(got, code, "{mode}: {stderr}");
            assert_eq!(stdout, "", "{mode}: nothing on standard output");
            assert_eq!(
                std::fs::read_to_string(&out).unwrap(),
                "the previous export\n",
                "{mode}"
            );
            if to_file {
                let stderr = without_skipped(&stderr);
                t.push_str(&format!(
                    "$ CHRONICLE_TESTPLUGIN_MODE={mode} chronicle {}\n[exit {got}]\n{stderr}\n",
                    args.join(" ")
                ));
            }
        }
    }
    assert_no_temporary_beside_out(&s);
    insta::assert_snapshot!("stream_failures", t);
}

/// What a streamed plugin writes reaches standard output and `--out` whole, a character
/// cut between two of its writes included.
#[test]
fn a_streamed_export_to_stdout_and_to_a_file() {
    let s = Scratch::demo();
    let plugins = plugins(&s);
    let (code, stdout, stderr) = run(
        &s,
        &plugins,
        &["export", "--format", "stream-misbehave"],
        Some("split-utf8"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("café\n"), "{stdout}");
    assert!(
        stdout.ends_with("stream-misbehave: 18 incidents"),
        "{stdout}"
    );
    let (code, _, stderr) = run(
        &s,
        &plugins,
        &["export", "--format", "stream-misbehave", "--out", "out.txt"],
        Some("split-utf8"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(s.path("out.txt")).unwrap(), stdout);
}

/// The events of a chronology whose export document is about 40 MB: `incidents`
/// incidents, each reported with a 12 KB summary and a 12 KB note.
fn big_chronology(incidents: usize) -> String {
    let text = "The ministry's statement gave no figure. ".repeat(300);
    let mut lines = String::new();
    for n in 0..incidents {
        let id = format!("2020-07-{:02}-test-{n}", n % 28 + 1);
        let date = &id[..10];
        lines.push_str(&format!(
            "{{\"incident\": \"{id}\", \"kind\": \"incident_reported\", \"payload\": {{\"date\": \"{date}\", \"country\": \"Afghanistan\", \"province\": \"Kabul\", \"category\": \"shelling\", \"summary\": \"{text}\", \"source\": \"Wire\", \"citation\": \"https://example.org/{n}\"}}}}\n"
        ));
        lines.push_str(&format!(
            "{{\"incident\": \"{id}\", \"kind\": \"casualties_reported\", \"payload\": {{\"source\": \"Wire\", \"published\": \"{date}\", \"killed\": 3, \"note\": \"{text}\", \"citation\": \"https://example.org/{n}\"}}}}\n"
        ));
    }
    lines
}

/// The plugin's memory limit bounds what it adds to one incident, not the chronology: a
/// ~40 MB document exports through the streamed csv plugin with `--plugin-memory 8MiB`,
/// where a version-1 plugin, handed the whole document, is stopped at the limit.
#[test]
fn a_streamed_export_of_a_large_chronology_fits_a_small_memory_limit() {
    let s = Scratch::new();
    let plugins = plugins(&s);
    s.write("big.jsonl", &big_chronology(1600));
    s.ok(&["append", "big.jsonl"]);
    let (code, _, stderr) = run(
        &s,
        &plugins,
        &["export", "--format", "json", "--out", "doc.json"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let doc_len = std::fs::metadata(s.path("doc.json")).unwrap().len();
    assert!(doc_len > 30 << 20, "the document is {doc_len} bytes");
    let (code, _, stderr) = run(
        &s,
        &plugins,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            "big.csv",
            "--plugin-memory",
            "8MiB",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let csv = std::fs::read_to_string(s.path("big.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains("-test-")).count(), 1600);
    let (code, _, stderr) = run(
        &s,
        &plugins,
        &[
            "export",
            "--format",
            "misbehave",
            "--out",
            "v1.txt",
            "--plugin-memory",
            "8MiB",
        ],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("ran out of memory"), "{stderr}");
    assert!(!s.path("v1.txt").exists());
}

/// `--plugin-output` bounds what a streamed plugin writes; a bad size is refused as bad
/// input, naming the default.
#[test]
fn the_output_limit_is_a_flag() {
    let s = Scratch::demo();
    let plugins = plugins(&s);
    let (code, stdout, stderr) = run(
        &s,
        &plugins,
        &[
            "export",
            "--format",
            "stream-misbehave",
            "--plugin-output",
            "2MiB",
        ],
        Some("flood"),
    );
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    // The limit as --plugin-output takes it, as the memory limit's message says its own.
    insta::assert_snapshot!("stream_output_limit", without_skipped(&stderr));
    let (code, _, stderr) = run(
        &s,
        &plugins,
        &[
            "export",
            "--format",
            "stream-misbehave",
            "--plugin-output",
            "12",
        ],
        None,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("(default 16GiB)"), "{stderr}");
}

/// A streamed plugin that stops answering mid-stream (after some of its output reached
/// chronicle) is stopped at `--plugin-timeout`: exit 1, the limit and the flag named,
/// nothing on standard output, `--out` as it was.
#[test]
fn a_streamed_plugin_hanging_mid_stream_is_stopped_at_the_time_limit() {
    let s = Scratch::demo();
    let plugins = plugins(&s);
    let out = s.path("out.txt");
    std::fs::write(&out, "the previous export\n").unwrap();
    let mut t = String::new();
    for to_file in [true, false] {
        let mut args = vec![
            "export",
            "--format",
            "stream-hang",
            "--option",
            "mode=hang",
            "--plugin-timeout",
            "1",
        ];
        if to_file {
            args.extend(["--out", "out.txt"]);
        }
        let started = std::time::Instant::now();
        let (code, stdout, stderr) = run(&s, &plugins, &args, None);
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "the previous export\n"
        );
        t.push_str(&format!(
            "$ chronicle {}\n[exit {code}]\n{}\n",
            args.join(" "),
            without_skipped(&stderr)
        ));
    }
    assert_no_temporary_beside_out(&s);
    insta::assert_snapshot!("stream_timeout", t);
    // Without the hang the same plugin (a declaration of ABI 2's first release) exports.
    let (code, stdout, stderr) = run(&s, &plugins, &["export", "--format", "stream-hang"], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "pass 0\npass 1\nhang: 36 incidents");
}
