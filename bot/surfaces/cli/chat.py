"""`learnloop ask`, `chat` and `serve-inference`: answering from the command line."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.domain import labels
from bot.surfaces.cli.common import _fail, _print_json, _retrieval, console, lit, out, the_app

if TYPE_CHECKING:
    from bot.domain.answering import Answer, Turn
    from bot.domain.grounded import Quoted
    from bot.services.answers import AnswerService


def _answering() -> AnswerService:
    """The answering service; its model server starts only when a question needs it."""
    _retrieval()  # exit with a sentence if the index cannot be opened
    return the_app().answers


def answer_json(answer: Answer) -> dict[str, Any]:
    def source(s: Any) -> dict[str, Any]:
        return {"n": s.n, "source": s.source, "section": s.section, "text": s.text}

    return {
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [source(s) for s in answer.citations],
        "consulted": [source(s) for s in answer.consulted],
        "quotes": [
            {"quote": q.text, "n": s.n, "source": s.source, "section": s.section}
            for q, s in zip(answer.quotes, answer.quoted_sources, strict=True)
        ],
        "model_text": answer.raw_text,
    }


def print_quotes(event: Quoted) -> None:
    """Quotes from the material, verbatim, each with where it comes from."""
    from bot.domain.grounded import QUOTES_LEAD

    if not event.quotes:
        return
    out.print(f"[bold]{QUOTES_LEAD}[/]")
    for quote, s in zip(event.quotes, event.sources, strict=True):
        out.print(lit(quote.text), style="italic", highlight=False)
        where = labels.where(s.title or s.source, s.section)
        out.print(f"[dim]  — \\[{s.n}] {lit(where)} ({lit(s.source)})[/]")


def print_sources(answer: Answer) -> None:
    listed = answer.citations or answer.consulted
    if not listed:
        return
    out.print("[dim]Sources (" + ("cited" if answer.citations else "consulted") + "):[/]")
    for s in listed:
        where = labels.where(s.title or s.source, s.section)
        out.print(f"[dim]  \\[{s.n}] {lit(where)} ({lit(s.source)})[/]")


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    audience: Annotated[
        list[str] | None, typer.Option("--audience", "-a", help="Ask as a member of GROUP.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Answer a question from the material, with citations (or refuse honestly)."""
    from bot.domain.errors import LearnLoopError

    service = _answering()
    groups = sorted({"everyone", *(audience or [])})

    async def run() -> Answer:
        try:
            return await service.ask(question, groups)
        finally:
            await the_app().aclose()

    try:
        answer = asyncio.run(run())
    except LearnLoopError as exc:
        _fail(exc.message)
    if as_json:
        _print_json(answer_json(answer))
        return
    if answer.quotes:
        from bot.domain.answering import message_text
        from bot.domain.grounded import Quoted

        print_quotes(Quoted(answer.quotes, answer.quoted_sources))
        out.print()
        out.print(lit(message_text(answer)))
    else:
        out.print(lit(answer.text))
    print_sources(answer)


async def _converse(service: AnswerService, audiences: list[str]) -> None:
    try:
        await _converse_loop(service, audiences)
    finally:
        await the_app().aclose()


async def _converse_loop(service: AnswerService, audiences: list[str]) -> None:
    from bot.domain.answering import Answer, Turn
    from bot.domain.errors import LearnLoopError
    from bot.domain.grounded import Quoted

    history: list[Turn] = []
    while True:
        try:
            question = (await asyncio.to_thread(console.input, "[bold cyan]you>[/] ")).strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not question:
            continue
        final: Answer | None = None
        out.print("[bold green]learnloop>[/] ", end="")
        try:
            async for event in service.ask_stream(question, audiences, history):
                if isinstance(event, Answer):
                    final = event
                elif isinstance(event, Quoted):
                    out.print()
                    print_quotes(event)
                    out.print()
                else:
                    out.print(lit(event), end="", highlight=False)
        except LearnLoopError as exc:
            out.print()
            console.print(f"[bold red]error:[/] {lit(exc.message)}")
            continue
        out.print()
        if final is not None:
            print_sources(final)
            history += [Turn("user", question), Turn("assistant", final.text)]


def chat(
    audience: Annotated[list[str] | None, typer.Option("--audience", "-a")] = None,
) -> None:
    """A terminal conversation with the same service, streamed (Ctrl-D to quit)."""
    asyncio.run(_converse(_answering(), sorted({"everyone", *(audience or [])})))


def _active_adapter(base: str) -> dict[str, str]:
    """The learning loop's active adapter, when it was trained on `base` and its files are
    there (a restarted server serves it at once; the reconcile pass covers the rest, also
    when the database cannot be reached now)."""
    from bot.domain.errors import LearnLoopError

    app = the_app()
    try:
        active = app.adapter_registry.active()
    except LearnLoopError as exc:
        console.print(f"[yellow]warning:[/] no adapter served at start: {lit(exc.message)}")
        return {}
    finally:
        app.close()  # the server holds no database connection
    if active is None or active.base_model != base:
        return {}
    if not (Path(active.path) / "adapter_config.json").is_file():
        return {}
    return {active.name: active.path}


def serve_inference(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (LEARNLOOP_INFERENCE_PORT).")] = None,
    api_key: Annotated[
        str, typer.Option(help="Require this bearer key.", envvar="LEARNLOOP_INFERENCE_API_KEY")
    ] = "",
    lora_modules: Annotated[
        list[str] | None,
        typer.Option("--lora-modules", help="Serve a LoRA adapter: NAME=PATH (repeatable)."),
    ] = None,
    max_batch: Annotated[int, typer.Option(help="Requests decoded together.")] = 8,
    max_waiting: Annotated[int, typer.Option(help="Queued requests before 503.")] = 64,
    any_whitespace: Annotated[
        bool,
        typer.Option(
            "--structured-any-whitespace",
            envvar="LEARNLOOP_STRUCTURED_ANY_WHITESPACE",
            help="Let structured JSON hold free whitespace unless a request forbids it.",
        ),
    ] = False,
    exit_with: Annotated[
        int, typer.Option(hidden=True, help="Stop when this parent process is gone.")
    ] = 0,
) -> None:
    """Serve the packaged model over the OpenAI-compatible API (the embedded server).

    Runtime LoRA loading (/v1/load_lora_adapter) is on when VLLM_ALLOW_RUNTIME_LORA_UPDATING=1,
    as in vLLM."""
    from bot.settings import Settings
    from inference.errors import ModelNotFound
    from inference.models import generation_model_path, served_name
    from inference.server import serve
    from inference.settings import InferenceSettings

    if exit_with:
        from bot.runtime.children import watch_parent

        watch_parent(exit_with)
    isettings = InferenceSettings()
    try:
        path = generation_model_path(isettings.generation_model, Settings().data_dir)
    except ModelNotFound as exc:
        _fail(exc.message)
    name = served_name(isettings.generation_model)
    modules = dict(m.split("=", 1) for m in lora_modules or [] if "=" in m)
    if len(modules) != len(lora_modules or []):
        _fail("--lora-modules takes NAME=PATH")
    modules.update(_active_adapter(name))  # served from the start
    console.print(f"serving {name} on http://{host}:{port or isettings.inference_port}/v1")
    with suppress(KeyboardInterrupt):
        serve(
            host,
            port or isettings.inference_port,
            path,
            name,
            api_key,
            lora_modules=modules,
            max_batch=max_batch,
            max_waiting=max_waiting,
            disable_any_whitespace=not any_whitespace,
        )
