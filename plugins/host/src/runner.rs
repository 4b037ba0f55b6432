//! Plugin code in a child process: the runner.
//!
//! A plugin is native code: a null pointer it dereferences, a loop it never leaves, memory it
//! allocates without bound would be chronicle's if it ran in chronicle's process. With
//! [`Isolation::Child`], every call into a library (reading its declaration, an export) runs
//! in a child process, the *runner*, which is a program whose `main` hands its arguments to
//! [`serve`] (chronicle re-executes itself as `chronicle __plugin-runner`; this crate ships
//! `chronicle-plugin-runner` for other programs and for its tests). One process per call;
//! nothing is cached across processes.
//!
//! The protocol, over the runner's standard input and output:
//! - arguments: `OP PATH [--trust] [--memory BYTES]`, where OP is `declare` or `export`;
//! - standard input (`export`): the options JSON's length (u64, little-endian), the options
//!   JSON, then the document until end of file (written as it is serialized: the parent
//!   never holds the serialized document);
//! - standard output: one line of JSON, a `Reply`, then for an export that returned output,
//!   exactly that many bytes, written from the plugin's own buffer.
//!
//! The runner checks trust itself (unless `--trust`) before it loads anything, reads the
//! whole request, then limits its address space (`RLIMIT_AS`) to what it holds plus
//! `--memory`, loads the library and calls it. The plugin's standard output is redirected to
//! standard error, which the parent passes through to its own and keeps the end of, for
//! its messages. The parent kills the runner at the time limit, and turns a death by signal
//! into [`HostError::PluginCrashed`] (or [`HostError::PluginOutOfMemory`]).

use crate::error::{HostError, PathKind, Stage};
use crate::load::{self, Returned};
use crate::spool::Spool;
use crate::PluginInfo;
use chronicle_plugin_sdk::abi::DEFAULT_STREAMED_OUTPUT_BYTES;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The hidden first argument with which a program re-executes itself as a runner.
pub const RUNNER_ARG: &str = "__plugin-runner";

/// The default time limit of one plugin call (`--plugin-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default memory limit of one plugin call (`--plugin-memory`): 1 GiB.
pub const DEFAULT_MEMORY: u64 = 1 << 30;

/// How much of a plugin's standard error is kept for messages.
const STDERR_TAIL: usize = 4096;

/// Where plugin code runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Isolation {
    /// In the calling process: a crash of the plugin is a crash of the caller. For tests and
    /// for measuring what isolation costs; a library cannot guess its program's runner, so
    /// this is the default of [`HostOptions`](crate::HostOptions).
    #[default]
    InProcess,
    /// In a child process per call, with limits.
    Child(RunnerCommand),
}

/// The program plugins run in, and the limits of each call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerCommand {
    /// The program.
    pub program: PathBuf,
    /// Its first arguments (e.g. [`RUNNER_ARG`]); the request's follow.
    pub args: Vec<OsString>,
    /// The limits of each call.
    pub limits: Limits,
}

impl RunnerCommand {
    /// The running executable re-executed as `EXE __plugin-runner`: its `main` must hand the
    /// arguments after [`RUNNER_ARG`] to [`serve`].
    pub fn current_exe(limits: Limits) -> std::io::Result<RunnerCommand> {
        Ok(RunnerCommand {
            program: std::env::current_exe()?,
            args: vec![RUNNER_ARG.into()],
            limits,
        })
    }
}

/// The limits of one plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time, from the start of the runner to its reply.
    pub timeout: Duration,
    /// Address space the plugin may add to what the runner holds when it loads it (the
    /// request, the document included), in bytes; `None`: no limit.
    pub memory: Option<u64>,
    /// The most a streamed (version-2) plugin may write, in bytes (a version-1 plugin's
    /// output is bounded by the ABI's `MAX_OUTPUT_BYTES`).
    pub output: u64,
}

impl Default for Limits {
    /// [`DEFAULT_TIMEOUT`], [`DEFAULT_MEMORY`], [`DEFAULT_STREAMED_OUTPUT_BYTES`].
    fn default() -> Self {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            memory: Some(DEFAULT_MEMORY),
            output: DEFAULT_STREAMED_OUTPUT_BYTES,
        }
    }
}

/// A declaration as it crosses the pipe.
#[derive(Debug, Serialize, Deserialize)]
struct WireInfo {
    name: String,
    version: String,
    abi_version: u32,
    description: String,
    extension: String,
    text: bool,
}

impl WireInfo {
    fn into_info(self, path: &Path) -> PluginInfo {
        PluginInfo {
            name: self.name,
            version: self.version,
            abi_version: self.abi_version,
            description: self.description,
            extension: self.extension,
            text: self.text,
            path: path.to_path_buf(),
            origin: None,
        }
    }
}

/// Why the runner could not load a library, as it crosses the pipe (the path is the
/// parent's).
#[derive(Debug, Serialize, Deserialize)]
enum WireLoadError {
    NotALibrary { reason: String },
    MissingSymbol { symbol: String },
    AbiTooNew { found: u32, min: u32, max: u32 },
    AbiTooOld { found: u32, min: u32, max: u32 },
    InvalidDeclaration { reason: String },
    Other { message: String },
}

impl WireLoadError {
    fn from_host(e: HostError) -> WireLoadError {
        match e {
            HostError::NotALibrary { reason, .. } => WireLoadError::NotALibrary { reason },
            HostError::MissingSymbol { symbol, .. } => WireLoadError::MissingSymbol { symbol },
            HostError::AbiTooNew {
                found, min, max, ..
            } => WireLoadError::AbiTooNew { found, min, max },
            HostError::AbiTooOld {
                found, min, max, ..
            } => WireLoadError::AbiTooOld { found, min, max },
            HostError::InvalidDeclaration { reason, .. } => {
                WireLoadError::InvalidDeclaration { reason }
            }
            other => WireLoadError::Other {
                message: other.to_string(),
            },
        }
    }

    fn into_host(self, path: &Path, program: &Path) -> HostError {
        let path = path.to_path_buf();
        match self {
            WireLoadError::NotALibrary { reason } => HostError::NotALibrary { path, reason },
            WireLoadError::MissingSymbol { symbol } => HostError::MissingSymbol { path, symbol },
            WireLoadError::AbiTooNew { found, min, max } => HostError::AbiTooNew {
                path,
                found,
                min,
                max,
            },
            WireLoadError::AbiTooOld { found, min, max } => HostError::AbiTooOld {
                path,
                found,
                min,
                max,
            },
            WireLoadError::InvalidDeclaration { reason } => {
                HostError::InvalidDeclaration { path, reason }
            }
            WireLoadError::Other { message } => HostError::RunnerFailed {
                program: program.to_path_buf(),
                path,
                reason: format!("refused the plugin: {message}"),
            },
        }
    }
}

/// What the plugin returned, as it crosses the pipe; the output follows the reply line.
#[derive(Debug, Serialize, Deserialize)]
enum WireReturned {
    Ok { len: u64 },
    Error { message: String },
    Panic { message: String },
    Usage { message: String },
    Unknown { status: i32, message: String },
    TooLarge { len: u64 },
    NullWithLength { len: u64 },
    OutputLimit { limit: u64 },
    Misused { reason: String },
    WroteOutsideCall { when: String },
    BadPasses { asked: u32, declared: u32 },
}

/// The runner's reply: one line of JSON.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    /// `declare`: the library's declaration.
    Declared(WireInfo),
    /// `export`: the declaration, and what the export returned. After `Streaming`, the
    /// last line, following the output's frames and the empty frame that ends them.
    Returned(WireInfo, WireReturned),
    /// `stream`: the declaration; the output follows in frames (a u32 length,
    /// little-endian, then that many bytes), an empty frame ends it, then `Returned`.
    Streaming(WireInfo),
    /// The library could not be loaded.
    Refused(WireLoadError),
    /// The request made no sense.
    BadRequest(String),
}

// ---------------------------------------------------------------------------------------
// The runner's side.

/// What the runner is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Read the declaration.
    Declare,
    /// A version-1 export: the whole document in.
    Export,
    /// A version-2 export: the document's lines in, the output out in frames.
    Stream,
}

/// The runner's request, from its arguments.
struct Request {
    op: Op,
    path: PathBuf,
    trust: bool,
    memory: Option<u64>,
    output_limit: u64,
}

fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Request, String> {
    let op = match args.next().as_deref().and_then(|a| a.to_str()) {
        Some("declare") => Op::Declare,
        Some("export") => Op::Export,
        Some("stream") => Op::Stream,
        other => return Err(format!("unknown operation {other:?}")),
    };
    let path = PathBuf::from(args.next().ok_or("no library path")?);
    let mut request = Request {
        op,
        path,
        trust: false,
        memory: None,
        output_limit: DEFAULT_STREAMED_OUTPUT_BYTES,
    };
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--trust") => request.trust = true,
            Some("--memory") => {
                let n = args.next().and_then(|v| v.to_str()?.parse().ok());
                request.memory = Some(n.ok_or("--memory takes a number of bytes")?);
            }
            Some("--output-limit") => {
                let n = args.next().and_then(|v| v.to_str()?.parse().ok());
                request.output_limit = n.ok_or("--output-limit takes a number of bytes")?;
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(request)
}

/// Run as a plugin runner: `args` are the arguments after the program's name and
/// [`RUNNER_ARG`]. Returns the process's exit code: 0 once a reply is written, 2 for a
/// request that makes no sense, 1 when the reply could not be written.
pub fn serve(args: impl Iterator<Item = OsString>) -> u8 {
    let mut out = private_stdout();
    let written = match parse_args(args) {
        Err(e) => {
            let _ = reply(&mut out, &Reply::BadRequest(e), &[]);
            return 2;
        }
        Ok(request) => serve_request(&request, &mut out),
    };
    match &written {
        // The parent stopped reading (it refused the output): it knows why.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        // The parent shows the last line of standard error when no reply came.
        Err(e) => eprintln!("chronicle plugin runner: {e}"),
        Ok(()) => {}
    }
    u8::from(written.is_err())
}

/// Write one reply line, then `bytes`, and flush.
fn reply(out: &mut dyn Write, reply: &Reply, bytes: &[u8]) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, reply)?;
    out.write_all(b"\n")?;
    out.write_all(bytes)?;
    out.flush()
}

/// The largest frame of a streamed export's output.
const FRAME_BYTES: usize = 1 << 20;

fn serve_request(request: &Request, out: &mut dyn Write) -> std::io::Result<()> {
    let mut input = Vec::new();
    let mut options = Vec::new();
    let mut spool = None;
    if request.op != Op::Declare {
        let mut stdin = std::io::stdin().lock();
        let mut len = [0u8; 8];
        let read = stdin.read_exact(&mut len).and_then(|()| {
            let len = usize::try_from(u64::from_le_bytes(len)).unwrap_or(usize::MAX);
            options = vec![0; len.min(1 << 24)];
            stdin.read_exact(&mut options)?;
            match request.op {
                // The document's lines wait in a temporary file, not in memory.
                Op::Stream => Spool::from_lines(&mut stdin).map(|s| spool = Some(s)),
                _ => stdin.read_to_end(&mut input).map(drop),
            }
        });
        if let Err(e) = read {
            let what = if request.op == Op::Stream {
                "cannot read the request (the document is spooled to a temporary file in \
                 $TMPDIR)"
            } else {
                "cannot read the request"
            };
            return reply(out, &Reply::BadRequest(format!("{what}: {e}")), &[]);
        }
    }
    if let Some(extra) = request.memory {
        limit_memory(extra);
    }
    let plugin = load::check_trust(&request.path, PathKind::Library, request.trust)
        .and_then(|()| load::load(&request.path));
    let plugin = match plugin {
        Ok(p) => p,
        Err(e) => return reply(out, &Reply::Refused(WireLoadError::from_host(e)), &[]),
    };
    let info = || WireInfo {
        name: plugin.info.name.clone(),
        version: plugin.info.version.clone(),
        abi_version: plugin.info.abi_version,
        description: plugin.info.description.clone(),
        extension: plugin.info.extension.clone(),
        text: plugin.info.text,
    };
    match (request.op, spool) {
        (Op::Declare, _) => reply(out, &Reply::Declared(info()), &[]),
        (Op::Stream, Some(mut spool)) if plugin.streams() => {
            reply(out, &Reply::Streaming(info()), &[])?;
            let mut frames = |bytes: &[u8]| -> std::io::Result<()> {
                for frame in bytes.chunks(FRAME_BYTES) {
                    // A frame is at most FRAME_BYTES, so its length fits.
                    out.write_all(&(frame.len() as u32).to_le_bytes())?;
                    out.write_all(frame)?;
                }
                Ok(())
            };
            let returned =
                plugin.stream_with(&mut spool, &options, request.output_limit, &mut frames)?;
            out.write_all(&0u32.to_le_bytes())?;
            reply(out, &Reply::Returned(info(), wire_of(returned)), &[])
        }
        (Op::Export, _) if !plugin.streams() => plugin.call_with(&input, &options, |returned| {
            let bytes: &[u8] = match &returned {
                Returned::Ok(bytes) => bytes,
                _ => &[],
            };
            let wire = wire_of(returned.map(|b| len64(b.len())));
            reply(out, &Reply::Returned(info(), wire), bytes)
        }),
        _ => reply(
            out,
            &Reply::BadRequest(format!(
                "the library declares ABI version {} now, which this request was not made \
                 for (was it replaced since chronicle read it?)",
                plugin.info.abi_version
            )),
            &[],
        ),
    }
}

/// What a call returned, as it crosses the pipe (the output's length for a success).
fn wire_of(returned: Returned<u64>) -> WireReturned {
    match returned {
        Returned::Ok(len) => WireReturned::Ok { len },
        Returned::Error(message) => WireReturned::Error { message },
        Returned::Panic(message) => WireReturned::Panic { message },
        Returned::Usage(message) => WireReturned::Usage { message },
        Returned::Unknown(status, message) => WireReturned::Unknown { status, message },
        Returned::TooLarge(len) => WireReturned::TooLarge { len: len64(len) },
        Returned::NullWithLength(len) => WireReturned::NullWithLength { len: len64(len) },
        Returned::OutputLimit(limit) => WireReturned::OutputLimit { limit },
        Returned::Misused(reason) => WireReturned::Misused { reason },
        Returned::WroteOutsideCall(when) => WireReturned::WroteOutsideCall { when },
        Returned::BadPasses { asked, declared } => WireReturned::BadPasses { asked, declared },
    }
}

/// What crossed the pipe, back as what was returned.
fn returned_of(wire: WireReturned) -> Returned<u64> {
    let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    match wire {
        WireReturned::Ok { len } => Returned::Ok(len),
        WireReturned::Error { message } => Returned::Error(message),
        WireReturned::Panic { message } => Returned::Panic(message),
        WireReturned::Usage { message } => Returned::Usage(message),
        WireReturned::Unknown { status, message } => Returned::Unknown(status, message),
        WireReturned::TooLarge { len } => Returned::TooLarge(to_usize(len)),
        WireReturned::NullWithLength { len } => Returned::NullWithLength(to_usize(len)),
        WireReturned::OutputLimit { limit } => Returned::OutputLimit(limit),
        WireReturned::Misused { reason } => Returned::Misused(reason),
        WireReturned::WroteOutsideCall { when } => Returned::WroteOutsideCall(when),
        WireReturned::BadPasses { asked, declared } => Returned::BadPasses { asked, declared },
    }
}

fn len64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The runner's standard output, kept for replies; the plugin's own writes to standard
/// output (a forgotten `printf`) go to standard error instead, so they cannot break the
/// protocol.
fn private_stdout() -> Box<dyn Write> {
    #[cfg(unix)]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: dup and dup2 on the process's own standard descriptors; the new descriptor
        // is owned by the File from here on, and nothing else holds it.
        unsafe {
            let fd = libc::dup(1);
            if fd >= 0 && libc::dup2(2, 1) >= 0 {
                return Box::new(BufWriter::with_capacity(
                    1 << 16,
                    std::fs::File::from_raw_fd(fd),
                ));
            }
        }
    }
    Box::new(BufWriter::new(std::io::stdout()))
}

/// Limit the address space to what the runner holds now plus `extra` bytes (Linux reads
/// what it holds from `/proc/self/statm`; elsewhere `extra` is the whole limit).
fn limit_memory(extra: u64) {
    #[cfg(unix)]
    {
        let held = held_address_space().unwrap_or(0);
        let wanted = held.saturating_add(extra);
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit with a valid resource and a pointer to a live
        // rlimit; they only change this (child) process's limits.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_AS, &mut current) != 0 {
                return;
            }
            let limit = (wanted as libc::rlim_t).min(current.rlim_max);
            let new = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            libc::setrlimit(libc::RLIMIT_AS, &new);
        }
    }
    #[cfg(not(unix))]
    let _ = extra;
}

#[cfg(target_os = "linux")]
fn held_address_space() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok()?))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn held_address_space() -> Option<u64> {
    None
}

// ---------------------------------------------------------------------------------------
// The parent's side.

/// Writes the document (as it is serialized) to the runner.
pub type DocWriter<'a> = &'a (dyn Fn(&mut dyn Write) -> std::io::Result<()> + Sync);

/// A call's reply, read whole.
pub(crate) enum Answer {
    /// The declaration.
    Declared(PluginInfo),
    /// An export's declaration and what it returned.
    Returned(PluginInfo, Returned<Vec<u8>>),
    /// A streamed export's declaration and what it returned (its output went to the
    /// caller's function as it came; the number of bytes for a success).
    Streamed(PluginInfo, Returned<u64>),
    /// The caller's function refused a streamed export's output: it knows why.
    OutputRefused,
}

/// Takes a streamed export's output as it comes; `false` refuses it (and stops the export).
pub(crate) type OutputFn<'a> = dyn FnMut(&[u8]) -> bool + Send + 'a;

/// What a call asks of the runner.
pub(crate) enum Job<'a> {
    /// Read the declaration.
    Declare,
    /// A version-1 export with these options and this document (written whole).
    Export(&'a [u8], DocWriter<'a>),
    /// A version-2 export with these options and this document (written in its lines form:
    /// the incidents, then the head), the output to this function, and this limit.
    Stream(&'a [u8], DocWriter<'a>, &'a mut OutputFn<'a>, u64),
}

/// What the parent knows of the plugin when it asks.
pub(crate) struct Call<'a> {
    pub(crate) path: &'a Path,
    /// The format, when the declaration was read before (for messages).
    pub(crate) format: Option<&'a str>,
    pub(crate) trust: bool,
    pub(crate) job: Job<'a>,
}

/// How the runner ended.
struct Ended {
    status: ExitStatus,
    timed_out: bool,
    stdout: Replied,
    stderr: String,
}

/// What was read of the runner's standard output.
enum Replied {
    /// All of it (a declaration, a version-1 export, or a refusal).
    Whole(Vec<u8>),
    /// A streamed export: the first line (`Streaming`), then the output's frames (passed
    /// on), then what followed the end frame (the last reply line), if it came.
    Streamed {
        first: Vec<u8>,
        passed: u64,
        ended: bool,
        refused: bool,
        rest: Vec<u8>,
    },
}

/// Run one call in a runner and read its reply.
pub(crate) fn call(runner: &RunnerCommand, call: Call<'_>) -> Result<Answer, HostError> {
    let failed = |reason: String| HostError::RunnerFailed {
        program: runner.program.clone(),
        path: call.path.to_path_buf(),
        reason,
    };
    let mut command = Command::new(&runner.program);
    command
        .args(&runner.args)
        .arg(match call.job {
            Job::Declare => "declare",
            Job::Export(..) => "export",
            Job::Stream(..) => "stream",
        })
        .arg(std::path::absolute(call.path).unwrap_or_else(|_| call.path.to_path_buf()));
    if call.trust {
        command.arg("--trust");
    }
    if let Some(memory) = runner.limits.memory {
        command.arg("--memory").arg(memory.to_string());
    }
    if let Job::Stream(.., limit) = call.job {
        command.arg("--output-limit").arg(limit.to_string());
    }
    let declare = matches!(call.job, Job::Declare);
    command
        .stdin(if declare {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .map_err(|e| failed(format!("cannot be started: {e}")))?;
    let stage = if declare {
        Stage::Declaration
    } else {
        Stage::Export
    };
    let (path, format) = (call.path, call.format);
    let ended = exchange(child, call.job, runner.limits.timeout)
        .map_err(|e| failed(format!("failed: {e}")))?;
    if let Replied::Streamed { refused: true, .. } = ended.stdout {
        return Ok(Answer::OutputRefused);
    }
    if ended.timed_out {
        return Err(HostError::PluginTimedOut {
            format: format.map(str::to_owned),
            path: path.to_path_buf(),
            during: stage,
            limit: runner.limits.timeout,
        });
    }
    let answer = match &ended.stdout {
        Replied::Whole(bytes) => parse_reply(bytes, path, &runner.program),
        Replied::Streamed {
            first,
            passed,
            ended: true,
            rest,
            ..
        } => parse_streamed(first, *passed, rest, path, &runner.program),
        Replied::Streamed { first, .. } => match parse_reply(first, path, &runner.program) {
            // Not a stream after all (a refusal): the whole reply is that line.
            Some(Ok(Answer::Declared(_))) | None => None,
            other => other,
        },
    };
    if let Some(answer) = answer {
        return answer;
    }
    Err(died(runner, format, path, stage, ended))
}

/// A streamed export's last reply line, after `passed` bytes of output.
fn parse_streamed(
    first: &[u8],
    passed: u64,
    rest: &[u8],
    path: &Path,
    program: &Path,
) -> Option<Result<Answer, HostError>> {
    let streaming: Reply = serde_json::from_slice(first.strip_suffix(b"\n")?).ok()?;
    let Reply::Streaming(_) = streaming else {
        return None;
    };
    let line = rest.strip_suffix(b"\n")?;
    match serde_json::from_slice(line).ok()? {
        Reply::Returned(info, wire) => {
            let returned = returned_of(wire);
            if let Returned::Ok(len) = returned {
                if len != passed {
                    return None;
                }
            }
            Some(Ok(Answer::Streamed(info.into_info(path), returned)))
        }
        _ => Some(Err(HostError::RunnerFailed {
            program: program.to_path_buf(),
            path: path.to_path_buf(),
            reason: "ended a streamed export with something other than its outcome".to_owned(),
        })),
    }
}

/// The error for a runner that ended without a whole reply.
fn died(
    runner: &RunnerCommand,
    format: Option<&str>,
    path: &Path,
    stage: Stage,
    ended: Ended,
) -> HostError {
    let format = format.map(str::to_owned);
    let path = path.to_path_buf();
    let signal = exit_signal(ended.status);
    // Rust's allocation failure message: the plugin's allocator met the address-space limit.
    if let (Some(limit), Some(_)) = (runner.limits.memory, signal) {
        if ended.stderr.contains("memory allocation of") {
            return HostError::PluginOutOfMemory {
                format,
                path,
                during: stage,
                limit,
                stderr: ended.stderr,
            };
        }
    }
    let how = match (signal, ended.status.code()) {
        (Some(sig), _) => format!("it was killed by signal {sig} ({})", signal_name(sig)),
        (None, Some(code)) => format!("its process ended with exit code {code} without a reply"),
        (None, None) => format!("its process ended without a reply ({})", ended.status),
    };
    HostError::PluginCrashed {
        format,
        path,
        during: stage,
        signal,
        how,
        stderr: ended.stderr,
    }
}

#[cfg(unix)]
fn exit_signal(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn exit_signal(_status: ExitStatus) -> Option<i32> {
    None
}

/// A signal's name and what it usually means.
pub fn signal_name(signal: i32) -> &'static str {
    #[cfg(unix)]
    {
        let names: &[(i32, &str)] = &[
            (libc::SIGSEGV, "SIGSEGV, invalid memory access"),
            (libc::SIGBUS, "SIGBUS, invalid memory access"),
            (libc::SIGABRT, "SIGABRT, the plugin aborted"),
            (libc::SIGILL, "SIGILL, illegal instruction"),
            (libc::SIGFPE, "SIGFPE, arithmetic error"),
            (libc::SIGKILL, "SIGKILL, killed"),
            (libc::SIGTERM, "SIGTERM, terminated"),
            (libc::SIGINT, "SIGINT, interrupted"),
            (libc::SIGTRAP, "SIGTRAP, trap"),
            (libc::SIGSYS, "SIGSYS, bad system call"),
            (libc::SIGXCPU, "SIGXCPU, CPU time limit"),
            (libc::SIGPIPE, "SIGPIPE, broken pipe"),
        ];
        if let Some((_, name)) = names.iter().find(|(s, _)| *s == signal) {
            return name;
        }
    }
    let _ = signal;
    "an unexpected signal"
}

/// Write the request, read the reply and standard error, wait for the end, and kill the
/// runner at `timeout`. Standard error is passed through to ours as it comes.
fn exchange(mut child: Child, job: Job<'_>, timeout: Duration) -> std::io::Result<Ended> {
    let (export, output) = match job {
        Job::Declare => (None, None),
        Job::Export(options, doc) => (Some((options, doc)), None),
        Job::Stream(options, doc, output, _) => (Some((options, doc)), Some(output)),
    };
    let deadline = Instant::now() + timeout;
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
    let stderr = child.stderr.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
    let writing_failed = AtomicBool::new(false);
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let (Some(stdin), Some((options, doc))) = (stdin, export) else {
                return Ok(());
            };
            let mut w = BufWriter::with_capacity(1 << 16, stdin);
            let written = w
                .write_all(&len64(options.len()).to_le_bytes())
                .and_then(|()| w.write_all(options))
                .and_then(|()| doc(&mut w))
                .and_then(|()| w.flush());
            match written {
                // The runner stopped reading (it refused the library, or died): its reply
                // or its end says why.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => {
                    writing_failed.store(true, Ordering::SeqCst);
                    Err(e)
                }
                Ok(()) => Ok(()),
            }
        });
        let reader = s.spawn(move || {
            let read = match output {
                None => {
                    let mut bytes = Vec::new();
                    stdout
                        .read_to_end(&mut bytes)
                        .map(|_| Replied::Whole(bytes))
                }
                Some(output) => read_streamed(&mut stdout, output),
            };
            // Closing the pipe stops a runner whose output was refused (its next write
            // fails).
            drop(stdout);
            drop(done);
            read
        });
        let tail = s.spawn(move || pass_through(stderr));
        let mut timed_out = false;
        // Until the reply is read whole (or the pipe closes), or the deadline.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match finished.recv_timeout(left.min(Duration::from_millis(100))) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                    if left.is_zero() || writing_failed.load(Ordering::SeqCst) =>
                {
                    timed_out = left.is_zero();
                    let _ = child.kill();
                    break;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                _ => break,
            }
        }
        let status = wait_until(&mut child, deadline, &mut timed_out)?;
        let stdout = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()))?;
        let stderr = tail.join().unwrap_or_default();
        writer
            .join()
            .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()))?;
        Ok(Ended {
            status,
            timed_out,
            stdout,
            stderr,
        })
    })
}

/// Read a streamed export's reply: the first line, then the frames (each passed to
/// `output` as it comes, until it refuses one), then the rest.
fn read_streamed(stdout: &mut impl Read, output: &mut OutputFn<'_>) -> std::io::Result<Replied> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, stdout);
    let mut first = Vec::new();
    std::io::BufRead::read_until(&mut reader, b'\n', &mut first)?;
    let (mut passed, mut ended, mut refused) = (0u64, false, false);
    let mut rest = Vec::new();
    let streaming = matches!(
        first
            .strip_suffix(b"\n")
            .map(serde_json::from_slice::<Reply>),
        Some(Ok(Reply::Streaming(_)))
    );
    if !streaming {
        // A refusal, or a runner that died: the first line is the whole reply.
        reader.read_to_end(&mut first)?;
        return Ok(Replied::Streamed {
            first,
            passed,
            ended,
            refused,
            rest,
        });
    }
    let mut frame = Vec::new();
    loop {
        let mut len = [0u8; 4];
        match reader.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes(len) as usize;
        if len == 0 {
            ended = true;
            reader.read_to_end(&mut rest)?;
            break;
        }
        frame.resize(len.min(FRAME_BYTES), 0);
        if len > FRAME_BYTES {
            break;
        }
        match reader.read_exact(&mut frame) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        if !output(&frame) {
            refused = true;
            break;
        }
        passed += len as u64;
    }
    Ok(Replied::Streamed {
        first,
        passed,
        ended,
        refused,
        rest,
    })
}

/// Wait for the runner to end, killing it at `deadline`.
fn wait_until(
    child: &mut Child,
    deadline: Instant,
    timed_out: &mut bool,
) -> std::io::Result<ExitStatus> {
    let mut pause = Duration::from_micros(50);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            *timed_out = true;
            let _ = child.kill();
            return child.wait();
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Copy the runner's standard error to ours; return its last [`STDERR_TAIL`] bytes.
fn pass_through(mut from: impl Read) -> String {
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                // Nothing sensible to do when our standard error is gone.
                let _ = std::io::stderr().write_all(&buf[..n]);
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > STDERR_TAIL {
                    tail.drain(..tail.len() - STDERR_TAIL);
                }
            }
        }
    }
    String::from_utf8_lossy(&tail).into_owned()
}

/// The reply in `stdout`, when it is whole; `None` when the runner died before it finished.
fn parse_reply(stdout: &[u8], path: &Path, program: &Path) -> Option<Result<Answer, HostError>> {
    let newline = stdout.iter().position(|b| *b == b'\n')?;
    let reply: Reply = serde_json::from_slice(&stdout[..newline]).ok()?;
    let rest = &stdout[newline + 1..];
    let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Some(match reply {
        Reply::Streaming(_) => return None,
        Reply::Declared(info) => Ok(Answer::Declared(info.into_info(path))),
        Reply::Refused(e) => Err(e.into_host(path, program)),
        Reply::BadRequest(reason) => Err(HostError::RunnerFailed {
            program: program.to_path_buf(),
            path: path.to_path_buf(),
            reason: format!("refused the request: {reason}"),
        }),
        Reply::Returned(info, wire) => {
            let returned = match wire {
                WireReturned::Ok { len } => {
                    if rest.len() != to_usize(len) {
                        return None;
                    }
                    Returned::Ok(rest.to_vec())
                }
                WireReturned::Error { message } => Returned::Error(message),
                WireReturned::Panic { message } => Returned::Panic(message),
                WireReturned::Usage { message } => Returned::Usage(message),
                WireReturned::Unknown { status, message } => Returned::Unknown(status, message),
                WireReturned::TooLarge { len } => Returned::TooLarge(to_usize(len)),
                other => returned_of(other).map(|_| Vec::new()),
            };
            Ok(Answer::Returned(info.into_info(path), returned))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_parsed_or_refused() {
        let args = |a: &[&str]| parse_args(a.iter().map(OsString::from));
        let r = args(&["export", "/p/lib.so", "--trust", "--memory", "1024"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.op == Op::Export && r.trust);
        assert_eq!(r.output_limit, DEFAULT_STREAMED_OUTPUT_BYTES);
        assert_eq!(r.memory, Some(1024));
        assert_eq!(r.path, PathBuf::from("/p/lib.so"));
        let r = args(&["stream", "/p/lib.so", "--output-limit", "4096"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.op, r.output_limit), (Op::Stream, 4096));
        assert!(args(&["unload", "/p"]).is_err());
        assert!(args(&["declare"]).is_err());
        assert!(args(&["declare", "/p", "--memory", "lots"]).is_err());
    }

    #[test]
    fn a_reply_cut_short_is_no_reply() {
        let (path, program) = (Path::new("/p.so"), Path::new("/runner"));
        let whole = b"{\"Returned\":[{\"name\":\"md\",\"version\":\"1\",\"abi_version\":1,\"description\":\"d\",\"extension\":\"md\",\"text\":true},{\"Ok\":{\"len\":3}}]}\nabc";
        assert!(matches!(
            parse_reply(whole, path, program),
            Some(Ok(Answer::Returned(_, Returned::Ok(b)))) if b == b"abc"
        ));
        assert!(parse_reply(&whole[..whole.len() - 1], path, program).is_none());
        assert!(parse_reply(b"{\"Declared\":", path, program).is_none());
    }

    #[test]
    fn signals_have_names() {
        #[cfg(unix)]
        assert_eq!(signal_name(libc::SIGSEGV), "SIGSEGV, invalid memory access");
        assert_eq!(signal_name(1000), "an unexpected signal");
    }
}
