//! Grades: how far an incident's record can be trusted, on Airwars' scale (confirmed, fair,
//! weak, contested, discounted).
//!
//! A recorder grades an incident with `chronicle assess` (an `incident_assessed` event in
//! its stream): the latest assessment in force is its grade, the earlier ones its history.
//! Where none is recorded, the views *suggest* a grade from the data, and say it is
//! suggested ([`suggest`]; the rules are in `docs/views.md`, "Grades").

use crate::error::Invalid;
use crate::views::doc::{Grade, GradeInfo};
use crate::views::fold::{IncidentState, Measure};

/// The grades of `--grade` (repeatable, each a grade or a comma-separated list of grades:
/// `--grade confirmed,fair`), refused by name with the grades there are.
pub fn parse_grades(values: &[String]) -> Result<Vec<Grade>, Invalid> {
    let mut out = Vec::new();
    for value in values {
        for name in value.split(',') {
            let grade = Grade::parse(name).ok_or_else(|| {
                Invalid::new(
                    "--grade",
                    name.trim(),
                    "the grades are confirmed, fair, weak, contested and discounted (several: --grade confirmed,fair)",
                )
            })?;
            if !out.contains(&grade) {
                out.push(grade);
            }
        }
    }
    Ok(out)
}

/// The grade of an incident as the views show it: its latest assessment in force, else the
/// suggested grade. `is_party` says whether a source is a party to the conflict.
pub fn grade_of(state: &IncidentState, is_party: &dyn Fn(&str) -> bool) -> GradeInfo {
    match state.assessments.split_last() {
        Some((last, earlier)) => GradeInfo {
            grade: last.grade,
            suggested: false,
            reason: last.reason.clone(),
            assessment: Some(last.clone()),
            history: earlier.to_vec(),
        },
        None => {
            let (grade, reason) = suggest(state, is_party);
            GradeInfo {
                grade,
                suggested: true,
                reason,
                assessment: None,
                history: Vec::new(),
            }
        }
    }
}

/// The grade suggested from the data, and what it is suggested from. Only the sources with
/// a figure count (a claim of responsibility is not a casualty report):
/// - the sources' point figures differ (the incident is disputed): `contested`;
/// - no source, or one: `weak`;
/// - two or more that agree, at least two of them not parties to the conflict: `fair`;
/// - two or more that agree, fewer than two of them not parties: `weak` (a party
///   corroborating another is not independent confirmation).
///
/// `confirmed` and `discounted` are never suggested: they are a recorder's judgement.
pub fn suggest(state: &IncidentState, is_party: &dyn Fn(&str) -> bool) -> (Grade, String) {
    let with_figures: Vec<&str> = state
        .sources
        .iter()
        .filter(|s| Measure::ALL.iter().any(|m| s.figure(*m).is_some()))
        .map(|s| s.source.as_str())
        .collect();
    if state.sources_disagree() {
        return (Grade::Contested, "the sources disagree".into());
    }
    let independent = with_figures.iter().filter(|s| !is_party(s)).count();
    match with_figures.len() {
        0 => (Grade::Weak, "no source gave figures".into()),
        1 => (Grade::Weak, "one source".into()),
        n if independent >= 2 => (
            Grade::Fair,
            format!("{n} sources agree, {independent} of them not parties to the conflict"),
        ),
        n => (
            Grade::Weak,
            format!(
                "{n} sources agree, but only {independent} of them not a party to the conflict"
            ),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::event::IncidentDetails;
    use crate::domain::figure::Figure;
    use crate::views::fold::{Assessment, SourceState};

    fn source(name: &str, killed: Option<&str>) -> SourceState {
        SourceState {
            source: name.into(),
            published: None,
            killed: killed.map(|k| k.parse::<Figure>().unwrap()),
            wounded: None,
            attackers_killed: None,
            killed_by_status: Default::default(),
            wounded_by_status: Default::default(),
            sides: Default::default(),
            note: None,
            citation: None,
            reason: None,
            event_seq: 1,
            event_id: "e".into(),
            recorded_at: "2020-07-30T00:00:00Z".into(),
            corrected: false,
            reports: 1,
            corrections: 0,
            first_seq: 1,
            revisions: Vec::new(),
            via: None,
            described: None,
        }
    }

    fn state(sources: Vec<SourceState>) -> IncidentState {
        let details: IncidentDetails = serde_json::from_value(serde_json::json!({
            "date": "2020-07-30", "province": "Logar", "category": "bombing"
        }))
        .unwrap();
        IncidentState {
            incident: "i".into(),
            details,
            sources,
            responsibility: Vec::new(),
            merged_from: Vec::new(),
            redactions: Vec::new(),
            assessments: Vec::new(),
            adjudication: None,
            last_seq: 1,
            first_recorded: String::new(),
        }
    }

    const NONE: &dyn Fn(&str) -> bool = &|_| false;

    #[test]
    fn grade_flags_take_lists_and_refuse_unknown_names() {
        let v = |s: &[&str]| parse_grades(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            v(&["Confirmed, fair", "fair"]).unwrap(),
            vec![Grade::Confirmed, Grade::Fair]
        );
        let e = v(&["confirmed,probable"]).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.value.as_str()),
            ("--grade", "probable")
        );
    }

    #[test]
    fn suggestions_follow_the_documented_rules() {
        let g = |s: Vec<SourceState>, party: &dyn Fn(&str) -> bool| suggest(&state(s), party).0;
        assert_eq!(g(vec![], NONE), Grade::Weak);
        assert_eq!(g(vec![source("AFP", None)], NONE), Grade::Weak);
        assert_eq!(g(vec![source("AFP", Some("17"))], NONE), Grade::Weak);
        let agree = || vec![source("AFP", Some("17")), source("MoD", Some("17"))];
        assert_eq!(g(agree(), NONE), Grade::Fair);
        assert_eq!(g(agree(), &|s| s == "MoD"), Grade::Weak);
        let differ = vec![source("AFP", Some("17")), source("MoD", Some("8"))];
        assert_eq!(g(differ, NONE), Grade::Contested);
    }

    #[test]
    fn the_latest_assessment_is_the_grade_and_the_others_its_history() {
        let mut s = state(vec![source("AFP", Some("17"))]);
        assert!(grade_of(&s, NONE).suggested);
        for (seq, grade) in [(5, Grade::Fair), (9, Grade::Confirmed)] {
            s.assessments.push(Assessment {
                grade,
                reason: format!("r{seq}"),
                event_seq: seq,
                event_id: format!("e{seq}"),
                recorded_at: "2020-08-01T00:00:00Z".into(),
            });
        }
        let g = grade_of(&s, NONE);
        assert_eq!(
            (g.grade, g.suggested, g.reason.as_str()),
            (Grade::Confirmed, false, "r9")
        );
        assert_eq!(g.history.len(), 1);
        assert_eq!(g.history[0].grade, Grade::Fair);
    }
}
