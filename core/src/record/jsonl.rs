//! Reading JSON Lines of events, one bounded line at a time: new events (`chronicle
//! append`) and recorded events to restore (`chronicle append --restore`).

use std::io::BufRead;

use crate::domain::event::{EventLine, NewEvent};
use crate::error::{Error, Invalid, Location, Result};
use crate::record::provenance::RecordedLine;

/// The longest line accepted, in bytes (an event payload is far smaller; this bounds memory).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Reads events from JSON Lines. Blank lines are skipped. Each item carries its location
/// (`file:line`) so a refusal can name it. `file` is the name used in messages (`-` for stdin).
pub fn read_events<R: BufRead>(
    reader: R,
    file: &str,
) -> impl Iterator<Item = Result<(Location, NewEvent)>> + use<'_, R> {
    read_lines(reader, file, EventLine::parse)
}

/// Reads recorded events from the lines `chronicle log --json --provenance` writes (see
/// [`crate::record::provenance`]), with their locations, as [`read_events`] reads new ones.
pub fn read_recorded<R: BufRead>(
    reader: R,
    file: &str,
) -> impl Iterator<Item = Result<(Location, RecordedLine)>> + use<'_, R> {
    read_lines(reader, file, RecordedLine::parse)
}

/// The line reader both share: bounded, UTF-8, blank lines skipped but counted.
fn read_lines<R: BufRead, T>(
    reader: R,
    file: &str,
    parse: fn(&str) -> Result<T, Invalid>,
) -> impl Iterator<Item = Result<(Location, T)>> + use<'_, R, T> {
    let mut reader = reader;
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    let file = file.to_string();
    std::iter::from_fn(move || loop {
        buf.clear();
        line_no += 1;
        let loc = Location::line(file.clone(), line_no);
        let read =
            std::io::Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf);
        match read {
            Err(source) => {
                return Some(Err(Error::Io {
                    path: file.clone().into(),
                    cause: source,
                }))
            }
            Ok(0) => return None,
            Ok(_) => {}
        }
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            // Skip the rest of the line so the error is reported once, then stop.
            return Some(Err(Invalid::new(
                "line",
                "",
                format!("the line is longer than {MAX_LINE_BYTES} bytes, the limit for one event"),
            )
            .at(loc)
            .into()));
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t,
            Err(e) => {
                return Some(Err(Invalid::new(
                    "line",
                    "",
                    format!(
                        "the line is not valid UTF-8 (bad byte at column {})",
                        e.valid_up_to() + 1
                    ),
                )
                .at(loc)
                .into()))
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        return Some(
            parse(text)
                .map(|e| (loc.clone(), e))
                .map_err(|e| e.at(loc).into()),
        );
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_blank_lines() {
        let input = "\n{\"incident\":\"a\",\"kind\":\"nope\",\"payload\":{}}\n";
        let err = read_events(input.as_bytes(), "x.jsonl")
            .next()
            .unwrap()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("x.jsonl:2: field `kind`"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_and_long_lines_are_refused() {
        let err = read_events(&b"\xff\xfe\n"[..], "-")
            .next()
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let err = read_events(long.as_bytes(), "-")
            .next()
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
    }
}
