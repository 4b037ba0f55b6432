//! A version-2 plugin written against the raw C ABI, breaking it on request. The mode is
//! the option `mode`'s value as it appears in the options JSON:
//! - absent: writes `raw: N incidents`;
//! - `write-after-finish`: keeps the output sink it is given in `finish` and writes through
//!   it from `drop_state`, after the call (the host refuses the export);
//! - `status-7`: writes a line, then returns the status 7 (unknown to the host) with a
//!   message at the second incident;
//! - `passes-1`, `passes-2`, `passes-3`: its `passes_fn` asks for that many passes (it
//!   declares 2; 3 is refused by the host), and each `start_pass` writes `pass N`. In the
//!   other modes it asks for 1 pass.

use chronicle_plugin_sdk::abi::{Buffer, PluginDeclarationV2, Sink, DECLARATION_V2_SIZE};
use std::ffi::c_void;

struct Declaration(PluginDeclarationV2);
// SAFETY: only pointers to immutable statics and functions.
unsafe impl Sync for Declaration {}

/// An export in progress.
struct State {
    mode: &'static str,
    /// What `passes_fn` answers.
    passes: u32,
    seen: u64,
    kept: Option<Sink>,
}

/// Hand `bytes` to the sink.
///
/// # Safety
/// `sink` is a sink the host passed to the running call (or, on purpose, one it no longer
/// expects to be used: its context still lives, so the host can refuse the write).
unsafe fn write(sink: &Sink, bytes: &[u8]) -> i32 {
    match sink.write {
        // SAFETY: the caller's contract.
        Some(w) => unsafe { w(sink.ctx, bytes.as_ptr(), bytes.len()) },
        None => 1,
    }
}

fn message(text: &str) -> Buffer {
    let boxed: Box<[u8]> = text.as_bytes().into();
    let len = boxed.len();
    Buffer {
        data: Box::into_raw(boxed).cast(),
        len,
    }
}

unsafe extern "C" fn begin(
    _head: *const u8,
    _head_len: usize,
    options: *const u8,
    options_len: usize,
    state: *mut *mut c_void,
    _message: *mut Buffer,
) -> i32 {
    // SAFETY: the ABI: valid for `options_len` bytes during the call.
    let options = unsafe { std::slice::from_raw_parts(options, options_len) };
    let has = |needle: &[u8]| options.windows(needle.len()).any(|w| w == needle);
    let mode = if has(b"\"write-after-finish\"") {
        "write-after-finish"
    } else if has(b"\"status-7\"") {
        "status-7"
    } else if has(b"\"passes-2\"") {
        "passes-2"
    } else if has(b"\"passes-3\"") {
        "passes-3"
    } else if has(b"\"passes-1\"") {
        "passes-1"
    } else {
        "ok"
    };
    let passes = match mode {
        "passes-2" => 2,
        "passes-3" => 3,
        _ => 1,
    };
    let boxed = Box::new(State {
        mode,
        passes,
        seen: 0,
        kept: None,
    });
    // SAFETY: the ABI: `state` is valid for a write.
    unsafe { state.write(Box::into_raw(boxed).cast()) };
    0
}

unsafe extern "C" fn passes(state: *mut c_void) -> u32 {
    // SAFETY: the state `begin` made.
    unsafe { (*state.cast::<State>()).passes }
}

unsafe extern "C" fn start_pass(
    state: *mut c_void,
    pass: u32,
    out: *const Sink,
    _message: *mut Buffer,
) -> i32 {
    // SAFETY: the state `begin` made; the sink valid for the call.
    unsafe {
        if (*state.cast::<State>()).mode.starts_with("passes-") {
            write(&*out, format!("pass {pass}\n").as_bytes());
        }
    }
    0
}

unsafe extern "C" fn incident(
    state: *mut c_void,
    _pass: u32,
    _incident: *const u8,
    _incident_len: usize,
    out: *const Sink,
    message_out: *mut Buffer,
) -> i32 {
    // SAFETY: the state `begin` made; the sink valid for the call.
    unsafe {
        let state = &mut *state.cast::<State>();
        state.seen += 1;
        if state.mode == "status-7" {
            if state.seen == 2 {
                message_out.write(message("a status code from the future"));
                return 7;
            }
            write(&*out, b"a line before the failure\n");
        }
    }
    0
}

unsafe extern "C" fn finish(state: *mut c_void, out: *const Sink, _message: *mut Buffer) -> i32 {
    // SAFETY: the state `begin` made; the sink valid for the call.
    unsafe {
        let state = &mut *state.cast::<State>();
        let text = format!("raw: {} incidents", state.seen);
        write(&*out, text.as_bytes());
        if state.mode == "write-after-finish" {
            state.kept = Some(*out);
        }
    }
    0
}

unsafe extern "C" fn drop_state(state: *mut c_void) {
    // SAFETY: the state `begin` made, freed once.
    let state = unsafe { Box::from_raw(state.cast::<State>()) };
    if let Some(sink) = &state.kept {
        // SAFETY: none, on purpose: the sink is used after the call it was given to.
        unsafe { write(sink, b" and a postscript") };
    }
}

unsafe extern "C" fn free(data: *mut u8, len: usize) {
    if !data.is_null() {
        // SAFETY: a buffer `message` leaked.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
    }
}

static DECLARATION: Declaration = Declaration(PluginDeclarationV2 {
    struct_size: DECLARATION_V2_SIZE as u32,
    text: 1,
    passes: 2,
    reserved: 0,
    name: c"stream-raw".as_ptr(),
    version: c"0.0.1".as_ptr(),
    extension: c"txt".as_ptr(),
    description: c"Breaks the version-2 ABI as its options say".as_ptr(),
    begin: Some(begin),
    start_pass: Some(start_pass),
    incident: Some(incident),
    finish: Some(finish),
    drop_state: Some(drop_state),
    free_fn: Some(free),
    passes_fn: Some(passes),
});

/// The ABI version symbol: 2, the version of the only declaration.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_abi_version() -> u32 {
    2
}

/// The version-2 declaration symbol.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_declare_v2() -> *const PluginDeclarationV2 {
    &DECLARATION.0
}
