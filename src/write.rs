//! Commands that append to the log.

use std::io::{BufReader, Write};
use std::path::Path;

use chronicle_core::event::{
    Amendment, Assessment, CasualtyReport, Coordinates, Grade, Merge, Responsibility, Retraction,
};
use chronicle_core::figure::Figure;
use chronicle_core::status::{ByStatus, Status};
use chronicle_core::time::{IncidentDate, Published};
use chronicle_core::{AppendContext, Appended, Clock, Origin};
use chronicle_core::{EventLog, Invalid, OpeningDetails, Payload, Purge};

use crate::progress::{self, Progress};

/// Test-only: a fixed recorded time (RFC 3339), so that ids, times and hashes are reproducible.
const FAKE_NOW_VAR: &str = "CHRONICLE_FAKE_NOW";

/// Who records, and the clock: `--by`, else `CHRONICLE_USER`, else the OS user; and what
/// the global options allow.
pub fn context(
    recorder: &Recorder,
    command: &str,
    allow_unknown_place: bool,
    allow_implausible: bool,
    allow_inconsistent: bool,
) -> anyhow::Result<AppendContext> {
    let by = recorder.by.clone();
    let recorded_by = by
        .or_else(|| {
            std::env::var("CHRONICLE_USER")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(whoami::username);
    let clock = match std::env::var(FAKE_NOW_VAR) {
        Ok(t) => Clock::Fixed(
            chronicle_core::time::parse_time_point(&t)
                .map_err(|e| Invalid::new(FAKE_NOW_VAR, &t, e.to_string()))?,
        ),
        Err(_) => Clock::System,
    };
    if let Some(c) = &recorder.correlation {
        if c.trim().is_empty() || c.len() > 200 || c.chars().any(char::is_control) {
            return Err(Invalid::new(
                "--correlation",
                c,
                "a correlation id is a story or ticket id: 1 to 200 bytes of text on one line",
            )
            .into());
        }
    }
    Ok(AppendContext {
        recorded_by,
        clock,
        allow_unknown_place,
        allow_implausible,
        allow_inconsistent,
        origin: Origin {
            command: command.to_string(),
            input_sha256: None,
            correlation: recorder.correlation.clone(),
        },
    })
}

/// The SHA-256 of the file at `path` (`-`: standard input, which is not hashed), for the
/// batch record: the file as it is when the command starts reading it.
pub fn input_sha256(flag: &str, path: &Path) -> anyhow::Result<Option<String>> {
    if path == Path::new("-") {
        return Ok(None);
    }
    let file = open_input(flag, path)?;
    let sha = chronicle_core::hash::sha256_hex(BufReader::new(file)).map_err(|e| {
        chronicle_core::Error::Io {
            path: path.to_path_buf(),
            cause: e,
        }
    })?;
    Ok(Some(sha))
}

pub fn init(db: &Path) -> anyhow::Result<()> {
    let (log, created) = EventLog::init(db)?;
    let mut out = std::io::stdout().lock();
    if created {
        writeln!(
            out,
            "created an empty event log at {}",
            log.path().display()
        )?;
    } else {
        let n = log.head()?.map_or(0, |h| h.seq);
        writeln!(
            out,
            "{} is already a chronicle log ({n} events); left as it is",
            log.path().display()
        )?;
    }
    Ok(())
}

fn print_appended(results: &[Appended]) -> std::io::Result<()> {
    let mut tally = Tally::default();
    for r in results {
        tally.add(r.clone());
    }
    tally.print()
}

/// The outcomes of a batch: the first few shown in full, the rest counted.
#[derive(Debug, Default)]
struct Tally {
    shown: Vec<Appended>,
    appended: u64,
    present: u64,
    last_seq: Option<u64>,
}

impl Tally {
    /// How many outcomes are printed one per line; a larger batch is summarised.
    const SHOWN: usize = 20;

    fn add(&mut self, outcome: Appended) {
        match &outcome {
            Appended::New { seq, .. } => {
                self.appended += 1;
                self.last_seq = Some(*seq);
            }
            Appended::Duplicate { .. } | Appended::Erased { .. } => self.present += 1,
        }
        if self.shown.len() < Self::SHOWN {
            self.shown.push(outcome);
        }
    }

    fn print(&self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        for r in &self.shown {
            match r {
                Appended::New {
                    seq,
                    id,
                    incident,
                    version,
                    kind,
                } => writeln!(
                    out,
                    "appended seq {seq}: {kind} on {incident} (v{version}), event {id}"
                )?,
                Appended::Duplicate { seq, id } => writeln!(
                    out,
                    "already in the log: event {id} at seq {seq} (same content; nothing appended)"
                )?,
                Appended::Erased { seq, id, redaction } => writeln!(
                    out,
                    "already in the log: event {id} at seq {seq}, its payload erased by redaction {redaction} (taken as the same event; nothing appended)"
                )?,
            }
        }
        let total = self.appended + self.present;
        if total > self.shown.len() as u64 {
            writeln!(
                out,
                "... and {} more (see `chronicle log --since SEQ`)",
                total - self.shown.len() as u64
            )?;
        }
        if total > 1 {
            let last = self
                .last_seq
                .map(|s| format!("; the log now ends at seq {s}"))
                .unwrap_or_default();
            writeln!(
                out,
                "{} appended, {} already present{last}",
                self.appended, self.present
            )?;
        }
        Ok(())
    }
}

/// Who records the events: `--by`, else `$CHRONICLE_USER`, else the OS user.
#[derive(Debug, Clone, clap::Args)]
pub struct Recorder {
    /// Who records the events (default: $CHRONICLE_USER, else the OS user).
    #[arg(long = "by", value_name = "NAME")]
    pub by: Option<String>,
    /// A story or ticket id, kept in the batch record of the events written (`log --json`
    /// prints it with each event, as `batch.correlation`).
    #[arg(long, value_name = "TEXT")]
    pub correlation: Option<String>,
}

/// `--id`: the id of the event a command appends, so that a retried command appends nothing.
#[derive(Debug, Clone, clap::Args)]
pub struct EventId {
    /// Record the event under this id (at most 100 bytes); running the same command again
    /// with it appends nothing ("already in the log"), other content under it is refused.
    #[arg(long = "id", value_name = "ID")]
    id: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct AppendArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    /// JSON Lines file, or - for standard input.
    #[arg(default_value = "-", value_name = "FILE|-")]
    file: String,
    /// The lines of `log --json --provenance`, restored as recorded (seq, recorded time and
    /// recorder, hash) onto the log they continue.
    #[arg(long, conflicts_with = "by")]
    restore: bool,
}

pub fn append(
    db: &Path,
    mut ctx: AppendContext,
    args: AppendArgs,
    quiet: bool,
) -> anyhow::Result<()> {
    if args.restore {
        return crate::copy::restore(db, &args.file);
    }
    ctx.origin.input_sha256 = input_sha256("FILE", Path::new(&args.file))?;
    let mut log = EventLog::open(db)?;
    let total = if args.file != "-" && progress::enabled(quiet) {
        progress::count_lines(Path::new(&args.file))
    } else {
        None
    };
    let progress = Progress::new(quiet, total, "appending");
    let mut read = 0u64;
    let mut tick = |item| {
        read += 1;
        if read % 1024 == 0 {
            progress.update(read);
        }
        item
    };
    let mut tally = Tally::default();
    let result = if args.file == "-" {
        let stdin = std::io::stdin();
        log.append_each(
            &ctx,
            chronicle_core::jsonl::read_events(stdin.lock(), "-").map(&mut tick),
            |outcome| tally.add(outcome),
        )
    } else {
        let file = open_input("FILE", Path::new(&args.file))?;
        log.append_each(
            &ctx,
            chronicle_core::jsonl::read_events(BufReader::new(file), &args.file).map(&mut tick),
            |outcome| tally.add(outcome),
        )
    };
    progress.finish();
    result?;
    if tally.appended + tally.present == 0 {
        writeln!(
            std::io::stdout().lock(),
            "no events in {}; nothing appended",
            args.file
        )?;
    }
    tally.print()?;
    Ok(())
}

/// Opens an input file named on the command line. A file that cannot be opened (missing,
/// unreadable, a directory) is the caller's input, refused as such (exit 2): nothing was
/// read, nothing is written.
pub fn open_input(flag: &str, path: &Path) -> Result<std::fs::File, Invalid> {
    let problem = match std::fs::File::open(path) {
        Ok(file) if !file.metadata().is_ok_and(|m| m.is_dir()) => return Ok(file),
        Ok(_) => "is a directory; give a file".to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file".to_owned(),
        Err(e) => format!("cannot be opened: {e}"),
    };
    Err(Invalid::new(flag, path.display(), problem))
}

fn parse<T: std::str::FromStr>(flag: &str, value: &Option<String>) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    value
        .as_deref()
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| Invalid::new(flag, v, e.to_string()).into())
        })
        .transpose()
}

/// Figure flags shared by `report` and `correct`.
#[derive(Debug, clap::Args)]
pub struct FigureArgs {
    /// The source making the claim (AFP, "Ministry of Defense", ...).
    #[arg(long)]
    source: String,
    /// The source that carried the figures, when it is not the source itself (AFP's figure
    /// as carried by an article: --source AFP --via Pajhwok).
    #[arg(long, value_name = "SOURCE")]
    via: Option<String>,
    /// When the source published it: a date (2020-07-30) or an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    published: Option<String>,
    // The figures take values that begin with `-` (`--killed -3`), so that the figure's own
    // parser refuses a negative count by name instead of clap calling it an unknown argument.
    /// People killed, not counting attackers: 17, at-least:14, 22-35 or 22-35~30.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    killed: Option<String>,
    /// People wounded.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    wounded: Option<String>,
    /// Attackers killed, counted apart from their victims.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    attackers_killed: Option<String>,
    #[command(flatten)]
    status: StatusArgs,
    /// A remark on the figures.
    #[arg(long)]
    note: Option<String>,
    /// Where the report can be read (a URL).
    #[arg(long, value_name = "URL")]
    citation: Option<String>,
}

/// The breakdown by status of `report` and `correct` (`killed_by_status`,
/// `wounded_by_status`): everyone killed (victims and attackers) and the wounded.
#[derive(Debug, clap::Args)]
#[group(skip)]
pub struct StatusArgs {
    /// Civilians killed (a FIGURE).
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    killed_civilians: Option<String>,
    /// Security forces killed: police, soldiers, intelligence, pro-government militia.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    killed_security_forces: Option<String>,
    /// Militants killed: members of non-state armed groups, attackers included.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    killed_militants: Option<String>,
    /// Killed whose status the source gives as unknown.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    killed_unknown: Option<String>,
    /// Civilians wounded.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    wounded_civilians: Option<String>,
    /// Security forces wounded.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    wounded_security_forces: Option<String>,
    /// Militants wounded.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    wounded_militants: Option<String>,
    /// Wounded whose status the source gives as unknown.
    #[arg(long, value_name = "FIGURE", allow_hyphen_values = true)]
    wounded_unknown: Option<String>,
}

impl StatusArgs {
    /// `(killed_by_status, wounded_by_status)`, each figure parsed under its flag's name.
    fn breakdowns(&self) -> anyhow::Result<(ByStatus, ByStatus)> {
        let mut killed = ByStatus::new();
        let mut wounded = ByStatus::new();
        for (prefix, map, given) in [
            (
                "killed",
                &mut killed,
                [
                    &self.killed_civilians,
                    &self.killed_security_forces,
                    &self.killed_militants,
                    &self.killed_unknown,
                ],
            ),
            (
                "wounded",
                &mut wounded,
                [
                    &self.wounded_civilians,
                    &self.wounded_security_forces,
                    &self.wounded_militants,
                    &self.wounded_unknown,
                ],
            ),
        ] {
            for (status, value) in Status::ALL.into_iter().zip(given) {
                let flag = format!("--{prefix}-{}", status.name().replace('_', "-"));
                if let Some(f) = parse::<Figure>(&flag, value)? {
                    map.insert(status, f);
                }
            }
        }
        Ok((killed, wounded))
    }
}

impl FigureArgs {
    fn report(&self, reason: Option<String>) -> anyhow::Result<CasualtyReport> {
        let (killed_by_status, wounded_by_status) = self.status.breakdowns()?;
        Ok(CasualtyReport {
            source: self.source.clone(),
            published: parse::<Published>("--published", &self.published)?,
            killed: parse::<Figure>("--killed", &self.killed)?,
            wounded: parse::<Figure>("--wounded", &self.wounded)?,
            attackers_killed: parse::<Figure>("--attackers-killed", &self.attackers_killed)?,
            killed_breakdown: Default::default(),
            killed_by_status,
            wounded_by_status,
            note: self.note.clone(),
            citation: self.citation.clone(),
            reason,
            via: self.via.clone(),
            attributes: Default::default(),
        })
    }
}

/// Incident detail flags shared by `report` (for a new incident) and `amend`.
#[derive(Debug, clap::Args)]
pub struct DetailArgs {
    /// When it happened: 2020-07-30, 2020-W29, 2020-07, 2020 or 2020-07-14/2020-07-16.
    #[arg(long)]
    date: Option<String>,
    /// Country.
    #[arg(long)]
    country: Option<String>,
    /// Province (admin 1).
    #[arg(long)]
    province: Option<String>,
    /// District (admin 2).
    #[arg(long)]
    district: Option<String>,
    /// Town, village or place.
    #[arg(long)]
    locality: Option<String>,
    /// Latitude (with --lon).
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// Longitude (with --lat).
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
    /// Category (suicide car bombing, roadside bomb, checkpoint attack, armed clash...).
    #[arg(long)]
    category: Option<String>,
    /// Who or what was targeted.
    #[arg(long)]
    target: Option<String>,
    /// Alleged perpetrator.
    #[arg(long)]
    perpetrator: Option<String>,
    /// One or two sentences on what happened.
    #[arg(long)]
    summary: Option<String>,
}

impl DetailArgs {
    /// The details as `report` passes them to open a new incident.
    fn opening(&self) -> OpeningDetails {
        OpeningDetails {
            date: self.date.clone(),
            country: self.country.clone(),
            province: self.province.clone(),
            district: self.district.clone(),
            locality: self.locality.clone(),
            coordinates: self.coordinates(),
            category: self.category.clone(),
            target: self.target.clone(),
            perpetrator: self.perpetrator.clone(),
            summary: self.summary.clone(),
        }
    }

    fn coordinates(&self) -> Option<Coordinates> {
        Some(Coordinates {
            lat: self.lat?,
            lon: self.lon?,
            precision: None,
        })
    }

    fn amendment(&self, reason: String) -> anyhow::Result<Amendment> {
        Ok(Amendment {
            date: parse::<IncidentDate>("--date", &self.date)?,
            country: self.country.clone(),
            province: self.province.clone(),
            province_as_given: None,
            district: self.district.clone(),
            locality: self.locality.clone(),
            coordinates: self.coordinates(),
            category: self.category.clone(),
            target: self.target.clone(),
            perpetrator: self.perpetrator.clone(),
            summary: self.summary.clone(),
            attributes: Default::default(),
            reason,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The incident id, a readable slug such as 2020-07-30-puli-alam.
    #[arg(long)]
    incident: String,
    #[command(flatten)]
    figures: FigureArgs,
    #[command(flatten)]
    details: Box<DetailArgs>,
    /// Refuse unless the incident is at this version (0: it must be new).
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

pub fn report(db: &Path, ctx: AppendContext, args: ReportArgs) -> anyhow::Result<()> {
    let mut log = EventLog::open(db)?;
    let report = args.figures.report(None)?;
    let results = log.report(
        &ctx,
        args.event_id.id.as_deref(),
        &args.incident,
        report,
        &args.details.opening(),
        args.expect_version,
    )?;
    print_appended(&results)?;
    Ok(())
}

pub(crate) fn append_one(
    db: &Path,
    ctx: &AppendContext,
    id: &EventId,
    incident: &str,
    payload: Payload,
    expected: Option<u64>,
) -> anyhow::Result<()> {
    let mut log = EventLog::open(db)?;
    let result = log.append_command(ctx, id.id.as_deref(), incident, payload, expected)?;
    print_appended(&[result])?;
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct CorrectArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The incident.
    #[arg(long)]
    incident: String,
    #[command(flatten)]
    figures: FigureArgs,
    /// Why the figures changed.
    #[arg(long)]
    reason: String,
    /// Refuse unless the incident is at this version.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

pub fn correct(db: &Path, ctx: AppendContext, args: CorrectArgs) -> anyhow::Result<()> {
    let report = args.figures.report(Some(args.reason.clone()))?;
    append_one(
        db,
        &ctx,
        &args.event_id,
        &args.incident,
        Payload::CasualtiesCorrected(report),
        args.expect_version,
    )
}

#[derive(Debug, clap::Args)]
pub struct AmendArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The incident.
    #[arg(long)]
    incident: String,
    #[command(flatten)]
    details: DetailArgs,
    /// Why the details changed.
    #[arg(long)]
    reason: String,
    /// Refuse unless the incident is at this version.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

pub fn amend(db: &Path, ctx: AppendContext, args: AmendArgs) -> anyhow::Result<()> {
    let amendment = args.details.amendment(args.reason.clone())?;
    append_one(
        db,
        &ctx,
        &args.event_id,
        &args.incident,
        Payload::IncidentAmended(amendment),
        args.expect_version,
    )
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("stance").required(true).args(["claimed", "denied"])))]
pub struct ResponsibilityArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The incident.
    #[arg(long)]
    incident: String,
    /// The group claiming or denying.
    #[arg(long)]
    actor: String,
    /// Who reported the claim or denial.
    #[arg(long)]
    source: String,
    /// The actor claimed responsibility.
    #[arg(long)]
    claimed: bool,
    /// The actor denied responsibility.
    #[arg(long)]
    denied: bool,
    /// When it was published: a date or an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    published: Option<String>,
    /// A remark.
    #[arg(long)]
    note: Option<String>,
    /// Where it can be read.
    #[arg(long, value_name = "URL")]
    citation: Option<String>,
    /// Refuse unless the incident is at this version.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

pub fn responsibility(
    db: &Path,
    ctx: AppendContext,
    args: ResponsibilityArgs,
) -> anyhow::Result<()> {
    let statement = Responsibility {
        actor: args.actor,
        source: args.source,
        published: parse::<Published>("--published", &args.published)?,
        note: args.note,
        citation: args.citation,
    };
    let payload = if args.claimed {
        Payload::ResponsibilityClaimed(statement)
    } else {
        Payload::ResponsibilityDenied(statement)
    };
    append_one(
        db,
        &ctx,
        &args.event_id,
        &args.incident,
        payload,
        args.expect_version,
    )
}

#[derive(Debug, clap::Args)]
pub struct RetractArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The id of the event to retract (see `chronicle log`).
    event: String,
    /// Why it was entered in error.
    #[arg(long)]
    reason: String,
}

pub fn retract(db: &Path, ctx: AppendContext, args: RetractArgs) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let target = log.event_by_id(&args.event)?.ok_or_else(|| {
        Invalid::new(
            "EVENT_ID",
            &args.event,
            "no event with this id is in the log (find ids with `chronicle log`)",
        )
    })?;
    drop(log);
    let payload = Payload::EventRetracted(Retraction {
        event: args.event,
        reason: args.reason,
    });
    append_one(db, &ctx, &args.event_id, &target.incident, payload, None)
}

#[derive(Debug, clap::Args)]
pub struct RedactArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    /// The id of the event whose payload to erase (see `chronicle log`).
    event: String,
    /// Why (kept in the log: never repeat the erased text here).
    #[arg(long)]
    reason: String,
    /// An id for the redaction event, so that a retried command is a no-op.
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Redact an event of the log format 1 all the same: its own hash can then no longer
    /// be recomputed, only taken as stored.
    #[arg(long)]
    allow_format_1: bool,
}

pub fn redact(db: &Path, ctx: AppendContext, args: RedactArgs) -> anyhow::Result<()> {
    let mut log = EventLog::open(db)?;
    let r = log.redact(
        &ctx,
        &args.event,
        &args.reason,
        args.id,
        args.allow_format_1,
    )?;
    let mut out = std::io::stdout().lock();
    let (again, purged) = match r.purge {
        Purge::FileAndJournal => ("the file was purged again", "and its journal"),
        Purge::VacuumFull => (
            "its tables were purged again (`VACUUM FULL`)",
            "(its tables rewritten by `VACUUM FULL`)",
        ),
    };
    if r.already {
        writeln!(
            out,
            "already redacted: event {} (seq {}) was erased by redaction {} (seq {}); {again}, nothing appended",
            args.event, r.target_seq, r.id, r.seq
        )?;
    } else {
        writeln!(
            out,
            "appended seq {}: event_redacted, event {}\nerased the payload of event {} (seq {}) from {} {purged}",
            r.seq,
            r.id,
            args.event,
            r.target_seq,
            db.display()
        )?;
        if r.target_format == 1 {
            writeln!(
                out,
                "event {} is of the log format 1: `verify` now takes its own hash as stored",
                args.event
            )?;
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The duplicate incident.
    duplicate: String,
    /// The incident it duplicates.
    #[arg(long)]
    into: String,
    /// Why they are one incident.
    #[arg(long)]
    reason: String,
}

pub fn merge(db: &Path, ctx: AppendContext, args: MergeArgs) -> anyhow::Result<()> {
    let payload = Payload::IncidentMerged(Merge {
        into: args.into,
        reason: args.reason,
    });
    append_one(db, &ctx, &args.event_id, &args.duplicate, payload, None)
}

#[derive(Debug, clap::Args)]
pub struct AssessArgs {
    #[command(flatten)]
    pub recorder: Recorder,
    #[command(flatten)]
    event_id: EventId,
    /// The incident.
    #[arg(long)]
    incident: String,
    /// The grade: confirmed, fair, weak, contested or discounted.
    #[arg(long, value_name = "GRADE")]
    grade: String,
    /// Why (shown with the grade in every view and export).
    #[arg(long)]
    reason: String,
    /// Refuse unless the incident is at this version.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

/// `chronicle assess`: a recorder's grade for an incident (an `incident_assessed` event).
pub fn assess(db: &Path, ctx: AppendContext, args: AssessArgs) -> anyhow::Result<()> {
    let grade = Grade::parse(&args.grade).ok_or_else(|| {
        Invalid::new(
            "--grade",
            &args.grade,
            "the grades are confirmed, fair, weak, contested and discounted",
        )
    })?;
    let payload = Payload::IncidentAssessed(Assessment {
        grade,
        reason: args.reason,
    });
    append_one(
        db,
        &ctx,
        &args.event_id,
        &args.incident,
        payload,
        args.expect_version,
    )
}
