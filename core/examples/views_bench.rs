//! Measures time travel against a full rebuild on a large log.
//!
//! `cargo run --release -p chronicle-core --example views_bench -- [EVENTS] [PATH]`
//!
//! Builds a log of about EVENTS events (default 100 000) in realistic shapes (each incident:
//! a first report, three sources' figures, a correction, a denial; every 10th an amendment,
//! every 20th a retraction, every 50th a merge of a duplicate), then times a full rebuild of
//! the views and `timeline --at-seq` at the middle of the log, and prints the ratio.

use std::time::Instant;

use chronicle_core::views::{Point, Query};
use chronicle_core::{AppendContext, Clock, EventLine, EventLog, Location, NewEvent};
use serde_json::json;

fn ev(incident: &str, kind: &str, payload: serde_json::Value) -> NewEvent {
    EventLine::parse(&json!({"incident": incident, "kind": kind, "payload": payload}).to_string())
        .expect("bench event")
}

/// The events of incident `i`: a first report, three sources' reports, a correction, a
/// denial, and now and then an amendment or a merge into the incident before.
fn push_incident(batch: &mut Vec<NewEvent>, i: u64, provinces: &[&str]) {
    let id = format!("inc-{i}");
    let day = 1 + (i % 28);
    batch.push(ev(&id, "incident_reported", json!({
        "date": format!("2020-{:02}-{day:02}", 1 + (i / 28) % 12), "province": provinces[(i % 6) as usize],
        "category": "bombing"})));
    for (k, src) in ["AFP", "Ministry of Defense", "Local partner"]
        .iter()
        .enumerate()
    {
        batch.push(ev(
            &id,
            "casualties_reported",
            json!({
            "source": src, "published": format!("2020-{:02}-{day:02}", 1 + (i / 28) % 12),
            "killed": (i + k as u64 * 3) % 40, "wounded": format!("{}-{}", i % 10, i % 10 + 5)}),
        ));
    }
    batch.push(ev(
        &id,
        "casualties_corrected",
        json!({"source": "AFP", "killed": i % 40 + 2, "reason": "update"}),
    ));
    batch.push(ev(
        &id,
        "responsibility_denied",
        json!({"actor": "Taliban", "source": "Taliban spokesman"}),
    ));
    if i % 10 == 0 {
        batch.push(ev(
            &id,
            "incident_amended",
            json!({"district": "Centre", "reason": "fix"}),
        ));
    }
    if i % 50 == 1 {
        batch.push(ev(
            &id,
            "incident_merged",
            json!({"into": format!("inc-{}", i - 1), "reason": "dup"}),
        ));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let target: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let path = args.get(2).cloned().unwrap_or_else(|| {
        std::env::temp_dir()
            .join("chronicle-views-bench.db")
            .display()
            .to_string()
    });
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(format!("{path}-wal"));
    let (mut log, _) = EventLog::init(&path)?;
    let provinces = ["Logar", "Kunduz", "Ghazni", "Kabul", "Helmand", "Kandahar"];
    let mut t = "2020-01-01T00:00:00Z".parse::<chrono::DateTime<chrono::Utc>>()?;
    let started = Instant::now();
    let mut i = 0u64;
    let mut batch: Vec<NewEvent> = Vec::new();
    let mut appended = 0u64;
    while appended + (batch.len() as u64) < target {
        push_incident(&mut batch, i, &provinces);
        i += 1;
        if batch.len() >= 1000 {
            let ctx = AppendContext {
                clock: Clock::Fixed(t),
                ..AppendContext::new("bench")
            };
            appended += batch.len() as u64;
            log.append(&ctx, batch.drain(..).map(|e| Ok((Location::default(), e))))?;
            t += chrono::Duration::minutes(1);
        }
    }
    if !batch.is_empty() {
        let ctx = AppendContext {
            clock: Clock::Fixed(t),
            ..AppendContext::new("bench")
        };
        log.append(&ctx, batch.drain(..).map(|e| Ok((Location::default(), e))))?;
    }
    let head = log.head()?.map_or(0, |h| h.seq);
    println!(
        "appended {head} events ({i} incidents) with incremental views in {:.2?}",
        started.elapsed()
    );

    let started = Instant::now();
    let n = log.rebuild_views()?;
    let rebuild = started.elapsed();
    println!("full rebuild of {n} events: {rebuild:.2?}");

    let mid = head / 2;
    let q = Query {
        point: Point::AtSeq(mid),
        ..Query::default()
    };
    let started = Instant::now();
    let incidents = log.timeline(&q)?;
    let travel = started.elapsed();
    println!(
        "timeline --at-seq {mid}: {} incidents in {travel:.2?}",
        incidents.len()
    );
    let started = Instant::now();
    let shown = log.show("inc-100", &q)?;
    println!(
        "show inc-100 --at-seq {mid}: {:.2?} (killed {:?})",
        started.elapsed(),
        shown.killed
    );
    println!(
        "ratio at-seq / rebuild = {:.4} (rebuild is {:.0}x slower)",
        travel.as_secs_f64() / rebuild.as_secs_f64(),
        rebuild.as_secs_f64() / travel.as_secs_f64()
    );
    Ok(())
}
