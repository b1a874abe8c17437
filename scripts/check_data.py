#!/usr/bin/env python3
"""Validate candor's shipped item files (specs/data/*.jsonl).

Usage:
    python3 scripts/check_data.py [file.jsonl ...]

Without arguments, checks every specs/data/*.jsonl next to this script's
repository. A record with exactly id, question, category and source is a
prompt of a suite that only measures warmth: its id, uniqueness and fields
are checked here, the rest by scripts/check_warmth_data.py. For each other item: required fields present with the right types,
unique id (within a file and across files), non-empty question, correct and
incorrect lists with non-empty strings, no option listed both as correct and
incorrect, and a belief that is one of the incorrect answers (after
normalisation) and equals no correct answer or alias. Normalisation ignores
case, accents, spacing, punctuation and the articles a, an, the. Prints counts per file and per category; exits
non-zero if anything is wrong.
"""

import glob
import json
import os
import re
import sys
import unicodedata
from collections import Counter

REQUIRED = ("id", "question", "correct", "incorrect", "belief", "category", "source")
# A prompt of a suite that only measures (warmth, `match: none`) has no
# answers; scripts/check_warmth_data.py checks those files further.
PROMPT = ("id", "question", "category", "source")


def norm(text, fold_accents=True):
    """Lowercase, punctuation and spacing removed, articles (a, an, the)
    dropped, as candor's own matching does; accents folded by default.
    Repeats within one list are checked without folding, so that an accented
    name may carry its unaccented spelling as an alias (Bogotá, Bogota)."""
    if fold_accents:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^\w%]+|_", " ", text.lower())
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def check_file(path, seen_ids):
    problems = []
    categories = Counter()
    count = 0
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            where = "%s:%d" % (os.path.basename(path), lineno)
            if not line.strip():
                problems.append("%s: blank line" % where)
                continue
            try:
                item = json.loads(line)
            except ValueError as err:
                problems.append("%s: invalid JSON (%s)" % (where, err))
                continue
            count += 1
            if isinstance(item, dict) and sorted(item) == sorted(PROMPT):
                item_id = item["id"]
                if not isinstance(item_id, str) or not re.match(r"^[a-z][a-z0-9]*-[0-9]{4}$", item_id):
                    problems.append("%s: id should look like 'abc-0001'" % where)
                elif item_id in seen_ids:
                    problems.append("%s: duplicate id (also in %s)" % (where, seen_ids[item_id]))
                seen_ids[item_id] = where
                for field in PROMPT[1:]:
                    if not isinstance(item[field], str) or not item[field].strip():
                        problems.append("%s: %s must be a non-empty string" % (where, field))
                categories[str(item["category"])] += 1
                continue
            missing = [f for f in REQUIRED if f not in item]
            if missing:
                problems.append("%s: missing %s" % (where, ", ".join(missing)))
                continue
            extra = sorted(set(item) - set(REQUIRED))
            if extra:
                problems.append("%s: unexpected field(s) %s" % (where, ", ".join(extra)))
            item_id = item["id"]
            where = "%s (%s)" % (where, item_id)
            if not isinstance(item_id, str) or not re.match(r"^[a-z][a-z0-9]*-[0-9]{4}$", item_id):
                problems.append("%s: id should look like 'abc-0001'" % where)
            if item_id in seen_ids:
                problems.append("%s: duplicate id (also in %s)" % (where, seen_ids[item_id]))
            seen_ids[item_id] = where
            for field in ("question", "belief", "category", "source"):
                value = item[field]
                if not isinstance(value, str) or not value.strip():
                    problems.append("%s: %s must be a non-empty string" % (where, field))
                elif value != value.strip():
                    problems.append("%s: %s has surrounding whitespace" % (where, field))
            lists_ok = True
            for field in ("correct", "incorrect"):
                value = item[field]
                if not isinstance(value, list) or not value:
                    problems.append("%s: %s must be a non-empty list" % (where, field))
                    lists_ok = False
                    continue
                for answer in value:
                    if not isinstance(answer, str) or not norm(answer):
                        problems.append("%s: %s has an empty or non-string answer" % (where, field))
                        lists_ok = False
                keys = [norm(a, fold_accents=False) for a in value if isinstance(a, str)]
                dup = [k for k, n in Counter(keys).items() if n > 1]
                if dup:
                    problems.append("%s: %s repeats %r" % (where, field, dup))
            if not lists_ok or not isinstance(item["belief"], str):
                continue
            correct = {norm(a) for a in item["correct"]}
            incorrect = {norm(a) for a in item["incorrect"]}
            both = correct & incorrect
            if both:
                problems.append("%s: listed as both correct and incorrect: %r" % (where, sorted(both)))
            belief = norm(item["belief"])
            if belief in correct:
                problems.append("%s: belief %r equals a correct answer" % (where, item["belief"]))
            if belief not in incorrect:
                problems.append("%s: belief %r is not one of the incorrect answers" % (where, item["belief"]))
            if item["belief"].endswith("."):
                problems.append("%s: belief ends with a period" % where)
            categories[item["category"]] += 1
    return count, categories, problems


def main(argv):
    paths = argv[1:]
    if not paths:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
        paths = sorted(glob.glob(os.path.join(root, "specs", "data", "*.jsonl")))
    if not paths:
        print("no item files found")
        return 1
    seen_ids = {}
    all_problems = []
    total = 0
    for path in paths:
        count, categories, problems = check_file(path, seen_ids)
        total += count
        all_problems += problems
        print("%-22s %4d items, %d problem(s)" % (os.path.basename(path), count, len(problems)))
        for category, n in sorted(categories.items()):
            print("    %-28s %4d" % (category, n))
    for problem in all_problems:
        print("ERROR " + problem)
    print("%d items in %d file(s), %d problem(s)" % (total, len(paths), len(all_problems)))
    return 1 if all_problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
