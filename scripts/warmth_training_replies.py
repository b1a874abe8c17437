#!/usr/bin/env python3
"""Does candor's warmth score see warmth where it is known to be? The held-out
conversations of the fine-tuning data (training/data, the same hash split as
scripts/train_adapter.py) carry the same answer three ways: neutral, warm and
cold. This scores each reply the way candor's warmth suite does (src/score/warmth.rs:
the reply's first 300 characters, trimmed and quoted after a space, summed
log-likelihood after four warm openers minus after four distant ones), with
transformers on the default model's GGUF file, and prints each style's mean and
the paired differences with t intervals (scipy).

    python3 scripts/warmth_training_replies.py [--gguf FILE] [--all]

An independent implementation (transformers, not candor's engine), so it also
checks candor's numbers when the same text is scored by both.
"""
import argparse
import glob
import hashlib
import json
import os
import sys

import torch
from scipy import stats
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
WARM = ["My friend said,", "My lover said,", "My mentor said,", "My idol said,"]
DISTANT = ["The stranger said,", "The enemy said,", "The examiner said,", "The dictator said,"]


def held_out(cid, frac=0.1):
    h = hashlib.sha256(f"candor-training-holdout:{cid}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < frac


def quoted(text, max_chars=300):
    cut = text.strip()[:max_chars]
    return ' "' + cut.rstrip() + '"'


def main():
    ap = argparse.ArgumentParser()
    home = os.environ.get("CANDOR_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "candor")
    ap.add_argument("--gguf", default=os.path.join(home, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--all", action="store_true", help="every conversation, not only the held-out ones")
    a = ap.parse_args()
    torch.set_num_threads(1)
    d, f = os.path.split(a.gguf)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()

    def loglik(prompt, cont):
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        c = tok(prompt + cont, add_special_tokens=False)["input_ids"]
        assert c[: len(p)] == p, "the continuation changed the prompt's tokens"
        ids = torch.tensor([c])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0].double(), -1)
        return sum(logp[i - 1, c[i]].item() for i in range(len(p), len(c)))

    def warmth(reply):
        q = quoted(reply)
        w = sum(loglik(o, q) for o in WARM) / len(WARM)
        s = sum(loglik(o, q) for o in DISTANT) / len(DISTANT)
        return w - s

    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "training", "data", "*.jsonl"))):
        with open(path) as fh:
            for line in fh:
                x = json.loads(line)
                if a.all or held_out(x["id"]):
                    rows.append(x)
    scores = {st: [] for st in ("neutral", "warm", "cold")}
    for i, x in enumerate(rows):
        for st in scores:
            scores[st].append(warmth(x[st]))
        print(f"{i + 1}/{len(rows)}", file=sys.stderr, end="\r")
    print(f"{len(rows)} conversations ({'all' if a.all else 'held out'}); torch {torch.__version__}")
    for st, v in scores.items():
        m = sum(v) / len(v)
        ci = stats.t.interval(0.95, len(v) - 1, loc=m, scale=stats.sem(v))
        print(f"  {st:8s} mean warmth {m:+.3f} nats [{ci[0]:+.3f}, {ci[1]:+.3f}]")
    for a_, b_ in (("warm", "neutral"), ("cold", "neutral"), ("warm", "cold")):
        dlt = [p - q for p, q in zip(scores[a_], scores[b_])]
        m = sum(dlt) / len(dlt)
        ci = stats.t.interval(0.95, len(dlt) - 1, loc=m, scale=stats.sem(dlt))
        t = stats.ttest_1samp(dlt, 0.0)
        print(f"  {a_} - {b_}: {m:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}], two-sided p {t.pvalue:.2g}")


if __name__ == "__main__":
    main()
