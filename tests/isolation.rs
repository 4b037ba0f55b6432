//! Plugins run in a child process (chronicle re-executed as `chronicle __plugin-runner`): a
//! plugin that segfaults, loops or allocates 10 GiB gives a clear error (exit 1, `--out`
//! untouched) and chronicle survives; `plugins check` prints the declaration and the failure;
//! a broken library beside good ones is listed as broken and the others export.
//!
//! As in `tests/export.rs`, chronicle runs from a link in a scratch `bin/` directory and
//! finds only the plugins a test installs.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use chronicle_plugin_host::plugin_file_name;
use common::{repo_root, set_mode, Scratch};

const PACKAGES: &[&str] = &[
    "chronicle-plugin-markdown",
    "chronicle-testplugin-misbehave",
    "chronicle-testplugin-declare-crash",
];

fn libs() -> &'static BTreeMap<String, PathBuf> {
    static LIBS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    LIBS.get_or_init(|| {
        chronicle_plugin_host::testing::build_cdylibs(&repo_root().join("Cargo.toml"), PACKAGES)
            .unwrap_or_else(|e| panic!("building the plugins failed: {e}"))
    })
}

/// A scratch directory with `events.db`, chronicle in `bin/`, and in `plugins/` markdown,
/// misbehave and `libchronicle_plugin_broken.so` (which crashes while declaring itself).
struct Env {
    s: Scratch,
    bin: PathBuf,
    plugins: String,
}

impl Env {
    fn new() -> Env {
        let s = Scratch::demo();
        let bin_dir = s.path("bin");
        std::fs::create_dir(&bin_dir).unwrap();
        set_mode(&bin_dir, 0o755);
        let bin = bin_dir.join(format!("chronicle{}", std::env::consts::EXE_SUFFIX));
        std::fs::copy(env!("CARGO_BIN_EXE_chronicle"), &bin).unwrap();
        let plugins = s.path("plugins");
        std::fs::create_dir(&plugins).unwrap();
        set_mode(&plugins, 0o755);
        for (target, stem) in [
            ("chronicle_plugin_markdown", "chronicle_plugin_markdown"),
            (
                "chronicle_testplugin_misbehave",
                "chronicle_plugin_misbehave",
            ),
            (
                "chronicle_testplugin_declare_crash",
                "chronicle_plugin_broken",
            ),
        ] {
            let to = plugins.join(plugin_file_name(stem));
            std::fs::copy(&libs()[target], &to).unwrap();
            set_mode(&to, 0o755);
        }
        Env {
            plugins: plugins.display().to_string(),
            s,
            bin,
        }
    }

    /// (exit code, stdout, stderr), the scratch path written `[DIR]`.
    fn run(&self, args: &[&str], mode: Option<&str>) -> (i32, String, String) {
        let mut c = assert_cmd::Command::new(&self.bin);
        c.current_dir(self.s.dir.path())
            .env("CHRONICLE_DB", self.s.db())
            .env("HOME", self.s.path("home"))
            .env("XDG_DATA_HOME", self.s.path("xdg"))
            .env_remove("CHRONICLE_PLUGIN_PATH")
            .env_remove("CHRONICLE_TESTPLUGIN_MODE")
            .env_remove("RUST_BACKTRACE")
            .env_remove("COLUMNS")
            .args(args)
            .args(["--plugin-dir", &self.plugins]);
        if let Some(mode) = mode {
            c.env("CHRONICLE_TESTPLUGIN_MODE", mode);
        }
        self.s.run_output(c.output().unwrap())
    }

    /// Runs and appends `$ chronicle ARGS`, the exit code and the output to `transcript`.
    fn transcribe(&self, t: &mut String, args: &[&str], mode: Option<&str>) -> i32 {
        let (code, out, err) = self.run(args, mode);
        let env = mode.map_or(String::new(), |m| format!("CHRONICLE_TESTPLUGIN_MODE={m} "));
        let line = args
            .join(" ")
            .replace(&self.s.dir.path().display().to_string(), "[DIR]");
        t.push_str(&format!(
            "$ {env}chronicle {line} --plugin-dir [DIR]/plugins\n[exit {code}]\n{out}{err}\n"
        ));
        code
    }
}

/// Each runaway plugin: a clear error, exit 1, `--out` neither created nor changed.
#[test]
fn a_segfault_a_loop_and_10_gib_are_clear_errors() {
    let env = Env::new();
    let out = env.s.path("out.txt");
    std::fs::write(&out, "the previous export\n").unwrap();
    let mut t = String::new();
    for (mode, extra) in [
        ("segfault", &[][..]),
        ("loop", &["--plugin-timeout", "2"][..]),
        ("alloc", &[][..]),
        ("alloc", &["--plugin-memory", "256MiB"][..]),
    ] {
        let option = format!("mode={mode}");
        let args = [
            &[
                "export",
                "--format",
                "misbehave",
                "--option",
                &option,
                "--out",
                "out.txt",
            ][..],
            extra,
        ]
        .concat();
        assert_eq!(env.transcribe(&mut t, &args, None), 1, "{t}");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "the previous export\n"
        );
    }
    // And chronicle still exports with the same plugin.
    let code = env.transcribe(
        &mut t,
        &["export", "--format", "misbehave", "--out", "out.txt"],
        None,
    );
    assert_eq!(code, 0, "{t}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "misbehave: 18 incidents"
    );
    insta::assert_snapshot!("isolation_runaway_exports", t);
}

/// `plugins check` on each: the declaration, then the failing check, then the others.
#[test]
fn check_prints_the_declaration_and_the_failure() {
    let env = Env::new();
    let lib = format!(
        "{}/{}",
        env.plugins,
        plugin_file_name("chronicle_plugin_misbehave")
    );
    let mut t = String::new();
    for mode in ["segfault", "loop", "alloc"] {
        let code = env.transcribe(
            &mut t,
            &["plugins", "check", &lib, "--plugin-timeout", "2"],
            Some(mode),
        );
        assert_eq!(code, 1, "{t}");
    }
    let broken = format!(
        "{}/{}",
        env.plugins,
        plugin_file_name("chronicle_plugin_broken")
    );
    assert_eq!(
        env.transcribe(&mut t, &["plugins", "check", &broken], None),
        1,
        "{t}"
    );
    assert_eq!(
        env.transcribe(&mut t, &["plugins", "check", "--verbose", &lib], None),
        0,
        "{t}"
    );
    insta::assert_snapshot!("isolation_check", t);
}

/// A broken library beside good ones: listed as broken, the others export, its own format
/// fails clearly.
#[test]
fn a_broken_library_beside_good_ones() {
    let env = Env::new();
    let mut t = String::new();
    assert_eq!(env.transcribe(&mut t, &["plugins", "list"], None), 0, "{t}");
    let (code, out, _) = env.run(&["plugins", "list", "--json"], None);
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let broken: Vec<&serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("broken").is_some())
        .collect();
    assert_eq!(broken.len(), 1, "{out}");
    assert_eq!(broken[0]["name"], "broken");
    let (code, out, err) = env.run(&["export", "--format", "markdown"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("<!-- chronicle export"), "{out}");
    assert!(
        err.contains("libchronicle_plugin_broken.so crashed"),
        "{err}"
    );
    assert_eq!(
        env.transcribe(&mut t, &["export", "--format", "broken"], None),
        1,
        "{t}"
    );
    insta::assert_snapshot!("isolation_broken_library", t);
}

#[test]
fn bad_limits_are_usage_errors() {
    let env = Env::new();
    let mut t = String::new();
    for args in [
        &["export", "--format", "markdown", "--plugin-timeout", "0"][..],
        &["export", "--format", "markdown", "--plugin-memory", "lots"][..],
        &["export", "--format", "markdown", "--plugin-memory", "1K"][..],
    ] {
        assert_eq!(env.transcribe(&mut t, args, None), 2, "{t}");
    }
    insta::assert_snapshot!("isolation_bad_limits", t);
}
