"""Answer latency on CPU, split into search / prompt building / first token / full
generation, through the real service, client and embedded server. Prints figures only.

Usage: python benchmarks/answer_bench.py [--questions N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from bot.adapters.model import ClientChatModel
from bot.adapters.search import SearchRetriever
from bot.bootstrap import build_retrieval_from, limit_blas_threads
from bot.runtime.inference import EmbeddedServer
from bot.services.answers import AnswerService
from inference.client import ChatClient
from inference.models import SERVED_NAME
from retrieval.embedding import Embedder, resolve_embedding_path

ROOT = Path(__file__).resolve().parent.parent


async def run(service: AnswerService, questions: list[str]) -> list[dict[str, float]]:
    metas = []
    try:
        for question in questions:
            answer = await service.ask(question)
            if not answer.refused:
                metas.append(answer.meta)
    finally:
        await service.aclose()
    return metas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    args = parser.parse_args()
    limit_blas_threads()
    qa = ROOT / "tests" / "data" / "qa" / "calibration.jsonl"
    questions = [q["question"] for q in map(json.loads, qa.open()) if q["source"]][: args.questions]
    embedder = Embedder(resolve_embedding_path(""))
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(port=18088) as server:
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        rt.ingestor.ingest_paths([ROOT / "tests" / "data" / "corpus"])
        url = server.start()
        service = AnswerService(
            SearchRetriever(rt.searcher), ClientChatModel(ChatClient(url, SERVED_NAME))
        )
        metas = asyncio.run(run(service, questions))
    print(f"answer latency over {len(metas)} answered questions (median, ms):")
    for key in ("search_ms", "prompt_ms", "first_token_ms", "generation_ms"):
        values = [m[key] for m in metas]
        median, low, high = statistics.median(values), min(values), max(values)
        print(f"  {key:16s} {median:8.1f}   (min {low:.1f}, max {high:.1f})")


if __name__ == "__main__":
    main()
