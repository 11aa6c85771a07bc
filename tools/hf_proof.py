"""Proof that an exported run loads in HuggingFace transformers and computes what we compute.

Loads OUT/discriminator and OUT/generator with from_pretrained (no missing or unexpected weights
allowed), tokenizes sentences with the exported tokenizer (AutoTokenizer) and compares the ids
with `electra-prep tokenize --ids`, and the discriminator logits with `electra-train score --logits`.
Usage: tools/hf-proof.sh [RUN]   (exports RUN, default runs/sample, to hf/<name> first)
"""
import subprocess, sys
import torch
from transformers import AutoTokenizer, ElectraForMaskedLM, ElectraForPreTraining

out = sys.argv[1]
sentences = [
    "In the beginning God created the heaven and the earth.",
    "And the earth was without form, and void; and darkness was upon the face of the deep.",
    "Café déjà vu: the naïve reader's résumé!",
    "Blessed are the meek: for they shall inherit the earth.",
    "electra learns from every position, not only the masked fifteen percent",
]
failures = 0
disc, info = ElectraForPreTraining.from_pretrained(out + "/discriminator", output_loading_info=True)
gen, ginfo = ElectraForMaskedLM.from_pretrained(out + "/generator", output_loading_info=True)
for name, i in (("discriminator", info), ("generator", ginfo)):
    bad = {k: v for k, v in i.items() if v}
    print(f"{name}: loaded, missing/unexpected/mismatched: {bad or 'none'}")
    failures += bool(bad)
tok = AutoTokenizer.from_pretrained(out + "/discriminator")
ours_ids = subprocess.run([".build/release/electra-prep", "tokenize", "--ids", "--vocab", out + "/discriminator/vocab.txt", "-"],
                          input="\n".join(sentences) + "\n", capture_output=True, text=True, check=True).stdout.splitlines()
scores = subprocess.run([".build/release/electra-train", "score", "--logits", "--model", out + "/discriminator", "-"][:-1],
                        input="\n".join(sentences) + "\n", capture_output=True, text=True, check=True).stdout.splitlines()
disc.eval()
worst = 0.0
for s, ids_line, score_line in zip(sentences, ours_ids, scores):
    hf_ids = tok(s)["input_ids"]
    ours = [tok.cls_token_id] + [int(x) for x in ids_line.split()] + [tok.sep_token_id]
    if ours != hf_ids:
        failures += 1
        print("token ids differ:", s, ours, hf_ids)
    with torch.no_grad():
        hf_logits = disc(input_ids=torch.tensor([hf_ids])).logits[0].tolist()
    our_logits = [float(t.rsplit("(", 1)[1].rstrip(")")) for t in score_line.split()]
    diff = max(abs(a - b) for a, b in zip(our_logits, hf_logits))
    worst = max(worst, diff)
    if len(our_logits) != len(hf_logits) or diff > 1e-4:
        failures += 1
        print("discriminator logits differ:", s, diff)
# Generator logits at masked positions and the losses of one step, with fixed masked positions and
# the generator's argmax as the sample (no noise), against electra-dev dump-step.
import json
gen.eval()
worst_gen = worst_loss = 0.0
for s in sentences[:3]:
    ours = json.loads(subprocess.run([".build/release/electra-dev", "dump-step", "--model", out, s],
                                     capture_output=True, text=True, check=True).stdout)
    ids = torch.tensor([ours["input_ids"]])
    pos = ours["masked_positions"]
    masked = ids.clone()
    masked[0, pos] = tok.mask_token_id
    with torch.no_grad():
        logits = gen(input_ids=masked).logits[0, pos]
        worst_gen = max(worst_gen, (logits - torch.tensor(ours["generator_logits"])).abs().max().item())
        targets = ids[0, pos]
        gen_loss = torch.nn.functional.cross_entropy(logits, targets, reduction="sum") / (len(pos) + 1e-6)
        disc_ids = ids.clone()
        disc_ids[0, pos] = logits.argmax(-1)
        labels = (disc_ids != ids).float()[0]
        d = disc(input_ids=disc_ids).logits[0]
        disc_loss = torch.nn.functional.binary_cross_entropy_with_logits(d, labels, reduction="sum") / (len(labels) + 1e-6)
        total = gen_loss + 50 * disc_loss
    worst_loss = max(worst_loss, abs(total.item() - ours["total_loss"]) / max(1.0, abs(total.item())))
if worst_gen > 1e-4 or worst_loss > 1e-4:
    failures += 1
print(f"{len(sentences)} sentences: token ids identical: {failures == 0}; max |discriminator logit diff| {worst:.2e}; "
      f"max |generator logit diff| at masked positions {worst_gen:.2e}; step loss relative diff {worst_loss:.2e}")
print("hf-proof:", "OK" if failures == 0 else f"{failures} FAILURES")
sys.exit(1 if failures else 0)
