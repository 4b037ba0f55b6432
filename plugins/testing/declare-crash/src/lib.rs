//! Dereferences a null pointer when asked for its declaration: loading it in-process would
//! kill the host with SIGSEGV. The host's runner turns that into a broken plugin.
//!
//! Written against the raw C ABI (not the SDK macro) to break it on purpose.

use chronicle_plugin_sdk::abi::PluginDeclarationV1;

/// The ABI version symbol.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_abi_version() -> u32 {
    chronicle_plugin_sdk::abi::ABI_VERSION
}

/// The version-1 declaration symbol: writes through a null pointer.
#[unsafe(no_mangle)]
pub extern "C" fn chronicle_plugin_declare_v1() -> *const PluginDeclarationV1 {
    let null: *mut PluginDeclarationV1 = std::hint::black_box(std::ptr::null_mut());
    // SAFETY: none: this is the bug the test plugin exists for (a write through null, which
    // the kernel answers with SIGSEGV).
    unsafe { std::ptr::write_volatile(null.cast::<u32>(), 1) };
    null
}
