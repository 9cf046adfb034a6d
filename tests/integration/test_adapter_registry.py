"""The adapter registry on SQLite and on real PostgreSQL, written by several writers at
once (each its own engine, as bot pods and workers are): promotions and rollbacks racing
leave exactly one active adapter, and registrations never share a name."""

from __future__ import annotations

import json
import threading

import pytest

from bot.adapters.store import open_store
from bot.adapters.store.registry import SqlRegistry

pytestmark = pytest.mark.integration

BASE = "smollm2-135m-instruct"
WRITERS = 4


@pytest.fixture
def adapter(tmp_path):
    folder = tmp_path / "trained"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    return folder


def at_once(store_url, root, act) -> list[BaseException]:
    """`act(registry, i)` in WRITERS threads released together, each over its own engine."""
    stores = [open_store(store_url) for _ in range(WRITERS)]
    gate = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        registry = SqlRegistry(stores[i][1], root, BASE)
        try:
            gate.wait(timeout=30)
            act(registry, i)
        except BaseException as exc:  # reported to the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for engine, _ in stores:
        engine.dispose()
    return errors


def test_promotions_at_once_leave_exactly_one_active_adapter(store_url, tmp_path, adapter):
    engine, sessions = open_store(store_url)
    registry = SqlRegistry(sessions, tmp_path / "adapters", BASE)
    names = [registry.register(adapter, BASE, "p1", f"d{i}").name for i in range(WRITERS)]
    for round_ in range(8):
        errors = at_once(
            store_url, registry.root, lambda r, i, k=round_: r.promote(names[(i + k) % WRITERS])
        )
        assert errors == []
        statuses = [r.status for r in registry.records()]
        assert statuses.count("active") == 1, statuses
        assert set(statuses) <= {"active", "retired"}
    # rollbacks racing each other and a promotion: still one active (or the base) at the end
    errors = at_once(
        store_url,
        registry.root,
        lambda r, i: r.promote(names[0]) if i == 0 else r.rollback(),
    )
    assert all(type(e).__name__ == "NothingToRollBack" for e in errors), errors
    assert [r.status for r in registry.records()].count("active") <= 1
    engine.dispose()


def test_registrations_at_once_never_share_a_name(store_url, tmp_path, adapter):
    engine, sessions = open_store(store_url)
    root = tmp_path / "adapters"
    made: list[str] = []
    errors = at_once(
        store_url, root, lambda r, i: made.append(r.register(adapter, BASE, "p", "d").name)
    )
    assert errors == []
    assert sorted(made) == [f"learnloop-v{v}" for v in range(1, WRITERS + 1)]
    assert len({r.path for r in SqlRegistry(sessions, root, BASE).records()}) == WRITERS
    engine.dispose()


def test_an_old_json_registry_is_imported_once_by_processes_starting_together(
    store_url, tmp_path, adapter
):
    root = tmp_path / "adapters"
    root.mkdir()
    rows = [
        {
            "name": f"learnloop-v{v}",
            "version": v,
            "base_model": BASE,
            "prompt_version": "p1",
            "dataset_hash": "d",
            "path": str(root / f"learnloop-v{v}"),
            "status": "active" if v == 2 else "retired",
            "created_at": "2026-12-01T10:00:00+00:00",
            "activated_at": f"2026-12-0{v}T11:00:00+00:00",
        }
        for v in (1, 2)
    ]
    (root / "registry.json").write_text(json.dumps({"next": 3, "adapters": rows}))
    seen: list[str | None] = []
    errors = at_once(store_url, root, lambda r, i: seen.append(getattr(r.active(), "name", None)))
    assert errors == [] and seen == ["learnloop-v2"] * WRITERS
    engine, sessions = open_store(store_url)
    registry = SqlRegistry(sessions, root, BASE)
    assert [r.name for r in registry.records()] == ["learnloop-v1", "learnloop-v2"]
    assert registry.register(adapter, BASE, "p", "d").name == "learnloop-v3"
    engine.dispose()
