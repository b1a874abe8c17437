//! Throughput measurements of the ONNX Runtime engine (for `candor bench`).

use super::onnx::OrtEngine;
use super::{Engine, EngineError, GenerateRequest, LoglikRequest, Prompt};
use std::time::Instant;

#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    pub model: String,
    pub threads: usize,
    /// 8 prompts × 128 tokens in one batch, logits for the last position.
    pub prefill_tokens_per_s: f64,
    /// Option scoring: prompts of ~100 tokens with 4–8 options of ~10 tokens.
    pub loglik_items_per_s: f64,
    pub loglik_tokens_per_s: f64,
    pub loglik_items: usize,
    /// Greedy decoding, the median of `generate_runs` runs.
    pub generate_b1_tokens_per_s: f64,
    pub generate_b8_tokens_per_s: f64,
    /// The median over runs of each run's batch 8 / batch 1 (the two measured back to back).
    pub generate_b8_over_b1: f64,
    /// Each run's (batch 1, batch 8) tokens/s: batch 1 moves most with the machine's load.
    pub generate_runs: Vec<(f64, f64)>,
    pub load_s: f64,
    pub peak_rss_mb: f64,
    /// The scoring workload again with each optimisation off (then on again).
    pub scoring_ablations: Vec<Ablation>,
}

/// Scoring throughput with one setting changed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Ablation {
    pub setting: String,
    pub items_per_s: f64,
    /// Positions run through the model (padding included) for the workload.
    pub tokens_computed: u64,
    pub tokens_from_scratch: u64,
    /// Positions whose logits the model returned.
    pub logit_positions: u64,
}

/// Peak resident memory of this process (VmHWM), in MB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

const WORDS: [&str; 16] = [
    "river", "mountain", "the", "of", "quiet", "history", "a", "number", "city", "light", "and",
    "science", "old", "map", "in", "water",
];

fn sentence(seed: usize, n_words: usize) -> String {
    (0..n_words)
        .map(|i| WORDS[(seed * 7 + i * 13 + i * i) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A prompt of exactly `n` tokens.
fn prompt_ids(m: &OrtEngine, seed: usize, n: usize) -> Result<Vec<u32>, EngineError> {
    let mut ids = m.model.encode(&sentence(seed, n * 2))?;
    ids.truncate(n);
    Ok(ids)
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Measures `m`; greedy decoding at batch 1 and 8 runs `repeat` times, back to back.
pub fn run(
    m: &mut OrtEngine,
    threads: usize,
    load_s: f64,
    repeat: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<BenchResult, EngineError> {
    // Prefill: 8 × 128 tokens, best of 3 (the first run also warms up).
    progress("prefill 8×128");
    let batch: Vec<Vec<u32>> = (0..8)
        .map(|i| prompt_ids(m, i, 128))
        .collect::<Result<_, _>>()?;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        m.prefill(&batch)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let prefill = 1024.0 / best;

    progress("option scoring");
    let reqs: Vec<LoglikRequest> = (0..48)
        .map(|i| LoglikRequest {
            expected: None,
            prompt: Prompt::Raw(format!("Question {i}: {}?\nAnswer:", sentence(i, 60))),
            continuations: (0..4 + i % 5)
                .map(|k| format!(" {}", sentence(i * 31 + k, 6 + k % 3)))
                .collect(),
        })
        .collect();
    let tokens: usize = reqs
        .iter()
        .map(|r| {
            let ctx = m.model.render(&r.prompt).unwrap_or_default();
            r.continuations
                .iter()
                .map(|c| {
                    m.model
                        .encode_pair(&ctx, c)
                        .map(|(p, c)| p.len() + c.len())
                        .unwrap_or(0)
                })
                .sum::<usize>()
        })
        .sum();
    m.loglik(&reqs[..4])?;
    let on = m.options().clone();
    let scoring = |m: &mut OrtEngine, setting: &str| -> Result<Ablation, EngineError> {
        let before = m.usage();
        let t = Instant::now();
        m.loglik(&reqs)?;
        let dt = t.elapsed().as_secs_f64();
        let after = m.usage();
        Ok(Ablation {
            setting: setting.to_string(),
            items_per_s: reqs.len() as f64 / dt,
            tokens_computed: after.computed - before.computed,
            tokens_from_scratch: after.from_scratch - before.from_scratch,
            logit_positions: after.logits - before.logits,
        })
    };
    let all_on = scoring(m, "all on")?;
    let dt = reqs.len() as f64 / all_on.items_per_s;
    let mut ablations = vec![all_on];

    let repeat = repeat.max(1);
    progress(&format!("greedy generation, batch 1 and 8, {repeat} runs"));
    let gen = |n: usize, seed: usize| -> Vec<GenerateRequest> {
        (0..n)
            .map(|i| GenerateRequest {
                expected: None,
                prompt: Prompt::Raw(sentence(seed + i, 20)),
                max_tokens: 64,
                stop: vec![],
            })
            .collect()
    };
    let mut rate = |reqs: Vec<GenerateRequest>| -> Result<f64, EngineError> {
        // Time only decoding: subtract a prefill-only run of the same prompts.
        let mut one = reqs.clone();
        one.iter_mut().for_each(|r| r.max_tokens = 1);
        let t0 = Instant::now();
        m.generate(&one)?;
        let prefill = t0.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = m.generate(&reqs)?;
        let total = t.elapsed().as_secs_f64();
        let n: usize = out.iter().map(|g| g.n_tokens.saturating_sub(1)).sum();
        Ok(n as f64 / (total - prefill).max(1e-9))
    };
    let mut runs = vec![];
    for _ in 0..repeat {
        runs.push((rate(gen(1, 100))?, rate(gen(8, 200))?));
    }
    let b1 = median(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
    let b8 = median(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
    let b8_over_b1 = median(&runs.iter().map(|r| r.1 / r.0).collect::<Vec<_>>());
    // The ablations (scoring from scratch above all) need more memory than candor
    // does with its defaults, so they run last and the peak is read before them.
    let peak = peak_rss_mb();
    type Switch = fn(&mut super::onnx::EngineOptions);
    let switches: [(&str, Switch); 4] = [
        ("no prompt cache sharing (each option from scratch)", |o| {
            o.share_prompt = false
        }),
        ("no shared continuation stems", |o| o.share_stems = false),
        ("no length sorting", |o| o.sort_by_length = false),
        ("logits at every position", |o| o.keep_logits = false),
    ];
    for (setting, switch_off) in switches {
        let mut off = on.clone();
        switch_off(&mut off);
        progress(&format!("option scoring, {setting}"));
        m.set_options(off);
        let r = scoring(m, setting);
        m.set_options(on.clone());
        ablations.push(r?);
    }
    Ok(BenchResult {
        model: m.name().to_string(),
        threads,
        prefill_tokens_per_s: prefill,
        loglik_items_per_s: reqs.len() as f64 / dt,
        loglik_tokens_per_s: tokens as f64 / dt,
        loglik_items: reqs.len(),
        generate_b1_tokens_per_s: b1,
        generate_b8_tokens_per_s: b8,
        generate_b8_over_b1: b8_over_b1,
        generate_runs: runs,
        load_s,
        peak_rss_mb: peak,
        scoring_ablations: ablations,
    })
}
