"""Entity-level precision, recall and F1 as seqeval computes them, for the Swift metric's test.

Writes Tests/Fixtures/finetune/seqeval.json: a list of cases {name, gold, predicted (lists of
sentences of tags), precision, recall, f1 (repr strings)} scored by seqeval.metrics (default mode, micro
average, as transformers' run_ner reports them). The cases: conlleval's edge cases (an I- after
O or after another type opens a chunk, B after I of the same type, a chunk at a sentence end,
types with hyphens, IOBES prefixes, no chunk at all) and 40 seeded random tag sequences.
Usage: PY=$(tools/venv.sh seqeval); $PY tools/make-seqeval-fixture.py
"""
import json, os, random
from seqeval.metrics import f1_score, precision_score, recall_score

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cases = []


def add(name, gold, predicted):
    # The scores as repr strings: Foundation's JSON parser on Linux does not read every double back exactly.
    cases.append(dict(name=name, gold=gold, predicted=predicted,
                      precision=repr(float(precision_score(gold, predicted, zero_division=0))),
                      recall=repr(float(recall_score(gold, predicted, zero_division=0))),
                      f1=repr(float(f1_score(gold, predicted, zero_division=0)))))


add("exact", [["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]])
add("I after O opens a chunk", [["O", "B-PER", "I-PER", "O"]], [["O", "I-PER", "I-PER", "O"]])
add("I of another type opens a chunk", [["B-PER", "I-PER", "I-PER"]], [["B-PER", "I-LOC", "I-PER"]])
add("B after I of the same type", [["B-PER", "I-PER", "B-PER"]], [["B-PER", "I-PER", "I-PER"]])
add("span too long", [["B-ORG", "O", "O"]], [["B-ORG", "I-ORG", "O"]])
add("right span, wrong type", [["B-ORG", "I-ORG"]], [["B-LOC", "I-LOC"]])
add("chunks at sentence ends", [["O", "B-PER"], ["I-PER", "O"]], [["O", "B-PER"], ["B-PER", "O"]])
add("types with hyphens", [["B-creative-work", "I-creative-work", "B-corporation"]],
    [["B-creative-work", "I-creative-work", "I-corporation"]])
add("IOBES", [["S-PER", "B-LOC", "E-LOC", "O", "B-ORG", "I-ORG", "E-ORG"]],
    [["S-PER", "B-LOC", "I-LOC", "O", "B-ORG", "E-ORG", "E-ORG"]])
add("no gold chunk", [["O", "O"]], [["B-PER", "O"]])
add("no predicted chunk", [["B-PER", "O"]], [["O", "O"]])
add("nothing at all", [["O"]], [["O"]])
add("tag without a type", [["B", "I", "O", "B-X"]], [["B", "O", "O", "B-X"]])

rng = random.Random(17)
tags = ["O"] * 6 + ["B-person", "I-person", "B-location", "I-location", "B-creative-work", "I-creative-work",
                    "B-group", "I-group"]
for i in range(40):
    gold, predicted = [], []
    for _ in range(rng.randint(1, 8)):
        n = rng.randint(1, 15)
        g = [rng.choice(tags) for _ in range(n)]
        p = [t if rng.random() < 0.7 else rng.choice(tags) for t in g]
        gold.append(g)
        predicted.append(p)
    add(f"random {i}", gold, predicted)

path = os.path.join(root, "Tests/Fixtures/finetune/seqeval.json")
with open(path, "w") as f:
    f.write('{"source": "seqeval 1.2.2, seqeval.metrics precision_score/recall_score/f1_score (micro, default mode)",\n'
            ' "cases": [\n' + ",\n".join(json.dumps(c) for c in cases) + "\n]}\n")
print(f"wrote {path}: {len(cases)} cases")
