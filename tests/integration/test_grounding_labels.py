"""The sentence checker against independent hand labels: sentences of the packaged model's
own answers to tests/data/qa/answers.jsonl, each labelled supported or not by reading the
passages it was given (scripts/grounding_labels.py drafts and scores them)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from bot.domain.grounding import check_sentences
from tests.conftest import DATA

pytestmark = pytest.mark.integration

LABELS = DATA / "qa" / "grounding_labels.jsonl"


@dataclass(frozen=True)
class Passage:
    source: str
    section: str
    text: str


def test_the_checker_keeps_almost_only_what_a_reader_would_back(embedder):
    kept = wrongly_kept = labelled = 0
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        answer = json.loads(line)
        passages = [Passage(p["source"], p["section"], p["text"]) for p in answer["passages"]]
        sentences = [s for s in answer["sentences"] if s["supported"] is not None]
        labelled += len(sentences)
        verdicts = check_sentences([s["text"] for s in sentences], passages, embedder)
        for label, verdict in zip(sentences, verdicts, strict=True):
            kept += verdict.supported
            wrongly_kept += verdict.supported and not label["supported"]
    assert labelled >= 20
    # precision >= 0.9: at most one shown sentence in ten is one a reader would not back
    assert wrongly_kept <= 0.1 * kept
