"""Ingestion and hybrid search over a real Chroma with the real packaged model."""

from __future__ import annotations

import threading

import pytest

from bot.adapters.search import SearchRetriever
from retrieval.errors import FileTooLarge, InvalidAudience
from retrieval.search import HybridSearcher
from retrieval.store import document_id
from retrieval.types import Chunk, DocumentRecord
from tests.conftest import DATA
from tests.docs import make_docx, make_pdf, make_pptx

pytestmark = pytest.mark.integration

HANDBOOK = b"""# Engineering handbook

## Python style
Serialize configuration with json.dumps and never with str().
Build file paths with os.path.join so they work on every platform.

## Command line tools
Every tool accepts --verbose to print each step it takes.

## Coffee
The coffee machine on floor two is descaled every Friday.
"""


def test_every_format_is_ingested_with_title_and_section(retrieval):
    files = {
        "guide.md": HANDBOOK,
        "notes.txt": b"The quarterly all-hands meeting happens in the atrium.",
        "page.html": b"<html><head><title>Parking</title></head><body><h2>Bikes</h2>"
        b"<p>Bike racks are behind building C.</p></body></html>",
        "policy.docx": make_docx(
            "Travel policy", [("h1", "Trains"), ("p", "Book second class trains.")]
        ),
        "deck.pptx": make_pptx(
            "Security deck", [("Badges", "Wear your badge visibly at all times.")]
        ),
        "manual.pdf": make_pdf(
            "Safety manual", [("Fire exits", "Fire exits are marked in green.")]
        ),
    }
    for name, data in files.items():
        assert retrieval.ingestor.ingest_bytes(name, data).status == "added"

    expectations = [
        ("where are the bike racks", "page.html", "Parking", "Bikes"),
        ("which class should I book for trains", "policy.docx", "Travel policy", "Trains"),
        ("do I have to wear my badge", "deck.pptx", "Security deck", "Slide 1: Badges"),
        ("how are fire exits marked", "manual.pdf", "Safety manual", "Fire exits"),
        ("when is the all-hands meeting", "notes.txt", "notes", ""),
        ("when is the coffee machine descaled", "guide.md", "Engineering handbook", "Coffee"),
    ]
    for question, source, title, section in expectations:
        top = retrieval.searcher.search(question, k=3).passages[0]
        assert (top.source, top.title, top.section) == (source, title, section), question


@pytest.mark.parametrize("query", ["json.dumps", "--verbose", "os.path.join"])
def test_exact_names_find_their_passage_first(retrieval, query):
    retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK)
    retrieval.ingestor.ingest_bytes(
        "other.md", b"# Other\n\nJSON files and paths and verbose logs and dumps."
    )
    top = retrieval.searcher.search(query, k=3).passages[0]
    assert query in top.text


def test_reingesting_the_same_file_changes_nothing(retrieval):
    first = retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK)
    generation = retrieval.store.generation()
    again = retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK)
    assert (first.status, again.status) == ("added", "unchanged")
    assert retrieval.store.generation() == generation
    assert retrieval.store.count() == first.chunks


def test_changed_file_replaces_its_chunks_and_delete_removes_them(retrieval):
    retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK)
    changed = HANDBOOK.replace(b"every Friday", b"every Monday morning")
    report = retrieval.ingestor.ingest_bytes("guide.md", changed)
    assert report.status == "updated"
    assert retrieval.store.count() == report.chunks  # no stale version left behind
    hits = retrieval.searcher.search("when is the coffee machine descaled", k=5).passages
    texts = " ".join(p.text for p in hits)
    assert "Monday" in texts and "Friday" not in texts

    assert retrieval.store.remove("guide.md") is not None
    assert retrieval.store.count() == 0
    assert retrieval.searcher.search("coffee machine", k=5).passages == ()
    assert retrieval.store.remove("guide.md") is None


def test_pieces_follow_their_document_version(retrieval):
    retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK)
    retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK.replace(b"Friday", b"Monday"))
    version = retrieval.store.document("guide.md").version
    pieces = list(retrieval.store.pieces_of([document_id("guide.md")]))
    chunks = {
        meta["index"] for _, _, meta, _ in retrieval.store.chunks_of([document_id("guide.md")])
    }
    assert pieces and {meta["version"] for _, _, meta, _ in pieces} == {version}
    assert {meta["chunk"] for _, _, meta, _ in pieces} == chunks  # every chunk has pieces
    retrieval.store.remove("guide.md")
    assert list(retrieval.store.pieces_of([document_id("guide.md")])) == []


def test_a_document_indexed_before_pieces_is_still_found(retrieval, embedder):
    """An index written by the chunk-only pipeline: each chunk counts as its one piece."""
    chunks = [Chunk(0, "Coffee", "The coffee machine on floor two is descaled every Friday.")]
    record = DocumentRecord(
        document_id("old.md"), "old.md", "Old", "v0", ("everyone",), 1, "2025-01-01T00:00:00"
    )
    retrieval.store.publish(record, chunks, embedder.embed([chunks[0].text]))
    assert retrieval.searcher.search("when is the coffee machine descaled").passages[0].source == (
        "old.md"
    )


def test_replacement_never_shows_both_versions_or_neither(retrieval):
    v1 = b"# Rota\n\n" + b"\n\n".join(
        b"Rota entry %d: desk duty is version one." % i for i in range(30)
    )
    v2 = v1.replace(b"version one", b"version two")
    retrieval.ingestor.ingest_bytes("rota.md", v1)
    seen: list[set[str]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            passages = retrieval.searcher.search("desk duty rota entry", k=10).passages
            seen.append({"one" if "version one" in p.text else "two" for p in passages})

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for data in (v2, v1, v2):
            retrieval.ingestor.ingest_bytes("rota.md", data)
    finally:
        stop.set()
        thread.join()
    assert seen, "the reader ran"
    assert all(len(versions) == 1 for versions in seen), seen


def test_audience_restricted_material_never_reaches_others(retrieval):
    retrieval.ingestor.ingest_bytes(
        "salaries.md", b"# Pay\n\nEngineering salary bands range from L1 to L7.", audiences=["hr"]
    )
    retrieval.ingestor.ingest_bytes("handbook.md", HANDBOOK)
    as_everyone = retrieval.searcher.search(
        "engineering salary bands", k=10, audiences=["everyone"]
    )
    assert all(p.source != "salaries.md" for p in as_everyone.passages)
    assert "salari" in as_everyone.signals.missing_terms  # not even the word leaks
    as_hr = retrieval.searcher.search(
        "engineering salary bands", k=10, audiences=["everyone", "hr"]
    )
    assert as_hr.passages[0].source == "salaries.md"
    assert retrieval.store.document("salaries.md").audiences == ("hr",)


def test_bad_files_are_reported_and_the_rest_of_the_batch_is_ingested(retrieval, tmp_path):
    tmp_path = tmp_path / "batch"
    tmp_path.mkdir()
    (tmp_path / "good.md").write_bytes(HANDBOOK)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "fake.pdf").write_bytes(b"not a pdf")
    (tmp_path / "drawing.svg").write_bytes(b"<svg></svg>")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04garbage")
    (tmp_path / "big.txt").write_bytes(b"x" * 2048)
    retrieval.ingestor.max_bytes = 1024
    reports = {r.source: r for r in retrieval.ingestor.ingest_paths([tmp_path])}
    assert reports["good.md"].status == "added"
    assert {name: r.code for name, r in reports.items() if not r.ok} == {
        "empty.txt": "empty_document",
        "fake.pdf": "corrupt_file",
        "drawing.svg": "unsupported_file_type",
        "broken.docx": "corrupt_file",
        "big.txt": "file_too_large",
    }
    assert all(name in r.reason for name, r in reports.items() if not r.ok)
    assert [d.source for d in retrieval.store.documents()] == ["good.md"]
    with pytest.raises(FileTooLarge):
        retrieval.ingestor.ingest_bytes("big.txt", b"x" * 2048)


def test_invalid_audience_is_refused_before_any_work(retrieval):
    with pytest.raises(InvalidAudience):
        retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK, audiences=["Sales Team!"])
    assert retrieval.store.count() == 0


def test_corpus_questions_find_their_page(corpus):
    result = corpus.searcher.search("How do I remove untracked files from my working tree?", k=5)
    assert result.relevant
    assert result.passages[0].source == "git-clean.html"
    refused = corpus.searcher.search("How many weeks of parental leave do I get?", k=5)
    assert not refused.relevant
    assert refused.topics  # the closest material is still named


def test_sample_material_ingests(retrieval):
    reports = retrieval.ingestor.ingest_paths([DATA.parent.parent / "sample"])
    assert reports and all(r.ok for r in reports)


def test_a_chat_process_loads_the_index_before_the_first_question(retrieval):
    retrieval.ingestor.ingest_bytes("guide.md", HANDBOOK)
    searcher = fresh_searcher(retrieval)
    assert not searcher.loaded
    SearchRetriever(searcher).warm_up().result(timeout=60)
    assert searcher.loaded


def test_warm_up_survives_an_unreachable_index(retrieval):
    searcher = fresh_searcher(retrieval)
    searcher.store.generation = broken  # type: ignore[method-assign]
    SearchRetriever(searcher).warm_up().result(timeout=60)  # logged, not raised
    assert not searcher.loaded


def fresh_searcher(retrieval) -> HybridSearcher:
    """A searcher that has not searched yet, over the fixture's index."""
    return HybridSearcher(retrieval.store, retrieval.embedder)


def broken() -> str:
    raise ConnectionError("chroma is down")
