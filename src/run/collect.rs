//! Collects a run into one [`RunResults`] value for the reporters.

use super::results::{
    rfc3339, Build, ConditionResults, Machine, Rate, RunResults, Sample, Status, StoreUse,
    SuiteResults, Totals, TrialRecord, Variant, WarmthResults, SCHEMA_VERSION,
};
use super::trials::TrialDef;
use super::{Evaluation, Prepared, RunOptions, VariantSpec};
use crate::prompt::SuitePlan;
use crate::spec::{Scoring, Suite};
use crate::stats::{self, PairedTable};

/// The model work of a run, when any ran.
pub struct Ran {
    pub evaluation: Evaluation,
    /// Store fingerprints of the baseline and the candidate.
    pub fingerprints: (String, String),
    /// Rendered personas (system messages) of the baseline and the candidate.
    pub personas: (Option<String>, Option<String>),
    pub reuse: Option<crate::store::Reuse>,
    /// Token positions the engines computed (both variants).
    pub tokens: crate::engine::TokenUsage,
}

const CONF: f64 = 0.95;

fn rate(errors: u64, n: u64) -> Rate {
    Rate {
        errors,
        rate: if n == 0 {
            0.0
        } else {
            errors as f64 / n as f64
        },
        ci: stats::wilson(errors, n, CONF),
    }
}

fn variant(v: &VariantSpec, fingerprint: Option<&String>) -> Variant {
    Variant {
        model: v.model.to_string(),
        persona: v.persona.clone(),
        fingerprint: fingerprint.cloned().unwrap_or_default(),
    }
}

fn scoring_name(s: &Scoring) -> &'static str {
    match s {
        Scoring::Choice(_) => "choice",
        Scoring::Generate(_) => "generate",
        Scoring::Judge { .. } => "judge",
    }
}

fn suite_results(suite: &Suite, plan: &SuitePlan, ev: &Evaluation) -> SuiteResults {
    let policy = suite.refusal_policy();
    let outcomes = |o: &super::work::Outcomes, c| {
        o.get(&suite.name)
            .and_then(|m| m.get(c))
            .cloned()
            .unwrap_or_default()
    };
    let conditions = plan
        .conditions
        .iter()
        .map(|(cond, _)| {
            let b = outcomes(&ev.baseline, cond);
            let c = outcomes(&ev.candidate, cond);
            let pairs: Vec<(bool, bool)> = b
                .iter()
                .zip(&c)
                .filter_map(|(b, c)| Some((b.is_wrong(policy)?, c.is_wrong(policy)?)))
                .collect();
            let to_wrong = pairs.iter().filter(|(b, c)| !b && *c).count() as u64;
            let to_right = pairs.iter().filter(|(b, c)| *b && !c).count() as u64;
            let t = PairedTable::from_pairs(pairs);
            let warmth = suite.warmth.as_ref().map(|_| {
                let w: Vec<(f64, f64)> = b
                    .iter()
                    .zip(&c)
                    .filter_map(|(b, c)| Some((b.warmth?, c.warmth?)))
                    .collect();
                let s = stats::paired_scores(&w, CONF);
                WarmthResults {
                    n: s.n,
                    baseline: s.baseline,
                    candidate: s.candidate,
                    delta: s.diff.mean,
                    delta_ci: s.diff.ci,
                }
            });
            ConditionResults {
                context: cond.context.clone(),
                belief: cond.belief.clone(),
                n: t.n(),
                baseline: rate(t.baseline_errors(), t.n()),
                candidate: rate(t.candidate_errors(), t.n()),
                delta: t.diff(),
                delta_ci: stats::newcombe_paired(&t, CONF),
                flips_to_wrong: to_wrong,
                flips_to_right: to_right,
                warmth,
            }
        })
        .collect();
    SuiteResults {
        name: suite.name.clone(),
        description: suite.description.clone(),
        items: plan.n_items,
        scoring: scoring_name(&suite.scoring).to_string(),
        conditions,
    }
}

fn samples(prep: &Prepared, ran: &Ran) -> Vec<Sample> {
    let ev = &ran.evaluation;
    let mut out = Vec::new();
    for plan in &ev.plans {
        let Some(suite) = prep.suites.iter().find(|s| s.name == plan.suite) else {
            continue;
        };
        for (cond, cases) in &plan.conditions {
            for (label, outcomes, persona) in [
                ("baseline", &ev.baseline, &ran.personas.0),
                ("candidate", &ev.candidate, &ran.personas.1),
            ] {
                let Some(os) = outcomes.get(&suite.name).and_then(|m| m.get(cond)) else {
                    continue;
                };
                for (case, o) in cases.iter().zip(os) {
                    out.push(Sample {
                        suite: suite.name.clone(),
                        item: suite.items[case.item].id.clone(),
                        context: cond.context.clone(),
                        belief: cond.belief.clone(),
                        model: label.to_string(),
                        prompt: case.prompt(persona.as_deref()),
                        options: if o.option_scores.is_empty() {
                            Vec::new()
                        } else {
                            case.options.clone()
                        },
                        scores: o.option_scores.clone(),
                        answer: o.answer.clone(),
                        verdict: o.verdict,
                        agrees_with_belief: o.agrees_with_belief,
                        warmth: o.warmth,
                    });
                }
            }
        }
    }
    out
}

/// The run as one value. `ignored` says which trials ran but do not count.
pub fn results(
    opts: &RunOptions,
    prep: &Prepared,
    ran: Option<&Ran>,
    ignored: &dyn Fn(&TrialDef) -> bool,
    ignored_reason: &dyn Fn(&TrialDef) -> Option<String>,
    started_at: i64,
    duration_s: f64,
) -> RunResults {
    let mut totals = Totals::default();
    let trials: Vec<TrialRecord> = ran
        .map(|r| r.evaluation.results.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|r| {
            let status = if ignored(&r.def) {
                Status::Ignored
            } else if r.failed {
                Status::Failed
            } else {
                Status::Passed
            };
            match status {
                Status::Passed => totals.passed += 1,
                Status::Failed => totals.failed += 1,
                Status::Ignored => totals.ignored += 1,
            }
            let m = &r.measurement;
            TrialRecord {
                name: r.def.name.clone(),
                suite: r.def.suite.clone(),
                context: r.def.condition.context.clone(),
                belief: r.def.condition.belief.clone(),
                criterion: r.def.kind.name().to_string(),
                reference: r.def.reference.as_ref().map(|c| c.to_string()),
                status,
                description: r.description.clone(),
                n: m.n,
                baseline_errors: m.base_errors,
                candidate_errors: m.cand_errors,
                baseline_ci: m.base_ci,
                candidate_ci: m.cand_ci,
                effect_name: m.effect_name.to_string(),
                effect: m.effect,
                effect_ci: m.effect_ci,
                p: m.p,
                adjusted_p: r.adjusted_p,
                family: r.def.family.clone(),
                family_size: r.family_size,
                family_run: r.family_run,
                message: (status == Status::Failed).then(|| super::failure::failure_message(r)),
                flips: r.flips.clone(),
                baseline_warmth: m.warmth.map(|w| w.0),
                candidate_warmth: m.warmth.map(|w| w.1),
                ignored_reason: (status == Status::Ignored)
                    .then(|| ignored_reason(&r.def))
                    .flatten(),
            }
        })
        .collect();
    let suites = ran
        .map(|r| {
            r.evaluation
                .plans
                .iter()
                .filter_map(|p| {
                    let s = prep.suites.iter().find(|s| s.name == p.suite)?;
                    Some(suite_results(s, p, &r.evaluation))
                })
                .collect()
        })
        .unwrap_or_default();
    RunResults {
        schema_version: SCHEMA_VERSION,
        candor: Build::current(),
        started_at: rfc3339(started_at),
        duration_s,
        seed: opts.seed,
        quick: opts.quick,
        limit: opts.limit,
        machine: Machine::current(),
        baseline: variant(&opts.baseline, ran.map(|r| &r.fingerprints.0)),
        candidate: variant(&opts.candidate, ran.map(|r| &r.fingerprints.1)),
        cases_per_model: ran.map_or(0, |r| r.evaluation.cases_run),
        store: ran.and_then(|r| r.reuse).map(|r| StoreUse {
            reused: r.reused,
            total: r.total,
        }),
        tokens: ran.map(|r| r.tokens).filter(|t| t.from_scratch > 0),
        suites,
        trials,
        totals,
        samples: ran.map(|r| samples(prep, r)).unwrap_or_default(),
    }
}
