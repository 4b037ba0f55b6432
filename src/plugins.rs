//! `chronicle plugins list`, `check`, `sample`, `header` and `schema`, and the plugin discovery that
//! `export` shares with them. Discovery, loading and the checks live in
//! `chronicle-plugin-host`; this module parses flags and prints.

use std::io::Write;
use std::path::PathBuf;

use chronicle_core::views::render::truncate;
use chronicle_core::Invalid;
use chronicle_plugin_host::runner::{DEFAULT_MEMORY, DEFAULT_TIMEOUT};
use chronicle_plugin_host::{
    check_library, HostError, HostOptions, Isolation, Limits, PluginHost, RunnerCommand, SearchPath,
};
use serde::Serialize;

use crate::Exit;

/// The formats built into chronicle (no plugin may claim them), with their description.
pub const BUILTIN: &[(&str, &str, &str)] = &[(
    "json",
    "json",
    "The views as one JSON document (schema chronicle.views/1), pretty-printed",
)];

/// Where to look for plugins, and whether to trust writable places: global options (given
/// before or after the subcommand), used by `export` and `plugins`.
#[derive(Debug, Clone, clap::Args)]
pub struct PluginArgs {
    /// Look for plugins in DIR first (repeatable); then $CHRONICLE_PLUGIN_PATH, the per-user
    /// plugin directory, and the directory of the chronicle executable.
    #[arg(long = "plugin-dir", value_name = "DIR", global = true)]
    pub plugin_dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The limits of plugin code, which runs in a child process (a re-executed chronicle).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Stop a plugin that has not answered after SECONDS (each call: reading a library's
    /// declaration, an export).
    #[arg(long, value_name = "SECONDS", global = true, default_value = "60", value_parser = parse_timeout)]
    pub plugin_timeout: std::time::Duration,
    /// Stop a plugin that allocates more than SIZE beyond the document it is given (an
    /// address-space limit, RLIMIT_AS): bytes, or with a unit, e.g. 512MiB, 2GiB.
    #[arg(long, value_name = "SIZE", global = true, default_value = "1GiB", value_parser = parse_size)]
    pub plugin_memory: u64,
    /// Stop a streamed (ABI 2) plugin that writes more than SIZE (its output goes to a
    /// temporary file as it comes, never into memory; a runaway plugin would fill the disk).
    /// An ABI 1 plugin's output is limited to 256 MiB by its ABI.
    #[arg(long, value_name = "SIZE", global = true, default_value = "16GiB", value_parser = parse_output_size)]
    pub plugin_output: u64,
    /// Run plugins inside chronicle, without a child process or limits: a crash of the
    /// plugin is a crash of chronicle. Only to measure what isolation costs (the bench).
    #[arg(long, global = true, hide = true)]
    pub plugins_in_process: bool,
}

/// `--plugin-timeout`: a positive number of seconds (`60`, `2.5`).
fn parse_timeout(value: &str) -> Result<std::time::Duration, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0 * 365.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            format!(
                "expected a positive number of seconds, e.g. 60 or 2.5 (default {})",
                DEFAULT_TIMEOUT.as_secs()
            )
        })
}

/// `--plugin-memory`, `--plugin-output`: bytes, or a number with a unit: K, M, G, T (powers of 1024, also
/// written KiB, MiB, GiB, TiB); at least 1 MiB.
fn parse_size(value: &str) -> Result<u64, String> {
    size(value, DEFAULT_MEMORY >> 30)
}

/// `--plugin-output`: as `--plugin-memory`.
fn parse_output_size(value: &str) -> Result<u64, String> {
    size(
        value,
        chronicle_plugin_host::DEFAULT_STREAMED_OUTPUT_BYTES >> 30,
    )
}

/// A size of at least 1 MiB (`default_gib` for the message).
fn size(value: &str, default_gib: u64) -> Result<u64, String> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => Some(0),
        "k" | "kib" => Some(10),
        "m" | "mib" => Some(20),
        "g" | "gib" => Some(30),
        "t" | "tib" => Some(40),
        _ => None,
    };
    digits
        .parse::<u64>()
        .ok()
        .zip(shift)
        .and_then(|(n, shift)| n.checked_mul(1u64 << shift))
        .filter(|n| *n >= 1 << 20)
        .ok_or_else(|| {
            format!(
                "expected a size of at least 1MiB: bytes, or a number with K, M, G or T (KiB, MiB, GiB, TiB), e.g. 512MiB (default {default_gib}GiB)"
            )
        })
}

/// Whether to load plugins from places others can write to.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Load plugins from directories and libraries that group or others can write to
    /// (refused by default: whoever can write there could make chronicle run their code).
    #[arg(long, global = true)]
    pub trust_plugin_dir: bool,
}

impl PluginArgs {
    /// The host options: `json` reserved, trust as asked, plugin code in a re-executed
    /// chronicle (`chronicle __plugin-runner`, see `main`) with the limits given.
    pub fn host_options(&self) -> anyhow::Result<HostOptions> {
        let isolation = if self.limits.plugins_in_process {
            Isolation::InProcess
        } else {
            let limits = Limits {
                timeout: self.limits.plugin_timeout,
                memory: Some(self.limits.plugin_memory),
                output: self.limits.plugin_output,
            };
            Isolation::Child(RunnerCommand::current_exe(limits).map_err(|e| {
                anyhow::anyhow!("cannot find the chronicle executable to run plugins in: {e}")
            })?)
        };
        Ok(HostOptions {
            trust_plugin_dirs: self.trust.trust_plugin_dir,
            reserved_formats: BUILTIN
                .iter()
                .map(|(name, ..)| (*name).to_owned())
                .collect(),
            isolation,
        })
    }

    /// Searches the standard path and loads the plugins; prints the host's warnings (skipped
    /// libraries, ignored entries) on standard error.
    pub fn discover(&self) -> anyhow::Result<PluginHost> {
        let host = PluginHost::discover(
            &SearchPath::standard(&self.plugin_dirs),
            &self.host_options()?,
        )?;
        warn(host.warnings());
        Ok(host)
    }
}

/// Prints warnings on standard error, one per line.
pub fn warn(warnings: &[String]) {
    let mut err = std::io::stderr().lock();
    for w in warnings {
        // Nothing sensible to do when stderr is gone.
        let _ = writeln!(err, "warning: {w}");
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum PluginsCommand {
    /// List the export formats: the built-in json and every plugin found.
    #[command(
        after_help = "Plugins are searched in: --plugin-dir DIR (repeatable), $CHRONICLE_PLUGIN_PATH, the per-user directory (~/.local/share/chronicle/plugins), then the directory of the chronicle executable.\n\nExample:\n  chronicle plugins list --plugin-dir ./my-plugins"
    )]
    List(ListArgs),
    /// Load one plugin library and run it on a sample chronology (exit 1 when a check fails).
    #[command(
        after_help = "Checks: the file name discovery looks for, the format name, exporting the sample, determinism, an invalid document, an unknown option. Each call runs in its own process: a plugin that crashes, hangs or runs out of memory fails that check and the others still run.\n\nExample:\n  chronicle plugins check --verbose target/release/libchronicle_plugin_tsv.so"
    )]
    Check(CheckArgs),
    /// Print the sample document `plugins check` runs a plugin on (JSON, schema
    /// chronicle.views/1): five incidents of July 2020, one with disputed figures.
    #[command(
        after_help = "The schema of the document: docs/chronicle.views-1.schema.json (JSON Schema).\n\nExample:\n  chronicle plugins sample > sample.json\n  ./my-plugin-test sample.json"
    )]
    Sample,
    /// Print the C header of the plugin ABI (chronicle_plugin.h), for plugins in C or any
    /// language that can export C functions.
    #[command(
        after_help = "Example:\n  chronicle plugins header > chronicle_plugin.h\n  cc -std=c99 -shared -fPIC -o libchronicle_plugin_mine.so mine.c"
    )]
    Header,
    /// Print the JSON Schema of the document plugins receive (chronicle.views/1).
    #[command(after_help = "Example:\n  chronicle plugins schema > chronicle.views-1.schema.json")]
    Schema,
}

/// The JSON Schema of the view document, as shipped in `docs/`.
pub const SCHEMA: &str = include_str!("../docs/chronicle.views-1.schema.json");

/// The C header of the plugin ABI, as shipped in `plugins/include/`.
pub const HEADER: &str = include_str!("../plugins/include/chronicle_plugin.h");

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// JSON: a list of {name, version, abi_version, path, origin, extension, text, description}.
    #[arg(long)]
    json: bool,
    /// Width of the table; 0 for no limit (default: on a terminal, $COLUMNS, else its width;
    /// to a pipe or a file, no limit). Paths are never cut.
    #[arg(long, value_name = "COLUMNS")]
    width: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The plugin library (e.g. target/release/libchronicle_plugin_tsv.so).
    path: PathBuf,
    /// Show, under each check, every message and the first bytes of every output the
    /// plugin returned.
    #[arg(long, short)]
    verbose: bool,
}

/// One row of `plugins list`.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    version: String,
    /// `null` for a built-in format.
    abi_version: Option<u32>,
    /// `null` for a built-in format.
    path: Option<PathBuf>,
    /// `built-in`, `--plugin-dir`, `CHRONICLE_PLUGIN_PATH`, `user` or `executable`.
    origin: String,
    extension: String,
    text: bool,
    description: String,
    /// Why the library could not be read as a plugin (a broken plugin only: then `name` is
    /// the format its file name suggests, `version` and `extension` are empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<String>,
}

pub fn run(command: PluginsCommand, plugins: &PluginArgs) -> anyhow::Result<()> {
    match command {
        PluginsCommand::List(args) => list(args, plugins),
        PluginsCommand::Check(args) => check(&args, plugins),
        PluginsCommand::Sample => {
            let mut sample = chronicle_plugin_sdk::testing::sample_document_json();
            sample.push(b'\n');
            print_bytes(&sample)
        }
        PluginsCommand::Header => print_bytes(HEADER.as_bytes()),
        PluginsCommand::Schema => print_bytes(SCHEMA.as_bytes()),
    }
}

fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

fn rows(host: &PluginHost) -> Vec<Row> {
    let builtin = BUILTIN.iter().map(|(name, extension, description)| Row {
        name: (*name).to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        abi_version: None,
        path: None,
        origin: "built-in".to_owned(),
        extension: (*extension).to_owned(),
        text: true,
        description: (*description).to_owned(),
        broken: None,
    });
    let plugins = host.formats().into_iter().map(|p| Row {
        name: p.name,
        version: p.version,
        abi_version: Some(p.abi_version),
        origin: p.origin.map_or("-", |o| o.label()).to_owned(),
        path: Some(p.path),
        extension: p.extension,
        text: p.text,
        description: p.description,
        broken: None,
    });
    let broken = host.broken().iter().map(|b| Row {
        name: b.format_by_file_name().unwrap_or_default(),
        version: String::new(),
        abi_version: None,
        path: Some(b.path.clone()),
        origin: b.origin.label().to_owned(),
        extension: String::new(),
        text: false,
        description: String::new(),
        broken: Some(b.reason.clone()),
    });
    builtin.chain(plugins).chain(broken).collect()
}

fn list(args: ListArgs, plugins: &PluginArgs) -> anyhow::Result<()> {
    let host = plugins.discover()?;
    let rows = rows(&host);
    let text = if args.json {
        serde_json::to_string_pretty(&rows)? + "\n"
    } else {
        table(&rows, crate::width::output_width(args.width))
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// An aligned table: FORMAT, VERSION, ABI, PATH, DESCRIPTION. Only the description (last) is
/// cut, with an ellipsis, to fit `width`, and never below 20 characters: a cut path is useless.
/// A broken library's row reads BROKEN for its version and the reason for its description
/// (the reason in full is also in the warning on standard error).
/// (The views' tables cut their cells with the same `truncate`.)
fn table(rows: &[Row], width: usize) -> String {
    let header = ["FORMAT", "VERSION", "ABI", "PATH", "DESCRIPTION"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                if r.broken.is_some() {
                    "BROKEN".to_owned()
                } else {
                    r.version.clone()
                },
                r.abi_version.map_or("-".to_owned(), |v| v.to_string()),
                r.path
                    .as_deref()
                    .map_or("(built in)".to_owned(), |p| p.display().to_string()),
                r.broken.clone().unwrap_or_else(|| r.description.clone()),
            ]
        })
        .collect();
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header.map(str::to_owned)).chain(&cells) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let used: usize = widths.iter().map(|w| w + 2).sum();
    let room = width.saturating_sub(used).max(20);
    let line = |row: &[String; 5]| {
        let mut s = String::new();
        for (cell, w) in row.iter().zip(widths) {
            s.push_str(&format!("{cell:<w$}  "));
        }
        s.push_str(&truncate(&row[4], room));
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header.map(str::to_owned));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

fn check(args: &CheckArgs, plugins: &PluginArgs) -> anyhow::Result<()> {
    let path = args.path.as_path();
    let report = match check_library(path, &plugins.host_options()?) {
        Ok(report) => report,
        // A path that is not there is the caller's slip (exit 2), not a plugin's failure.
        Err(HostError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(Invalid::new(
                "PATH",
                path.display(),
                "no such file; give the path of a plugin library (e.g. target/release/libchronicle_plugin_tsv.so)",
            )
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    let printed = if args.verbose {
        writeln!(out, "{}", report.verbose())
    } else {
        writeln!(out, "{report}")
    }
    .and_then(|()| out.flush());
    Exit::verdict(report.passed(), printed)
}
