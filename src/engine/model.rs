//! A model directory in optimum's layout: config, tokenizer, chat template.
//! Everything here is independent of ONNX Runtime.

use super::{EngineError, Message, Prompt};
use crate::spec::jinja;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the engine needs to know about a model, read from its directory.
pub struct ModelDir {
    pub dir: PathBuf,
    pub num_layers: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
    pub tokenizer: tokenizers::Tokenizer,
    /// Token ids that end generation.
    pub eos_ids: BTreeSet<u32>,
    pub pad_id: u32,
    chat: Option<ChatTemplate>,
}

fn read_json(
    dir: &Path,
    name: &str,
    what: &str,
    required: bool,
) -> Result<Option<Value>, EngineError> {
    let path = dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EngineError::MissingFile {
                path,
                what: what.into(),
            })
        }
        Err(e) => {
            return Err(EngineError::BadModel {
                path,
                message: e.to_string(),
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| EngineError::BadModel {
            path,
            message: format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        })
}

/// A special token given as a string or as `{"content": ...}`.
fn token_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

fn ids(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_u64())
            .map(|x| x as u32)
            .collect(),
        _ => vec![],
    }
}

impl ModelDir {
    pub fn open(dir: &Path) -> Result<ModelDir, EngineError> {
        if !dir.is_dir() {
            return Err(EngineError::MissingFile {
                path: dir.to_path_buf(),
                what: "model directory".into(),
            });
        }
        let onnx = dir.join("model.onnx");
        if !onnx.is_file() {
            return Err(EngineError::MissingFile {
                path: onnx,
                what: "ONNX graph (model.onnx)".into(),
            });
        }
        let cfg = read_json(
            dir,
            "config.json",
            "model configuration (config.json)",
            true,
        )?
        .unwrap();
        let tcfg = read_json(
            dir,
            "tokenizer_config.json",
            "tokenizer configuration (tokenizer_config.json)",
            true,
        )?
        .unwrap();
        let gen = read_json(dir, "generation_config.json", "", false)?;
        let tok_path = dir.join("tokenizer.json");
        if !tok_path.is_file() {
            return Err(EngineError::MissingFile {
                path: tok_path,
                what: "tokenizer (tokenizer.json)".into(),
            });
        }
        let tokenizer =
            tokenizers::Tokenizer::from_file(&tok_path).map_err(|e| EngineError::BadModel {
                path: tok_path.clone(),
                message: format!("cannot load tokenizer: {e}"),
            })?;
        let cfg_path = dir.join("config.json");
        let num = |k: &str| cfg.get(k).and_then(Value::as_u64).map(|v| v as usize);
        let need = |k: &str| {
            num(k).ok_or_else(|| EngineError::BadModel {
                path: cfg_path.clone(),
                message: format!("missing integer field {k:?}"),
            })
        };
        let heads = need("num_attention_heads")?;
        let hidden = need("hidden_size")?;
        let head_dim = num("head_dim").unwrap_or(hidden / heads.max(1));
        let vocab_size = need("vocab_size")?;

        let mut eos_ids: BTreeSet<u32> = ids(cfg.get("eos_token_id")).into_iter().collect();
        if let Some(g) = &gen {
            eos_ids.extend(ids(g.get("eos_token_id")));
        }
        let eos_token = token_text(tcfg.get("eos_token")).unwrap_or_default();
        if let Some(id) = tokenizer.token_to_id(&eos_token) {
            eos_ids.insert(id);
        }
        let pad_id = gen
            .as_ref()
            .and_then(|g| g.get("pad_token_id"))
            .and_then(Value::as_u64)
            .map(|v| v as u32)
            .or_else(|| token_text(tcfg.get("pad_token")).and_then(|t| tokenizer.token_to_id(&t)))
            .or_else(|| eos_ids.iter().next().copied())
            .unwrap_or(0);
        let template = match tcfg.get("chat_template") {
            Some(Value::String(s)) => Some(s.clone()),
            // Newer configs hold a list of named templates.
            Some(Value::Array(a)) => a
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_string)),
            _ => None,
        };
        let chat = match template {
            Some(t) => Some(
                ChatTemplate::compile(
                    t,
                    token_text(tcfg.get("bos_token")).unwrap_or_default(),
                    eos_token,
                )
                .map_err(|e| EngineError::BadModel {
                    path: dir.join("tokenizer_config.json"),
                    message: format!("chat_template does not compile: {e}"),
                })?,
            ),
            None => None,
        };
        Ok(ModelDir {
            dir: dir.to_path_buf(),
            num_layers: need("num_hidden_layers")?,
            num_kv_heads: num("num_key_value_heads").unwrap_or(heads),
            head_dim,
            vocab_size,
            max_positions: num("max_position_embeddings").unwrap_or(usize::MAX),
            tokenizer,
            eos_ids,
            pad_id,
            chat,
        })
    }

    /// The prompt as text: the chat template applied (with the assistant turn opened), or raw text as is.
    pub fn render(&self, prompt: &Prompt) -> Result<String, EngineError> {
        match prompt {
            Prompt::Raw(s) => Ok(s.clone()),
            Prompt::Chat(messages) => self.render_chat(messages),
        }
    }

    pub fn render_chat(&self, messages: &[Message]) -> Result<String, EngineError> {
        let env = self.chat.as_ref().ok_or_else(|| EngineError::BadModel {
            path: self.dir.join("tokenizer_config.json"),
            message: "no chat_template: use a raw prompt, or add a chat template".into(),
        })?;
        env.render(messages).map_err(|e| {
            EngineError::Request(format!("chat template of {}: {e}", self.dir.display()))
        })
    }

    /// Token ids of `text`; special tokens written in the text are recognised.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, EngineError> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| EngineError::Request(format!("tokenizer: {e}")))
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids, true).unwrap_or_default()
    }

    /// Prompt and continuation tokens the way lm-evaluation-harness splits them: the
    /// prompt's trailing whitespace moves to the continuation, the pair is encoded as
    /// one string, and the continuation is what follows the prompt's own tokens.
    pub fn encode_pair(
        &self,
        context: &str,
        continuation: &str,
    ) -> Result<(Vec<u32>, Vec<u32>), EngineError> {
        let trimmed = context.trim_end();
        let (ctx, cont) = if trimmed.len() < context.len() {
            (
                trimmed,
                format!("{}{continuation}", &context[trimmed.len()..]),
            )
        } else {
            (context, continuation.to_string())
        };
        let whole = self.encode(&format!("{ctx}{cont}"))?;
        let ctx_ids = self.encode(ctx)?;
        let cont_ids = whole.get(ctx_ids.len()..).unwrap_or(&[]).to_vec();
        Ok((ctx_ids, cont_ids))
    }
}

/// A compiled chat template (Jinja, as transformers' tokenizers carry them)
/// and the special tokens it may name.
pub struct ChatTemplate {
    env: minijinja::Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    pub fn compile(
        template: String,
        bos_token: String,
        eos_token: String,
    ) -> Result<ChatTemplate, minijinja::Error> {
        let mut env = jinja::environment();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    msg,
                ))
            },
        );
        jinja::guarded(|| env.add_template_owned("chat", template))?;
        Ok(ChatTemplate {
            env,
            bos_token,
            eos_token,
        })
    }

    /// The conversation as text with the assistant turn opened. A trailing
    /// assistant message is the start of the reply (a prefill): the template
    /// opens the assistant turn and the text follows, turn left open.
    pub fn render(&self, messages: &[Message]) -> Result<String, minijinja::Error> {
        let (messages, prefill) = match messages.split_last() {
            Some((last, rest)) if last.role == "assistant" => (rest, last.content.as_str()),
            _ => (messages, ""),
        };
        let mut text = jinja::guarded(|| {
            self.env.get_template("chat")?.render(minijinja::context! {
                messages => minijinja::value::Value::from(minijinja::value::Serde(messages)),
                add_generation_prompt => true,
                bos_token => self.bos_token.clone(),
                eos_token => self.eos_token.clone(),
            })
        })?;
        text.push_str(prefill);
        Ok(text)
    }
}
