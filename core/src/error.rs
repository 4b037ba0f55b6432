//! Errors of the library.
//!
//! Two families matter to a caller: [`Error::is_bad_input`] errors (the request itself was
//! wrong: nothing was written, fix the input and retry) and everything else (I/O, a corrupt
//! or foreign database file, a failed verification). The CLI maps them to exit codes 2 and 1.

use std::fmt;
use std::path::PathBuf;

/// Where a piece of bad input came from: a file and line, or a command-line flag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file (`-` for standard input), if the input came from a file.
    pub file: Option<String>,
    /// The 1-based line number within `file`.
    pub line: Option<u64>,
}

impl Location {
    /// A location in a file at a 1-based line.
    pub fn line(file: impl Into<String>, line: u64) -> Self {
        Location {
            file: Some(file.into()),
            line: Some(line),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}"),
            (Some(file), None) => write!(f, "{file}"),
            (None, Some(line)) => write!(f, "line {line}"),
            (None, None) => Ok(()),
        }
    }
}

/// A refusal of bad input: names the field and the value, says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Where the input came from, when known.
    pub location: Location,
    /// The field, as a dotted path (`payload.killed`).
    pub field: String,
    /// The offending value, as given (shortened when very long).
    pub value: String,
    /// What is wrong and what would be accepted.
    pub problem: String,
}

impl Invalid {
    /// A refusal of `value` in `field`.
    pub fn new(
        field: impl Into<String>,
        value: impl fmt::Display,
        problem: impl Into<String>,
    ) -> Self {
        let mut value = value.to_string();
        if value.chars().count() > 120 {
            value = value.chars().take(117).collect::<String>() + "...";
        }
        Invalid {
            location: Location::default(),
            field: field.into(),
            value,
            problem: problem.into(),
        }
    }

    /// The same refusal, placed at a file and line.
    pub fn at(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    /// The same refusal with the field name prefixed (`payload.killed`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = self.location.to_string();
        if !loc.is_empty() {
            write!(f, "{loc}: ")?;
        }
        if self.value.is_empty() {
            write!(f, "field `{}`: {}", self.field, self.problem)
        } else {
            write!(
                f,
                "field `{}`, value {:?}: {}",
                self.field, self.value, self.problem
            )
        }
    }
}

impl std::error::Error for Invalid {}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused; nothing was written.
    #[error(transparent)]
    Invalid(#[from] Invalid),

    /// An append stated the version it expected an incident to be at, and it is elsewhere.
    #[error("{location}incident `{incident}` is at version {actual}, but the append expected version {expected}; nothing was written (someone else appended first: re-read the incident with `chronicle history {incident}` and retry)")]
    VersionConflict {
        /// Where the append came from (may be empty).
        location: LocationPrefix,
        /// The incident (stream).
        incident: String,
        /// The version the append expected.
        expected: u64,
        /// The version the incident is at.
        actual: u64,
    },

    /// An event id already in the log, with different content.
    #[error("{location}event id {id} is already in the log (seq {seq}) with different content; nothing was written (an event id names one event, and a retry must repeat it exactly: give the new event another id, or none)")]
    IdConflict {
        /// Where the append came from (may be empty).
        location: LocationPrefix,
        /// The conflicting id.
        id: String,
        /// The sequence number of the event already holding that id.
        seq: u64,
    },

    /// The file does not exist and the command needs a log.
    #[error("{path}: no event log here; create one with `chronicle init` (or point --db / CHRONICLE_DB at an existing log)")]
    NoLog {
        /// The path looked at.
        path: PathBuf,
    },

    /// The file exists but is not a chronicle log.
    #[error("{path}: not a chronicle event log: {reason}")]
    NotALog {
        /// The path.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },

    /// The log was written by a newer chronicle.
    #[error("{path}: this log has schema version {found}, but this chronicle knows versions up to {known}; upgrade chronicle to read it (the {holder} was not changed)")]
    NewerSchema {
        /// The path.
        path: PathBuf,
        /// What holds the log, as the message names it: "file" (SQLite) or "database"
        /// (PostgreSQL).
        holder: &'static str,
        /// The schema version in the file.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },

    /// The log holds an event a newer chronicle wrote: a kind this build does not know, or
    /// a payload schema version newer than it reads. The views would leave it out and answer
    /// as if it were not there, so nothing is answered.
    #[error("event seq {seq}: a `{kind}` event of payload schema version {version}, {known}; a newer chronicle wrote it, and views without it would mislead: upgrade chronicle to read this log (nothing was changed)")]
    NewerEvent {
        /// Its sequence number.
        seq: u64,
        /// Its kind.
        kind: String,
        /// Its payload schema version.
        version: u32,
        /// What this build knows of the kind, in words.
        known: String,
    },

    /// The views were built by a newer chronicle (a higher `VIEWS_VERSION`). Rebuilding them
    /// at this build's version would undo the newer one's (which would rebuild them again on
    /// its next run) and may leave out what only it understands.
    #[error("{location}: its views were built by a newer chronicle (views version {found}; this one builds version {known}); upgrade chronicle to read this log (nothing was changed)")]
    NewerViews {
        /// The log's location.
        location: String,
        /// The views' version.
        found: i64,
        /// This build's.
        known: i64,
    },

    /// A stored event could not be read back (only a tampered or corrupt log does this).
    #[error("event seq {seq}: {problem} (run `chronicle verify`)")]
    Corrupt {
        /// Sequence number of the bad event.
        seq: u64,
        /// What is wrong with it.
        problem: String,
    },

    /// SQLite failed.
    #[error("{path}: {cause}{hint}")]
    Storage {
        /// Where the log is.
        path: PathBuf,
        /// What the storage backend said.
        cause: Box<dyn std::error::Error + Send + Sync>,
        /// What to do about it (empty when there is nothing to add).
        hint: &'static str,
    },

    /// A redaction is committed (the payload is erased from the log), but the purge of the
    /// erased text's old copies from the storage failed: `cause` says why and who may do it.
    #[error("redaction {redaction} (seq {seq}) is committed: the payload of event {target} is erased from the log and no command shows it any more; but its old copies are still in the storage: {cause} (a `chronicle redact {target} --reason ...` run again adds nothing to the log and only purges them)")]
    NotPurged {
        /// The redaction event's id.
        redaction: String,
        /// Its seq.
        seq: u64,
        /// The id of the event whose payload was erased.
        target: String,
        /// Why the purge failed.
        cause: Box<Error>,
    },

    /// Reading or writing a file failed.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
}

/// A location printed before a message, followed by `: `, or nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationPrefix(pub Location);

impl fmt::Display for LocationPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.to_string();
        if s.is_empty() {
            Ok(())
        } else {
            write!(f, "{s}: ")
        }
    }
}

impl Error {
    /// True when the error is the caller's input (exit code 2): nothing was written.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Invalid(_)
                | Error::VersionConflict { .. }
                | Error::IdConflict { .. }
                | Error::NoLog { .. }
        )
    }

    /// Places an input error at a file and line; other errors are returned unchanged.
    pub fn at(self, location: Location) -> Self {
        match self {
            Error::Invalid(inv) => Error::Invalid(inv.at(location)),
            Error::VersionConflict {
                incident,
                expected,
                actual,
                ..
            } => Error::VersionConflict {
                location: LocationPrefix(location),
                incident,
                expected,
                actual,
            },
            Error::IdConflict { id, seq, .. } => Error::IdConflict {
                location: LocationPrefix(location),
                id,
                seq,
            },
            other => other,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
