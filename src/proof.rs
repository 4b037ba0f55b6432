//! Commands of the Merkle tree: `checkpoint`, `key generate`, `prove`, `check-proof`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chronicle_core::note::{self, SignerKey, TreeHead, VerifierKey};
use chronicle_core::proof::Proof;
use chronicle_core::{EventLog, Invalid};

use crate::Exit;

#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// Sign the checkpoint with this signer key (written by `chronicle key generate`).
    #[arg(long, value_name = "KEYFILE")]
    sign: Option<PathBuf>,
    /// The origin line, the log's name [default: the signer key's name, else `chronicle`].
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
}

/// Reads a small text file given on the command line; a missing or unreadable one is bad
/// input naming the option.
pub(crate) fn read_arg(flag: &str, path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Invalid::new(flag, path.display(), format!("cannot be read: {e}")).into())
}

pub fn checkpoint(db: &Path, args: CheckpointArgs) -> anyhow::Result<()> {
    let signer = match &args.sign {
        Some(path) => Some(SignerKey::parse(&read_arg("--sign", path)?)?),
        None => None,
    };
    let origin = note::origin(args.origin.as_deref(), signer.as_ref())?;
    let log = EventLog::open(db)?;
    let head = log.tree_head(&origin)?;
    let text = match &signer {
        Some(key) => head
            .sign(key)
            .map_err(|e| anyhow::anyhow!("{}: {e}", log.path().display()))?,
        None => head.text(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush().context("writing to standard output")
}

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Write a new Ed25519 signer key to KEYFILE (mode 0600) and print its verifier key.
    #[command(
        after_help = "NAME names the signer, usually the log's origin (e.g. example.org/afghanistan-2020): it is the name on every signature. Publish the verifier key; keep KEYFILE secret. An existing KEYFILE is never overwritten.\n\nExample:\n  chronicle key generate example.org/afghanistan-2020 --out signer.key > verifier.key"
    )]
    Generate {
        /// The key's name (no blanks, no `+`).
        name: String,
        /// Where to write the signer key (a new file).
        #[arg(long, value_name = "KEYFILE")]
        out: PathBuf,
    },
}

pub fn key(command: KeyCommand) -> anyhow::Result<()> {
    let KeyCommand::Generate { name, out } = command;
    let (skey, vkey) = note::generate_key(&name)?;
    write_secret(&out, &format!("{skey}\n"))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{vkey}")?;
    stdout.flush().context("writing to standard output")
}

/// Writes `text` to a new file readable only by its owner; an existing file is refused.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| -> anyhow::Error {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Invalid::new(
                "--out",
                path.display(),
                "the file exists; a key is never overwritten: choose a new path",
            )
            .into()
        } else {
            anyhow::anyhow!("{}: {e}", path.display())
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    /// The event to prove, by its seq.
    #[arg(long, value_name = "N", conflicts_with_all = ["incident", "consistency"], required_unless_present_any = ["incident", "consistency"])]
    seq: Option<u64>,
    /// With --source: prove the event behind that source's current figures for this incident.
    #[arg(
        long,
        value_name = "ID",
        requires = "source",
        conflicts_with = "consistency"
    )]
    incident: Option<String>,
    /// With --incident: the source, exactly as recorded.
    #[arg(long, value_name = "NAME", requires = "incident")]
    source: Option<String>,
    /// Prove that the tree of the first OLD_SIZE events is a prefix of the tree of --size.
    #[arg(long, value_name = "OLD_SIZE")]
    consistency: Option<u64>,
    /// The tree to prove in: its first M events [default: the whole log].
    #[arg(long, value_name = "M", conflicts_with = "incident")]
    size: Option<u64>,
}

pub fn prove(db: &Path, args: ProveArgs) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let json = if let Some(old) = args.consistency {
        log.prove_consistency(old, args.size)?.to_json()
    } else if let (Some(incident), Some(source)) = (&args.incident, &args.source) {
        log.prove_source(incident, source)?.to_json()?
    } else {
        let seq = args.seq.unwrap_or_default();
        log.prove_inclusion(seq, args.size)?.to_json()?
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}")?;
    out.flush().context("writing to standard output")
}

#[derive(Debug, clap::Args)]
pub struct CheckProofArgs {
    /// The proof, as `chronicle prove` wrote it.
    #[arg(value_name = "PROOF.json")]
    proof: PathBuf,
    /// The signed checkpoint note the proof is checked against.
    #[arg(long, value_name = "NOTE")]
    checkpoint: PathBuf,
    /// The verifier key of the checkpoint's signer (a file, or the key itself).
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: String,
}

pub fn check_proof(args: CheckProofArgs) -> anyhow::Result<()> {
    let key_text = if Path::new(&args.key).is_file() {
        read_arg("--key", Path::new(&args.key))?
    } else {
        args.key.clone()
    };
    let key = VerifierKey::parse(&key_text)?;
    let proof_text = read_arg("PROOF.json", &args.proof)?;
    let note_text = read_arg("--checkpoint", &args.checkpoint)?;
    let verdict = check(&proof_text, &note_text, &key, &args);
    let mut out = std::io::stdout().lock();
    let printed = match &verdict {
        Ok(valid) => writeln!(out, "valid: {valid}"),
        Err(invalid) => writeln!(out, "INVALID: {invalid}"),
    };
    Exit::verdict(verdict.is_ok(), printed.and_then(|()| out.flush()))
}

/// The verdict on a proof: what it shows, or what failed.
fn check(
    proof_text: &str,
    note_text: &str,
    key: &VerifierKey,
    args: &CheckProofArgs,
) -> Result<String, String> {
    let head = TreeHead::open(note_text, key)
        .map_err(|e| format!("the checkpoint {}: {e}", args.checkpoint.display()))?;
    let proof =
        Proof::parse(proof_text).map_err(|e| format!("the proof {}: {e}", args.proof.display()))?;
    proof
        .check(&head)
        .map_err(|e| format!("the proof {}: {e}", args.proof.display()))?;
    Ok(match proof {
        Proof::Inclusion(p) => {
            let shown = format!(
                "event seq {} (id {}, incident {}, {}) is in the log `{}` of {} events, as its checkpoint signed by {} states",
                p.event.seq, p.event.id, p.event.incident, p.event.kind, head.origin, head.size, key.name()
            );
            match (&p.event.redacted_by, p.event.seal.format()) {
                (None, _) => shown,
                (Some(by), 1) => format!(
                    "{shown}; its payload was erased by redaction {by} and, as an event of the log format 1, its own hash is taken as given: its fields are not proven"
                ),
                (Some(by), _) => format!(
                    "{shown}; its payload was erased by redaction {by}: its other fields and its payload's commitment are proven, not the erased text"
                ),
            }
        }
        Proof::Consistency(p) => format!(
            "the log `{}` of {} events, as its checkpoint signed by {} states, extends its first {} events, whose root is {}",
            head.origin, head.size, key.name(), p.old_size, note::encode_root(&p.old_root)
        ),
    })
}
