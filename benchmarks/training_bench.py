"""Training benchmark: prints figures, asserts nothing (not in CI).

Grounded examples from the git corpus; the same examples, LoRA settings, batch size and
step count through `training.train.train_adapter` (trl's SFTTrainer) and through a plain
peft loop (chat template, prompt tokens masked, AdamW). Throughput is non-padding training
tokens per second after the first step (which pays for warm-up in both).

Usage: python benchmarks/training_bench.py [--steps 6] [--batch 1] [--max-length 512]
       [--threads 1] [--files 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inference.models import generation_model_path  # noqa: E402
from retrieval.chunking import chunk_document  # noqa: E402
from retrieval.parse import parse  # noqa: E402
from training.dataset import BuildOptions, build_dataset  # noqa: E402
from training.examples import Example, Passage  # noqa: E402
from training.train import Progress, TrainConfig, train_adapter  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus"


def corpus_passages(files: int) -> list[Passage]:
    out = []
    for path in sorted(CORPUS.glob("*.html"))[:files]:
        doc = parse(path.name, path.read_bytes())
        out += [Passage(path.name, doc.title, c.section, c.text) for c in chunk_document(doc)]
    return out


def trl_rate(examples: list[Example], config: TrainConfig) -> tuple[float, int, float]:
    seen: list[tuple[float, int]] = []

    def record(p: Progress) -> None:
        seen.append((time.perf_counter(), p.tokens))

    result = train_adapter(examples, config, record)
    (t0, n0), (t1, n1) = seen[0], seen[-1]
    return (n1 - n0) / (t1 - t0), result.tokens, result.seconds


def plain_rate(examples: list[Example], config: TrainConfig) -> tuple[float, int, float]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(config.seed)
    tok: Any = AutoTokenizer.from_pretrained(str(config.base_model))
    model: Any = AutoModelForCausalLM.from_pretrained(str(config.base_model), dtype=torch.float32)
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    model.train()
    rows = []
    for ex in examples:
        prompt_ids = list(
            tok.apply_chat_template(
                ex.messages(), add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        )
        reply = {"role": "assistant", "content": ex.completion}
        full = tok.apply_chat_template([*ex.messages(), reply], tokenize=True, return_dict=True)[
            "input_ids"
        ]
        ids = list(full)[: config.max_length]
        labels = [-100] * min(len(prompt_ids), len(ids)) + ids[len(prompt_ids) :]
        rows.append((ids, labels))
    optim = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.learning_rate
    )
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    tokens = 0
    started = first_done = time.perf_counter()
    tokens_after_first = 0
    for step in range(config.max_steps):
        batch = [rows[(step * config.batch_size + i) % len(rows)] for i in range(config.batch_size)]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in batch])
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
        tokens += int(mask.sum())
        if step == 0:
            first_done, tokens_after_first = time.perf_counter(), tokens
    done = time.perf_counter()
    return (tokens - tokens_after_first) / (done - first_done), tokens, done - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--files", type=int, default=4)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    data_dir = Path(os.environ.get("LEARNLOOP_DATA_DIR", tempfile.mkdtemp(prefix="train-bench-")))
    base = generation_model_path("", data_dir)
    passages = corpus_passages(args.files)
    dataset = build_dataset(passages, options=BuildOptions(per_prompt=2))
    examples = list(dataset.examples)
    print(f"dataset {dataset.version}: {len(examples)} examples {dataset.counts()}")
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(
            base_model=base,
            run_dir=Path(tmp),
            max_steps=args.steps,
            batch_size=args.batch,
            max_length=args.max_length,
            save_steps=10**6,
            device="cpu",
        )
        trl_tps, trl_tokens, trl_s = trl_rate(examples, config)
        plain_tps, plain_tokens, plain_s = plain_rate(examples, config)
    print(f"{'loop':<14}{'steps':>6}{'tokens':>9}{'wall s':>9}{'tokens/s':>10}")
    print(f"{'SFTTrainer':<14}{args.steps:>6}{trl_tokens:>9}{trl_s:>9.1f}{trl_tps:>10.1f}")
    print(f"{'plain peft':<14}{args.steps:>6}{plain_tokens:>9}{plain_s:>9.1f}{plain_tps:>10.1f}")
    print(f"ratio SFTTrainer / plain peft: {trl_tps / plain_tps:.2f}")


if __name__ == "__main__":
    main()
