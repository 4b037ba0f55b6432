//! Support for tests that load plugins built from this workspace.
//!
//! `cargo test` does not produce the `cdylib` file of a plugin crate (it
//! builds the crate's test harness instead), so a test that needs the real
//! library builds it: [`build_cdylibs`] runs `cargo build -p …` with the
//! cargo that runs the tests, into the target directory and profile the
//! test binary itself lives in, and returns the library paths cargo
//! reports. Cargo releases its build lock before it runs test binaries, so
//! this nested build does not deadlock; when everything is already built it
//! takes a fraction of a second.

use crate::{ExportOutput, HostError, PluginInfo};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How many passes over the incidents the streamed exports run in this process
/// ([`Isolation::InProcess`](crate::Isolation::InProcess)) have made on the calling thread:
/// a test reads it before and after an export to count the host's replays of the spool.
/// (Exports through a runner run their passes in the runner's process, not counted here.)
pub fn passes_run_on_this_thread() -> u64 {
    crate::load::passes_run()
}

/// Load the library at `path` in this process as a host that knows only the ABI versions
/// up to `newest_abi` would (`1`: a chronicle from before version 2, which takes
/// `chronicle_plugin_declare_v1`, hands it the whole document and takes its output in one
/// buffer), and export `doc_json` (a whole `chronicle.views/1` document) with `options`
/// through the declaration that host takes. Returns what it read of the declaration (its
/// `abi_version` is the version used) and the checked output. No trust check: `path` is a
/// library the test built.
///
/// There is no such switch on the command line: a user's chronicle always takes the newest
/// declaration it knows.
pub fn export_knowing_only(
    newest_abi: u32,
    path: &Path,
    doc_json: &[u8],
    options: &BTreeMap<String, String>,
) -> Result<(PluginInfo, ExportOutput), HostError> {
    let loaded = crate::load::load_knowing(path, newest_abi)?;
    let plugin = crate::Plugin {
        info: loaded.info.clone(),
        how: crate::How::InProcess(loaded),
    };
    let out = plugin.export(doc_json, &crate::options_json(options))?;
    Ok((plugin.info, out))
}

/// The target directory and profile the running test binary was built
/// into, from its path `<target-dir>/<profile-dir>/deps/<test-binary>`.
fn target_of_current_exe() -> Option<(PathBuf, String)> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    let profile_dir = deps.parent()?;
    let target_dir = profile_dir.parent()?;
    let profile = match profile_dir.file_name()?.to_str()? {
        "debug" => "dev".to_owned(),
        other => other.to_owned(),
    };
    Some((target_dir.to_path_buf(), profile))
}

/// Build the `cdylib` targets of `packages` (package names) of the
/// workspace whose root manifest is `workspace_manifest`, and return each
/// library path keyed by its target name (`chronicle_plugin_markdown`).
///
/// Uses `$CARGO` (set by cargo for the tests it runs), else `cargo` from
/// `PATH`. Returns the build output as the error when the build fails.
pub fn build_cdylibs(
    workspace_manifest: &Path,
    packages: &[&str],
) -> Result<BTreeMap<String, PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(workspace_manifest);
    for p in packages {
        cmd.arg("-p").arg(p);
    }
    if let Some((target_dir, profile)) = target_of_current_exe() {
        cmd.arg("--target-dir")
            .arg(target_dir)
            .arg("--profile")
            .arg(profile);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo ({cmd:?}): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut libs = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_cdylib = msg["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        let Some(name) = msg["target"]["name"].as_str() else {
            continue;
        };
        if !is_cdylib {
            continue;
        }
        let lib = msg["filenames"].as_array().and_then(|files| {
            files
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(std::env::consts::DLL_SUFFIX))
        });
        if let Some(lib) = lib {
            libs.insert(name.to_owned(), PathBuf::from(lib));
        }
    }
    for p in packages {
        let target = p.replace('-', "_");
        if !libs.keys().any(|k| *k == target) {
            return Err(format!(
                "cargo built no cdylib for package {p} (expected target {target})"
            ));
        }
    }
    Ok(libs)
}
