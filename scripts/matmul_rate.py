#!/usr/bin/env python3
"""What ONNX Runtime's fp32 MatMul attains at SmolLM2-135M's layer shapes.

The comparison in docs/benchmarks.md states candor's prefill as a share of the
machine's nominal fp32 peak (330 GFLOP/s on 2 cores). This measures the rate a
single MatMul node with a constant weight reaches on the same runtime and thread
count, for the shapes of the model's linear layers and a range of rows, which is
the ceiling candor's passes work against.

Needs a Python with numpy, onnx and onnxruntime (the comparison's venv has them:
target/lm-eval-venv/bin/python scripts/matmul_rate.py).
"""

import argparse
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

# (name, in, out) of the linear layers: q and o, k and v, gate and up, down.
SHAPES = [("q/o", 576, 576), ("k/v", 576, 192), ("gate/up", 576, 1536), ("down", 1536, 576)]


def rate(rows: int, k: int, n: int, threads: int, reps: int) -> float:
    w = np.random.default_rng(0).standard_normal((k, n), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", n])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), so)
    x = np.random.default_rng(1).standard_normal((rows, k), dtype=np.float32)
    for _ in range(3):
        session.run(None, {"x": x})
    t = time.perf_counter()
    for _ in range(reps):
        session.run(None, {"x": x})
    return 2 * rows * k * n * reps / (time.perf_counter() - t) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    print(f"onnxruntime {ort.__version__}, {args.threads} threads: GFLOP/s per layer shape")
    print("rows    " + "".join(f"{name:>10}" for name, _, _ in SHAPES))
    for rows in [256, 1024, 2048, 4096, 8192]:
        cells = [rate(rows, k, n, args.threads, args.reps) for _, k, n in SHAPES]
        print(f"{rows:<8}" + "".join(f"{c:>10.0f}" for c in cells))


if __name__ == "__main__":
    main()
