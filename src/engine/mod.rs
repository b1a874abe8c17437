//! The engine stage: runs a language model on requests. Everything above this
//! module talks to models only through [`Engine`]; the ONNX Runtime backend and
//! the fake backend used by tests above the engine live in their own modules.

pub mod bench;
pub mod fake;

pub use crate::prompt::message::{Message, Prompt};

/// What the spec accepts as right and wrong for the item behind a request.
///
/// A real model never sees it (no backend sends it anywhere); it lets a
/// stand-in engine such as [`fake`] answer like a model that knows the item,
/// and it is part of the request's store key, so a changed answer key is a new
/// request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Expected {
    /// The question as the spec states it (inside the rendered prompt).
    pub question: String,
    pub correct: Vec<String>,
    pub incorrect: Vec<String>,
}

/// Score each continuation given the prompt.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LoglikRequest {
    pub prompt: Prompt,
    pub continuations: Vec<String>,
    /// The item's answers, for stand-in engines; real backends ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
}

/// Summed log-probability (natural log) of a continuation's tokens, and how many there were.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContinuationScore {
    pub logprob: f64,
    pub n_tokens: usize,
    /// Length of the continuation text in bytes.
    pub n_bytes: usize,
    /// Whether greedy decoding would have produced exactly these tokens.
    pub is_greedy: bool,
}

/// Greedy decoding until EOS, a stop string, or `max_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct GenerateRequest {
    pub prompt: Prompt,
    pub max_tokens: usize,
    pub stop: Vec<String>,
    /// The item's answers, for stand-in engines; real backends ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Eos,
    Stop,
    Length,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Generation {
    /// The generated text, with the stop string (if any) and EOS removed.
    pub text: String,
    pub n_tokens: usize,
    pub finish: FinishReason,
}

/// A language model backend. Requests are independent; an implementation batches
/// them as it sees fit and returns one result per request, in order.
pub trait Engine: Send {
    /// A short human-readable name (the model directory, or the fake's label).
    fn name(&self) -> &str;
    /// A hash of everything that changes the numbers this engine produces.
    fn fingerprint(&self) -> String;
    fn loglik(
        &mut self,
        requests: &[LoglikRequest],
    ) -> Result<Vec<Vec<ContinuationScore>>, EngineError>;
    fn generate(&mut self, requests: &[GenerateRequest]) -> Result<Vec<Generation>, EngineError>;
    /// Tokens this engine has run so far (zero for backends that do not count).
    fn usage(&self) -> TokenUsage {
        TokenUsage::default()
    }
}

/// What scoring cost, in token positions through the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenUsage {
    /// Positions computed, padding included.
    pub computed: u64,
    /// Of those, padding.
    pub padding: u64,
    /// Positions whose logits (vocabulary-sized rows) the model returned.
    #[serde(default)]
    pub logits: u64,
    /// What scoring every (prompt, continuation) pair as its own sequence would
    /// compute: prompt + continuation − 1 positions each (lm-evaluation-harness's way).
    pub from_scratch: u64,
}

impl std::ops::Add for TokenUsage {
    type Output = TokenUsage;
    fn add(self, o: TokenUsage) -> TokenUsage {
        TokenUsage {
            computed: self.computed + o.computed,
            padding: self.padding + o.padding,
            logits: self.logits + o.logits,
            from_scratch: self.from_scratch + o.from_scratch,
        }
    }
}

/// Errors from loading or running a model. Each names what was wrong and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A model file is missing or unreadable.
    #[error("{}: missing {what}", path.display())]
    MissingFile {
        path: std::path::PathBuf,
        what: String,
    },
    /// A model file exists but its content is not what candor expects.
    #[error("{}: {message}", path.display())]
    BadModel {
        path: std::path::PathBuf,
        message: String,
    },
    /// A model reference that names no model candor can open.
    #[error("model `{reference}`: {message}")]
    BadReference { reference: String, message: String },
    /// The default model could not be provisioned into the cache.
    #[error("default model: {0}")]
    Provision(String),
    /// Importing a model file into the cache failed.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// ONNX Runtime could not be found or loaded.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// A request the model cannot serve (e.g. longer than its context).
    #[error("bad request: {0}")]
    Request(String),
    /// Anything ONNX Runtime reported while running.
    #[error("ONNX Runtime error: {0}")]
    Ort(String),
    /// An error of a layer around an engine (the run store) or of an engine
    /// written outside candor.
    #[error("{0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

pub mod adapted;
pub mod model;
pub mod onnx;
pub mod provision;
pub mod runtime;

/// A stable hash of the files that define a model's numbers.
pub fn fingerprint_dir(dir: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut h = Sha256::new();
    for name in [
        "model.onnx",
        "model.onnx_data",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
    ] {
        h.update(name.as_bytes());
        if let Ok(mut f) = std::fs::File::open(dir.join(name)) {
            let mut buf = vec![0u8; 1 << 20];
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub use default_model::{resolve_default, DEFAULT_MODEL};
pub use model_ref::ModelRef;
pub use onnx::{EngineOptions, OrtEngine};

mod default_model;
mod model_ref;

/// Opens a model: the one place that knows which backends exist.
///
/// `progress` hears about slow first-use work (provisioning the default model,
/// loading a large graph).
pub fn open(
    model: &ModelRef,
    opts: &EngineOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Box<dyn Engine>, EngineError> {
    match model {
        ModelRef::Fake(spec) => Ok(Box::new(fake::FakeEngine::new(spec.clone()))),
        ModelRef::Default(format) => {
            let dir = resolve_default(*format, progress)?;
            Ok(Box::new(OrtEngine::load(&dir, opts.clone(), progress)?))
        }
        ModelRef::Dir(dir) => Ok(Box::new(OrtEngine::load(dir, opts.clone(), progress)?)),
        ModelRef::Gguf(_) | ModelRef::Adapted { .. } => {
            let dir = adapted::resolve(model, progress)?;
            Ok(Box::new(OrtEngine::load(&dir, opts.clone(), progress)?))
        }
        ModelRef::File(path) => open(&adapted::load_model_file(path)?, opts, progress),
    }
}

/// Opens a model reference that names an ONNX model on ONNX Runtime itself
/// (for the commands that look inside a model: `candor model`, `candor bench`).
pub fn open_onnx(
    model: &ModelRef,
    opts: &EngineOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<OrtEngine, EngineError> {
    let dir = match model {
        ModelRef::Default(format) => resolve_default(*format, progress)?,
        ModelRef::Dir(dir) => dir.clone(),
        ModelRef::Gguf(_) | ModelRef::Adapted { .. } => adapted::resolve(model, progress)?,
        ModelRef::File(path) => {
            return open_onnx(&adapted::load_model_file(path)?, opts, progress);
        }
        other => {
            return Err(EngineError::BadReference {
                reference: other.to_string(),
                message: "not an ONNX model (expected a model directory or `default[:weights]`)"
                    .into(),
            })
        }
    };
    OrtEngine::load(&dir, opts.clone(), progress)
}
