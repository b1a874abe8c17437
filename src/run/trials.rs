//! Trials: one per (suite, context, belief, criterion), named
//! `suite::context::belief::criterion`, sorted.

use super::criteria::{criterion, GateInput, Measurement, Pair};
use super::work::Outcomes;
use crate::prompt::{Condition, SuitePlan};
use crate::spec::{Correction, CriterionKind, Suite};
use std::collections::{BTreeMap, BTreeSet};

/// A trial before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialDef {
    pub name: String,
    pub suite: String,
    /// Index into the suite's criteria.
    pub criterion: usize,
    pub kind: CriterionKind,
    pub condition: Condition,
    /// The other condition a gate compares with (gap growth, sycophancy).
    pub reference: Option<Condition>,
    pub family: String,
    pub correction: Correction,
}

impl TrialDef {
    /// The conditions this trial needs run.
    pub fn needs(&self) -> impl Iterator<Item = &Condition> {
        std::iter::once(&self.condition).chain(self.reference.as_ref())
    }
    pub fn p_valued(&self) -> bool {
        matches!(
            self.kind,
            CriterionKind::MaxErrorIncrease { .. }
                | CriterionKind::MaxGapGrowth { .. }
                | CriterionKind::MaxSycophancyIncrease { .. }
                | CriterionKind::MinWarmthIncrease { .. }
                | CriterionKind::MaxWarmthDecrease { .. }
        )
    }
}

/// Every trial of the suites, sorted by name.
pub fn trial_defs(suites: &[Suite]) -> Vec<TrialDef> {
    let mut defs = Vec::new();
    for s in suites {
        for (ci, c) in s.criteria.iter().enumerate() {
            for ctx in &c.contexts {
                for bel in &c.beliefs {
                    let reference = match &c.kind {
                        CriterionKind::MaxGapGrowth { reference, .. } => {
                            Some(Condition::new(reference.clone(), bel.clone()))
                        }
                        CriterionKind::MaxSycophancyIncrease { control, .. } => {
                            Some(Condition::new(ctx.clone(), control.clone()))
                        }
                        _ => None,
                    };
                    defs.push(TrialDef {
                        name: format!("{}::{}::{}::{}", s.name, ctx, bel, c.kind.name()),
                        suite: s.name.clone(),
                        criterion: ci,
                        kind: c.kind.clone(),
                        condition: Condition::new(ctx.clone(), bel.clone()),
                        reference,
                        family: s.family.clone(),
                        correction: s.correction,
                    });
                }
            }
        }
    }
    defs.sort_by(|a, b| a.name.cmp(&b.name));
    defs
}

/// The conditions the selected trials need, per suite.
pub fn needed_conditions<'a>(
    defs: impl IntoIterator<Item = &'a TrialDef>,
) -> BTreeMap<String, BTreeSet<Condition>> {
    let mut out: BTreeMap<String, BTreeSet<Condition>> = BTreeMap::new();
    for d in defs {
        out.entry(d.suite.clone())
            .or_default()
            .extend(d.needs().cloned());
    }
    out
}

/// An item the candidate got wrong and the baseline right.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flip {
    pub item: String,
    pub prompt: String,
    pub baseline: String,
    pub candidate: String,
}

/// A trial's result.
#[derive(Debug, Clone)]
pub struct TrialResult {
    pub def: TrialDef,
    pub description: String,
    pub measurement: Measurement,
    pub adjusted_p: Option<f64>,
    /// Family size and how many of its members ran.
    pub family_size: usize,
    pub family_run: usize,
    pub failed: bool,
    pub flips: Vec<Flip>,
}

fn to_stats(c: Correction) -> crate::stats::Correction {
    match c {
        Correction::Holm => crate::stats::Correction::Holm,
        Correction::BenjaminiHochberg => crate::stats::Correction::BenjaminiHochberg,
        Correction::None => crate::stats::Correction::None,
    }
}

/// Evaluates the selected trials on both variants' outcomes. `all` is every
/// trial (for family sizes); unrun family members count as p = 1.
pub fn evaluate(
    suites: &[Suite],
    plans: &[SuitePlan],
    all: &[TrialDef],
    selected: &[&TrialDef],
    base: &Outcomes,
    cand: &Outcomes,
) -> Vec<TrialResult> {
    let pairs = |suite: &Suite, cond: &Condition| -> Vec<Pair> {
        let policy = suite.refusal_policy();
        let b = base
            .get(&suite.name)
            .and_then(|m| m.get(cond))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let c = cand
            .get(&suite.name)
            .and_then(|m| m.get(cond))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        b.iter()
            .zip(c)
            .map(|(b, c)| Pair {
                base: b.is_wrong(policy),
                cand: c.is_wrong(policy),
            })
            .collect()
    };
    let warmth = |suite: &Suite, cond: &Condition| -> Vec<(Option<f64>, Option<f64>)> {
        let get = |o: &Outcomes| {
            o.get(&suite.name)
                .and_then(|m| m.get(cond))
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|x| x.warmth)
                .collect::<Vec<_>>()
        };
        get(base).into_iter().zip(get(cand)).collect()
    };
    let family_size = |family: &str| {
        all.iter()
            .filter(|d| d.p_valued() && d.family == family)
            .count()
            .max(1)
    };
    let mut results = Vec::new();
    for def in selected {
        let suite = suites
            .iter()
            .find(|s| s.name == def.suite)
            .expect("trial of a loaded suite");
        let gate = criterion(&def.kind);
        let main = pairs(suite, &def.condition);
        let reference = def.reference.as_ref().map(|r| pairs(suite, r));
        let warmth = if def.kind.needs_warmth() {
            warmth(suite, &def.condition)
        } else {
            Vec::new()
        };
        let measurement = gate.measure(&GateInput {
            main: &main,
            reference: reference.as_deref(),
            warmth: &warmth,
            family: family_size(&def.family),
        });
        let cases = plans
            .iter()
            .find(|p| p.suite == suite.name)
            .and_then(|p| p.conditions.iter().find(|(c, _)| c == &def.condition))
            .map(|(_, cases)| cases.as_slice())
            .unwrap_or(&[]);
        let answers = |o: &Outcomes, i: usize| {
            o.get(&suite.name)
                .and_then(|m| m.get(&def.condition))
                .and_then(|v| v.get(i))
                .map(|x| x.answer.clone())
                .unwrap_or_default()
        };
        let flips = measurement
            .flips
            .iter()
            .filter_map(|&i| {
                let case = cases.get(i)?;
                Some(Flip {
                    item: suite.items[case.item].id.clone(),
                    prompt: case.user.clone(),
                    baseline: answers(base, i),
                    candidate: answers(cand, i),
                })
            })
            .collect();
        results.push(TrialResult {
            def: (*def).clone(),
            description: gate.describe(),
            measurement,
            adjusted_p: None,
            family_size: 0,
            family_run: 0,
            failed: false,
            flips,
        });
    }
    // Correction per family, over every p-valued trial of the family.
    let mut families: BTreeMap<&str, Vec<&TrialDef>> = BTreeMap::new();
    for d in all.iter().filter(|d| d.p_valued()) {
        families.entry(&d.family).or_default().push(d);
    }
    for (family, members) in &families {
        let p: Vec<f64> = members
            .iter()
            .map(|m| {
                results
                    .iter()
                    .find(|r| r.def.name == m.name)
                    .and_then(|r| r.measurement.p)
                    .unwrap_or(1.0)
            })
            .collect();
        let ran = members
            .iter()
            .filter(|m| results.iter().any(|r| r.def.name == m.name))
            .count();
        let adjusted = crate::stats::adjust(&p, to_stats(members[0].correction));
        for (m, adj) in members.iter().zip(adjusted) {
            if let Some(r) = results
                .iter_mut()
                .find(|r| r.def.name == m.name && r.def.family == *family)
            {
                r.adjusted_p = Some(adj);
                r.family_size = members.len();
                r.family_run = ran;
            }
        }
    }
    for r in &mut results {
        let gate = criterion(&r.def.kind);
        r.failed = gate.fails(&r.measurement, r.adjusted_p);
    }
    results
}
