//! `chronicle report`: one source's figures on an incident, which open the incident when it
//! is new. Whether it is new is decided here, inside the write transaction, so two writers
//! cannot both open it.

use crate::domain::event::{CasualtyReport, Coordinates, IncidentDetails, NewEvent, Payload};
use crate::domain::time::IncidentDate;
use crate::error::{Invalid, Result};
use crate::log::{AppendContext, EventLog};
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
    pub fn report(
        &mut self,
        ctx: &AppendContext,
        incident: &str,
        report: CasualtyReport,
        details: &OpeningDetails,
        expected_version: Option<u64>,
    ) -> Result<Vec<Appended>> {
        self.transaction(ctx, |tx| {
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
                    id: None,
                    incident: incident.to_string(),
                    payload: Payload::IncidentReported(opening),
                    expected_version: expected.take(),
                })?);
            }
            out.push(tx.append(NewEvent {
                id: None,
                incident: incident.to_string(),
                payload: Payload::CasualtiesReported(report),
                expected_version: expected,
            })?);
            Ok(out)
        })
    }
}
