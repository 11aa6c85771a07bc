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
torch INIT OUT SEED [lr epochs batch]: (DROPOUT=p in the environment: that dropout) fine-tunes INIT in PyTorch exactly as electra-train finetune
  does (same rows in the same order per epoch: the xoshiro256** Fisher-Yates shuffle of
  FineTuning/epochOrder; same layer-wise AdamW of google-research/electra; same schedule, batch,
  sequence length, dropout 0.1, and the very dropout masks ours draws: SharedDropoutMasks;
  SAME_DROPOUT=0 in the environment leaves PyTorch its own), evaluates dev accuracy after every
  epoch, writes OUT (JSON).
table DIR: the table of the three arms (a: ours from the pre-trained discriminator, b: ours from
  random initialization, c: PyTorch from the same export), per seed and mean, with tokens/s.
"""
import csv, importlib.resources, json, os, random, re, shutil, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import GAMMA, Xoshiro256, derived_key, splitmix64  # noqa: E402


def epoch_order(n, seed, epoch):
    rng, order = Xoshiro256(seed, 0x64617461 + epoch), list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.uniform(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


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


class SharedDropoutMasks:
    """electra-train finetune's dropout masks, so that the PyTorch side drops exactly the elements ours
    drops. Kernels/Dropout: element i of a site's tensor is dropped when its 16 bits of
    SplitMix64(seed + (i / 4) * gamma) fall below round(p * 65536), kept ones scaled by 1/(1-p). The
    step's key is one draw of Xoshiro256(seed, stream "drop"); the sites (SequenceClassifier and
    Encoder): the encoder's key derived_key(key, 1), its embeddings (site 0), each layer l's attention
    probabilities (3l+1), attention output (3l+2) and feed-forward output (3l+3); the head's two
    dropouts derived_key(key, 2) and derived_key(key, 3). Element indices are those of the row-major
    [B, L, E], [B, heads, L, L], [B, L, H] and [B, H] tensors, so a last batch with fewer rows (ours pads
    it with dummy rows) sees the same mask rows."""

    def __init__(self, seed, p):
        import numpy as np
        self.np, self.p = np, p
        self.rng = Xoshiro256(seed, 0x64726F70)
        self.threshold = round(p * 65536)
        self.keep = np.float32(1) / (np.float32(1) - np.float32(p))
        self.key, self.head_calls = 0, 0

    def next_step(self):
        self.key = self.rng.next()
        self.head_calls = 0

    def scale(self, seed, shape):
        import torch
        np = self.np
        n = 1
        for d in shape:
            n *= d
        g = np.arange((n + 3) // 4, dtype=np.uint64)
        with np.errstate(over="ignore"):
            z = splitmix64(np.uint64(seed) + g * np.uint64(GAMMA))
        lanes = np.stack([(z >> np.uint64(16 * k)) & np.uint64(0xFFFF) for k in range(4)], axis=1).reshape(-1)[:n]
        return torch.from_numpy(np.where(lanes >= self.threshold, self.keep, np.float32(0)).astype(np.float32).reshape(shape))

    def encoder_seed(self, site):
        return derived_key(derived_key(self.key, 1), site)

    def install(self, model):
        """Replaces every dropout of an ElectraForSequenceClassification (eager attention) by these masks."""
        import torch
        from transformers.models.electra import modeling_electra
        masks = self

        class Site(torch.nn.Module):
            def __init__(self, seed_of):
                super().__init__()
                self.seed_of = seed_of

            def forward(self, x):
                return x * masks.scale(self.seed_of(), tuple(x.shape)) if self.training else x

        def head_seed():
            masks.head_calls += 1   # the head calls its dropout twice: before dense, after GELU
            return derived_key(masks.key, 2 if masks.head_calls == 1 else 3)

        model.electra.embeddings.dropout = Site(lambda: masks.encoder_seed(0))
        for l, layer in enumerate(model.electra.encoder.layer):
            layer.attention.output.dropout = Site(lambda l=l: masks.encoder_seed(3 * l + 2))
            layer.output.dropout = Site(lambda l=l: masks.encoder_seed(3 * l + 3))
        model.classifier.dropout = Site(head_seed)

        def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
            if scaling is None:
                scaling = query.size(-1) ** -0.5
            weights = torch.matmul(query, key.transpose(2, 3)) * scaling
            if attention_mask is not None:
                weights = weights + attention_mask
            weights = torch.nn.functional.softmax(weights, dim=-1)
            if module.training and dropout > 0:
                weights = weights * masks.scale(masks.encoder_seed(3 * module.layer_idx + 1), tuple(weights.shape))
            return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights

        # ElectraSelfAttention looks the eager function up in its module at each call.
        modeling_electra.eager_attention_forward = attention


def depth(name, layers):
    if name.startswith("classifier."):
        return layers + 2
    m = re.match(r"electra\.encoder\.layer\.(\d+)\.", name)
    return int(m.group(1)) + 1 if m else 0


def finetune_torch(init_dir, out, seed, lr=1e-4, epochs=3, batch=32, decay=0.8, wd=0.01, warmup=0.1, max_length=128):
    import torch
    from transformers import AutoTokenizer, ElectraForSequenceClassification
    seed, lr, epochs, batch = int(seed), float(lr), int(epochs), int(batch)
    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    d = os.path.dirname(out)
    train, dev = read_tsv(os.path.join(d, "train.tsv")), read_tsv(os.path.join(d, "dev.tsv"))
    tok = AutoTokenizer.from_pretrained(init_dir)
    model = ElectraForSequenceClassification.from_pretrained(init_dir, attn_implementation="eager")
    if "DROPOUT" in os.environ:   # as electra-train finetune --dropout: every dropout of the model
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = float(os.environ["DROPOUT"])
    p = model.config.hidden_dropout_prob if "DROPOUT" not in os.environ else float(os.environ["DROPOUT"])
    masks = None
    if p > 0 and os.environ.get("SAME_DROPOUT", "1") != "0":   # ours' masks; SAME_DROPOUT=0: torch's own
        masks = SharedDropoutMasks(seed, p)
        masks.install(model)
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

    named = list(model.named_parameters())
    layers = model.config.num_hidden_layers
    factor = {n: decay ** (layers + 2 - depth(n, layers)) for n, _ in named}
    decays = {n: not re.search("LayerNorm|layer_norm|bias", n) for n, _ in named}
    m = {n: torch.zeros_like(p) for n, p in named}
    v = {n: torch.zeros_like(p) for n, p in named}
    steps_per_epoch = (len(xtrain) + batch - 1) // batch
    total = steps_per_epoch * epochs
    warm = int(total * warmup)
    step, tokens, seconds, history = 0, 0, 0.0, []
    for epoch in range(epochs):
        order = epoch_order(len(xtrain), seed, epoch)
        model.train()
        for i in range(steps_per_epoch):
            start = time.time()
            rows = order[i * batch:(i + 1) * batch]
            ids, att = tensors([xtrain[r] for r in rows])
            y = torch.tensor([ytrain[r] for r in rows])
            model.zero_grad()
            if masks:
                masks.next_step()
            loss = model(input_ids=ids, attention_mask=att, token_type_ids=torch.zeros_like(ids), labels=y).loss
            loss.backward()
            with torch.no_grad():
                norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for _, p in named)).item()
                clip = 1.0 / max(norm, 1.0)
                base = lr * (1 - min(step, total) / total) * (min(1.0, step / warm) if warm > 0 else 1.0)
                for n, p in named:
                    g = p.grad * clip
                    m[n].mul_(0.9).add_(0.1 * g)
                    v[n].mul_(0.999).add_(0.001 * g * g)
                    update = m[n] / (v[n].sqrt() + 1e-6)
                    if decays[n]:
                        update = update + wd * p
                    p.sub_(base * factor[n] * update)
            seconds += time.time() - start
            tokens += int(att.sum())
            step += 1
        model.eval()
        pred = []
        with torch.no_grad():
            for i in range(0, len(xdev), 128):
                ids, att = tensors(xdev[i:i + 128])
                pred += model(input_ids=ids, attention_mask=att, token_type_ids=torch.zeros_like(ids)).logits.argmax(-1).tolist()
        history.append(sum(int(p == y) for p, y in zip(pred, ydev)) / len(ydev))
        print(f"torch seed {seed} epoch {epoch + 1}: dev accuracy {history[-1]:.4f}")
    json.dump({"accuracy": history, "tokens_per_second": tokens / seconds, "steps": step, "seq_length": L}, open(out, "w"))


def table(d):
    def ours(run):
        lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
        evals = [l["accuracy"] for l in lines if l["kind"] == "eval"]
        train = [l for l in lines if l["kind"] == "train"]
        tps = sum(l["tokens_per_second"] for l in train) / max(len(train), 1)
        return evals, tps
    arms = {"a": [], "b": [], "c": []}
    seeds = sorted({int(m.group(1)) for x in os.listdir(d) if (m := re.fullmatch(r"c-(\d+)\.json", x))})
    for s in seeds:
        arms["a"].append(ours(os.path.join(d, f"a-{s}")))
        arms["b"].append(ours(os.path.join(d, f"b-{s}")))
        c = json.load(open(os.path.join(d, f"c-{s}.json")))
        arms["c"].append((c["accuracy"], c["tokens_per_second"]))
    names = {"a": "(a) electra-swift, pre-trained", "b": "(b) electra-swift, random init", "c": "(c) PyTorch, pre-trained"}
    print("| arm | " + " | ".join(f"seed {s}" for s in seeds) + " | mean dev accuracy (last epoch) | tokens/s |")
    print("|---|" + "---|" * len(seeds) + "---|---|")
    means = {}
    for k, runs in arms.items():
        last = [r[0][-1] * 100 for r in runs]
        means[k] = sum(last) / len(last)
        print(f"| {names[k]} | " + " | ".join(f"{x:.1f}" for x in last) + f" | {means[k]:.2f} | {sum(r[1] for r in runs) / len(runs):.0f} |")
    print(f"(a) - (c) = {means['a'] - means['c']:+.2f} points (goal: within 1); (a) - (b) = {means['a'] - means['b']:+.2f} points (goal: > 0)")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"data": data, "init": init, "torch": finetune_torch, "table": table}[command](*args)
