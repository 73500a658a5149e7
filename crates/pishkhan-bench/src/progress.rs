//! Progress of long work on stderr: a bar when a person watches a terminal, and plain lines
//! (at every tenth of the work, or every few seconds) when stderr goes to a log or a pipe,
//! where a redrawn bar would be noise.
//!
//! It lives here because the benchmarks draw it as well as the binary's own commands (backup,
//! audit, `agency generate`), which re-export it: one copy. The pure generator crates report
//! through a plain `FnMut(done, total)` callback, which a caller feeds to [`Progress::set`].

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How the work is counted.
#[derive(Clone, Copy)]
pub enum Unit {
    Bytes,
    Entries,
    /// Things of this name ("people", "visits"), counted one by one.
    Count(&'static str),
}

/// A plain line at most this often when the share done has not moved by a tenth.
const LINE_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    label: String,
    unit: Unit,
    started: Instant,
    out: Out,
}

enum Out {
    Bar(ProgressBar),
    Lines(Mutex<LineState>),
}

struct LineState {
    last_tenth: u64,
    last_at: Instant,
    finished: bool,
}

impl Progress {
    /// Starts reporting `label`; draws a bar only if stderr is a terminal.
    pub fn start(label: &str, unit: Unit) -> Self {
        Self::with_terminal(label, unit, std::io::stderr().is_terminal())
    }

    fn with_terminal(label: &str, unit: Unit, terminal: bool) -> Self {
        let out = if terminal {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let template = match unit {
                Unit::Bytes => "{msg:<22} [{bar:32}] {bytes}/{total_bytes} ({eta} left)",
                Unit::Entries | Unit::Count(_) => "{msg:<22} [{bar:32}] {pos}/{len} ({eta} left)",
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            Out::Bar(bar)
        } else {
            Out::Lines(Mutex::new(LineState {
                last_tenth: 0,
                last_at: Instant::now(),
                finished: false,
            }))
        };
        Self {
            label: label.to_string(),
            unit,
            started: Instant::now(),
            out,
        }
    }

    /// `done` of `total` units are finished.
    pub fn set(&self, done: u64, total: u64) {
        match &self.out {
            Out::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(done.min(total));
            }
            Out::Lines(state) => {
                let Ok(mut s) = state.lock() else { return };
                if s.finished {
                    return;
                }
                let tenth = (done.min(total) * 10).checked_div(total).unwrap_or(0);
                if tenth > s.last_tenth || s.last_at.elapsed() >= LINE_EVERY {
                    s.last_tenth = tenth;
                    s.last_at = Instant::now();
                    eprintln!("{}", self.line(done, total));
                }
            }
        }
    }

    /// The work is over: the bar is cleared, or a last line says so.
    pub fn finish(&self, done: u64) {
        match &self.out {
            Out::Bar(bar) => bar.finish_and_clear(),
            Out::Lines(state) => {
                let Ok(mut s) = state.lock() else { return };
                if !s.finished {
                    s.finished = true;
                    eprintln!(
                        "{}: done, {} in {:.1}s",
                        self.label,
                        self.amount(done),
                        self.started.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }

    fn line(&self, done: u64, total: u64) -> String {
        let percent = (done.min(total) * 100).checked_div(total).unwrap_or(0);
        format!(
            "{}: {percent}% ({} of {}), {:.1}s",
            self.label,
            self.amount(done),
            self.amount(total),
            self.started.elapsed().as_secs_f64()
        )
    }

    fn amount(&self, n: u64) -> String {
        match self.unit {
            Unit::Bytes => human_bytes(n),
            Unit::Entries => format!("{n} entries"),
            Unit::Count(what) => format!("{n} {what}"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // Work that failed half way must not leave a bar drawn over the error message.
        if let Out::Bar(bar) = &self.out
            && !bar.is_finished()
        {
            bar.abandon();
        }
    }
}

/// `n` bytes in the largest binary unit that keeps it at least 1.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn a_line_names_the_share_done() {
        let p = Progress::with_terminal("backup", Unit::Entries, false);
        let line = p.line(25, 100);
        assert!(
            line.starts_with("backup: 25% (25 entries of 100 entries)"),
            "{line}"
        );
        assert!(p.line(0, 0).starts_with("backup: 0% "));
        let p = Progress::with_terminal("population", Unit::Count("people"), false);
        assert!(
            p.line(5, 10)
                .starts_with("population: 50% (5 people of 10 people)"),
            "{}",
            p.line(5, 10)
        );
    }
}
