//! Error paths of the engine and the importer: each names the file and what was expected.

use candor::engine::{EngineOptions, OrtEngine};
use candor::import::onnx::{DType, Dim, Graph, Tensor};
use candor::import::tiny::{self, TinySpec};
use std::path::Path;
use std::process::Command;

fn load_err(dir: &Path) -> String {
    match OrtEngine::load(
        dir,
        EngineOptions {
            threads: 1,
            ..Default::default()
        },
        &mut |_| {},
    ) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

/// A tiny model directory whose graph is replaced by `graph`.
fn with_graph(dir: &Path, graph: Graph) {
    tiny::write(dir, &TinySpec::default()).unwrap();
    std::fs::remove_file(dir.join("model.onnx_data")).ok();
    graph
        .write(&dir.join("model.onnx"), None, usize::MAX)
        .unwrap();
}

fn toy_graph(extra_input: Option<&str>, output: &str) -> Graph {
    let mut g = Graph::new("toy");
    let d = |s: &str| Dim::Named(s.into());
    let ids = g.input("input_ids", DType::I64, vec![d("b"), d("s")]);
    g.input("attention_mask", DType::I64, vec![d("b"), d("t")]);
    if let Some(x) = extra_input {
        g.input(x, DType::I64, vec![d("b"), d("s")]);
    }
    let vocab = tiny::config(&TinySpec::default()).vocab_size;
    let table = g.init(
        "table",
        Tensor::f32(&[vocab as i64, vocab as i64], &vec![0.0; vocab * vocab]),
    );
    let out = g.op("Gather", &[&table, &ids], &[]);
    g.output(
        &out,
        output,
        DType::F32,
        vec![d("b"), d("s"), Dim::Fixed(vocab as i64)],
    );
    g
}

#[test]
fn a_graph_with_an_unknown_input_or_no_logits_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("unknown-input");
    with_graph(&a, toy_graph(Some("token_type_ids"), "logits"));
    let e = load_err(&a);
    assert!(
        e.contains("model.onnx") && e.contains("\"token_type_ids\"") && e.contains("does not know"),
        "{e}"
    );
    let b = t.path().join("no-logits");
    with_graph(&b, toy_graph(None, "scores"));
    let e = load_err(&b);
    assert!(e.contains("no output \"logits\""), "{e}");
    // A graph without KV-cache I/O but with the right names loads (and runs by recomputation).
    let c = t.path().join("plain");
    with_graph(&c, toy_graph(None, "logits"));
    OrtEngine::load(
        &c,
        EngineOptions {
            threads: 1,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
}

#[test]
fn a_corrupt_graph_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    tiny::write(t.path(), &TinySpec::default()).unwrap();
    std::fs::write(t.path().join("model.onnx"), b"not a protobuf").unwrap();
    let e = load_err(t.path());
    assert!(e.contains("model.onnx") && e.contains("cannot load"), "{e}");
}

/// A GGUF file with the given architecture and no tensors.
fn gguf(arch: &str) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes()); // tensors
    b.extend(1u64.to_le_bytes()); // metadata entries
    let key = "general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key.as_bytes());
    b.extend(8u32.to_le_bytes()); // string
    b.extend((arch.len() as u64).to_le_bytes());
    b.extend(arch.as_bytes());
    b
}

/// The importer's error for `file`, as a user reads it.
fn import_err(file: &Path, dir: &Path) -> String {
    candor::import::import_gguf(
        file,
        &dir.join("out"),
        candor::import::WeightFormat::F32,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string()
}

#[test]
fn import_refuses_other_architectures_and_broken_files() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("phi.gguf");
    std::fs::write(&f, gguf("phi3")).unwrap();
    let e = import_err(&f, t.path());
    assert!(
        e.contains("phi.gguf") && e.contains("\"phi3\" is not supported") && e.contains("Llama"),
        "{e}"
    );
    let f = t.path().join("llama.gguf");
    std::fs::write(&f, gguf("llama")).unwrap();
    let e = import_err(&f, t.path());
    assert!(
        e.contains("llama.block_count is missing") || e.contains("is missing"),
        "{e}"
    );
    let f = t.path().join("short.gguf");
    std::fs::write(&f, &gguf("llama")[..20]).unwrap();
    let e = import_err(&f, t.path());
    assert!(e.contains("short.gguf") && e.contains("truncated"), "{e}");
}

#[test]
fn no_onnx_runtime_gives_an_error_that_lists_what_was_tried() {
    let t = tempfile::tempdir().unwrap();
    let m = t.path().join("m");
    tiny::write(&m, &TinySpec::default()).unwrap();
    let run = |envs: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_candor"));
        c.args(["model", m.to_str().unwrap(), "--prompt", "hi"])
            .env_remove("ORT_DYLIB_PATH");
        for (k, v) in envs {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // An explicit path that is wrong is an error of its own.
    let (code, err) = run(&[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("ORT_DYLIB_PATH") && err.contains("not a file"),
        "{err}"
    );
    // No cache, no Python: every place tried is listed, with what to do.
    let empty = t.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, err) = run(&[
        ("CANDOR_HOME", t.path().join("home").to_str().unwrap()),
        ("PATH", empty.to_str().unwrap()),
    ]);
    assert_eq!(code, Some(2), "{err}");
    for want in [
        "Tried:",
        "ORT_DYLIB_PATH (not set)",
        "candor's cache",
        "Python's onnxruntime package",
        "pip download",
        "Fix:",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}
