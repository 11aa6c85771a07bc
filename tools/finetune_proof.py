"""The fine-tuning export against transformers (tools/finetune-proof.sh runs it around electra-train).

make DIR: a tiny random ElectraForPreTraining folder (DIR/disc, with the tokenizer files of
  vocab/bert-base-uncased.txt) and a generated sentence-pair task (DIR/train.tsv, DIR/dev.tsv with
  100 rows, header a<TAB>b<TAB>label): "yes" when the two sentences share their subject.
check DIR: loads DIR/export with ElectraForSequenceClassification.from_pretrained (no missing or
  unexpected weights allowed), tokenizes DIR/dev.tsv with the export's own tokenizer and compares
  every logit with DIR/pred.tsv (electra-train predict --logits) within 1e-4, and the labels.
"""
import csv, os, random, shutil, sys
import numpy as np
import torch
from transformers import AutoTokenizer, ElectraConfig, ElectraForPreTraining, ElectraForSequenceClassification, ElectraTokenizer

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBJECTS = ["the king", "a shepherd", "the people", "my brother", "the prophet", "a stranger", "the city", "his servant"]
VERBS = ["went up to", "spoke unto", "looked upon", "gave bread to", "built a house for", "walked with", "sent word to"]
OBJECTS = ["the temple", "the river", "the mountain", "the gate", "the field", "the elders", "the children", "the sea"]


def sentence(rng, subject=None):
    return f"{subject or rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"


def rows(rng, n):
    out = []
    for _ in range(n):
        s = rng.choice(SUBJECTS)
        same = rng.random() < 0.5
        other = s if same else rng.choice([x for x in SUBJECTS if x != s])
        out.append((sentence(rng, s), sentence(rng, other), "yes" if same else "no"))
    return out


def make(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(0)
    vocab = os.path.join(root, "vocab/bert-base-uncased.txt")
    with open(vocab) as f:
        V = sum(1 for _ in f)
    config = ElectraConfig(vocab_size=V, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=128)
    disc = os.path.join(d, "disc")
    ElectraForPreTraining(config).save_pretrained(disc)
    tokenizer = ElectraTokenizer(vocab_file=vocab, do_lower_case=True)
    tokenizer.save_pretrained(disc)
    shutil.copy(vocab, os.path.join(disc, "vocab.txt"))       # transformers 5 may save tokenizer.json only
    rng = random.Random(0)
    for name, n in (("train.tsv", 400), ("dev.tsv", 100)):
        with open(os.path.join(d, name), "w") as f:
            f.write("a\tb\tlabel\n")
            for a, b, y in rows(rng, n):
                f.write(f"{a}\t{b}\t{y}\n")
    print(f"wrote {disc} (random ElectraForPreTraining, vocabulary {V}) and {d}/train.tsv, {d}/dev.tsv")


def check(d):
    export = os.path.join(d, "export")
    model, info = ElectraForSequenceClassification.from_pretrained(export, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    assert not problems, f"loading {export}: {problems}"
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(export)
    with open(os.path.join(d, "dev.tsv")) as f:
        dev = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    with open(os.path.join(d, "pred.tsv")) as f:
        pred = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, pred = pred[0], pred[1:]
    assert len(pred) == len(dev), f"{len(pred)} predictions for {len(dev)} dev rows"
    logit_columns = [i for i, h in enumerate(header) if h.startswith("logit_")]
    worst = 0.0
    for (a, b, _), p in zip(dev, pred):
        enc = tokenizer(a, b, truncation="longest_first", max_length=128, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0].numpy()
        ours = np.array([float(p[i]) for i in logit_columns])
        worst = max(worst, float(np.abs(ours - logits).max()))
        assert model.config.id2label[int(logits.argmax())] == p[1], f"row {p[0]}: transformers says {logits}, we say {p}"
    assert worst < 1e-4, f"largest logit difference {worst:.2e}"
    print(f"{export}: loads as ElectraForSequenceClassification with no missing or unexpected weights; "
          f"{len(dev)} dev rows: same labels, largest logit difference {worst:.2e} (limit 1e-4)")


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
