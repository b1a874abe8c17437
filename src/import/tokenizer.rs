//! `tokenizer.json` (Hugging Face tokenizers format) from a GGUF vocabulary.

use super::gguf::{Gguf, Value};
use super::ImportError;
use serde_json::{json, Map, Value as Json};

/// GGUF token types (llama.cpp `llama_token_type`).
const CONTROL: u64 = 3;
const USER_DEFINED: u64 = 4;

fn strings(g: &Gguf, key: &str) -> Result<Vec<String>, String> {
    match g.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key}: expected strings"))
            })
            .collect(),
        _ => Err(format!("metadata {key} is missing")),
    }
}

/// Builds the tokenizer JSON for a GPT-2 style (byte-level BPE) GGUF vocabulary.
pub fn tokenizer_json(g: &Gguf) -> Result<Json, ImportError> {
    build(g).map_err(|message| ImportError::Model {
        path: g.path.clone(),
        message,
    })
}

fn build(g: &Gguf) -> Result<Json, String> {
    let model = g
        .get("tokenizer.ggml.model")
        .and_then(Value::as_str)
        .unwrap_or("");
    if model != "gpt2" {
        return Err(format!("tokenizer.ggml.model = {model:?}: only byte-level BPE (\"gpt2\") vocabularies are supported"));
    }
    let tokens = strings(g, "tokenizer.ggml.tokens")?;
    let merges = strings(g, "tokenizer.ggml.merges")?;
    let types: Vec<u64> = match g.get("tokenizer.ggml.token_type") {
        Some(Value::Array(a)) => a.iter().map(|v| v.as_u64().unwrap_or(1)).collect(),
        _ => vec![1; tokens.len()],
    };
    let pre = g
        .get("tokenizer.ggml.pre")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    let pre_tokenizer = match pre {
        // SmolLM's tokenizer splits every digit on its own before the byte-level split.
        "smollm" => {
            json!({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level]})
        }
        "gpt2" | "default" => byte_level,
        other => {
            return Err(format!(
                "tokenizer.ggml.pre = {other:?} is not supported (smollm, gpt2 are)"
            ))
        }
    };
    let mut vocab = Map::new();
    let mut added = vec![];
    for (id, tok) in tokens.iter().enumerate() {
        vocab.insert(tok.clone(), json!(id));
        let ty = types.get(id).copied().unwrap_or(1);
        if ty == CONTROL || ty == USER_DEFINED {
            added.push(json!({
                "id": id, "content": tok, "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": ty == USER_DEFINED, "special": ty == CONTROL,
            }));
        }
    }
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges,
        },
    }))
}

/// The token string for an id in the GGUF vocabulary.
pub fn token(g: &Gguf, key: &str) -> Option<String> {
    let id = g.get(key)?.as_u64()? as usize;
    match g.get("tokenizer.ggml.tokens")? {
        Value::Array(a) => a.get(id)?.as_str().map(str::to_string),
        _ => None,
    }
}
