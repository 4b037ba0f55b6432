//! `chronicle import` names the physical line where a bad row starts, whatever the file's
//! line ends: LF, CRLF (what Excel and Python's csv module write), and rows whose quoted
//! fields span several lines.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{repo_root, Scratch};

/// The first `n` rows of the ACLED sample, with the header, written with `terminator`; row
/// `multiline` (0-based, if any) gets notes of three lines (two line breaks inside quotes,
/// written with `terminator` too), and row `bad` gets fatalities "three".
fn acled_file(
    s: &Scratch,
    name: &str,
    terminator: &str,
    multiline: Option<usize>,
    bad: usize,
) -> PathBuf {
    let sample = repo_root().join("tests/data/acled-afghanistan-2022-h1-acledR-dummy.csv");
    let mut reader = csv::Reader::from_path(sample).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let term = match terminator {
        "\r\n" => csv::Terminator::CRLF,
        _ => csv::Terminator::Any(b'\n'),
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(term)
        .from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for (i, record) in reader.records().take(bad + 2).enumerate() {
        let mut row: Vec<String> = record.unwrap().iter().map(String::from).collect();
        if multiline == Some(i) {
            row[col("notes")] = format!("First line;{terminator}second line.{terminator}Third.");
        }
        if i == bad {
            row[col("fatalities")] = "three".into();
        }
        w.write_record(&row).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    let path = s.path(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The error of importing `file`, which must be refused with exit code 2 and nothing written.
fn refusal(s: &Scratch, file: &Path) -> String {
    let (code, out, err) = s.run(&["import", "--from", "acled", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(s.dump(), "", "nothing was written");
    err.trim().to_string()
}

/// The line of each line of `file` that holds "three", 1-based, counting `\n` (the files end
/// lines with `\n` or `\r\n`).
fn physical_line_of_three(file: &Path) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    text.split('\n')
        .position(|l| l.contains(",three,"))
        .unwrap()
        + 1
}

#[test]
fn a_bad_row_is_reported_on_its_physical_line_with_lf_and_crlf() {
    let s = Scratch::new();
    for (name, terminator) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        // Header on line 1, rows on lines 2..: the 7th row is on line 8.
        let file = acled_file(&s, name, terminator, None, 6);
        assert_eq!(physical_line_of_three(&file), 8);
        assert_eq!(
            refusal(&s, &file),
            format!("error: [DIR]/{name}:8: field `fatalities`, value \"three\": is not a count (a whole number, 0 or more)"),
            "{name}"
        );
    }
    // Further down the file too (the issue's `:49` for line 50).
    let file = acled_file(&s, "crlf50.csv", "\r\n", None, 48);
    assert_eq!(physical_line_of_three(&file), 50);
    assert!(refusal(&s, &file).starts_with("error: [DIR]/crlf50.csv:50: field `fatalities`"));
}

#[test]
fn a_row_after_a_multi_line_quoted_field_is_reported_where_it_starts() {
    let s = Scratch::new();
    for (name, terminator) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        // Row 2 (line 3) spans lines 3-5, so row 4 starts on line 7.
        let file = acled_file(&s, name, terminator, Some(1), 3);
        assert_eq!(physical_line_of_three(&file), 7);
        assert!(
            refusal(&s, &file).starts_with(&format!("error: [DIR]/{name}:7: field `fatalities`")),
            "{name}"
        );
        // The bad row itself spanning lines: reported where it starts.
        let file = acled_file(&s, name, terminator, Some(3), 3);
        assert!(
            refusal(&s, &file).starts_with(&format!("error: [DIR]/{name}:5: field `fatalities`")),
            "{name}"
        );
    }
}

#[test]
fn skipped_rows_and_malformed_records_of_a_crlf_file_name_their_lines() {
    let s = Scratch::new();
    let file = acled_file(&s, "crlf.csv", "\r\n", Some(0), 2);
    let (code, out, err) = s.run(&[
        "import",
        "--from",
        "acled",
        "--skip-invalid",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r#"
    rows read      4
    incidents new  3
    corrections    0
    amendments     0
    retractions    0
    unchanged      0
    skipped        1
    skipped [DIR]/crlf.csv:6: field `fatalities`, value "three": is not a count (a whole number, 0 or more)
    "#);

    // A record with a field too many (the csv reader's own refusal), after a blank line and
    // the multi-line row: header on line 1, blank line 2, row 1 on lines 3-5, row 2 on line 6.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.split("\r\n").collect();
    lines.insert(1, "");
    let extra = format!("{},extra", lines[5]);
    lines[5] = &extra;
    let s = Scratch::new();
    let broken = s.path("broken.csv");
    std::fs::write(&broken, lines.join("\r\n")).unwrap();
    let err = refusal(&s, &broken);
    assert!(
        err.starts_with(
            "error: [DIR]/broken.csv:6: field `row`: has 32 fields where the header has 31"
        ),
        "{err}"
    );
}

#[test]
fn a_deleted_events_list_with_crlf_names_its_lines() {
    let s = Scratch::new();
    let deleted = s.write(
        "deleted.csv",
        "event_id_cnty,deleted_timestamp\r\nAFG1,1658822400\r\nAFG2,yesterday\r\n",
    );
    let (code, _, err) = s.run(&[
        "import",
        "--from",
        "acled",
        "--deleted",
        deleted.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err.trim(),
        "error: [DIR]/deleted.csv:3: field `deleted_timestamp`, value \"yesterday\": is not a unix time in seconds"
    );
}
