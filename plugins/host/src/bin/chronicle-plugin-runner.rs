//! The plugin runner as a program of its own: `chronicle-plugin-runner OP PATH [--trust]
//! [--memory BYTES]` (see `chronicle_plugin_host::runner`). chronicle re-executes itself
//! instead (`chronicle __plugin-runner ...`); this program serves other hosts and the
//! host's own tests.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(chronicle_plugin_host::runner::serve(
        std::env::args_os().skip(1),
    ))
}
