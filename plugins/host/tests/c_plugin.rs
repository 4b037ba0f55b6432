//! A plugin written in C against `plugins/include/chronicle_plugin.h`,
//! compiled with the system C compiler (`$CC`, else `cc`) during the test,
//! then loaded and run through the host. Also checks that the header and
//! the Rust ABI types agree on the declaration's layout.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod support;

use chronicle_plugin_host::{check_library, plugin_file_name};
use chronicle_plugin_sdk::abi::{Buffer, PluginDeclarationV1, PluginDeclarationV2, Sink};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cc() -> Command {
    let compiler = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let mut cmd = Command::new(compiler);
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(plugins_dir().join("include"));
    cmd
}

fn run(mut cmd: Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compile the C example into `dir` under its plugin name.
fn build_c_plugin(dir: &Path) -> PathBuf {
    let lib = dir.join(plugin_file_name("chronicle_plugin_c_example"));
    let mut cmd = cc();
    cmd.args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(plugins_dir().join("c-example/plugin.c"));
    run(cmd);
    set_mode(&lib, 0o755);
    lib
}

#[test]
fn a_c_plugin_exports_through_the_host() {
    let dir = plugin_dir();
    build_c_plugin(dir.path());
    let host = discover(&[dir.path()]).unwrap();
    let info = host.get("c-example").unwrap();
    assert_eq!(
        (
            info.version.as_str(),
            info.extension.as_str(),
            info.text,
            info.abi_version
        ),
        ("1.0.0", "txt", true, 1)
    );
    let out = host.export("c-example", &sample(), &opts(&[])).unwrap();
    let text = String::from_utf8(out.bytes).unwrap();
    settings().bind(|| insta::assert_snapshot!("c_plugin_output", text));
    assert!(text.contains("sources' figures: 6"));

    let err = host
        .export(
            "c-example",
            &sample(),
            &opts(&[("fail", "no JSON parser in here")]),
        )
        .unwrap_err()
        .to_string();
    settings().bind(|| insta::assert_snapshot!("c_plugin_error", err));
}

#[test]
fn a_c_plugin_passes_check() {
    let dir = plugin_dir();
    let lib = build_c_plugin(dir.path());
    let report = check_library(&lib, &isolated()).unwrap();
    assert!(report.passed(), "{report}");
    settings().bind(|| insta::assert_snapshot!("c_plugin_check", report.to_string()));
}

#[test]
fn the_header_and_the_rust_types_agree_on_the_layout() {
    let dir = plugin_dir();
    let source = dir.path().join("layout.c");
    std::fs::write(
        &source,
        r#"#include "chronicle_plugin.h"
#include <stdio.h>
#include <stddef.h>
int main(void) {
    printf("%lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu\n",
        (unsigned long)sizeof(chronicle_plugin_declaration_v1),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, struct_size),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, text),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, name),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, version),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, extension),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, description),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, export_fn),
        (unsigned long)offsetof(chronicle_plugin_declaration_v1, free_fn),
        (unsigned long)sizeof(chronicle_buffer),
        (unsigned long)offsetof(chronicle_buffer, len),
        (unsigned long)CHRONICLE_MAX_OUTPUT_BYTES);
    printf("%lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu\n",
        (unsigned long)sizeof(chronicle_plugin_declaration_v2),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, text),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, passes),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, reserved),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, name),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, version),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, extension),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, description),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, begin),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, start_pass),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, incident),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, finish),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, drop_state),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, free_fn),
        (unsigned long)offsetof(chronicle_plugin_declaration_v2, passes_fn),
        (unsigned long)sizeof(chronicle_sink),
        (unsigned long)offsetof(chronicle_sink, write),
        (unsigned long)CHRONICLE_MAX_PASSES);
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.path().join("layout");
    let mut cmd = cc();
    cmd.arg("-o").arg(&exe).arg(&source);
    run(cmd);
    let out = Command::new(&exe).output().unwrap();
    let c: Vec<usize> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    use std::mem::{offset_of, size_of};
    let rust = vec![
        size_of::<PluginDeclarationV1>(),
        offset_of!(PluginDeclarationV1, struct_size),
        offset_of!(PluginDeclarationV1, text),
        offset_of!(PluginDeclarationV1, name),
        offset_of!(PluginDeclarationV1, version),
        offset_of!(PluginDeclarationV1, extension),
        offset_of!(PluginDeclarationV1, description),
        offset_of!(PluginDeclarationV1, export_fn),
        offset_of!(PluginDeclarationV1, free_fn),
        size_of::<Buffer>(),
        offset_of!(Buffer, len),
        chronicle_plugin_sdk::abi::MAX_OUTPUT_BYTES,
        size_of::<PluginDeclarationV2>(),
        offset_of!(PluginDeclarationV2, text),
        offset_of!(PluginDeclarationV2, passes),
        offset_of!(PluginDeclarationV2, reserved),
        offset_of!(PluginDeclarationV2, name),
        offset_of!(PluginDeclarationV2, version),
        offset_of!(PluginDeclarationV2, extension),
        offset_of!(PluginDeclarationV2, description),
        offset_of!(PluginDeclarationV2, begin),
        offset_of!(PluginDeclarationV2, start_pass),
        offset_of!(PluginDeclarationV2, incident),
        offset_of!(PluginDeclarationV2, finish),
        offset_of!(PluginDeclarationV2, drop_state),
        offset_of!(PluginDeclarationV2, free_fn),
        offset_of!(PluginDeclarationV2, passes_fn),
        size_of::<Sink>(),
        offset_of!(Sink, write),
        chronicle_plugin_sdk::abi::MAX_PASSES as usize,
    ];
    assert_eq!(c, rust);
}

/// A streamed (version-2) plugin in C, `plugins/c-example/stream.c`: the header's version-2
/// types work, its output comes back whole, and `plugins check` passes it.
#[test]
fn a_streamed_c_plugin_exports_through_the_host() {
    let dir = plugin_dir();
    let lib = dir
        .path()
        .join(plugin_file_name("chronicle_plugin_c_stream"));
    let mut cmd = cc();
    cmd.args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(plugins_dir().join("c-example/stream.c"));
    run(cmd);
    set_mode(&lib, 0o755);
    let host = discover(&[dir.path()]).unwrap();
    assert_eq!(host.get("c-stream").unwrap().abi_version, 2);
    let out = host.export("c-stream", &sample(), &opts(&[])).unwrap();
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        "5 incidents of 5, in 2 passes\n"
    );
    let err = host
        .export("c-stream", &sample(), &opts(&[("x", "1")]))
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let report = check_library(&lib, &isolated()).unwrap();
    assert!(report.passed(), "{report}");
}
