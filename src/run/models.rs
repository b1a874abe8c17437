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
    let mut v = open_all(factory, &[baseline, candidate], progress)?;
    let c = v.pop().expect("two");
    let b = v.pop().expect("two");
    Ok((b, c))
}

/// Opens each model once, in order; a model named more than once (the
/// baseline that also scores warmth, the default pair that differs only in
/// its persona) is loaded once and shared by its handles.
pub fn open_all(
    factory: &dyn MakeEngine,
    models: &[&ModelRef],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Box<dyn Engine>>, EngineError> {
    let mut opened: Vec<(&ModelRef, Shared)> = Vec::new();
    let mut out: Vec<Box<dyn Engine>> = Vec::with_capacity(models.len());
    for (i, m) in models.iter().enumerate() {
        if let Some((_, s)) = opened.iter().find(|(o, _)| o == m) {
            out.push(Box::new(s.clone()));
            continue;
        }
        let e = factory.make(m, progress)?;
        if models[i + 1..].contains(m) {
            let s = Shared {
                name: e.name().to_string(),
                engine: Arc::new(Mutex::new(e)),
            };
            out.push(Box::new(s.clone()));
            opened.push((m, s));
        } else {
            out.push(e);
        }
    }
    Ok(out)
}

/// Whether [`open_pair`] gives both variants one engine.
pub fn shares_engine(baseline: &ModelRef, candidate: &ModelRef) -> bool {
    baseline == candidate
}

/// The baseline's and the candidate's engines.
pub type Pair = (Box<dyn Engine>, Box<dyn Engine>);

/// One engine behind several handles.
#[derive(Clone)]
struct Shared {
    name: String,
    engine: Arc<Mutex<Box<dyn Engine>>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Engine>> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Engine for Shared {
    fn name(&self) -> &str {
        &self.name
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
