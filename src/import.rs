//! `chronicle import`: ACLED and UCDP GED files into the log, with a progress bar.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use chronicle_core::import::{self, CsvInput, Dataset, ImportOptions, ImportSummary};
use chronicle_core::AppendContext;
use chronicle_core::{EventLog, Invalid};

use crate::progress::{Progress, Unit};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DatasetArg {
    /// ACLED export (31 columns; numeric or text interaction codes).
    Acled,
    /// UCDP GED event data (49 columns, GED 20.1 and later).
    Ucdp,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub recorder: crate::write::Recorder,
    /// The dataset the file comes from.
    #[arg(long, value_enum)]
    from: DatasetArg,
    /// The CSV file (optional with --deleted).
    #[arg(value_name = "FILE.csv", required_unless_present = "deleted")]
    file: Option<PathBuf>,
    /// The source label of the dataset's reports, e.g. "UCDP GED 23.1" [default: "ACLED" / "UCDP GED"].
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// ACLED's deleted-events list (columns event_id_cnty,deleted_timestamp): retract those events.
    #[arg(long, value_name = "FILE.csv")]
    deleted: Option<PathBuf>,
    /// FILE is the dataset's full release: retract the dataset's events it no longer has.
    #[arg(long, requires = "file")]
    full_release: bool,
    /// Skip malformed rows (and list them) instead of refusing the whole import.
    #[arg(long)]
    skip_invalid: bool,
}

fn open(flag: &str, path: &Path) -> anyhow::Result<CsvInput<BufReader<std::fs::File>>> {
    let file = crate::write::open_input(flag, path)?;
    Ok(CsvInput {
        name: path.display().to_string(),
        reader: BufReader::new(file),
    })
}

impl ImportArgs {
    /// The dataset's name, as the batch record's command names it.
    pub fn dataset_name(&self) -> &'static str {
        match self.from {
            DatasetArg::Acled => "acled",
            DatasetArg::Ucdp => "ucdp",
        }
    }
}

pub fn import(
    db: &Path,
    mut ctx: AppendContext,
    args: ImportArgs,
    quiet: bool,
) -> anyhow::Result<()> {
    // The batch record keeps the dataset file's SHA-256 (else the deleted-events list's).
    let input = match (args.file.as_deref(), args.deleted.as_deref()) {
        (Some(file), _) => Some(("FILE.csv", file)),
        (None, Some(deleted)) => Some(("--deleted", deleted)),
        (None, None) => None,
    };
    if let Some((flag, path)) = input {
        ctx.origin.input_sha256 = crate::write::input_sha256(flag, path)?;
    }
    let dataset = match args.from {
        DatasetArg::Acled => Dataset::Acled,
        DatasetArg::Ucdp => Dataset::Ucdp,
    };
    if args.deleted.is_some() && dataset != Dataset::Acled {
        return Err(Invalid::new(
            "--deleted",
            "",
            "a deleted-events list is an ACLED export; for UCDP GED import its full release with --full-release",
        )
        .into());
    }
    let mut log = EventLog::open(db)?;
    let rows = args
        .file
        .as_deref()
        .map(|p| open("FILE.csv", p))
        .transpose()?;
    let deleted = args
        .deleted
        .as_deref()
        .map(|p| open("--deleted", p))
        .transpose()?;
    let total = match &rows {
        Some(r) => r.reader.get_ref().metadata().map_or(0, |m| m.len()),
        None => 0,
    };
    let options = ImportOptions {
        dataset,
        release: args.release,
        full_release: args.full_release,
        skip_invalid: args.skip_invalid,
    };
    let progress = Progress::counting(Unit::Bytes, quiet, Some(total), "importing");
    let result = import::import(&mut log, &ctx, &options, rows, deleted, &mut |bytes| {
        progress.update(bytes)
    });
    progress.finish();
    let summary = result?;
    print_summary(&summary)?;
    Ok(())
}

fn print_summary(s: &ImportSummary) -> std::io::Result<()> {
    let mut lines: Vec<(&str, u64)> = vec![("rows read", s.rows_read)];
    if s.deleted_read > 0 {
        lines.push(("deleted-list entries read", s.deleted_read));
    }
    lines.extend([
        ("incidents new", s.new_incidents),
        ("corrections", s.corrections),
        ("amendments", s.amendments),
        ("retractions", s.retractions),
        ("unchanged", s.unchanged),
        ("skipped", s.skipped.len() as u64),
    ]);
    if s.reports > 0 {
        lines.push(("reports re-added", s.reports));
    }
    if s.outdated > 0 {
        lines.push(("older than the log (ignored)", s.outdated));
    }
    if s.not_applied > 0 {
        lines.push(("not applied (retracted or merged)", s.not_applied));
    }
    let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (label, n) in lines {
        writeln!(out, "{label:<width$}  {n}")?;
    }
    for skipped in &s.skipped {
        writeln!(out, "skipped {skipped}")?;
    }
    for notice in &s.notices {
        writeln!(out, "note: {notice}")?;
    }
    Ok(())
}
