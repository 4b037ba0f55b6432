//! `grant`: a PostgreSQL role made a writer or a reader of the log.

use std::io::Write;
use std::path::Path;

use chronicle_core::{Access, EventLog};

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct GrantArgs {
    /// Let ROLE append (and maintain the views); never update, delete or truncate events.
    #[arg(long, value_name = "ROLE")]
    writer: Option<String>,
    /// Let ROLE read the log and its views, nothing else.
    #[arg(long, value_name = "ROLE")]
    reader: Option<String>,
}

pub fn grant(db: &Path, args: GrantArgs) -> anyhow::Result<()> {
    let (role, access, what) = match (args.writer, args.reader) {
        (Some(role), _) => (role, Access::Writer, "a writer"),
        (None, Some(role)) => (role, Access::Reader, "a reader"),
        // clap's group requires one of the two.
        (None, None) => anyhow::bail!("give --writer ROLE or --reader ROLE"),
    };
    let mut log = EventLog::open(db)?;
    log.grant(&role, access)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{role} is now {what} of {}", log.path().display())?;
    out.flush()?;
    Ok(())
}
