//! Human output of the views: aligned tables that fit a terminal width (long cells are cut
//! with an ellipsis, never an id), dates and counts written as people write them. A width of
//! [`UNLIMITED`] neither cuts nor wraps (the CLI's output to a pipe or a file).

pub use super::TimelineRow;
use crate::domain::time::{IncidentDate, Published};
use crate::views::audit::{AuditReport, Verdict, LEAVE_OUT_BUDGET};
use crate::views::diff::Diff;
use crate::views::doc::{
    Figure, Group, Incident, Range, SourceFigures, StatusFigures, StatusRanges,
};
use crate::views::history::{Change, History};
use crate::views::{GroupBy, SourceSummary};

/// The default output width.
pub const DEFAULT_WIDTH: usize = 80;

/// No width: nothing is cut or wrapped.
pub const UNLIMITED: usize = usize::MAX;

/// Cuts `s` to `width` characters, ending with `…` when cut.
pub fn truncate(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    s.chars().take(width - 1).collect::<String>() + "…"
}

/// An aligned table no wider than `width`: the widest of the columns flagged in `shrink`
/// (free text: names, categories, reports) are narrowed, never below 6 characters, and
/// their cells cut with an ellipsis. No other column is ever cut: not an id (which `show`
/// and `history` need as it is), a date or a figure; when the text columns cannot give
/// enough room, the rows are wider than `width`. Columns flagged in `right` are
/// right-aligned (numbers).
pub fn table(
    headers: &[&str],
    right: &[bool],
    shrink: &[bool],
    rows: &[Vec<String>],
    width: usize,
) -> String {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            let first_line = cell.lines().next().unwrap_or("");
            widths[i] = widths[i].max(first_line.chars().count());
        }
    }
    let gaps = 2 * cols.saturating_sub(1);
    while widths.iter().sum::<usize>() + gaps > width {
        let Some((i, w)) = widths
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, w)| *w > 6 && shrink.get(*i).copied().unwrap_or(false))
            .max_by_key(|(i, w)| (*w, usize::MAX - i))
        else {
            break;
        };
        widths[i] = w - 1;
    }
    let line = |cells: Vec<String>| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let cell = truncate(cell.lines().next().unwrap_or(""), widths[i]);
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                out.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                out.push_str(&" ".repeat(pad));
                out.push_str(&cell);
            } else {
                out.push_str(&cell);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// A range as a table cell: `8-17 (8)`, `14+ (14)`, `3 (coded)` when it rests on coded
/// figures only ([`Range::coded`]), `-` when unknown.
pub fn range_cell(r: &Range) -> String {
    let cell = match (r.low, r.high) {
        (Some(low), Some(high)) => {
            let plus = if r.open_high { "+" } else { "" };
            let span = if low == high {
                format!("{low}{plus}")
            } else {
                format!("{low}-{high}{plus}")
            };
            match r.best {
                Some(b) if low != high || r.open_high => format!("{span} ({b})"),
                _ => span,
            }
        }
        _ => return "-".to_string(),
    };
    cell + r.coded_mark()
}

/// A range in prose: `8-17 killed`, `at least 14 killed`, `8 to at least 14 killed`,
/// `killed unknown`; with ` (disputed)` when flagged.
pub fn range_prose(r: &Range, noun: &str, disputed: bool) -> String {
    let text = match (r.low, r.high) {
        (Some(low), Some(high)) if low == high && r.open_high => format!("at least {low} {noun}"),
        (Some(low), Some(high)) if low == high => format!("{low} {noun}"),
        (Some(low), Some(high)) if r.open_high => format!("{low} to at least {high} {noun}"),
        (Some(low), Some(high)) => format!("{low}-{high} {noun}"),
        _ => return format!("{noun}: no figures"),
    };
    if disputed {
        text + " (disputed)"
    } else {
        text
    }
}

/// An incident's date as prose, from its document form.
fn date_prose(date: &str) -> String {
    date.parse::<IncidentDate>()
        .map(|d| d.prose())
        .unwrap_or_else(|_| date.to_string())
}

/// A published time as prose: `30 July 2020` or `30 July 2020 14:05` (UTC); `unknown` when
/// the source gave none (never another event's time in its place).
pub fn published_prose(p: Option<&str>) -> String {
    match p.map(str::parse::<Published>) {
        None => "unknown".into(),
        Some(Ok(Published::Day(d))) => d.format("%-d %B %Y").to_string(),
        Some(Ok(Published::At(t))) => t.format("%-d %B %Y %H:%M").to_string(),
        Some(Err(_)) => p.unwrap_or("-").to_string(),
    }
}

fn fig(f: &Option<Figure>) -> String {
    f.as_ref().map_or("-".into(), |f| f.text.clone())
}

fn place(i: &Incident) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in [&i.locality, &i.district].into_iter().flatten() {
        if !parts.contains(&p.as_str()) {
            parts.push(p);
        }
    }
    parts.push(&i.province);
    if let Some(c) = &i.country {
        parts.push(c);
    }
    parts.join(", ")
}

fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > width
        {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The sources of an incident, a row each, with their notes (`show`).
fn source_table(i: &Incident, width: usize) -> String {
    let mut out = String::new();
    if i.sources.is_empty() {
        out.push_str("No source has given figures.\n");
    } else {
        let rows: Vec<Vec<String>> = i
            .sources
            .iter()
            .map(|s| {
                vec![
                    s.source.clone()
                        + &s.via
                            .as_ref()
                            .map(|v| format!(" via {v}"))
                            .unwrap_or_default()
                        + if s.corrected { " (corr.)" } else { "" },
                    published_prose(s.published.as_deref()),
                    fig(&s.killed),
                    fig(&s.wounded),
                    fig(&s.attackers_killed),
                    s.event_seq.to_string(),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "Source",
                "Published (UTC)",
                "Killed",
                "Wounded",
                "Attackers",
                "Seq",
            ],
            &[false, false, true, true, true, true],
            &[true, false, false, false, false, false],
            &rows,
            width,
        ));
        for line in i.sources.iter().filter_map(source_status_line) {
            out.push_str(&wrap(&line, "  ", width));
        }
        for s in &i.sources {
            if let Some(t) = &s.source_type {
                let party = if s.party {
                    ", a party to the conflict"
                } else {
                    ""
                };
                out.push_str(&wrap(&format!("{}: {t}{party}", s.source), "  ", width));
            }
        }
        for s in i.sources.iter().filter(|s| s.note.is_some()) {
            out.push_str(&wrap(
                &format!("{}: {}", s.source, s.note.as_deref().unwrap_or("")),
                "  ",
                width,
            ));
        }
        for s in &i.sources {
            if let Some(reason) = &s.reason {
                let verb = if s.corrected { "corrected" } else { "reported" };
                out.push_str(&wrap(
                    &format!("{} {verb} (seq {}): {reason}", s.source, s.event_seq),
                    "  ",
                    width,
                ));
            }
        }
    }
    out
}

/// A status name in prose: `security forces` for `security_forces`.
fn status_prose(name: &str) -> String {
    name.replace('_', " ")
}

/// `killed by status: civilians 6, security forces 8-13 (10), not broken down 0-4 (2)`:
/// the incident's reconciled ranges by status; `None` when no source gave a status. The
/// part not broken down is worded as the exports word it ([`StatusRanges::leftover`]):
/// left out when the statuses cover the total exactly, `possibly more not broken down`
/// when it is only open (`0+`: none known, but the total is "at least").
fn status_line(by: &StatusRanges, noun: &str) -> Option<String> {
    if by.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = StatusRanges::NAMES
        .iter()
        .filter_map(|n| {
            by.get(n)
                .map(|r| format!("{} {}", status_prose(n), range_cell(r)))
        })
        .collect();
    parts.extend(by.leftover().words(range_cell));
    Some(format!("{noun} by status: {}", parts.join(", ")))
}

/// `AFP by status: killed civilians 6, militants 3; wounded civilians 8`: a source's own
/// figures by status; `None` when it gave none.
fn source_status_line(s: &SourceFigures) -> Option<String> {
    let part = |by: &StatusFigures, noun: &str| {
        let given: Vec<String> = StatusRanges::NAMES
            .iter()
            .filter_map(|n| by.get(n).map(|f| format!("{} {}", status_prose(n), f.text)))
            .collect();
        (!given.is_empty()).then(|| format!("{noun} {}", given.join(", ")))
    };
    let parts: Vec<String> = [
        part(&s.killed_by_status, "killed"),
        part(&s.wounded_by_status, "wounded"),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| format!("{} by status: {}", s.source, parts.join("; ")))
}

/// `show`: one incident.
pub fn incident(i: &Incident, policy: &str, width: usize) -> String {
    let mut out = format!("{}\n", i.incident);
    out.push_str(&wrap(
        &format!("{}, {}", date_prose(&i.date), place(i)),
        "  ",
        width,
    ));
    let mut what = i.category.clone();
    if let Some(t) = &i.target {
        what.push_str(&format!("; target: {t}"));
    }
    if let Some(p) = &i.perpetrator {
        what.push_str(&format!("; alleged perpetrator: {p}"));
    }
    out.push_str(&wrap(&what, "  ", width));
    let mut counts = format!(
        "{}{}, {}{}",
        range_prose(
            &i.killed,
            "killed",
            i.disputed && i.killed.low != i.killed.high
        ),
        coded_mark(&i.killed),
        range_prose(
            &i.wounded,
            "wounded",
            i.disputed && i.wounded.low != i.wounded.high
        ),
        coded_mark(&i.wounded),
    );
    if i.attackers_killed.low.is_some() {
        counts.push_str(&format!(
            ", {}{}",
            range_prose(&i.attackers_killed, "attackers killed", false),
            coded_mark(&i.attackers_killed),
        ));
    }
    out.push_str(&wrap(&counts, "  ", width));
    out.push_str(&best_lines(i, policy, width));
    for (by, noun) in [
        (&i.killed_by_status, "killed"),
        (&i.wounded_by_status, "wounded"),
    ] {
        if let Some(line) = status_line(by, noun) {
            out.push_str(&wrap(&line, "  ", width));
        }
    }
    if let Some(g) = &i.grade {
        out.push_str(&wrap(&grade_line(g), "  ", width));
    }
    if let Some(s) = &i.summary {
        out.push_str(&wrap(s, "  ", width));
    }
    out.push('\n');
    out.push_str(&source_table(i, width));
    if !i.responsibility.is_empty() {
        out.push_str("\nResponsibility:\n");
        for r in &i.responsibility {
            out.push_str(&wrap(
                &format!(
                    "{} {} (per {}, published {}, seq {})",
                    r.actor,
                    r.stance.as_str(),
                    r.source,
                    published_prose(r.published.as_deref()),
                    r.event_seq
                ),
                "  ",
                width,
            ));
        }
    }
    if !i.merged_from.is_empty() {
        out.push_str(&wrap(
            &format!("\nMerged from: {}", i.merged_from.join(", ")),
            "",
            width,
        ));
    }
    if !i.redactions.is_empty() {
        out.push_str("\nRedacted:\n");
        for r in &i.redactions {
            out.push_str(&wrap(&redaction_line(r, i), "  ", width));
        }
    }
    out.push_str(&format!("Last changed by event seq {}.\n", i.last_seq));
    out
}

/// ` (coded; unknown)` when every source's figure for a count is coded (ACLED's "Unknown
/// fatalities coded as 3"), so that the count rests on a convention and on no stated
/// number ([`Range::coded`], [`crate::views::reconcile`]); else nothing.
fn coded_mark(r: &Range) -> &'static str {
    if r.coded {
        " (coded; unknown)"
    } else {
        ""
    }
}

/// The grade of an incident for `show`: `grade: weak (suggested: one source)`, or the
/// assessment with its seq and reason, and the earlier assessments in force.
pub fn grade_line(g: &crate::views::doc::GradeInfo) -> String {
    let mut line = match &g.assessment {
        None => format!("grade: {} (suggested: {})", g.grade, g.reason),
        Some(a) => format!(
            "grade: {} (assessed, seq {}: {})",
            a.grade, a.event_seq, a.reason
        ),
    };
    for a in g.history.iter().rev() {
        line.push_str(&format!(
            "; before: {} (seq {}: {})",
            a.grade, a.event_seq, a.reason
        ));
    }
    line
}

/// `show`'s best estimates under `policy` (the adjudicated ones marked), and the
/// adjudication in force.
fn best_lines(i: &Incident, policy: &str, width: usize) -> String {
    let mut out = String::new();
    let applied = i.adjudication.as_ref().filter(|a| a.applied);
    let best = |r: &Range, noun: &str, decided: Option<u64>, coded: &str| {
        r.best.map(|b| match (applied, decided) {
            (Some(_), Some(_)) => format!("{b} {noun} (adjudicated)"),
            _ => format!("{b} {noun}{coded}"),
        })
    };
    let bests: Vec<String> = [
        best(
            &i.killed,
            "killed",
            applied.and_then(|a| a.killed),
            coded_mark(&i.killed),
        ),
        best(
            &i.wounded,
            "wounded",
            applied.and_then(|a| a.wounded),
            coded_mark(&i.wounded),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !bests.is_empty() {
        out.push_str(&wrap(
            &format!("best estimate ({policy}): {}", bests.join(", ")),
            "  ",
            width,
        ));
    }
    if let Some(a) = &i.adjudication {
        out.push_str(&wrap(&adjudication_line(a, policy), "  ", width));
    }
    out
}

/// The adjudication of an incident for `show`: "best 12 killed, adjudicated: REASON (seq
/// N, recorded DAY)", or, under a policy that does not use it, what it decides and that the
/// policy sets it aside.
pub fn adjudication_line(a: &crate::views::doc::Adjudication, policy: &str) -> String {
    let when = format!(
        "seq {}, recorded {}",
        a.event_seq,
        published_prose(Some(a.recorded_at.get(..10).unwrap_or(&a.recorded_at)))
    );
    if a.applied {
        format!("{} ({when})", a.prose())
    } else {
        format!(
            "not used by the {policy} policy: {} ({when}; the default policy, median, shows it)",
            a.prose()
        )
    }
}

/// One erased event of incident `i` for `show`: what it was (and in which merged duplicate),
/// the redaction (marked as later than the view when it is, the view's last change being
/// `last_seq`), when and why.
fn redaction_line(r: &crate::views::doc::Redaction, i: &Incident) -> String {
    let stream = if r.stream == i.incident {
        String::new()
    } else {
        format!(" of {}", r.stream)
    };
    let later = if r.redaction_seq > i.last_seq {
        ", after this point"
    } else {
        ""
    };
    format!(
        "seq {}, {}{stream}: erased on {} by redaction seq {}{later}: {}",
        r.event_seq,
        r.kind_prose(),
        published_prose(Some(r.redacted_on())),
        r.redaction_seq,
        r.reason
    )
}

/// The caveat of an audit whose incidents in scope have adjudicated bests: the best it
/// supports sums the recorder's decisions there, each with its reason.
fn adjudication_caveat(incidents: &[Incident], width: usize) -> String {
    let decided: Vec<String> = incidents
        .iter()
        .filter_map(|i| {
            let a = i.adjudication.as_ref().filter(|a| a.applied)?;
            Some(format!(
                "{}: {} (seq {})",
                i.incident,
                a.prose(),
                a.event_seq
            ))
        })
        .collect();
    if decided.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "
",
    );
    out.push_str(&wrap(
        &format!(
            "Adjudicated: the best counts the recorder's decisions: {}.",
            decided.join("; ")
        ),
        "",
        width,
    ));
    out
}

/// The caveat of an audit whose incidents in scope have erased events: what they said
/// counts for nothing in the range, and no one can now tell what it was.
fn redaction_caveat(incidents: &[Incident], width: usize) -> String {
    let erased: Vec<String> = incidents
        .iter()
        .filter(|i| !i.redactions.is_empty())
        .map(|i| {
            let events: Vec<String> = i
                .redactions
                .iter()
                .map(|r| format!("seq {}, {}", r.event_seq, r.kind_prose()))
                .collect();
            format!("{} ({})", i.incident, events.join("; "))
        })
        .collect();
    if erased.is_empty() {
        return String::new();
    }
    let n = erased.len();
    "\n".to_string()
        + &wrap(
        &format!(
            "Caveat: {n} incident{} in scope {} events whose payload a redaction erased; what they said counts for nothing in this range: {}.",
            if n == 1 { "" } else { "s" },
            if n == 1 { "has" } else { "have" },
            erased.join(", ")
        ),
        "",
        width,
    )
}

/// `timeline`: incidents in date order.
pub fn timeline(incidents: &[Incident], width: usize) -> String {
    let rows: Vec<TimelineRow> = incidents.iter().map(TimelineRow::from).collect();
    timeline_rows(&rows, width)
}

/// [`timeline`] from its rows.
pub fn timeline_rows(incidents: &[TimelineRow], width: usize) -> String {
    if incidents.is_empty() {
        return "No incidents.\n".into();
    }
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|i| {
            vec![
                date_prose(&i.date),
                i.province.clone(),
                i.category.clone(),
                range_cell(&i.killed),
                range_cell(&i.wounded),
                format!("{}{}", i.sources, if i.disputed { "*" } else { "" }),
                i.incident.clone(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "Date", "Province", "Category", "Killed", "Wounded", "Src", "Incident",
        ],
        &[false, false, false, true, true, true, false],
        &[false, true, true, false, false, false, false],
        &rows,
        width,
    );
    out.push_str(&wrap(
        "Killed and wounded: low-high (best); N+ means at least N. Src: sources with figures, * when they disagree.",
        "",
        width,
    ));
    if incidents.iter().any(|i| i.killed.coded || i.wounded.coded) {
        out.push_str(&wrap(Range::CODED_NOTE, "", width));
    }
    let adjudicated: Vec<&str> = incidents
        .iter()
        .filter(|i| i.adjudicated)
        .map(|i| i.incident.as_str())
        .collect();
    if !adjudicated.is_empty() {
        out.push_str(&wrap(
            &format!(
                "Adjudicated: the best of {} is the recorder's decision (`chronicle show` gives it and its reason).",
                adjudicated.join(", ")
            ),
            "",
            width,
        ));
    }
    out
}

/// `summary`: groups with their totals.
pub fn summary(groups: &[Group], by: GroupBy, width: usize) -> String {
    if groups.is_empty() {
        return "No incidents.\n".into();
    }
    let mut rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let key = match by {
                GroupBy::Status if g.key == "unattributed" => "not broken down".to_string(),
                GroupBy::Status => status_prose(&g.key),
                _ => g.key.clone(),
            };
            vec![
                key,
                g.incidents.to_string(),
                range_cell(&g.killed),
                range_cell(&g.wounded),
            ]
        })
        .collect();
    let heading = match by {
        GroupBy::Province => "Province",
        GroupBy::Month => "Month",
        GroupBy::Category => "Category",
        GroupBy::Source => "Source",
        GroupBy::Status => "Status",
        GroupBy::Grade => "Grade",
    };
    if !matches!(by, GroupBy::Source | GroupBy::Status) {
        let mut killed = Range::default();
        let mut wounded = Range::default();
        let mut n = 0;
        for g in groups {
            killed = killed.add(&g.killed);
            wounded = wounded.add(&g.wounded);
            n += g.incidents;
        }
        rows.push(vec![
            "Total".into(),
            n.to_string(),
            range_cell(&killed),
            range_cell(&wounded),
        ]);
    }
    let mut out = table(
        &[heading, "Incidents", "Killed", "Wounded"],
        &[false, true, true, true],
        &[true, false, false, false],
        &rows,
        width,
    );
    out.push_str(&wrap(
        if by == GroupBy::Status {
            "Each status reconciled over the sources that gave it, summed over the incidents: low-high (best); N+ means at least N. Killed counts victims and attackers (attackers as militants unless a source gives militants). Not broken down: the part of the incidents' totals no status covers (a source that gives only a total counts there, never as unknown; a total that is \"at least\" and fully broken down counts there as 0+, none known but possibly more). An incident counts under every status it has."
        } else if by == GroupBy::Grade {
            "Sums of the incidents' lows, bests and highs by grade: low-high (best); N+ means at least N. An incident's grade is its latest assessment, else the grade suggested from its sources (docs/views.md, \"Grades\"). Discounted incidents count in their own row and in the total, as everywhere; leave them out with --grade."
        } else if by == GroupBy::Source {
            "Each source's own figures, summed: low-high (best); N+ means at least N. An incident counts under every source that gave figures on it."
        } else {
            "Sums of the incidents' lows, bests and highs: low-high (best); N+ means at least N."
        },
        "",
        width,
    ));
    out.push_str(&coded_groups(groups, by, width));
    let adjudicated: Vec<String> = groups
        .iter()
        .filter(|g| g.adjudicated > 0)
        .map(|g| format!("{} ({})", g.key, g.adjudicated))
        .collect();
    if !adjudicated.is_empty() {
        out.push_str(&wrap(
            &format!(
                "Adjudicated: the bests of some incidents are the recorder's decisions (`chronicle timeline` names them): {}.",
                adjudicated.join(", ")
            ),
            "",
            width,
        ));
    }
    out
}

/// The note of a summary whose groups count coded values ([`Group::coded`]): which groups,
/// how many incidents in each, and what the mark means; empty when none does.
fn coded_groups(groups: &[Group], by: GroupBy, width: usize) -> String {
    let coded: Vec<String> = groups
        .iter()
        .filter(|g| g.coded > 0)
        .map(|g| format!("{} ({})", g.key, g.coded))
        .collect();
    if coded.is_empty() {
        return String::new();
    }
    let what = if by == GroupBy::Source {
        "some of these figures are coded"
    } else {
        "some incidents' killed or wounded rest on coded figures only"
    };
    wrap(
        &format!(
            "Coded: {what} (no source stated a number: a dataset's convention for an unknown toll, e.g. ACLED's 3), counted here as their value: {}. `chronicle timeline` marks them; a sum made of coded figures only is marked (coded).",
            coded.join(", ")
        ),
        "",
        width,
    )
}

/// `sources`: per source.
pub fn sources(rows: &[SourceSummary], width: usize) -> String {
    if rows.is_empty() {
        return "No sources.\n".into();
    }
    // The type, party and via columns only when some source has one: a log without
    // descriptions reads as before.
    let described = rows.iter().any(|s| s.source_type.is_some());
    let via = rows.iter().any(|s| !s.via.is_empty());
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            let mut row = vec![s.source.clone()];
            if described {
                row.push(s.source_type.clone().unwrap_or_else(|| "-".into()));
                row.push(if s.party { "party" } else { "" }.into());
            }
            row.extend([
                s.incidents.to_string(),
                s.reports.to_string(),
                s.corrections.to_string(),
                s.alone.to_string(),
                s.disagrees.to_string(),
                s.responsibility.to_string(),
            ]);
            if via {
                let carried: Vec<String> =
                    s.via.iter().map(|(v, n)| format!("{v} ({n})")).collect();
                row.push(carried.join(", "));
            }
            row
        })
        .collect();
    let mut headers = vec!["Source"];
    let mut numeric = vec![false];
    if described {
        headers.extend(["Type", "Party"]);
        numeric.extend([false, false]);
    }
    headers.extend([
        "Incidents",
        "Reports",
        "Corr.",
        "Alone",
        "Disagrees",
        "Resp.",
    ]);
    numeric.extend([true; 6]);
    if via {
        headers.push("Via");
        numeric.push(false);
    }
    let mut wrap_first = vec![false; headers.len()];
    wrap_first[0] = true;
    let mut out = table(&headers, &numeric, &wrap_first, &rows, width);
    if described {
        out.push_str(&wrap(
            "Type, Party: as described (`chronicle source set`) at this point; - : no description.",
            "",
            width,
        ));
    }
    if via {
        out.push_str(&wrap(
            "Via: figures of the source in view that reached the log through another source, per carrier.",
            "",
            width,
        ));
    }
    out.push_str(&wrap(
        "Alone: incidents where it is the only source with figures. Disagrees: incidents where its figure differs from another source's. Resp.: claims and denials it reported.",
        "",
        width,
    ));
    out
}

fn change_line(c: &Change) -> String {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let line = format!("{}: {} -> {}", c.field, show(&c.old), show(&c.new));
    match &c.note {
        Some(note) => format!("{line} ({note})"),
        None => line,
    }
}

/// `history`: each event and what it changed.
pub fn history(h: &History, width: usize) -> String {
    let mut out = format!("History of {}\n", h.incident);
    if let Some(root) = &h.now_part_of {
        out.push_str(&format!(
            "Now shown as part of {root} (see `chronicle history {root}`).\n"
        ));
    }
    for e in &h.entries {
        out.push('\n');
        out.push_str(&truncate(
            &format!(
                "seq {}  {}  {}  by {}",
                e.seq, e.recorded_at, e.kind, e.recorded_by
            ),
            width,
        ));
        out.push('\n');
        let mut who = Vec::new();
        if e.stream != h.incident {
            who.push(format!("in {}", e.stream));
        }
        if let Some(s) = &e.source {
            who.push(format!("source {s}"));
        }
        if let Some(p) = &e.published {
            who.push(format!("published {}", published_prose(Some(p))));
        }
        if !who.is_empty() {
            out.push_str(&wrap(&who.join(", "), "  ", width));
        }
        if let Some(n) = &e.note {
            out.push_str(&wrap(&format!("note: {n}"), "  ", width));
        }
        for c in &e.changes {
            out.push_str(&wrap(&change_line(c), "  ", width));
        }
        if e.changes.is_empty() {
            out.push_str("  (no change to the view)\n");
        }
        out.push_str(&format!("  id {}\n", e.event_id));
        out.push_str(&format!("  hash {}\n", e.hash));
    }
    out
}

/// `audit`: the verdict, the supported range and the incidents behind it.
pub fn audit(a: &AuditReport, width: usize) -> String {
    let mut noun = a.measure.replace('_', " ");
    if !a.statuses.is_empty() {
        let statuses: Vec<String> = a.statuses.iter().map(|s| status_prose(s)).collect();
        noun = format!("{} {noun}", statuses.join(" or "));
    }
    let mut out = wrap(
        &format!(
            "Claim: {} {noun}. The log supports {} (best {}): the claim is {}.",
            a.claimed,
            range_prose(&a.supported, &noun, false),
            a.supported.best.map_or("-".into(), |b| b.to_string()),
            match a.verdict {
                Verdict::Within => "within the range",
                Verdict::Below => "below the range (the log has more)",
                Verdict::Above => "above the range (the log has fewer)",
            }
        ),
        "",
        width,
    );
    out.push('\n');
    if a.incidents.is_empty() {
        out.push_str("No incidents in scope.\n");
    } else {
        let rows: Vec<Vec<String>> = a
            .incidents
            .iter()
            .map(|i| {
                let wounded = a.measure == "wounded";
                let (killed, wounded_range) = counted_by(i, &a.statuses);
                let r = if wounded { wounded_range } else { killed };
                let reports: Vec<String> = i
                    .sources
                    .iter()
                    .filter_map(|s| {
                        let f = if !a.statuses.is_empty() {
                            let by = if wounded {
                                &s.wounded_by_status
                            } else {
                                &s.killed_by_status
                            };
                            let given: Vec<String> = a
                                .statuses
                                .iter()
                                .filter_map(|n| {
                                    by.get(n).map(|f| format!("{} {}", status_prose(n), f.text))
                                })
                                .collect();
                            if given.is_empty() {
                                return None;
                            }
                            given.join(", ")
                        } else if wounded {
                            fig(&s.wounded)
                        } else {
                            fig(&s.killed)
                        };
                        Some(format!("{} {} (seq {})", s.source, f, s.event_seq))
                    })
                    .collect();
                vec![
                    date_prose(&i.date),
                    i.province.clone(),
                    range_cell(&r),
                    reports.join("; "),
                    i.incident.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["Date", "Province", "Range", "Reports", "Incident"],
            &[false, false, true, false, false],
            &[false, true, false, true, false],
            &rows,
            width,
        ));
    }
    out.push_str(&redaction_caveat(&a.incidents, width));
    out.push_str(&adjudication_caveat(&a.incidents, width));
    out.push_str(&coded_caveat(a, width));
    let gaps = crate::views::audit::StatusGaps {
        not_broken_down: a.not_broken_down.clone(),
        possibly_more: a.possibly_more.clone(),
    };
    let caveats = status_gaps(
        &gaps,
        &a.measure.replace('_', " "),
        "the claimed statuses may be among them",
        width,
    );
    if !caveats.is_empty() {
        out.push('\n');
        out.push_str(&caveats);
    }
    out.push_str(&leave_out(a, width));
    out
}

/// The caveat of an audit whose incidents in scope count coded values for the measure
/// ([`Range::coded`]): which, and that the range counts them as their value; empty when
/// none does.
fn coded_caveat(a: &AuditReport, width: usize) -> String {
    let wounded = a.measure == "wounded";
    let coded: Vec<String> = a
        .incidents
        .iter()
        .filter_map(|i| {
            let (killed, wounded_range) = counted_by(i, &a.statuses);
            let r = if wounded { wounded_range } else { killed };
            r.coded.then(|| i.incident.clone())
        })
        .collect();
    if coded.is_empty() {
        return String::new();
    }
    let one = coded.len() == 1;
    "\n".to_string()
        + &wrap(
            &format!(
                "Coded: the {} of {} {} on coded figures only (no source stated a number: a dataset's convention for an unknown toll, e.g. ACLED's 3); the range counts {} as {} value.",
                a.measure.replace('_', " "),
                coded.join(", "),
                if one { "rests" } else { "rest" },
                if one { "it" } else { "them" },
                if one { "its" } else { "their" },
            ),
            "",
            width,
        )
}

/// The caveats of a view by status, paragraphs apart by an empty line: `Not counted: N
/// incidents in scope without --status have killed figures not broken down by status (ids);
/// WHY.` and `Possibly more: ...` for the counts that are "at least" beyond what their
/// statuses cover; empty when there is neither.
pub fn status_gaps(
    gaps: &crate::views::audit::StatusGaps,
    noun: &str,
    why: &str,
    width: usize,
) -> String {
    let mut paragraphs = Vec::new();
    let count = |ids: &[String]| {
        let one = ids.len() == 1;
        format!(
            "{} {} in scope without --status {}",
            ids.len(),
            if one { "incident" } else { "incidents" },
            if one { "has" } else { "have" },
        )
    };
    if !gaps.not_broken_down.is_empty() {
        paragraphs.push(wrap(
            &format!(
                "Not counted: {} {noun} figures not broken down by status ({}); {why}.",
                count(&gaps.not_broken_down),
                gaps.not_broken_down.join(", ")
            ),
            "",
            width,
        ));
    }
    if !gaps.possibly_more.is_empty() {
        paragraphs.push(wrap(
            &format!(
                "Possibly more: {} {noun} figures that are \"at least\", every person counted broken down by status ({}): more people may have been {}, of a status no source gave; {why}.",
                count(&gaps.possibly_more),
                gaps.possibly_more.join(", "),
                if noun == "wounded" { "wounded" } else { "killed" },
            ),
            "",
            width,
        ));
    }
    paragraphs.join("\n")
}

/// An incident's killed and wounded as an audit of `statuses` (names) counts them.
fn counted_by(i: &Incident, statuses: &[String]) -> (Range, Range) {
    let parsed: Vec<crate::domain::status::Status> =
        statuses.iter().filter_map(|s| s.parse().ok()).collect();
    crate::views::counted(i, &parsed)
}

/// How many of the sets to leave out the human `audit` lists; `--json` has them all.
pub const LEAVE_OUT_SHOWN: usize = 10;

/// The sets of incidents an audit's claim would need left out, as prose: at most
/// [`LEAVE_OUT_SHOWN`] of them, then how many more there are; a search cut by its budget
/// says so.
fn leave_out(a: &AuditReport, width: usize) -> String {
    let mut out = String::new();
    if a.leave_out.is_empty() {
        if a.verdict == Verdict::Below && a.leave_out_complete {
            out.push_str("\nNo smaller selection of these incidents matches the claim.\n");
        } else if a.verdict == Verdict::Below {
            out.push('\n');
            out.push_str(&wrap(
                &format!(
                    "The search for incidents to leave out stopped after {LEAVE_OUT_BUDGET} combinations without finding any: a larger selection might still match the claim."
                ),
                "",
                width,
            ));
        }
        return out;
    }
    out.push('\n');
    let sets: Vec<String> = a
        .leave_out
        .iter()
        .take(LEAVE_OUT_SHOWN)
        .map(|set| {
            set.iter()
                .map(|id| {
                    a.incidents
                        .iter()
                        .find(|i| &i.incident == id)
                        .map_or(id.clone(), |i| {
                            format!("{} ({}, {})", id, date_prose(&i.date), i.province)
                        })
                })
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect();
    let mut text = format!(
        "The claim would hold only leaving out {}.",
        sets.join(", or ")
    );
    let more = a.leave_out.len().saturating_sub(LEAVE_OUT_SHOWN);
    if more > 0 {
        text.push_str(&format!(
            " ({more} more {} would do as well; `--json` lists them all.)",
            if more == 1 { "selection" } else { "selections" }
        ));
    }
    if !a.leave_out_complete {
        text.push_str(&format!(
            " The search stopped after {LEAVE_OUT_BUDGET} combinations: there may be other selections of the same size."
        ));
    }
    out.push_str(&wrap(&text, "", width));
    out
}

/// `audit` of several claims on the same incidents (killed and wounded): each report in
/// turn, separated by a blank line.
pub fn audits(reports: &[AuditReport], width: usize) -> String {
    reports
        .iter()
        .map(|a| audit(a, width))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `diff`: the incidents that changed between two points. With none, it says how many were
/// compared, and when none was in view at either point that nothing was: an empty diff of
/// filters that keep nothing is not "nothing changed".
pub fn diff(d: &Diff, width: usize) -> String {
    let mut out = format!("Changes from seq {} to seq {}\n", d.from_seq, d.to_seq);
    if d.incidents.is_empty() {
        out.push_str(&wrap(
            &match d.compared {
                0 => "No incident is in view at either point, so nothing was compared.".to_string(),
                1 => "The one incident in view at either point did not change.".to_string(),
                n => format!("None of the {n} incidents in view at either point changed."),
            },
            "",
            width,
        ));
    }
    for i in &d.incidents {
        out.push_str(&format!("\n{} ({})\n", i.incident, i.status));
        for c in &i.changes {
            out.push_str(&wrap(&change_line(c), "  ", width));
        }
    }
    out
}

/// What `--source-type` and `--exclude-parties` left out of a view (empty when nothing).
pub fn restriction(r: &crate::views::Restriction, width: usize) -> String {
    let mut out = String::new();
    if !r.sources.is_empty() {
        let names: Vec<&str> = r.sources.iter().map(String::as_str).collect();
        let mut line = format!(
            "Left out: the figures of {} {} ({})",
            names.len(),
            if names.len() == 1 {
                "source"
            } else {
                "sources"
            },
            names.join(", ")
        );
        if !r.undescribed.is_empty() {
            let n = r.undescribed.len();
            line.push_str(&format!(
                "; {n} of them {} no recorded type ({}: describe {} with `chronicle source set`)",
                if n == 1 { "has" } else { "have" },
                r.undescribed
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                if n == 1 { "it" } else { "them" }
            ));
        }
        line.push('.');
        out.push_str(&wrap(&line, "", width));
    }
    if !r.incidents.is_empty() {
        let n = r.incidents.len();
        out.push_str(&wrap(
            &format!(
                "Not shown: {n} {} with no source left ({}).",
                if n == 1 { "incident" } else { "incidents" },
                r.incidents.join(", ")
            ),
            "",
            width,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_fit_the_width_and_cut_with_an_ellipsis() {
        let rows = vec![vec![
            "a very long source name that cannot possibly fit".to_string(),
            "12".to_string(),
        ]];
        let t = table(&["Source", "N"], &[false, true], &[true, false], &rows, 20);
        for line in t.lines() {
            assert!(line.chars().count() <= 20, "{line:?}");
        }
        assert!(t.contains('…'), "{t}");
    }

    #[test]
    fn ids_are_never_cut() {
        let id = "2020-07-08-nangarhar-suicide-bombing";
        let rows = vec![vec![
            "a long category of attack".to_string(),
            id.to_string(),
        ]];
        for width in [20, 40, 80] {
            let t = table(
                &["Category", "Incident"],
                &[false, false],
                &[true, false],
                &rows,
                width,
            );
            assert!(t.contains(id), "width {width}: {t}");
        }
        let t = table(
            &["Category", "Incident"],
            &[false, false],
            &[true, false],
            &rows,
            UNLIMITED,
        );
        assert!(t.contains("a long category of attack"), "{t}");
        let long = "word ".repeat(100);
        assert_eq!(wrap(&long, "", UNLIMITED).lines().count(), 1);
    }

    #[test]
    fn ranges_read_as_people_write_them() {
        let r = |low, best, high, open_high| Range {
            low: Some(low),
            best: Some(best),
            high: Some(high),
            open_high,
            coded: false,
        };
        assert_eq!(
            range_prose(&r(8, 8, 17, false), "killed", true),
            "8-17 killed (disputed)"
        );
        assert_eq!(
            range_prose(&r(14, 14, 14, true), "killed", false),
            "at least 14 killed"
        );
        assert_eq!(
            range_prose(&Range::default(), "wounded", false),
            "wounded: no figures"
        );
        assert_eq!(range_cell(&r(27, 27, 27, true)), "27+ (27)");
        assert_eq!(range_cell(&r(13, 13, 13, false)), "13");
    }
}
