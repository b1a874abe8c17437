//! Opening the models of a run. The one place that knows which backends exist.

use crate::engine::fake::{AnswerKey, FakeEngine, FakeSpec};
use crate::engine::{Engine, EngineError};
use std::sync::{Arc, Mutex};

/// A model plus an optional persona: the baseline or the candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSpec {
    /// A model directory, `default`, or `fake:...`.
    pub model: String,
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

/// Opens a model. `fake:` models answer from `key` (the suites' items); anything
/// else is a model directory or `default`, run on ONNX Runtime.
pub fn open_model(model: &str, key: &Arc<AnswerKey>) -> Result<Box<dyn Engine>, EngineError> {
    if model.starts_with("fake:") {
        let spec = FakeSpec::parse(model).map_err(EngineError::Request)?;
        return Ok(Box::new(FakeEngine::new(spec, key.clone())));
    }
    let e = crate::engine::open(
        model,
        &crate::engine::EngineOptions::from_env()?,
        &mut |s| crate::report::progress_line(s),
    )?;
    Ok(Box::new(e))
}

/// Opens the baseline and the candidate; the same model is loaded once and shared
/// (the default pair differs only in its persona).
pub fn open_pair(
    baseline: &str,
    candidate: &str,
    key: &Arc<AnswerKey>,
) -> Result<Pair, EngineError> {
    let b = open_model(baseline, key)?;
    if shares_engine(baseline, candidate) {
        let shared = Shared(Arc::new(Mutex::new(b)));
        return Ok((Box::new(shared.clone()), Box::new(shared)));
    }
    Ok((b, open_model(candidate, key)?))
}

/// Whether [`open_pair`] gives both variants one engine.
pub fn shares_engine(baseline: &str, candidate: &str) -> bool {
    baseline == candidate && !baseline.starts_with("fake:")
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
        r: &[crate::engine::LoglikRequest],
    ) -> Result<Vec<Vec<crate::engine::ContinuationScore>>, EngineError> {
        self.lock().loglik(r)
    }
    fn generate(
        &mut self,
        r: &[crate::engine::GenerateRequest],
    ) -> Result<Vec<crate::engine::Generation>, EngineError> {
        self.lock().generate(r)
    }
    fn usage(&self) -> crate::engine::TokenUsage {
        self.lock().usage()
    }
}
