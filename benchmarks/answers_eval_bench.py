"""Answers people can use: the full before/after evaluation on tests/data/qa/answers.jsonl
with the packaged model (not in CI: about 40 generations). Prints figures, asserts nothing.

One generation per question serves both columns: the model is greedy (temperature 0), so
"before" (grounding off: the model's text with its [n] markers checked against the
passages given, as answers were shown until now) is computed from the very text the
grounded "after" column checked sentence by sentence. Grounding latency excludes model time.

Usage: python benchmarks/answers_eval_bench.py [--limit N] [--out report.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.adapters.search import findings_of
from bot.bootstrap import build_app, build_retrieval_from, limit_blas_threads
from bot.domain.answering import Answer, finish_answer
from bot.domain.scoring import Reply, parse_qa
from bot.services.evaluation import reply_of, run_eval
from bot.settings import Settings
from inference.settings import InferenceSettings
from retrieval.embedding import Embedder, resolve_embedding_path
from retrieval.types import SearchResult

# Quality, not latency, is measured here: on a shared machine the packaged model may be
# slow to start writing, and an answer cut off by the deadline would count as a failure.
os.environ.setdefault("LEARNLOOP_FIRST_TOKEN_SECONDS", "600")
os.environ.setdefault("LEARNLOOP_INFERENCE_TIMEOUT", "900")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "answers_corpus"
QA = ROOT / "tests" / "data" / "qa" / "answers.jsonl"
METRICS = (
    "hit_at_k",
    "answer_contains",
    "raw_contains",
    "citation_rate",
    "refusal_correct",
    "answer_refusal_correct",
    "grounding_ms_p50",
)


async def evaluate(
    limit: int | None, answers: Path | None
) -> tuple[dict[str, Any], dict[str, Any], float]:
    limit_blas_threads()
    items = parse_qa(QA.read_text(encoding="utf-8").splitlines())[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        embedder = Embedder(resolve_embedding_path(""))
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        assert all(r.ok for r in rt.ingestor.ingest_paths([CORPUS]))
        # the product's own wiring: the packaged model (or LEARNLOOP_INFERENCE_URL), grounded
        app = build_app(
            Settings(data_dir=Path(tmp), database_url=""),
            inference_settings=InferenceSettings(),
            retrieval=rt,
            embedder=embedder,
        )
        service = app.answers
        baseline: dict[str, Reply] = {}
        started = time.perf_counter()

        async def grounded(question: str, found: SearchResult) -> Reply:
            findings = findings_of(found)
            async for event in service.answer(question, findings):
                if isinstance(event, Answer):
                    plain = finish_answer(event.raw_text, findings.sources, event.model)
                    baseline[question] = reply_of(plain)
                    ms = event.meta.get("grounding_ms", 0)
                    print(f"  {len(baseline):>3} grounding {ms:6.0f} ms", flush=True)
                    if answers is not None:  # each answer as it comes: for hand labels
                        line = {
                            "question": question,
                            "passages": [
                                {"source": s.source, "section": s.section, "text": s.text}
                                for s in findings.sources
                            ],
                            "model_text": event.raw_text,
                            "shown": event.text,
                        }
                        with answers.open("a", encoding="utf-8") as out:
                            out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    return reply_of(event)
            raise RuntimeError("no answer")

        async def before(question: str, found: SearchResult) -> Reply:
            return baseline[question]

        try:
            after = await run_eval(items, rt.searcher, answer=grounded)
            seconds = time.perf_counter() - started
            plain = await run_eval(items, rt.searcher, answer=before)
        finally:
            await app.aclose()
    return plain, after, seconds


def table(before: dict[str, Any], after: dict[str, Any]) -> None:
    groups = ["all", *after.get("per_type", {})]

    def pick(report: dict[str, Any], group: str) -> dict[str, Any]:
        return report if group == "all" else report["per_type"][group]

    print(f"| metric | {' | '.join(f'{g} before | {g} after' for g in groups)} |")
    print(f"|---|{'---|---|' * len(groups)}")
    for metric in METRICS:
        cells = []
        for group in groups:
            for report in (before, after):
                value = pick(report, group).get(metric)
                cells.append("n/a" if value is None else f"{value:.2f}")
        print(f"| {metric} | {' | '.join(cells)} |")
    counts = " ".join(f"{g}={pick(after, g)['counts']['questions']}" for g in groups)
    print(f"questions: {counts}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--answers", type=Path, default=None, help="each answer, as JSON lines")
    args = parser.parse_args()
    print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
    before, after, seconds = asyncio.run(evaluate(args.limit, args.answers))
    table(before, after)
    print(f"generation + grounding: {seconds:.0f} s in all")
    print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    if args.out:
        args.out.write_text(json.dumps({"before": before, "after": after}, indent=1))


if __name__ == "__main__":
    main()
