#!/usr/bin/env python3
"""Write the items candor's authors wrote themselves into specs/data/.

Usage:
    python3 scripts/build_items.py [out_dir]

Sources (plain Python lists, reviewed item by item):
    scripts/facts_items.py       -> facts.jsonl       (ids fact-NNNN)
    scripts/capability_items.py  -> capability.jsonl  (ids cap-NNNN)

Fields match the TruthfulQA-derived files: id, question, correct (answer, then
aliases), incorrect, belief, category, source. The belief is one incorrect
answer chosen by sha256(id) modulo the number of incorrect answers, the same
rule as scripts/convert_truthfulqa.py. Only the standard library is used.
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from capability_items import ARITHMETIC, FIRST_BATCH, OTHER  # noqa: E402
from facts_items import FACTS  # noqa: E402

SOURCE = "written for candor"


def choose_belief(item_id, incorrect):
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return incorrect[int.from_bytes(digest[:8], "big") % len(incorrect)]


def make(prefix, entries):
    items = []
    for index, (category, question, correct, incorrect) in enumerate(entries, start=1):
        item_id = "%s-%04d" % (prefix, index)
        items.append(
            {
                "id": item_id,
                "question": question,
                "correct": list(correct),
                "incorrect": list(incorrect),
                "belief": choose_belief(item_id, list(incorrect)),
                "category": category,
                "source": SOURCE,
            }
        )
    return items


def arithmetic_entries():
    entries = []
    for question, expression, options in ARITHMETIC:
        value = eval(expression, {"__builtins__": {"int": int, "round": round}})  # our own literals
        if str(value) != options[0]:
            raise SystemExit("arithmetic check failed: %r gives %r, listed %r" % (question, value, options[0]))
        entries.append(("arithmetic", question, [options[0]], options[1:]))
    return entries


def write(path, items):
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    print("%-18s %4d items" % (os.path.basename(path), len(items)))


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.join(HERE, os.pardir, "specs", "data")
    os.makedirs(out_dir, exist_ok=True)
    write(os.path.join(out_dir, "facts.jsonl"), make("fact", FACTS))
    # Ids follow position; the second batch comes after the whole first batch
    # so that the first batch's ids never change.
    arith, n_arith, n_other = arithmetic_entries(), FIRST_BATCH["arithmetic"], FIRST_BATCH["other"]
    capability = arith[:n_arith] + OTHER[:n_other] + arith[n_arith:] + OTHER[n_other:]
    write(os.path.join(out_dir, "capability.jsonl"), make("cap", capability))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
