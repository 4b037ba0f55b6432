//! The C template (`plugins/c-template/`): built with its own Makefile against the system
//! cJSON (`libcjson-dev`, which `.ci/run` installs) and the header `chronicle plugins header`
//! prints, then checked with `chronicle plugins check` and used to export a copy of the July
//! 2020 chronology. A bad `--option` is the plugin's usage status (3): chronicle exits 2.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo_root, Scratch};

/// A link of the chronicle binary in `dir/bin`: chronicle also searches its own directory
/// for plugins, and `target/debug` holds the shipped ones (and stale ones).
fn chronicle(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let exe = bin.join("chronicle");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_chronicle"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_chronicle"), &exe).unwrap();
    }
    exe
}

/// Runs `exe ARGS` in the scratch directory: (exit code, stdout, stderr), paths as `[DIR]`.
fn run(s: &Scratch, exe: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(exe)
        .current_dir(s.dir.path())
        .env("CHRONICLE_DB", s.db())
        .env("HOME", s.path("home"))
        .env("XDG_DATA_HOME", s.path("xdg"))
        .env_remove("CHRONICLE_PLUGIN_PATH")
        .args(args)
        .output()
        .unwrap();
    s.run_output(out)
}

/// Copies the template into `dir/tsv` and runs `make` there; the path of the library.
fn build(dir: &Path, exe: &Path) -> PathBuf {
    let src = dir.join("tsv");
    std::fs::create_dir(&src).unwrap();
    for file in ["plugin.c", "Makefile", "README.md"] {
        std::fs::copy(
            repo_root().join("plugins/c-template").join(file),
            src.join(file),
        )
        .unwrap();
    }
    let mut make = Command::new("make");
    make.current_dir(&src)
        .arg(format!("CHRONICLE={}", exe.display()))
        // Stricter than the template's default: a warning fails the test.
        .arg("CFLAGS=-std=c99 -O1 -g -Wall -Wextra -Werror -pedantic");
    if let Some(cc) = std::env::var_os("CC") {
        make.env("CC", cc);
    }
    let out = make
        .output()
        .unwrap_or_else(|e| panic!("cannot run make (install make and a C compiler): {e}"));
    assert!(
        out.status.success(),
        "building plugins/c-template failed (it needs cJSON: apt-get install libcjson-dev):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The header came from `chronicle plugins header`, not the source tree.
    assert_eq!(
        std::fs::read_to_string(src.join("chronicle_plugin.h")).unwrap(),
        std::fs::read_to_string(repo_root().join("plugins/include/chronicle_plugin.h")).unwrap()
    );
    let lib = src.join("libchronicle_plugin_tsv.so");
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755)).unwrap();
    let installed = plugins.join("libchronicle_plugin_tsv.so");
    std::fs::copy(&lib, &installed).unwrap();
    std::fs::set_permissions(&installed, std::fs::Permissions::from_mode(0o755)).unwrap();
    plugins
}

#[test]
fn the_c_template_is_short_and_builds_with_the_system_cjson() {
    let source = std::fs::read_to_string(repo_root().join("plugins/c-template/plugin.c")).unwrap();
    let lines = source.lines().count();
    assert!(lines < 100, "plugins/c-template/plugin.c has {lines} lines");
    assert!(source.contains("#include <cjson/cJSON.h>"));

    let s = Scratch::demo();
    let exe = chronicle(s.dir.path());
    let plugins = build(s.dir.path(), &exe);
    let dir = plugins.to_str().unwrap();

    let (code, out, err) = run(
        &s,
        &exe,
        &[
            "plugins",
            "check",
            &format!("{dir}/libchronicle_plugin_tsv.so"),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("[ok  ] unknown option: an unknown option gives a usage error (status 3)"),
        "{out}"
    );

    let (code, out, err) = run(
        &s,
        &exe,
        &["export", "--plugin-dir", dir, "--format", "tsv"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("AFP 17; Ministry of Defense 8"),
        "the Puli Alam dispute is missing:\n{out}"
    );
    insta::assert_snapshot!("c_template_export", out);

    let (code, headless, _) = run(
        &s,
        &exe,
        &[
            "export",
            "--plugin-dir",
            dir,
            "--format",
            "tsv",
            "--option",
            "header=no",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        Some(headless.as_str()),
        out.split_once('\n').map(|(_, rest)| rest)
    );

    // A bad option: the plugin's usage status, bad input (exit 2), nothing on stdout.
    let (code, out, err) = run(
        &s,
        &exe,
        &[
            "export",
            "--plugin-dir",
            dir,
            "--format",
            "tsv",
            "--option",
            "header=maybe",
        ],
    );
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    insta::assert_snapshot!("c_template_bad_option", err);
}
