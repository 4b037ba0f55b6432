//! Payload schema versions and the upcasters between them.
//!
//! Every event records the schema version of its payload (`schema_version`). A kind's
//! payload schema changes by a new version and one *step* that rewrites a payload of the
//! version before into it; a payload recorded at an older version is read through the steps
//! from its version to the current one, in order. The log itself is never rewritten: the
//! stored text (which the hash covers) stays as recorded, and every reader (the views,
//! `verify`, `append` of old JSON Lines, restore) upcasts on the way in.
//!
//! The path is keyed by kind and version: a step says which kind's payload it upgrades,
//! from which version. A version newer than this chronicle knows is refused by name (a
//! newer chronicle wrote it), never guessed at.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::domain::figure::{coded_in_note, Figure};
use crate::domain::status;
use crate::error::Invalid;

/// One upgrade of a kind's payload, from `from` to `from + 1`.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// The event kind.
    pub kind: &'static str,
    /// The version it upgrades from.
    pub from: u32,
    /// The rewrite; its error says what in the old payload cannot be upgraded.
    pub up: fn(Value) -> Result<Value, String>,
}

/// The steps of this chronicle, in any order.
///
/// - `casualties_reported` and `casualties_corrected` 1 -> 2: version 2 adds
///   `killed_by_status` and `wounded_by_status` (casualty status). A version-1 payload has
///   neither; its `killed_breakdown` (UCDP's `side_a`, `side_b`, `civilians`, `unknown`)
///   gains the statuses it gives directly ([`status::of_breakdown`]), exactly as the UCDP
///   import now writes them, so an old import reads as a new one and a re-import of the same
///   file finds nothing changed.
/// - `casualties_reported` and `casualties_corrected` 2 -> 3: version 3 adds coded figures
///   (`coded:3`). An ACLED import of version 2 (a report whose `attributes` hold ACLED's
///   `timestamp`) whose `note` says "fatalities coded as N" ([`coded_in_note`]) and whose
///   `killed` is exactly N gains `killed: "coded:N"`, exactly as the ACLED import now writes
///   it: ACLED's own words say the number is a convention, and a re-import of the same file
///   finds nothing changed. Every other payload is unchanged.
/// - `casualties_reported` and `casualties_corrected` 3 -> 4: version 4 adds `via` (the
///   source that carried the figures). The step is the identity; a version-3 payload that
///   carries `via` is refused. A payload without `via` is still *written* at 3
///   ([`crate::domain::event::written_version`]), so that a log that does not use `via` stays readable by the
///   chronicle before it.
///
/// `source_described` (sources described) is at 1: it has no steps.
pub const STEPS: &[Step] = &[
    Step {
        kind: "casualties_reported",
        from: 1,
        up: casualties_v2,
    },
    Step {
        kind: "casualties_corrected",
        from: 1,
        up: casualties_v2,
    },
    Step {
        kind: "casualties_reported",
        from: 2,
        up: casualties_v3,
    },
    Step {
        kind: "casualties_corrected",
        from: 2,
        up: casualties_v3,
    },
    Step {
        kind: "casualties_reported",
        from: 3,
        up: casualties_v4,
    },
    Step {
        kind: "casualties_corrected",
        from: 3,
        up: casualties_v4,
    },
];

/// A casualty payload of schema version 3 as version 4 (see [`STEPS`]): unchanged, unless
/// it carries `via`, which version 3 does not have.
fn casualties_v4(v: Value) -> Result<Value, String> {
    let obj = v.as_object().ok_or("the payload is not a JSON object")?;
    if obj.contains_key("via") {
        return Err(
            "`via` exists from schema version 4 on; a version-3 payload cannot carry it".into(),
        );
    }
    Ok(v)
}

/// A casualty payload of schema version 2 as version 3 (see [`STEPS`]).
fn casualties_v3(mut v: Value) -> Result<Value, String> {
    let obj = v
        .as_object_mut()
        .ok_or("the payload is not a JSON object")?;
    // Only the figures are looked at: a note or a citation may say "coded: ..." freely.
    let coded = |f: &Value| {
        f.as_str()
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("coded:"))
    };
    let figures = ["killed", "wounded", "attackers_killed"]
        .iter()
        .filter_map(|k| obj.get(*k))
        .chain(
            ["killed_breakdown", "killed_by_status", "wounded_by_status"]
                .iter()
                .filter_map(|k| obj.get(*k).and_then(Value::as_object))
                .flat_map(|m| m.values()),
        );
    if figures.into_iter().any(coded) {
        return Err(
            "a coded figure (`coded:N`) exists from schema version 3 on; a version-2 payload cannot carry it"
                .into(),
        );
    }
    let from_acled = obj
        .get("attributes")
        .and_then(|a| a.get("timestamp"))
        .is_some();
    let coded = obj
        .get("note")
        .and_then(Value::as_str)
        .and_then(coded_in_note);
    if let (true, Some(n)) = (from_acled, coded) {
        if obj.get("killed").and_then(Value::as_u64) == Some(n) {
            obj.insert("killed".into(), Value::String(Figure::Coded(n).to_string()));
        }
    }
    Ok(v)
}

/// A casualty payload of schema version 1 as version 2 (see [`STEPS`]).
fn casualties_v2(mut v: Value) -> Result<Value, String> {
    let obj = v
        .as_object_mut()
        .ok_or("the payload is not a JSON object")?;
    for field in ["killed_by_status", "wounded_by_status"] {
        if obj.contains_key(field) {
            return Err(format!(
                "`{field}` exists from schema version 2 on; a version-1 payload cannot carry it"
            ));
        }
    }
    let breakdown = match obj.get("killed_breakdown") {
        None => return Ok(v),
        Some(b) => serde_json::from_value::<BTreeMap<String, Figure>>(b.clone())
            .map_err(|e| format!("`killed_breakdown`: {e}"))?,
    };
    let statuses = status::of_breakdown(&breakdown);
    if !statuses.is_empty() {
        let value = serde_json::to_value(statuses).map_err(|e| e.to_string())?;
        obj.insert("killed_by_status".into(), value);
    }
    Ok(v)
}

/// The version this chronicle writes `kind`'s payloads at: 1 plus the number of its steps.
pub fn current_version(kind: &str) -> u32 {
    current_in(STEPS, kind)
}

fn current_in(steps: &[Step], kind: &str) -> u32 {
    1 + steps.iter().filter(|s| s.kind == kind).count() as u32
}

/// `payload`, of `kind` at schema version `version`, upgraded to the current version.
pub fn upcast(kind: &str, version: u32, payload: Value) -> Result<Value, Invalid> {
    upcast_in(STEPS, kind, version, payload)
}

fn upcast_in(steps: &[Step], kind: &str, version: u32, payload: Value) -> Result<Value, Invalid> {
    let current = current_in(steps, kind);
    if version == 0 || version > current {
        return Err(Invalid::new(
            "schema_version",
            version,
            format!(
                "this chronicle reads `{kind}` payloads of schema versions 1 to {current}; a newer chronicle wrote this one"
            ),
        ));
    }
    let mut payload = payload;
    for from in version..current {
        let step = steps
            .iter()
            .find(|s| s.kind == kind && s.from == from)
            .ok_or_else(|| {
                Invalid::new(
                    "schema_version",
                    from,
                    format!("no upgrade of `{kind}` payloads from version {from} (a gap in this chronicle's steps)"),
                )
            })?;
        payload = (step.up)(payload).map_err(|problem| {
            Invalid::new(
                "payload",
                "",
                format!(
                    "a `{kind}` payload of schema version {from} cannot be upgraded: {problem}"
                ),
            )
        })?;
    }
    Ok(payload)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rename_n_to_count(mut v: Value) -> Result<Value, String> {
        let n = v
            .as_object_mut()
            .and_then(|o| o.remove("n"))
            .ok_or("no `n`")?;
        v["count"] = n;
        Ok(v)
    }

    fn double_count(mut v: Value) -> Result<Value, String> {
        let c = v["count"].as_u64().ok_or("`count` is not a number")?;
        v["count"] = json!(c * 2);
        Ok(v)
    }

    // Listed out of order on purpose: the path is found by kind and version.
    const TEST_STEPS: &[Step] = &[
        Step {
            kind: "k",
            from: 2,
            up: double_count,
        },
        Step {
            kind: "k",
            from: 1,
            up: rename_n_to_count,
        },
    ];

    #[test]
    fn casualty_payloads_are_at_version_4_the_others_at_1() {
        for kind in crate::domain::event::KINDS {
            let expected = if kind.starts_with("casualties_") {
                4
            } else {
                1
            };
            assert_eq!(current_version(kind), expected, "{kind}");
        }
        assert_eq!(
            upcast("incident_merged", 1, json!({"a": 1})).unwrap(),
            json!({"a": 1})
        );
    }

    #[test]
    fn a_version_1_casualty_payload_gains_the_statuses_its_breakdown_gives() {
        // Puli Alam as written before statuses: nothing to add.
        let plain = json!({"source": "AFP", "killed": 17, "wounded": 21});
        assert_eq!(
            upcast("casualties_reported", 1, plain.clone()).unwrap(),
            plain
        );
        assert_eq!(
            upcast("casualties_reported", 3, plain.clone()).unwrap(),
            plain
        );
        // A UCDP import of version 1: civilians and unknown read directly, the sides stay.
        let ucdp = json!({"source": "UCDP GED 23.1", "killed": 7, "killed_breakdown":
            {"side_a": 2, "side_b": 3, "civilians": 1, "unknown": 1}});
        let up = upcast("casualties_corrected", 1, ucdp).unwrap();
        assert_eq!(
            up["killed_by_status"],
            json!({"civilians": 1, "unknown": 1})
        );
        assert_eq!(up["killed_breakdown"]["side_a"], json!(2));
        let p = crate::domain::event::Payload::from_json("casualties_corrected", up).unwrap();
        assert_eq!(p.kind(), "casualties_corrected");
        // A version-1 line cannot smuggle in a version-2 field.
        let err = upcast(
            "casualties_reported",
            1,
            json!({"source": "AFP", "killed_by_status": {"civilians": 1}}),
        )
        .unwrap_err();
        assert!(err.problem.contains("from schema version 2 on"), "{err}");
    }

    #[test]
    fn an_acled_import_of_version_2_reads_its_coded_toll_as_coded() {
        let acled = |killed: u64, note: &str| {
            json!({"source": "ACLED", "killed": killed, "note": note,
                "attributes": {"timestamp": "1652192378"}})
        };
        for kind in ["casualties_reported", "casualties_corrected"] {
            let up = upcast(kind, 2, acled(3, "Unknown fatalities coded as 3.")).unwrap();
            assert_eq!(up["killed"], json!("coded:3"));
            let p = crate::domain::event::Payload::from_json(kind, up).unwrap();
            assert_eq!(p.kind(), kind);
        }
        // The note names another number, or the place: unchanged.
        for (killed, note) in [
            (4, "Fatalities coded as 3 (NRF reported 4)."),
            (0, "in Giro district [coded as Pana with GP2]"),
        ] {
            let v = acled(killed, note);
            assert_eq!(upcast("casualties_reported", 2, v.clone()).unwrap(), v);
        }
        // Not an ACLED import (no `timestamp` attribute): unchanged, whatever its note.
        let typed = json!({"source": "AFP", "killed": 3, "note": "fatalities coded as 3"});
        assert_eq!(
            upcast("casualties_reported", 2, typed.clone()).unwrap(),
            typed
        );
        // Version 1 goes through both steps.
        let up = upcast("casualties_reported", 1, acled(3, "Fatalities coded as 3")).unwrap();
        assert_eq!(up["killed"], json!("coded:3"));
        // A version-2 line cannot carry a coded figure.
        let err = upcast(
            "casualties_corrected",
            2,
            json!({"source": "AFP", "killed": "coded:3"}),
        )
        .unwrap_err();
        assert!(err.problem.contains("from schema version 3 on"), "{err}");
        // A note that says "coded:" is no figure: the payload reads as it was.
        let note = json!({"source": "AFP", "killed": 3, "note": "coded: see the annex"});
        assert_eq!(
            upcast("casualties_reported", 2, note.clone()).unwrap(),
            note
        );
        let status =
            json!({"source": "AFP", "killed": 3, "killed_by_status": {"civilians": "coded:3"}});
        assert!(upcast("casualties_reported", 2, status).is_err());
    }

    #[test]
    fn old_payloads_go_through_every_step_in_order() {
        assert_eq!(current_in(TEST_STEPS, "k"), 3);
        assert_eq!(
            upcast_in(TEST_STEPS, "k", 1, json!({"n": 5})).unwrap(),
            json!({"count": 10})
        );
        assert_eq!(
            upcast_in(TEST_STEPS, "k", 2, json!({"count": 5})).unwrap(),
            json!({"count": 10})
        );
        assert_eq!(
            upcast_in(TEST_STEPS, "k", 3, json!({"count": 5})).unwrap(),
            json!({"count": 5})
        );
        // Another kind has no steps: version 1 is current.
        assert_eq!(
            upcast_in(TEST_STEPS, "other", 1, json!({})).unwrap(),
            json!({})
        );
    }

    #[test]
    fn newer_versions_and_failed_steps_are_refused_by_name() {
        let err = upcast_in(TEST_STEPS, "k", 4, json!({})).unwrap_err();
        assert_eq!(err.field, "schema_version");
        assert!(err.problem.contains("versions 1 to 3"), "{err}");
        let err = upcast_in(TEST_STEPS, "other", 2, json!({})).unwrap_err();
        assert!(err.problem.contains("versions 1 to 1"), "{err}");
        let err = upcast_in(TEST_STEPS, "k", 1, json!({"m": 1})).unwrap_err();
        assert!(
            err.problem.contains("version 1 cannot be upgraded: no `n`"),
            "{err}"
        );
        assert!(upcast_in(TEST_STEPS, "k", 0, json!({})).is_err());
    }
}
