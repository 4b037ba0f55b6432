//! The JSON document of the views: `chronicle.views/1`.
//!
//! The types are defined once, in `chronicle-plugin-sdk` (`chronicle_plugin_sdk::view`),
//! because the document is the contract between chronicle and its export plugins: what core
//! serializes is exactly what a plugin deserializes. This module re-exports them and converts
//! core's domain values into them.
//!
//! One [`Document`] is what `chronicle export` writes; `show --json` is one [`Incident`];
//! `timeline --json` a list of them; `summary --json` a list of [`Group`]s. Fields are never
//! renamed or removed within `chronicle.views/1`; absent values are written as `null`, never
//! left out (except in [`Filters`], and an incident's `redactions`, left out when empty so
//! that the document of a log with no redaction is byte for byte what it was before).

pub use chronicle_plugin_sdk::view::{
    Adjudication, Assessment, Coordinates, DatePrecision, ExporterInfo, Figure, Filters, Grade,
    GradeInfo, Group, Incident, LatLon, Leftover, LogCheckpoint, Point, PointKind, Policy,
    Provenance, Qualifier, Range, Redaction, Responsibility, Revision, SourceFigures, Stance,
    StatusFigures, StatusRanges, Totals, ViewDocument as Document, SCHEMA,
};
/// The document without its incidents, which a streamed plugin is given first.
pub use chronicle_plugin_sdk::DocumentHead;

use crate::domain::figure::Figure as DomainFigure;

/// A figure as the source stated it, in document form: its prose, qualifier, bounds and the
/// source's own best (the count for an exact figure, the estimate given with a range, else
/// `null`).
pub fn figure(f: &DomainFigure) -> Figure {
    let (qualifier, best) = match *f {
        DomainFigure::Exact(n) => (Qualifier::Exact, Some(n)),
        DomainFigure::AtLeast(_) => (Qualifier::AtLeast, None),
        DomainFigure::Range { best, .. } => (Qualifier::Range, best),
        DomainFigure::Coded(n) => (Qualifier::Coded, Some(n)),
    };
    Figure {
        text: f.prose(),
        qualifier,
        low: f.lower(),
        high: f.upper(),
        best,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn figures_keep_their_text_bounds_and_own_best() {
        let f = |s: &str| figure(&s.parse::<DomainFigure>().unwrap());
        let exact = f("17");
        assert_eq!(
            (
                exact.text.as_str(),
                exact.qualifier,
                exact.low,
                exact.high,
                exact.best
            ),
            ("17", Qualifier::Exact, 17, Some(17), Some(17))
        );
        let at_least = f("at-least:14");
        assert_eq!(
            (
                at_least.text.as_str(),
                at_least.qualifier,
                at_least.low,
                at_least.high,
                at_least.best
            ),
            ("at least 14", Qualifier::AtLeast, 14, None, None)
        );
        let range = f("22-35~30");
        assert_eq!(
            (range.qualifier, range.low, range.high, range.best),
            (Qualifier::Range, 22, Some(35), Some(30))
        );
        assert_eq!(f("22-35").best, None);
        let coded = f("coded:3");
        assert_eq!(
            (
                coded.text.as_str(),
                coded.qualifier,
                coded.low,
                coded.high,
                coded.best
            ),
            ("3 (coded; unknown)", Qualifier::Coded, 3, Some(3), Some(3))
        );
    }
}
