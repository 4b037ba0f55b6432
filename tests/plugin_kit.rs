//! The plugin author's kit: `chronicle plugins sample`, `plugins header`, `plugins schema`,
//! and the JSON Schema of the view document (`docs/chronicle.views-1.schema.json`) checked
//! with a validating crate (`boon`) against real exports of a copy of `events.db`, the SDK's
//! sample, and edge documents (an empty log, a `--known-by` point, filters).
#![allow(clippy::unwrap_used)]

mod common;

use common::{repo_root, Scratch};
use serde_json::Value;

const SCHEMA_FILE: &str = "docs/chronicle.views-1.schema.json";

fn schema_json() -> Value {
    let text = std::fs::read_to_string(repo_root().join(SCHEMA_FILE)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The schema made strict: every object schema that names its properties (but `Filters`,
/// whose fields are left out when not given, and the breakdowns by casualty status,
/// `StatusRanges` and `StatusFigures`, whose statuses are left out when no source gave
/// them) requires all of them (but an incident's `redactions` and `adjudication`, a
/// source's `revisions`, a group's `adjudicated`, the `killed_by_status` and
/// `wounded_by_status` of incidents and sources, left out when empty, and a grade's
/// `assessment` and `history`, left out for a suggested grade, and a source's `via`, `type`
/// and `party`, left out when none, undescribed, not a party, and the `coded` of a range, a
/// group and the totals, left out when false or 0) and allows no others.
/// The published schema is lenient (a newer chronicle may add fields within version 1); the
/// strict one catches a field chronicle writes that the schema does not describe, or one it
/// describes that chronicle no longer writes.
fn strict(schema: &mut Value, name: Option<&str>) {
    const OPTIONAL_FIELDS: [&str; 3] = ["Filters", "StatusRanges", "StatusFigures"];
    const OPTIONAL: [&str; 12] = [
        "coded",
        "via",
        "type",
        "party",
        "redactions",
        "revisions",
        "killed_by_status",
        "wounded_by_status",
        "assessment",
        "history",
        "adjudication",
        "adjudicated",
    ];
    match schema {
        Value::Object(map) => {
            if let (Some(Value::Object(props)), false) = (
                map.get("properties"),
                OPTIONAL_FIELDS.contains(&name.unwrap_or("")),
            ) {
                let all: Vec<Value> = props
                    .keys()
                    .filter(|k| !OPTIONAL.contains(&k.as_str()))
                    .map(|k| Value::String(k.clone()))
                    .collect();
                map.insert("required".to_owned(), Value::Array(all));
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            for (key, value) in map.iter_mut() {
                strict(value, Some(key));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strict(v, None)),
        _ => {}
    }
}

/// Validators for the published and the strict schema.
struct Validators {
    schemas: boon::Schemas,
    lenient: boon::SchemaIndex,
    strict: boon::SchemaIndex,
}

impl Validators {
    fn new() -> Validators {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let lenient_schema = schema_json();
        let mut strict_schema = lenient_schema.clone();
        strict(&mut strict_schema, None);
        strict_schema["$id"] = Value::String("https://example.invalid/strict.json".to_owned());
        compiler
            .add_resource("file:///lenient.json", lenient_schema)
            .unwrap();
        compiler
            .add_resource("file:///strict.json", strict_schema)
            .unwrap();
        let lenient = compiler
            .compile("file:///lenient.json", &mut schemas)
            .unwrap_or_else(|e| panic!("{SCHEMA_FILE} does not compile: {e:#}"));
        let strict = compiler
            .compile("file:///strict.json", &mut schemas)
            .unwrap();
        Validators {
            schemas,
            lenient,
            strict,
        }
    }

    /// Panics with the validator's report when `doc` breaks either schema.
    fn check(&self, what: &str, doc: &Value) {
        for (name, index) in [("schema", self.lenient), ("strict schema", self.strict)] {
            if let Err(e) = self.schemas.validate(doc, index) {
                panic!("{what} does not validate against the {name}:\n{e}");
            }
        }
    }

    fn lenient_ok(&self, doc: &Value) -> bool {
        self.schemas.validate(doc, self.lenient).is_ok()
    }
}

fn july() -> Scratch {
    Scratch::demo()
}

fn export_json(s: &Scratch, args: &[&str]) -> Value {
    let mut all = vec!["export", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&s.ok(&all)).unwrap()
}

#[test]
fn the_schema_validates_every_export_of_the_demo_log() {
    let v = Validators::new();
    let s = july();
    let points: &[&[&str]] = &[
        &[],
        &["--at-seq", "20"],
        &["--at-seq", "1"],
        &["--as-of", "2020-07-31T08:00:00Z"],
        &["--known-by", "2020-07-25"],
        &["--best", "max", "--province", "Logar"],
        &["--best", "source:AFP"],
        &[
            "--from",
            "2020-07-10",
            "--to",
            "2020-07-20",
            "--best",
            "min",
        ],
        &["--from", "2030-01-01"],
    ];
    let mut seen_fields = 0;
    for args in points {
        let (code, out, err) = s.run(&[&["export", "--format", "json"], *args].concat());
        assert_eq!(code, 0, "export {args:?}: {err}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        v.check(&format!("export {args:?}"), &doc);
        seen_fields += doc["incidents"].as_array().map_or(0, Vec::len);
    }
    assert!(seen_fields > 40, "the exports held {seen_fields} incidents");
}

/// An incident with an erased report carries `redactions`, which both schemas describe.
#[test]
fn the_schema_validates_an_export_with_a_redaction() {
    let v = Validators::new();
    let s = july();
    s.ok(&[
        "report",
        "--incident",
        "2020-07-30-puli-alam",
        "--source",
        "Pajhwok",
        "--killed",
        "9",
        "--note",
        "a name",
    ]);
    let log = s.ok(&["log", "--json"]);
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    let id = last["id"].as_str().unwrap();
    s.ok(&["redact", id, "--reason", "a victim's name"]);
    for args in [&[][..], &["--at-seq", "57"][..]] {
        let doc = export_json(&s, args);
        v.check(&format!("export {args:?} with a redaction"), &doc);
        let with: Vec<&Value> = doc["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i.get("redactions").is_some())
            .collect();
        assert_eq!(with.len(), 1, "{args:?}");
        assert_eq!(with[0]["redactions"][0]["event_id"], id);
    }
}

/// An adjudicated incident carries `adjudication`, and its province group `adjudicated`,
/// which both schemas describe.
#[test]
fn the_schema_validates_an_export_with_an_adjudication() {
    let v = Validators::new();
    let s = july();
    s.ok(&[
        "adjudicate",
        "--incident",
        "2020-07-30-puli-alam",
        "--killed",
        "12",
        "--reason",
        "a decision",
    ]);
    for args in [&[][..], &["--best", "min"][..]] {
        let doc = export_json(&s, args);
        v.check(&format!("export {args:?} with an adjudication"), &doc);
        let with: Vec<&Value> = doc["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i.get("adjudication").is_some())
            .collect();
        assert_eq!(with.len(), 1, "{args:?}");
    }
}

#[test]
fn the_schema_validates_the_sample_and_edge_documents() {
    let v = Validators::new();
    let sample: Value =
        serde_json::from_slice(&chronicle_plugin_sdk::testing::sample_document_json()).unwrap();
    v.check("the SDK's sample document", &sample);
    // A count that rests on coded figures only: the range's, the group's and the totals'
    // `coded`.
    let coded =
        serde_json::to_value(chronicle_plugin_sdk::testing::sample_coded_document()).unwrap();
    assert_eq!(coded["totals"]["coded"], 1);
    v.check("the SDK's sample with a coded count", &coded);

    // An empty log: no incidents, no hash.
    let empty = Scratch::new();
    let doc = export_json(&empty, &[]);
    assert_eq!(doc["provenance"]["log_hash"], Value::Null);
    v.check("the export of an empty log", &doc);

    // A known-by point names its time.
    let doc = export_json(&july(), &["--known-by", "2020-07-30T12:00:00Z"]);
    assert_eq!(doc["provenance"]["point"]["kind"], "known_by");
    v.check("a known-by export", &doc);
}

/// The schema is not a rubber stamp: it refuses what a plugin could not read.
#[test]
fn the_schema_refuses_broken_documents() {
    let v = Validators::new();
    let sample: Value =
        serde_json::from_slice(&chronicle_plugin_sdk::testing::sample_document_json()).unwrap();
    type Breaks = fn(&mut Value);
    let broken: &[(&str, Breaks)] = &[
        ("another schema", |d| {
            d["schema"] = "chronicle.views/2".into()
        }),
        ("no totals", |d| {
            d.as_object_mut().unwrap().remove("totals");
        }),
        ("a negative figure", |d| {
            d["incidents"][0]["killed"]["low"] = (-1).into();
        }),
        ("an unknown point kind", |d| {
            d["provenance"]["point"]["kind"] = "yesterday".into();
        }),
        ("a short hash", |d| {
            d["provenance"]["log_hash"] = "abc".into()
        }),
        ("a date in words", |d| {
            d["incidents"][0]["date_start"] = "30 July 2020".into();
        }),
        ("a figure without text", |d| {
            let sources = d["incidents"][4]["sources"].as_array_mut().unwrap();
            sources[0]["killed"].as_object_mut().unwrap().remove("text");
        }),
    ];
    for (what, breaks) in broken {
        let mut doc = sample.clone();
        breaks(&mut doc);
        assert!(!v.lenient_ok(&doc), "the schema accepts {what}");
    }
    // A field from a newer chronicle is fine (fields are only added within version 1).
    let mut newer = sample;
    newer["incidents"][0]["added_later"] = "x".into();
    assert!(v.lenient_ok(&newer));
}

#[test]
fn plugins_sample_prints_the_document_check_feeds() {
    let s = Scratch::empty();
    let out = s.ok(&["plugins", "sample"]);
    let mut expected = chronicle_plugin_sdk::testing::sample_document_json();
    expected.push(b'\n');
    assert_eq!(out.as_bytes(), expected.as_slice());
    let doc: chronicle_plugin_sdk::ViewDocument = serde_json::from_str(&out).unwrap();
    assert_eq!(doc, chronicle_plugin_sdk::testing::sample_document());
}

#[test]
fn plugins_header_and_schema_print_the_shipped_files() {
    let s = Scratch::empty();
    let header = std::fs::read_to_string(repo_root().join("plugins/include/chronicle_plugin.h"));
    assert_eq!(s.ok(&["plugins", "header"]), header.unwrap());
    let schema = std::fs::read_to_string(repo_root().join(SCHEMA_FILE)).unwrap();
    assert_eq!(s.ok(&["plugins", "schema"]), schema);
}
