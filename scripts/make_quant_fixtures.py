#!/usr/bin/env python3
"""Reference fixtures for candor's GGUF dequantization (tests/quants.rs).

Writes, under tests/fixtures/quants/:

* for every GGML type candor reads, `<TYPE>.bin` (whole blocks, as a GGUF file
  stores them) and `<TYPE>.f32` (the values the `gguf` package's numpy reference
  dequantization gives for them, little-endian float32): blocks quantized from
  random weights, and blocks of random bytes (every bit pattern of scales and
  values a file may hold; only the float16/float32 scale fields are set to
  finite numbers);
* `tiny-kquants.gguf`: a tiny Llama (hidden 256, 2 layers) whose matrices use
  K-quants and Q5_0 as a Q4_K_M file mixes them (layer 0: Q4_K with Q6_K for
  attn_v and ffn_down, Q6_K output, Q4_K embeddings) and every other type
  (layer 1), written by the `gguf` package's GGUFWriter;
* `tiny-exact-q4.gguf`: the same with one layer of Q4_K, Q3_K and Q2_K only, the
  types MatMulNBits holds exactly as 4-bit blocks;
* `<model>.logits.f32`: transformers' float32 logits of each model with the
  weights the `gguf` package dequantizes, for the token sequences in the manifest;
* `manifest.json`: what is where, and the versions that made it.

The `gguf` package quantizes Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and BF16 itself. It has
no quantizer for the K-quants, so this script packs those blocks itself (simple
min/max fits, checked here by dequantizing them with the `gguf` package); it has
no Q8_K at all, so Q8_K's expected values are d·q computed with numpy below.

Needs: numpy, gguf (0.19.0 was used), torch, transformers (for the logits).
Run from the repository root: python3 scripts/make_quant_fixtures.py
"""

import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

OUT = os.path.join("tests", "fixtures", "quants")
QK_K = 256
rng = np.random.default_rng(20240617)


def f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


# ---------------------------------------------------------------------------
# K-quant block packing (one super-block of 256 values per row of `x`)
# ---------------------------------------------------------------------------


def _ratio(num, den, hi):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1), 0)
    return np.clip(np.round(r), 0, hi)


def pack_k_scales(sc, m):
    """Eight 6-bit scales and minima into the K-quants' 12 bytes."""
    sc = sc.astype(np.uint8)
    m = m.astype(np.uint8)
    out = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    out[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (sc[:, 4:8] & 0xF) | ((m[:, 4:8] & 0xF) << 4)
    return out


def asym_fit(x, sub, levels, scale_bits):
    """Per sub-block scale and minimum (min <= 0), quantized against super-block
    float16 scales d and dmin: returns d, dmin, integer scales, integer minima, q."""
    n = x.shape[0]
    xs = x.reshape(n, -1, sub)
    mn = np.minimum(xs.min(-1), 0)
    mx = xs.max(-1)
    scale = (mx - mn) / (levels - 1)
    top = (1 << scale_bits) - 1
    d = f16(scale.max(-1) / top)
    dmin = f16((-mn).max(-1) / top)
    d32, dmin32 = d.astype(np.float32)[:, None], dmin.astype(np.float32)[:, None]
    isc = _ratio(scale, d32, top)
    imn = _ratio(-mn, dmin32, top)
    es = (d32 * isc)[..., None]
    em = (dmin32 * imn)[..., None]
    q = _ratio(xs + em, np.broadcast_to(es, xs.shape), levels - 1)
    return d, dmin, isc, imn, q.reshape(n, -1).astype(np.uint8)


def nibbles_k(q):
    """Q4_K/Q5_K nibble layout: element 64g + 32h + l is nibble h of byte 32g + l."""
    n = q.shape[0]
    q = (q & 0xF).reshape(n, 4, 2, 32)
    return (q[:, :, 0, :] | (q[:, :, 1, :] << 4)).reshape(n, 128)


def bitplane(bits):
    """Bit e // 32 of byte e % 32 for element e (Q3_K's and Q5_K's high bits)."""
    n = bits.shape[0]
    b = bits.reshape(n, 8, 32).astype(np.uint8)
    return np.bitwise_or.reduce(b << np.arange(8, dtype=np.uint8)[None, :, None], axis=1)


def crumbs(q):
    """2-bit layout: element 128h + 32s + l is bits 2s..2s+1 of byte 32h + l."""
    n = q.shape[0]
    q = (q & 3).reshape(n, 2, 4, 32).astype(np.uint8)
    return np.bitwise_or.reduce(q << (2 * np.arange(4, dtype=np.uint8))[None, None, :, None], axis=2).reshape(n, 64)


def quant_q4_k(x):
    d, dmin, sc, mn, q = asym_fit(x, 32, 16, 6)
    return np.concatenate([d.view(np.uint8).reshape(-1, 2), dmin.view(np.uint8).reshape(-1, 2),
                           pack_k_scales(sc, mn), nibbles_k(q)], axis=1)


def quant_q5_k(x):
    d, dmin, sc, mn, q = asym_fit(x, 32, 32, 6)
    return np.concatenate([d.view(np.uint8).reshape(-1, 2), dmin.view(np.uint8).reshape(-1, 2),
                           pack_k_scales(sc, mn), bitplane(q >> 4), nibbles_k(q)], axis=1)


def quant_q2_k(x):
    d, dmin, sc, mn, q = asym_fit(x, 16, 4, 4)
    scales = (sc.astype(np.uint8) | (mn.astype(np.uint8) << 4))
    return np.concatenate([scales, crumbs(q), d.view(np.uint8).reshape(-1, 2),
                           dmin.view(np.uint8).reshape(-1, 2)], axis=1)


def sym_fit(x, sub, qmin, qmax, scale_min, scale_max):
    """Per sub-block signed integer scales against a float16 super-block scale d."""
    n = x.shape[0]
    xs = x.reshape(n, -1, sub)
    s = np.abs(xs).max(-1) / max(-qmin, qmax)
    d = f16(s.max(-1) / scale_max)
    d32 = d.astype(np.float32)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        isc = np.where(d32 > 0, np.round(s / np.where(d32 > 0, d32, 1)), 0)
    isc = np.clip(isc, scale_min, scale_max)
    es = (d32 * isc)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(es != 0, np.round(xs / np.where(es != 0, es, 1)), 0)
    q = np.clip(q, qmin, qmax).reshape(n, -1).astype(np.int16)
    return d, isc.astype(np.int16), q


def quant_q3_k(x):
    d, isc, q = sym_fit(x, 16, -4, 3, -32, 31)
    u = (q + 4).astype(np.uint8)  # 0..7: low two bits, and a high bit that is set for q >= 0
    st = (isc + 32).astype(np.uint8)  # 0..63
    n = x.shape[0]
    scales = np.zeros((n, 12), dtype=np.uint8)
    scales[:, 0:8] = (st[:, 0:8] & 0xF) | ((st[:, 8:16] & 0xF) << 4)
    hi = (st >> 4).reshape(n, 4, 4)  # [i // 4][i % 4]
    scales[:, 8:12] = np.bitwise_or.reduce(hi << (2 * np.arange(4, dtype=np.uint8))[None, :, None], axis=1)
    return np.concatenate([bitplane(u >> 2), crumbs(u & 3), scales, d.view(np.uint8).reshape(-1, 2)], axis=1)


def quant_q6_k(x):
    d, isc, q = sym_fit(x, 16, -32, 31, -128, 127)
    u = (q + 32).astype(np.uint8)  # 0..63
    n = x.shape[0]
    uh = u.reshape(n, 2, 128)
    lo = uh & 0xF
    ql = (lo[:, :, 0:64] | (lo[:, :, 64:128] << 4)).reshape(n, 128)
    hi = (uh >> 4).reshape(n, 2, 4, 32)
    qh = np.bitwise_or.reduce(hi << (2 * np.arange(4, dtype=np.uint8))[None, None, :, None], axis=2).reshape(n, 64)
    return np.concatenate([ql, qh, isc.astype(np.int8).view(np.uint8), d.view(np.uint8).reshape(-1, 2)], axis=1)


def quant_q8_k(x):
    amax = np.abs(x).max(-1, keepdims=True)
    d = (amax / 127).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(d > 0, np.round(x / np.where(d > 0, d, 1)), 0)
    q = np.clip(q, -128, 127).astype(np.int8)
    bsums = q.reshape(-1, 16, 16).astype(np.int16).sum(-1).astype(np.int16)
    return np.concatenate([d.view(np.uint8), q.view(np.uint8), bsums.view(np.uint8)], axis=1)


def dequant_q8_k(raw):
    """Q8_K is not in the gguf package: d (float32) times the signed bytes."""
    b = raw.reshape(-1, 292)
    d = b[:, 0:4].copy().view(np.float32)
    q = b[:, 4:260].view(np.int8).astype(np.float32)
    return (q * d).reshape(-1)


K_QUANT = {T.Q2_K: quant_q2_k, T.Q3_K: quant_q3_k, T.Q4_K: quant_q4_k, T.Q5_K: quant_q5_k,
           T.Q6_K: quant_q6_k, T.Q8_K: quant_q8_k}


def quant(x, t):
    """Rows of `x` (float32, whole blocks) as raw blocks of type t (uint8, one row of bytes per row)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if t in K_QUANT:
        per = QK_K
        rows = x.reshape(-1, per)
        return K_QUANT[t](rows).reshape(x.shape[0], -1)
    if t == T.F32:
        return x.view(np.uint8)
    if t == T.F16:
        return x.astype(np.float16).view(np.uint8)
    return quantize(x, t)


def dequant(raw, t, shape):
    if t == T.Q8_K:
        return dequant_q8_k(raw).reshape(shape)
    return dequantize(raw, t).reshape(shape).astype(np.float32)


# ---------------------------------------------------------------------------
# Block fixtures
# ---------------------------------------------------------------------------

# Byte offsets of each type's float16 scale fields (f32 for Q8_K) in a block.
SCALE_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}

TYPES = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
         T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K]


def weights(rows, cols, scale=1.0):
    """Gaussian weights with a per-32 spread that varies (so sub-block scales differ),
    a few outliers, and some all-positive / all-negative stretches."""
    w = rng.standard_normal((rows, cols)).astype(np.float32)
    spread = np.exp(rng.normal(0, 0.7, (rows, cols // 32, 1))).astype(np.float32)
    w = (w.reshape(rows, -1, 32) * spread).reshape(rows, cols)
    w[rng.random((rows, cols)) < 0.003] *= 8
    if cols >= 64:
        w[0, 0:32] = np.abs(w[0, 0:32])
        w[-1, 32:64] = -np.abs(w[-1, 32:64])
    return (w * scale).astype(np.float32)


def random_blocks(t, n):
    block, size = gguf.GGML_QUANT_SIZES[t]
    raw = rng.integers(0, 256, (n, size), dtype=np.uint8)
    if t in (T.F32, T.F16, T.BF16):
        vals = (rng.standard_normal(n * size // {T.F32: 4, T.F16: 2, T.BF16: 2}[t]) * 3).astype(np.float32)
        vals[:4] = [0.0, -0.0, 1e-30, -65504.0] if t != T.F16 else [0.0, -0.0, 6e-8, -65504.0]
        if t == T.F32:
            return vals.view(np.uint8).reshape(n, size)
        if t == T.F16:
            return vals.astype(np.float16).view(np.uint8).reshape(n, size)
        return gguf.quants.quantize(vals, T.BF16).reshape(n, size)
    if t == T.Q8_K:
        d = (np.abs(rng.standard_normal(n)) * 0.01).astype(np.float32)
        d[0] = -d[0]
        raw[:, 0:4] = d.view(np.uint8).reshape(n, 4)
        return raw
    for off in SCALE_FIELDS[t]:
        # Finite float16 scales of either sign, including a subnormal and a zero.
        v = (rng.standard_normal(n) * 0.02).astype(np.float16)
        v[0] = np.float16(3e-7)
        if n > 1:
            v[1] = np.float16(0.0)
        raw[:, off:off + 2] = v.view(np.uint8).reshape(n, 2)
    return raw


def block_fixtures(manifest):
    for t in TYPES:
        block, size = gguf.GGML_QUANT_SIZES[t]
        cols = max(block, 256)
        q = quant(weights(4, cols), t).reshape(-1, size)
        r = random_blocks(t, 8 if block > 1 else cols // block)
        raw = np.ascontiguousarray(np.concatenate([q, r]))
        vals = dequant(raw.reshape(-1), t, (-1,))
        assert np.all(np.isfinite(vals)), t.name
        # The packers above must round-trip (a check of this script, not of candor).
        w = weights(8, cols)
        back = dequant(quant(w, t).reshape(-1), t, w.shape)
        rel = float(np.sqrt(np.mean((back - w) ** 2) / np.mean(w ** 2)))
        assert rel < 0.5, (t.name, rel)
        raw.tofile(os.path.join(OUT, f"{t.name}.bin"))
        vals.astype("<f4").tofile(os.path.join(OUT, f"{t.name}.f32"))
        manifest["blocks"][t.name] = {
            "id": int(t), "elements_per_block": block, "bytes_per_block": size,
            "quantized_blocks": int(q.shape[0]), "random_blocks": int(r.shape[0]),
            "elements": int(vals.size),
            "reference": "numpy d*q (the gguf package has no Q8_K)" if t == T.Q8_K
            else "gguf.quants.dequantize",
            "round_trip_relative_rms": round(rel, 5),
        }


# ---------------------------------------------------------------------------
# Tiny Llama GGUF
# ---------------------------------------------------------------------------

HIDDEN, INTER, LAYERS, HEADS, KV_HEADS = 256, 256, 2, 4, 2  # LAYERS: tiny-kquants
HEAD_DIM = HIDDEN // HEADS
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["Ġ t", "h e", "Ġ a", "i n", "Ġt he", "e r", "o n", "Ġ s", "r e", "a n", "Ġ i", "Ġ o"]
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

# Layer 0 as llama.cpp's Q4_K_M mixes types; layer 1 every other type candor reads.
TYPES_BY_TENSOR = {
    "token_embd": T.Q4_K, "output": T.Q6_K,
    "blk.0.attn_q": T.Q4_K, "blk.0.attn_k": T.Q4_K, "blk.0.attn_v": T.Q6_K, "blk.0.attn_output": T.Q4_K,
    "blk.0.ffn_gate": T.Q4_K, "blk.0.ffn_up": T.Q4_K, "blk.0.ffn_down": T.Q6_K,
    "blk.1.attn_q": T.Q5_0, "blk.1.attn_k": T.BF16, "blk.1.attn_v": T.Q8_K, "blk.1.attn_output": T.Q2_K,
    "blk.1.ffn_gate": T.Q3_K, "blk.1.ffn_up": T.Q5_1, "blk.1.ffn_down": T.Q5_K,
}

# Only types that MatMulNBits holds exactly as 4-bit blocks: `--weights q4` must give
# the float32 numbers on this one.
EXACT_Q4_TYPES = {
    "token_embd": T.Q4_K, "output": T.Q4_K,
    "blk.0.attn_q": T.Q4_K, "blk.0.attn_k": T.Q3_K, "blk.0.attn_v": T.Q2_K, "blk.0.attn_output": T.Q4_K,
    "blk.0.ffn_gate": T.Q4_K, "blk.0.ffn_up": T.Q3_K, "blk.0.ffn_down": T.Q2_K,
}

SEQUENCES = [
    [1, 3 + ord("H"), 3 + ord("i"), 3 + 256 + 4, 3 + ord("!"), 2, 1, 3 + 256 + 0, 3 + ord("x")],
    [1, 3 + 256 + 9, 3 + 256 + 11, 3 + ord("q"), 3 + ord("u"), 3 + 256 + 5, 3 + ord("."), 2],
    [3 + ord(c) for c in "abc"],
]


def byte_chars():
    """GPT-2's reversible byte -> printable character map."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + n)
            n += 1
    return [chars[b] for b in range(256)]


def permute_for_gguf(w, n_head):
    """llama.cpp's Q/K row order: row h*hd + 2i + j holds HF row h*hd + j*hd/2 + i."""
    rows = w.shape[0]
    hd = rows // n_head
    return w.reshape(n_head, 2, hd // 2, -1).swapaxes(1, 2).reshape(rows, -1)


def unpermute(w, n_head):
    rows = w.shape[0]
    hd = rows // n_head
    return w.reshape(n_head, hd // 2, 2, -1).swapaxes(1, 2).reshape(rows, -1)


def tiny_model(manifest, key, types_by_tensor, layers):
    tokens = SPECIAL + byte_chars() + [m.replace(" ", "") for m in MERGES]
    vocab = len(tokens)
    kv = KV_HEADS * HEAD_DIM
    shapes = {"token_embd": (vocab, HIDDEN), "output": (vocab, HIDDEN)}
    for l in range(layers):
        shapes.update({f"blk.{l}.attn_q": (HIDDEN, HIDDEN), f"blk.{l}.attn_k": (kv, HIDDEN),
                       f"blk.{l}.attn_v": (kv, HIDDEN), f"blk.{l}.attn_output": (HIDDEN, HIDDEN),
                       f"blk.{l}.ffn_gate": (INTER, HIDDEN), f"blk.{l}.ffn_up": (INTER, HIDDEN),
                       f"blk.{l}.ffn_down": (HIDDEN, INTER)})
    path = os.path.join(OUT, f"{key}.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_name(key)
    w.add_block_count(layers)
    w.add_context_length(512)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(INTER)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([3] * len(SPECIAL) + [1] * (vocab - len(SPECIAL)))
    w.add_token_merges(MERGES)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_chat_template(CHATML)
    hf = {}  # the dequantized weights in Hugging Face layout
    for name, (rows, cols) in shapes.items():
        t = types_by_tensor[name]
        scale = 1.0 if name == "token_embd" else 1.5 / np.sqrt(cols)
        x = weights(rows, cols, scale)
        heads = HEADS if name.endswith("attn_q") else KV_HEADS if name.endswith("attn_k") else None
        if heads:
            x = permute_for_gguf(x, heads)
        raw = quant(x, t)
        w.add_tensor(f"{name}.weight", raw, raw_dtype=t)
        deq = dequant(raw.reshape(-1), t, (rows, cols))
        hf[name] = unpermute(deq, heads) if heads else deq
    for l in range(layers):
        for n in ("attn_norm", "ffn_norm"):
            v = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
            w.add_tensor(f"blk.{l}.{n}.weight", v)
            hf[f"blk.{l}.{n}"] = v
    v = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
    w.add_tensor("output_norm.weight", v)
    hf["output_norm"] = v
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    import torch
    import transformers
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=HIDDEN, intermediate_size=INTER,
                      num_hidden_layers=layers, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                      head_dim=HEAD_DIM, rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=512,
                      tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                      bos_token_id=1, eos_token_id=2)
    cfg._attn_implementation = "eager"
    model = LlamaForCausalLM(cfg).to(torch.float32).eval()
    sd = {"model.embed_tokens.weight": hf["token_embd"], "lm_head.weight": hf["output"],
          "model.norm.weight": hf["output_norm"]}
    names = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
    for l in range(layers):
        for g, h in names.items():
            sd[f"model.layers.{l}.{h}.weight"] = hf[f"blk.{l}.{g}"]
    missing = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()},
                                    strict=False)
    assert not missing.missing_keys or all("rotary" in k for k in missing.missing_keys), missing
    logits = []
    with torch.no_grad():
        for ids in SEQUENCES:
            out = model(torch.tensor([ids])).logits[0].numpy().astype(np.float32)
            logits.append(out)
    np.concatenate(logits).astype("<f4").tofile(os.path.join(OUT, f"{key}.logits.f32"))
    manifest["models"][key] = {
        "gguf": f"{key}.gguf",
        "logits": f"{key}.logits.f32",
        "logits_by": f"transformers {transformers.__version__} LlamaForCausalLM (float32, eager attention, "
                     f"torch {torch.__version__}) with the weights gguf.quants.dequantize gives",
        "vocab_size": vocab, "hidden_size": HIDDEN, "intermediate_size": INTER, "layers": layers,
        "heads": HEADS, "kv_heads": KV_HEADS,
        "types": {k + ".weight": v.name for k, v in types_by_tensor.items()},
        "sequences": SEQUENCES,
        "max_abs_logit": float(max(np.abs(x).max() for x in logits)),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {
        "made_by": "scripts/make_quant_fixtures.py",
        "gguf": gguf.__version__ if hasattr(gguf, "__version__") else __import__("importlib.metadata").metadata.version("gguf"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "blocks": {},
        "models": {},
    }
    block_fixtures(manifest)
    tiny_model(manifest, "tiny-kquants", TYPES_BY_TENSOR, LAYERS)
    tiny_model(manifest, "tiny-exact-q4", EXACT_Q4_TYPES, 1)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"{name:28} {os.path.getsize(os.path.join(OUT, name)):>8} bytes")


if __name__ == "__main__":
    main()
