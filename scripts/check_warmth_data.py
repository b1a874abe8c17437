#!/usr/bin/env python3
"""Validate the warmth suite's prompts (specs/data/warmth.jsonl).

Usage:
    python3 scripts/check_warmth_data.py [warmth.jsonl]
    python3 scripts/check_warmth_data.py --self-test

Python 3 standard library only. The prompts are what both models answer
before their replies' warmth is scored, so they must be new to the warm and
cold fine-tunes: a prompt the adapters were trained on would measure
memorised replies, not how the models answer. Checks:

  * fields: exactly id, question, category, source; all non-empty strings
    without surrounding whitespace; ids warm-0001, warm-0002, ... in order;
    category one of everyday, request, smalltalk, emotional, work; source
    "written for candor"; a question of 3 to 40 words.
  * no overlap with the fine-tuning data (every user message of
    training/data/*.jsonl) or with any other shipped suite's questions
    (specs/data/*.jsonl), nor between two prompts: after normalisation
    (lower case, accents folded, punctuation and apostrophes removed)
      - the same word sequence, or one contained in the other;
      - a shared run of 5 words with at least 2 content words in it;
      - content words (a stop-list of function words dropped, a plural "s"
        stemmed) with a Jaccard similarity of at least 0.6 with the whole
        text or one of its sentences, or 80 % of a prompt's content words in
        one sentence when it has 4 or more.
    The normalisation, stop-list and sentence split are those of
    scripts/check_training_data.py, which checks the same pairs from the
    training side with 8-word runs.

Exits 1 with a listing of every problem, or prints counts and exits 0.
"""

import glob
import json
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_training_data as ctd  # noqa: E402

FIELDS = ("id", "question", "category", "source")
CATEGORIES = ("everyday", "request", "smalltalk", "emotional", "work")
SHINGLE = 5


def prompt_record(text, ident):
    toks = ctd.tokens(text)
    return {
        "id": ident,
        "text": text,
        "toks": toks,
        "joined": " " + " ".join(toks) + " ",
        "content": ctd.content(toks),
        "shingles": ctd.shingles(toks, SHINGLE),
    }


def overlaps(a, other_text):
    """Why the prompt record `a` overlaps `other_text`, or None."""
    toks = ctd.tokens(other_text)
    joined = " " + " ".join(toks) + " "
    if len(a["toks"]) >= 3 and (a["joined"] in joined or (len(toks) >= 3 and joined in a["joined"])):
        return "the same words"
    # A run of function words ("how do i get rid of") is how people ask,
    # not what they ask: a shared run counts with two content words in it.
    shared = [r for r in a["shingles"] & ctd.shingles(toks, SHINGLE) if len(ctd.content(r)) >= 2]
    if shared:
        return "shares the %d-word run '%s'" % (SHINGLE, " ".join(sorted(shared)[0]))
    pc = a["content"]
    if len(pc) < 2:
        return None
    for unit in [other_text] + ctd.sentences(other_text):
        c = ctd.content(ctd.tokens(unit))
        if not c:
            continue
        inter = len(c & pc)
        jac = inter / len(c | pc)
        if jac >= 0.6:
            return "content-word Jaccard %.2f with '%s'" % (jac, unit.strip())
        if len(pc) >= 4 and inter / len(pc) >= 0.8:
            return "contains %d of its %d content words in '%s'" % (inter, len(pc), unit.strip())
    return None


def others(root, warmth_path):
    """(where, text) of every text a prompt must not overlap."""
    out = []
    for path in sorted(glob.glob(os.path.join(root, "training", "data", "*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            for n, line in enumerate(handle, 1):
                if line.strip():
                    item = json.loads(line)
                    out.append(("%s:%d (%s) user message" % (os.path.relpath(path, root), n, item.get("id")), item.get("user", "")))
    for path in sorted(glob.glob(os.path.join(root, "specs", "data", "*.jsonl"))):
        if os.path.abspath(path) == os.path.abspath(warmth_path):
            continue
        with open(path, encoding="utf-8") as handle:
            for n, line in enumerate(handle, 1):
                if line.strip():
                    item = json.loads(line)
                    out.append(("%s:%d (%s) question" % (os.path.relpath(path, root), n, item.get("id")), item.get("question", "")))
    return out


def check(path, against):
    problems = []
    prompts = []
    with open(path, encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            where = "%s:%d" % (os.path.basename(path), n)
            try:
                item = json.loads(line)
            except ValueError as err:
                problems.append("%s: invalid JSON (%s)" % (where, err))
                continue
            if not isinstance(item, dict) or sorted(item) != sorted(FIELDS):
                problems.append("%s: expected exactly the fields %s" % (where, ", ".join(FIELDS)))
                continue
            bad = [f for f in FIELDS if not isinstance(item[f], str) or not item[f].strip() or item[f] != item[f].strip()]
            if bad:
                problems.append("%s: %s must be non-empty strings without surrounding whitespace" % (where, ", ".join(bad)))
                continue
            want = "warm-%04d" % (len(prompts) + 1)
            if item["id"] != want:
                problems.append("%s: id %s, expected %s" % (where, item["id"], want))
            if item["category"] not in CATEGORIES:
                problems.append("%s: category %r is not one of %s" % (where, item["category"], ", ".join(CATEGORIES)))
            if item["source"] != "written for candor":
                problems.append("%s: source should be 'written for candor'" % where)
            words = len(item["question"].split())
            if not 3 <= words <= 40:
                problems.append("%s: %d words (expected 3 to 40)" % (where, words))
            prompts.append((where, item))
    records = [prompt_record(item["question"], item["id"]) for _, item in prompts]
    for (where, item), rec in zip(prompts, records):
        for other_where, text in against:
            why = overlaps(rec, text)
            if why:
                problems.append("%s (%s): overlaps %s: %s" % (where, item["id"], other_where, why))
    for i in range(len(records)):
        for j in range(i + 1, len(records)):
            why = overlaps(records[i], records[j]["text"])
            if why:
                problems.append("%s and %s overlap: %s" % (records[i]["id"], records[j]["id"], why))
    return prompts, problems


def self_test():
    import tempfile
    clean = [
        {"id": "warm-0001", "question": "What should I name my new hamster?", "category": "smalltalk", "source": "written for candor"},
        {"id": "warm-0002", "question": "I burnt the rice again and I'm annoyed.", "category": "emotional", "source": "written for candor"},
    ]
    faulty = clean + [
        {"id": "warm-0004", "question": "What should I name my new hamster please?", "category": "smalltalk", "source": "written for candor"},
        {"id": "warm-0005", "question": "How do I descale a kettle with vinegar?", "category": "chores", "source": "elsewhere"},
        {"id": "warm-0006", "question": "Tell me about the best way to fold a towel quickly.", "category": "everyday", "source": "written for candor", "extra": 1},
    ]
    against = [
        ("training:1 user message", "Is vinegar the best thing to descale a kettle with?"),
        ("training:2 user message", "What's the best way to fold a towel quickly for travel?"),
    ]
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for rows, expect in ((clean, 0), (faulty, None)):
            path = os.path.join(d, "warmth.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(json.dumps(r) + "\n" for r in rows))
            _, problems = check(path, against)
            if expect == 0 and problems:
                print("self-test: the clean file was refused:", problems)
                ok = False
            if expect is None:
                text = "\n".join(problems)
                for needle in ("id warm-0004, expected warm-0003", "category 'chores'", "source should be",
                               "overlaps training:1", "warm-0001 and warm-0004 overlap", "expected exactly the fields"):
                    if needle not in text:
                        print("self-test: not reported: %s\n%s" % (needle, text))
                        ok = False
    print("self-test %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
    path = argv[1] if len(argv) > 1 else os.path.join(root, "specs", "data", "warmth.jsonl")
    prompts, problems = check(path, others(root, path))
    for p in problems:
        print("ERROR " + p)
    if problems:
        print("%d problem(s)" % len(problems))
        return 1
    counts = Counter(item["category"] for _, item in prompts)
    print("%d prompts OK (%s)" % (len(prompts), ", ".join("%s %d" % (c, counts[c]) for c in CATEGORIES)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
