"""`learnloop quiz generate`: grounded multiple-choice items from the indexed material."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.domain.quiz import QuizItem
from bot.services.quiz_writing import GenerationReport
from bot.surfaces.cli.common import _fail, _print_json, _retrieval, console, lit, out, the_app

quiz_app = typer.Typer(help="Quizzes from the material.", no_args_is_help=True)


@quiz_app.command("generate")
def generate_items(
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=200)] = 5,
    topic: Annotated[str, typer.Option("--topic", "-t", help="Ask about this topic.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the items as JSON.")] = False,
    model: Annotated[
        bool, typer.Option("--model/--no-model", help="Let the model write items first.")
    ] = True,
) -> None:
    """Generate quiz items; the model's where they pass the checks, cloze items otherwise."""
    from bot.adapters.material import material_passages
    from bot.adapters.quiz_writer import ModelQuizWriter
    from bot.domain.quiz import vocabulary_of
    from bot.services.quiz_writing import generate, item_json

    rt = _retrieval()
    passages = material_passages(rt, topic)
    if not passages:
        _fail("no material to ask about: ingest some first (learnloop ingest PATH)")
    vocabulary = vocabulary_of(material_passages(rt)) if topic else None
    app = the_app()

    async def run() -> tuple[list[QuizItem], GenerationReport]:
        client = app.chat_client() if model else None
        try:
            writer = ModelQuizWriter(client) if client is not None else None
            return await generate(passages, count, writer, vocabulary)
        finally:
            if client is not None:
                await client.close()

    try:
        if as_json:
            items, report = asyncio.run(run())
        else:
            with console.status("Writing quiz items"):
                items, report = asyncio.run(run())
    finally:
        app.close()
    summary = {
        "kept": len(items),
        "model_tried": report.model_tried,
        "model_kept": report.model_kept,
        "cloze_kept": report.cloze_kept,
        "items_per_minute": round(report.per_minute, 1),
        "discard_reasons": dict(report.reasons),
    }
    if as_json:
        _print_json({"items": [item_json(i) for i in items], "report": summary})
        return
    for n, item in enumerate(items, 1):
        out.print(
            f"[bold]{n}. {lit(item.question)}[/bold]  ({item.origin}; {lit(item.passage.source)})"
        )
        for i, option in enumerate(item.options):
            mark = "✓" if i == item.correct else " "
            out.print(f"   {mark} {chr(65 + i)}. {lit(option)}")
    out.print(
        f"{len(items)} items ({report.model_kept} by the model of {report.model_tried} tried, "
        f"{report.cloze_kept} cloze), {report.per_minute:.1f} per minute"
    )
