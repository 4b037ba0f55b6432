//! # chronicle-bench
//!
//! A synthetic chronology generator for benchmarks: deterministic from a seed, it writes
//! JSON Lines in the schema `chronicle append` reads. Incidents spread over several years and
//! every province of the Afghanistan gazetteer; each has several sources, and some get
//! corrections, amendments, claims and denials of responsibility, retractions and merges.
//! Payloads are about 300 bytes, as in real chronologies.
//!
//! Events of neighbouring incidents interleave (reports on one incident keep arriving while
//! the next ones are reported), as they do in a real log. Every event carries its own id (a
//! time-ordered UUIDv7-shaped id derived from the seed and its position), so retractions can
//! name the event they retract and a re-run of the same import is idempotent.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use chronicle_core::gazetteer::Gazetteer;
use serde_json::{json, Value};

/// A small deterministic PRNG (SplitMix64): the same seed gives the same chronology on every
/// machine and every Rust version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SOURCES: &[&str] = &[
    "AFP",
    "Reuters",
    "Associated Press",
    "Pajhwok Afghan News",
    "TOLOnews",
    "Ministry of Interior",
    "Ministry of Defense",
    "Provincial governor's office",
    "UNAMA",
    "Khaama Press",
    "BBC Pashto",
    "Radio Azadi",
];

const CATEGORIES: &[(&str, &str)] = &[
    ("roadside bombing", "a roadside bomb struck"),
    ("suicide bombing", "a suicide bomber attacked"),
    ("suicide car bombing", "a car bomb exploded near"),
    ("checkpoint attack", "insurgents attacked"),
    ("airstrike", "an airstrike hit"),
    ("targeted killing", "gunmen shot"),
    (
        "magnetic bomb",
        "a magnetic bomb attached to a vehicle killed",
    ),
    ("rocket attack", "rockets landed near"),
];

const TARGETS: &[&str] = &[
    "police officers",
    "Afghan security forces checkpoints",
    "civilians",
    "a district government compound",
    "a wedding party",
    "a minibus carrying passengers",
    "a mosque during Friday prayers",
    "election workers",
];

const ACTORS: &[&str] = &[
    "Taliban",
    "Islamic State Khorasan Province",
    "Haqqani network",
];

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines (events) written.
    pub events: u64,
    /// Bytes written, newlines included.
    pub bytes: u64,
    /// Incidents reported.
    pub incidents: u64,
}

/// One incident's plan: its events in stream order, each with the slot at which it arrives.
struct Planned {
    slot: u64,
    order: u64,
    line: String,
}

impl PartialEq for Planned {
    fn eq(&self, other: &Self) -> bool {
        (self.slot, self.order) == (other.slot, other.order)
    }
}
impl Eq for Planned {}
impl PartialOrd for Planned {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Planned {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.slot, self.order).cmp(&(other.slot, other.order))
    }
}

/// The generator's state: incidents planned so far and the events not yet written.
struct Generator {
    rng: Rng,
    provinces: Vec<String>,
    next_id: u64,
    order: u64,
    pending: BinaryHeap<Reverse<Planned>>,
    /// Recent incidents that can take a merge: (index, id).
    mergeable: Vec<(u64, String)>,
    /// Days from the first incident to the last.
    span_days: u64,
    planned_incidents: u64,
}

/// What the events of one planned incident share.
struct Drawn {
    /// The incident's index.
    i: u64,
    /// Its day, counted from the first incident's.
    day: u64,
    date: String,
    target: &'static str,
    actor: &'static str,
    /// Its id.
    incident: String,
    /// The figures the sources' reports vary around.
    killed: u64,
    wounded: u64,
}

/// How far (in incidents) the events of one incident spread into those of later ones.
const WINDOW: u64 = 40;

fn date_of(day: u64) -> String {
    let start = chrono_days_from_civil(2015, 1, 1);
    civil_from_days(start + day as i64)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn chrono_days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

fn figure(rng: &mut Rng, base: u64) -> Value {
    match rng.below(10) {
        0 => json!(format!("at-least:{}", base.max(1))),
        1 => json!(format!("{}-{}", base, base + 1 + rng.below(10))),
        2 => {
            let high = base + 2 + rng.below(10);
            json!(format!("{}-{}~{}", base, high, base + 1))
        }
        _ => json!(base),
    }
}

impl Generator {
    fn id(&mut self) -> String {
        self.next_id += 1;
        let n = self.next_id;
        // UUIDv7-shaped and time-ordered: a fixed epoch plus the position, then the seed's bits.
        let millis = 1_600_000_000_000u64 + n;
        let tail = self.rng.next_u64() & 0x0000_FFFF_FFFF_FFFF;
        format!(
            "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
            millis >> 16,
            millis & 0xFFFF,
            (n >> 12) & 0xFFF,
            n & 0xFFF,
            tail
        )
    }

    fn push(&mut self, slot: u64, id: &str, incident: &str, kind: &str, payload: Value) {
        let line = json!({"id": id, "incident": incident, "kind": kind, "payload": payload});
        self.order += 1;
        self.pending.push(Reverse(Planned {
            slot,
            order: self.order,
            line: line.to_string(),
        }));
    }

    /// Plans incident `i`: its first report, several sources' figures, and sometimes
    /// corrections, claims, an amendment, a retraction or a merge into an earlier incident.
    /// Each part draws from the generator in turn, so their order fixes the output.
    fn plan(&mut self, i: u64) {
        let (drawn, first, details) = self.draw(i);
        let mut slot = i;
        self.push(slot, &first, &drawn.incident, "incident_reported", details);
        let reports = self.plan_reports(&drawn, &mut slot);
        let corrected = self.plan_correction(&drawn, &reports, &mut slot);
        self.plan_responsibility(&drawn, &mut slot);
        self.plan_amendment(&drawn, &mut slot);
        self.plan_retraction(&drawn, &reports, corrected, &mut slot);
        self.plan_merge(i, drawn.incident, &mut slot);
    }

    /// Draws incident `i`: what its events share, the id of its first report and that
    /// report's details.
    fn draw(&mut self, i: u64) -> (Drawn, String, Value) {
        let rng = &mut self.rng;
        let day = i * self.span_days / self.planned_incidents.max(1);
        let date = date_of(day);
        let province = rng.pick(&self.provinces).clone();
        let (category, verb) = *rng.pick(CATEGORIES);
        let target = *rng.pick(TARGETS);
        let actor = *rng.pick(ACTORS);
        let district = format!("District {}", 1 + rng.below(14));
        let incident = format!("{date}-{}-{i}", province.to_lowercase().replace(' ', "-"));
        let killed = rng.below(40);
        let wounded = rng.below(60);
        let first = self.id();
        let rng = &mut self.rng;
        let summary = format!(
            "In {district} of {province} province {verb} {target}; officials said the toll could rise as bodies were recovered and the wounded taken to the provincial hospital."
        );
        let mut details = json!({
            "date": date,
            "country": "Afghanistan",
            "province": province,
            "district": district,
            "category": category,
            "target": target,
            "perpetrator": format!("{actor} (alleged)"),
            "summary": summary,
            "source": "Pajhwok Afghan News",
            "citation": format!("https://example.invalid/news/{date}/{i}"),
        });
        if rng.chance(30) {
            if let Some(map) = details.as_object_mut() {
                map.insert(
                    "coordinates".into(),
                    json!({"lat": 31.0 + (rng.below(600) as f64) / 100.0, "lon": 62.0 + (rng.below(900) as f64) / 100.0, "precision": "district"}),
                );
            }
        }
        let drawn = Drawn {
            i,
            day,
            date,
            target,
            actor,
            incident,
            killed,
            wounded,
        };
        (drawn, first, details)
    }

    /// Two to five sources' figures; returns each report's (event id, source).
    fn plan_reports(&mut self, d: &Drawn, slot: &mut u64) -> Vec<(String, String)> {
        let (i, date, target) = (d.i, &d.date, d.target);
        let n_sources = 2 + self.rng.below(4) as usize;
        let start = self.rng.below(SOURCES.len() as u64) as usize;
        let mut reports: Vec<(String, String)> = Vec::new();
        for s in 0..n_sources {
            let source = SOURCES[(start + s) % SOURCES.len()];
            *slot += self.rng.below(WINDOW / 8);
            let id = self.id();
            let rng = &mut self.rng;
            let k = d.killed + rng.below(6);
            let published = date_of(d.day + rng.below(3));
            let w = d.wounded + rng.below(8);
            let payload = json!({
                "source": source,
                "published": published,
                "killed": figure(rng, k),
                "wounded": figure(rng, w),
                "note": format!("{source} quoted a provincial spokesman; casualties among {target}, figures may change as families report missing relatives."),
                "citation": format!("https://example.invalid/{}/{date}/{i}", source.to_lowercase().replace(' ', "-")),
            });
            self.push(*slot, &id, &d.incident, "casualties_reported", payload);
            reports.push((id, source.to_string()));
        }
        reports
    }

    /// Sometimes a source's correction of its report; returns which report it corrected.
    fn plan_correction(
        &mut self,
        d: &Drawn,
        reports: &[(String, String)],
        slot: &mut u64,
    ) -> Option<usize> {
        if !self.rng.chance(25) {
            return None;
        }
        let which = self.rng.below(reports.len() as u64) as usize;
        *slot += 1 + self.rng.below(WINDOW / 8);
        let id = self.id();
        let rng = &mut self.rng;
        let k = d.killed + 3 + rng.below(10);
        let published = date_of(d.day + 2 + rng.below(5));
        let payload = json!({
            "source": reports[which].1,
            "published": published,
            "killed": figure(rng, k),
            "reason": "the source raised its toll after hospital officials gave new figures",
            "note": "Revised figures after the provincial health directorate counted the dead.",
        });
        self.push(*slot, &id, &d.incident, "casualties_corrected", payload);
        Some(which)
    }

    /// Sometimes a claim or a denial by the alleged perpetrator.
    fn plan_responsibility(&mut self, d: &Drawn, slot: &mut u64) {
        if !self.rng.chance(30) {
            return;
        }
        let actor = d.actor;
        *slot += self.rng.below(WINDOW / 8);
        let id = self.id();
        let rng = &mut self.rng;
        let claimed = rng.chance(60);
        let payload = json!({
            "actor": actor,
            "source": format!("{actor} spokesman"),
            "published": date_of(d.day + rng.below(2)),
            "note": if claimed { "The group claimed the attack in a statement on social media." } else { "The group denied any involvement and blamed its rivals." },
        });
        let kind = if claimed {
            "responsibility_claimed"
        } else {
            "responsibility_denied"
        };
        self.push(*slot, &id, &d.incident, kind, payload);
    }

    /// Sometimes an amendment of the place.
    fn plan_amendment(&mut self, d: &Drawn, slot: &mut u64) {
        if !self.rng.chance(8) {
            return;
        }
        *slot += self.rng.below(WINDOW / 8);
        let id = self.id();
        let rng = &mut self.rng;
        let payload = json!({
            "district": format!("District {}", 1 + rng.below(14)),
            "locality": format!("Village {}", 1 + rng.below(90)),
            "reason": "district confirmed by the provincial police spokesman",
        });
        self.push(*slot, &id, &d.incident, "incident_amended", payload);
    }

    /// Sometimes a retraction of a report entered in error (never one that was corrected).
    fn plan_retraction(
        &mut self,
        d: &Drawn,
        reports: &[(String, String)],
        corrected: Option<usize>,
        slot: &mut u64,
    ) {
        if !self.rng.chance(4) {
            return;
        }
        if let Some(which) = (0..reports.len()).rev().find(|&w| corrected != Some(w)) {
            *slot += 1;
            let id = self.id();
            let payload = json!({
                "event": reports[which].0,
                "reason": "entered in error: the report was about another attack",
            });
            self.push(*slot, &id, &d.incident, "event_retracted", payload);
        }
    }

    /// Sometimes a duplicate of a recent incident: merged into it, as its last event.
    fn plan_merge(&mut self, i: u64, incident: String, slot: &mut u64) {
        if self.rng.chance(3) && !self.mergeable.is_empty() {
            let (_, into) = self.rng.pick(&self.mergeable).clone();
            *slot += 1;
            let id = self.id();
            let payload = json!({"into": into, "reason": "the same attack reported twice under different dates"});
            self.push(*slot, &id, &incident, "incident_merged", payload);
        } else {
            // Only incidents that are never merged take merges: they stay in force.
            self.mergeable.push((i, incident));
            if self.mergeable.len() > WINDOW as usize {
                self.mergeable.remove(0);
            }
        }
    }
}

/// Writes a chronology of exactly `events` events (JSON Lines, the `chronicle append`
/// schema) generated from `seed`. The same seed and size give the same bytes.
pub fn write_jsonl(seed: u64, events: u64, out: &mut impl Write) -> io::Result<Stats> {
    let provinces = Gazetteer::afghanistan()
        .provinces()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    // About 4.6 events per incident; eight years of incidents whatever the size.
    let planned_incidents = events * 10 / 46 + 1;
    let mut g = Generator {
        rng: Rng::new(seed),
        provinces,
        next_id: 0,
        order: 0,
        pending: BinaryHeap::new(),
        mergeable: Vec::new(),
        span_days: 8 * 365,
        planned_incidents,
    };
    let mut stats = Stats::default();
    let mut i = 0u64;
    while stats.events < events {
        g.plan(i);
        stats.incidents += 1;
        i += 1;
        // Every event planned for an earlier slot is due: incidents planned later start at
        // later slots, so nothing can come before it any more.
        while stats.events < events {
            let due = matches!(g.pending.peek(), Some(Reverse(p)) if p.slot < i);
            if !due {
                break;
            }
            if let Some(Reverse(p)) = g.pending.pop() {
                out.write_all(p.line.as_bytes())?;
                out.write_all(b"\n")?;
                stats.events += 1;
                stats.bytes += p.line.len() as u64 + 1;
            }
        }
    }
    Ok(stats)
}

/// The chronology as lines in memory (small sizes, tests).
pub fn lines(seed: u64, events: u64) -> Vec<String> {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_jsonl(seed, events, &mut buf);
    String::from_utf8_lossy(&buf)
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(date_of(0), "2015-01-01");
        assert_eq!(date_of(59), "2015-03-01");
        assert_eq!(date_of(365 + 366 + 365 + 59), "2018-03-01");
    }

    #[test]
    fn deterministic_and_exact_size() {
        let a = lines(7, 500);
        assert_eq!(a.len(), 500);
        assert_eq!(a, lines(7, 500));
        assert_ne!(a, lines(8, 500));
        let avg = a.iter().map(String::len).sum::<usize>() / a.len();
        assert!((250..=550).contains(&avg), "average line {avg} bytes");
    }

    #[test]
    fn every_event_appends() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gen.db");
        let (mut log, _) = chronicle_core::EventLog::init(&db).unwrap();
        let text = lines(3, 3000).join("\n");
        let ctx = chronicle_core::AppendContext::new("bench");
        let events = chronicle_core::jsonl::read_events(text.as_bytes(), "gen");
        let out = log.append(&ctx, events).unwrap();
        assert_eq!(out.len(), 3000);
        let kinds: std::collections::BTreeSet<_> = lines(3, 3000)
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].to_string())
            .collect();
        assert_eq!(kinds.len(), 8, "every kind of event appears: {kinds:?}");
        assert!(log.verify(None).unwrap().is_intact());
    }
}
