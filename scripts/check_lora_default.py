#!/usr/bin/env python3
"""The default model with a LoRA adapter: candor's merged import against
transformers + peft on the same base.

Loads the default model's GGUF file (SmolLM2-135M-Instruct, Q4_1, as candor
provisions it into its cache) with transformers' GGUF reader (dequantized to
float32), applies a peft adapter (unmerged: peft's forward pass), and prints the
France prompt's next-token top-k logits; then runs
`candor model default+adapter=DIR --json` on the same prompt and prints, for
every id in either top-k, both logits and the largest difference. The same for
the base without the adapter, for scale (candor's import against transformers'
dequantization of the same file).

    python3 scripts/check_lora_default.py --adapter DIR
    python3 scripts/check_lora_default.py --make-random DIR   # writes a seeded random adapter (r 8, alpha 16, all seven modules) first

Needs: torch, transformers, peft, gguf (the versions used are printed), and a
built candor (--candor, default `candor` on PATH). The GGUF file is found in
candor's cache ($CANDOR_HOME, else ~/.cache/candor; --gguf to name it) after
`candor model default --prompt x` has provisioned it.
"""

import argparse
import json
import os
import subprocess
import sys
from importlib.metadata import version

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

FRANCE = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
)
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def default_gguf():
    home = os.environ.get("CANDOR_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "candor")
    return os.path.join(home, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")


def load_base(gguf_path):
    d, f = os.path.split(os.path.abspath(gguf_path))
    return AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()


def make_random(gguf_path, out, seed, b_std):
    torch.manual_seed(seed)
    cfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, bias="none", target_modules=MODULES,
                     task_type="CAUSAL_LM")
    m = get_peft_model(load_base(gguf_path), cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "lora_B" in name:
                p.copy_(b_std * torch.randn_like(p))
    m.save_pretrained(out)
    print(f"wrote a random adapter to {out} (r 8, lora_alpha 16, seed {seed}, B ~ N(0, {b_std}^2))")


def candor_top(candor, model, k):
    cmd = [*candor.split(), "model", model, "--prompt", FRANCE, "--json", "--top-k", str(k)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    v = json.loads(out.stdout)
    return v["ids"], {e["id"]: e["logit"] for e in v["top"][-1]["top"]}


def compare(label, hf_model, candor, model, k):
    ids, ours = candor_top(candor, model, k)
    with torch.no_grad():
        logits = hf_model(input_ids=torch.tensor([ids])).logits[0, -1].float()
    top = torch.topk(logits, k)
    theirs = {int(i): float(l) for i, l in zip(top.indices, top.values)}
    print(f"\n{label}: `candor model {model}` vs transformers + peft, next token after the France prompt ({len(ids)} tokens)")
    print(f"{'id':>7} {'transformers':>13} {'candor':>9} {'|diff|':>8}")  # ids in either top k
    worst = 0.0
    for i in sorted(set(ours) | set(theirs), key=lambda i: -float(logits[i])):
        t = float(logits[i])
        c = ours.get(i)
        d = abs(t - c) if c is not None else None
        if d is not None:
            worst = max(worst, d)
        print(f"{i:>7} {t:>13.5f} {c if c is None else f'{c:.5f}':>9} {'' if d is None else f'{d:.1e}':>8}")
    same_top1 = max(ours, key=ours.get) == int(top.indices[0])
    print(f"{label}: max |diff| over both top {k} = {worst:.2e}; same top-1: {same_top1}")
    return worst, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--adapter", help="a peft adapter directory")
    g.add_argument("--make-random", metavar="DIR", help="write a seeded random adapter here, then check it")
    ap.add_argument("--gguf", default=default_gguf(), help="the default model's GGUF file")
    ap.add_argument("--candor", default="candor", help="how to run candor (default: candor)")
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--b-std", type=float, default=0.05, help="std of the random adapter's B entries")
    a = ap.parse_args()
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    print(json.dumps({p: version(p) for p in ["torch", "transformers", "peft", "gguf"]}))
    if not os.path.isfile(a.gguf):
        sys.exit(f"{a.gguf}: no such file (run `candor model default --prompt x` once, or pass --gguf)")
    adapter = a.adapter
    if a.make_random:
        make_random(a.gguf, a.make_random, a.seed, a.b_std)
        adapter = a.make_random
    base = load_base(a.gguf)
    worst_base, base_logits = compare("base", base, a.candor, "default", a.top_k)
    adapted = PeftModel.from_pretrained(base, adapter).eval()
    worst, adapted_logits = compare("adapted", adapted, a.candor, f"default+adapter={adapter}", a.top_k)
    moved = float((adapted_logits - base_logits).abs().max())
    print(f"\nmax |candor - transformers|: base {worst_base:.2e}, with the adapter {worst:.2e} (target: within 0.1);"
          f" the adapter moves this position's logits by up to {moved:.3f}")
    return 0 if worst <= 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
