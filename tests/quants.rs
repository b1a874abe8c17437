//! GGUF quantizations against references no one here wrote: the block fixtures
//! and tiny models under tests/fixtures/quants/ were made by
//! scripts/make_quant_fixtures.py (versions in its manifest.json: the `gguf`
//! package's numpy dequantization for the expected values, transformers for the
//! logits).

use candor::engine::{EngineOptions, OrtEngine};
use candor::import::gguf::{GgmlType, Gguf};
use candor::import::quants::{self, QuantError};
use candor::import::{import_gguf, ImportError, WeightFormat};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quants")
}

fn manifest() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap()).unwrap()
}

fn f32s(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn every_type_dequantizes_to_the_reference_bit_for_bit() {
    let m = manifest();
    let blocks = m["blocks"].as_object().unwrap();
    // Every type candor reads has fixtures, and they describe the same layout.
    assert_eq!(blocks.len(), GgmlType::ALL.len());
    for kind in GgmlType::ALL {
        let b = &blocks[kind.name()];
        assert_eq!(b["id"].as_u64(), Some(kind.id() as u64), "{kind}");
        let (per, bytes) = kind.block();
        assert_eq!(b["elements_per_block"].as_u64(), Some(per as u64), "{kind}");
        assert_eq!(b["bytes_per_block"].as_u64(), Some(bytes as u64), "{kind}");
        let raw = std::fs::read(dir().join(format!("{kind}.bin"))).unwrap();
        let want = f32s(&dir().join(format!("{kind}.f32")));
        assert_eq!(want.len() as u64, b["elements"].as_u64().unwrap());
        let got = quants::dequantize(kind, &raw, want.len()).unwrap();
        assert_eq!(got.len(), want.len());
        let differ = got
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (g, w))| g.to_bits() != w.to_bits())
            .map(|(i, (g, w))| format!("element {i} (block {}): {g} vs {w}", i / per))
            .collect::<Vec<_>>();
        assert!(
            differ.is_empty(),
            "{kind}: {} differ: {:?}",
            differ.len(),
            &differ[..differ.len().min(5)]
        );
        eprintln!("{kind}: {} values identical to the reference", got.len());
    }
}

#[test]
fn malformed_block_data_gives_typed_errors() {
    for kind in GgmlType::ALL {
        let raw = std::fs::read(dir().join(format!("{kind}.bin"))).unwrap();
        let (per, bytes) = kind.block();
        let n = raw.len() / bytes * per;
        // One byte short, one byte over, and an element count that is not whole blocks.
        for cut in [&raw[..raw.len() - 1], &[raw.as_slice(), &[0]].concat()[..]] {
            let e = quants::dequantize(kind, cut, n).unwrap_err();
            assert!(matches!(e, QuantError::Length { .. }), "{kind}: {e}");
        }
        if per > 1 {
            let e = quants::dequantize(kind, &raw, n - 1).unwrap_err();
            assert!(matches!(e, QuantError::PartialBlock { .. }), "{kind}: {e}");
        }
        assert!(quants::repack_q4(kind, &raw[..raw.len() - 1]).is_none());
    }
}

/// The tiny model's file with the first block of `tensor` given an infinite scale.
fn with_infinite_scale(src: &Path, tensor: &str, out: &Path) {
    let bytes = std::fs::read(src).unwrap();
    let g = Gguf::from_bytes(src, bytes.clone()).unwrap();
    let raw = g.raw(g.tensor(tensor).unwrap());
    let at = bytes
        .windows(64)
        .position(|w| w == &raw[..64])
        .expect("tensor data in the file");
    let mut b = bytes.clone();
    // Q4_K / Q5_K: d is the block's first two bytes; Q6_K: bytes 208..210.
    let off = match g.tensor(tensor).unwrap().kind {
        GgmlType::Q6_K => 208,
        _ => 0,
    };
    b[at + off..at + off + 2].copy_from_slice(&half::f16::INFINITY.to_le_bytes());
    std::fs::write(out, b).unwrap();
}

#[test]
fn a_non_finite_scale_is_refused_naming_the_file_and_tensor() {
    let t = tempfile::tempdir().unwrap();
    for (tensor, format) in [
        ("blk.0.attn_q.weight", WeightFormat::F32),
        ("blk.0.ffn_down.weight", WeightFormat::Q4),
        ("output.weight", WeightFormat::F32),
    ] {
        let bad = t.path().join("bad.gguf");
        with_infinite_scale(&dir().join("tiny-kquants.gguf"), tensor, &bad);
        let e = import_gguf(&bad, &t.path().join("out"), format, &mut |_| {}).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ImportError::Tensor(_)), "{msg}");
        assert!(msg.contains("bad.gguf") && msg.contains(tensor), "{msg}");
        assert!(msg.contains("finite"), "{msg}");
    }
}

struct Model {
    engine: OrtEngine,
    progress: Vec<String>,
}

fn import(name: &str, format: WeightFormat, out: &Path) -> Model {
    let mut progress = vec![];
    import_gguf(&dir().join(format!("{name}.gguf")), out, format, &mut |s| {
        progress.push(s.to_string())
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let engine = OrtEngine::load(
        out,
        EngineOptions {
            threads: 1,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    Model { engine, progress }
}

/// Logits against the reference over every position of every sequence.
struct Diff {
    worst: f32,
    mean: f64,
    /// Positions whose top token is the reference's.
    same_top: usize,
    positions: usize,
    /// Largest |logit| of the reference.
    scale: f32,
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0
}

fn against_reference(m: &mut Model, name: &str) -> Diff {
    let man = manifest();
    let info = &man["models"][name];
    let vocab = info["vocab_size"].as_u64().unwrap() as usize;
    let want = f32s(&dir().join(info["logits"].as_str().unwrap()));
    let mut at = 0;
    let mut d = Diff {
        worst: 0.0,
        mean: 0.0,
        same_top: 0,
        positions: 0,
        scale: want.iter().fold(0f32, |a, b| a.max(b.abs())),
    };
    for ids in info["sequences"].as_array().unwrap() {
        let ids: Vec<u32> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let got = m.engine.all_logits(&ids).unwrap();
        assert_eq!(got.len(), ids.len());
        for row in got {
            assert_eq!(row.len(), vocab);
            let w = &want[at..at + vocab];
            for (g, w) in row.iter().zip(w) {
                d.worst = d.worst.max((g - w).abs());
                d.mean += (g - w).abs() as f64;
            }
            d.same_top += usize::from(argmax(&row) == argmax(w));
            d.positions += 1;
            at += vocab;
        }
    }
    assert_eq!(at, want.len(), "{name}: every reference logit compared");
    d.mean /= at as f64;
    d
}

fn worst_against_reference(m: &mut Model, name: &str) -> f32 {
    against_reference(m, name).worst
}

#[test]
fn k_quant_llama_imports_and_matches_transformers_on_dequantized_weights() {
    let t = tempfile::tempdir().unwrap();
    let mut m = import("tiny-kquants", WeightFormat::F32, &t.path().join("f32"));
    assert!(
        !m.progress.iter().any(|l| l.contains("requantized")),
        "{:?}",
        m.progress
    );
    let worst = worst_against_reference(&mut m, "tiny-kquants");
    eprintln!("tiny-kquants f32: max |Δlogit| vs transformers = {worst:.2e}");
    assert!(worst <= 1e-4, "{worst}");

    // The types MatMulNBits holds exactly: q4 keeps them, and gives the same numbers.
    let mut m = import(
        "tiny-exact-q4",
        WeightFormat::Q4,
        &t.path().join("exact-q4"),
    );
    assert!(
        !m.progress.iter().any(|l| l.contains("requantized")),
        "{:?}",
        m.progress
    );
    let q4 = worst_against_reference(&mut m, "tiny-exact-q4");
    let mut m = import(
        "tiny-exact-q4",
        WeightFormat::F32,
        &t.path().join("exact-f32"),
    );
    let f32 = worst_against_reference(&mut m, "tiny-exact-q4");
    eprintln!("tiny-exact-q4: max |Δlogit| vs transformers = {f32:.2e} (f32), {q4:.2e} (q4)");
    assert!(f32 <= 1e-4, "{f32}");
    // The same values; MatMulNBits sums in its own order and the blocks' minima come
    // in as a separate product (the largest |logit| is about 18: 3e-5 of it).
    assert!(q4 <= 5e-4, "{q4}");
}

#[test]
fn q4_requantizes_5_and_6_bit_tensors_and_says_what_it_costs() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("q4");
    let mut m = import("tiny-kquants", WeightFormat::Q4, &out);
    let lines: Vec<&String> = m
        .progress
        .iter()
        .filter(|l| l.contains("requantized"))
        .collect();
    for l in &lines {
        eprintln!("{l}");
    }
    // Q6_K: output, blk.0.attn_v, blk.0.ffn_down; Q5_0, Q5_1, Q5_K: one each in layer 1.
    for (kind, n) in [("Q5_0", 1), ("Q5_1", 1), ("Q5_K", 1), ("Q6_K", 3)] {
        let l = lines
            .iter()
            .find(|l| l.contains(&format!(" {kind} ")))
            .unwrap_or_else(|| panic!("no requantization line for {kind}: {lines:?}"));
        assert!(
            l.starts_with(&format!("requantized {n} {kind} tensor")),
            "{l}"
        );
        assert!(
            l.contains("4-bit blocks of 32") && l.contains("RMS error"),
            "{l}"
        );
    }
    assert_eq!(lines.len(), 4, "{lines:?}");
    // config.json records the same.
    let cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    let rq = cfg["candor_import"]["requantized"].as_object().unwrap();
    assert_eq!(rq.len(), 4);
    for (kind, s) in rq {
        let rel = s["relative_rms_error"].as_f64().unwrap();
        // 4-bit blocks of 32 from 5- and 6-bit ones: a few percent of the weights' RMS.
        assert!(rel > 0.0 && rel < 0.15, "{kind}: {rel}");
    }
    let d = against_reference(&mut m, "tiny-kquants");
    eprintln!(
        "tiny-kquants q4 vs transformers on the file's weights: max |Δlogit| {:.3}, mean {:.4}, same top token at {}/{} positions (largest |logit| {:.1})",
        d.worst, d.mean, d.same_top, d.positions, d.scale
    );
    // What requantizing six of the model's sixteen matrices to 4 bits costs here.
    assert!(d.worst > 1e-2, "{}", d.worst);
    assert!(d.mean < 0.5, "{}", d.mean);
}
