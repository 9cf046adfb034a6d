"""PDF files: the outline (bookmarks) gives sections; without one, pages do."""

from __future__ import annotations

import io
from typing import Any

from retrieval.errors import CorruptFile
from retrieval.types import ParsedDocument, Section


def parse(data: bytes, fallback_title: str) -> ParsedDocument:
    from pypdf import PdfReader

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise CorruptFile("this is not a PDF file (no %PDF header)")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise CorruptFile("the PDF is password-protected")
    meta_title = ""
    if reader.metadata is not None and reader.metadata.title:
        meta_title = str(reader.metadata.title).strip()
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    starts = _outline_starts(reader)
    sections: list[Section] = []
    if starts:
        # Each page belongs to the last outline entry that starts on or before it.
        current: tuple[str, ...] = ()
        by_page = dict(starts)
        for number, text in enumerate(pages):
            current = by_page.get(number, current)
            if text:
                path = current or (f"Page {number + 1}",)
                if sections and sections[-1].heading_path == path:
                    sections[-1] = Section(path, sections[-1].text + "\n\n" + text)
                else:
                    sections.append(Section(path, text))
    else:
        sections = [Section((f"Page {n + 1}",), t) for n, t in enumerate(pages) if t]
    return ParsedDocument(title=meta_title or fallback_title, sections=tuple(sections))


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
