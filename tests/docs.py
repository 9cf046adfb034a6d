"""Builders of real documents in each supported format, for tests."""

from __future__ import annotations

import io


def make_docx(title: str, blocks: list[tuple[str, str]]) -> bytes:
    """blocks: (style, text) with style "h1".."h3" or "p"."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for style, text in blocks:
        if style.startswith("h"):
            document.add_heading(text, level=int(style[1:]))
        else:
            document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def make_pptx(title: str, slides: list[tuple[str, str]]) -> bytes:
    import pptx

    deck = pptx.Presentation()
    deck.core_properties.title = title
    for heading, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = heading
        slide.placeholders[1].text = body
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def make_pdf(title: str, chapters: list[tuple[str, str]]) -> bytes:
    """One page per chapter, each with an outline entry (bookmark)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("helvetica", size=11)
    for heading, body in chapters:
        pdf.add_page()
        pdf.start_section(heading)
        pdf.multi_cell(0, 6, heading + "\n\n" + body)
    return bytes(pdf.output())
