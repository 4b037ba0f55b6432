//! Reads that never mislead (issue 12): read filters go through the gazetteer like writes,
//! days and points are checked, `--best source:NAME` must name a source in view, audits give
//! their whole answer (killed and wounded at once), and output to a pipe is never cut.
//! Each test runs on a copy of the demo log (`events.db`): the committed file is never written.
#![allow(clippy::unwrap_used)]

mod common;

use common::Scratch;

/// The July 2020 scope of the infobox, with extra arguments.
fn july<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--from", "2020-07-01", "--to", "2020-07-31"];
    args.extend_from_slice(more);
    args
}

/// Runs and returns "stdout + stderr + [exit N]" for a transcript.
fn transcript(s: &Scratch, args: &[&str]) -> String {
    let (code, out, err) = s.run(args);
    format!("$ chronicle {}\n{out}{err}[exit {code}]\n", args.join(" "))
}

#[test]
fn a_misspelt_province_gives_no_audit_verdict() {
    let s = Scratch::demo();
    let args = [
        &["audit", "--province", "Kundoz", "--killed", "14"][..],
        &july(&[]),
    ]
    .concat();
    let (code, out, err) = s.run(&args);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "", "no verdict at all");
    insta::assert_snapshot!("misspelt_province", err);
}

#[test]
fn every_read_command_refuses_an_unknown_province() {
    let s = Scratch::demo();
    let commands: [&[&str]; 6] = [
        &["timeline"],
        &["summary"],
        &["sources"],
        &["audit", "--killed", "14"],
        &["export"],
        &["diff", "--from", "seq:10"],
    ];
    for command in commands {
        let args = [command, &["--province", "Kundoz"]].concat();
        let (code, out, err) = s.run(&args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
        assert!(
            err.starts_with("error: field `--province`, value \"Kundoz\": unknown province")
                && err.contains("did you mean Kunduz?"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn province_filters_take_every_spelling_writes_take() {
    let s = Scratch::demo();
    let kunduz = s.ok(&["timeline", "--province", "Kunduz"]);
    assert!(kunduz.contains("2020-07-20-kunduz-checkpoint"), "{kunduz}");
    for spelling in ["Kunduz Province", "kunduz", "AF-KDZ", "KUNDUZ province"] {
        assert_eq!(
            s.ok(&["timeline", "--province", spelling]),
            kunduz,
            "{spelling}"
        );
    }
    // "Wardak" is an alias of Maidan Wardak.
    let wardak = s.ok(&["timeline", "--province", "Wardak"]);
    assert!(
        wardak.contains("2020-07-20-maidan-wardak-convoy"),
        "{wardak}"
    );
    // The audit of the infobox claim answers the same for any spelling.
    let audit = |p: &str| {
        let args = [
            &["audit", "--province", p, "--killed", "14", "--json"][..],
            &july(&[]),
        ]
        .concat();
        let v: serde_json::Value = serde_json::from_str(&s.ok(&args)).unwrap();
        (v["verdict"].clone(), v["supported"]["low"].clone())
    };
    assert_eq!(audit("Kunduz Province"), ("below".into(), 27.into()));
    assert_eq!(audit("AF-KDZ"), audit("Kunduz"));
    // The export's provenance names the province the filter matched.
    let doc: serde_json::Value =
        serde_json::from_str(&s.ok(&["export", "--province", "kunduz province"])).unwrap();
    assert_eq!(doc["provenance"]["filters"]["province"], "Kunduz");
    assert_eq!(doc["totals"]["incidents"], 2);
    // summary, sources and diff take them too.
    for command in [&["summary"][..], &["sources"], &["diff", "--from", "seq:0"]] {
        let by_name = s.ok(&[command, &["--province", "Kunduz"]].concat());
        let by_code = s.ok(&[command, &["--province", "AF-KDZ"]].concat());
        assert_eq!(by_name, by_code, "{command:?}");
        assert_ne!(by_name, s.ok(command), "{command:?} filtered nothing");
    }
}

#[test]
fn a_province_written_one_way_is_found_by_any_other() {
    let s = Scratch::demo();
    s.ok(&[
        "report",
        "--incident",
        "2020-07-25-lashkar-gah",
        "--date",
        "2020-07-25",
        "--province",
        "Hilmand province",
        "--category",
        "bombing",
        "--source",
        "AFP",
        "--killed",
        "3",
    ]);
    for spelling in ["Helmand", "Hilmand", "AF-HEL", "helmand Province"] {
        let out = s.ok(&["timeline", "--province", spelling]);
        assert!(out.contains("2020-07-25-lashkar-gah"), "{spelling}: {out}");
    }
}

#[test]
fn unknown_places_are_matched_as_written_only_when_the_log_holds_them_or_when_allowed() {
    let s = Scratch::demo();
    // A place of a country chronicle has no gazetteer for, recorded as written.
    s.ok(&[
        "--allow-unknown-place",
        "report",
        "--incident",
        "2020-07-26-peshawar",
        "--date",
        "2020-07-26",
        "--country",
        "Pakistan",
        "--province",
        "Khyber Pakhtunkhwa",
        "--category",
        "bombing",
        "--source",
        "AFP",
        "--killed",
        "2",
    ]);
    let out = s.ok(&["timeline", "--province", "khyber pakhtunkhwa"]);
    assert!(out.contains("2020-07-26-peshawar"), "{out}");
    // A name neither the gazetteer nor the log knows: refused, unless allowed.
    let (code, _, err) = s.run(&["timeline", "--province", "Atlantis"]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("unknown_place_no_suggestion", err);
    let allowed = s.ok(&[
        "--allow-unknown-place",
        "timeline",
        "--province",
        "Atlantis",
    ]);
    assert_eq!(allowed, "No incidents.\n");
    // The flag is on the read commands' help.
    let help = s.ok(&["timeline", "--help"]);
    assert!(help.contains("--allow-unknown-place"), "{help}");
}

#[test]
fn a_misspelt_category_or_source_is_refused_not_read_as_no_incidents() {
    let s = Scratch::demo();
    let mut out = String::new();
    let commands: [&[&str]; 7] = [
        &["timeline", "--category", "suicide bombng"],
        &["summary", "--category", "armed-clash"],
        &["audit", "--category", "suicide bombng", "--killed", "5"],
        &["export", "--source", "AFPP"],
        &["sources", "--source", "Ministry of Defence"],
        &["diff", "--from", "seq:10", "--source", "AFPP"],
        &["timeline", "--source", "AFPP"],
    ];
    for args in commands {
        let (code, stdout, err) = s.run(args);
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {err}");
        out.push_str(&transcript(&s, args));
    }
    insta::assert_snapshot!("misspelt_category_or_source", out);
    // A name the log holds, in any case, is matched; one that matches nothing at this point
    // is a genuine empty answer.
    let (code, stdout, err) = s.run(&["timeline", "--category", "Suicide Bombing"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("2020-07-08-nangarhar-suicide-bombing"),
        "{stdout}"
    );
    let (code, stdout, err) = s.run(&["timeline", "--source", "afp", "--to", "2020-07-01"]);
    assert_eq!(
        (code, stdout.as_str(), err.as_str()),
        (0, "No incidents.\n", "")
    );
}

#[test]
fn best_source_that_never_reported_is_refused_with_the_known_sources() {
    let s = Scratch::demo();
    let mut out = String::new();
    for args in [
        &["timeline", "--best", "source:Reuters"][..],
        &["summary", "--province", "Logar", "--best", "source:afp"],
        &["show", "2020-07-30-puli-alam", "--best", "source:Reuters"],
        &["diff", "--from", "seq:30", "--best", "source:Reuters"],
    ] {
        out.push_str(&transcript(&s, args));
    }
    insta::assert_snapshot!("best_source_unknown", out);
    // A source that reported in scope is accepted.
    s.ok(&["timeline", "--province", "Logar", "--best", "source:AFP"]);
    s.ok(&["diff", "--from", "seq:30", "--best", "source:AFP"]);
}

#[test]
fn from_after_to_is_refused_on_every_command() {
    let s = Scratch::demo();
    let days = ["--from", "2020-07-31", "--to", "2020-07-01"];
    for command in [
        &["timeline"][..],
        &["summary"],
        &["sources"],
        &["audit", "--killed", "14"],
        &["export"],
    ] {
        let args = [command, &days].concat();
        let (code, out, err) = s.run(&args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
        assert_eq!(
            err,
            "error: field `--from`, value \"2020-07-31\": is after --to 2020-07-01: no incident could be in that span (give the earlier day to --from)\n",
            "{args:?}"
        );
    }
    let mut out = transcript(&s, &["diff", "--from", "seq:30", "--to", "seq:10"]);
    out.push_str(&transcript(&s, &["timeline", "--from", "2020-02-30"]));
    out.push_str(&transcript(
        &s,
        &["audit", "--killed", "1", "--to", "2020-13-01"],
    ));
    insta::assert_snapshot!("days_and_points", out);
}

#[test]
fn audit_lists_every_selection_to_leave_out() {
    let s = Scratch::demo();
    let args = ["audit", "--killed", "100"];
    let text = s.ok(&args);
    // Eight incidents of 7 killed or more: any one of them, not the first five.
    for id in [
        "2020-07-21-uruzgan-ied",
        "2020-07-22-kandahar-checkpoint",
        "2020-07-30-puli-alam",
    ] {
        assert!(
            text.contains(&format!("leaving out {id}")) || text.contains(&format!("or {id}")),
            "{id}: {text}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["audit", "--killed", "100", "--json"])).unwrap();
    assert_eq!(json["leave_out"].as_array().unwrap().len(), 8);
    assert_eq!(json["leave_out_complete"], true);
    insta::assert_snapshot!("audit_every_selection", text);

    // More selections than the text lists: it says how many more and where to see them.
    let text = s.ok(&["audit", "--killed", "50"]);
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["audit", "--killed", "50", "--json"])).unwrap();
    let all = json["leave_out"].as_array().unwrap().len();
    assert!(all > 10, "{all}");
    assert!(
        text.contains(&format!(
            "({} more selections would do as well; `--json` lists them all.)",
            all - 10
        )),
        "{text}"
    );
    let last = text.lines().last().unwrap();
    insta::assert_snapshot!("audit_more_selections", last);
}

#[test]
fn audit_takes_killed_and_wounded_together() {
    let s = Scratch::demo();
    let args = [
        &[
            "audit",
            "--province",
            "Ghazni",
            "--killed",
            "6",
            "--wounded",
            "8",
        ][..],
        &july(&[]),
    ]
    .concat();
    insta::assert_snapshot!("audit_killed_and_wounded", s.ok(&args));
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&[&args[..], &["--json"]].concat())).unwrap();
    let verdicts: Vec<(&str, &str)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["measure"].as_str().unwrap(),
                r["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(verdicts, [("killed", "within"), ("wounded", "within")]);
    // Each alone is the same verdict as in the pair.
    let killed = [
        &["audit", "--province", "Ghazni", "--killed", "6", "--json"][..],
        &july(&[]),
    ]
    .concat();
    let one: serde_json::Value = serde_json::from_str(&s.ok(&killed)).unwrap();
    assert_eq!(one["measure"], "killed");
    assert_eq!(one, json[0]);
}

#[test]
fn output_to_a_pipe_is_never_cut_and_ids_never_at_any_width() {
    let s = Scratch::demo();
    let id = "2020-07-08-nangarhar-suicide-bombing";
    // Standard output is a pipe here; $COLUMNS is for terminals.
    let piped = s.cmd(&["timeline"]).env("COLUMNS", "80").output().unwrap();
    let piped = String::from_utf8(piped.stdout).unwrap();
    assert!(piped.contains(id), "{piped}");
    assert!(!piped.contains('…'), "{piped}");
    assert!(
        piped.lines().any(|l| l.chars().count() > 80),
        "not wrapped: {piped}"
    );
    assert_eq!(
        s.ok(&["timeline", "--width", "0"]),
        piped,
        "--width 0: no limit"
    );
    // A forced width cuts text columns, never an id.
    let narrow = s.ok(&["timeline", "--width", "80"]);
    assert!(narrow.contains(id), "{narrow}");
    insta::assert_snapshot!("timeline_80_columns", narrow);
    let narrow = s.ok(&["audit", "--killed", "100", "--width", "40"]);
    assert!(
        narrow.contains("2020-07-20-maidan-wardak-convoy"),
        "{narrow}"
    );
    let diff = s.ok(&["diff", "--from", "seq:30", "--width", "20"]);
    assert!(diff.contains("2020-07-30-puli-alam"), "{diff}");
}
