//! # chronicle-core
//!
//! The library behind the `chronicle` command: an append-only, tamper-evident event log of
//! incident reports, the domain events that go into it, and the views built from it.
//!
//! The main entry point is [`EventLog`]: [`EventLog::init`] makes a log, [`EventLog::open`]
//! opens one, [`EventLog::append`] appends a batch of [`NewEvent`]s in one transaction,
//! [`EventLog::verify`] checks the hash chain, and the view methods
//! ([`EventLog::timeline`], [`EventLog::show`], [`EventLog::export`], ...) answer
//! [`views::Query`]s at any point of the log.
//!
//! The layers, each depending only on those before it: [`domain`] (the events and their
//! rules), [`record`] (the recorded event, its hash chain and JSON Lines), `store` (the
//! storage boundary: every SQL string), `streams` (the stream cache of a transaction),
//! [`views`] (the projections), `log` (the [`EventLog`] facade and the append path) and
//! [`import`] (datasets). See `ARCHITECTURE.md` for the map.

pub mod domain;
mod error;
pub mod import;
mod log;
pub mod record;
mod store;
mod streams;
mod tree;
pub mod views;

pub use domain::event::{EventLine, NewEvent, Payload};
pub use domain::figure::Figure;
pub use domain::{event, figure, gazetteer, source, status, time};
pub use error::{Error, Invalid, Location, LocationPrefix, Result};
pub use log::verify::{Failure, VerifyReport};
pub use log::{AppendContext, Appender, Clock, Copied, EventLog, OpeningDetails, Origin, Redacted};
pub use record::jsonl::{read_events, read_recorded};
pub use record::provenance::RecordedLine;
pub use record::{hash, jsonl, merkle, note, proof, provenance};
pub use record::{
    Appended, Batch, Checkpoint, EventFilter, RecordedEvent, Seal, APPEND_ONLY_MESSAGE,
};
pub use store::{Access, Purge};
