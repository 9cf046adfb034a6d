"""The sentence checker against independent hand labels, each unit labelled supported or
not by a reader of the passages who never saw the checker's verdicts
(scripts/grounding_labels.py drafts and scores them):
- grounding_labels.jsonl: the packaged model's own answers to tests/data/qa/answers.jsonl
  (none of their units is supported: the small model never states what the passages say);
- grounding_labels_written.jsonl: answers to the same questions written as a stronger model
  writes them (mostly faithful, some with a realistic slip), by a writer who did not label
  them: the set on which the checker keeps sentences, so precision means something."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from bot.domain.grounding import check_sentences
from tests.conftest import DATA

pytestmark = pytest.mark.integration

LABELS = (DATA / "qa" / "grounding_labels.jsonl", DATA / "qa" / "grounding_labels_written.jsonl")


@dataclass(frozen=True)
class Passage:
    source: str
    section: str
    text: str


def test_the_checker_keeps_almost_only_what_a_reader_would_back(embedder):
    kept = wrongly_kept = labelled = 0
    lines = [line for path in LABELS for line in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        answer = json.loads(line)
        passages = [Passage(p["source"], p["section"], p["text"]) for p in answer["passages"]]
        sentences = [s for s in answer["sentences"] if s["supported"] is not None]
        labelled += len(sentences)
        verdicts = check_sentences([s["text"] for s in sentences], passages, embedder)
        for label, verdict in zip(sentences, verdicts, strict=True):
            kept += verdict.supported
            wrongly_kept += verdict.supported and not label["supported"]
    assert labelled >= 200 and kept >= 40  # enough kept sentences for precision to mean much
    # precision >= 0.9: at most one shown sentence in ten is one a reader would not back
    assert wrongly_kept <= 0.1 * kept
