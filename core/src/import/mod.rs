//! Importing curated datasets (ACLED, UCDP GED) into the log, and re-importing newer
//! releases as corrections, amendments and retractions.
//!
//! Each dataset row becomes an incident (`acled-AFG63558`, `ucdp-351342`) opened by an
//! `incident_reported` event and a `casualties_reported` event whose source is the dataset.
//! A later import compares every row with the incident's *current* state in the log (its
//! first report folded with its amendments, and the dataset source's latest report or
//! correction), read inside the same write transaction, and appends only the difference:
//! an `incident_amended` with the changed details, a `casualties_corrected` with the new
//! figures, or an `event_retracted` of the incident's first report for an event the dataset
//! deleted. Event ids are derived from the dataset, the row id, its revision and a hash of its
//! content, so the log's idempotency recognises a repeated append too.
//!
//! The mapping of each dataset is in [`acled`] and [`ucdp`]; `IMPORT.md` documents it.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::event::{
    Amendment, Attributes, CasualtyReport, IncidentDetails, NewEvent, Payload, Retraction,
    MAX_NAME_LEN, MAX_PAYLOAD_BYTES,
};
use crate::domain::figure::MAX_COUNT;
use crate::domain::gazetteer::Gazetteer;
use crate::domain::rules;
use crate::error::{Error, Invalid, Location, Result};
use crate::log::{AppendContext, Appender, EventLog};
use crate::record::Appended;

pub mod acled;
mod lines;
pub mod ucdp;

use lines::LineCounter;

/// Rows of a dataset mapped and read ahead at a time ([`Run::apply_ahead`]): their streams
/// and event ids are read from the log in one query each, not one per row.
const READ_AHEAD: usize = 1024;

/// The province recorded when a row names none (UCDP's country-wide events have an empty
/// `adm_1`). It is not a place the gazetteer knows, so totals by province show it apart.
pub const UNKNOWN_PROVINCE: &str = "unknown";

/// The datasets chronicle imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// ACLED (Armed Conflict Location & Event Data), 31-column export layout.
    Acled,
    /// UCDP GED (Georeferenced Event Dataset), 49-column layout of GED 20.1 and later.
    Ucdp,
}

impl Dataset {
    /// The source label used when no release is named: `ACLED` or `UCDP GED`.
    pub fn default_label(self) -> &'static str {
        match self {
            Dataset::Acled => "ACLED",
            Dataset::Ucdp => "UCDP GED",
        }
    }

    /// The prefix of incident ids (`acled-`) and event ids (`acled:`).
    pub fn prefix(self) -> &'static str {
        match self {
            Dataset::Acled => "acled",
            Dataset::Ucdp => "ucdp",
        }
    }

    /// The column holding the dataset's own event id.
    pub fn id_column(self) -> &'static str {
        match self {
            Dataset::Acled => "event_id_cnty",
            Dataset::Ucdp => "id",
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Dataset::Acled => acled::REQUIRED,
            Dataset::Ucdp => ucdp::REQUIRED,
        }
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Which dataset the file is.
    pub dataset: Dataset,
    /// The source label for the dataset's reports (`UCDP GED 23.1`); default
    /// [`Dataset::default_label`].
    pub release: Option<String>,
    /// The file is the dataset's full release: its events absent from the file are retracted.
    pub full_release: bool,
    /// Skip malformed rows (listing them) instead of refusing the whole import.
    pub skip_invalid: bool,
}

/// A CSV file to read, with the name used in messages.
#[derive(Debug)]
pub struct CsvInput<R> {
    /// The name in messages (the path as the user gave it).
    pub name: String,
    /// The bytes.
    pub reader: R,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    /// Data rows read (skipped ones included).
    pub rows_read: u64,
    /// Entries read from the deleted-events list.
    pub deleted_read: u64,
    /// Incidents new to the log.
    pub new_incidents: u64,
    /// `casualties_corrected` events appended.
    pub corrections: u64,
    /// `casualties_reported` events appended to incidents already in the log (the dataset's
    /// earlier report had been retracted by an editor).
    pub reports: u64,
    /// `incident_amended` events appended.
    pub amendments: u64,
    /// `event_retracted` events appended (deleted events, or events absent from a full release).
    pub retractions: u64,
    /// Rows (and deleted-list entries) already reflected in the log: nothing appended.
    pub unchanged: u64,
    /// ACLED rows older (by `timestamp`) than the revision in the log: ignored.
    pub outdated: u64,
    /// Rows that were not applied because an editor retracted or merged their incident.
    pub not_applied: u64,
    /// Malformed rows skipped under `skip_invalid`, with why.
    pub skipped: Vec<Invalid>,
    /// Remarks on rows not applied and deletions of events not in the log.
    pub notices: Vec<String>,
}

/// Imports `rows` (and the ACLED deleted-events list `deleted`) into the log in one
/// transaction: everything is written, or nothing is.
///
/// `progress` is called after each row with the number of bytes of `rows` read so far.
pub fn import<R: Read, D: Read>(
    log: &mut EventLog,
    ctx: &AppendContext,
    options: &ImportOptions,
    rows: Option<CsvInput<R>>,
    deleted: Option<CsvInput<D>>,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportSummary> {
    let dataset = options.dataset;
    let label = options
        .release
        .clone()
        .unwrap_or_else(|| dataset.default_label().to_string());
    check_label(&label)?;
    if deleted.is_some() && dataset != Dataset::Acled {
        return Err(Invalid::new(
            "--deleted",
            "",
            "a deleted-events list is an ACLED export (event_id_cnty,deleted_timestamp); UCDP publishes none: import its full release with --full-release instead",
        )
        .into());
    }
    if options.full_release && rows.is_none() {
        return Err(Invalid::new(
            "--full-release",
            "",
            "--full-release needs the release's file",
        )
        .into());
    }
    // Province names are resolved by the mapping (refusing unknown ones unless the caller
    // allows them), so the log may accept them as written: this lets the rows that name no
    // province through as `unknown`. The plausibility rules are for what people type: a
    // dataset's dates and timestamps are its publisher's record, kept as published (and its
    // ids, `acled-KEY`, are made from keys the mapping checks).
    let import_ctx = AppendContext {
        allow_unknown_place: true,
        allow_implausible: true,
        // A dataset's breakdown is its publisher's, kept as published (UCDP's add up).
        allow_inconsistent: true,
        ..ctx.clone()
    };
    log.transaction(&import_ctx, |app| {
        let mut run = Run {
            dataset,
            label: &label,
            allow_unknown_place: ctx.allow_unknown_place,
            file: rows.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
            summary: ImportSummary::default(),
            seen: HashMap::new(),
            unknown_ids: false,
        };
        if let Some(input) = rows {
            run.rows(app, input, options, progress)?;
            if options.full_release {
                run.retract_absent(app)?;
            }
        }
        if let Some(input) = deleted {
            run.deleted(app, input)?;
        }
        Ok(run.summary)
    })
}

fn check_label(label: &str) -> Result<()> {
    if label.trim().is_empty()
        || label.trim() != label
        || label.len() > MAX_NAME_LEN
        || label.chars().any(char::is_control)
    {
        return Err(Invalid::new(
            "--release",
            label,
            "a release label is a source name such as \"UCDP GED 23.1\": not empty, no surrounding blanks or control characters",
        )
        .into());
    }
    Ok(())
}

/// A dataset row mapped to chronicle's payloads.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The dataset's own event id (`AFG63558`, `351342`).
    pub key: String,
    /// The incident id (`acled-AFG63558`).
    pub incident: String,
    /// ACLED's `timestamp` (unix seconds of the row's last change); none for UCDP.
    pub revision: Option<i64>,
    /// The incident's details.
    pub details: IncidentDetails,
    /// The dataset's report.
    pub report: CasualtyReport,
    /// Why a change from this row is recorded ("ACLED revision (timestamp 1658...)").
    pub reason: String,
}

/// Everything a mapping needs besides the row.
#[derive(Debug, Clone)]
pub struct MapContext<'a> {
    /// The source label.
    pub label: &'a str,
    /// The file name, for reasons ("UCDP GED revision (ged231.csv)").
    pub file: &'a str,
    /// Keep province names the gazetteer does not know.
    pub allow_unknown_place: bool,
}

/// The header of a dataset file: column names (lowercased, trimmed) and their positions.
#[derive(Debug, Clone)]
pub struct Columns {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Columns {
    /// Reads a header, checking that `dataset`'s required columns are all there.
    pub fn new(header: &csv::StringRecord, dataset: Dataset, file: &str) -> Result<Columns> {
        let at = || Location::line(file, 1);
        let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        let mut index = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if index.insert(name.clone(), i).is_some() {
                return Err(Invalid::new(
                    name.as_str(),
                    "",
                    "this column appears twice in the header; each column is named once",
                )
                .at(at())
                .into());
            }
        }
        for &column in dataset.required() {
            if !index.contains_key(column) {
                let other = match dataset {
                    Dataset::Acled if index.contains_key("type_of_violence") => {
                        " (this looks like a UCDP GED file: use --from ucdp)"
                    }
                    Dataset::Ucdp if index.contains_key("event_id_cnty") => {
                        " (this looks like an ACLED file: use --from acled)"
                    }
                    _ => "",
                };
                return Err(Invalid::new(
                    column,
                    "",
                    format!(
                        "the {} file has no `{column}` column, which the import needs{other}; the required columns are {}",
                        dataset.default_label(),
                        dataset.required().join(", ")
                    ),
                )
                .at(at())
                .into());
            }
        }
        Ok(Columns { names, index })
    }

    /// The column names, lowercased, in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// One record read against its header. Accessors refuse bad values naming the column.
#[derive(Debug, Clone, Copy)]
pub struct Row<'r> {
    columns: &'r Columns,
    record: &'r csv::StringRecord,
}

impl<'r> Row<'r> {
    /// A record read against `columns`.
    pub fn new(columns: &'r Columns, record: &'r csv::StringRecord) -> Self {
        Row { columns, record }
    }

    /// The raw value of a column ("" when the column is absent).
    pub fn raw(&self, column: &str) -> &'r str {
        self.columns
            .index
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
    }

    /// Whether the file has this column.
    pub fn has(&self, column: &str) -> bool {
        self.columns.index.contains_key(column)
    }

    /// A name (place, category, actor): trimmed, `None` when empty, otherwise held to the
    /// rules of a name in any event.
    pub fn name(&self, column: &str) -> Result<Option<String>, Invalid> {
        let v = self.raw(column).trim();
        if v.is_empty() {
            return Ok(None);
        }
        rules::name(column, v)?;
        Ok(Some(v.to_string()))
    }

    /// A name that must be given.
    pub fn required_name(&self, column: &str) -> Result<String, Invalid> {
        self.name(column)?
            .ok_or_else(|| Invalid::new(column, "", "is empty; the import needs it"))
    }

    /// Free text (notes, articles): line breaks normalised to `\n`, `None` when empty.
    pub fn text(&self, column: &str) -> Result<Option<String>, Invalid> {
        let v = self.raw(column).replace("\r\n", "\n").replace('\r', "\n");
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        rules::text(column, v)?;
        Ok(Some(v.to_string()))
    }

    /// A count of people (a non-negative whole number).
    pub fn count(&self, column: &str) -> Result<u64, Invalid> {
        let v = self.raw(column).trim();
        let bad = |why: &str| Invalid::new(column, v, why.to_string());
        if v.is_empty() {
            return Err(bad(
                "is empty; a count (a whole number, 0 or more) is needed",
            ));
        }
        // Whole numbers written as floats ("3.0") occur in exports from R and pandas.
        let digits = v.strip_suffix(".0").unwrap_or(v);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("is not a count (a whole number, 0 or more)"));
        }
        match digits.parse::<u64>() {
            Ok(n) if n <= MAX_COUNT => Ok(n),
            _ => Err(bad(&format!(
                "is larger than the maximum count {MAX_COUNT}"
            ))),
        }
    }

    /// A coordinate pair from two columns: both given, or neither.
    pub fn point(&self, lat_column: &str, lon_column: &str) -> Result<Option<(f64, f64)>, Invalid> {
        let parse = |column: &str, range: f64| -> Result<Option<f64>, Invalid> {
            let v = self.raw(column).trim();
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x.abs() <= range => Ok(Some(x)),
                _ => Err(Invalid::new(
                    column,
                    v,
                    format!("is not a coordinate in decimal degrees (-{range} to {range})"),
                )),
            }
        };
        match (parse(lat_column, 90.0)?, parse(lon_column, 180.0)?) {
            (Some(lat), Some(lon)) => Ok(Some((lat, lon))),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(Invalid::new(
                lat_column,
                "",
                format!("is empty while {lon_column} is given; give both or neither"),
            )),
            (Some(_), None) => Err(Invalid::new(
                lon_column,
                "",
                format!("is empty while {lat_column} is given; give both or neither"),
            )),
        }
    }

    /// A calendar date: `2022-01-05` (a time part after it, as UCDP's own CSV writes, is
    /// ignored when it is midnight), `05 January 2022` or `05-January-2022`.
    pub fn date(&self, column: &str) -> Result<NaiveDate, Invalid> {
        let v = self.raw(column).trim();
        parse_date(v).ok_or_else(|| {
            Invalid::new(column, v, "is not a date (2022-01-05, or 05 January 2022)")
        })
    }

    /// The dataset's own event id: letters, digits, `-`, `_` or `.`, at most 40 bytes.
    pub fn key(&self, column: &str) -> Result<String, Invalid> {
        let v = self.raw(column).trim();
        if v.is_empty()
            || v.len() > 40
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(Invalid::new(
                column,
                v,
                "is not an event id (1 to 40 letters, digits, '-', '_' or '.')",
            ));
        }
        Ok(v.to_string())
    }

    /// The non-empty values of every column not in `except`, verbatim, as attributes.
    pub fn attributes(&self, except: &[&str]) -> Attributes {
        self.columns
            .names
            .iter()
            .enumerate()
            .filter(|(_, name)| !name.is_empty() && !except.contains(&name.as_str()))
            .filter_map(|(i, name)| {
                let v = self.record.get(i)?;
                (!v.trim().is_empty()).then(|| (name.clone(), serde_json::Value::from(v)))
            })
            .collect()
    }

    /// The non-empty values of `columns`, verbatim, as attributes.
    pub fn only(&self, columns: &[&str]) -> Attributes {
        columns
            .iter()
            .filter(|c| !self.raw(c).trim().is_empty())
            .map(|c| (c.to_string(), serde_json::Value::from(self.raw(c))))
            .collect()
    }
}

fn parse_date(v: &str) -> Option<NaiveDate> {
    if v.len() >= 10 && v.is_char_boundary(10) {
        let (day, rest) = v.split_at(10);
        let midnight = rest.is_empty()
            || ((rest.starts_with(' ') || rest.starts_with('T'))
                && rest[1..]
                    .trim_end_matches('Z')
                    .chars()
                    .all(|c| c == '0' || c == ':' || c == '.'));
        if midnight {
            if let Ok(d) = NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                return Some(d);
            }
        }
    }
    ["%d %B %Y", "%d-%B-%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(v, f).ok())
}

/// The province as the gazetteer spells it, and the row's spelling when that differs.
pub fn province(
    country: &str,
    raw: Option<String>,
    column: &str,
    allow_unknown_place: bool,
) -> Result<(String, Option<String>), Invalid> {
    let Some(raw) = raw else {
        return Ok((UNKNOWN_PROVINCE.to_string(), None));
    };
    let afghanistan = Gazetteer::afghanistan();
    let gazetteer = Gazetteer::builtin(country).or_else(|| {
        afghanistan
            .country()
            .eq_ignore_ascii_case(country)
            .then_some(afghanistan)
    });
    let Some(gazetteer) = gazetteer else {
        if allow_unknown_place {
            return Ok((raw, None));
        }
        return Err(Invalid::new(
            "country",
            country,
            "chronicle has no gazetteer for this country, so its province names cannot be checked; pass --allow-unknown-place to record them as written",
        ));
    };
    match gazetteer.resolve(&raw) {
        Ok(p) if p.name == raw => Ok((raw, None)),
        Ok(p) => Ok((p.name.clone(), Some(raw))),
        Err(_) if allow_unknown_place => Ok((raw, None)),
        Err(unknown) => Err(Invalid::new(column, &raw, unknown.to_string())),
    }
}

/// The value as it reads back from its JSON text, the form the log stores: a float parsed
/// from the log then compares equal to the mapped one, so unchanged coordinates are not
/// mistaken for changed ones.
fn as_stored<T: Serialize + DeserializeOwned + Clone>(value: &T) -> T {
    serde_json::to_string(value)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| value.clone())
}

/// Where an incident stands in the log.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Active,
    Retracted { seq: u64 },
    Merged { into: String },
}

/// An incident's current state, as far as an import needs it.
#[derive(Debug, Clone)]
struct Current {
    version: u64,
    opened_id: String,
    status: Status,
    details: IncidentDetails,
    /// The source of the dataset's first report on the incident.
    dataset_source: Option<String>,
    /// That source's latest report or correction in force.
    report: Option<CasualtyReport>,
    /// The newest ACLED revision (timestamp) among the dataset's events in force.
    revision: Option<i64>,
}

/// The revision (ACLED timestamp) an event id of ours carries: `acled:KEY:TS:HASH:what`.
fn revision_of(id: &str, prefix: &str) -> Option<i64> {
    let mut parts = id.strip_prefix(prefix)?.strip_prefix(':')?.split(':');
    parts.next()?;
    let rev = parts.next()?;
    // UCDP ids carry no revision (`ucdp:KEY:HASH:what`): their second part is a hash, which
    // may happen to be all digits, so callers ask only for ACLED ids.
    rev.parse().ok()
}

struct Run<'a> {
    dataset: Dataset,
    label: &'a str,
    allow_unknown_place: bool,
    /// The name of the rows file.
    file: String,
    summary: ImportSummary,
    /// Incidents the file holds (by incident id) and their row's revision.
    seen: HashMap<String, Option<i64>>,
    /// A skipped row's id could not be read: a full release cannot say what is absent.
    unknown_ids: bool,
}

impl Run<'_> {
    fn incident_id(&self, key: &str) -> String {
        format!("{}-{key}", self.dataset.prefix())
    }

    fn rows<R: Read>(
        &mut self,
        app: &mut Appender<'_>,
        input: CsvInput<R>,
        options: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let file = input.name.as_str();
        let mut reader = csv::ReaderBuilder::new().from_reader(LineCounter::new(input.reader));
        let header = read_header(&mut reader, file)?;
        let columns = Columns::new(&header, self.dataset, file)?;
        let map_ctx = MapContext {
            label: self.label,
            file: file_name(file),
            allow_unknown_place: self.allow_unknown_place,
        };
        let mut record = csv::StringRecord::new();
        let mut lines: HashMap<String, u64> = HashMap::new();
        // Rows mapped and not yet applied: applied READ_AHEAD at a time, after one read of
        // the log for all their streams and ids (on a database server, one round trip for
        // them instead of three per row). An error is returned only once the rows before it
        // are applied, so that the first error in the file is the one reported.
        let mut ahead: Vec<(Mapped, u64)> = Vec::with_capacity(READ_AHEAD);
        loop {
            let read = reader.read_record(&mut record);
            progress(reader.position().byte());
            match read {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let recoverable = matches!(
                        e.kind(),
                        csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                    );
                    let invalid = csv_invalid(e, file, columns.names(), reader.get_mut());
                    match invalid {
                        Ok(invalid) if options.skip_invalid && recoverable => {
                            self.summary.rows_read += 1;
                            self.unknown_ids = true;
                            self.summary.skipped.push(invalid);
                            continue;
                        }
                        Ok(invalid) => return self.fail(app, &mut ahead, file, invalid.into()),
                        Err(e) => return self.fail(app, &mut ahead, file, e),
                    }
                }
            }
            self.summary.rows_read += 1;
            let line = record_line(&record, reader.get_mut());
            let at = Location::line(file, line);
            let row = Row::new(&columns, &record);
            let mapped = match self.dataset {
                Dataset::Acled => acled::map(&row, &map_ctx),
                Dataset::Ucdp => ucdp::map(&row, &map_ctx),
            };
            let mapped = match mapped.and_then(fits) {
                Ok(m) => m,
                Err(invalid) => {
                    let invalid = invalid.at(at);
                    if !options.skip_invalid {
                        return self.fail(app, &mut ahead, file, invalid.into());
                    }
                    match row.key(self.dataset.id_column()) {
                        Ok(key) => {
                            self.seen.insert(self.incident_id(&key), None);
                        }
                        Err(_) => self.unknown_ids = true,
                    }
                    self.summary.skipped.push(invalid);
                    continue;
                }
            };
            if let Some(first) = lines.insert(mapped.key.clone(), line) {
                let invalid = Invalid::new(
                    self.dataset.id_column(),
                    &mapped.key,
                    format!("this event id is also on line {first}; a file holds each event once"),
                )
                .at(at);
                if !options.skip_invalid {
                    return self.fail(app, &mut ahead, file, invalid.into());
                }
                self.summary.skipped.push(invalid);
                continue;
            }
            self.seen.insert(mapped.incident.clone(), mapped.revision);
            // In the form the log stores (what the ids hash and what is compared with it).
            let mapped = Mapped {
                details: as_stored(&mapped.details),
                report: as_stored(&mapped.report),
                ..mapped
            };
            ahead.push((mapped, line));
            if ahead.len() == READ_AHEAD {
                self.apply_ahead(app, &mut ahead, file)?;
            }
        }
        self.apply_ahead(app, &mut ahead, file)
    }

    /// Applies the rows read ahead (see [`Run::rows`]), in file order, after reading what
    /// they will ask of the log in one go: their incidents' streams, and whether the ids of
    /// the events a new incident's row makes are taken.
    fn apply_ahead(
        &mut self,
        app: &mut Appender<'_>,
        ahead: &mut Vec<(Mapped, u64)>,
        file: &str,
    ) -> Result<()> {
        let bases: Vec<String> = ahead.iter().map(|(m, _)| self.base_id(m)).collect();
        let ids: Vec<String> = bases
            .iter()
            .flat_map(|b| [format!("{b}:incident"), format!("{b}:report")])
            .collect();
        app.prefetch_ids(
            ids.iter().map(String::as_str).collect(),
            ahead.iter().map(|(m, _)| m.incident.as_str()).collect(),
        )?;
        for ((mapped, line), base) in ahead.drain(..).zip(bases) {
            self.apply(app, mapped, base)
                .map_err(|e| e.at(Location::line(file, line)))?;
        }
        Ok(())
    }

    /// Returns `error`, found after the rows read ahead: theirs first, if one has any.
    fn fail(
        &mut self,
        app: &mut Appender<'_>,
        ahead: &mut Vec<(Mapped, u64)>,
        file: &str,
        error: Error,
    ) -> Result<()> {
        self.apply_ahead(app, ahead, file)?;
        Err(error)
    }

    /// The incident's current state, read in the import's transaction through its stream
    /// cache (the events appended earlier in the same import included).
    fn current(&self, app: &mut Appender<'_>, incident: &str) -> Result<Option<Current>> {
        let stream = app.stream(incident)?;
        let parsed: Vec<(u64, String, &Payload, u64)> = stream
            .events
            .iter()
            .map(|e| (e.seq, e.id.clone(), &e.payload, stream.version))
            .collect();
        let retracted: HashMap<&str, u64> = parsed
            .iter()
            .filter_map(|(seq, _, p, _)| match p {
                Payload::EventRetracted(r) => Some((r.event.as_str(), *seq)),
                _ => None,
            })
            .collect();
        let prefix = format!("{}:", self.dataset.prefix());
        let mut current: Option<Current> = None;
        let mut reports: Vec<(String, CasualtyReport)> = Vec::new();
        for (_, id, payload, version) in &parsed {
            let in_force = !retracted.contains_key(id.as_str());
            if let Some(c) = current.as_mut() {
                c.version = *version;
            }
            match payload {
                Payload::IncidentReported(d) => {
                    current = Some(Current {
                        version: *version,
                        opened_id: id.clone(),
                        status: match retracted.get(id.as_str()) {
                            Some(&seq) => Status::Retracted { seq },
                            None => Status::Active,
                        },
                        details: d.clone(),
                        dataset_source: None,
                        report: None,
                        revision: None,
                    });
                }
                Payload::IncidentAmended(a) if in_force => {
                    if let Some(c) = current.as_mut() {
                        c.details.amend(a);
                    }
                }
                Payload::IncidentMerged(m) if in_force => {
                    if let Some(c) = current.as_mut() {
                        if c.status == Status::Active {
                            c.status = Status::Merged {
                                into: m.into.clone(),
                            };
                        }
                    }
                }
                Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r) => {
                    if let Some(c) = current.as_mut() {
                        if c.dataset_source.is_none() && id.starts_with(&prefix) {
                            c.dataset_source = Some(r.source.clone());
                        }
                    }
                    if in_force {
                        reports.push((id.clone(), r.clone()));
                    }
                }
                _ => {}
            }
            if in_force {
                if let (Some(c), Some(rev)) =
                    (current.as_mut(), revision_of(id, self.dataset.prefix()))
                {
                    if self.dataset == Dataset::Acled {
                        c.revision = Some(c.revision.map_or(rev, |r| r.max(rev)));
                    }
                }
            }
        }
        if let Some(c) = current.as_mut() {
            if let Some(source) = &c.dataset_source {
                c.report = reports
                    .into_iter()
                    .rev()
                    .find(|(_, r)| &r.source == source)
                    .map(|(_, r)| r);
            }
        }
        Ok(current)
    }

    fn append(
        &self,
        app: &mut Appender<'_>,
        id: String,
        incident: &str,
        payload: Payload,
    ) -> Result<bool> {
        let appended = app.append(NewEvent {
            id: Some(id),
            incident: incident.to_string(),
            payload,
            expected_version: None,
        })?;
        Ok(matches!(appended, Appended::New { .. }))
    }

    /// The stem of the ids of the events a row makes: the dataset's prefix, the row's key and
    /// revision, and a hash of what it maps to (so a retry, or a race of the same import,
    /// finds its events).
    fn base_id(&self, m: &Mapped) -> String {
        let (details, report) = (m.details.clone(), m.report.clone());
        let hash = {
            let mut h = Sha256::new();
            h.update(Payload::IncidentReported(details).canonical_json());
            h.update(b"\n");
            // The row as mapped before casualty status: the statuses a UCDP row gives are
            // derived from its `killed_breakdown`, which the hash covers, so an event's id
            // stays what it was (a retry or a race of the same import finds its events).
            let mut hashed = report;
            hashed.killed_by_status.clear();
            hashed.wounded_by_status.clear();
            h.update(Payload::CasualtiesReported(hashed).canonical_json());
            hex::encode(&h.finalize()[..4])
        };
        match m.revision {
            Some(rev) => format!("{}:{}:{rev}:{hash}", self.dataset.prefix(), m.key),
            None => format!("{}:{}:{hash}", self.dataset.prefix(), m.key),
        }
    }

    /// Appends what the row `m` (in the form the log stores) changes, its event ids made
    /// from `base` ([`Run::base_id`]).
    fn apply(&mut self, app: &mut Appender<'_>, m: Mapped, base: String) -> Result<()> {
        let (details, report) = (m.details.clone(), m.report.clone());
        let Some(current) = self.current(app, &m.incident)? else {
            self.append(
                app,
                format!("{base}:incident"),
                &m.incident,
                Payload::IncidentReported(details),
            )?;
            self.append(
                app,
                format!("{base}:report"),
                &m.incident,
                Payload::CasualtiesReported(report),
            )?;
            self.summary.new_incidents += 1;
            return Ok(());
        };
        if let (Some(new), Some(old)) = (m.revision, current.revision) {
            if new < old {
                self.summary.outdated += 1;
                return Ok(());
            }
        }
        if !self.takes_revisions(&current, &m, &details, &report) {
            return Ok(());
        }
        let mut changed = false;
        if let Some(amendment) = amendment(&current.details, &details, &m.reason) {
            let id = format!("{base}:amended@{}", current.version);
            if self.append(app, id, &m.incident, Payload::IncidentAmended(amendment))? {
                self.summary.amendments += 1;
                changed = true;
            }
        }
        changed |= self.apply_report(app, &current, &m, &base, report)?;
        if !changed {
            self.summary.unchanged += 1;
        }
        Ok(())
    }

    /// Whether an incident that exists takes this row's revision: not when its first
    /// report was retracted or an editor merged it (counted and noted here).
    fn takes_revisions(
        &mut self,
        current: &Current,
        m: &Mapped,
        details: &IncidentDetails,
        report: &CasualtyReport,
    ) -> bool {
        match &current.status {
            Status::Active => true,
            Status::Retracted { seq } => {
                self.summary.not_applied += 1;
                self.summary.notices.push(format!(
                    "{}: the file has this event, but the incident's first report was retracted (seq {seq}); left retracted",
                    m.incident
                ));
                false
            }
            Status::Merged { into } => {
                let same = amendment(&current.details, details, &m.reason).is_none()
                    && current
                        .report
                        .as_ref()
                        .is_some_and(|old| same_report(old, report));
                if same {
                    self.summary.unchanged += 1;
                } else {
                    self.summary.not_applied += 1;
                    self.summary.notices.push(format!(
                        "{}: merged into `{into}` by an editor; this row's revision is not applied (review it against `{into}`)",
                        m.incident
                    ));
                }
                false
            }
        }
    }

    /// Appends the row's figures: a correction of the dataset's report when they differ,
    /// a report when the incident has none from the dataset. Returns whether it appended.
    fn apply_report(
        &mut self,
        app: &mut Appender<'_>,
        current: &Current,
        m: &Mapped,
        base: &str,
        report: CasualtyReport,
    ) -> Result<bool> {
        let mut changed = false;
        let version = app.stream_version(&m.incident)?;
        match &current.report {
            Some(old) if same_report(old, &report) => {}
            Some(old) => {
                let mut correction = report;
                correction.source = old.source.clone();
                correction.reason = Some(m.reason.clone());
                if correction.source != self.label {
                    correction
                        .attributes
                        .insert("release".into(), self.label.into());
                }
                let id = format!("{base}:corrected@{version}");
                if self.append(
                    app,
                    id,
                    &m.incident,
                    Payload::CasualtiesCorrected(correction),
                )? {
                    self.summary.corrections += 1;
                    changed = true;
                }
            }
            None => {
                let id = format!("{base}:report@{version}");
                if self.append(app, id, &m.incident, Payload::CasualtiesReported(report))? {
                    self.summary.reports += 1;
                    changed = true;
                }
            }
        }
        Ok(changed)
    }

    fn retract(&mut self, app: &mut Appender<'_>, incident: &str, reason: String) -> Result<bool> {
        let Some(current) = self.current(app, incident)? else {
            return Ok(false);
        };
        match current.status {
            Status::Active | Status::Merged { .. } => {
                let id = format!(
                    "{}:{}:retracted@{}",
                    self.dataset.prefix(),
                    incident
                        .strip_prefix(&format!("{}-", self.dataset.prefix()))
                        .unwrap_or(incident),
                    current.version
                );
                let payload = Payload::EventRetracted(Retraction {
                    event: current.opened_id.clone(),
                    reason,
                });
                if self.append(app, id, incident, payload)? {
                    self.summary.retractions += 1;
                } else {
                    self.summary.unchanged += 1;
                }
            }
            Status::Retracted { .. } => self.summary.unchanged += 1,
        }
        Ok(true)
    }

    /// Retracts the dataset's incidents that a full release no longer has.
    fn retract_absent(&mut self, app: &mut Appender<'_>) -> Result<()> {
        if self.unknown_ids {
            self.summary.notices.push(
                "a skipped row's event id could not be read, so no event is retracted as absent from this full release; fix the row and import again".into(),
            );
            return Ok(());
        }
        let prefix = format!("{}:", self.dataset.prefix());
        let incidents = app.reads().opened_with_id_prefix(&prefix)?;
        for incident in incidents {
            if self.seen.contains_key(&incident) {
                continue;
            }
            let Some(current) = self.current(app, &incident)? else {
                continue;
            };
            if matches!(current.status, Status::Retracted { .. }) {
                continue;
            }
            let reason = format!(
                "absent from the full release {} ({}): the dataset no longer has this event",
                self.label,
                self.summary_file_name()
            );
            self.retract(app, &incident, reason)?;
        }
        Ok(())
    }

    fn summary_file_name(&self) -> &str {
        file_name(&self.file)
    }

    /// Retracts the events of an ACLED deleted-events list
    /// (`event_id_cnty,deleted_timestamp`).
    fn deleted<D: Read>(&mut self, app: &mut Appender<'_>, input: CsvInput<D>) -> Result<()> {
        let file = input.name.as_str();
        let mut reader = csv::ReaderBuilder::new().from_reader(LineCounter::new(input.reader));
        let header = read_header(&mut reader, file)?;
        let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        let find = |column: &str| names.iter().position(|n| n == column);
        let Some(id_col) = find("event_id_cnty") else {
            return Err(Invalid::new(
                "event_id_cnty",
                "",
                "the deleted-events list has no `event_id_cnty` column; ACLED's deleted-events export has the columns event_id_cnty,deleted_timestamp",
            )
            .at(Location::line(file, 1))
            .into());
        };
        let ts_col = find("deleted_timestamp");
        let mut record = csv::StringRecord::new();
        let mut not_in_log = Vec::new();
        loop {
            let read = reader.read_record(&mut record);
            if !read.map_err(|e| csv_error(e, file, reader.get_mut()))? {
                break;
            }
            self.summary.deleted_read += 1;
            let line = record_line(&record, reader.get_mut());
            let at = Location::line(file, line);
            let key = record.get(id_col).unwrap_or("").trim();
            if key.is_empty() {
                return Err(Invalid::new("event_id_cnty", "", "is empty").at(at).into());
            }
            let deleted_ts = match ts_col.map(|i| record.get(i).unwrap_or("").trim()) {
                None | Some("") => None,
                Some(v) => Some(v.parse::<i64>().map_err(|_| {
                    Invalid::new("deleted_timestamp", v, "is not a unix time in seconds")
                        .at(at.clone())
                })?),
            };
            let incident = self.incident_id(key);
            // A row of this import that ACLED changed after the deletion wins over it.
            if let (Some(Some(rev)), Some(ts)) = (self.seen.get(&incident), deleted_ts) {
                if *rev > ts {
                    self.summary.notices.push(format!(
                        "{incident}: listed as deleted at {ts}, but the imported file has a later revision ({rev}); not retracted"
                    ));
                    continue;
                }
            }
            let reason = match deleted_ts {
                Some(ts) => format!(
                    "{} deleted this event (deleted_timestamp {ts}, {})",
                    self.label,
                    file_name(file)
                ),
                None => format!("{} deleted this event ({})", self.label, file_name(file)),
            };
            if !self.retract(app, &incident, reason).map_err(|e| e.at(at))? {
                not_in_log.push(incident);
            }
        }
        if !not_in_log.is_empty() {
            let shown: Vec<&str> = not_in_log.iter().take(5).map(String::as_str).collect();
            self.summary.notices.push(format!(
                "{} deleted event(s) are not in the log (nothing to retract): {}{}",
                not_in_log.len(),
                shown.join(", "),
                if not_in_log.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
        Ok(())
    }
}

/// Refuses a row whose events would exceed the log's payload limit, as a malformed row (so
/// `--skip-invalid` can skip it) rather than as a failed append.
fn fits(m: Mapped) -> Result<Mapped, Invalid> {
    let sizes = [
        Payload::IncidentReported(m.details.clone())
            .canonical_json()
            .len(),
        Payload::CasualtiesReported(m.report.clone())
            .canonical_json()
            .len(),
    ];
    match sizes.into_iter().max() {
        Some(size) if size > MAX_PAYLOAD_BYTES => Err(Invalid::new(
            "row",
            "",
            format!("its values make an event of {size} bytes, more than the log's limit of {MAX_PAYLOAD_BYTES} bytes"),
        )),
        _ => Ok(m),
    }
}

/// The last component of a path, for reasons recorded in the log.
fn file_name(path: &str) -> &str {
    std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}

/// The header record of a CSV file.
fn read_header<R: Read>(
    reader: &mut csv::Reader<LineCounter<R>>,
    file: &str,
) -> Result<csv::StringRecord> {
    match reader.headers() {
        Ok(header) => Ok(header.clone()),
        Err(e) => Err(csv_error(e, file, reader.get_mut())),
    }
}

/// The physical line where a record read through `lines` starts (0 when unknown).
fn record_line<R: Read>(record: &csv::StringRecord, lines: &mut LineCounter<R>) -> u64 {
    record.position().map_or(0, |p| lines.line_at(p.byte()))
}

/// A CSV reading error as a refusal at the record's line.
fn csv_error<R: Read>(e: csv::Error, file: &str, lines: &mut LineCounter<R>) -> Error {
    match csv_invalid(e, file, &[], lines) {
        Ok(invalid) => invalid.into(),
        Err(e) => e,
    }
}

/// A CSV reading error as a refusal at the physical line where the record starts (`Err` for
/// I/O errors). `columns` names the fields (the header), when known.
fn csv_invalid<R: Read>(
    e: csv::Error,
    file: &str,
    columns: &[String],
    lines: &mut LineCounter<R>,
) -> std::result::Result<Invalid, Error> {
    let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
    let at = if line > 0 {
        Location::line(file, line)
    } else {
        Location {
            file: Some(file.to_string()),
            line: None,
        }
    };
    let invalid = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => Invalid::new(
            columns
                .get(err.field())
                .cloned()
                .unwrap_or_else(|| format!("field {}", err.field() + 1)),
            "",
            format!(
                "is not valid UTF-8 (bad byte after {} bytes); save the file as UTF-8",
                err.valid_up_to()
            ),
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Invalid::new(
            "row",
            "",
            format!("has {len} fields where the header has {expected_len} (an unquoted comma or a stray quote?)"),
        ),
        csv::ErrorKind::Io(io) => {
            return Err(Error::Io {
                path: file.into(),
                cause: std::io::Error::new(io.kind(), io.to_string()),
            })
        }
        _ => Invalid::new("row", "", e.to_string()),
    };
    Ok(invalid.at(at))
}

/// The amendment that brings `current` to `new`, if anything changed. A field the row leaves
/// empty is not cleared (an amendment cannot clear one); the raw columns in the attributes
/// still show it.
fn amendment(current: &IncidentDetails, new: &IncidentDetails, reason: &str) -> Option<Amendment> {
    fn changed<T: PartialEq + Clone>(old: &Option<T>, new: &Option<T>) -> Option<T> {
        match new {
            Some(v) if old.as_ref() != Some(v) => Some(v.clone()),
            _ => None,
        }
    }
    let mut a = Amendment {
        reason: reason.to_string(),
        ..Amendment::default()
    };
    if current.date != new.date {
        a.date = Some(new.date);
    }
    if current.province != new.province || current.province_as_given != new.province_as_given {
        a.province = Some(new.province.clone());
        a.province_as_given = new.province_as_given.clone();
    }
    if current.category != new.category {
        a.category = Some(new.category.clone());
    }
    a.country = changed(&current.country, &new.country);
    a.district = changed(&current.district, &new.district);
    a.locality = changed(&current.locality, &new.locality);
    a.coordinates = changed(&current.coordinates, &new.coordinates);
    a.target = changed(&current.target, &new.target);
    a.perpetrator = changed(&current.perpetrator, &new.perpetrator);
    a.summary = changed(&current.summary, &new.summary);
    let mut attributes = BTreeMap::new();
    for (k, v) in &new.attributes {
        if current.attributes.get(k) != Some(v) {
            attributes.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &current.attributes {
        if !v.is_null() && !new.attributes.contains_key(k) {
            attributes.insert(k.clone(), serde_json::Value::Null);
        }
    }
    a.attributes = attributes;
    let unchanged = Amendment {
        reason: a.reason.clone(),
        ..Amendment::default()
    };
    (a != unchanged).then_some(a)
}

/// Whether two reports by the dataset say the same: figures, note, citation and attributes,
/// leaving aside when it was published, under which label, why, and ACLED's `timestamp`
/// (which changes whenever anything in the row does).
fn same_report(old: &CasualtyReport, new: &CasualtyReport) -> bool {
    let strip = |r: &CasualtyReport| {
        let mut r = r.clone();
        r.source = String::new();
        r.published = None;
        r.reason = None;
        r.attributes.remove("timestamp");
        r.attributes.remove("release");
        r
    };
    strip(old) == strip(new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::event::Coordinates;

    fn details() -> IncidentDetails {
        IncidentDetails {
            date: "2022-03-18".parse().unwrap(),
            country: Some("Afghanistan".into()),
            province: "Kabul".into(),
            province_as_given: None,
            district: Some("Paghman".into()),
            locality: Some("Paghman".into()),
            coordinates: Some(Coordinates {
                lat: 34.5884,
                lon: 68.958,
                precision: Some("geo_precision:1".into()),
            }),
            category: "Armed clash".into(),
            target: None,
            perpetrator: Some("National Resistance Front".into()),
            summary: None,
            source: Some("ACLED".into()),
            citation: None,
            attributes: [
                ("inter1".to_string(), serde_json::json!("2")),
                ("assoc_actor_1".to_string(), serde_json::json!("X")),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn an_amendment_holds_only_what_changed_and_folds_back_to_the_new_details() {
        // Folded with the views' fold (`IncidentDetails::amend`): an attribute the new
        // revision no longer has is amended to `null`, and kept as `null`.
        let old = details();
        assert_eq!(amendment(&old, &old, "r"), None);
        let mut new = details();
        new.date = "2022-03".parse().unwrap();
        new.province = "Helmand".into();
        new.province_as_given = Some("Hilmand".into());
        new.attributes
            .insert("inter1".into(), serde_json::json!("State forces"));
        new.attributes.remove("assoc_actor_1");
        let a = amendment(&old, &new, "ACLED revision (timestamp 2)").unwrap();
        assert_eq!(a.district, None, "unchanged fields are left out");
        assert_eq!(a.category, None);
        assert_eq!(a.province_as_given.as_deref(), Some("Hilmand"));
        assert_eq!(a.attributes["assoc_actor_1"], serde_json::Value::Null);
        let mut folded = old.clone();
        folded.amend(&a);
        let mut expected = new.clone();
        expected
            .attributes
            .insert("assoc_actor_1".into(), serde_json::Value::Null);
        assert_eq!(folded, expected);
    }

    #[test]
    fn an_emptied_field_is_not_cleared() {
        let old = details();
        let mut new = details();
        new.district = None;
        assert_eq!(amendment(&old, &new, "r"), None);
    }

    #[test]
    fn a_report_differs_by_its_figures_not_its_timestamp() {
        let report = |killed: u64, ts: &str| CasualtyReport {
            source: "ACLED".into(),
            published: None,
            killed: Some(crate::Figure::Exact(killed)),
            wounded: None,
            attackers_killed: None,
            killed_breakdown: Default::default(),
            killed_by_status: Default::default(),
            wounded_by_status: Default::default(),
            note: None,
            citation: None,
            reason: None,
            via: None,
            attributes: [("timestamp".to_string(), serde_json::json!(ts))]
                .into_iter()
                .collect(),
        };
        assert!(same_report(&report(3, "1"), &report(3, "2")));
        assert!(!same_report(&report(3, "1"), &report(5, "1")));
    }

    #[test]
    fn revisions_are_read_from_acled_ids() {
        assert_eq!(
            revision_of("acled:AFG1:1658822400:b5ed5664:corrected@2", "acled"),
            Some(1_658_822_400)
        );
        assert_eq!(revision_of("acled:AFG1:retracted@2", "acled"), None);
        assert_eq!(revision_of("0190f5c2-0000", "acled"), None);
    }

    #[test]
    fn dates_in_the_forms_the_datasets_write() {
        let d = |s: &str| parse_date(s).map(|d| d.to_string());
        assert_eq!(d("2022-01-05").as_deref(), Some("2022-01-05"));
        assert_eq!(d("2022-01-05 00:00:00.000").as_deref(), Some("2022-01-05"));
        assert_eq!(d("05 January 2022").as_deref(), Some("2022-01-05"));
        assert_eq!(d("05-January-2022").as_deref(), Some("2022-01-05"));
        assert_eq!(
            d("2022-01-05 13:00:00"),
            None,
            "a time of day is not a date"
        );
        assert_eq!(d("2022-02-30"), None);
        assert_eq!(
            d("05/01/2022"),
            None,
            "ambiguous day/month order is refused"
        );
    }
}
