//! The rules one event must pass on its own, before the log is read: names, free text,
//! ids, coordinates, figures, and the province names of the gazetteer. Each refusal names
//! the field and the value and says what would be accepted. The append path and the
//! importers share them.

use crate::domain::event::{
    Adjudication, Amendment, CasualtyReport, Coordinates, IncidentDetails, NewEvent, Payload,
    Responsibility, MAX_NAME_LEN, MAX_TEXT_LEN,
};
use crate::domain::figure::Figure;
use crate::domain::gazetteer::Gazetteer;
use crate::domain::source::{is_reserved, RESERVED_PREFIX, SOURCES_STREAM};
use crate::domain::status;
use crate::domain::time::{IncidentDate, Published};
use crate::error::Invalid;
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Checks everything about `event` that does not need the log, in the order the fields
/// are reported.
pub(crate) fn check(event: &NewEvent) -> Result<(), Invalid> {
    name("incident", &event.incident)?;
    stream(event)?;
    match &event.payload {
        Payload::IncidentReported(d) => details(d),
        Payload::CasualtiesReported(r) => report(r, false),
        Payload::CasualtiesCorrected(r) => report(r, true),
        Payload::ResponsibilityClaimed(r) | Payload::ResponsibilityDenied(r) => responsibility(r),
        Payload::IncidentAmended(a) => amendment(a),
        Payload::EventRetracted(r) => {
            reason(&r.reason)?;
            event_id(&r.event).map_err(|e| e.within("payload"))
        }
        Payload::EventRedacted(r) => {
            reason(&r.reason)?;
            event_id(&r.event).map_err(|e| e.within("payload"))
        }
        Payload::IncidentAssessed(a) => reason(&a.reason),
        Payload::IncidentAdjudicated(a) => adjudication(a),
        Payload::SourceDescribed(d) => {
            name("payload.name", &d.name)?;
            opt_text("payload.note", &d.note)
        }
        Payload::IncidentMerged(m) => {
            reason(&m.reason)?;
            name("payload.into", &m.into)?;
            if m.into == event.incident {
                return Err(Invalid::new(
                    "payload.into",
                    &m.into,
                    "an incident cannot be merged into itself",
                ));
            }
            Ok(())
        }
    }
}

/// The stream an event may go in: a source's description in the reserved stream
/// [`SOURCES_STREAM`] and nowhere else; a retraction or a redaction in the stream of the
/// event it undoes (checked against the log), so in `@sources` too; every other kind in an
/// incident's stream, whose id never begins with [`RESERVED_PREFIX`] (not even with
/// `--allow-implausible`: such a stream would be taken for a reserved one).
fn stream(event: &NewEvent) -> Result<(), Invalid> {
    let id = event.incident.as_str();
    match &event.payload {
        Payload::SourceDescribed(_) if id != SOURCES_STREAM => Err(Invalid::new(
            "incident",
            id,
            format!("a `source_described` event belongs to the reserved stream `{SOURCES_STREAM}` (give \"incident\": \"{SOURCES_STREAM}\", or use `chronicle source set`)"),
        )),
        Payload::SourceDescribed(_) | Payload::EventRetracted(_) | Payload::EventRedacted(_) => {
            Ok(())
        }
        _ if is_reserved(id) => Err(Invalid::new(
            "incident",
            id,
            format!(
                "streams beginning with `{RESERVED_PREFIX}` are reserved (`{SOURCES_STREAM}` holds the sources' descriptions); an incident id never begins with `{RESERVED_PREFIX}`"
            ),
        )),
        _ => Ok(()),
    }
}

/// What `--allow-implausible` overrides, said at the end of each plausibility refusal.
const OVERRIDE: &str = "check it, or pass --allow-implausible to record it as given";

/// How far ahead of UTC a local calendar can be (UTC+14, Kiribati): a bare day is only in
/// the future once it has begun nowhere on Earth.
const FURTHEST_ZONE: Duration = Duration::hours(14);

/// How far a published time (RFC 3339) may be ahead of the recorded time: the recorder's
/// clock and the source's may disagree by a few minutes.
const CLOCK_SKEW: Duration = Duration::minutes(10);

/// The earliest incident year taken without `--allow-implausible`.
const FIRST_YEAR: i32 = 1900;

/// The prefixes of the importers' incident ids, followed by the dataset's own key as the
/// dataset spells it (ACLED's `AFG123`), which the importer checks (letters, digits, `-`,
/// `_`, `.`).
const DATASET_PREFIXES: [&str; 2] = ["acled-", "ucdp-"];

/// The rules of plausibility: refused unless the append is forced (`allow_implausible`),
/// because they catch slips (a year typed `2200`, a day and month swapped, an id with
/// capitals or blanks that would make a second incident) rather than impossible input.
/// `recorded` is when the event is recorded. Checked only on new events: what is already in
/// a log is never judged again.
///
/// - an incident opened (`incident_reported`) under an id that is not a slug: lowercase
///   ASCII letters, digits, `-`, `_` and `.` — or an importer's id, `acled-` or `ucdp-`
///   and the dataset's own key (letters of either case, digits, `-`, `_`, `.`), so that
///   imported logs can be copied with `append`;
/// - an incident date (first report or amendment) that starts before 1900, or on a day that
///   has not begun anywhere on Earth at the recorded time;
/// - a published time after the recorded time: a day that has not begun anywhere on Earth,
///   or a time more than 10 minutes ahead (clock skew).
pub(crate) fn plausible(event: &NewEvent, recorded: DateTime<Utc>) -> Result<(), Invalid> {
    match &event.payload {
        Payload::IncidentReported(d) => {
            incident_id(&event.incident)?;
            incident_date(&d.date, recorded)
        }
        Payload::IncidentAmended(a) => a
            .date
            .as_ref()
            .map_or(Ok(()), |d| incident_date(d, recorded)),
        Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r) => {
            published(r.published, recorded)
        }
        Payload::ResponsibilityClaimed(r) | Payload::ResponsibilityDenied(r) => {
            published(r.published, recorded)
        }
        Payload::EventRetracted(_)
        | Payload::IncidentMerged(_)
        | Payload::EventRedacted(_)
        | Payload::IncidentAssessed(_)
        | Payload::IncidentAdjudicated(_)
        | Payload::SourceDescribed(_) => Ok(()),
    }
}

/// Whether `id` is a slug: lowercase ASCII letters, digits, `-`, `_` and `.`.
fn is_slug(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// An id that opens an incident: a slug, or an importer's id (see [`plausible`]).
fn incident_id(id: &str) -> Result<(), Invalid> {
    let dataset_key = DATASET_PREFIXES
        .iter()
        .find_map(|prefix| id.strip_prefix(prefix))
        .is_some_and(|key| {
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    if is_slug(id) || dataset_key {
        return Ok(());
    }
    let suggestion: String = id
        .to_lowercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let hint = if is_slug(&suggestion) {
        format!(" such as `{suggestion}`")
    } else {
        String::new()
    };
    Err(Invalid::new(
        "incident",
        id.escape_debug(),
        format!("is not a slug: an incident id is lowercase letters, digits, `-`, `_` and `.` (e.g. 2020-07-30-puli-alam), so that one incident cannot be opened twice under two spellings; give an id{hint}, or pass --allow-implausible to keep this one"),
    ))
}

/// The last day that has begun somewhere on Earth at `recorded`.
fn latest_day(recorded: DateTime<Utc>) -> NaiveDate {
    (recorded + FURTHEST_ZONE).date_naive()
}

fn incident_date(date: &IncidentDate, recorded: DateTime<Utc>) -> Result<(), Invalid> {
    use chrono::Datelike;
    if date.start.year() < FIRST_YEAR {
        return Err(Invalid::new(
            "payload.date",
            date,
            format!("is before {FIRST_YEAR}, which is most likely a typing slip; {OVERRIDE}"),
        ));
    }
    let today = latest_day(recorded);
    if date.start > today {
        return Err(Invalid::new(
            "payload.date",
            date,
            format!(
                "is in the future: the event is recorded at {}, when {} had not begun anywhere; {OVERRIDE}",
                recorded.format("%Y-%m-%dT%H:%M:%SZ"),
                date.start
            ),
        ));
    }
    Ok(())
}

fn published(published: Option<Published>, recorded: DateTime<Utc>) -> Result<(), Invalid> {
    let future = match published {
        None => false,
        Some(Published::Day(d)) => d > latest_day(recorded),
        Some(Published::At(t)) => t > recorded + CLOCK_SKEW,
    };
    match published {
        Some(p) if future => Err(Invalid::new(
            "payload.published",
            p,
            format!(
                "is after the time this event is recorded ({}): no source can have published it yet; {OVERRIDE}",
                recorded.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        )),
        _ => Ok(()),
    }
}

/// A name: an incident id, source, actor. Non-empty, no surrounding blanks, no control characters.
pub(crate) fn name(field: &str, value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(Invalid::new(field, value, "must not be empty"));
    }
    if value.trim() != value {
        return Err(Invalid::new(
            field,
            value,
            "must not begin or end with blanks",
        ));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(Invalid::new(
            field,
            value,
            format!("is longer than {MAX_NAME_LEN} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid::new(
            field,
            value.escape_debug(),
            "must not contain control characters (newlines, tabs, escapes)",
        ));
    }
    Ok(())
}

/// Free text: a summary, note, reason. Newlines and tabs allowed, other control characters not.
pub(crate) fn text(field: &str, value: &str) -> Result<(), Invalid> {
    if value.len() > MAX_TEXT_LEN {
        return Err(Invalid::new(
            field,
            value,
            format!("is longer than {MAX_TEXT_LEN} bytes"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Invalid::new(
            field,
            value.escape_debug(),
            "must not contain control characters other than newlines and tabs",
        ));
    }
    Ok(())
}

fn opt_name(field: &str, value: &Option<String>) -> Result<(), Invalid> {
    value.as_deref().map_or(Ok(()), |v| name(field, v))
}

fn opt_text(field: &str, value: &Option<String>) -> Result<(), Invalid> {
    value.as_deref().map_or(Ok(()), |v| text(field, v))
}

/// A citation: free text, and a link only with an accepted scheme (http, https, doi).
fn citation(value: &Option<String>) -> Result<(), Invalid> {
    let field = "payload.citation";
    opt_text(field, value)?;
    match value
        .as_deref()
        .map(|v| (v, chronicle_plugin_sdk::safe::citation_problem(v)))
    {
        Some((v, Some(problem))) if v.chars().any(char::is_control) => {
            Err(Invalid::new(field, v.escape_debug(), problem))
        }
        Some((v, Some(problem))) => Err(Invalid::new(field, v, problem)),
        _ => Ok(()),
    }
}

/// An adjudication on its own: a reason, at least one count, each no larger than a figure
/// may be. Whether it lies inside the sources' range is checked against the log.
fn adjudication(a: &Adjudication) -> Result<(), Invalid> {
    if a.killed.is_none() && a.wounded.is_none() {
        return Err(Invalid::new(
            "payload",
            "",
            "an adjudication decides at least one count: give killed, wounded or both (`--killed N`, `--wounded N`)",
        ));
    }
    for (field, n) in [("payload.killed", a.killed), ("payload.wounded", a.wounded)] {
        if let Some(n) = n.filter(|n| *n > crate::domain::figure::MAX_COUNT) {
            return Err(Invalid::new(
                field,
                n,
                format!(
                    "is larger than the maximum count {}",
                    crate::domain::figure::MAX_COUNT
                ),
            ));
        }
    }
    reason(&a.reason)
}

fn reason(value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(Invalid::new(
            "payload.reason",
            value,
            "a reason is required: say why (it is kept in the log for auditors)",
        ));
    }
    text("payload.reason", value)
}

/// An event id: the same rules as a name, and at most 100 bytes.
/// The longest event id, in bytes.
pub(crate) const MAX_ID_LEN: usize = 100;

pub(crate) fn event_id(id: &str) -> Result<(), Invalid> {
    name("id", id)?;
    if id.len() > MAX_ID_LEN {
        return Err(Invalid::new(
            "id",
            id,
            format!("is longer than {MAX_ID_LEN} bytes"),
        ));
    }
    Ok(())
}

fn coordinates(field: &str, c: &Coordinates) -> Result<(), Invalid> {
    if !(c.lat.is_finite() && (-90.0..=90.0).contains(&c.lat)) {
        return Err(Invalid::new(
            format!("{field}.lat"),
            c.lat,
            "a latitude is between -90 and 90",
        ));
    }
    if !(c.lon.is_finite() && (-180.0..=180.0).contains(&c.lon)) {
        return Err(Invalid::new(
            format!("{field}.lon"),
            c.lon,
            "a longitude is between -180 and 180",
        ));
    }
    opt_name(&format!("{field}.precision"), &c.precision)
}

fn details(d: &IncidentDetails) -> Result<(), Invalid> {
    name("payload.province", &d.province)?;
    name("payload.category", &d.category)?;
    opt_name("payload.country", &d.country)?;
    opt_name("payload.province_as_given", &d.province_as_given)?;
    opt_name("payload.district", &d.district)?;
    opt_name("payload.locality", &d.locality)?;
    opt_text("payload.target", &d.target)?;
    opt_text("payload.perpetrator", &d.perpetrator)?;
    opt_text("payload.summary", &d.summary)?;
    opt_name("payload.source", &d.source)?;
    citation(&d.citation)?;
    if let Some(c) = &d.coordinates {
        coordinates("payload.coordinates", c)?;
    }
    Ok(())
}

fn amendment(a: &Amendment) -> Result<(), Invalid> {
    reason(&a.reason)?;
    let unchanged = Amendment {
        reason: a.reason.clone(),
        ..Amendment::default()
    };
    if *a == unchanged {
        return Err(Invalid::new(
            "payload",
            "",
            "an amendment changes at least one detail (date, province, district, locality, coordinates, category, target, perpetrator, summary, country or attributes)",
        ));
    }
    for (field, v) in [
        ("payload.province", &a.province),
        ("payload.category", &a.category),
        ("payload.country", &a.country),
        ("payload.district", &a.district),
        ("payload.locality", &a.locality),
    ] {
        opt_name(field, v)?;
    }
    for (field, v) in [
        ("payload.target", &a.target),
        ("payload.perpetrator", &a.perpetrator),
        ("payload.summary", &a.summary),
    ] {
        opt_text(field, v)?;
    }
    if let Some(c) = &a.coordinates {
        coordinates("payload.coordinates", c)?;
    }
    Ok(())
}

fn report(r: &CasualtyReport, correction: bool) -> Result<(), Invalid> {
    name("payload.source", &r.source)?;
    opt_name("payload.via", &r.via)?;
    if r.via.as_deref() == Some(r.source.as_str()) {
        return Err(Invalid::new(
            "payload.via",
            &r.source,
            "is the source itself; `via` names another source that carried the figures (AFP's figure as carried by Pajhwok: source AFP, via Pajhwok), else leave it out",
        ));
    }
    if r.killed.is_none()
        && r.wounded.is_none()
        && r.attackers_killed.is_none()
        && r.killed_breakdown.is_empty()
        && r.killed_by_status.is_empty()
        && r.wounded_by_status.is_empty()
    {
        return Err(Invalid::new(
            "payload",
            "",
            "a casualty report gives at least one figure: killed, wounded, attackers_killed, or a status of killed_by_status or wounded_by_status",
        ));
    }
    for k in r.killed_breakdown.keys() {
        name("payload.killed_breakdown", k)?;
    }
    opt_text("payload.note", &r.note)?;
    citation(&r.citation)?;
    match (&r.reason, correction) {
        (Some(why), true) => reason(why),
        (None, true) => reason(""),
        (Some(why), false) => text("payload.reason", why),
        (None, false) => Ok(()),
    }
}

/// The consistency of a report's breakdowns by status with its exact totals (skipped with
/// `--allow-inconsistent`): the parts may not add up to more than the exact total of the
/// same report. Killed: `killed` plus `attackers_killed` (everyone the breakdown covers),
/// exact when `killed` is exact and `attackers_killed` is exact or absent; wounded:
/// `wounded`. Without an exact total any breakdown is accepted.
pub(crate) fn consistent(event: &NewEvent) -> Result<(), Invalid> {
    let (Payload::CasualtiesReported(r) | Payload::CasualtiesCorrected(r)) = &event.payload else {
        return Ok(());
    };
    let exact = |f: Option<Figure>| match f {
        Some(Figure::Exact(n)) => Some(n),
        _ => None,
    };
    let attackers = match r.attackers_killed {
        None => Some(0),
        other => exact(other),
    };
    let killed = exact(r.killed).zip(attackers).map(|(k, a)| {
        let words = match a {
            0 => format!("killed {k}"),
            a => format!("killed {k} + attackers_killed {a} = {}", k + a),
        };
        (k + a, words)
    });
    if let Some(e) = status::inconsistency("killed_by_status", &r.killed_by_status, killed) {
        return Err(e);
    }
    let wounded = exact(r.wounded).map(|w| (w, format!("wounded {w}")));
    match status::inconsistency("wounded_by_status", &r.wounded_by_status, wounded) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn responsibility(r: &Responsibility) -> Result<(), Invalid> {
    name("payload.actor", &r.actor)?;
    name("payload.source", &r.source)?;
    opt_text("payload.note", &r.note)?;
    citation(&r.citation)
}

/// The gazetteer for a country given by name or ISO code (Afghanistan when none is given).
pub(crate) fn gazetteer_for(country: Option<&str>) -> Option<&'static Gazetteer> {
    match country {
        None => Some(Gazetteer::afghanistan()),
        Some(c) => Gazetteer::builtin_for_country(c),
    }
}

/// Normalises a province name to the gazetteer's spelling, keeping the raw spelling.
pub(crate) fn normalise_province(
    country: Option<&str>,
    province: &mut String,
    as_given: &mut Option<String>,
    allow_unknown: bool,
) -> Result<(), Invalid> {
    let Some(gazetteer) = gazetteer_for(country) else {
        if allow_unknown {
            return Ok(());
        }
        return Err(Invalid::new(
            "payload.country",
            country.unwrap_or_default(),
            "chronicle has no gazetteer for this country, so its province names cannot be checked; pass --allow-unknown-place to record them as written",
        ));
    };
    match gazetteer.resolve(province) {
        Ok(p) => {
            if p.name != *province {
                if as_given.is_none() {
                    *as_given = Some(province.clone());
                }
                *province = p.name.clone();
            }
            Ok(())
        }
        Err(_) if allow_unknown => Ok(()),
        Err(unknown) => Err(Invalid::new(
            "payload.province",
            province.as_str(),
            unknown.to_string(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::event::EventLine;

    const RECORDED: &str = "2020-07-31T08:00:00Z";

    fn verdict(line: &str) -> Result<(), String> {
        let event = EventLine::parse(line).unwrap();
        plausible(&event, RECORDED.parse().unwrap()).map_err(|e| e.to_string())
    }

    fn opening(incident: &str, date: &str) -> String {
        format!(
            r#"{{"incident": "{incident}", "kind": "incident_reported", "payload": {{"date": "{date}", "province": "Logar", "category": "x"}}}}"#
        )
    }

    fn report(published: &str) -> String {
        format!(
            r#"{{"incident": "a", "kind": "casualties_corrected", "payload": {{"source": "AFP", "killed": 3, "published": "{published}", "reason": "r"}}}}"#
        )
    }

    #[test]
    fn incident_ids_are_slugs_or_dataset_ids() {
        for ok in [
            "2020-07-30-puli-alam",
            "a_b.c-1",
            "acled-AFG123",
            "ucdp-455.2",
        ] {
            assert_eq!(verdict(&opening(ok, "2020-07-30")), Ok(()), "{ok}");
        }
        for bad in [
            "Puli Alam",
            "2020-07-30-Puli-Alam",
            "a/b",
            "acled-A B",
            "ACLED-AFG1",
            "café",
        ] {
            let err = verdict(&opening(bad, "2020-07-30")).unwrap_err();
            assert!(err.contains("is not a slug"), "{bad}: {err}");
        }
        let err = verdict(&opening("Puli Alam 2020", "2020-07-30")).unwrap_err();
        assert!(err.contains("such as `puli-alam-2020`"), "{err}");
        // Only an opening is judged: events on an existing incident name an id already taken.
        let on_existing = r#"{"incident": "Old Id", "kind": "casualties_reported", "payload": {"source": "AFP", "killed": 3}}"#;
        assert_eq!(verdict(on_existing), Ok(()));
    }

    #[test]
    fn incident_dates_from_1900_to_today_anywhere() {
        assert_eq!(verdict(&opening("a", "1900")), Ok(()));
        assert!(verdict(&opening("a", "1899-12-31"))
            .unwrap_err()
            .contains("before 1900"));
        // At 08:00 UTC on 31 July it is 22:00 in UTC+14, the zone furthest ahead: 1 August
        // has begun nowhere...
        assert!(verdict(&opening("a", "2020-08-01"))
            .unwrap_err()
            .contains("in the future"));
        // ...but 31 July has begun everywhere, and a year or span that began is accepted.
        assert_eq!(verdict(&opening("a", "2020-07-31")), Ok(()));
        assert_eq!(verdict(&opening("a", "2020")), Ok(()));
        assert_eq!(verdict(&opening("a", "2020-07-30/2020-08-02")), Ok(()));
        let amend = r#"{"incident": "a", "kind": "incident_amended", "payload": {"date": "2021-01-01", "reason": "r"}}"#;
        assert!(verdict(amend).unwrap_err().contains("in the future"));
    }

    #[test]
    fn publication_not_after_the_recording() {
        assert_eq!(verdict(&report("2020-07-31")), Ok(()));
        assert_eq!(verdict(&report("2020-07-31T08:09:00Z")), Ok(()));
        assert!(verdict(&report("2020-07-31T08:11:00Z"))
            .unwrap_err()
            .contains("is after the time this event is recorded (2020-07-31T08:00:00Z)"));
        // A published day, likewise: 1 August has begun nowhere at 08:00 UTC on 31 July.
        assert!(verdict(&report("2020-08-01")).is_err());
        let claim = r#"{"incident": "a", "kind": "responsibility_claimed", "payload": {"actor": "X", "source": "Y", "published": "2021-01-01"}}"#;
        assert!(verdict(claim).is_err());
    }
}
