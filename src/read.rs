//! Commands that read the log: `log` and `verify`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chronicle_core::{Checkpoint, VerifyReport};
use chronicle_core::{EventFilter, EventLog};

use crate::Exit;

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only this incident's events.
    #[arg(long)]
    incident: Option<String>,
    /// Only events of this kind (incident_reported, casualties_reported, ...).
    #[arg(long)]
    kind: Option<String>,
    /// Only events after this sequence number.
    #[arg(long, value_name = "SEQ")]
    since: Option<u64>,
    /// Only the events of this batch (a write transaction: its id is in `log --json`'s
    /// `batch.id`).
    #[arg(long, value_name = "ID")]
    batch: Option<String>,
    /// JSON Lines in the schema `chronicle append` reads.
    #[arg(long)]
    json: bool,
    /// With --json: every line exactly as recorded (the payload as stored) and with the hash
    /// before it, for `chronicle append --restore`.
    #[arg(long, requires = "json", conflicts_with_all = ["incident", "kind", "batch"])]
    provenance: bool,
}

pub fn log(db: &Path, args: LogArgs) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    if let Some(kind) = &args.kind {
        if !chronicle_core::event::KINDS.contains(&kind.as_str()) {
            return Err(chronicle_core::Invalid::new(
                "--kind",
                kind,
                format!(
                    "unknown kind; the kinds are {}",
                    chronicle_core::event::KINDS.join(", ")
                ),
            )
            .into());
        }
    }
    let batch = match &args.batch {
        Some(id) => Some(log.batch(id)?.ok_or_else(|| {
            chronicle_core::Invalid::new(
                "--batch",
                id,
                "no batch with this id is in the log (batch ids are in `chronicle log --json`, as `batch.id`; events written before the log format 2 have none)",
            )
        })?),
        None => None,
    };
    let filter = EventFilter {
        incident: args.incident,
        kind: args.kind,
        since_seq: args.since,
        until_seq: None,
        batch: batch.as_ref().map(|b| b.id.clone()),
    };
    if let Some(b) = &batch {
        if !args.json {
            writeln!(
                std::io::stdout().lock(),
                "batch {}: `{}` by chronicle {}{}{}",
                b.id,
                b.command,
                b.chronicle_version,
                b.input_sha256
                    .as_deref()
                    .map(|s| format!(", input sha256 {s}"))
                    .unwrap_or_default(),
                b.correlation
                    .as_deref()
                    .map(|c| format!(", correlation {c:?}"))
                    .unwrap_or_default()
            )?;
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.provenance {
        log.scan_linked(args.since, |event, prev_hash| {
            let line = chronicle_core::provenance::provenance_line(event, prev_hash)?;
            writeln!(out, "{line}").map_err(|source| chronicle_core::Error::Io {
                path: "<stdout>".into(),
                cause: source,
            })
        })?;
        return out.flush().context("writing to standard output");
    }
    let mut count = 0u64;
    log.scan(&filter, |event| {
        count += 1;
        let written = if args.json {
            serde_json::to_string(&event.to_line())
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(out, "{line}"))
        } else {
            writeln!(
                out,
                "#{seq}  {at}  by {by}\n    {incident} v{version}  {kind}\n    {payload}\n    id {id}  hash {hash}",
                seq = event.seq,
                at = event.recorded_at,
                by = event.recorded_by,
                incident = event.incident,
                version = event.version,
                kind = event.kind,
                payload = match &event.redacted_by {
                    Some(by) => format!("[payload erased by redaction {by}]"),
                    None => event.payload.clone(),
                },
                id = event.id,
                hash = event.hash,
            )
        };
        written.map_err(|source| chronicle_core::Error::Io {
            path: "<stdout>".into(),
            cause: source,
        })
    })?;
    if count == 0 && !args.json {
        writeln!(out, "no events")?;
    }
    out.flush().context("writing to standard output")
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A checkpoint taken earlier (SEQ:HASH): check that the log still extends it.
    #[arg(long, value_name = "SEQ:HASH")]
    checkpoint: Option<String>,
}

pub fn verify(db: &Path, args: VerifyArgs, quiet: bool) -> anyhow::Result<()> {
    let checkpoint: Option<Checkpoint> = args.checkpoint.as_deref().map(str::parse).transpose()?;
    let log = EventLog::open(db)?;
    let progress = crate::progress::Progress::new(quiet, log.head()?.map(|h| h.seq), "verifying");
    let report = log.verify_with_progress(checkpoint.as_ref(), Some(&|n| progress.update(n)));
    progress.finish();
    let report = report?;
    let printed = print_verification(&mut std::io::stdout().lock(), log.path(), &report);
    Exit::verdict(report.is_intact(), printed)
}

/// What `verify` found, in words; the last line is the checkpoint to keep.
fn print_verification(
    out: &mut impl Write,
    db: &Path,
    report: &VerifyReport,
) -> std::io::Result<()> {
    let path = db.display();
    match &report.failure {
        None => writeln!(out, "{path}: {} events, hash chain intact, sequence contiguous, append-only triggers in place", report.events)?,
        Some(f) => match f.seq {
            Some(seq) => {
                writeln!(out, "{path}: FAILED at seq {seq}: {}", f.problem)?;
                if report.events > 0 {
                    writeln!(out, "events 1..{} verified before the failure", report.events)?;
                }
            }
            None => {
                writeln!(out, "{path}: FAILED: {}", f.problem)?;
                writeln!(out, "the hash chain of all {} events is intact", report.events)?;
            }
        },
    }
    if report.failure.is_none() && report.formats[0] > 0 && report.formats[1] > 0 {
        writeln!(
            out,
            "log formats: events 1..{} of the log format 1 (written before the format 2), {} of the format 2",
            report.formats[0], report.formats[1]
        )?;
    }
    if !report.taken_as_stored.is_empty() {
        let seqs: Vec<String> = report.taken_as_stored.iter().map(u64::to_string).collect();
        writeln!(
            out,
            "redacted events of the log format 1, whose own hashes are taken as stored (their text is erased): seq {}",
            seqs.join(", ")
        )?;
    }
    if let Some((cp, ok)) = &report.checkpoint {
        if *ok {
            writeln!(out, "checkpoint {cp}: the log still extends it")?;
        } else {
            writeln!(out, "checkpoint {cp}: NOT matched: the event at seq {} is missing or differs (history before it was rewritten, or the checkpoint comes from another log)", cp.seq)?;
        }
    }
    match &report.head {
        Some(head) if report.failure.is_none() => writeln!(out, "head checkpoint {head}"),
        Some(head) => writeln!(out, "last good checkpoint {head}"),
        None if report.failure.is_none() => writeln!(out, "the log is empty"),
        None => Ok(()),
    }
}
