//! `checkpoint`, `key generate`, `prove` and `check-proof` from the command line, and an
//! independent verifier (Python, from the RFCs: `tests/verifier/tlog_verify.py`) that
//! agrees with them.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{repo_root, Scratch};

/// A scratch log of the July 2020 fixture, reproducible (fixed clock and recorder).
fn fixture_log() -> Scratch {
    let s = Scratch::new();
    let fixture = repo_root().join("tests/fixtures/july-2020.jsonl");
    s.ok(&["append", fixture.to_str().unwrap()]);
    s
}

/// `$ chronicle ARGS`, its exit code and what it printed.
fn transcript(s: &Scratch, runs: &[&[&str]]) -> String {
    let mut out = String::new();
    for args in runs {
        let (code, stdout, stderr) = s.run(args);
        out.push_str(&format!(
            "$ chronicle {}\n{stdout}{stderr}[exit {code}]\n\n",
            args.join(" ")
        ));
    }
    out
}

/// A signer key in the scratch dir (`signer.key`) and its verifier key (`verifier.key`).
fn keys(s: &Scratch) {
    let vkey = s.ok(&[
        "key",
        "generate",
        "example.org/july-2020",
        "--out",
        "signer.key",
    ]);
    s.write("verifier.key", &vkey);
}

#[test]
fn checkpoint_and_proofs_transcript() {
    let s = fixture_log();
    insta::assert_snapshot!(transcript(
        &s,
        &[
            &["checkpoint"],
            &["checkpoint", "--origin", "example.org/july-2020"],
            &["prove", "--seq", "12"],
            &["prove", "--seq", "3", "--size", "5"],
            &[
                "prove",
                "--incident",
                "2020-07-30-puli-alam",
                "--source",
                "Ministry of Defense"
            ],
            &["prove", "--consistency", "10"],
            &["prove", "--consistency", "4", "--size", "7"],
        ]
    ));
}

#[test]
fn refusals_name_the_problem() {
    let s = fixture_log();
    s.write("proof.json", "{}");
    insta::assert_snapshot!(transcript(
        &s,
        &[
            &["prove", "--seq", "0"],
            &["prove", "--seq", "39"],
            &["prove", "--seq", "3", "--size", "2"],
            &["prove", "--seq", "3", "--size", "40"],
            &["prove", "--consistency", "20", "--size", "10"],
            &[
                "prove",
                "--incident",
                "2020-07-30-puli-alam",
                "--source",
                "afp"
            ],
            &["prove"],
            &["checkpoint", "--sign", "missing.key"],
            &["key", "generate", "two words", "--out", "k"],
            &[
                "check-proof",
                "proof.json",
                "--checkpoint",
                "missing.txt",
                "--key",
                "x+00000000+AQ=="
            ],
        ]
    ));
    let empty = Scratch::new();
    let (code, _, err) = empty.run(&["prove", "--seq", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("the log is empty"), "{err}");
    assert_eq!(
        empty.ok(&["checkpoint"]),
        "chronicle\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    );
}

#[test]
fn key_generate_writes_a_private_key_and_never_overwrites_one() {
    let s = Scratch::empty();
    keys(&s);
    let skey = std::fs::read_to_string(s.path("signer.key")).unwrap();
    let vkey = std::fs::read_to_string(s.path("verifier.key")).unwrap();
    assert!(
        skey.starts_with("PRIVATE+KEY+example.org/july-2020+"),
        "{skey}"
    );
    assert!(vkey.starts_with("example.org/july-2020+"), "{vkey}");
    // The key id is the same in both (it is the hash of the public key).
    assert_eq!(skey.split('+').nth(3), vkey.split('+').nth(1));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path("signer.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, out, err) = s.run(&["key", "generate", "other", "--out", "signer.key"]);
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!(err, @r#"error: field `--out`, value "signer.key": the file exists; a key is never overwritten: choose a new path"#);
    assert_eq!(std::fs::read_to_string(s.path("signer.key")).unwrap(), skey);
}

#[test]
fn check_proof_accepts_a_good_proof_and_names_what_fails() {
    let s = fixture_log();
    keys(&s);
    s.write(
        "checkpoint.txt",
        &s.ok(&["checkpoint", "--sign", "signer.key"]),
    );
    s.write("proof.json", &s.ok(&["prove", "--seq", "12"]));
    s.write("consistency.json", &s.ok(&["prove", "--consistency", "10"]));
    s.write("old.json", &s.ok(&["prove", "--seq", "12", "--size", "20"]));
    let proof = std::fs::read_to_string(s.path("proof.json")).unwrap();
    s.write(
        "payload.json",
        &proof.replacen("\"killed\":4", "\"killed\":5", 1),
    );
    let path = proof.split("\"audit_path\"").nth(1).unwrap();
    let first = &path[path.find('"').unwrap() + 1..][..64];
    let mut flipped = first.to_string();
    flipped.replace_range(0..1, if first.starts_with('0') { "1" } else { "0" });
    s.write("path.json", &proof.replacen(first, &flipped, 1));
    let (other_key, _) = (
        s.ok(&[
            "key",
            "generate",
            "example.org/july-2020",
            "--out",
            "other.key",
        ]),
        (),
    );
    s.write("other.pub", &other_key);
    let check = |proof: &'static str, key: &'static str| -> Vec<&'static str> {
        vec![
            "check-proof",
            proof,
            "--checkpoint",
            "checkpoint.txt",
            "--key",
            key,
        ]
    };
    let runs: Vec<Vec<&str>> = vec![
        check("proof.json", "verifier.key"),
        check("consistency.json", "verifier.key"),
        check("payload.json", "verifier.key"),
        check("path.json", "verifier.key"),
        check("old.json", "verifier.key"),
        check("proof.json", "other.pub"),
    ];
    let runs: Vec<&[&str]> = runs.iter().map(Vec::as_slice).collect();
    // Key material differs at every run: the other key is named, not shown.
    let out = transcript(&s, &runs).replace(other_key.trim(), "[OTHER VERIFIER KEY]");
    insta::assert_snapshot!(out);
}

/// Runs the Python verifier; `Some(true)` valid, `Some(false)` invalid, `None` when the
/// machine has no python3 (the test then says so and passes).
fn python(mode: &str, proof: &Path, checkpoint: &Path, key: &Path) -> Option<bool> {
    let script = repo_root().join("tests/verifier/tlog_verify.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args([
            mode.as_ref(),
            proof.as_os_str(),
            checkpoint.as_os_str(),
            key.as_os_str(),
        ])
        .output()
        .ok()?;
    Some(out.status.success())
}

#[test]
fn an_independent_python_verifier_agrees() {
    let s = fixture_log();
    keys(&s);
    let checkpoint = s.write(
        "checkpoint.txt",
        &s.ok(&["checkpoint", "--sign", "signer.key"]),
    );
    let key = s.path("verifier.key");
    for seq in 1..=38 {
        let proof = s.write("p.json", &s.ok(&["prove", "--seq", &seq.to_string()]));
        let Some(valid) = python("inclusion", &proof, &checkpoint, &key) else {
            eprintln!("python3 not found: the independent verifier was not run");
            return;
        };
        assert!(valid, "seq {seq}");
    }
    for old in [0, 1, 2, 3, 4, 7, 8, 13, 16, 31, 32, 37, 38] {
        let proof = s.write(
            "c.json",
            &s.ok(&["prove", "--consistency", &old.to_string()]),
        );
        assert_eq!(
            python("consistency", &proof, &checkpoint, &key),
            Some(true),
            "old {old}"
        );
    }
    // Tampered: a bit of the payload, of the audit path, of the consistency proof, of the
    // checkpoint's signature: both verifiers refuse.
    let proof = s.ok(&["prove", "--seq", "12"]);
    let bad = s.write(
        "bad.json",
        &proof.replacen("\"killed\":4", "\"killed\":5", 1),
    );
    assert_eq!(python("inclusion", &bad, &checkpoint, &key), Some(false));
    assert_eq!(
        s.run(&[
            "check-proof",
            "bad.json",
            "--checkpoint",
            "checkpoint.txt",
            "--key",
            "verifier.key"
        ])
        .0,
        1
    );
    let consistency = s.ok(&["prove", "--consistency", "13"]);
    let hex = consistency.split('"').find(|w| w.len() == 64).unwrap();
    let mut other = hex.as_bytes().to_vec();
    other[63] = if other[63] == b'0' { b'1' } else { b'0' };
    let bad = s.write(
        "badc.json",
        &consistency.replacen(hex, std::str::from_utf8(&other).unwrap(), 1),
    );
    assert_eq!(python("consistency", &bad, &checkpoint, &key), Some(false));
    assert_eq!(
        s.run(&[
            "check-proof",
            "badc.json",
            "--checkpoint",
            "checkpoint.txt",
            "--key",
            "verifier.key"
        ])
        .0,
        1
    );
    let note = std::fs::read_to_string(&checkpoint).unwrap();
    let sig_at = note.rfind(' ').unwrap() + 3;
    let mut bytes = note.into_bytes();
    bytes[sig_at] = if bytes[sig_at] == b'A' { b'B' } else { b'A' };
    let bad_note = s.write("bad-note.txt", std::str::from_utf8(&bytes).unwrap());
    let good = s.path("p.json");
    std::fs::write(&good, &proof).unwrap();
    assert_eq!(python("inclusion", &good, &bad_note, &key), Some(false));
    assert_eq!(python("inclusion", &good, &checkpoint, &key), Some(true));
    assert_eq!(
        s.run(&[
            "check-proof",
            "p.json",
            "--checkpoint",
            "bad-note.txt",
            "--key",
            "verifier.key"
        ])
        .0,
        1
    );
}

#[test]
fn the_python_verifier_checks_both_log_formats_and_redacted_events() {
    // The demo log's events are of the log format 1 (a fresh build is format 2): the
    // verifier checks both.
    let demo = Scratch::demo();
    keys(&demo);
    let demo_checkpoint = demo.write(
        "checkpoint.txt",
        &demo.ok(&["checkpoint", "--sign", "signer.key"]),
    );
    let demo_key = demo.path("verifier.key");
    for seq in [1, 12, 38] {
        let proof = demo.write("p.json", &demo.ok(&["prove", "--seq", &seq.to_string()]));
        assert!(!std::fs::read_to_string(&proof)
            .unwrap()
            .contains("\"format\""));
        assert_eq!(
            python("inclusion", &proof, &demo_checkpoint, &demo_key),
            Some(true),
            "format 1, seq {seq}"
        );
    }
    let s = fixture_log();
    keys(&s);
    let checkpoint = s.write(
        "checkpoint.txt",
        &s.ok(&["checkpoint", "--sign", "signer.key"]),
    );
    let key = s.path("verifier.key");
    if python(
        "inclusion",
        &s.write("p.json", &s.ok(&["prove", "--seq", "1"])),
        &checkpoint,
        &key,
    )
    .is_none()
    {
        eprintln!("python3 not found: the independent verifier was not run");
        return;
    }
    // A redacted event of the log format 2 still proves: its hash covers the commitment
    // to its payload, which the redaction keeps. The tree and its root do not change.
    let line12 = s
        .ok(&["log", "--json"])
        .lines()
        .nth(11)
        .unwrap()
        .to_string();
    let id12 = serde_json::from_str::<serde_json::Value>(&line12).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(&["redact", &id12, "--reason", "a name in the note"]);
    let erased = s.write(
        "erased.json",
        &s.ok(&["prove", "--seq", "12", "--size", "38"]),
    );
    let erased_text = std::fs::read_to_string(&erased).unwrap();
    assert!(erased_text.contains("\"payload\": null"), "{erased_text}");
    assert!(!erased_text.contains("payload_salt"), "{erased_text}");
    assert_eq!(python("inclusion", &erased, &checkpoint, &key), Some(true));
    let (code, out, _) = s.run(&[
        "check-proof",
        "erased.json",
        "--checkpoint",
        "checkpoint.txt",
        "--key",
        "verifier.key",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("erased by redaction"), "{out}");
}

#[test]
fn the_shipped_v1_log_proves_writable_and_read_only() {
    // Writable: opening it migrates it and stores its tree.
    let s = Scratch::demo();
    let checkpoint = s.ok(&["checkpoint"]);
    assert!(checkpoint.starts_with("chronicle\n56\n"), "{checkpoint}");
    assert!(s
        .ok(&["verify"])
        .contains("56:44d2d20efad334a77b89eba45161edc4b981e027423ac5dfc73e093c44a09deb"));
    let proof = s.ok(&["prove", "--seq", "12"]);
    // Read-only (a read-only bind mount of a fresh copy, schema version 1, no tree): the
    // tree is computed in memory and gives the same checkpoint and proof.
    let rw = tempfile::tempdir().unwrap();
    let ro = tempfile::tempdir().unwrap();
    std::fs::copy(repo_root().join("events.db"), rw.path().join("events.db")).unwrap();
    let bound = std::process::Command::new("mount")
        .args(["--bind", "-o", "ro"])
        .arg(rw.path())
        .arg(ro.path())
        .output()
        .is_ok_and(|o| o.status.success());
    if !bound {
        eprintln!("NOT RUN (read-only part): cannot bind-mount here (needs root)");
        return;
    }
    let run = |args: &[&str]| {
        let out = s
            .cmd(args)
            .env("CHRONICLE_DB", ro.path().join("events.db"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let results = [
        run(&["checkpoint"]),
        run(&["prove", "--seq", "12"]),
        run(&["verify"]),
    ];
    std::process::Command::new("umount")
        .arg(ro.path())
        .output()
        .ok();
    assert_eq!(results[0], (Some(0), checkpoint, String::new()));
    assert_eq!(results[1], (Some(0), proof, String::new()));
    assert_eq!(results[2].0, Some(0), "{}", results[2].2);
}
