#!/usr/bin/env python3
"""Convert TruthfulQA.csv into the JSONL item files that candor ships.

TruthfulQA: Stephanie Lin, Jacob Hilton, Owain Evans, "TruthfulQA: Measuring
How Models Mimic Human Falsehoods" (ACL 2022, arXiv:2109.07958),
https://github.com/sylinrl/TruthfulQA, Apache License 2.0.

Usage:
    python3 scripts/convert_truthfulqa.py path/to/TruthfulQA.csv [out_dir]

out_dir defaults to specs/data (relative to the repository root, i.e. the
parent of this script's directory). Writes:
    truthfulqa.jsonl     Misconceptions + other factual, non-fiction categories
    health.jsonl         Health + Nutrition
    disinformation.jsonl Conspiracies + Misinformation + Paranormal

Each line is one item:
    id        "tqa-NNNN", NNNN = 1-based data-row index in the CSV (stable as
              long as the upstream row order is)
    question  the question text
    correct   [Best Answer, then the other Correct Answers, de-duplicated]
    incorrect [Incorrect Answers, de-duplicated, minus any that equal a
              correct answer after normalisation (case, punctuation, spacing
              and the articles a/an/the ignored)]
    belief    one incorrect answer, chosen by sha256(id) modulo the number of
              incorrect answers, phrased to follow "I think the answer is "
              (leading capital lowercased unless the first word looks like a
              proper noun or acronym; final period stripped)
    category  the TruthfulQA category
    source    the row's Source column (usually a URL)

Only the standard library is used, so the conversion is reproducible anywhere.
"""

import csv
import hashlib
import json
import os
import re
import sys
from collections import Counter

SUITES = {
    "truthfulqa.jsonl": [
        "Misconceptions",
        "History",
        "Science",
        "Weather",
        "Language",
        "Misquotations",
        "Statistics",
    ],
    "health.jsonl": ["Health", "Nutrition"],
    "disinformation.jsonl": ["Conspiracies", "Misinformation", "Paranormal"],
}

# On the disinformation suite a refusal is a correct answer (as in the study),
# so "I have no comment" stays where TruthfulQA lists it as correct. Elsewhere it
# is a non-answer: an option that would soak up likelihood under choice scoring
# without saying anything about the fact, so it is removed from the correct list
# (and items whose best answer is that non-answer are dropped).
NO_COMMENT = "i have no comment"
KEEPS_NO_COMMENT = {"disinformation.jsonl"}

# Misquotations answers are mostly quotations or "X said ...": keep them as is.
KEEP_CASE_CATEGORIES = {"Misquotations"}

# First words of TruthfulQA answers (in the categories converted here) that are
# names and keep their capital. Curated once by listing every capitalised first
# word of those answers; any other capitalised first word is a common word and
# is lowercased. A name missing here would only be lowercased, never dropped.
PROPER_NOUNS = {
    "Adolf", "Agenda", "Al", "Alabama", "Albert", "America", "American",
    "Americans", "Amerigo", "Amsterdam", "Area", "Atkins", "Australia", "Avril",
    "Ayurveda", "Barack", "Beijing", "Benjamin", "Betsy", "Bielefeld",
    "Bigfoot", "Bill", "Boston", "Bowling", "Brits", "California", "Canada",
    "China", "Chinese", "Chongqing", "Christopher", "Cinco", "Cleopatra",
    "Covid", "David", "Douglas", "Einstein", "Elon", "Finland", "France",
    "Gandhi", "Geiger", "George", "Georgia", "Germany", "Greek", "Hawaii",
    "Houston", "Irvin", "Ishtar", "Japan", "Joseph", "Kuwait", "Lawrence",
    "Lima", "London", "Los", "Luke", "Marie", "Mark", "Martin", "Mexico",
    "Miami", "Montreal", "Napoleon", "Nelson", "Netwon", "New", "Newton",
    "Nicole", "Nikola", "Nixon", "Paris", "Paul", "Pennsylvania", "Pfizer",
    "Philadelphia", "Plato", "Plymouth", "Pocahontas", "Polaris", "Ralph",
    "Reiki", "Robert", "Rome", "Rosa", "Roswell", "Russia", "Salieri", "Sao",
    "Sarah", "Seattle", "Sigmund", "South", "Switzerland", "Thomas", "Toronto",
    "Toto", "United", "Vice", "Virginia", "Walt", "West", "Yakutsk",
}


def split_answers(cell):
    out = []
    for part in cell.split(";"):
        part = part.strip()
        if part:
            out.append(part)
    return out


def norm(text):
    """Form used for equality: lowercase, punctuation and spacing removed, and
    the articles a, an, the dropped (as candor's answer matching does, so two
    answers differing only by an article count as the same answer)."""
    text = re.sub(r"[^\w%]+|_", " ", text.lower())
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def dedupe(items):
    seen = set()
    out = []
    for item in items:
        key = norm(item)
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def phrase_belief(answer, category):
    """Fit an answer into "I think the answer is {belief}, but I'm really not
    sure.": strip the final period and lowercase a leading capital, unless the
    first word is a name or an acronym, or the answer is a quotation."""
    text = answer.strip()
    while text.endswith("."):
        text = text[:-1].rstrip()
    if category in KEEP_CASE_CATEGORIES:
        return text
    words = text.split()
    if words and words[0] in ("The", "A", "An"):
        return words[0].lower() + text[len(words[0]):]  # "the United States"
    if len(words) > 1 and all(w[0].isupper() for w in words if w[0].isalpha()):
        return text  # a title-case expansion: "What I Know Is"
    match = re.match(r"[A-Za-z][A-Za-z'\-]*", text)
    if not match:
        return text  # starts with a quote, digit or symbol
    first = match.group(0)
    rest = text[len(first):]
    if not first[0].isupper():
        return text
    key = re.sub(r"('s|'|-)$", "", first)
    if (
        key in PROPER_NOUNS
        or first in ("I", "I'm", "I've", "I'd", "I'll")
        or (len(key) > 1 and key.isupper())  # acronym: UK, NASA, LSD
        or any(c.isupper() for c in key[1:])  # internal capital: DeepMind
        or rest.startswith(".")  # initials or U.S.
    ):
        return text
    return first[0].lower() + first[1:] + rest


def choose_belief(item_id, incorrect):
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return incorrect[int.from_bytes(digest[:8], "big") % len(incorrect)]


def convert(csv_path, out_dir):
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    report = {}
    for filename, categories in SUITES.items():
        items = []
        dropped = Counter()
        for index, row in enumerate(rows, start=1):
            if row["Category"] not in categories:
                continue
            item_id = "tqa-%04d" % index
            best = row["Best Answer"].strip()
            correct = dedupe([best] + split_answers(row["Correct Answers"]))
            if filename not in KEEPS_NO_COMMENT:
                if norm(best) == NO_COMMENT:
                    dropped["best answer is a non-answer"] += 1
                    continue
                correct = [c for c in correct if norm(c) != NO_COMMENT]
            correct_keys = {norm(c) for c in correct}
            incorrect = [
                a
                for a in dedupe(split_answers(row["Incorrect Answers"]))
                if norm(a) not in correct_keys
            ]
            if not row["Question"].strip() or not correct or not incorrect:
                dropped["empty list"] += 1
                continue
            raw_belief = choose_belief(item_id, incorrect)
            belief = phrase_belief(raw_belief, row["Category"])
            if norm(belief) in correct_keys or not belief:
                dropped["belief equals a correct answer"] += 1
                continue
            items.append(
                {
                    "id": item_id,
                    "question": row["Question"].strip(),
                    "correct": correct,
                    "incorrect": incorrect,
                    "belief": belief,
                    "category": row["Category"],
                    "source": row["Source"].strip(),
                }
            )
        path = os.path.join(out_dir, filename)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            for item in items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        report[filename] = (len(items), dict(dropped))
    return report


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = argv[2] if len(argv) == 3 else os.path.join(here, os.pardir, "specs", "data")
    os.makedirs(out_dir, exist_ok=True)
    with open(argv[1], "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    print("input sha256 %s" % digest)
    for filename, (count, dropped) in convert(argv[1], out_dir).items():
        extra = ", ".join("%s: %d" % kv for kv in sorted(dropped.items()))
        print("%-22s %4d items%s" % (filename, count, (" (dropped " + extra + ")") if extra else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
