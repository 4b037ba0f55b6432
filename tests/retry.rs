//! Issue 18, retry-safe writes: `--id ID` on every write command, so that a command run
//! again (after a timeout, a lost connection, a script's retry) appends nothing instead of a
//! second event, and the same id with other content is refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::Scratch;

const PULI: &str = "2020-07-30-puli-alam";
const DUP: &str = "2020-07-30-logar-bombing";

/// Runs each command and writes `$ chronicle ARGS`, its exit code and its output.
fn transcript(s: &Scratch, now: &str, commands: &[&[&str]]) -> String {
    let mut out = String::new();
    for args in commands {
        let (code, stdout, stderr) = s.run_at(now, args);
        out.push_str(&format!(
            "$ chronicle {}\n[exit {code}]\n{stdout}{stderr}\n",
            args.join(" ")
        ));
    }
    out
}

/// How many events the log holds.
fn events(s: &Scratch) -> usize {
    s.dump().lines().count()
}

/// The first report of Puli Alam under `--id afp-1` (it opens the incident).
fn opening_report() -> Vec<&'static str> {
    vec![
        "report",
        "--id",
        "afp-1",
        "--incident",
        PULI,
        "--date",
        "2020-07-30",
        "--province",
        "Logar",
        "--category",
        "suicide car bombing",
        "--source",
        "AFP",
        "--killed",
        "17",
    ]
}

/// Each write command, with `--id`, in an order where each can follow the ones before.
fn commands() -> Vec<Vec<&'static str>> {
    vec![
        opening_report(),
        vec![
            "report",
            "--id",
            "mod-1",
            "--incident",
            PULI,
            "--source",
            "Ministry of Defense",
            "--killed",
            "8",
        ],
        vec![
            "correct",
            "--id",
            "afp-2",
            "--incident",
            PULI,
            "--source",
            "AFP",
            "--killed",
            "19",
            "--reason",
            "hospital count",
            // Held when first run (the incident is at version 3); a retry comes after more
            // events, and is still recognised: the guard was checked when it was recorded.
            "--expect-version",
            "3",
        ],
        vec![
            "amend",
            "--id",
            "amend-1",
            "--incident",
            PULI,
            // Stored as "Logar" (as given: "Lowgar"): a retry is compared as stored.
            "--province",
            "Lowgar",
            "--district",
            "Puli Alam",
            "--reason",
            "district named",
        ],
        vec![
            "responsibility",
            "--id",
            "denial-1",
            "--incident",
            PULI,
            "--actor",
            "Taliban",
            "--source",
            "Taliban spokesman",
            "--denied",
        ],
        vec![
            "report",
            "--id",
            "dup-1",
            "--incident",
            DUP,
            "--date",
            "2020-07-30",
            "--province",
            "Logar",
            "--category",
            "car bombing",
            "--source",
            "Reuters",
            "--killed",
            "10",
        ],
        // A retry would be refused by validation (the duplicate is merged already).
        vec![
            "merge",
            "--id",
            "merge-1",
            DUP,
            "--into",
            PULI,
            "--reason",
            "same attack",
        ],
        // Likewise (the event is retracted already).
        vec![
            "retract",
            "--id",
            "retract-1",
            "mod-1",
            "--reason",
            "entered on the wrong incident",
        ],
    ]
}

#[test]
fn each_command_run_twice_with_the_same_id_appends_one_event() {
    let s = Scratch::new();
    let mut out = String::new();
    let mut expected = 0;
    for args in commands() {
        let args: Vec<&str> = args.clone();
        let first = transcript(&s, "2020-07-30T14:00:00Z", &[&args]);
        assert!(first.contains("[exit 0]"), "{first}");
        let after_first = s.dump();
        expected += if args.contains(&"--date") { 2 } else { 1 };
        assert_eq!(after_first.lines().count(), expected, "{first}");
        // The retry, a day later and by someone else (who records is not the content).
        let mut retry = args.clone();
        retry.extend(["--by", "night desk"]);
        let second = transcript(&s, "2020-07-31T09:00:00Z", &[&retry]);
        assert!(second.contains("[exit 0]"), "{second}");
        assert!(
            second.contains("(same content; nothing appended)"),
            "{second}"
        );
        assert_eq!(s.dump(), after_first, "a retry wrote: {second}");
        out.push_str(&first);
        out.push_str(&second);
    }
    // Every command retried once more at the end, when the log has moved on.
    for args in commands() {
        let again = transcript(&s, "2020-08-01T09:00:00Z", &[&args]);
        assert!(again.contains("[exit 0]"), "{again}");
        assert!(!again.contains("appended seq"), "{again}");
    }
    assert_eq!(events(&s), expected);
    s.ok(&["verify"]);
    insta::assert_snapshot!("retry_each_command_twice", out);
    // The events carry the ids given.
    let log = s.dump();
    for id in [
        "afp-1-opening",
        "afp-1",
        "mod-1",
        "afp-2",
        "amend-1",
        "denial-1",
        "dup-1-opening",
        "dup-1",
        "merge-1",
        "retract-1",
    ] {
        assert!(log.contains(&format!("\"id\":\"{id}\"")), "{id}: {log}");
    }
}

/// `report` again under an id of [`commands`], with other content.
fn other_content() -> Vec<Vec<&'static str>> {
    vec![
        // Other figures.
        vec![
            "report",
            "--id",
            "mod-1",
            "--incident",
            PULI,
            "--source",
            "Ministry of Defense",
            "--killed",
            "9",
        ],
        // The first run opened the incident; this one gives no details.
        vec![
            "report",
            "--id",
            "afp-1",
            "--incident",
            PULI,
            "--source",
            "AFP",
            "--killed",
            "17",
        ],
        // The first run did not open the incident; this one gives details.
        vec![
            "report",
            "--id",
            "mod-1",
            "--incident",
            PULI,
            "--date",
            "2020-07-30",
            "--province",
            "Logar",
            "--category",
            "suicide car bombing",
            "--source",
            "Ministry of Defense",
            "--killed",
            "8",
        ],
        // Other details of the opening.
        {
            let mut other = opening_report();
            other[8] = "Kabul";
            other
        },
    ]
}

/// [`other_content`] for the other commands.
fn other_content_of_others() -> Vec<Vec<&'static str>> {
    vec![
        // An id held by an event of another kind.
        vec![
            "correct",
            "--id",
            "afp-1",
            "--incident",
            PULI,
            "--source",
            "AFP",
            "--killed",
            "17",
            "--reason",
            "same figure",
        ],
        vec![
            "amend",
            "--id",
            "amend-1",
            "--incident",
            PULI,
            "--province",
            "Lowgar",
            "--district",
            "Pul-e Alam",
            "--reason",
            "district named",
        ],
        vec![
            "responsibility",
            "--id",
            "denial-1",
            "--incident",
            PULI,
            "--actor",
            "Taliban",
            "--source",
            "Taliban spokesman",
            "--claimed",
        ],
        vec![
            "merge",
            "--id",
            "merge-1",
            DUP,
            "--into",
            PULI,
            "--reason",
            "the same attack",
        ],
        vec![
            "retract",
            "--id",
            "retract-1",
            "afp-2",
            "--reason",
            "entered on the wrong incident",
        ],
    ]
}

#[test]
fn the_same_id_with_other_content_is_refused_and_writes_nothing() {
    let s = Scratch::new();
    for args in commands() {
        s.ok(&args);
    }
    let before = s.dump();
    let mut out = String::new();
    for args in other_content().iter().chain(&other_content_of_others()) {
        let text = transcript(&s, "2020-07-31T09:00:00Z", &[args]);
        assert!(text.contains("[exit 2]"), "{text}");
        assert!(text.contains("with different content"), "{text}");
        assert_eq!(s.dump(), before, "{text}");
        out.push_str(&text);
    }
    insta::assert_snapshot!("retry_other_content_refused", out);
}

#[test]
fn bad_ids_are_refused_by_the_flags_name() {
    let s = Scratch::new();
    let long = "x".repeat(95);
    let longest = "x".repeat(101);
    let mut out = String::new();
    let mut opening = opening_report();
    opening[2] = &long;
    out.push_str(&transcript(&s, "2020-07-30T14:00:00Z", &[&opening]));
    opening[2] = " afp-1";
    out.push_str(&transcript(&s, "2020-07-30T14:00:00Z", &[&opening]));
    opening[2] = "";
    out.push_str(&transcript(&s, "2020-07-30T14:00:00Z", &[&opening]));
    s.ok(&opening_report());
    let before = s.dump();
    for id in [longest.as_str(), "afp\n2"] {
        out.push_str(&transcript(
            &s,
            "2020-07-30T14:00:00Z",
            &[&[
                "correct",
                "--id",
                id,
                "--incident",
                PULI,
                "--source",
                "AFP",
                "--killed",
                "19",
                "--reason",
                "hospital count",
            ]],
        ));
    }
    assert_eq!(s.dump(), before);
    assert_eq!(out.matches("[exit 2]").count(), 5, "{out}");
    assert_eq!(out.matches("field `--id`").count(), 5, "{out}");
    insta::assert_snapshot!("retry_bad_ids", out);
}

#[test]
fn a_report_whose_id_is_free_still_refuses_details_of_an_existing_incident() {
    // The id check decides retries only: a new id on an incident that exists is a new
    // report, and details with it are refused as before.
    let s = Scratch::new();
    s.ok(&opening_report());
    let mut again = opening_report();
    again[2] = "afp-1b";
    let (code, _, err) = s.run(&again);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("this incident already exists"), "{err}");
    assert_eq!(events(&s), 2);
}
