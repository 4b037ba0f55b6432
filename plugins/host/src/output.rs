//! Where a streamed plugin's output goes in the calling process: to the caller's writer as
//! it arrives, checked on the way (UTF-8 for a text format, across chunk boundaries).

use std::io::Write;

/// Why the output was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not UTF-8 from this offset on (a text format).
    Utf8 { valid_up_to: u64 },
    /// The caller's writer failed.
    Io(String),
}

/// The caller's writer, with the check.
pub(crate) struct Checked<'a> {
    out: &'a mut (dyn Write + Send),
    text: bool,
    /// The start of a character cut by the end of the last chunk.
    pending: Vec<u8>,
    /// Bytes taken, `pending` included.
    taken: u64,
    refused: Option<Refused>,
}

impl<'a> Checked<'a> {
    pub(crate) fn new(out: &'a mut (dyn Write + Send), text: bool) -> Checked<'a> {
        Checked {
            out,
            text,
            pending: Vec::new(),
            taken: 0,
            refused: None,
        }
    }

    /// Check and pass on one chunk; `false` once the output is refused.
    pub(crate) fn take(&mut self, chunk: &[u8]) -> bool {
        if self.refused.is_some() {
            return false;
        }
        if self.text {
            if let Err(at) = self.check(chunk) {
                self.refused = Some(Refused::Utf8 { valid_up_to: at });
                return false;
            }
        }
        if let Err(e) = self.out.write_all(chunk) {
            self.refused = Some(Refused::Io(e.to_string()));
            return false;
        }
        self.taken += chunk.len() as u64;
        true
    }

    /// The UTF-8 check of `chunk` after what came before; `Err` with the offset (in the
    /// whole output) of the first byte that is not part of a valid character.
    fn check(&mut self, whole: &[u8]) -> Result<(), u64> {
        let mut chunk = whole;
        let pending_at = self.taken - self.pending.len() as u64;
        if let Some(&lead) = self.pending.first() {
            let want = match lead {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = (want - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            match std::str::from_utf8(&self.pending) {
                Ok(_) => self.pending.clear(),
                // Still incomplete: the chunk was shorter than the rest of the character.
                Err(e) if e.error_len().is_none() && chunk.is_empty() => return Ok(()),
                Err(_) => return Err(pending_at),
            }
        }
        // Where the rest of the chunk starts in the whole output.
        let start = self.taken + (whole.len() - chunk.len()) as u64;
        match std::str::from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                self.pending = chunk[e.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(e) => Err(start + e.valid_up_to() as u64),
        }
    }

    /// The number of bytes taken, once the output is whole; why it was refused otherwise.
    pub(crate) fn finish(self) -> Result<u64, Refused> {
        if let Some(r) = self.refused {
            return Err(r);
        }
        if !self.pending.is_empty() {
            return Err(Refused::Utf8 {
                valid_up_to: self.taken - self.pending.len() as u64,
            });
        }
        Ok(self.taken)
    }

    /// Why the output was refused, if it was.
    pub(crate) fn refused(&self) -> Option<&Refused> {
        self.refused.as_ref()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Result<Vec<u8>, Refused> {
        let mut out: Vec<u8> = Vec::new();
        let mut c = Checked::new(&mut out, true);
        for chunk in chunks {
            c.take(chunk);
        }
        c.finish()?;
        Ok(out)
    }

    #[test]
    fn characters_cut_between_chunks_are_accepted() {
        let text = "Puli Alam — 17 killed, 𝟙 dispute".as_bytes();
        for cut in 0..=text.len() {
            for cut2 in cut..=text.len() {
                let got = run(&[&text[..cut], &text[cut..cut2], &text[cut2..]]);
                assert_eq!(got.as_deref(), Ok(text), "cut at {cut} and {cut2}");
            }
        }
    }

    #[test]
    fn invalid_bytes_are_refused_with_their_offset() {
        assert_eq!(
            run(&[b"ab", b"c\xffd"]),
            Err(Refused::Utf8 { valid_up_to: 3 })
        );
        assert_eq!(
            run(&[b"ab\xe2\x80", b"x"]),
            Err(Refused::Utf8 { valid_up_to: 2 })
        );
        assert_eq!(
            run(&[b"ab\xe2", b"\x80"]),
            Err(Refused::Utf8 { valid_up_to: 2 }),
            "cut short at the end"
        );
        assert_eq!(
            run(&[b"\xe2", b"\x80", b"\x94\xff"]),
            Err(Refused::Utf8 { valid_up_to: 3 })
        );
        let mut out: Vec<u8> = Vec::new();
        let mut binary = Checked::new(&mut out, false);
        assert!(binary.take(b"\xff\xfe"));
        assert_eq!(binary.finish(), Ok(2));
    }
}
