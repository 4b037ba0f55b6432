//! The document of a streamed (version-2) export, in its "lines" form, and where it waits
//! while the plugin reads it.
//!
//! The lines form: each incident as compact JSON on a line of its own, in document order,
//! then the head (the document without its incidents: schema, provenance, totals,
//! `incident_count`) on the last line. The incidents come first because the totals are
//! known only once they are all computed. The runner (or the host, in process) copies the
//! lines into a [`Spool`], an unnamed temporary file in `$TMPDIR`, so that the head can be
//! given first and the incidents replayed once per pass, one line in memory at a time.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// The incidents of a document on disk, and its head in memory.
#[derive(Debug)]
pub(crate) struct Spool {
    file: File,
    /// Where the incidents end (the head's line starts).
    incidents_end: u64,
    /// The head's JSON (without its newline).
    pub(crate) head: Vec<u8>,
}

impl Spool {
    /// Copy the lines form from `input` until its end into a new spool.
    pub(crate) fn from_lines(input: &mut dyn Read) -> std::io::Result<Spool> {
        let mut w = SpoolWriter::new()?;
        std::io::copy(input, &mut w)?;
        w.finish()
    }

    /// The incidents from the first, for one pass.
    pub(crate) fn incidents(&mut self) -> std::io::Result<Lines<'_>> {
        self.file.seek(SeekFrom::Start(0))?;
        Ok(Lines(BufReader::with_capacity(
            1 << 16,
            (&self.file).take(self.incidents_end),
        )))
    }
}

/// A [`Spool`] being written: the lines form, as it comes.
pub(crate) struct SpoolWriter {
    file: BufWriter<File>,
    total: u64,
    /// The start of the last line, and of the line before it.
    last_start: u64,
    prev_start: u64,
    ends_with_newline: bool,
}

impl SpoolWriter {
    /// A new, unnamed temporary file in `$TMPDIR`.
    pub(crate) fn new() -> std::io::Result<SpoolWriter> {
        Ok(SpoolWriter {
            file: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            total: 0,
            last_start: 0,
            prev_start: 0,
            ends_with_newline: false,
        })
    }

    /// The spool, its head (the last line, with or without its newline) read back.
    pub(crate) fn finish(self) -> std::io::Result<Spool> {
        let (head_start, head_end) = if self.ends_with_newline {
            (self.prev_start, self.total.saturating_sub(1))
        } else {
            (self.last_start, self.total)
        };
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        let mut head = vec![0u8; usize::try_from(head_end - head_start).unwrap_or(0)];
        file.seek(SeekFrom::Start(head_start))?;
        file.read_exact(&mut head)?;
        Ok(Spool {
            file,
            incidents_end: head_start,
            head,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        let chunk = &buf[..n];
        for (i, b) in chunk.iter().enumerate() {
            if *b == b'\n' {
                self.prev_start = self.last_start;
                self.last_start = self.total + i as u64 + 1;
            }
        }
        self.total += n as u64;
        if let Some(last) = chunk.last() {
            self.ends_with_newline = *last == b'\n';
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The incident lines of a [`Spool`], one at a time.
pub(crate) struct Lines<'a>(BufReader<std::io::Take<&'a File>>);

impl Lines<'_> {
    /// The next incident into `line` (without its newline); `false` at the end.
    pub(crate) fn next_into(&mut self, line: &mut Vec<u8>) -> std::io::Result<bool> {
        line.clear();
        if self.0.read_until(b'\n', line)? == 0 {
            return Ok(false);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(true)
    }
}

/// A whole document (`chronicle.views/1` JSON) in the lines form: what the host sends a
/// streamed plugin when it is given a whole document (`plugins check`, the options' probe,
/// [`PluginHost::export`](crate::PluginHost::export)). Bytes that are not a JSON object with
/// an `incidents` array become the head as they are, with no incidents, so that the
/// plugin meets them (a broken document must be the plugin's error, not the host's).
pub(crate) fn document_to_lines(doc_json: &[u8]) -> Vec<u8> {
    let parsed: Option<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(doc_json).ok();
    let Some(mut doc) = parsed else {
        return head_only(doc_json);
    };
    let Some(serde_json::Value::Array(incidents)) = doc.remove("incidents") else {
        return head_only(doc_json);
    };
    let mut out = Vec::new();
    for i in &incidents {
        // A parsed value always serializes.
        let _ = serde_json::to_writer(&mut out, i);
        out.push(b'\n');
    }
    doc.insert("incident_count".to_owned(), incidents.len().into());
    let _ = serde_json::to_writer(&mut out, &doc);
    out.push(b'\n');
    out
}

/// `bytes` as the head of a document with no incidents (on one line: its newlines, which
/// only whitespace can hold in JSON, become spaces).
fn head_only(bytes: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = bytes
        .iter()
        .map(|b| if *b == b'\n' { b' ' } else { *b })
        .collect();
    out.push(b'\n');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn all(spool: &mut Spool) -> Vec<String> {
        let mut lines = spool.incidents().unwrap();
        let mut line = Vec::new();
        let mut out = Vec::new();
        while lines.next_into(&mut line).unwrap() {
            out.push(String::from_utf8(line.clone()).unwrap());
        }
        out
    }

    #[test]
    fn the_last_line_is_the_head_and_the_others_replay() {
        for input in [
            &b"{\"a\":1}\n{\"b\":2}\n{\"head\":true}\n"[..],
            b"{\"a\":1}\n{\"b\":2}\n{\"head\":true}",
        ] {
            let mut spool = Spool::from_lines(&mut &input[..]).unwrap();
            assert_eq!(spool.head, b"{\"head\":true}");
            assert_eq!(all(&mut spool), ["{\"a\":1}", "{\"b\":2}"]);
            assert_eq!(all(&mut spool), ["{\"a\":1}", "{\"b\":2}"], "a second pass");
        }
        let mut spool = Spool::from_lines(&mut &b"{\"head\":1}\n"[..]).unwrap();
        assert_eq!(all(&mut spool).len(), 0);
        assert_eq!(spool.head, b"{\"head\":1}");
        let mut spool = Spool::from_lines(&mut &b""[..]).unwrap();
        assert_eq!((spool.head.len(), all(&mut spool).len()), (0, 0));
    }

    #[test]
    fn a_whole_document_becomes_lines() {
        let doc = chronicle_plugin_sdk::testing::sample_document_json();
        let lines = document_to_lines(&doc);
        let mut spool = Spool::from_lines(&mut lines.as_slice()).unwrap();
        let head: chronicle_plugin_sdk::DocumentHead = serde_json::from_slice(&spool.head).unwrap();
        assert_eq!(head.incident_count, 5);
        let sample = chronicle_plugin_sdk::testing::sample_document();
        let incidents: Vec<chronicle_plugin_sdk::Incident> = all(&mut spool)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(incidents, sample.incidents);
        assert_eq!(head, chronicle_plugin_sdk::DocumentHead::of(&sample));
        assert_eq!(
            document_to_lines(b"{\"incidents\": 42\n"),
            b"{\"incidents\": 42 \n"
        );
    }
}
