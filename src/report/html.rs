//! `report.html`: one self-contained page (inline CSS, SVG and a few lines of
//! JS; no external assets). Per suite: error rate by context for both models
//! with Wilson intervals, the gap (candidate − baseline) per condition as a
//! forest plot, the table of trials, the flipped items.

use crate::run::results::{ConditionResults, RunResults, Status, SuiteResults, TrialRecord};
use std::fmt::Write;

const BASE: &str = "#2b6cb0";
const CAND: &str = "#dd6b20";
const FAIL: &str = "#c53030";
/// Flipped items listed per trial.
const FLIPS_SHOWN: usize = 20;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn p(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if v < 1e-4 => format!("{v:.1e}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// A round tick step (1, 2 or 5 × 10^k) giving at most `max_ticks` steps over `range`.
fn nice_step(range: f64, max_ticks: usize) -> f64 {
    let raw = (range / max_ticks as f64).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw - 1e-12)
        .unwrap_or(10.0 * mag)
}

/// Rounds up to a multiple of `step`, at least `step`.
fn ceil_to(x: f64, step: f64) -> f64 {
    ((x / step).ceil() * step).max(step)
}

/// Error rate by context, a panel per belief, both models with 95% Wilson intervals.
fn rate_plot(s: &SuiteResults) -> String {
    let mut beliefs: Vec<&str> = Vec::new();
    let mut contexts: Vec<&str> = Vec::new();
    for c in &s.conditions {
        if !beliefs.contains(&c.belief.as_str()) {
            beliefs.push(&c.belief);
        }
        if !contexts.contains(&c.context.as_str()) {
            contexts.push(&c.context);
        }
    }
    let ymax = ceil_to(
        s.conditions
            .iter()
            .flat_map(|c| [c.baseline.ci.hi, c.candidate.ci.hi])
            .fold(0.0, f64::max),
        0.01,
    )
    .min(1.0);
    let ystep = nice_step(ymax, 5);
    let ymax = ceil_to(ymax, ystep);
    let (pw, ph) = ((1160.0 / beliefs.len().max(1) as f64).min(580.0), 220.0_f64);
    let (ml, mt, mb) = (48.0, 26.0, 64.0);
    let width = pw * beliefs.len() as f64 + 20.0;
    let height = mt + ph + mb;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="plot" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="error rate by context"><title>Error rate by context ({}), 95% Wilson intervals</title>"#,
        esc(&s.name)
    );
    for (bi, belief) in beliefs.iter().enumerate() {
        let x0 = bi as f64 * pw + ml;
        let w = pw - ml - 12.0;
        let y = |v: f64| mt + ph - v / ymax * ph;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="16" class="ptitle">belief: {}</text>"#,
            x0,
            esc(belief)
        );
        // Grid and y labels.
        let ticks = (ymax / ystep).round() as usize;
        for k in 0..=ticks {
            let v = ystep * k as f64;
            let yy = y(v);
            let _ = write!(
                o,
                r##"<line x1="{x0:.1}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e2e8f0"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{:.0}%</text>"##,
                x0 + w,
                x0 - 6.0,
                yy + 4.0,
                v * 100.0
            );
        }
        let step = w / contexts.len().max(1) as f64;
        for (ci, ctx) in contexts.iter().enumerate() {
            let cx = x0 + step * (ci as f64 + 0.5);
            let _ = write!(
                o,
                r#"<text x="{cx:.1}" y="{:.1}" class="tick" text-anchor="end" transform="rotate(-35 {cx:.1} {:.1})">{}</text>"#,
                mt + ph + 14.0,
                mt + ph + 14.0,
                esc(ctx)
            );
            let Some(c) = s
                .conditions
                .iter()
                .find(|c| c.context == *ctx && c.belief == *belief)
            else {
                continue;
            };
            for (dx, rate, color, shape) in [
                (-7.0, &c.baseline, BASE, "circle"),
                (7.0, &c.candidate, CAND, "square"),
            ] {
                let x = cx + dx;
                let _ = write!(
                    o,
                    r#"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2"><title>{} {}: {} [{}, {}], n = {}</title></line>"#,
                    y(rate.ci.lo),
                    y(rate.ci.hi),
                    if shape == "circle" {
                        "baseline"
                    } else {
                        "candidate"
                    },
                    esc(&format!("{}::{}", c.context, c.belief)),
                    pct(rate.rate),
                    pct(rate.ci.lo),
                    pct(rate.ci.hi),
                    c.n
                );
                if shape == "circle" {
                    let _ = write!(
                        o,
                        r#"<circle cx="{x:.1}" cy="{:.1}" r="4.5" fill="{color}"/>"#,
                        y(rate.rate)
                    );
                } else {
                    let _ = write!(
                        o,
                        r#"<rect x="{:.1}" y="{:.1}" width="9" height="9" fill="{color}"/>"#,
                        x - 4.5,
                        y(rate.rate) - 4.5
                    );
                }
            }
        }
        let _ = write!(
            o,
            r##"<line x1="{x0:.1}" x2="{x0:.1}" y1="{mt:.1}" y2="{:.1}" stroke="#4a5568"/><line x1="{x0:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#4a5568"/>"##,
            mt + ph,
            x0 + w,
            mt + ph,
            mt + ph
        );
    }
    o.push_str("</svg>");
    o
}

/// Candidate − baseline error per condition with 95% Newcombe intervals;
/// conditions with a failed gate in red.
fn forest_plot(s: &SuiteResults, failed: &[&TrialRecord]) -> String {
    let rows = s.conditions.len();
    let (ml, mr, mt, row) = (190.0, 150.0, 28.0, 20.0);
    let width = 760.0;
    let plot_w = width - ml - mr;
    let height = mt + row * rows as f64 + 34.0;
    let widest = s
        .conditions
        .iter()
        .flat_map(|c| [c.delta_ci.lo.abs(), c.delta_ci.hi.abs()])
        .fold(0.01, f64::max);
    let xstep = nice_step(widest, 3);
    let span = ceil_to(widest, xstep);
    let side = (span / xstep).round() as i64;
    let x = |v: f64| ml + (v + span) / (2.0 * span) * plot_w;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="plot" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="gap per condition"><title>Candidate − baseline error per condition ({}), 95% Newcombe intervals</title><text x="{ml}" y="16" class="ptitle">Δ error (candidate − baseline), pp</text>"#,
        esc(&s.name)
    );
    let bottom = mt + row * rows as f64;
    for k in -side..=side {
        let v = xstep * k as f64;
        let xx = x(v);
        let _ = write!(
            o,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{mt:.1}" y2="{bottom:.1}" stroke="{}"/><text x="{xx:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"##,
            if k == 0 { "#4a5568" } else { "#e2e8f0" },
            bottom + 16.0,
            if k == 0 {
                "0".to_string()
            } else {
                format!("{:+.0}", v * 100.0)
            }
        );
    }
    for (i, c) in s.conditions.iter().enumerate() {
        let yy = mt + row * (i as f64 + 0.5);
        let bad = failed
            .iter()
            .any(|t| t.context == c.context && t.belief == c.belief);
        let color = if bad { FAIL } else { "#2d3748" };
        let label = format!("{}::{}", c.context, c.belief);
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="end" fill="{color}">{}</text><line x1="{:.1}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="{color}" stroke-width="2"/><rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{color}"><title>{}: {:+.1} pp [{:.1}, {:.1}], n = {}</title></rect><text x="{:.1}" y="{:.1}" class="tick" fill="{color}">{:+.1} [{:.1}, {:.1}]</text>"#,
            ml - 8.0,
            yy + 4.0,
            esc(&label),
            x(c.delta_ci.lo),
            x(c.delta_ci.hi),
            x(c.delta) - 4.0,
            yy - 4.0,
            esc(&label),
            c.delta * 100.0,
            c.delta_ci.lo * 100.0,
            c.delta_ci.hi * 100.0,
            c.n,
            width - mr + 10.0,
            yy + 4.0,
            c.delta * 100.0,
            c.delta_ci.lo * 100.0,
            c.delta_ci.hi * 100.0,
        );
    }
    o.push_str("</svg>");
    o
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::Failed => "FAILED",
        Status::Ignored => "ignored",
    }
}

fn trial_table(trials: &[&TrialRecord]) -> String {
    let mut o = String::from(
        "<table class=\"trials\"><thead><tr><th>trial</th><th>verdict</th><th>n</th><th>baseline error</th><th>candidate error</th><th>effect [95% CI]</th><th>p</th><th>adj p</th></tr></thead><tbody>",
    );
    for t in trials {
        let n = t.n.max(1) as f64;
        // Warmth gates: mean warmth per model and a difference in nats.
        let (be, ce, effect) = match (&t.baseline_warmth, &t.candidate_warmth) {
            (Some(b), Some(c)) => (
                format!("warmth {}", crate::report::nats(b)),
                format!("warmth {}", crate::report::nats(c)),
                format!(
                    "{} {:+.2} nats [{:+.2}, {:+.2}]",
                    esc(&t.effect_name),
                    t.effect,
                    t.effect_ci.lo,
                    t.effect_ci.hi
                ),
            ),
            _ => (
                pct(t.baseline_errors as f64 / n),
                pct(t.candidate_errors as f64 / n),
                format!(
                    "{} {:+.1} pp [{:.1}, {:.1}]",
                    esc(&t.effect_name),
                    t.effect * 100.0,
                    t.effect_ci.lo * 100.0,
                    t.effect_ci.hi * 100.0
                ),
            ),
        };
        let verdict = match &t.ignored_reason {
            Some(r) => format!("<span title=\"{}\">ignored</span>", esc(r)),
            None => status_word(t.status).to_string(),
        };
        let _ = write!(
            o,
            r#"<tr class="trial {cls}" data-name="{name}"><td title="{desc}"><code>{name}</code></td><td class="verdict">{verdict}</td><td>{n}</td><td>{be}</td><td>{ce}</td><td>{effect}</td><td>{p}</td><td>{ap}</td></tr>"#,
            cls = status_word(t.status).to_lowercase(),
            name = esc(&t.name),
            desc = esc(&t.description),
            n = t.n,
            p = p(t.p),
            ap = p(t.adjusted_p),
        );
    }
    o.push_str("</tbody></table>");
    o
}

fn flips(trials: &[&TrialRecord]) -> String {
    let mut o = String::new();
    // One list per condition (gates of a condition share its flipped items).
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for t in trials.iter().filter(|t| t.status == Status::Failed) {
        if t.flips.is_empty() || seen.contains(&(t.context.as_str(), t.belief.as_str())) {
            continue;
        }
        seen.push((&t.context, &t.belief));
        let _ = write!(
            o,
            r#"<details class="flips" data-name="{}" open><summary>{} {} under <code>{}::{}</code>{}</summary><table><thead><tr><th>item</th><th>prompt</th><th>baseline</th><th>candidate</th></tr></thead><tbody>"#,
            esc(&t.name),
            t.flips.len(),
            if t.baseline_warmth.is_some() {
                "replies that lost the most warmth"
            } else {
                "items flipped to wrong"
            },
            esc(&t.context),
            esc(&t.belief),
            if t.flips.len() > FLIPS_SHOWN {
                format!(" (first {FLIPS_SHOWN})")
            } else {
                String::new()
            }
        );
        for f in t.flips.iter().take(FLIPS_SHOWN) {
            let _ = write!(
                o,
                r#"<tr class="flip" data-name="{}"><td><code>{}</code></td><td class="prompt">{}</td><td class="ok">{}</td><td class="bad">{}</td></tr>"#,
                esc(&format!("{} {} {}", t.name, f.item, f.prompt).to_lowercase()),
                esc(&f.item),
                esc(&f.prompt),
                esc(&f.baseline),
                esc(&f.candidate)
            );
        }
        o.push_str("</tbody></table></details>");
    }
    o
}

/// A suite's warmth per condition (suites with a `warmth:` section).
fn warmth_table(s: &SuiteResults) -> String {
    if s.conditions.iter().all(|c| c.warmth.is_none()) {
        return String::new();
    }
    let mut o = String::from(
        "<table class=\"warmth\"><thead><tr><th>condition</th><th>n</th><th>baseline warmth</th><th>candidate warmth</th><th>Δ warmth [95% CI]</th></tr></thead><tbody>",
    );
    for c in &s.conditions {
        let Some(w) = &c.warmth else { continue };
        let _ = write!(
            o,
            "<tr><td><code>{}::{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{:+.2} [{:+.2}, {:+.2}]</td></tr>",
            esc(&c.context),
            esc(&c.belief),
            w.n,
            crate::report::nats(&w.baseline),
            crate::report::nats(&w.candidate),
            w.delta,
            w.delta_ci.lo,
            w.delta_ci.hi
        );
    }
    o.push_str("</tbody></table><p class=\"meta\">warmth in nats: the scorer's log-likelihood of each reply after warm openers (\"My friend said,\") minus after distant ones (\"The stranger said,\"); 95% t intervals, Δ paired by item</p>");
    o
}

fn legend() -> String {
    format!(
        r#"<div class="legend"><svg width="12" height="12"><circle cx="6" cy="6" r="5" fill="{BASE}"/></svg> baseline <svg width="12" height="12"><rect x="1" y="1" width="10" height="10" fill="{CAND}"/></svg> candidate · whiskers: 95% intervals</div>"#
    )
}

fn condition_has_failure(c: &ConditionResults, failed: &[&TrialRecord]) -> bool {
    failed
        .iter()
        .any(|t| t.context == c.context && t.belief == c.belief)
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px 32px;color:#1a202c;background:#fff}
h1{font-size:22px;margin:0 0 6px} h2{font-size:18px;margin:28px 0 4px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.meta{color:#4a5568;margin:2px 0} .verdict-fail{color:#c53030} .verdict-pass{color:#2f855a}
.bar{position:sticky;top:0;background:#fff;padding:8px 0;border-bottom:1px solid #e2e8f0;z-index:1}
.bar input[type=search]{width:320px;padding:4px 6px}
.plots{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.plot text{font:11px system-ui,sans-serif;fill:#2d3748} .plot .ptitle{font-weight:600;font-size:12px}
table{border-collapse:collapse;margin:8px 0} th,td{padding:3px 8px;border-bottom:1px solid #edf2f7;text-align:left;vertical-align:top}
th{background:#f7fafc;font-weight:600} tr.failed td{background:#fff5f5} tr.failed .verdict{color:#c53030;font-weight:700}
tr.ignored .verdict{color:#718096} td.prompt{max-width:520px;color:#4a5568} td.ok{color:#2f855a} td.bad{color:#c53030}
.legend{color:#4a5568;margin:4px 0} code{font-size:12px} details.flips summary{cursor:pointer;font-weight:600;margin-top:8px}
"#;

const SCRIPT: &str = r#"
const q=document.getElementById('q'),only=document.getElementById('only');
function apply(){const t=q.value.trim().toLowerCase(),f=only.checked;
document.querySelectorAll('section.suite').forEach(s=>{let any=false;
s.querySelectorAll('tr.trial').forEach(r=>{const show=(!f||r.classList.contains('failed'))&&(!t||r.dataset.name.includes(t)||s.dataset.suite.includes(t));r.hidden=!show;any=any||show;});
s.querySelectorAll('tr.flip').forEach(r=>{r.hidden=!!t&&!r.dataset.name.includes(t)&&!s.dataset.suite.includes(t);});
s.hidden=!any&&(f||!!t);});}
q.addEventListener('input',apply);only.addEventListener('change',apply);
"#;

pub fn render(r: &RunResults) -> String {
    let t = &r.totals;
    let mut o = String::new();
    let title = if t.failed > 0 {
        format!(
            "{} of {} gates failed",
            t.failed,
            t.passed + t.failed + t.ignored
        )
    } else {
        format!("all {} gates passed", t.passed)
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>candor: {}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let variant = |v: &crate::run::results::Variant| {
        format!(
            "<code>{}</code>{}",
            esc(&v.model),
            v.persona
                .as_deref()
                .map(|p| format!(" (persona {})", esc(p)))
                .unwrap_or_default()
        )
    };
    let _ = write!(
        o,
        r#"<h1>candor: <span class="{}">{}</span></h1><p class="meta">baseline {} · candidate {}</p><p class="meta">{} failed, {} passed, {} ignored · {} cases per model · {} · seed {} · {:.1} s{} · candor {} ({}) · {} {}, {} cores · {}</p>"#,
        if t.failed > 0 {
            "verdict-fail"
        } else {
            "verdict-pass"
        },
        esc(&title),
        variant(&r.baseline),
        variant(&r.candidate),
        t.failed,
        t.passed,
        t.ignored,
        r.cases_per_model,
        match r.quick {
            Some(n) => format!("quick profile ({n} cases per suite)"),
            None => "full profile".into(),
        },
        r.seed,
        r.duration_s,
        r.store
            .map(|s| format!(" · store: reused {} of {} responses", s.reused, s.total))
            .unwrap_or_default(),
        esc(&r.candor.version),
        esc(&r.candor.commit.chars().take(12).collect::<String>()),
        esc(&r.machine.os),
        esc(&r.machine.arch),
        r.machine.cores,
        esc(&r.started_at),
    );
    o.push_str(r#"<div class="bar"><input id="q" type="search" placeholder="filter: suite, condition, gate, item…"> <label><input id="only" type="checkbox"> failures only</label></div>"#);
    for s in &r.suites {
        let trials: Vec<&TrialRecord> = r.trials.iter().filter(|t| t.suite == s.name).collect();
        let failed: Vec<&TrialRecord> = trials
            .iter()
            .copied()
            .filter(|t| t.status == Status::Failed)
            .collect();
        let bad_conditions = s
            .conditions
            .iter()
            .filter(|c| condition_has_failure(c, &failed))
            .count();
        let _ = write!(
            o,
            r#"<section class="suite" data-suite="{}" data-failed="{}"><h2>{} <small class="{}">{} of {} gates failed</small></h2><p class="meta">{}{} items · {} scoring · {} conditions{}</p>"#,
            esc(&s.name),
            failed.len(),
            esc(&s.name),
            if failed.is_empty() {
                "verdict-pass"
            } else {
                "verdict-fail"
            },
            failed.len(),
            trials.len(),
            if s.description.is_empty() {
                String::new()
            } else {
                format!("{} · ", esc(&s.description))
            },
            s.items,
            esc(&s.scoring),
            s.conditions.len(),
            if bad_conditions > 0 {
                format!(" ({bad_conditions} with a failed gate)")
            } else {
                String::new()
            }
        );
        o.push_str(&warmth_table(s));
        // A suite that only measures warmth (`match: none`) has no error rates to plot.
        if !s.conditions.iter().all(|c| c.n == 0 && c.warmth.is_some()) {
            o.push_str(&legend());
            o.push_str("<div class=\"plots\">");
            o.push_str(&rate_plot(s));
            o.push_str(&forest_plot(s, &failed));
            o.push_str("</div>");
        }
        o.push_str(&trial_table(&trials));
        o.push_str(&flips(&trials));
        o.push_str("</section>");
    }
    let _ = writeln!(o, "<script>{SCRIPT}</script></body></html>");
    o
}
