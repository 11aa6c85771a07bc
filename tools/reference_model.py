"""PyTorch reference for the ELECTRA model test (llm.c's test_gpt2 approach).

Builds a tiny generator + discriminator with HuggingFace transformers' ElectraForMaskedLM and
ElectraForPreTraining, shares the embeddings between them as ELECTRA does, runs one forward +
backward on fixed inputs (padding in some rows, segment B in some, fixed Gumbel noise, dropout
off) exactly as run_pretraining.py computes the loss, and writes everything the Swift test needs
(weights under our parameter names, inputs, generator logits at the masked positions,
discriminator logits, both losses, the total, and the gradient of the total for every
parameter) to Tests/Fixtures/model/reference.safetensors.
Usage: PY=$(tools/venv.sh torch transformers safetensors numpy); $PY tools/reference_model.py
"""
import json, os
import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
torch.manual_seed(0)
V, E, H, NH, F, LAYERS = 60, 16, 32, 2, 64, 2
HG, NHG, FG = 16, 1, 32
MAXPOS, B, L, N = 16, 3, 12, 4
PAD, CLS, SEP, MASK = 0, 2, 3, 4


def config(hidden, heads, ffn):
    c = ElectraConfig(vocab_size=V, embedding_size=E, hidden_size=hidden, num_hidden_layers=LAYERS,
                      num_attention_heads=heads, intermediate_size=ffn, hidden_act="gelu",
                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=MAXPOS,
                      type_vocab_size=2, layer_norm_eps=1e-12, initializer_range=0.02, pad_token_id=PAD)
    c._attn_implementation = "eager"
    return c


gen = ElectraForMaskedLM(config(HG, NHG, FG))
disc = ElectraForPreTraining(config(H, NH, F))
disc.electra.embeddings = gen.electra.embeddings          # shared word/position/type embeddings + LayerNorm
assert gen.generator_lm_head.weight is gen.electra.embeddings.word_embeddings.weight
with torch.no_grad():                                      # make LayerNorms and biases non-trivial
    for name, p in list(gen.named_parameters()) + list(disc.named_parameters()):
        if "LayerNorm.weight" in name:
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif name.endswith("bias"):
            p.copy_(0.1 * torch.randn_like(p))
        elif name.endswith("word_embeddings.weight"):
            p.copy_(0.02 * torch.randn_like(p))
            p[PAD].zero_()
gen.eval(); disc.eval()

# Inputs: row 0 full with segment B, row 1 padded after 8 with B, row 2 padded after 5, A only.
g = torch.Generator().manual_seed(1)
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
masked = ids.clone()
for b in range(B):
    for k in range(N):
        if weights[b, k] > 0 and not (b == 0 and k == 2):   # one chosen position keeps its token
            masked[b, positions[b, k]] = MASK
u = torch.rand(B * N, V, generator=g)
noise = -torch.log(-torch.log(u + 1e-9) + 1e-9)

# Generator: encoder on the masked input, head only at the masked positions.
hidden = gen.electra(input_ids=masked, attention_mask=att, token_type_ids=seg).last_hidden_state
rows = (torch.arange(B).unsqueeze(1) * L + positions).reshape(-1)
gathered = hidden.reshape(B * L, HG)[rows]
gen_logits = gen.generator_lm_head(gen.generator_predictions(gathered))
w = weights.reshape(-1)
ce = torch.nn.functional.cross_entropy(gen_logits, originals.reshape(-1), reduction="none")
gen_loss = (ce * w).sum() / (w.sum() + 1e-6)
sampled = torch.argmax(gen_logits.detach() + noise, dim=-1)
# Discriminator: the original input with sampled tokens at the masked positions.
disc_ids = ids.clone().reshape(-1)
for slot in range(B * N):
    if w[slot] > 0:
        disc_ids[rows[slot]] = sampled[slot]
labels = (disc_ids != ids.reshape(-1)).float()
disc_logits = disc(input_ids=disc_ids.reshape(B, L), attention_mask=att, token_type_ids=seg).logits.reshape(-1)
m = att.reshape(-1).float()
bce = torch.nn.functional.binary_cross_entropy_with_logits(disc_logits, labels, reduction="none")
disc_loss = (bce * m).sum() / (m.sum() + 1e-6)
total = gen_loss + 50.0 * disc_loss
total.backward()

# Our parameter names -> tensors.
named = {}
for name, p in gen.electra.embeddings.named_parameters():
    named["embeddings." + name] = p
for prefix, model in (("discriminator.", disc), ("generator.", gen)):
    for name, p in model.named_parameters():
        if name.startswith("electra.embeddings."):
            continue
        if name == "generator_lm_head.weight":
            continue                                       # tied to the word embeddings
        named[prefix + name] = p
out = {}
for name, p in named.items():
    out["param/" + name] = p.detach().numpy().astype(np.float32)
    out["grad/" + name] = p.grad.detach().numpy().astype(np.float32)
f = lambda t: t.detach().numpy().astype(np.float32)
out.update({
    "input/ids": f(masked.reshape(-1)), "input/segments": f(seg.reshape(-1)), "input/attention": f(att.reshape(-1)),
    "input/positions": f(positions.reshape(-1)), "input/originals": f(originals.reshape(-1)),
    "input/weights": f(w), "input/noise": f(noise),
    "out/gen_logits": f(gen_logits), "out/disc_logits": f(disc_logits), "out/sampled": f(sampled),
    "out/labels": f(labels), "out/gen_loss": f(gen_loss.reshape(1)), "out/disc_loss": f(disc_loss.reshape(1)),
    "out/total": f(total.reshape(1)),
})
meta = {"config": json.dumps(dict(V=V, E=E, H=H, NH=NH, F=F, layers=LAYERS, HG=HG, NHG=NHG, FG=FG, maxpos=MAXPOS,
                                  B=B, L=L, N=N)), "torch": torch.__version__}
path = os.path.join(root, "Tests/Fixtures/model/reference.safetensors")
save_file(out, path, metadata=meta)
print(f"wrote {path}: {len(named)} parameters, total loss {total.item():.6f} "
      f"(generator {gen_loss.item():.6f}, discriminator {disc_loss.item():.6f}), "
      f"{int(labels.sum())} of {int(w.sum())} masked positions replaced")
