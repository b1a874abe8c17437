//! The models of a run: variants, the engine factory the runner is handed,
//! and opening the pair.

use crate::engine::{self, Engine, EngineError, EngineOptions, ModelRef};
use std::sync::{Arc, Mutex};

/// A model plus an optional persona: the baseline or the candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantSpec {
    pub model: ModelRef,
    /// A persona name (templates/personas/NAME.j2), rendered as a system message.
    pub persona: Option<String>,
}

impl std::fmt::Display for VariantSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.persona {
            Some(p) => write!(f, "{} (persona {p})", self.model),
            None => write!(f, "{}", self.model),
        }
    }
}

/// Makes engines from model references: how the runner opens the baseline, the
/// candidate and judges without knowing which backends exist.
///
/// A closure is a factory, so a library user can run candor's suites on an
/// engine of their own:
///
/// ```
/// use candor::engine::{Engine, EngineError, ModelRef};
/// use candor::run::MakeEngine;
///
/// let factory = |model: &ModelRef, _progress: &mut dyn FnMut(&str)| -> Result<Box<dyn Engine>, EngineError> {
///     // Open `model` on your own backend here; this one falls back to candor's.
///     candor::run::BuiltinEngines.make(model, &mut |_| {})
/// };
/// let _: &dyn MakeEngine = &factory;
/// ```
pub trait MakeEngine {
    fn make(
        &self,
        model: &ModelRef,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Box<dyn Engine>, EngineError>;
}

impl<F> MakeEngine for F
where
    F: Fn(&ModelRef, &mut dyn FnMut(&str)) -> Result<Box<dyn Engine>, EngineError>,
{
    fn make(
        &self,
        model: &ModelRef,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Box<dyn Engine>, EngineError> {
        self(model, progress)
    }
}

/// candor's own backends ([`engine::open`]), with engine settings from the
/// environment (`CANDOR_WORKERS`, `CANDOR_THREADS`, `CANDOR_BATCH_TOKENS`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinEngines;

impl MakeEngine for BuiltinEngines {
    fn make(
        &self,
        model: &ModelRef,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Box<dyn Engine>, EngineError> {
        engine::open(model, &EngineOptions::from_env()?, progress)
    }
}

/// Opens the baseline and the candidate; the same model is loaded once and shared
/// (the default pair differs only in its persona).
pub fn open_pair(
    factory: &dyn MakeEngine,
    baseline: &ModelRef,
    candidate: &ModelRef,
    progress: &mut dyn FnMut(&str),
) -> Result<Pair, EngineError> {
    let b = factory.make(baseline, progress)?;
    if shares_engine(baseline, candidate) {
        let shared = Shared(Arc::new(Mutex::new(b)));
        return Ok((Box::new(shared.clone()), Box::new(shared)));
    }
    Ok((b, factory.make(candidate, progress)?))
}

/// Whether [`open_pair`] gives both variants one engine.
pub fn shares_engine(baseline: &ModelRef, candidate: &ModelRef) -> bool {
    baseline == candidate
}

/// The baseline's and the candidate's engines.
pub type Pair = (Box<dyn Engine>, Box<dyn Engine>);

/// One engine behind two handles.
#[derive(Clone)]
struct Shared(Arc<Mutex<Box<dyn Engine>>>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Engine>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Engine for Shared {
    fn name(&self) -> &str {
        "shared"
    }
    fn fingerprint(&self) -> String {
        self.lock().fingerprint()
    }
    fn loglik(
        &mut self,
        r: &[engine::LoglikRequest],
    ) -> Result<Vec<Vec<engine::ContinuationScore>>, EngineError> {
        self.lock().loglik(r)
    }
    fn generate(
        &mut self,
        r: &[engine::GenerateRequest],
    ) -> Result<Vec<engine::Generation>, EngineError> {
        self.lock().generate(r)
    }
    fn usage(&self) -> engine::TokenUsage {
        self.lock().usage()
    }
}
