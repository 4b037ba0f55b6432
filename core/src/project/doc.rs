//! The JSON document of the views: `chronicle.views/1`.
//!
//! One [`Document`] is what `chronicle export` writes; `show --json` is one [`Incident`];
//! `timeline --json` a list of them; `summary --json` a list of [`Group`]s. The shape is a
//! contract shared with export plugins (the `chronicle-plugin-sdk` crate): fields are never
//! renamed or removed within `chronicle.views/1`; absent values are written as `null`, never
//! left out.

use serde::{Deserialize, Serialize};

use crate::figure::Figure;

/// The schema name and version written in [`Document::schema`].
pub const SCHEMA: &str = "chronicle.views/1";

/// The whole export document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Which log, which point in it, which policy.
    pub provenance: Provenance,
    /// The incidents, sorted by `date_start`, then incident id.
    pub incidents: Vec<Incident>,
    /// Totals over `incidents`.
    pub totals: Totals,
}

/// Where a document's numbers come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The sequence number of the last event the view includes (0 for an empty log).
    pub log_seq: u64,
    /// The hash of event `log_seq` (hex), `null` for an empty log: with `log_seq` it is a
    /// checkpoint that `chronicle verify --checkpoint` checks.
    pub log_hash: Option<String>,
    /// The point in the log the view was taken at.
    pub point: PointDoc,
    /// The reconciliation policy.
    pub policy: PolicyDoc,
    /// The program that wrote the document (`chronicle 0.1.0`).
    pub generator: String,
    /// The filters applied; absent filters are left out (`{}` when none).
    pub filters: FiltersDoc,
}

/// A point in the log, as written in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointDoc {
    /// `head`, `at_seq`, `as_of` or `known_by`.
    pub kind: String,
    /// `seq:N` for `at_seq`, an RFC 3339 UTC time for `as_of`/`known_by`, `null` for `head`.
    pub value: Option<String>,
}

/// The reconciliation policy, as written in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDoc {
    /// `median`, `min`, `max`, `latest` or `source:NAME`.
    pub best: String,
}

/// The filters of a view, as written in a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiltersDoc {
    /// Incidents starting on or after this day (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Incidents starting on or before this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Only this province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Only this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Only incidents this source reported on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A reconciled count: the span the sources allow and a best value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// The smallest figure any source allows; `null` when no source gives one.
    pub low: Option<u64>,
    /// The best value under the policy; `null` when no source gives one.
    pub best: Option<u64>,
    /// The largest figure the sources give; `null` when no source gives one.
    pub high: Option<u64>,
    /// True when `high` comes from an "at least N" figure: the true count may be higher
    /// (written `N+`).
    pub open_high: bool,
}

/// Totals over a set of incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// How many incidents.
    pub incidents: u64,
    /// Sums of the incidents' killed lows, bests and highs.
    pub killed: Range,
    /// Sums of the incidents' wounded lows, bests and highs.
    pub wounded: Range,
    /// The same per province, sorted by province.
    pub by_province: Vec<Group>,
}

/// A group of a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The province, month (`2020-07`), category or source.
    pub key: String,
    /// How many incidents are in the group.
    pub incidents: u64,
    /// Sum of killed.
    pub killed: Range,
    /// Sum of wounded.
    pub wounded: Range,
}

/// A point on the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// Coordinates with their precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordinatesDoc {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// The precision as recorded, or `null`.
    pub precision: Option<String>,
}

/// One incident as the views show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The incident id.
    pub incident: String,
    /// The date as given (`2020-07-30`, `2020-07`, `2020-W29`, `2020-07-14/2020-07-16`).
    pub date: String,
    /// The first day it may have happened on.
    pub date_start: String,
    /// The last day it may have happened on.
    pub date_end: String,
    /// `day`, `week`, `month`, `year` or `range`.
    pub date_precision: String,
    /// The country, if recorded.
    pub country: Option<String>,
    /// The province.
    pub province: String,
    /// The province's ISO 3166-2 code, from the gazetteer.
    pub province_code: Option<String>,
    /// The province's centroid, from the gazetteer.
    pub province_centroid: Option<LatLon>,
    /// The district.
    pub district: Option<String>,
    /// The town, village or place.
    pub locality: Option<String>,
    /// Coordinates.
    pub coordinates: Option<CoordinatesDoc>,
    /// What kind of incident.
    pub category: String,
    /// Who or what was targeted.
    pub target: Option<String>,
    /// Who is alleged to have done it.
    pub perpetrator: Option<String>,
    /// What happened.
    pub summary: Option<String>,
    /// Reconciled killed (not counting attackers).
    pub killed: Range,
    /// Reconciled wounded.
    pub wounded: Range,
    /// Reconciled attackers killed.
    pub attackers_killed: Range,
    /// True when two sources' point figures differ for killed, wounded or attackers killed.
    pub disputed: bool,
    /// Each source's current figures, in the order the sources first reported.
    pub sources: Vec<SourceFigures>,
    /// Claims and denials of responsibility, in log order.
    pub responsibility: Vec<ResponsibilityDoc>,
    /// Incidents merged into this one, by id.
    pub merged_from: Vec<String>,
    /// The sequence number of the last event that changed this incident's view.
    pub last_seq: u64,
}

/// A source's current figures on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFigures {
    /// The source.
    pub source: String,
    /// When the source published its current figures (of its latest report or correction).
    pub published: Option<String>,
    /// Killed.
    pub killed: Option<FigureDoc>,
    /// Wounded.
    pub wounded: Option<FigureDoc>,
    /// Attackers killed.
    pub attackers_killed: Option<FigureDoc>,
    /// The source's remark.
    pub note: Option<String>,
    /// Where to read it.
    pub citation: Option<String>,
    /// The sequence number of the event that last changed these figures.
    pub event_seq: u64,
    /// That event's id.
    pub event_id: String,
    /// True when a correction changed the figures since the source's last report.
    pub corrected: bool,
}

/// A figure as the source stated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureDoc {
    /// As people write it: `17`, `at least 14`, `22-35`, `22-35 (best 30)`.
    pub text: String,
    /// `exact`, `at_least` or `range`.
    pub qualifier: String,
    /// The lowest number the figure allows.
    pub low: u64,
    /// The highest, `null` for "at least".
    pub high: Option<u64>,
    /// The source's own best estimate: the count for an exact figure, the estimate given
    /// with a range, otherwise `null`.
    pub best: Option<u64>,
}

impl From<&Figure> for FigureDoc {
    fn from(f: &Figure) -> Self {
        FigureDoc {
            text: f.prose(),
            qualifier: f.qualifier().to_string(),
            low: f.lower(),
            high: f.upper(),
            best: match *f {
                Figure::Exact(n) => Some(n),
                Figure::AtLeast(_) => None,
                Figure::Range { best, .. } => best,
            },
        }
    }
}

/// A claim or denial of responsibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsibilityDoc {
    /// The group claiming or denying.
    pub actor: String,
    /// `claimed` or `denied`.
    pub stance: String,
    /// Who reported it.
    pub source: String,
    /// When it was published.
    pub published: Option<String>,
    /// The event's sequence number.
    pub event_seq: u64,
}
