"""PyTorch reference for the fine-tuning test (as tools/reference_model.py does for pre-training).

Builds a tiny transformers ElectraForSequenceClassification for three tasks: a single-sentence
classification (2 labels), a sentence-pair classification (3 labels, segment B, padding) and a
regression (1 output, MSE); runs one forward + backward with dropout off, then one update of
google-research/electra's fine-tuning optimizer (model/optimization.py: AdamWeightDecayOptimizer
without bias correction, weight decay skipped for LayerNorm and biases, global-norm clipping at
1.0, layer-wise learning rates lr * decay^(layers + 2 - depth)), and writes weights (HF names),
inputs, logits, loss, every gradient and every updated parameter to
Tests/Fixtures/finetune/<case>.safetensors.
Usage: PY=$(tools/venv.sh torch transformers safetensors numpy); $PY tools/reference_finetune.py
"""
import json, os, re
import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import ElectraConfig, ElectraForSequenceClassification

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V, E, H, NH, F, LAYERS, MAXPOS, B, L = 60, 16, 32, 2, 64, 2, 16, 3, 12
PAD, CLS, SEP = 0, 2, 3
LR, DECAY, WD, EPS = 1e-3, 0.8, 0.01, 1e-6


def depth(name):
    if name.startswith("classifier."):
        return LAYERS + 2
    m = re.match(r"electra\.encoder\.layer\.(\d+)\.", name)
    return int(m.group(1)) + 1 if m else 0


def make_case(name, num_labels, pair, seed):
    torch.manual_seed(seed)
    c = ElectraConfig(vocab_size=V, embedding_size=E, hidden_size=H, num_hidden_layers=LAYERS, num_attention_heads=NH,
                      intermediate_size=F, hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                      max_position_embeddings=MAXPOS, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=PAD,
                      num_labels=num_labels, problem_type="regression" if num_labels == 1 else "single_label_classification")
    c._attn_implementation = "eager"
    model = ElectraForSequenceClassification(c)
    with torch.no_grad():                                   # non-trivial LayerNorms and biases
        for n, p in model.named_parameters():
            if "LayerNorm.weight" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif n.startswith("classifier."):
                p.copy_(0.3 * torch.randn_like(p))          # a head that gives spread-out logits
    model.eval()
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(5, V, (B, L), generator=g)
    seg = torch.zeros(B, L, dtype=torch.long)
    att = torch.ones(B, L, dtype=torch.long)
    for b, (length, bstart) in enumerate([(L, 7), (8, 5), (5, 3)]):
        ids[b, 0] = CLS
        ids[b, length - 1] = SEP
        if pair:
            ids[b, bstart - 1] = SEP
            seg[b, bstart:length] = 1
        ids[b, length:] = PAD
        att[b, length:] = 0
    labels = torch.tensor([0.7, -1.2, 2.5]) if num_labels == 1 else torch.tensor([1, 0, num_labels - 1])
    out = model(input_ids=ids, attention_mask=att, token_type_ids=seg, labels=labels)
    out.loss.backward()

    named = dict(model.named_parameters())
    result = {}
    for n, p in named.items():
        result["param/" + n] = p.detach().numpy().astype(np.float32)
        result["grad/" + n] = p.grad.detach().numpy().astype(np.float32)
    # One optimizer update (step 0, no warm-up, 10 steps in all: the rate is LR x the layer factor).
    norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in named.values())).item()
    clip = 1.0 / max(norm, 1.0)
    for n, p in named.items():
        grad = p.grad.double() * clip
        m = 0.1 * grad
        v = 0.001 * grad * grad
        update = m / (torch.sqrt(v) + EPS)
        if not re.search("LayerNorm|layer_norm|bias", n):
            update = update + WD * p.detach().double()
        lr = LR * DECAY ** (LAYERS + 2 - depth(n))
        result["updated/" + n] = (p.detach().double() - lr * update).numpy().astype(np.float32)
    f = lambda t: t.detach().numpy().astype(np.float32)
    result.update({"input/ids": f(ids.reshape(-1)), "input/segments": f(seg.reshape(-1)),
                   "input/attention": f(att.reshape(-1)), "input/labels": f(labels.float()),
                   "out/logits": f(out.logits.reshape(-1)), "out/loss": f(out.loss.reshape(1))})
    meta = {"config": json.dumps(dict(V=V, E=E, H=H, NH=NH, F=F, layers=LAYERS, maxpos=MAXPOS, B=B, L=L,
                                      num_labels=num_labels, lr=LR, decay=DECAY, weight_decay=WD)),
            "torch": torch.__version__}
    os.makedirs(os.path.join(root, "Tests/Fixtures/finetune"), exist_ok=True)
    path = os.path.join(root, f"Tests/Fixtures/finetune/{name}.safetensors")
    save_file(result, path, metadata=meta)
    print(f"wrote {path}: loss {out.loss.item():.6f}, gradient norm {norm:.4f}")


make_case("single", 2, False, 0)
make_case("pair", 3, True, 10)
make_case("regression", 1, True, 20)
