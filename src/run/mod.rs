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
pub mod failure;
pub mod models;
pub mod output;
pub mod results;
pub mod snapshots;
pub mod trials;
pub mod work;

use crate::engine::Engine;
use crate::prompt::{self, Condition, SuitePlan, Templates};
use crate::spec::{self, Diagnostic, Suite};
use crate::store::{CachedEngine, Store};
use libtest_mimic::{Arguments, Trial};
pub use models::{BuiltinEngines, MakeEngine, VariantSpec};
pub use output::{ModelsRan, Output, Quiet};
pub use results::RunResults;
use std::collections::BTreeSet;
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
    /// The run store (`None`: no store; every response is computed).
    pub store: Option<PathBuf>,
    /// Where suites with `snapshots: true` keep their answer snapshots (`None`: not checked).
    pub snapshots: Option<PathBuf>,
}

/// Cases per suite and model in the quick profile (the README's first command).
pub const QUICK_CASES_PER_SUITE: usize = 360;

/// Cases per suite and model in the quick profile for suites that generate
/// replies (`generate`, `judge`): a reply takes dozens of decoding steps
/// where an option takes one forward pass, so these suites only run a smoke
/// sample there, and their trials are reported as ignored.
pub const QUICK_GENERATED_CASES: usize = 4;

/// Whether a suite's model work is generation (slow on a CPU).
pub fn generates(s: &Suite) -> bool {
    !matches!(s.scoring, spec::Scoring::Choice(_))
}

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
        let quick = quick.map(|b| {
            if generates(s) {
                b.min(QUICK_GENERATED_CASES)
            } else {
                b
            }
        });
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

/// A snapshot trial (`suite::context::belief::answers`): the answers of one
/// condition of a suite with `snapshots: true`, compared with their snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AnswerTrial {
    pub name: String,
    pub suite: String,
    pub condition: Condition,
}

/// The snapshot trials of the prepared suites (none when snapshots are off).
pub fn answer_trials(prep: &Prepared, snapshots: bool) -> Vec<AnswerTrial> {
    if !snapshots {
        return vec![];
    }
    let mut out: Vec<AnswerTrial> = prep
        .plans
        .iter()
        .filter(|p| prep.suites.iter().any(|s| s.name == p.suite && s.snapshots))
        .flat_map(|p| {
            p.conditions.iter().map(|(c, _)| AnswerTrial {
                name: format!("{}::{}::{}::answers", p.suite, c.context, c.belief),
                suite: p.suite.clone(),
                condition: c.clone(),
            })
        })
        .collect();
    out.sort();
    out
}

fn filtered_out(args: &Arguments, name: &str) -> bool {
    args.ignored || args.is_filtered_out(&Trial::test(name, || Ok(())))
}

/// The trial names a filter selects (libtest's rules: substring, `--exact`, `--skip`).
pub fn select<'a>(trials: &'a [TrialDef], args: &Arguments) -> Vec<&'a TrialDef> {
    trials
        .iter()
        .filter(|d| !filtered_out(args, &d.name))
        .collect()
}

/// The plans cut down to the conditions the selected trials need.
pub fn needed_plans(prep: &Prepared, selected: &[&TrialDef]) -> Vec<SuitePlan> {
    needed_plans_with(prep, selected, &[])
}

/// [`needed_plans`], also keeping the conditions of the selected snapshot trials.
pub fn needed_plans_with(
    prep: &Prepared,
    selected: &[&TrialDef],
    answers: &[&AnswerTrial],
) -> Vec<SuitePlan> {
    let mut needed = trials::needed_conditions(selected.iter().copied());
    for a in answers {
        needed
            .entry(a.suite.clone())
            .or_insert_with(BTreeSet::new)
            .insert(a.condition.clone());
    }
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
) -> Result<Evaluation, work::WorkError> {
    let plans = needed_plans(prep, selected);
    evaluate_plans(
        prep,
        plans,
        selected,
        (baseline, baseline_persona),
        (candidate, candidate_persona),
        &mut work::OpenJudges::new(&BuiltinEngines),
        &mut work::NoProgress,
    )
}

/// [`evaluate`] on given plans, with judges and warmth scorers from
/// `judges`, reporting the model work's progress.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_plans(
    prep: &Prepared,
    plans: Vec<SuitePlan>,
    selected: &[&TrialDef],
    (baseline, baseline_persona): (&mut dyn Engine, Option<&str>),
    (candidate, candidate_persona): (&mut dyn Engine, Option<&str>),
    judges: &mut dyn work::JudgeSource,
    progress: &mut dyn work::Progress,
) -> Result<Evaluation, work::WorkError> {
    let base = work::run_variant_with(
        baseline,
        baseline_persona,
        &prep.suites,
        &plans,
        &prep.templates,
        judges,
        ("baseline", progress),
    )?;
    let cand = work::run_variant_with(
        candidate,
        candidate_persona,
        &prep.suites,
        &plans,
        &prep.templates,
        judges,
        ("candidate", progress),
    )?;
    let cases_run = plans
        .iter()
        .flat_map(|p| &p.conditions)
        .map(|(_, c)| c.len())
        .sum();
    let results = trials::evaluate(&prep.suites, &plans, &prep.trials, selected, &base, &cand);
    Ok(Evaluation {
        results,
        cases_run,
        plans,
        baseline: base,
        candidate: cand,
    })
}

/// Whether a trial is run but not counted: a count gate on a cut-down item
/// list (the quick profile, or a `--limit` below the suite's item count).
fn ignored(opts: &RunOptions, prep: &Prepared, d: &TrialDef) -> bool {
    let cut = opts.quick.is_some()
        || opts.limit.is_some_and(|l| {
            prep.suites
                .iter()
                .find(|s| s.name == d.suite)
                .is_some_and(|s| l < s.items.len())
        });
    (cut && matches!(d.kind, crate::spec::CriterionKind::MinItems { .. }))
        || quick_sample(opts, prep, d).is_some()
}

/// Why a trial of a generating suite is ignored in the quick profile (it
/// ran on a smoke sample of [`QUICK_GENERATED_CASES`] cases).
pub fn quick_sample(opts: &RunOptions, prep: &Prepared, d: &TrialDef) -> Option<String> {
    let suite = prep.suites.iter().find(|s| s.name == d.suite)?;
    (opts.quick.is_some() && generates(suite)).then(|| {
        let n = prep
            .plans
            .iter()
            .find(|p| p.suite == suite.name)
            .map_or(0, |p| p.n_items);
        format!(
            "quick profile: replies are generated, so {n} of {} items ran as a smoke sample; run with --full for the verdict",
            suite.items.len()
        )
    })
}

/// The whole run, as the CLI and a `harness = false` test target do it: load
/// and check the specs, open the models through `engines`, run the selected
/// trials' model work (through the run store when `opts.store` is set),
/// evaluate the gates, and report the trials with libtest-mimic. Everything
/// else the run has to say goes to `output`.
pub fn run(
    opts: &RunOptions,
    engines: &dyn MakeEngine,
    output: &mut dyn Output,
    args: &Arguments,
) -> ExitCode {
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
            output.diagnostics(&diags);
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let answers = answer_trials(&prep, opts.snapshots.is_some());
    if args.list {
        let mut names: Vec<&str> = prep.trials.iter().map(|d| d.name.as_str()).collect();
        names.extend(answers.iter().map(|a| a.name.as_str()));
        names.sort_unstable();
        let trials = names
            .into_iter()
            .map(|n| Trial::test(n, || Ok(())))
            .collect();
        return libtest_mimic::run(args, trials).exit_code();
    }
    let selected = select(&prep.trials, args);
    let selected_answers: Vec<&AnswerTrial> = answers
        .iter()
        .filter(|a| !filtered_out(args, &a.name))
        .collect();
    if selected.is_empty() && selected_answers.is_empty() && !args.ignored {
        output.error(&no_match(args));
        return ExitCode::from(EXIT_ERROR);
    }
    let ran = if selected.is_empty() && selected_answers.is_empty() {
        None
    } else {
        match run_models(opts, &prep, &selected, &selected_answers, engines, output) {
            Ok(r) => Some(r),
            Err(code) => return code,
        }
    };
    let results = collect::results(
        opts,
        &prep,
        ran.as_ref(),
        &|d| ignored(opts, &prep, d),
        &|d| quick_sample(opts, &prep, d),
        started_at,
        clock.elapsed().as_secs_f64(),
    );
    if let Err(e) = output.results(&results) {
        output.error(&e);
        return ExitCode::from(EXIT_ERROR);
    }
    let verdicts: &[TrialResult] = ran.as_ref().map_or(&[], |r| &r.evaluation.results);
    let snapshot_trials: Vec<Trial> = match &opts.snapshots {
        Some(dir) if ran.is_some() && !selected_answers.is_empty() => {
            let suites: Vec<String> = prep
                .suites
                .iter()
                .filter(|s| s.snapshots)
                .map(|s| s.name.clone())
                .collect();
            snapshots::check(&results, &suites, dir)
                .into_iter()
                .map(|(name, r)| Trial::test(name, move || r.clone().map_err(|e| e.0.into())))
                .collect()
        }
        _ => vec![],
    };
    let listed: BTreeSet<&str> = snapshot_trials.iter().map(|t| t.name()).collect();
    // Snapshot trials that did not run (filtered out): listed, never called.
    let unrun_answers: Vec<Trial> = answers
        .iter()
        .filter(|a| !listed.contains(a.name.as_str()))
        .map(|a| Trial::test(a.name.clone(), || Ok(())))
        .collect();
    let mut trials = prep
        .trials
        .iter()
        .map(|d| match verdicts.iter().find(|r| r.def.name == d.name) {
            Some(r) => match quick_sample(opts, &prep, d) {
                // Ran on a smoke sample: said so, with its verdict not counted.
                Some(reason) => Trial::ignorable_test(d.name.clone(), move || {
                    Ok(libtest_mimic::Completion::ignored_with(reason))
                }),
                None => {
                    let r = r.clone();
                    Trial::test(d.name.clone(), move || {
                        if r.failed {
                            Err(failure::failure_message(&r).into())
                        } else {
                            Ok(())
                        }
                    })
                    .with_ignored_flag(ignored(opts, &prep, d))
                }
            },
            // Filtered out: libtest-mimic never calls it.
            None => Trial::test(d.name.clone(), || Ok(())),
        })
        .chain(snapshot_trials)
        .chain(unrun_answers)
        .collect::<Vec<_>>();
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    // The model work is done; trials only read verdicts. One thread keeps the
    // output in sorted order, as users read it.
    let mut args = args.clone();
    args.test_threads.get_or_insert(1);
    let conclusion = libtest_mimic::run(&args, trials);
    output.finished(ran.is_some().then_some(&results), &conclusion);
    conclusion.exit_code()
}

/// What a filter that selects nothing is told.
fn no_match(args: &Arguments) -> String {
    let filter = args.filter.as_deref().unwrap_or("");
    let how = if args.exact { " exactly" } else { "" };
    let skip = if args.skip.is_empty() {
        String::new()
    } else {
        format!(" (skipping {})", args.skip.join(", "))
    };
    format!(
        "no trial matches `{filter}`{how}{skip}: nothing to run; `candor --list` lists the trials"
    )
}

/// Opens the pair, runs the selected trials' model work and evaluates it.
/// Errors have been told to `output`; the exit code is returned.
fn run_models(
    opts: &RunOptions,
    prep: &Prepared,
    selected: &[&TrialDef],
    answers: &[&AnswerTrial],
    engines: &dyn MakeEngine,
    output: &mut dyn Output,
) -> Result<collect::Ran, ExitCode> {
    let stop = |output: &mut dyn Output, e: &dyn std::fmt::Display| {
        output.error(e);
        ExitCode::from(EXIT_ERROR)
    };
    let persona = |v: &VariantSpec| {
        v.persona
            .as_deref()
            .map(|p| prompt::persona(&prep.templates, p))
            .transpose()
    };
    let (bp, cp) = match (persona(&opts.baseline), persona(&opts.candidate)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(d), _) | (_, Err(d)) => {
            output.diagnostics(&[d]);
            return Err(ExitCode::from(EXIT_ERROR));
        }
    };
    let plans = needed_plans_with(prep, selected, answers);
    // The warmth scorers the plans need, each opened once for the run
    // (through the same factory, so a scorer that is also the baseline or
    // the candidate is loaded once).
    let scorer_names: BTreeSet<String> = plans
        .iter()
        .filter_map(|p| prep.suites.iter().find(|s| s.name == p.suite))
        .filter_map(|s| s.warmth.as_ref().map(|w| w.model.clone()))
        .collect();
    let scorer_names: Vec<String> = scorer_names.into_iter().collect();
    let scorer_refs = match scorer_names
        .iter()
        .map(|m| crate::engine::ModelRef::parse(m).map_err(|e| format!("warmth scorer: {e}")))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(r) => r,
        Err(e) => return Err(stop(output, &e)),
    };
    let mut wanted = vec![&opts.baseline.model, &opts.candidate.model];
    wanted.extend(scorer_refs.iter());
    let mut opened = match models::open_all(engines, &wanted, &mut |s| output.note(s)) {
        Ok(x) => x,
        Err(e) => return Err(stop(output, &e)),
    };
    let mut scorers: Vec<Box<dyn Engine>> = opened.split_off(2);
    let mut c = opened.pop().expect("two");
    let mut b = opened.pop().expect("two");
    let fingerprints = (b.fingerprint(), c.fingerprint());
    let evaluated = match &opts.store {
        None => {
            let mut judges = work::Scorers {
                judges: work::OpenJudges::new(engines),
                warmth: scorer_names
                    .iter()
                    .cloned()
                    .zip(scorers.iter_mut().map(|e| e.as_mut() as &mut dyn Engine))
                    .collect(),
            };
            evaluate_plans(
                prep,
                plans,
                selected,
                (b.as_mut(), bp.as_deref()),
                (c.as_mut(), cp.as_deref()),
                &mut judges,
                output,
            )
            .map(|ev| (ev, None))
        }
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
                        store.clone(),
                        fingerprints.1.clone(),
                        &persona(&opts.candidate),
                    )?;
                    // A scorer's responses are keyed by its own fingerprint
                    // (no persona: it reads raw text).
                    let cs = scorers
                        .iter_mut()
                        .map(|e| {
                            let fp = e.fingerprint();
                            CachedEngine::new(e.as_mut(), store.clone(), fp, "")
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((cb, cc, cs))
                });
            let (mut cb, mut cc, mut cs) = match cached {
                Ok(x) => x,
                Err(e) => return Err(stop(output, &e)),
            };
            let mut judges = work::Scorers {
                judges: work::OpenJudges::new(engines),
                warmth: scorer_names
                    .iter()
                    .cloned()
                    .zip(cs.iter_mut().map(|e| e as &mut dyn Engine))
                    .collect(),
            };
            let ev = evaluate_plans(
                prep,
                plans,
                selected,
                (&mut cb, bp.as_deref()),
                (&mut cc, cp.as_deref()),
                &mut judges,
                output,
            );
            drop(judges);
            let reuse = cs
                .iter()
                .fold(cb.reuse() + cc.reuse(), |r, e| r + e.reuse());
            ev.map(|ev| (ev, Some(reuse)))
        }
    };
    let (evaluation, reuse) = match evaluated {
        Ok(x) => x,
        Err(e) => return Err(stop(output, &e)),
    };
    let mut tokens = if models::shares_engine(&opts.baseline.model, &opts.candidate.model) {
        b.usage()
    } else {
        b.usage() + c.usage()
    };
    // A scorer that is one of the pair has been counted with it.
    for (r, e) in scorer_refs.iter().zip(&scorers) {
        if r != &opts.baseline.model && r != &opts.candidate.model {
            tokens = tokens + e.usage();
        }
    }
    output.models_ran(&ModelsRan {
        baseline: &opts.baseline,
        candidate: &opts.candidate,
        cases: evaluation.cases_run,
        reuse,
        tokens,
    });
    Ok(collect::Ran {
        evaluation,
        fingerprints,
        personas: (bp, cp),
        reuse,
        tokens,
    })
}
