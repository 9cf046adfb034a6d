"""`learnloop adapters` and `learnloop train` against the real embedded server: promotion
loads an adapter where it is served, rollback returns to the one before at once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.adapters.adapter_model import ActiveAdapter, AdapterChatModel
from bot.adapters.store import database_url, open_store
from bot.adapters.store.registry import SqlRegistry
from bot.domain.answering import Answer, Source
from bot.domain.conversation import Place
from bot.domain.feedback import answer_record
from bot.domain.ports import Findings
from bot.main import app
from bot.services.answers import AnswerService
from inference.client import ChatClient
from inference.models import SERVED_NAME
from tests.fakes import FakeRetriever
from training.prompt import PROMPT_VERSION
from training.serving import reconcile_urls

GIVEN = (Source(1, "leave.md", "Leave", "Days", "Leave is 25 days a year.", version="v1"),)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, generation_model) -> Path:
    """A real PEFT LoRA folder on the packaged model (untrained: B starts at zero)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(generation_model))
    model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    folder = tmp_path_factory.mktemp("lora")
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture
def site(tmp_path, adapter, inference_server, generation_model):
    env = {
        "LEARNLOOP_DATA_DIR": str(tmp_path / "data"),
        "LEARNLOOP_DATABASE_URL": "",
        "LEARNLOOP_BROKER_URL": "",
        "LEARNLOOP_INFERENCE_URL": inference_server,
        "LEARNLOOP_GENERATION_MODEL": str(generation_model),
        "LEARNLOOP_ADAPTER_DIR": str(tmp_path / "adapters"),
        "LEARNLOOP_ADAPTER_SERVERS": "",
    }
    # the database the commands open (SQLite in the data dir), as the training worker fills it
    engine, sessions = open_store(database_url("", tmp_path / "data"))
    registry = SqlRegistry(sessions, tmp_path / "adapters", SERVED_NAME)
    for _ in range(2):
        registry.register(adapter, SERVED_NAME, PROMPT_VERSION, "d" * 16)
    env["registry"] = registry
    root = inference_server.removesuffix("/v1")

    def unload_ours() -> None:  # the suite's shared server: start and leave it clean
        for name in served(inference_server):
            httpx.post(f"{root}/v1/unload_lora_adapter", json={"lora_name": name}, timeout=30)

    unload_ours()
    yield env
    unload_ours()
    engine.dispose()


def cli(env, *args, ok=True):
    """`learnloop ARGS` in this process, as one command: its own App, closed after."""
    from bot.surfaces.cli.common import the_app

    the_app.cache_clear()  # each command is a process of its own: no App from another test
    try:
        settings = {k: v for k, v in env.items() if isinstance(v, str)}  # not the registry
        result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **settings})
    finally:
        if the_app.cache_info().currsize:
            the_app().close()
        the_app.cache_clear()
    assert (result.exit_code == 0) == ok, result.output
    return result


def served(inference_server) -> set[str]:
    models = httpx.get(f"{inference_server}/models", timeout=30).json()["data"]
    return {m["id"] for m in models if m.get("parent")}


def test_promote_serves_an_adapter_and_rollback_returns_to_the_one_before(site, inference_server):
    listed = json.loads(cli(site, "adapters", "list", "--json").stdout)
    assert [(a["name"], a["status"]) for a in listed] == [
        ("learnloop-v2", "candidate"),
        ("learnloop-v1", "candidate"),
    ]
    first = json.loads(cli(site, "adapters", "promote", "learnloop-v1", "--json").stdout)
    assert first["active"] == "learnloop-v1" and first["servers"][0]["loaded"] == ["learnloop-v1"]
    second = json.loads(cli(site, "adapters", "promote", "learnloop-v2", "--json").stdout)
    assert second["servers"][0]["unloaded"] == ["learnloop-v1"]
    assert served(inference_server) == {"learnloop-v2"}

    back = json.loads(cli(site, "adapters", "rollback", "--json").stdout)
    assert back["active"] == "learnloop-v1"
    assert served(inference_server) == {"learnloop-v1"}  # at once, on the server
    shown = json.loads(cli(site, "adapters", "show", "learnloop-v2", "--json").stdout)
    assert shown["status"] == "rolled_back"

    assert "Serving the base model." in cli(site, "adapters", "rollback").stdout
    assert served(inference_server) == set()
    refused = cli(site, "adapters", "rollback", ok=False)
    assert "no adapter is active" in refused.output and "Traceback" not in refused.output
    unknown = cli(site, "adapters", "show", "learnloop-v9", ok=False)
    assert "there is no adapter named learnloop-v9" in unknown.output
    table = cli({**site, "COLUMNS": "200"}, "adapters", "list").stdout
    assert "learnloop-v1" in table and "rolled_back" in table and "active" not in table


def test_train_queues_one_job_only_when_asked_or_when_enough_is_new(site):
    quiet = json.loads(cli(site, "train", "--json").stdout)
    assert quiet["job"] is None and quiet["new_feedback"] == 0
    assert quiet["reason"].startswith("0 new examples since the last run")
    forced = json.loads(cli(site, "train", "--now", "--json").stdout)
    assert forced["job"] and forced["reason"] == ""
    again = cli(site, "train", "--now").stdout
    assert f"training job {forced['job']} is already queued" in again
    jobs = json.loads(cli(site, "jobs", "--json").stdout)
    assert [(j["kind"], j["status"]) for j in jobs] == [("train", "queued")]


def test_answers_ask_for_the_active_adapter_and_record_it(site, inference_server):
    registry = site["registry"]
    active = ActiveAdapter(registry.active, 0)

    def answer() -> Answer:
        model = AdapterChatModel(ChatClient(inference_server, SERVED_NAME), active)
        retriever = FakeRetriever(Findings(True, GIVEN, ()))
        service = AnswerService(retriever, model, max_answer_tokens=8)

        async def run():
            events = [e async for e in service.ask_stream("How long is leave?", ("everyone",))]
            await model.aclose()
            return events[-1]

        return asyncio.run(run())

    assert answer().model == SERVED_NAME  # nothing active: the base model
    registry.promote("learnloop-v1")  # active, but no server has loaded it yet
    assert answer().model == SERVED_NAME  # asked for it, got 404, answered with the base
    reconcile_urls([inference_server], registry.active())
    given = answer()
    assert given.model == "learnloop-v1"
    place = Place("slack", "C1")
    record = answer_record("Leave?", given, "slack:U1", "slack", place, ("everyone",), ())
    assert record.adapter_version == "learnloop-v1"


def test_a_dry_run_exports_the_dataset_without_a_restricted_passage(tmp_path):
    env = {"LEARNLOOP_DATA_DIR": str(tmp_path / "data"), "LEARNLOOP_CHROMA_URL": ""}
    material = tmp_path / "material"
    material.mkdir()
    (material / "deploys.md").write_text(
        "# Deploys\n\n## Freeze\nA deploy freeze is a window when only approved hotfixes ship.\n"
    )
    (material / "salaries.md").write_text(
        "# Salaries\n\n## Bands\nA salary band for level four spans 71000 to 88000 euros.\n"
    )
    cli(env, "ingest", str(material / "deploys.md"))
    cli(env, "ingest", "--audience", "hr", str(material / "salaries.md"))
    report = json.loads(cli(env, "train", "--dry-run", "--json").stdout)
    assert report["examples"].get("material", 0) >= 1 and "job" not in report
    exported = Path(report["file"]).read_text()
    assert "deploy freeze" in exported and "71000" not in exported and "salary" not in exported
    assert json.loads(cli(env, "jobs", "--json").stdout) == []  # nothing was queued


def test_an_answer_records_the_adapter_it_asked_even_if_another_is_promoted_meanwhile(
    site, inference_server
):
    """A promotion lands while an answer is being written, and a second answer already asks
    for the new adapter: each records the adapter its own request named."""
    registry = site["registry"]
    root = inference_server.removesuffix("/v1")
    for record in registry.records():  # both on the server: neither request gets a 404
        body = {"lora_name": record.name, "lora_path": record.path}
        httpx.post(f"{root}/v1/load_lora_adapter", json=body, timeout=60).raise_for_status()
    registry.promote("learnloop-v1")
    # one model for every answer, as in a bot process; it re-reads the registry every time
    model = AdapterChatModel(
        ChatClient(inference_server, SERVED_NAME), ActiveAdapter(registry.active, 0)
    )
    service = AnswerService(FakeRetriever(Findings(True, GIVEN, ())), model, max_answer_tokens=12)

    async def run() -> tuple[Answer, Answer]:
        first = service.ask_stream("How long is leave?", ("everyone",))
        piece = await anext(first)  # the request is made: learnloop-v1 is writing this one
        assert isinstance(piece, str)
        registry.promote("learnloop-v2")
        second = [e async for e in service.ask_stream("Is leave paid?", ("everyone",))][-1]
        rest = [e async for e in first]
        await model.aclose()
        return rest[-1], second

    first, second = asyncio.run(run())
    assert isinstance(first, Answer) and isinstance(second, Answer)
    assert second.model == "learnloop-v2"
    assert first.model == "learnloop-v1"  # not the adapter promoted while it was written


def test_a_starting_inference_server_is_given_the_active_adapter_from_the_database(
    site, monkeypatch
):
    """`learnloop serve-inference` loads the active adapter at start (a restarted replica
    serves it before any reconcile pass), read from the database, not from a file."""
    from bot.surfaces.cli.chat import _active_adapter
    from bot.surfaces.cli.common import the_app

    for key, value in site.items():
        if isinstance(value, str):
            monkeypatch.setenv(key, value)
    registry = site["registry"]
    the_app.cache_clear()
    try:
        assert _active_adapter(SERVED_NAME) == {}  # nothing active: the base alone
        record = registry.promote("learnloop-v2")
        assert _active_adapter(SERVED_NAME) == {"learnloop-v2": record.path}
        assert _active_adapter("another-base") == {}  # trained on another model: not served
    finally:
        the_app.cache_clear()
