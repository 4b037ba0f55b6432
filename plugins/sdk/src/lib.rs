//! Write export plugins for chronicle.
//!
//! A plugin is a `cdylib` crate with one type implementing [`Exporter`] and
//! one call of [`export_plugin!`]:
//!
//! ```
//! use chronicle_plugin_sdk::{Exporter, Options, ViewDocument};
//!
//! pub struct Tsv;
//!
//! impl Exporter for Tsv {
//!     const NAME: &'static str = "tsv";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const EXTENSION: &'static str = "tsv";
//!     const DESCRIPTION: &'static str = "Incidents as tab-separated values";
//!     const TEXT: bool = true;
//!
//!     fn export(doc: &ViewDocument, options: &Options) -> Result<Vec<u8>, String> {
//!         options.check_known(&[])?;
//!         let mut out = String::from("incident\tdate\tkilled\n");
//!         for i in &doc.incidents {
//!             let killed = i.killed.span("-").unwrap_or_default();
//!             out.push_str(&format!("{}\t{}\t{}\n", i.incident, i.date, killed));
//!         }
//!         Ok(out.into_bytes())
//!     }
//! }
//!
//! chronicle_plugin_sdk::export_plugin!(Tsv);
//! # let out = chronicle_plugin_sdk::testing::export_sample::<Tsv>(&[]).unwrap();
//! # assert!(String::from_utf8(out).unwrap().starts_with("incident\tdate"));
//! ```
//!
//! The macro emits the C symbols described in [`abi`] and wraps every call
//! in `catch_unwind`, so a panic in [`Exporter::export`] reaches the host as
//! an error instead of aborting it. Build plugins with the default
//! `panic = "unwind"`: with `panic = "abort"` a panic ends the host process.
//!
//! An [`Exporter`] holds the whole document and its whole output. For chronologies of any
//! size, write a [`StreamExporter`] instead (plugin ABI version 2, [`stream`]): it is given
//! the document's head, then one incident at a time, and writes as it goes; its macro,
//! [`export_stream_plugin!`], exports a version-1 entry point too.

pub mod abi;
pub mod safe;
pub mod stream;
pub mod testing;
pub mod view;

/// The JSON library the SDK reads the document with, re-exported so that a plugin can
/// write JSON (or read [`Options`] values as JSON) with the same version, without a
/// dependency of its own.
pub use serde_json;
pub use stream::{export_stream_json, DocumentHead, StreamExporter};
pub use view::{
    human_date, parse_day, CoordinateSource, Coordinates, DatePrecision, ExporterInfo, Figure,
    Filters, Group, Incident, LatLon, Leftover, LogCheckpoint, Options, Point, PointKind, Policy,
    Provenance, Qualifier, Range, Responsibility, Revision, SourceFigures, Stance, StatusFigures,
    StatusRanges, Totals, ViewDocument, SCHEMA,
};

/// An export format.
///
/// The constants become the plugin's declaration; they are checked when the
/// plugin is compiled (a format name must match `[a-z0-9][a-z0-9_-]*`, the
/// extension `[A-Za-z0-9][A-Za-z0-9._-]*`, and no string may contain NUL).
pub trait Exporter {
    /// The format name users pass to `chronicle export --format`.
    const NAME: &'static str;
    /// The plugin's version, usually `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// File extension of the output, without the dot.
    const EXTENSION: &'static str;
    /// One line for `chronicle plugins list`.
    const DESCRIPTION: &'static str;
    /// Whether the output is UTF-8 text (the host checks it is).
    const TEXT: bool;

    /// Render `doc`. Must be deterministic: the same document and options
    /// give the same bytes. Return `Err` with a message for the user when
    /// the options or the document cannot be rendered; an error about the options made
    /// with [`Options::check_known`], [`Options::get_bool`], [`Options::get_choice`] or
    /// [`Options::usage_error`] is a usage error (chronicle exits with 2).
    fn export(doc: &ViewDocument, options: &Options) -> Result<Vec<u8>, String>;
}

/// Parse a view document and options from their JSON bytes (as they cross
/// the ABI) and run `E`. Empty option bytes mean no options.
///
/// This is what the exported C function does, minus the panic handling.
pub fn export_json<E: Exporter>(doc_json: &[u8], options_json: &[u8]) -> Result<Vec<u8>, String> {
    #[derive(serde::Deserialize)]
    struct SchemaOnly {
        schema: String,
    }
    let schema: SchemaOnly = serde_json::from_slice(doc_json)
        .map_err(|e| format!("the view document is not valid: {e}"))?;
    if schema.schema != SCHEMA {
        return Err(format!(
            "the view document has schema {:?}, but this plugin ({} {}) reads {SCHEMA:?}; \
             update the plugin",
            schema.schema,
            E::NAME,
            E::VERSION
        ));
    }
    let doc: ViewDocument = serde_json::from_slice(doc_json)
        .map_err(|e| format!("the view document is not valid: {e}"))?;
    let options: Options = if options_json.iter().all(u8::is_ascii_whitespace) {
        Options::default()
    } else {
        serde_json::from_slice(options_json)
            .map_err(|e| format!("the options are not a JSON object of strings: {e}"))?
    };
    E::export(&doc, &options)
}

#[doc(hidden)]
pub mod __private {
    //! Support for [`export_plugin!`](crate::export_plugin); not a stable API.

    use crate::abi::{
        Buffer, PluginDeclarationV1, STATUS_ERROR, STATUS_OK, STATUS_PANIC, STATUS_USAGE,
    };
    use crate::Exporter;
    use std::any::Any;
    use std::cell::{Cell, RefCell};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::Once;

    /// A declaration that can live in a `static` (it only holds pointers to
    /// other statics and functions, which are never written).
    #[repr(transparent)]
    #[derive(Debug)]
    pub struct StaticDeclaration(pub PluginDeclarationV1);

    // SAFETY: the pointers inside point to immutable statics and functions.
    unsafe impl Sync for StaticDeclaration {}

    /// A version-2 declaration that can live in a `static`, as [`StaticDeclaration`].
    #[repr(transparent)]
    #[derive(Debug)]
    pub struct StaticDeclarationV2(pub crate::abi::PluginDeclarationV2);

    // SAFETY: the pointers inside point to immutable statics and functions.
    unsafe impl Sync for StaticDeclarationV2 {}

    /// `s` followed by a NUL, as an array of exactly `N = s.len() + 1`
    /// bytes. Fails to compile (in a const context) when `s` holds a NUL.
    pub const fn nul_terminated<const N: usize>(s: &str) -> [u8; N] {
        let b = s.as_bytes();
        assert!(b.len() + 1 == N, "length mismatch");
        let mut out = [0u8; N];
        let mut i = 0;
        while i < b.len() {
            assert!(b[i] != 0, "a declaration string contains a NUL byte");
            out[i] = b[i];
            i += 1;
        }
        out
    }

    /// Compile-time checks of an exporter's declaration.
    pub const fn check_declaration(name: &str, extension: &str) {
        assert!(
            crate::abi::is_valid_format_name(name),
            "Exporter::NAME must match [a-z0-9][a-z0-9_-]* (at most 64 bytes)"
        );
        assert!(
            crate::abi::is_valid_extension(extension),
            "Exporter::EXTENSION must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 32 bytes)"
        );
    }

    /// # Safety
    /// `ptr` must be null (then `len` is ignored) or valid for `len` reads
    /// for the lifetime `'a`.
    pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
        if ptr.is_null() || len == 0 {
            &[]
        } else {
            // SAFETY: `ptr` is not null here, and the caller guarantees it is valid for `len`
            // reads for `'a`; a byte slice has no alignment or validity requirement beyond that.
            unsafe { std::slice::from_raw_parts(ptr, len) }
        }
    }

    fn panic_message(payload: &(dyn Any + Send)) -> String {
        if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "the plugin panicked with a non-string payload".to_owned()
        }
    }

    thread_local! {
        /// Set while this thread runs an export through the ABI.
        static IN_EXPORT: Cell<bool> = const { Cell::new(false) };
        /// Where the last panic inside an export happened.
        static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Install (once) a panic hook that stays quiet for panics inside an
    /// export: their message and location go back to the host in the
    /// status-2 message instead of being printed by the plugin on the host's
    /// stderr. Other panics go to the hook that was there before. The hook
    /// belongs to the plugin's own copy of `std`, so the host's is untouched.
    fn install_panic_hook() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if IN_EXPORT.with(Cell::get) {
                    let location = info.location().map(|l| l.to_string());
                    PANIC_LOCATION.with(|l| *l.borrow_mut() = location);
                } else {
                    previous(info);
                }
            }));
        });
    }

    fn into_buffer(bytes: Vec<u8>) -> Buffer {
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        let data = Box::into_raw(boxed).cast::<u8>();
        Buffer { data, len }
    }

    /// The body of the exported `export` function.
    ///
    /// # Safety
    /// `doc` and `options` must each be null or valid for reads of their
    /// length; `out` must be null or valid for a write of a [`Buffer`].
    pub unsafe fn run_export<E: Exporter>(
        doc: *const u8,
        doc_len: usize,
        options: *const u8,
        options_len: usize,
        out: *mut Buffer,
    ) -> i32 {
        // SAFETY: this function's contract is `run_export_with`'s.
        unsafe {
            run_export_with(
                doc,
                doc_len,
                options,
                options_len,
                out,
                crate::export_json::<E>,
            )
        }
    }

    /// An export from the document's and the options' JSON bytes.
    pub type ExportJson = fn(&[u8], &[u8]) -> Result<Vec<u8>, String>;

    /// [`run_export`] with the export given as a function of the document's and the
    /// options' bytes (a streamed exporter's version-1 entry point uses it).
    ///
    /// # Safety
    /// As [`run_export`].
    pub unsafe fn run_export_with(
        doc: *const u8,
        doc_len: usize,
        options: *const u8,
        options_len: usize,
        out: *mut Buffer,
        export: ExportJson,
    ) -> i32 {
        if out.is_null() {
            return STATUS_ERROR;
        }
        let (status, payload) = guarded(|| {
            // SAFETY: this function's contract is `bytes`'s: each pointer is null or valid for
            // reads of its length, for as long as this call (which outlives the slices).
            let (doc, options) = unsafe { (bytes(doc, doc_len), bytes(options, options_len)) };
            export(doc, options)
        });
        // SAFETY: `out` was checked non-null above, and the caller guarantees that a non-null
        // `out` is valid for a write of a `Buffer`; `write` does not read or drop the old value.
        unsafe { out.write(into_buffer(payload)) };
        status
    }

    /// Run `f` as a call through the ABI: a panic is caught (status 2 with its message and
    /// location, kept off the host's stderr), an `Err` that is (or quotes) a usage error an
    /// [`Options`](crate::Options) helper made is status 3, any other `Err` status 1. Returns
    /// the status and the bytes for the buffer (the output, or the message).
    pub fn guarded(f: impl FnOnce() -> Result<Vec<u8>, String>) -> (i32, Vec<u8>) {
        install_panic_hook();
        let was_in_export = IN_EXPORT.with(|f| f.replace(true));
        drop(crate::view::take_usage_error());
        let result = catch_unwind(AssertUnwindSafe(f));
        IN_EXPORT.with(|f| f.set(was_in_export));
        let usage = crate::view::take_usage_error();
        match result {
            Ok(Ok(bytes)) => (STATUS_OK, bytes),
            // The error is (or quotes) a usage error an `Options` helper made: the user's
            // options are at fault, not the plugin or the document.
            Ok(Err(message)) if usage.is_some_and(|u| message.contains(&u)) => {
                (STATUS_USAGE, message.into_bytes())
            }
            Ok(Err(message)) => (STATUS_ERROR, message.into_bytes()),
            Err(panic) => {
                let message = match PANIC_LOCATION.with(|l| l.borrow_mut().take()) {
                    Some(at) => format!("panicked at {at}: {}", panic_message(&*panic)),
                    None => format!("panicked: {}", panic_message(&*panic)),
                };
                // Dropping a payload can itself panic; never let that escape.
                let _ = catch_unwind(AssertUnwindSafe(move || drop(panic)));
                (STATUS_PANIC, message.into_bytes())
            }
        }
    }

    /// A message (or output) as a buffer the plugin's `free_fn` takes back.
    pub fn message_buffer(bytes: Vec<u8>) -> Buffer {
        into_buffer(bytes)
    }

    /// The body of the exported `free` function.
    ///
    /// # Safety
    /// `data`/`len` must come from a [`Buffer`] returned by [`run_export`]
    /// and not have been freed yet.
    pub unsafe fn free_buffer(data: *mut u8, len: usize) {
        if data.is_null() {
            return;
        }
        // SAFETY: `data`/`len` are a boxed slice leaked by `into_buffer`.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
    }

    /// A pointer to a static declaration.
    pub fn declaration_ptr(d: &'static StaticDeclaration) -> *const PluginDeclarationV1 {
        &d.0
    }
}

/// Emit the C symbols that make a `cdylib` crate a chronicle plugin for
/// the [`Exporter`] type given.
///
/// ```ignore
/// chronicle_plugin_sdk::export_plugin!(MyFormat);
/// ```
///
/// Use it once per library: it defines the `#[no_mangle]` functions
/// `chronicle_plugin_abi_version` and `chronicle_plugin_declare_v1`.
#[macro_export]
macro_rules! export_plugin {
    ($exporter:ty) => {
        const _: () = {
            use $crate::abi as __abi;
            use $crate::Exporter as __Exporter;

            const _: () = $crate::__private::check_declaration(
                <$exporter as __Exporter>::NAME,
                <$exporter as __Exporter>::EXTENSION,
            );

            static __NAME: [u8; <$exporter as __Exporter>::NAME.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::NAME);
            static __VERSION: [u8; <$exporter as __Exporter>::VERSION.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::VERSION);
            static __EXTENSION: [u8; <$exporter as __Exporter>::EXTENSION.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::EXTENSION);
            static __DESCRIPTION: [u8; <$exporter as __Exporter>::DESCRIPTION.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::DESCRIPTION);

            static __DECLARATION: $crate::__private::StaticDeclaration =
                $crate::__private::StaticDeclaration(__abi::PluginDeclarationV1 {
                    struct_size: __abi::DECLARATION_V1_SIZE as u32,
                    text: <$exporter as __Exporter>::TEXT as u32,
                    name: __NAME.as_ptr().cast(),
                    version: __VERSION.as_ptr().cast(),
                    extension: __EXTENSION.as_ptr().cast(),
                    description: __DESCRIPTION.as_ptr().cast(),
                    export_fn: Some(__export),
                    free_fn: Some(__free),
                });

            unsafe extern "C" fn __export(
                doc: *const u8,
                doc_len: usize,
                options: *const u8,
                options_len: usize,
                out: *mut __abi::Buffer,
            ) -> i32 {
                // SAFETY: the ABI requires of the host exactly `run_export`'s contract: each
                // input pointer null or valid for its length, `out` null or valid for a write.
                unsafe {
                    $crate::__private::run_export::<$exporter>(
                        doc,
                        doc_len,
                        options,
                        options_len,
                        out,
                    )
                }
            }

            unsafe extern "C" fn __free(data: *mut u8, len: usize) {
                // SAFETY: the ABI requires the host to hand back, once, a buffer this
                // plugin's `__export` returned, which `free_buffer` requires.
                unsafe { $crate::__private::free_buffer(data, len) }
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn chronicle_plugin_abi_version() -> u32 {
                // The oldest (and only) version served: a version-1 declaration.
                1
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn chronicle_plugin_declare_v1() -> *const __abi::PluginDeclarationV1 {
                $crate::__private::declaration_ptr(&__DECLARATION)
            }
        };
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::abi::{Buffer, STATUS_ERROR, STATUS_OK, STATUS_PANIC, STATUS_USAGE};
    use super::*;

    struct Counter;
    impl Exporter for Counter {
        const NAME: &'static str = "counter";
        const VERSION: &'static str = "1.2.3";
        const EXTENSION: &'static str = "txt";
        const DESCRIPTION: &'static str = "Counts incidents";
        const TEXT: bool = true;
        fn export(doc: &ViewDocument, options: &Options) -> Result<Vec<u8>, String> {
            match options.get("mode") {
                Some("fail") => Err("asked to fail".to_owned()),
                Some("panic") => panic!("asked to panic"),
                // A usage error quoted inside another message is still one.
                Some("typo") => Err(format!(
                    "counter: {}",
                    options
                        .check_known(&["mode"])
                        .and(options.check_known(&[]))
                        .unwrap_err()
                )),
                // A usage error recorded, then a failure of another kind: not a usage error.
                Some("ignored") => {
                    let _ = options.usage_error("ignored");
                    Err("the document is too big".to_owned())
                }
                Some(other) => Err(options.usage_error(format!("unknown mode {other}"))),
                None => Ok(format!("{} incidents", doc.incidents.len()).into_bytes()),
            }
        }
    }

    export_plugin!(Counter);

    fn call(doc: &[u8], options: &[u8]) -> (i32, Vec<u8>) {
        let mut out = Buffer::EMPTY;
        // SAFETY: the pointers are valid slices and `out` a local.
        let status = unsafe {
            __private::run_export::<Counter>(
                doc.as_ptr(),
                doc.len(),
                options.as_ptr(),
                options.len(),
                &mut out,
            )
        };
        // SAFETY: the buffer was just returned by run_export.
        let bytes = unsafe { std::slice::from_raw_parts(out.data, out.len) }.to_vec();
        // SAFETY: handed back once.
        unsafe { __private::free_buffer(out.data, out.len) };
        (status, bytes)
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn exports_through_the_abi_glue() {
        let doc = serde_json::to_vec(&testing::sample_document()).unwrap();
        let (status, out) = call(&doc, b"");
        assert_eq!((status, text(out).as_str()), (STATUS_OK, "5 incidents"));
        let (status, out) = call(&doc, br#"{"mode":"fail"}"#);
        assert_eq!(
            (status, text(out).as_str()),
            (STATUS_ERROR, "asked to fail")
        );
        let (status, out) = call(&doc, br#"{"mode":"panic"}"#);
        assert_eq!(status, STATUS_PANIC);
        let message = text(out);
        assert!(
            message.starts_with("panicked at plugins/sdk/src/lib.rs:")
                && message.ends_with(": asked to panic"),
            "{message}"
        );
        let (status, out) = call(&doc, br#"{"mode":"sideways"}"#);
        assert_eq!(
            (status, text(out).as_str()),
            (STATUS_USAGE, "unknown mode sideways")
        );
        let (status, out) = call(&doc, br#"{"mode":"typo"}"#);
        assert_eq!(
            (status, text(out).as_str()),
            (
                STATUS_USAGE,
                "counter: unknown option \"mode\": this format takes no options"
            )
        );
        let (status, _) = call(&doc, br#"{"mode":"ignored"}"#);
        assert_eq!(status, STATUS_ERROR);
        // The mark does not outlive the call: a later plain failure is an error.
        let (status, _) = call(&doc, br#"{"mode":"fail"}"#);
        assert_eq!(status, STATUS_ERROR);
        let (status, out) = call(b"not json", b"");
        assert_eq!(status, STATUS_ERROR);
        assert!(text(out).starts_with("the view document is not valid"));
        let (status, out) = call(&doc, br#"{"mode": 3}"#);
        assert_eq!(status, STATUS_ERROR);
        assert!(text(out).starts_with("the options are not a JSON object of strings"));
        let v2 = String::from_utf8(doc.clone())
            .unwrap()
            .replace("chronicle.views/1", "chronicle.views/2");
        let (status, out) = call(v2.as_bytes(), b"");
        assert_eq!(status, STATUS_ERROR);
        assert_eq!(
            text(out),
            "the view document has schema \"chronicle.views/2\", but this plugin \
             (counter 1.2.3) reads \"chronicle.views/1\"; update the plugin"
        );
        // A null output pointer cannot carry a message, but must not crash.
        // SAFETY: null `out` is allowed and checked.
        let status = unsafe {
            __private::run_export::<Counter>(
                doc.as_ptr(),
                doc.len(),
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(status, STATUS_ERROR);
        // SAFETY: freeing null is a no-op.
        unsafe { __private::free_buffer(std::ptr::null_mut(), 0) };
    }

    // The macro's functions are only reachable by their symbol names, as
    // the host reaches them.
    unsafe extern "C" {
        fn chronicle_plugin_abi_version() -> u32;
        fn chronicle_plugin_declare_v1() -> *const abi::PluginDeclarationV1;
    }

    #[test]
    fn declares_itself() {
        use std::ffi::CStr;
        // SAFETY: defined by export_plugin! above with these signatures.
        let (version, decl) = unsafe {
            (
                chronicle_plugin_abi_version(),
                chronicle_plugin_declare_v1(),
            )
        };
        assert_eq!(version, 1);
        // SAFETY: points to a static.
        let decl = unsafe { &*decl };
        assert_eq!(decl.struct_size as usize, abi::DECLARATION_V1_SIZE);
        assert_eq!(decl.text, 1);
        // SAFETY: the strings are NUL-terminated statics.
        let s = |p| unsafe { CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(s(decl.name), "counter");
        assert_eq!(s(decl.version), "1.2.3");
        assert_eq!(s(decl.extension), "txt");
        assert_eq!(s(decl.description), "Counts incidents");
        assert!(decl.export_fn.is_some() && decl.free_fn.is_some());
    }
}
