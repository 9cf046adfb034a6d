"""Learning-loop benchmark: prints figures, asserts nothing (not in CI).

One real cycle on the git corpus with the packaged model: grounded dataset, LoRA training
with trl, then the candidate and the base model answer the same held-out questions (about
documents never trained on) through the real embedded server, greedy, and the gate decides.
Prints wall times, training tokens/s and the before/after table of raw-model metrics.

Usage: python benchmarks/learning_bench.py [--files 26] [--steps 300] [--batch 4]
       [--max-length 1024] [--heldout 40] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.training_bench import corpus_passages  # noqa: E402
from bot.adapters.store import database_url, open_store  # noqa: E402
from bot.adapters.store.registry import SqlRegistry  # noqa: E402
from inference.models import SERVED_NAME, generation_model_path  # noqa: E402
from tests.conftest import running_server  # noqa: E402
from training.cycle import CyclePlan, run_cycle  # noqa: E402
from training.dataset import BuildOptions  # noqa: E402
from training.train import Progress, TrainConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=26)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--heldout", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="learning-bench-"))
    data_dir = Path(os.environ.get("LEARNLOOP_DATA_DIR", str(tmp / "data")))
    base = generation_model_path("", data_dir)
    plan = CyclePlan(
        train=TrainConfig(
            base_model=base,
            run_dir=tmp / "run",
            max_steps=args.steps,
            batch_size=args.batch,
            max_length=args.max_length,
            save_steps=max(25, args.steps // 4),
        ),
        served_base=SERVED_NAME,
        export_dir=tmp / "datasets",
        options=BuildOptions(),
        heldout_limit=args.heldout,
        min_examples=1,
    )
    _, sessions = open_store(database_url("", tmp))  # a SQLite registry of its own
    registry = SqlRegistry(sessions, tmp / "adapters", SERVED_NAME)
    last: list[Progress] = []

    def progress(p: Progress) -> None:  # a line a minute: a run cut short still tells
        if not last or p.elapsed_s - last[-1].elapsed_s >= 60 or p.step == p.total:
            rate = p.tokens / p.elapsed_s if p.elapsed_s else 0.0
            loss = f"{p.loss:.3f}" if p.loss is not None else "-"
            print(f"step {p.step}/{p.total} loss {loss} {rate:.0f} tokens/s", flush=True)
            last.append(p)

    started = time.perf_counter()
    with running_server(tmp, base, env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"}) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", timeout=600)

        def load(record):
            body = {"lora_name": record.name, "lora_path": record.path}
            reply = httpx.post(f"{url.removesuffix('/v1')}/v1/load_lora_adapter", json=body)
            reply.raise_for_status()

        def complete(messages, model):
            out = client.chat.completions.create(
                model=model, messages=messages, max_tokens=120, temperature=0
            )
            return out.choices[0].message.content or ""

        result = run_cycle(
            plan,
            corpus_passages(args.files),
            [],
            registry=registry,
            load_candidate=load,
            complete=complete,
            on_progress=progress,
        )
    wall = time.perf_counter() - started
    print(f"dataset {result.dataset_version}: {result.examples} examples ({result.dataset_file})")
    if result.training is None or result.verdict is None:
        print("skipped:", result.skipped)
        return
    t = result.training
    print(
        f"training: {t.steps} steps, {t.tokens} tokens, {t.seconds:.0f} s, "
        f"{t.tokens / t.seconds:.1f} tokens/s on {t.device} ({t.stopped_by})"
    )
    v = result.verdict
    print(f"{'metric':<18}{'base':>8}{'candidate':>11}")
    for field in ("citation_rate", "key_accuracy", "refusal_correct"):
        print(f"{field:<18}{getattr(v.serving, field):>8.2f}{getattr(v.candidate, field):>11.2f}")
    print(
        f"held-out questions: {v.candidate.questions}; promote: {v.promote}; {'; '.join(v.reasons)}"
    )
    print(f"wall time of the whole cycle: {wall:.0f} s")


if __name__ == "__main__":
    main()
