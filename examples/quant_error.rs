//! What `--weights q4` does to a GGUF file's matrices, measured on the file itself:
//! per GGML type, whether its blocks are kept as 4-bit MatMulNBits blocks (and that
//! those give the dequantized values), or the error requantizing them to 4-bit
//! blocks adds (blocks of 32, the importer's choice, and of 16 for comparison).
//!
//! `cargo run --release --example quant_error -- FILE.gguf [DUMP_DIR]`
//!
//! With DUMP_DIR, the first tensor of each type is also written there dequantized
//! (`<name>.f32`, little-endian), for a comparison with another implementation.

use candor::import::gguf::{GgmlType, Gguf};
use candor::import::quants::{self, ErrorStats};
use std::collections::BTreeMap;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        return Err("usage: quant_error FILE.gguf [DUMP_DIR]".into());
    };
    let dump = args.get(1).map(Path::new);
    let g = Gguf::open(Path::new(file))?;
    let mut kept: BTreeMap<GgmlType, (usize, usize, f32)> = BTreeMap::new();
    let mut requant: BTreeMap<GgmlType, (ErrorStats, ErrorStats)> = BTreeMap::new();
    let mut dumped = std::collections::BTreeSet::new();
    for t in g.tensors.values() {
        let w = g.dequantize(t)?;
        if let Some(d) = dump {
            if dumped.insert(t.kind) {
                std::fs::create_dir_all(d)?;
                let bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
                std::fs::write(d.join(format!("{}.f32", t.name)), bytes)?;
                println!("dumped {} ({})", t.name, t.kind);
            }
        }
        if t.dims.len() != 2 {
            continue;
        }
        if let Some(b) = quants::repack_q4(t.kind, g.raw(t)) {
            let e = kept.entry(t.kind).or_default();
            e.0 += 1;
            e.1 += w.len();
            let scale = w
                .iter()
                .fold(0f32, |m, v| m.max(v.abs()))
                .max(f32::MIN_POSITIVE);
            for (a, b) in w.iter().zip(b.values()) {
                e.2 = e.2.max((a - b).abs() / scale);
            }
        } else if t.kind.sub_block().is_some() {
            let e = requant.entry(t.kind).or_default();
            e.0.add(&w, &quants::requantize_q4(&w, 32).values());
            e.1.add(&w, &quants::requantize_q4(&w, 16).values());
        }
    }
    for (k, (n, el, rel)) in &kept {
        println!("{k}: {n} matrices ({el} weights) kept as 4-bit blocks; largest difference from the dequantized values {rel:.1e} of the matrix's largest |weight|");
    }
    for (k, (b32, b16)) in &requant {
        let what = match k {
            GgmlType::Q8_0 | GgmlType::Q8_K => "kept float32 by the importer; if requantized",
            _ => "requantized",
        };
        println!(
            "{k}: {} matrices ({} weights) {what}: blocks of 32 RMS error {:.2}% of the weights' RMS (largest {:.3e}); blocks of 16 {:.2}%",
            b32.tensors,
            b32.elements,
            100.0 * b32.relative_rms(),
            b32.max_abs_err,
            100.0 * b16.relative_rms()
        );
    }
    Ok(())
}
