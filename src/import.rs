//! `chronicle import`: ACLED and UCDP GED files into the log, with a progress bar.

use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chronicle_core::import::{self, CsvInput, Dataset, ImportOptions, ImportSummary};
use chronicle_core::AppendContext;
use chronicle_core::{EventLog, Invalid};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long an import runs before it shows a progress bar.
const PROGRESS_AFTER: Duration = Duration::from_millis(300);

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

fn open(path: &Path) -> anyhow::Result<CsvInput<BufReader<std::fs::File>>> {
    let file = std::fs::File::open(path).map_err(|cause| chronicle_core::Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(CsvInput {
        name: path.display().to_string(),
        reader: BufReader::new(file),
    })
}

/// A progress bar over the bytes of the file, drawn only once the import has taken longer
/// than a moment, and never when standard error is not a terminal or with --quiet.
struct Progress {
    enabled: bool,
    total: u64,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: u64, quiet: bool) -> Self {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            total,
            started: Instant::now(),
            bar: None,
        }
    }

    fn update(&mut self, bytes: u64) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.started.elapsed() >= PROGRESS_AFTER {
            let style = ProgressStyle::with_template(
                "{spinner} importing {bar:40} {bytes}/{total_bytes} ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr())
                .with_style(style);
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn import(db: &Path, ctx: AppendContext, args: ImportArgs, quiet: bool) -> anyhow::Result<()> {
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
    let rows = args.file.as_deref().map(open).transpose()?;
    let deleted = args.deleted.as_deref().map(open).transpose()?;
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
    let mut progress = Progress::new(total, quiet);
    let result = import::import(&mut log, &ctx, &options, rows, deleted, &mut |bytes| {
        progress.update(bytes)
    });
    progress.finish();
    let summary = result?;
    print_summary(&summary);
    Ok(())
}

fn print_summary(s: &ImportSummary) {
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
    for (label, n) in lines {
        println!("{label:<width$}  {n}");
    }
    for skipped in &s.skipped {
        println!("skipped {skipped}");
    }
    for notice in &s.notices {
        println!("note: {notice}");
    }
}
