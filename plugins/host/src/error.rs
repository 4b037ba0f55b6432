//! Everything that can go wrong finding, loading or running a plugin.

use std::path::{Path, PathBuf};

/// Whether a group/others-writable path is a directory or a library file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A plugin directory.
    Directory,
    /// A plugin library.
    Library,
}

impl std::fmt::Display for PathKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PathKind::Directory => "plugin directory",
            PathKind::Library => "plugin library",
        })
    }
}

/// Why a directory on a plugin's path is not safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AncestorProblem {
    /// Writable by group or others, and not a root-owned directory with the
    /// sticky bit (such as `/tmp`).
    Writable {
        /// Its permission bits.
        mode: u32,
        /// Its owner.
        uid: u32,
    },
    /// Owned by neither root nor the current user.
    Owner {
        /// Its owner.
        uid: u32,
        /// The current (effective) user.
        user: u32,
    },
}

fn unsafe_ancestor(path: &Path, ancestor: &Path, problem: &AncestorProblem) -> String {
    let a = ancestor.display();
    let given = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let which = if ancestor == path {
        "it".to_owned()
    } else if given.starts_with(ancestor) {
        format!("{a}, a directory on its path,")
    } else {
        format!("{a}, a directory on its real path (symbolic links resolved),")
    };
    match *problem {
        AncestorProblem::Writable { mode, uid } => {
            let sticky = if mode & 0o1000 != 0 && uid != 0 {
                " (its sticky bit does not help: the directory is not root's)"
            } else {
                ""
            };
            format!(
                "{which} is writable by group or others (mode {mode:04o}){sticky}, so whoever can \
                 write to it could rename what it holds and put their own library in its place. \
                 Fix it with `chmod go-w {a}` (a shared directory such as /tmp must be root's \
                 and sticky, `chmod +t`), or pass --trust-plugin-dir if you trust everyone who \
                 can write to it"
            )
        }
        AncestorProblem::Owner { uid, user } => format!(
            "{which} is owned by uid {uid}, neither root nor you (uid {user}), so its owner could \
             put their own library in its place. Fix it by keeping plugins in directories owned \
             by you or root (`chown`), or pass --trust-plugin-dir if you trust that user"
        ),
    }
}

/// An error from the plugin host. Every message names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A directory given with `--plugin-dir` does not exist.
    #[error("plugin directory {} does not exist", path.display())]
    DirNotFound {
        /// The directory.
        path: PathBuf,
    },

    /// A plugin directory exists but is not a directory.
    #[error("plugin directory {} is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },

    /// A plugin directory or file could not be read.
    ///
    /// The I/O error is part of the message and deliberately not a
    /// `source()`: callers that print the error chain (`anyhow`'s `{:#}`)
    /// would otherwise say it twice.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },

    /// A directory or library is writable by group or others.
    #[error(
        "refusing to load from {kind} {path}: it is writable by group or others (mode {mode:04o}), \
         so whoever can write to it could make chronicle run their code. Fix it with \
         `chmod go-w {path}`, or pass --trust-plugin-dir if you trust everyone who can write to it",
        path = path.display()
    )]
    Untrusted {
        /// The path.
        path: PathBuf,
        /// Directory or library.
        kind: PathKind,
        /// Its permission bits.
        mode: u32,
    },

    /// A directory on the way to a plugin directory or library, or the
    /// path itself, lets someone other than root and the current user
    /// replace what chronicle would load (OpenSSH's StrictModes rule).
    #[error(
        "refusing to load from {kind} {path}: {}",
        unsafe_ancestor(path, ancestor, problem),
        path = path.display()
    )]
    UnsafeAncestor {
        /// The plugin directory or library.
        path: PathBuf,
        /// Directory or library.
        kind: PathKind,
        /// The first unsafe directory on its real path (symbolic links
        /// resolved), or on the path as given.
        ancestor: PathBuf,
        /// What is wrong with it.
        problem: AncestorProblem,
    },

    /// The file could not be loaded as a shared library.
    #[error("{} is not a loadable shared library: {reason}", path.display())]
    NotALibrary {
        /// The file.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },

    /// The library does not export a symbol every plugin has.
    #[error(
        "{} is not a chronicle plugin: it does not export `{symbol}` \
         (is it a library for another program, or built for another plugin ABI?)",
        path.display()
    )]
    MissingSymbol {
        /// The library.
        path: PathBuf,
        /// The symbol looked for.
        symbol: String,
    },

    /// The plugin was built for a newer plugin ABI than this host knows.
    #[error(
        "{} was built for plugin ABI version {found}, but this chronicle supports {}: \
         upgrade chronicle, or use a plugin built for ABI version {max}",
        path.display(),
        versions(*min, *max)
    )]
    AbiTooNew {
        /// The library.
        path: PathBuf,
        /// The version it reports.
        found: u32,
        /// Oldest supported.
        min: u32,
        /// Newest supported.
        max: u32,
    },

    /// The plugin was built for an older plugin ABI than this host loads.
    #[error(
        "{} was built for plugin ABI version {found}, but this chronicle supports {}: \
         rebuild the plugin with a current chronicle-plugin-sdk",
        path.display(),
        versions(*min, *max)
    )]
    AbiTooOld {
        /// The library.
        path: PathBuf,
        /// The version it reports.
        found: u32,
        /// Oldest supported.
        min: u32,
        /// Newest supported.
        max: u32,
    },

    /// The plugin's declaration is unusable.
    #[error("{} has an invalid plugin declaration: {reason}", path.display())]
    InvalidDeclaration {
        /// The library.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// Two plugins claim the same format.
    #[error(
        "two plugins claim the format `{format}`: {} and {}; remove one of them \
         (nothing was loaded)",
        first.display(),
        second.display()
    )]
    DuplicateFormat {
        /// The format name.
        format: String,
        /// The plugin found first.
        first: PathBuf,
        /// The plugin found second.
        second: PathBuf,
    },

    /// A plugin claims the name of a built-in format.
    #[error(
        "{} claims the format `{format}`, which is built into chronicle; rename the plugin's \
         format (nothing was loaded)",
        path.display()
    )]
    ReservedFormat {
        /// The format name.
        format: String,
        /// The library.
        path: PathBuf,
    },

    /// No plugin provides the format asked for.
    #[error(
        "no plugin provides the format `{format}`; available: {}",
        list(available)
    )]
    UnknownFormat {
        /// The format asked for.
        format: String,
        /// The formats plugins provide.
        available: Vec<String>,
    },

    /// The plugin reported an error.
    #[error("the {format} plugin ({}) failed: {message}", path.display())]
    PluginFailed {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// Its message.
        message: String,
    },

    /// The plugin refused the options it was given (`--option`): it fails with them on the
    /// SDK's sample document and exports it without them.
    #[error(
        "the {format} plugin ({}) refused the --option values given (without them it exports): {message}",
        path.display()
    )]
    BadOption {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// Its message.
        message: String,
    },

    /// The plugin refused the user's input (status `STATUS_USAGE`, 3): a bad `--option`.
    #[error("the {format} plugin ({}) refused the --option values given: {message}", path.display())]
    Usage {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// Its message.
        message: String,
    },

    /// The plugin panicked (and the SDK caught it).
    #[error("the {format} plugin ({}) crashed and recovered: {message}", path.display())]
    PluginPanicked {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// Its message.
        message: String,
    },

    /// The plugin returned a status code the ABI does not define.
    #[error(
        "the {format} plugin ({}) returned the status code {status}, which this chronicle does \
         not know (it knows 0 to 3; upgrade chronicle if the plugin is newer): {message}",
        path.display()
    )]
    UnknownStatus {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// The status returned.
        status: i32,
        /// The message in its buffer, as for an error (`(no message)` when empty).
        message: String,
    },

    /// A text format returned bytes that are not UTF-8.
    #[error(
        "the {format} plugin ({}) declares text output but returned bytes that are not \
         UTF-8 (first invalid byte at offset {valid_up_to})",
        path.display()
    )]
    InvalidUtf8 {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// Length of the valid prefix.
        valid_up_to: usize,
    },

    /// The plugin returned more than [`MAX_OUTPUT_BYTES`](crate::MAX_OUTPUT_BYTES).
    #[error(
        "the {format} plugin ({}) returned {len} bytes, more than the maximum of {max} bytes",
        path.display()
    )]
    OutputTooLarge {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// Bytes returned.
        len: usize,
        /// The maximum.
        max: usize,
    },

    /// A streamed (version-2) plugin wrote more than the output limit (`--plugin-output`).
    /// The limit is said in the largest unit that divides it (`16 GiB`), as the memory
    /// limit's message does, so that it reads as `--plugin-output` takes it.
    #[error(
        "the {format} plugin ({}) wrote more than the output limit of {} \
         (--plugin-output) and was stopped; if the export is just that large, raise the limit \
         with --plugin-output SIZE",
        path.display(),
        bytes(*limit)
    )]
    OutputLimit {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },

    /// The output of a plugin could not be written where it goes (a full disk).
    #[error("cannot write the output of the {format} plugin ({}): {message}", path.display())]
    OutputFailed {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// Why.
        message: String,
    },

    /// A streamed (version-2) plugin wrote to its output sink when no call it was given to
    /// was running (kept the sink and used it from `drop_state`, or from another thread).
    #[error(
        "the {format} plugin ({}) wrote to its output {when}: the output sink is valid only \
         during the call it is passed to, so the export was refused",
        path.display()
    )]
    WroteOutsideCall {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// When, in words: "from `drop_state`, after `finish` had returned".
        when: String,
    },

    /// A streamed (version-2) plugin's `passes_fn` asked for more passes than it declares,
    /// or none.
    #[error(
        "the {format} plugin ({}) asked for {asked} passes over the incidents (its \
         `passes_fn`), but its declaration allows 1 to {declared} (`passes`)",
        path.display()
    )]
    InvalidPasses {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// What `passes_fn` returned.
        asked: u32,
        /// The declaration's `passes`.
        declared: u32,
    },

    /// The plugin returned a buffer that breaks the ABI (null with a length).
    #[error("the {format} plugin ({}) returned an invalid buffer: {reason}", path.display())]
    InvalidOutput {
        /// The format.
        format: String,
        /// The library.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The plugin's process died before it replied: a signal (a null pointer dereferenced,
    /// an abort) or an exit of its own. chronicle itself is unharmed.
    #[error(
        "{} crashed {during}: {how}{}",
        who(format.as_deref(), path),
        last_words(stderr)
    )]
    PluginCrashed {
        /// The format, once the declaration was read.
        format: Option<String>,
        /// The library.
        path: PathBuf,
        /// What it was doing.
        during: Stage,
        /// The signal that killed it, if one did.
        signal: Option<i32>,
        /// How it ended, in words ("it was killed by signal 11 (SIGSEGV, ...)").
        how: String,
        /// The end of what it wrote on standard error.
        stderr: String,
    },

    /// The plugin did not finish within the time limit (`--plugin-timeout`) and was stopped.
    #[error(
        "{} was stopped {during}: it had not finished within the time limit of {} \
         (--plugin-timeout); if the chronology is just large, raise the limit with \
         --plugin-timeout SECONDS",
        who(format.as_deref(), path),
        seconds(*limit)
    )]
    PluginTimedOut {
        /// The format, once the declaration was read.
        format: Option<String>,
        /// The library.
        path: PathBuf,
        /// What it was doing.
        during: Stage,
        /// The limit.
        limit: std::time::Duration,
    },

    /// The plugin tried to use more memory than the limit (`--plugin-memory`) and was stopped.
    #[error(
        "{} ran out of memory {during}: it tried to go beyond the limit of {} (--plugin-memory) \
         and was stopped{}; if the chronology needs more, raise the limit with --plugin-memory SIZE",
        who(format.as_deref(), path),
        bytes(*limit),
        allocation_words(stderr)
    )]
    PluginOutOfMemory {
        /// The format, once the declaration was read.
        format: Option<String>,
        /// The library.
        path: PathBuf,
        /// What it was doing.
        during: Stage,
        /// The limit, in bytes beyond what the runner held before it loaded the plugin.
        limit: u64,
        /// The end of what it wrote on standard error.
        stderr: String,
    },

    /// The plugin runner (the child process plugins run in) could not be started, or did
    /// not speak its protocol.
    #[error("the plugin runner {} (for the plugin {}) {reason}", program.display(), path.display())]
    RunnerFailed {
        /// The runner's program.
        program: PathBuf,
        /// The plugin it was to run.
        path: PathBuf,
        /// What went wrong, as a verb phrase ("cannot be started: ...").
        reason: String,
    },

    /// The format asked for would come (by its file name) from a library found broken
    /// during discovery.
    #[error(
        "the format `{format}` would come from {}, which is broken: {reason}",
        path.display()
    )]
    BrokenFormat {
        /// The format asked for.
        format: String,
        /// The broken library.
        path: PathBuf,
        /// Why it is broken.
        reason: String,
    },
}

/// What a plugin was doing when its process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Its library was being loaded and its declaration read.
    Declaration,
    /// It was exporting a document.
    Export,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Declaration => "while chronicle read its declaration",
            Stage::Export => "while exporting",
        })
    }
}

/// "the markdown plugin (PATH)", or "the plugin PATH" before its declaration was read.
fn who(format: Option<&str>, path: &Path) -> String {
    match format {
        Some(f) => format!("the {f} plugin ({})", path.display()),
        None => format!("the plugin {}", path.display()),
    }
}

/// "; its last words on standard error: \"...\"" (its last line, a Rust backtrace's
/// closing note aside), or nothing.
fn last_words(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("note: "));
    match line {
        Some(line) => format!("; its last words on standard error: {line:?}"),
        None => String::new(),
    }
}

/// "; it said: \"memory allocation of N bytes failed\"" (Rust's message), or its last words.
fn allocation_words(stderr: &str) -> String {
    match stderr
        .lines()
        .rev()
        .find(|l| l.contains("memory allocation of"))
    {
        Some(line) => format!("; it said: {:?}", line.trim()),
        None => last_words(stderr),
    }
}

/// `2 s`, `1.5 s`.
fn seconds(d: std::time::Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// `1 GiB`, `512 MiB`, or bytes.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (size, unit) in UNITS {
        if n >= size && n % size == 0 {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}

impl HostError {
    /// True when the error is the caller's input rather than a plugin's or the system's: a
    /// `--plugin-dir` that is not a directory, an option the plugin refuses (status 3, or
    /// status 1 only with the options given), an unknown format (the CLI exits
    /// with 2 for these, as for any bad input).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            HostError::DirNotFound { .. }
                | HostError::NotADirectory { .. }
                | HostError::BadOption { .. }
                | HostError::Usage { .. }
                | HostError::UnknownFormat { .. }
        )
    }
}

fn versions(min: u32, max: u32) -> String {
    if min == max {
        format!("only version {max}")
    } else {
        format!("versions {min} to {max}")
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none (no plugins found)".to_owned()
    } else {
        names.join(", ")
    }
}
