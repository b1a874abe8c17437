//! The report stage: rendering only. Every line candor prints goes through
//! here; a run's live output reaches it through [`Terminal`], the
//! [`crate::run::Output`] the command line hands the runner.

pub mod check;
pub mod diagnostic;
pub mod files;
pub mod html;
pub mod junit;
pub mod progress;
pub mod store;
pub mod summary;
pub mod terminal;

pub use check::check_listing;
pub use diagnostic::render_diagnostic;
pub use terminal::Terminal;

use crate::run::VariantSpec;
use crate::spec::Diagnostic;

/// Prints diagnostics to stderr, then a count.
pub fn diagnostics(diags: &[Diagnostic]) {
    let color = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    for d in diags {
        eprintln!("{}", render_diagnostic(d, color));
    }
    eprintln!(
        "error: {} problem{} found; nothing was run",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    );
}

/// Prints an error that stops a command.
pub fn error(message: &dyn std::fmt::Display) {
    eprintln!("error: {message}");
}

/// Printed once the models have run, before the trials.
pub fn run_header(baseline: &VariantSpec, candidate: &VariantSpec, cases: usize) {
    eprintln!("candor: baseline {baseline}, candidate {candidate}: {cases} cases per model");
}

/// A progress line on stderr (model provisioning, loading, long work).
pub fn progress_line(message: &str) {
    eprintln!("candor: {message}");
}

/// Printed after the model work when a run store was used.
/// `tokens: 1,234 computed (56 padding) of 5,678 from scratch (21.7 %)`.
pub fn token_line(t: &crate::engine::TokenUsage) -> String {
    let share = 100.0 * t.computed as f64 / t.from_scratch.max(1) as f64;
    format!(
        "tokens: {} computed ({} padding) of {} from scratch ({share:.1} %)",
        t.computed, t.padding, t.from_scratch
    )
}

pub fn token_usage(t: &crate::engine::TokenUsage) {
    if t.from_scratch > 0 {
        eprintln!("candor: {}", token_line(t));
    }
}

pub fn store_reuse(reused: usize, total: usize) {
    eprintln!("candor: store: reused {reused} of {total} responses");
}

/// A mean warmth with its interval: `+0.52 [+0.31, +0.74]` (nats).
pub fn nats(m: &crate::stats::MeanInterval) -> String {
    format!("{:+.2} [{:+.2}, {:+.2}]", m.mean, m.ci.lo, m.ci.hi)
}

/// One line per condition that measured warmth: both models' mean warmth
/// and the paired difference, as the terminal prints them before the trials.
pub fn warmth_lines(r: &crate::run::RunResults) -> Vec<String> {
    let mut out = Vec::new();
    for s in &r.suites {
        for c in &s.conditions {
            let Some(w) = &c.warmth else { continue };
            let delta = crate::stats::MeanInterval {
                mean: w.delta,
                ci: w.delta_ci,
            };
            out.push(format!(
                "warmth {}::{}::{} ({} items, nats, 95% CI): baseline {}, candidate {}, Δ {}",
                s.name,
                c.context,
                c.belief,
                w.n,
                nats(&w.baseline),
                nats(&w.candidate),
                nats(&delta)
            ));
        }
    }
    out
}
