"""The adapter registry: names never reused, one active, the base checked, rollback."""

from __future__ import annotations

import json

import pytest

from training.errors import BaseModelMismatch, NothingToRollBack, UnknownAdapter
from training.registry import JsonRegistry

BASE = "smollm2-135m-instruct"


@pytest.fixture
def adapter(tmp_path):
    folder = tmp_path / "trained"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    return folder


@pytest.fixture
def registry(tmp_path):
    return JsonRegistry(tmp_path / "adapters", served_base=BASE)


def add(registry, adapter, data="d1"):
    return registry.register(adapter, BASE, "p1", data)


def test_each_adapter_gets_a_new_name_and_its_own_folder(registry, adapter):
    first, second = add(registry, adapter), add(registry, adapter, "d2")
    assert (first.name, second.name) == ("learnloop-v1", "learnloop-v2")
    assert first.path != second.path
    assert (registry.root / "learnloop-v2" / "adapter_config.json").is_file()
    assert [r.status for r in registry.records()] == ["candidate", "candidate"]
    assert registry.get("learnloop-v2").dataset_hash == "d2"


def test_names_are_never_reused_even_if_the_file_is_lost(registry, adapter):
    add(registry, adapter)
    (registry.root / "registry.json").unlink()
    assert add(registry, adapter).name == "learnloop-v2"


def test_promotion_retires_the_previous_and_stores_the_report(registry, adapter):
    first, second = add(registry, adapter), add(registry, adapter)
    registry.promote(first.name)
    active = registry.promote(second.name, report={"promote": True})
    assert active.status == "active" and active.report == {"promote": True}
    assert registry.get(first.name).status == "retired"
    assert registry.active() == registry.get(second.name)


def test_rollback_returns_to_the_previous_adapter_then_to_the_base(registry, adapter):
    first, second = add(registry, adapter), add(registry, adapter)
    registry.promote(first.name)
    registry.promote(second.name)
    back = registry.rollback()
    assert back is not None and back.name == first.name and back.status == "active"
    assert registry.get(second.name).status == "rolled_back"
    assert registry.rollback() is None  # no earlier one: the base model is served
    assert registry.active() is None
    with pytest.raises(NothingToRollBack):
        registry.rollback()


def test_an_adapter_on_another_base_is_refused(registry, adapter):
    with pytest.raises(BaseModelMismatch, match="retrain it on the served model"):
        registry.register(adapter, "qwen2.5-0.5b", "p1", "d1")
    record = add(registry, adapter)
    moved = JsonRegistry(registry.root, served_base="qwen2.5-0.5b")
    with pytest.raises(BaseModelMismatch):
        moved.promote(record.name)


def test_an_unknown_name_is_a_clear_error(registry):
    with pytest.raises(UnknownAdapter, match="no adapter named learnloop-v9"):
        registry.promote("learnloop-v9")
