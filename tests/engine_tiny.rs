//! The ONNX Runtime engine on tiny random models written by candor's own graph
//! builder: KV cache, batching, padding and scoring must agree with plain recomputation.

use candor::engine::{
    Engine, EngineError, EngineOptions, FinishReason, GenerateRequest, LoglikRequest, Message,
    OrtEngine, Prompt,
};
use candor::import::tiny::{self, TinySpec};
use std::path::Path;

fn model(dir: &Path, spec: TinySpec) -> OrtEngine {
    tiny::write(dir, &spec).unwrap();
    OrtEngine::load(
        dir,
        EngineOptions {
            threads: 1,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn tiny_model_runs_and_kv_cache_equals_recomputation() {
    let t = tempfile::tempdir().unwrap();
    let mut kv = model(
        &t.path().join("kv"),
        TinySpec {
            seed: 7,
            ..Default::default()
        },
    );
    let mut nokv = model(
        &t.path().join("nokv"),
        TinySpec {
            seed: 7,
            kv_cache: false,
            ..Default::default()
        },
    );
    assert!(kv.has_kv_cache());
    assert!(!nokv.has_kv_cache());
    let ids = kv.model.encode("the answer is there in the sea").unwrap();
    let a = kv.all_logits(&ids).unwrap();
    let b = nokv.all_logits(&ids).unwrap();
    assert_eq!(a.len(), ids.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(max_abs_diff(x, y) <= 1e-4);
    }
    let reqs = vec![LoglikRequest {
        expected: None,
        prompt: Prompt::Raw("Q: what is the sea?\nA:".into()),
        continuations: vec![" water".into(), " a big thing".into(), " x".into()],
    }];
    let s1 = kv.loglik(&reqs).unwrap();
    let s2 = nokv.loglik(&reqs).unwrap();
    for (x, y) in s1[0].iter().zip(&s2[0]) {
        assert!((x.logprob - y.logprob).abs() < 1e-4, "{x:?} vs {y:?}");
        assert_eq!(x.n_tokens, y.n_tokens);
    }
    let g = GenerateRequest {
        expected: None,
        prompt: Prompt::Raw("once upon a time".into()),
        max_tokens: 12,
        stop: vec![],
    };
    assert_eq!(
        kv.generate(std::slice::from_ref(&g)).unwrap(),
        nokv.generate(&[g]).unwrap()
    );
}

#[test]
fn loglik_equals_sum_from_full_logits_and_batching_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let mut m = model(
        t.path(),
        TinySpec {
            seed: 3,
            layers: 3,
            ..Default::default()
        },
    );
    let prompts = [
        "Q: where is the river?\nA:",
        "a much longer prompt with many words in it, to force padding of the others:",
        "hi",
    ];
    let conts = vec![
        " in the valley".to_string(),
        " north".to_string(),
        " it is not there at all".to_string(),
    ];
    let reqs: Vec<LoglikRequest> = prompts
        .iter()
        .map(|p| LoglikRequest {
            expected: None,
            prompt: Prompt::Raw(p.to_string()),
            continuations: conts.clone(),
        })
        .collect();
    let batched = m.loglik(&reqs).unwrap();
    for (r, req) in reqs.iter().enumerate() {
        let one = m.loglik(std::slice::from_ref(req)).unwrap();
        for (c, cont) in conts.iter().enumerate() {
            assert!(
                (batched[r][c].logprob - one[0][c].logprob).abs() < 1e-4,
                "batched vs single: {r} {c}"
            );
            // The sum of log-softmax over full-sequence logits.
            let (p, ct) = m.model.encode_pair(prompts[r], cont).unwrap();
            let all: Vec<u32> = p.iter().chain(&ct).copied().collect();
            let logits = m.all_logits(&all).unwrap();
            let mut want = 0f64;
            for (j, &tok) in ct.iter().enumerate() {
                let row = &logits[p.len() + j - 1];
                let max = row.iter().copied().fold(f32::MIN, f32::max) as f64;
                let lse = max
                    + row
                        .iter()
                        .map(|&x| (x as f64 - max).exp())
                        .sum::<f64>()
                        .ln();
                want += row[tok as usize] as f64 - lse;
            }
            assert!(
                (batched[r][c].logprob - want).abs() < 1e-4,
                "{} vs {want}",
                batched[r][c].logprob
            );
            assert_eq!(batched[r][c].n_tokens, ct.len());
        }
    }
}

#[test]
fn left_padded_equals_unpadded_and_batched_generation_equals_single() {
    let t = tempfile::tempdir().unwrap();
    let mut m = model(
        t.path(),
        TinySpec {
            seed: 11,
            ..Default::default()
        },
    );
    let reqs: Vec<GenerateRequest> = [
        "a",
        "the sea and the river",
        "once there was a very long sentence indeed",
    ]
    .iter()
    .map(|p| GenerateRequest {
        expected: None,
        prompt: Prompt::Raw(p.to_string()),
        max_tokens: 10,
        stop: vec![],
    })
    .collect();
    let batched = m.generate(&reqs).unwrap();
    for (r, req) in reqs.iter().enumerate() {
        assert_eq!(
            batched[r],
            m.generate(std::slice::from_ref(req)).unwrap()[0]
        );
    }
    // Padding: the short prompt's next-token scores are the same alone and in a padded batch.
    let cont = vec![" the".to_string()];
    let alone = m
        .loglik(&[LoglikRequest {
            expected: None,
            prompt: Prompt::Raw("a".into()),
            continuations: cont.clone(),
        }])
        .unwrap();
    let padded = m
        .loglik(&[
            LoglikRequest {
                expected: None,
                prompt: Prompt::Raw("a".into()),
                continuations: cont.clone(),
            },
            LoglikRequest {
                expected: None,
                prompt: Prompt::Raw("a long prompt that pads the short one on the left".into()),
                continuations: cont,
            },
        ])
        .unwrap();
    assert!((alone[0][0].logprob - padded[0][0].logprob).abs() < 1e-4);
}

#[test]
fn generation_stops_at_limit_stop_string_and_eos() {
    let t = tempfile::tempdir().unwrap();
    let mut m = model(
        t.path(),
        TinySpec {
            seed: 5,
            ..Default::default()
        },
    );
    let free = m
        .generate(&[GenerateRequest {
            expected: None,
            prompt: Prompt::Raw("hello".into()),
            max_tokens: 8,
            stop: vec![],
        }])
        .unwrap()
        .remove(0);
    if free.finish == FinishReason::Length {
        assert_eq!(free.n_tokens, 8);
    }
    assert!(!free.text.is_empty() || free.finish == FinishReason::Eos);
    // A stop string taken from the free-running text must cut the text right before it.
    if free.text.chars().count() >= 4 {
        let stop: String = free.text.chars().skip(2).take(2).collect();
        let g = m
            .generate(&[GenerateRequest {
                expected: None,
                prompt: Prompt::Raw("hello".into()),
                max_tokens: 8,
                stop: vec![stop.clone()],
            }])
            .unwrap()
            .remove(0);
        assert_eq!(g.finish, FinishReason::Stop);
        assert!(
            free.text.starts_with(&g.text) && !g.text.contains(&stop),
            "{g:?} {stop:?}"
        );
    }
    let zero = m
        .generate(&[GenerateRequest {
            expected: None,
            prompt: Prompt::Raw("hello".into()),
            max_tokens: 0,
            stop: vec![],
        }])
        .unwrap();
    assert_eq!(zero[0].n_tokens, 0);
}

#[test]
fn chat_template_is_applied() {
    let t = tempfile::tempdir().unwrap();
    let m = model(t.path(), TinySpec::default());
    let text = m
        .model
        .render(&Prompt::Chat(vec![
            Message::new("system", "be kind"),
            Message::new("user", "hi"),
        ]))
        .unwrap();
    assert_eq!(text, "<|im_start|>system\nbe kind<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    let ids = m.model.encode(&text).unwrap();
    assert_eq!(ids[0], 1, "<|im_start|> is a special token");
    // A trailing assistant message opens the reply and leaves it open.
    let prefilled = m
        .model
        .render(&Prompt::Chat(vec![
            Message::new("user", "hi"),
            Message::new("assistant", "Answer:"),
        ]))
        .unwrap();
    assert_eq!(
        prefilled,
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nAnswer:"
    );
}

#[test]
fn errors_name_the_problem() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("m");
    tiny::write(&dir, &TinySpec::default()).unwrap();
    let opts = EngineOptions {
        threads: 1,
        ..Default::default()
    };
    let load = |d: &Path| {
        OrtEngine::load(d, opts.clone(), &mut |_| {})
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    // Missing directory and files.
    assert!(load(&t.path().join("nope")).contains("missing model directory"));
    for (file, what) in [
        ("tokenizer.json", "tokenizer"),
        ("config.json", "config.json"),
        ("model.onnx", "model.onnx"),
    ] {
        let d = t.path().join(format!("without-{file}"));
        tiny::write(&d, &TinySpec::default()).unwrap();
        std::fs::remove_file(d.join(file)).unwrap();
        let e = load(&d);
        assert!(e.contains("missing") && e.contains(what), "{file}: {e}");
    }
    // Broken JSON names the line.
    let d = t.path().join("badjson");
    tiny::write(&d, &TinySpec::default()).unwrap();
    std::fs::write(d.join("config.json"), "{\n \"vocab_size\": 3,,\n}").unwrap();
    assert!(load(&d).contains("line 2"), "{}", load(&d));
    // A prompt longer than the context.
    let mut m = OrtEngine::load(&dir, opts.clone(), &mut |_| {}).unwrap();
    let long = "word ".repeat(600);
    let e = m
        .loglik(&[LoglikRequest {
            expected: None,
            prompt: Prompt::Raw(long.clone()),
            continuations: vec![" x".into()],
        }])
        .unwrap_err();
    assert!(
        matches!(e, EngineError::Request(_))
            && e.to_string()
                .contains("longer than the model's context of 512"),
        "{e}"
    );
    let e = m
        .generate(&[GenerateRequest {
            expected: None,
            prompt: Prompt::Raw(long),
            max_tokens: 4,
            stop: vec![],
        }])
        .unwrap_err();
    assert!(
        e.to_string().contains("longer than the model's context"),
        "{e}"
    );
    // A raw-less chat request on a model without a template.
    let d = t.path().join("notemplate");
    tiny::write(&d, &TinySpec::default()).unwrap();
    std::fs::write(d.join("tokenizer_config.json"), "{}").unwrap();
    let mut m = OrtEngine::load(&d, opts.clone(), &mut |_| {}).unwrap();
    let e = m
        .generate(&[GenerateRequest {
            expected: None,
            prompt: Prompt::Chat(vec![Message::new("user", "hi")]),
            max_tokens: 1,
            stop: vec![],
        }])
        .unwrap_err();
    assert!(e.to_string().contains("no chat_template"), "{e}");
}

#[test]
fn four_bit_tiny_model_agrees_with_and_without_cache() {
    let t = tempfile::tempdir().unwrap();
    let mut kv = model(
        &t.path().join("kv"),
        TinySpec {
            seed: 9,
            q4: true,
            ..Default::default()
        },
    );
    let mut nokv = model(
        &t.path().join("nokv"),
        TinySpec {
            seed: 9,
            q4: true,
            kv_cache: false,
            ..Default::default()
        },
    );
    let ids = kv.model.encode("four bit blocks in the river").unwrap();
    let (a, b) = (kv.all_logits(&ids).unwrap(), nokv.all_logits(&ids).unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert!(max_abs_diff(x, y) <= 1e-4);
    }
    // And the 4-bit graph is not the float one: its logits differ from a same-seed f32 model.
    let mut f = model(
        &t.path().join("f32"),
        TinySpec {
            seed: 9,
            ..Default::default()
        },
    );
    assert!(max_abs_diff(&a[0], &f.all_logits(&ids).unwrap()[0]) > 1e-3);
    let g = GenerateRequest {
        expected: None,
        prompt: Prompt::Raw("in the".into()),
        max_tokens: 6,
        stop: vec![],
    };
    assert_eq!(
        kv.generate(std::slice::from_ref(&g)).unwrap(),
        nokv.generate(&[g]).unwrap()
    );
}

#[test]
fn a_shared_prefix_runs_once_and_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let mut m = model(
        t.path(),
        TinySpec {
            seed: 21,
            layers: 2,
            ..Default::default()
        },
    );
    // Two personas: every prompt shares the chat template's start, and each persona's
    // prompts share their system turn too (a tree of two levels).
    let personas = [
        "You are warm, caring and kind, and you keep every fact exact.",
        "You are curt and cold, but you keep every fact exact.",
    ];
    let questions = [
        "what is the sea?",
        "and where is the old river that runs to the sea?",
        "why?",
    ];
    let conts = vec![
        " water".to_string(),
        " in the north of the land".to_string(),
    ];
    let reqs: Vec<LoglikRequest> = personas
        .iter()
        .flat_map(|p| questions.iter().map(move |q| (p, q)))
        .map(|(p, q)| LoglikRequest {
            expected: None,
            prompt: Prompt::Chat(vec![Message::new("system", *p), Message::new("user", *q)]),
            continuations: conts.clone(),
        })
        .collect();
    let shared = m.loglik(&reqs).unwrap();
    let together = m.usage().computed;
    let mut apart = 0;
    for (r, req) in reqs.iter().enumerate() {
        // Alone, nothing is shared: the numbers must be the same.
        let before = m.usage().computed;
        let alone = m.loglik(std::slice::from_ref(req)).unwrap();
        apart += m.usage().computed - before;
        for c in 0..conts.len() {
            assert!(
                (shared[r][c].logprob - alone[0][c].logprob).abs() < 1e-4,
                "{r} {c}: {} vs {}",
                shared[r][c].logprob,
                alone[0][c].logprob
            );
        }
    }
    // Each system turn is fed once, not three times: apart, the second and third
    // prompts of each persona feed it again.
    let persona = m.model.encode(personas[1]).unwrap().len() as u64;
    assert!(
        together + 2 * 2 * persona <= apart,
        "{together} vs {apart} ({persona})"
    );
}

#[test]
fn several_workers_give_the_same_numbers_as_one() {
    let t = tempfile::tempdir().unwrap();
    tiny::write(
        t.path(),
        &TinySpec {
            seed: 13,
            ..Default::default()
        },
    )
    .unwrap();
    let one = EngineOptions {
        threads: 1,
        workers: 1,
        max_batch_tokens: 64,
        ..Default::default()
    };
    let two = EngineOptions {
        workers: 2,
        ..one.clone()
    };
    let mut a = OrtEngine::load(t.path(), one, &mut |_| {}).unwrap();
    let mut b = OrtEngine::load(t.path(), two, &mut |_| {}).unwrap();
    // A small token budget makes many groups, so both workers get some.
    let reqs: Vec<LoglikRequest> = (0..12)
        .map(|i| LoglikRequest {
            expected: None,
            prompt: Prompt::Raw(format!(
                "question {i}: where is the sea {}?",
                "and the river ".repeat(i % 4)
            )),
            continuations: vec![" here".into(), " in the north".into()],
        })
        .collect();
    let (x, y) = (a.loglik(&reqs).unwrap(), b.loglik(&reqs).unwrap());
    for (r, (p, q)) in x.iter().zip(&y).enumerate() {
        for (c, (u, v)) in p.iter().zip(q).enumerate() {
            assert!((u.logprob - v.logprob).abs() < 1e-4, "{r} {c}");
        }
    }
    let gens: Vec<GenerateRequest> = (0..5)
        .map(|i| GenerateRequest {
            expected: None,
            prompt: Prompt::Raw(format!("story {i}")),
            max_tokens: 5,
            stop: vec![],
        })
        .collect();
    assert_eq!(a.generate(&gens).unwrap(), b.generate(&gens).unwrap());
}

#[test]
fn throughput_switches_change_speed_not_numbers_and_sharing_saves_tokens() {
    let t = tempfile::tempdir().unwrap();
    tiny::write(
        t.path(),
        &TinySpec {
            seed: 17,
            ..Default::default()
        },
    )
    .unwrap();
    let on = EngineOptions {
        threads: 1,
        max_batch_tokens: 96,
        ..Default::default()
    };
    // Prompts of different lengths, several multi-token continuations sharing words.
    let reqs: Vec<LoglikRequest> = (0..9)
        .map(|i| LoglikRequest {
            expected: None,
            prompt: Prompt::Raw(format!(
                "Q: why is the sky {}blue?\nA:",
                "very ".repeat(i % 5)
            )),
            continuations: vec![
                " because of light".into(),
                " because of the sea".into(),
                " it is not".into(),
                // Ends where the stem it shares with the two above would: its last
                // token is scored from the stem's pass alone.
                " because".into(),
            ],
        })
        .collect();
    let mut reference = OrtEngine::load(t.path(), on.clone(), &mut |_| {}).unwrap();
    let want = reference.loglik(&reqs).unwrap();
    let shared = reference.usage();
    assert!(shared.computed > 0 && shared.computed < shared.from_scratch);
    for off in [
        EngineOptions {
            share_prompt: false,
            ..on.clone()
        },
        EngineOptions {
            sort_by_length: false,
            ..on.clone()
        },
        EngineOptions {
            keep_logits: false,
            ..on.clone()
        },
        EngineOptions {
            share_stems: false,
            ..on.clone()
        },
    ] {
        let mut e = OrtEngine::load(t.path(), off.clone(), &mut |_| {}).unwrap();
        let got = e.loglik(&reqs).unwrap();
        for (r, (p, q)) in want.iter().zip(&got).enumerate() {
            for (c, (u, v)) in p.iter().zip(q).enumerate() {
                assert!((u.logprob - v.logprob).abs() < 1e-4, "{off:?}: {r} {c}");
                assert_eq!(u.n_tokens, v.n_tokens);
            }
        }
        let u = e.usage();
        assert_eq!(u.from_scratch, shared.from_scratch, "{off:?}");
        if !off.share_prompt {
            // Every pair from scratch: at least as many positions as that costs.
            assert!(u.computed >= u.from_scratch, "{u:?}");
            assert!(u.computed > shared.computed, "{u:?} vs {shared:?}");
        }
        if !off.share_stems {
            // " because" fed once per prompt instead of three times.
            assert!(u.computed > shared.computed, "{u:?} vs {shared:?}");
        }
    }
}

#[test]
fn bench_reports_each_generation_run_and_their_medians() {
    let t = tempfile::tempdir().unwrap();
    let mut m = model(t.path(), TinySpec::default());
    let mut steps = vec![];
    let r =
        candor::engine::bench::run(&mut m, 1, 0.0, 3, &mut |s| steps.push(s.to_string())).unwrap();
    assert_eq!(r.generate_runs.len(), 3);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[1]
    };
    let b1: Vec<f64> = r.generate_runs.iter().map(|p| p.0).collect();
    let b8: Vec<f64> = r.generate_runs.iter().map(|p| p.1).collect();
    assert!(b1.iter().chain(&b8).all(|x| x.is_finite() && *x > 0.0));
    assert_eq!(r.generate_b1_tokens_per_s, median(b1));
    assert_eq!(r.generate_b8_tokens_per_s, median(b8));
    let ratios = r.generate_runs.iter().map(|p| p.1 / p.0).collect();
    assert_eq!(r.generate_b8_over_b1, median(ratios));
    assert!(steps.iter().any(|s| s.contains("3 runs")), "{steps:?}");
    // The ablation that scores every option from scratch computes more positions.
    let on = &r.scoring_ablations[0];
    let scratch = r
        .scoring_ablations
        .iter()
        .find(|a| a.setting.contains("from scratch"))
        .unwrap();
    assert!(scratch.tokens_computed > on.tokens_computed);
}
