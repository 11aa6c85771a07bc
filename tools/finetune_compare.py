"""Does pre-training help, and do we fine-tune as well as PyTorch? (tools/finetune-compare.sh runs it.)

Tasks (data OUT [TASK]):
  kjv (default): which part of the Bible a verse comes from, six classes (law: Genesis-Deuteronomy,
    history: Joshua-Esther, wisdom: Job-Song of Solomon, prophets: Isaiah-Malachi, gospels:
    Matthew-Acts, letters: Romans-Revelation), from Debian's bible-kjv package (the King James
    Bible, public domain; the book of each verse is the package's own reference, not ours). The
    task's verses come from held-out chapters (every 8th chapter, from the 4th: 149 of 1,189),
    alternately train and dev by chapter; OUT/pretrain.txt is the rest of the Bible in the sample
    corpus's format (a chapter per document), so pre-training never sees a task verse.
  vader: word polarity from the VADER sentiment lexicon that PyPI's vaderSentiment 3.3.2 ships
    (vaderSentiment/vader_lexicon.txt, MIT license; each entry's mean valence from 10 human
    raters): the alphabetic entries, "pos" when the mean is > 0, "neg" otherwise; a seeded
    1,000-row dev split.

data OUT [TASK]: writes OUT/train.tsv and OUT/dev.tsv (header text<TAB>label), and for kjv OUT/pretrain.txt.
init DISC OUT SEED: OUT, an ElectraForSequenceClassification folder: the discriminator DISC with a
  classification head drawn by transformers with torch seed SEED (both sides start from it); the
  labels are train.tsv's beside OUT, sorted (as electra-train finetune orders them).
torch INIT OUT SEED [lr epochs batch]: (DROPOUT=p in the environment: that dropout) fine-tunes INIT in PyTorch exactly as
  electra-train finetune does (tools/finetune_torch.py: same rows in the same order per epoch, same
  layer-wise AdamW, schedule, batch, sequence length, dropout 0.1 and the very dropout masks ours
  draws; SAME_DROPOUT=0 leaves PyTorch its own), evaluates dev accuracy after every epoch, writes OUT (JSON).
table DIR: the table of the three arms (a: ours from the pre-trained discriminator, b: ours from
  random initialization, c: PyTorch from the same export), per seed and mean, with tokens/s and wall time.
"""
import csv, importlib.resources, json, os, random, re, shutil, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from finetune_torch import first_losses, fit, ours_tokens_per_second, print_table  # noqa: E402


def read_tsv(path):
    with open(path) as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


DIVISIONS = [("law", "Genesis"), ("history", "Joshua"), ("wisdom", "Job"), ("prophets", "Isaiah"),
             ("gospels", "Matthew"), ("letters", "Romans")]


def kjv_chapters():
    """[(book, [verse, ...])] for the 1,189 chapters, from the `bible` command of Debian's bible-kjv."""
    import subprocess
    out = subprocess.run(["bible", "-l100000", "gen1:1-rev22:21"], check=True, capture_output=True, text=True).stdout
    chapters = []
    for line in out.splitlines():
        if m := re.fullmatch(r"\s+\d+ (.*)", line):
            chapters[-1][1].append(m.group(1))
        elif m := re.fullmatch(r"(\S.*) \d+", line):
            chapters.append((m.group(1), []))
    return chapters


def data_kjv(out):
    chapters = kjv_chapters()
    assert len(chapters) == 1189, f"bible-kjv gave {len(chapters)} chapters, expected 1,189"
    division, label = {}, None
    for book, _ in chapters:
        label = next((name for name, first in DIVISIONS if first == book), label)
        division[book] = label
    os.makedirs(out, exist_ok=True)
    parts = {"train.tsv": [], "dev.tsv": []}
    with open(os.path.join(out, "pretrain.txt"), "w") as f:
        for i, (book, verses) in enumerate(chapters):
            if i % 8 == 3:
                parts["train.tsv" if i % 16 == 3 else "dev.tsv"] += [(v, division[book]) for v in verses]
            else:
                f.write("\n".join(verses) + "\n\n")
    for name, rows in parts.items():
        with open(os.path.join(out, name), "w") as f:
            f.write("text\tlabel\n")
            f.writelines(f"{v}\t{y}\n" for v, y in rows)
    counts = {name: sum(y == name for _, y in parts["dev.tsv"]) for name, _ in DIVISIONS}
    print(f"KJV divisions: {len(parts['train.tsv'])} train and {len(parts['dev.tsv'])} dev verses from 149 held-out chapters "
          f"(dev: {counts}); the other 1,040 chapters in {out}/pretrain.txt")


def data(out, task="kjv"):
    if task == "kjv":
        return data_kjv(out)
    assert task == "vader", f"unknown task {task} (kjv or vader)"
    text = importlib.resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8", errors="replace")
    rows = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and re.fullmatch(r"[a-z]+", fields[0]):
            rows.append((fields[0], "pos" if float(fields[1]) > 0 else "neg"))
    random.Random(0).shuffle(rows)
    os.makedirs(out, exist_ok=True)
    for name, part in (("dev.tsv", rows[:1000]), ("train.tsv", rows[1000:])):
        with open(os.path.join(out, name), "w") as f:
            f.write("text\tlabel\n")
            f.writelines(f"{w}\t{y}\n" for w, y in part)
    print(f"VADER lexicon: {len(rows)} alphabetic entries ({sum(y == 'pos' for _, y in rows)} positive); "
          f"{len(rows) - 1000} train, 1000 dev in {out}")


def init(disc, out, seed):
    import torch
    from transformers import ElectraForSequenceClassification
    torch.manual_seed(int(seed))
    names = sorted({y for _, y in read_tsv(os.path.join(os.path.dirname(out), "train.tsv"))})
    model = ElectraForSequenceClassification.from_pretrained(disc, num_labels=len(names), id2label=dict(enumerate(names)),
                                                             label2id={y: i for i, y in enumerate(names)})
    model.save_pretrained(out)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(disc, name), os.path.join(out, name))


def finetune_torch(init_dir, out, seed, lr=1e-4, epochs=3, batch=32, max_length=128):
    import torch
    from transformers import AutoTokenizer, ElectraForSequenceClassification
    seed, lr, epochs, batch = int(seed), float(lr), int(epochs), int(batch)
    d = os.path.dirname(out)
    train, dev = read_tsv(os.path.join(d, "train.tsv")), read_tsv(os.path.join(d, "dev.tsv"))
    tok = AutoTokenizer.from_pretrained(init_dir)
    model = ElectraForSequenceClassification.from_pretrained(init_dir, attn_implementation="eager")
    labels = model.config.label2id
    enc = lambda rows: [tok(w, truncation=True, max_length=max_length)["input_ids"] for w, _ in rows]
    xtrain, xdev = enc(train), enc(dev)
    ytrain, ydev = [labels[y] for _, y in train], [labels[y] for _, y in dev]
    L = max(len(x) for x in xtrain + xdev)

    def tensors(xs):   # padded to the longest example of the task, as electra-train finetune pads
        ids = torch.zeros(len(xs), L, dtype=torch.long)
        att = torch.zeros(len(xs), L, dtype=torch.long)
        for i, x in enumerate(xs):
            ids[i, :len(x)] = torch.tensor(x)
            att[i, :len(x)] = 1
        return ids, att

    def loss_of(rows):
        ids, att = tensors([xtrain[r] for r in rows])
        y = torch.tensor([ytrain[r] for r in rows])
        return model(input_ids=ids, attention_mask=att, token_type_ids=torch.zeros_like(ids), labels=y).loss, int(att.sum())

    def evaluate():
        pred = []
        for i in range(0, len(xdev), 128):
            ids, att = tensors(xdev[i:i + 128])
            pred += model(input_ids=ids, attention_mask=att, token_type_ids=torch.zeros_like(ids)).logits.argmax(-1).tolist()
        return sum(int(p == y) for p, y in zip(pred, ydev)) / len(ydev)

    start = time.time()
    result = fit(model, len(xtrain), seed, lr, epochs, batch, loss_of, evaluate)
    result["accuracy"] = result.pop("metric")
    json.dump(dict(result, seconds=time.time() - start, seq_length=L), open(out, "w"))


def table(d):
    def ours(run):
        lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
        evals = [l["accuracy"] for l in lines if l["kind"] == "eval"]
        train = [l for l in lines if l["kind"] == "train"]
        return evals[-1] * 100, ours_tokens_per_second(lines), train[-1].get("elapsed_seconds") if train else None
    seeds = sorted({int(m.group(1)) for x in os.listdir(d) if (m := re.fullmatch(r"c-(\d+)\.json", x))})
    arms = {"a": [], "b": [], "c": []}
    for s in seeds:
        arms["a"].append(ours(os.path.join(d, f"a-{s}")))
        arms["b"].append(ours(os.path.join(d, f"b-{s}")))
        c = json.load(open(os.path.join(d, f"c-{s}.json")))
        with_masks = (c["tokens_per_second_with_masks"],) if "tokens_per_second_with_masks" in c else ()   # older runs lack it
        arms["c"].append((c["accuracy"][-1] * 100, c["tokens_per_second"], c.get("seconds")) + with_masks)
    print_table(seeds, arms, "dev accuracy")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"data": data, "init": init, "torch": finetune_torch, "table": table}[command](*args)
