//! A version-2 declaration whose `incident` function is null: refused by the host.
//!
//! Written against the raw C ABI (not the SDK macro) to break it on purpose.

use chronicle_plugin_sdk::abi::{Buffer, PluginDeclarationV2, Sink, DECLARATION_V2_SIZE};
use std::ffi::c_void;

struct Declaration(PluginDeclarationV2);
// SAFETY: only pointers to immutable statics and functions.
unsafe impl Sync for Declaration {}

unsafe extern "C" fn begin(
    _head: *const u8,
    _head_len: usize,
    _options: *const u8,
    _options_len: usize,
    _state: *mut *mut c_void,
    _message: *mut Buffer,
) -> i32 {
    0
}

unsafe extern "C" fn start_pass(
    _state: *mut c_void,
    _pass: u32,
    _out: *const Sink,
    _message: *mut Buffer,
) -> i32 {
    0
}

unsafe extern "C" fn finish(_state: *mut c_void, _out: *const Sink, _message: *mut Buffer) -> i32 {
    0
}

unsafe extern "C" fn drop_state(_state: *mut c_void) {}

unsafe extern "C" fn free(_data: *mut u8, _len: usize) {}

static DECLARATION: Declaration = Declaration(PluginDeclarationV2 {
    struct_size: DECLARATION_V2_SIZE as u32,
    text: 1,
    passes: 1,
    reserved: 0,
    name: c"null-incident".as_ptr(),
    version: c"0.0.1".as_ptr(),
    extension: c"txt".as_ptr(),
    description: c"A version-2 declaration without an incident function".as_ptr(),
    begin: Some(begin),
    start_pass: Some(start_pass),
    incident: None,
    finish: Some(finish),
    drop_state: Some(drop_state),
    free_fn: Some(free),
    passes_fn: None,
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
