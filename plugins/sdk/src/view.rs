//! The view document: the versioned JSON contract between chronicle and its
//! export plugins.
//!
//! The core library builds a [`ViewDocument`] from a projection of the event
//! log and serializes it with `serde_json`; the host hands the bytes to a
//! plugin, whose SDK glue deserializes them back into the same types. The
//! JSON shape is identified by [`SCHEMA`] (`"chronicle.views/1"`).
//!
//! Compatibility rules for schema 1:
//! - fields are only ever added, never renamed or removed; new fields are
//!   optional (`Option` + `#[serde(default)]`), so a plugin built against an
//!   older SDK reads newer documents (unknown fields are ignored);
//! - a field that can be `null` is an `Option` and is always written (as
//!   `null` when absent), never skipped;
//! - anything else (a renamed field, a changed meaning) is schema 2.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `schema` value of every version-1 view document.
pub const SCHEMA: &str = "chronicle.views/1";

/// A rendered view of the chronology: what a plugin exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewDocument {
    /// Always [`SCHEMA`] for this version of the types.
    pub schema: String,
    /// Which state of the log this view shows, and how it was computed.
    pub provenance: Provenance,
    /// The incidents, sorted by `date_start`, then by incident id.
    pub incidents: Vec<Incident>,
    /// Totals over `incidents`.
    pub totals: Totals,
}

/// Which state of the log a view renders and how: every export states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Checkpoint: the sequence number of the last event applied (0 for an
    /// empty log).
    pub log_seq: u64,
    /// The hash (64 lowercase hex digits) of the event `log_seq`; `null`
    /// when `log_seq` is 0. `log_seq:log_hash` is a checkpoint that
    /// `chronicle verify --checkpoint` checks.
    #[serde(default)]
    pub log_hash: Option<String>,
    /// The time-travel point the view was computed at.
    pub point: Point,
    /// How a best figure was chosen among disagreeing sources.
    pub policy: Policy,
    /// The program that produced the document, e.g. `"chronicle 0.1.0"`.
    pub generator: String,
    /// The filters applied to the incidents (empty when none).
    #[serde(default)]
    pub filters: Filters,
    /// The format the document was exported with: a plugin's declared name
    /// and version, or chronicle's built-in `json`. Filled by chronicle
    /// just before the export; `null` in a document that was not exported
    /// (and from chronicle before this field existed).
    #[serde(default)]
    pub exporter: Option<ExporterInfo>,
    /// The log's checkpoint at `log_seq`: the C2SP tlog-checkpoint of its Merkle tree of
    /// `log_seq` events, as `chronicle checkpoint` prints it, signed when the export was
    /// (`export --sign KEYFILE`). A reader checks a proof of any event up to `log_seq`
    /// against it (`chronicle prove --seq N --size LOG_SEQ`, `chronicle check-proof`).
    /// `null` in a document not made by `export` (and from chronicle before this field).
    #[serde(default)]
    pub checkpoint: Option<LogCheckpoint>,
}

/// A checkpoint of the log's Merkle tree (RFC 6962), as a C2SP `tlog-checkpoint` note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCheckpoint {
    /// The origin line: the log's name (`chronicle`, or the signer key's name, or
    /// `--origin`).
    pub origin: String,
    /// The number of events the tree holds: the document's `log_seq`.
    pub tree_size: u64,
    /// The tree's root hash, base64 (standard alphabet, padded) of its 32 bytes.
    pub root_hash: String,
    /// The note, byte for byte as `chronicle checkpoint` prints it: the three lines (origin,
    /// tree size, root hash), each ending with a newline, and, when signed, a blank line
    /// and one signature line (`— NAME BASE64`) per signer. What a newspaper prints under an
    /// article, and what `chronicle check-proof --checkpoint` reads.
    pub note: String,
}

impl LogCheckpoint {
    /// Whether the note carries signatures (it was exported with `--sign`).
    pub fn is_signed(&self) -> bool {
        self.note.contains("\n\n")
    }

    /// One sentence telling a reader how the checkpoint is checked, the commands in
    /// backticks (for the formats to print under it).
    pub fn how_to_check(&self) -> String {
        if self.is_signed() {
            format!(
                "To check, offline and without the database, that an event is in this log: get \
                 its proof from the publisher (`chronicle prove --seq N --size {}`) and run \
                 `chronicle check-proof PROOF.json --checkpoint CHECKPOINT --key VERIFIER_KEY`, \
                 with these lines as CHECKPOINT and the publisher's verifier key.",
                self.tree_size
            )
        } else {
            "This checkpoint is not signed (exported without `--sign`): `chronicle \
             check-proof` checks proofs against a signed one."
                .to_owned()
        }
    }
}

/// Which exporter rendered a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExporterInfo {
    /// The format name, e.g. `"markdown"`.
    pub name: String,
    /// The plugin's version (for `json`, chronicle's).
    pub version: String,
}

/// A time-travel point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// What kind of point.
    pub kind: PointKind,
    /// `null` for [`PointKind::Head`]; `"seq:57"` for [`PointKind::AtSeq`];
    /// an RFC 3339 timestamp for [`PointKind::AsOf`] and [`PointKind::KnownBy`].
    #[serde(default)]
    pub value: Option<String>,
}

/// The kinds of time-travel point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// The whole log.
    Head,
    /// The log up to and including an event sequence number (recorded time).
    AtSeq,
    /// The events recorded by a moment (recorded time).
    AsOf,
    /// The reports published by a moment (reported time).
    KnownBy,
}

impl PointKind {
    /// The JSON spelling: `head`, `at_seq`, `as_of`, `known_by`.
    pub fn as_str(self) -> &'static str {
        match self {
            PointKind::Head => "head",
            PointKind::AtSeq => "at_seq",
            PointKind::AsOf => "as_of",
            PointKind::KnownBy => "known_by",
        }
    }
}

impl Point {
    /// The point in a fixed, machine-readable spelling: `head`, `at_seq seq:57`,
    /// `as_of 2020-07-31T23:59:59Z`, `known_by 2020-07-31T23:59:59Z` (for key=value tags and
    /// `<meta>` values; [`describe`](Point::describe) is for prose).
    pub fn code(&self) -> String {
        match &self.value {
            Some(value) => format!("{} {}", self.kind.as_str(), value),
            None => self.kind.as_str().to_owned(),
        }
    }

    /// The point as a person would write it: `as of the latest event` (the head),
    /// `as of seq 57`, `as of 2020-07-31T23:59:59Z`, `as known by 2020-07-31T23:59:59Z`
    /// (the reports published by then). The JSON spelling is [`PointKind::as_str`] and
    /// `value`.
    pub fn describe(&self) -> String {
        let value = self.value.as_deref();
        match (self.kind, value) {
            (PointKind::Head, _) | (_, None) => "as of the latest event".to_owned(),
            (PointKind::AtSeq, Some(v)) => {
                format!("as of seq {}", v.strip_prefix("seq:").unwrap_or(v))
            }
            (PointKind::AsOf, Some(v)) => format!("as of {v}"),
            (PointKind::KnownBy, Some(v)) => format!("as known by {v}"),
        }
    }
}

/// The reconciliation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `"median"`, `"min"`, `"max"`, `"latest"` or `"source:NAME"`.
    pub best: String,
}

/// Filters applied when the view was built (`--from`, `--to`, `--province`,
/// `--category`, `--source`). Every field is optional; unlike the rest of
/// the document, filters that were not given are left out. Text filters
/// compare without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Only incidents whose date starts on or after this day (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_from: Option<String>,
    /// Only incidents whose date starts on or before this day (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_to: Option<String>,
    /// Only incidents in this province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Only incidents of this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Only incidents this source gave figures, a claim or a denial on (the
    /// incidents keep every source's figures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Extension (optional, schema 1): `--status`, the casualty statuses
    /// selected; the totals are then the sums of these statuses. Absent when
    /// none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// Extension (optional, schema 1): `--grade` (repeatable): only the incidents of
    /// these grades (recorded, or suggested where none is recorded). Absent without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grade: Vec<String>,
    /// Extension (optional, schema 1): `--source-type`: only the figures of
    /// sources described as one of these types are reconciled (an incident
    /// left with none is not in the document). Absent without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_type: Vec<String>,
    /// Extension (optional, schema 1): `--exclude-parties`: the figures of
    /// sources described as parties to the conflict are left out of the
    /// reconciliation (an incident left with none is not in the document).
    /// Absent (false) without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude_parties: bool,
}

impl Filters {
    /// The filters that are set, as `(name, value)` pairs in a fixed order.
    pub fn entries(&self) -> Vec<(&'static str, &str)> {
        [
            ("date_from", &self.date_from),
            ("date_to", &self.date_to),
            ("province", &self.province),
            ("category", &self.category),
            ("source", &self.source),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }

    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }
}

/// A reconciled casualty range over the sources' figures.
///
/// Each end is `None` when no source gave that figure. `open_high` is true
/// when the high end comes from an "at least N" figure: the true number may
/// be higher (written `14+`). `coded` is true when the range rests on coded
/// figures only ([`Qualifier::Coded`]): no source stated a number for the
/// count, and the ends are a dataset's conventional value for an unknown toll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// The lowest figure any source gave.
    #[serde(default)]
    pub low: Option<u64>,
    /// The figure chosen by the policy.
    #[serde(default)]
    pub best: Option<u64>,
    /// The highest figure any source gave.
    #[serde(default)]
    pub high: Option<u64>,
    /// The high end is a lower bound ("at least").
    #[serde(default)]
    pub open_high: bool,
    /// Extension (optional, schema 1): every figure that makes the range is
    /// coded (`coded:3`, ACLED's "Unknown fatalities coded as 3"): no source
    /// stated a number, and low, best and high are the conventional value.
    /// Where any source states a figure of its own, the coded ones are left
    /// out and this is false. A sum ([`Range::add`]) is coded when every part
    /// with a figure is. Written only when true (absent: false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub coded: bool,
}

impl Range {
    /// The mark a short cell puts after a coded range ([`Range::coded`]): `3 (coded)`.
    pub const CODED_MARK: &'static str = " (coded)";

    /// What the mark means, for a legend or a footnote: one sentence.
    pub const CODED_NOTE: &'static str = "(coded): no source stated a number; the count is a dataset's convention for an unknown toll (ACLED codes unknown fatalities as 3), counted as its value in totals.";

    /// A range where every source agrees on `n`.
    pub fn exact(n: u64) -> Range {
        Range {
            low: Some(n),
            best: Some(n),
            high: Some(n),
            open_high: false,
            coded: false,
        }
    }

    /// [`Range::CODED_MARK`] when the range is coded, else nothing.
    pub fn coded_mark(&self) -> &'static str {
        if self.coded {
            Self::CODED_MARK
        } else {
            ""
        }
    }

    /// True when no source gave a figure.
    pub fn is_unknown(&self) -> bool {
        self.low.is_none() && self.best.is_none() && self.high.is_none()
    }

    /// Adds two ranges end by end, as for a total: a missing end counts as
    /// nothing (`None + Some(3) = Some(3)`, `None + None = None`); the sum is
    /// open-ended if either part is, and coded when every part with a figure
    /// is (an unknown part does not count).
    pub fn add(&self, other: &Range) -> Range {
        fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        Range {
            low: sum(self.low, other.low),
            best: sum(self.best, other.best),
            high: sum(self.high, other.high),
            open_high: self.open_high || other.open_high,
            coded: match (self.is_unknown(), other.is_unknown()) {
                (true, _) => other.coded,
                (_, true) => self.coded,
                _ => self.coded && other.coded,
            },
        }
    }

    /// The extent as text, with `sep` between the ends: `17`, `8–17`,
    /// `14+`, `11–14+`; `None` when unknown. Uses `high`, else `best`, else
    /// `low` for a missing end.
    pub fn span(&self, sep: &str) -> Option<String> {
        let low = self.low.or(self.best).or(self.high)?;
        let high = self.high.or(self.best).unwrap_or(low);
        let plus = if self.open_high { "+" } else { "" };
        if low == high {
            Some(format!("{low}{plus}"))
        } else {
            Some(format!("{low}{sep}{high}{plus}"))
        }
    }

    /// The extent and the best figure when it is not obvious from the
    /// extent: `17`, `8–17 (best 12)`, `14+`, `3 (coded)` (see
    /// [`Range::coded`]); `not reported` when no source gave a figure.
    pub fn describe(&self) -> String {
        let Some(span) = self.span("–") else {
            return "not reported".to_owned();
        };
        let text = match (self.best, self.low, self.high) {
            (Some(best), Some(low), Some(high)) if low != high => {
                format!("{span} (best {best})")
            }
            _ => span,
        };
        text + self.coded_mark()
    }
}

/// Extension (optional, schema 1): reconciled ranges by casualty status
/// (`civilians`, `security_forces`, `militants`, `unknown`), each over the
/// sources that gave that status, with the same policy as the totals; a
/// status no source gave is absent. `unattributed` is the part of the
/// incident's total (killed: victims and attackers) that no status covers:
/// a source that gives only a total is counted there, never as `unknown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRanges {
    /// Civilians.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub civilians: Option<Range>,
    /// Police, soldiers, intelligence personnel, pro-government militia.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_forces: Option<Range>,
    /// Members of non-state armed groups, attackers included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub militants: Option<Range>,
    /// Given by a source as unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<Range>,
    /// The part of the total no status covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unattributed: Option<Range>,
}

impl StatusRanges {
    /// The status names, in the order of every output.
    pub const NAMES: [&'static str; 4] = ["civilians", "security_forces", "militants", "unknown"];

    /// No status given (`unattributed` aside).
    pub fn is_empty(&self) -> bool {
        self.civilians.is_none()
            && self.security_forces.is_none()
            && self.militants.is_none()
            && self.unknown.is_none()
    }

    /// The range of a status by name (`unattributed` too).
    pub fn get(&self, name: &str) -> Option<&Range> {
        match name {
            "civilians" => self.civilians.as_ref(),
            "security_forces" => self.security_forces.as_ref(),
            "militants" => self.militants.as_ref(),
            "unknown" => self.unknown.as_ref(),
            "unattributed" => self.unattributed.as_ref(),
            _ => None,
        }
    }

    /// The ranges in words, in the order of [`StatusRanges::NAMES`], then the part not
    /// broken down as [`StatusRanges::leftover`] words it: `civilians 6, security forces
    /// 8–17 (best 12), not broken down 3` (each as [`Range::describe`]), `security forces
    /// 14+, possibly more not broken down`; `None` when no status was given.
    pub fn describe(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = Self::NAMES
            .iter()
            .filter_map(|n| {
                self.get(n)
                    .map(|r| format!("{} {}", n.replace('_', " "), r.describe()))
            })
            .collect();
        parts.extend(self.leftover().words(Range::describe));
        Some(parts.join(", "))
    }

    /// The part not broken down, as an output should say it (see [`Leftover`]).
    pub fn leftover(&self) -> Leftover<'_> {
        match &self.unattributed {
            None => Leftover::None,
            Some(r) if Range { coded: false, ..*r } == Range::exact(0) => Leftover::None,
            Some(Range {
                low: Some(0),
                best: Some(0) | None,
                high: Some(0),
                open_high: true,
                ..
            }) => Leftover::PossiblyMore,
            Some(r) => Leftover::Range(r),
        }
    }

    /// The range of a status by name, to set.
    pub fn slot(&mut self, name: &str) -> Option<&mut Option<Range>> {
        match name {
            "civilians" => Some(&mut self.civilians),
            "security_forces" => Some(&mut self.security_forces),
            "militants" => Some(&mut self.militants),
            "unknown" => Some(&mut self.unknown),
            "unattributed" => Some(&mut self.unattributed),
            _ => None,
        }
    }
}

/// What an incident's figures by status leave not broken down
/// ([`StatusRanges::unattributed`]), as every output words it
/// ([`StatusRanges::describe`], `chronicle show`, the HTML and Markdown exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover<'a> {
    /// Nothing to say: no total, or the statuses cover it exactly (`0`).
    None,
    /// Only open (`0+`): the statuses cover every person counted, but the total is "at
    /// least" (as are some statuses), so there may be more people, of a status no one
    /// gave. None known is not none: said as [`Leftover::POSSIBLY_MORE`].
    PossiblyMore,
    /// A part that may be above 0: `not broken down 2`, `0–4 (best 2)`, `3+`.
    Range(&'a Range),
}

impl Leftover<'_> {
    /// The words for [`Leftover::PossiblyMore`].
    pub const POSSIBLY_MORE: &'static str = "possibly more not broken down";

    /// The leftover as a part of a line by status, its range written by `range`:
    /// `not broken down 2`, `possibly more not broken down`; `None` for nothing.
    pub fn words(&self, range: impl Fn(&Range) -> String) -> Option<String> {
        match self {
            Leftover::None => None,
            Leftover::PossiblyMore => Some(Self::POSSIBLY_MORE.to_owned()),
            Leftover::Range(r) => Some(format!("not broken down {}", range(r))),
        }
    }
}

/// Extension (optional, schema 1): one source's figures by casualty status,
/// as the views count them (killed: victims and attackers, the attackers as
/// militants when the source gives no militants). A status the source did not
/// give is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusFigures {
    /// Civilians.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub civilians: Option<Figure>,
    /// Security forces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_forces: Option<Figure>,
    /// Militants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub militants: Option<Figure>,
    /// Unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<Figure>,
}

impl StatusFigures {
    /// No status given.
    pub fn is_empty(&self) -> bool {
        self.civilians.is_none()
            && self.security_forces.is_none()
            && self.militants.is_none()
            && self.unknown.is_none()
    }

    /// The figure of a status by name.
    pub fn get(&self, name: &str) -> Option<&Figure> {
        match name {
            "civilians" => self.civilians.as_ref(),
            "security_forces" => self.security_forces.as_ref(),
            "militants" => self.militants.as_ref(),
            "unknown" => self.unknown.as_ref(),
            _ => None,
        }
    }
}

/// A per-group total (for example per province).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The group key, e.g. the province name `"Logar"`.
    pub key: String,
    /// Number of incidents in the group.
    pub incidents: u64,
    /// Killed, summed over the group's incidents.
    pub killed: Range,
    /// Wounded, summed over the group's incidents.
    pub wounded: Range,
    /// Extension (optional, schema 1): how many of the group's incidents
    /// have their best figures set by the recorder's adjudication (see
    /// [`Incident::adjudication`]); left out when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adjudicated: u64,
    /// Extension (optional, schema 1): how many of the group's incidents
    /// have a killed or wounded count that rests on coded figures only
    /// ([`Range::coded`]; summed as their value); left out when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub coded: u64,
}

/// For `skip_serializing_if`: a count of zero is left out.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Totals over the document's incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Number of incidents.
    pub incidents: u64,
    /// Killed, summed over the incidents.
    pub killed: Range,
    /// Wounded, summed over the incidents.
    pub wounded: Range,
    /// The same per province, sorted by province name.
    #[serde(default)]
    pub by_province: Vec<Group>,
    /// Extension (optional, schema 1): how many of the incidents have a
    /// killed or wounded count that rests on coded figures only
    /// ([`Range::coded`]): the totals count them as their value. Left out
    /// when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub coded: u64,
}

/// How precisely an incident's date is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatePrecision {
    /// `2020-07-30`
    Day,
    /// `2020-W29`
    Week,
    /// `2020-07`
    Month,
    /// `2020`
    Year,
    /// `2020-07-14/2020-07-16`
    Range,
}

impl DatePrecision {
    /// The JSON spelling: `day`, `week`, `month`, `year`, `range`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatePrecision::Day => "day",
            DatePrecision::Week => "week",
            DatePrecision::Month => "month",
            DatePrecision::Year => "year",
            DatePrecision::Range => "range",
        }
    }
}

/// A latitude/longitude pair (WGS 84 degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    /// Latitude, -90..=90.
    pub lat: f64,
    /// Longitude, -180..=180.
    pub lon: f64,
}

/// Reported coordinates of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    /// Latitude, -90..=90.
    pub lat: f64,
    /// Longitude, -180..=180.
    pub lon: f64,
    /// What the point stands for, as recorded (e.g. `"locality"`,
    /// `"district"`); `null` when not stated.
    #[serde(default)]
    pub precision: Option<String>,
}

/// One incident with its reconciled figures and every source's claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable incident id, e.g. `"2020-07-30-puli-alam"`.
    pub incident: String,
    /// The date as given: `2020-07-30`, `2020-07`, `2020`, `2020-W29` or
    /// `2020-07-14/2020-07-16`.
    pub date: String,
    /// First day the date covers (`YYYY-MM-DD`).
    pub date_start: String,
    /// Last day the date covers (`YYYY-MM-DD`).
    pub date_end: String,
    /// How precise `date` is.
    pub date_precision: DatePrecision,
    /// Country name.
    #[serde(default)]
    pub country: Option<String>,
    /// Province (admin1), normalised name.
    pub province: String,
    /// ISO 3166-2 code of the province, e.g. `"AF-LOG"`.
    #[serde(default)]
    pub province_code: Option<String>,
    /// Centroid of the province, when the gazetteer knows it.
    #[serde(default)]
    pub province_centroid: Option<LatLon>,
    /// Extension (optional, schema 1): the country of the gazetteer that
    /// gave `province_code`, as the gazetteer names it (`"Afghanistan"`):
    /// the recorded `country`, or Afghanistan for an incident recorded
    /// without one (the gazetteer its province was checked against);
    /// `null` when `province_code` is. Used for ACLED's `country` column.
    #[serde(default)]
    pub province_country: Option<String>,
    /// District (admin2).
    #[serde(default)]
    pub district: Option<String>,
    /// Town, village or neighbourhood.
    #[serde(default)]
    pub locality: Option<String>,
    /// Reported coordinates of the incident itself.
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
    /// What happened, e.g. `"suicide car bombing"`.
    pub category: String,
    /// Who or what was targeted.
    #[serde(default)]
    pub target: Option<String>,
    /// Who carried it out, as recorded (e.g. `"Taliban (alleged)"`).
    #[serde(default)]
    pub perpetrator: Option<String>,
    /// A short description.
    #[serde(default)]
    pub summary: Option<String>,
    /// Victims killed (attackers excluded).
    pub killed: Range,
    /// Wounded.
    pub wounded: Range,
    /// Attackers killed.
    #[serde(default)]
    pub attackers_killed: Range,
    /// Extension (optional, schema 1): killed (victims and attackers) by
    /// casualty status; absent when no source gave a status.
    #[serde(default, skip_serializing_if = "StatusRanges::is_empty")]
    pub killed_by_status: StatusRanges,
    /// Extension (optional, schema 1): wounded by casualty status; absent
    /// when no source gave a status.
    #[serde(default, skip_serializing_if = "StatusRanges::is_empty")]
    pub wounded_by_status: StatusRanges,
    /// True when the sources' current figures disagree.
    pub disputed: bool,
    /// One entry per source with its current figures (after its
    /// corrections), in the order the sources first reported on the
    /// incident (log order).
    pub sources: Vec<SourceFigures>,
    /// Claims and denials of responsibility in force, in log order.
    #[serde(default)]
    pub responsibility: Vec<Responsibility>,
    /// Ids of incidents merged into this one.
    #[serde(default)]
    pub merged_from: Vec<String>,
    /// Extension (optional, schema 1): the incident's events whose payload a
    /// redaction erased (`chronicle redact`), up to the point of the document,
    /// in log order. Absent when there are none. What they said is gone from
    /// the log; none of their figures, details or claims is in this incident.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Redaction>,
    /// Extension (optional, schema 1): the incident's grade, recorded or suggested
    /// (see [`GradeInfo`]). chronicle always writes it; absent in older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<GradeInfo>,
    /// Extension (optional, schema 1): the recorder's adjudication in force
    /// (`chronicle adjudicate`): its best estimates and reason. Absent when
    /// there is none. When `applied`, the incident's `killed.best` and
    /// `wounded.best` are its counts (where it gives them) instead of the
    /// policy's; `low` and `high` stay the sources' range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjudication: Option<Adjudication>,
    /// Sequence number of the last event that changed this incident.
    pub last_seq: u64,
    /// Extension (optional, schema 1): when the event `last_seq` was
    /// recorded in the log, RFC 3339 UTC as the log stores it
    /// (`2020-07-31T08:00:00.000000Z`). Used for ACLED's `timestamp` column.
    #[serde(default)]
    pub last_recorded: Option<String>,
    /// Extension (optional, schema 1): when the incident's first event in
    /// force was recorded (the earliest of its own stream and of the
    /// streams merged into it), RFC 3339 UTC as the log stores it. With
    /// `last_recorded` (when it last changed), the incident's life in the
    /// log. `null` only in documents of a chronicle that did not write it.
    #[serde(default)]
    pub first_recorded: Option<String>,
}

impl Incident {
    /// Where the incident happened, most specific first:
    /// `"Puli Alam, Logar"`, `"Logar"`.
    pub fn place(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for part in [self.locality.as_deref(), self.district.as_deref()]
            .into_iter()
            .flatten()
        {
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        if !parts.contains(&self.province.as_str()) {
            parts.push(&self.province);
        }
        parts.join(", ")
    }

    /// The point to map the incident at: its reported coordinates, else the
    /// province centroid, else `None`.
    pub fn map_point(&self) -> Option<(LatLon, CoordinateSource)> {
        if let Some(c) = &self.coordinates {
            return Some((
                LatLon {
                    lat: c.lat,
                    lon: c.lon,
                },
                CoordinateSource::Reported,
            ));
        }
        self.province_centroid
            .map(|c| (c, CoordinateSource::ProvinceCentroid))
    }
}

/// Where a mapped point comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinateSource {
    /// The incident's own reported coordinates.
    Reported,
    /// The centroid of its province.
    ProvinceCentroid,
}

impl CoordinateSource {
    /// `"reported"` or `"province_centroid"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CoordinateSource::Reported => "reported",
            CoordinateSource::ProvinceCentroid => "province_centroid",
        }
    }
}

/// One source's current figures for an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFigures {
    /// Source name, e.g. `"AFP"`, `"Ministry of Defense"`.
    pub source: String,
    /// When the source published these figures: the published time of the
    /// event they come from (`event_seq`), RFC 3339 or `YYYY-MM-DD`; `null`
    /// when that event gave none (a correction does not inherit its
    /// report's).
    #[serde(default)]
    pub published: Option<String>,
    /// Victims killed, as the source gave it.
    #[serde(default)]
    pub killed: Option<Figure>,
    /// Wounded, as the source gave it.
    #[serde(default)]
    pub wounded: Option<Figure>,
    /// Attackers killed, as the source gave it.
    #[serde(default)]
    pub attackers_killed: Option<Figure>,
    /// Extension (optional, schema 1): killed by casualty status, as the
    /// source gave it; absent when it gave none.
    #[serde(default, skip_serializing_if = "StatusFigures::is_empty")]
    pub killed_by_status: StatusFigures,
    /// Extension (optional, schema 1): wounded by casualty status; absent
    /// when the source gave none.
    #[serde(default, skip_serializing_if = "StatusFigures::is_empty")]
    pub wounded_by_status: StatusFigures,
    /// A remark about this report.
    #[serde(default)]
    pub note: Option<String>,
    /// Where the report can be read (usually a URL).
    #[serde(default)]
    pub citation: Option<String>,
    /// Extension (optional, schema 1): the reason given by the event these
    /// figures come from (always given for a correction); `null` when none.
    #[serde(default)]
    pub reason: Option<String>,
    /// Sequence number of the event these figures come from.
    pub event_seq: u64,
    /// Id of that event.
    pub event_id: String,
    /// These figures come from a correction of the source's earlier report.
    #[serde(default)]
    pub corrected: bool,
    /// Extension (optional, schema 1): how this source's figures changed
    /// before reaching the ones above, oldest first: one entry per count
    /// (`killed`, `wounded`, `attackers_killed`) that a later correction or
    /// report of the same source changed. Absent when the source never
    /// revised a figure. The reasons are user text: escape them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<Revision>,
    /// Extension (optional, schema 1): the source that carried these figures
    /// (`chronicle report --source AFP --via Pajhwok`: AFP's figure as
    /// carried by Pajhwok). Absent when the figures came from the source
    /// itself or the report does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Extension (optional, schema 1): the source's type as described at
    /// the document's point (`chronicle source set`): `news agency`,
    /// `national media`, `local media`, `government`, `armed forces`,
    /// `armed group`, `NGO`, `UN`, `dataset`, `witness` or `secondary`.
    /// Absent when the source has no description.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Extension (optional, schema 1): the source is described as a party
    /// to the conflict at the document's point. Absent when it is not (or
    /// has no description).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub party: bool,
}

/// One change of one count by a source: `AFP killed: 17 -> 19`, when and
/// why (`raised its toll`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// The count: `killed`, `wounded` or `attackers_killed`; `killed_by_status`
    /// or `wounded_by_status` for the figure of one casualty status (then
    /// `status` names it).
    pub measure: String,
    /// The status whose figure changed (`civilians`, `security_forces`,
    /// `militants`, `unknown`), with a `*_by_status` measure; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The figure before (`null`: the source had given none).
    #[serde(default)]
    pub old: Option<Figure>,
    /// The figure after (`null`: a later report of the source left it out).
    #[serde(default)]
    pub new: Option<Figure>,
    /// `casualties_corrected` or `casualties_reported` (a later report
    /// replaces all of the source's figures).
    pub kind: String,
    /// When the source published the change (`YYYY-MM-DD` or RFC 3339);
    /// `null` when the event gave none.
    #[serde(default)]
    pub published: Option<String>,
    /// When the change was recorded, RFC 3339 UTC as the log stores it.
    pub recorded_at: String,
    /// The reason the event gave (a correction always gives one).
    #[serde(default)]
    pub reason: Option<String>,
    /// The event's sequence number.
    pub event_seq: u64,
    /// The event's id.
    pub event_id: String,
}

impl Revision {
    /// The change in words: `killed 17 -> 19, 31 July 2020, raised its toll`,
    /// `killed (civilians) none -> 6, ...` for a status's figure (the published
    /// date, else the day it was recorded; the reason when one was given).
    pub fn describe(&self) -> String {
        let text = |f: &Option<Figure>| f.as_ref().map_or("none", |f| f.text.as_str()).to_owned();
        let when = self.published.as_deref().unwrap_or(&self.recorded_at);
        let day = human_date(when.get(..10).unwrap_or(when));
        let what = match &self.status {
            Some(status) => format!(
                "{} ({})",
                self.measure
                    .trim_end_matches("_by_status")
                    .replace('_', " "),
                status.replace('_', " ")
            ),
            None => self.measure.replace('_', " "),
        };
        let mut out = format!("{what} {} -> {}, {day}", text(&self.old), text(&self.new));
        if let Some(r) = &self.reason {
            out.push_str(", ");
            out.push_str(r);
        }
        out
    }
}

/// A casualty figure as a source stated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// The words used: `"17"`, `"at least 14"`, `"22-35"`.
    pub text: String,
    /// How to read `low`/`high`.
    pub qualifier: Qualifier,
    /// The lowest number the statement allows.
    pub low: u64,
    /// The highest number it allows (`None` for "at least").
    #[serde(default)]
    pub high: Option<u64>,
    /// The source's own single number: the count for an exact figure, the
    /// estimate given with a range (`22-35~30`), otherwise `null` (never for
    /// "at least").
    #[serde(default)]
    pub best: Option<u64>,
}

/// How a figure was qualified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualifier {
    /// `"17"`: low = high = best.
    Exact,
    /// `"at least 14"`: high is `None`.
    AtLeast,
    /// `"22-35"`: low and high.
    Range,
    /// Extension (schema 1): `"3 (coded; unknown)"`: the source does not
    /// know the toll and codes it by a convention as `best` (ACLED's
    /// "Unknown fatalities coded as 3"); low = high = best, but it is no
    /// count (`docs/views.md`, "Coded figures").
    Coded,
}

/// A recorder's decision on an incident's best figures (`chronicle
/// adjudicate`). The reason is user input: escape it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjudication {
    /// The decided best estimate of killed; `null` when it decides none.
    #[serde(default)]
    pub killed: Option<u64>,
    /// The decided best estimate of wounded; `null` when it decides none.
    #[serde(default)]
    pub wounded: Option<u64>,
    /// Why the recorder decided so.
    pub reason: String,
    /// The recorder put an estimate outside the sources' range on purpose.
    #[serde(default)]
    pub outside_range: bool,
    /// True when the document's policy uses it (the default policy, `median`):
    /// the incident's bests are its counts. Other policies (`min`, `max`,
    /// `latest`, `majority`, `source:...`) ignore adjudications.
    pub applied: bool,
    /// The adjudication event's sequence number.
    pub event_seq: u64,
    /// Its id.
    pub event_id: String,
    /// When it was recorded, RFC 3339 UTC as the log stores it.
    pub recorded_at: String,
}

impl Adjudication {
    /// `"best 12 killed, 40 wounded, adjudicated: REASON"`: the decision in words
    /// (unescaped).
    pub fn prose(&self) -> String {
        let mut counts = Vec::new();
        if let Some(k) = self.killed {
            counts.push(format!("{k} killed"));
        }
        if let Some(w) = self.wounded {
            counts.push(format!("{w} wounded"));
        }
        let outside = if self.outside_range {
            " (outside the sources' range)"
        } else {
            ""
        };
        format!(
            "best {}, adjudicated{outside}: {}",
            counts.join(", "),
            self.reason
        )
    }
}

/// An event whose payload was erased by a redaction: which event, and who
/// erased it, when and why. The text is user input: escape it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// The erased event's id.
    pub event_id: String,
    /// Its sequence number.
    pub event_seq: u64,
    /// Its kind (`casualties_reported`, `incident_amended`, ...).
    pub kind: String,
    /// The incident stream it belongs to (a merged duplicate's id for the
    /// duplicate's own events).
    pub stream: String,
    /// The redaction event's id.
    pub redaction_id: String,
    /// Its sequence number (greater than the document's point when the
    /// document shows the log as it was before the redaction).
    pub redaction_seq: u64,
    /// When the redaction was recorded, RFC 3339 UTC as the log stores it.
    pub redacted_at: String,
    /// The reason the redaction gives.
    pub reason: String,
}

impl Redaction {
    /// What the erased event was, in words: `"a report"`, `"the first report"`...
    pub fn kind_prose(&self) -> &str {
        match self.kind.as_str() {
            "incident_reported" => "the first report",
            "casualties_reported" => "a report",
            "casualties_corrected" => "a correction",
            "incident_amended" => "an amendment",
            "responsibility_claimed" => "a claim of responsibility",
            "responsibility_denied" => "a denial of responsibility",
            other => other,
        }
    }

    /// The day the redaction was recorded (`YYYY-MM-DD`), from `redacted_at`.
    pub fn redacted_on(&self) -> &str {
        self.redacted_at.get(..10).unwrap_or(&self.redacted_at)
    }
}

/// A claim or denial of responsibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responsibility {
    /// Who claimed or denied, e.g. `"Taliban"`.
    pub actor: String,
    /// Claimed or denied.
    pub stance: Stance,
    /// Who reported the claim or denial.
    pub source: String,
    /// When it was published: RFC 3339 or `YYYY-MM-DD`.
    #[serde(default)]
    pub published: Option<String>,
    /// Sequence number of the event recording it.
    pub event_seq: u64,
}

/// Whether an actor claimed or denied responsibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    /// Claimed responsibility.
    Claimed,
    /// Denied responsibility.
    Denied,
}

impl Stance {
    /// `"claimed"` or `"denied"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Claimed => "claimed",
            Stance::Denied => "denied",
        }
    }
}

/// An incident's grade: how far the recorder trusts what the log holds about it (Airwars'
/// grading). `confirmed` and `discounted` are only ever a recorder's decision
/// (`chronicle assess`); the others may also be suggested from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Established beyond reasonable doubt (the recorder says so).
    Confirmed,
    /// Reported by two or more sources that are not parties to the conflict and agree.
    Fair,
    /// Reported by one source (or only by parties to the conflict).
    Weak,
    /// The sources disagree.
    Contested,
    /// Judged not to have happened as reported (the recorder says so).
    Discounted,
}

impl Grade {
    /// Every grade, in the order of the scale.
    pub const ALL: [Grade; 5] = [
        Grade::Confirmed,
        Grade::Fair,
        Grade::Weak,
        Grade::Contested,
        Grade::Discounted,
    ];

    /// `"confirmed"`, `"fair"`, `"weak"`, `"contested"` or `"discounted"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Confirmed => "confirmed",
            Grade::Fair => "fair",
            Grade::Weak => "weak",
            Grade::Contested => "contested",
            Grade::Discounted => "discounted",
        }
    }

    /// The grade named `name` (exactly as [`Grade::as_str`] writes it, any case).
    pub fn parse(name: &str) -> Option<Grade> {
        Grade::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recorded assessment of an incident (`chronicle assess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The grade given.
    pub grade: Grade,
    /// Why.
    pub reason: String,
    /// The `incident_assessed` event.
    pub event_seq: u64,
    /// Its id.
    pub event_id: String,
    /// When it was recorded (RFC 3339 UTC, as the log stores it).
    pub recorded_at: String,
}

/// Extension (optional, schema 1): an incident's grade as a view shows it: the latest
/// assessment in force, or, where none is recorded, a grade suggested from the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeInfo {
    /// The grade.
    pub grade: Grade,
    /// True when no assessment is recorded and the grade is suggested from the data
    /// (`docs/views.md`, "Grades"); false for a recorder's assessment.
    pub suggested: bool,
    /// The assessment's reason; for a suggested grade, what it is suggested from
    /// (`"one source"`, `"the sources disagree"`, ...).
    pub reason: String,
    /// The assessment (absent for a suggested grade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    /// The earlier assessments in force, oldest first (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Assessment>,
}

impl GradeInfo {
    /// `"confirmed"`, or `"weak (suggested)"` for a suggested grade: how exports print it.
    pub fn label(&self) -> String {
        if self.suggested {
            format!("{} (suggested)", self.grade)
        } else {
            self.grade.to_string()
        }
    }

    /// The grade in a sentence, for exports: `"weak (suggested: one source)"`, or
    /// `"confirmed (assessed: REASON; before: fair, REASON)"`. User text: escape it.
    pub fn prose(&self) -> String {
        if self.suggested {
            return format!("{} (suggested: {})", self.grade, self.reason);
        }
        let mut out = format!("{} (assessed: {}", self.grade, self.reason);
        for a in self.history.iter().rev() {
            out.push_str(&format!("; before: {}, {}", a.grade, a.reason));
        }
        out.push(')');
        out
    }
}

/// Parse a `YYYY-MM-DD` prefix of `s` (a date or an RFC 3339 timestamp).
pub fn parse_day(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = s.get(0..4)?.parse().ok()?;
    let month = s.get(5..7)?.parse().ok()?;
    let day = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some((year, month, day))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The English name of a month (1..=12).
pub fn month_name(month: u32) -> Option<&'static str> {
    MONTHS
        .get(usize::try_from(month).ok()?.checked_sub(1)?)
        .copied()
}

/// A date as an encyclopedia writes it: `30 July 2020`; `July 2020` for
/// `2020-07`; `2020`; `2020-W29` stays; a range becomes
/// `14–16 July 2020`. Unparseable input is returned unchanged.
pub fn human_date(date: &str) -> String {
    if let Some((a, b)) = date.split_once('/') {
        return match (parse_day(a), parse_day(b)) {
            (Some((ya, ma, da)), Some((yb, mb, db))) => {
                let (Some(na), Some(nb)) = (month_name(ma), month_name(mb)) else {
                    return date.to_owned();
                };
                if ya == yb && ma == mb {
                    format!("{da}–{db} {nb} {yb}")
                } else if ya == yb {
                    format!("{da} {na} – {db} {nb} {yb}")
                } else {
                    format!("{da} {na} {ya} – {db} {nb} {yb}")
                }
            }
            _ => date.to_owned(),
        };
    }
    if date.len() >= 10 {
        if let Some((y, m, d)) = parse_day(date) {
            if let Some(name) = month_name(m) {
                return format!("{d} {name} {y}");
            }
        }
    }
    if date.len() == 7 && date.as_bytes().get(4) == Some(&b'-') {
        if let (Some(y), Some(m)) = (date.get(0..4), date.get(5..7)) {
            if let (Ok(y), Some(name)) = (y.parse::<i32>(), m.parse().ok().and_then(month_name)) {
                return format!("{name} {y}");
            }
        }
    }
    date.to_owned()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` days after 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // The casts cannot truncate for any date a chronology holds.
    (year as i32, month as u32, day as u32)
}

/// Unix seconds of an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SSZ`
/// (fractional seconds ignored, numeric offsets applied); `None` when it
/// cannot be read.
pub fn unix_seconds(timestamp: &str) -> Option<i64> {
    let (y, mo, d) = parse_day(timestamp)?;
    let rest = timestamp.get(10..)?;
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let hh: i64 = rest.get(0..2)?.parse().ok()?;
    let mm: i64 = rest.get(3..5)?.parse().ok()?;
    let ss: i64 = rest.get(6..8)?.parse().ok()?;
    if rest.as_bytes().get(2) != Some(&b':') || rest.as_bytes().get(5) != Some(&b':') {
        return None;
    }
    let mut zone = rest.get(8..)?;
    if let Some(frac) = zone.strip_prefix('.') {
        zone = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = zone.get(1..3)?.parse().ok()?;
            let om: i64 = zone.get(4..6)?.parse().ok()?;
            if zone.len() != 6 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

thread_local! {
    /// The last usage error this thread's export produced (see [`Options::usage_error`]).
    static USAGE_ERROR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Takes (and clears) the usage error recorded on this thread, if any.
pub(crate) fn take_usage_error() -> Option<String> {
    USAGE_ERROR.with(|u| u.borrow_mut().take())
}

/// An object of string options, as given with `--option key=value`.
///
/// Plugins should reject options they do not know (see
/// [`Options::check_known`]) so that a typo is an error, not a silently
/// ignored setting.
///
/// **Usage errors.** The errors of [`check_known`](Options::check_known),
/// [`get_bool`](Options::get_bool) and [`get_choice`](Options::get_choice), and any message
/// passed through [`usage_error`](Options::usage_error), are *usage errors*: when the
/// `Err` that [`Exporter::export`](crate::Exporter::export) returns contains one of them,
/// the plugin returns status [`STATUS_USAGE`](crate::abi::STATUS_USAGE) instead of
/// [`STATUS_ERROR`](crate::abi::STATUS_ERROR), and chronicle exits with 2 (bad input)
/// instead of 1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Options(pub BTreeMap<String, String>);

impl Options {
    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A yes/no option: `true/false`, `yes/no`, `1/0`, `on/off`;
    /// `default` when not given.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Ok(true),
                "false" | "no" | "0" | "off" => Ok(false),
                _ => Err(self.usage_error(format!(
                    "option {key}={v}: expected true or false (also yes/no, 1/0, on/off)"
                ))),
            },
        }
    }

    /// One of a fixed set of values; `default` when not given.
    pub fn get_choice<'a>(
        &'a self,
        key: &str,
        choices: &[&'a str],
        default: &'a str,
    ) -> Result<&'a str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => choices.iter().copied().find(|c| *c == v).ok_or_else(|| {
                self.usage_error(format!(
                    "option {key}={v}: expected one of {}",
                    choices.join(", ")
                ))
            }),
        }
    }

    /// An error naming the first option not in `known` (a usage error).
    pub fn check_known(&self, known: &[&str]) -> Result<(), String> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) if known.is_empty() => Err(self.usage_error(format!(
                "unknown option {k:?}: this format takes no options"
            ))),
            Some(k) => Err(self.usage_error(format!(
                "unknown option {k:?}: this format takes {}",
                known.join(", ")
            ))),
        }
    }

    /// Marks `message` as a usage error (a bad `--option` value, options that do not go
    /// together) and returns it, for an `Err` of [`Exporter::export`](crate::Exporter::export):
    ///
    /// ```
    /// # use chronicle_plugin_sdk::Options;
    /// # fn f(options: &Options) -> Result<u32, String> {
    /// let width: u32 = match options.get("width") {
    ///     None => 80,
    ///     Some(w) => w.parse().map_err(|_| {
    ///         options.usage_error(format!("option width={w}: expected a number of columns"))
    ///     })?,
    /// };
    /// # Ok(width) }
    /// ```
    ///
    /// When the error the export returns contains the message (it may add words around
    /// it), the plugin returns [`STATUS_USAGE`](crate::abi::STATUS_USAGE) and chronicle
    /// exits with 2. The mark is kept on the calling thread until the export returns.
    pub fn usage_error(&self, message: impl Into<String>) -> String {
        let message = message.into();
        USAGE_ERROR.with(|u| *u.borrow_mut() = Some(message.clone()));
        message
    }
}

impl FromIterator<(String, String)> for Options {
    fn from_iter<T: IntoIterator<Item = (String, String)>>(iter: T) -> Self {
        Options(iter.into_iter().collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn range_text() {
        assert_eq!(Range::exact(17).describe(), "17");
        let r = Range {
            low: Some(8),
            best: Some(12),
            high: Some(17),
            open_high: false,
            coded: false,
        };
        assert_eq!(r.describe(), "8–17 (best 12)");
        assert_eq!(r.span("-").as_deref(), Some("8-17"));
        let open = Range {
            open_high: true,
            ..Range::exact(14)
        };
        assert_eq!(open.describe(), "14+");
        assert_eq!(Range::default().describe(), "not reported");
        assert_eq!(Range::default().span("-"), None);
        let sum = r.add(&open).add(&Range::default());
        assert_eq!(
            sum,
            Range {
                low: Some(22),
                best: Some(26),
                high: Some(31),
                open_high: true,
                coded: false
            }
        );
    }

    /// The part not broken down: nothing when exactly none, words for an only-open `0+`
    /// (none known is not none), its range otherwise.
    #[test]
    fn the_part_not_broken_down_is_said_truly() {
        let open_zero = Range {
            open_high: true,
            ..Range::exact(0)
        };
        let by = |rest: Option<Range>| StatusRanges {
            security_forces: Some(Range {
                open_high: true,
                ..Range::exact(14)
            }),
            unattributed: rest,
            ..StatusRanges::default()
        };
        assert_eq!(by(None).leftover(), Leftover::None);
        assert_eq!(by(Some(Range::exact(0))).leftover(), Leftover::None);
        assert_eq!(by(Some(open_zero)).leftover(), Leftover::PossiblyMore);
        let some = Range {
            low: Some(0),
            best: Some(2),
            high: Some(4),
            open_high: false,
            coded: false,
        };
        assert_eq!(by(Some(some)).leftover(), Leftover::Range(&some));
        assert_eq!(
            by(Some(Range::exact(0))).describe().as_deref(),
            Some("security forces 14+")
        );
        assert_eq!(
            by(Some(open_zero)).describe().as_deref(),
            Some("security forces 14+, possibly more not broken down")
        );
        assert_eq!(
            by(Some(some)).describe().as_deref(),
            Some("security forces 14+, not broken down 0–4 (best 2)")
        );
        // An open part above 0 is a range, not "possibly more".
        let open_some = Range {
            open_high: true,
            ..Range::exact(3)
        };
        assert_eq!(
            by(Some(open_some)).describe().as_deref(),
            Some("security forces 14+, not broken down 3+")
        );
    }

    #[test]
    fn points_read_as_a_person_writes_them() {
        let point = |kind, value: Option<&str>| Point {
            kind,
            value: value.map(str::to_owned),
        };
        assert_eq!(
            point(PointKind::AtSeq, Some("seq:20")).code(),
            "at_seq seq:20"
        );
        assert_eq!(point(PointKind::Head, None).code(), "head");
        assert_eq!(
            point(PointKind::Head, None).describe(),
            "as of the latest event"
        );
        assert_eq!(
            point(PointKind::AtSeq, Some("seq:20")).describe(),
            "as of seq 20"
        );
        assert_eq!(
            point(PointKind::AsOf, Some("2020-07-31T23:59:59Z")).describe(),
            "as of 2020-07-31T23:59:59Z"
        );
        assert_eq!(
            point(PointKind::KnownBy, Some("2020-07-31T23:59:59Z")).describe(),
            "as known by 2020-07-31T23:59:59Z"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(human_date("2020-07-30"), "30 July 2020");
        assert_eq!(human_date("2020-07"), "July 2020");
        assert_eq!(human_date("2020"), "2020");
        assert_eq!(human_date("2020-W29"), "2020-W29");
        assert_eq!(human_date("2020-07-14/2020-07-16"), "14–16 July 2020");
        assert_eq!(
            human_date("2020-07-30/2020-08-02"),
            "30 July – 2 August 2020"
        );
        assert_eq!(human_date("2020-07-30T12:00:00Z"), "30 July 2020");
        assert_eq!(human_date("nonsense"), "nonsense");
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2020, 7, 30)), (2020, 7, 30));
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
        assert_eq!(unix_seconds("2020-07-31T08:00:00Z"), Some(1_596_182_400));
        assert_eq!(
            unix_seconds("2020-07-31T10:30:00.25+02:30"),
            Some(1_596_182_400)
        );
        assert_eq!(unix_seconds("2020-07-31"), None);
    }

    #[test]
    fn options() {
        let o: Options = [("layout".to_owned(), "acled".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(
            o.get_choice("layout", &["default", "acled"], "default"),
            Ok("acled")
        );
        assert_eq!(o.get_bool("provenance", true), Ok(true));
        assert!(o.check_known(&["layout"]).is_ok());
        assert_eq!(
            o.check_known(&["provenance"]).unwrap_err(),
            "unknown option \"layout\": this format takes provenance"
        );
        assert_eq!(
            o.check_known(&[]).unwrap_err(),
            "unknown option \"layout\": this format takes no options"
        );
    }
}
