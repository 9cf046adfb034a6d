"""Which document a file is (retrieval.identity) and hostile files in a batch, through
the real ingestor: sandboxed parsing, the packaged model and an embedded Chroma."""

from __future__ import annotations

import pytest

from retrieval.errors import NameConflict
from retrieval.parse.limits import MiB
from retrieval.store import CATALOG, document_id
from tests.bombs import billion_laughs_docx, markup_bomb_html, zip_bomb_docx

pytestmark = pytest.mark.integration

BIKES = b"# Parking\n\n## Bikes\n\nBike racks are behind building C.\n"
SALES = b"# Sales guide\n\n## Discounts\n\nDiscounts above ten percent need a director.\n"
SUPPORT = b"# Support guide\n\n## Escalation\n\nEscalate outages to the on-call engineer.\n"


def write(root, files: dict[str, bytes]):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def statuses(reports):
    return {r.source: r.status for r in reports}


def test_bombs_are_skipped_with_reasons_while_the_good_file_is_indexed(retrieval, tmp_path):
    folder = write(
        tmp_path / "upload",
        {
            "zip-bomb.docx": zip_bomb_docx(1024 * MiB),
            "laughs.docx": billion_laughs_docx(),
            "markup-bomb.html": markup_bomb_html(),
            "parking.md": BIKES,
        },
    )
    reports = {r.source: r for r in retrieval.ingestor.ingest_paths([folder])}
    assert reports["parking.md"].status == "added"
    for name in ("zip-bomb.docx", "laughs.docx", "markup-bomb.html"):
        assert (reports[name].status, reports[name].code) == ("skipped", "over_limit"), name
        assert reports[name].reason.startswith(f"{name}: ")
    assert "zip bomb" in reports["zip-bomb.docx"].reason
    assert "DTD" in reports["laughs.docx"].reason
    assert "markup bomb" in reports["markup-bomb.html"].reason
    assert [d.source for d in retrieval.store.documents()] == ["parking.md"]
    top = retrieval.searcher.search("where are the bike racks", k=3).passages[0]
    assert (top.source, top.section) == ("parking.md", "Bikes")
    peak = retrieval.ingestor.parser.peak_rss  # type: ignore[attr-defined]
    assert 0 < peak < 1024 * MiB


def test_same_name_in_two_folders_is_two_documents(retrieval, tmp_path):
    root = write(tmp_path / "docs", {"sales/guide.md": SALES, "support/guide.md": SUPPORT})
    reports = retrieval.ingestor.ingest_paths([root])
    assert statuses(reports) == {"sales/guide.md": "added", "support/guide.md": "added"}
    found = retrieval.searcher.search("who approves a big discount", k=3).passages[0]
    assert found.source == "sales/guide.md"
    found = retrieval.searcher.search("who handles outages", k=3).passages[0]
    assert found.source == "support/guide.md"

    # a new version of one replaces that one only, under the same id
    (root / "sales/guide.md").write_bytes(SALES + b"\nDiscounts expire after 30 days.\n")
    again = retrieval.ingestor.ingest_paths([root])
    assert statuses(again) == {"sales/guide.md": "updated", "support/guide.md": "unchanged"}
    assert retrieval.store.document("sales/guide.md").doc_id == document_id("sales/guide.md")
    assert len(retrieval.store.documents()) == 2


def test_two_different_files_with_one_name_are_both_refused(retrieval, tmp_path):
    write(tmp_path, {"x/guide.md": SALES, "y/guide.md": SUPPORT, "z/guide.md": SALES})
    reports = retrieval.ingestor.ingest_paths([tmp_path / "x/guide.md", tmp_path / "y/guide.md"])
    assert [(r.status, r.code) for r in reports] == [("skipped", "name_conflict")] * 2
    for report in reports:
        assert str(tmp_path / "x/guide.md") in report.reason
        assert str(tmp_path / "y/guide.md") in report.reason
    assert retrieval.store.documents() == []

    # the same bytes twice are one document, not a conflict
    copies = retrieval.ingestor.ingest_paths([tmp_path / "x/guide.md", tmp_path / "z/guide.md"])
    assert sorted(r.status for r in copies) == ["added", "unchanged"]
    assert [d.source for d in retrieval.store.documents()] == ["guide.md"]


def test_delete_by_full_name_or_unambiguous_file_name(retrieval, tmp_path):
    root = write(tmp_path / "docs", {"sales/guide.md": SALES, "support/guide.md": SUPPORT})
    retrieval.ingestor.ingest_paths([root])
    with pytest.raises(NameConflict, match=r"sales/guide\.md, support/guide\.md"):
        retrieval.store.remove("guide.md")
    assert retrieval.store.remove("sales/guide.md").source == "sales/guide.md"
    assert retrieval.store.remove("guide.md").source == "support/guide.md"  # now unique
    assert retrieval.store.remove("guide.md") is None
    assert retrieval.store.count() == 0


def test_a_file_on_its_own_keeps_its_old_id(retrieval, tmp_path):
    write(tmp_path, {"nested/parking.md": BIKES})
    (report,) = retrieval.ingestor.ingest_paths([tmp_path / "nested/parking.md"])
    assert (report.source, report.status) == ("parking.md", "added")
    assert retrieval.store.document("parking.md").doc_id == document_id("parking.md")


def test_a_document_filed_under_its_base_name_is_taken_over_by_its_path(
    retrieval, tmp_path, embedder
):
    # what the base-name rule left behind: a catalog record without the naming mark
    retrieval.ingestor.ingest_bytes("guide.md", SALES)
    client = retrieval.store._client  # the same Chroma client, through Chroma's own API
    catalog = client.get_collection(CATALOG)
    got = catalog.get(ids=[document_id("guide.md")], include=["metadatas"])
    legacy = {k: v for k, v in got["metadatas"][0].items() if k != "naming"}
    catalog.delete(ids=[document_id("guide.md")])  # an upsert would merge the old keys
    catalog.add(ids=[document_id("guide.md")], embeddings=[[0.0]], metadatas=[legacy])

    root = write(tmp_path / "docs", {"sales/guide.md": SALES + b"\nNew line.\n"})
    (report,) = retrieval.ingestor.ingest_paths([root])
    assert (report.source, report.status) == ("sales/guide.md", "updated")
    assert "replaces 'guide.md'" in report.reason
    assert [d.source for d in retrieval.store.documents()] == ["sales/guide.md"]
    top = retrieval.searcher.search("who approves a big discount", k=3).passages[0]
    assert top.source == "sales/guide.md"
