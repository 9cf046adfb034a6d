"""Turn an uploaded file's bytes into titled sections, whatever its format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePath

from retrieval.errors import CorruptFile, EmptyDocument, OverLimit, UnsupportedFileType
from retrieval.ocr.reader import ImageReader
from retrieval.parse import html, image, office, pdf, text
from retrieval.parse.limits import ParseLimits
from retrieval.parse.precheck import precheck
from retrieval.reading import preview_of
from retrieval.types import ParsedDocument

Parser = Callable[[bytes, str, ImageReader], ParsedDocument]


def _text_only(parser: Callable[[bytes, str], ParsedDocument]) -> Parser:
    return lambda data, title, _reader: parser(data, title)


PARSERS: dict[str, Parser] = {
    ".pdf": pdf.parse,
    ".docx": office.parse_docx,
    ".pptx": office.parse_pptx,
    ".html": _text_only(html.parse),
    ".htm": _text_only(html.parse),
    ".md": _text_only(text.parse_markdown),
    ".markdown": _text_only(text.parse_markdown),
    ".txt": _text_only(text.parse_text),
    ".png": image.parse,
    ".jpg": image.parse,
    ".jpeg": image.parse,
    ".webp": image.parse,
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


def parse(name: str, data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse `data` by the file name's extension; raise a coded error on bad input."""
    limits = limits or ParseLimits()
    suffix = PurePath(name).suffix.lower()
    parser = check_supported(name)
    if not data.strip():
        raise EmptyDocument(f"{name}: the file is empty", source=name)
    fallback_title = PurePath(name).stem
    try:
        precheck(suffix, data, limits)
        doc = parser(data, fallback_title, ImageReader(limits))
    except (CorruptFile, EmptyDocument, OverLimit) as exc:
        raise type(exc)(f"{name}: {exc.message}", source=name) from exc
    except MemoryError as exc:  # the sandbox's address-space limit, met inside a parser
        raise OverLimit(f"{name}: parsing it needs more memory than allowed", source=name) from exc
    except Exception as exc:  # each parser library fails in its own way on broken files
        raise CorruptFile(
            f"{name}: could not read this {suffix} file ({type(exc).__name__}); "
            "it may be corrupt or not really a " + suffix + " file",
            source=name,
        ) from exc
    if doc.text_length == 0:
        why = "; ".join(doc.reading.skipped_lines())
        raise EmptyDocument(
            f"{name}: no text could be extracted" + (f" ({why})" if why else ""), source=name
        )
    if doc.text_length > limits.max_text_chars or len(doc.sections) > limits.max_sections:
        raise OverLimit(
            f"{name}: it yields {doc.text_length:,} characters in {len(doc.sections):,} "
            f"sections (limit {limits.max_text_chars:,} and {limits.max_sections:,})",
            source=name,
        )
    labelled = [(s.name, s.text) for s in doc.sections if s.text.strip()]
    reading = replace(doc.reading, sections=len(doc.sections), preview=preview_of(labelled))
    return replace(doc, reading=reading)
