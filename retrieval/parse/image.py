"""Uploaded pictures (PNG, JPEG, WebP): their text, read by OCR."""

from __future__ import annotations

from retrieval.ocr.reader import ImageReader
from retrieval.reading import OCR_MARK, Reading
from retrieval.types import ParsedDocument, Section


def parse(data: bytes, fallback_title: str, reader: ImageReader) -> ParsedDocument:
    text = reader.read_bytes(data, "the image")
    sections = (Section((f"Image {OCR_MARK}",), text),) if text else ()
    reading = Reading(
        unit="image", parts=1, ocr_parts=reader.read_count, skipped=tuple(reader.skipped)
    )
    return ParsedDocument(title=fallback_title, sections=sections, reading=reading)
