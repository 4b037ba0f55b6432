//! `events.db` at the repository root is the July 2020 chronology built from the fixture.
//! Tests work on a copy: the committed file is never written.
#![allow(clippy::unwrap_used)]

mod common;

use common::{repo_root, Scratch};

/// The events of a log, without the fields that depend on when and by whom it was built,
/// nor those of how it is sealed: the first 38 events of `events.db` were written in the log
/// format 1 and are kept so (old logs are never rewritten), while a fresh build is format 2;
/// nor the payload schema version: those 38 casualty events are of version 1, a fresh
/// build's of version 2, and the same text (the step from 1 to 2 changes a payload only when it has a
/// `killed_breakdown`, which the fixture has not).
fn comparable(dump: &str) -> Vec<serde_json::Value> {
    dump.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for volatile in [
                "id",
                "recorded_at",
                "recorded_by",
                "hash",
                "format",
                "payload_commitment",
                "payload_salt",
                "batch",
                "schema_version",
            ] {
                o.remove(volatile);
            }
            v
        })
        .collect()
}

#[test]
fn events_db_verifies_and_equals_the_fixture() {
    let s = Scratch::demo();
    let out = s.ok(&["verify"]);
    assert!(out.contains("hash chain intact"), "{out}");
    let demo = comparable(&s.dump());

    let fresh = Scratch::new();
    // The 38 events of the fixture, then the 15 status corrections appended on top of them,
    // then the descriptions of the three sources.
    for file in [
        "july-2020.jsonl",
        "july-2020-status.jsonl",
        "july-2020-sources.jsonl",
    ] {
        let fixture = repo_root().join("tests/fixtures").join(file);
        fresh.ok(&["append", fixture.to_str().unwrap()]);
    }
    let expected = comparable(&fresh.dump());
    assert_eq!(
        demo.len(),
        expected.len(),
        "events.db is stale: rebuild it with scripts/build-demo-log"
    );
    for (got, want) in demo.iter().zip(&expected) {
        assert_eq!(
            got, want,
            "events.db is stale: rebuild it with scripts/build-demo-log"
        );
    }
}
