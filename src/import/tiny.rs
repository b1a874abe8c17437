//! Tiny random Llama models for tests, written by the same graph builder as
//! real imports, with a small byte-level BPE tokenizer and a ChatML template:
//! the real ONNX Runtime path with nothing to download but the runtime.

use super::llama::{self, Accuracy, GraphOptions, LayerWeights, Linear, LlamaConfig, LlamaWeights};
use serde_json::json;
use std::path::Path;

/// What to build.
#[derive(Clone, Copy, Debug)]
pub struct TinySpec {
    pub seed: u64,
    pub layers: usize,
    /// Emit KV-cache inputs/outputs (the optimum layout); without, the engine recomputes.
    pub kv_cache: bool,
    /// Store linear layers as 4-bit blocks (MatMulNBits) instead of f32.
    pub q4: bool,
}

impl Default for TinySpec {
    fn default() -> Self {
        TinySpec {
            seed: 1,
            layers: 2,
            kv_cache: true,
            q4: false,
        }
    }
}

pub const SPECIAL: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
const MERGES: [&str; 12] = [
    "Ġ t", "h e", "Ġ a", "i n", "Ġt he", "e r", "o n", "Ġ s", "r e", "a n", "Ġ i", "Ġ o",
];
const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// GPT-2's reversible byte → printable character map.
pub fn byte_chars() -> Vec<char> {
    let mut printable: Vec<u32> = (33..=126).chain(161..=172).chain(174..=255).collect();
    let mut map = vec!['\0'; 256];
    for &b in &printable {
        map[b as usize] = char::from_u32(b).unwrap();
    }
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            map[b as usize] = char::from_u32(256 + n).unwrap();
            n += 1;
            printable.push(b);
        }
    }
    map
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        // splitmix64 → uniform in [-1, 1)
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

pub fn config(spec: &TinySpec) -> LlamaConfig {
    LlamaConfig {
        vocab_size: SPECIAL.len() + 256 + MERGES.len(),
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: spec.layers,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        rope_theta: 10000.0,
        rms_norm_eps: 1e-5,
        max_position_embeddings: 512,
        tie_word_embeddings: true,
        bos_token_id: 1,
        eos_token_id: 2,
    }
}

fn linear(r: &mut Rng, out: usize, inp: usize, q4: bool) -> Linear {
    let scale = 1.0 / (inp as f32).sqrt() * 1.5;
    if !q4 {
        return Linear::Dense {
            out,
            inp,
            w: r.vec(out * inp, scale),
        };
    }
    let blocks = out * inp / 32;
    let packed = (0..blocks * 16)
        .map(|_| ((r.next() + 1.0) * 127.99) as u8)
        .collect();
    let scales = (0..blocks)
        .map(|_| scale / 8.0 * (1.0 + 0.2 * r.next()))
        .collect();
    let offset = Some((0..blocks).map(|_| scale * 0.1 * r.next()).collect());
    Linear::Q4 {
        out,
        inp,
        block: 32,
        packed,
        scales,
        offset,
    }
}

/// Writes a complete model directory.
pub fn write(dir: &Path, spec: &TinySpec) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cfg = config(spec);
    let mut r = Rng(spec.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xC0FFEE);
    let (h, f, hd) = (cfg.hidden_size, cfg.intermediate_size, cfg.head_dim());
    let kv = cfg.num_key_value_heads * hd;
    let norm = |r: &mut Rng| (0..h).map(|_| 1.0 + 0.1 * r.next()).collect::<Vec<_>>();
    let layers = (0..cfg.num_hidden_layers)
        .map(|_| LayerWeights {
            attn_norm: norm(&mut r),
            q: linear(&mut r, h, h, spec.q4),
            k: linear(&mut r, kv, h, spec.q4),
            v: linear(&mut r, kv, h, spec.q4),
            o: linear(&mut r, h, h, spec.q4),
            ffn_norm: norm(&mut r),
            gate: linear(&mut r, f, h, spec.q4),
            up: linear(&mut r, f, h, spec.q4),
            down: linear(&mut r, h, f, spec.q4),
        })
        .collect();
    let w = LlamaWeights {
        embed: r.vec(cfg.vocab_size * h, 1.0),
        layers,
        final_norm: norm(&mut r),
        lm_head: None,
    };
    llama::write_model(
        dir,
        &cfg,
        &w,
        GraphOptions {
            kv_cache: spec.kv_cache,
            accuracy: Accuracy::Exact,
        },
    )?;

    let chars = byte_chars();
    let mut vocab = serde_json::Map::new();
    let mut added = vec![];
    for (i, s) in SPECIAL.iter().enumerate() {
        vocab.insert(s.to_string(), json!(i));
        added.push(json!({"id": i, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}));
    }
    for (b, c) in chars.iter().enumerate() {
        vocab.insert(c.to_string(), json!(SPECIAL.len() + b));
    }
    for (i, m) in MERGES.iter().enumerate() {
        vocab.insert(m.replace(' ', ""), json!(SPECIAL.len() + 256 + i));
    }
    let tok = json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added, "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": MERGES},
    });
    let put = |name: &str, v: serde_json::Value| {
        std::fs::write(dir.join(name), serde_json::to_string_pretty(&v).unwrap())
    };
    put("tokenizer.json", tok)?;
    put(
        "tokenizer_config.json",
        json!({"chat_template": CHATML, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "model_max_length": cfg.max_position_embeddings}),
    )?;
    let mut c = serde_json::to_value(&cfg).unwrap();
    c["model_type"] = json!("llama");
    c["candor_tiny"] = json!({"seed": spec.seed, "q4": spec.q4});
    put("config.json", c)?;
    put(
        "generation_config.json",
        json!({"bos_token_id": 1, "eos_token_id": 2}),
    )
}
