//! The subcommands' drivers: each opens what it needs, does one job and
//! prints through the report stage. `main.rs` only parses arguments and
//! dispatches here.

pub mod bench;
pub mod model;

use crate::report;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for a spec, template, model or file error.
pub const EXIT_ERROR: u8 = crate::run::EXIT_ERROR;

fn failed(e: &dyn std::fmt::Display) -> ExitCode {
    report::error(e);
    ExitCode::from(EXIT_ERROR)
}

/// `candor import-gguf FILE OUT_DIR`.
pub fn import(file: &Path, out_dir: &Path, weights: crate::import::WeightFormat) -> ExitCode {
    match crate::import::import_gguf(file, out_dir, weights, &mut |s| {
        report::progress_line(&format!("import: {s}"))
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(&e),
    }
}

/// `candor report RESULTS.json`.
pub fn rerender(results: &Path, format: report::files::Format, out: Option<&Path>) -> ExitCode {
    match report::files::rerender(results, format, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(&e),
    }
}

/// What `candor store` does.
#[derive(Debug, Clone, Copy)]
pub enum StoreJob {
    Stats,
    Gc { days: u64 },
}

/// `candor store stats|gc`.
pub fn store(path: &Path, job: StoreJob) -> ExitCode {
    let done = crate::store::Store::open(path).and_then(|mut s| match job {
        StoreJob::Stats => s
            .stats()
            .map(|st| report::store::stats(&st, crate::store::now())),
        StoreJob::Gc { days } => s.gc(days).map(|c| report::store::collected(&c, days)),
    });
    match done {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

/// `candor check [SPECS]`.
pub fn check(specs: &[String], templates: PathBuf, limit: Option<usize>, seed: u64) -> ExitCode {
    match crate::run::prepare(specs, templates, limit, seed) {
        Ok(p) => {
            print!("{}", report::check_listing(&p.suites, &p.trials, limit));
            println!("ok: {} suites, {} trials", p.suites.len(), p.trials.len());
            ExitCode::SUCCESS
        }
        Err(d) => {
            report::diagnostics(&d);
            ExitCode::from(EXIT_ERROR)
        }
    }
}
