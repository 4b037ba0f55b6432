//! The `markdown` export format: an encyclopedia-style chronology.
//!
//! Layout: a provenance comment; a title; an infobox-like summary table
//! (date span, places, incidents, fatalities and injuries overall and per
//! province, as ranges); a dated list of incidents, each with every
//! source's figures as reported and a footnote reference to its citation;
//! the references; a provenance footer line; the log's checkpoint (the note
//! a newspaper prints, in a code block) and how a reader checks it.
//!
//! A count that rests on coded figures only (ACLED's "Unknown fatalities
//! coded as 3": no source stated a number) reads `3 (coded)`, and the note
//! under the summary table says what that means and that the totals count
//! it as its value.
//!
//! Options: none.
//!
//! Streamed (plugin ABI 2, two passes): the title and the summary table need the date span,
//! the countries and the number of disputed and coded incidents, so pass 0 gathers them;
//! pass 1 writes the head, then each incident's section as it comes; the references and the
//! footer end the export. Held in memory: those aggregates and the references (one line
//! per distinct citation, which the list at the end needs), never the incidents.

use chronicle_plugin_sdk::safe::citation_link;
use chronicle_plugin_sdk::view::human_date;
use chronicle_plugin_sdk::{
    DocumentHead, Figure, Incident, LogCheckpoint, Options, Range, SourceFigures, StreamExporter,
    ViewDocument,
};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The Markdown exporter: an export in progress.
#[derive(Debug, Default)]
pub struct Markdown {
    /// The document without its incidents.
    head: Option<ViewDocument>,
    /// Gathered in pass 0.
    seen: Seen,
    /// The references cited so far (pass 1).
    notes: Notes,
}

/// What the head of the chronology needs to know about all its incidents.
#[derive(Debug, Default)]
struct Seen {
    incidents: u64,
    /// The earliest `date_start` and the latest `date_end`.
    first: Option<String>,
    last: Option<String>,
    countries: BTreeSet<String>,
    disputed: u64,
    coded: u64,
}

impl StreamExporter for Markdown {
    const NAME: &'static str = "markdown";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const EXTENSION: &'static str = "md";
    const DESCRIPTION: &'static str =
        "Encyclopedia-style chronology: summary box, dated incidents, every source's figures, references";
    const TEXT: bool = true;
    const PASSES: u32 = 2;

    fn begin(head: &DocumentHead, options: &Options) -> Result<Self, String> {
        options.check_known(&[])?;
        Ok(Markdown {
            head: Some(head.document()),
            ..Markdown::default()
        })
    }

    fn start_pass(&mut self, pass: u32, out: &mut dyn std::io::Write) -> Result<(), String> {
        if pass == 1 {
            let doc = self.head.as_ref().ok_or("no head")?;
            let text = head_text(doc, &self.seen);
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
            let s = &mut self.seen;
            s.incidents += 1;
            if s.first.as_deref().is_none_or(|f| i.date_start.as_str() < f) {
                s.first = Some(i.date_start.clone());
            }
            if s.last.as_deref().is_none_or(|l| i.date_end.as_str() > l) {
                s.last = Some(i.date_end.clone());
            }
            if let Some(c) = &i.country {
                if !s.countries.contains(c) {
                    s.countries.insert(c.clone());
                }
            }
            s.disputed += u64::from(i.disputed);
            s.coded += u64::from(has_coded(i));
            return Ok(());
        }
        let mut text = String::new();
        incident_section(&mut text, i, &mut self.notes);
        out.write_all(text.as_bytes()).map_err(|e| e.to_string())
    }

    fn finish(self, out: &mut dyn std::io::Write) -> Result<(), String> {
        let doc = self.head.as_ref().ok_or("no head")?;
        if self.seen.incidents > 0 {
            self.notes.write(out).map_err(|e| e.to_string())?;
        }
        let text = tail_text(doc);
        out.write_all(text.as_bytes()).map_err(|e| e.to_string())
    }
}

// Also `impl Exporter for Markdown` (the whole document at once, what the tests run): the
// streamed code, fed every incident.
chronicle_plugin_sdk::export_stream_plugin!(Markdown);

/// Escape text for Markdown inline content (CommonMark backslash escapes
/// for every character that could start markup, including raw HTML).
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Text safe inside an HTML comment (no `--`, no `>` right after it).
fn comment_safe(text: &str) -> String {
    let mut s = text.replace("--", "- -");
    while s.contains("--") {
        s = s.replace("--", "- -");
    }
    s.replace('>', "&gt;")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn provenance_line(doc: &ViewDocument) -> String {
    let p = &doc.provenance;
    let mut line = format!(
        "log checkpoint seq {} (hash {}), {}, policy {}, generated by {}, exported by the {} plugin {}",
        p.log_seq,
        p.log_hash.as_deref().unwrap_or("none"),
        p.point.describe(),
        p.policy.best,
        p.generator,
        <Markdown as StreamExporter>::NAME,
        <Markdown as StreamExporter>::VERSION
    );
    let filters = p.filters.entries();
    if !filters.is_empty() {
        let f: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(line, ", filters {}", f.join(", "));
    }
    line
}

/// Footnotes, numbered in order of first use; identical references share
/// a number. Each text is held once (the references at the end list them all).
#[derive(Debug, Default)]
struct Notes {
    /// Each text's number, so that citing stays linear in the number of sources.
    numbers: std::collections::HashMap<String, usize>,
}

impl Notes {
    fn cite(&mut self, s: &SourceFigures) -> usize {
        let mut text = esc(&s.source);
        if let Some(p) = &s.published {
            let _ = write!(text, ", {}", esc(&human_date(p)));
        }
        text.push('.');
        // A link only for http, https and doi citations, whatever the log holds.
        match s.citation.as_deref().map(|c| (c, citation_link(c))) {
            Some((_, Some(url))) => {
                let _ = write!(text, " <{}>", url.replace(['<', '>', ' '], ""));
            }
            Some((c, None)) => {
                let _ = write!(text, " {}", esc(c));
            }
            None => text.push_str(" No citation recorded."),
        }
        if let Some(&n) = self.numbers.get(&text) {
            return n;
        }
        let n = self.numbers.len() + 1;
        self.numbers.insert(text, n);
        n
    }

    /// The references section, a line at a time (at a million events it is tens of MB: it
    /// is never built whole).
    fn write(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        if self.numbers.is_empty() {
            return Ok(());
        }
        let mut list: Vec<(usize, &str)> = self
            .numbers
            .iter()
            .map(|(text, n)| (*n, text.as_str()))
            .collect();
        list.sort_unstable();
        writeln!(out, "## References\n")?;
        for (n, text) in list {
            writeln!(out, "[^{n}]: {text}")?;
        }
        writeln!(out)
    }
}

fn figure_text(f: &Figure, what: &str) -> String {
    format!("{} {what}", esc(&f.text))
}

fn source_line(s: &SourceFigures, note: usize) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &s.killed {
        parts.push(figure_text(f, "killed"));
    }
    if let Some(f) = &s.wounded {
        parts.push(figure_text(f, "wounded"));
    }
    if let Some(f) = &s.attackers_killed {
        if f.text.contains("attacker") {
            parts.push(figure_text(f, "killed"));
        } else {
            parts.push(figure_text(f, "attackers killed"));
        }
    }
    let figures = if parts.is_empty() {
        "no figures".to_owned()
    } else {
        parts.join(", ")
    };
    let mut line = format!("- {}", esc(&s.source));
    if let Some(p) = &s.published {
        let _ = write!(line, " ({})", esc(&human_date(p)));
    }
    let _ = write!(line, ": {figures}");
    if s.corrected {
        line.push_str(" (corrected)");
    }
    line.push('.');
    if let Some(n) = &s.note {
        let _ = write!(line, " *{}*", esc(n.trim()));
    }
    let _ = write!(line, "[^{note}]");
    for r in &s.revisions {
        let _ = write!(
            line,
            "\n  - Revised: {}.",
            esc(r.describe().trim_end_matches('.'))
        );
    }
    line
}

/// `first recorded on 30 July 2020, last changed at log seq 14 on 31 July 2020`: the dates
/// when the document has them (a chronicle before they existed wrote none).
fn life_line(i: &Incident) -> String {
    let day = |t: &str| esc(&human_date(t.get(..10).unwrap_or(t)));
    let mut line = String::new();
    if let Some(first) = &i.first_recorded {
        let _ = write!(line, "first recorded on {}, ", day(first));
    }
    let _ = write!(line, "last changed at log seq {}", i.last_seq);
    if let (Some(_), Some(last)) = (&i.first_recorded, &i.last_recorded) {
        let _ = write!(line, " on {}", day(last));
    }
    line
}

/// Does an incident have a count that rests on coded figures only?
fn has_coded(i: &Incident) -> bool {
    i.killed.coded || i.wounded.coded || i.attackers_killed.coded
}

fn ranges_line(i: &Incident) -> String {
    let mut parts = vec![
        format!("**Killed:** {}", i.killed.describe()),
        format!("**Wounded:** {}", i.wounded.describe()),
    ];
    if !i.attackers_killed.is_unknown() {
        parts.push(format!(
            "**Attackers killed:** {}",
            i.attackers_killed.describe()
        ));
    }
    format!("- {}", parts.join("; "))
}

fn incident_section(out: &mut String, i: &Incident, notes: &mut Notes) {
    let _ = writeln!(
        out,
        "### {} – {}\n",
        esc(&human_date(&i.date)),
        esc(&i.place())
    );
    let mut lead = format!("**{}.**", esc(&capitalize(&i.category)));
    if let Some(t) = &i.target {
        let _ = write!(lead, " Target: {}.", esc(t));
    }
    if let Some(p) = &i.perpetrator {
        let _ = write!(lead, " Perpetrator: {}.", esc(p));
    }
    if let Some(s) = &i.summary {
        let _ = write!(lead, " {}", esc(s.trim()));
    }
    let _ = writeln!(out, "{lead}\n");
    let _ = writeln!(out, "{}", ranges_line(i));
    let by_status: Vec<String> = [
        ("killed", &i.killed_by_status),
        ("wounded", &i.wounded_by_status),
    ]
    .into_iter()
    .filter_map(|(noun, by)| by.describe().map(|d| format!("{noun}: {d}")))
    .collect();
    if !by_status.is_empty() {
        let _ = writeln!(out, "- **By status:** {}.", by_status.join("; "));
    }
    if i.disputed {
        let _ = writeln!(out, "- **Disputed:** the sources' figures disagree.");
    }
    if let Some(g) = &i.grade {
        let _ = writeln!(out, "- **Grade:** {}.", esc(&g.prose()));
    }
    if let Some(a) = i.adjudication.as_ref().filter(|a| a.applied) {
        let _ = writeln!(
            out,
            "- **Adjudicated:** {} (log seq {}, {}).",
            esc(a.prose().trim()),
            a.event_seq,
            esc(&human_date(
                a.recorded_at.get(..10).unwrap_or(&a.recorded_at)
            ))
        );
    }
    for s in &i.sources {
        let n = notes.cite(s);
        let _ = writeln!(out, "{}", source_line(s, n));
    }
    for r in &i.responsibility {
        let mut line = format!(
            "- **Responsibility:** {} {} it ({}",
            esc(&r.actor),
            r.stance.as_str(),
            esc(&r.source)
        );
        if let Some(p) = &r.published {
            let _ = write!(line, ", {}", esc(&human_date(p)));
        }
        line.push_str(").");
        let _ = writeln!(out, "{line}");
    }
    if !i.merged_from.is_empty() {
        let ids: Vec<String> = i.merged_from.iter().map(|m| format!("`{m}`")).collect();
        let _ = writeln!(out, "- Merged from {}.", ids.join(", "));
    }
    for r in &i.redactions {
        let _ = writeln!(
            out,
            "- **Redacted:** {} (log seq {}) erased on {} (log seq {}): {}.",
            r.kind_prose(),
            r.event_seq,
            esc(&human_date(r.redacted_on())),
            r.redaction_seq,
            esc(r.reason.trim())
        );
    }
    let _ = writeln!(out, "- Incident `{}`, {}.", i.incident, life_line(i));
    out.push('\n');
}

/// The date span of the document, as an encyclopedia writes it.
fn span(seen: &Seen) -> Option<String> {
    let (start, end) = (seen.first.as_deref()?, seen.last.as_deref()?);
    Some(if start == end {
        human_date(start)
    } else {
        human_date(&format!("{start}/{end}"))
    })
}

fn places(doc: &ViewDocument, seen: &Seen) -> String {
    let provinces: Vec<String> = doc.totals.by_province.iter().map(|g| esc(&g.key)).collect();
    let noun = if provinces.len() == 1 {
        "province"
    } else {
        "provinces"
    };
    let mut text = format!("{} {noun}", join_and(&provinces));
    if !seen.countries.is_empty() {
        let c: Vec<String> = seen.countries.iter().map(|c| esc(c)).collect();
        let _ = write!(text, ", {}", join_and(&c));
    }
    text
}

fn per_province(doc: &ViewDocument, pick: fn(&chronicle_plugin_sdk::Group) -> &Range) -> String {
    let parts: Vec<String> = doc
        .totals
        .by_province
        .iter()
        .filter(|g| !pick(g).is_unknown())
        .map(|g| format!("{} {}", esc(&g.key), pick(g).describe()))
        .collect();
    if parts.is_empty() {
        "not reported".to_owned()
    } else {
        parts.join("<br>")
    }
}

/// Render the whole document.
pub fn render(doc: &ViewDocument) -> String {
    let out =
        chronicle_plugin_sdk::stream::export_stream_document::<Markdown>(doc, &Options::default())
            .unwrap_or_default();
    String::from_utf8(out).unwrap_or_default()
}

/// Everything before the first incident's section: the provenance comment, the title, the
/// summary table and its notes (`doc` is the head, `seen` what pass 0 gathered).
fn head_text(doc: &ViewDocument, seen: &Seen) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!-- chronicle export: {} -->\n",
        comment_safe(&provenance_line(doc))
    );
    let title = match span(seen) {
        Some(s) => format!("Chronology: {s}"),
        None => "Chronology".to_owned(),
    };
    let _ = writeln!(out, "# {}\n", esc(&title));

    if seen.incidents == 0 {
        let _ = writeln!(out, "No incidents match this view.\n");
        return out;
    }
    let disputed = seen.disputed;
    let t = &doc.totals;
    let _ = writeln!(out, "| Summary | |\n|---|---|");
    let _ = writeln!(
        out,
        "| **Date** | {} |",
        span(seen).map(|s| esc(&s)).unwrap_or_default()
    );
    let _ = writeln!(out, "| **Location** | {} |", places(doc, seen));
    let _ = writeln!(
        out,
        "| **Incidents** | {}{} |",
        t.incidents,
        if disputed > 0 {
            format!(" ({disputed} with disputed figures)")
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "| **Fatalities** | {} |", t.killed.describe());
    let _ = writeln!(out, "| **Injuries** | {} |", t.wounded.describe());
    let _ = writeln!(
        out,
        "| **Fatalities by province** | {} |",
        per_province(doc, |g| &g.killed)
    );
    let _ = writeln!(
        out,
        "| **Injuries by province** | {} |\n",
        per_province(doc, |g| &g.wounded)
    );
    let _ = writeln!(
        out,
        "Figures are ranges over the sources' reports (low–high); \"best\" follows the {} \
         policy; \"14+\" means at least 14, possibly more.\n",
        esc(&doc.provenance.policy.best)
    );
    let coded = seen.coded;
    if coded > 0 {
        let _ = writeln!(
            out,
            "{} {} a count marked {}\n",
            coded,
            if coded == 1 {
                "incident has"
            } else {
                "incidents have"
            },
            esc(Range::CODED_NOTE)
        );
    }
    let _ = writeln!(out, "## Incidents\n");
    out
}

/// Everything after the references: the footer, the checkpoint.
fn tail_text(doc: &ViewDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "---\n\n*Exported from chronicle: {}.*",
        esc(&provenance_line(doc))
    );
    if let Some(c) = &doc.provenance.checkpoint {
        checkpoint_block(&mut out, c);
    }
    out
}

/// The checkpoint as the lines a newspaper prints, in a code block (verbatim: a reader
/// copies them into a file for `chronicle check-proof`), and how to check it.
fn checkpoint_block(out: &mut String, c: &LogCheckpoint) {
    // A fence longer than any run of backticks in the note (its origin is free text).
    let mut longest = 0;
    let mut run = 0;
    for ch in c.note.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let _ = writeln!(
        out,
        "\nThe log's checkpoint at this point ({} events):\n\n{fence}text\n{}{fence}\n\n{}",
        c.tree_size,
        c.note,
        c.how_to_check()
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

    #[test]
    fn sample_snapshot() {
        let out = text(export_sample::<Markdown>(&[]).unwrap());
        insta::assert_snapshot!("sample", out);
    }

    /// Through the version-2 ABI (one incident at a time, two passes) the bytes are the
    /// version-1 path's.
    #[test]
    fn the_streamed_path_gives_the_same_bytes() {
        use chronicle_plugin_sdk::testing::{export_stream_doc, sample_coded_document};
        let mut empty = sample_document();
        empty.incidents.clear();
        for doc in [sample_document(), sample_coded_document(), empty] {
            let whole = export_document::<Markdown>(&doc, &[]).unwrap();
            let streamed = export_stream_doc::<Markdown>(&doc, &[]).unwrap();
            assert_eq!(text(streamed), text(whole));
        }
    }

    #[test]
    fn deterministic_and_rejects_options() {
        assert_eq!(
            export_sample::<Markdown>(&[]),
            export_sample::<Markdown>(&[])
        );
        let err = export_sample::<Markdown>(&[("layout", "x")]).unwrap_err();
        assert!(err.contains("takes no options"), "{err}");
    }

    /// An adjudication in force says so on its incident, its reason (user text) escaped;
    /// one the policy does not apply is not shown as the best.
    #[test]
    fn adjudication_is_shown_escaped() {
        let mut doc = sample_document();
        let mut a = chronicle_plugin_sdk::testing::sample_adjudication(
            "the *ministry* [x](javascript:1) undercounts",
        );
        doc.incidents[4].adjudication = Some(a.clone());
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        let line = out.lines().find(|l| l.contains("Adjudicated")).unwrap();
        insta::assert_snapshot!("adjudication_line", line);
        assert!(
            !line.contains("*ministry*") && !line.contains("[x]("),
            "{line}"
        );
        a.applied = false;
        doc.incidents[4].adjudication = Some(a);
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        assert!(!out.contains("Adjudicated"), "{out}");
    }

    /// An incident's figures by status are one line, killed then wounded; a part not broken
    /// down is named unless it is none; an incident without statuses has no such line.
    #[test]
    fn figures_by_status_are_one_line() {
        let mut doc = sample_document();
        let by = &mut doc.incidents[0].killed_by_status;
        by.civilians = Some(Range::exact(3));
        by.security_forces = Some(Range {
            low: Some(8),
            best: Some(12),
            high: Some(17),
            open_high: false,
            coded: false,
        });
        by.unattributed = Some(Range::exact(2));
        doc.incidents[0].wounded_by_status.civilians = Some(Range::exact(5));
        doc.incidents[0].wounded_by_status.unattributed = Some(Range::exact(0));
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        let lines: Vec<&str> = out.lines().filter(|l| l.contains("By status")).collect();
        assert_eq!(
            lines,
            ["- **By status:** killed: civilians 3, security forces 8–17 (best 12), not broken down 2; wounded: civilians 5."]
        );
        // Only open (0+): none known is not none.
        doc.incidents[0].wounded_by_status.unattributed = Some(Range {
            open_high: true,
            ..Range::exact(0)
        });
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        assert!(
            out.contains("wounded: civilians 5, possibly more not broken down."),
            "{out}"
        );
    }

    /// A count that rests on coded figures only reads `3 (coded)`, with a note under the
    /// summary; the others, and a document without one, are as they were.
    #[test]
    fn a_coded_count_is_marked_and_explained() {
        let doc = chronicle_plugin_sdk::testing::sample_coded_document();
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        let marked: Vec<&str> = out.lines().filter(|l| l.contains("(coded)")).collect();
        insta::assert_snapshot!("coded", marked.join("\n"));
        assert!(!text(export_sample::<Markdown>(&[]).unwrap()).contains("coded"));
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
                reason: "a victim's *name* [x](javascript:1)".into(),
            });
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        let line = out.lines().find(|l| l.contains("Redacted")).unwrap();
        insta::assert_snapshot!("redaction_line", line);
        assert!(!line.contains("*name*") && !line.contains("[x]("), "{line}");
    }

    #[test]
    fn empty_document() {
        let mut doc = sample_document();
        doc.incidents.clear();
        doc.totals = totals_of(&doc.incidents);
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        insta::assert_snapshot!("empty", out);
    }

    #[test]
    fn markup_in_text_is_escaped() {
        let mut doc = sample_document();
        doc.incidents[0].summary = Some("<script>alert(1)</script> *bold* [link](x) | pipe".into());
        doc.provenance.filters.source = Some("a --> b".into());
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        assert!(out.contains(r"\<script\>alert(1)\</script\> \*bold\* \[link\](x) \| pipe"));
        assert!(!out.contains("<script>"));
        let comment = out.lines().next().unwrap();
        assert!(comment.starts_with("<!-- ") && comment.ends_with(" -->"));
        assert_eq!(comment.matches("--").count(), 2, "{comment}");
    }

    /// The cases tried on main before issue 16, pinned: a `<script>`
    /// category and an `<img onerror>` summary are text, not markup.
    #[test]
    fn script_category_and_img_onerror_summary_are_text() {
        let mut doc = sample_document();
        doc.incidents[4].category = "<script>alert(1)</script>".into();
        doc.incidents[4].summary = Some("<img src=x onerror=alert(2)>".into());
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        assert!(out.contains(r"\<script\>alert(1)\</script\>"), "{out}");
        assert!(out.contains(r"\<img src=x onerror=alert(2)\>"), "{out}");
        let unescaped = out.replace(r"\<", "");
        assert!(!unescaped.contains("<script") && !unescaped.contains("<img"));
    }

    /// Only http, https and doi citations become links, whatever the log
    /// holds; anything else is text.
    #[test]
    fn citations_are_links_only_for_accepted_schemes() {
        let hostile = [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "https://evil.example/ x",
        ];
        for c in hostile {
            let mut doc = sample_document();
            doc.incidents[4].sources[0].citation = Some(c.into());
            let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
            assert!(!out.contains(&format!("<{}", c.trim())), "{c}: {out}");
            assert!(
                !out.contains("<javascript") && !out.contains("<data:"),
                "{c}"
            );
        }
        let mut doc = sample_document();
        doc.incidents[4].sources[0].citation = Some("doi:10.1000/182".into());
        let out = text(export_document::<Markdown>(&doc, &[]).unwrap());
        assert!(out.contains("<https://doi.org/10.1000/182>"), "{out}");
    }
}
