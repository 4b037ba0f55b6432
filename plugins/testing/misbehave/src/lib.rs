//! A plugin (built with the SDK) that misbehaves on request, for the host's
//! tests. Option `mode`:
//! - absent or `ok`: `misbehave: N incidents`;
//! - `error`: returns an error;
//! - `panic`: panics (the SDK turns it into status 2);
//! - `non-utf8`: returns bytes that are not UTF-8 although it declares text;
//! - `huge`: returns one byte more than the host accepts; and see `runaway`.

use chronicle_plugin_sdk::abi::MAX_OUTPUT_BYTES;
use chronicle_plugin_sdk::{Exporter, Options, ViewDocument};

/// Misbehaves as told.
#[derive(Debug)]
pub struct Misbehave;

impl Exporter for Misbehave {
    const NAME: &'static str = "misbehave";
    const VERSION: &'static str = "0.0.1";
    const EXTENSION: &'static str = "txt";
    const DESCRIPTION: &'static str = "Misbehaves as its options say";
    const TEXT: bool = true;

    fn export(doc: &ViewDocument, options: &Options) -> Result<Vec<u8>, String> {
        options.check_known(&["mode"])?;
        match mode(options).as_deref().unwrap_or("ok") {
            "ok" => Ok(format!("misbehave: {} incidents", doc.incidents.len()).into_bytes()),
            "error" => Err("the Ministry of Defense figures are missing a source".to_owned()),
            "panic" => panic!("index out of bounds: the len is 5 but the index is 7"),
            "non-utf8" => Ok(b"Puli Alam \xff\xfe 17 killed".to_vec()),
            // Zeroed memory is only touched if the host reads it, which it
            // must not: it checks the length first.
            "huge" => Ok(vec![0u8; MAX_OUTPUT_BYTES + 1]),
            other => runaway(other),
        }
    }
}

/// The option `mode`, else `$CHRONICLE_TESTPLUGIN_MODE`: so that `plugins check`, which
/// passes no options, can be shown each way to crash.
fn mode(options: &Options) -> Option<String> {
    options
        .get("mode")
        .map(str::to_owned)
        .or_else(|| std::env::var("CHRONICLE_TESTPLUGIN_MODE").ok())
}

/// The modes that only ever run in the host's runner:
/// - `segfault`: writes through a null pointer (SIGSEGV);
/// - `loop`: never returns (for the time limit);
/// - `alloc`: allocates 10 GiB and fills it (for the memory limit).
fn runaway(mode: &str) -> Result<Vec<u8>, String> {
    match mode {
        "segfault" => {
            let null: *mut u8 = std::hint::black_box(std::ptr::null_mut());
            // SAFETY: none: the crash is what this mode is for.
            unsafe { std::ptr::write_volatile(null, 1) };
            Ok(Vec::new())
        }
        "loop" => loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
        },
        "alloc" => {
            let size = 10usize << 30;
            let mut v: Vec<u8> = Vec::with_capacity(size);
            v.resize(size, 1);
            Ok(v[..16].to_vec())
        }
        other => Err(format!("unknown mode {other}")),
    }
}

chronicle_plugin_sdk::export_plugin!(Misbehave);
