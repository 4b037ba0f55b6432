//! The `geojson` export format: an RFC 7946 FeatureCollection with one
//! Point feature per incident.
//!
//! - Coordinates are `[longitude, latitude]` (RFC 7946 order), from the
//!   incident's reported coordinates, else its province centroid; the
//!   property `coordinate_source` says which (`"reported"` or
//!   `"province_centroid"`). An incident with neither has `"geometry": null`
//!   (allowed by RFC 7946 section 3.2) and `coordinate_source: null`.
//! - The provenance is the foreign member `"chronicle"` of the collection,
//!   with the log's checkpoint (`checkpoint`: origin, tree size, root hash and
//!   the note) as the document has it.
//! - No `crs` member (RFC 7946 removed it: coordinates are WGS 84).
//! - A count that rests on coded figures only (ACLED's "Unknown fatalities
//!   coded as 3": no source stated a number) has `"coded": true` in its range
//!   (`killed`, `wounded`, `attackers_killed`, as in the document), and the
//!   feature the property `"coded": true` (for a map's filter or style); both
//!   are left out otherwise.
//!
//! Options: none. Output: pretty-printed JSON with a final newline.
//!
//! Streamed (plugin ABI 2, one pass): the collection's members and `"features": [` are
//! written from the document's head, then each feature as its incident comes, indented as
//! `serde_json`'s pretty printer indents it inside the array, then the closing brackets: the
//! same bytes as the whole collection pretty-printed at once, with one incident in memory.

use chronicle_plugin_sdk::{
    DocumentHead, Incident, Options, Range, StatusRanges, StreamExporter, ViewDocument,
};
use serde::Serialize;
use std::io::Write;

/// The GeoJSON exporter.
#[derive(Debug)]
pub struct GeoJson {
    /// The collection's opening, written when the pass starts.
    opening: Vec<u8>,
    /// Features written so far.
    features: u64,
}

impl StreamExporter for GeoJson {
    const NAME: &'static str = "geojson";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const EXTENSION: &'static str = "geojson";
    const DESCRIPTION: &'static str =
        "RFC 7946 FeatureCollection: one point per incident (reported coordinates or province centroid)";
    const TEXT: bool = true;

    fn begin(head: &DocumentHead, options: &Options) -> Result<Self, String> {
        options.check_known(&[])?;
        Ok(GeoJson {
            opening: begin_collection(head)?,
            features: 0,
        })
    }

    fn start_pass(&mut self, _pass: u32, out: &mut dyn Write) -> Result<(), String> {
        out.write_all(&self.opening).map_err(|e| e.to_string())
    }

    fn incident(&mut self, _pass: u32, i: &Incident, out: &mut dyn Write) -> Result<(), String> {
        // `[` ends the opening; each element starts on a new
        // line, after a comma but for the first, indented twice (two spaces per level).
        let json = serde_json::to_string_pretty(&feature(i)).map_err(|e| e.to_string())?;
        let sep = if self.features == 0 { "\n" } else { ",\n" };
        self.features += 1;
        write!(out, "{sep}    {}", json.replace('\n', "\n    ")).map_err(|e| e.to_string())
    }

    fn finish(self, out: &mut dyn Write) -> Result<(), String> {
        let end: &[u8] = if self.features == 0 {
            b"]\n}\n"
        } else {
            b"\n  ]\n}\n"
        };
        out.write_all(end).map_err(|e| e.to_string())
    }
}

/// The collection's opening, up to and including the `[` of `"features"`: written before
/// the first incident.
fn begin_collection(head: &DocumentHead) -> Result<Vec<u8>, String> {
    let doc = head.document();
    let whole = serde_json::to_string_pretty(&collection(&doc)).map_err(|e| e.to_string())?;
    // With no features, the pretty printer ends with `"features": []` and the closing brace.
    let open = whole
        .strip_suffix("[]\n}")
        .ok_or("the collection does not end with its features")?;
    Ok(format!("{open}[").into_bytes())
}

// Also `impl Exporter for GeoJson` (the whole document at once, what the tests run): the
// streamed code, fed every incident.
chronicle_plugin_sdk::export_stream_plugin!(GeoJson);

#[derive(Serialize)]
struct FeatureCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    chronicle: Provenance<'a>,
    features: Vec<Feature<'a>>,
}

/// The `"chronicle"` foreign member.
#[derive(Serialize)]
struct Provenance<'a> {
    schema: &'a str,
    log_seq: u64,
    log_hash: Option<&'a str>,
    point: &'a chronicle_plugin_sdk::Point,
    policy: &'a str,
    generator: &'a str,
    filters: &'a chronicle_plugin_sdk::Filters,
    exporter: ExporterInfo<'a>,
    /// The log's checkpoint at `log_seq`, as in the document (`null` when it has none).
    checkpoint: Option<&'a chronicle_plugin_sdk::LogCheckpoint>,
}

#[derive(Serialize)]
struct ExporterInfo<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: Option<Geometry>,
    properties: Properties<'a>,
}

#[derive(Serialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
struct Properties<'a> {
    incident: &'a str,
    date: &'a str,
    date_start: &'a str,
    date_end: &'a str,
    date_precision: &'static str,
    country: Option<&'a str>,
    province: &'a str,
    province_code: Option<&'a str>,
    district: Option<&'a str>,
    locality: Option<&'a str>,
    coordinate_source: Option<&'static str>,
    coordinate_precision: Option<&'a str>,
    category: &'a str,
    target: Option<&'a str>,
    perpetrator: Option<&'a str>,
    summary: Option<&'a str>,
    killed: &'a Range,
    wounded: &'a Range,
    attackers_killed: &'a Range,
    disputed: bool,
    /// Killed (victims and attackers) and wounded by casualty status, as in the document;
    /// left out when no source gave a status.
    #[serde(skip_serializing_if = "no_status")]
    killed_by_status: &'a StatusRanges,
    #[serde(skip_serializing_if = "no_status")]
    wounded_by_status: &'a StatusRanges,
    /// The grade (recorded, else suggested), its being suggested and its reason; null in a
    /// document without grades.
    grade: Option<&'static str>,
    grade_suggested: Option<bool>,
    grade_reason: Option<&'a str>,
    sources: Vec<&'a str>,
    last_seq: u64,
    /// The recorder's adjudication the best figures follow (as in the document); left out
    /// when none is applied, so that other features are what they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    adjudication: Option<&'a chronicle_plugin_sdk::view::Adjudication>,
    /// Some count (killed, wounded, attackers killed) rests on coded figures only: a
    /// dataset's convention for an unknown toll, not a stated number. Left out when none
    /// does, so that other features are what they were.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    coded: bool,
}

/// No status given: the property is left out (a total not broken down is in `killed`).
fn no_status(by: &&StatusRanges) -> bool {
    by.is_empty()
}

/// Whether a point can be written as an RFC 7946 position.
fn valid(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

fn feature(i: &Incident) -> Feature<'_> {
    // A point outside the WGS 84 ranges would make the file invalid: fall
    // back to the centroid, else write no geometry.
    let point = i
        .map_point()
        .filter(|(p, _)| valid(p.lat, p.lon))
        .or_else(|| {
            i.province_centroid
                .filter(|c| valid(c.lat, c.lon))
                .map(|c| (c, chronicle_plugin_sdk::CoordinateSource::ProvinceCentroid))
        });
    Feature {
        kind: "Feature",
        id: &i.incident,
        geometry: point.map(|(p, _)| Geometry {
            kind: "Point",
            coordinates: [p.lon, p.lat],
        }),
        properties: Properties {
            incident: &i.incident,
            date: &i.date,
            date_start: &i.date_start,
            date_end: &i.date_end,
            date_precision: i.date_precision.as_str(),
            country: i.country.as_deref(),
            province: &i.province,
            province_code: i.province_code.as_deref(),
            district: i.district.as_deref(),
            locality: i.locality.as_deref(),
            coordinate_source: point.map(|(_, source)| source.as_str()),
            coordinate_precision: match point {
                Some((_, chronicle_plugin_sdk::CoordinateSource::Reported)) => {
                    i.coordinates.as_ref().and_then(|c| c.precision.as_deref())
                }
                Some(_) => Some("province"),
                None => None,
            },
            category: &i.category,
            target: i.target.as_deref(),
            perpetrator: i.perpetrator.as_deref(),
            summary: i.summary.as_deref(),
            killed: &i.killed,
            wounded: &i.wounded,
            attackers_killed: &i.attackers_killed,
            disputed: i.disputed,
            killed_by_status: &i.killed_by_status,
            wounded_by_status: &i.wounded_by_status,
            grade: i.grade.as_ref().map(|g| g.grade.as_str()),
            grade_suggested: i.grade.as_ref().map(|g| g.suggested),
            grade_reason: i.grade.as_ref().map(|g| g.reason.as_str()),
            sources: i.sources.iter().map(|s| s.source.as_str()).collect(),
            last_seq: i.last_seq,
            adjudication: i.adjudication.as_ref().filter(|a| a.applied),
            coded: i.killed.coded || i.wounded.coded || i.attackers_killed.coded,
        },
    }
}

fn collection(doc: &ViewDocument) -> FeatureCollection<'_> {
    let p = &doc.provenance;
    FeatureCollection {
        kind: "FeatureCollection",
        chronicle: Provenance {
            schema: &doc.schema,
            log_seq: p.log_seq,
            log_hash: p.log_hash.as_deref(),
            point: &p.point,
            policy: &p.policy.best,
            generator: &p.generator,
            filters: &p.filters,
            exporter: ExporterInfo {
                name: <GeoJson as StreamExporter>::NAME,
                version: <GeoJson as StreamExporter>::VERSION,
            },
            checkpoint: p.checkpoint.as_ref(),
        },
        features: doc.incidents.iter().map(feature).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chronicle_plugin_sdk::testing::{export_document, export_sample, sample_document};
    use serde_json::Value;

    /// Check the RFC 7946 rules that apply to what this plugin writes.
    /// Returns the problems found.
    pub fn rfc7946_problems(v: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let obj = match v.as_object() {
            Some(o) => o,
            None => return vec!["the top level is not an object".into()],
        };
        if obj.get("type") != Some(&Value::from("FeatureCollection")) {
            problems.push("type is not FeatureCollection".into());
        }
        if obj.contains_key("crs") {
            problems.push("a crs member (removed by RFC 7946, section 4)".into());
        }
        // Section 7.1: foreign members must not be GeoJSON members of
        // another kind of object.
        for reserved in ["coordinates", "geometries", "geometry", "properties"] {
            if obj.contains_key(reserved) {
                problems.push(format!("FeatureCollection has a `{reserved}` member"));
            }
        }
        let Some(features) = obj.get("features").and_then(Value::as_array) else {
            problems.push("features is not an array".into());
            return problems;
        };
        for (n, f) in features.iter().enumerate() {
            let Some(f) = f.as_object() else {
                problems.push(format!("feature {n} is not an object"));
                continue;
            };
            if f.get("type") != Some(&Value::from("Feature")) {
                problems.push(format!("feature {n}: type is not Feature"));
            }
            if let Some(id) = f.get("id") {
                if !(id.is_string() || id.is_number()) {
                    problems.push(format!("feature {n}: id is neither string nor number"));
                }
            }
            match f.get("properties") {
                Some(Value::Object(_)) | Some(Value::Null) => {}
                _ => problems.push(format!("feature {n}: properties missing or not an object")),
            }
            match f.get("geometry") {
                Some(Value::Null) => {}
                Some(Value::Object(g)) => {
                    if g.get("type") != Some(&Value::from("Point")) {
                        problems.push(format!("feature {n}: geometry is not a Point"));
                    }
                    let pos = g.get("coordinates").and_then(Value::as_array);
                    match pos {
                        Some(pos) if (2..=3).contains(&pos.len()) => {
                            let nums: Vec<f64> = pos.iter().filter_map(Value::as_f64).collect();
                            if nums.len() != pos.len() {
                                problems.push(format!("feature {n}: a coordinate is not a number"));
                            } else {
                                if !(-180.0..=180.0).contains(&nums[0]) {
                                    problems.push(format!(
                                        "feature {n}: longitude {} out of range",
                                        nums[0]
                                    ));
                                }
                                if !(-90.0..=90.0).contains(&nums[1]) {
                                    problems.push(format!(
                                        "feature {n}: latitude {} out of range",
                                        nums[1]
                                    ));
                                }
                            }
                        }
                        _ => problems.push(format!(
                            "feature {n}: a position must have two or three numbers"
                        )),
                    }
                }
                _ => problems.push(format!("feature {n}: geometry missing")),
            }
        }
        problems
    }

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A count that rests on coded figures only: `"coded": true` in its range and on its
    /// feature; nowhere else, and not at all in a document without one.
    #[test]
    fn a_coded_count_is_a_property() {
        let doc = chronicle_plugin_sdk::testing::sample_coded_document();
        let v: Value =
            serde_json::from_slice(&export_document::<GeoJson>(&doc, &[]).unwrap()).unwrap();
        let coded: Vec<(&str, &Value, &Value)> = v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = &f["properties"];
                (
                    p["incident"].as_str().unwrap(),
                    &p["coded"],
                    &p["killed"]["coded"],
                )
            })
            .collect();
        let t = Value::Bool(true);
        let n = Value::Null;
        assert_eq!(
            coded,
            [
                ("2020-07-08-nangarhar-police", &n, &n),
                ("2020-07-12-kunduz-checkpoints", &n, &n),
                ("2020-07-13-aybak-nds-compound", &n, &n),
                ("2020-07-14-faryab-mosque", &t, &t),
                ("2020-07-30-puli-alam", &n, &n),
            ]
        );
        assert!(rfc7946_problems(&v).is_empty());
        let plain = String::from_utf8(export_sample::<GeoJson>(&[]).unwrap()).unwrap();
        assert!(!plain.contains("coded"));
    }

    #[test]
    fn the_streamed_path_gives_the_same_bytes() {
        use chronicle_plugin_sdk::testing::{export_stream_doc, sample_coded_document};
        let mut empty = sample_document();
        empty.incidents.clear();
        for doc in [sample_document(), sample_coded_document(), empty] {
            let whole = serde_json::to_vec_pretty(&collection(&doc)).unwrap();
            let streamed = export_stream_doc::<GeoJson>(&doc, &[]).unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(whole).unwrap() + "\n"
            );
        }
    }

    #[test]
    fn sample_snapshot() {
        let out = String::from_utf8(export_sample::<GeoJson>(&[]).unwrap()).unwrap();
        insta::assert_snapshot!("sample", out);
    }

    /// Figures by status are properties of the features that have some, as in the document.
    #[test]
    fn figures_by_status_are_properties() {
        let mut doc = sample_document();
        doc.incidents[0].killed_by_status.militants = Some(Range::exact(3));
        doc.incidents[0].killed_by_status.unattributed = Some(Range::exact(1));
        let v = parse(export_document::<GeoJson>(&doc, &[]).unwrap());
        let features = v["features"].as_array().unwrap();
        let with: Vec<&Value> = features
            .iter()
            .filter(|f| f["properties"].get("killed_by_status").is_some())
            .collect();
        assert_eq!(with.len(), 1);
        assert_eq!(
            with[0]["properties"]["killed_by_status"],
            serde_json::json!({
                "militants": {"low": 3, "best": 3, "high": 3, "open_high": false},
                "unattributed": {"low": 1, "best": 1, "high": 1, "open_high": false}
            })
        );
        assert!(features
            .iter()
            .all(|f| f["properties"].get("wounded_by_status").is_none()));
    }

    /// An applied adjudication is a property of its feature; the others have none.
    #[test]
    fn adjudication_is_a_property() {
        let mut doc = sample_document();
        doc.incidents[4].adjudication = Some(chronicle_plugin_sdk::testing::sample_adjudication(
            "a reason",
        ));
        let v = parse(export_document::<GeoJson>(&doc, &[]).unwrap());
        let features = v["features"].as_array().unwrap();
        let with: Vec<&serde_json::Value> = features
            .iter()
            .filter(|f| f["properties"].get("adjudication").is_some())
            .collect();
        assert_eq!(with.len(), 1);
        assert_eq!(with[0]["properties"]["adjudication"]["killed"], 12);
        assert_eq!(with[0]["properties"]["adjudication"]["reason"], "a reason");
    }

    #[test]
    fn sample_follows_rfc_7946() {
        let v = parse(export_sample::<GeoJson>(&[]).unwrap());
        assert_eq!(rfc7946_problems(&v), Vec::<String>::new());
        let features = v["features"].as_array().unwrap();
        assert_eq!(features.len(), 5);
        // Puli Alam: reported coordinates, longitude first.
        let puli = &features[4];
        assert_eq!(
            puli["geometry"]["coordinates"],
            serde_json::json!([69.0227, 33.9953])
        );
        assert_eq!(puli["properties"]["coordinate_source"], "reported");
        // Nangarhar: the province centroid.
        assert_eq!(
            features[0]["properties"]["coordinate_source"],
            "province_centroid"
        );
        assert_eq!(
            features[0]["geometry"]["coordinates"],
            serde_json::json!([70.62, 34.17])
        );
        // Faryab: no coordinates, no centroid.
        assert_eq!(features[3]["geometry"], Value::Null);
        assert_eq!(features[3]["properties"]["coordinate_source"], Value::Null);
        assert_eq!(v["chronicle"]["log_seq"], 15);
        assert_eq!(v["chronicle"]["exporter"]["name"], "geojson");
    }

    #[test]
    fn the_validator_catches_mistakes() {
        let mut v = parse(export_sample::<GeoJson>(&[]).unwrap());
        v["crs"] = serde_json::json!({"type": "name"});
        v["features"][0]["geometry"]["coordinates"] = serde_json::json!([34.17, 170.62]);
        v["features"][1]["geometry"]["coordinates"] = serde_json::json!([1.0]);
        v["features"][2]["properties"] = serde_json::json!(3);
        let problems = rfc7946_problems(&v);
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn latitude_and_longitude_are_not_swapped_for_southern_western_points() {
        let mut doc = sample_document();
        doc.incidents[4].coordinates.as_mut().unwrap().lat = -12.5;
        doc.incidents[4].coordinates.as_mut().unwrap().lon = -77.25;
        let v = parse(export_document::<GeoJson>(&doc, &[]).unwrap());
        assert_eq!(
            v["features"][4]["geometry"]["coordinates"],
            serde_json::json!([-77.25, -12.5])
        );
        assert!(rfc7946_problems(&v).is_empty());
        doc.incidents[4].coordinates.as_mut().unwrap().lat = 95.0;
        let v = parse(export_document::<GeoJson>(&doc, &[]).unwrap());
        let puli = &v["features"][4];
        assert_eq!(
            puli["geometry"]["coordinates"],
            serde_json::json!([69.19, 34.01])
        );
        assert_eq!(puli["properties"]["coordinate_source"], "province_centroid");
        assert!(rfc7946_problems(&v).is_empty());
    }
}
