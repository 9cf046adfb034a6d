"""`learnloop` command line: ingest, search, stats, delete, eval."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bot.domain import labels
from bot.surfaces.cli import access, chat, doctor, jobs, kg, learning, quiz, training
from bot.surfaces.cli.common import _fail, _print_json, _retrieval, console, lit, out

if TYPE_CHECKING:
    from bot.adapters.search import Retrieval
    from bot.domain.scoring import QAItem

app = typer.Typer(
    help="LearnLoop: answers, quizzes and learning plans from your training material.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    audience: Annotated[
        list[str] | None,
        typer.Option("--audience", "-a", help="Group allowed to see it (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    queue: Annotated[
        bool, typer.Option("--queue", help="Hand the files to a worker; print the job id.")
    ] = False,
) -> None:
    """Parse, chunk, embed and index training material."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from retrieval.errors import RetrievalError
    from retrieval.identity import expand_sources
    from retrieval.ingest import IngestReport
    from retrieval.store import normalise_audiences

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        groups = normalise_audiences(audience or ["everyone"])
    except RetrievalError as exc:
        _fail(exc.message)
    files = expand_sources(paths)  # each with its document name (path under its folder)
    if queue:
        jobs.enqueue([f.path for f in files], groups, as_json, [f.identity for f in files])
        return
    rt = _retrieval()
    reports: list[IngestReport] = []
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=as_json or not console.is_terminal,
    ) as bar:
        task = bar.add_task("Ingesting", total=len(files))

        def advance(report: IngestReport) -> None:
            bar.update(task, advance=1, description=f"Ingesting {report.source}")

        reports = rt.ingestor.ingest_paths(files, groups, progress=advance)
    done = [r for r in reports if r.ok]
    skipped = [r for r in reports if not r.ok]
    if as_json:
        _print_json(
            {
                "documents": len(done),
                "chunks": sum(r.chunks for r in done),
                "files": [
                    {
                        "source": r.source,
                        "status": r.status,
                        "chunks": r.chunks,
                        "code": r.code or None,
                        "reason": r.reason or None,
                        "read": r.reading.as_dict() if r.reading is not None else None,
                    }
                    for r in reports
                ],
            }
        )
    else:
        table = Table(title="Ingestion summary")
        for column in ("File", "Status", "Chunks", "Reason / what was read"):
            table.add_column(column)
        for r in reports:
            style = "red" if not r.ok else ("dim" if r.status == "unchanged" else "green")
            read = r.reading.report_lines() if r.reading is not None else []
            details = "\n".join([r.reason, *read] if r.reason else read)
            table.add_row(lit(r.source), f"[{style}]{r.status}[/]", str(r.chunks), lit(details))
        out.print(table)
        out.print(
            f"{len(done)} document(s), {sum(r.chunks for r in done)} chunk(s); "
            f"{len(skipped)} skipped"
        )
        out.print(
            "[dim]Files are named by their path under the folder given (a file given on its "
            "own by its name); ingesting a name again makes a new version of it.[/]"
        )
    if reports and not done:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="Passages to return.")] = 5,
    audience: Annotated[
        list[str] | None,
        typer.Option("--audience", "-a", help="Search as a member of GROUP (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Hybrid search over the indexed material, with a relevance verdict."""
    from retrieval.store import normalise_audiences

    groups = sorted({"everyone", *normalise_audiences(audience or ["everyone"])})
    result = _retrieval().searcher.search(query, k=k, audiences=groups)
    if as_json:
        _print_json(
            {
                "relevant": result.relevant,
                "passages": [
                    {"source": p.source, "section": p.section, "text": p.text, "score": p.score}
                    for p in result.passages
                ],
            }
        )
        return
    verdict = "[green]relevant[/]" if result.relevant else "[yellow]not covered by the material[/]"
    out.print(f"Verdict: {verdict}")
    for n, p in enumerate(result.passages, start=1):
        where = lit(labels.where(p.title or p.source, p.section))
        out.print(f"\n[bold]{n}. {where}[/] ({lit(p.source)}, score {p.score:.4f})")
        out.print(lit(p.text[:600] + ("…" if len(p.text) > 600 else "")))


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Documents and chunks in the index."""
    docs = _retrieval().store.documents()
    data = {
        "documents": len(docs),
        "chunks": sum(d.chunks for d in docs),
        "per_document": [
            {
                "source": d.source,
                "title": d.title,
                "chunks": d.chunks,
                "audience": list(d.audiences),
                "ingested_at": d.ingested_at,
            }
            for d in docs
        ],
    }
    if as_json:
        _print_json(data)
        return
    table = Table(title=f"{data['documents']} documents, {data['chunks']} chunks")
    for column in ("Source", "Title", "Chunks", "Audience", "Ingested"):
        table.add_column(column)
    for d in docs:
        table.add_row(
            lit(d.source), lit(d.title), str(d.chunks), ", ".join(d.audiences), d.ingested_at
        )
    out.print(table)


@app.command()
def delete(
    source: Annotated[str, typer.Argument(help="Document name as shown by `stats`.")],
) -> None:
    """Remove a document and all its chunks (a bare file name will do if it is unique)."""
    from retrieval.errors import RetrievalError

    try:
        removed = _retrieval().store.remove(source)
    except RetrievalError as exc:
        _fail(exc.message)
    if removed is None:
        _fail(f"no document named {source!r}; `learnloop stats` lists them")
    out.print(f"Deleted {lit(removed.source)} ({removed.chunks} chunks)")


@app.command("eval")
def evaluate(
    qa_file: Annotated[Path, typer.Argument(help="QA set, one JSON object a line.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50)] = 5,
    no_generate: Annotated[
        bool, typer.Option("--no-generate", help="Score retrieval and refusals only.")
    ] = False,
    no_grounding: Annotated[
        bool,
        typer.Option(
            "--no-grounding", help="Show the model's text as written (the baseline): no quotes."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score retrieval hit@k, refusals and (with generation) answers on a QA set, overall
    and per question type."""
    from bot.domain.scoring import parse_qa

    if not qa_file.is_file():
        _fail(f"no such QA file: {qa_file}")
    try:
        items = parse_qa(qa_file.read_text(encoding="utf-8").splitlines())
    except ValueError as exc:
        _fail(f"{qa_file}: {exc}")
    if not items:
        _fail(f"{qa_file} has no questions")
    rt = _retrieval()
    if rt.store.count() == 0:
        _fail("the index is empty: run `learnloop ingest PATH` first")
    report = asyncio.run(
        _evaluate(rt, items, k, generate=not no_generate, grounding=not no_grounding)
    )
    if as_json:
        _print_json(report)
        return
    table = Table(title=f"{qa_file.name}: {len(items)} questions")
    table.add_column("Metric")
    groups = {"all": report, **report.get("per_type", {})}
    for name in groups:
        table.add_column(name)
    for key in (
        "hit_at_k",
        "refusal_correct",
        "answerable_accepted",
        "out_of_material_refused",
        "answer_contains",
        "raw_contains",
        "citation_rate",
        "answer_refusal_correct",
        "grounding_ms_p50",
    ):
        cells = [g.get(key) for g in groups.values()]
        table.add_row(
            key.replace("_at_k", f"@{k}"),
            *("n/a" if v is None else f"{v:.3f}" if v <= 1 else f"{v:.0f}" for v in cells),
        )
    out.print(table)


@app.command()
def models() -> None:
    """Prepare the packaged models (converting the GGUF once) and show where they are."""
    from bot.settings import Settings
    from inference.errors import ModelNotFound
    from inference.models import generation_model_path
    from inference.settings import InferenceSettings
    from retrieval.embedding import resolve_embedding_path
    from retrieval.errors import ModelMissing
    from retrieval.settings import RetrievalSettings

    try:
        embedding = resolve_embedding_path(RetrievalSettings().embedding_model)
        with console.status("Preparing the generation model (first run: about a minute)"):
            generation = generation_model_path(
                InferenceSettings().generation_model, Settings().data_dir
            )
    except (ModelMissing, ModelNotFound) as exc:
        _fail(str(exc))
    out.print(f"embedding model:  {embedding}")
    out.print(f"generation model: {generation}")


@app.command()
def migrate(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Bring the database schema up to date (the one-shot job of a deployment whose
    processes run with LEARNLOOP_MIGRATE_ON_START=false)."""
    from bot.adapters.store import database_url, make_engine, upgrade
    from bot.adapters.store.db import current_revision
    from bot.domain.errors import StoreUnavailable
    from bot.settings import Settings

    settings = Settings()
    engine = make_engine(
        database_url(settings.database_url, settings.data_dir), settings.database_timeout_seconds
    )
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    except StoreUnavailable as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        _print_json({"from": before, "to": after})
    else:
        out.print(f"database schema: {before or 'empty'} -> {after}")


app.command()(doctor.doctor)
app.command()(chat.ask)
app.command()(chat.chat)
app.command("serve-inference")(chat.serve_inference)
app.add_typer(jobs.jobs_app, name="jobs")
app.add_typer(access.access_app, name="access")
app.add_typer(quiz.quiz_app, name="quiz")
app.add_typer(kg.kg_app, name="kg")
app.command()(learning.progress)
app.command()(learning.report)
app.command()(jobs.worker)
app.command()(jobs.beat)
app.command()(training.train)
app.add_typer(training.adapters_app, name="adapters")


async def _evaluate(
    rt: Retrieval, items: list[QAItem], k: int, generate: bool, grounding: bool = True
) -> dict[str, Any]:
    from bot.adapters.search import findings_of
    from bot.domain.answering import Answer
    from bot.domain.errors import LearnLoopError
    from bot.domain.scoring import Reply
    from bot.services.answers import AnswerService
    from bot.services.evaluation import reply_of, run_eval
    from bot.surfaces.cli.common import the_app
    from retrieval.types import SearchResult

    if not generate:
        return await run_eval(items, rt.searcher, k=k)
    app = the_app()
    # --no-grounding: the same parts with the model's text shown as written (the baseline)
    service = app.answers if grounding else AnswerService(app.retriever, app.model)

    async def answer(question: str, found: SearchResult) -> Reply:
        async for event in service.answer(question, findings_of(found)):
            if isinstance(event, Answer):
                return reply_of(event)
        raise RuntimeError("the answer stream ended without an answer")

    try:
        return await run_eval(items, rt.searcher, k=k, answer=answer)
    except LearnLoopError as exc:
        _fail(exc.message)
    finally:
        await the_app().aclose()
