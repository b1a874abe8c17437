//! The GGUF reader and importer on malformed files (users import files they
//! download): 1,000 mutants of a small valid Llama GGUF — truncated, bytes
//! overwritten, and every count, length, dimension, offset and alignment field
//! set to values that cannot be right — each gives an error that names the
//! file, and none panics.

use candor::import::{import_gguf, WeightFormat};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Where the writer put the fields the mutations aim at.
#[derive(Default)]
struct Layout {
    n_tensors: usize,
    n_kv: usize,
    /// Byte offset of each metadata key's length field.
    key_lens: Vec<usize>,
    /// The value of `general.alignment` (a u32).
    alignment: usize,
    /// The value of `llama.context_length` (a u32).
    context_length: usize,
    /// The element count of the token array.
    tokens_len: usize,
    /// Per tensor: its dimension count, its first dimension, its type, its offset.
    tensors: Vec<(usize, usize, usize, usize)>,
    header_end: usize,
}

struct Writer {
    b: Vec<u8>,
    layout: Layout,
}

impl Writer {
    fn u32(&mut self, v: u32) {
        self.b.extend(v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.b.extend(v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.b.extend(s.as_bytes());
    }
    fn key(&mut self, k: &str, ty: u32) {
        self.layout.key_lens.push(self.b.len());
        self.str(k);
        self.u32(ty);
    }
    fn kv_u32(&mut self, k: &str, v: u32) -> usize {
        self.key(k, 4);
        let at = self.b.len();
        self.u32(v);
        at
    }
    fn kv_str(&mut self, k: &str, v: &str) {
        self.key(k, 8);
        self.str(v);
    }
    fn kv_strs(&mut self, k: &str, v: &[String]) -> usize {
        self.key(k, 9);
        self.u32(8);
        let at = self.b.len();
        self.u64(v.len() as u64);
        for s in v {
            self.str(s);
        }
        at
    }
}

/// A tiny valid Llama GGUF (F32, hidden 8, one layer, 2 heads / 1 KV head,
/// a 16-token byte-level vocabulary) and where its fields are.
fn tiny_gguf() -> (Vec<u8>, Layout) {
    let (hidden, inter, vocab, kv_rows) = (8u64, 16u64, 16u64, 4u64);
    let tensors: Vec<(&str, Vec<u64>)> = vec![
        ("token_embd.weight", vec![hidden, vocab]),
        ("blk.0.attn_norm.weight", vec![hidden]),
        ("blk.0.attn_q.weight", vec![hidden, hidden]),
        ("blk.0.attn_k.weight", vec![hidden, kv_rows]),
        ("blk.0.attn_v.weight", vec![hidden, kv_rows]),
        ("blk.0.attn_output.weight", vec![hidden, hidden]),
        ("blk.0.ffn_norm.weight", vec![hidden]),
        ("blk.0.ffn_gate.weight", vec![hidden, inter]),
        ("blk.0.ffn_up.weight", vec![hidden, inter]),
        ("blk.0.ffn_down.weight", vec![inter, hidden]),
        ("output_norm.weight", vec![hidden]),
    ];
    let tokens: Vec<String> = "abcdefghijklmn"
        .chars()
        .map(String::from)
        .chain(["<|im_start|>".into(), "<|im_end|>".into()])
        .collect();
    let mut w = Writer {
        b: b"GGUF".to_vec(),
        layout: Layout::default(),
    };
    w.u32(3);
    w.layout.n_tensors = w.b.len();
    w.u64(tensors.len() as u64);
    w.layout.n_kv = w.b.len();
    w.u64(14);
    w.kv_str("general.architecture", "llama");
    w.layout.alignment = w.kv_u32("general.alignment", 32);
    w.kv_u32("llama.embedding_length", hidden as u32);
    w.kv_u32("llama.feed_forward_length", inter as u32);
    w.kv_u32("llama.block_count", 1);
    w.kv_u32("llama.attention.head_count", 2);
    w.kv_u32("llama.attention.head_count_kv", 1);
    w.layout.context_length = w.kv_u32("llama.context_length", 64);
    w.kv_str("tokenizer.ggml.model", "gpt2");
    w.layout.tokens_len = w.kv_strs("tokenizer.ggml.tokens", &tokens);
    w.kv_strs("tokenizer.ggml.merges", &["a b".to_string()]);
    w.kv_u32("tokenizer.ggml.bos_token_id", 14);
    w.kv_u32("tokenizer.ggml.eos_token_id", 15);
    w.kv_str(
        "tokenizer.chat_template",
        "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}",
    );
    let mut offset = 0u64;
    for (name, dims) in &tensors {
        w.str(name);
        let nd = w.b.len();
        w.u32(dims.len() as u32);
        let d0 = w.b.len();
        for d in dims {
            w.u64(*d);
        }
        let ty = w.b.len();
        w.u32(0);
        let off = w.b.len();
        w.u64(offset);
        w.layout.tensors.push((nd, d0, ty, off));
        offset += (dims.iter().product::<u64>() * 4).next_multiple_of(32);
    }
    w.layout.header_end = w.b.len();
    while !w.b.len().is_multiple_of(32) {
        w.b.push(0);
    }
    let mut x = 0.5f32;
    for (_, dims) in &tensors {
        let n = dims.iter().product::<u64>();
        for _ in 0..n {
            x = (x * 3.7 + 0.11) % 1.0;
            w.b.extend((x - 0.5).to_le_bytes());
        }
        while !w.b.len().is_multiple_of(32) {
            w.b.push(0);
        }
    }
    (w.b, w.layout)
}

/// xorshift64*: a fixed sequence of mutations, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Values no count, length, dimension or offset field may hold.
const BAD_U64: [u64; 7] = [
    0,
    u64::MAX,
    u64::MAX - 7,
    1 << 40,
    1 << 62,
    0x8000_0000_0000_0001,
    1_000_000_007,
];

/// A mutant, and whether it must be refused (targeted mutations always are).
fn mutate(seed: &[u8], l: &Layout, rng: &mut Rng, i: usize) -> (Vec<u8>, &'static str, bool) {
    let mut b = seed.to_vec();
    let bad = BAD_U64[rng.below(BAD_U64.len())];
    let t = l.tensors[rng.below(l.tensors.len())];
    match i % 10 {
        0 => {
            b.truncate(rng.below(seed.len()));
            (b, "truncated", true)
        }
        1 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(l.header_end);
                b[at] = rng.next() as u8;
            }
            (b, "header bytes overwritten", false)
        }
        2 => {
            let field = if rng.below(2) == 0 {
                l.n_tensors
            } else {
                l.n_kv
            };
            put_u64(&mut b, field, bad.max(1 << 20));
            (b, "huge tensor or metadata count", true)
        }
        3 => {
            let at = l.key_lens[rng.below(l.key_lens.len())];
            put_u64(&mut b, at, bad.max(1 << 20));
            (b, "huge string length", true)
        }
        4 => {
            put_u32(&mut b, l.alignment, [0, 3, 24, u32::MAX][rng.below(4)]);
            (b, "bad general.alignment", true)
        }
        5 => {
            put_u64(&mut b, t.1, [0, u64::MAX, 1 << 40, 12345][rng.below(4)]);
            (b, "zero or huge dimension", true)
        }
        6 => {
            put_u32(&mut b, t.0, [0, 5, 7, u32::MAX][rng.below(4)]);
            (b, "bad dimension count", true)
        }
        7 => {
            put_u64(&mut b, t.3, bad.max(1 << 20) & !31);
            (b, "offset past the end", true)
        }
        8 => {
            put_u32(&mut b, t.2, [4, 20, 99, u32::MAX][rng.below(4)]);
            (b, "unknown tensor type", true)
        }
        _ => {
            put_u64(&mut b, l.tokens_len, bad.max(1 << 20));
            (b, "huge array length", true)
        }
    }
}

#[test]
fn a_thousand_malformed_gguf_files_give_clear_errors_and_never_panic() {
    let (seed, layout) = tiny_gguf();
    let dir = tempfile::tempdir().unwrap();
    // The seed itself imports: the mutations start from a file that works.
    let good = dir.path().join("good.gguf");
    std::fs::write(&good, &seed).unwrap();
    import_gguf(
        &good,
        &dir.path().join("good"),
        WeightFormat::F32,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("the valid seed: {e}"));

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut refused, mut imported) = (0, 0);
    for i in 0..1000 {
        let (mutant, what, must_fail) = mutate(&seed, &layout, &mut rng, i);
        let path = dir.path().join(format!("mutant-{i}.gguf"));
        std::fs::write(&path, &mutant).unwrap();
        let out = dir.path().join(format!("out-{i}"));
        let result = catch_unwind(AssertUnwindSafe(|| {
            import_gguf(&path, &out, WeightFormat::F32, &mut |_| {})
        }))
        .unwrap_or_else(|_| panic!("mutant {i} ({what}) panicked"));
        match result {
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with(&path.display().to_string()) && msg.len() > path.as_os_str().len() + 10,
                    "mutant {i} ({what}): the error must name the file and say what was wrong: {msg}"
                );
                refused += 1;
            }
            Ok(()) => {
                assert!(!must_fail, "mutant {i} ({what}) was imported");
                imported += 1;
            }
        }
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_file(&path);
    }
    eprintln!("gguf mutants: {refused} refused, {imported} imported (harmless byte changes)");
    assert!(refused >= 900, "{refused}");
}

#[test]
fn the_errors_say_what_was_expected() {
    let (seed, l) = tiny_gguf();
    let path = Path::new("model.gguf");
    let err = |b: Vec<u8>| {
        candor::import::gguf::Gguf::from_bytes(path, b)
            .err()
            .expect("refused")
            .to_string()
    };
    let mut b = seed.clone();
    put_u32(&mut b, l.alignment, 0);
    assert!(err(b).contains("general.alignment"));
    let mut b = seed.clone();
    put_u64(&mut b, l.tensors[0].1, 0);
    assert!(err(b).contains("token_embd.weight: a zero dimension"));
    let mut b = seed.clone();
    put_u32(&mut b, l.tensors[1].0, 0);
    assert!(err(b).contains("0 dimensions (expected 1 to 4)"));
    let mut b = seed.clone();
    put_u64(&mut b, l.n_tensors, u64::MAX);
    assert!(err(b).contains("more than the file's"));
    let mut b = seed.clone();
    put_u64(&mut b, l.tensors[2].3, u64::MAX - 31);
    assert!(err(b).contains("extend past the end of the file"));
    // A type candor does not read is named, beside the ones it does.
    let mut b = seed.clone();
    put_u32(&mut b, l.tensors[2].2, 20);
    let e = err(b);
    assert!(e.contains("GGML type 20 (IQ4_NL) is not supported"), "{e}");
    assert!(e.contains("Q4_K") && e.contains("BF16"), "{e}");
    // A K-quant on rows that are not whole super-blocks of 256.
    let mut b = seed.clone();
    put_u32(&mut b, l.tensors[2].2, 12);
    let e = err(b);
    assert!(e.contains("not whole Q4_K blocks of 256"), "{e}");
}

/// A file claiming a context of four billion positions imports with bounded
/// rotary tables (the fuzzer's out-of-memory finding): the positions are
/// limited, the import says so, and the model directory says the limit.
#[test]
fn a_huge_context_length_is_limited_not_allocated() {
    let (mut b, l) = tiny_gguf();
    put_u32(&mut b, l.context_length, u32::MAX);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-context.gguf");
    std::fs::write(&path, &b).unwrap();
    let mut notes = Vec::new();
    let out = dir.path().join("out");
    import_gguf(&path, &out, WeightFormat::F32, &mut |m| {
        notes.push(m.to_string())
    })
    .unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("context length 4294967295 limited to 131072")),
        "{notes:?}"
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["max_position_embeddings"], 131072);
}
