"""`learnloop train` and `learnloop adapters`: the learning loop from a terminal.

Training runs on a worker on the `training` queue (`learnloop worker -Q training`); these
commands queue it, preview its dataset, and manage the adapters it made."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Column, Table

from bot.surfaces.cli.common import _fail, _print_json, console, lit, out, the_app

if TYPE_CHECKING:
    from training.registry import AdapterRecord, AdapterRegistry
    from training.serving import Reconciled

adapters_app = typer.Typer(
    help="LoRA adapters the learning loop trained: list, show, promote, roll back.",
    no_args_is_help=True,
)
JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def train(
    now: Annotated[
        bool, typer.Option("--now", help="Train even if too little is new since the last run.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Build and export the dataset; train nothing."),
    ] = False,
    as_json: JSON = False,
) -> None:
    """Queue a training run when enough new examples exist (or --now); --dry-run previews."""
    from bot.domain.errors import LearnLoopError
    from training.errors import TrainingError

    app = the_app()
    ts = app.training_settings
    try:
        service = app.training
        if dry_run:
            _dry_run(service, ts, as_json)
            return
        asked = service.request(force=now, requested_by="cli")
    except (LearnLoopError, TrainingError) as exc:
        _fail(exc.message)
    finally:
        app.close()
    ready = asked.readiness.as_dict()
    if as_json:
        _print_json({"job": asked.job.id if asked.job else None, "reason": asked.reason, **ready})
    elif asked.job is not None:
        out.print(
            f"{asked.job.id} queued: {ready['new_feedback']} rated answers and "
            f"{ready['new_passages']} passages are new. A worker on the training queue runs "
            "it (`learnloop worker -Q training`); `learnloop jobs` shows its progress."
        )
    else:
        out.print(f"Not training: {lit(asked.reason)}.")


def _dry_run(service: Any, ts: Any, as_json: bool) -> None:
    from bot.services.training import feedback_items
    from bot.surfaces.cli.common import _retrieval
    from training.corpus import catalog_passages
    from training.dataset import BuildOptions, build_dataset, export_jsonl, split
    from training.scrub import Identities

    names, emails, ids = service.records.identities()
    dataset = build_dataset(
        catalog_passages(_retrieval().store),
        feedback_items(service.records.rated()),
        Identities(tuple(names), tuple(emails), tuple(ids)),
        BuildOptions(allowed_audiences=ts.allowed_audiences()),
    )
    path = export_jsonl(dataset, the_app().settings.data_dir / "training" / "datasets")
    train_set, heldout = split(dataset.examples, ts.train_heldout_share)
    report = {
        **service.readiness().as_dict(),
        "dataset": dataset.version,
        "file": str(path),
        "examples": dataset.counts(),
        "train": len(train_set),
        "heldout": len(heldout),
    }
    if as_json:
        _print_json(report)
        return
    counts = ", ".join(f"{n} {origin}" for origin, n in sorted(dataset.counts().items()))
    out.print(f"Dataset {dataset.version}: {counts or 'no examples'} -> {lit(path)}")
    out.print(f"{len(train_set)} to train on, {len(heldout)} held out for the gate.")
    verdict = "would start" if report["due"] else "would not start"
    out.print(
        f"{report['new_feedback'] + report['new_passages']} new since the last run: the "
        f"schedule {verdict} a run (threshold {report['threshold']})."
    )


def _registry() -> tuple[AdapterRegistry, tuple[str, ...], str]:
    """The registry, every server that must serve the active adapter, and their API key."""
    from training.settings import adapter_server_urls

    app = the_app()
    inf = app.inference_settings
    urls = adapter_server_urls(app.training_settings, inf.inference_url, inf.inference_port)
    return app.adapter_registry, urls, inf.inference_api_key.get_secret_value()


@contextmanager
def _plainly() -> Iterator[None]:
    """A registry that refuses (an unknown name, no adapter to roll back to) or a database
    that cannot be reached: one sentence and exit code 1."""
    from bot.domain.errors import LearnLoopError
    from training.errors import TrainingError

    try:
        yield
    except (LearnLoopError, TrainingError) as exc:
        _fail(exc.message)


def _plain(record: AdapterRecord) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(record)


@adapters_app.command("list")
def list_adapters(as_json: JSON = False) -> None:
    """Every adapter, newest first, with its status and held-out scores."""
    with _plainly():
        registry, _, _ = _registry()
        records = sorted(registry.records(), key=lambda r: r.version, reverse=True)
    if as_json:
        _print_json([_plain(r) for r in records])
        return
    if not records:
        out.print("No adapters yet: `learnloop train` queues a training run.")
        return
    # names and states are never cut short on a narrow terminal: the dates give way first
    table = Table(
        Column("name", no_wrap=True, min_width=max(len(r.name) for r in records)),
        Column("status", no_wrap=True, min_width=max(len(r.status) for r in records)),
        "citation rate",
        "key accuracy",
        "refusals",
        "created",
    )
    for r in records:
        m = r.metrics
        table.add_row(
            r.name,
            r.status,
            *(f"{m[k]:.2f}" if k in m else "-" for k in METRICS),
            r.created_at,
        )
    out.print(table)


METRICS = ("citation_rate", "key_accuracy", "refusal_correct")


@adapters_app.command()
def show(
    name: Annotated[str, typer.Argument(help="An adapter's name, e.g. learnloop-v3.")],
    as_json: JSON = False,
) -> None:
    """One adapter: its base model, prompt, dataset, gate report and files."""
    with _plainly():
        registry, _, _ = _registry()
        record = registry.get(name)
    if as_json:
        _print_json(_plain(record))
        return
    for key in ("name", "status", "base_model", "prompt_version", "dataset_hash", "path"):
        out.print(f"{key}: {lit(getattr(record, key))}")
    for reason in record.report.get("reasons", []):
        out.print(f"gate: {lit(reason)}")


@adapters_app.command()
def promote(
    name: Annotated[str, typer.Argument(help="The adapter to serve to everyone.")],
    as_json: JSON = False,
) -> None:
    """Serve this adapter now (the gate's verdict notwithstanding): every server loads it."""
    with _plainly():
        registry, urls, key = _registry()
        record = registry.promote(name)
    _served(record, urls, key, as_json)


@adapters_app.command()
def rollback(as_json: JSON = False) -> None:
    """Return at once to the adapter active before this one (or to the base model)."""
    with _plainly():
        registry, urls, key = _registry()
        record = registry.rollback()
    _served(record, urls, key, as_json)


def _served(record: AdapterRecord | None, urls: tuple[str, ...], key: str, as_json: bool) -> None:
    """Reconcile every server now; a server that cannot be reached gets it on the next pass."""
    from training.serving import reconcile_urls

    results = reconcile_urls(urls, record, key)
    if as_json:
        _print_json({"active": record.name if record else None, "servers": _servers(results)})
        return
    out.print(f"Serving {record.name if record else 'the base model'}.")
    for r in results:
        if r.error:
            console.print(
                f"[yellow]warning:[/] {lit(r.error)} (the reconcile pass retries it)",
                soft_wrap=True,
            )


def _servers(results: list[Reconciled]) -> list[dict[str, Any]]:
    return [
        {"url": r.url, "loaded": list(r.loaded), "unloaded": list(r.unloaded), "error": r.error}
        for r in results
    ]
