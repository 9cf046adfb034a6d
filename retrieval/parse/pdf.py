"""PDF files: the outline (bookmarks) gives sections; without one, pages do. Pages
without a text layer are rendered and read by OCR; figures on other pages are read too."""

from __future__ import annotations

import io
from typing import Any

from retrieval.errors import CorruptFile
from retrieval.ocr.reader import ImageReader
from retrieval.reading import OCR_MARK, Reading, SkippedPart
from retrieval.types import ParsedDocument, Section

_SCANNED_BELOW = 20  # characters: a page number alone does not make a text layer
_BACKDROP_SHARE = 0.6  # an image over this share of a page with text is a scan behind it


def parse(data: bytes, fallback_title: str, reader: ImageReader) -> ParsedDocument:
    from pypdf import PdfReader

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise CorruptFile("this is not a PDF file (no %PDF header)")
    pdf = PdfReader(io.BytesIO(data), strict=False)
    if pdf.is_encrypted:
        raise CorruptFile("the PDF is password-protected")
    meta_title = ""
    if pdf.metadata is not None and pdf.metadata.title:
        meta_title = str(pdf.metadata.title).strip()
    texts = [(page.extract_text() or "").strip() for page in pdf.pages]
    pages, empty = _with_images(data, texts, reader)
    starts = dict(_outline_starts(pdf))
    sections: list[Section] = []
    current: tuple[str, ...] = ()
    for number, (text, figures, scanned) in enumerate(pages):
        current = starts.get(number, current)
        path = current or (f"Page {number + 1}",)
        if scanned:
            label = f"Page {number + 1}, scanned {OCR_MARK}"
            sections.append(Section((*current, label) if current else (label,), scanned))
        elif text:
            if sections and sections[-1].heading_path == path:
                sections[-1] = Section(path, sections[-1].text + "\n\n" + text)
            else:
                sections.append(Section(path, text))
        for k, figure in figures:
            sections.append(Section((*path, f"Figure {k} on page {number + 1} {OCR_MARK}"), figure))
    skipped = [SkippedPart(f"page {n + 1}", "empty page") for n in empty]
    reading = Reading(
        unit="page",
        parts=len(texts),
        ocr_parts=reader.read_count,
        skipped=(*skipped, *reader.skipped),
    )
    return ParsedDocument(meta_title or fallback_title, tuple(sections), reading)


Page = tuple[str, list[tuple[int, str]], str]  # text layer, (number, figure text), OCR'd page


def _with_images(
    data: bytes, texts: list[str], reader: ImageReader
) -> tuple[list[Page], list[int]]:
    """Each page's text, its figures' text and its OCR'd text when it has no text layer;
    and the pages with nothing on them at all."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pages: list[Page] = []
    empty: list[int] = []
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:  # pypdf reads more broken files than PDFium does
        reader.skip("its images", "not read: PDFium could not open the file")
        return [(text, [], "") for text in texts], []
    try:
        for number, text in enumerate(texts):
            if number >= len(document):  # the two libraries disagree on the page count
                pages.append((text, [], ""))
                continue
            page = document[number]
            images = list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)))
            if not text and not any(True for _ in page.get_objects()):
                empty.append(number)
                pages.append((text, [], ""))
                continue
            # no text layer (text drawn as shapes too), or a scan with a stray page number
            if not text or (images and len(text) < _SCANNED_BELOW):
                try:
                    scanned = _read_page(page, number, reader)
                except Exception:  # nor one page PDFium cannot render
                    scanned = reader.skip(f"page {number + 1}", "the page could not be rendered")
                pages.append(("", [], scanned) if scanned else (text, [], ""))
                continue
            width, height = page.get_size()
            figures = []
            for k, image in enumerate(images, start=1):
                if _area(image) > _BACKDROP_SHARE * width * height:
                    continue  # a scan under its own text layer: the text is already read
                part = f"figure {k} on page {number + 1}"
                try:
                    figure = _read_figure(image, part, reader)
                except Exception:  # one undecodable picture must not sink the document
                    figure = reader.skip(part, "the picture's data could not be decoded")
                if figure:
                    figures.append((k, figure))
            pages.append((text, figures, ""))
    finally:
        document.close()
    return pages, empty


def _read_page(page: Any, number: int, reader: ImageReader) -> str:
    part = f"page {number + 1} (no text layer)"
    width, height = page.get_size()  # points, 1/72 in
    scale = reader.limits.ocr_dpi / 72
    pixels = width * height * scale * scale
    if pixels > reader.limits.ocr_max_pixels:  # a poster-sized page: render it smaller
        scale *= (reader.limits.ocr_max_pixels / pixels) ** 0.5
    if not reader.wants(int(width * scale), int(height * scale), part):
        return ""
    image = page.render(scale=scale, grayscale=True).to_pil()
    return reader.read_image(image, part)


def _read_figure(image: Any, part: str, reader: ImageReader) -> str:
    width, height = image.get_px_size()
    if not reader.wants(width, height, part):
        return ""
    if width * height > reader.limits.ocr_max_decode_pixels and "DCTDecode" in image.get_filters():
        buffer = io.BytesIO()  # a JPEG as stored: Pillow can decode it at a reduced size
        image.extract(buffer)
        return reader.read_bytes(buffer.getvalue(), part)
    if width * height > reader.limits.ocr_max_decode_pixels:
        mp = width * height / 1e6
        return reader.skip(part, f"image too large: {width:,}x{height:,} px ({mp:.0f} MP)")
    return reader.read_image(image.get_bitmap(render=False).to_pil(), part)


def _area(image: Any) -> float:
    left, bottom, right, top = image.get_bounds()
    return float(abs(right - left) * abs(top - bottom))


def _outline_starts(reader: Any) -> list[tuple[int, tuple[str, ...]]]:
    """(page index, heading path) for each outline entry, deepest entry winning a page."""
    found: list[tuple[int, tuple[str, ...]]] = []

    def visit(items: list[Any], parents: tuple[str, ...]) -> None:
        last: tuple[str, ...] = parents
        for item in items:
            if isinstance(item, list):
                visit(item, last)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: S112 - a broken bookmark should not sink the document
                continue
            last = (*parents, str(item.title).strip())
            if page is not None and page >= 0:
                found.append((page, last))

    try:
        visit(list(reader.outline), ())
    except Exception:
        return []
    found.sort(key=lambda entry: entry[0])
    return found
