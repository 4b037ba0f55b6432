//! The view commands: `show`, `timeline`, `summary`, `sources`, `export`, `history`, `audit`,
//! `diff` and `rebuild`. They parse, call the library and print; the views and their
//! rendering live in `chronicle_core::views`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use chronicle_core::note::{self, SignerKey};
use chronicle_core::source::SourceType;
use chronicle_core::status::Status;
use chronicle_core::time::parse_time_point;
use chronicle_core::views::audit::Claim;
use chronicle_core::views::doc::ExporterInfo;
use chronicle_core::views::grade::parse_grades;
use chronicle_core::views::render;
use chronicle_core::views::{
    filter_day, BestPolicy, DocumentStream, Filter, GroupBy, Measure, Point, Query, Restriction,
};
use chronicle_core::{EventLog, Invalid};
use chronicle_plugin_host::{DocumentForm, PluginHost, PluginInfo};

use crate::plugins::PluginArgs;
use crate::progress::{self, Progress};

/// Where in the log, which policy, which output.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    #[command(flatten)]
    point: PointArgs,
    #[command(flatten)]
    out: OutArgs,
}

/// Where in the log, which policy.
#[derive(Debug, clap::Args)]
pub struct PointArgs {
    /// What the log said at this recorded time (a bare date: the end of that day, UTC).
    #[arg(long, value_name = "TIME", conflicts_with = "at_seq")]
    as_of: Option<String>,
    /// The state after event N.
    #[arg(long, value_name = "N")]
    at_seq: Option<u64>,
    /// Only what sources had published by this time (see docs/views.md, "Time travel", for undated events).
    #[arg(long, value_name = "TIME")]
    known_by: Option<String>,
    /// How the best figure is chosen: median (the default; an adjudication in force replaces
    /// it), min, max, latest, majority, source:NAME or a ranked list "source:A>B>C".
    #[arg(long, value_name = "POLICY", default_value = "median")]
    best: String,
}

/// Output format.
#[derive(Debug, clap::Args)]
pub struct OutArgs {
    /// JSON (schema chronicle.views/1, see docs/json-document.md).
    #[arg(long)]
    json: bool,
    /// Width of the tables; 0 for no limit (default: on a terminal, $COLUMNS, else its
    /// width; to a pipe or a file, no limit: nothing is cut or wrapped). Ids are never cut.
    #[arg(long, value_name = "COLUMNS")]
    width: Option<usize>,
}

impl OutArgs {
    fn width(&self) -> usize {
        crate::width::output_width(self.width)
    }
}

/// Which incidents.
#[derive(Debug, clap::Args)]
pub struct FilterArgs {
    /// Incidents whose date starts on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Incidents whose date starts on or before this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Only this province.
    #[arg(long)]
    province: Option<String>,
    /// Only this category.
    #[arg(long)]
    category: Option<String>,
    /// Only incidents this source gave figures, a claim or a denial on.
    #[arg(long)]
    source: Option<String>,
    /// Only incidents with figures of this casualty status (civilians, security_forces,
    /// militants, unknown; repeatable); the killed and wounded counted are then those of
    /// the statuses given.
    #[arg(long, value_name = "STATUS")]
    status: Vec<String>,
    /// Only incidents of this grade: confirmed, fair, weak, contested, discounted (the
    /// recorded grade, else the suggested one; repeatable, or a list: confirmed,fair).
    #[arg(long, value_name = "GRADE")]
    grade: Vec<String>,
    #[command(flatten)]
    sources: SourceFilterArgs,
}

/// Which sources' figures are reconciled (`show` and `diff` take these too).
#[derive(Debug, Default, clap::Args)]
pub struct SourceFilterArgs {
    /// Reconcile only the figures of sources described as this type (`chronicle source
    /// set`; repeatable, or a list: "news agency,UN"); an incident left with no source is
    /// not shown, and the output says what was left out.
    #[arg(long, value_name = "TYPE")]
    source_type: Vec<String>,
    /// Leave out the figures of sources described as parties to the conflict; an incident
    /// left with no source is not shown, and the output says what was left out.
    #[arg(long)]
    exclude_parties: bool,
}

impl SourceFilterArgs {
    fn apply(&self, filter: &mut Filter) -> Result<(), Invalid> {
        filter.source_types = SourceType::parse_list("--source-type", &self.source_type)?;
        filter.exclude_parties = self.exclude_parties;
        Ok(())
    }
}

fn day(flag: &str, s: &Option<String>) -> Result<Option<chrono::NaiveDate>, Invalid> {
    s.as_deref().map(|d| filter_day(flag, d)).transpose()
}

impl FilterArgs {
    /// The filter as given; the library checks it (days in order, the province through the
    /// gazetteer) when it applies it.
    fn filter(&self, allow_unknown_place: bool) -> Result<Filter, Invalid> {
        let mut filter = self.filter_without_sources(allow_unknown_place)?;
        self.sources.apply(&mut filter)?;
        Ok(filter)
    }

    fn filter_without_sources(&self, allow_unknown_place: bool) -> Result<Filter, Invalid> {
        Ok(Filter {
            from: day("--from", &self.from)?,
            to: day("--to", &self.to)?,
            province: self.province.clone(),
            category: self.category.clone(),
            source: self.source.clone(),
            statuses: self
                .status
                .iter()
                .map(|s| s.parse::<Status>())
                .collect::<Result<Vec<_>, _>>()?,
            grades: parse_grades(&self.grade)?,
            allow_unknown_place,
            ..Filter::default()
        })
    }
}

fn time(flag: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, Invalid> {
    parse_time_point(s).map_err(|e| Invalid::new(flag, s, e.to_string()))
}

impl ViewArgs {
    fn query(&self, filter: Filter) -> Result<Query, Invalid> {
        self.point.query(filter)
    }
}

impl PointArgs {
    fn query(&self, filter: Filter) -> Result<Query, Invalid> {
        let point = match (&self.as_of, self.at_seq) {
            (Some(t), _) => Point::AsOf(time("--as-of", t)?),
            (None, Some(n)) => Point::AtSeq(n),
            (None, None) => Point::Head,
        };
        Ok(Query {
            point,
            known_by: self
                .known_by
                .as_deref()
                .map(|t| time("--known-by", t))
                .transpose()?,
            best: self.best.parse::<BestPolicy>()?,
            filter,
            ..Query::default()
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The incident id (a merged duplicate's id shows the incident it was merged into).
    incident: String,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    sources: SourceFilterArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The format: json (built in) or one a plugin provides (see `chronicle plugins list`).
    #[arg(long, value_name = "NAME", default_value = "json")]
    format: String,
    /// Write to FILE instead of standard output. FILE is replaced only once the export has
    /// succeeded (written beside it, then renamed); a failed export leaves it untouched.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// An option for the format's plugin, KEY=VALUE (repeatable), e.g. layout=acled for csv.
    #[arg(long = "option", value_name = "KEY=VALUE")]
    options: Vec<String>,
    /// Sign the checkpoint the document carries with this signer key (written by `chronicle
    /// key generate`), as `chronicle checkpoint --sign` does.
    #[arg(long, value_name = "KEYFILE")]
    sign: Option<PathBuf>,
    /// The checkpoint's origin line [default: the signer key's name, else `chronicle`].
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    #[command(flatten)]
    point: PointArgs,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// Group the totals by province, month, category, source, status (casualty status) or
    /// grade.
    #[arg(long, value_name = "GROUP", default_value = "province", value_parser = ["province", "month", "category", "source", "status", "grade"])]
    by: String,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The incident id.
    incident: String,
    #[command(flatten)]
    out: OutArgs,
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("claim").required(true).multiple(true).args(["killed", "wounded"]))]
pub struct AuditArgs {
    /// The claimed number killed.
    #[arg(long, value_name = "N")]
    killed: Option<u64>,
    /// The claimed number wounded (with --killed too: a verdict for each).
    #[arg(long, value_name = "N")]
    wounded: Option<u64>,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The first point: a time (a bare date: the end of that day, UTC) or seq:N.
    #[arg(long, value_name = "POINT")]
    from: String,
    /// The second point (default: the head).
    #[arg(long, value_name = "POINT", default_value = "head")]
    to: String,
    /// How the best figure is chosen: median (the default; an adjudication in force replaces
    /// it), min, max, latest, majority, source:NAME or a ranked list "source:A>B>C".
    #[arg(long, value_name = "POLICY", default_value = "median")]
    best: String,
    /// Only this province.
    #[arg(long)]
    province: Option<String>,
    /// Only this category.
    #[arg(long)]
    category: Option<String>,
    /// Only incidents this source gave figures, a claim or a denial on.
    #[arg(long)]
    source: Option<String>,
    /// Only incidents of this grade at either point (repeatable, or a list: confirmed,fair).
    #[arg(long, value_name = "GRADE")]
    grade: Vec<String>,
    #[command(flatten)]
    sources: SourceFilterArgs,
    #[command(flatten)]
    out: OutArgs,
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    print(&(serde_json::to_string_pretty(value)? + "\n"))
}

pub fn show(db: &Path, args: ShowArgs) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let mut filter = Filter::default();
    args.sources.apply(&mut filter)?;
    let q = args.view.query(filter)?;
    let incident = log.show(&args.incident, &q)?;
    if args.view.out.json {
        return print_json(&incident);
    }
    let width = args.view.out.width();
    let mut out = render::incident(&incident, &q.best.to_string(), width);
    if q.filter.restricts_sources() {
        // Only the sources left out on this incident.
        let mut all = q.clone();
        all.filter.source_types.clear();
        all.filter.exclude_parties = false;
        let shown: Vec<&str> = incident.sources.iter().map(|s| s.source.as_str()).collect();
        let left: Vec<String> = log
            .show(&args.incident, &all)?
            .sources
            .into_iter()
            .filter(|s| !shown.contains(&s.source.as_str()))
            .map(|s| match s.source_type {
                Some(_) => s.source,
                None => format!("{} (no recorded type)", s.source),
            })
            .collect();
        if !left.is_empty() {
            out.push_str(&format!(
                "\nLeft out: the figures of {}.\n",
                left.join(", ")
            ));
        }
    }
    print(&out)
}

pub fn timeline(db: &Path, args: ListArgs, allow_unknown_place: bool) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let query = args.view.query(args.filter.filter(allow_unknown_place)?)?;
    if args.view.out.json {
        // Written as computed, one incident at a time (see `export`).
        let doc = log.timeline_stream(&query)?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let written = serde_json::to_writer_pretty(&mut out, &doc.incidents());
        if let Some(e) = doc.take_error() {
            return Err(e.into());
        }
        written?;
        out.write_all(b"\n")?;
        out.flush()?;
        return warn_status_caveat(&log, &query);
    }
    // The table needs only the columns of the views, not every incident's whole state.
    let rows = log.timeline_rows(&query)?;
    let width = args.view.out.width();
    let mut out = render::timeline_rows(&rows, width);
    out.push_str(&status_caveat(&log, &query, width)?);
    print(&out)
}

/// With `--status`, what a table by status cannot count: the incidents whose killed figures
/// are not (all) broken down by status (empty without `--status`).
fn status_caveat(log: &EventLog, query: &Query, width: usize) -> anyhow::Result<String> {
    let gaps = log.status_gaps(query, Measure::Killed)?;
    let mut out = render::status_gaps(
        &gaps,
        "killed",
        "the statuses given may be among them",
        width,
    );
    // With --source-type / --exclude-parties: what was left out, never silently.
    out.push_str(&render::restriction(&log.restriction(query)?, width));
    Ok(out)
}

/// With `--source-type` / `--exclude-parties`, what was left out, on standard error (for an
/// answer whose standard output is JSON or a file): never silently.
fn warn_restriction(log: &EventLog, query: &Query) -> anyhow::Result<()> {
    warn_left_out(&log.restriction(query)?);
    Ok(())
}

/// What a restriction left out, on standard error (see [`warn_restriction`]).
fn warn_left_out(r: &Restriction) {
    let left_out = render::restriction(r, usize::MAX);
    if !left_out.is_empty() {
        eprint!("warning: {left_out}");
    }
}

/// [`status_caveat`] for a `--json` answer, whose standard output is the JSON alone: on
/// standard error, so that an empty or short list by status never reads as complete.
fn warn_status_caveat(log: &EventLog, query: &Query) -> anyhow::Result<()> {
    let caveat = status_caveat(log, query, usize::MAX)?;
    if !caveat.is_empty() {
        eprint!("warning: {caveat}");
    }
    Ok(())
}

pub fn summary(db: &Path, args: SummaryArgs, allow_unknown_place: bool) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let by: GroupBy = args.by.parse()?;
    let query = args.view.query(args.filter.filter(allow_unknown_place)?)?;
    let groups = log.summary(&query, by)?;
    if args.view.out.json {
        print_json(&groups)?;
        return warn_status_caveat(&log, &query);
    }
    let width = args.view.out.width();
    let mut out = render::summary(&groups, by, width);
    out.push_str(&status_caveat(&log, &query, width)?);
    print(&out)
}

pub fn sources(db: &Path, args: ListArgs, allow_unknown_place: bool) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let query = args.view.query(args.filter.filter(allow_unknown_place)?)?;
    let rows = log.sources(&query)?;
    if args.view.out.json {
        print_json(&rows)?;
        return warn_restriction(&log, &query);
    }
    let width = args.view.out.width();
    let mut out = render::sources(&rows, width);
    // With --source-type / --exclude-parties: what was left out, never silently.
    out.push_str(&render::restriction(&log.restriction(&query)?, width));
    print(&out)
}

/// `--option KEY=VALUE`s as a map; a repeated key or one without `=` is refused.
fn parse_options(pairs: &[String]) -> Result<BTreeMap<String, String>, Invalid> {
    let mut options = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Invalid::new(
                "--option",
                pair,
                "an option is KEY=VALUE, e.g. layout=acled",
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Invalid::new(
                "--option",
                pair,
                "an option is KEY=VALUE, e.g. layout=acled",
            ));
        }
        if options.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(Invalid::new(
                "--option",
                pair,
                format!("option {key} is given twice"),
            ));
        }
    }
    Ok(options)
}

/// What renders an export.
enum Renderer {
    /// The built-in JSON document.
    Json,
    /// A plugin, by its declaration.
    Plugin(PluginHost, PluginInfo),
}

impl Renderer {
    /// The built-in format, or the plugin for `format` (discovering plugins only then: a
    /// JSON export never loads a library). An unknown format is refused with the list.
    fn find(
        format: &str,
        options: &BTreeMap<String, String>,
        plugins: &PluginArgs,
    ) -> anyhow::Result<Renderer> {
        if format == "json" {
            if let Some(key) = options.keys().next() {
                return Err(Invalid::new(
                    "--option",
                    key,
                    "the built-in json format takes no options",
                )
                .into());
            }
            return Ok(Renderer::Json);
        }
        let host = plugins.discover()?;
        if let (None, Some(broken)) = (host.get(format), host.broken_format(format)) {
            return Err(broken.into());
        }
        let Some(info) = host.get(format).cloned() else {
            let mut available: Vec<String> = crate::plugins::BUILTIN
                .iter()
                .map(|(name, ..)| format!("{name} (built in)"))
                .collect();
            available.extend(host.formats().into_iter().map(|p| p.name));
            return Err(Invalid::new(
                "--format",
                format,
                format!(
                    "no such export format; available: {} (plugins are listed by `chronicle plugins list`)",
                    available.join(", ")
                ),
            )
            .into());
        };
        Ok(Renderer::Plugin(host, info))
    }

    /// The name and version that go into the document's provenance.
    fn exporter(&self) -> ExporterInfo {
        match self {
            Renderer::Json => ExporterInfo {
                name: "json".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            Renderer::Plugin(_, info) => ExporterInfo {
                name: info.name.clone(),
                version: info.version.clone(),
            },
        }
    }

    fn is_binary(&self) -> bool {
        matches!(self, Renderer::Plugin(_, info) if !info.text)
    }
}

pub fn export(
    db: &Path,
    args: ExportArgs,
    plugins: &PluginArgs,
    allow_unknown_place: bool,
) -> anyhow::Result<()> {
    let q = args.point.query(args.filter.filter(allow_unknown_place)?)?;
    let options = parse_options(&args.options)?;
    let format = args.format.trim();
    let renderer = Renderer::find(format, &options, plugins)?;
    if renderer.is_binary() && args.out.is_none() && std::io::stdout().is_terminal() {
        return Err(Invalid::new(
            "--format",
            format,
            "this format is binary and standard output is a terminal; give --out FILE or redirect the output",
        )
        .into());
    }
    let signer = match &args.sign {
        Some(path) => Some(SignerKey::parse(&crate::proof::read_arg("--sign", path)?)?),
        None => None,
    };
    let origin = note::origin(args.origin.as_deref(), signer.as_ref())?;
    let log = EventLog::open(db)?;
    let mut doc = log.export_stream(&q, &origin, signer.as_ref())?;
    doc.provenance_mut().exporter = Some(renderer.exporter());
    // The document is written as it is computed, one incident at a time (at 1M events it is
    // ~700 MB of JSON, ~190,000 incidents: neither is held): to the output for the built-in
    // format, down the pipe to the plugin's process otherwise. A plugin's output goes to a
    // temporary file as it comes (a streamed plugin's as it writes it), which becomes
    // `--out` or is copied to standard output only once the plugin succeeded: a failing
    // plugin leaves nothing anywhere. An error met while writing (the log unreadable) is the
    // stream's, not the serializer's.
    let emit = |w: &mut (dyn Write + Send)| -> anyhow::Result<()> {
        match &renderer {
            Renderer::Plugin(host, info) => export_through(host, info, &doc, &options, w),
            Renderer::Json => {
                // As an io::Error, so that a reader gone (a closed pipe) is recognised.
                serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::from)?;
                w.write_all(b"\n")?;
                Ok(())
            }
        }
    };
    match &args.out {
        None => {
            let written = match &renderer {
                Renderer::Json => {
                    let mut out = std::io::BufWriter::new(std::io::stdout());
                    emit(&mut out).and_then(|()| Ok(out.flush()?))
                }
                Renderer::Plugin(..) => through_temporary_file(emit),
            };
            if let Some(e) = doc.take_error() {
                return Err(e.into());
            }
            written?;
            warn_restriction(&log, &q)?;
        }
        Some(path) => {
            let written = write_atomically(path, emit);
            if let Some(e) = doc.take_error() {
                return Err(e.into());
            }
            let written = written?;
            let p = doc.provenance();
            let exporter = renderer.exporter();
            eprintln!(
                "wrote {} ({} bytes, {} {}): {} incidents, log checkpoint {}:{}, {}, best {}",
                path.display(),
                written,
                exporter.name,
                exporter.version,
                doc.incident_count(),
                p.log_seq,
                p.log_hash.as_deref().unwrap_or("-"),
                p.point.describe(),
                p.policy.best
            );
            warn_restriction(&log, &q)?;
        }
    }
    Ok(())
}

/// What `emit` writes, to an unnamed temporary file (in `$TMPDIR`), then copied to standard
/// output once `emit` succeeded: a plugin that fails half-way prints nothing.
fn through_temporary_file(
    emit: impl FnOnce(&mut (dyn Write + Send)) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut tmp = tempfile::tempfile()
        .map_err(|e| anyhow::anyhow!("cannot create a temporary file for the export: {e}"))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut tmp);
        emit(&mut w)?;
        w.flush()?;
    }
    tmp.seek(SeekFrom::Start(0))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    std::io::copy(&mut tmp, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Plugin `info` of `host` makes its output of `doc` into `out`. The document is serialized
/// on this thread (it reads the log, whose connection stays here), in the form the plugin
/// takes (whole, or the lines of a streamed plugin), into 64 KiB chunks passed, at most 16
/// at a time, to the thread that runs the export and writes them down the plugin's pipe:
/// neither side holds the whole document. When the export ends (or fails before reading it
/// all) the chunks' receiver is dropped, so the serialization stops at its next chunk.
fn export_through(
    host: &PluginHost,
    info: &PluginInfo,
    doc: &DocumentStream<'_>,
    options: &BTreeMap<String, String>,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (chunks, received) = std::sync::mpsc::sync_channel::<Vec<u8>>(16);
    let format = info.name.as_str();
    let (exported, written) = std::thread::scope(|s| {
        let plugin = s.spawn(move || {
            let received = std::sync::Mutex::new(received);
            let write_doc = |w: &mut dyn Write| -> std::io::Result<()> {
                let received = received
                    .lock()
                    .map_err(|_| std::io::Error::other("the document's chunks were lost"))?;
                for chunk in received.iter() {
                    w.write_all(&chunk)?;
                }
                Ok(())
            };
            host.export_to(format, &write_doc, options, out)
        });
        let mut w = std::io::BufWriter::with_capacity(1 << 16, Chunks(chunks));
        let written = match info.document_form() {
            DocumentForm::Whole => serde_json::to_writer(&mut w, doc).map_err(std::io::Error::from),
            DocumentForm::Lines => doc.write_lines(&mut w),
        }
        .and_then(|()| w.flush());
        // Dropping the sender ends the document for the plugin's side.
        drop(w);
        let exported: anyhow::Result<_> = match plugin.join() {
            Ok(r) => r.map_err(anyhow::Error::from),
            Err(_) => Err(anyhow::anyhow!("the export thread panicked")),
        };
        (exported, written)
    });
    if let Some(e) = doc.take_error() {
        return Err(e.into());
    }
    exported?;
    written?;
    Ok(())
}

/// A writer that sends what it is given, as chunks, to a channel (see [`export_through`]).
struct Chunks(std::sync::mpsc::SyncSender<Vec<u8>>);

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.send(buf.to_vec()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the plugin's side stopped reading the document",
            )
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes what `emit` writes to a new file beside `path` and renames it over `path`, so that
/// `path` is either untouched or complete, never half-written. The new file gets the
/// permissions of a file created normally (0666 less the umask), not a temporary file's
/// 0600. Returns the number of bytes written.
fn write_atomically(
    path: &Path,
    emit: impl FnOnce(&mut (dyn Write + Send)) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    use anyhow::Context as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("--out {}: not a file name", path.display()))?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Name `path` in errors, not the temporary file, which the user never sees.
    // (tempfile's errors end with ` at path "TEMPORARY"`.)
    let failed = |e: std::io::Error| {
        let e = e.to_string();
        let e = e.rsplit_once(" at path \"").map_or(e.as_str(), |(e, _)| e);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot write {}: there is no directory {}",
            path.display(),
            dir.display()
        );
    }
    let mut tmp = builder.tempfile_in(dir).map_err(failed)?;
    let mut out = Counted {
        inner: std::io::BufWriter::new(tmp.as_file_mut()),
        bytes: 0,
    };
    // An error of the writing itself names `path`; any other (a plugin's) is its own.
    emit(&mut out).map_err(|e| match e.downcast::<std::io::Error>() {
        Ok(io) => failed(io),
        Err(other) => other,
    })?;
    out.flush().map_err(failed)?;
    let written = out.bytes;
    drop(out);
    tmp.as_file().sync_all().map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    // Make the rename itself durable; a failure here leaves a complete file, so ignore it.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(written)
}

/// A writer that counts the bytes it passes on.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub fn history(db: &Path, args: HistoryArgs) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let history = log.history(&args.incident)?;
    if args.out.json {
        return print_json(&history);
    }
    print(&render::history(&history, args.out.width()))
}

pub fn audit(db: &Path, args: AuditArgs, allow_unknown_place: bool) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let claims: Vec<Claim> = [
        (Measure::Killed, args.killed),
        (Measure::Wounded, args.wounded),
    ]
    .into_iter()
    .filter_map(|(measure, value)| value.map(|value| Claim { measure, value }))
    .collect();
    if claims.is_empty() {
        return Err(
            Invalid::new("--killed", "", "give the claimed --killed N or --wounded N").into(),
        );
    }
    let query = args.view.query(args.filter.filter(allow_unknown_place)?)?;
    let reports = log.audits(&claims, &query)?;
    if args.view.out.json {
        // One claim: its report; killed and wounded: both reports, in that order.
        match reports.as_slice() {
            [one] => print_json(one)?,
            all => print_json(all)?,
        };
        // A verdict over some sources' figures says which were left out.
        return warn_restriction(&log, &query);
    }
    let width = args.view.out.width();
    let mut out = render::audits(&reports, width);
    out.push_str(&render::restriction(&log.restriction(&query)?, width));
    print(&out)
}

pub fn diff(db: &Path, args: DiffArgs, allow_unknown_place: bool) -> anyhow::Result<()> {
    let log = EventLog::open(db)?;
    let from: Point = args.from.parse()?;
    let to: Point = args.to.parse()?;
    let mut filter = Filter {
        province: args.province,
        category: args.category,
        source: args.source,
        grades: parse_grades(&args.grade)?,
        allow_unknown_place,
        ..Filter::default()
    };
    args.sources.apply(&mut filter)?;
    let d = log.diff(from, to, &filter, &args.best.parse::<BestPolicy>()?)?;
    if args.out.json {
        print_json(&d)?;
        // With --source-type / --exclude-parties: what was left out, never silently.
        warn_left_out(&d.left_out);
        return Ok(());
    }
    let width = args.out.width();
    let mut out = render::diff(&d, width);
    // With --source-type / --exclude-parties: what was left out, never silently; set apart
    // from the last incident's changes.
    let left_out = render::restriction(&d.left_out, width);
    if !left_out.is_empty() && !d.incidents.is_empty() {
        out.push('\n');
    }
    out.push_str(&left_out);
    print(&out)
}

/// `chronicle rebuild`: drops the view tables and replays the whole log, with a progress bar
/// over the events (on a terminal, without `--quiet`).
pub fn rebuild(db: &Path, quiet: bool) -> anyhow::Result<()> {
    let mut log = EventLog::open(db)?;
    // The total is only read when a bar may be drawn.
    let total = if progress::enabled(quiet) {
        log.head()?.map(|h| h.seq)
    } else {
        None
    };
    let progress = Progress::new(quiet, total, "rebuilding the views");
    let rebuilt = log.rebuild_views_with_progress(&|n| progress.update(n));
    progress.finish();
    print(&format!(
        "Rebuilt the views from {} events (views version {}).\n",
        rebuilt?,
        chronicle_core::views::VIEWS_VERSION
    ))
}
