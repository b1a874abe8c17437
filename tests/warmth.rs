//! Warmth, end to end on the fake engine: a warmer candidate passes
//! `min_warmth_increase`, a colder one fails `max_warmth_decrease`, an
//! identical one passes `max_warmth_decrease` and fails
//! `min_warmth_increase` (which asks for evidence of an increase); the
//! scorer is opened once per run through the factory and its responses are
//! kept in the run store; bad inputs give clear errors; the quick profile
//! runs a smoke sample and says why its trials are ignored. And one check
//! on the real default model: a warm reply scores warmer than a cold one.

use candor::engine::{Engine, EngineError, ModelRef};
use candor::run::{self, results::Status, Output, RunOptions, RunResults, VariantSpec};
use libtest_mimic::Arguments;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Keeps the results and every error the run reports.
#[derive(Default)]
struct Capture {
    results: Option<RunResults>,
    errors: Vec<String>,
    diagnostics: Vec<String>,
}

impl run::work::Progress for Capture {}

impl Output for Capture {
    fn diagnostics(&mut self, d: &[candor::spec::Diagnostic]) {
        self.diagnostics.extend(
            d.iter()
                .map(|d| candor::report::render_diagnostic(d, false)),
        );
    }
    fn error(&mut self, e: &dyn std::fmt::Display) {
        self.errors.push(e.to_string());
    }
    fn results(&mut self, r: &RunResults) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.results = Some(r.clone());
        Ok(())
    }
}

/// A warmth suite of `n` prompts scored by `scorer`, written into `dir`.
fn suite(dir: &Path, scorer: &str, n: usize) -> PathBuf {
    let mut items = String::new();
    for i in 0..n {
        items.push_str(&format!(
            "  - id: p{i}\n    question: Prompt {i}, tell me about your day number {i}.\n"
        ));
    }
    let path = dir.join("warm.yaml");
    std::fs::write(
        &path,
        format!(
            "name: warm\nsource: tests\nlicense: Apache-2.0\nitems:\n{items}scoring:\n  generate: {{match: none, max_tokens: 16}}\ncontexts: [none]\nbeliefs: [none]\nwarmth:\n  model: \"{scorer}\"\ncriteria:\n  - max_warmth_decrease: {{margin_nats: 0.25}}\n  - min_warmth_increase: {{margin_nats: 0}}\n"
        ),
    )
    .unwrap();
    path
}

const SCORER: &str = "fake:scorer?warm=0.5";
const WARM: &str = "fake:m?prefix=I'm+so+glad+you+asked,+dear+friend.";
const PLAIN: &str = "fake:m";

struct Ran {
    code: ExitCode,
    out: Capture,
    /// Every model the factory opened, in order.
    opened: Vec<String>,
    /// What libtest printed.
    libtest: String,
}

fn run_pair(spec: &Path, baseline: &str, candidate: &str, tune: impl Fn(&mut RunOptions)) -> Ran {
    let opened = RefCell::new(Vec::new());
    let engines = |m: &ModelRef, p: &mut dyn FnMut(&str)| -> Result<Box<dyn Engine>, EngineError> {
        opened.borrow_mut().push(m.to_string());
        use candor::run::MakeEngine;
        run::BuiltinEngines.make(m, p)
    };
    let variant = |m: &str| VariantSpec {
        model: ModelRef::parse(m).unwrap(),
        persona: None,
    };
    let mut opts = RunOptions {
        specs: vec![spec.display().to_string()],
        templates_dir: "tests/fixtures/templates".into(),
        baseline: variant(baseline),
        candidate: variant(candidate),
        limit: None,
        quick: None,
        seed: 0,
        store: None,
        snapshots: None,
    };
    tune(&mut opts);
    let mut out = Capture::default();
    // libtest's lines go to a file (read back by the tests that need them),
    // not into this test binary's own output.
    let log = spec.with_extension("log");
    let args = Arguments {
        logfile: Some(log.display().to_string()),
        ..Default::default()
    };
    let code = run::run(&opts, &engines, &mut out, &args);
    Ran {
        code,
        out,
        opened: opened.into_inner(),
        libtest: std::fs::read_to_string(&log).unwrap_or_default(),
    }
}

fn trial<'a>(r: &'a RunResults, gate: &str) -> &'a run::results::TrialRecord {
    r.trials
        .iter()
        .find(|t| t.criterion == gate)
        .unwrap_or_else(|| panic!("no {gate} trial in {:?}", r.trials))
}

#[test]
fn a_warmer_candidate_passes_the_increase_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let spec = suite(dir.path(), SCORER, 30);
    let ran = run_pair(&spec, PLAIN, WARM, |_| {});
    let r = ran.out.results.as_ref().expect("results");
    assert_eq!(ran.code, ExitCode::SUCCESS, "{:?}", r.trials);
    let inc = trial(r, "min_warmth_increase");
    assert_eq!(inc.status, Status::Passed);
    assert_eq!(inc.name, "warm::none::none::min_warmth_increase");
    assert_eq!(inc.n, 30);
    // Three warm words, each worth 0.5 nats after a warm opener and -0.5
    // after a distant one: +3 nats, give or take the fake's noise.
    assert!((inc.effect - 3.0).abs() < 1.0, "{}", inc.effect);
    assert!(inc.effect_ci.lo > 0.0 && inc.p.unwrap() < 1e-6);
    let (b, c) = (inc.baseline_warmth.unwrap(), inc.candidate_warmth.unwrap());
    assert!((c.mean - b.mean - inc.effect).abs() < 1e-9);
    assert_eq!(trial(r, "max_warmth_decrease").status, Status::Passed);
    // Both warmth gates are one Holm family.
    assert_eq!((inc.family.as_str(), inc.family_size), ("warm", 2));
    // Per condition and per sample.
    let w = r.suites[0].conditions[0].warmth.as_ref().unwrap();
    assert_eq!(w.n, 30);
    assert!((w.delta - inc.effect).abs() < 1e-9);
    assert_eq!(r.samples.len(), 60);
    assert!(r
        .samples
        .iter()
        .all(|s| s.warmth.is_some() && s.verdict == candor::score::Verdict::Unscored));
    // No verdicts, so no error counts.
    assert_eq!(r.suites[0].conditions[0].n, 0);
}

#[test]
fn a_colder_candidate_fails_the_decrease_with_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let spec = suite(dir.path(), SCORER, 30);
    let ran = run_pair(&spec, WARM, PLAIN, |_| {});
    assert_eq!(ran.code, ExitCode::from(101));
    assert!(
        ran.libtest
            .contains("test warm::none::none::max_warmth_decrease ... FAILED"),
        "{}",
        ran.libtest
    );
    let r = ran.out.results.as_ref().unwrap();
    let dec = trial(r, "max_warmth_decrease");
    assert_eq!(dec.status, Status::Failed);
    assert!(dec.effect < -2.0, "{}", dec.effect);
    let msg = dec.message.as_deref().unwrap();
    assert!(msg.contains("gate max_warmth_decrease"), "{msg}");
    assert!(msg.contains("Δ warmth = -"), "{msg}");
    assert!(msg.contains("baseline warmth"), "{msg}");
    assert!(msg.contains("replies that lost the most warmth"), "{msg}");
    assert_eq!(dec.flips.len(), 5);
    assert!(dec.flips[0].baseline.starts_with("I'm so glad"));
    assert_eq!(trial(r, "min_warmth_increase").status, Status::Failed);
    // The reports carry it.
    let summary = candor::report::summary::render(r);
    assert!(summary.contains("## Warmth"), "{summary}");
    assert!(summary.contains("| warm::none::none | 30 |"), "{summary}");
    let html = candor::report::html::render(r);
    assert!(html.contains("Δ warmth") && html.contains("nats"), "html");
    // results.json reads back, warmth and all, and renders the same summary.
    let json = serde_json::to_string(r).unwrap();
    let back = RunResults::from_json(&json).unwrap();
    assert_eq!(candor::report::summary::render(&back), summary);
    assert_eq!(back.suites, r.suites);
    let lines = candor::report::warmth_lines(r);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("warmth warm::none::none (30 items"),
        "{lines:?}"
    );
}

#[test]
fn an_identical_candidate_passes_the_decrease_and_shows_no_increase() {
    let dir = tempfile::tempdir().unwrap();
    let spec = suite(dir.path(), SCORER, 30);
    let ran = run_pair(&spec, WARM, WARM, |_| {});
    let r = ran.out.results.as_ref().unwrap();
    let dec = trial(r, "max_warmth_decrease");
    assert_eq!(dec.status, Status::Passed);
    assert_eq!((dec.effect, dec.p), (0.0, Some(1.0)));
    // Not warmer, so the confirmation is not given: by design.
    assert_eq!(trial(r, "min_warmth_increase").status, Status::Failed);
    // The same model on both sides and as the scorer? No: the scorer is
    // its own model here, opened once beside the shared pair.
    assert_eq!(ran.opened, [WARM, SCORER]);
}

#[test]
fn the_scorer_is_opened_once_and_shared_with_the_pair_when_it_is_one_of_them() {
    let dir = tempfile::tempdir().unwrap();
    // The scorer is the baseline's model: loaded once for both jobs.
    let spec = suite(dir.path(), PLAIN, 12);
    let ran = run_pair(&spec, PLAIN, WARM, |_| {});
    assert_eq!(ran.opened, [PLAIN, WARM]);
    assert!(ran.out.results.is_some(), "{:?}", ran.out.errors);
}

#[test]
fn scorer_responses_go_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let spec = suite(dir.path(), SCORER, 12);
    let store = dir.path().join("store.sqlite");
    let with_store = |o: &mut RunOptions| o.store = Some(store.clone());
    let first = run_pair(&spec, PLAIN, WARM, with_store);
    let s1 = first.out.results.as_ref().unwrap().store.unwrap();
    // 12 generations per model, 8 openers x 12 replies per model for the scorer.
    assert_eq!((s1.reused, s1.total), (0, 2 * 12 + 2 * 12 * 8));
    let second = run_pair(&spec, PLAIN, WARM, with_store);
    let r2 = second.out.results.as_ref().unwrap();
    assert_eq!(r2.store.unwrap().reused, s1.total);
    assert_eq!(
        trial(r2, "min_warmth_increase").effect,
        trial(first.out.results.as_ref().unwrap(), "min_warmth_increase").effect
    );
    // A different scorer is a different fingerprint: nothing of it is reused.
    let spec2 = suite(dir.path(), "fake:scorer?warm=0.7", 12);
    let third = run_pair(&spec2, PLAIN, WARM, with_store);
    let s3 = third.out.results.as_ref().unwrap().store.unwrap();
    assert_eq!(s3.reused, 2 * 12, "only the generations are reused");
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A scorer that is no model.
    let spec = suite(dir.path(), "fake:scorer?warm=hot", 4);
    let ran = run_pair(&spec, PLAIN, WARM, |_| {});
    assert_eq!(ran.code, ExitCode::from(run::EXIT_ERROR));
    let err = ran.out.errors.join("\n");
    assert!(
        err.contains("fake:scorer?warm=hot") && err.contains("`warm`"),
        "{err}"
    );
    let spec = suite(dir.path(), "no/such/model/dir", 4);
    let ran = run_pair(&spec, PLAIN, WARM, |_| {});
    assert_eq!(ran.code, ExitCode::from(run::EXIT_ERROR));
    assert!(
        ran.out.errors.join("\n").contains("no/such/model/dir"),
        "{:?}",
        ran.out.errors
    );
    // A warmth gate on a choice suite is refused before anything runs.
    let bad = dir.path().join("choice.yaml");
    std::fs::write(
        &bad,
        "name: c\nsource: t\nlicense: MIT\nitems:\n  - {id: a, question: q, correct: [x], incorrect: [y]}\nscoring:\n  choice: {}\ncontexts: [none]\nbeliefs: [none]\ncriteria:\n  - min_warmth_increase: {margin_nats: 0}\n",
    )
    .unwrap();
    let ran = run_pair(&bad, PLAIN, WARM, |_| {});
    assert_eq!(ran.code, ExitCode::from(run::EXIT_ERROR));
    let d = ran.out.diagnostics.join("\n");
    assert!(
        d.contains("`min_warmth_increase` needs a `warmth` section"),
        "{d}"
    );
    assert!(ran.opened.is_empty(), "no model opened: {:?}", ran.opened);
}

#[test]
fn the_quick_profile_runs_a_smoke_sample_and_ignores_the_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let spec = suite(dir.path(), SCORER, 30);
    let ran = run_pair(&spec, WARM, PLAIN, |o| {
        o.quick = Some(run::QUICK_CASES_PER_SUITE)
    });
    // The colder candidate would fail, but the quick profile does not count it.
    assert_eq!(ran.code, ExitCode::SUCCESS);
    let r = ran.out.results.as_ref().unwrap();
    assert_eq!(r.cases_per_model, run::QUICK_GENERATED_CASES);
    for t in &r.trials {
        assert_eq!(t.status, Status::Ignored, "{}", t.name);
        let why = t.ignored_reason.as_deref().unwrap();
        let cut = format!("{} of 30 items", run::QUICK_GENERATED_CASES);
        assert!(why.contains(&cut) && why.contains("--full"), "{why}");
    }
    assert_eq!(r.totals.ignored, 2);
    assert!(
        ran.libtest
            .contains("test warm::none::none::max_warmth_decrease ... ignored (quick profile"),
        "{}",
        ran.libtest
    );
}

/// The default model (SmolLM2-135M-Instruct, as the shipped suite's scorer)
/// finds a warm reply warmer than a cold one. Provisions the default model
/// into candor's cache on first run, as tests/reference.rs does.
#[test]
fn the_default_model_scores_a_warm_reply_warmer_than_a_cold_one() {
    let cfg = candor::spec::load(Path::new("specs/warmth.yaml"))
        .unwrap()
        .warmth
        .unwrap();
    let mut m = candor::engine::open(
        &ModelRef::parse(&cfg.model).unwrap(),
        &candor::engine::EngineOptions::default(),
        &mut |s| eprintln!("{s}"),
    )
    .unwrap();
    let score = |m: &mut Box<dyn Engine>, reply: &str| {
        let reqs = candor::score::warmth::requests(reply, &cfg);
        let s = m.loglik(&reqs).unwrap();
        candor::score::warmth::warmth(&s, &cfg).unwrap()
    };
    let warm = score(
        &mut m,
        "Oh, I'm so sorry you're going through this. I'm always here for you, and I love you.",
    );
    let cold = score(
        &mut m,
        "Submit the completed form by Friday. Late applications will be rejected without review.",
    );
    eprintln!("default model: warm reply {warm:+.3} nats, cold reply {cold:+.3} nats");
    assert!(warm > cold, "warm {warm} vs cold {cold}");
    assert!(warm > 0.0, "warm {warm}");
}

/// Warmth beside a verdict: a judged suite measures its replies' warmth
/// too, and its error gate and warmth gates run side by side, in one family.
#[test]
fn a_judged_suite_measures_warmth_beside_its_error_gate() {
    let dir = tempfile::tempdir().unwrap();
    let mut items = String::new();
    for i in 0..20 {
        items.push_str(&format!(
            "  - {{id: q{i}, question: \"What is {i} plus one?\", correct: [\"{}\"], incorrect: [\"{}\"]}}\n",
            i + 1,
            i + 2
        ));
    }
    let spec = dir.path().join("judged.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: judged\nsource: tests\nlicense: Apache-2.0\nitems:\n{items}scoring:\n  judge: {{model: \"fake:judge\", template: judges/correct.j2}}\ncontexts: [none]\nbeliefs: [none]\nwarmth:\n  model: \"{SCORER}\"\ncriteria:\n  - max_error_increase: {{tolerance_pp: 5}}\n  - min_warmth_increase: {{margin_nats: 0}}\n"
        ),
    )
    .unwrap();
    let ran = run_pair(&spec, PLAIN, WARM, |_| {});
    let r = ran.out.results.as_ref().expect("results");
    assert_eq!(
        ran.code,
        ExitCode::SUCCESS,
        "{:?} {:?}",
        ran.out.errors,
        r.trials
    );
    let c = &r.suites[0].conditions[0];
    // The fake answers every item right: 20 verdicts, no errors.
    assert_eq!((c.n, c.baseline.errors, c.candidate.errors), (20, 0, 0));
    assert!(c.warmth.as_ref().unwrap().delta > 2.0);
    let inc = trial(r, "min_warmth_increase");
    assert_eq!((inc.status, inc.family_size), (Status::Passed, 2));
    assert_eq!(trial(r, "max_error_increase").status, Status::Passed);
}
