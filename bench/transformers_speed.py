"""Speed of the optional transformers backend with a model of XLM-T's size, on this machine's CPU.

    .venv/bin/python bench/transformers_speed.py [--runs 3] [--threads N]

No weights can be downloaded here, so the network has the architecture of
cardiffnlp/twitter-xlm-roberta-base-sentiment (XLM-R base: 12 layers, 768 units, 514 positions) with
random weights: the labels mean nothing, the arithmetic is the same. Its tokenizer is a sentencepiece
model of 8,000 pieces trained on the UMSAB fr + en training tweets (XLM-R's own has 250,002, so real
tweets cut into fewer tokens: the figures here are on the slow side). It reads the UMSAB fr + en validation
tweets (648) from the shared data folder, runs them through the backend's own `load` and `predict`, and
prints the median rate, the rate per CPU-second (which busy neighbours disturb less), the mean tokens per
message and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import time
from pathlib import Path

import sentencepiece as spm
import torch
import transformers

from pilote.enrich import transformers_backend as backend

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "transformers" / "xlmr-base-random"
SHARED = Path(os.environ.get("PILOTE_SHARED_DATA", ROOT.parents[1] / "shared" / "data")) / "sentiment_tweets"


def tweets(split: str) -> list[str]:
    lines: list[str] = []
    for language in ("french", "english"):
        lines += (SHARED / language / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def build() -> Path:
    """The random XLM-R base model and its tokenizer, saved once in bench/out/."""
    if (OUT / "config.json").exists():
        return OUT
    OUT.mkdir(parents=True, exist_ok=True)
    pieces = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(tweets("train")), model_writer=pieces, vocab_size=8000,
                                   bos_id=0, pad_id=1, eos_id=2, unk_id=3, minloglevel=2)  # fmt: skip
    (OUT / "sentencepiece.bpe.model").write_bytes(pieces.getvalue())
    tok = transformers.XLMRobertaTokenizer.from_pretrained(OUT)
    config = transformers.XLMRobertaConfig(
        vocab_size=len(tok), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=514, pad_token_id=tok.pad_token_id,
        num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
    )  # fmt: skip
    transformers.XLMRobertaForSequenceClassification(config).save_pretrained(OUT)
    tok.save_pretrained(OUT)
    return OUT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = build()
    texts = tweets("val")
    loaded = backend.load(folder, backend.digest(folder))
    tokens = sum(len(ids) for ids in loaded.tokenizer(texts, truncation=True, max_length=loaded.max_length).input_ids)
    rates, per_cpu = [], []
    for _ in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        backend.predict(loaded, texts)
        rates.append(len(texts) / (time.perf_counter() - started))
        per_cpu.append(len(texts) / (time.process_time() - cpu))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(texts)} tweets, {tokens / len(texts):.1f} tokens each, torch threads {torch.get_num_threads()}, "
          f"device {loaded.device}: median {statistics.median(rates):.1f} messages/s "
          f"(runs: {', '.join(f'{r:.1f}' for r in rates)}); {statistics.median(per_cpu):.1f} per CPU-second; "
          f"peak memory {peak:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
