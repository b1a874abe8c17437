//! [`Terminal`]: candor's own [`Output`]: diagnostics, progress and notes on
//! stderr, report files under `--report-dir`. libtest-mimic prints the trial
//! lines on stdout itself.

use super::files;
use super::progress::ModelProgress;
use crate::run::work::Progress;
use crate::run::{ModelsRan, Output, RunResults};
use crate::spec::Diagnostic;
use std::path::PathBuf;

/// The terminal reporter, writing report files into `report_dir` when set.
pub struct Terminal {
    progress: ModelProgress,
    report_dir: Option<PathBuf>,
}

impl Terminal {
    pub fn new(report_dir: Option<PathBuf>) -> Terminal {
        Terminal {
            progress: ModelProgress::new(),
            report_dir,
        }
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new(None)
    }
}

impl Progress for Terminal {
    fn start(&mut self, variant: &str, cases: usize) {
        self.progress.start(variant, cases)
    }
    fn advance(&mut self, cases: usize) {
        self.progress.advance(cases)
    }
    fn finish(&mut self) {
        self.progress.finish()
    }
}

impl Output for Terminal {
    fn diagnostics(&mut self, diagnostics: &[Diagnostic]) {
        super::diagnostics(diagnostics)
    }
    fn error(&mut self, error: &dyn std::fmt::Display) {
        super::error(error)
    }
    fn note(&mut self, message: &str) {
        super::progress_line(message)
    }
    fn models_ran(&mut self, ran: &ModelsRan<'_>) {
        super::run_header(ran.baseline, ran.candidate, ran.cases);
        if let Some(r) = ran.reuse {
            super::store_reuse(r.reused, r.total);
        }
        super::token_usage(&ran.tokens);
    }
    fn results(
        &mut self,
        results: &RunResults,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(dir) = &self.report_dir {
            files::write_all(dir, results)?;
        }
        for line in super::warmth_lines(results) {
            super::progress_line(&line);
        }
        Ok(())
    }
}
