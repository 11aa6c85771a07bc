"""Does pre-training help, and do we fine-tune as well as PyTorch, on question answering and tagging?
(tools/finetune-compare-tokens.sh runs it; tools/finetune_compare.py is its classification twin.)

Tasks:
  xquad: XQuAD's English articles 1-32 (/work/shared/data/xquad, SQuAD v1.1 JSON, CC BY-SA 4.0,
    Artetxe et al. 2020) split by article: 1-24 OUT/train.json, 25-32 OUT/dev.json (as
    tools/qa_proof.py splits them); the metric is the official v1.1 F1.
  wnut17: WNUT-17 (/work/shared/data/wnut17, CC BY 4.0, Derczynski et al. 2017), its train and dev
    files as they are; the metric is entity F1 as seqeval computes it (default mode, micro average).

data OUT TASK: writes the xquad split (wnut17 is read where it is).
init DISC OUT SEED TASK: OUT, an ElectraForQuestionAnswering (xquad) or ElectraForTokenClassification
  (wnut17: the training file's tags, sorted, as electra-train finetune orders them) folder: the
  discriminator DISC with a head drawn by transformers with torch seed SEED (both sides start from it).
torch INIT OUT SEED TASK [lr epochs batch max_len doc_stride]: fine-tunes INIT in PyTorch as
  electra-train finetune does (tools/finetune_torch.py), on the same features: xquad windows as
  FineTuning/squadFeatures builds them (question cut to 64 tokens, context windows overlapping by
  doc_stride tokens, labels from the tokenizer's offsets), wnut17 words tokenized one by one with
  the label on the first sub-token; every batch padded to the longest feature of train and dev.
  Dev after every epoch: xquad through FineTuning/squadPredictions' post-processing (utils_qa's:
  n-best 20, max answer length 30, best over windows) and the v1.1 evaluation; wnut17 each word's
  argmax at its first sub-token ("O" for a word without a token) scored by seqeval. Writes OUT (JSON).
  max_len: finetune's --max-seq-length (xquad) or --max-length (wnut17).
check RUN EXPORT TASK [max_len doc_stride]: the Python evaluation of this file run on our
  export of run RUN must give RUN's best dev metric (metrics.jsonl): the PyTorch arm is scored as ours is.
table DIR TASK: the three arms (a: ours from the pre-trained discriminator, b: ours from random
  initialization, c: PyTorch from the same export) per seed and mean, with tokens/s and wall time.
"""
import collections, json, os, re, shutil, string, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from finetune_torch import first_losses, fit, ours_tokens_per_second, print_table  # noqa: E402

XQUAD = os.environ.get("XQUAD", "/work/shared/data/xquad/xquad.en.articles-1-32.json")
WNUT = os.environ.get("WNUT17", "/work/shared/data/wnut17")
MAX_QUERY, N_BEST, MAX_ANSWER = 64, 20, 30


def files(d, task):
    if task == "xquad":
        return os.path.join(d, "train.json"), os.path.join(d, "dev.json")
    return os.path.join(WNUT, "wnut17train.conll"), os.path.join(WNUT, "emerging.dev.conll")


def data(out, task):
    os.makedirs(out, exist_ok=True)
    if task == "xquad":
        articles = json.load(open(XQUAD, encoding="utf-8"))["data"]
        for name, part in (("train", articles[:24]), ("dev", articles[24:32])):
            path = os.path.join(out, f"{name}.json")
            with open(path + f".{os.getpid()}", "w", encoding="utf-8") as f:
                json.dump({"version": "1.1", "data": part}, f, ensure_ascii=False)
            os.replace(path + f".{os.getpid()}", path)   # atomic: runs of other seeds may be reading it
        print(f"XQuAD split by article: 1-24 {out}/train.json, 25-32 {out}/dev.json")


def sentences(path):
    """[(words, tags)] of a CoNLL file (FineTuning/readConllFile on WNUT-17: tab-separated, blank or
    whitespace-only lines between sentences)."""
    out, cur = [], []
    for line in open(path, encoding="utf-8").read().split("\n"):
        line = line.rstrip("\r")
        if not line.strip(" \t"):
            if cur:
                out.append(([w for w, _ in cur], [t.strip() for _, t in cur]))
            cur = []
        elif not line.startswith("-DOCSTART-"):
            f = line.split("\t")
            cur.append((f[0], f[-1]))
    if cur:
        out.append(([w for w, _ in cur], [t.strip() for _, t in cur]))
    return out


def tags_of(d):
    return sorted({t for _, tags in sentences(files(d, "wnut17")[0]) for t in tags})


def init(disc, out, seed, task):
    import torch
    from transformers import ElectraForQuestionAnswering, ElectraForTokenClassification
    torch.manual_seed(int(seed))
    if task == "xquad":
        model = ElectraForQuestionAnswering.from_pretrained(disc)
    else:
        names = tags_of(os.path.dirname(out))
        model = ElectraForTokenClassification.from_pretrained(disc, num_labels=len(names), id2label=dict(enumerate(names)),
                                                              label2id={y: i for i, y in enumerate(names)})
    model.save_pretrained(out)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if os.path.exists(os.path.join(disc, name)):
            shutil.copy(os.path.join(disc, name), os.path.join(out, name))


# ---- question answering: FineTuning/Squad.swift's windows and post-processing, the v1.1 evaluation

def squad_examples(path):
    return [(qa["id"], qa["question"], p["context"], [(a["text"], a["answer_start"]) for a in qa["answers"]])
            for article in json.load(open(path, encoding="utf-8"))["data"] for p in article["paragraphs"] for qa in p["qas"]]


def squad_features(tok, examples, max_seq, stride):
    """[(example, ids, segments, offsets, start, end)]: FineTuning/squadFeatures."""
    cls, sep = tok.cls_token_id, tok.sep_token_id
    out = []
    for index, (_, question, context, answers) in enumerate(examples):
        q = tok(question, add_special_tokens=False)["input_ids"][:MAX_QUERY]
        c = tok(context, add_special_tokens=False, return_offsets_mapping=True)
        cids, coffs = c["input_ids"], c["offset_mapping"]
        room = max_seq - len(q) - 3
        assert room > 0 and (len(cids) <= room or stride < room), "windows do not fit"
        answer = (answers[0][1], answers[0][1] + len(answers[0][0])) if answers else None
        start = 0
        while True:
            end = min(start + room, len(cids))
            ids = [cls] + q + [sep] + cids[start:end] + [sep]
            segments = [0] * (len(q) + 2) + [1] * (end - start + 1)
            offsets = [None] * (len(q) + 2) + list(coffs[start:end]) + [None]
            first, n = len(q) + 2, end - start
            label = (0, 0)
            if answer and n > 0 and coffs[start][0] <= answer[0] and coffs[end - 1][1] >= answer[1]:
                a = first
                while a < first + n and offsets[a][0] <= answer[0]:
                    a += 1
                b = first + n - 1
                while b >= first and offsets[b][1] >= answer[1]:
                    b -= 1
                label = (a - 1, b + 1)
            out.append((index, ids, segments, offsets, label[0], label[1]))
            if end == len(cids):
                break
            start = end - stride
    return out


def squad_predictions(examples, features, logits):
    """FineTuning/squadPredictions for v1.1; logits[f]: (start, end) arrays over feature f's tokens."""
    import numpy as np
    windows = collections.defaultdict(list)
    for f, feature in enumerate(features):
        windows[feature[0]].append(f)
    predictions = {}
    for index, (qid, _, context, _) in enumerate(examples):
        prelim = []
        for f in windows[index]:
            offsets = features[f][3]
            s_logits, e_logits = logits[f]
            top = lambda x: np.argsort(x, kind="stable")[::-1][:N_BEST]   # ties: the later index first
            for s in top(s_logits):
                for e in top(e_logits):
                    if offsets[s] is None or offsets[e] is None or e < s or e - s + 1 > MAX_ANSWER:
                        continue
                    prelim.append((float(s_logits[s]) + float(e_logits[e]), offsets[s][0], max(offsets[s][0], offsets[e][1])))
        prelim.sort(key=lambda x: -x[0])   # stable: equal scores keep their order
        text = context[prelim[0][1]:prelim[0][2]] if prelim else ""
        predictions[qid] = "empty" if not prelim or (len(prelim) == 1 and not text) else text
    return predictions


def normalize_answer(s):
    """The official SQuAD evaluation's normalisation (ported as FineTuning/SquadMetrics)."""
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def squad_f1(examples, predictions):
    """The official v1.1 F1 (max over the reference answers, mean over the questions, in %)."""
    def f1(prediction, truth):
        p, t = normalize_answer(prediction).split(), normalize_answer(truth).split()
        same = sum((collections.Counter(p) & collections.Counter(t)).values())
        return 0 if same == 0 else 2 * (same / len(p)) * (same / len(t)) / (same / len(p) + same / len(t))
    return 100 * sum(max(f1(predictions[qid], a) for a, _ in answers) for qid, _, _, answers in examples) / len(examples)


# ---- both tasks

def task_setup(model_dir, d, task, max_len, stride):
    """The model (eager attention), the training and dev tensors' makers, the loss and the dev metric."""
    import torch
    from seqeval.metrics import f1_score
    from transformers import AutoTokenizer, ElectraForQuestionAnswering, ElectraForTokenClassification
    tok = AutoTokenizer.from_pretrained(model_dir)
    train_file, dev_file = files(d, task)
    if task == "xquad":
        model = ElectraForQuestionAnswering.from_pretrained(model_dir, attn_implementation="eager")
        dev_examples = squad_examples(dev_file)
        train, dev = squad_features(tok, squad_examples(train_file), max_len, stride), squad_features(tok, dev_examples, max_len, stride)
    else:
        model = ElectraForTokenClassification.from_pretrained(model_dir, attn_implementation="eager")
        labels = model.config.label2id

        def encode(words, tags):   # FineTuning/TaggingEncoder
            ids, y, starts, room = [tok.cls_token_id], [-100], [], max_len - 1   # room: [SEP]
            for w, t in zip(words, tags):
                pieces = tok(w, add_special_tokens=False)["input_ids"]
                if not pieces or len(ids) >= room:
                    starts.append(-1)
                    continue
                starts.append(len(ids))
                for i, p in enumerate(pieces[:room - len(ids)]):
                    ids.append(p)
                    y.append(labels[t] if i == 0 else -100)
            return (ids + [tok.sep_token_id], y + [-100], starts)
        dev_sentences = sentences(dev_file)
        train = [encode(*s) for s in sentences(train_file)]
        dev = [encode(*s) for s in dev_sentences]
    L = max(len(f[1] if task == "xquad" else f[0]) for f in train + dev)

    def tensors(fs):
        ids, seg, att = (torch.zeros(len(fs), L, dtype=torch.long) for _ in range(3))
        for i, f in enumerate(fs):
            x = f[1] if task == "xquad" else f[0]
            ids[i, :len(x)] = torch.tensor(x)
            att[i, :len(x)] = 1
            if task == "xquad":
                seg[i, :len(x)] = torch.tensor(f[2])
        return dict(input_ids=ids, attention_mask=att, token_type_ids=seg)

    def loss_of(rows):
        fs = [train[r] for r in rows]
        x = tensors(fs)
        if task == "xquad":
            out = model(**x, start_positions=torch.tensor([f[4] for f in fs]), end_positions=torch.tensor([f[5] for f in fs]))
        else:
            y = torch.full((len(fs), L), -100, dtype=torch.long)
            for i, f in enumerate(fs):
                y[i, :len(f[1])] = torch.tensor(f[1])
            out = model(**x, labels=y)
        return out.loss, int(x["attention_mask"].sum())

    def evaluate():
        if task == "xquad":
            logits = []
            for i in range(0, len(dev), 64):
                out = model(**tensors(dev[i:i + 64]))
                for j, f in enumerate(dev[i:i + 64]):
                    n = len(f[1])
                    logits.append((out.start_logits[j, :n].numpy(), out.end_logits[j, :n].numpy()))
            return squad_f1(dev_examples, squad_predictions(dev_examples, dev, logits))
        names = model.config.id2label
        predicted = []
        for i in range(0, len(dev), 64):
            z = model(**tensors(dev[i:i + 64])).logits.argmax(-1)
            for j, f in enumerate(dev[i:i + 64]):
                predicted.append([names[int(z[j, t])] if t >= 0 else "O" for t in f[2]])
        return 100 * f1_score([tags for _, tags in dev_sentences], predicted)
    return model, len(train), loss_of, evaluate, L


def finetune_torch(init_dir, out, seed, task, lr=1e-4, epochs=3, batch=32, max_len=128, stride=32):
    seed, lr, epochs, batch = int(seed), float(lr), int(epochs), int(batch)
    model, rows, loss_of, evaluate, L = task_setup(init_dir, os.path.dirname(out), task, int(max_len), int(stride))
    start = time.time()
    result = fit(model, rows, seed, lr, epochs, batch, loss_of, evaluate, name=f"torch {task}")
    json.dump(dict(result, seconds=time.time() - start, seq_length=L), open(out, "w"))


def ours(run):
    lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    evals = [l["main"] * (1 if "exact" in l else 100) for l in lines if l["kind"] == "eval"]   # SQuAD's F1 is in %, entity F1 not
    train = [l for l in lines if l["kind"] == "train"]
    return evals, ours_tokens_per_second(lines), train[-1].get("elapsed_seconds") if train else None


def check(run, export, task, max_len=128, stride=32):
    import torch
    d = os.path.dirname(os.path.normpath(run))
    model, _, _, evaluate, _ = task_setup(export, d, task, int(max_len), int(stride))
    model.eval()
    with torch.no_grad():
        python = evaluate()
    best = max(ours(run)[0])
    print(f"check {task}: the Python evaluation of {export} gives {python:.4f}, {run}'s best dev epoch {best:.4f}")
    sys.exit(0 if abs(python - best) < 0.05 else 1)


def table(d, task):
    seeds = sorted({int(m.group(1)) for x in os.listdir(d) if (m := re.fullmatch(r"c-(\d+)\.json", x))})
    arms, losses = {"a": [], "b": [], "c": []}, []
    for s in seeds:
        for k in "ab":
            evals, rate, wall = ours(os.path.join(d, f"{k}-{s}"))
            arms[k].append((evals[-1], rate, wall))
        c = json.load(open(os.path.join(d, f"c-{s}.json")))
        arms["c"].append((c["metric"][-1], c["tokens_per_second"], c.get("seconds"), c["tokens_per_second_with_masks"]))
        lines = [json.loads(l) for l in open(os.path.join(d, f"a-{s}", "metrics.jsonl"))]
        losses.append("seed %d: %.5f / %.5f" % ((s,) + first_losses(lines, c["loss"])))
    print_table(seeds, arms, "QA F1" if task == "xquad" else "entity F1")
    print("mean training loss of the first 10 steps, (a) / (c): " + "; ".join(losses))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"data": data, "init": init, "torch": finetune_torch, "check": check, "table": table}[command](*args)
