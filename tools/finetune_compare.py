"""Does pre-training help, and do we fine-tune as well as PyTorch? (tools/finetune-compare.sh runs it.)

Task: word polarity from the VADER sentiment lexicon that PyPI's vaderSentiment 3.3.2 ships
(vaderSentiment/vader_lexicon.txt, MIT license; each entry's mean valence from 10 human raters):
the alphabetic entries, "pos" when the mean is > 0, "neg" otherwise; a seeded 1,000-row dev split.

data OUT: writes OUT/train.tsv and OUT/dev.tsv (header text<TAB>label).
init DISC OUT SEED: OUT, an ElectraForSequenceClassification folder: the discriminator DISC with a
  classification head drawn by transformers with torch seed SEED (both sides start from it).
torch INIT OUT SEED [lr epochs batch]: fine-tunes INIT in PyTorch exactly as electra-train finetune
  does (same rows in the same order per epoch: the xoshiro256** Fisher-Yates shuffle of
  FineTuning/epochOrder; same layer-wise AdamW of google-research/electra; same schedule, batch,
  sequence length, dropout 0.1), evaluates dev accuracy after every epoch, writes OUT (JSON).
table DIR: the table of the three arms (a: ours from the pre-trained discriminator, b: ours from
  random initialization, c: PyTorch from the same export), per seed and mean, with tokens/s.
"""
import csv, importlib.resources, json, os, random, re, shutil, sys, time

M64 = (1 << 64) - 1


class Xoshiro256:
    """The Swift Randomness/Xoshiro256 (SplitMix64 seeding, xoshiro256**, Lemire's bounded ints)."""

    def __init__(self, seed, stream=None):
        if stream is not None:
            seed ^= (stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & M64
        x, s = seed & M64, []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            s.append(z ^ (z >> 31))
        self.s = s

    def next(self):
        s0, s1, s2, s3 = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        self.s = [s0, s1, s2, rotl(s3, 45)]
        return result

    def uniform(self, bound):
        m = self.next() * bound
        if (m & M64) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (m & M64) < threshold:
                m = self.next() * bound
        return m >> 64


def epoch_order(n, seed, epoch):
    rng, order = Xoshiro256(seed, 0x64617461 + epoch), list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.uniform(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def read_tsv(path):
    with open(path) as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


def data(out):
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
    model = ElectraForSequenceClassification.from_pretrained(disc, num_labels=2, id2label={0: "neg", 1: "pos"},
                                                             label2id={"neg": 0, "pos": 1})
    model.save_pretrained(out)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(disc, name), os.path.join(out, name))


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
    model = ElectraForSequenceClassification.from_pretrained(init_dir)
    labels = {"neg": 0, "pos": 1}
    enc = lambda rows: [tok(w, truncation=True, max_length=max_length)["input_ids"] for w, _ in rows]
    xtrain, xdev = enc(train), enc(dev)
    ytrain, ydev = [labels[y] for _, y in train], [labels[y] for _, y in dev]
    L = max(len(x) for x in xtrain + xdev)

    def tensors(xs):
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
        ids, att = tensors(xdev)
        with torch.no_grad():
            pred = model(input_ids=ids, attention_mask=att, token_type_ids=torch.zeros_like(ids)).logits.argmax(-1).tolist()
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
