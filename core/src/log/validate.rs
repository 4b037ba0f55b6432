//! The rules an event must pass against the log before it is appended: the incident it
//! names exists and takes reports, a correction's source has reported, a retraction's
//! target is in the same stream and not yet retracted, a merge's target is in force; and
//! province names are normalised with the incident's country. The rules of one event on
//! its own are in `domain::rules`, checked first.
//!
//! They read the log through the transaction's stream cache, so they also see the events
//! appended earlier in the same batch.

use crate::domain::event::{Adjudication, NewEvent, Payload};
use crate::domain::rules::{self, normalise_province};
use crate::error::{Invalid, Result};
use crate::store::Reads;
use crate::streams::Streams;
use crate::views::maintain::compute;
use crate::views::{reconcile, BestPolicy, Measure};

/// The state of an incident's stream, as far as validation needs it.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    /// No first report.
    Unknown,
    /// Its first report was retracted.
    Retracted,
    /// Its first report's payload was erased by this redaction.
    Erased(String),
    /// Merged into another incident.
    Merged(String),
    /// Open for reports.
    Active,
}

fn status(db: &dyn Reads, streams: &mut Streams, incident: &str) -> Result<Status> {
    let stream = streams.stream(db, incident)?;
    let opened = stream.events.iter().find_map(|e| match e.payload {
        Payload::IncidentReported(_) => Some(e.id.as_str()),
        _ => None,
    });
    let erased = stream.erased.iter().find(|e| e.kind == "incident_reported");
    Ok(match opened {
        // An erased first report still opened the stream (a merge of it stays in force).
        None => match (erased, stream.merge_in_force(u64::MAX)) {
            (Some(_), Some(into)) => Status::Merged(into.to_string()),
            (Some(e), None) => Status::Erased(e.redaction.clone()),
            (None, _) => Status::Unknown,
        },
        Some(opened) if stream.retraction_of(opened, u64::MAX).is_some() => Status::Retracted,
        Some(_) => match stream.merge_in_force(u64::MAX) {
            Some(into) => Status::Merged(into.to_string()),
            None => Status::Active,
        },
    })
}

/// The incident must exist and take reports.
fn active(db: &dyn Reads, streams: &mut Streams, incident: &str) -> Result<()> {
    let problem = match status(db, streams, incident)? {
        Status::Active => return Ok(()),
        Status::Unknown => "no such incident: report it first (`chronicle report` with --date, --province and --category, or an `incident_reported` event)".to_string(),
        Status::Retracted => "this incident's first report was retracted; report it again under a new incident id".to_string(),
        Status::Erased(by) => format!("this incident's first report was erased by redaction {by}, so the incident is shown in no view; report it again under a new incident id"),
        Status::Merged(into) => format!("this incident was merged into `{into}`; append to `{into}` instead"),
    };
    Err(Invalid::new("incident", incident, problem).into())
}

/// The incident and every incident merged into it (transitively) by a merge in force, whose
/// reports count for it.
fn members(db: &dyn Reads, streams: &mut Streams, incident: &str) -> Result<Vec<String>> {
    let mut all = vec![incident.to_string()];
    let mut i = 0;
    while i < all.len() {
        let merged = streams.merges_into(db, &all[i])?.to_vec();
        for (child, merge_id, _) in merged {
            let undone = streams
                .stream(db, &child)?
                .retraction_of(&merge_id, u64::MAX)
                .is_some();
            if !all.contains(&child) && !undone {
                all.push(child);
            }
        }
        i += 1;
    }
    Ok(all)
}

/// Has `source` a report in force on the incident (or one merged into it)?
fn has_reported(
    db: &dyn Reads,
    streams: &mut Streams,
    incident: &str,
    source: &str,
) -> Result<bool> {
    for member in members(db, streams, incident)? {
        let stream = streams.stream(db, &member)?;
        if stream.events.iter().any(|e| match &e.payload {
            Payload::CasualtiesReported(r) => {
                r.source == source && stream.retraction_of(&e.id, u64::MAX).is_none()
            }
            _ => false,
        }) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The incident's country as last stated by its details (None: not stated).
fn country_of(db: &dyn Reads, streams: &mut Streams, incident: &str) -> Result<Option<String>> {
    let stream = streams.stream(db, incident)?;
    Ok(stream.events.iter().rev().find_map(|e| match &e.payload {
        Payload::IncidentReported(d) => d.country.clone(),
        Payload::IncidentAmended(a) => a.country.clone(),
        _ => None,
    }))
}

/// Normalises the province names of `payload` (of an event on `incident`) as on append.
/// With `strict`, a name that does not resolve is refused (unless `allow_unknown_place`);
/// otherwise it is left as given.
fn normalise_places(
    db: &dyn Reads,
    streams: &mut Streams,
    incident: &str,
    payload: &mut Payload,
    allow_unknown_place: bool,
    strict: bool,
) -> Result<()> {
    let outcome = match payload {
        Payload::IncidentReported(d) => normalise_province(
            d.country.as_deref(),
            &mut d.province,
            &mut d.province_as_given,
            allow_unknown_place,
        ),
        Payload::IncidentAmended(a) => {
            let Some(province) = a.province.as_mut() else {
                return Ok(());
            };
            let country = match &a.country {
                Some(c) => Some(c.clone()),
                None => country_of(db, streams, incident)?,
            };
            normalise_province(
                country.as_deref(),
                province,
                &mut a.province_as_given,
                allow_unknown_place,
            )
        }
        _ => Ok(()),
    };
    match outcome {
        Err(invalid) if strict => Err(invalid.into()),
        _ => Ok(()),
    }
}

/// The payload as it would be stored: place names normalised as on append. Used to
/// recognise a resubmitted event (same id) whose stored payload was normalised; names that
/// do not resolve are left as given.
pub(crate) fn as_stored(
    db: &dyn Reads,
    streams: &mut Streams,
    event: &NewEvent,
    allow_unknown_place: bool,
) -> Result<Payload> {
    let mut payload = event.payload.clone();
    normalise_places(
        db,
        streams,
        &event.incident,
        &mut payload,
        allow_unknown_place,
        false,
    )?;
    Ok(payload)
}

/// Checks an event against the rules and the log, normalising place names.
pub(crate) fn event(
    db: &dyn Reads,
    streams: &mut Streams,
    event: &mut NewEvent,
    allow_unknown_place: bool,
) -> Result<()> {
    rules::check(event)?;
    let incident = event.incident.as_str();
    match &event.payload {
        Payload::IncidentReported(_) => {
            normalise_places(
                db,
                streams,
                incident,
                &mut event.payload,
                allow_unknown_place,
                true,
            )?;
            if let Some(seq) = streams.stream(db, incident)?.first_seq {
                return Err(Invalid::new(
                    "incident",
                    incident,
                    format!("this incident already exists (seq {seq}); change its details with `chronicle amend` (an `incident_amended` event), or choose a new incident id"),
                )
                .into());
            }
        }
        Payload::CasualtiesReported(_)
        | Payload::ResponsibilityClaimed(_)
        | Payload::ResponsibilityDenied(_)
        | Payload::IncidentAssessed(_) => active(db, streams, incident)?,
        Payload::CasualtiesCorrected(r) => {
            active(db, streams, incident)?;
            if !has_reported(db, streams, incident, &r.source)? {
                return Err(Invalid::new(
                    "payload.source",
                    &r.source,
                    format!("a correction is made by the source that reported, and this source has no report on `{incident}` in force; record a report (`casualties_reported`) instead"),
                )
                .into());
            }
        }
        Payload::IncidentAmended(_) => {
            active(db, streams, incident)?;
            normalise_places(
                db,
                streams,
                incident,
                &mut event.payload,
                allow_unknown_place,
                true,
            )?;
        }
        Payload::EventRetracted(r) => retraction(db, streams, incident, &r.event)?,
        Payload::EventRedacted(r) => redaction(db, incident, &r.event)?,
        Payload::IncidentMerged(m) => {
            active(db, streams, incident)?;
            merge_target(db, streams, &m.into)?;
        }
        Payload::IncidentAdjudicated(a) => {
            active(db, streams, incident)?;
            inside_range(db, streams, incident, a)?;
        }
        // A description needs nothing from the log: its stream is checked by the rules,
        // and a later one of the same name replaces it.
        Payload::SourceDescribed(_) => {}
    }
    Ok(())
}

/// An adjudication's counts must lie inside the sources' range as it stands now (the
/// incident's `low..high` with every source merged into it; above `high` when that is "at
/// least"), unless it says `outside_range`. A count no source gave has no range: it is
/// refused the same way.
fn inside_range(
    db: &dyn Reads,
    streams: &mut Streams,
    incident: &str,
    a: &Adjudication,
) -> Result<()> {
    if a.outside_range {
        return Ok(());
    }
    let state = compute(streams, db, incident, u64::MAX, None, 0)?;
    let sources = state.as_ref().map_or(&[][..], |s| s.sources.as_slice());
    let counts = [
        ("payload.killed", Measure::Killed, a.killed),
        ("payload.wounded", Measure::Wounded, a.wounded),
    ];
    for (field, m, n) in counts {
        let Some(n) = n else { continue };
        let r = reconcile::range(sources, m, &BestPolicy::Median);
        let (Some(low), Some(high)) = (r.low, r.high) else {
            return Err(Invalid::new(
                field,
                n,
                format!(
                    "no source has given a {} figure on `{incident}`, so there is no range to decide within; record the sources' figures first, or pass --outside-range and say in the reason where the estimate comes from",
                    m.name()
                ),
            )
            .into());
        };
        if n < low || (n > high && !r.open_high) {
            let plus = if r.open_high { "+" } else { "" };
            let given: Vec<String> = sources
                .iter()
                .filter_map(|s| s.figure(m).map(|f| format!("{} {}", s.source, f.prose())))
                .collect();
            return Err(Invalid::new(
                field,
                n,
                format!(
                    "lies outside the sources' range {low}-{high}{plus} ({}); give a number from {low} to {high}{}, or pass --outside-range and say in the reason why the estimate lies outside",
                    given.join(", "),
                    if r.open_high { " or above" } else { "" }
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// A retraction of event `target` in `incident`'s stream: the event exists, is in this
/// stream, is not a retraction, and is not retracted yet.
fn retraction(db: &dyn Reads, streams: &mut Streams, incident: &str, target: &str) -> Result<()> {
    // Usually in the stream, which is cached: no read of the log.
    let cached = streams
        .stream(db, incident)?
        .event(target)
        .map(|e| e.payload.kind());
    let event = match cached {
        Some(kind) => (incident.to_string(), kind.to_string()),
        None => match db.event_by_id(target)? {
            Some(e) => (e.incident, e.kind),
            None => {
                return Err(Invalid::new(
                    "payload.event",
                    target,
                    "no event with this id is in the log (find ids with `chronicle log`)",
                )
                .into())
            }
        },
    };
    let (event_incident, event_kind) = event;
    if event_incident != incident {
        return Err(Invalid::new(
            "incident",
            incident,
            format!(
                "event {target} belongs to incident `{}`; a retraction goes in the stream of the event it retracts",
                event_incident
            ),
        )
        .into());
    }
    if event_kind == "event_retracted" {
        return Err(Invalid::new(
            "payload.event",
            target,
            "this event is itself a retraction; a retraction cannot be retracted (append the retracted event again instead)",
        )
        .into());
    }
    if let Some(seq) = streams
        .stream(db, incident)?
        .retraction_of(target, u64::MAX)
    {
        return Err(Invalid::new(
            "payload.event",
            target,
            format!("this event was already retracted (seq {seq})"),
        )
        .into());
    }
    Ok(())
}

/// The kinds whose payload a redaction cannot erase: erasing it would undo what the event
/// does to other events (a retraction, a merge, a redaction), not only hide its text.
pub(crate) const NOT_REDACTABLE: [&str; 3] =
    ["event_retracted", "incident_merged", "event_redacted"];

/// A redaction of event `target` in `incident`'s stream: the event exists, is in this
/// stream, is of a kind whose payload can be erased, and is not erased yet.
fn redaction(db: &dyn Reads, incident: &str, target: &str) -> Result<()> {
    let Some(event) = db.event_by_id(target)? else {
        return Err(Invalid::new(
            "payload.event",
            target,
            "no event with this id is in the log (find ids with `chronicle log`)",
        )
        .into());
    };
    if event.incident != incident {
        return Err(Invalid::new(
            "incident",
            incident,
            format!(
                "event {target} belongs to incident `{}`; a redaction goes in the stream of the event it redacts",
                event.incident
            ),
        )
        .into());
    }
    if NOT_REDACTABLE.contains(&event.kind.as_str()) {
        return Err(Invalid::new(
            "payload.event",
            target,
            format!(
                "this event is an `{}`: erasing its payload would undo what it does to other events, so it cannot be redacted (the kinds that can: every kind but {})",
                event.kind,
                NOT_REDACTABLE.join(", ")
            ),
        )
        .into());
    }
    if let Some(by) = &event.redacted_by {
        return Err(Invalid::new(
            "payload.event",
            target,
            format!("this event's payload was already erased by redaction {by}"),
        )
        .into());
    }
    Ok(())
}

/// The incident a merge goes into must be in force.
fn merge_target(db: &dyn Reads, streams: &mut Streams, into: &str) -> Result<()> {
    let problem = match status(db, streams, into)? {
        Status::Active => return Ok(()),
        Status::Merged(further) => format!(
            "that incident was itself merged into `{further}`; merge into `{further}` instead"
        ),
        Status::Unknown | Status::Retracted | Status::Erased(_) => {
            "no such incident in force to merge into".into()
        }
    };
    Err(Invalid::new("payload.into", into, problem).into())
}
