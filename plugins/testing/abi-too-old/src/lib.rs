//! Reports plugin ABI version 0, older than any host loads.
//!
//! Written against the raw C ABI (not the SDK macro) to break it on purpose.

use chronicle_plugin_sdk::abi::{Buffer, PluginDeclarationV1, DECLARATION_V1_SIZE, STATUS_ERROR};

struct Declaration(PluginDeclarationV1);
// SAFETY: only pointers to immutable statics and functions.
unsafe impl Sync for Declaration {}

unsafe extern "C" fn export(
    _doc: *const u8,
    _doc_len: usize,
    _options: *const u8,
    _options_len: usize,
    _out: *mut Buffer,
) -> i32 {
    STATUS_ERROR
}

unsafe extern "C" fn free(_data: *mut u8, _len: usize) {}

static DECLARATION: Declaration = Declaration(PluginDeclarationV1 {
    struct_size: DECLARATION_V1_SIZE as u32,
    text: 1,
    name: c"too-old".as_ptr(),
    version: c"0.0.1".as_ptr(),
    extension: c"txt".as_ptr(),
    description: c"Reports plugin ABI version 0, older than any host loads.".as_ptr(),
    export_fn: Some(export),
    free_fn: Some(free),
});

/// The ABI version symbol.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_abi_version() -> u32 {
    0
}

/// The version-1 declaration symbol.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_declare_v1() -> *const PluginDeclarationV1 {
    &DECLARATION.0
}
