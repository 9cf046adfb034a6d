"""Turn an uploaded file's bytes into titled sections, whatever its format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from retrieval.errors import CorruptFile, EmptyDocument, OverLimit, UnsupportedFileType
from retrieval.parse import html, office, pdf, text
from retrieval.parse.limits import ParseLimits
from retrieval.parse.precheck import precheck
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
        doc = parser(data, fallback_title)
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
        raise EmptyDocument(f"{name}: no text could be extracted", source=name)
    if doc.text_length > limits.max_text_chars or len(doc.sections) > limits.max_sections:
        raise OverLimit(
            f"{name}: it yields {doc.text_length:,} characters in {len(doc.sections):,} "
            f"sections (limit {limits.max_text_chars:,} and {limits.max_sections:,})",
            source=name,
        )
    return doc
