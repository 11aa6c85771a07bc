"""PyTorch references for the pre-training objectives other than ELECTRA (MLMTests.swift).

1. BERT's objective (electra-train --objective mlm; google-research/electra's
   electra_objective=False path): HuggingFace transformers' ElectraForMaskedLM at the
   DISCRIMINATOR's size (embedding 16 -> hidden 32, so with embeddings_project, the masked-LM
   head 32 -> 16 -> vocabulary, tied to the word embeddings), one forward + backward on fixed
   inputs whose masked positions hold [MASK], random tokens and kept tokens (BERT's 80/10/10),
   the loss transformers computes from `labels` (-100 off the masked positions), then one update
   of ELECTRA's AdamW (tools/pretrain_torch.py's ElectraAdamW: no bias correction, clipping at
   1.0). Writes the weights before, the inputs, the logits at the masked slots, the loss, every
   gradient and every weight after the update to Tests/Fixtures/model/mlm.safetensors.
2. ELECTRA 15% (--objective electra-15): the discriminator's loss at the masked positions only.
   From tools/reference_model.py's fixture (Tests/Fixtures/model/reference.safetensors: its
   discriminator logits, labels, masked positions and generator loss), in NumPy: the sigmoid
   cross-entropy averaged over the masked positions, and generator loss + 50 x that. Writes
   Tests/Fixtures/model/electra15.json.
Usage: PY=$(tools/venv.sh torch transformers safetensors numpy); $PY tools/reference_mlm.py
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from transformers import ElectraConfig, ElectraForMaskedLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pretrain_torch import ElectraAdamW  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
torch.manual_seed(5)
V, E, H, NH, F, LAYERS, MAXPOS, B, L, N = 60, 16, 32, 2, 64, 2, 16, 3, 12, 4
PAD, CLS, SEP, MASK = 0, 2, 3, 4
LR, TOTAL = 1e-3, 10

config = ElectraConfig(vocab_size=V, embedding_size=E, hidden_size=H, num_hidden_layers=LAYERS, num_attention_heads=NH,
                       intermediate_size=F, hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                       max_position_embeddings=MAXPOS, type_vocab_size=2, layer_norm_eps=1e-12, initializer_range=0.02,
                       pad_token_id=PAD)
config._attn_implementation = "eager"
model = ElectraForMaskedLM(config)
assert model.generator_lm_head.weight is model.electra.embeddings.word_embeddings.weight
with torch.no_grad():                                     # LayerNorms and biases non-trivial
    for name, p in model.named_parameters():
        if "LayerNorm.weight" in name:
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif name.endswith("bias"):
            p.copy_(0.1 * torch.randn_like(p))
        elif name.endswith("word_embeddings.weight"):
            p.copy_(0.02 * torch.randn_like(p))
            p[PAD].zero_()
model.eval()

# Inputs: row 0 full with segment B, row 1 padded after 8 with B, row 2 padded after 5, A only.
g = torch.Generator().manual_seed(6)
ids = torch.randint(5, V, (B, L), generator=g)
seg = torch.zeros(B, L, dtype=torch.long)
att = torch.ones(B, L, dtype=torch.long)
for b, (length, bstart) in enumerate([(L, 7), (8, 5), (5, 5)]):
    ids[b, 0] = CLS
    ids[b, bstart - 1] = SEP
    ids[b, length - 1] = SEP
    seg[b, bstart:length] = 1
    ids[b, length:] = PAD
    att[b, length:] = 0
positions = torch.tensor([[1, 3, 4, 9], [2, 5, 0, 0], [1, 3, 0, 0]])
weights = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.float32)
originals = torch.gather(ids, 1, positions) * weights.long()
# BERT's replacement, each kind at least once: [MASK], a random token, the token kept.
kinds = [["mask", "random", "keep", "mask"], ["mask", "mask", None, None], ["random", None, None, None]]
masked = ids.clone()
for b in range(B):
    for k in range(N):
        if kinds[b][k] == "mask":
            masked[b, positions[b, k]] = MASK
        elif kinds[b][k] == "random":
            masked[b, positions[b, k]] = (ids[b, positions[b, k]] + 17) % V
labels = torch.full((B, L), -100, dtype=torch.long)
for b in range(B):
    for k in range(N):
        if weights[b, k] > 0:
            labels[b, positions[b, k]] = ids[b, positions[b, k]]

out = model(input_ids=masked, attention_mask=att, token_type_ids=seg, labels=labels)
loss = out.loss
loss.backward()
rows = (torch.arange(B).unsqueeze(1) * L + positions).reshape(-1)
logits = out.logits.reshape(B * L, V)[rows]


def ours(name):
    """transformers' name -> ours (None: the tied output weight)."""
    if name == "generator_lm_head.weight":
        return None
    if name.startswith("electra.embeddings."):
        return name[len("electra."):]
    return "discriminator." + name


named = [(ours(n), p) for n, p in model.named_parameters() if ours(n) is not None]
f = lambda t: t.detach().numpy().astype(np.float32)
tensors = {}
for name, p in named:
    tensors["param/" + name] = f(p)
    tensors["grad/" + name] = f(p.grad)
optimizer = ElectraAdamW(named, lr=LR, warmup=0, total=TOTAL)
norm, lr = optimizer.update()
for name, p in named:
    tensors["after/" + name] = f(p)
tensors.update({
    "input/ids": f(masked.reshape(-1)), "input/segments": f(seg.reshape(-1)), "input/attention": f(att.reshape(-1)),
    "input/positions": f(positions.reshape(-1)), "input/originals": f(originals.reshape(-1)),
    "input/weights": f(weights.reshape(-1)), "out/logits": f(logits), "out/loss": f(loss.reshape(1)),
    "out/gradient_norm": np.array([norm], dtype=np.float32),
})
meta = {"config": json.dumps(dict(V=V, E=E, H=H, NH=NH, F=F, layers=LAYERS, maxpos=MAXPOS, B=B, L=L, N=N, lr=LR,
                                  total=TOTAL, warmup=0)), "torch": torch.__version__}
path = os.path.join(root, "Tests/Fixtures/model/mlm.safetensors")
save_file(tensors, path, metadata=meta)
print(f"wrote {path}: {len(named)} parameters, loss {loss.item():.6f}, gradient norm {norm:.6f}, lr {lr}")

# ELECTRA 15%, from the ELECTRA reference's logits and labels.
ref = load_file(os.path.join(root, "Tests/Fixtures/model/reference.safetensors"))
B2, L2, N2 = 3, 12, 4
z = ref["out/disc_logits"].astype(np.float64)
y = ref["out/labels"].astype(np.float64)
w = np.zeros(B2 * L2)
pos, slot_w = ref["input/positions"].astype(int), ref["input/weights"]
for slot in range(B2 * N2):
    if slot_w[slot] > 0:
        w[slot // N2 * L2 + pos[slot]] = 1
bce = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
disc15 = float((bce * w).sum() / (w.sum() + 1e-6))
gen = float(ref["out/gen_loss"][0])
result = {"masked_positions": int(w.sum()), "discriminator_loss": disc15, "generator_loss": gen,
          "total_loss": gen + 50.0 * disc15, "all_positions_discriminator_loss": float(ref["out/disc_loss"][0])}
path = os.path.join(root, "Tests/Fixtures/model/electra15.json")
with open(path, "w") as fh:
    json.dump(result, fh, indent=1)
    fh.write("\n")
print(f"wrote {path}: {result}")
