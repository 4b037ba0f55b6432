//! `audit`: checks an aggregate claim ("Fatalities: 14 in Kunduz Province, July 2020")
//! against the log.
//!
//! The supported range is the summary total of the incidents in scope (sums of their lows,
//! bests and highs). A claim below the low end is `below`; above a closed high end, `above`;
//! otherwise `within`. For a claim below, the audit also finds the smallest sets of incidents
//! a count would have had to leave out for the claim to hold: all of them, unless the search
//! ran out of its budget, which the report then says (`leave_out_complete`).

use serde::{Deserialize, Serialize};

use crate::domain::status::Status;
use crate::error::Result;
use crate::views::doc::{Incident, Range};
use crate::views::fold::Measure;
use crate::views::Query;

/// Where a claim falls against the supported range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Inside the range.
    Within,
    /// Below the low end: the log has more.
    Below,
    /// Above the high end: the log has fewer.
    Above,
}

impl Verdict {
    /// `within`, `below`, `above`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Within => "within",
            Verdict::Below => "below",
            Verdict::Above => "above",
        }
    }
}

/// What is claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// Killed or wounded.
    pub measure: Measure,
    /// The claimed total.
    pub value: u64,
}

/// The answer of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// `killed` or `wounded`.
    pub measure: String,
    /// The claimed total.
    pub claimed: u64,
    /// The range the log supports.
    pub supported: Range,
    /// Where the claim falls.
    pub verdict: Verdict,
    /// The incidents in scope, with the reports behind their figures.
    pub incidents: Vec<Incident>,
    /// For a claim below the range: every smallest set of incidents (ids) whose leaving out
    /// would make the claim fall within the rest's range.
    pub leave_out: Vec<Vec<String>>,
    /// False when the search for `leave_out` stopped at its budget
    /// ([`LEAVE_OUT_BUDGET`] combinations): the sets found are then not all of them, and
    /// when none was found a larger selection might still match.
    #[serde(default = "complete")]
    pub leave_out_complete: bool,
    /// The sequence number of the last event considered.
    pub log_seq: u64,
    /// `--status`: the casualty statuses the claim counts (absent when none): the
    /// supported range is then the sum of these statuses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<String>,
    /// With `--status`: the incidents the other filters keep whose count (killed or
    /// wounded, as claimed) is, wholly or in part, not broken down by status, so that the
    /// claimed statuses may hide in them (absent when none). The verdict counts only what
    /// sources attributed; these say where it may fall short.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_broken_down: Vec<String>,
    /// With `--status`: the incidents the other filters keep whose count is broken down in
    /// full as far as it goes, but is "at least" (the part no status covers is `0+`): more
    /// people may have been killed or wounded, of a status no source gave, so the claimed
    /// statuses may hide there too (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possibly_more: Vec<String>,
}

/// With `--status`, where the statuses selected may hide, among the incidents the other
/// filters keep: what a view by status cannot count, and says it cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusGaps {
    /// Incidents whose count has a part above 0 that no status covers (or no status at all).
    pub not_broken_down: Vec<String>,
    /// Incidents whose statuses cover every person counted, but whose count is "at least":
    /// the part no status covers is `0+`, none known but possibly more.
    pub possibly_more: Vec<String>,
}

fn complete() -> bool {
    true
}

/// How many combinations of incidents the search for `leave_out` tries at most.
pub const LEAVE_OUT_BUDGET: usize = 200_000;

/// The count of an incident a claim is checked against: killed or wounded as the view
/// counts them (with `--status`, the selected statuses': [`crate::views::counted`]).
fn measure_of(i: &Incident, m: Measure, statuses: &[Status]) -> Range {
    let (killed, wounded) = crate::views::counted(i, statuses);
    match m {
        Measure::Killed => killed,
        Measure::Wounded => wounded,
        Measure::AttackersKilled => i.attackers_killed,
    }
}

/// Where `value` falls against `r`.
pub fn verdict(value: u64, r: &Range) -> Verdict {
    match (r.low, r.high) {
        (Some(low), _) if value < low => Verdict::Below,
        (Some(_), Some(high)) if value > high && !r.open_high => Verdict::Above,
        (None, None) if value > 0 => Verdict::Above,
        _ => Verdict::Within,
    }
}

/// Steps `idx` (k ascending indexes below n) to the next combination; false after the last.
fn next_combination(idx: &mut [usize], n: usize) -> bool {
    let k = idx.len();
    for i in (0..k).rev() {
        if idx[i] < n - k + i {
            idx[i] += 1;
            for j in i + 1..k {
                idx[j] = idx[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// Every smallest set of `ranges` (by index) to drop so that `value` falls within the sum of
/// the rest, and whether the search was complete. Searches sets of growing size; stops
/// after [`LEAVE_OUT_BUDGET`] combinations (then `false`: what was found is not all).
fn leave_out(value: u64, ranges: &[(usize, Range)]) -> (Vec<Vec<usize>>, bool) {
    let n = ranges.len();
    let mut work = 0;
    let mut found = Vec::new();
    for k in 1..=n {
        let mut idx: Vec<usize> = (0..k).collect();
        loop {
            work += 1;
            if work > LEAVE_OUT_BUDGET {
                return (found, false);
            }
            let mut rest = Range::default();
            for (j, (_, r)) in ranges.iter().enumerate() {
                if !idx.contains(&j) {
                    rest = rest.add(r);
                }
            }
            let low = rest.low.unwrap_or(0);
            let fits = value >= low && (rest.open_high || rest.high.unwrap_or(0) >= value);
            if fits {
                found.push(idx.iter().map(|j| ranges[*j].0).collect());
            }
            if !next_combination(&mut idx, n) {
                break;
            }
        }
        if !found.is_empty() {
            return (found, true);
        }
    }
    (found, true)
}

impl crate::views::Reader<'_> {
    /// Checks `claim` against the incidents in `q`'s scope (`audit`).
    pub fn audit(&self, claim: Claim, q: &Query) -> Result<AuditReport> {
        let mut reports = self.audits(&[claim], q)?;
        Ok(reports.remove(0))
    }

    /// Checks each of `claims` (an infobox states killed and wounded) against the same
    /// incidents in `q`'s scope: one report per claim, in the order given.
    pub fn audits(&self, claims: &[Claim], q: &Query) -> Result<Vec<AuditReport>> {
        let q = &self.checked(q)?;
        let snap = self.scope(q)?;
        let log_seq = snap.seq;
        let unattributed = self.without_status(q)?;
        let doc = self.document_of(snap, q)?;
        Ok(claims
            .iter()
            .map(|claim| {
                let mut report = audit_of(
                    *claim,
                    &doc.incidents,
                    &doc.totals,
                    &q.filter.statuses,
                    log_seq,
                );
                let gaps = status_gaps(&unattributed, claim.measure);
                report.not_broken_down = gaps.not_broken_down;
                report.possibly_more = gaps.possibly_more;
                report
            })
            .collect())
    }
}

impl crate::views::Reader<'_> {
    /// With `--status`: the incidents the other filters of `q` keep whose killed (victims and
    /// attackers) or wounded, as `m` says, is not (all) broken down by status, or may be more
    /// than its statuses cover, so that the statuses selected may hide in them (empty without
    /// `--status`). What `timeline` and `summary` by status say they cannot count, and
    /// `audit` reports.
    pub fn status_gaps(&self, q: &Query, m: Measure) -> Result<StatusGaps> {
        let q = &self.checked(q)?;
        Ok(status_gaps(&self.without_status(q)?, m))
    }

    /// The incidents of a checked `q` without its status filter (none without one).
    fn without_status(&self, q: &Query) -> Result<Vec<Incident>> {
        if q.filter.statuses.is_empty() {
            return Ok(Vec::new());
        }
        let mut all = q.clone();
        all.filter.statuses.clear();
        Ok(self
            .states_in_view(&all)?
            .states
            .iter()
            .map(|s| crate::views::reconcile::incident_doc(s, &q.best))
            .collect())
    }
}

/// The report on one claim against the incidents in scope and their totals.
fn audit_of(
    claim: Claim,
    incidents: &[Incident],
    totals: &crate::views::doc::Totals,
    statuses: &[Status],
    log_seq: u64,
) -> AuditReport {
    let supported = match claim.measure {
        Measure::Wounded => totals.wounded,
        _ => totals.killed,
    };
    let verdict = verdict(claim.value, &supported);
    let (leave_out, leave_out_complete) = if verdict == Verdict::Below {
        let ranges: Vec<(usize, Range)> = incidents
            .iter()
            .enumerate()
            .map(|(i, inc)| (i, measure_of(inc, claim.measure, statuses)))
            .filter(|(_, r)| r.low.is_some())
            .collect();
        let (sets, complete) = leave_out(claim.value, &ranges);
        let sets = sets
            .into_iter()
            .map(|set| {
                set.into_iter()
                    .map(|i| incidents[i].incident.clone())
                    .collect()
            })
            .collect();
        (sets, complete)
    } else {
        (Vec::new(), true)
    };
    AuditReport {
        measure: claim.measure.name().to_string(),
        claimed: claim.value,
        supported,
        verdict,
        incidents: incidents.to_vec(),
        leave_out,
        leave_out_complete,
        log_seq,
        statuses: statuses.iter().map(|s| s.name().to_string()).collect(),
        not_broken_down: Vec::new(),
        possibly_more: Vec::new(),
    }
}

/// Where the statuses may hide among `incidents`, for killed (victims and attackers) or
/// wounded as `m` says: a count with a part above 0 that no status covers (no status at all,
/// or an `unattributed` range above 0) is not broken down; one whose part not covered is only
/// open (`0+`) may be more ([`crate::views::doc::Leftover::PossiblyMore`]).
fn status_gaps(incidents: &[Incident], m: Measure) -> StatusGaps {
    let mut gaps = StatusGaps::default();
    for i in incidents {
        let (by, total) = match m {
            Measure::Wounded => (&i.wounded_by_status, i.wounded),
            _ => (&i.killed_by_status, i.killed.add(&i.attackers_killed)),
        };
        // With no status at all, the whole count is the part not covered.
        let whole = crate::views::StatusRanges {
            unattributed: Some(total),
            ..Default::default()
        };
        let by = if by.is_empty() { &whole } else { by };
        match by.leftover() {
            crate::views::doc::Leftover::PossiblyMore => {
                gaps.possibly_more.push(i.incident.clone());
            }
            crate::views::doc::Leftover::Range(r) if crate::views::leftover(r) => {
                gaps.not_broken_down.push(i.incident.clone());
            }
            _ => {}
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(low: u64, high: u64, open: bool) -> Range {
        Range {
            low: Some(low),
            best: Some(low),
            high: Some(high),
            open_high: open,
            coded: false,
        }
    }

    #[test]
    fn kunduz_claim_holds_only_without_the_20_july_attack() {
        let ranges = [(0, r(14, 14, true)), (1, r(13, 13, false))];
        let mut total = Range::default();
        for (_, x) in &ranges {
            total = total.add(x);
        }
        assert_eq!(verdict(14, &total), Verdict::Below);
        assert_eq!(leave_out(14, &ranges), (vec![vec![1]], true));
        assert_eq!(verdict(40, &total), Verdict::Within, "27+ is open");
        assert_eq!(verdict(26, &total), Verdict::Below);
    }

    #[test]
    fn above_a_closed_range() {
        assert_eq!(verdict(30, &r(8, 17, false)), Verdict::Above);
        assert_eq!(verdict(17, &r(8, 17, false)), Verdict::Within);
        assert_eq!(verdict(1, &Range::default()), Verdict::Above);
        assert_eq!(verdict(0, &Range::default()), Verdict::Within);
    }

    #[test]
    fn leave_out_finds_pairs_when_no_single_will_do() {
        let ranges = [
            (0, r(5, 5, false)),
            (1, r(5, 5, false)),
            (2, r(5, 5, false)),
        ];
        assert_eq!(
            leave_out(5, &ranges),
            (vec![vec![0, 1], vec![0, 2], vec![1, 2]], true)
        );
        assert_eq!(leave_out(3, &ranges), (vec![], true));
    }

    #[test]
    fn leave_out_gives_every_smallest_set_not_the_first_five() {
        let ranges: Vec<(usize, Range)> = (0..8).map(|i| (i, r(10, 10, false))).collect();
        let (sets, complete) = leave_out(70, &ranges);
        assert_eq!(sets.len(), 8, "any one of eight equal incidents");
        assert!(complete);
    }

    #[test]
    fn a_search_cut_by_its_budget_says_so() {
        // 40 equal incidents, a claim that needs 20 left out: C(40, 20) combinations.
        let ranges: Vec<(usize, Range)> = (0..40).map(|i| (i, r(1, 1, false))).collect();
        let (sets, complete) = leave_out(20, &ranges);
        assert!(!complete);
        assert!(sets.is_empty(), "no set below 20 incidents can match");
    }
}
