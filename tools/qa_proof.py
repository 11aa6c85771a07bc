"""The question-answering export against transformers (tools/qa-proof.sh).

make DIR: a tiny random ElectraForPreTraining folder (the committed BERT vocabulary, 512 positions),
  and XQuAD's English articles 1-32 (/work/shared/data/xquad, CC BY-SA 4.0, Artetxe et al. 2020;
  not committed) split by article: 1-24 DIR/train.json, 25-32 DIR/dev.json.
check DIR: transformers loads DIR/export as ElectraForQuestionAnswering with no missing or
  unexpected weights, and pipeline("question-answering") with the same max_seq_len, doc_stride,
  max_question_len and max_answer_len gives each dev question the answer `electra-train predict`
  wrote in DIR/pred.json. Prints the counts (and the windows of the questions that differ); exits
  1 on a difference in a question whose context fits one window (across windows the pipeline
  compares softmax products per window, utils_qa raw logit sums: they may legitimately differ).
"""
import json, os, shutil, sys
import torch
from transformers import (AutoTokenizer, ElectraConfig, ElectraForPreTraining, ElectraForQuestionAnswering,
                          ElectraTokenizer, pipeline)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XQUAD = os.environ.get("XQUAD", "/work/shared/data/xquad/xquad.en.articles-1-32.json")
MAX_SEQ, STRIDE, MAX_Q, MAX_ANSWER = 384, 128, 64, 30


def make(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(0)
    vocab = os.path.join(root, "vocab/bert-base-uncased.txt")
    with open(vocab) as f:
        V = sum(1 for _ in f)
    config = ElectraConfig(vocab_size=V, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=512)
    disc = os.path.join(d, "disc")
    ElectraForPreTraining(config).save_pretrained(disc)
    ElectraTokenizer(vocab_file=vocab, do_lower_case=True).save_pretrained(disc)
    shutil.copy(vocab, os.path.join(disc, "vocab.txt"))
    data = json.load(open(XQUAD, encoding="utf-8"))["data"]
    for name, articles in (("train", data[:24]), ("dev", data[24:32])):
        with open(os.path.join(d, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump({"version": "1.1", "data": articles}, f, ensure_ascii=False)
    print(f"wrote {disc} and {d}/train.json (24 articles), {d}/dev.json (8 articles)")


def check(d):
    export = os.path.join(d, "export")
    model, info = ElectraForQuestionAnswering.from_pretrained(export, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        sys.exit(f"loading {export}: {problems}")
    tokenizer = AutoTokenizer.from_pretrained(export)
    qa = pipeline("question-answering", model=model, tokenizer=tokenizer, device=-1)
    ours = json.load(open(os.path.join(d, "pred.json"), encoding="utf-8"))
    total = same = differ_one_window = 0
    for article in json.load(open(os.path.join(d, "dev.json"), encoding="utf-8"))["data"]:
        for p in article["paragraphs"]:
            windows = len(tokenizer(p["qas"][0]["question"], p["context"], truncation="only_second", max_length=MAX_SEQ,
                                    stride=STRIDE, return_overflowing_tokens=True)["input_ids"])
            for q in p["qas"]:
                out = qa(question=q["question"], context=p["context"], max_seq_len=MAX_SEQ, doc_stride=STRIDE,
                         max_question_len=MAX_Q, max_answer_len=MAX_ANSWER, align_to_words=False)
                total += 1
                if out["answer"] == ours[q["id"]]:
                    same += 1
                else:
                    differ_one_window += windows == 1
                    if total - same <= 10:
                        print(f"differs ({windows} window(s)): {q['id']}: ours {ours[q['id']]!r} pipeline {out['answer']!r}")
    print(f"qa proof: export loads with no missing or unexpected weights; {same} of {total} dev answers equal the pipeline's "
          f"({differ_one_window} of the differences in one-window contexts)")
    sys.exit(1 if differ_one_window else 0)


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
