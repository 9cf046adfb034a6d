"""Word (.docx) and PowerPoint (.pptx) files, with the text of their pictures (OCR)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from retrieval.ocr.reader import ImageReader
from retrieval.reading import OCR_MARK, Reading, SkippedPart
from retrieval.types import ParsedDocument, Section

_FIGURE = "<figure>"  # a block that is a picture; its text is the picture's relationship id


def parse_docx(data: bytes, fallback_title: str, reader: ImageReader) -> ParsedDocument:
    import docx  # python-docx; imported here so other formats do not pay for it

    document = docx.Document(io.BytesIO(data))
    title = (document.core_properties.title or "").strip()
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    buf: list[str] = []
    figures = 0

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body:
            sections.append(Section(tuple(h for _, h in path), body))
        buf.clear()

    for block in _docx_blocks(document):
        style, text = block
        if not text:
            continue
        if style == _FIGURE:
            figures += 1
            part = document.part.related_parts.get(text)
            label = f"figure {figures}" + (f" under “{path[-1][1]}”" if path else "")
            figure = reader.read_bytes(part.blob, label) if part is not None else ""
            if figure:
                flush()
                heading = (*(h for _, h in path), f"Figure {figures} {OCR_MARK}")
                sections.append(Section(heading, figure))
            continue
        if style == "Title":
            title = title or text
            continue
        if style.startswith("Heading"):
            level = int(style.rsplit(" ", 1)[-1]) if style[-1:].isdigit() else 1
            flush()
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
            continue
        buf.append(text)
    flush()
    reading = Reading(ocr_parts=reader.read_count, skipped=tuple(reader.skipped))
    return ParsedDocument(title or fallback_title, tuple(sections), reading)


def _docx_blocks(document: object) -> list[tuple[str, str]]:
    """Paragraphs, tables and pictures in body order, as (style name, text); a picture
    is (`_FIGURE`, its relationship id), after its paragraph's text."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[tuple[str, str]] = []
    for item in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(item, Paragraph):
            style = item.style.name if item.style is not None else ""
            blocks.append((style or "", item.text.strip()))
            for rid in item._p.xpath(".//a:blip/@r:embed"):
                blocks.append((_FIGURE, str(rid)))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells]
                blocks.append(("", " | ".join(c for c in cells if c)))
    return blocks


def parse_pptx(data: bytes, fallback_title: str, reader: ImageReader) -> ParsedDocument:
    import pptx

    deck = pptx.Presentation(io.BytesIO(data))
    title = (deck.core_properties.title or "").strip()
    sections: list[Section] = []
    empty: list[SkippedPart] = []
    for number, slide in enumerate(deck.slides, start=1):
        slide_title = ""
        if slide.shapes.title is not None and slide.shapes.title.has_text_frame:
            slide_title = slide.shapes.title.text_frame.text.strip()
        lines: list[str] = []
        for shape in slide.shapes:
            if shape == slide.shapes.title:
                continue
            if shape.has_text_frame:
                lines.extend(p.text.strip() for p in shape.text_frame.paragraphs)
            if shape.has_table:
                for row in shape.table.rows:
                    lines.append(" | ".join(c.text.strip() for c in row.cells if c.text.strip()))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                lines.append(notes)
        body = "\n".join(line for line in lines if line)
        heading = f"Slide {number}" + (f": {slide_title}" if slide_title else "")
        if body or slide_title:
            sections.append(Section((heading,), body or slide_title))
        pictures = list(_pictures(slide.shapes))
        for k, picture in enumerate(pictures, start=1):
            figure = _read_picture(picture, f"figure {k} on slide {number}", reader)
            if figure:
                sections.append(Section((heading, f"Figure {k} {OCR_MARK}"), figure))
        if not (body or slide_title or pictures):
            empty.append(SkippedPart(f"slide {number}", "empty slide"))
    reading = Reading(
        unit="slide",
        parts=len(deck.slides),
        ocr_parts=reader.read_count,
        skipped=(*empty, *reader.skipped),
    )
    return ParsedDocument(title or fallback_title, tuple(sections), reading)


def _pictures(shapes: Any) -> Iterator[Any]:
    """Picture shapes, inside groups too, in the slide's order."""
    from pptx.shapes.group import GroupShape
    from pptx.shapes.picture import Picture

    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _pictures(shape.shapes)
        elif isinstance(shape, Picture):  # pictures, and placeholders filled with one
            yield shape


def _read_picture(picture: Any, part: str, reader: ImageReader) -> str:
    try:
        blob = picture.image.blob
    except (AttributeError, KeyError, ValueError):  # a linked or empty picture placeholder
        return reader.skip(part, "the picture is linked, not embedded in the file")
    return reader.read_bytes(blob, part)
