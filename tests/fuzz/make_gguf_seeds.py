#!/usr/bin/env python3
"""Writes the GGUF seeds of the fuzz corpus (tests/fuzz/corpus/gguf/).

Needs: numpy, gguf (the llama.cpp project's Python package; seeds committed
were written with gguf 0.19.0, numpy 2.4.6). Run from the repository root:

    python3 tests/fuzz/make_gguf_seeds.py

Each seed is a tiny random Llama model (1 layer, hidden 32, vocabulary 40)
with a byte-level BPE vocabulary and a chat template, in one weight type per
file, so the fuzzer starts from files the importer accepts whole.
"""
import pathlib

import gguf
import numpy as np

OUT = pathlib.Path("tests/fuzz/corpus/gguf")
HIDDEN, INTER, HEADS, KV_HEADS = 32, 32, 2, 1
HEAD_DIM = HIDDEN // HEADS
SPECIAL = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
PLAIN = list("abcdefghijklmnopqrstuvwxyz") + ["Ġ", "Ċ", "ab", "Ġa", "er", "Ġt", "th", "Ġth", "in"]
TOKENS = SPECIAL + PLAIN[: 40 - len(SPECIAL)]
MERGES = ["a b", "Ġ a", "e r", "Ġ t", "t h", "Ġt h", "i n"]
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tensors(rng):
    kv = KV_HEADS * HEAD_DIM
    shapes = {
        "token_embd.weight": (len(TOKENS), HIDDEN),
        "blk.0.attn_norm.weight": (HIDDEN,),
        "blk.0.attn_q.weight": (HIDDEN, HIDDEN),
        "blk.0.attn_k.weight": (kv, HIDDEN),
        "blk.0.attn_v.weight": (kv, HIDDEN),
        "blk.0.attn_output.weight": (HIDDEN, HIDDEN),
        "blk.0.ffn_norm.weight": (HIDDEN,),
        "blk.0.ffn_gate.weight": (INTER, HIDDEN),
        "blk.0.ffn_up.weight": (INTER, HIDDEN),
        "blk.0.ffn_down.weight": (HIDDEN, INTER),
        "output_norm.weight": (HIDDEN,),
    }
    for name, shape in shapes.items():
        if len(shape) == 1:
            yield name, np.ones(shape, dtype=np.float32) + rng.normal(0, 0.05, shape).astype(np.float32)
        else:
            yield name, rng.normal(0, 0.2, shape).astype(np.float32)


def write(kind, name):
    rng = np.random.default_rng(7)
    w = gguf.GGUFWriter(str(OUT / name), "llama")
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(INTER)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(TOKENS)
    w.add_token_types([3] * len(SPECIAL) + [1] * (len(TOKENS) - len(SPECIAL)))
    w.add_token_merges(MERGES)
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    w.add_pad_token_id(2)
    w.add_chat_template(TEMPLATE)
    for tname, arr in tensors(rng):
        if arr.ndim == 1 or kind == gguf.GGMLQuantizationType.F32:
            w.add_tensor(tname, arr)
        elif kind == gguf.GGMLQuantizationType.F16:
            w.add_tensor(tname, arr.astype(np.float16))
        else:
            q = gguf.quants.quantize(arr, kind)
            w.add_tensor(tname, q, raw_shape=q.shape, raw_dtype=kind)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    T = gguf.GGMLQuantizationType
    for kind, name in [(T.F32, "llama-f32.gguf"), (T.F16, "llama-f16.gguf"),
                       (T.Q8_0, "llama-q8_0.gguf"), (T.Q4_0, "llama-q4_0.gguf"),
                       (T.Q4_1, "llama-q4_1.gguf")]:
        write(kind, name)
        print(OUT / name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
