//! How a project gates inside `cargo test` (a `harness = false` target): here,
//! every shipped spec must validate, and a fixed fake pair must give its known
//! verdicts. A user's own target would call `candor::run::run` with their
//! model directories instead.

use candor::run::{self, RunOptions, VariantSpec};
use libtest_mimic::Arguments;
use std::process::ExitCode;

fn main() -> ExitCode {
    // 1. Every shipped spec validates against the shipped templates (if any are there yet).
    let shipped: Vec<String> = glob::glob("specs/*.yaml")
        .unwrap()
        .filter_map(Result::ok)
        .map(|p| p.display().to_string())
        .collect();
    if !shipped.is_empty() {
        if let Err(diags) = run::prepare(&shipped, "templates".into(), None, 0) {
            candor::report::diagnostics(&diags);
            return ExitCode::from(run::EXIT_ERROR);
        }
        eprintln!("suites: {} shipped specs validate", shipped.len());
    }
    // 2. A fixed pair whose verdicts are known: identical noisy models pass every gate.
    let opts = RunOptions {
        specs: vec!["tests/fixtures/good/*.yaml".into()],
        templates_dir: "tests/fixtures/templates".into(),
        baseline: VariantSpec {
            model: "fake:base?flip=0.1".into(),
            persona: None,
        },
        candidate: VariantSpec {
            model: "fake:base?flip=0.1".into(),
            persona: Some("warm".into()),
        },
        limit: None,
        quick: None,
        seed: 0,
    };
    run::run(&opts, &Arguments::from_args())
}
