"""A learning cycle end to end with fakes: the gate decides, the registry remembers,
and reconcile puts the active adapter on every server."""

from __future__ import annotations

import asyncio
import json

from bot.adapters.store.registry import SqlRegistry
from tests.fakes import FakeAdapterServer, fake_trainer
from training.cycle import CyclePlan, run_cycle
from training.dataset import BuildOptions
from training.examples import Passage
from training.serving import reconcile
from training.train import TrainConfig

BASE = "smollm2-135m-instruct"
PASSAGES = [
    Passage(f"doc{i}.md", f"Doc {i}", "", f"A rule{i} is a promise number {i} the team keeps.")
    for i in range(12)
] + [Passage("hr.md", "HR", "", "A salary band is a range of pay kept private.", ("hr",))]


def plan(tmp_path) -> CyclePlan:
    return CyclePlan(
        train=TrainConfig(base_model=tmp_path / "base", run_dir=tmp_path / "run", max_steps=3),
        served_base=BASE,
        export_dir=tmp_path / "datasets",
        options=BuildOptions(per_prompt=2, refusal_share=0.5),
        heldout_share=0.4,
        min_examples=3,
    )


def model_answers(good: dict[str, str]):
    """The candidate gives the grounded reply; the base and a wrongly trained one do not."""

    def complete(messages, model):
        question = messages[-1]["content"]
        if model == "learnloop-v1":
            return good.get(question, "No idea.")
        if model == "learnloop-v2":
            return "Ask your manager [7]."  # trained on wrong answers: cites nothing given
        return "The team keeps promises."

    return complete


def replies_of(tmp_path) -> dict[str, str]:
    path = next((tmp_path / "datasets").glob("dataset-*.jsonl"))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["prompt"][-1]["content"]: r["completion"][0]["content"] for r in rows}


def test_a_better_candidate_is_promoted_and_a_wrongly_trained_one_rejected(tmp_path, store):
    registry = SqlRegistry(store, tmp_path / "adapters", BASE)
    loaded = []
    train = fake_trainer(tmp_path)
    # the first cycle writes the dataset; its grounded replies are what a good adapter says
    first_plan = plan(tmp_path)
    good: dict[str, str] = {}
    complete = model_answers(good)

    def load(record):
        loaded.append(record.name)
        good.update(replies_of(tmp_path))

    first = run_cycle(
        first_plan,
        PASSAGES,
        [],
        registry=registry,
        load_candidate=load,
        complete=complete,
        trainer=train,
    )
    assert first.adapter is not None and first.verdict is not None
    assert first.verdict.promote, first.verdict.reasons
    assert first.verdict.candidate.citation_rate == 1.0
    assert first.verdict.serving.citation_rate == 0.0
    assert registry.active().name == "learnloop-v1"
    assert registry.get("learnloop-v1").report["promote"] is True

    second = run_cycle(
        first_plan,
        PASSAGES,
        [],
        registry=registry,
        load_candidate=load,
        complete=complete,
        trainer=train,
    )
    assert second.verdict is not None and not second.verdict.promote
    assert registry.get("learnloop-v2").status == "candidate"
    assert registry.active().name == "learnloop-v1"  # the serving one was the baseline
    assert loaded == ["learnloop-v1", "learnloop-v2"]

    trained_on = "\n".join(ex.completion for batch in train.seen for ex in batch)
    assert "salary band" not in trained_on  # the hr passage never reaches the adapter


def test_too_little_data_trains_nothing(tmp_path, store):
    registry = SqlRegistry(store, tmp_path / "adapters", BASE)
    train = fake_trainer(tmp_path)
    result = run_cycle(
        plan(tmp_path),
        PASSAGES[:1],
        [],
        registry=registry,
        load_candidate=lambda r: None,
        complete=lambda m, n: "",
        trainer=train,
    )
    assert result.skipped and result.adapter is None and not train.seen
    assert result.dataset_file.is_file()


def test_reconcile_loads_the_active_adapter_everywhere_and_unloads_old_ones(tmp_path, store):
    registry = SqlRegistry(store, tmp_path / "adapters", BASE)
    adapter = tmp_path / "a"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    v1 = registry.register(adapter, BASE, "p", "d")
    v2 = registry.register(adapter, BASE, "p", "d")
    registry.promote(v2.name)
    restarted = FakeAdapterServer("http://a")  # lost its runtime adapters
    stale = FakeAdapterServer("http://b", {v1.name: v1.path, "tone-x": "/x"})
    dead = FakeAdapterServer("http://c")
    dead.down = True

    results = asyncio.run(reconcile([restarted, stale, dead], registry.active()))
    assert restarted.adapters == {v2.name: v2.path}
    assert stale.adapters == {v2.name: v2.path, "tone-x": "/x"}  # not ours: left alone
    assert results[1].unloaded == (v1.name,)
    assert results[2].error and not results[0].error

    registry.rollback()  # v1 was never active: back to the base model
    asyncio.run(reconcile([restarted, stale], registry.active()))
    assert restarted.adapters == {} and stale.adapters == {"tone-x": "/x"}


def test_settings_become_a_plan_and_a_bad_device_is_one_clear_sentence(tmp_path, monkeypatch):
    import pydantic
    import pytest

    from training.settings import TrainingSettings, cycle_plan

    monkeypatch.setenv("LEARNLOOP_TRAIN_AUDIENCES", "everyone, sales")
    monkeypatch.setenv("LEARNLOOP_GATE_MIN_CITATION_GAIN", "0.2")
    made = cycle_plan(TrainingSettings(), tmp_path / "base", BASE, tmp_path, "r1")
    assert made.options.allowed_audiences == ("everyone", "sales")
    assert made.rule.min_citation_gain == 0.2
    assert made.train.run_dir == tmp_path / "training" / "runs" / "r1"
    monkeypatch.setenv("LEARNLOOP_TRAIN_DEVICE", "tpu")
    with pytest.raises(pydantic.ValidationError, match="'auto', 'cpu' or 'cuda'"):
        TrainingSettings()
