//! The C ABI between chronicle (the host) and an export plugin.
//!
//! Mirrors `plugins/include/chronicle_plugin.h`; `docs/plugin-abi.md` states the rules. Nothing Rust-specific crosses the boundary: integers, pointers
//! to bytes, NUL-terminated UTF-8 strings and C function pointers.
//!
//! A plugin exports two symbols:
//! - `uint32_t chronicle_plugin_abi_version(void)`, whose shape never
//!   changes: the host calls it first and only goes on if it supports the
//!   version returned;
//! - `const chronicle_plugin_declaration_vN *chronicle_plugin_declare_vN(void)`
//!   (the version is in the name), returning a pointer to a static declaration
//!   ([`PluginDeclarationV1`]: the whole document in one buffer, the output in one buffer;
//!   [`PluginDeclarationV2`]: the document one incident at a time, the output written as it
//!   is made, through a [`Sink`]) that lives as long as the library. A plugin may export
//!   both.
//!
//! `chronicle_plugin_abi_version` returns the *oldest* version whose declaration the plugin
//! exports; a host takes the newest declaration it finds among the versions it supports
//! from that one up (see `docs/plugin-abi.md`, "Versioning").

use std::ffi::{c_char, c_void};

/// The ABI version this SDK implements (the newest a host built with it loads).
pub const ABI_VERSION: u32 = 2;

/// The oldest ABI version a host built with this SDK loads.
pub const MIN_SUPPORTED_ABI_VERSION: u32 = 1;

/// Name of the ABI-version symbol (NUL-terminated).
pub const ABI_VERSION_SYMBOL: &[u8] = b"chronicle_plugin_abi_version\0";

/// Name of the version-1 declaration symbol (NUL-terminated).
pub const DECLARE_V1_SYMBOL: &[u8] = b"chronicle_plugin_declare_v1\0";

/// Name of the version-2 declaration symbol (NUL-terminated).
pub const DECLARE_V2_SYMBOL: &[u8] = b"chronicle_plugin_declare_v2\0";

/// Status: success; the buffer holds the exported bytes.
pub const STATUS_OK: i32 = 0;
/// Status: failure; the buffer holds a UTF-8 error message.
pub const STATUS_ERROR: i32 = 1;
/// Status: the plugin panicked; the buffer holds a UTF-8 message.
pub const STATUS_PANIC: i32 = 2;
/// Status: the user's input was refused (a bad `--option`); the buffer holds a UTF-8
/// message. chronicle exits with 2 (bad input). Added within ABI version 1: a host that
/// does not know it reports an unknown status, an error (see `docs/plugin-abi.md`,
/// "Status codes").
pub const STATUS_USAGE: i32 = 3;

/// The largest output a host accepts in one buffer (version 1), in bytes (256 MiB). A
/// plugin that returns more gets an error instead of an export. A version-2 plugin's output
/// is never held: it is bounded by the host's output limit instead
/// ([`DEFAULT_STREAMED_OUTPUT_BYTES`]).
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024 * 1024;

/// The default bound of a version-2 (streamed) export's output, in bytes (16 GiB): nothing
/// is held in memory, so it only stops a runaway plugin from filling the disk; chronicle's
/// `--plugin-output SIZE` changes it.
pub const DEFAULT_STREAMED_OUTPUT_BYTES: u64 = 16 << 30;

/// The most passes over the incidents a version-2 plugin may declare.
pub const MAX_PASSES: u32 = 4;

/// Error and panic messages longer than this (64 KiB) are cut by the host.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Longest format name (bytes).
pub const MAX_NAME_BYTES: usize = 64;

/// Longest file extension (bytes).
pub const MAX_EXTENSION_BYTES: usize = 32;

/// A byte buffer allocated by the plugin.
///
/// The host reads `len` bytes from `data`, copies them, and then calls the
/// plugin's `free_fn` with the same `data` and `len`, whatever the status. The
/// host never frees it with its own allocator.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Buffer {
    /// Start of the bytes; may be null only when `len` is 0.
    pub data: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

impl Buffer {
    /// The empty buffer the host passes in before a call.
    pub const EMPTY: Buffer = Buffer {
        data: std::ptr::null_mut(),
        len: 0,
    };
}

/// `uint32_t chronicle_plugin_abi_version(void)`
pub type AbiVersionFn = unsafe extern "C" fn() -> u32;

/// `const chronicle_plugin_declaration_v1 *chronicle_plugin_declare_v1(void)`
pub type DeclareV1Fn = unsafe extern "C" fn() -> *const PluginDeclarationV1;

/// Renders a view document.
///
/// `doc`/`doc_len`: the view document, UTF-8 JSON (schema
/// `chronicle.views/1`). `options`/`options_len`: a UTF-8 JSON object of
/// string to string. Both are owned by the host and valid only during the
/// call. The plugin writes its result to `*out` and returns a status code
/// ([`STATUS_OK`], [`STATUS_ERROR`], [`STATUS_PANIC`], [`STATUS_USAGE`]). It may be called
/// from several threads at once.
pub type ExportFn = unsafe extern "C" fn(
    doc: *const u8,
    doc_len: usize,
    options: *const u8,
    options_len: usize,
    out: *mut Buffer,
) -> i32;

/// Frees a [`Buffer`] the plugin returned, given its `data` and `len`.
pub type FreeFn = unsafe extern "C" fn(data: *mut u8, len: usize);

/// What a plugin declares about itself (ABI version 1).
///
/// Grows only at the end: a later minor revision may append fields and
/// raise `struct_size`; a host reads the fields it knows and ignores the
/// rest. A host refuses a declaration whose `struct_size` is smaller than
/// [`DECLARATION_V1_SIZE`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginDeclarationV1 {
    /// `sizeof` the struct as the plugin was compiled.
    pub struct_size: u32,
    /// 1 when the output is UTF-8 text, 0 when it is binary.
    pub text: u32,
    /// Format name, NUL-terminated: lowercase `[a-z0-9][a-z0-9_-]*`, at most
    /// [`MAX_NAME_BYTES`] bytes.
    pub name: *const c_char,
    /// Plugin version, NUL-terminated UTF-8, e.g. `"0.1.0"`.
    pub version: *const c_char,
    /// File extension without the dot, NUL-terminated, e.g. `"md"`.
    pub extension: *const c_char,
    /// One-line description, NUL-terminated UTF-8.
    pub description: *const c_char,
    /// The export function.
    pub export_fn: Option<ExportFn>,
    /// Frees what `export` returned.
    pub free_fn: Option<FreeFn>,
}

/// Where a version-2 plugin writes its output: `write(ctx, data, len)` hands `len` bytes to
/// the host, which forwards them at once (nothing accumulates on either side).
///
/// Valid only during the call it is passed to (`start_pass`, `incident`, `finish`): a
/// plugin never keeps it. `write` returns 0 when the host took the bytes, anything else when
/// it takes no more (the output limit is reached, the reader is gone, or the sink is used
/// outside a call): the plugin should then stop and return [`STATUS_ERROR`]; the host reports
/// its own reason, whatever the plugin returns.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Sink {
    /// The host's context, passed back to `write`.
    pub ctx: *mut c_void,
    /// Takes `len` bytes at `data` (null only when `len` is 0).
    pub write: Option<SinkWriteFn>,
}

/// `int32_t (*write)(void *ctx, const uint8_t *data, size_t len)`: 0 when the bytes were
/// taken.
pub type SinkWriteFn = unsafe extern "C" fn(ctx: *mut c_void, data: *const u8, len: usize) -> i32;

/// `const chronicle_plugin_declaration_v2 *chronicle_plugin_declare_v2(void)`
pub type DeclareV2Fn = unsafe extern "C" fn() -> *const PluginDeclarationV2;

/// Starts a streamed export.
///
/// `head`/`head_len`: the document without its incidents (UTF-8 JSON: `schema`,
/// `provenance`, `totals`, `incident_count`); `options`/`options_len` as for
/// [`ExportFn`]. On success the plugin stores its state (any pointer, null included) in
/// `*state` and returns [`STATUS_OK`]; otherwise a status and a message in `*message`.
pub type BeginFn = unsafe extern "C" fn(
    head: *const u8,
    head_len: usize,
    options: *const u8,
    options_len: usize,
    state: *mut *mut c_void,
    message: *mut Buffer,
) -> i32;

/// Starts pass `pass` (0-based) over the incidents; may write.
pub type StartPassFn = unsafe extern "C" fn(
    state: *mut c_void,
    pass: u32,
    out: *const Sink,
    message: *mut Buffer,
) -> i32;

/// One incident (UTF-8 JSON, one object of the document's `incidents`) in pass `pass`;
/// may write.
pub type IncidentFn = unsafe extern "C" fn(
    state: *mut c_void,
    pass: u32,
    incident: *const u8,
    incident_len: usize,
    out: *const Sink,
    message: *mut Buffer,
) -> i32;

/// Ends the export after the last pass; may write.
pub type FinishFn =
    unsafe extern "C" fn(state: *mut c_void, out: *const Sink, message: *mut Buffer) -> i32;

/// Frees the state `begin` made. Called exactly once after a successful `begin`, whatever
/// happened since (also after an error).
pub type DropStateFn = unsafe extern "C" fn(state: *mut c_void);

/// How many passes over the incidents this export needs, now that `begin` has seen its
/// options: 1 to the declaration's `passes`. Called once, after a successful `begin` and
/// before the first `start_pass` (revision 2.1 of the declaration; see
/// [`PluginDeclarationV2::passes_fn`]).
pub type PassesFn = unsafe extern "C" fn(state: *mut c_void) -> u32;

/// What a version-2 plugin declares about itself: a streamed exporter.
///
/// The host calls `begin` with the head of the document, then for each pass `start_pass`
/// and `incident` for every incident in document order, then `finish`, then `drop_state`.
/// Grows only at the end, as [`PluginDeclarationV1`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginDeclarationV2 {
    /// `sizeof` the struct as the plugin was compiled.
    pub struct_size: u32,
    /// 1 when the output is UTF-8 text, 0 when it is binary.
    pub text: u32,
    /// How many times the host goes over the incidents: 1 to [`MAX_PASSES`]. With a
    /// [`passes_fn`](Self::passes_fn), the most any export needs (what a host that does not
    /// know `passes_fn` runs).
    pub passes: u32,
    /// 0 (room for flags).
    pub reserved: u32,
    /// Format name, as in version 1.
    pub name: *const c_char,
    /// Plugin version.
    pub version: *const c_char,
    /// File extension without the dot.
    pub extension: *const c_char,
    /// One-line description.
    pub description: *const c_char,
    /// Starts an export.
    pub begin: Option<BeginFn>,
    /// Starts a pass.
    pub start_pass: Option<StartPassFn>,
    /// One incident.
    pub incident: Option<IncidentFn>,
    /// Ends the export.
    pub finish: Option<FinishFn>,
    /// Frees the state.
    pub drop_state: Option<DropStateFn>,
    /// Frees a message buffer.
    pub free_fn: Option<FreeFn>,
    /// Revision 2.1 (`struct_size` at least [`DECLARATION_V2_SIZE`], 104 bytes on LP64): how
    /// many passes this export needs, asked once after `begin`, so that the count can depend
    /// on the options (a layout that needs no gathering pass). May be null: then every
    /// export runs `passes` passes, as with a declaration of the first revision (96 bytes),
    /// whose plugins a host keeps loading.
    pub passes_fn: Option<PassesFn>,
}

/// The size of the version-2 declaration as this SDK defines it (revision 2.1, with
/// `passes_fn`): the `struct_size` the SDK's plugins declare.
pub const DECLARATION_V2_SIZE: usize = std::mem::size_of::<PluginDeclarationV2>();

/// The size of the first revision of the version-2 declaration (2.0, without `passes_fn`;
/// 96 bytes on LP64): the smallest `struct_size` a host accepts. A host reads only the
/// fields a plugin's `struct_size` covers.
pub const DECLARATION_V2_0_SIZE: usize = std::mem::offset_of!(PluginDeclarationV2, passes_fn);

/// The size of the version-1 declaration: the smallest `struct_size` a
/// host accepts.
pub const DECLARATION_V1_SIZE: usize = std::mem::size_of::<PluginDeclarationV1>();

/// Whether `name` is a valid format name: `[a-z0-9][a-z0-9_-]*`, at most
/// [`MAX_NAME_BYTES`] bytes. Usable in constants (the SDK macro checks
/// names at compile time).
pub const fn is_valid_format_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_NAME_BYTES {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok =
            c.is_ascii_lowercase() || c.is_ascii_digit() || (i > 0 && (c == b'_' || c == b'-'));
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `ext` is a valid file extension: ASCII letters, digits, `.`, `_`
/// and `-`, not starting with `.`, 1 to [`MAX_EXTENSION_BYTES`] bytes.
pub const fn is_valid_extension(ext: &str) -> bool {
    let b = ext.as_bytes();
    if b.is_empty() || b.len() > MAX_EXTENSION_BYTES || b[0] == b'.' {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn names() {
        for ok in [
            "markdown",
            "csv",
            "geojson",
            "a",
            "x1",
            "acled-csv",
            "my_fmt",
            "9x",
        ] {
            assert!(is_valid_format_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Markdown",
            "-x",
            "_x",
            "a b",
            "a.b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_format_name(bad), "{bad}");
        }
        for ok in ["md", "csv", "tar.gz", "HTML", "geo-json"] {
            assert!(is_valid_extension(ok), "{ok}");
        }
        for bad in ["", ".md", "a/b", "a b", &"a".repeat(33)] {
            assert!(!is_valid_extension(bad), "{bad}");
        }
    }

    #[test]
    fn layout_matches_the_header() {
        // The C header states the same offsets for LP64 platforms; the host
        // tests compile the header with the C compiler and compare.
        if size_of::<usize>() == 8 {
            assert_eq!(offset_of!(PluginDeclarationV1, struct_size), 0);
            assert_eq!(offset_of!(PluginDeclarationV1, text), 4);
            assert_eq!(offset_of!(PluginDeclarationV1, name), 8);
            assert_eq!(offset_of!(PluginDeclarationV1, free_fn), 48);
            assert_eq!(DECLARATION_V1_SIZE, 56);
            assert_eq!(size_of::<Buffer>(), 16);
            assert_eq!(offset_of!(PluginDeclarationV2, passes), 8);
            assert_eq!(offset_of!(PluginDeclarationV2, name), 16);
            assert_eq!(offset_of!(PluginDeclarationV2, begin), 48);
            assert_eq!(offset_of!(PluginDeclarationV2, drop_state), 80);
            assert_eq!(offset_of!(PluginDeclarationV2, free_fn), 88);
            assert_eq!(DECLARATION_V2_0_SIZE, 96);
            assert_eq!(offset_of!(PluginDeclarationV2, passes_fn), 96);
            assert_eq!(DECLARATION_V2_SIZE, 104);
            assert_eq!(size_of::<Sink>(), 16);
        }
    }
}
