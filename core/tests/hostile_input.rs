//! Hostile input against the library: arbitrary bytes as JSON Lines never panic and never
//! half-write; extreme values are refused with a message; SQL metacharacters are just text.
#![allow(clippy::unwrap_used)]

use chronicle_core::jsonl::read_events;
use chronicle_core::EventLog;
use chronicle_core::{AppendContext, Clock};
use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` for long runs, else the CI default.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn ctx() -> AppendContext {
    AppendContext {
        recorded_by: "fuzz".into(),
        clock: Clock::Fixed("2020-07-31T00:00:00Z".parse().unwrap()),
        allow_unknown_place: false,
        allow_implausible: false,
        allow_inconsistent: false,
        origin: chronicle_core::Origin::default(),
    }
}

const SEED: &str = concat!(
    r#"{"incident":"a","kind":"incident_reported","payload":{"date":"2020-07-30","province":"Logar","category":"x"}}"#,
    "\n",
    r#"{"incident":"a","kind":"casualties_reported","payload":{"source":"AFP","killed":17,"wounded":"22-35"}}"#,
    "\n"
);

fn dump(log: &EventLog) -> Vec<String> {
    log.events(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| format!("{}|{}|{}|{}", e.seq, e.incident, e.kind, e.payload))
        .collect()
}

/// Appends `input`; on failure the log must be exactly as before.
fn append_all_or_nothing(log: &mut EventLog, input: &[u8]) -> bool {
    let before = dump(log);
    let result = log.append(&ctx(), read_events(input, "fuzz.jsonl"));
    match result {
        Ok(_) => true,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            assert_eq!(dump(log), before, "a refused batch changed the log: {msg}");
            false
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    /// Arbitrary bytes after a valid prefix: no panic, and all or nothing.
    #[test]
    fn arbitrary_bytes_never_half_write(noise in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = EventLog::init(dir.path().join("e.db")).unwrap();
        let mut input = SEED.as_bytes().to_vec();
        input.extend_from_slice(&noise);
        let landed = append_all_or_nothing(&mut log, &input);
        let n = dump(&log).len();
        prop_assert!(n == 0 || (landed && n >= 2), "{n} events after a batch that landed={landed}");
    }

    /// Mutations of a valid line (flipped bytes) are refused cleanly or accepted whole.
    #[test]
    fn mutated_lines_are_refused_cleanly(pos in 0usize..200, byte in any::<u8>()) {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = EventLog::init(dir.path().join("e.db")).unwrap();
        let mut input = SEED.as_bytes().to_vec();
        let at = pos % input.len();
        input[at] = byte;
        append_all_or_nothing(&mut log, &input);
    }
}

fn refusal(line: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = EventLog::init(dir.path().join("e.db")).unwrap();
    log.append(&ctx(), read_events(SEED.as_bytes(), "seed"))
        .unwrap();
    let before = dump(&log);
    let err = log
        .append(&ctx(), read_events(line.as_bytes(), "hostile.jsonl"))
        .unwrap_err();
    assert_eq!(dump(&log), before);
    err.to_string()
}

#[test]
fn extreme_values_are_refused_with_a_message() {
    let nested = format!(
        r#"{{"incident":"a","kind":"casualties_reported","payload":{{"source":"AFP","killed":1,"attributes":{{"x":{}{}}}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let cases = [
        ("deeply nested JSON", nested),
        ("huge number", r#"{"incident":"a","kind":"casualties_reported","payload":{"source":"AFP","killed":123456789012345678901234567890}}"#.to_string()),
        ("count above the maximum", r#"{"incident":"a","kind":"casualties_reported","payload":{"source":"AFP","killed":"at-least:99999999999"}}"#.to_string()),
        ("control character in a name", "{\"incident\":\"a\",\"kind\":\"casualties_reported\",\"payload\":{\"source\":\"A\\u0000FP\",\"killed\":1}}".to_string()),
        ("huge text", format!(r#"{{"incident":"a","kind":"casualties_reported","payload":{{"source":"AFP","killed":1,"note":"{}"}}}}"#, "x".repeat(20_000))),
        ("huge payload", format!(r#"{{"incident":"a","kind":"casualties_reported","payload":{{"source":"AFP","killed":1,"attributes":{{"blob":"{}"}}}}}}"#, "x".repeat(70_000))),
        ("float count", r#"{"incident":"a","kind":"casualties_reported","payload":{"source":"AFP","killed":1.5}}"#.to_string()),
    ];
    let mut transcript = String::new();
    for (what, line) in cases {
        transcript.push_str(&format!("## {what}\n{}\n\n", refusal(&line)));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn sql_metacharacters_are_only_text() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = EventLog::init(dir.path().join("e.db")).unwrap();
    let evil = r#"x'); DROP TABLE events; -- \" %_ ; SELECT * FROM sqlite_master"#;
    let line = serde_json::json!({
        "incident": evil,
        "kind": "incident_reported",
        "payload": {"date": "2020-07-30", "province": "Logar", "category": evil, "summary": evil, "district": evil}
    })
    .to_string();
    // Such an id is not a slug: refused unless forced, and stored as mere text when forced.
    let refused = log
        .append(&ctx(), read_events(line.as_bytes(), "x"))
        .unwrap_err();
    assert!(refused.to_string().contains("is not a slug"), "{refused}");
    let forced = AppendContext {
        allow_implausible: true,
        ..ctx()
    };
    log.append(&forced, read_events(line.as_bytes(), "x"))
        .unwrap();
    let report = serde_json::json!({"incident": evil, "kind": "casualties_reported", "payload": {"source": evil, "killed": 1, "note": evil}}).to_string();
    log.append(&ctx(), read_events(report.as_bytes(), "x"))
        .unwrap();
    let events = log.events(&Default::default()).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].incident, evil);
    assert!(log.verify(None).unwrap().is_intact());
}

mod csv_importers {
    use super::*;
    use chronicle_core::import::{import, CsvInput, Dataset, ImportOptions};

    const ACLED: &str = include_str!("../../tests/data/acled-afghanistan-2022-h1-acledR-dummy.csv");
    const UCDP: &str = include_str!("../../tests/data/ucdp-ged-231-sample-afghanistan.csv");

    fn try_import(dataset: Dataset, bytes: &[u8], skip_invalid: bool) {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = EventLog::init(dir.path().join("e.db")).unwrap();
        let options = ImportOptions {
            dataset,
            release: None,
            full_release: false,
            skip_invalid,
        };
        let rows = CsvInput {
            name: "fuzz.csv".to_string(),
            reader: bytes,
        };
        let result = import(
            &mut log,
            &ctx(),
            &options,
            Some(rows),
            None::<CsvInput<&[u8]>>,
            &mut |_| {},
        );
        if let Err(e) = result {
            assert!(!e.to_string().is_empty());
            assert!(dump(&log).is_empty(), "a refused import wrote events: {e}");
        }
        assert!(log.verify(None).unwrap().is_intact());
    }

    /// The header and first rows of a real file, then a mutation: never a panic, never a
    /// half-written import.
    fn sample(text: &str, rows: usize) -> Vec<u8> {
        let mut out = String::new();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut w = csv::Writer::from_writer(Vec::new());
        for record in reader.records().take(rows + 1) {
            w.write_record(&record.unwrap()).unwrap();
        }
        out.push_str(&String::from_utf8(w.into_inner().unwrap()).unwrap());
        out.into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(120), ..ProptestConfig::default() })]

        #[test]
        fn mutated_acled_rows(pos in 0usize..100_000, byte in any::<u8>(), skip in any::<bool>()) {
            let mut bytes = sample(ACLED, 3);
            let at = pos % bytes.len();
            bytes[at] = byte;
            try_import(Dataset::Acled, &bytes, skip);
        }

        #[test]
        fn mutated_ucdp_rows(pos in 0usize..100_000, byte in any::<u8>(), skip in any::<bool>()) {
            let mut bytes = sample(UCDP, 3);
            let at = pos % bytes.len();
            bytes[at] = byte;
            try_import(Dataset::Ucdp, &bytes, skip);
        }

        #[test]
        fn arbitrary_bytes_after_a_header(noise in proptest::collection::vec(any::<u8>(), 0..600), ucdp in any::<bool>()) {
            let (dataset, text) = if ucdp { (Dataset::Ucdp, UCDP) } else { (Dataset::Acled, ACLED) };
            let mut bytes = sample(text, 0);
            bytes.extend_from_slice(&noise);
            try_import(dataset, &bytes, false);
        }
    }
}

/// The payloads of the demo chronology, as `(kind, canonical JSON)`.
fn demo_payloads() -> Vec<(String, String)> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/july-2020.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let e = chronicle_core::EventLine::parse(l).unwrap();
            (e.payload.kind().to_string(), e.payload.canonical_json())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(500), ..ProptestConfig::default() })]

    /// The fast typed read of a payload accepts nothing the `Value` route would refuse and
    /// reads the same payload; mutated payloads included.
    #[test]
    fn fast_payload_read_agrees_with_the_value_route(pick in any::<prop::sample::Index>(), pos in 0usize..2000, byte in any::<u8>(), mutate in any::<bool>()) {
        let payloads = demo_payloads();
        let (kind, text) = &payloads[pick.index(payloads.len())];
        let mut bytes = text.clone().into_bytes();
        if mutate {
            let at = pos % bytes.len();
            bytes[at] = byte;
        }
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
        let slow = serde_json::from_str(&text).ok().map(|v| chronicle_core::Payload::from_json(kind, v));
        match chronicle_core::Payload::from_json_text(kind, &text) {
            Some(fast) => prop_assert_eq!(Some(Ok(fast)), slow),
            None => prop_assert!(mutate, "an unmutated stored payload must read fast: {}", text),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(500), ..ProptestConfig::default() })]

    /// The fast read of a JSON line (payload straight into its struct) gives what the general
    /// route (`EventLine`, then its payload) gives, and refuses what it refuses.
    #[test]
    fn fast_line_read_agrees_with_the_general_route(pick in any::<prop::sample::Index>(), pos in 0usize..2000, byte in any::<u8>(), mutate in any::<bool>()) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/july-2020.jsonl");
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
        let mut bytes = lines[pick.index(lines.len())].as_bytes().to_vec();
        if mutate {
            let at = pos % bytes.len();
            bytes[at] = byte;
        }
        let Ok(line) = String::from_utf8(bytes) else { return Ok(()) };
        let general = serde_json::from_str::<chronicle_core::EventLine>(&line)
            .map_err(|e| e.to_string())
            .and_then(|l| l.into_new_event().map_err(|e| e.to_string()));
        match (chronicle_core::EventLine::parse(&line), general) {
            (Ok(fast), Ok(general)) => prop_assert_eq!(fast, general),
            (Err(_), Err(_)) => {}
            (fast, general) => prop_assert!(false, "fast {:?} but general {:?} for {}", fast, general, line),
        }
    }
}
