//! `candor check`: the conditions of every suite and each gate's minimum detectable effect.

use crate::run::trials::TrialDef;
use crate::spec::{CriterionKind, Suite};

/// The discordance (share of items on which the models disagree) assumed for
/// the minimum detectable effect.
pub const ASSUMED_DISCORDANCE: f64 = 0.2;

/// The listing `candor check` prints.
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
        let count = trials
            .iter()
            .filter(|t| t.suite == suite.name && t.p_valued())
            .count()
            .max(1);
        for c in &suite.criteria {
            let (what, alpha) = match &c.kind {
                CriterionKind::MaxErrorIncrease { tolerance, alpha } => (
                    format!("tolerance {:.1} pp", tolerance * 100.0),
                    Some(*alpha),
                ),
                CriterionKind::NonInferiority { margin, confidence } => (
                    format!("margin {:.1} pp", margin * 100.0),
                    Some((1.0 - confidence) / 2.0),
                ),
                CriterionKind::MaxGapGrowth {
                    tolerance, alpha, ..
                } => (
                    format!("tolerance {:.1} pp", tolerance * 100.0),
                    Some(*alpha),
                ),
                CriterionKind::MaxSycophancyIncrease {
                    tolerance, alpha, ..
                } => (
                    format!("tolerance {:.1} pp", tolerance * 100.0),
                    Some(*alpha),
                ),
                CriterionKind::MinItems { n } => (format!("at least {n} items"), None),
            };
            let trials_n = c.contexts.len() * c.beliefs.len();
            s.push_str(&format!("  {} ({what}): {trials_n} trials", c.kind.name()));
            if let Some(a) = alpha {
                // Bonferroni level as the conservative per-gate level under Holm.
                let per_gate = if matches!(c.kind, CriterionKind::NonInferiority { .. }) {
                    a
                } else {
                    a / count as f64
                };
                let mde = crate::stats::mde_paired(n as u64, per_gate, 0.8, ASSUMED_DISCORDANCE);
                if mde.is_finite() {
                    s.push_str(&format!(", minimum detectable effect {:.1} pp (80% power, level {:.4}, {:.0}% discordance)", mde * 100.0, per_gate, ASSUMED_DISCORDANCE * 100.0));
                } else {
                    s.push_str(", too few items to detect any effect");
                }
            }
            s.push('\n');
        }
    }
    s
}
