"""The tagging export against transformers (tools/tagging-proof.sh).

make DIR: a tiny random ElectraForPreTraining folder (the committed BERT vocabulary, 512 positions)
  and DIR/train.conll, the first 600 sentences of WNUT-17's training file (/work/shared/data/wnut17,
  CC BY 4.0, Derczynski et al. 2017; not committed).
check DIR: transformers loads DIR/export as ElectraForTokenClassification with no missing or
  unexpected weights, and pipeline("token-classification") (aggregation none, no label ignored) on
  each dev sentence (its words joined by spaces) gives, at each word's first sub-token, the tag
  that `electra-train predict --logits` wrote in DIR/pred.conll, and its score equals the softmax
  of our logits within 1e-4. Prints the counts; exits 1 on a difference.
"""
import math, os, shutil, sys
import torch
from transformers import (ElectraConfig, ElectraForPreTraining, ElectraForTokenClassification, ElectraTokenizer,
                          pipeline)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WNUT = os.environ.get("WNUT17", "/work/shared/data/wnut17")


def sentences(path):
    out, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip(" \t"):
                if cur:
                    out.append(cur)
                cur = []
            else:
                cur.append(line.split("\t"))
    if cur:
        out.append(cur)
    return out


def make(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(0)
    vocab = os.path.join(root, "vocab/bert-base-uncased.txt")
    with open(vocab) as f:
        V = sum(1 for _ in f)
    config = ElectraConfig(vocab_size=V, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=512)
    disc = os.path.join(d, "disc")
    ElectraForPreTraining(config).save_pretrained(disc)
    ElectraTokenizer(vocab_file=vocab, do_lower_case=True).save_pretrained(disc)
    shutil.copy(vocab, os.path.join(disc, "vocab.txt"))
    with open(os.path.join(d, "train.conll"), "w", encoding="utf-8") as f:
        for s in sentences(os.path.join(WNUT, "wnut17train.conll"))[:600]:
            f.write("".join("\t".join(fields) + "\n" for fields in s) + "\n")
    print(f"wrote {disc} (random ElectraForPreTraining, vocabulary {V}) and {d}/train.conll (600 WNUT-17 sentences)")


def check(d):
    export = os.path.join(d, "export")
    model, info = ElectraForTokenClassification.from_pretrained(export, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        sys.exit(f"loading {export}: {problems}")
    tagger = pipeline("token-classification", model=model, tokenizer=export, aggregation_strategy="none", ignore_labels=[],
                   device=-1)
    ours = sentences(os.path.join(d, "pred.conll"))
    K = model.config.num_labels
    words = differ = entities = 0
    worst = 0.0
    for s in ours:
        text, starts = "", []
        for fields in s:
            if text:
                text += " "
            starts.append((len(text), len(text) + len(fields[0])))
            text += fields[0]
        tokens = tagger(text)
        for (b, e), fields in zip(starts, s):
            first = next((t for t in tokens if b <= t["start"] < e), None)
            theirs = first["entity"] if first else "O"
            tag, logits = fields[-K - 1], fields[-K:]
            words += 1
            entities += theirs != "O"
            score_diff = 0.0
            if first and logits[0] != "-":
                z = [float(x) for x in logits]
                m = max(z)
                p = math.exp(z[model.config.label2id[tag]] - m) / sum(math.exp(x - m) for x in z)
                score_diff = abs(p - first["score"])
                worst = max(worst, score_diff)
            if theirs != tag or score_diff > 1e-4:
                differ += 1
                if differ <= 10:
                    print(f"differs: {fields[0]!r} ours {tag} transformers {theirs} (score diff {score_diff:.2e}) in: {text[:80]}")
    print(f"tagging proof: export loads with no missing or unexpected weights; {len(ours)} sentences, {words} words "
          f"({entities} tagged other than O): {differ} differ from the pipeline; largest score difference {worst:.2e}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
