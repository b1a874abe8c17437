//! Model work: every selected case through one variant's engine, in batches,
//! then scored. Nothing here decides pass or fail.

use crate::engine::{
    Engine, EngineError, Expected, GenerateRequest, LoglikRequest, Message, ModelRef, Prompt,
};
use crate::prompt::{Condition, SuitePlan, Templates};
use crate::score::{self, Outcome};
use crate::spec::{Item, Scoring, Suite};
use std::collections::BTreeMap;

/// Requests per engine call: the engine packs and shares prefixes within a call, so
/// larger calls waste less (200 TruthfulQA items in one call instead of 128 + 72:
/// 0.8 s of 12.4 s faster); smaller ones report progress and reach the store sooner.
pub const BATCH: usize = 256;

/// Requests per engine call for suites that generate: a generated reply takes
/// seconds on a CPU where an option score takes milliseconds, so a call of 256
/// would leave a run silent (no progress line, nothing in the store) for many
/// minutes; 32 rows still fill a decoding step's matrix products.
pub const GENERATE_BATCH: usize = 32;

/// One variant's outcomes: suite name → condition → one outcome per item.
pub type Outcomes = BTreeMap<String, BTreeMap<Condition, Vec<Outcome>>>;

/// A model error while running, with the model and suite it came from.
#[derive(Debug, thiserror::Error)]
#[error("{model} (suite {suite}): {error}")]
pub struct WorkError {
    pub model: String,
    pub suite: String,
    #[source]
    pub error: EngineError,
}

/// Opens judge models once per run.
pub trait JudgeSource {
    fn judge(&mut self, model: &str) -> Result<&mut dyn Engine, EngineError>;
    /// The engine that scores warmth (a suite's `warmth.model`); by default
    /// opened as a judge is.
    fn warmth_scorer(&mut self, model: &str) -> Result<&mut dyn Engine, EngineError> {
        self.judge(model)
    }
}

/// Judges opened on demand, and the warmth scorers a run opened up front
/// (through its engine factory and its store), by model reference as
/// written in the specs.
pub struct Scorers<'f, 'e> {
    pub judges: OpenJudges<'f>,
    pub warmth: Vec<(String, &'e mut (dyn Engine + 'e))>,
}

impl JudgeSource for Scorers<'_, '_> {
    fn judge(&mut self, model: &str) -> Result<&mut dyn Engine, EngineError> {
        self.judges.judge(model)
    }
    fn warmth_scorer(&mut self, model: &str) -> Result<&mut dyn Engine, EngineError> {
        match self.warmth.iter_mut().find(|(m, _)| m == model) {
            Some((_, e)) => Ok(&mut **e),
            None => self.judges.judge(model),
        }
    }
}

/// Judges opened through a run's engine factory, each once.
pub struct OpenJudges<'f> {
    pub factory: &'f dyn super::MakeEngine,
    pub open: BTreeMap<String, Box<dyn Engine>>,
}

impl<'f> OpenJudges<'f> {
    pub fn new(factory: &'f dyn super::MakeEngine) -> Self {
        OpenJudges {
            factory,
            open: BTreeMap::new(),
        }
    }
}

impl JudgeSource for OpenJudges<'_> {
    fn judge(&mut self, model: &str) -> Result<&mut dyn Engine, EngineError> {
        if !self.open.contains_key(model) {
            let e = self.factory.make(&ModelRef::parse(model)?, &mut |_| {})?;
            self.open.insert(model.to_string(), e);
        }
        Ok(self.open.get_mut(model).expect("inserted").as_mut())
    }
}

/// What the spec accepts for an item, sent along with its requests.
fn expected(item: &Item) -> Option<Expected> {
    Some(Expected {
        question: item.question.clone(),
        correct: item.correct.clone(),
        incorrect: item.incorrect.clone(),
    })
}

/// Told how far a variant's model work has got. Printing it is the report
/// stage's business ([`crate::report::progress`]).
pub trait Progress {
    /// A variant (`baseline` or `candidate`) starts on this many cases.
    fn start(&mut self, _variant: &str, _cases: usize) {}
    /// This many more cases are done.
    fn advance(&mut self, _cases: usize) {}
    /// The variant is done (or failed).
    fn finish(&mut self) {}
}

/// No progress reports.
pub struct NoProgress;

impl Progress for NoProgress {}

/// Runs every case of the plans on one engine.
pub fn run_variant(
    engine: &mut dyn Engine,
    persona: Option<&str>,
    suites: &[Suite],
    plans: &[SuitePlan],
    templates: &Templates,
    judges: &mut dyn JudgeSource,
) -> Result<Outcomes, WorkError> {
    run_variant_with(
        engine,
        persona,
        suites,
        plans,
        templates,
        judges,
        ("model", &mut NoProgress),
    )
}

/// [`run_variant`], reporting progress per batch under a label.
pub fn run_variant_with(
    engine: &mut dyn Engine,
    persona: Option<&str>,
    suites: &[Suite],
    plans: &[SuitePlan],
    templates: &Templates,
    judges: &mut dyn JudgeSource,
    (label, progress): (&str, &mut dyn Progress),
) -> Result<Outcomes, WorkError> {
    let total = plans
        .iter()
        .flat_map(|p| &p.conditions)
        .map(|(_, c)| c.len())
        .sum();
    progress.start(label, total);
    let out = variant_work(engine, persona, suites, plans, templates, judges, progress);
    progress.finish();
    out
}

fn variant_work(
    engine: &mut dyn Engine,
    persona: Option<&str>,
    suites: &[Suite],
    plans: &[SuitePlan],
    templates: &Templates,
    judges: &mut dyn JudgeSource,
    progress: &mut dyn Progress,
) -> Result<Outcomes, WorkError> {
    let mut out = Outcomes::new();
    for plan in plans {
        let suite = suites
            .iter()
            .find(|s| s.name == plan.suite)
            .expect("plan of a loaded suite");
        let err = |model: &str, error| WorkError {
            model: model.to_string(),
            suite: suite.name.clone(),
            error,
        };
        let per_suite = out.entry(suite.name.clone()).or_default();
        for (cond, cases) in &plan.conditions {
            let mut outcomes = Vec::with_capacity(cases.len());
            let batch = match suite.scoring {
                Scoring::Choice(_) => BATCH,
                Scoring::Generate(_) | Scoring::Judge { .. } => GENERATE_BATCH,
            };
            for chunk in cases.chunks(batch) {
                match &suite.scoring {
                    Scoring::Choice(cfg) => {
                        let reqs: Vec<LoglikRequest> = chunk
                            .iter()
                            .map(|c| LoglikRequest {
                                expected: expected(&suite.items[c.item]),
                                prompt: c.prompt(persona),
                                continuations: c
                                    .options
                                    .iter()
                                    .map(|o| format!("{}{o}", cfg.option_prefix))
                                    .collect(),
                            })
                            .collect();
                        let scores = engine.loglik(&reqs).map_err(|e| err(engine.name(), e))?;
                        for (c, s) in chunk.iter().zip(&scores) {
                            outcomes.push(score::choice(c, s, cfg));
                        }
                    }
                    Scoring::Generate(cfg) => {
                        let reqs: Vec<GenerateRequest> = chunk
                            .iter()
                            .map(|c| GenerateRequest {
                                expected: expected(&suite.items[c.item]),
                                prompt: c.prompt(persona),
                                max_tokens: cfg.max_tokens,
                                stop: cfg.stop.clone(),
                            })
                            .collect();
                        let gens = engine.generate(&reqs).map_err(|e| err(engine.name(), e))?;
                        let from = outcomes.len();
                        for (c, g) in chunk.iter().zip(&gens) {
                            outcomes.push(score::generated(c, &suite.items[c.item], g, cfg));
                        }
                        score_warmth(suite, &mut outcomes[from..], judges)
                            .map_err(|(m, e)| err(&m, e))?;
                    }
                    Scoring::Judge {
                        model,
                        template,
                        generate,
                    } => {
                        let reqs: Vec<GenerateRequest> = chunk
                            .iter()
                            .map(|c| GenerateRequest {
                                expected: expected(&suite.items[c.item]),
                                prompt: c.prompt(persona),
                                max_tokens: generate.max_tokens,
                                stop: generate.stop.clone(),
                            })
                            .collect();
                        let gens = engine.generate(&reqs).map_err(|e| err(engine.name(), e))?;
                        let mut jreqs = Vec::with_capacity(chunk.len());
                        for (c, g) in chunk.iter().zip(&gens) {
                            let item = &suite.items[c.item];
                            let text = templates
                                .render(
                                    template,
                                    minijinja::context! { question => &item.question, answer => g.text.trim(), correct => &item.correct, incorrect => &item.incorrect },
                                )
                                .map_err(|e| err(model, EngineError::Request(format!("judge template `{}`: {}", e.name, e.error))))?;
                            jreqs.push(LoglikRequest {
                                expected: expected(item),
                                prompt: Prompt::Chat(vec![Message::new("user", text)]),
                                continuations: score::JUDGE_CONTINUATIONS
                                    .iter()
                                    .map(|s| s.to_string())
                                    .collect(),
                            });
                        }
                        let judge = judges.judge(model).map_err(|e| err(model, e))?;
                        let verdicts = judge.loglik(&jreqs).map_err(|e| err(model, e))?;
                        let from = outcomes.len();
                        for ((c, g), v) in chunk.iter().zip(&gens).zip(&verdicts) {
                            outcomes.push(score::judged(c, g, v, generate));
                        }
                        score_warmth(suite, &mut outcomes[from..], judges)
                            .map_err(|(m, e)| err(&m, e))?;
                    }
                }
                progress.advance(chunk.len());
            }
            per_suite.insert(cond.clone(), outcomes);
        }
    }
    Ok(out)
}

/// Measures the warmth of each reply in `outcomes` with the suite's warmth
/// scorer (suites without a `warmth:` section: nothing to do). The scorer
/// sees every opener for every reply in one call.
fn score_warmth(
    suite: &Suite,
    outcomes: &mut [Outcome],
    judges: &mut dyn JudgeSource,
) -> Result<(), (String, EngineError)> {
    let Some(cfg) = &suite.warmth else {
        return Ok(());
    };
    let per_reply = cfg.warm.len() + cfg.distant.len();
    let reqs: Vec<LoglikRequest> = outcomes
        .iter()
        .flat_map(|o| score::warmth::requests(&o.answer, cfg))
        .collect();
    let fail = |e| (cfg.model.clone(), e);
    let scorer = judges.warmth_scorer(&cfg.model).map_err(fail)?;
    let scores = scorer.loglik(&reqs).map_err(fail)?;
    if scores.len() != reqs.len() {
        return Err(fail(EngineError::Request(format!(
            "warmth scorer `{}`: {} responses to {} requests",
            cfg.model,
            scores.len(),
            reqs.len()
        ))));
    }
    for (o, s) in outcomes.iter_mut().zip(scores.chunks(per_reply)) {
        o.warmth = score::warmth::warmth(s, cfg);
    }
    Ok(())
}
