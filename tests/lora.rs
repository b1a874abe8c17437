//! LoRA adapters merged at import, against transformers + peft on the same
//! weights. The fixtures in tests/fixtures/lora/ (a tiny random Llama written as
//! GGUF with the `gguf` package, two peft adapters, and transformers' logits)
//! are made by `scripts/make_lora_fixtures.py` with torch 2.15.0, transformers
//! 5.24.0, peft 0.21.2, gguf 0.19.0, numpy 2.4.6, safetensors 0.8.0 (also in
//! reference.safetensors' metadata). transformers runs each adapter unmerged
//! (`x·Wᵀ + s·x·Aᵀ·Bᵀ`, peft's forward pass); candor merges `W + s·B·A` into the
//! imported float32 weights and runs its ONNX graph: logits within 1e-4.

use candor::engine::{EngineOptions, OrtEngine};
use candor::import::{import_gguf, import_gguf_adapted, lora::Adapter};
use safetensors::SafeTensors;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &str = "tests/fixtures/lora";
const TOLERANCE: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURES)
        .join(name)
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The reference: per sequence, its token ids and, per variant, transformers' logits.
struct Reference {
    ids: Vec<Vec<u32>>,
    /// variant → per sequence `[positions][vocab]`.
    logits: std::collections::HashMap<String, Vec<Vec<Vec<f32>>>>,
    text: String,
}

fn reference() -> Reference {
    let bytes = std::fs::read(fixture("reference.safetensors")).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let text = meta.metadata().as_ref().unwrap()["text"].clone();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut ids = vec![];
    while let Ok(t) = st.tensor(&format!("ids.{}", ids.len())) {
        ids.push(
            t.data()
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32)
                .collect(),
        );
    }
    let mut logits = std::collections::HashMap::new();
    for variant in ["base", "adapter", "adapter-rslora"] {
        let per_seq = (0..ids.len())
            .map(|i| {
                let t = st.tensor(&format!("logits.{variant}.{i}")).unwrap();
                let vocab = t.shape()[1];
                f32s(t.data()).chunks(vocab).map(<[f32]>::to_vec).collect()
            })
            .collect();
        logits.insert(variant.to_string(), per_seq);
    }
    Reference { ids, logits, text }
}

fn load(dir: &Path) -> OrtEngine {
    let opts = EngineOptions {
        threads: 1,
        ..EngineOptions::default()
    };
    OrtEngine::load(dir, opts, &mut |_| {}).unwrap()
}

/// The largest |candor − transformers| over every position and vocabulary entry.
fn worst(m: &mut OrtEngine, r: &Reference, variant: &str) -> f32 {
    let mut worst = 0f32;
    for (ids, want) in r.ids.iter().zip(&r.logits[variant]) {
        let got = m.all_logits(ids).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.len(), w.len());
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    worst
}

/// The largest |a − b| between two variants' reference logits.
fn spread(r: &Reference, a: &str, b: &str) -> f32 {
    let mut d = 0f32;
    for (x, y) in r.logits[a].iter().zip(&r.logits[b]) {
        for (u, v) in x.iter().flatten().zip(y.iter().flatten()) {
            d = d.max((u - v).abs());
        }
    }
    d
}

#[test]
fn merged_adapters_match_transformers_and_peft() {
    let r = reference();
    let t = tempfile::tempdir().unwrap();
    let gguf = fixture("base.gguf");
    let out = t.path().join("base");
    import_gguf(&gguf, &out, candor::import::WeightFormat::F32, &mut |_| {}).unwrap();
    let base = worst(&mut load(&out), &r, "base");
    eprintln!("base: max |Δlogit| vs transformers = {base:.2e}");
    assert!(base <= TOLERANCE, "base: {base}");
    for variant in ["adapter", "adapter-rslora"] {
        let adapter = Adapter::load(&fixture(variant)).unwrap();
        let out = t.path().join(variant);
        let mut lines = vec![];
        import_gguf_adapted(
            &gguf,
            &out,
            candor::import::WeightFormat::F32,
            Some(&adapter),
            &mut |s| lines.push(s.to_string()),
        )
        .unwrap();
        assert!(
            lines.iter().any(|l| l.starts_with("merging adapter")),
            "{lines:?}"
        );
        let d = worst(&mut load(&out), &r, variant);
        // The adapter moves the logits far more than the tolerance, so a merge
        // left out, mis-scaled or laid out in llama.cpp's Q/K row order would fail.
        let moved = spread(&r, variant, "base");
        eprintln!("{variant}: max |Δlogit| vs transformers + peft = {d:.2e} (the adapter moves logits by up to {moved:.2})");
        assert!(
            moved > 1.0,
            "{variant}: the fixture's adapter barely changes the model"
        );
        assert!(d <= TOLERANCE, "{variant}: {d}");
    }
    let a = Adapter::load(&fixture("adapter")).unwrap();
    assert_eq!((a.r, a.lora_alpha, a.use_rslora), (4, 8.0, false));
    assert_eq!(a.scale(), 2.0);
    assert_eq!(a.modules().len(), 7);
    let a = Adapter::load(&fixture("adapter-rslora")).unwrap();
    assert_eq!((a.r, a.use_rslora), (2, true));
    assert!((a.scale() - 4.0 / 2f64.sqrt()).abs() < 1e-12);
    assert_eq!(
        a.modules(),
        vec![("q_proj", 2), ("v_proj", 2), ("down_proj", 2)]
    );
}

/// `candor model BASE+adapter=DIR` and a model file, through the binary: the
/// merged model is imported into the cache once, and its logits are transformers'.
#[test]
fn adapter_references_import_once_into_the_cache() {
    let r = reference();
    // Load ONNX Runtime in this process to hand its path to the binary (no download
    // into the empty cache below).
    candor::engine::runtime::environment(&mut |_| {}).unwrap();
    let ort = candor::engine::runtime::library_path()
        .unwrap()
        .to_path_buf();
    let home = tempfile::tempdir().unwrap();
    let run = |model: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_candor"))
            .args([
                "model",
                model,
                "--prompt",
                &r.text,
                "--json",
                "--all-positions",
                "--top-k",
                "5",
                "--threads",
                "1",
            ])
            .env("CANDOR_HOME", home.path())
            .env("ORT_DYLIB_PATH", &ort)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{model}: {err}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, err)
    };
    let check = |v: &serde_json::Value, variant: &str| {
        let ids: Vec<u32> = v["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(&ids, r.ids.last().unwrap(), "the text's ids");
        let want = r.logits[variant].last().unwrap();
        for p in v["top"].as_array().unwrap() {
            let pos = p["position"].as_u64().unwrap() as usize;
            for e in p["top"].as_array().unwrap() {
                let id = e["id"].as_u64().unwrap() as usize;
                let got = e["logit"].as_f64().unwrap() as f32;
                assert!(
                    (got - want[pos][id]).abs() <= TOLERANCE,
                    "{variant} position {pos} id {id}: {got} vs {}",
                    want[pos][id]
                );
            }
        }
    };
    let reference = format!(
        "{}+adapter={}",
        fixture("base.gguf").display(),
        fixture("adapter").display()
    );
    let (v, err) = run(&reference);
    check(&v, "adapter");
    assert!(err.contains("adapter: merging"), "{err}");
    let dirs: Vec<String> = std::fs::read_dir(home.path().join("models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(dirs[0].starts_with("base-lora-"), "{dirs:?}");
    // The second time it is cached: no import.
    let (v, err) = run(&reference);
    check(&v, "adapter");
    assert!(!err.contains("merging"), "{err}");
    // A model file naming the same base and adapter is the same cached model.
    let file = home.path().join("warm.yaml");
    std::fs::write(
        &file,
        format!(
            "backend: onnx\nmodel: {}\nadapter: {}\n",
            fixture("base.gguf").display(),
            fixture("adapter").display()
        ),
    )
    .unwrap();
    let (v, err) = run(file.to_str().unwrap());
    check(&v, "adapter");
    assert!(!err.contains("merging"), "{err}");
    // Another adapter on the same base is another cached model.
    let (v, err) = run(&format!(
        "{}+adapter={}",
        fixture("base.gguf").display(),
        fixture("adapter-rslora").display()
    ));
    check(&v, "adapter-rslora");
    assert!(err.contains("adapter: merging"), "{err}");
    // The base alone, imported from its GGUF file.
    let (v, _) = run(fixture("base.gguf").to_str().unwrap());
    check(&v, "base");
}

/// A copy of the fixture adapter with `edit` applied to its adapter_config.json.
fn edited(t: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let dir = t.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let src = fixture("adapter");
    std::fs::copy(
        src.join("adapter_model.safetensors"),
        dir.join("adapter_model.safetensors"),
    )
    .unwrap();
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("adapter_config.json")).unwrap())
            .unwrap();
    edit(&mut c);
    std::fs::write(dir.join("adapter_config.json"), c.to_string()).unwrap();
    dir
}

/// A copy of the fixture adapter with its tensors rewritten by `edit` (name, shape, values).
fn retensored(
    t: &Path,
    name: &str,
    edit: impl Fn(&str, Vec<usize>, Vec<f32>) -> Option<(String, Vec<usize>, Vec<f32>)>,
) -> PathBuf {
    let dir = edited(t, name, |_| {});
    let bytes = std::fs::read(fixture("adapter").join("adapter_model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<usize>, Vec<u8>)> = vec![];
    for (n, v) in st.tensors() {
        if let Some((n, shape, data)) = edit(&n, v.shape().to_vec(), f32s(v.data())) {
            out.push((
                n,
                shape,
                data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ));
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = out
        .iter()
        .map(|(n, s, d)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                    .unwrap(),
            )
        })
        .collect();
    std::fs::write(
        dir.join("adapter_model.safetensors"),
        safetensors::serialize(views, None).unwrap(),
    )
    .unwrap();
    dir
}

/// What importing the fixture base with this adapter says (it must fail).
fn import_error(adapter: &Path) -> String {
    let t = tempfile::tempdir().unwrap();
    let a = match Adapter::load(adapter) {
        Ok(a) => a,
        Err(e) => return e.to_string(),
    };
    import_gguf_adapted(
        &fixture("base.gguf"),
        &t.path().join("out"),
        candor::import::WeightFormat::F32,
        Some(&a),
        &mut |_| {},
    )
    .map(|_| panic!("{}: imported", adapter.display()))
    .unwrap_err()
    .to_string()
}

#[test]
fn unsupported_adapters_are_errors_naming_the_field() {
    let t = tempfile::tempdir().unwrap();
    let t = t.path();
    let set = |k: &'static str, v: serde_json::Value| {
        move |c: &mut serde_json::Value| {
            c[k] = v;
        }
    };
    use serde_json::json;
    let cases: Vec<(PathBuf, &[&str])> = vec![
        (
            edited(t, "dora", set("use_dora", json!(true))),
            &["adapter_config.json", "`use_dora`", "DoRA"],
        ),
        (
            edited(t, "fifo", set("fan_in_fan_out", json!(true))),
            &[
                "adapter_config.json",
                "`fan_in_fan_out`",
                "Conv1D",
                "Linear",
            ],
        ),
        (
            edited(t, "bias", set("bias", json!("all"))),
            &["adapter_config.json", "`bias`", "\"all\"", "\"none\""],
        ),
        (
            edited(t, "lora-bias", set("lora_bias", json!(true))),
            &["`lora_bias`"],
        ),
        (
            edited(
                t,
                "lm-head",
                set("target_modules", json!(["q_proj", "lm_head"])),
            ),
            &["`target_modules`", "\"lm_head\"", "q_proj, k_proj"],
        ),
        (
            edited(t, "save", set("modules_to_save", json!(["lm_head"]))),
            &["`modules_to_save`"],
        ),
        (
            edited(t, "pattern", set("rank_pattern", json!({"q_proj": 8}))),
            &["`rank_pattern`", "per-module ranks"],
        ),
        (
            edited(t, "ia3", set("peft_type", json!("IA3"))),
            &["`peft_type`", "\"IA3\"", "LORA"],
        ),
        (
            edited(t, "rank", set("r", json!(8))),
            &[
                "adapter_model.safetensors",
                "lora_A.weight",
                "rank is 4",
                "`r` is 8",
            ],
        ),
        (
            edited(t, "pissa", set("init_lora_weights", json!("pissa"))),
            &["`init_lora_weights`", "base model's weights"],
        ),
        // A shape of another model: A takes 32 inputs where the base's q_proj takes 64.
        (
            retensored(t, "shape", |n, s, v| {
                Some(if n.ends_with("layers.1.self_attn.q_proj.lora_A.weight") {
                    (n.into(), vec![s[0], 32], v[..s[0] * 32].to_vec())
                } else {
                    (n.into(), s, v)
                })
            }),
            &[
                "adapter_model.safetensors",
                "layers.1.self_attn.q_proj.lora_A.weight",
                "[4, 32]",
                "takes 64 inputs",
            ],
        ),
        // B for outputs the base does not have.
        (
            retensored(t, "outputs", |n, s, v| {
                Some(if n.ends_with("layers.0.mlp.up_proj.lora_B.weight") {
                    (n.into(), vec![64, s[1]], v[..64 * s[1]].to_vec())
                } else {
                    (n.into(), s, v)
                })
            }),
            &["mlp.up_proj.lora_B.weight", "[64, 4]", "has 128 outputs"],
        ),
        // A layer past the base's last.
        (
            retensored(t, "layer", |n, s, v| {
                Some((n.replace("layers.1.", "layers.5."), s, v))
            }),
            &["layers.5.", "has 2 layers"],
        ),
        // A module candor's graph does not have.
        (
            retensored(t, "module", |n, s, v| {
                Some((n.replace("self_attn.o_proj", "self_attn.rotary_proj"), s, v))
            }),
            &[
                "self_attn.rotary_proj.lora_A.weight",
                "\"rotary_proj\"",
                "is not a projection",
            ],
        ),
        // A LoRA on the output head.
        (
            retensored(t, "head", |n, s, v| {
                Some((n.replace("model.layers.0.mlp.down_proj", "lm_head"), s, v))
            }),
            &["base_model.model.lm_head.lora_A.weight", "\"lm_head\""],
        ),
        // A without its B.
        (
            retensored(t, "half", |n, s, v| {
                (!n.ends_with("layers.0.self_attn.v_proj.lora_B.weight")).then(|| (n.into(), s, v))
            }),
            &[
                "layers.0.self_attn.v_proj.lora_A.weight",
                "no matching lora_B",
            ],
        ),
        // DoRA's magnitude vectors in the weights.
        (
            retensored(t, "magnitude", |n, s, v| {
                Some(if n.ends_with("layers.0.self_attn.v_proj.lora_B.weight") {
                    (
                        n.replace("lora_B.weight", "lora_magnitude_vector"),
                        vec![s[0]],
                        v[..s[0]].to_vec(),
                    )
                } else {
                    (n.into(), s, v)
                })
            }),
            &["lora_magnitude_vector", "DoRA", "`use_dora`"],
        ),
        // A bias tensor.
        (
            retensored(t, "bias-tensor", |n, s, v| {
                Some(if n.ends_with("layers.0.self_attn.v_proj.lora_B.weight") {
                    (
                        n.replace(".weight", ".bias"),
                        vec![s[0]],
                        v[..s[0]].to_vec(),
                    )
                } else {
                    (n.into(), s, v)
                })
            }),
            &["lora_B.bias", "no biases"],
        ),
    ];
    for (dir, wants) in &cases {
        let e = import_error(dir);
        for w in *wants {
            assert!(e.contains(w), "{}: missing {w:?} in: {e}", dir.display());
        }
        assert!(e.contains(dir.to_str().unwrap()), "names no file: {e}");
    }
    // Missing files: the directory, the config, the weights.
    let e = import_error(&t.join("nowhere"));
    assert!(
        e.contains("nowhere") && e.contains("missing adapter directory"),
        "{e}"
    );
    let dir = edited(t, "no-weights", |_| {});
    std::fs::remove_file(dir.join("adapter_model.safetensors")).unwrap();
    let e = import_error(&dir);
    assert!(e.contains("adapter_model.safetensors: missing file"), "{e}");
    let dir = edited(t, "no-config", |_| {});
    std::fs::remove_file(dir.join("adapter_config.json")).unwrap();
    let e = import_error(&dir);
    assert!(e.contains("adapter_config.json: missing file"), "{e}");
    // Not JSON, not safetensors.
    let dir = edited(t, "garbled", |_| {});
    std::fs::write(dir.join("adapter_config.json"), "{r: 4").unwrap();
    assert!(import_error(&dir).contains("not JSON"));
    let dir = edited(t, "garbled-weights", |_| {});
    std::fs::write(dir.join("adapter_model.safetensors"), [1u8; 20]).unwrap();
    assert!(import_error(&dir).contains("not a safetensors file"));
    // 4-bit weights cannot take an adapter.
    let a = Adapter::load(&fixture("adapter")).unwrap();
    let e = import_gguf_adapted(
        &fixture("base.gguf"),
        &t.join("q4"),
        candor::import::WeightFormat::Q4,
        Some(&a),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("float32"), "{e}");
}

/// The fixture adapter's tensors rounded to `dtype` (F16 or BF16), written once in
/// that type and once as the same values in F32.
fn rounded(t: &Path, dtype: safetensors::Dtype) -> (PathBuf, PathBuf) {
    let bytes = std::fs::read(fixture("adapter").join("adapter_model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut narrow: Vec<(String, Vec<usize>, Vec<u8>)> = vec![];
    let mut wide: Vec<(String, Vec<usize>, Vec<u8>)> = vec![];
    for (n, v) in st.tensors() {
        let vals = f32s(v.data());
        let (n_bytes, w_vals): (Vec<u8>, Vec<f32>) = match dtype {
            safetensors::Dtype::F16 => {
                let h: Vec<half::f16> = vals.iter().map(|&x| half::f16::from_f32(x)).collect();
                (
                    h.iter().flat_map(|x| x.to_le_bytes()).collect(),
                    h.iter().map(|x| x.to_f32()).collect(),
                )
            }
            _ => {
                let h: Vec<half::bf16> = vals.iter().map(|&x| half::bf16::from_f32(x)).collect();
                (
                    h.iter().flat_map(|x| x.to_le_bytes()).collect(),
                    h.iter().map(|x| x.to_f32()).collect(),
                )
            }
        };
        narrow.push((n.clone(), v.shape().to_vec(), n_bytes));
        wide.push((
            n,
            v.shape().to_vec(),
            w_vals.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ));
    }
    let write = |name: &str, d: safetensors::Dtype, tensors: &[(String, Vec<usize>, Vec<u8>)]| {
        let dir = edited(t, name, |_| {});
        let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
            .iter()
            .map(|(n, s, b)| {
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(d, s.clone(), b).unwrap(),
                )
            })
            .collect();
        std::fs::write(
            dir.join("adapter_model.safetensors"),
            safetensors::serialize(views, None).unwrap(),
        )
        .unwrap();
        dir
    };
    (
        write(&format!("{dtype:?}"), dtype, &narrow),
        write(&format!("{dtype:?}-as-f32"), safetensors::Dtype::F32, &wide),
    )
}

#[test]
fn half_precision_adapters_read_as_their_float32_values() {
    let t = tempfile::tempdir().unwrap();
    let r = reference();
    let gguf = fixture("base.gguf");
    for dtype in [safetensors::Dtype::F16, safetensors::Dtype::BF16] {
        let (narrow, wide) = rounded(t.path(), dtype);
        let mut logits = vec![];
        for dir in [&narrow, &wide] {
            let out = dir.with_extension("model");
            let a = Adapter::load(dir).unwrap();
            import_gguf_adapted(
                &gguf,
                &out,
                candor::import::WeightFormat::F32,
                Some(&a),
                &mut |_| {},
            )
            .unwrap();
            logits.push(load(&out).all_logits(&r.ids[0]).unwrap());
        }
        assert_eq!(logits[0], logits[1], "{dtype:?}");
    }
}
