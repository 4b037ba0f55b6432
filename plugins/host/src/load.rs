//! Opening libraries, reading declarations and calling plugins: the only
//! unsafe code of the host.

use crate::error::{HostError, PathKind};
use crate::{ExportOutput, PluginInfo};
use chronicle_plugin_sdk::abi::{
    self, AbiVersionFn, Buffer, DeclareV1Fn, ExportFn, FreeFn, PluginDeclarationV1, ABI_VERSION,
    DECLARATION_V1_SIZE, MAX_MESSAGE_BYTES, MAX_OUTPUT_BYTES, MIN_SUPPORTED_ABI_VERSION,
};
use libloading::Library;
use std::ffi::{c_char, CStr};
use std::path::Path;

/// A loaded plugin: its description and its two functions. The library it
/// came from is never unloaded, so the function pointers stay valid for the
/// life of the process.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPlugin {
    pub(crate) info: PluginInfo,
    export_fn: ExportFn,
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
    let lib = open(path)?;
    let abi_version_fn: AbiVersionFn = symbol(lib, abi::ABI_VERSION_SYMBOL, path)?;
    // SAFETY: the symbol has this signature in every ABI version.
    let version = unsafe { abi_version_fn() };
    if version > ABI_VERSION {
        return Err(HostError::AbiTooNew {
            path: path.to_path_buf(),
            found: version,
            min: MIN_SUPPORTED_ABI_VERSION,
            max: ABI_VERSION,
        });
    }
    if version < MIN_SUPPORTED_ABI_VERSION {
        return Err(HostError::AbiTooOld {
            path: path.to_path_buf(),
            found: version,
            min: MIN_SUPPORTED_ABI_VERSION,
            max: ABI_VERSION,
        });
    }
    // Only version 1 exists; a later host dispatches on `version` here.
    let declare: DeclareV1Fn = symbol(lib, abi::DECLARE_V1_SYMBOL, path)?;
    // SAFETY: the documented signature of the version-1 declaration symbol.
    let ptr = unsafe { declare() };
    if ptr.is_null() {
        return Err(invalid(
            path,
            "chronicle_plugin_declare_v1 returned a null pointer",
        ));
    }
    if ptr.align_offset(std::mem::align_of::<PluginDeclarationV1>()) != 0 {
        return Err(invalid(path, "the declaration pointer is misaligned"));
    }
    // Read the size first: the struct may be smaller than ours.
    // SAFETY: non-null and aligned; `struct_size` is the first field of
    // every revision of the declaration.
    let size = unsafe { std::ptr::addr_of!((*ptr).struct_size).read() };
    if (size as usize) < DECLARATION_V1_SIZE {
        return Err(invalid(
            path,
            format!(
                "struct_size is {size} bytes, smaller than the {DECLARATION_V1_SIZE} bytes of a \
                 version-1 declaration"
            ),
        ));
    }
    // SAFETY: the plugin states the struct has at least our size.
    let decl = unsafe { ptr.read() };
    let name = string_field(decl.name, "name", path)?;
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
    let version_str = string_field(decl.version, "version", path)?;
    if version_str.trim().is_empty() {
        return Err(invalid(path, "`version` is empty"));
    }
    let extension = string_field(decl.extension, "extension", path)?;
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
    let description = string_field(decl.description, "description", path)?;
    let text = match decl.text {
        0 => false,
        1 => true,
        other => return Err(invalid(path, format!("`text` is {other}, expected 0 or 1"))),
    };
    let export_fn = decl
        .export_fn
        .ok_or_else(|| invalid(path, "`export_fn` is a null pointer"))?;
    let free_fn = decl
        .free_fn
        .ok_or_else(|| invalid(path, "`free_fn` is a null pointer"))?;
    Ok(LoadedPlugin {
        info: PluginInfo {
            name,
            version: version_str,
            abi_version: version,
            description,
            extension,
            text,
            path: path.to_path_buf(),
            origin: None,
        },
        export_fn,
        free_fn,
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
        let mut out = Buffer::EMPTY;
        // SAFETY: the pointers and lengths describe live slices; `out` is a
        // valid, initialised Buffer. The function pointer stays valid since
        // the library is never unloaded.
        let status = unsafe {
            (self.export_fn)(
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
        unsafe { (self.free_fn)(out.data, out.len) };
        result
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
    }
}
