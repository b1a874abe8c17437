//! LoRA adapters as `peft` saves them (`adapter_config.json` and
//! `adapter_model.safetensors` in one directory), merged into a Llama model's
//! float32 weights at import: `W + s · B · A` for every adapted projection, with
//! `s = lora_alpha / r` (`lora_alpha / √r` when `use_rslora`).
//!
//! Only what that formula describes is accepted. Everything an adapter can say
//! that would make the merged weights differ from what `peft` computes (DoRA,
//! biases, full copies of modules, per-module ranks, modules candor's graph does
//! not have, transposed weights, shapes of another model) is an [`AdapterError`]
//! that names the file and the field or tensor.

use super::llama::{LayerWeights, Linear, LlamaConfig, LlamaWeights};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The projections of a Llama decoder layer an adapter may target, in peft's names.
pub const MODULES: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// The adapter's configuration file, as peft names it.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The adapter's weights, as peft names them.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

/// An adapter candor cannot merge, or cannot merge into this base.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The adapter directory, or one of its two files, does not exist.
    #[error("{}: missing {what}", path.display())]
    Missing { path: PathBuf, what: String },
    /// A file exists but cannot be read as JSON / safetensors.
    #[error("{}: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    /// A field of `adapter_config.json` asks for something candor does not merge.
    #[error("{}: `{field}`: {message}", path.display())]
    Unsupported {
        path: PathBuf,
        field: String,
        message: String,
    },
    /// A module (in `target_modules` or a tensor's name) that candor's graph has no place for.
    #[error("{}: `{field}`: {module:?} is not a projection candor's Llama graph can adapt (expected any of {})", path.display(), MODULES.join(", "))]
    UnknownModule {
        path: PathBuf,
        /// `target_modules`, or the tensor's name.
        field: String,
        module: String,
    },
    /// A tensor whose shape or type does not fit the adapter's rank or the base model.
    #[error("{}: tensor `{tensor}`: {message}", path.display())]
    Tensor {
        path: PathBuf,
        tensor: String,
        message: String,
    },
}

/// One adapted projection: `B` `[out][r]` and `A` `[r][in]`, row-major float32.
#[derive(Clone, Debug)]
struct Pair {
    a: Vec<f32>,
    a_shape: [usize; 2],
    b: Vec<f32>,
    b_shape: [usize; 2],
    a_name: String,
    b_name: String,
}

/// A loaded LoRA adapter.
#[derive(Clone, Debug)]
pub struct Adapter {
    pub dir: PathBuf,
    pub r: usize,
    pub lora_alpha: f64,
    pub use_rslora: bool,
    /// (layer, module) → its A and B.
    pairs: BTreeMap<(usize, &'static str), Pair>,
}

/// The two files of an adapter directory, checked to exist.
pub fn adapter_files(dir: &Path) -> Result<[PathBuf; 2], AdapterError> {
    if !dir.is_dir() {
        return Err(AdapterError::Missing {
            path: dir.to_path_buf(),
            what: format!(
                "adapter directory (expected a directory with {CONFIG_FILE} and {WEIGHTS_FILE}, as peft's save_pretrained writes)"
            ),
        });
    }
    let files = [dir.join(CONFIG_FILE), dir.join(WEIGHTS_FILE)];
    for f in &files {
        if !f.is_file() {
            let hint = if f.ends_with(WEIGHTS_FILE) && dir.join("adapter_model.bin").is_file() {
                " (adapter_model.bin, PyTorch's pickle format, is not read: save the adapter with safe_serialization=True)"
            } else {
                ""
            };
            return Err(AdapterError::Missing {
                path: f.clone(),
                what: format!("file{hint}"),
            });
        }
    }
    Ok(files)
}

impl Adapter {
    /// Reads and checks `dir/adapter_config.json` and `dir/adapter_model.safetensors`.
    pub fn load(dir: &Path) -> Result<Adapter, AdapterError> {
        let [config_path, weights_path] = adapter_files(dir)?;
        let text = std::fs::read_to_string(&config_path).map_err(|e| AdapterError::Unreadable {
            path: config_path.clone(),
            message: e.to_string(),
        })?;
        let config: Value = serde_json::from_str(&text).map_err(|e| AdapterError::Unreadable {
            path: config_path.clone(),
            message: format!("not JSON: {e}"),
        })?;
        let (r, lora_alpha, use_rslora) = check_config(&config_path, &config)?;
        let bytes = std::fs::read(&weights_path).map_err(|e| AdapterError::Unreadable {
            path: weights_path.clone(),
            message: e.to_string(),
        })?;
        let pairs = read_pairs(&weights_path, &bytes, r)?;
        Ok(Adapter {
            dir: dir.to_path_buf(),
            r,
            lora_alpha,
            use_rslora,
            pairs,
        })
    }

    /// The factor `B · A` is multiplied by: `lora_alpha / r`, or `lora_alpha / √r` (rsLoRA).
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.lora_alpha / (self.r as f64).sqrt()
        } else {
            self.lora_alpha / self.r as f64
        }
    }

    /// The adapted modules, in [`MODULES`] order, each with the number of layers it adapts.
    pub fn modules(&self) -> Vec<(&'static str, usize)> {
        MODULES
            .iter()
            .filter_map(|&m| {
                let n = self.pairs.keys().filter(|(_, k)| *k == m).count();
                (n > 0).then_some((m, n))
            })
            .collect()
    }

    /// One line for progress output: rank, alpha, scale and modules.
    pub fn describe(&self) -> String {
        let layers: std::collections::BTreeSet<usize> = self.pairs.keys().map(|k| k.0).collect();
        format!(
            "r {}, lora_alpha {}{}, scale {:.4}, {} in {} layer(s)",
            self.r,
            self.lora_alpha,
            if self.use_rslora { " (rsLoRA)" } else { "" },
            self.scale(),
            self.modules()
                .iter()
                .map(|(m, _)| *m)
                .collect::<Vec<_>>()
                .join(" "),
            layers.len()
        )
    }

    /// Checks every tensor against a base model's architecture: layer indices
    /// inside it, `A` taking the projection's inputs and `B` giving its outputs.
    pub fn check(&self, cfg: &LlamaConfig) -> Result<(), AdapterError> {
        let path = self.dir.join(WEIGHTS_FILE);
        for (&(layer, module), p) in &self.pairs {
            if layer >= cfg.num_hidden_layers {
                return Err(AdapterError::Tensor {
                    path,
                    tensor: p.a_name.clone(),
                    message: format!(
                        "layer {layer}, but the base model has {} layers (0 to {}): the adapter was trained for another model",
                        cfg.num_hidden_layers,
                        cfg.num_hidden_layers - 1
                    ),
                });
            }
            let (out, inp) = projection_shape(cfg, module);
            if p.a_shape[1] != inp {
                return Err(AdapterError::Tensor {
                    path,
                    tensor: p.a_name.clone(),
                    message: format!(
                        "shape {:?}: the base model's {module} takes {inp} inputs, so lora_A must be [{}, {inp}]: the adapter was trained for another model",
                        p.a_shape, self.r
                    ),
                });
            }
            if p.b_shape[0] != out {
                return Err(AdapterError::Tensor {
                    path,
                    tensor: p.b_name.clone(),
                    message: format!(
                        "shape {:?}: the base model's {module} has {out} outputs, so lora_B must be [{out}, {}]: the adapter was trained for another model",
                        p.b_shape, self.r
                    ),
                });
            }
        }
        Ok(())
    }

    /// Adds `scale · B · A` to every adapted projection of `w` (float32 weights
    /// only). Q and K are held in Hugging Face's row order (the GGUF importer
    /// undoes llama.cpp's rotary permutation when it reads them), the order
    /// peft's `B` rows are in, so every delta is added row for row. The products
    /// run on rayon's global pool (the one the tokenizer uses), a row block per task.
    pub fn merge(&self, cfg: &LlamaConfig, w: &mut LlamaWeights) -> Result<(), AdapterError> {
        self.check(cfg)?;
        let scale = self.scale() as f32;
        for (&(layer, module), p) in &self.pairs {
            let lw = &mut w.layers[layer];
            let lin = projection(lw, module);
            let Linear::Dense { out, inp, w } = lin else {
                return Err(AdapterError::Tensor {
                    path: self.dir.join(WEIGHTS_FILE),
                    tensor: p.a_name.clone(),
                    message: format!(
                        "the base model's layer {layer} {module} is stored quantized; an adapter is merged into float32 weights (import the base with weights f32)"
                    ),
                });
            };
            add_delta(w, *out, *inp, &p.b, &p.a, self.r, scale);
        }
        Ok(())
    }
}

/// `w[o][i] += scale · Σ_k b[o][k] · a[k][i]`.
fn add_delta(w: &mut [f32], out: usize, inp: usize, b: &[f32], a: &[f32], r: usize, scale: f32) {
    debug_assert_eq!(w.len(), out * inp);
    // Rows in blocks of 16: enough work per task to amortise scheduling.
    w.par_chunks_mut(inp * 16)
        .enumerate()
        .for_each(|(blk, rows)| {
            for (j, row) in rows.chunks_exact_mut(inp).enumerate() {
                let o = blk * 16 + j;
                for k in 0..r {
                    let c = scale * b[o * r + k];
                    for (x, &y) in row.iter_mut().zip(&a[k * inp..(k + 1) * inp]) {
                        *x += c * y;
                    }
                }
            }
        });
}

/// `(out, in)` of a projection in the base model.
fn projection_shape(cfg: &LlamaConfig, module: &str) -> (usize, usize) {
    let hd = cfg.head_dim();
    let (q, kv) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
    let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
    match module {
        "q_proj" => (q, h),
        "k_proj" | "v_proj" => (kv, h),
        "o_proj" => (h, q),
        "gate_proj" | "up_proj" => (f, h),
        _ => (h, f), // down_proj
    }
}

fn projection<'w>(lw: &'w mut LayerWeights, module: &str) -> &'w mut Linear {
    match module {
        "q_proj" => &mut lw.q,
        "k_proj" => &mut lw.k,
        "v_proj" => &mut lw.v,
        "o_proj" => &mut lw.o,
        "gate_proj" => &mut lw.gate,
        "up_proj" => &mut lw.up,
        _ => &mut lw.down,
    }
}

/// Checks `adapter_config.json`; returns `(r, lora_alpha, use_rslora)`.
fn check_config(path: &Path, c: &Value) -> Result<(usize, f64, bool), AdapterError> {
    let unsupported = |field: &str, message: String| AdapterError::Unsupported {
        path: path.to_path_buf(),
        field: field.into(),
        message,
    };
    let Some(obj) = c.as_object() else {
        return Err(AdapterError::Unreadable {
            path: path.to_path_buf(),
            message: "expected a JSON object".into(),
        });
    };
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    match get("peft_type").map(|v| v.as_str()) {
        Some(Some("LORA")) => {}
        None => {
            return Err(unsupported(
                "peft_type",
                "missing: expected \"LORA\" (a LoRA adapter saved by peft)".into(),
            ))
        }
        Some(other) => {
            return Err(unsupported(
                "peft_type",
                format!(
                    "{}: only LoRA adapters (\"LORA\") are supported",
                    other.map_or_else(
                        || get("peft_type").unwrap().to_string(),
                        |s| format!("{s:?}")
                    )
                ),
            ))
        }
    }
    let r = match get("r").and_then(Value::as_u64) {
        Some(r) if r > 0 => r as usize,
        _ => {
            return Err(unsupported(
                "r",
                format!(
                    "{}: expected the adapter's rank, a positive integer",
                    get("r").map_or("missing".into(), Value::to_string)
                ),
            ))
        }
    };
    let lora_alpha = match get("lora_alpha").and_then(Value::as_f64) {
        Some(a) if a.is_finite() => a,
        _ => {
            return Err(unsupported(
                "lora_alpha",
                format!(
                    "{}: expected a number",
                    get("lora_alpha").map_or("missing".into(), Value::to_string)
                ),
            ))
        }
    };
    let flag = |k: &str| -> Result<bool, AdapterError> {
        match get(k) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(unsupported(k, format!("{v}: expected true or false"))),
        }
    };
    let use_rslora = flag("use_rslora")?;
    if flag("use_dora")? {
        return Err(unsupported(
            "use_dora",
            "true: DoRA adapters (a learned magnitude per output) are not supported; candor merges plain LoRA, W + scale·B·A".into(),
        ));
    }
    if flag("fan_in_fan_out")? {
        return Err(unsupported(
            "fan_in_fan_out",
            "true: that layout is for GPT-2-style Conv1D layers, whose weights are stored transposed; a Llama model's projections are Linear layers (fan_in_fan_out: false)".into(),
        ));
    }
    match get("bias").map(|v| v.as_str()) {
        None | Some(Some("none")) => {}
        Some(b) => {
            return Err(unsupported(
                "bias",
                format!(
                    "{}: the adapter trains bias vectors, which candor's Llama graph does not have (expected \"none\")",
                    b.map_or_else(|| get("bias").unwrap().to_string(), |s| format!("{s:?}"))
                ),
            ))
        }
    }
    if flag("lora_bias")? {
        return Err(unsupported(
            "lora_bias",
            "true: a bias on lora_B is not supported (candor's Llama graph has no biases)".into(),
        ));
    }
    for (field, what) in [
        (
            "modules_to_save",
            "full copies of modules trained alongside the adapter",
        ),
        ("rank_pattern", "per-module ranks"),
        ("alpha_pattern", "per-module alphas"),
        ("layer_replication", "replicated layers"),
        ("trainable_token_indices", "trained token embeddings"),
        ("target_parameters", "adapted parameters (not modules)"),
        (
            "alora_invocation_tokens",
            "activated LoRA (applied from an invocation token on), which cannot be merged",
        ),
        ("use_qalora", "QA-LoRA"),
        ("use_bdlora", "block-diagonal LoRA"),
        ("arrow_config", "Arrow routing"),
    ] {
        let set = match get(field) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(_) => true,
        };
        if set {
            return Err(unsupported(
                field,
                format!(
                    "{}: {what} are not supported; candor merges plain LoRA into the seven projections",
                    get(field).unwrap()
                ),
            ));
        }
    }
    if let Some(init) = get("init_lora_weights") {
        let ok = match init {
            Value::Bool(_) => true,
            Value::String(s) => matches!(s.as_str(), "gaussian" | "eva" | "orthogonal"),
            _ => false,
        };
        if !ok {
            return Err(unsupported(
                "init_lora_weights",
                format!(
                    "{init}: this initialisation changes the base model's weights as well, so the adapter does not apply to the unchanged base; save it converted to plain LoRA (peft's path_initial_model_for_weight_conversion)"
                ),
            ));
        }
    }
    match get("target_modules") {
        // A regular expression, or "all-linear": checked on the tensors' names.
        None | Some(Value::String(_)) => {}
        Some(Value::Array(list)) => {
            for m in list {
                let name = m.as_str().unwrap_or_default();
                if !MODULES.contains(&name) {
                    return Err(AdapterError::UnknownModule {
                        path: path.to_path_buf(),
                        field: "target_modules".into(),
                        module: m.as_str().map_or_else(|| m.to_string(), str::to_string),
                    });
                }
            }
        }
        Some(v) => {
            return Err(unsupported(
                "target_modules",
                format!("{v}: expected a list of module names or a regular expression"),
            ))
        }
    }
    Ok((r, lora_alpha, use_rslora))
}

/// A tensor's name split into (layer, module, A or B), if it is a LoRA weight of a decoder layer.
fn parse_name(name: &str) -> Option<(usize, &str, char)> {
    // peft: base_model.model.model.layers.{L}.{self_attn|mlp}.{module}.lora_{A|B}.weight
    let rest = name.strip_suffix(".weight")?;
    let (rest, ab) = match rest.rsplit_once(".lora_")? {
        (r, "A") => (r, 'A'),
        (r, "B") => (r, 'B'),
        _ => return None,
    };
    let (rest, module) = rest.rsplit_once('.')?;
    let (rest, block) = rest.rsplit_once('.')?;
    let (rest, layer) = rest.rsplit_once('.')?;
    let layers = rest.strip_suffix("layers")?;
    if !(layers.is_empty() || layers.ends_with('.')) {
        return None;
    }
    let layer = layer.parse().ok()?;
    let ok_block = match module {
        "q_proj" | "k_proj" | "v_proj" | "o_proj" => block == "self_attn",
        "gate_proj" | "up_proj" | "down_proj" => block == "mlp",
        _ => true,
    };
    ok_block.then_some((layer, module, ab))
}

fn to_f32(
    path: &Path,
    name: &str,
    t: &safetensors::tensor::TensorView,
) -> Result<Vec<f32>, AdapterError> {
    use safetensors::Dtype;
    let d = t.data();
    let v = match t.dtype() {
        Dtype::F32 => d
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => d
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => d
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => {
            return Err(AdapterError::Tensor {
                path: path.to_path_buf(),
                tensor: name.into(),
                message: format!("dtype {other:?}: expected F32, F16 or BF16"),
            })
        }
    };
    Ok(v)
}

fn read_pairs(
    path: &Path,
    bytes: &[u8],
    r: usize,
) -> Result<BTreeMap<(usize, &'static str), Pair>, AdapterError> {
    let st =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| AdapterError::Unreadable {
            path: path.to_path_buf(),
            message: format!("not a safetensors file: {e}"),
        })?;
    let tensor_err = |name: &str, message: String| AdapterError::Tensor {
        path: path.to_path_buf(),
        tensor: name.into(),
        message,
    };
    // Per (layer, module): A and B as they are found, each (values, shape, name).
    type Half = (Vec<f32>, [usize; 2], String);
    type Halves = (Option<Half>, Option<Half>);
    let mut halves: BTreeMap<(usize, &'static str), Halves> = BTreeMap::new();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    for name in &names {
        if name.contains("lora_magnitude_vector") {
            return Err(tensor_err(
                name,
                "a DoRA magnitude vector: DoRA adapters are not supported (adapter_config.json `use_dora`)".into(),
            ));
        }
        if name.contains("lora_embedding_") {
            return Err(AdapterError::UnknownModule {
                path: path.to_path_buf(),
                field: name.clone(),
                module: "embed_tokens".into(),
            });
        }
        if name.ends_with(".bias") {
            return Err(tensor_err(
                name,
                "a bias: candor's Llama graph has no biases (adapter_config.json `bias`, `lora_bias`)".into(),
            ));
        }
        let Some((layer, module, ab)) = parse_name(name) else {
            // A LoRA weight somewhere else (lm_head, embeddings) names its module.
            if let Some((before, _)) = name.rsplit_once(".lora_") {
                let module = before.rsplit('.').next().unwrap_or(before);
                return Err(AdapterError::UnknownModule {
                    path: path.to_path_buf(),
                    field: name.clone(),
                    module: module.into(),
                });
            }
            return Err(tensor_err(
                name,
                "not a LoRA weight (expected names like base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight)".into(),
            ));
        };
        let Some(&module) = MODULES.iter().find(|&&m| m == module) else {
            return Err(AdapterError::UnknownModule {
                path: path.to_path_buf(),
                field: name.clone(),
                module: module.into(),
            });
        };
        let t = st
            .tensor(name)
            .map_err(|e| tensor_err(name, e.to_string()))?;
        let shape: [usize; 2] = t
            .shape()
            .try_into()
            .map_err(|_| tensor_err(name, format!("shape {:?}: expected a matrix", t.shape())))?;
        let rank = if ab == 'A' { shape[0] } else { shape[1] };
        if rank != r {
            return Err(tensor_err(
                name,
                format!(
                    "shape {shape:?}: its rank is {rank}, but adapter_config.json `r` is {r} (lora_A is [r, in], lora_B is [out, r])"
                ),
            ));
        }
        let v = to_f32(path, name, &t)?;
        let entry = halves.entry((layer, module)).or_default();
        let slot = if ab == 'A' {
            &mut entry.0
        } else {
            &mut entry.1
        };
        if slot.is_some() {
            return Err(tensor_err(name, "a second copy of this weight".into()));
        }
        *slot = Some((v, shape, name.clone()));
    }
    if halves.is_empty() {
        return Err(AdapterError::Unreadable {
            path: path.to_path_buf(),
            message: "no LoRA weights in the file".into(),
        });
    }
    let mut pairs = BTreeMap::new();
    for ((layer, module), (a, b)) in halves {
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            (Some((_, _, n)), None) => return Err(tensor_err(&n, "has no matching lora_B".into())),
            (None, Some((_, _, n))) => return Err(tensor_err(&n, "has no matching lora_A".into())),
            (None, None) => unreachable!("an entry is made for a tensor"),
        };
        pairs.insert(
            (layer, module),
            Pair {
                a: a.0,
                a_shape: a.1,
                a_name: a.2,
                b: b.0,
                b_shape: b.1,
                b_name: b.2,
            },
        );
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_peft_weights() {
        assert_eq!(
            parse_name("base_model.model.model.layers.12.self_attn.k_proj.lora_B.weight"),
            Some((12, "k_proj", 'B'))
        );
        assert_eq!(
            parse_name("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"),
            Some((0, "down_proj", 'A'))
        );
        assert_eq!(
            parse_name("base_model.model.model.layers.0.mlp.q_proj.lora_A.weight"),
            None
        );
        assert_eq!(parse_name("base_model.model.lm_head.lora_A.weight"), None);
        assert_eq!(
            parse_name("model.xlayers.0.mlp.up_proj.lora_A.weight"),
            None
        );
    }

    #[test]
    fn delta_is_scale_b_a() {
        // out 3, in 2, r 2.
        let mut w = vec![1.0f32; 6];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let a = [1.0, 2.0, 3.0, 4.0];
        add_delta(&mut w, 3, 2, &b, &a, 2, 0.5);
        assert_eq!(w, vec![1.5, 2.0, 2.5, 3.0, 3.0, 4.0]);
    }
}
