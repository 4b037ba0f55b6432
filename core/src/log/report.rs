//! `chronicle report`: one source's figures on an incident, which open the incident when it
//! is new. Whether it is new is decided here, inside the write transaction, so two writers
//! cannot both open it. And the one-event commands (`correct`, `amend`, ...), so that both
//! kinds of command take `--id ID` the same way: a retried command finds its id in the log
//! and appends nothing.

use crate::domain::event::{CasualtyReport, Coordinates, IncidentDetails, NewEvent, Payload};
use crate::domain::rules::{self, MAX_ID_LEN};
use crate::domain::time::IncidentDate;
use crate::error::{Error, Invalid, Result};
use crate::log::{AppendContext, Appender, EventLog};
use crate::record::Appended;

/// The details a report may carry to open the incident it names. Refusals name the fields
/// as `chronicle report`'s flags (`--date`, `--province`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpeningDetails {
    /// When it happened, as given (parsed only when the incident is new).
    pub date: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Province (admin 1).
    pub province: Option<String>,
    /// District (admin 2).
    pub district: Option<String>,
    /// Town, village or place.
    pub locality: Option<String>,
    /// Where.
    pub coordinates: Option<Coordinates>,
    /// Category.
    pub category: Option<String>,
    /// Who or what was targeted.
    pub target: Option<String>,
    /// Alleged perpetrator.
    pub perpetrator: Option<String>,
    /// What happened.
    pub summary: Option<String>,
}

impl OpeningDetails {
    /// Whether any detail is given.
    pub fn any(&self) -> bool {
        self.date.is_some()
            || self.country.is_some()
            || self.province.is_some()
            || self.district.is_some()
            || self.locality.is_some()
            || self.coordinates.is_some()
            || self.category.is_some()
            || self.target.is_some()
            || self.perpetrator.is_some()
            || self.summary.is_some()
    }

    /// The first report of a new incident, credited to the report's source.
    fn opening(&self, incident: &str, report: &CasualtyReport) -> Result<IncidentDetails> {
        let missing: Vec<&str> = [
            ("--date", self.date.is_none()),
            ("--province", self.province.is_none()),
            ("--category", self.category.is_none()),
        ]
        .into_iter()
        .filter_map(|(flag, missing)| missing.then_some(flag))
        .collect();
        let (Some(date), Some(province), Some(category)) =
            (&self.date, &self.province, &self.category)
        else {
            return Err(Invalid::new(
                "--incident",
                incident,
                format!("no such incident yet; to report a new one also give {} (or check the id with `chronicle log`)", missing.join(", ")),
            )
            .into());
        };
        let date: IncidentDate = date.parse().map_err(|e: crate::domain::time::TimeError| {
            Invalid::new("--date", date, e.to_string())
        })?;
        Ok(IncidentDetails {
            date,
            country: self.country.clone(),
            province: province.clone(),
            province_as_given: None,
            district: self.district.clone(),
            locality: self.locality.clone(),
            coordinates: self.coordinates.clone(),
            category: category.clone(),
            target: self.target.clone(),
            perpetrator: self.perpetrator.clone(),
            summary: self.summary.clone(),
            source: Some(report.source.clone()),
            citation: report.citation.clone(),
            attributes: Default::default(),
        })
    }
}

impl EventLog {
    /// Appends `report` on `incident` in one transaction. When the incident does not exist
    /// yet, `details` must give its date, province and category, and an `incident_reported`
    /// event opens it first; when it exists, no details may be given (they are changed with
    /// an amendment). `expected_version` guards the first event appended.
    ///
    /// With `id` (`--id ID`), the report is recorded under `ID` and the opening event, if
    /// any, under `ID-opening`. When an event with that id is already in the log, the
    /// command is a retry, decided before anything else: it appends nothing when it would
    /// append the same events as the first run, and is [`Error::IdConflict`] otherwise. So a
    /// retry whose first run opened the incident is recognised, not refused because the
    /// incident now exists.
    pub fn report(
        &mut self,
        ctx: &AppendContext,
        id: Option<&str>,
        incident: &str,
        report: CasualtyReport,
        details: &OpeningDetails,
        expected_version: Option<u64>,
    ) -> Result<Vec<Appended>> {
        if let Some(id) = id {
            command_id(id)?;
            if details.any() && id.len() + OPENING_SUFFIX.len() > MAX_ID_LEN {
                return Err(Invalid::new(
                    "--id",
                    id,
                    format!(
                        "is longer than {} bytes: a report that opens its incident records the opening under ID{OPENING_SUFFIX}, and an event id is at most {MAX_ID_LEN} bytes",
                        MAX_ID_LEN - OPENING_SUFFIX.len()
                    ),
                )
                .into());
            }
        }
        self.transaction(ctx, |tx| {
            if let Some(id) = id {
                if let Some(first) = tx.reads().event_by_id(id)? {
                    return retried(tx, id, first.seq, incident, report, details);
                }
            }
            let mut out = Vec::new();
            let mut expected = expected_version;
            if tx.stream_version(incident)? > 0 {
                if details.any() {
                    return Err(Invalid::new(
                        "--date/--province/...",
                        incident,
                        "this incident already exists, so its details cannot be given with a report; change them with `chronicle amend`",
                    )
                    .into());
                }
            } else {
                let opening = details.opening(incident, &report)?;
                out.push(tx.append(NewEvent {
                    id: id.map(opening_id),
                    incident: incident.to_string(),
                    payload: Payload::IncidentReported(opening),
                    expected_version: expected.take(),
                })?);
            }
            out.push(tx.append(NewEvent {
                id: id.map(str::to_string),
                incident: incident.to_string(),
                payload: Payload::CasualtiesReported(report),
                expected_version: expected,
            })?);
            Ok(out)
        })
    }

    /// Appends the one event of a command (`correct`, `amend`, `responsibility`, `retract`,
    /// `merge`) in one transaction, under `id` when given (`--id`). The id is looked up
    /// before the event is validated against the log, so a retry of a command whose first
    /// run succeeded is [`Appended::Duplicate`] even where the command would now be refused
    /// (a retraction already made, a merge already done, a version that moved on); the same
    /// id with other content is [`Error::IdConflict`].
    pub fn append_command(
        &mut self,
        ctx: &AppendContext,
        id: Option<&str>,
        incident: &str,
        payload: Payload,
        expected_version: Option<u64>,
    ) -> Result<Appended> {
        if let Some(id) = id {
            command_id(id)?;
        }
        self.transaction(ctx, |tx| {
            tx.append(NewEvent {
                id: id.map(str::to_string),
                incident: incident.to_string(),
                payload,
                expected_version,
            })
        })
    }
}

/// What `report --id ID` appends to the opening `incident_reported` event's id.
const OPENING_SUFFIX: &str = "-opening";

/// The id of the `incident_reported` event that a report with `--id ID` records when it
/// opens its incident: `ID-opening`.
fn opening_id(id: &str) -> String {
    format!("{id}{OPENING_SUFFIX}")
}

/// An id given with `--id`: an event id (not empty, no blanks at its ends, no control
/// characters, at most 100 bytes), refused under the flag's name.
fn command_id(id: &str) -> Result<()> {
    rules::event_id(id).map_err(|mut e| {
        e.field = "--id".into();
        e.into()
    })
}

/// A report retried: `id` is already in the log at `seq`. The retry is the same command
/// when it would append the same events: the same report under `id` and, if the first run
/// opened the incident (its opening recorded just before, under [`opening_id`]), the same
/// details; then each is [`Appended::Duplicate`] and nothing is appended. Details given now
/// but not then, or then but not now, or different, are [`Error::IdConflict`].
fn retried(
    tx: &mut Appender<'_>,
    id: &str,
    seq: u64,
    incident: &str,
    report: CasualtyReport,
    details: &OpeningDetails,
) -> Result<Vec<Appended>> {
    let conflict = || Error::IdConflict {
        location: Default::default(),
        id: id.to_string(),
        seq,
    };
    let opening = opening_id(id);
    let opened = tx
        .reads()
        .event_by_id(&opening)?
        .filter(|e| e.seq + 1 == seq);
    let mut out = Vec::new();
    match (details.any(), opened) {
        (true, Some(_)) => {
            let details = details.opening(incident, &report).map_err(|_| conflict())?;
            out.push(tx.append(NewEvent {
                id: Some(opening),
                incident: incident.to_string(),
                payload: Payload::IncidentReported(details),
                expected_version: None,
            })?);
        }
        (false, None) => {}
        _ => return Err(conflict()),
    }
    out.push(tx.append(NewEvent {
        id: Some(id.to_string()),
        incident: incident.to_string(),
        payload: Payload::CasualtiesReported(report),
        expected_version: None,
    })?);
    Ok(out)
}
