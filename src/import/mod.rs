//! Import: turns a Llama-architecture GGUF file into a model directory in the
//! layout optimum writes (model.onnx, config.json, tokenizer.json,
//! tokenizer_config.json, generation_config.json), and writes tiny random
//! models of the same architecture for tests.

pub mod gguf;
pub mod llama;
pub mod lora;
pub mod onnx;
pub mod quants;
pub mod tiny;
pub mod tokenizer;

use gguf::{GgmlType, Gguf, TensorInfo, Value};
use llama::{Accuracy, GraphOptions, LayerWeights, Linear, LlamaConfig, LlamaWeights};
use std::path::Path;

/// Bumped whenever the graph the importer writes changes, so cached imports are redone.
pub const GRAPH_VERSION: u32 = 6;

/// How weights are stored in the imported graph.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum WeightFormat {
    /// Everything dequantized to float32.
    F32,
    /// 4-bit blocks kept (MatMulNBits), exact float activations.
    Q4,
    /// 4-bit blocks, activations quantized to int8 (as llama.cpp's own kernels do): faster, approximate.
    Q4Fast,
}

/// An import that failed: the file, and what in it was not what candor expects.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file is not a GGUF file candor can read.
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),
    /// A tensor's data does not dequantize.
    #[error(transparent)]
    Tensor(#[from] quants::TensorError),
    /// The file reads, but the model in it is not one candor can build.
    #[error("{}: {message}", path.display())]
    Model {
        path: std::path::PathBuf,
        message: String,
    },
    /// A LoRA adapter that cannot be merged into this model.
    #[error(transparent)]
    Adapter(#[from] lora::AdapterError),
    /// The output could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Imports `gguf_path` into `out_dir`. `progress` receives one line per stage.
pub fn import_gguf(
    gguf_path: &Path,
    out_dir: &Path,
    format: WeightFormat,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ImportError> {
    import_gguf_adapted(gguf_path, out_dir, format, None, progress)
}

/// Imports `gguf_path` into `out_dir` with a LoRA adapter merged into its
/// weights ([`lora::Adapter::merge`]; float32 weights only).
pub fn import_gguf_adapted(
    gguf_path: &Path,
    out_dir: &Path,
    format: WeightFormat,
    adapter: Option<&lora::Adapter>,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ImportError> {
    let e = |message: String| ImportError::Model {
        path: gguf_path.to_path_buf(),
        message,
    };
    progress("reading GGUF");
    let g = Gguf::open(gguf_path)?;
    let arch = g
        .get("general.architecture")
        .and_then(Value::as_str)
        .unwrap_or("(none)")
        .to_string();
    if arch != "llama" {
        return Err(e(format!(
            "architecture {arch:?} is not supported: candor imports Llama-architecture models only"
        )));
    }
    let cfg = config(&g).map_err(e)?;
    if let Some(n) = g.get("llama.context_length").and_then(Value::as_u64) {
        if n > MAX_POSITIONS as u64 {
            progress(&format!(
                "context length {n} limited to {MAX_POSITIONS} positions (longer prompts are refused)"
            ));
        }
    }
    progress(&format!(
        "{} layers, hidden {}, {} heads / {} KV heads, vocab {}",
        cfg.num_hidden_layers,
        cfg.hidden_size,
        cfg.num_attention_heads,
        cfg.num_key_value_heads,
        cfg.vocab_size
    ));
    if let Some(a) = adapter {
        if format != WeightFormat::F32 {
            return Err(e(format!(
                "weights {}: an adapter is merged into float32 weights (import with weights f32)",
                format_name(format)
            )));
        }
        a.check(&cfg)?;
    }
    progress("building tokenizer");
    let tok = tokenizer::tokenizer_json(&g)?;
    progress(&format!("converting weights ({})", format_name(format)));
    let (mut weights, requantized) = weights(&g, &cfg, format)?;
    for line in requantized_lines(&requantized) {
        progress(&line);
    }
    if let Some(a) = adapter {
        progress(&format!(
            "merging adapter {} ({})",
            a.dir.display(),
            a.describe()
        ));
        let started = std::time::Instant::now();
        a.merge(&cfg, &mut weights)?;
        progress(&format!(
            "merged in {:.2} s",
            started.elapsed().as_secs_f64()
        ));
    }
    let io = |source: std::io::Error| ImportError::Io {
        path: out_dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out_dir).map_err(io)?;
    progress("writing ONNX graph");
    let accuracy = if format == WeightFormat::Q4Fast {
        Accuracy::Int8
    } else {
        Accuracy::Exact
    };
    llama::write_model(
        out_dir,
        &cfg,
        &weights,
        GraphOptions {
            kv_cache: true,
            accuracy,
        },
    )
    .map_err(io)?;
    let write_json = |name: &str, v: &serde_json::Value| {
        std::fs::write(out_dir.join(name), serde_json::to_string_pretty(v).unwrap()).map_err(io)
    };
    write_json("tokenizer.json", &tok)?;
    let special = |key: &str| tokenizer::token(&g, key);
    let template = g.get("tokenizer.chat_template").and_then(Value::as_str);
    write_json(
        "tokenizer_config.json",
        &serde_json::json!({
            "chat_template": template,
            "bos_token": special("tokenizer.ggml.bos_token_id"),
            "eos_token": special("tokenizer.ggml.eos_token_id"),
            "pad_token": special("tokenizer.ggml.padding_token_id"),
            "unk_token": special("tokenizer.ggml.unknown_token_id"),
            "add_bos_token": g.get("tokenizer.ggml.add_bos_token") == Some(&Value::Bool(true)),
            "model_max_length": cfg.max_position_embeddings,
        }),
    )?;
    let mut c = serde_json::to_value(&cfg).unwrap();
    let extra = serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "head_dim": cfg.head_dim(),
        "candor_import": {
            "source": gguf_path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "weights": format_name(format),
            "adapter": adapter.map(|a| serde_json::json!({
                "dir": a.dir.display().to_string(),
                "r": a.r,
                "lora_alpha": a.lora_alpha,
                "use_rslora": a.use_rslora,
                "scale": a.scale(),
                "modules": a.modules().iter().map(|(m, _)| *m).collect::<Vec<_>>(),
            })),
            "requantized": requantized.iter().map(|(k, s)| (k.to_string(), serde_json::json!({
                "to": format!("4-bit blocks of {REQUANT_BLOCK}, float32 scale and minimum"),
                "tensors": s.tensors,
                "weights": s.elements,
                "relative_rms_error": s.relative_rms(),
                "max_abs_error": s.max_abs_err,
            }))).collect::<serde_json::Map<_, _>>(),
        },
    });
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    write_json("config.json", &c)?;
    let pad = g
        .get("tokenizer.ggml.padding_token_id")
        .and_then(Value::as_u64);
    write_json(
        "generation_config.json",
        &serde_json::json!({"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "pad_token_id": pad}),
    )?;
    progress("done");
    Ok(())
}

pub fn format_name(f: WeightFormat) -> &'static str {
    match f {
        WeightFormat::F32 => "f32",
        WeightFormat::Q4 => "q4",
        WeightFormat::Q4Fast => "q4-fast",
    }
}

/// The most positions a graph gets rotary tables for (64 MB at head dimension
/// 64): far beyond candor's prompts, and a bound on the tables a file claiming
/// a context of 2^60 would make the builder allocate (found by tests/fuzz.rs).
const MAX_POSITIONS: usize = 1 << 17;

fn config(g: &Gguf) -> Result<LlamaConfig, String> {
    let u = |k: &str| {
        g.get(&format!("llama.{k}"))
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| format!("metadata llama.{k} is missing"))
    };
    let f = |k: &str, d: f64| {
        g.get(&format!("llama.{k}"))
            .and_then(Value::as_f64)
            .unwrap_or(d) as f32
    };
    let n_vocab = match g.get("tokenizer.ggml.tokens") {
        Some(Value::Array(a)) => a.len(),
        _ => u("vocab_size")?,
    };
    let hidden = u("embedding_length")?;
    let heads = u("attention.head_count")?;
    let cfg = LlamaConfig {
        vocab_size: n_vocab,
        hidden_size: hidden,
        intermediate_size: u("feed_forward_length")?,
        num_hidden_layers: u("block_count")?,
        num_attention_heads: heads,
        num_key_value_heads: u("attention.head_count_kv").unwrap_or(heads),
        rope_theta: f("rope.freq_base", 10000.0),
        rms_norm_eps: f("attention.layer_norm_rms_epsilon", 1e-5),
        max_position_embeddings: u("context_length").unwrap_or(2048).min(MAX_POSITIONS),
        tie_word_embeddings: !g.tensors.contains_key("output.weight"),
        bos_token_id: g
            .get("tokenizer.ggml.bos_token_id")
            .and_then(Value::as_u64)
            .unwrap_or(1) as u32,
        eos_token_id: g
            .get("tokenizer.ggml.eos_token_id")
            .and_then(Value::as_u64)
            .unwrap_or(2) as u32,
    };
    for (what, v) in [
        ("llama.embedding_length", cfg.hidden_size),
        ("llama.feed_forward_length", cfg.intermediate_size),
        ("llama.block_count", cfg.num_hidden_layers),
        ("llama.attention.head_count", cfg.num_attention_heads),
        ("llama.attention.head_count_kv", cfg.num_key_value_heads),
        ("the vocabulary size", cfg.vocab_size),
    ] {
        if v == 0 {
            return Err(format!("{what} is 0: expected a positive number"));
        }
    }
    for (what, id) in [("bos", cfg.bos_token_id), ("eos", cfg.eos_token_id)] {
        if id as usize >= cfg.vocab_size {
            return Err(format!(
                "tokenizer.ggml.{what}_token_id {id} is outside the vocabulary of {}",
                cfg.vocab_size
            ));
        }
    }
    if !cfg.rms_norm_eps.is_finite() || !cfg.rope_theta.is_finite() || cfg.rope_theta <= 0.0 {
        return Err(format!(
            "llama.rope.freq_base {} / llama.attention.layer_norm_rms_epsilon {}: expected finite positive numbers",
            cfg.rope_theta, cfg.rms_norm_eps
        ));
    }
    if hidden % heads != 0
        || heads % cfg.num_key_value_heads != 0
        || !cfg.head_dim().is_multiple_of(2)
    {
        return Err(format!(
            "inconsistent heads: hidden {hidden}, heads {heads}, kv heads {}",
            cfg.num_key_value_heads
        ));
    }
    if let Some(rd) = g.get("llama.rope.dimension_count").and_then(Value::as_u64) {
        if rd as usize != cfg.head_dim() {
            return Err(format!(
                "partial rotary embeddings (rope dimension {rd} of head dim {}) are not supported",
                cfg.head_dim()
            ));
        }
    }
    Ok(cfg)
}

/// Undo llama.cpp's interleaving of Q/K rows: GGUF row h·hd + 2i + j holds HF row h·hd + j·hd/2 + i.
fn unpermute_rows(n_head: usize, rows: usize) -> Vec<usize> {
    let hd = rows / n_head;
    let mut src = vec![0; rows];
    for h in 0..n_head {
        for i in 0..hd / 2 {
            for j in 0..2 {
                src[h * hd + j * (hd / 2) + i] = h * hd + 2 * i + j;
            }
        }
    }
    src
}

fn reorder<T: Copy>(v: &[T], src_rows: &[usize]) -> Vec<T> {
    let row = v.len() / src_rows.len();
    src_rows
        .iter()
        .flat_map(|&s| v[s * row..(s + 1) * row].iter().copied())
        .collect()
}

/// Block size of the 4-bit blocks that 5-, 6-bit tensors are requantized to under `q4`.
pub const REQUANT_BLOCK: usize = 32;

/// What `--weights q4` did to tensors whose blocks are not 4-bit: per source type,
/// the requantization error over every such weight.
pub type Requantized = std::collections::BTreeMap<GgmlType, quants::ErrorStats>;

/// How a tensor of `kind` is stored under `format`.
enum Storage {
    Dense,
    /// 4-bit blocks as they are in the file (exact).
    KeepQ4,
    /// Dequantized, then quantized again to 4-bit blocks.
    Requantize,
}

fn storage(kind: GgmlType, format: WeightFormat) -> Storage {
    match (format, kind) {
        (WeightFormat::F32, _) => Storage::Dense,
        (_, k) if k.is_exact_q4() => Storage::KeepQ4,
        (_, GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q5_K | GgmlType::Q6_K) => {
            Storage::Requantize
        }
        // 8-bit and float matrices stay float32, as before.
        _ => Storage::Dense,
    }
}

fn q4_linear(out: usize, inp: usize, b: quants::Q4Blocks, perm: Option<&[usize]>) -> Linear {
    let (packed, scales, offset) = match perm {
        None => (b.packed, b.scales, b.offsets),
        Some(p) => (
            reorder(&b.packed, p),
            reorder(&b.scales, p),
            b.offsets.map(|o| reorder(&o, p)),
        ),
    };
    Linear::Q4 {
        out,
        inp,
        block: b.block,
        packed,
        scales,
        offset,
    }
}

fn linear(
    g: &Gguf,
    t: &TensorInfo,
    format: WeightFormat,
    perm_heads: Option<usize>,
    requantized: &mut Requantized,
) -> Result<Linear, ImportError> {
    let (out, inp) = t.rows_cols();
    let perm = perm_heads.map(|h| unpermute_rows(h, out));
    let storage = storage(t.kind, format);
    if let Storage::KeepQ4 = storage {
        // The tensor's bytes were checked to be whole blocks when the file was read.
        if let Some(b) = quants::repack_q4(t.kind, g.raw(t)) {
            return Ok(q4_linear(out, inp, b, perm.as_deref()));
        }
    }
    let w = g.dequantize(t)?;
    if let Storage::Requantize = storage {
        let b = quants::requantize_q4(&w, REQUANT_BLOCK);
        requantized.entry(t.kind).or_default().add(&w, &b.values());
        return Ok(q4_linear(out, inp, b, perm.as_deref()));
    }
    let w = match &perm {
        None => w,
        Some(p) => reorder(&w, p),
    };
    Ok(Linear::Dense { out, inp, w })
}

fn q8_linear(g: &Gguf, t: &TensorInfo) -> Linear {
    let (out, inp) = t.rows_cols();
    let raw = g.raw(t);
    let mut q = Vec::with_capacity(out * inp);
    let mut scales = Vec::with_capacity(out * inp / 32);
    for b in raw.chunks_exact(34) {
        scales.push(half::f16::from_le_bytes([b[0], b[1]]).to_f32());
        q.extend(b[2..].iter().map(|&v| (v as i8 as i16 + 128) as u8));
    }
    Linear::Q8 {
        out,
        inp,
        q,
        scales,
    }
}

/// A tensor of the expected shape: `[cols]` for a vector (`rows` = 1 and one
/// dimension), `[cols, rows]` in GGUF order for a matrix.
fn shaped<'g>(g: &'g Gguf, name: &str, rows: usize, cols: usize) -> Result<&'g TensorInfo, String> {
    let t = g.tensor(name).map_err(|e| e.message)?;
    let want: Vec<u64> = if rows == 1 {
        vec![cols as u64]
    } else {
        vec![cols as u64, rows as u64]
    };
    if t.dims != want {
        return Err(format!(
            "tensor {name} has dimensions {:?}, expected {want:?}",
            t.dims
        ));
    }
    Ok(t)
}

fn weights(
    g: &Gguf,
    cfg: &LlamaConfig,
    format: WeightFormat,
) -> Result<(LlamaWeights, Requantized), ImportError> {
    let e = |message: String| ImportError::Model {
        path: g.path.clone(),
        message,
    };
    let (hidden, inter, hd) = (cfg.hidden_size, cfg.intermediate_size, cfg.head_dim());
    let (q_rows, kv_rows) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
    let vec = |n: &str| -> Result<Vec<f32>, ImportError> {
        Ok(g.dequantize(shaped(g, n, 1, hidden).map_err(e)?)?)
    };
    let embed_t = shaped(g, "token_embd.weight", cfg.vocab_size, hidden).map_err(e)?;
    let mut rq = Requantized::new();
    let mut layers = vec![];
    for l in 0..cfg.num_hidden_layers {
        let n = |s: &str| format!("blk.{l}.{s}.weight");
        let m = |s: &str, rows, cols| shaped(g, &n(s), rows, cols).map_err(e);
        let heads = (cfg.num_attention_heads, cfg.num_key_value_heads);
        layers.push(LayerWeights {
            attn_norm: vec(&n("attn_norm"))?,
            q: linear(
                g,
                m("attn_q", q_rows, hidden)?,
                format,
                Some(heads.0),
                &mut rq,
            )?,
            k: linear(
                g,
                m("attn_k", kv_rows, hidden)?,
                format,
                Some(heads.1),
                &mut rq,
            )?,
            v: linear(g, m("attn_v", kv_rows, hidden)?, format, None, &mut rq)?,
            o: linear(g, m("attn_output", hidden, q_rows)?, format, None, &mut rq)?,
            ffn_norm: vec(&n("ffn_norm"))?,
            gate: linear(g, m("ffn_gate", inter, hidden)?, format, None, &mut rq)?,
            up: linear(g, m("ffn_up", inter, hidden)?, format, None, &mut rq)?,
            down: linear(g, m("ffn_down", hidden, inter)?, format, None, &mut rq)?,
        });
    }
    let lm_head = match g.tensors.get("output.weight") {
        Some(_) => Some(linear(
            g,
            shaped(g, "output.weight", cfg.vocab_size, hidden).map_err(e)?,
            format,
            None,
            &mut rq,
        )?),
        // Tied: q4-fast reads the 8-bit embedding blocks for the output projection (a quarter
        // of the float32 bytes per generated token); the other formats multiply by the floats.
        None if format == WeightFormat::Q4Fast && embed_t.kind == GgmlType::Q8_0 => {
            Some(q8_linear(g, embed_t))
        }
        None => None,
    };
    let w = LlamaWeights {
        embed: g.dequantize(embed_t)?,
        layers,
        final_norm: vec("output_norm.weight")?,
        lm_head,
    };
    Ok((w, rq))
}

/// One line per source type that `--weights q4` requantized: what to, and the error added.
pub fn requantized_lines(rq: &Requantized) -> Vec<String> {
    rq.iter()
        .map(|(kind, s)| {
            format!(
                "requantized {} {kind} tensor{} ({} weights) to 4-bit blocks of {REQUANT_BLOCK} with a float32 scale and minimum: \
                 RMS error {:.2}% of the weights' RMS ({:.3e}), largest {:.3e}",
                s.tensors,
                if s.tensors == 1 { "" } else { "s" },
                s.elements,
                100.0 * s.relative_rms(),
                s.rms_err(),
                s.max_abs_err,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unpermute_inverts_llama_cpp_permutation() {
        // llama.cpp: reshape(n_head, 2, hd/2) → swap → (n_head, hd/2, 2).
        let (n_head, hd) = (3, 8);
        let hf: Vec<usize> = (0..n_head * hd).collect();
        let mut gguf = vec![0; hf.len()];
        for h in 0..n_head {
            for j in 0..2 {
                for i in 0..hd / 2 {
                    gguf[h * hd + i * 2 + j] = hf[h * hd + j * hd / 2 + i];
                }
            }
        }
        let src = super::unpermute_rows(n_head, n_head * hd);
        assert_eq!(super::reorder(&gguf, &src), hf);
    }
}
