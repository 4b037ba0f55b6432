//! The domain: the events chronicle records and the rules they follow, with no I/O.
//!
//! [`event`] holds the payload of each kind of event; [`figure`] the casualty figures
//! (`5`, `at-least:12`, `22-35`); [`time`] incident dates, publication times and recorded
//! times (and where a `--as-of TIME` is parsed); [`gazetteer`] the provinces, their
//! spellings and ISO codes; [`status`] casualty status (civilians, security forces,
//! militants, unknown) and how breakdowns add up; [`source`] sources described (their type,
//! whether a party) and the reserved stream they live in; `rules` what one event must satisfy on its own.

pub mod event;
pub mod figure;
pub mod gazetteer;
pub(crate) mod rules;
pub mod source;
pub mod status;
pub mod time;
pub mod upcast;
