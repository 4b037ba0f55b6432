//! A shared library built for some other program: it exports a function,
//! but none of the chronicle plugin symbols. The host must say so, not crash.

/// An entry point of some other plugin system.
#[unsafe(no_mangle)]
pub extern "C" fn other_program_plugin_init() -> i32 {
    42
}
