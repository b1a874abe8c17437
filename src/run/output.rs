//! [`Output`]: everything a run tells its user while it runs, behind one trait.
//!
//! The runner never prints. It hands its diagnostics, progress, the summary of
//! the model work and, once libtest has reported the trials, the results to
//! the `Output` it was given: candor's terminal reporter
//! (`candor::report::Terminal`), or a library user's own (a CI bot, a GUI,
//! a test that wants to read what happened).

use super::results::RunResults;
use super::work::Progress;
use super::VariantSpec;
use crate::engine::TokenUsage;
use crate::spec::Diagnostic;
use crate::store::Reuse;

/// What the model work of a run came to, told once before the trials.
#[derive(Debug, Clone, Copy)]
pub struct ModelsRan<'a> {
    pub baseline: &'a VariantSpec,
    pub candidate: &'a VariantSpec,
    /// Cases run per model.
    pub cases: usize,
    /// Responses taken from the run store, when a store was used.
    pub reuse: Option<Reuse>,
    /// Token positions the engines computed (both variants).
    pub tokens: TokenUsage,
}

/// A run's live output. Every method has a default that says nothing.
pub trait Output: Progress {
    /// Problems found before anything ran (nothing runs when there are any).
    fn diagnostics(&mut self, _diagnostics: &[Diagnostic]) {}
    /// An error that stops the run: a model, the store, a report file.
    fn error(&mut self, _error: &dyn std::fmt::Display) {}
    /// A line about slow work outside the cases: provisioning, loading a model.
    fn note(&mut self, _message: &str) {}
    /// The model work is done; the trials come next.
    fn models_ran(&mut self, _ran: &ModelsRan<'_>) {}
    /// The run's results, before libtest reports the trials. An error (a
    /// report file that cannot be written) stops the run with exit code 2.
    fn results(
        &mut self,
        _results: &RunResults,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }
    /// After libtest's lines: the trials' conclusion, and the results when
    /// any model work ran.
    fn finished(&mut self, _results: Option<&RunResults>, _conclusion: &libtest_mimic::Conclusion) {
    }
}

/// Says nothing: for library users and tests that read the results instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {}
impl Output for Quiet {}
