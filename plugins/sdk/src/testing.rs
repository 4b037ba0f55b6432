//! Helpers for testing plugins: a small built-in chronology and a way to
//! run an [`Exporter`] on it through the same JSON path the host uses.
//!
//! `chronicle plugins check` runs every plugin on [`sample_document`] too.
//!
//! The sample holds five incidents of July 2020 in Afghanistan, as reported
//! in the English Wikipedia article "July 2020 Afghanistan attacks": one
//! disputed (Puli Alam: AFP 17 killed and 21 wounded, the Ministry of
//! Defense 8 and 30, the Taliban denied responsibility), two with "at
//! least" figures, one with attackers killed counted apart, one whose
//! province has no known centroid (so it cannot be mapped), two with
//! reported coordinates.

use crate::view::{
    Adjudication, Assessment, Coordinates, DatePrecision, Figure, Filters, Grade, GradeInfo, Group,
    Incident, LatLon, LogCheckpoint, Options, Point, PointKind, Policy, Provenance, Qualifier,
    Range, Responsibility, SourceFigures, Stance, Totals, ViewDocument, SCHEMA,
};
use crate::{DocumentHead, Exporter, StreamExporter};
use std::collections::BTreeMap;

const ARTICLE: &str = "https://en.wikipedia.org/wiki/July_2020_Afghanistan_attacks";

fn exact(n: u64) -> Figure {
    Figure {
        text: n.to_string(),
        qualifier: Qualifier::Exact,
        low: n,
        high: Some(n),
        best: Some(n),
    }
}

fn at_least(text: &str, n: u64) -> Figure {
    Figure {
        text: text.to_owned(),
        qualifier: Qualifier::AtLeast,
        low: n,
        high: None,
        best: None,
    }
}

fn at_least_range(n: u64) -> Range {
    Range {
        open_high: true,
        ..Range::exact(n)
    }
}

fn event_id(seq: u64) -> String {
    format!("01900000-0000-7000-8000-{seq:012}")
}

fn wikipedia(seq: u64, killed: Option<Figure>, wounded: Option<Figure>) -> SourceFigures {
    SourceFigures {
        source: "Wikipedia".to_owned(),
        published: Some("2020-08-01".to_owned()),
        killed,
        wounded,
        attackers_killed: None,
        killed_by_status: Default::default(),
        wounded_by_status: Default::default(),
        note: None,
        citation: Some(ARTICLE.to_owned()),
        reason: None,
        event_seq: seq,
        event_id: event_id(seq),
        corrected: false,
        revisions: Vec::new(),
        via: None,
        source_type: None,
        party: false,
    }
}

#[allow(clippy::too_many_arguments)]
fn incident(
    id: &str,
    date: &str,
    province: &str,
    code: &str,
    centroid: Option<(f64, f64)>,
    category: &str,
    last_seq: u64,
) -> Incident {
    Incident {
        incident: id.to_owned(),
        date: date.to_owned(),
        date_start: date.to_owned(),
        date_end: date.to_owned(),
        date_precision: DatePrecision::Day,
        country: Some("Afghanistan".to_owned()),
        province: province.to_owned(),
        province_code: Some(code.to_owned()),
        province_centroid: centroid.map(|(lat, lon)| LatLon { lat, lon }),
        province_country: Some("Afghanistan".to_owned()),
        district: None,
        locality: None,
        coordinates: None,
        category: category.to_owned(),
        target: None,
        perpetrator: None,
        summary: None,
        killed: Range::default(),
        wounded: Range::default(),
        attackers_killed: Range::default(),
        killed_by_status: Default::default(),
        wounded_by_status: Default::default(),
        disputed: false,
        sources: Vec::new(),
        responsibility: Vec::new(),
        merged_from: Vec::new(),
        redactions: Vec::new(),
        grade: Some(suggested(Grade::Weak, "one source")),
        adjudication: None,
        last_seq,
        last_recorded: Some(format!("2020-08-01T09:{:02}:00Z", last_seq)),
        first_recorded: Some(format!("2020-08-01T09:{:02}:00Z", last_seq)),
    }
}

/// A grade suggested from the data.
fn suggested(grade: Grade, reason: &str) -> GradeInfo {
    GradeInfo {
        grade,
        suggested: true,
        reason: reason.to_owned(),
        assessment: None,
        history: Vec::new(),
    }
}

/// A recorder's assessment at `seq`.
fn assessed(grade: Grade, reason: &str, seq: u64) -> Assessment {
    Assessment {
        grade,
        reason: reason.to_owned(),
        event_seq: seq,
        event_id: event_id(seq),
        recorded_at: format!("2020-08-01T09:{:02}:00Z", seq),
    }
}

/// The sample incidents, sorted by date then id.
fn incidents() -> Vec<Incident> {
    vec![nangarhar(), kunduz(), aybak(), faryab(), puli_alam()]
}

/// A suicide bombing of the police in Nangarhar, one source.
fn nangarhar() -> Incident {
    Incident {
        target: Some("Afghan police".to_owned()),
        perpetrator: Some("Taliban".to_owned()),
        summary: Some(
            "Four police officers were killed and 11 more wounded by a Taliban suicide bomber."
                .to_owned(),
        ),
        killed: Range::exact(4),
        wounded: Range::exact(11),
        sources: vec![wikipedia(2, Some(exact(4)), Some(exact(11)))],
        grade: Some(GradeInfo {
            grade: Grade::Confirmed,
            suggested: false,
            reason: "the provincial police spokesman confirmed the toll".to_owned(),
            assessment: Some(assessed(
                Grade::Confirmed,
                "the provincial police spokesman confirmed the toll",
                21,
            )),
            history: vec![assessed(Grade::Fair, "two agencies agree", 20)],
        }),
        ..incident(
            "2020-07-08-nangarhar-police",
            "2020-07-08",
            "Nangarhar",
            "AF-NAN",
            Some((34.17, 70.62)),
            "suicide bombing",
            2,
        )
    }
}

/// Attacks on checkpoints in Kunduz: an open-ended ("at least") figure.
fn kunduz() -> Incident {
    Incident {
        target: Some("Afghan security forces".to_owned()),
        perpetrator: Some("Taliban".to_owned()),
        summary: Some(
            "Taliban insurgents attacked multiple checkpoints, killing at least 14 members \
         of the Afghan security forces."
                .to_owned(),
        ),
        killed: at_least_range(14),
        sources: vec![wikipedia(4, Some(at_least("at least 14", 14)), None)],
        ..incident(
            "2020-07-12-kunduz-checkpoints",
            "2020-07-12",
            "Kunduz",
            "AF-KDZ",
            Some((36.73, 68.86)),
            "armed attack",
            4,
        )
    }
}

/// The attack on the NDS compound in Aybak: a locality, and attackers killed apart.
fn aybak() -> Incident {
    Incident {
        district: Some("Aybak".to_owned()),
        locality: Some("Aybak".to_owned()),
        coordinates: Some(Coordinates {
            lat: 36.2647,
            lon: 68.0155,
            precision: Some("locality".to_owned()),
        }),
        target: Some("National Directorate of Security compound".to_owned()),
        perpetrator: Some("Taliban".to_owned()),
        summary: Some(
            "The Taliban attacked a compound of the intelligence agency with a suicide car \
         bomb and two gunmen. At least 11 intelligence personnel were killed in addition \
         to all three attackers; 63 people were wounded."
                .to_owned(),
        ),
        killed: at_least_range(11),
        wounded: Range::exact(63),
        attackers_killed: Range::exact(3),
        sources: vec![SourceFigures {
            attackers_killed: Some(Figure {
                text: "all three attackers".to_owned(),
                ..exact(3)
            }),
            ..wikipedia(
                7,
                Some(at_least("at least 11 intelligence personnel", 11)),
                Some(exact(63)),
            )
        }],
        ..incident(
            "2020-07-13-aybak-nds-compound",
            "2020-07-13",
            "Samangan",
            "AF-SAM",
            Some((35.92, 67.69)),
            "suicide car bombing",
            7,
        )
    }
}

/// A shooting at a mosque in Faryab: no coordinates, a note on the source.
fn faryab() -> Incident {
    Incident {
        target: Some("worshippers at a mosque".to_owned()),
        perpetrator: Some("Taliban".to_owned()),
        summary: Some(
            "Four people were killed after the Taliban opened fire on them while they were \
         praying inside a mosque."
                .to_owned(),
        ),
        killed: Range::exact(4),
        sources: vec![SourceFigures {
            killed_by_status: Default::default(),
            wounded_by_status: Default::default(),
            note: Some(
                "The article gives no date; it reports the attack as a separate incident \
             on the day of the 14 July Kabul bombing."
                    .to_owned(),
            ),
            ..wikipedia(9, Some(exact(4)), None)
        }],
        ..incident(
            "2020-07-14-faryab-mosque",
            "2020-07-14",
            "Faryab",
            "AF-FYB",
            None,
            "shooting",
            9,
        )
    }
}

/// The Puli Alam car bombing: two sources that disagree, a denial, a merged duplicate.
fn puli_alam() -> Incident {
    Incident {
        district: Some("Puli Alam".to_owned()),
        locality: Some("Puli Alam".to_owned()),
        coordinates: Some(Coordinates {
            lat: 33.9953,
            lon: 69.0227,
            precision: Some("locality".to_owned()),
        }),
        target: Some("Afghan security forces".to_owned()),
        perpetrator: Some("Taliban (alleged)".to_owned()),
        summary: Some(
            "A suicide car bomb exploded in Puli Alam while many shoppers were nearby; it \
         targeted Afghan security forces."
                .to_owned(),
        ),
        killed: Range {
            low: Some(8),
            best: Some(12),
            high: Some(17),
            open_high: false,
            coded: false,
        },
        wounded: Range {
            low: Some(21),
            best: Some(25),
            high: Some(30),
            open_high: false,
            coded: false,
        },
        killed_by_status: Default::default(),
        wounded_by_status: Default::default(),
        disputed: true,
        grade: Some(suggested(Grade::Contested, "the sources disagree")),
        sources: vec![
            SourceFigures {
                source: "AFP".to_owned(),
                published: Some("2020-07-30".to_owned()),
                killed: Some(exact(17)),
                wounded: Some(exact(21)),
                attackers_killed: None,
                killed_by_status: Default::default(),
                wounded_by_status: Default::default(),
                note: None,
                citation: Some(format!("{ARTICLE}#Puli_Alam_suicide_car_bombing")),
                reason: None,
                event_seq: 12,
                event_id: event_id(12),
                corrected: false,
                revisions: Vec::new(),
                via: None,
                source_type: None,
                party: false,
            },
            SourceFigures {
                source: "Ministry of Defense".to_owned(),
                published: Some("2020-07-30".to_owned()),
                killed: Some(exact(8)),
                wounded: Some(exact(30)),
                attackers_killed: None,
                killed_by_status: Default::default(),
                wounded_by_status: Default::default(),
                note: None,
                citation: None,
                reason: None,
                event_seq: 13,
                event_id: event_id(13),
                corrected: false,
                revisions: Vec::new(),
                via: None,
                source_type: None,
                party: false,
            },
        ],
        responsibility: vec![Responsibility {
            actor: "Taliban".to_owned(),
            stance: Stance::Denied,
            source: "Taliban spokesman".to_owned(),
            published: Some("2020-07-30".to_owned()),
            event_seq: 14,
        }],
        merged_from: vec!["2020-07-30-logar-car-bomb".to_owned()],
        ..incident(
            "2020-07-30-puli-alam",
            "2020-07-30",
            "Logar",
            "AF-LOG",
            Some((34.01, 69.19)),
            "suicide car bombing",
            15,
        )
    }
}

/// Totals over `incidents`, the way the core library sums them
/// ([`Range::add`]), with provinces sorted by name.
pub fn totals_of(incidents: &[Incident]) -> Totals {
    let mut by_province: BTreeMap<&str, Group> = BTreeMap::new();
    let mut killed = Range::default();
    let mut wounded = Range::default();
    for i in incidents {
        killed = killed.add(&i.killed);
        wounded = wounded.add(&i.wounded);
        let g = by_province.entry(&i.province).or_insert_with(|| Group {
            key: i.province.clone(),
            incidents: 0,
            killed: Range::default(),
            wounded: Range::default(),
            adjudicated: 0,
            coded: 0,
        });
        g.incidents += 1;
        g.coded += u64::from(i.killed.coded || i.wounded.coded);
        g.killed = g.killed.add(&i.killed);
        g.wounded = g.wounded.add(&i.wounded);
    }
    Totals {
        incidents: incidents.len() as u64,
        killed,
        wounded,
        by_province: by_province.into_values().collect(),
        coded: incidents
            .iter()
            .filter(|i| i.killed.coded || i.wounded.coded)
            .count() as u64,
    }
}

/// A small chronology: five incidents of July 2020 in Afghanistan, at log
/// checkpoint 15, rendered at the head of the log with the median policy.
pub fn sample_document() -> ViewDocument {
    let incidents = incidents();
    let totals = totals_of(&incidents);
    ViewDocument {
        schema: SCHEMA.to_owned(),
        provenance: Provenance {
            log_seq: 15,
            log_hash: Some(
                "9f2c4e1ab37d5c08e6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7".to_owned(),
            ),
            point: Point {
                kind: PointKind::Head,
                value: None,
            },
            policy: Policy {
                best: "median".to_owned(),
            },
            generator: "chronicle 0.1.0".to_owned(),
            filters: Filters {
                date_from: Some("2020-07-01".to_owned()),
                date_to: Some("2020-07-31".to_owned()),
                ..Filters::default()
            },
            exporter: None,
            checkpoint: Some(LogCheckpoint {
                origin: "chronicle".to_owned(),
                tree_size: 15,
                root_hash: "n6Lj5Ws5iE0cL3s+y3b1DZ8xqcJ3R5o2VdE2Oq3x9vM=".to_owned(),
                note: "chronicle\n15\nn6Lj5Ws5iE0cL3s+y3b1DZ8xqcJ3R5o2VdE2Oq3x9vM=\n".to_owned(),
            }),
        },
        incidents,
        totals,
    }
}

/// An adjudication in force (`applied`) of 12 killed, recorded at seq 39, with `reason`
/// (user text: pass markup to check that an exporter escapes it); the plugins' tests set it
/// on an incident of [`sample_document`] and change the fields they test.
pub fn sample_adjudication(reason: &str) -> Adjudication {
    Adjudication {
        killed: Some(12),
        wounded: None,
        reason: reason.to_owned(),
        outside_range: false,
        applied: true,
        event_seq: 39,
        event_id: "e-39".to_owned(),
        recorded_at: "2020-08-02T08:00:00.000000Z".to_owned(),
    }
}

/// [`sample_document`] with one count that rests on coded figures only: the Faryab mosque
/// shooting (the fourth incident) reported by ACLED alone, its toll unknown and coded as 3
/// (`coded:3`: "3 (coded; unknown)"), so that its killed range is `coded`; the totals
/// recomputed. The plugins' tests check that they mark it, and only it.
pub fn sample_coded_document() -> ViewDocument {
    let mut doc = sample_document();
    if let Some(i) = doc
        .incidents
        .iter_mut()
        .find(|i| i.incident == "2020-07-14-faryab-mosque")
    {
        i.summary = Some(
            "The Taliban opened fire on worshippers inside a mosque; the toll is unknown."
                .to_owned(),
        );
        i.killed = Range {
            coded: true,
            ..Range::exact(3)
        };
        i.sources = vec![SourceFigures {
            source: "ACLED".to_owned(),
            note: None,
            citation: None,
            ..wikipedia(
                9,
                Some(Figure {
                    text: "3 (coded; unknown)".to_owned(),
                    qualifier: Qualifier::Coded,
                    ..exact(3)
                }),
                None,
            )
        }];
    }
    doc.totals = totals_of(&doc.incidents);
    doc
}

/// [`sample_document`] as the JSON bytes the host sends to a plugin.
pub fn sample_document_json() -> Vec<u8> {
    // Serializing these plain types cannot fail.
    serde_json::to_vec_pretty(&sample_document()).unwrap_or_default()
}

/// Options from `(key, value)` pairs.
pub fn options(pairs: &[(&str, &str)]) -> Options {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Run `E` on [`sample_document`] through the JSON path the host uses
/// (document and options serialized, then parsed by the SDK).
pub fn export_sample<E: Exporter>(pairs: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    export_document::<E>(&sample_document(), pairs)
}

/// Run `E` on `doc` through the JSON path the host uses.
pub fn export_document<E: Exporter>(
    doc: &ViewDocument,
    pairs: &[(&str, &str)],
) -> Result<Vec<u8>, String> {
    let doc = serde_json::to_vec(doc).map_err(|e| e.to_string())?;
    let options = serde_json::to_vec(&options(pairs)).map_err(|e| e.to_string())?;
    crate::export_json::<E>(&doc, &options)
}

/// Run the streamed exporter `E` on [`sample_document`] through the version-2 ABI, as the
/// host calls it ([`export_stream_doc`]).
pub fn export_stream_sample<E: StreamExporter>(pairs: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    export_stream_doc::<E>(&sample_document(), pairs)
}

/// Run the streamed exporter `E` on `doc` through the version-2 ABI functions the SDK's
/// macro exports, as the host calls them: the head and options as JSON to `begin`, each
/// incident as JSON to `incident` once per pass (as many as `passes_fn` asks), the output through a sink, `drop_state` at
/// the end whatever happened. An error is the plugin's message (prefixed by its status
/// when that is not 1).
pub fn export_stream_doc<E: StreamExporter>(
    doc: &ViewDocument,
    pairs: &[(&str, &str)],
) -> Result<Vec<u8>, String> {
    use crate::abi::{Buffer, Sink, STATUS_ERROR, STATUS_OK};
    use crate::stream::glue;
    use std::ffi::c_void;

    unsafe extern "C" fn collect(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
        // SAFETY: `ctx` is the `Vec` below, alive during the calls; `data` is valid for `len`.
        unsafe {
            let out = &mut *ctx.cast::<Vec<u8>>();
            if len > 0 {
                out.extend_from_slice(std::slice::from_raw_parts(data, len));
            }
        }
        0
    }
    fn taken(status: i32, message: Buffer) -> Result<(), String> {
        if status == STATUS_OK {
            return Ok(());
        }
        let text = if message.data.is_null() {
            String::new()
        } else {
            // SAFETY: a buffer the SDK's glue made, freed once here.
            unsafe {
                let text =
                    String::from_utf8_lossy(std::slice::from_raw_parts(message.data, message.len))
                        .into_owned();
                crate::__private::free_buffer(message.data, message.len);
                text
            }
        };
        Err(if status == STATUS_ERROR {
            text
        } else {
            format!("status {status}: {text}")
        })
    }

    let head = serde_json::to_vec(&DocumentHead::of(doc)).map_err(|e| e.to_string())?;
    let options = serde_json::to_vec(&options(pairs)).map_err(|e| e.to_string())?;
    let incidents: Vec<Vec<u8>> = doc
        .incidents
        .iter()
        .map(serde_json::to_vec)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut out: Vec<u8> = Vec::new();
    let sink = Sink {
        ctx: (&raw mut out).cast(),
        write: Some(collect),
    };
    let mut state: *mut c_void = std::ptr::null_mut();
    let mut message = Buffer::EMPTY;
    // SAFETY: the pointers describe live slices and locals, as the ABI requires.
    let status = unsafe {
        glue::begin::<E>(
            head.as_ptr(),
            head.len(),
            options.as_ptr(),
            options.len(),
            &mut state,
            &mut message,
        )
    };
    taken(status, message)?;
    // SAFETY: the state `begin` made.
    let passes = unsafe { glue::passes::<E>(state) };
    let run = || -> Result<(), String> {
        for pass in 0..passes {
            let mut message = Buffer::EMPTY;
            // SAFETY: the state `begin` made; the sink and message are locals.
            let status = unsafe { glue::start_pass::<E>(state, pass, &sink, &mut message) };
            taken(status, message)?;
            for i in &incidents {
                let mut message = Buffer::EMPTY;
                // SAFETY: as above, and `i` a live slice.
                let status = unsafe {
                    glue::incident::<E>(state, pass, i.as_ptr(), i.len(), &sink, &mut message)
                };
                taken(status, message)?;
            }
        }
        let mut message = Buffer::EMPTY;
        // SAFETY: as above.
        let status = unsafe { glue::finish::<E>(state, &sink, &mut message) };
        taken(status, message)
    };
    let result = run();
    // SAFETY: the state `begin` made, dropped once.
    unsafe { glue::drop_state::<E>(state) };
    result.map(|()| out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_consistent() {
        let doc = sample_document();
        let mut sorted = doc.incidents.clone();
        sorted.sort_by(|a, b| (&a.date_start, &a.incident).cmp(&(&b.date_start, &b.incident)));
        assert_eq!(sorted, doc.incidents);
        assert_eq!(doc.totals.incidents, 5);
        assert_eq!(
            doc.totals.killed,
            Range {
                low: Some(41),
                best: Some(45),
                high: Some(50),
                open_high: true,
                coded: false
            }
        );
        let back: ViewDocument = serde_json::from_slice(&sample_document_json()).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn the_coded_sample_has_one_coded_count() {
        let doc = sample_coded_document();
        let coded: Vec<&str> = doc
            .incidents
            .iter()
            .filter(|i| i.killed.coded || i.wounded.coded)
            .map(|i| i.incident.as_str())
            .collect();
        assert_eq!(coded, ["2020-07-14-faryab-mosque"]);
        assert_eq!(doc.totals.coded, 1);
        assert!(!doc.totals.killed.coded, "a sum with stated counts");
        let faryab = doc.totals.by_province.iter().find(|g| g.key == "Faryab");
        assert_eq!(faryab.map(|g| (g.coded, g.killed.coded)), Some((1, true)));
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["incidents"][3]["killed"]["coded"], true);
        assert!(json["incidents"][0]["killed"].get("coded").is_none());
        assert!(sample_document_json()
            .windows(7)
            .all(|w| w != b"\"coded\"".as_slice()));
    }

    #[test]
    fn sample_json_shape() {
        let doc = sample_document();
        let puli = doc.incidents.last().unwrap();
        insta::assert_json_snapshot!("puli_alam", puli);
        insta::assert_json_snapshot!("provenance_and_totals", (&doc.provenance, &doc.totals));
    }
}
