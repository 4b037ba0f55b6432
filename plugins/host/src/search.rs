//! Where plugins are looked for, and which files count as plugins.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The environment variable listing plugin directories, separated like
/// `PATH` (`:` on Unix, `;` on Windows).
pub const PLUGIN_PATH_ENV: &str = "CHRONICLE_PLUGIN_PATH";

/// A library is a plugin candidate when its file name is
/// `{DLL_PREFIX}{stem}{DLL_SUFFIX}` (`lib….so` on Linux, `lib….dylib` on
/// macOS, `….dll` on Windows) and the stem starts with one of these.
/// Cargo names the library of package `chronicle-plugin-markdown`
/// `libchronicle_plugin_markdown.so`.
pub const LIBRARY_STEM_PREFIXES: &[&str] = &["chronicle_plugin_", "chronicle-plugin-"];

/// Where a search directory comes from, in search order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DirOrigin {
    /// Given on the command line (`--plugin-dir`, repeatable).
    PluginDir,
    /// Listed in `CHRONICLE_PLUGIN_PATH`.
    EnvVar,
    /// The per-user plugin directory.
    UserDir,
    /// The directory of the running executable (so that `cargo build`
    /// output works without any setup).
    ExeDir,
}

impl DirOrigin {
    /// Whether the user chose this directory. In such directories a
    /// library that fails to load is an error; in the executable's
    /// directory it is skipped with a warning.
    pub fn is_configured(self) -> bool {
        !matches!(self, DirOrigin::ExeDir)
    }

    /// A short label: `--plugin-dir`, `CHRONICLE_PLUGIN_PATH`, `user`, `executable`.
    pub fn label(self) -> &'static str {
        match self {
            DirOrigin::PluginDir => "--plugin-dir",
            DirOrigin::EnvVar => PLUGIN_PATH_ENV,
            DirOrigin::UserDir => "user",
            DirOrigin::ExeDir => "executable",
        }
    }
}

/// One directory to search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// Why it is searched.
    pub origin: DirOrigin,
}

/// The ordered list of directories to search for plugins.
///
/// The current directory is never searched unless listed explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPath {
    /// The directories, in search order.
    pub dirs: Vec<SearchDir>,
    /// Entries that were ignored while building the path, with the reason.
    pub ignored: Vec<String>,
}

impl SearchPath {
    /// An empty search path.
    pub fn new() -> SearchPath {
        SearchPath::default()
    }

    /// The standard search path: `plugin_dirs` (from `--plugin-dir`), then
    /// the directories in `CHRONICLE_PLUGIN_PATH`, then the per-user
    /// directory ([`user_plugin_dir`]), then the directory of the running
    /// executable.
    pub fn standard(plugin_dirs: &[PathBuf]) -> SearchPath {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        SearchPath::from_parts(
            plugin_dirs,
            std::env::var_os(PLUGIN_PATH_ENV).as_deref(),
            user_plugin_dir(),
            exe_dir,
        )
    }

    /// The same as [`SearchPath::standard`] from explicit parts (for tests
    /// and for callers that read the environment themselves). Empty and
    /// relative entries of `env_value` are ignored (and noted in
    /// [`SearchPath::ignored`]): a relative entry would depend on the
    /// current directory.
    pub fn from_parts(
        plugin_dirs: &[PathBuf],
        env_value: Option<&OsStr>,
        user_dir: Option<PathBuf>,
        exe_dir: Option<PathBuf>,
    ) -> SearchPath {
        let mut path = SearchPath::new();
        for dir in plugin_dirs {
            path.push(dir.clone(), DirOrigin::PluginDir);
        }
        if let Some(value) = env_value {
            for dir in std::env::split_paths(value) {
                if dir.as_os_str().is_empty() {
                    continue;
                }
                if dir.is_relative() {
                    path.ignored.push(format!(
                        "ignored {} in {PLUGIN_PATH_ENV}: relative directories are not searched \
                         (use an absolute path)",
                        dir.display()
                    ));
                    continue;
                }
                path.push(dir, DirOrigin::EnvVar);
            }
        }
        if let Some(dir) = user_dir {
            path.push(dir, DirOrigin::UserDir);
        }
        if let Some(dir) = exe_dir {
            path.push(dir, DirOrigin::ExeDir);
        }
        path
    }

    /// Add a directory at the end.
    pub fn push(&mut self, path: PathBuf, origin: DirOrigin) {
        self.dirs.push(SearchDir { path, origin });
    }
}

/// The per-user plugin directory: `$XDG_DATA_HOME/chronicle/plugins`, else
/// `~/.local/share/chronicle/plugins` (Linux and other Unix);
/// `~/Library/Application Support/chronicle/plugins` (macOS);
/// `%APPDATA%\chronicle\plugins` (Windows). `None` when the home directory
/// is unknown.
pub fn user_plugin_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("chronicle").join("plugins"))
}

fn absolute_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

#[cfg(target_os = "macos")]
fn data_dir() -> Option<PathBuf> {
    absolute_env("HOME").map(|h| h.join("Library").join("Application Support"))
}

#[cfg(windows)]
fn data_dir() -> Option<PathBuf> {
    absolute_env("APPDATA")
}

#[cfg(not(any(target_os = "macos", windows)))]
fn data_dir() -> Option<PathBuf> {
    absolute_env("XDG_DATA_HOME").or_else(|| absolute_env("HOME").map(|h| h.join(".local/share")))
}

/// Whether a file name follows the plugin naming rule
/// (`{DLL_PREFIX}{chronicle_plugin_…|chronicle-plugin-…}{DLL_SUFFIX}`).
pub fn is_plugin_file_name(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let Some(stem) = name
        .strip_prefix(std::env::consts::DLL_PREFIX)
        .and_then(|n| n.strip_suffix(std::env::consts::DLL_SUFFIX))
    else {
        return false;
    };
    LIBRARY_STEM_PREFIXES
        .iter()
        .any(|p| stem.len() > p.len() && stem.starts_with(p))
}

/// Whether a file name looks like a shared library (ends with `DLL_SUFFIX`).
pub(crate) fn is_library_file_name(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.ends_with(std::env::consts::DLL_SUFFIX))
}

/// The file name a plugin library for `stem` gets on this platform,
/// e.g. `libchronicle_plugin_markdown.so`.
pub fn plugin_file_name(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_rule() {
        let ok = |s: &str| is_plugin_file_name(OsStr::new(&plugin_file_name(s)));
        assert!(ok("chronicle_plugin_markdown"));
        assert!(ok("chronicle-plugin-my-format"));
        assert!(!ok("chronicle_plugin_"));
        assert!(!ok("chronicle_core"));
        assert!(!ok("chronicle_testplugin_misbehave"));
        assert!(!is_plugin_file_name(OsStr::new("chronicle_plugin_x.txt")));
        #[cfg(target_os = "linux")]
        {
            assert!(is_plugin_file_name(OsStr::new(
                "libchronicle_plugin_csv.so"
            )));
            assert!(!is_plugin_file_name(OsStr::new(
                "libchronicle_plugin_csv.rlib"
            )));
            assert!(!is_plugin_file_name(OsStr::new(
                "libchronicle_plugin_csv.d"
            )));
        }
    }

    #[test]
    fn search_order_and_env_parsing() {
        let env = std::env::join_paths(["/opt/a", "", "relative/b", "/opt/c"]).ok();
        let path = SearchPath::from_parts(
            &[PathBuf::from("cli")],
            env.as_deref(),
            Some(PathBuf::from("/home/u/.local/share/chronicle/plugins")),
            Some(PathBuf::from("/usr/bin")),
        );
        let got: Vec<(String, DirOrigin)> = path
            .dirs
            .iter()
            .map(|d| (d.path.display().to_string(), d.origin))
            .collect();
        assert_eq!(
            got,
            vec![
                ("cli".to_owned(), DirOrigin::PluginDir),
                ("/opt/a".to_owned(), DirOrigin::EnvVar),
                ("/opt/c".to_owned(), DirOrigin::EnvVar),
                (
                    "/home/u/.local/share/chronicle/plugins".to_owned(),
                    DirOrigin::UserDir
                ),
                ("/usr/bin".to_owned(), DirOrigin::ExeDir),
            ]
        );
        assert_eq!(path.ignored.len(), 1);
        assert!(path.ignored[0].contains("relative/b"));
    }
}
