//! Progress of the model work on stderr: a bar with cases/s and ETA when
//! stderr is a terminal, else a plain line every [`LINE_EVERY`].

use crate::run::work::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a plain progress line is printed when stderr is not a terminal.
pub const LINE_EVERY: Duration = Duration::from_secs(10);

/// The model work's progress, as a bar or as lines.
pub struct ModelProgress {
    bar: Option<ProgressBar>,
    terminal: bool,
    every: Duration,
    label: String,
    total: usize,
    done: usize,
    started: Instant,
    last_line: Instant,
}

impl Default for ModelProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl ModelProgress {
    /// A bar if stderr is a terminal; lines every [`LINE_EVERY`] otherwise
    /// (`CANDOR_PROGRESS_SECS` overrides the interval).
    pub fn new() -> ModelProgress {
        let every = std::env::var("CANDOR_PROGRESS_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(LINE_EVERY, Duration::from_secs_f64);
        ModelProgress {
            bar: None,
            terminal: std::io::stderr().is_terminal(),
            every,
            label: String::new(),
            total: 0,
            done: 0,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }
}

/// `2m21s`, `1h04m`, `9s`.
pub fn duration_short(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The plain progress line.
pub fn progress_line(label: &str, done: usize, total: usize, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let eta = if rate > 0.0 {
        duration_short(Duration::from_secs_f64(
            total.saturating_sub(done) as f64 / rate,
        ))
    } else {
        "?".into()
    };
    format!("candor: {label} {done}/{total} cases ({rate:.1}/s, ETA {eta})")
}

impl Progress for ModelProgress {
    fn start(&mut self, variant: &str, cases: usize) {
        self.label = variant.to_string();
        self.total = cases;
        self.done = 0;
        self.started = Instant::now();
        self.last_line = Instant::now();
        if self.terminal {
            let bar = ProgressBar::with_draw_target(
                Some(cases as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>9} [{bar:30}] {pos}/{len} cases ({rate}, ETA {eta})",
                )
                .expect("valid template")
                .with_key(
                    "rate",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.1}/s", s.per_sec());
                    },
                )
                .progress_chars("=> "),
            );
            bar.set_prefix(variant.to_string());
            self.bar = Some(bar);
        }
    }

    fn advance(&mut self, cases: usize) {
        self.done += cases;
        if let Some(bar) = &self.bar {
            bar.inc(cases as u64);
        } else if self.last_line.elapsed() >= self.every && self.done < self.total {
            self.last_line = Instant::now();
            eprintln!(
                "{}",
                progress_line(&self.label, self.done, self.total, self.started.elapsed())
            );
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_has_rate_and_eta() {
        assert_eq!(
            progress_line("baseline", 340, 1200, Duration::from_secs_f64(340.0 / 6.1)),
            "candor: baseline 340/1200 cases (6.1/s, ETA 2m20s)"
        );
        assert_eq!(duration_short(Duration::from_secs(3840)), "1h04m");
    }
}
