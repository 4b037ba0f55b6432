//! `chronicle`: the command line over `chronicle-core`. It parses arguments, calls the library
//! and prints; all domain logic and all SQL live in the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chronicle_core::AppendContext;
use chronicle_core::Invalid;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod adjudicate;
mod copy;
mod grant;
mod import;
mod plugins;
mod progress;
mod proof;
mod read;
mod sources;
mod views;
mod width;
mod write;

/// The allocator: mimalloc. A large append or rebuild allocates and frees a few small
/// strings and maps per event; glibc's allocator spent 15-17% of an import in itself, and
/// more once a second thread exists (its locks are taken only when the process has threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in `--help` and the README.
const EXIT_HELP: &str = "Exit codes: 0 success; 2 bad input or usage (nothing was written); 1 anything else (I/O, a corrupt or foreign database file, a failed verification).";

/// chronicle: an event-sourced chronology of incidents. Every report and every revision is kept
/// in an append-only, tamper-evident SQLite log; views are rebuilt from it.
//
// Every option of `Cli` is global: accepted before or after the subcommand, and listed under
// "Global options" (hidden where it has no effect, see `cli_command`).
#[derive(Debug, Parser)]
#[command(name = "chronicle", version, about, after_help = EXIT_HELP, max_term_width = 100)]
#[command(next_help_heading = "Global options")]
struct Cli {
    /// The event log: a file, or a postgres:// URL.
    ///
    /// A file is an SQLite log. postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]
    /// (or postgresql://) is a log on a PostgreSQL server.
    #[arg(
        long,
        global = true,
        env = "CHRONICLE_DB",
        // `[env: CHRONICLE_DB=]` when it is unset would read as "set to nothing"; a
        // connection string may hold a password, never shown.
        hide_env_values = std::env::var("CHRONICLE_DB").map_or(true, |v| v.contains("://")),
        default_value = "events.db",
        value_name = "PATH"
    )]
    db: PathBuf,

    /// Accept province names the gazetteer does not know: writes record them as written,
    /// read filters (--province) match them as written.
    #[arg(long, global = true)]
    allow_unknown_place: bool,

    /// Write commands: record what looks like a slip (an incident id that is not a slug, an
    /// incident date before 1900 or in the future, a publication after the recorded time).
    #[arg(long, global = true)]
    allow_implausible: bool,

    /// Write commands: record a breakdown by status whose parts add up to more than the
    /// report's exact total, as the source gave it.
    #[arg(long, global = true)]
    allow_inconsistent: bool,

    /// No progress bars (they are only drawn on a terminal, for operations that take a while).
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(flatten)]
    plugins: plugins::PluginArgs,

    #[command(subcommand)]
    command: Command,
}

/// The write commands, where `--allow-implausible` has an effect.
const WRITE_COMMANDS: [&str; 11] = [
    "append",
    "report",
    "correct",
    "amend",
    "responsibility",
    "retract",
    "merge",
    "import",
    "redact",
    "assess",
    "adjudicate",
];

/// Whether the global option `id` does anything for the subcommand `command` (its help lists
/// only those that do).
fn applies(id: &str, command: &str) -> bool {
    match id {
        _ if command == "completions" => false,
        "allow_implausible" => WRITE_COMMANDS.contains(&command),
        "allow_inconsistent" => matches!(command, "append" | "report" | "correct"),
        "plugin_dirs" | "trust_plugin_dir" | "plugin_timeout" | "plugin_memory"
        | "plugins_in_process" => matches!(command, "export" | "plugins"),
        "db" => !matches!(command, "plugins" | "key" | "check-proof"),
        _ => true,
    }
}

/// The command line: [`Cli`], with the global options hidden from the help of the commands
/// they do nothing for (see [`applies`]). Hidden options are still accepted.
fn cli_command() -> clap::Command {
    let cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    // In the original order: `mut_subcommand` moves a subcommand to the end.
    names.into_iter().fold(cmd, |cmd, name| {
        let hidden: Vec<clap::Arg> = globals
            .iter()
            .filter(|a| !applies(a.get_id().as_str(), &name))
            .map(|a| a.clone().hide(true))
            .collect();
        // A subcommand that has an argument of a global's id keeps it: clap does not
        // propagate the global there, so this hidden copy is what it parses.
        cmd.mut_subcommand(name, |c| c.args(hidden))
    })
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an event log (an existing log is left as it is; anything else is never overwritten).
    #[command(after_help = "Example:\n  chronicle --db july-2020.db init")]
    Init,
    /// The commands that append: each records who appends (`--by`) and when.
    #[command(flatten)]
    Write(Box<WriteCommand>),
    /// Show the raw events.
    #[command(
        after_help = "Examples:\n  chronicle log --incident 2020-07-30-puli-alam\n  chronicle log --json --provenance > backup.jsonl"
    )]
    Log(read::LogArgs),
    /// Copy the log into another, event for event: same seq, ids, recorded times, hashes.
    #[command(
        after_help = "The copy's head checkpoint is the source's: `chronicle --db DEST verify --checkpoint SEQ:HASH` holds on it. DEST is a new path, an empty file or an empty log; a non-empty DEST is refused, unless --since SEQ continues a copy that ends at SEQ.\n\nExamples:\n  chronicle copy --to backup.db\n  chronicle copy --to backup.db --since 38"
    )]
    Copy(copy::CopyArgs),
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
    /// Describe a source (type, party to the conflict), or show its descriptions.
    #[command(subcommand)]
    Source(sources::SourceCommand),
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
    /// Give a PostgreSQL role what a writer or a reader of the log needs, and no more.
    #[command(
        after_help = "A writer appends (and maintains the views) but cannot update, delete or truncate events, nor alter their triggers; a reader only reads. Run it as the log's owner; the role must exist.\n\nExamples:\n  chronicle --db postgres://owner@db.example/desk grant --writer coder1\n  chronicle --db postgres://owner@db.example/desk grant --reader factcheck"
    )]
    Grant(grant::GrantArgs),
    /// Print a checkpoint of the log's Merkle tree (C2SP tlog-checkpoint), signed with --sign.
    #[command(
        after_help = "Three lines: the origin (the log's name), the number of events, the base64 root of the Merkle tree; with --sign, a blank line and the signature (C2SP signed-note, as Go's sumdb/note writes it).\n\nExamples:\n  chronicle checkpoint\n  chronicle checkpoint --sign signer.key > checkpoint.txt"
    )]
    Checkpoint(proof::CheckpointArgs),
    /// Make a key to sign checkpoints with.
    #[command(subcommand)]
    Key(proof::KeyCommand),
    /// Print a proof (JSON) that an event is in the log, or that the log extends an older one.
    #[command(
        after_help = "Examples:\n  chronicle prove --seq 12 > proof.json\n  chronicle prove --incident 2020-07-30-puli-alam --source AFP\n  chronicle prove --consistency 38 --size 45"
    )]
    Prove(proof::ProveArgs),
    /// Check a proof against a signed checkpoint, offline (no log needed).
    #[command(
        after_help = "Exit 0 when the proof is valid, 1 when it is not (the message names what failed).\n\nExample:\n  chronicle check-proof proof.json --checkpoint checkpoint.txt --key verifier.key"
    )]
    CheckProof(proof::CheckProofArgs),
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  chronicle completions bash > /etc/bash_completion.d/chronicle"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The commands that append to the log. Each takes `--by` (see [`write::Recorder`]), from
/// which `run` builds the one [`AppendContext`] they share; they are flattened into
/// [`Command`], so the command line is unchanged.
#[derive(Debug, Subcommand)]
enum WriteCommand {
    /// Append events from JSON Lines (a file, or - for standard input), all or none.
    #[command(
        after_help = "Each line: {\"incident\": ID, \"kind\": KIND, \"payload\": {...}} with optional \"id\" and \"expected_version\"; see docs/event-log.md for the payload of each kind.\n\nWith --restore, the lines of `chronicle log --json --provenance` go in as they were recorded (seq, time, recorder, hash), continuing the log's head.\n\nExamples:\n  chronicle append tests/fixtures/july-2020.jsonl\n  chronicle --db restored.db append --restore backup.jsonl"
    )]
    Append(write::AppendArgs),
    /// Record a source's casualty figures (and, for a new incident, the incident itself).
    #[command(
        after_help = "A figure is 17, at-least:14, 22-35 or 22-35~30 (a range with a best estimate).\n\nExamples:\n  chronicle report --incident 2020-07-30-puli-alam --date 2020-07-30 --province Logar \\\n      --district \"Puli Alam\" --category \"suicide car bombing\" --source AFP --killed 17 --wounded 21\n  chronicle report --incident 2020-07-30-puli-alam --source \"Ministry of Defense\" \\\n      --killed 8 --wounded 30"
    )]
    Report(write::ReportArgs),
    /// Record a source's correction of its own earlier figures.
    #[command(
        after_help = "Example:\n  chronicle correct --incident 2020-07-30-puli-alam --source AFP --killed 19 \\\n      --reason \"AFP raised its toll\""
    )]
    Correct(write::CorrectArgs),
    /// Change an incident's details (date, place, category...).
    #[command(
        after_help = "Example:\n  chronicle amend --incident 2020-07-30-puli-alam --district \"Pul-e Alam\" \\\n      --reason \"spelling of the district\""
    )]
    Amend(write::AmendArgs),
    /// Record a claim or a denial of responsibility.
    #[command(
        after_help = "Example:\n  chronicle responsibility --incident 2020-07-30-puli-alam --actor Taliban \\\n      --source \"Taliban spokesman\" --denied --published 2020-07-30"
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
    /// Erase an event's payload (a victim's name pasted into a note): the event, its hash and
    /// the chain stay; a redaction event records who, when and why.
    #[command(
        after_help = "The payload's text and salt are removed from the log file and its journal (on PostgreSQL, from the tables' files, by `VACUUM FULL`). Events of the log format 2 still verify (their hash covers a commitment to the payload); checkpoints taken before stay valid and the Merkle root is unchanged. Views and exports no longer show the event, and say it was redacted.\n\nExample:\n  chronicle redact 0190f5c2-... --reason \"victim's name in the note\""
    )]
    Redact(write::RedactArgs),
    /// Grade an incident (confirmed, fair, weak, contested, discounted), with the reason.
    #[command(
        after_help = "The latest assessment is the incident's grade in every view and export; the earlier ones stay as its history. Where none is recorded, the views show a grade suggested from the sources, marked as suggested (docs/views.md, \"Grades\"). Retract an assessment to go back to the one before.\n\nExample:\n  chronicle assess --incident 2020-07-30-puli-alam --grade contested \\\n      --reason \"AFP and the Ministry of Defense disagree on the toll\""
    )]
    Assess(write::AssessArgs),
    /// Record the recorder's own best estimate of an incident's figures, with the reason.
    #[command(
        after_help = "The estimate must lie inside the sources' range (low to high), unless --outside-range (say why in the reason). The default policy (median) then shows it as the incident's best, and every view says it is adjudicated; a later adjudication replaces it whole, and `chronicle retract ID` of it goes back to the one before (or to the median). Other --best policies ignore it.\n\nExample:\n  chronicle adjudicate --incident 2020-07-30-puli-alam --killed 17 \\\n      --reason \"AFP's count names the dead; the ministry's excludes civilians\""
    )]
    Adjudicate(adjudicate::AdjudicateArgs),
}

impl WriteCommand {
    /// The command's name, as its batch record keeps it.
    fn name(&self) -> String {
        match self {
            WriteCommand::Append(_) => "append".into(),
            WriteCommand::Report(_) => "report".into(),
            WriteCommand::Correct(_) => "correct".into(),
            WriteCommand::Amend(_) => "amend".into(),
            WriteCommand::Responsibility(_) => "responsibility".into(),
            WriteCommand::Retract(_) => "retract".into(),
            WriteCommand::Merge(_) => "merge".into(),
            WriteCommand::Import(args) => format!("import {}", args.dataset_name()),
            WriteCommand::Redact(_) => "redact".into(),
            WriteCommand::Assess(_) => "assess".into(),
            WriteCommand::Adjudicate(_) => "adjudicate".into(),
        }
    }

    /// Who records, as given on the command line.
    fn recorder(&self) -> &write::Recorder {
        match self {
            WriteCommand::Append(args) => &args.recorder,
            WriteCommand::Report(args) => &args.recorder,
            WriteCommand::Correct(args) => &args.recorder,
            WriteCommand::Amend(args) => &args.recorder,
            WriteCommand::Responsibility(args) => &args.recorder,
            WriteCommand::Retract(args) => &args.recorder,
            WriteCommand::Merge(args) => &args.recorder,
            WriteCommand::Import(args) => &args.recorder,
            WriteCommand::Redact(args) => &args.recorder,
            WriteCommand::Assess(args) => &args.recorder,
            WriteCommand::Adjudicate(args) => &args.recorder,
        }
    }

    /// Runs the command, appending with `ctx`.
    fn run(self, db: &Path, ctx: AppendContext, quiet: bool) -> anyhow::Result<()> {
        match self {
            WriteCommand::Append(args) => write::append(db, ctx, args, quiet),
            WriteCommand::Report(args) => write::report(db, ctx, args),
            WriteCommand::Correct(args) => write::correct(db, ctx, args),
            WriteCommand::Amend(args) => write::amend(db, ctx, args),
            WriteCommand::Responsibility(args) => write::responsibility(db, ctx, args),
            WriteCommand::Retract(args) => write::retract(db, ctx, args),
            WriteCommand::Merge(args) => write::merge(db, ctx, args),
            WriteCommand::Import(args) => import::import(db, ctx, args, quiet),
            WriteCommand::Redact(args) => write::redact(db, ctx, args),
            WriteCommand::Assess(args) => write::assess(db, ctx, args),
            WriteCommand::Adjudicate(args) => adjudicate::adjudicate(db, ctx, args),
        }
    }
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

impl Exit {
    /// The end of a command whose exit code is its verdict (`verify`, `plugins check`), once
    /// its report has been `printed`: exit 1 when it did not pass, even if the reader of the
    /// report stopped early (`chronicle verify | head -1` must not hide a tampered log); a
    /// failure to write the report is otherwise an error like any other.
    pub fn verdict(passed: bool, printed: std::io::Result<()>) -> anyhow::Result<()> {
        match printed {
            Ok(()) if passed => Ok(()),
            Ok(()) => Err(Exit(1).into()),
            Err(e) if !passed && e.kind() == std::io::ErrorKind::BrokenPipe => Err(Exit(1).into()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The one exit path: every command's error is reported here, once, and mapped to the
/// documented exit codes (see [`EXIT_HELP`]).
fn main() -> ExitCode {
    // chronicle re-executed as the plugin runner: plugin code runs there, in a child process
    // (see chronicle_plugin_host::runner).
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(chronicle_plugin_host::runner::RUNNER_ARG.as_ref()) {
        return ExitCode::from(chronicle_plugin_host::runner::serve(args));
    }
    let cli = match Cli::from_arg_matches(&cli_command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let Err(err) = run(cli) else {
        return ExitCode::SUCCESS;
    };
    // A reader that stops early (`chronicle export | head`) is not an error: whatever was
    // wanted has been read. Like ripgrep, stop quietly and successfully.
    if is_broken_pipe(&err) {
        return ExitCode::SUCCESS;
    }
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return ExitCode::from(*code);
    }
    eprintln!("error: {err:#}");
    let bad_input = err
        .downcast_ref::<chronicle_core::Error>()
        .is_some_and(chronicle_core::Error::is_bad_input)
        || err.downcast_ref::<Invalid>().is_some()
        || err
            .downcast_ref::<chronicle_plugin_host::HostError>()
            .is_some_and(chronicle_plugin_host::HostError::is_bad_input);
    ExitCode::from(if bad_input { 2 } else { 1 })
}

/// Whether `err` comes from writing to a closed pipe, at any depth of its chain. The core's
/// I/O error keeps its cause in a field rather than as its `source()`, so it is looked into.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let io = match cause.downcast_ref::<chronicle_core::Error>() {
            Some(chronicle_core::Error::Io { cause, .. }) => Some(cause),
            _ => cause.downcast_ref::<std::io::Error>(),
        };
        io.is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let db = cli.db;
    match cli.command {
        Command::Init => write::init(&db),
        Command::Write(command) => {
            let ctx = write::context(
                command.recorder(),
                &command.name(),
                cli.allow_unknown_place,
                cli.allow_implausible,
                cli.allow_inconsistent,
            )?;
            command.run(&db, ctx, cli.quiet)
        }
        Command::Log(args) => read::log(&db, args),
        Command::Verify(args) => read::verify(&db, args, cli.quiet),
        Command::Copy(args) => copy::copy(&db, args),
        Command::Show(args) => views::show(&db, args),
        Command::Timeline(args) => views::timeline(&db, args, cli.allow_unknown_place),
        Command::Summary(args) => views::summary(&db, args, cli.allow_unknown_place),
        Command::Sources(args) => views::sources(&db, args, cli.allow_unknown_place),
        Command::Source(sources::SourceCommand::History(args)) => sources::history(&db, args),
        Command::Source(sources::SourceCommand::Set(args)) => {
            let ctx = write::context(&args.recorder, "source set", false, false, false)?;
            sources::set(&db, ctx, args)
        }
        Command::Export(args) => views::export(&db, args, &cli.plugins, cli.allow_unknown_place),
        Command::Plugins(command) => plugins::run(command, &cli.plugins),
        Command::History(args) => views::history(&db, args),
        Command::Audit(args) => views::audit(&db, args, cli.allow_unknown_place),
        Command::Diff(args) => views::diff(&db, args, cli.allow_unknown_place),
        Command::Rebuild => views::rebuild(&db, cli.quiet),
        Command::Grant(args) => grant::grant(&db, args),
        Command::Checkpoint(args) => proof::checkpoint(&db, args),
        Command::Key(command) => proof::key(command),
        Command::Prove(args) => proof::prove(&db, args),
        Command::CheckProof(args) => proof::check_proof(args),
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a failed write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cli_command(), "chronicle", &mut script);
            let mut out = std::io::stdout().lock();
            out.write_all(&script)?;
            out.flush()?;
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
        super::cli_command().debug_assert();
    }
}
