//! Every way a plugin can be broken gives a clear error naming the path,
//! never a crash of the host. Each message is pinned in a snapshot.
#![allow(clippy::unwrap_used)]

mod support;

use chronicle_plugin_host::{
    check_library, plugin_file_name, DirOrigin, HostError, HostOptions, PluginHost, SearchPath,
};
use std::path::PathBuf;
use support::*;

macro_rules! snap {
    ($name:expr, $value:expr) => {
        settings().bind(|| insta::assert_snapshot!($name, $value))
    };
}

#[test]
fn a_file_that_is_not_a_shared_library() {
    let dir = plugin_dir();
    let file = dir.path().join(chronicle_plugin_host::plugin_file_name(
        "chronicle_plugin_notes",
    ));
    std::fs::write(
        &file,
        "Puli Alam, 30 July 2020: AFP 17 killed, Ministry of Defense 8 killed.\n".repeat(20),
    )
    .unwrap();
    set_mode(&file, 0o644);
    // Marked broken (the others would load), with the loader's reason.
    let err = broken_reason(&[dir.path()]);
    assert!(err.contains(&file.display().to_string()), "{err}");
    // The reason is the dynamic loader's own words (glibc's here).
    #[cfg(target_os = "linux")]
    snap!("not_a_library", err);
    // The same through `plugins check`.
    let err = check_library(&file, &isolated()).unwrap_err();
    assert!(matches!(err, HostError::NotALibrary { .. }));
}

#[test]
fn a_library_without_the_plugin_symbols() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_no_symbols", "other");
    snap!("missing_symbols", broken_reason(&[dir.path()]));
}

#[test]
fn an_abi_version_too_new() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_abi_too_new", "future");
    snap!("abi_too_new", broken_reason(&[dir.path()]));
}

#[test]
fn an_abi_version_too_old() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_abi_too_old", "past");
    snap!("abi_too_old", broken_reason(&[dir.path()]));
}

#[test]
fn a_declaration_with_a_null_pointer() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_null_name", "null");
    snap!("null_name", broken_reason(&[dir.path()]));
}

#[test]
fn a_declaration_with_a_too_small_struct_size() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_small_struct", "small");
    snap!("small_struct", broken_reason(&[dir.path()]));
}

#[test]
fn a_declaration_with_an_invalid_name() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_bad_name", "bad_name");
    snap!("bad_name", broken_reason(&[dir.path()]));
}

#[test]
fn two_plugins_claiming_the_same_format_in_two_directories() {
    let first = plugin_dir();
    let second = plugin_dir();
    let a = install(first.path(), "chronicle_testplugin_misbehave", "misbehave");
    let b = install(
        second.path(),
        "chronicle_testplugin_misbehave",
        "misbehave_copy",
    );
    let err = discover_err(&[first.path(), second.path()]);
    assert!(err.contains(&a.display().to_string()) && err.contains(&b.display().to_string()));
    // Which directory is which in the redacted snapshot: the first one given.
    assert!(err.find(&a.display().to_string()) < err.find(&b.display().to_string()));
    snap!("duplicate_format", err);
}

#[test]
fn two_plugins_claiming_the_same_format_in_one_directory() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "a");
    install(dir.path(), "chronicle_testplugin_misbehave", "b");
    snap!("duplicate_format_same_dir", discover_err(&[dir.path()]));
}

#[test]
fn the_same_directory_twice_is_not_a_conflict() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let host = discover(&[dir.path(), dir.path()]).unwrap();
    assert_eq!(host.formats().len(), 1);
}

#[test]
fn a_plugin_claiming_a_built_in_format() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_claims_json", "json");
    snap!("reserved_format", discover_err(&[dir.path()]));

    // The reserved list is the caller's.
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let options = HostOptions {
        reserved_formats: vec!["json".into(), "misbehave".into()],
        ..isolated()
    };
    let err = PluginHost::discover(&search(&[dir.path()]), &options).unwrap_err();
    assert!(matches!(err, HostError::ReservedFormat { ref format, .. } if format == "misbehave"));
}

fn misbehave_host() -> (tempfile::TempDir, PluginHost) {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let host = discover(&[dir.path()]).unwrap();
    (dir, host)
}

fn export_err(host: &PluginHost, mode: &str) -> String {
    host.export("misbehave", &sample(), &opts(&[("mode", mode)]))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_plugin_that_returns_an_error() {
    let (_dir, host) = misbehave_host();
    snap!("plugin_error", export_err(&host, "error"));
}

#[test]
fn a_plugin_that_panics_does_not_take_the_host_down() {
    let (_dir, host) = misbehave_host();
    snap!("plugin_panic", export_err(&host, "panic"));
    // The host and the plugin keep working afterwards.
    let out = host.export("misbehave", &sample(), &opts(&[])).unwrap();
    assert_eq!(out.bytes, b"misbehave: 5 incidents");
}

#[test]
fn output_that_is_not_utf8_for_a_text_format() {
    let (_dir, host) = misbehave_host();
    snap!("non_utf8", export_err(&host, "non-utf8"));
}

#[test]
fn output_larger_than_the_maximum() {
    let (_dir, host) = misbehave_host();
    snap!("too_large", export_err(&host, "huge"));
}

#[test]
fn an_unknown_status_code_and_the_buffer_is_still_freed() {
    let dir = plugin_dir();
    let path = install(dir.path(), "chronicle_testplugin_bad_status", "bad_status");
    let host = discover(&[dir.path()]).unwrap();
    let err = host
        .export("bad-status", &sample(), &opts(&[]))
        .unwrap_err()
        .to_string();
    snap!("unknown_status", err);
    // The host handed the plugin's buffer back to the plugin's free.
    // SAFETY: the library is already loaded (and never unloaded); the
    // symbol has this signature.
    let live = unsafe {
        let lib = libloading::Library::new(&path).unwrap();
        let f = lib
            .get::<unsafe extern "C" fn() -> i64>(b"chronicle_testplugin_live_buffers\0")
            .unwrap();
        let live = f();
        std::mem::forget(lib);
        live
    };
    assert_eq!(live, 0);
}

#[test]
fn an_unknown_format() {
    let (_dir, host) = misbehave_host();
    let err = host.export("pdf", &sample(), &opts(&[])).unwrap_err();
    snap!("unknown_format", err.to_string());
}

#[test]
fn a_missing_plugin_dir() {
    let dir = plugin_dir();
    let missing = dir.path().join("no-such-dir");
    snap!("missing_dir", discover_err(&[&missing]));
}

#[cfg(unix)]
#[test]
fn a_directory_writable_by_others_is_refused_unless_trusted() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    set_mode(dir.path(), 0o777);
    snap!("untrusted_dir", discover_err(&[dir.path()]));
    let trusting = HostOptions {
        trust_plugin_dirs: true,
        ..isolated()
    };
    let host = PluginHost::discover(&search(&[dir.path()]), &trusting).unwrap();
    assert!(host.get("misbehave").is_some());
}

#[cfg(unix)]
#[test]
fn a_library_writable_by_group_is_refused() {
    let dir = plugin_dir();
    let lib = install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    set_mode(&lib, 0o775);
    snap!("untrusted_library", discover_err(&[dir.path()]));
    let err = check_library(&lib, &isolated()).unwrap_err();
    assert!(matches!(err, HostError::Untrusted { .. }));
}

/// `base/a/b/pl` with a plugin in `pl`, every directory mode 0755.
#[cfg(unix)]
fn nested_plugin_dir(base: &std::path::Path) -> PathBuf {
    let pl = base.join("a/b/pl");
    std::fs::create_dir_all(&pl).unwrap();
    for d in ["a", "a/b", "a/b/pl"] {
        set_mode(&base.join(d), 0o755);
    }
    install(&pl, "chronicle_testplugin_misbehave", "misbehave");
    pl
}

#[cfg(unix)]
fn trusting() -> HostOptions {
    HostOptions {
        trust_plugin_dirs: true,
        ..isolated()
    }
}

#[cfg(unix)]
#[test]
fn a_world_writable_grandparent_is_refused_unless_trusted() {
    let dir = plugin_dir();
    let pl = nested_plugin_dir(dir.path());
    assert!(discover(&[&pl]).is_ok());
    // Anyone could rename `b` and put their own `b/pl` in its place.
    set_mode(&dir.path().join("a"), 0o777);
    snap!("unsafe_grandparent", discover_err(&[&pl]));
    let err = discover(&[&pl]).unwrap_err();
    assert!(
        matches!(&err, HostError::UnsafeAncestor { ancestor, .. } if *ancestor == dir.path().join("a")),
        "{err:?}"
    );
    // The library is refused on its own too (`plugins check`).
    let lib = pl.join(plugin_file_name("chronicle_plugin_misbehave"));
    assert!(matches!(
        check_library(&lib, &isolated()),
        Err(HostError::UnsafeAncestor { .. })
    ));
    // Group-writable is as bad; the first unsafe directory from the plugin
    // up is named.
    set_mode(&dir.path().join("a"), 0o775);
    set_mode(&dir.path().join("a/b"), 0o770);
    let err = discover(&[&pl]).unwrap_err();
    assert!(
        matches!(&err, HostError::UnsafeAncestor { ancestor, .. } if *ancestor == dir.path().join("a/b")),
        "{err:?}"
    );
    assert!(PluginHost::discover(&search(&[&pl]), &trusting())
        .unwrap()
        .get("misbehave")
        .is_some());
}

#[cfg(unix)]
#[test]
fn a_sticky_root_owned_parent_like_tmp_is_accepted() {
    use std::os::unix::fs::{chown, MetadataExt};
    let dir = plugin_dir();
    let pl = nested_plugin_dir(dir.path());
    set_mode(&dir.path().join("a"), 0o1777);
    let owner = std::fs::metadata(dir.path().join("a")).unwrap().uid();
    if owner == 0 {
        assert!(discover(&[&pl]).unwrap().get("misbehave").is_some());
        // The sticky bit only helps a directory of root's: chown it away.
        chown(dir.path().join("a"), Some(4242), None).unwrap();
        snap!("unsafe_ancestor_owner", discover_err(&[&pl]));
    } else {
        // Not root: a sticky directory of ours is not root's, so refused.
        let err = discover(&[&pl]).unwrap_err();
        assert!(matches!(err, HostError::UnsafeAncestor { .. }), "{err:?}");
    }
    // The plugin directory itself may not be world-writable, sticky or not:
    // anyone could add a library to it.
    set_mode(&dir.path().join("a"), 0o755);
    if owner == 0 {
        chown(dir.path().join("a"), Some(0), None).unwrap();
    }
    set_mode(&pl, 0o1777);
    assert!(matches!(
        discover(&[&pl]).unwrap_err(),
        HostError::Untrusted { .. }
    ));
}

#[cfg(unix)]
#[test]
fn a_directory_owned_by_someone_else_is_refused() {
    use std::os::unix::fs::chown;
    if unsafe_euid() != 0 {
        return; // only root can give a directory away
    }
    let dir = plugin_dir();
    let pl = nested_plugin_dir(dir.path());
    chown(dir.path().join("a/b"), Some(4242), Some(4242)).unwrap();
    let err = discover(&[&pl]).unwrap_err();
    assert!(
        matches!(
            &err,
            HostError::UnsafeAncestor {
                problem: chronicle_plugin_host::AncestorProblem::Owner { uid: 4242, .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[cfg(unix)]
fn unsafe_euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just made is the effective user.
    let dir = plugin_dir();
    std::fs::metadata(dir.path()).unwrap().uid()
}

#[cfg(unix)]
#[test]
fn a_symlinked_plugin_dir_is_checked_on_its_real_path() {
    let dir = plugin_dir();
    // The real directory is under a world-writable one; the link is in a
    // safe place.
    let pl = nested_plugin_dir(dir.path());
    set_mode(&dir.path().join("a"), 0o777);
    let safe = dir.path().join("safe");
    std::fs::create_dir(&safe).unwrap();
    set_mode(&safe, 0o755);
    let link = safe.join("plugins");
    std::os::unix::fs::symlink(&pl, &link).unwrap();
    snap!("unsafe_symlink_target", discover_err(&[&link]));
    assert!(PluginHost::discover(&search(&[&link]), &trusting()).is_ok());

    // And the other way round: a safe real directory, but the link sits in a
    // world-writable directory, where anyone could point it elsewhere.
    set_mode(&dir.path().join("a"), 0o755);
    assert!(discover(&[&link]).is_ok());
    set_mode(&safe, 0o777);
    let err = discover(&[&link]).unwrap_err();
    assert!(
        matches!(&err, HostError::UnsafeAncestor { ancestor, .. } if *ancestor == safe),
        "{err:?}"
    );
}

#[test]
fn the_executable_directory_skips_what_is_broken() {
    // Searched without being asked for, the executable's directory only
    // warns: a build directory holds stale and unrelated libraries.
    let configured = plugin_dir();
    let exe = plugin_dir();
    install(
        configured.path(),
        "chronicle_testplugin_misbehave",
        "misbehave",
    );
    install(
        exe.path(),
        "chronicle_testplugin_misbehave",
        "misbehave_again",
    );
    install(exe.path(), "chronicle_testplugin_abi_too_new", "future");
    install(exe.path(), "chronicle_testplugin_claims_json", "json");
    install(exe.path(), "chronicle_testplugin_bad_status", "bad_status");
    let mut path = search(&[configured.path()]);
    path.push(exe.path().to_path_buf(), DirOrigin::ExeDir);
    let host = PluginHost::discover(&path, &isolated()).unwrap();
    let found: Vec<(String, DirOrigin)> = host
        .formats()
        .into_iter()
        .map(|p| (p.name, p.origin.unwrap()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("bad-status".to_owned(), DirOrigin::ExeDir),
            ("misbehave".to_owned(), DirOrigin::PluginDir),
        ]
    );
    snap!("exe_dir_warnings", host.warnings().join("\n"));
}

#[test]
fn missing_env_dirs_and_user_dir_are_skipped() {
    let dir = plugin_dir();
    install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let gone = dir.path().join("gone");
    let env = std::env::join_paths([gone.clone(), dir.path().to_path_buf()]).unwrap();
    let path = SearchPath::from_parts(&[], Some(&env), Some(dir.path().join("user")), None);
    let host = PluginHost::discover(&path, &isolated()).unwrap();
    assert!(host.get("misbehave").is_some());
    assert_eq!(host.formats()[0].origin, Some(DirOrigin::EnvVar));
    snap!("missing_env_dir", host.warnings().join("\n"));
}

#[test]
fn files_that_do_not_follow_the_naming_rule_are_ignored_with_a_warning() {
    let dir = plugin_dir();
    let lib = lib("chronicle_testplugin_misbehave");
    let odd = dir
        .path()
        .join(chronicle_plugin_host::plugin_file_name("myformat"));
    std::fs::copy(lib, &odd).unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a plugin").unwrap();
    let host = discover(&[dir.path()]).unwrap();
    assert!(host.formats().is_empty());
    snap!("naming_rule_warning", host.warnings().join("\n"));
}

#[test]
fn check_reports_a_plugin_that_breaks_at_run_time() {
    let path: PathBuf = lib("chronicle_testplugin_bad_status");
    let report = check_library(&path, &isolated()).unwrap();
    assert!(!report.passed());
    snap!("check_bad_status", report.to_string());
}

#[test]
fn check_passes_a_well_behaved_plugin() {
    let dir = plugin_dir();
    let path = install(dir.path(), "chronicle_testplugin_misbehave", "misbehave");
    let report = check_library(&path, &isolated()).unwrap();
    assert!(report.passed(), "{report}");
    snap!("check_misbehave", report.to_string());
    let out = report.sample_output.unwrap();
    assert_eq!(out.bytes, b"misbehave: 5 incidents");
}

#[test]
fn check_flags_a_reserved_name_and_the_file_name() {
    let report = check_library(&lib("chronicle_testplugin_claims_json"), &isolated()).unwrap();
    assert!(!report.passed());
    snap!("check_claims_json", report.to_string());
}

#[test]
fn exports_run_concurrently() {
    let (_dir, host) = misbehave_host();
    let doc = sample();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (host, doc) = (&host, &doc);
                s.spawn(move || {
                    let mode = if i % 2 == 0 { "ok" } else { "panic" };
                    host.export("misbehave", doc, &opts(&[("mode", mode)]))
                        .is_ok()
                })
            })
            .collect();
        let ok: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(ok, [true, false, true, false, true, false, true, false]);
    });
}
