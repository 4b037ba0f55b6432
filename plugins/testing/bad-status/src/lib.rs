//! Returns status 7, which the ABI does not define, with a buffer the host
//! must still hand back to `free_fn`. `chronicle_testplugin_live_buffers`
//! tells how many returned buffers were not freed yet, so a test can check
//! the host's side of the ownership rules.
//!
//! Written against the raw C ABI (not the SDK macro) to break it on purpose.

use chronicle_plugin_sdk::abi::{Buffer, PluginDeclarationV1, ABI_VERSION, DECLARATION_V1_SIZE};
use std::sync::atomic::{AtomicI64, Ordering};

static LIVE: AtomicI64 = AtomicI64::new(0);

struct Declaration(PluginDeclarationV1);
// SAFETY: only pointers to immutable statics and functions.
unsafe impl Sync for Declaration {}

unsafe extern "C" fn export(
    _doc: *const u8,
    _doc_len: usize,
    _options: *const u8,
    _options_len: usize,
    out: *mut Buffer,
) -> i32 {
    let bytes: Box<[u8]> = b"a status code from the future".to_vec().into_boxed_slice();
    let len = bytes.len();
    let data = Box::into_raw(bytes).cast::<u8>();
    LIVE.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the ABI requires the host to pass an `out` valid for a write of a `Buffer`
    // (a non-conforming host would break the ABI, not this plugin).
    unsafe { out.write(Buffer { data, len }) };
    7
}

unsafe extern "C" fn free(data: *mut u8, len: usize) {
    if data.is_null() {
        return;
    }
    LIVE.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: `data`/`len` come from the boxed slice leaked in `export`.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
}

static DECLARATION: Declaration = Declaration(PluginDeclarationV1 {
    struct_size: DECLARATION_V1_SIZE as u32,
    text: 1,
    name: c"bad-status".as_ptr(),
    version: c"0.0.1".as_ptr(),
    extension: c"txt".as_ptr(),
    description: c"Returns an unknown status code".as_ptr(),
    export_fn: Some(export),
    free_fn: Some(free),
});

/// The ABI version symbol.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_abi_version() -> u32 {
    ABI_VERSION
}

/// The version-1 declaration symbol.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_declare_v1() -> *const PluginDeclarationV1 {
    &DECLARATION.0
}

/// Buffers returned by `export` and not freed yet.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_testplugin_live_buffers() -> i64 {
    LIVE.load(Ordering::SeqCst)
}
