//! The UCDP GED mapping: one event row -> an incident and the release's report on it.
//!
//! | UCDP GED column | chronicle |
//! |---|---|
//! | `id` | incident id `ucdp-<id>` |
//! | `date_start`, `date_end` | `date`: a day, the calendar month or year the span covers exactly, else the span |
//! | `country` | `country` |
//! | `adm_1` | `province` (gazetteer spelling; raw in `province_as_given`; empty: `unknown`) |
//! | `adm_2` | `district` |
//! | `where_coordinates` | `locality`, when `where_prec` is 1 or 2 (an exact place, or within 25 km) |
//! | `latitude`, `longitude`, `where_prec` | `coordinates` (precision `where_prec:N`) |
//! | `type_of_violence` | `category`: 1 state-based conflict, 2 non-state conflict, 3 one-sided violence |
//! | `side_a` | `perpetrator` |
//! | `low`, `best`, `high` | report `killed`: exact when all equal, else `min-max~best` |
//! | `deaths_a`, `deaths_b`, `deaths_civilians`, `deaths_unknown` | report `killed_breakdown`: `side_a`, `side_b`, `civilians`, `unknown`; `killed_by_status`: `civilians`, `unknown` (the sides are read as statuses by the views, by the sides' names) |
//! | `source_article` | report `citation` |
//! | `low`, `best`, `high`, `number_of_sources`, `source_office`, `source_date`, `source_headline`, `source_original` | report attributes, verbatim |
//! | every other column (precision codes included) | incident attributes, verbatim |

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::{province, MapContext, Mapped, Row};
use crate::domain::event::{CasualtyReport, Coordinates, IncidentDetails};
use crate::domain::figure::Figure;
use crate::domain::time::{DatePrecision, IncidentDate};
use crate::error::Invalid;

/// Columns the mapping cannot do without.
pub const REQUIRED: &[&str] = &[
    "id",
    "type_of_violence",
    "side_a",
    "country",
    "adm_1",
    "date_start",
    "date_end",
    "best",
    "low",
    "high",
];

/// Columns mapped to chronicle fields or to the report, so not repeated in the incident's
/// attributes.
const MAPPED: &[&str] = &[
    "id",
    "side_a",
    "country",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "low",
    "high",
    "source_article",
    "number_of_sources",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
];

/// Columns kept verbatim in the report's attributes.
const REPORT_ATTRIBUTES: &[&str] = &[
    "low",
    "best",
    "high",
    "number_of_sources",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
];

/// The breakdown of deaths: column and key.
const BREAKDOWN: [(&str, &str); 4] = [
    ("deaths_a", "side_a"),
    ("deaths_b", "side_b"),
    ("deaths_civilians", "civilians"),
    ("deaths_unknown", "unknown"),
];

fn last_of_month(d: NaiveDate) -> Option<NaiveDate> {
    d.with_day(1)?
        .checked_add_months(chrono::Months::new(1))?
        .pred_opt()
}

/// The incident date. UCDP states the span (`date_start`..`date_end`) whatever its
/// `date_prec` (1 day ... 5 year or longer), so the span is kept exactly: as a day, as the
/// calendar month or year when it is exactly one, else as a range of days.
fn date(row: &Row<'_>) -> Result<IncidentDate, Invalid> {
    let start = row.date("date_start")?;
    let end = row.date("date_end")?;
    if end < start {
        return Err(Invalid::new(
            "date_end",
            row.raw("date_end"),
            format!("is before date_start ({start})"),
        ));
    }
    let precision = if start == end {
        DatePrecision::Day
    } else if start.day() == 1 && Some(end) == last_of_month(start) {
        DatePrecision::Month
    } else if start.ordinal() == 1
        && end.year() == start.year()
        && end.month() == 12
        && end.day() == 31
    {
        DatePrecision::Year
    } else {
        DatePrecision::Range
    };
    Ok(IncidentDate {
        start,
        end,
        precision,
    })
}

/// UCDP's `low`/`best`/`high` as one figure. The columns are kept as given even when out of
/// order (real rows have best 18, low 18, high 17): the range runs from the smaller of low
/// and high to the larger, with best as given.
pub fn killed(low: u64, best: u64, high: u64) -> Figure {
    if low == best && best == high {
        Figure::Exact(best)
    } else {
        Figure::Range {
            low: low.min(high),
            high: low.max(high),
            best: Some(best),
        }
    }
}

/// Maps one UCDP GED row.
pub fn map(row: &Row<'_>, ctx: &MapContext<'_>) -> Result<Mapped, Invalid> {
    let key = row.key("id")?;
    let category = match row.raw("type_of_violence").trim() {
        "1" => "state-based conflict",
        "2" => "non-state conflict",
        "3" => "one-sided violence",
        other => {
            return Err(Invalid::new(
                "type_of_violence",
                other,
                "UCDP's type_of_violence is 1 (state-based), 2 (non-state) or 3 (one-sided)",
            ))
        }
    };
    let date = date(row)?;
    let country = row.required_name("country")?;
    let (province, province_as_given) = province(
        &country,
        row.name("adm_1")?,
        "adm_1",
        ctx.allow_unknown_place,
    )?;
    let where_prec = row.name("where_prec")?;
    let coordinates = row
        .point("latitude", "longitude")?
        .map(|(lat, lon)| Coordinates {
            lat,
            lon,
            precision: where_prec.as_ref().map(|p| format!("where_prec:{p}")),
        });
    let locality = match where_prec.as_deref() {
        Some("1" | "2") => row.name("where_coordinates")?,
        _ => None,
    };
    let killed = killed(row.count("low")?, row.count("best")?, row.count("high")?);
    let mut killed_breakdown = BTreeMap::new();
    for (column, group) in BREAKDOWN {
        if !row.raw(column).trim().is_empty() {
            killed_breakdown.insert(group.to_string(), Figure::Exact(row.count(column)?));
        }
    }
    let details = IncidentDetails {
        date,
        country: Some(country),
        province,
        province_as_given,
        district: row.name("adm_2")?,
        locality,
        coordinates,
        category: category.to_string(),
        target: None,
        perpetrator: row.text("side_a")?,
        summary: None,
        source: Some(ctx.label.to_string()),
        citation: None,
        attributes: row.attributes(MAPPED),
    };
    let report = CasualtyReport {
        source: ctx.label.to_string(),
        published: None,
        killed: Some(killed),
        wounded: None,
        attackers_killed: None,
        killed_by_status: crate::domain::status::of_breakdown(&killed_breakdown),
        killed_breakdown,
        wounded_by_status: Default::default(),
        note: None,
        citation: row.text("source_article")?,
        reason: None,
        via: None,
        attributes: row.only(REPORT_ATTRIBUTES),
    };
    Ok(Mapped {
        incident: format!("ucdp-{key}"),
        key,
        revision: None,
        details,
        report,
        reason: format!("{} revision ({})", ctx.label, ctx.file),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::Columns;
    use super::*;
    use crate::import::Dataset;

    const HEADER: &str = "id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,conflict_new_id,conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,side_a_new_id,side_a,side_b_dset_id,side_b_new_id,side_b,number_of_sources,source_article,source_office,source_date,source_headline,source_original,where_prec,where_coordinates,where_description,adm_1,adm_2,latitude,longitude,geom_wkt,priogrid_gid,country,country_id,region,event_clarity,date_prec,date_start,date_end,deaths_a,deaths_b,deaths_civilians,deaths_unknown,best,high,low,gwnoa,gwnob";

    fn row(
        id: &str,
        adm_1: &str,
        start: &str,
        end: &str,
        deaths: [u64; 4],
        best_high_low: [u64; 3],
    ) -> String {
        let [a, b, c, u] = deaths;
        let [best, high, low] = best_high_low;
        format!("{id},AFG-2021-1-735-1927.1,2021,1,Clear,1,333,333,Afghanistan: Government,735,735,Government of Afghanistan - Taleban,130,130,Government of Afghanistan,303,303,Taleban,2,\"Article one,\nline two\",Office,2021-06-23,Headline,Original,1,Kandahar town,desc,{adm_1},Kandahar district,31.6,65.7,POINT (65.7 31.6),175452,Afghanistan,700,Asia,1,2,{start},{end},{a},{b},{c},{u},{best},{high},{low},700,")
    }

    fn map_text(line: &str) -> Result<Mapped, Invalid> {
        let text = format!("{HEADER}\n{line}\n");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let columns = Columns::new(reader.headers().unwrap(), Dataset::Ucdp, "g.csv").unwrap();
        let record = reader.records().next().unwrap().unwrap();
        let ctx = MapContext {
            label: "UCDP GED 23.1",
            file: "g.csv",
            allow_unknown_place: false,
        };
        map(&Row::new(&columns, &record), &ctx)
    }

    #[test]
    fn out_of_order_figures_are_kept_as_given() {
        // AFG-2021-1-735-1927.1: best 18, low 18, high 17.
        let m = map_text(&row(
            "406097",
            "Hilmand province",
            "2021-06-22",
            "2021-06-23",
            [18, 0, 0, 0],
            [18, 17, 18],
        ))
        .unwrap();
        assert_eq!(m.report.killed.unwrap().to_string(), "17-18~18");
        assert_eq!(m.report.attributes["low"], "18");
        assert_eq!(m.report.attributes["high"], "17");
        assert_eq!(m.report.killed_breakdown["side_a"], Figure::Exact(18));
        assert_eq!(m.report.killed_breakdown["civilians"], Figure::Exact(0));
        assert_eq!(m.report.citation.as_deref(), Some("Article one,\nline two"));
        assert_eq!(m.details.province, "Helmand");
        assert_eq!(
            m.details.province_as_given.as_deref(),
            Some("Hilmand province")
        );
        assert_eq!(m.details.date.to_string(), "2021-06-22/2021-06-23");
        assert_eq!(m.details.locality.as_deref(), Some("Kandahar town"));
        assert_eq!(
            m.details.perpetrator.as_deref(),
            Some("Government of Afghanistan")
        );
        assert_eq!(m.details.category, "state-based conflict");
        assert_eq!(m.reason, "UCDP GED 23.1 revision (g.csv)");
        assert_eq!(killed(3, 3, 3), Figure::Exact(3));
        assert_eq!(killed(12, 11, 12).to_string(), "12-12~11");
    }

    #[test]
    fn spans_keep_their_precision() {
        let d = |s: &str, e: &str| {
            map_text(&row("1", "Zabul province", s, e, [0; 4], [0; 3]))
                .unwrap()
                .details
                .date
                .to_string()
        };
        assert_eq!(d("2020-07-10", "2020-07-10"), "2020-07-10");
        assert_eq!(d("2020-02-01", "2020-02-29"), "2020-02");
        assert_eq!(d("2019-01-01", "2019-12-31"), "2019");
        assert_eq!(d("2011-08-20", "2011-11-20"), "2011-08-20/2011-11-20");
        assert_eq!(
            d("2020-07-10 00:00:00.000", "2020-07-11 00:00:00.000"),
            "2020-07-10/2020-07-11"
        );
        let e = map_text(&row(
            "1",
            "Zabul province",
            "2020-07-10",
            "2020-07-09",
            [0; 4],
            [0; 3],
        ))
        .unwrap_err();
        assert_eq!(e.field, "date_end");
    }

    #[test]
    fn country_wide_events_have_an_unknown_province() {
        let m = map_text(&row(
            "205370",
            "",
            "2015-12-09",
            "2015-12-10",
            [0, 4, 0, 0],
            [4, 4, 4],
        ))
        .unwrap();
        assert_eq!(m.details.province, "unknown");
        assert_eq!(m.details.province_as_given, None);
    }

    #[test]
    fn bad_values_name_their_column() {
        let e = map_text(&row(
            "x y",
            "Zabul province",
            "2020-07-10",
            "2020-07-10",
            [0; 4],
            [0; 3],
        ))
        .unwrap_err();
        assert_eq!(e.field, "id");
        let text = row(
            "1",
            "Zabul province",
            "2020-07-10",
            "2020-07-10",
            [0; 4],
            [0; 3],
        )
        .replace(",Clear,1,", ",Clear,4,");
        assert_eq!(map_text(&text).unwrap_err().field, "type_of_violence");
    }
}
