//! `chronicle`: the command line over `chronicle-core`. It parses arguments, calls the library
//! and prints; all domain logic and all SQL live in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod import;
mod plugins;
mod progress;
mod read;
mod views;
mod write;

/// Exit codes, documented in `--help` and the README.
const EXIT_HELP: &str = "Exit codes: 0 success; 2 bad input or usage (nothing was written); 1 anything else (I/O, a corrupt or foreign database file, a failed verification).";

/// chronicle: an event-sourced chronology of incidents. Every report and every revision is kept
/// in an append-only, tamper-evident SQLite log; views are rebuilt from it.
#[derive(Debug, Parser)]
#[command(name = "chronicle", version, about, after_help = EXIT_HELP, max_term_width = 100)]
struct Cli {
    /// The event log file.
    #[arg(
        long,
        global = true,
        env = "CHRONICLE_DB",
        default_value = "events.db",
        value_name = "PATH"
    )]
    db: PathBuf,

    /// Accept province names the gazetteer does not know, recording them as written.
    #[arg(long, global = true)]
    allow_unknown_place: bool,

    /// No progress bars (they are only drawn on a terminal, for operations that take a while).
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an event log (an existing log is left as it is; anything else is never overwritten).
    #[command(after_help = "Example:\n  chronicle --db july-2020.db init")]
    Init,
    /// Append events from JSON Lines (a file, or - for standard input), all or none.
    #[command(
        after_help = "Each line: {\"incident\": ID, \"kind\": KIND, \"payload\": {...}} with optional \"id\" and \"expected_version\"; see ARCHITECTURE.md for the payload of each kind.\n\nExamples:\n  chronicle append tests/fixtures/july-2020.jsonl\n  chronicle log --json | chronicle --db copy.db append -"
    )]
    Append(write::AppendArgs),
    /// Record a source's casualty figures (and, for a new incident, the incident itself).
    #[command(
        after_help = "A figure is 17, at-least:14, 22-35 or 22-35~30 (a range with a best estimate).\n\nExamples:\n  chronicle report --incident 2020-07-30-puli-alam --date 2020-07-30 --province Logar \\\n      --district \"Puli Alam\" --category \"suicide car bombing\" --source AFP --killed 17 --wounded 21\n  chronicle report --incident 2020-07-30-puli-alam --source \"Ministry of Defense\" --killed 8 --wounded 30"
    )]
    Report(write::ReportArgs),
    /// Record a source's correction of its own earlier figures.
    #[command(
        after_help = "Example:\n  chronicle correct --incident 2020-07-30-puli-alam --source AFP --killed 19 --reason \"AFP raised its toll\""
    )]
    Correct(write::CorrectArgs),
    /// Change an incident's details (date, place, category...).
    #[command(
        after_help = "Example:\n  chronicle amend --incident 2020-07-30-puli-alam --district \"Pul-e Alam\" --reason \"spelling of the district\""
    )]
    Amend(write::AmendArgs),
    /// Record a claim or a denial of responsibility.
    #[command(
        after_help = "Example:\n  chronicle responsibility --incident 2020-07-30-puli-alam --actor Taliban --source \"Taliban spokesman\" --denied --published 2020-07-30"
    )]
    Responsibility(write::ResponsibilityArgs),
    /// Retract an event entered in error (it stays in the log, marked retracted).
    #[command(
        after_help = "Example:\n  chronicle retract 0190f5c2-... --reason \"entered twice\""
    )]
    Retract(write::RetractArgs),
    /// Merge a duplicate incident into another.
    #[command(
        after_help = "Example:\n  chronicle merge 2020-07-30-logar-bombing --into 2020-07-30-puli-alam --reason \"same attack\""
    )]
    Merge(write::MergeArgs),
    /// Import an ACLED or UCDP GED file; a re-import appends only what the dataset revised.
    #[command(
        after_help = "Examples:\n  chronicle import --from ucdp --release \"UCDP GED 23.1\" ged231-afghanistan.csv\n  chronicle import --from acled acled-2022.csv --deleted acled-deleted.csv\n  chronicle import --from ucdp --release \"UCDP GED 24.1\" --full-release ged241-afghanistan.csv\n\nSee IMPORT.md for the mapping and the re-import rules."
    )]
    Import(import::ImportArgs),
    /// Show the raw events.
    #[command(
        after_help = "Examples:\n  chronicle log --incident 2020-07-30-puli-alam\n  chronicle log --json > backup.jsonl"
    )]
    Log(read::LogArgs),
    /// Check the hash chain, the sequence and the append-only triggers.
    #[command(
        after_help = "Prints the head checkpoint (SEQ:HASH); keep it, and later check that the log still extends it.\nExit 0 when the log is intact, 1 when it is not.\n\nExamples:\n  chronicle verify\n  chronicle verify --checkpoint 42:9f2c..."
    )]
    Verify(read::VerifyArgs),
    /// Show one incident: its details, each source's figures, the reconciled ranges.
    #[command(
        after_help = "Examples:\n  chronicle show 2020-07-30-puli-alam\n  chronicle show 2020-07-30-puli-alam --known-by 2020-07-30T18:00:00Z --best latest"
    )]
    Show(views::ShowArgs),
    /// List incidents in date order.
    #[command(
        after_help = "Example:\n  chronicle timeline --from 2020-07-01 --to 2020-07-31 --province Kunduz"
    )]
    Timeline(views::ListArgs),
    /// Totals of killed and wounded (low, best, high), grouped.
    #[command(
        after_help = "Group with --by province (the default), month, category or source.\n\nExample:\n  chronicle summary --by month --as-of 2020-07-31"
    )]
    Summary(views::SummaryArgs),
    /// Per source: reports, corrections, how often it stands alone or disagrees.
    Sources(views::ListArgs),
    /// Export the views: the built-in JSON document (schema chronicle.views/1) or a plugin's format.
    #[command(
        after_help = "Every export states its provenance: the log checkpoint (seq and hash, which `chronicle verify --checkpoint` accepts), the point in time, the policy and the exporter's name and version. Exporting twice at the same point gives the same bytes.\n\nExamples:\n  chronicle export > july-2020.json\n  chronicle export --format html --out july-2020.html\n  chronicle export --format csv --option layout=acled --at-seq 20 --out acled.csv\n  chronicle plugins list"
    )]
    Export(views::ExportArgs),
    /// List the export plugins, or check one.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Every change to an incident, with the event (seq, hash) behind each.
    History(views::HistoryArgs),
    /// Check an aggregate claim against the log (exit 0 whatever the verdict).
    #[command(
        after_help = "Example:\n  chronicle audit --province Kunduz --from 2020-07-01 --to 2020-07-31 --killed 14"
    )]
    Audit(views::AuditArgs),
    /// Which incidents and figures changed between two points (times or seq:N).
    #[command(after_help = "Example:\n  chronicle diff --from 2020-07-30 --to seq:40")]
    Diff(views::DiffArgs),
    /// Drop the view tables and replay the whole log.
    Rebuild,
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  chronicle completions bash > /etc/bash_completion.d/chronicle"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// An error that has already been reported and carries its exit code.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            eprintln!("error: {err:#}");
            let bad_input = err
                .downcast_ref::<chronicle_core::Error>()
                .is_some_and(chronicle_core::Error::is_bad_input)
                || err.downcast_ref::<chronicle_core::Invalid>().is_some();
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let db = cli.db;
    match cli.command {
        Command::Init => write::init(&db),
        Command::Append(args) => write::append(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
            cli.quiet,
        ),
        Command::Report(args) => write::report(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
        ),
        Command::Correct(args) => write::correct(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
        ),
        Command::Amend(args) => write::amend(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
        ),
        Command::Responsibility(args) => write::responsibility(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
        ),
        Command::Retract(args) => write::retract(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
        ),
        Command::Merge(args) => write::merge(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
        ),
        Command::Import(args) => import::import(
            &db,
            write::context(args.recorder.by.clone(), cli.allow_unknown_place)?,
            args,
            cli.quiet,
        ),
        Command::Show(args) => views::show(&db, args),
        Command::Timeline(args) => views::timeline(&db, args),
        Command::Summary(args) => views::summary(&db, args),
        Command::Sources(args) => views::sources(&db, args),
        Command::Export(args) => views::export(&db, args),
        Command::Plugins(command) => plugins::run(command),
        Command::History(args) => views::history(&db, args),
        Command::Audit(args) => views::audit(&db, args),
        Command::Diff(args) => views::diff(&db, args),
        // The progress bar's rebuild prints what `views::rebuild` prints.
        Command::Rebuild if progress::Progress::new(cli.quiet, None, "").enabled() => {
            write::rebuild(&db)
        }
        Command::Rebuild => views::rebuild(&db),
        Command::Log(args) => read::log(&db, args),
        Command::Verify(args) => read::verify(&db, args, cli.quiet),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "chronicle",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
