//! `chronicle plugins check PATH`: load one library and exercise it.

use crate::error::HostError;
use crate::search::{is_plugin_file_name, plugin_file_name};
use crate::{options_json, ExportOutput, HostOptions, Plugin, PluginInfo};
use chronicle_plugin_sdk::testing::sample_document_json;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Fine; the text says what was seen.
    Pass(String),
    /// Works, but something should be fixed.
    Warn(String),
    /// Broken.
    Fail(String),
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    /// What was checked.
    pub name: String,
    /// How it went.
    pub outcome: CheckOutcome,
    /// What the plugin returned for each call this check made, one line each: the message
    /// of an error, or the size and first bytes of an output (shown by
    /// [`CheckReport::verbose`]).
    pub returned: Vec<String>,
}

/// What [`check_library`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The plugin's declaration.
    pub plugin: PluginInfo,
    /// The checks, in the order run.
    pub checks: Vec<CheckItem>,
    /// The export of the sample document, when it worked.
    pub sample_output: Option<ExportOutput>,
}

impl CheckReport {
    /// True when no check failed (warnings allowed).
    pub fn passed(&self) -> bool {
        !self
            .checks
            .iter()
            .any(|c| matches!(c.outcome, CheckOutcome::Fail(_)))
    }
}

/// How many bytes of an output `plugins check --verbose` shows.
pub const SHOWN_OUTPUT_BYTES: usize = 160;

/// One call's result as `plugins check --verbose` shows it: the message in full (escaped, so
/// that garbage in it is seen), or the size and the first [`SHOWN_OUTPUT_BYTES`] of the output.
fn returned(result: &Result<ExportOutput, HostError>) -> String {
    match result {
        Ok(out) => {
            let head = &out.bytes[..out.bytes.len().min(SHOWN_OUTPUT_BYTES)];
            let shown = match std::str::from_utf8(head) {
                Ok(text) => text.escape_debug().to_string(),
                // A text format cut inside a character, or a binary format.
                Err(e) if out.text && e.valid_up_to() + 4 > head.len() => {
                    String::from_utf8_lossy(&head[..e.valid_up_to()])
                        .escape_debug()
                        .to_string()
                }
                Err(_) => head.escape_ascii().to_string(),
            };
            let more = if out.bytes.len() > head.len() {
                "…"
            } else {
                ""
            };
            format!("output, {} bytes: \"{shown}\"{more}", out.bytes.len())
        }
        Err(HostError::PluginFailed { message, .. }) => {
            format!("error message: \"{}\"", message.escape_debug())
        }
        Err(HostError::PluginPanicked { message, .. }) => {
            format!("panic message: \"{}\"", message.escape_debug())
        }
        Err(HostError::Usage { message, .. }) => {
            format!("usage error message: \"{}\"", message.escape_debug())
        }
        Err(e) => format!("failure: {e}"),
    }
}

/// [`CheckReport`] with what the plugin returned under each check.
#[derive(Debug)]
pub struct Verbose<'a>(&'a CheckReport);

impl fmt::Display for Verbose<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f, true)
    }
}

impl CheckReport {
    /// The report with, under each check, every message and the first bytes of every
    /// output the plugin returned (`plugins check --verbose`).
    pub fn verbose(&self) -> Verbose<'_> {
        Verbose(self)
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, verbose: bool) -> fmt::Result {
        let p = &self.plugin;
        writeln!(f, "plugin:      {}", p.path.display())?;
        writeln!(
            f,
            "format:      {} {} (ABI {})",
            p.name, p.version, p.abi_version
        )?;
        writeln!(f, "description: {}", p.description)?;
        writeln!(
            f,
            "output:      .{} ({})",
            p.extension,
            if p.text { "UTF-8 text" } else { "binary" }
        )?;
        for c in &self.checks {
            let (tag, text) = match &c.outcome {
                CheckOutcome::Pass(t) => ("ok  ", t),
                CheckOutcome::Warn(t) => ("warn", t),
                CheckOutcome::Fail(t) => ("FAIL", t),
            };
            writeln!(f, "[{tag}] {}: {text}", c.name)?;
            if verbose {
                for r in &c.returned {
                    writeln!(f, "       returned {r}")?;
                }
            }
        }
        write!(
            f,
            "{}",
            if self.passed() {
                "result: passed"
            } else {
                "result: FAILED"
            }
        )
    }
}

impl fmt::Display for CheckReport {
    /// A report for the terminal: the declaration, then one line per check.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, false)
    }
}

/// Load the library at `path` and run it on the SDK's sample document
/// (`chronicle_plugin_sdk::testing::sample_document`).
///
/// Returns `Err` when the library cannot be loaded as a plugin at all (not
/// a library, missing symbols, unsupported ABI, bad declaration, writable
/// by group or others without `trust_plugin_dirs`). Otherwise the report
/// lists each check: the file name follows the discovery rule; the format
/// name is not reserved; the sample exports (as UTF-8 for text formats);
/// a second export gives the same bytes; invalid input gives an error, not
/// a crash; an unknown option is rejected.
///
/// With [`Isolation::Child`](crate::Isolation), each call runs in its own runner: a crash,
/// a hang or a runaway allocation fails that check (naming the signal or the limit) and the
/// others still run.
pub fn check_library(path: &Path, options: &HostOptions) -> Result<CheckReport, HostError> {
    let plugin = Plugin::declare(path, options)?;
    let info = plugin.info.clone();
    let item = |name: &str, outcome| CheckItem {
        name: name.to_owned(),
        outcome,
        returned: Vec::new(),
    };
    let seen = |name: &str, (outcome, results): (CheckOutcome, Vec<String>)| CheckItem {
        name: name.to_owned(),
        outcome,
        returned: results,
    };
    let mut checks = vec![
        item("file name", file_name(path, &info)),
        item("format name", format_name(&info, options)),
    ];
    let doc = sample_document_json();
    let no_options = options_json(&BTreeMap::new());
    let first = plugin.export(&doc, &no_options);
    let shown = vec![returned(&first)];
    let sample_output = match first {
        Ok(out) => {
            checks.push(seen(
                "export sample document",
                (
                    CheckOutcome::Pass(format!(
                        "{} bytes{}",
                        out.bytes.len(),
                        if out.text { " of UTF-8 text" } else { "" }
                    )),
                    shown,
                ),
            ));
            checks.push(seen(
                "deterministic",
                deterministic(&plugin, &doc, &no_options, &out),
            ));
            Some(out)
        }
        Err(e) => {
            checks.push(seen(
                "export sample document",
                (CheckOutcome::Fail(e.to_string()), shown),
            ));
            None
        }
    };
    checks.push(seen("invalid input", invalid_input(&plugin, &no_options)));
    checks.push(seen("unknown option", unknown_option(&plugin, &doc)));
    Ok(CheckReport {
        plugin: info,
        checks,
        sample_output,
    })
}

/// Whether discovery would load a file of this name.
fn file_name(path: &Path, info: &PluginInfo) -> CheckOutcome {
    match path.file_name() {
        Some(n) if is_plugin_file_name(n) => {
            CheckOutcome::Pass("discovery will find it in a plugin directory".to_owned())
        }
        _ => CheckOutcome::Warn(format!(
            "discovery only loads files named like {}; rename it before installing",
            plugin_file_name(&format!("chronicle_plugin_{}", info.name.replace('-', "_")))
        )),
    }
}

/// Whether the format name is free (not a built-in format's).
fn format_name(info: &PluginInfo, options: &HostOptions) -> CheckOutcome {
    if options.reserved_formats.contains(&info.name) {
        CheckOutcome::Fail(format!(
            "`{}` is a built-in format; chronicle will refuse this plugin",
            info.name
        ))
    } else {
        CheckOutcome::Pass(format!("`{}` is free", info.name))
    }
}

/// Whether a second export of `doc` gives the bytes of the `first`.
fn deterministic(
    plugin: &Plugin,
    doc: &[u8],
    no_options: &[u8],
    first: &ExportOutput,
) -> (CheckOutcome, Vec<String>) {
    let again = plugin.export(doc, no_options);
    let shown = vec![returned(&again)];
    let outcome = match again {
        Ok(again) if again.bytes == first.bytes => {
            CheckOutcome::Pass("a second export gave the same bytes".to_owned())
        }
        Ok(_) => CheckOutcome::Fail(
            "a second export of the same document gave different bytes \
             (timestamps? hash-map order?)"
                .to_owned(),
        ),
        Err(e) => CheckOutcome::Fail(format!("the second export failed: {e}")),
    };
    (outcome, shown)
}

/// Whether a broken document gives an error (not a crash, not output).
fn invalid_input(plugin: &Plugin, no_options: &[u8]) -> (CheckOutcome, Vec<String>) {
    let result = plugin.export(
        b"{\"schema\": \"chronicle.views/1\", \"incidents\": 42",
        no_options,
    );
    let shown = vec![returned(&result)];
    let outcome = match result {
        Err(HostError::PluginFailed { .. }) => {
            CheckOutcome::Pass("a broken document gives an error".to_owned())
        }
        Ok(_) => CheckOutcome::Fail("a broken document was exported without error".to_owned()),
        Err(e) => CheckOutcome::Fail(format!("a broken document should give an error: {e}")),
    };
    (outcome, shown)
}

/// Whether an unknown option is rejected (a typo must not be lost).
fn unknown_option(plugin: &Plugin, doc: &[u8]) -> (CheckOutcome, Vec<String>) {
    let mut unknown = BTreeMap::new();
    unknown.insert("chronicle-check-no-such-option".to_owned(), "1".to_owned());
    let result = plugin.export(doc, &options_json(&unknown));
    let shown = vec![returned(&result)];
    let outcome = match result {
        Err(HostError::Usage { .. }) => {
            CheckOutcome::Pass("an unknown option gives a usage error (status 3)".to_owned())
        }
        Err(HostError::PluginFailed { .. }) => CheckOutcome::Pass(
            "an unknown option gives an error (status 1; status 3, a usage error, would \
             tell chronicle at once that the options are at fault)"
                .to_owned(),
        ),
        Ok(_) => CheckOutcome::Warn(
            "an unknown option is silently ignored; reject it so that a typo is not lost \
             (Options::check_known in the SDK)"
                .to_owned(),
        ),
        Err(e) => CheckOutcome::Fail(format!("an unknown option should give an error: {e}")),
    };
    (outcome, shown)
}
