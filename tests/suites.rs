//! How a project gates inside `cargo test` (a `harness = false` target): here,
//! every shipped spec must validate, and a fixed fake pair must give its known
//! verdicts. A user's own target would call `candor::run::run` with their
//! model directories, or with a factory for an engine of their own (see the
//! crate docs).

use candor::engine::ModelRef;
use candor::run::{self, RunOptions, VariantSpec};
use libtest_mimic::Arguments;
use std::process::ExitCode;

fn main() -> ExitCode {
    // 1. Every shipped spec validates against the shipped templates.
    let shipped: Vec<String> = glob::glob("specs/*.yaml")
        .unwrap()
        .filter_map(Result::ok)
        .map(|p| p.display().to_string())
        .collect();
    if shipped.is_empty() {
        eprintln!("error: suites: no shipped spec under specs/*.yaml (run from the project root)");
        return ExitCode::from(run::EXIT_ERROR);
    }
    if let Err(diags) = run::prepare(&shipped, "templates".into(), None, 0) {
        candor::report::diagnostics(&diags);
        return ExitCode::from(run::EXIT_ERROR);
    }
    eprintln!("suites: {} shipped specs validate", shipped.len());
    // 2. A fixed pair whose verdicts are known: identical noisy models pass every gate.
    let model = |text: &str| ModelRef::parse(text).expect("a valid fake model");
    let opts = RunOptions {
        specs: vec!["tests/fixtures/good/*.yaml".into()],
        templates_dir: "tests/fixtures/templates".into(),
        baseline: VariantSpec {
            model: model("fake:base?flip=0.1"),
            persona: None,
        },
        candidate: VariantSpec {
            model: model("fake:base?flip=0.1"),
            persona: Some("warm".into()),
        },
        limit: None,
        quick: None,
        seed: 0,
        store: None,
        snapshots: None,
    };
    let mut output = candor::report::Terminal::default();
    run::run(
        &opts,
        &run::BuiltinEngines,
        &mut output,
        &Arguments::from_args(),
    )
}
