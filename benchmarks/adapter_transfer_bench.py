"""Does an adapter's learning carry over to people's questions on material it never saw?
Prints figures, asserts nothing (not in CI).

The learning benchmark's gate asks questions of the dataset's own kind (from headings,
definitions, key terms) about held-out git pages. This asks the questions people wrote in
tests/data/qa/answers.jsonl about tests/data/answers_corpus (workplace pages, not git: no
adapter trained on the git corpus has seen them). Each question gets the five passages
search finds, in the service's prompt; the base model and the adapter answer it through
the real embedded server, greedy, with the service's answer length, and the raw replies
are scored with the gate's metrics (no grounding, no citation repair).

Usage: python benchmarks/adapter_transfer_bench.py ADAPTER_DIR [--limit N]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.bootstrap import build_retrieval_from, limit_blas_threads  # noqa: E402
from bot.domain.scoring import parse_qa  # noqa: E402
from inference.models import SERVED_NAME, generation_model_path  # noqa: E402
from inference.settings import InferenceSettings  # noqa: E402
from retrieval.embedding import Embedder, resolve_embedding_path  # noqa: E402
from tests.conftest import running_server  # noqa: E402
from training.evaluate import HeldOut, ask, refuses, score  # noqa: E402
from training.examples import Passage  # noqa: E402
from training.prompt import build_messages  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "answers_corpus"
QA = ROOT / "tests" / "data" / "qa" / "answers.jsonl"
MODELS = {"base": SERVED_NAME, "adapter": "candidate"}  # the adapter is loaded as "candidate"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("adapter", type=Path, help="a PEFT adapter folder")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    limit_blas_threads()
    print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="transfer-bench-"))
    embedder = Embedder(resolve_embedding_path(""))
    rt = build_retrieval_from(embedder, path=tmp / "chroma")
    assert all(r.ok for r in rt.ingestor.ingest_paths([CORPUS]))
    items = []
    for qa in parse_qa(QA.read_text(encoding="utf-8").splitlines())[: args.limit]:
        found = rt.searcher.search(qa.question, k=5)
        passages = [Passage(p.source, p.title, p.section, p.text) for p in found.passages]
        messages = build_messages(qa.question, passages)
        items.append(
            HeldOut(
                tuple((m["role"], m["content"]) for m in messages),
                len(passages),
                qa.answerable,
                qa.must_contain,
            )
        )
    tokens = InferenceSettings().answer_tokens
    base = generation_model_path("", tmp / "data")
    env = {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"}
    with running_server(tmp, base, env=env) as url:
        body = {"lora_name": "candidate", "lora_path": str(args.adapter.resolve())}
        httpx.post(f"{url.removesuffix('/v1')}/v1/load_lora_adapter", json=body).raise_for_status()
        client = openai.OpenAI(base_url=url, api_key="unused", timeout=600)

        def asker(model: str):
            def complete(messages):
                out = client.chat.completions.create(
                    model=model, messages=messages, max_tokens=tokens, temperature=0
                )
                return out.choices[0].message.content or ""

            return complete

        started = time.perf_counter()
        replies = {name: ask(items, asker(model)) for name, model in MODELS.items()}
        seconds = time.perf_counter() - started
    before, after = score(items, replies["base"]), score(items, replies["adapter"])
    answerable = sum(i.answerable for i in items)
    print(f"{len(items)} questions ({answerable} answerable), {tokens} answer tokens")
    print(f"{'metric':<18}{'base':>8}{'adapter':>9}")
    for field in ("citation_rate", "key_accuracy", "refusal_correct"):
        print(f"{field:<18}{getattr(before, field):>8.2f}{getattr(after, field):>9.2f}")
    for name, said in replies.items():  # the refusal decisions' two ways of being wrong
        wrong = [(i.answerable, refuses(r)) for i, r in zip(items, said, strict=True)]
        outside = len(items) - answerable
        print(
            f"{name}: refused {wrong.count((True, True))} answerable, answered "
            f"{wrong.count((False, False))} of {outside} not in the material; "
            f"{copied(items, said):.2f} of its sentences are copied from a passage word for word"
        )
    print(f"generation: {seconds:.0f} s for both")
    print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


def copied(items: list[HeldOut], replies: list[str]) -> float:
    """Share of the replies' sentences (citations and spacing aside) found verbatim in the
    prompt (its passages, and the question after them)."""
    found = total = 0
    for item, reply in zip(items, replies, strict=True):
        prompt = " ".join(item.messages[-1][1].split())
        for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"\s*\[\d+\]", "", reply)):
            words = " ".join(sentence.split()).rstrip(".!?")
            if len(words.split()) >= 4:  # fragments and "Yes." are not a sentence
                total += 1
                found += words in prompt
    return found / total if total else 0.0


if __name__ == "__main__":
    main()
