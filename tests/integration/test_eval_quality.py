"""Retrieval quality on the shipped QA sets, with the real model and corpus.

Floors, not targets: they fail when a change makes retrieval or refusals worse than
what was measured when they were set (see the README's Evaluation section).
"""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.scoring import parse_qa
from bot.services.evaluation import run_eval
from tests.conftest import DATA

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def evaluate(corpus, name: str) -> dict:
    items = parse_qa((DATA / "qa" / name).read_text().splitlines())
    return asyncio.run(run_eval(items, corpus.searcher, k=5))


def test_calibration_set(corpus):
    report = evaluate(corpus, "calibration.jsonl")
    assert report["counts"]["questions"] >= 65
    assert report["counts"]["out_of_material"] >= 14
    assert report["hit_at_k"] >= 0.92
    assert report["out_of_material_refused"] == 1.0
    assert report["answerable_accepted"] >= 0.95


def test_held_out_set(corpus):
    report = evaluate(corpus, "heldout.jsonl")
    assert report["counts"]["questions"] >= 30
    assert report["counts"]["out_of_material"] >= 8
    assert report["out_of_material_refused"] == 1.0
    assert report["answerable_accepted"] >= 0.9
    assert report["hit_at_k"] >= 0.88
