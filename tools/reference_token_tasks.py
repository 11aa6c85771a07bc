"""PyTorch reference for the token-task tests (as tools/reference_finetune.py does for classification).

Builds a tiny transformers ElectraForTokenClassification (5 tags; labels on first sub-tokens, -100
on [CLS], [SEP], later sub-tokens and padding) and a tiny ElectraForQuestionAnswering (an
answerable window, an impossible one whose start and end are [CLS], and an answerable one with
padding); runs one forward + backward with dropout off, then one update of google-research/electra's
fine-tuning optimizer (model/optimization.py: no bias correction, weight decay skipped for
LayerNorm and biases, global-norm clipping at 1.0, layer-wise rates lr * decay^(layers + 2 - depth)),
and writes weights (HF names), inputs, logits, loss, every gradient and every updated parameter to
Tests/Fixtures/finetune/<case>.safetensors.
Usage: PY=$(tools/venv.sh torch transformers safetensors numpy); $PY tools/reference_token_tasks.py
"""
import json, os, re
import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import ElectraConfig, ElectraForQuestionAnswering, ElectraForTokenClassification

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V, E, H, NH, F, LAYERS, MAXPOS, B, L = 60, 16, 32, 2, 64, 2, 16, 3, 12
PAD, CLS, SEP, IGNORE = 0, 2, 3, -100
LR, DECAY, WD, EPS = 1e-3, 0.8, 0.01, 1e-6


def depth(name):
    if not name.startswith("electra."):
        return LAYERS + 2
    m = re.match(r"electra\.encoder\.layer\.(\d+)\.", name)
    return int(m.group(1)) + 1 if m else 0


def config(num_labels):
    c = ElectraConfig(vocab_size=V, embedding_size=E, hidden_size=H, num_hidden_layers=LAYERS, num_attention_heads=NH,
                      intermediate_size=F, hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                      max_position_embeddings=MAXPOS, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=PAD,
                      num_labels=num_labels)
    c._attn_implementation = "eager"
    return c


def perturb(model, head):
    with torch.no_grad():                                   # non-trivial LayerNorms and biases
        for n, p in model.named_parameters():
            if "LayerNorm.weight" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif n.startswith(head):
                p.copy_(0.3 * torch.randn_like(p))          # a head that gives spread-out logits
    model.eval()


def inputs(seed, lengths, pair_starts=None):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (B, L), generator=g)
    seg = torch.zeros(B, L, dtype=torch.long)
    att = torch.ones(B, L, dtype=torch.long)
    for b, length in enumerate(lengths):
        ids[b, 0] = CLS
        ids[b, length - 1] = SEP
        if pair_starts:
            ids[b, pair_starts[b] - 1] = SEP
            seg[b, pair_starts[b]:length] = 1
        ids[b, length:] = PAD
        att[b, length:] = 0
    return ids, seg, att


def finish(name, model, loss, tensors, num_labels):
    loss.backward()
    named = dict(model.named_parameters())
    result = {}
    for n, p in named.items():
        result["param/" + n] = p.detach().numpy().astype(np.float32)
        result["grad/" + n] = p.grad.detach().numpy().astype(np.float32)
    norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in named.values())).item()
    clip = 1.0 / max(norm, 1.0)
    for n, p in named.items():                              # step 0 of 10, no warm-up: the rate is LR x the layer factor
        grad = p.grad.double() * clip
        update = (0.1 * grad) / (torch.sqrt(0.001 * grad * grad) + EPS)
        if not re.search("LayerNorm|layer_norm|bias", n):
            update = update + WD * p.detach().double()
        lr = LR * DECAY ** (LAYERS + 2 - depth(n))
        result["updated/" + n] = (p.detach().double() - lr * update).numpy().astype(np.float32)
    f = lambda t: t.detach().numpy().astype(np.float32)
    result.update({k: f(v.reshape(-1)) for k, v in tensors.items()})
    result["out/loss"] = f(loss.reshape(1))
    meta = {"config": json.dumps(dict(V=V, E=E, H=H, NH=NH, F=F, layers=LAYERS, maxpos=MAXPOS, B=B, L=L,
                                      num_labels=num_labels, lr=LR, decay=DECAY, weight_decay=WD)),
            "torch": torch.__version__}
    os.makedirs(os.path.join(root, "Tests/Fixtures/finetune"), exist_ok=True)
    path = os.path.join(root, f"Tests/Fixtures/finetune/{name}.safetensors")
    save_file(result, path, metadata=meta)
    print(f"wrote {path}: loss {loss.item():.6f}, gradient norm {norm:.4f}")


def tagging(seed=30, K=5):
    torch.manual_seed(seed)
    model = ElectraForTokenClassification(config(K))
    perturb(model, "classifier.")
    ids, seg, att = inputs(seed + 1, [L, 8, 5])
    g = torch.Generator().manual_seed(seed + 2)
    labels = torch.randint(0, K, (B, L), generator=g)
    labels[:, 0] = IGNORE                                   # [CLS]
    for b, length in enumerate([L, 8, 5]):
        labels[b, length - 1:] = IGNORE                     # [SEP], padding
    labels[0, 3] = labels[0, 4] = labels[1, 2] = labels[2, 2] = IGNORE   # later sub-tokens of a word
    out = model(input_ids=ids, attention_mask=att, token_type_ids=seg, labels=labels)
    finish("tagging", model, out.loss, {"input/ids": ids, "input/segments": seg, "input/attention": att,
                                        "input/labels": labels.float(), "out/logits": out.logits}, K)


def question_answering(seed=40):
    torch.manual_seed(seed)
    model = ElectraForQuestionAnswering(config(2))
    perturb(model, "qa_outputs.")
    ids, seg, att = inputs(seed + 1, [L, L, 9], pair_starts=[4, 5, 3])
    start = torch.tensor([6, 0, 4])                         # row 1: impossible ([CLS])
    end = torch.tensor([8, 0, 7])
    out = model(input_ids=ids, attention_mask=att, token_type_ids=seg, start_positions=start, end_positions=end)
    logits = torch.stack([out.start_logits, out.end_logits], dim=-1)   # [B, L, 2]
    finish("qa", model, out.loss, {"input/ids": ids, "input/segments": seg, "input/attention": att,
                                   "input/start": start.float(), "input/end": end.float(), "out/logits": logits}, 2)


tagging()
question_answering()
