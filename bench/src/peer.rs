//! The peer doing the same job: the Python `eventsourcing` library (9.5), run by `peer.py`
//! (see there and BENCHMARKS.md, "The peer"), in a virtualenv the bench finds or makes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The peer's script, written next to the chronology before it runs.
pub const SCRIPT: &str = include_str!("peer.py");

/// The version of `eventsourcing` the peer installs when it makes its virtualenv.
pub const REQUIREMENT: &str = "eventsourcing==9.5.*";

/// Whether `python` imports `eventsourcing`.
fn has_eventsourcing(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import eventsourcing.application, eventsourcing.sqlite",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Python interpreter the peer runs with: `explicit` (`--python`) when given, which must
/// import `eventsourcing`; else the virtualenv `venv`, made there (with `python3 -m venv` and
/// `pip install eventsourcing==9.5.*`) when it is missing. An error says why the peer is
/// unavailable.
pub fn python(explicit: Option<&Path>, venv: &Path) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if has_eventsourcing(p) {
            return Ok(p.to_path_buf());
        }
        bail!("{} cannot import eventsourcing", p.display());
    }
    let python = venv.join("bin").join("python");
    if has_eventsourcing(&python) {
        return Ok(python);
    }
    eprintln!(
        "[bench] making the peer's virtualenv {} ({REQUIREMENT})",
        venv.display()
    );
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .context("running python3 -m venv")?;
    if !made.success() {
        bail!("python3 -m venv {} failed", venv.display());
    }
    let pip = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", REQUIREMENT])
        .status()
        .context("running pip")?;
    if !pip.success() || !has_eventsourcing(&python) {
        bail!("pip install {REQUIREMENT} into {} failed", venv.display());
    }
    Ok(python)
}
