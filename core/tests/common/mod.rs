//! Helpers shared by the view tests.
#![allow(dead_code, clippy::unwrap_used)]

use chronicle_core::{AppendContext, Clock, EventLine, EventLog, Location};
use chrono::{DateTime, Utc};

/// Appends JSON Lines events as one batch, recorded at `at` by `who`. The scenarios choose
/// recorded and published times independently (a claim may be dated after the moment the
/// test records it), so the plausibility rules are waived: they are tested on their own.
pub fn append_at(log: &mut EventLog, at: &str, who: &str, lines: &[String]) {
    let ctx = AppendContext {
        clock: Clock::Fixed(at.parse::<DateTime<Utc>>().unwrap()),
        allow_implausible: true,
        ..AppendContext::new(who)
    };
    let events: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok((
                Location::line("test", i as u64 + 1),
                EventLine::parse(l).unwrap(),
            ))
        })
        .collect();
    log.append(&ctx, events).unwrap();
}

/// Every view table's rows, in a fixed order, as text.
pub fn dump_views(log: &EventLog) -> String {
    // The test reads the tables directly, through a connection of its own.
    let conn = rusqlite::Connection::open(log.path()).unwrap();
    let mut out = String::new();
    for (table, order) in [
        ("views_meta", "key"),
        ("view_incident_ids", "incident"),
        ("view_incidents", "incident"),
        ("view_states", "incident"),
        ("view_source_figures", "incident, source"),
        ("view_responsibility", "incident, event_seq"),
        ("view_sources", "source"),
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let cols = stmt.column_count();
        out.push_str(&format!("== {table}\n"));
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let cells: Vec<String> = (0..cols)
                .map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i).unwrap()))
                .collect();
            out.push_str(&cells.join("|"));
            out.push('\n');
        }
    }
    out
}
