"""Text read from images is found by search and cited as read from an image; a batch
with a huge picture indexes the rest (real model, Chroma, the sandboxed parser pool)."""

from __future__ import annotations

import pytest

from retrieval.reading import OCR_MARK
from tests.images import encoded, huge_png, pptx_with_picture, scanned_pdf, text_image

pytestmark = pytest.mark.integration

SLIDE = "To reset a forgotten badge PIN, call the security desk on extension 4417."
SCAN = "Expense claims above 250 euros need approval from your line manager."


def test_text_from_images_is_searchable_and_cited_as_read_from_an_image(retrieval, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    picture = encoded(text_image(SLIDE))
    (folder / "security.pptx").write_bytes(pptx_with_picture("Badges", "Lost badges", picture))
    (folder / "expenses.pdf").write_bytes(scanned_pdf([text_image(SCAN)]))
    (folder / "poster.png").write_bytes(huge_png(20_000, 20_000))

    reports = {r.source: r for r in retrieval.ingestor.ingest_paths([folder])}

    assert reports["security.pptx"].status == "added"
    assert reports["security.pptx"].reading is not None
    assert reports["security.pptx"].reading.ocr_parts == 1
    assert reports["expenses.pdf"].status == "added"
    poster = reports["poster.png"]
    assert poster.status == "skipped" and "20,000x20,000 px" in poster.reason
    for question, source, label in [
        ("how do I reset my badge PIN", "security.pptx", f"Slide 1: Badges › Figure 1 {OCR_MARK}"),
        (
            "who approves expense claims above 250 euros",
            "expenses.pdf",
            f"Page 1, scanned {OCR_MARK}",
        ),
    ]:
        top = retrieval.searcher.search(question, k=3).passages[0]
        assert (top.source, top.section) == (source, label)
