//! The run stage: load and validate, plan, run the models (only for the
//! conditions the selected trials need), evaluate the gates, and hand the
//! trials to libtest-mimic.
//!
//! Exit codes: 0 every gate passed, 101 a gate failed, 2 a spec, template or
//! model error (nothing ran).

// Diagnostics are large but only on the cold, failing path.
#![allow(clippy::result_large_err)]

pub mod collect;
pub mod criteria;
pub mod models;
pub mod trials;
pub mod work;

use crate::engine::Engine;
use crate::prompt::{self, SuitePlan, Templates};
use crate::report;
use crate::spec::{self, Diagnostic, Suite};
use crate::store::{CachedEngine, Store};
use libtest_mimic::{Arguments, Trial};
pub use models::VariantSpec;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use trials::{TrialDef, TrialResult};

/// Exit code for a spec, template or model error.
pub const EXIT_ERROR: u8 = 2;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub specs: Vec<String>,
    pub templates_dir: PathBuf,
    pub baseline: VariantSpec,
    pub candidate: VariantSpec,
    pub limit: Option<usize>,
    /// The quick profile: at most this many cases per suite and model (items are cut
    /// to fit all of a suite's conditions); gates that need the full item count are ignored.
    pub quick: Option<usize>,
    pub seed: u64,
}

/// Cases per suite and model in the quick profile (the README's first command).
pub const QUICK_CASES_PER_SUITE: usize = 360;

/// Loaded, validated and rendered suites.
pub struct Prepared {
    pub suites: Vec<Suite>,
    pub templates: Templates,
    /// Every condition of every suite, rendered (so template errors surface before any model runs).
    pub plans: Vec<SuitePlan>,
    pub trials: Vec<TrialDef>,
}

/// Loads every spec and renders every case. All problems are returned.
pub fn prepare(
    specs: &[String],
    templates_dir: PathBuf,
    limit: Option<usize>,
    seed: u64,
) -> Result<Prepared, Vec<Diagnostic>> {
    prepare_sized(specs, templates_dir, limit, None, seed)
}

/// [`prepare`], with an optional budget of cases per suite (the quick profile).
pub fn prepare_sized(
    specs: &[String],
    templates_dir: PathBuf,
    limit: Option<usize>,
    quick: Option<usize>,
    seed: u64,
) -> Result<Prepared, Vec<Diagnostic>> {
    let paths = spec::expand_globs(specs)?;
    let suites = spec::load_all(&paths)?;
    let templates = Templates::new(templates_dir);
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    let all = |_: &str, _: &prompt::Condition| true;
    for s in &suites {
        let conditions = (s.contexts.len() * s.beliefs.len()).max(1);
        let limit = match (limit, quick) {
            (l, Some(budget)) => Some(l.unwrap_or(usize::MAX).min((budget / conditions).max(1))),
            (l, None) => l,
        };
        match prompt::plan_suite(
            s,
            &templates,
            &prompt::PlanOptions {
                seed,
                limit,
                select: &all,
            },
        ) {
            Ok(p) => plans.push(p),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let trials = trials::trial_defs(&suites);
    Ok(Prepared {
        suites,
        templates,
        plans,
        trials,
    })
}

/// The trial names a filter selects (libtest's rules: substring, `--exact`, `--skip`).
pub fn select<'a>(trials: &'a [TrialDef], args: &Arguments) -> Vec<&'a TrialDef> {
    trials
        .iter()
        .filter(|d| !args.is_filtered_out(&Trial::test(d.name.clone(), || Ok(()))) && !args.ignored)
        .collect()
}

/// The plans cut down to the conditions the selected trials need.
pub fn needed_plans(prep: &Prepared, selected: &[&TrialDef]) -> Vec<SuitePlan> {
    let needed = trials::needed_conditions(selected.iter().copied());
    prep.plans
        .iter()
        .filter_map(|p| {
            let conds = needed.get(&p.suite)?;
            let mut p = p.clone();
            p.conditions.retain(|(c, _)| conds.contains(c));
            Some(p)
        })
        .collect()
}

/// Both variants' model work and the evaluated trials.
pub struct Evaluation {
    pub results: Vec<TrialResult>,
    /// Cases run per variant (each one engine request, plus one judge request under `judge`).
    pub cases_run: usize,
    /// The plans that ran (cut down to the selected trials' conditions).
    pub plans: Vec<SuitePlan>,
    pub baseline: work::Outcomes,
    pub candidate: work::Outcomes,
}

/// Runs the selected trials' model work on the two engines and evaluates them.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    prep: &Prepared,
    selected: &[&TrialDef],
    baseline: &mut dyn Engine,
    baseline_persona: Option<&str>,
    candidate: &mut dyn Engine,
    candidate_persona: Option<&str>,
    seed: u64,
) -> Result<Evaluation, work::WorkError> {
    evaluate_with(
        prep,
        selected,
        baseline,
        baseline_persona,
        candidate,
        candidate_persona,
        seed,
        &mut work::NoProgress,
    )
}

/// [`evaluate`], reporting the model work's progress.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_with(
    prep: &Prepared,
    selected: &[&TrialDef],
    baseline: &mut dyn Engine,
    baseline_persona: Option<&str>,
    candidate: &mut dyn Engine,
    candidate_persona: Option<&str>,
    seed: u64,
    progress: &mut dyn work::Progress,
) -> Result<Evaluation, work::WorkError> {
    let plans = needed_plans(prep, selected);
    let mut judges = work::OpenJudges {
        key: work::answer_key(&prep.suites),
        open: Default::default(),
    };
    let base = work::run_variant_with(
        baseline,
        baseline_persona,
        &prep.suites,
        &plans,
        &prep.templates,
        &mut judges,
        ("baseline", progress),
    )?;
    let cand = work::run_variant_with(
        candidate,
        candidate_persona,
        &prep.suites,
        &plans,
        &prep.templates,
        &mut judges,
        ("candidate", progress),
    )?;
    let cases_run = plans
        .iter()
        .flat_map(|p| &p.conditions)
        .map(|(_, c)| c.len())
        .sum();
    let results = trials::evaluate(
        &prep.suites,
        &plans,
        &prep.trials,
        selected,
        &base,
        &cand,
        seed,
    );
    Ok(Evaluation {
        results,
        cases_run,
        plans,
        baseline: base,
        candidate: cand,
    })
}

/// Where a run's results go besides the terminal.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// The run store (`None`: no store; every response is computed).
    pub store: Option<PathBuf>,
    /// Write `results.json`, `samples.jsonl`, `junit.xml`, `summary.md` and `report.html` here.
    pub report_dir: Option<PathBuf>,
    /// Where suites with `snapshots: true` keep their answer snapshots (`None`: not checked).
    pub snapshots: Option<PathBuf>,
}

/// The whole run, as the CLI and a `harness = false` test target do it (no
/// store, no report files).
pub fn run(opts: &RunOptions, args: &Arguments) -> ExitCode {
    run_with(opts, &Outputs::default(), args)
}

/// Whether a trial is run but not counted: a count gate on a cut-down item list.
fn ignored(opts: &RunOptions, d: &TrialDef) -> bool {
    opts.quick.is_some() && matches!(d.kind, crate::spec::CriterionKind::MinItems { .. })
}

/// What the run store keys a model's responses by: [`Engine::fingerprint`]; a
/// fake model also answers from the suites' items, so their hash is part of it.
fn store_fingerprint(engine: &dyn Engine, model: &str, suites: &[Suite]) -> String {
    let fp = engine.fingerprint();
    if !model.starts_with("fake:") {
        return fp;
    }
    let mut parts: Vec<String> = Vec::new();
    for s in suites {
        for it in &s.items {
            parts.push(it.question.clone());
            parts.push(it.correct.join("\u{1}"));
            parts.push(it.incorrect.join("\u{1}"));
        }
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    format!("{fp}#key={:016x}", prompt::seed::stable_hash(&refs))
}

/// [`run`], with a run store and report files.
pub fn run_with(opts: &RunOptions, outputs: &Outputs, args: &Arguments) -> ExitCode {
    let clock = std::time::Instant::now();
    let started_at = crate::store::now();
    let prep = match prepare_sized(
        &opts.specs,
        opts.templates_dir.clone(),
        opts.limit,
        opts.quick,
        opts.seed,
    ) {
        Ok(p) => p,
        Err(diags) => {
            report::diagnostics(&diags);
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if args.list {
        let trials = prep
            .trials
            .iter()
            .map(|d| Trial::test(d.name.clone(), || Ok(())))
            .collect();
        return libtest_mimic::run(args, trials).exit_code();
    }
    let selected = select(&prep.trials, args);
    let mut ran: Option<collect::Ran> = None;
    if !selected.is_empty() {
        let personas = (|| -> Result<_, Diagnostic> {
            let b = opts
                .baseline
                .persona
                .as_deref()
                .map(|p| prompt::persona(&prep.templates, p))
                .transpose()?;
            let c = opts
                .candidate
                .persona
                .as_deref()
                .map(|p| prompt::persona(&prep.templates, p))
                .transpose()?;
            Ok((b, c))
        })();
        let (bp, cp) = match personas {
            Ok(x) => x,
            Err(d) => {
                report::diagnostics(&[d]);
                return ExitCode::from(EXIT_ERROR);
            }
        };
        let key = work::answer_key(&prep.suites);
        let opened = models::open_pair(&opts.baseline.model, &opts.candidate.model, &key);
        let (mut b, mut c) = match opened {
            Ok(x) => x,
            Err(e) => {
                report::model_error(&e.to_string());
                return ExitCode::from(EXIT_ERROR);
            }
        };
        let fingerprints = (
            store_fingerprint(b.as_ref(), &opts.baseline.model, &prep.suites),
            store_fingerprint(c.as_ref(), &opts.candidate.model, &prep.suites),
        );
        let mut progress = report::progress::ModelProgress::new();
        let evaluated = match &outputs.store {
            None => evaluate_with(
                &prep,
                &selected,
                b.as_mut(),
                bp.as_deref(),
                c.as_mut(),
                cp.as_deref(),
                opts.seed,
                &mut progress,
            )
            .map(|ev| (ev, None)),
            Some(path) => {
                let persona = |v: &VariantSpec| v.persona.clone().unwrap_or_default();
                let cached = Store::open(path)
                    .map(|s| Arc::new(Mutex::new(s)))
                    .and_then(|store| {
                        let cb = CachedEngine::new(
                            b.as_mut(),
                            store.clone(),
                            fingerprints.0.clone(),
                            &persona(&opts.baseline),
                        )?;
                        let cc = CachedEngine::new(
                            c.as_mut(),
                            store,
                            fingerprints.1.clone(),
                            &persona(&opts.candidate),
                        )?;
                        Ok((cb, cc))
                    });
                let (mut cb, mut cc) = match cached {
                    Ok(x) => x,
                    Err(e) => {
                        report::model_error(&e.to_string());
                        return ExitCode::from(EXIT_ERROR);
                    }
                };
                evaluate_with(
                    &prep,
                    &selected,
                    &mut cb,
                    bp.as_deref(),
                    &mut cc,
                    cp.as_deref(),
                    opts.seed,
                    &mut progress,
                )
                .map(|ev| (ev, Some(cb.reuse() + cc.reuse())))
            }
        };
        match evaluated {
            Ok((ev, reuse)) => {
                report::run_header(&opts.baseline, &opts.candidate, ev.cases_run);
                if let Some(r) = reuse {
                    report::store_reuse(r.reused, r.total);
                }
                let tokens = if models::shares_engine(&opts.baseline.model, &opts.candidate.model) {
                    b.usage()
                } else {
                    b.usage() + c.usage()
                };
                report::token_usage(&tokens);
                ran = Some(collect::Ran {
                    evaluation: ev,
                    fingerprints,
                    personas: (bp, cp),
                    reuse,
                    tokens,
                });
            }
            Err(e) => {
                report::model_error(&format!("{} (suite {}): {}", e.model, e.suite, e.error));
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    let results: &[TrialResult] = ran.as_ref().map_or(&[], |r| &r.evaluation.results);
    let snapshot_suites: Vec<String> = prep
        .suites
        .iter()
        .filter(|s| s.snapshots)
        .map(|s| s.name.clone())
        .collect();
    let check_snapshots =
        ran.is_some() && !snapshot_suites.is_empty() && outputs.snapshots.is_some();
    let collected = (outputs.report_dir.is_some() || check_snapshots).then(|| {
        collect::results(
            opts,
            &prep,
            ran.as_ref(),
            &|d| ignored(opts, d),
            started_at,
            clock.elapsed().as_secs_f64(),
        )
    });
    if let (Some(dir), Some(collected)) = (&outputs.report_dir, &collected) {
        if let Err(e) = report::files::write_all(dir, collected) {
            report::model_error(&e);
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let snapshot_trials: Vec<Trial> = match (&outputs.snapshots, &collected) {
        (Some(dir), Some(c)) if check_snapshots => {
            report::snapshots::check(c, &snapshot_suites, dir)
                .into_iter()
                .map(|(name, r)| Trial::test(name, move || r.clone().map_err(Into::into)))
                .collect()
        }
        _ => vec![],
    };
    let trials = prep
        .trials
        .iter()
        .map(|d| match results.iter().find(|r| r.def.name == d.name) {
            Some(r) => {
                let r = r.clone();
                Trial::test(d.name.clone(), move || {
                    if r.failed {
                        Err(report::failure_message(&r).into())
                    } else {
                        Ok(())
                    }
                })
                .with_ignored_flag(ignored(opts, d))
            }
            // Filtered out: libtest-mimic never calls it.
            None => Trial::test(d.name.clone(), || Ok(())),
        })
        .chain(snapshot_trials)
        .collect::<Vec<_>>();
    let mut trials = trials;
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    // The model work is done; trials only read verdicts. One thread keeps the
    // output in sorted order, as users read it.
    let mut args = args.clone();
    args.test_threads.get_or_insert(1);
    libtest_mimic::run(&args, trials).exit_code()
}
