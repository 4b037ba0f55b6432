//! `chronicle import` on the ACLED and UCDP GED samples in `tests/data/`: counts, totals by
//! province checked against the CSV, snapshots of imported incidents, re-imports of revised
//! releases, and malformed input.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chronicle_core::gazetteer::Gazetteer;
use chronicle_core::Figure;
use common::{repo_root, Scratch};

fn acled_sample() -> PathBuf {
    repo_root().join("tests/data/acled-afghanistan-2022-h1-acledR-dummy.csv")
}

fn ucdp_sample() -> PathBuf {
    repo_root().join("tests/data/ucdp-ged-231-sample-afghanistan.csv")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The log's events as JSON values.
fn events(s: &Scratch) -> Vec<serde_json::Value> {
    s.dump()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The counts of an import's summary, by label.
fn summary(out: &str) -> BTreeMap<String, u64> {
    out.lines()
        .filter_map(|l| {
            let (label, n) = l.rsplit_once("  ")?;
            Some((label.trim().to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

/// A CSV file read with the csv crate: the header and the rows as maps.
fn read_csv(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Writes rows back as CSV (quoting what needs it).
fn write_csv(path: &Path, header: &[String], rows: &[BTreeMap<String, String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for row in rows {
        w.write_record(header.iter().map(|h| row[h].as_str()))
            .unwrap();
    }
    w.flush().unwrap();
}

/// Killed per province from the log: each incident in force, its province, and the point
/// value (the count, or the best estimate) of the dataset's latest report or correction.
fn killed_by_province_from_log(s: &Scratch) -> BTreeMap<String, u64> {
    let mut province: BTreeMap<String, String> = BTreeMap::new();
    let mut killed: BTreeMap<String, u64> = BTreeMap::new();
    let mut retracted_incidents = Vec::new();
    let mut first_event: BTreeMap<String, String> = BTreeMap::new();
    for e in events(s) {
        let incident = e["incident"].as_str().unwrap().to_string();
        let payload = &e["payload"];
        match e["kind"].as_str().unwrap() {
            "incident_reported" => {
                first_event.insert(e["id"].as_str().unwrap().into(), incident.clone());
                province.insert(incident, payload["province"].as_str().unwrap().into());
            }
            "incident_amended" => {
                if let Some(p) = payload["province"].as_str() {
                    province.insert(incident, p.into());
                }
            }
            "casualties_reported" | "casualties_corrected" => {
                let figure: Figure = serde_json::from_value(payload["killed"].clone()).unwrap();
                killed.insert(incident, figure.point());
            }
            "event_retracted" => {
                if let Some(i) = first_event.get(payload["event"].as_str().unwrap()) {
                    retracted_incidents.push(i.clone());
                }
            }
            _ => {}
        }
    }
    let mut totals = BTreeMap::new();
    for (incident, province) in province {
        if retracted_incidents.contains(&incident) {
            continue;
        }
        *totals.entry(province).or_insert(0) += killed.get(&incident).copied().unwrap_or(0);
    }
    totals
}

/// Killed per province (the best figure) from `chronicle summary --by province --json`.
fn killed_by_province_from_summary(s: &Scratch) -> BTreeMap<String, u64> {
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["summary", "--by", "province", "--json"])).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                g["killed"]["best"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Killed per province computed from the CSV alone: `column` summed per `province_column`,
/// the province names resolved with the gazetteer (an empty name counts as `unknown`).
fn killed_by_province_from_csv(
    path: &Path,
    province_column: &str,
    column: &str,
) -> BTreeMap<String, u64> {
    let (_, rows) = read_csv(path);
    let mut by_raw: BTreeMap<String, u64> = BTreeMap::new();
    for row in &rows {
        *by_raw.entry(row[province_column].clone()).or_insert(0) +=
            row[column].parse::<u64>().unwrap();
    }
    let mut totals = BTreeMap::new();
    for (raw, n) in by_raw {
        let name = if raw.is_empty() {
            "unknown".to_string()
        } else {
            Gazetteer::afghanistan().resolve(&raw).unwrap().name.clone()
        };
        *totals.entry(name).or_insert(0) += n;
    }
    totals
}

#[test]
fn acled_sample_imports_every_row_and_a_reimport_appends_nothing() {
    let s = Scratch::new();
    let out = s.ok(&["import", "--from", "acled", p(&acled_sample())]);
    insta::assert_snapshot!(out, @r"
    rows read      105
    incidents new  105
    corrections    0
    amendments     0
    retractions    0
    unchanged      0
    skipped        0
    ");
    let all = events(&s);
    let count = |kind: &str| all.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(count("incident_reported"), 105);
    assert_eq!(count("casualties_reported"), 105);
    assert_eq!(all.len(), 210);

    let before = s.dump();
    let out = s.ok_at(
        "2020-08-01T00:00:00Z",
        &["import", "--from", "acled", p(&acled_sample())],
    );
    assert!(out.contains("incidents new  0"), "{out}");
    assert!(out.contains("unchanged      105"), "{out}");
    assert_eq!(
        s.dump(),
        before,
        "a re-import of the same file appends nothing"
    );
    s.ok(&["verify"]);
}

#[test]
fn ucdp_sample_imports_135_records_from_151_lines() {
    let text = std::fs::read_to_string(ucdp_sample()).unwrap();
    assert_eq!(
        text.lines().count(),
        151,
        "151 physical lines, the header included"
    );
    let s = Scratch::new();
    let out = s.ok(&[
        "import",
        "--from",
        "ucdp",
        "--release",
        "UCDP GED 23.1",
        p(&ucdp_sample()),
    ]);
    assert!(
        out.starts_with("rows read      135\nincidents new  135\n"),
        "{out}"
    );
    let all = events(&s);
    assert_eq!(all.len(), 270);
    assert!(all
        .iter()
        .filter(|e| e["kind"] == "casualties_reported")
        .all(|e| e["payload"]["source"] == "UCDP GED 23.1"));
    let before = s.dump();
    let out = s.ok(&[
        "import",
        "--from",
        "ucdp",
        "--release",
        "UCDP GED 23.1",
        p(&ucdp_sample()),
    ]);
    assert!(out.contains("unchanged      135"), "{out}");
    assert_eq!(s.dump(), before);
}

#[test]
fn killed_by_province_matches_the_csv() {
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", p(&acled_sample())]);
    let from_log = killed_by_province_from_log(&s);
    let from_csv = killed_by_province_from_csv(&acled_sample(), "admin1", "fatalities");
    assert_eq!(from_log, from_csv);
    assert_eq!(killed_by_province_from_summary(&s), from_csv);
    assert_eq!(from_csv.values().sum::<u64>(), 137);
    assert!(from_log.len() >= 20, "{from_log:?}");

    let s = Scratch::new();
    s.ok(&["import", "--from", "ucdp", p(&ucdp_sample())]);
    let from_log = killed_by_province_from_log(&s);
    let from_csv = killed_by_province_from_csv(&ucdp_sample(), "adm_1", "best");
    assert_eq!(from_log, from_csv);
    assert_eq!(killed_by_province_from_summary(&s), from_csv);
    // UCDP's "Hilmand province" is counted as Helmand; the two country-wide events apart.
    assert!(from_log.contains_key("Helmand") && !from_log.contains_key("Hilmand province"));
    assert!(from_log.contains_key("unknown"));
}

/// The events of some imported incidents, without hashes (tested elsewhere).
fn incident_events(s: &Scratch, incidents: &[&str]) -> String {
    let mut out = String::new();
    for incident in incidents {
        for line in s.ok(&["log", "--json", "--incident", incident]).lines() {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            v.as_object_mut().unwrap().remove("hash");
            out.push_str(&serde_json::to_string_pretty(&v).unwrap());
            out.push('\n');
        }
    }
    out
}

#[test]
fn imported_incidents_as_events() {
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", p(&acled_sample())]);
    s.ok(&[
        "import",
        "--from",
        "ucdp",
        "--release",
        "UCDP GED 23.1",
        p(&ucdp_sample()),
    ]);
    // AFG63558: sources disagree in the notes; AFG63876: only the month is known;
    // 351342: the July 2020 Uruzgan event; 406097: best 18, low 18, high 17;
    // 205370: a country-wide event with no adm_1.
    insta::assert_snapshot!(incident_events(
        &s,
        &[
            "acled-AFG63558",
            "acled-AFG63876",
            "ucdp-351342",
            "ucdp-406097",
            "ucdp-205370"
        ]
    ));
}

/// The ACLED sample with AFG63558's fatalities raised, AFG62470 moved a day (both with a new
/// timestamp, as ACLED does) and AFG63876 removed.
fn acled_revised(s: &Scratch) -> PathBuf {
    let (header, rows) = read_csv(&acled_sample());
    let mut revised = Vec::new();
    for mut row in rows {
        match row["event_id_cnty"].as_str() {
            "AFG63558" => {
                row.insert("fatalities".into(), "5".into());
                row.insert("timestamp".into(), "1658822400".into());
            }
            "AFG62470" => {
                row.insert("event_date".into(), "2022-01-04".into());
                row.insert("timestamp".into(), "1658822400".into());
            }
            "AFG63876" => continue,
            _ => {}
        }
        revised.push(row);
    }
    let path = s.path("acled-revised.csv");
    write_csv(&path, &header, &revised);
    path
}

#[test]
fn a_revised_release_appends_corrections_amendments_and_retractions() {
    let s = Scratch::new();
    let mut transcript = String::new();
    let mut step = |now: &str, args: &[&str]| {
        let (code, out, err) = s.run_at(now, args);
        transcript.push_str(&format!(
            "$ chronicle {}\n{out}{err}[exit {code}]\n\n",
            args.join(" ")
                .replace(&s.dir.path().display().to_string(), "[DIR]")
                .replace(&repo_root().display().to_string(), "[REPO]")
        ));
    };
    let v1 = acled_sample();
    let v2 = acled_revised(&s);
    step(
        "2022-08-01T00:00:00Z",
        &["import", "--from", "acled", p(&v1)],
    );
    step(
        "2022-09-01T00:00:00Z",
        &["import", "--from", "acled", "--full-release", p(&v2)],
    );
    step("2022-09-01T00:00:00Z", &["log", "--since", "210"]);
    step("2022-09-01T00:00:00Z", &["history", "acled-AFG63558"]);
    step("2022-09-01T00:00:00Z", &["history", "acled-AFG62470"]);
    step("2022-09-01T00:00:00Z", &["history", "acled-AFG63876"]);
    // The same release again: nothing.
    step(
        "2022-09-02T00:00:00Z",
        &["import", "--from", "acled", "--full-release", p(&v2)],
    );
    // The older release again: its rows are older than the log, the retracted one stays so.
    step(
        "2022-09-03T00:00:00Z",
        &["import", "--from", "acled", p(&v1)],
    );
    // A filtered extract of the new release, without --full-release: no retractions.
    let (header, rows) = read_csv(&v2);
    let extract = s.path("extract.csv");
    write_csv(&extract, &header, &rows[..10]);
    step(
        "2022-09-04T00:00:00Z",
        &["import", "--from", "acled", p(&extract)],
    );
    // ACLED's deleted-events list.
    let deleted = s.write(
        "deleted.csv",
        "event_id_cnty,deleted_timestamp\nAFG62478,1659000000\nAFG00001,1659000000\n",
    );
    step(
        "2022-09-05T00:00:00Z",
        &["import", "--from", "acled", "--deleted", p(&deleted)],
    );
    step("2022-09-05T00:00:00Z", &["log", "--since", "213"]);
    step("2022-09-05T00:00:00Z", &["verify"]);
    insta::assert_snapshot!(transcript);
    assert_eq!(events(&s).len(), 214);
}

#[test]
fn a_new_ucdp_release_corrects_the_figures_it_revised() {
    let s = Scratch::new();
    s.ok_at(
        "2023-06-01T00:00:00Z",
        &[
            "import",
            "--from",
            "ucdp",
            "--release",
            "UCDP GED 23.1",
            p(&ucdp_sample()),
        ],
    );
    let (header, mut rows) = read_csv(&ucdp_sample());
    for row in rows.iter_mut() {
        if row["id"] == "351342" {
            // Two more civilians, and the province respelled.
            let civilians: u64 = row["deaths_civilians"].parse().unwrap();
            let best: u64 = row["best"].parse().unwrap();
            row.insert("deaths_civilians".into(), (civilians + 2).to_string());
            row.insert("best".into(), (best + 2).to_string());
            row.insert("high".into(), (best + 4).to_string());
            row.insert("adm_1".into(), "Oruzgan province".into());
        }
    }
    let v2 = s.path("ged241-afghanistan.csv");
    write_csv(&v2, &header, &rows);
    let out = s.ok_at(
        "2024-06-01T00:00:00Z",
        &[
            "import",
            "--from",
            "ucdp",
            "--release",
            "UCDP GED 24.1",
            p(&v2),
        ],
    );
    assert!(
        out.contains("corrections    1\namendments     1\n"),
        "{out}"
    );
    assert!(out.contains("unchanged      134"), "{out}");
    insta::assert_snapshot!(s.ok(&["log", "--since", "270"]));
    insta::assert_snapshot!("ucdp_history", s.ok(&["history", "ucdp-351342"]));
}

/// A small ACLED file with quoted commas and line breaks, and (optionally) a bad row.
fn small_acled(s: &Scratch, name: &str, bad_fatalities: &str) -> PathBuf {
    let (header, rows) = read_csv(&acled_sample());
    let header_line = header.join(",");
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for (i, row) in rows.iter().take(3).enumerate() {
        let mut row = row.clone();
        if i == 0 {
            row.insert(
                "notes".into(),
                "First line, with a comma;\nsecond line, \"quoted\".\nThird line.".into(),
            );
            row.insert("source".into(), "Pajhwok, Kabul; TOLO News".into());
        }
        if i == 1 {
            row.insert("fatalities".into(), bad_fatalities.into());
        }
        w.write_record(header.iter().map(|h| row[h].as_str()))
            .unwrap();
    }
    let body = String::from_utf8(w.into_inner().unwrap()).unwrap();
    s.write(name, &format!("{header_line}\n{body}"))
}

#[test]
fn quoted_fields_keep_their_commas_and_line_breaks() {
    let s = Scratch::new();
    let file = small_acled(&s, "small.csv", "1");
    s.ok(&["import", "--from", "acled", p(&file)]);
    let all = events(&s);
    assert_eq!(all.len(), 6);
    let report = &all[1]["payload"];
    assert_eq!(
        report["note"],
        "First line, with a comma;\nsecond line, \"quoted\".\nThird line."
    );
    assert_eq!(report["citation"], "Pajhwok, Kabul; TOLO News");
    assert_eq!(report["attributes"]["source"], "Pajhwok, Kabul; TOLO News");
}

#[test]
fn a_malformed_row_stops_the_import_naming_file_line_and_column() {
    let s = Scratch::new();
    // Row 1 spans lines 2-4 (two line breaks in its notes), so row 2 starts on line 5.
    let file = small_acled(&s, "bad.csv", "three");
    let (code, out, err) = s.run(&["import", "--from", "acled", p(&file)]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err.trim(),
        "error: [DIR]/bad.csv:5: field `fatalities`, value \"three\": is not a count (a whole number, 0 or more)"
    );
    assert_eq!(s.dump(), "", "nothing was written");

    let (code, out, err) = s.run(&["import", "--from", "acled", "--skip-invalid", p(&file)]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r#"
    rows read      3
    incidents new  2
    corrections    0
    amendments     0
    retractions    0
    unchanged      0
    skipped        1
    skipped [DIR]/bad.csv:5: field `fatalities`, value "three": is not a count (a whole number, 0 or more)
    "#);
    assert_eq!(events(&s).len(), 4);
}

#[test]
fn files_of_the_wrong_shape_get_clear_errors() {
    let s = Scratch::new();
    let (code, _, err) = s.run(&["import", "--from", "acled", p(&ucdp_sample())]);
    assert_eq!(code, 2);
    assert!(
        err.contains("field `event_id_cnty`") && err.contains("use --from ucdp"),
        "{err}"
    );
    let (header, rows) = read_csv(&acled_sample());
    let without: Vec<String> = header
        .iter()
        .filter(|h| *h != "fatalities")
        .cloned()
        .collect();
    let path = s.path("no-fatalities.csv");
    write_csv(&path, &without, &rows);
    let (code, _, err) = s.run(&["import", "--from", "acled", p(&path)]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "no-fatalities.csv:1: field `fatalities`: the ACLED file has no `fatalities` column"
        ),
        "{err}"
    );
    let ragged = s.write(
        "ragged.csv",
        &format!("{}\nAFG1,2022-01-01\n", header.join(",")),
    );
    let (code, _, err) = s.run(&["import", "--from", "acled", p(&ragged)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ragged.csv:2: field `row`: has 2 fields where the header has 31"),
        "{err}"
    );
    let mut latin1 = format!("{}\n", header.join(",")).into_bytes();
    let (_, rows) = read_csv(&acled_sample());
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(header.iter().map(|h| rows[0][h].as_str()))
        .unwrap();
    let good = w.into_inner().unwrap();
    let good = String::from_utf8(good)
        .unwrap()
        .replace(",Ghazni,", ",\u{1}hazni,");
    latin1.extend(good.bytes().map(|b| if b == 1 { 0xC9 } else { b }));
    let latin1_path = s.path("latin1.csv");
    std::fs::write(&latin1_path, latin1).unwrap();
    let (code, _, err) = s.run(&["import", "--from", "acled", p(&latin1_path)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("latin1.csv:2: field `admin1`: is not valid UTF-8"),
        "{err}"
    );
    let (code, out, _) = s.run(&[
        "import",
        "--from",
        "acled",
        "--skip-invalid",
        p(&latin1_path),
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("skipped [DIR]/latin1.csv:2: field `admin1`"),
        "{out}"
    );
    assert_eq!(s.dump(), "");
    let (code, _, err) = s.run(&["import", "--from", "ucdp", "--deleted", p(&ragged)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("deleted-events list is an ACLED export"),
        "{err}"
    );
    assert_eq!(s.dump(), "");
}

#[test]
fn text_interaction_codes_import_like_numeric_ones() {
    let s = Scratch::new();
    let (header, mut rows) = read_csv(&acled_sample());
    let label = |code: &str| match code {
        "1" => "State forces",
        "2" => "Rebel group",
        "3" => "Political militia",
        "4" => "Identity militia",
        "5" => "Rioters",
        "6" => "Protesters",
        "7" => "Civilians",
        "8" => "External/Other forces",
        _ => "",
    };
    for row in rows.iter_mut() {
        let (a, b) = (
            label(&row["inter1"]).to_string(),
            label(&row["inter2"]).to_string(),
        );
        let both = if b.is_empty() {
            format!("{a} only")
        } else {
            format!("{a}-{b}")
        };
        row.insert("inter1".into(), a);
        row.insert("inter2".into(), b);
        row.insert("interaction".into(), both);
    }
    let path = s.path("acled-text-codes.csv");
    write_csv(&path, &header, &rows);
    let out = s.ok(&["import", "--from", "acled", p(&path)]);
    assert!(out.contains("incidents new  105"), "{out}");
    let all = events(&s);
    assert_eq!(all[0]["payload"]["attributes"]["inter1"], "State forces");
}

#[test]
fn an_editors_retractions_and_merges_are_respected() {
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", p(&acled_sample())]);
    let report_id = events(&s)
        .iter()
        .find(|e| e["incident"] == "acled-AFG62470" && e["kind"] == "casualties_reported")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(&["retract", &report_id, "--reason", "figures entered twice"]);
    s.ok(&[
        "merge",
        "acled-AFG63558",
        "--into",
        "acled-AFG63303",
        "--reason",
        "same clash, reported twice",
    ]);
    // The same file: the retracted report is added again; the merged incident is unchanged.
    let out = s.ok(&["import", "--from", "acled", p(&acled_sample())]);
    let counts = summary(&out);
    assert_eq!(counts["unchanged"], 104, "{out}");
    assert_eq!(counts["reports re-added"], 1, "{out}");
    assert!(!out.contains("note:"), "{out}");
    // A revision of the merged incident is not applied, and says so.
    let before = events(&s).len();
    let out = s.ok(&["import", "--from", "acled", p(&acled_revised(&s))]);
    assert!(
        out.contains("note: acled-AFG63558: merged into `acled-AFG63303` by an editor; this row's revision is not applied"),
        "{out}"
    );
    let counts = summary(&out);
    assert_eq!(counts["amendments"], 1, "{out}");
    assert_eq!(counts["not applied (retracted or merged)"], 1, "{out}");
    assert_eq!(events(&s).len(), before + 1);
}

#[test]
fn killed_by_province_follows_a_revised_full_release() {
    let s = Scratch::new();
    s.ok(&["import", "--from", "acled", p(&acled_sample())]);
    let v2 = acled_revised(&s);
    s.ok(&["import", "--from", "acled", "--full-release", p(&v2)]);
    let from_log = killed_by_province_from_log(&s);
    let from_csv = killed_by_province_from_csv(&v2, "admin1", "fatalities");
    assert_eq!(from_log, from_csv);
    assert_eq!(killed_by_province_from_summary(&s), from_csv);
    // AFG63558 (Kabul) went from 3 to 5.
    let before = killed_by_province_from_csv(&acled_sample(), "admin1", "fatalities");
    assert_eq!(from_log["Kabul"], before["Kabul"] + 2);
}

#[test]
fn event_ids_derive_from_the_data_not_the_clock() {
    let ids = |now: &str, by: &str| {
        let s = Scratch::new();
        s.ok_at(
            now,
            &["import", "--by", by, "--from", "ucdp", p(&ucdp_sample())],
        );
        events(&s)
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let a = ids("2023-06-01T00:00:00Z", "alice");
    let b = ids("2024-01-01T00:00:00Z", "bob");
    assert_eq!(a, b);
    assert!(a.iter().all(|id| id.starts_with("ucdp:")));
    assert_eq!(a.len(), 270);
    assert!(a
        .iter()
        .any(|id| id.starts_with("ucdp:406097:") && id.ends_with(":report")));
}

#[test]
fn a_row_too_large_for_one_event_is_malformed_and_skippable() {
    let s = Scratch::new();
    let (mut header, rows) = read_csv(&acled_sample());
    let mut rows: Vec<_> = rows.into_iter().take(2).collect();
    for i in 1..=5 {
        let column = format!("extra{i}");
        header.push(column.clone());
        for (n, row) in rows.iter_mut().enumerate() {
            let value = if n == 1 {
                "x".repeat(15_000)
            } else {
                String::new()
            };
            row.insert(column.clone(), value);
        }
    }
    let path = s.path("wide.csv");
    write_csv(&path, &header, &rows);
    let (code, _, err) = s.run(&["import", "--from", "acled", p(&path)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("wide.csv:3: field `row`: its values make an event of")
            && err.contains("more than the log's limit of 65536 bytes"),
        "{err}"
    );
    assert_eq!(s.dump(), "");
    let out = s.ok(&["import", "--from", "acled", "--skip-invalid", p(&path)]);
    assert_eq!(summary(&out)["incidents new"], 1, "{out}");
    assert_eq!(summary(&out)["skipped"], 1, "{out}");
}

/// The same amendment, once from a revised ACLED release and once with `chronicle amend`,
/// gives the same view of the incident: import and the views fold amendments with one
/// function (`IncidentDetails::amend`).
#[test]
fn an_amendment_imported_from_a_csv_and_given_with_amend_give_the_same_view() {
    let (header, rows) = read_csv(&acled_sample());
    let revised: Vec<BTreeMap<String, String>> = rows
        .into_iter()
        .map(|mut row| {
            if row["event_id_cnty"] == "AFG62470" {
                row.insert("event_date".into(), "2022-01-04".into());
                row.insert("admin1".into(), "Balkh".into());
                row.insert("admin2".into(), "Mazar-e-Sharif".into());
                row.insert("location".into(), "Dehdadi".into());
                row.insert("timestamp".into(), "1658822400".into());
            }
            row
        })
        .collect();
    let by_import = Scratch::new();
    let by_hand = Scratch::new();
    let revised_path = by_import.path("acled-revised.csv");
    write_csv(&revised_path, &header, &revised);
    for s in [&by_import, &by_hand] {
        let (code, _, err) = s.run_at(
            "2022-08-01T00:00:00Z",
            &["import", "--from", "acled", p(&acled_sample())],
        );
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = by_import.run_at(
        "2022-08-02T00:00:00Z",
        &["import", "--from", "acled", p(&revised_path)],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = by_hand.run_at(
        "2022-08-02T00:00:00Z",
        &[
            "amend",
            "--incident",
            "acled-AFG62470",
            "--date",
            "2022-01-04",
            "--province",
            "Balkh",
            "--district",
            "Mazar-e-Sharif",
            "--locality",
            "Dehdadi",
            "--reason",
            "ACLED revision",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let view = |s: &Scratch| {
        let (code, out, err) = s.run(&["show", "acled-AFG62470", "--json"]);
        assert_eq!(code, 0, "{err}");
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let o = v.as_object_mut().unwrap();
        // What an amendment can change, and what follows from it; the events themselves
        // (ids, reasons, the dataset's own `timestamp` attribute) differ by design.
        o.retain(|k, _| {
            [
                "date",
                "date_start",
                "date_end",
                "date_precision",
                "country",
                "province",
                "province_code",
                "district",
                "locality",
                "coordinates",
                "category",
                "target",
                "perpetrator",
                "summary",
                "killed",
                "wounded",
            ]
            .contains(&k.as_str())
        });
        v
    };
    let imported = view(&by_import);
    assert_eq!(imported["province"], "Balkh", "{imported}");
    assert_eq!(imported["date"], "2022-01-04");
    assert_eq!(imported, view(&by_hand));
}

/// The sample's rows copied `times` over under new event ids (`AFG63876` becomes
/// `AFG63876R7`), each copy's fatalities raised by `more` for the ids `raise` picks: a
/// release larger than the rows an import reads ahead at a time (1024).
fn acled_copies(
    s: &Scratch,
    name: &str,
    times: usize,
    raise: impl Fn(usize) -> Option<u64>,
) -> PathBuf {
    let (header, rows) = read_csv(&acled_sample());
    let mut out = Vec::new();
    for copy in 0..times {
        for row in &rows {
            let mut row = row.clone();
            let n = out.len();
            let id = format!("{}R{copy}", row["event_id_cnty"]);
            row.insert("event_id_cnty".into(), id);
            if let Some(more) = raise(n) {
                let killed: u64 = row["fatalities"].parse().unwrap();
                row.insert("fatalities".into(), (killed + more).to_string());
                let ts: u64 = row["timestamp"].parse().unwrap();
                row.insert("timestamp".into(), (ts + 1).to_string());
            }
            out.push(row);
        }
    }
    let path = s.path(name);
    write_csv(&path, &header, &out);
    path
}

/// An import reads its rows ahead in chunks (one read of the log for a chunk's streams and
/// ids, which on a server saves three round trips a row): across the chunks' edges, a
/// revised release corrects exactly the rows it revised, a malformed row is reported as
/// the first error of the file even when rows before it are still to be applied, and
/// nothing is written then.
#[test]
fn a_release_larger_than_the_read_ahead_imports_and_revises_row_for_row() {
    let s = Scratch::new();
    let v1 = acled_copies(&s, "v1.csv", 25, |_| None);
    let (code, out, err) = s.run(&["import", "--from", "acled", p(&v1)]);
    assert_eq!(code, 0, "{err}");
    let rows = 25 * 105;
    assert_eq!(summary(&out)["rows read"], rows);
    assert_eq!(summary(&out)["incidents new"], rows);
    assert_eq!(events(&s).len() as u64, 2 * rows);
    // Every 7th row revised, on both sides of each chunk's edge (1023, 1024, 1025, ...).
    let revised = |n: usize| (n % 7 == 0 || !(5..1020).contains(&(n % 1024))).then_some(2);
    let v2 = acled_copies(&s, "v2.csv", 25, revised);
    let expected = (0..rows as usize).filter(|n| revised(*n).is_some()).count() as u64;
    let (code, out, err) = s.run(&["import", "--from", "acled", p(&v2)]);
    assert_eq!(code, 0, "{err}");
    let counts = summary(&out);
    assert_eq!(counts["corrections"], expected, "{out}");
    assert_eq!(counts["unchanged"], rows - expected, "{out}");
    assert_eq!(events(&s).len() as u64, 2 * rows + expected);
    // Row 1025 (line 1026) is the 1025th row: the first of the second chunk.
    let (header, mut all) = read_csv(&v2);
    let id = all[1024]["event_id_cnty"].clone();
    let (_, history, _) = s.run(&["history", &format!("acled-{id}")]);
    assert!(history.contains("casualties_corrected"), "{history}");
    // The same release again: nothing.
    let (code, out, err) = s.run(&["import", "--from", "acled", p(&v2)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&out)["unchanged"], rows, "{out}");
    // Two malformed rows, the first after the first chunk, the second after the second:
    // the first is the error, and nothing is written.
    all[1500].insert("fatalities".into(), "many".into());
    all[2100].insert("event_date".into(), "yesterday".into());
    let bad = s.path("bad.csv");
    write_csv(&bad, &header, &all);
    let before = s.dump();
    let (code, _, err) = s.run(&["import", "--from", "acled", p(&bad)]);
    assert_eq!(code, 2, "{err}");
    let line = |row: usize| {
        // Each row's notes may span lines: count the lines up to the row as the CSV holds them.
        let text = std::fs::read_to_string(&bad).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        reader
            .records()
            .nth(row)
            .unwrap()
            .unwrap()
            .position()
            .unwrap()
            .line()
    };
    assert!(
        err.contains(&format!(
            "bad.csv:{}: field `fatalities`, value \"many\"",
            line(1500)
        )),
        "{err}"
    );
    assert_eq!(s.dump(), before, "nothing was written");
}
