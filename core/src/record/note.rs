//! Checkpoints as notes: the C2SP `tlog-checkpoint` text of the log's Merkle tree (origin,
//! tree size, root), signed with an Ed25519 key in the C2SP `signed-note` format, and the
//! signer and verifier keys in the formats Go's `golang.org/x/mod/sumdb/note` reads.
//!
//! ```text
//! chronicle                                   origin: names the log
//! 38                                          tree size: the number of events
//! 7V3b...base64 of the 32-byte root...=       root hash
//!
//! — chronicle Az3grl...base64(key id || Ed25519 signature)...
//! ```
//!
//! The note format, the key id and the signatures are the `signed_note` crate's (a port of
//! Go's `note`), so Go's `note.Open` and any C2SP verifier read what chronicle writes.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use signed_note::{Note, NoteError, StandardSigner, StandardVerifier, VerifierList};

use crate::error::Invalid;
use crate::record::merkle::Hash;

/// The origin line when none is given and no key names it.
pub const DEFAULT_ORIGIN: &str = "chronicle";

/// The origin line of a checkpoint: `given` (`--origin`), else the signer key's name, else
/// [`DEFAULT_ORIGIN`]. One line of text; an empty one or one with a newline is refused.
pub fn origin(given: Option<&str>, signer: Option<&SignerKey>) -> Result<String, Invalid> {
    let origin = match (given, signer) {
        (Some(origin), _) => origin.to_string(),
        (None, Some(key)) => key.name().to_string(),
        (None, None) => DEFAULT_ORIGIN.to_string(),
    };
    if origin.is_empty() || origin.contains('\n') {
        return Err(Invalid::new(
            "--origin",
            &origin,
            "one line of text naming the log, e.g. example.org/afghanistan-2020",
        ));
    }
    Ok(origin)
}

/// A tree head: the checkpoint's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// The origin line: the log's name.
    pub origin: String,
    /// The number of leaves (events).
    pub size: u64,
    /// The root hash.
    pub root: Hash,
}

impl TreeHead {
    /// The checkpoint's text: three lines, each ending with a newline.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Reads a checkpoint's text (its first three lines; C2SP allows extension lines after
    /// them, which are kept out of the tree head).
    pub fn parse(text: &str) -> Result<TreeHead, String> {
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err("the checkpoint's first line (the origin) is empty".into());
        }
        let size_line = lines.next().unwrap_or_default();
        let size = size_line
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == size_line)
            .ok_or_else(|| format!("the checkpoint's second line {size_line:?} is not a tree size (a decimal number)"))?;
        let root_line = lines.next().unwrap_or_default();
        let root = decode_root(root_line).ok_or_else(|| {
            format!(
                "the checkpoint's third line {root_line:?} is not a root hash (base64 of 32 bytes)"
            )
        })?;
        Ok(TreeHead {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// The checkpoint as a note signed with `signer` (a signer key, see [`SignerKey`]).
    pub fn sign(&self, signer: &SignerKey) -> Result<String, String> {
        let mut note = Note::new(self.text().as_bytes(), &[])
            .map_err(|e| format!("the checkpoint cannot be a note: {e}"))?;
        note.add_sigs(&[&signer.signer])
            .map_err(|e| format!("signing failed: {e}"))?;
        String::from_utf8(note.to_bytes()).map_err(|e| e.to_string())
    }

    /// Opens a signed checkpoint note: its signature by `key` must verify; returns its tree
    /// head. The refusal says what failed.
    pub fn open(note: &str, key: &VerifierKey) -> Result<TreeHead, String> {
        let parsed = Note::from_bytes(note.as_bytes()).map_err(|e| {
            format!("it is not a signed note ({e}): a note is its text, a blank line, and signature lines `— NAME BASE64`")
        })?;
        let known = VerifierList::new(vec![Box::new(key.verifier.clone())]);
        parsed.verify(&known).map_err(|e| match e {
            NoteError::UnverifiedNote => format!(
                "it carries no signature by the key {} (it was signed with another key, or not at all)",
                key.text
            ),
            NoteError::InvalidSignature { .. } => format!(
                "its signature by {} does not verify: the note was altered after it was signed",
                key.text
            ),
            other => other.to_string(),
        })?;
        let text = std::str::from_utf8(parsed.text()).map_err(|e| e.to_string())?;
        TreeHead::parse(text)
    }
}

/// Decodes a root hash written in base64.
pub fn decode_root(s: &str) -> Option<Hash> {
    BASE64.decode(s).ok()?.try_into().ok()
}

/// Encodes a root hash in base64.
pub fn encode_root(root: &Hash) -> String {
    BASE64.encode(root)
}

/// A signer key: `PRIVATE+KEY+NAME+KEYID+BASE64`, as Go's `note.NewSigner` reads it.
#[derive(Clone)]
pub struct SignerKey {
    signer: StandardSigner,
    name: String,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SignerKey {
    /// Reads a signer key (surrounding blanks and a final newline are ignored).
    pub fn parse(text: &str) -> Result<SignerKey, Invalid> {
        let text = text.trim();
        let signer = StandardSigner::new(text).map_err(|e| {
            Invalid::new(
                "signer key",
                "(not shown)",
                format!("{e}: a signer key is PRIVATE+KEY+NAME+KEYID+BASE64 as `chronicle key generate` writes it"),
            )
        })?;
        let name = text.split('+').nth(2).unwrap_or_default().to_string();
        Ok(SignerKey { signer, name })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A verifier key: `NAME+KEYID+BASE64`, as Go's `note.NewVerifier` reads it.
#[derive(Clone)]
pub struct VerifierKey {
    verifier: StandardVerifier,
    text: String,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierKey")
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl VerifierKey {
    /// Reads a verifier key (surrounding blanks and a final newline are ignored).
    pub fn parse(text: &str) -> Result<VerifierKey, Invalid> {
        let text = text.trim();
        let verifier = StandardVerifier::new(text).map_err(|e| {
            Invalid::new(
                "verifier key",
                text,
                format!("{e}: a verifier key is NAME+KEYID+BASE64 as `chronicle key generate` prints it"),
            )
        })?;
        Ok(VerifierKey {
            verifier,
            text: text.to_string(),
        })
    }

    /// The key's name: the signer's name on its signatures.
    pub fn name(&self) -> &str {
        self.text.split('+').next().unwrap_or_default()
    }
}

/// Generates a new Ed25519 key pair named `name` from the system's random source: the
/// signer key (secret) and the verifier key (public), as text.
pub fn generate_key(name: &str) -> Result<(String, String), Invalid> {
    if !signed_note::is_key_name_valid(name) {
        return Err(Invalid::new(
            "NAME",
            name,
            "a key name is not empty and has no blanks and no `+` (e.g. example.org/chronology)",
        ));
    }
    Ok(signed_note::generate_key(&mut rand_core::OsRng, name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn head() -> TreeHead {
        TreeHead {
            origin: "example.org/log".into(),
            size: 38,
            root: [7; 32],
        }
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_only() {
        let (skey, vkey) = generate_key("example.org/log").unwrap();
        let signer = SignerKey::parse(&skey).unwrap();
        let note = head().sign(&signer).unwrap();
        assert!(note.starts_with(&head().text()), "{note}");
        assert!(note.contains("\n\n— example.org/log "), "{note}");
        let key = VerifierKey::parse(&vkey).unwrap();
        assert_eq!(TreeHead::open(&note, &key).unwrap(), head());
        let (_, other) = generate_key("example.org/log").unwrap();
        let err = TreeHead::open(&note, &VerifierKey::parse(&other).unwrap()).unwrap_err();
        assert!(err.contains("no signature by the key"), "{err}");
        let altered = note.replacen("38", "39", 1);
        let err = TreeHead::open(&altered, &key).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");
    }

    #[test]
    fn text_round_trips_and_bad_lines_are_named() {
        assert_eq!(TreeHead::parse(&head().text()).unwrap(), head());
        assert!(TreeHead::parse("o\n038\nAAAA\n")
            .unwrap_err()
            .contains("second line"));
        assert!(TreeHead::parse("o\n38\nAAAA\n")
            .unwrap_err()
            .contains("third line"));
        assert!(generate_key("a b").is_err());
        assert!(SignerKey::parse("PRIVATE+KEY+x+00000000+AAAA").is_err());
    }
}
