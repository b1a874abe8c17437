//! Opening the models of a run. The one place that knows which backends exist.

use crate::engine::fake::{AnswerKey, FakeEngine, FakeSpec};
use crate::engine::{Engine, EngineError};
use std::sync::Arc;

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

/// Opens a model. `fake:` models answer from `key` (the suites' items).
///
/// The ONNX Runtime engine is wired here: replace the `Err` arm with
/// `crate::engine::open(model, &Default::default())`.
pub fn open_model(model: &str, key: &Arc<AnswerKey>) -> Result<Box<dyn Engine>, EngineError> {
    if model.starts_with("fake:") {
        let spec = FakeSpec::parse(model).map_err(EngineError::Request)?;
        return Ok(Box::new(FakeEngine::new(spec, key.clone())));
    }
    Err(EngineError::Runtime(format!(
        "cannot open model `{model}`: this build has no ONNX Runtime engine wired in yet (use a `fake:` model)"
    )))
}
