//! Calibration of the gate as the runner uses it: simulated suites.
//!
//! A gate in a family of 9 conditions fails when the Holm-adjusted one-sided
//! p of [`paired_p_value`] is below alpha. These tests simulate two models on
//! a suite of items with latent difficulties and check that (a) two identical
//! models fail some gate of the family in at most alpha of runs, within
//! Monte-Carlo error, and (b) a planted 15 pp regression in one condition is
//! caught in at least 80% of runs.

use super::rng::SplitMix64;
use super::{adjust, paired_p_value, Correction, PairedTable};

const CONDITIONS: usize = 9;
const ITEMS: usize = 200;
const ALPHA: f64 = 0.05;

/// A suite: each item has a latent difficulty (log-odds of an error), shared
/// by both models and shifted a little per condition, as contexts make
/// questions harder or easier.
struct Suite {
    /// Error probability for `[condition][item]`.
    p_wrong: Vec<Vec<f64>>,
}

impl Suite {
    fn draw(rng: &mut SplitMix64) -> Self {
        let difficulty: Vec<f64> = (0..ITEMS).map(|_| -1.3 + 1.6 * rng.normal()).collect();
        let p_wrong = (0..CONDITIONS)
            .map(|cond| {
                let shift = 0.1 * cond as f64 - 0.4;
                difficulty
                    .iter()
                    .map(|d| 1.0 / (1.0 + (-(d + shift)).exp()))
                    .collect()
            })
            .collect();
        Self { p_wrong }
    }

    /// One run of both models on condition `cond`: every answer is an
    /// independent noisy draw with the item's error probability. With
    /// `regression`, the candidate then gets that share of all items wrong
    /// that it had right (chosen at random), i.e. an extra `regression`
    /// of items flip from right to wrong.
    fn run(&self, cond: usize, regression: f64, rng: &mut SplitMix64) -> PairedTable {
        let mut pairs: Vec<(bool, bool)> = self.p_wrong[cond]
            .iter()
            .map(|&p| (rng.bernoulli(p), rng.bernoulli(p)))
            .collect();
        let mut to_flip = (regression * ITEMS as f64).round() as usize;
        let mut right: Vec<usize> = (0..ITEMS).filter(|&i| !pairs[i].1).collect();
        while to_flip > 0 && !right.is_empty() {
            let pick = rng.below(right.len() as u64) as usize;
            let item = right.swap_remove(pick);
            pairs[item].1 = true;
            to_flip -= 1;
        }
        PairedTable::from_pairs(pairs)
    }
}

/// Holm-adjusted p-values of one simulated family; condition 0 carries
/// `regression`, the rest are null.
fn family(seed: u64, regression: f64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let suite = Suite::draw(&mut rng);
    let p: Vec<f64> = (0..CONDITIONS)
        .map(|cond| {
            let extra = if cond == 0 { regression } else { 0.0 };
            paired_p_value(&suite.run(cond, extra, &mut rng), 0.0, 0.05)
        })
        .collect();
    adjust(&p, Correction::Holm)
}

#[test]
fn identical_models_fail_a_nine_gate_family_at_most_alpha_of_the_time() {
    let runs = 400u64;
    let failures = (0..runs)
        .filter(|&seed| family(seed, 0.0).iter().any(|&p| p < ALPHA))
        .count();
    let rate = failures as f64 / runs as f64;
    let se = (ALPHA * (1.0 - ALPHA) / runs as f64).sqrt();
    eprintln!("family-wise false alarm rate: {rate} ({failures}/{runs})");
    assert!(rate <= ALPHA + 3.0 * se, "family-wise failure rate {rate}");
}

#[test]
fn a_planted_15pp_regression_is_caught() {
    let runs = 400u64;
    let mut caught = 0;
    let mut false_alarms = 0;
    for seed in 0..runs {
        let adjusted = family(1_000_000 + seed, 0.15);
        if adjusted[0] < ALPHA {
            caught += 1;
        }
        if adjusted[1..].iter().any(|&p| p < ALPHA) {
            false_alarms += 1;
        }
    }
    let rate = caught as f64 / runs as f64;
    eprintln!(
        "planted 15 pp regression caught in {caught}/{runs}; other gates failed in {false_alarms}"
    );
    assert!(rate >= 0.80, "power {rate}");
    assert!(false_alarms as f64 / runs as f64 <= ALPHA + 3.0 * (ALPHA * 0.95 / runs as f64).sqrt());
}

#[test]
fn the_tolerance_gate_holds_its_level_at_the_margin() {
    // A single gate with a 5 pp tolerance, true difference exactly 5 pp: the
    // exact test rejects at most alpha of the time (within 3 SE).
    let runs = 2000u64;
    let (n, margin) = (200usize, 0.05);
    let (p10, p01) = (0.10, 0.05); // discordance 15%, difference 5 pp
    let mut rng = SplitMix64::new(77);
    let mut rejections = 0;
    for _ in 0..runs {
        let pairs = (0..n).map(|_| {
            let u = rng.next_f64();
            if u < p10 {
                (false, true)
            } else if u < p10 + p01 {
                (true, false)
            } else {
                (false, false)
            }
        });
        if paired_p_value(&PairedTable::from_pairs(pairs), margin, 0.05) < ALPHA {
            rejections += 1;
        }
    }
    let rate = rejections as f64 / runs as f64;
    let se = (ALPHA * (1.0 - ALPHA) / runs as f64).sqrt();
    eprintln!("tolerance gate size at the margin: {rate}");
    assert!(rate <= ALPHA + 3.0 * se, "size {rate}");
}
