"""Word (.docx) and PowerPoint (.pptx) files."""

from __future__ import annotations

import io

from retrieval.types import ParsedDocument, Section


def parse_docx(data: bytes, fallback_title: str) -> ParsedDocument:
    import docx  # python-docx; imported here so other formats do not pay for it

    document = docx.Document(io.BytesIO(data))
    title = (document.core_properties.title or "").strip()
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    buf: list[str] = []

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body:
            sections.append(Section(tuple(h for _, h in path), body))
        buf.clear()

    for block in _docx_blocks(document):
        style, text = block
        if not text:
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
    return ParsedDocument(title=title or fallback_title, sections=tuple(sections))


def _docx_blocks(document: object) -> list[tuple[str, str]]:
    """Paragraphs and tables in body order, as (style name, text)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[tuple[str, str]] = []
    for item in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(item, Paragraph):
            style = item.style.name if item.style is not None else ""
            blocks.append((style or "", item.text.strip()))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells]
                blocks.append(("", " | ".join(c for c in cells if c)))
    return blocks


def parse_pptx(data: bytes, fallback_title: str) -> ParsedDocument:
    import pptx

    deck = pptx.Presentation(io.BytesIO(data))
    title = (deck.core_properties.title or "").strip()
    sections: list[Section] = []
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
    return ParsedDocument(title=title or fallback_title, sections=tuple(sections))
