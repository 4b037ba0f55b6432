# The peer of chronicle-bench: the Python `eventsourcing` library (9.5) doing the same job as
# `chronicle append FILE` with its views, on the same chronology (BENCHMARKS.md, "The peer").
#
#   python peer.py save JSONL DB      an Application saves Incident aggregates: every line of
#                                     the chronology becomes one event of its incident's
#                                     aggregate, saved in batches of 1,000 events
#   python peer.py project DB OUT     a projection folds the application's notification log,
#                                     section by section (1,000 notifications), into an
#                                     `incidents` table (date, place, category, killed and
#                                     wounded low/high over the sources) and a per-source
#                                     table in the SQLite file OUT, committing each section
#                                     with its tracking position
#
# Each mode prints `TIMED <seconds>`: the work after the imports (reading and parsing the
# lines included for `save`, as chronicle's import parses them too).
import json
import os
import sqlite3
import sys
import time
import uuid

os.environ.setdefault("PERSISTENCE_MODULE", "eventsourcing.sqlite")

from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402

BATCH = 1000


def figure(value):
    """(low, high) of a figure as the chronology writes it: 12, "12-20", "12-20~15",
    "at-least:12" (no upper bound: high is None)."""
    if value is None:
        return (None, None)
    if isinstance(value, int):
        return (value, value)
    if value.startswith("at-least:"):
        return (int(value[9:]), None)
    low, _, high = value.partition("-")
    return (int(low), int(high.partition("~")[0]))


class Incident(Aggregate):
    """An incident: its details and every report, correction, claim, amendment, retraction
    and merge, as events of one aggregate."""

    @staticmethod
    def create_id(name, details):
        return uuid.uuid5(uuid.NAMESPACE_URL, name)

    @event("Reported")
    def __init__(self, name, details):
        self.name = name
        self.details = details
        self.figures = {}
        self.retracted = set()
        self.merged_into = None

    @event("Recorded")
    def record(self, event_id, kind, payload):
        if kind in ("casualties_reported", "casualties_corrected"):
            self.figures.setdefault(payload["source"], {}).update(payload)
        elif kind == "incident_amended":
            self.details.update(payload)
        elif kind == "event_retracted":
            self.retracted.add(payload["event"])
        elif kind == "incident_merged":
            self.merged_into = payload["into"]


class Chronicle(Application):
    is_snapshotting_enabled = False
    log_section_size = BATCH


def save(jsonl, db):
    os.environ["SQLITE_DBNAME"] = db
    app = Chronicle()
    start = time.perf_counter()
    aggregates = {}
    pending = {}
    n = 0
    with open(jsonl) as lines:
        for line in lines:
            e = json.loads(line)
            name, kind, payload = e["incident"], e["kind"], e["payload"]
            agg = aggregates.get(name)
            if agg is None and kind == "incident_reported":
                agg = Incident(name, payload)
                aggregates[name] = agg
            else:
                if agg is None:
                    agg = app.repository.get(Incident.create_id(name, None))
                    aggregates[name] = agg
                agg.record(e["id"], kind, payload)
            pending[name] = agg
            n += 1
            if n % BATCH == 0:
                app.save(*pending.values())
                pending = {}
    if pending:
        app.save(*pending.values())
    print("TIMED", time.perf_counter() - start)
    print("EVENTS", n, file=sys.stderr)


SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    incident TEXT PRIMARY KEY, date TEXT, province TEXT, category TEXT,
    killed_low INTEGER, killed_high INTEGER, wounded_low INTEGER, wounded_high INTEGER,
    sources INTEGER, merged_into TEXT);
CREATE TABLE IF NOT EXISTS incident_sources (
    incident TEXT, source TEXT, published TEXT,
    killed_low INTEGER, killed_high INTEGER, wounded_low INTEGER, wounded_high INTEGER,
    note TEXT, citation TEXT, event_id TEXT, PRIMARY KEY (incident, source));
CREATE TABLE IF NOT EXISTS tracking (name TEXT PRIMARY KEY, position INTEGER);
"""


def bounds(values):
    lows = [lo for lo, _ in values if lo is not None]
    highs = [hi for _, hi in values]
    low = min(lows) if lows else None
    high = None if (not highs or None in highs) else max(highs)
    return low, high


def write_incident(cur, name, inc):
    # Figures of sources whose report was retracted are left out.
    live = {s: f for s, f in inc["sources"].items() if f["event_id"] not in inc["retracted"]}
    k = bounds([figure(f.get("killed")) for f in live.values()])
    w = bounds([figure(f.get("wounded")) for f in live.values()])
    d = inc["details"]
    cur.execute(
        "INSERT OR REPLACE INTO incidents VALUES (?,?,?,?,?,?,?,?,?,?)",
        (name, d.get("date"), d.get("province"), d.get("category"), k[0], k[1], w[0], w[1],
         len(live), inc["merged_into"]),
    )
    cur.execute("DELETE FROM incident_sources WHERE incident = ?", (name,))
    for source, f in live.items():
        kl, kh = figure(f.get("killed"))
        wl, wh = figure(f.get("wounded"))
        cur.execute(
            "INSERT INTO incident_sources VALUES (?,?,?,?,?,?,?,?,?,?)",
            (name, source, f.get("published"), kl, kh, wl, wh, f.get("note"),
             f.get("citation"), f["event_id"]),
        )


def project(db, out):
    os.environ["SQLITE_DBNAME"] = db
    app = Chronicle()
    conn = sqlite3.connect(out, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    start = time.perf_counter()
    incidents = {}
    by_id = {}
    position = 0
    n = 0
    while True:
        section = app.notification_log.select(position + 1, BATCH)
        if not section:
            break
        touched = set()
        for notification in section:
            e = app.mapper.to_domain_event(notification)
            if isinstance(e, Incident.Reported):
                name = e.name
                incidents[name] = {"details": dict(e.details), "sources": {},
                                   "retracted": set(), "merged_into": None}
            else:
                kind, p = e.kind, e.payload
                name = by_id[e.originator_id]
                inc = incidents[name]
                if kind == "casualties_reported":
                    inc["sources"][p["source"]] = dict(p, event_id=e.event_id)
                elif kind == "casualties_corrected":
                    f = inc["sources"].setdefault(p["source"], {"event_id": e.event_id})
                    f.update(p)
                elif kind == "incident_amended":
                    inc["details"].update(p)
                elif kind == "event_retracted":
                    inc["retracted"].add(p["event"])
                elif kind == "incident_merged":
                    inc["merged_into"] = p["into"]
                    into = incidents.get(p["into"])
                    if into is not None:
                        for s, f in inc["sources"].items():
                            into["sources"].setdefault(s, f)
                        touched.add(p["into"])
            by_id[e.originator_id] = name
            touched.add(name)
            n += 1
        position = section[-1].id
        conn.execute("BEGIN")
        cur = conn.cursor()
        for name in touched:
            write_incident(cur, name, incidents[name])
        cur.execute("INSERT OR REPLACE INTO tracking VALUES ('incidents', ?)", (position,))
        conn.execute("COMMIT")
    print("TIMED", time.perf_counter() - start)
    print("EVENTS", n, file=sys.stderr)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "save":
        save(sys.argv[2], sys.argv[3])
    elif mode == "project":
        project(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode!r}: save JSONL DB | project DB OUT")
