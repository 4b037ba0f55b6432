//! Proofs as JSON, and their offline check (`chronicle prove`, `chronicle check-proof`).
//!
//! An inclusion proof shows that one event is a leaf of the tree a checkpoint signs:
//!
//! ```text
//! {"leaf_index": N-1, "tree_size": M, "event": {...the event as `log --json` prints it...},
//!  "prev_hash": "hex", "root": "base64", "audit_path": ["hex", ... leaf to root]}
//! ```
//!
//! The check needs no log: the event's chain hash recomputes from its fields and
//! `prev_hash` ([`crate::record::hash`]), its leaf hash and the audit path lead to the root
//! (RFC 9162), and that root and tree size are those of the signed checkpoint.
//!
//! A consistency proof shows that the tree of `old_size` leaves is a prefix of the tree of
//! `new_size` leaves: `{"old_size", "new_size", "old_root", "new_root", "proof": ["hex"]}`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::record::hash::{self, parse_hex};
use crate::record::merkle::{self, Hash};
use crate::record::note::{decode_root, encode_root, TreeHead};
use crate::record::provenance::{is_hash, seal_of};
use crate::record::{Batch, RecordedEvent, Seal};

/// An inclusion proof of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The event (its `seq` is `leaf_index + 1`).
    pub event: RecordedEvent,
    /// The hash of the event before it (64 zeros before event 1), hex.
    pub prev_hash: String,
    /// The number of leaves of the tree.
    pub tree_size: u64,
    /// That tree's root.
    pub root: Hash,
    /// The audit path, leaf to root.
    pub audit_path: Vec<Hash>,
}

/// A consistency proof between two sizes of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older tree's size.
    pub old_size: u64,
    /// The newer tree's size.
    pub new_size: u64,
    /// The older tree's root.
    pub old_root: Hash,
    /// The newer tree's root.
    pub new_root: Hash,
    /// The proof (RFC 6962 `PROOF`).
    pub proof: Vec<Hash>,
}

/// The event as `log --json` prints it, its payload the stored text.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventJson<'a> {
    id: String,
    incident: String,
    kind: String,
    #[serde(borrow)]
    payload: &'a RawValue,
    seq: u64,
    version: u64,
    schema_version: u32,
    recorded_at: String,
    recorded_by: String,
    hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_commitment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<Batch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redacted_by: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionJson<'a> {
    leaf_index: u64,
    tree_size: u64,
    #[serde(borrow)]
    event: EventJson<'a>,
    prev_hash: String,
    root: String,
    audit_path: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyJson {
    old_size: u64,
    new_size: u64,
    old_root: String,
    new_root: String,
    proof: Vec<String>,
}

/// What a proof file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// An event in the tree.
    Inclusion(Box<InclusionProof>),
    /// One tree a prefix of another.
    Consistency(ConsistencyProof),
}

fn hex_list(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// A list of hashes as hex, lowercase only (so that one text is one proof).
fn parse_hex_list(field: &str, list: &[String]) -> Result<Vec<Hash>, String> {
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            parse_hex(h).filter(|_| is_hash(h)).ok_or_else(|| {
                format!("`{field}[{i}]` {h:?} is not a hash (64 lowercase hex digits)")
            })
        })
        .collect()
}

fn root_of(field: &str, s: &str) -> Result<Hash, String> {
    decode_root(s).ok_or_else(|| format!("`{field}` {s:?} is not a root hash (base64 of 32 bytes)"))
}

impl InclusionProof {
    /// The proof as pretty JSON (the payload as stored, on one line).
    pub fn to_json(&self) -> Result<String> {
        let e = &self.event;
        let payload: &RawValue =
            serde_json::from_str(&e.payload).map_err(|err| Error::Corrupt {
                seq: e.seq,
                problem: format!(
                    "the stored payload is not JSON ({err}), so it cannot be written in a proof"
                ),
            })?;
        let json = InclusionJson {
            leaf_index: e.seq - 1,
            tree_size: self.tree_size,
            event: EventJson {
                id: e.id.clone(),
                incident: e.incident.clone(),
                kind: e.kind.clone(),
                payload,
                seq: e.seq,
                version: e.version,
                schema_version: e.schema_version,
                recorded_at: e.recorded_at.clone(),
                recorded_by: e.recorded_by.clone(),
                hash: e.hash.clone(),
                format: (e.seal.format() > 1).then_some(e.seal.format()),
                payload_commitment: match &e.seal {
                    Seal::V2 { commitment, .. } => Some(hex::encode(commitment)),
                    Seal::V1 => None,
                },
                payload_salt: match &e.seal {
                    Seal::V2 { salt, .. } => salt.map(hex::encode),
                    Seal::V1 => None,
                },
                batch: e.seal.batch().map(|b| (**b).clone()),
                redacted_by: e.redacted_by.clone(),
            },
            prev_hash: self.prev_hash.clone(),
            root: encode_root(&self.root),
            audit_path: hex_list(&self.audit_path),
        };
        serde_json::to_string_pretty(&json).map_err(|err| Error::Corrupt {
            seq: e.seq,
            problem: format!("the proof cannot be written as JSON: {err}"),
        })
    }

    /// Checks the proof against a tree head (from a checkpoint whose signature was checked):
    /// the event's hash from its fields, its leaf in the tree, the root in the checkpoint.
    pub fn check(&self, head: &TreeHead) -> Result<(), String> {
        let e = &self.event;
        let prev = parse_hex(&self.prev_hash)
            .filter(|_| is_hash(&self.prev_hash))
            .ok_or_else(|| {
                format!(
                    "`prev_hash` {:?} is not a hash (64 lowercase hex digits)",
                    self.prev_hash
                )
            })?;
        if e.seq == 1 && prev != hash::GENESIS {
            return Err("the event is seq 1, so `prev_hash` must be 64 zeros".into());
        }
        let computed = e
            .check_hash(&prev)
            .map_err(|problem| format!("the event's hash: {problem}"))?;
        if !is_hash(&e.hash) {
            return Err(format!(
                "the event's hash {:?} is not 64 lowercase hex digits",
                e.hash
            ));
        }
        check_size(head, self.tree_size)?;
        if self.root != head.root {
            return Err(format!(
                "the proof's root {} is not the checkpoint's root {}",
                encode_root(&self.root),
                encode_root(&head.root)
            ));
        }
        merkle::verify_inclusion(
            &merkle::leaf_hash(&computed),
            e.seq - 1,
            self.tree_size,
            &self.audit_path,
            &head.root,
        )
        .map_err(|problem| format!("the event's leaf is not in the checkpoint's tree: {problem}"))
    }
}

fn check_size(head: &TreeHead, size: u64) -> Result<(), String> {
    if size != head.size {
        return Err(format!(
            "the proof is for a tree of {size} events, the checkpoint for one of {} (ask for a proof with `--size {}`)",
            head.size, head.size
        ));
    }
    Ok(())
}

impl ConsistencyProof {
    /// The proof as pretty JSON.
    pub fn to_json(&self) -> String {
        let json = ConsistencyJson {
            old_size: self.old_size,
            new_size: self.new_size,
            old_root: encode_root(&self.old_root),
            new_root: encode_root(&self.new_root),
            proof: hex_list(&self.proof),
        };
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// Checks that the older tree is a prefix of the tree the checkpoint signs.
    pub fn check(&self, head: &TreeHead) -> Result<(), String> {
        check_size(head, self.new_size)?;
        if self.new_root != head.root {
            return Err(format!(
                "the proof's new root {} is not the checkpoint's root {}",
                encode_root(&self.new_root),
                encode_root(&head.root)
            ));
        }
        merkle::verify_consistency(
            self.old_size,
            self.new_size,
            &self.old_root,
            &self.new_root,
            &self.proof,
        )
        .map_err(|problem| format!("the older tree is not a prefix of the checkpoint's: {problem}"))
    }
}

impl Proof {
    /// Reads a proof that `chronicle prove` wrote; the refusal names the field.
    pub fn parse(text: &str) -> Result<Proof, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("it is not JSON: {e}"))?;
        if value.get("old_size").is_some() {
            let j: ConsistencyJson = serde_json::from_str(text)
                .map_err(|e| format!("it is not a consistency proof as `chronicle prove --consistency` writes it: {e}"))?;
            return Ok(Proof::Consistency(ConsistencyProof {
                old_size: j.old_size,
                new_size: j.new_size,
                old_root: root_of("old_root", &j.old_root)?,
                new_root: root_of("new_root", &j.new_root)?,
                proof: parse_hex_list("proof", &j.proof)?,
            }));
        }
        let j: InclusionJson<'_> = serde_json::from_str(text)
            .map_err(|e| format!("it is not a proof as `chronicle prove` writes it: {e}"))?;
        let e = j.event;
        if e.seq == 0 || j.leaf_index != e.seq - 1 {
            return Err(format!(
                "`leaf_index` {} is not the event's seq {} minus one",
                j.leaf_index, e.seq
            ));
        }
        Ok(Proof::Inclusion(Box::new(InclusionProof {
            event: RecordedEvent {
                seq: e.seq,
                id: e.id,
                incident: e.incident,
                version: e.version,
                kind: e.kind,
                payload: e.payload.get().to_string(),
                schema_version: e.schema_version,
                recorded_at: e.recorded_at,
                recorded_by: e.recorded_by,
                hash: e.hash,
                seal: seal_of(e.format, e.payload_commitment, e.payload_salt, e.batch)
                    .map_err(|inv| format!("the event's `{}`: {}", inv.field, inv.problem))?,
                redacted_by: e.redacted_by,
            },
            prev_hash: j.prev_hash,
            tree_size: j.tree_size,
            root: root_of("root", &j.root)?,
            audit_path: parse_hex_list("audit_path", &j.audit_path)?,
        })))
    }

    /// Checks the proof against a checkpoint's tree head.
    pub fn check(&self, head: &TreeHead) -> Result<(), String> {
        match self {
            Proof::Inclusion(p) => p.check(head),
            Proof::Consistency(p) => p.check(head),
        }
    }
}
