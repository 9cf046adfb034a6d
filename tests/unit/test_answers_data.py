"""The answers QA set is well formed: every evidence string is on the page it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.scoring import normalise, parse_qa
from retrieval.chunking import chunk_document
from retrieval.parse import parse

DATA = Path(__file__).parent.parent / "data"
CORPUS = DATA / "answers_corpus"
QA = DATA / "qa" / "answers.jsonl"
TYPES = {"factual", "procedural", "two-page", "not-in-material"}


def page_text(name: str) -> str:
    doc = parse(name, (CORPUS / name).read_bytes())
    return normalise(" ".join(s.text for s in doc.sections))


def raw_items() -> list[dict]:
    return [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line]


def test_the_set_is_large_enough_and_loads_with_the_existing_parser():
    items = parse_qa(QA.read_text(encoding="utf-8").splitlines())
    raw = raw_items()
    assert len(items) == len(raw) >= 40
    assert {r["type"] for r in raw} == TYPES
    # the existing parser's notion of answerable agrees with the type
    assert [i.answerable for i in items] == [r["type"] != "not-in-material" for r in raw]


@pytest.mark.parametrize("item", raw_items(), ids=lambda r: r["question"][:40])
def test_every_answerable_item_has_keys_and_evidence_on_its_page(item):
    if item["type"] == "not-in-material":
        assert not item["source"] and not item["must_contain"]
        return
    assert item["must_contain"] and item["evidence"]
    pages = item.get("pages") or [
        {"source": s, "evidence": item["evidence"]} for s in item["source"]
    ]
    if item["type"] == "two-page":
        assert len(pages) >= 2 and all(p["evidence"] for p in pages)
    for page in pages:
        text = page_text(page["source"])
        for evidence in page["evidence"]:
            assert normalise(evidence) in text, (page["source"], evidence)
    material = "".join(page_text(p["source"]) for p in pages)
    for key in item["must_contain"]:
        assert normalise(key) in material, key


def test_grounding_calibration_passages_are_chunks_of_the_git_corpus():
    lines = (DATA / "qa" / "grounding_calibration.jsonl").read_text(encoding="utf-8").splitlines()
    groups = [json.loads(line) for line in lines if line]
    labels = [s["supported"] for g in groups for s in g["sentences"]]
    assert len(labels) >= 40 and 0.3 < sum(labels) / len(labels) < 0.7
    for group in groups:
        for passage in group["passages"]:
            name = passage["source"]
            doc = parse(name, (DATA / "corpus" / name).read_bytes())
            assert passage["text"] in [c.text for c in chunk_document(doc)], name
