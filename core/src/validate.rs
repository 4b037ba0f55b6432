//! The rules an event must pass before it is appended. Each refusal names the field and the
//! value and says what would be accepted.
//!
//! Rules that need the log read it inside the append transaction, so they also see the
//! events appended earlier in the same batch.

use rusqlite::Connection;

use crate::project::store::Cache;

use crate::error::Invalid;
use crate::event::{
    Amendment, CasualtyReport, Coordinates, IncidentDetails, NewEvent, Payload, Responsibility,
    MAX_NAME_LEN, MAX_TEXT_LEN,
};
use crate::gazetteer::Gazetteer;

/// Why validation failed.
#[derive(Debug)]
pub(crate) enum Refusal {
    Invalid(Invalid),
    Sqlite(rusqlite::Error),
}

impl From<Invalid> for Refusal {
    fn from(i: Invalid) -> Self {
        Refusal::Invalid(i)
    }
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Self {
        Refusal::Sqlite(e)
    }
}

type Checked<T = ()> = Result<T, Refusal>;

/// The incident's current version (its number of events).
pub(crate) fn stream_version(conn: &Connection, incident: &str) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT IFNULL(MAX(version), 0) FROM events WHERE incident = ?1",
        [incident],
        |r| r.get(0),
    )
}

/// A name: an incident id, source, actor. Non-empty, no surrounding blanks, no control characters.
fn name(field: &str, value: &str) -> Result<(), Invalid> {
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
fn text(field: &str, value: &str) -> Result<(), Invalid> {
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
pub(crate) fn event_id(id: &str) -> Result<(), Invalid> {
    name("id", id)?;
    if id.len() > 100 {
        return Err(Invalid::new("id", id, "is longer than 100 bytes"));
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
    if r.killed.is_none()
        && r.wounded.is_none()
        && r.attackers_killed.is_none()
        && r.killed_breakdown.is_empty()
    {
        return Err(Invalid::new(
            "payload",
            "",
            "a casualty report gives at least one figure: killed, wounded or attackers_killed",
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

fn responsibility(r: &Responsibility) -> Result<(), Invalid> {
    name("payload.actor", &r.actor)?;
    name("payload.source", &r.source)?;
    opt_text("payload.note", &r.note)?;
    citation(&r.citation)
}

/// The state of an incident's stream, as far as validation needs it.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    /// No incident_reported in force.
    Unknown,
    /// Its first report was retracted.
    Retracted,
    /// Merged into another incident (the merge is in force).
    Merged(String),
    /// Open for reports.
    Active,
}

/// The retraction (its seq) of event `id` of stream `incident`, if any: retractions live in
/// the stream of the event they retract.
fn is_retracted(
    conn: &Connection,
    cache: &mut Cache,
    incident: &str,
    id: &str,
) -> rusqlite::Result<Option<u64>> {
    Ok(cache.stream(conn, incident)?.retraction_of(id, u64::MAX))
}

fn status(conn: &Connection, cache: &mut Cache, incident: &str) -> rusqlite::Result<Status> {
    let stream = cache.stream(conn, incident)?;
    let opened = stream.events.iter().find_map(|e| match e.payload {
        Payload::IncidentReported(_) => Some(e.id.as_str()),
        _ => None,
    });
    let found = match opened {
        None => Status::Unknown,
        Some(opened) if stream.retraction_of(opened, u64::MAX).is_some() => Status::Retracted,
        Some(_) => match stream.merge_in_force(u64::MAX) {
            Some(into) => Status::Merged(into.to_string()),
            None => Status::Active,
        },
    };
    #[cfg(debug_assertions)]
    debug_assert_eq!(
        found,
        sql::status(conn, incident)?,
        "status of `{incident}`"
    );
    Ok(found)
}

/// The incident must exist and take reports.
fn active(conn: &Connection, cache: &mut Cache, incident: &str) -> Checked {
    match status(conn, cache, incident)? {
        Status::Active => Ok(()),
        Status::Unknown => Err(Invalid::new(
            "incident",
            incident,
            "no such incident: report it first (`chronicle report` with --date, --province and --category, or an `incident_reported` event)",
        )
        .into()),
        Status::Retracted => Err(Invalid::new(
            "incident",
            incident,
            "this incident's first report was retracted; report it again under a new incident id",
        )
        .into()),
        Status::Merged(into) => Err(Invalid::new(
            "incident",
            incident,
            format!("this incident was merged into `{into}`; append to `{into}` instead"),
        )
        .into()),
    }
}

/// The incident and every incident merged into it (transitively), whose reports count for it.
fn members(conn: &Connection, cache: &mut Cache, incident: &str) -> rusqlite::Result<Vec<String>> {
    let mut all = vec![incident.to_string()];
    let mut i = 0;
    while i < all.len() {
        let merged = cache.merges_into(conn, &all[i])?.to_vec();
        for (child, merge_id, _) in merged {
            if !all.contains(&child) && is_retracted(conn, cache, &child, &merge_id)?.is_none() {
                all.push(child);
            }
        }
        i += 1;
    }
    Ok(all)
}

/// Has `source` a report in force on the incident (or one merged into it)?
fn has_reported(
    conn: &Connection,
    cache: &mut Cache,
    incident: &str,
    source: &str,
) -> rusqlite::Result<bool> {
    let mut found = false;
    for member in members(conn, cache, incident)? {
        let stream = cache.stream(conn, &member)?;
        if stream.events.iter().any(|e| match &e.payload {
            Payload::CasualtiesReported(r) => {
                r.source == source && stream.retraction_of(&e.id, u64::MAX).is_none()
            }
            _ => false,
        }) {
            found = true;
            break;
        }
    }
    #[cfg(debug_assertions)]
    debug_assert_eq!(
        found,
        sql::has_reported(conn, incident, source)?,
        "has `{source}` reported on `{incident}`"
    );
    Ok(found)
}

/// The same rules as direct indexed reads of the log; debug builds (the tests) check the
/// cached answers against them.
#[cfg(debug_assertions)]
mod sql {
    use super::Status;
    use rusqlite::{Connection, OptionalExtension};

    fn is_retracted(conn: &Connection, event_id: &str) -> rusqlite::Result<Option<u64>> {
        conn.query_row(
            "SELECT seq FROM events WHERE kind = 'event_retracted' AND json_extract(payload, '$.event') = ?1",
            [event_id],
            |r| r.get(0),
        )
        .optional()
    }

    pub(super) fn status(conn: &Connection, incident: &str) -> rusqlite::Result<Status> {
        let opened: Option<String> = conn
            .query_row(
                "SELECT id FROM events WHERE incident = ?1 AND kind = 'incident_reported'",
                [incident],
                |r| r.get(0),
            )
            .optional()?;
        let Some(opened) = opened else {
            return Ok(Status::Unknown);
        };
        if is_retracted(conn, &opened)?.is_some() {
            return Ok(Status::Retracted);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT id, json_extract(payload, '$.into') FROM events
             WHERE incident = ?1 AND kind = 'incident_merged' ORDER BY seq DESC",
        )?;
        let merges = stmt
            .query_map([incident], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, into) in merges {
            if is_retracted(conn, &id)?.is_none() {
                return Ok(Status::Merged(into));
            }
        }
        Ok(Status::Active)
    }

    /// The incident and every incident merged into it (transitively), whose reports count for it.
    fn members(conn: &Connection, incident: &str) -> rusqlite::Result<Vec<String>> {
        let mut all = vec![incident.to_string()];
        let mut i = 0;
        while i < all.len() {
            let mut stmt = conn.prepare_cached(
                "SELECT incident, id FROM events
                 WHERE kind = 'incident_merged' AND json_extract(payload, '$.into') = ?1",
            )?;
            let merged = stmt
                .query_map([&all[i]], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (child, merge_id) in merged {
                if !all.contains(&child) && is_retracted(conn, &merge_id)?.is_none() {
                    all.push(child);
                }
            }
            i += 1;
        }
        Ok(all)
    }

    /// Has `source` a report in force on the incident (or one merged into it)?
    pub(super) fn has_reported(
        conn: &Connection,
        incident: &str,
        source: &str,
    ) -> rusqlite::Result<bool> {
        for member in members(conn, incident)? {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM events WHERE incident = ?1 AND kind = 'casualties_reported'
                 AND json_extract(payload, '$.source') = ?2",
            )?;
            let ids = stmt
                .query_map([&member, source], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for id in ids {
                if is_retracted(conn, &id)?.is_none() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// The gazetteer for a country given by name or ISO code (Afghanistan when none is given).
fn gazetteer_for(country: Option<&str>) -> Option<&'static Gazetteer> {
    match country {
        None => Some(Gazetteer::afghanistan()),
        Some(c) => Gazetteer::builtin_for_country(c),
    }
}

/// Normalises a province name to the gazetteer's spelling, keeping the raw spelling.
fn normalise_province(
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

/// The incident's country as last stated by its details (None: not stated).
fn country_of(
    conn: &Connection,
    cache: &mut Cache,
    incident: &str,
) -> rusqlite::Result<Option<String>> {
    let stream = cache.stream(conn, incident)?;
    Ok(stream.events.iter().rev().find_map(|e| match &e.payload {
        Payload::IncidentReported(d) => d.country.clone(),
        Payload::IncidentAmended(a) => a.country.clone(),
        _ => None,
    }))
}

/// The payload as it would be stored: place names normalised as on append. Used to
/// recognise a resubmitted event (same id) whose stored payload was normalised; names that
/// do not resolve are left as given.
pub(crate) fn as_stored(
    conn: &Connection,
    cache: &mut Cache,
    event: &NewEvent,
    allow_unknown_place: bool,
) -> rusqlite::Result<Payload> {
    let mut payload = event.payload.clone();
    match &mut payload {
        Payload::IncidentReported(d) => {
            let _unresolved = normalise_province(
                d.country.as_deref(),
                &mut d.province,
                &mut d.province_as_given,
                allow_unknown_place,
            );
        }
        Payload::IncidentAmended(a) => {
            if let Some(province) = a.province.as_mut() {
                let country = match &a.country {
                    Some(c) => Some(c.clone()),
                    None => country_of(conn, cache, &event.incident)?,
                };
                let _unresolved = normalise_province(
                    country.as_deref(),
                    province,
                    &mut a.province_as_given,
                    allow_unknown_place,
                );
            }
        }
        _ => {}
    }
    Ok(payload)
}

/// Checks an event against the rules and the log, normalising place names.
pub(crate) fn event(
    conn: &Connection,
    cache: &mut Cache,
    event: &mut NewEvent,
    allow_unknown_place: bool,
) -> Checked {
    name("incident", &event.incident)?;
    let incident = event.incident.as_str();
    match &mut event.payload {
        Payload::IncidentReported(d) => {
            details(d)?;
            normalise_province(
                d.country.as_deref(),
                &mut d.province,
                &mut d.province_as_given,
                allow_unknown_place,
            )?;
            if let Some(seq) = cache.stream(conn, incident)?.first_seq {
                return Err(Invalid::new(
                    "incident",
                    incident,
                    format!("this incident already exists (seq {seq}); change its details with `chronicle amend` (an `incident_amended` event), or choose a new incident id"),
                )
                .into());
            }
        }
        Payload::CasualtiesReported(r) => {
            report(r, false)?;
            active(conn, cache, incident)?;
        }
        Payload::CasualtiesCorrected(r) => {
            report(r, true)?;
            active(conn, cache, incident)?;
            if !has_reported(conn, cache, incident, &r.source)? {
                return Err(Invalid::new(
                    "payload.source",
                    &r.source,
                    format!("a correction is made by the source that reported, and this source has no report on `{incident}` in force; record a report (`casualties_reported`) instead"),
                )
                .into());
            }
        }
        Payload::ResponsibilityClaimed(r) | Payload::ResponsibilityDenied(r) => {
            responsibility(r)?;
            active(conn, cache, incident)?;
        }
        Payload::IncidentAmended(a) => {
            amendment(a)?;
            active(conn, cache, incident)?;
            if let Some(province) = a.province.as_mut() {
                let country = match &a.country {
                    Some(c) => Some(c.clone()),
                    None => country_of(conn, cache, incident)?,
                };
                normalise_province(
                    country.as_deref(),
                    province,
                    &mut a.province_as_given,
                    allow_unknown_place,
                )?;
            }
        }
        Payload::EventRetracted(r) => {
            reason(&r.reason)?;
            event_id(&r.event).map_err(|e| e.within("payload"))?;
            let Some(target) = crate::log::event_by_id(conn, &r.event)? else {
                return Err(Invalid::new(
                    "payload.event",
                    &r.event,
                    "no event with this id is in the log (find ids with `chronicle log`)",
                )
                .into());
            };
            if target.incident != incident {
                return Err(Invalid::new(
                    "incident",
                    incident,
                    format!(
                        "event {} belongs to incident `{}`; a retraction goes in the stream of the event it retracts",
                        r.event, target.incident
                    ),
                )
                .into());
            }
            if target.kind == "event_retracted" {
                return Err(Invalid::new(
                    "payload.event",
                    &r.event,
                    "this event is itself a retraction; a retraction cannot be retracted (append the retracted event again instead)",
                )
                .into());
            }
            if let Some(seq) = is_retracted(conn, cache, incident, &r.event)? {
                return Err(Invalid::new(
                    "payload.event",
                    &r.event,
                    format!("this event was already retracted (seq {seq})"),
                )
                .into());
            }
        }
        Payload::IncidentMerged(m) => {
            reason(&m.reason)?;
            name("payload.into", &m.into)?;
            if m.into == incident {
                return Err(Invalid::new(
                    "payload.into",
                    &m.into,
                    "an incident cannot be merged into itself",
                )
                .into());
            }
            active(conn, cache, incident)?;
            match status(conn, cache, &m.into)? {
                Status::Active => {}
                Status::Merged(further) => {
                    return Err(Invalid::new(
                        "payload.into",
                        &m.into,
                        format!("that incident was itself merged into `{further}`; merge into `{further}` instead"),
                    )
                    .into())
                }
                Status::Unknown | Status::Retracted => {
                    return Err(Invalid::new(
                        "payload.into",
                        &m.into,
                        "no such incident in force to merge into",
                    )
                    .into())
                }
            }
        }
    }
    Ok(())
}
