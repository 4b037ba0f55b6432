//! Physical line numbers of CSV records.
//!
//! The `csv` crate gives each record the position where its read *began*: the byte after the
//! previous record's terminator as far as the parser had consumed it, and the number of `\n`
//! bytes before that point. With `\r\n` line ends the parser ends a record at the `\r` and
//! skips the `\n` only when it reads the next record, so every record after the first looked
//! one line higher than it is (a bad row on line 8 of an Excel or Python CSV was reported as
//! line 7); blank lines between records had the same effect with any line end, and a file with
//! bare `\r` line ends (old Mac) was all "line 1".
//!
//! [`LineCounter`] wraps the reader the `csv` crate reads from and notes where each line
//! break is; [`LineCounter::line_at`] turns a record's starting byte into the physical line
//! where its first field begins, skipping the line ends and blank lines the parser skips.
//! A line break is `\n`, `\r\n` or a `\r` not followed by `\n`, as the parser takes them.

use std::collections::VecDeque;
use std::io::{self, Read};

/// A reader that notes the line breaks of what passes through it.
///
/// Only the breaks not yet asked about are kept: the lookups go forward through the file, so
/// memory stays bounded by the parser's read-ahead and one record.
#[derive(Debug)]
pub struct LineCounter<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// Offsets of the `\r` and `\n` bytes after the last lookup, with the byte.
    ends: VecDeque<(u64, u8)>,
    /// Line breaks before the point of the last lookup.
    breaks: u64,
    /// Offset of the last `\r` taken into account by a lookup (its `\n` does not count again).
    last_cr: Option<u64>,
    /// Where the last lookup stopped.
    looked: u64,
}

impl<R: Read> LineCounter<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            ends: VecDeque::new(),
            breaks: 0,
            last_cr: None,
            looked: 0,
        }
    }

    /// The physical line (1-based) on which the record whose read began at byte `start` has
    /// its first byte: the line ends and blank lines from `start` on are skipped. `start` must
    /// not go backwards between calls (a smaller one gives the line of the last lookup).
    pub fn line_at(&mut self, start: u64) -> u64 {
        let mut at = start.max(self.looked);
        while let Some(&(offset, byte)) = self.ends.front() {
            if offset > at {
                break;
            }
            // A byte before `at`, or a line end at `at` (the record has not begun yet).
            self.ends.pop_front();
            let counts = match byte {
                b'\n' => self.last_cr.is_none_or(|cr| cr + 1 != offset),
                _ => true,
            };
            if byte == b'\r' {
                self.last_cr = Some(offset);
            }
            if counts {
                self.breaks += 1;
            }
            if offset == at {
                at += 1;
            }
        }
        self.looked = at;
        self.breaks + 1
    }

    /// The line ends noted and not yet looked up (for tests).
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.ends.len()
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\r' || b == b'\n' {
                self.ends.push_back((self.offset + i as u64, b));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The line of each record of `text`, read with the csv crate as the import reads.
    fn lines(text: &str) -> Vec<u64> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(LineCounter::new(text.as_bytes()));
        let mut record = csv::StringRecord::new();
        let mut out = Vec::new();
        while reader.read_record(&mut record).unwrap() {
            let start = record.position().unwrap().byte();
            out.push(reader.get_mut().line_at(start));
        }
        out
    }

    #[test]
    fn every_line_end_gives_the_physical_line() {
        assert_eq!(lines("h\na\nb\nc\n"), [1, 2, 3, 4]);
        assert_eq!(lines("h\r\na\r\nb\r\nc\r\n"), [1, 2, 3, 4]);
        assert_eq!(lines("h\ra\rb\rc\r"), [1, 2, 3, 4]);
        assert_eq!(
            lines("h\na\r\nb\rc"),
            [1, 2, 3, 4],
            "mixed, no final line end"
        );
    }

    #[test]
    fn quoted_line_breaks_and_blank_lines_are_lines() {
        assert_eq!(lines("h\n\"a\nb\"\nc\n"), [1, 2, 4]);
        assert_eq!(lines("h\r\n\"a\r\nb\r\nc\"\r\nd\r\n"), [1, 2, 5]);
        assert_eq!(
            lines("h\n\"a\rb\"\nc\n"),
            [1, 2, 4],
            "a bare CR is a line end"
        );
        assert_eq!(lines("h\n\na\n\n\nb\n"), [1, 3, 6]);
        assert_eq!(lines("h\r\n\r\na\r\n\r\nb\r\n"), [1, 3, 5]);
        assert_eq!(lines("\n\nh\na\n"), [3, 4]);
    }

    #[test]
    fn long_files_keep_counting_across_buffer_refills() {
        let mut text = String::from("h,g\r\n");
        for i in 0..5000 {
            text.push_str(&format!("\"{i}\r\nx\",{}\r\n", "y".repeat(i % 50)));
        }
        let got = lines(&text);
        assert_eq!(got.len(), 5001);
        assert_eq!(got[1], 2);
        assert_eq!(got[5000], 2 + 2 * 4999);
    }

    #[test]
    fn only_unread_breaks_are_kept() {
        let mut text = String::from("h,g\n");
        for _ in 0..100_000 {
            text.push_str("a,b\n");
        }
        let mut reader = csv::ReaderBuilder::new().from_reader(LineCounter::new(text.as_bytes()));
        let mut record = csv::StringRecord::new();
        let mut last = 0;
        while reader.read_record(&mut record).unwrap() {
            let start = record.position().unwrap().byte();
            last = reader.get_mut().line_at(start);
            assert!(reader.get_ref().pending() < 20_000);
        }
        assert_eq!(last, 100_001);
    }
}
