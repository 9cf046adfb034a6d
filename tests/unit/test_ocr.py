"""Text in images: scanned PDF pages, figures in PDF/DOCX/PPTX and uploaded pictures are
read by Tesseract, marked as read from an image, bounded in pixels; what is not read is
reported with its reason. Every file is made here (Pillow draws the text)."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.adapters.notify import summary_text
from bot.domain.jobs import Job, JobStatus
from retrieval.errors import EmptyDocument
from retrieval.ingest import IngestReport
from retrieval.parse import parse
from retrieval.parse.limits import MiB, ParseLimits
from retrieval.parse.sandbox import SandboxParser
from retrieval.reading import OCR_MARK
from retrieval.types import ParsedDocument
from tests.images import (
    docx_with_picture,
    encoded,
    huge_png,
    pdf_with_figure,
    pptx_with_picture,
    scanned_pdf,
    text_image,
)
from worker.ingest import _file_result

SCAN = "Visitors sign the guest book at reception and wear a red lanyard."
SLIDE = "Open the portal, choose Request access and pick the payroll group."
PICTURE = "Managers approve access requests within two working days."
FIGURE = "The guest wifi password changes every Friday at noon."
PHOTO = "Fire drills happen on the first Tuesday of each quarter."
NO_OCR = ParseLimits(ocr_engine="none")


def words(text: str) -> list[str]:
    return text.lower().replace(".", " ").replace(",", " ").split()


def read_as(expected: str, got: str) -> bool:
    """OCR of clean drawn text: every word found, in order (line breaks aside)."""
    return words(got) == words(expected)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    blank = Image.new("RGB", (1000, 1300), "white")
    return {
        "scan.pdf": scanned_pdf([text_image(SCAN), blank]),
        "deck.pptx": pptx_with_picture(
            "Onboarding", "How to get access", encoded(text_image(SLIDE))
        ),
        "guide.docx": docx_with_picture("Access", "Who approves", encoded(text_image(PICTURE))),
        "wifi.pdf": pdf_with_figure("Guests may use the guest network.", text_image(FIGURE)),
        "notice.png": encoded(text_image(PHOTO, background="#f4efe0", angle=1.5)),
    }


@pytest.fixture(scope="module")
def parsed(files) -> dict[str, ParsedDocument]:
    return {name: parse(name, data) for name, data in files.items()}


def ocr_sections(doc: ParsedDocument) -> dict[str, str]:
    return {s.name: s.text for s in doc.sections if OCR_MARK in s.name}


@pytest.mark.parametrize(
    ("name", "label", "text"),
    [
        ("scan.pdf", f"Page 1, scanned {OCR_MARK}", SCAN),
        ("deck.pptx", f"Slide 1: Onboarding › Figure 1 {OCR_MARK}", SLIDE),
        ("guide.docx", f"Access › Figure 1 {OCR_MARK}", PICTURE),
        ("wifi.pdf", f"Page 1 › Figure 1 on page 1 {OCR_MARK}", FIGURE),
        ("notice.png", f"Image {OCR_MARK}", PHOTO),
    ],
)
def test_text_in_images_is_read_and_labelled_as_read_from_an_image(parsed, name, label, text):
    got = ocr_sections(parsed[name])
    assert list(got) == [label]
    assert read_as(text, got[label]), got[label]
    assert parsed[name].reading.ocr_parts == 1


def test_text_outside_the_pictures_is_still_read_plainly(parsed):
    plain = {s.name: s.text for s in parsed["deck.pptx"].sections if OCR_MARK not in s.name}
    assert plain == {"Slide 1: Onboarding": "How to get access"}
    assert "Guests may use the guest network." in parsed["wifi.pdf"].sections[0].text


def test_pages_and_slides_without_text_are_reported_not_dropped(parsed):
    scan = parsed["scan.pdf"].reading
    assert (scan.unit, scan.parts, scan.sections) == ("page", 2, 1)
    assert [(s.part, s.reason) for s in scan.skipped] == [
        ("page 2 (no text layer)", "no readable text in the image")
    ]
    deck = parsed["deck.pptx"].reading
    assert [(s.part, s.reason) for s in deck.skipped] == [("slide 2", "empty slide")]
    assert deck.summary() == "2 slides, 2 sections, 1 read by OCR"
    assert deck.preview[1] == (f"Slide 1: Onboarding › Figure 1 {OCR_MARK}", deck.preview[1][1])


def test_upload_summary_says_what_was_read_skipped_and_how_it_begins(parsed):
    reading = parsed["deck.pptx"].reading
    report = IngestReport("deck.pptx", "added", chunks=2, reading=reading)
    skipped = IngestReport("huge.png", "skipped", code="empty_document", reason="huge.png: ...")
    files = {"a": _file_result(report), "b": _file_result(skipped)}
    job = Job("j1", "ingest", JobStatus.DONE, result={"documents": 1, "chunks": 2, "files": files})
    text = summary_text(job)
    assert "- deck.pptx: read 2 slides, 2 sections, 1 read by OCR" in text
    assert "  skipped slide 2: empty slide" in text
    assert "  › Slide 1: Onboarding: How to get access" in text
    assert "- huge.png: huge.png: ..." in text
    assert "How to get access" not in summary_text(job, preview=False)  # the log's version


def test_without_an_engine_text_is_ingested_and_unread_images_are_named(files):
    deck = parse("deck.pptx", files["deck.pptx"], NO_OCR)
    assert [s.name for s in deck.sections] == ["Slide 1: Onboarding"]
    assert ("figure 1 on slide 1", "not read: OCR is turned off (LEARNLOOP_OCR_ENGINE=none)") in [
        (s.part, s.reason) for s in deck.reading.skipped
    ]
    with pytest.raises(EmptyDocument, match=r"page 1 \(no text layer\).*OCR is turned off"):
        parse("scan.pdf", files["scan.pdf"], NO_OCR)
    missing = ParseLimits(ocr_languages="xyz")  # a language pack that is not installed
    with pytest.raises(EmptyDocument, match=r"no language data for xyz.*tesseract-ocr-xyz"):
        parse("notice.png", files["notice.png"], missing)


def test_tiny_and_broken_images_are_refused_with_a_reason():
    with pytest.raises(EmptyDocument, match=r"too small to hold text \(10x8 px\)"):
        parse("icon.png", encoded(Image.new("RGB", (10, 8))))
    with pytest.raises(EmptyDocument, match="not an image format that can be read"):
        parse("fake.png", b"this is not a picture")


def test_a_large_jpeg_is_decoded_reduced_instead_of_refused():
    photo = encoded(text_image(PHOTO, size=56, width=2400), "JPEG")
    limits = ParseLimits(ocr_max_decode_pixels=200_000)  # the photo is about 0.5 MP
    doc = parse("photo.jpg", photo, limits)
    assert read_as(PHOTO, doc.sections[0].text)


def test_a_20000_pixel_square_image_is_refused_in_the_sandbox_and_the_batch_goes_on(files):
    limit = 512 * MiB
    sandbox = SandboxParser(ParseLimits(memory_bytes=limit), workers=1)
    try:
        huge, good = sandbox.parse_many(
            [("huge.png", huge_png(20_000, 20_000)), ("notice.png", files["notice.png"])]
        )
    finally:
        sandbox.close()
    assert isinstance(huge, EmptyDocument)
    assert "20,000x20,000 px (400 MP) is over the 100 MP that may be decoded" in huge.message
    assert isinstance(good, ParsedDocument) and read_as(PHOTO, good.sections[0].text)
    assert 0 < sandbox.peak_rss < limit
