//! # chronicle-core
//!
//! The library behind the `chronicle` command: an append-only, tamper-evident event log of
//! incident reports in SQLite, the domain events that go into it, and the views built from it.
//!
//! The main entry point is [`EventLog`]: [`EventLog::init`] makes a log, [`EventLog::open`]
//! opens one, [`EventLog::append`] appends a batch of [`NewEvent`]s in one transaction, and
//! [`EventLog::verify`] checks the hash chain. See `ARCHITECTURE.md` for the map.

pub mod error;
pub mod event;
pub mod figure;
pub mod gazetteer;
pub mod hash;
pub mod import;
pub mod jsonl;
pub mod log;
pub mod project;
pub mod time;
mod validate;
pub mod verify;

pub use error::{Error, Invalid, Location, Result};
pub use event::{EventLine, NewEvent, Payload};
pub use figure::Figure;
pub use log::{AppendContext, Appended, Checkpoint, Clock, EventFilter, EventLog, RecordedEvent};
