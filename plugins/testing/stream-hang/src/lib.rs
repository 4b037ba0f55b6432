//! A version-2 plugin as a third party built it against the first release of version 2:
//! written against the raw C ABI with the declaration of that release (96 bytes on LP64,
//! no `passes_fn`), declaring 2 passes. Two uses in the tests:
//! - without options it writes `pass N` at each `start_pass` and ends with
//!   `hang: N incidents` (the incidents of every pass): a host still loads such a
//!   declaration and runs its declared passes;
//! - with the option `mode=hang` it writes a line at the first incident, then never returns
//!   from the second (mid-stream, after output has gone to the host): the runner must stop
//!   it at `--plugin-timeout`. Never run that mode in process.

use chronicle_plugin_sdk::abi::{
    BeginFn, Buffer, DropStateFn, FinishFn, FreeFn, IncidentFn, Sink, StartPassFn,
    DECLARATION_V2_0_SIZE,
};
use std::ffi::{c_char, c_void};

/// `chronicle_plugin_declaration_v2` as the first release of ABI version 2 defined it.
#[repr(C)]
struct DeclarationV20 {
    struct_size: u32,
    text: u32,
    passes: u32,
    reserved: u32,
    name: *const c_char,
    version: *const c_char,
    extension: *const c_char,
    description: *const c_char,
    begin: Option<BeginFn>,
    start_pass: Option<StartPassFn>,
    incident: Option<IncidentFn>,
    finish: Option<FinishFn>,
    drop_state: Option<DropStateFn>,
    free_fn: Option<FreeFn>,
}

const _: () = assert!(std::mem::size_of::<DeclarationV20>() == DECLARATION_V2_0_SIZE);

struct Declaration(DeclarationV20);
// SAFETY: only pointers to immutable statics and functions.
unsafe impl Sync for Declaration {}

/// An export in progress.
struct State {
    hang: bool,
    seen: u64,
}

/// Hand `bytes` to the sink.
///
/// # Safety
/// `sink` is the sink the host passed to the running call.
unsafe fn write(sink: *const Sink, bytes: &[u8]) -> i32 {
    // SAFETY: the caller's contract.
    unsafe {
        match (*sink).write {
            Some(w) => w((*sink).ctx, bytes.as_ptr(), bytes.len()),
            None => 1,
        }
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
    let hang = options.windows(6).any(|w| w == b"\"hang\"");
    let boxed = Box::new(State { hang, seen: 0 });
    // SAFETY: the ABI: `state` is valid for a write.
    unsafe { state.write(Box::into_raw(boxed).cast()) };
    0
}

unsafe extern "C" fn start_pass(
    _state: *mut c_void,
    pass: u32,
    out: *const Sink,
    _message: *mut Buffer,
) -> i32 {
    // SAFETY: the sink valid for the call.
    unsafe { write(out, format!("pass {pass}\n").as_bytes()) };
    0
}

unsafe extern "C" fn incident(
    state: *mut c_void,
    _pass: u32,
    _incident: *const u8,
    _incident_len: usize,
    out: *const Sink,
    _message: *mut Buffer,
) -> i32 {
    // SAFETY: the state `begin` made; the sink valid for the call.
    let state = unsafe { &mut *state.cast::<State>() };
    state.seen += 1;
    if state.hang {
        if state.seen == 1 {
            // SAFETY: as above.
            unsafe { write(out, b"a line before the hang\n") };
        } else {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
    0
}

unsafe extern "C" fn finish(state: *mut c_void, out: *const Sink, _message: *mut Buffer) -> i32 {
    // SAFETY: the state `begin` made; the sink valid for the call.
    unsafe {
        let text = format!("hang: {} incidents", (*state.cast::<State>()).seen);
        write(out, text.as_bytes());
    }
    0
}

unsafe extern "C" fn drop_state(state: *mut c_void) {
    // SAFETY: the state `begin` made, freed once.
    drop(unsafe { Box::from_raw(state.cast::<State>()) });
}

unsafe extern "C" fn free(_data: *mut u8, _len: usize) {}

static DECLARATION: Declaration = Declaration(DeclarationV20 {
    struct_size: DECLARATION_V2_0_SIZE as u32,
    text: 1,
    passes: 2,
    reserved: 0,
    name: c"stream-hang".as_ptr(),
    version: c"0.0.1".as_ptr(),
    extension: c"txt".as_ptr(),
    description: c"Hangs mid-stream with mode=hang (a declaration of ABI 2's first release)"
        .as_ptr(),
    begin: Some(begin),
    start_pass: Some(start_pass),
    incident: Some(incident),
    finish: Some(finish),
    drop_state: Some(drop_state),
    free_fn: Some(free),
});

/// The ABI version symbol: 2, the version of the only declaration.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_abi_version() -> u32 {
    2
}

/// The version-2 declaration symbol, pointing to a declaration of the first revision.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_declare_v2() -> *const c_void {
    (&raw const DECLARATION.0).cast()
}
