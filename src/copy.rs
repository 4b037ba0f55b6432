//! Faithful copies: `copy --to DEST` and `append --restore FILE`.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use chronicle_core::{Copied, EventLog};

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The log to copy into: a new path, an empty file or an empty log (with --since, the
    /// copy that ends at SEQ).
    #[arg(long, value_name = "DEST")]
    to: PathBuf,
    /// Copy only the events after SEQ onto DEST, whose head must be this log's checkpoint at
    /// SEQ (an incremental backup).
    #[arg(long, value_name = "SEQ")]
    since: Option<u64>,
}

pub fn copy(db: &Path, args: CopyArgs) -> anyhow::Result<()> {
    let source = EventLog::open(db)?;
    let (mut dest, _) = EventLog::init(&args.to)?;
    let copied = source.copy_to(&mut dest, args.since)?;
    // The logs' own names: a connection string without its password.
    let what = format!(
        "from {} to {}",
        source.path().display(),
        dest.path().display()
    );
    print(&copied, "copied", &what)
}

/// `append --restore FILE`: the lines of `log --json --provenance`, verbatim.
pub fn restore(db: &Path, file: &str) -> anyhow::Result<()> {
    let mut log = EventLog::open(db)?;
    let copied = if file == "-" {
        log.restore(chronicle_core::read_recorded(std::io::stdin().lock(), "-"))?
    } else {
        let f = std::fs::File::open(file).map_err(|source| chronicle_core::Error::Io {
            path: file.into(),
            cause: source,
        })?;
        log.restore(chronicle_core::read_recorded(BufReader::new(f), file))?
    };
    print(
        &copied,
        "restored",
        &format!("from {file} into {}", log.path().display()),
    )
}

/// What was written (`verb`: copied, restored), and the head checkpoint to keep.
fn print(copied: &Copied, verb: &str, what: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let n = copied.events;
    let first = copied.after.as_ref().map_or(0, |h| h.seq) + 1;
    let range = match &copied.head {
        Some(head) if n > 1 => format!(" (seq {first}..{})", head.seq),
        Some(_) if n == 1 => format!(" (seq {first})"),
        _ => String::new(),
    };
    let onto = match &copied.after {
        Some(after) if n > 0 => format!(", continuing {after}"),
        _ => String::new(),
    };
    let events = if n == 1 { "event" } else { "events" };
    writeln!(out, "{verb} {n} {events}{range} {what}{onto}")?;
    match &copied.head {
        Some(head) => writeln!(out, "head checkpoint {head}")?,
        None => writeln!(out, "the log is empty")?,
    }
    out.flush()?;
    Ok(())
}
