"""`learnloop` command line: ingest, search, stats, delete, eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from bot.bootstrap import Retrieval

app = typer.Typer(
    help="LearnLoop: answers, quizzes and learning plans from your training material.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
out = Console(soft_wrap=True)


def _retrieval() -> Retrieval:
    """Build the retrieval stack, or exit with the reason it cannot be built."""
    from bot.bootstrap import build_retrieval, configure_logging
    from bot.settings import Settings
    from retrieval.errors import RetrievalError
    from retrieval.settings import RetrievalSettings

    settings = Settings()
    configure_logging(settings.log_level)
    try:
        return build_retrieval(settings, RetrievalSettings())
    except RetrievalError as exc:
        _fail(exc.message)


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    audience: Annotated[
        list[str] | None,
        typer.Option("--audience", "-a", help="Group allowed to see it (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Parse, chunk, embed and index training material."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from retrieval.errors import RetrievalError
    from retrieval.ingest import IngestReport, expand_paths
    from retrieval.store import normalise_audiences

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        groups = normalise_audiences(audience or ["everyone"])
    except RetrievalError as exc:
        _fail(exc.message)
    files = expand_paths(paths)
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
                    }
                    for r in reports
                ],
            }
        )
    else:
        table = Table(title="Ingestion summary")
        for column in ("File", "Status", "Chunks", "Reason"):
            table.add_column(column)
        for r in reports:
            style = "red" if not r.ok else ("dim" if r.status == "unchanged" else "green")
            table.add_row(r.source, f"[{style}]{r.status}[/]", str(r.chunks), r.reason)
        out.print(table)
        out.print(
            f"{len(done)} document(s), {sum(r.chunks for r in done)} chunk(s); "
            f"{len(skipped)} skipped"
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
        out.print(f"\n[bold]{n}. {p.title} › {p.section}[/] ({p.source}, score {p.score:.4f})")
        out.print(p.text[:600] + ("…" if len(p.text) > 600 else ""))


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
        table.add_row(d.source, d.title, str(d.chunks), ", ".join(d.audiences), d.ingested_at)
    out.print(table)


@app.command()
def delete(source: Annotated[str, typer.Argument(help="File name as shown by `stats`.")]) -> None:
    """Remove a document and all its chunks."""
    removed = _retrieval().store.remove(source)
    if removed is None:
        _fail(f"no document named {source!r}; `learnloop stats` lists them")
    out.print(f"Deleted {source} ({removed.chunks} chunks)")


@app.command("eval")
def evaluate(
    qa_file: Annotated[Path, typer.Argument(help="QA set, one JSON object a line.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50)] = 5,
    no_generate: Annotated[
        bool, typer.Option("--no-generate", help="Score retrieval and refusals only.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score retrieval hit@k, refusals and (with generation) answers on a QA set."""
    from bot.core.evaluation import parse_qa
    from bot.evaluation import run_eval

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
    if not no_generate:
        console.print(
            "[yellow]note:[/] answer generation is not available yet; scoring retrieval only"
        )
    report = run_eval(items, rt.searcher, k=k)
    if as_json:
        _print_json(report)
        return
    table = Table(title=f"{qa_file.name}: {len(items)} questions")
    table.add_column("Metric")
    table.add_column("Value")
    for key in (
        "hit_at_k",
        "refusal_correct",
        "answerable_accepted",
        "out_of_material_refused",
        "answer_contains",
    ):
        value = report[key]
        table.add_row(key.replace("_at_k", f"@{k}"), "n/a" if value is None else f"{value:.3f}")
    out.print(table)


@app.command()
def models() -> None:
    """Prepare the packaged models (converting the GGUF once) and show where they are."""
    from bot.settings import Settings
    from inference.models import ModelNotFound, generation_model_path
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


SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample"


@app.command()
def up() -> None:
    """Start LearnLoop on its embedded defaults: index the sample material on first run,
    then open a terminal session over it (Ctrl-D or Ctrl-C to stop)."""
    rt = _retrieval()
    if rt.store.count() == 0 and SAMPLE_DIR.is_dir():
        console.print(f"First run: indexing the sample material in {SAMPLE_DIR} ...")
        reports = rt.ingestor.ingest_paths([SAMPLE_DIR])
        chunks = sum(r.chunks for r in reports if r.ok)
        console.print(f"Indexed {sum(r.ok for r in reports)} documents ({chunks} chunks).")
    docs = rt.store.documents()
    console.print(
        f"[bold]LearnLoop[/] is ready: {len(docs)} documents indexed. Ask a question about the "
        "material (Ctrl-D to quit). No chat surface is configured, so this terminal is it."
    )
    while True:
        try:
            question = console.input("[bold cyan]you>[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not question:
            continue
        result = rt.searcher.search(question, k=3)
        if not result.relevant:
            topics = "; ".join(result.topics) or "nothing yet"
            out.print(f"The material does not cover that. Closest topics: {topics}")
            continue
        for n, p in enumerate(result.passages, start=1):
            out.print(f"[bold][{n}] {p.title} › {p.section}[/] ({p.source})")
            out.print(p.text[:500] + ("…" if len(p.text) > 500 else ""))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
