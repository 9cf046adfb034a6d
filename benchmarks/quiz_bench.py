"""Quiz generation benchmark: prints figures, asserts nothing.

On the first N passages of the git corpus (documents interleaved, as `learnloop quiz generate`
picks them):
1. the model writer (the packaged SmolLM2-135M behind the embedded server, in its own
   process, on CPU) with the cloze fallback: items per minute, the share of model items that
   passed the rules (and why the others failed), the share served by the cloze generator;
2. the cloze generator alone on the same passages: items per minute;
3. the kept items under a check written apart from the rules (tests/quiz_check.py).

Usage: python benchmarks/quiz_bench.py [--items 12] [--concurrency 4] [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the independent item check shared with the tests

from bot.adapters.material import material_passages  # noqa: E402
from bot.adapters.quiz_writer import ModelQuizWriter  # noqa: E402
from bot.bootstrap import build_retrieval_from, limit_blas_threads  # noqa: E402
from bot.domain.quiz import Passage, QuizItem, problems, vocabulary_of  # noqa: E402
from bot.runtime.inference import EmbeddedServer  # noqa: E402
from bot.services.quiz_writing import GenerationReport, generate  # noqa: E402
from inference.client import ChatClient  # noqa: E402
from inference.models import SERVED_NAME  # noqa: E402
from retrieval.embedding import Embedder, resolve_embedding_path  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.quiz_check import as_json, corpus_texts, independently_valid  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus"


class RecordingWriter:
    """The model writer, keeping every draft so rejected ones can be inspected."""

    def __init__(self, writer: ModelQuizWriter) -> None:
        self.writer = writer
        self.drafts: list[tuple[Passage, QuizItem | None]] = []

    async def write(self, passage: Passage) -> QuizItem | None:
        draft = await self.writer.write(passage)
        self.drafts.append((passage, draft))
        return draft


async def with_model(
    url: str, passages: Sequence[Passage], vocabulary: list[str], concurrency: int
) -> tuple[list[QuizItem], GenerationReport, RecordingWriter]:
    client = ChatClient(url, SERVED_NAME)
    writer = RecordingWriter(ModelQuizWriter(client))
    try:
        items, report = await generate(
            passages, len(passages), writer, vocabulary, concurrency=concurrency
        )
    finally:
        await client.close()
    return items, report, writer


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"


def valid(items: Sequence[QuizItem], texts: list[str]) -> str:
    return share(sum(independently_valid(as_json(i), texts) for i in items), len(items))


def show(drafts: Sequence[tuple[Passage, QuizItem | None]]) -> None:
    print("\nmodel drafts:")
    for passage, draft in drafts:
        print(f"- [{passage.source} › {passage.section}]")
        if draft is None:
            print("    no valid JSON item")
            continue
        print(f"    Q: {draft.question}")
        for i, option in enumerate(draft.options):
            print(f"    {'*' if i == draft.correct else ' '} {option}")
        print(f"    rules: {'; '.join(problems(draft)) or 'pass'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=12, help="passages to write items on")
    parser.add_argument("--concurrency", type=int, default=4, help="model requests at once")
    parser.add_argument("--show", action="store_true", help="print every model draft")
    args = parser.parse_args()
    limit_blas_threads()
    embedder = Embedder(resolve_embedding_path(""))
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(port=free_port()) as server:
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        rt.ingestor.ingest_paths([CORPUS])
        material = material_passages(rt)
        passages, vocabulary, texts = (
            material[: args.items],
            vocabulary_of(material),
            corpus_texts(rt),
        )
        documents = len(rt.store.documents())
        start = time.perf_counter()
        url = server.start()
        startup = time.perf_counter() - start
        items, report, writer = asyncio.run(with_model(url, passages, vocabulary, args.concurrency))
    cloze, cloze_report = asyncio.run(generate(passages, len(passages), None, vocabulary))

    model_kept = [i for i in items if i.origin == "model"]
    served_cloze = [i for i in items if i.origin == "cloze"]
    drafts = [d for _, d in writer.drafts if d is not None]
    print(
        f"quiz generation on {len(passages)} passages of {documents} corpus "
        f"documents (CPU, {SERVED_NAME}, {args.concurrency} requests at once; "
        f"server start {startup:.1f} s, not counted)"
    )
    print(f"  {'':34s} {'items':>6s} {'seconds':>9s} {'items/min':>10s}")
    rows = [
        ("model drafts (JSON that parsed)", len(drafts), report.seconds),
        ("served, model + cloze fallback", len(items), report.seconds),
        ("cloze generator alone", len(cloze), cloze_report.seconds),
    ]
    for name, count, seconds in rows:
        print(f"  {name:34s} {count:6d} {seconds:9.2f} {count / seconds * 60:10.1f}")
    print(f"  model items that passed the rules:    {share(report.model_kept, report.model_tried)}")
    print(f"  served by the cloze generator:        {share(report.cloze_kept, len(items))}")
    print(f"  passages with no item at all:         {len(passages) - len(items)}")
    reasons = ", ".join(f"{reason} ({n})" for reason, n in report.reasons.most_common())
    print(f"  rejections (an item may have several): {reasons or 'none'}")
    print("  independent check (tests/quiz_check.py), share valid:")
    print(f"    model items kept                    {valid(model_kept, texts)}")
    print(f"    cloze items served with the model   {valid(served_cloze, texts)}")
    print(f"    cloze generator alone               {valid(cloze, texts)}")
    print(f"    every parsed model draft, unjudged  {valid(drafts, texts)}")
    if args.show:
        show(writer.drafts)


if __name__ == "__main__":
    main()
