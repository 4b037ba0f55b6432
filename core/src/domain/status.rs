//! Casualty status: who was killed or wounded, as a report breaks its figures down.
//!
//! Four statuses, following the Every Casualty "Standards for Casualty Recording": civilians,
//! security forces (police, soldiers, intelligence, pro-government militia), militants
//! (members of non-state armed groups, attackers included) and unknown (a source that says
//! it does not know). A report's `killed_by_status` and `wounded_by_status` map a status to a
//! figure in the usual notation (`docs/event-log.md`, "Casualty status").
//!
//! This module holds the pure rules: the names, how figures add up ([`sum`]), the
//! consistency of a breakdown with its total ([`inconsistency`]) and how a dataset's side
//! reads as a status ([`side_status`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::figure::Figure;
use crate::error::Invalid;

/// Who the people counted were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Civilians.
    Civilians,
    /// Police, soldiers, intelligence personnel, pro-government militia.
    SecurityForces,
    /// Members of non-state armed groups, attackers included.
    Militants,
    /// The source gives a status and it is "unknown".
    Unknown,
}

/// A breakdown by status: each status a source gave, with its figure.
pub type ByStatus = BTreeMap<Status, Figure>;

impl Status {
    /// Every status, in the order of the documentation (and of every output).
    pub const ALL: [Status; 4] = [
        Status::Civilians,
        Status::SecurityForces,
        Status::Militants,
        Status::Unknown,
    ];

    /// `civilians`, `security_forces`, `militants`, `unknown`: the payload's keys.
    pub fn name(self) -> &'static str {
        match self {
            Status::Civilians => "civilians",
            Status::SecurityForces => "security_forces",
            Status::Militants => "militants",
            Status::Unknown => "unknown",
        }
    }

    /// The status in prose: `civilians`, `security forces`, `militants`, `unknown`.
    pub fn prose(self) -> &'static str {
        match self {
            Status::SecurityForces => "security forces",
            other => other.name(),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads `civilians`, `security_forces` (also `security-forces`, `security forces`),
/// `militants`, `unknown`, without regard to case.
impl FromStr for Status {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let key = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Status::ALL
            .into_iter()
            .find(|st| st.name() == key)
            .ok_or_else(|| {
                Invalid::new(
                    "--status",
                    s,
                    "the statuses are civilians, security_forces, militants and unknown",
                )
            })
    }
}

/// The sum of figures, in the usual notation: exact parts add up to an exact figure; any
/// "at least" part makes the sum "at least" the sum of the parts' smallest numbers; ranges
/// add their ends (a best estimate when some range gives one: the sum of the parts' point
/// figures). `None` for no figure.
pub fn sum<'a>(figures: impl IntoIterator<Item = &'a Figure>) -> Option<Figure> {
    let figures: Vec<&Figure> = figures.into_iter().collect();
    if figures.is_empty() {
        return None;
    }
    let lower: u64 = figures.iter().map(|f| f.lower()).sum();
    if figures.iter().all(|f| matches!(f, Figure::Exact(_))) {
        return Some(Figure::Exact(lower));
    }
    if figures.iter().all(|f| f.is_coded()) {
        return Some(Figure::Coded(lower));
    }
    let upper: Option<u64> = figures.iter().map(|f| f.upper()).sum();
    let Some(high) = upper else {
        return Some(Figure::AtLeast(lower));
    };
    let has_best = figures
        .iter()
        .any(|f| matches!(f, Figure::Range { best: Some(_), .. }));
    let point: u64 = figures.iter().map(|f| f.point()).sum();
    Some(Figure::Range {
        low: lower,
        high,
        best: has_best.then_some(point),
    })
}

/// What is wrong with a breakdown against the exact total of the same report, if anything:
/// the smallest numbers its parts allow (an exact part its count, `at-least:N` its N, a
/// range its low end) add up to more than `total`. `total` is the report's exact total
/// (for killed: `killed` plus an exact `attackers_killed`); `None` when the report gives no
/// exact total, and then any breakdown is accepted (the total is at least its sum).
/// `total` comes with its wording (`killed 17`, `killed 17 + attackers_killed 1 = 18`).
pub fn inconsistency(
    field: &str,
    parts: &ByStatus,
    total: Option<(u64, String)>,
) -> Option<Invalid> {
    let (total, words) = total?;
    let sum: u64 = parts.values().map(Figure::lower).sum();
    if sum <= total {
        return None;
    }
    let listed = parts
        .iter()
        .map(|(s, f)| format!("{s} {f}"))
        .collect::<Vec<_>>()
        .join(" + ");
    Some(Invalid::new(
        format!("payload.{field}"),
        listed,
        format!(
            "the parts add up to at least {sum}, more than the report's exact total, {words}; \
             correct the breakdown or the total, or record the report as the source gave it \
             with --allow-inconsistent"
        ),
    ))
}

/// The statuses a dataset's breakdown (`killed_breakdown`) gives directly: its `civilians`
/// and `unknown` entries. Its sides (`side_a`, `side_b`) need the sides' names, which the
/// incident holds: the views read them ([`side_status`]). The UCDP import and the upcaster
/// of schema version 1 both use this rule, so an old import reads as a new one writes.
pub fn of_breakdown(breakdown: &BTreeMap<String, Figure>) -> ByStatus {
    [Status::Civilians, Status::Unknown]
        .into_iter()
        .filter_map(|s| breakdown.get(s.name()).map(|f| (s, *f)))
        .collect()
}

/// The status of a dataset's side (UCDP's `side_a`, `side_b`) by its name: a government
/// (`Government of Afghanistan`) is security forces, `Civilians` civilians, any other
/// (non-state) side militants.
pub fn side_status(name: &str) -> Status {
    let n = name.trim().to_ascii_lowercase();
    if n.starts_with("government of") {
        Status::SecurityForces
    } else if n == "civilians" {
        Status::Civilians
    } else {
        Status::Militants
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn f(s: &str) -> Figure {
        s.parse().unwrap()
    }

    #[test]
    fn names_read_back_and_misspellings_are_refused() {
        for s in Status::ALL {
            assert_eq!(s.name().parse::<Status>().unwrap(), s);
        }
        assert_eq!(
            "Security-Forces".parse::<Status>().unwrap(),
            Status::SecurityForces
        );
        let e = "civilian".parse::<Status>().unwrap_err();
        assert!(e.problem.contains("civilians, security_forces"), "{e}");
    }

    #[test]
    fn sums_combine_at_least_and_ranges() {
        assert_eq!(sum([&f("5"), &f("6")]), Some(f("11")));
        assert_eq!(sum([&f("5"), &f("at-least:12")]), Some(f("at-least:17")));
        assert_eq!(sum([&f("5"), &f("22-35")]), Some(f("27-40")));
        assert_eq!(sum([&f("5"), &f("22-35~30")]), Some(f("27-40~35")));
        assert_eq!(sum([&f("22-35"), &f("at-least:3")]), Some(f("at-least:25")));
        assert_eq!(sum([]), None);
    }

    #[test]
    fn a_breakdown_above_an_exact_total_is_named() {
        let mut parts = ByStatus::new();
        parts.insert(Status::Civilians, f("6"));
        parts.insert(Status::SecurityForces, f("13"));
        let total = |n: u64| Some((n, format!("killed {n}")));
        let e = inconsistency("killed_by_status", &parts, total(17)).unwrap();
        assert_eq!(e.field, "payload.killed_by_status");
        assert!(
            e.problem
                .contains("at least 19, more than the report's exact total, killed 17;"),
            "{e}"
        );
        assert!(inconsistency("killed_by_status", &parts, total(19)).is_none());
        assert!(inconsistency("killed_by_status", &parts, None).is_none());
        parts.insert(Status::Militants, f("0-40"));
        assert!(inconsistency("killed_by_status", &parts, total(19)).is_none());
    }

    #[test]
    fn sides_read_by_name() {
        assert_eq!(
            side_status("Government of Afghanistan"),
            Status::SecurityForces
        );
        assert_eq!(side_status("Civilians"), Status::Civilians);
        assert_eq!(side_status("Taleban"), Status::Militants);
        assert_eq!(side_status("IS"), Status::Militants);
    }
}
