"""The official SQuAD evaluations' numbers on small data with the normalisation's edge cases, for
the Swift port's test (Tests/Fixtures/qa/squad-eval.json).

Needs the official scripts (https://rajpurkar.github.io/SQuAD-explorer/: evaluate-v1.1.py and
evaluate-v2.0.py; not committed) in tools/.cache/squad/ or the directory given as argument; v2.0's
main() is reproduced from its functions (with and without a no-answer probability file).
Writes: normalize_answer of each edge string; v1.1: evaluate() on a dataset with several gold
answers per question and one question left unanswered; v2.0: every question's raw EM and F1 and
the evaluation without and with no-answer probabilities (HasAns/NoAns, best thresholds, ties).
Floats are written as repr strings (Foundation's JSON parser on Linux does not read every double
back exactly). Usage: python3 tools/make-squad-eval-fixture.py [DIR]
"""
import importlib.util, json, os, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tools/.cache/squad")


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_").replace(".", "_"), os.path.join(d, name))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


v1, v2 = load("evaluate-v1.1.py"), load("evaluate-v2.0.py")
r = repr

edge = ["The Cat", "  the   cat  ", "a", "An apple.", "the-end", "theatre", "_the_", "the_cat", "(the) [an] {a}",
        "Ünïcödé Façade", "naïve café", "ΟΔΟΣ", "ΑΣ ΑΣ.", "Σ", "ὈΔΥΣΣΕΎΣ", "İstanbul", "Straße", "ǅemal", "ﬁne",
        "東京 タワー", "a\u00a0the\u2003cat", "a\u200bthe cat", "hello—world", "don't", "A.B.C.", "the,a,an",
        "x\u0301the", "the\u0301 end", "١٢٣ the", "Ⅻ the", "the\tcat\nsat\x1cdown\x85now", "l'an", "AN", "tHe",
        "", "   ", "...", "a an the", "the cat the cat", "ᾼ", "ＡＢＣ", "the\u3000end", "\u00bd the"]
normalized = [{"text": s, "normalized": v2.normalize_answer(s), "v1": v1.normalize_answer(s)} for s in edge]
assert all(x["normalized"] == x["v1"] for x in normalized)

# v1.1: several gold answers; q6 has no prediction (counts 0 in the total).
qs1 = [("q1", ["Denver Broncos", "the Denver Broncos"], "Denver Broncos"),
       ("q2", ["Santa Clara, California", "Levi's Stadium"], "levis stadium in Santa Clara"),
       ("q3", ["gold"], "golden"),
       ("q4", ["the Eiffel Tower", "Eiffel"], "An Eiffel tower!"),
       ("q5", ["ΟΔΟΣ ΑΣ"], "οδος ας"),
       ("q6", ["1975"], None),
       ("q7", ["Straße und Weg"], "strasse und weg"),
       ("q8", ["the the the"], "a")]
data1 = [{"title": "v1", "paragraphs": [{"context": "…", "qas": [
    {"id": q, "question": "?", "answers": [{"text": t, "answer_start": 0} for t in golds]} for q, golds, _ in qs1]}]}]
preds1 = {q: p for q, _, p in qs1 if p is not None}
eval1 = v1.evaluate(data1, preds1)

# v2.0: answerable and unanswerable questions, no-answer probabilities with ties (the official v2.0
# script needs a prediction for every question: a missing one is a KeyError in make_eval_dict).
qs2 = [("a1", ["Normandy", "in Normandy"], "Normandy", 0.1),
       ("a2", ["10th and 11th centuries"], "10th century", 0.4),
       ("a3", [], "", 0.9),
       ("a4", [], "France", 0.4),
       ("a5", ["Rollo"], "", 0.95),
       ("a6", ["the"], "a", 0.2),           # a gold answer that normalizes to "": the question counts as unanswerable
       ("a7", [], "", 0.4),
       ("a8", ["Charles III"], "King Charles III of France", 0.05),
       ("a9", ["Viking"], "vikings", 0.5),
       ("a10", ["Ωmega Σ"], "ωmega ς", 0.3)]
data2 = [{"title": "v2", "paragraphs": [{"context": "…", "qas": [
    {"id": q, "question": "?", "is_impossible": not golds,
     "answers": [{"text": t, "answer_start": 0} for t in golds]} for q, golds, _, _ in qs2]}]}]
preds2 = {q: p for q, _, p, _ in qs2 if p is not None}
na2 = {q: n for q, _, p, n in qs2 if p is not None}
exact_raw, f1_raw = v2.get_raw_scores(data2, preds2)
plain = v2.evaluate(data2, preds2)
with_na = v2.evaluate(data2, preds2, na_probs=na2, na_prob_thresh=1.0)
with_na_thresh = v2.evaluate(data2, preds2, na_probs=na2, na_prob_thresh=0.35)

out = {
    "source": "official evaluate-v1.1.py and evaluate-v2.0.py (SQuAD), run by tools/make-squad-eval-fixture.py",
    "normalize": [{"text": x["text"], "normalized": x["normalized"]} for x in normalized],
    "v1": {"data": data1, "predictions": preds1, "exact_match": r(eval1["exact_match"]), "f1": r(eval1["f1"])},
    "v2": {"data": data2, "predictions": preds2, "na_probs": [[q, r(n)] for q, n in na2.items()],
           "raw": {q: [r(float(exact_raw[q])), r(float(f1_raw[q]))] for q in exact_raw},
           "plain": {k: r(float(v)) for k, v in plain.items()},
           "with_na_probs": {k: r(float(v)) for k, v in with_na.items()},
           "with_na_probs_threshold_0.35": {k: r(float(v)) for k, v in with_na_thresh.items()}},
}
path = os.path.join(root, "Tests/Fixtures/qa/squad-eval.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"wrote {path}: {len(normalized)} normalisation cases; v1.1 EM {eval1['exact_match']:.4f} F1 {eval1['f1']:.4f}; "
      f"v2.0 {dict(with_na)}")
