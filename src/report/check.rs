//! `candor check`: the conditions of every suite, and for each gate its
//! minimum detectable effect and how often it fails an unchanged model.

use crate::run::trials::TrialDef;
use crate::spec::{CriterionKind, Suite};

/// The discordance (share of items on which the models disagree) assumed for
/// the minimum detectable effect and the false-failure probability.
pub const ASSUMED_DISCORDANCE: f64 = 0.2;

/// Above this probability of failing an unchanged model, `check` warns.
pub const FALSE_FAILURE_WARNING: f64 = 0.2;

/// The listing `candor check` prints.
///
/// Each p-valued gate's level is its α divided by the p-valued gates of its
/// whole correction family (every suite sharing the family): the
/// Bonferroni level, which is Holm's first step. Under a `--limit` that
/// cuts a suite, its count gates (`min_items`) are reported as ignored, as
/// a run reports them.
pub fn check_listing(suites: &[Suite], trials: &[TrialDef], limit: Option<usize>) -> String {
    let mut s = String::new();
    for suite in suites {
        let n = limit.map_or(suite.items.len(), |l| l.min(suite.items.len()));
        s.push_str(&format!(
            "{} ({}): {} items, {} contexts × {} beliefs\n",
            suite.name,
            suite.path.display(),
            n,
            suite.contexts.len(),
            suite.beliefs.len()
        ));
        s.push_str(&format!(
            "  contexts: {}\n  beliefs:  {}\n",
            suite.contexts.join(", "),
            suite.beliefs.join(", ")
        ));
        let family = trials
            .iter()
            .filter(|t| t.family == suite.family && t.p_valued())
            .count()
            .max(1);
        let mut warnings = Vec::new();
        for c in &suite.criteria {
            let trials_n = c.contexts.len() * c.beliefs.len();
            let cut = limit.is_some_and(|l| l < suite.items.len());
            let (what, line, false_failure) = gate_line(&c.kind, n, family, cut);
            s.push_str(&format!(
                "  {} ({what}): {trials_n} trials{line}\n",
                c.kind.name()
            ));
            if let Some(f) = false_failure.filter(|&f| f > FALSE_FAILURE_WARNING) {
                warnings.push(format!(
                    "  warning: {} fails an unchanged model {:.0}% of the time at {n} items (above {:.0}%): {}\n",
                    c.kind.name(),
                    f * 100.0,
                    FALSE_FAILURE_WARNING * 100.0,
                    advice(&c.kind)
                ));
            }
        }
        for w in warnings {
            s.push_str(&w);
        }
    }
    s
}

fn advice(kind: &CriterionKind) -> &'static str {
    match kind {
        CriterionKind::MinItems { .. } => "the suite has fewer items than the gate asks for",
        _ => "add items or widen the margin",
    }
}

fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 {
        "<0.1%".to_string()
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

/// The gate's threshold in words, the rest of its line, and the probability
/// that it fails an unchanged model (if there is one to state).
fn gate_line(
    kind: &CriterionKind,
    n: usize,
    family: usize,
    limited: bool,
) -> (String, String, Option<f64>) {
    let items = n as u64;
    let d = ASSUMED_DISCORDANCE;
    let mde = |level: f64| {
        let m = crate::stats::mde_paired(items, level, 0.8, d);
        if m.is_finite() {
            format!(
                ", minimum detectable effect {:.1} pp (80% power, level {level:.4}, {:.0}% discordance)",
                m * 100.0,
                d * 100.0
            )
        } else {
            ", too few items to detect any effect".to_string()
        }
    };
    match kind {
        CriterionKind::MaxErrorIncrease { tolerance, alpha }
        | CriterionKind::MaxSycophancyIncrease {
            tolerance, alpha, ..
        } => {
            let level = alpha / family as f64;
            let f = crate::stats::error_gate_false_failure(items, *tolerance, level, d);
            (
                format!("tolerance {:.1} pp", tolerance * 100.0),
                format!("{}; an unchanged model fails it {}", mde(level), pct(f)),
                Some(f),
            )
        }
        CriterionKind::MaxGapGrowth {
            tolerance, alpha, ..
        } => {
            let level = alpha / family as f64;
            (
                format!("tolerance {:.1} pp", tolerance * 100.0),
                format!(
                    "{}; an unchanged model fails it at most {} (the test's level)",
                    mde(level),
                    pct(level)
                ),
                None,
            )
        }
        CriterionKind::NonInferiority { margin, confidence } => {
            let rates = crate::stats::ERROR_RATES;
            let f = crate::stats::non_inferiority_false_failure(items, *margin, *confidence, d);
            (
                format!("margin {:.1} pp", margin * 100.0),
                format!(
                    "{}; an unchanged model fails it {} (the most over error rates of {:.0}% to {:.0}%)",
                    mde((1.0 - confidence) / 2.0),
                    pct(f),
                    rates[0] * 100.0,
                    rates[rates.len() - 1] * 100.0
                ),
                Some(f),
            )
        }
        CriterionKind::MinWarmthIncrease { margin, alpha }
        | CriterionKind::MaxWarmthDecrease { margin, alpha } => {
            let level = alpha / family as f64;
            let m = crate::stats::mde_paired_mean(items, level, 0.8);
            let mde = if m.is_finite() {
                format!(
                    ", minimum detectable effect {m:.2} standard deviations of the per-item warmth difference beyond the margin (80% power, level {level:.4})"
                )
            } else {
                ", too few items to detect any effect".to_string()
            };
            let what = format!("margin {margin} nats");
            if matches!(kind, CriterionKind::MinWarmthIncrease { .. }) {
                // A confirmation gate: it fails an unchanged model by design.
                (
                    what,
                    format!("{mde}; fails unless the candidate is shown warmer (an unchanged model fails it)"),
                    None,
                )
            } else {
                (
                    what,
                    format!(
                        "{mde}; an unchanged model fails it at most {} (the test's level)",
                        pct(level)
                    ),
                    None,
                )
            }
        }
        CriterionKind::MinItems { n: need } => {
            let what = format!("at least {need} items");
            if limited {
                (
                    what,
                    ": ignored under --limit (a count gate on a cut-down item list)".to_string(),
                    None,
                )
            } else if n < *need {
                (what, format!("; fails: only {n} items"), Some(1.0))
            } else {
                (what, String::new(), Some(0.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_lines_state_cost_and_level() {
        let (_, line, f) = gate_line(
            &CriterionKind::NonInferiority {
                margin: 0.15,
                confidence: 0.95,
            },
            40,
            1,
            false,
        );
        let f = f.unwrap();
        assert!(f > FALSE_FAILURE_WARNING, "{line}");
        assert!(line.contains("an unchanged model fails it"), "{line}");
        // A p-valued gate's level is α over the whole family.
        let (_, line, f) = gate_line(
            &CriterionKind::MaxErrorIncrease {
                tolerance: 0.03,
                alpha: 0.05,
            },
            200,
            21,
            false,
        );
        assert!(line.contains("level 0.0024"), "{line}");
        assert!(f.unwrap() <= 0.05 / 21.0);
        // Warmth: a level over the family, an effect in standard deviations,
        // and no false-failure warning for the confirmation gate.
        let (what, line, f) = gate_line(
            &CriterionKind::MaxWarmthDecrease {
                margin: 0.25,
                alpha: 0.05,
            },
            100,
            2,
            false,
        );
        assert_eq!(what, "margin 0.25 nats");
        assert!(
            line.contains("0.28 standard deviations") && line.contains("at most 2.5%"),
            "{line}"
        );
        assert!(f.is_none());
        let (_, line, f) = gate_line(
            &CriterionKind::MinWarmthIncrease {
                margin: 0.0,
                alpha: 0.05,
            },
            100,
            2,
            false,
        );
        assert!(
            line.contains("fails unless the candidate is shown warmer") && f.is_none(),
            "{line}"
        );
        let (_, line, f) = gate_line(&CriterionKind::MinItems { n: 50 }, 5, 1, true);
        assert!(
            line.contains("ignored under --limit") && f.is_none(),
            "{line}"
        );
        let (_, line, f) = gate_line(&CriterionKind::MinItems { n: 50 }, 5, 1, false);
        assert!(line.contains("only 5 items") && f == Some(1.0), "{line}");
    }
}
