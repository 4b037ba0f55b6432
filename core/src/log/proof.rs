//! The log's Merkle tree as a program asks for it: the tree head a checkpoint signs, and
//! inclusion and consistency proofs (see [`crate::record::proof`]).

use crate::error::{Invalid, Result};
use crate::log::EventLog;
use crate::record::merkle;
use crate::record::note::{encode_root, SignerKey, TreeHead};
use crate::record::proof::{ConsistencyProof, InclusionProof};
use crate::record::provenance::genesis_hex;
use crate::store::Reads;
use crate::tree::Tree;
use crate::views::doc::LogCheckpoint;
use crate::views::{Document, DocumentStream, Query};

impl EventLog {
    fn tree(&self) -> Result<Tree<'_>> {
        Tree::read(&*self.store as &dyn Reads)
    }

    /// The tree head of the whole log under the origin line `origin`: what a checkpoint
    /// states.
    pub fn tree_head(&self, origin: &str) -> Result<TreeHead> {
        let tree = self.tree()?;
        Ok(TreeHead {
            origin: origin.to_string(),
            size: tree.size(),
            root: tree.root(tree.size())?,
        })
    }

    /// The checkpoint of the tree of the first `size` events under the origin line
    /// `origin`, as a document states it: the note exactly as `chronicle checkpoint` prints
    /// it, signed with `signer` when given (Ed25519 signatures are deterministic, so the
    /// same tree and key always give the same note).
    pub fn checkpoint_at(
        &self,
        origin: &str,
        size: u64,
        signer: Option<&SignerKey>,
    ) -> Result<LogCheckpoint> {
        let tree = self.tree()?;
        let size = Self::size_in(&tree, Some(size), "size")?;
        let head = TreeHead {
            origin: origin.to_string(),
            size,
            root: tree.root(size)?,
        };
        let note = match signer {
            Some(key) => head.sign(key).map_err(|e| {
                Invalid::new("--sign", key.name(), format!("this key cannot sign: {e}"))
            })?,
            None => head.text(),
        };
        Ok(LogCheckpoint {
            origin: head.origin,
            tree_size: size,
            root_hash: encode_root(&head.root),
            note,
        })
    }

    /// The export document of `q` ([`EventLog::export`]) with its checkpoint under
    /// `origin`, signed with `signer` when given (`export --sign`, `--origin`).
    pub fn export_checkpointed(
        &self,
        q: &Query,
        origin: &str,
        signer: Option<&SignerKey>,
    ) -> Result<Document> {
        self.export_stream(q, origin, signer)?.collect()
    }

    /// [`EventLog::export_checkpointed`] to be written as it is computed, in memory that
    /// does not grow with the log (see [`DocumentStream`]): every check of the query is made
    /// here, before anything is written.
    pub fn export_stream(
        &self,
        q: &Query,
        origin: &str,
        signer: Option<&SignerKey>,
    ) -> Result<DocumentStream<'_>> {
        let mut doc = self.views().export_stream(q)?;
        let size = doc.provenance().log_seq;
        doc.provenance_mut().checkpoint = Some(self.checkpoint_at(origin, size, signer)?);
        Ok(doc)
    }

    /// A tree size asked for (`--size`), checked against the log; `None` is the whole log.
    fn size_in(tree: &Tree<'_>, size: Option<u64>, flag: &str) -> Result<u64> {
        match size {
            None => Ok(tree.size()),
            Some(n) if n > tree.size() => Err(Invalid::new(
                flag,
                n,
                format!(
                    "the log has {} events, so its tree has at most that many leaves",
                    tree.size()
                ),
            )
            .into()),
            Some(n) => Ok(n),
        }
    }

    /// The inclusion proof of event `seq` in the tree of the first `size` events (the
    /// whole log when `None`).
    pub fn prove_inclusion(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof> {
        let tree = self.tree()?;
        let size = Self::size_in(&tree, size, "--size")?;
        if seq == 0 || seq > size {
            let problem = if size == 0 {
                "the log is empty: there is no event to prove".to_string()
            } else {
                format!("a seq from 1 to {size} (the events in the tree)")
            };
            return Err(Invalid::new("--seq", seq, problem).into());
        }
        let event = self.events(&crate::record::EventFilter {
            since_seq: Some(seq - 1),
            until_seq: Some(seq),
            ..Default::default()
        })?;
        let Some(event) = event.into_iter().next() else {
            return Err(Invalid::new("--seq", seq, "no event has this seq").into());
        };
        let prev_hash = match seq {
            1 => genesis_hex(),
            _ => self.store.hash_at(seq - 1)?.unwrap_or_default(),
        };
        Ok(InclusionProof {
            event,
            prev_hash,
            tree_size: size,
            root: tree.root(size)?,
            audit_path: merkle::inclusion_proof(seq - 1, size, &tree)?,
        })
    }

    /// The inclusion proof, in the whole log, of the event behind `source`'s current
    /// figures for `incident`.
    pub fn prove_source(&self, incident: &str, source: &str) -> Result<InclusionProof> {
        let shown = self.show(incident, &Query::default())?;
        let Some(figures) = shown.sources.iter().find(|s| s.source == source) else {
            let names: Vec<&str> = shown.sources.iter().map(|s| s.source.as_str()).collect();
            let accepted = if names.is_empty() {
                format!("incident `{}` has no source with figures", shown.incident)
            } else {
                format!(
                    "a source with figures for incident `{}`, exactly as recorded: {}",
                    shown.incident,
                    names.join(", ")
                )
            };
            return Err(Invalid::new("--source", source, accepted).into());
        };
        self.prove_inclusion(figures.event_seq, None)
    }

    /// The consistency proof from the tree of the first `old` events to the tree of the
    /// first `new` events (the whole log when `None`).
    pub fn prove_consistency(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        let tree = self.tree()?;
        let new = Self::size_in(&tree, new, "--size")?;
        if old > new {
            return Err(Invalid::new(
                "--consistency",
                old,
                format!("an older tree size, from 0 to {new} (the newer tree's size)"),
            )
            .into());
        }
        Ok(ConsistencyProof {
            old_size: old,
            new_size: new,
            old_root: tree.root(old)?,
            new_root: tree.root(new)?,
            proof: merkle::consistency_proof(old, new, &tree)?,
        })
    }
}
