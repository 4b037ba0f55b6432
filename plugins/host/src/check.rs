//! `chronicle plugins check PATH`: load one library and exercise it.

use crate::error::{HostError, PathKind};
use crate::search::{is_plugin_file_name, plugin_file_name};
use crate::{load, options_json, ExportOutput, HostOptions, PluginInfo};
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

impl fmt::Display for CheckReport {
    /// A report for the terminal: the declaration, then one line per check.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
pub fn check_library(path: &Path, options: &HostOptions) -> Result<CheckReport, HostError> {
    load::check_trust(path, PathKind::Library, options.trust_plugin_dirs)?;
    let plugin = load::load(path)?;
    let info = plugin.info.clone();
    let item = |name: &str, outcome| CheckItem {
        name: name.to_owned(),
        outcome,
    };
    let mut checks = vec![
        item("file name", file_name(path, &info)),
        item("format name", format_name(&info, options)),
    ];
    let doc = sample_document_json();
    let no_options = options_json(&BTreeMap::new());
    let sample_output = match plugin.export(&doc, &no_options) {
        Ok(out) => {
            checks.push(item(
                "export sample document",
                CheckOutcome::Pass(format!(
                    "{} bytes{}",
                    out.bytes.len(),
                    if out.text { " of UTF-8 text" } else { "" }
                )),
            ));
            checks.push(item(
                "deterministic",
                deterministic(&plugin, &doc, &no_options, &out),
            ));
            Some(out)
        }
        Err(e) => {
            checks.push(item(
                "export sample document",
                CheckOutcome::Fail(e.to_string()),
            ));
            None
        }
    };
    checks.push(item("invalid input", invalid_input(&plugin, &no_options)));
    checks.push(item("unknown option", unknown_option(&plugin, &doc)));
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
    plugin: &load::LoadedPlugin,
    doc: &[u8],
    no_options: &[u8],
    first: &ExportOutput,
) -> CheckOutcome {
    match plugin.export(doc, no_options) {
        Ok(again) if again.bytes == first.bytes => {
            CheckOutcome::Pass("a second export gave the same bytes".to_owned())
        }
        Ok(_) => CheckOutcome::Fail(
            "a second export of the same document gave different bytes \
             (timestamps? hash-map order?)"
                .to_owned(),
        ),
        Err(e) => CheckOutcome::Fail(format!("the second export failed: {e}")),
    }
}

/// Whether a broken document gives an error (not a crash, not output).
fn invalid_input(plugin: &load::LoadedPlugin, no_options: &[u8]) -> CheckOutcome {
    match plugin.export(
        b"{\"schema\": \"chronicle.views/1\", \"incidents\": 42",
        no_options,
    ) {
        Err(HostError::PluginFailed { .. }) => {
            CheckOutcome::Pass("a broken document gives an error".to_owned())
        }
        Ok(_) => CheckOutcome::Fail("a broken document was exported without error".to_owned()),
        Err(e) => CheckOutcome::Fail(format!("a broken document should give an error: {e}")),
    }
}

/// Whether an unknown option is rejected (a typo must not be lost).
fn unknown_option(plugin: &load::LoadedPlugin, doc: &[u8]) -> CheckOutcome {
    let mut unknown = BTreeMap::new();
    unknown.insert("chronicle-check-no-such-option".to_owned(), "1".to_owned());
    match plugin.export(doc, &options_json(&unknown)) {
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
    }
}
