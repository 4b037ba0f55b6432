//! The Merkle tree of a log: proofs of every event of a 1,000-event log and consistency
//! proofs between random sizes verify; any single-bit change to a proof or a signed
//! checkpoint makes the check fail; the stored tree is checked by `verify`, caught up for
//! old logs and copied with the log.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use chronicle_core::merkle::{self, Hash};
use chronicle_core::note::{self, SignerKey, TreeHead, VerifierKey};
use chronicle_core::proof::Proof;
use chronicle_core::{EventFilter, EventLog};
use proptest::prelude::*;

const EVENTS: u64 = 1000;

/// A log of 1,000 events appended in batches of uneven sizes, kept for all the tests.
fn log() -> &'static (tempfile::TempDir, std::path::PathBuf) {
    static LOG: OnceLock<(tempfile::TempDir, std::path::PathBuf)> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let (mut log, _) = EventLog::init(&path).unwrap();
        let mut lines = vec![r#"{"incident":"i","kind":"incident_reported","payload":{"date":"2020-07-10","province":"Logar","category":"bombing"}}"#.to_string()];
        lines.extend((1..EVENTS).map(|n| {
            format!(r#"{{"incident":"i","kind":"casualties_reported","payload":{{"source":"S{}","killed":{n}}}}}"#, n % 7)
        }));
        let mut at = 0;
        for (i, size) in [1usize, 2, 5, 64, 100, 128, 300, 400].into_iter().enumerate() {
            let end = (at + size).min(lines.len());
            let when = format!("2020-07-31T0{i}:00:00Z");
            common::append_at(&mut log, &when, "tester", &lines[at..end]);
            at = end;
        }
        assert_eq!(at, EVENTS as usize);
        (dir, path)
    })
}

fn open() -> EventLog {
    EventLog::open(&log().1).unwrap()
}

/// RFC 6962's MTH by its recursive definition, from the events' chain hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            merkle::node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn leaves(log: &EventLog) -> Vec<Hash> {
    log.events(&EventFilter::default())
        .unwrap()
        .iter()
        .map(|e| merkle::leaf_hash(&chronicle_core::hash::parse_hex(&e.hash).unwrap()))
        .collect()
}

fn head_of(log: &EventLog, size: u64) -> TreeHead {
    let root = mth(&leaves(log)[..size as usize]);
    TreeHead {
        origin: "test".into(),
        size,
        root,
    }
}

fn flip(text: &str, bit: usize) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes[bit / 8] ^= 1 << (bit % 8);
    bytes
}

/// Parses and checks a proof given as bytes (a flipped bit may leave UTF-8).
fn passes(bytes: &[u8], head: &TreeHead) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    Proof::parse(text).and_then(|p| p.check(head)).is_ok()
}

#[test]
fn the_root_is_rfc6962_mth_of_the_event_hashes() {
    let log = open();
    let head = log.tree_head("test").unwrap();
    assert_eq!(head.size, EVENTS);
    assert_eq!(head, head_of(&log, EVENTS));
    assert!(log.verify(None).unwrap().is_intact());
}

#[test]
fn every_event_of_a_1000_event_log_proves() {
    let log = open();
    let head = log.tree_head("test").unwrap();
    for seq in 1..=EVENTS {
        let json = log.prove_inclusion(seq, None).unwrap().to_json().unwrap();
        let proof = Proof::parse(&json).unwrap();
        proof
            .check(&head)
            .unwrap_or_else(|e| panic!("seq {seq}: {e}"));
    }
    // In an older tree too, and refused against another tree size.
    let old = head_of(&log, 777);
    let json = log
        .prove_inclusion(500, Some(777))
        .unwrap()
        .to_json()
        .unwrap();
    Proof::parse(&json).unwrap().check(&old).unwrap();
    let err = Proof::parse(&json).unwrap().check(&head).unwrap_err();
    assert!(err.contains("--size 1000"), "{err}");
}

#[test]
fn any_single_bit_change_to_an_inclusion_proof_fails() {
    let log = open();
    let head = log.tree_head("test").unwrap();
    for seq in [1, 2, 500, 999, EVENTS] {
        let json = log.prove_inclusion(seq, None).unwrap().to_json().unwrap();
        assert!(passes(json.as_bytes(), &head));
        for bit in 0..json.len() * 8 {
            assert!(
                !passes(&flip(&json, bit), &head),
                "seq {seq}: flipping bit {bit} still passes:\n{}",
                String::from_utf8_lossy(&flip(&json, bit))
            );
        }
    }
}

#[test]
fn any_single_bit_change_to_a_signed_checkpoint_fails() {
    let log = open();
    let (skey, vkey) = note::generate_key("example.org/test").unwrap();
    let key = VerifierKey::parse(&vkey).unwrap();
    let signed = log
        .tree_head("example.org/test")
        .unwrap()
        .sign(&SignerKey::parse(&skey).unwrap())
        .unwrap();
    let head = TreeHead::open(&signed, &key).unwrap();
    assert_eq!(head, log.tree_head("example.org/test").unwrap());
    for bit in 0..signed.len() * 8 {
        let bytes = flip(&signed, bit);
        let opened = std::str::from_utf8(&bytes)
            .ok()
            .map(|text| TreeHead::open(text, &key));
        assert!(
            !matches!(opened, Some(Ok(_))),
            "flipping bit {bit} still opens"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn consistency_proofs_between_random_sizes_verify_and_fail_when_flipped(
        a in 0..=EVENTS, b in 0..=EVENTS, bit in any::<prop::sample::Index>()
    ) {
        let (old, new) = (a.min(b), a.max(b));
        let log = open();
        let proof = log.prove_consistency(old, Some(new)).unwrap();
        prop_assert_eq!(proof.old_root, mth(&leaves(&log)[..old as usize]));
        let head = head_of(&log, new);
        let json = proof.to_json();
        prop_assert!(passes(json.as_bytes(), &head));
        let flipped = flip(&json, bit.index(json.len() * 8));
        prop_assert!(!passes(&flipped, &head), "{}", String::from_utf8_lossy(&flipped));
    }
}

#[test]
fn verify_catches_an_altered_tree_and_rebuild_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    let (mut copy, _) = EventLog::init(&path).unwrap();
    open().copy_to(&mut copy, None).unwrap();
    let root = open().tree_head("test").unwrap();
    assert_eq!(copy.tree_head("test").unwrap(), root);
    drop(copy);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE tree_hashes SET hash = zeroblob(32) WHERE idx = 10",
        [],
    )
    .unwrap();
    drop(conn);
    let mut copy = EventLog::open(&path).unwrap();
    let report = copy.verify(None).unwrap();
    let failure = report.failure.unwrap();
    assert!(
        failure.problem.contains("stored hash 10"),
        "{}",
        failure.problem
    );
    copy.rebuild_views().unwrap();
    assert!(copy.verify(None).unwrap().is_intact());
    assert_eq!(copy.tree_head("test").unwrap(), root);
}

/// Counts the writes to the stored tree from now on (a table and triggers of the test's own).
fn count_tree_writes(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE test_tree_writes (n INTEGER NOT NULL);
         INSERT INTO test_tree_writes VALUES (0);
         CREATE TRIGGER test_tree_insert AFTER INSERT ON tree_hashes
         BEGIN UPDATE test_tree_writes SET n = n + 1; END;
         CREATE TRIGGER test_tree_delete AFTER DELETE ON tree_hashes
         BEGIN UPDATE test_tree_writes SET n = n + 1; END;
         CREATE TRIGGER test_tree_update AFTER UPDATE ON tree_hashes
         BEGIN UPDATE test_tree_writes SET n = n + 1; END;",
    )
    .unwrap();
}

fn tree_writes(path: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT n FROM test_tree_writes", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn rebuild_checks_the_tree_in_its_scan_and_writes_only_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    std::fs::copy(&log().1, &path).unwrap();
    let root = open().tree_head("test").unwrap();
    count_tree_writes(&path);
    // An intact tree is compared, not deleted and inserted anew.
    let mut copy = EventLog::open(&path).unwrap();
    copy.rebuild_views().unwrap();
    drop(copy);
    assert_eq!(tree_writes(&path), 0);
    // A tree that lags the log (an older chronicle's) gets only the hashes it lacks (when
    // the log is opened), and the rebuild writes none more.
    let missing = merkle::stored_hash_count(EVENTS) - merkle::stored_hash_count(700);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "DELETE FROM tree_hashes WHERE idx >= ?1",
        [merkle::stored_hash_count(700)],
    )
    .unwrap();
    conn.execute("UPDATE test_tree_writes SET n = 0", [])
        .unwrap();
    drop(conn);
    let mut copy = EventLog::open(&path).unwrap();
    copy.rebuild_views().unwrap();
    assert_eq!(copy.tree_head("test").unwrap(), root);
    assert!(copy.verify(None).unwrap().is_intact());
    drop(copy);
    assert_eq!(tree_writes(&path), missing);
}

#[test]
fn a_log_written_before_the_tree_catches_up_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    std::fs::copy(&log().1, &path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    // What the log looks like to a chronicle that kept no tree after event 300.
    conn.execute(
        "DELETE FROM tree_hashes WHERE idx >= ?1",
        [merkle::stored_hash_count(300)],
    )
    .unwrap();
    drop(conn);
    let log = EventLog::open(&path).unwrap();
    assert_eq!(log.tree_head("t").unwrap(), open().tree_head("t").unwrap());
    assert!(log.verify(None).unwrap().is_intact());
    // And one from before the tree existed at all: the demo log as first shipped (file
    // schema 1, log format 1). Its tree, made when it is opened, is the one a copy grows
    // event by event.
    let v1 = dir.path().join("schema1.db");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/v1/events-schema1.db"
        ),
        &v1,
    )
    .unwrap();
    let old = EventLog::open(&v1).unwrap();
    assert!(old.verify(None).unwrap().is_intact());
    let (mut copy, _) = EventLog::init(dir.path().join("copy.db")).unwrap();
    old.copy_to(&mut copy, None).unwrap();
    assert_eq!(old.tree_head("t").unwrap(), copy.tree_head("t").unwrap());
    assert_eq!(old.tree_head("t").unwrap().size, 38);
}
