"""The adapter registry in the SQL store (SQLite here; PostgreSQL and processes racing in
tests/integration/test_adapter_registry.py): names never reused, one active, the base
checked, rollback, and an old JSON registry imported once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.exc import IntegrityError

from bot.adapters.store.models import AdapterRow
from bot.adapters.store.registry import SqlRegistry
from training.errors import BaseModelMismatch, NothingToRollBack, UnknownAdapter

BASE = "smollm2-135m-instruct"


@pytest.fixture
def adapter(tmp_path):
    folder = tmp_path / "trained"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    return folder


@pytest.fixture
def registry(tmp_path, store):
    return SqlRegistry(store, tmp_path / "adapters", served_base=BASE)


def add(registry, adapter, data="d1"):
    return registry.register(adapter, BASE, "p1", data)


def test_each_adapter_gets_a_new_name_and_its_own_folder(registry, adapter):
    first, second = add(registry, adapter), add(registry, adapter, "d2")
    assert (first.name, second.name) == ("learnloop-v1", "learnloop-v2")
    assert first.path != second.path
    assert (registry.root / "learnloop-v2" / "adapter_config.json").is_file()
    assert [r.status for r in registry.records()] == ["candidate", "candidate"]
    assert registry.get("learnloop-v2").dataset_hash == "d2"
    assert registry.get("learnloop-v2").created_at  # an ISO time, as the CLI prints it


def test_names_are_never_reused_even_if_a_copy_failed(registry, adapter, store):
    add(registry, adapter)
    (registry.root / "learnloop-v2").mkdir()  # a copy that died half-way left its folder
    assert add(registry, adapter).name == "learnloop-v3"
    with store() as session, pytest.raises(IntegrityError):  # and the database refuses one
        session.add(AdapterRow(version=9, name="learnloop-v1", base_model=BASE, path="/x"))
        session.flush()


def test_a_failed_copy_leaves_no_record(registry, tmp_path):
    with pytest.raises(OSError):
        registry.register(tmp_path / "missing", BASE, "p1", "d1")
    assert registry.records() == []


def test_promotion_retires_the_previous_and_stores_the_report(registry, adapter, store):
    first, second = add(registry, adapter), add(registry, adapter)
    registry.promote(second.name)
    active = registry.promote(first.name, report={"promote": True})  # an older one back
    assert active.status == "active" and active.report == {"promote": True}
    assert registry.get(second.name).status == "retired"
    assert registry.active() == registry.get(first.name)
    with store() as session, pytest.raises(IntegrityError):  # the database allows one active
        session.get(AdapterRow, second.version).status = "active"
        session.flush()


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


def test_an_adapter_on_another_base_is_refused(registry, adapter, store):
    with pytest.raises(BaseModelMismatch, match="retrain it on the served model"):
        registry.register(adapter, "qwen2.5-0.5b", "p1", "d1")
    record = add(registry, adapter)
    moved = SqlRegistry(store, registry.root, served_base="qwen2.5-0.5b")
    with pytest.raises(BaseModelMismatch):
        moved.promote(record.name)


def test_an_unknown_name_is_a_clear_error(registry):
    with pytest.raises(UnknownAdapter, match="no adapter named learnloop-v9"):
        registry.promote("learnloop-v9")


def legacy(root, adapter):
    """A registry as the JSON file kept it: v1 retired, v2 active, v3 a rejected candidate."""
    rows = []
    for version, status in ((1, "retired"), (2, "active"), (3, "candidate")):
        (root / f"learnloop-v{version}").mkdir(parents=True)
        rows.append(
            {
                "name": f"learnloop-v{version}",
                "version": version,
                "base_model": BASE,
                "prompt_version": "p1",
                "dataset_hash": f"d{version}",
                "path": str(root / f"learnloop-v{version}"),
                "status": status,
                "metrics": {"citation_rate": 0.1 * version},
                "report": {"reasons": [f"verdict {version}"]},
                "created_at": f"2026-12-0{version}T10:00:00+00:00",
                "activated_at": "" if status == "candidate" else f"2026-12-0{version}T11:00:00Z",
            }
        )
    (root / "registry.json").write_text(json.dumps({"next": 4, "adapters": rows}))


def test_an_old_json_registry_is_imported_once_and_keeps_its_adapters(tmp_path, store, adapter):
    root = tmp_path / "adapters"
    legacy(root, adapter)
    registry = SqlRegistry(store, root, BASE)
    assert registry.active().name == "learnloop-v2"
    imported = registry.records()
    assert [(r.name, r.status) for r in imported] == [
        ("learnloop-v1", "retired"),
        ("learnloop-v2", "active"),
        ("learnloop-v3", "candidate"),
    ]
    assert imported[0].metrics == {"citation_rate": 0.1}
    assert imported[2].report == {"reasons": ["verdict 3"]}
    assert imported[1].activated_at == "2026-12-02T11:00:00+00:00"  # read back in UTC
    assert add(registry, adapter).name == "learnloop-v4"  # no imported name is reused
    assert registry.rollback().name == "learnloop-v1"  # the history came along
    # another process (or a restart) finds rows already there: nothing imported twice
    again = SqlRegistry(store, root, BASE)
    assert [r.name for r in again.records()] == [r.name for r in registry.records()]
    assert again.active().name == "learnloop-v1"


def test_an_unreadable_old_registry_is_reported_not_fatal(tmp_path, store, adapter, caplog):
    root = tmp_path / "adapters"
    root.mkdir()
    (root / "registry.json").write_text("{not json")
    registry = SqlRegistry(store, root, BASE)
    assert registry.records() == [] and registry.active() is None
    assert "cannot be read" in caplog.text
    assert add(registry, adapter).name == "learnloop-v1"


def test_a_training_worker_imports_an_old_registry_as_it_starts(tmp_path, adapter):
    """The bots do not mount the adapters' folder: the training worker, which does, puts
    an old registry into the database at start, not at its first training run."""
    from sqlalchemy import select

    from bot.adapters.store import database_url, open_store
    from bot.settings import Settings
    from worker.main import _import_adapters

    data = tmp_path / "data"
    legacy(data / "training" / "adapters", adapter)
    _import_adapters(Settings(data_dir=data, database_url=""))
    engine, sessions = open_store(database_url("", data))
    with sessions() as session:  # the rows themselves: a registry here would import on use
        rows = session.scalars(select(AdapterRow.name).where(AdapterRow.status == "active"))
        assert list(rows) == ["learnloop-v2"]
    engine.dispose()
