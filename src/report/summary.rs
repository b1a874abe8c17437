//! `summary.md`: verdicts for a pull request comment or a CI step summary.

use crate::run::results::{RunResults, Status, Variant};

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn short(fp: &str) -> String {
    let head: String = fp.chars().take(16).collect();
    if fp.chars().count() > 16 {
        format!("{head}…")
    } else {
        head
    }
}

fn variant_row(role: &str, v: &Variant) -> String {
    format!(
        "| {role} | `{}` | {} | `{}` |\n",
        v.model.replace('|', "\\|"),
        v.persona.as_deref().unwrap_or("none"),
        short(&v.fingerprint)
    )
}

pub fn render(r: &RunResults) -> String {
    let t = &r.totals;
    let total = t.passed + t.failed + t.ignored;
    let mut s = String::new();
    if t.failed > 0 {
        s.push_str(&format!(
            "# candor: {} of {total} gates failed\n\n",
            t.failed
        ));
    } else {
        s.push_str(&format!("# candor: all {} gates passed\n\n", t.passed));
    }
    s.push_str("| | model | persona | fingerprint |\n|---|---|---|---|\n");
    s.push_str(&variant_row("baseline", &r.baseline));
    s.push_str(&variant_row("candidate", &r.candidate));
    s.push('\n');
    s.push_str(&format!(
        "**{} failed**, {} passed, {} ignored · {} cases per model · {} · seed {} · {:.1} s",
        t.failed,
        t.passed,
        t.ignored,
        r.cases_per_model,
        match r.quick {
            Some(n) => format!("quick profile ({n} cases per suite)"),
            None => "full profile".to_string(),
        },
        r.seed,
        r.duration_s
    ));
    if let Some(st) = r.store {
        s.push_str(&format!(
            " · store: reused {} of {} responses",
            st.reused, st.total
        ));
    }
    if let Some(t) = r.tokens {
        s.push_str(&format!(" · {}", crate::report::token_line(&t)));
    }
    let commit: String = r.candor.commit.chars().take(12).collect();
    s.push_str(&format!(
        " · candor {} (`{commit}`) · {} {}, {} cores\n\n",
        r.candor.version, r.machine.os, r.machine.arch, r.machine.cores
    ));
    let failed: Vec<_> = r
        .trials
        .iter()
        .filter(|t| t.status == Status::Failed)
        .collect();
    if !failed.is_empty() {
        s.push_str("## Failing gates\n\n");
        for f in failed {
            s.push_str(&format!("### `{}`\n\n```text\n", f.name));
            s.push_str(f.message.as_deref().unwrap_or("").trim_end());
            s.push_str("\n```\n\n");
        }
    }
    let warm: Vec<_> = r
        .suites
        .iter()
        .filter(|s| s.conditions.iter().any(|c| c.warmth.is_some()))
        .collect();
    if !warm.is_empty() {
        s.push_str("## Warmth\n\nMean SocioT-style warmth of the replies in nats (log-likelihood after warm openers minus after distant ones), with 95% t intervals; Δ is candidate minus baseline, paired by item.\n\n");
        s.push_str("| condition | n | baseline warmth | candidate warmth | Δ warmth [95% CI] |\n|---|---:|---:|---:|---:|\n");
        for suite in warm {
            for c in &suite.conditions {
                let Some(w) = &c.warmth else { continue };
                s.push_str(&format!(
                    "| {}::{}::{} | {} | {} | {} | {:+.2} [{:+.2}, {:+.2}] |\n",
                    suite.name,
                    c.context,
                    c.belief,
                    w.n,
                    crate::report::nats(&w.baseline),
                    crate::report::nats(&w.candidate),
                    w.delta,
                    w.delta_ci.lo,
                    w.delta_ci.hi
                ));
            }
        }
        s.push('\n');
    }
    s.push_str("## Error rates\n\n");
    // A suite that only measures (`match: none`) has no error rates.
    for suite in r
        .suites
        .iter()
        .filter(|s| !s.conditions.iter().all(|c| c.n == 0 && c.warmth.is_some()))
    {
        s.push_str(&format!(
            "<details><summary><b>{}</b>: {} items, {} conditions, {} scoring</summary>\n\n",
            suite.name,
            suite.items,
            suite.conditions.len(),
            suite.scoring
        ));
        s.push_str("| condition | n | baseline error | candidate error | Δ error [95% CI] | flips |\n|---|---:|---:|---:|---:|---:|\n");
        for c in &suite.conditions {
            s.push_str(&format!(
                "| {}::{} | {} | {} | {} | {:+.1} pp [{:.1}, {:.1}] | {} |\n",
                c.context,
                c.belief,
                c.n,
                pct(c.baseline.rate),
                pct(c.candidate.rate),
                c.delta * 100.0,
                c.delta_ci.lo * 100.0,
                c.delta_ci.hi * 100.0,
                c.flips_to_wrong
            ));
        }
        s.push_str("\n</details>\n\n");
    }
    s
}
