"""Builders of files with text in pictures (drawn with Pillow), for the OCR tests and
benchmarks/ocr_bench.py."""

from __future__ import annotations

import io
import struct
import textwrap
import zlib

from PIL import Image, ImageDraw, ImageFilter, ImageFont


def text_image(
    text: str,
    size: int = 28,
    width: int = 1000,
    background: str = "white",
    ink: str = "black",
    angle: float = 0.0,
    blur: float = 0.0,
) -> Image.Image:
    """`text` wrapped and drawn in Pillow's built-in font (no system fonts needed)."""
    font = ImageFont.load_default(size=size)
    lines = textwrap.wrap(text, max(10, int((width - 2 * size) / (size * 0.55))))
    step = int(size * 1.5)
    image = Image.new("RGB", (width, 2 * size + step * len(lines)), background)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((size, size + n * step), line, font=font, fill=ink)
    if angle:
        image = image.rotate(angle, expand=True, fillcolor=background)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return image


def encoded(image: Image.Image, kind: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, kind)
    return buf.getvalue()


def scanned_pdf(pages: list[Image.Image], dpi: int = 200) -> bytes:
    """A PDF whose pages are only pictures (no text layer), as a scanner makes them."""
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return buf.getvalue()


def pdf_with_figure(text: str, figure: Image.Image) -> bytes:
    """One page: a paragraph of real text, then a picture of text below it."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 6, text)
    pdf.image(io.BytesIO(encoded(figure)), w=170)
    return bytes(pdf.output())


def pptx_with_picture(slide_title: str, body: str, picture: bytes) -> bytes:
    """A deck of one slide: a title, a line of text and a screenshot."""
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    slide.shapes.title.text = slide_title
    box = slide.shapes.add_textbox(Inches(0.5), Inches(1.5), Inches(9), Inches(0.5))
    box.text_frame.text = body
    slide.shapes.add_picture(io.BytesIO(picture), Inches(0.5), Inches(2.2), width=Inches(9))
    deck.slides.add_slide(deck.slide_layouts[6])  # blank: reported as an empty slide
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def docx_with_picture(heading: str, body: str, picture: bytes) -> bytes:
    import docx
    from docx.shared import Inches

    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_paragraph(body)
    document.add_picture(io.BytesIO(picture), width=Inches(6))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid white PNG of widthxheight pixels, written row by row (never held in memory
    as pixels): a few hundred KB that would decode to hundreds of MB."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks
