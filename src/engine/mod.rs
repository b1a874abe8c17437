//! The engine stage: runs a language model on requests. Everything above this
//! module talks to models only through [`Engine`]; the ONNX Runtime backend and
//! the fake backend used by tests above the engine live in their own modules.

pub mod fake;

use std::fmt;

/// One chat message; the engine renders a list of them with the model's chat template.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message { role: role.into(), content: content.into() }
    }
}

/// What the model is conditioned on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Rendered with the model's chat template, ending with the assistant turn opened.
    Chat(Vec<Message>),
    /// Used verbatim (no template): lm-evaluation-harness style prompts.
    Raw(String),
}

/// Score each continuation given the prompt.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LoglikRequest {
    pub prompt: Prompt,
    pub continuations: Vec<String>,
}

/// Summed log-probability (natural log) of a continuation's tokens, and how many there were.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContinuationScore {
    pub logprob: f64,
    pub n_tokens: usize,
    /// Length of the continuation in bytes, for per-byte normalisation.
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
    fn loglik(&mut self, requests: &[LoglikRequest]) -> Result<Vec<Vec<ContinuationScore>>, EngineError>;
    fn generate(&mut self, requests: &[GenerateRequest]) -> Result<Vec<Generation>, EngineError>;
}

/// Errors from loading or running a model. Each names what was wrong and where.
#[derive(Debug)]
pub enum EngineError {
    /// A model file is missing or unreadable.
    MissingFile { path: std::path::PathBuf, what: String },
    /// A model file exists but its content is not what candor expects.
    BadModel { path: std::path::PathBuf, message: String },
    /// ONNX Runtime could not be found or loaded.
    Runtime(String),
    /// A request the model cannot serve (e.g. longer than its context).
    Request(String),
    /// Anything ONNX Runtime reported while running.
    Ort(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::MissingFile { path, what } => write!(f, "{}: missing {what}", path.display()),
            EngineError::BadModel { path, message } => write!(f, "{}: {message}", path.display()),
            EngineError::Runtime(m) => write!(f, "ONNX Runtime: {m}"),
            EngineError::Request(m) => write!(f, "bad request: {m}"),
            EngineError::Ort(m) => write!(f, "ONNX Runtime error: {m}"),
        }
    }
}

impl std::error::Error for EngineError {}
