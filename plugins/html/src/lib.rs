//! The `html` export format: one self-contained page.
//!
//! Inline CSS and inline SVG only: no script, no external resource, so the
//! page renders the same offline, in a mail client or archived. Contents:
//! summary figures; the timeline as a table (every source's figures,
//! disputed incidents highlighted; a sentence repeated in the notes of many
//! reports is shown once, as a footnote); an SVG bar chart of killed and
//! wounded per day and one per province, each range drawn from low to high
//! with the best figure marked, with axis titles; the sources with their
//! citations; the log's checkpoint (the note a newspaper prints under an article, in a
//! `<pre>`) and how a reader checks it; a footer and `<meta>` tags stating the provenance.
//!
//! The page is responsive without a script: under 640 CSS px the table
//! becomes one card per incident, and under 900 px each chart is replaced by
//! a narrow drawing of its own (rows, 360 units wide, days without incidents
//! left out) whose text stays at least 10 px high on a phone; a chart is never
//! shrunk until its text cannot be read. `tests/html_browser.rs` checks this in
//! headless Chromium.
//!
//! A count that rests on coded figures only (ACLED's "Unknown fatalities
//! coded as 3": no source stated a number) carries a grey `coded` badge in
//! the timeline (and `(coded)` in the charts' labels and the incident's
//! lines), explained under the table, where the page also says that the
//! totals and charts count it as its value.
//!
//! Options: none.

use chronicle_plugin_sdk::safe::citation_link;
use chronicle_plugin_sdk::view::{civil_from_days, days_from_civil, human_date, parse_day};
use chronicle_plugin_sdk::{
    DatePrecision, DocumentHead, Incident, LogCheckpoint, Options, Range, SourceFigures,
    StatusRanges, StreamExporter, ViewDocument,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The HTML exporter: an export in progress.
///
/// Streamed (plugin ABI 2, two passes): the title, the cards, the footnotes (sentences
/// repeated across notes), the charts and the sources list need every incident, so pass 0
/// gathers them (`Gathered`: per-day and per-status sums, sentence counts, each source's
/// citations, never the incidents); pass 1 writes the page's head, then a timeline row per
/// incident as it comes; the rest of the page ends the export.
#[derive(Debug)]
pub struct Html {
    head: ViewDocument,
    gathered: Gathered,
    /// Numbered when pass 1 starts.
    footnotes: Footnotes,
}

/// What the page needs to know about all the incidents.
#[derive(Debug, Default)]
struct Gathered {
    incidents: u64,
    first: Option<String>,
    last: Option<String>,
    disputed: u64,
    coded: u64,
    /// Sentence -> (notes it is in, where it first appeared); and the next position.
    sentences: BTreeMap<String, (usize, usize)>,
    position: usize,
    /// Killed and wounded per day (day-precise incidents), and the others' number.
    days: BTreeMap<i64, (Range, Range)>,
    imprecise: usize,
    /// Whether some incident has a status; killed and wounded per status ([`STATUSES`]).
    any_status: bool,
    by_status: [(Range, Range); 5],
    /// Source -> (reports, citations with their order of first appearance).
    sources: BTreeMap<String, Cited>,
}

/// A source's reports, and its citations with the order they first appeared in (each held
/// once).
type Cited = (usize, std::collections::HashMap<String, usize>);

impl Gathered {
    fn add(&mut self, i: &Incident) {
        self.incidents += 1;
        if self
            .first
            .as_deref()
            .is_none_or(|f| i.date_start.as_str() < f)
        {
            self.first = Some(i.date_start.clone());
        }
        if self.last.as_deref().is_none_or(|l| i.date_end.as_str() > l) {
            self.last = Some(i.date_end.clone());
        }
        self.disputed += u64::from(i.disputed);
        self.coded += u64::from(i.killed.coded || i.wounded.coded || i.attackers_killed.coded);
        for note in i.sources.iter().filter_map(|s| s.note.as_deref()) {
            let mut in_this_note = sentences(note);
            in_this_note.sort_unstable();
            in_this_note.dedup();
            for sentence in in_this_note {
                match self.sentences.get_mut(sentence) {
                    Some(e) => e.0 += 1,
                    None => {
                        self.sentences
                            .insert(sentence.to_owned(), (1, self.position));
                    }
                }
                self.position += 1;
            }
        }
        match (i.date_precision, parse_day(&i.date_start)) {
            (DatePrecision::Day, Some((y, m, d))) => {
                let e = self.days.entry(days_from_civil(y, m, d)).or_default();
                e.0 = e.0.add(&i.killed);
                e.1 = e.1.add(&i.wounded);
            }
            _ => self.imprecise += 1,
        }
        self.any_status |= !(i.killed_by_status.is_empty() && i.wounded_by_status.is_empty());
        let whole = |by: &StatusRanges, total: Range| {
            let mut by = *by;
            if by.is_empty() && !total.is_unknown() {
                by.unattributed = Some(total);
            }
            by
        };
        let killed = whole(&i.killed_by_status, i.killed.add(&i.attackers_killed));
        let wounded = whole(&i.wounded_by_status, i.wounded);
        for ((key, _), sum) in STATUSES.iter().zip(self.by_status.iter_mut()) {
            if let Some(r) = killed.get(key) {
                sum.0 = sum.0.add(r);
            }
            if let Some(r) = wounded.get(key) {
                sum.1 = sum.1.add(r);
            }
        }
        for s in &i.sources {
            if !self.sources.contains_key(&s.source) {
                self.sources.insert(s.source.clone(), Cited::default());
            }
            if let Some(e) = self.sources.get_mut(&s.source) {
                e.0 += 1;
                if let Some(c) = &s.citation {
                    if !e.1.contains_key(c) {
                        let n = e.1.len();
                        e.1.insert(c.clone(), n);
                    }
                }
            }
        }
    }
}

impl StreamExporter for Html {
    const NAME: &'static str = "html";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const EXTENSION: &'static str = "html";
    const DESCRIPTION: &'static str =
        "Self-contained HTML page: timeline table and SVG charts per day and per province";
    const TEXT: bool = true;
    const PASSES: u32 = 2;

    fn begin(head: &DocumentHead, options: &Options) -> Result<Self, String> {
        options.check_known(&[])?;
        Ok(Html {
            head: head.document(),
            gathered: Gathered::default(),
            footnotes: Footnotes::default(),
        })
    }

    fn start_pass(&mut self, pass: u32, out: &mut dyn std::io::Write) -> Result<(), String> {
        if pass == 1 {
            self.footnotes = footnotes(&self.gathered);
            let text = page_head(&self.head, &self.gathered);
            out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn incident(
        &mut self,
        pass: u32,
        i: &Incident,
        out: &mut dyn std::io::Write,
    ) -> Result<(), String> {
        if pass == 0 {
            self.gathered.add(i);
            return Ok(());
        }
        let mut row = String::new();
        timeline_row(&mut row, i, &self.footnotes);
        out.write_all(row.as_bytes()).map_err(|e| e.to_string())
    }

    fn finish(self, out: &mut dyn std::io::Write) -> Result<(), String> {
        write_page_tail(&self.head, &self.gathered, &self.footnotes, out).map_err(|e| e.to_string())
    }
}

// Also `impl Exporter for Html` (the whole document at once, what the tests run): the
// streamed code, fed every incident.
chronicle_plugin_sdk::export_stream_plugin!(Html);

/// Escape text for HTML content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A link to a citation when it is an http(s) URL or a DOI
/// ([`citation_link`]), else the escaped text, whatever the log holds.
fn citation_html(citation: &str, label: &str) -> String {
    match citation_link(citation) {
        Some(url) => format!("<a href=\"{}\">{}</a>", esc(&url), esc(label)),
        None => esc(citation),
    }
}

const STYLE: &str = r#"
:root { --killed: #b2182b; --killed-range: #eea3a3; --wounded: #2166ac; --wounded-range: #a9c9e8;
        --ink: #1f2328; --muted: #59636e; --rule: #d8dee4; --disputed: #fff3cd; --badge: #b35900; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 16px; background: #fff; }
h1 { font-size: 1.9em; line-height: 1.2; margin: 0 0 .2em; }
h2 { font-size: 1.3em; margin: 1.6em 0 .5em; padding-bottom: .2em; border-bottom: 1px solid var(--rule); }
p.lede { color: var(--muted); margin: 0 0 1em; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 1em 0; }
.card { border: 1px solid var(--rule); border-radius: 8px; padding: 10px 16px; min-width: 170px; }
.card .label { color: var(--muted); font-size: .85em; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 1.5em; font-weight: 650; }
.card .detail { color: var(--muted); font-size: .85em; }
.card.killed .value { color: var(--killed); }
.card.wounded .value { color: var(--wounded); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 8px 10px; border-bottom: 1px solid var(--rule);
         overflow-wrap: anywhere; }
th { font-size: .85em; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
td.date { white-space: nowrap; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num .best { display: block; color: var(--muted); font-size: .85em; }
tr.disputed td { background: var(--disputed); }
.badge { display: inline-block; margin-left: 4px; padding: 0 6px; border-radius: 4px; background: var(--badge);
         color: #fff; font-size: .75em; font-weight: 650; text-transform: uppercase; letter-spacing: .03em; }
.category { font-weight: 650; }
.meta, .figures { color: var(--muted); font-size: .9em; }
ul.figures { margin: 0; padding-left: 1.1em; }
ul.figures li.differs { color: var(--ink); }
sup.fn a { text-decoration: none; }
ol.footnotes { color: var(--muted); font-size: .9em; padding-left: 1.6em; }
figure { margin: 0 0 1em; }
figcaption { color: var(--muted); font-size: .9em; }
svg { display: block; width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 12px; fill: #3d444d; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg text.axis-title { font-weight: 600; fill: #59636e; }
.chart.narrow { display: none; }
.chart.narrow svg { max-width: 480px; }
.chart.narrow svg text { font-size: 13px; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; color: var(--muted); font-size: .85em; margin: .3em 0 .6em; }
.swatch { display: inline-block; width: 22px; height: 10px; vertical-align: middle; margin-right: 5px; }
ol.sources { overflow-wrap: anywhere; }
ol.sources li { margin-bottom: .3em; }
footer { color: var(--muted); font-size: .85em; border-top: 1px solid var(--rule); margin-top: 2em; padding-top: .8em; }
code { font-size: .9em; word-break: break-all; }
pre.checkpoint { overflow-x: auto; max-width: 100%; padding: .6em .8em; border: 1px solid var(--rule); font-size: .85em; }
@media (max-width: 900px) { .chart.wide { display: none; } .chart.narrow { display: block; } }
@media (max-width: 640px) {
  main { padding: 16px 14px 8px; } h1 { font-size: 1.5em; }
  table.timeline, table.timeline tbody, table.timeline tr, table.timeline td { display: block; }
  table.timeline thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.timeline tr { border: 1px solid var(--rule); border-radius: 8px; margin: 0 0 12px; padding: 6px 0; }
  table.timeline tr.disputed { background: var(--disputed); }
  table.timeline td { border: 0; padding: 3px 12px; }
  table.timeline td.num, table.timeline td.date, table.timeline td.place { display: inline-block; width: 49%;
    vertical-align: top; }
  table.timeline td[data-label]::before { content: attr(data-label); display: block; color: var(--muted);
    font-size: .75em; text-transform: uppercase; letter-spacing: .04em; }
}
"#;

/// The extent of a range for a table cell: `8–17`, `14+`, `—`.
fn span_text(r: &Range) -> String {
    r.span("–").unwrap_or_else(|| "—".to_owned())
}

/// The badge of a count that rests on coded figures only ([`Range::coded`]): grey, beside
/// the red `disputed`, with the meaning on hover (and under the table).
const CODED_BADGE: &str = "<span class=\"badge coded\" style=\"background:#59636e\" title=\"No source stated a number: a dataset&#39;s convention for an unknown toll\">coded</span>";

fn range_cell(r: &Range, disputed: bool) -> String {
    let mut cell = esc(&span_text(r));
    if disputed {
        cell.push_str("<span class=\"badge\">disputed</span>");
    }
    if r.coded {
        cell.push_str(CODED_BADGE);
    }
    if let (Some(best), Some(low), Some(high)) = (r.best, r.low, r.high) {
        if low != high {
            let _ = write!(cell, "<span class=\"best\">best {best}</span>");
        }
    }
    cell
}

fn source_item(s: &SourceFigures, differs: bool, footnotes: &Footnotes) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &s.killed {
        parts.push(format!("{} killed", esc(&f.text)));
    }
    if let Some(f) = &s.wounded {
        parts.push(format!("{} wounded", esc(&f.text)));
    }
    if let Some(f) = &s.attackers_killed {
        if f.text.contains("attacker") {
            parts.push(format!("{} killed", esc(&f.text)));
        } else {
            parts.push(format!("{} attackers killed", esc(&f.text)));
        }
    }
    let figures = if parts.is_empty() {
        "no figures".to_owned()
    } else {
        parts.join(", ")
    };
    let mut item = format!(
        "<li{}><strong>{}</strong>",
        if differs { " class=\"differs\"" } else { "" },
        esc(&s.source)
    );
    if let Some(p) = &s.published {
        let _ = write!(item, " ({})", esc(&human_date(p)));
    }
    let _ = write!(item, ": {figures}");
    if s.corrected {
        item.push_str(" (corrected)");
    }
    if let Some(c) = &s.citation {
        let _ = write!(item, " [{}]", citation_html(c, "source"));
    }
    if let Some(n) = &s.note {
        let mut rest = Vec::new();
        let mut marks = String::new();
        for sentence in sentences(n) {
            match footnotes.number.get(sentence) {
                Some(n) => {
                    let _ = write!(
                        marks,
                        "<sup class=\"fn\"><a href=\"#note-{n}\">[{n}]</a></sup>"
                    );
                }
                None => rest.push(sentence),
            }
        }
        if rest.is_empty() {
            let _ = write!(item, " <em>note</em>{marks}");
        } else {
            let _ = write!(item, "<br><em>{}</em>{marks}", esc(&rest.join(" ")));
        }
    }
    if !s.revisions.is_empty() {
        item.push_str("<ul class=\"revisions\">");
        for r in &s.revisions {
            let _ = write!(item, "<li>Revised: {}</li>", esc(&r.describe()));
        }
        item.push_str("</ul>");
    }
    item.push_str("</li>");
    item
}

/// A sentence repeated in the notes of at least [`FOOTNOTE_MIN_NOTES`] reports ("The article
/// gives no publication date; ..."): shown once under the timeline, its number in each note.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Footnote {
    text: String,
    /// In how many reports' notes it appears.
    notes: usize,
}

/// The footnotes of a page, numbered from 1 in the order they first appear.
#[derive(Debug, Default)]
struct Footnotes {
    list: Vec<Footnote>,
    /// Sentence -> its number.
    number: BTreeMap<String, usize>,
}

/// How many reports' notes must share a sentence for it to become a footnote.
const FOOTNOTE_MIN_NOTES: usize = 3;

/// The sentences of a note: it is cut after a `.` followed by a space and a capital letter.
/// (An abbreviation may be cut too; its pieces are put back together unless one of them
/// recurs, which is harmless.)
fn sentences(note: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = note.as_bytes();
    for (at, c) in note.char_indices() {
        let next_is_capital = note
            .get(at + 2..)
            .and_then(|rest| rest.chars().next())
            .is_some_and(char::is_uppercase);
        if c == '.' && bytes.get(at + 1) == Some(&b' ') && next_is_capital {
            out.push(note[start..=at].trim());
            start = at + 2;
        }
    }
    let last = note[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// The sentences repeated in the notes of at least [`FOOTNOTE_MIN_NOTES`] reports, in the
/// order they first appear.
fn footnotes(g: &Gathered) -> Footnotes {
    let seen = g.sentences.iter().map(|(k, v)| (k.as_str(), *v));
    let mut kept: Vec<(&str, usize, usize)> = seen
        .into_iter()
        .filter(|(_, (notes, _))| *notes >= FOOTNOTE_MIN_NOTES)
        .map(|(text, (notes, first))| (text, notes, first))
        .collect();
    kept.sort_by_key(|&(_, _, first)| first);
    let mut footnotes = Footnotes::default();
    for (k, (text, notes, _)) in kept.into_iter().enumerate() {
        footnotes.number.insert(text.to_owned(), k + 1);
        footnotes.list.push(Footnote {
            text: text.to_owned(),
            notes,
        });
    }
    footnotes
}

fn footnotes_html(footnotes: &Footnotes) -> String {
    if footnotes.list.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ol class=\"footnotes\">\n");
    for (k, f) in footnotes.list.iter().enumerate() {
        let _ = writeln!(
            out,
            "<li id=\"note-{}\">{} <span class=\"meta\">(in the notes of {} reports)</span></li>",
            k + 1,
            esc(&f.text),
            f.notes
        );
    }
    out.push_str("</ol>\n");
    out
}

/// The incident's details line in the timeline: target, perpetrator, grade, responsibility,
/// attackers, statuses, adjudication, redactions, first and last recorded; each part escaped.
fn incident_meta(i: &Incident) -> Vec<String> {
    let mut meta = Vec::new();
    if let Some(t) = &i.target {
        meta.push(format!("Target: {}", esc(t)));
    }
    if let Some(p) = &i.perpetrator {
        meta.push(format!("Perpetrator: {}", esc(p)));
    }
    if let Some(g) = &i.grade {
        meta.push(format!(
            "<span class=\"grade\">Grade: {}</span>",
            esc(&g.prose())
        ));
    }
    for r in &i.responsibility {
        let mut m = format!(
            "{} {} responsibility ({}",
            esc(&r.actor),
            r.stance.as_str(),
            esc(&r.source)
        );
        if let Some(p) = &r.published {
            let _ = write!(m, ", {}", esc(&human_date(p)));
        }
        m.push(')');
        meta.push(m);
    }
    if !i.attackers_killed.is_unknown() {
        meta.push(format!(
            "Attackers killed: {}{}",
            esc(&span_text(&i.attackers_killed)),
            i.attackers_killed.coded_mark()
        ));
    }
    if let Some(line) = status_meta(i) {
        meta.push(line);
    }
    if let Some(a) = i.adjudication.as_ref().filter(|a| a.applied) {
        meta.push(format!(
            "<span class=\"adjudicated\">{} (log seq {}, {})</span>",
            esc(&capitalize_first(&a.prose())),
            a.event_seq,
            esc(&human_date(
                a.recorded_at.get(..10).unwrap_or(&a.recorded_at)
            ))
        ));
    }
    for r in &i.redactions {
        meta.push(format!(
            "<span class=\"redacted\">Redacted: {} (log seq {}) erased on {} (log seq {}): {}</span>",
            esc(r.kind_prose()),
            r.event_seq,
            esc(&human_date(r.redacted_on())),
            r.redaction_seq,
            esc(&r.reason)
        ));
    }
    if let Some(first) = &i.first_recorded {
        let day = |t: &str| esc(&human_date(t.get(..10).unwrap_or(t)));
        let mut m = format!("First recorded {}", day(first));
        if let Some(last) = &i.last_recorded {
            let _ = write!(m, ", last changed {}", day(last));
        }
        meta.push(m);
    }
    meta
}

fn timeline_row(out: &mut String, i: &Incident, footnotes: &Footnotes) {
    let _ = write!(
        out,
        "<tr id=\"{}\"{}>",
        esc(&i.incident),
        if i.disputed {
            " class=\"disputed\""
        } else {
            ""
        }
    );
    let _ = write!(
        out,
        "<td class=\"date\" data-label=\"Date\">{}</td>",
        esc(&human_date(&i.date))
    );
    let _ = write!(
        out,
        "<td class=\"place\" data-label=\"Place\">{}</td>",
        esc(&i.place())
    );
    let _ = write!(
        out,
        "<td data-label=\"Incident\"><span class=\"category\">{}</span>",
        esc(&i.category)
    );
    if let Some(s) = &i.summary {
        let _ = write!(out, "<br>{}", esc(s));
    }
    let meta = incident_meta(i);
    if !meta.is_empty() {
        let _ = write!(out, "<div class=\"meta\">{}</div>", meta.join(" · "));
    }
    out.push_str("</td>");
    let killed_disputed = i.disputed && differs(i, |s| s.killed.as_ref().map(|f| f.text.as_str()));
    let wounded_disputed =
        i.disputed && differs(i, |s| s.wounded.as_ref().map(|f| f.text.as_str()));
    let _ = write!(
        out,
        "<td class=\"num\" data-label=\"Killed\">{}</td>\
         <td class=\"num\" data-label=\"Wounded\">{}</td>",
        range_cell(&i.killed, killed_disputed),
        range_cell(&i.wounded, wounded_disputed)
    );
    out.push_str("<td data-label=\"Sources' figures\"><ul class=\"figures\">");
    for s in &i.sources {
        out.push_str(&source_item(s, i.disputed, footnotes));
    }
    out.push_str("</ul></td></tr>\n");
}

/// Whether the sources give different values for a figure.
/// `text` with its first letter in upper case.
fn capitalize_first(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn differs(i: &Incident, pick: fn(&SourceFigures) -> Option<&str>) -> bool {
    let mut values: Vec<&str> = i.sources.iter().filter_map(pick).collect();
    values.sort_unstable();
    values.dedup();
    values.len() > 1
}

/// Round up to 1, 2 or 5 times a power of ten.
fn nice_ceiling(v: u64) -> u64 {
    let mut base = 1u64;
    loop {
        for m in [1, 2, 5] {
            if base.saturating_mul(m) >= v {
                return base.saturating_mul(m);
            }
        }
        base = base.saturating_mul(10);
    }
}

fn top(r: &Range) -> u64 {
    r.high.or(r.best).or(r.low).unwrap_or(0)
}

/// One labelled value pair (killed, wounded) on a chart.
struct Bar {
    label: String,
    sublabel: String,
    killed: Range,
    wounded: Range,
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// Draw one range as a bar along an axis.
///
/// `pos(v)` maps a value to the coordinate along the value axis; the bar
/// spans `across..across + thickness` on the other axis. Solid from 0 to
/// `low` (what every source reports at least), light from `low` to `high`
/// (where the sources disagree), a dark tick at `best`, and a dashed
/// extension past `high` when it is open-ended ("at least").
fn range_bar(
    out: &mut String,
    r: &Range,
    vertical: bool,
    across: f64,
    thickness: f64,
    pos: &dyn Fn(u64) -> f64,
    colors: (&str, &str),
) {
    let Some(high) = r.high.or(r.best).or(r.low) else {
        return;
    };
    let low = r.low.or(r.best).unwrap_or(high);
    let (solid, light) = colors;
    let rect = |out: &mut String, a: u64, b: u64, fill: &str, extra: &str| {
        let (p0, p1) = (pos(a), pos(b));
        let (lo, len) = (p0.min(p1), (p1 - p0).abs());
        if vertical {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{extra}/>",
                f(across),
                f(lo),
                f(thickness),
                f(len)
            );
        } else {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{extra}/>",
                f(lo),
                f(across),
                f(len),
                f(thickness)
            );
        }
    };
    rect(out, 0, low, solid, "");
    if high > low {
        rect(out, low, high, light, "");
    }
    let line = |out: &mut String, at: f64, from: f64, to: f64, stroke: &str, extra: &str| {
        if vertical {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\"{extra}/>",
                f(from),
                f(at),
                f(to),
                f(at)
            );
        } else {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\"{extra}/>",
                f(at),
                f(from),
                f(at),
                f(to)
            );
        }
    };
    if let Some(best) = r.best {
        if high > low {
            line(
                out,
                pos(best),
                across - 3.0,
                across + thickness + 3.0,
                "#111",
                " stroke-width=\"2.5\"",
            );
        }
    }
    if r.open_high {
        // A dashed continuation: the true figure may be higher.
        let start = pos(high);
        let end = if vertical { start - 14.0 } else { start + 14.0 };
        let mid = across + thickness / 2.0;
        if vertical {
            let _ = write!(
                out,
                "<line x1=\"{m}\" y1=\"{}\" x2=\"{m}\" y2=\"{}\" stroke=\"{solid}\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>",
                f(start),
                f(end),
                m = f(mid)
            );
        } else {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{m}\" x2=\"{}\" y2=\"{m}\" stroke=\"{solid}\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>",
                f(start),
                f(end),
                m = f(mid)
            );
        }
    }
}

const KILLED: (&str, &str) = ("#b2182b", "#eea3a3");
const WOUNDED: (&str, &str) = ("#2166ac", "#a9c9e8");

/// Axis titles of a chart.
struct Titles<'a> {
    /// Along the value axis, e.g. "Killed and wounded (people)".
    value: &'a str,
    /// Along the label axis, e.g. "Day of the month".
    label: &'a str,
}

/// A vertical bar chart, one slot per bar pair, 1000 units wide (for wide screens).
fn column_chart(title: &str, bars: &[Bar], titles: &Titles<'_>) -> String {
    let (w, h) = (1000.0_f64, 340.0_f64);
    let (left, right, top_m, bottom) = (62.0, 44.0, 28.0, 62.0);
    let plot_w = w - left - right;
    let plot_h = h - top_m - bottom;
    let max = nice_ceiling(
        bars.iter()
            .map(|b| top(&b.killed).max(top(&b.wounded)))
            .max()
            .unwrap_or(0)
            .max(1),
    );
    let y = |v: u64| top_m + plot_h - (v as f64 / max as f64) * plot_h;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title)
    );
    let _ = write!(out, "<title>{}</title>", esc(title));
    // Grid and value axis.
    let step = (max / 5).max(1);
    let mut v = 0;
    while v <= max {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{left}\" y1=\"{yy}\" x2=\"{x2}\" y2=\"{yy}\"/>\
             <text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{v}</text>",
            yy = f(y(v)),
            x2 = f(w - right),
            tx = f(left - 6.0),
            ty = f(y(v) + 4.0)
        );
        v += step;
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{b}\" x2=\"{x2}\" y2=\"{b}\"/>",
        b = f(top_m + plot_h),
        x2 = f(w - right)
    );
    let _ = write!(
        out,
        "<text class=\"axis-title\" transform=\"rotate(-90)\" x=\"{}\" y=\"16\" \
         text-anchor=\"middle\">{}</text>\
         <text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        f(-(top_m + plot_h / 2.0)),
        esc(titles.value),
        f(left + plot_w / 2.0),
        f(h - 6.0),
        esc(titles.label)
    );
    let n = bars.len().max(1) as f64;
    let slot = plot_w / n;
    let bw = (slot * 0.34).min(30.0);
    let label_every = ((22.0 / slot).ceil() as usize).max(1);
    for (k, b) in bars.iter().enumerate() {
        let cx = left + slot * (k as f64 + 0.5);
        range_bar(&mut out, &b.killed, true, cx - bw - 1.0, bw, &y, KILLED);
        range_bar(&mut out, &b.wounded, true, cx + 1.0, bw, &y, WOUNDED);
        // Labels grow away from the pair (killed leftwards, wounded
        // rightwards) so that they do not cover the other bar.
        for (r, x, anchor) in [
            (&b.killed, cx - 1.0, "end"),
            (&b.wounded, cx + 1.0, "start"),
        ] {
            if let Some(text) = r.span("–") {
                let lift = if r.open_high { 18.0 } else { 4.0 };
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                    f(x),
                    f(y(top(r)) - lift),
                    esc(&text)
                );
            }
        }
        if k % label_every == 0 {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                f(cx),
                f(top_m + plot_h + 16.0),
                esc(&b.label)
            );
        }
        if !b.sublabel.is_empty() {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"start\">{}</text>",
                f(cx - slot / 2.0),
                f(top_m + plot_h + 34.0),
                esc(&b.sublabel)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The widths of a row chart, in SVG units.
#[derive(Debug, Clone, Copy)]
struct RowLayout {
    /// The whole drawing.
    width: f64,
    /// The label column.
    left: f64,
    /// Room right of the longest bar for its figures.
    right: f64,
    /// Labels longer than this are cut (with an ellipsis).
    label_chars: usize,
}

/// The layout of wide screens: 1000 units, drawn at about 1000 px.
const WIDE_ROWS: RowLayout = RowLayout {
    width: 1000.0,
    left: 150.0,
    right: 90.0,
    label_chars: 24,
};

/// The layout of narrow screens: 360 units, drawn at 300 to 480 px, so that text of 13
/// units stays at least 10 px high on a phone.
const NARROW_ROWS: RowLayout = RowLayout {
    width: 360.0,
    left: 104.0,
    right: 100.0,
    label_chars: 12,
};

/// `text` cut to `max` characters, with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A horizontal bar chart, one row per bar pair.
fn row_chart(title: &str, bars: &[Bar], layout: RowLayout, titles: &Titles<'_>) -> String {
    let row = 40.0_f64;
    let (left, right, top_m, bottom) = (layout.left, layout.right, 26.0, 46.0);
    let w = layout.width;
    let h = top_m + bottom + row * bars.len().max(1) as f64;
    let plot_w = w - left - right;
    let max = nice_ceiling(
        bars.iter()
            .map(|b| top(&b.killed).max(top(&b.wounded)))
            .max()
            .unwrap_or(0)
            .max(1),
    );
    let x = |v: u64| left + (v as f64 / max as f64) * plot_w;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title)
    );
    let _ = write!(out, "<title>{}</title>", esc(title));
    let step = (max / 5).max(1);
    let mut v = 0;
    let bottom_y = top_m + row * bars.len().max(1) as f64;
    while v <= max {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{xx}\" y1=\"{top_m}\" x2=\"{xx}\" y2=\"{b}\"/>\
             <text x=\"{xx}\" y=\"{ty}\" text-anchor=\"middle\">{v}</text>",
            xx = f(x(v)),
            b = f(bottom_y),
            ty = f(bottom_y + 16.0)
        );
        v += step;
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{top_m}\" x2=\"{left}\" y2=\"{}\"/>",
        f(bottom_y)
    );
    let _ = write!(
        out,
        "<text class=\"axis-title\" x=\"{}\" y=\"16\" text-anchor=\"end\">{}</text>\
         <text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        f(left - 8.0),
        esc(titles.label),
        f(left + plot_w / 2.0),
        f(bottom_y + 38.0),
        esc(titles.value)
    );
    for (k, b) in bars.iter().enumerate() {
        let y0 = top_m + row * k as f64 + 6.0;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            f(left - 8.0),
            f(y0 + 17.0),
            esc(&cut(&b.label, layout.label_chars))
        );
        range_bar(&mut out, &b.killed, false, y0, 12.0, &x, KILLED);
        range_bar(&mut out, &b.wounded, false, y0 + 14.0, 12.0, &x, WOUNDED);
        for (r, yy, what) in [
            (&b.killed, y0 + 10.0, "killed"),
            (&b.wounded, y0 + 24.0, "wounded"),
        ] {
            let text = if r.is_unknown() {
                format!("{what}: not reported")
            } else {
                r.describe()
            };
            let extra = if r.open_high { 18.0 } else { 6.0 };
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                f(x(top(r)) + extra),
                f(yy),
                esc(&text)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A chart drawn twice, for wide screens and for narrow ones (the stylesheet shows one),
/// with one legend and one caption.
fn figure(wide: &str, narrow: &str, caption: &str, narrow_note: &str) -> String {
    let note = if narrow_note.is_empty() {
        String::new()
    } else {
        format!("<span class=\"chart narrow\">{}</span>", esc(narrow_note))
    };
    format!(
        "<figure>{}<div class=\"chart wide\">{wide}</div><div class=\"chart narrow\">{narrow}</div>\
         <figcaption>{}{note}</figcaption></figure>\n",
        legend(),
        esc(caption)
    )
}

/// The axis titles of the charts.
const PEOPLE: &str = "Killed and wounded (people)";

fn legend() -> String {
    format!(
        "<div class=\"legend\">\
         <span><span class=\"swatch\" style=\"background:{}\"></span>killed (reported by all)</span>\
         <span><span class=\"swatch\" style=\"background:{}\"></span>killed (range where sources differ)</span>\
         <span><span class=\"swatch\" style=\"background:{}\"></span>wounded (reported by all)</span>\
         <span><span class=\"swatch\" style=\"background:{}\"></span>wounded (range)</span>\
         <span><span class=\"swatch\" style=\"background:#111;height:3px\"></span>best figure</span>\
         <span><span class=\"swatch\" style=\"border-top:2px dashed #555;height:0\"></span>at least (may be higher)</span>\
         </div>",
        KILLED.0, KILLED.1, WOUNDED.0, WOUNDED.1
    )
}

/// Killed and wounded per day, over the day-precise incidents.
fn per_day(g: &Gathered) -> Option<String> {
    let (days, imprecise) = (&g.days, g.imprecise);
    let (&first, _) = days.first_key_value()?;
    let (&last, _) = days.last_key_value()?;
    // A continuous axis shows the quiet days too, up to about two months.
    let keys: Vec<i64> = if last - first <= 62 {
        (first..=last).collect()
    } else {
        days.keys().copied().collect()
    };
    let mut previous_month = None;
    let narrow: Vec<Bar> = days
        .iter()
        .map(|(day, (killed, wounded))| {
            let (y, m, d) = civil_from_days(*day);
            Bar {
                label: human_date(&format!("{y:04}-{m:02}-{d:02}"))
                    .trim_end_matches(&format!(" {y}"))
                    .to_owned(),
                sublabel: String::new(),
                killed: *killed,
                wounded: *wounded,
            }
        })
        .collect();
    let bars: Vec<Bar> = keys
        .iter()
        .map(|day| {
            let (y, m, d) = civil_from_days(*day);
            let (killed, wounded) = days.get(day).copied().unwrap_or_default();
            let month = (y, m);
            let sublabel = if previous_month != Some(month) {
                previous_month = Some(month);
                human_date(&format!("{y:04}-{m:02}"))
            } else {
                String::new()
            };
            Bar {
                label: d.to_string(),
                sublabel,
                killed,
                wounded,
            }
        })
        .collect();
    let mut caption =
        "Killed and wounded per day, summed over the incidents of each day.".to_owned();
    if imprecise > 0 {
        let _ = write!(
            caption,
            " Not shown: {imprecise} incident{} whose date is not known to the day.",
            if imprecise == 1 { "" } else { "s" }
        );
    }
    let title = "Killed and wounded per day";
    let wide = column_chart(
        title,
        &bars,
        &Titles {
            value: PEOPLE,
            label: "Day of the month",
        },
    );
    let narrow = row_chart(
        title,
        &narrow,
        NARROW_ROWS,
        &Titles {
            value: PEOPLE,
            label: "Day",
        },
    );
    Some(figure(
        &wide,
        &narrow,
        &caption,
        " Days without incidents are left out.",
    ))
}

fn per_province(doc: &ViewDocument) -> Option<String> {
    if doc.totals.by_province.is_empty() {
        return None;
    }
    let bars: Vec<Bar> = doc
        .totals
        .by_province
        .iter()
        .map(|g| Bar {
            label: g.key.clone(),
            sublabel: String::new(),
            killed: g.killed,
            wounded: g.wounded,
        })
        .collect();
    let title = "Killed and wounded per province";
    let titles = Titles {
        value: PEOPLE,
        label: "Province",
    };
    Some(figure(
        &row_chart(title, &bars, WIDE_ROWS, &titles),
        &row_chart(title, &bars, NARROW_ROWS, &titles),
        "Killed (upper bar) and wounded (lower bar) per province, summed over its incidents.",
        "",
    ))
}

/// The charts, each under its heading: per day, per province, by casualty status (each
/// when it has something to draw).
fn charts(out: &mut String, doc: &ViewDocument, g: &Gathered) {
    let charts = [
        ("Per day", per_day(g)),
        ("Per province", per_province(doc)),
        ("By casualty status", per_status(g)),
    ];
    for (heading, chart) in charts {
        if let Some(chart) = chart {
            let _ = writeln!(out, "<h2>{heading}</h2>");
            out.push_str(&chart);
        }
    }
}

/// The statuses of the charts and lines, `unattributed` last, with their words.
const STATUSES: [(&str, &str); 5] = [
    ("civilians", "Civilians"),
    ("security_forces", "Security forces"),
    ("militants", "Militants"),
    ("unknown", "Unknown"),
    ("unattributed", "Not broken down"),
];

/// Killed and wounded by casualty status, summed over the incidents that have a status
/// (an incident without any counts as not broken down), a bar per status some incident
/// has; `None` when no incident has one.
fn per_status(g: &Gathered) -> Option<String> {
    if !g.any_status {
        return None;
    }
    let bars: Vec<Bar> = STATUSES
        .iter()
        .zip(&g.by_status)
        .map(|((_, label), (killed, wounded))| Bar {
            label: (*label).to_owned(),
            sublabel: String::new(),
            killed: *killed,
            wounded: *wounded,
        })
        .filter(|bar| !(bar.killed.is_unknown() && bar.wounded.is_unknown()))
        .collect();
    let title = "Killed and wounded by casualty status";
    let titles = Titles {
        value: PEOPLE,
        label: "Status",
    };
    Some(figure(
        &row_chart(title, &bars, WIDE_ROWS, &titles),
        &row_chart(title, &bars, NARROW_ROWS, &titles),
        "Killed (upper bar, victims and attackers) and wounded (lower bar) by casualty status, each status reconciled over the sources that gave it and summed over the incidents; not broken down: the part of the totals no status covers.",
        "",
    ))
}

/// `Killed by status: civilians 6, security forces 8–13`: an incident's killed by status,
/// the part not broken down worded as every output words it (`StatusRanges::leftover`:
/// none when the statuses cover the total exactly, `possibly more not broken down` when
/// it is only open, `0+`).
fn status_meta(i: &Incident) -> Option<String> {
    let by = &i.killed_by_status;
    if by.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = STATUSES
        .iter()
        .filter(|(key, _)| *key != "unattributed")
        .filter_map(|(key, label)| {
            by.get(key).filter(|r| !r.is_unknown()).map(|r| {
                format!(
                    "{} {}{}",
                    label.to_lowercase(),
                    esc(&span_text(r)),
                    r.coded_mark()
                )
            })
        })
        .collect();
    if by.unattributed.is_some_and(|r| !r.is_unknown()) {
        parts.extend(by.leftover().words(|r| esc(&span_text(r)) + r.coded_mark()));
    }
    Some(format!("Killed by status: {}", parts.join(", ")))
}

/// The sources' list: each source, its number of reports and its citations in the order
/// they first appear.
fn write_sources(g: &Gathered, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    w.write_all(b"<ol class=\"sources\">\n")?;
    for (name, (reports, citations)) in &g.sources {
        let mut line = format!(
            "<li><strong>{}</strong>: {reports} report{}",
            esc(name),
            if *reports == 1 { "" } else { "s" }
        );
        let mut ordered: Vec<(usize, &str)> =
            citations.iter().map(|(c, n)| (*n, c.as_str())).collect();
        ordered.sort_unstable();
        for (_, c) in ordered {
            let _ = write!(line, "<br>{}", citation_html(c, c));
        }
        if citations.is_empty() {
            line.push_str("<br><em>no citation recorded</em>");
        }
        line.push_str("</li>\n");
        w.write_all(line.as_bytes())?;
    }
    w.write_all(b"</ol>\n")
}

fn span(g: &Gathered) -> Option<String> {
    let (start, end) = (g.first.as_deref()?, g.last.as_deref()?);
    Some(if start == end {
        human_date(start)
    } else {
        human_date(&format!("{start}/{end}"))
    })
}

fn provenance_text(doc: &ViewDocument) -> String {
    let p = &doc.provenance;
    let mut text = format!(
        "log checkpoint seq {} (hash <code>{}</code>), {}, policy {}; generated by {}; \
         exported by the {} plugin {}",
        p.log_seq,
        p.log_hash.as_deref().map_or_else(|| "none".to_owned(), esc),
        esc(&p.point.describe()),
        esc(&p.policy.best),
        esc(&p.generator),
        <Html as StreamExporter>::NAME,
        <Html as StreamExporter>::VERSION
    );
    let filters: Vec<String> = p
        .filters
        .entries()
        .iter()
        .map(|(k, v)| format!("{k}={}", esc(v)))
        .collect();
    if !filters.is_empty() {
        let _ = write!(text, "; filters {}", filters.join(", "));
    }
    text
}

fn card(out: &mut String, class: &str, label: &str, value: &str, detail: &str) {
    let _ = write!(
        out,
        "<div class=\"card {class}\"><div class=\"label\">{label}</div>\
         <div class=\"value\">{value}</div><div class=\"detail\">{detail}</div></div>"
    );
}

fn best_detail(r: &Range) -> String {
    match (r.best, r.low, r.high) {
        _ if r.coded => "coded values only: no source stated a number".to_owned(),
        (Some(best), Some(low), Some(high)) if low != high => format!("best estimate {best}"),
        _ if r.open_high => "at least; may be higher".to_owned(),
        _ if r.is_unknown() => "not reported".to_owned(),
        _ => "all sources agree".to_owned(),
    }
}

/// Under the timeline, when some incident has a count that rests on coded figures only:
/// what the `coded` badge means, and that the totals and charts count it as its value.
fn coded_note(g: &Gathered) -> String {
    let n = g.coded;
    if n == 0 {
        return String::new();
    }
    format!(
        "<p class=\"meta coded\">{n} incident{} {} a count marked {CODED_BADGE}: no source stated \
         a number, and the figure is a dataset&#39;s convention for an unknown toll (ACLED codes \
         unknown fatalities as 3). The totals and the charts count it as its value.</p>\n",
        if n == 1 { "" } else { "s" },
        if n == 1 { "has" } else { "have" },
    )
}

/// Render the page.
pub fn render(doc: &ViewDocument) -> String {
    let out =
        chronicle_plugin_sdk::stream::export_stream_document::<Html>(doc, &Options::default())
            .unwrap_or_default();
    String::from_utf8(out).unwrap_or_default()
}

/// The page up to the timeline's first row (`doc` is the head, `g` what pass 0 gathered).
fn page_head(doc: &ViewDocument, g: &Gathered) -> String {
    let p = &doc.provenance;
    let title = match span(g) {
        Some(s) => format!("Chronology: {s}"),
        None => "Chronology".to_owned(),
    };
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<meta name=\"generator\" content=\"chronicle-plugin-{} {}; {}\">",
        <Html as StreamExporter>::NAME,
        <Html as StreamExporter>::VERSION,
        esc(&p.generator)
    );
    for (name, value) in [
        ("chronicle:schema", doc.schema.clone()),
        ("chronicle:log-seq", p.log_seq.to_string()),
        ("chronicle:log-hash", p.log_hash.clone().unwrap_or_default()),
        ("chronicle:point", p.point.code()),
        ("chronicle:policy", p.policy.best.clone()),
    ] {
        let _ = writeln!(out, "<meta name=\"{name}\" content=\"{}\">", esc(&value));
    }
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(out, "<h1>{}</h1>", esc(&title));

    if g.incidents == 0 {
        out.push_str("<p class=\"lede\">No incidents match this view.</p>\n");
    } else {
        let t = &doc.totals;
        let disputed = g.disputed;
        let provinces: Vec<String> = t.by_province.iter().map(|g| g.key.clone()).collect();
        let _ = writeln!(
            out,
            "<p class=\"lede\">{} incident{} in {} province{}: {}.</p>",
            t.incidents,
            if t.incidents == 1 { "" } else { "s" },
            provinces.len(),
            if provinces.len() == 1 { "" } else { "s" },
            esc(&provinces.join(", "))
        );
        out.push_str("<div class=\"cards\">");
        card(
            &mut out,
            "",
            "Incidents",
            &t.incidents.to_string(),
            &format!("{disputed} with disputed figures"),
        );
        card(
            &mut out,
            "killed",
            "Killed",
            &esc(&span_text(&t.killed)),
            &best_detail(&t.killed),
        );
        card(
            &mut out,
            "wounded",
            "Wounded",
            &esc(&span_text(&t.wounded)),
            &best_detail(&t.wounded),
        );
        out.push_str("</div>\n");

        out.push_str("<h2>Timeline</h2>\n<div class=\"table-wrap\">\n<table class=\"timeline\">\n<thead><tr><th>Date</th><th>Place</th><th>Incident</th><th>Killed</th><th>Wounded</th><th>Sources' figures</th></tr></thead>\n<tbody>\n");
    }
    out
}

/// The page after the timeline's last row, the sources' list written a source at a time (at
/// a million events it lists hundreds of thousands of citations: it is never built whole).
fn write_page_tail(
    doc: &ViewDocument,
    g: &Gathered,
    footnotes: &Footnotes,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let p = &doc.provenance;
    let mut out = String::new();
    if g.incidents > 0 {
        out.push_str("</tbody>\n</table>\n</div>\n");
        out.push_str(&footnotes_html(footnotes));
        let _ = writeln!(
            out,
            "<p class=\"meta\">Ranges run from the lowest to the highest figure any source gave; \
             \"best\" follows the {} policy; \"14+\" means at least 14. Highlighted rows have \
             disputed figures.</p>",
            esc(&p.policy.best)
        );
        out.push_str(&coded_note(g));

        charts(&mut out, doc, g);
        out.push_str("<h2>Sources</h2>\n");
        w.write_all(out.as_bytes())?;
        out.clear();
        write_sources(g, w)?;
    }
    if let Some(c) = &doc.provenance.checkpoint {
        checkpoint_section(&mut out, c);
    }
    let _ = writeln!(
        out,
        "<footer>Exported from chronicle: {}.</footer>\n</main>\n</body>\n</html>",
        provenance_text(doc)
    );
    w.write_all(out.as_bytes())
}

/// The checkpoint as the lines a newspaper prints under an article (verbatim in a `<pre>`,
/// so that they are copied as they are), and a sentence on how a reader checks it.
fn checkpoint_section(out: &mut String, c: &LogCheckpoint) {
    // The commands of the sentence, in backticks, become <code>.
    let how: String = esc(&c.how_to_check())
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "<section class=\"checkpoint\"><h2>Checkpoint</h2>\n\
         <p class=\"meta\">The log this chronology was exported from, at this point ({} events):</p>\n\
         <pre class=\"checkpoint\">{}</pre>\n<p class=\"meta\">{how}</p></section>",
        c.tree_size,
        esc(&c.note)
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chronicle_plugin_sdk::testing::{
        export_document, export_sample, sample_document, totals_of,
    };

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    /// Through the version-2 ABI (one incident at a time, two passes) the bytes are the
    /// version-1 path's.
    #[test]
    fn the_streamed_path_gives_the_same_bytes() {
        use chronicle_plugin_sdk::testing::{export_stream_doc, sample_coded_document};
        let mut empty = sample_document();
        empty.incidents.clear();
        let mut rich = sample_document();
        rich.incidents[0].killed_by_status.civilians = Some(Range::exact(3));
        for doc in [sample_document(), sample_coded_document(), empty, rich] {
            let whole = export_document::<Html>(&doc, &[]).unwrap();
            let streamed = export_stream_doc::<Html>(&doc, &[]).unwrap();
            assert_eq!(text(streamed), text(whole));
        }
    }

    #[test]
    fn sample_snapshot() {
        insta::assert_snapshot!("sample", text(export_sample::<Html>(&[]).unwrap()));
    }

    /// A count that rests on coded figures only has a `coded` badge in its timeline cell
    /// (and `(coded)` in the chart labels), explained under the table; nothing else is
    /// marked, and a page without one has neither.
    #[test]
    fn a_coded_count_has_a_badge_and_a_note() {
        let doc = chronicle_plugin_sdk::testing::sample_coded_document();
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("<tr id=")).collect();
        let badged: Vec<&str> = rows
            .iter()
            .filter(|r| r.contains(CODED_BADGE))
            .map(|r| &r[8..r.find("\">").unwrap()])
            .collect();
        assert_eq!(badged, ["2020-07-14-faryab-mosque"]);
        let note = out
            .lines()
            .find(|l| l.starts_with("<p class=\"meta coded\">"))
            .unwrap();
        insta::assert_snapshot!("coded_note", note);
        assert!(out.contains(">3 (coded)</text>"), "the chart's label");
        let plain = text(export_sample::<Html>(&[]).unwrap());
        assert!(!plain.contains("coded"));
    }

    #[test]
    fn script_in_a_summary_is_escaped() {
        let mut doc = sample_document();
        doc.incidents[4].summary = Some("<script>alert('x')</script> & \"quotes\"".into());
        doc.incidents[4].sources[0].citation = Some("javascript:alert(1)".into());
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(!out.contains("<script"));
        assert!(out
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        assert!(!out.contains("href=\"javascript:"));
    }

    /// Killed by status: a line on the incident and a chart of the statuses some incident
    /// has; none for a document without statuses.
    #[test]
    fn killed_by_status_is_drawn() {
        let plain = text(export_document::<Html>(&sample_document(), &[]).unwrap());
        assert!(!plain.contains("By casualty status"));
        let mut doc = sample_document();
        doc.incidents[0].killed_by_status.civilians = Some(Range::exact(3));
        doc.incidents[0].killed_by_status.unattributed = Some(Range::exact(1));
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(
            out.contains("Killed by status: civilians 3, not broken down 1"),
            "{out}"
        );
        // The part not broken down as every output says it: left out when exactly none,
        // "possibly more" when only open (0+).
        doc.incidents[0].killed_by_status.unattributed = Some(Range::exact(0));
        let none = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(none.contains("Killed by status: civilians 3 ·"), "{none}");
        doc.incidents[0].killed_by_status.unattributed = Some(Range {
            open_high: true,
            ..Range::exact(0)
        });
        let open = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(
            open.contains("Killed by status: civilians 3, possibly more not broken down ·"),
            "{open}"
        );
        assert!(out.contains("<h2>By casualty status</h2>"));
        let chart = &out[out.find("<h2>By casualty status</h2>").unwrap()..];
        assert!(chart.contains(">Civilians<") && chart.contains(">Not broken down<"));
        assert!(
            !chart.contains(">Security forces<"),
            "no bar for a status no one gave"
        );
    }

    /// An adjudication in force is shown on its incident, its reason (user text) escaped.
    #[test]
    fn adjudication_is_shown_escaped() {
        let mut doc = sample_document();
        doc.incidents[4].adjudication = Some(chronicle_plugin_sdk::view::Adjudication {
            wounded: Some(25),
            outside_range: true,
            ..chronicle_plugin_sdk::testing::sample_adjudication(
                "<script>alert(1)</script> the hospital's list",
            )
        });
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(!out.contains("<script"), "{out}");
        let at = out.find("<span class=\"adjudicated\">").unwrap();
        let end = at + out[at..].find("</span>").unwrap() + "</span>".len();
        insta::assert_snapshot!("adjudication_span", &out[at..end]);
    }

    /// A redaction is shown on its incident, its reason (user text) escaped.
    #[test]
    fn redaction_is_shown_escaped() {
        let mut doc = sample_document();
        let stream = doc.incidents[4].incident.clone();
        doc.incidents[4]
            .redactions
            .push(chronicle_plugin_sdk::view::Redaction {
                event_id: "e-39".into(),
                event_seq: 39,
                kind: "casualties_reported".into(),
                stream,
                redaction_id: "r-40".into(),
                redaction_seq: 40,
                redacted_at: "2020-08-02T08:00:00.000000Z".into(),
                reason: "<script>alert(1)</script> a victim's name".into(),
            });
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(!out.contains("<script"), "{out}");
        let at = out.find("<span class=\"redacted\">").unwrap();
        let end = at + out[at..].find("</span>").unwrap() + "</span>".len();
        insta::assert_snapshot!("redaction_span", &out[at..end]);
    }

    /// The cases tried on main before issue 16, pinned: a `<script>`
    /// category and an `<img onerror>` summary are text, not markup.
    #[test]
    fn script_category_and_img_onerror_summary_are_text() {
        let mut doc = sample_document();
        doc.incidents[4].category = "<script>alert(1)</script>".into();
        doc.incidents[4].summary = Some("<img src=x onerror=alert(2)>".into());
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(!out.contains("<script") && !out.contains("<img"), "{out}");
        assert!(out.contains("alert(1)") && out.contains("onerror=alert(2)"));
    }

    /// Only http, https and doi citations become links, whatever the log
    /// holds; anything else is escaped text.
    #[test]
    fn citations_are_links_only_for_accepted_schemes() {
        let hostile = [
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "https://evil.example/\" onmouseover=\"alert(1)",
        ];
        for c in hostile {
            let mut doc = sample_document();
            doc.incidents[4].sources[0].citation = Some(c.into());
            let out = text(export_document::<Html>(&doc, &[]).unwrap());
            let links: Vec<&str> = out
                .split("href=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .collect();
            assert!(
                links.iter().all(|l| l.starts_with("https://")
                    || l.starts_with("http://")
                    || l.starts_with('#')),
                "{c}: {links:?}"
            );
            assert!(!out.contains("onmouseover=\""), "{c}");
        }
        let mut doc = sample_document();
        doc.incidents[4].sources[0].citation = Some("doi:10.1000/182".into());
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(
            out.contains("<a href=\"https://doi.org/10.1000/182\">"),
            "{out}"
        );
    }

    #[test]
    fn self_contained() {
        let out = text(export_sample::<Html>(&[]).unwrap());
        // No scripts, stylesheets, images or fonts from elsewhere: the only
        // URLs are the citations' links and the SVG namespace.
        for needle in ["<script", "<link", "<img", "@import", "url(", "<iframe"] {
            assert!(!out.contains(needle), "{needle}");
        }
        assert!(out.contains("<meta name=\"chronicle:log-seq\" content=\"15\">"));
        assert!(out.contains("<tr id=\"2020-07-30-puli-alam\" class=\"disputed\">"));
        // Each chart twice: for wide and for narrow screens.
        assert_eq!(out.matches("<svg ").count(), 4);
    }

    #[test]
    fn imprecise_dates_are_left_out_of_the_day_chart_and_said_so() {
        let mut doc = sample_document();
        doc.incidents[1].date = "2020-07".into();
        doc.incidents[1].date_start = "2020-07-01".into();
        doc.incidents[1].date_end = "2020-07-31".into();
        doc.incidents[1].date_precision = DatePrecision::Month;
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(out.contains("Not shown: 1 incident whose date is not known to the day."));
    }

    #[test]
    fn empty_document() {
        let mut doc = sample_document();
        doc.incidents.clear();
        doc.totals = totals_of(&doc.incidents);
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert!(out.contains("No incidents match this view."));
        assert!(!out.contains("<svg"));
    }

    #[test]
    fn a_sentence_repeated_in_many_notes_is_one_footnote() {
        let repeated = "The article gives no publication date; the incident date is used.";
        let mut doc = sample_document();
        for (k, i) in doc.incidents.iter_mut().enumerate().take(3) {
            i.sources[0].note = Some(if k == 1 {
                repeated.to_owned()
            } else {
                format!("Killed: soldiers {k}. {repeated}")
            });
        }
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert_eq!(out.matches(repeated).count(), 1, "{out}");
        assert!(out.contains(&format!(
            "<li id=\"note-1\">{} <span class=\"meta\">(in the notes of 3 reports)</span></li>",
            esc(repeated)
        )));
        assert_eq!(out.matches("<a href=\"#note-1\">[1]</a>").count(), 3);
        assert!(out.contains("<em>Killed: soldiers 0.</em><sup class=\"fn\">"));
        // A sentence in only two notes stays where it is.
        doc.incidents[2].sources[0].note = None;
        let out = text(export_document::<Html>(&doc, &[]).unwrap());
        assert_eq!(out.matches(repeated).count(), 2);
        assert!(!out.contains("note-1"));
    }

    #[test]
    fn notes_are_cut_into_sentences() {
        assert_eq!(
            sentences("Killed: soldiers. No wounded figure given. The U.S. said so."),
            [
                "Killed: soldiers.",
                "No wounded figure given.",
                "The U.S. said so."
            ]
        );
        assert_eq!(
            sentences("one sentence, no stop"),
            ["one sentence, no stop"]
        );
        assert_eq!(sentences("Ends. "), ["Ends."]);
        assert!(sentences("").is_empty());
    }

    #[test]
    fn charts_have_axis_titles_and_a_narrow_drawing() {
        let out = text(export_sample::<Html>(&[]).unwrap());
        assert_eq!(out.matches("class=\"axis-title\"").count(), 8);
        assert!(out.contains(">Day of the month</text>"));
        assert!(out.contains(">Province</text>"));
        assert_eq!(
            out.matches("<div class=\"chart narrow\"><svg viewBox=\"0 0 360 ")
                .count(),
            2
        );
        assert_eq!(cut("Maidan Wardak", 12), "Maidan Ward…");
        assert_eq!(cut("Logar", 12), "Logar");
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(
            [1, 3, 17, 45, 50, 51, 104].map(nice_ceiling),
            [1, 5, 20, 50, 50, 100, 200]
        );
    }
}
