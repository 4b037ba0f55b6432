//! Streamed exporters (plugin ABI version 2): the document one incident at a time, the
//! output written as it is made.
//!
//! A version-1 [`Exporter`](crate::Exporter) is handed the whole document and returns the
//! whole output: at a million events that is gigabytes in the plugin's process. A
//! [`StreamExporter`] is handed the document's head (schema, provenance, totals, the number
//! of incidents), then each incident in document order, once per pass, and writes its
//! output as it goes; it holds only what it chooses to keep (aggregates). A format that must
//! know something about all the incidents before it writes its first byte (a date span in a
//! title, a list of sources in a header) declares two passes: it gathers in pass 0 and
//! writes in pass 1. When only some of its options need the gathering pass, it says so in
//! [`StreamExporter::passes`], and the other exports read the incidents once.
//!
//! ```
//! use chronicle_plugin_sdk::{DocumentHead, Incident, Options, StreamExporter};
//! use std::io::Write;
//!
//! pub struct Tsv;
//!
//! impl StreamExporter for Tsv {
//!     const NAME: &'static str = "tsv";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const EXTENSION: &'static str = "tsv";
//!     const DESCRIPTION: &'static str = "Incidents as tab-separated values";
//!     const TEXT: bool = true;
//!
//!     fn begin(_head: &DocumentHead, options: &Options) -> Result<Self, String> {
//!         options.check_known(&[])?;
//!         Ok(Tsv)
//!     }
//!
//!     fn start_pass(&mut self, _pass: u32, out: &mut dyn Write) -> Result<(), String> {
//!         out.write_all(b"incident\tdate\tkilled\n").map_err(|e| e.to_string())
//!     }
//!
//!     fn incident(&mut self, _pass: u32, i: &Incident, out: &mut dyn Write) -> Result<(), String> {
//!         let killed = i.killed.span("-").unwrap_or_default();
//!         writeln!(out, "{}\t{}\t{}", i.incident, i.date, killed).map_err(|e| e.to_string())
//!     }
//!
//!     fn finish(self, _out: &mut dyn Write) -> Result<(), String> {
//!         Ok(())
//!     }
//! }
//!
//! chronicle_plugin_sdk::export_stream_plugin!(Tsv);
//! # let out = chronicle_plugin_sdk::testing::export_stream_sample::<Tsv>(&[]).unwrap();
//! # assert!(String::from_utf8(out).unwrap().starts_with("incident\tdate"));
//! ```
//!
//! [`export_stream_plugin!`](crate::export_stream_plugin) exports both declarations: version
//! 2 (streamed) for this chronicle, and version 1, built from the same code by feeding it the
//! whole document, for a chronicle from before version 2.

use crate::view::{Incident, Options, Provenance, Totals, ViewDocument, SCHEMA};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// The document without its incidents: what [`StreamExporter::begin`] is given (as JSON,
/// what `begin` receives through the ABI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentHead {
    /// Always [`SCHEMA`] for this version of the types.
    pub schema: String,
    /// Which state of the log the view shows, and how it was computed.
    pub provenance: Provenance,
    /// Totals over all the incidents (known before the first incident is seen).
    pub totals: Totals,
    /// How many incidents follow, in each pass.
    pub incident_count: u64,
}

impl DocumentHead {
    /// The head of `doc`.
    pub fn of(doc: &ViewDocument) -> DocumentHead {
        DocumentHead {
            schema: doc.schema.clone(),
            provenance: doc.provenance.clone(),
            totals: doc.totals.clone(),
            incident_count: doc.incidents.len() as u64,
        }
    }

    /// A document with this head and no incidents (to reuse code written for whole
    /// documents, e.g. a provenance header).
    pub fn document(&self) -> ViewDocument {
        ViewDocument {
            schema: self.schema.clone(),
            provenance: self.provenance.clone(),
            incidents: Vec::new(),
            totals: self.totals.clone(),
        }
    }
}

/// An export format written as a stream (plugin ABI version 2).
///
/// The calls, for one export: [`begin`](Self::begin); then for each pass `p` in
/// `0..PASSES`, [`start_pass`](Self::start_pass) and [`incident`](Self::incident) for every
/// incident in document order; then [`finish`](Self::finish). Any `Err` ends the export
/// (the host discards what was written); an error about the options made with the
/// [`Options`] helpers is a usage error (chronicle exits with 2), as for
/// [`Exporter`](crate::Exporter). A panic in any call is caught and reported (status 2).
///
/// `out` forwards to chronicle, which writes to a temporary file as the bytes come and
/// moves it into place only when the export succeeded. It is buffered by the SDK; a write
/// error means chronicle takes no more output (its output limit, or it is gone): return it.
/// Must be deterministic, as [`Exporter::export`](crate::Exporter::export).
pub trait StreamExporter: Sized {
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
    /// How many times the incidents are given: 1, or 2 for a format that gathers
    /// aggregates in pass 0 and writes in pass 1 (at most
    /// [`MAX_PASSES`](crate::abi::MAX_PASSES)). With [`passes`](Self::passes), the most any
    /// export needs.
    const PASSES: u32 = 1;

    /// Start an export of the document whose head is `head`, with `options`.
    fn begin(head: &DocumentHead, options: &Options) -> Result<Self, String>;

    /// How many passes this export needs, its options known (asked once, right after
    /// [`begin`](Self::begin)): 1 to [`PASSES`](Self::PASSES); by default `PASSES`. A format
    /// whose gathering pass serves only some layouts returns 1 for the others, and is then
    /// given pass 0 only, also by a chronicle that does not ask (from the first release of
    /// ABI version 2: the SDK skips the passes beyond this for it). A value outside 1 to
    /// `PASSES` fails the export (status 2, as a panic: a bug of the plugin).
    fn passes(&self) -> u32 {
        Self::PASSES
    }

    /// Start pass `pass` (0-based).
    fn start_pass(&mut self, pass: u32, out: &mut dyn Write) -> Result<(), String> {
        let _ = (pass, out);
        Ok(())
    }

    /// One incident, in document order, in pass `pass`.
    fn incident(
        &mut self,
        pass: u32,
        incident: &Incident,
        out: &mut dyn Write,
    ) -> Result<(), String>;

    /// End the export, after the last pass.
    fn finish(self, out: &mut dyn Write) -> Result<(), String>;
}

/// Check the schema of a document or head before reading it whole, so that a document of
/// another schema gets the message that says so rather than a field's error.
pub(crate) fn check_schema(
    json: &[u8],
    name: &str,
    version: &str,
    what: &str,
) -> Result<(), String> {
    #[derive(Deserialize)]
    struct SchemaOnly {
        schema: String,
    }
    let schema: SchemaOnly =
        serde_json::from_slice(json).map_err(|e| format!("the view {what} is not valid: {e}"))?;
    if schema.schema != SCHEMA {
        return Err(format!(
            "the view document has schema {:?}, but this plugin ({name} {version}) reads \
             {SCHEMA:?}; update the plugin",
            schema.schema,
        ));
    }
    Ok(())
}

/// Options from their JSON bytes; empty bytes mean none.
pub(crate) fn parse_options(options_json: &[u8]) -> Result<Options, String> {
    if options_json.iter().all(u8::is_ascii_whitespace) {
        Ok(Options::default())
    } else {
        serde_json::from_slice(options_json)
            .map_err(|e| format!("the options are not a JSON object of strings: {e}"))
    }
}

/// Run `E` over a whole document in memory: every pass over `doc.incidents`, the output
/// collected. What the version-1 entry point of a streamed plugin does, and what tests use.
pub fn export_stream_document<E: StreamExporter>(
    doc: &ViewDocument,
    options: &Options,
) -> Result<Vec<u8>, String> {
    let head = DocumentHead::of(doc);
    let mut out = Vec::new();
    let mut e = E::begin(&head, options)?;
    for pass in 0..passes_of(&e)? {
        e.start_pass(pass, &mut out)?;
        for i in &doc.incidents {
            e.incident(pass, i, &mut out)?;
        }
    }
    e.finish(&mut out)?;
    Ok(out)
}

/// The passes `e` needs ([`StreamExporter::passes`]), checked to be 1 to `E::PASSES`.
pub(crate) fn passes_of<E: StreamExporter>(e: &E) -> Result<u32, String> {
    let passes = e.passes();
    if (1..=E::PASSES).contains(&passes) {
        Ok(passes)
    } else {
        Err(format!(
            "{} {}: StreamExporter::passes returned {passes}, but the plugin declares 1 to {} \
             passes (StreamExporter::PASSES)",
            E::NAME,
            E::VERSION,
            E::PASSES
        ))
    }
}

/// Parse a whole view document and options from their JSON bytes and run `E` over it
/// ([`export_stream_document`]): a streamed plugin's version-1 entry point.
pub fn export_stream_json<E: StreamExporter>(
    doc_json: &[u8],
    options_json: &[u8],
) -> Result<Vec<u8>, String> {
    check_schema(doc_json, E::NAME, E::VERSION, "document")?;
    let doc: ViewDocument = serde_json::from_slice(doc_json)
        .map_err(|e| format!("the view document is not valid: {e}"))?;
    let options = parse_options(options_json)?;
    export_stream_document::<E>(&doc, &options)
}

#[doc(hidden)]
pub mod glue {
    //! The version-2 entry points [`export_stream_plugin!`](crate::export_stream_plugin)
    //! exports; not a stable API.

    use super::{check_schema, parse_options, passes_of, DocumentHead, StreamExporter};
    use crate::__private::{bytes, guarded, message_buffer};
    use crate::abi::{Buffer, Sink, STATUS_ERROR, STATUS_OK};
    use crate::Incident;
    use std::ffi::c_void;
    use std::io::{BufWriter, Write};

    /// An export in progress: the exporter until `finish` takes it, the passes it needs, and
    /// the number of the incident being read (for messages).
    struct State<E> {
        exporter: Option<E>,
        passes: u32,
        seen: u64,
    }

    /// Writes to the host's sink.
    struct SinkWriter(Sink);

    impl Write for SinkWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let Some(write) = self.0.write else {
                return Err(std::io::Error::other("chronicle gave no output function"));
            };
            // SAFETY: the ABI makes the sink valid for the call that was given it, which is
            // running; `buf` is a live slice.
            match unsafe { write(self.0.ctx, buf.as_ptr(), buf.len()) } {
                0 => Ok(buf.len()),
                _ => Err(std::io::Error::other("chronicle takes no more output")),
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Store `status`'s message in `*message` (nothing for success).
    ///
    /// # Safety
    /// `message` is null or valid for a write of a [`Buffer`].
    unsafe fn answer(status: i32, payload: Vec<u8>, message: *mut Buffer) -> i32 {
        if status != STATUS_OK && !message.is_null() {
            // SAFETY: checked non-null; the caller guarantees it is valid for a write.
            unsafe { message.write(message_buffer(payload)) };
        }
        status
    }

    /// Run `f` with a buffered writer to `out`, flushed before the call returns (the sink is
    /// valid only during the call).
    ///
    /// # Safety
    /// `out` is null or points to a sink valid for this call.
    unsafe fn with_sink(
        out: *const Sink,
        f: impl FnOnce(&mut dyn Write) -> Result<(), String>,
    ) -> Result<Vec<u8>, String> {
        if out.is_null() {
            return Err("chronicle passed no output sink".to_owned());
        }
        // SAFETY: non-null, and valid for this call by the caller's contract.
        let sink = unsafe { out.read() };
        let mut w = BufWriter::with_capacity(1 << 16, SinkWriter(sink));
        f(&mut w)?;
        w.flush().map_err(|e| e.to_string())?;
        Ok(Vec::new())
    }

    /// # Safety
    /// `state` is null or a pointer `begin::<E>` returned, not yet dropped.
    unsafe fn state_mut<'a, E>(state: *mut c_void) -> Result<&'a mut State<E>, String> {
        if state.is_null() {
            return Err("chronicle passed no export state".to_owned());
        }
        // SAFETY: by the caller's contract, a live `State<E>` leaked by `begin`; the host
        // makes one call at a time on one state.
        Ok(unsafe { &mut *state.cast::<State<E>>() })
    }

    const FINISHED: &str = "the export was already finished";

    /// `begin`: the head parsed, the options parsed, the exporter started.
    ///
    /// # Safety
    /// The ABI's contract for `begin`.
    pub unsafe extern "C" fn begin<E: StreamExporter>(
        head: *const u8,
        head_len: usize,
        options: *const u8,
        options_len: usize,
        state: *mut *mut c_void,
        message: *mut Buffer,
    ) -> i32 {
        if state.is_null() {
            // SAFETY: the caller's contract.
            return unsafe { answer(STATUS_ERROR, b"no state pointer".to_vec(), message) };
        }
        let mut started = None;
        let (status, payload) = guarded(|| {
            // SAFETY: the ABI: each pointer null or valid for its length during the call.
            let (head, options) = unsafe { (bytes(head, head_len), bytes(options, options_len)) };
            check_schema(head, E::NAME, E::VERSION, "document's head")?;
            let head: DocumentHead = serde_json::from_slice(head)
                .map_err(|e| format!("the view document's head is not valid: {e}"))?;
            let options = parse_options(options)?;
            let exporter = E::begin(&head, &options)?;
            // A count outside the declared range is the plugin's bug: reported as a panic
            // (status 2), never taken for a refused option.
            let passes = passes_of(&exporter).unwrap_or_else(|bug| std::panic::panic_any(bug));
            started = Some((exporter, passes));
            Ok(Vec::new())
        });
        if let (STATUS_OK, Some((exporter, passes))) = (status, started) {
            let boxed = Box::new(State {
                exporter: Some(exporter),
                passes,
                seen: 0,
            });
            // SAFETY: checked non-null; the ABI makes it valid for a write.
            unsafe { state.write(Box::into_raw(boxed).cast()) };
            return STATUS_OK;
        }
        // SAFETY: the caller's contract.
        unsafe { answer(status, payload, message) }
    }

    /// `start_pass`.
    ///
    /// # Safety
    /// The ABI's contract for `start_pass`.
    pub unsafe extern "C" fn start_pass<E: StreamExporter>(
        state: *mut c_void,
        pass: u32,
        out: *const Sink,
        message: *mut Buffer,
    ) -> i32 {
        let (status, payload) = guarded(|| {
            // SAFETY: the ABI's contract: the state `begin` made, a sink valid for the call.
            unsafe {
                let state = state_mut::<E>(state)?;
                if pass >= state.passes {
                    // A host that does not ask `passes` runs every declared pass.
                    return Ok(Vec::new());
                }
                state.seen = 0;
                let e = state.exporter.as_mut().ok_or(FINISHED)?;
                with_sink(out, |w| e.start_pass(pass, w))
            }
        });
        // SAFETY: the caller's contract.
        unsafe { answer(status, payload, message) }
    }

    /// `incident`: the incident parsed, then given to the exporter.
    ///
    /// # Safety
    /// The ABI's contract for `incident`.
    pub unsafe extern "C" fn incident<E: StreamExporter>(
        state: *mut c_void,
        pass: u32,
        incident: *const u8,
        incident_len: usize,
        out: *const Sink,
        message: *mut Buffer,
    ) -> i32 {
        let (status, payload) = guarded(|| {
            // SAFETY: the ABI's contract: the state `begin` made, the incident's bytes and a
            // sink valid for the call.
            unsafe {
                let state = state_mut::<E>(state)?;
                if pass >= state.passes {
                    return Ok(Vec::new());
                }
                state.seen += 1;
                let n = state.seen;
                let e = state.exporter.as_mut().ok_or(FINISHED)?;
                let parsed: Incident = serde_json::from_slice(bytes(incident, incident_len))
                    .map_err(|err| {
                        format!("incident {n} of the view document is not valid: {err}")
                    })?;
                with_sink(out, |w| e.incident(pass, &parsed, w))
            }
        });
        // SAFETY: the caller's contract.
        unsafe { answer(status, payload, message) }
    }

    /// `finish`.
    ///
    /// # Safety
    /// The ABI's contract for `finish`.
    pub unsafe extern "C" fn finish<E: StreamExporter>(
        state: *mut c_void,
        out: *const Sink,
        message: *mut Buffer,
    ) -> i32 {
        let (status, payload) = guarded(|| {
            // SAFETY: the ABI's contract: the state `begin` made, a sink valid for the call.
            unsafe {
                let state = state_mut::<E>(state)?;
                let e = state.exporter.take().ok_or(FINISHED)?;
                with_sink(out, |w| e.finish(w))
            }
        });
        // SAFETY: the caller's contract.
        unsafe { answer(status, payload, message) }
    }

    /// `passes_fn`: the passes the export needs, as `begin` found them (the declared
    /// `PASSES` for a null state, which no host passes).
    ///
    /// # Safety
    /// The ABI's contract for `passes_fn`.
    pub unsafe extern "C" fn passes<E: StreamExporter>(state: *mut c_void) -> u32 {
        // SAFETY: the ABI's contract: the state `begin` made, not yet dropped.
        match unsafe { state_mut::<E>(state) } {
            Ok(state) => state.passes,
            Err(_) => E::PASSES,
        }
    }

    /// `drop_state`: the state `begin` made, freed (a panic while dropping is swallowed: it
    /// cannot be reported, and must not unwind into the host).
    ///
    /// # Safety
    /// `state` is null or a pointer `begin::<E>` returned, dropped only once.
    pub unsafe extern "C" fn drop_state<E: StreamExporter>(state: *mut c_void) {
        if state.is_null() {
            return;
        }
        let _ = guarded(|| {
            // SAFETY: the caller's contract: leaked by `begin` as a `Box<State<E>>`.
            drop(unsafe { Box::from_raw(state.cast::<State<E>>()) });
            Ok(Vec::new())
        });
    }
}

/// Emit the C symbols that make a `cdylib` crate a chronicle plugin for the
/// [`StreamExporter`] type given: `chronicle_plugin_abi_version` (returning 1, the oldest
/// version it serves), `chronicle_plugin_declare_v2` (streamed) and
/// `chronicle_plugin_declare_v1` (the whole document in one buffer, for a chronicle from
/// before version 2; the same code runs, fed the whole document). It also implements
/// [`Exporter`](crate::Exporter) for the type, the same way (what the SDK's
/// [`testing`](crate::testing) helpers take): the streamed code, fed every incident.
///
/// ```ignore
/// chronicle_plugin_sdk::export_stream_plugin!(MyFormat);
/// ```
#[macro_export]
macro_rules! export_stream_plugin {
    ($exporter:ty) => {
        impl $crate::Exporter for $exporter {
            const NAME: &'static str = <$exporter as $crate::StreamExporter>::NAME;
            const VERSION: &'static str = <$exporter as $crate::StreamExporter>::VERSION;
            const EXTENSION: &'static str = <$exporter as $crate::StreamExporter>::EXTENSION;
            const DESCRIPTION: &'static str = <$exporter as $crate::StreamExporter>::DESCRIPTION;
            const TEXT: bool = <$exporter as $crate::StreamExporter>::TEXT;

            fn export(
                doc: &$crate::view::ViewDocument,
                options: &$crate::Options,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                $crate::stream::export_stream_document::<$exporter>(doc, options)
            }
        }

        const _: () = {
            use $crate::abi as __abi;
            use $crate::StreamExporter as __Exporter;

            const _: () = $crate::__private::check_declaration(
                <$exporter as __Exporter>::NAME,
                <$exporter as __Exporter>::EXTENSION,
            );
            const _: () = assert!(
                <$exporter as __Exporter>::PASSES >= 1
                    && <$exporter as __Exporter>::PASSES <= __abi::MAX_PASSES,
                "StreamExporter::PASSES must be 1 to MAX_PASSES"
            );

            static __NAME: [u8; <$exporter as __Exporter>::NAME.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::NAME);
            static __VERSION: [u8; <$exporter as __Exporter>::VERSION.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::VERSION);
            static __EXTENSION: [u8; <$exporter as __Exporter>::EXTENSION.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::EXTENSION);
            static __DESCRIPTION: [u8; <$exporter as __Exporter>::DESCRIPTION.len() + 1] =
                $crate::__private::nul_terminated(<$exporter as __Exporter>::DESCRIPTION);

            static __DECLARATION_V1: $crate::__private::StaticDeclaration =
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

            static __DECLARATION_V2: $crate::__private::StaticDeclarationV2 =
                $crate::__private::StaticDeclarationV2(__abi::PluginDeclarationV2 {
                    struct_size: __abi::DECLARATION_V2_SIZE as u32,
                    text: <$exporter as __Exporter>::TEXT as u32,
                    passes: <$exporter as __Exporter>::PASSES,
                    reserved: 0,
                    name: __NAME.as_ptr().cast(),
                    version: __VERSION.as_ptr().cast(),
                    extension: __EXTENSION.as_ptr().cast(),
                    description: __DESCRIPTION.as_ptr().cast(),
                    begin: Some($crate::stream::glue::begin::<$exporter>),
                    start_pass: Some($crate::stream::glue::start_pass::<$exporter>),
                    incident: Some($crate::stream::glue::incident::<$exporter>),
                    finish: Some($crate::stream::glue::finish::<$exporter>),
                    drop_state: Some($crate::stream::glue::drop_state::<$exporter>),
                    free_fn: Some(__free),
                    passes_fn: Some($crate::stream::glue::passes::<$exporter>),
                });

            unsafe extern "C" fn __export(
                doc: *const u8,
                doc_len: usize,
                options: *const u8,
                options_len: usize,
                out: *mut __abi::Buffer,
            ) -> i32 {
                // SAFETY: the ABI requires of the host exactly `run_export_with`'s contract.
                unsafe {
                    $crate::__private::run_export_with(
                        doc,
                        doc_len,
                        options,
                        options_len,
                        out,
                        $crate::export_stream_json::<$exporter>,
                    )
                }
            }

            unsafe extern "C" fn __free(data: *mut u8, len: usize) {
                // SAFETY: the ABI requires the host to hand back, once, a buffer this
                // plugin returned, which `free_buffer` requires.
                unsafe { $crate::__private::free_buffer(data, len) }
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn chronicle_plugin_abi_version() -> u32 {
                // The oldest version served: a host takes the newest declaration it knows.
                1
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn chronicle_plugin_declare_v1() -> *const __abi::PluginDeclarationV1 {
                $crate::__private::declaration_ptr(&__DECLARATION_V1)
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn chronicle_plugin_declare_v2() -> *const __abi::PluginDeclarationV2 {
                &__DECLARATION_V2.0
            }
        };
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::abi::{Buffer, Sink, STATUS_OK, STATUS_PANIC};
    use crate::testing::{export_stream_sample, sample_document};
    use std::ffi::c_void;

    /// Writes what it is given; gathers in pass 0 only with `gather=yes` (`passes=N` makes it
    /// ask for N passes, right or wrong).
    struct Counted {
        passes: u32,
    }

    impl StreamExporter for Counted {
        const NAME: &'static str = "counted";
        const VERSION: &'static str = "0";
        const EXTENSION: &'static str = "txt";
        const DESCRIPTION: &'static str = "counts";
        const TEXT: bool = true;
        const PASSES: u32 = 2;

        fn begin(_head: &DocumentHead, options: &Options) -> Result<Self, String> {
            let gather = options.get_bool("gather", false)?;
            let passes = match options.get("passes") {
                Some(n) => n.parse().map_err(|_| "passes: a number")?,
                None => 1 + u32::from(gather),
            };
            Ok(Counted { passes })
        }

        fn passes(&self) -> u32 {
            self.passes
        }

        fn start_pass(&mut self, pass: u32, out: &mut dyn Write) -> Result<(), String> {
            writeln!(out, "pass {pass}").map_err(|e| e.to_string())
        }

        fn incident(&mut self, pass: u32, i: &Incident, out: &mut dyn Write) -> Result<(), String> {
            writeln!(out, "{pass} {}", i.incident).map_err(|e| e.to_string())
        }

        fn finish(self, out: &mut dyn Write) -> Result<(), String> {
            out.write_all(b"end").map_err(|e| e.to_string())
        }
    }

    fn passes_in(out: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| l.starts_with("pass "))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_passes_depend_on_the_options() {
        let once = export_stream_sample::<Counted>(&[]).unwrap();
        assert_eq!(passes_in(&once), ["pass 0"]);
        let twice = export_stream_sample::<Counted>(&[("gather", "yes")]).unwrap();
        assert_eq!(passes_in(&twice), ["pass 0", "pass 1"]);
        // The version-1 entry point (the whole document) runs as many.
        let doc = sample_document();
        let whole = export_stream_document::<Counted>(&doc, &crate::testing::options(&[]));
        assert_eq!(whole.unwrap(), once);
    }

    #[test]
    fn a_count_outside_the_declared_range_is_the_plugins_bug() {
        for n in ["0", "3"] {
            let err = export_stream_sample::<Counted>(&[("passes", n)]).unwrap_err();
            assert!(
                err.starts_with(&format!("status {STATUS_PANIC}: ")),
                "{err}"
            );
            assert!(
                err.contains(&format!(
                    "counted 0: StreamExporter::passes returned {n}, but the plugin declares 1 \
                     to 2 passes"
                )),
                "{err}"
            );
        }
    }

    unsafe extern "C" fn collect(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
        // SAFETY: `ctx` is the test's `Vec`, alive during the calls; `data` is valid for `len`.
        unsafe {
            (*ctx.cast::<Vec<u8>>()).extend_from_slice(std::slice::from_raw_parts(data, len))
        };
        0
    }

    /// A host from the first release of version 2 does not call `passes_fn`: it runs the
    /// declared passes, and the SDK hands the exporter only those it asked for.
    #[test]
    fn a_host_that_does_not_ask_gets_the_same_bytes() {
        let doc = sample_document();
        let head = serde_json::to_vec(&DocumentHead::of(&doc)).unwrap();
        let mut out: Vec<u8> = Vec::new();
        let sink = Sink {
            ctx: (&raw mut out).cast(),
            write: Some(collect),
        };
        let mut state: *mut c_void = std::ptr::null_mut();
        let mut message = Buffer::EMPTY;
        // SAFETY: live slices and locals, as the ABI requires; the state is used as `begin`
        // made it and dropped once.
        unsafe {
            let status = glue::begin::<Counted>(
                head.as_ptr(),
                head.len(),
                b"{}".as_ptr(),
                2,
                &mut state,
                &mut message,
            );
            assert_eq!(status, STATUS_OK);
            for pass in 0..Counted::PASSES {
                assert_eq!(
                    glue::start_pass::<Counted>(state, pass, &sink, &mut message),
                    STATUS_OK
                );
                for i in &doc.incidents {
                    let json = serde_json::to_vec(i).unwrap();
                    let status = glue::incident::<Counted>(
                        state,
                        pass,
                        json.as_ptr(),
                        json.len(),
                        &sink,
                        &mut message,
                    );
                    assert_eq!(status, STATUS_OK);
                }
            }
            assert_eq!(
                glue::finish::<Counted>(state, &sink, &mut message),
                STATUS_OK
            );
            glue::drop_state::<Counted>(state);
        }
        assert_eq!(out, export_stream_sample::<Counted>(&[]).unwrap());
    }
}
