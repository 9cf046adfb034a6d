"""Documents' graphs in the SQL store (SQLite and real PostgreSQL) beside real Chroma:
the port's round trip, versions and delete through the index, a snapshot taken
mid-replacement, documents indexed before the SQL store, and the migration."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import func, inspect, select

from bot.adapters.search import Retrieval
from bot.adapters.store import downgrade, make_engine, open_store, upgrade
from bot.adapters.store.graph import SqlGraphStore
from bot.adapters.store.models import GraphConceptRow, GraphRelationRow
from retrieval.graph.model import Concept, DocumentGraph, Relation, concept_key, concept_text
from retrieval.graph.ports import GraphKey
from retrieval.snapshot import Snapshot
from tests.integration.test_graph import HANDBOOK, RUNBOOK, RUNBOOK_V2

pytestmark = pytest.mark.integration

FLUMBRIX, QUORVANE = concept_key("Flumbrix"), concept_key("Quorvane")


@pytest.fixture
def store(store_url):
    engine, sessions = open_store(store_url)
    yield SqlGraphStore(sessions), sessions
    engine.dispose()


def _graph(*names: str) -> DocumentGraph:
    concepts = tuple(
        Concept(
            key=concept_key(name),
            name=name,
            kind="term",
            description=f"{name}: défini ici",
            aliases=(name.upper(),),
            mentions=(n, n + 2),
        )
        for n, name in enumerate(names)
    )
    relations = tuple(
        Relation(a.key, b.key, "related_to", 0.25 + n)
        for n, (a, b) in enumerate(pairwise(concepts))
    )
    return DocumentGraph(concepts, relations)


def test_put_graphs_drop_round_trip_keeps_concept_order_and_versions_apart(store):
    graphs, _ = store
    # not in key order: positions, not keys, order a version's concepts
    v1, v2 = _graph("Zeta tool", "alpha", "Mid term"), _graph("Quorvane", "--all")
    graphs.put("doc", "v1", v1)
    graphs.put("doc", "v2", v2)
    graphs.put("other", "v1", _graph("Flumbrix"))
    got = graphs.graphs([("doc", "v1"), ("doc", "v2"), ("doc", "v9"), ("nobody", "v1")])
    assert got == {("doc", "v1"): v1, ("doc", "v2"): v2}  # unknown versions are absent

    graphs.put("doc", "v1", _graph("alpha"))  # the same version again replaces it whole
    assert graphs.graphs([("doc", "v1")])[("doc", "v1")] == _graph("alpha")

    graphs.drop("doc", keep="v2")
    keys: list[GraphKey] = [("doc", "v1"), ("doc", "v2"), ("other", "v1")]
    assert set(graphs.graphs(keys)) == {("doc", "v2"), ("other", "v1")}
    graphs.drop("doc", keep=None)
    assert set(graphs.graphs(keys)) == {("other", "v1")}  # another document is untouched


def _rows(sessions, doc_id: str) -> set[str]:
    """The versions of `doc_id` that have concept or relation rows."""
    with sessions() as session:
        return {
            version
            for table in (GraphConceptRow, GraphRelationRow)
            for version in session.scalars(select(table.version).where(table.doc_id == doc_id))
        }


@pytest.fixture
def sql_graphed(store, tmp_path, embedder) -> tuple[Retrieval, SqlGraphStore, object]:
    from bot.bootstrap import build_retrieval_from
    from retrieval.settings import RetrievalSettings

    graphs, sessions = store
    rt = build_retrieval_from(
        embedder,
        path=tmp_path / "chroma",
        rs=RetrievalSettings(graph="structural"),
        graph_store=graphs,
    )
    return rt, graphs, sessions


def _graph_of(snap: Snapshot, source: str) -> tuple[Concept, ...]:
    (placed,) = [
        d for d in snap.graph.documents if snap.rows[next(iter(d.rows.values()))].source == source
    ]
    assert len(placed.vectors) == len(placed.graph.concepts)  # a vector for each concept
    return placed.graph.concepts


def _concepts(rt: Retrieval) -> dict[str, list[Concept]]:
    snap = rt.searcher.snapshot()
    return {k: [e.concept for e in v] for k, v in snap.graph.visible_concepts(None).items()}


def test_a_new_version_replaces_its_graph_and_delete_keeps_what_others_support(sql_graphed):
    rt, _, sessions = sql_graphed
    rt.ingestor.ingest_bytes("runbook.md", RUNBOOK)
    rt.ingestor.ingest_bytes("handbook.md", HANDBOOK)
    runbook, handbook = rt.store.document("runbook.md"), rt.store.document("handbook.md")
    assert runbook is not None and handbook is not None
    v1 = runbook.version
    assert _rows(sessions, runbook.doc_id) == {v1}
    assert any(c.description.startswith("the paging tool") for c in _concepts(rt)[FLUMBRIX])
    # Chroma keeps each concept's vector, text and place, not the graph
    for _, text, meta, _ in rt.store.concepts_of([runbook.doc_id]):
        assert set(meta) == {"doc_id", "version", "key", "position"}
        assert text and "relations" not in meta

    rt.ingestor.ingest_bytes("runbook.md", RUNBOOK_V2)
    v2 = rt.store.document("runbook.md").version
    assert v2 != v1 and _rows(sessions, runbook.doc_id) == {v2}  # v1's rows are gone
    concepts = _concepts(rt)
    assert QUORVANE in concepts
    assert not any(c.description for c in concepts[FLUMBRIX])  # only the handbook names it
    texts = {t for _, t, _, _ in rt.store.concepts_of([runbook.doc_id])}
    assert texts == {concept_text(c) for c in _graph_of(rt.searcher.snapshot(), "runbook.md")}

    rt.store.remove("handbook.md")
    assert _rows(sessions, handbook.doc_id) == set()
    assert FLUMBRIX not in _concepts(rt) and QUORVANE in _concepts(rt)
    rt.store.remove("runbook.md")
    assert _rows(sessions, runbook.doc_id) == set() and _concepts(rt) == {}


class Interrupted(Exception):
    pass


class StopsAfterPut:
    """The SQL graph store, with the publisher stopping right after the graph is written:
    the new version's rows are in, the catalog still names the old version."""

    def __init__(self, inner: SqlGraphStore) -> None:
        self.inner = inner

    def put(self, doc_id: str, version: str, graph: DocumentGraph) -> None:
        self.inner.put(doc_id, version, graph)
        raise Interrupted

    def graphs(self, keys):
        return self.inner.graphs(keys)

    def drop(self, doc_id: str, keep: str | None) -> None:
        self.inner.drop(doc_id, keep)


def test_a_snapshot_taken_mid_replacement_shows_the_catalogs_version(
    sql_graphed, tmp_path, embedder
):
    from bot.bootstrap import build_retrieval_from
    from retrieval.settings import RetrievalSettings

    rt, graphs, sessions = sql_graphed
    rt.ingestor.ingest_bytes("runbook.md", RUNBOOK)
    runbook = rt.store.document("runbook.md")
    assert runbook is not None
    stopped = build_retrieval_from(
        embedder,
        path=tmp_path / "chroma",
        rs=RetrievalSettings(graph="structural"),
        graph_store=StopsAfterPut(graphs),
    )
    with pytest.raises(Interrupted):
        stopped.ingestor.ingest_bytes("runbook.md", RUNBOOK_V2)
    assert len(_rows(sessions, runbook.doc_id)) == 2  # v2's rows are written...
    assert rt.store.document("runbook.md") == runbook  # ...and the catalog names v1

    snap = Snapshot(rt.store.generation(), rt.store)
    concepts = snap.graph.visible_concepts(None)
    assert FLUMBRIX in concepts and QUORVANE not in concepts
    assert any(e.concept.description.startswith("the paging tool") for e in concepts[FLUMBRIX])
    _graph_of(snap, "runbook.md")  # v1's concepts, each with its vector

    rt.ingestor.ingest_bytes("runbook.md", RUNBOOK_V2)  # the next attempt goes through
    assert _rows(sessions, runbook.doc_id) == {rt.store.document("runbook.md").version}
    assert QUORVANE in _concepts(rt) and FLUMBRIX not in _concepts(rt)


def test_documents_indexed_before_the_sql_store_keep_their_graph_until_ingested_again(
    store, tmp_path, embedder
):
    from bot.bootstrap import build_retrieval_from
    from retrieval.settings import RetrievalSettings

    graphs, sessions = store
    rs = RetrievalSettings(graph="structural")
    before = build_retrieval_from(embedder, path=tmp_path / "chroma", rs=rs)  # no SQL store
    before.ingestor.ingest_bytes("runbook.md", RUNBOOK)
    doc_id = before.store.document("runbook.md").doc_id

    rt = build_retrieval_from(embedder, path=tmp_path / "chroma", rs=rs, graph_store=graphs)
    assert _rows(sessions, doc_id) == set()
    assert any(c.description.startswith("the paging tool") for c in _concepts(rt)[FLUMBRIX])
    rt.ingestor.ingest_bytes("runbook.md", RUNBOOK_V2)
    assert _rows(sessions, doc_id) == {rt.store.document("runbook.md").version}
    assert QUORVANE in _concepts(rt) and FLUMBRIX not in _concepts(rt)
    # and no version of the legacy records is left in Chroma
    assert {m["version"] for _, _, m, _ in rt.store.concepts_of([doc_id])} == {
        rt.store.document("runbook.md").version
    }


def test_migration_0014_adds_the_graph_tables_and_takes_them_away(store_url):
    engine = make_engine(store_url)
    upgrade(engine, "0013")
    assert not {"graph_concepts", "graph_relations"} & set(inspect(engine).get_table_names())
    upgrade(engine, "0014")
    assert {"graph_concepts", "graph_relations"} <= set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        conn.execute(
            GraphConceptRow.__table__.insert(),
            [
                {
                    "doc_id": "d",
                    "version": "v",
                    "position": 0,
                    "key": "k",
                    "name": "K",
                    "kind": "term",
                    "description": "",
                    "aliases": [],
                    "mentions": [0],
                }
            ],
        )
        count = conn.scalar(select(func.count()).select_from(GraphConceptRow.__table__))
    assert count == 1
    downgrade(engine, "0013")
    assert not {"graph_concepts", "graph_relations"} & set(inspect(engine).get_table_names())
    engine.dispose()


class _CountingReads:
    """A real Chroma collection whose reads are counted by the documents they name."""

    def __init__(self, collection) -> None:
        self._collection = collection
        self.documents_per_read: list[int] = []

    def get(self, where=None, **kw):
        named = where["doc_id"]
        self.documents_per_read.append(len(named["$in"]) if isinstance(named, dict) else 1)
        return self._collection.get(where=where, **kw)

    def __getattr__(self, name):
        return getattr(self._collection, name)


def test_the_chroma_graph_store_reads_a_large_index_a_few_documents_at_a_time(tmp_path):
    # Chroma's embedded store fetches a read's records in one SQL statement, which fails
    # past 32,766 variables: the synthetic 20k-chunk index (200 documents) broke at once.
    import chromadb

    from retrieval.graph.chroma import READ_DOCUMENTS, ChromaGraphStore, concept_id

    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    concepts = client.get_or_create_collection("concepts", embedding_function=None)
    keys = [(f"doc{d:03d}", "v1") for d in range(120)]
    concepts.add(
        ids=[concept_id(doc, version, 0) for doc, version in keys],
        embeddings=[[1.0, 0.0]] * len(keys),
        metadatas=[{"doc_id": doc, "version": version, "position": 0} for doc, version in keys],
    )
    counting = _CountingReads(concepts)
    store = ChromaGraphStore(counting, batch=int(client.get_max_batch_size()))
    for doc, version in keys:
        store.put(doc, version, _graph(f"Concept {doc}"))
    found = store.graphs(keys)
    assert set(found) == set(keys)
    assert found[("doc007", "v1")].concepts[0].name == "Concept doc007"
    assert counting.documents_per_read and max(counting.documents_per_read) <= READ_DOCUMENTS
