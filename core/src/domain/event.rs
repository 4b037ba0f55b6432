//! The domain events: what can be said about an incident, and the payload of each kind.
//!
//! Every event belongs to one stream: an incident's, or for a source's description
//! (`source_described`) the reserved stream `@sources` ([`crate::domain::source`]). Payloads are JSON objects; unknown
//! fields are refused, optional fields are left out rather than written as `null`. The
//! schemas are documented in `docs/event-log.md`; this module is their single definition.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::figure::Figure;
pub use crate::domain::source::SourceDescription;
use crate::domain::status::ByStatus;
use crate::domain::time::{IncidentDate, Published};
use crate::error::Invalid;

/// The payload schema version of every kind before the first schema change; each kind's
/// current version is [`crate::domain::upcast::current_version`].
pub const PAYLOAD_SCHEMA_VERSION: u32 = 1;

/// Longest accepted text field (a summary, a note), in bytes.
pub const MAX_TEXT_LEN: usize = 16 * 1024;

/// Largest accepted event payload (its canonical JSON), in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Longest accepted incident id or source name, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// A point on the map, WGS 84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    /// Latitude in degrees, -90 to 90.
    pub lat: f64,
    /// Longitude in degrees, -180 to 180.
    pub lon: f64,
    /// How precise the point is (`exact`, `city`, `district`, a dataset's own code...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
}

/// Extra attributes a dataset keeps that chronicle has no field for (ACLED's `notes`, UCDP's
/// `where_prec`...): kept verbatim so nothing of the original row is lost.
pub type Attributes = BTreeMap<String, serde_json::Value>;

/// The details of an incident, given when it is first reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentDetails {
    /// When it happened.
    pub date: IncidentDate,
    /// The country, if not implied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The province (admin 1), in the gazetteer's canonical spelling once normalised.
    pub province: String,
    /// The province as the input spelled it, when normalisation changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province_as_given: Option<String>,
    /// The district (admin 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// The town, village or place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Where it happened, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
    /// What kind of incident (suicide car bombing, roadside bomb, checkpoint attack...).
    pub category: String,
    /// Who or what was targeted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Who is alleged to have done it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetrator: Option<String>,
    /// One or two sentences on what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Who first reported the incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where the first report can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// Dataset attributes kept verbatim.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: Attributes,
}

/// A change to an incident's details; only the fields given change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amendment {
    /// New date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<IncidentDate>,
    /// New country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// New province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// The new province as the input spelled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province_as_given: Option<String>,
    /// New district.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// New locality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// New coordinates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
    /// New category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// New target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// New alleged perpetrator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetrator: Option<String>,
    /// New summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Attributes to set (merged over the existing ones).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: Attributes,
    /// Why the details changed.
    pub reason: String,
}

impl IncidentDetails {
    /// Applies an amendment: every field the amendment gives replaces the current one (a
    /// province keeps the spelling it was given in `province_as_given`); every attribute it
    /// gives is set to the given value, `null` included (a `null` attribute records that
    /// the dataset no longer has a value for it, and shows as `null`). The views and the
    /// importers both fold amendments with this one function.
    pub fn amend(&mut self, a: &Amendment) {
        if let Some(v) = a.date {
            self.date = v;
        }
        if let Some(v) = &a.province {
            self.province = v.clone();
            self.province_as_given = a.province_as_given.clone();
        }
        if let Some(v) = &a.category {
            self.category = v.clone();
        }
        let optional = [
            (&mut self.country, &a.country),
            (&mut self.district, &a.district),
            (&mut self.locality, &a.locality),
            (&mut self.target, &a.target),
            (&mut self.perpetrator, &a.perpetrator),
            (&mut self.summary, &a.summary),
        ];
        for (field, given) in optional {
            if let Some(v) = given {
                *field = Some(v.clone());
            }
        }
        if let Some(v) = &a.coordinates {
            self.coordinates = Some(v.clone());
        }
        for (k, v) in &a.attributes {
            self.attributes.insert(k.clone(), v.clone());
        }
    }
}

/// A source's casualty figures for an incident (a first report or a correction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasualtyReport {
    /// Who made the claim (AFP, Ministry of Defense, UCDP GED 23.1...).
    pub source: String,
    /// When the source published it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    /// People killed, not counting attackers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed: Option<Figure>,
    /// People wounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wounded: Option<Figure>,
    /// Attackers killed, counted apart from their victims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attackers_killed: Option<Figure>,
    /// Killed broken down by group as a dataset gives it (UCDP's `side_a`, `side_b`,
    /// `civilians`, `unknown`), kept as given; the views read it through
    /// [`crate::domain::status`] (schema version 1 and 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub killed_breakdown: BTreeMap<String, Figure>,
    /// Everyone this report counts as killed (the victims in `killed` and the attackers in
    /// `attackers_killed`) broken down by status (schema version 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub killed_by_status: ByStatus,
    /// The wounded broken down by status (schema version 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wounded_by_status: ByStatus,
    /// A remark on the figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where the report can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// Why the figures changed (required for corrections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The source through which these figures reached the recorder, when it is not
    /// `source` itself: AFP's figure as carried by Pajhwok is `source` AFP, `via` Pajhwok
    /// (schema version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Dataset attributes kept verbatim.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: Attributes,
}

/// A claim or a denial of responsibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responsibility {
    /// The group claiming or denying.
    pub actor: String,
    /// Who reported the claim or denial.
    pub source: String,
    /// When it was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    /// A remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where it can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

/// The retraction of an earlier event entered in error. The retracted event stays in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retraction {
    /// The id of the retracted event.
    pub event: String,
    /// Why.
    pub reason: String,
}

/// The redaction of an earlier event: its payload's text (and salt) are erased from the log,
/// which keeps the event, its hash and this record of why. Only `chronicle redact`
/// appends one, in the same transaction as the erasure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// The id of the redacted event.
    pub event: String,
    /// Why (never repeat the erased text here: this reason is kept).
    pub reason: String,
}

/// A merge of a duplicate incident (the event's stream) into another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The incident the duplicate is merged into.
    pub into: String,
    /// Why they are one incident.
    pub reason: String,
}

/// The grade of an incident: the view document's type, so the two cannot drift apart.
pub use chronicle_plugin_sdk::view::Grade;

/// A recorder's assessment of an incident (`chronicle assess`): its grade and why. The
/// latest assessment in force is the incident's grade; the earlier ones are its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// `confirmed`, `fair`, `weak`, `contested` or `discounted`.
    pub grade: Grade,
    /// Why (required: it is what a reader of the grade is shown).
    pub reason: String,
}

/// A recorder's decision on an incident's figures (`chronicle adjudicate`): the best
/// estimate the recorder settles on, with the reason. The views' default policy shows it as
/// the best figure while it is the incident's latest adjudication in force; the sources'
/// figures stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjudication {
    /// The best estimate of people killed (attackers excluded), if decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed: Option<u64>,
    /// The best estimate of people wounded, if decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wounded: Option<u64>,
    /// Why: the rule or the evidence the decision rests on.
    pub reason: String,
    /// The recorder knowingly put an estimate outside the sources' range (`--outside-range`);
    /// without it such an estimate is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_range: bool,
}

/// An event's payload, one variant per kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `incident_reported`: an incident first reported; opens its stream.
    IncidentReported(IncidentDetails),
    /// `casualties_reported`: a source's casualty figures.
    CasualtiesReported(CasualtyReport),
    /// `casualties_corrected`: a source corrects its own earlier figures (supersedes them).
    CasualtiesCorrected(CasualtyReport),
    /// `responsibility_claimed`.
    ResponsibilityClaimed(Responsibility),
    /// `responsibility_denied`.
    ResponsibilityDenied(Responsibility),
    /// `incident_amended`: details changed.
    IncidentAmended(Amendment),
    /// `event_retracted`: an earlier event was entered in error.
    EventRetracted(Retraction),
    /// `incident_merged`: this incident is a duplicate of another.
    IncidentMerged(Merge),
    /// `event_redacted`: an earlier event's payload was erased.
    EventRedacted(Redaction),
    /// `incident_assessed`: a recorder graded the incident.
    IncidentAssessed(Assessment),
    /// `incident_adjudicated`: the recorder's own best estimate, with its reason.
    IncidentAdjudicated(Adjudication),
    /// `source_described`: what kind of source a name is, and whether a party to the
    /// conflict (in the reserved stream [`crate::domain::source::SOURCES_STREAM`]).
    SourceDescribed(SourceDescription),
}

/// Every kind, in the order of the documentation.
pub const KINDS: [&str; 12] = [
    "incident_reported",
    "casualties_reported",
    "casualties_corrected",
    "responsibility_claimed",
    "responsibility_denied",
    "incident_amended",
    "event_retracted",
    "incident_merged",
    "event_redacted",
    "incident_assessed",
    "incident_adjudicated",
    "source_described",
];

/// `$de($arg)` read as the struct of event kind `$kind`, wrapped in its [`Payload`] variant:
/// `Some` of what `$de` returns (a `Result` or an `Option`), `None` for an unknown kind. The
/// one table from kind names to payload types, for every way of reading a payload.
macro_rules! by_kind {
    ($kind:expr, $de:ident($arg:expr)) => {
        match $kind {
            "incident_reported" => Some($de($arg).map(Payload::IncidentReported)),
            "casualties_reported" => Some($de($arg).map(Payload::CasualtiesReported)),
            "casualties_corrected" => Some($de($arg).map(Payload::CasualtiesCorrected)),
            "responsibility_claimed" => Some($de($arg).map(Payload::ResponsibilityClaimed)),
            "responsibility_denied" => Some($de($arg).map(Payload::ResponsibilityDenied)),
            "incident_amended" => Some($de($arg).map(Payload::IncidentAmended)),
            "event_retracted" => Some($de($arg).map(Payload::EventRetracted)),
            "incident_merged" => Some($de($arg).map(Payload::IncidentMerged)),
            "event_redacted" => Some($de($arg).map(Payload::EventRedacted)),
            "incident_assessed" => Some($de($arg).map(Payload::IncidentAssessed)),
            "incident_adjudicated" => Some($de($arg).map(Payload::IncidentAdjudicated)),
            "source_described" => Some($de($arg).map(Payload::SourceDescribed)),
            _ => None,
        }
    };
}

impl Payload {
    /// The kind's name as stored in the `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::IncidentReported(_) => KINDS[0],
            Payload::CasualtiesReported(_) => KINDS[1],
            Payload::CasualtiesCorrected(_) => KINDS[2],
            Payload::ResponsibilityClaimed(_) => KINDS[3],
            Payload::ResponsibilityDenied(_) => KINDS[4],
            Payload::IncidentAmended(_) => KINDS[5],
            Payload::EventRetracted(_) => KINDS[6],
            Payload::IncidentMerged(_) => KINDS[7],
            Payload::EventRedacted(_) => KINDS[8],
            Payload::IncidentAssessed(_) => KINDS[9],
            Payload::IncidentAdjudicated(_) => KINDS[10],
            Payload::SourceDescribed(_) => KINDS[11],
        }
    }

    /// Reads a payload of `kind` from JSON, refusing unknown kinds and fields.
    pub fn from_json(kind: &str, payload: serde_json::Value) -> Result<Payload, Invalid> {
        fn de<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, Invalid> {
            serde_path_to_error::deserialize(v).map_err(|e| {
                let path = e.path().to_string();
                let mut inv = payload_error(&e.inner().to_string());
                if path != "."
                    && !inv.field.ends_with(&format!(".{path}"))
                    && !e.inner().to_string().contains("unknown field")
                {
                    inv.field = format!("payload.{path}");
                }
                inv
            })
        }
        if !payload.is_object() {
            return Err(Invalid::new(
                "payload",
                payload.to_string(),
                "a payload is a JSON object",
            ));
        }
        by_kind!(kind, de(payload)).unwrap_or_else(|| {
            Err(Invalid::new(
                "kind",
                kind,
                format!("unknown event kind; the kinds are {}", KINDS.join(", ")),
            ))
        })
    }

    /// Reads a payload of `kind` straight from JSON text into its typed struct, without the
    /// intermediate `serde_json::Value` of [`Payload::from_json`]: about twice as fast, for
    /// the payloads the log stores. `None` when the text does not read that way (not an
    /// object, a duplicate key, any error): [`Payload::from_json`] then decides, and its
    /// error names the field, so the two ways accept exactly the same payloads.
    pub fn from_json_text(kind: &str, text: &str) -> Option<Payload> {
        fn de<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
            serde_json::from_str(text).ok()
        }
        // A struct also reads from a JSON array; a payload is an object only.
        if !text.trim_start().starts_with('{') {
            return None;
        }
        by_kind!(kind, de(text)).flatten()
    }

    /// The payload as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            Payload::IncidentReported(p) => serde_json::to_value(p),
            Payload::CasualtiesReported(p) | Payload::CasualtiesCorrected(p) => {
                serde_json::to_value(p)
            }
            Payload::ResponsibilityClaimed(p) | Payload::ResponsibilityDenied(p) => {
                serde_json::to_value(p)
            }
            Payload::IncidentAmended(p) => serde_json::to_value(p),
            Payload::EventRetracted(p) => serde_json::to_value(p),
            Payload::IncidentMerged(p) => serde_json::to_value(p),
            Payload::EventRedacted(p) => serde_json::to_value(p),
            Payload::IncidentAssessed(p) => serde_json::to_value(p),
            Payload::IncidentAdjudicated(p) => serde_json::to_value(p),
            Payload::SourceDescribed(p) => serde_json::to_value(p),
        };
        // The payload types hold only strings, integers, finite floats and maps of them,
        // which always serialize.
        v.unwrap_or(serde_json::Value::Null)
    }

    /// The canonical JSON text stored in the log: compact, keys sorted.
    pub fn canonical_json(&self) -> String {
        // serde_json's Map is a BTreeMap (the `preserve_order` feature is off), so
        // serializing a Value sorts keys at every level.
        self.to_json().to_string()
    }

    /// The source the payload speaks for, if any.
    pub fn source(&self) -> Option<&str> {
        match self {
            Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r) => Some(&r.source),
            Payload::ResponsibilityClaimed(r) | Payload::ResponsibilityDenied(r) => Some(&r.source),
            Payload::IncidentReported(d) => d.source.as_deref(),
            _ => None,
        }
    }

    /// When the source published it, if the payload says.
    pub fn published(&self) -> Option<Published> {
        match self {
            Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r) => r.published,
            Payload::ResponsibilityClaimed(r) | Payload::ResponsibilityDenied(r) => r.published,
            _ => None,
        }
    }
}

/// The schema version an event of `payload` is written at: the lowest version whose schema
/// the payload fits, among those whose steps up to the current one are the identity on it.
/// A casualty payload without `via` is written at 3 (the step 3 -> 4 changes nothing but
/// refuses `via`), so that a log that never uses `via` reads in the chronicle before it;
/// every other payload at its kind's current version.
pub fn written_version(payload: &Payload) -> u32 {
    match payload {
        Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r) if r.via.is_none() => 3,
        _ => crate::domain::upcast::current_version(payload.kind()),
    }
}

/// A stored payload of `kind` at `version` read straight from its text into the current
/// version's struct, when that is exact: at the current version, or at a version
/// [`written_version`] still writes (a casualty payload at 3 without `via`). `None`: read
/// it through [`crate::domain::upcast::upcast`] (which also names what is wrong with a payload that does not read).
pub fn read_direct(kind: &str, version: u32, text: &str) -> Option<Payload> {
    let current = crate::domain::upcast::current_version(kind);
    if version == current {
        return Payload::from_json_text(kind, text);
    }
    let casualty = matches!(kind, "casualties_reported" | "casualties_corrected");
    if casualty && version == 3 && current == 4 {
        return Payload::from_json_text(kind, text).filter(|p| match p {
            Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r) => r.via.is_none(),
            _ => false,
        });
    }
    None
}

/// Turns a serde message ("unknown field `kiled`, expected one of ... at line 1 column 9")
/// into a refusal naming the field.
fn payload_error(message: &str) -> Invalid {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    let field = message
        .split('`')
        .nth(1)
        .map(|f| format!("payload.{f}"))
        .unwrap_or_else(|| "payload".to_string());
    Invalid::new(field, "", message)
}

/// An event as a client submits it, before the log gives it a sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// A client-chosen event id; the engine makes a UUIDv7 when absent.
    pub id: Option<String>,
    /// The incident (stream) it belongs to.
    pub incident: String,
    /// What it says.
    pub payload: Payload,
    /// The version the client expects the incident to be at (0: the incident must be new).
    pub expected_version: Option<u64>,
}

/// One line of the JSON Lines schema of `chronicle append` and `chronicle log --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    /// Event id (optional on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The incident.
    pub incident: String,
    /// The event kind.
    pub kind: String,
    /// The payload object.
    pub payload: serde_json::Value,
    /// Expected incident version (input only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// Sequence number (output only; ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Version in the incident's stream (output only; ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Payload schema version (output only; input must match when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    /// Recorded time (output only; ignored on input: the engine sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// Recorder (output only; ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
    /// The hash of the event before (written by `log --json --provenance`; ignored here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    /// Hash (output only; ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// `2` for an event of the log format 2 (output only; ignored on input): the five
    /// fields from here on are absent for a format-1 event, so that its line reads as
    /// before (see `record::hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<u8>,
    /// The payload's commitment, hex (output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_commitment: Option<String>,
    /// The payload's salt, hex, absent once erased (output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_salt: Option<String>,
    /// The batch record the event was written in (output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<serde_json::Value>,
    /// The redaction that erased the payload, which is then `null` (output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_by: Option<String>,
}

/// An [`EventLine`] with its payload left as text: the fast path of [`EventLine::parse`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // The output-only fields are read to be accepted, as in `EventLine`.
struct RawLine<'a> {
    #[serde(default)]
    id: Option<String>,
    incident: String,
    kind: String,
    #[serde(borrow)]
    payload: &'a serde_json::value::RawValue,
    #[serde(default)]
    expected_version: Option<u64>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    recorded_at: Option<String>,
    #[serde(default)]
    recorded_by: Option<String>,
    #[serde(default)]
    prev_hash: Option<String>,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    format: Option<u8>,
    #[serde(default)]
    payload_commitment: Option<String>,
    #[serde(default)]
    payload_salt: Option<String>,
    #[serde(default, borrow)]
    batch: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    redacted_by: Option<String>,
}

impl EventLine {
    /// Reads one line of JSON Lines into an event to append.
    pub fn parse(line: &str) -> Result<NewEvent, Invalid> {
        // Fast path: the payload read straight into its struct. Whatever it does not accept
        // goes the general way below, which decides and names the field in its error.
        if let Ok(raw) = serde_json::from_str::<RawLine<'_>>(line) {
            let text = raw.payload.get();
            let direct = match raw.schema_version {
                None => Payload::from_json_text(&raw.kind, text),
                Some(v) => read_direct(&raw.kind, v, text),
            };
            if let Some(payload) = direct {
                return Ok(NewEvent {
                    id: raw.id,
                    incident: raw.incident,
                    payload,
                    expected_version: raw.expected_version,
                });
            }
        }
        let parsed: EventLine = serde_json::from_str(line).map_err(|e| {
            let msg = e.to_string();
            let mut inv = payload_error(&msg);
            inv.field = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.contains("field"))
                .unwrap_or("line")
                .to_string();
            inv.problem = format!("{}; each line is a JSON object with `incident`, `kind` and `payload` (and optionally `id`, `expected_version`)", inv.problem);
            inv
        })?;
        parsed.into_new_event()
    }

    /// Validates the parts of a line that need no log.
    pub fn into_new_event(self) -> Result<NewEvent, Invalid> {
        // A line of an older payload schema (from an older chronicle's `log --json`) is
        // upgraded; a newer one is refused by name.
        let value = match self.schema_version {
            Some(v) if KINDS.contains(&self.kind.as_str()) => {
                crate::domain::upcast::upcast(&self.kind, v, self.payload)?
            }
            _ => self.payload,
        };
        let payload = Payload::from_json(&self.kind, value)?;
        Ok(NewEvent {
            id: self.id,
            incident: self.incident,
            payload,
            expected_version: self.expected_version,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_drops_absent_fields() {
        let p = Payload::from_json(
            "casualties_reported",
            json!({"wounded": "22-35", "source": "AFP", "killed": 17}),
        )
        .unwrap();
        assert_eq!(
            p.canonical_json(),
            r#"{"killed":17,"source":"AFP","wounded":"22-35"}"#
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let e = Payload::from_json("casualties_reported", json!({"source": "AFP", "kiled": 3}))
            .unwrap_err();
        assert_eq!(e.field, "payload.kiled");
        assert!(e.problem.contains("unknown field"), "{e}");
    }

    #[test]
    fn unknown_kind_lists_the_kinds() {
        let e = Payload::from_json("casualties", json!({})).unwrap_err();
        assert!(e
            .to_string()
            .contains("incident_reported, casualties_reported"));
    }

    #[test]
    fn line_parse_names_missing_field() {
        let e = EventLine::parse(r#"{"kind":"incident_reported","payload":{}}"#).unwrap_err();
        assert_eq!(e.field, "incident", "{e}");
    }
    #[test]
    fn via_is_version_4_and_a_report_without_it_is_still_written_at_3() {
        let report = |via: Option<&str>| {
            let mut v = json!({"source": "AFP", "killed": 17});
            if let Some(via) = via {
                v["via"] = json!(via);
            }
            Payload::from_json("casualties_reported", v).unwrap()
        };
        assert_eq!(written_version(&report(None)), 3);
        assert_eq!(written_version(&report(Some("Pajhwok"))), 4);
        let merged = Payload::from_json("incident_merged", json!({"into": "a", "reason": "r"}));
        assert_eq!(written_version(&merged.unwrap()), 1);
        let err = crate::domain::upcast::upcast(
            "casualties_reported",
            3,
            json!({"source": "AFP", "via": "P"}),
        );
        assert!(err
            .unwrap_err()
            .problem
            .contains("from schema version 4 on"));
        let text = r#"{"killed":17,"source":"AFP"}"#;
        assert_eq!(
            read_direct("casualties_reported", 3, text),
            Some(report(None))
        );
        let with_via = r#"{"killed":17,"source":"AFP","via":"P"}"#;
        assert_eq!(read_direct("casualties_reported", 3, with_via), None);
        assert!(read_direct("casualties_reported", 4, with_via).is_some());
        assert_eq!(read_direct("casualties_reported", 2, text), None);
    }
}
