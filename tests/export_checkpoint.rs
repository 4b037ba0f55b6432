//! Issue 18: exports carry the checkpoint they were made at. The document's
//! `provenance.checkpoint` is the C2SP checkpoint of the log's Merkle tree of `log_seq`
//! events, signed with `export --sign KEYFILE`; every shipped format shows it, and a reader
//! checks a proof against the note lifted from an export with `chronicle check-proof`.
//!
//! Like `tests/export.rs`, the plugins are built by `build_cdylibs` and installed into a
//! scratch plugin directory, and the binary runs from a scratch `bin/` so that only they
//! are found.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chronicle_plugin_host::plugin_file_name;
use common::{repo_root, set_mode, Scratch};
use serde_json::Value;

/// A signer key for these tests only (fixed, so that signed outputs can be snapshots).
const SIGNER: &str =
    "PRIVATE+KEY+test.example/chronicle+b2723fa7+AQ34d4CG1y7GQilOhrpO3vISfBdE+e8lbosFwk4Dzuy0\n";
/// Its verifier key.
const VERIFIER: &str =
    "test.example/chronicle+b2723fa7+AWJIjOvF28z7vgplI7gAp3C3rwhLzZMUKkrPqQ4eBfKk";

/// The shipped formats, as (package, library target).
const SHIPPED: &[(&str, &str)] = &[
    ("chronicle-plugin-markdown", "chronicle_plugin_markdown"),
    ("chronicle-plugin-csv", "chronicle_plugin_csv"),
    ("chronicle-plugin-geojson", "chronicle_plugin_geojson"),
    ("chronicle-plugin-html", "chronicle_plugin_html"),
];

fn libs() -> &'static BTreeMap<String, PathBuf> {
    static LIBS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    LIBS.get_or_init(|| {
        let packages: Vec<&str> = SHIPPED.iter().map(|(p, _)| *p).collect();
        chronicle_plugin_host::testing::build_cdylibs(&repo_root().join("Cargo.toml"), &packages)
            .unwrap_or_else(|e| panic!("building the plugins failed: {e}"))
    })
}

/// A hard link of `from` at `to` (a copy across file systems).
fn link(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// A copy of the demo log, the binary in `bin/`, the shipped plugins in `plugins/`, and the
/// test signer key in `signer.key`.
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
        let plugins = s.path("plugins");
        std::fs::create_dir(&plugins).unwrap();
        set_mode(&plugins, 0o755);
        for (_, target) in SHIPPED {
            link(&libs()[*target], &plugins.join(plugin_file_name(target)));
        }
        s.write("signer.key", SIGNER);
        Env { s, bin, plugins }
    }

    /// (exit code, stdout, stderr), the scratch path written `[DIR]`.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut c = assert_cmd::Command::new(&self.bin);
        c.current_dir(self.s.dir.path())
            .env("CHRONICLE_DB", self.s.db())
            .env("HOME", self.s.path("home"))
            .env("XDG_DATA_HOME", self.s.path("xdg"))
            .env_remove("CHRONICLE_PLUGIN_PATH")
            .env_remove("CHRONICLE_FAKE_NOW")
            .args(args);
        self.s.run_output(c.output().unwrap())
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "chronicle {args:?} failed:\n{out}\n{err}");
        out
    }

    /// `export ARGS` with the scratch plugin directory.
    fn export(&self, args: &[&str]) -> String {
        let dir = self.plugins.to_str().unwrap();
        self.ok(&[&["export", "--plugin-dir", dir], args].concat())
    }

    /// The checkpoint of a json export.
    fn checkpoint(&self, args: &[&str]) -> Value {
        let doc: Value = serde_json::from_str(&self.export(args)).unwrap();
        doc["provenance"]["checkpoint"].clone()
    }

    /// Runs `check-proof` on the inclusion proof of `seq` in the tree of `size` events
    /// against `note`: (exit code, what it printed).
    fn check(&self, seq: u64, size: u64, note: &str) -> (i32, String) {
        let proof = self.ok(&[
            "prove",
            "--seq",
            &seq.to_string(),
            "--size",
            &size.to_string(),
        ]);
        self.s.write("proof.json", &proof);
        self.s.write("checkpoint.txt", note);
        let (code, out, err) = self.run(&[
            "check-proof",
            "proof.json",
            "--checkpoint",
            "checkpoint.txt",
            "--key",
            VERIFIER,
        ]);
        (code, format!("{out}{err}"))
    }
}

#[test]
fn an_export_carries_the_checkpoint_of_its_point() {
    let env = Env::new();
    // At the head: what `chronicle checkpoint` prints.
    let head = env.checkpoint(&[]);
    let printed = env.ok(&["checkpoint"]);
    assert_eq!(head["note"], printed.as_str());
    assert_eq!(head["origin"], "chronicle");
    assert_eq!(head["tree_size"], 56);
    assert!(printed.contains(head["root_hash"].as_str().unwrap()));
    // At seq 12: the tree of the first 12 events, as a consistency proof from 12 states it.
    let early = env.checkpoint(&["--at-seq", "12"]);
    assert_eq!(early["tree_size"], 12);
    let consistency: Value =
        serde_json::from_str(&env.ok(&["prove", "--consistency", "12"])).unwrap();
    assert_eq!(early["root_hash"], consistency["old_root"]);
    assert_eq!(
        early["note"],
        format!(
            "chronicle\n12\n{}\n",
            consistency["old_root"].as_str().unwrap()
        )
        .as_str()
    );
    // `--origin` names the log, as for `chronicle checkpoint`.
    let named = env.checkpoint(&["--origin", "example.org/afghanistan-2020"]);
    assert_eq!(
        named["note"],
        env.ok(&["checkpoint", "--origin", "example.org/afghanistan-2020"])
            .as_str()
    );
}

#[test]
fn a_proof_checks_against_the_signed_checkpoint_lifted_from_an_export() {
    let env = Env::new();
    let signed = env.checkpoint(&["--sign", "signer.key"]);
    let note = signed["note"].as_str().unwrap();
    // The signer key's name is the origin; the note is `checkpoint --sign`'s.
    assert_eq!(signed["origin"], "test.example/chronicle");
    assert_eq!(note, env.ok(&["checkpoint", "--sign", "signer.key"]));
    let (code, out) = env.check(5, 56, note);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("valid: event seq 5 "), "{out}");
    // A proof made in another tree size does not check against it.
    let (code, out) = env.check(5, 37, note);
    assert_eq!(code, 1, "{out}");
    // An export at seq 20: proofs in the tree of 20 events.
    let early = env.checkpoint(&["--sign", "signer.key", "--at-seq", "20"]);
    let (code, out) = env.check(20, 20, early["note"].as_str().unwrap());
    assert_eq!(code, 0, "{out}");
    // The note lifted from the csv comments and from the geojson member is the same note.
    let csv = env.export(&["--format", "csv", "--sign", "signer.key"]);
    let lifted: String = csv
        .lines()
        .filter_map(|l| l.strip_prefix("# checkpoint:"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    assert_eq!(lifted, note);
    let geo: Value =
        serde_json::from_str(&env.export(&["--format", "geojson", "--sign", "signer.key"]))
            .unwrap();
    assert_eq!(geo["chronicle"]["checkpoint"], signed);
    // And a note altered after it was exported fails.
    let altered = note.replace("\n56\n", "\n57\n");
    let (code, out) = env.check(5, 56, &altered);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn every_format_shows_the_signed_checkpoint_and_stays_reproducible() {
    let env = Env::new();
    let mut shown = String::new();
    for format in ["markdown", "html", "csv"] {
        let args = ["--format", format, "--sign", "signer.key"];
        let out = env.export(&args);
        assert_eq!(out, env.export(&args), "{format} is not reproducible");
        // The part of the output that shows the checkpoint.
        let part: Vec<&str> = match format {
            "markdown" => out
                .lines()
                .skip_while(|l| !l.starts_with("The log's checkpoint"))
                .collect(),
            "html" => out
                .lines()
                .skip_while(|l| !l.starts_with("<section class=\"checkpoint\">"))
                .take_while(|l| !l.starts_with("<footer>"))
                .collect(),
            _ => out
                .lines()
                .filter(|l| l.starts_with("# checkpoint"))
                .collect(),
        };
        shown.push_str(&format!("== {format}\n{}\n", part.join("\n")));
    }
    assert!(shown.contains("— test.example/chronicle "), "{shown}");
    insta::assert_snapshot!("export_signed_checkpoint", shown);
}

#[test]
fn a_bad_signer_key_is_refused_and_nothing_is_written() {
    let env = Env::new();
    env.s.write("verifier.key", VERIFIER);
    std::fs::write(env.s.path("out.json"), "before").unwrap();
    let mut out = String::new();
    for key in ["missing.key", "verifier.key"] {
        let (code, stdout, stderr) = env.run(&["export", "--sign", key, "--out", "out.json"]);
        assert_eq!(code, 2, "{stderr}");
        out.push_str(&format!("--sign {key}: [exit {code}]\n{stdout}{stderr}"));
    }
    let (code, _, stderr) = env.run(&["export", "--origin", "", "--out", "out.json"]);
    assert_eq!(code, 2, "{stderr}");
    out.push_str(&format!("--origin '': [exit {code}]\n{stderr}"));
    assert_eq!(
        std::fs::read_to_string(env.s.path("out.json")).unwrap(),
        "before"
    );
    insta::assert_snapshot!("export_bad_signer", out);
}
