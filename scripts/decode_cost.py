#!/usr/bin/env python3
"""Splits a greedy decoding step's time into a fixed part and a part per row.

One decoding step of a model directory's ONNX graph (one new token per row after a
past of L positions) is timed at batch 1 and batch 8, straight on ONNX Runtime with
the session settings candor uses (2 threads, subnormals as zero). With a step
costing F + B·r for B rows, F and r follow, and with them batch 8 / batch 1 =
8(F + r) / (F + 8r); past lengths of 1, 57 and 120 show how much of r the KV cache
costs. This is how README's "Why the two q4-fast targets fight" was measured.

Needs a Python with numpy and onnxruntime (the comparison's venv has them):
  target/lm-eval-venv/bin/python scripts/decode_cost.py ~/.cache/candor/models/<model dir>
"""

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=40)
    args = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.add_session_config_entry("session.set_denormal_as_zero", "1")
    session = ort.InferenceSession(str(args.model_dir / "model.onnx"), so)
    inputs = {i.name: i for i in session.get_inputs()}
    past = [n for n in inputs if n.startswith("past_key_values.")]
    kv_heads, head_dim = inputs[past[0]].shape[1], inputs[past[0]].shape[3]
    rng = np.random.default_rng(0)

    def step_ms(rows: int, past_len: int) -> float:
        feed = {
            "input_ids": np.full((rows, 1), 100, np.int64),
            "attention_mask": np.ones((rows, past_len + 1), np.int64),
        }
        if "position_ids" in inputs:
            feed["position_ids"] = np.full((rows, 1), past_len, np.int64)
        if "logits_to_keep" in inputs:
            feed["logits_to_keep"] = np.array(1, np.int64)
        for n in past:
            shape = (rows, kv_heads, past_len, head_dim)
            feed[n] = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        for _ in range(5):
            session.run(None, feed)
        t = time.perf_counter()
        for _ in range(args.reps):
            session.run(None, feed)
        return (time.perf_counter() - t) / args.reps * 1e3

    print(f"{args.model_dir.name}, {args.threads} threads, one new token per row")
    for past_len in [1, 57, 120]:
        b1, b8 = step_ms(1, past_len), step_ms(8, past_len)
        r = (b8 - b1) / 7
        print(
            f"past {past_len:>3}: batch 1 {b1:5.2f} ms ({1e3 / b1:5.1f} tok/s), "
            f"batch 8 {b8:5.2f} ms ({8e3 / b8:5.1f} tok/s); F {b1 - r:4.2f} ms, "
            f"r {r:4.2f} ms, batch 8 / batch 1 {8 * b1 / b8:4.2f}"
        )


if __name__ == "__main__":
    main()
