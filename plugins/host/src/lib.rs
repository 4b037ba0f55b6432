//! Discover, load and run chronicle export plugins.
//!
//! Plugins are shared libraries with the C ABI of `chronicle_plugin.h`
//! (see the `chronicle-plugin-sdk` crate). The host:
//! - searches directories in order ([`SearchPath`]): `--plugin-dir`
//!   directories, then `CHRONICLE_PLUGIN_PATH`, then the per-user
//!   directory, then the directory of the running executable;
//! - considers only files named like `libchronicle_plugin_*.so` (see
//!   [`is_plugin_file_name`]);
//! - refuses directories and libraries that group or others can write to,
//!   and those with a directory above them (on the real path and on the
//!   path as given) owned by someone other than root or the current user,
//!   or writable by group or others and not a root-owned sticky directory
//!   like `/tmp` (OpenSSH's StrictModes), unless told to trust them;
//! - reads the ABI version first, then the declaration, and validates it;
//! - refuses the whole set when two plugins claim one format or a plugin
//!   claims a built-in format;
//! - keeps every library it opened loaded until the process exits;
//! - with [`Isolation::Child`] (what chronicle uses), opens no library itself: each
//!   declaration and each export runs in a child process, the runner ([`runner`]), so a
//!   plugin that crashes, loops or allocates without bound ends with an error naming it,
//!   the signal or the limit, and the caller survives; a library that cannot be read is
//!   marked broken ([`PluginHost::broken`]) without disabling the others.
//!
//! ```no_run
//! use chronicle_plugin_host::{HostOptions, PluginHost, SearchPath};
//! use std::collections::BTreeMap;
//!
//! let host = PluginHost::discover(&SearchPath::standard(&[]), &HostOptions::default())?;
//! for p in host.formats() {
//!     println!("{} {} ({})", p.name, p.version, p.path.display());
//! }
//! let doc = chronicle_plugin_sdk::testing::sample_document_json();
//! let out = host.export("markdown", &doc, &BTreeMap::new())?;
//! std::fs::write(format!("chronology.{}", out.extension), &out.bytes)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
mod error;
mod load;
mod output;
pub mod runner;
mod search;
mod spool;
pub mod testing;

pub use check::{check_library, CheckItem, CheckOutcome, CheckReport, Verbose, SHOWN_OUTPUT_BYTES};
pub use chronicle_plugin_sdk::abi::{
    ABI_VERSION, DEFAULT_STREAMED_OUTPUT_BYTES, MAX_OUTPUT_BYTES, MIN_SUPPORTED_ABI_VERSION,
};
pub use error::{AncestorProblem, HostError, PathKind, Stage};
pub use runner::{DocWriter, Isolation, Limits, RunnerCommand};
pub use search::{
    is_plugin_file_name, plugin_file_name, user_plugin_dir, DirOrigin, SearchDir, SearchPath,
    LIBRARY_STEM_PREFIXES, PLUGIN_PATH_ENV,
};

use load::LoadedPlugin;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Formats built into chronicle, which no plugin may claim.
pub const BUILTIN_FORMATS: &[&str] = &["json"];

/// How the host treats what it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptions {
    /// Load from directories and files that group or others can write to,
    /// or below such directories or directories of other users
    /// (`--trust-plugin-dir`).
    pub trust_plugin_dirs: bool,
    /// Format names no plugin may claim (the built-in formats).
    pub reserved_formats: Vec<String>,
    /// Where plugin code runs: in this process, or in a runner per call.
    pub isolation: Isolation,
}

impl Default for HostOptions {
    /// Not trusting writable directories; [`BUILTIN_FORMATS`] reserved; plugins run in
    /// this process (a library cannot guess its program's runner: see [`Isolation`]).
    fn default() -> Self {
        HostOptions {
            trust_plugin_dirs: false,
            reserved_formats: BUILTIN_FORMATS.iter().map(|s| (*s).to_owned()).collect(),
            isolation: Isolation::InProcess,
        }
    }
}

/// What a plugin declares, and where it was loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Format name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// The plugin ABI version it was built for.
    pub abi_version: u32,
    /// One-line description.
    pub description: String,
    /// File extension of the output, without the dot.
    pub extension: String,
    /// Whether the output is UTF-8 text.
    pub text: bool,
    /// The library file.
    pub path: PathBuf,
    /// The kind of directory discovery found it in; `None` when loaded
    /// directly by [`check_library`].
    pub origin: Option<DirOrigin>,
}

/// The form of the document a plugin is given (what a [`DocWriter`] passed to
/// [`PluginHost::export_to`] writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentForm {
    /// The whole `chronicle.views/1` document, as JSON (ABI version 1).
    Whole,
    /// The lines form (ABI version 2): each incident as compact JSON on a line of its own,
    /// in document order, then the head on the last line: the document without
    /// `incidents`, with `incident_count` (the SDK's `DocumentHead`).
    Lines,
}

impl PluginInfo {
    /// The form of the document this plugin is given.
    pub fn document_form(&self) -> DocumentForm {
        if self.abi_version >= 2 {
            DocumentForm::Lines
        } else {
            DocumentForm::Whole
        }
    }
}

/// The result of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutput {
    /// The exported bytes (UTF-8 when `text`).
    pub bytes: Vec<u8>,
    /// Suggested file extension, without the dot.
    pub extension: String,
    /// Whether `bytes` is UTF-8 text.
    pub text: bool,
}

/// A library found in a plugin directory that could not be read as a plugin: it is not
/// a library, lacks the symbols, declares itself badly, or crashed, hung or ran out of
/// memory while its declaration was read. The other plugins are loaded all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenPlugin {
    /// The library file.
    pub path: PathBuf,
    /// The kind of directory it was found in.
    pub origin: DirOrigin,
    /// What is wrong, as a sentence that names the file.
    pub reason: String,
}

impl BrokenPlugin {
    /// The format its file name suggests (`broken` for `libchronicle_plugin_broken.so`):
    /// what it would most likely provide, were it not broken.
    pub fn format_by_file_name(&self) -> Option<String> {
        let name = self.path.file_name()?.to_str()?;
        let stem = name
            .strip_prefix(std::env::consts::DLL_PREFIX)?
            .strip_suffix(std::env::consts::DLL_SUFFIX)?;
        LIBRARY_STEM_PREFIXES
            .iter()
            .find_map(|p| stem.strip_prefix(p))
            .map(str::to_owned)
    }
}

/// A plugin whose declaration was read, and how to call it.
#[derive(Debug, Clone)]
pub(crate) struct Plugin {
    pub(crate) info: PluginInfo,
    how: How,
}

#[derive(Debug, Clone)]
enum How {
    /// Loaded into this process.
    InProcess(LoadedPlugin),
    /// Called through a runner, each time in a new process.
    Child { runner: RunnerCommand, trust: bool },
}

impl Plugin {
    /// Read the declaration of the library at `path`, as `options.isolation` says. Trust is
    /// checked first, here (and again by the runner).
    pub(crate) fn declare(path: &Path, options: &HostOptions) -> Result<Plugin, HostError> {
        load::check_trust(path, PathKind::Library, options.trust_plugin_dirs)?;
        match &options.isolation {
            Isolation::InProcess => {
                let loaded = load::load(path)?;
                Ok(Plugin {
                    info: loaded.info.clone(),
                    how: How::InProcess(loaded),
                })
            }
            Isolation::Child(runner) => {
                let call = runner::Call {
                    path,
                    format: None,
                    trust: options.trust_plugin_dirs,
                    job: runner::Job::Declare,
                };
                match runner::call(runner, call)? {
                    runner::Answer::Declared(info)
                    | runner::Answer::Returned(info, _)
                    | runner::Answer::Streamed(info, _) => Ok(Plugin {
                        info,
                        how: How::Child {
                            runner: runner.clone(),
                            trust: options.trust_plugin_dirs,
                        },
                    }),
                    runner::Answer::OutputRefused => Err(HostError::RunnerFailed {
                        program: runner.program.clone(),
                        path: path.to_path_buf(),
                        reason: "answered a declaration with output".to_owned(),
                    }),
                }
            }
        }
    }

    /// Export the document `doc` writes (whole: a version-1 plugin), and check what came
    /// back.
    fn export_whole(
        &self,
        doc: DocWriter<'_>,
        options_json: &[u8],
    ) -> Result<ExportOutput, HostError> {
        match &self.how {
            How::InProcess(loaded) => {
                let mut bytes = Vec::new();
                doc(&mut bytes).map_err(|error| HostError::Io {
                    path: self.info.path.clone(),
                    error,
                })?;
                loaded.export(&bytes, options_json)
            }
            How::Child { runner, trust } => {
                let call = runner::Call {
                    path: &self.info.path,
                    format: Some(&self.info.name),
                    trust: *trust,
                    job: runner::Job::Export(options_json, doc),
                };
                match runner::call(runner, call)? {
                    runner::Answer::Returned(_, returned) => load::interpret(&self.info, returned),
                    _ => Err(self.runner_failed(runner, "answered an export with something else")),
                }
            }
        }
    }

    fn runner_failed(&self, runner: &RunnerCommand, reason: &str) -> HostError {
        HostError::RunnerFailed {
            program: runner.program.clone(),
            path: self.info.path.clone(),
            reason: reason.to_owned(),
        }
    }

    /// Export the document `doc` writes (in the form [`PluginInfo::document_form`] says) to
    /// `out`. A version-1 plugin's output is written once it is whole and checked; a
    /// streamed plugin's as it comes, checked on the way (UTF-8 across chunks): on an error
    /// `out` holds part of an output, which the caller discards. Returns the bytes written.
    pub(crate) fn export_to(
        &self,
        doc: DocWriter<'_>,
        options_json: &[u8],
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, HostError> {
        let failed = |e: std::io::Error| HostError::OutputFailed {
            format: self.info.name.clone(),
            path: self.info.path.clone(),
            message: e.to_string(),
        };
        if self.info.document_form() == DocumentForm::Whole {
            let output = self.export_whole(doc, options_json)?;
            out.write_all(&output.bytes).map_err(failed)?;
            return Ok(output.bytes.len() as u64);
        }
        let mut checked = output::Checked::new(out, self.info.text);
        let returned = match &self.how {
            How::InProcess(loaded) => {
                let io = |error| HostError::Io {
                    path: std::env::temp_dir(),
                    error,
                };
                let mut spool = spool::SpoolWriter::new().map_err(io)?;
                doc(&mut spool).map_err(io)?;
                let mut spool = spool.finish().map_err(io)?;
                let mut take = |b: &[u8]| {
                    if checked.take(b) {
                        Ok(())
                    } else {
                        Err(std::io::Error::other("the output was refused"))
                    }
                };
                let streamed = loaded.stream_with(
                    &mut spool,
                    options_json,
                    DEFAULT_STREAMED_OUTPUT_BYTES,
                    &mut take,
                );
                match streamed {
                    Ok(returned) => Some(returned),
                    Err(_) if checked.refused().is_some() => None,
                    Err(error) => return Err(io(error)),
                }
            }
            How::Child { runner, trust } => {
                let mut take = |b: &[u8]| checked.take(b);
                let call = runner::Call {
                    path: &self.info.path,
                    format: Some(&self.info.name),
                    trust: *trust,
                    job: runner::Job::Stream(options_json, doc, &mut take, runner.limits.output),
                };
                match runner::call(runner, call)? {
                    runner::Answer::Streamed(_, returned) => Some(returned),
                    runner::Answer::OutputRefused => None,
                    _ => {
                        return Err(self.runner_failed(
                            runner,
                            "answered a streamed export with something else",
                        ))
                    }
                }
            }
        };
        let refused = |r: output::Refused| match r {
            output::Refused::Utf8 { valid_up_to } => HostError::InvalidUtf8 {
                format: self.info.name.clone(),
                path: self.info.path.clone(),
                valid_up_to: usize::try_from(valid_up_to).unwrap_or(usize::MAX),
            },
            output::Refused::Io(message) => HostError::OutputFailed {
                format: self.info.name.clone(),
                path: self.info.path.clone(),
                message,
            },
        };
        if let Some(r) = checked.refused() {
            return Err(refused(r.clone()));
        }
        let Some(returned) = returned else {
            return Err(HostError::OutputFailed {
                format: self.info.name.clone(),
                path: self.info.path.clone(),
                message: "the output was refused".to_owned(),
            });
        };
        load::interpret_streamed(&self.info, returned)?;
        checked.finish().map_err(refused)
    }

    /// Export `doc_json`, a whole document (turned into the lines form for a streamed
    /// plugin), into memory.
    pub(crate) fn export(
        &self,
        doc_json: &[u8],
        options_json: &[u8],
    ) -> Result<ExportOutput, HostError> {
        match self.info.document_form() {
            DocumentForm::Whole => self.export_whole(
                &|w: &mut dyn std::io::Write| w.write_all(doc_json),
                options_json,
            ),
            DocumentForm::Lines => {
                let lines = spool::document_to_lines(doc_json);
                let mut bytes = Vec::new();
                self.export_to(
                    &|w: &mut dyn std::io::Write| w.write_all(&lines),
                    options_json,
                    &mut bytes,
                )?;
                Ok(ExportOutput {
                    bytes,
                    extension: self.info.extension.clone(),
                    text: self.info.text,
                })
            }
        }
    }
}

/// The loaded plugins, by format name.
#[derive(Debug, Clone, Default)]
pub struct PluginHost {
    plugins: BTreeMap<String, Plugin>,
    broken: Vec<BrokenPlugin>,
    warnings: Vec<String>,
}

/// What one directory yielded.
struct Scanned {
    plugins: Vec<Plugin>,
    broken: Vec<BrokenPlugin>,
    warnings: Vec<String>,
}

/// Whether `e` says the library itself is unusable (rather than the directory untrusted or
/// the runner missing): such a library is marked broken and the others are loaded.
fn is_broken_library(e: &HostError) -> bool {
    matches!(
        e,
        HostError::NotALibrary { .. }
            | HostError::MissingSymbol { .. }
            | HostError::AbiTooNew { .. }
            | HostError::AbiTooOld { .. }
            | HostError::InvalidDeclaration { .. }
            | HostError::PluginCrashed { .. }
            | HostError::PluginTimedOut { .. }
            | HostError::PluginOutOfMemory { .. }
    )
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> HostError + '_ {
    move |error| HostError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The plugin library files of a directory, sorted by name, plus
/// warnings about libraries that do not follow the naming rule.
fn candidates(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>), HostError> {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        if !path.is_file() {
            continue;
        }
        if is_plugin_file_name(&name) {
            files.push(path);
        } else if search::is_library_file_name(&name) {
            warnings.push(format!(
                "ignored {}: plugin libraries are named {}",
                path.display(),
                plugin_file_name("chronicle_plugin_NAME")
            ));
        }
    }
    files.sort();
    warnings.sort();
    Ok((files, warnings))
}

fn scan(
    dir: &SearchDir,
    options: &HostOptions,
    seen_files: &mut BTreeSet<PathBuf>,
) -> Result<Scanned, HostError> {
    let configured = dir.origin.is_configured();
    let mut out = Scanned {
        plugins: Vec::new(),
        broken: Vec::new(),
        warnings: Vec::new(),
    };
    check_trust_dir(&dir.path, options)?;
    let (files, warnings) = candidates(&dir.path)?;
    if configured {
        out.warnings.extend(warnings);
    }
    let mut fresh = Vec::new();
    for file in files {
        let canonical = std::fs::canonicalize(&file).map_err(io_err(&file))?;
        if seen_files.insert(canonical) {
            fresh.push(file);
        }
    }
    // Through runners, each declaration is a process start: start them all at once. The
    // results are taken in name order, so what is found does not depend on timing.
    let declared: Vec<Result<Plugin, HostError>> = match options.isolation {
        Isolation::Child(_) if fresh.len() > 1 => std::thread::scope(|s| {
            let handles: Vec<_> = fresh
                .iter()
                .map(|file| s.spawn(move || Plugin::declare(file, options)))
                .collect();
            handles
                .into_iter()
                .zip(&fresh)
                .map(|(h, file)| {
                    h.join().unwrap_or_else(|_| {
                        Err(HostError::RunnerFailed {
                            program: PathBuf::new(),
                            path: file.clone(),
                            reason: "could not be waited for".to_owned(),
                        })
                    })
                })
                .collect()
        }),
        _ => fresh.iter().map(|f| Plugin::declare(f, options)).collect(),
    };
    for (file, result) in fresh.into_iter().zip(declared) {
        match result {
            Ok(mut plugin) => {
                plugin.info.origin = Some(dir.origin);
                out.plugins.push(plugin);
            }
            Err(e) if configured && is_broken_library(&e) => {
                out.warnings.push(format!("skipped: {e}"));
                out.broken.push(BrokenPlugin {
                    path: file,
                    origin: dir.origin,
                    reason: e.to_string(),
                });
            }
            Err(e) if configured => return Err(e),
            Err(e) => out.warnings.push(format!("skipped: {e}")),
        }
    }
    Ok(out)
}

fn check_trust_dir(dir: &Path, options: &HostOptions) -> Result<(), HostError> {
    load::check_trust(dir, PathKind::Directory, options.trust_plugin_dirs)
}

impl PluginHost {
    /// Search `search` for plugins and load them.
    ///
    /// In configured directories (`--plugin-dir`, `CHRONICLE_PLUGIN_PATH`,
    /// the user directory), a library that fails to load, declares itself
    /// badly, or crashes, hangs or runs out of memory while declaring itself
    /// is marked broken ([`PluginHost::broken`], with a warning) and the
    /// others are loaded; every other error is fatal: a missing `--plugin-dir`,
    /// a writable directory or library, two plugins claiming one format, a
    /// plugin claiming a reserved format. Nothing is registered then. Missing
    /// `CHRONICLE_PLUGIN_PATH` entries and a missing user directory are
    /// skipped (with a warning for the former).
    ///
    /// The executable's directory is searched last and leniently (it is
    /// searched without being asked for, and a build directory holds many
    /// libraries): a library there that fails, or whose format is already
    /// provided, is skipped with a warning.
    pub fn discover(search: &SearchPath, options: &HostOptions) -> Result<PluginHost, HostError> {
        let mut host = PluginHost {
            plugins: BTreeMap::new(),
            broken: Vec::new(),
            warnings: search.ignored.clone(),
        };
        let mut seen_dirs = BTreeSet::new();
        let mut seen_files = BTreeSet::new();
        for dir in &search.dirs {
            match std::fs::metadata(&dir.path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => match dir.origin {
                    DirOrigin::PluginDir => {
                        return Err(HostError::DirNotFound {
                            path: dir.path.clone(),
                        })
                    }
                    DirOrigin::EnvVar => {
                        host.warnings.push(format!(
                            "ignored {} in {PLUGIN_PATH_ENV}: it does not exist",
                            dir.path.display()
                        ));
                        continue;
                    }
                    DirOrigin::UserDir | DirOrigin::ExeDir => continue,
                },
                Err(error) => {
                    return Err(HostError::Io {
                        path: dir.path.clone(),
                        error,
                    })
                }
                Ok(meta) if !meta.is_dir() => {
                    return Err(HostError::NotADirectory {
                        path: dir.path.clone(),
                    })
                }
                Ok(_) => {}
            }
            let canonical = std::fs::canonicalize(&dir.path).map_err(io_err(&dir.path))?;
            if !seen_dirs.insert(canonical) {
                continue;
            }
            match scan(dir, options, &mut seen_files) {
                Ok(scanned) => {
                    host.warnings.extend(scanned.warnings);
                    host.broken.extend(scanned.broken);
                    for plugin in scanned.plugins {
                        host.register(plugin, dir.origin, options)?;
                    }
                }
                Err(e) if dir.origin.is_configured() => return Err(e),
                Err(e) => host.warnings.push(format!("skipped: {e}")),
            }
        }
        Ok(host)
    }

    fn register(
        &mut self,
        plugin: Plugin,
        origin: DirOrigin,
        options: &HostOptions,
    ) -> Result<(), HostError> {
        let name = plugin.info.name.clone();
        let lenient = !origin.is_configured();
        if options.reserved_formats.contains(&name) {
            if lenient {
                self.warnings.push(format!(
                    "skipped {}: it claims the format `{name}`, which is built into chronicle",
                    plugin.info.path.display()
                ));
                return Ok(());
            }
            return Err(HostError::ReservedFormat {
                format: name,
                path: plugin.info.path,
            });
        }
        if let Some(existing) = self.plugins.get(&name) {
            if lenient {
                self.warnings.push(format!(
                    "skipped {}: the format `{name}` is already provided by {}",
                    plugin.info.path.display(),
                    existing.info.path.display()
                ));
                return Ok(());
            }
            return Err(HostError::DuplicateFormat {
                format: name,
                first: existing.info.path.clone(),
                second: plugin.info.path,
            });
        }
        self.plugins.insert(name, plugin);
        Ok(())
    }

    /// The loaded plugins, sorted by format name.
    pub fn formats(&self) -> Vec<PluginInfo> {
        self.plugins.values().map(|p| p.info.clone()).collect()
    }

    /// The plugin providing `format`, if any.
    pub fn get(&self, format: &str) -> Option<&PluginInfo> {
        self.plugins.get(format).map(|p| &p.info)
    }

    /// Things skipped or ignored during discovery, one sentence each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The libraries of configured directories that could not be read as plugins.
    pub fn broken(&self) -> &[BrokenPlugin] {
        &self.broken
    }

    /// The error for `format` when no plugin provides it but a broken library's file name
    /// says it would ([`BrokenPlugin::format_by_file_name`]).
    pub fn broken_format(&self, format: &str) -> Option<HostError> {
        let wanted = format.replace('-', "_");
        self.broken
            .iter()
            .find(|b| b.format_by_file_name().map(|f| f.replace('-', "_")) == Some(wanted.clone()))
            .map(|b| HostError::BrokenFormat {
                format: format.to_owned(),
                path: b.path.clone(),
                reason: b.reason.clone(),
            })
    }

    /// Render `doc_json` (a whole `chronicle.views/1` document) with the plugin
    /// for `format`, passing `options` as a JSON object of strings. A streamed (version-2)
    /// plugin is given it in the lines form.
    pub fn export(
        &self,
        format: &str,
        doc_json: &[u8],
        options: &BTreeMap<String, String>,
    ) -> Result<ExportOutput, HostError> {
        let plugin = self.plugin(format)?;
        let lines;
        let doc: &[u8] = match plugin.info.document_form() {
            DocumentForm::Whole => doc_json,
            DocumentForm::Lines => {
                lines = spool::document_to_lines(doc_json);
                &lines
            }
        };
        self.export_with(
            format,
            &|w: &mut dyn std::io::Write| w.write_all(doc),
            options,
        )
    }

    /// As [`PluginHost::export`], with the document written by `doc` as it is serialized, in
    /// the form [`PluginInfo::document_form`] says: through a runner, the document streams
    /// to the plugin's process and is never held whole in this one. The output is collected
    /// in memory ([`PluginHost::export_to`] writes it out instead).
    pub fn export_with(
        &self,
        format: &str,
        doc: DocWriter<'_>,
        options: &BTreeMap<String, String>,
    ) -> Result<ExportOutput, HostError> {
        let mut bytes = Vec::new();
        self.export_to(format, doc, options, &mut bytes)?;
        let info = &self.plugin(format)?.info;
        Ok(ExportOutput {
            bytes,
            extension: info.extension.clone(),
            text: info.text,
        })
    }

    /// Export the document `doc` writes (in the form [`PluginInfo::document_form`] says)
    /// with the plugin for `format` into `out`; returns the number of bytes written. A
    /// streamed (version-2) plugin's output reaches `out` as the plugin writes it, checked
    /// on the way; a version-1 plugin's once it is whole. On an error `out` may hold part of
    /// an output: write to a temporary file and keep it only on success.
    pub fn export_to(
        &self,
        format: &str,
        doc: DocWriter<'_>,
        options: &BTreeMap<String, String>,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, HostError> {
        let plugin = self.plugin(format)?;
        match plugin.export_to(doc, &options_json(options), out) {
            Err(HostError::PluginFailed {
                format,
                path,
                message,
            }) if !options.is_empty() && refuses_options(plugin, options) => {
                Err(HostError::BadOption {
                    format,
                    path,
                    message,
                })
            }
            other => other,
        }
    }

    /// The plugin for `format`, or why there is none.
    fn plugin(&self, format: &str) -> Result<&Plugin, HostError> {
        self.plugins.get(format).ok_or_else(|| {
            self.broken_format(format)
                .unwrap_or_else(|| HostError::UnknownFormat {
                    format: format.to_owned(),
                    available: self.plugins.keys().cloned().collect(),
                })
        })
    }
}

/// Whether `plugin` failed because of `options`: it exports the SDK's sample document
/// without them and fails with them. Asked only after an export with options failed with
/// status 1 (a plugin built before the usage status 3, or one that does not use it), so a
/// refused `--option` is the caller's input (exit 2) and any other failure the plugin's.
fn refuses_options(plugin: &Plugin, options: &BTreeMap<String, String>) -> bool {
    let sample = chronicle_plugin_sdk::testing::sample_document_json();
    plugin
        .export(&sample, &options_json(&BTreeMap::new()))
        .is_ok()
        && plugin.export(&sample, &options_json(options)).is_err()
}

/// Options as the JSON object the ABI passes.
fn options_json(options: &BTreeMap<String, String>) -> Vec<u8> {
    // A map of strings always serializes.
    serde_json::to_vec(options).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    /// The CLI may share a host between threads and wrap its errors in
    /// `anyhow`.
    #[test]
    fn host_and_errors_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<super::PluginHost>();
        send_sync::<super::HostError>();
        send_sync::<super::CheckReport>();
    }
}
