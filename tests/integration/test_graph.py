"""The knowledge graph over real Chroma and the packaged embedding model: versions and
delete, audience isolation, and the LLM extractor's schema path on the embedded server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import openai
import pytest

from bot.adapters.search import Retrieval
from bot.adapters.store import database_url, open_store
from bot.adapters.store.graph import SqlGraphStore
from inference.models import SERVED_NAME
from retrieval.chunking import chunk_document
from retrieval.graph.extract import StructuralExtractor
from retrieval.graph.llm import CombinedExtractor, LLMExtractor
from retrieval.graph.model import concept_key
from retrieval.parse import parse
from tests.integration.test_audience_canary import CANARIES, HR, PUBLIC

pytestmark = pytest.mark.integration

RUNBOOK = b"""# Runbook

## Paging

Flumbrix: the paging tool that wakes the on-call engineer.

Acknowledge every Flumbrix page within 5 minutes.
"""
RUNBOOK_V2 = b"""# Runbook

## Paging

Quorvane: the paging tool that replaced the old one.

Acknowledge every Quorvane page within 10 minutes.
"""
HANDBOOK = b"""# Handbook

## Tools

Every engineer installs Flumbrix on their phone in the first week.
"""


@pytest.fixture(params=["chroma", "sql"])
def graphed(request, tmp_path, embedder) -> Iterator[Retrieval]:
    """A fresh embedded index with the knowledge graph on (as by default), the
    graph kept in Chroma (retrieval alone) or in the SQL store (an app's)."""
    from bot.bootstrap import build_retrieval_from
    from retrieval.settings import RetrievalSettings

    rs = RetrievalSettings(graph="structural")
    if request.param == "chroma":
        yield build_retrieval_from(embedder, path=tmp_path / "chroma", rs=rs)
        return
    engine, sessions = open_store(database_url("", tmp_path / "data"))
    graphs = SqlGraphStore(sessions)
    yield build_retrieval_from(embedder, path=tmp_path / "chroma", rs=rs, graph_store=graphs)
    engine.dispose()


def _keys(rt: Retrieval, audiences=("everyone",)) -> set[str]:
    snap = rt.searcher.snapshot()
    mask = snap.keywords.mask(audiences)
    return set(snap.graph.visible_concepts(mask))


def _stored_versions(rt: Retrieval) -> set[tuple[str, str]]:
    docs = [d.doc_id for d in rt.store.documents()]
    return {(m["doc_id"], m["version"]) for _, _, m, _ in rt.store.concepts_of(docs)}


def test_graph_switches_with_the_document_and_delete_keeps_shared_concepts(graphed):
    retrieval = graphed
    rt = retrieval
    rt.ingestor.ingest_bytes("runbook.md", RUNBOOK)
    rt.ingestor.ingest_bytes("handbook.md", HANDBOOK)
    flumbrix, quorvane = concept_key("Flumbrix"), concept_key("Quorvane")
    assert flumbrix in _keys(rt)
    snap = rt.searcher.snapshot()
    entries = snap.graph.visible_concepts(None)[flumbrix]
    assert {snap.rows[r].source for r in _rows(snap, flumbrix)} == {"runbook.md", "handbook.md"}
    assert any(e.concept.description.startswith("the paging tool") for e in entries)

    rt.ingestor.ingest_bytes("runbook.md", RUNBOOK_V2)  # a new version: only its part changes
    keys = _keys(rt)
    assert quorvane in keys and flumbrix in keys  # the handbook still names Flumbrix
    snap = rt.searcher.snapshot()
    assert {snap.rows[r].source for r in _rows(snap, flumbrix)} == {"handbook.md"}
    assert not any(e.concept.description for e in snap.graph.visible_concepts(None)[flumbrix])
    # Chroma holds the live version's concepts only, and every one of them
    live = {(d.doc_id, d.version) for d in rt.store.documents()}
    assert _stored_versions(rt) == live

    rt.store.remove("handbook.md")
    keys = _keys(rt)
    assert flumbrix not in keys and quorvane in keys
    assert _stored_versions(rt) == {(d.doc_id, d.version) for d in rt.store.documents()}


def _rows(snap, key: str) -> set[int]:
    node = snap.graph.nodes[key]
    matrix = snap.graph.matrix(np.ones(len(snap.rows), dtype=bool)).tocoo()
    c = snap.graph.n_concepts
    return {
        int(r) - c for r, col in zip(matrix.row, matrix.col, strict=True) if col == node and r >= c
    }


def _canaries(text: str) -> list[str]:
    return sorted({c for c in CANARIES if re.search(c, text, re.IGNORECASE)})


def test_restricted_concepts_descriptions_and_edges_never_reach_others(graphed):
    retrieval = graphed
    rt = retrieval
    rt.ingestor.ingest_bytes("deploy.md", PUBLIC.encode())
    rt.ingestor.ingest_bytes("payroll.md", HR.encode(), audiences=["hr"])
    snap = rt.searcher.snapshot()
    everyone = snap.keywords.mask(("everyone",))
    hr = snap.keywords.mask(("hr",))

    visible = snap.graph.visible_concepts(everyone)
    shown = " ".join(
        f"{e.concept.name} {e.concept.description} {' '.join(e.concept.aliases)}"
        for entries in visible.values()
        for e in entries
    )
    assert _canaries(shown) == []
    assert any(_canaries(k) for k in snap.graph.visible_concepts(hr))  # hr sees its own
    # no edge of the hr document is in the matrix others walk
    public_matrix = snap.graph.matrix(everyone).tocoo()
    hr_rows = {snap.graph.n_concepts + i for i, r in enumerate(snap.rows) if "hr" in r.audiences}
    assert not hr_rows & set(public_matrix.row.tolist())
    hr_only = {n for k, n in snap.graph.nodes.items() if _canaries(k)}
    assert hr_only and not hr_only & set(public_matrix.row.tolist())
    # search with the graph on, asked in the canaries' own words
    for question in (
        "What does the Krumplewood ledger keep?",
        "Which format is --dry-zorblax?",
        "How do I preview a deploy with --dry-run?",
        "Who signs the Grobbletine form?",
    ):
        found = rt.searcher.search(question, k=5, audiences=("everyone",))
        text = " ".join(f"{p.text} {p.section} {p.title}" for p in found.passages)
        assert _canaries(text + " ".join(found.topics)) == [], question
        seeds = snap.graph.seeds(question, rt.embedder.embed_query(question), everyone)
        assert not set(seeds) & hr_only


class Replay:
    """An extractor that gives back a graph already extracted (one model call, not two)."""

    def __init__(self, graph):
        self.graph = graph

    def extract(self, doc, chunks):
        return self.graph


def test_llm_extractor_schema_path_on_the_embedded_server(inference_server):
    doc = parse(
        "onboarding.md",
        b"# VPN\n\nInstall WireGuard from the Self Service app, then sign in to the VPN"
        b" portal with Okta.\n",
    )
    chunks = chunk_document(doc)
    client = openai.OpenAI(base_url=inference_server, api_key="unused")
    llm = LLMExtractor(client, SERVED_NAME, max_tokens=160)
    graph = llm.extract(doc, chunks)
    text = chunks[0].text.lower()
    # whatever the small model proposed, only names the passage contains survive
    assert all(c.name.lower() in text and c.mentions == (0,) for c in graph.concepts)
    keys = {c.key for c in graph.concepts}
    assert all(r.source in keys and r.target in keys for r in graph.relations)
    combined = CombinedExtractor(StructuralExtractor(), Replay(graph)).extract(doc, chunks)
    assert concept_key("Okta") in {c.key for c in combined.concepts}  # a name in the text
    assert keys <= {c.key for c in combined.concepts}


def test_kg_cli_shows_and_exports_only_what_the_audience_may_see(tmp_path, embedder, chroma_server):
    import json
    import os

    import networkx as nx

    from bot.bootstrap import build_retrieval_from
    from retrieval.settings import RetrievalSettings
    from tests.conftest import run_cli

    # ingested as the app does it: the graph in the data directory's SQL store
    engine, sessions = open_store(database_url("", tmp_path / "data"))
    rt = build_retrieval_from(
        embedder,
        url=chroma_server,
        rs=RetrievalSettings(graph="structural"),
        graph_store=SqlGraphStore(sessions),
    )
    rt.ingestor.ingest_bytes("kg/deploy.md", PUBLIC.encode())
    rt.ingestor.ingest_bytes("kg/payroll.md", HR.encode(), audiences=["hr"])
    try:  # the Chroma server is the session's: leave it as it was found
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
        env.update(LEARNLOOP_DATA_DIR=str(tmp_path / "data"), LEARNLOOP_CHROMA_URL=chroma_server)

        stats = json.loads(run_cli(env, "kg", "stats", "--json").stdout)
        assert stats["concepts"] > 0 and stats["relations"] > 0
        shown = json.loads(run_cli(env, "kg", "show", "--json", "--", "--dry-run").stdout)
        assert shown["name"] == "--dry-run"
        assert any(m["source"] == "kg/deploy.md" for m in shown["mentions"])
        assert _canaries(json.dumps(shown)) == []

        hidden = run_cli(env, "kg", "show", "Krumplewood", check=False)
        assert hidden.returncode == 1 and "no concept called 'Krumplewood'" in hidden.stderr
        assert "Traceback" not in hidden.stderr
        assert run_cli(env, "kg", "show", "Krumplewood", "-a", "hr").returncode == 0

        public, everything = tmp_path / "public.graphml", tmp_path / "all.graphml"
        run_cli(env, "kg", "export", "--format", "graphml", "-o", str(public))
        run_cli(env, "kg", "export", "--format", "graphml", "-o", str(everything), "--all")
        assert _canaries(public.read_text()) == []
        assert _canaries(everything.read_text())
        graph = nx.read_graphml(public)
        assert graph.number_of_nodes() > 0
        bad = run_cli(env, "kg", "export", "--format", "dot", check=False)
        assert bad.returncode == 1 and "--format must be json or graphml" in bad.stderr
    finally:
        for name in ("kg/deploy.md", "kg/payroll.md"):
            rt.store.remove(name)
        engine.dispose()
