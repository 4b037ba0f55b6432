//! The width of human output, shared by the view commands and `plugins list`.

use std::io::IsTerminal;

use chronicle_core::views::render;

/// The width of human output: `--width` (0: no limit; at least 20), else, when standard
/// output is a terminal, `$COLUMNS` or the terminal's width (80 if neither is known); when
/// it is a pipe or a file, no limit, so that `| less`, `| grep` and `> file` get whole
/// cells and lines.
pub fn output_width(flag: Option<usize>) -> usize {
    match flag {
        Some(0) => render::UNLIMITED,
        Some(w) => w.max(20),
        None if !std::io::stdout().is_terminal() => render::UNLIMITED,
        None => std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .or_else(|| {
                terminal_size::terminal_size_of(std::io::stdout())
                    .map(|(terminal_size::Width(w), _)| usize::from(w))
            })
            .unwrap_or(render::DEFAULT_WIDTH)
            .max(20),
    }
}
