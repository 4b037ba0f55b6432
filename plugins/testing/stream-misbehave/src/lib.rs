//! A streamed (ABI 2) plugin, built with the SDK, that misbehaves on request, for the
//! host's tests. Option `mode` (else `$CHRONICLE_TESTPLUGIN_MODE`):
//! - absent or `ok`: a line per incident (its id), then `stream-misbehave: N incidents`;
//! - `error`: writes a line, then fails (status 1) at the second incident;
//! - `panic`: writes a line, then panics at the second incident (the SDK: status 2);
//! - `segfault` / `abort`: writes a line, then crashes at the second incident;
//! - `non-utf8`: writes bytes that are not UTF-8 although it declares text;
//! - `split-utf8`: writes `é` cut between two calls (so two chunks), which is valid;
//! - `cut-utf8`: ends with the first byte of `é` alone;
//! - `flood`: writes 1 MiB per incident (for the output limit);
//! - `alloc`: allocates 10 GiB at the first incident (for the memory limit).

use chronicle_plugin_sdk::{DocumentHead, Incident, Options, StreamExporter};
use std::io::Write;

/// Misbehaves as told.
#[derive(Debug)]
pub struct StreamMisbehave {
    mode: String,
    seen: u64,
}

fn io(e: std::io::Error) -> String {
    e.to_string()
}

impl StreamExporter for StreamMisbehave {
    const NAME: &'static str = "stream-misbehave";
    const VERSION: &'static str = "0.0.1";
    const EXTENSION: &'static str = "txt";
    const DESCRIPTION: &'static str = "Misbehaves mid-stream as its options say";
    const TEXT: bool = true;

    fn begin(_head: &DocumentHead, options: &Options) -> Result<Self, String> {
        options.check_known(&["mode"])?;
        let mode = options
            .get("mode")
            .map(str::to_owned)
            .or_else(|| std::env::var("CHRONICLE_TESTPLUGIN_MODE").ok())
            .unwrap_or_else(|| "ok".to_owned());
        Ok(StreamMisbehave { mode, seen: 0 })
    }

    fn start_pass(&mut self, _pass: u32, out: &mut dyn Write) -> Result<(), String> {
        match self.mode.as_str() {
            // The first byte of `é` (0xC3 0xA9) ends this call's chunk.
            "split-utf8" => out.write_all(b"caf\xc3").map_err(io),
            _ => Ok(()),
        }
    }

    fn incident(&mut self, _pass: u32, i: &Incident, out: &mut dyn Write) -> Result<(), String> {
        self.seen += 1;
        let second = self.seen == 2;
        match self.mode.as_str() {
            "split-utf8" if self.seen == 1 => out.write_all(b"\xa9\n").map_err(io)?,
            "error" if second => return Err("the ministry's figures are missing a source".into()),
            "panic" if second => panic!("index out of bounds: the len is 5 but the index is 7"),
            "segfault" if second => {
                let null: *mut u8 = std::hint::black_box(std::ptr::null_mut());
                // SAFETY: none: the crash is what this mode is for.
                unsafe { std::ptr::write_volatile(null, 1) };
            }
            "abort" if second => std::process::abort(),
            "non-utf8" if second => out.write_all(b"Puli Alam \xff\xfe").map_err(io)?,
            "flood" => out.write_all(&vec![b'x'; 1 << 20]).map_err(io)?,
            "alloc" => {
                let size = 10usize << 30;
                let mut v: Vec<u8> = Vec::with_capacity(size);
                v.resize(size, 1);
                out.write_all(&v[..1]).map_err(io)?;
            }
            _ => {}
        }
        writeln!(out, "{}", i.incident).map_err(io)
    }

    fn finish(self, out: &mut dyn Write) -> Result<(), String> {
        if self.mode == "cut-utf8" {
            return out.write_all(b"\xc3").map_err(io);
        }
        write!(out, "stream-misbehave: {} incidents", self.seen).map_err(io)
    }
}

chronicle_plugin_sdk::export_stream_plugin!(StreamMisbehave);
