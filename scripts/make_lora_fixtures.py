#!/usr/bin/env python3
"""Writes the LoRA reference fixtures in tests/fixtures/lora/ (used by tests/lora.rs).

- base.gguf: a tiny random Llama (hidden 64, 2 layers, 4 heads / 2 KV heads, 262-token
  byte-level vocabulary, float32) written with the `gguf` package the way llama.cpp's
  converter writes Llama models (Q and K rows permuted for its rotary layout), so
  candor's GGUF importer reads it as it reads any Llama GGUF file.
- adapter/: a LoRA adapter saved by peft (r 4, lora_alpha 8) on all seven projections
  (q k v o gate up down), with random non-zero B matrices.
- adapter-rslora/: a second adapter (r 2, lora_alpha 4, use_rslora) on a subset
  (q_proj, v_proj, down_proj).
- reference.safetensors: token sequences (`ids.N`, int64; the last is the text in
  the metadata's `text`) and transformers' logits
  (`logits.base.N`, `logits.adapter.N`, `logits.adapter-rslora.N`, float32
  [positions, vocab]) for the base model and for each adapter applied with peft;
  the header's metadata records the versions that made them.

Needs: torch, transformers, peft, gguf, numpy, safetensors (versions printed and
stored). Run from the repository root:

    python3 scripts/make_lora_fixtures.py [OUT_DIR]

Deterministic for given package versions (fixed seeds, CPU, float32; the script
re-runs itself with PYTHONHASHSEED=0 so peft writes target_modules in one order).
The numbers are identical run to run; the order of keys in the safetensors headers
may differ.
"""

import json
import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import gguf
import numpy as np
import peft
import safetensors
import torch
import transformers
from importlib.metadata import version
from peft import LoraConfig, get_peft_model
from safetensors.numpy import save_file
from transformers import LlamaConfig, LlamaForCausalLM

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/lora"
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# The vocabulary is 4 special tokens, then the 256 byte-level symbols in byte order,
# then two merged pairs TEXT does not contain, so TEXT's ids are 4 + its bytes: TEXT is the last sequence, for a
# test that goes through candor's tokenizer.
TEXT = "Paris is the capital of France."
SEQUENCES = [[1, 45, 200, 7, 99, 13, 250], [1, 3, 3, 3, 120, 64, 64, 17, 33, 180, 5, 2], list(range(10, 26)),
             [4 + b for b in TEXT.encode()]]


def bytes_to_unicode():
    """GPT-2's byte-to-printable-character table (the byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def llama_cpp_permute(w, n_head):
    """The row permutation llama.cpp's converter applies to Q and K (HF halves -> interleaved pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def base_model():
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=262,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        attention_bias=False,
        mlp_bias=False,
        initializer_range=0.1,
    )
    cfg._attn_implementation = "eager"
    m = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        # Norm weights away from 1 so a mix-up of the norms would show.
        for name, p in m.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    return m


def write_gguf(m, path):
    cfg = m.config
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("candor-lora-fixture")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    alphabet = [c for _, c in sorted(bytes_to_unicode().items())]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]
    # Two merges of letters TEXT does not have (the gguf package writes no empty array,
    # and candor's importer needs the merges key).
    merges = ["Q Z", "X J"]
    tokens = specials + alphabet + [m.replace(" ", "") for m in merges]
    assert len(tokens) == cfg.vocab_size
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([gguf.TokenType.CONTROL] * len(specials) + [gguf.TokenType.NORMAL] * (len(tokens) - len(specials)))
    w.add_token_merges(merges)
    w.add_bos_token_id(cfg.bos_token_id)
    w.add_eos_token_id(cfg.eos_token_id)
    w.add_pad_token_id(3)
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in m.state_dict().items()}
    nh, nkv = cfg.num_attention_heads, cfg.num_key_value_heads
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
        w.add_tensor(f"blk.{i}.attn_q.weight", llama_cpp_permute(sd[p + "self_attn.q_proj.weight"], nh))
        w.add_tensor(f"blk.{i}.attn_k.weight", llama_cpp_permute(sd[p + "self_attn.k_proj.weight"], nkv))
        w.add_tensor(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
        w.add_tensor(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
        w.add_tensor(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logits(model):
    out = []
    with torch.no_grad():
        for ids in SEQUENCES:
            x = torch.tensor([ids], dtype=torch.long)
            out.append(model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0].numpy().astype(np.float32))
    return out


def adapter(base, seed, b_std, **lora):
    """`base` wrapped by peft with random non-zero B (peft initialises B to zero)."""
    torch.manual_seed(seed)
    cfg = LoraConfig(lora_dropout=0.0, bias="none", task_type="CAUSAL_LM", **lora)
    m = get_peft_model(base, cfg).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "lora_B" in name:
                p.copy_(b_std * torch.randn_like(p))
    return m


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    versions = {p: version(p) for p in ["torch", "transformers", "peft", "gguf", "numpy", "safetensors"]}
    print(json.dumps(versions))
    tensors = {}
    for i, ids in enumerate(SEQUENCES):
        tensors[f"ids.{i}"] = np.array(ids, dtype=np.int64)

    base = base_model()
    write_gguf(base, os.path.join(OUT, "base.gguf"))
    base_logits = logits(base)
    for i, l in enumerate(base_logits):
        tensors[f"logits.base.{i}"] = l

    variants = [
        ("adapter", dict(seed=1, b_std=0.3, r=4, lora_alpha=8, target_modules=MODULES)),
        ("adapter-rslora", dict(seed=2, b_std=0.3, r=2, lora_alpha=4, use_rslora=True,
                                target_modules=["q_proj", "v_proj", "down_proj"])),
    ]
    for name, kw in variants:
        m = adapter(base_model(), **kw)
        m.save_pretrained(os.path.join(OUT, name))
        unmerged = logits(m)
        # The same adapter merged by peft itself: agrees with the unmerged forward pass.
        merged = logits(m.merge_and_unload())
        worst = max(float(np.abs(a - b).max()) for a, b in zip(unmerged, merged))
        moved = max(float(np.abs(a - b).max()) for a, b in zip(unmerged, base_logits))
        print(f"{name}: peft unmerged vs merge_and_unload max |d| = {worst:.2e}; vs base max |d| = {moved:.3f}")
        assert worst < 1e-4 and moved > 0.5
        for i, l in enumerate(unmerged):
            tensors[f"logits.{name}.{i}"] = l
    # peft writes a README.md model card next to the adapter: not needed here.
    for name, _ in variants:
        card = os.path.join(OUT, name, "README.md")
        if os.path.exists(card):
            os.remove(card)
    meta = {"made_by": "scripts/make_lora_fixtures.py", "text": TEXT, **{f"version.{k}": v for k, v in versions.items()}}
    save_file(tensors, os.path.join(OUT, "reference.safetensors"), metadata=meta)
    for f in sorted(os.listdir(OUT)):
        p = os.path.join(OUT, f)
        size = sum(os.path.getsize(os.path.join(p, g)) for g in os.listdir(p)) if os.path.isdir(p) else os.path.getsize(p)
        print(f"{f}: {size} bytes")


if __name__ == "__main__":
    main()
