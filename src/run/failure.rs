//! The failure message of a trial: headline, threshold, table, flipped items.

use super::trials::TrialResult;
use crate::spec::Correction;
use crate::stats::{Interval, MeanInterval};

/// Flipped items shown per failure.
pub const TOP_FLIPS: usize = 5;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn ci_pct(i: &Interval) -> String {
    format!("[{:.1}, {:.1}]", i.lo * 100.0, i.hi * 100.0)
}

fn p(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v < 1e-4 => format!("{v:.1e}"),
        Some(v) => format!("{v:.4}"),
    }
}

fn excerpt(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let keep = max.saturating_sub(1);
        let start = one_line.chars().count() - keep;
        format!("…{}", one_line.chars().skip(start).collect::<String>())
    }
}

/// The message libtest prints for a failed trial.
pub fn failure_message(r: &TrialResult) -> String {
    let m = &r.measurement;
    let mut s = String::new();
    s.push_str(&format!("gate {}: {}\n", r.def.kind.name(), r.description));
    if let Some(adj) = r.adjusted_p {
        let corr = match r.def.correction {
            Correction::Holm => "Holm",
            Correction::BenjaminiHochberg => "Benjamini-Hochberg",
            Correction::None => "no",
        };
        s.push_str(&format!(
            "correction: {corr} across family `{}` ({} gates",
            r.def.family, r.family_size
        ));
        if r.family_run < r.family_size {
            s.push_str(&format!(
                ", {} not run: counted as p = 1",
                r.family_size - r.family_run
            ));
        }
        s.push_str(&format!("); adjusted p = {}\n", p(Some(adj))));
    }
    if let Some((base, cand)) = &m.warmth {
        s.push_str(&warmth_table(r, base, cand));
        return s;
    }
    s.push_str(&format!(
        "{} = {:+.1} pp {}",
        m.effect_name,
        m.effect * 100.0,
        ci_pct(&m.effect_ci)
    ));
    if let Some(r) = &r.def.reference {
        s.push_str(&format!(" (vs {r})"));
    }
    s.push_str("\n\n");
    let header = format!(
        "  {:<28} {:>5}  {:<20} {:<20} {:<22} {:>8} {:>8}\n",
        "condition",
        "n",
        "baseline error",
        "candidate error",
        m.effect_name.to_string() + " pp",
        "p",
        "adj p"
    );
    s.push_str(&header);
    let n = m.n.max(1) as f64;
    let cond = r.def.condition.to_string();
    s.push_str(&format!(
        "  {:<28} {:>5}  {:<20} {:<20} {:<22} {:>8} {:>8}\n",
        cond,
        m.n,
        format!("{} {}", pct(m.base_errors as f64 / n), ci_pct(&m.base_ci)),
        format!("{} {}", pct(m.cand_errors as f64 / n), ci_pct(&m.cand_ci)),
        format!("{:+.1} {}", m.effect * 100.0, ci_pct(&m.effect_ci)),
        p(m.p),
        p(r.adjusted_p),
    ));
    if !r.flips.is_empty() {
        s.push_str(&format!(
            "\ntop flipped items (baseline right, candidate wrong): {} of {}\n",
            r.flips.len().min(TOP_FLIPS),
            r.flips.len()
        ));
        for f in r.flips.iter().take(TOP_FLIPS) {
            s.push_str(&format!("  {}: \"{}\"\n", f.item, excerpt(&f.prompt, 90)));
            s.push_str(&format!(
                "      baseline:  {}\n      candidate: {}\n",
                excerpt(&f.baseline, 80),
                excerpt(&f.candidate, 80)
            ));
        }
    }
    s
}

fn nats(m: &MeanInterval) -> String {
    format!("{:+.2} [{:+.2}, {:+.2}]", m.mean, m.ci.lo, m.ci.hi)
}

/// A warmth gate's evidence: both models' mean warmth, the paired
/// difference, and the replies that lost the most warmth.
fn warmth_table(r: &TrialResult, base: &MeanInterval, cand: &MeanInterval) -> String {
    let m = &r.measurement;
    let diff = MeanInterval {
        mean: m.effect,
        ci: m.effect_ci,
    };
    let mut s = format!("{} = {} nats\n\n", m.effect_name, nats(&diff));
    s.push_str(&format!(
        "  {:<28} {:>5}  {:<24} {:<24} {:<24} {:>8} {:>8}\n",
        "condition", "n", "baseline warmth", "candidate warmth", "Δ warmth nats", "p", "adj p"
    ));
    s.push_str(&format!(
        "  {:<28} {:>5}  {:<24} {:<24} {:<24} {:>8} {:>8}\n",
        r.def.condition.to_string(),
        m.n,
        nats(base),
        nats(cand),
        nats(&diff),
        p(m.p),
        p(r.adjusted_p),
    ));
    if !r.flips.is_empty() {
        s.push_str(&format!(
            "\nreplies that lost the most warmth (candidate vs baseline): {}\n",
            r.flips.len().min(TOP_FLIPS)
        ));
        for f in r.flips.iter().take(TOP_FLIPS) {
            s.push_str(&format!("  {}: \"{}\"\n", f.item, excerpt(&f.prompt, 90)));
            s.push_str(&format!(
                "      baseline:  {}\n      candidate: {}\n",
                excerpt(&f.baseline, 80),
                excerpt(&f.candidate, 80)
            ));
        }
    }
    s
}
