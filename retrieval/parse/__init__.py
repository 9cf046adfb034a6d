"""Turn an uploaded file's bytes into titled sections, whatever its format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from retrieval.errors import CorruptFile, EmptyDocument, UnsupportedFileType
from retrieval.parse import html, office, pdf, text
from retrieval.types import ParsedDocument

Parser = Callable[[bytes, str], ParsedDocument]

PARSERS: dict[str, Parser] = {
    ".pdf": pdf.parse,
    ".docx": office.parse_docx,
    ".pptx": office.parse_pptx,
    ".html": html.parse,
    ".htm": html.parse,
    ".md": text.parse_markdown,
    ".markdown": text.parse_markdown,
    ".txt": text.parse_text,
}

SUPPORTED = tuple(sorted(PARSERS))


def check_supported(name: str) -> Parser:
    """The parser for `name`'s extension, or `UnsupportedFileType` naming the file."""
    suffix = PurePath(name).suffix.lower()
    parser = PARSERS.get(suffix)
    if parser is None:
        kinds = ", ".join(SUPPORTED)
        raise UnsupportedFileType(
            f"{name}: unsupported file type {suffix or '(none)'}; supported: {kinds}",
            source=name,
        )
    return parser


def parse(name: str, data: bytes) -> ParsedDocument:
    """Parse `data` by the file name's extension; raise a coded error on bad input."""
    suffix = PurePath(name).suffix.lower()
    parser = check_supported(name)
    if not data.strip():
        raise EmptyDocument(f"{name}: the file is empty", source=name)
    fallback_title = PurePath(name).stem
    try:
        doc = parser(data, fallback_title)
    except (CorruptFile, EmptyDocument) as exc:
        raise type(exc)(f"{name}: {exc.message}", source=name) from exc
    except Exception as exc:  # each parser library fails in its own way on broken files
        raise CorruptFile(
            f"{name}: could not read this {suffix} file ({type(exc).__name__}); "
            "it may be corrupt or not really a " + suffix + " file",
            source=name,
        ) from exc
    if doc.text_length == 0:
        raise EmptyDocument(f"{name}: no text could be extracted", source=name)
    return doc
