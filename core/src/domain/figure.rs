//! Casualty figures as sources state them: exact, "at least N", or a range.
//!
//! The text form is the one the CLI flags and the JSON Lines payloads take:
//!
//! | text        | meaning                                    |
//! |-------------|--------------------------------------------|
//! | `17`        | exactly 17                                 |
//! | `at-least:14` | at least 14 (a lower bound only)         |
//! | `22-35`     | between 22 and 35                          |
//! | `22-35~30`  | between 22 and 35, with 30 as best estimate |
//! | `coded:3`   | the toll is unknown; the source codes it as 3 by a convention (ACLED) |
//!
//! A range's best value is stored as given, even outside the range (real datasets do that);
//! only `low <= high` is required.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A casualty figure as a source stated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    /// Exactly this many.
    Exact(u64),
    /// At least this many ("at least 14").
    AtLeast(u64),
    /// Between `low` and `high` inclusive, optionally with a best estimate.
    Range {
        /// The lower end.
        low: u64,
        /// The upper end (`low <= high`).
        high: u64,
        /// The source's own best estimate, as given (not necessarily within the range).
        best: Option<u64>,
    },
    /// The source does not know the toll and codes it by a convention as this number
    /// (ACLED's "Unknown fatalities coded as 3"). It counts as its value where nothing
    /// better is known, but is never set against a figure a source actually stated
    /// (`docs/views.md`, "Coded figures").
    Coded(u64),
}

/// Why a figure's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}; a figure is a count (`17`), a lower bound (`at-least:14`), a range (`22-35`, or `22-35~30` with a best estimate) or a coded value (`coded:3`: the toll is unknown and coded as 3)")]
pub struct FigureError(String);

/// The largest count a figure may hold (far above any real toll; keeps sums from overflowing).
pub const MAX_COUNT: u64 = 1_000_000_000;

/// The refusal of a negative number: a count of people cannot be below zero.
fn negative(v: impl fmt::Display) -> FigureError {
    FigureError(format!("{v} is negative, and a count cannot be negative"))
}

fn count(s: &str) -> Result<u64, FigureError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FigureError("a number is missing".into()));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FigureError(format!(
            "{s:?} is not a non-negative whole number"
        )));
    }
    match s.parse::<u64>() {
        Ok(n) if n <= MAX_COUNT => Ok(n),
        _ => Err(FigureError(format!(
            "{s} is larger than the maximum count {MAX_COUNT}"
        ))),
    }
}

impl FromStr for Figure {
    type Err = FigureError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        // `-3` would otherwise read as a range with its low end missing.
        if t.starts_with('-') && t.len() > 1 && t[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(negative(t));
        }
        let lower = t.to_ascii_lowercase();
        for prefix in ["at-least:", "at least ", ">="] {
            if let Some(rest) = lower.strip_prefix(prefix) {
                return Ok(Figure::AtLeast(count(rest)?));
            }
        }
        if let Some(rest) = lower.strip_prefix("coded:") {
            return Ok(Figure::Coded(count(rest)?));
        }
        if let Some((range, best)) = t.split_once('~') {
            let Figure::Range { low, high, .. } = parse_range(range)? else {
                return Err(FigureError(format!(
                    "a best estimate (`~{best}`) goes with a range such as `22-35~30`, not with {range:?}"
                )));
            };
            return Ok(Figure::Range {
                low,
                high,
                best: Some(count(best)?),
            });
        }
        parse_range(t)
    }
}

fn parse_range(t: &str) -> Result<Figure, FigureError> {
    match t.split_once('-') {
        None => Ok(Figure::Exact(count(t)?)),
        Some((low, high)) => {
            let (low, high) = (count(low)?, count(high)?);
            if low > high {
                return Err(FigureError(format!(
                    "the range {low}-{high} runs backwards (low must not exceed high)"
                )));
            }
            Ok(Figure::Range {
                low,
                high,
                best: None,
            })
        }
    }
}

impl Figure {
    /// The smallest number the figure allows (for a range, its low end or best, whichever is smaller).
    pub fn lower(&self) -> u64 {
        match *self {
            Figure::Exact(n) | Figure::AtLeast(n) | Figure::Coded(n) => n,
            Figure::Range { low, best, .. } => best.map_or(low, |b| b.min(low)),
        }
    }

    /// The largest number the figure allows, or `None` when it has no upper bound ("at least").
    pub fn upper(&self) -> Option<u64> {
        match *self {
            Figure::Exact(n) | Figure::Coded(n) => Some(n),
            Figure::AtLeast(_) => None,
            Figure::Range { high, best, .. } => Some(best.map_or(high, |b| b.max(high))),
        }
    }

    /// The number the source itself puts forward: the count, the bound, the best estimate,
    /// for a bare range its lower end (the conservative reading), for a coded value the
    /// value it is coded as.
    pub fn point(&self) -> u64 {
        match *self {
            Figure::Exact(n) | Figure::AtLeast(n) | Figure::Coded(n) => n,
            Figure::Range { low, best, .. } => best.unwrap_or(low),
        }
    }

    /// `exact`, `at_least`, `range` or `coded`.
    pub fn qualifier(&self) -> &'static str {
        match self {
            Figure::Exact(_) => "exact",
            Figure::AtLeast(_) => "at_least",
            Figure::Range { .. } => "range",
            Figure::Coded(_) => "coded",
        }
    }

    /// A coded value: a convention standing for an unknown toll, not a count.
    pub fn is_coded(&self) -> bool {
        matches!(self, Figure::Coded(_))
    }

    /// The figure as people write it: `17`, `at least 14`, `22-35`, `22-35 (best 30)`,
    /// `3 (coded; unknown)`.
    pub fn prose(&self) -> String {
        match *self {
            Figure::Exact(n) => n.to_string(),
            Figure::Coded(n) => format!("{n} (coded; unknown)"),
            Figure::AtLeast(n) => format!("at least {n}"),
            Figure::Range {
                low,
                high,
                best: None,
            } => format!("{low}-{high}"),
            Figure::Range {
                low,
                high,
                best: Some(b),
            } => format!("{low}-{high} (best {b})"),
        }
    }
}

/// The value a dataset's note says its figure is coded as: ACLED writes "Unknown fatalities
/// coded as 3" or "Fatalities coded as 3 (NRF reported 13 Taliban fatalities)" when no source
/// gives a toll and it records a conventional one. `None` when the note has no such phrase
/// (ACLED's other "coded as", "[coded as Pana with GP2]", is about the place, not the toll).
pub fn coded_in_note(note: &str) -> Option<u64> {
    const PHRASE: &str = "fatalities coded as ";
    let lower = note.to_ascii_lowercase();
    let at = lower.find(PHRASE)? + PHRASE.len();
    let digits: String = lower[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    count(&digits).ok()
}

/// The text form (`17`, `at-least:14`, `22-35`, `22-35~30`), which parses back to the same figure.
impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Figure::Exact(n) => write!(f, "{n}"),
            Figure::AtLeast(n) => write!(f, "at-least:{n}"),
            Figure::Coded(n) => write!(f, "coded:{n}"),
            Figure::Range {
                low,
                high,
                best: None,
            } => write!(f, "{low}-{high}"),
            Figure::Range {
                low,
                high,
                best: Some(b),
            } => write!(f, "{low}-{high}~{b}"),
        }
    }
}

/// Exact figures serialize as JSON integers, the others as their text form.
impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Figure::Exact(n) => serializer.serialize_u64(n),
            _ => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Figure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Figure;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a figure: a whole number, or a string such as \"17\", \"at-least:14\", \"22-35\", \"22-35~30\" or \"coded:3\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Figure, E> {
                count(&v.to_string()).map(Figure::Exact).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Figure, E> {
                if v < 0 {
                    Err(E::custom(negative(v)))
                } else {
                    self.visit_u64(v.unsigned_abs())
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Figure, E> {
                if v.fract() == 0.0 && v.abs() > MAX_COUNT as f64 {
                    Err(E::custom(format!(
                        "{v:e} is larger than the maximum count {MAX_COUNT}"
                    )))
                } else {
                    Err(E::custom(format!("{v} is not a whole number")))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Figure, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_form() {
        assert_eq!("17".parse(), Ok(Figure::Exact(17)));
        assert_eq!("at-least:14".parse(), Ok(Figure::AtLeast(14)));
        assert_eq!("at least 14".parse(), Ok(Figure::AtLeast(14)));
        assert_eq!("coded:3".parse(), Ok(Figure::Coded(3)));
        assert_eq!("Coded: 3".parse(), Ok(Figure::Coded(3)));
        assert_eq!(
            "22-35".parse(),
            Ok(Figure::Range {
                low: 22,
                high: 35,
                best: None
            })
        );
        assert_eq!(
            "12-12~11".parse(),
            Ok(Figure::Range {
                low: 12,
                high: 12,
                best: Some(11)
            })
        );
    }

    #[test]
    fn refuses_bad_forms_with_a_reason() {
        let err = |s: &str| s.parse::<Figure>().unwrap_err().to_string();
        assert!(err("35-22").contains("runs backwards"), "{}", err("35-22"));
        assert!(err("-3").starts_with("-3 is negative, and a count cannot be negative"));
        assert!(err("-").contains("missing"));
        let json = serde_json::from_str::<Figure>("-3")
            .unwrap_err()
            .to_string();
        assert!(
            json.starts_with("-3 is negative, and a count cannot be negative"),
            "{json}"
        );
        assert!(err("dozens").contains("not a non-negative whole number"));
        assert!(err("17~3").contains("goes with a range"));
        assert!(err("99999999999999999999").contains("maximum"));
        assert!(err("").contains("missing"));
        assert!(err("coded:").contains("missing"), "{}", err("coded:"));
        assert!(err("coded:-3").contains("not a non-negative"));
        assert!(err("coded:several").contains("coded:3"));
    }

    #[test]
    fn acled_notes_say_when_the_toll_is_coded() {
        assert_eq!(
            coded_in_note("Badakhshan. Unknown fatalities coded as 3 (NRF reported several)."),
            Some(3)
        );
        assert_eq!(
            coded_in_note("Fatalities coded as 10. NRF claimed 11."),
            Some(10)
        );
        assert_eq!(
            coded_in_note("district [coded as Pana with GP2], Ghazni."),
            None
        );
        assert_eq!(coded_in_note("fatalities coded as several"), None);
        assert_eq!(coded_in_note(""), None);
    }

    #[test]
    fn a_coded_value_counts_as_its_value_and_says_what_it_is() {
        let f: Figure = "coded:3".parse().unwrap();
        assert_eq!((f.lower(), f.upper(), f.point()), (3, Some(3), 3));
        assert_eq!(f.prose(), "3 (coded; unknown)");
        assert_eq!(f.qualifier(), "coded");
        assert!(f.is_coded() && !Figure::Exact(3).is_coded());
        assert_eq!(serde_json::to_string(&f).unwrap(), "\"coded:3\"");
    }

    #[test]
    fn bounds_never_assume_best_inside_range() {
        let f: Figure = "12-12~11".parse().unwrap();
        assert_eq!((f.lower(), f.upper(), f.point()), (11, Some(12), 11));
        let f: Figure = "at-least:14".parse().unwrap();
        assert_eq!((f.lower(), f.upper(), f.point()), (14, None, 14));
    }

    #[test]
    fn json_forms() {
        assert_eq!(serde_json::to_string(&Figure::Exact(8)).unwrap(), "8");
        assert_eq!(
            serde_json::to_string(&Figure::AtLeast(8)).unwrap(),
            "\"at-least:8\""
        );
        assert_eq!(
            serde_json::from_str::<Figure>("\"8\"").unwrap(),
            Figure::Exact(8)
        );
        assert!(serde_json::from_str::<Figure>("-1").is_err());
        assert!(serde_json::from_str::<Figure>("1.5").is_err());
    }

    proptest! {
        #[test]
        fn text_form_round_trips(low in 0u64..10_000, span in 0u64..10_000, best in proptest::option::of(0u64..20_000), kind in 0u8..4) {
            let f = match kind {
                0 => Figure::Exact(low),
                1 => Figure::AtLeast(low),
                2 => Figure::Coded(low),
                _ => Figure::Range { low, high: low + span, best },
            };
            prop_assert_eq!(f.to_string().parse::<Figure>(), Ok(f));
            let json = serde_json::to_string(&f).unwrap();
            prop_assert_eq!(serde_json::from_str::<Figure>(&json).unwrap(), f);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Figure>();
        }
    }
}
