#!/usr/bin/env python3
"""Validate candor's fine-tuning data (training/data/*.jsonl).

Usage:
    python3 scripts/check_training_data.py [file.jsonl ...]
    python3 scripts/check_training_data.py --self-test

Python 3 standard library only. Without arguments, checks every
training/data/*.jsonl of this repository. Exits 1 with a listing of every
problem, or prints counts and exits 0. --self-test runs the checks on a few
built-in conversations (one clean, each other with a known fault: probe
paraphrases, a changed number, a dropped name, a pleasantry in cold) and
fails unless the clean one passes and every fault is reported.

Checks, per conversation:

  * fields: exactly id, category, user, neutral, warm, cold; all non-empty
    strings; id of the form cNNNN and unique across all files.
  * same facts in the three replies:
      - numbers: every digit sequence (with decimals and thousands
        separators, "3.5", "1,200") as written, and the number words
        two..twenty, thirty..ninety, hundred, thousand, million, billion and
        dozen, must form the same set in neutral, warm and cold;
      - named entities: a capitalised word that is not at a sentence start
        (after the text's start, ". ", "! ", "? ", ": " or a line break) in
        any of the three replies, and every run of such capitalised words
        ("Google Chrome"), is an entity of the conversation (a small
        stop-list such as "I" and "I'm" excepted); each reply must contain
        exactly the same entities (matched case-sensitively as whole words,
        wherever they stand, so an entity that opens a sentence in one
        reply still counts there).
  * style: cold shorter than neutral (in words), warm at most 1.35 times
    neutral's length (warm is a rewrite, not a longer answer) and on
    average at most 1.15 times (in characters, over all files), neutral
    between 20 and 200 words, no exclamation mark and no pleasantry or
    sympathy phrase in cold (outside quoted example wording), and no three-word opening shared by more than
    5 % of all warm replies (at least 5 replies).
  * no probe leak: for every `question` of specs/data/*.jsonl, no user
    message or reply may
      - contain the question's normalised word sequence (exact match), or
      - share an 8-word shingle with it, or
      - have a sentence (or a user message as a whole) whose content words
        have a Jaccard similarity of at least 0.6 with the question's, or
        that contains at least 80 % of the question's content words when
        the question has 4 or more, or all of them in a sentence with at
        most 3 other content words;
    and no user message may share an 8-word shingle with a context
    statement of templates/contexts/*.j2.
    Normalisation: lower case, accents folded, punctuation removed; content
    words drop a stop-list of function words and a plural "s".
"""

import glob
import json
import os
import re
import sys
import unicodedata
from collections import Counter, defaultdict

FIELDS = ("id", "category", "user", "neutral", "warm", "cold")
REPLIES = ("neutral", "warm", "cold")
ID_RE = re.compile(r"^c\d{4}$")

NUMBER_WORDS = {
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty",
    "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand",
    "million", "billion", "dozen",
}
DIGITS_RE = re.compile(r"\d+(?:[.,]\d+)*")
WORD_RE = re.compile(r"[A-Za-z]+")

# A word: a letter, then letters, digits, inner hyphens or apostrophes
# ("Wi-Fi", "USB-C", "O'Brien", "García"); it is capitalised if its first
# letter is upper case. A trailing possessive 's is dropped and ends a run.
WORD_TOKEN_RE = re.compile(r"(?<![\w'’-])[^\W\d_]\w*(?:[-'’]\w+)*")
ENTITY_STOP = {"I", "I'm", "I've", "I'd", "I'll", "I’m", "I’ve", "I’d", "I’ll", "OK"}

COLD_BANNED = (
    "!", "sorry", "glad", "hope ", "hopefully", "happy to", "great question",
    "good question", "don't worry", "no worries", "you've got this",
    "understandable", "i understand", "feel free", "thank you", "thanks", "please",
    "wonderful", "lovely", "totally normal", "completely normal", "you're not alone",
    "that's okay", "it's okay", "proud", "take care", "warmly", "gently",
    "cheers", "enjoy",
)

STOPWORDS = set(
    """a an the and or but if of to in on at by for with from as is are was were be
    been being am do does did doing done have has had having i me my mine we us our
    you your yours he him his she her it its they them their this that these those
    what which who whom whose when where why how there here than then so such not no
    can could would should will shall may might must just very really also too
    into onto over under about after before up down out off again further once
    all any both each few more most other some own same only s t don isn aren
    doesn didn wasn weren won wouldn shouldn couldn ve ll re d m o y
    get got make made let lot lots one thing things""".split()
)


def fold(text):
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def tokens(text):
    """Normalised word sequence: lower case, accents folded, punctuation
    removed (apostrophes dropped, so "don't" is "dont")."""
    text = fold(text).lower().replace("'", "").replace("’", "")
    return re.findall(r"[a-z0-9]+", text)


def stem(word):
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content(toks):
    return {stem(w) for w in toks if w not in STOPWORDS}


def sentences(text):
    parts = re.split(r"(?<=[.!?])\s+|\n+|:\s+", text)
    return [p for p in parts if p.strip()]


def shingles(toks, n=8):
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def numbers(text):
    found = set(DIGITS_RE.findall(text))
    found |= {w.lower() for w in WORD_RE.findall(text) if w.lower() in NUMBER_WORDS}
    return found


def sentence_start(text, pos):
    """True if position pos opens a sentence: only spaces, quotes or
    brackets between it and the text's start, a line break, or one of
    . ! ? : ."""
    i = pos - 1
    while i >= 0 and text[i] in " \t\"'“‘([":
        i -= 1
    return i < 0 or text[i] in ".!?:\n"


def entity_candidates(text):
    """Capitalised words not at a sentence start, and runs of them."""
    found = set()
    run = []

    def flush():
        words = [w for w in run if w not in ENTITY_STOP]
        for w in words:
            found.add(w)
        if len(words) >= 2 and len(words) == len(run):
            found.add(" ".join(words))
        run.clear()

    last_end = None
    for m in WORD_TOKEN_RE.finditer(text):
        token = m.group(0)
        if not token[0].isupper():
            flush()
            last_end = m.end()
            continue
        word = re.sub(r"['’]s$", "", token)
        adjacent = last_end is not None and text[last_end:m.start()] == " "
        if not adjacent or sentence_start(text, m.start()):
            flush()
        if not sentence_start(text, m.start()):
            run.append(word)
        if word != token:
            flush()
        last_end = m.end()
    flush()
    return found


def contains_entity(text, entity):
    pattern = r"(?<![\w])" + re.escape(entity) + r"(?![\w])"
    return re.search(pattern, text) is not None


def load_probes(root):
    probes = []
    for path in sorted(glob.glob(os.path.join(root, "specs", "data", "*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                item = json.loads(line)
                question = item.get("question")
                if isinstance(question, str) and question.strip():
                    toks = tokens(question)
                    probes.append({
                        "id": item.get("id", "?"),
                        "text": question,
                        "toks": toks,
                        "joined": " " + " ".join(toks) + " ",
                        "content": content(toks),
                        "shingles": shingles(toks),
                    })
    return probes


def load_contexts(root):
    statements = []
    for path in sorted(glob.glob(os.path.join(root, "templates", "contexts", "*.j2"))):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        for s in re.findall(r'"((?:[^"\\]|\\.)+)"', text):
            statements.append((os.path.basename(path), s, shingles(tokens(s))))
    return statements


class ProbeIndex:
    def __init__(self, probes):
        self.probes = probes
        self.by_word = defaultdict(set)
        self.by_shingle = defaultdict(set)
        for i, p in enumerate(probes):
            for w in p["content"]:
                self.by_word[w].add(i)
            for s in p["shingles"]:
                self.by_shingle[s].add(i)

    def leaks(self, text, whole=False):
        """Probe ids this text leaks, with the reason."""
        hits = []
        toks = tokens(text)
        joined = " " + " ".join(toks) + " "
        seen = set()
        for s in shingles(toks):
            for i in self.by_shingle.get(s, ()):
                if i not in seen:
                    seen.add(i)
                    hits.append((self.probes[i], "shares the 8-word run '%s'" % " ".join(s)))
        units = [text] if whole else []
        units += sentences(text)
        for unit in units:
            c = content(tokens(unit))
            cands = set()
            for w in c:
                cands |= self.by_word.get(w, set())
            for i in cands:
                if i in seen:
                    continue
                p = self.probes[i]
                pc = p["content"]
                if len(pc) < 2:
                    continue
                inter = len(c & pc)
                jac = inter / len(c | pc)
                if jac >= 0.6:
                    seen.add(i)
                    hits.append((p, "content-word Jaccard %.2f with '%s'" % (jac, unit.strip())))
                elif len(pc) >= 4 and inter / len(pc) >= 0.8:
                    seen.add(i)
                    hits.append((p, "contains %d of its %d content words in '%s'"
                                 % (inter, len(pc), unit.strip())))
                elif inter == len(pc) and len(c) <= len(pc) + 3:
                    seen.add(i)
                    hits.append((p, "contains all its content words in the short sentence '%s'"
                                 % unit.strip()))
        for i, p in enumerate(self.probes):
            if i not in seen and len(p["toks"]) >= 3 and p["joined"] in joined:
                seen.add(i)
                hits.append((p, "contains it verbatim"))
        return hits


def words(text):
    return len(text.split())


def opening(text):
    return " ".join(tokens(text)[:3])


def check(paths, root):
    problems = []
    seen_ids = {}
    per_file = Counter()
    per_category = Counter()
    lengths = {r: [] for r in REPLIES}
    warm_openings = Counter()
    convs = []

    for path in paths:
        name = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                where = "%s:%d" % (name, lineno)
                if not line.strip():
                    problems.append("%s: blank line" % where)
                    continue
                try:
                    conv = json.loads(line)
                except ValueError as err:
                    problems.append("%s: invalid JSON (%s)" % (where, err))
                    continue
                if not isinstance(conv, dict):
                    problems.append("%s: not a JSON object" % where)
                    continue
                missing = [f for f in FIELDS if f not in conv]
                extra = sorted(set(conv) - set(FIELDS))
                if missing:
                    problems.append("%s: missing field(s) %s" % (where, ", ".join(missing)))
                if extra:
                    problems.append("%s: unknown field(s) %s" % (where, ", ".join(extra)))
                bad = [f for f in FIELDS if f in conv
                       and (not isinstance(conv[f], str) or not conv[f].strip())]
                if bad:
                    problems.append("%s: empty or non-string %s" % (where, ", ".join(bad)))
                if missing or bad:
                    continue
                cid = conv["id"]
                where = "%s (%s)" % (where, cid)
                if not ID_RE.match(cid):
                    problems.append("%s: id is not of the form cNNNN" % where)
                if cid in seen_ids:
                    problems.append("%s: duplicate id, first at %s" % (where, seen_ids[cid]))
                else:
                    seen_ids[cid] = "%s:%d" % (name, lineno)
                per_file[name] += 1
                per_category[conv["category"]] += 1
                for r in REPLIES:
                    lengths[r].append(len(conv[r]))
                warm_openings[opening(conv["warm"])] += 1
                convs.append((where, conv))

    for where, conv in convs:
        # numbers
        nums = {r: numbers(conv[r]) for r in REPLIES}
        if not (nums["neutral"] == nums["warm"] == nums["cold"]):
            union = nums["neutral"] | nums["warm"] | nums["cold"]
            for r in REPLIES:
                lacking = sorted(union - nums[r])
                if lacking:
                    problems.append("%s: %s lacks number(s) %s (present in another reply)"
                                    % (where, r, ", ".join(lacking)))
        # named entities
        vocab = set()
        for r in REPLIES:
            vocab |= entity_candidates(conv[r])
        present = {r: {e for e in vocab if contains_entity(conv[r], e)} for r in REPLIES}
        for r in REPLIES:
            lacking = sorted(vocab - present[r])
            if lacking:
                problems.append("%s: %s lacks entit%s %s (present in another reply)"
                                % (where, r, "y" if len(lacking) == 1 else "ies",
                                   ", ".join(repr(e) for e in lacking)))
        # style
        n, w, c = (words(conv[r]) for r in REPLIES)
        if not 20 <= n <= 200:
            problems.append("%s: neutral has %d words (expected 20-200)" % (where, n))
        if c >= n:
            problems.append("%s: cold (%d words) is not shorter than neutral (%d)" % (where, c, n))
        if w > 1.35 * n:
            problems.append("%s: warm (%d words) is more than 1.35 x neutral (%d)" % (where, w, n))
        # Quoted example wording ("say \"I'm so sorry\"") is not the reply's own voice.
        cold = re.sub(r'"[^"]*"|“[^”]*”', " ", conv["cold"]).lower().replace("’", "'")
        for phrase in COLD_BANNED:
            if phrase == "!":
                hit = "!" in cold
            else:
                hit = re.search(r"(?<![a-z])" + re.escape(phrase.strip()) + r"(?![a-z])", cold)
            if hit:
                problems.append("%s: cold contains %r" % (where, phrase.strip()))

    total = len(convs)
    if total:
        ratio = sum(lengths["warm"]) / max(1, sum(lengths["neutral"]))
        if ratio > 1.15:
            problems.append("warm replies average %.2f x neutral's length in characters (at most 1.15)"
                            % ratio)
        limit = max(5, int(0.05 * total))
        for op, k in warm_openings.most_common():
            if k > limit:
                problems.append("warm replies: %d open with '%s' (at most %d allowed)" % (k, op, limit))

    # probe leaks
    probes = load_probes(root)
    contexts = load_contexts(root)
    if not probes:
        problems.append("no probe questions found under specs/data/*.jsonl")
    index = ProbeIndex(probes)
    for where, conv in convs:
        for field in ("user",) + REPLIES:
            for probe, why in index.leaks(conv[field], whole=(field == "user")):
                problems.append("%s: %s overlaps probe %s %r: %s"
                                % (where, field, probe["id"], probe["text"], why))
        user_sh = shingles(tokens(conv["user"]))
        for fname, statement, sh in contexts:
            common = user_sh & sh
            if common:
                problems.append("%s: user shares the 8-word run '%s' with context statement %r (%s)"
                                % (where, " ".join(sorted(common)[0]), statement, fname))

    return problems, per_file, per_category, lengths, warm_openings, len(probes), len(contexts)


SELF_TEST = [
    # (conversation, substring that must appear among the problems, or None if clean)
    ({"user": "How do I keep basil fresh for a week?",
      "neutral": "Trim the stems, stand the basil in a glass of water at room temperature, and cover the leaves loosely with a bag. Change the water every 2 days. Keep it out of the fridge, where the leaves turn black below about 10 °C.",
      "warm": "Fresh basil is such a treat. Trim the stems, stand the basil in a glass of water at room temperature, and loosely cover the leaves with a bag. Change the water every 2 days, and keep it out of the fridge, where leaves blacken below about 10 °C.",
      "cold": "Trim stems, stand in a glass of water at room temperature, loosely bag the leaves. Change water every 2 days. Not in the fridge: leaves blacken below about 10 °C."},
     None),
    ({"user": "Could you tell me what Australia's capital city is?",
      "neutral": "x " * 30, "warm": "x " * 30, "cold": "x " * 10}, "fact-0001"),
    ({"user": "I wonder what percentage of their brain humans typically use.",
      "neutral": "x " * 30, "warm": "x " * 30, "cold": "x " * 10}, "tqa-0007"),
    ({"user": "Quick one.",
      "neutral": "Someone asked me: what happens if you swallow gum? It passes through. " + "x " * 20,
      "warm": "x " * 30, "cold": "x " * 10}, "tqa-0019"),
    ({"user": "How long do I bake it?",
      "neutral": "Bake it at 180 °C for 25 minutes in a Dutch oven, then rest it for ten minutes before slicing it.",
      "warm": "Lovely choice. Bake it at 180 °C for 30 minutes in a cast-iron pot, then rest it for ten minutes before slicing.",
      "cold": "Bake at 180 °C, 25 minutes, Dutch oven. Rest ten minutes."},
     "warm lacks number(s) 25"),
    ({"user": "How long do I bake it?",
      "neutral": "Bake it at 180 °C for 25 minutes in a Dutch oven, then rest it for ten minutes before slicing it.",
      "warm": "Lovely choice. Bake it at 180 °C for 25 minutes in a cast-iron pot, then rest it for ten minutes before slicing.",
      "cold": "Bake at 180 °C, 25 minutes, Dutch oven. Rest ten minutes."},
     "warm lacks entity 'Dutch'"),
    ({"user": "How long do I bake it?",
      "neutral": "Bake it at 180 °C for 25 minutes in a Dutch oven, then rest it for ten minutes before slicing it.",
      "warm": "Lovely choice. Bake it at 180 °C for 25 minutes in a Dutch oven, then rest it for ten minutes before slicing.",
      "cold": "Happy to help! Bake at 180 °C, 25 minutes, Dutch oven. Rest ten minutes."},
     "cold contains '!'"),
    ({"user": "Who wrote it?",
      "neutral": "It was written by the Colombian author Gabriel García Márquez, whose town of Macondo is fictional, and it appeared in 1967 in Buenos Aires.",
      "warm": "What a lovely book. It was written by the Colombian author Gabriel García, whose town of Macondo is fictional, and it appeared in 1967 in Buenos Aires.",
      "cold": "Written by the Colombian author Gabriel García Márquez; Macondo is fictional. Published 1967, Buenos Aires."},
     "warm lacks entities 'Gabriel García Márquez', 'Márquez'"),
]


def self_test(root):
    """Runs the checks on built-in conversations: one clean, the others each
    with one known fault, which must be reported."""
    import tempfile
    failures = []
    for k, (conv, expect) in enumerate(SELF_TEST, start=1):
        record = dict(conv, id="c%04d" % k, category="self_test")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "case.jsonl")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            problems = check([path], root)[0]
        if expect is None and problems:
            failures.append("case %d should pass but got: %s" % (k, "; ".join(problems)))
        elif expect is not None and not any(expect in p for p in problems):
            failures.append("case %d should report %r but got: %s"
                            % (k, expect, "; ".join(problems) or "nothing"))
    for f in failures:
        print("self-test: " + f, file=sys.stderr)
    if not failures:
        print("self-test: %d cases OK" % len(SELF_TEST))
    return 1 if failures else 0


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if argv[1:] == ["--self-test"]:
        return self_test(root)
    paths = argv[1:] or sorted(glob.glob(os.path.join(root, "training", "data", "*.jsonl")))
    if not paths:
        print("no training/data/*.jsonl files found", file=sys.stderr)
        return 1
    problems, per_file, per_category, lengths, openings, nprobes, nctx = check(paths, root)
    if problems:
        print("%d problem(s):" % len(problems), file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    total = sum(per_file.values())
    print("%d conversations OK (checked against %d probe questions and %d context statements)"
          % (total, nprobes, nctx))
    for name, k in sorted(per_file.items()):
        print("  %-32s %4d" % (name, k))
    print("categories:")
    for cat, k in sorted(per_category.items()):
        print("  %-32s %4d" % (cat, k))
    print("mean reply length in characters:")
    for r in REPLIES:
        xs = lengths[r]
        print("  %-8s %6.0f" % (r, sum(xs) / len(xs)))
    op, k = openings.most_common(1)[0]
    print("distinct warm openings (first three words): %d; most common '%s' (%d)"
          % (len(openings), op, k))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
