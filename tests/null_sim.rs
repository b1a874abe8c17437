//! The null simulation through criteria and runner: two identical noisy fake
//! models over a 9-condition Holm family fail some gate in at most alpha of
//! the runs (within Monte-Carlo error); a planted 15 pp regression on 200 items
//! is caught in at least 80% of runs.

use candor::engine::fake::{FakeEngine, FakeSpec};
use candor::run;
use std::path::Path;

fn setup(dir: &Path) -> run::Prepared {
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
        "name: null\nsource: simulated\nlicense: Apache-2.0\nitems:\n{items}scoring:\n  choice: {{}}\ncontexts: [none, c1, c2, c3, c4, c5, c6, c7, c8]\nbeliefs: [none]\ncriteria:\n  - max_error_increase: {{tolerance_pp: 0, alpha: 0.05}}\ncorrection: holm\n"
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

#[test]
fn holm_keeps_family_wise_false_failures_at_alpha_and_catches_15pp() {
    let dir = tempfile::tempdir().unwrap();
    let prep = setup(dir.path());
    let runs = 200;
    let mut false_failures = 0;
    for s in 0..runs {
        let (failed, _) = any_failed(
            &prep,
            &format!("fake:m?seed={}&flip=0.2", 2 * s),
            &format!("fake:m?seed={}&flip=0.2", 2 * s + 1),
        );
        false_failures += failed as usize;
    }
    // alpha = 0.05; Monte-Carlo sd at 200 runs = sqrt(0.05 * 0.95 / 200) ≈ 0.0154: allow 2 sd.
    let rate = false_failures as f64 / runs as f64;
    assert!(
        rate <= 0.05 + 2.0 * 0.0154,
        "family-wise false failure rate {rate}"
    );

    let runs = 50;
    let mut caught = 0;
    for s in 0..runs {
        // Independent noise: baseline 10% wrong, candidate 10% + 15 pp under context 3 only.
        let (failed, names) = any_failed(
            &prep,
            &format!("fake:m?seed={}&flip=0.1", 1000 + 2 * s),
            &format!(
                "fake:m?seed={}&flip=0.1&extra=0.15&when=Context%20number%203,",
                1001 + 2 * s
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
    assert!(
        caught as f64 / runs as f64 >= 0.8,
        "caught {caught} of {runs}"
    );
}
