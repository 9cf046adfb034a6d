"""Graph-aware search on real Chroma and the packaged embedding model: the second page of
a two-page question, which the question's words alone leave out of the top five, is
reached through the concept the first page's passages name (HippoRAG-style: the walk is
seeded by the leading passages and ranks chunks of other pages)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

ONCALL = b"""# On-call handbook

## Allowance

The on-call allowance is paid for every week you carry the pager. Claim the allowance in \
Expensly when your week ends.

## Weekend shifts

A weekend shift on call earns the allowance twice. Weekend on-call engineers answer pages \
within 10 minutes.

## Swapping a week

Swap an on-call week with a teammate in the rota sheet; the allowance follows the person \
who carried the pager.

## Holidays

On-call weeks over public holidays earn one extra day off on top of the allowance.

## Escalation

If the on-call engineer does not answer, the page escalates to the team lead after 15 \
minutes.
"""
EXPENSLY = b"""# Expensly

## What it is

Expensly: the portal where staff file expense claims and allowances.

## Deadlines

Every Expensly claim must be filed within 30 days of the cost, or finance rejects it.
"""
TRAVEL = b"""# Travel

## Booking

Book trains and flights through the travel desk at least two weeks ahead.
"""
QUESTION = "How do I claim my on-call allowance, and how long do I have?"


@pytest.fixture
def graphed(tmp_path, embedder):
    from bot.bootstrap import build_retrieval_from
    from retrieval.settings import RetrievalSettings

    rt = build_retrieval_from(
        embedder, path=tmp_path / "chroma", rs=RetrievalSettings(graph="structural")
    )
    for name, data in (("oncall.md", ONCALL), ("expensly.md", EXPENSLY), ("travel.md", TRAVEL)):
        rt.ingestor.ingest_bytes(name, data)
    return rt


def test_the_graph_brings_the_second_page_of_a_two_page_question(graphed):
    searcher = graphed.searcher
    searcher.graph_search = False
    plain = searcher.search(QUESTION, k=5).passages
    assert {p.source for p in plain} == {"oncall.md"}  # five on-call passages crowd it out

    searcher.graph_search = True
    found = searcher.search(QUESTION, k=5).passages
    assert found[0].source == "oncall.md"  # the first page keeps its lead
    assert any("within 30 days" in p.text for p in found if p.source == "expensly.md")
    assert "travel.md" not in {p.source for p in found}  # nothing ties the travel page in


def test_the_graph_never_brings_a_page_the_asker_may_not_see(tmp_path, embedder):
    from bot.bootstrap import build_retrieval_from
    from retrieval.settings import RetrievalSettings

    rt = build_retrieval_from(
        embedder, path=tmp_path / "chroma", rs=RetrievalSettings(graph="structural")
    )
    rt.ingestor.ingest_bytes("oncall.md", ONCALL)
    rt.ingestor.ingest_bytes("expensly.md", EXPENSLY, audiences=["finance"])
    found = rt.searcher.search(QUESTION, k=5).passages
    assert {p.source for p in found} == {"oncall.md"}
    finance = rt.searcher.search(QUESTION, k=5, audiences=["everyone", "finance"]).passages
    assert "expensly.md" in {p.source for p in finance}
