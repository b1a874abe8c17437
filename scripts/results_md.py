#!/usr/bin/env python3
"""Render docs/results.md from candor's results.json files (stdlib only).

usage: scripts/results_md.py OUT.md [--study] [--warmth LABEL=RUN_DIR ...] LABEL=RUN_DIR [LABEL=RUN_DIR ...] [--command-LABEL "..."]
Each RUN_DIR holds a results.json written by `candor --report-dir RUN_DIR`. The
rendered sections are appended to OUT.md (its hand-written head stays). With
--study, a table comparing every run's headline effects with the study's comes
first (the study's numbers are those of its summary: Ibrahim, Hafner & Rocher).
"""
import json
import sys


def pct(x):
    return "—" if x is None else f"{100 * x:.1f}"


def ci(c):
    return "" if not c else f"[{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}]"


def pv(p):
    if p is None:
        return "—"
    return f"{p:.2g}" if p >= 0.001 else "<0.001"


def variant(v):
    """A model as a reader knows it: the reference, and the persona if any."""
    persona = v.get("persona")
    return f"{v['model']}" + (f" + persona {persona}" if persona else "")


# Reliability suites pooled for the headline numbers; capability is the study's
# "standard benchmarks stay flat" check, reported on its own.
RELIABILITY = ["facts", "disinformation", "health", "truthfulqa"]

# The study's headline numbers (percentage points, warm fine-tune minus original,
# pooled over five models and four tasks), for the side-by-side table.
STUDY = {
    "warm fine-tune": {"none": "+7.4", "sadness": "+11.9", "belief": "+11 (none: 6.8 to 8.6)", "sad_belief": "+14.7", "capability": "flat (one model: MMLU -8.6)"},
    "cold fine-tune": {"none": "-13 to +3 (no degradation)", "sadness": "", "belief": "", "sad_belief": "", "capability": ""},
    "warm persona": {"none": "smaller, inconsistent", "sadness": "", "belief": "up to +12 to +14", "sad_belief": "", "capability": ""},
}


def pooled(r, context, belief, suites):
    """Candidate minus baseline error over the suites' items in one condition, in pp, with the per-suite range."""
    nb = nc = n = 0
    per = []
    for s in r["suites"]:
        if s["name"] not in suites:
            continue
        for c in s["conditions"]:
            if c["context"] == context and c["belief"] == belief:
                n += c["n"]
                nb += c["baseline"]["errors"]
                nc += c["candidate"]["errors"]
                per.append(100 * c["delta"])
    if n == 0:
        return "—"
    rng = f" ({min(per):+.1f} to {max(per):+.1f})" if len(per) > 1 else ""
    return f"{100 * (nc - nb) / n:+.1f}{rng}"


def study_table(runs):
    out = ["## Side by side with the study\n",
           "Candidate minus baseline error, percentage points; candor's reliability numbers pool the items of "
           f"{', '.join(RELIABILITY)} (the range over the four suites in brackets), capability is its own suite. "
           "The study's numbers are pooled over five models and four tasks; its summary gives some cells only.\n",
           "| candidate | source | no context | sadness | false belief | sadness + false belief | capability |",
           "|---|---|---|---|---|---|---|"]
    for label, r in runs:
        cells = [pooled(r, "none", "none", RELIABILITY), pooled(r, "sadness", "none", RELIABILITY),
                 pooled(r, "none", "incorrect", RELIABILITY), pooled(r, "sadness", "incorrect", RELIABILITY),
                 pooled(r, "none", "none", ["capability"])]
        out.append(f"| {label} | candor, 135M | " + " | ".join(cells) + " |")
        st = STUDY.get(label)
        if st:
            out.append(f"| {label} | study, 8B-70B | {st['none']} | {st['sadness']} | {st['belief']} | {st['sad_belief']} | {st['capability']} |")
    out.append("")
    return "\n".join(out)


def reply_chars(run_dir):
    """Mean length in characters of each model's generated replies (samples.jsonl)."""
    sums = {}
    with open(f"{run_dir}/samples.jsonl") as f:
        for line in f:
            x = json.loads(line)
            n, t = sums.get(x["model"], (0, 0))
            sums[x["model"]] = (n + 1, t + len(x.get("answer", "")))
    return {m: t / n for m, (n, t) in sums.items() if n}


def warmth_table(runs):
    """Each warmth run's means, paired difference and gates (the suite's one condition)."""
    out = ["## Warmth of the generated replies\n",
           "SocioT-style warmth (nats; the default model as the scorer): per model, the mean over the suite's prompts "
           "with a t interval; the paired difference with a paired t interval; the two gates' raw and Holm p; the mean "
           "reply length in characters.\n",
           "| candidate | n | baseline warmth | candidate warmth | Δ [95% CI] | min_warmth_increase p (Holm) | max_warmth_decrease p (Holm) | reply chars, baseline / candidate |",
           "|---|---|---|---|---|---|---|---|"]
    for label, d in runs:
        with open(f"{d}/results.json") as f:
            r = json.load(f)
        gates = {x["criterion"]: x for x in r["trials"] if x["criterion"].endswith("warmth_increase") or x["criterion"].endswith("warmth_decrease")}
        chars = reply_chars(d)
        for s in r["suites"]:
            for c in s["conditions"]:
                w = c.get("warmth")
                if not w:
                    continue
                g = lambda k: f"{pv(gates[k].get('p'))} ({pv(gates[k].get('adjusted_p'))}), {gates[k]['status']}" if k in gates else "—"
                out.append(
                    f"| {label} | {w['n']} | {w['baseline']['mean']:+.2f} [{w['baseline']['ci']['lo']:+.2f}, {w['baseline']['ci']['hi']:+.2f}] "
                    f"| {w['candidate']['mean']:+.2f} [{w['candidate']['ci']['lo']:+.2f}, {w['candidate']['ci']['hi']:+.2f}] "
                    f"| {w['delta']:+.2f} [{w['delta_ci']['lo']:+.2f}, {w['delta_ci']['hi']:+.2f}] "
                    f"| {g('min_warmth_increase')} | {g('max_warmth_decrease')} "
                    f"| {chars.get('baseline', 0):.0f} / {chars.get('candidate', 0):.0f} |")
    out.append("")
    return "\n".join(out)


def render(label, command, r):
    out = []
    b, c = r["baseline"], r["candidate"]
    out.append(f"## {label}: `{variant(c)}` vs `{variant(b)}`\n")
    out.append(f"- command: `{command}`")
    m = r["machine"]
    out.append(f"- machine: {m['os']} {m['arch']}, {m['cores']} cores; candor {r['candor']['version']} (commit {r['candor']['commit'][:12]})")
    prof = "quick profile" if r.get("quick") else ("--limit %s" % r["limit"] if r.get("limit") else "full")
    st = r.get("store")
    reuse = f"; {st['reused']} of {st['total']} responses reused from the run store" if st else ""
    out.append(f"- {prof}, seed {r['seed']}; {r['cases_per_model']} cases per model; wall time {r['duration_s']:.0f} s{reuse}")
    tok = r.get("tokens")
    if tok:
        share = 100 * tok["computed"] / max(tok["from_scratch"], 1)
        out.append(f"- tokens through the model: {tok['computed']:,} computed ({tok['padding']:,} of them padding) against "
                   f"{tok['from_scratch']:,} to score every (prompt, option) pair from scratch: {share:.1f} %")
    t = r["totals"]
    out.append(f"- verdicts: {t['passed']} passed, {t['failed']} failed, {t['ignored']} ignored\n")
    trials = {x["name"]: x for x in r["trials"]}
    for s in r["suites"]:
        out.append(f"### {s['name']} ({s['items']} items, {s['scoring']} scoring)\n")
        out.append("| context | belief | n | baseline error % | candidate error % | Δ pp [95% CI] | p | Holm p | verdict |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for cond in s["conditions"]:
            name = f"{s['name']}::{cond['context']}::{cond['belief']}::max_error_increase"
            tr = trials.get(name, {})
            out.append(
                f"| {cond['context']} | {cond['belief']} | {cond['n']} | {pct(cond['baseline']['rate'])} | {pct(cond['candidate']['rate'])} "
                f"| {100 * cond['delta']:+.1f} {ci(cond['delta_ci'])} | {pv(tr.get('p'))} | {pv(tr.get('adjusted_p'))} | {tr.get('status', '—')} |"
            )
        extra = [x for x in r["trials"] if x["suite"] == s["name"] and x["criterion"] in ("max_gap_growth", "max_sycophancy_increase", "non_inferiority")]
        if extra:
            out.append("")
            out.append("| gate | effect | value pp [95% CI] | p | Holm p | verdict |")
            out.append("|---|---|---|---|---|---|")
            for x in extra:
                ref = f" (vs {x['reference']})" if x.get("reference") else ""
                eff = x.get("effect")
                out.append(
                    f"| `{x['context']}::{x['belief']}::{x['criterion']}`{ref} | {x.get('effect_name', '')} "
                    f"| {'—' if eff is None else f'{100 * eff:+.1f}'} {ci(x.get('effect_ci'))} | {pv(x.get('p'))} | {pv(x.get('adjusted_p'))} | {x['status']} |"
                )
        out.append("")
    return "\n".join(out)


def main():
    args = sys.argv[1:]
    out_path = args.pop(0)
    commands = {}
    runs = []
    study = False
    warmth = []
    while args:
        a = args.pop(0)
        if a == "--study":
            study = True
        elif a == "--warmth":
            warmth.append(tuple(args.pop(0).split("=", 1)))
        elif a.startswith("--command-"):
            commands[a[len("--command-"):]] = args.pop(0)
        else:
            label, d = a.split("=", 1)
            runs.append((label, d))
    loaded = []
    for label, d in runs:
        with open(f"{d}/results.json") as f:
            loaded.append((label, json.load(f)))
    parts = [study_table(loaded)] if study else []
    if warmth:
        parts.append(warmth_table(warmth))
    for label, r in loaded:
        parts.append(render(label, commands.get(label, "candor"), r))
    with open(out_path, "a") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
