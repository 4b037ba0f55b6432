//! Shared helpers of the host's integration tests.
//!
//! The plugin libraries are built by `chronicle_plugin_host::testing::build_cdylibs`
//! (a nested `cargo build` into this test binary's own target directory),
//! once per test binary.
#![allow(dead_code, clippy::unwrap_used)]

use chronicle_plugin_host::{
    plugin_file_name, HostOptions, Isolation, Limits, PluginHost, RunnerCommand, SearchPath,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Every cdylib package the tests load.
pub const PACKAGES: &[&str] = &[
    "chronicle-plugin-markdown",
    "chronicle-plugin-csv",
    "chronicle-plugin-geojson",
    "chronicle-plugin-html",
    "chronicle-testplugin-no-symbols",
    "chronicle-testplugin-abi-too-new",
    "chronicle-testplugin-abi-too-old",
    "chronicle-testplugin-null-name",
    "chronicle-testplugin-small-struct",
    "chronicle-testplugin-bad-name",
    "chronicle-testplugin-bad-status",
    "chronicle-testplugin-claims-json",
    "chronicle-testplugin-misbehave",
    "chronicle-testplugin-declare-crash",
    "chronicle-testplugin-stream-misbehave",
    "chronicle-testplugin-stream-raw",
    "chronicle-testplugin-stream-null-incident",
    "chronicle-testplugin-stream-hang",
];

/// The built libraries, by target name (`chronicle_testplugin_misbehave`).
pub fn libs() -> &'static BTreeMap<String, PathBuf> {
    static LIBS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    LIBS.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        chronicle_plugin_host::testing::build_cdylibs(&manifest, PACKAGES)
            .unwrap_or_else(|e| panic!("building the test plugins failed: {e}"))
    })
}

/// The library of a target, e.g. `lib("chronicle_plugin_csv")`.
pub fn lib(target: &str) -> PathBuf {
    libs()
        .get(target)
        .unwrap_or_else(|| panic!("{target} was not built"))
        .clone()
}

/// A fresh plugin directory, not writable by group or others.
pub fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("chronicle-test-")
        .tempdir()
        .unwrap();
    set_mode(dir.path(), 0o755);
    dir
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) {}

/// Copy the library of `target` into `dir` under the plugin name
/// `{DLL_PREFIX}chronicle_plugin_{stem}{DLL_SUFFIX}`; returns the new path.
pub fn install(dir: &Path, target: &str, stem: &str) -> PathBuf {
    let to = dir.join(plugin_file_name(&format!("chronicle_plugin_{stem}")));
    std::fs::copy(lib(target), &to).unwrap();
    set_mode(&to, 0o755);
    to
}

/// Search only `dirs`, as if given with `--plugin-dir`.
pub fn search(dirs: &[&Path]) -> SearchPath {
    let dirs: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    SearchPath::from_parts(&dirs, None, None, None)
}

/// The runner this package ships, with `limits`.
pub fn runner(limits: Limits) -> RunnerCommand {
    RunnerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_chronicle-plugin-runner")),
        args: Vec::new(),
        limits,
    }
}

/// The default options, with plugin code in the runner (as chronicle runs it) and the
/// default limits.
pub fn isolated() -> HostOptions {
    with_limits(Limits::default())
}

/// The default options, plugin code in the runner with `limits`.
pub fn with_limits(limits: Limits) -> HostOptions {
    HostOptions {
        isolation: Isolation::Child(runner(limits)),
        ..HostOptions::default()
    }
}

/// Discover in `dirs` with default options, plugin code in the runner.
pub fn discover(dirs: &[&Path]) -> Result<PluginHost, chronicle_plugin_host::HostError> {
    PluginHost::discover(&search(dirs), &isolated())
}

/// The one broken library of a discovery in `dirs` that must succeed: its reason.
pub fn broken_reason(dirs: &[&Path]) -> String {
    let host = discover(dirs).unwrap_or_else(|e| panic!("discovery failed: {e}"));
    assert!(host.formats().is_empty(), "{:?}", host.formats());
    assert_eq!(host.broken().len(), 1, "{:?}", host.broken());
    // The broken library is also named in a warning.
    assert_eq!(
        host.warnings(),
        [format!("skipped: {}", host.broken()[0].reason)]
    );
    host.broken()[0].reason.clone()
}

/// The error of a discovery that must fail.
pub fn discover_err(dirs: &[&Path]) -> String {
    match discover(dirs) {
        Ok(host) => panic!("discovery should fail, found {:?}", host.formats()),
        Err(e) => e.to_string(),
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Snapshot settings that replace temporary directories with `[TMP]` and
/// the build directory with `[TARGET]`.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    let tmp = std::env::temp_dir();
    let tmp = tmp.to_string_lossy();
    let tmp = tmp.trim_end_matches('/');
    s.add_filter(
        &format!("{}/chronicle-test-[A-Za-z0-9]+", regex_escape(tmp)),
        "[TMP]",
    );
    let any_lib = lib("chronicle_testplugin_misbehave");
    let target_dir = any_lib.parent().unwrap().to_string_lossy().into_owned();
    s.add_filter(&regex_escape(&target_dir), "[TARGET]");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// Options from pairs.
pub fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The SDK's sample document as JSON.
pub fn sample() -> Vec<u8> {
    chronicle_plugin_sdk::testing::sample_document_json()
}
