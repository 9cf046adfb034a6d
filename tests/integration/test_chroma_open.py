"""Opening one new embedded Chroma directory from several processes at once (a Slack and a
Teams bot on one data directory): Chroma creates its schema on first open with no lock of
its own, so `retrieval.store.connect` serialises the opening across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest
from filelock import FileLock

from retrieval.store import connect, opening_lock
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_opening_waits_for_another_process_that_is_opening_the_same_directory(tmp_path):
    path = tmp_path / "chroma"
    path.mkdir()
    opened = threading.Event()
    held = FileLock(opening_lock(path))
    with held:
        worker = threading.Thread(target=lambda: (connect(path), opened.set()), daemon=True)
        worker.start()
        time.sleep(1.5)
        assert not opened.is_set(), "connect opened the index while another opener held it"
    assert opened.wait(60), "connect did not open the index once the other opener let go"
    client = connect(path)
    client.get_or_create_collection("after")
    assert [c.name for c in client.list_collections()] == ["after"]


def test_processes_opening_one_new_directory_at_once_all_succeed(tmp_path):
    path = tmp_path / "chroma"
    start = time.time() + 8  # every child has imported chromadb by then, then all open at once
    child = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        import chromadb  # noqa: F401  (imported before the common start)
        from retrieval.store import connect
        time.sleep(max(0.0, {start!r} - time.time()))
        client = connect(Path({str(path)!r}))
        client.get_or_create_collection("shared")
        print("opened")
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", child],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0 and "opened" in out, out
