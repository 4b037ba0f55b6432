//! Progress bars for long operations (append, import, rebuild, verify): drawn on standard
//! error only once the operation has taken more than a moment, and never when standard error
//! is not a terminal or with `--quiet`. The library reports counts through callbacks; the
//! bars live here, and only here.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long an operation runs before its bar appears.
const AFTER: Duration = Duration::from_millis(700);

/// Whether bars may be drawn at all: not with `--quiet`, and only on a terminal. Callers use
/// it to skip work that only a bar needs (counting a file's lines, reading the head).
pub fn enabled(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// What a bar counts.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    /// Events of the log.
    Events,
    /// Bytes of an input file (an import).
    Bytes,
}

impl Unit {
    /// The bar's template with a known total, and without (a spinner with the rate).
    fn style(self, total: Option<u64>) -> ProgressStyle {
        let style = match (self, total) {
            (Unit::Events, Some(_)) => ProgressStyle::with_template(
                "{msg} [{bar:30}] {human_pos}/{human_len} events, {per_sec}, {eta} left",
            )
            .map(|s| s.progress_chars("=> ")),
            (Unit::Events, None) => {
                ProgressStyle::with_template("{spinner} {msg} {human_pos} events, {per_sec}")
            }
            (Unit::Bytes, Some(_)) => ProgressStyle::with_template(
                "{spinner} {msg} {bar:40} {bytes}/{total_bytes} ({eta} left)",
            ),
            (Unit::Bytes, None) => {
                ProgressStyle::with_template("{spinner} {msg} {bytes}, {bytes_per_sec}")
            }
        };
        style.unwrap_or_else(|_| ProgressStyle::default_bar())
    }
}

/// A progress bar, drawn lazily; see the module documentation.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    unit: Unit,
    total: Option<u64>,
    what: &'static str,
    started: Instant,
    bar: RefCell<Option<ProgressBar>>,
}

impl Progress {
    /// Progress of `what` over `total` events (unknown: a spinner with the rate).
    pub fn new(quiet: bool, total: Option<u64>, what: &'static str) -> Self {
        Progress::counting(Unit::Events, quiet, total, what)
    }

    /// Progress of `what` over `total` of `unit`.
    pub fn counting(unit: Unit, quiet: bool, total: Option<u64>, what: &'static str) -> Self {
        Progress {
            enabled: enabled(quiet),
            unit,
            total,
            what,
            started: Instant::now(),
            bar: RefCell::new(None),
        }
    }

    /// `done` so far (events or bytes).
    pub fn update(&self, done: u64) {
        if !self.enabled {
            return;
        }
        let mut bar = self.bar.borrow_mut();
        if bar.is_none() && self.started.elapsed() >= AFTER {
            let b = ProgressBar::with_draw_target(self.total, ProgressDrawTarget::stderr())
                .with_style(self.unit.style(self.total))
                .with_message(self.what);
            b.enable_steady_tick(Duration::from_millis(250));
            *bar = Some(b);
        }
        if let Some(b) = bar.as_ref() {
            b.set_position(done);
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = self.bar.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}

/// The number of lines of a file (the total of an append's bar); `None` if unreadable.
pub fn count_lines(path: &std::path::Path) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let read = file.read(&mut buf).ok()?;
        if read == 0 {
            return Some(n);
        }
        n += buf[..read].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}
