//! Opening libraries, reading declarations and calling plugins: the only
//! unsafe code of the host.

use crate::error::{HostError, PathKind};
use crate::spool::Spool;
use crate::{ExportOutput, PluginInfo};
use chronicle_plugin_sdk::abi::{
    self, AbiVersionFn, BeginFn, Buffer, DeclareV1Fn, DeclareV2Fn, DropStateFn, ExportFn, FinishFn,
    FreeFn, IncidentFn, PassesFn, PluginDeclarationV1, PluginDeclarationV2, Sink, StartPassFn,
    ABI_VERSION, DECLARATION_V1_SIZE, DECLARATION_V2_0_SIZE, MAX_MESSAGE_BYTES, MAX_OUTPUT_BYTES,
    MAX_PASSES, MIN_SUPPORTED_ABI_VERSION,
};
use libloading::Library;
use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr};
use std::path::Path;

/// A loaded plugin: its description and its functions. The library it
/// came from is never unloaded, so the function pointers stay valid for the
/// life of the process.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPlugin {
    pub(crate) info: PluginInfo,
    calls: Calls,
}

/// The functions of a declaration.
#[derive(Debug, Clone, Copy)]
enum Calls {
    /// Version 1: one call, the whole document in, the whole output out.
    V1 {
        export_fn: ExportFn,
        free_fn: FreeFn,
    },
    /// Version 2: streamed.
    V2(StreamCalls),
}

/// The functions of a version-2 declaration.
#[derive(Debug, Clone, Copy)]
struct StreamCalls {
    /// The most passes an export makes (all of them without `passes_fn`).
    passes: u32,
    /// How many passes one export needs, asked after `begin` (revision 2.1; `None` for a
    /// declaration of the first revision, or a null pointer).
    passes_fn: Option<PassesFn>,
    begin: BeginFn,
    start_pass: StartPassFn,
    incident: IncidentFn,
    finish: FinishFn,
    drop_state: DropStateFn,
    free_fn: FreeFn,
}

/// Refuse `path` unless only root and the current user can change what it
/// is (Unix), unless `trust` is set: OpenSSH's StrictModes rule.
///
/// The path itself must not be writable by group or others. It, and every
/// directory above it, on its real path (symbolic links resolved) and on the
/// path as given (whoever can write to the directory holding a symbolic link
/// can point it elsewhere), must be owned by root or the current user and
/// not be writable by group or others, except a root-owned directory with
/// the sticky bit (`/tmp`), where only an entry's owner can rename it.
pub(crate) fn check_trust(path: &Path, kind: PathKind, trust: bool) -> Result<(), HostError> {
    if trust {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use crate::error::AncestorProblem;
        use std::os::unix::fs::MetadataExt;
        let io = |p: &Path| {
            let path = p.to_path_buf();
            move |error| HostError::Io { path, error }
        };
        let meta = std::fs::metadata(path).map_err(io(path))?;
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(HostError::Untrusted {
                path: path.to_path_buf(),
                kind,
                mode,
            });
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let user = unsafe { libc::geteuid() };
        let real = std::fs::canonicalize(path).map_err(io(path))?;
        let given = std::path::absolute(path).map_err(io(path))?;
        for dir in real.ancestors().chain(given.ancestors().skip(1)) {
            let meta = std::fs::metadata(dir).map_err(io(dir))?;
            let (mode, uid) = (meta.mode() & 0o7777, meta.uid());
            let problem = if uid != 0 && uid != user {
                AncestorProblem::Owner { uid, user }
            } else if mode & 0o022 != 0 && !(uid == 0 && mode & 0o1000 != 0) {
                AncestorProblem::Writable { mode, uid }
            } else {
                continue;
            };
            return Err(HostError::UnsafeAncestor {
                path: path.to_path_buf(),
                kind,
                ancestor: if dir == real {
                    path.to_path_buf()
                } else {
                    dir.to_path_buf()
                },
                problem,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, kind);
    Ok(())
}

/// Open a library and keep it open for the life of the process.
///
/// Opening runs the library's initialisers: callers check trust first.
fn open(path: &Path) -> Result<&'static Library, HostError> {
    // Given a bare file name, the dynamic loader searches its own path
    // (LD_LIBRARY_PATH, the system directories) instead of opening that file
    // in the current directory: always hand it an absolute path.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let path_given = path;
    let path = absolute.as_path();
    #[cfg(unix)]
    let lib = {
        use libloading::os::unix::{Library as UnixLibrary, RTLD_LOCAL, RTLD_NOW};
        // RTLD_NOW: an unresolved symbol fails here, with a message,
        // instead of aborting the process at the first call.
        // SAFETY: loading a library runs its initialisers; plugins are
        // trusted code (directories are checked for write access first).
        unsafe { UnixLibrary::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Library::from)
    };
    #[cfg(not(unix))]
    // SAFETY: as on Unix: loading runs the library's initialisers, and plugins are trusted
    // code (their directories and files were checked for write access by others first).
    let lib = unsafe { Library::new(path) };
    let lib = lib.map_err(|e| {
        // dlerror() repeats the path: keep only the loader's reason.
        let reason = e.to_string();
        let prefix = format!("{}: ", path.display());
        HostError::NotALibrary {
            path: path_given.to_path_buf(),
            reason: reason.strip_prefix(&prefix).unwrap_or(&reason).to_owned(),
        }
    })?;
    // Never unloaded: unloading Rust (and many C) libraries is unsafe once
    // they have run (thread-locals, atexit handlers), and plugins are few.
    Ok(Box::leak(Box::new(lib)))
}

fn symbol<T: Copy>(lib: &'static Library, name: &[u8], path: &Path) -> Result<T, HostError> {
    // SAFETY: `T` is the documented C signature of the symbol; the library
    // stays loaded forever, so the copied function pointer stays valid.
    unsafe { lib.get::<T>(name) }
        .map(|s| *s)
        .map_err(|_| HostError::MissingSymbol {
            path: path.to_path_buf(),
            symbol: String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(name)).into_owned(),
        })
}

fn invalid(path: &Path, reason: impl Into<String>) -> HostError {
    HostError::InvalidDeclaration {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Read a NUL-terminated UTF-8 string field of the declaration.
fn string_field(ptr: *const c_char, field: &str, path: &Path) -> Result<String, HostError> {
    if ptr.is_null() {
        return Err(invalid(path, format!("`{field}` is a null pointer")));
    }
    // SAFETY: the ABI requires a NUL-terminated string that lives as long
    // as the library (forever).
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map(str::to_owned)
        .map_err(|_| invalid(path, format!("`{field}` is not UTF-8")))
}

/// Load the library at `path` and read its declaration.
pub(crate) fn load(path: &Path) -> Result<LoadedPlugin, HostError> {
    load_knowing(path, ABI_VERSION)
}

/// Load the library at `path` as a host that knows the ABI versions up to `newest` only (at
/// least [`MIN_SUPPORTED_ABI_VERSION`], at most [`ABI_VERSION`]): [`load`] with `newest` =
/// [`ABI_VERSION`]; with 1, what a chronicle from before version 2 does (tests use it to try
/// the version-1 entry point of a streamed plugin).
pub(crate) fn load_knowing(path: &Path, newest: u32) -> Result<LoadedPlugin, HostError> {
    let newest = newest.clamp(MIN_SUPPORTED_ABI_VERSION, ABI_VERSION);
    let lib = open(path)?;
    let abi_version_fn: AbiVersionFn = symbol(lib, abi::ABI_VERSION_SYMBOL, path)?;
    // SAFETY: the symbol has this signature in every ABI version.
    let version = unsafe { abi_version_fn() };
    if version > newest {
        return Err(HostError::AbiTooNew {
            path: path.to_path_buf(),
            found: version,
            min: MIN_SUPPORTED_ABI_VERSION,
            max: newest,
        });
    }
    if version < MIN_SUPPORTED_ABI_VERSION {
        return Err(HostError::AbiTooOld {
            path: path.to_path_buf(),
            found: version,
            min: MIN_SUPPORTED_ABI_VERSION,
            max: newest,
        });
    }
    // `version` is a version this host must know (the header's, or the oldest the plugin
    // serves, so that older hosts load it): take the newest declaration the plugin exports
    // among all the versions this host knows. A plugin rebuilt against a newer header that
    // still exports only `declare_v1` keeps working.
    let mut found = None;
    for v in (MIN_SUPPORTED_ABI_VERSION..=newest).rev() {
        let name = format!("chronicle_plugin_declare_v{v}\0");
        // SAFETY: only whether the symbol exists is asked; its type is not used.
        if unsafe { lib.get::<*const c_void>(name.as_bytes()) }.is_ok() {
            found = Some(v);
            break;
        }
    }
    match found {
        Some(2) => load_v2(lib, path),
        Some(1) => load_v1(lib, path),
        // None found: the error names the symbol of the version the plugin returned.
        _ => Err(HostError::MissingSymbol {
            path: path.to_path_buf(),
            symbol: format!("chronicle_plugin_declare_v{version}"),
        }),
    }
}

/// The strings and the output kind of a declaration, checked.
struct Described {
    name: String,
    version: String,
    extension: String,
    description: String,
    text: bool,
}

fn describe(path: &Path, ptrs: [*const c_char; 4], text: u32) -> Result<Described, HostError> {
    let [name, version, extension, description] = ptrs;
    let name = string_field(name, "name", path)?;
    if !abi::is_valid_format_name(&name) {
        return Err(invalid(
            path,
            format!(
                "the format name {name:?} is not valid (it must match [a-z0-9][a-z0-9_-]* and \
                 be at most {} bytes)",
                abi::MAX_NAME_BYTES
            ),
        ));
    }
    let version_str = string_field(version, "version", path)?;
    if version_str.trim().is_empty() {
        return Err(invalid(path, "`version` is empty"));
    }
    let extension = string_field(extension, "extension", path)?;
    if !abi::is_valid_extension(&extension) {
        return Err(invalid(
            path,
            format!(
                "the extension {extension:?} is not valid (letters, digits, '.', '_' and '-', \
                 not starting with '.', at most {} bytes)",
                abi::MAX_EXTENSION_BYTES
            ),
        ));
    }
    let description = string_field(description, "description", path)?;
    let text = match text {
        0 => false,
        1 => true,
        other => return Err(invalid(path, format!("`text` is {other}, expected 0 or 1"))),
    };
    Ok(Described {
        name,
        version: version_str,
        extension,
        description,
        text,
    })
}

fn info_of(d: Described, abi_version: u32, path: &Path) -> PluginInfo {
    PluginInfo {
        name: d.name,
        version: d.version,
        abi_version,
        description: d.description,
        extension: d.extension,
        text: d.text,
        path: path.to_path_buf(),
        origin: None,
    }
}

/// The declaration `declare` returns, read after checking that it is not null, aligned and
/// at least `min_size` bytes by its own `struct_size`. Only the bytes its `struct_size`
/// covers are read: the fields of a later revision that an older plugin lacks are zero
/// (null pointers, `None`).
///
/// # Safety
/// `declare` returns null or a pointer to a struct whose first field is a `u32`
/// `struct_size` and that is valid for reads of `struct_size` bytes. All-zero bytes are a
/// valid `T` (integers, raw pointers, `Option`s of function pointers).
unsafe fn read_declaration<T: Copy>(
    ptr: *const T,
    symbol: &str,
    min_size: usize,
    version: u32,
    path: &Path,
) -> Result<T, HostError> {
    if ptr.is_null() {
        return Err(invalid(path, format!("{symbol} returned a null pointer")));
    }
    if ptr.align_offset(std::mem::align_of::<T>()) != 0 {
        return Err(invalid(path, "the declaration pointer is misaligned"));
    }
    // Read the size first: the struct may be smaller than ours.
    // SAFETY: non-null and aligned; `struct_size` (a u32) is the first field of every
    // revision of every declaration.
    let size = unsafe { ptr.cast::<u32>().read() };
    if (size as usize) < min_size {
        return Err(invalid(
            path,
            format!(
                "struct_size is {size} bytes, smaller than the {min_size} bytes of a \
                 version-{version} declaration"
            ),
        ));
    }
    let known = (size as usize).min(std::mem::size_of::<T>());
    let mut decl = std::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: the plugin states its struct is valid for `size` bytes, and `decl` has room for
    // `size_of::<T>()`: `known` is at most both. All-zero is a valid `T` (the caller's
    // contract), so the bytes beyond `known` leave it valid.
    Ok(unsafe {
        std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), decl.as_mut_ptr().cast::<u8>(), known);
        decl.assume_init()
    })
}

fn load_v1(lib: &'static Library, path: &Path) -> Result<LoadedPlugin, HostError> {
    let declare: DeclareV1Fn = symbol(lib, abi::DECLARE_V1_SYMBOL, path)?;
    // SAFETY: the documented signature of the version-1 declaration symbol, and the ABI's
    // promise about the struct it points to.
    let decl: PluginDeclarationV1 = unsafe {
        read_declaration(
            declare(),
            "chronicle_plugin_declare_v1",
            DECLARATION_V1_SIZE,
            1,
            path,
        )
    }?;
    let described = describe(
        path,
        [decl.name, decl.version, decl.extension, decl.description],
        decl.text,
    )?;
    let export_fn = decl
        .export_fn
        .ok_or_else(|| invalid(path, "`export_fn` is a null pointer"))?;
    let free_fn = decl
        .free_fn
        .ok_or_else(|| invalid(path, "`free_fn` is a null pointer"))?;
    Ok(LoadedPlugin {
        info: info_of(described, 1, path),
        calls: Calls::V1 { export_fn, free_fn },
    })
}

fn load_v2(lib: &'static Library, path: &Path) -> Result<LoadedPlugin, HostError> {
    let declare: DeclareV2Fn = symbol(lib, abi::DECLARE_V2_SYMBOL, path)?;
    // SAFETY: the documented signature of the version-2 declaration symbol, and the ABI's
    // promise about the struct it points to.
    let decl: PluginDeclarationV2 = unsafe {
        read_declaration(
            declare(),
            "chronicle_plugin_declare_v2",
            DECLARATION_V2_0_SIZE,
            2,
            path,
        )
    }?;
    let described = describe(
        path,
        [decl.name, decl.version, decl.extension, decl.description],
        decl.text,
    )?;
    if !(1..=MAX_PASSES).contains(&decl.passes) {
        return Err(invalid(
            path,
            format!("`passes` is {}, expected 1 to {MAX_PASSES}", decl.passes),
        ));
    }
    if decl.reserved != 0 {
        return Err(invalid(
            path,
            format!("`reserved` is {}, expected 0", decl.reserved),
        ));
    }
    let null = |field: &str| invalid(path, format!("`{field}` is a null pointer"));
    let calls = StreamCalls {
        passes: decl.passes,
        passes_fn: decl.passes_fn,
        begin: decl.begin.ok_or_else(|| null("begin"))?,
        start_pass: decl.start_pass.ok_or_else(|| null("start_pass"))?,
        incident: decl.incident.ok_or_else(|| null("incident"))?,
        finish: decl.finish.ok_or_else(|| null("finish"))?,
        drop_state: decl.drop_state.ok_or_else(|| null("drop_state"))?,
        free_fn: decl.free_fn.ok_or_else(|| null("free_fn"))?,
    };
    Ok(LoadedPlugin {
        info: info_of(described, 2, path),
        calls: Calls::V2(calls),
    })
}

/// What came back from one call, before interpretation: `B` is the output (borrowed from the
/// plugin's buffer inside [`LoadedPlugin::call_with`], owned after a copy or a trip through
/// the runner's pipe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Returned<B> {
    /// Status 0 and the output.
    Ok(B),
    /// Status 1 and the plugin's message.
    Error(String),
    /// Status 2 and the plugin's message.
    Panic(String),
    /// Status 3 (a usage error: the user's options) and the plugin's message.
    Usage(String),
    /// A status this host does not know (one added to ABI 1 later) and the message in its
    /// buffer (every status but 0 carries one).
    Unknown(i32, String),
    /// Status 0 with more than [`MAX_OUTPUT_BYTES`].
    TooLarge(usize),
    /// A null buffer with a length.
    NullWithLength(usize),
    /// A streamed plugin wrote more than the output limit (this one, in bytes).
    OutputLimit(u64),
    /// A streamed plugin broke the ABI while writing (what it did).
    Misused(String),
    /// A streamed plugin wrote to its sink when no call it was given to was running (when:
    /// "from `drop_state`, after `finish` had returned").
    WroteOutsideCall(String),
    /// A streamed plugin's `passes_fn` asked for a number of passes outside 1 to its
    /// declared `passes`.
    BadPasses { asked: u32, declared: u32 },
}

impl<B> Returned<B> {
    /// The same outcome with the output mapped.
    pub(crate) fn map<C>(self, f: impl FnOnce(B) -> C) -> Returned<C> {
        match self {
            Returned::Ok(b) => Returned::Ok(f(b)),
            Returned::Error(m) => Returned::Error(m),
            Returned::Panic(m) => Returned::Panic(m),
            Returned::Usage(m) => Returned::Usage(m),
            Returned::Unknown(s, m) => Returned::Unknown(s, m),
            Returned::TooLarge(n) => Returned::TooLarge(n),
            Returned::NullWithLength(n) => Returned::NullWithLength(n),
            Returned::OutputLimit(n) => Returned::OutputLimit(n),
            Returned::Misused(m) => Returned::Misused(m),
            Returned::WroteOutsideCall(w) => Returned::WroteOutsideCall(w),
            Returned::BadPasses { asked, declared } => Returned::BadPasses { asked, declared },
        }
    }
}

/// Why a streamed plugin's sink refused a write.
#[derive(Debug)]
enum SinkProblem {
    /// Past the output limit.
    Limit,
    /// A write outside a call: after the call `after` had returned, from `drop_state` or
    /// not.
    Closed { after: &'static str, dropping: bool },
    /// A null pointer with a length.
    NullData(usize),
    /// Where the output goes failed (the parent is gone).
    Io(std::io::Error),
}

/// What a streamed plugin's [`Sink`] points to: where its bytes go, and what went wrong.
struct SinkState<'a> {
    /// Whether a call that was given the sink is running.
    open: bool,
    /// The last call that was given the sink (`start_pass`, `incident`, `finish`), or
    /// `begin` before the first: for the message of a write outside a call.
    last_call: &'static str,
    /// Whether `drop_state` is running.
    dropping: bool,
    written: u64,
    limit: u64,
    out: &'a mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    problem: Option<SinkProblem>,
}

/// The sink's `write`: the bytes passed on at once, or refused (non-zero) for good.
unsafe extern "C" fn sink_write(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
    let taken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the `SinkState` of the running `stream_with`, which outlives every
        // call it makes into the plugin (and `drop_state`); the plugin runs one call at a time.
        let state = unsafe { &mut *ctx.cast::<SinkState<'_>>() };
        if state.problem.is_some() {
            return 1;
        }
        let problem = if !state.open {
            Some(SinkProblem::Closed {
                after: state.last_call,
                dropping: state.dropping,
            })
        } else if data.is_null() && len > 0 {
            Some(SinkProblem::NullData(len))
        } else if state.written.saturating_add(len as u64) > state.limit {
            Some(SinkProblem::Limit)
        } else if len == 0 {
            None
        } else {
            // SAFETY: the ABI: `data` is valid for `len` bytes during the call.
            let bytes = unsafe { std::slice::from_raw_parts(data, len) };
            (state.out)(bytes).err().map(SinkProblem::Io)
        };
        match problem {
            None => {
                state.written += len as u64;
                0
            }
            Some(p) => {
                state.problem = Some(p);
                1
            }
        }
    }));
    taken.unwrap_or(1)
}

thread_local! {
    /// How many passes over the incidents the streamed exports run in this process have
    /// made on this thread (for tests: [`crate::testing::passes_run_on_this_thread`]).
    static PASSES_RUN: Cell<u64> = const { Cell::new(0) };
}

/// How many passes streamed exports in this process have made on this thread.
pub(crate) fn passes_run() -> u64 {
    PASSES_RUN.with(Cell::get)
}

impl StreamCalls {
    /// Everything between `begin` and `drop_state`: ask how many passes (`passes_fn`, else
    /// the declared `passes`), run them over the spool's incidents, then `finish`. `Some`
    /// outcome when the plugin failed (or asked for passes it did not declare); `None` when
    /// every call returned 0.
    fn run(
        &self,
        state: *mut c_void,
        sink: &Sink,
        ctx: *mut SinkState<'_>,
        spool: &mut Spool,
    ) -> std::io::Result<Option<Returned<u64>>> {
        // Each call runs with the sink open; `ctx` is only dereferenced by `sink_write`, in
        // the calls below, one at a time.
        let open = |call: Option<&'static str>| {
            // SAFETY: `ctx` points to the caller's `SinkState`, alive while it runs this, and
            // no reference to it is held across this write.
            unsafe {
                (*ctx).open = call.is_some();
                if let Some(call) = call {
                    (*ctx).last_call = call;
                }
            }
        };
        let passes = match self.passes_fn {
            // SAFETY: the state `begin` made; the library is never unloaded.
            Some(passes_fn) => unsafe { passes_fn(state) },
            None => self.passes,
        };
        if !(1..=self.passes).contains(&passes) {
            return Ok(Some(Returned::BadPasses {
                asked: passes,
                declared: self.passes,
            }));
        }
        let mut line = Vec::new();
        for pass in 0..passes {
            PASSES_RUN.with(|n| n.set(n.get() + 1));
            let mut message = Buffer::EMPTY;
            open(Some("start_pass"));
            // SAFETY: the state `begin` made, a sink and a message alive for the call.
            let status = unsafe { (self.start_pass)(state, pass, sink, &mut message) };
            open(None);
            if let Some(failed) = self.outcome(status, message) {
                return Ok(Some(failed));
            }
            let mut incidents = spool.incidents()?;
            while incidents.next_into(&mut line)? {
                let mut message = Buffer::EMPTY;
                open(Some("incident"));
                // SAFETY: as above, and `line` a live slice.
                let status = unsafe {
                    (self.incident)(state, pass, line.as_ptr(), line.len(), sink, &mut message)
                };
                open(None);
                if let Some(failed) = self.outcome(status, message) {
                    return Ok(Some(failed));
                }
            }
        }
        let mut message = Buffer::EMPTY;
        open(Some("finish"));
        // SAFETY: as above.
        let status = unsafe { (self.finish)(state, sink, &mut message) };
        open(None);
        Ok(self.outcome(status, message))
    }

    /// `None` for status 0; otherwise the failure with its message. The message buffer goes
    /// back to the plugin's `free_fn` whenever it is not null.
    fn outcome<B>(&self, status: i32, buffer: Buffer) -> Option<Returned<B>> {
        let text = if buffer.data.is_null() {
            String::new()
        } else {
            // SAFETY: the ABI: `data` is valid for `len` bytes until freed, below; at most
            // MAX_MESSAGE_BYTES + 1 are read.
            let bytes = unsafe {
                std::slice::from_raw_parts(buffer.data, buffer.len.min(MAX_MESSAGE_BYTES + 1))
            };
            let text = message(bytes);
            // SAFETY: hands the plugin's own buffer back, exactly once.
            unsafe { (self.free_fn)(buffer.data, buffer.len) };
            text
        };
        match status {
            abi::STATUS_OK => None,
            abi::STATUS_ERROR => Some(Returned::Error(text)),
            abi::STATUS_PANIC => Some(Returned::Panic(text)),
            abi::STATUS_USAGE => Some(Returned::Usage(text)),
            other => Some(Returned::Unknown(other, text)),
        }
    }
}

fn message(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_MESSAGE_BYTES)];
    let mut m = String::from_utf8_lossy(cut).trim_end().to_owned();
    if bytes.len() > MAX_MESSAGE_BYTES {
        m.push_str(" […message cut]");
    }
    m
}

impl LoadedPlugin {
    /// Call the export function and hand what it returned to `f`, the output still in the
    /// plugin's buffer (the runner writes it to its pipe from there, without a copy). The
    /// buffer is then always handed back to the plugin's `free_fn`.
    pub(crate) fn call_with<R>(
        &self,
        doc_json: &[u8],
        options_json: &[u8],
        f: impl FnOnce(Returned<&[u8]>) -> R,
    ) -> R {
        let Calls::V1 { export_fn, free_fn } = self.calls else {
            return f(Returned::Misused(
                "a streamed (version-2) plugin was called with a whole document".to_owned(),
            ));
        };
        let mut out = Buffer::EMPTY;
        // SAFETY: the pointers and lengths describe live slices; `out` is a
        // valid, initialised Buffer. The function pointer stays valid since
        // the library is never unloaded.
        let status = unsafe {
            (export_fn)(
                doc_json.as_ptr(),
                doc_json.len(),
                options_json.as_ptr(),
                options_json.len(),
                &mut out,
            )
        };
        if out.data.is_null() {
            if out.len != 0 {
                return f(Returned::NullWithLength(out.len));
            }
            return f(match status {
                abi::STATUS_OK => Returned::Ok(&[]),
                abi::STATUS_ERROR => Returned::Error(String::new()),
                abi::STATUS_PANIC => Returned::Panic(String::new()),
                abi::STATUS_USAGE => Returned::Usage(String::new()),
                other => Returned::Unknown(other, String::new()),
            });
        }
        let view = |limit: usize| {
            // SAFETY: the ABI says `data` is valid for `len` bytes until it is freed (below,
            // after `f` returned; the slice does not escape `f`); we read at most `len`.
            unsafe { std::slice::from_raw_parts(out.data, out.len.min(limit)) }
        };
        let returned = match status {
            abi::STATUS_OK if out.len > MAX_OUTPUT_BYTES => Returned::TooLarge(out.len),
            abi::STATUS_OK => Returned::Ok(view(out.len)),
            abi::STATUS_ERROR => Returned::Error(message(view(MAX_MESSAGE_BYTES + 1))),
            abi::STATUS_PANIC => Returned::Panic(message(view(MAX_MESSAGE_BYTES + 1))),
            abi::STATUS_USAGE => Returned::Usage(message(view(MAX_MESSAGE_BYTES + 1))),
            other => Returned::Unknown(other, message(view(MAX_MESSAGE_BYTES + 1))),
        };
        let result = f(returned);
        // SAFETY: hands the plugin's own buffer back, exactly once.
        unsafe { (free_fn)(out.data, out.len) };
        result
    }

    /// Whether the plugin is streamed (version 2).
    pub(crate) fn streams(&self) -> bool {
        matches!(self.calls, Calls::V2(_))
    }

    /// Run a streamed (version-2) export: `begin` with the spool's head, then the passes the
    /// plugin asks for (`passes_fn`, else its declared `passes`) over the spool's incidents,
    /// then `finish`, and `drop_state` whatever happened once `begin` succeeded. What the
    /// plugin writes goes to `out` at once; more than `limit` bytes stop it. Returns the
    /// outcome, with the number of bytes written for a success; `Err` when the spool could
    /// not be read.
    pub(crate) fn stream_with(
        &self,
        spool: &mut Spool,
        options_json: &[u8],
        limit: u64,
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<Returned<u64>> {
        let Calls::V2(calls) = self.calls else {
            return Ok(Returned::Misused(
                "a version-1 plugin was called as a streamed one".to_owned(),
            ));
        };
        let mut sink_state = SinkState {
            open: false,
            last_call: "begin",
            dropping: false,
            written: 0,
            limit,
            out,
            problem: None,
        };
        let ctx: *mut SinkState<'_> = &raw mut sink_state;
        let sink = Sink {
            ctx: ctx.cast(),
            write: Some(sink_write),
        };
        let mut state: *mut c_void = std::ptr::null_mut();
        let mut message = Buffer::EMPTY;
        // SAFETY: live slices and locals, as the ABI requires; the library is never unloaded.
        let status = unsafe {
            (calls.begin)(
                spool.head.as_ptr(),
                spool.head.len(),
                options_json.as_ptr(),
                options_json.len(),
                &mut state,
                &mut message,
            )
        };
        if let Some(failed) = calls.outcome(status, message) {
            return Ok(failed);
        }
        let ran = calls.run(state, &sink, ctx, spool);
        // SAFETY: `ctx` points to `sink_state`, alive for this whole function; no reference
        // to it is held across this write. A write from `drop_state` is refused as such.
        unsafe { (*ctx).dropping = true };
        // SAFETY: the state `begin` made, freed once; the sink stays alive (and closed).
        unsafe { (calls.drop_state)(state) };
        let failed = ran?;
        // SAFETY: every call into the plugin has returned; nothing else refers to it now.
        let sink_state = unsafe { &mut *ctx };
        // A refused write decides the outcome, whatever the plugin returned after it.
        match sink_state.problem.take() {
            Some(SinkProblem::Io(e)) => return Err(e),
            Some(SinkProblem::Limit) => return Ok(Returned::OutputLimit(sink_state.limit)),
            Some(SinkProblem::Closed { after, dropping }) => {
                let when = if dropping {
                    format!("from `drop_state`, after `{after}` had returned")
                } else {
                    format!("after `{after}` had returned, outside any call (from another thread?)")
                };
                return Ok(Returned::WroteOutsideCall(when));
            }
            Some(SinkProblem::NullData(len)) => {
                return Ok(Returned::NullWithLength(len));
            }
            None => {}
        }
        Ok(failed.unwrap_or(Returned::Ok(sink_state.written)))
    }

    /// Run the plugin in this process and check what it returned.
    pub(crate) fn export(
        &self,
        doc_json: &[u8],
        options_json: &[u8],
    ) -> Result<ExportOutput, HostError> {
        let returned = self.call_with(doc_json, options_json, |r| r.map(<[u8]>::to_vec));
        interpret(&self.info, returned)
    }
}

/// Check what a plugin returned (in this process or through the runner): the status, the
/// output's encoding for a text format, the size.
pub(crate) fn interpret(
    info: &PluginInfo,
    returned: Returned<Vec<u8>>,
) -> Result<ExportOutput, HostError> {
    let format = || info.name.clone();
    let path = || info.path.clone();
    let or_none = |message: String| {
        if message.is_empty() {
            "(no message)".to_owned()
        } else {
            message
        }
    };
    match returned {
        Returned::Ok(bytes) => {
            if info.text {
                if let Err(e) = std::str::from_utf8(&bytes) {
                    return Err(HostError::InvalidUtf8 {
                        format: format(),
                        path: path(),
                        valid_up_to: e.valid_up_to(),
                    });
                }
            }
            Ok(ExportOutput {
                bytes,
                extension: info.extension.clone(),
                text: info.text,
            })
        }
        Returned::Error(message) => Err(HostError::PluginFailed {
            format: format(),
            path: path(),
            message: or_none(message),
        }),
        Returned::Panic(message) => Err(HostError::PluginPanicked {
            format: format(),
            path: path(),
            message: or_none(message),
        }),
        Returned::Usage(message) => Err(HostError::Usage {
            format: format(),
            path: path(),
            message: or_none(message),
        }),
        Returned::Unknown(status, message) => Err(HostError::UnknownStatus {
            format: format(),
            path: path(),
            status,
            message: or_none(message),
        }),
        Returned::TooLarge(len) => Err(HostError::OutputTooLarge {
            format: format(),
            path: path(),
            len,
            max: MAX_OUTPUT_BYTES,
        }),
        Returned::NullWithLength(len) => Err(HostError::InvalidOutput {
            format: format(),
            path: path(),
            reason: format!("a null pointer with a length of {len} bytes"),
        }),
        Returned::OutputLimit(limit) => Err(HostError::OutputLimit {
            format: format(),
            path: path(),
            limit,
        }),
        Returned::Misused(reason) => Err(HostError::InvalidOutput {
            format: format(),
            path: path(),
            reason,
        }),
        Returned::WroteOutsideCall(when) => Err(HostError::WroteOutsideCall {
            format: format(),
            path: path(),
            when,
        }),
        Returned::BadPasses { asked, declared } => Err(HostError::InvalidPasses {
            format: format(),
            path: path(),
            asked,
            declared,
        }),
    }
}

/// Check what a streamed plugin returned: the number of bytes it wrote, or the error.
pub(crate) fn interpret_streamed(
    info: &PluginInfo,
    returned: Returned<u64>,
) -> Result<u64, HostError> {
    match returned {
        Returned::Ok(n) => Ok(n),
        other => interpret(info, other.map(|_| Vec::new())).map(|_| 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A declaration of the first revision of version 2 (96 bytes) is read only as far as
    /// its `struct_size`: what lies beyond (here bytes that are not a null pointer) is never
    /// taken for its `passes_fn`.
    #[test]
    fn a_declaration_is_read_only_as_far_as_its_struct_size() {
        #[repr(C, align(8))]
        struct Memory([u8; DECLARATION_V2_0_SIZE + 8]);
        let mut memory = Memory([0; DECLARATION_V2_0_SIZE + 8]);
        memory.0[..4].copy_from_slice(&(DECLARATION_V2_0_SIZE as u32).to_ne_bytes());
        memory.0[8..12].copy_from_slice(&2u32.to_ne_bytes());
        memory.0[DECLARATION_V2_0_SIZE..].fill(0xab);
        let ptr = memory.0.as_ptr().cast::<PluginDeclarationV2>();
        // SAFETY: `ptr` is aligned and valid for `struct_size` bytes (and 8 more); all-zero
        // is a valid declaration.
        let decl = unsafe {
            read_declaration(ptr, "declare", DECLARATION_V2_0_SIZE, 2, Path::new("/p.so"))
        };
        let decl = decl.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decl.passes, 2);
        assert!(decl.passes_fn.is_none());
        assert!(decl.begin.is_none() && decl.name.is_null());
    }
}
