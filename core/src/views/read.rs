//! The queries of the views, over any store: the point a query names, the incidents in view
//! there, and the documents and rows the commands print. `EventLog`'s view methods call
//! these.

use crate::domain::source::SourceType;
use crate::domain::time::format_recorded;
use crate::error::{Error, Invalid, Result};
use crate::store::{Reads, ViewRow};
use crate::streams::Streams;
use crate::views::described::SourceBook;
use crate::views::maintain::{checkpoint, compute, require_current};
use crate::views::{
    document_owned, point, reconcile, sources_of, state_order, summary_groups, summary_keys,
    BestPolicy, Document, Filter, Group, GroupBy, Incident, IncidentState, Marks, Point, Prepared,
    Query, Snapshot, SourceSummary, TimelineRow,
};

/// The views of one store, read at the points queries name.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    /// Where the log and the views are read.
    pub db: &'a dyn Reads,
}

impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("location", &self.db.location())
            .finish()
    }
}

impl Reader<'_> {
    /// The sequence number a point names. `seq:N` beyond the log is refused.
    pub fn resolve_point(&self, point: Point) -> Result<u64> {
        require_current(self.db)?;
        let head = self.db.head()?.map_or(0, |h| h.seq);
        match point {
            Point::Head => Ok(head),
            Point::AtSeq(n) if n <= head => Ok(n),
            Point::AtSeq(n) => Err(Invalid::new(
                "--at-seq",
                n,
                format!("the log has {head} events; give a sequence number from 0 to {head}"),
            )
            .into()),
            Point::AsOf(t) => self.db.last_seq_recorded_by(&format_recorded(t)),
        }
    }

    /// Fills each incident's `last_recorded`: when its `last_seq` event was recorded (one
    /// primary-key lookup per incident).
    fn fill_last_recorded(&self, incidents: &mut [Incident]) -> Result<()> {
        for i in incidents {
            i.last_recorded = self.db.recorded_at(i.last_seq)?;
        }
        Ok(())
    }

    /// The export document of a snapshot, with the incidents' recorded times.
    pub(crate) fn document_of(&self, snap: Snapshot, q: &Query) -> Result<Document> {
        let mut doc = document_owned(snap, q);
        self.fill_last_recorded(&mut doc.incidents)?;
        Ok(doc)
    }

    /// The query as the views apply it: its filter checked and its province normalised
    /// (see [`Reader::checked_filter`]). Every query of the views goes through here once.
    pub fn checked(&self, q: &Query) -> Result<Query> {
        let seq = self.resolve_point(q.point)?;
        let described = SourceBook::at(self.db, seq)?;
        refuse_types_not_described(&q.filter, &[&described], "at this point")?;
        Ok(Query {
            filter: self.checked_filter(&q.filter, &[seq])?,
            described,
            ..q.clone()
        })
    }

    /// What `--source-type` and `--exclude-parties` left out of a checked query's view:
    /// the sources whose figures were not reconciled and the incidents left with no
    /// source (among those the date, place and category filters keep). Empty without them.
    pub fn restriction(&self, q: &Query) -> Result<Restriction> {
        let mut out = Restriction::default();
        if !q.filter.restricts_sources() {
            return Ok(out);
        }
        self.each_prepared(q, &mut |s, prepared| {
            if let Prepared::NoSourceLeft = prepared {
                let d = &s.details;
                if q.filter
                    .admits_place(d.date.start, &d.province, &d.category)
                {
                    out.incidents.push(s.incident.clone());
                }
            }
            Ok(())
        })?;
        // The sources left out, from the states before the restriction.
        let all = Query {
            filter: Filter {
                source_types: Vec::new(),
                exclude_parties: false,
                ..q.filter.clone()
            },
            ..q.clone()
        };
        self.each_prepared(&all, &mut |s, _| {
            for src in &s.sources {
                if !q.filter.admits_source(src) {
                    if src.described.is_none() {
                        out.undescribed.insert(src.source.clone());
                    }
                    out.sources.insert(src.source.clone());
                }
            }
            Ok(())
        })?;
        out.incidents.sort();
        Ok(out)
    }

    /// `filter` as the views apply it: its days checked and its province normalised through
    /// the gazetteers as on write. A province no gazetteer knows is accepted as written
    /// when an incident in view at one of `seqs` is recorded in it (a place recorded with
    /// `--allow-unknown-place`) or when the filter allows unknown places; otherwise it is
    /// refused with the closest names: a filter that matches nothing because of a spelling
    /// must not give an answer.
    pub fn checked_filter(&self, filter: &Filter, seqs: &[u64]) -> Result<Filter> {
        let (filter, unknown) = filter.normalised()?;
        let (Some(unknown), Some(name)) = (unknown, filter.province.as_deref()) else {
            return Ok(filter);
        };
        if filter.allow_unknown_place {
            return Ok(filter);
        }
        for seq in seqs {
            let rows = point::rows_at(self.db, *seq)?;
            if rows.iter().any(|r| r.province.eq_ignore_ascii_case(name)) {
                return Ok(filter);
            }
        }
        Err(Invalid::new(
            "--province",
            name,
            format!(
                "unknown province {name:?}: the {} gazetteer does not know it and no incident in the log is recorded in it; {} Use a province name, alias or ISO 3166-2 code from the gazetteer, or pass --allow-unknown-place to match it as written.",
                unknown.country(),
                unknown.hint()
            ),
        )
        .into())
    }

    /// For a query that matched nothing: a `--category` or `--source` that no incident of the
    /// log has (at its head, whatever the point) is refused with the closest names, so that a
    /// spelling never reads as "no incidents". A name the log holds is a genuine empty answer.
    pub(crate) fn refuse_names_not_in_log(&self, filter: &Filter) -> Result<()> {
        if filter.category.is_none() && filter.source.is_none() {
            return Ok(());
        }
        let head = self.views_checkpoint()?;
        if let Some(category) = &filter.category {
            let known: std::collections::BTreeSet<String> = point::rows_at(self.db, head)?
                .into_iter()
                .map(|r| r.category)
                .collect();
            unknown_name("--category", "category", category, &known)?;
        }
        if let Some(source) = &filter.source {
            let mut known = std::collections::BTreeSet::new();
            point::each_state_at(self.db, head, &mut |s| {
                known.extend(s.sources.into_iter().map(|x| x.source));
                known.extend(s.responsibility.into_iter().map(|r| r.source));
                Ok(())
            })?;
            unknown_name("--source", "source", source, &known)?;
        }
        Ok(())
    }

    /// The incidents in view for a query: the states at its point, restricted to what was
    /// published by `known_by` if given, filtered and sorted. A `--best source:NAME` whose
    /// source gave no figures in view is refused.
    pub fn snapshot(&self, q: &Query) -> Result<Snapshot> {
        self.scope(&self.checked(q)?)
    }

    /// [`Reader::snapshot`] of a checked query.
    pub(crate) fn scope(&self, q: &Query) -> Result<Snapshot> {
        self.sorted(|each| self.each_in_scope(q, each))
    }

    /// The states `visit` gives (it returns the point's sequence number), sorted, with the
    /// point's hash.
    fn sorted(
        &self,
        visit: impl FnOnce(&mut dyn FnMut(IncidentState) -> Result<()>) -> Result<u64>,
    ) -> Result<Snapshot> {
        let mut states = Vec::new();
        let seq = visit(&mut |s| {
            states.push(s);
            Ok(())
        })?;
        states.sort_by(state_order);
        Ok(Snapshot {
            seq,
            hash: self.db.hash_at(seq)?,
            states,
        })
    }

    /// The states in scope of a checked query, one at a time and in no particular order
    /// (only the states `each` keeps are held); then the checks of [`Reader::snapshot`]: a
    /// name that matched nothing, a `--best source:NAME` that gave no figures in view.
    /// Returns the point's sequence number.
    pub(crate) fn each_in_scope(
        &self,
        q: &Query,
        each: &mut dyn FnMut(IncidentState) -> Result<()>,
    ) -> Result<u64> {
        let mut any = false;
        let mut named = SourcesSeen::new(&q.best);
        let seq = self.each_in_view(q, &mut |s| {
            any = true;
            named.see(&s);
            each(s)
        })?;
        if !any {
            self.refuse_names_not_in_log(&q.filter)?;
        }
        named.check(self, &q.best)?;
        Ok(seq)
    }

    /// The states in view for a checked query, without checking its policy, sorted.
    pub(crate) fn states_in_view(&self, q: &Query) -> Result<Snapshot> {
        self.sorted(|each| self.each_in_view(q, each))
    }

    /// The states in view for a checked query, one at a time, in no particular order: at
    /// its point, restricted to what was published by `known_by` if given (each recomputed
    /// from its events, through one stream cache), filtered. Returns the point's sequence
    /// number.
    pub(crate) fn each_in_view(
        &self,
        q: &Query,
        each: &mut dyn FnMut(IncidentState) -> Result<()>,
    ) -> Result<u64> {
        self.each_prepared(q, &mut |s, prepared| match prepared {
            Prepared::Kept { .. } if q.filter.admits(&s) => each(s),
            _ => Ok(()),
        })
    }

    /// The states at a checked query's point, restricted to `known_by` if given, each
    /// prepared for the query ([`Query::prepare`]: its sources described, and restricted by
    /// `--source-type` / `--exclude-parties`), not yet filtered. Returns the point's seq.
    fn each_prepared(
        &self,
        q: &Query,
        each: &mut dyn FnMut(IncidentState, Prepared) -> Result<()>,
    ) -> Result<u64> {
        let seq = self.resolve_point(q.point)?;
        let mut streams = match q.known_by {
            Some(_) => Some(Streams::new(self.views_checkpoint()?)),
            None => None,
        };
        point::each_state_at(self.db, seq, &mut |s| {
            let s = match (q.known_by, streams.as_mut()) {
                (Some(t), Some(streams)) => {
                    match compute(streams, self.db, &s.incident, seq, Some(t), s.last_seq)? {
                        Some(k) => k,
                        None => return Ok(()),
                    }
                }
                _ => s,
            };
            let mut s = s;
            let prepared = q.prepare(&mut s);
            each(s, prepared)
        })?;
        Ok(seq)
    }

    /// One incident (`show`). A merged duplicate's id shows the incident it was merged into.
    pub fn show(&self, incident: &str, q: &Query) -> Result<Incident> {
        let seq = self.resolve_point(q.point)?;
        let mut streams = Streams::new(self.views_checkpoint()?);
        let root = streams.root_at(self.db, incident, seq)?;
        let state = point::state_of(self.db, &root, seq)?;
        let state = match (state, q.known_by) {
            (Some(s), Some(t)) => compute(&mut streams, self.db, &root, seq, Some(t), s.last_seq)?,
            (s, _) => s,
        };
        let q = &self.checked(q)?;
        let state = match state {
            Some(mut s) => match q.prepare(&mut s) {
                Prepared::Kept { .. } => Some(s),
                Prepared::NoSourceLeft => {
                    return Err(Invalid::new(
                        "incident",
                        incident,
                        format!(
                            "no source of this incident is left once {} applies, so there are no figures to show (show it without it to see every source)",
                            restriction_flags(&q.filter)
                        ),
                    )
                    .into())
                }
            },
            None => None,
        };
        if let Some(s) = &state {
            self.best_sources_reported(&q.best, &[std::slice::from_ref(s)])?;
        }
        if state.is_none() {
            if let Some(r) = point::erased_opening(self.db, &root, seq)? {
                return Err(point::erased_opening_error(&root, &r));
            }
        }
        let mut doc = state
            .map(|s| reconcile::incident_doc(&s, &q.best))
            .ok_or_else(|| {
                Error::Invalid(Invalid::new(
                    "incident",
                    incident,
                    "no such incident in view at this point (list the incidents with `chronicle timeline`)",
                ))
            })?;
        self.fill_last_recorded(std::slice::from_mut(&mut doc))?;
        Ok(doc)
    }

    /// The incidents in date order (`timeline`).
    pub fn timeline(&self, q: &Query) -> Result<Vec<Incident>> {
        self.timeline_of(&self.checked(q)?)
    }

    /// [`Reader::timeline`] of a checked query.
    fn timeline_of(&self, q: &Query) -> Result<Vec<Incident>> {
        let mut incidents: Vec<Incident> = self
            .scope(q)?
            .states
            .iter()
            .map(|s| reconcile::incident_doc(s, &q.best))
            .collect();
        self.fill_last_recorded(&mut incidents)?;
        Ok(incidents)
    }

    /// The incidents of a query as the columns of `view_incidents` give them, filtered and
    /// sorted like [`EventLog::snapshot`]; `None` when the query needs the whole states (a
    /// policy other than the default, `known_by`, a source filter). `q` is checked.
    fn rows(&self, q: &Query) -> Result<Option<Vec<ViewRow>>> {
        if q.known_by.is_some()
            || q.filter.restricts_sources()
            || q.best != BestPolicy::Median
            || q.filter.source.is_some()
            || !q.filter.statuses.is_empty()
            || !q.filter.grades.is_empty()
        {
            return Ok(None);
        }
        let seq = self.resolve_point(q.point)?;
        let mut rows = point::rows_at(self.db, seq)?;
        rows.retain(|r| {
            q.filter
                .admits_place(r.date_start, &r.province, &r.category)
        });
        if rows.is_empty() {
            self.refuse_names_not_in_log(&q.filter)?;
        }
        rows.sort_by(|a, b| {
            a.date_start
                .cmp(&b.date_start)
                .then_with(|| a.incident.cmp(&b.incident))
        });
        Ok(Some(rows))
    }

    /// The rows of the human `timeline`: read from the columns of the views when the query
    /// allows (see [`EventLog::timeline`] for the whole documents).
    pub fn timeline_rows(&self, q: &Query) -> Result<Vec<TimelineRow>> {
        let q = &self.checked(q)?;
        let rows = match self.rows(q)? {
            Some(rows) => rows
                .into_iter()
                .map(|r| TimelineRow {
                    date: r.date,
                    province: r.province,
                    category: r.category,
                    killed: r.killed,
                    wounded: r.wounded,
                    sources: r.sources,
                    disputed: r.disputed,
                    adjudicated: r.adjudicated,
                    incident: r.incident,
                })
                .collect(),
            None => self
                .timeline_of(q)?
                .iter()
                .map(|i| TimelineRow::counted(i, &q.filter.statuses))
                .collect(),
        };
        Ok(rows)
    }

    /// Totals grouped by a key (`summary`).
    pub fn summary(&self, q: &Query, by: GroupBy) -> Result<Vec<Group>> {
        let q = &self.checked(q)?;
        let statuses = &q.filter.statuses;
        // The common case reads the reconciled columns instead of every incident's state.
        let rows = match by {
            GroupBy::Source | GroupBy::Status | GroupBy::Grade => None,
            _ => self.rows(q)?,
        };
        let Some(rows) = rows else {
            // The states one at a time: only their keys and ranges are held.
            let mut keyed = Vec::new();
            let mut marks = Marks::new();
            self.each_in_scope(q, &mut |s| {
                summary_keys(&s, &q.best, by, statuses, &mut keyed, &mut marks);
                Ok(())
            })?;
            return Ok(summary_groups(keyed, by, statuses, &marks));
        };
        let mut marks = Marks::new();
        let keyed = rows.into_iter().map(|r| {
            let key = match by {
                GroupBy::Province => r.province,
                GroupBy::Month => r.date_start.format("%Y-%m").to_string(),
                _ => r.category,
            };
            if r.adjudicated {
                *marks.entry(key.clone()).or_default() += 1;
            }
            (key, r.killed, r.wounded)
        });
        let mut groups = reconcile::group(keyed.collect::<Vec<_>>());
        for g in &mut groups {
            g.adjudicated = marks.get(&g.key).copied().unwrap_or(0);
        }
        Ok(groups)
    }

    /// Per source: reports, corrections, incidents where it stands alone or disagrees.
    pub fn sources(&self, q: &Query) -> Result<Vec<SourceSummary>> {
        Ok(sources_of(&self.snapshot(q)?.states))
    }

    /// The last sequence number the views have applied.
    pub fn views_checkpoint(&self) -> Result<u64> {
        checkpoint(self.db)
    }
}

/// Refuses `name` (given to `flag`) when none of `known` matches it without regard to case,
/// naming the closest known names.
fn unknown_name(
    flag: &str,
    what: &str,
    name: &str,
    known: &std::collections::BTreeSet<String>,
) -> Result<()> {
    if known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
        return Ok(());
    }
    let lower = name.to_lowercase();
    let mut scored: Vec<(&String, f64)> = known
        .iter()
        .map(|k| (k, strsim::jaro_winkler(&lower, &k.to_lowercase())))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let closest: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(k, _)| format!("{k:?}"))
        .collect();
    let hint = if closest.is_empty() {
        format!("the log has no incident with a {what}")
    } else {
        format!(
            "the closest {what} names in the log: {}",
            closest.join(", ")
        )
    };
    Err(Invalid::new(
        flag,
        name,
        format!("no incident in the log has this {what}, so nothing can match it; {hint} (matched without regard to case)"),
    )
    .into())
}

/// What a pass over the states in view saw of the sources a `--best source:NAME` or a
/// ranked list `source:A>B>C` names: which of them gave figures in view, and while none
/// has, the sources that did (for the message).
struct SourcesSeen {
    names: Vec<String>,
    any: bool,
    found: std::collections::BTreeSet<String>,
    others: std::collections::BTreeSet<String>,
}

impl SourcesSeen {
    fn new(best: &BestPolicy) -> Self {
        SourcesSeen {
            names: best.named_sources().to_vec(),
            any: false,
            found: Default::default(),
            others: Default::default(),
        }
    }

    fn see(&mut self, s: &IncidentState) {
        self.any = true;
        if self.names.is_empty() || self.found.len() == self.names.len() {
            return;
        }
        for src in &s.sources {
            if self.names.contains(&src.source) {
                self.found.insert(src.source.clone());
            } else if self.found.is_empty() {
                self.others.insert(src.source.clone());
            }
        }
        if !self.found.is_empty() {
            self.others.clear();
        }
    }

    /// [`Reader::best_sources_reported`] of what was seen.
    fn check(self, reader: &Reader<'_>, best: &BestPolicy) -> Result<()> {
        if !self.any || self.names.is_empty() {
            return Ok(());
        }
        if self.found.is_empty() {
            return Err(best_source_missing(
                best,
                &self.names,
                self.others.iter().map(String::as_str),
            ));
        }
        let unseen: Vec<&String> = self
            .names
            .iter()
            .filter(|n| !self.found.contains(*n))
            .collect();
        if unseen.is_empty() {
            return Ok(());
        }
        // A ranked name that gave nothing in view must at least be a source of the log: a
        // misspelt name would silently never rank.
        let known = reader.sources_in_log()?;
        match unseen.into_iter().find(|n| !known.contains(*n)) {
            Some(name) => Err(best_source_unknown(best, name, &known)),
            None => Ok(()),
        }
    }
}

impl Reader<'_> {
    /// Refuses a `--best` that names sources (`source:NAME`, a ranked list) when none of
    /// them gave figures on the incidents in view (`views`: one list of states or several,
    /// e.g. a diff's two points), where the policy would silently be the median, naming
    /// the sources that did; and a ranked list naming a source that gave no figures in
    /// view and none anywhere in the log (a misspelling), naming the log's sources. Nothing
    /// is refused when nothing is in view.
    pub(crate) fn best_sources_reported(
        &self,
        best: &BestPolicy,
        views: &[&[IncidentState]],
    ) -> Result<()> {
        let mut seen = SourcesSeen::new(best);
        for s in views.iter().flat_map(|v| v.iter()) {
            seen.see(s);
        }
        seen.check(self, best)
    }

    /// Every source that has figures on some incident at the head of the log.
    fn sources_in_log(&self) -> Result<std::collections::BTreeSet<String>> {
        let head = self.views_checkpoint()?;
        let mut known = std::collections::BTreeSet::new();
        point::each_state_at(self.db, head, &mut |s| {
            known.extend(s.sources.into_iter().map(|x| x.source));
            Ok(())
        })?;
        Ok(known)
    }
}

/// The refusal of a `--best` naming sources (`names`) when none gave figures in view;
/// `known`: the sources that did.
fn best_source_missing<'s>(
    best: &BestPolicy,
    names: &[String],
    known: impl Iterator<Item = &'s str>,
) -> Error {
    let known: std::collections::BTreeSet<&str> = known.collect();
    let known = if known.is_empty() {
        "no source gave figures on the incidents in view".to_owned()
    } else {
        format!(
            "the sources with figures here are {}",
            known.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    let who = match names {
        [name] => format!("{name:?} gave no"),
        _ => format!(
            "none of {} gave",
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Invalid::new(
        "--best",
        best,
        format!(
            "{who} figures on the incidents in view, so the best figures would silently be the median; {known} (a source's name is matched exactly)"
        ),
    )
    .into()
}

/// The refusal of a ranked list naming `name`, which gave figures nowhere in the log;
/// `known`: the sources that did.
fn best_source_unknown(
    best: &BestPolicy,
    name: &str,
    known: &std::collections::BTreeSet<String>,
) -> Error {
    Invalid::new(
        "--best",
        best,
        format!(
            "{name:?} gave figures on no incident in the log, so it would never rank; the sources with figures in the log are {} (a source's name is matched exactly)",
            known.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        ),
    )
    .into()
}

/// What `--source-type` and `--exclude-parties` left out of a view ([`EventLog::restriction`](crate::EventLog::restriction)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// The sources whose figures were left out somewhere in scope.
    pub sources: std::collections::BTreeSet<String>,
    /// Those of them with no description (no recorded type).
    pub undescribed: std::collections::BTreeSet<String>,
    /// The incidents in scope left with no source, so not shown, by id.
    pub incidents: Vec<String>,
}

/// The restricting flags a filter has, as the user gave them (for messages).
pub(crate) fn restriction_flags(filter: &Filter) -> String {
    let mut flags = Vec::new();
    if !filter.source_types.is_empty() {
        let types: Vec<&str> = filter.source_types.iter().map(|t| t.as_str()).collect();
        flags.push(format!("--source-type {:?}", types.join(",")));
    }
    if filter.exclude_parties {
        flags.push("--exclude-parties".to_string());
    }
    flags.join(" and ")
}

/// Refuses a `--source-type` naming a type that no source is described as in any of
/// `books` (the descriptions in force at the point, or at each point of a `diff`; `at`
/// says where, for the message: "at this point", "at either point"): it could only ever
/// leave every figure out, and an empty view must not read as "no incidents of that kind
/// of source".
pub(crate) fn refuse_types_not_described(
    filter: &Filter,
    books: &[&SourceBook],
    at: &str,
) -> Result<()> {
    let described: std::collections::BTreeSet<SourceType> = books
        .iter()
        .flat_map(|book| book.iter().map(|(_, d)| d.kind))
        .collect();
    let Some(missing) = filter.source_types.iter().find(|t| !described.contains(t)) else {
        return Ok(());
    };
    let have = if described.is_empty() {
        format!("no source is described {at} (describe sources with `chronicle source set NAME --type TYPE`)")
    } else {
        format!(
            "the types sources are described as here: {} (see `chronicle sources`)",
            described
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(Invalid::new(
        "--source-type",
        missing.as_str(),
        format!("no source is described as {missing} {at}, so no figure could count; {have}"),
    )
    .into())
}
