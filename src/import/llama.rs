//! The Llama-architecture decoder as an ONNX graph (opset 17), with the input
//! and output names optimum uses, so candor's engine loads its own imports and
//! optimum exports alike.

use super::onnx::{Attr, DType, Dim, Graph, Tensor};
use std::path::Path;

/// Architecture hyper-parameters, as in a Hugging Face `config.json`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LlamaConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub rope_theta: f32,
    pub rms_norm_eps: f32,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
    pub bos_token_id: u32,
    pub eos_token_id: u32,
}

impl LlamaConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// A linear layer's weight, `out × in` (PyTorch layout).
#[derive(Clone)]
pub enum Linear {
    /// Dense float weights, row-major `[out][in]`.
    Dense { out: usize, inp: usize, w: Vec<f32> },
    /// 4-bit blocks of `block` (32, or 16) along `in`, kept quantized: value = scale·(q − 8) + offset.
    /// `packed` is MatMulNBits' layout `[out][in/block][block/2]` (element 2j in the low nibble of byte j);
    /// `offset` (e.g. Q4_1's per-block minimum plus 8·scale) is `None` for symmetric blocks (Q4_0).
    Q4 {
        out: usize,
        inp: usize,
        block: usize,
        packed: Vec<u8>,
        scales: Vec<f32>,
        offset: Option<Vec<f32>>,
    },
    /// 8-bit blocks of 32 along `in` (Q8_0): value = scale·(q − 128), `q` stored as `u8`, `[out][in/32][32]`.
    Q8 {
        out: usize,
        inp: usize,
        q: Vec<u8>,
        scales: Vec<f32>,
    },
}

impl Linear {
    pub fn out(&self) -> usize {
        match self {
            Linear::Dense { out, .. } | Linear::Q4 { out, .. } | Linear::Q8 { out, .. } => *out,
        }
    }

    /// Multiplies every output row by `s` (used to fold the attention scale into W_q).
    pub fn scale_rows(&mut self, s: f32) {
        match self {
            Linear::Dense { w, .. } => w.iter_mut().for_each(|x| *x *= s),
            Linear::Q8 { scales, .. } => scales.iter_mut().for_each(|x| *x *= s),
            Linear::Q4 { scales, offset, .. } => {
                scales.iter_mut().for_each(|x| *x *= s);
                if let Some(o) = offset {
                    o.iter_mut().for_each(|x| *x *= s);
                }
            }
        }
    }
}

pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub ffn_norm: Vec<f32>,
    pub gate: Linear,
    pub up: Linear,
    pub down: Linear,
}

pub struct LlamaWeights {
    /// `[vocab][hidden]`.
    pub embed: Vec<f32>,
    pub layers: Vec<LayerWeights>,
    pub final_norm: Vec<f32>,
    /// `None` when tied to the embeddings.
    pub lm_head: Option<Linear>,
}

/// How MatMulNBits computes: exact float activations, or int8 activations (faster).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accuracy {
    Exact,
    Int8,
}

/// Graph options that are not part of the architecture.
#[derive(Clone, Copy, Debug)]
pub struct GraphOptions {
    /// Emit `past_key_values.*` inputs and `present.*` outputs.
    pub kv_cache: bool,
    pub accuracy: Accuracy,
}

/// The name of the input that restricts logits to the last K positions (0 = all).
pub const LOGITS_TO_KEEP: &str = "logits_to_keep";

struct Builder<'a> {
    g: Graph,
    cfg: &'a LlamaConfig,
    opts: GraphOptions,
    n_init: usize,
}

impl Builder<'_> {
    fn weight(&mut self, name: &str, t: Tensor) -> String {
        self.n_init += 1;
        self.g.init(name, t)
    }

    fn rms_norm(&mut self, x: &str, w: &[f32], name: &str) -> String {
        // The pattern ONNX Runtime fuses into SimplifiedLayerNormalization.
        let h = self.cfg.hidden_size as i64;
        let w = self.weight(name, Tensor::f32(&[h], w));
        let two = self.g.scalar_f32(2.0);
        let eps = self.g.scalar_f32(self.cfg.rms_norm_eps);
        let sq = self.g.op("Pow", &[x, &two], &[]);
        let mean = self.g.op(
            "ReduceMean",
            &[&sq],
            &[("axes", Attr::Ints(vec![-1])), ("keepdims", Attr::Int(1))],
        );
        let var = self.g.op("Add", &[&mean, &eps], &[]);
        let rms = self.g.op("Sqrt", &[&var], &[]);
        let n = self.g.op("Div", &[x, &rms], &[]);
        self.g.op("Mul", &[&w, &n], &[])
    }

    fn linear(&mut self, x: &str, l: &Linear, name: &str) -> String {
        match l {
            Linear::Dense { out, inp, w } => {
                let mut t = vec![0f32; w.len()];
                for o in 0..*out {
                    for i in 0..*inp {
                        t[i * out + o] = w[o * inp + i];
                    }
                }
                let w = self.weight(name, Tensor::f32(&[*inp as i64, *out as i64], &t));
                self.g.op("MatMul", &[x, &w], &[])
            }
            Linear::Q8 {
                out,
                inp,
                q,
                scales,
            } => {
                let blocks = (*inp / 32) as i64;
                let b = self.weight(name, Tensor::u8(&[*out as i64, blocks, 32], q.clone()));
                let s = self.weight(
                    &format!("{name}.scales"),
                    Tensor::f32(&[*out as i64 * blocks], scales),
                );
                self.g.op_in(
                    "com.microsoft",
                    "MatMulNBits",
                    &[x, &b, &s],
                    &[
                        ("K", Attr::Int(*inp as i64)),
                        ("N", Attr::Int(*out as i64)),
                        ("bits", Attr::Int(8)),
                        ("block_size", Attr::Int(32)),
                        ("accuracy_level", Attr::Int(4)),
                    ],
                )
            }
            Linear::Q4 {
                out,
                inp,
                block,
                packed,
                scales,
                offset,
            } => {
                let blocks = (*inp / *block) as i64;
                let b = self.weight(
                    name,
                    Tensor::u8(&[*out as i64, blocks, *block as i64 / 2], packed.clone()),
                );
                let s = self.weight(
                    &format!("{name}.scales"),
                    Tensor::f32(&[*out as i64 * blocks], scales),
                );
                let level = match self.opts.accuracy {
                    Accuracy::Exact => 0,
                    Accuracy::Int8 => 4,
                };
                let y = self.g.op_in(
                    "com.microsoft",
                    "MatMulNBits",
                    &[x, &b, &s],
                    &[
                        ("K", Attr::Int(*inp as i64)),
                        ("N", Attr::Int(*out as i64)),
                        ("bits", Attr::Int(4)),
                        ("block_size", Attr::Int(*block as i64)),
                        ("accuracy_level", Attr::Int(level)),
                    ],
                );
                match offset {
                    None => y,
                    Some(off) => {
                        // Q4_1: Σ_k x_k·(d(q−8) + m + 8d) = MatMulNBits + Σ_blocks (Σ_{k∈block} x_k)(m + 8d).
                        let mut t = vec![0f32; off.len()];
                        let nb = blocks as usize;
                        for o in 0..*out {
                            for bi in 0..nb {
                                t[bi * out + o] = off[o * nb + bi];
                            }
                        }
                        let c = self.weight(
                            &format!("{name}.offsets"),
                            Tensor::f32(&[blocks, *out as i64], &t),
                        );
                        let shape = self.g.ints(&[0, 0, blocks, *block as i64]);
                        let xb = self.g.op("Reshape", &[x, &shape], &[]);
                        // ReduceSum takes its axes as an input since opset 13.
                        let axes = self.g.ints(&[-1]);
                        let xs =
                            self.g
                                .op("ReduceSum", &[&xb, &axes], &[("keepdims", Attr::Int(0))]);
                        let corr = self.g.op("MatMul", &[&xs, &c], &[]);
                        self.g.op("Add", &[&y, &corr], &[])
                    }
                }
            }
        }
    }

    /// Several linear layers on the same input as one matrix product and a Split
    /// (fewer, larger kernels), when their storage allows; else one product each.
    fn fused(&mut self, x: &str, parts: &[&Linear], name: &str) -> Vec<String> {
        let Some(joined) = concat_rows(parts) else {
            return parts
                .iter()
                .enumerate()
                .map(|(i, l)| self.linear(x, l, &format!("{name}.{i}")))
                .collect();
        };
        let y = self.linear(x, &joined, name);
        let sizes: Vec<i64> = parts.iter().map(|l| l.out() as i64).collect();
        let split = self.g.ints(&sizes);
        self.g.op_multi(
            "Split",
            &[&y, &split],
            &[("axis", Attr::Int(-1))],
            parts.len(),
        )
    }

    /// `[B,S,heads*hd]` → `[B,heads,S,hd]`.
    fn heads(&mut self, x: &str, heads: usize) -> String {
        let shape = self
            .g
            .ints(&[0, 0, heads as i64, self.cfg.head_dim() as i64]);
        let r = self.g.op("Reshape", &[x, &shape], &[]);
        self.g.op(
            "Transpose",
            &[&r],
            &[("perm", Attr::Ints(vec![0, 2, 1, 3]))],
        )
    }

    /// Rotary embedding of `x` [B,H,S,hd] (halves rotated, not interleaved).
    fn rope(&mut self, x: &str, pos: &str, cos: &str, sin: &str) -> String {
        self.g.op_in(
            "com.microsoft",
            "RotaryEmbedding",
            &[x, pos, cos, sin],
            &[("interleaved", Attr::Int(0))],
        )
    }
}

/// Writes `model.onnx` (+ `model.onnx_data`) for the given weights.
pub fn write_model(
    dir: &Path,
    cfg: &LlamaConfig,
    w: &LlamaWeights,
    opts: GraphOptions,
) -> std::io::Result<()> {
    let hd = cfg.head_dim() as i64;
    let (nh, nkv) = (
        cfg.num_attention_heads as i64,
        cfg.num_key_value_heads as i64,
    );
    let mut b = Builder {
        g: Graph::new("candor-llama"),
        cfg,
        opts,
        n_init: 0,
    };
    let dim = |s: &str| Dim::Named(s.to_string());
    let ids = b.g.input(
        "input_ids",
        DType::I64,
        vec![dim("batch_size"), dim("sequence_length")],
    );
    let mask = b.g.input(
        "attention_mask",
        DType::I64,
        vec![dim("batch_size"), dim("total_sequence_length")],
    );
    let pos = b.g.input(
        "position_ids",
        DType::I64,
        vec![dim("batch_size"), dim("sequence_length")],
    );
    let mut past = vec![];
    if opts.kv_cache {
        for l in 0..cfg.num_hidden_layers {
            let mut kv = vec![];
            for kind in ["key", "value"] {
                kv.push(b.g.input(
                    &format!("past_key_values.{l}.{kind}"),
                    DType::F32,
                    vec![
                        dim("batch_size"),
                        Dim::Fixed(nkv),
                        dim("past_sequence_length"),
                        Dim::Fixed(hd),
                    ],
                ));
            }
            past.push(kv);
        }
    }
    // A plain input, not an overridable initializer: ONNX Runtime leaves those out of
    // a session's input list, so a caller could not tell the graph accepts it.
    let keep = b.g.input(LOGITS_TO_KEEP, DType::I64, vec![]);

    // Embeddings.
    let embed = b.weight(
        "model.embed_tokens.weight",
        Tensor::f32(&[cfg.vocab_size as i64, cfg.hidden_size as i64], &w.embed),
    );
    let mut x = b.g.op("Gather", &[&embed, &ids], &[("axis", Attr::Int(0))]);

    // Rotary tables for every position the model accepts, [max_pos, hd/2], applied by
    // ONNX Runtime's fused RotaryEmbedding (one node instead of seven per Q and K:
    // per-node overhead is much of a batch-1 decoding step). Angles are formed in f32
    // as the unfused graph did, then their cosine and sine taken exactly.
    let inv: Vec<f32> = (0..hd / 2)
        .map(|i| 1.0 / cfg.rope_theta.powf(2.0 * i as f32 / hd as f32))
        .collect();
    let max_pos = cfg.max_position_embeddings.max(1);
    let (mut cos_t, mut sin_t) = (vec![], vec![]);
    for p in 0..max_pos {
        for f in &inv {
            let a = (p as f32 * f) as f64;
            cos_t.push(a.cos() as f32);
            sin_t.push(a.sin() as f32);
        }
    }
    let cos = b.g.init(
        "rotary.cos_cache",
        Tensor::f32(&[max_pos as i64, hd / 2], &cos_t),
    );
    let sin = b.g.init(
        "rotary.sin_cache",
        Tensor::f32(&[max_pos as i64, hd / 2], &sin_t),
    );
    let (ax1, ax2) = (b.g.ints(&[1]), b.g.ints(&[2]));

    // Additive attention bias [B,1,1,S,T]: causal over absolute positions, and padding.
    let t_len = b.g.op(
        "Shape",
        &[&mask],
        &[("start", Attr::Int(1)), ("end", Attr::Int(2))],
    );
    let s_len = b.g.op(
        "Shape",
        &[&ids],
        &[("start", Attr::Int(1)), ("end", Attr::Int(2))],
    );
    let t_sc = b.g.op("Squeeze", &[&t_len], &[]);
    let s_sc = b.g.op("Squeeze", &[&s_len], &[]);
    let zero_i = b.g.konst(Tensor::i64(&[], &[0]));
    let one_i = b.g.konst(Tensor::i64(&[], &[1]));
    let past_len = b.g.op("Sub", &[&t_sc, &s_sc], &[]);
    let kidx = b.g.op("Range", &[&zero_i, &t_sc, &one_i], &[]);
    let qidx = b.g.op("Range", &[&past_len, &t_sc, &one_i], &[]);
    let ax0 = b.g.ints(&[0]);
    let kidx = b.g.op("Unsqueeze", &[&kidx, &ax0], &[]);
    let qidx = b.g.op("Unsqueeze", &[&qidx, &ax1], &[]);
    let causal = b.g.op("LessOrEqual", &[&kidx, &qidx], &[]);
    let padb =
        b.g.op("Cast", &[&mask], &[("to", Attr::Int(DType::Bool as i64))]);
    let ax123 = b.g.ints(&[1, 2, 3]);
    let padb = b.g.op("Unsqueeze", &[&padb, &ax123], &[]);
    let allowed = b.g.op("And", &[&causal, &padb], &[]);
    let (zero_f, neg) = (b.g.scalar_f32(0.0), b.g.scalar_f32(-1e9));
    let bias = b.g.op("Where", &[&allowed, &zero_f, &neg], &[]);

    let qkv_shape = b.g.ints(&[0, nkv, nh / nkv, -1, hd]);
    let ctx_shape = b.g.ints(&[0, nh, -1, hd]);
    let out_shape = b.g.ints(&[0, 0, nh * hd]);
    let scale = 1.0 / (hd as f32).sqrt();
    for (l, lw) in w.layers.iter().enumerate() {
        let p = format!("model.layers.{l}");
        let h = b.rms_norm(&x, &lw.attn_norm, &format!("{p}.input_layernorm.weight"));
        // The attention scale is folded into W_q: RoPE is linear, so it commutes.
        let q_scaled = scaled(&lw.q, scale);
        let qkv = b.fused(
            &h,
            &[&q_scaled, &lw.k, &lw.v],
            &format!("{p}.self_attn.qkv_proj.weight"),
        );
        let (q, k, v) = (qkv[0].clone(), qkv[1].clone(), qkv[2].clone());
        let q = b.heads(&q, nh as usize);
        let k = b.heads(&k, nkv as usize);
        let v = b.heads(&v, nkv as usize);
        let q = b.rope(&q, &pos, &cos, &sin);
        let mut k = b.rope(&k, &pos, &cos, &sin);
        let mut v = v;
        if opts.kv_cache {
            k =
                b.g.op("Concat", &[&past[l][0], &k], &[("axis", Attr::Int(2))]);
            v =
                b.g.op("Concat", &[&past[l][1], &v], &[("axis", Attr::Int(2))]);
            let kv_dims = || {
                vec![
                    dim("batch_size"),
                    Dim::Fixed(nkv),
                    dim("total_sequence_length"),
                    Dim::Fixed(hd),
                ]
            };
            b.g.output(&k, &format!("present.{l}.key"), DType::F32, kv_dims());
            b.g.output(&v, &format!("present.{l}.value"), DType::F32, kv_dims());
        }
        // Grouped-query attention without copying K/V: [B,kv,group,S,hd] × [B,kv,1,hd,T].
        let q5 = b.g.op("Reshape", &[&q, &qkv_shape], &[]);
        let k5 = b.g.op("Unsqueeze", &[&k, &ax2], &[]);
        let kt = b.g.op(
            "Transpose",
            &[&k5],
            &[("perm", Attr::Ints(vec![0, 1, 2, 4, 3]))],
        );
        let v5 = b.g.op("Unsqueeze", &[&v, &ax2], &[]);
        let scores = b.g.op("MatMul", &[&q5, &kt], &[]);
        let scores = b.g.op("Add", &[&scores, &bias], &[]);
        let probs = b.g.op("Softmax", &[&scores], &[("axis", Attr::Int(-1))]);
        let ctx = b.g.op("MatMul", &[&probs, &v5], &[]);
        let ctx = b.g.op("Reshape", &[&ctx, &ctx_shape], &[]);
        let ctx = b.g.op(
            "Transpose",
            &[&ctx],
            &[("perm", Attr::Ints(vec![0, 2, 1, 3]))],
        );
        let ctx = b.g.op("Reshape", &[&ctx, &out_shape], &[]);
        let o = b.linear(&ctx, &lw.o, &format!("{p}.self_attn.o_proj.weight"));
        x = b.g.op("Add", &[&x, &o], &[]);
        let h = b.rms_norm(
            &x,
            &lw.ffn_norm,
            &format!("{p}.post_attention_layernorm.weight"),
        );
        let gu = b.fused(
            &h,
            &[&lw.gate, &lw.up],
            &format!("{p}.mlp.gate_up_proj.weight"),
        );
        let (gt, up) = (gu[0].clone(), gu[1].clone());
        let sg = b.g.op("Sigmoid", &[&gt], &[]);
        let act = b.g.op("Mul", &[&gt, &sg], &[]);
        let act = b.g.op("Mul", &[&act, &up], &[]);
        let d = b.linear(&act, &lw.down, &format!("{p}.mlp.down_proj.weight"));
        x = b.g.op("Add", &[&x, &d], &[]);
    }
    let x = b.rms_norm(&x, &w.final_norm, "model.norm.weight");

    // Keep the last `logits_to_keep` positions (0 = all): start = (S − k) mod S.
    let diff = b.g.op("Sub", &[&s_len, &keep], &[]);
    let start = b.g.op("Mod", &[&diff, &s_len], &[]);
    let big = b.g.ints(&[i64::MAX]);
    let x = b.g.op("Slice", &[&x, &start, &big, &ax1], &[]);
    let logits = match &w.lm_head {
        // Tied: x · Eᵀ straight into the output (a Gemm on a flattened x needed a
        // Reshape after it, which ONNX Runtime ran as a copy of all the logits).
        None => b.g.op_in(
            "com.microsoft",
            "FusedMatMul",
            &[&x, &embed],
            &[("transB", Attr::Int(1))],
        ),
        Some(head) => b.linear(&x, head, "lm_head.weight"),
    };
    b.g.output(
        &logits,
        "logits",
        DType::F32,
        vec![
            dim("batch_size"),
            dim("logits_length"),
            Dim::Fixed(cfg.vocab_size as i64),
        ],
    );
    let _ = b.n_init;
    b.g.write(&dir.join("model.onnx"), Some("model.onnx_data"), 1024)
}

/// Stacks 4-bit layers with the same input along their outputs; `None` for float
/// layers or when their storage differs.
fn concat_rows(parts: &[&Linear]) -> Option<Linear> {
    match parts[0] {
        // Float products gain nothing from joining (their kernels are large either
        // way) and the Split after them copied every output: 3 % of a scoring run.
        // 4-bit ones do: a batch-1 decoding step is mostly per-kernel overhead.
        Linear::Dense { .. } => None,
        Linear::Q4 { inp, block, .. } => {
            let (mut packed, mut scales, mut offsets, mut out) = (vec![], vec![], vec![], 0);
            let mut any_offset = false;
            for p in parts {
                match p {
                    Linear::Q4 {
                        out: o,
                        inp: i,
                        block: bl,
                        packed: pk,
                        scales: sc,
                        offset,
                    } if i == inp && bl == block => {
                        packed.extend_from_slice(pk);
                        scales.extend_from_slice(sc);
                        // Q4_0 has no offset: the same as an offset of zero.
                        match offset {
                            Some(off) => {
                                any_offset = true;
                                offsets.extend_from_slice(off);
                            }
                            None => offsets.extend(std::iter::repeat_n(0.0, sc.len())),
                        }
                        out += o;
                    }
                    _ => return None,
                }
            }
            Some(Linear::Q4 {
                out,
                inp: *inp,
                block: *block,
                packed,
                scales,
                offset: any_offset.then_some(offsets),
            })
        }
        Linear::Q8 { .. } => None,
    }
}

fn scaled(l: &Linear, s: f32) -> Linear {
    let mut c = l.clone();
    c.scale_rows(s);
    c
}
